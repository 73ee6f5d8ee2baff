//! The streaming exposition parser: a bounded line reader and a winnow grammar for one line.
//!
//! Each call to [`Parser::next_entry`] reads lines until one yields an [`Entry`] (comments and
//! blank lines of the text format are skipped), checks it against the family rules
//! (`rules.rs`) and returns it borrowed from the parser's buffers. Label names and values are
//! kept as spans into the line; only values with escapes are copied (unescaped) into a scratch
//! buffer, so a sample costs no allocation.
//!
//! Grammar differences between the formats:
//!
//! | | text 0.0.4 | OpenMetrics |
//! |---|---|---|
//! | separators | one or more blanks or tabs, leading and trailing ones allowed | exactly one space |
//! | `#` lines | `HELP`/`TYPE`, anything else is a comment | `HELP`/`TYPE`/`UNIT`/`EOF` only |
//! | blank lines | ignored | an error |
//! | label sets | blanks allowed inside, trailing comma allowed | neither |
//! | values | Go `ParseFloat` (hex floats too) | decimal, `Inf`, `NaN` |
//! | timestamps | integer milliseconds | decimal seconds |
//! | exemplars | no | `# {labels} value [timestamp]` |
//! | end | end of input | `# EOF`, then nothing |

use std::io::{self, BufRead};

use winnow::combinator::alt;
use winnow::error::{AddContext, ParserError};
use winnow::stream::Stream;
use winnow::token::{literal, one_of, take_till, take_while};
use winnow::Parser as _;

use super::number::{parse_go_float, parse_om_timestamp, parse_om_value, parse_text_timestamp};
use super::rules::{Rule, Rules, SampleFacts};
use super::{Error, ErrorKind, Expect, Format, Found, ParseError, Strictness, MAX_LINE};
use crate::model::hash::fold_hasher;
use crate::model::{Labels, LabelsError, MetricType, METRIC_NAME};

/// One item of an exposition.
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    Help { name: &'a str, help: &'a str },
    Type { name: &'a str, kind: MetricType },
    Unit { name: &'a str, unit: &'a str },
    Sample(SampleRef<'a>),
}

/// A sample as read, borrowed from the parser.
#[derive(Clone, Copy, Debug)]
pub struct SampleRef<'a> {
    /// The sample's own name (`a_bucket`, `a_total`, ...).
    pub name: &'a str,
    /// The name and label set exactly as written: equal texts are the same series (a cheap
    /// cache key; different spellings of one series differ).
    pub series: &'a str,
    /// The labels in input order (the metric name is not among them).
    pub labels: LabelsRef<'a>,
    pub value: f64,
    /// Milliseconds since the epoch, if the line had a timestamp.
    pub timestamp: Option<i64>,
    pub exemplar: Option<Exemplar<'a>>,
    /// The metric family the sample belongs to (`a` for `a_bucket` of histogram `a`).
    pub family: &'a str,
    /// The family's type (`Unknown` where none was declared).
    pub kind: MetricType,
}

/// An OpenMetrics exemplar.
#[derive(Clone, Copy, Debug)]
pub struct Exemplar<'a> {
    pub labels: LabelsRef<'a>,
    pub value: f64,
    pub timestamp: Option<i64>,
}

/// Labels of a sample or exemplar, in input order, borrowed from the parser.
#[derive(Clone, Copy)]
pub struct LabelsRef<'a> {
    line: &'a str,
    unesc: &'a str,
    spans: &'a [LabelSpan],
}

