//! Rows for the read endpoints (entries, proofs, events, bundles, tiles,
//! the checkpoint) and for HTTP itself: malformed, overflowing, duplicated
//! and non-UTF-8 query values, path traversal in paths, package names and
//! tile paths, oversized and nested bodies, wrong methods and broken framing.

use crate::http::{Table, Want, err};

/// Every row for the read endpoints and HTTP framing.
pub fn rows(t: &mut Table) {
    entries(t);
    proofs(t);
    events(t);
    bundles(t);
    tiles(t);
    framing(t);
}

/// `GET /v1/entries/{index}`.
#[rustfmt::skip]
fn entries(t: &mut Table) {
    let q = |m: &'static str| err(400, "bad_query", m);
    for (name, index) in [("not a number", "abc"), ("negative", "-1"), ("u64 overflow", "18446744073709551616"),
        ("huge number (1e400)", "1e400"), ("%2e%2e", "%2e%2e")] {
        t.get(name, &format!("/v1/entries/{index}"), err(400, "bad_index", "Cannot parse"));
    }
    t.get("beyond the log", "/v1/entries/99999", err(404, "not_found", "no entry 99999"));
    t.get("u64::MAX", "/v1/entries/18446744073709551615", err(404, "not_found", "no entry 18446744073709551615"));
    t.get("tree_size not a number", "/v1/entries/0?tree_size=abc", q("tree_size"));
    t.get("tree_size 1e400", "/v1/entries/0?tree_size=1e400", q("tree_size"));
    t.get("tree_size overflow", "/v1/entries/0?tree_size=18446744073709551616", q("tree_size"));
    t.get("tree_size invalid UTF-8", "/v1/entries/0?tree_size=%ff", q("tree_size"));
    t.get("tree_size twice", "/v1/entries/0?tree_size=1&tree_size=2", q("duplicate field `tree_size`"));
    t.get("tree_size beyond the log", "/v1/entries/0?tree_size=99", err(400, "bad_tree_size", "beyond the latest checkpoint"));
    t.get("index outside tree_size", "/v1/entries/0?tree_size=0", err(404, "not_found", "in a tree of size 0"));
    t.get("dot segments", "/v1/entries/0/../../checkpoint", err(404, "not_found", "no such endpoint"));
    t.get("no entry index", "/v1/entries", err(405, "method_not_allowed", "does not take that method"));
}

/// `GET /v1/proofs/inclusion` and `GET /v1/proofs/consistency`.
#[rustfmt::skip]
fn proofs(t: &mut Table) {
    let q = |m: &'static str| err(400, "bad_query", m);
    let inc = "/v1/proofs/inclusion";
    let zeros = "0".repeat(64);
    let bad_hash = err(400, "bad_leaf_hash", "64 hex digits");
    t.get("neither index nor leaf_hash", inc, q("exactly one of index and leaf_hash"));
    t.get("both index and leaf_hash", &format!("{inc}?index=0&leaf_hash={zeros}"), q("exactly one of index and leaf_hash"));
    t.get("leaf_hash not hex", &format!("{inc}?leaf_hash=zz"), bad_hash);
    t.get("leaf_hash 63 digits", &format!("{inc}?leaf_hash={}", "a".repeat(63)), bad_hash);
    t.get("leaf_hash 66 digits", &format!("{inc}?leaf_hash={}", "a".repeat(66)), bad_hash);
    t.get("leaf_hash traversal", &format!("{inc}?leaf_hash=..%2F..%2Fetc%2Fpasswd"), bad_hash);
    t.get("unknown leaf_hash", &format!("{inc}?leaf_hash={zeros}"), err(404, "not_found", "no entry with leaf hash"));
    t.get("index overflow", &format!("{inc}?index=18446744073709551616"), q("index"));
    t.get("index negative", &format!("{inc}?index=-1"), q("index"));
    t.get("index invalid UTF-8", &format!("{inc}?index=%ff"), q("index"));
    t.get("index twice", &format!("{inc}?index=0&index=1"), q("duplicate field `index`"));
    t.get("index beyond the log", &format!("{inc}?index=99999"), err(404, "not_found", "no entry 99999"));
    t.get("tree_size beyond the log", &format!("{inc}?index=0&tree_size=99"), err(400, "bad_tree_size", "beyond"));

    let con = "/v1/proofs/consistency";
    t.get("old missing", con, q("missing field `old`"));
    t.get("old > new", &format!("{con}?old=3&new=2"), err(400, "bad_tree_size", "old size 3 is larger than new size 2"));
    t.get("new beyond the log", &format!("{con}?old=0&new=99"), err(400, "bad_tree_size", "beyond"));
    t.get("old u64::MAX", &format!("{con}?old=18446744073709551615"), err(400, "bad_tree_size", "larger than new size"));
    t.get("old overflow", &format!("{con}?old=18446744073709551616"), q("old"));
    t.get("old negative", &format!("{con}?old=-1"), q("old"));
    t.get("old 1e400", &format!("{con}?old=1e400"), q("old"));
    t.get("old twice", &format!("{con}?old=1&old=2"), q("duplicate field `old`"));
}

