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
    /// Outcome.
    pub status: Status,
    /// Why it failed (empty unless `failed`).
    pub findings: Vec<Finding>,
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

    /// The human summary: counts, then one line per failure.
    pub fn to_text(&self) -> String {
        let c = self.counts();
        let mut s = String::new();
        if let Some(cp) = &self.checkpoint {
            s += &format!(
                "log {} at tree size {} (root {})\n",
                cp.origin,
                cp.tree_size,
                &cp.root_hash[..16]
            );
        }
        s += &format!(
            "{}: {} packages, {} verified, {} failed, {} skipped\n",
            self.lockfile, c.total, c.verified, c.failed, c.skipped
        );
        for p in self.packages.iter().filter(|p| p.status == Status::Failed) {
            for f in &p.findings {
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
                    "FAIL {}@{} {}: {}{entries}\n",
                    p.name, p.version, f.rule, f.message
                );
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
            .flat_map(|p| p.findings.iter().map(|f| f.rule.clone()))
            .collect();
        rules.sort();
        rules.dedup();
        let results: Vec<Value> = self
            .packages
            .iter()
            .flat_map(|p| {
                p.findings.iter().map(move |f| {
                    json!({
                        "ruleId": f.rule,
                        "level": "error",
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
            }),
            packages: vec![
                PackageResult {
                    name: "a".into(),
                    version: "1.0.0".into(),
                    location: "node_modules/a".into(),
                    status: Status::Verified,
                    findings: vec![],
                },
                PackageResult {
                    name: "b".into(),
                    version: "2.0.0".into(),
                    location: "node_modules/b".into(),
                    status: Status::Failed,
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
        let sarif = r.to_sarif();
        assert_eq!(
            sarif["runs"][0]["results"][0]["ruleId"],
            "publish-without-approval"
        );
        assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
    }
}
