//! Rows: one per sample, a column per label name (the metric name first), then the
//! timestamp and the value. CSV and TSV for tools (header first, Unix seconds), an aligned
//! table for people (RFC 3339 times).

use std::io::{self, Write};

use super::{format_ts, format_value};
use crate::model::{Labels, METRIC_NAME};
use crate::promql::value::Value;

/// The label columns of a result: `__name__` first when any series has it, then the rest
/// sorted.
fn columns<'a>(sets: impl Iterator<Item = &'a Labels>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for l in sets {
        for lb in l {
            if !names.contains(&lb.name) {
                names.push(lb.name.clone());
            }
        }
    }
    names.sort_by(|a, b| (a != METRIC_NAME, a).cmp(&(b != METRIC_NAME, b)));
    names
}

/// One row: label values per column, timestamp, value.
type Row = (Vec<String>, i64, String);

/// The label columns and all rows.
fn rows(v: &Value) -> (Vec<String>, Vec<Row>) {
    match v {
        Value::Scalar { t, v } => (Vec::new(), vec![(Vec::new(), *t, format_value(*v))]),
        Value::String { t, v } => (Vec::new(), vec![(Vec::new(), *t, v.clone())]),
        Value::Vector(samples) => {
            let cols = columns(samples.iter().map(|s| &s.labels));
            let rows = samples
                .iter()
                .map(|s| {
                    let vals = cols
                        .iter()
                        .map(|c| s.labels.get(c).unwrap_or("").to_string())
                        .collect();
                    (vals, s.t, format_value(s.v))
                })
                .collect();
            (cols, rows)
        }
        Value::Matrix(series) => {
            let cols = columns(series.iter().map(|s| &s.labels));
            let mut rows = Vec::new();
            for s in series {
                let vals: Vec<String> = cols
                    .iter()
                    .map(|c| s.labels.get(c).unwrap_or("").to_string())
                    .collect();
                for p in &s.points {
                    rows.push((vals.clone(), p.t, format_value(p.v)));
                }
            }
            (cols, rows)
        }
    }
}

/// CSV (`,`) or TSV (tab): a header row, then one row per sample.
pub fn write_delimited(w: &mut dyn Write, v: &Value, delim: u8) -> io::Result<()> {
    if v.is_empty() {
        return Ok(());
    }
    let (cols, rows) = rows(v);
    let mut wr = csv::WriterBuilder::new().delimiter(delim).from_writer(w);
    let mut header: Vec<&str> = cols.iter().map(String::as_str).collect();
    header.push("timestamp");
    header.push("value");
    wr.write_record(&header).map_err(io::Error::other)?;
    for (vals, t, v) in rows {
        let mut rec = vals;
        rec.push(format_ts(t));
        rec.push(v);
        wr.write_record(&rec).map_err(io::Error::other)?;
    }
    wr.flush()
}

/// An aligned table with RFC 3339 times.
pub fn write_table(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    if v.is_empty() {
        return Ok(());
    }
    let (cols, rows) = rows(v);
    let mut header: Vec<String> = cols
        .iter()
        .map(|c| {
            if c == METRIC_NAME {
                "NAME".to_string()
            } else {
                c.to_uppercase()
            }
        })
        .collect();
    header.push("TIME".into());
    header.push("VALUE".into());
    let body: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(mut vals, t, v)| {
            vals.push(crate::model::time::format_rfc3339(t));
            vals.push(v);
            vals
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &body {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |w: &mut dyn Write, cells: &[String]| -> io::Result<()> {
        let n = cells.len();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                // Values right-aligned.
                write!(w, "{:>width$}", c, width = widths[i])?;
            } else {
                write!(w, "{:<width$}  ", c, width = widths[i])?;
            }
        }
        writeln!(w)
    };
    line(w, &header)?;
    for r in &body {
        line(w, r)?;
    }
    Ok(())
}
