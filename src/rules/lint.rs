//! Checks of parsed rule files beyond their validity: promtool's duplicate-rule lint, with
//! its exact message, and prombox's static checks (see [`Check`]), each finding with an
//! id, a severity and the position in the file it is about (inside the expression where
//! it applies).
//!
//! A check is turned off for a whole file, a group or a rule by a comment
//! `# prombox: disable CHECK[,CHECK...]` at the top of the file, or on the lines just
//! before (or inside) the group or rule; and everywhere with [`LintOptions::disabled`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::file::{Group, Pair, Rule, RuleFile, RuleKind};
use crate::model::{MatchOp, Matcher, METRIC_NAME};
use crate::promql::ast::{AggOp, BinOp, Card, Expr, Selector};
use crate::yaml::Pos;

/// A rule name and label set that more than one rule produces (promtool's key: the name,
/// and the group's labels overlaid by the rule's; not the expression).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub metric: String,
    pub labels: Vec<(String, String)>,
}

/// Group labels overlaid by rule labels, sorted by name; empty values kept.
pub fn merged_labels(group: &[Pair], rule: &[Pair]) -> Vec<(String, String)> {
    let mut m: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for p in group.iter().chain(rule) {
        m.insert(&p.name, &p.value);
    }
    m.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// promtool's `checkDuplicates`: each duplicated key once, in key order.
pub fn duplicates(file: &RuleFile) -> Vec<Duplicate> {
    let mut keys: Vec<Duplicate> = Vec::new();
    for g in &file.groups {
        for r in &g.rules {
            keys.push(Duplicate {
                metric: r.name.clone(),
                labels: merged_labels(&g.labels, &r.labels),
            });
        }
    }
    keys.sort_by(|a, b| {
        a.metric
            .cmp(&b.metric)
            .then_with(|| compare_labels(&a.labels, &b.labels))
    });
    let mut out: Vec<Duplicate> = Vec::new();
    for w in keys.windows(2) {
        if w[0] == w[1] && out.last() != Some(&w[1]) {
            out.push(w[1].clone());
        }
    }
    out
}

/// `labels.Compare`: pairwise by name then value; a prefix sorts first.
fn compare_labels(a: &[(String, String)], b: &[(String, String)]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = x.0.cmp(&y.0).then_with(|| x.1.cmp(&y.1));
        if c.is_ne() {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// promtool's lint message for duplicates (without the `lint error ` prefix).
pub fn duplicates_message(d: &[Duplicate]) -> String {
    let mut s = format!("{} duplicate rule(s) found.\n", d.len());
    for x in d {
        s.push_str(&format!("Metric: {}\nLabel(s):\n", x.metric));
        for (k, v) in &x.labels {
            s.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    s.push_str("Might cause inconsistency while recording expressions");
    s
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Bug,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Bug => "bug",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finding of a static check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    pub pos: Pos,
    /// The group and rule it is about, if any.
    pub group: String,
    pub rule: String,
    pub message: String,
}

/// The static checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Two rules with the same name and labels (promtool's lint).
    Duplicate,
    /// `rate`/`irate`/`increase`/`resets` over a name that does not look like a counter, or
    /// a counter under an `*_over_time` function.
    CounterRate,
    /// A range shorter than two scrape intervals under a function that needs two samples.
    RangeTooShort,
    /// An alerting expression that filters nothing (no comparison, `absent`, set operator
    /// or label-value matcher): it fires for every series it returns.
    AlwaysFires,
    /// A template reads a label the expression's aggregation removes.
    DroppedLabel,
    /// `$value` in an alert label: every new value is a new alert.
    ValueInLabel,
    /// `for` or `keep_firing_for` shorter than the group's interval.
    ForTooShort,
    /// A group interval longer than the 5 m lookback: recorded series go stale in between.
    IntervalTooLong,
    /// A regex matcher that needs no regex (`=~"foo"`), or anchors PromQL adds itself.
    RegexNotNeeded,
    /// Matchers that no series can satisfy together.
    NeverMatches,
    /// A recording rule name not of the form `level:metric:operations`.
    RecordName,
    /// A rule reads a series recorded by a rule evaluated after it.
    LateRead,
}

impl Check {
    pub const ALL: &'static [Check] = &[
        Check::Duplicate,
        Check::CounterRate,
        Check::RangeTooShort,
        Check::AlwaysFires,
        Check::DroppedLabel,
        Check::ValueInLabel,
        Check::ForTooShort,
        Check::IntervalTooLong,
        Check::RegexNotNeeded,
        Check::NeverMatches,
        Check::RecordName,
        Check::LateRead,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::Duplicate => "duplicate-rule",
            Check::CounterRate => "counter-rate",
            Check::RangeTooShort => "range-too-short",
            Check::AlwaysFires => "always-fires",
            Check::DroppedLabel => "dropped-label",
            Check::ValueInLabel => "value-in-label",
            Check::ForTooShort => "for-too-short",
            Check::IntervalTooLong => "interval-too-long",
            Check::RegexNotNeeded => "regex-not-needed",
            Check::NeverMatches => "never-matches",
            Check::RecordName => "record-name",
            Check::LateRead => "late-read",
        }
    }

    pub fn from_id(id: &str) -> Option<Check> {
        Check::ALL.iter().copied().find(|c| c.id() == id)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What the checks assume about the server the rules run on.
#[derive(Clone, Debug)]
pub struct LintOptions {
    /// Scrape interval per job (from `--config`), milliseconds.
    pub job_intervals: BTreeMap<String, i64>,
    /// The scrape interval of series of no known job (`global.scrape_interval`, 1 m).
    pub scrape_interval: i64,
    /// The interval of groups that set none (`global.evaluation_interval`, 1 m).
    pub evaluation_interval: i64,
    /// The lookback delta (5 m).
    pub lookback: i64,
    pub disabled: BTreeSet<Check>,
}

impl Default for LintOptions {
    fn default() -> LintOptions {
        LintOptions {
            job_intervals: BTreeMap::new(),
            scrape_interval: 60_000,
            evaluation_interval: 60_000,
            lookback: 300_000,
            disabled: BTreeSet::new(),
        }
    }
}

/// A rule file's text and what it holds, to check together with the other files checked.
pub struct Source<'a> {
    pub text: &'a str,
    pub file: &'a RuleFile,
}

/// Where `# prombox: disable` comments switch checks off in one file.
struct Disables {
    file: BTreeSet<Check>,
    /// By group index, by (group, rule) index.
    groups: HashMap<usize, BTreeSet<Check>>,
    rules: HashMap<(usize, usize), BTreeSet<Check>>,
}

fn parse_disables(text: &str, file: &RuleFile) -> Disables {
    let mut d = Disables {
        file: BTreeSet::new(),
        groups: HashMap::new(),
        rules: HashMap::new(),
    };
    // Start lines of groups and rules, in order.
    let mut starts: Vec<(usize, Option<usize>, usize)> = Vec::new();
    for (gi, g) in file.groups.iter().enumerate() {
        starts.push((g.pos.line, None, gi));
        for (ri, r) in g.rules.iter().enumerate() {
            starts.push((r.pos.line, Some(ri), gi));
        }
    }
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let Some(c) = line.find('#') else { continue };
        let Some(rest) = line[c + 1..].trim().strip_prefix("prombox:") else {
            continue;
        };
        let Some(list) = rest.trim().strip_prefix("disable") else {
            continue;
        };
        let checks: BTreeSet<Check> = list
            .split([',', ' '])
            .filter_map(|x| Check::from_id(x.trim()))
            .collect();
        // The item starting on this line or the next non-comment line after it, else the
        // rule or group the line is inside.
        let next = text
            .lines()
            .enumerate()
            .skip(i)
            .find(|(j, l)| {
                let t = l.trim_start();
                *j > i && !t.is_empty() && !t.starts_with('#') || (*j == i && !t.starts_with('#'))
            })
            .map(|(j, _)| j + 1);
        let target = next
            .and_then(|n| starts.iter().find(|s| s.0 == n))
            .or_else(|| starts.iter().rev().find(|s| s.0 <= ln));
        match target {
            None => d.file.extend(checks),
            Some(&(_, None, gi)) => d.groups.entry(gi).or_default().extend(checks),
            Some(&(_, Some(ri), gi)) => d.rules.entry((gi, ri)).or_default().extend(checks),
        }
    }
    d
}

/// Maps a byte offset in an expression to its position in the file, given where the
/// expression's node starts (the scalar, or a block scalar's indicator).
pub fn locate(text: &str, start: Pos, expr: &str, offset: usize) -> Pos {
    let lines: Vec<&str> = text.lines().collect();
    locate_in(&lines, start, expr, offset)
}

/// [`locate`] over the file's lines, split once.
fn locate_in(lines: &[&str], start: Pos, expr: &str, offset: usize) -> Pos {
    let offset = offset.min(expr.len());
    let before = &expr[..offset];
    let k = before.matches('\n').count();
    let col_in = offset - before.rfind('\n').map_or(0, |i| i + 1);
    let expr_lines: Vec<&str> = expr.split('\n').collect();
    let mut li = start.line.saturating_sub(1);
    let mut from = start.col.saturating_sub(1);
    let mut found: Option<Pos> = None;
    for (n, el) in expr_lines.iter().enumerate().take(k + 1) {
        let el = el.trim_end();
        let mut hit = None;
        while li < lines.len() {
            let l = lines[li];
            let hay = l.get(from..).unwrap_or("");
            if let Some(p) = (!el.is_empty()).then(|| hay.find(el)).flatten() {
                hit = Some(from + p);
                break;
            }
            li += 1;
            from = 0;
            if li > start.line + expr_lines.len() + 2 {
                break;
            }
        }
        let Some(h) = hit else { break };
        if n == k {
            found = Some(Pos {
                line: li + 1,
                col: h + col_in + 1,
            });
        }
        li += 1;
        from = 0;
    }
    found.unwrap_or(start)
}

/// Runs the static checks over files checked together (for `late-read`, across them).
pub fn check(sources: &[Source<'_>], opts: &LintOptions) -> Vec<Vec<Finding>> {
    // Where each recorded name is written: (file, group, rule) in evaluation order.
    let mut recorded: HashMap<&str, Vec<(usize, usize, usize)>> = HashMap::new();
    for (fi, s) in sources.iter().enumerate() {
        for (gi, g) in s.file.groups.iter().enumerate() {
            for (ri, r) in g.rules.iter().enumerate() {
                if r.kind == RuleKind::Recording {
                    recorded.entry(&r.name).or_default().push((fi, gi, ri));
                }
            }
        }
    }
    let mut all = Vec::with_capacity(sources.len());
    for (fi, s) in sources.iter().enumerate() {
        let disables = parse_disables(s.text, s.file);
        let lines: Vec<&str> = s.text.lines().collect();
        let mut out: Vec<Finding> = Vec::new();
        for (gi, g) in s.file.groups.iter().enumerate() {
            let mut ctx = RuleCheck {
                lines: &lines,
                group: g,
                opts,
                out: Vec::new(),
            };
            for (ri, r) in g.rules.iter().enumerate() {
                ctx.rule_checks(r);
                for name in selector_names(&r.expr) {
                    if let Some(writers) = recorded.get(name.0.as_str()) {
                        if writers
                            .iter()
                            .all(|&(wf, wg, wr)| wf == fi && wg == gi && wr == ri)
                        {
                            continue;
                        }
                        if let Some(&(wf, wg, wr)) = writers
                            .iter()
                            .find(|&&(wf, wg, wr)| (wf, wg, wr) > (fi, gi, ri) && wf == fi)
                        {
                            let _ = wf;
                            let where_ = if wg == gi {
                                format!("rule {} of this group", wr + 1)
                            } else {
                                format!("group {:?}", s.file.groups[wg].name)
                            };
                            ctx.push(
                                Check::LateRead,
                                Severity::Warning,
                                r,
                                name.1,
                                format!(
                                    "reads {}, which {where_} records later: the value is one evaluation old",
                                    name.0
                                ),
                            );
                        }
                    }
                }
                let findings = std::mem::take(&mut ctx.out);
                for f in findings {
                    let off = disables.file.contains(&f.check)
                        || disables
                            .groups
                            .get(&gi)
                            .is_some_and(|d| d.contains(&f.check))
                        || disables
                            .rules
                            .get(&(gi, ri))
                            .is_some_and(|d| d.contains(&f.check))
                        || opts.disabled.contains(&f.check);
                    if !off {
                        out.push(f);
                    }
                }
            }
            ctx.group_checks();
            for f in std::mem::take(&mut ctx.out) {
                if !disables.file.contains(&f.check)
                    && !disables
                        .groups
                        .get(&gi)
                        .is_some_and(|d| d.contains(&f.check))
                    && !opts.disabled.contains(&f.check)
                {
                    out.push(f);
                }
            }
        }
        out.sort_by_key(|f| f.pos);
        all.push(out);
    }
    all
}

/// Metric names read by an expression's selectors, with their offsets.
fn selector_names(e: &Expr) -> Vec<(String, usize)> {
    let mut v = Vec::new();
    e.walk(&mut |x| {
        let sel = match x {
            Expr::Selector(s) => Some(&**s),
            Expr::Matrix(m) => Some(&m.selector),
            _ => None,
        };
        if let Some(s) = sel {
            if let Some(n) = selector_name(s) {
                v.push((n.to_string(), s.span.start));
            }
        }
    });
    v
}

fn selector_name(s: &Selector) -> Option<&str> {
    s.matchers
        .iter()
        .find(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal)
        .map(|m| m.value.as_str())
}

struct RuleCheck<'a> {
    lines: &'a [&'a str],
    group: &'a Group,
    opts: &'a LintOptions,
    out: Vec<Finding>,
}

fn looks_like_counter(name: &str) -> bool {
    ["_total", "_count", "_sum", "_bucket"]
        .iter()
        .any(|s| name.ends_with(s))
}

fn fmt_ms(ms: i64) -> String {
    crate::model::time::format_duration(ms)
}

impl<'a> RuleCheck<'a> {
    fn push(
        &mut self,
        check: Check,
        severity: Severity,
        rule: &Rule,
        offset: usize,
        message: String,
    ) {
        self.out.push(Finding {
            check,
            severity,
            pos: locate_in(self.lines, rule.expr_pos, &rule.expr_text, offset),
            group: self.group.name.clone(),
            rule: rule.name.clone(),
            message,
        });
    }

    fn push_at(&mut self, check: Check, severity: Severity, pos: Pos, rule: &str, message: String) {
        self.out.push(Finding {
            check,
            severity,
            pos,
            group: self.group.name.clone(),
            rule: rule.to_string(),
            message,
        });
    }

    fn interval(&self) -> i64 {
        self.group.interval.unwrap_or(self.opts.evaluation_interval)
    }

    fn group_checks(&mut self) {
        let iv = self.interval();
        if iv > self.opts.lookback {
            self.push_at(
                Check::IntervalTooLong,
                Severity::Warning,
                self.group.pos,
                "",
                format!(
                    "group interval {} is longer than the {} lookback: its recorded series and alerts go stale between evaluations",
                    fmt_ms(iv),
                    fmt_ms(self.opts.lookback)
                ),
            );
        }
    }

    /// The scrape interval a selector's series are likely scraped at.
    fn scrape_interval(&self, s: &Selector) -> i64 {
        let job = s
            .matchers
            .iter()
            .find(|m| m.name == "job" && m.op == MatchOp::Equal)
            .and_then(|m| self.opts.job_intervals.get(&m.value));
        match job {
            Some(j) => *j,
            None => self
                .opts
                .job_intervals
                .values()
                .copied()
                .max()
                .unwrap_or(self.opts.scrape_interval),
        }
    }

    fn rule_checks(&mut self, r: &Rule) {
        self.expr_checks(r);
        if r.kind == RuleKind::Alerting {
            self.alert_checks(r);
        } else {
            let parts: Vec<&str> = r.name.split(':').collect();
            if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
                self.push_at(
                    Check::RecordName,
                    Severity::Info,
                    r.name_pos,
                    &r.name,
                    format!(
                        "recording rule name {:?} is not of the form level:metric:operations",
                        r.name
                    ),
                );
            }
        }
        let iv = self.interval();
        for (what, ms, pos) in [
            ("for", r.for_ms, r.for_pos),
            (
                "keep_firing_for",
                r.keep_firing_for_ms,
                r.keep_firing_for_pos,
            ),
        ] {
            if ms > 0 && ms < iv {
                self.push_at(
                    Check::ForTooShort,
                    Severity::Warning,
                    pos.unwrap_or(r.pos),
                    &r.name,
                    format!(
                        "{what}: {} is shorter than the group interval {}: it acts as {}",
                        fmt_ms(ms),
                        fmt_ms(iv),
                        fmt_ms(iv)
                    ),
                );
            }
        }
    }

    fn expr_checks(&mut self, r: &Rule) {
        let mut found: Vec<(Check, Severity, usize, String)> = Vec::new();
        r.expr.walk(&mut |e| match e {
            Expr::Call(c) => {
                let f = c.func.name();
                let Some(Expr::Matrix(m)) = c.args.first() else {
                    return;
                };
                let name = selector_name(&m.selector);
                let counter_fn = matches!(f, "rate" | "irate" | "increase" | "resets");
                if let Some(n) = name {
                    if counter_fn && !looks_like_counter(n) && !n.contains(':') {
                        found.push((
                            Check::CounterRate,
                            Severity::Info,
                            c.span.start,
                            format!("{f}() over {n}, which does not look like a counter (no _total, _count, _sum or _bucket suffix)"),
                        ));
                    }
                    if n.ends_with("_total") && matches!(f, "avg_over_time" | "sum_over_time" | "min_over_time" | "max_over_time" | "delta" | "deriv" | "idelta") {
                        found.push((
                            Check::CounterRate,
                            Severity::Warning,
                            c.span.start,
                            format!("{f}() over the counter {n}: counters reset; use rate() or increase()"),
                        ));
                    }
                }
                let needs_two = matches!(f, "rate" | "irate" | "increase" | "delta" | "idelta" | "deriv");
                if let (true, Some(range)) = (needs_two, m.range.literal_ms()) {
                    let si = self.scrape_interval(&m.selector);
                    if range < si {
                        found.push((Check::RangeTooShort, Severity::Bug, m.range.span().start,
                            format!("range [{}] is shorter than the scrape interval {}: {f}() needs two samples and returns nothing", fmt_ms(range), fmt_ms(si))));
                    } else if range < 2 * si {
                        found.push((Check::RangeTooShort, Severity::Warning, m.range.span().start,
                            format!("range [{}] is shorter than two scrape intervals ({}): {f}() misses results whenever a scrape is late or lost", fmt_ms(range), fmt_ms(2 * si))));
                    }
                }
            }
            Expr::Selector(s) => matcher_checks(&s.matchers, s.span.start, &mut found),
            Expr::Matrix(m) => matcher_checks(&m.selector.matchers, m.selector.span.start, &mut found),
            _ => {}
        });
        for (c, sev, off, msg) in found {
            self.push(c, sev, r, off, msg);
        }
    }

    fn alert_checks(&mut self, r: &Rule) {
        if !filters(&r.expr) {
            self.push(
                Check::AlwaysFires,
                Severity::Warning,
                r,
                0,
                "the expression has no comparison, absent(), and/unless or label-value matcher: the alert fires for every series it returns".into(),
            );
        }
        let header = crate::template::ALERT_HEADER.len();
        let kept = output_labels(&r.expr);
        for (i, l) in r.labels.iter().enumerate() {
            if let Some(Some(t)) = r.label_templates.get(i) {
                if t.references(header).value {
                    self.push_at(
                        Check::ValueInLabel,
                        Severity::Bug,
                        l.value_pos,
                        &r.name,
                        format!("label {:?} uses the alert's value: every new value makes a new alert (put it in an annotation)", l.name),
                    );
                }
            }
        }
        let Some(kept) = kept else { return };
        let mut rule_label_names: BTreeSet<&str> =
            self.group.labels.iter().map(|p| p.name.as_str()).collect();
        rule_label_names.extend(r.labels.iter().map(|p| p.name.as_str()));
        let templates = r
            .labels
            .iter()
            .zip(&r.label_templates)
            .chain(r.annotations.iter().zip(&r.annotation_templates));
        let mut reported = BTreeSet::new();
        for (p, t) in templates {
            let Some(t) = t else { continue };
            for name in t.references(header).labels {
                if !kept.contains(&name)
                    && name != "alertname"
                    && reported.insert((p.name.clone(), name.clone()))
                {
                    self.out.push(Finding {
                        check: Check::DroppedLabel,
                        severity: Severity::Bug,
                        pos: p.value_pos,
                        group: self.group.name.clone(),
                        rule: r.name.clone(),
                        message: format!(
                            "{:?} reads $labels.{name}, but the expression's result has no {name:?} label{}",
                            p.name,
                            if kept.is_empty() { String::from(" (it has no labels at all)") } else {
                                format!(" (only {})", kept.iter().cloned().collect::<Vec<_>>().join(", "))
                            }
                        ),
                    });
                }
            }
        }
    }
}

