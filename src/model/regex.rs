//! Regular expressions as Prometheus reads them: Go's RE2 syntax and meaning, fully anchored
//! (`^(?s:PATTERN)$`), run by the `regex` crate.
//!
//! Every place Prometheus takes a regex uses this one type: label matchers (`=~`, `!~`),
//! `label_replace`, relabeling, and later rules, alert routing and silences. The pattern is
//! rewritten into the `regex` crate's syntax so that it keeps Go's meaning (see [`Regex`] for
//! what is bridged), Go's errors are given for syntax Go rejects but the crate would take,
//! and `$1`, `${name}` templates expand by Go's `Regexp.Expand` rules.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

/// The pattern every input matches whole, with group 1 = the input: relabeling's default.
pub const MATCH_ALL: &str = "(.*)";

/// Go's limit on a repetition count (`{1001}` is an error).
const MAX_REPEAT: u32 = 1000;

/// Go's limit on nesting (`maxHeight`); the regex crate's default is 250.
const MAX_NEST: u32 = 1000;

/// A pattern that does not compile: the pattern as written and why, on one line in Go's form
/// (`error parsing regexp: missing closing ): `^(?s:(a)$``): Go's own message for syntax
/// Go rejects and the crate would take, else the crate's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexError {
    pub pattern: String,
    pub message: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RegexError {}

/// A regex: the pattern as written, compiled as Prometheus compiles it, `^(?s:PATTERN)$`
/// (whole-string match, `.` matching newlines too).
///
/// Prometheus compiles with Go's RE2 syntax; the `regex` crate is close but not equal, so the
/// anchored pattern is rewritten first to keep Go's meaning:
/// - `\d \w \s \b \B` (and negations) are ASCII-only in Go, Unicode in Rust: they become
///   explicit ASCII classes (`\s` is Go's `[\t\n\f\r ]`, without `\v`) and `(?-u:\b)`;
/// - a `{` that does not start a valid Go repetition (`{n}`, `{n,}`, `{n,m}`, no leading
///   zeros) is a literal in Go, as is every `}`: both are escaped;
/// - `\Q…\E` (Go's literal text) becomes escaped text; `\p{^X}` becomes `\P{X}`;
/// - octal escapes (`\0`, `\012`) become `\x{…}`; `\<` `\>` are literals in Go, word
///   boundaries in Rust, so they become `<` `>`;
/// - inside `[...]`, `[` is a literal unless it opens `[:name:]`, and `&&`, `--`, `~~` are
///   literals (Rust reads them as set operations): class members are re-emitted escaped;
/// - named groups become plain groups and their names are kept here, since Go allows names
///   the crate refuses (`(?P<1a>…)`);
/// - nesting is allowed to Go's depth of 1000.
///
/// Refused with Go's message, though the crate would accept them: stacked repetitions
/// (`a**`, `a{2}*`), repeat counts over 1000, flags other than `i m s U` (`(?x)`), escapes Go
/// does not know (`\u0041`, `\C`), invalid or repeated group names.
///
/// Left as they are: the crate spells some `\p{…}` names loosely (`\p{greek}`), which Go
/// refuses. Both match leftmost-first, so capture positions agree.
#[derive(Clone)]
pub struct Regex {
    source: String,
    re: regex::Regex,
    /// Named groups and their indexes.
    names: Box<[(Box<str>, usize)]>,
    /// `source` is [`MATCH_ALL`]: every input matches whole, with group 1 = all of it, so
    /// the engine is skipped.
    all: bool,
}

