//! The evaluator: an [`Expr`] over a [`Storage`] at one time (instant query) or at every step
//! of a range (range query). An instant query is a range query with one step.
//!
//! Every node evaluates to all steps at once: a scalar is one float per step, an instant
//! vector is a list of series whose points sit on step timestamps. Functions on range
//! vectors slide a window over each series' samples, series by series; aggregations and
//! binary operations walk the steps with a cursor per input series. Semantics follow
//! Prometheus 3.x exactly: left-open windows `(t - range, t]`, a lookback of `(t - 5m, t]`
//! for instant selectors, staleness markers end a series, and the metric name is dropped
//! late (a flag on each series, applied at the end) so that `label_replace` can still
//! read it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::ast::*;
use super::value::{Annotation, Annotations, InstantSample, Point, Series, Value};
use crate::model::matcher::Matcher;
use crate::model::{is_stale_nan, Labels, Sample};
use crate::storage::Error as StorageError;

/// Where the engine reads series from. Two implementations: the data dir ([`crate::storage::Db`])
/// and [`MemStorage`] (test scripts). Selecting returns each storage's own series handles;
/// samples are read series by series (in parallel), so a query never holds more raw samples
/// than one series per thread.
pub trait Storage: Sync {
    /// A selected series: its labels and where its samples are.
    type Series: Send;
    /// The labels of a selected series, taken over when its samples have been read.
    fn into_labels(series: Self::Series) -> Labels;
    /// Series matching all matchers that may have samples in `[mint, maxt]`, sorted by labels.
    fn select(
        &self,
        ms: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Self::Series>, StorageError>;
    /// Appends the samples of a selected series in `[mint, maxt]` to `out`, sorted by time.
    fn read(
        &self,
        series: &Self::Series,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
    ) -> Result<(), StorageError>;
}

impl Storage for crate::storage::Db {
    type Series = crate::storage::Series;

    fn into_labels(series: Self::Series) -> Labels {
        series.labels
    }

    fn select(
        &self,
        ms: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Self::Series>, StorageError> {
        crate::storage::Db::select(self, ms, mint, maxt)
    }

    fn read(
        &self,
        series: &Self::Series,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
    ) -> Result<(), StorageError> {
        self.samples_into(series, mint, maxt, out)
    }
}

/// Series held in memory (test scripts and rule unit tests load into this), indexed by
/// metric name so that a selector with a name reads only its series.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    series: Vec<(Labels, Vec<Sample>)>,
    index: std::collections::HashMap<Labels, usize>,
    /// Series positions by metric name ("" for none).
    by_name: std::collections::HashMap<String, Vec<usize>>,
}

/// A series of [`MemStorage`] selected for a query: its labels and the samples of the
/// selection's window.
#[derive(Clone, Debug)]
pub struct MemSeries {
    labels: Labels,
    samples: Vec<Sample>,
}

impl MemSeries {
    pub fn labels(&self) -> &Labels {
        &self.labels
    }
}

impl MemStorage {
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// Adds samples to a series; a sample at an existing timestamp replaces it.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = Sample>) {
        let i = match self.index.get(&labels) {
            Some(&i) => i,
            None => {
                let i = self.series.len();
                let name = labels.metric_name().unwrap_or("").to_string();
                self.by_name.entry(name).or_default().push(i);
                self.index.insert(labels.clone(), i);
                self.series.push((labels, Vec::new()));
                i
            }
        };
        let v = &mut self.series[i].1;
        for s in samples {
            match v.last_mut() {
                Some(l) if l.t == s.t => *l = s,
                Some(l) if l.t > s.t => {
                    // Out of order: insert at its place, replacing an equal timestamp.
                    let at = v.partition_point(|x| x.t < s.t);
                    if v[at].t == s.t {
                        v[at] = s;
                    } else {
                        v.insert(at, s);
                    }
                }
                _ => v.push(s),
            }
        }
    }

