//! The PromQL lexer: text → tokens with byte spans.
//!
//! PromQL's lexer is context-sensitive, as Prometheus's is: inside `{...}` only label names,
//! strings, matcher operators and commas exist; inside `[...]` only duration expressions
//! (numbers, durations, `+ - * / % ^`, parentheses, `step()`, `range()`, `min_of`, `max_of`
//! and the subquery colon). The whole input is tokenised up front; a lexing error becomes an
//! [`T::Error`] token at the place it happened, so the parser reports it when it gets there
//! (and reports an earlier syntax error first, as Prometheus does).
//!
//! Strings are unquoted here (Go escapes: `\a \b \f \n \r \t \v \\ \' \" \ooo \xhh \uhhhh
//! \Uhhhhhhhh`; backquoted strings are raw), so the parser sees values.

use winnow::token::take_while;
use winnow::Parser;

/// Token kinds. The groups mirror Prometheus's item classes, which its error messages name
/// (`<op:+>`, `<aggr:sum>`, `<by>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum T {
    Eof,
    Error,
    Identifier,
    MetricIdentifier,
    Number,
    Duration,
    String,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Eql,
    Colon,
    // Operators.
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eqlc,
    Neq,
    Gtr,
    Gte,
    Lss,
    Lte,
    EqlRegex,
    NeqRegex,
    Land,
    Lor,
    Lunless,
    Atan2,
    At,
    // Aggregators.
    Avg,
    Bottomk,
    Count,
    CountValues,
    Group,
    Max,
    Min,
    Quantile,
    Stddev,
    Stdvar,
    Sum,
    Topk,
    Limitk,
    LimitRatio,
    // Keywords.
    Bool,
    By,
    GroupLeft,
    GroupRight,
    Ignoring,
    Offset,
    On,
    Without,
    // Preprocessors (also functions).
    Start,
    End,
    Step,
    Range,
    MaxOf,
    MinOf,
}

impl T {
    pub fn is_operator(self) -> bool {
        use T::*;
        matches!(
            self,
            Add | Sub
                | Mul
                | Div
                | Mod
                | Pow
                | Eqlc
                | Neq
                | Gtr
                | Gte
                | Lss
                | Lte
                | EqlRegex
                | NeqRegex
                | Land
                | Lor
                | Lunless
                | Atan2
                | At
        )
    }

    pub fn is_aggregator(self) -> bool {
        use T::*;
        matches!(
            self,
            Avg | Bottomk
                | Count
                | CountValues
                | Group
                | Max
                | Min
                | Quantile
                | Stddev
                | Stdvar
                | Sum
                | Topk
                | Limitk
                | LimitRatio
        )
    }

    pub fn is_keyword(self) -> bool {
        use T::*;
        matches!(
            self,
            Bool | By | GroupLeft | GroupRight | Ignoring | Offset | On | Without
        )
    }

    /// Tokens that may also be used as a metric name (Prometheus's `metric_identifier`).
    pub fn is_metric_identifier(self) -> bool {
        use T::*;
        matches!(
            self,
            Avg | Bottomk
                | By
                | Count
                | CountValues
                | Group
                | Identifier
                | Land
                | Lor
                | Lunless
                | Max
                | MetricIdentifier
                | Min
                | Offset
                | Quantile
                | Stddev
                | Stdvar
                | Sum
                | Topk
                | Without
                | Start
                | End
                | Limitk
                | LimitRatio
                | Step
                | Range
                | MaxOf
                | MinOf
        )
    }

    /// Keywords that may be a label name in grouping lists (`maybe_label`).
    pub fn is_maybe_label(self) -> bool {
        use T::*;
        self.is_metric_identifier()
            || matches!(
                self,
                Bool | GroupLeft | GroupRight | Ignoring | On | Atan2 | MetricIdentifier
            )
    }
}

