//! `GET /entry/{index}`: the raw leaf, its leaf hash, its inclusion proof
//! and the checkpoint note it is proven against, with the data the
//! in-browser check (`/explorer/verify.js`) reads from the page.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::{Hash, InclusionProof, LeafIndex, SignedCheckpoint};

use super::event::Shown;
use super::page::{esc, package_href};

/// What the entry page shows.
pub struct Entry<'a> {
    /// The entry's index.
    pub index: LeafIndex,
    /// The leaf bytes, exactly as stored.
    pub leaf: &'a [u8],
    /// Its leaf hash (as the server computed it).
    pub leaf_hash: Hash,
    /// Its inclusion proof at the checkpoint's size.
    pub proof: &'a InclusionProof,
    /// The checkpoint the proof leads to.
    pub checkpoint: &'a SignedCheckpoint,
    /// The registry host of the event, when readable.
    pub registry: Option<String>,
}

/// The body of the entry page.
pub fn page(e: &Entry<'_>) -> String {
    let shown = Shown::read(e.index, e.leaf);
    let mut out = format!(
        "<h1>Entry {} <span class=\"type t-{k}\">{k}</span></h1>\n",
        e.index.0,
        k = esc(shown.kind())
    );
    if let (Some(registry), Some(package)) = (&e.registry, shown.text("package")) {
        let _ = writeln!(
            out,
            "<p>Package <a href=\"{}\"><code>{}</code></a>{} at <code>{}</code>, logged {}.</p>",
            esc(&package_href(registry, package)),
            esc(package),
            shown
                .text("version")
                .map(|v| format!(" <code>{}</code>", esc(v)))
                .unwrap_or_default(),
            esc(registry),
            esc(&shown.logged())
        );
    }
    if let Some(problem) = &shown.problem {
        let _ = writeln!(
            out,
            "<p class=\"error\">This leaf could not be read as an event: {}</p>",
            esc(problem)
        );
    }
    out.push_str(&verify_section(e));
    out.push_str(&data_sections(e, &shown));
    out
}

/// The verification section; its data attributes are what verify.js checks.
fn verify_section(e: &Entry<'_>) -> String {
    let path: Vec<String> = e.proof.path.iter().map(Hash::to_hex).collect();
    format!(
        r#"<section id="verify" aria-labelledby="verify-h"
 data-index="{index}" data-tree-size="{size}" data-leaf="{leaf}"
 data-leaf-hash="{hash}" data-proof="{path}" data-note="{note}">
<h2 id="verify-h">Verify in this browser</h2>
<p>Your browser recomputes, with WebCrypto, the leaf hash from the leaf bytes
below, the root from the inclusion proof, and checks the checkpoint's
Ed25519 signature with the log key pinned in this page. Checking the
page's own data sends nothing anywhere; the button below fetches the same
entry again from this server's JSON API and checks that.</p>
<noscript><p class="error">Verification needs JavaScript; everything else on
this page reads without it.</p></noscript>
<p id="verify-verdict" class="verdict" role="status" aria-live="polite" data-verdict="pending">Not checked yet.</p>
<ol id="verify-steps" class="steps"></ol>
<p class="unchecked"><strong>Not checked here:</strong> the registry's DSSE
signature on the event; whether the event itself is legitimate (that is the
monitor's and the client's job); that this checkpoint is consistent with
checkpoints you saw before, or that other people are shown the same one
(witness cosignatures are listed on the <a href="/tree">tree page</a> but not
verified here); and that the pinned key is the right one — compare it with
the key you pinned yourself.</p>
<p><button type="button" id="verify-api" hidden>Fetch the proof from the JSON API and verify it</button></p>
<p id="api-verdict" class="verdict" role="status" aria-live="polite" data-verdict="none" hidden></p>
<ol id="api-steps" class="steps"></ol>
</section>
<script src="/explorer/verify.js" defer></script>
"#,
        index = e.index.0,
        size = e.proof.tree_size.0,
        leaf = esc(&STANDARD.encode(e.leaf)),
        hash = e.leaf_hash.to_hex(),
        path = path.join(" "),
        note = esc(&STANDARD.encode(e.checkpoint.to_bytes())),
    )
}

fn data_sections(e: &Entry<'_>, shown: &Shown) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section aria-labelledby=\"leaf-h\">\n<h2 id=\"leaf-h\">Leaf</h2>\n\
         <p>{} bytes, exactly as stored. Leaf hash = SHA-256(0x00 ‖ leaf):</p>\n\
         <p><code class=\"hash\" id=\"leaf-hash\">{}</code></p>\n\
         <pre class=\"raw\" id=\"raw-leaf\">{}</pre>\n\
         <h3>The event it carries</h3>\n<pre>{}</pre>\n</section>\n",
        e.leaf.len(),
        e.leaf_hash.to_hex(),
        esc(&String::from_utf8_lossy(e.leaf)),
        shown.pretty()
    );
    let _ = write!(
        out,
        "<section aria-labelledby=\"proof-h\">\n<h2 id=\"proof-h\">Inclusion proof</h2>\n\
         <p>Leaf {} in a tree of {} entries; {} hash{}, from the leaf's sibling up \
         (RFC 9162 §2.1.3).</p>\n<ol class=\"proof\" id=\"proof-path\">\n",
        e.proof.index.0,
        e.proof.tree_size.0,
        e.proof.path.len(),
        if e.proof.path.len() == 1 { "" } else { "es" }
    );
    for h in &e.proof.path {
        let _ = writeln!(out, "<li><code class=\"hash\">{}</code></li>", h.to_hex());
    }
    let _ = write!(
        out,
        "</ol>\n</section>\n<section aria-labelledby=\"cp-h\">\n<h2 id=\"cp-h\">Checkpoint</h2>\n\
         <p>The signed note the proof is checked against (root {}).</p>\n\
         <pre class=\"raw\" id=\"checkpoint-note\">{}</pre>\n\
         <p>JSON: <a href=\"/v1/entries/{}?tree_size={}\">this entry with its proof</a>.</p>\n</section>\n",
        e.checkpoint.head().root.to_hex(),
        esc(&String::from_utf8_lossy(&e.checkpoint.to_bytes())),
        e.index.0,
        e.proof.tree_size.0
    );
    out
}