    pub fn clear(&mut self) {
        self.series.clear();
        self.index.clear();
        self.by_name.clear();
    }

    /// The latest sample of a series.
    pub fn last_sample(&self, labels: &Labels) -> Option<Sample> {
        let &i = self.index.get(labels)?;
        self.series[i].1.last().copied()
    }

    /// Every series' samples in `(mint, maxt]` as Prometheus prints a matrix: `LABELS =>`,
    /// then `VALUE @[MS]` lines, series in label order.
    pub fn dump(&self, mint: i64, maxt: i64) -> String {
        let mut sorted: Vec<&(Labels, Vec<Sample>)> = self.series.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (l, v) in sorted {
            let pts: Vec<String> = v
                .iter()
                .filter(|s| s.t > mint && s.t <= maxt && !crate::model::is_stale_nan(s.v))
                .map(|s| format!("{} @[{}]", crate::promql::ast::format_float_plain(s.v), s.t))
                .collect();
            if pts.is_empty() {
                continue;
            }
            out.push(format!(
                "{} =>\n{}",
                super::value::labels_string(l),
                pts.join("\n")
            ));
        }
        out.join("\n")
    }
}

impl Storage for MemStorage {
    type Series = MemSeries;

    fn into_labels(series: MemSeries) -> Labels {
        series.labels
    }

    fn select(&self, ms: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<MemSeries>, StorageError> {
        let name = ms
            .iter()
            .find(|m| m.name == crate::model::METRIC_NAME && m.op == crate::model::MatchOp::Equal);
        let pick = |(l, s): &(Labels, Vec<Sample>)| {
            if !crate::model::matcher::matches_all(ms, l) {
                return None;
            }
            let lo = s.partition_point(|x| x.t < mint);
            let hi = s.partition_point(|x| x.t <= maxt);
            (lo < hi).then(|| MemSeries {
                labels: l.clone(),
                samples: s[lo..hi].to_vec(),
            })
        };
        let mut out: Vec<MemSeries> = match name {
            Some(m) => self
                .by_name
                .get(&m.value)
                .map(|ids| ids.iter().filter_map(|&i| pick(&self.series[i])).collect())
                .unwrap_or_default(),
            None => self.series.iter().filter_map(pick).collect(),
        };
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn read(
        &self,
        series: &MemSeries,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
    ) -> Result<(), StorageError> {
        out.extend(series.samples.iter().filter(|x| x.t >= mint && x.t <= maxt));
        Ok(())
    }
}

/// Selections of at most this many series are read on the calling thread.
const SERIAL_BELOW: usize = 16;

/// Engine settings (Prometheus's defaults).
#[derive(Clone, Debug)]
pub struct Options {
    /// How far back an instant selector looks for a sample.
    pub lookback_ms: i64,
    /// The most samples a query may hold at once.
    pub max_samples: usize,
    /// The step of a subquery written without one (`[1h:]`).
    pub subquery_step_ms: i64,
    pub timeout: Option<std::time::Duration>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            lookback_ms: 5 * 60_000,
            max_samples: 50_000_000,
            subquery_step_ms: 60_000,
            timeout: Some(std::time::Duration::from_secs(120)),
        }
    }
}

/// Why evaluation failed.
#[derive(Clone, Debug)]
pub enum EvalError {
    TooManySamples,
    Timeout,
    /// Reading the data dir failed.
    Storage(std::sync::Arc<StorageError>),
    /// Any other runtime error, with Prometheus's text.
    Message(String),
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::TooManySamples => f.write_str(
                "query processing would load too many samples into memory in query execution",
            ),
            EvalError::Timeout => f.write_str("query timed out in expression evaluation"),
            EvalError::Storage(e) => write!(f, "expanding series: {e}"),
            EvalError::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EvalError {}

pub(crate) type EvalResult<T> = Result<T, EvalError>;

pub(crate) fn fail<T>(m: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Message(m.into()))
}

