//! Metric families as whole values: the data model of Prometheus's client libraries
//! (`io.prometheus.client.MetricFamily` in client_model's `metrics.proto`), for what holds
//! expositions rather than streaming them — the push gateway keeps each pushed group as
//! families, checks them for consistency, and serves them again in any format.
//!
//! [`proto`](super::proto) reads and writes these as delimited protobuf; [`from_text`] builds
//! them from a text (0.0.4) or OpenMetrics exposition the way client_golang's text parser
//! groups samples (a histogram's `_bucket`, `_sum` and `_count` lines become one metric);
//! [`write`] prints them as client_golang's encoders do.

use std::fmt;

/// A family's type, as `metrics.proto` numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Counter = 0,
    Gauge = 1,
    Summary = 2,
    Untyped = 3,
    Histogram = 4,
    GaugeHistogram = 5,
}

impl Kind {
    pub fn from_number(n: u64) -> Option<Kind> {
        Some(match n {
            0 => Kind::Counter,
            1 => Kind::Gauge,
            2 => Kind::Summary,
            3 => Kind::Untyped,
            4 => Kind::Histogram,
            5 => Kind::GaugeHistogram,
            _ => return None,
        })
    }

    /// The word of the text format's `# TYPE` line.
    pub fn text_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
            Kind::Histogram | Kind::GaugeHistogram => "histogram",
        }
    }

    /// As Go's `dto.MetricType.String()` names it (`COUNTER`, ...), for messages.
    pub fn proto_name(self) -> &'static str {
        match self {
            Kind::Counter => "COUNTER",
            Kind::Gauge => "GAUGE",
            Kind::Summary => "SUMMARY",
            Kind::Untyped => "UNTYPED",
            Kind::Histogram => "HISTOGRAM",
            Kind::GaugeHistogram => "GAUGE_HISTOGRAM",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proto_name())
    }
}

/// A `google.protobuf.Timestamp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

impl Timestamp {
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp {
            seconds: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
        }
    }

    pub fn as_secs_f64(self) -> f64 {
        self.seconds as f64 + self.nanos as f64 / 1e9
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counter {
    pub value: f64,
    pub exemplar: Option<Exemplar>,
    pub created: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub sum: f64,
    /// (quantile, value) in the order given.
    pub quantiles: Vec<(f64, f64)>,
    pub created: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bucket {
    pub cumulative_count: u64,
    /// Set instead of `cumulative_count` by float histograms.
    pub cumulative_count_float: Option<f64>,
    pub upper_bound: f64,
    pub exemplar: Option<Exemplar>,
}

/// A span of native-histogram buckets: `length` buckets starting `offset` after the last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// The native (sparse) part of a histogram, kept as sent and written back unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Native {
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub zero_count_float: Option<f64>,
    pub negative_spans: Vec<Span>,
    pub negative_deltas: Vec<i64>,
    pub negative_counts: Vec<f64>,
    pub positive_spans: Vec<Span>,
    pub positive_deltas: Vec<i64>,
    pub positive_counts: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    pub count: u64,
    pub count_float: Option<f64>,
    pub sum: f64,
    pub buckets: Vec<Bucket>,
    pub created: Option<Timestamp>,
    /// Present when any native-histogram field was set.
    pub native: Option<Native>,
    pub exemplars: Vec<Exemplar>,
}

impl Histogram {
    /// The observation count, integer or float.
    pub fn count_value(&self) -> f64 {
        self.count_float.unwrap_or(self.count as f64)
    }
}

/// A metric's value; which one a metric carries is independent of its family's type in the
/// protobuf format, so a mismatch is representable (and refused by consistency checks).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Counter(Counter),
    Gauge(f64),
    Untyped(f64),
    /// Boxed, as histograms: most metrics are plain numbers, and an unboxed histogram
    /// would make every value as large as one.
    Summary(Box<Summary>),
    Histogram(Box<Histogram>),
    /// No value field was set.
    None,
}

