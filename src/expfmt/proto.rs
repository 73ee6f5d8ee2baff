//! The delimited protobuf exposition format: client_model's `MetricFamily` messages, each
//! preceded by its length, as client_golang and the Java client push them
//! (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
//! encoding=delimited`). A hand-written codec: the schema is small and fixed, so no
//! generated code and no reflection.
//!
//! ```text
//!   stream   := { varint(len) MetricFamily[len] }
//!   message  := { key value }            key = varint(field << 3 | wire type)
//!   wire 0   varint (uint64, int64 as two's complement, sint32/64 zig-zag, enum, bool)
//!   wire 1   8 bytes little-endian (double)
//!   wire 2   varint(len) bytes (string, message, packed repeated scalars)
//!   wire 5   4 bytes (float, fixed32: none in this schema, skipped)
//!
//!   MetricFamily  1 name  2 help  3 type(enum)  4 metric*  5 unit
//!   Metric        1 label*  2 gauge  3 counter  4 summary  5 untyped  7 histogram  6 timestamp_ms
//!   LabelPair     1 name  2 value                 Gauge, Untyped   1 value(double)
//!   Counter       1 value  2 exemplar  3 created_timestamp
//!   Summary       1 sample_count  2 sample_sum  3 quantile*  4 created_timestamp
//!   Quantile      1 quantile  2 value
//!   Histogram     1 sample_count  4 sample_count_float  2 sample_sum  3 bucket*
//!                 15 created_timestamp  5 schema(sint32)  6 zero_threshold  7 zero_count
//!                 8 zero_count_float  9/12 negative/positive_span*  10/13 *_delta(sint64)*
//!                 11/14 *_count(double)*  16 exemplars*
//!   Bucket        1 cumulative_count  4 cumulative_count_float  2 upper_bound  3 exemplar
//!   BucketSpan    1 offset(sint32)  2 length(uint32)
//!   Exemplar      1 label*  2 value  3 timestamp      Timestamp  1 seconds  2 nanos
//! ```
//!
//! Decoding accepts repeated scalars packed or not (proto2 writes them unpacked), skips
//! unknown fields, and fails with the byte offset and a reason on anything malformed. Every
//! element read consumes input, so memory stays within a small multiple of the input's size.

use std::fmt;

use super::family::{
    Bucket, Counter, Exemplar, Family, Histogram, Kind, Metric, Native, Span, Summary, Timestamp,
    Value, View,
};

