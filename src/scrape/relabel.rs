//! Relabeling: the `relabel_configs` and `metric_relabel_configs` rules of Prometheus 3.x,
//! with the same results as Prometheus's `model/relabel` for every action.
//!
//! This module owns:
//! - the rule, [`RelabelConfig`], its defaults and [`RelabelConfig::validate`] (Prometheus's
//!   checks and error wording; the YAML decoder lives in `scrape::config`, starts from
//!   `RelabelConfig::default()`, overwrites the fields written and calls `validate`);
//! - [`Regex`], a pattern anchored as Prometheus anchors it (`^(?s:…)$`), read with Go's RE2
//!   syntax and meaning although the `regex` crate runs it (see [`Regex`] for what is bridged);
//! - the expansion of `$1`, `${1}`, `$name`, `$$` in `target_label` and `replacement`, by Go's
//!   `Regexp.Expand` rules;
//! - [`process`], which applies a list of rules to one label set, on a [`Builder`] that
//!   mirrors Prometheus's `labels.Builder`: pending sets and deletes over an untouched base,
//!   walked in the same order, so `labelmap` resolves collisions as Prometheus does, and a
//!   series that no rule changes is not rebuilt.
//!
//! Rules run for every scraped series, so the common paths avoid work: regexes are compiled
//! once, the default regex `(.*)` never reaches the regex engine, a template without `$` is
//! used as is, and capture positions are only asked for when a template needs them.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use crate::model::hash::md5;
use crate::model::labels::{is_legacy_label_name, Label, Labels};

/// The message Prometheus gives for a rule whose `action:` is present but null. An [`Action`]
/// cannot be empty, so a decoder that meets a null action reports this itself.
pub const EMPTY_ACTION: &str = "relabel action cannot be empty";

/// The default `regex`: everything, with the whole input as group 1.
pub const DEFAULT_REGEX: &str = "(.*)";

/// The default `separator` between joined source values.
pub const DEFAULT_SEPARATOR: &str = ";";

/// The default `replacement`.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// What a rule does. "The value" below is the source labels' values joined with `separator`
/// (a missing label counts as an empty value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Action {
    /// If `regex` matches the value, sets the label named by the expanded `target_label` to
    /// the expanded `replacement` (deletes it if that is empty).
    #[default]
    Replace,
    /// Drops the series unless `regex` matches the value.
    Keep,
    /// Drops the series if `regex` matches the value.
    Drop,
    /// Drops the series unless the value equals `target_label`'s value.
    KeepEqual,
    /// Drops the series if the value equals `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to the MD5 of the value modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches `regex` to the name `replacement` makes of it.
    LabelMap,
    /// Deletes every label whose name matches `regex`.
    LabelDrop,
    /// Deletes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the value in lower case.
    Lowercase,
    /// Sets `target_label` to the value in upper case.
    Uppercase,
}

impl Action {
    /// Every action, in the order of Prometheus's documentation.
    pub const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    /// The action a YAML `action:` names, compared case-insensitively as Prometheus does
    /// (Go's `strings.ToLower`, which also folds the Kelvin sign `K` to `k`; Rust's
    /// `to_lowercase` agrees on every letter of the names). `None` for anything else,
    /// the empty string included (Prometheus: `unknown relabel action ""`).
    pub fn parse(s: &str) -> Option<Action> {
        let lower = s.to_lowercase();
        Action::ALL.into_iter().find(|a| a.name() == lower)
    }

    /// The YAML name: `replace`, `keepequal`, `hashmod`, ….
    pub fn name(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which label names are valid: a scrape config's `metric_name_validation_scheme`.
/// Prometheus 3.x defaults to UTF-8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NameValidation {
    /// Any non-empty name.
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    Legacy,
}

impl NameValidation {
    /// `utf8` or `legacy`, as written in a config.
    pub fn parse(s: &str) -> Option<NameValidation> {
        match s {
            "utf8" => Some(NameValidation::Utf8),
            "legacy" => Some(NameValidation::Legacy),
            _ => None,
        }
    }

    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_legacy_label_name(name),
        }
    }

    /// A `target_label` or `replacement` that holds `$` references: under legacy rules it
    /// must read as a legacy name once each `$name`/`${name}` stands for name characters.
    fn is_valid_template(self, t: &str) -> bool {
        match self {
            NameValidation::Utf8 => !t.is_empty(),
            NameValidation::Legacy => {
                static RE: OnceLock<regex::Regex> = OnceLock::new();
                RE.get_or_init(|| {
                    regex::Regex::new(
                        r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$",
                    )
                    .expect("legacy target pattern compiles")
                })
                .is_match(t)
            }
        }
    }
}

