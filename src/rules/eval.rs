//! Evaluating rule groups: the one evaluator behind `rules test` and (later) `rules eval`.
//!
//! A group is evaluated at a time `ts` rule by rule, in file order: each rule queries at
//! `ts - query_offset` through the caller's query function, its output (recorded series,
//! or `ALERTS`/`ALERTS_FOR_STATE`) is handed to the caller's append function before the
//! next rule runs (so later rules see it), and series a rule returned last time but not
//! now get a staleness marker. State between evaluations is plain data ([`GroupState`]);
//! the query backend and the storage are the caller's, so a unit test's in-memory series
//! and a data dir run through the same code.

use std::collections::BTreeMap;

use super::alert::{self, AlertState, TemplateContext};
use super::file::{Group, Pair, Rule, RuleKind};
use super::lint::merged_labels;
use crate::model::{stale_nan, Labels, METRIC_NAME};
use crate::promql::{Expr, Value};

/// An instant query at a time, as the rules manager runs it.
pub type QueryFn<'a> = dyn Fn(&Expr, i64) -> Result<Value, String> + 'a;
/// Appends one sample; an error is the rule's (out of order, duplicate).
pub type AppendFn<'a> = dyn FnMut(&Labels, i64, f64) -> Result<(), String> + 'a;

/// A query result as rules take it (Prometheus's `EngineQueryFunc`): a vector, or a scalar
/// as one sample without labels.
pub fn rule_vector(v: Value) -> Result<Vec<(Labels, f64)>, String> {
    match v {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::new(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// What one rule keeps between evaluations.
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    /// The series the last evaluation wrote.
    pub previous: Vec<Labels>,
    pub alerts: AlertState,
    /// The last evaluation's error.
    pub last_error: Option<String>,
}

/// What a group keeps between evaluations: one [`RuleState`] per rule.
#[derive(Clone, Debug, Default)]
pub struct GroupState {
    pub rules: Vec<RuleState>,
    /// Whether alert state is restored: until then (the first two evaluations after a
    /// start) no `ALERTS`/`ALERTS_FOR_STATE` are written, as in Prometheus.
    pub restored: bool,
    /// Series of rules gone from the group (a reload), marked stale after the next
    /// evaluation unless a rule of the group wrote them.
    pub stale: Vec<Labels>,
}

impl GroupState {
    pub fn new(group: &Group) -> GroupState {
        GroupState {
            rules: vec![RuleState::default(); group.rules.len()],
            restored: true,
            stale: Vec::new(),
        }
    }
}

/// Settings shared by all groups.
pub struct Context<'a> {
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
    /// `externalURL` for templates; none in unit tests, as in Prometheus.
    pub url: Option<&'a str>,
    /// Write `ALERTS` and `ALERTS_FOR_STATE`.
    pub write_alert_series: bool,
    /// The query offset of groups that set none.
    pub default_query_offset: i64,
}

/// A recording rule's output: its result renamed, the rule's labels applied.
fn record(
    rule: &Rule,
    labels: &[(String, String)],
    samples: Vec<(Labels, f64)>,
    limit: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let mut out: Vec<(Labels, f64)> = Vec::with_capacity(samples.len());
    for (l, v) in samples {
        let mut m: BTreeMap<String, String> = l
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        m.insert(METRIC_NAME.into(), rule.name.clone());
        for (k, val) in labels {
            if val.is_empty() {
                m.remove(k);
            } else {
                m.insert(k.clone(), val.clone());
            }
        }
        out.push((alert::labels_from(m), v));
    }
    let mut seen: Vec<&Labels> = out.iter().map(|x| &x.0).collect();
    seen.sort();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(
            "vector contains metrics with the same labelset after applying rule labels".into(),
        );
    }
    if limit > 0 && out.len() as i64 > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

/// Evaluates `group` at `ts`.
pub fn eval_group(
    group: &Group,
    state: &mut GroupState,
    ts: i64,
    ctx: &Context<'_>,
    query: &QueryFn<'_>,
    append: &mut AppendFn<'_>,
) {
    let offset = group.query_offset.unwrap_or(ctx.default_query_offset);
    let at = ts - offset;
    let template_query = |q: &str| -> Result<Vec<crate::template::QuerySample>, String> {
        let e = crate::promql::parse(q).map_err(|e| e.to_string())?;
        let v = rule_vector(query(&e, ts)?)?;
        Ok(v.into_iter()
            .map(|(l, value)| crate::template::QuerySample {
                labels: l
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
                value,
            })
            .collect())
    };
    let tctx = TemplateContext {
        external_labels: ctx.external_labels,
        external_url: ctx.external_url,
        url: ctx.url,
        query: Some(&template_query),
    };
    let restored = state.restored;
    for (rule, rs) in group.rules.iter().zip(state.rules.iter_mut()) {
        let output = query(&rule.expr, at)
            .and_then(rule_vector)
            .and_then(|samples| match rule.kind {
                RuleKind::Recording => record(
                    rule,
                    &merged_labels(&group.labels, &rule.labels),
                    samples,
                    group.limit,
                ),
                RuleKind::Alerting => {
                    let pairs = merged_pairs(&group.labels, &rule.labels);
                    alert::eval(
                        rule,
                        &pairs,
                        &mut rs.alerts,
                        samples,
                        ts,
                        group.limit,
                        ctx.write_alert_series && restored,
                        &tctx,
                    )
                }
            });
        let output = match output {
            Ok(o) => o,
            Err(e) => {
                rs.last_error = Some(e);
                continue;
            }
        };
        rs.last_error = None;
        let mut returned = Vec::with_capacity(output.len());
        for (l, v) in output {
            match append(&l, at, v) {
                Ok(()) => returned.push(l),
                Err(e) => rs.last_error = Some(e),
            }
        }
        returned.sort();
        for l in &rs.previous {
            if returned.binary_search(l).is_err() {
                let _ = append(l, at, stale_nan());
            }
        }
        rs.previous = returned;
    }
    for l in std::mem::take(&mut state.stale) {
        if !state
            .rules
            .iter()
            .any(|r| r.previous.binary_search(&l).is_ok())
        {
            let _ = append(&l, at, stale_nan());
        }
    }
}

/// Group labels overlaid by rule labels, as pairs (for alert templates).
fn merged_pairs(group: &[Pair], rule: &[Pair]) -> Vec<Pair> {
    let mut m: BTreeMap<&str, &Pair> = BTreeMap::new();
    for p in group.iter().chain(rule) {
        m.insert(&p.name, p);
    }
    m.into_values().cloned().collect()
}
