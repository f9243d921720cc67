//! One logged event as the explorer shows it: read from the leaf bytes
//! the store served, never trusted to be well-formed (the page shows what
//! it could not read instead of failing).

use std::collections::BTreeMap;

use gatelog_core::{Leaf, LeafIndex};
use serde_json::Value;

use super::page::{esc, time_ms};

/// A leaf's event, as far as it could be read.
pub struct Shown {
    /// Its index in the log.
    pub index: LeafIndex,
    /// The log's time, ms since the epoch.
    pub logged_at: u64,
    /// The package's previous event.
    pub prev: Option<LeafIndex>,
    /// The event JSON (an empty object when unreadable).
    pub body: Value,
    /// Why the event could not be read, if it could not.
    pub problem: Option<String>,
}

impl Shown {
    /// Reads a leaf; a leaf that does not parse is shown with its problem.
    pub fn read(index: LeafIndex, bytes: &[u8]) -> Shown {
        let leaf = match Leaf::parse(bytes) {
            Ok(l) => l,
            Err(e) => return Shown::unreadable(index, e.to_string()),
        };
        let (body, problem) = match serde_json::from_slice::<Value>(&leaf.envelope().payload) {
            Ok(v @ Value::Object(_)) => (v, None),
            Ok(_) => (Value::Null, Some("the payload is not a JSON object".into())),
            Err(e) => (Value::Null, Some(format!("the payload is not JSON: {e}"))),
        };
        Shown {
            index,
            logged_at: leaf.logged_at(),
            prev: leaf.prev(),
            body,
            problem,
        }
    }

    fn unreadable(index: LeafIndex, why: String) -> Shown {
        Shown {
            index,
            logged_at: 0,
            prev: None,
            body: Value::Null,
            problem: Some(why),
        }
    }

    /// A string field of the event.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    /// The event's type (`stage`, `approve`, …).
    pub fn kind(&self) -> &str {
        self.text("type").unwrap_or("unknown")
    }

    /// A leaf index the event refers to (`stage`, `approve`).
    pub fn reference(&self, key: &str) -> Option<u64> {
        self.body.get(key).and_then(Value::as_u64)
    }

    /// Who acted, as escaped HTML.
    pub fn who(&self) -> Option<String> {
        if let Some(p) = self.body.get("publisher") {
            let get = |k: &str| p.get(k).and_then(Value::as_str);
            let mut parts = Vec::new();
            if let Some(r) = get("repository") {
                parts.push(format!("repository <code>{}</code>", esc(r)));
            }
            for (label, key) in [
                ("workflow", "workflow"),
                ("ref", "ref"),
                ("commit", "commit"),
            ] {
                if let Some(v) = get(key) {
                    parts.push(format!("{label} <code>{}</code>", esc(v)));
                }
            }
            if parts.is_empty()
                && let Some(s) = get("subject")
            {
                parts.push(format!("<code>{}</code>", esc(s)));
            }
            let kind = get("kind").unwrap_or("publisher");
            return Some(format!("{} ({})", parts.join(", "), esc(kind)));
        }
        match (self.text("maintainer"), self.text("by")) {
            (Some(m), Some(b)) => Some(format!(
                "<code>{}</code>, by <code>{}</code>",
                esc(m),
                esc(b)
            )),
            (Some(m), None) => Some(format!("<code>{}</code>", esc(m))),
            (None, Some(b)) => Some(format!("<code>{}</code>", esc(b))),
            (None, None) => None,
        }
    }

    /// The device named, as escaped HTML.
    pub fn device(&self) -> Option<String> {
        let d = self.body.get("device")?;
        let get = |k: &str| d.get(k).and_then(Value::as_str);
        let mut out = format!(
            "<code>{}</code> ({})",
            esc(get("id").unwrap_or("?")),
            esc(get("kind").unwrap_or("?"))
        );
        if let Some(label) = get("label") {
            out.push_str(&format!(", “{}”", esc(label)));
        }
        if self.body.get("device_signature").is_some() {
            out.push_str(", signed approval statement");
        }
        Some(out)
    }

    /// The event JSON, indented, escaped.
    pub fn pretty(&self) -> String {
        esc(&serde_json::to_string_pretty(&self.body).unwrap_or_default())
    }

    /// The log time as text.
    pub fn logged(&self) -> String {
        time_ms(self.logged_at)
    }
}

/// Who points at an entry from the same page: approvals and rejections of
/// a stage, publishes of a stage or approval.
#[derive(Default)]
pub struct Backlinks(BTreeMap<u64, Vec<(String, u64)>>);

impl Backlinks {
    /// Collects the references among `events`.
    pub fn of(events: &[Shown]) -> Backlinks {
        let mut map: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
        for e in events {
            for key in ["stage", "approve"] {
                if let Some(target) = e.reference(key) {
                    map.entry(target)
                        .or_default()
                        .push((e.kind().to_owned(), e.index.0));
                }
            }
        }
        Backlinks(map)
    }

    /// What refers to `index`.
    pub fn to(&self, index: u64) -> &[(String, u64)] {
        self.0.get(&index).map(Vec::as_slice).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_a_leaf_are_shown_with_their_problem() {
        let s = Shown::read(LeafIndex(3), b"<script>");
        assert_eq!(s.kind(), "unknown");
        assert!(s.problem.is_some());
        assert!(s.who().is_none());
    }
}