impl Regex {
    /// Compiles `pattern` (RE2 syntax) anchored at both ends.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        Regex::compile(pattern, &format!("^(?s:{pattern})$"), pattern == MATCH_ALL)
    }

    /// Compiles `pattern` as Go's `regexp.Compile` does: unanchored, `.` not matching a
    /// newline (templates' `match` and `reReplaceAll`).
    pub fn new_unanchored(pattern: &str) -> Result<Regex, RegexError> {
        Regex::compile(pattern, pattern, false)
    }

    /// Compiles the Go text `go` (the pattern, anchored or not).
    fn compile(pattern: &str, go: &str, all: bool) -> Result<Regex, RegexError> {
        let error = |message: String| RegexError {
            pattern: pattern.to_string(),
            message,
        };
        let t = translate(go).map_err(|m| error(format!("error parsing regexp: {m}")))?;
        let re = regex::RegexBuilder::new(&t.pattern)
            .nest_limit(MAX_NEST)
            .build()
            .map_err(|e| error(crate_message(&e, go)))?;
        Ok(Regex {
            source: pattern.to_string(),
            re,
            names: t.names.into_boxed_slice(),
            all,
        })
    }

    /// The pattern as written, without the anchoring.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether this is [`MATCH_ALL`], `(.*)`.
    pub fn is_default(&self) -> bool {
        self.all
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.all || self.re.is_match(s)
    }

    /// The groups of the (leftmost) match in `hay`, for templates to expand; `None` when it
    /// does not match. Go's `FindStringSubmatchIndex`.
    pub fn captures<'r, 'h>(&'r self, hay: &'h str) -> Option<Captures<'r, 'h>> {
        if self.all {
            return Some(Captures {
                re: self,
                hay,
                locs: None,
            });
        }
        let mut locs = self.re.capture_locations();
        self.re.captures_read(&mut locs, hay)?;
        Some(Captures {
            re: self,
            hay,
            locs: Some(locs),
        })
    }

    /// Go's `Regexp.ReplaceAllString`: each match replaced by the expanded `template`.
    /// With the anchoring there is at most one match unless the pattern closes the anchoring
    /// group itself (`a)|(b`), which Go allows too.
    pub fn replace_all(&self, src: &str, template: &str) -> String {
        let mut out = String::new();
        if self.all {
            expand(&mut out, template, src, &Groups::All(src.len()), self);
            return out;
        }
        let mut locs = self.re.capture_locations();
        let (mut last_end, mut pos) = (0, 0);
        while pos <= src.len() {
            let Some(m) = self.re.captures_read_at(&mut locs, src, pos) else {
                break;
            };
            out.push_str(&src[last_end..m.start()]);
            // An empty match right after the previous match is not replaced.
            if m.end() > last_end || m.start() == 0 {
                expand(&mut out, template, src, &Groups::Locs(&locs), self);
            }
            last_end = m.end();
            // Advance at least one character.
            let width = src[pos..].chars().next().map_or(0, char::len_utf8);
            if pos + width > m.end() {
                pos += width;
            } else if pos + 1 > m.end() {
                pos += 1;
            } else {
                pos = m.end();
            }
        }
        out.push_str(&src[last_end..]);
        out
    }

    fn group_index(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, i)| *i)
    }
}

/// The groups of one match, from [`Regex::captures`].
pub struct Captures<'r, 'h> {
    re: &'r Regex,
    hay: &'h str,
    /// None for [`MATCH_ALL`]: groups 0 and 1 are the whole input.
    locs: Option<regex::CaptureLocations>,
}

impl Captures<'_, '_> {
    /// `template` with `$1`, `${1}`, `$name`, `${name}` and `$$` replaced by Go's
    /// `Regexp.Expand` rules; borrowed when it has no `$`.
    pub fn expand<'t>(&self, template: &'t str) -> Cow<'t, str> {
        if !template.contains('$') {
            return Cow::Borrowed(template);
        }
        let mut out = String::new();
        let groups = match &self.locs {
            None => Groups::All(self.hay.len()),
            Some(l) => Groups::Locs(l),
        };
        expand(&mut out, template, self.hay, &groups, self.re);
        Cow::Owned(out)
    }
}

impl Default for Regex {
    fn default() -> Regex {
        static DEFAULT: OnceLock<Regex> = OnceLock::new();
        DEFAULT
            .get_or_init(|| Regex::new(MATCH_ALL).expect("default regex compiles"))
            .clone()
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.source == other.source
    }
}

impl Eq for Regex {}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Regex").field(&self.source).finish()
    }
}

impl fmt::Display for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The regex crate's error on one line, in Go's form: `error parsing regexp: WHY: `PATTERN``.
fn crate_message(e: &regex::Error, anchored: &str) -> String {
    match e {
        regex::Error::Syntax(s) => {
            let why = s
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or(s.trim());
            // Go's words for the common cases.
            let why = match why {
                "unclosed group" => "missing closing )",
                "unopened group" => "unexpected )",
                w => w,
            };
            format!("error parsing regexp: {why}: `{anchored}`")
        }
        regex::Error::CompiledTooBig(_) => "error parsing regexp: expression too large".into(),
        _ => e.to_string(),
    }
}

/// Syntax Go refuses that the regex crate would take (or that the translation meets first),
/// each with the part of the pattern Go's message quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum GoSyntax {
    NestedRepeat(String),
    RepeatCount(String),
    PerlSyntax(String),
    Escape(String),
    TrailingBackslash,
    NamedCapture(String),
    MissingBracket(String),
}

impl fmt::Display for GoSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoSyntax::NestedRepeat(t) => write!(f, "invalid nested repetition operator: `{t}`"),
            GoSyntax::RepeatCount(t) => write!(f, "invalid repeat count: `{t}`"),
            GoSyntax::PerlSyntax(t) => write!(f, "invalid or unsupported Perl syntax: `{t}`"),
            GoSyntax::Escape(t) => write!(f, "invalid escape sequence: `{t}`"),
            GoSyntax::TrailingBackslash => {
                f.write_str("trailing backslash at end of expression: ``")
            }
            GoSyntax::NamedCapture(t) => write!(f, "invalid named capture: `{t}`"),
            GoSyntax::MissingBracket(t) => write!(f, "missing closing ]: `{t}`"),
        }
    }
}

