//! `rules eval` over a data dir: one cron round (every group's due slots, state kept in
//! `DIR/rules/`) or a backfill over a past range, both through [`super::eval::eval_group`],
//! the evaluator `rules test` runs.
//!
//! A round, in order:
//!
//! 1. takes each rule file's lock (a file another process is evaluating is skipped) and
//!    loads its state ([`super::state`]);
//! 2. opens a snapshot of the data dir and evaluates, group by group, each due slot
//!    ([`super::schedule`]) in order. Queries read the snapshot with this run's own output
//!    laid over it ([`Layered`]), so a rule sees the rules before it in the same round and
//!    a slot sees the slots before it;
//! 3. publishes everything written (recorded series, staleness markers, `ALERTS`,
//!    `ALERTS_FOR_STATE`) as one segment;
//! 4. hands the alerts to send to the caller (who prints them);
//! 5. replaces the state files.
//!
//! Killed before 3, nothing happened; between 3 and 5, the next round evaluates the same
//! slots again: the samples it writes replace the same ones, and its alerts are sent again
//! (Alertmanager merges them), so nothing is lost.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::alert::{self, State};
use super::eval::{eval_group, Context, GroupState};
use super::file::{Group, RuleFile, RuleKind};
use super::schedule;
use super::state::{self, FileState};
use crate::model::matcher::{MatchOp, Matcher};
use crate::model::{Labels, Sample, METRIC_NAME};
use crate::promql::eval::{evaluate, MemSeries, MemStorage, Options, Range, Storage};
use crate::scrape::target::query_escape;
use crate::storage::{Db, IngestOptions, Ingester};

const NS_PER_MS: i64 = 1_000_000;

/// A rule file to evaluate.
pub struct Source {
    /// The file's name as Prometheus knows it (the path as given, or as `rule_files` of the
    /// configuration resolves it): it places groups on their grid and names the state.
    pub name: String,
    pub file: RuleFile,
}

