//! Policy configuration, patterns and robustness.

use super::*;

// --- configuration ---------------------------------------------------------------

#[test]
fn empty_configuration_is_the_strict_default() {
    let policy = policy_json("{}");
    assert_eq!(policy, Policy::default());
    assert!(policy.require_staging);
    assert!(!policy.require_signing_device);
    assert!(policy.accept_totp);
    assert!(!policy.accept_sms);
    assert!(policy.allow_direct.is_empty());
    assert!(policy.trusted_publishers.is_empty());
    assert!(policy.skip.is_empty());
}

#[test]
fn full_configuration_parses() {
    let policy = policy_json(
        r#"{
            "require_staging": false,
            "require_signing_device": true,
            "accept_totp": false,
            "accept_sms": true,
            "allow_direct": ["left-*"],
            "trusted_publishers": [
                {"packages": "@acme/*", "issuer": "https://token.actions.githubusercontent.com",
                 "repository": "acme/widget"},
                {"packages": "lodash", "issuer": "https://token.actions.githubusercontent.com",
                 "repository": "lodash/lodash", "workflow": ".github/workflows/release.yml"}
            ],
            "skip": ["@internal/*"]
        }"#,
    );
    assert_eq!(
        policy,
        Policy {
            require_staging: false,
            require_signing_device: true,
            accept_totp: false,
            accept_sms: true,
            allow_direct: vec!["left-*".to_owned()],
            trusted_publishers: vec![
                rule("@acme/*", REPO, None),
                rule("lodash", "lodash/lodash", Some(WORKFLOW)),
            ],
            skip: vec!["@internal/*".to_owned()],
        }
    );
}

