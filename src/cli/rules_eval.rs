//! `prombox rules eval`: one cron round of rule evaluation over a data dir (or a backfill
//! with `--start`/`--end`), printing the alerts to send as JSON lines for `alert send`.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::bail;

use super::{parse_duration_arg, parse_time_arg, Status};
use crate::model::time::TimeSpec;
use crate::rules::round::{self, Settings, Source, When};
use crate::rules::{self, ParseOptions};

pub(crate) const EXAMPLES: &str = "\
One run is one round, as a cron job calls it: every group whose interval came due since
its last evaluation (kept in DIR/rules/) is evaluated at its scheduled times, on the grid
Prometheus would use, catching up missed slots up to --max-catch-up. Recorded series,
staleness markers, ALERTS and ALERTS_FOR_STATE go into the data dir as one segment. The
alerts to send (Prometheus's resend rules) go to standard output as JSON lines in
Alertmanager's API v2 shape; external labels and alert relabeling are applied by
`alert send --config`, as Prometheus's notifier applies them. Exit 0 when every group ran,
1 when a rule failed (reported on stderr with file, group and rule), 2 when nothing could
run.

With --start and --end it backfills instead: every group over the range at its interval,
from a fresh state (the cron state is not touched), recorded series and ALERTS alike; it
prints the alerts firing at --end.

Examples:
  * * * * * prombox rules eval --config /etc/prometheus/prometheus.yml --data /var/lib/prombox \\
              | prombox alert send --config /etc/prometheus/prometheus.yml
  prombox rules eval --data data rules/*.yml --format table
  prombox rules eval --data data --at 2026-12-01T10:00:00Z rules.yml
  prombox rules eval --data data --start -1d --end now rules.yml";

#[derive(clap::Args, Debug)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    data: super::DataDir,
    /// A prometheus.yml: its rule_files, evaluation_interval, rule_query_offset and
    /// external_labels.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Rule files (instead of the config's rule_files).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Evaluate every group once at this time instead of at its due slots.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, conflicts_with_all = ["start", "end"])]
    at: Option<TimeSpec>,
    /// Backfill from this time (with --end).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, requires = "end")]
    start: Option<TimeSpec>,
    /// Backfill up to this time, inclusive.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, allow_hyphen_values = true, requires = "start")]
    end: Option<TimeSpec>,
    /// The interval of groups that set none [default: the config's evaluation_interval, or 1m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    eval_interval: Option<i64>,
    /// Missed slots older than this are not caught up (a warning says so).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "1h")]
    max_catch_up: i64,
    /// The URL Prometheus would be reached at: `$externalURL` in templates and the base of
    /// each alert's generatorURL [default: http://HOSTNAME:9090].
    #[arg(long, value_name = "URL")]
    external_url: Option<String>,
    /// How far back an instant selector looks for a sample.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "5m")]
    lookback_delta: i64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// One alert per line, Alertmanager's API v2 shape
    Jsonl,
    /// Aligned columns, for a person
    Table,
}

/// The rule files to evaluate, parsed; any error stops the run (as Prometheus refuses a
/// configuration whose rule files do not load).
fn load_sources(
    args: &EvalArgs,
    cfg: Option<&crate::scrape::config::Config>,
) -> anyhow::Result<Vec<Source>> {
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    if !args.files.is_empty() {
        for p in &args.files {
            paths.push((p.display().to_string(), p.clone()));
        }
    } else if let Some(c) = cfg {
        for pat in &c.rule_files {
            let m: Vec<PathBuf> = crate::scrape::discovery::expand(pat)
                .into_iter()
                .filter(|f| f.is_file())
                .collect();
            if m.is_empty() && !pat.to_string_lossy().contains('*') {
                bail!(
                    "rules eval: {:?} does not point to an existing file",
                    pat.display().to_string()
                );
            }
            paths.extend(m.into_iter().map(|p| (p.display().to_string(), p)));
        }
    }
    if paths.is_empty() {
        bail!("rules eval: no rule files: give files or a --config with rule_files");
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, p) in paths {
        let text = match std::fs::read(&p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => bail!("rules eval: {name}: {e}"),
        };
        match rules::file::parse(&text, ParseOptions::default()) {
            Ok(file) => out.push(Source { name, file }),
            Err(errs) => errors.extend(errs.iter().map(|e| format!("{name}:{e}"))),
        }
    }
    if !errors.is_empty() {
        bail!("rules eval: {}", errors.join("\n"));
    }
    Ok(out)
}

fn print_table(w: &mut dyn Write, alerts: &[crate::alert::Alert]) -> io::Result<()> {
    let rows: Vec<[String; 4]> = alerts
        .iter()
        .map(|a| {
            let name = a.labels.get("alertname").cloned().unwrap_or_default();
            let labels: Vec<String> = a
                .labels
                .iter()
                .filter(|(k, _)| *k != "alertname")
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            [
                name,
                a.starts_at.clone().unwrap_or_default(),
                a.ends_at.clone().unwrap_or_default(),
                labels.join(" "),
            ]
        })
        .collect();
    let head = ["ALERTNAME", "STARTS", "ENDS", "LABELS"];
    let mut width = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    for r in std::iter::once(head.map(String::from)).chain(rows) {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = if i == 3 { 0 } else { width[i] }))
            .collect();
        writeln!(w, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

fn emit(format: Format, alerts: &[crate::alert::Alert]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Jsonl => {
            for a in alerts {
                out.write_all(&crate::alert::to_json_line(a))?;
                out.write_all(b"\n")?;
            }
        }
        Format::Table if alerts.is_empty() => {}
        Format::Table => print_table(&mut out, alerts)?,
    }
    out.flush()
}

pub(crate) fn eval(args: EvalArgs) -> anyhow::Result<Status> {
    let cfg = match &args.config {
        Some(p) => {
            Some(crate::scrape::config::load(p).map_err(|e| anyhow::anyhow!("rules eval: {e}"))?)
        }
        None => None,
    };
    let sources = load_sources(&args, cfg.as_ref())?;
    let global = cfg.as_ref().map(|c| &c.global);
    let settings = Settings {
        external_labels: global
            .map(|g| {
                g.external_labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect()
            })
            .unwrap_or_else(BTreeMap::new),
        external_url: args
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:9090", super::scrape::hostname()))
            .trim_end_matches('/')
            .to_string(),
        default_interval_ms: args
            .eval_interval
            .or(global.map(|g| g.evaluation_interval_ms))
            .unwrap_or(60_000),
        default_query_offset_ms: global.map_or(0, |g| g.rule_query_offset_ms),
        max_catch_up_ms: args.max_catch_up,
        query: crate::promql::Options {
            lookback_ms: args.lookback_delta,
            subquery_step_ms: global.map_or(60_000, |g| g.evaluation_interval_ms),
            ..crate::promql::Options::default()
        },
    };
    let data = &args.data.path;
    let now_ns = crate::model::time::now_ns();
    let now_ms = now_ns.div_euclid(1_000_000);
    let report = match (args.start, args.end) {
        (Some(s), Some(e)) => {
            let (start, end) = (s.resolve(now_ms), e.resolve(now_ms));
            if end < start {
                bail!("rules eval: --end is before --start");
            }
            let bar = indicatif::ProgressBar::hidden();
            if io::stderr().is_terminal() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "backfilling {bar:30} {pos}/{len} evaluations",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            }
            let mut progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let (report, firing) = round::backfill(
                data,
                &sources,
                &settings,
                start,
                end,
                2_000_000,
                &mut progress,
            )
            .map_err(|e| anyhow::anyhow!("rules eval: {}: {e}", data.display()))?;
            bar.finish_and_clear();
            emit(args.format, &firing)?;
            report
        }
        _ => {
            let when = match args.at {
                Some(t) => When::At(t.resolve(now_ms)),
                None => When::Due(now_ns),
            };
            let mut sink = |alerts: &[crate::alert::Alert]| emit(args.format, alerts);
            match round::round(data, &sources, &settings, when, &mut sink) {
                Ok(r) => r,
                Err(round::Error::Emit(e)) => return Err(e.into()),
                Err(e) => bail!("rules eval: {}: {e}", data.display()),
            }
        }
    };
    for w in &report.warnings {
        eprintln!("prombox: rules eval: {w}");
    }
    for (f, why) in &report.skipped_files {
        eprintln!("prombox: rules eval: {f}: skipped: {why}");
    }
    for f in &report.failures {
        eprintln!(
            "prombox: rules eval: {}: group {:?}: rule {:?} at {}: {}",
            f.file,
            f.group,
            f.rule,
            crate::model::time::format_rfc3339(f.ts),
            f.error
        );
    }
    Ok(
        if !report.skipped_files.is_empty() && report.skipped_files.len() == sources.len() {
            Status::Error
        } else if !report.failures.is_empty() {
            Status::Failed
        } else {
            Status::Ok
        },
    )
}
