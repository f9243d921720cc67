//! The verdict on one release: its registry's entries only, the package's
//! chain, then the shared policy.

use std::collections::BTreeSet;

use gatelog_core::event::PackageName;
use gatelog_core::policy;

use super::chain::{self, Link};
use super::entries::{Checked, Distinct};
use super::finding;
use super::report::Finding;
use crate::logclient::FetchedRelease;

/// Findings (the release fails) and warnings (what was not checked).
pub(super) type Verdict = (Vec<Finding>, Vec<Finding>);

/// Applies the chain walk and the policy to one release whose entries were
/// checked. Only entries whose event names `registry` (a normalised host)
/// count: another registry's events, valid or not, are ignored, so they
/// can neither fail nor launder a release.
pub(super) fn judge(
    policy: &policy::Policy,
    checked: &Distinct<'_, Option<Checked>>,
    registry: &str,
    release: &FetchedRelease,
    expected: Option<&gatelog_core::Integrity>,
    yarn_berry: bool,
) -> Verdict {
    let mut findings = Vec::new();
    let (Ok(package), Ok(version)) = (
        PackageName::parse(&release.package),
        semver::Version::parse(&release.version),
    ) else {
        findings.push(finding(
            "not-logged",
            "not a valid npm package name and version",
            vec![],
        ));
        return (findings, Vec::new());
    };
    let mut events = Vec::new();
    let mut links = Vec::new();
    let mut unusable = BTreeSet::new();
    for e in &release.entries {
        let Some(Some(c)) = checked.get(e) else {
            continue;
        };
        if c.registry.as_deref().is_some_and(|r| r != registry) {
            continue;
        }
        match &c.result {
            Ok(event) => {
                if event.event.package == package {
                    links.push(Link {
                        index: event.index,
                        prev: c.prev,
                        of_version: event.event.version() == Some(&version),
                    });
                }
                events.push(event.clone());
            }
            Err(f) => {
                unusable.insert(e.index);
                findings.push(f.clone());
            }
        }
    }
    links.sort_by_key(|l| l.index);
    links.dedup_by_key(|l| l.index);
    let walked = chain::walk(
        &format!("{package}@{version}"),
        &links,
        &unusable,
        release.chain,
    );
    findings.extend(walked.findings);
    let mut warnings = walked.warnings;
    // Without a sha512 digest the tarball npm installs cannot be tied to
    // the logged one, however well the release checks out. Yarn Berry's
    // lockfile can hold none (its `checksum` hashes Yarn's zip, not the
    // tarball): the release is checked, the tarball comparison is not.
    if expected.is_none() && yarn_berry {
        warnings.push(finding(
            "yarn-checksum",
            "Yarn Berry's lockfile pins Yarn's own zip checksum, not the tarball's sha512: the \
             release was checked, but the tarball Yarn installs was not compared with the logged \
             digest (see docs/client.md, Yarn Berry)",
            vec![],
        ));
    } else if expected.is_none() {
        findings.push(finding(
            "no-integrity",
            "the lockfile pins no sha512 integrity, so the installed tarball cannot be \
             compared with the logged digest",
            vec![],
        ));
    }
    let verdict = policy::evaluate(policy, &package, &version, expected, &events);
    findings.extend(verdict.findings.into_iter().map(|f| Finding {
        rule: f.rule.as_str().to_owned(),
        message: f.message,
        entries: f.evidence.iter().map(|i| i.0).collect(),
    }));
    (findings, warnings)
}
