//! The PromQL syntax tree and its canonical printed form.
//!
//! Every node keeps its byte span in the query so that errors and annotations can name a
//! position (`1:19`), as Prometheus's do. `Display` prints the canonical form Prometheus's
//! `String()` gives: it re-parses to the same tree (the test runner relies on that when it
//! re-runs a query with `@` added), keeps the user's parentheses, and writes durations in
//! their shortest unit form (`90s` → `1m30s`).

use std::fmt;

use super::functions::Function;
use crate::model::labels::{is_legacy_label_name, write_quoted};
use crate::model::matcher::{MatchOp, Matcher};
use crate::model::time::format_duration;
use crate::model::METRIC_NAME;

/// A byte range in the query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// `line:column` of the start, columns counted in bytes from 1 (Prometheus's form).
    pub fn position(&self, query: &str) -> String {
        position(query, self.start)
    }
}

/// `line:column` of a byte offset.
pub fn position(query: &str, pos: usize) -> String {
    let pos = pos.min(query.len());
    let before = &query.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let last_nl = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(-1, |i| i as i64);
    format!("{}:{}", line, pos as i64 - last_nl)
}

/// The four value types of PromQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// The name Prometheus's messages use ("instant vector", "range vector", ...).
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }

    /// The name in the HTTP API's `resultType`.
    pub fn api_name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }
}

/// Binary operators, in precedence groups (see [`BinOp::precedence`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "^",
            Atan2 => "atan2",
            Eql => "==",
            Neq => "!=",
            Gtr => ">",
            Lss => "<",
            Gte => ">=",
            Lte => "<=",
            And => "and",
            Or => "or",
            Unless => "unless",
        }
    }

    /// Precedence, higher binds tighter: `or` 1, `and unless` 2, comparisons 3, `+ -` 4,
    /// `* / % atan2` 5, `^` 6 (right-associative). Unary minus sits at 5.
    pub fn precedence(self) -> u8 {
        use BinOp::*;
        match self {
            Or => 1,
            And | Unless => 2,
            Eql | Neq | Gtr | Lss | Gte | Lte => 3,
            Add | Sub => 4,
            Mul | Div | Mod | Atan2 => 5,
            Pow => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        use BinOp::*;
        matches!(self, Eql | Neq | Gtr | Lss | Gte | Lte)
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// Arithmetic operators drop the metric name from vector-vector results at once.
    pub fn changes_schema(self) -> bool {
        use BinOp::*;
        matches!(self, Add | Sub | Mul | Div | Pow | Mod | Atan2)
    }
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
    Limitk,
    LimitRatio,
}

impl AggOp {
    pub fn as_str(self) -> &'static str {
        use AggOp::*;
        match self {
            Sum => "sum",
            Avg => "avg",
            Count => "count",
            Min => "min",
            Max => "max",
            Group => "group",
            Stddev => "stddev",
            Stdvar => "stdvar",
            Topk => "topk",
            Bottomk => "bottomk",
            CountValues => "count_values",
            Quantile => "quantile",
            Limitk => "limitk",
            LimitRatio => "limit_ratio",
        }
    }

    pub fn has_param(self) -> bool {
        use AggOp::*;
        matches!(
            self,
            Topk | Bottomk | CountValues | Quantile | Limitk | LimitRatio
        )
    }
}

/// How a binary operation between two vectors matches series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VectorMatching {
    pub card: Card,
    /// `on` (true) or `ignoring` (false).
    pub on: bool,
    pub labels: Vec<String>,
    /// Extra labels of `group_left(...)` / `group_right(...)`.
    pub include: Vec<String>,
}

/// A duration in a range, subquery step or offset: a literal or an expression over
/// `step()`, `range()`, `min_of`, `max_of`, numbers and durations (seconds as floats).
#[derive(Clone, Debug, PartialEq)]
pub enum DurExpr {
    /// A number (seconds) or duration literal.
    Num {
        secs: f64,
        duration: bool,
        span: Span,
    },
    Step(Span),
    Range(Span),
    MinOf(Box<DurExpr>, Box<DurExpr>, Span),
    MaxOf(Box<DurExpr>, Box<DurExpr>, Span),
    Neg(Box<DurExpr>, Span),
    Paren(Box<DurExpr>, Span),
    Binary(BinOp, Box<DurExpr>, Box<DurExpr>),
}