/// The media type of delimited protobuf expositions, as client_golang sends it.
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Why a protobuf body does not decode, and where (a byte offset into the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// The largest message accepted in a delimited stream (client_golang's reader has no limit;
/// the body limit of the server bounds it anyway).
const MAX_MESSAGE: u64 = 1 << 30;

/// Decodes a stream of length-delimited `MetricFamily` messages.
pub fn decode_delimited(input: &[u8]) -> Result<Vec<Family>, DecodeError> {
    let mut r = Reader {
        buf: input,
        pos: 0,
        base: 0,
    };
    let mut out = Vec::new();
    while !r.at_end() {
        let start = r.pos;
        let len = r.varint()?;
        if len > MAX_MESSAGE || len as usize > r.buf.len() - r.pos {
            return Err(DecodeError {
                offset: start,
                reason: format!("message length {len} runs past the end of the input"),
            });
        }
        let body_start = r.pos;
        let body = r.take(len as usize)?;
        out.push(family_at(body, body_start)?);
    }
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole input, for messages.
    base: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    Varint,
    Fixed64,
    Bytes,
    Fixed32,
}

impl<'a> Reader<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err(&self, at: usize, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.base + at,
            reason: reason.into(),
        }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err(start, "truncated varint"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err(start, "varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err(start, "varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() - self.pos {
            return Err(self.err(self.pos, "truncated field"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn key(&mut self) -> Result<(u64, Wire), DecodeError> {
        let at = self.pos;
        let k = self.varint()?;
        let wire = match k & 7 {
            0 => Wire::Varint,
            1 => Wire::Fixed64,
            2 => Wire::Bytes,
            5 => Wire::Fixed32,
            w => return Err(self.err(at, format!("unsupported wire type {w}"))),
        };
        let field = k >> 3;
        if field == 0 {
            return Err(self.err(at, "field number 0"));
        }
        Ok((field, wire))
    }

    fn skip(&mut self, wire: Wire) -> Result<(), DecodeError> {
        match wire {
            Wire::Varint => self.varint().map(|_| ()),
            Wire::Fixed64 => self.take(8).map(|_| ()),
            Wire::Fixed32 => self.take(4).map(|_| ()),
            Wire::Bytes => {
                let n = self.len()?;
                self.take(n).map(|_| ())
            }
        }
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.varint()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(self.err(at, "length runs past the end of the message"));
        }
        Ok(n as usize)
    }

    /// A nested message's bytes, as a reader keeping absolute offsets.
    fn message(&mut self, wire: Wire, what: &str) -> Result<Reader<'a>, DecodeError> {
        self.expect(wire, Wire::Bytes, what)?;
        let n = self.len()?;
        let base = self.base + self.pos;
        let buf = self.take(n)?;
        Ok(Reader { buf, pos: 0, base })
    }

    fn expect(&self, wire: Wire, want: Wire, what: &str) -> Result<(), DecodeError> {
        if wire != want {
            return Err(self.err(self.pos, format!("{what}: wrong wire type")));
        }
        Ok(())
    }

    fn double(&mut self, wire: Wire, what: &str) -> Result<f64, DecodeError> {
        self.expect(wire, Wire::Fixed64, what)?;
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn uint(&mut self, wire: Wire, what: &str) -> Result<u64, DecodeError> {
        self.expect(wire, Wire::Varint, what)?;
        self.varint()
    }

    fn string(&mut self, wire: Wire, what: &str) -> Result<String, DecodeError> {
        self.expect(wire, Wire::Bytes, what)?;
        let at = self.pos;
        let n = self.len()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err(at, format!("{what}: invalid UTF-8")))
    }

    /// A repeated scalar, packed (one length-delimited run) or not (one value).
    fn repeated<T>(
        &mut self,
        wire: Wire,
        scalar: Wire,
        out: &mut Vec<T>,
        read: impl Fn(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<(), DecodeError> {
        if wire == Wire::Bytes {
            let n = self.len()?;
            let base = self.base + self.pos;
            let buf = self.take(n)?;
            let mut r = Reader { buf, pos: 0, base };
            while !r.at_end() {
                out.push(read(&mut r)?);
            }
            return Ok(());
        }
        if wire != scalar {
            return Err(self.err(self.pos, "repeated field: wrong wire type"));
        }
        out.push(read(self)?);
        Ok(())
    }
}

fn zigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn family_at(buf: &[u8], base: usize) -> Result<Family, DecodeError> {
    let mut r = Reader { buf, pos: 0, base };
    let mut name = String::new();
    let mut help = None;
    let mut kind_number = 0;
    let mut unit = None;
    let mut raw_metrics = Vec::new();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => name = r.string(wire, "name")?,
            2 => help = Some(r.string(wire, "help")?),
            3 => kind_number = r.uint(wire, "type")?,
            4 => raw_metrics.push(r.message(wire, "metric")?),
            5 => unit = Some(r.string(wire, "unit")?),
            _ => r.skip(wire)?,
        }
    }
    // proto2: an enum value this schema does not know reads as the default, COUNTER.
    let kind = Kind::from_number(kind_number).unwrap_or(Kind::Counter);
    let mut metrics = Vec::with_capacity(raw_metrics.len());
    for m in raw_metrics {
        metrics.push(metric(m, kind)?);
    }
    Ok(Family {
        name,
        help,
        kind,
        unit,
        metrics,
    })
}

fn metric(mut r: Reader<'_>, kind: Kind) -> Result<Metric, DecodeError> {
    let mut labels = Vec::new();
    let mut timestamp_ms = None;
    let mut values: Vec<Value> = Vec::new();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => labels.push(label_pair(r.message(wire, "label")?)?),
            2 => values.push(Value::Gauge(single_double(r.message(wire, "gauge")?)?)),
            3 => values.push(Value::Counter(counter(r.message(wire, "counter")?)?)),
            4 => values.push(Value::Summary(Box::new(summary(
                r.message(wire, "summary")?,
            )?))),
            5 => values.push(Value::Untyped(single_double(r.message(wire, "untyped")?)?)),
            7 => values.push(Value::Histogram(Box::new(histogram(
                r.message(wire, "histogram")?,
            )?))),
            6 => timestamp_ms = Some(r.uint(wire, "timestamp_ms")? as i64),
            _ => r.skip(wire)?,
        }
    }
    // The value matching the family's type wins; otherwise the last one set.
    let value = match values.iter().rposition(|v| v.fits(kind)) {
        Some(i) => values.swap_remove(i),
        None => values.pop().unwrap_or(Value::None),
    };
    Ok(Metric {
        labels,
        value,
        timestamp_ms,
    })
}

