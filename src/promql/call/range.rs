//! Range-vector functions (`rate`, `*_over_time`, `predict_linear`, ...): a left-open window
//! `(t - offset - range, t - offset]` slides over each series' samples, one series at a time
//! and series in parallel. `rate`, `increase` and `delta` extrapolate exactly as Prometheus
//! does.

use super::absent_labels;
use crate::model::{Labels, METRIC_NAME};
use crate::promql::aggregate::{kahan_inc, quantile, sort_nan_first};
use crate::promql::ast::{Call, Expr};
use crate::promql::eval::{
    fail, EvalResult, Evaluator, RangeWindow, StepSeries, StepValue, Storage,
};
use crate::promql::functions::Function;
use crate::promql::value::{invalid_quantile, Point};

/// The inputs a range function sees at one step.
struct Window<'a> {
    pts: &'a [Point],
    /// Step time (the intercept time of `predict_linear`).
    t: i64,
    range_start: i64,
    range_end: i64,
    range_secs: f64,
    /// The step's values of the scalar arguments, in argument order.
    scalars: &'a [f64],
}

pub(super) fn call<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    use Function as F;
    let f = c.func;
    let midx = c
        .args
        .iter()
        .position(|a| matches!(a.unparen(), Expr::Matrix(_) | Expr::Subquery(_)))
        .unwrap_or(0);
    let mut scalar_args: Vec<Vec<f64>> = Vec::new();
    for (i, a) in c.args.iter().enumerate() {
        if i != midx {
            scalar_args.push(ev.eval(a)?.scalar());
        }
    }
    enum Input<T> {
        Stored(Vec<T>),
        Loaded(Vec<StepSeries>),
    }
    let (input, window) = match c.args[midx].unparen() {
        Expr::Matrix(m) => {
            let (refs, w) = ev.select_range(m)?;
            (Input::Stored(refs), w)
        }
        Expr::Subquery(s) => {
            let (series, w) = ev.eval_subquery(s)?;
            (Input::Loaded(series), w)
        }
        _ => return fail("expected a range vector"),
    };
    let RangeWindow {
        offset: off,
        range,
        at,
        ..
    } = window;
    let nonempty = match &input {
        Input::Stored(r) => !r.is_empty(),
        Input::Loaded(s) => !s.is_empty(),
    };
    if f == F::DoubleExponentialSmoothing {
        // Prometheus checks the factors when it first evaluates a series.
        if nonempty {
            for (&sf, &tf) in scalar_args[0].iter().zip(&scalar_args[1]) {
                if sf <= 0.0 || sf >= 1.0 {
                    return fail(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    ));
                }
                if tf <= 0.0 || tf >= 1.0 {
                    return fail(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    ));
                }
            }
        }
    }
    if f == F::QuantileOverTime {
        for q in &scalar_args[0] {
            if nonempty && (q.is_nan() || *q < 0.0 || *q > 1.0) {
                ev.warn(invalid_quantile(*q), c.args[0].span());
            }
        }
    }
    let n = ev.steps();
    let (start, interval) = (ev.start, ev.interval);
    let range_secs = range as f64 / 1000.0;
    let deadline = ev.deadline();
    // One series' windows at every step; pure, so series run in parallel.
    let one = |labels: &Labels, drop: bool, pts: &[Point]| -> EvalResult<Option<StepSeries>> {
        let mut step_scalars = vec![0.0; scalar_args.len()];
        let mut out = Vec::new();
        let (mut lo, mut hi) = (0usize, 0usize);
        for i in 0..n {
            if i % 64 == 63 {
                deadline.check()?;
            }
            let t = start + i as i64 * interval;
            let maxt = at.unwrap_or(t) - off;
            let mint = maxt - range;
            if at.is_some() {
                lo = 0;
                hi = 0;
            }
            while hi < pts.len() && pts[hi].t <= maxt {
                hi += 1;
            }
            while lo < hi && pts[lo].t <= mint {
                lo += 1;
            }
            if lo >= hi {
                continue;
            }
            for (k, a) in scalar_args.iter().enumerate() {
                step_scalars[k] = a[i];
            }
            let w = Window {
                pts: &pts[lo..hi],
                t,
                range_start: mint,
                range_end: maxt,
                range_secs,
                scalars: &step_scalars,
            };
            if let Some(v) = range_fn(f, &w) {
                out.push(Point { t, v });
            }
        }
        Ok((!out.is_empty()).then(|| StepSeries {
            labels: labels.clone(),
            drop: !f.keeps_name() || drop,
            pts: out,
        }))
    };
    let out = match input {
        Input::Stored(refs) => {
            ev.map_stored(refs, window.mint, window.maxt, |labels, smp, buf| {
                buf.clear();
                buf.extend(
                    smp.iter()
                        .filter(|x| !crate::model::is_stale_nan(x.v))
                        .map(|x| Point { t: x.t, v: x.v }),
                );
                one(&labels, false, buf)
            })?
        }
        Input::Loaded(series) => ev.map_loaded(&series, |s| one(&s.labels, s.drop, &s.pts))?,
    };
    if matches!(f, F::Rate | F::Increase) {
        for s in &out {
            let name = s.labels.get(METRIC_NAME).unwrap_or("");
            if !name.is_empty()
                && !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|x| name.ends_with(x))
            {
                ev.info(
                    format!(
                        "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                        crate::promql::lex::go_quote(name)
                    ),
                    c.args[midx].span(),
                );
            }
        }
    }
    if f == F::AbsentOverTime {
        let mut found = vec![false; n];
        for s in &out {
            for p in &s.pts {
                found[((p.t - ev.start) / ev.interval) as usize] = true;
            }
        }
        let pts: Vec<Point> = (0..n)
            .filter(|&i| !found[i])
            .map(|i| Point {
                t: ev.ts(i),
                v: 1.0,
            })
            .collect();
        if pts.is_empty() {
            return Ok(StepValue::Vector(Vec::new()));
        }
        return Ok(StepValue::Vector(vec![StepSeries {
            labels: absent_labels(&c.args[0]),
            drop: true,
            pts,
        }]));
    }
    Ok(StepValue::Vector(out))
}

