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
use gatelog_core::event::{Integrity, PackageName, approval_statement, sign_approval};
use gatelog_core::{Hash, SignerKey, VerifierKey};

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
    Verify {
        /// package-lock.json / npm-shrinkwrap.json, or the folder holding it.
        #[arg(long, default_value = ".")]
        lockfile: PathBuf,
        #[command(flatten)]
        log: LogArgs,
        /// Policy file (TOML); see docs/client.md.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Accepted registry key (repeatable; adds to the policy file's).
        #[arg(long = "registry-key", value_name = "VKEY")]
        registry_keys: Vec<String>,
        #[command(flatten)]
        registry: RegistryArg,
        /// Folder keeping the last verified checkpoint per log.
        #[arg(long, env = "GATELOG_STATE_DIR")]
        state_dir: Option<PathBuf>,
        /// Do not read or update the state folder.
        #[arg(long, conflicts_with = "state_dir")]
        no_state: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Verify from an offline bundle (`gatelog bundle`) instead of the network.
        #[arg(long, value_name = "BUNDLE")]
        offline: Option<PathBuf>,
        /// Opt a package pattern out of verification (repeatable), e.g. '@internal/*'.
        #[arg(long = "allow", value_name = "PATTERN")]
        allow: Vec<String>,
        #[command(flatten)]
        install: InstallArgs,
        /// A c2sp.org/tlog-policy file: the witnesses that must cosign the
        /// checkpoint (k of n); see docs/witness.md.
        #[arg(long, env = "GATELOG_WITNESS_POLICY", value_name = "FILE")]
        witness_policy: Option<PathBuf>,
    },
    /// Write an offline proof bundle for a lockfile.
    Bundle {
        /// The lockfile or its folder.
        #[arg(long, default_value = ".")]
        lockfile: PathBuf,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        registry: RegistryArg,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
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
        Command::Verify { .. } => "verify",
        Command::Bundle { .. } => "bundle",
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
        Command::Verify {
            lockfile,
            log,
            policy,
            registry_keys,
            registry,
            state_dir,
            no_state,
            format,
            offline,
            allow,
            install,
            witness_policy,
        } => {
            let loaded = match &policy {
                Some(p) => PolicyFile::load(p).map_err(usage)?,
                None => Default::default(),
            };
            let install = install.over(loaded.install);
            let registry = registry.host(loaded.registry)?;
            let (policy, mut keys) = (loaded.policy, loaded.keys);
            for k in &registry_keys {
                keys.push(
                    VerifierKey::parse(k)
                        .map_err(|e| usage(format!("--registry-key {k:?}: {e}")))?,
                );
            }
            if keys.is_empty() {
                return Err(usage(
                    "no registry keys: pass --registry-key or list `registries` in the policy file",
                ));
            }
            let log_key =
                VerifierKey::parse(&log.log_key).map_err(|e| usage(format!("--log-key: {e}")))?;
            let witnesses =
                crate::witnesses::load(witness_policy.as_deref(), &log_key).map_err(usage)?;
            let evidence = match &offline {
                Some(path) => Evidence::Offline(
                    read_limited(path, verify::offline::MAX_BUNDLE_FILE as u64)
                        .map_err(|e| usage(format!("{}: {e}", path.display())))?,
                ),
                None => Evidence::Online(Box::new(client(&log)?.0)),
            };
            let state = if no_state {
                None
            } else {
                Some(state_folder(state_dir)?)
            };
            let opts = VerifyOptions {
                lockfile,
                log_key,
                registry_keys: keys,
                registry,
                policy,
                allow,
                install,
                state,
                evidence,
                witnesses,
            };
            let report = runtime()?
                .block_on(verify::verify(opts))
                .map_err(|e: VerifyError| Failure(e.exit_code(), e.to_string()))?;
            match format {
                Format::Text => print!("{}", report.to_text()),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
                ),
                Format::Sarif => println!(
                    "{}",
                    serde_json::to_string_pretty(&report.to_sarif()).unwrap_or_default()
                ),
            }
            Ok(if report.passed() {
                Exit::Ok
            } else {
                Exit::Failed
            })
        }
        Command::Bundle {
            lockfile,
            log,
            registry,
            out,
        } => {
            let registry = registry.host(None)?;
            let (client, key) = client(&log)?;
            let path = if lockfile.is_dir() {
                crate::lockfile::find(&lockfile).map_err(usage)?
            } else {
                lockfile
            };
            let lock = crate::lockfile::load(&path).map_err(usage)?;
            let mut wanted: Vec<ReleaseRef> = lock
                .registry_packages()
                .filter_map(|p| {
                    let host = match &p.source {
                        crate::lockfile::Source::Registry {
                            resolved: Some(url),
                        } => crate::registry::host_of(url).ok()?,
                        _ => registry.clone(),
                    };
                    Some(ReleaseRef {
                        registry: host,
                        package: p.name.clone(),
                        version: p.version.clone()?,
                    })
                })
                .collect();
            wanted.sort();
            wanted.dedup();
            let fetched = runtime()?
                .block_on(client.fetch_bundles(&wanted, verify::bundle_chunk(wanted.len())))?;
            let bytes = verify::offline::write(key.name(), &fetched);
            std::fs::write(&out, bytes)
                .map_err(|e| Failure(Exit::Undecided, format!("{}: {e}", out.display())))?;
            eprintln!("wrote {} releases to {}", fetched.len(), out.display());
            Ok(Exit::Ok)
        }
        Command::Checkpoint { log, state_dir } => {
            let state = state_folder(state_dir)?;
            let (client, key) = client(&log)?;
            let rt = runtime()?;
            let cp = rt.block_on(client.checkpoint())?;
            let remembered = state
                .load(&key)
                .map_err(|e| Failure(Exit::Undecided, e.to_string()))?;
            if let Some((old, bytes)) = &remembered {
                // A failure is `SECURITY ERROR` evidence with both notes and the proof.
                rt.block_on(verify::prove(Some(&client), old, &cp))
                    .map_err(|e| Failure(e.exit_code(), e.to_string()))?;
                if cp.head().size > old.head().size {
                    state
                        .store(&key, Some(bytes), &cp)
                        .map_err(|e| Failure(Exit::Undecided, e.to_string()))?;
                }
            } else {
                state
                    .store(&key, None, &cp)
                    .map_err(|e| Failure(Exit::Undecided, e.to_string()))?;
            }
            print!(
                "{}",
                crate::sanitize::lines(&String::from_utf8_lossy(&cp.to_bytes()))
            );
            Ok(Exit::Ok)
        }
        Command::Proof(ProofCommand::Inclusion {
            index,
            leaf_hash,
            log,
        }) => {
            let (client, _) = client(&log)?;
            let leaf_hash = match leaf_hash {
                Some(h) => Some(
                    Hash::from_hex(&h).ok_or_else(|| usage("--leaf-hash must be 64 hex digits"))?,
                ),
                None => None,
            };
            let ack = runtime()?.block_on(client.verified_inclusion(index, leaf_hash))?;
            println!(
                "{}",
                serde_json::json!({"verified": true, "index": ack.index.0, "leaf_hash": ack.leaf_hash, "tree_size": ack.head.size.0, "root_hash": ack.head.root})
            );
            Ok(Exit::Ok)
        }
        Command::Proof(ProofCommand::Consistency { old, log }) => {
            let (client, _) = client(&log)?;
            let bytes = read_limited(&old, MAX_SMALL_FILE)
                .map_err(|e| usage(format!("{}: {e}", old.display())))?;
            let old_cp = client
                .open_checkpoint(&bytes)
                .map_err(|e| usage(format!("{}: {e}", old.display())))?;
            let rt = runtime()?;
            let new_cp = rt.block_on(client.checkpoint())?;
            rt.block_on(verify::prove(Some(&client), &old_cp, &new_cp))
                .map_err(|e| Failure(e.exit_code(), e.to_string()))?;
            println!(
                "{}",
                serde_json::json!({"verified": true, "old_size": old_cp.head().size.0, "new_size": new_cp.head().size.0})
            );
            Ok(Exit::Ok)
        }
        Command::Entry { index, log } => {
            let (client, _) = client(&log)?;
            let (leaf, event) = runtime()?.block_on(client.verified_entry(index))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "index": index,
                    "logged_at": leaf.logged_at(),
                    "prev": leaf.prev().map(|p| p.0),
                    "leaf_hash": leaf.hash(),
                    "event": event,
                }))
                .unwrap_or_default()
            );
            Ok(Exit::Ok)
        }
        Command::Submit {
            event,
            registry_key_file,
            log,
        } => {
            let key = read_key_file(&registry_key_file)?;
            let json = read_limited(&event, MAX_SMALL_FILE)
                .map_err(|e| usage(format!("{}: {e}", event.display())))?;
            let envelope = gatelog_core::Event::parse(&json)
                .map_err(|e| usage(format!("{}: {e}", event.display())))?
                .sign(key.signing_key())
                .map_err(usage)?;
            let (client, _) = client(&log)?;
            let mut acks = runtime()?.block_on(client.submit(std::slice::from_ref(&envelope)))?;
            let ack = acks
                .pop()
                .ok_or_else(|| Failure(Exit::Undecided, "no answer".into()))??;
            println!(
                "{}",
                serde_json::json!({"index": ack.index.0, "leaf_hash": ack.leaf_hash, "tree_size": ack.head.size.0})
            );
            Ok(Exit::Ok)
        }
        Command::ApproveStatement(a) => {
            print!("{}", statement(&a)?);
            Ok(Exit::Ok)
        }
        Command::SignApproval {
            statement: a,
            device_key_file,
        } => {
            let key = read_key_file(&device_key_file)?;
            let sig = sign_approval(key.signing_key(), &statement(&a)?);
            println!("{}", STANDARD.encode(sig.to_bytes()));
            Ok(Exit::Ok)
        }
        Command::Review(args) => crate::review::run(args),
        Command::Approve(args) => crate::approve::run(args),
        Command::Keygen { name, role } => {
            let key = keygen::generate(&name, role).map_err(usage)?;
            println!("{}", key.to_private_text());
            println!("{}", key.verifier());
            Ok(Exit::Ok)
        }
    }
}
