//! The two lockfiles of the demo and their verification with the real
//! `gatelog verify` command (the `gatelog` binary next to this one, run as a child process, with
//! `--format json` so the demo can check every failure it reports).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::sample::{Release, Story};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::DemoError;
use super::play::entries;
use super::show::{Colour, Out, count, list};

/// Writes `<dir>/package-lock.json` (lockfileVersion 3) for the project
/// `name` installing `releases` from the registry at `registry` (an
/// origin, `https://host`). The first version of a package goes to
/// `node_modules/<name>`; further versions are nested under other
/// packages, as npm installs conflicting versions. Returns the file's path.
pub fn write(
    dir: &Path,
    name: &str,
    registry: &str,
    releases: &[Release],
) -> Result<PathBuf, DemoError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| DemoError::Setup(format!("{}: {e}", dir.display())))?;
    let mut locations: Vec<(String, String)> = Vec::new();
    let mut packages = Map::new();
    let mut dependencies = BTreeMap::new();
    for r in releases {
        let location = place(&locations, &r.package);
        if !location.contains("/node_modules/") {
            dependencies.insert(r.package.clone(), format!("^{}", r.version));
        }
        let basename = r.package.rsplit('/').next().unwrap_or(&r.package);
        packages.insert(
            location.clone(),
            json!({
                "version": r.version,
                "resolved": format!("{registry}/{}/-/{basename}-{}.tgz", r.package, r.version),
                "integrity": r.integrity.to_string(),
            }),
        );
        locations.push((location, r.package.clone()));
    }
    let mut root = Map::new();
    root.insert(
        "".into(),
        json!({"name": name, "version": "1.0.0", "dependencies": dependencies}),
    );
    root.extend(packages);
    let doc = json!({
        "name": name,
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": true,
        "packages": Value::Object(root),
    });
    let path = dir.join("package-lock.json");
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    std::fs::write(&path, text)
        .map_err(|e| DemoError::Setup(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// A free install location for `package`: top level if free, else nested
/// under the first location (of another package) that has no copy yet.
fn place(taken: &[(String, String)], package: &str) -> String {
    let top = format!("node_modules/{package}");
    let used = |l: &str| taken.iter().any(|(t, _)| t == l);
    if !used(&top) {
        return top;
    }
    let mut i = 0;
    loop {
        // Every location gets a free nested slot, so this ends.
        if let Some((parent, name)) = taken.get(i)
            && name != package
        {
            let nested = format!("{parent}/node_modules/{package}");
            if !used(&nested) {
                return nested;
            }
        }
        i += 1;
        if i >= taken.len() {
            // Only copies of `package` itself so far: nest under its last one.
            let parent = &taken[taken.len() - 1].0;
            return format!("{parent}/node_modules/{package}");
        }
    }
}

/// How to run `gatelog verify` against the demo's log.
pub struct VerifyCommand<'a> {
    /// The `gatelog` executable.
    pub exe: &'a Path,
    /// The log's base URL.
    pub log: &'a str,
    /// The log's verifier key.
    pub log_key: &'a str,
    /// The registry's verifier key.
    pub registry_key: &'a str,
    /// The state folder (the last verified checkpoint).
    pub state_dir: &'a Path,
}

/// The `gatelog-verify/v1` report (the fields the demo reads).
#[derive(Clone, Debug, Deserialize)]
pub struct Report {
    /// Counts by status.
    pub counts: Counts,
    /// One per lockfile location.
    pub packages: Vec<Package>,
}

/// Counts by status.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Counts {
    /// Locations in the lockfile.
    pub total: usize,
    /// Verified.
    pub verified: usize,
    /// Failed.
    pub failed: usize,
}

/// One package of the report.
#[derive(Clone, Debug, Deserialize)]
pub struct Package {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `verified`, `failed` or `skipped`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// One reason a package failed.
#[derive(Clone, Debug, Deserialize)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// Entries involved.
    #[serde(default)]
    pub entries: Vec<u64>,
}

/// What a `gatelog verify` run ended with.
pub struct Verified {
    /// Its exit code.
    pub code: i32,
    /// Its report (absent when it could not decide).
    pub report: Option<Report>,
    /// Its standard error.
    pub stderr: String,
}

