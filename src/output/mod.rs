//! Query results written for people and pipes: the output formats of `prombox query`.
//!
//! A closed set ([`Format`]): `json` is byte-for-byte the Prometheus HTTP API's response
//! shape (so scripts written against `curl .../api/v1/query` keep working), `jsonl` one
//! JSON object per series, `csv`/`tsv` one row per sample with a column per label, `table`
//! aligned for reading, `chart` a Unicode line chart of a range result. Numbers are
//! written as the API writes them: shortest decimal, no exponent (`0.0000001`), `NaN`,
//! `+Inf`, `-Inf`; timestamps as Unix seconds with up to three decimals.

mod chart;
mod json;
mod table;

use std::io::{self, Write};

use crate::promql::value::{Annotations, Value};

pub use chart::ChartOptions;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    Tsv,
    Chart,
}

/// Writes a query result. `warnings`/`infos` go into the JSON envelope (other formats
/// leave them to the caller, who prints them on stderr).
pub fn write(
    w: &mut dyn Write,
    v: &Value,
    annos: &Annotations,
    query: &str,
    format: Format,
    chart: &ChartOptions,
) -> io::Result<()> {
    match format {
        Format::Json => json::write_api(w, v, annos, query),
        Format::Jsonl => json::write_lines(w, v),
        Format::Csv => table::write_delimited(w, v, b','),
        Format::Tsv => table::write_delimited(w, v, b'\t'),
        Format::Table => table::write_table(w, v),
        Format::Chart => chart::write_chart(w, v, chart),
    }
}

/// The API's number form: Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub fn format_value(v: f64) -> String {
    crate::promql::ast::format_float_plain(v)
}

/// The API's timestamp form: Unix seconds, up to three decimals, no trailing zeros.
pub fn format_ts(ms: i64) -> String {
    let mut s = String::new();
    crate::expfmt::number::write_om_timestamp(&mut s, ms);
    s
}
