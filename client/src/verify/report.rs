//! The result of `gatelog verify` and its three renderings: a human summary,
//! JSON with a stable schema (documented in docs/client.md), and SARIF 2.1.0
//! for code-scanning UIs.

use serde::Serialize;
use serde_json::{Value, json};

/// What happened to one package of the lockfile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Proven in the log and accepted by the policy.
    Verified,
    /// Something is wrong; see the findings.
    Failed,
    /// Opted out by the policy's `skip` patterns or `--allow`.
    Skipped,
}

/// One reason a package failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `publish-without-approval`.
    pub rule: String,
    /// What is wrong, for a person.
    pub message: String,
    /// Log entries involved (leaf indexes).
    pub entries: Vec<u64>,
}

/// One package of the lockfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageResult {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Where the lockfile has it.
    pub location: String,
    /// The registry host it was checked at (from its `resolved` URL, or
    /// the configured registry); absent for packages not from a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Outcome.
    pub status: Status,
    /// Why it failed (empty unless `failed`).
    pub findings: Vec<Finding>,
    /// What could not be checked, without failing (e.g. `incomplete-chain`).
    pub warnings: Vec<Finding>,
}

/// The checkpoint a run verified against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointSummary {
    /// Log origin.
    pub origin: String,
    /// Tree size.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// The witnesses of the policy whose cosignatures verified.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnessed_by: Vec<String>,
}

/// Everything a run found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The lockfile checked.
    pub lockfile: String,
    /// The checkpoint everything was proven against, if one was verified.
    pub checkpoint: Option<CheckpointSummary>,
    /// One entry per package, in lockfile order.
    pub packages: Vec<PackageResult>,
}

/// Counts for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Packages in the lockfile.
    pub total: usize,
    /// Verified.
    pub verified: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped by policy.
    pub skipped: usize,
}

