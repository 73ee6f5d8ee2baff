//! PromQL test scripts in Prometheus's `load` / `eval` format (`promql/promqltest`), run
//! against this engine: the conformance runner, and `prombox test` for users' own queries.
//!
//! Every directive upstream checks is checked here the same way: expected series and
//! values (relative tolerance 1e-6, NaN equal to NaN), `expect fail` (with `msg:` or
//! `regex:`), `expect warn|no_warn|info|no_info`, `expect ordered`, `expect string`,
//! `expect range vector`, and the legacy `eval_fail|eval_warn|eval_info|eval_ordered`
//! forms. As upstream, each instant `eval` is also run with `@` added to every selector at
//! several evaluation times, and as a range query around its time whose middle step must
//! agree. Cases that need native histograms (`{{...}}` samples, `load_with_nhcb` series)
//! are reported as skipped with the reason, not failed.

use regex::Regex;

use super::ast::{At, Expr};
use super::eval::{evaluate, MemStorage, Options, Range};
use super::lex::{lex, T};
use super::parse::parse;
use super::value::{almost_equal, labels_string, Annotations, Value};
pub use crate::model::notation::MAX_VALUES;
use crate::model::notation::{parse_number, parse_values, SeqValue, ValuesError};

/// The relative tolerance of expected values (upstream's `defaultEpsilon`).
const EPSILON: f64 = 1e-6;
use crate::model::labels::Label;
use crate::model::{Labels, Sample, METRIC_NAME};

/// The outcome of one `eval`.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// One `eval` command and how it went.
#[derive(Clone, Debug)]
pub struct Case {
    /// 1-based line of the `eval`.
    pub line: usize,
    pub expr: String,
    pub outcome: Outcome,
}

/// The results of one script.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub cases: Vec<Case>,
}

impl Report {
    pub fn count(&self, f: fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }

    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }
}

/// A script that cannot be read (bad command, bad series line, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ScriptError {}

/// Why a series line (`metric{a="b"} 1 2+3x4 _ stale`) does not parse: its labels or its
/// values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotationError {
    UnterminatedLabels,
    /// The label part does not start with a name or `{`; what it starts with.
    ExpectedName(String),
    /// A token out of place inside the braces.
    InLabels(String),
    /// A token after the closing brace and before the values.
    AfterLabels(String),
    Labels(crate::model::LabelsError),
    /// The lexer's own message (an unterminated string, a bad character).
    Lex(String),
    Values(ValuesError),
}

impl From<ValuesError> for NotationError {
    fn from(e: ValuesError) -> NotationError {
        NotationError::Values(e)
    }
}

