//! Which witnesses must cosign a checkpoint before it is believed: the
//! c2sp.org/tlog-policy file format and its quorum rule.
//!
//! A policy lists logs (`log <vkey> [<url>]`), witnesses (`witness <name>
//! <vkey> [<url>]`), groups (`group <name> all|any|<k> <member>...`) and
//! exactly one `quorum <name>` (`quorum none` needs no cosignature). The
//! client and the monitor check a checkpoint's cosignatures against it; the
//! log server asks the witnesses that have a URL to cosign.
//!
//! Strict, as the spec asks: names are defined before use, each member is
//! listed once per group, duplicate keys are refused, and every error names
//! its line. Out of scope: fetching anything (URLs are only carried).

use std::collections::HashMap;

use crate::cosignature::CosignatureVerifier;
use crate::keys::{SignatureType, VerifierKey};
use crate::note::Note;

/// Largest policy file read (the spec's suggested limits fit easily).
pub const MAX_POLICY_SIZE: usize = 64 * 1024;

/// Most logs, witnesses and groups each (the spec recommends supporting 32).
pub const MAX_ITEMS: usize = 256;

/// A policy line that could not be read, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("witness policy line {line}: {reason}")]
pub struct PolicyError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Why a checkpoint's cosignatures do not satisfy the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumError {
    /// A cosignature claiming to be from a listed witness does not verify.
    #[error("the cosignature of witness {0} does not verify over this checkpoint")]
    InvalidCosignature(String),
    /// Too few valid cosignatures.
    #[error(
        "witness quorum not met: {needed}; valid cosignatures from: {}",
        if .cosigned.is_empty() { "none".to_owned() } else { .cosigned.join(", ") }
    )]
    NotMet {
        /// The quorum rule, in words.
        needed: String,
        /// Policy names of the witnesses whose cosignatures verified.
        cosigned: Vec<String>,
    },
}

/// A witness of the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The policy's name for it.
    pub name: String,
    /// Its cosignature key.
    pub key: CosignatureVerifier,
    /// Its submission prefix, if given.
    pub url: Option<String>,
}

/// A log of the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// Its checkpoint key (named after its origin).
    pub key: VerifierKey,
    /// Its URL, if given.
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed c2sp.org/tlog-policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<Witness>,
    groups: Vec<Group>,
    quorum: Option<Member>,
}

/// The result of a met quorum: which witnesses cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// Policy names of the witnesses whose cosignatures verified.
    pub cosigned: Vec<String>,
}

fn err(line: usize, reason: impl Into<String>) -> PolicyError {
    PolicyError {
        line,
        reason: reason.into(),
    }
}