/// `GET /v1/events` and `GET /v1/bundle`.
#[rustfmt::skip]
fn events(t: &mut Table) {
    let q = |m: &'static str| err(400, "bad_query", m);
    let pkg = |m: &'static str| err(400, "bad_package", m);
    let reg = |m: &'static str| err(400, "bad_registry", m);
    let ev = "/v1/events?registry=registry.example&";
    t.get("package missing", ev, q("missing field `package`"));
    t.get("registry missing", "/v1/events?package=a", q("missing field `registry`"));
    for (name, value) in [("ftp scheme", "ftp://registry.example"), ("a path", "registry.example%2Fnpm"),
        ("user info", "https://u@registry.example"), ("capital letters", "Registry.example"), ("empty", "")] {
        t.get(&format!("registry: {name}"), &format!("/v1/events?registry={value}&package=a"), reg("registry"));
    }
    for (name, value) in [("path traversal", "../etc/passwd"), ("encoded traversal", "%2e%2e%2fetc%2fpasswd"),
        ("absolute path", "/etc/passwd"), ("encoded absolute path", "%2Fetc%2Fpasswd"),
        ("scoped traversal", "@acme%2F..%2F..%2Fx"), ("invalid UTF-8", "%ff"), ("NUL byte", "a%00b"),
        // Capital letters are valid (legacy names such as `JSONStream`); a
        // character `encodeURIComponent` would escape is not.
        ("not URL-safe", "a%3Ab"), ("a space", "Left%20Pad"), ("encoded dot-dot", "%2E%2E")] {
        t.get(&format!("package: {name}"), &format!("{ev}package={value}"), pkg("invalid npm package name"));
    }
    t.get("package over 214 bytes", &format!("{ev}package={}", "a".repeat(300)), pkg("214"));
    t.get("package twice", &format!("{ev}package=a&package=b"), q("duplicate field `package`"));
    t.get("limit negative", &format!("{ev}package=a&limit=-1"), q("limit"));
    t.get("limit 1e400", &format!("{ev}package=a&limit=1e400"), q("limit"));
    t.get("after overflow", &format!("{ev}package=a&after=18446744073709551616"), q("after"));

    let bu = "/v1/bundle?registry=registry.example&";
    t.get("version missing", &format!("{bu}package=a"), q("missing field `version`"));
    t.get("package missing", &format!("{bu}version=1.0.0"), q("missing field `package`"));
    t.get("registry missing", "/v1/bundle?package=a&version=1", q("missing field `registry`"));
    t.get("registry with a path", "/v1/bundle?registry=https://r.example/npm&package=a&version=1", reg("registry"));
    t.get("package traversal", &format!("{bu}package=../x&version=1.0.0"), pkg("invalid npm package name"));
    t.get("package encoded traversal", &format!("{bu}package=@acme%2F..%2F..%2Fx&version=1"), pkg("invalid npm package name"));
    t.get("package twice", &format!("{bu}package=a&package=b&version=1"), q("duplicate field `package`"));
}

