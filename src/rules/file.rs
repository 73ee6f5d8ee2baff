//! Rule files, Prometheus 3.x's format, decoded strictly with positions kept.
//!
//! ```text
//! groups:
//!   - name: node                 # unique in the file
//!     interval: 1m               # optional; the evaluation interval otherwise
//!     query_offset: 30s          # optional: evaluate at t - offset
//!     limit: 0                   # optional: most series or alerts a rule may produce
//!     labels: {team: infra}      # optional: added to every rule's output
//!     rules:
//!       - record: job:up:sum     # a recording rule ...
//!         expr: sum by (job) (up)
//!         labels: {...}
//!       - alert: InstanceDown    # ... or an alerting rule
//!         expr: up == 0
//!         for: 5m
//!         keep_firing_for: 0s
//!         labels: {severity: page}
//!         annotations: {summary: "{{ $labels.instance }} down"}
//! ```
//!
//! [`parse`] reads a file into [`RuleFile`], a value the evaluator runs as it is: every
//! expression parsed and every label and annotation template parsed once. Problems are
//! [`FileError`]s worded as Prometheus's `rulefmt` words them, each with the line and
//! column of the node at fault. As in Prometheus, decoding errors (unknown fields, values
//! of the wrong kind, bad durations) stop the file before validation, and all of them are
//! reported, not only the first; an empty file, one of only comments and `groups: []` are
//! valid and hold no group.
//!
//! Names follow Prometheus 3.x's UTF-8 validation: a label name is refused only when empty
//! or `__name__`, a recording rule's name only when it holds braces. Beyond `rulefmt`, an
//! expression must be a vector or a scalar (Prometheus finds a range vector or a string
//! only when the rule first runs: `rule result is not a vector or scalar`).

use std::collections::HashSet;
use std::fmt;

use crate::promql::{self, ast::ValueType, Expr};
use crate::template::{self, Template};
use crate::yaml::{self, Kind, Node, Pos};

/// A parsed rule file.
#[derive(Clone, Debug, Default)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

/// A rule group.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    /// Where the group's mapping starts.
    pub pos: Pos,
    /// Milliseconds; none means the evaluation interval.
    pub interval: Option<i64>,
    /// Milliseconds.
    pub query_offset: Option<i64>,
    /// 0 is no limit.
    pub limit: i64,
    pub labels: Vec<Pair>,
    pub rules: Vec<Rule>,
}

/// A label or annotation as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub name: String,
    pub value: String,
    /// Where the name is.
    pub pos: Pos,
    /// Where the value is.
    pub value_pos: Pos,
}

/// Recording or alerting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Recording,
    Alerting,
}

/// One rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub kind: RuleKind,
    /// The `record` or `alert` name.
    pub name: String,
    /// Where the rule's mapping starts.
    pub pos: Pos,
    /// Where the name is.
    pub name_pos: Pos,
    pub expr: Expr,
    pub expr_text: String,
    /// Where the expression's text starts (its first character, also for block scalars).
    pub expr_pos: Pos,
    /// Milliseconds.
    pub for_ms: i64,
    pub for_pos: Option<Pos>,
    /// Milliseconds.
    pub keep_firing_for_ms: i64,
    pub keep_firing_for_pos: Option<Pos>,
    pub labels: Vec<Pair>,
    pub annotations: Vec<Pair>,
    /// Parsed templates of alert labels, then of annotations, by index in those lists.
    pub label_templates: Vec<Option<Template>>,
    pub annotation_templates: Vec<Option<Template>>,
}

/// A problem in a rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub pos: Pos,
    /// The group, the rule's 1-based index in it and the rule's name, where it applies.
    pub rule: Option<(String, usize, String)>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.pos)?;
        if let Some((group, index, name)) = &self.rule {
            write!(
                f,
                " group {}, rule {index}, {}:",
                template::fmt::quote(group),
                template::fmt::quote(name)
            )?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for FileError {}

fn error(pos: Pos, message: impl Into<String>) -> FileError {
    FileError {
        pos,
        rule: None,
        message: message.into(),
    }
}

/// Options of [`parse`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ParseOptions {
    /// Accept fields the format does not know (promtool's `--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
}