/// Why a relabeling regex cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The pattern does not compile; `message` is the regex crate's (it shows the anchored
    /// pattern, as Go's message does).
    Regex { pattern: String, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Regex { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// A relabeling regex: the pattern as written, compiled as Prometheus compiles it,
/// `^(?s:PATTERN)$` (whole-string match, `.` matching newlines too).
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
///   literals (Rust reads them as set operations): class members are re-emitted escaped.
///
/// Left as they are: Rust accepts some syntax Go rejects (`(?x)`, `\u{…}`, `a**`, repeat
/// counts over 1000, loosely spelled `\p{…}` names) and rejects capture names that start with
/// a digit (`(?P<1a>…)`), which Go allows. Both match leftmost-first, so capture positions agree.
#[derive(Clone)]
pub struct Regex {
    source: String,
    re: regex::Regex,
    /// `source` is [`DEFAULT_REGEX`]: every input matches whole, with group 1 = all of it,
    /// so the engine is skipped.
    all: bool,
}

impl Regex {
    /// Compiles `pattern` (RE2 syntax) anchored at both ends.
    pub fn new(pattern: &str) -> Result<Regex, Error> {
        let anchored = format!("^(?s:{pattern})$");
        let re = regex::Regex::new(&translate(&anchored)).map_err(|e| Error::Regex {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })?;
        Ok(Regex {
            source: pattern.to_string(),
            re,
            all: pattern == DEFAULT_REGEX,
        })
    }

    /// The pattern as written, without the anchoring.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether this is the default `(.*)`.
    pub fn is_default(&self) -> bool {
        self.all
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.all || self.re.is_match(s)
    }

    /// The compiled, anchored and translated regex.
    pub fn as_regex(&self) -> &regex::Regex {
        &self.re
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
}

impl Default for Regex {
    fn default() -> Regex {
        static DEFAULT: OnceLock<Regex> = OnceLock::new();
        DEFAULT
            .get_or_init(|| Regex::new(DEFAULT_REGEX).expect("default regex compiles"))
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

/// Rewrites a Go RE2 pattern into `regex` crate syntax with the same meaning (see [`Regex`]).
fn translate(go: &str) -> Cow<'_, str> {
    if !go.bytes().any(|b| matches!(b, b'\\' | b'[' | b'{' | b'}')) {
        return Cow::Borrowed(go);
    }
    let mut out = String::with_capacity(go.len() + 16);
    let mut t = go;
    while let Some(c) = t.chars().next() {
        match c {
            '\\' => t = top_escape(t, &mut out),
            '[' => t = class(t, &mut out),
            '{' => match go_repeat_len(t) {
                Some(n) => {
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
    }
    Cow::Owned(out)
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
fn top_escape<'s>(s: &'s str, out: &mut String) -> &'s str {
    let t = &s[1..];
    match t.as_bytes().first() {
        None => {
            out.push('\\');
            return t;
        }
        Some(b'b') => {
            out.push_str("(?-u:\\b)");
            return &t[1..];
        }
        Some(b'B') => {
            out.push_str("(?-u:\\B)");
            return &t[1..];
        }
        Some(b'A' | b'z' | b'C') => {
            out.push_str(&s[..2]);
            return &t[1..];
        }
        Some(b'Q') => {
            let lit = &t[1..];
            let (lit, rest) = match lit.find("\\E") {
                Some(i) => (&lit[..i], &lit[i + 2..]),
                None => (lit, ""),
            };
            lit.chars().for_each(|c| push_literal(out, c));
            return rest;
        }
        _ => {}
    }
    if let Some(rest) = unicode_class(s, out).or_else(|| perl_class(s, out)) {
        return rest;
    }
    match go_escape(t) {
        Some((c, rest)) => {
            push_literal(out, c);
            rest
        }
        None => {
            // Invalid in Go; passed on so that the regex crate reports it (or reads its own
            // extension).
            let c = t.chars().next().expect("not empty");
            out.push('\\');
            out.push(c);
            &t[c.len_utf8()..]
        }
    }
}

/// A class member character (`s` not empty): an escape or a character; the raw text when
/// Go would reject the escape.
fn class_char(s: &str) -> (Result<char, &str>, &str) {
    if let Some(t) = s.strip_prefix('\\') {
        if let Some((c, rest)) = go_escape(t) {
            return (Ok(c), rest);
        }
        let n = 1 + t.chars().next().map_or(0, char::len_utf8);
        return (Err(&s[..n]), &s[n..]);
    }
    let c = s.chars().next().expect("not empty");
    (Ok(c), &s[c.len_utf8()..])
}

/// A class member from [`class_char`]: the character escaped, or the raw escape.
fn push_member(out: &mut String, m: Result<char, &str>) {
    match m {
        Ok(c) => push_literal(out, c),
        Err(raw) => out.push_str(raw),
    }
}

/// A bracketed class at the start of `s` (which starts with `[`), parsed as Go parses it and
/// re-emitted with every member escaped. Returns the rest.
fn class<'s>(s: &'s str, out: &mut String) -> &'s str {
    out.push('[');
    let mut t = &s[1..];
    if let Some(r) = t.strip_prefix('^') {
        out.push('^');
        t = r;
    }
    let mut first = true;
    loop {
        if t.is_empty() {
            // Unclosed: the regex crate reports it.
            return t;
        }
        if t.starts_with(']') && !first {
            out.push(']');
            return &t[1..];
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
        let (lo, rest) = class_char(t);
        t = rest;
        push_member(out, lo);
        let b = t.as_bytes();
        if b.len() >= 2 && b[0] == b'-' && b[1] != b']' {
            let (hi, rest) = class_char(&t[1..]);
            t = rest;
            out.push('-');
            push_member(out, hi);
        }
    }
}

/// Where each group of one match lies.
enum Groups<'a> {
    /// The default regex over an input this long: groups 0 and 1 both span all of it.
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
        let span = if name.bytes().all(|b| b.is_ascii_digit()) {
            if name.len() > 1 && name.starts_with('0') {
                None
            } else {
                name.parse::<usize>().ok().and_then(|n| groups.get(n))
            }
        } else {
            re.re
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|n| groups.get(n))
        };
        if let Some((s, e)) = span {
            out.push_str(&hay[s..e]);
        }
    }
    out.push_str(rest);
}

/// `template` expanded, borrowed when it has no `$`.
fn expand_cow<'t>(template: &'t str, hay: &str, groups: &Groups<'_>, re: &Regex) -> Cow<'t, str> {
    if !template.contains('$') {
        return Cow::Borrowed(template);
    }
    let mut out = String::new();
    expand(&mut out, template, hay, groups, re);
    Cow::Owned(out)
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

/// One relabeling rule. `Default` is Prometheus's: separator `;`, regex `(.*)`, replacement
/// `$1`, action `replace`, no source labels, no target, modulus 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: Regex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> RelabelConfig {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: Regex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: Action::Replace,
        }
    }
}

impl RelabelConfig {
    /// Prometheus's checks under UTF-8 name validation (the 3.x default).
    pub fn validate(&self) -> Result<(), String> {
        self.validate_with(NameValidation::Utf8)
    }

