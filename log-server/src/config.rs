//! Server configuration: command-line flags, an optional TOML file
//! (`--config`), environment variables for secrets. Flags override the
//! file; defaults apply when neither sets an option. Every option is listed
//! in `--help` and docs/operations.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use gatelog_core::VerifierKey;
use gatelog_core::witness_policy::WitnessPolicy;
use serde::Deserialize;

use crate::clock::SkewLimits;
use crate::http::guard::GuardConfig;
use crate::sequencer::SequencerConfig;

/// Largest `pool_size` and `max_batch`: the submission pool is allocated
/// when the server starts (about 500 bytes a slot).
pub const MAX_POOL_SIZE: usize = 1 << 20;

/// Command-line flags of `gatelog-server`.
#[derive(Parser, Debug, Default)]
#[command(
    name = "gatelog-server",
    version,
    about = "A transparency log for staged and approved package releases",
    args_conflicts_with_subcommands = true
)]
pub struct Flags {
    /// Without a command, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TOML config file; flags given on the command line override it.
    #[arg(long, env = "GATELOG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Folder holding the RocksDB store and the log key (created if missing).
    /// [default: ./gatelog-data]
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The log's origin: first line of its checkpoints and its key's name.
    /// [default: gatelog.localhost/log]
    #[arg(long)]
    pub origin: Option<String>,
    /// Verifier key of a registry allowed to submit (repeatable), e.g. from
    /// `gatelog keygen --role registry`.
    #[arg(long = "submitter-key", value_name = "VKEY")]
    pub submitter_keys: Vec<String>,
    /// How long a batch stays open after its first submission, in ms. [default: 200]
    #[arg(long)]
    pub batch_interval_ms: Option<u64>,
    /// A batch closes early at this many submissions. [default: 4096]
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Submissions that may wait for the sequencer; more get 503. [default: 16384]
    #[arg(long)]
    pub pool_size: Option<usize>,
    /// Events per second each submitter may send (0 = unlimited). [default: 0]
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Burst each submitter may send at once. [default: 10 × rate limit]
    #[arg(long)]
    pub rate_burst: Option<u32>,
    /// Per-request timeout in seconds. [default: 30]
    #[arg(long)]
    pub request_timeout_secs: Option<u64>,
    /// `/healthz` fails when entries wait unsigned longer than this, in seconds. [default: 10]
    #[arg(long)]
    pub max_checkpoint_lag_secs: Option<u64>,
    /// Log output format: text or json. [default: text]
    #[arg(long, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// Requests handled at once; more are shed with 503 busy. [default: 1024]
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Seconds a client has to send a request's headers. [default: 10]
    #[arg(long)]
    pub header_timeout_secs: Option<u64>,
    /// Envelopes refused for their submitter that one client address may
    /// send per second (burst 10×) before its writes get 429. [default: 10]
    #[arg(long)]
    pub auth_failure_rate: Option<u32>,
    /// Read requests per second per client address, burst 10× (0 =
    /// unlimited). [default: 0]
    #[arg(long)]
    pub read_rate: Option<u32>,
    /// Flag events whose registry time is this many seconds ahead of the
    /// log clock (logged, counted, answered with a warning). [default: 600]
    #[arg(long)]
    pub time_skew_ahead_secs: Option<u64>,
    /// Flag events whose registry time is this many seconds behind the log
    /// clock. [default: 86400]
    #[arg(long)]
    pub time_skew_behind_secs: Option<u64>,
    /// A c2sp.org/tlog-policy file: each new checkpoint is sent to every
    /// witness in it that has a URL, and served with their cosignatures.
    #[arg(long)]
    pub witness_policy: Option<PathBuf>,
    /// How long `GET /checkpoint` and the read API keep serving the previous
    /// checkpoint while the witnesses cosign a new one, in ms (writes never
    /// wait). [default: 2000]
    #[arg(long)]
    pub witness_wait_ms: Option<u64>,
    /// A monitor's alert feed: a file of `gatelog-alert/v1` JSON lines
    /// (`gatelog-monitor --format json` output) the web explorer shows.
    #[arg(long, value_name = "FILE")]
    pub monitor_alerts: Option<PathBuf>,
}

/// Commands other than running the server.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Audit a log's data folder, read-only: re-hash every entry, rebuild
    /// every stored hash, verify the latest checkpoint and the entries'
    /// structure. Exit 0 if all agree, 1 naming the first problem, 2 if
    /// the check could not run.
    Check(crate::check::cli::CheckArgs),
}

