//! The witness policy a `gatelog verify` run needs: a c2sp.org/tlog-policy
//! file naming the witnesses whose cosignatures must be on the checkpoint
//! the run relies on, and how many of them (k of n, in groups).
//!
//! Without a policy no cosignature is needed, and a warning says what that
//! leaves open: a log can show a job with an empty state folder a forked
//! history, and only a job that remembers an earlier checkpoint notices.

use std::path::Path;

use gatelog_core::VerifierKey;
use gatelog_core::witness_policy::{MAX_POLICY_SIZE, WitnessPolicy};

use crate::files::read_limited;

/// What a run without a witness policy does not protect against.
pub const NO_POLICY_WARNING: &str = "warning: no --witness-policy: the checkpoint is trusted on \
     the log's signature alone; a log that shows this job a forked history is caught only \
     against the checkpoint remembered in the state folder (see docs/witness.md)";

/// Reads the policy at `path` (or none: `quorum none`, with the warning on
/// stderr). A policy that lists logs must list `log_key`.
pub fn load(path: Option<&Path>, log_key: &VerifierKey) -> Result<WitnessPolicy, String> {
    let Some(path) = path else {
        eprintln!("{NO_POLICY_WARNING}");
        return Ok(WitnessPolicy::none());
    };
    let shown = path.display();
    let bytes = read_limited(path, MAX_POLICY_SIZE as u64 + 1)
        .map_err(|e| format!("--witness-policy {shown}: {e}"))?;
    let policy =
        WitnessPolicy::parse(&bytes).map_err(|e| format!("--witness-policy {shown}: {e}"))?;
    if !policy.admits_log(log_key) {
        return Err(format!(
            "--witness-policy {shown}: the policy lists logs, but not the --log-key {}",
            log_key.name()
        ));
    }
    if !policy.requires_witnesses() {
        eprintln!("{NO_POLICY_WARNING}");
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::keys::{SignatureType, SignerKey};

    #[test]
    fn a_policy_that_lists_other_logs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ours = SignerKey::from_seed("ours.example/log", SignatureType::Ed25519, &[1; 32])
            .unwrap()
            .verifier();
        let other = SignerKey::from_seed("other.example/log", SignatureType::Ed25519, &[2; 32])
            .unwrap()
            .verifier();
        let path = dir.path().join("policy");
        std::fs::write(&path, format!("log {other}\nquorum none\n")).unwrap();
        let e = load(Some(&path), &ours).unwrap_err();
        assert!(e.contains("not the --log-key ours.example/log"), "{e}");
        std::fs::write(&path, format!("log {ours}\nquorum none\n")).unwrap();
        assert!(!load(Some(&path), &ours).unwrap().requires_witnesses());
        std::fs::write(&path, "quorum nobody\n").unwrap();
        let e = load(Some(&path), &ours).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(load(Some(&dir.path().join("missing")), &ours).is_err());
    }
}
