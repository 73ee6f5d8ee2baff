//! `prombox targets`: the targets a config discovers, before and after relabeling, and why
//! a target was dropped (Prometheus's /targets and /service-discovery pages).

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};

use super::Status;
use crate::model::Labels;
use crate::scrape::{config, discovery, target};

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The Prometheus configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Only these jobs (repeatable).
    #[arg(long, value_name = "NAME")]
    job: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

const EXAMPLES: &str = "\
The table lists every discovered target: active ones with their scrape URL and labels,
dropped ones with the rule or check that dropped them. JSON has the shape of Prometheus's
/api/v1/targets?state=any (activeTargets, droppedTargets), plus a reason per dropped target.

Examples:
  prombox targets --config prometheus.yml
  prombox targets --config prometheus.yml --job node --format json | jq '.data.droppedTargets'";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Format {
    /// Aligned columns for humans
    Table,
    /// The HTTP API's response shape
    Json,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let cfg = config::load(&args.config)
        .map_err(anyhow::Error::msg)
        .context("targets")?;
    for j in &args.job {
        if !cfg.scrape_configs.iter().any(|s| &s.job_name == j) {
            bail!("targets: no job named {j:?} in {}", args.config.display());
        }
    }
    let mut rows: Vec<(&config::ScrapeConfig, target::Target)> = Vec::new();
    for sc in &cfg.scrape_configs {
        if !args.job.is_empty() && !args.job.contains(&sc.job_name) {
            continue;
        }
        let found = discovery::discover(sc, &mut |w| {
            eprintln!("prombox: targets: job {:?}: {w}", sc.job_name)
        });
        for g in &found.groups {
            for t in target::from_group(sc, g) {
                rows.push((sc, t));
            }
        }
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => {
            let mut active = Vec::new();
            let mut dropped = Vec::new();
            for (sc, t) in &rows {
                match &t.state {
                    target::State::Active(l) => active.push(json!({
                        "discoveredLabels": obj(&t.discovered),
                        "labels": obj(&target::series_labels(l)),
                        "scrapePool": sc.job_name,
                        "scrapeUrl": target::url(sc, l),
                        "scrapeInterval": l.get("__scrape_interval__").unwrap_or(""),
                        "scrapeTimeout": l.get("__scrape_timeout__").unwrap_or(""),
                    })),
                    other => dropped.push(json!({
                        "discoveredLabels": obj(&t.discovered),
                        "scrapePool": sc.job_name,
                        "reason": reason(other),
                    })),
                }
            }
            let v = json!({"status": "success", "data": {"activeTargets": active, "droppedTargets": dropped}});
            writeln!(out, "{v}")?;
        }
        Format::Table => {
            let mut table: Vec<[String; 4]> = vec![[
                "JOB".into(),
                "STATE".into(),
                "URL / REASON".into(),
                "LABELS".into(),
            ]];
            for (sc, t) in &rows {
                table.push(match &t.state {
                    target::State::Active(l) => [
                        sc.job_name.clone(),
                        "active".into(),
                        target::url(sc, l),
                        target::series_labels(l).to_string(),
                    ],
                    other => [
                        sc.job_name.clone(),
                        "dropped".into(),
                        reason(other),
                        t.discovered.to_string(),
                    ],
                });
            }
            let w: Vec<usize> = (0..4)
                .map(|i| {
                    table
                        .iter()
                        .map(|r| r[i].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for r in &table {
                let line = format!(
                    "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    w0 = w[0],
                    w1 = w[1],
                    w2 = w[2]
                );
                writeln!(out, "{}", line.trim_end())?;
            }
        }
    }
    out.flush()?;
    Ok(Status::Ok)
}

fn reason(s: &target::State) -> String {
    match s {
        target::State::Dropped => "dropped by relabeling".into(),
        target::State::Invalid(why) => why.to_string(),
        target::State::Active(_) => String::new(),
    }
}

fn obj(l: &Labels) -> Value {
    let mut m = Map::new();
    for x in l {
        m.insert(x.name.clone(), Value::String(x.value.clone()));
    }
    Value::Object(m)
}
