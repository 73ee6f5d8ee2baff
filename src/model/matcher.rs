//! Label matchers (`=`, `!=`, `=~`, `!~`) and series selectors (`up{job="node"}`).
//!
//! Regular expressions are fully anchored and let `.` match a newline, as in Prometheus
//! (`^(?s:re)$`). A label that is absent has the empty value, so `{a=""}` matches series without
//! `a`. The selector parser here is the one `export`, `delete` and `--match` options use; the
//! PromQL parser produces the same [`Matcher`] values.

use std::fmt;

use super::labels::{is_legacy_label_name, is_legacy_metric_name, write_quoted};
use super::regex::{Regex, RegexError};
use super::{Labels, METRIC_NAME};

/// How a matcher compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Matcher) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}

/// A matcher or selector that did not parse: the byte offset and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub pos: usize,
    pub reason: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.pos + 1, self.reason)
    }
}

impl std::error::Error for SelectorError {}

impl Matcher {
    /// A matcher; fails only on an invalid regular expression (Go's RE2 syntax, anchored).
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Matcher, RegexError> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(Regex::new(value)?),
            _ => None,
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value: value.into(),
            re,
        })
    }

    /// Whether a label value (empty when the label is absent) matches.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.re.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// Whether the matcher accepts series that lack the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

/// Whether a label set satisfies every matcher.
pub fn matches_all(ms: &[Matcher], labels: &Labels) -> bool {
    ms.iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_legacy_label_name(&self.name) {
            f.write_str(&self.name)?;
        } else {
            write_quoted(f, &self.name)?;
        }
        f.write_str(self.op.as_str())?;
        write_quoted(f, &self.value)
    }
}

/// Prints matchers as a selector: `{a="b", c=~"d"}`.
pub fn display_selector(ms: &[Matcher]) -> String {
    let mut s = String::from("{");
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&m.to_string());
    }
    s.push('}');
    s
}

/// Parses a series selector: `name`, `name{matchers}`, or `{matchers}`; UTF-8 names quoted
/// (`{"my.metric", "a.b"="c"}`). Like PromQL, at least one matcher must not match the empty
/// string.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>, SelectorError> {
    let mut p = P { s: input, i: 0 };
    let mut out = Vec::new();
    p.ws();
    if p.peek()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
    {
        let name = p.ident(true);
        out.push(Matcher::new(MatchOp::Equal, METRIC_NAME, name).expect("no regex"));
        p.ws();
    }
    if p.peek() == Some('{') {
        p.i += 1;
        loop {
            p.ws();
            if p.peek() == Some('}') {
                p.i += 1;
                break;
            }
            let start = p.i;
            let (name, quoted) = match p.peek() {
                Some('"' | '\'' | '`') => (p.string()?, true),
                Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                    (p.ident(false).to_string(), false)
                }
                _ => return Err(p.err("expected a label name or a quoted metric name")),
            };
            p.ws();
            let op = if p.eat("!=") {
                Some(MatchOp::NotEqual)
            } else if p.eat("=~") {
                Some(MatchOp::Regex)
            } else if p.eat("!~") {
                Some(MatchOp::NotRegex)
            } else if p.eat("=") {
                Some(MatchOp::Equal)
            } else {
                None
            };
            match op {
                Some(op) => {
                    p.ws();
                    let vpos = p.i;
                    if !matches!(p.peek(), Some('"' | '\'' | '`')) {
                        return Err(p.err("expected a quoted label value"));
                    }
                    let value = p.string()?;
                    let m = Matcher::new(op, &name, &value).map_err(|e| SelectorError {
                        pos: vpos,
                        reason: e.to_string(),
                    })?;
                    out.push(m);
                }
                None if quoted => {
                    if out.iter().any(|m| m.name == METRIC_NAME) {
                        return Err(SelectorError {
                            pos: start,
                            reason: "metric name given twice".into(),
                        });
                    }
                    out.push(Matcher::new(MatchOp::Equal, METRIC_NAME, &name).expect("no regex"));
                }
                None => return Err(p.err("expected one of =, !=, =~, !~")),
            }
            p.ws();
            if p.eat(",") {
                continue;
            }
            if p.peek() == Some('}') {
                continue;
            }
            return Err(p.err("expected , or }"));
        }
    } else if out.is_empty() {
        return Err(p.err("expected a metric name or {"));
    }
    p.ws();
    if p.i < input.len() {
        return Err(p.err("unexpected text after the selector"));
    }
    if out.iter().all(|m| m.matches_empty()) {
        return Err(SelectorError {
            pos: 0,
            reason: "a selector needs at least one matcher that does not match the empty string"
                .into(),
        });
    }
    Ok(out)
}

