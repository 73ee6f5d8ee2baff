//! The exposition parser and writer through the library API: round trips, fuzzing, bounds.

use crate::util::Rng;
use std::io::Read;

use prombox::expfmt::{Entry, Error, ErrorKind, Format, Parser, Strictness, Writer, MAX_LINE};
use prombox::model::MetricType;

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
/// An entry with everything owned, for comparisons.
#[derive(Clone, Debug, PartialEq)]
enum Owned {
    Help(String, String),
    Type(String, MetricType),
    Sample {
        name: String,
        labels: Vec<(String, String)>,
        value: u64,
        ts: Option<i64>,
    },
}

fn owned(e: &Entry) -> Option<Owned> {
    Some(match e {
        Entry::Help { name, help } => Owned::Help(name.to_string(), help.to_string()),
        Entry::Type { name, kind } => Owned::Type(name.to_string(), *kind),
        Entry::Unit { .. } => return None,
        Entry::Sample(s) => Owned::Sample {
            name: s.name.to_string(),
            labels: s
                .labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            value: canon_bits(s.value),
            ts: s.timestamp,
        },
    })
}

/// Value bits, with every NaN folded to one (the text formats have one NaN spelling).
fn canon_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}

fn parse_all(data: &[u8], format: Format) -> Result<Vec<Owned>, String> {
    let mut p = Parser::new(data, format);
    let mut out = Vec::new();
    while let Some(e) = p.next_entry() {
        match e {
            Ok(e) => out.extend(owned(&e)),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

fn write_all(entries: &[Owned], format: Format) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), format);
    for e in entries {
        match e {
            Owned::Help(n, h) => w.help(n, h).unwrap(),
            Owned::Type(n, k) => w.kind(n, *k).unwrap(),
            Owned::Sample {
                name,
                labels,
                value,
                ts,
            } => w
                .sample(
                    name,
                    labels.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                    f64::from_bits(*value),
                    *ts,
                    None,
                )
                .unwrap(),
        }
    }
    w.finish().unwrap()
}

fn random_string(r: &mut Rng, alphabet: &[&str], max: usize) -> String {
    (0..r.below(max + 1)).map(|_| *r.pick(alphabet)).collect()
}

fn random_value(r: &mut Rng) -> f64 {
    match r.below(8) {
        0 => *r.pick(&[
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-300,
            1e300,
        ]),
        1 => r.below(1000) as f64,
        2 => (r.below(2_000_000) as f64 - 1e6) / 1000.0,
        _ => loop {
            let v = f64::from_bits(r.next());
            if !v.is_nan() {
                break v;
            }
        },
    }
}

/// Random families of gauges and unknowns: unique names, labels with escapes and UTF-8.
fn random_exposition(r: &mut Rng, format: Format) -> Vec<Owned> {
    const NAME: &[&str] = &["a", "b", "_", ":", "z9", "Q"];
    const UTF8: &[&str] = &["a", ".", "-", "ü", "日", " ", "\"", "\\"];
    const VALUE: &[&str] = &[
        "a", " ", "\\", "\"", "\n", "#", "{", "}", ",", "=", "é", "🙂", "\\n",
    ];
    let mut out = Vec::new();
    for f in 0..1 + r.below(5) {
        let name = if r.below(4) == 0 {
            format!("{}.{f}", random_string(r, UTF8, 4))
        } else {
            format!(
                "{}{}_{f}",
                r.pick(&["m", "x", "_"]),
                random_string(r, NAME, 6)
            )
        };
        let kind = *r.pick(&[MetricType::Gauge, MetricType::Unknown]);
        if r.below(2) == 0 {
            out.push(Owned::Help(name.clone(), random_string(r, VALUE, 12)));
        }
        out.push(Owned::Type(name.clone(), kind));
        let with_ts = r.below(2) == 0;
        for i in 0..1 + r.below(4) {
            let mut labels = vec![("i".to_string(), i.to_string())];
            for j in 0..r.below(4) {
                let ln = if r.below(3) == 0 {
                    format!("{}{j}", random_string(r, UTF8, 3))
                } else {
                    format!("l{}{j}", random_string(r, NAME, 3))
                };
                if ln == "__name__" || labels.iter().any(|(n, _)| *n == ln) {
                    continue;
                }
                labels.push((ln, random_string(r, VALUE, 10)));
            }
            let ts =
                with_ts.then(|| (r.next() % 2_000_000_000_000_000) as i64 - 1_000_000_000_000_000);
            out.push(Owned::Sample {
                name: name.clone(),
                labels,
                value: canon_bits(random_value(r)),
                ts,
            });
        }
    }
    let _ = format;
    out
}

#[test]
fn write_then_parse_round_trips() {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    for format in [Format::Text, Format::OpenMetrics] {
        for case in 0..3000 {
            let gen = random_exposition(&mut r, format);
            let text = write_all(&gen, format);
            let parsed = parse_all(&text, format).unwrap_or_else(|e| {
                panic!(
                    "{format:?} case {case}: {e}\n{}",
                    String::from_utf8_lossy(&text)
                )
            });
            assert_eq!(
                parsed,
                gen,
                "{format:?} case {case}:\n{}",
                String::from_utf8_lossy(&text)
            );
            assert_eq!(write_all(&parsed, format), text, "{format:?} case {case}");
        }
    }
}

