//! The value types read from query strings, lockfiles, policies and
//! events: package names, registry origins, SRI integrity, RFC 3339 times,
//! hex hashes and package patterns. Never panics; accepted values print
//! back to text that parses to the same value.
#![no_main]
use gatelog_core::Hash;
use gatelog_core::event::{Integrity, PackageName, Registry, Timestamp};
use gatelog_core::policy::matches;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(n) = PackageName::parse(text) {
                assert_eq!(n.as_str(), text);
            }
        }
        1 => {
            if let Ok(r) = Registry::parse(text) {
                assert_eq!(Registry::parse(r.as_str()).as_ref(), Ok(&r));
            }
        }
        2 => {
            if let Ok(i) = Integrity::parse(text) {
                assert_eq!(Integrity::parse(&i.to_string()).as_ref(), Ok(&i));
            }
        }
        3 => {
            if let Ok(t) = Timestamp::parse(text) {
                assert_eq!(Timestamp::parse(t.as_str()).map(|t| t.get()), Ok(t.get()));
            }
        }
        4 => {
            if let Some(h) = Hash::from_hex(text) {
                assert_eq!(h.to_hex(), text.to_ascii_lowercase());
            }
        }
        _ => {
            let (pattern, name) = text.split_once('\n').unwrap_or((text, ""));
            let m = matches(pattern, name);
            // A pattern without `*` matches exactly itself.
            if !pattern.contains('*') {
                assert_eq!(m, pattern == name);
            }
        }
    }
});
