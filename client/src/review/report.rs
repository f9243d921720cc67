//! A review's outcome and its two forms: text for a maintainer, and the
//! `gatelog-review/v1` JSON document for automation (docs/maintainers.md).

use std::fmt::Write as _;

use gatelog_core::event::Publisher;
use serde::Serialize;
use serde_json::{Value, json};

use super::compare::FileChange;
use super::findings::Finding;
use super::source::SourceReport;
use crate::sanitize;

/// The JSON schema name.
pub const SCHEMA: &str = "gatelog-review/v1";

/// The staged release, as checked against the log.
#[derive(Clone, Debug, Serialize)]
pub struct Staged {
    /// Stage id.
    pub id: String,
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Requested dist-tag.
    pub tag: Option<String>,
    /// The registry's status of the item.
    pub status: String,
    /// The integrity computed, equal to the registry's and the log's.
    pub integrity: String,
    /// Leaf index of the `stage` event.
    pub stage_log_index: u64,
    /// Its leaf hash (hex).
    pub stage_leaf_hash: String,
    /// When it was staged, by the registry's clock.
    pub staged_at: String,
}

/// The release compared against.
#[derive(Clone, Debug, Serialize)]
pub struct Previous {
    /// Its version.
    pub version: String,
    /// Its integrity, equal to the packument's and the log's `publish`.
    pub integrity: String,
    /// Leaf index of its `publish` event.
    pub publish_log_index: u64,
}

/// Everything a review found.
#[derive(Clone, Debug)]
pub struct Review {
    /// The staged release.
    pub staged: Staged,
    /// Who staged it, as logged.
    pub publisher: Publisher,
    /// The registry account, as the registry says (unlogged).
    pub actor: Option<String>,
    /// The previous release, if there is one.
    pub previous: Option<Previous>,
    /// Files that differ from the previous release (all files, added, for
    /// a first release).
    pub files: Vec<FileChange>,
    /// The comparison with a checkout, if asked.
    pub source: Option<SourceReport>,
    /// Every finding.
    pub findings: Vec<Finding>,
}

impl Review {
    /// How many findings are flagged.
    pub fn flagged(&self) -> usize {
        self.findings.iter().filter(|f| f.flagged).count()
    }

    /// The `gatelog-review/v1` document.
    pub fn to_json(&self) -> Value {
        json!({
            "schema": SCHEMA,
            "staged": self.staged,
            "staged_by": self.publisher,
            "actor": self.actor,
            "previous": self.previous,
            "files": self.files,
            "source": self.source,
            "findings": self.findings,
            "flagged": self.flagged(),
        })
    }

