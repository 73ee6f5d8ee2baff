//! Family-level rules: what makes a sequence of well-formed lines a valid exposition.
//!
//! OpenMetrics (as the reference parser of the OpenMetrics test suite applies them):
//! - a family's metadata (`HELP`, `TYPE`, `UNIT`, each at most once) comes before its samples;
//! - a sample whose name is not one the current family's type allows (`a_total`, `a_created`
//!   for counter `a`; `a_bucket`, `a_count`, ... for histograms) starts a new family of type
//!   unknown; family names and the sample names they claim never repeat (`clashing names`);
//! - within a family, samples of one label group (labels without `le`/`quantile`, or without the
//!   state label of a stateset) are contiguous, all with or all without timestamps, and their
//!   timestamps do not go backwards;
//! - values: counters, buckets, counts are not NaN or negative; buckets and counts are integers;
//!   `le` and `quantile` are numbers (infinities spelled `+Inf`/`-Inf`), quantiles in [0, 1];
//!   info samples are 1, stateset samples 0 or 1;
//! - histograms: buckets in increasing `le` order with non-decreasing counts, ending at `+Inf`;
//!   `_count` equals the `+Inf` bucket and comes with `_sum` (`_gcount`/`_gsum` alike); no
//!   `_sum` with negative buckets, no negative `_gsum` without them;
//! - exemplars only on histogram buckets and counter `_total` samples, their labels at most 128
//!   characters;
//! - `UNIT` is a suffix of the family name, and info and stateset families have none;
//! - the input ends with `# EOF` and nothing after it.
//!
//! Text 0.0.4 (as promtool's parser applies them): at most one `HELP` and one `TYPE` per name,
//! no `TYPE` after the name's samples, `le` on histogram buckets and `quantile` on summary
//! quantiles. Families may be split across the input, as Prometheus allows.
//!
//! With [`Strictness::Prometheus`] only what Prometheus's own parsers enforce remains (syntax,
//! `# EOF`, duplicate label names, `UNIT` a suffix of the name, exemplar length): what a scrape
//! must accept. [`Strictness::Spec`] applies every rule above: what `check metrics` reports.
//!
//! State is per family (plus the set of family names seen), so memory follows the number of
//! families and the size of the largest one, not the input.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::number::{parse_go_float, parse_om_value};
use super::parse::LabelsRef;
use super::{Format, Strictness};
use crate::model::MetricType;

/// A rule of the format that a well-formed line breaks.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    BlankLine,
    TextAfterEof,
    MissingEof,
    UnterminatedString,
    MissingMetricName,
    NameTwice,
    DuplicateLabel(String),
    DuplicateMetadata {
        name: String,
        what: &'static str,
    },
    MetadataAfterSamples(String),
    ClashingName(String),
    UnitMismatch {
        name: String,
        unit: String,
    },
    UnitNotAllowed {
        name: String,
        kind: MetricType,
    },
    StatesetMissingLabel(String),
    InvalidLe(String),
    InvalidQuantile(String),
    NonIntegerBucket,
    NonIntegerCount,
    InvalidGrouping(String),
    MixedTimestamps,
    TimestampsBackwards,
    StatesetValue,
    InfoValue,
    NegativeQuantileValue,
    NanCounter(&'static str),
    NegativeCounter(&'static str),
    ExemplarNotAllowed,
    ExemplarTooLong(usize),
    Histogram {
        name: String,
        problem: HistogramProblem,
    },
}

/// A broken invariant of one histogram (one label group at one timestamp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistogramProblem {
    InfBucketMissing,
    CountMismatch,
    SumWithoutCount,
    GsumWithoutGcount,
    CountWithoutSum,
    SumWithNegativeBuckets,
    NegativeGsum,
    BucketsOutOfOrder,
    BucketCountsDecrease,
}

