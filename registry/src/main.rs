//! `gatelog-registry`: an npm-compatible registry with staged publishing
//! (`npm stage publish` / `npm stage approve`) that logs every stage,
//! approval, rejection, publish, maintainer and device change to a gatelog
//! log before it takes effect. See docs/registry.md.
//!
//! ```text
//! gatelog-registry --data ./registry-data --log http://127.0.0.1:8080   # serve
//! gatelog-registry key --data ./registry-data                            # print the verifier key
//! gatelog-registry admin --data ./registry-data user-add alice            # users, tokens, TOTP
//! ```

mod admin;
mod app;
mod auth;
mod device;
mod error;
mod http;
mod log;
mod meta;
mod oidc;
mod policy;
mod publish_doc;
mod signing;
mod store;
mod trust;
mod trusted;
mod uplink;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gatelog_core::event::Registry;

/// Command line.
#[derive(Parser)]
#[command(
    name = "gatelog-registry",
    version,
    about = "An npm registry with staged publishing, logged to gatelog"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Where the registry keeps its data and who it is.
#[derive(Args, Clone)]
struct Common {
    /// Data folder (RocksDB, tarballs, the registry key).
    #[arg(
        long,
        default_value = "./registry-data",
        env = "GATELOG_REGISTRY_DATA",
        global = true
    )]
    data: PathBuf,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:4873", global = true)]
    listen: SocketAddr,
    /// The registry's public origin (`http(s)://host[:port]`), as npm
    /// users configure it; its host names the registry's key. Default:
    /// `http://<listen>`.
    #[arg(long, global = true)]
    origin: Option<String>,
}

impl Common {
    fn registry(&self) -> Result<Registry, String> {
        let origin = self
            .origin
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        Registry::parse(&origin).map_err(|e| format!("--origin {origin}: {e}"))
    }
}

/// Serving flags.
#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// The gatelog log's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "GATELOG_LOG")]
    log: String,
    /// Largest request body, in bytes (a publish document carries the
    /// tarball in base64).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_body_bytes: usize,
    /// How long to wait for the log's acknowledgement, in seconds.
    #[arg(long, default_value_t = 30)]
    log_timeout_secs: u64,
    /// The ECDSA P-256 key (PKCS#8 PEM) that signs `dist.signatures`;
    /// its public half is served at `/-/npm/v1/keys`. Default:
    /// `<data>/signing-key.pem`, created on first start.
    #[arg(long, env = "GATELOG_REGISTRY_SIGNING_KEY")]
    signing_key: Option<PathBuf>,
    /// The log's verifier key (`<origin>+<hash>+<base64>`): every
    /// acknowledgement's checkpoint signature and inclusion proof are
    /// checked against it, and one that fails is refused (`503`, nothing
    /// changes, a retry is logged once).
    #[arg(long, env = "GATELOG_REGISTRY_LOG_KEY")]
    log_key: Option<String>,
    /// An OIDC issuer whose ID tokens trusted publishing accepts,
    /// `[github=|gitlab=]https://…` (repeatable). Default: GitHub Actions'
    /// `https://token.actions.githubusercontent.com` and
    /// `gitlab=https://gitlab.com`.
    #[arg(long = "oidc-issuer", value_parser = oidc::parse_issuer)]
    oidc_issuers: Vec<oidc::Issuer>,
    /// A CA certificate (PEM) trusted, besides the usual roots, when
    /// fetching the issuers' keys (an issuer behind a private CA).
    #[arg(long)]
    oidc_ca_cert: Option<PathBuf>,
    /// Another npm registry to read through for packages not owned here
    /// (their packuments and tarballs are fetched, served and cached, each
    /// version's integrity recorded when first served). Off by default.
    #[arg(long, value_name = "URL")]
    uplink: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the registry's verifier key (creating the key if needed), for
    /// the log's `--submitter-key`.
    Key,
    /// Manage users, tokens and TOTP devices (the registry must be stopped:
    /// the store has one writer).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Key) => print_key(&cli.serve.common),
        Some(Command::Admin { command }) => {
            admin::run(&cli.serve.common.data, cli.serve.common.registry(), command)
        }
        None => serve(cli.serve),
    };
    if let Err(e) = result {
        eprintln!("gatelog-registry: {e}");
        std::process::exit(1);
    }
}

fn print_key(common: &Common) -> Result<(), String> {
    let registry = common.registry()?;
    let (key, _) = log::load_or_create_key(&common.data, &registry)?;
    println!("{}", key.verifier());
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let log_key = args
        .log_key
        .as_deref()
        .map(|k| gatelog_core::VerifierKey::parse(k.trim()).map_err(|e| format!("--log-key: {e}")))
        .transpose()?;
    let registry = args.common.registry()?;
    let (key, created) = log::load_or_create_key(&args.common.data, &registry)?;
    let (signer, signer_created) = match &args.signing_key {
        Some(path) => signing::RegistrySigner::load_or_create(path, false)?,
        None => signing::RegistrySigner::load_or_create(
            &args.common.data.join("signing-key.pem"),
            true,
        )?,
    };
    let store = store::Store::open(&args.common.data)
        .map_err(|e| format!("opening {}: {e}", args.common.data.display()))?;
    if created {
        println!(
            "created the registry key in {}",
            args.common.data.join("registry.key").display()
        );
    }
    if signer_created {
        println!(
            "created the npm signing key in {}",
            args.common.data.join("signing-key.pem").display()
        );
    }
    println!("registry: {registry}");
    println!("npm signing key: {}", signer.keyid());
    println!("verifier key: {}", key.verifier());
    println!(
        "the log must allowlist it: gatelog-server --submitter-key '{}'",
        key.verifier()
    );
    println!("logging to {}", args.log);
    match &log_key {
        Some(k) => println!("checking the log's acknowledgements against {k}"),
        None => println!("not checking the log's acknowledgements (no --log-key)"),
    }
    let log = log::LogClient::new(
        &args.log,
        key,
        registry,
        Duration::from_secs(args.log_timeout_secs),
        log_key,
    );
    let issuers = if args.oidc_issuers.is_empty() {
        oidc::DEFAULT_ISSUERS
            .iter()
            .map(|(provider, url)| oidc::Issuer {
                provider: *provider,
                url: (*url).to_owned(),
            })
            .collect()
    } else {
        args.oidc_issuers.clone()
    };
    for issuer in &issuers {
        println!(
            "trusted publishing: {} ID tokens from {}",
            issuer.provider.as_str(),
            issuer.url
        );
    }
    let oidc = oidc::OidcVerifier::new(issuers, args.oidc_ca_cert.as_deref())
        .map_err(|e| format!("--oidc-ca-cert: {e}"))?;
    let mut app = app::App::new(store, log, signer, oidc);
    if let Some(url) = &args.uplink {
        app.uplink = Some(uplink::Uplink::new(url, Duration::from_secs(30))?);
        println!("reading through to {url} for packages not owned here");
    }
    let app = Arc::new(app);
    let router = http::router(app, args.max_body_bytes);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.common.listen)
            .await
            .map_err(|e| format!("listening on {}: {e}", args.common.listen))?;
        println!("listening on http://{}", args.common.listen);
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| format!("serving: {e}"))
    })
}
