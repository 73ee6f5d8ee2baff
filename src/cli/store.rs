//! `prombox store`: ingest expositions into a data dir, atomically per run.

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::input::Input;
use super::{parse_label, Status};
use crate::expfmt;
use crate::model::time::now_ms;
use crate::storage::ingest::IngestError;
use crate::storage::{IngestOptions, Ingester};

const EXAMPLES: &str = "\
A run is atomic: on a malformed input nothing is stored and the error prints as
FILE:LINE:COLUMN: message (exit 1). Exit 0 means the samples are on disk (fsynced)
and visible to queries. Samples without a timestamp get the time of the run; for a
series and timestamp stored twice, the last value written is kept.

Examples:
  prombox store --data data node.prom
  curl -s localhost:9100/metrics | prombox store --data data --label instance=host1
  prombox store --data data --skip-invalid backfill-*.om";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    data: super::DataDir,
    /// Set a label on every series, replacing one of the same name (repeatable).
    #[arg(long = "label", value_name = "K=V", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// Store the valid samples, report invalid lines and go on.
    #[arg(long)]
    skip_invalid: bool,
    /// Input format.
    #[arg(long, value_enum, default_value_t = super::check::FormatArg::Auto)]
    format: super::check::FormatArg,
    /// Print what was stored even when stderr is not a terminal.
    #[arg(long, short)]
    verbose: bool,
    /// Files to read; `-` or none reads standard input (streamed).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files
    };
    let opts = IngestOptions {
        labels: args.labels,
        skip_invalid: args.skip_invalid,
        now: now_ms(),
    };
    let mut ing = Ingester::new(&args.data.path, opts)
        .with_context(|| format!("{}: cannot write", args.data.path.display()))?;
    for path in &files {
        let res = if path.as_os_str() == "-" && !stdin_is_file() {
            // A pipe: stream it, detecting the format from its first bytes.
            let mut r = BufReader::with_capacity(256 << 10, io::stdin().lock());
            let format = match args.format.fixed() {
                Some(f) => f,
                None => {
                    let head = r.fill_buf().context("<stdin>: read failed")?;
                    expfmt::detect_head(head)
                }
            };
            ing.ingest(r, format, "<stdin>")
        } else {
            let mut input = Input::open(path)?;
            let format = match args.format.fixed() {
                Some(f) => f,
                None => input
                    .detect()
                    .with_context(|| format!("{}: read failed", input.name))?,
            };
            let name = input.name.clone();
            ing.ingest(input.reader(), format, &name)
        };
        match res {
            Ok(()) => {}
            Err(IngestError::Parse { input, err }) => {
                ing.abort();
                writeln!(io::stderr(), "{input}:{err}")?;
                writeln!(io::stderr(), "prombox: store: nothing stored")?;
                return Ok(Status::Failed);
            }
            Err(e) => {
                ing.abort();
                return Err(e).context("store");
            }
        }
    }
    let report = ing.commit().context("store")?;
    let mut err = io::stderr().lock();
    for (input, e) in &report.skipped {
        writeln!(err, "{input}:{e}")?;
    }
    if report.skipped_total > report.skipped.len() as u64 {
        writeln!(
            err,
            "… and {} more invalid lines",
            report.skipped_total - report.skipped.len() as u64
        )?;
    }
    if super::chatty(args.verbose) {
        writeln!(
            err,
            "store: {} samples of {} series into {}",
            report.samples,
            report.series,
            args.data.path.display()
        )?;
    }
    Ok(Status::Ok)
}

fn stdin_is_file() -> bool {
    std::fs::metadata("/dev/stdin").is_ok_and(|m| m.is_file())
}