impl fmt::Display for HistogramProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HistogramProblem::InfBucketMissing => "the +Inf bucket is missing",
            HistogramProblem::CountMismatch => "_count does not equal the +Inf bucket",
            HistogramProblem::SumWithoutCount => "_sum without _count",
            HistogramProblem::GsumWithoutGcount => "_gsum without _gcount",
            HistogramProblem::CountWithoutSum => "_count without _sum",
            HistogramProblem::SumWithNegativeBuckets => "_sum with negative buckets",
            HistogramProblem::NegativeGsum => "negative _gsum without negative buckets",
            HistogramProblem::BucketsOutOfOrder => "buckets not in increasing le order",
            HistogramProblem::BucketCountsDecrease => "bucket counts decrease",
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::BlankLine => f.write_str("blank line (not allowed in OpenMetrics)"),
            Rule::TextAfterEof => f.write_str("text after # EOF"),
            Rule::MissingEof => f.write_str("missing # EOF at the end"),
            Rule::UnterminatedString => f.write_str("unterminated quoted string"),
            Rule::MissingMetricName => f.write_str("sample without a metric name"),
            Rule::NameTwice => f.write_str("metric name given twice"),
            Rule::DuplicateLabel(n) => write!(f, "duplicate label name {n:?}"),
            Rule::DuplicateMetadata { name, what } => write!(f, "second {what} line for {name:?}"),
            Rule::MetadataAfterSamples(n) => write!(f, "metadata for {n:?} after its samples"),
            Rule::ClashingName(n) => write!(f, "name {n:?} clashes with an earlier metric family"),
            Rule::UnitMismatch { name, unit } => {
                write!(f, "unit {unit:?} is not a suffix of metric name {name:?}")
            }
            Rule::UnitNotAllowed { name, kind } => {
                write!(f, "{kind} metric {name:?} cannot have a unit")
            }
            Rule::StatesetMissingLabel(n) => write!(f, "stateset sample without label {n:?}"),
            Rule::InvalidLe(v) => write!(f, "invalid le label {v:?}"),
            Rule::InvalidQuantile(v) => write!(f, "invalid quantile label {v:?}"),
            Rule::NonIntegerBucket => f.write_str("bucket value must be an integer"),
            Rule::NonIntegerCount => f.write_str("count value must be an integer"),
            Rule::InvalidGrouping(n) => {
                write!(f, "samples of one label group of {n:?} are not contiguous")
            }
            Rule::MixedTimestamps => {
                f.write_str("some samples of a group have timestamps, some not")
            }
            Rule::TimestampsBackwards => f.write_str("timestamps go backwards within a group"),
            Rule::StatesetValue => f.write_str("stateset values must be 0 or 1"),
            Rule::InfoValue => f.write_str("info values must be 1"),
            Rule::NegativeQuantileValue => f.write_str("quantile values cannot be negative"),
            Rule::NanCounter(s) => write!(f, "{s} samples cannot be NaN"),
            Rule::NegativeCounter(s) => write!(f, "{s} samples cannot be negative"),
            Rule::ExemplarNotAllowed => {
                f.write_str("exemplars are allowed only on histogram buckets and counter totals")
            }
            Rule::ExemplarTooLong(n) => {
                write!(f, "exemplar labels are {n} characters long (at most 128)")
            }
            Rule::Histogram { name, problem } => write!(f, "histogram {name:?}: {problem}"),
        }
    }
}

/// What the rules need to know of one sample.
pub(crate) struct SampleFacts<'a> {
    pub name: &'a str,
    pub labels: LabelsRef<'a>,
    pub value: f64,
    pub ts: Option<i64>,
    /// Characters in the exemplar's label names and values, when there is an exemplar.
    pub exemplar_chars: Option<usize>,
}

pub(crate) enum Rules {
    Text(TextRules),
    Om(OmRules),
}

impl Rules {
    pub fn new(format: Format, strictness: Strictness) -> Rules {
        let strict = strictness == Strictness::Spec;
        match format {
            Format::Text => Rules::Text(TextRules {
                strict,
                ..TextRules::default()
            }),
            Format::OpenMetrics => Rules::Om(OmRules {
                strict,
                ..OmRules::default()
            }),
        }
    }

    pub fn help(&mut self, name: &str) -> Result<(), Rule> {
        match self {
            Rules::Text(t) => t.metadata(name, None),
            Rules::Om(o) => o.metadata(name, Meta::Help),
        }
    }

