//! Witnessing end to end, all real processes on loopback: three
//! `gatelog-witness`es, and a log that forks (two `gatelog-server`s with one
//! key and origin, different histories), each fork shown to a different
//! `gatelog verify`. Each server asks its witnesses to cosign; a witness
//! that cosigned one fork refuses the other, so with a 2-of-3 policy only
//! one fork reaches quorum and the client shown the other fails.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatelog_core::event::Integrity;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::note::{Note, NoteSignature};
use gatelog_e2e::{TestLog, binary, free_addr, http_get, http_post};
use gatelog_lab::sample::device_key;

const ORIGIN: &str = "witnessed.gatelog.test/log";
const TIME: i64 = 1_780_000_000;

/// A running `gatelog-witness` with a known key.
struct WitnessProc {
    addr: SocketAddr,
    key: SignerKey,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl WitnessProc {
    /// SIGKILL, as a crash would.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn start_witness(i: u8, log_vkey: &str) -> WitnessProc {
    let dir = tempfile::tempdir().unwrap();
    let mut w = start_witness_at(dir.path(), i, log_vkey);
    w._dir = Some(dir);
    w
}

/// Starts witness `i` on the state folder `dir` (kept across restarts).
fn start_witness_at(dir: &Path, i: u8, log_vkey: &str) -> WitnessProc {
    let name = format!("witness{i}.gatelog.test");
    let key = SignerKey::from_seed(&name, SignatureType::Cosignature, &[40 + i; 32]).unwrap();
    std::fs::write(dir.join("witness.key"), key.to_private_text()).unwrap();
    let addr = free_addr();
    let child = Command::new(binary("gatelog-witness"))
        .args(["--data", &dir.display().to_string()])
        .args(["--listen", &addr.to_string(), "--name", &name])
        .args(["--log-key", log_vkey, "--rate", "1000"])
        .env_remove("GATELOG_WITNESS_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gatelog-witness");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "witness {i} did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    WitnessProc {
        addr,
        key,
        child,
        _dir: None,
    }
}

/// A tlog-policy naming every witness, with URLs for those in `submit_to`.
fn policy(witnesses: &[WitnessProc], submit_to: &[usize], quorum: &str) -> String {
    let mut text = String::from("# test policy\n");
    for (i, w) in witnesses.iter().enumerate() {
        let url = if submit_to.contains(&i) {
            format!(" http://{}", w.addr)
        } else {
            String::new()
        };
        text += &format!("witness W{} {}{url}\n", i + 1, w.key.verifier());
    }
    let members: Vec<String> = (1..=witnesses.len()).map(|i| format!("W{i}")).collect();
    text += &format!("group all-witnesses {quorum} {}\n", members.join(" "));
    text += "quorum all-witnesses\n";
    text
}

/// A signing device of alice's registered a month before, then stage →
/// approve (signed by that device) → publish of `name@version` with
/// tarball `tgz`: four entries.
fn release(log: &TestLog, name: &str, version: &str, tgz: &[u8]) {
    let device = device_key(1);
    log.submit(
        &log.reg
            .device_register(name, "alice", "yubi", &device, TIME - 86_400 * 30),
    );
    let (stage, hash) = log.submit(&log.reg.stage(name, version, tgz, "acme/widget", TIME));
    let (approve, _) = log.submit(&log.reg.approve(
        name,
        version,
        tgz,
        stage,
        &hash,
        "alice",
        Some(("yubi", &device)),
        TIME + 600,
    ));
    log.submit(
        &log.reg
            .publish(name, version, tgz, stage, approve, TIME + 700),
    );
}

/// The checkpoint the log serves once it covers `size` entries and
/// carries `cosignatures` signature lines besides the log's.
fn served_checkpoint(log: &TestLog, size: u64, cosignatures: usize) -> Note {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http_get(log.server.addr, "/checkpoint");
        assert_eq!(status, 200);
        let note = Note::parse(&body).unwrap();
        let served: u64 = note.text.lines().nth(1).unwrap().parse().unwrap();
        if served == size && note.signatures.len() == 1 + cosignatures {
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "the log never served size {size} with {cosignatures} cosignatures; last:\n{}",
            String::from_utf8_lossy(&body)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lockfile(dir: &Path, tgz: &[u8]) {
    let doc = serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/widget": {
                "version": "1.0.0",
                "resolved": "https://registry.example/widget/-/widget-1.0.0.tgz",
                "integrity": Integrity::of(tgz).to_string(),
            }
        }
    });
    std::fs::write(
        dir.join("package-lock.json"),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
}

