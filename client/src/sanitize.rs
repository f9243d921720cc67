//! Untrusted text made safe for a terminal.
//!
//! Lockfiles and log events are written by others: a package name, a
//! device id or a log's error message can hold terminal escape sequences
//! (ESC, CSI, OSC: colours, cursor moves, window titles, hyperlinks),
//! carriage returns that overwrite a line, newlines that forge lines such
//! as `OK`, or Unicode bidi controls that show text in another order than
//! it is (Trojan Source). Text output shows each such character escaped as
//! `\u{…}` (`\n`, `\r`, `\t` as themselves escaped); JSON and SARIF output
//! keep every string exact.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls,
/// DEL, bidi embeddings, overrides, isolates and marks, line and paragraph
/// separators, zero-width characters and the byte order mark.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'              // arabic letter mark
            | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202E}' // separators, LRE, RLE, PDF, LRO, RLO
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, isolates
            | '\u{FEFF}'            // zero-width no-break space (BOM)
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        )
}

fn escape(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

/// `text` with every [`is_unsafe`] character escaped (newlines too): for
/// one field on one line.
pub fn line(text: &str) -> Cow<'_, str> {
    clean(text, false)
}

/// `text` with every [`is_unsafe`] character but `\n` escaped: for
/// messages of several lines (errors with signed notes as evidence).
pub fn lines(text: &str) -> Cow<'_, str> {
    clean(text, true)
}

fn clean(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if bad(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_and_keeps_the_rest() {
        assert!(matches!(line("left-pad@1.3.0 ✓ ünï"), Cow::Borrowed(_)));
        assert_eq!(line("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(line("\u{1b}]8;;http://x\u{7}"), "\\u{1b}]8;;http://x\\u{7}");
        assert_eq!(line("x\u{9b}31m"), "x\\u{9b}31m", "C1 CSI");
        assert_eq!(line("ok\nOK\r"), "ok\\nOK\\r");
        assert_eq!(line("\u{7f}\u{0}"), "\\u{7f}\\u{0}");
        for bidi in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let s = format!("a{bidi}b");
            let clean = line(&s);
            assert!(!clean.contains(bidi), "{bidi:?}");
            assert!(
                clean.starts_with("a\\u{") && clean.ends_with("}b"),
                "{clean}"
            );
        }
        assert_eq!(lines("one\ntwo\u{1b}"), "one\ntwo\\u{1b}");
    }
}