    pub fn kind(&mut self, name: &str, kind: MetricType) -> Result<(), Rule> {
        match self {
            Rules::Text(t) => t.metadata(name, Some(kind)),
            Rules::Om(o) => o.metadata(name, Meta::Type(kind)),
        }
    }

    pub fn unit(&mut self, name: &str, unit: &str) -> Result<(), Rule> {
        match self {
            Rules::Text(_) => Ok(()),
            Rules::Om(o) => o.metadata(name, Meta::Unit(unit)),
        }
    }

    pub fn sample(&mut self, s: &SampleFacts) -> Result<(), Rule> {
        match self {
            Rules::Text(t) => t.sample(s),
            Rules::Om(o) => o.sample(s),
        }
    }

    /// The family of the last sample and its type.
    pub fn family(&self) -> (&str, MetricType) {
        match self {
            Rules::Text(t) => (&t.cur, t.cur_kind),
            Rules::Om(o) => match &o.fam {
                Some(f) => (&f.name, f.kind.unwrap_or(MetricType::Unknown)),
                None => ("", MetricType::Unknown),
            },
        }
    }

    pub fn set_eof(&mut self) {
        if let Rules::Om(o) = self {
            o.eof = true;
        }
    }

    pub fn saw_eof(&self) -> bool {
        matches!(self, Rules::Om(o) if o.eof)
    }

    pub fn finish(&mut self) -> Result<(), Rule> {
        match self {
            Rules::Text(_) => Ok(()),
            Rules::Om(o) => o.end_family(),
        }
    }
}

// ---- text 0.0.4 ---------------------------------------------------------------------------

#[derive(Default)]
struct TextMeta {
    help: bool,
    kind: Option<MetricType>,
}

#[derive(Default)]
pub(crate) struct TextRules {
    strict: bool,
    declared: HashMap<String, TextMeta>,
    with_samples: HashSet<String>,
    cur: String,
    cur_kind: MetricType,
}

impl TextRules {
    fn metadata(&mut self, name: &str, kind: Option<MetricType>) -> Result<(), Rule> {
        if !self.strict {
            if let Some(k) = kind {
                self.declared.entry(name.to_string()).or_default().kind = Some(k);
            }
            return Ok(());
        }
        let m = match self.declared.get_mut(name) {
            Some(m) => m,
            None => self.declared.entry(name.to_string()).or_default(),
        };
        match kind {
            None if m.help => {
                return Err(Rule::DuplicateMetadata {
                    name: name.into(),
                    what: "HELP",
                })
            }
            None => m.help = true,
            Some(_) if m.kind.is_some() => {
                return Err(Rule::DuplicateMetadata {
                    name: name.into(),
                    what: "TYPE",
                })
            }
            Some(k) => {
                if self.with_samples.contains(name) {
                    return Err(Rule::MetadataAfterSamples(name.into()));
                }
                m.kind = Some(k);
            }
        }
        Ok(())
    }

    fn declared_kind(&self, name: &str) -> Option<MetricType> {
        self.declared.get(name).and_then(|m| m.kind)
    }

    fn sample(&mut self, s: &SampleFacts) -> Result<(), Rule> {
        let in_cur = !self.cur.is_empty()
            && s.name.starts_with(self.cur.as_str())
            && self
                .cur_kind
                .text_suffixes()
                .contains(&&s.name[self.cur.len()..]);
        if !in_cur {
            let (fam, kind) = self.resolve(s.name);
            self.cur.clear();
            self.cur.push_str(fam);
            self.cur_kind = kind;
            if !self.with_samples.contains(&self.cur) {
                self.with_samples.insert(self.cur.clone());
            }
        }
        if !self.strict {
            return Ok(());
        }
        let suffix = &s.name[self.cur.len()..];
        match (self.cur_kind, suffix) {
            (MetricType::Histogram, "_bucket") => match s.labels.get("le") {
                Some(le) if parse_go_float(le).is_some_and(|v| !v.is_nan()) => {}
                other => return Err(Rule::InvalidLe(other.unwrap_or("").into())),
            },
            (MetricType::Summary, "") => match s.labels.get("quantile") {
                Some(q) if parse_go_float(q).is_some() => {}
                other => return Err(Rule::InvalidQuantile(other.unwrap_or("").into())),
            },
            _ => {}
        }
        Ok(())
    }

