//! Rows for `gatelog`: lockfiles, offline bundles, policy files, the state
//! folder, keys and signed notes given to `verify`, `checkpoint`, `proof`,
//! `submit`, `entry` and the approval helpers.

use gatelog_core::event::Integrity;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::{Checkpoint, Hash, Origin, TreeHead, TreeSize};
use gatelog_e2e::{TestLog, log_key};

use crate::cli::{CliCase, Vars, case};

/// The verify command every lockfile, bundle, policy and state row varies.
pub const VERIFY: [&str; 12] = [
    "verify",
    "--log",
    "{log}",
    "--log-key",
    "{lkey}",
    "--registry-key",
    "{rkey}",
    "--lockfile",
    "{dir}/package-lock.json",
    "--state-dir",
    "{dir}/state",
    "--format=json",
];

/// `VERIFY` with extra arguments.
fn verify(extra: &[&'static str]) -> Vec<&'static str> {
    VERIFY
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

/// `VERIFY` without a state folder.
fn no_state() -> Vec<&'static str> {
    VERIFY[..9].iter().copied().chain(["--no-state"]).collect()
}

/// `VERIFY` reading the lockfile at `path`.
fn verify_lockfile(path: &'static str) -> Vec<&'static str> {
    let mut args = VERIFY.to_vec();
    args[8] = path;
    args
}

/// A v3 lockfile pinning `@acme/widget@1.0.0` as logged.
fn lockfile(name: &str, version: &str, integrity: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    format!(
        r#"{{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{{"":{{"name":"app","version":"1.0.0"}},"node_modules/{name}":{{"version":"{version}","resolved":"https://registry.example/{name}/-/{base}-{version}.tgz","integrity":"{integrity}"}}}}}}"#
    )
}

/// The state file `gatelog` keeps for the log `origin`.
fn state_file(origin: &str) -> String {
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "state/{safe}-{}.checkpoint",
        &Hash::sha256(origin.as_bytes()).to_hex()[..8]
    )
}

/// A checkpoint of `log` signed with its real key, at a size and root it
/// never had: a fork.
fn forged_note(log: &TestLog, size: u64) -> Vec<u8> {
    let origin = Origin::new(&log.origin).expect("origin");
    let head = TreeHead {
        size: TreeSize(size),
        root: Hash::sha256(b"another history"),
    };
    Checkpoint::new(origin, head)
        .sign(&log_key(&log.origin))
        .expect("sign")
        .to_bytes()
}

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, SignatureType::Ed25519, &[seed; 32]).expect("key")
}

/// An offline bundle of `n` proofs of one release, each with its own
/// (unsigned) checkpoint note.
fn many_notes(n: usize) -> String {
    let proofs: Vec<String> = (0..n)
        .map(|i| {
            serde_json::to_string(&format!(
                "c2sp.org/tlog-proof@v1\nextra e30=\nindex 0\n\nnote {i}\n"
            ))
            .expect("json")
        })
        .collect();
    format!(
        r#"{{"format":"gatelog-offline-bundle/v1","releases":[{{"package":"@acme/widget","version":"1.0.0","proofs":[{}]}}]}}"#,
        proofs.join(",")
    )
}

/// The placeholders of the client rows.
pub fn vars(log: &TestLog) -> Vars {
    let good = lockfile(
        "@acme/widget",
        "1.0.0",
        &Integrity::of(b"widget-1.0.0.tgz").to_string(),
    );
    Vars {
        pairs: vec![
            ("{log}", log.url()),
            ("{lkey}", log.vkey.clone()),
            ("{rkey}", log.reg.verifier_key().to_string()),
            ("{good_lock}", good),
            (
                "{integrity}",
                Integrity::of(b"widget-1.0.0.tgz").to_string(),
            ),
            ("{zeros}", "0".repeat(64)),
            ("{private}", log_key(&log.origin).to_private_text()),
            ("{other_lkey}", key(&log.origin, 99).verifier().to_string()),
            (
                "{reg_private}",
                key("registry.example", 5).to_private_text(),
            ),
            (
                "{stranger_private}",
                key("registry.example", 77).to_private_text(),
            ),
            ("{endless}", crate::common::endless_log()),
        ],
    }
}

