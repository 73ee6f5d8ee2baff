//! Aggregation operators: `sum avg count min max group stddev stdvar quantile` (one value
//! per group), `topk bottomk limitk limit_ratio` (selected input series), `count_values`.
//!
//! Groups are fixed per input series once (`by` keeps the named labels, `without` drops
//! them and the metric name); each step then folds the series present at that step, in
//! input order, with Prometheus's exact arithmetic (Kahan-Neumaier sums, the incremental
//! mean once a sum overflows, Welford variance).

use std::collections::HashMap;

use super::ast::{AggOp, Aggregate};
use super::eval::{
    fail, Cursors, EvalResult, Evaluator, StepSeries, StepValue, Storage, VectorBuilder,
};
use super::value::{invalid_quantile, Point};
use crate::model::{Labels, METRIC_NAME};

/// One Kahan-Neumaier step: returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Prometheus's `quantile` over a set of values (sorted here).
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    sort_nan_first(values);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Ascending with NaN first (Go's `vectorByValueHeap` order).
pub(crate) fn sort_nan_first(v: &mut [f64]) {
    v.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).expect("not NaN"),
    });
}

fn group_labels(l: &Labels, grouping: &[String], without: bool) -> Labels {
    if without {
        let mut names: Vec<&str> = grouping.iter().map(String::as_str).collect();
        names.push(METRIC_NAME);
        l.without(&names)
    } else if grouping.is_empty() {
        Labels::new()
    } else {
        l.keep(grouping)
    }
}

#[derive(Clone, Default)]
struct Acc {
    seen: bool,
    value: f64,
    mean: f64,
    kahan_c: f64,
    count: f64,
    incremental_mean: bool,
    values: Vec<f64>,
    drop: bool,
}

