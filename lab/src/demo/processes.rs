//! The demo's child processes: a real `gatelog-server` and a real
//! `gatelog-monitor`, found next to the running `gatelog` binary. Each is
//! killed (and reaped) when dropped, so no error path and no Ctrl-C leaves
//! one behind. They run in their own process group: a Ctrl-C in the
//! terminal reaches the demo alone, which then stops them itself.

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatelog_core::{SignerKey, VerifierKey};
use serde::Deserialize;

use super::DemoError;

/// How long a child may take to print its start-up lines.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The path of `name` in the folder of the running executable.
pub fn sibling(name: &str) -> Result<PathBuf, DemoError> {
    let exe = std::env::current_exe()
        .map_err(|e| DemoError::Setup(format!("cannot find the gatelog-lab executable: {e}")))?;
    let dir = exe
        .parent()
        .ok_or_else(|| DemoError::Setup("the gatelog-lab executable has no folder".into()))?;
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(DemoError::Setup(format!(
            "{} is missing: the demo runs it from the folder of this gatelog-lab binary. \
             Build every binary first with `cargo build --bins` (or run `make demo`)",
            path.display()
        )))
    }
}

/// A running child, killed and reaped on drop.
pub(super) struct Child {
    name: &'static str,
    child: std::process::Child,
    /// Where its standard error goes.
    log: PathBuf,
}

impl Child {
    /// Starts `command` with stderr appended to `log`, stdout piped.
    pub(super) fn spawn(
        name: &'static str,
        mut command: Command,
        log: &Path,
    ) -> Result<Child, DemoError> {
        let file = std::fs::File::create(log)
            .map_err(|e| DemoError::Setup(format!("{}: {e}", log.display())))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(file);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .map_err(|e| DemoError::Setup(format!("cannot start {name}: {e}")))?;
        Ok(Child {
            name,
            child,
            log: log.to_owned(),
        })
    }

    /// Its standard output, line by line, read on a thread until it ends.
    pub(super) fn lines(&mut self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = self.child.stdout.take() {
            std::thread::spawn(move || read_lines(stdout, &tx));
        }
        rx
    }

    /// Why it stopped, with the end of its log, if it has.
    pub(super) fn exited(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        Some(self.died(&status.to_string()))
    }

    fn died(&self, how: &str) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "{} stopped ({how}); the end of {}:\n{}",
            self.name,
            self.log.display(),
            tail.join("\n")
        )
    }

    /// Waits for a line that `pick` accepts, for at most [`START_TIMEOUT`].
    pub(super) fn wait_for<T>(
        &mut self,
        lines: &mpsc::Receiver<String>,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, DemoError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(found) = pick(&line) {
                        return Ok(found);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(DemoError::Failed(self.died("it did not start in time")));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Its stdout closed: it exited; give it a moment to be reaped.
                    std::thread::sleep(Duration::from_millis(100));
                    let why = self
                        .exited()
                        .unwrap_or_else(|| self.died("closed its output"));
                    return Err(DemoError::Failed(why));
                }
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(stdout: impl Read, tx: &mpsc::Sender<String>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { return };
        // Keep reading when nobody listens: the child must never block on a
        // full pipe.
        let _ = tx.send(line);
    }
}

/// A running `gatelog-server`.
pub struct LogServer {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its verifier key, as it printed it.
    pub key: VerifierKey,
    child: Child,
}

/// How the demo's log is set up.
pub struct LogSetup<'a> {
    /// The `gatelog-server` binary.
    pub binary: &'a Path,
    /// Its data folder.
    pub data: &'a Path,
    /// Its standard error goes here.
    pub stderr: &'a Path,
    /// The log key, written to `<data>/log.key` before the start.
    pub key: &'a SignerKey,
    /// The registries allowed to submit.
    pub submitters: &'a [VerifierKey],
}

