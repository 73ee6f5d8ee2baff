//! `prombox query`: run a PromQL instant or range query over a data dir.

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::{bail, Context};

use super::{parse_duration_arg, parse_time_arg, Status};
use crate::model::time::TimeSpec;
use crate::output::{ChartOptions, Format};
use crate::promql::{self, Options, Range};
use crate::storage::Db;

const EXAMPLES: &str = "\
Without --start/--end this is an instant query at --time (default: now); with them, a
range query (--step defaults to the range / 250, at least 1s). An empty result prints
nothing (json still prints the API envelope). Warnings and infos go to stderr, and into
the JSON's \"warnings\"/\"infos\". Exit 2 on a parse or evaluation error.

Formats: table (aligned), json (exactly the Prometheus HTTP API response), jsonl (one
series per line), csv/tsv (one row per sample, a column per label, header first),
chart (a terminal line chart of a range query; NO_COLOR turns colour off).

Examples:
  prombox query --data data 'up'
  prombox query --data data --time 2024-05-01T12:00:00Z 'sum by (job) (rate(http_requests_total[5m]))'
  prombox query --data data --start 2024-05-01T00:00:00Z --end 2024-05-02T00:00:00Z --step 5m \\
      --format chart 'rate(node_cpu_seconds_total{mode=\"idle\"}[5m])'
  prombox query --since 1h --step 1m 'rate(node_network_receive_bytes_total[5m])'
  prombox query --time -30m up                   # --data from $PROMBOX_DATA, else ./data
  prombox query --data data --format csv 'node_load1' | xsv table
  prombox query --explain 'sum(rate(x[5m]))by(job)'";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    /// Aligned columns for reading
    Table,
    /// The Prometheus HTTP API response
    Json,
    /// One JSON object per series
    Jsonl,
    /// Comma-separated, one row per sample
    Csv,
    /// Tab-separated, one row per sample
    Tsv,
    /// A terminal line chart (range queries)
    Chart,
}

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The PromQL expression.
    #[arg(value_name = "EXPR")]
    expr: String,
    #[command(flatten)]
    data: super::DataDir,
    /// Evaluation time of an instant query: RFC 3339, Unix seconds, now, now-1h, or -30m
    /// (before now) [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, conflicts_with = "range")]
    time: Option<TimeSpec>,
    /// Start of a range query (the same forms as --time).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, group = "range")]
    start: Option<TimeSpec>,
    /// A range query over the last DURATION: `--since 1h` is `--start -1h`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, group = "range")]
    since: Option<i64>,
    /// End of a range query [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, requires = "range")]
    end: Option<TimeSpec>,
    /// Step of a range query (default: the range / 250, at least 1s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, requires = "range")]
    step: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// How far back an instant selector looks for a sample.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "5m")]
    lookback_delta: i64,
    /// The most samples the query may hold in memory at once.
    #[arg(long, value_name = "N", default_value_t = 50_000_000)]
    max_samples: usize,
    /// Give up after this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "2m")]
    timeout: i64,
    /// Print the expression's canonical form and exit (no data dir needed).
    #[arg(long)]
    explain: bool,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let expr = promql::parse(&args.expr).context("query")?;
    if args.explain {
        println!("{expr}");
        return Ok(Status::Ok);
    }
    let now = crate::model::time::now_ms();
    let range = match super::start_of(args.start, args.since, now) {
        Some(start) => {
            let end = args.end.map_or(now, |t| t.resolve(now));
            if end < start {
                bail!("query: --end is before --start");
            }
            let step = args
                .step
                .unwrap_or_else(|| ((end - start) / 250).max(1000) / 1000 * 1000);
            if step <= 0 {
                bail!("query: --step must be positive");
            }
            Range { start, end, step }
        }
        None => {
            let t = args.time.map_or(now, |t| t.resolve(now));
            Range {
                start: t,
                end: t,
                step: 0,
            }
        }
    };
    let opts = Options {
        lookback_ms: args.lookback_delta,
        max_samples: args.max_samples,
        timeout: Some(std::time::Duration::from_millis(args.timeout.max(1) as u64)),
        ..Options::default()
    };
    range.check_resolution().context("query")?;
    let db = Db::open(&args.data.path).context("query")?;
    let (value, annos) = match promql::evaluate(&db, &expr, range, &opts) {
        Ok(r) => r,
        Err((e, annos)) => {
            print_annotations(&annos, &args.expr);
            bail!("query: {e}");
        }
    };
    let format = match args.format {
        OutFormat::Table => Format::Table,
        OutFormat::Json => Format::Json,
        OutFormat::Jsonl => Format::Jsonl,
        OutFormat::Csv => Format::Csv,
        OutFormat::Tsv => Format::Tsv,
        OutFormat::Chart => Format::Chart,
    };
    if format != Format::Json {
        print_annotations(&annos, &args.expr);
    }
    let stdout = io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let chart = ChartOptions {
        // COLUMNS wins (as for other tools), then the terminal's width, then 100.
        width: std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .or_else(|| terminal_size::terminal_size_of(&stdout).map(|(w, _)| w.0 as usize))
            .unwrap_or(100),
        height: 20,
        color,
    };
    let mut out = BufWriter::new(stdout.lock());
    crate::output::write(&mut out, &value, &annos, &args.expr, format, &chart)?;
    out.flush()?;
    Ok(Status::Ok)
}

fn print_annotations(annos: &promql::Annotations, query: &str) {
    let (warnings, infos) = annos.strings(query);
    let mut err = io::stderr().lock();
    for w in warnings {
        let _ = writeln!(err, "prombox: warning: {w}");
    }
    for i in infos {
        let _ = writeln!(err, "prombox: info: {i}");
    }
}
