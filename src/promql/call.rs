//! Function implementations, matched exhaustively on [`Function`].
//!
//! Range-vector functions (`rate`, `*_over_time`, ...) slide the left-open window
//! `(t - offset - range, t - offset]` over each series' samples, one series at a time.
//! Instant-vector functions map points; the few that look at a whole vector per step
//! (`absent`, `scalar`, `sort`, `histogram_quantile`, ...) walk the steps.
//! `rate`, `increase` and `delta` extrapolate exactly as Prometheus does.

use std::collections::HashMap;

use super::aggregate::{cmp_asc_nan_last, cmp_desc_nan_last, kahan_inc, quantile, sort_nan_first};
use super::ast::{Call, Expr, Span};
use super::eval::{fail, merge_same_labels, Cursors, Ev, Out, Ser, Val, R};
use super::functions::Function;
use super::value::{almost_equal, go_g, invalid_quantile, Monotonicity, Point};
use crate::model::matcher::MatchOp;
use crate::model::{Labels, METRIC_NAME};

pub(crate) fn eval_call(ev: &mut Ev, c: &Call) -> R<Val> {
    use Function as F;
    let n = ev.steps();
    let args = &c.args;
    if args.is_empty() {
        ev.charge(n)?; // one value per step, made before the node's result is counted
    }
    match c.func {
        F::Time => Ok(Val::Scalar(
            (0..n).map(|i| ev.ts(i) as f64 / 1000.0).collect(),
        )),
        F::Pi => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
        F::Start => Ok(Val::Scalar(vec![ev.q_start as f64 / 1000.0; n])),
        F::End => Ok(Val::Scalar(vec![ev.q_end as f64 / 1000.0; n])),
        F::Range => Ok(Val::Scalar(vec![
            (ev.q_end - ev.q_start) as f64 / 1000.0;
            n
        ])),
        F::Step => {
            let s = if ev.q_start == ev.q_end {
                0.0
            } else {
                ev.q_step as f64 / 1000.0
            };
            Ok(Val::Scalar(vec![s; n]))
        }
        F::MinOf | F::MaxOf => {
            let a = ev.eval(&args[0])?.scalar();
            let b = ev.eval(&args[1])?.scalar();
            Ok(Val::Scalar(
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| {
                        if x.is_nan() || y.is_nan() {
                            f64::NAN
                        } else if c.func == F::MinOf {
                            x.min(*y)
                        } else {
                            x.max(*y)
                        }
                    })
                    .collect(),
            ))
        }
        F::Scalar => {
            let v = ev.eval(&args[0])?.vector();
            let mut cur = Cursors::new(v.len());
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let t = ev.ts(i);
                let mut found = None;
                let mut many = false;
                for (j, s) in v.iter().enumerate() {
                    if let Some(x) = cur.at(j, s, t) {
                        if found.is_some() {
                            many = true;
                        }
                        found = Some(x);
                    }
                }
                out.push(if many {
                    f64::NAN
                } else {
                    found.unwrap_or(f64::NAN)
                });
            }
            Ok(Val::Scalar(out))
        }
        F::Vector => {
            let s = ev.eval(&args[0])?.scalar();
            let pts = s
                .iter()
                .enumerate()
                .map(|(i, &v)| Point { t: ev.ts(i), v })
                .collect();
            Ok(Val::Vector(vec![Ser {
                labels: Labels::new(),
                drop: false,
                pts,
            }]))
        }
        F::Timestamp => {
            if let Expr::Selector(s) = args[0].unparen() {
                return Ok(Val::Vector(ev.eval_selector_timestamps(s)?));
            }
            let mut v = ev.eval(&args[0])?.vector();
            for s in &mut v {
                s.drop = true;
                for p in &mut s.pts {
                    p.v = p.t as f64 / 1000.0;
                }
            }
            Ok(Val::Vector(v))
        }
        F::LabelReplace => label_replace(ev, c),
        F::LabelJoin => label_join(ev, c),
        F::Abs => map(ev, args, f64::abs),
        F::Ceil => map(ev, args, f64::ceil),
        F::Floor => map(ev, args, f64::floor),
        F::Exp => map(ev, args, f64::exp),
        F::Sqrt => map(ev, args, f64::sqrt),
        F::Ln => map(ev, args, f64::ln),
        F::Log2 => map(ev, args, f64::log2),
        F::Log10 => map(ev, args, f64::log10),
        F::Sin => map(ev, args, f64::sin),
        F::Cos => map(ev, args, f64::cos),
        F::Tan => map(ev, args, f64::tan),
        F::Asin => map(ev, args, f64::asin),
        F::Acos => map(ev, args, f64::acos),
        F::Atan => map(ev, args, f64::atan),
        F::Sinh => map(ev, args, f64::sinh),
        F::Cosh => map(ev, args, f64::cosh),
        F::Tanh => map(ev, args, f64::tanh),
        F::Asinh => map(ev, args, f64::asinh),
        F::Acosh => map(ev, args, f64::acosh),
        F::Atanh => map(ev, args, f64::atanh),
        F::Rad => map(ev, args, |v| v * std::f64::consts::PI / 180.0),
        F::Deg => map(ev, args, |v| v * 180.0 / std::f64::consts::PI),
        F::Sgn => map(ev, args, |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        }),
        F::Clamp | F::ClampMin | F::ClampMax => {
            let mut v = ev.eval(&args[0])?.vector();
            let a = ev.eval(&args[1])?.scalar();
            let b = if c.func == F::Clamp {
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
                        F::Clamp => (a[i], b[i]),
                        F::ClampMin => (a[i], f64::INFINITY),
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
            Ok(Val::Vector(v))
        }
        F::Round => {
            let mut v = ev.eval(&args[0])?.vector();
            let to = if args.len() > 1 {
                ev.eval(&args[1])?.scalar()
            } else {
                vec![1.0; n]
            };
            for s in &mut v {
                s.drop = true;
                for p in &mut s.pts {
                    let i = ((p.t - ev.start) / ev.interval) as usize;
                    let inv = 1.0 / to[i];
                    p.v = (p.v * inv + 0.5).floor() / inv;
                }
            }
            Ok(Val::Vector(v))
        }
        F::DaysInMonth
        | F::DayOfMonth
        | F::DayOfWeek
        | F::DayOfYear
        | F::Hour
        | F::Minute
        | F::Month
        | F::Year => {
            let f = c.func;
            if args.is_empty() {
                let pts = (0..n)
                    .map(|i| {
                        let t = ev.ts(i);
                        Point {
                            t,
                            v: date_part(f, t.div_euclid(1000)),
                        }
                    })
                    .collect();
                return Ok(Val::Vector(vec![Ser {
                    labels: Labels::new(),
                    drop: false,
                    pts,
                }]));
            }
            map(ev, args, move |v| date_part(f, go_float_to_int(v)))
        }
        F::Absent => {
            let v = ev.eval(&args[0])?.vector();
            let labels = absent_labels(&args[0]);
            let mut cur = Cursors::new(v.len());
            let mut pts = Vec::new();
            for i in 0..n {
                let t = ev.ts(i);
                let mut any = false;
                for (j, s) in v.iter().enumerate() {
                    if cur.at(j, s, t).is_some() {
                        any = true;
                    }
                }
                if !any {
                    pts.push(Point { t, v: 1.0 });
                }
            }
            Ok(Val::Vector(if pts.is_empty() {
                Vec::new()
            } else {
                vec![Ser {
                    labels,
                    drop: false,
                    pts,
                }]
            }))
        }
        F::Sort | F::SortDesc | F::SortByLabel | F::SortByLabelDesc => {
            if ev.start != ev.end {
                ev.warn(
                    "sort is ineffective for range queries since results are always ordered by labels".into(),
                    c.span,
                );
            }
            let mut v = ev.eval(&args[0])?.vector();
            let label_args: Vec<String> = args[1..]
                .iter()
                .map(|a| match a.unparen() {
                    Expr::String { val, .. } => val.clone(),
                    _ => String::new(),
                })
                .collect();
            let first = |s: &Ser| s.pts.first().map_or(f64::NAN, |p| p.v);
            match c.func {
                F::Sort => v.sort_by(|a, b| cmp_asc_nan_last(first(a), first(b))),
                F::SortDesc => v.sort_by(|a, b| cmp_desc_nan_last(first(a), first(b))),
                F::SortByLabel => v.sort_by(|a, b| by_label(a, b, &label_args)),
                _ => v.sort_by(|a, b| by_label(b, a, &label_args)),
            }
            Ok(Val::Vector(v))
        }
        F::HistogramQuantile | F::HistogramQuantiles | F::HistogramFraction => {
            classic_histogram(ev, c)
        }
        F::HistogramAvg
        | F::HistogramCount
        | F::HistogramSum
        | F::HistogramStddev
        | F::HistogramStdvar => {
            // These read native histograms only; float samples give no output.
            ev.eval(&args[0])?;
            Ok(Val::Vector(Vec::new()))
        }
        F::AbsentOverTime
        | F::AvgOverTime
        | F::Changes
        | F::CountOverTime
        | F::Delta
        | F::Deriv
        | F::DoubleExponentialSmoothing
        | F::FirstOverTime
        | F::Idelta
        | F::Increase
        | F::Irate
        | F::LastOverTime
        | F::MadOverTime
        | F::MaxOverTime
        | F::MinOverTime
        | F::PredictLinear
        | F::PresentOverTime
        | F::QuantileOverTime
        | F::Rate
        | F::Resets
        | F::StddevOverTime
        | F::StdvarOverTime
        | F::SumOverTime
        | F::TsOfFirstOverTime
        | F::TsOfLastOverTime
        | F::TsOfMaxOverTime
        | F::TsOfMinOverTime => range_call(ev, c),
    }
}