/// Every valid upstream OpenMetrics case and textparse file survives parse → write → parse.
#[test]
fn conformance_files_round_trip() {
    let mut files = Vec::new();
    if let Some(dir) = crate::util::conformance("openmetrics") {
        for e in std::fs::read_dir(dir).unwrap() {
            let case = e.unwrap().path();
            let meta = std::fs::read_to_string(case.join("test.json")).unwrap();
            if meta.contains("\"shouldParse\": true") {
                files.push((case.join("metrics"), Format::OpenMetrics));
            }
        }
    }
    if let Some(dir) = crate::util::conformance("textparse") {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let f = if p.to_string_lossy().ends_with(".om.txt") {
                Format::OpenMetrics
            } else {
                Format::Text
            };
            files.push((p, f));
        }
    }
    for (path, format) in files {
        let data = std::fs::read(&path).unwrap();
        let lenient = |d: &[u8]| -> Vec<Owned> {
            let mut p = Parser::with_strictness(d, format, Strictness::Prometheus);
            let mut v = Vec::new();
            while let Some(e) = p.next_entry() {
                v.extend(owned(
                    &e.unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                ));
            }
            v
        };
        let first = lenient(&data);
        let written = write_all(&first, format);
        assert_eq!(lenient(&written), first, "{}", path.display());
    }
}

fn fuzz_one(data: &[u8]) {
    for format in [Format::Text, Format::OpenMetrics] {
        for strictness in [Strictness::Spec, Strictness::Prometheus] {
            let mut p = Parser::with_strictness(data, format, strictness);
            let mut n = 0;
            while let Some(e) = p.next_entry() {
                n += 1;
                if let Ok(Entry::Sample(s)) = e {
                    let _ = s.labels.iter().count();
                }
                assert!(n <= data.len() + 1, "more entries than bytes");
            }
        }
    }
}

#[test]
fn no_panic_on_random_and_mutated_input() {
    let mut seeds: Vec<Vec<u8>> = vec![
        b"# HELP a x\n# TYPE a histogram\na_bucket{le=\"1\"} 0\na_bucket{le=\"+Inf\"} 3\na_count 3\na_sum 2\n# EOF\n".to_vec(),
        b"# TYPE a counter\na_total{x=\"\\\\n\\\"\"} 1 12 # {t=\"u\"} 0.5 1.5\n# EOF\n".to_vec(),
        "{\"a.b\",\"ü\"=\"日\"} +Inf -12\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\n".as_bytes().to_vec(),
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/expfmt/node.prom")).unwrap(),
    ];
    if let Some(dir) = crate::util::conformance("openmetrics") {
        for e in std::fs::read_dir(dir).unwrap() {
            if let Ok(d) = std::fs::read(e.unwrap().path().join("metrics")) {
                seeds.push(d);
            }
        }
    }
    let mut r = crate::util::Rng(0xf022_0000_0000_0001);
    let special = b"{}=\",# \n\t\\.eEx+-_0123456789NaInf";
    let mut inputs = 0u64;
    for _ in 0..40_000 {
        let len = r.below(120);
        fuzz_one(&r.bytes(len, special));
        inputs += 1;
    }
    for _ in 0..60_000 {
        let d = r.mutate(&seeds, special);
        fuzz_one(&d);
        inputs += 1;
    }
    println!("fuzz: {inputs} inputs, 4 parser configurations each, no panic");
    assert!(inputs >= 100_000);
}

/// An endless line is an error after MAX_LINE bytes, not an endless allocation.
#[test]
fn endless_line_is_bounded() {
    let endless = std::io::repeat(b'a');
    let mut p = Parser::new(std::io::BufReader::new(endless), Format::Text);
    match p.next_entry() {
        Some(Err(Error::Parse(e))) => {
            assert_eq!(e.kind, ErrorKind::LineTooLong);
            assert_eq!((e.line, e.column), (1, 1));
        }
        other => panic!("expected a line-too-long error, got {other:?}"),
    }
    assert!(p.next_entry().is_none());
    let _ = MAX_LINE;
}

/// A long stream is parsed as it arrives: a generator of 2 M lines is never held whole.
#[test]
fn streams_long_input() {
    struct Lines {
        n: u64,
        buf: Vec<u8>,
        pos: usize,
    }
    impl Read for Lines {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.buf.len() {
                if self.n == 0 {
                    return Ok(0);
                }
                self.n -= 1;
                self.buf =
                    format!("series_total{{shard=\"{}\"}} {}\n", self.n % 97, self.n).into_bytes();
                self.pos = 0;
            }
            let k = out.len().min(self.buf.len() - self.pos);
            out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            Ok(k)
        }
    }
    let src = Lines {
        n: 2_000_000,
        buf: Vec::new(),
        pos: 0,
    };
    let mut p = Parser::with_strictness(
        std::io::BufReader::new(src),
        Format::Text,
        Strictness::Prometheus,
    );
    let mut count = 0u64;
    while let Some(e) = p.next_entry() {
        e.unwrap();
        count += 1;
    }
    assert_eq!(count, 2_000_000);
}