/// Parses a rule file; on failure, every problem found.
pub fn parse(text: &str, opts: ParseOptions) -> Result<RuleFile, Vec<FileError>> {
    let root = yaml::parse(text).map_err(|e| vec![error(e.pos, e.msg)])?;
    let mut d = Decoder {
        errors: Vec::new(),
        opts,
    };
    let raw = d.file(&root);
    if !d.errors.is_empty() {
        d.errors.sort_by_key(|e| e.pos);
        return Err(d.errors);
    }
    validate(raw)
}

/// A group as decoded, before validation.
struct RawGroup<'a> {
    pos: Pos,
    name: Option<(&'a str, Pos)>,
    interval: Option<i64>,
    query_offset: Option<i64>,
    limit: i64,
    labels: Vec<Pair>,
    rules: Vec<RawRule<'a>>,
}

struct RawRule<'a> {
    pos: Pos,
    record: Option<(&'a str, Pos)>,
    alert: Option<(&'a str, Pos)>,
    expr: Option<(&'a str, Pos)>,
    for_: Option<(i64, Pos)>,
    keep_firing_for: Option<(i64, Pos)>,
    labels: Vec<Pair>,
    annotations: Vec<Pair>,
}

struct Decoder {
    errors: Vec<FileError>,
    opts: ParseOptions,
}

impl Decoder {
    /// The fields of a mapping; unknown ones are recorded when `finish`ed.
    fn fields<'a>(&mut self, n: &'a Node, ty: &'static str) -> Option<yaml::Fields<'a>> {
        match n.map(ty) {
            Ok(f) => Some(f),
            Err(_) => {
                self.errors.push(error(
                    n.pos,
                    format!("cannot unmarshal {} into {ty}", describe(n)),
                ));
                None
            }
        }
    }

    fn finish(&mut self, f: yaml::Fields<'_>, ty: &'static str) {
        if self.opts.ignore_unknown_fields {
            return;
        }
        for (k, _) in f.rest() {
            let name = match &k.kind {
                Kind::Scalar { text, .. } => text.clone(),
                _ => k.kind_name().to_string(),
            };
            self.errors
                .push(error(k.pos, format!("field {name} not found in type {ty}")));
        }
    }

    fn string<'a>(&mut self, n: Option<&'a Node>, ty: &str) -> Option<(&'a str, Pos)> {
        let n = n?;
        match &n.kind {
            Kind::Scalar { text, .. } => Some((text.as_str(), n.pos)),
            _ => {
                self.errors.push(error(
                    n.pos,
                    format!("cannot unmarshal {} into {ty}", describe(n)),
                ));
                None
            }
        }
    }

    fn duration(&mut self, n: Option<&Node>) -> Option<(i64, Pos)> {
        let (s, pos) = self.string(n, "model.Duration")?;
        match crate::model::time::parse_model_duration(s) {
            Ok(ms) => Some((ms, pos)),
            Err(e) => {
                self.errors.push(error(pos, e));
                None
            }
        }
    }

    fn int(&mut self, n: Option<&Node>) -> i64 {
        let Some(n) = n else { return 0 };
        if let Kind::Scalar {
            text,
            quoted: false,
        } = &n.kind
        {
            let t = text.replace('_', "");
            let v = if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok()
            } else {
                t.parse::<i64>().ok()
            };
            if let Some(v) = v {
                return v;
            }
        }
        self.errors.push(error(
            n.pos,
            format!("cannot unmarshal {} into int", describe(n)),
        ));
        0
    }

    fn pairs(&mut self, n: Option<&Node>) -> Vec<Pair> {
        let Some(n) = n else { return Vec::new() };
        let entries = match &n.kind {
            Kind::Map(e) => e,
            _ => {
                self.errors.push(error(
                    n.pos,
                    format!("cannot unmarshal {} into map[string]string", describe(n)),
                ));
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let name = self.string(Some(k), "string");
            let value = match &v.kind {
                Kind::Null => Some(("", v.pos)),
                _ => self.string(Some(v), "string"),
            };
            if let (Some((name, pos)), Some((value, value_pos))) = (name, value) {
                out.push(Pair {
                    name: name.to_string(),
                    value: value.to_string(),
                    pos,
                    value_pos,
                });
            }
        }
        out
    }

    fn file<'a>(&mut self, root: &'a Node) -> Vec<RawGroup<'a>> {
        let Some(mut f) = self.fields(root, "rulefmt.RuleGroups") else {
            return Vec::new();
        };
        let groups = f.get("groups");
        self.finish(f, "rulefmt.RuleGroups");
        let Some(groups) = groups else {
            return Vec::new();
        };
        let items = match groups.seq() {
            Ok(v) => v,
            Err(_) => {
                self.errors.push(error(
                    groups.pos,
                    format!(
                        "cannot unmarshal {} into []rulefmt.RuleGroup",
                        describe(groups)
                    ),
                ));
                return Vec::new();
            }
        };
        items.iter().filter_map(|g| self.group(g)).collect()
    }

    fn group<'a>(&mut self, n: &'a Node) -> Option<RawGroup<'a>> {
        let ty = "rulefmt.RuleGroup";
        let mut f = self.fields(n, ty)?;
        let name = f.get("name");
        let interval = f.get("interval");
        let query_offset = f.get("query_offset");
        let limit = f.get("limit");
        let labels = f.get("labels");
        let rules = f.get("rules");
        self.finish(f, ty);
        let mut raw_rules = Vec::new();
        if let Some(r) = rules {
            match r.seq() {
                Ok(items) => raw_rules = items.iter().filter_map(|r| self.rule(r)).collect(),
                Err(_) => self.errors.push(error(
                    r.pos,
                    format!("cannot unmarshal {} into []rulefmt.Rule", describe(r)),
                )),
            }
        }
        Some(RawGroup {
            pos: n.pos,
            name: self.string(name, "string"),
            interval: self.duration(interval).map(|d| d.0),
            query_offset: self.duration(query_offset).map(|d| d.0),
            limit: self.int(limit),
            labels: self.pairs(labels),
            rules: raw_rules,
        })
    }

    fn rule<'a>(&mut self, n: &'a Node) -> Option<RawRule<'a>> {
        let ty = "rulefmt.Rule";
        let mut f = self.fields(n, ty)?;
        let record = f.get("record");
        let alert = f.get("alert");
        let expr = f.get("expr");
        let for_ = f.get("for");
        let keep = f.get("keep_firing_for");
        let labels = f.get("labels");
        let annotations = f.get("annotations");
        self.finish(f, ty);
        Some(RawRule {
            pos: n.pos,
            record: self.string(record, "string"),
            alert: self.string(alert, "string"),
            expr: self.string(expr, "string"),
            for_: self.duration(for_),
            keep_firing_for: self.duration(keep),
            labels: self.pairs(labels),
            annotations: self.pairs(annotations),
        })
    }
}