/// The same options in the TOML file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    origin: Option<String>,
    #[serde(default)]
    submitter_keys: Vec<String>,
    batch_interval_ms: Option<u64>,
    max_batch: Option<usize>,
    pool_size: Option<usize>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    request_timeout_secs: Option<u64>,
    max_checkpoint_lag_secs: Option<u64>,
    log_format: Option<String>,
    time_skew_ahead_secs: Option<u64>,
    time_skew_behind_secs: Option<u64>,
    max_in_flight: Option<usize>,
    header_timeout_secs: Option<u64>,
    auth_failure_rate: Option<u32>,
    read_rate: Option<u32>,
    witness_policy: Option<PathBuf>,
    witness_wait_ms: Option<u64>,
    monitor_alerts: Option<PathBuf>,
}

/// The validated configuration the server runs with.
#[derive(Debug)]
pub struct Config {
    /// Data folder.
    pub data: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Log origin.
    pub origin: String,
    /// Allowed submitters.
    pub submitters: Vec<VerifierKey>,
    /// Batching.
    pub sequencer: SequencerConfig,
    /// Per-submitter (events/s, burst), if limited.
    pub rate: Option<(u32, u32)>,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Health threshold.
    pub max_checkpoint_lag: Duration,
    /// JSON logs.
    pub json_logs: bool,
    /// When registry times are flagged as skewed.
    pub skew: SkewLimits,
    /// In-flight, failed-authentication and read limits.
    pub guard: GuardConfig,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// The witnesses to ask for cosignatures, if any.
    pub witnesses: Option<crate::witnessing::WitnessSettings>,
    /// A monitor's alert feed the explorer shows.
    pub monitor_alerts: Option<PathBuf>,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML for this schema.
    #[error("config file {0}: {1}")]
    Parse(PathBuf, String),
    /// A submitter key is malformed.
    #[error("submitter key {0:?}: {1}")]
    SubmitterKey(String, String),
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Largest config or key file read: a path to `/dev/zero` or a huge file
/// is an error, not a server that fills its memory.
pub const MAX_SMALL_FILE: u64 = 1 << 20;

/// Reads a small text file (config, key) of at most [`MAX_SMALL_FILE`] bytes.
pub fn read_small_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_SMALL_FILE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SMALL_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the limit of {MAX_SMALL_FILE} bytes"),
        ));
    }
    Ok(text)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = read_small_text(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse(path.to_owned(), e.to_string()))
}