impl WitnessPolicy {
    /// A policy that needs no cosignature (`quorum none`).
    pub fn none() -> WitnessPolicy {
        WitnessPolicy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        }
    }

    /// Parses a policy file.
    pub fn parse(bytes: &[u8]) -> Result<WitnessPolicy, PolicyError> {
        if bytes.len() > MAX_POLICY_SIZE {
            return Err(err(0, format!("larger than {MAX_POLICY_SIZE} bytes")));
        }
        if let Some(b) = bytes
            .iter()
            .find(|&&b| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f)
        {
            let line = 1 + bytes
                .iter()
                .take_while(|&&c| c != *b)
                .filter(|&&c| c == b'\n')
                .count();
            return Err(err(line, format!("control character 0x{b:02x}")));
        }
        // Keys and names are ASCII in practice; other octets are opaque and
        // kept as they are (lossy only for invalid UTF-8, which then fails
        // to match any key name).
        let text = String::from_utf8_lossy(bytes);
        let mut policy = WitnessPolicy::none();
        let mut names: HashMap<String, Member> = HashMap::new();
        let mut quorum_seen = false;
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            let words: Vec<&str> = raw.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some(&keyword) = words.first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            match keyword {
                "log" => policy.parse_log(n, &words[1..])?,
                "witness" => {
                    let (name, w) = parse_witness(n, &words[1..])?;
                    define(
                        &mut names,
                        n,
                        &name,
                        Member::Witness(policy.witnesses.len()),
                    )?;
                    if policy
                        .witnesses
                        .iter()
                        .any(|o| o.key.key().key() == w.key.key().key())
                    {
                        return Err(err(n, "the same witness key is listed twice"));
                    }
                    policy.witnesses.push(w);
                }
                "group" => {
                    let group = parse_group(n, &words[1..], &names)?;
                    define(
                        &mut names,
                        n,
                        &group.name,
                        Member::Group(policy.groups.len()),
                    )?;
                    policy.groups.push(group);
                }
                "quorum" => {
                    if quorum_seen {
                        return Err(err(n, "a second quorum line"));
                    }
                    quorum_seen = true;
                    let [name] = words[1..] else {
                        return Err(err(n, "expected `quorum <name>`"));
                    };
                    policy.quorum = if name == "none" {
                        None
                    } else {
                        Some(*names.get(name).ok_or_else(|| {
                            err(n, format!("`{name}` is not defined on an earlier line"))
                        })?)
                    };
                }
                other => return Err(err(n, format!("unknown keyword `{other}`"))),
            }
            if policy.logs.len() > MAX_ITEMS
                || policy.witnesses.len() > MAX_ITEMS
                || policy.groups.len() > MAX_ITEMS
            {
                return Err(err(n, format!("more than {MAX_ITEMS} of one kind")));
            }
        }
        if !quorum_seen {
            return Err(err(
                0,
                "no quorum line (write `quorum none` to need no witness)",
            ));
        }
        Ok(policy)
    }

    fn parse_log(&mut self, n: usize, args: &[&str]) -> Result<(), PolicyError> {
        let (key, url) = match args {
            [key] => (key, None),
            [key, url] => (key, Some((*url).to_owned())),
            _ => return Err(err(n, "expected `log <vkey> [<url>]`")),
        };
        let key = VerifierKey::parse(key).map_err(|e| err(n, format!("log key: {e}")))?;
        if key.kind() != SignatureType::Ed25519 {
            return Err(err(n, "a log key must be an Ed25519 checkpoint key"));
        }
        if self.logs.iter().any(|l| l.key.key() == key.key()) {
            return Err(err(n, "the same log key is listed twice"));
        }
        self.logs.push(PolicyLog { key, url });
        Ok(())
    }

    /// The logs listed (may be empty: the log is then known from elsewhere).
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// Whether `key` may be checked against this policy: it lists no logs
    /// (the log is known from elsewhere), or it lists that key.
    pub fn admits_log(&self, key: &VerifierKey) -> bool {
        self.logs.is_empty() || self.logs.iter().any(|l| l.key.key() == key.key())
    }

    /// The witnesses listed.
    pub fn witnesses(&self) -> &[Witness] {
        &self.witnesses
    }

    /// True when the quorum needs at least one cosignature.
    pub fn requires_witnesses(&self) -> bool {
        self.quorum.is_some()
    }

    /// The quorum rule in words, e.g. `2 of (w1, w2, w3)`.
    pub fn describe(&self) -> String {
        match self.quorum {
            None => "none".to_owned(),
            Some(m) => self.describe_member(m),
        }
    }

    fn describe_member(&self, m: Member) -> String {
        match m {
            Member::Witness(i) => self.witnesses[i].name.clone(),
            Member::Group(g) => {
                let group = &self.groups[g];
                let members: Vec<String> = group
                    .members
                    .iter()
                    .map(|&m| self.describe_member(m))
                    .collect();
                format!("{} of ({})", group.threshold, members.join(", "))
            }
        }
    }

    /// Checks the cosignatures of a checkpoint note: each one that claims a
    /// listed witness (by key name and ID) must verify, and the verified
    /// ones must meet the quorum. Other signature lines are ignored.
    pub fn check(&self, note: &Note) -> Result<Witnessed, QuorumError> {
        let mut signed = vec![false; self.witnesses.len()];
        for sig in &note.signatures {
            let Some(i) = self
                .witnesses
                .iter()
                .position(|w| w.key.key().name() == sig.name && w.key.key().id() == sig.key_id)
            else {
                continue;
            };
            if w_verify(&self.witnesses[i], &note.text, &sig.signature) {
                signed[i] = true;
            } else {
                return Err(QuorumError::InvalidCosignature(
                    self.witnesses[i].name.clone(),
                ));
            }
        }
        let cosigned: Vec<String> = self
            .witnesses
            .iter()
            .zip(&signed)
            .filter(|(_, s)| **s)
            .map(|(w, _)| w.name.clone())
            .collect();
        match self.quorum {
            Some(m) if !self.met(m, &signed) => Err(QuorumError::NotMet {
                needed: self.describe(),
                cosigned,
            }),
            _ => Ok(Witnessed { cosigned }),
        }
    }

    fn met(&self, m: Member, signed: &[bool]) -> bool {
        match m {
            Member::Witness(i) => signed[i],
            Member::Group(g) => {
                let group = &self.groups[g];
                let count = group
                    .members
                    .iter()
                    .filter(|&&m| self.met(m, signed))
                    .count();
                count >= group.threshold
            }
        }
    }
}

