//! The PromQL parser: tokens → [`Expr`], then the type check.
//!
//! Operator precedence (higher binds tighter), as in Prometheus's grammar:
//!
//! ```text
//!   1  or                      left
//!   2  and unless              left
//!   3  == != <= < >= >         left
//!   4  + -                     left
//!   5  * / % atan2, unary -    left
//!   6  ^                       right
//!   7  offset @ [range] [sub:] postfix, bind to the nearest operand
//! ```
//!
//! So `-a ^ b` is `-(a ^ b)`, `a offset 5m ^ 2` is `(a offset 5m) ^ 2` and `2 ^ 3 ^ 2` is
//! `2 ^ (3 ^ 2)`. Inside brackets, durations may be arithmetic over numbers (seconds),
//! durations, `step()`, `range()`, `min_of` and `max_of`; after `offset` only a signed
//! atom is taken (`foo offset 100 + 2` adds 2 to `foo offset 100`).
//!
//! Errors carry the byte span and read like Prometheus's (`1:5: parse error: unexpected
//! <op:+> ...`), so scripts and users see familiar text.

use std::fmt;

use super::ast::*;
use super::functions::Function;
use super::lex::{go_quote, lex, Token, T};
use crate::model::matcher::{MatchOp, Matcher};
use crate::model::METRIC_NAME;

/// A parse or type error at a place in the query.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub span: Span,
    /// `line:column` of the start.
    pub position: String,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: parse error: {}", self.position, self.message)
    }
}

impl std::error::Error for ParseError {}

type ParseResult<T> = Result<T, ParseError>;

/// Parses and type-checks a PromQL expression.
pub fn parse(query: &str) -> ParseResult<Expr> {
    let tokens = lex(query);
    let mut p = Parser {
        src: query,
        toks: tokens,
        i: 0,
        last_closing: 0,
        depth: 0,
    };
    if p.peek().kind == T::Eof {
        return Err(p.error(Span::new(0, 0), "no expression found in input".into()));
    }
    let e = p.expr(0)?;
    let t = p.peek().clone();
    if t.kind != T::Eof {
        return Err(p.unexpected(&t, "", ""));
    }
    check(query, &e)?;
    Ok(e)
}

pub use crate::model::notation::parse_number;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    /// End of the last `)`, `}`, `]`, number or duration consumed (Prometheus's
    /// `lastClosing`, the end of call and aggregation spans).
    last_closing: usize,
    /// How deep the expression being parsed sits (see [`MAX_DEPTH`]).
    depth: usize,
}

/// The deepest an expression may nest: parentheses, operands, function arguments and
/// aggregations, each operator of a chain (`a or b or c` is three deep) and each subquery
/// or duration operator count one level. Prometheus sets no limit; this one keeps every walk
/// of the tree (type check, printing, evaluation) within a thread's stack.
pub const MAX_DEPTH: usize = 1000;

fn binop(k: T) -> Option<BinOp> {
    Some(match k {
        T::Add => BinOp::Add,
        T::Sub => BinOp::Sub,
        T::Mul => BinOp::Mul,
        T::Div => BinOp::Div,
        T::Mod => BinOp::Mod,
        T::Pow => BinOp::Pow,
        T::Atan2 => BinOp::Atan2,
        T::Eqlc => BinOp::Eql,
        T::Neq => BinOp::Neq,
        T::Gtr => BinOp::Gtr,
        T::Lss => BinOp::Lss,
        T::Gte => BinOp::Gte,
        T::Lte => BinOp::Lte,
        T::Land => BinOp::And,
        T::Lor => BinOp::Or,
        T::Lunless => BinOp::Unless,
        _ => return None,
    })
}

