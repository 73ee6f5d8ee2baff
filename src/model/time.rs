//! Times and durations as users write them: PromQL durations (`1h30m`, `15d`), timestamps as
//! RFC 3339 or Unix seconds (what the Prometheus HTTP API accepts) or relative to now
//! (`now`, `now-1h`, `-30m`), and byte sizes (`10GiB`).
//!
//! Everything internal is milliseconds since the Unix epoch (`i64`).

use std::fmt;

/// Why a time, duration or size did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError {
    pub input: String,
    pub reason: &'static str,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for TimeError {}

fn err(input: &str, reason: &'static str) -> TimeError {
    TimeError {
        input: input.into(),
        reason,
    }
}

/// Duration units, largest first, in milliseconds.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a PromQL duration (`1y2w3d4h5m6s7ms`, units in that order, each at most once) to
/// milliseconds. Like Prometheus, a plain number is seconds (`90`, `1.5`).
pub fn parse_duration(s: &str) -> Result<i64, TimeError> {
    if s.is_empty() {
        return Err(err(s, "empty duration"));
    }
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs.abs() * 1000.0 > i64::MAX as f64 {
            return Err(err(s, "duration out of range"));
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = None;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(err(s, "expected a number before each unit"));
        }
        let n: i64 = s[start..i]
            .parse()
            .map_err(|_| err(s, "duration out of range"))?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(k) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(err(s, "unknown unit (use ms, s, m, h, d, w, y)"));
        };
        if last_unit.is_some_and(|l| k <= l) {
            return Err(err(s, "units must go from largest to smallest, each once"));
        }
        last_unit = Some(k);
        total = n
            .checked_mul(UNITS[k].1)
            .and_then(|x| total.checked_add(x))
            .ok_or(err(s, "duration out of range"))?;
    }
    Ok(total)
}

/// Parses a duration as Prometheus's configuration and rule files read it
/// (`model.ParseDuration`): `0`, or numbers each with a unit, largest unit first, no
/// fractions and no bare numbers. The error is Prometheus's own text.
pub fn parse_model_duration(s: &str) -> Result<i64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".into()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut total: u128 = 0;
    let mut last: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(invalid());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let ulen = rest.len() - rest.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
        if ulen == 0 {
            return Err(invalid());
        }
        let unit = &rest[..ulen];
        rest = &rest[ulen..];
        let Some(k) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!("unknown unit {unit:?} in duration {s:?}"));
        };
        if last.is_some_and(|l| k <= l) {
            return Err(invalid());
        }
        last = Some(k);
        // time.Duration's range: about 292 years of nanoseconds.
        let nanos = u128::from(n) * UNITS[k].1 as u128 * 1_000_000;
        total += nanos;
        if nanos > i64::MAX as u128 || total > i64::MAX as u128 {
            return Err("duration out of range".into());
        }
    }
    Ok((total / 1_000_000) as i64)
}

/// Formats milliseconds as a PromQL duration (`1d2h`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (u, k) in UNITS {
        let k = k as u64;
        if rest >= k {
            out.push_str(&format!("{}{u}", rest / k));
            rest %= k;
        }
    }
    out
}

/// Parses a timestamp: RFC 3339 (`2024-05-01T12:00:00Z`, fractions and offsets allowed) or Unix
/// seconds (`1714564800`, `1714564800.5`). Returns milliseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Result<i64, TimeError> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs.abs() * 1000.0 > i64::MAX as f64 {
            return Err(err(s, "timestamp out of range"));
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    parse_rfc3339(s).ok_or(err(
        s,
        "expected RFC 3339 (2024-05-01T12:00:00Z) or Unix seconds",
    ))
}

/// A time as written on a command line: absolute, or an offset from the time of the run, so
/// that every relative time of one command is resolved against the same `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// Milliseconds since the epoch.
    At(i64),
    /// Milliseconds after now (negative: before).
    FromNow(i64),
}

impl TimeSpec {
    /// Parses `now`, `now-1h`, `now+5m`, `-30m` (a duration before now), RFC 3339 or Unix
    /// seconds. A plain negative number is Unix seconds, as in the HTTP API; only a duration
    /// with a unit after `-` is relative.
    pub fn parse(s: &str) -> Result<TimeSpec, TimeError> {
        let relative = |sign: i64, d: &str| -> Result<TimeSpec, TimeError> {
            let ms = parse_duration(d).map_err(|e| TimeError {
                input: s.into(),
                reason: e.reason,
            })?;
            Ok(TimeSpec::FromNow(sign * ms))
        };
        if let Some(rest) = s.strip_prefix("now") {
            return match rest.as_bytes().first() {
                None => Ok(TimeSpec::FromNow(0)),
                Some(b'-') => relative(-1, &rest[1..]),
                Some(b'+') => relative(1, &rest[1..]),
                Some(_) => Err(err(s, "expected now, now-DURATION or now+DURATION")),
            };
        }
        if let Some(d) = s.strip_prefix('-') {
            if d.bytes().any(|b| b.is_ascii_alphabetic()) {
                return relative(-1, d);
            }
        }
        parse_timestamp(s)
            .map_err(|_| {
                err(
                    s,
                    "expected RFC 3339 (2024-05-01T12:00:00Z), Unix seconds, now, now-1h or -1h",
                )
            })
            .map(TimeSpec::At)
    }