    /// The family a sample outside the current family belongs to.
    fn resolve<'a>(&self, name: &'a str) -> (&'a str, MetricType) {
        if let Some(k) = self.declared_kind(name) {
            return (name, k);
        }
        for (suffix, kinds) in [
            ("_bucket", &[MetricType::Histogram][..]),
            ("_count", &[MetricType::Histogram, MetricType::Summary][..]),
            ("_sum", &[MetricType::Histogram, MetricType::Summary][..]),
        ] {
            if let Some(base) = name.strip_suffix(suffix) {
                if let Some(k) = self.declared_kind(base).filter(|k| kinds.contains(k)) {
                    return (base, k);
                }
            }
        }
        (name, MetricType::Unknown)
    }
}

// ---- OpenMetrics ----------------------------------------------------------------------------

enum Meta<'a> {
    Help,
    Type(MetricType),
    Unit(&'a str),
}

#[derive(Default)]
pub(crate) struct OmRules {
    strict: bool,
    seen: HashSet<String>,
    fam: Option<OmFamily>,
    eof: bool,
}

struct OmFamily {
    name: String,
    kind: Option<MetricType>,
    help: bool,
    unit: Option<String>,
    has_samples: bool,
    group: Option<u64>,
    group_ts: Option<i64>,
    seen_groups: HashSet<u64>,
    hist: Option<HistSegment>,
}

impl OmFamily {
    fn new(name: &str, kind: Option<MetricType>) -> OmFamily {
        OmFamily {
            name: name.to_string(),
            kind,
            help: false,
            unit: None,
            has_samples: false,
            group: None,
            group_ts: None,
            seen_groups: HashSet::new(),
            hist: None,
        }
    }

    fn allows(&self, sample: &str) -> bool {
        match sample.strip_prefix(self.name.as_str()) {
            Some(suffix) => self
                .kind
                .unwrap_or(MetricType::Unknown)
                .openmetrics_suffixes()
                .contains(&suffix),
            None => false,
        }
    }
}

/// One histogram: the samples of one label group at one timestamp.
struct HistSegment {
    group: u64,
    ts: Option<i64>,
    count: Option<f64>,
    bucket: Option<f64>,
    last_bucket_value: f64,
    negative_buckets: bool,
    has_sum: bool,
    has_gsum: bool,
    negative_gsum: bool,
}

impl HistSegment {
    fn new(group: u64, ts: Option<i64>) -> HistSegment {
        HistSegment {
            group,
            ts,
            count: None,
            bucket: None,
            last_bucket_value: 0.0,
            negative_buckets: false,
            has_sum: false,
            has_gsum: false,
            negative_gsum: false,
        }
    }

    fn check(&self) -> Result<(), HistogramProblem> {
        use HistogramProblem::*;
        if self.bucket != Some(f64::INFINITY) {
            return Err(InfBucketMissing);
        }
        if self.count.is_some_and(|c| c != self.last_bucket_value) {
            return Err(CountMismatch);
        }
        if self.has_sum && self.count.is_none() {
            return Err(SumWithoutCount);
        }
        if self.has_gsum && self.count.is_none() {
            return Err(GsumWithoutGcount);
        }
        if !(self.has_sum || self.has_gsum) && self.count.is_some() {
            return Err(CountWithoutSum);
        }
        if self.negative_buckets && self.has_sum {
            return Err(SumWithNegativeBuckets);
        }
        if !self.negative_buckets && self.negative_gsum {
            return Err(NegativeGsum);
        }
        Ok(())
    }
}

/// Python-float-like parse of a label value used as a number, rejecting NaN and non-canonical
/// spellings of the infinities.
fn canonical_number(s: &str) -> Option<f64> {
    let v = parse_om_value(s)?;
    if v.is_nan() || (v.is_infinite() && s != "+Inf" && s != "-Inf") {
        return None;
    }
    Some(v)
}

