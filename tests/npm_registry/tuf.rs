//! The local stand-in for Sigstore's TUF repository that lets the real
//! `npm audit signatures` run offline: the demo's
//! ([`gatelog_lab::demo::tuf`], which says how it works), failing the test
//! when it cannot start.

use std::path::Path;

/// The running proxy and mirror.
pub struct TufMirror(gatelog_lab::demo::tuf::TufMirror);

impl TufMirror {
    /// Starts the mirror; its root goes into npm's TUF cache under
    /// `npm_cache` and its CA certificate into `dir`.
    pub fn start(dir: &Path, npm_cache: &Path) -> TufMirror {
        TufMirror(
            gatelog_lab::demo::tuf::TufMirror::start(dir, npm_cache)
                .unwrap_or_else(|e| panic!("the local TUF mirror: {e}")),
        )
    }

    /// The environment npm needs to reach the mirror (and only it).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.0.env()
    }

    /// How many metadata files the mirror served.
    pub fn served(&self) -> usize {
        self.0.served()
    }
}
