//! The demo's registry chapter: the real npm CLI ([`super::npm`]) against
//! a real `gatelog-registry` that logs into the demo's log. The story's
//! registry is simulated (its events are signed and submitted by the demo
//! itself); this one is the product: npm stages, lists, approves,
//! installs and publishes through it, and the registry logs each step
//! before it takes effect.
//!
//! - here: the registry's key (made before the log starts, so the log can
//!   allow it), its admin commands and the running process;
//! - [`chapter`]: the steps, shown as a person would type them;
//! - `read`: what the chapter reads (log entries, npm's output, lockfiles).

pub mod chapter;
mod read;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use gatelog_core::VerifierKey;

use super::DemoError;
use super::npm::Found;
use super::processes::{Child, sibling};

/// The packages of the chapter: the monitor expects every one of them to
/// be released through staging (`require_staging`).
pub const PACKAGES: &str = "demo-*";

/// The registry, set up before the log starts.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The npm CLI that drives it.
    pub npm: Found,
    /// The `gatelog-registry` binary.
    pub bin: PathBuf,
    /// Its data folder.
    pub data: PathBuf,
    /// The folder of everything npm touches (packages, the consumer
    /// project, npm's home and cache).
    pub npm_dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its log submitter key, named after `addr` (the log must allow it).
    pub key: VerifierKey,
}

impl Prepared {
    /// Makes the registry's key (`gatelog-registry key`) for a free
    /// loopback port, under `<data>/registry`.
    pub async fn new(npm: Found, data: &Path) -> Result<Prepared, DemoError> {
        let bin = sibling("gatelog-registry")?;
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| DemoError::Setup(format!("no free loopback port: {e}")))?;
        let registry_data = data.join("registry");
        let printed = run(
            &bin,
            &[
                "key",
                "--data",
                &registry_data.display().to_string(),
                "--listen",
                &addr.to_string(),
            ],
        )
        .await?;
        let key = VerifierKey::parse(printed.trim()).map_err(|e| {
            DemoError::Failed(format!("gatelog-registry key printed a bad key: {e}"))
        })?;
        Ok(Prepared {
            npm,
            bin,
            data: registry_data,
            npm_dir: data.join("npm"),
            addr,
            key,
        })
    }

    /// The registry's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `gatelog-registry admin --data <data> --listen <addr> <args>`
    /// (with the registry stopped: its store has one writer); its
    /// standard output.
    pub async fn admin(&self, args: &[&str]) -> Result<String, DemoError> {
        let mut all = vec![
            "admin".to_owned(),
            "--data".to_owned(),
            self.data.display().to_string(),
            "--listen".to_owned(),
            self.addr.to_string(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        run(&self.bin, &all).await
    }
}

/// Runs `bin args`; its standard output, or why it failed.
async fn run(bin: &Path, args: &[&str]) -> Result<String, DemoError> {
    let out = tokio::process::Command::new(bin)
        .args(args)
        .env_remove("GATELOG_REGISTRY_DATA")
        .env_remove("GATELOG_REGISTRY_LOG_KEY")
        .env_remove("GATELOG_REGISTRY_SIGNING_KEY")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| DemoError::Setup(format!("cannot run {}: {e}", bin.display())))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(DemoError::Failed(format!(
            "gatelog-registry {} failed ({}): {}",
            args.first().copied().unwrap_or_default(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// A running `gatelog-registry`, killed on drop.
pub struct RegistryServer {
    /// Its base URL.
    pub url: String,
    child: Child,
}

impl RegistryServer {
    /// Starts it over `prepared`, logging to `log_url` and checking each
    /// acknowledgement against `log_key`; its standard error goes to
    /// `stderr`. Waits until it listens.
    pub fn start(
        prepared: &Prepared,
        log_url: &str,
        log_key: &VerifierKey,
        stderr: &Path,
    ) -> Result<RegistryServer, DemoError> {
        let mut command = std::process::Command::new(&prepared.bin);
        command
            .arg("--data")
            .arg(&prepared.data)
            .args(["--listen", &prepared.addr.to_string()])
            .args(["--log", log_url])
            .args(["--log-key", &log_key.to_string()])
            .args(["--log-timeout-secs", "10"])
            .env_remove("GATELOG_REGISTRY_DATA")
            .env_remove("GATELOG_REGISTRY_LOG_KEY")
            .env_remove("GATELOG_REGISTRY_SIGNING_KEY");
        let mut child = Child::spawn("gatelog-registry", command, stderr)?;
        let lines = child.lines();
        let url = child.wait_for(&lines, |l| {
            l.strip_prefix("listening on ").map(|u| u.trim().to_owned())
        })?;
        // Its output is still read (and dropped), so it never blocks.
        drop(lines);
        Ok(RegistryServer { url, child })
    }

    /// Why it stopped, if it has.
    pub fn exited(&mut self) -> Option<String> {
        self.child.exited()
    }
}
