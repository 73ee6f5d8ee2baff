//! `prombox delete`: record a tombstone; `compact` applies it.

use std::path::PathBuf;

use anyhow::Context;

use super::{parse_selector_arg, parse_time_arg, Status};
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
    /// The data dir.
    #[arg(long, value_name = "DIR", default_value = "data")]
    data: PathBuf,
    /// Series selector (repeatable: a series matching any is deleted).
    #[arg(long = "match", value_name = "SELECTOR", required = true, value_parser = parse_selector_arg)]
    matches: Vec<Vec<Matcher>>,
    /// Delete from this time (RFC 3339 or Unix seconds; default: the beginning).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    start: Option<i64>,
    /// Delete up to this time, inclusive (default: the end).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    end: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    crate::storage::delete(
        &args.data,
        args.matches,
        args.start.unwrap_or(i64::MIN),
        args.end.unwrap_or(i64::MAX),
    )
    .context("delete")?;
    Ok(Status::Ok)
}