impl std::fmt::Debug for LabelsRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> LabelsRef<'a> {
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (line, unesc) = (self.line, self.unesc);
        self.spans
            .iter()
            .map(move |l| (l.name.get(line, unesc), l.value.get(line, unesc)))
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// A hash of the label set that ignores input order, leaving out the label `skip`.
    pub fn set_hash(&self, skip: Option<&str>) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut acc: u64 = 0;
        for (n, v) in self.iter() {
            if Some(n) == skip {
                continue;
            }
            let mut h = fold_hasher();
            n.hash(&mut h);
            v.hash(&mut h);
            acc = acc.wrapping_add(h.finish());
        }
        acc
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// An owned, sorted label set with `__name__` set to `name` (when given).
    pub fn to_labels(&self, name: Option<&str>) -> Result<Labels, LabelsError> {
        Labels::from_pairs(
            name.map(|n| (METRIC_NAME, n))
                .into_iter()
                .chain(self.iter()),
        )
    }
}

/// A piece of the current line, or of the scratch buffer of unescaped strings.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    start: u32,
    end: u32,
    owned: bool,
}

impl Span {
    fn get<'a>(self, line: &'a str, unesc: &'a str) -> &'a str {
        let s = if self.owned { unesc } else { line };
        &s[self.start as usize..self.end as usize]
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct LabelSpan {
    name: Span,
    value: Span,
}

#[derive(Default)]
struct Scratch {
    unesc: String,
    labels: Vec<LabelSpan>,
    exemplar: Vec<LabelSpan>,
}

/// A parsed line, as spans (no borrows, so the reader loop can go on).
#[derive(Clone, Copy)]
enum Line {
    Skip,
    Eof,
    Help { name: Span, help: Span },
    Type { name: Span, kind: MetricType },
    Unit { name: Span, unit: Span },
    Sample(RawSample),
}

#[derive(Clone, Copy)]
struct RawSample {
    name: Option<Span>,
    /// Length of the line's leading name and label set, as written.
    series_len: usize,
    value: f64,
    ts: Option<i64>,
    exemplar: Option<(f64, Option<i64>)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Lines,
    AfterEof,
    Done,
}

/// The reader's buffered bytes, refilled when empty; `None` at the end of input.
fn fill<R: BufRead>(r: &mut R) -> Result<Option<&[u8]>, Error> {
    loop {
        match r.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(e)),
            Ok(_) => break,
        }
    }
    // Buffered now: a second call returns the same bytes without reading.
    let b = r.fill_buf().map_err(Error::Io)?;
    Ok((!b.is_empty()).then_some(b))
}

/// Reads entries from an exposition, one line at a time.
pub struct Parser<R> {
    reader: R,
    format: Format,
    line: String,
    lineno: u64,
    scratch: Scratch,
    rules: Rules,
    phase: Phase,
    /// After an error in the middle of a line: whether [`Parser::recover`] may go on, and
    /// whether the rest of an over-long line must be skipped first.
    recoverable: bool,
    discard_line: bool,
}

impl<R: BufRead> Parser<R> {
    /// A parser enforcing every rule of the format ([`Strictness::Spec`]).
    pub fn new(reader: R, format: Format) -> Parser<R> {
        Parser::with_strictness(reader, format, Strictness::Spec)
    }

