//! `prombox series`: the series matching selectors (the API's `/api/v1/series`).

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};

use anyhow::Context;

use super::{parse_selector_arg, Status, Window};
use crate::model::time::now_ms;
use crate::model::{Labels, Matcher};
use crate::storage::Db;

const EXAMPLES: &str = "\
Prints one label set per line in PromQL form, or with --format json the API's
{\"status\":\"success\",\"data\":[{...}]}.

Examples:
  prombox series --data data --match up
  prombox series --data data --match '{job=\"node\"}' --match 'process_start_time_seconds' --format json";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListFormat {
    /// One per line
    Text,
    /// The Prometheus HTTP API response
    Json,
}

/// The data dir and time range shared by `series` and `labels`.
#[derive(clap::Args, Debug)]
pub(crate) struct Scope {
    #[command(flatten)]
    pub data: super::DataDir,
    /// Only series with samples in this window.
    #[command(flatten)]
    pub window: Window,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Series selector (repeatable: series matching any).
    #[arg(long = "match", value_name = "SELECTOR", required = true, value_parser = parse_selector_arg)]
    matches: Vec<Vec<Matcher>>,
    #[command(flatten)]
    scope: Scope,
}

/// The label sets matching any selector, sorted.
pub(crate) fn matching(
    db: &Db,
    matches: &[Vec<Matcher>],
    (mint, maxt): (i64, i64),
) -> anyhow::Result<BTreeSet<Labels>> {
    let mut out = BTreeSet::new();
    let all: Vec<Vec<Matcher>> = if matches.is_empty() {
        vec![Vec::new()]
    } else {
        matches.to_vec()
    };
    for ms in &all {
        for s in db.select(ms, mint, maxt)? {
            if mint == i64::MIN && maxt == i64::MAX || !db.samples(&s, mint, maxt)?.is_empty() {
                out.insert(s.labels);
            }
        }
    }
    Ok(out)
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let sc = &args.scope;
    let db = Db::open(&sc.data.path).context("series")?;
    let set = matching(&db, &args.matches, sc.window.resolve(now_ms())).context("series")?;
    let mut out = BufWriter::new(io::stdout().lock());
    match sc.format {
        ListFormat::Text => {
            for l in &set {
                writeln!(out, "{l}")?;
            }
        }
        ListFormat::Json => {
            let data: Vec<serde_json::Map<String, serde_json::Value>> = set
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|lb| (lb.name.clone(), serde_json::Value::from(lb.value.clone())))
                        .collect()
                })
                .collect();
            let v = serde_json::json!({"status": "success", "data": data});
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Status::Ok)
}