impl LogServer {
    /// Writes the log key, starts the server on a free loopback port and
    /// waits for its start-up lines.
    pub fn start(setup: &LogSetup<'_>) -> Result<LogServer, DemoError> {
        std::fs::create_dir_all(setup.data)
            .map_err(|e| DemoError::Setup(format!("{}: {e}", setup.data.display())))?;
        write_private(&setup.data.join("log.key"), &setup.key.to_private_text())?;
        let mut command = Command::new(setup.binary);
        command
            .arg("--data")
            .arg(setup.data)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--origin", setup.key.name()])
            .args(
                setup
                    .submitters
                    .iter()
                    .flat_map(|k| ["--submitter-key".to_owned(), k.to_string()]),
            )
            // Short batches: the story is submitted one event at a time.
            .args(["--batch-interval-ms", "10"])
            .env_remove("GATELOG_CONFIG")
            .env_remove("GATELOG_LOG_KEY");
        let mut child = Child::spawn("gatelog-server", command, setup.stderr)?;
        let lines = child.lines();
        let url = child.wait_for(&lines, |l| {
            l.split_once(" listening on ")
                .map(|(_, url)| url.trim().to_owned())
        })?;
        let printed = child.wait_for(&lines, |l| {
            l.strip_prefix("verifier key: ").map(str::to_owned)
        })?;
        let key = VerifierKey::parse(printed.trim()).map_err(|e| {
            DemoError::Failed(format!("gatelog-server printed a bad verifier key: {e}"))
        })?;
        if key != setup.key.verifier() {
            return Err(DemoError::Failed(format!(
                "gatelog-server uses the key {key}, not the one written to its data folder"
            )));
        }
        Ok(LogServer { url, key, child })
    }

    /// Why it stopped, if it has.
    pub fn exited(&mut self) -> Option<String> {
        self.child.exited()
    }
}

/// Writes a secret readable by its owner only.
pub(super) fn write_private(path: &Path, text: &str) -> Result<(), DemoError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| DemoError::Setup(format!("{}: {e}", path.display())))
}

/// One alert as the monitor prints it with `--format json`
/// (`gatelog-alert/v1`; only the fields the demo shows).
#[derive(Clone, Debug, Deserialize)]
pub struct Alert {
    /// `<rule>@<trigger index>`.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The package concerned.
    #[serde(default)]
    pub package: Option<String>,
    /// The version concerned.
    #[serde(default)]
    pub version: Option<String>,
    /// One sentence.
    pub message: String,
    /// Entries that prove it.
    #[serde(default)]
    pub evidence: Vec<u64>,
    /// Rule-specific facts (e.g. the two checkpoints of a fork).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Alert {
    /// The entry that triggered it (the number after the last `@` of its id).
    pub fn trigger(&self) -> Option<u64> {
        self.id.rsplit_once('@')?.1.parse().ok()
    }
}

/// A running `gatelog-monitor` daemon and the alerts it printed so far.
pub struct Monitor {
    /// Its metrics URL.
    pub metrics_url: String,
    alerts: Arc<Mutex<Vec<Alert>>>,
    http: reqwest::Client,
    child: Child,
}

/// How the demo's monitor is set up.
pub struct MonitorSetup<'a> {
    /// The `gatelog-monitor` binary.
    pub binary: &'a Path,
    /// Its state folder.
    pub state: &'a Path,
    /// Its standard error goes here.
    pub stderr: &'a Path,
    /// The log it follows.
    pub log_url: &'a str,
    /// The log's key.
    pub log_key: &'a VerifierKey,
    /// The registries whose signatures it checks.
    pub registries: &'a [VerifierKey],
}

/// What the monitor's metrics say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Entries verified and run through the rules.
    pub verified: u64,
    /// Alerts raised.
    pub raised: u64,
}

