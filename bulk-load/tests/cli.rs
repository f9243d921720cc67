//! The command line of `gatelog-bulk-load`. These tests also make
//! `cargo test --workspace` build the binary that `tests/bulk_load.rs` runs.

use std::process::Command;

fn bulk_load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gatelog-bulk-load"))
}

#[test]
fn a_folder_that_is_not_empty_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"mine").unwrap();
    let out = bulk_load()
        .args(["--entries", "10", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(std::fs::read(dir.path().join("keep.txt")).unwrap(), b"mine");
}

#[test]
fn a_missing_entry_count_is_a_usage_error() {
    let out = bulk_load()
        .args(["--data", "/nonexistent/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--entries"));
}
