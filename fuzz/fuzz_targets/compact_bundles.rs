//! Compact bundles answers (`gatelog-bundles/compact-v1`): parsing never
//! panics; what parses is canonical (it writes back byte for byte), folds
//! without panicking, and goes through the client's received releases and
//! back to the same bytes.
#![no_main]
use gatelog_client::compact;
use gatelog_core::compact_bundles;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = compact_bundles::parse_many(data);
    let Ok(answer) = compact_bundles::parse(data) else {
        return;
    };
    assert_eq!(answer.to_bytes(), data, "a parsed answer is canonical");
    answer
        .fold()
        .expect("a parsed answer's proof has the right length");
    let Ok(releases) = compact::releases_of(answer.clone()) else {
        return;
    };
    if answer.leaves.is_empty() {
        return;
    }
    let again = compact::answers_of(&releases).expect("received releases write back");
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].to_bytes(),
        data,
        "the client's round trip changes nothing"
    );
});
