//! Rule unit tests in promtool's format (`promtool test rules`), run through the same
//! evaluator as `rules eval`.
//!
//! ```text
//! rule_files: [rules.yml]          # globs, relative to the test file
//! evaluation_interval: 1m          # default 1m
//! group_eval_order: [g1, g2]       # groups not listed go first
//! fuzzy_compare: false             # floats equal within one ULP
//! tests:
//!   - name: ...                    # --run matches it
//!     interval: 1m                 # the input series' step; default evaluation_interval
//!     start_timestamp: 0           # Unix seconds or RFC 3339
//!     external_labels: {...}
//!     external_url: http://...
//!     input_series: [{series: 'up{job="a"}', values: '0+1x10'}]
//!     alert_rule_test: [{eval_time: 5m, alertname: X, exp_alerts: [{exp_labels: {}, exp_annotations: {}}]}]
//!     promql_expr_test: [{expr: up, eval_time: 5m, exp_samples: [{labels: 'up{job="a"}', value: 5}]}]
//! ```
//!
//! As promtool: every group is evaluated at every `evaluation_interval` step from the start
//! up to the largest `eval_time`, input samples are added up to each step before it is
//! evaluated, alerts are compared (firing ones only, `alertname` added to the expected
//! labels) right after the step that covers their `eval_time`, and PromQL tests run at the
//! end. Failures read as promtool's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::eval::{eval_group, rule_vector, Context, GroupState};
use super::file::{self, Group, ParseOptions, RuleKind};
use crate::model::notation::{parse_values, SeqValue, MAX_VALUES};
use crate::model::regex::Regex;
use crate::model::{Labels, Sample};
use crate::promql::eval::{evaluate, MemStorage, Options, Range};
use crate::template::fmt::{duration_string, quote};
use crate::yaml::{self, Kind, Node, Pos};

/// Options of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Only test groups whose name matches (unanchored), as `--run`.
    pub run: Option<Regex>,
    pub ignore_unknown_fields: bool,
    /// Collect promtool's `DEBUG:` lines.
    pub debug: bool,
    /// Show alert mismatches as a diff only, without the exp/got lists.
    pub diff: bool,
}

/// One test group's outcome.
#[derive(Clone, Debug, Default)]
pub struct GroupOutcome {
    /// The name, or `unnamed#N`.
    pub name: String,
    pub errors: Vec<String>,
}

/// One file's outcome.
#[derive(Clone, Debug, Default)]
pub struct FileOutcome {
    /// A problem with the file itself (unreadable, bad YAML, ...); no group ran.
    pub abort: Option<String>,
    pub groups: Vec<GroupOutcome>,
    /// Warnings (unmatched rule file patterns).
    pub warnings: Vec<String>,
    /// `--debug` lines.
    pub debug: Vec<String>,
    /// The file could not be read at all.
    pub unreadable: bool,
}

impl FileOutcome {
    /// Every error, in order: the abort, or each group's.
    pub fn errors(&self) -> Vec<&str> {
        match &self.abort {
            Some(a) => vec![a.as_str()],
            None => self
                .groups
                .iter()
                .flat_map(|g| g.errors.iter().map(String::as_str))
                .collect(),
        }
    }
}

struct TestFile {
    rule_files: Vec<String>,
    evaluation_interval: i64,
    group_eval_order: Vec<String>,
    tests: Vec<TestGroup>,
    fuzzy_compare: bool,
}

struct TestGroup {
    interval: i64,
    input_series: Vec<(String, String)>,
    alert_tests: Vec<AlertTest>,
    promql_tests: Vec<PromqlTest>,
    external_labels: BTreeMap<String, String>,
    external_url: String,
    name: String,
    /// Milliseconds since the epoch.
    start: i64,
}

struct AlertTest {
    eval_time: i64,
    alertname: String,
    exp_alerts: Vec<(BTreeMap<String, String>, BTreeMap<String, String>)>,
}

struct PromqlTest {
    expr: String,
    eval_time: i64,
    exp_samples: Vec<(String, f64, String)>,
}

/// Decodes a test file strictly (yaml.v2's `UnmarshalStrict`, promtool's type names).
struct Decoder {
    errors: Vec<(Pos, String)>,
}

