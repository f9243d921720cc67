//! The web explorer end to end, against the real `gatelog-server`: over
//! plain HTTP (pages read without JavaScript, hostile text is escaped,
//! long timelines are paged) and in Debian's headless Chromium (the
//! timeline shows every event; the in-browser verification passes on an
//! honest entry and fails on a proof altered by a test double; screenshots
//! at desktop and phone width are kept as artifacts).

#[path = "explorer/browser.rs"]
mod browser;
#[path = "explorer/history.rs"]
mod history;
#[path = "explorer/witness.rs"]
mod witness;

use gatelog_e2e::{FakeHttp, TestLog, http_get, log_key};
use serde_json::Value;

const ORIGIN: &str = "explorer.gatelog.test/log";
const WIDGET: &str = "/package?registry=registry.example&package=widget";

/// `GET path`, which must answer 200 with HTML.
fn page(log: &TestLog, path: &str) -> String {
    let (status, body) = log.server.get(path);
    let body = String::from_utf8(body).expect("UTF-8 page");
    assert_eq!(status, 200, "{path}: {body}");
    assert!(body.starts_with("<!doctype html>"), "{path}: {body}");
    body
}

/// The `<li>` of entry `index` on a timeline.
fn item(timeline: &str, index: u64) -> &str {
    let start = timeline
        .find(&format!("id=\"e{index}\""))
        .unwrap_or_else(|| panic!("no event {index} on the timeline"));
    let len = timeline[start..].find("</li>").expect("end of the item");
    &timeline[start..start + len]
}

fn json(log: &TestLog, path: &str) -> Value {
    let (status, body) = log.server.get(path);
    assert_eq!(status, 200, "{path}");
    serde_json::from_slice(&body).expect("JSON")
}