/// A query's time range: `start == end` and `step == 0` for an instant query.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Range {
    /// Prometheus's HTTP API refuses range queries of more than 11,000 steps; `query` and
    /// `serve` apply the same limit (the engine does not: test scripts may exceed it).
    pub fn check_resolution(&self) -> Result<(), EvalError> {
        if self.step > 0 && (self.end - self.start) / self.step > 11_000 {
            return Err(EvalError::Message(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
            ));
        }
        Ok(())
    }
}

/// Evaluates a parsed expression. `query` is its text (for annotation positions).
pub fn evaluate<S: Storage>(
    storage: &S,
    expr: &Expr,
    range: Range,
    opts: &Options,
) -> Result<(Value, Annotations), (EvalError, Annotations)> {
    let instant = range.step == 0 && range.start == range.end;
    if !instant && expr.value_type() != ValueType::Scalar && expr.value_type() != ValueType::Vector
    {
        return Err((
            EvalError::Message(format!(
                "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                expr.value_type().documented()
            )),
            Annotations::default(),
        ));
    }
    if !instant && range.step <= 0 {
        return Err((
            EvalError::Message(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ),
            Annotations::default(),
        ));
    }
    let mut ev = Evaluator {
        st: storage,
        start: range.start,
        end: range.end,
        interval: if instant { 1 } else { range.step },
        q_start: range.start,
        q_end: range.end,
        q_step: range.step,
        opts,
        samples: 0,
        annos: Annotations::default(),
        deadline: opts.timeout.map(|t| Instant::now() + t),
        ticks: 0,
    };
    match ev.eval(expr) {
        Ok(v) => {
            let out = ev.finish(v, expr, instant);
            match out {
                Ok(v) => Ok((v, ev.annos)),
                Err(e) => Err((e, ev.annos)),
            }
        }
        Err(e) => Err((e, ev.annos)),
    }
}

/// Where a range selector or subquery looks: offset, length and `@` time, and the time range
/// that covers its windows at every step (in milliseconds).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RangeWindow {
    pub offset: i64,
    pub range: i64,
    pub at: Option<i64>,
    pub mint: i64,
    pub maxt: i64,
}

/// When a query must give up (`--timeout`); checked by long loops every so often.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub fn check(self) -> EvalResult<()> {
        match self.0 {
            Some(d) if Instant::now() > d => Err(EvalError::Timeout),
            _ => Ok(()),
        }
    }
}

/// The sample limit and deadline, shared by the threads of a parallel step.
struct Limits {
    used: AtomicUsize,
    max: usize,
    deadline: Deadline,
}

impl Limits {
    /// Counts a result's points against the limit.
    fn admit(&self, out: Option<StepSeries>) -> EvalResult<Option<StepSeries>> {
        let n = out.as_ref().map_or(0, |s| s.pts.len());
        if self.used.fetch_add(n, Ordering::Relaxed) + n > self.max {
            return Err(EvalError::TooManySamples);
        }
        Ok(out)
    }
}

/// One series during evaluation: labels, whether the metric name is to be dropped at the
/// end, and its points (on step timestamps for instant vectors).
#[derive(Clone, Debug)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    pub drop: bool,
    pub pts: Vec<Point>,
}

/// A node's value over all steps.
#[derive(Clone, Debug)]
pub(crate) enum StepValue {
    Scalar(Vec<f64>),
    Vector(Vec<StepSeries>),
    Matrix(Vec<StepSeries>),
    Str(String),
}

impl StepValue {
    fn points(&self) -> usize {
        match self {
            StepValue::Scalar(v) => v.len(),
            StepValue::Vector(s) | StepValue::Matrix(s) => s.iter().map(|s| s.pts.len()).sum(),
            StepValue::Str(_) => 0,
        }
    }

    pub fn vector(self) -> Vec<StepSeries> {
        match self {
            StepValue::Vector(v) | StepValue::Matrix(v) => v,
            _ => Vec::new(),
        }
    }

