//! Rows for the write endpoints, `POST /v1/entries` and
//! `POST /v1/entries/batch`: malformed, truncated, oversized, nested,
//! mistyped, duplicated, non-UTF-8 and overflowing envelopes and events,
//! path traversal in names, non-canonical base64, the wrong payload type,
//! unknown submitters, signatures by the wrong key, and replayed and
//! reordered events, references to other packages and to nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::dsse::{EVENT_PAYLOAD_TYPE, MAX_ENVELOPE_SIZE, sign};
use gatelog_core::event::Integrity;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::{Envelope, Hash, LeafIndex};
use gatelog_e2e::TestLog;
use gatelog_lab::sample::device_key;

use crate::http::{Table, Want, err};

const T: &str = "2026-03-02T10:21:00Z";
const PKG: &str = "@acme/widget";
const TGZ: &[u8] = b"widget-1.0.0.tgz";

/// The registry's signing key (the one `TestLog` allowlists).
fn registry_key() -> SignerKey {
    SignerKey::from_seed("registry.example", SignatureType::Ed25519, &[5; 32]).expect("key")
}

/// An envelope over arbitrary payload bytes, signed by `key` as DSSE says.
fn signed_by(key: &SignerKey, payload: &[u8]) -> Envelope {
    sign(EVENT_PAYLOAD_TYPE, payload, key.signing_key())
}

/// An envelope over `payload`, signed by the allowlisted registry.
fn signed(payload: &str) -> Vec<u8> {
    signed_by(&registry_key(), payload.as_bytes()).to_json()
}

/// Event JSON of `package` with these fields (including `"type"`).
fn event(package: &str, fields: &str) -> String {
    format!(
        r#"{{{fields},"package":"{package}","registry":"https://registry.example","time":"{T}"}}"#
    )
}

/// A valid direct publish of `left-pad@version`.
fn publish(version: &str) -> String {
    event("left-pad", &publish_fields(version))
}

/// The fields of a valid direct publish of `version`.
fn publish_fields(version: &str) -> String {
    format!(
        r#""type":"publish","version":"{version}","integrity":"{}","dist_tag":"latest","via":"direct""#,
        Integrity::of(b"any")
    )
}

