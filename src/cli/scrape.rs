//! `prombox scrape`: scrape rounds from a prometheus.yml (or the built-in host collector)
//! into a data dir or to standard output.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::Status;
use crate::scrape::config::{self, Config};
use crate::scrape::round::{self, Event, Options, Sink};

const EXAMPLES: &str = "\
One run is one round: every target of every job is scraped once, concurrently, and the
samples are stored as one segment (atomic: all or nothing). Run it from cron; staleness
works across runs: series a target stopped exposing, and targets that disappeared, get
staleness markers (state in DIR/scrape/). A failing target is stored as up 0 and named on
stderr with the reason; the others go on. Exit 0 when the round is stored.

Besides http(s) targets, static_configs in the config file may list
  file:///var/lib/node_exporter/textfile/*.prom   an exposition file or glob
  exec:///usr/local/bin/report --metrics          a command's standard output (sh -c)
  host://                                         the built-in host collector
(refused when they come from discovery or relabeling).

Examples:
  prombox scrape --data data                       # this host, built-in collector
  prombox scrape --config prometheus.yml --data /var/lib/prombox
  * * * * * prombox scrape --config /etc/prometheus/prometheus.yml --data /var/lib/prombox
  prombox scrape --config prometheus.yml --every --data data
  prombox scrape --config prometheus.yml --job node --output - | prombox store --data other";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// A Prometheus configuration file (its global and scrape_configs sections); without
    /// it, the built-in host collector is scraped as job "node".
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    data: super::DataDir,
    /// Write OpenMetrics with timestamps to FILE (`-`: standard output) instead of the
    /// data dir (--data and PROMBOX_DATA are then not used).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Keep scraping, each job on its scrape_interval, until SIGTERM or Ctrl-C (the round
    /// in flight completes).
    #[arg(long)]
    every: bool,
    /// Only these jobs (repeatable).
    #[arg(long, value_name = "NAME")]
    job: Vec<String>,
    /// Print each round's summary even when stderr is not a terminal (failing targets are
    /// always reported).
    #[arg(long, short)]
    verbose: bool,
    /// The most targets scraped at once.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
    // A second signal acts as usual.
    // SAFETY: signal(2) is async-signal-safe.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

fn trap_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: installs a handler that only stores to an atomic and resets itself.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let cfg: Config = match &args.config {
        Some(p) => config::load(p).map_err(|e| anyhow::anyhow!("scrape: {e}"))?,
        None => config::builtin(&hostname()),
    };
    let opts = Options {
        jobs: args.job.clone(),
        concurrency: args.concurrency as usize,
    };
    let mut out: Option<Box<dyn Write>> = match &args.output {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Box::new(io::stdout().lock())),
        Some(p) => Some(Box::new(
            std::fs::File::create(p).with_context(|| format!("scrape: {}", p.display()))?,
        )),
    };
    let tty = io::stderr().is_terminal();
    if args.every {
        trap_signals();
    }
    // Per job: when its next round is due (all now at first).
    let start = Instant::now();
    let mut due: Vec<(String, Duration, Instant)> = cfg
        .scrape_configs
        .iter()
        .filter(|s| opts.jobs.is_empty() || opts.jobs.contains(&s.job_name))
        .map(|s| {
            let iv = Duration::from_millis(s.scrape_interval_ms.max(1) as u64);
            (s.job_name.clone(), iv, start)
        })
        .collect();
    if due.is_empty() && !opts.jobs.is_empty() {
        bail!("scrape: no job named {:?} in the config", opts.jobs[0]);
    }
    loop {
        let now = Instant::now();
        let jobs: Vec<String> = due
            .iter()
            .filter(|(_, _, at)| *at <= now)
            .map(|(j, _, _)| j.clone())
            .collect();
        let round_opts = Options {
            // A full round (all jobs) also retires the state of jobs gone from the config.
            jobs: if jobs.len() == due.len() {
                opts.jobs.clone()
            } else {
                jobs.clone()
            },
            ..opts.clone()
        };
        one_round(&cfg, &args, &round_opts, out.as_deref_mut(), tty)?;
        if !args.every {
            break;
        }
        for (j, iv, at) in &mut due {
            if jobs.contains(j) {
                while *at <= now {
                    *at += *iv;
                }
            }
        }
        let next = due.iter().map(|d| d.2).min().unwrap_or(now);
        while Instant::now() < next && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            );
        }
        if STOP.load(Ordering::SeqCst) {
            break;
        }
    }
    if let Some(w) = out.as_mut() {
        w.write_all(b"# EOF\n")?;
        w.flush()?;
    }
    Ok(Status::Ok)
}

fn one_round(
    cfg: &Config,
    args: &Args,
    opts: &Options,
    out: Option<&mut (dyn Write + '_)>,
    tty: bool,
) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::hidden();
    let mut on_event = |e: Event| match e {
        Event::Started { targets } => {
            if tty && targets > 0 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(targets as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "scraping {bar:30} {pos}/{len} targets {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            }
        }
        Event::Scraped {
            job,
            instance,
            error,
            ..
        } => {
            bar.inc(1);
            if let Some(e) = error {
                bar.suspend(|| {
                    eprintln!("prombox: scrape: job={job:?} instance={instance:?}: {e}")
                });
            }
        }
        Event::Warning(w) => bar.suspend(|| eprintln!("prombox: scrape: {w}")),
    };
    let sink = match out {
        Some(w) => Sink::Output(w),
        None => Sink::Data(&args.data.path),
    };
    let report = round::run(cfg, sink, opts, &mut on_event)
        .with_context(|| format!("scrape: {}", args.data.path.display()))?;
    bar.finish_and_clear();
    if tty || args.verbose {
        eprintln!(
            "scraped {} targets ({} up), {} samples ({} stale markers){}",
            report.targets,
            report.up,
            report.samples,
            report.stale,
            if report.seq > 0 {
                format!(" into {}", args.data.path.display())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