impl Value {
    /// Whether this value is what a family of `kind` holds.
    pub fn fits(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Value::Counter(_), Kind::Counter)
                | (Value::Gauge(_), Kind::Gauge)
                | (Value::Untyped(_), Kind::Untyped)
                | (Value::Summary(_), Kind::Summary)
                | (Value::Histogram(_), Kind::Histogram | Kind::GaugeHistogram)
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Label pairs in the order given (the metric name is not among them).
    pub labels: Vec<(String, String)>,
    pub value: Value,
    pub timestamp_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: String,
    /// `None` when no help was given (protobuf's unset `help`).
    pub help: Option<String>,
    pub kind: Kind,
    pub unit: Option<String>,
    pub metrics: Vec<Metric>,
}

/// A family as written: borrowed metadata and metrics, which may come from several stored
/// families (the gateway merges one name's metrics across groups).
#[derive(Clone, Debug)]
pub struct View<'a> {
    pub name: &'a str,
    pub help: Option<&'a str>,
    pub kind: Kind,
    pub unit: Option<&'a str>,
    pub metrics: Vec<&'a Metric>,
}

impl Family {
    pub fn view(&self) -> View<'_> {
        View {
            name: &self.name,
            help: self.help.as_deref(),
            kind: self.kind,
            unit: self.unit.as_deref(),
            metrics: self.metrics.iter().collect(),
        }
    }

    pub fn new(name: impl Into<String>, kind: Kind) -> Family {
        Family {
            name: name.into(),
            help: None,
            kind,
            unit: None,
            metrics: Vec::new(),
        }
    }
}

