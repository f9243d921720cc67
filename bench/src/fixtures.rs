//! Inputs the microbenchmarks share, and the validation steps the server
//! and the monitor run on every entry, composed from the same core calls in
//! the same order (`log-server/src/http/submit.rs`,
//! `monitor/src/follow/decode.rs`).

use gatelog_core::checkpoint::{Checkpoint, Origin};
use gatelog_core::cosignature::{self, CosignatureVerifier};
use gatelog_core::dsse::EVENT_PAYLOAD_TYPE;
use gatelog_core::keys::{SignatureType, SignerKey, VerifierKey};
use gatelog_core::{Envelope, Event, Hash, Keyring, Leaf, LeafIndex, TreeHead, TreeSize};
use gatelog_lab::sample::{SampleRegistry, device_key};
use gatelog_server::submitters::Submitters;

/// A device-signed approval, the largest and most checked event a
/// registry submits, as an envelope and as the leaf the log stores.
pub struct EventFixture {
    /// The envelope's JSON, as `POST /v1/entries` receives it.
    pub envelope_json: Vec<u8>,
    /// The logged leaf, as the monitor downloads it.
    pub leaf_bytes: Vec<u8>,
    /// The server's allowlist, holding the registry's key.
    pub submitters: Submitters,
    /// The registry's key, as a monitor configured with it holds it.
    pub keyring: Keyring,
}

impl EventFixture {
    /// The fixture for registry `registry.example`.
    pub fn new() -> EventFixture {
        let registry = SampleRegistry::new("registry.example", 1);
        let device = device_key(7);
        let stage_leaf = Hash::sha256(b"the stage entry");
        let envelope = registry.approve(
            "@bench/widget",
            "4.2.0",
            b"the tarball",
            LeafIndex(41),
            &stage_leaf,
            "alice",
            Some(("yubikey-5", &device)),
            1_780_000_000,
        );
        let envelope_json = envelope.to_json();
        let leaf = Leaf::new(1_780_000_000_123, Some(LeafIndex(41)), envelope)
            .expect("a sample approval fits in a leaf");
        let key = registry.verifier_key();
        EventFixture {
            envelope_json,
            leaf_bytes: leaf.into_bytes(),
            submitters: Submitters::new(std::slice::from_ref(&key), None),
            keyring: Keyring::new([*key.key()]),
        }
    }
}

impl Default for EventFixture {
    fn default() -> EventFixture {
        EventFixture::new()
    }
}

/// What the server checks before it queues a submission: the envelope
/// parses, carries the event payload type and a signature of an
/// allowlisted registry, the event is valid, and the event's registry is
/// the signer.
pub fn server_check(submitters: &Submitters, bytes: &[u8]) -> Result<Event, String> {
    let envelope = Envelope::from_json(bytes).map_err(|e| e.to_string())?;
    envelope
        .check_payload_type(EVENT_PAYLOAD_TYPE)
        .map_err(|e| e.to_string())?;
    let (submitter, envelope) = submitters.verify(&envelope).map_err(|e| e.to_string())?;
    let event = Event::from_envelope(&envelope).map_err(|e| e.to_string())?;
    if event.registry.host() != submitter {
        return Err(format!(
            "{submitter} may not log events of {}",
            event.registry
        ));
    }
    Ok(event)
}

/// The server's checks without the signature: decode and validate only.
pub fn decode_and_validate(bytes: &[u8]) -> Result<Event, String> {
    let envelope = Envelope::from_json(bytes).map_err(|e| e.to_string())?;
    envelope
        .check_payload_type(EVENT_PAYLOAD_TYPE)
        .map_err(|e| e.to_string())?;
    Event::from_envelope(&envelope).map_err(|e| e.to_string())
}

/// What the monitor does with each downloaded leaf: parse it strictly,
/// check the registry's signature when it has registry keys, decode the
/// event.
pub fn monitor_decode(bytes: &[u8], registries: Option<&Keyring>) -> Result<Event, String> {
    let leaf = Leaf::parse(bytes).map_err(|e| e.to_string())?;
    if let Some(ring) = registries {
        leaf.envelope().verify(ring).map_err(|e| e.to_string())?;
    }
    Event::from_envelope(leaf.envelope()).map_err(|e| e.to_string())
}

