//! A local OIDC issuer in the manner of GitHub Actions', for trusted
//! publishing tests: over TLS (a test CA; the registry trusts it through
//! `--oidc-ca-cert`, node through `NODE_EXTRA_CA_CERTS`) it serves
//! `/.well-known/openid-configuration`, its JWKS (one P-256 key) and the
//! ID token endpoint of `ACTIONS_ID_TOKEN_REQUEST_URL`. That endpoint
//! checks the bearer request token and the audience npm asks for, and
//! answers `{"value": <ES256 JWT>}` with GitHub's repository and workflow
//! claims. The request token picks the kind of ID token ([`Flavour`]), so
//! a test can make the real npm carry a bad one.

use std::io::{Read, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The repository, workflow and ref the good ID tokens name.
pub const REPOSITORY: &str = "acme/ci-widget";
pub const WORKFLOW_FILE: &str = "release.yml";
pub const GIT_REF: &str = "refs/tags/v1.0.0";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const KID: &str = "gatelog-test-key";

/// The kinds of ID token the issuer hands out, by request token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// Valid, for the trusted repository and workflow.
    Good,
    /// Signed by a key the issuer does not publish (same `kid`).
    OtherKey,
    /// For another registry's audience.
    WrongAudience,
    /// Expired ten minutes ago.
    Expired,
    /// From a repository that is not trusted.
    UntrustedRepository,
    /// From another workflow of the trusted repository.
    OtherWorkflow,
}

impl Flavour {
    pub const ALL: [Flavour; 6] = [
        Flavour::Good,
        Flavour::OtherKey,
        Flavour::WrongAudience,
        Flavour::Expired,
        Flavour::UntrustedRepository,
        Flavour::OtherWorkflow,
    ];

    /// The `ACTIONS_ID_TOKEN_REQUEST_TOKEN` that asks for this flavour.
    pub fn request_token(self) -> String {
        format!("request-token-{self:?}")
    }
}

/// The running issuer.
pub struct TestIssuer {
    addr: SocketAddr,
    ca: PathBuf,
    key: SigningKey,
    other: SigningKey,
    audience: String,
    jwks_served: AtomicUsize,
}