fn w_verify(w: &Witness, text: &str, signature: &[u8]) -> bool {
    w.key.verified_timestamp(text, signature).is_some()
}

fn define(
    names: &mut HashMap<String, Member>,
    n: usize,
    name: &str,
    what: Member,
) -> Result<(), PolicyError> {
    if name == "none" {
        return Err(err(n, "`none` is reserved"));
    }
    if names.insert(name.to_owned(), what).is_some() {
        return Err(err(n, format!("`{name}` is defined twice")));
    }
    Ok(())
}

fn parse_witness(n: usize, args: &[&str]) -> Result<(String, Witness), PolicyError> {
    let (name, key, url) = match args {
        [name, key] => (name, key, None),
        [name, key, url] => (name, key, Some((*url).to_owned())),
        _ => return Err(err(n, "expected `witness <name> <vkey> [<url>]`")),
    };
    let key = VerifierKey::parse(key).map_err(|e| err(n, format!("witness key: {e}")))?;
    let key = CosignatureVerifier::new(key)
        .ok_or_else(|| err(n, "a witness key must be a cosignature/v1 key (type 0x04)"))?;
    let name = (*name).to_owned();
    Ok((name.clone(), Witness { name, key, url }))
}

fn parse_group(
    n: usize,
    args: &[&str],
    names: &HashMap<String, Member>,
) -> Result<Group, PolicyError> {
    let [name, threshold, members @ ..] = args else {
        return Err(err(n, "expected `group <name> all|any|<k> <member>...`"));
    };
    if members.is_empty() {
        return Err(err(n, "a group needs at least one member"));
    }
    let mut resolved = Vec::with_capacity(members.len());
    for m in members {
        if *m == "none" {
            return Err(err(n, "`none` cannot be a group member"));
        }
        let member = *names
            .get(*m)
            .ok_or_else(|| err(n, format!("`{m}` is not defined on an earlier line")))?;
        if resolved.contains(&member) {
            return Err(err(n, format!("`{m}` is listed twice")));
        }
        resolved.push(member);
    }
    let threshold = match *threshold {
        "all" => resolved.len(),
        "any" => 1,
        k => crate::witness::parse_size(k)
            .and_then(|k| usize::try_from(k).ok())
            .filter(|k| (1..=resolved.len()).contains(k))
            .ok_or_else(|| {
                err(
                    n,
                    format!("threshold `{k}` must be all, any or 1..={}", resolved.len()),
                )
            })?,
    };
    Ok(Group {
        name: (*name).to_owned(),
        threshold,
        members: resolved,
    })
}

#[cfg(test)]
#[path = "witness_policy_tests.rs"]
mod tests;
