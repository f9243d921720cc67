//! A local stand-in for Sigstore's TUF repository, so the real, unmodified
//! `npm audit signatures` runs offline (the demo's registry chapter and the
//! registry's end-to-end tests). npm first asks TUF (Sigstore's
//! mirror `tuf-repo-cdn.sigstore.dev`, over HTTPS) for a registry's keys
//! and, when TUF holds no `<host>/keys.json` target, fetches the registry's
//! own `/-/npm/v1/keys` (npm's `lib/utils/verify-signatures.js`). Without a
//! network TUF fails outright, so this module:
//! - writes a TUF root of its own (one Ed25519 key for every role) into
//!   npm's TUF cache, where npm's TUF client starts from;
//! - serves signed `timestamp.json`, `snapshot.json` and an empty
//!   `targets.json` for that root over TLS, with a certificate of a CA made
//!   for the run, that node trusts through
//!   `NODE_EXTRA_CA_CERTS`;
//! - runs as an HTTP `CONNECT` proxy (`https_proxy`) that only tunnels to
//!   the mirror's host and answers there itself: nothing leaves loopback.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The TUF mirror npm's Sigstore client uses.
const MIRROR_HOST: &str = "tuf-repo-cdn.sigstore.dev";

/// The running proxy and mirror.
pub struct TufMirror {
    addr: SocketAddr,
    ca: PathBuf,
    served: Arc<AtomicUsize>,
}

/// OLPC canonical JSON, as TUF signs it: sorted keys, no whitespace (the
/// metadata here holds only ASCII strings and integers).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

fn signed(key: &SigningKey, keyid: &str, body: Value) -> Vec<u8> {
    let sig = key.sign(canonical(&body).as_bytes());
    let doc = json!({"signatures": [{"keyid": keyid, "sig": hex::encode(sig.to_bytes())}],
                     "signed": body});
    doc.to_string().into_bytes()
}

/// The four metadata files of a one-key repository with no targets.
fn metadata() -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let key = SigningKey::from_bytes(&fresh_seed());
    let public = json!({"keytype": "ed25519", "scheme": "ed25519",
        "keyval": {"public": hex::encode(key.verifying_key().to_bytes())}});
    let keyid = hex::encode(Sha256::digest(canonical(&public).as_bytes()));
    let expires = "2099-01-01T00:00:00Z";
    let role = json!({"keyids": [keyid], "threshold": 1});
    let root = json!({"_type": "root", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "consistent_snapshot": false, "keys": {keyid.clone(): public},
        "roles": {"root": role, "timestamp": role, "snapshot": role, "targets": role}});
    let targets = json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "targets": {}});
    let snapshot = json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "meta": {"targets.json": {"version": 1}}});
    let timestamp = json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "meta": {"snapshot.json": {"version": 1}}});
    let files = vec![
        (
            "/timestamp.json".to_owned(),
            signed(&key, &keyid, timestamp),
        ),
        ("/snapshot.json".to_owned(), signed(&key, &keyid, snapshot)),
        ("/targets.json".to_owned(), signed(&key, &keyid, targets)),
    ];
    (signed(&key, &keyid, root), files)
}

fn fresh_seed() -> [u8; 32] {
    // A fresh key per run; it signs metadata with no targets, trusted only
    // by the npm cache this run wrote its root into, so its strength does
    // not matter.
    let mut seed = [0u8; 32];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    seed[..16].copy_from_slice(&nanos.to_le_bytes());
    Sha256::digest(seed).into()
}

fn read_head(stream: &mut impl std::io::Read) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

fn serve(
    mut tcp: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    files: &[(String, Vec<u8>)],
    served: &AtomicUsize,
) -> Option<()> {
    let head = read_head(&mut tcp)?;
    let target = head.strip_prefix("CONNECT ")?.split_whitespace().next()?;
    if target != format!("{MIRROR_HOST}:443") {
        tcp.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .ok()?;
        return None;
    }
    tcp.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .ok()?;
    let conn = rustls::ServerConnection::new(tls).ok()?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    let request = read_head(&mut stream)?;
    let path = request.split_whitespace().nth(1)?;
    let response = match files.iter().find(|(p, _)| p == path) {
        Some((_, body)) => {
            served.fetch_add(1, Ordering::SeqCst);
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    stream.write_all(&response).ok()?;
    stream.flush().ok()?;
    stream.conn.send_close_notify();
    let _ = stream.flush();
    Some(())
}

impl TufMirror {
    /// Starts the mirror; its root goes into npm's TUF cache under
    /// `npm_cache` (npm's `_tuf` folder) and its CA certificate into `dir`.
    /// The mirror serves until the process ends.
    pub fn start(dir: &Path, npm_cache: &Path) -> Result<TufMirror, String> {
        let (root, files) = metadata();
        let tuf = npm_cache.join("_tuf").join(MIRROR_HOST);
        let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
        std::fs::create_dir_all(tuf.join("targets")).map_err(|e| io(&tuf, e))?;
        std::fs::write(tuf.join("root.json"), root).map_err(|e| io(&tuf, e))?;

        let tls_error = |e: &dyn std::fmt::Display| format!("the TUF mirror's TLS set-up: {e}");
        let ca_key = rcgen::KeyPair::generate().map_err(|e| tls_error(&e))?;
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_error(&e))?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        // Distinct names, or OpenSSL takes the leaf for self-signed.
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gatelog local TUF CA");
        let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| tls_error(&e))?;
        let leaf_key = rcgen::KeyPair::generate().map_err(|e| tls_error(&e))?;
        let mut leaf_params = rcgen::CertificateParams::new(vec![MIRROR_HOST.to_owned()])
            .map_err(|e| tls_error(&e))?;
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, MIRROR_HOST);
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .map_err(|e| tls_error(&e))?;
        let ca = dir.join("tuf-local-ca.pem");
        std::fs::write(&ca, ca_cert.pem()).map_err(|e| io(&ca, e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(&e))?
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .map_err(|e| tls_error(&e))?;
        let tls = Arc::new(tls);

        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("the TUF mirror: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the TUF mirror: {e}"))?;
        let served = Arc::new(AtomicUsize::new(0));
        let files = Arc::new(files);
        let counter = served.clone();
        // The thread ends with the process.
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (tls, files, counter) = (tls.clone(), files.clone(), counter.clone());
                std::thread::spawn(move || serve(tcp, tls, &files, &counter));
            }
        });
        Ok(TufMirror { addr, ca, served })
    }

    /// The environment npm needs to reach the mirror (and only it) through
    /// the proxy; the registry on loopback is reached directly.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let proxy = format!("http://{}", self.addr);
        vec![
            ("https_proxy", proxy.clone()),
            ("HTTPS_PROXY", proxy),
            ("no_proxy", "127.0.0.1,localhost".into()),
            ("NO_PROXY", "127.0.0.1,localhost".into()),
            ("NODE_EXTRA_CA_CERTS", self.ca.display().to_string()),
        ]
    }

    /// How many metadata files the mirror served.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}
