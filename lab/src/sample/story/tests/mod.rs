//! Tests of the story: every step is a valid, signed event whose references
//! hold; chapters list their expected rules consistently; honest releases
//! pass `gatelog verify`'s policy and attacked ones fail as documented; the
//! static log of the story is what a tiles reader accepts. That each
//! chapter fires exactly its expected rules is the monitor's test
//! (`monitor/tests/one_judge.rs`, and `tests/golden.rs` over HTTP): its
//! per-release rules are the shared judge's.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::sample::static_log::tests::check_files;
use gatelog_core::dsse::Keyring;
use gatelog_core::event::{Event, EventBody, PackageName};
use gatelog_core::hash::leaf_hash;
use gatelog_core::leaf::Leaf;
use gatelog_core::policy::{LoggedEvent, Policy, evaluate};
use gatelog_core::tree::TreeSize;

/// The entry at `index`.
fn at(entries: &[LoggedEvent], index: LeafIndex) -> &LoggedEvent {
    &entries[usize::try_from(index.0).unwrap()]
}

/// Plays the whole story into a static log, keeping the steps.
fn play() -> (StaticLog, Story, Vec<Step>) {
    let mut story = Story::new();
    let mut log = StaticLog::new(STORY_LOG_ORIGIN, STORY_LOG_KEY_SEED);
    let mut steps = Vec::new();
    while let Some(step) = story.next_step() {
        let (index, hash) = log.append(&step.envelope, step.time as u64 * 1000);
        story.logged(index, hash);
        steps.push(step);
    }
    (log, story, steps)
}

/// The log's entries as a verifier sees them, after checking each leaf
/// parses and its envelope carries the registry's signature.
fn entries(log: &StaticLog, story: &Story) -> Vec<LoggedEvent> {
    let ring = Keyring::new([*story.registry().verifier_key().key()]);
    log.leaves()
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let leaf = Leaf::parse(bytes).unwrap();
            leaf.envelope().verify(&ring).unwrap();
            LoggedEvent {
                index: LeafIndex(i as u64),
                leaf_hash: leaf_hash(bytes),
                event: Event::from_envelope(leaf.envelope()).unwrap(),
            }
        })
        .collect()
}

#[test]
fn story_log_is_the_story_played_into_a_static_log() {
    let (log, story, steps) = play();
    let (again, _) = story_log();
    assert_eq!(log.files(), again.files());
    assert_eq!(steps.len(), story.len());
    assert_eq!(log.size(), TreeSize(steps.len() as u64));
    // More than one tile: the golden log has full and partial tiles.
    assert!(log.size().0 > 256, "{}", log.size());
    check_files(&log);
    assert_eq!(
        story.registry().origin,
        format!("https://{STORY_REGISTRY_HOST}")
    );
}

#[test]
fn steps_are_valid_events_in_time_order_whose_references_hold() {
    let (log, story, steps) = play();
    let entries = entries(&log, &story);
    let mut last = i64::MIN;
    for (step, entry) in steps.iter().zip(&entries) {
        assert_eq!(Event::from_envelope(&step.envelope).unwrap(), entry.event);
        assert!(step.time >= last, "{}", step.note);
        assert_eq!(entry.event.time.get().unix_timestamp(), step.time);
        last = step.time;
        assert!(!step.note.is_empty() && !step.note.contains('\n'));
        for (field, target) in entry.event.references() {
            assert!(target < entry.index, "{}", step.note);
            let referenced = at(&entries, target);
            entry
                .event
                .check_reference(field, &referenced.event)
                .unwrap();
            assert_eq!(referenced.event.version(), entry.event.version());
        }
    }
    // Each package's entries chain through `prev`.
    let mut heads: BTreeMap<String, LeafIndex> = BTreeMap::new();
    for (bytes, entry) in log.leaves().iter().zip(&entries) {
        let package = entry.event.package.to_string();
        assert_eq!(
            Leaf::parse(bytes).unwrap().prev(),
            heads.get(&package).copied()
        );
        heads.insert(package, entry.index);
    }
}