/// Builds families from a text (0.0.4) or OpenMetrics exposition, enforcing the format's
/// rules ([`Strictness::Spec`](super::Strictness::Spec): for text, those of client_golang's
/// text parser, which the Pushgateway applies). Families come in the order first seen; a
/// family with metadata but no sample is dropped, as client_golang's parser drops it.
///
/// Text samples group as client_golang groups them: `a_bucket`, `a_sum`, `a_count` of a
/// declared histogram `a` (and `a`, `a_sum`, `a_count` of a summary) with equal labels
/// besides `le` (`quantile`) are one metric. OpenMetrics families map onto the same model
/// as Prometheus's OpenMetrics support does: a counter `a` is the family `a_total` (with
/// `a_created` its created timestamp), an info `a` the gauge `a_info`, a stateset a gauge,
/// unknown untyped, a gaugehistogram a histogram of type `GAUGE_HISTOGRAM`.
pub fn from_exposition(bytes: &[u8], format: super::Format) -> Result<Vec<Family>, super::Error> {
    use crate::model::MetricType as M;
    let mut parser = super::Parser::new(bytes, format);
    let mut b = Builder::default();
    let om = format == super::Format::OpenMetrics;
    while let Some(entry) = parser.next_entry() {
        match entry? {
            super::Entry::Help { name, help } => {
                b.meta.entry(name.to_string()).or_default().help = Some(help.to_string());
                if !om {
                    b.family(name, Kind::Untyped).help = Some(help.to_string());
                }
            }
            super::Entry::Type { name, kind } => {
                b.meta.entry(name.to_string()).or_default().kind = Some(kind);
                if !om {
                    b.family(name, text_kind(kind)).kind = text_kind(kind);
                }
            }
            super::Entry::Unit { name, unit } => {
                b.meta.entry(name.to_string()).or_default().unit = Some(unit.to_string());
            }
            super::Entry::Sample(s) => {
                let labels: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let suffix = &s.name[s.family.len().min(s.name.len())..];
                let ex = s.exemplar.map(|e| Exemplar {
                    labels: e
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    value: e.value,
                    timestamp: e.timestamp.map(Timestamp::from_millis),
                });
                let (fam_name, kind) = match (s.kind, suffix) {
                    (M::Counter, _) if om => (format!("{}_total", s.family), Kind::Counter),
                    (M::Info, _) => (s.name.to_string(), Kind::Gauge),
                    (M::StateSet, _) => (s.family.to_string(), Kind::Gauge),
                    (M::Counter, _) => (s.family.to_string(), Kind::Counter),
                    (M::Gauge, _) => (s.family.to_string(), Kind::Gauge),
                    (M::Summary, _) => (s.family.to_string(), Kind::Summary),
                    (M::Histogram, _) => (s.family.to_string(), Kind::Histogram),
                    (M::GaugeHistogram, _) => (s.family.to_string(), Kind::GaugeHistogram),
                    (M::Unknown, _) => (s.family.to_string(), Kind::Untyped),
                };
                let meta = if om {
                    b.meta.get(s.family).cloned()
                } else {
                    None
                };
                let f = b.family(&fam_name, kind);
                if let Some(m) = meta {
                    f.help = m.help.or(f.help.take());
                    f.unit = m.unit.or(f.unit.take());
                }
                let ts = s.timestamp;
                match kind {
                    Kind::Counter if !om => {
                        b.families[b.index[&fam_name]].metrics.push(Metric {
                            labels,
                            value: Value::Counter(Counter {
                                value: s.value,
                                exemplar: ex,
                                created: None,
                            }),
                            timestamp_ms: ts,
                        });
                    }
                    Kind::Counter => {
                        if suffix == "_created" {
                            let m = b.composite(&fam_name, labels, |_| {
                                Value::Counter(Counter::default())
                            });
                            if let Value::Counter(c) = &mut m.value {
                                c.created = Some(Timestamp::from_millis((s.value * 1000.0) as i64));
                            }
                        } else {
                            let m = b.composite(&fam_name, labels, |_| {
                                Value::Counter(Counter::default())
                            });
                            if let Value::Counter(c) = &mut m.value {
                                c.value = s.value;
                                c.exemplar = ex;
                            }
                            m.timestamp_ms = ts;
                        }
                    }
                    Kind::Gauge | Kind::Untyped => {
                        let value = if kind == Kind::Gauge {
                            Value::Gauge(s.value)
                        } else {
                            Value::Untyped(s.value)
                        };
                        b.families[b.index[&fam_name]].metrics.push(Metric {
                            labels,
                            value,
                            timestamp_ms: ts,
                        });
                    }
                    Kind::Summary => {
                        let q = labels
                            .iter()
                            .find(|(k, _)| k == "quantile")
                            .and_then(|(_, v)| super::number::parse_go_float(v));
                        let key: Vec<_> = labels
                            .into_iter()
                            .filter(|(k, _)| k != "quantile")
                            .collect();
                        let m = b.composite(&fam_name, key, |_| Value::Summary(Box::default()));
                        if let Value::Summary(sm) = &mut m.value {
                            match suffix {
                                "_sum" => sm.sum = s.value,
                                "_count" => sm.count = s.value as u64,
                                "_created" => {
                                    sm.created =
                                        Some(Timestamp::from_millis((s.value * 1000.0) as i64))
                                }
                                _ => sm.quantiles.push((q.unwrap_or(f64::NAN), s.value)),
                            }
                        }
                        if suffix != "_created" {
                            m.timestamp_ms = ts;
                        }
                    }
                    Kind::Histogram | Kind::GaugeHistogram => {
                        let le = labels
                            .iter()
                            .find(|(k, _)| k == "le")
                            .and_then(|(_, v)| super::number::parse_go_float(v));
                        let key: Vec<_> = labels.into_iter().filter(|(k, _)| k != "le").collect();
                        let m = b.composite(&fam_name, key, |_| Value::Histogram(Box::default()));
                        if let Value::Histogram(h) = &mut m.value {
                            match suffix {
                                "_sum" | "_gsum" => h.sum = s.value,
                                "_count" | "_gcount" => h.count = s.value as u64,
                                "_created" => {
                                    h.created =
                                        Some(Timestamp::from_millis((s.value * 1000.0) as i64))
                                }
                                _ => h.buckets.push(Bucket {
                                    cumulative_count: s.value as u64,
                                    cumulative_count_float: None,
                                    upper_bound: le.unwrap_or(f64::NAN),
                                    exemplar: ex,
                                }),
                            }
                        }
                        if suffix != "_created" {
                            m.timestamp_ms = ts;
                        }
                    }
                }
            }
        }
    }
    let mut out = b.families;
    out.retain(|f| !f.metrics.is_empty());
    Ok(out)
}

