//! The policy configuration: what a release must satisfy, and package patterns.

use crate::event::{DeviceKind, Publisher};
use serde::{Deserialize, Deserializer, Serialize};

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// What a release must satisfy. Deserializes from TOML (or JSON): every
/// field may be left out and takes its [`Default`] value; unknown fields
/// and malformed package patterns (see [`matches`](fn@matches)) are
/// refused, so a typo cannot silently weaken the policy.
///
/// ```toml
/// require_signing_device = true
/// allow_direct = ["left-*"]
/// skip = ["@internal/*"]
///
/// [[trusted_publishers]]
/// packages = "@acme/*"
/// issuer = "https://token.actions.githubusercontent.com"
/// repository = "acme/monorepo"
/// workflow = ".github/workflows/release.yml"
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// A publish must go through staging: `via: staged`, with `stage` and
    /// `approve` references to a logged stage and approval of the version.
    /// Default `true`.
    pub require_staging: bool,
    /// Approvals must come from signing devices (`webauthn`, `ed25519`);
    /// `totp` and `sms` are refused whatever `accept_totp` / `accept_sms`
    /// say. Default `false`.
    pub require_signing_device: bool,
    /// Accept approvals whose second factor is a TOTP code. Default `true`.
    pub accept_totp: bool,
    /// Accept approvals whose second factor is an SMS code (SIM swaps make
    /// these weak). Default `false`.
    pub accept_sms: bool,
    /// Package patterns that may publish without staging and approval, as
    /// if `require_staging` were `false` for them. Default empty.
    #[serde(deserialize_with = "de_patterns")]
    pub allow_direct: Vec<String>,
    /// CI identities allowed to stage packages. When at least one rule's
    /// pattern matches a package, the publisher of its stage must match
    /// one of those rules. Default empty (publishers are not checked).
    pub trusted_publishers: Vec<TrustedPublisherRule>,
    /// Package patterns not checked at all, e.g. private packages that are
    /// not in the log (like Go's `GONOSUMDB`). See [`Policy::skips`].
    /// Default empty.
    #[serde(deserialize_with = "de_patterns")]
    pub skip: Vec<String>,
}

impl Default for Policy {
    /// The strict default: staged, approved publishes only; device
    /// signatures checked for signing devices; TOTP accepted, SMS refused;
    /// no exceptions.
    fn default() -> Policy {
        Policy {
            require_staging: true,
            require_signing_device: false,
            accept_totp: true,
            accept_sms: false,
            allow_direct: Vec::new(),
            trusted_publishers: Vec::new(),
            skip: Vec::new(),
        }
    }
}

impl Policy {
    /// Whether `package` is opted out of checking by a [`Policy::skip`]
    /// pattern. The caller asks this *before* looking anything up, so that
    /// the names of private packages never reach the log; [`evaluate`](super::evaluate())
    /// itself judges whatever it is given and does not consult `skip`.
    pub fn skips(&self, package: &str) -> bool {
        any_match(&self.skip, package)
    }

    /// Whether `package` must go through staging and approval: the policy
    /// requires staging and no [`Policy::allow_direct`] pattern matches.
    pub fn requires_staging(&self, package: &str) -> bool {
        self.require_staging && !any_match(&self.allow_direct, package)
    }

    /// The trusted-publisher rules that apply to `package`.
    pub fn publisher_rules<'a>(
        &'a self,
        package: &'a str,
    ) -> impl Iterator<Item = &'a TrustedPublisherRule> + 'a {
        self.trusted_publishers
            .iter()
            .filter(move |rule| matches(&rule.packages, package))
    }

    /// Why approvals with a device of `kind` are refused, or `None` if the
    /// kind is acceptable.
    pub(super) fn refuses(&self, kind: DeviceKind) -> Option<&'static str> {
        match kind {
            DeviceKind::Webauthn | DeviceKind::Ed25519 => None,
            DeviceKind::Totp | DeviceKind::Sms if self.require_signing_device => {
                Some("the policy requires a signing device (require_signing_device)")
            }
            DeviceKind::Totp if !self.accept_totp => {
                Some("the policy does not accept TOTP (accept_totp = false)")
            }
            DeviceKind::Sms if !self.accept_sms => {
                Some("the policy does not accept SMS (accept_sms = false)")
            }
            DeviceKind::Totp | DeviceKind::Sms => None,
        }
    }
}

