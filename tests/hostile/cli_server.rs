//! Rows for `gatelog-server`: its TOML config file, its key file (and
//! `GATELOG_LOG_KEY`) and its flags, each given to a copy of a data folder
//! that already holds a log. The server must exit with a message, write
//! nothing, and the log must open afterwards exactly as it was.

use std::path::Path;

use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_e2e::{Server, http_post, log_key};
use gatelog_lab::sample::SampleRegistry;

use crate::cli::{CliCase, Vars, case};

/// The log every server row starts from.
pub const ORIGIN: &str = "hostile-server.gatelog.test/log";

/// Makes a data folder holding a log of 3 entries and its signed checkpoint;
/// returns the checkpoint note.
pub fn template(data: &Path) -> Vec<u8> {
    std::fs::write(data.join("log.key"), log_key(ORIGIN).to_private_text()).expect("key");
    let reg = SampleRegistry::new("registry.example", 5);
    let rk = reg.verifier_key().to_string();
    let server = Server::start_with(
        data,
        ORIGIN,
        &["--submitter-key", &rk, "--batch-interval-ms", "5"],
    );
    for v in ["1.0.0", "1.0.1", "1.0.2"] {
        let env = reg.publish_direct("left-pad", v, v.as_bytes(), 1_780_000_000);
        let (status, _) = http_post(server.addr, "/v1/entries", &env.to_json()).expect("submit");
        assert_eq!(status, 201);
    }
    let (_, note) = server.get("/checkpoint");
    server.kill9();
    note
}

/// The placeholders of the server rows.
pub fn vars() -> Vars {
    let key = |name: &str, seed: u8| {
        SignerKey::from_seed(name, SignatureType::Ed25519, &[seed; 32]).expect("key")
    };
    Vars {
        pairs: vec![
            ("{origin}", ORIGIN.to_owned()),
            (
                "{rkey}",
                SampleRegistry::new("registry.example", 5)
                    .verifier_key()
                    .to_string(),
            ),
            (
                "{other_origin_key}",
                key("other.test/log", 11).to_private_text(),
            ),
            ("{verifier}", log_key(ORIGIN).verifier().to_string()),
        ],
    }
}

/// The server command: the case's copy of the log, a port the kernel picks.
const BASE: [&str; 8] = [
    "--data",
    "{dir}/data",
    "--listen",
    "127.0.0.1:0",
    "--origin",
    "{origin}",
    "--submitter-key",
    "{rkey}",
];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    BASE.iter().copied().chain(extra.iter().copied()).collect()
}

