//! Inclusion and consistency proof verification with sizes, indexes and
//! paths chosen by a hostile log: never panics, and accepts nothing for a
//! root no proof can reach.
#![no_main]
use gatelog_core::merkle::{verify_consistency, verify_inclusion};
use gatelog_core::{ConsistencyProof, Hash, InclusionProof, LeafIndex, TreeHead, TreeSize};
use libfuzzer_sys::fuzz_target;

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, v) in data.iter().skip(at).take(8).enumerate() {
        b[i] = *v;
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = (u64_at(data, 0), u64_at(data, 8));
    let path: Vec<Hash> = data
        .get(16..)
        .unwrap_or_default()
        .chunks_exact(32)
        .map(|c| Hash::from_slice(c).expect("32 bytes"))
        .collect();
    // The all-0xff root is not a SHA-256 output anyone can aim for.
    let unreachable = Hash::from_slice(&[0xff; 32]).expect("32 bytes");
    let head = TreeHead {
        size: TreeSize(b),
        root: unreachable,
    };
    let leaf = path.first().copied().unwrap_or(unreachable);
    let inclusion = InclusionProof {
        index: LeafIndex(a),
        tree_size: TreeSize(b),
        path: path.clone(),
    };
    // Only a one-leaf tree whose leaf is that root may hold.
    let included = verify_inclusion(&leaf, &inclusion, &head).is_ok();
    assert!(!included || (inclusion.path.is_empty() && leaf == unreachable && b == 1));
    let old = TreeHead {
        size: TreeSize(a),
        root: leaf,
    };
    let consistency = ConsistencyProof {
        old_size: TreeSize(a),
        new_size: TreeSize(b),
        path,
    };
    let accepted = verify_consistency(&old, &head, &consistency).is_ok();
    // Only the trivial proof (same size, same root) may hold for this root.
    assert!(!accepted || (a == b && leaf == unreachable));
});
