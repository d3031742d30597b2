//! Builds the guest plugins of this folder for `wasm32-wasip2` once per test or bench process
//! and hands out their bytes and manifests. Included with `#[path]` by the host's tests and by
//! the benchmarks; the build is skipped when a stamp for the same sources exists.
//!
//! The plugins build into `<target>/wasm-plugins` (beside the host's own build output), with the
//! plugins' own workspace, lock file and `.cargo/config.toml` (run from this folder).

// Test and bench support: a failed build fails the run, with the reason.
#![allow(dead_code, unreachable_pub, clippy::panic)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A guest plugin: its component and its manifest text.
#[derive(Clone, Debug)]
pub struct Guest {
    pub wasm: Vec<u8>,
    pub manifest: String,
}

/// Where the plugins' sources are: the folder of this file.
fn sources(plugins_dir: &str) -> PathBuf {
    PathBuf::from(plugins_dir)
}

/// The host build's target directory, from the running executable (`<target>/<profile>/deps/x`).
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Hashes every source file (not build output) so a change rebuilds.
fn hash_sources(dir: &Path, h: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "target" || name.starts_with('.') && name != ".cargo" {
            continue;
        }
        if path.is_dir() {
            hash_sources(&path, h);
        } else if let Ok(bytes) = std::fs::read(&path) {
            path.hash(h);
            bytes.hash(h);
        }
    }
}

/// Builds every plugin (once per process) and returns the folder of the `.wasm` files.
pub fn build(plugins_dir: &str) -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let src = sources(plugins_dir);
        let target = target_dir().join("wasm-plugins");
        let out = target.join("wasm32-wasip2").join("release");
        let mut h = DefaultHasher::new();
        hash_sources(&src, &mut h);
        let stamp = target.join(format!("stamp-{:016x}", h.finish()));
        if stamp.exists() {
            return out;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        // Installing the target is quick when it is already there; without rustup, assume it is.
        let _ = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .output();
        let status = Command::new(cargo)
            .current_dir(&src)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUSTC_WRAPPER")
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo to build the guest plugins: {e}"));
        assert!(status.success(), "building the guest plugins failed");
        let _ = std::fs::write(&stamp, b"");
        out
    })
}

/// The plugin named `name` (an example or a test plugin).
pub fn guest(plugins_dir: &str, name: &str) -> Guest {
    let out = build(plugins_dir);
    let file = out.join(format!("{}.wasm", name.replace('-', "_")));
    let wasm = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let src = sources(plugins_dir);
    let manifest = ["examples", "tests"]
        .iter()
        .map(|d| src.join(d).join(name).join("plugin.toml"))
        .find(|p| p.exists())
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| panic!("no plugin.toml for `{name}`"));
    Guest { wasm, manifest }
}
