//! `gatelog-registry admin`: users, tokens and TOTP enrolment, written to
//! the store directly (with the registry stopped). These are not logged: a
//! TOTP device's `device-register` and a maintainer's `maintainer-add` are
//! logged for a package before their first use there. `policy-set` logs
//! its `policy-change` (with the registry's key) before it takes effect.

use std::path::Path;

use clap::Subcommand;

use crate::auth;
use crate::log::now_rfc3339;
use crate::store::{Store, TokenKind, TokenRecord, User};
use gatelog_core::event::Registry;

/// Admin commands.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a user.
    UserAdd {
        /// npm user name (lowercase letters, digits, `-`, `.`, `_`).
        name: String,
    },
    /// Create a token for a user; it is printed once and stored hashed.
    TokenCreate {
        /// The user.
        user: String,
        /// `publish` (stage, approve, reject, publish where allowed),
        /// `stage-only` (CI: stage only) or `read`.
        #[arg(long, value_parser = parse_kind)]
        kind: TokenKind,
    },
    /// Enrol a TOTP authenticator for a user (replacing any earlier one);
    /// prints the otpauth:// URI and the secret.
    TotpEnrol {
        /// The user.
        user: String,
    },
    /// Enrol an Ed25519 signing device for a user's approvals (`gatelog
    /// approve`); its key is logged (`device-register`) at its first use
    /// for a package.
    DeviceAdd {
        /// The user.
        user: String,
        /// The device's verifier key (`gatelog keygen --role device`); its
        /// name is the device id.
        #[arg(long, value_name = "VKEY")]
        key: String,
        /// A name for people, e.g. "laptop key".
        #[arg(long)]
        label: Option<String>,
    },
    /// Set whether a package's versions must be staged and approved; the
    /// change is logged (`policy-change`) before it takes effect, so the
    /// log must be up. `--origin`/`--listen` must name the registry as it
    /// serves.
    PolicySet {
        /// The package.
        package: String,
        /// `required` (a direct `npm publish` is refused) or `optional`.
        #[arg(long, value_parser = parse_staging, action = clap::ArgAction::Set, value_name = "required|optional")]
        staged_publishing: bool,
        /// The gatelog log's base URL.
        #[arg(long, env = "GATELOG_LOG")]
        log: String,
        /// The log's verifier key: its acknowledgement is checked.
        #[arg(long, env = "GATELOG_REGISTRY_LOG_KEY")]
        log_key: Option<String>,
    },
}

fn parse_staging(s: &str) -> Result<bool, String> {
    match s {
        "required" => Ok(true),
        "optional" => Ok(false),
        _ => Err(format!("{s:?}: expected required or optional")),
    }
}

fn parse_kind(s: &str) -> Result<TokenKind, String> {
    match s {
        "publish" => Ok(TokenKind::Publish),
        "stage-only" => Ok(TokenKind::StageOnly),
        "read" => Ok(TokenKind::Read),
        _ => Err(format!("{s:?}: expected publish, stage-only or read")),
    }
}

/// Whether `name` is a user name npm and the event schema accept.
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= gatelog_core::event::MAX_USER_NAME_LEN
        && !name.starts_with(['.', '_', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
}

fn open(data: &Path) -> Result<Store, String> {
    Store::open(data).map_err(|e| {
        format!(
            "opening {}: {e} (is the registry running? stop it for admin commands)",
            data.display()
        )
    })
}

fn user(store: &Store, name: &str) -> Result<User, String> {
    store
        .get::<User>(&format!("user/{name}"))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user {name}; create it with `admin user-add {name}`"))
}

/// Runs an admin command on the store in `data`; `registry` is the
/// registry's origin, for commands that log.
pub fn run(
    data: &Path,
    registry: Result<Registry, String>,
    command: AdminCommand,
) -> Result<(), String> {
    if let AdminCommand::PolicySet {
        package,
        staged_publishing,
        log,
        log_key,
    } = command
    {
        return policy_set(data, registry?, &package, staged_publishing, &log, log_key);
    }
    let store = open(data)?;
    match command {
        AdminCommand::PolicySet { .. } => unreachable!("handled above"),
        AdminCommand::UserAdd { name } => {
            if !valid_user_name(&name) {
                return Err(format!(
                    "{name:?} is not a valid user name (lowercase letters, digits, - . _)"
                ));
            }
            let key = format!("user/{name}");
            if store
                .get::<User>(&key)
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!("user {name} exists"));
            }
            let record = User {
                name: name.clone(),
                ..User::default()
            };
            store.put(&key, &record).map_err(|e| e.to_string())?;
            println!("created user {name}");
        }
        AdminCommand::TokenCreate { user: name, kind } => {
            user(&store, &name)?;
            let token = auth::new_token();
            let hash = auth::token_hash(&token);
            let record = TokenRecord {
                user: name.clone(),
                kind,
                id: hash[..12].to_owned(),
                created: now_rfc3339(),
                package: None,
                expires: None,
                oidc: None,
            };
            store
                .put(&format!("token/{hash}"), &record)
                .map_err(|e| e.to_string())?;
            eprintln!(
                "created a {} token {} for {name}; it is shown once:",
                kind.as_str(),
                record.id
            );
            println!("{token}");
        }
        AdminCommand::TotpEnrol { user: name } => {
            let mut record = user(&store, &name)?;
            let secret = auth::new_totp_secret();
            let uri = auth::otpauth_uri(&secret, &name)?;
            record.totp_secret = Some(secret.clone());
            record.last_otp_step = 0;
            record.otp_failures.clear();
            store
                .put(&format!("user/{name}"), &record)
                .map_err(|e| e.to_string())?;
            println!("otpauth uri: {uri}");
            println!("secret: {secret}");
        }
        AdminCommand::DeviceAdd {
            user: name,
            key,
            label,
        } => {
            let mut record = user(&store, &name)?;
            let key = gatelog_core::VerifierKey::parse(&key).map_err(|e| format!("--key: {e}"))?;
            if key.kind() != gatelog_core::SignatureType::Ed25519 {
                return Err("--key: a device key is an Ed25519 key".into());
            }
            let id = key.name().to_owned();
            if id == crate::app::TOTP_DEVICE || !valid_user_name(&id) {
                return Err(format!(
                    "{id:?} is not a usable device id (lowercase letters, digits, - . _; not {:?})",
                    crate::app::TOTP_DEVICE
                ));
            }
            use base64::Engine as _;
            let device = crate::device::SigningDevice {
                id: id.clone(),
                public_key: base64::engine::general_purpose::STANDARD.encode(key.key().as_bytes()),
                label,
            };
            if record.signing_devices.iter().any(|d| d.id == id) {
                return Err(format!("{name} already has a device {id}"));
            }
            record.signing_devices.push(device);
            store
                .put(&format!("user/{name}"), &record)
                .map_err(|e| e.to_string())?;
            println!("enrolled signing device {id} for {name}");
        }
    }
    Ok(())
}

