//! Finds a compiled example beside the test binary, building it first when it is
//! missing or older than its sources (as `tests/examples.rs` does for `booking_flow`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The compiled example `name`. `cargo test` builds every example before it runs a test,
/// so this finds it, fresh, beside the test's own binary. When it is missing or older
/// than its sources (`cargo test --test NAME` builds only that test), it is built here,
/// with the same profile and target directory.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sources = [
        root.join("examples").join(name),
        root.join("examples").join(format!("{name}.rs")),
        root.join("booking-otel/src"),
        root.join("booking-otel-macros/src"),
        root.join("Cargo.toml"),
    ];
    let stale = match built {
        Some(built) => sources.iter().any(|path| newest_change(path) > Some(built)),
        None => true,
    };
    if stale {
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--example", name, "--profile", profile])
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", profile_dir.parent().expect("target"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --example {name} failed");
    }
    binary
}

/// The latest modification time of the files under `path` (`None` when it is absent).
pub fn newest_change(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|entry| newest_change(&entry.ok()?.path()))
        .max()
}
