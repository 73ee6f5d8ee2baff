//! One scrape round: discover every job's targets, scrape them concurrently with a bounded
//! pool of threads, and write what they give — into one segment of the data dir (with the
//! per-job state that carries staleness to the next run, see [`super::state`]) or as
//! OpenMetrics text to a writer.
//!
//! Per job, a round:
//! 1. takes the job's lock in the data dir (a second process scraping the same job at the
//!    same time skips it with an error) and loads the job's state;
//! 2. discovers targets and relabels them; a source that fails keeps the targets the last
//!    round had from the state, as Prometheus keeps a failing discovery's last targets;
//!    with `target_limit` exceeded every target fails with Prometheus's message;
//! 3. scrapes each target (HTTP, `file://`, `exec://` or `host://`) and turns the body into
//!    samples ([`super::process`]);
//! 4. marks stale every series of targets gone from discovery, report series included.
//!
//! Jobs that left the config (a state file whose job is not configured; full rounds only)
//! have all their series marked stale and their state removed, as Prometheus does when a
//! scrape pool stops.
//!
//! Samples are stored when the whole round is done: one atomic segment, then the states.
//! External labels are not added: Prometheus attaches them only when data leaves it.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::config::{Config, Protocol, ScrapeConfig};
use super::error::{ExecError, LimitError, ScrapeError};
use super::process::{self, Outcome, Point};
use super::state::{self, JobState, TargetState};
use super::target::{self, State};
use crate::expfmt::{self, Format, Writer};
use crate::http::client::{self as http, Client};
use crate::model::time::{now_ms, parse_duration};
use crate::model::{is_stale_nan, stale_nan, Labels, Sample, METRIC_NAME};
use crate::storage::{IngestOptions, Ingester};

/// Where a round's samples go.
pub enum Sink<'a> {
    /// Into the data dir (one segment per round), with staleness state kept there.
    Data(&'a Path),
    /// OpenMetrics text with timestamps, grouped by metric name (no staleness markers: the
    /// text formats cannot tell them from NaN). The caller ends the stream with `# EOF`.
    Output(&'a mut dyn Write),
}

/// How to run a round.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only these jobs (all when empty).
    pub jobs: Vec<String>,
    /// The most targets scraped at once.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            jobs: Vec::new(),
            concurrency: 256,
        }
    }
}

/// What a round reports as it goes, on the calling thread.
#[derive(Debug)]
pub enum Event<'a> {
    /// The targets to scrape are known.
    Started { targets: usize },
    /// A target was scraped; `error` is why it is down.
    Scraped {
        job: &'a str,
        instance: &'a str,
        url: &'a str,
        error: Option<&'a ScrapeError>,
    },
    /// Something went wrong that does not stop the round.
    Warning(Warning<'a>),
}

/// What goes wrong in a round without stopping it.
#[derive(Debug)]
pub enum Warning<'a> {
    /// Another process is scraping the job into the same data dir; the job is skipped.
    Locked { job: &'a str, dir: &'a Path },
    /// A discovery source failed; its last targets are kept.
    Discovery {
        job: &'a str,
        error: super::discovery::SourceError,
    },
    /// The job's HTTP client could not be built; its targets fail.
    Client {
        job: &'a str,
        error: &'a ScrapeError,
    },
    /// Samples repeating a series and timestamp were dropped (the first is kept).
    Duplicates {
        job: &'a str,
        instance: &'a str,
        dropped: u64,
    },
}

impl std::fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Locked { job, dir } => write!(
                f,
                "job {job:?}: skipped: another prombox is scraping it into {}",
                dir.display()
            ),
            Warning::Discovery { job, error } => write!(f, "job {job:?}: {error}"),
            Warning::Client { job, error } => write!(f, "job {job:?}: {error}"),
            Warning::Duplicates {
                job,
                instance,
                dropped,
            } => write!(
                f,
                "job {job:?} instance {instance:?}: {dropped} samples dropped: same series and \
                 timestamp as an earlier sample (the first is kept)"
            ),
        }
    }
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub targets: usize,
    pub up: usize,
    /// Samples written, staleness markers included.
    pub samples: u64,
    pub stale: u64,
    /// The segment's sequence number (0 when nothing was stored or writing to text).
    pub seq: u64,
}