/// Settings shared by every group.
#[derive(Clone, Debug)]
pub struct Settings {
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`, and the base of each alert's `generatorURL`.
    pub external_url: String,
    /// The interval of groups that set none (`global.evaluation_interval`).
    pub default_interval_ms: i64,
    /// The query offset of groups that set none (`global.rule_query_offset`).
    pub default_query_offset_ms: i64,
    pub max_catch_up_ms: i64,
    pub query: Options,
}

/// When a round evaluates.
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// The slots due at this time (ns since the epoch).
    Due(i64),
    /// Once, at this time (ms), for every group last evaluated before it.
    At(i64),
}

/// A rule that failed at a slot.
#[derive(Clone, Debug)]
pub struct Failure {
    pub file: String,
    pub group: String,
    pub rule: String,
    pub ts: i64,
    pub error: String,
}

/// What a round or backfill did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Evaluations run (one group at one slot).
    pub evaluations: u64,
    /// Groups with at least one evaluation.
    pub groups_run: u64,
    pub failures: Vec<Failure>,
    /// Rule files not evaluated, and why (another process holds them).
    pub skipped_files: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub samples: u64,
    /// The sequence number of the segment published (0: none).
    pub seq: u64,
}

/// Why a round could not run.
#[derive(Debug)]
pub enum Error {
    Storage(crate::storage::Error),
    Io(PathBuf, std::io::Error),
    /// The caller's alert output failed; the state was not replaced.
    Emit(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Storage(e) => e.fmt(f),
            Error::Io(p, e) => write!(f, "{}: {e}", p.display()),
            Error::Emit(e) => write!(f, "writing alerts: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::storage::Error> for Error {
    fn from(e: crate::storage::Error) -> Error {
        Error::Storage(e)
    }
}

/// A data dir snapshot with this run's output laid over it: series are the union, and a
/// sample of the run replaces a stored one at the same time.
pub struct Layered<'a> {
    pub base: &'a Db,
    pub top: &'a MemStorage,
}

/// A series of [`Layered`]: where its samples are in each layer.
pub struct LayeredSeries {
    labels: Labels,
    base: Option<crate::storage::Series>,
    top: Option<MemSeries>,
}

impl Storage for Layered<'_> {
    type Series = LayeredSeries;

    fn into_labels(series: LayeredSeries) -> Labels {
        series.labels
    }

    fn select(
        &self,
        ms: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<LayeredSeries>, crate::storage::Error> {
        let base = self.base.select(ms, mint, maxt)?;
        let top = self.top.select(ms, mint, maxt)?;
        let mut out = Vec::with_capacity(base.len() + top.len());
        let mut top = top.into_iter().peekable();
        for b in base {
            while let Some(t) = top.next_if(|t| t.labels() < &b.labels) {
                out.push(LayeredSeries {
                    labels: t.labels().clone(),
                    base: None,
                    top: Some(t),
                });
            }
            let t = top.next_if(|t| t.labels() == &b.labels);
            out.push(LayeredSeries {
                labels: b.labels.clone(),
                base: Some(b),
                top: t,
            });
        }
        for t in top {
            out.push(LayeredSeries {
                labels: t.labels().clone(),
                base: None,
                top: Some(t),
            });
        }
        Ok(out)
    }

    fn read(
        &self,
        s: &LayeredSeries,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
    ) -> Result<(), crate::storage::Error> {
        let Some(top) = &s.top else {
            return match &s.base {
                Some(b) => self.base.samples_into(b, mint, maxt, out),
                None => Ok(()),
            };
        };
        let mut mine = Vec::new();
        self.top.read(top, mint, maxt, &mut mine)?;
        let Some(b) = &s.base else {
            out.extend(mine);
            return Ok(());
        };
        let mut stored = Vec::new();
        self.base.samples_into(b, mint, maxt, &mut stored)?;
        let (mut i, mut j) = (0, 0);
        while i < stored.len() || j < mine.len() {
            match (stored.get(i), mine.get(j)) {
                (Some(a), Some(m)) if a.t == m.t => {
                    out.push(*m);
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(m)) if a.t < m.t => {
                    out.push(*a);
                    i += 1;
                }
                (Some(a), None) => {
                    out.push(*a);
                    i += 1;
                }
                (_, Some(m)) => {
                    out.push(*m);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        Ok(())
    }
}

/// The alert Prometheus's notifier is given for a rule's alert: `startsAt` its firing time,
/// `endsAt` its resolution or, while firing, its validity; `generatorURL` the expression's
/// table link under the external URL.
fn to_send(a: &alert::Alert, generator_url: &str) -> crate::alert::Alert {
    let rfc = crate::model::time::format_rfc3339;
    let ends = if a.resolved_at != 0 {
        a.resolved_at
    } else {
        a.valid_until
    };
    crate::alert::Alert {
        labels: a
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        annotations: a.annotations.iter().cloned().collect(),
        starts_at: Some(rfc(a.fired_at)),
        ends_at: Some(rfc(ends)),
        generator_url: Some(generator_url.to_string()),
    }
}

/// The sink of a run: the overlay queries read, and the segment being built.
struct Output {
    top: RefCell<MemStorage>,
    ingester: RefCell<Ingester>,
    samples: std::cell::Cell<u64>,
}

impl Output {
    fn new(data: &Path) -> Result<Output, Error> {
        Ok(Output {
            top: RefCell::new(MemStorage::new()),
            ingester: RefCell::new(Ingester::new(data, IngestOptions::default())?),
            samples: std::cell::Cell::new(0),
        })
    }

    fn append(&self, l: &Labels, t: i64, v: f64) -> Result<(), String> {
        self.top.borrow_mut().add(l.clone(), [Sample { t, v }]);
        self.samples.set(self.samples.get() + 1);
        self.ingester
            .borrow_mut()
            .append_labels(l.clone(), Sample { t, v })
            .map_err(|e| e.to_string())
    }
}

/// Evaluates `group` at one slot against `db` and this run's output, then restores alert
/// state if this is the evaluation that completes a start. Returns the alerts to send.
#[allow(clippy::too_many_arguments)]
fn eval_slot(
    src: &str,
    group: &Group,
    gs: &mut GroupState,
    restore_in: &mut u8,
    ts: i64,
    interval: i64,
    db: &Db,
    out: &Output,
    settings: &Settings,
    report: &mut Report,
) -> Vec<(usize, crate::alert::Alert)> {
    let query = |e: &crate::promql::Expr, t: i64| -> Result<crate::promql::Value, String> {
        let top = out.top.borrow();
        let layered = Layered {
            base: db,
            top: &top,
        };
        evaluate(
            &layered,
            e,
            Range {
                start: t,
                end: t,
                step: 0,
            },
            &settings.query,
        )
        .map(|(v, _)| v)
        .map_err(|(e, _)| e.to_string())
    };
    let ctx = Context {
        external_labels: &settings.external_labels,
        external_url: &settings.external_url,
        url: Some(&settings.external_url),
        write_alert_series: true,
        default_query_offset: settings.default_query_offset_ms,
    };
    let mut append = |l: &Labels, t: i64, v: f64| out.append(l, t, v);
    eval_group(group, gs, ts, &ctx, &query, &mut append);
    report.evaluations += 1;
    let mut sends = Vec::new();
    for (i, (rule, rs)) in group.rules.iter().zip(gs.rules.iter_mut()).enumerate() {
        if let Some(e) = &rs.last_error {
            report.failures.push(Failure {
                file: src.to_string(),
                group: group.name.clone(),
                rule: rule.name.clone(),
                ts,
                error: e.clone(),
            });
            continue;
        }
        if rule.kind != RuleKind::Alerting {
            continue;
        }
        let url = format!(
            "{}/graph?g0.expr={}&g0.tab=1",
            settings.external_url,
            query_escape(&rule.expr.to_string())
        );
        for a in alert::sends(&mut rs.alerts, ts, alert::RESEND_DELAY_MS, interval) {
            sends.push((i, to_send(&a, &url)));
        }
    }
    if *restore_in > 0 {
        *restore_in -= 1;
        if *restore_in == 0 {
            restore_group(group, gs, ts, db, out);
        }
    }
    sends
}

/// Prometheus's `RestoreForState` for every alerting rule of a group at `ts`.
fn restore_group(group: &Group, gs: &mut GroupState, ts: i64, db: &Db, out: &Output) {
    let top = out.top.borrow();
    let layered = Layered {
        base: db,
        top: &top,
    };
    for (rule, rs) in group.rules.iter().zip(gs.rules.iter_mut()) {
        if rule.kind != RuleKind::Alerting {
            continue;
        }
        let pairs: Vec<super::file::Pair> = {
            let mut m: BTreeMap<&str, &super::file::Pair> = BTreeMap::new();
            for p in group.labels.iter().chain(&rule.labels) {
                m.insert(&p.name, p);
            }
            m.into_values().cloned().collect()
        };
        let matchers: Vec<Matcher> = alert::for_state_matchers(rule, &pairs)
            .iter()
            .filter_map(|(n, v)| Matcher::new(MatchOp::Equal, n, v).ok())
            .collect();
        let mint = ts - alert::OUTAGE_TOLERANCE_MS;
        let mut series = Vec::new();
        if let Ok(found) = layered.select(&matchers, mint, ts) {
            for s in found {
                let mut samples = Vec::new();
                if layered.read(&s, mint, ts, &mut samples).is_err() {
                    continue;
                }
                if let Some(last) = samples.last() {
                    let labels = s.labels.without(&[METRIC_NAME]);
                    series.push((labels, last.t, last.v));
                }
            }
        }
        alert::restore(rule, &mut rs.alerts, ts, &series);
    }
    gs.restored = true;
}

/// An alert of a run: file, group and rule index, then its labels.
type SendKey = (usize, usize, usize, Vec<(String, String)>);

/// The interval of a group.
fn interval_of(group: &Group, settings: &Settings) -> i64 {
    group
        .interval
        .filter(|i| *i > 0)
        .unwrap_or(settings.default_interval_ms)
        .max(1)
}

/// One cron round over `sources`. `emit` gets the alerts to send once the round's samples
/// are published, before the state is replaced.
pub fn round(
    data: &Path,
    sources: &[Source],
    settings: &Settings,
    when: When,
    emit: &mut dyn FnMut(&[crate::alert::Alert]) -> std::io::Result<()>,
) -> Result<Report, Error> {
    let mut report = Report::default();
    crate::storage::Dir::new(data).check_exists()?;
    let mut locks = Vec::new();
    let mut runs: Vec<(usize, FileState)> = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        match state::lock(data, &src.name).map_err(|e| Error::Io(state::dir(data), e))? {
            Some(l) => locks.push(l),
            None => {
                report.skipped_files.push((
                    src.name.clone(),
                    "another rules eval is evaluating it".into(),
                ));
                continue;
            }
        }
        runs.push((i, state::load(data, &src.name).unwrap_or_default()));
    }
    let db = Db::open(data)?;
    let out = Output::new(data)?;
    // The last sending of each alert in this run, by file, group, rule and labels.
    let mut alerts: BTreeMap<SendKey, crate::alert::Alert> = BTreeMap::new();
    let mut next_states = Vec::new();
    for (si, old) in &runs {
        let src = &sources[*si];
        let mut next = FileState {
            file: src.name.clone(),
            groups: Vec::new(),
        };
        for (gi, group) in src.file.groups.iter().enumerate() {
            let interval = interval_of(group, settings);
            let rec = old.groups.iter().find(|g| g.name == group.name);
            let interval_ns = interval.saturating_mul(NS_PER_MS);
            let offset = schedule::offset_ns(&src.name, &group.name, interval_ns);
            let (slots, fresh) = match when {
                When::At(t) => {
                    let ns = t.saturating_mul(NS_PER_MS);
                    match rec {
                        Some(r) if r.last_ns >= ns => {
                            report.warnings.push(format!(
                                "{}: group {:?}: already evaluated at or after --at",
                                src.name, group.name
                            ));
                            (Vec::new(), false)
                        }
                        _ => (vec![ns], rec.is_none()),
                    }
                }
                When::Due(now) => {
                    let d = schedule::due(
                        rec.map(|r| r.last_ns),
                        now,
                        interval_ns,
                        offset,
                        settings.max_catch_up_ms.saturating_mul(NS_PER_MS),
                    );
                    if d.skipped > 0 {
                        report.warnings.push(format!(
                            "{}: group {:?}: {} evaluations skipped, more than --max-catch-up ago; alert state restored as after a restart",
                            src.name, group.name, d.skipped
                        ));
                    }
                    (d.slots, d.fresh)
                }
            };
            let (mut gs, mut restore_in) = match rec {
                Some(r) => (state::carry_over(group, r), r.restore_in),
                None => (GroupState::new(group), 0),
            };
            if fresh {
                for rs in &mut gs.rules {
                    rs.alerts = Default::default();
                }
                gs.restored = false;
                restore_in = 2;
            }
            let Some(&last) = slots.last() else {
                if let Some(r) = rec {
                    next.groups.push(r.clone());
                }
                continue;
            };
            for slot in &slots {
                let ts = schedule::slot_ms(*slot);
                for (ri, a) in eval_slot(
                    &src.name,
                    group,
                    &mut gs,
                    &mut restore_in,
                    ts,
                    interval,
                    &db,
                    &out,
                    settings,
                    &mut report,
                ) {
                    let key: Vec<(String, String)> = a.labels.clone().into_iter().collect();
                    alerts.insert((*si, gi, ri, key), a);
                }
            }
            report.groups_run += 1;
            next.groups
                .push(state::record(group, &gs, last, restore_in));
        }
        // Groups gone from the file: their series go stale now.
        let now_ms = match when {
            When::Due(now) => now.div_euclid(NS_PER_MS),
            When::At(t) => t,
        };
        for g in &old.groups {
            if src.file.groups.iter().any(|x| x.name == g.name) {
                continue;
            }
            for l in g.rules.iter().flat_map(|r| &r.previous).chain(&g.stale) {
                let _ = out.append(l, now_ms, crate::model::stale_nan());
            }
        }
        next_states.push(next);
    }
    report.samples = out.samples.get();
    report.seq = out.ingester.into_inner().commit()?.seq;
    let list: Vec<crate::alert::Alert> = alerts.into_values().collect();
    emit(&list).map_err(Error::Emit)?;
    for s in &next_states {
        state::save(data, s)?;
    }
    drop(locks);
    Ok(report)
}

/// Progress of a backfill: slots done of all.
pub type Progress<'a> = dyn FnMut(u64, u64) + 'a;

/// Evaluates every group over `[start_ms, end_ms]` at its interval from `start_ms`, from a
/// fresh state, writing recorded series and `ALERTS`/`ALERTS_FOR_STATE`. The output is
/// published as a segment each time it holds `flush_samples` samples, so memory stays
/// bounded on long ranges. Returns the alerts firing at the end. The cron state is not
/// touched.
pub fn backfill(
    data: &Path,
    sources: &[Source],
    settings: &Settings,
    start_ms: i64,
    end_ms: i64,
    flush_samples: u64,
    progress: &mut Progress<'_>,
) -> Result<(Report, Vec<crate::alert::Alert>), Error> {
    let mut report = Report::default();
    crate::storage::Dir::new(data).check_exists()?;
    struct Run<'a> {
        src: &'a str,
        group: &'a Group,
        state: GroupState,
        interval: i64,
        next: i64,
    }
    let mut runs: Vec<Run> = Vec::new();
    for src in sources {
        for group in &src.file.groups {
            let interval = interval_of(group, settings);
            runs.push(Run {
                src: &src.name,
                group,
                state: GroupState::new(group),
                interval,
                next: start_ms,
            });
        }
    }
    let total: u64 = runs
        .iter()
        .map(|r| schedule::range_slots(start_ms, end_ms, r.interval).count() as u64)
        .sum();
    let mut done = 0u64;
    let mut db = Db::open(data)?;
    let mut out = Output::new(data)?;
    // Slots of every group in time order, so one group's output is there for another's
    // later slots, as in a running Prometheus.
    while let Some(r) = runs
        .iter_mut()
        .filter(|r| r.next <= end_ms)
        .min_by_key(|r| r.next)
    {
        let ts = r.next;
        let mut none = 0u8;
        eval_slot(
            r.src,
            r.group,
            &mut r.state,
            &mut none,
            ts,
            r.interval,
            &db,
            &out,
            settings,
            &mut report,
        );
        r.next = ts.saturating_add(r.interval);
        done += 1;
        progress(done, total);
        if out.samples.get() >= flush_samples {
            report.samples += out.samples.get();
            let seq = out.ingester.into_inner().commit()?.seq;
            report.seq = report.seq.max(seq);
            db = Db::open(data)?;
            out = Output::new(data)?;
        }
    }
    report.samples += out.samples.get();
    let seq = out.ingester.into_inner().commit()?.seq;
    report.seq = report.seq.max(seq);
    report.groups_run = runs.len() as u64;
    // The alerts firing at the end, as they would be sent.
    let mut firing = Vec::new();
    for r in &runs {
        for (rule, rs) in r.group.rules.iter().zip(&r.state.rules) {
            let url = format!(
                "{}/graph?g0.expr={}&g0.tab=1",
                settings.external_url,
                query_escape(&rule.expr.to_string())
            );
            for a in rs.alerts.active.values() {
                if a.state == State::Firing {
                    let mut a = a.clone();
                    let last = r.next - r.interval;
                    a.valid_until = last + 4 * alert::RESEND_DELAY_MS.max(r.interval);
                    firing.push(to_send(&a, &url));
                }
            }
        }
    }
    Ok((report, firing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_urls_escape_as_go_does() {
        assert_eq!(
            query_escape(r#"rate(x{a="b c"}[5m]) > 0.5"#),
            "rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29+%3E+0.5"
        );
    }

    #[test]
    fn the_run_s_samples_lay_over_the_stored_ones() {
        let dir = std::env::temp_dir().join(format!("pb-layered-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::storage::Dir::new(&dir).create().unwrap();
        let l = crate::promql::script::parse_labels(r#"x{a="1"}"#).unwrap();
        let mut ing = Ingester::new(&dir, IngestOptions::default()).unwrap();
        for t in [1000, 2000, 3000] {
            ing.append_labels(l.clone(), Sample { t, v: 1.0 }).unwrap();
        }
        ing.commit().unwrap();
        let db = Db::open(&dir).unwrap();
        let mut top = MemStorage::new();
        top.add(
            l.clone(),
            [Sample { t: 2000, v: 9.0 }, Sample { t: 4000, v: 4.0 }],
        );
        let only_top = crate::promql::script::parse_labels(r#"x{a="0"}"#).unwrap();
        top.add(only_top.clone(), [Sample { t: 1500, v: 5.0 }]);
        let layered = Layered {
            base: &db,
            top: &top,
        };
        let ms = [Matcher::new(MatchOp::Equal, METRIC_NAME, "x").unwrap()];
        let found = layered.select(&ms, 0, 10_000).unwrap();
        let names: Vec<&Labels> = found.iter().map(|s| &s.labels).collect();
        assert_eq!(names, vec![&only_top, &l]);
        let mut v = Vec::new();
        layered.read(&found[1], 0, 10_000, &mut v).unwrap();
        let got: Vec<(i64, f64)> = v.iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(
            got,
            vec![(1000, 1.0), (2000, 9.0), (3000, 1.0), (4000, 4.0)]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