/// `policy-set`: logs the package's new `policy-change` with the
/// registry's key, then stores it.
fn policy_set(
    data: &Path,
    registry: Registry,
    package: &str,
    required: bool,
    log_url: &str,
    log_key: Option<String>,
) -> Result<(), String> {
    let log_key = log_key
        .as_deref()
        .map(|k| gatelog_core::VerifierKey::parse(k.trim()).map_err(|e| format!("--log-key: {e}")))
        .transpose()?;
    let (key, _) = crate::log::load_or_create_key(data, &registry)?;
    let store = open(data)?;
    let log = crate::log::LogClient::new(
        log_url,
        key,
        registry,
        std::time::Duration::from_secs(30),
        log_key,
    );
    // The npm signing key and OIDC issuers are not used here.
    let signer = crate::signing::RegistrySigner::new(crate::signing::new_key());
    let oidc = crate::oidc::OidcVerifier::new(Vec::new(), None)?;
    let app = crate::app::App::new(store, log, signer, oidc);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio: {e}"))?;
    let changed = runtime
        .block_on(app.set_staging(package, required))
        .map_err(|e| format!("{package}: {} (nothing changed)", e.message))?;
    let policy = if required { "required" } else { "optional" };
    if changed {
        println!("logged policy-change: staged publishing of {package} is {policy}");
    } else {
        println!("staged publishing of {package} is already {policy}; nothing logged");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(valid_user_name("alice"));
        assert!(valid_user_name("ci-bot.2"));
        assert!(!valid_user_name("Alice"));
        assert!(!valid_user_name(""));
        assert!(!valid_user_name("-x"));
        assert!(!valid_user_name("a b"));
    }

    #[test]
    fn admin_creates_users_tokens_and_totp() {
        let dir = tempfile::tempdir().unwrap();
        run(
            dir.path(),
            Err("no registry".into()),
            AdminCommand::UserAdd {
                name: "alice".into(),
            },
        )
        .unwrap();
        assert!(
            run(
                dir.path(),
                Err("no registry".into()),
                AdminCommand::UserAdd {
                    name: "alice".into()
                }
            )
            .is_err()
        );
        run(
            dir.path(),
            Err("no registry".into()),
            AdminCommand::TokenCreate {
                user: "alice".into(),
                kind: TokenKind::StageOnly,
            },
        )
        .unwrap();
        assert!(
            run(
                dir.path(),
                Err("no registry".into()),
                AdminCommand::TokenCreate {
                    user: "bob".into(),
                    kind: TokenKind::Read,
                },
            )
            .is_err()
        );
        run(
            dir.path(),
            Err("no registry".into()),
            AdminCommand::TotpEnrol {
                user: "alice".into(),
            },
        )
        .unwrap();
        let store = Store::open(dir.path()).unwrap();
        let alice: User = store.get("user/alice").unwrap().unwrap();
        assert!(alice.totp_secret.is_some());
        let tokens: Vec<TokenRecord> = store.scan("token/").unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].kind, TokenKind::StageOnly);
    }
}
