//! Query results and annotations.
//!
//! A result is one of PromQL's four value types, shaped like the Prometheus HTTP API's
//! `data`: a scalar or string at the evaluation time, an instant vector (samples with
//! labels), or a matrix (series of points). Annotations are the warnings and infos a query
//! produces ("PromQL warning: ..."), kept in order and deduplicated by text, with the
//! position in the query appended when rendered.

use std::fmt;

use super::ast::{position, Span};
use crate::model::labels::write_quoted;
use crate::model::Labels;

/// One float point of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

/// A series of a matrix result.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// A sample of an instant-vector result.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// The result of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<InstantSample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Value::Vector(v) => v.is_empty(),
            Value::Matrix(m) => m.is_empty(),
            _ => false,
        }
    }
}

/// Prometheus's `labels.Labels.String()`: `{__name__="up", job="a"}`, the name inside.
pub fn labels_string(l: &Labels) -> String {
    let mut s = String::from("{");
    for (i, l) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if crate::model::labels::is_legacy_label_name(&l.name) {
            s.push_str(&l.name);
        } else {
            let _ = write_quoted(&mut s, &l.name);
        }
        s.push('=');
        let _ = write_quoted(&mut s, &l.value);
    }
    s.push('}');
    s
}

/// Whether an annotation is a warning or an info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Warning,
    Info,
}

/// Extra data of the histogram_quantile monotonicity info, merged across steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Monotonicity {
    pub min_ts: i64,
    pub max_ts: i64,
    pub min_bucket: f64,
    pub max_bucket: f64,
    pub max_diff: f64,
    pub count: u64,
}

/// One annotation: its level, text without the position, and where in the query.
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    pub level: Level,
    pub message: String,
    pub span: Span,
    pub monotonicity: Option<Monotonicity>,
}

impl Annotation {
    pub fn warning(message: String, span: Span) -> Annotation {
        Annotation {
            level: Level::Warning,
            message: format!("PromQL warning: {message}"),
            span,
            monotonicity: None,
        }
    }

    pub fn info(message: String, span: Span) -> Annotation {
        Annotation {
            level: Level::Info,
            message: format!("PromQL info: {message}"),
            span,
            monotonicity: None,
        }
    }

    /// The text Prometheus shows: the message, extra detail, and `(line:col)`.
    pub fn render(&self, query: &str) -> String {
        let pos = position(query, self.span.start);
        match &self.monotonicity {
            Some(m) => format!(
                "{}, from buckets {} to {}, with a max diff of {}, over {} samples from {} to {} ({pos})",
                self.message,
                go_g(m.min_bucket),
                go_g(m.max_bucket),
                go_g_prec2(m.max_diff),
                m.count + 1,
                crate::model::time::format_rfc3339(m.min_ts / 1000 * 1000).replace(".000Z", "Z"),
                crate::model::time::format_rfc3339(m.max_ts / 1000 * 1000).replace(".000Z", "Z"),
            ),
            None => format!("{} ({pos})", self.message),
        }
    }
}

/// Annotations in the order first seen, one per distinct text and position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Annotations(pub Vec<Annotation>);

impl Annotations {
    pub fn add(&mut self, a: Annotation) {
        if let Some(existing) = self
            .0
            .iter_mut()
            .find(|e| e.message == a.message && e.span == a.span)
        {
            if let (Some(e), Some(n)) = (&mut existing.monotonicity, a.monotonicity) {
                e.min_ts = e.min_ts.min(n.min_ts);
                e.max_ts = e.max_ts.max(n.max_ts);
                e.min_bucket = e.min_bucket.min(n.min_bucket);
                e.max_bucket = e.max_bucket.max(n.max_bucket);
                e.max_diff = e.max_diff.max(n.max_diff);
                e.count += n.count + 1;
            }
            return;
        }
        self.0.push(a);
    }

    pub fn merge(&mut self, other: Annotations) {
        for a in other.0 {
            self.add(a);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Rendered warnings and infos, each in order.
    pub fn strings(&self, query: &str) -> (Vec<String>, Vec<String>) {
        let mut w = Vec::new();
        let mut i = Vec::new();
        for a in &self.0 {
            match a.level {
                Level::Warning => w.push(a.render(query)),
                Level::Info => i.push(a.render(query)),
            }
        }
        (w, i)
    }
}

/// The warning text for a quantile outside [0, 1].
pub fn invalid_quantile(q: f64) -> String {
    format!("quantile value should be between 0 and 1, got {}", go_g(q))
}

/// Prometheus's `almost.Equal`: equal within a relative `eps`, NaN equal to NaN, a staleness
/// marker equal only to another.
pub fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if crate::model::is_stale_nan(a) || crate::model::is_stale_nan(b) {
        return crate::model::is_stale_nan(a) && crate::model::is_stale_nan(b);
    }
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let min_normal = f64::MIN_POSITIVE;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < eps * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Go's `%g` for a float64 (shortest representation, exponent form for large/small).
pub fn go_g(v: f64) -> String {
    let mut s = String::new();
    crate::expfmt::number::write_value(&mut s, v);
    s
}

fn go_g_prec2(v: f64) -> String {
    // Go's %.2g: two significant digits.
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return go_g(v);
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..2).contains(&exp) {
        let s = format!("{:.1e}", v);
        // Rust prints 1.5e3; Go prints 1.5e+03.
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (1 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