pub(crate) fn eval_aggregate<S: Storage>(
    ev: &mut Evaluator<'_, S>,
    a: &Aggregate,
) -> EvalResult<StepValue> {
    if a.op == AggOp::CountValues {
        return count_values(ev, a);
    }
    let param = match &a.param {
        Some(p) => Some(ev.eval(p)?.scalar()),
        None => None,
    };
    let input = ev.eval(&a.expr)?.vector();
    let n = ev.steps();

    let mut group_index: HashMap<Labels, usize> = HashMap::new();
    let mut group_of = Vec::with_capacity(input.len());
    let mut outputs: Vec<StepSeries> = Vec::new();
    for s in &input {
        let g = group_labels(&s.labels, &a.grouping, a.without);
        let next = group_index.len();
        let idx = *group_index.entry(g.clone()).or_insert(next);
        if idx == outputs.len() {
            outputs.push(StepSeries {
                labels: g,
                drop: false,
                pts: Vec::new(),
            });
        }
        group_of.push(idx);
    }
    let ngroups = outputs.len();

    let params = param.unwrap_or_default();
    // Go's math.Max/Min: NaN wins.
    let go_max = |a: f64, b: f64| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.max(b)
        }
    };
    let go_min = |a: f64, b: f64| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.min(b)
        }
    };
    let pmax = params.iter().copied().fold(f64::NEG_INFINITY, go_max);
    let pmin = params.iter().copied().fold(f64::INFINITY, go_min);
    let pnan = params.iter().any(|p| p.is_nan());
    let pspan = a.param.as_ref().map(|p| p.span()).unwrap_or(a.span);
    match a.op {
        AggOp::Topk | AggOp::Bottomk | AggOp::Limitk => {
            if pmax < 1.0 {
                return Ok(StepValue::Vector(Vec::new()));
            }
            if pnan {
                return fail("Parameter value is NaN");
            }
            if pmin <= i64::MIN as f64 {
                return fail(format!(
                    "Scalar value {} underflows int64",
                    super::value::go_g(pmin)
                ));
            }
            if pmax >= i64::MAX as f64 {
                return fail(format!(
                    "Scalar value {} overflows int64",
                    super::value::go_g(pmax)
                ));
            }
            return k_aggregate(ev, a, &input, &group_of, ngroups, &params);
        }
        AggOp::LimitRatio => {
            if pmax == 0.0 && pmin == 0.0 {
                return Ok(StepValue::Vector(Vec::new()));
            }
            if pnan {
                return fail("Ratio value is NaN");
            }
            for (bad, v, cap) in [(pmax > 1.0, pmax, 1.0), (pmin < -1.0, pmin, -1.0)] {
                if bad {
                    ev.warn(
                        format!(
                            "ratio value should be between -1 and 1, got {}, capping to {}",
                            super::value::go_g(v),
                            super::value::go_g(cap)
                        ),
                        pspan,
                    );
                }
            }
            return k_aggregate(ev, a, &input, &group_of, ngroups, &params);
        }
        AggOp::Quantile => {
            for (bad, v) in [(pnan, f64::NAN), (pmax > 1.0, pmax), (pmin < 0.0, pmin)] {
                if bad {
                    ev.warn(invalid_quantile(v), pspan);
                }
            }
        }
        _ => {}
    }

    let op = a.op;
    let q_at = |i: usize| params.get(i).copied().unwrap_or(f64::NAN);
    if op != AggOp::Quantile && ngroups * n <= SERIES_MAJOR_ACCS {
        // Series by series, with an accumulator per group and step: each (group, step) still
        // folds its series in input order, so the arithmetic is the same as step by step,
        // and the points are read in memory order.
        let mut accs = vec![Acc::default(); ngroups * n];
        for (si, s) in input.iter().enumerate() {
            ev.tick()?;
            let base = group_of[si] * n;
            for p in &s.pts {
                let i = ((p.t - ev.start) / ev.interval) as usize;
                accs[base + i].fold(op, p.v, s.drop);
            }
        }
        for (g, out) in outputs.iter_mut().enumerate() {
            for (i, acc) in accs[g * n..(g + 1) * n].iter_mut().enumerate() {
                if acc.seen {
                    out.pts.push(Point {
                        t: ev.ts(i),
                        v: acc.result(op, q_at(i)),
                    });
                    out.drop = acc.drop;
                }
            }
        }
    } else {
        let mut accs = vec![Acc::default(); ngroups];
        let mut cur = Cursors::new(input.len());
        for i in 0..n {
            ev.tick()?;
            let t = ev.ts(i);
            for acc in accs.iter_mut() {
                acc.seen = false;
            }
            for (si, s) in input.iter().enumerate() {
                let Some(f) = cur.at(si, s, t) else { continue };
                accs[group_of[si]].fold(op, f, s.drop);
            }
            for (g, acc) in accs.iter_mut().enumerate() {
                if acc.seen {
                    outputs[g].pts.push(Point {
                        t,
                        v: acc.result(op, q_at(i)),
                    });
                    outputs[g].drop = acc.drop;
                }
            }
        }
    }
    Ok(StepValue::Vector(
        outputs.into_iter().filter(|s| !s.pts.is_empty()).collect(),
    ))
}

/// Up to this many (group, step) accumulators, aggregations run series by series.
const SERIES_MAJOR_ACCS: usize = 1 << 20;

impl Acc {
    /// Folds one input value into the group's state for one step.
    #[inline]
    fn fold(&mut self, op: AggOp, f: f64, drop: bool) {
        if !self.seen {
            *self = Acc {
                seen: true,
                value: f,
                mean: f,
                kahan_c: 0.0,
                count: 1.0,
                incremental_mean: false,
                values: std::mem::take(&mut self.values),
                drop,
            };
            match op {
                AggOp::Stddev | AggOp::Stdvar => {
                    self.value = if f.is_nan() || f.is_infinite() {
                        f64::NAN
                    } else {
                        0.0
                    };
                }
                AggOp::Quantile => {
                    self.values.clear();
                    self.values.push(f);
                }
                AggOp::Group => self.value = 1.0,
                _ => {}
            }
            return;
        }
        if drop {
            self.drop = true;
        }
        match op {
            AggOp::Sum => {
                (self.value, self.kahan_c) = kahan_inc(f, self.value, self.kahan_c);
            }
            AggOp::Avg => {
                self.count += 1.0;
                if !self.incremental_mean {
                    let (nv, nc) = kahan_inc(f, self.value, self.kahan_c);
                    if !nv.is_infinite() {
                        self.value = nv;
                        self.kahan_c = nc;
                        return;
                    }
                    self.incremental_mean = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.kahan_c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.kahan_c) =
                    kahan_inc(f / self.count, q * self.mean, q * self.kahan_c);
            }
            AggOp::Group => {}
            AggOp::Max => {
                if self.value < f || self.value.is_nan() {
                    self.value = f;
                }
            }
            AggOp::Min => {
                if self.value > f || self.value.is_nan() {
                    self.value = f;
                }
            }
            AggOp::Count => self.count += 1.0,
            AggOp::Stddev | AggOp::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            AggOp::Quantile => self.values.push(f),
            _ => unreachable!("k aggregations are handled apart"),
        }
    }

