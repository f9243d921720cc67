//! The `gatelog` command line: flags are parsed and validated here into
//! library calls; exit codes are decided here and nowhere else.
//!
//! Exit codes: 0 success; 1 verification or policy failure, or log
//! misbehaviour; 2 usage or configuration error; 3 the log could not be
//! reached or could not answer.

use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Parser, Subcommand, ValueEnum};
use gatelog_core::event::{Integrity, PackageName, approval_statement};
use gatelog_core::{Hash, SignerKey, VerifierKey};

mod keys;
mod log_cmds;
mod verify_cmd;

use crate::exit::{Exit, Failure};
use crate::files::{MAX_SMALL_FILE, read_limited, read_text_limited};
use crate::keygen::{self, KeyRole};
use crate::logclient::{LogClient, ReleaseRef};
use crate::policy_file::PolicyFile;
use crate::state::{self, StateDir};
use crate::verify::sources::{Allow, InstallSources};
use crate::verify::{self, Evidence, VerifyError, VerifyOptions};

#[derive(Parser, Debug)]
#[command(
    name = "gatelog",
    version,
    about = "Check package releases against a gatelog transparency log"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How to reach and trust a log.
#[derive(Args, Debug, Clone)]
struct LogArgs {
    /// Base URL of the log, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "GATELOG_LOG")]
    log: Option<String>,
    /// The log's verifier key (`<origin>+<id>+<base64>`).
    #[arg(long, env = "GATELOG_LOG_KEY")]
    log_key: String,
}

/// The registry of lockfile entries that do not name one.
#[derive(Args, Debug, Clone)]
struct RegistryArg {
    /// Registry (origin or host) of lockfile entries without a `resolved`
    /// URL [default: the policy file's `registry`, else
    /// https://registry.npmjs.org]. Entries with a `resolved` URL are
    /// checked at that URL's host.
    #[arg(long = "registry", env = "GATELOG_REGISTRY", value_name = "ORIGIN")]
    registry: Option<String>,
}

impl RegistryArg {
    /// The registry host: the flag, else `from_policy`, else the default.
    fn host(&self, from_policy: Option<String>) -> Result<String, Failure> {
        match (&self.registry, from_policy) {
            (Some(r), _) => {
                crate::registry::host_of(r).map_err(|e| usage(format!("--registry: {e}")))
            }
            (None, Some(host)) => Ok(host),
            (None, None) => {
                crate::registry::host_of(crate::registry::DEFAULT_REGISTRY).map_err(usage)
            }
        }
    }
}