#[test]
fn device_signatures_verify_except_the_forged_one() {
    let (log, story, steps) = play();
    let entries = entries(&log, &story);
    let mut checked = 0;
    for (step, entry) in steps.iter().zip(&entries) {
        let EventBody::Approve(approve) = &entry.event.body else {
            continue;
        };
        if approve.device_signature.is_none() {
            continue;
        }
        // The key its latest registration logged; none for a device that
        // was never registered.
        let key = entries[..entry.index.0 as usize]
            .iter()
            .rev()
            .find_map(|e| match &e.event.body {
                EventBody::DeviceRegister(c)
                    if c.maintainer == approve.maintainer && c.device.id == approve.device.id =>
                {
                    Some(c.device.public_key.unwrap())
                }
                _ => None,
            });
        let Some(key) = key else {
            assert_eq!(approve.device.id, "totp-spare");
            continue;
        };
        let stage = at(&entries, approve.stage);
        let verified =
            approve.verify_device_signature(&entry.event.package, &stage.leaf_hash, &key);
        assert_eq!(
            verified.is_err(),
            step.refused_by_honest_log,
            "{}",
            step.note
        );
        checked += 1;
    }
    let refused: Vec<&Step> = steps.iter().filter(|s| s.refused_by_honest_log).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        story.chapters()[refused[0].chapter].expected_rules,
        ["bad-device-signature"]
    );
    assert!(checked > 30, "{checked}");
}

#[test]
fn chapters_list_their_expected_rules_consistently() {
    let (_, story, _) = play();
    let mut all = BTreeSet::new();
    for chapter in story.chapters() {
        let want: BTreeSet<&str> = chapter.expected_rules.iter().copied().collect();
        assert_eq!(
            want.len(),
            chapter.expected_rules.len(),
            "{}",
            chapter.title
        );
        assert!(chapter.expected_rules.is_sorted(), "{}", chapter.title);
        assert_eq!(chapter.attack, !want.is_empty(), "{}", chapter.title);
        all.extend(want);
    }
    assert_eq!(all, STORY_RULES.iter().copied().collect());
}

#[test]
fn chapters_and_their_packages() {
    let (_, story, steps) = play();
    let chapters = story.chapters();
    assert_eq!(chapters.len(), 15);
    assert!(!chapters[..4].iter().any(|c| c.attack));
    assert!(chapters[4..].iter().all(|c| c.attack));
    assert_eq!(chapters[4].incident, Some("TanStack, 2026-05-11"));
    assert_eq!(chapters[5].packages.len(), 5);
    // Steps come chapter by chapter, and every chapter has some.
    let order: Vec<usize> = steps.iter().map(|s| s.chapter).collect();
    assert!(order.is_sorted());
    for (i, chapter) in chapters.iter().enumerate() {
        let packages: Vec<String> = steps
            .iter()
            .filter(|s| s.chapter == i)
            .map(|s| {
                Event::from_envelope(&s.envelope)
                    .unwrap()
                    .package
                    .to_string()
            })
            .fold(Vec::new(), |mut seen, p| {
                if !seen.contains(&p) {
                    seen.push(p);
                }
                seen
            });
        assert!(!packages.is_empty(), "{}", chapter.title);
        assert_eq!(packages, chapter.packages, "{}", chapter.title);
    }
}