/// Runs `gatelog verify` on a fresh state folder; (exit code, stdout, stderr).
fn verify(log: &TestLog, dir: &Path, policy: Option<&Path>) -> (i32, String, String) {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(binary("gatelog"));
    cmd.args(["verify", "--lockfile", &dir.display().to_string()])
        .args(["--log", &log.url(), "--log-key", &log.vkey])
        .args(["--registry-key", &log.reg.verifier_key().to_string()])
        .args(["--state-dir", &state.path().display().to_string()])
        .env_remove("GATELOG_WITNESS_POLICY");
    if let Some(p) = policy {
        cmd.args(["--witness-policy", &p.display().to_string()]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `gatelog-monitor --once` over the whole log with `policy`;
/// (exit code, the alerts' JSON lines).
fn monitor(log: &TestLog, policy: &Path) -> (i32, String) {
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(binary("gatelog-monitor"))
        .args(["--once", "--format", "json", "--start-at", "0"])
        .args(["--log", &log.url(), "--log-key", &log.vkey])
        .args(["--registry-key", &log.reg.verifier_key().to_string()])
        .args(["--state", &state.path().join("m").display().to_string()])
        .args(["--witness-policy", &policy.display().to_string()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn cosigners(note: &Note) -> Vec<&str> {
    note.signatures[1..]
        .iter()
        .map(|s| s.name.as_str())
        .collect()
}

#[test]
fn a_forked_log_reaches_a_witness_quorum_on_one_fork_only() {
    let log_vkey = gatelog_e2e::log_key(ORIGIN).verifier().to_string();
    let witnesses: Vec<WitnessProc> = (1..=3).map(|i| start_witness(i, &log_vkey)).collect();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // Fork A asks W1 and W2, fork B asks W2 and W3; clients need 2 of 3.
    let policy_a = write("a.policy", policy(&witnesses, &[0, 1], "2"));
    let policy_b = write("b.policy", policy(&witnesses, &[1, 2], "2"));
    let client_policy = write("client.policy", policy(&witnesses, &[], "2"));

    let a = TestLog::start_with(ORIGIN, &["--witness-policy", policy_a.to_str().unwrap()]);
    let honest = b"widget 1.0.0, as its maintainers built it".to_vec();
    release(&a, "widget", "1.0.0", &honest);
    let note_a = served_checkpoint(&a, 4, 2);
    assert_eq!(
        cosigners(&note_a),
        ["witness1.gatelog.test", "witness2.gatelog.test"]
    );

    // The same key signs another history of the same size for B.
    let b_log = dir.path().join("b.log");
    let b = TestLog::start_logging(
        ORIGIN,
        &["--witness-policy", policy_b.to_str().unwrap()],
        Stdio::from(std::fs::File::create(&b_log).unwrap()),
    );
    let evil = b"widget 1.0.0, with a credential stealer".to_vec();
    release(&b, "widget", "1.0.0", &evil);
    let note_b = served_checkpoint(&b, 4, 1);
    assert_eq!(cosigners(&note_b), ["witness3.gatelog.test"]);
    assert_ne!(note_a.text, note_b.text, "two histories of one size");
    // W2 said why it refused: B's tree is not the one it cosigned.
    let said = std::fs::read_to_string(&b_log).unwrap();
    assert!(
        said.contains("witness did not cosign") && said.contains("422"),
        "{said}"
    );

    let shown_a = tempfile::tempdir().unwrap();
    lockfile(shown_a.path(), &honest);
    let (code, out, err) = verify(&a, shown_a.path(), Some(&client_policy));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("cosigned by witnesses W1, W2"), "{out}");
    assert!(!err.contains("no --witness-policy"), "{err}");

    let shown_b = tempfile::tempdir().unwrap();
    lockfile(shown_b.path(), &evil);
    let (code, out, err) = verify(&b, shown_b.path(), Some(&client_policy));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("not witnessed as the policy requires")
            && err.contains("2 of (W1, W2, W3)")
            && err.contains("valid cosignatures from: W3"),
        "{err}"
    );
    // A monitor with the same policy follows A and refuses B.
    let (_, alerts) = monitor(&a, &client_policy);
    assert!(!alerts.contains("unwitnessed-checkpoint"), "{alerts}");
    let (code, alerts) = monitor(&b, &client_policy);
    assert_eq!(code, 1, "{alerts}");
    assert!(
        alerts.contains("\"unwitnessed-checkpoint\"") && alerts.contains("quorum not met"),
        "{alerts}"
    );

    // Without a policy the fork is believed (there is nothing to compare
    // it with in a fresh state folder), and the warning says so.
    let (code, _, err) = verify(&b, shown_b.path(), None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no --witness-policy"), "{err}");

    // Offline bundles carry each fork's checkpoint with its cosignatures:
    // the same policy passes A's bundle and refuses B's.
    for (log, shown, want) in [(&a, &shown_a, 0), (&b, &shown_b, 1)] {
        let file = shown.path().join("evidence.bundle");
        let out = Command::new(binary("gatelog"))
            .args(["bundle", "--lockfile", &shown.path().display().to_string()])
            .args(["--log", &log.url(), "--log-key", &log.vkey])
            .args(["--out", &file.display().to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(binary("gatelog"))
            .args(["verify", "--lockfile", &shown.path().display().to_string()])
            .args(["--offline", &file.display().to_string(), "--no-state"])
            .args(["--log-key", &log.vkey])
            .args(["--registry-key", &log.reg.verifier_key().to_string()])
            .args(["--witness-policy", &client_policy.display().to_string()])
            .env_remove("GATELOG_WITNESS_POLICY")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want), "{err}");
        if want == 1 {
            assert!(err.contains("witness quorum not met"), "{err}");
        }
    }

    // A witness refuses B's checkpoint directly, too: 409 names the size it
    // cosigned, and at that size a different root is 422.
    let w1 = witnesses[0].addr;
    let (_, body_b) = http_get(b.server.addr, "/checkpoint");
    let request = |old: u64| {
        let mut body = format!("old {old}\n\n").into_bytes();
        body.extend_from_slice(&body_b);
        http_post(w1, "/add-checkpoint", &body).unwrap()
    };
    let (status, size) = request(0);
    assert_eq!((status, String::from_utf8_lossy(&size).trim()), (409, "4"));
    assert_eq!(request(4).0, 422);
}

#[test]
fn a_forged_cosignature_fails_verification_and_a_down_witness_costs_only_its_own() {
    let log_vkey = gatelog_e2e::log_key(ORIGIN).verifier().to_string();
    let witnesses: Vec<WitnessProc> = (1..=2).map(|i| start_witness(i, &log_vkey)).collect();
    let dir = tempfile::tempdir().unwrap();
    // W2's URL points at a port where nothing listens: it is down.
    let mut text = policy(&witnesses, &[0], "1");
    text = text.replace(
        &format!("W2 {}", witnesses[1].key.verifier()),
        &format!("W2 {} http://{}", witnesses[1].key.verifier(), free_addr()),
    );
    let path = dir.path().join("policy");
    std::fs::write(&path, &text).unwrap();
    let log = TestLog::start_with(
        ORIGIN,
        &[
            "--witness-policy",
            path.to_str().unwrap(),
            "--witness-wait-ms",
            "500",
        ],
    );
    let tgz = b"widget".to_vec();
    release(&log, "widget", "1.0.0", &tgz);
    let note = served_checkpoint(&log, 4, 1);
    assert_eq!(cosigners(&note), ["witness1.gatelog.test"]);
    let shown = tempfile::tempdir().unwrap();
    lockfile(shown.path(), &tgz);
    let all = dir.path().join("all.policy");
    std::fs::write(&all, policy(&witnesses, &[], "all")).unwrap();
    let (code, _, err) = verify(&log, shown.path(), Some(&all));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("valid cosignatures from: W1"), "{err}");
    let one = dir.path().join("one.policy");
    std::fs::write(&one, policy(&witnesses, &[], "any")).unwrap();
    let (code, out, err) = verify(&log, shown.path(), Some(&one));
    assert_eq!(code, 0, "{out}\n{err}");

    // A cosignature line that names W2 but does not verify is refused even
    // though W1's alone meets the quorum (a lying log or a broken witness).
    let (_, body) = http_get(log.server.addr, "/checkpoint");
    let mut forged = Note::parse(&body).unwrap();
    let mut line: NoteSignature = forged.signatures[1].clone();
    line.name = witnesses[1].key.name().to_owned();
    line.key_id = witnesses[1].key.id();
    forged.signatures.push(line);
    let policy_one =
        gatelog_core::witness_policy::WitnessPolicy::parse(&std::fs::read(&one).unwrap()).unwrap();
    let e = policy_one.check(&forged).unwrap_err();
    assert!(e.to_string().contains("W2 does not verify"), "{e}");
}

/// The size of the checkpoint a witness holds for `origin`.
fn witnessed_size(addr: SocketAddr, origin: &str) -> u64 {
    use sha2::Digest as _;
    let path = format!(
        "/{}/checkpoint",
        hex::encode(sha2::Sha256::digest(origin.as_bytes()))
    );
    let (status, body) = http_get(addr, &path);
    if status == 404 {
        return 0;
    }
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    size_of(&body)
}

/// The `add-checkpoint` body for the log's current checkpoint from `old`.
fn add_checkpoint_body(log: &TestLog, old: u64) -> (u64, Vec<u8>) {
    let (_, note) = http_get(log.server.addr, "/checkpoint");
    let size = size_of(&note);
    let mut body = format!("old {old}\n").into_bytes();
    if old > 0 && old < size {
        let (_, proof) = http_get(
            log.server.addr,
            &format!("/v1/proofs/consistency?old={old}&new={size}"),
        );
        let proof: serde_json::Value = serde_json::from_slice(&proof).unwrap();
        for h in proof["path"].as_array().unwrap() {
            let raw = gatelog_core::Hash::from_hex(h.as_str().unwrap()).unwrap();
            use base64::Engine as _;
            let line = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
            body.extend_from_slice(format!("{line}\n").as_bytes());
        }
    }
    body.push(b'\n');
    body.extend_from_slice(&note);
    (size, body)
}

fn tree_size(log: &TestLog) -> u64 {
    size_of(&http_get(log.server.addr, "/checkpoint").1)
}

/// The tree size of a checkpoint note.
fn size_of(note: &[u8]) -> u64 {
    let note = Note::parse(note).unwrap();
    note.text.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_witness_killed_mid_request_keeps_every_cosignature_it_gave() {
    let origin = "crash-witness.gatelog.test/log";
    let log = TestLog::start(origin);
    let dir = tempfile::tempdir().unwrap();
    let mut witness = start_witness_at(dir.path(), 1, &log.vkey);
    let (mut answered, mut cosigned_rounds) = (0u64, 0);
    for (round, delay_ms) in [0u64, 1, 2, 3, 5, 8, 13, 21, 40, 80]
        .into_iter()
        .enumerate()
    {
        release(
            &log,
            &format!("pkg{round}"),
            "1.0.0",
            format!("t{round}").as_bytes(),
        );
        let held = witnessed_size(witness.addr, origin);
        assert!(
            held >= answered,
            "the witness lost a cosignature it gave: {held} < {answered}"
        );
        let (size, body) = add_checkpoint_body(&log, held);
        let addr = witness.addr;
        let request = std::thread::spawn(move || http_post(addr, "/add-checkpoint", &body));
        std::thread::sleep(Duration::from_millis(delay_ms));
        witness.kill9();
        if let Ok(Ok((200, _))) = request.join() {
            answered = size;
            cosigned_rounds += 1;
        }
        witness = start_witness_at(dir.path(), 1, &log.vkey);
    }
    let held = witnessed_size(witness.addr, origin);
    assert!(
        held >= answered && held > 0,
        "held {held}, answered {answered}"
    );
    assert!(cosigned_rounds > 0, "no request finished before its kill");
    // A fork of the size it holds is still refused after the crashes.
    let fork = TestLog::start(origin);
    while tree_size(&fork) < held {
        let n = tree_size(&fork);
        fork.submit(
            &fork
                .reg
                .stage(&format!("fork{n}"), "1.0.0", b"x", "acme/widget", TIME),
        );
    }
    let (_, body) = add_checkpoint_body(&fork, held);
    let (status, text) = http_post(witness.addr, "/add-checkpoint", &body).unwrap();
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&text));
}

#[test]
fn a_monitor_can_be_one_of_the_witnesses() {
    let origin = "monitor-witness.gatelog.test/log";
    let dir = tempfile::tempdir().unwrap();
    let name = "monitor.gatelog.test/witness";
    let key = SignerKey::from_seed(name, SignatureType::Cosignature, &[77; 32]).unwrap();
    let witness_dir = dir.path().join("witness");
    std::fs::create_dir_all(&witness_dir).unwrap();
    std::fs::write(witness_dir.join("witness.key"), key.to_private_text()).unwrap();
    let addr = free_addr();
    let policy = dir.path().join("policy");
    std::fs::write(
        &policy,
        format!("witness M {} http://{addr}\nquorum M\n", key.verifier()),
    )
    .unwrap();
    let log = TestLog::start_with(origin, &["--witness-policy", policy.to_str().unwrap()]);
    let child = Command::new(binary("gatelog-monitor"))
        .args([
            "--log",
            &log.url(),
            "--log-key",
            &log.vkey,
            "--start-at",
            "0",
        ])
        .args(["--registry-key", &log.reg.verifier_key().to_string()])
        .args(["--state", &dir.path().join("state").display().to_string()])
        .args(["--metrics-listen", &addr.to_string(), "--quiet"])
        .args(["--witness-data", &witness_dir.display().to_string()])
        .args(["--witness-name", name])
        .env_remove("GATELOG_WITNESS_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gatelog-monitor");
    let _monitor = WitnessProc {
        addr,
        key,
        child,
        _dir: None,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the monitor did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let tgz = b"widget from a monitored log".to_vec();
    release(&log, "widget", "1.0.0", &tgz);
    let note = served_checkpoint(&log, 4, 1);
    assert_eq!(cosigners(&note), [name]);
    assert_eq!(witnessed_size(addr, origin), 4);
    let shown = tempfile::tempdir().unwrap();
    lockfile(shown.path(), &tgz);
    let (code, out, err) = verify(&log, shown.path(), Some(&policy));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("cosigned by witnesses M"), "{out}");
}