impl Monitor {
    /// Starts the monitor from entry 0 and waits until it serves metrics.
    pub fn start(setup: &MonitorSetup<'_>) -> Result<Monitor, DemoError> {
        // The story's events happened months before the log logs them, on
        // purpose: `time-skew` would flag every one of them, and the
        // recency rules (`new-device`, `rubber-stamp`) judge the registry's
        // times, not the seconds in which the demo logs weeks. The packages
        // of the registry chapter are the organisation's own, which
        // releases only through staging.
        let config = setup.state.with_file_name("monitor.toml");
        let rules = format!(
            "[rules]\ndisabled = [\"time-skew\"]\nrecency_clock = \"registry\"\n\
             require_staging = [\"{}\"]\n",
            super::registry::PACKAGES
        );
        std::fs::write(&config, rules)
            .map_err(|e| DemoError::Setup(format!("{}: {e}", config.display())))?;
        let mut command = Command::new(setup.binary);
        command
            .arg("--config")
            .arg(&config)
            .args(["--log", setup.log_url])
            .args(["--log-key", &setup.log_key.to_string()])
            .arg("--state")
            .arg(setup.state)
            .args(["--start-at", "0", "--format", "json"])
            .args(["--poll-interval", "0.2"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(
                setup
                    .registries
                    .iter()
                    .flat_map(|k| ["--registry-key".to_owned(), k.to_string()]),
            )
            .env_remove("GATELOG_MONITOR_LOG")
            .env_remove("GATELOG_MONITOR_LOG_KEY")
            .env_remove("GATELOG_MONITOR_STATE");
        let mut child = Child::spawn("gatelog-monitor", command, setup.stderr)?;
        let lines = child.lines();
        // Its first line names the metrics address; alerts follow as JSON.
        let metrics_url = child.wait_for(&lines, |l| {
            l.split_once("metrics on ")
                .map(|(_, url)| url.trim().to_owned())
        })?;
        let alerts = Arc::new(Mutex::new(Vec::new()));
        {
            let alerts = alerts.clone();
            std::thread::spawn(move || {
                for line in lines {
                    // Every later line is one alert.
                    if let Ok(a) = serde_json::from_str::<Alert>(&line) {
                        lock(&alerts).push(a);
                    }
                }
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| DemoError::Setup(e.to_string()))?;
        Ok(Monitor {
            metrics_url,
            alerts,
            http,
            child,
        })
    }

    /// Every alert printed so far.
    pub fn alerts(&self) -> Vec<Alert> {
        lock(&self.alerts).clone()
    }

    /// Reads its metrics.
    pub async fn progress(&self) -> Result<Progress, String> {
        let text = self
            .http
            .get(&self.metrics_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok(parse_metrics(&text))
    }

    /// Waits (at most `timeout`) until the monitor has verified the first
    /// `size` entries and every alert it raised has been printed. Returns
    /// whether it got there.
    pub async fn catch_up(&mut self, size: u64, timeout: Duration) -> Result<bool, DemoError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(mut why) = self.child.exited() {
                // It stops on a lying log, after printing that alert.
                for a in lock(&self.alerts)
                    .iter()
                    .filter(|a| a.rule == "log-misbehaviour")
                {
                    why += &format!("\nit alerted: {}", a.message);
                    for (key, value) in &a.details {
                        why += &format!("\n  {key}: {value}");
                    }
                }
                return Err(DemoError::Failed(why));
            }
            if let Ok(p) = self.progress().await
                && p.verified >= size
                && lock(&self.alerts).len() as u64 >= p.raised
            {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Why it stopped, if it has.
    pub fn exited(&mut self) -> Option<String> {
        self.child.exited()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The verified tree size and the number of alerts raised, from the
/// monitor's OpenMetrics text.
fn parse_metrics(text: &str) -> Progress {
    let mut p = Progress::default();
    let value = |line: &str| {
        line.rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    for line in text.lines() {
        if line.starts_with("gatelog_monitor_tree_size_verified ") {
            p.verified = value(line);
        } else if line.starts_with("gatelog_monitor_alerts_total{") {
            p.raised += value(line);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_give_progress() {
        let text = "# TYPE gatelog_monitor_tree_size_verified gauge\n\
                    gatelog_monitor_tree_size_verified 9\n\
                    gatelog_monitor_alerts_total{rule=\"new-device\"} 2\n\
                    gatelog_monitor_alerts_total{rule=\"rubber-stamp\"} 1\n# EOF\n";
        assert_eq!(
            parse_metrics(text),
            Progress {
                verified: 9,
                raised: 3
            }
        );
    }

    #[test]
    fn alerts_parse_from_the_monitor_json() {
        let line = r#"{"schema":"gatelog-alert/v1","seq":1,"id":"rubber-stamp@250","rule":"rubber-stamp","severity":"medium","log":"l","package":"@acme/query","version":"1.5.0","message":"m","explanation":"e","evidence":[249,250],"checkpoint_size":260}"#;
        let a: Alert = serde_json::from_str(line).unwrap();
        assert_eq!(a.trigger(), Some(250));
        assert_eq!(a.evidence, [249, 250]);
    }
}
