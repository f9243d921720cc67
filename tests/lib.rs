//! Helpers for end-to-end tests: find the built binaries, start them on a
//! free loopback port, speak plain HTTP/1.1 to them, and clean up.

mod fake_http;
mod registry;

pub use fake_http::{FakeHttp, Request};
pub use registry::{TestLog, log_key};

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of a binary built in the same target folder as the running test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo test --workspace` \
         (the server and client packages' CLI tests make cargo build the binaries)",
        path.display()
    );
    path
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("local addr")
}

/// A running `gatelog-server`, killed when dropped.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    /// Its data folder.
    pub data: PathBuf,
    child: Child,
}

impl Server {
    /// Starts the server on `data` and waits until it answers.
    pub fn start(data: &std::path::Path, origin: &str) -> Server {
        Server::start_with(data, origin, &[])
    }

    /// Starts the server with extra flags and waits until it answers.
    pub fn start_with(data: &std::path::Path, origin: &str, extra: &[&str]) -> Server {
        Server::start_logging(data, origin, extra, Stdio::null())
    }

    /// Starts the server with extra flags, its log lines (stderr) going
    /// to `stderr` (e.g. a file the test reads), and waits until it answers.
    pub fn start_logging(
        data: &std::path::Path,
        origin: &str,
        extra: &[&str],
        stderr: Stdio,
    ) -> Server {
        let addr = free_addr();
        let child = Command::new(binary("gatelog-server"))
            .args(["--data", &data.display().to_string()])
            .args(["--listen", &addr.to_string()])
            .args(["--origin", origin])
            .args(extra)
            .env_remove("GATELOG_CONFIG")
            .env_remove("GATELOG_LOG_KEY")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn gatelog-server");
        let server = Server {
            addr,
            data: data.to_owned(),
            child,
        };
        let mut server = server;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(addr).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("gatelog-server exited before listening: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gatelog-server did not start listening on {addr}");
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET path` and returns (status, body).
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        http_get(self.addr, path)
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection; panics on I/O errors.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    http_request(addr, "GET", path, &[]).expect("GET")
}

/// A minimal HTTP/1.1 POST of a JSON body over a fresh connection.
pub fn http_post(addr: SocketAddr, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    http_request(addr, "POST", path, body)
}

/// One request over a fresh connection (`Connection: close`).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    if raw.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no response",
        ));
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no status"))?;
    let body = raw[split + 4..].to_vec();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(&body) } else { body }))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let len =
            usize::from_str_radix(std::str::from_utf8(&body[..eol]).unwrap_or("0").trim(), 16)
                .unwrap_or(0);
        if len == 0 {
            return out;
        }
        // A truncated body (a server killed mid-answer) ends the data.
        let Some(chunk) = body.get(eol + 2..eol + 2 + len) else {
            return out;
        };
        out.extend_from_slice(chunk);
        body = body.get(eol + 2 + len + 2..).unwrap_or_default();
    }
}

/// Runs a binary with arguments and returns its output.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(binary(name))
        .args(args)
        .output()
        .expect("run binary")
}
