//! Writing expositions: text 0.0.4 or OpenMetrics, from parsed entries or plain values.
//!
//! Names that are not legacy names are written quoted (`{"my.metric"}`), label values and HELP
//! text escaped as each format requires, values in Go's shortest `%g` form, timestamps as
//! integer milliseconds (text) or exact decimal seconds (OpenMetrics). What a format cannot say
//! is left out: `UNIT` lines and exemplars in text, and OpenMetrics-only types are written as
//! the text type Prometheus maps them to. Output is buffered; call [`Writer::finish`] at the end
//! (it writes `# EOF` for OpenMetrics and flushes).

use std::io::{self, Write};

use super::number::{write_om_timestamp, write_value};
use super::{Entry, Format};
use crate::model::labels::{is_legacy_label_name, is_legacy_metric_name, write_escaped};
use crate::model::MetricType;

const FLUSH_AT: usize = 64 << 10;

/// An exemplar to write: labels, value, optional timestamp (milliseconds).
pub struct ExemplarOut<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub value: f64,
    pub timestamp: Option<i64>,
}

pub struct Writer<W: Write> {
    out: W,
    format: Format,
    buf: String,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Format) -> Writer<W> {
        Writer {
            out,
            format,
            buf: String::with_capacity(FLUSH_AT + 4096),
        }
    }

    fn name(&mut self, name: &str) {
        if is_legacy_metric_name(name) {
            self.buf.push_str(name);
        } else {
            self.quoted(name);
        }
    }

    fn quoted(&mut self, s: &str) {
        self.buf.push('"');
        let _ = write_escaped(&mut self.buf, s);
        self.buf.push('"');
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(self.buf.as_bytes())?;
            self.buf.clear();
        }
        Ok(())
    }

    pub fn help(&mut self, name: &str, help: &str) -> io::Result<()> {
        self.buf.push_str("# HELP ");
        self.name(name);
        self.buf.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\n' => self.buf.push_str("\\n"),
                '"' if self.format == Format::OpenMetrics => self.buf.push_str("\\\""),
                c => self.buf.push(c),
            }
        }
        self.buf.push('\n');
        self.maybe_flush()
    }

    pub fn kind(&mut self, name: &str, kind: MetricType) -> io::Result<()> {
        self.buf.push_str("# TYPE ");
        self.name(name);
        self.buf.push(' ');
        self.buf.push_str(match self.format {
            Format::Text => kind.text_name(),
            Format::OpenMetrics => kind.openmetrics_name(),
        });
        self.buf.push('\n');
        self.maybe_flush()
    }

    pub fn unit(&mut self, name: &str, unit: &str) -> io::Result<()> {
        if self.format == Format::OpenMetrics {
            self.buf.push_str("# UNIT ");
            self.name(name);
            self.buf.push(' ');
            self.buf.push_str(unit);
            self.buf.push('\n');
        }
        self.maybe_flush()
    }

    fn label_set<'a>(
        &mut self,
        name: Option<&str>,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let mut open = false;
        if let Some(n) = name {
            if is_legacy_metric_name(n) {
                self.buf.push_str(n);
            } else {
                self.buf.push('{');
                self.quoted(n);
                open = true;
            }
        }
        for (k, v) in labels {
            self.buf.push(if open { ',' } else { '{' });
            open = true;
            if is_legacy_label_name(k) {
                self.buf.push_str(k);
            } else {
                self.quoted(k);
            }
            self.buf.push('=');
            self.quoted(v);
        }
        if open {
            self.buf.push('}');
        } else if name.is_none() {
            self.buf.push_str("{}");
        }
    }

    fn timestamp(&mut self, ms: i64) {
        match self.format {
            Format::Text => {
                use std::fmt::Write as _;
                let _ = write!(self.buf, "{ms}");
            }
            Format::OpenMetrics => write_om_timestamp(&mut self.buf, ms),
        }
    }

    /// Writes one sample line (the exemplar only in OpenMetrics).
    pub fn sample<'a>(
        &mut self,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        value: f64,
        timestamp: Option<i64>,
        exemplar: Option<ExemplarOut>,
    ) -> io::Result<()> {
        self.label_set(Some(name), labels);
        self.buf.push(' ');
        write_value(&mut self.buf, value);
        if let Some(ts) = timestamp {
            self.buf.push(' ');
            self.timestamp(ts);
        }
        if let (Some(x), Format::OpenMetrics) = (exemplar, self.format) {
            self.buf.push_str(" # ");
            self.label_set(None, x.labels);
            self.buf.push(' ');
            write_value(&mut self.buf, x.value);
            if let Some(ts) = x.timestamp {
                self.buf.push(' ');
                self.timestamp(ts);
            }
        }
        self.buf.push('\n');
        self.maybe_flush()
    }

    /// Writes a parsed entry.
    pub fn entry(&mut self, e: &Entry) -> io::Result<()> {
        match e {
            Entry::Help { name, help } => self.help(name, help),
            Entry::Type { name, kind } => self.kind(name, *kind),
            Entry::Unit { name, unit } => self.unit(name, unit),
            Entry::Sample(s) => self.sample(
                s.name,
                s.labels.iter(),
                s.value,
                s.timestamp,
                s.exemplar.map(|x| ExemplarOut {
                    labels: x.labels.iter().collect(),
                    value: x.value,
                    timestamp: x.timestamp,
                }),
            ),
        }
    }

    /// Ends the output (`# EOF` for OpenMetrics), flushes, and returns the inner writer.
    /// Writes out what is buffered, without ending the exposition (a stream that goes on;
    /// its writer ends it with `# EOF` itself).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        self.out.flush()
    }

    pub fn finish(mut self) -> io::Result<W> {
        if self.format == Format::OpenMetrics {
            self.buf.push_str("# EOF\n");
        }
        self.out.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        self.out.flush()?;
        Ok(self.out)
    }
}
