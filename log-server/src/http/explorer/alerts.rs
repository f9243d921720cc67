//! What a monitor flagged, when the operator gives the server a monitor's
//! alert feed (`--monitor-alerts FILE`): a file of `gatelog-alert/v1` JSON
//! lines, as `gatelog-monitor --format json` prints them (or its `--hook`
//! appends them). The tree page lists the newest alerts, a package's
//! timeline the alerts about it.
//!
//! The feed is the monitor's word, not the log's: the pages say so. Only
//! the last [`TAIL_BYTES`] of the file are read, each time a page is
//! rendered; lines that are not alerts are skipped.

use std::fmt::Write as _;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use serde_json::Value;

use super::page::esc;

/// How much of the end of the feed is read.
pub const TAIL_BYTES: u64 = 1 << 20;

/// Alerts shown on one page at most.
pub const SHOWN: usize = 20;

/// One alert, the fields a page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flagged {
    /// Rule id, e.g. `publish-without-approval`.
    pub rule: String,
    /// Severity, e.g. `critical`.
    pub severity: String,
    /// The package, if the alert is about one.
    pub package: Option<String>,
    /// The version, if any.
    pub version: Option<String>,
    /// The monitor's message.
    pub message: String,
    /// Entries that are its evidence.
    pub evidence: Vec<u64>,
}

fn flagged(line: &str) -> Option<Flagged> {
    let v: Value = serde_json::from_str(line).ok()?;
    if v["schema"] != "gatelog-alert/v1" {
        return None;
    }
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    Some(Flagged {
        rule: text("rule")?,
        severity: text("severity").unwrap_or_default(),
        package: text("package"),
        version: text("version"),
        message: text("message").unwrap_or_default(),
        evidence: v["evidence"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default(),
    })
}

/// The newest alerts of the feed at `path` (about `package` when given),
/// newest first, at most [`SHOWN`]. A feed that cannot be read is an
/// error message for the page, not a failed page.
pub fn read(path: &Path, package: Option<&str>) -> Result<Vec<Flagged>, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("the alert feed: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("the alert feed: {e}"))?
        .len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| format!("the alert feed: {e}"))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("the alert feed: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        // The first line may be cut.
        lines.remove(0);
    }
    Ok(lines
        .iter()
        .rev()
        .filter_map(|l| flagged(l))
        .filter(|a| package.is_none_or(|p| a.package.as_deref() == Some(p)))
        .take(SHOWN)
        .collect())
}

/// The section of a page listing `alerts` (or why the feed could not be read).
pub fn section(alerts: &Result<Vec<Flagged>, String>, about: &str) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"alerts-h\">\n<h2 id=\"alerts-h\">What a monitor flagged{}</h2>\n\
         <p class=\"note\">From the monitor's alert feed this server was given: the monitor's \
         judgement, not something the log proves.</p>\n",
        esc(about)
    );
    match alerts {
        Err(e) => {
            let _ = writeln!(out, "<p>{}</p>", esc(e));
        }
        Ok(list) if list.is_empty() => out.push_str("<p>No alerts.</p>\n"),
        Ok(list) => {
            out.push_str("<ul class=\"alerts\">\n");
            for a in list {
                let what = match (&a.package, &a.version) {
                    (Some(p), Some(v)) => format!(" <code>{}@{}</code>", esc(p), esc(v)),
                    (Some(p), None) => format!(" <code>{}</code>", esc(p)),
                    _ => String::new(),
                };
                let evidence: Vec<String> = a
                    .evidence
                    .iter()
                    .map(|i| format!("<a href=\"/entry/{i}\">#{i}</a>"))
                    .collect();
                let _ = writeln!(
                    out,
                    "<li><strong>{}</strong> ({}){what}: {}{}</li>",
                    esc(&a.rule),
                    esc(&a.severity),
                    esc(&a.message),
                    if evidence.is_empty() {
                        String::new()
                    } else {
                        format!(" — evidence {}", evidence.join(", "))
                    }
                );
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_is_read_from_its_end_filtered_and_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let alert = |package: &str, rule: &str| {
            format!(
                "{{\"schema\":\"gatelog-alert/v1\",\"rule\":\"{rule}\",\"severity\":\"critical\",\"package\":\"{package}\",\"version\":\"1.0.0\",\"message\":\"<b>bad</b>\",\"evidence\":[3,4]}}\n"
            )
        };
        let text = format!(
            "not json\n{}{}{{\"schema\":\"other\"}}\n{}",
            alert("left-pad", "publish-without-approval"),
            alert("widget", "rubber-stamp"),
            alert("left-pad", "integrity-mismatch")
        );
        std::fs::write(&path, text).unwrap();
        let all = read(&path, None).unwrap();
        let rules: Vec<&str> = all.iter().map(|a| a.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "integrity-mismatch",
                "rubber-stamp",
                "publish-without-approval"
            ]
        );
        let ours = read(&path, Some("left-pad")).unwrap();
        assert_eq!(ours.len(), 2);
        let html = section(&Ok(ours), " about left-pad");
        assert!(html.contains("&lt;b&gt;bad&lt;/b&gt;"), "{html}");
        assert!(html.contains("<a href=\"/entry/3\">#3</a>"), "{html}");
        assert!(read(&dir.path().join("missing"), None).is_err());
        let missing = section(&read(&dir.path().join("missing"), None), "");
        assert!(missing.contains("the alert feed:"), "{missing}");
    }
}