impl DurExpr {
    pub fn span(&self) -> Span {
        match self {
            DurExpr::Num { span, .. }
            | DurExpr::Step(span)
            | DurExpr::Range(span)
            | DurExpr::MinOf(_, _, span)
            | DurExpr::MaxOf(_, _, span)
            | DurExpr::Neg(_, span)
            | DurExpr::Paren(_, span) => *span,
            DurExpr::Binary(_, a, b) => Span::new(a.span().start, b.span().end),
        }
    }

    /// A plain literal, evaluated at parse time like Prometheus (rounded to nanoseconds).
    pub fn literal_ms(&self) -> Option<i64> {
        match self {
            DurExpr::Num { secs, .. } => Some(secs_to_ms_literal(*secs)),
            _ => None,
        }
    }
}

/// Seconds to milliseconds the way a Go `time.Duration` literal truncates.
pub fn secs_to_ms_literal(secs: f64) -> i64 {
    let ns = (secs * 1e9).round();
    (ns / 1e6).trunc() as i64
}

/// Where an `@` modifier pins evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    Time(i64),
    Start,
    End,
}

/// An instant vector selector with its modifiers.
#[derive(Clone, Debug)]
pub struct Selector {
    /// The metric name written before the braces, if any.
    pub name: Option<String>,
    /// All matchers, the name matcher included.
    pub matchers: Vec<Matcher>,
    pub offset: Option<DurExpr>,
    pub at: Option<At>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct MatrixSelector {
    pub selector: Selector,
    pub range: DurExpr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Subquery {
    pub expr: Expr,
    pub range: DurExpr,
    pub step: Option<DurExpr>,
    pub offset: Option<DurExpr>,
    pub at: Option<At>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Binary {
    pub op: BinOp,
    pub lhs: Expr,
    pub rhs: Expr,
    pub return_bool: bool,
    /// None when either side is a scalar.
    pub matching: Option<VectorMatching>,
}

#[derive(Clone, Debug)]
pub struct Aggregate {
    pub op: AggOp,
    pub expr: Expr,
    pub param: Option<Expr>,
    pub grouping: Vec<String>,
    pub without: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub func: Function,
    pub args: Vec<Expr>,
    pub span: Span,
}

/// A PromQL expression.
#[derive(Clone, Debug)]
pub enum Expr {
    Number {
        val: f64,
        duration: bool,
        span: Span,
    },
    String {
        val: String,
        span: Span,
        /// Go's quoted form when the escapes spell invalid UTF-8 (never a valid name).
        invalid_utf8: Option<String>,
    },
    Paren(Box<Expr>, Span),
    /// Unary minus (`neg` true) or plus.
    Unary {
        neg: bool,
        expr: Box<Expr>,
        span: Span,
    },
    Binary(Box<Binary>),
    Aggregate(Box<Aggregate>),
    Call(Box<Call>),
    Selector(Box<Selector>),
    Matrix(Box<MatrixSelector>),
    Subquery(Box<Subquery>),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Number { span, .. }
            | Expr::String { span, .. }
            | Expr::Paren(_, span)
            | Expr::Unary { span, .. } => *span,
            Expr::Binary(b) => Span::new(b.lhs.span().start, b.rhs.span().end),
            Expr::Aggregate(a) => a.span,
            Expr::Call(c) => c.span,
            Expr::Selector(s) => s.span,
            Expr::Matrix(m) => m.span,
            Expr::Subquery(s) => s.span,
        }
    }

    pub fn value_type(&self) -> ValueType {
        super::deep(|| self.value_type_node())
    }

    fn value_type_node(&self) -> ValueType {
        match self {
            Expr::Number { .. } => ValueType::Scalar,
            Expr::String { .. } => ValueType::String,
            Expr::Paren(e, _) => e.value_type(),
            Expr::Unary { expr, .. } => expr.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Aggregate(_) => ValueType::Vector,
            Expr::Call(c) => c.func.signature().ret,
            Expr::Selector(_) => ValueType::Vector,
            Expr::Matrix(_) | Expr::Subquery(_) => ValueType::Matrix,
        }
    }

    /// The node's direct subexpressions, in the order they are written.
    pub fn children(&self) -> impl Iterator<Item = &Expr> {
        let (first, second, rest): (Option<&Expr>, Option<&Expr>, &[Expr]) = match self {
            Expr::Paren(e, _) | Expr::Unary { expr: e, .. } => (Some(e), None, &[]),
            Expr::Binary(b) => (Some(&b.lhs), Some(&b.rhs), &[]),
            Expr::Aggregate(a) => (a.param.as_ref(), Some(&a.expr), &[]),
            Expr::Call(c) => (None, None, &c.args),
            Expr::Subquery(s) => (Some(&s.expr), None, &[]),
            Expr::Number { .. } | Expr::String { .. } | Expr::Selector(_) | Expr::Matrix(_) => {
                (None, None, &[])
            }
        };
        first.into_iter().chain(second).chain(rest)
    }

    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        super::deep(|| self.children().for_each(|c| c.walk(f)));
    }