fn text_kind(k: crate::model::MetricType) -> Kind {
    use crate::model::MetricType as M;
    match k {
        M::Counter => Kind::Counter,
        M::Gauge => Kind::Gauge,
        M::Summary => Kind::Summary,
        M::Histogram => Kind::Histogram,
        M::GaugeHistogram => Kind::GaugeHistogram,
        M::Info | M::StateSet => Kind::Gauge,
        M::Unknown => Kind::Untyped,
    }
}

#[derive(Clone, Default)]
struct Meta {
    help: Option<String>,
    kind: Option<crate::model::MetricType>,
    unit: Option<String>,
}

#[derive(Default)]
struct Builder {
    families: Vec<Family>,
    index: std::collections::HashMap<String, usize>,
    /// Per family: the metric of each label set (histograms, summaries, counters with
    /// `_created`), labels sorted.
    composites: std::collections::HashMap<(usize, Vec<(String, String)>), usize>,
    /// OpenMetrics metadata by family name, applied when its samples arrive.
    meta: std::collections::HashMap<String, Meta>,
}

impl Builder {
    fn family(&mut self, name: &str, kind: Kind) -> &mut Family {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.families.push(Family::new(name, kind));
                self.index.insert(name.to_string(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        &mut self.families[i]
    }

    fn composite(
        &mut self,
        family: &str,
        labels: Vec<(String, String)>,
        new: impl FnOnce(&[(String, String)]) -> Value,
    ) -> &mut Metric {
        let fi = self.index[family];
        let mut sorted = labels.clone();
        sorted.sort();
        let mi = match self.composites.get(&(fi, sorted.clone())) {
            Some(&mi) => mi,
            None => {
                let value = new(&labels);
                let f = &mut self.families[fi];
                f.metrics.push(Metric {
                    labels,
                    value,
                    timestamp_ms: None,
                });
                let mi = f.metrics.len() - 1;
                self.composites.insert((fi, sorted), mi);
                mi
            }
        };
        &mut self.families[fi].metrics[mi]
    }
}

/// Writes a family as client_golang's `MetricFamilyToText` does: `# HELP` when help is set,
/// `# TYPE` always, then the samples — a summary's quantiles, `_sum` and `_count`; a
/// histogram's classic buckets (with a `+Inf` bucket added when missing), `_sum` and
/// `_count`. `le` and `quantile` come after the metric's own labels. Native buckets and
/// exemplars have no text form and are left out.
pub fn write_text(f: &View<'_>, out: &mut String) {
    use super::number::write_value;
    if let Some(h) = f.help {
        out.push_str("# HELP ");
        out.push_str(f.name);
        out.push(' ');
        for c in h.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(f.name);
    out.push(' ');
    out.push_str(f.kind.text_name());
    out.push('\n');
    for m in &f.metrics {
        let ts = m.timestamp_ms;
        match &m.value {
            Value::Counter(c) => sample(out, f.name, "", &m.labels, None, c.value, ts, false),
            Value::Gauge(v) | Value::Untyped(v) => {
                sample(out, f.name, "", &m.labels, None, *v, ts, false)
            }
            Value::Summary(s) => {
                let mut q = String::new();
                for (quantile, v) in &s.quantiles {
                    q.clear();
                    write_value(&mut q, *quantile);
                    sample(
                        out,
                        f.name,
                        "",
                        &m.labels,
                        Some(("quantile", &q)),
                        *v,
                        ts,
                        false,
                    );
                }
                sample(out, f.name, "_sum", &m.labels, None, s.sum, ts, false);
                sample(
                    out,
                    f.name,
                    "_count",
                    &m.labels,
                    None,
                    s.count as f64,
                    ts,
                    false,
                );
            }
            Value::Histogram(h) => {
                let mut le = String::new();
                let mut inf = false;
                for b in &h.buckets {
                    le.clear();
                    write_value(&mut le, b.upper_bound);
                    inf |= b.upper_bound == f64::INFINITY;
                    let count = b
                        .cumulative_count_float
                        .filter(|c| *c != 0.0)
                        .unwrap_or(b.cumulative_count as f64);
                    sample(
                        out,
                        f.name,
                        "_bucket",
                        &m.labels,
                        Some(("le", &le)),
                        count,
                        ts,
                        false,
                    );
                }
                if !inf {
                    let count = h
                        .count_float
                        .filter(|c| *c != 0.0)
                        .unwrap_or(h.count as f64);
                    sample(
                        out,
                        f.name,
                        "_bucket",
                        &m.labels,
                        Some(("le", "+Inf")),
                        count,
                        ts,
                        false,
                    );
                }
                sample(out, f.name, "_sum", &m.labels, None, h.sum, ts, false);
                let count = h
                    .count_float
                    .filter(|c| *c != 0.0)
                    .unwrap_or(h.count as f64);
                sample(out, f.name, "_count", &m.labels, None, count, ts, false);
            }
            Value::None => {}
        }
    }
}

/// Writes a family as client_golang's `MetricFamilyToOpenMetrics` does (without `_created`
/// lines): a counter named `x_total` is the family `x`, a counter without the suffix and an
/// untyped family are `unknown`; floats carry a decimal point (`1.0`), counts are integers,
/// timestamps seconds, and exemplars follow their sample. The caller ends the stream with
/// `# EOF`.
pub fn write_openmetrics(f: &View<'_>, out: &mut String) {
    let (name, kind): (&str, &str) = match f.kind {
        Kind::Counter => match f.name.strip_suffix("_total") {
            Some(base) => (base, "counter"),
            None => (f.name, "unknown"),
        },
        Kind::Gauge => (f.name, "gauge"),
        Kind::Summary => (f.name, "summary"),
        Kind::Untyped => (f.name, "unknown"),
        Kind::Histogram => (f.name, "histogram"),
        Kind::GaugeHistogram => (f.name, "gaugehistogram"),
    };
    let meta_escape = |out: &mut String, s: &str| {
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '"' => out.push_str("\\\""),
                c => out.push(c),
            }
        }
    };
    if let Some(h) = &f.help {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        meta_escape(out, h);
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
    if let Some(u) = f.unit {
        out.push_str("# UNIT ");
        out.push_str(name);
        out.push(' ');
        meta_escape(out, u);
        out.push('\n');
    }
    let om_float = |v: f64| {
        let mut s = String::new();
        super::number::write_value(&mut s, v);
        if v.is_finite() && !s.contains(['.', 'e']) {
            s.push_str(".0");
        }
        s
    };
    for m in &f.metrics {
        let ts = m.timestamp_ms;
        match &m.value {
            Value::Counter(c) => {
                let suffix = if kind == "counter" { "_total" } else { "" };
                sample(out, name, suffix, &m.labels, None, c.value, ts, true);
                exemplar(out, c.exemplar.as_ref());
            }
            Value::Gauge(v) | Value::Untyped(v) => {
                sample(out, name, "", &m.labels, None, *v, ts, true);
            }
            Value::Summary(s) => {
                for (q, v) in &s.quantiles {
                    sample(
                        out,
                        name,
                        "",
                        &m.labels,
                        Some(("quantile", &om_float(*q))),
                        *v,
                        ts,
                        true,
                    );
                }
                sample(out, name, "_sum", &m.labels, None, s.sum, ts, true);
                count_sample(out, name, "_count", &m.labels, None, s.count, ts);
            }
            Value::Histogram(h) => {
                let mut inf = false;
                for b in &h.buckets {
                    inf |= b.upper_bound == f64::INFINITY;
                    let le = om_float(b.upper_bound);
                    count_sample(
                        out,
                        name,
                        "_bucket",
                        &m.labels,
                        Some(("le", &le)),
                        b.cumulative_count,
                        ts,
                    );
                    exemplar(out, b.exemplar.as_ref());
                }
                if !inf {
                    count_sample(
                        out,
                        name,
                        "_bucket",
                        &m.labels,
                        Some(("le", "+Inf")),
                        h.count,
                        ts,
                    );
                }
                sample(out, name, "_sum", &m.labels, None, h.sum, ts, true);
                count_sample(out, name, "_count", &m.labels, None, h.count, ts);
            }
            Value::None => {}
        }
    }
}

fn count_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    count: u64,
    ts: Option<i64>,
) {
    use std::fmt::Write as _;
    sample_head(out, name, suffix, labels, extra);
    let _ = write!(out, "{count}");
    sample_tail(out, ts, true);
}

fn exemplar(out: &mut String, e: Option<&Exemplar>) {
    let Some(e) = e.filter(|e| !e.labels.is_empty()) else {
        return;
    };
    // Replace the sample line's newline with the exemplar.
    if out.ends_with('\n') {
        out.pop();
    }
    out.push_str(" # ");
    label_set(out, &e.labels, None);
    out.push(' ');
    super::number::write_value(out, e.value);
    if let Some(t) = e.timestamp {
        out.push(' ');
        super::number::write_value(out, t.as_secs_f64());
    }
    out.push('\n');
}

#[allow(clippy::too_many_arguments)]
fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    value: f64,
    ts: Option<i64>,
    om: bool,
) {
    // Go writes negative zero as 0.
    let value = if value == 0.0 { 0.0 } else { value };
    sample_head(out, name, suffix, labels, extra);
    super::number::write_value(out, value);
    if om && value.is_finite() && value.fract() == 0.0 && value.abs() < 1e6 {
        out.push_str(".0");
    }
    sample_tail(out, ts, om);
}