    pub fn with_strictness(reader: R, format: Format, strictness: Strictness) -> Parser<R> {
        Parser {
            reader,
            format,
            line: String::new(),
            lineno: 0,
            scratch: Scratch::default(),
            rules: Rules::new(format, strictness),
            phase: Phase::Lines,
            recoverable: false,
            discard_line: false,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The number of lines read so far.
    pub fn line_number(&self) -> u64 {
        self.lineno
    }

    /// The next entry; `None` at the end of a valid input. After an error, returns `None`.
    #[allow(clippy::should_implement_trait)]
    pub fn next_entry(&mut self) -> Option<Result<Entry<'_>, Error>> {
        match self.advance() {
            Ok(Some(line)) => Some(Ok(self.entry(line))),
            Ok(None) => None,
            Err(e) => {
                self.recoverable = self.phase == Phase::Lines && matches!(e, Error::Parse(_));
                self.discard_line = matches!(
                    e,
                    Error::Parse(ParseError {
                        kind: ErrorKind::LineTooLong,
                        ..
                    })
                );
                self.phase = Phase::Done;
                Some(Err(e))
            }
        }
    }

    /// After an error on one line, goes on with the next line (for callers that skip invalid
    /// lines). Returns false when the error ended the input: an I/O error, or a rule checked at
    /// the end (a missing `# EOF`).
    pub fn recover(&mut self) -> bool {
        if self.phase != Phase::Done || !self.recoverable {
            return false;
        }
        self.recoverable = false;
        self.phase = Phase::Lines;
        true
    }

    fn advance(&mut self) -> Result<Option<Line>, Error> {
        let om = self.format == Format::OpenMetrics;
        loop {
            if self.phase == Phase::Done {
                return Ok(None);
            }
            if !self.read_line()? {
                self.phase = Phase::Done;
                if om && !self.rules.saw_eof() {
                    return Err(self.rule_err(0, Rule::MissingEof));
                }
                self.rules.finish().map_err(|r| self.rule_err(0, r))?;
                return Ok(None);
            }
            if self.phase == Phase::AfterEof {
                return Err(self.rule_err(0, Rule::TextAfterEof));
            }
            self.scratch.unesc.clear();
            self.scratch.labels.clear();
            self.scratch.exemplar.clear();
            let parsed = {
                let mut cx = Cx {
                    len: self.line.len(),
                    om,
                    sc: &mut self.scratch,
                };
                let mut input = self.line.as_str();
                if om {
                    om_line(&mut cx, &mut input)
                } else {
                    text_line(&mut cx, &mut input)
                }
            };
            let line = match parsed {
                Ok(l) => l,
                Err(e) => return Err(self.line_err(e)),
            };
            match line {
                Line::Skip => continue,
                Line::Eof => {
                    self.rules.set_eof();
                    self.phase = Phase::AfterEof;
                    continue;
                }
                Line::Help { .. } | Line::Type { .. } | Line::Unit { .. } => {
                    let (l, u) = (self.line.as_str(), self.scratch.unesc.as_str());
                    let res = match line {
                        Line::Help { name, .. } => self.rules.help(name.get(l, u)),
                        Line::Type { name, kind } => self.rules.kind(name.get(l, u), kind),
                        Line::Unit { name, unit } => {
                            self.rules.unit(name.get(l, u), unit.get(l, u))
                        }
                        Line::Skip | Line::Eof | Line::Sample(_) => Ok(()),
                    };
                    res.map_err(|r| self.rule_err(0, r))?;
                    return Ok(Some(line));
                }
                Line::Sample(mut s) => {
                    self.finish_sample(&mut s)?;
                    return Ok(Some(Line::Sample(s)));
                }
            }
        }
    }

    /// Resolves the metric name, checks label names, and applies the family rules.
    fn finish_sample(&mut self, s: &mut RawSample) -> Result<(), Error> {
        self.check_sample(s).map_err(|(at, r)| self.rule_err(at, r))
    }

    fn check_sample(&mut self, s: &mut RawSample) -> Result<(), (usize, Rule)> {
        let line = self.line.as_str();
        let sc = &mut self.scratch;
        let name_pos = sc
            .labels
            .iter()
            .position(|l| l.name.get(line, &sc.unesc) == METRIC_NAME);
        match (s.name, name_pos) {
            (None, Some(i)) => s.name = Some(sc.labels.remove(i).value),
            (None, None) => return Err((0, Rule::MissingMetricName)),
            (Some(_), Some(i)) => return Err((sc.labels[i].name.start as usize, Rule::NameTwice)),
            (Some(_), None) => {}
        }
        let sc = &self.scratch;
        for set in [&sc.labels, &sc.exemplar] {
            if let Some(dup) = duplicate(set, line, &sc.unesc) {
                let n = dup.get(line, &sc.unesc).to_string();
                let at = if dup.owned { 0 } else { dup.start as usize };
                return Err((at, Rule::DuplicateLabel(n)));
            }
        }
        let name = s.name.unwrap_or_default().get(line, &sc.unesc);
        if name.is_empty() {
            return Err((0, Rule::MissingMetricName));
        }
        let exemplar_chars = s.exemplar.map(|_| {
            sc.exemplar
                .iter()
                .map(|l| {
                    l.name.get(line, &sc.unesc).chars().count()
                        + l.value.get(line, &sc.unesc).chars().count()
                })
                .sum()
        });
        let facts = SampleFacts {
            name,
            labels: LabelsRef {
                line,
                unesc: &sc.unesc,
                spans: &sc.labels,
            },
            value: s.value,
            ts: s.ts,
            exemplar_chars,
        };
        self.rules.sample(&facts).map_err(|r| (0, r))
    }

    fn entry(&self, line: Line) -> Entry<'_> {
        let (l, u) = (self.line.as_str(), self.scratch.unesc.as_str());
        match line {
            Line::Help { name, help } => Entry::Help {
                name: name.get(l, u),
                help: help.get(l, u),
            },
            Line::Type { name, kind } => Entry::Type {
                name: name.get(l, u),
                kind,
            },
            Line::Unit { name, unit } => Entry::Unit {
                name: name.get(l, u),
                unit: unit.get(l, u),
            },
            Line::Sample(s) => {
                let (family, kind) = self.rules.family();
                Entry::Sample(SampleRef {
                    name: s.name.unwrap_or_default().get(l, u),
                    series: l.get(..s.series_len).unwrap_or(""),
                    labels: LabelsRef {
                        line: l,
                        unesc: u,
                        spans: &self.scratch.labels,
                    },
                    value: s.value,
                    timestamp: s.ts,
                    exemplar: s.exemplar.map(|(value, timestamp)| Exemplar {
                        labels: LabelsRef {
                            line: l,
                            unesc: u,
                            spans: &self.scratch.exemplar,
                        },
                        value,
                        timestamp,
                    }),
                    family,
                    kind,
                })
            }
            Line::Skip | Line::Eof => unreachable!("skipped lines are not entries"),
        }
    }