    pub fn scalar(self) -> Vec<f64> {
        match self {
            StepValue::Scalar(v) => v,
            _ => Vec::new(),
        }
    }
}

pub(crate) struct Evaluator<'a, S: Storage> {
    st: &'a S,
    pub start: i64,
    pub end: i64,
    pub interval: i64,
    pub q_start: i64,
    pub q_end: i64,
    pub q_step: i64,
    pub opts: &'a Options,
    samples: usize,
    pub annos: Annotations,
    deadline: Option<Instant>,
    ticks: u32,
}

/// Collects per-step outputs into series keyed by labels, refusing two values for one
/// labelset at one step.
pub(crate) struct VectorBuilder {
    pub series: Vec<StepSeries>,
    index: HashMap<Labels, usize>,
}

impl VectorBuilder {
    pub fn new() -> VectorBuilder {
        VectorBuilder {
            series: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The output series for a labelset (created on first use).
    pub fn slot(&mut self, labels: &Labels, drop: bool) -> usize {
        if let Some(&i) = self.index.get(labels) {
            return i;
        }
        let i = self.series.len();
        self.series.push(StepSeries {
            labels: labels.clone(),
            drop,
            pts: Vec::new(),
        });
        self.index.insert(labels.clone(), i);
        i
    }

    pub fn push(&mut self, slot: usize, t: i64, v: f64) -> EvalResult<()> {
        let s = &mut self.series[slot];
        if s.pts.last().is_some_and(|p| p.t == t) {
            return fail("vector cannot contain metrics with the same labelset");
        }
        s.pts.push(Point { t, v });
        Ok(())
    }

    pub fn finish(self) -> Vec<StepSeries> {
        self.series
            .into_iter()
            .filter(|s| !s.pts.is_empty())
            .collect()
    }
}

/// Per-series cursors for walking instant vectors step by step.
pub(crate) struct Cursors(Vec<usize>);

impl Cursors {
    pub fn new(n: usize) -> Cursors {
        Cursors(vec![0; n])
    }

    /// The value of series `i` at `t`, if it has one (steps must be visited in order).
    #[inline]
    pub fn at(&mut self, i: usize, s: &StepSeries, t: i64) -> Option<f64> {
        let c = &mut self.0[i];
        while *c < s.pts.len() && s.pts[*c].t < t {
            *c += 1;
        }
        match s.pts.get(*c) {
            Some(p) if p.t == t => Some(p.v),
            _ => None,
        }
    }
}

impl<'a, S: Storage> Evaluator<'a, S> {
    pub fn steps(&self) -> usize {
        if self.end < self.start {
            return 0;
        }
        ((self.end - self.start) / self.interval) as usize + 1
    }

    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    pub fn warn(&mut self, msg: String, span: Span) {
        self.annos.add(Annotation::warning(msg, span));
    }

    pub fn info(&mut self, msg: String, span: Span) {
        self.annos.add(Annotation::info(msg, span));
    }

    /// Checks the deadline every so often.
    pub fn tick(&mut self) -> EvalResult<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(1024) {
            if let Some(d) = self.deadline {
                if Instant::now() > d {
                    return Err(EvalError::Timeout);
                }
            }
        }
        Ok(())
    }

    pub fn charge(&mut self, n: usize) -> EvalResult<()> {
        self.samples += n;
        if self.samples > self.opts.max_samples {
            return Err(EvalError::TooManySamples);
        }
        Ok(())
    }

    pub fn eval(&mut self, e: &Expr) -> EvalResult<StepValue> {
        self.tick()?;
        let before = self.samples;
        let v = super::deep(|| self.eval_node(e))?;
        self.samples = before;
        self.charge(v.points())?;
        Ok(v)
    }

    fn eval_node(&mut self, e: &Expr) -> EvalResult<StepValue> {
        if self.end < self.start {
            return Ok(StepValue::Vector(Vec::new()));
        }
        match e {
            Expr::Number { val, .. } => {
                self.charge(self.steps())?;
                Ok(StepValue::Scalar(vec![*val; self.steps()]))
            }
            Expr::String { val, .. } => Ok(StepValue::Str(val.clone())),
            Expr::Paren(inner, _) => self.eval(inner),
            Expr::Unary { neg, expr, .. } => {
                let v = self.eval(expr)?;
                if !neg {
                    return Ok(v);
                }
                Ok(match v {
                    StepValue::Scalar(mut s) => {
                        s.iter_mut().for_each(|x| *x = -*x);
                        StepValue::Scalar(s)
                    }
                    StepValue::Vector(mut ss) => {
                        for s in &mut ss {
                            s.drop = true;
                            s.pts.iter_mut().for_each(|p| p.v = -p.v);
                        }
                        StepValue::Vector(ss)
                    }
                    other => other,
                })
            }
            Expr::Binary(b) => super::binop::eval_binary(self, b),
            Expr::Aggregate(a) => super::aggregate::eval_aggregate(self, a),
            Expr::Call(c) => super::call::eval_call(self, c),
            Expr::Selector(s) => Ok(StepValue::Vector(self.eval_selector(s)?)),
            Expr::Matrix(m) => {
                let ser = self.eval_matrix(m)?;
                Ok(StepValue::Matrix(ser))
            }
            Expr::Subquery(s) => {
                let (ser, _) = self.eval_subquery(s)?;
                Ok(StepValue::Matrix(ser))
            }
        }
    }

    /// Resolves a duration expression to milliseconds.
    pub fn dur_ms(&self, d: &DurExpr, allow_negative: bool) -> EvalResult<i64> {
        if let Some(ms) = d.literal_ms() {
            return Ok(ms);
        }
        let secs = self.dur_secs(d)?;
        let span = d.span();
        if !secs.is_finite() {
            return fail(format!(
                "{}:{}: duration is NaN or infinite",
                span.start, span.end
            ));
        }
        if secs <= 0.0 && !allow_negative {
            return fail(format!(
                "{}:{}: duration must be greater than 0",
                span.start, span.end
            ));
        }
        if secs.abs() > i64::MAX as f64 / 1e9 {
            return fail(format!(
                "{}:{}: duration is out of range",
                span.start, span.end
            ));
        }
        Ok((secs * 1000.0) as i64)
    }

    fn dur_secs(&self, d: &DurExpr) -> EvalResult<f64> {
        super::deep(|| self.dur_secs_node(d))
    }

    fn dur_secs_node(&self, d: &DurExpr) -> EvalResult<f64> {
        Ok(match d {
            DurExpr::Num { secs, .. } => *secs,
            DurExpr::Step(_) => self.q_step as f64 / 1000.0,
            DurExpr::Range(_) => (self.q_end - self.q_start) as f64 / 1000.0,
            DurExpr::MinOf(a, b, _) | DurExpr::MaxOf(a, b, _) => {
                let (x, y) = (self.dur_secs(a)?, self.dur_secs(b)?);
                if x.is_nan() || y.is_nan() {
                    f64::NAN
                } else if matches!(d, DurExpr::MinOf(..)) {
                    x.min(y)
                } else {
                    x.max(y)
                }
            }
            DurExpr::Neg(a, _) => -self.dur_secs(a)?,
            DurExpr::Paren(a, _) => self.dur_secs(a)?,
            DurExpr::Binary(op, a, b) => {
                let (x, y) = (self.dur_secs(a)?, self.dur_secs(b)?);
                let span = d.span();
                match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => {
                        if y == 0.0 {
                            return fail(format!("{}:{}: division by zero", span.start, span.end));
                        }
                        x / y
                    }
                    BinOp::Mod => {
                        if y == 0.0 {
                            return fail(format!("{}:{}: modulo by zero", span.start, span.end));
                        }
                        x % y
                    }
                    BinOp::Pow => x.powf(y),
                    _ => return fail("unexpected duration expression operator"),
                }
            }
        })
    }

