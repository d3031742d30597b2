//! The `helpdesk` command: an administrator's tool over the public API of the helpdesk core,
//! working on an embedded SQLite file.

mod cli;
mod commands;
mod demo;
mod demo_plugins;
mod keys;
mod output;
mod plugins;

use std::process::ExitCode;

use clap::Parser;

use crate::output::printable;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// One line: the error and its causes, each once (every error says its own part and leaves its
/// cause to `source()`), with a hint where one helps.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    if let Some(helpdesk::Error::InUse { .. }) = error.downcast_ref::<helpdesk::Error>() {
        text.push_str(
            " (this command opens the file itself; stop the application that holds it open and try again)",
        );
    }
    printable(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_printable_line() {
        let error = anyhow::anyhow!("`a\u{1b}[2Kb\nc` is not valid").context("cannot do it");
        assert_eq!(
            describe(&error),
            "cannot do it: `a\\u{1b}[2Kb\\nc` is not valid"
        );
    }
}
