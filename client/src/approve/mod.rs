//! `gatelog approve <stage-id>`: the device-bound approval of a staged
//! release (docs/maintainers.md). The tarball is checked against the
//! logged `stage` first, exactly as `gatelog review` does; nothing is
//! signed if it differs. The device then signs the approval statement
//! (naming the tarball and the stage's leaf hash as the log holds it),
//! the signature goes to the registry with the OTP, and the log's
//! `approve` entry is fetched, proven and checked to be that approval.

pub mod signer;

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::VerifierKey;
use gatelog_core::event::{EventBody, Integrity, PackageName, approval_statement};

use crate::exit::{Exit, Failure};
use crate::logclient::LogClient;
use crate::review::fetch::{FetchError, Registry};
use crate::review::logged::LoggedError;
use crate::review::{from_fetch, from_logged, gate};
use signer::{DeviceSigner, FileKey};

/// `gatelog approve`'s flags.
#[derive(clap::Args, Debug)]
pub struct ApproveArgs {
    /// The stage id.
    pub stage_id: String,
    /// The registry's URL.
    #[arg(long, value_name = "URL")]
    pub registry: String,
    /// A publish token of a maintainer of the package.
    #[arg(long, env = "GATELOG_REGISTRY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Base URL of the log.
    #[arg(long, env = "GATELOG_LOG", value_name = "URL")]
    pub log: String,
    /// The log's verifier key.
    #[arg(long, env = "GATELOG_LOG_KEY", value_name = "VKEY")]
    pub log_key: String,
    /// The device's private key file (`gatelog keygen --role device`); its
    /// name is the device id enrolled at the registry.
    #[arg(long, value_name = "FILE")]
    pub device_key_file: PathBuf,
    /// The one-time password of the maintainer's authenticator.
    #[arg(long)]
    pub otp: String,
}

fn usage(msg: impl std::fmt::Display) -> Failure {
    Failure(Exit::Usage, msg.to_string())
}

/// Runs an approval; prints the logged approval and its proof.
pub fn run(args: ApproveArgs) -> Result<Exit, Failure> {
    if !crate::review::fetch::valid_stage_id(&args.stage_id) {
        return Err(usage(format!("{:?} is not a stage id", args.stage_id)));
    }
    for (flag, url) in [("--registry", &args.registry), ("--log", &args.log)] {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(usage(format!("{flag} {url:?} is not an http(s) URL")));
        }
    }
    let host = crate::registry::host_of(&args.registry).map_err(usage)?;
    let token = args
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| usage("a registry token is needed: --token or GATELOG_REGISTRY_TOKEN"))?;
    let key = VerifierKey::parse(&args.log_key).map_err(|e| usage(format!("--log-key: {e}")))?;
    let device = FileKey::load(&args.device_key_file).map_err(usage)?;
    let log =
        LogClient::new(&args.log, key).map_err(|e| Failure(Exit::Undecided, e.to_string()))?;
    let registry = Registry::new(&args.registry, token).map_err(from_fetch)?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| Failure(Exit::Undecided, e.to_string()))?;

    let g = rt.block_on(gate(&registry, &log, &host, &args.stage_id))?;
    let bad = |what: &str| Failure(Exit::Failed, format!("stage item {}: {what}", g.item.id));
    let statement = approval_statement(
        &PackageName::parse(&g.item.package).map_err(|_| bad("package name"))?,
        &semver::Version::parse(&g.item.version).map_err(|_| bad("version"))?,
        &Integrity::parse(&g.computed).map_err(|_| bad("integrity"))?,
        &g.stage.leaf_hash,
    );
    let signature = device
        .sign(&statement)
        .map_err(|e| Failure(Exit::Failed, e))?;
    let answer = rt
        .block_on(registry.approve(
            &args.stage_id,
            &args.otp,
            device.device_id(),
            &STANDARD.encode(signature),
        ))
        .map_err(|e| match e {
            // A wrong OTP or signature: the approval did not happen.
            FetchError::Refused { .. } => Failure(Exit::Failed, e.to_string()),
            e => from_fetch(e),
        })?;
    let index = answer["approveLogIndex"].as_u64().ok_or_else(|| {
        Failure(
            Exit::Undecided,
            "the registry's answer has no approveLogIndex".into(),
        )
    })?;

    let log_err = |e| from_logged(LoggedError::Log(e));
    let (_, event) = rt.block_on(log.verified_entry(index)).map_err(log_err)?;
    let ack = rt
        .block_on(log.verified_inclusion(Some(index), None))
        .map_err(log_err)?;
    let ours = match &event.body {
        EventBody::Approve(a) => {
            a.integrity.to_string() == g.computed
                && a.stage.0 == g.stage.index
                && a.device.id == device.device_id()
                && a.device_signature.map(|s| s.to_bytes()) == Some(signature)
        }
        _ => false,
    };
    if !ours {
        return Err(Failure(
            Exit::Failed,
            format!("log entry {index} is not the approval this device signed"),
        ));
    }
    let out = serde_json::json!({
        "approved": true,
        "package": g.item.package,
        "version": g.item.version,
        "integrity": g.computed,
        "device": device.device_id(),
        "statement": statement,
        "approve": {
            "index": index,
            "leaf_hash": ack.leaf_hash,
            "tree_size": ack.head.size.0,
            "root_hash": ack.head.root,
            "inclusion_verified": true,
            "event": event,
        },
        "publish_log_index": answer["publishLogIndex"],
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(Exit::Ok)
}