    /// The expression with any enclosing parentheses removed.
    pub fn unparen(&self) -> &Expr {
        let mut e = self;
        while let Expr::Paren(inner, _) = e {
            e = inner;
        }
        e
    }
}

fn write_label_name(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if is_legacy_label_name(s) {
        f.write_str(s)
    } else {
        write_quoted(f, s)
    }
}

fn write_labels(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_label_name(f, n)?;
    }
    Ok(())
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest decimal, no exponent.
pub fn format_float_plain(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's `Display` is the shortest round-trip decimal without an exponent, as Go's 'f'.
    format!("{v}")
}

fn fmt_dur(f: &mut fmt::Formatter<'_>, d: &DurExpr, top: bool) -> fmt::Result {
    super::deep(|| fmt_dur_node(f, d, top))
}

fn fmt_dur_node(f: &mut fmt::Formatter<'_>, d: &DurExpr, top: bool) -> fmt::Result {
    match d {
        DurExpr::Num { secs, duration, .. } => {
            if top {
                // A literal range or offset prints as a duration.
                let ms = secs_to_ms_literal(*secs);
                if ms < 0 {
                    write!(f, "-{}", format_duration(-ms))
                } else {
                    f.write_str(&format_duration(ms))
                }
            } else if *duration {
                let ms = secs_to_ms_literal(*secs);
                if ms < 0 {
                    write!(f, "-{}", format_duration(-ms))
                } else {
                    f.write_str(&format_duration(ms))
                }
            } else {
                f.write_str(&format_float_plain(*secs))
            }
        }
        DurExpr::Step(_) => f.write_str("step()"),
        DurExpr::Range(_) => f.write_str("range()"),
        DurExpr::MinOf(a, b, _) | DurExpr::MaxOf(a, b, _) => {
            let name = if matches!(d, DurExpr::MinOf(..)) {
                "min_of"
            } else {
                "max_of"
            };
            write!(f, "{name}(")?;
            fmt_dur(f, a, false)?;
            f.write_str(", ")?;
            fmt_dur(f, b, false)?;
            f.write_str(")")
        }
        DurExpr::Neg(e, _) => {
            f.write_str("-")?;
            fmt_dur(f, e, false)
        }
        DurExpr::Paren(e, _) => {
            f.write_str("(")?;
            fmt_dur(f, e, false)?;
            f.write_str(")")
        }
        DurExpr::Binary(op, a, b) => {
            fmt_dur(f, a, false)?;
            write!(f, " {} ", op.as_str())?;
            fmt_dur(f, b, false)
        }
    }
}