/// Natural order: digit runs compare as numbers (github.com/facette/natsort).
pub(crate) fn natural_less(a: &str, b: &str) -> bool {
    fn chunks(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[i - 1].is_ascii_digit() {
                out.push(&s[start..i]);
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        if x == y {
            continue;
        }
        let xd = x.bytes().all(|c| c.is_ascii_digit());
        let yd = y.bytes().all(|c| c.is_ascii_digit());
        if xd && yd {
            let (xi, yi) = (
                x.parse::<u128>().unwrap_or(0),
                y.parse::<u128>().unwrap_or(0),
            );
            if xi != yi {
                return xi < yi;
            }
            return x < y;
        }
        return x < y;
    }
    ca.len() < cb.len()
}

fn by_label(a: &Ser, b: &Ser, names: &[String]) -> std::cmp::Ordering {
    for n in names {
        let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
        if x == y {
            continue;
        }
        return if natural_less(x, y) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        };
    }
    a.labels.cmp(&b.labels)
}

/// Go's `int64(f)` for the date functions (NaN and out-of-range give the minimum int64).
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

/// Applies a float function to every point; the name is dropped.
fn map(ev: &mut Ev, args: &[Expr], f: impl Fn(f64) -> f64) -> R<Val> {
    let mut v = ev.eval(&args[0])?.vector();
    for s in &mut v {
        s.drop = true;
        for p in &mut s.pts {
            p.v = f(p.v);
        }
    }
    Ok(Val::Vector(v))
}

