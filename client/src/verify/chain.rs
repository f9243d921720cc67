//! Completeness of a release bundle: the package's `prev` chain.
//!
//! Every leaf names, as `prev`, the previous entry of the same (registry,
//! package). A bundle holds the package's entries from the version's first
//! event up to the package's latest one at the checkpoint (`chain.head`).
//! Walking `prev` from that head back to the version's first event needs
//! every entry on the way: an index the walk needs that the bundle lacks is
//! an event the log (or a mirror) left out, e.g. the `unpublish` of the
//! version or a later `policy-change`, and the release fails
//! (`omitted-event`). An entry of the package in that range that the walk
//! never reaches, or a head older than an entry the bundle holds, means the
//! chain itself is broken (`broken-chain`). When the log says it capped the
//! chain (`complete: false`), the part it did not send is named in a
//! warning (`incomplete-chain`) instead.
//!
//! What this cannot see: a log that claims an older head than its real one
//! (the events after it are then absent from the chain it shows), and the
//! device events of other packages. Monitors, which read every entry, catch
//! the first; the checkpoint freshness check bounds both to what the log had
//! signed when this state folder last verified it.

use std::collections::{BTreeMap, BTreeSet};

use gatelog_core::LeafIndex;

use super::finding;
use super::report::Finding;
use crate::logclient::Chain;

/// One entry of the release's (registry, package), checked.
pub(super) struct Link {
    /// Its index.
    pub index: LeafIndex,
    /// Its `prev`.
    pub prev: Option<LeafIndex>,
    /// Whether it is an event of the version judged.
    pub of_version: bool,
}

/// What the walk found: failures and warnings.
#[derive(Default)]
pub(super) struct Outcome {
    /// Omitted or unlinked entries.
    pub findings: Vec<Finding>,
    /// What was not checked.
    pub warnings: Vec<Finding>,
}

