//! Alert state: one alerting rule's active alerts as plain data, and the step that moves
//! them on at each evaluation, exactly as Prometheus's rules manager does.
//!
//! ```text
//!            result has it           held for `for`
//!  (none) ───────────────▶ pending ───────────────▶ firing
//!                             │ result lacks it        │ result lacks it, and
//!                             ▼                        │ `keep_firing_for` is over
//!                          deleted                     ▼
//!                                                  inactive (resolved) ── kept 15 m, then deleted
//! ```
//!
//! Each evaluation expands the rule's label and annotation templates per result sample,
//! builds the alert's labels (the sample's labels without `__name__`, the rule's labels
//! expanded, an empty one removed, `alertname`), and returns the `ALERTS` and
//! `ALERTS_FOR_STATE` samples of every pending or firing alert.

use std::collections::BTreeMap;

use super::file::{Pair, Rule};
use crate::model::{Label, Labels, METRIC_NAME};
use crate::template::{self, AlertData, Env, Template};

/// How long a resolved alert is kept (Prometheus's `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Inactive,
    Pending,
    Firing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Pending => "pending",
            State::Firing => "firing",
        }
    }
}

/// One alert. Times are milliseconds since the epoch; 0 is "not set", as Go's zero time.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    /// Expanded annotations, sorted by name; empty values kept.
    pub annotations: Vec<(String, String)>,
    pub state: State,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: i64,
    pub resolved_at: i64,
    pub keep_firing_since: i64,
    /// When it was last sent to Alertmanager.
    pub last_sent_at: i64,
    /// The `endsAt` of its last sending while firing.
    pub valid_until: i64,
}

/// An alerting rule's alerts, by label set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertState {
    pub active: BTreeMap<Labels, Alert>,
}

/// What templates see besides the sample: external labels and URL, the query backend.
pub struct TemplateContext<'a> {
    pub external_labels: &'a BTreeMap<String, String>,
    /// The `external_url` of the data (`$externalURL`).
    pub external_url: &'a str,
    /// What `externalURL` and `pathPrefix` return; none where Prometheus has no URL (unit
    /// tests), which makes them fail as Prometheus's do.
    pub url: Option<&'a str>,
    pub query: Option<&'a template::funcs::QueryFn<'a>>,
}