    /// The group's value at the step (`q` is quantile's parameter there).
    fn result(&mut self, op: AggOp, q: f64) -> f64 {
        match op {
            AggOp::Avg => {
                if self.incremental_mean {
                    self.mean + self.kahan_c
                } else {
                    self.value / self.count + self.kahan_c / self.count
                }
            }
            AggOp::Count => self.count,
            AggOp::Stdvar => self.value / self.count,
            AggOp::Stddev => (self.value / self.count).sqrt(),
            AggOp::Quantile => quantile(q, &mut self.values),
            AggOp::Sum => self.value + self.kahan_c,
            _ => self.value,
        }
    }
}

/// The hash Prometheus's `limit_ratio` samples by: xxHash64 of the label set's string
/// encoding, scaled to [0, 1).
fn ratio_offset(l: &Labels) -> f64 {
    let mut data = Vec::new();
    for lb in l {
        for s in [&lb.name, &lb.value] {
            let n = s.len();
            if n < 255 {
                data.push(n as u8);
            } else {
                data.extend_from_slice(&[255, n as u8, (n >> 8) as u8, (n >> 16) as u8]);
            }
            data.extend_from_slice(s.as_bytes());
        }
    }
    crate::model::hash::stable_hash(&data) as f64 / u64::MAX as f64
}

fn k_aggregate<S: Storage>(
    ev: &mut Evaluator<'_, S>,
    a: &Aggregate,
    input: &[StepSeries],
    group_of: &[usize],
    ngroups: usize,
    params: &[f64],
) -> EvalResult<StepValue> {
    let n = ev.steps();
    let mut out = VectorBuilder::new();
    let mut cur = Cursors::new(input.len());
    let offsets: Vec<f64> = if a.op == AggOp::LimitRatio {
        input.iter().map(|s| ratio_offset(&s.labels)).collect()
    } else {
        Vec::new()
    };
    // Per group: (series index, value), kept in heap order.
    let mut heaps: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ngroups];
    let mut seen = vec![false; ngroups];
    let mut slots: Vec<Option<usize>> = vec![None; input.len()];
    for i in 0..n {
        ev.tick()?;
        let t = ev.ts(i);
        let p = params.get(i).copied().unwrap_or(f64::NAN);
        let (k, r) = match a.op {
            AggOp::LimitRatio => {
                if p == 0.0 {
                    continue;
                }
                (0usize, p.clamp(-1.0, 1.0))
            }
            _ => {
                let k = (p as i64).min(input.len() as i64);
                if k < 1 {
                    continue;
                }
                (k as usize, 0.0)
            }
        };
        for h in heaps.iter_mut() {
            h.clear();
        }
        seen.iter_mut().for_each(|s| *s = false);
        for (si, s) in input.iter().enumerate() {
            let Some(f) = cur.at(si, s, t) else { continue };
            let g = group_of[si];
            let h = &mut heaps[g];
            seen[g] = true;
            match a.op {
                AggOp::Topk => {
                    if h.len() < k {
                        h.push((si, f));
                    } else {
                        // Replace the smallest (NaN counts as smallest).
                        let (mi, mv) = min_entry(h, false);
                        if mv < f || (mv.is_nan() && !f.is_nan()) {
                            h[mi] = (si, f);
                        }
                    }
                }
                AggOp::Bottomk => {
                    if h.len() < k {
                        h.push((si, f));
                    } else {
                        let (mi, mv) = min_entry(h, true);
                        if mv > f || (mv.is_nan() && !f.is_nan()) {
                            h[mi] = (si, f);
                        }
                    }
                }
                AggOp::Limitk => {
                    if h.len() < k {
                        h.push((si, f));
                    }
                }
                AggOp::LimitRatio => {
                    let o = offsets[si];
                    let take = if r >= 0.0 { o < r } else { o >= 1.0 + r };
                    if take {
                        h.push((si, f));
                    }
                }
                _ => unreachable!(),
            }
        }
        for (g, h) in heaps.iter_mut().enumerate() {
            if !seen[g] {
                continue;
            }
            match a.op {
                // Descending, NaN last.
                AggOp::Topk => h.sort_by(|x, y| cmp_desc_nan_last(x.1, y.1)),
                // Ascending, NaN last.
                AggOp::Bottomk => h.sort_by(|x, y| cmp_asc_nan_last(x.1, y.1)),
                _ => {}
            }
            for &(si, v) in h.iter() {
                let slot = match slots[si] {
                    Some(s) => s,
                    None => {
                        let s = out.slot(&input[si].labels, input[si].drop);
                        slots[si] = Some(s);
                        s
                    }
                };
                out.push(slot, t, v)?;
            }
        }
    }
    Ok(StepValue::Vector(out.finish()))
}