impl Decoder {
    fn fields<'a>(&mut self, n: &'a Node, ty: &'static str) -> Option<yaml::Fields<'a>> {
        match n.map(ty) {
            Ok(f) => Some(f),
            Err(e) => {
                self.errors.push((e.pos, e.msg));
                None
            }
        }
    }

    fn finish(&mut self, f: yaml::Fields<'_>, ty: &str) {
        for (k, _) in f.rest() {
            let name = match &k.kind {
                Kind::Scalar { text, .. } => text.clone(),
                _ => k.kind_name().into(),
            };
            self.errors
                .push((k.pos, format!("field {name} not found in type {ty}")));
        }
    }

    fn string(&mut self, n: Option<&Node>) -> String {
        match n.map(Node::str_or_empty) {
            Some(Ok(s)) => s.to_string(),
            Some(Err(e)) => {
                self.errors.push((e.pos, e.msg));
                String::new()
            }
            None => String::new(),
        }
    }

    fn duration(&mut self, n: Option<&Node>) -> i64 {
        let Some(n) = n else { return 0 };
        let s = match n.str() {
            Ok(s) => s,
            Err(e) => {
                self.errors.push((e.pos, e.msg));
                return 0;
            }
        };
        match crate::model::time::parse_model_duration(s) {
            Ok(ms) => ms,
            Err(e) => {
                self.errors.push((n.pos, e));
                0
            }
        }
    }

    fn map(&mut self, n: Option<&Node>) -> BTreeMap<String, String> {
        let Some(n) = n else { return BTreeMap::new() };
        match n.string_map() {
            Ok(v) => v.into_iter().map(|(k, v, _)| (k, v)).collect(),
            Err(e) => {
                self.errors.push((e.pos, e.msg));
                BTreeMap::new()
            }
        }
    }

    fn seq<'a>(&mut self, n: Option<&'a Node>) -> &'a [Node] {
        match n.map(Node::seq) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                self.errors.push((e.pos, e.msg));
                &[]
            }
            None => &[],
        }
    }

    fn file(&mut self, root: &Node) -> Option<TestFile> {
        let mut f = self.fields(root, "main.unitTestFile")?;
        let rule_files = f.get("rule_files");
        let ei = f.get("evaluation_interval");
        let order = f.get("group_eval_order");
        let tests = f.get("tests");
        let fuzzy = f.get("fuzzy_compare");
        self.finish(f, "main.unitTestFile");
        let rule_files = self
            .seq(rule_files)
            .iter()
            .map(|n| self.string(Some(n)))
            .collect();
        let group_eval_order = self
            .seq(order)
            .iter()
            .map(|n| self.string(Some(n)))
            .collect();
        let fuzzy_compare = match fuzzy.map(Node::bool) {
            Some(Ok(b)) => b,
            Some(Err(e)) => {
                self.errors.push((e.pos, e.msg));
                false
            }
            None => false,
        };
        let evaluation_interval = self.duration(ei);
        let tests = self
            .seq(tests)
            .iter()
            .filter_map(|t| self.group(t))
            .collect();
        Some(TestFile {
            rule_files,
            evaluation_interval,
            group_eval_order,
            tests,
            fuzzy_compare,
        })
    }

    fn group(&mut self, n: &Node) -> Option<TestGroup> {
        let ty = "main.testGroup";
        let mut f = self.fields(n, ty)?;
        let interval = f.get("interval");
        let input = f.get("input_series");
        let alerts = f.get("alert_rule_test");
        let promql = f.get("promql_expr_test");
        let ext_labels = f.get("external_labels");
        let ext_url = f.get("external_url");
        let name = f.get("name");
        let start = f.get("start_timestamp");
        self.finish(f, ty);
        let mut input_series = Vec::new();
        for s in self.seq(input) {
            if let Some(mut sf) = self.fields(s, "main.series") {
                let series = sf.get("series");
                let values = sf.get("values");
                self.finish(sf, "main.series");
                input_series.push((self.string(series), self.string(values)));
            }
        }
        let mut alert_tests = Vec::new();
        for a in self.seq(alerts) {
            let Some(mut af) = self.fields(a, "main.alertTestCase") else {
                continue;
            };
            let eval_time = af.get("eval_time");
            let alertname = af.get("alertname");
            let exp = af.get("exp_alerts");
            self.finish(af, "main.alertTestCase");
            let mut exp_alerts = Vec::new();
            for e in self.seq(exp) {
                if let Some(mut ef) = self.fields(e, "main.alert") {
                    let l = ef.get("exp_labels");
                    let an = ef.get("exp_annotations");
                    self.finish(ef, "main.alert");
                    exp_alerts.push((self.map(l), self.map(an)));
                }
            }
            alert_tests.push(AlertTest {
                eval_time: self.duration(eval_time),
                alertname: self.string(alertname),
                exp_alerts,
            });
        }
        let mut promql_tests = Vec::new();
        for p in self.seq(promql) {
            let Some(mut pf) = self.fields(p, "main.promqlTestCase") else {
                continue;
            };
            let expr = pf.get("expr");
            let eval_time = pf.get("eval_time");
            let exp = pf.get("exp_samples");
            self.finish(pf, "main.promqlTestCase");
            let mut exp_samples = Vec::new();
            for s in self.seq(exp) {
                if let Some(mut sf) = self.fields(s, "main.sample") {
                    let labels = sf.get("labels");
                    let value = sf.get("value");
                    let hist = sf.get("histogram");
                    self.finish(sf, "main.sample");
                    let v = match value {
                        None => 0.0,
                        Some(v) => match v.str().ok().and_then(yaml_float) {
                            Some(f) => f,
                            None => {
                                self.errors.push((
                                    v.pos,
                                    format!("cannot unmarshal {} into float64", v.kind_name()),
                                ));
                                0.0
                            }
                        },
                    };
                    exp_samples.push((self.string(labels), v, self.string(hist)));
                }
            }
            promql_tests.push(PromqlTest {
                expr: self.string(expr),
                eval_time: self.duration(eval_time),
                exp_samples,
            });
        }
        let start = match start {
            None => 0,
            Some(n) => {
                let s = self.string(Some(n));
                match parse_start(&s) {
                    Some(t) => t,
                    None => {
                        self.errors.push((
                            n.pos,
                            format!("cannot parse {} to a valid timestamp", quote(&s)),
                        ));
                        0
                    }
                }
            }
        };
        Some(TestGroup {
            interval: self.duration(interval),
            input_series,
            alert_tests,
            promql_tests,
            external_labels: self.map(ext_labels),
            external_url: self.string(ext_url),
            name: self.string(name),
            start,
        })
    }
}

