//! What the registry chapter reads: the entries it logged, npm's output
//! and the lockfile npm wrote.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One entry the registry logged.
#[derive(Clone, Debug)]
pub struct Logged {
    /// Its index.
    pub index: u64,
    /// Its event type.
    pub kind: String,
    /// `package` or `package@version`, and `via: …` for a publish.
    pub what: String,
}

/// Whether `logged` holds an event of `kind` about `what`.
pub fn has(logged: &[Logged], kind: &str, what: &str) -> bool {
    logged.iter().any(|l| l.kind == kind && l.what == what)
}

/// The last non-empty line of `text`.
pub fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no output)")
        .to_owned()
}

/// The id and actor of the staged item `package@version` in the output of
/// `npm stage list --json`.
pub fn staged_item(stdout: &str, package: &str, version: &str) -> Option<(String, String)> {
    let items: Value = serde_json::from_str(stdout).ok()?;
    let item = items.as_array()?.iter().find(|i| {
        i["packageName"] == package && i["version"] == version && i["status"] == "staged"
    })?;
    Some((
        item["id"].as_str()?.to_owned(),
        item["actor"].as_str().unwrap_or("?").to_owned(),
    ))
}

/// The version of `package` in the package-lock.json of `project`.
pub fn locked_version(project: &Path, package: &str) -> Option<String> {
    let lock: Value =
        serde_json::from_slice(&std::fs::read(project.join("package-lock.json")).ok()?).ok()?;
    lock["packages"][format!("node_modules/{package}")]["version"]
        .as_str()
        .map(str::to_owned)
}

/// `path` relative to `base` (`./` for `base` itself).
pub fn relative_to(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(rest) if rest.as_os_str().is_empty() => "./".to_owned(),
        Ok(rest) => format!("{}/", PathBuf::from(rest).display()),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_lists_and_lockfiles_are_read() {
        let listed = r#"[{"id":"s1","packageName":"demo-widget","version":"1.0.0","status":"staged","actor":"alice"},
                         {"id":"s2","packageName":"demo-widget","version":"1.0.0","status":"rejected"}]"#;
        assert_eq!(
            staged_item(listed, "demo-widget", "1.0.0"),
            Some(("s1".into(), "alice".into()))
        );
        assert_eq!(staged_item(listed, "demo-widget", "2.0.0"), None);
        assert_eq!(staged_item("not json", "demo-widget", "1.0.0"), None);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("package-lock.json"),
            r#"{"packages":{"node_modules/demo-widget":{"version":"1.0.0"}}}"#,
        )
        .unwrap();
        assert_eq!(
            locked_version(dir.path(), "demo-widget").as_deref(),
            Some("1.0.0")
        );
        assert_eq!(locked_version(dir.path(), "demo-helper"), None);
        assert_eq!(last_line("a\nb\n\n"), "b");
        assert_eq!(
            relative_to(Path::new("/d/npm/x"), Path::new("/d/npm")),
            "x/"
        );
    }
}
