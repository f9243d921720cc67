//! Rows for `gatelog-monitor --once`: its TOML config file, its flags and
//! keys, and its state folder. A refused run exits 2 with a message and
//! creates or changes no state; where a row opens an existing state, the
//! next good run must find it intact (nothing new to process, no alert).

use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_e2e::TestLog;

use crate::cli::{CliCase, Vars, case};

/// The placeholders of the monitor rows.
pub fn vars(log: &TestLog) -> Vars {
    let other = SignerKey::from_seed(&log.origin, SignatureType::Ed25519, &[98; 32]).expect("key");
    Vars {
        pairs: vec![
            ("{log}", log.url()),
            ("{lkey}", log.vkey.clone()),
            ("{rkey}", log.reg.verifier_key().to_string()),
            ("{other_lkey}", other.verifier().to_string()),
            ("{endless}", crate::common::endless_log()),
        ],
    }
}

/// A new state, audited from entry 0, alerts not printed.
pub const NEW: [&str; 11] = [
    "--log",
    "{log}",
    "--log-key",
    "{lkey}",
    "--registry-key",
    "{rkey}",
    "--state",
    "{dir}/state",
    "--once",
    "--start-at",
    "0",
];

/// The control run: a new state over the seeded log must end with no
/// alert. The seeded history is dated months before it is logged in
/// seconds, so `time-skew` (tested in tests/time_skew.rs) is off and
/// recency windows read the registry's times.
pub fn control() -> CliCase {
    let args = ["--config", "{dir}/m.toml", "--once", "--start-at", "0"];
    case("control", "gatelog-monitor", &args, 0, "").file(
        "m.toml",
        config_text(b"[rules]\ndisabled = [\"time-skew\"]\nrecency_clock = \"registry\"\n"),
    )
}

/// An existing state: no `--start-at`.
const AGAIN: [&str; 9] = [
    "--log",
    "{log}",
    "--log-key",
    "{lkey}",
    "--registry-key",
    "{rkey}",
    "--state",
    "{dir}/state",
    "--once",
];

fn with(base: &[&'static str], extra: &[&'static str]) -> Vec<&'static str> {
    base.iter()
        .copied()
        .chain(extra.iter().copied())
        .chain(["--quiet"])
        .collect()
}

/// A config file naming the log, its key and the state, then `rest`.
fn config_text(rest: &[u8]) -> Vec<u8> {
    let mut text = b"log = \"{log}\"\nlog_key = \"{lkey}\"\nregistries = [\"{rkey}\"]\nstate = \"{dir}/state\"\n".to_vec();
    text.extend_from_slice(rest);
    text
}