    /// Reads the next line (without its newline) into `self.line`; false at end of input.
    fn read_line(&mut self) -> Result<bool, Error> {
        if self.discard_line {
            self.discard_line = false;
            while let Some(avail) = fill(&mut self.reader)? {
                let (n, done) = match avail.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (avail.len(), false),
                };
                self.reader.consume(n);
                if done {
                    break;
                }
            }
        }
        let mut buf = std::mem::take(&mut self.line).into_bytes();
        buf.clear();
        let mut any = false;
        while let Some(avail) = fill(&mut self.reader)? {
            any = true;
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            if buf.len() + take > MAX_LINE {
                self.lineno += 1;
                return Err(Error::Parse(ParseError {
                    line: self.lineno,
                    column: 1,
                    kind: ErrorKind::LineTooLong,
                }));
            }
            buf.extend_from_slice(&avail[..take]);
            self.reader.consume(if done { take + 1 } else { take });
            if done {
                break;
            }
        }
        if !any {
            self.line = String::from_utf8(buf).unwrap_or_default();
            return Ok(false);
        }
        self.lineno += 1;
        if self.format == Format::Text && buf.last() == Some(&b'\r') {
            buf.pop();
        }
        match String::from_utf8(buf) {
            Ok(s) => {
                self.line = s;
                Ok(true)
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let column = String::from_utf8_lossy(&e.as_bytes()[..valid])
                    .chars()
                    .count()
                    + 1;
                Err(Error::Parse(ParseError {
                    line: self.lineno,
                    column,
                    kind: ErrorKind::InvalidUtf8,
                }))
            }
        }
    }

    fn column(&self, byte: usize) -> usize {
        let b = byte.min(self.line.len());
        let b = (0..=b)
            .rev()
            .find(|&i| self.line.is_char_boundary(i))
            .unwrap_or(0);
        self.line[..b].chars().count() + 1
    }

    fn rule_err(&self, at: usize, rule: Rule) -> Error {
        Error::Parse(ParseError {
            line: self.lineno,
            column: self.column(at),
            kind: ErrorKind::Rule(rule),
        })
    }

    fn line_err(&self, e: PErr) -> Error {
        let at = self.line.len().saturating_sub(e.remaining);
        let kind = match e.rule {
            Some(r) => ErrorKind::Rule(r),
            None => {
                let rest = &self.line[at..];
                let found = if e.token_len > 0 {
                    Found::Token(rest[..e.token_len.min(rest.len())].to_string())
                } else {
                    match rest.chars().next() {
                        None => Found::EndOfLine,
                        Some(c) => Found::Char(c),
                    }
                };
                ErrorKind::Syntax {
                    expected: e.expect.unwrap_or(Expect::EndOfLine),
                    found,
                }
            }
        };
        Error::Parse(ParseError {
            line: self.lineno,
            column: self.column(at),
            kind,
        })
    }
}

