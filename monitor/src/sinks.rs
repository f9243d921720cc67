//! Alert delivery. Alerts wait in the state's outbox; each sink has its own
//! cursor there and delivers in sequence order, so an endpoint that is
//! down delays its alerts but never loses them, and a sink that succeeded
//! is not sent the same alert again after a restart (delivery is
//! at-least-once only across a crash between sending and recording it).
//!
//! Sinks: stdout (text or JSON lines), a webhook (HTTP POST of the alert's
//! JSON; any 2xx is success) and a hook command (run with `sh -c`, the
//! alert's JSON on stdin; exit status 0 is success).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

use crate::alert::Alert;
use crate::metrics::Metrics;
use crate::state::{State, StateError};

/// How alerts are written to stdout.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// For people.
    Text,
    /// One `gatelog-alert/v1` JSON object per line.
    Json,
}

/// One destination.
#[derive(Clone, Debug)]
pub enum Sink {
    /// Standard output.
    Stdout(Format),
    /// HTTP POST to this URL.
    Webhook(String),
    /// `sh -c` this command.
    Hook(String),
}

impl Sink {
    /// The sink's cursor name in the state.
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Stdout(_) => "stdout",
            Sink::Webhook(_) => "webhook",
            Sink::Hook(_) => "hook",
        }
    }
}

/// Every configured sink, with what they need to deliver.
pub struct Sinks {
    sinks: Vec<Sink>,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
}

/// Alerts fetched from the outbox per round.
const PAGE: usize = 256;

impl Sinks {
    /// The sinks, delivering over `http`.
    pub fn new(sinks: Vec<Sink>, metrics: Arc<Metrics>) -> Sinks {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a default HTTP client builds");
        Sinks {
            sinks,
            http,
            metrics,
        }
    }

    /// Gives sinks that have no cursor yet one at `last_seq`: a sink added
    /// to a running monitor receives new alerts, not its whole history.
    pub fn init(&self, state: &State, last_seq: u64) -> Result<(), StateError> {
        for sink in &self.sinks {
            if state.delivered_opt(sink.name())?.is_none() {
                state.set_delivered(sink.name(), last_seq)?;
            }
        }
        Ok(())
    }

    /// Delivers what each sink has not delivered yet. Returns how many
    /// alerts still wait (a sink failed; retry later).
    pub async fn deliver(&self, state: &State) -> Result<u64, StateError> {
        let mut waiting = 0;
        for sink in &self.sinks {
            let mut done = state.delivered(sink.name())?;
            'pages: loop {
                let page = state.alerts_after(done, PAGE)?;
                if page.is_empty() {
                    break;
                }
                for alert in &page {
                    if let Err(why) = self.send(sink, alert).await {
                        self.metrics.delivery_failures.inc();
                        tracing::warn!(
                            sink = sink.name(),
                            seq = alert.seq,
                            "delivery failed, will retry: {why}"
                        );
                        waiting += state.alerts_after(done, usize::MAX)?.len() as u64;
                        break 'pages;
                    }
                    done = alert.seq;
                    state.set_delivered(sink.name(), done)?;
                }
            }
        }
        Ok(waiting)
    }

    /// Sends one alert through every sink now (for `--test-alert`),
    /// returning the failures.
    pub async fn send_all(&self, alert: &Alert) -> Vec<String> {
        let mut failures = Vec::new();
        for sink in &self.sinks {
            if let Err(why) = self.send(sink, alert).await {
                failures.push(format!("{}: {why}", sink.name()));
            }
        }
        failures
    }

    async fn send(&self, sink: &Sink, alert: &Alert) -> Result<(), String> {
        match sink {
            Sink::Stdout(format) => {
                let text = match format {
                    Format::Text => format!("{}\n", alert.to_text()),
                    Format::Json => alert.to_json_line(),
                };
                let mut out = std::io::stdout().lock();
                writeln!(out, "{text}")
                    .and_then(|()| out.flush())
                    .map_err(|e| e.to_string())
            }
            Sink::Webhook(url) => {
                let resp = self
                    .http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(alert.to_json_line())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("HTTP {}", resp.status()))
                }
            }
            Sink::Hook(command) => run_hook(command, alert).await,
        }
    }
}

async fn run_hook(command: &str, alert: &Alert) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("GATELOG_ALERT_SEQ", alert.seq.to_string())
        .env("GATELOG_ALERT_ID", &alert.id)
        .env("GATELOG_ALERT_RULE", alert.rule.as_str())
        .env("GATELOG_ALERT_SEVERITY", alert.severity.as_str())
        .env(
            "GATELOG_ALERT_PACKAGE",
            alert.package.as_deref().unwrap_or(""),
        )
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run hook: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that ignores its input closes the pipe early: not an error.
        let _ = stdin.write_all(alert.to_json_line().as_bytes()).await;
        let _ = stdin.write_all(b"\n").await;
    }
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .map_err(|_| "hook ran longer than 60 s".to_owned())?
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("hook exited with {status}"))
    }
}