/// The keyword table (lower case; the lexer lowercases before lookup).
fn keyword(word: &str) -> Option<T> {
    use T::*;
    Some(match word {
        "and" => Land,
        "or" => Lor,
        "unless" => Lunless,
        "atan2" => Atan2,
        "sum" => Sum,
        "avg" => Avg,
        "count" => Count,
        "min" => Min,
        "max" => Max,
        "group" => Group,
        "stddev" => Stddev,
        "stdvar" => Stdvar,
        "topk" => Topk,
        "bottomk" => Bottomk,
        "count_values" => CountValues,
        "quantile" => Quantile,
        "limitk" => Limitk,
        "limit_ratio" => LimitRatio,
        "offset" => Offset,
        "by" => By,
        "without" => Without,
        "on" => On,
        "ignoring" => Ignoring,
        "group_left" => GroupLeft,
        "group_right" => GroupRight,
        "bool" => Bool,
        "start" => Start,
        "end" => End,
        "step" => Step,
        "range" => Range,
        "max_of" => MaxOf,
        "min_of" => MinOf,
        "inf" | "nan" => Number,
        _ => return None,
    })
}

fn duration_keyword(word: &str) -> Option<T> {
    match word.to_ascii_lowercase().as_str() {
        "step" => Some(T::Step),
        "range" => Some(T::Range),
        "max_of" => Some(T::MaxOf),
        "min_of" => Some(T::MinOf),
        _ => None,
    }
}

/// One token: its kind and byte span. `value` holds the unquoted text of a string, or the
/// message of an error token.
#[derive(Clone, Debug)]
pub struct Token {
    pub kind: T,
    pub start: usize,
    pub end: usize,
    pub value: String,
    /// For a string whose escapes spell invalid UTF-8: Go's quoted form of its bytes
    /// (`value` then holds a lossy copy). Such a string is never a valid label name.
    pub invalid_utf8: Option<String>,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    /// How Prometheus's parser names a token in "unexpected ..." messages.
    pub fn describe(&self, src: &str) -> String {
        let text = self.text(src);
        let shown = |t: &str| {
            if t.chars().count() > 10 {
                format!(
                    "{}...",
                    go_quote(&t.chars().take(10).collect::<std::string::String>())
                )
            } else {
                go_quote(t)
            }
        };
        use T::*;
        match self.kind {
            Eof => "end of input".into(),
            Error => self.value.clone(),
            Identifier => format!("identifier {}", go_quote(text)),
            MetricIdentifier => format!("metric identifier {}", go_quote(text)),
            Number => format!("number {}", shown(text)),
            Duration => format!("duration {}", shown(text)),
            String => format!("string {}", shown(text)),
            k if k.is_operator() => format!("<op:{text}>"),
            k if k.is_aggregator() => format!("<aggr:{text}>"),
            k if k.is_keyword() => format!("<{text}>"),
            LParen | RParen | LBrace | RBrace | LBracket | RBracket | Comma | Eql | Colon => {
                go_quote(text)
            }
            _ => go_quote(text),
        }
    }
}

pub use crate::model::quote::{quote as go_quote, quote_rune as go_quote_rune};

/// Go's `%q` for bytes that are not valid UTF-8: invalid bytes as `\xNN`.
pub fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = b;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(&go_quote(s)[1..go_quote(s).len() - 1]);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                let s = std::str::from_utf8(good).expect("valid prefix");
                let q = go_quote(s);
                out.push_str(&q[1..q.len() - 1]);
                out.push_str(&format!("\\x{:02x}", bad[0]));
                rest = &bad[1..];
            }
        }
    }
    out.push('"');
    out
}

/// The length of the longest prefix of `s` whose characters satisfy `f`.
fn scan(s: &str, f: impl Fn(char) -> bool) -> usize {
    take_while::<_, &str, winnow::error::ContextError>(0.., f)
        .parse_next(&mut &s[..])
        .map_or(0, str::len)
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    Braces,
    /// Inside `[`, before the first number (`lexDurationExpr`).
    DurationStart,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
    paren_depth: i64,
    bracket_open: bool,
    got_colon: bool,
    mode: Mode,
}

/// Tokenises a whole query. The last token is `Eof` or `Error`.
pub fn lex(src: &str) -> Vec<Token> {
    let mut l = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
        paren_depth: 0,
        bracket_open: false,
        got_colon: false,
        mode: Mode::Normal,
    };
    if let Err((start, msg)) = l.run() {
        l.out.push(Token {
            kind: T::Error,
            start,
            end: src.len(),
            value: msg,
            invalid_utf8: None,
        });
    }
    l.out
}