fn duplicate(set: &[LabelSpan], line: &str, unesc: &str) -> Option<Span> {
    if set.len() < 2 {
        return None;
    }
    if set.len() <= 16 {
        for (i, a) in set.iter().enumerate() {
            let an = a.name.get(line, unesc);
            if set[..i].iter().any(|b| b.name.get(line, unesc) == an) {
                return Some(a.name);
            }
        }
        return None;
    }
    let mut names: Vec<(&str, Span)> = set
        .iter()
        .map(|l| (l.name.get(line, unesc), l.name))
        .collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    names.windows(2).find(|w| w[0].0 == w[1].0).map(|w| w[1].1)
}

// ---- the grammar -------------------------------------------------------------------------

/// The grammar's error: where (as the length of the input left) and what was expected.
#[derive(Debug)]
struct PErr {
    remaining: usize,
    expect: Option<Expect>,
    token_len: usize,
    rule: Option<Rule>,
}

impl PErr {
    fn at(i: &str, expect: Expect) -> PErr {
        PErr {
            remaining: i.len(),
            expect: Some(expect),
            token_len: 0,
            rule: None,
        }
    }

    fn token(remaining: usize, len: usize, expect: Expect) -> PErr {
        PErr {
            remaining,
            expect: Some(expect),
            token_len: len,
            rule: None,
        }
    }
}

impl<'i> ParserError<&'i str> for PErr {
    type Inner = PErr;

    fn from_input(input: &&'i str) -> PErr {
        PErr {
            remaining: input.len(),
            expect: None,
            token_len: 0,
            rule: None,
        }
    }

    fn into_inner(self) -> Result<PErr, PErr> {
        Ok(self)
    }
}

impl<'i> AddContext<&'i str, Expect> for PErr {
    fn add_context(
        mut self,
        _input: &&'i str,
        _start: &<&'i str as Stream>::Checkpoint,
        context: Expect,
    ) -> PErr {
        self.expect.get_or_insert(context);
        self
    }
}

type PResult<T> = Result<T, PErr>;

struct Cx<'s> {
    len: usize,
    om: bool,
    sc: &'s mut Scratch,
}

impl Cx<'_> {
    fn span(&self, before: usize, len: usize) -> Span {
        let start = (self.len - before) as u32;
        Span {
            start,
            end: start + len as u32,
            owned: false,
        }
    }
}

fn metric_name<'i>(i: &mut &'i str) -> PResult<&'i str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':'),
        take_while(0.., |c: char| {
            c.is_ascii_alphanumeric() || c == '_' || c == ':'
        }),
    )
        .take()
        .context(Expect::MetricName)
        .parse_next(i)
}

fn label_name<'i>(i: &mut &'i str) -> PResult<&'i str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .context(Expect::LabelName)
        .parse_next(i)
}

/// Blanks and tabs (text format only; OpenMetrics has no optional whitespace).
fn blanks(cx: &Cx, i: &mut &str) {
    if !cx.om {
        *i = i.trim_start_matches([' ', '\t']);
    }
}