/// Why a round could not run or its data could not be stored.
#[derive(Debug)]
pub enum Error {
    /// A `--job` that the config does not define.
    UnknownJob(String),
    Storage(crate::storage::Error),
    Io(io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::UnknownJob(j) => write!(f, "no job named {j:?} in the config"),
            Error::Storage(e) => e.fmt(f),
            Error::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// A target's source of exposition text.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    Http(String),
    /// An exposition file, or a glob over the last path segment.
    File(PathBuf),
    /// A shell command whose standard output is the exposition.
    Exec(String),
    /// The built-in host collector.
    Host,
}

impl Source {
    fn of(cfg: &ScrapeConfig, labels: &Labels) -> Source {
        let addr = labels.get("__address__").unwrap_or("");
        if let Some(p) = addr.strip_prefix("file://") {
            Source::File(PathBuf::from(p))
        } else if let Some(c) = addr.strip_prefix("exec://") {
            Source::Exec(c.to_string())
        } else if addr.starts_with("host://") {
            Source::Host
        } else {
            Source::Http(target::url(cfg, labels))
        }
    }

    fn url(&self) -> String {
        match self {
            Source::Http(u) => u.clone(),
            Source::File(p) => format!("file://{}", p.display()),
            Source::Exec(c) => format!("exec://{c}"),
            Source::Host => "host://".into(),
        }
    }
}

/// One target to scrape in this round.
struct Work {
    job: usize,
    /// The target's labels after relabeling, internal ones included.
    labels: Labels,
    /// The labels its series get.
    series: Labels,
    instance: String,
    source: Source,
    key: u64,
    timeout: Duration,
    previous: TargetState,
    /// Fails the target without scraping it (target_limit, no HTTP client).
    forced: Option<ScrapeError>,
}

/// A job of this round.
struct Job<'c> {
    cfg: &'c ScrapeConfig,
    client: Result<Client, ScrapeError>,
    accept: String,
    /// Held for the round.
    _lock: Option<state::JobLock>,
    next: JobState,
}

/// Prometheus's `Accept` header for a job's `scrape_protocols` (protobuf left out: prombox
/// does not parse it).
pub fn accept_header(protocols: &[Protocol]) -> String {
    let mut weight = Protocol::ALL.len() + 1;
    let mut vals = Vec::new();
    for p in protocols {
        if *p == Protocol::PrometheusProto {
            continue;
        }
        let mut v = p.media_type().to_string();
        if matches!(
            p,
            Protocol::PrometheusText100 | Protocol::OpenMetricsText100
        ) {
            v.push_str(";escaping=allow-utf-8");
        }
        vals.push(format!("{v};q=0.{weight}"));
        weight -= 1;
    }
    vals.push(format!("*/*;q=0.{weight}"));
    vals.join(",")
}

