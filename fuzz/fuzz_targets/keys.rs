//! Verifier and private key text parsing: never panics; valid keys round-trip.
#![no_main]
use gatelog_core::keys::{SignerKey, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = VerifierKey::parse(text) {
        assert_eq!(VerifierKey::parse(&k.to_string()), Ok(k));
    }
    if let Ok(k) = SignerKey::parse(text) {
        assert_eq!(
            SignerKey::parse(&k.to_private_text()).map(|s| s.verifier()),
            Ok(k.verifier())
        );
    }
});
