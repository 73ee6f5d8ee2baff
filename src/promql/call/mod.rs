//! Function implementations: [`eval_call`] matches exhaustively on [`Function`] (the
//! signature table is `functions`), and each family lives in its own file: [`range`]
//! (`rate`, `*_over_time`, ...), [`label`] (`label_replace`, `label_join`, the sorts),
//! [`histogram`] (`histogram_quantile`, `histogram_fraction`) and [`math`] (per-sample
//! value functions and the date functions). The few functions that walk whole vectors step
//! by step (`absent`, `scalar`, `vector`, `timestamp`) and the query-time ones (`time`,
//! `start`, `step`, ...) are here.

mod histogram;
mod label;
mod math;
mod range;

use crate::model::matcher::MatchOp;
use crate::model::{Labels, METRIC_NAME};
use crate::promql::ast::{Call, Expr};
use crate::promql::eval::{Cursors, EvalResult, Evaluator, StepSeries, StepValue, Storage};
use crate::promql::functions::Function;
use crate::promql::value::Point;

pub(crate) fn eval_call<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    use Function as F;
    let n = ev.steps();
    let args = &c.args;
    if args.is_empty() {
        ev.charge(n)?; // one value per step, made before the node's result is counted
    }
    match c.func {
        F::Time => Ok(StepValue::Scalar(
            (0..n).map(|i| ev.ts(i) as f64 / 1000.0).collect(),
        )),
        F::Pi => Ok(StepValue::Scalar(vec![std::f64::consts::PI; n])),
        F::Start => Ok(StepValue::Scalar(vec![ev.q_start as f64 / 1000.0; n])),
        F::End => Ok(StepValue::Scalar(vec![ev.q_end as f64 / 1000.0; n])),
        F::Range => Ok(StepValue::Scalar(vec![
            (ev.q_end - ev.q_start) as f64
                / 1000.0;
            n
        ])),
        F::Step => {
            let s = if ev.q_start == ev.q_end {
                0.0
            } else {
                ev.q_step as f64 / 1000.0
            };
            Ok(StepValue::Scalar(vec![s; n]))
        }
        F::MinOf | F::MaxOf => {
            let a = ev.eval(&args[0])?.scalar();
            let b = ev.eval(&args[1])?.scalar();
            Ok(StepValue::Scalar(
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
            Ok(StepValue::Scalar(out))
        }
        F::Vector => {
            let s = ev.eval(&args[0])?.scalar();
            let pts = s
                .iter()
                .enumerate()
                .map(|(i, &v)| Point { t: ev.ts(i), v })
                .collect();
            Ok(StepValue::Vector(vec![StepSeries {
                labels: Labels::new(),
                drop: false,
                pts,
            }]))
        }
        F::Timestamp => {
            if let Expr::Selector(s) = args[0].unparen() {
                return Ok(StepValue::Vector(ev.eval_selector_timestamps(s)?));
            }
            let mut v = ev.eval(&args[0])?.vector();
            for s in &mut v {
                s.drop = true;
                for p in &mut s.pts {
                    p.v = p.t as f64 / 1000.0;
                }
            }
            Ok(StepValue::Vector(v))
        }
        F::LabelReplace => label::replace(ev, c),
        F::LabelJoin => label::join(ev, c),
        F::Abs => math::map(ev, args, f64::abs),
        F::Ceil => math::map(ev, args, f64::ceil),
        F::Floor => math::map(ev, args, f64::floor),
        F::Exp => math::map(ev, args, f64::exp),
        F::Sqrt => math::map(ev, args, f64::sqrt),
        F::Ln => math::map(ev, args, f64::ln),
        F::Log2 => math::map(ev, args, f64::log2),
        F::Log10 => math::map(ev, args, f64::log10),
        F::Sin => math::map(ev, args, f64::sin),
        F::Cos => math::map(ev, args, f64::cos),
        F::Tan => math::map(ev, args, f64::tan),
        F::Asin => math::map(ev, args, f64::asin),
        F::Acos => math::map(ev, args, f64::acos),
        F::Atan => math::map(ev, args, f64::atan),
        F::Sinh => math::map(ev, args, f64::sinh),
        F::Cosh => math::map(ev, args, f64::cosh),
        F::Tanh => math::map(ev, args, f64::tanh),
        F::Asinh => math::map(ev, args, f64::asinh),
        F::Acosh => math::map(ev, args, f64::acosh),
        F::Atanh => math::map(ev, args, f64::atanh),
        F::Rad => math::map(ev, args, |v| v * std::f64::consts::PI / 180.0),
        F::Deg => math::map(ev, args, |v| v * 180.0 / std::f64::consts::PI),
        F::Sgn => math::map(ev, args, |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        }),
        F::Clamp | F::ClampMin | F::ClampMax => math::clamp(ev, c),
        F::Round => math::round(ev, c),
        F::DaysInMonth
        | F::DayOfMonth
        | F::DayOfWeek
        | F::DayOfYear
        | F::Hour
        | F::Minute
        | F::Month
        | F::Year => math::date(ev, c),
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
            Ok(StepValue::Vector(if pts.is_empty() {
                Vec::new()
            } else {
                vec![StepSeries {
                    labels,
                    drop: false,
                    pts,
                }]
            }))
        }
        F::Sort | F::SortDesc | F::SortByLabel | F::SortByLabelDesc => label::sort(ev, c),
        F::HistogramQuantile | F::HistogramQuantiles | F::HistogramFraction => {
            histogram::classic(ev, c)
        }
        F::HistogramAvg
        | F::HistogramCount
        | F::HistogramSum
        | F::HistogramStddev
        | F::HistogramStdvar => {
            // These read native histograms only; float samples give no output.
            ev.eval(&args[0])?;
            Ok(StepValue::Vector(Vec::new()))
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
        | F::TsOfMinOverTime => range::call(ev, c),
    }
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
pub(super) fn absent_labels(e: &Expr) -> Labels {
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
