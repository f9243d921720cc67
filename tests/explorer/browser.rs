//! Debian's headless Chromium, run once per page with a fresh profile:
//! the DOM after scripts ran, or a screenshot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `chromium` package installs the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails the test, with the fix, when the browser is not installed.
pub fn require() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the explorer's browser tests need Debian's chromium \
         package; run `scripts/prereqs.sh test` as root (or `apt-get install chromium`)"
    );
}

fn run(extra: &[String], url: &str) -> Vec<u8> {
    require();
    let profile = tempfile::tempdir().expect("profile dir");
    let out = tempfile::NamedTempFile::new().expect("stdout file");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("stdout file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => {
                assert!(status.success(), "chromium on {url} exited with {status}");
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium on {url} did not finish in 90 s");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    std::fs::read(out.path()).expect("read chromium's output")
}

/// The page's DOM after its scripts ran (`--dump-dom`).
pub fn dom(url: &str) -> String {
    let bytes = run(&["--dump-dom".to_owned()], url);
    let dom = String::from_utf8(bytes).expect("DOM is UTF-8");
    assert!(
        dom.contains("<html"),
        "chromium dumped no page for {url}: {dom}"
    );
    dom
}

/// A screenshot of `url` at `width`×`height` to `path`; returns its size.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) -> u64 {
    let _ = std::fs::remove_file(path);
    run(
        &[
            format!("--screenshot={}", path.display()),
            format!("--window-size={width},{height}"),
        ],
        url,
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    bytes.len() as u64
}

/// The folder screenshots are kept in: `$CARGO_TARGET_DIR/explorer-screenshots`
/// (the target folder next to the test binary when the variable is unset).
pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("test executable");
            exe.ancestors().nth(3).expect("target dir").to_owned()
        });
    let dir = target.join("explorer-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}
