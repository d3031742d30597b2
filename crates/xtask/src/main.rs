//! Project automation, run as `cargo xtask <task>`: the one place that knows how to set up and
//! check the whole project on a fresh machine.

use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  test     build the plugins (wasm32-wasip2), then every test: unit, integration and doc tests,
           and each benchmark once in test mode
  bench    run the criterion benchmarks for real (slow); extra arguments go to criterion";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "test" => test(),
        "bench" => bench(&rest),
        _ => {
            eprintln!("{USAGE}");
            bail!("unknown task `{task}`")
        }
    }
}

/// Runs a command, echoing it first, and fails if it fails.
fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("could not start `{program}`"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Installs the guest target and builds the plugins (their own workspace in `plugins/`) where the
/// host's tests and benches look for them (`<target>/wasm-plugins`); they skip the build when
/// nothing changed.
fn build_plugins() -> anyhow::Result<()> {
    if Command::new("rustup").arg("--version").output().is_ok() {
        run("rustup", &["target", "add", "wasm32-wasip2"])?;
    } else {
        eprintln!("rustup not found: assuming the `wasm32-wasip2` target is installed");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = target.join("wasm-plugins");
    let args = [
        "build",
        "--release",
        "--locked",
        "--target",
        "wasm32-wasip2",
    ];
    eprintln!("$ (cd plugins && cargo {})", args.join(" "));
    let status = Command::new("cargo")
        .current_dir(root.join("plugins"))
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context("could not start `cargo` for the plugins")?;
    if !status.success() {
        bail!("building the plugins failed with {status}");
    }
    Ok(())
}

fn test() -> anyhow::Result<()> {
    build_plugins()?;
    // One build for everything: `--all-targets` takes the benches too (criterion runs each
    // benchmark once when started by `cargo test`), so the dependencies are compiled once with
    // the workspace's unified features instead of again for a separate `cargo bench` run.
    run(
        "cargo",
        &["test", "--workspace", "--all-targets", "--locked"],
    )?;
    // `--all-targets` leaves out the doc tests (README and API examples).
    run("cargo", &["test", "--workspace", "--doc", "--locked"])?;
    Ok(())
}

fn bench(extra: &[String]) -> anyhow::Result<()> {
    build_plugins()?;
    let mut args = vec!["bench", "--package", "helpdesk-benches", "--locked", "--"];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)
}