    pub fn at_ms(&self, at: &Option<At>) -> Option<i64> {
        match at {
            Some(At::Time(t)) => Some(*t),
            Some(At::Start) => Some(self.q_start),
            Some(At::End) => Some(self.q_end),
            None => None,
        }
    }

    fn select(&mut self, ms: &[Matcher], mint: i64, maxt: i64) -> EvalResult<Vec<S::Series>> {
        let s = self
            .st
            .select(ms, mint, maxt)
            .map_err(|e| EvalError::Storage(e.into()))?;
        self.tick()?;
        Ok(s)
    }

    /// Reads every series of `refs` in `[mint, maxt]` and maps it through `f` (labels, the
    /// samples, a scratch buffer), in parallel, keeping series order. Each result's points
    /// count against the sample limit as it is made, and the deadline is checked per series,
    /// so neither limit waits for the whole selection.
    pub(crate) fn map_stored<F>(
        &mut self,
        refs: Vec<S::Series>,
        mint: i64,
        maxt: i64,
        f: F,
    ) -> EvalResult<Vec<StepSeries>>
    where
        F: Fn(Labels, &[Sample], &mut Vec<Point>) -> EvalResult<Option<StepSeries>> + Sync + Send,
    {
        let limits = self.limits();
        let st = self.st;
        let one = |(raw, scratch): &mut (Vec<Sample>, Vec<Point>), r: S::Series| {
            limits.deadline.check()?;
            raw.clear();
            st.read(&r, mint, maxt, raw)
                .map_err(|e| EvalError::Storage(e.into()))?;
            limits.admit(f(S::into_labels(r), raw, scratch)?)
        };
        // A few series are read here: handing them to the thread pool costs more than
        // reading them (rule evaluation runs thousands of such queries).
        let res: EvalResult<Vec<Option<StepSeries>>> = if refs.len() <= SERIAL_BELOW {
            let mut bufs = (Vec::new(), Vec::new());
            refs.into_iter().map(|r| one(&mut bufs, r)).collect()
        } else {
            refs.into_par_iter()
                .map_init(|| (Vec::new(), Vec::new()), one)
                .collect()
        };
        self.settle(limits, res)
    }