/// An anchored pattern in the regex crate's syntax and the names of its groups.
struct Translation {
    pattern: String,
    names: Vec<(Box<str>, usize)>,
}

/// Rewrites the Go RE2 text `go` (a pattern, anchored by the caller where it is) into
/// `regex` crate syntax with the same meaning (see [`Regex`]); Go's message (without its
/// `error parsing regexp: ` prefix) for syntax Go rejects. The anchored text is what is
/// translated, as Go compiles it: a `\Q` without `\E` runs over the closing `)$`.
fn translate(go: &str) -> Result<Translation, GoSyntax> {
    let anchored = go.to_string();
    let pattern = go
        .strip_prefix("^(?s:")
        .and_then(|p| p.strip_suffix(")$"))
        .unwrap_or(go);
    let plain = !pattern
        .bytes()
        .any(|b| matches!(b, b'\\' | b'[' | b'{' | b'}'))
        && !pattern.contains("(?")
        && !has_stacked_repeat(pattern);
    if plain {
        return Ok(Translation {
            pattern: anchored,
            names: Vec::new(),
        });
    }
    let go = anchored.as_str();
    let mut out = String::with_capacity(go.len() + 16);
    let mut names: Vec<(Box<str>, usize)> = Vec::new();
    let mut groups = 0;
    // The text of the repetition just written, if the last thing written was one.
    let mut last_repeat: Option<&str> = None;
    let mut t = go;
    while let Some(c) = t.chars().next() {
        let before = t;
        let mut repeat = false;
        match c {
            '\\' => t = top_escape(t, &mut out)?,
            '[' => t = class(t, &mut out)?,
            '(' => {
                t = &t[1..];
                if let Some(rest) = t.strip_prefix('?') {
                    if let Some((name, rest)) = group_name(rest)? {
                        // Go allows a name twice; `$name` is then the first group.
                        groups += 1;
                        names.push((name.into(), groups));
                        out.push('(');
                        t = rest;
                    } else if let Some(rest) = rest.strip_prefix(')') {
                        // `(?)` sets no flag: nothing (the crate refuses it).
                        t = rest;
                    } else {
                        check_flags(rest)?;
                        out.push_str("(?");
                        t = rest;
                    }
                } else {
                    groups += 1;
                    out.push('(');
                }
            }
            '*' | '+' | '?' => {
                repeat = true;
                out.push(c);
                t = &t[1..];
            }
            '{' => match go_repeat_len(t) {
                Some(n) => {
                    check_repeat_count(&t[..n])?;
                    repeat = true;
                    out.push_str(&t[..n]);
                    t = &t[n..];
                }
                None => {
                    out.push_str("\\{");
                    t = &t[1..];
                }
            },
            '}' => {
                out.push_str("\\}");
                t = &t[1..];
            }
            _ => {
                out.push(c);
                t = &t[c.len_utf8()..];
            }
        }
        if repeat {
            // A `?` right after a repetition makes it lazy; it is part of it.
            if let Some(rest) = t.strip_prefix('?') {
                out.push('?');
                t = rest;
            }
            let op = &before[..before.len() - t.len()];
            if let Some(prev) = last_repeat {
                // Go shows both operators: `**`, `{2}*`.
                return Err(GoSyntax::NestedRepeat(format!("{prev}{op}")));
            }
            last_repeat = Some(op);
        } else {
            last_repeat = None;
        }
    }
    Ok(Translation {
        pattern: out,
        names,
    })
}