const COUNTER_LIKE: [&str; 6] = ["_total", "_sum", "_count", "_bucket", "_gcount", "_gsum"];

impl OmRules {
    fn metadata(&mut self, name: &str, meta: Meta) -> Result<(), Rule> {
        let same = self.fam.as_ref().is_some_and(|f| f.name == name);
        if same && self.strict && self.fam.as_ref().is_some_and(|f| f.has_samples) {
            return Err(Rule::MetadataAfterSamples(name.into()));
        }
        if !same {
            self.end_family()?;
            self.fam = Some(OmFamily::new(name, None));
        }
        let f = self.fam.as_mut().expect("family just set");
        if !self.strict {
            match meta {
                Meta::Help => f.help = true,
                Meta::Type(k) => f.kind = Some(k),
                Meta::Unit(u) => f.unit = Some(u.to_string()),
            }
            return Ok(());
        }
        let dup = |what| {
            Err(Rule::DuplicateMetadata {
                name: name.into(),
                what,
            })
        };
        match meta {
            Meta::Help if f.help => return dup("HELP"),
            Meta::Help => f.help = true,
            Meta::Type(_) if f.kind.is_some() => return dup("TYPE"),
            Meta::Type(k) => f.kind = Some(k),
            Meta::Unit(_) if f.unit.is_some() => return dup("UNIT"),
            Meta::Unit(u) => f.unit = Some(u.to_string()),
        }
        Ok(())
    }

    /// Checks a finished family: its names against earlier families, its unit, its last
    /// histogram.
    fn end_family(&mut self) -> Result<(), Rule> {
        let Some(f) = self.fam.take() else {
            return Ok(());
        };
        let kind = f.kind.unwrap_or(MetricType::Unknown);
        let mut suffixes: Vec<&str> = kind.openmetrics_suffixes().to_vec();
        if !suffixes.contains(&"") {
            suffixes.push("");
        }
        if !self.strict {
            suffixes.clear();
        }
        for s in suffixes {
            let n = format!("{}{s}", f.name);
            if self.seen.contains(&n) {
                return Err(Rule::ClashingName(n));
            }
            self.seen.insert(n);
        }
        if let Some(u) = f.unit.as_deref().filter(|u| !u.is_empty()) {
            if !f.name.ends_with(&format!("_{u}")) {
                return Err(Rule::UnitMismatch {
                    name: f.name,
                    unit: u.into(),
                });
            }
            if self.strict && matches!(kind, MetricType::Info | MetricType::StateSet) {
                return Err(Rule::UnitNotAllowed { name: f.name, kind });
            }
        }
        if let Some(seg) = f.hist.as_ref().filter(|_| self.strict) {
            seg.check().map_err(|problem| Rule::Histogram {
                name: f.name.clone(),
                problem,
            })?;
        }
        Ok(())
    }