/// A CI identity allowed to stage the packages its pattern matches.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedPublisherRule {
    /// Package pattern the rule applies to (see [`matches`](fn@matches)).
    #[serde(deserialize_with = "de_pattern")]
    pub packages: String,
    /// OIDC issuer URL, compared exactly with the stage's
    /// `publisher.issuer`.
    pub issuer: String,
    /// Source repository, compared exactly with `publisher.repository`.
    pub repository: String,
    /// CI workflow, compared exactly with `publisher.workflow`; any
    /// workflow of the repository when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
}

impl TrustedPublisherRule {
    /// Whether `publisher` is the identity this rule names. Only OIDC
    /// publishers carry an issuer, so tokens and user sessions never match.
    pub fn allows(&self, publisher: &Publisher) -> bool {
        publisher.issuer.as_deref() == Some(self.issuer.as_str())
            && publisher.repository.as_deref() == Some(self.repository.as_str())
            && self
                .workflow
                .as_deref()
                .is_none_or(|w| publisher.workflow.as_deref() == Some(w))
    }
}

/// Whether package `name` matches `pattern`. A pattern is an exact name
/// (`left-pad`, `@acme/widget`) or contains `*` wildcards, each matching
/// any run of characters, possibly empty, `/` included: `@acme/*` matches
/// every package of the scope, `left-*` matches `left-pad` and `left-`,
/// and `*` alone matches everything. There are no other special
/// characters, and matching is case-sensitive, as npm names are:
/// `JSONStream` matches the legacy package `JSONStream`, not `jsonstream`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Where to resume after the last `*`: the pattern position after it and
    // the name position it has consumed up to.
    let mut resume: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                resume = Some((pi, ni));
            }
            Some(&c) if n.get(ni) == Some(&c) => {
                pi += 1;
                ni += 1;
            }
            _ => match resume {
                // Let the last `*` swallow one more character and retry.
                Some((after_star, consumed)) => {
                    pi = after_star;
                    ni = consumed + 1;
                    resume = Some((after_star, ni));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

pub(super) fn any_match(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| matches(p, name))
}

/// Why `pattern` cannot match any valid package name the way its author
/// meant, or `None` if it is well formed: non-empty, only the characters
/// the registry's names may hold, legacy names included
/// ([`PackageName`](crate::event::PackageName): `A-Z a-z 0-9 - . _ ~ ' ! ( )`)
/// plus the wildcard `*`, `@` only first, at most one `/`. A `*` is always
/// the wildcard, so a pattern for a legacy name holding `*` matches it too.
pub(super) fn pattern_problem(pattern: &str) -> Option<&'static str> {
    if pattern.is_empty() {
        return Some("is empty");
    }
    if !pattern.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.' | '_' | '~' | '\'' | '!' | '(' | ')' | '*' | '@' | '/'
            )
    }) {
        return Some("contains characters other than A-Z a-z 0-9 - . _ ~ ' ! ( ) * @ /");
    }
    if pattern.get(1..).is_some_and(|rest| rest.contains('@')) {
        return Some("has `@` other than as its first character");
    }
    if pattern.matches('/').count() > 1 {
        return Some("has more than one `/`");
    }
    None
}

fn de_pattern<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let pattern = String::deserialize(d)?;
    match pattern_problem(&pattern) {
        Some(problem) => Err(serde::de::Error::custom(format_args!(
            "package pattern {pattern:?} {problem}"
        ))),
        None => Ok(pattern),
    }
}

fn de_patterns<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let patterns = Vec::<String>::deserialize(d)?;
    for pattern in &patterns {
        if let Some(problem) = pattern_problem(pattern) {
            return Err(serde::de::Error::custom(format_args!(
                "package pattern {pattern:?} {problem}"
            )));
        }
    }
    Ok(patterns)
}
