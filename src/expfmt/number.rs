//! Number spellings of the two exposition formats, read and written.
//!
//! - OpenMetrics values: decimal floats with optional exponent, leading zeros allowed,
//!   `Inf`/`Infinity` (any case, optional sign) and `NaN` (any case, no sign). No hex, no `_`.
//! - Text 0.0.4 values: what Go's `strconv.ParseFloat` takes, so hex floats (`0x1p-3`) too.
//! - OpenMetrics timestamps: decimal seconds, converted to milliseconds exactly (the decimal
//!   digits are scaled as integers, so `1.005` is 1005 ms, not 1004 as a float multiply gives),
//!   truncated toward zero and saturated to the `i64` range.
//! - Text timestamps: integer milliseconds.
//!
//! Output uses Go's `FormatFloat(v, 'g', -1, 64)` spelling (`1e+06`, `0.0001`, `NaN`, `+Inf`), the
//! one Prometheus and its client libraries write, so our output diffs cleanly against theirs.

use std::fmt::Write;

/// Parses an OpenMetrics number (sample or exemplar value).
pub fn parse_om_value(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    if v.is_nan() && matches!(s.as_bytes().first(), Some(b'+' | b'-')) {
        return None;
    }
    Some(v)
}

/// Parses a text-format value the way Go's `strconv.ParseFloat` does (decimal, special values,
/// and hexadecimal floats with a mandatory `p` exponent).
pub fn parse_go_float(s: &str) -> Option<f64> {
    if let Some(v) = parse_om_value(s) {
        return Some(v);
    }
    parse_hex_float(s)
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let p = rest.find(['p', 'P'])?;
    let (mant, exp) = (&rest[..p], &rest[p + 1..]);
    let exp: i32 = {
        let e = exp.strip_prefix('+').unwrap_or(exp);
        if e.is_empty()
            || !e
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        e.parse::<i64>().ok()?.clamp(-10_000, 10_000) as i32
    };
    let mut m: u128 = 0;
    let mut shift: i32 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    for b in mant.bytes() {
        if b == b'.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
            continue;
        }
        let d = (b as char).to_digit(16)? as u128;
        digits += 1;
        if m >> 120 == 0 {
            m = (m << 4) | d;
            if seen_dot {
                shift -= 4;
            }
        } else if !seen_dot {
            shift += 4;
        }
    }
    if digits == 0 {
        return None;
    }
    let v = (m as f64) * 2f64.powi((exp + shift).clamp(-2000, 2000));
    Some(if neg { -v } else { v })
}

/// Parses a text-format timestamp: optionally signed decimal integer milliseconds.
pub fn parse_text_timestamp(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an OpenMetrics timestamp (decimal seconds, no NaN or Inf) into milliseconds.
pub fn parse_om_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    let neg = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    // Significant digits as an integer, with a decimal scale; at most 36 digits are kept.
    let mut mant: i128 = 0;
    let mut kept = 0;
    let mut scale: i64 = 0;
    let mut int_digits = 0;
    let mut frac_digits = 0;
    let push = |d: u8, mant: &mut i128, kept: &mut i32| -> bool {
        if *kept < 36 {
            if *mant != 0 || d != 0 {
                *kept += 1;
            }
            *mant = *mant * 10 + d as i128;
            true
        } else {
            false
        }
    };
    while i < b.len() && b[i].is_ascii_digit() {
        if !push(b[i] - b'0', &mut mant, &mut kept) {
            scale += 1;
        }
        int_digits += 1;
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            if push(b[i] - b'0', &mut mant, &mut kept) {
                scale -= 1;
            }
            frac_digits += 1;
            i += 1;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let start = i;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            return None;
        }
        let e: i64 =
            s[start..i]
                .parse()
                .unwrap_or(if b[start] == b'-' { -100_000 } else { 100_000 });
        scale += e.clamp(-100_000, 100_000);
    }
    if i != b.len() {
        return None;
    }
    scale += 3; // seconds to milliseconds
    let ms: i128 = if mant == 0 {
        0
    } else if scale >= 0 {
        let mut v = mant;
        for _ in 0..scale.min(40) {
            v = v.saturating_mul(10);
        }
        v
    } else if scale < -40 {
        0
    } else {
        mant / 10i128.pow((-scale) as u32)
    };
    let ms = if neg { -ms } else { ms };
    Some(ms.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Appends `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` would, with `NaN`, `+Inf`, `-Inf`.
pub fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v.fract() == 0.0 && v.abs() < 1e6 && !(v == 0.0 && v.is_sign_negative()) {
        let _ = write!(out, "{}", v as i64);
        return;
    }
    let mut sci = String::with_capacity(32);
    let _ = write!(sci, "{:e}", v.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if v.is_sign_negative() {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
        return;
    }
    let dp = exp + 1;
    let nd = digits.len() as i32;
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..dp - nd {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
}

/// Appends a millisecond timestamp as exact decimal seconds (`1.5`, `-0.001`, `12`).
pub fn write_om_timestamp(out: &mut String, ms: i64) {
    let neg = ms < 0;
    let a = ms.unsigned_abs();
    let (s, frac) = (a / 1000, a % 1000);
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{s}");
    if frac != 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: f64) -> String {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }

    #[test]
    fn go_g_format() {
        for (v, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-12.0, "-12"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (123456.7, "123456.7"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-300, "1.5e-300"),
            (2.478268416e9, "2.478268416e+09"),
            (0.1, "0.1"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(g(v), want, "{v}");
        }
    }

    #[test]
    fn values() {
        assert_eq!(parse_om_value("1.5e3"), Some(1500.0));
        assert_eq!(parse_om_value("0001.2e-1"), Some(0.12));
        assert_eq!(parse_om_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_om_value("-infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_om_value("NaN").unwrap().is_nan());
        assert_eq!(parse_om_value("-NaN"), None);
        for bad in ["0x1p-3", "1_2", "0b1", "", ".", "1e", "a", "1 "] {
            assert_eq!(parse_om_value(bad), None, "{bad}");
        }
        assert_eq!(parse_go_float("0x1p-3"), Some(0.125));
        assert_eq!(parse_go_float("-0X1.8P1"), Some(-3.0));
        assert_eq!(parse_go_float("0x1"), None);
    }

    #[test]
    fn om_timestamps() {
        assert_eq!(parse_om_timestamp("1.005"), Some(1005));
        assert_eq!(parse_om_timestamp("000"), Some(0));
        assert_eq!(parse_om_timestamp("1.5e3"), Some(1_500_000));
        assert_eq!(parse_om_timestamp("-1.5"), Some(-1500));
        assert_eq!(parse_om_timestamp("0.0000000001"), Some(0));
        assert_eq!(
            parse_om_timestamp("12345678901234567890.1234567890"),
            Some(i64::MAX)
        );
        for bad in ["NaN", "Inf", "0x1p-3", "1_2", "1.1.1", "1z", "", "e3"] {
            assert_eq!(parse_om_timestamp(bad), None, "{bad}");
        }
        let mut s = String::new();
        write_om_timestamp(&mut s, -1500);
        assert_eq!(s, "-1.5");
    }
}