/// Runs one round over the configured jobs (or `opts.jobs`).
pub fn run(
    cfg: &Config,
    sink: Sink,
    opts: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Report, Error> {
    for j in &opts.jobs {
        if !cfg.scrape_configs.iter().any(|s| &s.job_name == j) {
            return Err(Error::UnknownJob(j.clone()));
        }
    }
    let data = match &sink {
        Sink::Data(d) => Some(*d),
        Sink::Output(_) => None,
    };
    let now = now_ms();
    let mut jobs: Vec<Job> = Vec::new();
    let mut works: Vec<Work> = Vec::new();
    let mut stale: Vec<Point> = Vec::new();
    for sc in &cfg.scrape_configs {
        if !opts.jobs.is_empty() && !opts.jobs.contains(&sc.job_name) {
            continue;
        }
        let (lock, prev) = match data {
            Some(d) => match state::lock(d, &sc.job_name).map_err(Error::Io)? {
                Some(l) => (Some(l), state::load(d, &sc.job_name)),
                None => {
                    events(Event::Warning(Warning::Locked {
                        job: &sc.job_name,
                        dir: d,
                    }));
                    continue;
                }
            },
            None => (None, JobState::default()),
        };
        let ji = jobs.len();
        let client = Client::new(&sc.client).map_err(|e| ScrapeError::Client(Arc::new(e)));
        let found = super::discovery::discover(sc, &mut |w| {
            events(Event::Warning(Warning::Discovery {
                job: &sc.job_name,
                error: w,
            }))
        });
        let mut seen: HashSet<u64> = HashSet::new();
        let mut job_works: Vec<Work> = Vec::new();
        let mut prev_by_key: HashMap<u64, TargetState> =
            prev.targets.into_iter().map(|t| (t.key, t)).collect();
        let mut add = |labels: Labels, source: Source, key: u64, previous: Option<TargetState>| {
            if !seen.insert(key) {
                return;
            }
            let series = target::series_labels(&labels);
            let timeout = labels
                .get("__scrape_timeout__")
                .and_then(|t| parse_duration(t).ok())
                .unwrap_or(sc.scrape_timeout_ms);
            job_works.push(Work {
                job: ji,
                instance: series.get("instance").unwrap_or("").to_string(),
                series,
                labels,
                source,
                key,
                timeout: Duration::from_millis(timeout.max(1) as u64),
                previous: previous.unwrap_or_default(),
                forced: None,
            });
        };
        for g in &found.groups {
            for t in target::from_group(sc, g) {
                if let State::Active(l) = t.state {
                    let source = Source::of(sc, &l);
                    let key = state::target_key(&l, &source.url());
                    let p = prev_by_key.remove(&key);
                    add(l, source, key, p);
                }
            }
        }
        if !found.complete {
            // Keep scraping what the failing sources gave last time.
            for (key, t) in prev_by_key.drain() {
                let source = Source::of(sc, &t.labels);
                add(t.labels.clone(), source, key, Some(t));
            }
        }
        // Targets gone from discovery: all their series are stale.
        for (_, t) in prev_by_key {
            mark_gone(t, now, &mut stale);
        }
        if let Err(e) = &client {
            events(Event::Warning(Warning::Client {
                job: &sc.job_name,
                error: e,
            }));
            for w in &mut job_works {
                w.forced = Some(e.clone());
            }
        } else if sc.limits.targets > 0 && job_works.len() as u64 > sc.limits.targets {
            let e = ScrapeError::Limit(LimitError::Targets {
                targets: job_works.len(),
                limit: sc.limits.targets,
            });
            for w in &mut job_works {
                w.forced = Some(e.clone());
            }
        }
        works.extend(job_works);
        jobs.push(Job {
            cfg: sc,
            client,
            accept: accept_header(&sc.scrape_protocols),
            _lock: lock,
            next: JobState {
                job: sc.job_name.clone(),
                targets: Vec::new(),
            },
        });
    }
    // Jobs that left the config: everything they had is stale.
    let mut removed: Vec<(String, state::JobLock)> = Vec::new();
    if let (Some(d), true) = (data, opts.jobs.is_empty()) {
        let configured: Vec<&str> = cfg
            .scrape_configs
            .iter()
            .map(|s| s.job_name.as_str())
            .collect();
        for job in state::other_jobs(d, &configured) {
            let Some(lock) = state::lock(d, &job).map_err(Error::Io)? else {
                continue;
            };
            for t in state::load(d, &job).targets {
                mark_gone(t, now, &mut stale);
            }
            removed.push((job, lock));
        }
    }

    events(Event::Started {
        targets: works.len(),
    });
    let mut out = Out::new(sink)?;
    let mut report = Report {
        targets: works.len(),
        ..Report::default()
    };
    for p in stale {
        out.add(p, &mut report)?;
    }
    let workers = opts.concurrency.clamp(1, works.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, Outcome)>(workers);
    let jobs_ref = &jobs;
    let works_ref = &works;
    let results = std::thread::scope(|s| -> Result<Vec<TargetState>, Error> {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn_scoped(s, move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(w) = works_ref.get(i) else {
                        break;
                    };
                    // A panic in a dependency fails the target, not the round.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        scrape(&jobs_ref[w.job], w)
                    }))
                    .unwrap_or_else(|p| {
                        let why = p
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        let target = process::Target {
                            cfg: jobs_ref[w.job].cfg,
                            labels: &w.series,
                            previous: &w.previous,
                        };
                        process::process(
                            &target,
                            Err(ScrapeError::Internal(why)),
                            now_ms(),
                            Instant::now(),
                        )
                    });
                    if tx.send((i, outcome)).is_err() {
                        break;
                    }
                })
                .map_err(Error::Io)?;
        }
        drop(tx);
        // Consume while the workers run; on an error the receiver goes and they stop.
        let mut results: Vec<TargetState> = vec![TargetState::default(); works_ref.len()];
        for (i, outcome) in rx {
            let w = &works_ref[i];
            let job = jobs_ref[w.job].cfg;
            if outcome.error.is_none() {
                report.up += 1;
            }
            events(Event::Scraped {
                job: &job.job_name,
                instance: &w.instance,
                url: &w.source.url(),
                error: outcome.error.as_ref(),
            });
            if outcome.duplicates > 0 {
                events(Event::Warning(Warning::Duplicates {
                    job: &job.job_name,
                    instance: &w.instance,
                    dropped: outcome.duplicates,
                }));
            }
            let st = &mut results[i];
            for p in outcome.points {
                if let Some(h) = p.track {
                    st.track(h, &p.labels);
                }
                out.add(p, &mut report)?;
            }
        }
        Ok(results)
    })?;
    for (w, mut st) in works.iter().zip(results) {
        st.key = w.key;
        st.last_ms = now;
        st.labels = w.labels.clone();
        jobs[w.job].next.targets.push(st);
    }
    report.seq = out.finish()?;
    if let Some(d) = data {
        for j in &jobs {
            state::save(d, &j.next).map_err(Error::Io)?;
        }
        for (job, _lock) in &removed {
            state::remove(d, job).map_err(Error::Io)?;
        }
    }
    Ok(report)
}