fn label_pair(mut r: Reader<'_>) -> Result<(String, String), DecodeError> {
    let (mut name, mut value) = (String::new(), String::new());
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => name = r.string(wire, "label name")?,
            2 => value = r.string(wire, "label value")?,
            _ => r.skip(wire)?,
        }
    }
    Ok((name, value))
}

fn single_double(mut r: Reader<'_>) -> Result<f64, DecodeError> {
    let mut v = 0.0;
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => v = r.double(wire, "value")?,
            _ => r.skip(wire)?,
        }
    }
    Ok(v)
}

fn timestamp(mut r: Reader<'_>) -> Result<Timestamp, DecodeError> {
    let mut t = Timestamp::default();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => t.seconds = r.uint(wire, "seconds")? as i64,
            2 => t.nanos = r.uint(wire, "nanos")? as i32,
            _ => r.skip(wire)?,
        }
    }
    Ok(t)
}

fn exemplar(mut r: Reader<'_>) -> Result<Exemplar, DecodeError> {
    let mut e = Exemplar {
        labels: Vec::new(),
        value: 0.0,
        timestamp: None,
    };
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => e
                .labels
                .push(label_pair(r.message(wire, "exemplar label")?)?),
            2 => e.value = r.double(wire, "exemplar value")?,
            3 => e.timestamp = Some(timestamp(r.message(wire, "exemplar timestamp")?)?),
            _ => r.skip(wire)?,
        }
    }
    Ok(e)
}

fn counter(mut r: Reader<'_>) -> Result<Counter, DecodeError> {
    let mut c = Counter::default();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => c.value = r.double(wire, "counter value")?,
            2 => c.exemplar = Some(exemplar(r.message(wire, "exemplar")?)?),
            3 => c.created = Some(timestamp(r.message(wire, "created_timestamp")?)?),
            _ => r.skip(wire)?,
        }
    }
    Ok(c)
}

fn summary(mut r: Reader<'_>) -> Result<Summary, DecodeError> {
    let mut s = Summary::default();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => s.count = r.uint(wire, "sample_count")?,
            2 => s.sum = r.double(wire, "sample_sum")?,
            3 => {
                let mut q = r.message(wire, "quantile")?;
                let (mut quantile, mut value) = (0.0, 0.0);
                while !q.at_end() {
                    let (f, w) = q.key()?;
                    match f {
                        1 => quantile = q.double(w, "quantile")?,
                        2 => value = q.double(w, "quantile value")?,
                        _ => q.skip(w)?,
                    }
                }
                s.quantiles.push((quantile, value));
            }
            4 => s.created = Some(timestamp(r.message(wire, "created_timestamp")?)?),
            _ => r.skip(wire)?,
        }
    }
    Ok(s)
}

fn span(mut r: Reader<'_>) -> Result<Span, DecodeError> {
    let mut s = Span::default();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => s.offset = zigzag32(r.uint(wire, "span offset")?),
            2 => s.length = r.uint(wire, "span length")? as u32,
            _ => r.skip(wire)?,
        }
    }
    Ok(s)
}

