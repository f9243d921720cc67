//! What every hostile case checks: the answer names the problem, and the
//! log's signed tree head is the same before and after.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use gatelog_core::{TreeHead, VerifierKey, checkpoint};
use gatelog_e2e::http_get;

/// The verified tree head of the log at `addr`: size and root taken from
/// the checkpoint note after its signature verified with `key`.
pub fn head(addr: SocketAddr, key: &VerifierKey) -> TreeHead {
    let (status, body) = http_get(addr, "/checkpoint");
    assert_eq!(status, 200, "GET /checkpoint");
    checkpoint::open(&body, key)
        .expect("the checkpoint verifies with the log key")
        .head()
}

/// Panics unless the log still has the tree head `before`.
pub fn assert_unchanged(addr: SocketAddr, key: &VerifierKey, before: TreeHead, case: &str) {
    let after = head(addr, key);
    assert_eq!(
        (after.size, after.root),
        (before.size, before.root),
        "{case}: the log changed"
    );
}

/// Sends raw bytes as one HTTP/1.1 exchange and returns (status, body).
/// Write errors are ignored (a server may answer and close before reading
/// an oversized body); the answer is read anyway.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    for chunk in request.chunks(64 * 1024) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let mut raw = Vec::new();
    // A reset after the answer arrived still leaves the answer in `raw`.
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer ({} bytes)", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// A request with a JSON body and `Connection: close`.
pub fn request(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: gatelog.test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A hostile log: every request gets `200` and a chunked body that never
/// ends. Returns its base URL; the thread lives as long as the test.
pub fn endless_log() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = stream;
                read_request(&mut s);
                let chunk = vec![b'a'; 1 << 20];
                let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                let mut ok = s.write_all(head.as_bytes()).is_ok();
                while ok {
                    ok = write!(s, "{:x}\r\n", chunk.len()).is_ok()
                        && s.write_all(&chunk).is_ok()
                        && s.write_all(b"\r\n").is_ok();
                }
            });
        }
    });
    url
}

/// Reads one request (head and `Content-Length` body) off `s`.
fn read_request(s: &mut TcpStream) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let _ = s.read_exact(&mut vec![0; length]);
}