/// Staleness markers at `now` for every series of a target that is gone, its report series
/// included.
fn mark_gone(t: TargetState, now: i64, out: &mut Vec<Point>) {
    let series = target::series_labels(&t.labels);
    for l in t
        .tracked_where(|_| true)
        .into_iter()
        .chain(process::report_series(&series))
    {
        out.push(Point {
            labels: l,
            t: now,
            v: stale_nan(),
            track: None,
        });
    }
}

/// Where points go during a round.
enum Out<'a> {
    Data(Box<Ingester>),
    Text(&'a mut dyn Write, Vec<Point>),
}

impl<'a> Out<'a> {
    fn new(sink: Sink<'a>) -> Result<Out<'a>, Error> {
        Ok(match sink {
            Sink::Data(d) => Out::Data(Box::new(
                Ingester::new(d, IngestOptions::default()).map_err(Error::Storage)?,
            )),
            Sink::Output(w) => Out::Text(w, Vec::new()),
        })
    }

    fn add(&mut self, p: Point, report: &mut Report) -> Result<(), Error> {
        let stale = is_stale_nan(p.v);
        match self {
            Out::Data(ing) => ing
                .append_labels(p.labels, Sample { t: p.t, v: p.v })
                .map_err(Error::Storage)?,
            Out::Text(_, buf) if !stale => buf.push(p),
            Out::Text(..) => return Ok(()),
        }
        report.samples += 1;
        report.stale += stale as u64;
        Ok(())
    }

    /// Publishes the segment (its sequence number) or writes the text.
    fn finish(self) -> Result<u64, Error> {
        match self {
            Out::Data(ing) => Ok(ing.commit().map_err(Error::Storage)?.seq),
            Out::Text(w, mut buf) => {
                buf.sort_by(|a, b| {
                    let na = a.labels.get(METRIC_NAME).unwrap_or("");
                    let nb = b.labels.get(METRIC_NAME).unwrap_or("");
                    na.cmp(nb)
                        .then_with(|| a.labels.cmp(&b.labels))
                        .then(a.t.cmp(&b.t))
                });
                let mut wr = Writer::new(w, Format::OpenMetrics);
                for p in &buf {
                    let name = p.labels.get(METRIC_NAME).unwrap_or("");
                    wr.sample(
                        name,
                        p.labels
                            .iter()
                            .filter(|l| l.name != METRIC_NAME)
                            .map(|l| (l.name.as_str(), l.value.as_str())),
                        p.v,
                        Some(p.t),
                        None,
                    )
                    .map_err(Error::Io)?;
                }
                wr.flush().map_err(Error::Io)?;
                Ok(0)
            }
        }
    }
}

/// Scrapes one target (on a worker thread).
fn scrape(job: &Job, w: &Work) -> Outcome {
    let start = Instant::now();
    let t = now_ms();
    let target = process::Target {
        cfg: job.cfg,
        labels: &w.series,
        previous: &w.previous,
    };
    if let Some(e) = &w.forced {
        return process::process(&target, Err(e.clone()), t, start);
    }
    let limit = match job.cfg.limits.body_size {
        0 => http::DEFAULT_BODY_CAP,
        n => n,
    };
    match fetch(job, w, limit) {
        Ok(parts) => {
            let refs: Vec<(&[u8], Format)> =
                parts.iter().map(|(b, f)| (b.as_slice(), *f)).collect();
            process::process(&target, Ok(&refs), t, start)
        }
        Err(e) => process::process(&target, Err(e), t, start),
    }
}

/// Reads a target's body (or bodies, for a file glob) with their formats.
fn fetch(job: &Job, w: &Work, limit: u64) -> Result<Vec<(Vec<u8>, Format)>, ScrapeError> {
    match &w.source {
        Source::Http(url) => {
            let client = job.client.as_ref().map_err(|e| e.clone())?;
            let headers = [
                ("Accept", job.accept.clone()),
                (
                    "X-Prometheus-Scrape-Timeout-Seconds",
                    format!("{}", w.timeout.as_secs_f64()),
                ),
            ];
            let body = client
                .get(&http::Request {
                    url,
                    headers: &headers,
                    timeout: w.timeout,
                    limit,
                    gzip: job.cfg.enable_compression,
                })
                .map_err(ScrapeError::Http)?;
            if body.bytes.is_empty() {
                return Ok(Vec::new());
            }
            let fallback = job.cfg.fallback_protocol.map(|p| p.media_type());
            let format = process::format_of(&body.content_type, fallback)
                .map_err(ScrapeError::ContentType)?;
            Ok(vec![(body.bytes, format)])
        }
        Source::File(pattern) => {
            let mut out = Vec::new();
            let mut total = 0u64;
            for p in super::discovery::expand(pattern) {
                let mut b = Vec::new();
                std::fs::File::open(&p)
                    .and_then(|f| f.take(limit.saturating_sub(total)).read_to_end(&mut b))
                    .map_err(|e| ScrapeError::File {
                        path: p.clone(),
                        err: Arc::new(e),
                    })?;
                total += b.len() as u64;
                if total >= limit {
                    return Err(ScrapeError::BodyTooLarge);
                }
                let format = expfmt::detect(&b[b.len().saturating_sub(64)..]);
                out.push((b, format));
            }
            Ok(out)
        }
        Source::Exec(cmd) => {
            let b = run_command(cmd, w.timeout, limit).map_err(ScrapeError::Exec)?;
            let format = expfmt::detect(&b[b.len().saturating_sub(64)..]);
            Ok(vec![(b, format)])
        }
        Source::Host => {
            let mut s = String::new();
            super::host::collect(&super::host::Paths::default(), &mut s);
            Ok(vec![(s.into_bytes(), Format::Text)])
        }
    }
}

/// Runs `sh -c cmd` in its own process group and reads its standard output, killing the
/// group at the deadline. A non-zero exit fails the scrape with the first line of stderr.
fn run_command(cmd: &str, timeout: Duration, limit: u64) -> Result<Vec<u8>, ExecError> {
    use std::os::unix::process::CommandExt;
    let spawn_error = |err: io::Error| ExecError::Spawn {
        command: cmd.to_string(),
        err: Arc::new(err),
    };
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(spawn_error)?;
    let pgid = child.id() as i32;
    // Both are piped above, so both are there.
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(spawn_error(io::Error::other("no standard output or error")));
    };
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(timeout) {
            // SAFETY: kill(2) on the child's own process group; no memory is involved.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let err_reader = std::thread::spawn(move || {
        let mut e = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut e);
        e
    });
    let mut out = Vec::new();
    let read = (&mut stdout).take(limit).read_to_end(&mut out);
    let over = out.len() as u64 >= limit;
    if over {
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    drop(stdout);
    let status = child.wait();
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let err = err_reader.join().unwrap_or_default();
    if timed_out {
        return Err(ExecError::Timeout);
    }
    if over {
        return Err(ExecError::BodyTooLarge);
    }
    read.map_err(|e| ExecError::Read(Arc::new(e)))?;
    let status = status.map_err(|e| ExecError::Read(Arc::new(e)))?;
    if !status.success() {
        let first = String::from_utf8_lossy(&err);
        return Err(ExecError::Failed {
            status,
            stderr: first.lines().next().unwrap_or("").trim().to_string(),
        });
    }
    Ok(out)
}