    /// Prometheus's checks, in its order and wording. A field counts as set when it differs
    /// from its default value (Prometheus compares values too, except that it tells an
    /// explicit `regex: (.*)` from the default; here the two are the same).
    pub fn validate_with(&self, scheme: NameValidation) -> Result<(), String> {
        use Action::*;
        let a = self.action;
        let target = self.target_label.as_str();
        let invalid_target = || {
            format!(
                "{} is invalid 'target_label' for {a} action",
                go_quote(target)
            )
        };
        if a == HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && target.is_empty()
        {
            return Err(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        if a == Replace {
            let ok = if target.contains('$') {
                scheme.is_valid_template(target)
            } else {
                scheme.is_valid_label_name(target)
            };
            if !ok {
                return Err(invalid_target());
            }
        }
        let simple = matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual);
        if simple && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if simple && self.replacement != DEFAULT_REPLACEMENT {
            return Err(format!("'replacement' can not be set for {a} action"));
        }
        if a == LabelMap && !scheme.is_valid_template(&self.replacement) {
            return Err(format!(
                "{} is invalid 'replacement' for {a} action",
                go_quote(&self.replacement)
            ));
        }
        if a == HashMod && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        let default_extras = self.modulus == 0
            && self.separator == DEFAULT_SEPARATOR
            && self.replacement == DEFAULT_REPLACEMENT;
        if matches!(a, KeepEqual | DropEqual) && !(self.regex.is_default() && default_extras) {
            return Err(format!(
                "{a} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && !(self.source_labels.is_empty() && target.is_empty() && default_extras)
        {
            return Err(format!(
                "{a} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

/// A label set being relabeled: Prometheus's `labels.Builder`. Changes are kept as pending
/// sets (in the order first made) and deletes over the untouched base; [`Builder::iter`]
/// yields the base labels still in force, sorted, then the pending sets in order, which is
/// the order `labelmap` applies its copies in.
#[derive(Clone, Debug)]
pub struct Builder<'a> {
    base: &'a Labels,
    add: Vec<Label>,
    del: Vec<String>,
}

impl<'a> Builder<'a> {
    /// Starts from `base`. A label with an empty value counts as absent (and is left out of
    /// the result), as in Prometheus.
    pub fn new(base: &'a Labels) -> Builder<'a> {
        let del = base
            .iter()
            .filter(|l| l.value.is_empty())
            .map(|l| l.name.clone())
            .collect();
        Builder {
            base,
            add: Vec::new(),
            del,
        }
    }

    /// The current value of `name`; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        if let Some(l) = self.add.iter().find(|l| l.name == name) {
            return &l.value;
        }
        if self.del.iter().any(|n| n == name) {
            return "";
        }
        self.base.get(name).unwrap_or("")
    }

    /// Sets `name` to `value`; an empty value deletes the label. An empty name is ignored
    /// (Prometheus would carry it and fail the series later).
    pub fn set(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return self.del(name);
        }
        if name.is_empty() {
            return;
        }
        match self.add.iter_mut().find(|l| l.name == name) {
            Some(l) if l.value != value => value.clone_into(&mut l.value),
            Some(_) => {}
            None => self.add.push(Label {
                name: name.to_string(),
                value: value.to_string(),
            }),
        }
    }

    /// Deletes `name`.
    pub fn del(&mut self, name: &str) {
        self.add.retain(|l| l.name != name);
        if !self.del.iter().any(|n| n == name) {
            self.del.push(name.to_string());
        }
    }

    /// The current labels, in Prometheus's `Range` order (see [`Builder`]).
    pub fn iter(&self) -> impl Iterator<Item = &Label> + '_ {
        self.base
            .iter()
            .filter(|l| !self.del.contains(&l.name) && !self.add.iter().any(|a| a.name == l.name))
            .chain(self.add.iter())
    }

    /// The result: the base itself (cloned) when nothing changed, else the new set.
    pub fn labels(&self) -> Labels {
        let unchanged = self
            .add
            .iter()
            .all(|a| self.base.get(&a.name) == Some(a.value.as_str()))
            && self
                .del
                .iter()
                .all(|n| self.base.get(n).is_none() || self.add.iter().any(|a| a.name == *n));
        if unchanged {
            return self.base.clone();
        }
        let mut v: Vec<Label> = self.iter().cloned().collect();
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Labels::from_sorted(v).expect("relabeled names are non-empty and unique")
    }
}

/// Applies `cfgs` in order to `labels` under UTF-8 name validation. `None` when a rule drops
/// the series (or target); the result may be empty, which the caller judges.
pub fn process(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    process_with(labels, cfgs, NameValidation::Utf8)
}

/// [`process`] under the given name validation (it decides which expanded `replace` targets
/// are label names; a rule whose target is not one does nothing).
pub fn process_with(
    labels: &Labels,
    cfgs: &[RelabelConfig],
    scheme: NameValidation,
) -> Option<Labels> {
    let mut b = Builder::new(labels);
    process_builder(&mut b, cfgs, scheme).then(|| b.labels())
}

/// Applies `cfgs` in order to a builder (Prometheus's `ProcessBuilder`); false when a rule
/// drops the series. The configs are expected to have passed validation; a `hashmod` with
/// modulus 0 does nothing (Prometheus would divide by zero).
pub fn process_builder(
    b: &mut Builder<'_>,
    cfgs: &[RelabelConfig],
    scheme: NameValidation,
) -> bool {
    let mut val = String::new();
    cfgs.iter().all(|cfg| relabel(b, cfg, scheme, &mut val))
}

/// One rule; false to drop. `val` is a scratch buffer for the joined source values.
fn relabel(
    b: &mut Builder<'_>,
    cfg: &RelabelConfig,
    scheme: NameValidation,
    val: &mut String,
) -> bool {
    val.clear();
    for (i, n) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&cfg.separator);
        }
        val.push_str(b.get(n));
    }
    let val = val.as_str();
    let re = &cfg.regex;
    match cfg.action {
        Action::Drop => return !re.is_match(val),
        Action::Keep => return re.is_match(val),
        Action::DropEqual => return b.get(&cfg.target_label) != val,
        Action::KeepEqual => return b.get(&cfg.target_label) == val,
        Action::Replace => replace(b, cfg, scheme, val),
        Action::Lowercase => b.set(&cfg.target_label, &go_to_lower(val)),
        Action::Uppercase => b.set(&cfg.target_label, &go_to_upper(val)),
        Action::HashMod => {
            if cfg.modulus != 0 {
                let d = md5(val.as_bytes());
                let h = u64::from_be_bytes(d[8..].try_into().expect("8 bytes"));
                b.set(&cfg.target_label, &(h % cfg.modulus).to_string());
            }
        }
        Action::LabelMap => {
            let copies: Vec<(String, String)> = b
                .iter()
                .filter(|l| re.is_match(&l.name))
                .map(|l| (re.replace_all(&l.name, &cfg.replacement), l.value.clone()))
                .collect();
            for (name, value) in copies {
                b.set(&name, &value);
            }
        }
        Action::LabelDrop | Action::LabelKeep => {
            let keep = cfg.action == Action::LabelKeep;
            let gone: Vec<String> = b
                .iter()
                .filter(|l| re.is_match(&l.name) != keep)
                .map(|l| l.name.clone())
                .collect();
            for name in gone {
                b.del(&name);
            }
        }
    }
    true
}

/// The `replace` action.
fn replace(b: &mut Builder<'_>, cfg: &RelabelConfig, scheme: NameValidation, val: &str) {
    let re = &cfg.regex;
    let templated = cfg.target_label.contains('$') || cfg.replacement.contains('$');
    // Prometheus's shortcut for setting a fixed label (its outcome equals the general path's
    // for a validated rule, so it is only a speed-up).
    if val.is_empty() && re.is_default() && !templated {
        return b.set(&cfg.target_label, &cfg.replacement);
    }
    let mut locs;
    let groups = if re.all {
        Groups::All(val.len())
    } else if !templated {
        // Neither template reads a group: a yes/no match is enough, and the groups given
        // to the (reference-free) expansions below are never looked at.
        if !re.re.is_match(val) {
            return;
        }
        Groups::All(0)
    } else {
        locs = re.re.capture_locations();
        if re.re.captures_read(&mut locs, val).is_none() {
            return;
        }
        Groups::Locs(&locs)
    };
    let target = expand_cow(&cfg.target_label, val, &groups, re);
    if !scheme.is_valid_label_name(&target) {
        return;
    }
    let value = expand_cow(&cfg.replacement, val, &groups, re);
    b.set(&target, &value);
}

/// Go's `strings.ToLower`: each character by its simple lower-case mapping (Rust's full
/// mapping differs only for `İ`, whose simple mapping is `i`; Go has no final-sigma rule,
/// and neither has `char::to_lowercase`).
fn go_to_lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if !s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Borrowed(s);
        }
        return Cow::Owned(s.to_ascii_lowercase());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{130}' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Cow::Owned(out)
}

