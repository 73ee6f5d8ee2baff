//! Functions of each sample's value: `abs`, `ceil`, ... the trigonometry, `sgn`, `clamp*`,
//! `round`, and the date functions (`hour`, `day_of_week`, ...), with Go's float semantics.

use crate::model::Labels;
use crate::promql::ast::{Call, Expr};
use crate::promql::eval::{EvalResult, Evaluator, StepSeries, StepValue, Storage};
use crate::promql::functions::Function;
use crate::promql::value::Point;

/// Applies a float function to every point; the name is dropped.
pub(super) fn map<S: Storage>(
    ev: &mut Evaluator<'_, S>,
    args: &[Expr],
    f: impl Fn(f64) -> f64,
) -> EvalResult<StepValue> {
    let mut v = ev.eval(&args[0])?.vector();
    for s in &mut v {
        s.drop = true;
        for p in &mut s.pts {
            p.v = f(p.v);
        }
    }
    Ok(StepValue::Vector(v))
}

/// Go's `math.Max`: +Inf wins, then NaN, and +0 over -0 (Rust's `max` drops a NaN).
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            y
        } else {
            x
        }
    } else {
        x.max(y)
    }
}

/// Go's `math.Min`: -Inf wins, then NaN, and -0 over +0.
fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else {
        x.min(y)
    }
}

/// Go's `int64(f)` for the date functions (NaN and out-of-range give the minimum int64).
fn go_float_to_int(v: f64) -> i64 {
    if v.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

fn date_part(f: Function, secs: i64) -> f64 {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = crate::model::time::civil_from_days(days);
    match f {
        Function::DaysInMonth => crate::model::time::days_in_month(y, m) as f64,
        Function::DayOfMonth => d as f64,
        Function::DayOfWeek => (days + 4).rem_euclid(7) as f64,
        Function::DayOfYear => (days - crate::model::time::days_from_civil(y, 1, 1) + 1) as f64,
        Function::Hour => (sod / 3600) as f64,
        Function::Minute => (sod / 60 % 60) as f64,
        Function::Month => m as f64,
        _ => y as f64,
    }
}

/// `clamp`, `clamp_min`, `clamp_max`: a step whose max is below its min has no output.
pub(super) fn clamp<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    let args = &c.args;
    let mut v = ev.eval(&args[0])?.vector();
    let a = ev.eval(&args[1])?.scalar();
    let b = if c.func == Function::Clamp {
        ev.eval(&args[2])?.scalar()
    } else {
        Vec::new()
    };
    let start = ev.start;
    let interval = ev.interval;
    for s in &mut v {
        s.drop = true;
        s.pts.retain_mut(|p| {
            let i = ((p.t - start) / interval) as usize;
            let (lo, hi) = match c.func {
                Function::Clamp => (a[i], b[i]),
                Function::ClampMin => (a[i], f64::INFINITY),
                _ => (f64::NEG_INFINITY, a[i]),
            };
            if hi < lo {
                return false;
            }
            p.v = go_max(lo, go_min(hi, p.v));
            true
        });
    }
    v.retain(|s| !s.pts.is_empty());
    Ok(StepValue::Vector(v))
}

/// `round(v, to_nearest)`, rounding half up as Prometheus does.
pub(super) fn round<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    let args = &c.args;
    let mut v = ev.eval(&args[0])?.vector();
    let to = if args.len() > 1 {
        ev.eval(&args[1])?.scalar()
    } else {
        vec![1.0; ev.steps()]
    };
    for s in &mut v {
        s.drop = true;
        for p in &mut s.pts {
            let i = ((p.t - ev.start) / ev.interval) as usize;
            let inv = 1.0 / to[i];
            p.v = (p.v * inv + 0.5).floor() / inv;
        }
    }
    Ok(StepValue::Vector(v))
}

/// The date functions: of each sample's value as Unix seconds, or without an argument of
/// the step's time.
pub(super) fn date<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    let f = c.func;
    if c.args.is_empty() {
        let pts = (0..ev.steps())
            .map(|i| {
                let t = ev.ts(i);
                Point {
                    t,
                    v: date_part(f, t.div_euclid(1000)),
                }
            })
            .collect();
        return Ok(StepValue::Vector(vec![StepSeries {
            labels: Labels::new(),
            drop: false,
            pts,
        }]));
    }
    map(ev, &c.args, move |v| date_part(f, go_float_to_int(v)))
}
