//! JSON: the Prometheus HTTP API response, and one object per series (JSON lines).

use std::io::{self, Write};

use super::{format_ts, format_value};
use crate::model::Labels;
use crate::promql::value::{Annotations, InstantSample, Series, Value};

fn metric(w: &mut dyn Write, l: &Labels) -> io::Result<()> {
    w.write_all(b"{")?;
    for (i, lb) in l.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, &lb.name)?;
        w.write_all(b":")?;
        serde_json::to_writer(&mut *w, &lb.value)?;
    }
    w.write_all(b"}")
}

fn point(w: &mut dyn Write, t: i64, v: f64) -> io::Result<()> {
    write!(w, "[{},\"{}\"]", format_ts(t), format_value(v))
}

fn sample_obj(w: &mut dyn Write, s: &InstantSample) -> io::Result<()> {
    w.write_all(b"{\"metric\":")?;
    metric(w, &s.labels)?;
    w.write_all(b",\"value\":")?;
    point(w, s.t, s.v)?;
    w.write_all(b"}")
}

fn series_obj(w: &mut dyn Write, s: &Series) -> io::Result<()> {
    w.write_all(b"{\"metric\":")?;
    metric(w, &s.labels)?;
    w.write_all(b",\"values\":[")?;
    for (j, p) in s.points.iter().enumerate() {
        if j > 0 {
            w.write_all(b",")?;
        }
        point(w, p.t, p.v)?;
    }
    w.write_all(b"]}")
}

fn result(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    match v {
        Value::Scalar { t, v } => point(w, *t, *v),
        Value::String { t, v } => {
            write!(w, "[{},", format_ts(*t))?;
            serde_json::to_writer(&mut *w, v)?;
            w.write_all(b"]")
        }
        Value::Vector(samples) => {
            w.write_all(b"[")?;
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                sample_obj(w, s)?;
            }
            w.write_all(b"]")
        }
        Value::Matrix(series) => {
            w.write_all(b"[")?;
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                series_obj(w, s)?;
            }
            w.write_all(b"]")
        }
    }
}

/// `{"status":"success","data":{"resultType":...,"result":...},"warnings":[...],"infos":[...]}`
pub fn write_api(w: &mut dyn Write, v: &Value, annos: &Annotations, query: &str) -> io::Result<()> {
    write!(
        w,
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"{}\",\"result\":",
        v.type_name()
    )?;
    result(w, v)?;
    w.write_all(b"}")?;
    let (warnings, infos) = annos.strings(query);
    if !warnings.is_empty() {
        w.write_all(b",\"warnings\":")?;
        serde_json::to_writer(&mut *w, &warnings)?;
    }
    if !infos.is_empty() {
        w.write_all(b",\"infos\":")?;
        serde_json::to_writer(&mut *w, &infos)?;
    }
    w.write_all(b"}\n")
}

/// One JSON object per line: a series (`metric` and `value` or `values`), or the scalar or
/// string (`value`).
pub fn write_lines(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    match v {
        Value::Scalar { .. } | Value::String { .. } => {
            w.write_all(b"{\"value\":")?;
            result(w, v)?;
            w.write_all(b"}\n")
        }
        Value::Vector(samples) => {
            for s in samples {
                sample_obj(w, s)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        }
        Value::Matrix(series) => {
            for s in series {
                series_obj(w, s)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        }
    }
}