struct P<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += self.peek().map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn err(&self, reason: &str) -> SelectorError {
        SelectorError {
            pos: self.i,
            reason: match self.peek() {
                Some(c) => format!("{reason}, found {c:?}"),
                None => format!("{reason}, found the end"),
            },
        }
    }

    fn ident(&mut self, metric: bool) -> &'a str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') {
                self.i += 1;
            } else {
                break;
            }
        }
        let s = &self.s[start..self.i];
        debug_assert!(if metric {
            is_legacy_metric_name(s)
        } else {
            is_legacy_label_name(s)
        });
        s
    }

    /// A PromQL string: "…" or '…' with Go escapes, or `…` raw.
    fn string(&mut self) -> Result<String, SelectorError> {
        let start = self.i;
        let q = self.peek().expect("caller checked");
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(SelectorError {
                    pos: start,
                    reason: "unterminated string".into(),
                });
            };
            self.i += c.len_utf8();
            if c == q {
                return Ok(out);
            }
            if c == '\\' && q != '`' {
                let epos = self.i - 1;
                let Some(e) = self.peek() else { continue };
                self.i += e.len_utf8();
                let hex = |p: &mut P, n: usize| -> Result<u32, SelectorError> {
                    let h = p.s.get(p.i..p.i + n).unwrap_or("");
                    let v = u32::from_str_radix(h, 16).map_err(|_| SelectorError {
                        pos: epos,
                        reason: "invalid escape".into(),
                    })?;
                    p.i += n;
                    Ok(v)
                };
                let ch = match e {
                    e if super::quote::simple_escape(e).is_some() => {
                        super::quote::simple_escape(e).unwrap_or(e)
                    }
                    '"' | '\'' => e,
                    'x' => char::from_u32(hex(self, 2)?).unwrap_or('\u{fffd}'),
                    'u' => char::from_u32(hex(self, 4)?).ok_or(SelectorError {
                        pos: epos,
                        reason: "invalid escape".into(),
                    })?,
                    'U' => char::from_u32(hex(self, 8)?).ok_or(SelectorError {
                        pos: epos,
                        reason: "invalid escape".into(),
                    })?,
                    _ => {
                        return Err(SelectorError {
                            pos: epos,
                            reason: format!("unknown escape \\{e}"),
                        })
                    }
                };
                out.push(ch);
            } else {
                out.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn selectors() {
        let ms = parse_selector(r#"up{job="node", instance=~"a.*",}"#).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(
            display_selector(&ms),
            r#"{__name__="up", job="node", instance=~"a.*"}"#
        );
        let ms = parse_selector(r#"{"my.metric", "a.b"!="x\n"}"#).unwrap();
        assert_eq!(ms[0].value, "my.metric");
        assert_eq!(ms[1].name, "a.b");
        assert_eq!(ms[1].value, "x\n");
        assert!(parse_selector(r#"{a=""}"#).is_err());
        assert!(parse_selector(r#"{a=~".*"}"#).is_err());
        assert!(parse_selector("up{").is_err());
        assert!(parse_selector(r#"up{a="b"} x"#).is_err());
        assert!(parse_selector(r#"up{a=~"("}"#).is_err());
        let e = parse_selector(r#"up{a=b}"#).unwrap_err();
        assert_eq!(e.pos, 5);
    }

    #[test]
    fn matching() {
        let ms = parse_selector(r#"{job=~"no.e", env="", x!~"a|b"}"#).unwrap();
        assert!(matches_all(&ms, &l(&[("job", "node")])));
        assert!(matches_all(&ms, &l(&[("job", "node"), ("x", "c")])));
        assert!(!matches_all(&ms, &l(&[("job", "node"), ("env", "p")])));
        assert!(!matches_all(&ms, &l(&[("job", "node"), ("x", "a")])));
        assert!(!matches_all(&ms, &l(&[("job", "nodes")])));
        let m = Matcher::new(MatchOp::Regex, "a", "x.y").unwrap();
        assert!(m.matches("x\ny"));
    }

    /// Matchers read regexes as Go does (issue 12), not as the regex crate does.
    #[test]
    fn regex_matchers_have_go_semantics() {
        let m = |op, re: &str, v: &str| Matcher::new(op, "a", re).unwrap().matches(v);
        assert!(!m(MatchOp::Regex, r"\d", "\u{663}"));
        assert!(m(MatchOp::NotRegex, r"\d", "\u{663}"));
        assert!(m(MatchOp::Regex, r"\d+", "42"));
        assert!(m(MatchOp::Regex, "a{", "a{"));
        assert!(m(MatchOp::Regex, "x{a}", "x{a}"));
        assert!(!m(MatchOp::Regex, r"\w", "é"));
        let e = Matcher::new(MatchOp::Regex, "a", "a**").unwrap_err();
        assert_eq!(
            e.to_string(),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        let e = parse_selector(r#"{a=~"\\u0041"}"#).unwrap_err();
        assert_eq!(e.pos, 4);
        assert!(e.reason.contains("invalid escape sequence"), "{}", e.reason);
    }
}
