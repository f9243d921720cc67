//! Checkpoint text parsing and opening: never panics; parsed text round-trips.
#![no_main]
use gatelog_core::checkpoint::{self, Checkpoint};
use gatelog_core::keys::VerifierKey;
use libfuzzer_sys::fuzz_target;

const VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cp) = Checkpoint::parse_text(text)
    {
        assert_eq!(cp.to_text(), text);
    }
    let key = VerifierKey::parse(VKEY).expect("valid key");
    let _ = checkpoint::open(data, &key);
});
