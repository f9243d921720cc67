//! Command line and configuration file. Flags override the file; the file
//! holds what flags cannot say well (rule thresholds, trusted publishers).
//!
//! ```toml
//! log = "https://log.example"
//! log_key = "log.example/gatelog+1a2b3c4d+AQ…"
//! state = "/var/lib/gatelog-monitor"
//! watch = ["@acme/*", "left-pad"]
//! webhook = "https://hooks.example/gatelog"
//! registries = ["registry.npmjs.org+5e6f7a8b+AQ…"]
//!
//! [rules]
//! rubber_stamp_seconds = 120
//! require_signing_device = ["@acme/*"]
//! ```

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use gatelog_core::VerifierKey;
use gatelog_core::witness_policy::{MAX_POLICY_SIZE, WitnessPolicy};
use serde::Deserialize;

use crate::follow::StartAt;
use crate::rules::RuleConfig;
use crate::sinks::{Format, Sink};

/// `gatelog-monitor`: follow a gatelog log, verify it, and alert on
/// publishes without approval, unusual approvals, worm-like bursts and
/// log misbehaviour.
#[derive(Debug, Parser)]
#[command(name = "gatelog-monitor", version, about, long_about = None)]
pub struct Flags {
    /// Base URL of the log (serving c2sp.org/tlog-tiles).
    #[arg(long, env = "GATELOG_MONITOR_LOG")]
    pub log: Option<String>,
    /// The log's verifier key (`name+id+base64`).
    #[arg(long, env = "GATELOG_MONITOR_LOG_KEY")]
    pub log_key: Option<String>,
    /// Folder of the monitor's state (RocksDB).
    #[arg(long, env = "GATELOG_MONITOR_STATE")]
    pub state: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Alert only on packages matching this pattern (`@acme/*`, `left-pad`);
    /// repeatable. Log misbehaviour is always reported. Default: all.
    #[arg(long = "watch", value_name = "PATTERN")]
    pub watch: Vec<String>,
    /// Process everything new, deliver alerts, and exit: 0 no alerts,
    /// 1 alerts, 2 error, 3 log unreachable.
    #[arg(long)]
    pub once: bool,
    /// POST each alert's JSON to this URL (retried until delivered).
    #[arg(long)]
    pub webhook: Option<String>,
    /// Run this shell command per alert, the alert's JSON on stdin.
    #[arg(long)]
    pub hook: Option<String>,
    /// How alerts are printed on stdout.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Print no alerts on stdout (other sinks still deliver).
    #[arg(long)]
    pub quiet: bool,
    /// A new state starts at this entry (0 audits the whole history).
    #[arg(long, conflicts_with = "start_at_end")]
    pub start_at: Option<u64>,
    /// A new state starts at the log's current end.
    #[arg(long)]
    pub start_at_end: bool,
    /// Check every envelope's signature with these registry keys;
    /// repeatable. Required, unless --allow-unauthenticated.
    #[arg(long = "registry-key", value_name = "VKEY")]
    pub registry_keys: Vec<String>,
    /// Run without registry keys: no envelope signature is checked, the
    /// log alone vouches for every event, and every alert says so
    /// (`"unauthenticated": true`).
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Seconds between checkpoint polls in daemon mode.
    #[arg(long)]
    pub poll_interval: Option<f64>,
    /// Address of the /metrics endpoint in daemon mode.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Send one sample alert through the configured sinks and exit.
    #[arg(long)]
    pub test_alert: bool,
    /// A c2sp.org/tlog-policy file: follow only checkpoints cosigned by
    /// its witness quorum; others raise `unwitnessed-checkpoint`.
    #[arg(long, value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
    /// Also be a c2sp.org/tlog-witness witness of the followed log, with
    /// its state and key in this folder, served next to /metrics (daemon
    /// mode): logs send `POST /add-checkpoint` there.
    #[arg(long, value_name = "DIR")]
    pub witness_data: Option<PathBuf>,
    /// The witness's key name. [default: gatelog-monitor.localhost/witness]
    #[arg(long, value_name = "NAME")]
    pub witness_name: Option<String>,
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    log: Option<String>,
    log_key: Option<String>,
    state: Option<PathBuf>,
    #[serde(default)]
    watch: Vec<String>,
    webhook: Option<String>,
    hook: Option<String>,
    format: Option<Format>,
    #[serde(default)]
    registries: Vec<String>,
    #[serde(default)]
    allow_unauthenticated: bool,
    poll_interval: Option<f64>,
    metrics_listen: Option<SocketAddr>,
    witness_policy: Option<PathBuf>,
    witness_data: Option<PathBuf>,
    witness_name: Option<String>,
    #[serde(default)]
    rules: RuleConfig,
}

