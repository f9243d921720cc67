//! The golden log: the scripted story (an honest registry's weeks of
//! releases, then every 2026 attack pattern) written as a static c2sp tile
//! log by a committed generator (`gatelog_lab::sample::story`), served
//! over real HTTP and audited by the real `gatelog-monitor` binary. Each
//! chapter must fire exactly the rules it is written to show, and the JSON
//! output must equal `golden/story-alerts.jsonl` byte for byte
//! (`GATELOG_BLESS=1` rewrites it after an intended change).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;

use gatelog_e2e::{FakeHttp, binary};
use gatelog_lab::sample::static_log::StaticLog;
use gatelog_lab::sample::story::{STORY_LOG_KEY_SEED, STORY_LOG_ORIGIN, STORY_RULES, Story};
use gatelog_monitor::alert::RuleId;
use serde_json::Value;

/// Serves a static log's files as c2sp.org/tlog-tiles paths.
fn serve(files: Arc<BTreeMap<String, Vec<u8>>>) -> FakeHttp {
    FakeHttp::start(
        move |req| match files.get(req.path.trim_start_matches('/')) {
            Some(body) => (200, body.clone()),
            None => (404, b"not found".to_vec()),
        },
    )
}

#[test]
fn every_rule_fires_on_the_story_and_the_output_is_golden() {
    let mut story = Story::new();
    let mut log = StaticLog::new(STORY_LOG_ORIGIN, STORY_LOG_KEY_SEED);
    let mut chapter_of = Vec::new();
    while let Some(step) = story.next_step() {
        let (index, hash) = log.append(&step.envelope, step.time as u64 * 1000);
        assert_eq!(index.0 as usize, chapter_of.len());
        chapter_of.push(step.chapter);
        story.logged(index, hash);
    }
    let server = serve(Arc::new(log.files()));
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary("gatelog-monitor"))
        .args(["--once", "--format", "json", "--start-at", "0"])
        .args([
            "--log",
            &server.url(),
            "--log-key",
            &log.verifier_key().to_string(),
        ])
        .args(["--state", &dir.path().join("state").display().to_string()])
        .args([
            "--registry-key",
            &story.registry().verifier_key().to_string(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();

    // Each chapter fires exactly its rules; honest chapters fire nothing.
    let mut fired: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for line in stdout.lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        let trigger: usize = alert["id"]
            .as_str()
            .unwrap()
            .rsplit('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        fired
            .entry(chapter_of[trigger])
            .or_default()
            .insert(alert["rule"].as_str().unwrap().to_owned());
    }
    for (i, chapter) in story.chapters().iter().enumerate() {
        let expected: BTreeSet<String> = chapter
            .expected_rules
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            fired.remove(&i).unwrap_or_default(),
            expected,
            "chapter {i}: {}",
            chapter.title
        );
    }
    assert!(fired.is_empty(), "alerts outside every chapter: {fired:?}");
    let all: BTreeSet<&str> = STORY_RULES.iter().copied().collect();
    // The monitor's own list, so a new rule must join the story or the
    // list below of rules shown where the story cannot: they are about the
    // log or the clocks, not about a release.
    let every_rule: BTreeSet<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
    let missing: Vec<&str> = every_rule.difference(&all).copied().collect();
    let shown_elsewhere = BTreeSet::from([
        "log-misbehaviour",       // tests/monitor.rs: a forked log
        "log-unverifiable",       // tests/monitor.rs: a log answering garbage
        "no-progress",            // tests/monitor.rs: nothing verified past the threshold
        "time-skew",              // tests/time_skew.rs
        "unwitnessed-checkpoint", // tests/witness.rs: a fork without the quorum
    ]);
    assert_eq!(
        missing,
        shown_elsewhere.into_iter().collect::<Vec<_>>(),
        "the story shows every other rule"
    );

    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/story-alerts.jsonl");
    if std::env::var_os("GATELOG_BLESS").is_some() {
        std::fs::write(&golden, &stdout).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        stdout == expected,
        "monitor output differs from {}; rerun with GATELOG_BLESS=1 if the change is intended\n{stdout}",
        golden.display()
    );
}

/// A quiet log larger than one chunk and one level-1 tile: the monitor
/// verifies it chunk by chunk against tiles of every level, alerts on
/// nothing, and a second run resumes with nothing to do.
#[test]
fn a_large_honest_log_verifies_chunk_by_chunk() {
    let story = Story::new();
    let reg = story.registry();
    let mut log = StaticLog::new(STORY_LOG_ORIGIN, STORY_LOG_KEY_SEED);
    let n = 70_001u64;
    for i in 0..n {
        let env = reg.maintainer_add(
            &format!("pkg-{}", i % 5000),
            &format!("m{i}"),
            "owner",
            1_780_000_000 + i as i64,
        );
        // Logged when the registry says it happened: no time skew.
        log.append(&env, (1_780_000_000 + i) * 1000);
    }
    let server = serve(Arc::new(log.files()));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    let key = log.verifier_key().to_string();
    for (args, expect) in [
        (&["--start-at", "0"][..], format!("verified {n} entries")),
        (&[][..], "(0 new)".to_owned()),
    ] {
        let out = Command::new(binary("gatelog-monitor"))
            .args([
                "--once",
                "--format",
                "json",
                "--log",
                &server.url(),
                "--log-key",
                &key,
                "--state",
                &state,
                "--registry-key",
                &reg.verifier_key().to_string(),
            ])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stderr}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.contains(&expect), "{stderr}");
    }
}
