//! The commands that read the log: `checkpoint`, `proof`, `entry`, and
//! `submit` (which writes one event).

use super::*;

/// `gatelog checkpoint`.
pub(super) fn checkpoint(log: LogArgs, state_dir: Option<PathBuf>) -> Result<Exit, Failure> {
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

/// `gatelog proof inclusion|consistency`.
pub(super) fn proof(proof: ProofCommand) -> Result<Exit, Failure> {
    match proof {
        ProofCommand::Inclusion {
            index,
            leaf_hash,
            log,
        } => {
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
        ProofCommand::Consistency { old, log } => {
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
    }
}

/// `gatelog entry`.
pub(super) fn entry(index: u64, log: LogArgs) -> Result<Exit, Failure> {
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

/// `gatelog submit`.
pub(super) fn submit(
    event: PathBuf,
    registry_key_file: PathBuf,
    log: LogArgs,
) -> Result<Exit, Failure> {
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
