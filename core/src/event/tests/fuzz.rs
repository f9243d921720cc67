//! Property tests: the parser never panics, and whatever it accepts
//! serializes back to an equal event.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::Value;

fn config(seed: u64) -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// JSON values likely to reach the validators, not just the parser:
/// mostly strings, many of them valid for some field.
fn json_value() -> impl Strategy<Value = Value> {
    let valid_somewhere = vec![
        "1.2.4",
        "2.0.0-rc.1+b.7",
        "alice",
        "next",
        "token",
        "user",
        "sms",
        "totp",
        "ed25519",
        "webauthn",
        "staged",
        "direct",
        "publish",
        "stage-only",
        "required",
        "optional",
        "approve",
        "reject",
        "unpublish",
        "deprecate",
        "maintainer-add",
        "https://registry.example",
        "http://localhost:4873",
        "@scope/pkg",
        "pkg",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.123-05:30",
        "refs/heads/main",
        "0123456789abcdef0123456789abcdef01234567",
        "https://issuer.example",
        "FR",
    ];
    let invalid_somewhere = vec![
        "",
        "01.2.3",
        "1.x",
        "latest ",
        "Foo",
        "@a/b/c",
        "sha512-",
        "sha256-AAAA",
        "AAAA",
        "de",
        "https://",
        "2026-01-01",
        " x",
        "a\u{0}b",
        "\u{202e}",
    ];
    let leaf = prop_oneof![
        6 => prop::sample::select(valid_somewhere).prop_map(Value::from),
        3 => prop::sample::select(invalid_somewhere).prop_map(Value::from),
        2 => "\\PC{0,16}".prop_map(Value::from),
        2 => (0u64..100).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            4 => inner.clone(),
            1 => prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            1 => prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(0xe7e7))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..1024)
    ) {
        let _ = Event::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_events(
        which in 0usize..11,
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let examples = examples();
        let mut bytes = examples[which % examples.len()].clone().into_bytes();
        crate::testutil::apply_edits(&mut bytes, &edits);
        if let Ok(event) = Event::parse(&bytes) {
            prop_assert_eq!(Event::parse(&event.to_json().unwrap()), Ok(event));
        }
    }

    #[test]
    fn accepted_field_replacements_round_trip(
        which in 0usize..11,
        field in any::<prop::sample::Index>(),
        nested in any::<prop::sample::Index>(),
        replacement in json_value(),
    ) {
        let examples = examples();
        let mut value: Value = serde_json::from_str(&examples[which % examples.len()]).unwrap();
        let Value::Object(map) = &mut value else { unreachable!() };
        let key = field.get(&map.keys().cloned().collect::<Vec<_>>()).clone();
        match map.get_mut(&key) {
            // Half the time, replace a field of a nested object instead.
            Some(Value::Object(inner)) if nested.index(2) == 0 && !inner.is_empty() => {
                let inner_key = nested.get(&inner.keys().cloned().collect::<Vec<_>>()).clone();
                inner.insert(inner_key, replacement);
            }
            Some(slot) => *slot = replacement,
            None => unreachable!(),
        }
        let bytes = serde_json::to_vec(&value).unwrap();
        if let Ok(event) = Event::parse(&bytes) {
            prop_assert_eq!(Event::parse(&event.to_json().unwrap()), Ok(event));
        }
    }
}