fn seeded_key(label: &str) -> SigningKey {
    // A fresh key per run; its strength does not matter to the test.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let seed = Sha256::digest(format!("{label}{nanos}").as_bytes());
    SigningKey::from_slice(&seed).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn jwt(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": KID});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn read_head(stream: &mut impl Read) -> Option<String> {
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

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap_or("zz");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TestIssuer {
    /// Starts the issuer on loopback; its CA certificate goes into `dir`.
    /// ID tokens are for `audience` (`npm:127.0.0.1`, as npm asks).
    pub fn start(dir: &Path, audience: &str) -> Arc<TestIssuer> {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gatelog test OIDC CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let mut leaf_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        let leaf = leaf_params.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
        let ca = dir.join("oidc-test-ca.pem");
        std::fs::write(&ca, ca_cert.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        let tls = Arc::new(tls);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = Arc::new(TestIssuer {
            addr: listener.local_addr().unwrap(),
            ca,
            key: seeded_key("issuer"),
            other: seeded_key("other"),
            audience: audience.to_owned(),
            jwks_served: AtomicUsize::new(0),
        });
        let served = issuer.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (tls, issuer) = (tls.clone(), served.clone());
                std::thread::spawn(move || issuer.serve(tcp, tls));
            }
        });
        issuer
    }

    /// The issuer (`iss`), `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA certificate (PEM file) of its TLS certificate.
    pub fn ca(&self) -> &Path {
        &self.ca
    }

    /// How many times its JWKS was fetched.
    pub fn jwks_served(&self) -> usize {
        self.jwks_served.load(Ordering::SeqCst)
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn token_url(&self) -> String {
        format!("{}/_apis/oidc/token?api-version=2.0", self.url())
    }

    /// An ID token of `flavour`.
    pub fn mint(&self, flavour: Flavour) -> String {
        let t = now();
        let (repository, file) = match flavour {
            Flavour::UntrustedRepository => ("mallory/ci-widget", WORKFLOW_FILE),
            Flavour::OtherWorkflow => (REPOSITORY, "nightly.yml"),
            _ => (REPOSITORY, WORKFLOW_FILE),
        };
        let mut claims = json!({
            "iss": self.url(),
            "aud": self.audience,
            "sub": format!("repo:{repository}:ref:{GIT_REF}"),
            "repository": repository,
            "repository_owner": repository.split('/').next().unwrap(),
            "repository_visibility": "private",
            "workflow_ref": format!("{repository}/.github/workflows/{file}@{GIT_REF}"),
            "ref": GIT_REF,
            "sha": COMMIT,
            "event_name": "push",
            "jti": format!("{flavour:?}-{t}"),
            "iat": t,
            "nbf": t - 5,
            "exp": t + 300,
        });
        match flavour {
            Flavour::WrongAudience => claims["aud"] = "npm:registry.npmjs.org".into(),
            Flavour::Expired => {
                claims["iat"] = (t - 1200).into();
                claims["nbf"] = (t - 1200).into();
                claims["exp"] = (t - 600).into();
            }
            _ => {}
        }
        let key = if flavour == Flavour::OtherKey {
            &self.other
        } else {
            &self.key
        };
        jwt(key, &claims)
    }

    /// A GitLab CI/CD ID token (as in `NPM_ID_TOKEN`) of `project`,
    /// whose pipeline definition is `file`.
    pub fn mint_gitlab(&self, project: &str, file: &str) -> String {
        let t = now();
        let claims = json!({
            "iss": self.url(),
            "aud": self.audience,
            "sub": format!("project_path:{project}:ref_type:branch:ref:main"),
            "project_path": project,
            "namespace_path": project.rsplit_once('/').unwrap().0,
            "project_visibility": "private",
            "ci_config_ref_uri": format!("gitlab.example/{project}//{file}@refs/heads/main"),
            "ref": "main",
            "ref_type": "branch",
            "sha": COMMIT,
            "iat": t,
            "nbf": t - 5,
            "exp": t + 300,
        });
        jwt(&self.key, &claims)
    }

    /// A token like the good one, with `iss` set to another issuer.
    pub fn mint_foreign(&self, iss: &str) -> String {
        let mut claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(self.mint(Flavour::Good).split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        claims["iss"] = iss.into();
        jwt(&self.key, &claims)
    }

    fn jwks(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())}]})
    }

    fn answer(&self, head: &str) -> (u16, Value) {
        let target = head.split_whitespace().nth(1).unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        match path {
            "/.well-known/openid-configuration" => (
                200,
                json!({"issuer": self.url(), "jwks_uri": format!("{}/.well-known/jwks", self.url()),
                       "id_token_signing_alg_values_supported": ["ES256"]}),
            ),
            "/.well-known/jwks" => {
                self.jwks_served.fetch_add(1, Ordering::SeqCst);
                (200, self.jwks())
            }
            "/_apis/oidc/token" => {
                let bearer = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().strip_prefix("Bearer ").map(str::to_owned))?
                });
                let Some(flavour) = Flavour::ALL
                    .into_iter()
                    .find(|f| bearer.as_deref() == Some(f.request_token().as_str()))
                else {
                    return (401, json!({"message": "bad request token"}));
                };
                let audience = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("audience="))
                    .map(percent_decode);
                if audience.as_deref() != Some(self.audience.as_str()) {
                    return (400, json!({"message": format!("audience {audience:?}")}));
                }
                (200, json!({"value": self.mint(flavour), "count": 1}))
            }
            _ => (404, json!({"message": "not found"})),
        }
    }

    fn serve(&self, tcp: TcpStream, tls: Arc<rustls::ServerConfig>) -> Option<()> {
        let conn = rustls::ServerConnection::new(tls).ok()?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        let head = read_head(&mut stream)?;
        let (status, body) = self.answer(&head);
        let body = body.to_string();
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).ok()?;
        stream.flush().ok()?;
        stream.conn.send_close_notify();
        let _ = stream.flush();
        Some(())
    }
}
