//! `prombox test`: run PromQL test scripts (Prometheus's `load`/`eval` format).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::Status;
use crate::promql::script::{self, Outcome};
use crate::promql::Options;

const EXAMPLES: &str = "\
A script loads series and checks queries against expected results:

  load 1m
    http_requests_total{job=\"api\"} 0+10x10
  eval instant at 10m rate(http_requests_total[5m])
    {job=\"api\"} 0.16666666666666666
  eval range from 0 to 10m step 5m http_requests_total
    http_requests_total{job=\"api\"} 0 50 100

Directives as upstream: expect fail [msg:|regex:], expect warn|no_warn|info|no_info,
expect ordered, expect string, expect range vector. Each instant eval is also checked
with @ added and in range mode, as Prometheus's runner does. Cases that need native
histograms are reported as skipped. Exit 1 if any case failed, 2 if a script is malformed.

Examples:
  prombox test queries.test
  prombox test -v ../prometheus/promql/promqltest/testdata/*.test";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Test scripts.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// List every skipped case with its reason (default: counts per reason).
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let opts = Options::default();
    let mut out = io::stdout().lock();
    let mut status = Status::Ok;
    for f in &args.files {
        let text = std::fs::read_to_string(f).with_context(|| format!("test: {}", f.display()))?;
        let report = match script::run(&text, &opts) {
            Ok(r) => r,
            Err(e) => {
                writeln!(out, "{}: error: {e}", f.display())?;
                status = Status::Error;
                continue;
            }
        };
        writeln!(
            out,
            "{}: {} passed, {} failed, {} skipped",
            f.display(),
            report.passed(),
            report.failed(),
            report.skipped()
        )?;
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for c in &report.cases {
            match &c.outcome {
                Outcome::Failed(why) => {
                    writeln!(out, "  FAIL line {}: {}\n    {why}", c.line, c.expr)?;
                }
                Outcome::Skipped(why) if args.verbose => {
                    writeln!(out, "  skip line {}: {}\n    {why}", c.line, c.expr)?;
                }
                Outcome::Skipped(why) => {
                    let key = why.split(" {").next().unwrap_or(why).to_string();
                    *reasons.entry(key).or_default() += 1;
                }
                Outcome::Passed => {}
            }
        }
        for (why, n) in reasons {
            writeln!(out, "  skipped {n}: {why}")?;
        }
        if report.failed() > 0 && status == Status::Ok {
            status = Status::Failed;
        }
    }
    Ok(status)
}