    /// Milliseconds since the epoch, with relative times taken from `now`.
    pub fn resolve(self, now: i64) -> i64 {
        match self {
            TimeSpec::At(t) => t,
            TimeSpec::FromNow(d) => now.saturating_add(d),
        }
    }
}

/// An RFC 3339 time (`2024-05-01T12:00:00Z`, fractions and offsets allowed) as milliseconds
/// since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i];
        let mut ms = String::from(&digits[..digits.len().min(3)]);
        while ms.len() < 3 {
            ms.push('0');
        }
        frac_ms = ms.parse().ok()?;
    }
    let offset_min = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            if tz.as_bytes()[3] != b':' {
                return None;
            }
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let m = oh * 60 + om;
            if tz.starts_with('-') {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + frac_ms)
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats milliseconds since the epoch as RFC 3339 in UTC, with milliseconds when non-zero.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac == 0 {
        base + "Z"
    } else {
        format!("{base}.{frac:03}Z")
    }
}

/// Formats nanoseconds since the epoch as Go's `time.RFC3339Nano` in UTC: the fraction with
/// trailing zeros dropped (`2026-12-02T02:50:07.5734913Z`), none when zero.
pub fn format_rfc3339_nanos(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let base = format_rfc3339(secs * 1000);
    let base = base.strip_suffix('Z').unwrap_or(&base);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let f = format!("{frac:09}");
        format!("{base}.{}Z", f.trim_end_matches('0'))
    }
}

/// The current time in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Parses a byte size: a number with an optional unit `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`,
/// `TB`/`TiB`, `PB`/`PiB`, `EB`/`EiB`. As in Prometheus's `--storage.tsdb.retention.size`, both
/// spellings are powers of 1024.
pub fn parse_bytes(s: &str) -> Result<u64, TimeError> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| err(s, "expected a number"))?;
    let pow = match unit {
        "" | "B" => 0,
        "KB" | "KiB" | "K" => 1,
        "MB" | "MiB" | "M" => 2,
        "GB" | "GiB" | "G" => 3,
        "TB" | "TiB" | "T" => 4,
        "PB" | "PiB" | "P" => 5,
        "EB" | "EiB" | "E" => 6,
        _ => return Err(err(s, "unknown unit (use B, KiB, MiB, GiB, TiB, PiB, EiB)")),
    };
    let v = n * 1024f64.powi(pow);
    if !v.is_finite() || v >= u64::MAX as f64 {
        return Err(err(s, "size out of range"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15d").unwrap(), 15 * 86_400_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("1m500ms").unwrap(), 60_500);
        assert_eq!(parse_duration("90").unwrap(), 90_000);
        assert_eq!(parse_duration("1.5").unwrap(), 1500);
        assert!(parse_duration("1m1h").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999y").is_err());
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(
            format_duration(parse_duration("2w3d4h5m6s7ms").unwrap()),
            "2w3d4h5m6s7ms"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1714564800").unwrap(), 1_714_564_800_000);
        assert_eq!(
            parse_timestamp("1714564800.123").unwrap(),
            1_714_564_800_123
        );
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00Z").unwrap(),
            1_714_564_800_000
        );
        assert_eq!(
            parse_timestamp("2024-05-01T14:00:00.5+02:00").unwrap(),
            1_714_564_800_500
        );
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z").unwrap(), -1000);
        assert!(parse_timestamp("2024-02-30T00:00:00Z").is_err());
        assert!(parse_timestamp("yesterday").is_err());
        for ms in [
            0,
            -1000,
            1_714_564_800_123,
            951_782_400_000,
            -62_135_596_800_000,
        ] {
            assert_eq!(parse_timestamp(&format_rfc3339(ms)).unwrap(), ms, "{ms}");
        }
        assert_eq!(format_rfc3339(1_714_564_800_000), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn relative_times() {
        let now = 1_714_564_800_000;
        let t = |s: &str| TimeSpec::parse(s).unwrap().resolve(now);
        assert_eq!(t("now"), now);
        assert_eq!(t("now-1h"), now - 3_600_000);
        assert_eq!(t("now+5m"), now + 300_000);
        assert_eq!(t("-30m"), now - 1_800_000);
        assert_eq!(t("-1h30m"), now - 5_400_000);
        assert_eq!(t("2024-05-01T12:00:00Z"), 1_714_564_800_000);
        assert_eq!(t("1714564800"), 1_714_564_800_000);
        // A plain negative number stays Unix seconds.
        assert_eq!(t("-60"), -60_000);
        for bad in ["now-", "nowish", "now-1x", "-1x", "yesterday", ""] {
            assert!(TimeSpec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TimeSpec::parse("now-1q").unwrap_err().to_string(),
            "invalid \"now-1q\": unknown unit (use ms, s, m, h, d, w, y)"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("10GiB").unwrap(), 10 << 30);
        assert_eq!(parse_bytes("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("1ZB").is_err());
        assert!(parse_bytes("GB").is_err());
    }
}