    /// The text report; every string from the tarball, registry or log is
    /// escaped for the terminal.
    pub fn to_text(&self) -> String {
        let s = |t: &str| sanitize::line(t).into_owned();
        let mut out = String::new();
        let st = &self.staged;
        let _ = writeln!(
            out,
            "{}@{} (stage {}, {}, tag {})",
            s(&st.package),
            s(&st.version),
            s(&st.id),
            s(&st.status),
            s(st.tag.as_deref().unwrap_or("latest"))
        );
        let _ = writeln!(
            out,
            "integrity {} matches the registry and log entry {} (leaf {})",
            st.integrity, st.stage_log_index, st.stage_leaf_hash
        );
        let _ = writeln!(out, "staged at {} by {}", s(&st.staged_at), self.who());
        match &self.previous {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "compared with {} ({}, publish at log entry {})",
                    s(&p.version),
                    p.integrity,
                    p.publish_log_index
                );
            }
            None => out.push_str("no earlier published version: a first release\n"),
        }
        out.push_str("\nfiles:\n");
        if self.files.is_empty() {
            out.push_str("  (no change)\n");
        }
        for f in &self.files {
            let mode = match (f.was_executable, f.executable) {
                (false, true) if f.change != super::compare::Change::Removed => " (executable)",
                _ => "",
            };
            let _ = writeln!(out, "  {:<8} {}{mode}", f.change.as_str(), s(&f.path));
        }
        if let Some(src) = &self.source {
            let _ = writeln!(
                out,
                "\nsource {}: {} files packed, {} extra in the tarball, {} differ, {} missing",
                s(&src.dir.display().to_string()),
                src.files,
                src.extra.len(),
                src.differs.len(),
                src.missing.len()
            );
        }
        let diffs = self.files.iter().filter_map(|f| f.diff.as_deref()).chain(
            self.source
                .iter()
                .flat_map(|src| src.differs.iter().filter_map(|d| d.diff.as_deref())),
        );
        let mut first = true;
        for d in diffs {
            if first {
                out.push_str("\ndiffs:\n");
                first = false;
            }
            out.push_str(&sanitize::lines(d));
            if !d.ends_with('\n') {
                out.push('\n');
            }
        }
        out.push_str("\nfindings:\n");
        if self.findings.is_empty() {
            out.push_str("  none\n");
        }
        for f in &self.findings {
            let mark = if f.flagged { "FLAGGED" } else { "note   " };
            let _ = writeln!(out, "  {mark} {}: {}", f.kind, s(&f.message));
        }
        let _ = writeln!(out, "\n{} flagged", self.flagged());
        out
    }

    /// Who staged it, in one line.
    fn who(&self) -> String {
        let p = &self.publisher;
        let s = |t: &Option<String>| t.as_deref().map(|t| sanitize::line(t).into_owned());
        let mut who = format!("{} {}", p.kind, sanitize::line(&p.subject));
        for (name, value) in [
            ("issuer", s(&p.issuer)),
            ("repository", s(&p.repository)),
            ("workflow", s(&p.workflow)),
            ("ref", s(&p.git_ref)),
            ("commit", s(&p.commit)),
        ] {
            if let Some(v) = value {
                let _ = write!(who, ", {name} {v}");
            }
        }
        if let Some(actor) = &self.actor {
            let _ = write!(who, " (registry account {})", sanitize::line(actor));
        }
        who
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::compare::Change;
    use gatelog_core::event::PublisherKind;

    fn review(publisher: Publisher, path: &str) -> Review {
        Review {
            staged: Staged {
                id: "id-1".into(),
                package: "@acme/widget".into(),
                version: "1.0.1".into(),
                tag: None,
                status: "staged".into(),
                integrity: "sha512-x".into(),
                stage_log_index: 7,
                stage_leaf_hash: "ab".into(),
                staged_at: "2026-01-01T00:00:00Z".into(),
            },
            publisher,
            actor: Some("octo/widget".into()),
            previous: None,
            files: vec![FileChange {
                path: path.into(),
                change: Change::Added,
                executable: false,
                was_executable: false,
                diff: Some(format!("+++ b/{path}\n+x\n")),
            }],
            source: None,
            findings: vec![Finding::flag("minified", "m".into(), None)],
        }
    }

    #[test]
    fn oidc_claims_are_shown_and_untrusted_text_is_escaped() {
        let oidc = Publisher {
            kind: PublisherKind::Oidc,
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            subject: "repo:octo/widget:ref:refs/tags/v1.0.1".into(),
            repository: Some("octo/widget".into()),
            workflow: Some(".github/workflows/release.yml".into()),
            git_ref: Some("refs/tags/v1.0.1".into()),
            commit: Some("a".repeat(40)),
        };
        let r = review(oidc, "evil\u{1b}[2J.js");
        let text = r.to_text();
        for want in [
            "by oidc repo:octo/widget:ref:refs/tags/v1.0.1",
            "issuer https://token.actions.githubusercontent.com",
            "repository octo/widget",
            "workflow .github/workflows/release.yml",
            "ref refs/tags/v1.0.1",
            &format!("commit {}", "a".repeat(40)),
            "evil\\u{1b}[2J.js",
            "1 flagged",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
        assert!(!text.contains('\u{1b}'), "{text}");
        let json = r.to_json();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(
            json["staged_by"]["workflow"],
            ".github/workflows/release.yml"
        );
        assert_eq!(json["staged_by"]["ref"], "refs/tags/v1.0.1");
        // JSON keeps strings exact.
        assert_eq!(json["files"][0]["path"], "evil\u{1b}[2J.js");
        assert_eq!(json["flagged"], 1);
        assert!(json["previous"].is_null());
    }
}