/// Whether a pattern with no escapes, classes or braces stacks `*`, `+` or `?` after a
/// repetition (`a**`, `a+*`, `a*??`), which Go refuses; `a*?` alone is a lazy `*`.
fn has_stacked_repeat(s: &str) -> bool {
    let b = s.as_bytes();
    let is_op = |c: u8| matches!(c, b'*' | b'+' | b'?');
    let mut i = 0;
    while i < b.len() {
        if is_op(b[i]) {
            let mut j = i + 1;
            if j < b.len() && b[j] == b'?' {
                j += 1;
            }
            if j < b.len() && is_op(b[j]) {
                return true;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    false
}

/// After `(?`: a group name (`P<name>` or `<name>`) and the rest, or `None` when this is a
/// flag group. Go's rule: a name is a non-empty run of letters, digits and `_`.
fn group_name(s: &str) -> Result<Option<(&str, &str)>, GoSyntax> {
    let Some(body) = s.strip_prefix("P<").or_else(|| s.strip_prefix('<')) else {
        return Ok(None);
    };
    let Some(end) = body.find('>') else {
        return Err(GoSyntax::NamedCapture(format!("(?{s}")));
    };
    let name = &body[..end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        let written = &s[..s.len() - body.len() + end + 1];
        return Err(GoSyntax::NamedCapture(format!("(?{written}")));
    }
    Ok(Some((name, &body[end + 1..])))
}

/// After `(?` of a flag group: Go knows only `i`, `m`, `s` and `U`, then at most one `-`
/// with at least one flag after it, up to `)` or `:`. Go's message shows the text up to the
/// character it stopped at.
fn check_flags(s: &str) -> Result<(), GoSyntax> {
    let bad = |n: usize| Err(GoSyntax::PerlSyntax(format!("(?{}", &s[..n])));
    let (mut negated, mut saw_flag) = (false, false);
    for (i, c) in s.char_indices() {
        let after = i + c.len_utf8();
        match c {
            'i' | 'm' | 's' | 'U' => saw_flag = true,
            '-' if !negated => {
                negated = true;
                saw_flag = false;
            }
            ':' | ')' if !negated || saw_flag => return Ok(()),
            _ => return bad(after),
        }
    }
    bad(s.len())
}

/// A repetition `{n}`, `{n,}`, `{n,m}` (valid syntax): Go refuses counts over 1000 and
/// `m < n`.
fn check_repeat_count(rep: &str) -> Result<(), GoSyntax> {
    let inner = &rep[1..rep.len() - 1];
    let mut parts = inner.splitn(2, ',');
    let min = parts.next().unwrap_or("");
    let max = parts.next();
    let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    let lo = num(min);
    let hi = match max {
        None => Some(lo),
        Some("") => None,
        Some(m) => Some(num(m)),
    };
    let bad = lo > MAX_REPEAT as u64 || hi.is_some_and(|h| h > MAX_REPEAT as u64 || h < lo);
    if bad {
        return Err(GoSyntax::RepeatCount(rep.to_string()));
    }
    Ok(())
}

/// The length of a Go repetition `{n}`, `{n,}` or `{n,m}` at the start of `s` (which starts
/// with `{`); `None` when Go would read the `{` as a literal.
fn go_repeat_len(s: &str) -> Option<usize> {
    fn int(b: &[u8], i: &mut usize) -> bool {
        let start = *i;
        if start >= b.len() || !b[start].is_ascii_digit() {
            return false;
        }
        if b[start] == b'0' && b.get(start + 1).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        true
    }
    let b = s.as_bytes();
    let mut i = 1;
    if !int(b, &mut i) || i >= b.len() {
        return None;
    }
    if b[i] == b',' {
        i += 1;
        if i >= b.len() {
            return None;
        }
        if b[i] != b'}' && !int(b, &mut i) {
            return None;
        }
    }
    (b.get(i) == Some(&b'}')).then_some(i + 1)
}

/// Writes `c` as a literal, escaped if the regex crate gives it a meaning anywhere (control
/// characters as `\x{…}`).
fn push_literal(out: &mut String, c: char) {
    if c.is_control() {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
        return;
    }
    if matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    ) {
        out.push('\\');
    }
    out.push(c);
}

/// Go's single-character escapes (`s` starts after the backslash): octal, `\x`, C escapes,
/// escaped punctuation. `None` for anything Go rejects.
fn go_escape(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next()?;
    let mut t = &s[c.len_utf8()..];
    let is_octal = |t: &str| {
        t.as_bytes()
            .first()
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    match c {
        '0'..='7' => {
            // A lone non-zero digit is a backreference, which Go does not support.
            if c != '0' && !is_octal(t) {
                return None;
            }
            let mut v = c as u32 - '0' as u32;
            for _ in 1..3 {
                if !is_octal(t) {
                    break;
                }
                v = v * 8 + (t.as_bytes()[0] - b'0') as u32;
                t = &t[1..];
            }
            Some((char::from_u32(v)?, t))
        }
        'x' => {
            let c2 = t.chars().next()?;
            t = &t[c2.len_utf8()..];
            if c2 == '{' {
                let end = t.find('}')?;
                let hex = &t[..end];
                if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() > 8 {
                    return None;
                }
                let v = u32::from_str_radix(hex, 16).ok()?;
                Some((char::from_u32(v)?, &t[end + 1..]))
            } else {
                let c3 = t.chars().next()?;
                let v = c2.to_digit(16)? * 16 + c3.to_digit(16)?;
                Some((char::from_u32(v)?, &t[c3.len_utf8()..]))
            }
        }
        'a' => Some(('\x07', t)),
        'f' => Some(('\x0c', t)),
        'n' => Some(('\n', t)),
        'r' => Some(('\r', t)),
        't' => Some(('\t', t)),
        'v' => Some(('\x0b', t)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some((c, t)),
        _ => None,
    }
}

/// Go's message for an escape it rejects; `s` starts with the backslash.
fn invalid_escape(s: &str) -> GoSyntax {
    let n = 1 + s[1..].chars().next().map_or(0, char::len_utf8);
    GoSyntax::Escape(s[..n].to_string())
}

/// A Perl class escape `\d \D \s \S \w \W` at the start of `s` (which starts with `\`),
/// written as Go's ASCII class; the rest of `s`.
fn perl_class<'s>(s: &'s str, out: &mut String) -> Option<&'s str> {
    let body = match s.as_bytes().get(1)? {
        b'd' => "[0-9]",
        b'D' => "[^0-9]",
        b's' => "[\\t\\n\\x0C\\r ]",
        b'S' => "[^\\t\\n\\x0C\\r ]",
        b'w' => "[0-9A-Za-z_]",
        b'W' => "[^0-9A-Za-z_]",
        _ => return None,
    };
    out.push_str(body);
    Some(&s[2..])
}

/// A Unicode class `\pX`, `\p{Name}`, `\p{^Name}` (or `\P…`) at the start of `s`; the rest.
fn unicode_class<'s>(s: &'s str, out: &mut String) -> Option<&'s str> {
    let mut negated = match s.as_bytes().get(1)? {
        b'p' => false,
        b'P' => true,
        _ => return None,
    };
    let t = &s[2..];
    let (mut name, rest) = match t.strip_prefix('{') {
        Some(b) => {
            let end = b.find('}')?;
            (&b[..end], &b[end + 1..])
        }
        None => {
            let c = t.chars().next()?;
            (&t[..c.len_utf8()], &t[c.len_utf8()..])
        }
    };
    if let Some(n) = name.strip_prefix('^') {
        negated = !negated;
        name = n;
    }
    out.push_str(if negated { "\\P{" } else { "\\p{" });
    out.push_str(name);
    out.push('}');
    Some(rest)
}

