//! The HTTP side of the matrix: the table's shape, how an answer is
//! checked, and the run against a real server. The rows are in
//! `http_writes.rs` (submissions) and `http_reads.rs` (everything else).

use gatelog_core::VerifierKey;
use gatelog_e2e::TestLog;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::common::{assert_unchanged, head, raw_exchange, request};
use crate::{http_reads, http_writes};

/// What a case must get back.
#[derive(Clone, Copy, Debug)]
pub enum Want {
    /// This status, with a JSON error of this code whose message contains
    /// this text.
    Error(u16, &'static str, &'static str),
    /// `200` with one result per envelope, each an error object with this
    /// status, code and message text.
    BatchErrors(u16, &'static str, &'static str),
    /// A replay: `200` with `"duplicate": true` for every envelope.
    Duplicates,
    /// Refused by the HTTP layer before any handler: this status, empty body.
    Status(u16),
}

/// This status with a JSON error of this code whose message contains this.
pub fn err(status: u16, code: &'static str, message: &'static str) -> Want {
    Want::Error(status, code, message)
}

/// One row of the table.
pub struct Case {
    /// What is hostile about it.
    pub name: String,
    /// The raw HTTP request.
    pub request: Vec<u8>,
    /// The expected answer.
    pub want: Want,
}

/// The table; each method adds one row.
#[derive(Default)]
pub struct Table {
    /// The rows.
    pub cases: Vec<Case>,
}

impl Table {
    /// A raw request.
    pub fn raw(&mut self, name: impl Into<String>, request: Vec<u8>, want: Want) {
        self.cases.push(Case {
            name: name.into(),
            request,
            want,
        });
    }

    /// `GET path`.
    pub fn get(&mut self, name: &str, path: &str, want: Want) {
        self.raw(
            format!("GET {path}: {name}"),
            request("GET", path, b""),
            want,
        );
    }

    /// `POST path` with `body`.
    pub fn post(&mut self, name: &str, path: &str, body: impl Into<Vec<u8>>, want: Want) {
        let name = format!("POST {path}: {name}");
        self.raw(name, request("POST", path, &body.into()), want);
    }

    /// One envelope to `POST /v1/entries`, and the same as the only element
    /// of a batch: there a per-entry error if the batch is a JSON array,
    /// else the batch is refused as a whole.
    pub fn envelope(&mut self, name: &str, body: impl Into<Vec<u8>>, want: Want) {
        let body = body.into();
        self.post(name, "/v1/entries", body.clone(), want);
        if body.is_empty() {
            return;
        }
        let batch = [b"[".as_slice(), &body, b"]"].concat();
        let in_batch = match want {
            _ if serde_json::from_slice::<Vec<&RawValue>>(&batch).is_err() => {
                err(400, "bad_batch", "expected a JSON array of envelopes")
            }
            Want::Error(status, code, message) => Want::BatchErrors(status, code, message),
            other => other,
        };
        self.post(name, "/v1/entries/batch", batch, in_batch);
    }
}

/// Checks one answer against what the case wants; `Err` says why not.
pub fn check(want: Want, status: u16, body: &[u8]) -> Result<(), String> {
    let json = || serde_json::from_slice::<Value>(body).map_err(|e| format!("not JSON ({e})"));
    let is_error = |v: &Value, code: &str, message: &str| {
        let m = v["message"].as_str().unwrap_or_default();
        if v["error"] != code || !m.contains(message) {
            return Err(format!("want {code} with {message:?}, got {v}"));
        }
        Ok(())
    };
    match want {
        Want::Error(s, code, message) => {
            if status != s {
                return Err(format!("want {s}, got {status}"));
            }
            is_error(&json()?, code, message)
        }
        Want::BatchErrors(s, code, message) => {
            let v = json()?;
            let results = v["results"]
                .as_array()
                .filter(|r| status == 200 && !r.is_empty())
                .ok_or_else(|| format!("want 200 with results, got {status} {v}"))?;
            for r in results {
                is_error(r, code, message)?;
                if r["status"] != s {
                    return Err(format!("want per-entry status {s}, got {r}"));
                }
            }
            Ok(())
        }
        Want::Duplicates => {
            let v = json()?;
            let all = match v["results"].as_array() {
                Some(results) => results.iter().all(|r| r["duplicate"] == true),
                None => v["duplicate"] == true,
            };
            if status != 200 || !all {
                return Err(format!("want 200 duplicates, got {status} {v}"));
            }
            Ok(())
        }
        Want::Status(s) if status == s && body.is_empty() => Ok(()),
        Want::Status(s) => Err(format!("want {s} with an empty body, got {status}")),
    }
}

/// Every case, against a fresh log seeded by [`http_writes::seed`]; returns
/// the number of cases. The request timeout is 2 s so the slow-body case
/// ends quickly.
pub fn run() -> usize {
    let log = TestLog::start_with("hostile.gatelog.test/log", &["--request-timeout-secs", "2"]);
    let key = VerifierKey::parse(&log.vkey).expect("log key");
    let seeded = http_writes::seed(&log);
    let mut table = Table::default();
    http_writes::rows(&mut table, &log, &seeded);
    http_reads::rows(&mut table);
    let mut failures = Vec::new();
    for case in &table.cases {
        let before = head(log.server.addr, &key);
        match raw_exchange(log.server.addr, &case.request) {
            Ok((status, body)) => {
                if let Err(why) = check(case.want, status, &body) {
                    failures.push(format!("{}: {why}", case.name));
                }
            }
            Err(e) => failures.push(format!("{}: no answer: {e}", case.name)),
        }
        // The server is still up, and the log is exactly as before.
        assert_unchanged(log.server.addr, &key, before, &case.name);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.cases.len(),
        failures.join("\n")
    );
    let (status, _) = log.server.get("/healthz");
    assert_eq!(status, 200, "the server is healthy after every case");
    table.cases.len()
}
