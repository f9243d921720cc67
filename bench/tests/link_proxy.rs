//! gatelog-link-proxy: every byte arrives, in order, no sooner than the
//! delay (a new connection's first bytes a round trip later still), and
//! the bytes each way are counted when the connection ends.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DELAY_MS: u64 = 40;

/// An echo server on a free port; returns its address.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => conn.write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        }
    });
    addr
}

struct Proxy {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
    addr: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proxy(upstream: &str, extra: &[&str]) -> Proxy {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatelog-link-proxy"))
        .args(["--listen", "127.0.0.1:0", "--upstream", upstream])
        .args(["--delay-ms", &DELAY_MS.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    Proxy { child, out, addr }
}

fn next_line(p: &mut Proxy) -> String {
    let mut line = String::new();
    p.out.read_line(&mut line).unwrap();
    line.trim().to_owned()
}

/// Sends `msg` and reads its echo; returns how long that took.
fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Duration {
    let t = Instant::now();
    s.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
    t.elapsed()
}

#[test]
fn delays_each_way_counts_bytes_and_keeps_order() {
    let delay = Duration::from_millis(DELAY_MS);
    let upstream = echo_server();
    let mut p = proxy(&upstream, &[]);
    let t = Instant::now();
    let mut s = TcpStream::connect(&p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // First bytes: the handshake's round trip, then one way there and back.
    round_trip(&mut s, b"hello");
    assert!(t.elapsed() >= 4 * delay, "{:?}", t.elapsed());
    // An open connection: one round trip.
    assert!(round_trip(&mut s, b"again") >= 2 * delay);
    // Many chunks, in order.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    round_trip(&mut s, &big);
    drop(s);
    assert_eq!(next_line(&mut p), "open 1");
    let total = 5 + 5 + big.len();
    assert_eq!(
        next_line(&mut p),
        format!("{{\"conn\": 1, \"up\": {total}, \"down\": {total}}}")
    );
}

#[test]
fn without_the_handshake_a_new_connection_costs_one_round_trip() {
    let delay = Duration::from_millis(DELAY_MS);
    let upstream = echo_server();
    let p = proxy(&upstream, &["--no-handshake"]);
    let t = Instant::now();
    let mut s = TcpStream::connect(&p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    round_trip(&mut s, b"hello");
    let took = t.elapsed();
    assert!(took >= 2 * delay, "{took:?}");
}

#[test]
fn pacing_limits_the_rate() {
    // 8 Mbit/s: 100,000 bytes take 0.1 s to send, then the delay each
    // way: at least 180 ms (80 ms unpaced).
    let upstream = echo_server();
    let p = proxy(&upstream, &["--no-handshake", "--rate-mbit", "8"]);
    let mut s = TcpStream::connect(&p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let took = round_trip(&mut s, &vec![7u8; 100_000]);
    assert!(took >= Duration::from_millis(175), "{took:?}");
}

#[test]
fn a_bad_rate_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_gatelog-link-proxy"))
        .args(["--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9"])
        .arg("--rate-mbit=-1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--rate-mbit"));
}