/// Expands one template text for a sample.
fn expand(
    rule: &Rule,
    parsed: Option<&Template>,
    text: &str,
    data: &AlertData<'_>,
    env: &Env<'_>,
) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let result = match parsed {
        Some(t) => t
            .execute(data.to_value(), env)
            .map_err(|e| template::ExpandError::Exec(format!("__alert_{}", rule.name), e)),
        None => template::expand_alert(&rule.name, text, data, env),
    };
    match result {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

/// One evaluation of an alerting rule at `ts` over its query result `samples`: updates
/// `state` and returns the `ALERTS` / `ALERTS_FOR_STATE` samples when `write_series` (the
/// caller appends them at the evaluation time less the query offset).
#[allow(clippy::too_many_arguments)]
pub fn eval(
    rule: &Rule,
    rule_labels: &[Pair],
    state: &mut AlertState,
    samples: Vec<(Labels, f64)>,
    ts: i64,
    limit: i64,
    write_series: bool,
    ctx: &TemplateContext<'_>,
) -> Result<Vec<(Labels, f64)>, String> {
    let env = Env {
        external_url: ctx.url,
        time_ms: ts,
        query: ctx.query,
    };
    // Which parsed template goes with each merged label (group labels are parsed here).
    let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
    for (labels, value) in samples {
        let map: BTreeMap<String, String> = labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        let data = AlertData {
            labels: &map,
            external_labels: ctx.external_labels,
            external_url: ctx.external_url,
            value,
        };
        let mut out: BTreeMap<String, String> = map.clone();
        out.remove(METRIC_NAME);
        for p in rule_labels {
            let parsed = rule
                .labels
                .iter()
                .position(|l| l.name == p.name && l.value == p.value)
                .and_then(|i| rule.label_templates.get(i))
                .and_then(Option::as_ref);
            let v = expand(rule, parsed, &p.value, &data, &env);
            if v.is_empty() {
                out.remove(&p.name);
            } else {
                out.insert(p.name.clone(), v);
            }
        }
        out.insert("alertname".into(), rule.name.clone());
        let mut annotations: Vec<(String, String)> = rule
            .annotations
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let parsed = rule.annotation_templates.get(i).and_then(Option::as_ref);
                (a.name.clone(), expand(rule, parsed, &a.value, &data, &env))
            })
            .collect();
        annotations.sort();
        let labels = labels_from(out);
        if fresh.contains_key(&labels) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        fresh.insert(
            labels.clone(),
            Alert {
                labels,
                annotations,
                state: State::Pending,
                value,
                active_at: ts,
                fired_at: 0,
                resolved_at: 0,
                keep_firing_since: 0,
                last_sent_at: 0,
                valid_until: 0,
            },
        );
    }
    let result_keys: Vec<Labels> = fresh.keys().cloned().collect();
    for (k, a) in fresh {
        match state.active.get_mut(&k) {
            Some(old) if old.state != State::Inactive => {
                old.value = a.value;
                old.annotations = a.annotations;
            }
            _ => {
                state.active.insert(k, a);
            }
        }
    }
    let hold = rule.for_ms;
    let mut out = Vec::new();
    let mut active_count: i64 = 0;
    let mut remove = Vec::new();
    for (k, a) in state.active.iter_mut() {
        if result_keys.binary_search(k).is_err() {
            let mut keep_firing = false;
            if a.state == State::Firing && rule.keep_firing_for_ms > 0 {
                if a.keep_firing_since == 0 {
                    a.keep_firing_since = ts;
                }
                if ts - a.keep_firing_since < rule.keep_firing_for_ms {
                    keep_firing = true;
                }
            }
            if a.state == State::Pending
                || (a.resolved_at != 0 && ts - a.resolved_at > RESOLVED_RETENTION_MS)
            {
                remove.push(k.clone());
            }
            if a.state != State::Inactive && !keep_firing {
                a.state = State::Inactive;
                a.resolved_at = ts;
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = 0;
        }
        active_count += 1;
        if a.state == State::Pending && ts - a.active_at >= hold {
            a.state = State::Firing;
            a.fired_at = ts;
        }
        if a.state == State::Firing && ts - a.active_at < hold {
            a.state = State::Pending;
            a.fired_at = 0;
            a.keep_firing_since = 0;
        }
        if write_series {
            out.push((series(rule_labels, a, &rule.name, Some(a.state)), 1.0));
            out.push((
                series(rule_labels, a, &rule.name, None),
                (a.active_at.div_euclid(1000)) as f64,
            ));
        }
    }
    for k in remove {
        state.active.remove(&k);
    }
    if limit > 0 && active_count > limit {
        state.active.clear();
        return Err(format!(
            "exceeded limit of {limit} with {active_count} alerts"
        ));
    }
    Ok(out)
}

/// `ALERTS` (with `alertstate`) or `ALERTS_FOR_STATE` (without) for an alert: the rule's
/// raw labels, overlaid by the alert's.
fn series(rule_labels: &[Pair], a: &Alert, name: &str, state: Option<State>) -> Labels {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for p in rule_labels {
        if !p.value.is_empty() {
            m.insert(p.name.clone(), p.value.clone());
        }
    }
    for l in a.labels.iter() {
        m.insert(l.name.clone(), l.value.clone());
    }
    let metric = match state {
        Some(_) => "ALERTS",
        None => "ALERTS_FOR_STATE",
    };
    m.insert(METRIC_NAME.into(), metric.into());
    m.insert("alertname".into(), name.into());
    if let Some(s) = state {
        m.insert("alertstate".into(), s.as_str().into());
    }
    labels_from(m)
}

