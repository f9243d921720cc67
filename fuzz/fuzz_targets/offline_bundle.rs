//! Offline bundle files (`gatelog verify --offline`, compact or JSON):
//! never panics; what reads back writes out as JSON and reads again to the
//! same entries; every proof can be checked against a log key without
//! panicking. The compact form's own round trip is `compact_bundles`.
#![no_main]
use gatelog_client::verify::offline;
use gatelog_core::keys::VerifierKey;
use gatelog_core::tlog_proof::TlogProof;
use libfuzzer_sys::fuzz_target;

const VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

fuzz_target!(|data: &[u8]| {
    let Ok(releases) = offline::read(data) else {
        return;
    };
    let again = offline::read(&offline::write_json("example.com/foo", &releases))
        .expect("a written bundle reads back");
    assert_eq!(again.len(), releases.len());
    let key = VerifierKey::parse(VKEY).expect("valid key");
    for (a, b) in releases.iter().zip(&again) {
        assert_eq!((&a.package, &a.version), (&b.package, &b.version));
        assert_eq!(a.entries.len(), b.entries.len());
        for (x, y) in a.entries.iter().zip(&b.entries) {
            assert_eq!((x.index, &x.leaf, &x.path), (y.index, &y.leaf, &y.path));
            assert_eq!(x.checkpoint, y.checkpoint);
            let proof = TlogProof {
                extra: Some(x.leaf.clone()),
                index: x.index,
                path: x.path.clone(),
                checkpoint: x.checkpoint.to_vec(),
            };
            let _ = proof.verify(&key);
        }
    }
});