impl std::fmt::Display for NotationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotationError::UnterminatedLabels => f.write_str("unterminated label set"),
            NotationError::ExpectedName(t) => write!(f, "expected a metric name, found {t}"),
            NotationError::InLabels(t) => write!(f, "unexpected {t} in label set"),
            NotationError::AfterLabels(t) => write!(f, "unexpected {t} after the label set"),
            NotationError::Labels(e) => e.fmt(f),
            NotationError::Lex(m) => f.write_str(m),
            NotationError::Values(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for NotationError {}

/// Parses a series description: `metric{a="b"} 1 2+3x4 _ stale`.
pub fn parse_series(line: &str) -> Result<(Labels, Vec<SeqValue>), NotationError> {
    let mut budget = MAX_VALUES;
    parse_series_within(line, &mut budget)
}

/// [`parse_series`], taking the values from `budget` (what is left of [`MAX_VALUES`]).
fn parse_series_within(
    line: &str,
    budget: &mut usize,
) -> Result<(Labels, Vec<SeqValue>), NotationError> {
    let line = line.trim();
    let split = labels_end(line).ok_or(NotationError::UnterminatedLabels)?;
    let (lpart, vpart) = line.split_at(split);
    let labels = parse_labels(lpart.trim())?;
    let values = parse_values(vpart, budget)?;
    Ok((labels, values))
}

/// Where the label part of a series line ends.
fn labels_end(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut depth = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else {
            match c {
                b'"' | b'\'' | b'`' => quote = Some(c),
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b' ' | b'\t' if depth == 0 => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    if depth == 0 && quote.is_none() {
        Some(b.len())
    } else {
        None
    }
}

/// Parses `name`, `name{a="b"}`, `{__name__="x", a="b"}` or `{}` into labels.
pub fn parse_labels(s: &str) -> Result<Labels, NotationError> {
    if s.is_empty() {
        return Ok(Labels::new());
    }
    let toks = lex(s);
    let mut pairs: Vec<Label> = Vec::new();
    let mut i = 0;
    let text = |t: &super::lex::Token| t.text(s).to_string();
    if toks[i].kind != T::LBrace {
        if !toks[i].kind.is_metric_identifier() {
            return Err(NotationError::ExpectedName(toks[i].describe(s)));
        }
        pairs.push(Label {
            name: METRIC_NAME.into(),
            value: text(&toks[i]),
        });
        i += 1;
    }
    if toks[i].kind == T::LBrace {
        i += 1;
        loop {
            let t = &toks[i];
            match t.kind {
                T::RBrace => {
                    i += 1;
                    break;
                }
                T::Identifier | T::String => {
                    let name = if t.kind == T::String {
                        t.value.clone()
                    } else {
                        text(t)
                    };
                    if toks[i + 1].kind == T::Eql && toks[i + 2].kind == T::String {
                        pairs.push(Label {
                            name,
                            value: toks[i + 2].value.clone(),
                        });
                        i += 3;
                    } else if t.kind == T::String {
                        pairs.push(Label {
                            name: METRIC_NAME.into(),
                            value: name,
                        });
                        i += 1;
                    } else {
                        return Err(NotationError::InLabels(toks[i + 1].describe(s)));
                    }
                    if toks[i].kind == T::Comma {
                        i += 1;
                    }
                }
                T::Error => return Err(NotationError::Lex(t.value.clone())),
                _ => return Err(NotationError::InLabels(t.describe(s))),
            }
        }
    }
    if toks[i].kind != T::Eof {
        return Err(NotationError::AfterLabels(toks[i].describe(s)));
    }
    pairs.retain(|l| !l.value.is_empty());
    Labels::from_pairs(pairs.into_iter().map(|l| (l.name, l.value))).map_err(NotationError::Labels)
}

#[derive(Clone, Debug, Default)]
struct Expect {
    message: Option<String>,
    regex: Option<Regex>,
}

impl Expect {
    fn matches(&self, s: &str) -> bool {
        match (&self.regex, &self.message) {
            (Some(r), _) => r.is_match(s),
            (None, Some(m)) => m == s,
            (None, None) => true,
        }
    }

    fn describe(&self) -> String {
        match (&self.regex, &self.message) {
            (Some(r), _) => format!("pattern {:?}", r.as_str()),
            (None, Some(m)) => format!("message {m:?}"),
            (None, None) => "anything".into(),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct EvalCmd {
    line: usize,
    expr: String,
    instant: bool,
    start: i64,
    end: i64,
    step: i64,
    fail: bool,
    warn: bool,
    info: bool,
    ordered: bool,
    expect_fail: Option<Expect>,
    expect_warn: Vec<Expect>,
    expect_info: Vec<Expect>,
    no_warn: bool,
    no_info: bool,
    expect_string: Option<String>,
    exclude_from_range: bool,
    expect_scalar: Option<f64>,
    /// Expected series: labels, 1-based position, values.
    expected: Vec<(Labels, usize, Vec<SeqValue>)>,
    has_histogram: bool,
}

enum Cmd {
    Clear,
    Load {
        interval: i64,
        series: Vec<(Labels, Vec<SeqValue>)>,
        nhcb: bool,
    },
    Eval(Box<EvalCmd>),
}

fn parse_script(text: &str) -> Result<Vec<Cmd>, ScriptError> {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect();
    let err = |i: usize, m: String| ScriptError {
        line: i + 1,
        message: m,
    };
    let mut budget = MAX_VALUES;
    let pat_load = Regex::new(r"^load(?:_(with_nhcb))?\s+(.+?)$").expect("regex");
    let pat_instant =
        Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
            .expect("regex");
    let pat_range = Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
    )
    .expect("regex");
    let pat_expect =
        Regex::new(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
            .expect("regex");
    let pat_range_vec =
        Regex::new(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")
            .expect("regex");
    let dur = |i: usize, s: &str| -> Result<i64, ScriptError> {
        crate::model::time::parse_duration(s.trim())
            .map_err(|e| err(i, format!("invalid duration {s:?}: {e}")))
    };
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l
            .split([' ', '\t'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if word == "clear" {
            cmds.push(Cmd::Clear);
            i += 1;
        } else if word.starts_with("load") {
            let caps = pat_load.captures(l).ok_or_else(|| {
                err(
                    i,
                    "invalid load command. (load[_with_nhcb] <step:duration>)".into(),
                )
            })?;
            let nhcb = caps.get(1).is_some();
            let interval = dur(i, &caps[2])?;
            let mut series = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].is_empty() {
                let line = &lines[i];
                let first = line.split([' ', '\t']).next().unwrap_or("");
                if first.ends_with("@st") {
                    i += 1;
                    continue;
                }
                series.push(
                    parse_series_within(line, &mut budget).map_err(|m| err(i, m.to_string()))?,
                );
                i += 1;
            }
            cmds.push(Cmd::Load {
                interval,
                series,
                nhcb,
            });
        } else if word.starts_with("eval") {
            let mut c = EvalCmd {
                line: i + 1,
                ..Default::default()
            };
            let modifier;
            if let Some(caps) = pat_instant.captures(l) {
                modifier = caps.get(1).map(|m| m.as_str().to_string());
                c.instant = true;
                c.start = match caps.get(2) {
                    Some(at) => dur(i, at.as_str())?,
                    None => 0,
                };
                c.end = c.start;
                c.expr = caps[3].to_string();
            } else if let Some(caps) = pat_range.captures(l) {
                modifier = caps.get(1).map(|m| m.as_str().to_string());
                c.start = dur(i, &caps[2])?;
                c.end = dur(i, &caps[3])?;
                c.step = dur(i, &caps[4])?;
                c.expr = caps[5].to_string();
                if c.end < c.start {
                    return Err(err(
                        i,
                        "invalid test definition, end timestamp is before start timestamp".into(),
                    ));
                }
            } else {
                return Err(err(i, "invalid evaluation command".into()));
            }
            match modifier.as_deref() {
                Some("fail") => c.fail = true,
                Some("warn") => c.warn = true,
                Some("info") => c.info = true,
                Some("ordered") => c.ordered = true,
                _ => {}
            }
            let mut j = 1;
            i += 1;
            while i < lines.len() && !lines[i].is_empty() {
                let def = &lines[i];
                if c.fail && def.starts_with("expected_fail_message") {
                    c.expect_fail = Some(Expect {
                        message: Some(def["expected_fail_message".len()..].trim().to_string()),
                        regex: None,
                    });
                    i += 1;
                    break;
                }
                if c.fail && def.starts_with("expected_fail_regexp") {
                    let pat = def["expected_fail_regexp".len()..].trim();
                    c.expect_fail = Some(Expect {
                        message: None,
                        regex: Some(Regex::new(pat).map_err(|e| err(i, e.to_string()))?),
                    });
                    i += 1;
                    break;
                }
                if def.starts_with("expect range vector") {
                    let caps = pat_range_vec.captures(def).ok_or_else(|| {
                        err(i, format!("invalid range vector definition {def:?}"))
                    })?;
                    c.start = dur(i, &caps[1])?;
                    c.end = dur(i, &caps[2])?;
                    c.step = dur(i, &caps[3])?;
                    c.exclude_from_range = true;
                    i += 1;
                    continue;
                }
                if let Some(s) = def.strip_prefix("expect string") {
                    let s = s.trim();
                    c.expect_string = Some(unquote(s).ok_or_else(|| {
                        err(i, "expected string literal not valid - check that the string is correctly quoted".into())
                    })?);
                    c.exclude_from_range = true;
                    i += 1;
                    continue;
                }
                if def.split(' ').next() == Some("expect") {
                    let caps = pat_expect.captures(def.trim()).ok_or_else(|| {
                        err(i, "invalid expect statement, must match `expect <type> <match_type>: <string>` format".into())
                    })?;
                    let mut e = Expect::default();
                    if let Some(kind) = caps.get(2) {
                        let body = caps[3].trim().to_string();
                        if kind.as_str() == "msg" {
                            e.message = Some(body);
                        } else {
                            e.regex = Some(Regex::new(&body).map_err(|x| err(i, x.to_string()))?);
                        }
                    }
                    match &caps[1] {
                        "ordered" => c.ordered = true,
                        "fail" => {
                            if c.expect_fail.is_some() && c.fail {
                                return Err(err(i, "invalid expect lines, multiple expect fail lines are not allowed".into()));
                            }
                            c.fail = true;
                            c.expect_fail = Some(e);
                        }
                        "warn" => c.expect_warn.push(e),
                        "no_warn" => c.no_warn = true,
                        "info" => c.expect_info.push(e),
                        _ => c.no_info = true,
                    }
                    i += 1;
                    continue;
                }
                if let Some(v) = parse_number(def) {
                    c.expect_scalar = Some(v);
                    i += 1;
                    break;
                }
                let (labels, vals) =
                    parse_series_within(def, &mut budget).map_err(|m| err(i, m.to_string()))?;
                if vals.contains(&SeqValue::Histogram) {
                    c.has_histogram = true;
                }
                if vals.len() > 1 && c.instant && !c.exclude_from_range {
                    return Err(err(i, "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query".into()));
                }
                c.expected.retain(|(l, _, _)| *l != labels);
                c.expected.push((labels, j, vals));
                j += 1;
                i += 1;
            }
            if c.exclude_from_range && c.step > 0 && c.instant {
                // `expect range vector`: an instant query whose result is a range vector.
                c.instant = true;
            }
            cmds.push(Cmd::Eval(Box::new(c)));
        } else {
            return Err(err(i, format!("invalid command {l:?}")));
        }
    }
    Ok(cmds)
}

/// Go's `strconv.Unquote` for the quote kinds a script uses.
fn unquote(s: &str) -> Option<String> {
    if s.len() >= 2 && s.starts_with('`') && s.ends_with('`') {
        return Some(s[1..s.len() - 1].to_string());
    }
    if s.len() >= 2 && (s.starts_with('"') && s.ends_with('"')) {
        let toks = lex(s);
        if toks.len() == 2 && toks[0].kind == T::String {
            return Some(toks[0].value.clone());
        }
    }
    None
}

/// Runs a script. `Err` only when the script itself cannot be read.
pub fn run(text: &str, opts: &Options) -> Result<Report, ScriptError> {
    let cmds = parse_script(text)?;
    let mut storage = MemStorage::new();
    // Series with native histogram samples (explicit, or converted by load_with_nhcb).
    let mut native: Vec<Labels> = Vec::new();
    let mut report = Report::default();
    for cmd in cmds {
        match cmd {
            Cmd::Clear => {
                storage.clear();
                native.clear();
            }
            Cmd::Load {
                interval,
                series,
                nhcb,
            } => {
                for (labels, vals) in series {
                    let name = labels.metric_name().unwrap_or("").to_string();
                    if vals.contains(&SeqValue::Histogram) {
                        native.push(labels.clone());
                    }
                    if nhcb {
                        if let Some(base) = name.strip_suffix("_bucket") {
                            native.push(labels.without(&["le"]).with(METRIC_NAME, base));
                        }
                    }
                    let samples: Vec<Sample> = vals
                        .iter()
                        .enumerate()
                        .filter_map(|(k, v)| match v {
                            SeqValue::Float(f) => Some(Sample {
                                t: k as i64 * interval,
                                v: *f,
                            }),
                            _ => None,
                        })
                        .collect();
                    storage.add(labels, samples);
                }
            }
            Cmd::Eval(c) => {
                let outcome = match skip_reason(&c, &native) {
                    Some(r) => Outcome::Skipped(r),
                    None => match exec_eval(&storage, &c, opts) {
                        Ok(()) => Outcome::Passed,
                        Err(e) => Outcome::Failed(e),
                    },
                };
                report.cases.push(Case {
                    line: c.line,
                    expr: c.expr.clone(),
                    outcome,
                });
            }
        }
    }
    Ok(report)
}

fn skip_reason(c: &EvalCmd, native: &[Labels]) -> Option<String> {
    if c.has_histogram {
        return Some("expects native histogram results".into());
    }
    let expr = parse(&c.expr).ok()?;
    let mut hit = None;
    selects_native(&expr, native, &mut hit);
    hit.map(|l| format!("selects native histogram series {}", labels_string(&l)))
}

/// Finds a native-histogram series that one of the expression's selectors matches.
fn selects_native(e: &Expr, native: &[Labels], hit: &mut Option<Labels>) {
    e.walk(&mut |node| {
        let ms = match node {
            Expr::Selector(s) => &s.matchers,
            Expr::Matrix(m) => &m.selector.matchers,
            _ => return,
        };
        if hit.is_none() {
            *hit = native
                .iter()
                .find(|l| crate::model::matcher::matches_all(ms, l))
                .cloned();
        }
    });
}

fn run_query(
    storage: &MemStorage,
    expr: &Expr,
    range: Range,
    opts: &Options,
) -> Result<(Value, Annotations), (String, Annotations)> {
    evaluate(storage, expr, range, opts).map_err(|(e, a)| (e.to_string(), a))
}

fn exec_eval(storage: &MemStorage, c: &EvalCmd, opts: &Options) -> Result<(), String> {
    let opts = Options {
        max_samples: 10_000,
        ..opts.clone()
    };
    let expr = match parse(&c.expr) {
        Ok(e) => e,
        Err(e) => {
            if c.fail {
                return check_failure(c, &e.to_string());
            }
            return Err(format!("parse error: {e}"));
        }
    };
    if !c.instant || (c.exclude_from_range && c.step > 0 && c.start != c.end) {
        if c.instant {
            // `expect range vector`: an instant query at the end time, a matrix result.
            let r = Range {
                start: c.end,
                end: c.end,
                step: 0,
            };
            return check_run(c, &c.expr, run_query(storage, &expr, r, &opts));
        }
        let r = Range {
            start: c.start,
            end: c.end,
            step: c.step,
        };
        return check_run(c, &c.expr, run_query(storage, &expr, r, &opts));
    }
    let mut queries = vec![(c.expr.clone(), c.start)];
    queries.extend(at_modifier_cases(&expr, c.start));
    let context_fns = Regex::new(r"(start|end|range|step)\(\)").expect("regex");
    for (q, t) in queries {
        let e = parse(&q).map_err(|e| format!("re-parsing {q:?}: {e}"))?;
        let r = Range {
            start: t,
            end: t,
            step: 0,
        };
        let res = run_query(storage, &e, r, &opts);
        let ok = res.is_ok();
        let scalar = matches!(res, Ok((Value::Scalar { .. }, _)));
        check_run(c, &q, res)?;
        if !ok || c.fail || c.exclude_from_range {
            continue;
        }
        if context_fns.is_match(&q) {
            continue;
        }
        let rr = Range {
            start: t - 60_000,
            end: t + 60_000,
            step: 60_000,
        };
        let range_res = run_query(storage, &e, rr, &opts)
            .map_err(|(e, _)| format!("error evaluating query {q:?} in range mode: {e}"))?;
        if c.ordered {
            continue;
        }
        let Value::Matrix(m) = range_res.0 else {
            return Err("range query did not return a matrix".into());
        };
        let vec: Vec<super::value::InstantSample> = m
            .iter()
            .filter_map(|s| {
                s.points
                    .iter()
                    .find(|p| p.t == t)
                    .map(|p| super::value::InstantSample {
                        labels: s.labels.clone(),
                        t,
                        v: p.v,
                    })
            })
            .collect();
        let as_value = if scalar {
            Value::Scalar {
                t,
                v: vec.first().map_or(f64::NAN, |s| s.v),
            }
        } else {
            Value::Vector(vec)
        };
        compare(c, &as_value).map_err(|e| format!("{q} (range mode): {e}"))?;
    }
    Ok(())
}

/// The same query with `@ t` on every selector and subquery that has none (not inside a
/// subquery that has one), at several times (Prometheus's `atModifierTestCases`).
fn at_modifier_cases(expr: &Expr, t: i64) -> Vec<(String, i64)> {
    let mut e = expr.clone();
    let mut unsafe_fn = false;
    set_at(&mut e, t, &mut unsafe_fn);
    if unsafe_fn {
        return Vec::new();
    }
    let text = e.to_string();
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    times.into_iter().map(|et| (text.clone(), et)).collect()
}

fn set_at(e: &mut Expr, t: i64, unsafe_fn: &mut bool) {
    super::deep(|| set_at_node(e, t, unsafe_fn))
}

fn set_at_node(e: &mut Expr, t: i64, unsafe_fn: &mut bool) {
    match e {
        Expr::Selector(s) => {
            if s.at.is_none() {
                s.at = Some(At::Time(t));
            }
        }
        Expr::Matrix(m) => {
            if m.selector.at.is_none() {
                m.selector.at = Some(At::Time(t));
            }
        }
        Expr::Subquery(s) => {
            if s.at.is_none() {
                s.at = Some(At::Time(t));
            }
            // Inside a subquery with @, timestamps stay as they are.
            let mut inner_unsafe = false;
            check_unsafe(&s.expr, &mut inner_unsafe);
            *unsafe_fn |= inner_unsafe;
        }
        Expr::Paren(inner, _) => set_at(inner, t, unsafe_fn),
        Expr::Unary { expr, .. } => set_at(expr, t, unsafe_fn),
        Expr::Binary(b) => {
            set_at(&mut b.lhs, t, unsafe_fn);
            set_at(&mut b.rhs, t, unsafe_fn);
        }
        Expr::Aggregate(a) => {
            set_at(&mut a.expr, t, unsafe_fn);
            if let Some(p) = &mut a.param {
                set_at(p, t, unsafe_fn);
            }
        }
        Expr::Call(c) => {
            *unsafe_fn |= c.func.at_modifier_unsafe();
            for a in &mut c.args {
                set_at(a, t, unsafe_fn);
            }
        }
        Expr::Number { .. } | Expr::String { .. } => {}
    }
}

fn check_unsafe(e: &Expr, unsafe_fn: &mut bool) {
    e.walk(&mut |node| {
        if let Expr::Call(c) = node {
            *unsafe_fn |= c.func.at_modifier_unsafe();
        }
    });
}

fn check_failure(c: &EvalCmd, msg: &str) -> Result<(), String> {
    if let Some(e) = &c.expect_fail {
        if !e.matches(msg) {
            return Err(format!(
                "expected error matching {} but got: {msg}",
                e.describe()
            ));
        }
    }
    Ok(())
}

fn check_run(
    c: &EvalCmd,
    q: &str,
    res: Result<(Value, Annotations), (String, Annotations)>,
) -> Result<(), String> {
    match res {
        Err((msg, _)) => {
            if c.fail {
                return check_failure(c, &msg);
            }
            Err(format!("error evaluating query: {msg}"))
        }
        Ok((v, annos)) => {
            if c.fail {
                return Err("expected error evaluating query but got none".into());
            }
            check_annotations(c, q, &annos)?;
            compare(c, &v)
        }
    }
}

fn check_annotations(c: &EvalCmd, q: &str, annos: &Annotations) -> Result<(), String> {
    let (warnings, infos) = annos.strings(q);
    if c.warn && warnings.is_empty() {
        return Err("expected warnings but got none".into());
    }
    if c.info && infos.is_empty() {
        return Err("expected info annotations but got none".into());
    }
    let check = |exp: &[Expect], actual: &[String], kind: &str| -> Result<(), String> {
        if exp.is_empty() {
            return Ok(());
        }
        if actual.is_empty() {
            return Err(format!("expected {kind} annotations but none were found"));
        }
        for e in exp {
            if !actual.iter().any(|a| e.matches(a)) {
                return Err(format!(
                    "expected {kind} annotation matching {} but found: {actual:?}",
                    e.describe()
                ));
            }
        }
        for a in actual {
            if !exp.iter().any(|e| e.matches(a)) {
                return Err(format!("unexpected {kind} annotation {a:?}"));
            }
        }
        Ok(())
    };
    check(&c.expect_warn, &warnings, "warn")?;
    check(&c.expect_info, &infos, "info")?;
    if c.no_warn && !warnings.is_empty() {
        return Err(format!("unexpected warning annotations: {warnings:?}"));
    }
    if c.no_info && !infos.is_empty() {
        return Err(format!("unexpected info annotations: {infos:?}"));
    }
    Ok(())
}

fn fmt_vals(vals: &[SeqValue]) -> String {
    vals.iter()
        .map(|v| match v {
            SeqValue::Omitted => "_".into(),
            SeqValue::Float(f) => super::value::go_g(*f),
            SeqValue::Histogram => "{{}}".into(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn compare(c: &EvalCmd, v: &Value) -> Result<(), String> {
    match v {
        Value::Matrix(m) => {
            if c.ordered {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if c.expect_scalar.is_some() {
                return Err("expected scalar result, but got matrix".into());
            }
            if m.windows(2).any(|w| w[0].labels > w[1].labels) {
                return Err("matrix results should always be sorted by labels".into());
            }
            let step = if c.step == 0 { 1 } else { c.step };
            for s in m {
                let Some((_, _, vals)) = c.expected.iter().find(|(l, _, _)| *l == s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has {:?}",
                        labels_string(&s.labels),
                        s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>()
                    ));
                };
                let mut expected = Vec::new();
                for (k, v) in vals.iter().enumerate() {
                    let t = c.start + k as i64 * step;
                    if t > c.end {
                        return Err(format!(
                            "expected {} points for {}, but query time range cannot return this many points",
                            vals.len(),
                            labels_string(&s.labels)
                        ));
                    }
                    if let SeqValue::Float(f) = v {
                        expected.push((t, *f));
                    }
                }
                if expected.len() != s.points.len() {
                    return Err(format!(
                        "expected {} float points for {}, got {:?} (expected {})",
                        expected.len(),
                        labels_string(&s.labels),
                        s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>(),
                        fmt_vals(vals)
                    ));
                }
                for (e, p) in expected.iter().zip(&s.points) {
                    if e.0 != p.t {
                        return Err(format!(
                            "expected a point at {} for {}, got one at {}",
                            e.0,
                            labels_string(&s.labels),
                            p.t
                        ));
                    }
                    if !almost_equal(p.v, e.1, EPSILON) {
                        return Err(format!(
                            "expected {} at t={} for {}, got {}",
                            super::value::go_g(e.1),
                            p.t,
                            labels_string(&s.labels),
                            super::value::go_g(p.v)
                        ));
                    }
                }
            }
            for (l, _, _) in &c.expected {
                if !m.iter().any(|s| s.labels == *l) {
                    return Err(format!("expected metric {} not found", labels_string(l)));
                }
            }
            Ok(())
        }
        Value::Vector(vec) => {
            if c.expect_scalar.is_some() {
                return Err("expected scalar result, but got vector".into());
            }
            for (pos, s) in vec.iter().enumerate() {
                let Some((_, epos, vals)) = c.expected.iter().find(|(l, _, _)| *l == s.labels)
                else {
                    return Err(format!(
                        "unexpected metric {} in result, has value {}",
                        labels_string(&s.labels),
                        super::value::go_g(s.v)
                    ));
                };
                if c.ordered && *epos != pos + 1 {
                    return Err(format!(
                        "expected metric {} at position {epos} but was at {}",
                        labels_string(&s.labels),
                        pos + 1
                    ));
                }
                let exp = match vals.first() {
                    Some(SeqValue::Float(f)) => *f,
                    _ => f64::NAN,
                };
                if !almost_equal(exp, s.v, EPSILON) {
                    return Err(format!(
                        "expected {} for {} but got {}",
                        super::value::go_g(exp),
                        labels_string(&s.labels),
                        super::value::go_g(s.v)
                    ));
                }
            }
            for (l, _, vals) in &c.expected {
                if !vec.iter().any(|s| s.labels == *l) {
                    return Err(format!(
                        "expected metric {} with {} not found",
                        labels_string(l),
                        fmt_vals(vals)
                    ));
                }
            }
            Ok(())
        }
        Value::Scalar { v, .. } => {
            let Some(exp) = c.expect_scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    super::value::go_g(*v)
                ));
            };
            if !almost_equal(exp, *v, EPSILON) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    super::value::go_g(exp),
                    super::value::go_g(*v)
                ));
            }
            Ok(())
        }
        Value::String { v, .. } => {
            if c.expect_string.as_deref() != Some(v.as_str()) {
                return Err(format!(
                    "expected string {:?} but got {v:?}",
                    c.expect_string.clone().unwrap_or_default()
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_notation() {
        let (l, v) = parse_series("foo{a=\"b\"} 0+10x2 _ stale 1-1x1 _x2 -Inf").unwrap();
        assert_eq!(labels_string(&l), "{__name__=\"foo\", a=\"b\"}");
        assert_eq!(
            v[..3],
            [
                SeqValue::Float(0.0),
                SeqValue::Float(10.0),
                SeqValue::Float(20.0)
            ]
        );
        assert_eq!(v[3], SeqValue::Omitted);
        assert!(matches!(v[4], SeqValue::Float(f) if crate::model::is_stale_nan(f)));
        assert_eq!(v[5..7], [SeqValue::Float(1.0), SeqValue::Float(0.0)]);
        assert_eq!(v.len(), 10);
        let (l, v) = parse_series("{} 297").unwrap();
        assert!(l.is_empty());
        assert_eq!(v, [SeqValue::Float(297.0)]);
    }

    #[test]
    fn small_script() {
        let s = "load 5m\n  foo{a=\"1\"} 0+10x10\n  foo{a=\"2\"} 0+20x10\n\neval instant at 50m sum(foo)\n  {} 300\n\neval range from 0 to 10m step 5m foo{a=\"1\"}\n  foo{a=\"1\"} 0 10 20\n\neval instant at 50m foo\n  expect fail\n";
        let r = run(s, &Options::default()).unwrap();
        assert_eq!(r.passed(), 2, "{:?}", r.cases);
        assert_eq!(r.failed(), 1);
    }
}