/// yaml.v3's words for a node in `cannot unmarshal` errors.
fn describe(n: &Node) -> String {
    match &n.kind {
        Kind::Scalar { text, quoted } => {
            let tag = if *quoted {
                "!!str"
            } else if text.parse::<i64>().is_ok() {
                "!!int"
            } else if text.parse::<f64>().is_ok() {
                "!!float"
            } else if matches!(text.as_str(), "true" | "false") {
                "!!bool"
            } else {
                "!!str"
            };
            format!("{tag} `{text}`")
        }
        _ => n.kind_name().to_string(),
    }
}

fn validate(raw: Vec<RawGroup<'_>>) -> Result<RuleFile, Vec<FileError>> {
    use rayon::prelude::*;
    let mut seen = HashSet::new();
    let mut name_errors: Vec<Option<FileError>> = Vec::with_capacity(raw.len());
    for g in &raw {
        let (name, name_pos) = g.name.unwrap_or(("", g.pos));
        name_errors.push(if name.is_empty() {
            Some(error(name_pos, "Groupname must not be empty"))
        } else if !seen.insert(name) {
            Some(error(
                name_pos,
                format!(
                    "groupname: {} is repeated in the same file",
                    template::fmt::quote(name)
                ),
            ))
        } else {
            None
        });
    }
    // Groups are validated in parallel (each rule's expression and templates are parsed
    // here); errors keep the file's order.
    let checked: Vec<(Group, Vec<FileError>)> = raw
        .into_par_iter()
        .map(|g| {
            let mut errors = Vec::new();
            let (name, _) = g.name.unwrap_or(("", g.pos));
            for l in &g.labels {
                if let Some(m) = label_name_error(&l.name) {
                    errors.push(error(l.pos, m));
                }
            }
            let mut rules = Vec::with_capacity(g.rules.len());
            for (i, r) in g.rules.into_iter().enumerate() {
                let rule_name = r.alert.or(r.record).map_or("", |x| x.0).to_string();
                let mut push = |pos: Pos, message: String| {
                    errors.push(FileError {
                        pos,
                        rule: Some((name.to_string(), i + 1, rule_name.clone())),
                        message,
                    });
                };
                if let Some(rule) = validate_rule(r, &mut push) {
                    rules.push(rule);
                }
            }
            let group = Group {
                name: name.to_string(),
                pos: g.pos,
                interval: g.interval,
                query_offset: g.query_offset,
                limit: g.limit,
                labels: g.labels,
                rules,
            };
            (group, errors)
        })
        .collect();
    let mut errors = Vec::new();
    let mut groups = Vec::with_capacity(checked.len());
    for ((g, e), n) in checked.into_iter().zip(name_errors) {
        errors.extend(n);
        errors.extend(e);
        groups.push(g);
    }
    if errors.is_empty() {
        Ok(RuleFile { groups })
    } else {
        Err(errors)
    }
}

