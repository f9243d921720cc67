//! The command-line side of the matrix: a case runs one of the real
//! binaries on files written for it, and must exit with the expected
//! non-zero code, say what is wrong, change none of the files it was
//! given, leave the log as it was, and not hang.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gatelog_e2e::binary;

/// Words in arguments and file contents replaced before a case runs.
pub struct Vars {
    /// `(placeholder, value)`, e.g. `("{log}", "http://127.0.0.1:1234")`.
    pub pairs: Vec<(&'static str, String)>,
}

impl Vars {
    fn apply(&self, text: &str, dir: &Path) -> String {
        let mut out = text.replace("{dir}", &dir.display().to_string());
        for (k, v) in &self.pairs {
            out = out.replace(k, v);
        }
        out
    }
}

/// One row: run `bin` with `args` after writing `files` into a fresh folder.
pub struct CliCase {
    /// What is hostile about it.
    pub name: String,
    /// `gatelog`, `gatelog-server` or `gatelog-monitor`.
    pub bin: &'static str,
    /// Arguments (placeholders allowed).
    pub args: Vec<String>,
    /// Files to write first: path relative to the case folder, contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// Files to make this long without writing them (sparse).
    pub sparse: Vec<(String, u64)>,
    /// Paths to delete after the copy.
    pub remove: Vec<String>,
    /// Symbolic links to make: (path in the case folder, target).
    pub links: Vec<(String, String)>,
    /// A folder to copy in first: (source, path in the case folder).
    pub copy: Option<(std::path::PathBuf, String)>,
    /// Environment variables to set.
    pub env: Vec<(&'static str, String)>,
    /// A command of the same binary to run first (its outcome is not judged).
    pub setup: Option<Vec<String>>,
    /// The exit code wanted.
    pub code: i32,
    /// Text the output must contain: stderr, followed by stdout (where
    /// `gatelog verify` reports its findings).
    pub stderr: &'static str,
    /// A command of the same binary run afterwards, with the exit code and
    /// stderr text it must give: shows a state the tool opened is intact.
    pub after: Option<(Vec<String>, i32, &'static str)>,
}

/// Builds a row one call at a time.
pub fn case(
    name: &str,
    bin: &'static str,
    args: &[&str],
    code: i32,
    stderr: &'static str,
) -> CliCase {
    CliCase {
        name: name.to_owned(),
        bin,
        args: args.iter().map(|a| a.to_string()).collect(),
        files: Vec::new(),
        sparse: Vec::new(),
        copy: None,
        links: Vec::new(),
        remove: Vec::new(),
        env: Vec::new(),
        setup: None,
        code,
        stderr,
        after: None,
    }
}

impl CliCase {
    /// Adds a file.
    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> CliCase {
        self.files.push((path.to_owned(), contents.into()));
        self
    }

    /// Copies the folder `from` to `to` in the case folder first.
    pub fn copy(mut self, from: &Path, to: &str) -> CliCase {
        self.copy = Some((from.to_owned(), to.to_owned()));
        self
    }

    /// Deletes `path` (after the copy).
    pub fn remove(mut self, path: &str) -> CliCase {
        self.remove.push(path.to_owned());
        self
    }

    /// Makes `path` a symbolic link to `target` (after the copy).
    pub fn link(mut self, path: &str, target: &str) -> CliCase {
        self.links.push((path.to_owned(), target.to_owned()));
        self
    }

    /// Adds a sparse file of `len` zero bytes.
    pub fn sparse(mut self, path: &str, len: u64) -> CliCase {
        self.sparse.push((path.to_owned(), len));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: &'static str, value: &str) -> CliCase {
        self.env.push((name, value.to_owned()));
        self
    }

    /// Runs `args` first.
    pub fn setup(mut self, args: &[&str]) -> CliCase {
        self.setup = Some(args.iter().map(|a| a.to_string()).collect());
        self
    }

    /// Runs `args` afterwards; they must exit with `code` and say `stderr`.
    pub fn after(mut self, args: &[&str], code: i32, stderr: &'static str) -> CliCase {
        self.after = Some((args.iter().map(|a| a.to_string()).collect(), code, stderr));
        self
    }
}

/// Every file under `dir` with its bytes, except inside RocksDB folders
/// (opening one rewrites its housekeeping files; `after` checks those).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        if d.join("CURRENT").exists() && d.join("IDENTITY").exists() {
            out.insert(format!("{} (RocksDB)", d.display()), Vec::new());
            continue;
        }
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            // A link (e.g. to /dev/zero) is compared by its target, not read.
            if let Ok(target) = std::fs::read_link(&path) {
                out.insert(
                    path.display().to_string(),
                    target.display().to_string().into_bytes(),
                );
            } else if path.is_dir() {
                out.insert(format!("{}/", path.display()), Vec::new());
                todo.push(path);
            } else {
                out.insert(
                    path.display().to_string(),
                    std::fs::read(&path).unwrap_or_default(),
                );
            }
        }
    }
    out
}

