//! `prombox compact`: segments → blocks, merging, tombstones, retention.

use std::io::{self, Write};

use anyhow::Context;

use super::{parse_duration_arg, parse_size_arg, Status};
use crate::model::time::{format_duration, format_rfc3339};
use crate::storage::{compact, CompactOptions};

const EXAMPLES: &str = "\
Safe to run from cron next to store, scrape and query: readers never see a
half-written block and no sample is lost or duplicated if compact is killed.
Running it again with nothing new does nothing. What it did is printed on a terminal
(or with --verbose); from cron a successful run prints nothing.

Examples:
  prombox compact --data data
  prombox compact --data data --retention 15d --retention-size 10GiB";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    data: super::DataDir,
    /// Delete blocks entirely older than this before the newest sample (PromQL duration).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    retention: Option<i64>,
    /// Delete the oldest blocks until the data dir fits (e.g. 10GiB; KB, MB… are 1024-based).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    retention_size: Option<u64>,
    /// Print nothing, even on a terminal.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Print what was done even when stderr is not a terminal (under cron a successful run
    /// prints nothing).
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let opts = CompactOptions {
        retention: args.retention,
        retention_size: args.retention_size,
    };
    let r = compact(&args.data.path, &opts).context("compact")?;
    if args.quiet || !super::chatty(args.verbose) {
        return Ok(Status::Ok);
    }
    let mut out = io::stderr().lock();
    for w in &r.blocks_written {
        writeln!(
            out,
            "wrote {} {}..{} ({}): {} series, {} samples, {} chunks",
            w.name,
            format_rfc3339(w.range[0]),
            format_rfc3339(w.range[1]),
            format_duration(w.range[1] - w.range[0]),
            w.stats.series,
            w.stats.samples,
            w.stats.chunks
        )?;
    }
    writeln!(
        out,
        "compact: {} segments absorbed, {} blocks written, {} replaced, {} expired, {} tombstones applied",
        r.segments_absorbed,
        r.blocks_written.len(),
        r.blocks_replaced,
        r.blocks_expired,
        r.tombstones_applied
    )?;
    Ok(Status::Ok)
}