#[test]
fn unknown_fields_and_bad_patterns_are_refused() {
    for (json, needle) in [
        (r#"{"require_stagin": true}"#, "unknown field"),
        (r#"{"accept_sms": "yes"}"#, "invalid type"),
        (
            r#"{"trusted_publishers": [{"packages": "*", "issuer": "i", "repository": "r", "mode": "publish"}]}"#,
            "unknown field",
        ),
        (
            r#"{"trusted_publishers": [{"packages": "*", "issuer": "i"}]}"#,
            "missing field `repository`",
        ),
        (r#"{"skip": [""]}"#, "is empty"),
        (r#"{"skip": ["Acme%20*"]}"#, "characters other than"),
        (r#"{"allow_direct": ["left pad"]}"#, "characters other than"),
        (r#"{"allow_direct": ["a@b"]}"#, "`@` other than"),
        (
            r#"{"trusted_publishers": [{"packages": "@a/b/*", "issuer": "i", "repository": "r"}]}"#,
            "more than one `/`",
        ),
    ] {
        let err = serde_json::from_str::<Policy>(json)
            .expect_err(json)
            .to_string();
        assert!(err.contains(needle), "{json}: {err}");
    }
}

#[test]
fn skip_patterns() {
    let policy = Policy {
        skip: vec![
            "@internal/*".to_owned(),
            "corp-*".to_owned(),
            "secret".to_owned(),
        ],
        ..Policy::default()
    };
    for name in ["@internal/db", "corp-utils", "secret"] {
        assert!(policy.skips(name), "{name}");
    }
    for name in ["@internal-x/db", "@acme/widget", "secrets", "my-corp-utils"] {
        assert!(!policy.skips(name), "{name}");
    }
    assert!(!Policy::default().skips("anything"));
}

#[test]
fn patterns_name_legacy_packages_case_sensitively() {
    let policy: Policy =
        serde_json::from_str(r#"{"skip": ["JSONStream", "@Legacy/*", "a~b"]}"#).unwrap();
    for name in ["JSONStream", "@Legacy/Tools", "a~b"] {
        assert!(policy.skips(name), "{name}");
    }
    for name in ["jsonstream", "@legacy/tools", "a-b"] {
        assert!(!policy.skips(name), "{name}");
    }
    // evaluate does not consult skip: a skipped package that is not logged
    // still gets its finding if the caller asks anyway.
    let skip_all = Policy {
        skip: vec!["*".to_owned()],
        ..Policy::default()
    };
    assert!(Log::new().evaluate(&skip_all).has(Rule::NotLogged));
}

#[test]
fn pattern_matching() {
    let yes = [
        ("left-pad", "left-pad"),
        ("@acme/*", "@acme/widget"),
        ("left-*", "left-pad"),
        ("left-*", "left-"),
        ("*", "left-pad"),
        ("*", "@acme/widget"),
        ("*-pad", "left-pad"),
        ("*/widget", "@acme/widget"),
        ("@*/widget", "@acme/widget"),
        ("a*b*c", "a-b-b-c"),
        ("a*b*c", "abc"),
        ("**", ""),
        ("a**", "abc"),
    ];
    let no = [
        ("left-pad", "left-pads"),
        ("left-pad", "left-pa"),
        ("@acme/*", "@acme-evil/widget"),
        ("@acme/*", "@acme"),
        ("left-*", "leftpad"),
        ("left-*", "@scope/left-pad"),
        ("*-pad", "left-pads"),
        ("a*b*c", "a-b-b-cd"),
        ("a*b*c", "ac"),
        ("", "a"),
        ("Left-pad", "left-pad"),
    ];
    for (pattern, name) in yes {
        assert!(matches(pattern, name), "{pattern} should match {name}");
    }
    for (pattern, name) in no {
        assert!(!matches(pattern, name), "{pattern} should not match {name}");
    }
    // Many stars against a long name: no exponential backtracking.
    let name = "a".repeat(200);
    assert!(!matches("*a*a*a*a*a*a*a*a*a*a*b", &name));
}

#[test]
fn rule_ids_are_stable_kebab_case() {
    let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        ids,
        [
            "not-logged",
            "publish-without-approval",
            "integrity-mismatch",
            "unknown-device",
            "missing-device-signature",
            "bad-device-signature",
            "weak-second-factor",
            "unexpected-publisher",
            "unpublished",
        ]
    );
    for &rule in Rule::ALL {
        assert_eq!(Rule::from_id(rule.as_str()), Some(rule));
        assert!(!rule.explanation().is_empty());
        assert_eq!(rule.to_string(), rule.as_str());
    }
    assert_eq!(Rule::from_id("nope"), None);
}

#[test]
fn verdict_serializes_with_rule_ids() {
    let mut log = Log::new();
    log.publish_direct(TGZ);
    let verdict = log.evaluate(&Policy::default());
    let json = serde_json::to_value(&verdict).expect("serializable");
    assert_eq!(json["findings"][0]["rule"], "publish-without-approval");
    assert_eq!(json["findings"][0]["evidence"][0], 0);
    let line = verdict.findings[0].to_string();
    assert!(line.starts_with("[publish-without-approval] "), "{line}");
    assert!(line.ends_with("(entries #0)"), "{line}");
}

// --- robustness ----------------------------------------------------------------

#[test]
fn never_panics_on_any_subset_duplicate_or_reordering() {
    // A rich log: device history, two stages, approvals, publishes of this
    // and other packages, an unpublish. Every subset (and its reverse, and
    // with duplicates and clashing indexes) must evaluate without panic.
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let s1 = log.stage(TGZ);
    let a1 = log.approve(TGZ, s1, Some(("key-1", &key)));
    log.revoke("key-1");
    log.publish(EVIL, s1.0, a1);
    let s2 = log.stage(EVIL);
    let a2 = log.approve(EVIL, s2, None);
    log.publish(TGZ, s2.0, a2);
    log.publish_direct(TGZ);
    let other = log.reg.publish_direct("left-pad", VER, TGZ, T);
    log.push(other);
    log.json(
        "unpublish",
        PKG,
        r#""version":"1.0.0","by":"alice""#,
        T + 900,
    );
    let all = log.events.clone();
    assert_eq!(all.len(), 11);

    let policies = [
        Policy::default(),
        Policy {
            require_staging: false,
            require_signing_device: true,
            trusted_publishers: vec![rule("*", "x/y", None)],
            ..Policy::default()
        },
    ];
    let name = PackageName::parse(PKG).expect("valid");
    let version = Version::parse(VER).expect("valid");
    let expected = Integrity::of(TGZ);
    for mask in 0u32..(1 << all.len()) {
        let mut subset: Vec<LoggedEvent> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, e)| e.clone())
            .collect();
        for policy in &policies {
            evaluate(policy, &name, &version, Some(&expected), &subset);
        }
        subset.reverse();
        if let Some(first) = subset.first().cloned() {
            subset.push(first);
        }
        // Clash: another event claiming the index of the first one.
        if let (Some(first), Some(last)) = (subset.first().map(|e| e.index), subset.last().cloned())
        {
            subset.push(LoggedEvent {
                index: first,
                ..last
            });
        }
        let verdict = evaluate(&policies[0], &name, &version, None, &subset);
        for finding in &verdict.findings {
            assert!(
                finding.evidence.windows(2).all(|w| w[0] < w[1]),
                "{finding}"
            );
        }
    }
}
