//! Histogram functions over classic buckets (`le` series): `histogram_quantile`,
//! `histogram_quantiles` and `histogram_fraction`, with Prometheus's bucket fixes and
//! annotations.

use std::collections::HashMap;

use super::string_arg;
use crate::model::{Labels, METRIC_NAME};
use crate::promql::ast::{Call, Expr, Span};
use crate::promql::eval::{Cursors, EvalResult, Evaluator, StepValue, Storage, VectorBuilder};
use crate::promql::functions::Function;
use crate::promql::value::{almost_equal, go_g, invalid_quantile, Monotonicity};

/// One classic bucket: upper bound and cumulative count.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    upper: f64,
    count: f64,
}

fn sort_coalesce(b: &mut Vec<Bucket>) {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(b.len());
    for x in b.drain(..) {
        match out.last_mut() {
            Some(l) if l.upper == x.upper => l.count += x.count,
            _ => out.push(x),
        }
    }
    *b = out;
}

/// Prometheus's `BucketQuantile`: the quantile, whether monotonicity was forced, and the
/// bucket range and largest fix.
fn bucket_quantile(q: f64, b: &mut Vec<Bucket>) -> (f64, Option<(f64, f64, f64)>) {
    if q.is_nan() {
        return (f64::NAN, None);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, None);
    }
    if q > 1.0 {
        return (f64::INFINITY, None);
    }
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !(b.last().is_some_and(|l| l.upper == f64::INFINITY)) {
        return (f64::NAN, None);
    }
    sort_coalesce(b);
    // Monotonicity, ignoring tiny float differences.
    let mut forced = None::<(f64, f64, f64)>;
    let mut prev = b[0].count;
    for bucket in b.iter_mut().skip(1) {
        let curr = bucket.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            bucket.count = prev;
            continue;
        }
        if curr < prev {
            bucket.count = prev;
            let f = forced.get_or_insert((f64::INFINITY, f64::NEG_INFINITY, 0.0));
            f.0 = f.0.min(bucket.upper);
            f.1 = f.1.max(bucket.upper);
            f.2 = f.2.max(prev - curr);
            continue;
        }
        prev = curr;
    }
    if b.len() < 2 {
        return (f64::NAN, forced);
    }
    let obs = b[b.len() - 1].count;
    if obs == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * obs;
    let nb = b.len() - 1;
    let idx = b[..nb].partition_point(|x| x.count < rank);
    let v = if idx == nb {
        b[nb - 1].upper
    } else if idx == 0 && b[0].upper <= 0.0 {
        b[0].upper
    } else {
        let mut start = 0.0;
        let end = b[idx].upper;
        let mut count = b[idx].count;
        if idx > 0 {
            start = b[idx - 1].upper;
            count -= b[idx - 1].count;
            rank -= b[idx - 1].count;
        }
        start + (end - start) * (rank / count)
    };
    (v, forced)
}

