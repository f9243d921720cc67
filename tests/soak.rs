//! The short soak, in CI: the real server, `gatelog-lab hammer` at a steady
//! rate with verifying readers, and `gatelog-monitor` following as a
//! daemon, for `GATELOG_SOAK_SECONDS` (default 60). Sampled every second:
//! tree size, monitor progress and lag, server and monitor RSS. Asserted,
//! as `scripts/soak.sh` does for long runs (which also reports speed):
//! no refusal, verification failure, error line or alert; RSS at the end
//! at most 1.5 × RSS after warm-up (half the run); monitor lag at most
//! 5 s; the monitor verified the whole log; `gatelog-server check` passes
//! while the server runs and after it stopped.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatelog_e2e::{Server, binary, free_addr, http_get, log_key, run};
use serde_json::Value;

const ORIGIN: &str = "soak.gatelog.test/log";
const RATE: u64 = 200;
const RSS_FACTOR: f64 = 1.5;
const MAX_LAG_SECONDS: f64 = 5.0;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn check(data: &Path) -> String {
    let out = run(
        "gatelog-server",
        &["check", "--data", &data.display().to_string()],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gatelog-server check failed: {text}");
    text
}

/// One sample.
struct Sample {
    at: f64,
    tree: u64,
    verified: u64,
}

fn tree_size(addr: std::net::SocketAddr) -> u64 {
    let (_, cp) = http_get(addr, "/checkpoint");
    String::from_utf8_lossy(&cp)
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

fn verified(metrics: std::net::SocketAddr) -> u64 {
    gatelog_e2e::http_request(metrics, "GET", "/metrics", &[])
        .ok()
        .and_then(|(_, body)| {
            String::from_utf8_lossy(&body)
                .lines()
                .find_map(|l| l.strip_prefix("gatelog_monitor_tree_size_verified "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Seconds since the log first showed an entry the monitor has not
/// verified, interpolated between samples.
fn lag_seconds(history: &[Sample], now: &Sample) -> f64 {
    let mut prev: Option<&Sample> = None;
    for s in history {
        if s.tree > now.verified {
            let first = match prev {
                Some(p) => {
                    p.at + (now.verified + 1 - p.tree) as f64 / (s.tree - p.tree) as f64
                        * (s.at - p.at)
                }
                None => s.at,
            };
            return now.at - first;
        }
        prev = Some(s);
    }
    0.0
}

#[test]
fn a_steady_load_with_a_following_monitor_stays_within_bounds() {
    let seconds: u64 = std::env::var("GATELOG_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::write(data.join("log.key"), log_key(ORIGIN).to_private_text()).expect("key");
    let vkey = log_key(ORIGIN).verifier().to_string();
    let out = run("gatelog-lab", &["hammer", "--print-registry-key"]);
    let registry = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();

    let server_log = dir.path().join("server.log");
    let server = Server::start_logging(
        &data,
        ORIGIN,
        &["--submitter-key", &registry, "--batch-interval-ms", "50"],
        Stdio::from(File::create(&server_log).expect("log")),
    );
    let url = format!("http://{}", server.addr);

    // The hammer's registry times are fixed (May 2026) and its releases
    // are logged within milliseconds: time-skew is off and recency windows
    // read the registry's times.
    let config = dir.path().join("monitor.toml");
    std::fs::write(
        &config,
        "[rules]\ndisabled = [\"time-skew\"]\nrecency_clock = \"registry\"\n",
    )
    .expect("config");
    let metrics = free_addr();
    let alerts = dir.path().join("alerts.jsonl");
    let monitor_log = dir.path().join("monitor.log");
    let monitor = Killed(
        Command::new(binary("gatelog-monitor"))
            .args(["--config", &config.display().to_string()])
            .args(["--log", &url, "--log-key", &vkey, "--start-at", "0"])
            .args(["--registry-key", &registry])
            .args(["--state", &dir.path().join("state").display().to_string()])
            .args(["--format", "json", "--poll-interval", "0.5"])
            .args(["--metrics-listen", &metrics.to_string()])
            .stdout(File::create(&alerts).expect("alerts"))
            .stderr(File::create(&monitor_log).expect("log"))
            .spawn()
            .expect("spawn gatelog-monitor"),
    );
    let report_path = dir.path().join("hammer.json");
    let hammer = Command::new(binary("gatelog-lab"))
        .args(["hammer", "--log", &url, "--log-key", &vkey])
        .args([
            "--rate",
            &RATE.to_string(),
            "--duration",
            &seconds.to_string(),
        ])
        .args(["--batch-size", "10", "--writers", "8", "--readers", "1"])
        .args(["--packages", "1000", "--json"])
        .stdout(File::create(&report_path).expect("report"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gatelog-lab hammer");
    let mut hammer = Killed(hammer);

    let started = Instant::now();
    let warmup = seconds as f64 / 2.0;
    let (mut history, mut max_lag) = (Vec::new(), 0.0f64);
    let mut warm_rss = None;
    let mut checked_while_running = false;
    let mut sample = |history: &mut Vec<Sample>| {
        let s = Sample {
            at: started.elapsed().as_secs_f64(),
            tree: tree_size(server.addr),
            verified: verified(metrics),
        };
        max_lag = max_lag.max(lag_seconds(history, &s));
        history.push(s);
    };
    while hammer.0.try_wait().expect("hammer").is_none() {
        sample(&mut history);
        let at = started.elapsed().as_secs_f64();
        if warm_rss.is_none() && at >= warmup {
            warm_rss = Some((rss_kib(server.pid()), rss_kib(monitor.0.id())));
        }
        if !checked_while_running && at >= warmup {
            // Safe while the server runs (a read-only secondary instance).
            check(&data);
            checked_while_running = true;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(&report_path).expect("report")).expect("JSON");
    assert_eq!(report["refused"], 0, "{report}");
    assert_eq!(report["verification_failures"], 0, "{report}");
    assert!(report["accepted"].as_u64().unwrap() > 0, "{report}");
    // The monitor catches up with the whole log.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        sample(&mut history);
        let last = history.last().expect("sampled");
        if last.verified == last.tree {
            break;
        }
        assert!(Instant::now() < deadline, "the monitor did not catch up");
        std::thread::sleep(Duration::from_millis(500));
    }
    let end_rss = (rss_kib(server.pid()), rss_kib(monitor.0.id()));
    let warm = warm_rss.expect("warm-up reached");
    drop(monitor);
    drop(server);

    let tree = history.last().map_or(0, |s| s.tree);
    eprintln!(
        "soak {seconds}s at {RATE}/s: {tree} entries, monitor lag max {max_lag:.1}s, \
         server RSS {} -> {} KiB, monitor RSS {} -> {} KiB",
        warm.0, end_rss.0, warm.1, end_rss.1
    );
    assert!(tree >= report["accepted"].as_u64().unwrap());
    assert!(
        max_lag <= MAX_LAG_SECONDS,
        "the monitor lagged {max_lag:.1}s"
    );
    assert!(
        end_rss.0 as f64 <= RSS_FACTOR * warm.0 as f64,
        "server RSS grew from {} to {} KiB",
        warm.0,
        end_rss.0
    );
    assert!(
        end_rss.1 as f64 <= RSS_FACTOR * warm.1 as f64,
        "monitor RSS grew from {} to {} KiB",
        warm.1,
        end_rss.1
    );
    let lines = std::fs::read_to_string(&server_log).expect("server log");
    assert!(!lines.contains("ERROR"), "server errors: {lines}");
    let lines = std::fs::read_to_string(&monitor_log).expect("monitor log");
    assert!(!lines.contains("ERROR"), "monitor errors: {lines}");
    let raised = std::fs::read_to_string(&alerts).expect("alerts");
    assert!(
        !raised.lines().any(|l| l.starts_with('{')),
        "alerts on an honest load: {raised}"
    );
    let summary = check(&data);
    assert!(
        summary.contains(&format!("entries     {tree} re-hashed")),
        "{summary}"
    );
}
