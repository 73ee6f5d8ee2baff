//! `prombox inspect`: blocks and segments, top metric names and label pairs, `--verify`.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::Context;

use super::Status;
use crate::model::time::{format_duration, format_rfc3339};
use crate::storage::Db;

const EXAMPLES: &str = "\
Lists blocks and uncompacted segments like `promtool tsdb list`, then the metric
names and label pairs with the most series like `promtool tsdb analyze`.
With --verify, reads every byte and checks every checksum: each problem prints
as FILE: corrupt: why, and the exit status is 1.

Examples:
  prombox inspect --data data
  prombox inspect --data data --verify --top 0";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    data: super::DataDir,
    /// Check every checksum and decode every chunk; exit 1 on any corruption.
    #[arg(long)]
    verify: bool,
    /// How many metric names and label pairs to list (0: none).
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let db = match Db::open(&args.data.path) {
        Ok(db) => db,
        Err(e @ crate::storage::Error::Corrupt { .. }) if args.verify => {
            println!("{e}");
            return Ok(Status::Failed);
        }
        Err(e) => return Err(e).context("inspect"),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "{:<8} {:<20} {:<24} {:<24} {:>9} {:>8} {:>11} {:>8} {:>12} {:>7}",
        "KIND",
        "NAME",
        "MIN TIME",
        "MAX TIME",
        "DURATION",
        "SERIES",
        "SAMPLES",
        "CHUNKS",
        "BYTES",
        "B/SAMPLE"
    )?;
    let (mut series, mut samples, mut bytes) = (0, 0, 0);
    for s in db.sources() {
        let per = if s.samples > 0 {
            s.bytes as f64 / s.samples as f64
        } else {
            0.0
        };
        writeln!(
            out,
            "{:<8} {:<20} {:<24} {:<24} {:>9} {:>8} {:>11} {:>8} {:>12} {:>7.2}{}",
            s.kind,
            s.name,
            format_rfc3339(s.mint),
            format_rfc3339(s.maxt),
            format_duration(s.maxt - s.mint),
            s.series,
            s.samples,
            s.chunks,
            s.bytes,
            per,
            if s.torn.is_some() {
                "  (torn tail dropped)"
            } else {
                ""
            }
        )?;
        series += s.series;
        samples += s.samples;
        bytes += s.bytes;
    }
    writeln!(
        out,
        "total: {samples} samples, {bytes} bytes, {:.3} bytes/sample; {series} series entries; {} tombstones",
        if samples > 0 { bytes as f64 / samples as f64 } else { 0.0 },
        db.tombstones().len()
    )?;
    if args.top > 0 {
        let all = db.select(&[], i64::MIN, i64::MAX).context("inspect")?;
        let mut names: HashMap<&str, u64> = HashMap::new();
        let mut pairs: HashMap<(&str, &str), u64> = HashMap::new();
        for s in &all {
            for l in &s.labels {
                if l.name == crate::model::METRIC_NAME {
                    *names.entry(&l.value).or_default() += 1;
                } else {
                    *pairs.entry((&l.name, &l.value)).or_default() += 1;
                }
            }
        }
        writeln!(
            out,
            "\n{} series. Metric names with the most series:",
            all.len()
        )?;
        let mut v: Vec<_> = names.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (n, c) in v.iter().take(args.top) {
            writeln!(out, "{c:>10} {n}")?;
        }
        writeln!(out, "\nLabel pairs with the most series:")?;
        let mut v: Vec<_> = pairs.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for ((n, val), c) in v.iter().take(args.top) {
            writeln!(out, "{c:>10} {n}={val:?}")?;
        }
    }
    if args.verify {
        let problems = db.verify();
        for p in &problems {
            writeln!(out, "{p}")?;
        }
        if !problems.is_empty() {
            return Ok(Status::Failed);
        }
        writeln!(out, "verify: ok")?;
    }
    Ok(Status::Ok)
}