/// A signed checkpoint and a witness's cosignature of it.
pub struct NoteFixture {
    /// The log's signing key.
    pub log_key: SignerKey,
    /// The unsigned checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note's bytes.
    pub signed: Vec<u8>,
    /// The checkpoint text a witness cosigns.
    pub text: String,
    /// A witness's cosigning key.
    pub witness: SignerKey,
    /// The witness's cosignature bytes over `text` (timestamp ‖ signature).
    pub cosignature: Vec<u8>,
}

impl NoteFixture {
    /// A checkpoint of a 100 M-leaf tree of log `bench.example/log`.
    pub fn new() -> NoteFixture {
        let origin = "bench.example/log";
        let log_key =
            SignerKey::from_seed(origin, SignatureType::Ed25519, &[3; 32]).expect("valid key name");
        let head = TreeHead {
            size: TreeSize(100_000_000),
            root: Hash::sha256(b"a root"),
        };
        let checkpoint = Checkpoint::new(Origin::new(origin).expect("valid origin"), head);
        let signed = checkpoint.sign(&log_key).expect("signable").to_bytes();
        let text = checkpoint.to_text();
        let witness = SignerKey::from_seed("witness.example", SignatureType::Cosignature, &[9; 32])
            .expect("valid key name");
        let cosignature = cosignature::cosign(&witness, &text, 1_780_000_000)
            .expect("a cosignature key and a valid time")
            .signature;
        NoteFixture {
            log_key,
            checkpoint,
            signed,
            text,
            witness,
            cosignature,
        }
    }

    /// The log's verifier key.
    pub fn log_verifier(&self) -> VerifierKey {
        self.log_key.verifier()
    }

    /// The witness's verifier.
    pub fn witness_verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier::new(self.witness.verifier()).expect("a cosignature key")
    }
}

impl Default for NoteFixture {
    fn default() -> NoteFixture {
        NoteFixture::new()
    }
}

/// An npm `package-lock.json` (lockfileVersion 3) pinning `n` registry
/// packages, shaped like the ones `scripts/bench-ingest.sh` verifies.
pub fn lockfile_json(n: usize) -> Vec<u8> {
    use base64::Engine as _;
    use sha2::{Digest, Sha512};
    let mut packages = serde_json::Map::new();
    packages.insert(
        String::new(),
        serde_json::json!({"name": "bench", "version": "1.0.0"}),
    );
    for p in 0..n {
        let name = format!("@hammer/pkg-{p}");
        let digest = Sha512::digest(format!("release-{p}.tgz").as_bytes());
        let integrity = format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        packages.insert(
            format!("node_modules/{name}"),
            serde_json::json!({
                "version": "1.0.0",
                "integrity": integrity,
                "resolved": format!("https://hammer.registry.test/{name}/-/pkg-{p}-1.0.0.tgz"),
            }),
        );
    }
    let lockfile = serde_json::json!({
        "name": "bench",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": true,
        "packages": packages,
    });
    serde_json::to_vec_pretty(&lockfile).expect("JSON values serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::checkpoint;
    use std::path::Path;

    #[test]
    fn the_event_passes_every_check_and_a_changed_byte_fails() {
        let f = EventFixture::new();
        server_check(&f.submitters, &f.envelope_json).unwrap();
        decode_and_validate(&f.envelope_json).unwrap();
        monitor_decode(&f.leaf_bytes, Some(&f.keyring)).unwrap();
        // A registry the server does not know is refused.
        let stranger = Submitters::new(
            &[SampleRegistry::new("other.example", 2).verifier_key()],
            None,
        );
        assert!(server_check(&stranger, &f.envelope_json).is_err());
        // A leaf that is not canonical any more is refused by the monitor.
        let mut leaf = f.leaf_bytes.clone();
        leaf.insert(1, b' ');
        assert!(monitor_decode(&leaf, None).is_err());
    }

    #[test]
    fn notes_open_and_cosignatures_verify() {
        let f = NoteFixture::new();
        let opened = checkpoint::open(&f.signed, &f.log_verifier()).unwrap();
        assert_eq!(opened.checkpoint, f.checkpoint);
        let witness = f.witness_verifier();
        assert_eq!(
            witness.verified_timestamp(&f.text, &f.cosignature),
            Some(1_780_000_000)
        );
        assert_eq!(witness.verified_timestamp("other\n", &f.cosignature), None);
    }

    #[test]
    fn lockfiles_parse_with_every_package() {
        let bytes = lockfile_json(100);
        let lock = gatelog_client::lockfile::parse(Path::new("package-lock.json"), &bytes).unwrap();
        assert_eq!(lock.registry_packages().count(), 100);
    }
}