/// Every `gatelog-monitor` row.
#[rustfmt::skip]
pub fn rows() -> Vec<CliCase> {
    let m = "gatelog-monitor";
    let cfg = ["--config", "{dir}/m.toml", "--once", "--start-at", "0", "--quiet"];
    let config = |name: &str, rest: &[u8], stderr: &'static str| case(&format!("config file: {name}"), m, &cfg, 2, stderr).file("m.toml", config_text(rest));
    let flag = |name: &str, extra: &[&'static str], stderr: &'static str| case(&format!("flag: {name}"), m, &with(&NEW, extra), 2, stderr);
    // A state made by a good run first; the good run afterwards finds nothing new.
    let existing = |name: &str, args: Vec<&'static str>, stderr: &'static str| case(&format!("state: {name}"), m, &args, 2, stderr)
        .setup(&with(&NEW, &[])).after(&with(&AGAIN, &[]), 0, "(0 new), 0 alert(s)");
    vec![
        config("malformed TOML", b"[rules", "m.toml"),
        config("unknown key", b"admin = true\n", "unknown field `admin`"),
        config("unknown rule key", b"[rules]\nrubber_stamp_secs = 1\n", "unknown field `rubber_stamp_secs`"),
        config("wrong type", b"poll_interval = \"fast\"\n", "invalid type"),
        config("poll_interval nan", b"poll_interval = nan\n", "must be between 0.05 and 3600"),
        config("poll_interval inf", b"poll_interval = inf\n", "must be between 0.05 and 3600"),
        config("poll_interval negative", b"poll_interval = -1.0\n", "must be between 0.05 and 3600"),
        config("a rule threshold whose milliseconds overflow", b"[rules]\nnew_device_hours = 9223372036854775807\n", "new_device_hours = 9223372036854775807 is above its limit"),
        config("a rule threshold that wraps negative", b"[rules]\nrubber_stamp_seconds = 9223372036854775807\n", "rubber_stamp_seconds"),
        config("a burst window that overflows", b"[rules]\nburst_window_minutes = 9223372036854775807\n", "burst_window_minutes"),
        config("a burst of a billion packages", b"[rules]\nburst_packages = 1000000000\n", "burst_packages"),
        config("negative rule threshold", b"[rules]\nburst_packages = -1\n", "invalid value"),
        config("u64 overflow", b"[rules]\nnew_device_hours = 18446744073709551616\n", "m.toml"),
        config("unknown rule id", b"[rules]\ndisabled = [\"nope\"]\n", "nope"),
        config("empty watch pattern", b"watch = [\"\"]\n", "is not a package pattern"),
        config("rule pattern with whitespace", b"[rules]\nrequire_staging = [\"a b\"]\n", "bad package pattern"),
        config("webhook is a file URL", b"webhook = \"file:///etc/passwd\"\n", "must be an http:// or https:// URL"),
        config("metrics_listen is not an address", b"metrics_listen = \"x\"\n", "invalid socket address"),
        case("config file: malformed registry key", m, &cfg, 2, "registry key \"garbage\"")
            .file("m.toml", b"log = \"{log}\"\nlog_key = \"{lkey}\"\nregistries = [\"garbage\"]\nstate = \"{dir}/state\"\n".to_vec()),
        config("100,000 nested arrays", format!("watch = {}", "[".repeat(100_000)).as_bytes(), "m.toml"),
        config("invalid UTF-8", b"watch = [\"\xff\"]\n", "m.toml"),
        config("duplicate key", b"poll_interval = 1.0\npoll_interval = 2.0\n", "duplicate key"),
        case("config file: missing", m, &cfg, 2, "m.toml"),
        case("config file: /dev/zero", m, &["--config", "/dev/zero", "--once"], 2, "larger than"),
        case("flag: log key garbage", m, &["--log", "{log}", "--log-key", "garbage", "--state", "{dir}/state", "--once", "--start-at", "0"], 2, "--log-key \"garbage\""),
        case("flag: log is not http(s)", m, &["--log", "ftp://x", "--log-key", "{lkey}", "--state", "{dir}/state", "--once", "--start-at", "0"], 2, "must be an http:// or https:// URL"),
        flag("registry key garbage", &["--registry-key", "x+y+z"], "registry key \"x+y+z\""),
        flag("poll interval nan", &["--poll-interval", "nan"], "must be between 0.05 and 3600"),
        flag("watch pattern with a space", &["--watch", "a b"], "is not a package pattern"),
        case("flag: start beyond the log", m, &["--log", "{log}", "--log-key", "{lkey}", "--registry-key", "{rkey}", "--state", "{dir}/state", "--once", "--start-at", "18446744073709551615", "--quiet"],
            2, "--start-at 18446744073709551615 is beyond the log's 5 entries"),
        case("a log whose answers never end", m, &["--log", "{endless}", "--log-key", "{lkey}", "--registry-key", "{rkey}", "--state", "{dir}/state", "--once", "--start-at-end"], 3,
            "larger than 262144 bytes"),
        case("state: a file, not a folder", m, &with(&NEW, &[]), 2, "state").file("state", "a file"),
        case("state: a damaged database", m, &with(&AGAIN, &[]), 2, "state database").setup(&with(&NEW, &[])).file("state/CURRENT", "garbage\n"),
        existing("a state of another log", with(&["--log", "{log}", "--log-key", "{other_lkey}", "--registry-key", "{rkey}", "--state", "{dir}/state", "--once"], &[]),
            "the state follows the log with key"),
        existing("--start-at on an existing state", with(&NEW, &[]), "only apply to a new state folder"),
        existing("--start-at-end on an existing state", with(&AGAIN, &["--start-at-end"]), "only apply to a new state folder"),
    ]
}