/// Runs a command with a deadline; `None` if it had to be killed.
fn run(bin: &str, args: &[String], env: &[(&str, String)]) -> Option<(i32, String)> {
    let mut cmd = Command::new(binary(bin));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in [
        "GATELOG_CONFIG",
        "GATELOG_LOG_KEY",
        "GATELOG_LOG",
        "GATELOG_STATE_DIR",
    ] {
        cmd.env_remove(name);
    }
    for name in [
        "GATELOG_MONITOR_LOG",
        "GATELOG_MONITOR_LOG_KEY",
        "GATELOG_MONITOR_STATE",
    ] {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v)));
    let mut child = cmd.spawn().expect("spawn");
    // Both pipes are drained while the child runs, so it never blocks on them.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = pipe.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let reader = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut text = reader.join().unwrap_or_default();
            let out = stdout.join().unwrap_or_default();
            if !out.is_empty() {
                text = format!(
                    "{text}\n(stdout) {}",
                    out.chars().take(2000).collect::<String>()
                );
            }
            return Some((status.code().unwrap_or(-1), text));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs a case whose inputs are good (it may write files, as a real run
/// does) and panics unless it exits with its code: the rows' command lines
/// are right, so their failures come from the hostile input.
pub fn control(c: &CliCase, vars: &Vars) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, contents) in &c.files {
        let text = vars.apply(&String::from_utf8_lossy(contents), dir.path());
        std::fs::write(dir.path().join(path), text).expect("write");
    }
    let args: Vec<String> = c.args.iter().map(|a| vars.apply(a, dir.path())).collect();
    let (code, stderr) = run(c.bin, &args, &[]).expect("control finishes");
    assert_eq!(code, c.code, "control run of {}: {stderr}", c.bin);
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Runs every case; `unchanged(label, case folder)` checks the log after
/// each. Returns the number of cases.
pub fn run_all(cases: Vec<CliCase>, vars: &Vars, unchanged: &dyn Fn(&str, &Path)) -> usize {
    let mut failures = Vec::new();
    for c in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let expand = |args: &[String]| -> Vec<String> {
            args.iter().map(|a| vars.apply(a, dir.path())).collect()
        };
        if let Some((from, to)) = &c.copy {
            copy_dir(from, &dir.path().join(to));
        }
        for path in &c.remove {
            std::fs::remove_file(dir.path().join(path)).expect("remove");
        }
        let env: Vec<_> = c
            .env
            .iter()
            .map(|(k, v)| (*k, vars.apply(v, dir.path())))
            .collect();
        // A command that makes a state first; the case's files then damage it.
        if let Some(setup) = &c.setup {
            run(c.bin, &expand(setup), &env).expect("setup finishes");
        }
        for (path, contents) in &c.files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let text = String::from_utf8(contents.clone());
            let bytes = text.map_or_else(
                |e| e.into_bytes(),
                |t| vars.apply(&t, dir.path()).into_bytes(),
            );
            std::fs::write(path, bytes).expect("write case file");
        }
        for (path, target) in &c.links {
            let path = dir.path().join(path);
            let _ = std::fs::remove_file(&path);
            std::os::unix::fs::symlink(target, path).expect("symlink");
        }
        for (path, len) in &c.sparse {
            let file = std::fs::File::create(dir.path().join(path)).expect("create");
            file.set_len(*len).expect("sparse file");
        }
        let before = snapshot(dir.path());
        let label = format!("{} {}", c.bin, c.name);
        match run(c.bin, &expand(&c.args), &env) {
            None => failures.push(format!("{label}: did not finish within 60 s")),
            Some((code, stderr)) if code != c.code || !stderr.contains(c.stderr) => {
                failures.push(format!(
                    "{label}: want exit {} saying {:?}, got {code}: {}",
                    c.code,
                    c.stderr,
                    stderr.trim()
                ))
            }
            Some(_) => {}
        }
        if snapshot(dir.path()) != before {
            failures.push(format!("{label}: changed the files it was given"));
        }
        if let Some((args, code, text)) = &c.after {
            match run(c.bin, &expand(args), &env) {
                Some((got, stderr)) if got == *code && stderr.contains(text) => {}
                other => failures.push(format!(
                    "{label}: afterwards want exit {code} saying {text:?}, got {other:?}"
                )),
            }
        }
        unchanged(&label, dir.path());
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}
