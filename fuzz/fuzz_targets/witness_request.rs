//! The body of a c2sp.org/tlog-witness `add-checkpoint`, as the witness
//! reads it (anyone can send these bytes), and a witness's answer, as the
//! log reads it: never panics, and a parsed request writes back the same
//! bytes.
#![no_main]
use gatelog_core::witness::{AddCheckpoint, parse_cosignatures};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = AddCheckpoint::parse(data) {
        assert_eq!(req.to_bytes(), data);
    }
    let _ = parse_cosignatures(data);
});