/// Every `gatelog-server` row, each on a copy of `template`.
#[rustfmt::skip]
pub fn rows(template: &Path) -> Vec<CliCase> {
    let s = "gatelog-server";
    let cfg = with(&["--config", "{dir}/c.toml"]);
    let config = |name: &str, text: &[u8], stderr: &'static str| case(&format!("config file: {name}"), s, &cfg, 2, stderr).file("c.toml", text);
    let keyfile = |name: &str, text: &[u8], code: i32, stderr: &'static str| case(&format!("key file: {name}"), s, &BASE, code, stderr).file("data/log.key", text);
    let flag = |name: &str, extra: &[&'static str], stderr: &'static str| case(&format!("flag: {name}"), s, &with(extra), 2, stderr);
    let origin = |name: &str, value: &'static str| case(&format!("flag: origin {name}"), s, &BASE, 2, "invalid origin")
        .tap_args(|a| a.iter_mut().filter(|x| *x == "{origin}").for_each(|x| *x = value.to_owned()));
    let rows = vec![
        config("malformed TOML", b"origin = ", "c.toml"),
        config("unknown key", b"admin = true\n", "unknown field `admin`"),
        config("wrong type", b"batch_interval_ms = \"fast\"\n", "invalid type"),
        config("u64 overflow", b"pool_size = 18446744073709551616\n", "c.toml"),
        config("a pool too large to allocate", b"pool_size = 9223372036854775807\n", "pool_size must be 1..=1048576"),
        config("negative number", b"pool_size = -1\n", "c.toml"),
        config("zero max_batch", b"max_batch = 0\n", "max_batch must be 1..=1048576"),
        config("zero batch interval", b"batch_interval_ms = 0\n", "batch_interval_ms must be 1..=60000"),
        config("huge float (1e400)", b"batch_interval_ms = 1e400\n", "c.toml"),
        config("nan", b"request_timeout_secs = nan\n", "c.toml"),
        config("100,000 nested arrays", format!("submitter_keys = {}", "[".repeat(100_000)).as_bytes(), "c.toml"),
        config("invalid UTF-8", b"origin = \"\xff\"\n", "c.toml"),
        config("duplicate key", b"pool_size = 1\npool_size = 2\n", "duplicate key"),
        config("listen is not an address", b"listen = \"nowhere\"\n", "invalid socket address"),
        config("log_format unknown", b"log_format = \"xml\"\n", "log_format must be \"text\" or \"json\""),
        config("malformed submitter key", b"submitter_keys = [\"garbage\"]\n", "submitter key \"garbage\""),
        config("origin with a space (used when no --origin)", b"origin = \"a b\"\n", "invalid origin \"a b\"").tap_args(|a| a.retain(|x| x != "--origin" && x != "{origin}")),
        case("config file: missing", s, &cfg, 2, "c.toml"),
        case("config file: a folder", s, &cfg, 2, "c.toml").file("c.toml/x", ""),
        case("config file: /dev/zero", s, &with(&["--config", "/dev/zero"]), 2, "larger than"),
        keyfile("garbage", b"garbage", 1, "log key from"),
        keyfile("empty", b"", 1, "log key from"),
        keyfile("truncated", &log_key(ORIGIN).to_private_text().as_bytes()[..30], 1, "log key from"),
        keyfile("a key for another origin", b"{other_origin_key}", 2, "log key is named \"other.test/log\" but the log's origin is"),
        keyfile("a verifier key, not a private key", b"{verifier}", 1, "log key from"),
        keyfile("invalid UTF-8", b"PRIVATE+KEY+\xff", 1, "key file"),
        case("key file: a folder", s, &BASE, 1, "key file").remove("data/log.key").file("data/log.key/x", ""),
        case("key file: /dev/zero", s, &BASE, 1, "larger than").link("data/log.key", "/dev/zero"),
        case("key file: missing while the folder holds a log", s, &BASE, 1, "is missing but the data folder already holds a log").remove("data/log.key"),
        case("GATELOG_LOG_KEY: garbage", s, &BASE, 1, "GATELOG_LOG_KEY").env("GATELOG_LOG_KEY", "garbage"),
        case("GATELOG_LOG_KEY: another origin's key", s, &BASE, 2, "log key is named \"other.test/log\"").env("GATELOG_LOG_KEY", "{other_origin_key}"),
        flag("malformed submitter key", &["--submitter-key", "x+y+z"], "submitter key \"x+y+z\""),
        origin("with a space", "a b"),
        origin("empty", ""),
        origin("with a newline", "a\nb"),
        origin("path traversal", "../../etc/passwd b"),
        flag("batch interval 1e400", &["--batch-interval-ms", "1e400"], "invalid value '1e400'"),
        flag("negative pool size", &["--pool-size", "-1"], "unexpected argument '-1'"),
        flag("a pool too large to allocate", &["--pool-size", "18446744073709551615"], "pool_size must be 1..=1048576"),
        flag("max batch overflows u64", &["--max-batch", "18446744073709551616"], "invalid value"),
        flag("log format unknown", &["--log-format", "xml"], "invalid value 'xml'"),
        case("flag: data is a file", s, &["--data", "{dir}/file", "--listen", "127.0.0.1:0", "--origin", "{origin}"], 1, "data folder").file("file", "x"),
    ];
    rows.into_iter().map(|r| r.copy(template, "data")).collect()
}

/// A small helper for rows that edit their own arguments.
trait TapArgs {
    fn tap_args(self, f: impl FnOnce(&mut Vec<String>)) -> Self;
}

impl TapArgs for CliCase {
    fn tap_args(mut self, f: impl FnOnce(&mut Vec<String>)) -> CliCase {
        f(&mut self.args);
        self
    }
}

/// After a row: the copy of the log opens with its real key and serves
/// exactly the checkpoint it had. A key file a row replaced is restored
/// first (the file comparison already showed the server left it alone).
pub fn unchanged(label: &str, dir: &Path, note: &[u8]) {
    let data = dir.join("data");
    if !data.join("db").exists() {
        return;
    }
    let key = data.join("log.key");
    let _ = std::fs::remove_dir_all(&key);
    let _ = std::fs::remove_file(&key);
    std::fs::write(&key, log_key(ORIGIN).to_private_text()).expect("restore key");
    let server = Server::start(&data, ORIGIN);
    let (_, served) = server.get("/checkpoint");
    assert_eq!(served, note, "{label}: the log changed");
}