/// Everything the monitor runs with.
#[derive(Debug)]
pub struct Settings {
    /// Log base URL.
    pub log: String,
    /// Log key.
    pub log_key: VerifierKey,
    /// State folder.
    pub state: PathBuf,
    /// Watch patterns (empty: all).
    pub watch: Vec<String>,
    /// Sinks.
    pub sinks: Vec<Sink>,
    /// `--once`.
    pub once: bool,
    /// Start of a new state.
    pub start: Option<StartAt>,
    /// Registry keys to check envelopes with; empty only with
    /// `--allow-unauthenticated`.
    pub registries: Vec<VerifierKey>,
    /// Poll interval.
    pub poll_interval: std::time::Duration,
    /// Metrics address (daemon mode).
    pub metrics_listen: SocketAddr,
    /// Rule thresholds.
    pub rules: RuleConfig,
    /// `--test-alert`.
    pub test_alert: bool,
    /// The witness quorum a followed checkpoint needs.
    pub witnesses: WitnessPolicy,
    /// Witness the log too: (state and key folder, key name).
    pub witness: Option<(PathBuf, String)>,
}

/// Largest config file read.
const MAX_CONFIG_FILE: u64 = 1 << 20;

fn read_file(path: &Path) -> Result<FileConfig, String> {
    // Capped, so a path to /dev/zero is an error rather than all memory.
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_FILE + 1).read_to_string(&mut text))
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_FILE {
        return Err(format!(
            "config file {}: larger than the limit of {MAX_CONFIG_FILE} bytes",
            path.display()
        ));
    }
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

fn key(text: &str, what: &str) -> Result<VerifierKey, String> {
    VerifierKey::parse(text.trim()).map_err(|e| format!("{what} {text:?}: {e}"))
}

