//! A demo-like history logged through the real server's API: a package
//! with every kind of event, and a package with a hostile name and label.

use gatelog_core::{Envelope, LeafIndex};
use gatelog_e2e::TestLog;
use gatelog_lab::sample::device_key;

/// The package whose timeline the tests read.
pub const PACKAGE: &str = "widget";
/// A name the npm rules allow that breaks careless HTML.
pub const HOSTILE_PACKAGE: &str = "o'hara(x)!";
/// A device label that is markup.
pub const HOSTILE_LABEL: &str =
    r#"<script>alert(\"label\")</script><img src=x onerror=alert(1)>&amp;"#;
const TIME: i64 = 1_780_000_000;

/// The logged history: every index of [`PACKAGE`] with its type.
pub struct History {
    /// (index, type) of each event of [`PACKAGE`], in log order.
    pub events: Vec<(LeafIndex, &'static str)>,
    /// The staged, approved and published 1.0.0: (stage, approve, publish).
    pub release: (LeafIndex, LeafIndex, LeafIndex),
}

fn tgz(version: &str) -> Vec<u8> {
    format!("widget-{version}.tgz").into_bytes()
}

/// Logs the history.
pub fn log(log: &TestLog) -> History {
    let mut events = Vec::new();
    let mut add = |env: &Envelope, kind: &'static str| {
        let (i, _) = log.submit(env);
        events.push((i, kind));
    };
    add(
        &log.event(
            PACKAGE,
            TIME,
            r#""type":"maintainer-add","maintainer":"alice","by":"npm""#,
        ),
        "maintainer-add",
    );
    add(
        &log.reg
            .device_register(PACKAGE, "alice", "yubi", &device_key(1), TIME + 10),
        "device-register",
    );
    add(
        &log.event(
            PACKAGE,
            TIME + 20,
            &format!(
                r#""type":"device-register","maintainer":"alice","device":{{"id":"phone","kind":"totp","label":"{HOSTILE_LABEL}"}}"#
            ),
        ),
        "device-register",
    );
    add(
        &log.event(
            PACKAGE,
            TIME + 30,
            r#""type":"policy-change","staged_publishing":"required","trusted_publishers":[{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/widget","workflow":".github/workflows/release.yml","mode":"stage-only"}]"#,
        ),
        "policy-change",
    );
    let t = tgz("1.0.0");
    let (stage, stage_hash) =
        log.submit(
            &log.reg
                .stage(PACKAGE, "1.0.0", &t, "acme/widget", TIME + 100),
        );
    events.push((stage, "stage"));
    // Other packages' events in between, so proofs have several levels.
    for i in 0..5 {
        log.submit(
            &log.reg
                .publish_direct("filler", &format!("1.0.{i}"), b"f", TIME),
        );
    }
    let (approve, _) = log.submit(&log.reg.approve(
        PACKAGE,
        "1.0.0",
        &t,
        stage,
        &stage_hash,
        "alice",
        Some(("yubi", &device_key(1))),
        TIME + 200,
    ));
    events.push((approve, "approve"));
    let (publish, _) =
        log.submit(
            &log.reg
                .publish(PACKAGE, "1.0.0", &t, stage, approve, TIME + 300),
        );
    events.push((publish, "publish"));
    let t2 = tgz("1.1.0");
    let (stage2, _) = log.submit(
        &log.reg
            .stage(PACKAGE, "1.1.0", &t2, "acme/widget", TIME + 400),
    );
    events.push((stage2, "stage"));
    let reject = log.event(
        PACKAGE,
        TIME + 500,
        &format!(
            r#""type":"reject","version":"1.1.0","stage":{},"maintainer":"alice","device":{{"id":"phone","kind":"totp"}}"#,
            stage2.0
        ),
    );
    let (r, _) = log.submit(&reject);
    events.push((r, "reject"));
    let (revoke, _) = log.submit(&log.event(
        PACKAGE,
        TIME + 600,
        r#""type":"device-revoke","maintainer":"alice","device":{"id":"phone","kind":"totp"}"#,
    ));
    events.push((revoke, "device-revoke"));
    log.submit(&log.reg.publish_direct(HOSTILE_PACKAGE, "1.0.0", b"h", TIME));
    History {
        events,
        release: (stage, approve, publish),
    }
}