/// An escape outside a class; `s` starts with `\`. Returns the rest.
fn top_escape<'s>(s: &'s str, out: &mut String) -> Result<&'s str, GoSyntax> {
    let t = &s[1..];
    match t.as_bytes().first() {
        None => return Err(GoSyntax::TrailingBackslash),
        Some(b'b') => {
            out.push_str("(?-u:\\b)");
            return Ok(&t[1..]);
        }
        Some(b'B') => {
            out.push_str("(?-u:\\B)");
            return Ok(&t[1..]);
        }
        Some(b'A' | b'z') => {
            out.push_str(&s[..2]);
            return Ok(&t[1..]);
        }
        Some(b'Q') => {
            let lit = &t[1..];
            let (lit, rest) = match lit.find("\\E") {
                Some(i) => (&lit[..i], &lit[i + 2..]),
                None => (lit, ""),
            };
            lit.chars().for_each(|c| push_literal(out, c));
            return Ok(rest);
        }
        _ => {}
    }
    if let Some(rest) = unicode_class(s, out).or_else(|| perl_class(s, out)) {
        return Ok(rest);
    }
    match go_escape(t) {
        Some((c, rest)) => {
            push_literal(out, c);
            Ok(rest)
        }
        None => Err(invalid_escape(s)),
    }
}

/// A class member character (`s` not empty): an escape or a character.
fn class_char(s: &str) -> Result<(char, &str), GoSyntax> {
    if let Some(t) = s.strip_prefix('\\') {
        return go_escape(t).ok_or_else(|| invalid_escape(s));
    }
    let c = s.chars().next().expect("not empty");
    Ok((c, &s[c.len_utf8()..]))
}

/// A bracketed class at the start of `s` (which starts with `[`), parsed as Go parses it and
/// re-emitted with every member escaped. Returns the rest.
fn class<'s>(s: &'s str, out: &mut String) -> Result<&'s str, GoSyntax> {
    out.push('[');
    let mut t = &s[1..];
    if let Some(r) = t.strip_prefix('^') {
        out.push('^');
        t = r;
    }
    let mut first = true;
    loop {
        if t.is_empty() {
            return Err(GoSyntax::MissingBracket(s.to_string()));
        }
        if t.starts_with(']') && !first {
            out.push(']');
            return Ok(&t[1..]);
        }
        first = false;
        if t.len() > 2 && t.starts_with("[:") {
            if let Some(i) = t[2..].find(":]") {
                out.push_str(&t[..i + 4]);
                t = &t[i + 4..];
                continue;
            }
        }
        if t.starts_with('\\') {
            if let Some(rest) = unicode_class(t, out).or_else(|| perl_class(t, out)) {
                t = rest;
                continue;
            }
        }
        let (lo, rest) = class_char(t)?;
        t = rest;
        push_literal(out, lo);
        let b = t.as_bytes();
        if b.len() >= 2 && b[0] == b'-' && b[1] != b']' {
            let (hi, rest) = class_char(&t[1..])?;
            t = rest;
            out.push('-');
            push_literal(out, hi);
        }
    }
}

