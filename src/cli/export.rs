//! `prombox export`: stream samples out as OpenMetrics, JSON lines or CSV.

use std::io::{self, BufWriter, Write};

use anyhow::Context;

use super::{parse_selector_arg, Status, Window};
use crate::expfmt::number::{write_om_timestamp, write_value};
use crate::expfmt::{Format, Writer};
use crate::model::{is_stale_nan, Matcher, Sample, METRIC_NAME};
use crate::storage::{Db, Series};

const EXAMPLES: &str = "\
The OpenMetrics output re-imports losslessly with `prombox store` and with
`promtool tsdb create-blocks-from openmetrics`. Staleness markers are not data and
are left out of it; JSON lines and CSV mark them as \"stale\".

JSON lines: one series per line, as VictoriaMetrics' /api/v1/export:
  {\"metric\":{\"__name__\":\"up\",…},\"values\":[1,1],\"timestamps\":[1714564800000,…]}
CSV: series,timestamp,value (timestamp in Unix seconds).

Examples:
  prombox export --data data --match up > up.om
  prombox export --data data --match '{job=\"node\"}' --start 2024-05-01T00:00:00Z --format csv
  prombox export --match node_load1 --since 1h --format jsonl     # $PROMBOX_DATA or ./data
  prombox export --data old | prombox store --data new";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    /// OpenMetrics text, ending with # EOF
    Openmetrics,
    /// One JSON object per series and line
    Jsonl,
    /// series,timestamp,value
    Csv,
}

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    data: super::DataDir,
    /// Series selector (repeatable: series matching any; default: all series).
    #[arg(long = "match", value_name = "SELECTOR", value_parser = parse_selector_arg)]
    matches: Vec<Vec<Matcher>>,
    #[command(flatten)]
    window: Window,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Openmetrics)]
    format: OutFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let db = Db::open(&args.data.path).context("export")?;
    let (mint, maxt) = args.window.resolve(crate::model::time::now_ms());
    let mut series: Vec<Series> = Vec::new();
    if args.matches.is_empty() {
        series = db.select(&[], mint, maxt).context("export")?;
    } else {
        for ms in &args.matches {
            series.extend(db.select(ms, mint, maxt).context("export")?);
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        series.dedup_by(|a, b| a.labels == b.labels);
    }
    // OpenMetrics needs each metric name's series together.
    series.sort_by(|a, b| {
        (a.labels.metric_name(), &a.labels).cmp(&(b.labels.metric_name(), &b.labels))
    });
    let stdout = io::stdout();
    let out = BufWriter::with_capacity(256 << 10, stdout.lock());
    match args.format {
        OutFormat::Openmetrics => {
            let mut w = Writer::new(out, Format::OpenMetrics);
            for s in &series {
                let samples = db.samples(s, mint, maxt).context("export")?;
                let name = s.labels.metric_name().unwrap_or("");
                let rest: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .filter(|l| l.name != METRIC_NAME)
                    .map(|l| (l.name.as_str(), l.value.as_str()))
                    .collect();
                for x in samples.iter().filter(|x| !is_stale_nan(x.v)) {
                    w.sample(name, rest.iter().copied(), x.v, Some(x.t), None)?;
                }
            }
            w.finish()?.flush()?;
        }
        OutFormat::Jsonl => {
            let mut out = out;
            for s in &series {
                let samples = db.samples(s, mint, maxt).context("export")?;
                if samples.is_empty() {
                    continue;
                }
                writeln!(out, "{}", jsonl(s, &samples))?;
            }
            out.flush()?;
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["series", "timestamp", "value"])?;
            for s in &series {
                let name = s.labels.to_string();
                for x in db.samples(s, mint, maxt).context("export")? {
                    let mut t = String::new();
                    write_om_timestamp(&mut t, x.t);
                    w.write_record([name.as_str(), &t, &value_text(x.v)])?;
                }
            }
            w.flush()?;
        }
    }
    Ok(Status::Ok)
}

fn value_text(v: f64) -> String {
    if is_stale_nan(v) {
        return "stale".into();
    }
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

fn jsonl(s: &Series, samples: &[Sample]) -> String {
    let metric: serde_json::Map<String, serde_json::Value> = s
        .labels
        .iter()
        .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
        .collect();
    let values: Vec<serde_json::Value> = samples
        .iter()
        .map(|x| match serde_json::Number::from_f64(x.v) {
            Some(n) if !is_stale_nan(x.v) => serde_json::Value::Number(n),
            _ => serde_json::Value::String(value_text(x.v)),
        })
        .collect();
    let ts: Vec<i64> = samples.iter().map(|x| x.t).collect();
    serde_json::json!({"metric": metric, "values": values, "timestamps": ts}).to_string()
}