fn sample_head(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
) {
    let legacy = crate::model::labels::is_legacy_metric_name(name);
    if legacy {
        out.push_str(name);
        out.push_str(suffix);
    }
    if !legacy || !labels.is_empty() || extra.is_some() {
        if legacy {
            label_set(out, labels, extra);
        } else {
            out.push_str("{\"");
            let _ = crate::model::labels::write_escaped(out, name);
            let _ = crate::model::labels::write_escaped(out, suffix);
            out.push('"');
            if !labels.is_empty() || extra.is_some() {
                out.push(',');
                let mut inner = String::new();
                label_set(&mut inner, labels, extra);
                out.push_str(&inner[1..]);
            } else {
                out.push('}');
            }
        }
    }
    out.push(' ');
}

fn sample_tail(out: &mut String, ts: Option<i64>, om: bool) {
    use std::fmt::Write as _;
    if let Some(t) = ts {
        out.push(' ');
        if om {
            super::number::write_value(out, t as f64 / 1000.0);
        } else {
            let _ = write!(out, "{t}");
        }
    }
    out.push('\n');
}

fn label_set(out: &mut String, labels: &[(String, String)], extra: Option<(&str, &str)>) {
    out.push('{');
    let mut first = true;
    for (k, v) in labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra)
    {
        if !first {
            out.push(',');
        }
        first = false;
        if crate::model::labels::is_legacy_label_name(k) {
            out.push_str(k);
        } else {
            out.push('"');
            let _ = crate::model::labels::write_escaped(out, k);
            out.push('"');
        }
        out.push_str("=\"");
        let _ = crate::model::labels::write_escaped(out, v);
        out.push('"');
    }
    out.push('}');
}
