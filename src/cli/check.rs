//! `prombox check`: validate expositions (`check metrics`) and Prometheus configuration files
//! (`check config`), with promtool's output and exit codes.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::input::Input;
use super::Status;
use crate::expfmt::{lint, Format};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// Validate expositions and lint them like promtool's check metrics.
    #[command(after_help = METRICS_EXAMPLES)]
    Metrics(MetricsArgs),
    /// Validate Prometheus configuration files like promtool's check config.
    #[command(after_help = CONFIG_EXAMPLES)]
    Config(ConfigArgs),
}

const CONFIG_EXAMPLES: &str = "\
Reads the global, scrape_configs and rule_files sections strictly: an unknown field or a
bad value is an error with its line and column (exit 1). Each rule file is then checked
as by `prombox rules check`. Other sections (alerting, remote_write, ...) are accepted
and named as not used by prombox scrape.

Examples:
  prombox check config /etc/prometheus/prometheus.yml
  prombox check config prometheus.yml other.yml";

#[derive(clap::Args, Debug)]
struct ConfigArgs {
    /// Configuration files to check.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

const METRICS_EXAMPLES: &str = "\
Errors print as FILE:LINE:COLUMN: message (exit 1); lint problems as
metric_name: problem (exit 3); a clean input prints nothing (exit 0).

Examples:
  prombox check metrics node.prom app.om
  curl -s localhost:9100/metrics | prombox check metrics
  prombox check metrics --format openmetrics --lint none scrape.txt";

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    /// OpenMetrics if the input ends with `# EOF`, text otherwise
    Auto,
    /// Prometheus text format 0.0.4
    Text,
    /// OpenMetrics 1.0 text
    Openmetrics,
}

impl FormatArg {
    /// The format when given explicitly; `None` for auto-detection.
    pub fn fixed(self) -> Option<Format> {
        match self {
            FormatArg::Auto => None,
            FormatArg::Text => Some(Format::Text),
            FormatArg::Openmetrics => Some(Format::OpenMetrics),
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum LintArg {
    /// All of promtool's lints
    All,
    /// Only check validity
    None,
}

#[derive(clap::Args, Debug)]
struct MetricsArgs {
    /// Input format.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    format: FormatArg,
    /// Which lints to run.
    #[arg(long, value_enum, default_value_t = LintArg::All)]
    lint: LintArg,
    /// Files to check; `-` or none reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.what {
        What::Metrics(m) => metrics(m),
        What::Config(c) => config(c),
    }
}

/// promtool's output: `Checking FILE`, then ` SUCCESS: ...` or `  FAILED: ...` per file.
fn config(args: ConfigArgs) -> anyhow::Result<Status> {
    let mut failed = false;
    let mut out = io::stdout().lock();
    for f in &args.files {
        writeln!(out, "Checking {}", f.display())?;
        let checked = crate::scrape::config::load(f)
            .map_err(|e| e.to_string())
            .and_then(|c| match crate::scrape::discovery::check(&c) {
                Ok(w) => Ok((c, w)),
                Err(e) => Err(e.to_string()),
            });
        // Rule files: each pattern globbed; one without `*` must name a file.
        let checked = checked.and_then(|(c, w)| {
            let mut files = Vec::new();
            for p in &c.rule_files {
                let m: Vec<PathBuf> = crate::scrape::discovery::expand(p)
                    .into_iter()
                    .filter(|f| f.is_file())
                    .collect();
                if m.is_empty() && !p.to_string_lossy().contains('*') {
                    return Err(format!(
                        "{:?} does not point to an existing file",
                        p.display().to_string()
                    ));
                }
                files.extend(m);
            }
            Ok((c, w, files))
        });
        match checked {
            Ok((c, warnings, rule_files)) => {
                for w in warnings {
                    writeln!(out, "  WARNING: {w}")?;
                }
                if !rule_files.is_empty() {
                    writeln!(out, "  SUCCESS: {} rule files found", rule_files.len())?;
                }
                writeln!(
                    out,
                    " SUCCESS: {} is valid prometheus config file syntax",
                    f.display()
                )?;
                if !c.ignored.is_empty() {
                    writeln!(
                        out,
                        " NOTICE: not used by prombox scrape: {}",
                        c.ignored.join(", ")
                    )?;
                }
                writeln!(out)?;
                if !rule_files.is_empty() {
                    out.flush()?;
                    let settings = super::rules::CheckSettings {
                        duplicate_lint: true,
                        lint_fatal: false,
                        fail_on: None,
                        parse: crate::rules::ParseOptions::default(),
                        lint: super::rules::CheckSettings::from_config(&c),
                    };
                    let st = super::rules::check_files(
                        &rule_files,
                        &settings,
                        super::rules::OutputFormat::Text,
                    )?;
                    if st == Status::Failed {
                        failed = true;
                    }
                }
            }
            Err(e) => {
                out.flush()?;
                eprintln!("  FAILED: {e}");
                writeln!(out)?;
                failed = true;
            }
        }
    }
    Ok(if failed { Status::Failed } else { Status::Ok })
}

fn metrics(args: MetricsArgs) -> anyhow::Result<Status> {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files
    };
    let many = files.len() > 1;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut status = Status::Ok;
    for path in &files {
        let mut input = Input::open(path)?;
        let format = match args.format {
            FormatArg::Text => Format::Text,
            FormatArg::Openmetrics => Format::OpenMetrics,
            FormatArg::Auto => input
                .detect()
                .with_context(|| format!("{}: read failed", input.name))?,
        };
        let name = input.name.clone();
        let report = lint::check(input.reader(), format, args.lint == LintArg::All)
            .with_context(|| format!("{name}: read failed"))?;
        if let Some(e) = report.error {
            writeln!(out, "{name}:{e}")?;
            status = Status::Failed;
            continue;
        }
        for p in &report.problems {
            if many {
                write!(out, "{name}: ")?;
            }
            writeln!(out, "{}: {}", p.metric, p.text)?;
        }
        if !report.problems.is_empty() && status == Status::Ok {
            status = Status::Lint;
        }
    }
    out.flush()?;
    Ok(status)
}