    fn sample(&mut self, s: &SampleFacts) -> Result<(), Rule> {
        if !self.fam.as_ref().is_some_and(|f| f.allows(s.name)) {
            self.end_family()?;
            self.fam = Some(OmFamily::new(s.name, Some(MetricType::Unknown)));
        }
        let f = self.fam.as_mut().expect("family just set");
        f.has_samples = true;
        if !self.strict {
            return match s.exemplar_chars {
                Some(n) if n > 128 => Err(Rule::ExemplarTooLong(n)),
                _ => Ok(()),
            };
        }
        let kind = f.kind.unwrap_or(MetricType::Unknown);
        let suffix = &s.name[f.name.len()..];
        let is_hist = matches!(kind, MetricType::Histogram | MetricType::GaugeHistogram);
        let integral = s.value.is_finite() && s.value.fract() == 0.0;

        if kind == MetricType::StateSet && s.labels.get(&f.name).is_none() {
            return Err(Rule::StatesetMissingLabel(f.name.clone()));
        }
        let mut le = None;
        if suffix == "_bucket" {
            let raw = s.labels.get("le").unwrap_or("");
            le = Some(canonical_number(raw).ok_or_else(|| Rule::InvalidLe(raw.into()))?);
            if !integral {
                return Err(Rule::NonIntegerBucket);
            }
        }
        if (suffix == "_count" || suffix == "_gcount") && !integral {
            return Err(Rule::NonIntegerCount);
        }
        let quantile_sample = kind == MetricType::Summary && suffix.is_empty();
        if quantile_sample {
            let raw = s.labels.get("quantile").unwrap_or("");
            match canonical_number(raw) {
                Some(q) if (0.0..=1.0).contains(&q) => {}
                _ => return Err(Rule::InvalidQuantile(raw.into())),
            }
        }

        let skip = match kind {
            MetricType::Summary if suffix.is_empty() => Some("quantile"),
            MetricType::StateSet => Some(f.name.as_str()),
            _ if is_hist && suffix == "_bucket" => Some("le"),
            _ => None,
        };
        let g = if kind == MetricType::Info {
            0
        } else {
            s.labels.set_hash(skip)
        };
        match f.group {
            Some(cur) if cur != g && f.seen_groups.contains(&g) => {
                return Err(Rule::InvalidGrouping(f.name.clone()));
            }
            Some(cur) if cur == g => {
                if s.ts.is_some() != f.group_ts.is_some() {
                    return Err(Rule::MixedTimestamps);
                }
                if let (Some(prev), Some(t)) = (f.group_ts, s.ts) {
                    if prev > t && kind != MetricType::Info {
                        return Err(Rule::TimestampsBackwards);
                    }
                }
            }
            _ => {}
        }
        f.group = Some(g);
        f.group_ts = s.ts;
        f.seen_groups.insert(g);

        match kind {
            MetricType::StateSet if s.value != 0.0 && s.value != 1.0 => {
                return Err(Rule::StatesetValue)
            }
            MetricType::Info if s.value != 1.0 => return Err(Rule::InfoValue),
            _ if quantile_sample && s.value < 0.0 => return Err(Rule::NegativeQuantileValue),
            _ => {}
        }
        if let Some(&c) = COUNTER_LIKE.iter().find(|&&c| c == suffix) {
            if s.value.is_nan() {
                return Err(Rule::NanCounter(c));
            }
            if c != "_gsum" && s.value < 0.0 {
                return Err(Rule::NegativeCounter(c));
            }
        }
        if let Some(n) = s.exemplar_chars {
            let ok = (is_hist && s.name.ends_with("_bucket"))
                || (kind == MetricType::Counter && s.name.ends_with("_total"));
            if !ok {
                return Err(Rule::ExemplarNotAllowed);
            }
            if n > 128 {
                return Err(Rule::ExemplarTooLong(n));
            }
        }

        if is_hist && !suffix.is_empty() {
            let hg = s.labels.set_hash((suffix == "_bucket").then_some("le"));
            let fresh = f
                .hist
                .as_ref()
                .is_none_or(|seg| seg.group != hg || seg.ts != s.ts);
            if fresh {
                if let Some(seg) = &f.hist {
                    seg.check().map_err(|problem| Rule::Histogram {
                        name: f.name.clone(),
                        problem,
                    })?;
                }
                f.hist = Some(HistSegment::new(hg, s.ts));
            }
            let seg = f.hist.as_mut().expect("segment just set");
            match suffix {
                "_bucket" => {
                    let b = le.unwrap_or(f64::NAN);
                    if b < 0.0 {
                        seg.negative_buckets = true;
                    }
                    let problem = |problem| Rule::Histogram {
                        name: f.name.clone(),
                        problem,
                    };
                    if seg.bucket.is_some_and(|prev| b <= prev) {
                        return Err(problem(HistogramProblem::BucketsOutOfOrder));
                    }
                    if s.value < seg.last_bucket_value {
                        return Err(problem(HistogramProblem::BucketCountsDecrease));
                    }
                    seg.bucket = Some(b);
                    seg.last_bucket_value = s.value;
                }
                "_count" | "_gcount" => seg.count = Some(s.value),
                "_sum" => seg.has_sum = true,
                "_gsum" => {
                    seg.has_gsum = true;
                    if s.value < 0.0 {
                        seg.negative_gsum = true;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