/// The separator between tokens: one space (OpenMetrics) or a run of blanks and tabs (text).
fn sep(cx: &Cx, i: &mut &str) -> PResult<()> {
    if cx.om {
        literal(' ').void().context(Expect::Space).parse_next(i)
    } else {
        take_while(1.., [' ', '\t'])
            .void()
            .context(Expect::Space)
            .parse_next(i)
    }
}

/// A token up to the next blank or tab (may be empty).
fn token<'i>(i: &mut &'i str) -> PResult<&'i str> {
    take_till(0.., [' ', '\t']).parse_next(i)
}

/// A double-quoted string with `\\`, `\"` and `\n` escapes (other escapes are kept as they are).
fn quoted(cx: &mut Cx, i: &mut &str, expect: Expect) -> PResult<Span> {
    let before = i.len();
    literal('"').context(expect).parse_next(i)?;
    let b = i.as_bytes();
    let plain = b
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .unwrap_or(b.len());
    if plain < b.len() && b[plain] == b'"' {
        let sp = cx.span(before - 1, plain);
        *i = &i[plain + 1..];
        return Ok(sp);
    }
    let ustart = cx.sc.unesc.len();
    let mut j = plain;
    cx.sc.unesc.push_str(&i[..j]);
    loop {
        match b.get(j) {
            None => {
                // Unterminated: report at the opening quote.
                return Err(PErr {
                    remaining: before,
                    expect: Some(expect),
                    token_len: 0,
                    rule: Some(Rule::UnterminatedString),
                });
            }
            Some(b'"') => break,
            Some(b'\\') => {
                match b.get(j + 1) {
                    Some(b'\\') => cx.sc.unesc.push('\\'),
                    Some(b'"') => cx.sc.unesc.push('"'),
                    Some(b'n') => cx.sc.unesc.push('\n'),
                    Some(_) => {
                        cx.sc.unesc.push('\\');
                        j += 1;
                        continue;
                    }
                    None => {
                        j += 1;
                        continue;
                    }
                }
                j += 2;
            }
            Some(_) => {
                let run = b[j..]
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\')
                    .unwrap_or(b.len() - j);
                cx.sc.unesc.push_str(&i[j..j + run]);
                j += run;
            }
        }
    }
    *i = &i[j + 1..];
    Ok(Span {
        start: ustart as u32,
        end: cx.sc.unesc.len() as u32,
        owned: true,
    })
}

/// A metric or label name in a metadata line or label set: bare or quoted (UTF-8, non-empty).
fn any_name(cx: &mut Cx, i: &mut &str, metric: bool) -> PResult<(Span, bool)> {
    let expect = if metric {
        Expect::MetricName
    } else {
        Expect::LabelName
    };
    let before = i.len();
    if i.starts_with('"') {
        let sp = quoted(cx, i, expect)?;
        if sp.start == sp.end {
            return Err(PErr::token(before, 2, expect));
        }
        return Ok((sp, true));
    }
    let n = if metric {
        metric_name(i)?
    } else {
        label_name(i)?
    };
    Ok((cx.span(before, n.len()), false))
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Labels,
    Exemplar,
}