#[test]
fn releases_are_judged_by_the_default_policy_as_documented() {
    let (log, story, _) = play();
    let entries = entries(&log, &story);
    let honest = story.honest_releases();
    let attacked = story.attacked_releases();
    assert!((40..=70).contains(&honest.len()), "{}", honest.len());
    assert_eq!(honest.len() + attacked.len(), story.releases().len());
    let mut versions = BTreeSet::new();
    for release in story.releases() {
        let new = versions.insert((release.package.clone(), release.version.clone()));
        assert!(
            new,
            "{}@{} released twice",
            release.package, release.version
        );
        let package = PackageName::parse(&release.package).unwrap();
        let version = release.version.parse().unwrap();
        let verdict = evaluate(
            &Policy::default(),
            &package,
            &version,
            Some(&release.integrity),
            &entries,
        );
        let got: Vec<&str> = verdict.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            got, release.verify_rules,
            "{}@{}: {verdict:?}",
            release.package, release.version
        );
        assert!(release.verify_rules.is_empty() || story.chapters()[release.chapter].attack);
    }
    assert!(honest.iter().all(|r| r.verify_rules.is_empty()));
    let failing: Vec<usize> = attacked
        .iter()
        .filter(|r| !r.verify_rules.is_empty())
        .map(|r| r.chapter)
        .collect();
    assert_eq!(failing, [4, 5, 5, 5, 5, 5, 7, 9, 10, 10]);
    let passing: Vec<usize> = attacked
        .iter()
        .filter(|r| r.verify_rules.is_empty())
        .map(|r| r.chapter)
        .collect();
    assert_eq!(passing, [6, 8, 11, 14]);
    // The switched tarball: the approved digest also fails, on the digest.
    let switched = attacked.iter().find(|r| r.chapter == 9).unwrap();
    let stage_digest = entries
        .iter()
        .find_map(|e| match &e.event.body {
            EventBody::Stage(s)
                if e.event.package.as_str() == switched.package
                    && s.version.to_string() == switched.version =>
            {
                Some(s.integrity)
            }
            _ => None,
        })
        .unwrap();
    assert_ne!(stage_digest, switched.integrity);
    let package = PackageName::parse(&switched.package).unwrap();
    let version = switched.version.parse().unwrap();
    let verdict = evaluate(
        &Policy::default(),
        &package,
        &version,
        Some(&stage_digest),
        &entries,
    );
    let got: Vec<&str> = verdict.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(got, ["publish-without-approval", "integrity-mismatch"]);
}

#[test]
fn a_log_that_refuses_the_forged_approval_gets_the_rest_of_the_story() {
    let mut story = Story::new();
    let mut log = StaticLog::new(STORY_LOG_ORIGIN, STORY_LOG_KEY_SEED);
    let mut refused = 0;
    while let Some(step) = story.next_step() {
        if step.refused_by_honest_log {
            story.refused();
            refused += 1;
            continue;
        }
        // A real log's clock: now, not the registry's.
        let (index, hash) = log.append(&step.envelope, 1_900_000_000_000 + log.size().0);
        story.logged(index, hash);
    }
    assert_eq!(refused, 1);
    assert_eq!(log.size().0 as usize, story.len() - 1);
    let entries = entries(&log, &story);
    // Approvals sign this log's stage leaf hashes.
    for entry in &entries {
        if let EventBody::Approve(approve) = &entry.event.body
            && approve.device.id == "yubikey-5c"
        {
            let stage = at(&entries, approve.stage);
            let key = crate::sample::device_key(1).verifying_key();
            approve
                .verify_device_signature(&entry.event.package, &stage.leaf_hash, &key)
                .unwrap();
        }
    }
    for release in story.honest_releases() {
        let package = PackageName::parse(&release.package).unwrap();
        let version = release.version.parse().unwrap();
        assert!(
            evaluate(
                &Policy::default(),
                &package,
                &version,
                Some(&release.integrity),
                &entries
            )
            .passed()
        );
    }
}

#[test]
fn the_pull_contract_is_enforced() {
    let twice = std::panic::catch_unwind(|| {
        let mut story = Story::new();
        story.next_step();
        story.next_step();
    });
    assert!(twice.is_err());
    let refuse_honest = std::panic::catch_unwind(|| {
        let mut story = Story::new();
        story.next_step();
        story.refused();
    });
    assert!(refuse_honest.is_err());
    let unasked = std::panic::catch_unwind(|| Story::new().logged(LeafIndex(0), Hash::default()));
    assert!(unasked.is_err());
    // No step needs one that comes later or that an honest log refuses.
    let story = Story::new();
    for (i, planned) in story.plan.iter().enumerate() {
        for need in planned.action.needs() {
            assert!(need < i && !story.plan[need].refused_by_honest_log);
        }
    }
}

#[test]
fn notes_read_well() {
    let (_, _, steps) = play();
    let note = |prefix: &str| steps.iter().any(|s| s.note.starts_with(prefix));
    assert!(note(
        "alice approves @acme/query@1.4.0 from her security key (YubiKey 5C), "
    ));
    assert!(note(
        "alice approves @acme/query@1.5.0 from her security key (YubiKey 5C), 4 s after staging"
    ));
    assert!(note(
        "carol rejects tiny-args@0.5.1 from her phone's authenticator app (TOTP): "
    ));
    assert!(note(
        "CI (acme/tiny-args release workflow) stages tiny-args@0.4.0"
    ));
}
