//! `gatelog verify` (a lockfile against the log) and `gatelog bundle` (the
//! evidence for `--offline`).

use super::*;

/// Verify every package of a lockfile against the log.
#[derive(Args, Debug)]
pub(super) struct VerifyArgs {
    /// package-lock.json / npm-shrinkwrap.json, or the folder holding it.
    #[arg(long, default_value = ".")]
    pub(super) lockfile: PathBuf,
    #[command(flatten)]
    pub(super) log: LogArgs,
    /// Policy file (TOML); see docs/client.md.
    #[arg(long)]
    pub(super) policy: Option<PathBuf>,
    /// Accepted registry key (repeatable; adds to the policy file's).
    #[arg(long = "registry-key", value_name = "VKEY")]
    pub(super) registry_keys: Vec<String>,
    #[command(flatten)]
    pub(super) registry: RegistryArg,
    /// Folder keeping the last verified checkpoint per log.
    #[arg(long, env = "GATELOG_STATE_DIR")]
    pub(super) state_dir: Option<PathBuf>,
    /// Do not read or update the state folder.
    #[arg(long, conflicts_with = "state_dir")]
    pub(super) no_state: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub(super) format: Format,
    /// Verify from an offline bundle (`gatelog bundle`) instead of the network.
    #[arg(long, value_name = "BUNDLE")]
    pub(super) offline: Option<PathBuf>,
    /// Opt a package pattern out of verification (repeatable), e.g. '@internal/*'.
    #[arg(long = "allow", value_name = "PATTERN")]
    pub(super) allow: Vec<String>,
    #[command(flatten)]
    pub(super) install: InstallArgs,
    /// A c2sp.org/tlog-policy file: the witnesses that must cosign the
    /// checkpoint (k of n); see docs/witness.md.
    #[arg(long, env = "GATELOG_WITNESS_POLICY", value_name = "FILE")]
    pub(super) witness_policy: Option<PathBuf>,
}

/// Write an offline proof bundle for a lockfile.
#[derive(Args, Debug)]
pub(super) struct BundleArgs {
    /// The lockfile or its folder.
    #[arg(long, default_value = ".")]
    pub(super) lockfile: PathBuf,
    #[command(flatten)]
    pub(super) log: LogArgs,
    #[command(flatten)]
    pub(super) registry: RegistryArg,
    /// Output file.
    #[arg(long)]
    pub(super) out: PathBuf,
}

/// `gatelog verify`.
pub(super) fn verify(args: VerifyArgs) -> Result<Exit, Failure> {
    let VerifyArgs {
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
    } = args;
    let loaded = match &policy {
        Some(p) => PolicyFile::load(p).map_err(usage)?,
        None => Default::default(),
    };
    let install = install.over(loaded.install);
    let registry = registry.host(loaded.registry)?;
    let (policy, mut keys) = (loaded.policy, loaded.keys);
    for k in &registry_keys {
        keys.push(VerifierKey::parse(k).map_err(|e| usage(format!("--registry-key {k:?}: {e}")))?);
    }
    if keys.is_empty() {
        return Err(usage(
            "no registry keys: pass --registry-key or list `registries` in the policy file",
        ));
    }
    let log_key = VerifierKey::parse(&log.log_key).map_err(|e| usage(format!("--log-key: {e}")))?;
    let witnesses = crate::witnesses::load(witness_policy.as_deref(), &log_key).map_err(usage)?;
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

/// `gatelog bundle`.
pub(super) fn bundle(args: BundleArgs) -> Result<Exit, Failure> {
    let BundleArgs {
        lockfile,
        log,
        registry,
        out,
    } = args;
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
    let fetched =
        runtime()?.block_on(client.fetch_bundles(&wanted, verify::bundle_chunk(wanted.len())))?;
    let bytes = verify::offline::write(key.name(), &fetched);
    std::fs::write(&out, bytes)
        .map_err(|e| Failure(Exit::Undecided, format!("{}: {e}", out.display())))?;
    eprintln!("wrote {} releases to {}", fetched.len(), out.display());
    Ok(Exit::Ok)
}