/// `{name="value",...}`, optionally with a quoted metric name as the first item.
fn label_set(
    cx: &mut Cx,
    i: &mut &str,
    target: Target,
    name_slot: &mut Option<Span>,
) -> PResult<()> {
    let allow_name = target == Target::Labels && name_slot.is_none();
    literal('{').context(Expect::LabelName).parse_next(i)?;
    blanks(cx, i);
    if let Some(r) = i.strip_prefix('}') {
        *i = r;
        return Ok(());
    }
    let mut first = true;
    loop {
        let (name, was_quoted) = any_name(cx, i, false)?;
        blanks(cx, i);
        if let Some(r) = i.strip_prefix('=') {
            *i = r;
            blanks(cx, i);
            let value = quoted(cx, i, Expect::LabelValue)?;
            let v = match target {
                Target::Labels => &mut cx.sc.labels,
                Target::Exemplar => &mut cx.sc.exemplar,
            };
            v.push(LabelSpan { name, value });
        } else if was_quoted && first && allow_name {
            *name_slot = Some(name);
        } else {
            return Err(PErr::at(i, Expect::Equals));
        }
        first = false;
        blanks(cx, i);
        match i.as_bytes().first() {
            Some(b',') => {
                *i = &i[1..];
                blanks(cx, i);
                if !cx.om {
                    if let Some(r) = i.strip_prefix('}') {
                        *i = r;
                        return Ok(());
                    }
                }
            }
            Some(b'}') => {
                *i = &i[1..];
                return Ok(());
            }
            _ => return Err(PErr::at(i, Expect::CommaOrBrace)),
        }
    }
}

fn value(cx: &Cx, i: &mut &str, expect: Expect) -> PResult<f64> {
    let before = i.len();
    let t = token(i)?;
    let v = if cx.om {
        parse_om_value(t)
    } else {
        parse_go_float(t)
    };
    v.ok_or(PErr::token(before, t.len(), expect))
}

fn timestamp(cx: &Cx, i: &mut &str, expect: Expect) -> PResult<i64> {
    let before = i.len();
    let t = token(i)?;
    let v = if cx.om {
        parse_om_timestamp(t)
    } else {
        parse_text_timestamp(t)
    };
    v.ok_or(PErr::token(before, t.len(), expect))
}

fn end(i: &mut &str) -> PResult<()> {
    if i.is_empty() {
        Ok(())
    } else {
        Err(PErr::at(i, Expect::EndOfLine))
    }
}

fn sample_line(cx: &mut Cx, i: &mut &str) -> PResult<Line> {
    let mut name = None;
    if !i.starts_with('{') {
        let before = i.len();
        let n = metric_name(i)?;
        name = Some(cx.span(before, n.len()));
        if !cx.om && !i.starts_with('{') && i.starts_with([' ', '\t']) {
            // Text format allows blanks between the name and the label set.
            let t = i.trim_start_matches([' ', '\t']);
            if t.starts_with('{') {
                *i = t;
            }
        }
    }
    if i.starts_with('{') {
        label_set(cx, i, Target::Labels, &mut name)?;
    }
    let series_len = cx.len - i.len();
    sep(cx, i)?;
    let v = value(cx, i, Expect::Value)?;
    let mut s = RawSample {
        name,
        series_len,
        value: v,
        ts: None,
        exemplar: None,
    };
    if !cx.om {
        blanks(cx, i);
        if !i.is_empty() {
            s.ts = Some(timestamp(cx, i, Expect::Timestamp)?);
            blanks(cx, i);
        }
        end(i)?;
        return Ok(Line::Sample(s));
    }
    if i.is_empty() {
        return Ok(Line::Sample(s));
    }
    sep(cx, i)?;
    if !i.starts_with('#') {
        s.ts = Some(timestamp(cx, i, Expect::Timestamp)?);
        if i.is_empty() {
            return Ok(Line::Sample(s));
        }
        sep(cx, i)?;
    }
    literal("# ").context(Expect::ExemplarStart).parse_next(i)?;
    if !i.starts_with('{') {
        return Err(PErr::at(i, Expect::ExemplarStart));
    }
    label_set(cx, i, Target::Exemplar, &mut None)?;
    sep(cx, i)?;
    let ev = value(cx, i, Expect::ExemplarValue)?;
    let mut ets = None;
    if !i.is_empty() {
        sep(cx, i)?;
        ets = Some(timestamp(cx, i, Expect::ExemplarTimestamp)?);
    }
    end(i)?;
    s.exemplar = Some((ev, ets));
    Ok(Line::Sample(s))
}

#[derive(Clone, Copy)]
enum Keyword {
    Help,
    Type,
    Unit,
}