fn string_arg(e: &Expr) -> String {
    match e.unparen() {
        Expr::String { val, .. } => val.clone(),
        _ => String::new(),
    }
}

/// Whether a string argument is a valid label name (non-empty, valid UTF-8).
fn valid_name_arg(e: &Expr) -> bool {
    match e.unparen() {
        Expr::String {
            val, invalid_utf8, ..
        } => !val.is_empty() && invalid_utf8.is_none(),
        _ => false,
    }
}

/// The labels `absent` reports: the selector's equality matchers (names only once).
fn absent_labels(e: &Expr) -> Labels {
    let ms = match e.unparen() {
        Expr::Selector(s) => &s.matchers,
        Expr::Matrix(m) => &m.selector.matchers,
        _ => return Labels::new(),
    };
    let mut out = Labels::new();
    let mut has: Vec<&str> = Vec::new();
    for m in ms {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !has.contains(&m.name.as_str()) {
            out = out.with(&m.name, &m.value);
            has.push(&m.name);
        } else {
            out = out.without(&[m.name.as_str()]);
        }
    }
    out
}

fn label_replace(ev: &mut Ev, c: &Call) -> R<Val> {
    let dst = string_arg(&c.args[1]);
    let repl = string_arg(&c.args[2]);
    let src = string_arg(&c.args[3]);
    let re_text = string_arg(&c.args[4]);
    let re = crate::model::Regex::new(&re_text).map_err(|_| {
        super::eval::EvalError::Message(format!(
            "invalid regular expression in label_replace(): {re_text}"
        ))
    })?;
    if !valid_name_arg(&c.args[1]) {
        return fail(format!(
            "invalid destination label name in label_replace(): {dst}"
        ));
    }
    let mut v = ev.eval(&c.args[0])?.vector();
    for s in &mut v {
        let sv = s.labels.get(&src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&sv) {
            let res = caps.expand(&repl);
            s.labels = s.labels.with(&dst, &res);
            if dst == METRIC_NAME {
                s.drop = false;
            }
        }
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

fn label_join(ev: &mut Ev, c: &Call) -> R<Val> {
    let dst = string_arg(&c.args[1]);
    let sep = string_arg(&c.args[2]);
    let srcs: Vec<String> = c.args[3..].iter().map(string_arg).collect();
    if let Some(i) = (3..c.args.len()).find(|&i| !valid_name_arg(&c.args[i])) {
        return fail(format!(
            "invalid source label name in label_join(): {}",
            srcs[i - 3]
        ));
    }
    if !valid_name_arg(&c.args[1]) {
        return fail(format!(
            "invalid destination label name in label_join(): {dst}"
        ));
    }
    let mut v = ev.eval(&c.args[0])?.vector();
    for s in &mut v {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let val = joined.join(&sep);
        s.labels = s.labels.with(&dst, &val);
        if dst == METRIC_NAME {
            s.drop = false;
        }
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

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

fn classic_histogram(ev: &mut Ev, c: &Call) -> R<Val> {
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
    let mut out = Out::new();
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
                        super::lex::go_quote(le)
                    );
                    if !name.is_empty() {
                        m.push_str(&format!(" for metric name {}", super::lex::go_quote(name)));
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
                                super::lex::go_quote(name)
                            ));
                        }
                        let mut a = super::value::Annotation::info(msg, arg_span);
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
    Ok(Val::Vector(out.finish()))
}

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

fn range_call(ev: &mut Ev, c: &Call) -> R<Val> {
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
    enum Input {
        Stored(Vec<super::eval::SeriesRef>),
        Loaded(Vec<Ser>),
    }
    let (input, off, range, at, read) = match c.args[midx].unparen() {
        Expr::Matrix(m) => {
            let (refs, w) = ev.select_range(m)?;
            (
                Input::Stored(refs),
                w.offset,
                w.range,
                w.at,
                (w.mint, w.maxt),
            )
        }
        Expr::Subquery(s) => {
            let (ser, (off, range, at)) = ev.eval_subquery(s)?;
            (Input::Loaded(ser), off, range, at, (0, 0))
        }
        _ => return fail("expected a range vector"),
    };
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
    let one = |labels: &Labels, drop: bool, pts: &[Point]| -> R<Option<Ser>> {
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
        Ok((!out.is_empty()).then(|| Ser {
            labels: labels.clone(),
            drop: !f.keeps_name() || drop,
            pts: out,
        }))
    };
    let out = match input {
        Input::Stored(refs) => ev.map_stored(refs, read.0, read.1, |labels, smp, buf| {
            buf.clear();
            buf.extend(
                smp.iter()
                    .filter(|x| !crate::model::is_stale_nan(x.v))
                    .map(|x| Point { t: x.t, v: x.v }),
            );
            one(&labels, false, buf)
        })?,
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
                        super::lex::go_quote(name)
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
            return Ok(Val::Vector(Vec::new()));
        }
        return Ok(Val::Vector(vec![Ser {
            labels: absent_labels(&c.args[0]),
            drop: true,
            pts,
        }]));
    }
    Ok(Val::Vector(out))
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