/// Where each group of one match lies.
enum Groups<'a> {
    /// [`MATCH_ALL`] over an input this long: groups 0 and 1 both span all of it.
    All(usize),
    Locs(&'a regex::CaptureLocations),
}

impl Groups<'_> {
    fn get(&self, i: usize) -> Option<(usize, usize)> {
        match self {
            Groups::All(n) => (i < 2).then_some((0, *n)),
            Groups::Locs(l) => l.get(i),
        }
    }
}

/// Appends `template` to `out` with its references replaced, by Go's `Regexp.Expand` rules:
/// `$$` is `$`; `$name` takes the longest run of letters, digits and `_` (so `$1x` names a
/// group `1x`, which does not exist, and expands to nothing); `${name}` delimits it; a name
/// of digits is a group number unless it has a leading zero; a missing or unmatched group is
/// empty; a `$` not followed by a name is kept.
fn expand(out: &mut String, template: &str, hay: &str, groups: &Groups<'_>, re: &Regex) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let index = if name.bytes().all(|b| b.is_ascii_digit()) {
            if name.len() > 1 && name.starts_with('0') {
                None
            } else {
                name.parse::<usize>().ok()
            }
        } else {
            re.group_index(name)
        };
        if let Some((s, e)) = index.and_then(|n| groups.get(n)) {
            out.push_str(&hay[s..e]);
        }
    }
    out.push_str(rest);
}