/// HELP text: `\\` and `\n` are escapes in both formats, `\"` in OpenMetrics only.
fn help_text(cx: &mut Cx, i: &mut &str) -> Span {
    let before = i.len();
    let text = std::mem::take(i);
    if !text.contains('\\') {
        return cx.span(before, text.len());
    }
    let start = cx.sc.unesc.len();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            cx.sc.unesc.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('\\') => cx.sc.unesc.push('\\'),
            Some('n') => cx.sc.unesc.push('\n'),
            Some('"') if cx.om => cx.sc.unesc.push('"'),
            _ => {
                cx.sc.unesc.push('\\');
                continue;
            }
        }
        chars.next();
    }
    Span {
        start: start as u32,
        end: cx.sc.unesc.len() as u32,
        owned: true,
    }
}

fn om_line(cx: &mut Cx, i: &mut &str) -> PResult<Line> {
    if !i.starts_with('#') {
        if i.is_empty() {
            return Err(PErr {
                remaining: 0,
                expect: None,
                token_len: 0,
                rule: Some(Rule::BlankLine),
            });
        }
        return sample_line(cx, i);
    }
    if *i == "# EOF" {
        return Ok(Line::Eof);
    }
    literal("# ").context(Expect::Space).parse_next(i)?;
    let kw = alt((
        literal("HELP").value(Keyword::Help),
        literal("TYPE").value(Keyword::Type),
        literal("UNIT").value(Keyword::Unit),
    ))
    .context(Expect::MetadataKeyword)
    .parse_next(i)?;
    sep(cx, i)?;
    let (name, _) = any_name(cx, i, true)?;
    sep(cx, i)?;
    Ok(match kw {
        Keyword::Help => Line::Help {
            name,
            help: help_text(cx, i),
        },
        Keyword::Unit => {
            let before = i.len();
            let unit = std::mem::take(i);
            Line::Unit {
                name,
                unit: cx.span(before, unit.len()),
            }
        }
        Keyword::Type => {
            let before = i.len();
            let t = std::mem::take(i);
            let kind = MetricType::from_openmetrics(t).ok_or(PErr::token(
                before,
                t.len(),
                Expect::MetricType,
            ))?;
            Line::Type { name, kind }
        }
    })
}

fn text_line(cx: &mut Cx, i: &mut &str) -> PResult<Line> {
    blanks(cx, i);
    if i.is_empty() {
        return Ok(Line::Skip);
    }
    let Some(rest) = i.strip_prefix('#') else {
        return sample_line(cx, i);
    };
    *i = rest;
    blanks(cx, i);
    let kw = if let Some(r) = i.strip_prefix("HELP") {
        *i = r;
        Keyword::Help
    } else if let Some(r) = i.strip_prefix("TYPE") {
        *i = r;
        Keyword::Type
    } else {
        return Ok(Line::Skip);
    };
    if !i.starts_with([' ', '\t']) {
        // "# HELPER ..." or a bare "# HELP": a comment.
        return Ok(Line::Skip);
    }
    blanks(cx, i);
    let (name, _) = any_name(cx, i, true)?;
    Ok(match kw {
        Keyword::Help => {
            // Exactly one separator: further blanks belong to the text (as Prometheus reads it).
            match i.as_bytes().first() {
                None => {}
                Some(b' ' | b'\t') => *i = &i[1..],
                Some(_) => return Err(PErr::at(i, Expect::Space)),
            }
            Line::Help {
                name,
                help: help_text(cx, i),
            }
        }
        Keyword::Type => {
            sep(cx, i)?;
            let before = i.len();
            let t = token(i)?;
            let kind =
                MetricType::from_text(t).ok_or(PErr::token(before, t.len(), Expect::MetricType))?;
            blanks(cx, i);
            end(i)?;
            Line::Type { name, kind }
        }
        Keyword::Unit => unreachable!("the text format has no UNIT"),
    })
}
