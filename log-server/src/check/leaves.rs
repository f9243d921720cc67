//! The structure of the stored entries, in log order: each is a canonical
//! version-1 leaf holding a valid event, `logged_at` never decreases, and
//! each `prev` names the previous event of the same package (`null` only
//! for a package's first event). Memory grows with the number of distinct
//! packages (one name and index each), not with the number of entries.

use std::collections::HashMap;

use gatelog_core::{Event, Leaf};

use super::{Damage, Location};

/// What the structure checks need of one entry, decoded off the main
/// thread.
pub struct Decoded {
    logged_at: u64,
    prev: Option<u64>,
    package: String,
}

/// Decodes one entry's bytes.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let leaf = Leaf::parse(bytes).map_err(|e| format!("not a valid gatelog leaf: {e}"))?;
    let event = Event::from_envelope(leaf.envelope())
        .map_err(|e| format!("the logged envelope holds no valid event: {e}"))?;
    Ok(Decoded {
        logged_at: leaf.logged_at(),
        prev: leaf.prev().map(|p| p.0),
        package: event.package.as_str().to_owned(),
    })
}

/// The entries seen so far.
#[derive(Default)]
pub struct LeafCheck {
    last_logged_at: u64,
    /// Each package's latest entry.
    heads: HashMap<String, u64>,
}

impl LeafCheck {
    /// The largest `logged_at` seen.
    pub fn last_logged_at(&self) -> u64 {
        self.last_logged_at
    }

    /// Distinct packages seen.
    pub fn packages(&self) -> usize {
        self.heads.len()
    }

    /// Checks entry `index`, the one after the previous call's.
    pub fn check(&mut self, index: u64, decoded: Result<Decoded, String>) -> Result<(), Damage> {
        let at = Location::Entry(index);
        let d = decoded.map_err(|why| Damage::new(at, why))?;
        if d.logged_at < self.last_logged_at {
            return Err(Damage::new(
                at,
                format!(
                    "logged_at {} is before an earlier entry's {}: the log clock went backwards",
                    d.logged_at, self.last_logged_at
                ),
            ));
        }
        let head = self.heads.get(&d.package).copied();
        let problem = match (d.prev, head) {
            (prev, head) if prev == head => None,
            (Some(p), _) if p >= index => Some(format!("prev {p} is not an earlier entry")),
            (Some(p), None) => Some(format!(
                "prev names entry {p}, but {} has no earlier entry",
                d.package
            )),
            (Some(p), Some(h)) => Some(format!(
                "prev names entry {p}, but the previous entry of {} is {h}",
                d.package
            )),
            (None, Some(h)) => Some(format!(
                "prev is null, but {} already has entry {h}",
                d.package
            )),
            (None, None) => None,
        };
        if let Some(problem) = problem {
            return Err(Damage::new(at, problem));
        }
        self.last_logged_at = d.logged_at;
        self.heads.insert(d.package, index);
        Ok(())
    }
}
