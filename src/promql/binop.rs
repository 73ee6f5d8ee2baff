//! Binary operators: scalar/scalar, vector/scalar and vector/vector with `on`/`ignoring`,
//! `group_left`/`group_right`, `bool` and the set operators `and`, `or`, `unless`.
//!
//! Vector/vector matching follows Prometheus step by step: each series' match signature is
//! computed once; at every step the "one" side must be unique per signature, and the output
//! labels (left side's, minus the name for arithmetic, restricted for one-to-one `on`, plus
//! `group_x` extra labels) are cached per matched pair.

use std::collections::HashMap;

use super::ast::{BinOp, Binary, Card, ValueType, VectorMatching};
use super::eval::{
    fail, Cursors, EvalResult, Evaluator, StepSeries, StepValue, Storage, VectorBuilder,
};
use super::value::labels_string;
use crate::model::{Labels, METRIC_NAME};

/// `a op b` on floats for scalar results and arithmetic.
pub(crate) fn scalar_op(op: BinOp, a: f64, b: f64) -> f64 {
    let btos = |x: bool| if x { 1.0 } else { 0.0 };
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Pow => a.powf(b),
        BinOp::Mod => go_mod(a, b),
        BinOp::Atan2 => a.atan2(b),
        BinOp::Eql => btos(a == b),
        BinOp::Neq => btos(a != b),
        BinOp::Gtr => btos(a > b),
        BinOp::Lss => btos(a < b),
        BinOp::Gte => btos(a >= b),
        BinOp::Lte => btos(a <= b),
        BinOp::And | BinOp::Or | BinOp::Unless => f64::NAN,
    }
}

/// Go's `math.Mod` (the sign of the result follows `a`, like Rust's `%`).
pub(crate) fn go_mod(a: f64, b: f64) -> f64 {
    a % b
}

/// `(value, keep)` for a vector element: comparisons keep the left value when true.
fn elem_op(op: BinOp, a: f64, b: f64) -> (f64, bool) {
    match op {
        BinOp::Eql => (a, a == b),
        BinOp::Neq => (a, a != b),
        BinOp::Gtr => (a, a > b),
        BinOp::Lss => (a, a < b),
        BinOp::Gte => (a, a >= b),
        BinOp::Lte => (a, a <= b),
        _ => (scalar_op(op, a, b), true),
    }
}

pub(crate) fn eval_binary<S: Storage>(
    ev: &mut Evaluator<'_, S>,
    b: &Binary,
) -> EvalResult<StepValue> {
    let lt = b.lhs.value_type();
    let rt = b.rhs.value_type();
    let lhs = ev.eval(&b.lhs)?;
    let rhs = ev.eval(&b.rhs)?;
    match (lt, rt) {
        (ValueType::Scalar, ValueType::Scalar) => {
            let (l, r) = (lhs.scalar(), rhs.scalar());
            Ok(StepValue::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(a, c)| scalar_op(b.op, *a, *c))
                    .collect(),
            ))
        }
        (ValueType::Vector, ValueType::Scalar) => Ok(StepValue::Vector(vector_scalar(
            ev,
            b,
            lhs.vector(),
            &rhs.scalar(),
            false,
        ))),
        (ValueType::Scalar, ValueType::Vector) => Ok(StepValue::Vector(vector_scalar(
            ev,
            b,
            rhs.vector(),
            &lhs.scalar(),
            true,
        ))),
        _ => {
            let m = b.matching.clone().unwrap_or(VectorMatching {
                card: Card::OneToOne,
                on: false,
                labels: Vec::new(),
                include: Vec::new(),
            });
            let (l, r) = (lhs.vector(), rhs.vector());
            Ok(StepValue::Vector(match b.op {
                BinOp::And | BinOp::Or | BinOp::Unless => set_op(ev, b.op, &m, l, r)?,
                _ => vector_vector(ev, b, &m, l, r)?,
            }))
        }
    }
}