/// Go's `strings.ToUpper`: each character by its simple upper-case mapping. Rust's
/// `to_uppercase` is the full mapping; where that has several characters (`ß` → `SS`,
/// ligatures, Greek with iota subscript) the simple mapping is the character itself except
/// for the Greek letters with ypogegrammeni, which map to their title-case forms.
fn go_to_upper(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if !s.bytes().any(|b| b.is_ascii_lowercase()) {
            return Cow::Borrowed(s);
        }
        return Cow::Owned(s.to_ascii_uppercase());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let up = c.to_uppercase();
        if up.len() == 1 {
            out.extend(up);
            continue;
        }
        let simple = match c as u32 {
            0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => {
                char::from_u32(c as u32 + 8).unwrap_or(c)
            }
            0x1FB3 => '\u{1FBC}',
            0x1FC3 => '\u{1FCC}',
            0x1FF3 => '\u{1FFC}',
            _ => c,
        };
        out.push(simple);
    }
    Cow::Owned(out)
}

/// Go's `%q` of a string (`strconv.Quote`), for error messages.
fn go_quote(s: &str) -> String {
    use std::fmt::Write;
    static PRINT: OnceLock<regex::Regex> = OnceLock::new();
    let print = PRINT.get_or_init(|| {
        regex::Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$").expect("print pattern compiles")
    });
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_ascii() || print.is_match(c.encode_utf8(&mut buf)) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    /// A rule: the action, then fields as `name=value` overrides of the default.
    fn rule(action: Action, fields: &[(&str, &str)]) -> RelabelConfig {
        let mut c = RelabelConfig {
            action,
            ..RelabelConfig::default()
        };
        for (k, v) in fields {
            match *k {
                "source" => c.source_labels = v.split(',').map(String::from).collect(),
                "separator" => c.separator = v.to_string(),
                "regex" => c.regex = re(v),
                "modulus" => c.modulus = v.parse().unwrap(),
                "target" => c.target_label = v.to_string(),
                "replacement" => c.replacement = v.to_string(),
                _ => panic!("unknown field {k}"),
            }
        }
        c
    }

    /// Runs validated rules, as Prometheus's tests do.
    fn run(input: &[(&str, &str)], rules: &[RelabelConfig]) -> Option<Labels> {
        for r in rules {
            r.validate().unwrap_or_else(|e| panic!("{r:?}: {e}"));
        }
        process(&ls(input), rules)
    }

    #[test]
    fn actions_parse_case_insensitively() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
            assert_eq!(Action::parse(&a.name().to_uppercase()), Some(a));
            assert_eq!(a.to_string(), a.name());
        }
        assert_eq!(Action::parse("LabelMap"), Some(Action::LabelMap));
        assert_eq!(Action::parse("keepEqual"), Some(Action::KeepEqual));
        // Go's ToLower folds the Kelvin sign to k.
        assert_eq!(Action::parse("\u{212A}EEP"), Some(Action::Keep));
        assert_eq!(Action::parse(""), None);
        assert_eq!(Action::parse("keep "), None);
        assert_eq!(Action::parse("label_map"), None);
        assert_eq!(Action::default(), Action::Replace);
    }

    #[test]
    fn defaults_are_prometheus_defaults() {
        let c = RelabelConfig::default();
        assert_eq!(c.separator, ";");
        assert_eq!(c.regex.as_str(), "(.*)");
        assert!(c.regex.is_default());
        assert_eq!(c.replacement, "$1");
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.modulus, 0);
        assert!(c.source_labels.is_empty() && c.target_label.is_empty());
        assert_eq!(Regex::default(), re("(.*)"));
        assert!(!re("(.+)").is_default());
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
        assert_eq!(r.as_regex().as_str(), "^(?s:f|o)$");
        // A pattern may close the anchoring group itself, as in Go.
        let r = re("a)|(b");
        assert!(r.is_match("axx") && r.is_match("xxb") && !r.is_match("xx"));
    }

    #[test]
    fn bad_regex_reports_the_regex_crate_message() {
        let e = Regex::new("(abc").unwrap_err();
        let Error::Regex { pattern, message } = &e;
        assert_eq!(pattern, "(abc");
        assert!(message.contains("unclosed group"), "{message}");
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
        let t = |p: &str| translate(p).into_owned();
        assert!(matches!(
            translate("^(?s:(.*)_total|up)$"),
            Cow::Borrowed(_)
        ));
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

    #[test]
    fn replace() {
        let out = run(
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            &[rule(
                Action::Replace,
                &[
                    ("source", "a"),
                    ("regex", "f(.*)"),
                    ("target", "d"),
                    ("replacement", "ch${1}-ch${1}"),
                ],
            )],
        );
        assert_eq!(
            out,
            Some(ls(&[
                ("a", "foo"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "choo-choo")
            ]))
        );

        // Two rules, the second reading what the first wrote.
        let out = run(
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            &[
                rule(
                    Action::Replace,
                    &[
                        ("source", "a,b"),
                        ("regex", "f(.*);(.*)r"),
                        ("target", "a"),
                        ("replacement", "b${1}${2}m"),
                    ],
                ),
                rule(
                    Action::Replace,
                    &[
                        ("source", "c,a"),
                        ("regex", "(b).*b(.*)ba(.*)"),
                        ("target", "d"),
                        ("replacement", "$1$2$2$3"),
                    ],
                ),
            ],
        );
        assert_eq!(
            out,
            Some(ls(&[
                ("a", "boobam"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "boooom")
            ]))
        );

        // No match, no change.
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "f"),
                ("target", "b"),
                ("replacement", "bar"),
            ],
        );
        assert_eq!(run(&[("a", "boo")], &[r]), Some(ls(&[("a", "boo")])));

        // An empty result deletes the (expanded) target.
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "(f).*"),
                ("target", "$1"),
                ("replacement", "$2"),
            ],
        );
        assert_eq!(
            run(&[("a", "foo"), ("f", "baz")], &[r]),
            Some(ls(&[("a", "foo")]))
        );

        // A fixed label from no source (the default regex matches the empty value).
        let r = rule(
            Action::Replace,
            &[("target", "env"), ("replacement", "prod")],
        );
        assert_eq!(
            run(&[("a", "1")], &[r]),
            Some(ls(&[("a", "1"), ("env", "prod")]))
        );
        // A missing source with the default replacement deletes the target.
        let r = rule(Action::Replace, &[("source", "missing"), ("target", "a")]);
        assert_eq!(
            run(&[("a", "1"), ("b", "2")], &[r]),
            Some(ls(&[("b", "2")]))
        );
        // A copy.
        let r = rule(Action::Replace, &[("source", "a"), ("target", "b")]);
        assert_eq!(
            run(&[("a", "1")], &[r]),
            Some(ls(&[("a", "1"), ("b", "1")]))
        );

        // Target from a group; an expanded target that is empty does nothing.
        let r = |t: &str, rep: &str| {
            rule(
                Action::Replace,
                &[
                    ("source", "a"),
                    ("regex", "some-([^-]+)-([^,]+)"),
                    ("target", t),
                    ("replacement", rep),
                ],
            )
        };
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("${1}", "${2}")]),
            Some(ls(&[("a", "some-name-value"), ("name", "value")]))
        );
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("${1}", "${3}")]),
            Some(ls(&[("a", "some-name-value")]))
        );
        assert_eq!(
            run(&[("a", "some-name-0")], &[r("${3}", "${1}")]),
            Some(ls(&[("a", "some-name-0")]))
        );
        // $1x names a group "1x": empty.
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("t", "$1x")]),
            Some(ls(&[("a", "some-name-value")]))
        );
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("t", "${1}x$$")]),
            Some(ls(&[("a", "some-name-value"), ("t", "namex$")]))
        );

        // Newlines and UTF-8 names.
        let r = rule(
            Action::Replace,
            &[
                ("source", "utf-8.label"),
                ("regex", "line1.*line2"),
                ("target", "d${1}.ü"),
                ("replacement", "match${1}"),
            ],
        );
        assert_eq!(
            run(&[("utf-8.label", "line1\nline2")], &[r]),
            Some(ls(&[("utf-8.label", "line1\nline2"), ("d.ü", "match")]))
        );
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "(line1).*(?<second>line2)"),
                ("target", "l_$1"),
                ("replacement", "v_$second"),
            ],
        );
        assert_eq!(
            run(&[("a", "line1\nline2")], &[r]),
            Some(ls(&[("a", "line1\nline2"), ("l_line1", "v_line2")]))
        );
    }

    #[test]
    fn replace_respects_name_validation() {
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "(.*)"),
                ("target", "${1}"),
                ("replacement", "x"),
            ],
        );
        let input = ls(&[("a", "b.c")]);
        assert_eq!(
            process_with(&input, std::slice::from_ref(&r), NameValidation::Utf8),
            Some(ls(&[("a", "b.c"), ("b.c", "x")]))
        );
        assert_eq!(
            process_with(&input, &[r], NameValidation::Legacy),
            Some(input)
        );
    }

    #[test]
    fn service_discovery_tags() {
        let r = |regex: &str, t: &str, rep: &str| {
            rule(
                Action::Replace,
                &[
                    ("source", "__meta_sd_tags"),
                    ("regex", regex),
                    ("target", t),
                    ("replacement", rep),
                ],
            )
        };
        let tags = "path:/secret,job:some-job,label:foo=bar";
        let out = run(
            &[("__meta_sd_tags", tags)],
            &[
                r("(?:.+,|^)path:(/[^,]+).*", "__metrics_path__", "${1}"),
                r("(?:.+,|^)job:([^,]+).*", "job", "${1}"),
                r("(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}"),
            ],
        );
        assert_eq!(
            out,
            Some(ls(&[
                ("__meta_sd_tags", tags),
                ("__metrics_path__", "/secret"),
                ("job", "some-job"),
                ("foo", "bar"),
            ]))
        );
    }

    #[test]
    fn keep_and_drop() {
        let drop = |regex: &str| rule(Action::Drop, &[("source", "a"), ("regex", regex)]);
        let keep = |regex: &str| rule(Action::Keep, &[("source", "a"), ("regex", regex)]);
        let foo = [("a", "foo"), ("b", "bar")];
        assert_eq!(run(&foo, &[drop(".*o.*")]), None);
        assert_eq!(run(&foo, &[drop("no-match")]), Some(ls(&foo)));
        assert_eq!(run(&foo, &[drop("f|o")]), Some(ls(&foo)));
        assert_eq!(run(&foo, &[keep("no-match")]), None);
        assert_eq!(run(&foo, &[keep("f.*")]), Some(ls(&foo)));
        // A drop stops the rules after it.
        let later = rule(Action::Replace, &[("target", "x"), ("replacement", "y")]);
        assert_eq!(run(&foo, &[drop("foo"), later]), None);
        // A missing label is the empty value.
        let r = rule(Action::Drop, &[("source", "missing"), ("regex", "")]);
        assert_eq!(run(&foo, &[r]), None);
        // Joined values.
        let r = rule(
            Action::Keep,
            &[
                ("source", "a,missing,b"),
                ("separator", "/"),
                ("regex", "foo//bar"),
            ],
        );
        assert_eq!(run(&foo, &[r]), Some(ls(&foo)));
    }

    #[test]
    fn keepequal_and_dropequal() {
        let input = [
            ("__tmp_port", "1234"),
            ("__port1", "1234"),
            ("__port2", "5678"),
        ];
        let r = |a: Action, t: &str| rule(a, &[("source", "__tmp_port"), ("target", t)]);
        assert_eq!(
            run(&input, &[r(Action::KeepEqual, "__port1")]),
            Some(ls(&input))
        );
        assert_eq!(run(&input, &[r(Action::DropEqual, "__port1")]), None);
        assert_eq!(
            run(&input, &[r(Action::DropEqual, "__port2")]),
            Some(ls(&input))
        );
        assert_eq!(run(&input, &[r(Action::KeepEqual, "__port2")]), None);
        // A missing target equals an empty source value.
        let r = rule(
            Action::KeepEqual,
            &[("source", "nope"), ("target", "missing")],
        );
        assert_eq!(run(&input, &[r]), Some(ls(&input)));
    }

    #[test]
    fn hashmod() {
        // Expected shards from Python: int.from_bytes(md5(v).digest()[8:], "big") % m.
        let r = |src: &str, m: &str| {
            rule(
                Action::HashMod,
                &[("source", src), ("target", "h"), ("modulus", m)],
            )
        };
        let out = run(&[("a", "foo"), ("c", "baz")], &[r("c", "1000")]).unwrap();
        assert_eq!(out.get("h"), Some("976"));
        let out = run(&[("a", "foo\nbar")], &[r("a", "1000")]).unwrap();
        assert_eq!(out.get("h"), Some("734"));
        let out = run(
            &[("a", "a"), ("b", "b")],
            &[r("a,b", &u64::MAX.to_string())],
        )
        .unwrap();
        assert_eq!(out.get("h"), Some("2420134994223480074"));
        let out = run(&[("x", "1")], &[r("missing", "7")]).unwrap();
        assert_eq!(out.get("h"), Some("1"));
        let out = run(&[("x", "1")], &[r("x", "1")]).unwrap();
        assert_eq!(out.get("h"), Some("0"));
        // Sharding a target: 10.132.183.40:80 falls in shard 1 of 3.
        let shard = |n: &str| {
            vec![
                rule(
                    Action::HashMod,
                    &[
                        ("source", "__address__"),
                        ("target", "__tmp_hash"),
                        ("modulus", "3"),
                    ],
                ),
                rule(Action::Keep, &[("source", "__tmp_hash"), ("regex", n)]),
                rule(Action::LabelDrop, &[("regex", "__tmp_hash")]),
            ]
        };
        let target = [("__address__", "10.132.183.40:80")];
        assert_eq!(run(&target, &shard("^0$")), None);
        assert_eq!(run(&target, &shard("1")), Some(ls(&target)));
        // Unvalidated modulus 0 does nothing rather than divide by zero.
        let zero = rule(Action::HashMod, &[("source", "x"), ("target", "h")]);
        assert_eq!(
            process(&ls(&[("x", "1")]), &[zero]),
            Some(ls(&[("x", "1")]))
        );
    }

    #[test]
    fn labelmap() {
        let r = rule(
            Action::LabelMap,
            &[("regex", "(b.*)"), ("replacement", "bar_${1}")],
        );
        assert_eq!(
            run(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")], &[r]),
            Some(ls(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz")
            ]))
        );
        let r = rule(Action::LabelMap, &[("regex", "__meta_(my.*)")]);
        assert_eq!(
            run(
                &[
                    ("a", "foo"),
                    ("__meta_my_bar", "aaa"),
                    ("__meta_my_baz", "bbb"),
                    ("__meta_other", "ccc")
                ],
                &[r]
            ),
            Some(ls(&[
                ("a", "foo"),
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
                ("my_bar", "aaa"),
                ("my_baz", "bbb"),
            ]))
        );
        // Two labels mapped to one name: the later in walking order wins.
        let r = rule(Action::LabelMap, &[("regex", "[ab]"), ("replacement", "c")]);
        assert_eq!(
            run(&[("a", "1"), ("b", "2")], &[r]).unwrap().get("c"),
            Some("2")
        );
    }

    /// Labels changed by earlier rules come after the untouched ones when `labelmap` walks
    /// them (Prometheus's builder order), so on a collision the changed one wins.
    #[test]
    fn labelmap_walks_in_builder_order() {
        let rules = [
            rule(Action::Replace, &[("target", "a_x"), ("replacement", "3")]),
            rule(Action::LabelMap, &[("regex", "[ab]_(x)")]),
        ];
        let out = run(&[("a_x", "1"), ("b_x", "2")], &rules).unwrap();
        assert_eq!(out.get("x"), Some("3"));
        assert_eq!(out.get("a_x"), Some("3"));
    }

    #[test]
    fn labeldrop_and_labelkeep() {
        let input = [("a", "foo"), ("b1", "bar"), ("b2", "baz")];
        let r = rule(Action::LabelKeep, &[("regex", "(b.*)")]);
        assert_eq!(run(&input, &[r]), Some(ls(&[("b1", "bar"), ("b2", "baz")])));
        let r = rule(Action::LabelDrop, &[("regex", "(b.*)")]);
        assert_eq!(run(&input, &[r]), Some(ls(&[("a", "foo")])));
        let r = rule(Action::LabelKeep, &[("regex", "nothing")]);
        assert_eq!(run(&input, &[r]), Some(Labels::new()));
    }

    /// prometheus/prometheus#12283: a label dropped and then set again is present.
    #[test]
    fn issue_12283_drop_then_set() {
        let port = "__meta_kubernetes_pod_container_port_name";
        let ann = "__meta_kubernetes_pod_annotation_XXX_metrics_port";
        let rules = [
            rule(
                Action::LabelDrop,
                &[("regex", "^__meta_kubernetes_pod_container_port_name$")],
            ),
            rule(
                Action::Replace,
                &[
                    ("source", ann),
                    ("regex", "(.+)"),
                    ("target", port),
                    ("replacement", "metrics"),
                ],
            ),
            rule(Action::Keep, &[("source", port), ("regex", "^metrics$")]),
        ];
        assert_eq!(
            run(&[(port, "foo"), (ann, "9091")], &rules),
            Some(ls(&[(ann, "9091"), (port, "metrics")]))
        );
    }

    #[test]
    fn lowercase_and_uppercase() {
        let rules = [
            rule(Action::Uppercase, &[("source", "foo"), ("target", "up")]),
            rule(Action::Lowercase, &[("source", "foo"), ("target", "low")]),
        ];
        assert_eq!(
            run(&[("foo", "bAr123Foo")], &rules),
            Some(ls(&[
                ("foo", "bAr123Foo"),
                ("low", "bar123foo"),
                ("up", "BAR123FOO")
            ]))
        );
        // Go's simple case mappings, not Rust's full ones.
        assert_eq!(go_to_upper("straße ﬁ"), "STRAßE ﬁ");
        assert_eq!(
            go_to_upper("\u{1FB3}\u{1F80}\u{1FBC}é"),
            "\u{1FBC}\u{1F88}\u{1FBC}É"
        );
        assert_eq!(go_to_lower("İSTANBUL"), "istanbul");
        assert_eq!(go_to_lower("ΟΔΟΣ"), "οδοσ");
        assert!(matches!(go_to_lower("abc"), Cow::Borrowed(_)));
        // An empty value deletes the target.
        let r = rule(
            Action::Lowercase,
            &[("source", "missing"), ("target", "foo")],
        );
        assert_eq!(
            run(&[("foo", "x"), ("y", "1")], &[r]),
            Some(ls(&[("y", "1")]))
        );
    }

    #[test]
    fn builder_semantics() {
        let base = ls(&[("a", "1"), ("b", ""), ("c", "3")]);
        // An empty value is no label: it is left out as soon as anything is built.
        assert_eq!(process(&base, &[]), Some(ls(&[("a", "1"), ("c", "3")])));
        let clean = ls(&[("a", "1"), ("c", "3")]);
        let mut b = Builder::new(&clean);
        b.set("a", "1");
        b.del("zz");
        assert_eq!(b.labels(), clean);
        b.set("", "ignored");
        b.del("a");
        assert_eq!(b.get("a"), "");
        b.set("a", "2");
        b.set("d", "4");
        b.set("c", "");
        let order: Vec<_> = b.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(order, ["a", "d"]);
        assert_eq!(b.labels(), ls(&[("a", "2"), ("d", "4")]));
    }

    #[test]
    fn validation_messages() {
        let err = |c: RelabelConfig| c.validate().unwrap_err();
        let err_legacy = |c: RelabelConfig| c.validate_with(NameValidation::Legacy).unwrap_err();
        assert_eq!(
            err(rule(Action::HashMod, &[("target", "h")])),
            "relabel configuration for hashmod requires non-zero modulus"
        );
        for a in [
            Action::Replace,
            Action::HashMod,
            Action::Lowercase,
            Action::Uppercase,
            Action::KeepEqual,
            Action::DropEqual,
        ] {
            let mut c = rule(a, &[]);
            c.modulus = 1;
            assert_eq!(
                err(c),
                format!("relabel configuration for {a} action requires 'target_label' value")
            );
        }
        // UTF-8 names: anything non-empty is a valid target.
        for t in ["${3}", "0${3}", "-${3}", "a.b", "1"] {
            rule(Action::Replace, &[("target", t)]).validate().unwrap();
            rule(Action::Lowercase, &[("target", t)])
                .validate()
                .unwrap();
        }
        assert_eq!(
            err_legacy(rule(Action::Lowercase, &[("target", "${3}")])),
            "\"${3}\" is invalid 'target_label' for lowercase action"
        );
        assert_eq!(
            err_legacy(rule(Action::Replace, &[("target", "1a")])),
            "\"1a\" is invalid 'target_label' for replace action"
        );
        assert_eq!(
            err_legacy(rule(Action::Replace, &[("target", "bar.foo${1}bar")])),
            "\"bar.foo${1}bar\" is invalid 'target_label' for replace action"
        );
        assert_eq!(
            err_legacy(rule(
                Action::HashMod,
                &[("target", "a-b"), ("modulus", "2")]
            )),
            "\"a-b\" is invalid 'target_label' for hashmod action"
        );
        assert_eq!(
            err(rule(
                Action::Uppercase,
                &[("target", "t"), ("replacement", "x")]
            )),
            "'replacement' can not be set for uppercase action"
        );
        assert_eq!(
            err(rule(
                Action::KeepEqual,
                &[("target", "t"), ("replacement", "")]
            )),
            "'replacement' can not be set for keepequal action"
        );
        assert_eq!(
            err(rule(Action::LabelMap, &[("replacement", "")])),
            "\"\" is invalid 'replacement' for labelmap action"
        );
        assert_eq!(
            err_legacy(rule(Action::LabelMap, &[("replacement", "a.$1")])),
            "\"a.$1\" is invalid 'replacement' for labelmap action"
        );
        rule(
            Action::LabelMap,
            &[
                ("regex", "__meta_kubernetes_pod_label_(strimzi_io_.+)"),
                ("replacement", "$1"),
            ],
        )
        .validate_with(NameValidation::Legacy)
        .unwrap();
        rule(
            Action::LabelMap,
            &[("regex", "__meta_(.+)"), ("replacement", "${1}")],
        )
        .validate_with(NameValidation::Legacy)
        .unwrap();
        for fields in [[("regex", "x")], [("modulus", "3")], [("separator", ",")]] {
            let mut f = fields.to_vec();
            f.push(("target", "t"));
            assert_eq!(
                err(rule(Action::DropEqual, &f)),
                "dropequal action requires only 'source_labels' and `target_label`, and no other fields"
            );
        }
        for fields in [
            ("source", "a"),
            ("target", "t"),
            ("modulus", "3"),
            ("separator", ","),
            ("replacement", "x"),
        ] {
            assert_eq!(
                err(rule(Action::LabelKeep, &[fields])),
                "labelkeep action requires only 'regex', and no other fields"
            );
        }
        assert_eq!(
            err(rule(Action::LabelDrop, &[("replacement", "")])),
            "labeldrop action requires only 'regex', and no other fields"
        );
        // Fine as they are.
        for c in [
            rule(Action::Keep, &[("source", "a"), ("regex", "x")]),
            rule(Action::Drop, &[]),
            rule(Action::LabelDrop, &[("regex", "x")]),
            rule(Action::KeepEqual, &[("source", "a,b"), ("target", "t")]),
            rule(
                Action::HashMod,
                &[("source", "a"), ("target", "t"), ("modulus", "4")],
            ),
            rule(Action::Replace, &[("target", "t"), ("replacement", "")]),
        ] {
            c.validate_with(NameValidation::Legacy).unwrap();
        }
        // Names are quoted as Go's %q quotes them.
        assert_eq!(
            err_legacy(rule(Action::Replace, &[("target", "a\nb\u{200b}é")])),
            "\"a\\nb\\u200bé\" is invalid 'target_label' for replace action"
        );
    }

    /// The legacy target rule: letters, digits, `_` and `$` references, not starting with a
    /// digit (the cases of Prometheus's TestTargetLabelLegacyValidity, and a few more).
    #[test]
    fn legacy_template_names() {
        let v = |s: &str| NameValidation::Legacy.is_valid_template(s);
        for s in [
            "label",
            "label${1}",
            "${1}label",
            "${1}",
            "$1",
            "asd$2asd",
            "_${1}_",
            "foo${bar}foo",
            "$a$b",
        ] {
            assert!(v(s), "{s}");
        }
        for s in [
            "-label",
            "${",
            "$",
            "${}",
            "foo${",
            "-foo${1}bar-",
            "bar.foo${1}bar",
            "1${a}",
            "",
        ] {
            assert!(!v(s), "{s}");
        }
        assert!(NameValidation::Utf8.is_valid_template("${"));
        assert_eq!(
            NameValidation::parse("legacy"),
            Some(NameValidation::Legacy)
        );
        assert_eq!(NameValidation::parse("utf8"), Some(NameValidation::Utf8));
        assert_eq!(NameValidation::parse("UTF8"), None);
    }

    #[test]
    fn quoting_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\n\t\x01\x7f"), r#""\n\t\x01\x7f""#);
        assert_eq!(go_quote("é ü\u{1F600}"), "\"é ü\u{1F600}\"");
        assert_eq!(
            go_quote("\u{200b}\u{a0}\u{e000}"),
            r#""\u200b\u00a0\ue000""#
        );
        assert_eq!(go_quote("\u{F0000}"), r#""\U000f0000""#);
    }

    /// The Kubernetes pod rules of Prometheus's relabel benchmark, end to end.
    #[test]
    fn kubernetes_pod_rules() {
        let r = rule;
        let rules = vec![
            r(Action::Keep, &[("source", "__meta_kubernetes_pod_container_port_name"), ("regex", ".*-metrics")]),
            r(Action::Drop, &[("source", "__meta_kubernetes_pod_label_name"), ("regex", "")]),
            r(Action::Drop, &[("source", "__meta_kubernetes_pod_phase"), ("regex", "Succeeded|Failed")]),
            r(Action::Replace, &[("source", "__meta_kubernetes_pod_annotation_prometheus_io_scheme"), ("target", "__scheme__"), ("regex", "(https?)")]),
            r(Action::Replace, &[("source", "__address__,__meta_kubernetes_pod_annotation_prometheus_io_port"), ("target", "__address__"), ("regex", r"(.+?)(\:\d+)?;(\d+)"), ("replacement", "$1:$3")]),
            r(Action::LabelMap, &[("regex", "__meta_kubernetes_pod_label_prometheus_io_label_(.+)")]),
            r(Action::Replace, &[("source", "__meta_kubernetes_namespace,__meta_kubernetes_pod_label_name"), ("separator", "/"), ("target", "job")]),
            r(Action::Replace, &[("source", "__meta_kubernetes_pod_name,__meta_kubernetes_pod_container_name,__meta_kubernetes_pod_container_port_name"), ("separator", ":"), ("target", "instance")]),
            r(Action::Replace, &[("target", "cluster"), ("replacement", "dev-us-central-0")]),
            r(Action::LabelDrop, &[("regex", "__meta_.*")]),
        ];
        let input = [
            ("__address__", "10.132.183.40:80"),
            ("__meta_kubernetes_namespace", "loki"),
            (
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
                "3100",
            ),
            ("__meta_kubernetes_pod_container_name", "promtail"),
            ("__meta_kubernetes_pod_container_port_name", "http-metrics"),
            ("__meta_kubernetes_pod_label_name", "promtail"),
            (
                "__meta_kubernetes_pod_label_prometheus_io_label_team",
                "obs",
            ),
            ("__meta_kubernetes_pod_name", "promtail-jgtr7"),
            ("__meta_kubernetes_pod_phase", "Running"),
            ("__scheme__", "http"),
            ("job", "kubernetes-pods"),
        ];
        assert_eq!(
            run(&input, &rules),
            Some(ls(&[
                ("__address__", "10.132.183.40:3100"),
                ("__scheme__", "http"),
                ("cluster", "dev-us-central-0"),
                ("instance", "promtail-jgtr7:promtail:http-metrics"),
                ("job", "loki/promtail"),
                ("team", "obs"),
            ]))
        );
        let mut failed = input.to_vec();
        failed.retain(|(n, _)| *n != "__meta_kubernetes_pod_phase");
        failed.push(("__meta_kubernetes_pod_phase", "Failed"));
        assert_eq!(run(&failed, &rules), None);
    }
}
