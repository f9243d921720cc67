//! Helpers shared by this crate's tests.

/// Applies random byte edits, as proptest generates them: `(position,
/// byte, op)` where op 0 replaces, 1 inserts and 2 removes a byte.
pub fn apply_edits(bytes: &mut Vec<u8>, edits: &[(usize, u8, u8)]) {
    for &(at, byte, op) in edits {
        let at = at % (bytes.len() + 1);
        match op {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
}