fn histogram(mut r: Reader<'_>) -> Result<Histogram, DecodeError> {
    let mut h = Histogram::default();
    let mut n = Native::default();
    let mut native = false;
    let read_double = |r: &mut Reader<'_>| r.double(Wire::Fixed64, "count");
    let read_sint = |r: &mut Reader<'_>| Ok(zigzag64(r.varint()?));
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => h.count = r.uint(wire, "sample_count")?,
            4 => h.count_float = Some(r.double(wire, "sample_count_float")?),
            2 => h.sum = r.double(wire, "sample_sum")?,
            3 => h.buckets.push(bucket(r.message(wire, "bucket")?)?),
            15 => h.created = Some(timestamp(r.message(wire, "created_timestamp")?)?),
            16 => h.exemplars.push(exemplar(r.message(wire, "exemplars")?)?),
            5..=14 => {
                native = true;
                match field {
                    5 => n.schema = zigzag32(r.uint(wire, "schema")?),
                    6 => n.zero_threshold = r.double(wire, "zero_threshold")?,
                    7 => n.zero_count = r.uint(wire, "zero_count")?,
                    8 => n.zero_count_float = Some(r.double(wire, "zero_count_float")?),
                    9 => n
                        .negative_spans
                        .push(span(r.message(wire, "negative_span")?)?),
                    12 => n
                        .positive_spans
                        .push(span(r.message(wire, "positive_span")?)?),
                    10 => r.repeated(wire, Wire::Varint, &mut n.negative_deltas, read_sint)?,
                    13 => r.repeated(wire, Wire::Varint, &mut n.positive_deltas, read_sint)?,
                    11 => r.repeated(wire, Wire::Fixed64, &mut n.negative_counts, read_double)?,
                    _ => r.repeated(wire, Wire::Fixed64, &mut n.positive_counts, read_double)?,
                }
            }
            _ => r.skip(wire)?,
        }
    }
    if native {
        h.native = Some(n);
    }
    Ok(h)
}

fn bucket(mut r: Reader<'_>) -> Result<Bucket, DecodeError> {
    let mut b = Bucket::default();
    while !r.at_end() {
        let (field, wire) = r.key()?;
        match field {
            1 => b.cumulative_count = r.uint(wire, "cumulative_count")?,
            4 => b.cumulative_count_float = Some(r.double(wire, "cumulative_count_float")?),
            2 => b.upper_bound = r.double(wire, "upper_bound")?,
            3 => b.exemplar = Some(exemplar(r.message(wire, "exemplar")?)?),
            _ => r.skip(wire)?,
        }
    }
    Ok(b)
}

// ---- encoding ----

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire: u64) {
    put_varint(out, field << 3 | wire);
}

