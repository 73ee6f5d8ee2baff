//! `prombox delete`: record a tombstone; `compact` applies it.

use anyhow::Context;

use super::{parse_selector_arg, Status, Window};
use crate::model::Matcher;

const EXAMPLES: &str = "\
Queries stop seeing the deleted samples at once; `compact` removes them from disk.
Only data stored before the delete is affected.

Examples:
  prombox delete --data data --match 'up{job=\"old\"}'
  prombox delete --data data --match '{__name__=~\"test_.*\"}' --start 2024-05-01T00:00:00Z --end 1714600000";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    data: super::DataDir,
    /// Series selector (repeatable: a series matching any is deleted).
    #[arg(long = "match", value_name = "SELECTOR", required = true, value_parser = parse_selector_arg)]
    matches: Vec<Vec<Matcher>>,
    /// Say what was recorded even when stderr is not a terminal.
    #[arg(long, short)]
    verbose: bool,
    /// The samples to delete (default: all of the series' samples).
    #[command(flatten)]
    window: Window,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let (start, end) = args.window.resolve(crate::model::time::now_ms());
    let n = args.matches.len();
    let seq =
        crate::storage::delete(&args.data.path, args.matches, start, end).context("delete")?;
    if super::chatty(args.verbose) {
        eprintln!(
            "delete: tombstone {seq} recorded for {n} selector(s); compact removes the samples"
        );
    }
    Ok(Status::Ok)
}