/// The state folder: the one given, else the default (an error without a
/// home folder).
fn state_folder(given: Option<PathBuf>) -> Result<StateDir, Failure> {
    match given {
        Some(dir) => Ok(StateDir::new(&dir)),
        None => Ok(StateDir::new(&state::default_dir().map_err(usage)?)),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify every package of a lockfile against the log.
    Verify(verify_cmd::VerifyArgs),
    /// Write an offline proof bundle for a lockfile.
    Bundle(verify_cmd::BundleArgs),
    /// Fetch, verify and show the log's checkpoint; update the state folder.
    Checkpoint {
        #[command(flatten)]
        log: LogArgs,
        /// State folder (default: the user cache folder).
        #[arg(long, env = "GATELOG_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Fetch and verify a proof against the log's latest checkpoint.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Fetch and verify one entry, and print its event.
    Entry {
        /// Leaf index.
        index: u64,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Sign an event (JSON) as a registry and submit it.
    Submit {
        /// The event JSON file.
        #[arg(long)]
        event: PathBuf,
        /// File holding the registry's private key (PRIVATE+KEY+…).
        #[arg(long)]
        registry_key_file: PathBuf,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Print the statement a maintainer's signing device signs to approve a release.
    ApproveStatement(StatementArgs),
    /// Sign the approval statement with a device key; prints base64 for `device_signature`.
    SignApproval {
        #[command(flatten)]
        statement: StatementArgs,
        /// File holding the device's private key (PRIVATE+KEY+…).
        #[arg(long)]
        device_key_file: PathBuf,
    },
    /// Review a staged release before approving it (docs/maintainers.md).
    Review(crate::review::ReviewArgs),
    /// Approve a staged release with a signing device and the OTP.
    Approve(crate::approve::ApproveArgs),
    /// Make a new Ed25519 key; prints the private key, then the verifier key.
    Keygen {
        /// Key name: a log's origin, a registry's host, a device or witness name.
        #[arg(long)]
        name: String,
        /// What the key is for.
        #[arg(long, value_enum, default_value = "log")]
        role: KeyRole,
    },
}

#[derive(Subcommand, Debug)]
enum ProofCommand {
    /// Inclusion of an entry (by index or leaf hash) in the latest checkpoint.
    Inclusion {
        /// Leaf index.
        #[arg(
            long,
            conflicts_with = "leaf_hash",
            required_unless_present = "leaf_hash"
        )]
        index: Option<u64>,
        /// Leaf hash (hex).
        #[arg(long)]
        leaf_hash: Option<String>,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Consistency of an older signed checkpoint (a note file) with the latest.
    Consistency {
        /// File holding the older signed checkpoint note.
        #[arg(long)]
        old: PathBuf,
        #[command(flatten)]
        log: LogArgs,
    },
}

#[derive(Args, Debug)]
struct StatementArgs {
    /// Package name.
    #[arg(long)]
    package: String,
    /// Version.
    #[arg(long)]
    version: String,
    /// SRI integrity (sha512-…).
    #[arg(long)]
    integrity: String,
    /// Leaf hash (hex) of the stage entry being approved.
    #[arg(long)]
    stage_leaf_hash: String,
}

fn usage(msg: impl std::fmt::Display) -> Failure {
    Failure::usage(msg)
}

fn read_key_file(path: &std::path::Path) -> Result<SignerKey, Failure> {
    let text = read_text_limited(path, MAX_SMALL_FILE)
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    SignerKey::parse(&text).map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn client(args: &LogArgs) -> Result<(LogClient, VerifierKey), Failure> {
    let key = VerifierKey::parse(&args.log_key).map_err(|e| usage(format!("--log-key: {e}")))?;
    let url = args
        .log
        .as_deref()
        .ok_or_else(|| usage("--log is required"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(usage(format!("--log {url:?} is not an http(s) URL")));
    }
    Ok((LogClient::new(url, key.clone())?, key))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new().map_err(|e| Failure(Exit::Undecided, e.to_string()))
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = command_name(&cli.command);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, msg)) => {
            // Messages quote lockfiles and log answers: no control characters
            // reach the terminal (newlines of multi-line evidence stay).
            eprintln!("gatelog {name}: {}", crate::sanitize::lines(&msg));
            ExitCode::from(code)
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Verify(_) => "verify",
        Command::Bundle(_) => "bundle",
        Command::Checkpoint { .. } => "checkpoint",
        Command::Entry { .. } => "entry",
        Command::Proof(_) => "proof",
        Command::Submit { .. } => "submit",
        Command::ApproveStatement(_) => "approve-statement",
        Command::SignApproval { .. } => "sign-approval",
        Command::Review(_) => "review",
        Command::Approve(_) => "approve",
        Command::Keygen { .. } => "keygen",
    }
}

fn statement(a: &StatementArgs) -> Result<String, Failure> {
    let package = PackageName::parse(&a.package).map_err(usage)?;
    let version =
        semver::Version::parse(&a.version).map_err(|e| usage(format!("--version: {e}")))?;
    let integrity = Integrity::parse(&a.integrity).map_err(usage)?;
    let stage = Hash::from_hex(&a.stage_leaf_hash)
        .ok_or_else(|| usage("--stage-leaf-hash must be 64 hex digits"))?;
    Ok(approval_statement(&package, &version, &integrity, &stage))
}

/// npm's install-source controls; each overrides the policy file's.
#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// Git dependencies: all, none (npm 12's default) or root (declared by the project).
    #[arg(long, value_enum, value_name = "MODE")]
    allow_git: Option<Allow>,
    /// Remote tarball dependencies: all, none (npm 12's default) or root.
    #[arg(long, value_enum, value_name = "MODE")]
    allow_remote: Option<Allow>,
    /// Local tarball dependencies: all (default), none or root.
    #[arg(long, value_enum, value_name = "MODE")]
    allow_file: Option<Allow>,
    /// Local folder dependencies and links: all (default), none or root.
    #[arg(long, value_enum, value_name = "MODE")]
    allow_directory: Option<Allow>,
}

impl InstallArgs {
    fn over(&self, file: InstallSources) -> InstallSources {
        InstallSources {
            git: self.allow_git.unwrap_or(file.git),
            remote: self.allow_remote.unwrap_or(file.remote),
            file: self.allow_file.unwrap_or(file.file),
            directory: self.allow_directory.unwrap_or(file.directory),
        }
    }
}

fn run(command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Verify(args) => verify_cmd::verify(args),
        Command::Bundle(args) => verify_cmd::bundle(args),
        Command::Checkpoint { log, state_dir } => log_cmds::checkpoint(log, state_dir),
        Command::Proof(proof) => log_cmds::proof(proof),
        Command::Entry { index, log } => log_cmds::entry(index, log),
        Command::Submit {
            event,
            registry_key_file,
            log,
        } => log_cmds::submit(event, registry_key_file, log),
        Command::ApproveStatement(a) => keys::approve_statement(a),
        Command::SignApproval {
            statement: a,
            device_key_file,
        } => keys::sign_approval(a, device_key_file),
        Command::Review(args) => crate::review::run(args),
        Command::Approve(args) => crate::approve::run(args),
        Command::Keygen { name, role } => keys::keygen(name, role),
    }
}