fn matcher_checks(
    ms: &[Matcher],
    offset: usize,
    found: &mut Vec<(Check, Severity, usize, String)>,
) {
    for m in ms {
        if !matches!(m.op, MatchOp::Regex | MatchOp::NotRegex) {
            continue;
        }
        let v = &m.value;
        let meta = v.chars().any(|c| "\\.+*?()|[]{}^$".contains(c));
        if !meta {
            let eq = if m.op == MatchOp::Regex { "=" } else { "!=" };
            found.push((
                Check::RegexNotNeeded,
                Severity::Info,
                offset,
                format!(
                    "{}{}{:?} has no regex syntax: {}{eq}{:?} says the same, faster",
                    m.name,
                    m.op.as_str(),
                    v,
                    m.name,
                    v
                ),
            ));
        } else if v.starts_with('^') || (v.ends_with('$') && !v.ends_with("\\$")) {
            found.push((
                Check::RegexNotNeeded,
                Severity::Info,
                offset,
                format!(
                    "{}{}{:?}: PromQL anchors regexes at both ends itself; ^ and $ are not needed",
                    m.name,
                    m.op.as_str(),
                    v
                ),
            ));
        }
    }
    // Matchers on one label that cannot hold together.
    let mut by_name: BTreeMap<&str, Vec<&Matcher>> = BTreeMap::new();
    for m in ms {
        by_name.entry(&m.name).or_default().push(m);
    }
    for (name, list) in by_name {
        let eqs: Vec<&str> = list
            .iter()
            .filter(|m| m.op == MatchOp::Equal)
            .map(|m| m.value.as_str())
            .collect();
        let Some(first) = eqs.first() else { continue };
        let conflict = eqs.iter().any(|v| v != first)
            || list
                .iter()
                .any(|m| m.op != MatchOp::Equal && !m.matches(first));
        if conflict {
            found.push((
                Check::NeverMatches,
                Severity::Bug,
                offset,
                format!("the matchers on {name} cannot all hold for one series: the selector never matches"),
            ));
        }
    }
}