/// Every `gatelog` row.
#[rustfmt::skip]
pub fn rows(log: &TestLog) -> Vec<CliCase> {
    let g = "gatelog";
    let good = "{good_lock}";
    let integrity = Integrity::of(b"widget-1.0.0.tgz").to_string();
    let other_key = key(&log.origin, 99);
    let stranger_note = Checkpoint::new(Origin::new(&log.origin).expect("origin"), TreeHead::empty())
        .sign(&other_key).expect("sign").to_bytes();
    let state = state_file(&log.origin);
    let v = verify(&[]);
    let rows = vec![
        // Lockfiles.
        case("lockfile: missing", g, &v, 2, "package-lock.json"),
        case("lockfile: malformed JSON", g, &v, 2, "not valid JSON").file("package-lock.json", "{"),
        case("lockfile: truncated", g, &v, 2, "not valid JSON").file("package-lock.json", &lockfile("a", "1.0.0", &integrity)[..120]),
        case("lockfile: empty", g, &v, 2, "not valid JSON").file("package-lock.json", ""),
        case("lockfile: 100,000 nested [", g, &v, 2, "recursion limit").file("package-lock.json", "[".repeat(100_000)),
        case("lockfile: lockfileVersion 1e400", g, &v, 2, "number out of range").file("package-lock.json", r#"{"lockfileVersion":1e400}"#),
        case("lockfile: lockfileVersion u64 overflow", g, &v, 2, "lockfileVersion").file("package-lock.json", r#"{"lockfileVersion":18446744073709551616}"#),
        case("lockfile: lockfileVersion is a string", g, &v, 2, "lockfileVersion").file("package-lock.json", r#"{"lockfileVersion":"3"}"#),
        case("lockfile: unsupported lockfileVersion", g, &v, 2, "lockfileVersion").file("package-lock.json", r#"{"lockfileVersion":4,"packages":{}}"#),
        case("lockfile: packages is an array", g, &v, 2, "packages").file("package-lock.json", r#"{"lockfileVersion":3,"packages":[]}"#),
        case("lockfile: invalid UTF-8", g, &v, 2, "not valid JSON").file("package-lock.json", &b"{\"lockfileVersion\":3,\"packages\":{\"\xff\":{}}}"[..]),
        case("lockfile: integrity not SRI", g, &no_state(), 1, "FAIL @acme/widget@1.0.0 no-integrity").file("package-lock.json", lockfile("@acme/widget", "1.0.0", "md5-xyz")),
        case("lockfile: only a sha1 integrity", g, &no_state(), 1, "FAIL @acme/widget@1.0.0 no-integrity").file("package-lock.json", lockfile("@acme/widget", "1.0.0", "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=")),
        case("lockfile: no integrity at all", g, &no_state(), 1, "FAIL @acme/widget@1.0.0 no-integrity").file("package-lock.json", lockfile("@acme/widget", "1.0.0", "x").replace(r#","integrity":"x""#, "")),
        case("lockfile: a yarn.lock", g, &v, 2, "not valid JSON").file("package-lock.json", "# yarn lockfile v1\nleft-pad@^1:\n  version \"1.3.0\"\n"),
        case("lockfile: larger than 256 MiB (sparse)", g, &v, 2, "more than the limit").sparse("package-lock.json", (256 << 20) + 1),
        case("lockfile: /dev/zero", g, &verify_lockfile("/dev/zero"), 2, "more than the limit"),
        case("lockfile: a folder without a lockfile", g, &verify_lockfile("{dir}/state"), 2, "no lockfile in").file("state/x", ""),
        // Offline bundles (with a valid lockfile).
        case("offline bundle: missing", g, &verify(&["--offline", "{dir}/b.json"]), 2, "b.json").file("package-lock.json", good),
        case("offline bundle: malformed JSON", g, &verify(&["--offline", "{dir}/b.json"]), 2, "offline bundle").file("package-lock.json", good).file("b.json", "{"),
        case("offline bundle: wrong format", g, &verify(&["--offline", "{dir}/b.json"]), 2, "not a gatelog-offline-bundle/v1 file").file("package-lock.json", good).file("b.json", r#"{"format":"x","releases":[]}"#),
        case("offline bundle: 100,000 nested [", g, &verify(&["--offline", "{dir}/b.json"]), 2, "recursion limit").file("package-lock.json", good).file("b.json", "[".repeat(100_000)),
        case("offline bundle: proof is not a tlog-proof", g, &verify(&["--offline", "{dir}/b.json"]), 2, "malformed proof").file("package-lock.json", good)
            .file("b.json", r#"{"format":"gatelog-offline-bundle/v1","releases":[{"package":"@acme/widget","version":"1.0.0","proofs":["hello"]}]}"#),
        case("offline bundle: index overflows u64", g, &verify(&["--offline", "{dir}/b.json"]), 2, "index").file("package-lock.json", good)
            .file("b.json", r#"{"format":"gatelog-offline-bundle/v1","releases":[{"package":"@acme/widget","version":"1.0.0","proofs":["c2sp.org/tlog-proof@v1\nextra e30=\nindex 18446744073709551616\n\nx"]}]}"#),
        case("offline bundle: extra in non-canonical base64", g, &verify(&["--offline", "{dir}/b.json"]), 2, "base64").file("package-lock.json", good)
            .file("b.json", r#"{"format":"gatelog-offline-bundle/v1","releases":[{"package":"@acme/widget","version":"1.0.0","proofs":["c2sp.org/tlog-proof@v1\nextra e31=\nindex 0\n\nx"]}]}"#),
        case("offline bundle: invalid UTF-8", g, &verify(&["--offline", "{dir}/b.json"]), 2, "offline bundle").file("package-lock.json", good).file("b.json", &b"{\"format\":\"\xff\"}"[..]),
        case("offline bundle: checkpoint signed by another key", g, &verify(&["--offline", "{dir}/b.json"]), 1, "does not verify").file("package-lock.json", good)
            .file("b.json", format!(r#"{{"format":"gatelog-offline-bundle/v1","releases":[{{"package":"@acme/widget","version":"1.0.0","proofs":[{}]}}]}}"#,
                serde_json::to_string(&format!("c2sp.org/tlog-proof@v1\nextra e30=\nindex 0\n\n{}", String::from_utf8_lossy(&stranger_note))).expect("json"))),
        case("offline bundle: 200,000 proofs with distinct checkpoints (quadratic before)", g, &verify(&["--offline", "{dir}/b.json"]), 1, "checkpoint does not verify")
            .file("package-lock.json", good).file("b.json", many_notes(200_000)),
        case("offline bundle: /dev/zero", g, &verify(&["--offline", "/dev/zero"]), 2, "larger than").file("package-lock.json", good),
        // Policy files.
        case("policy: missing", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "p.toml").file("package-lock.json", good),
        case("policy: malformed TOML", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "p.toml").file("package-lock.json", good).file("p.toml", "[policy"),
        case("policy: unknown key", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "unknown field `allow_everything`").file("package-lock.json", good).file("p.toml", "[policy]\nallow_everything = true\n"),
        case("policy: wrong type", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "invalid type").file("package-lock.json", good).file("p.toml", "[policy]\nrequire_signing_device = \"yes\"\n"),
        case("policy: duplicate key", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "duplicate key").file("package-lock.json", good).file("p.toml", "[policy]\naccept_sms = false\naccept_sms = true\n"),
        case("policy: u64 overflow", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "p.toml").file("package-lock.json", good).file("p.toml", "registries = 18446744073709551616\n"),
        case("policy: 100,000 nested arrays", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "p.toml").file("package-lock.json", good).file("p.toml", format!("registries = {}", "[".repeat(100_000))),
        case("policy: invalid UTF-8", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "p.toml").file("package-lock.json", good).file("p.toml", &b"registries = [\"\xff\"]\n"[..]),
        case("policy: malformed registry key", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "registry key").file("package-lock.json", good).file("p.toml", "registries = [\"nonsense\"]\n"),
        case("policy: traversal in a skip pattern", g, &verify(&["--policy", "{dir}/p.toml"]), 2, "pattern").file("package-lock.json", good).file("p.toml", "[policy]\nskip = [\"../../*\"]\n"),
        case("policy: /dev/zero", g, &verify(&["--policy", "/dev/zero"]), 2, "larger than").file("package-lock.json", good),
        // The state folder.
        case("state: checkpoint signed by another key", g, &v, 3, "does not verify with this log key").file("package-lock.json", good).file(&state, stranger_note.clone()),
        case("state: garbage checkpoint", g, &v, 3, "does not verify with this log key").file("package-lock.json", good).file(&state, "garbage"),
        case("state: folder is a file", g, &v, 3, "state").file("package-lock.json", good).file("state", "a file"),
        case("state: a forked checkpoint of this log", g, &v, 1, "SECURITY ERROR").file("package-lock.json", good).file(&state, forged_note(log, 5)),
        case("state: a checkpoint beyond the log (a rollback)", g, &v, 1, "SECURITY ERROR: the log signed a checkpoint of 1000 entries before").file("package-lock.json", good).file(&state, forged_note(log, 1000)),
        // Keys.
        case("--log-key garbage", g, &["verify", "--log", "{log}", "--log-key", "nonsense", "--registry-key", "{rkey}", "--lockfile", "{dir}/package-lock.json", "--no-state"], 2, "--log-key").file("package-lock.json", good),
        case("--log-key is a private key", g, &["verify", "--log", "{log}", "--log-key", "{private}", "--registry-key", "{rkey}", "--lockfile", "{dir}/package-lock.json", "--no-state"], 2, "--log-key").file("package-lock.json", good),
        case("--log-key of another log", g, &["verify", "--log", "{log}", "--log-key", "{other_lkey}", "--registry-key", "{rkey}", "--lockfile", "{dir}/package-lock.json", "--no-state"], 1, "does not verify").file("package-lock.json", good),
        case("--registry-key garbage", g, &["verify", "--log", "{log}", "--log-key", "{lkey}", "--registry-key", "x+y+z", "--lockfile", "{dir}/package-lock.json", "--no-state"], 2, "--registry-key").file("package-lock.json", good),
        case("--log is not http(s)", g, &["verify", "--log", "file:///etc/passwd", "--log-key", "{lkey}", "--registry-key", "{rkey}", "--lockfile", "{dir}/package-lock.json", "--no-state"], 2, "not an http(s) URL").file("package-lock.json", good),
        // Signed notes given to `proof consistency` and `checkpoint`.
        case("proof consistency: garbage note", g, &["proof", "consistency", "--old", "{dir}/old", "--log", "{log}", "--log-key", "{lkey}"], 2, "old").file("old", "garbage"),
        case("proof consistency: note signed by another key", g, &["proof", "consistency", "--old", "{dir}/old", "--log", "{log}", "--log-key", "{lkey}"], 2, "old").file("old", stranger_note.clone()),
        case("proof consistency: truncated note", g, &["proof", "consistency", "--old", "{dir}/old", "--log", "{log}", "--log-key", "{lkey}"], 2, "old").file("old", forged_note(log, 5)[..40].to_vec()),
        case("proof consistency: a forked note", g, &["proof", "consistency", "--old", "{dir}/old", "--log", "{log}", "--log-key", "{lkey}"], 1, "SECURITY ERROR").file("old", forged_note(log, 3)),
        case("checkpoint: garbage state", g, &["checkpoint", "--log", "{log}", "--log-key", "{lkey}", "--state-dir", "{dir}/state"], 3, "does not verify").file(&state, "garbage"),
        case("checkpoint: forked state", g, &["checkpoint", "--log", "{log}", "--log-key", "{lkey}", "--state-dir", "{dir}/state"], 1, "SECURITY ERROR").file(&state, forged_note(log, 5)),
        // Answers of a hostile log.
        case("a log whose answers never end", g, &["checkpoint", "--log", "{endless}", "--log-key", "{lkey}", "--state-dir", "{dir}/state"], 3, "larger than 536870912 bytes"),
        case("verify against a log whose answers never end", g, &["verify", "--log", "{endless}", "--log-key", "{lkey}", "--registry-key", "{rkey}", "--lockfile", "{dir}/package-lock.json", "--no-state"], 3, "larger than 536870912 bytes")
            .file("package-lock.json", good),
        // Other inputs.
        case("entry: beyond the log", g, &["entry", "18446744073709551615", "--log", "{log}", "--log-key", "{lkey}"], 1, "no entry 18446744073709551615"),
        case("entry: index overflows u64", g, &["entry", "18446744073709551616", "--log", "{log}", "--log-key", "{lkey}"], 2, "invalid value"),
        case("proof inclusion: leaf hash not hex", g, &["proof", "inclusion", "--leaf-hash", "zz", "--log", "{log}", "--log-key", "{lkey}"], 2, "64 hex digits"),
        case("submit: event with a traversal package name", g, &["submit", "--event", "{dir}/e.json", "--registry-key-file", "{dir}/r.key", "--log", "{log}", "--log-key", "{lkey}"], 2, "invalid npm package name")
            .file("e.json", r#"{"type":"publish","package":"../../x","registry":"https://registry.example","time":"2026-03-02T10:21:00Z","version":"1.0.0","integrity":"{integrity}","dist_tag":"latest","via":"direct"}"#).file("r.key", "{reg_private}"),
        case("submit: garbage key file", g, &["submit", "--event", "{dir}/e.json", "--registry-key-file", "{dir}/r.key", "--log", "{log}", "--log-key", "{lkey}"], 2, "r.key")
            .file("e.json", "{}").file("r.key", "garbage"),
        case("submit: a registry the log does not allow", g, &["submit", "--event", "{dir}/e.json", "--registry-key-file", "{dir}/r.key", "--log", "{log}", "--log-key", "{lkey}"], 1, "not signed by an allowlisted submitter")
            .file("e.json", r#"{"type":"publish","package":"left-pad","registry":"https://registry.example","time":"2026-03-02T10:21:00Z","version":"7.0.0","integrity":"{integrity}","dist_tag":"latest","via":"direct"}"#).file("r.key", "{stranger_private}"),
        case("sign-approval: garbage device key", g, &["sign-approval", "--package", "a", "--version", "1.0.0", "--integrity", "{integrity}", "--stage-leaf-hash", "{zeros}", "--device-key-file", "{dir}/d.key"], 2, "d.key").file("d.key", "garbage"),
        case("approve-statement: traversal package", g, &["approve-statement", "--package", "../x", "--version", "1.0.0", "--integrity", "{integrity}", "--stage-leaf-hash", "{zeros}"], 2, "invalid npm package name"),
        case("approve-statement: version 1e400", g, &["approve-statement", "--package", "a", "--version", "1e400", "--integrity", "{integrity}", "--stage-leaf-hash", "{zeros}"], 2, "--version"),
    ];
    rows
}
