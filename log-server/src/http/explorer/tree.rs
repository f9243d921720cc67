//! `GET /tree`: the checkpoint readers are served, its size, and the
//! cosignature lines witnesses added to it.

use std::fmt::Write as _;

use gatelog_core::SignedCheckpoint;
use gatelog_core::keys::VerifierKey;

use super::event::Shown;
use super::page::{esc, package_href, time_ms};

/// The newest entries, newest first, each linked to its entry and timeline.
fn newest_list(newest: &[Shown]) -> String {
    if newest.is_empty() {
        return "<p>The tree is empty.</p>\n".to_owned();
    }
    let mut out = String::from(
        "<section aria-labelledby=\"newest-h\">\n<h2 id=\"newest-h\">Newest entries</h2>\n<ol class=\"newest\" reversed>\n",
    );
    for e in newest {
        let package = match (e.text("registry"), e.text("package")) {
            (Some(r), Some(p)) => {
                let host = crate::http::query::registry_host(r).unwrap_or_default();
                format!(
                    " of <a href=\"{}\"><code>{}</code></a>",
                    esc(&package_href(&host, p)),
                    esc(p)
                )
            }
            _ => String::new(),
        };
        let version = e
            .text("version")
            .map(|v| format!(" <code>{}</code>", esc(v)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li value=\"{i}\"><a href=\"/entry/{i}\">#{i}</a> {}{package}{version}, logged {}</li>",
            esc(e.kind()),
            esc(&e.logged()),
            i = e.index.0
        );
    }
    out.push_str("</ol>\n</section>\n");
    out
}

/// The body of the tree page.
pub fn page(
    cp: &SignedCheckpoint,
    log_key: &VerifierKey,
    latest_size: u64,
    newest: &[Shown],
) -> String {
    let head = cp.head();
    let mut out = format!(
        "<h1>The tree</h1>\n<dl class=\"facts\">\n\
         <dt>Size</dt><dd id=\"tree-size\">{} entr{}</dd>\n\
         <dt>Root hash</dt><dd><code class=\"hash\">{}</code></dd>\n\
         <dt>Origin</dt><dd><code>{}</code></dd>\n\
         <dt>Log key</dt><dd><code class=\"key\">{}</code></dd>\n",
        head.size.0,
        if head.size.0 == 1 { "y" } else { "ies" },
        head.root.to_hex(),
        esc(cp.checkpoint.origin.as_str()),
        esc(&log_key.to_string()),
    );
    if latest_size > head.size.0 {
        let _ = writeln!(
            out,
            "<dt>Signed, awaiting cosignatures</dt><dd>{latest_size} entries</dd>"
        );
    }
    out.push_str("</dl>\n");
    out.push_str(&newest_list(newest));
    let _ = write!(
        out,
        "<section aria-labelledby=\"note-h\">\n<h2 id=\"note-h\">Checkpoint</h2>\n\
         <p>As served at <a href=\"/checkpoint\">/checkpoint</a>.</p>\n\
         <pre class=\"raw\" id=\"checkpoint-note\">{}</pre>\n</section>\n",
        esc(&String::from_utf8_lossy(&cp.to_bytes()))
    );
    out.push_str(&cosignatures(cp, log_key));
    out
}

/// The note's signature lines other than the log's own.
fn cosignatures(cp: &SignedCheckpoint, log_key: &VerifierKey) -> String {
    let others: Vec<_> = cp
        .note
        .signatures
        .iter()
        .filter(|s| !(s.name == log_key.name() && s.key_id == log_key.id()))
        .collect();
    let mut out = String::from(
        "<section aria-labelledby=\"cosig-h\">\n<h2 id=\"cosig-h\">Witness cosignatures</h2>\n",
    );
    if others.is_empty() {
        out.push_str(
            "<p id=\"cosignatures\" data-count=\"0\">None: this checkpoint carries only the \
             log's signature.</p>\n</section>\n",
        );
        return out;
    }
    let _ = writeln!(
        out,
        "<p>Lines as served; this page lists them without verifying them.</p>\n\
         <ul id=\"cosignatures\" data-count=\"{}\">",
        others.len()
    );
    for s in others {
        // cosignature/v1: an 8-byte timestamp, then the Ed25519 signature.
        let when = (s.signature.len() == 72)
            .then(|| {
                let mut t = [0u8; 8];
                t.copy_from_slice(&s.signature[..8]);
                u64::from_be_bytes(t)
            })
            .and_then(|secs| secs.checked_mul(1000))
            .map(|ms| format!(", cosigned at {}", time_ms(ms)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li><code>{}</code> key ID <code>{:08x}</code>{}<br><code class=\"raw\">{}</code></li>",
            esc(&s.name),
            s.key_id,
            esc(&when),
            esc(s.to_line().trim_end())
        );
    }
    out.push_str("</ul>\n</section>\n");
    out
}
