//! `POST /v1/proofs/inclusion` bodies: never panics, never keeps more than
//! the limit, and what it keeps reparses to the same request.
#![no_main]

use gatelog_core::wire::{MAX_PROOF_INDEXES, parse_inclusion_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = parse_inclusion_request(data) {
        assert!(request.indexes.len() <= MAX_PROOF_INDEXES);
        assert!(request.indexes.len() <= request.count);
        if request.count <= MAX_PROOF_INDEXES {
            let again =
                serde_json::json!({ "tree_size": request.tree_size, "indexes": request.indexes })
                    .to_string();
            let reparsed = parse_inclusion_request(again.as_bytes()).expect("reparses");
            assert_eq!(reparsed, request);
        }
    }
});
