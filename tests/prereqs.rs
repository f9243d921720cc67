//! The libclang detection of `scripts/find-libclang.sh` (used by
//! `scripts/prereqs.sh` and `.ci/run`): it must find libclang the way
//! bindgen loads it, and must not take the C++ interface library
//! `libclang-cpp` for it (a fresh Debian image ships only that one, and
//! bindgen then fails to build RocksDB).

use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/find-libclang.sh")
}

/// Runs the detection over `files` in a fake library folder; the path it
/// printed, or `None` for "missing".
fn detect(files: &[&str]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::write(dir.path().join(f), b"").unwrap();
    }
    let out = Command::new("bash")
        .arg(script())
        .env("GATELOG_LIBCLANG_DIRS", dir.path())
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    match out.status.code() {
        Some(0) => Some(
            Path::new(printed.trim())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        ),
        Some(1) => {
            assert!(printed.is_empty(), "printed {printed:?} for missing");
            None
        }
        other => panic!("exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

#[test]
fn the_cpp_interface_library_alone_is_missing() {
    assert_eq!(detect(&["libclang-cpp.so.14"]), None);
    assert_eq!(detect(&["libclang-cpp.so", "libclang-cpp.so.14"]), None);
    assert_eq!(detect(&[]), None);
    assert_eq!(detect(&["libclangBasic.a", "libclang.a"]), None);
}

#[test]
fn libclang_in_any_of_bindgens_spellings_is_present() {
    for name in [
        "libclang-14.so.1",
        "libclang.so",
        "libclang.so.14",
        "libclang-14.so",
        "libclang-14.0.6.so",
    ] {
        assert_eq!(
            detect(&["libclang-cpp.so.14", name]).as_deref(),
            Some(name),
            "{name}"
        );
    }
}