/// The entry a top-k (or bottom-k when `reverse`) heap would evict: the smallest value
/// (largest for bottom-k), NaN before any number; the first such entry on ties.
fn min_entry(h: &[(usize, f64)], reverse: bool) -> (usize, f64) {
    let mut best = 0;
    for i in 1..h.len() {
        let (b, c) = (h[best].1, h[i].1);
        let better = if b.is_nan() {
            false
        } else if c.is_nan() {
            true
        } else if reverse {
            c > b
        } else {
            c < b
        };
        if better {
            best = i;
        }
    }
    (best, h[best].1)
}

/// Descending, NaN last (the order of `sort_desc` and `topk` output).
pub(crate) fn cmp_desc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => b.partial_cmp(&a).expect("not NaN"),
    }
}

/// Ascending, NaN last (the order of `sort` and `bottomk` output).
pub(crate) fn cmp_asc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => a.partial_cmp(&b).expect("not NaN"),
    }
}

fn count_values<S: Storage>(ev: &mut Evaluator<'_, S>, a: &Aggregate) -> EvalResult<StepValue> {
    let (label, invalid) = match a.param.as_ref().map(|p| p.unparen()) {
        Some(super::ast::Expr::String {
            val, invalid_utf8, ..
        }) => (val.clone(), invalid_utf8.clone()),
        _ => (String::new(), None),
    };
    if label.is_empty() || invalid.is_some() {
        return fail(format!(
            "invalid label name {}",
            invalid.unwrap_or_else(|| super::lex::go_quote(&label))
        ));
    }
    let mut grouping = a.grouping.clone();
    if !a.without {
        grouping.push(label.clone());
    }
    let input = ev.eval(&a.expr)?.vector();
    let mut out = VectorBuilder::new();
    let mut cur = Cursors::new(input.len());
    for i in 0..ev.steps() {
        ev.tick()?;
        let t = ev.ts(i);
        let mut counts: Vec<(Labels, f64)> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for (si, s) in input.iter().enumerate() {
            let Some(f) = cur.at(si, s, t) else { continue };
            let metric = s.labels.with(&label, &super::ast::format_float_plain(f));
            let g = group_labels(&metric, &grouping, a.without);
            match index.get(&g) {
                Some(&j) => counts[j].1 += 1.0,
                None => {
                    index.insert(g.clone(), counts.len());
                    counts.push((g, 1.0));
                }
            }
        }
        for (g, c) in counts {
            let slot = out.slot(&g, false);
            out.push(slot, t, c)?;
        }
    }
    Ok(StepValue::Vector(out.finish()))
}