/// Walks the chain of `release` (named for messages) through `links`, the
/// bundle's entries of its registry and package that passed their checks.
/// `unusable` are indexes the bundle holds that failed their checks (their
/// findings are reported already). `chain` is what the log said; without it
/// (older logs and bundle files) the newest entry is taken as the head and
/// the chain must be complete.
pub(super) fn walk(
    release: &str,
    links: &[Link],
    unusable: &BTreeSet<LeafIndex>,
    chain: Option<Chain>,
) -> Outcome {
    let mut out = Outcome::default();
    let Some(first) = links.iter().filter(|l| l.of_version).map(|l| l.index).min() else {
        // Not logged: the policy says so.
        return out;
    };
    let by_index: BTreeMap<LeafIndex, Option<LeafIndex>> =
        links.iter().map(|l| (l.index, l.prev)).collect();
    let newest = by_index.keys().next_back().copied();
    let (claimed, complete) = match chain {
        Some(c) => (c.head, c.complete),
        None => (newest, true),
    };
    let head = if complete {
        let Some(head) = claimed else {
            out.findings.push(finding(
                "broken-chain",
                format!(
                    "the log says {release}'s package has no event, yet the bundle holds its entry #{first}"
                ),
                vec![first.0],
            ));
            return out;
        };
        head
    } else {
        // A capped chain: walk what was sent, from its newest entry, and
        // name what lies beyond it.
        let start = claimed
            .filter(|h| by_index.contains_key(h))
            .or(newest)
            .unwrap_or(first);
        if claimed != Some(start) {
            let latest = claimed.map_or("the package's latest entry".to_owned(), |h| {
                format!("the package's latest entry #{h}")
            });
            out.warnings.push(finding(
                "incomplete-chain",
                format!(
                    "not checked: the package's entries after #{start} up to {latest}; the log \
                     sent only part of the package's history (`complete: false`), so events \
                     left out there (an unpublish, a policy change) would go unseen"
                ),
                vec![start.0],
            ));
        }
        start
    };
    if let Some(newest) = newest.filter(|n| *n > head) {
        out.findings.push(finding(
            "broken-chain",
            format!(
                "the log names #{head} as the package's latest entry, but the bundle holds a later one, #{newest}"
            ),
            vec![head.0, newest.0],
        ));
        return out;
    }
    let mut visited: BTreeSet<LeafIndex> = BTreeSet::new();
    let mut cur = Some(head);
    let mut lowest_checked = head;
    while let Some(i) = cur.filter(|i| *i >= first) {
        if unusable.contains(&i) {
            // Failed already; nothing below it can be trusted to link.
            return out;
        }
        let Some(prev) = by_index.get(&i) else {
            let message = if i == head {
                format!("the package's latest entry #{head}")
            } else {
                format!("entry #{i}, the `prev` of entry #{lowest_checked}")
            };
            if complete {
                out.findings.push(finding(
                    "omitted-event",
                    format!(
                        "{message} is not in the bundle: the log left out an event of the \
                         package logged after {release}'s first event #{first}"
                    ),
                    vec![i.0],
                ));
            } else {
                out.warnings.push(finding(
                    "incomplete-chain",
                    format!(
                        "not checked: the package's entries from #{first} ({release}'s first \
                         event) to #{i} ({message}); the log sent only part of the package's \
                         history (`complete: false`), so events left out there would go unseen"
                    ),
                    vec![first.0, i.0],
                ));
            }
            return out;
        };
        if prev.is_some_and(|p| p >= i) {
            out.findings.push(finding(
                "broken-chain",
                format!("entry #{i} names a `prev` that is not before it"),
                vec![i.0],
            ));
            return out;
        }
        visited.insert(i);
        lowest_checked = i;
        cur = *prev;
    }
    let stray: Vec<u64> = by_index
        .keys()
        .filter(|i| **i >= first && **i <= head && !visited.contains(i))
        .map(|i| i.0)
        .collect();
    if !stray.is_empty() {
        out.findings.push(finding(
            "broken-chain",
            format!(
                "entries {} of the package are not on its `prev` chain from #{head}",
                stray
                    .iter()
                    .map(|i| format!("#{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            stray,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(spec: &[(u64, Option<u64>, bool)]) -> Vec<Link> {
        spec.iter()
            .map(|&(i, p, v)| Link {
                index: LeafIndex(i),
                prev: p.map(LeafIndex),
                of_version: v,
            })
            .collect()
    }

    fn chain(head: Option<u64>, complete: bool) -> Option<Chain> {
        Some(Chain {
            head: head.map(LeafIndex),
            complete,
        })
    }

    fn rules(o: &Outcome) -> (Vec<&str>, Vec<&str>) {
        (
            o.findings.iter().map(|f| f.rule.as_str()).collect(),
            o.warnings.iter().map(|f| f.rule.as_str()).collect(),
        )
    }

    #[test]
    fn a_whole_chain_passes_and_an_omitted_link_fails() {
        let none = BTreeSet::new();
        // 1, 2, 3: the version; 5: a later version; 7: the head.
        let whole = links(&[
            (1, Some(0), true),
            (2, Some(1), true),
            (3, Some(2), true),
            (5, Some(3), false),
            (7, Some(5), false),
        ]);
        let o = walk("a@1.0.0", &whole, &none, chain(Some(7), true));
        assert_eq!(rules(&o), (vec![], vec![]));
        assert_eq!(
            rules(&walk("a@1.0.0", &whole, &none, None)),
            (vec![], vec![])
        );
        // #5 left out: #7's prev is missing.
        let mut gap = links(&[(1, Some(0), true), (2, Some(1), true), (3, Some(2), true)]);
        gap.extend(links(&[(7, Some(5), false)]));
        let o = walk("a@1.0.0", &gap, &none, chain(Some(7), true));
        assert_eq!(rules(&o), (vec!["omitted-event"], vec![]));
        assert_eq!(o.findings[0].entries, vec![5]);
        // The head itself left out.
        let o = walk("a@1.0.0", &whole[..4], &none, chain(Some(7), true));
        assert_eq!(rules(&o), (vec!["omitted-event"], vec![]));
        // A capped chain warns instead.
        let o = walk("a@1.0.0", &gap, &none, chain(Some(7), false));
        assert_eq!(rules(&o), (vec![], vec!["incomplete-chain"]));
        // Capped, with the head not sent (or not named): what was sent is
        // walked from its newest entry, and the rest is named.
        let prefix = &whole[..4];
        for head in [Some(7), None] {
            let o = walk("a@1.0.0", prefix, &none, chain(head, false));
            assert_eq!(rules(&o), (vec![], vec!["incomplete-chain"]), "{head:?}");
            assert_eq!(o.warnings[0].entries, vec![5]);
        }
        // ... and a gap inside what was sent is still only unchecked.
        let holed = links(&[(1, Some(0), true), (2, Some(1), true), (5, Some(3), false)]);
        let o = walk("a@1.0.0", &holed, &none, chain(None, false));
        assert_eq!(
            rules(&o),
            (vec![], vec!["incomplete-chain", "incomplete-chain"])
        );
        // A failed entry on the way is reported by its own checks only.
        let bad: BTreeSet<LeafIndex> = [LeafIndex(5)].into();
        let o = walk("a@1.0.0", &gap, &bad, chain(Some(7), true));
        assert_eq!(rules(&o), (vec![], vec![]));
    }

    #[test]
    fn a_broken_chain_fails() {
        let none = BTreeSet::new();
        // #2 is not linked: #3 skips it.
        let skip = links(&[(1, None, true), (2, Some(1), true), (3, Some(1), true)]);
        let o = walk("a@1.0.0", &skip, &none, chain(Some(3), true));
        assert_eq!(rules(&o), (vec!["broken-chain"], vec![]));
        assert_eq!(o.findings[0].entries, vec![2]);
        // A head older than an entry held.
        let o = walk("a@1.0.0", &skip, &none, chain(Some(2), true));
        assert_eq!(rules(&o), (vec!["broken-chain"], vec![]));
        // No head at all.
        let o = walk("a@1.0.0", &skip, &none, chain(None, true));
        assert_eq!(rules(&o), (vec!["broken-chain"], vec![]));
        // A prev that points forward.
        let fwd = links(&[(1, Some(4), true)]);
        let o = walk("a@1.0.0", &fwd, &none, chain(Some(1), true));
        assert_eq!(rules(&o), (vec!["broken-chain"], vec![]));
        // Nothing of the version: left to the policy (not-logged).
        let other = links(&[(1, None, false)]);
        assert_eq!(
            rules(&walk("a@1.0.0", &other, &none, chain(Some(1), true))),
            (vec![], vec![])
        );
    }
}