type LexResult = Result<(), (usize, String)>;

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn emit(&mut self, kind: T, start: usize) {
        self.out.push(Token {
            kind,
            start,
            end: self.pos,
            value: String::new(),
            invalid_utf8: None,
        });
    }

    fn run(&mut self) -> LexResult {
        loop {
            match self.mode {
                Mode::Braces => {
                    if self.braces()? {
                        return Ok(());
                    }
                }
                Mode::DurationStart => self.duration_start()?,
                Mode::Normal => {
                    if self.statement()? {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    /// One token in normal mode; true at the end of input.
    fn statement(&mut self) -> Result<bool, (usize, String)> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            if self.paren_depth != 0 {
                return Err((start, "unclosed left parenthesis".into()));
            }
            if self.bracket_open {
                return Err((start, "unclosed left bracket".into()));
            }
            self.emit(T::Eof, start);
            return Ok(true);
        };
        if c == '#' {
            self.comment();
            return Ok(false);
        }
        self.pos += c.len_utf8();
        let one = |l: &mut Self, k: T| {
            l.emit(k, start);
            Ok(false)
        };
        match c {
            c if is_space(c) => Ok(false),
            ',' => one(self, T::Comma),
            '*' => one(self, T::Mul),
            '/' => one(self, T::Div),
            '%' => one(self, T::Mod),
            '+' => one(self, T::Add),
            '-' => one(self, T::Sub),
            '^' => one(self, T::Pow),
            '@' => one(self, T::At),
            '=' => match self.peek() {
                Some('=') => {
                    self.pos += 1;
                    one(self, T::Eqlc)
                }
                Some('~') => Err((start, "unexpected character after '=': '~'".into())),
                _ => one(self, T::Eql),
            },
            '!' => match self.peek() {
                Some('=') => {
                    self.pos += 1;
                    one(self, T::Neq)
                }
                other => Err((
                    start,
                    format!(
                        "unexpected character after '!': {}",
                        other.map_or("EOF".to_string(), go_quote_rune)
                    ),
                )),
            },
            '<' => {
                if self.peek() == Some('=') {
                    self.pos += 1;
                    one(self, T::Lte)
                } else {
                    one(self, T::Lss)
                }
            }
            '>' => {
                if self.peek() == Some('=') {
                    self.pos += 1;
                    one(self, T::Gte)
                } else {
                    one(self, T::Gtr)
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.pos = start;
                self.number_or_duration()?;
                Ok(false)
            }
            '"' | '\'' => {
                self.string(c, start)?;
                Ok(false)
            }
            '`' => {
                self.raw_string(start)?;
                Ok(false)
            }
            c if is_alpha(c) || c == ':' => {
                if !self.bracket_open {
                    self.pos = start;
                    self.keyword_or_identifier();
                    return Ok(false);
                }
                if c == ':' {
                    if self.got_colon {
                        return Err((start, "unexpected colon ':'".into()));
                    }
                    self.got_colon = true;
                    return one(self, T::Colon);
                }
                self.pos = start;
                if self.duration_keyword() {
                    return Ok(false);
                }
                self.pos = start + 1;
                Err((
                    start,
                    format!("unexpected character: {}, expected ':'", go_quote_rune(c)),
                ))
            }
            '(' => {
                self.paren_depth += 1;
                one(self, T::LParen)
            }
            ')' => {
                self.paren_depth -= 1;
                self.emit(T::RParen, start);
                if self.paren_depth < 0 {
                    return Err((start, "unexpected right parenthesis ')'".into()));
                }
                Ok(false)
            }
            '{' => {
                self.emit(T::LBrace, start);
                self.mode = Mode::Braces;
                Ok(false)
            }
            '[' => {
                if self.bracket_open {
                    return Err((start, "unexpected left bracket '['".into()));
                }
                self.got_colon = false;
                self.emit(T::LBracket, start);
                self.bracket_open = true;
                self.mode = Mode::DurationStart;
                Ok(false)
            }
            ']' => {
                if !self.bracket_open {
                    return Err((start, "unexpected right bracket ']'".into()));
                }
                self.bracket_open = false;
                one(self, T::RBracket)
            }
            c => Err((start, format!("unexpected character: {}", go_quote_rune(c)))),
        }
    }

    /// Inside `[` before the first number: `lexDurationExpr`.
    fn duration_start(&mut self) -> LexResult {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err((
                start,
                "unexpected end of input in duration expression".into(),
            ));
        };
        self.pos += c.len_utf8();
        let op = |l: &mut Self, k: T| {
            l.emit(k, start);
            Ok(())
        };
        match c {
            ']' => {
                self.bracket_open = false;
                self.got_colon = false;
                self.mode = Mode::Normal;
                op(self, T::RBracket)
            }
            ':' => {
                self.emit(T::Colon, start);
                Err((
                    start,
                    "unexpected colon before duration in duration expression".into(),
                ))
            }
            '(' => {
                self.paren_depth += 1;
                op(self, T::LParen)
            }
            ')' => {
                self.paren_depth -= 1;
                self.emit(T::RParen, start);
                if self.paren_depth < 0 {
                    return Err((start, "unexpected right parenthesis ')'".into()));
                }
                Ok(())
            }
            c if is_space(c) => Ok(()),
            '+' => op(self, T::Add),
            '-' => op(self, T::Sub),
            '*' => op(self, T::Mul),
            '/' => op(self, T::Div),
            '%' => op(self, T::Mod),
            '^' => op(self, T::Pow),
            ',' => op(self, T::Comma),
            c if c.is_ascii_digit()
                || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.pos = start;
                self.mode = Mode::Normal;
                self.number_or_duration()
            }
            c if is_alpha(c) => {
                self.pos = start;
                if self.duration_keyword() {
                    return Ok(());
                }
                Err((
                    start,
                    format!(
                        "unexpected character in duration expression: {}",
                        go_quote_rune(c)
                    ),
                ))
            }
            c => Err((
                start,
                format!(
                    "unexpected character in duration expression: {}",
                    go_quote_rune(c)
                ),
            )),
        }
    }

    fn duration_keyword(&mut self) -> bool {
        let start = self.pos;
        let word = &self.src[start..start + scan(&self.src[start..], is_alpha)];
        match duration_keyword(word) {
            Some(k) => {
                self.pos = start + word.len();
                self.emit(k, start);
                true
            }
            None => false,
        }
    }

    fn braces(&mut self) -> Result<bool, (usize, String)> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err((start, "unexpected end of input inside braces".into()));
        };
        if c == '#' {
            self.comment();
            return Ok(false);
        }
        self.pos += c.len_utf8();
        match c {
            c if is_space(c) => {}
            c if is_alpha(c) => {
                let rest = &self.src[start..];
                let n = scan(rest, is_alnum).max(1);
                self.pos = start + n;
                self.emit(T::Identifier, start);
            }
            ',' => self.emit(T::Comma, start),
            '"' | '\'' => self.string(c, start)?,
            '`' => self.raw_string(start)?,
            '=' => {
                if self.peek() == Some('~') {
                    self.pos += 1;
                    self.emit(T::EqlRegex, start);
                } else {
                    self.emit(T::Eql, start);
                }
            }
            '!' => match self.peek() {
                Some('~') => {
                    self.pos += 1;
                    self.emit(T::NeqRegex, start);
                }
                Some('=') => {
                    self.pos += 1;
                    self.emit(T::Neq, start);
                }
                other => {
                    return Err((
                        start,
                        format!(
                            "unexpected character after '!' inside braces: {}",
                            other.map_or("EOF".to_string(), go_quote_rune)
                        ),
                    ))
                }
            },
            '{' => return Err((start, "unexpected left brace '{'".into())),
            '}' => {
                self.emit(T::RBrace, start);
                self.mode = Mode::Normal;
            }
            c => {
                return Err((
                    start,
                    format!("unexpected character inside braces: {}", go_quote_rune(c)),
                ))
            }
        }
        Ok(false)
    }

    fn keyword_or_identifier(&mut self) {
        let start = self.pos;
        let rest = &self.src[start..];
        let n = scan(rest, |c| is_alnum(c) || c == ':').max(1);
        self.pos = start + n;
        let word = &self.src[start..self.pos];
        let kind = match keyword(&word.to_ascii_lowercase()) {
            Some(k) => k,
            None if word.contains(':') => T::MetricIdentifier,
            None => T::Identifier,
        };
        self.emit(kind, start);
    }

    /// `scanNumber`: true when a valid number token ends here.
    fn scan_number(&mut self) -> bool {
        let b = self.src.as_bytes();
        let initial = self.pos;
        let mut hex = false;
        if b.get(self.pos) == Some(&b'0') && matches!(b.get(self.pos + 1), Some(b'x' | b'X')) {
            self.pos += 2;
            if b.get(self.pos) == Some(&b'_') {
                self.pos += 1;
            }
            hex = true;
        }
        let is_digit = |c: u8| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        };
        let at = |i: usize| b.get(i).copied();
        if at(self.pos) == Some(b'.') {
            self.pos += 1;
        }
        if at(self.pos).is_some_and(is_digit) {
            self.pos += 1;
        }
        let mut dot = false;
        let mut exp = false;
        while let Some(c) = at(self.pos) {
            if !(is_digit(c) || c == b'.' || c == b'_' || c == b'e' || c == b'E') {
                break;
            }
            if c == b'.' {
                if dot {
                    self.pos += 1;
                    return false;
                }
                dot = true;
                self.pos += 1;
                if matches!(at(self.pos), Some(b'_' | b'.')) {
                    self.pos += 1;
                    return false;
                }
                if hex {
                    return false;
                }
                continue;
            }
            if (c == b'e' || c == b'E') && !hex {
                if exp {
                    self.pos += 1;
                    return false;
                }
                exp = true;
                self.pos += 1;
                if matches!(at(self.pos), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                if matches!(at(self.pos), Some(b'.' | b'_' | b'e' | b'E')) {
                    self.pos += 1;
                    return false;
                }
                if at(self.pos).is_none() {
                    return false;
                }
                continue;
            }
            if c == b'_' {
                self.pos += 1;
                if matches!(at(self.pos), Some(b'.' | b'_' | b'e' | b'E')) {
                    self.pos += 1;
                    return false;
                }
                if at(self.pos).is_none() {
                    return false;
                }
                continue;
            }
            while at(self.pos).is_some_and(is_digit) {
                self.pos += 1;
            }
        }
        if self.pos == initial {
            return false;
        }
        !self.peek().is_some_and(is_alnum)
    }

    fn number_or_duration(&mut self) -> LexResult {
        let start = self.pos;
        if self.scan_number() {
            self.emit(T::Number, start);
            return Ok(());
        }
        if self.remaining_duration() {
            self.emit(T::Duration, start);
            return Ok(());
        }
        let end = (self.pos + self.peek().map_or(0, char::len_utf8)).min(self.src.len());
        Err((
            start,
            format!(
                "bad number or duration syntax: {}",
                go_quote(&self.src[start..end.max(start)])
            ),
        ))
    }

    /// `acceptRemainingDuration`: the units (and further number-unit pairs) after a number.
    fn remaining_duration(&mut self) -> bool {
        let b = self.src.as_bytes();
        let at = |i: usize| b.get(i).copied();
        if !matches!(at(self.pos), Some(b's' | b'm' | b'h' | b'd' | b'w' | b'y')) {
            return false;
        }
        self.pos += 1;
        if at(self.pos) == Some(b's') {
            self.pos += 1;
        }
        while at(self.pos).is_some_and(|c| c.is_ascii_digit()) {
            while at(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            if !matches!(at(self.pos), Some(b's' | b'm' | b'h' | b'd' | b'w')) {
                return false;
            }
            self.pos += 1;
            if at(self.pos) == Some(b's') {
                self.pos += 1;
            }
        }
        !self.peek().is_some_and(is_alnum)
    }

    fn string(&mut self, quote: char, start: usize) -> LexResult {
        let mut val: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err((start, "unterminated quoted string".into()));
            };
            self.pos += c.len_utf8();
            match c {
                '\n' => return Err((start, "unterminated quoted string".into())),
                '\\' => self.escape(quote, &mut val, start)?,
                c if c == quote => break,
                c => {
                    let mut b = [0u8; 4];
                    val.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        let (value, invalid_utf8) = match String::from_utf8(val) {
            Ok(s) => (s, None),
            Err(e) => {
                let bytes = e.into_bytes();
                (
                    String::from_utf8_lossy(&bytes).into_owned(),
                    Some(go_quote_bytes(&bytes)),
                )
            }
        };
        self.out.push(Token {
            kind: T::String,
            start,
            end: self.pos,
            value,
            invalid_utf8,
        });
        Ok(())
    }

    fn escape(&mut self, quote: char, val: &mut Vec<u8>, start: usize) -> LexResult {
        let Some(c) = self.peek() else {
            return Err((start, "escape sequence not terminated".into()));
        };
        self.pos += c.len_utf8();
        let simple = match c {
            c if c == quote => Some(c),
            c => crate::model::quote::simple_escape(c),
        };
        if let Some(s) = simple {
            val.push(s as u8);
            return Ok(());
        }
        let (mut n, base, max, first) = match c {
            '0'..='7' => (3, 8, 255, Some(c)),
            'x' => (2, 16, 255, None),
            'u' => (4, 16, 0x10ffff, None),
            'U' => (8, 16, 0x10ffff, None),
            c => {
                return Err((
                    start,
                    format!(
                        "unknown escape sequence U+{:04X} {}",
                        c as u32,
                        go_quote_rune(c)
                    ),
                ))
            }
        };
        let mut x: u32 = 0;
        let mut pending = first;
        while n > 0 {
            let ch = match pending.take() {
                Some(ch) => ch,
                None => {
                    let Some(ch) = self.peek() else {
                        return Err((start, "escape sequence not terminated".into()));
                    };
                    self.pos += ch.len_utf8();
                    ch
                }
            };
            let d = ch.to_digit(16).unwrap_or(16);
            if d >= base {
                return Err((
                    start,
                    format!(
                        "illegal character U+{:04X} {} in escape sequence",
                        ch as u32,
                        go_quote_rune(ch)
                    ),
                ));
            }
            x = x * base + d;
            n -= 1;
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Err((
                start,
                "escape sequence is an invalid Unicode code point".into(),
            ));
        }
        if base == 8 || c == 'x' {
            // Byte escapes: Go strings are bytes, so `\xc3\xa9` spells one character.
            val.push(x as u8);
        } else {
            let ch = char::from_u32(x).unwrap_or('\u{fffd}');
            let mut b = [0u8; 4];
            val.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
        }
        Ok(())
    }

    fn raw_string(&mut self, start: usize) -> LexResult {
        let body = start + 1;
        match self.src[body..].find('`') {
            Some(i) => {
                self.pos = body + i + 1;
                self.out.push(Token {
                    kind: T::String,
                    start,
                    end: self.pos,
                    value: self.src[body..body + i].to_string(),
                    invalid_utf8: None,
                });
                Ok(())
            }
            None => Err((start, "unterminated raw string".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<T> {
        lex(s).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens() {
        use T::*;
        assert_eq!(
            kinds("sum by (a) (rate(x{a=~\"b\"}[5m:1m]))"),
            vec![
                Sum, By, LParen, Identifier, RParen, LParen, Identifier, LParen, Identifier,
                LBrace, Identifier, EqlRegex, String, RBrace, LBracket, Duration, Colon, Duration,
                RBracket, RParen, RParen, Eof
            ]
        );
        assert_eq!(
            kinds("0x1F 1e3 .5 Inf"),
            vec![Number, Number, Number, Number, Eof]
        );
        assert_eq!(
            kinds("x[step()+1]"),
            vec![Identifier, LBracket, Step, LParen, RParen, Add, Number, RBracket, Eof]
        );
        assert_eq!(kinds("a:b # c"), vec![MetricIdentifier, Eof]);
    }

    #[test]
    fn strings_and_errors() {
        let t = lex(r#""a\nb\x41\u00e9" `r\n`"#);
        assert_eq!(t[0].value, "a\nbAé");
        assert_eq!(t[1].value, "r\\n");
        let t = lex("foo $");
        assert_eq!(t.last().unwrap().kind, T::Error);
        assert_eq!(t.last().unwrap().value, "unexpected character: '$'");
        let t = lex("(a");
        assert_eq!(t.last().unwrap().value, "unclosed left parenthesis");
    }
}
