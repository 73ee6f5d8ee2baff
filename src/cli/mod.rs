//! The command line: the clap tree, dispatch, exit codes and error printing.
//!
//! Each subcommand lives in its own file with its clap `Args` and a `run` that resolves the
//! arguments into plain library calls. Exit codes: 0 ok, 1 a check or test found problems,
//! 2 usage or runtime error, 3 lint findings (as promtool). Errors print as
//! `prombox: <what>: <why>`; a closed output pipe (`prombox ... | head`) ends quietly with 0.

mod check;
pub mod doc;
mod input;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  Check an exposition file (text or OpenMetrics), with promtool's lints:
    prombox check metrics metrics.prom
  Check what an exporter serves:
    curl -s localhost:9100/metrics | prombox check metrics";

/// The Prometheus monitoring system as one binary of composable Unix subcommands.
#[derive(Parser, Debug)]
#[command(name = "prombox", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check expositions for errors and lint problems.
    Check(check::Args),
}

/// The clap definition, for documentation and completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Exit statuses shared by all subcommands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    Failed = 1,
    Error = 2,
    Lint = 3,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

/// Parses the command line, runs it, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Status::Error.into()
            } else {
                Status::Ok.into()
            };
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) if is_broken_pipe(&err) => Status::Ok.into(),
        Err(err) => {
            let _ = writeln!(io::stderr(), "prombox: {err:#}");
            Status::Error.into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
