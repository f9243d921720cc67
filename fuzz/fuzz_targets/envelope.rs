//! DSSE envelope parsing and verification: never panics; parsed envelopes
//! re-parse from their canonical JSON to the same value.
#![no_main]
use gatelog_core::dsse::{Envelope, Keyring};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::from_json(data) {
        let again = Envelope::from_json(&env.to_json()).expect("canonical JSON re-parses");
        assert_eq!(again, env);
        let _ = env.verify(&Keyring::new([]));
    }
});
