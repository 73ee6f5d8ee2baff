//! Exposition formats: the Prometheus text format 0.0.4 and OpenMetrics 1.0 text, read and written.
//!
//! ```text
//!   bytes ──► Parser (parse.rs: bounded line reader + winnow grammar per line)
//!                │   rules.rs: family-level rules (OpenMetrics grouping, histograms, metadata)
//!                ▼
//!            Entry<'_>  (borrowed from the parser's line buffer: no allocation per sample)
//!                │
//!                ├──► lint.rs   promtool-compatible lints per metric family
//!                └──► Writer   (write.rs) ──► text 0.0.4 or OpenMetrics
//! ```
//!
//! The parser streams: it holds one line (at most [`MAX_LINE`] bytes) and per-family state, never
//! the whole input. The first error ends parsing and carries the line, the column (in
//! characters, 1-based) and what was expected. [`detect`] picks the format of a seekable input.

pub mod family;
pub mod lint;
pub mod number;
mod parse;
pub mod proto;
mod rules;
pub mod write;

use std::fmt;

pub use parse::{Entry, Exemplar, LabelsRef, Parser, SampleRef};
pub use rules::Rule;
pub use write::Writer;

/// The longest line the parser accepts (16 MiB); longer lines are an error, not an allocation.
pub const MAX_LINE: usize = 16 << 20;

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::OpenMetrics => "openmetrics",
        }
    }
}

/// Picks the format of a whole input from its last bytes: OpenMetrics when the last line is
/// `# EOF` (with or without a final newline), text otherwise.
pub fn detect(tail: &[u8]) -> Format {
    let t = tail.strip_suffix(b"\n").unwrap_or(tail);
    let last = match t.iter().rposition(|&b| b == b'\n') {
        Some(i) => &t[i + 1..],
        None => t,
    };
    if last == b"# EOF" {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

/// Guesses the format from the start of a stream, for pipes whose end cannot be seen first.
/// OpenMetrics shows itself by `# EOF`, `# UNIT`, its own type names, exemplars, or timestamps
/// in seconds (a decimal point, or 9 to 11 digits: this century in seconds, January 1970 in
/// the text format's milliseconds);
/// anything else is read as text, which an OpenMetrics exposition without those also is.
pub fn detect_head(head: &[u8]) -> Format {
    for line in head.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        if line == "# EOF" || line.starts_with("# UNIT ") {
            return Format::OpenMetrics;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let kind = rest.rsplit(' ').next().unwrap_or("");
            if matches!(kind, "gaugehistogram" | "stateset" | "info" | "unknown") {
                return Format::OpenMetrics;
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.contains(" # {") {
            return Format::OpenMetrics;
        }
        let tail = match line.rfind('}') {
            Some(i) => &line[i + 1..],
            None => line.split_once([' ', '\t']).map_or("", |x| x.1),
        };
        let mut tokens = tail.split_whitespace();
        let (_value, ts) = (tokens.next(), tokens.next());
        if let Some(ts) = ts {
            let digits = ts.trim_start_matches('-');
            if ts.contains('.') || ts.contains('e') || (9..=11).contains(&digits.len()) {
                return Format::OpenMetrics;
            }
            return Format::Text;
        }
    }
    Format::Text
}

/// How much of the formats' rules the parser enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Every rule of the specification (OpenMetrics 1.0, and promtool's checks of the text
    /// format): for validating an exposition.
    Spec,
    /// What Prometheus's own parsers accept (syntax, `# EOF`, duplicate labels, units,
    /// exemplar length): for ingesting what a target serves, as Prometheus would.
    Prometheus,
}

/// What the grammar expected where it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    MetricName,
    LabelName,
    LabelValue,
    Equals,
    CommaOrBrace,
    Space,
    Value,
    Timestamp,
    ExemplarValue,
    ExemplarTimestamp,
    ExemplarStart,
    MetricType,
    MetadataKeyword,
    EndOfLine,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::MetricName => "a metric name",
            Expect::LabelName => "a label name",
            Expect::LabelValue => "a label value in double quotes",
            Expect::Equals => "'='",
            Expect::CommaOrBrace => "',' or '}'",
            Expect::Space => "a single space",
            Expect::Value => "a sample value",
            Expect::Timestamp => "a timestamp",
            Expect::ExemplarValue => "an exemplar value",
            Expect::ExemplarTimestamp => "an exemplar timestamp",
            Expect::ExemplarStart => "an exemplar ('# {')",
            Expect::MetricType => "a metric type",
            Expect::MetadataKeyword => "HELP, TYPE, UNIT or EOF",
            Expect::EndOfLine => "end of line",
        })
    }
}

/// What stood where the grammar failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    EndOfLine,
    Char(char),
    Token(String),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::EndOfLine => f.write_str("end of line"),
            Found::Char(c) => write!(f, "{c:?}"),
            Found::Token(t) => write!(f, "{t:?}"),
        }
    }
}

/// Why an input is not a valid exposition.
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorKind {
    /// The grammar wanted one thing and found another.
    Syntax { expected: Expect, found: Found },
    /// The line is not UTF-8.
    InvalidUtf8,
    /// The line is longer than [`MAX_LINE`].
    LineTooLong,
    /// The line is well-formed but breaks a rule of the format.
    Rule(Rule),
}

/// A parse error: where (line and column, both 1-based; the column counts characters) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub line: u64,
    pub column: usize,
    pub kind: ErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        match &self.kind {
            ErrorKind::Syntax { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ErrorKind::LineTooLong => write!(f, "line longer than {MAX_LINE} bytes"),
            ErrorKind::Rule(r) => write!(f, "{r}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// An error while reading an exposition: the input failed, or it is not valid.
#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    Parse(ParseError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "read failed: {e}"),
            Error::Parse(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_by_last_line() {
        assert_eq!(detect(b"a 1\n# EOF\n"), Format::OpenMetrics);
        assert_eq!(detect(b"a 1\n# EOF"), Format::OpenMetrics);
        assert_eq!(detect(b"# EOF"), Format::OpenMetrics);
        assert_eq!(detect(b"a 1\n"), Format::Text);
        assert_eq!(detect(b"a 1\n# EOF\n\n"), Format::Text);
        assert_eq!(detect(b""), Format::Text);
    }
}