/// Prometheus's `BucketFraction`.
fn bucket_fraction(lower: f64, upper: f64, b: &mut Vec<Bucket>) -> f64 {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !(b.last().is_some_and(|l| l.upper == f64::INFINITY)) {
        return f64::NAN;
    }
    sort_coalesce(b);
    let count = b[b.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if b[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for i in 0..b.len() {
        if i > 0 {
            lower_bound = b[i - 1].upper;
        }
        let upper_bound = b[i].upper;
        let bc = b[i].count;
        let interp = |v: f64, rank: f64| {
            if lower_bound == f64::NEG_INFINITY {
                return bc;
            }
            rank + (bc - rank) * (v - lower_bound) / (upper_bound - lower_bound)
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interp(lower, rank);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interp(upper, rank);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = bc;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

/// `FormatOpenMetricsFloat`: like `%g`, with `.0` on whole numbers.
fn format_om_float(q: f64) -> String {
    if q.is_nan() {
        return "NaN".into();
    }
    let s = go_g(q);
    if s.contains(['e', '.']) || q.is_infinite() {
        s
    } else {
        s + ".0"
    }
}

pub(super) fn classic<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    let kind = c.func;
    // The vector argument, the scalar arguments (with their spans) and the label of
    // histogram_quantiles.
    let (vec_arg, scalar_args, q_label): (&Expr, Vec<&Expr>, Option<String>) = match kind {
        Function::HistogramQuantile => (&c.args[1], vec![&c.args[0]], None),
        Function::HistogramFraction => (&c.args[2], vec![&c.args[0], &c.args[1]], None),
        _ => (
            &c.args[0],
            c.args[2..].iter().collect(),
            Some(string_arg(&c.args[1])),
        ),
    };
    let mut scalars = Vec::new();
    for a in &scalar_args {
        scalars.push(ev.eval(a)?.scalar());
    }
    let input = ev.eval(vec_arg)?.vector();
    let arg_span: Span = vec_arg.span();
    // Per input series: its bucket group and upper bound (None: malformed `le`).
    let mut group_index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Labels> = Vec::new();
    let mut meta: Vec<(usize, Option<f64>)> = Vec::with_capacity(input.len());
    for s in &input {
        let le = s.labels.get("le").unwrap_or("");
        let upper = crate::expfmt::number::parse_go_float(le);
        let key = s.labels.without(&["le"]);
        let g = match group_index.get(&key) {
            Some(&g) => g,
            None => {
                group_index.insert(key.clone(), groups.len());
                groups.push(key);
                groups.len() - 1
            }
        };
        meta.push((g, upper));
    }
    let mut out = VectorBuilder::new();
    let mut slots: HashMap<(usize, u64), usize> = HashMap::new();
    let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); groups.len()];
    let mut cur = Cursors::new(input.len());
    for i in 0..ev.steps() {
        ev.tick()?;
        let t = ev.ts(i);
        for b in buckets.iter_mut() {
            b.clear();
        }
        let qs: Vec<f64> = scalars
            .iter()
            .map(|s| s.get(i).copied().unwrap_or(f64::NAN))
            .collect();
        if kind != Function::HistogramFraction {
            for (k, q) in qs.iter().enumerate() {
                if q.is_nan() || !(0.0..=1.0).contains(q) {
                    ev.warn(invalid_quantile(*q), scalar_args[k].span());
                }
            }
        }
        for (j, s) in input.iter().enumerate() {
            let Some(v) = cur.at(j, s, t) else { continue };
            let (g, upper) = meta[j];
            match upper {
                Some(u) => buckets[g].push(Bucket { upper: u, count: v }),
                None => {
                    let name = s.labels.get(METRIC_NAME).unwrap_or("");
                    let le = s.labels.get("le").unwrap_or("");
                    let mut m = format!(
                        "bucket label \"le\" is missing or has a malformed value of {}",
                        crate::promql::lex::go_quote(le)
                    );
                    if !name.is_empty() {
                        m.push_str(&format!(
                            " for metric name {}",
                            crate::promql::lex::go_quote(name)
                        ));
                    }
                    ev.warn(m, arg_span);
                }
            }
        }
        let quantiles: Vec<f64> = if kind == Function::HistogramFraction {
            vec![f64::NAN]
        } else {
            qs.clone()
        };
        for (k, &q) in quantiles.iter().enumerate() {
            for g in 0..groups.len() {
                if buckets[g].is_empty() {
                    continue;
                }
                // Several quantiles reuse the buckets (sorting them is idempotent).
                let mut b = if quantiles.len() > 1 {
                    buckets[g].clone()
                } else {
                    std::mem::take(&mut buckets[g])
                };
                let v = if kind == Function::HistogramFraction {
                    bucket_fraction(qs[0], qs[1], &mut b)
                } else {
                    let (v, forced) = bucket_quantile(q, &mut b);
                    if let Some((lo, hi, diff)) = forced {
                        let name = groups[g].get(METRIC_NAME).unwrap_or("");
                        let mut msg = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_string();
                        if !name.is_empty() {
                            msg.push_str(&format!(
                                " for metric name {}",
                                crate::promql::lex::go_quote(name)
                            ));
                        }
                        let mut a = crate::promql::value::Annotation::info(msg, arg_span);
                        a.monotonicity = Some(Monotonicity {
                            min_ts: t,
                            max_ts: t,
                            min_bucket: lo,
                            max_bucket: hi,
                            max_diff: diff,
                            count: 0,
                        });
                        ev.annos.add(a);
                    }
                    v
                };
                let key = (g, if q_label.is_some() { k as u64 } else { 0 });
                let slot = match slots.get(&key) {
                    Some(&s) => s,
                    None => {
                        let labels = match &q_label {
                            Some(name) => groups[g].with(name, &format_om_float(q)),
                            None => groups[g].clone(),
                        };
                        let s = out.slot(&labels, true);
                        slots.insert(key, s);
                        s
                    }
                };
                out.push(slot, t, v)?;
            }
        }
    }
    Ok(StepValue::Vector(out.finish()))
}
