//! A c2sp.org/tlog-policy file, as `gatelog verify --witness-policy` and
//! `gatelog-server --witness-policy` read it, and the quorum check over a
//! checkpoint note built from the same bytes: never panics.
#![no_main]
use gatelog_core::note::Note;
use gatelog_core::witness_policy::WitnessPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = WitnessPolicy::parse(data) {
        let _ = policy.describe();
        if let Ok(note) = Note::parse(data) {
            let _ = policy.check(&note);
        }
    }
});