/// The reference after a `$`: `name` or `{name}` and the rest, where a name is a non-empty
/// run of Unicode letters (category L), decimal digits (Nd) and `_`, Go's `unicode.IsLetter`
/// and `unicode.IsDigit`. `None` when malformed.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let b = body.as_bytes();
    let mut n = 0;
    while n < b.len() && (b[n].is_ascii_alphanumeric() || b[n] == b'_') {
        n += 1;
    }
    if n < b.len() && b[n] >= 0x80 {
        static WORD: OnceLock<regex::Regex> = OnceLock::new();
        let word = WORD
            .get_or_init(|| regex::Regex::new(r"^[\p{L}\p{Nd}_]+").expect("word pattern compiles"));
        n += word.find(&body[n..]).map_or(0, |m| m.end());
    }
    if n == 0 {
        return None;
    }
    let (name, rest) = body.split_at(n);
    if braced {
        Some((name, rest.strip_prefix('}')?))
    } else {
        Some((name, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    /// The translation without the anchoring.
    fn translated(p: &str) -> String {
        let t = translate(&format!("^(?s:{p})$")).unwrap().pattern;
        t["^(?s:".len()..t.len() - 2].to_string()
    }

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        let r = re("f|o");
        assert!(!r.is_match("foo"));
        assert!(r.is_match("f") && r.is_match("o"));
        assert!(re("line1.*line2").is_match("line1\nline2"));
        assert!(re("").is_match(""));
        assert!(!re("").is_match("a"));
        assert_eq!(r.as_str(), "f|o");
        assert_eq!(r.to_string(), "f|o");
        assert_eq!(format!("{r:?}"), "Regex(\"f|o\")");
        // A pattern may close the anchoring group itself, as in Go.
        let r = re("a)|(b");
        assert!(r.is_match("axx") && r.is_match("xxb") && !r.is_match("xx"));
    }

    #[test]
    fn bad_regex_reports_the_regex_crate_message() {
        let e = Regex::new("(abc").unwrap_err();
        let RegexError { pattern, message } = &e;
        assert_eq!(pattern, "(abc");
        assert!(message.contains("missing closing )"), "{message}");
        assert_eq!(e.to_string(), *message);
        assert!(Regex::new("a\\").is_err());
        assert!(Regex::new("[a").is_err());
        assert!(Regex::new("*").is_err());
        // A lone \1 is a backreference: rejected in Go and here.
        assert!(Regex::new(r"(a)\1").is_err());
    }

    /// Where Go's RE2 and the regex crate read the same pattern differently, Go wins.
    #[test]
    fn regex_has_go_semantics() {
        let m = |p: &str, s: &str| re(p).is_match(s);
        // Perl classes are ASCII.
        assert!(m(r"\d+", "0123456789"));
        assert!(!m(r"\d", "\u{663}"));
        assert!(m(r"\D", "\u{663}"));
        assert!(m(r"\w+", "aZ_9"));
        assert!(!m(r"\w", "é"));
        assert!(m(r"\W", "é"));
        assert!(m(r"\s", " ") && m(r"\s", "\x0c"));
        assert!(!m(r"\s", "\x0b") && !m(r"\s", "\u{a0}"));
        assert!(m(r"\S", "\x0b"));
        assert!(m(r"a\b.*", "aé"));
        assert!(!m(r"a\B.*", "aé"));
        // The same inside classes, where a following '-' is a literal.
        assert!(m(r"[\w-]+", "a-b_c"));
        assert!(m(r"[\d-z]", "-") && m(r"[\d-z]", "z") && m(r"[\d-z]", "5"));
        assert!(!m(r"[\d-z]", "a") && !m(r"[\d-z]", "\u{663}"));
        assert!(m(r"[^\d]", "a") && !m(r"[^\d]", "1"));
        assert!(m(r"[\D]", "é"));
        // Literal braces where Go reads no repetition.
        assert!(m("a{", "a{"));
        assert!(m("a{,3}", "a{,3}"));
        assert!(m("a{01}", "a{01}"));
        assert!(m("{}", "{}"));
        assert!(m("x{a}", "x{a}"));
        assert!(m("a{2}", "aa") && !m("a{2}", "a{2}"));
        assert!(m("a{2,}", "aaa") && m("a{1,2}", "aa"));
        // \Q…\E, octal and punctuation escapes.
        assert!(m(r"\Q.*+\E", ".*+") && !m(r"\Q.*\E", "ab"));
        // Without \E the literal runs over the anchoring's ")$", as in Go: an error.
        assert!(Regex::new(r"\Qa.b").is_err());
        assert!(m(r"\101\0", "A\0"));
        assert!(m(r"\x41\x{42}", "AB"));
        assert!(m(r"\<a\>", "<a>"));
        assert!(m(r"\_\:\/\%", "_:/%"));
        assert!(m(r"(.+?)(\:\d+)?;(\d+)", "10.0.0.1:80;9100"));
        // Unicode classes, with Go's \p{^X} negation.
        assert!(m(r"\pL+", "été") && m(r"\p{Greek}", "λ"));
        assert!(m(r"\p{^L}", "1") && !m(r"\p{^L}", "a"));
        assert!(m(r"\P{^L}", "a"));
        // Class syntax: '[' is a literal, && -- ~~ are not set operations.
        assert!(m("[[a]+", "[a["));
        assert!(m("[a&&b]", "&") && m("[a&&b]", "b"));
        assert!(m("[a~~b]", "~"));
        assert!(m("[+--]", ",") && m("[+--]", "+") && !m("[+--]", "."));
        assert!(m("[--/]", "."));
        assert!(m("[a-c-e]", "-") && m("[a-c-e]", "e") && !m("[a-c-e]", "d"));
        assert!(m("[]a]", "]") && m("[^]a]", "b") && !m("[^]a]", "]"));
        assert!(m("[[:alpha:]-]+", "ab-"));
        assert!(m(r"[\[\]\\^]+", "[]\\^"));
        assert!(m(r"[\x41-\x43]", "B") && m(r"[\0-\37]", "\x1f"));
        // Case folding as in Go.
        assert!(m("(?i)k", "\u{212A}") && m("(?i)STRIMZI", "strimzi"));
        assert!(m("(?i)[a-c]+", "AbC"));
        // Named groups in both spellings.
        assert!(m("(?P<a>x)(?<b>y)", "xy"));
    }

    #[test]
    fn translation_output() {
        let t = translated;
        assert_eq!(t("(.*)_total|up"), "(.*)_total|up");
        assert_eq!(t(r"\d+\.\w"), r"[0-9]+\.[0-9A-Za-z_]");
        assert_eq!(t(r"[\s-]"), r"[[\t\n\x0C\r ]\-]");
        assert_eq!(t(r"a\bb"), r"a(?-u:\b)b");
        assert_eq!(t("a{2,3}b{c}"), r"a{2,3}b\{c\}");
        assert_eq!(t(r"\Q(a)\E\0\n"), r"\(a\)\x{0}\x{A}");
        assert_eq!(t("[[&~-]"), r"[\[\&\~\-]");
        assert_eq!(t(r"[[:digit:]\p{^Greek}]"), r"[[:digit:]\P{Greek}]");
    }

    /// Go's `Expand` rules through a regex with a named group, a skipped group and more.
    #[test]
    fn expansion_follows_go() {
        let r = re("(?P<name>a)(b)?(c)(d)?");
        let x = |t: &str| r.replace_all("acd", t);
        assert_eq!(x("$1"), "a");
        assert_eq!(x("${1}"), "a");
        assert_eq!(x("$name"), "a");
        assert_eq!(x("${name}"), "a");
        assert_eq!(x("$0"), "acd");
        assert_eq!(x("$3$2"), "c");
        assert_eq!(x("$4"), "d");
        // A name runs over Unicode letters too.
        assert_eq!(x("$1é"), "");
        assert_eq!(x("${1}é"), "aé");
        assert_eq!(x("$1-"), "a-");
        assert_eq!(x("$$1"), "$1");
        assert_eq!(x("$$$1"), "$a");
        assert_eq!(x("$1x"), "");
        assert_eq!(x("${1}x"), "ax");
        assert_eq!(x("$10"), "");
        assert_eq!(x("$01"), "");
        assert_eq!(x("$999999999999999999999999"), "");
        assert_eq!(x("$nope"), "");
        assert_eq!(x("$name.$3"), "a.c");
        assert_eq!(x("$"), "$");
        assert_eq!(x("a$"), "a$");
        assert_eq!(x("${"), "${");
        assert_eq!(x("${}"), "${}");
        assert_eq!(x("${1"), "${1");
        assert_eq!(x("${1-}"), "${1-}");
        assert_eq!(x("$-1"), "$-1");
        assert_eq!(x("plain"), "plain");
        // The default regex without the engine: $0 and $1 are the input.
        let d = Regex::default();
        assert_eq!(d.replace_all("abc", "<$0|${1}|$2>"), "<abc|abc|>");
        // Go's ReplaceAll when the pattern escapes its anchoring: empty matches next to a
        // match are not replaced.
        assert_eq!(re(")|(b*").replace_all("abb", "[$0]"), "[]a[bb]");
    }

    /// Syntax the regex crate would take but Go refuses gets Go's message.
    #[test]
    fn go_refusals_with_go_messages() {
        let err = |p: &str| Regex::new(p).unwrap_err().message;
        assert_eq!(
            err("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            err("a+*"),
            "error parsing regexp: invalid nested repetition operator: `+*`"
        );
        assert_eq!(
            err("a*??"),
            "error parsing regexp: invalid nested repetition operator: `*??`"
        );
        assert_eq!(
            err("a{2}{3}"),
            "error parsing regexp: invalid nested repetition operator: `{2}{3}`"
        );
        assert_eq!(
            err("a{2}*"),
            "error parsing regexp: invalid nested repetition operator: `{2}*`"
        );
        assert_eq!(
            err("x{1001}"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(
            err("x{2,1}"),
            "error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(
            err("(?x)a"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"
        );
        assert_eq!(
            err("(?i-)a"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`"
        );
        assert_eq!(
            err("(?P=a)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?P`"
        );
        assert_eq!(
            err("(?=a)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
        );
        assert_eq!(
            err(r"\u0041"),
            "error parsing regexp: invalid escape sequence: `\\u`"
        );
        assert_eq!(
            err(r"\C"),
            "error parsing regexp: invalid escape sequence: `\\C`"
        );
        assert_eq!(
            err(r"(a)\1"),
            "error parsing regexp: invalid escape sequence: `\\1`"
        );
        assert_eq!(
            err(r"[\q]"),
            "error parsing regexp: invalid escape sequence: `\\q`"
        );
        assert_eq!(
            err("(?P<a-b>x)"),
            "error parsing regexp: invalid named capture: `(?P<a-b>`"
        );
        assert_eq!(
            err("(?P<>x)"),
            "error parsing regexp: invalid named capture: `(?P<>`"
        );
        // The crate's own refusals, on one line in Go's form.
        assert_eq!(
            err("(abc"),
            "error parsing regexp: missing closing ): `^(?s:(abc)$`"
        );
        assert_eq!(
            err("a)b)"),
            "error parsing regexp: unexpected ): `^(?s:a)b))$`"
        );
        assert_eq!(err("[a"), "error parsing regexp: missing closing ]: `[a)$`");
        // Accepted by both.
        for ok in [
            "(?)a", "(?i-s:a)", "a*?", "a+?", "a??", "(a*)*", "a{1000}", "(?i)a", "(?i:a)",
            "(?-s:.)", "(?U)a+", "(?:a)", "(?m)^a$", r"\Aa\z",
        ] {
            assert!(Regex::new(ok).is_ok(), "{ok}");
        }
        // Go allows a group name that starts with a digit; it still expands.
        let r = re("(?P<1a>x)(?<b>y)");
        assert!(r.is_match("xy"));
        assert_eq!(r.replace_all("xy", "${1a}-$b"), "x-y");
        // A name used twice (the crate refuses it) expands to its first group, as in Go.
        assert_eq!(re("(?P<a>x)(?P<a>y)").replace_all("xy", "$a"), "x");
        // Nesting to Go's depth of 1000 (the crate's default stops at 250).
        let deep = format!("{}a{}", "(".repeat(400), ")".repeat(400));
        assert!(re(&deep).is_match("a"));
    }

    #[test]
    fn captures_expand_as_go() {
        let r = re("(a+)-(?P<rest>.*)");
        let c = r.captures("aa-bb").unwrap();
        assert_eq!(c.expand("$1|$rest|${1}x|$1x"), "aa|bb|aax|");
        assert!(matches!(c.expand("plain"), Cow::Borrowed("plain")));
        assert!(r.captures("bb").is_none());
        let d = Regex::default();
        assert_eq!(d.captures("q").unwrap().expand("<$1>"), "<q>");
    }
}