impl VerifyCommand<'_> {
    /// The command line a person would type (`gatelog` for the executable,
    /// the keys as shell variables).
    pub fn shown(&self, lockfile: &Path) -> String {
        format!(
            "gatelog verify --lockfile {} --log {} --log-key \"$LOG_KEY\" --registry-key \"$REGISTRY_KEY\" --state-dir {}",
            lockfile.display(),
            self.log,
            self.state_dir.display()
        )
    }

    /// Runs `gatelog verify --format json` on `lockfile`.
    pub async fn run(&self, lockfile: &Path) -> Result<Verified, DemoError> {
        let output = tokio::process::Command::new(self.exe)
            .arg("verify")
            .arg("--lockfile")
            .arg(lockfile)
            .args(["--log", self.log, "--log-key", self.log_key])
            .args(["--registry-key", self.registry_key])
            .arg("--state-dir")
            .arg(self.state_dir)
            .args(["--format", "json"])
            .env_remove("GATELOG_LOG")
            .env_remove("GATELOG_LOG_KEY")
            .env_remove("GATELOG_STATE_DIR")
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| DemoError::Failed(format!("cannot run gatelog verify: {e}")))?;
        Ok(Verified {
            code: output.status.code().unwrap_or(-1),
            report: serde_json::from_slice(&output.stdout).ok(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// What went wrong with the attacked lockfile's report, compared with the
/// rules the story says `gatelog verify` reports per release. Empty when
/// every release failed with exactly its rules and the others passed.
pub fn unexpected(report: &Report, releases: &[Release]) -> Vec<String> {
    let expected: BTreeMap<(&str, &str), BTreeSet<&str>> = releases
        .iter()
        .map(|r| {
            (
                (r.package.as_str(), r.version.as_str()),
                r.verify_rules.iter().copied().collect(),
            )
        })
        .collect();
    let mut problems = Vec::new();
    for p in &report.packages {
        let got: BTreeSet<&str> = p.findings.iter().map(|f| f.rule.as_str()).collect();
        let want = expected
            .get(&(p.name.as_str(), p.version.as_str()))
            .cloned()
            .unwrap_or_default();
        if got != want {
            let show = |s: &BTreeSet<&str>| {
                if s.is_empty() {
                    "nothing".to_owned()
                } else {
                    s.iter().copied().collect::<Vec<_>>().join(", ")
                }
            };
            problems.push(format!(
                "{}@{}: gatelog verify reported {}, expected {}",
                p.name,
                p.version,
                show(&got),
                show(&want)
            ));
        }
    }
    problems
}

/// What the lockfile checks ended with.
pub struct Checked {
    /// The honest lockfile verified.
    pub honest_passed: bool,
    /// How many packages of the attacked lockfile failed, when it failed
    /// exactly as the story says.
    pub attacked_failed: Option<usize>,
    /// The attacked app's folder.
    pub attacked_dir: PathBuf,
}

/// Writes the honest and the attacked app's lockfiles into `data`,
/// verifies both with `verify` and shows the outcome; records what did not
/// end as the story says in `problems`.
pub async fn check(
    out: &Out,
    story: &Story,
    verify: &VerifyCommand<'_>,
    data: &Path,
    problems: &mut Vec<String>,
) -> Result<Checked, DemoError> {
    let origin = &story.registry().origin;
    let honest = story.honest_releases();
    let honest_dir = data.join("honest-app");
    let honest_path = write(&honest_dir, "honest-app", origin, &honest)?;
    out.wrapped(
        "  ",
        &format!(
            "{}: an app that installed all {} versions acme published before the attacks.",
            honest_path.display(),
            honest.len()
        ),
        None,
    );
    out.line(&out.paint(Colour::Cyan, &format!("$ {}", verify.shown(&honest_dir))));
    let honest_run = verify.run(&honest_dir).await?;
    let honest_passed = show_honest(out, &honest_run, honest.len(), problems);

    let attacked = story.attacked_releases();
    let mut installed = latest_per_package(&honest);
    let earlier = installed.len();
    installed.extend(attacked.iter().cloned());
    let attacked_dir = data.join("attacked-app");
    let attacked_path = write(&attacked_dir, "attacked-app", origin, &installed)?;
    out.blank();
    out.wrapped(
        "  ",
        &format!(
            "{}: an app that pulled every version published during the attacks ({}) on top \
             of {earlier} earlier ones.",
            attacked_path.display(),
            attacked.len()
        ),
        None,
    );
    out.line(&out.paint(Colour::Cyan, &format!("$ {}", verify.shown(&attacked_dir))));
    let attacked_run = verify.run(&attacked_dir).await?;
    let attacked_failed = show_attacked(out, &attacked_run, &attacked, problems);

    Ok(Checked {
        honest_passed,
        attacked_failed,
        attacked_dir,
    })
}

/// The newest version of each package among `releases`, in first-seen order.
fn latest_per_package(releases: &[Release]) -> Vec<Release> {
    let mut out: Vec<Release> = Vec::new();
    for r in releases {
        match out.iter_mut().find(|o| o.package == r.package) {
            Some(o) => *o = r.clone(),
            None => out.push(r.clone()),
        }
    }
    out
}

/// Shows the honest run; returns whether it passed as expected.
fn show_honest(out: &Out, run: &Verified, expected: usize, problems: &mut Vec<String>) -> bool {
    let ok = match &run.report {
        Some(r) if run.code == 0 && r.counts.verified == expected && r.counts.failed == 0 => {
            let text = format!(
                "exit 0: verified {}, each proven in the log, staged by its CI, approved by a \
                 maintainer from a known device and published as approved",
                count(r.counts.verified, "package", "packages")
            );
            out.wrapped("  ✓ ", &text, Some(Colour::Green));
            true
        }
        _ => false,
    };
    if !ok {
        let why = format!(
            "the honest lockfile did not verify (exit {}): {}",
            run.code,
            summary(run)
        );
        out.line(&out.paint(Colour::Red, &format!("✗ {why}")));
        problems.push(why);
    }
    ok
}

/// Shows the attacked run; returns how many packages failed when it failed
/// as the story says.
fn show_attacked(
    out: &Out,
    run: &Verified,
    attacked: &[Release],
    problems: &mut Vec<String>,
) -> Option<usize> {
    let Some(report) = &run.report else {
        let why = format!(
            "gatelog verify gave no report (exit {}): {}",
            run.code, run.stderr
        );
        out.line(&out.paint(Colour::Red, &format!("✗ {why}")));
        problems.push(why);
        return None;
    };
    let c = report.counts;
    out.line(&format!(
        "{} exit {}: {} of {} failed",
        out.paint(Colour::Red, "✗"),
        run.code,
        c.failed,
        count(c.total, "package", "packages")
    ));
    // In log order, as the story told them.
    let mut failed: Vec<&Package> = report
        .packages
        .iter()
        .filter(|p| p.status == "failed")
        .collect();
    failed.sort_by_key(|p| {
        p.findings
            .iter()
            .flat_map(|f| f.entries.iter())
            .max()
            .copied()
    });
    for p in failed {
        for f in &p.findings {
            out.line(&format!(
                "  {}  {}  {}",
                out.paint(Colour::Bold, &format!("{}@{}", p.name, p.version)),
                out.paint(Colour::Red, &f.rule),
                out.paint(Colour::Dim, &entries(&f.entries))
            ));
            out.wrapped("      ", &f.message, None);
        }
    }
    let passing: Vec<String> = attacked
        .iter()
        .filter(|r| r.verify_rules.is_empty())
        .map(|r| format!("{}@{}", r.package, r.version))
        .collect();
    if !passing.is_empty() {
        out.wrapped(
            "  ",
            &format!(
                "{} from the attacks still pass ({}): a new device, a rubber stamp or a new \
                 maintainer breaks no install-time rule. That is what the monitor is for.",
                count(passing.len(), "version", "versions"),
                list(&passing)
            ),
            Some(Colour::Dim),
        );
    }
    let expected_failed = attacked
        .iter()
        .filter(|r| !r.verify_rules.is_empty())
        .count();
    let mut wrong = unexpected(report, attacked);
    if run.code != 1 {
        wrong.push(format!("gatelog verify exited {}, not 1", run.code));
    }
    if c.failed != expected_failed {
        wrong.push(format!(
            "{} packages failed, not {expected_failed}",
            c.failed
        ));
    }
    if wrong.is_empty() {
        Some(c.failed)
    } else {
        for w in &wrong {
            problems.push(format!("attacked lockfile: {w}"));
        }
        None
    }
}

fn summary(run: &Verified) -> String {
    match &run.report {
        Some(r) => format!(
            "{} verified, {} failed of {}",
            r.counts.verified, r.counts.failed, r.counts.total
        ),
        None => run.stderr.clone(),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Story;

    #[test]
    fn lockfiles_hold_every_release_and_parse() {
        let story = Story::new();
        let dir = tempfile::tempdir().unwrap();
        let releases = story.honest_releases();
        let path = write(dir.path(), "app", "https://registry.demo.test", &releases).unwrap();
        let lock = gatelog_client::lockfile::load(&path).unwrap();
        let got: Vec<(String, String)> = lock
            .registry_packages()
            .map(|p| (p.name.clone(), p.version.clone().unwrap()))
            .collect();
        assert_eq!(got.len(), releases.len());
        for r in &releases {
            assert!(got.contains(&(r.package.clone(), r.version.clone())));
        }
    }

    #[test]
    fn places_are_unique_and_nest_under_other_packages() {
        let mut taken: Vec<(String, String)> = Vec::new();
        for p in ["a", "b", "a", "a", "b", "a"] {
            let l = place(&taken, p);
            assert!(!taken.iter().any(|(t, _)| *t == l), "{l}");
            assert!(l.ends_with(&format!("node_modules/{p}")));
            taken.push((l, p.to_owned()));
        }
        assert_eq!(taken[2].0, "node_modules/b/node_modules/a");
        let mut alone = Vec::new();
        for _ in 0..3 {
            let l = place(&alone, "x");
            alone.push((l, "x".to_owned()));
        }
        assert_eq!(alone[2].0, "node_modules/x/node_modules/x/node_modules/x");
    }
}