/// Whether an alert expression can filter its result: a comparison, `absent()`, a set
/// operator, `topk`-like selection, or a selector that picks series by a label's value
/// (`info{state="down"}` fires for the series in that state only).
fn filters(e: &Expr) -> bool {
    let mut f = false;
    let picks = |s: &Selector| {
        s.matchers
            .iter()
            .any(|m| m.name != METRIC_NAME && !(m.op == MatchOp::Regex && m.value == ".*"))
    };
    e.walk(&mut |x| match x {
        Expr::Selector(s) if picks(s) => f = true,
        Expr::Matrix(m) if picks(&m.selector) => f = true,
        Expr::Binary(b)
            if (b.op.is_comparison() && !b.return_bool)
                || matches!(b.op, BinOp::And | BinOp::Unless) =>
        {
            f = true
        }
        Expr::Call(c) if matches!(c.func.name(), "absent" | "absent_over_time") => f = true,
        Expr::Aggregate(a)
            if matches!(
                a.op,
                AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio
            ) =>
        {
            f = true
        }
        _ => {}
    });
    f
}

/// The labels an expression's result can have, where the top of the expression decides
/// them (an aggregation, a function that builds its own series); `None` when any label
/// may pass through.
fn output_labels(e: &Expr) -> Option<BTreeSet<String>> {
    match e.unparen() {
        Expr::Aggregate(a) => {
            if a.without {
                return None;
            }
            let mut s: BTreeSet<String> = a.grouping.iter().cloned().collect();
            if a.op == AggOp::CountValues {
                if let Some(Expr::String { val, .. }) = a.param.as_ref().map(Expr::unparen) {
                    s.insert(val.clone());
                }
            }
            if matches!(
                a.op,
                AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio
            ) {
                return None;
            }
            Some(s)
        }
        Expr::Binary(b) => {
            let side = |x: &Expr| matches!(x.value_type(), crate::promql::ast::ValueType::Scalar);
            if side(&b.rhs) {
                return output_labels(&b.lhs);
            }
            if side(&b.lhs) {
                return output_labels(&b.rhs);
            }
            let Some(m) = &b.matching else {
                return None;
            };
            let union = |a: Option<BTreeSet<String>>, extra: &[String]| {
                a.map(|mut s| {
                    s.extend(extra.iter().cloned());
                    s
                })
            };
            match m.card {
                // One-to-one keeps the `on` labels, or the left side's less `ignoring`.
                Card::OneToOne if m.on => Some(m.labels.iter().cloned().collect()),
                Card::OneToOne => output_labels(&b.lhs)
                    .map(|s| s.into_iter().filter(|l| !m.labels.contains(l)).collect()),
                Card::ManyToOne => union(output_labels(&b.lhs), &m.include),
                Card::OneToMany => union(output_labels(&b.rhs), &m.include),
                Card::ManyToMany if b.op == BinOp::Or => {
                    let r = output_labels(&b.rhs)?;
                    union(output_labels(&b.lhs), &r.into_iter().collect::<Vec<_>>())
                }
                Card::ManyToMany => output_labels(&b.lhs),
            }
        }
        Expr::Call(c) => match c.func.name() {
            "vector" | "time" | "scalar" => Some(BTreeSet::new()),
            "absent" | "absent_over_time" => {
                let sel = match c.args.first().map(Expr::unparen) {
                    Some(Expr::Selector(s)) => Some(&**s),
                    Some(Expr::Matrix(m)) => Some(&m.selector),
                    _ => None,
                };
                Some(sel.map_or_else(BTreeSet::new, |s| {
                    s.matchers
                        .iter()
                        .filter(|m| m.op == MatchOp::Equal && m.name != METRIC_NAME)
                        .map(|m| m.name.clone())
                        .collect()
                }))
            }
            _ => None,
        },
        Expr::Number { .. } => Some(BTreeSet::new()),
        _ => None,
    }
}