/// Envelope JSON from its parts as text (`payload` with its quotes).
fn envelope_json(payload: &str, payload_type: &str, signatures: &str) -> String {
    format!(r#"{{"payload":{payload},"payloadType":"{payload_type}","signatures":{signatures}}}"#)
}

/// Replaces the text `from` by `to` once; it must be there.
fn edit(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).expect("utf8");
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

/// What the log holds before the cases run.
pub struct Seeded {
    stage: LeafIndex,
    stage_hash: Hash,
    approve: LeafIndex,
    publish: LeafIndex,
    /// Envelopes already logged (for replays).
    logged: Vec<Envelope>,
}

/// A device, a staged, approved and published release, and a direct
/// publish of another package: 5 entries.
pub fn seed(log: &TestLog) -> Seeded {
    let t = 1_780_000_000;
    let dev = device_key(1);
    let register = log
        .reg
        .device_register(PKG, "alice", "yubi", &dev, t - 86_400 * 30);
    log.submit(&register);
    let stage_env = log.reg.stage(PKG, "1.0.0", TGZ, "acme/widget", t);
    let (stage, stage_hash) = log.submit(&stage_env);
    let approve_env = log.reg.approve(
        PKG,
        "1.0.0",
        TGZ,
        stage,
        &stage_hash,
        "alice",
        Some(("yubi", &dev)),
        t + 600,
    );
    let (approve, _) = log.submit(&approve_env);
    let publish_env = log.reg.publish(PKG, "1.0.0", TGZ, stage, approve, t + 700);
    let (publish, _) = log.submit(&publish_env);
    let direct = log.reg.publish_direct("left-pad", "1.3.0", b"lp", t + 800);
    log.submit(&direct);
    Seeded {
        stage,
        stage_hash,
        approve,
        publish,
        logged: vec![register, stage_env, approve_env, publish_env, direct],
    }
}

/// Every row for the write endpoints.
pub fn rows(t: &mut Table, log: &TestLog, s: &Seeded) {
    envelopes(t);
    submitters(t);
    events(t);
    indexes(t);
    references(t, log, s);
    batches(t, s);
}

/// The DSSE envelope: shape, size, base64, signature list, payload type.
#[rustfmt::skip]
fn envelopes(t: &mut Table) {
    let valid = signed(&publish("9.0.0"));
    let sig = &signed_by(&registry_key(), b"x").signatures[0];
    let one_sig = format!(r#"[{{"keyid":"{}","sig":"{}"}}]"#, sig.keyid, STANDARD.encode(&sig.sig));
    let url_safe = one_sig.replace('+', "-").replace('/', "_").replace("=\"", "-_\"");
    let five = format!("[{}]", [&one_sig[1..one_sig.len() - 1]; 5].join(","));
    let long_keyid = format!(r#"[{{"keyid":"{}","sig":"AA=="}}]"#, "k".repeat(257));
    let pt = EVENT_PAYLOAD_TYPE;
    let bad = |s: &'static str| err(400, "bad_envelope", s);
    let big = signed(&format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_ENVELOPE_SIZE)));
    t.envelope("malformed JSON", &b"{\"payload\":"[..], bad("malformed JSON"));
    t.envelope("truncated envelope", &valid[..valid.len() / 2], bad("malformed JSON"));
    t.envelope("empty body", &b""[..], bad("malformed JSON"));
    t.envelope("binary, not JSON", &b"\x00\x01\x02"[..], bad("malformed JSON"));
    t.envelope("60,000 nested [", "[".repeat(60_000), bad("recursion limit"));
    t.envelope("200 nested arrays, closed", format!("{}{}", "[".repeat(200), "]".repeat(200)), bad("recursion limit"));
    t.post("100,000 nested [ (over the body limit)", "/v1/entries", "[".repeat(100_000), err(413, "too_large", "64512"));
    t.post("body one byte over the limit", "/v1/entries", vec![b' '; MAX_ENVELOPE_SIZE + 1], err(413, "too_large", "64512"));
    t.post("an envelope over 63 KiB in a batch", "/v1/entries/batch", [b"[".as_slice(), &big, b"]"].concat(),
        Want::BatchErrors(400, "bad_envelope", "more than the limit of 64512"));
    t.envelope("top level is an array", &b"[1]"[..], bad("expected an object"));
    t.envelope("wrong type: payload is a number", envelope_json("5", pt, &one_sig), bad("`payload`"));
    t.envelope("wrong type: signatures is an object", envelope_json("\"e30=\"", pt, "{}"), bad("`signatures`"));
    t.envelope("duplicate key payload", edit(&valid, "{\"payload\":", "{\"payload\":\"e30=\",\"payload\":"), bad("duplicate key `payload`"));
    t.envelope("duplicate key in a signature", edit(&valid, "{\"keyid\":", "{\"keyid\":\"a\",\"keyid\":"), bad("duplicate key"));
    t.envelope("unknown field", edit(&valid, "{\"payload\":", "{\"extra\":1,\"payload\":"), bad("unknown field `extra`"));
    t.envelope("invalid UTF-8 in a string", &b"{\"payload\":\"\xff\xfe\",\"payloadType\":\"a\",\"signatures\":[]}"[..], bad("malformed JSON"));
    t.envelope("huge number (1e400) as payload", envelope_json("1e400", pt, &one_sig), bad("malformed JSON"));
    t.envelope("u64 overflow as payload", envelope_json("18446744073709551616", pt, &one_sig), bad("`payload`"));
    t.envelope("non-canonical base64 payload (trailing bits)", envelope_json("\"e31=\"", pt, &one_sig), bad("base64"));
    t.envelope("base64 payload without padding", envelope_json("\"e30\"", pt, &one_sig), bad("base64"));
    t.envelope("URL-safe base64 signature", envelope_json("\"e30=\"", pt, &url_safe), bad("base64"));
    t.envelope("empty payload", envelope_json("\"\"", pt, &one_sig), bad("payload"));
    t.envelope("no signatures", envelope_json("\"e30=\"", pt, "[]"), bad("signatures"));
    t.envelope("five signatures", envelope_json("\"e30=\"", pt, &five), bad("signatures"));
    t.envelope("keyid over 256 bytes", envelope_json("\"e30=\"", pt, &long_keyid), bad("keyid"));
    t.envelope("payloadType over 256 bytes", edit(&valid, pt, &"t".repeat(257)), bad("payloadType"));
    t.envelope("wrong payloadType", edit(&valid, pt, "application/json"), bad("field `payloadType`: expected \"application/vnd.gatelog.event.v1+json\""));
}

/// Who signed: unknown keys, wrong keys, altered envelopes, other registries.
#[rustfmt::skip]
fn submitters(t: &mut Table) {
    let stranger = SignerKey::from_seed("registry.example", SignatureType::Ed25519, &[77; 32]).expect("key");
    let keyid = signed_by(&registry_key(), b"x").signatures[0].keyid.clone();
    let mut forged = signed_by(&stranger, publish("9.0.2").as_bytes());
    forged.signatures[0].keyid = keyid;
    let mut altered = signed_by(&registry_key(), publish("9.0.3").as_bytes());
    altered.payload = publish("6.6.6").into_bytes();
    let mut retyped = sign("application/json", publish("9.0.4").as_bytes(), registry_key().signing_key());
    retyped.payload_type = EVENT_PAYLOAD_TYPE.into();
    let other_registry = publish("9.0.5").replace("https://registry.example", "https://other.example");
    let with_port = publish("9.0.6").replace("https://registry.example", "https://registry.example:443");
    let does_not_verify = err(403, "bad_signature", "does not verify");
    t.envelope("unknown submitter (a key the log does not allow)", signed_by(&stranger, publish("9.0.1").as_bytes()).to_json(),
        err(401, "unknown_submitter", "not signed by an allowlisted submitter"));
    t.envelope("signature by the wrong key under the registry's keyid", forged.to_json(), does_not_verify);
    t.envelope("payload altered after signing", altered.to_json(), does_not_verify);
    t.envelope("signed under another payload type", retyped.to_json(), does_not_verify);
    t.envelope("an event of another registry", signed(&other_registry), err(403, "wrong_registry", "may not log events of registry https://other.example"));
    t.envelope("the registry's origin with an explicit port", signed(&with_port), err(403, "wrong_registry", "registry.example:443"));
}

/// The event inside a correctly signed envelope.
#[rustfmt::skip]
fn events(t: &mut Table) {
    let valid = publish("9.1.0");
    let time = format!("\"{T}\"");
    let dir = |name: &str| event(name, &publish_fields("1.0.0"));
    let rows: Vec<(&str, String, &'static str)> = vec![
        ("payload is not JSON", "not json".into(), "malformed JSON"),
        ("payload is a JSON array", "[1,2]".into(), "expected an object"),
        ("payload is null", "null".into(), "expected an object"),
        ("payload is an empty object", "{}".into(), "missing field `type`"),
        ("payload nested 200 deep", format!("{}{}", "[".repeat(200), "]".repeat(200)), "recursion limit"),
        ("duplicate key in the event", valid.replacen("\"package\":", "\"package\":\"a\",\"package\":", 1), "duplicate key `package`"),
        ("unknown field in the event", valid.replacen('{', "{\"admin\":true,", 1), "unknown field `admin`"),
        ("wrong type: type is a number", valid.replacen("\"type\":\"publish\"", "\"type\":5", 1), "`type`"),
        ("unknown event type", valid.replacen("\"type\":\"publish\"", "\"type\":\"nuke\"", 1), "nuke"),
        ("wrong type: time is a number", valid.replacen(&time, "1700000000", 1), "`time`"),
        ("huge number (1e400) as time", valid.replacen(&time, "1e400", 1), "malformed JSON"),
        ("time in the year 10000", valid.replacen(T, "10000-01-01T00:00:00Z", 1), "time"),
        ("time that is not RFC 3339", valid.replacen(T, "yesterday", 1), "time"),
        ("path traversal in the package name", dir("../../etc/passwd"), "invalid npm package name"),
        ("absolute path as package name", dir("/etc/passwd"), "invalid npm package name"),
        ("%2e%2e as package name", dir("%2e%2e"), "invalid npm package name"),
        ("scoped traversal @acme/../x", dir("@acme/../x"), "invalid npm package name"),
        ("reserved package name", dir("node_modules"), "reserved"),
        ("package name over 214 bytes", dir(&"a".repeat(215)), "214"),
        ("NUL in the package name", dir("a\\u0000b"), "invalid npm package name"),
        // Capital letters are valid (legacy names); these are not.
        ("a space in a capitalised package name", dir("Left Pad"), "whitespace"),
        ("a colon in the package name", dir("Left:Pad"), "URL-safe"),
        ("capitalised scoped traversal @Acme/../x", dir("@Acme/../x"), "invalid npm package name"),
        ("path traversal in the version", publish("1.0.0/../../x"), "version"),
        ("version over 256 bytes", publish(&format!("1.0.0-{}", "a".repeat(300))), "version"),
        ("integrity not sha512", valid.replacen("sha512-", "sha1-", 1), "integrity"),
        ("integrity in non-canonical base64", valid.replacen("==\"", "=\"", 1), "integrity"),
        ("registry is a file URL", valid.replacen("https://registry.example", "file:///etc/passwd", 1), "registry"),
        ("registry with a path", valid.replacen("https://registry.example", "https://registry.example/../x", 1), "registry"),
        ("escape sequence in a maintainer name", event("left-pad", r#""type":"maintainer-add","maintainer":"\u001b[2Jroot","by":"alice""#), "maintainer"),
        ("newline in a device id", event("left-pad", r#""type":"device-revoke","maintainer":"alice","device":{"id":"a\nb","kind":"ed25519"}"#), "device"),
        ("a direct publish that names a stage", event("left-pad", &format!("{},\"stage\":1", publish_fields("1.0.0"))), "stage"),
    ];
    for (name, payload, message) in rows {
        t.envelope(name, signed(&payload), err(400, "bad_event", message));
    }
    t.envelope("payload bytes that are not UTF-8", signed_by(&registry_key(), b"{\"type\":\"\xff\"}").to_json(),
        err(400, "bad_event", "malformed JSON"));
}

/// Entry indexes that are not u64s.
#[rustfmt::skip]
fn indexes(t: &mut Table) {
    let approve = |stage: &str| event(PKG, &format!(
        r#""type":"approve","version":"1.0.0","integrity":"{}","stage":{stage},"maintainer":"alice","device":{{"id":"phone","kind":"totp"}}"#,
        Integrity::of(TGZ)));
    for (name, index, message) in [
        ("u64 overflow as entry index", "18446744073709551616", "stage"),
        ("huge number (1e400) as entry index", "1e400", "malformed JSON"),
        ("negative entry index", "-1", "stage"),
        ("fractional entry index", "1.5", "stage"),
        ("entry index as a string", "\"1\"", "stage"),
    ] {
        t.envelope(name, signed(&approve(index)), err(400, "bad_event", message));
    }
}

/// Replays, reordering, other packages' and dangling references.
#[rustfmt::skip]
fn references(t: &mut Table, log: &TestLog, s: &Seeded) {
    let reg = &log.reg;
    let dev = device_key(1);
    let bad = |m: &'static str| err(400, "bad_reference", m);
    for env in &s.logged {
        t.envelope("replay of a logged envelope", env.to_json(), Want::Duplicates);
    }
    // Out of order: the stage is not logged yet (it would get index 5), so
    // an approval or publish naming it points past the end of the log.
    let next = LeafIndex(5);
    let future_stage = Hash::sha256(&reg.stage(PKG, "2.0.0", b"v2", "acme/widget", 1).to_json());
    let rows = [
        ("approve before its stage", reg.approve(PKG, "2.0.0", b"v2", next, &future_stage, "alice", None, 1),
            "`stage` refers to entry 5, but the log has 5 entries"),
        ("publish before its approval", reg.publish(PKG, "1.0.0", TGZ, s.stage, next, 1), "`approve` refers to entry 5"),
        ("dangling stage reference", reg.publish(PKG, "1.0.0", TGZ, LeafIndex(999_999), s.approve, 1), "refers to entry 999999"),
        ("publish naming another package's stage and approval", reg.publish("left-pad", "1.0.0", TGZ, s.stage, s.approve, 1),
            "`stage` refers to entry 1"),
        ("approve naming another package's stage", reg.approve("left-pad", "1.0.0", TGZ, s.stage, &s.stage_hash, "alice", None, 1),
            "`stage` refers to entry 1"),
        ("approve naming a publish as its stage", reg.approve(PKG, "1.0.0", TGZ, s.publish, &s.stage_hash, "alice", None, 1),
            "`stage` refers to entry 3"),
        ("publish with stage and approval swapped", reg.publish(PKG, "1.0.0", TGZ, s.approve, s.stage, 1), "`stage` refers to entry 2"),
        ("approve of another version than staged", reg.approve(PKG, "2.0.0", TGZ, s.stage, &s.stage_hash, "alice", None, 1),
            "`stage` refers to entry 1"),
        ("approve of another tarball than staged", reg.approve(PKG, "1.0.0", b"evil", s.stage, &s.stage_hash, "alice", None, 1),
            "`stage` refers to entry 1"),
        ("approval signed by another device key",
            reg.approve(PKG, "1.0.0", TGZ, s.stage, &s.stage_hash, "alice", Some(("yubi", &device_key(9))), 1),
            "device_signature does not verify"),
        ("approval signed over another stage's leaf hash",
            reg.approve(PKG, "1.0.0", TGZ, s.stage, &Hash::sha256(b"other"), "alice", Some(("yubi", &dev)), 1),
            "device_signature does not verify"),
    ];
    for (name, envelope, message) in rows {
        t.envelope(name, envelope.to_json(), bad(message));
    }
}

/// `POST /v1/entries/batch` as a whole.
#[rustfmt::skip]
fn batches(t: &mut Table, s: &Seeded) {
    let p = "/v1/entries/batch";
    let bad = |m: &'static str| err(400, "bad_batch", m);
    let one = String::from_utf8(s.logged[1].to_json()).expect("utf8");
    t.post("an object, not an array", p, "{}", bad("expected a JSON array"));
    t.post("a string, not an array", p, "\"x\"", bad("expected a JSON array"));
    t.post("empty body", p, "", bad("expected a JSON array"));
    t.post("trailing garbage", p, "[] x", bad("trailing characters"));
    t.post("100,000 nested [", p, "[".repeat(100_000), bad("expected a JSON array"));
    t.post("invalid UTF-8", p, &b"[\"\xff\"]"[..], bad("expected a JSON array"));
    t.post("1,001 elements", p, format!("[{}]", vec!["{}"; 1001].join(",")), err(413, "too_large", "at most 1000 envelopes, got 1001"));
    t.post("body one byte over 16 MiB", p, vec![b' '; 16 * 1024 * 1024 + 1], err(413, "too_large", "16777216"));
    t.post("elements of the wrong type", p, "[1,\"x\",null,[]]", Want::BatchErrors(400, "bad_envelope", "expected an object"));
    t.post("the same logged envelope three times", p, format!("[{one},{one},{one}]"), Want::Duplicates);
}