/// `POST /v1/bundles`.
#[rustfmt::skip]
fn bundles(t: &mut Table) {
    let p = "/v1/bundles";
    let bad = |m: &'static str| err(400, "bad_request", m);
    let release = r#"{"registry":"registry.example","package":"a","version":"1"}"#;
    t.post("malformed JSON", p, r#"{"releases":"#, bad("EOF while parsing"));
    t.post("empty body", p, "", bad("EOF while parsing"));
    t.post("wrong type: releases is a number", p, r#"{"releases":5}"#, bad("invalid type: integer `5`"));
    t.post("top level is an array", p, "[]", bad("expected a JSON object"));
    t.post("releases as arrays, not objects", p, r#"{"releases":[["registry.example","a","1"]]}"#, bad("expected a JSON object"));
    t.post("the whole request as nested arrays", p, r#"[[["a","1"]]]"#, bad("expected a JSON object"));
    t.post("unknown top-level field", p, r#"{"releases":[],"admin":1}"#, bad("unknown field `admin`"));
    t.post("unknown release field", p, r#"{"releases":[{"registry":"r.example","package":"a","version":"1","x":1}]}"#, bad("unknown field `x`"));
    t.post("duplicate key releases", p, r#"{"releases":[],"releases":[]}"#, bad("duplicate field `releases`"));
    t.post("registry missing", p, r#"{"releases":[{"package":"a","version":"1"}]}"#, bad("missing field `registry`"));
    t.post("wrong type: package is a number", p, r#"{"releases":[{"registry":"r.example","package":1,"version":"1"}]}"#, bad("invalid type: integer `1`"));
    t.post("huge number (1e400) as version", p, r#"{"releases":[{"registry":"r.example","package":"a","version":1e400}]}"#, bad("number out of range"));
    t.post("100,000 nested [", p, format!(r#"{{"releases":{}"#, "[".repeat(100_000)), bad("expected a JSON object"));
    t.post("invalid UTF-8", p, &b"{\"releases\":[{\"registry\":\"r.example\",\"package\":\"\xff\",\"version\":\"1\"}]}"[..], bad("invalid unicode"));
    t.post("path traversal in a package name", p,
        r#"{"releases":[{"registry":"r.example","package":"left-pad","version":"1"},{"registry":"r.example","package":"../../etc/passwd","version":"1"}]}"#,
        err(400, "bad_package", "invalid npm package name \"../../etc/passwd\""));
    t.post("a registry that is no origin", p, r#"{"releases":[{"registry":"file:///etc","package":"a","version":"1"}]}"#,
        err(400, "bad_registry", "registry"));
    t.post("5,001 releases", p, format!(r#"{{"releases":[{}]}}"#, vec![release; 5001].join(",")),
        err(413, "too_large", "at most 5000 releases per request, got 5001"));
    t.post("60,000 more after 5,000 (counted, not kept)", p,
        format!(r#"{{"releases":[{},{}]}}"#, vec![release; 5000].join(","), vec!["{}"; 60_000].join(",")),
        err(413, "too_large", "got 65000"));
    t.post("body one byte over 4 MiB", p, vec![b' '; 4 * 1024 * 1024 + 1], err(413, "too_large", "4194304"));
}

/// `GET /tile/…` and `GET /tile/entries/…` (the log holds 5 entries).
#[rustfmt::skip]
fn tiles(t: &mut Table) {
    for path in [
        "/tile/0/../../etc/passwd", "/tile/%2e%2e/000", "/tile/0/%2e%2e", "/tile/0%2F000.p%2F5", "/tile/0/000%2Ep/5",
        "/tile/0/x000/001", "/tile/0/001.p/0", "/tile/0/000.p/256", "/tile/0/000.p/-1", "/tile/64/000", "/tile/-1/000",
        "/tile/00/000", "/tile/0/", "/tile/0/000/", "/tile/0/0000", "/tile/0/x018/x446/x744/x073/x709/x551/616",
        "/tile//etc/passwd", "/tile/entries/../000", "/tile/entries/%2e%2e", "/tile/entries/000.p/256",
        "/tile/entries/000.p/5/",
    ] {
        t.get("not canonical", path, err(400, "bad_tile_path", ""));
    }
    t.get("longer than 64 bytes", &format!("/tile/0/{}001", "x001/".repeat(14)), err(400, "bad_tile_path", ""));
    t.get("beyond the log", "/tile/0/999", err(404, "not_found", "does not exist at tree size 5"));
    t.get("wider than the log", "/tile/0/000.p/6", err(404, "not_found", "does not exist"));
    t.get("entries wider than the log", "/tile/entries/000.p/6", err(404, "not_found", "does not exist"));
}

/// Methods, unknown paths and HTTP framing.
#[rustfmt::skip]
fn framing(t: &mut Table) {
    use crate::common::request;
    let method = err(405, "method_not_allowed", "does not take that method");
    let nowhere = err(404, "not_found", "no such endpoint");
    t.post("POST to a read", "/checkpoint", "", method);
    t.raw("PUT /v1/entries", request("PUT", "/v1/entries", b"{}"), method);
    t.raw("DELETE a tile", request("DELETE", "/tile/0/000.p/1", b""), method);
    t.get("absolute path", "//etc/passwd", nowhere);
    t.get("dot segments", "/checkpoint/../v1/entries/0", nowhere);
    t.raw("garbage request line", b"GARBAGE\r\n\r\n".to_vec(), Want::Status(400));
    t.raw("invalid method token", b"G@T /checkpoint HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Want::Status(400));
    t.raw("a 1 MB header", format!("GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(1 << 20)).into_bytes(),
        Want::Status(431));
    t.raw("negative Content-Length", b"POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(), Want::Status(400));
    t.raw("a chunk size that is not hex",
        b"POST /v1/entries HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(),
        err(400, "bad_body", "could not be read"));
    t.raw("a body that never arrives (Content-Length 100, 5 bytes sent)",
        b"POST /v1/entries HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{\"pay".to_vec(),
        Want::Status(408));
}