fn label_name_error(name: &str) -> Option<String> {
    (name.is_empty() || name == crate::model::METRIC_NAME)
        .then(|| format!("invalid label name: {name}"))
}

fn validate_rule(r: RawRule<'_>, push: &mut impl FnMut(Pos, String)) -> Option<Rule> {
    let record = r.record.filter(|x| !x.0.is_empty());
    let alert = r.alert.filter(|x| !x.0.is_empty());
    let mut ok = true;
    let (kind, (name, name_pos)) = match (record, alert) {
        (Some(rec), Some(_)) => {
            push(rec.1, "only one of 'record' and 'alert' must be set".into());
            ok = false;
            (RuleKind::Recording, rec)
        }
        (None, None) => {
            push(r.pos, "one of 'record' or 'alert' must be set".into());
            ok = false;
            (RuleKind::Recording, ("", r.pos))
        }
        (Some(rec), None) => (RuleKind::Recording, rec),
        (None, Some(a)) => (RuleKind::Alerting, a),
    };
    let (expr_text, expr_pos) = r.expr.unwrap_or(("", r.pos));
    let mut expr = None;
    if expr_text.is_empty() {
        push(expr_pos, "field 'expr' must be set in rule".into());
        ok = false;
    } else {
        match promql::parse(expr_text) {
            Ok(e) => {
                let t = e.value_type();
                if matches!(t, ValueType::Matrix | ValueType::String) {
                    push(
                        expr_pos,
                        format!(
                            "rule result is not a vector or scalar: the expression is a {}",
                            t.documented()
                        ),
                    );
                    ok = false;
                }
                expr = Some(e);
            }
            Err(e) => {
                push(expr_pos, format!("could not parse expression: {e}"));
                ok = false;
            }
        }
    }
    if record.is_some() {
        if let Some(a) = r.annotations.first() {
            push(
                a.pos,
                "invalid field 'annotations' in recording rule".into(),
            );
            ok = false;
        }
        if let Some((ms, pos)) = r.for_ {
            if ms != 0 {
                push(pos, "invalid field 'for' in recording rule".into());
                ok = false;
            }
        }
        if let Some((ms, pos)) = r.keep_firing_for {
            if ms != 0 {
                push(
                    pos,
                    "invalid field 'keep_firing_for' in recording rule".into(),
                );
                ok = false;
            }
        }
        if name.contains(['{', '}']) {
            push(
                name_pos,
                format!("braces present in the recording rule name; should it be in expr?: {name}"),
            );
            ok = false;
        }
    }
    for l in &r.labels {
        if let Some(m) = label_name_error(&l.name) {
            push(l.pos, m);
            ok = false;
        }
    }
    for a in &r.annotations {
        if a.name.is_empty() {
            push(a.pos, format!("invalid annotation name: {}", a.name));
            ok = false;
        }
    }
    let mut label_templates = Vec::new();
    let mut annotation_templates = Vec::new();
    if kind == RuleKind::Alerting && alert.is_some() {
        for (what, pairs, out) in [
            ("label", &r.labels, &mut label_templates),
            ("annotation", &r.annotations, &mut annotation_templates),
        ] {
            for p in pairs {
                if !p.value.contains("{{") {
                    // Plain text: nothing to parse, expanded as it is.
                    out.push(None);
                    continue;
                }
                match template::parse_alert(name, &p.value) {
                    Ok(t) => out.push(Some(t)),
                    Err(template::ExpandError::Parse(_, e)) => {
                        push(
                            p.value_pos,
                            format!("{what} {}: {e}", template::fmt::quote(&p.name)),
                        );
                        ok = false;
                        out.push(None);
                    }
                    Err(e) => {
                        push(
                            p.value_pos,
                            format!("{what} {}: {e}", template::fmt::quote(&p.name)),
                        );
                        ok = false;
                        out.push(None);
                    }
                }
            }
        }
    }
    if !ok {
        return None;
    }
    Some(Rule {
        kind,
        name: name.to_string(),
        pos: r.pos,
        name_pos,
        expr: expr?,
        expr_text: expr_text.to_string(),
        expr_pos,
        for_ms: r.for_.map_or(0, |x| x.0),
        for_pos: r.for_.map(|x| x.1),
        keep_firing_for_ms: r.keep_firing_for.map_or(0, |x| x.0),
        keep_firing_for_pos: r.keep_firing_for.map(|x| x.1),
        labels: r.labels,
        annotations: r.annotations,
        label_templates,
        annotation_templates,
    })
}