fn fmt_at_offset(
    f: &mut fmt::Formatter<'_>,
    at: &Option<At>,
    offset: &Option<DurExpr>,
) -> fmt::Result {
    match at {
        Some(At::Time(ms)) => write!(f, " @ {:.3}", *ms as f64 / 1000.0)?,
        Some(At::Start) => f.write_str(" @ start()")?,
        Some(At::End) => f.write_str(" @ end()")?,
        None => {}
    }
    if let Some(o) = offset {
        if o.literal_ms() != Some(0) {
            f.write_str(" offset ")?;
            fmt_dur(f, o, true)?;
        }
    }
    Ok(())
}

fn fmt_selector_body(f: &mut fmt::Formatter<'_>, s: &Selector) -> fmt::Result {
    let name = s.name.as_deref().unwrap_or("");
    let mut parts: Vec<String> = s
        .matchers
        .iter()
        .filter(|m| {
            !(m.name == METRIC_NAME
                && m.op == MatchOp::Equal
                && m.value == name
                && !name.is_empty())
        })
        .map(|m| m.to_string())
        .collect();
    f.write_str(name)?;
    if !parts.is_empty() {
        parts.sort();
        write!(f, "{{{}}}", parts.join(","))?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::deep(|| self.fmt_node(f))
    }
}

impl Expr {
    fn fmt_node(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number { val, duration, .. } => {
                if *duration {
                    let ms = secs_to_ms_literal(*val);
                    if ms < 0 {
                        write!(f, "-{}", format_duration(-ms))
                    } else {
                        f.write_str(&format_duration(ms))
                    }
                } else {
                    f.write_str(&format_float_plain(*val))
                }
            }
            Expr::String {
                val, invalid_utf8, ..
            } => match invalid_utf8 {
                Some(q) => f.write_str(q),
                None => f.write_str(&super::lex::go_quote(val)),
            },
            Expr::Paren(e, _) => write!(f, "({e})"),
            Expr::Unary { neg, expr, .. } => {
                write!(f, "{}{expr}", if *neg { "-" } else { "+" })
            }
            Expr::Binary(b) => {
                write!(f, "{} {}", b.lhs, b.op.as_str())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = &b.matching {
                    let grouped = matches!(m.card, Card::ManyToOne | Card::OneToMany);
                    if !m.labels.is_empty() || m.on || grouped {
                        write!(f, " {} (", if m.on { "on" } else { "ignoring" })?;
                        write_labels(f, &m.labels)?;
                        f.write_str(")")?;
                    }
                    if grouped {
                        let side = if m.card == Card::ManyToOne {
                            "left"
                        } else {
                            "right"
                        };
                        write!(f, " group_{side} (")?;
                        write_labels(f, &m.include)?;
                        f.write_str(")")?;
                    }
                }
                write!(f, " {}", b.rhs)
            }
            Expr::Aggregate(a) => {
                f.write_str(a.op.as_str())?;
                if a.without {
                    f.write_str(" without (")?;
                    write_labels(f, &a.grouping)?;
                    f.write_str(") ")?;
                } else if !a.grouping.is_empty() {
                    f.write_str(" by (")?;
                    write_labels(f, &a.grouping)?;
                    f.write_str(") ")?;
                }
                f.write_str("(")?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name())?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Selector(s) => {
                fmt_selector_body(f, s)?;
                fmt_at_offset(f, &s.at, &s.offset)
            }
            Expr::Matrix(m) => {
                fmt_selector_body(f, &m.selector)?;
                f.write_str("[")?;
                fmt_dur(f, &m.range, true)?;
                f.write_str("]")?;
                fmt_at_offset(f, &m.selector.at, &m.selector.offset)
            }
            Expr::Subquery(s) => {
                write!(f, "{}[", s.expr)?;
                fmt_dur(f, &s.range, true)?;
                f.write_str(":")?;
                if let Some(st) = &s.step {
                    fmt_dur(f, st, true)?;
                }
                f.write_str("]")?;
                fmt_at_offset(f, &s.at, &s.offset)
            }
        }
    }
}