fn range_fn(f: Function, w: &Window) -> Option<f64> {
    use Function as F;
    let p = w.pts;
    match f {
        F::Rate => extrapolated_rate(w, true, true),
        F::Increase => extrapolated_rate(w, true, false),
        F::Delta => extrapolated_rate(w, false, false),
        F::Irate | F::Idelta => {
            if p.len() < 2 {
                return None;
            }
            let (a, b) = (p[p.len() - 2], p[p.len() - 1]);
            let dt = b.t - a.t;
            if dt == 0 {
                return None;
            }
            let rate = f == F::Irate;
            let mut v = if rate && b.v < a.v { b.v } else { b.v - a.v };
            if rate {
                v /= dt as f64 / 1000.0;
            }
            Some(v)
        }
        F::AvgOverTime => {
            let mut sum = p[0].v;
            let mut count = 1.0;
            let mut mean = 0.0;
            let mut c = 0.0;
            let mut incremental = false;
            for (i, x) in p[1..].iter().enumerate() {
                count = (i + 2) as f64;
                if !incremental {
                    let (ns, nc) = kahan_inc(x.v, sum, c);
                    if !ns.is_infinite() {
                        sum = ns;
                        c = nc;
                        continue;
                    }
                    incremental = true;
                    mean = sum / (count - 1.0);
                    c /= count - 1.0;
                }
                let q = (count - 1.0) / count;
                (mean, c) = kahan_inc(x.v / count, q * mean, q * c);
            }
            Some(if incremental {
                mean + c
            } else {
                sum / count + c / count
            })
        }
        F::SumOverTime => {
            let (mut sum, mut c) = (0.0, 0.0);
            for x in p {
                (sum, c) = kahan_inc(x.v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        F::CountOverTime => Some(p.len() as f64),
        F::PresentOverTime | F::AbsentOverTime => Some(1.0),
        F::LastOverTime => Some(p[p.len() - 1].v),
        F::FirstOverTime => Some(p[0].v),
        F::TsOfFirstOverTime => Some(p[0].t as f64 / 1000.0),
        F::TsOfLastOverTime => Some(p[p.len() - 1].t as f64 / 1000.0),
        F::MaxOverTime | F::MinOverTime | F::TsOfMaxOverTime | F::TsOfMinOverTime => {
            let mut best = p[0].v;
            let mut ts = p[0].t;
            for x in p {
                let take = match f {
                    F::MaxOverTime => x.v > best || best.is_nan(),
                    F::MinOverTime => x.v < best || best.is_nan(),
                    F::TsOfMaxOverTime => x.v >= best || best.is_nan(),
                    _ => x.v <= best || best.is_nan(),
                };
                if take {
                    best = x.v;
                    ts = x.t;
                }
            }
            Some(match f {
                F::MaxOverTime | F::MinOverTime => best,
                _ => ts as f64 / 1000.0,
            })
        }
        F::StddevOverTime | F::StdvarOverTime => {
            let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for x in p {
                count += 1.0;
                let delta = x.v - (mean + cmean);
                (mean, cmean) = kahan_inc(delta / count, mean, cmean);
                (aux, caux) = kahan_inc(delta * (x.v - (mean + cmean)), aux, caux);
            }
            let var = (aux + caux) / count;
            Some(if f == F::StddevOverTime {
                var.sqrt()
            } else {
                var
            })
        }
        F::QuantileOverTime => {
            let mut vals: Vec<f64> = p.iter().map(|x| x.v).collect();
            Some(quantile(w.scalars[0], &mut vals))
        }
        F::MadOverTime => {
            let mut vals: Vec<f64> = Vec::with_capacity(p.len());
            for x in p {
                if x.v.is_nan() {
                    return Some(f64::NAN);
                }
                vals.push(x.v);
            }
            let median = quantile(0.5, &mut vals);
            for v in vals.iter_mut() {
                *v = (*v - median).abs();
            }
            sort_nan_first(&mut vals);
            Some(quantile(0.5, &mut vals))
        }
        F::Changes => {
            let mut n = 0;
            for w2 in p.windows(2) {
                let (a, b) = (w2[0].v, w2[1].v);
                if a != b && !(a.is_nan() && b.is_nan()) {
                    n += 1;
                }
            }
            Some(n as f64)
        }
        F::Resets => {
            let n = p.windows(2).filter(|w2| w2[1].v < w2[0].v).count();
            Some(n as f64)
        }
        F::Deriv => {
            if p.len() < 2 {
                return None;
            }
            Some(linear_regression(p, p[0].t).0)
        }
        F::PredictLinear => {
            if p.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(p, w.t);
            Some(slope * w.scalars[0] + intercept)
        }
        F::DoubleExponentialSmoothing => {
            if p.len() < 2 {
                return None;
            }
            let (sf, tf) = (w.scalars[0], w.scalars[1]);
            let (mut s0, mut s1) = (0.0, p[0].v);
            let mut b = p[1].v - p[0].v;
            for (i, x) in p.iter().enumerate().skip(1) {
                let xv = sf * x.v;
                if i > 1 {
                    b = tf * (s1 - s0) + (1.0 - tf) * b;
                }
                let y = (1.0 - sf) * (s1 + b);
                s0 = s1;
                s1 = xv + y;
            }
            Some(s1)
        }
        _ => None,
    }
}

fn extrapolated_rate(w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    let p = w.pts;
    if p.len() < 2 {
        return None;
    }
    let first = p[0];
    let last = p[p.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        for pair in p.windows(2) {
            if pair[1].v < pair[0].v {
                result += pair[0].v;
            }
        }
    }
    let mut to_start = (first.t - w.range_start) as f64 / 1000.0;
    let mut to_end = (w.range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled / (p.len() - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if is_counter {
        let mut to_zero = to_start;
        if result > 0.0 && first.v >= 0.0 {
            to_zero = sampled * (first.v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = 1.0;
    if sampled != 0.0 {
        factor = (sampled + to_start + to_end) / sampled;
    }
    if is_rate {
        factor /= w.range_secs;
    }
    Some(result * factor)
}

/// Least squares over (seconds since `intercept_t`, value), Kahan-summed, as Prometheus.
fn linear_regression(p: &[Point], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = p[0].v;
    let mut const_y = true;
    for (i, s) in p.iter().enumerate() {
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(s.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * s.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}