impl Settings {
    /// Merges flags over the file; every error names what to fix.
    pub fn resolve(flags: Flags) -> Result<Settings, String> {
        let file = match &flags.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let log = flags
            .log
            .or(file.log)
            .ok_or("--log URL is required (the log's base URL)")?;
        if !(log.starts_with("http://") || log.starts_with("https://")) {
            return Err(format!("--log {log:?} must be an http:// or https:// URL"));
        }
        let log_key = key(
            &flags
                .log_key
                .or(file.log_key)
                .ok_or("--log-key VKEY is required (the log's verifier key)")?,
            "--log-key",
        )?;
        let state = flags
            .state
            .or(file.state)
            .ok_or("--state DIR is required (where the monitor keeps its place)")?;
        let watch = if flags.watch.is_empty() {
            file.watch
        } else {
            flags.watch
        };
        for p in &watch {
            if p.is_empty() || p.chars().any(char::is_whitespace) {
                return Err(format!("--watch {p:?} is not a package pattern"));
            }
        }
        let mut sinks = Vec::new();
        if !flags.quiet {
            sinks.push(Sink::Stdout(
                flags.format.or(file.format).unwrap_or(Format::Text),
            ));
        }
        if let Some(url) = flags.webhook.or(file.webhook) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "--webhook {url:?} must be an http:// or https:// URL"
                ));
            }
            sinks.push(Sink::Webhook(url));
        }
        if let Some(cmd) = flags.hook.or(file.hook) {
            sinks.push(Sink::Hook(cmd));
        }
        let start = match (flags.start_at, flags.start_at_end) {
            (Some(i), _) => Some(StartAt::Index(i)),
            (None, true) => Some(StartAt::End),
            (None, false) => None,
        };
        let registry_texts = if flags.registry_keys.is_empty() {
            file.registries
        } else {
            flags.registry_keys
        };
        let registries = registry_texts
            .iter()
            .map(|k| key(k, "registry key"))
            .collect::<Result<Vec<_>, _>>()?;
        if registries.is_empty() && !(flags.allow_unauthenticated || file.allow_unauthenticated) {
            return Err("--registry-key VKEY is required (each registry's verifier key, so the monitor checks every envelope's signature itself); pass --allow-unauthenticated to run without, with every alert marked unauthenticated".into());
        }
        let poll = flags.poll_interval.or(file.poll_interval).unwrap_or(1.0);
        if !(0.05..=3600.0).contains(&poll) {
            return Err(format!(
                "--poll-interval {poll} must be between 0.05 and 3600 seconds"
            ));
        }
        file.rules.check()?;
        let metrics_listen = flags
            .metrics_listen
            .or(file.metrics_listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9465)));
        let witnesses = match flags.witness_policy.or(file.witness_policy) {
            None => WitnessPolicy::none(),
            Some(path) => {
                let shown = path.display();
                let mut bytes = Vec::new();
                std::fs::File::open(&path)
                    .and_then(|f| f.take(MAX_POLICY_SIZE as u64 + 1).read_to_end(&mut bytes))
                    .map_err(|e| format!("--witness-policy {shown}: {e}"))?;
                let policy = WitnessPolicy::parse(&bytes)
                    .map_err(|e| format!("--witness-policy {shown}: {e}"))?;
                if !policy.admits_log(&log_key) {
                    return Err(format!(
                        "--witness-policy {shown}: the policy lists logs, but not the --log-key"
                    ));
                }
                policy
            }
        };
        let witness_name = flags.witness_name.or(file.witness_name);
        let witness = match flags.witness_data.or(file.witness_data) {
            Some(dir) => Some((
                dir,
                witness_name.unwrap_or_else(|| "gatelog-monitor.localhost/witness".into()),
            )),
            None if witness_name.is_some() => {
                return Err("--witness-name needs --witness-data DIR (where the witness keeps its state and key)".into());
            }
            None => None,
        };
        if witness.is_some() && flags.once {
            return Err(
                "--witness-data serves a witness next to /metrics: it needs the daemon, not --once"
                    .into(),
            );
        }
        Ok(Settings {
            witness,
            witnesses,
            log,
            log_key,
            state,
            watch,
            sinks,
            once: flags.once,
            start,
            registries,
            poll_interval: std::time::Duration::from_secs_f64(poll),
            metrics_listen,
            rules: file.rules,
            test_alert: flags.test_alert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        gatelog_core::SignerKey::from_seed(
            "log.example/gatelog",
            gatelog_core::SignatureType::Ed25519,
            &[7; 32],
        )
        .unwrap()
        .verifier()
        .to_string()
    }

    fn flags(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("gatelog-monitor").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn flags_and_file_merge_and_errors_name_the_fix() {
        let key = key();
        let key = key.as_str();
        let e = Settings::resolve(flags(&[])).unwrap_err();
        assert!(e.contains("--log URL is required"), "{e}");
        let e = Settings::resolve(flags(&[
            "--log",
            "ftp://x",
            "--log-key",
            key,
            "--state",
            "s",
        ]))
        .unwrap_err();
        assert!(e.contains("http://"), "{e}");
        let e = Settings::resolve(flags(&[
            "--log",
            "http://x",
            "--log-key",
            "nope",
            "--state",
            "s",
        ]))
        .unwrap_err();
        assert!(e.contains("--log-key"), "{e}");
        // Registry keys are required, unless explicitly waived.
        let e = Settings::resolve(flags(&[
            "--log",
            "http://x",
            "--log-key",
            key,
            "--state",
            "s",
        ]))
        .unwrap_err();
        assert!(e.contains("--registry-key VKEY is required"), "{e}");
        assert!(e.contains("--allow-unauthenticated"), "{e}");
        let s = Settings::resolve(flags(&[
            "--log",
            "http://x",
            "--log-key",
            key,
            "--state",
            "s",
            "--allow-unauthenticated",
        ]))
        .unwrap();
        assert!(s.registries.is_empty());
        let s = Settings::resolve(flags(&[
            "--log",
            "http://x",
            "--log-key",
            key,
            "--state",
            "s",
            "--registry-key",
            key,
        ]))
        .unwrap();
        assert_eq!(s.registries.len(), 1);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(
            &path,
            format!(
                "log = \"http://file\"\nlog_key = \"{key}\"\nstate = \"st\"\nallow_unauthenticated = true\nwatch = [\"@acme/*\"]\n[rules]\nrubber_stamp_seconds = 5\n"
            ),
        )
        .unwrap();
        let s = Settings::resolve(flags(&[
            "--config",
            path.to_str().unwrap(),
            "--log",
            "http://flag",
            "--webhook",
            "http://hook",
        ]))
        .unwrap();
        assert_eq!(s.log, "http://flag");
        assert_eq!(s.watch, vec!["@acme/*".to_owned()]);
        assert_eq!(s.rules.rubber_stamp_seconds, 5);
        assert_eq!(s.sinks.len(), 2);
        assert_eq!(s.start, None);

        std::fs::write(&path, "rubber_stamp_seconds = 5\n").unwrap();
        let e = Settings::resolve(flags(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