impl RuleFile {
    /// How many rules the file holds.
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<String> {
        parse(text, ParseOptions::default())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn empty_files_are_valid() {
        for t in ["", "# only a comment\n", "groups: []\n", "groups:\n"] {
            assert_eq!(
                parse(t, ParseOptions::default()).unwrap().groups.len(),
                0,
                "{t:?}"
            );
        }
    }

    #[test]
    fn errors_read_as_rulefmt() {
        assert_eq!(
            errs("groups:\n- name: a\n  namespace: x\n  rules:\n  - record: r\n    expr: up\n    bogus: 1\n"),
            vec![
                "3:3: field namespace not found in type rulefmt.RuleGroup",
                "7:5: field bogus not found in type rulefmt.Rule"
            ]
        );
        assert_eq!(
            errs("groups:\n- name: a\n  rules:\n  - record: x\n    expr: 'test +'\n"),
            vec!["5:11: group \"a\", rule 1, \"x\": could not parse expression: 1:7: parse error: unexpected end of input"]
        );
        assert_eq!(
            errs("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: '{{ $label.x }}'\n"),
            vec!["7:10: group \"a\", rule 1, \"A\": annotation \"s\": template: __alert_A:1: undefined variable \"$label\""]
        );
        assert_eq!(
            errs("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n"),
            vec!["4:9: groupname: \"a\" is repeated in the same file"]
        );
        assert_eq!(
            errs("groups:\n- name: a\n  rules:\n  - expr: up\n"),
            vec!["4:5: group \"a\", rule 1, \"\": one of 'record' or 'alert' must be set"]
        );
        assert_eq!(
            errs("groups:\n- name: a\n  rules:\n  - record: r\n    expr: up\n    for: 5x\n"),
            vec!["6:10: unknown unit \"x\" in duration \"5x\""]
        );
        assert_eq!(
            errs("groups:\n- name: a\n  rules:\n  - record: r\n    expr: up[5m]\n"),
            vec!["5:11: group \"a\", rule 1, \"r\": rule result is not a vector or scalar: the expression is a range vector"]
        );
    }
}