impl Config {
    /// Merges flags over the file over the defaults, and validates.
    pub fn resolve(flags: Flags) -> Result<Config, ConfigError> {
        let file = match &flags.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let mut keys = file.submitter_keys;
        keys.extend(flags.submitter_keys);
        let submitters = keys
            .iter()
            .map(|k| {
                VerifierKey::parse(k)
                    .map_err(|e| ConfigError::SubmitterKey(k.clone(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let batch_interval_ms = flags
            .batch_interval_ms
            .or(file.batch_interval_ms)
            .unwrap_or(200);
        let max_batch = flags.max_batch.or(file.max_batch).unwrap_or(4096);
        let pool_size = flags.pool_size.or(file.pool_size).unwrap_or(16384);
        if batch_interval_ms == 0 || batch_interval_ms > 60_000 {
            return Err(ConfigError::Invalid(format!(
                "batch_interval_ms must be 1..=60000, got {batch_interval_ms}"
            )));
        }
        // The pool is allocated up front, so its size is capped.
        for (name, value) in [("max_batch", max_batch), ("pool_size", pool_size)] {
            if value == 0 || value > MAX_POOL_SIZE {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be 1..={MAX_POOL_SIZE}, got {value}"
                )));
            }
        }
        let rate_limit = flags.rate_limit.or(file.rate_limit).unwrap_or(0);
        let rate = (rate_limit > 0).then(|| {
            let burst = flags
                .rate_burst
                .or(file.rate_burst)
                .unwrap_or(rate_limit.saturating_mul(10));
            (rate_limit, burst.max(1))
        });
        let max_in_flight = flags
            .max_in_flight
            .or(file.max_in_flight)
            .unwrap_or(GuardConfig::default().max_in_flight);
        if max_in_flight == 0 || max_in_flight > MAX_POOL_SIZE {
            return Err(ConfigError::Invalid(format!(
                "max_in_flight must be 1..={MAX_POOL_SIZE}, got {max_in_flight}"
            )));
        }
        let auth_failure_rate = flags
            .auth_failure_rate
            .or(file.auth_failure_rate)
            .unwrap_or(10)
            .max(1);
        let read_rate = flags.read_rate.or(file.read_rate).unwrap_or(0);
        let guard = GuardConfig {
            max_in_flight,
            auth_failures: (auth_failure_rate, auth_failure_rate.saturating_mul(10)),
            reads: (read_rate > 0).then(|| (read_rate, read_rate.saturating_mul(10))),
        };
        let header_timeout = Duration::from_secs(
            flags
                .header_timeout_secs
                .or(file.header_timeout_secs)
                .unwrap_or(10)
                .max(1),
        );
        let witnesses = match flags.witness_policy.or(file.witness_policy) {
            None => None,
            Some(path) => {
                let text =
                    read_small_text(&path).map_err(|e| ConfigError::Read(path.clone(), e))?;
                let policy = WitnessPolicy::parse(text.as_bytes())
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
                let wait_ms = flags
                    .witness_wait_ms
                    .or(file.witness_wait_ms)
                    .unwrap_or(2000);
                if wait_ms > 60_000 {
                    return Err(ConfigError::Invalid(format!(
                        "witness_wait_ms must be 0..=60000, got {wait_ms}"
                    )));
                }
                Some(
                    crate::witnessing::WitnessSettings::new(
                        &policy,
                        Duration::from_millis(wait_ms),
                    )
                    .map_err(ConfigError::Invalid)?,
                )
            }
        };
        Ok(Config {
            monitor_alerts: flags.monitor_alerts.or(file.monitor_alerts),
            guard,
            header_timeout,
            witnesses,
            data: flags
                .data
                .or(file.data)
                .unwrap_or_else(|| "./gatelog-data".into()),
            listen: flags
                .listen
                .or(file.listen)
                .unwrap_or_else(|| ([127, 0, 0, 1], 8080).into()),
            origin: flags
                .origin
                .or(file.origin)
                .unwrap_or_else(|| "gatelog.localhost/log".into()),
            submitters,
            sequencer: SequencerConfig {
                batch_interval: Duration::from_millis(batch_interval_ms),
                max_batch,
                pool_size,
            },
            rate,
            request_timeout: Duration::from_secs(
                flags
                    .request_timeout_secs
                    .or(file.request_timeout_secs)
                    .unwrap_or(30)
                    .max(1),
            ),
            max_checkpoint_lag: Duration::from_secs(
                flags
                    .max_checkpoint_lag_secs
                    .or(file.max_checkpoint_lag_secs)
                    .unwrap_or(10)
                    .max(1),
            ),
            skew: SkewLimits {
                ahead: Duration::from_secs(
                    flags
                        .time_skew_ahead_secs
                        .or(file.time_skew_ahead_secs)
                        .unwrap_or(600),
                ),
                behind: Duration::from_secs(
                    flags
                        .time_skew_behind_secs
                        .or(file.time_skew_behind_secs)
                        .unwrap_or(86_400),
                ),
            },
            json_logs: match flags.log_format.or(file.log_format).as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid(format!(
                        "log_format must be \"text\" or \"json\", got {other:?}"
                    )));
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatelog.toml");
        std::fs::write(
            &path,
            "origin = \"file.example/log\"\nbatch_interval_ms = 50\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(path),
            batch_interval_ms: Some(75),
            ..Flags::default()
        };
        let c = Config::resolve(flags).unwrap();
        assert_eq!(c.origin, "file.example/log");
        assert_eq!(c.sequencer.batch_interval, Duration::from_millis(75));
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.data, PathBuf::from("./gatelog-data"));
        assert!(c.rate.is_none());
    }

    #[test]
    fn bad_files_and_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "no_such_option = 1\n").unwrap();
        let err = Config::resolve(Flags {
            config: Some(path),
            ..Flags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("no_such_option"), "{err}");
        let err = Config::resolve(Flags {
            submitter_keys: vec!["nonsense".into()],
            ..Flags::default()
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::SubmitterKey(..)));
        let err = Config::resolve(Flags {
            batch_interval_ms: Some(0),
            ..Flags::default()
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid(_)));
        // A pool of u64::MAX slots cannot be allocated: refused, not a crash.
        let err = Config::resolve(Flags {
            pool_size: Some(usize::MAX),
            ..Flags::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("pool_size must be 1..=1048576"),
            "{err}"
        );
    }
}
