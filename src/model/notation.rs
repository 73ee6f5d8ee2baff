//! The series notation of PromQL test scripts and rule unit tests: `1 2 3`, `0+10x5`
//! (0, 10, ... 50), `1-1x3`, `_` (no sample), `_x3`, `stale` (a staleness marker),
//! durations as seconds (`5m` is 300), and native histograms (`{{...}}`, recognised and
//! counted, not decoded).
//!
//! ```text
//! values := item (space item)*
//! item   := _ | _xN | stale | {{...}}(xN)? | V | V+SxN | V-SxN | VxN
//! ```
//!
//! Expansion is budgeted: all the values of one script or test may not exceed
//! [`MAX_VALUES`], so `1x99999999999` is an error, not an allocation.

use super::sample::stale_nan;

/// One value of a series description.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeqValue {
    Omitted,
    Float(f64),
    /// A native histogram (`{{...}}`), which this engine does not evaluate yet.
    Histogram,
}

/// The most values a script's series descriptions may expand to, all lines together:
/// `1x99999999999` is an error, not an allocation (10 M values hold about 320 MB once
/// parsed and loaded).
pub const MAX_VALUES: usize = 10_000_000;

/// Why a series' values do not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuesError {
    UnterminatedHistogram,
    Value(String),
    Repetition(String),
    /// More than [`MAX_VALUES`] values.
    TooManyValues,
}

impl std::fmt::Display for ValuesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValuesError::UnterminatedHistogram => f.write_str("unterminated histogram"),
            ValuesError::Value(v) => write!(f, "invalid series value {v:?}"),
            ValuesError::Repetition(item) => {
                write!(f, "invalid repetition in series values: {item:?}")
            }
            ValuesError::TooManyValues => {
                write!(f, "series values expand to more than {MAX_VALUES} values")
            }
        }
    }
}

impl std::error::Error for ValuesError {}

/// Parses the values part of a series description: `1 2+3x4 _ stale {{...}}`, taking
/// the values from `budget` (what is left of [`MAX_VALUES`]).
pub fn parse_values(text: &str, budget: &mut usize) -> Result<Vec<SeqValue>, ValuesError> {
    let mut values = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            let end = rest.find("}}").ok_or(ValuesError::UnterminatedHistogram)?;
            let mut tail = &rest[end + 2..];
            let mut count = 1u64;
            // `{{...}}x3`, `{{...}}+{{...}}x3`
            if let Some(t) = tail.strip_prefix(['+', '-']) {
                if let Some(e) = t.find("}}") {
                    tail = &t[e + 2..];
                }
            }
            if let Some(t) = tail.strip_prefix('x') {
                let n: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
                count = n.parse::<u64>().unwrap_or(0).saturating_add(1);
                tail = &t[n.len()..];
            }
            take(budget, count)?;
            values.extend((0..count).map(|_| SeqValue::Histogram));
            rest = tail.trim_start();
            continue;
        }
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let item = &rest[..end];
        values.extend(parse_item(item, budget)?);
        rest = rest[end..].trim_start();
    }
    Ok(values)
}

fn parse_value(s: &str) -> Result<f64, ValuesError> {
    if s == "stale" {
        return Ok(stale_nan());
    }
    if let Some(v) = parse_number(s) {
        return Ok(v);
    }
    if let Ok(ms) = super::time::parse_duration(s) {
        if s.chars().any(|c| c.is_ascii_alphabetic()) {
            return Ok(ms as f64 / 1000.0);
        }
    }
    Err(ValuesError::Value(s.to_string()))
}

/// Takes `n` values from `budget`, or fails if fewer are left.
fn take(budget: &mut usize, n: u64) -> Result<(), ValuesError> {
    match usize::try_from(n) {
        Ok(n) if n <= *budget => {
            *budget -= n;
            Ok(())
        }
        _ => Err(ValuesError::TooManyValues),
    }
}

fn parse_item(item: &str, budget: &mut usize) -> Result<Vec<SeqValue>, ValuesError> {
    if item == "_" {
        take(budget, 1)?;
        return Ok(vec![SeqValue::Omitted]);
    }
    if let Some(n) = item.strip_prefix("_x") {
        let n: u64 = n
            .parse()
            .map_err(|_| ValuesError::Repetition(item.to_string()))?;
        take(budget, n)?;
        return Ok(vec![SeqValue::Omitted; n as usize]);
    }
    let (base, times) = match item.rfind('x') {
        Some(i) => {
            let n: u64 = item[i + 1..]
                .parse()
                .map_err(|_| ValuesError::Repetition(item.to_string()))?;
            (&item[..i], Some(n))
        }
        _ => (item, None),
    };
    let Some(times) = times else {
        take(budget, 1)?;
        return Ok(vec![SeqValue::Float(parse_value(base)?)]);
    };
    // `a`, `a+b` or `a-b`: the step's sign is the first + or - after the start that is
    // not an exponent sign.
    let b = base.as_bytes();
    let mut split = None;
    for i in 1..b.len() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E') {
            split = Some(i);
            break;
        }
    }
    let (start, step) = match split {
        Some(i) => (parse_value(&base[..i])?, parse_value(&base[i..])?),
        None => (parse_value(base)?, 0.0),
    };
    take(budget, times.saturating_add(1))?;
    let mut out = Vec::with_capacity(times as usize + 1);
    let mut v = start;
    for _ in 0..=times {
        out.push(SeqValue::Float(v));
        v += step;
    }
    Ok(out)
}

/// Parses a number as Prometheus does (`strconv.ParseInt(s, 0, 64)`, then `ParseFloat`).
pub fn parse_number(s: &str) -> Option<f64> {
    if let Some(i) = parse_go_int(s) {
        return Some(i as f64);
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_start_matches(['+', '-']);
    let neg = lower.starts_with('-');
    let v = match t {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if t.contains('_') || t.starts_with("0x") {
                return None;
            }
            let v: f64 = t.parse().ok()?;
            v
        }
    };
    Some(if neg { -v } else { v })
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let v = i64::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}