    /// [`Evaluator::map_stored`] over series evaluated already (a subquery's).
    pub(crate) fn map_loaded<F>(
        &mut self,
        series: &[StepSeries],
        f: F,
    ) -> EvalResult<Vec<StepSeries>>
    where
        F: Fn(&StepSeries) -> EvalResult<Option<StepSeries>> + Sync + Send,
    {
        let limits = self.limits();
        let one = |s: &StepSeries| {
            limits.deadline.check()?;
            limits.admit(f(s)?)
        };
        let res: EvalResult<Vec<Option<StepSeries>>> = if series.len() <= SERIAL_BELOW {
            series.iter().map(one).collect()
        } else {
            series.par_iter().map(one).collect()
        };
        self.settle(limits, res)
    }

    /// Takes over the samples a parallel step counted, and drops the series it left out.
    fn settle(
        &mut self,
        limits: Limits,
        res: EvalResult<Vec<Option<StepSeries>>>,
    ) -> EvalResult<Vec<StepSeries>> {
        self.samples = limits.used.into_inner();
        Ok(res?.into_iter().flatten().collect())
    }

    fn limits(&self) -> Limits {
        Limits {
            used: AtomicUsize::new(self.samples),
            max: self.opts.max_samples,
            deadline: self.deadline(),
        }
    }

    pub fn deadline(&self) -> Deadline {
        Deadline(self.deadline)
    }

    /// An instant vector selector over all steps.
    pub fn eval_selector(&mut self, s: &Selector) -> EvalResult<Vec<StepSeries>> {
        self.instant_points(s, false, |x| x.v)
    }

