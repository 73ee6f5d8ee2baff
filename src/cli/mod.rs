//! The command line: the clap tree, dispatch, exit codes and error printing.
//!
//! Each subcommand lives in its own file with its clap `Args` and a `run` that resolves the
//! arguments into plain library calls. Exit codes: 0 ok, 1 a check or test found problems,
//! 2 usage or runtime error, 3 lint findings (as promtool). Errors print as
//! `prombox: <what>: <why>`; a closed output pipe (`prombox ... | head`) ends quietly with 0.

mod alert;
mod check;
mod client;
mod collect;
mod compact;
mod delete;
pub mod doc;
mod export;
mod gateway;
mod input;
mod inspect;
mod labels;
mod push;
mod query;
mod rules;
mod rules_eval;
mod scrape;
mod series;
mod store;
mod targets;
mod test;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::model::time::TimeSpec;

const EXAMPLES: &str = "\
Examples:
  Store an exposition in ./data, compact it, and export one series:
    curl -s localhost:9100/metrics | prombox store --data data
    prombox compact --data data
    prombox export --data data --match node_load1
  Check an exposition file (text or OpenMetrics), with promtool's lints:
    prombox check metrics metrics.prom
  Check what an exporter serves:
    curl -s localhost:9100/metrics | prombox check metrics
  Query it with PromQL:
    prombox query --data data 'rate(node_cpu_seconds_total[5m])'";

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
    /// Ingest expositions (text or OpenMetrics) into a data dir.
    Store(store::Args),
    /// Turn stored segments into compressed blocks; apply deletes and retention.
    Compact(compact::Args),
    /// List a data dir's blocks and segments, top series; verify checksums.
    Inspect(inspect::Args),
    /// Stream stored samples out as OpenMetrics, JSON lines or CSV.
    Export(export::Args),
    /// Delete series samples (a tombstone, applied by compact).
    Delete(delete::Args),
    /// Run a PromQL instant or range query.
    Query(query::Args),
    /// List the series matching selectors.
    Series(series::Args),
    /// Scrape targets (a prometheus.yml, or this host) into a data dir.
    Scrape(scrape::Args),
    /// Print this host's metrics (the built-in collector) as an exposition.
    Collect(collect::Args),
    /// List the targets a Prometheus config discovers, before and after relabeling.
    Targets(targets::Args),
    /// List label names, or one label's values.
    Labels(labels::Args),
    /// Run PromQL test scripts (load/eval format).
    Test(test::Args),
    /// Check rule files and run rule unit tests (promtool's formats).
    Rules(rules::Args),
    /// Push metrics to a Pushgateway (or prombox gateway), or delete a group.
    Push(push::Args),
    /// Run a Pushgateway-compatible server whose acknowledged pushes survive a crash.
    Gateway(gateway::Args),
    /// Send alerts to Alertmanager.
    Alert(alert::Args),
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
        Command::Store(args) => store::run(args),
        Command::Compact(args) => compact::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Export(args) => export::run(args),
        Command::Delete(args) => delete::run(args),
        Command::Query(args) => query::run(args),
        Command::Series(args) => series::run(args),
        Command::Scrape(args) => scrape::run(args),
        Command::Collect(args) => collect::run(args),
        Command::Targets(args) => targets::run(args),
        Command::Labels(args) => labels::run(args),
        Command::Test(args) => test::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Push(args) => push::run(args),
        Command::Gateway(args) => gateway::run(args),
        Command::Alert(args) => alert::run(args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) if is_broken_pipe(&err) => Status::Ok.into(),
        Err(err) => {
            if is_out_of_space(&err) {
                let _ = writeln!(
                    io::stderr(),
                    "prombox: out of disk space: this run stored nothing; earlier data is intact"
                );
            }
            let _ = writeln!(io::stderr(), "prombox: {err:#}");
            Status::Error.into()
        }
    }
}

/// Exit status 2 for runtime errors; an out-of-space error says so first.
fn is_out_of_space(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<crate::storage::Error>()
            .is_some_and(|e| e.is_out_of_space())
    })
}

/// `K=V` for `--label`.
pub(crate) fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    if !crate::model::labels::is_valid_name(k) {
        return Err(format!("invalid label name {k:?}"));
    }
    Ok((k.to_string(), v.to_string()))
}

pub(crate) fn parse_time_arg(s: &str) -> Result<TimeSpec, String> {
    TimeSpec::parse(s).map_err(|e| e.to_string())
}

/// `--data DIR`, shared by every command that reads or writes a data dir.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct DataDir {
    /// The data dir (`store` and `scrape` create it).
    #[arg(
        long = "data",
        value_name = "DIR",
        env = "PROMBOX_DATA",
        hide_env_values = true,
        default_value = "data"
    )]
    pub(crate) path: std::path::PathBuf,
}

/// `--start`, `--end` and `--since`: a time window, absolute or relative to now.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct Window {
    /// From this time: RFC 3339, Unix seconds, now, now-1h, or -1h (before now).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, conflicts_with = "since")]
    start: Option<TimeSpec>,
    /// Up to this time, inclusive (the same forms).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true)]
    end: Option<TimeSpec>,
    /// From this long ago: `--since 1h` is `--start -1h`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    since: Option<i64>,
}

impl Window {
    /// The window in milliseconds, relative times taken from `now`; an open end is unbounded.
    pub(crate) fn resolve(&self, now: i64) -> (i64, i64) {
        let start = start_of(self.start, self.since, now).unwrap_or(i64::MIN);
        (start, self.end.map_or(i64::MAX, |t| t.resolve(now)))
    }
}

/// The start that `--start` or `--since` give, if either.
pub(crate) fn start_of(start: Option<TimeSpec>, since: Option<i64>, now: i64) -> Option<i64> {
    match (start, since) {
        (Some(t), _) => Some(t.resolve(now)),
        (None, Some(d)) => Some(now.saturating_sub(d)),
        (None, None) => None,
    }
}

/// Whether status chatter (summaries, progress) goes to stderr: on a terminal, or when asked
/// with `--verbose`. Under cron a successful run prints nothing; errors always print.
pub(crate) fn chatty(verbose: bool) -> bool {
    verbose || io::stderr().is_terminal()
}

pub(crate) fn parse_duration_arg(s: &str) -> Result<i64, String> {
    crate::model::time::parse_duration(s).map_err(|e| e.to_string())
}

pub(crate) fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::model::time::parse_bytes(s).map_err(|e| e.to_string())
}

pub(crate) fn parse_selector_arg(s: &str) -> Result<Vec<crate::model::Matcher>, String> {
    crate::model::matcher::parse_selector(s).map_err(|e| e.to_string())
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
