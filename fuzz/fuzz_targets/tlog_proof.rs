//! c2sp.org/tlog-proof parsing: never panics; parsed proofs round-trip.
#![no_main]
use gatelog_core::tlog_proof::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TlogProof::parse(data) {
        assert_eq!(TlogProof::parse(p.to_text().as_bytes()).as_ref(), Ok(&p));
    }
});