fn vector_scalar<S: Storage>(
    ev: &Evaluator<'_, S>,
    b: &Binary,
    vec: Vec<StepSeries>,
    sc: &[f64],
    swap: bool,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(vec.len());
    for mut s in vec {
        let mut pts = Vec::with_capacity(s.pts.len());
        for p in &s.pts {
            let i = ((p.t - ev.start) / ev.interval) as usize;
            let c = sc.get(i).copied().unwrap_or(f64::NAN);
            let (l, r) = if swap { (c, p.v) } else { (p.v, c) };
            let (mut v, mut keep) = elem_op(b.op, l, r);
            if b.op.is_comparison() && swap {
                v = r;
            }
            if b.return_bool {
                v = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            if keep {
                pts.push(super::value::Point { t: p.t, v });
            }
        }
        if pts.is_empty() {
            continue;
        }
        if b.op.changes_schema() || b.return_bool {
            s.drop = true;
        }
        s.pts = pts;
        out.push(s);
    }
    out
}

/// The match signature of a labelset.
fn signature(l: &Labels, m: &VectorMatching) -> Labels {
    if m.on {
        l.keep(&m.labels)
    } else {
        let mut names: Vec<&str> = m.labels.iter().map(String::as_str).collect();
        names.push(METRIC_NAME);
        l.without(&names)
    }
}

/// Signature ordinals for both sides (shared numbering).
fn ordinals(
    m: &VectorMatching,
    l: &[StepSeries],
    r: &[StepSeries],
) -> (Vec<usize>, Vec<usize>, usize) {
    let mut map: HashMap<Labels, usize> = HashMap::new();
    let mut ord = |s: &StepSeries| {
        let sig = signature(&s.labels, m);
        let n = map.len();
        *map.entry(sig).or_insert(n)
    };
    let lo: Vec<usize> = l.iter().map(&mut ord).collect();
    let ro: Vec<usize> = r.iter().map(&mut ord).collect();
    (lo, ro, map.len())
}

fn set_op<S: Storage>(
    ev: &mut Evaluator<'_, S>,
    op: BinOp,
    m: &VectorMatching,
    l: Vec<StepSeries>,
    r: Vec<StepSeries>,
) -> EvalResult<Vec<StepSeries>> {
    let (lo, ro, nsig) = ordinals(m, &l, &r);
    let mut out = VectorBuilder::new();
    let lslot: Vec<usize> = l.iter().map(|s| out.slot(&s.labels, s.drop)).collect();
    let rslot: Vec<usize> = if op == BinOp::Or {
        r.iter().map(|s| out.slot(&s.labels, s.drop)).collect()
    } else {
        Vec::new()
    };
    let mut lc = Cursors::new(l.len());
    let mut rc = Cursors::new(r.len());
    let mut present = vec![false; nsig];
    let mut touched = Vec::new();
    let mut lvals: Vec<(usize, f64)> = Vec::new();
    let mut rvals: Vec<(usize, f64)> = Vec::new();
    for i in 0..ev.steps() {
        ev.tick()?;
        let t = ev.ts(i);
        lvals.clear();
        rvals.clear();
        for (j, s) in l.iter().enumerate() {
            if let Some(v) = lc.at(j, s, t) {
                lvals.push((j, v));
            }
        }
        for (j, s) in r.iter().enumerate() {
            if let Some(v) = rc.at(j, s, t) {
                rvals.push((j, v));
            }
        }
        for &k in &touched {
            present[k] = false;
        }
        touched.clear();
        match op {
            BinOp::And | BinOp::Unless => {
                for &(j, _) in &rvals {
                    present[ro[j]] = true;
                    touched.push(ro[j]);
                }
                for &(j, v) in &lvals {
                    let hit = present[lo[j]];
                    if hit == (op == BinOp::And) {
                        out.push(lslot[j], t, v)?;
                    }
                }
            }
            _ => {
                for &(j, v) in &lvals {
                    present[lo[j]] = true;
                    touched.push(lo[j]);
                    out.push(lslot[j], t, v)?;
                }
                for &(j, v) in &rvals {
                    if !present[ro[j]] {
                        out.push(rslot[j], t, v)?;
                    }
                }
            }
        }
    }
    Ok(out.finish())
}

fn vector_vector<S: Storage>(
    ev: &mut Evaluator<'_, S>,
    b: &Binary,
    m: &VectorMatching,
    l: Vec<StepSeries>,
    r: Vec<StepSeries>,
) -> EvalResult<Vec<StepSeries>> {
    // For group_right, the right side is the "many" side: swap, and swap values back.
    let swapped = m.card == Card::OneToMany;
    let (many, one) = if swapped { (r, l) } else { (l, r) };
    let (mo, oo, nsig) = ordinals(m, &many, &one);
    let mut out = VectorBuilder::new();
    let mut pair_slot: HashMap<(usize, usize), usize> = HashMap::new();
    let mut mc = Cursors::new(many.len());
    let mut oc = Cursors::new(one.len());
    let mut one_at: Vec<Option<(usize, f64)>> = vec![None; nsig];
    let mut matched = vec![false; nsig];
    let mut touched: Vec<usize> = Vec::new();
    let mut inserted: std::collections::HashSet<(usize, usize)> = Default::default();
    let mut many_at: Vec<(usize, f64)> = Vec::new();
    for i in 0..ev.steps() {
        ev.tick()?;
        let t = ev.ts(i);
        for &k in &touched {
            one_at[k] = None;
            matched[k] = false;
        }
        touched.clear();
        inserted.clear();
        many_at.clear();
        for (j, s) in many.iter().enumerate() {
            if let Some(v) = mc.at(j, s, t) {
                many_at.push((j, v));
            }
        }
        if many_at.is_empty() {
            continue;
        }
        let mut any_one = false;
        for (j, s) in one.iter().enumerate() {
            if let Some(v) = oc.at(j, s, t) {
                any_one = true;
                let k = oo[j];
                if let Some((prev, _)) = one_at[k] {
                    let side = if swapped { "left" } else { "right" };
                    let matched_labels = if m.on {
                        s.labels.keep(&m.labels)
                    } else {
                        s.labels.without(&m.labels)
                    };
                    let mut d = [labels_string(&s.labels), labels_string(&one[prev].labels)];
                    d.sort();
                    return fail(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        labels_string(&matched_labels),
                        d[0],
                        d[1]
                    ));
                }
                one_at[k] = Some((j, v));
                touched.push(k);
            }
        }
        if !any_one {
            continue;
        }
        for &(j, mv) in &many_at {
            let k = mo[j];
            let Some((oj, ov)) = one_at[k] else { continue };
            let (a, c) = if swapped { (ov, mv) } else { (mv, ov) };
            let (mut v, keep) = elem_op(b.op, a, c);
            if b.return_bool {
                v = if keep { 1.0 } else { 0.0 };
            }
            let slot = match pair_slot.get(&(j, oj)) {
                Some(&s) => s,
                None => {
                    let labels = result_labels(&many[j].labels, &one[oj].labels, b.op, m);
                    let s = out.slot(&labels, b.return_bool);
                    pair_slot.insert((j, oj), s);
                    s
                }
            };
            if m.card == Card::OneToOne {
                if matched[k] {
                    return fail("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
                }
                matched[k] = true;
            } else if !inserted.insert((k, slot)) {
                return fail(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                );
            }
            if !keep && !b.return_bool {
                continue;
            }
            out.push(slot, t, v)?;
        }
    }
    Ok(out.finish())
}

fn result_labels(l: &Labels, r: &Labels, op: BinOp, m: &VectorMatching) -> Labels {
    let mut out = if op.changes_schema() {
        l.without(&[METRIC_NAME])
    } else {
        l.clone()
    };
    if m.card == Card::OneToOne {
        out = if m.on {
            out.keep(&m.labels)
        } else {
            out.without(&m.labels)
        };
    }
    for name in &m.include {
        out = out.with(name, r.get(name).unwrap_or(""));
    }
    out
}