    /// The timestamps of the samples an instant selector picks at each step (for
    /// `timestamp(selector)`); the name is dropped.
    pub fn eval_selector_timestamps(&mut self, s: &Selector) -> EvalResult<Vec<StepSeries>> {
        self.instant_points(s, true, |x| x.t as f64 / 1000.0)
    }

    /// For each step, the latest sample in `(t - offset - lookback, t - offset]` (or at the
    /// `@` time), unless it is a staleness marker; `value` picks what the point holds.
    fn instant_points(
        &mut self,
        s: &Selector,
        drop: bool,
        value: impl Fn(Sample) -> f64 + Sync + Send,
    ) -> EvalResult<Vec<StepSeries>> {
        let off = match &s.offset {
            Some(d) => self.dur_ms(d, true)?,
            None => 0,
        };
        let at = self.at_ms(&s.at);
        let lb = self.opts.lookback_ms;
        let (lo, hi) = match at {
            Some(a) => (a - off, a - off),
            None => (self.start - off, self.end - off),
        };
        let series = self.select(&s.matchers, lo - lb + 1, hi)?;
        let (n, start, interval) = (self.steps(), self.start, self.interval);
        self.map_stored(series, lo - lb + 1, hi, |labels, smp, _| {
            // Samples are sorted and reference times only grow, so one cursor suffices.
            let lookup = |j: &mut usize, r: i64| -> Option<Sample> {
                while *j < smp.len() && smp[*j].t <= r {
                    *j += 1;
                }
                let p = *smp.get(j.checked_sub(1)?)?;
                (p.t > r - lb && !is_stale_nan(p.v)).then_some(p)
            };
            let mut j = 0;
            let ts = |i: usize| start + i as i64 * interval;
            let pts: Vec<Point> = match at {
                Some(a) => match lookup(&mut j, a - off) {
                    Some(x) => (0..n)
                        .map(|i| Point {
                            t: ts(i),
                            v: value(x),
                        })
                        .collect(),
                    None => Vec::new(),
                },
                None => (0..n)
                    .filter_map(|i| {
                        let t = ts(i);
                        lookup(&mut j, t - off).map(|x| Point { t, v: value(x) })
                    })
                    .collect(),
            };
            Ok((!pts.is_empty()).then_some(StepSeries { labels, drop, pts }))
        })
    }

    /// A range selector at the top level of an instant query: the raw samples.
    fn eval_matrix(&mut self, m: &MatrixSelector) -> EvalResult<Vec<StepSeries>> {
        let (series, w) = self.select_range(m)?;
        let t = w.at.unwrap_or(self.start) - w.offset;
        self.map_stored(series, t - w.range + 1, t, |labels, smp, _| {
            let pts: Vec<Point> = smp
                .iter()
                .filter(|x| !is_stale_nan(x.v))
                .map(|x| Point { t: x.t, v: x.v })
                .collect();
            Ok((!pts.is_empty()).then_some(StepSeries {
                labels,
                drop: false,
                pts,
            }))
        })
    }

