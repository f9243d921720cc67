//! `gatelog-registry` killed with SIGKILL between "stage stored" and
//! "stage logged", with the real npm CLI and a real log: after a restart
//! the staged version is logged exactly once or not at all, and never
//! served (listed as staged, or in a packument) without its `stage` event.
//!
//! The registry stores the signed envelope in its outbox before sending it
//! and the stage item together with the outbox entry's removal, once the
//! log acknowledged it. The window is held open with a proxy in front of
//! the log that withholds (or delays) the log's answer.

#[path = "npm_registry/rig.rs"]
mod rig;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rig::{Rig, ok, package_dir};
use serde_json::Value;

/// What the proxy does with the log's answers.
#[derive(Clone, Copy)]
enum Answer {
    /// Keep every answer from the registry (and report it was given).
    Withhold,
    /// Pass each answer on after this long.
    Delay(Duration),
}

/// Reads one HTTP message (head and `Content-Length` body).
fn read_message(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
        message.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    message.extend_from_slice(&body);
    Some(message)
}

/// A proxy in front of the log at `upstream`; each answer the log gives is
/// reported on the channel.
fn log_proxy(upstream: SocketAddr, answer: Answer) -> (SocketAddr, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let Ok(mut log) = TcpStream::connect(upstream) else {
                    return;
                };
                let mut from_client = BufReader::new(client.try_clone().unwrap());
                let mut from_log = BufReader::new(log.try_clone().unwrap());
                let mut client = client;
                while let Some(request) = read_message(&mut from_client) {
                    if log.write_all(&request).is_err() {
                        return;
                    }
                    let Some(response) = read_message(&mut from_log) else {
                        return;
                    };
                    let _ = tx.send(());
                    match answer {
                        // Held until the registry is gone.
                        Answer::Withhold => std::thread::sleep(Duration::from_secs(60)),
                        Answer::Delay(d) => std::thread::sleep(d),
                    }
                    if client.write_all(&response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// `stage` events of `name@version` in the log.
fn stage_events(rig: &Rig, name: &str, version: &str) -> Vec<Value> {
    rig.bundle_events(name, version)
        .into_iter()
        .filter(|e| e["type"] == "stage" && e["version"] == version)
        .collect()
}

/// The invariant after a crash: `name@version` is not installable, and if
/// the registry lists it as staged the log holds its `stage` event exactly
/// once, with the same integrity. Returns whether it is listed.
fn check_invariant(rig: &Rig, name: &str, version: &str) -> bool {
    let logged = stage_events(rig, name, version);
    assert!(
        logged.len() <= 1,
        "{name}@{version} logged twice: {logged:?}"
    );
    let (status, _, list) = rig.request(
        "GET",
        &format!("/-/stage?package={name}"),
        Some(&rig.alice_publish),
        None,
        b"",
    );
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["version"] == version)
        .collect();
    assert!(listed.len() <= 1, "{list}");
    if let Some(item) = listed.first() {
        assert_eq!(logged.len(), 1, "{name}@{version} listed but not logged");
        assert_eq!(logged[0]["integrity"], item["integrity"], "{item}");
    }
    let (status, _, packument) = rig.request("GET", &format!("/{name}"), None, None, b"");
    assert_eq!(status, 200, "{packument}");
    assert!(
        packument["versions"].get(version).is_none(),
        "a staged version is installable: {packument}"
    );
    !listed.is_empty()
}

fn stage_publish(rig: &Rig, src: &Path) -> std::process::Output {
    rig.npm(
        src,
        &rig.alice_ci,
        &["stage", "publish", "--fetch-retries=0"],
    )
}

/// A package with a published 1.0.0, so that later stages log only `stage`.
fn published_package(rig: &Rig, name: &str) {
    let src = package_dir(rig, name, "1.0.0");
    ok(
        &rig.npm(&src, &rig.alice_publish, &["publish"]),
        "npm publish",
    );
}

#[test]
fn killed_after_the_log_acknowledged_the_stage_it_is_logged_once() {
    let mut rig = Rig::start(&[]);
    let name = "crash-acked";
    published_package(&rig, name);
    let (proxy, answered) = log_proxy(rig.log_addr, Answer::Withhold);
    rig.restart_registry(Some(&format!("http://{proxy}")), &[]);

    let src = package_dir(&rig, name, "1.1.0");
    let mut npm = rig
        .npm_command(
            &src,
            &rig.alice_ci,
            &["stage", "publish", "--fetch-retries=0"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The log holds the stage event; the registry waits for its answer.
    answered
        .recv_timeout(Duration::from_secs(60))
        .expect("the stage event reached the log");
    assert_eq!(stage_events(&rig, name, "1.1.0").len(), 1);
    rig.kill_registry();
    assert!(!npm.wait().unwrap().success(), "npm saw a crash as success");

    rig.restart_registry(None, &[]);
    assert!(
        !check_invariant(&rig, name, "1.1.0"),
        "stored without an ack"
    );
    // The retry sends the stored envelope again: the log answers it as a
    // duplicate, and the item is stored with that acknowledgement.
    ok(&stage_publish(&rig, &src), "npm stage publish again");
    assert!(check_invariant(&rig, name, "1.1.0"));
    assert_eq!(stage_events(&rig, name, "1.1.0").len(), 1);
}

#[test]
fn killed_while_the_log_is_down_the_retry_logs_once() {
    let mut rig = Rig::start(&[]);
    let name = "crash-down";
    published_package(&rig, name);
    let size = rig.tree_size();
    rig.stop_log();
    let src = package_dir(&rig, name, "1.1.0");
    let out = stage_publish(&rig, &src);
    assert!(!out.status.success(), "staged with the log down");
    rig.kill_registry();
    rig.start_log();
    rig.restart_registry(None, &[]);
    assert_eq!(rig.tree_size(), size, "logged while the log was down");
    assert!(!check_invariant(&rig, name, "1.1.0"));
    ok(
        &stage_publish(&rig, &src),
        "npm stage publish after the crash",
    );
    assert!(check_invariant(&rig, name, "1.1.0"));
    assert_eq!(rig.tree_size(), size + 1);
    // Staged once: a second stage of that version is refused, not logged.
    let again = stage_publish(&rig, &src);
    assert!(!again.status.success());
    assert_eq!(rig.tree_size(), size + 1);
}

/// A small xorshift generator; its seed is printed so a failure can be
/// replayed with `GATELOG_CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn kill_9_at_random_moments_of_npm_stage_publish() {
    let mut rig = Rig::start(&[]);
    let name = "crash-random";
    published_package(&rig, name);
    // A slow log widens the window between "stored" and "logged".
    let (proxy, _answered) = log_proxy(rig.log_addr, Answer::Delay(Duration::from_millis(400)));
    let slow = format!("http://{proxy}");
    rig.restart_registry(Some(&slow), &[]);
    let seed = std::env::var("GATELOG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("GATELOG_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut listed_after_crash = 0;
    for round in 0..8 {
        let version = format!("2.0.{round}");
        let src = package_dir(&rig, name, &version);
        let mut npm = rig
            .npm_command(
                &src,
                &rig.alice_ci,
                &["stage", "publish", "--fetch-retries=0"],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(200 + rng.next(1800));
        std::thread::sleep(delay);
        rig.kill_registry();
        let _ = npm.wait();
        rig.restart_registry(Some(&slow), &[]);
        let listed = check_invariant(&rig, name, &version);
        let logged = stage_events(&rig, name, &version).len();
        eprintln!("round {round}: killed after {delay:?}, listed: {listed}, logged: {logged}");
        if listed {
            listed_after_crash += 1;
        } else {
            ok(
                &stage_publish(&rig, &src),
                "npm stage publish after a crash",
            );
            assert!(check_invariant(&rig, name, &version));
        }
        assert_eq!(stage_events(&rig, name, &version).len(), 1);
        assert!(started.elapsed() < Duration::from_secs(300), "too slow");
    }
    eprintln!("{listed_after_crash} of 8 rounds were staged before the kill");
}
