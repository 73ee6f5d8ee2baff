//! Lints for metric families, as promtool's `check metrics` (client_golang's promlint) has them.
//!
//! Rules, each reported once per family: missing HELP; non-base units (`milliseconds`); a
//! counter without `_total` (text format; OpenMetrics names counters without it) or a
//! non-counter with it; `_bucket`, `_count`, `_sum` suffixes and `le`, `quantile` labels on the
//! wrong types; the type in the name; `:` in the name; camelCase metric or label names;
//! abbreviated units (`_ms`, `_sec`, ...); and the same series twice at the same timestamp
//! (`metric not unique`, a sample Prometheus would reject). Only families with samples are
//! linted, as promtool drops empty ones. Problems come out sorted by metric, then text.

use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};

use std::io::{self, BufRead};

use super::{Entry, Error, Format, ParseError, Parser, SampleRef};
use crate::model::hash::fold_hasher;
use crate::model::MetricType;

/// One finding: the family and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub metric: String,
    pub text: String,
}

const UNITS: [(&str, &str); 24] = [
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

const PREFIXES: [&str; 18] = [
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

const ABBREVIATIONS: [&str; 14] = [
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];

const TYPE_WORDS: [&str; 5] = [
    "counter",
    "gauge",
    "summary",
    "histogram",
    "gauge_histogram",
];

fn base_unit(word: &str) -> Option<&'static str> {
    UNITS.iter().find(|(u, _)| *u == word).map(|(_, b)| *b)
}

/// The first unit word in a name and its base unit (`foo_milliseconds` → milliseconds, seconds).
fn metric_unit(name: &str) -> Option<(&str, &'static str)> {
    for word in name.split('_') {
        if let Some(b) = base_unit(word) {
            return Some((word, b));
        }
        for p in PREFIXES {
            if let Some(b) = word.strip_prefix(p).and_then(base_unit) {
                return Some((word, b));
            }
        }
    }
    None
}

fn has_camel(s: &str) -> bool {
    s.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// Whether `_w_` occurs in the name or it ends with `_w`: the segments of `w` (split at `_`)
/// appear consecutively among the name's segments after the first.
fn has_word(segments: &[&str], w: &str) -> bool {
    let n = w.split('_').count();
    segments.len() > n
        && segments[1..]
            .windows(n)
            .any(|s| s.iter().copied().eq(w.split('_')))
}

#[derive(Default)]
struct Family {
    name: String,
    kind: MetricType,
    camel_label: bool,
    le_label: bool,
    quantile_label: bool,
    duplicate: bool,
    series: HashSet<u64>,
}

/// Collects lint problems from a stream of entries.
pub struct Linter {
    format: Format,
    helped: HashSet<String>,
    cur: Option<Family>,
    problems: BTreeSet<Problem>,
}

impl Linter {
    pub fn new(format: Format) -> Linter {
        Linter {
            format,
            helped: HashSet::new(),
            cur: None,
            problems: BTreeSet::new(),
        }
    }

    pub fn entry(&mut self, e: &Entry) {
        match e {
            Entry::Help { name, .. } => {
                if !self.helped.contains(*name) {
                    self.helped.insert(name.to_string());
                }
            }
            Entry::Type { .. } | Entry::Unit { .. } => {}
            Entry::Sample(s) => self.sample(s),
        }
    }

    fn sample(&mut self, s: &SampleRef) {
        if self.cur.as_ref().is_none_or(|f| f.name != s.family) {
            self.end_family();
            self.cur = Some(Family {
                name: s.family.to_string(),
                kind: s.kind,
                ..Family::default()
            });
        }
        let f = self.cur.as_mut().expect("family just set");
        for (n, _) in s.labels.iter() {
            match n {
                "le" => f.le_label = true,
                "quantile" => f.quantile_label = true,
                _ => {}
            }
            if has_camel(n) {
                f.camel_label = true;
            }
        }
        let mut h = fold_hasher();
        (s.name, s.labels.set_hash(None), s.timestamp).hash(&mut h);
        if !f.series.insert(h.finish()) {
            f.duplicate = true;
        }
    }

    fn end_family(&mut self) {
        let Some(f) = self.cur.take() else {
            return;
        };
        let om = self.format == Format::OpenMetrics;
        let name = f.name.as_str();
        let mut add = |text: String| {
            self.problems.insert(Problem {
                metric: name.to_string(),
                text,
            });
        };
        let kind = f.kind;
        let untyped = kind == MetricType::Unknown;
        let histogram = matches!(kind, MetricType::Histogram | MetricType::GaugeHistogram);
        let summary = kind == MetricType::Summary;
        if !self.helped.contains(name) {
            add("no help text".into());
        }
        if let Some((unit, base)) = metric_unit(name) {
            if unit != base {
                add(format!("use base unit {base:?} instead of {unit:?}"));
            }
        }
        let total = name.ends_with("_total");
        if kind == MetricType::Counter && !total && !om {
            add(r#"counter metrics should have "_total" suffix"#.into());
        }
        if !untyped && kind != MetricType::Counter && total {
            add(r#"non-counter metrics should not have "_total" suffix"#.into());
        }
        if !untyped {
            if !histogram && name.ends_with("_bucket") {
                add(r#"non-histogram metrics should not have "_bucket" suffix"#.into());
            }
            for s in ["_count", "_sum"] {
                if !histogram && !summary && name.ends_with(s) {
                    add(format!(
                        "non-histogram and non-summary metrics should not have {s:?} suffix"
                    ));
                }
            }
            if !histogram && f.le_label {
                add(r#"non-histogram metrics should not have "le" label"#.into());
            }
            if !summary && f.quantile_label {
                add(r#"non-summary metrics should not have "quantile" label"#.into());
            }
        }
        let lower = name.to_lowercase();
        let segments: Vec<&str> = lower.split('_').collect();
        for t in TYPE_WORDS {
            if has_word(&segments, t) {
                add(format!("metric name should not include type '{t}'"));
            }
        }
        if name.contains(':') {
            add("metric names should not contain ':'".into());
        }
        if has_camel(name) {
            add("metric names should be written in 'snake_case' not 'camelCase'".into());
        }
        if f.camel_label {
            add("label names should be written in 'snake_case' not 'camelCase'".into());
        }
        if ABBREVIATIONS.iter().any(|a| has_word(&segments, a)) {
            add("metric names should not contain abbreviated units".into());
        }
        if f.duplicate {
            add("metric not unique".into());
        }
    }

    /// Ends the input and returns the problems, sorted by metric and text.
    pub fn finish(mut self) -> Vec<Problem> {
        self.end_family();
        self.problems.into_iter().collect()
    }
}

/// The outcome of checking one exposition.
#[derive(Debug, Default)]
pub struct Report {
    /// The first parse error, if any (parsing stops there).
    pub error: Option<ParseError>,
    /// Lint problems (empty when linting is off or the input is invalid).
    pub problems: Vec<Problem>,
    /// Samples read.
    pub samples: u64,
}

/// Parses a whole exposition, linting it when `lints` is set. Only I/O errors are errors.
pub fn check<R: BufRead>(reader: R, format: Format, lints: bool) -> io::Result<Report> {
    let mut parser = Parser::new(reader, format);
    let mut linter = lints.then(|| Linter::new(format));
    let mut report = Report::default();
    while let Some(entry) = parser.next_entry() {
        match entry {
            Ok(e) => {
                if matches!(e, Entry::Sample(_)) {
                    report.samples += 1;
                }
                if let Some(l) = linter.as_mut() {
                    l.entry(&e);
                }
            }
            Err(Error::Io(e)) => return Err(e),
            Err(Error::Parse(e)) => {
                report.error = Some(e);
                return Ok(report);
            }
        }
    }
    report.problems = linter.map(Linter::finish).unwrap_or_default();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_words() {
        assert_eq!(
            metric_unit("foo_milliseconds"),
            Some(("milliseconds", "seconds"))
        );
        assert_eq!(metric_unit("thermometers_total"), None);
        assert_eq!(metric_unit("a_kilometers"), Some(("kilometers", "meters")));
        let seg = |s: &'static str| s.split('_').collect::<Vec<_>>();
        assert!(has_word(&seg("a_sec"), "sec"));
        assert!(has_word(&seg("a_sec_total"), "sec"));
        assert!(!has_word(&seg("sec_total"), "sec"));
        assert!(!has_word(&seg("a_second"), "sec"));
        assert!(has_word(&seg("x_gauge_histogram_y"), "gauge_histogram"));
        assert!(!has_word(&seg("gauge_histogram"), "gauge_histogram"));
        assert!(has_camel("fooBar"));
        assert!(!has_camel("FOO_BAR"));
    }
}