fn put_double(out: &mut Vec<u8>, field: u64, v: f64) {
    put_key(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_uint(out: &mut Vec<u8>, field: u64, v: u64) {
    put_key(out, field, 0);
    put_varint(out, v);
}

fn put_sint(out: &mut Vec<u8>, field: u64, v: i64) {
    put_uint(out, field, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Writes a nested message built by `f`.
fn put_message(out: &mut Vec<u8>, field: u64, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    put_bytes(out, field, &inner);
}

fn put_labels(out: &mut Vec<u8>, field: u64, labels: &[(String, String)]) {
    for (k, v) in labels {
        put_message(out, field, |m| {
            put_bytes(m, 1, k.as_bytes());
            put_bytes(m, 2, v.as_bytes());
        });
    }
}

fn put_timestamp(out: &mut Vec<u8>, field: u64, t: &Option<Timestamp>) {
    if let Some(t) = t {
        put_message(out, field, |m| {
            if t.seconds != 0 {
                put_uint(m, 1, t.seconds as u64);
            }
            if t.nanos != 0 {
                put_uint(m, 2, t.nanos as i64 as u64);
            }
        });
    }
}

fn put_exemplar(out: &mut Vec<u8>, field: u64, e: &Exemplar) {
    put_message(out, field, |m| {
        put_labels(m, 1, &e.labels);
        put_double(m, 2, e.value);
        put_timestamp(m, 3, &e.timestamp);
    });
}

fn put_spans(out: &mut Vec<u8>, field: u64, spans: &[Span]) {
    for s in spans {
        put_message(out, field, |m| {
            put_sint(m, 1, i64::from(s.offset));
            put_uint(m, 2, u64::from(s.length));
        });
    }
}

fn put_histogram(m: &mut Vec<u8>, h: &Histogram) {
    put_uint(m, 1, h.count);
    if let Some(c) = h.count_float {
        put_double(m, 4, c);
    }
    put_double(m, 2, h.sum);
    for b in &h.buckets {
        put_message(m, 3, |bm| {
            put_uint(bm, 1, b.cumulative_count);
            if let Some(c) = b.cumulative_count_float {
                put_double(bm, 4, c);
            }
            put_double(bm, 2, b.upper_bound);
            if let Some(e) = &b.exemplar {
                put_exemplar(bm, 3, e);
            }
        });
    }
    put_timestamp(m, 15, &h.created);
    if let Some(n) = &h.native {
        put_sint(m, 5, i64::from(n.schema));
        put_double(m, 6, n.zero_threshold);
        put_uint(m, 7, n.zero_count);
        if let Some(c) = n.zero_count_float {
            put_double(m, 8, c);
        }
        put_spans(m, 9, &n.negative_spans);
        for d in &n.negative_deltas {
            put_sint(m, 10, *d);
        }
        for c in &n.negative_counts {
            put_double(m, 11, *c);
        }
        put_spans(m, 12, &n.positive_spans);
        for d in &n.positive_deltas {
            put_sint(m, 13, *d);
        }
        for c in &n.positive_counts {
            put_double(m, 14, *c);
        }
    }
    for e in &h.exemplars {
        put_exemplar(m, 16, e);
    }
}

fn put_metric(out: &mut Vec<u8>, metric: &Metric) {
    put_message(out, 4, |m| {
        put_labels(m, 1, &metric.labels);
        match &metric.value {
            Value::Gauge(v) => put_message(m, 2, |g| put_double(g, 1, *v)),
            Value::Counter(c) => put_message(m, 3, |cm| {
                put_double(cm, 1, c.value);
                if let Some(e) = &c.exemplar {
                    put_exemplar(cm, 2, e);
                }
                put_timestamp(cm, 3, &c.created);
            }),
            Value::Summary(s) => put_message(m, 4, |sm| {
                put_uint(sm, 1, s.count);
                put_double(sm, 2, s.sum);
                for (q, v) in &s.quantiles {
                    put_message(sm, 3, |qm| {
                        put_double(qm, 1, *q);
                        put_double(qm, 2, *v);
                    });
                }
                put_timestamp(sm, 4, &s.created);
            }),
            Value::Untyped(v) => put_message(m, 5, |u| put_double(u, 1, *v)),
            Value::Histogram(h) => put_message(m, 7, |hm| put_histogram(hm, h)),
            Value::None => {}
        }
        if let Some(t) = metric.timestamp_ms {
            put_uint(m, 6, t as u64);
        }
    });
}

/// Appends one family as a length-delimited message.
pub fn encode_delimited(f: &View<'_>, out: &mut Vec<u8>) {
    let mut m = Vec::new();
    put_bytes(&mut m, 1, f.name.as_bytes());
    if let Some(h) = f.help {
        put_bytes(&mut m, 2, h.as_bytes());
    }
    put_uint(&mut m, 3, f.kind as u64);
    for metric in &f.metrics {
        put_metric(&mut m, metric);
    }
    if let Some(u) = f.unit {
        put_bytes(&mut m, 5, u.as_bytes());
    }
    put_varint(out, m.len() as u64);
    out.extend_from_slice(&m);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_families() -> Vec<Family> {
        let mut c = Family::new("requests_total", Kind::Counter);
        c.help = Some("Requests.".into());
        c.metrics.push(Metric {
            labels: vec![("code".into(), "200".into())],
            value: Value::Counter(Counter {
                value: 7.0,
                exemplar: Some(Exemplar {
                    labels: vec![("trace_id".into(), "abc".into())],
                    value: 1.5,
                    timestamp: Some(Timestamp::from_millis(1_700_000_000_123)),
                }),
                created: None,
            }),
            timestamp_ms: None,
        });
        let mut h = Family::new("latency_seconds", Kind::Histogram);
        h.metrics.push(Metric {
            labels: vec![],
            value: Value::Histogram(Box::new(Histogram {
                count: 3,
                sum: 1.25,
                buckets: vec![
                    Bucket {
                        cumulative_count: 1,
                        upper_bound: 0.1,
                        ..Bucket::default()
                    },
                    Bucket {
                        cumulative_count: 3,
                        upper_bound: f64::INFINITY,
                        ..Bucket::default()
                    },
                ],
                native: Some(Native {
                    schema: -2,
                    zero_threshold: 1e-128,
                    negative_spans: vec![Span {
                        offset: -3,
                        length: 2,
                    }],
                    negative_deltas: vec![1, -1],
                    ..Native::default()
                }),
                ..Histogram::default()
            })),
            timestamp_ms: Some(-5),
        });
        let mut s = Family::new("rpc", Kind::Summary);
        s.unit = Some("seconds".into());
        s.metrics.push(Metric {
            labels: vec![("a".into(), "".into())],
            value: Value::Summary(Box::new(Summary {
                count: 2,
                sum: 0.5,
                quantiles: vec![(0.5, 0.2), (0.99, 0.3)],
                created: Some(Timestamp {
                    seconds: 10,
                    nanos: 5,
                }),
            })),
            timestamp_ms: None,
        });
        vec![c, h, s]
    }

    #[test]
    fn round_trip() {
        let fams = sample_families();
        let mut buf = Vec::new();
        for f in &fams {
            encode_delimited(&f.view(), &mut buf);
        }
        assert_eq!(decode_delimited(&buf).unwrap(), fams);
    }

    #[test]
    fn packed_repeated_and_unknown_fields() {
        // Histogram with packed positive_delta (field 13) and an unknown field 99.
        let mut h = Vec::new();
        put_uint(&mut h, 1, 4);
        let mut packed = Vec::new();
        for d in [2i64, -1, 3] {
            put_varint(&mut packed, ((d << 1) ^ (d >> 63)) as u64);
        }
        put_bytes(&mut h, 13, &packed);
        put_uint(&mut h, 99, 1);
        let mut m = Vec::new();
        put_bytes(&mut m, 7, &h);
        let mut f = Vec::new();
        put_bytes(&mut f, 1, b"h");
        put_uint(&mut f, 3, 4);
        put_bytes(&mut f, 4, &m);
        let mut buf = Vec::new();
        put_varint(&mut buf, f.len() as u64);
        buf.extend_from_slice(&f);
        let fams = decode_delimited(&buf).unwrap();
        let Value::Histogram(h) = &fams[0].metrics[0].value else {
            panic!("not a histogram")
        };
        assert_eq!(h.count, 4);
        assert_eq!(h.native.as_ref().unwrap().positive_deltas, vec![2, -1, 3]);
    }

    #[test]
    fn errors_have_offsets() {
        assert_eq!(
            decode_delimited(&[5, 1, 2]).unwrap_err(),
            DecodeError {
                offset: 0,
                reason: "message length 5 runs past the end of the input".into()
            }
        );
        // name field (1) with length 9 but only 1 byte.
        let e = decode_delimited(&[3, 0x0a, 9, b'a']).unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(
            decode_delimited(&[2, 0x18, 9]).unwrap()[0].kind,
            Kind::Counter
        );
        assert!(decode_delimited(&[1, 0x0b]).is_err()); // wire type 3 (group)
        assert!(decode_delimited(&[
            11, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
        ])
        .is_err());
    }
}
