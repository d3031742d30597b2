//! Project automation, run as `cargo xtask <task>`: the one place that knows how to set up and
//! check the whole project on a fresh machine.

use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  test     every test: unit, integration and doc tests, then each benchmark once in test mode
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

fn test() -> anyhow::Result<()> {
    run("cargo", &["test", "--workspace", "--locked"])?;
    run(
        "cargo",
        &[
            "bench",
            "--package",
            "helpdesk-benches",
            "--locked",
            "--",
            "--test",
        ],
    )?;
    Ok(())
}

fn bench(extra: &[String]) -> anyhow::Result<()> {
    let mut args = vec!["bench", "--package", "helpdesk-benches", "--locked", "--"];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)
}