impl Report {
    /// Counts by status.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            total: self.packages.len(),
            ..Counts::default()
        };
        for p in &self.packages {
            match p.status {
                Status::Verified => c.verified += 1,
                Status::Failed => c.failed += 1,
                Status::Skipped => c.skipped += 1,
            }
        }
        c
    }

    /// Whether every package is verified or skipped.
    pub fn passed(&self) -> bool {
        self.counts().failed == 0
    }

    /// The human summary: counts, then one line per failure and warning.
    /// Every string from the lockfile or the log is shown with control
    /// characters and bidi controls escaped ([`crate::sanitize`]).
    pub fn to_text(&self) -> String {
        use crate::sanitize::line;
        let c = self.counts();
        let mut s = String::new();
        if let Some(cp) = &self.checkpoint {
            s += &format!(
                "log {} at tree size {} (root {})\n",
                line(&cp.origin),
                cp.tree_size,
                line(cp.root_hash.get(..16).unwrap_or(&cp.root_hash))
            );
            if !cp.witnessed_by.is_empty() {
                s += &format!(
                    "cosigned by witnesses {}\n",
                    line(&cp.witnessed_by.join(", "))
                );
            }
        }
        s += &format!(
            "{}: {} packages, {} verified, {} failed, {} skipped\n",
            line(&self.lockfile),
            c.total,
            c.verified,
            c.failed,
            c.skipped
        );
        let mut show = |label: &str, p: &PackageResult, f: &Finding| {
            let entries = if f.entries.is_empty() {
                String::new()
            } else {
                format!(
                    " [entries {}]",
                    f.entries
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            s += &format!(
                "{label} {}@{} {}: {}{entries}\n",
                line(&p.name),
                line(&p.version),
                line(&f.rule),
                line(&f.message)
            );
        };
        for p in &self.packages {
            if p.status == Status::Failed {
                for f in &p.findings {
                    show("FAIL", p, f);
                }
            }
            for f in &p.warnings {
                show("WARN", p, f);
            }
        }
        s += if c.failed == 0 {
            "OK\n"
        } else {
            "VERIFICATION FAILED\n"
        };
        s
    }

    /// The JSON document (schema `gatelog-verify/v1`).
    pub fn to_json(&self) -> Value {
        json!({
            "schema": "gatelog-verify/v1",
            "lockfile": self.lockfile,
            "checkpoint": self.checkpoint,
            "counts": self.counts(),
            "passed": self.passed(),
            "packages": self.packages,
        })
    }

    /// SARIF 2.1.0: one result per finding, located in the lockfile.
    pub fn to_sarif(&self) -> Value {
        let mut rules: Vec<String> = self
            .packages
            .iter()
            .flat_map(|p| p.findings.iter().chain(&p.warnings).map(|f| f.rule.clone()))
            .collect();
        rules.sort();
        rules.dedup();
        let results: Vec<Value> = self
            .packages
            .iter()
            .flat_map(|p| {
                let errors = p.findings.iter().map(|f| (f, "error"));
                let warnings = p.warnings.iter().map(|f| (f, "warning"));
                errors.chain(warnings).map(move |(f, level)| {
                    json!({
                        "ruleId": f.rule,
                        "level": level,
                        "message": {"text": format!("{}@{}: {}", p.name, p.version, f.message)},
                        "locations": [{
                            "physicalLocation": {"artifactLocation": {"uri": self.lockfile}},
                            "logicalLocations": [{"name": p.location, "kind": "package"}],
                        }],
                        "properties": {"package": p.name, "version": p.version, "logEntries": f.entries},
                    })
                })
            })
            .collect();
        json!({
            "version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{
                "tool": {"driver": {
                    "name": "gatelog",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|r| json!({"id": r, "shortDescription": {"text": r}})).collect::<Vec<_>>(),
                }},
                "results": results,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            lockfile: "package-lock.json".into(),
            checkpoint: Some(CheckpointSummary {
                origin: "log.example".into(),
                tree_size: 9,
                root_hash: "ab".repeat(32),
                witnessed_by: Vec::new(),
            }),
            packages: vec![
                PackageResult {
                    name: "a".into(),
                    version: "1.0.0".into(),
                    location: "node_modules/a".into(),
                    registry: Some("registry.example".into()),
                    status: Status::Verified,
                    findings: vec![],
                    warnings: vec![Finding {
                        rule: "incomplete-chain".into(),
                        message: "not checked: entries 1 to 900".into(),
                        entries: vec![1, 900],
                    }],
                },
                PackageResult {
                    name: "b".into(),
                    version: "2.0.0".into(),
                    location: "node_modules/b".into(),
                    registry: Some("registry.example".into()),
                    status: Status::Failed,
                    warnings: vec![],
                    findings: vec![Finding {
                        rule: "publish-without-approval".into(),
                        message: "published directly".into(),
                        entries: vec![7],
                    }],
                },
            ],
        }
    }

    #[test]
    fn renderings_carry_the_failures() {
        let r = report();
        assert!(!r.passed());
        let text = r.to_text();
        assert!(
            text.contains("2 packages, 1 verified, 1 failed, 0 skipped"),
            "{text}"
        );
        assert!(
            text.contains("FAIL b@2.0.0 publish-without-approval: published directly [entries 7]")
        );
        let j = r.to_json();
        assert_eq!(j["schema"], "gatelog-verify/v1");
        assert_eq!(j["packages"][1]["status"], "failed");
        assert!(
            text.contains("WARN a@1.0.0 incomplete-chain: not checked: entries 1 to 900"),
            "{text}"
        );
        assert_eq!(j["packages"][0]["warnings"][0]["rule"], "incomplete-chain");
        assert_eq!(j["packages"][0]["registry"], "registry.example");
        let sarif = r.to_sarif();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["ruleId"], "incomplete-chain");
        assert_eq!(results[0]["level"], "warning");
        assert_eq!(results[1]["ruleId"], "publish-without-approval");
        assert_eq!(results[1]["level"], "error");
    }

    #[test]
    fn text_escapes_what_lockfiles_and_logs_wrote_and_json_keeps_it() {
        let mut r = report();
        let evil = "b\u{1b}]0;owned\u{7}\u{202e}gkp\nOK";
        r.packages[1].name = evil.into();
        r.packages[1].findings[0].message = "dev \u{9b}2J\u{2066}x\r".into();
        r.lockfile = "lock\u{1b}[31m.json".into();
        r.checkpoint.as_mut().unwrap().origin = "log\u{1b}[8m".into();
        let text = r.to_text();
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::sanitize::is_unsafe(c)),
            "{text:?}"
        );
        assert!(
            text.contains("FAIL b\\u{1b}]0;owned\\u{7}\\u{202e}gkp\\nOK@2.0.0"),
            "{text}"
        );
        assert!(text.contains("dev \\u{9b}2J\\u{2066}x\\r"), "{text}");
        assert!(text.contains("lock\\u{1b}[31m.json"), "{text}");
        assert!(text.contains("log\\u{1b}[8m"), "{text}");
        // One line per finding: the forged "OK" stays inside its line.
        assert_eq!(text.lines().filter(|l| *l == "OK").count(), 0, "{text}");
        // JSON and SARIF keep the exact strings.
        assert_eq!(r.to_json()["packages"][1]["name"], evil);
        let sarif = r.to_sarif();
        assert_eq!(
            sarif["runs"][0]["results"][1]["properties"]["package"],
            evil
        );
    }
}