/// Labels from a sorted map, empty values dropped.
pub fn labels_from(m: BTreeMap<String, String>) -> Labels {
    let v: Vec<Label> = m
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, value)| Label { name, value })
        .collect();
    Labels::from_sorted(v).unwrap_or_default()
}

impl AlertState {
    /// The firing alerts (what unit tests compare).
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.active.values().filter(|a| a.state == State::Firing)
    }
}

/// How often a firing alert is sent again (Prometheus's `--rules.alert.resend-delay`).
pub const RESEND_DELAY_MS: i64 = 60_000;
/// How far back `ALERTS_FOR_STATE` is looked up on restore (`--rules.alert.for-outage-tolerance`).
pub const OUTAGE_TOLERANCE_MS: i64 = 60 * 60_000;
/// The least time a restored alert waits before firing (`--rules.alert.for-grace-period`).
pub const FOR_GRACE_PERIOD_MS: i64 = 10 * 60_000;

/// Whether an alert is due to be sent at `ts` (Prometheus's `needsSending`): never while
/// pending; at once when resolved since its last sending; otherwise once the resend delay
/// has passed.
fn needs_sending(a: &Alert, ts: i64, resend_delay: i64) -> bool {
    if a.state == State::Pending {
        return false;
    }
    if a.resolved_at > a.last_sent_at {
        return true;
    }
    a.last_sent_at + resend_delay < ts
}

/// The alerts of a rule to send after its evaluation at `ts`, marked as sent: a firing one
/// valid for four times the larger of the group interval and the resend delay, so that two
/// failed rounds or sendings do not resolve it.
pub fn sends(state: &mut AlertState, ts: i64, resend_delay: i64, interval: i64) -> Vec<Alert> {
    let mut out = Vec::new();
    for a in state.active.values_mut() {
        if needs_sending(a, ts, resend_delay) {
            a.last_sent_at = ts;
            a.valid_until = ts + 4 * resend_delay.max(interval);
            out.push(a.clone());
        }
    }
    out
}

/// The matchers of a rule's `ALERTS_FOR_STATE` series: the metric name, `alertname` and the
/// rule's labels as written (Prometheus's `QueryForStateSeries`).
pub fn for_state_matchers(rule: &Rule, rule_labels: &[Pair]) -> Vec<(String, String)> {
    let mut m: BTreeMap<String, String> = rule_labels
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    m.insert(METRIC_NAME.into(), "ALERTS_FOR_STATE".into());
    m.insert("alertname".into(), rule.name.clone());
    m.into_iter().collect()
}

/// Restores the `for` state of a rule's active alerts at `ts` from the last sample of each
/// one's `ALERTS_FOR_STATE` series in the outage window (`series`: labels without
/// `__name__`, last sample's time in ms and value), as Prometheus's `RestoreForState` does
/// after a restart: an alert that was pending continues from where it was, shifted by the
/// outage, and waits at least the grace period; one that was firing fires again at its next
/// evaluation. Rules held for less than the grace period are not restored.
pub fn restore(rule: &Rule, state: &mut AlertState, ts: i64, series: &[(Labels, i64, f64)]) {
    let hold = rule.for_ms;
    if hold < FOR_GRACE_PERIOD_MS || series.is_empty() {
        return;
    }
    let secs = |ms: i64| ms.div_euclid(1000) * 1000;
    for a in state.active.values_mut() {
        let Some((_, t, v)) = series.iter().find(|(l, _, _)| *l == a.labels) else {
            continue;
        };
        if crate::model::is_stale_nan(*v) {
            continue;
        }
        let down_at = secs(*t);
        let mut active_at = (*v as i64).saturating_mul(1000);
        let remaining = hold - (down_at - active_at);
        if remaining <= 0 {
        } else if remaining < FOR_GRACE_PERIOD_MS {
            active_at = ts + FOR_GRACE_PERIOD_MS - hold;
        } else {
            active_at += ts - down_at;
        }
        a.active_at = active_at;
    }
}
