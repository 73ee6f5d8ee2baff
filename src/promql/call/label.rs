//! Label functions: `label_replace`, `label_join` and the sorts (`sort`, `sort_desc`,
//! `sort_by_label`, `sort_by_label_desc`, the last two in natural order).

use super::{string_arg, valid_name_arg};
use crate::model::METRIC_NAME;
use crate::promql::aggregate::{cmp_asc_nan_last, cmp_desc_nan_last};
use crate::promql::ast::{Call, Expr};
use crate::promql::eval::{
    fail, merge_same_labels, EvalResult, Evaluator, StepSeries, StepValue, Storage,
};
use crate::promql::functions::Function;

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

fn by_label(a: &StepSeries, b: &StepSeries, names: &[String]) -> std::cmp::Ordering {
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

pub(super) fn replace<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    let dst = string_arg(&c.args[1]);
    let repl = string_arg(&c.args[2]);
    let src = string_arg(&c.args[3]);
    let re_text = string_arg(&c.args[4]);
    let re = crate::model::Regex::new(&re_text).map_err(|_| {
        crate::promql::eval::EvalError::Message(format!(
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
    Ok(StepValue::Vector(merge_same_labels(v)?))
}

pub(super) fn join<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
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
    Ok(StepValue::Vector(merge_same_labels(v)?))
}

/// `sort`, `sort_desc` (NaN last), `sort_by_label`, `sort_by_label_desc`.
pub(super) fn sort<S: Storage>(ev: &mut Evaluator<'_, S>, c: &Call) -> EvalResult<StepValue> {
    if ev.start != ev.end {
        ev.warn(
            "sort is ineffective for range queries since results are always ordered by labels"
                .into(),
            c.span,
        );
    }
    let mut v = ev.eval(&c.args[0])?.vector();
    let label_args: Vec<String> = c.args[1..]
        .iter()
        .map(|a| match a.unparen() {
            Expr::String { val, .. } => val.clone(),
            _ => String::new(),
        })
        .collect();
    let first = |s: &StepSeries| s.pts.first().map_or(f64::NAN, |p| p.v);
    match c.func {
        Function::Sort => v.sort_by(|a, b| cmp_asc_nan_last(first(a), first(b))),
        Function::SortDesc => v.sort_by(|a, b| cmp_desc_nan_last(first(a), first(b))),
        Function::SortByLabel => v.sort_by(|a, b| by_label(a, b, &label_args)),
        _ => v.sort_by(|a, b| by_label(b, a, &label_args)),
    }
    Ok(StepValue::Vector(v))
}