    /// Selects the series a range selector can see at any step. Returns them with the
    /// window and the time range to read them in.
    pub fn select_range(
        &mut self,
        m: &MatrixSelector,
    ) -> EvalResult<(Vec<S::Series>, RangeWindow)> {
        let sel = &m.selector;
        let offset = match &sel.offset {
            Some(d) => self.dur_ms(d, true)?,
            None => 0,
        };
        let range = self.dur_ms(&m.range, false)?;
        let at = self.at_ms(&sel.at);
        let (lo, hi) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.start - offset, self.end - offset),
        };
        let w = RangeWindow {
            offset,
            range,
            at,
            mint: lo - range + 1,
            maxt: hi,
        };
        let series = self.select(&sel.matchers, w.mint, w.maxt)?;
        Ok((series, w))
    }

    /// Evaluates a subquery's inner expression on its own step grid. Returns the series
    /// (points at inner step times) and its window (`mint..maxt`: the inner steps).
    pub fn eval_subquery(&mut self, sq: &Subquery) -> EvalResult<(Vec<StepSeries>, RangeWindow)> {
        let off = match &sq.offset {
            Some(d) => self.dur_ms(d, true)?,
            None => 0,
        };
        let range = self.dur_ms(&sq.range, false)?;
        let step = match &sq.step {
            Some(d) => self.dur_ms(d, false)?,
            None => self.opts.subquery_step_ms,
        };
        let at = self.at_ms(&sq.at);
        let (pstart, pend) = match at {
            Some(a) => (a, a),
            None => {
                let aligned_end =
                    self.start + ((self.end - self.start) / self.interval) * self.interval;
                (self.start, aligned_end)
            }
        };
        let end = pend - off;
        let x = pstart - off - range;
        let mut start = step * (x / step);
        if start <= x {
            start += step;
        }
        let saved = (self.start, self.end, self.interval);
        self.start = start;
        self.end = end;
        self.interval = step;
        let v = self.eval(&sq.expr);
        (self.start, self.end, self.interval) = saved;
        let series = v?.vector();
        let window = RangeWindow {
            offset: off,
            range,
            at,
            mint: start,
            maxt: end,
        };
        Ok((series, window))
    }

    /// Final shaping: names dropped where flagged, same-labelset series merged, the value
    /// converted to the API shape.
    fn finish(&mut self, v: StepValue, expr: &Expr, instant: bool) -> EvalResult<Value> {
        let t = self.start;
        match v {
            StepValue::Str(s) => Ok(Value::String { t, v: s }),
            StepValue::Scalar(s) => {
                if instant {
                    Ok(Value::Scalar {
                        t,
                        v: s.first().copied().unwrap_or(f64::NAN),
                    })
                } else {
                    let points = s
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| Point { t: self.ts(i), v })
                        .collect();
                    Ok(Value::Matrix(vec![Series {
                        labels: Labels::new(),
                        points,
                    }]))
                }
            }
            StepValue::Vector(ss) | StepValue::Matrix(ss) => {
                let ss = drop_names_and_merge(ss)?;
                if instant && expr.value_type() == ValueType::Vector {
                    Ok(Value::Vector(
                        ss.into_iter()
                            .filter_map(|s| {
                                s.pts.first().map(|p| InstantSample {
                                    labels: s.labels,
                                    t: p.t,
                                    v: p.v,
                                })
                            })
                            .collect(),
                    ))
                } else {
                    let mut m: Vec<Series> = ss
                        .into_iter()
                        .map(|s| Series {
                            labels: s.labels,
                            points: s.pts,
                        })
                        .collect();
                    m.sort_by(|a, b| a.labels.cmp(&b.labels));
                    Ok(Value::Matrix(m))
                }
            }
        }
    }
}

/// Drops `__name__` from flagged series and merges series that end up with one labelset;
/// two points at one timestamp are an error (Prometheus's `cleanupMetricLabels`).
pub(crate) fn drop_names_and_merge(mut ss: Vec<StepSeries>) -> EvalResult<Vec<StepSeries>> {
    for s in &mut ss {
        if s.drop {
            s.labels = s.labels.without(&[crate::model::METRIC_NAME]);
            s.drop = false;
        }
    }
    merge_same_labels(ss)
}

/// Merges series with equal labels, keeping first-seen order.
pub(crate) fn merge_same_labels(ss: Vec<StepSeries>) -> EvalResult<Vec<StepSeries>> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(ss.len());
    let mut out: Vec<StepSeries> = Vec::with_capacity(ss.len());
    for s in ss {
        match index.get(&s.labels) {
            Some(&i) => {
                out[i].pts.extend(s.pts);
                let o = &mut out[i];
                o.pts.sort_by_key(|p| p.t);
                if o.pts.windows(2).any(|w| w[0].t == w[1].t) {
                    return fail("vector cannot contain metrics with the same labelset");
                }
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}