/// A YAML float (`1`, `1.5`, `.inf`, `-.Inf`, `.nan`).
fn yaml_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        _ => s.replace('_', "").parse::<f64>().ok(),
    }
}

/// `start_timestamp`: Unix seconds (fractions allowed) or RFC 3339.
fn parse_start(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return Some((f * 1000.0).round() as i64);
    }
    crate::model::time::parse_timestamp(s).ok()
}

/// Prometheus's `labels.String()`: `{a="1", b="2"}`, names quoted where not legacy.
pub fn labels_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if crate::model::labels::is_legacy_label_name(k) {
            s.push_str(k);
        } else {
            s.push_str(&quote(k));
        }
        s.push('=');
        s.push_str(&quote(v));
    }
    s.push('}');
    s
}

/// `strconv.FormatFloat(v, 'E', -1, 64)`.
fn format_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:E}");
    let (mant, exp) = s.split_once('E').unwrap_or((&s, "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    format!("{mant}E{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

type Pairs = Vec<(String, String)>;

fn pairs_text(p: &Pairs) -> String {
    labels_text(p.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// promtool's `labelsAndAnnotations.String()`.
fn alerts_text(list: &[(Pairs, Pairs)]) -> String {
    if list.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[");
    for (i, (l, a)) in list.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "\n{i}:\n  Labels:{}\n  Annotations:{}",
            pairs_text(l),
            pairs_text(a)
        ));
    }
    s.push_str("\n]");
    s
}

/// Every line after the first prefixed with `indent`.
fn indent_lines(s: &str, indent: &str) -> String {
    s.split('\n')
        .collect::<Vec<_>>()
        .join(&format!("\n{indent}"))
}

/// The alerts only one side has, as `-` (expected) and `+` (got) lines.
fn alerts_diff(exp: &[(Pairs, Pairs)], got: &[(Pairs, Pairs)]) -> String {
    let mut lines = Vec::new();
    for e in exp {
        if !got.contains(e) {
            lines.push(format!("- {} {}", pairs_text(&e.0), pairs_text(&e.1)));
        }
    }
    for g in got {
        if !exp.contains(g) {
            lines.push(format!("+ {} {}", pairs_text(&g.0), pairs_text(&g.1)));
        }
    }
    lines.join("\n")
}

fn floats_equal(a: f64, b: f64, fuzzy: bool) -> bool {
    if a == b {
        return true;
    }
    fuzzy && a.is_finite() && b.is_finite() && {
        let (x, y) = (a.to_bits() as i64, b.to_bits() as i64);
        (a.signum() == b.signum()) && (x - y).abs() == 1
    }
}

/// Runs one test file.
pub fn run_file(path: &Path, opts: &RunOptions) -> FileOutcome {
    let mut out = FileOutcome::default();
    let name = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            out.abort = Some(format!("open {name}: {e}"));
            out.unreadable = true;
            return out;
        }
    };
    let root = match yaml::parse(&text) {
        Ok(r) => r,
        Err(e) => {
            out.abort = Some(format!("{name}:{e}"));
            return out;
        }
    };
    let mut d = Decoder { errors: Vec::new() };
    let file = d.file(&root);
    if !d.errors.is_empty() {
        d.errors.sort_by_key(|e| e.0);
        out.abort = Some(
            d.errors
                .iter()
                .map(|(p, m)| format!("{name}:{p}: {m}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        return out;
    }
    let Some(mut file) = file else {
        return out;
    };
    // Rule files: relative to the test file, globbed.
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut rule_paths: Vec<PathBuf> = Vec::new();
    for rf in &file.rule_files {
        let p = if !rf.is_empty() && !Path::new(rf).is_absolute() {
            dir.join(rf)
        } else {
            PathBuf::from(rf)
        };
        let matched: Vec<PathBuf> = crate::scrape::discovery::expand(&p)
            .into_iter()
            .filter(|f| f.is_file())
            .collect();
        if matched.is_empty() {
            out.warnings
                .push(format!("no file match pattern {}", p.display()));
        }
        rule_paths.extend(matched);
    }
    if file.evaluation_interval == 0 {
        file.evaluation_interval = 60_000;
    }
    let mut order: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, g) in file.group_eval_order.iter().enumerate() {
        if order.insert(g.as_str(), i).is_some() {
            out.abort = Some(format!("group name repeated in evaluation order: {g}"));
            return out;
        }
    }
    for (i, tg) in file.tests.iter().enumerate() {
        if let Some(re) = &opts.run {
            if !re.is_match(&tg.name) {
                continue;
            }
        }
        let name = if tg.name.is_empty() {
            format!("unnamed#{i}")
        } else {
            tg.name.clone()
        };
        if opts.debug {
            out.debug.push(format!("DEBUG: Starting test {name}"));
        }
        let started = std::time::Instant::now();
        let errors = run_group(tg, &file, &rule_paths, &order, opts, &mut out.debug);
        if opts.debug {
            out.debug.push(format!(
                "DEBUG: Test {name} finished, took {}",
                duration_string(started.elapsed().as_nanos() as i64)
            ));
        }
        out.groups.push(GroupOutcome { name, errors });
    }
    out
}

/// Parses the rule files of a test, as the rules manager loads them.
fn load_rules(paths: &[PathBuf], opts: &RunOptions) -> Result<Vec<Group>, Vec<String>> {
    let mut groups = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        let text = std::fs::read(p).map_err(|e| vec![format!("{name}: {e}")])?;
        let text = String::from_utf8_lossy(&text);
        let f = file::parse(
            &text,
            ParseOptions {
                ignore_unknown_fields: opts.ignore_unknown_fields,
            },
        )
        .map_err(|errs| {
            errs.iter()
                .map(|e| format!("{name}:{e}"))
                .collect::<Vec<_>>()
        })?;
        groups.extend(f.groups);
    }
    Ok(groups)
}

/// A sample a rule appends: Prometheus's TSDB refuses one older than the series' last
/// sample, and one at the same time with another value.
fn append(storage: &RefCell<MemStorage>, labels: &Labels, t: i64, v: f64) -> Result<(), String> {
    let mut st = storage.borrow_mut();
    if let Some(last) = st.last_sample(labels) {
        if t < last.t {
            return Err("out of order sample".into());
        }
        if t == last.t {
            if last.v.to_bits() == v.to_bits() {
                return Ok(());
            }
            let g = |f: f64| crate::template::fmt::format_float(f, 'g', None);
            return Err(if t == 0 {
                "duplicate sample for timestamp".into()
            } else {
                format!(
                    "duplicate sample for timestamp {t}; overrides not allowed: existing {}, new value {}",
                    g(last.v),
                    g(v)
                )
            });
        }
    }
    st.add(labels.clone(), [Sample { t, v }]);
    Ok(())
}

fn run_group(
    tg: &TestGroup,
    file: &TestFile,
    rule_paths: &[PathBuf],
    order: &BTreeMap<&str, usize>,
    opts: &RunOptions,
    debug: &mut Vec<String>,
) -> Vec<String> {
    let eval_interval = file.evaluation_interval;
    let interval = if tg.interval == 0 {
        eval_interval
    } else {
        tg.interval
    };
    let mint = tg.start;
    // Input series.
    let mut inputs: Vec<(i64, Labels, f64)> = Vec::new();
    let mut budget = MAX_VALUES;
    for (i, (series, values)) in tg.input_series.iter().enumerate() {
        let labels = match crate::promql::script::parse_labels(series.trim()) {
            Ok(l) => l,
            Err(e) => return vec![format!("{}:1: parse error: {e}", i + 2)],
        };
        let vals = match parse_values(values, &mut budget) {
            Ok(v) => v,
            Err(e) => return vec![format!("{}:1: parse error: {e}", i + 2)],
        };
        for (k, v) in vals.iter().enumerate() {
            if let SeqValue::Float(f) = v {
                inputs.push((mint + k as i64 * interval, labels.clone(), *f));
            }
        }
    }
    inputs.sort_by_key(|x| x.0);
    let mut groups = match load_rules(rule_paths, opts) {
        Ok(g) => g,
        Err(e) => return e,
    };
    // Ordered by group_eval_order; unlisted groups count as first (stable otherwise).
    groups.sort_by_key(|g| order.get(g.name.as_str()).copied().unwrap_or(0));
    let mut states: Vec<GroupState> = groups.iter().map(GroupState::new).collect();
    let max_eval = tg
        .alert_tests
        .iter()
        .map(|a| a.eval_time)
        .chain(tg.promql_tests.iter().map(|p| p.eval_time))
        .max()
        .unwrap_or(0);
    let maxt = mint + max_eval;
    let storage = RefCell::new(MemStorage::new());
    let qopts = Options {
        subquery_step_ms: eval_interval,
        ..Options::default()
    };
    let query = |e: &crate::promql::Expr, t: i64| -> Result<crate::promql::Value, String> {
        let st = storage.borrow();
        evaluate(
            &*st,
            e,
            Range {
                start: t,
                end: t,
                step: 0,
            },
            &qopts,
        )
        .map(|(v, _)| v)
        .map_err(|(e, _)| e.to_string())
    };
    let ctx = Context {
        external_labels: &tg.external_labels,
        external_url: &tg.external_url,
        url: None,
        write_alert_series: true,
        default_query_offset: 0,
    };
    let mut errs: Vec<String> = Vec::new();
    for a in &tg.alert_tests {
        if a.alertname.is_empty() {
            let in_group = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                crate::model::time::format_duration(a.eval_time)
            )];
        }
    }
    let mut alert_times: Vec<i64> = tg.alert_tests.iter().map(|a| a.eval_time).collect();
    alert_times.sort();
    alert_times.dedup();
    let mut curr = 0;
    let mut next_input = 0;
    let mut ts = mint;
    while ts <= maxt {
        while next_input < inputs.len() && inputs[next_input].0 <= ts {
            let (t, l, v) = &inputs[next_input];
            storage
                .borrow_mut()
                .add(l.clone(), [Sample { t: *t, v: *v }]);
            next_input += 1;
        }
        let mut eval_errs = Vec::new();
        for (g, st) in groups.iter().zip(states.iter_mut()) {
            let mut app = |l: &Labels, t: i64, v: f64| append(&storage, l, t, v);
            eval_group(g, st, ts, &ctx, &query, &mut app);
            for (r, rs) in g.rules.iter().zip(&st.rules) {
                if let Some(e) = &rs.last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.name,
                        duration_string(ts.saturating_mul(1_000_000))
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        while curr < alert_times.len()
            && ts - mint <= alert_times[curr]
            && alert_times[curr] < ts + eval_interval - mint
        {
            let t = alert_times[curr];
            for at in tg.alert_tests.iter().filter(|a| a.eval_time == t) {
                let mut got: Vec<(Pairs, Pairs)> = Vec::new();
                for (g, st) in groups.iter().zip(&states) {
                    for (r, rs) in g.rules.iter().zip(&st.rules) {
                        if r.kind != RuleKind::Alerting || r.name != at.alertname {
                            continue;
                        }
                        for a in rs.alerts.firing() {
                            got.push((
                                a.labels
                                    .iter()
                                    .map(|l| (l.name.clone(), l.value.clone()))
                                    .collect(),
                                a.annotations.clone(),
                            ));
                        }
                    }
                }
                let mut exp: Vec<(Pairs, Pairs)> = at
                    .exp_alerts
                    .iter()
                    .map(|(l, a)| {
                        let mut l = l.clone();
                        l.insert("alertname".into(), at.alertname.clone());
                        (l.into_iter().collect(), a.clone().into_iter().collect())
                    })
                    .collect();
                got.sort();
                exp.sort();
                if got != exp {
                    let test_name = if tg.name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {},\n", tg.name)
                    };
                    let time = crate::model::time::format_duration(at.eval_time);
                    let diff = indent_lines(&alerts_diff(&exp, &got), "            ");
                    if opts.diff {
                        errs.push(format!(
                            "{test_name}    alertname: {}, time: {time}, \n        diff:\n            {diff}",
                            at.alertname
                        ));
                    } else {
                        errs.push(format!(
                            "{test_name}    alertname: {}, time: {time}, \n        exp:{}, \n        got:{}\n        diff:\n            {diff}",
                            at.alertname,
                            indent_lines(&alerts_text(&exp), "            "),
                            indent_lines(&alerts_text(&got), "            "),
                        ));
                    }
                }
            }
            curr += 1;
        }
        ts += eval_interval;
    }
    // PromQL tests.
    'tests: for pt in &tg.promql_tests {
        let time = crate::model::time::format_duration(pt.eval_time);
        let got = crate::promql::parse(&pt.expr)
            .map_err(|e| e.to_string())
            .and_then(|e| query(&e, mint + pt.eval_time))
            .and_then(rule_vector);
        let mut got = match got {
            Ok(g) => g,
            Err(e) => {
                errs.push(format!(
                    "    expr: {}, time: {time}, err: {e}",
                    quote(&pt.expr)
                ));
                continue;
            }
        };
        let mut exp: Vec<(Labels, f64)> = Vec::new();
        for (l, v, h) in &pt.exp_samples {
            let parsed = crate::promql::script::parse_labels(l.trim()).map_err(|e| e.to_string());
            let parsed = parsed.and_then(|p| {
                if h.is_empty() {
                    Ok(p)
                } else {
                    Err("native histogram samples are not supported by prombox yet".into())
                }
            });
            match parsed {
                Ok(p) => exp.push((p, *v)),
                Err(e) => {
                    errs.push(format!(
                        "    expr: {}, time: {time}, err: labels {}: {e}",
                        quote(&pt.expr),
                        quote(l)
                    ));
                    continue 'tests;
                }
            }
        }
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let same = exp.len() == got.len()
            && exp
                .iter()
                .zip(&got)
                .all(|(a, b)| a.0 == b.0 && floats_equal(a.1, b.1, file.fuzzy_compare));
        if !same {
            let text = |v: &[(Labels, f64)]| {
                if v.is_empty() {
                    return "nil".to_string();
                }
                v.iter()
                    .map(|(l, f)| {
                        format!(
                            "{} {}",
                            labels_text(l.iter().map(|l| (l.name.as_str(), l.value.as_str()))),
                            format_e(*f)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            errs.push(format!(
                "    expr: {}, time: {time},\n        exp: {}\n        got: {}",
                quote(&pt.expr),
                text(&exp),
                text(&got)
            ));
        }
    }
    if opts.debug {
        let t = (max_eval / 1000 + 1) * 1000;
        let st = storage.borrow();
        debug.push(format!(
            "DEBUG: Dump of all data (input_series and rules) at {}:",
            duration_string(t * 1_000_000)
        ));
        debug.push(st.dump(mint, mint + t));
    }
    errs
}