#[test]
fn pages_read_without_javascript_and_escape_hostile_text() {
    let log = TestLog::start(ORIGIN);
    let h = history::log(&log);

    let home = page(&log, "/");
    assert!(home.contains(r#"<html lang="en">"#));
    assert!(home.contains(r#"<label for="package">"#) && home.contains(r#"id="package""#));
    assert!(home.contains(r#"<label for="registry">"#) && home.contains(r#"id="registry""#));
    assert!(home.contains(r#"name="viewport""#));
    assert!(home.contains("<code>registry.example</code>"));

    let timeline = page(&log, WIDGET);
    for (i, kind) in &h.events {
        assert!(
            timeline.contains(&format!(r#"data-index="{}" data-type="{kind}""#, i.0)),
            "event {i} ({kind}) is not on the timeline"
        );
    }
    assert_eq!(
        timeline.matches("<li class=\"event\"").count(),
        h.events.len()
    );
    // A publish links to its stage and approval; the stage to both.
    let (stage, approve, publish) = h.release;
    let p = item(&timeline, publish.0);
    assert!(
        p.contains(&format!("stage <a href=\"/entry/{}\">", stage.0)),
        "{p}"
    );
    assert!(
        p.contains(&format!("approval <a href=\"/entry/{}\">", approve.0)),
        "{p}"
    );
    assert!(
        timeline.contains(&format!(
            "<tr><th scope=\"row\"><code>1.0.0</code></th><td>staged <a href=\"/entry/{}\">#{0}</a> → \
             approved <a href=\"/entry/{}\">#{1}</a> → published <a href=\"/entry/{}\">#{2}</a></td></tr>",
            stage.0, approve.0, publish.0
        )),
        "the release row of 1.0.0"
    );
    let s = item(&timeline, stage.0);
    assert!(
        s.contains(&format!("approved in <a href=\"/entry/{}\">", approve.0)),
        "{s}"
    );
    assert!(
        s.contains(&format!("published in <a href=\"/entry/{}\">", publish.0)),
        "{s}"
    );
    assert!(s.contains("repository <code>acme/widget</code>"), "{s}");
    let a = item(&timeline, approve.0);
    assert!(
        a.contains("<code>alice</code>") && a.contains("<code>yubi</code> (ed25519)"),
        "{a}"
    );
    assert!(a.contains("2026-05-28T20:30:00Z"), "registry time: {a}");
    // The hostile label is text, never markup; the page runs no script.
    assert!(!timeline.contains("<script>alert") && !timeline.contains("<img src=x"));
    assert!(timeline.contains("&lt;script&gt;alert(&quot;label&quot;)&lt;/script&gt;&lt;img"));
    assert!(
        timeline.contains("&amp;amp;"),
        "the label's own & is escaped"
    );
    assert_eq!(timeline.matches("<script").count(), 0);

    let hostile = page(
        &log,
        "/package?registry=https://registry.example&package=o'hara(x)!",
    );
    assert!(
        !hostile.contains("o'hara"),
        "a quote from the log left unescaped"
    );
    assert!(hostile.contains("<code>o&#x27;hara(x)!</code>"));
    assert_eq!(hostile.matches("<li class=\"event\"").count(), 1);
    // What a visitor typed is escaped in the refusal too.
    let (status, body) = log
        .server
        .get("/package?registry=registry.example&package=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid npm package name") && !body.contains("<script>"),
        "{body}"
    );
    let (status, _) = log.server.get("/package?registry=registry.example");
    assert_eq!(status, 400);

    // The entry page carries exactly what the JSON API serves.
    let entry = page(&log, &format!("/entry/{}", approve.0));
    let api = json(&log, &format!("/v1/entries/{}", approve.0));
    assert!(entry.contains(&format!(r#"data-leaf="{}""#, api["leaf"].as_str().unwrap())));
    assert!(entry.contains(api["leaf_hash"].as_str().unwrap()));
    let path: Vec<&str> = api["inclusion_proof"]["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(path.len() >= 3, "a proof of several levels: {path:?}");
    assert!(entry.contains(&format!(r#"data-proof="{}""#, path.join(" "))));
    for h in &path {
        assert!(entry.contains(&format!("<li><code class=\"hash\">{h}</code></li>")));
    }
    let (_, note) = log.server.get("/checkpoint");
    assert!(entry.contains(&String::from_utf8(note).unwrap()));
    assert!(entry.contains(&format!(
        r#"<meta name="gatelog-log-key" content="{}">"#,
        log.vkey
    )));
    assert!(
        entry.contains("&quot;type&quot;: &quot;approve&quot;"),
        "the event, escaped"
    );
    assert!(entry.contains("<noscript>"));
    assert_eq!(entry.matches("<script").count(), 1);
    assert!(entry.contains(r#"<script src="/explorer/verify.js" defer></script>"#));

    for (path, status) in [("/entry/99999", 404), ("/entry/abc", 400)] {
        let (s, body) = log.server.get(path);
        assert_eq!(s, status, "{path}");
        assert!(
            String::from_utf8(body)
                .unwrap()
                .starts_with("<!doctype html>")
        );
    }
    let tree = page(&log, "/tree");
    let size = json(&log, "/healthz")["tree_size"].as_u64().unwrap();
    assert!(
        tree.contains(&format!("<dd id=\"tree-size\">{size} entries</dd>")),
        "{tree}"
    );
    assert!(tree.contains(r#"id="cosignatures" data-count="0""#));
    assert!(
        tree.contains(&format!(
            "<a href=\"/entry/{0}\">#{0}</a> publish of <a href=\"/package?registry=registry.example&amp;package=o%27hara%28x%29%21\"><code>o&#x27;hara(x)!</code></a> <code>1.0.0</code>",
            size - 1
        )),
        "the newest entry first: {tree}"
    );
    assert_eq!(tree.matches("<li value=").count(), 10);
    let (s, js) = log.server.get("/explorer/verify.js");
    assert!(s == 200 && String::from_utf8(js).unwrap().contains("crypto.subtle"));
    let (s, css) = log.server.get("/explorer/style.css");
    assert!(s == 200 && String::from_utf8(css).unwrap().contains("@media"));
}

#[test]
fn long_timelines_are_paged_with_the_events_apis_after() {
    let log = TestLog::start(ORIGIN);
    let mut all = Vec::new();
    for i in 0..60 {
        let body = format!(r#""type":"maintainer-add","maintainer":"m{i}","by":"npm""#);
        all.push(log.submit(&log.event("busy", 1_780_000_000 + i, &body)).0.0);
    }
    let first = page(&log, "/package?registry=registry.example&package=busy");
    assert_eq!(first.matches("<li class=\"event\"").count(), 50);
    let start = first
        .find("rel=\"next\" href=\"")
        .expect("a link to later events")
        + 17;
    let href = first[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(href.contains(&format!("after={}", all[49])), "{href}");
    let second = page(&log, &href);
    assert_eq!(second.matches("<li class=\"event\"").count(), 10);
    assert!(!second.contains("rel=\"next\""));
    for (i, index) in all.iter().enumerate() {
        let on = if i < 50 { &first } else { &second };
        assert!(
            on.contains(&format!("data-index=\"{index}\"")),
            "event {index}"
        );
    }
    // What a full page costs next to the same events as JSON (printed).
    let time = |path: &str| {
        let start = std::time::Instant::now();
        for _ in 0..20 {
            assert_eq!(log.server.get(path).0, 200);
        }
        start.elapsed().as_secs_f64() * 1000.0 / 20.0
    };
    let html = time("/package?registry=registry.example&package=busy");
    let api = time("/v1/events?registry=registry.example&package=busy&limit=50");
    println!("50 events: timeline page {html:.2} ms, GET /v1/events {api:.2} ms");
}

/// Alters the first hash of the inclusion proof wherever it appears.
fn flip(text: &str, hash: &str) -> String {
    let first = if hash.starts_with('0') { "1" } else { "0" };
    text.replace(hash, &format!("{first}{}", &hash[1..]))
}

/// A test double in front of the real server that serves its pages and
/// API answers with the first proof hash altered.
fn tampering_proxy(log: &TestLog) -> FakeHttp {
    let real = log.server.addr;
    FakeHttp::start(move |req| {
        let (status, body) = http_get(real, &req.path);
        let text = String::from_utf8_lossy(&body).into_owned();
        let hash = if req.path.starts_with("/entry/") {
            text.split("data-proof=\"")
                .nth(1)
                .map(|rest| rest[..64].to_owned())
        } else if req.path.starts_with("/v1/entries/") {
            serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["inclusion_proof"]["path"][0].as_str().map(str::to_owned))
        } else {
            None
        };
        match hash {
            Some(h) => (status, flip(&text, &h).into_bytes()),
            None => (status, body),
        }
    })
}

#[test]
fn the_browser_shows_the_timeline_verifies_entries_and_catches_a_tampered_proof() {
    browser::require();
    let log = TestLog::start(ORIGIN);
    let h = history::log(&log);
    let url = log.url();

    let dom = browser::dom(&format!("{url}{WIDGET}"));
    for (i, kind) in &h.events {
        assert!(
            dom.contains(&format!(r#"data-index="{}" data-type="{kind}""#, i.0)),
            "the browser shows no event {i} ({kind})"
        );
    }
    assert!(!dom.contains("<script>alert"));

    // Honest entries: both the page's own data and a proof fetched from
    // the JSON API verify, every step passing.
    let (stage, approve, publish) = h.release;
    for index in [stage, approve, publish] {
        let dom = browser::dom(&format!("{url}/entry/{}#api", index.0));
        assert_eq!(
            dom.matches(r#"data-verdict="verified""#).count(),
            2,
            "{dom}"
        );
        assert_eq!(dom.matches(r#"data-ok="yes""#).count(), 8, "{dom}");
        assert!(!dom.contains(r#"data-ok="no""#), "{dom}");
        assert!(dom.contains("✓ Verified"));
    }

    // A proof hash altered in transit: the checks fail and say where.
    let proxy = tampering_proxy(&log);
    let dom = browser::dom(&format!("{}/entry/{}#api", proxy.url(), approve.0));
    assert_eq!(dom.matches(r#"data-verdict="failed""#).count(), 2, "{dom}");
    assert!(!dom.contains(r#"data-verdict="verified""#), "{dom}");
    assert!(dom.contains("✗ Verification FAILED"));
    let failed: Vec<&str> = dom
        .split(r#"<li class="bad" data-ok="no">"#)
        .skip(1)
        .collect();
    assert_eq!(failed.len(), 2, "one failed step per check: {dom}");
    for f in failed {
        assert!(
            f.starts_with("✗ Checkpoint:") && f.contains("do not match the proof"),
            "{f}"
        );
    }

    // Screenshots of every page, desktop and phone width.
    let dir = browser::artifacts();
    println!("explorer screenshots: {}", dir.display());
    let pages = [
        ("search", "/".to_owned()),
        ("package", WIDGET.to_owned()),
        ("entry", format!("/entry/{}", approve.0)),
        ("tree", "/tree".to_owned()),
    ];
    for (name, path) in &pages {
        for (form, width, height) in [("desktop", 1280, 1000), ("phone", 390, 1400)] {
            let file = dir.join(format!("{name}-{form}.png"));
            let size = browser::screenshot(&format!("{url}{path}"), &file, width, height);
            println!("  {} ({size} bytes)", file.display());
            assert!(size > 10_000, "{} is only {size} bytes", file.display());
        }
    }
}

#[test]
fn the_tree_lists_witness_cosignatures_and_cosigned_entries_still_verify() {
    browser::require();
    let dir = tempfile::tempdir().unwrap();
    let vkey = log_key(ORIGIN).verifier().to_string();
    let w = witness::start(dir.path(), &vkey);
    let log = TestLog::start_with(ORIGIN, &["--witness-policy", w.policy.to_str().unwrap()]);
    let (index, _) = log.submit(
        &log.reg
            .publish_direct("cosigned", "1.0.0", b"c", 1_780_000_000),
    );
    // The server serves a checkpoint once its cosigning settled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let tree = loop {
        let tree = page(&log, "/tree");
        // A cosigned checkpoint that already holds the entry.
        if tree.contains(r#"id="cosignatures" data-count="1""#)
            && tree.contains("<dd id=\"tree-size\">1 entry</dd>")
        {
            break tree;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no cosignature shown: {tree}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        tree.contains(&format!("<code>{}</code> key ID", witness::NAME)),
        "{tree}"
    );
    assert!(tree.contains(", cosigned at 20"), "{tree}");
    // The log's own signature is picked out of a note with two.
    let dom = browser::dom(&format!("{}/entry/{}", log.url(), index.0));
    assert!(dom.contains(r#"data-verdict="verified""#), "{dom}");
    assert!(!dom.contains(r#"data-ok="no""#), "{dom}");
}

#[test]
fn a_monitors_alert_feed_is_shown_on_the_tree_and_the_packages_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("alerts.jsonl");
    let log = TestLog::start_with(ORIGIN, &["--monitor-alerts", feed.to_str().unwrap()]);
    // No feed written yet: the page says so instead of failing.
    let tree = page(&log, "/tree");
    assert!(tree.contains("What a monitor flagged"), "{tree}");
    assert!(tree.contains("the alert feed:"), "{tree}");

    // An attack: a direct publish of gadget, no stage, no approval; the real
    // monitor's JSON alerts become the feed.
    let (index, _) = log.submit(
        &log.reg
            .publish_direct("gadget", "6.6.6", b"evil", 1_780_000_000),
    );
    let config = dir.path().join("monitor.toml");
    std::fs::write(&config, "[rules]\nrequire_staging = [\"gadget\"]\n").unwrap();
    let out = std::process::Command::new(gatelog_e2e::binary("gatelog-monitor"))
        .args(["--once", "--format", "json", "--start-at", "0"])
        .args(["--log", &log.url(), "--log-key", &log.vkey])
        .args(["--registry-key", &log.reg.verifier_key().to_string()])
        .args(["--config", &config.display().to_string()])
        .args(["--state", &dir.path().join("state").display().to_string()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&feed, &out.stdout).unwrap();

    let timeline = page(&log, "/package?registry=registry.example&package=gadget");
    let flagged = &timeline[timeline
        .find("What a monitor flagged")
        .expect("alerts section")..];
    assert!(
        flagged.contains("<strong>publish-without-approval</strong>"),
        "{flagged}"
    );
    assert!(flagged.contains("<code>gadget@6.6.6</code>"), "{flagged}");
    assert!(
        flagged.contains(&format!("<a href=\"/entry/{0}\">#{0}</a>", index.0)),
        "{flagged}"
    );
    let tree = page(&log, "/tree");
    assert!(
        tree.contains("<strong>publish-without-approval</strong>"),
        "{tree}"
    );
    // Another package's timeline lists none of gadget's alerts.
    let other = page(&log, "/package?registry=registry.example&package=widget");
    assert!(!other.contains("publish-without-approval"), "{other}");
}