fn aggop(k: T) -> Option<AggOp> {
    Some(match k {
        T::Sum => AggOp::Sum,
        T::Avg => AggOp::Avg,
        T::Count => AggOp::Count,
        T::Min => AggOp::Min,
        T::Max => AggOp::Max,
        T::Group => AggOp::Group,
        T::Stddev => AggOp::Stddev,
        T::Stdvar => AggOp::Stdvar,
        T::Topk => AggOp::Topk,
        T::Bottomk => AggOp::Bottomk,
        T::CountValues => AggOp::CountValues,
        T::Quantile => AggOp::Quantile,
        T::Limitk => AggOp::Limitk,
        T::LimitRatio => AggOp::LimitRatio,
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.i + n).min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        if matches!(
            t.kind,
            T::RBrace | T::RParen | T::RBracket | T::Duration | T::Number
        ) {
            self.last_closing = t.end;
        }
        t
    }

    fn error(&self, span: Span, message: String) -> ParseError {
        ParseError {
            span,
            position: position(self.src, span.start),
            message,
        }
    }

    /// "unexpected <token> in <context>, expected <what>"; a lexer error is reported as is.
    fn unexpected(&self, t: &Token, context: &str, expected: &str) -> ParseError {
        if t.kind == T::Error {
            return self.error(Span::new(t.start, t.end), t.value.clone());
        }
        let mut m = format!("unexpected {}", t.describe(self.src));
        if !context.is_empty() {
            m.push_str(" in ");
            m.push_str(context);
        }
        if !expected.is_empty() {
            m.push_str(", expected ");
            m.push_str(expected);
        }
        self.error(Span::new(t.start, t.end), m)
    }

    fn expect(&mut self, k: T, context: &str, expected: &str) -> ParseResult<Token> {
        let t = self.peek().clone();
        if t.kind != k {
            return Err(self.unexpected(&t, context, expected));
        }
        Ok(self.next())
    }

    /// One level deeper, at byte `at`; an error past [`MAX_DEPTH`].
    fn deeper(&mut self, at: usize) -> ParseResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                Span::new(at, at),
                format!("expression nests too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self, min_prec: u8) -> ParseResult<Expr> {
        super::deep(|| self.expr_inner(min_prec))
    }

    fn expr_inner(&mut self, min_prec: u8) -> ParseResult<Expr> {
        let depth = self.depth;
        self.deeper(self.peek().start)?;
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek().clone();
            let Some(op) = binop(t.kind) else { break };
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            // A chain (`a + b + c`) nests one deeper per operator after the first; the
            // right operand is parsed a level deeper anyway.
            if matches!(lhs, Expr::Binary(_)) {
                self.deeper(t.start)?;
            }
            self.next();
            let (return_bool, matching) = self.bin_modifiers(op)?;
            let next_min = if op == BinOp::Pow { prec } else { prec + 1 };
            let rhs = self.expr(next_min)?;
            lhs = Expr::Binary(Box::new(Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching: Some(matching),
            }));
        }
        self.depth = depth;
        Ok(lhs)
    }

    fn bin_modifiers(&mut self, op: BinOp) -> ParseResult<(bool, VectorMatching)> {
        let mut m = VectorMatching {
            card: if op.is_set() {
                Card::ManyToMany
            } else {
                Card::OneToOne
            },
            on: false,
            labels: Vec::new(),
            include: Vec::new(),
        };
        let mut return_bool = false;
        if self.peek().kind == T::Bool {
            self.next();
            return_bool = true;
        }
        match self.peek().kind {
            T::On | T::Ignoring => {
                m.on = self.next().kind == T::On;
                m.labels = self.grouping_labels()?;
                match self.peek().kind {
                    T::GroupLeft | T::GroupRight => {
                        m.card = if self.next().kind == T::GroupLeft {
                            Card::ManyToOne
                        } else {
                            Card::OneToMany
                        };
                        if self.peek().kind == T::LParen {
                            m.include = self.grouping_labels()?;
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        Ok((return_bool, m))
    }

    fn grouping_labels(&mut self) -> ParseResult<Vec<String>> {
        let t = self.peek().clone();
        if t.kind != T::LParen {
            return Err(self.unexpected(&t, "grouping opts", "\"(\""));
        }
        self.next();
        let mut out = Vec::new();
        loop {
            let t = self.peek().clone();
            if t.kind == T::RParen {
                self.next();
                return Ok(out);
            }
            let name = if t.kind == T::String {
                t.value.clone()
            } else if t.kind.is_maybe_label() {
                t.text(self.src).to_string()
            } else {
                return Err(self.unexpected(&t, "grouping opts", "label"));
            };
            self.next();
            out.push(name);
            let t = self.peek().clone();
            match t.kind {
                T::Comma => {
                    self.next();
                }
                T::RParen => {}
                _ => return Err(self.unexpected(&t, "grouping opts", "\",\" or \")\"")),
            }
        }
    }

    fn unary(&mut self) -> ParseResult<Expr> {
        let t = self.peek().clone();
        if matches!(t.kind, T::Add | T::Sub) {
            self.next();
            let neg = t.kind == T::Sub;
            let operand = self.expr(BinOp::Pow.precedence())?;
            if let Expr::Number {
                val,
                duration,
                span,
            } = operand
            {
                return Ok(Expr::Number {
                    val: if neg { -val } else { val },
                    duration,
                    span: Span::new(t.start, span.end),
                });
            }
            let end = operand.span().end;
            return Ok(Expr::Unary {
                neg,
                expr: Box::new(operand),
                span: Span::new(t.start, end),
            });
        }
        let e = self.primary()?;
        self.postfix(e)
    }

    fn primary(&mut self) -> ParseResult<Expr> {
        let t = self.peek().clone();
        match t.kind {
            T::Number => {
                self.next();
                let text = t.text(self.src);
                let val = parse_number(text).ok_or_else(|| {
                    self.error(
                        Span::new(t.start, t.end),
                        format!(
                            "error parsing number: strconv.ParseFloat: parsing {}: invalid syntax",
                            go_quote(text)
                        ),
                    )
                })?;
                Ok(Expr::Number {
                    val,
                    duration: false,
                    span: Span::new(t.start, t.end),
                })
            }
            T::Duration => {
                self.next();
                let secs = self.duration_secs(&t)?;
                Ok(Expr::Number {
                    val: secs,
                    duration: true,
                    span: Span::new(t.start, t.end),
                })
            }
            T::String => {
                self.next();
                Ok(Expr::String {
                    val: t.value.clone(),
                    span: Span::new(t.start, t.end),
                    invalid_utf8: t.invalid_utf8.clone(),
                })
            }
            T::LParen => {
                self.next();
                let inner = self.expr(0)?;
                let close = self.peek().clone();
                if close.kind != T::RParen {
                    return Err(self.unexpected(&close, "", ""));
                }
                self.next();
                Ok(Expr::Paren(Box::new(inner), Span::new(t.start, close.end)))
            }
            T::LBrace => self.selector(None, t.start),
            k if aggop(k).is_some()
                && matches!(self.peek_at(1).kind, T::LParen | T::By | T::Without) =>
            {
                self.aggregate()
            }
            T::Identifier | T::Start | T::End | T::Step | T::Range | T::MaxOf | T::MinOf
                if self.peek_at(1).kind == T::LParen =>
            {
                self.call()
            }
            k if k.is_metric_identifier() => {
                self.next();
                let name = t.text(self.src).to_string();
                self.selector(Some((name, t.start)), t.start)
            }
            T::Eof => Err(self.unexpected(&t, "", "")),
            _ => Err(self.unexpected(&t, "", "")),
        }
    }

    fn duration_secs(&self, t: &Token) -> ParseResult<f64> {
        let text = t.text(self.src);
        match crate::model::time::parse_duration(text) {
            Ok(ms) if text.chars().any(|c| c.is_ascii_alphabetic()) => Ok(ms as f64 / 1000.0),
            _ => Err(self.error(
                Span::new(t.start, t.end),
                format!("not a valid duration string: {}", go_quote(text)),
            )),
        }
    }

    fn call(&mut self) -> ParseResult<Expr> {
        let name_tok = self.next();
        let name = name_tok.text(self.src).to_string();
        let func = Function::from_name(&name).ok_or_else(|| {
            self.error(
                Span::new(name_tok.start, name_tok.end),
                format!("unknown function with name {}", go_quote(&name)),
            )
        })?;
        let args = self.call_args()?;
        Ok(Expr::Call(Box::new(Call {
            func,
            args,
            span: Span::new(name_tok.start, self.last_closing),
        })))
    }

    fn call_args(&mut self) -> ParseResult<Vec<Expr>> {
        self.expect(T::LParen, "", "")?;
        let mut args = Vec::new();
        if self.peek().kind == T::RParen {
            self.next();
            return Ok(args);
        }
        loop {
            args.push(self.expr(0)?);
            let t = self.peek().clone();
            match t.kind {
                T::Comma => {
                    self.next();
                    if self.peek().kind == T::RParen {
                        return Err(self.error(
                            Span::new(t.start, t.end),
                            "trailing commas not allowed in function call args".into(),
                        ));
                    }
                }
                T::RParen => {
                    self.next();
                    return Ok(args);
                }
                _ => return Err(self.unexpected(&t, "", "")),
            }
        }
    }

    fn aggregate(&mut self) -> ParseResult<Expr> {
        let op_tok = self.next();
        let op = aggop(op_tok.kind).expect("checked by caller");
        let mut grouping = Vec::new();
        let mut without = false;
        let mut have_mod = false;
        if matches!(self.peek().kind, T::By | T::Without) {
            without = self.next().kind == T::Without;
            grouping = self.grouping_labels()?;
            have_mod = true;
        }
        let t = self.peek().clone();
        if t.kind != T::LParen {
            return Err(self.unexpected(&t, "aggregation", ""));
        }
        let args = self.call_args()?;
        let mut end = self.last_closing;
        if !have_mod && matches!(self.peek().kind, T::By | T::Without) {
            without = self.next().kind == T::Without;
            grouping = self.grouping_labels()?;
        } else if !have_mod {
            end = self.last_closing;
        }
        let span = Span::new(op_tok.start, end.max(self.last_closing));
        if args.is_empty() {
            return Err(self.error(
                span,
                "no arguments for aggregate expression provided".into(),
            ));
        }
        let want = if op.has_param() { 2 } else { 1 };
        if args.len() != want {
            return Err(self.error(
                span,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
            ));
        }
        let mut args = args.into_iter();
        let param = if op.has_param() { args.next() } else { None };
        let expr = args.next().expect("counted");
        Ok(Expr::Aggregate(Box::new(Aggregate {
            op,
            expr,
            param,
            grouping,
            without,
            span,
        })))
    }

    /// A selector: optional name (already consumed) and optional `{...}`.
    fn selector(&mut self, name: Option<(String, usize)>, start: usize) -> ParseResult<Expr> {
        let mut matchers = Vec::new();
        let mut end = name.as_ref().map_or(start, |(n, s)| s + n.len());
        if self.peek().kind == T::LBrace {
            self.next();
            loop {
                let t = self.peek().clone();
                if t.kind == T::RBrace {
                    self.next();
                    end = t.end;
                    break;
                }
                let label = match t.kind {
                    T::Identifier => t.text(self.src).to_string(),
                    T::String => t.value.clone(),
                    _ => return Err(self.unexpected(&t, "label matching", "identifier or \"}\"")),
                };
                self.next();
                let op_tok = self.peek().clone();
                let op = match op_tok.kind {
                    T::Eql => Some(MatchOp::Equal),
                    T::Neq => Some(MatchOp::NotEqual),
                    T::EqlRegex => Some(MatchOp::Regex),
                    T::NeqRegex => Some(MatchOp::NotRegex),
                    _ => None,
                };
                match op {
                    Some(op) => {
                        self.next();
                        let v = self.peek().clone();
                        if v.kind != T::String {
                            return Err(self.unexpected(&v, "label matching", "string"));
                        }
                        self.next();
                        let m = Matcher::new(op, &label, &v.value)
                            .map_err(|e| self.error(Span::new(t.start, v.end), e.to_string()))?;
                        matchers.push(m);
                    }
                    None if t.kind == T::String => {
                        matchers.push(
                            Matcher::new(MatchOp::Equal, METRIC_NAME, &label)
                                .expect("equality matcher"),
                        );
                    }
                    None => {
                        return Err(self.unexpected(
                            &op_tok,
                            "label matching",
                            "label matching operator",
                        ))
                    }
                }
                let t = self.peek().clone();
                match t.kind {
                    T::Comma => {
                        self.next();
                    }
                    T::RBrace => {}
                    _ => return Err(self.unexpected(&t, "label matching", "\",\" or \"}\"")),
                }
            }
        }
        let span = Span::new(start, end);
        let name = name.map(|(n, _)| n);
        if let Some(n) = &name {
            if let Some(m) = matchers.iter().find(|m| m.name == METRIC_NAME) {
                return Err(self.error(
                    span,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        go_quote(n),
                        go_quote(&m.value)
                    ),
                ));
            }
            matchers.push(Matcher::new(MatchOp::Equal, METRIC_NAME, n).expect("equality"));
        } else if matchers.iter().all(|m| m.matches_empty()) {
            return Err(self.error(
                span,
                "vector selector must contain at least one non-empty matcher".into(),
            ));
        }
        Ok(Expr::Selector(Box::new(Selector {
            name,
            matchers,
            offset: None,
            at: None,
            span,
        })))
    }

    fn postfix(&mut self, mut e: Expr) -> ParseResult<Expr> {
        let depth = self.depth;
        loop {
            let t = self.peek().clone();
            match t.kind {
                T::LBracket => {
                    self.deeper(t.start)?;
                    e = self.range_or_subquery(e)?;
                }
                T::Offset => {
                    self.next();
                    let d = self.offset_duration()?;
                    e = self.set_offset(e, d)?;
                }
                T::At => {
                    self.next();
                    e = self.set_at(e)?;
                }
                _ => {
                    self.depth = depth;
                    return Ok(e);
                }
            }
        }
    }

    fn range_or_subquery(&mut self, e: Expr) -> ParseResult<Expr> {
        let open = self.next();
        let t = self.peek().clone();
        if matches!(t.kind, T::RBracket | T::Colon | T::Eof) {
            return Err(self.unexpected(
                &t,
                "subquery or range selector",
                "number, duration, step(), or range()",
            ));
        }
        let range = self.positive_duration()?;
        let t = self.peek().clone();
        match t.kind {
            T::RBracket => {
                self.next();
                let span_end = t.end;
                let err_span = Span::new(open.start, t.end);
                let sel = match e {
                    Expr::Selector(s) => *s,
                    _ => {
                        return Err(
                            self.error(err_span, "ranges only allowed for vector selectors".into())
                        )
                    }
                };
                if sel.offset.is_some() {
                    return Err(
                        self.error(err_span, "no offset modifiers allowed before range".into())
                    );
                }
                if sel.at.is_some() {
                    return Err(self.error(err_span, "no @ modifiers allowed before range".into()));
                }
                let start = sel.span.start;
                Ok(Expr::Matrix(Box::new(MatrixSelector {
                    selector: sel,
                    range,
                    span: Span::new(start, span_end),
                })))
            }
            T::Colon => {
                self.next();
                let step = if self.peek().kind == T::RBracket {
                    None
                } else {
                    let s = self.peek().clone();
                    if s.kind == T::Eof {
                        return Err(self.unexpected(
                            &s,
                            "subquery selector",
                            "number, duration, step(), range(), or \"]\"",
                        ));
                    }
                    Some(self.positive_duration()?)
                };
                let close = self.peek().clone();
                if close.kind != T::RBracket {
                    return Err(self.unexpected(&close, "subquery selector", "\"]\""));
                }
                self.next();
                let start = e.span().start;
                Ok(Expr::Subquery(Box::new(Subquery {
                    expr: e,
                    range,
                    step,
                    offset: None,
                    at: None,
                    span: Span::new(start, close.end),
                })))
            }
            _ => Err(self.unexpected(&t, "subquery or range", "\":\" or \"]\"")),
        }
    }

    fn positive_duration(&mut self) -> ParseResult<DurExpr> {
        let d = self.dur_expr(0)?;
        if let DurExpr::Num { secs, span, .. } = &d {
            if *secs <= 0.0 {
                return Err(self.error(*span, "duration must be greater than 0".into()));
            }
        }
        Ok(d)
    }

    fn dur_binop(k: T) -> Option<BinOp> {
        Some(match k {
            T::Add => BinOp::Add,
            T::Sub => BinOp::Sub,
            T::Mul => BinOp::Mul,
            T::Div => BinOp::Div,
            T::Mod => BinOp::Mod,
            T::Pow => BinOp::Pow,
            _ => return None,
        })
    }

    /// A duration expression inside brackets or parentheses.
    fn dur_expr(&mut self, min_prec: u8) -> ParseResult<DurExpr> {
        super::deep(|| self.dur_expr_inner(min_prec))
    }

    fn dur_expr_inner(&mut self, min_prec: u8) -> ParseResult<DurExpr> {
        let depth = self.depth;
        self.deeper(self.peek().start)?;
        let mut lhs = self.dur_unary()?;
        loop {
            let t = self.peek().clone();
            let Some(op) = Self::dur_binop(t.kind) else {
                break;
            };
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            if matches!(lhs, DurExpr::Binary(..)) {
                self.deeper(t.start)?;
            }
            self.next();
            let next_min = if op == BinOp::Pow { prec } else { prec + 1 };
            let rhs = self.dur_expr(next_min)?;
            if let DurExpr::Num { secs, .. } = rhs {
                if secs == 0.0 && op == BinOp::Div {
                    return Err(self.error(Span::new(t.start, t.end), "division by zero".into()));
                }
                if secs == 0.0 && op == BinOp::Mod {
                    return Err(self.error(Span::new(t.start, t.end), "modulo by zero".into()));
                }
            }
            lhs = DurExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        self.depth = depth;
        Ok(lhs)
    }

    fn dur_unary(&mut self) -> ParseResult<DurExpr> {
        let t = self.peek().clone();
        if matches!(t.kind, T::Add | T::Sub) {
            self.next();
            let operand = self.dur_expr(BinOp::Pow.precedence())?;
            return Ok(Self::apply_sign(t.kind == T::Sub, operand, t.start));
        }
        self.dur_atom()
    }

    fn apply_sign(neg: bool, d: DurExpr, start: usize) -> DurExpr {
        match d {
            DurExpr::Num {
                secs,
                duration,
                span,
            } => DurExpr::Num {
                secs: if neg { -secs } else { secs },
                duration,
                span: Span::new(start, span.end),
            },
            other if neg => {
                let end = other.span().end;
                DurExpr::Neg(Box::new(other), Span::new(start, end))
            }
            other => other,
        }
    }

    fn dur_atom(&mut self) -> ParseResult<DurExpr> {
        let t = self.peek().clone();
        match t.kind {
            T::Number => {
                self.next();
                let secs = parse_number(t.text(self.src)).ok_or_else(|| {
                    self.error(Span::new(t.start, t.end), "error parsing number".into())
                })?;
                Ok(DurExpr::Num {
                    secs,
                    duration: false,
                    span: Span::new(t.start, t.end),
                })
            }
            T::Duration => {
                self.next();
                let secs = self.duration_secs(&t)?;
                Ok(DurExpr::Num {
                    secs,
                    duration: true,
                    span: Span::new(t.start, t.end),
                })
            }
            T::Step | T::Range => {
                self.next();
                self.expect(T::LParen, "", "\"(\"")?;
                let close = self.expect(T::RParen, "", "\")\"")?;
                let span = Span::new(t.start, close.end);
                Ok(if t.kind == T::Step {
                    DurExpr::Step(span)
                } else {
                    DurExpr::Range(span)
                })
            }
            T::MinOf | T::MaxOf => {
                self.next();
                self.expect(T::LParen, "", "\"(\"")?;
                let a = self.dur_expr(0)?;
                self.expect(T::Comma, "", "\",\"")?;
                let b = self.dur_expr(0)?;
                let close = self.expect(T::RParen, "", "\")\"")?;
                let span = Span::new(t.start, close.end);
                Ok(if t.kind == T::MinOf {
                    DurExpr::MinOf(Box::new(a), Box::new(b), span)
                } else {
                    DurExpr::MaxOf(Box::new(a), Box::new(b), span)
                })
            }
            T::LParen => {
                self.next();
                let inner = self.dur_expr(0)?;
                let close = self.peek().clone();
                if close.kind != T::RParen {
                    return Err(self.unexpected(&close, "duration expression", "\")\""));
                }
                self.next();
                Ok(DurExpr::Paren(
                    Box::new(inner),
                    Span::new(t.start, close.end),
                ))
            }
            _ => Err(self.unexpected(
                &t,
                "duration expression",
                "number, duration, step(), or range()",
            )),
        }
    }

    /// After `offset`: a signed atom.
    fn offset_duration(&mut self) -> ParseResult<DurExpr> {
        let t = self.peek().clone();
        let (neg, start) = match t.kind {
            T::Add | T::Sub => {
                self.next();
                (t.kind == T::Sub, t.start)
            }
            _ => (false, t.start),
        };
        let a = self.peek().clone();
        if !matches!(
            a.kind,
            T::Number | T::Duration | T::Step | T::Range | T::MinOf | T::MaxOf | T::LParen
        ) {
            return Err(self.unexpected(&a, "offset", "number, duration, step(), or range()"));
        }
        let atom = self.dur_atom()?;
        let d = Self::apply_sign(neg, atom, start);
        if let DurExpr::Num { secs, span, .. } = &d {
            if secs.abs() > (i64::MAX as f64) / 1e9 {
                return Err(self.error(*span, "duration out of range".into()));
            }
        }
        Ok(d)
    }

    fn set_offset(&mut self, mut e: Expr, d: DurExpr) -> ParseResult<Expr> {
        let end = self.last_closing;
        let Some((offset, _, span)) = modifiers(&mut e) else {
            return Err(self.error(
                e.span(),
                "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery".into(),
            ));
        };
        if offset.is_some() {
            return Err(self.error(*span, "offset may not be set multiple times".into()));
        }
        *offset = Some(d);
        span.end = end;
        Ok(e)
    }

    fn set_at(&mut self, e: Expr) -> ParseResult<Expr> {
        let t = self.peek().clone();
        let at = match t.kind {
            T::Start | T::End => {
                self.next();
                self.expect(T::LParen, "@", "timestamp")?;
                self.expect(T::RParen, "@", "timestamp")?;
                if t.kind == T::Start {
                    At::Start
                } else {
                    At::End
                }
            }
            T::Add | T::Sub | T::Number | T::Duration => {
                let neg = if matches!(t.kind, T::Add | T::Sub) {
                    self.next();
                    t.kind == T::Sub
                } else {
                    false
                };
                let n = self.peek().clone();
                let v = match n.kind {
                    T::Number => parse_number(n.text(self.src)).unwrap_or(f64::NAN),
                    T::Duration => self.duration_secs(&n)?,
                    _ => return Err(self.unexpected(&n, "@", "timestamp")),
                };
                self.next();
                let v = if neg { -v } else { v };
                if !v.is_finite() || v >= i64::MAX as f64 || v <= i64::MIN as f64 {
                    return Err(self.error(
                        e.span(),
                        format!("timestamp out of bounds for @ modifier: {v:.6}"),
                    ));
                }
                At::Time((v * 1000.0).round() as i64)
            }
            _ => return Err(self.unexpected(&t, "@", "timestamp")),
        };
        let end = self.last_closing;
        let mut e = e;
        let Some((_, slot, span)) = modifiers(&mut e) else {
            return Err(self.error(
                e.span(),
                "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery".into(),
            ));
        };
        if slot.is_some() {
            return Err(self.error(*span, "@ <timestamp> may not be set multiple times".into()));
        }
        *slot = Some(at);
        span.end = end;
        Ok(e)
    }
}

/// The `offset` and `@` slots and the span of a node that takes them (selectors, range
/// selectors, subqueries).
fn modifiers(e: &mut Expr) -> Option<(&mut Option<DurExpr>, &mut Option<At>, &mut Span)> {
    match e {
        Expr::Selector(s) => Some((&mut s.offset, &mut s.at, &mut s.span)),
        Expr::Matrix(m) => Some((&mut m.selector.offset, &mut m.selector.at, &mut m.span)),
        Expr::Subquery(s) => Some((&mut s.offset, &mut s.at, &mut s.span)),
        _ => None,
    }
}

/// The type check (Prometheus's `checkAST`), after a successful parse.
fn check(src: &str, e: &Expr) -> ParseResult<ValueType> {
    super::deep(|| check_node(src, e))
}

fn check_node(src: &str, e: &Expr) -> ParseResult<ValueType> {
    let err = |span: Span, message: String| ParseError {
        span,
        position: position(src, span.start),
        message,
    };
    let expect = |e: &Expr, want: ValueType, context: &str| -> ParseResult<()> {
        let t = check(src, e)?;
        if t != want {
            return Err(err(
                e.span(),
                format!(
                    "expected type {} in {context}, got {}",
                    want.documented(),
                    t.documented()
                ),
            ));
        }
        Ok(())
    };
    match e {
        Expr::Number { .. } => Ok(ValueType::Scalar),
        Expr::String { .. } => Ok(ValueType::String),
        Expr::Paren(inner, _) => check(src, inner),
        Expr::Unary { expr, span, .. } => {
            let t = check(src, expr)?;
            if t != ValueType::Scalar && t != ValueType::Vector {
                return Err(err(
                    *span,
                    format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                        t.documented()
                    ),
                ));
            }
            Ok(t)
        }
        Expr::Aggregate(a) => {
            expect(&a.expr, ValueType::Vector, "aggregation expression")?;
            if let Some(p) = &a.param {
                let want = if a.op == AggOp::CountValues {
                    ValueType::String
                } else {
                    ValueType::Scalar
                };
                expect(p, want, "aggregation parameter")?;
            }
            for g in &a.grouping {
                if g.is_empty() {
                    return Err(err(
                        a.span,
                        format!("invalid label name for grouping: {}", go_quote(g)),
                    ));
                }
            }
            Ok(ValueType::Vector)
        }
        Expr::Binary(b) => {
            let lt = check(src, &b.lhs)?;
            let rt = check(src, &b.rhs)?;
            // The operator and its modifiers, without the spaces around them.
            let between = &src.as_bytes()[b.lhs.span().end..b.rhs.span().start];
            let lead = between
                .iter()
                .take_while(|c| c.is_ascii_whitespace())
                .count();
            let trail = between
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_whitespace())
                .count();
            let op_span = Span::new(
                b.lhs.span().end + lead,
                b.rhs.span().start - trail.min(between.len() - lead),
            );
            if b.return_bool && !b.op.is_comparison() {
                return Err(err(
                    op_span,
                    "bool modifier can only be used on comparison operators".into(),
                ));
            }
            if b.op.is_comparison()
                && !b.return_bool
                && lt == ValueType::Scalar
                && rt == ValueType::Scalar
            {
                return Err(err(
                    op_span,
                    "comparisons between scalars must use BOOL modifier".into(),
                ));
            }
            if let Some(m) = &b.matching {
                if m.on {
                    if let Some(l) = m.labels.iter().find(|l| m.include.contains(l)) {
                        return Err(err(
                            op_span,
                            format!(
                                "label {} must not occur in ON and GROUP clause at once",
                                go_quote(l)
                            ),
                        ));
                    }
                }
            }
            let span = e.span();
            if lt != ValueType::Scalar && lt != ValueType::Vector {
                return Err(err(
                    b.lhs.span(),
                    "binary expression must contain only scalar and instant vector types".into(),
                ));
            }
            if rt != ValueType::Scalar && rt != ValueType::Vector {
                return Err(err(
                    b.rhs.span(),
                    "binary expression must contain only scalar and instant vector types".into(),
                ));
            }
            if let Some(m) = &b.matching {
                if lt != ValueType::Vector || rt != ValueType::Vector {
                    if !m.labels.is_empty() {
                        return Err(err(
                            span,
                            "vector matching only allowed between instant vectors".into(),
                        ));
                    }
                } else if b.op.is_set() && matches!(m.card, Card::OneToMany | Card::ManyToOne) {
                    return Err(err(
                        span,
                        format!("no grouping allowed for \"{}\" operation", b.op.as_str()),
                    ));
                }
            }
            if (lt == ValueType::Scalar || rt == ValueType::Scalar) && b.op.is_set() {
                return Err(err(
                    span,
                    format!(
                        "set operator \"{}\" not allowed in binary scalar expression",
                        b.op.as_str()
                    ),
                ));
            }
            Ok(if lt == ValueType::Scalar && rt == ValueType::Scalar {
                ValueType::Scalar
            } else {
                ValueType::Vector
            })
        }
        Expr::Call(c) => {
            let sig = c.func.signature();
            let name = c.func.name();
            let nargs = sig.args.len();
            if sig.variadic == 0 {
                if nargs != c.args.len() {
                    return Err(err(
                        c.span,
                        format!(
                            "expected {nargs} argument(s) in call to {}, got {}",
                            go_quote(name),
                            c.args.len()
                        ),
                    ));
                }
            } else {
                let na = nargs - 1;
                if na > c.args.len() {
                    return Err(err(
                        c.span,
                        format!(
                            "expected at least {na} argument(s) in call to {}, got {}",
                            go_quote(name),
                            c.args.len()
                        ),
                    ));
                }
                let max = na as i64 + sig.variadic as i64;
                if sig.variadic > 0 && max < c.args.len() as i64 {
                    return Err(err(
                        c.span,
                        format!(
                            "expected at most {max} argument(s) in call to {}, got {}",
                            go_quote(name),
                            c.args.len()
                        ),
                    ));
                }
            }
            for (i, a) in c.args.iter().enumerate() {
                let idx = if i >= nargs {
                    if sig.variadic == 0 {
                        break;
                    }
                    nargs - 1
                } else {
                    i
                };
                let t = check(src, a)?;
                if t != sig.args[idx] {
                    return Err(err(
                        a.span(),
                        format!(
                            "expected type {} in call to function {}, got {}",
                            sig.args[idx].documented(),
                            go_quote(name),
                            t.documented()
                        ),
                    ));
                }
            }
            Ok(sig.ret)
        }
        Expr::Selector(_) => Ok(ValueType::Vector),
        Expr::Matrix(_) => Ok(ValueType::Matrix),
        Expr::Subquery(s) => {
            let t = check(src, &s.expr)?;
            if t != ValueType::Vector {
                return Err(err(
                    s.span,
                    format!(
                        "subquery is only allowed on instant vector, got {} instead",
                        t.api_name()
                    ),
                ));
            }
            Ok(ValueType::Matrix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(q: &str) -> String {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).to_string()
    }

    #[test]
    fn precedence_and_printing() {
        assert_eq!(round_trip("1 + 2 * 3"), "1 + 2 * 3");
        assert_eq!(round_trip("-2 ^ 2"), "-2 ^ 2");
        assert_eq!(round_trip("foo offset 5m"), "foo offset 5m");
        assert_eq!(round_trip("foo[90s] @ 100"), "foo[1m30s] @ 100.000");
        assert_eq!(
            round_trip("sum by (a) (rate(x{b=\"c\"}[5m]))"),
            "sum by (a) (rate(x{b=\"c\"}[5m]))"
        );
        assert_eq!(
            round_trip("a / on(b) group_left(c) d"),
            "a / on (b) group_left (c) d"
        );
        assert_eq!(round_trip("x[5m:1m] offset -1m"), "x[5m:1m] offset -1m");
        assert_eq!(round_trip("foo[26m+4m]"), "foo[26m + 4m]");
        match parse("-2 ^ 2").unwrap() {
            Expr::Unary { .. } => {}
            e => panic!("{e:?}"),
        }
        match parse("foo offset 100 + 2").unwrap() {
            Expr::Binary(b) => assert_eq!(b.op, BinOp::Add),
            e => panic!("{e:?}"),
        }
        assert_eq!(parse_number("0755"), Some(493.0));
        assert_eq!(parse_number("0x1F"), Some(31.0));
    }

    #[test]
    fn errors() {
        let e = parse("foo +").unwrap_err();
        assert_eq!(e.to_string(), "1:6: parse error: unexpected end of input");
        let e = parse("{}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:1: parse error: vector selector must contain at least one non-empty matcher"
        );
        let e = parse("rate(foo)").unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        let e = parse("1 == 1").unwrap_err();
        assert!(e.message.contains("BOOL"), "{e}");
        assert!(parse("foo{a=\"b\"} offset 5m[5m]").is_err());
        assert_eq!(
            parse("").unwrap_err().message,
            "no expression found in input"
        );
    }
}
