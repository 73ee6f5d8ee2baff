//! Go's `fmt` as templates see it: how a value prints (`{{ $value }}`, `print`, `println`)
//! and `printf` with Go's verbs, flags, width and precision, including Go's in-band error
//! texts (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA int=1)`), so that output is
//! byte-identical to Prometheus's.
//!
//! Floats print as Go prints them: `%v` is the shortest `%g`, which switches to the exponent
//! form below 1e-4 and from 1e6 up (`1e+06`, `1.234567e+06`, but `123456`); exponents have
//! at least two digits.

use super::value::{MapKind, Value};

use crate::model::quote::quote_rune;
pub use crate::model::quote::{is_print, quote};

/// The decimal digits of |f| and the position of the decimal point (`0.0123` is digits
/// "123", point -1), rounded to `sig` significant digits or the shortest that reads back.
fn digits(f: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    let s = match sig {
        Some(n) => format!("{:.*e}", n.saturating_sub(1).min(1100), f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mant, exp) = s.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == b"0" {
        return (d, 1);
    }
    (d, exp + 1)
}

/// Go's `%e` body from digits: `d.ddde±XX` with `prec` digits after the point.
fn fmt_e(d: &[u8], dp: i32, prec: usize, upper: bool) -> String {
    let mut s = String::new();
    s.push(d[0] as char);
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(d.get(i).map_or('0', |&b| b as char));
        }
    }
    let exp = if d == b"0" { 0 } else { dp - 1 };
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        s.push('0');
    }
    s.push_str(&a.to_string());
    s
}

/// Go's `%f` body from digits, `prec` digits after the point.
fn fmt_f(d: &[u8], dp: i32, prec: usize) -> String {
    let mut s = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(d.get(i).map_or('0', |&b| b as char));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec as i64 {
            let j = dp as i64 + i;
            let c = if j < 0 {
                '0'
            } else {
                d.get(j as usize).map_or('0', |&b| b as char)
            };
            s.push(c);
        }
    }
    s
}

/// `strconv.FormatFloat(f, verb, prec, 64)` for the unsigned magnitude; `prec` None is
/// the shortest form. Infinities and NaN are the caller's.
fn float_body(f: f64, verb: char, prec: Option<usize>) -> String {
    match verb {
        'e' | 'E' => {
            let (d, dp) = digits(f, prec.map(|p| p + 1));
            let p = prec.unwrap_or(d.len() - 1);
            fmt_e(&d, dp, p, verb == 'E')
        }
        'f' | 'F' => match prec {
            Some(p) => format!("{:.*}", p.min(1100), f.abs()),
            None => {
                let (d, dp) = digits(f, None);
                fmt_f(&d, dp, (d.len() as i32 - dp).max(0) as usize)
            }
        },
        _ => {
            // 'g' / 'G'
            let upper = verb == 'G';
            let shortest = prec.is_none();
            let p0 = match prec {
                Some(0) => 1,
                Some(p) => p,
                None => 0,
            };
            let (d, dp) = digits(f, if shortest { None } else { Some(p0) });
            let mut p = if shortest { d.len() } else { p0 };
            let mut eprec = p;
            if eprec > d.len() && d.len() as i32 >= dp {
                eprec = d.len();
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec as i32 {
                if p > d.len() {
                    p = d.len();
                }
                return fmt_e(&d, dp, p - 1, upper);
            }
            if p as i32 > dp {
                p = d.len();
            }
            fmt_f(&d, dp, (p as i32 - dp).max(0) as usize)
        }
    }
}

/// Go's `%x` of a float: `0x1.cp+01`.
fn float_hex(f: f64, upper: bool) -> String {
    let a = f.abs();
    if a == 0.0 {
        return if upper { "0X0P+00" } else { "0x0p+00" }.into();
    }
    let bits = a.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // Subnormal: normalise.
        exp = -1022;
        while mant & (1 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1 << 52) - 1;
    } else {
        exp -= 1023;
    }
    let mut hex = format!("{mant:013x}");
    while hex.ends_with('0') {
        hex.pop();
    }
    let sign = if exp < 0 { '-' } else { '+' };
    let e = exp.unsigned_abs();
    let mut s = String::from("0x1");
    if !hex.is_empty() {
        s.push('.');
        s.push_str(&hex);
    }
    s.push('p');
    s.push(sign);
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    if upper {
        s = s.to_uppercase();
    }
    s
}

/// Formatting state of one verb.
#[derive(Clone, Copy, Default)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    /// Pads `s` to the width (zeros go after a sign).
    fn pad(&self, s: &str, numeric: bool) -> String {
        let Some(w) = self.width else {
            return s.to_string();
        };
        let n = s.chars().count();
        if n >= w {
            return s.to_string();
        }
        let fill = w - n;
        if self.minus {
            return format!("{s}{}", " ".repeat(fill));
        }
        if self.zero && numeric {
            let (sign, rest) = match s.as_bytes().first() {
                Some(b'+' | b'-' | b' ') => s.split_at(1),
                _ => ("", s),
            };
            return format!("{sign}{}{rest}", "0".repeat(fill));
        }
        if self.zero {
            return format!("{}{s}", "0".repeat(fill));
        }
        format!("{}{s}", " ".repeat(fill))
    }
}

fn fmt_float(f: f64, verb: char, spec: &Spec) -> String {
    let verb = if verb == 'v' { 'g' } else { verb };
    let prec = match verb {
        'e' | 'E' | 'f' | 'F' => Some(spec.prec.unwrap_or(6)),
        _ => spec.prec,
    };
    if f.is_nan() {
        let s = if spec.plus {
            "+NaN"
        } else if spec.space {
            " NaN"
        } else {
            "NaN"
        };
        return Spec {
            zero: false,
            ..*spec
        }
        .pad(s, false);
    }
    let sign = if f.is_sign_negative() {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if f.is_infinite() {
        let sign = if sign.is_empty() { "+" } else { sign };
        return Spec {
            zero: false,
            ..*spec
        }
        .pad(&format!("{sign}Inf"), false);
    }
    let mut body = match verb {
        'x' | 'X' => float_hex(f, verb == 'X'),
        'b' => {
            let bits = f.abs().to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mant = bits & ((1u64 << 52) - 1);
            let (m, e) = if exp == 0 {
                (mant, -1074)
            } else {
                (mant | (1 << 52), exp - 1075)
            };
            format!("{m}p{}{}", if e < 0 { '-' } else { '+' }, e.abs())
        }
        _ => float_body(f, verb, prec),
    };
    if spec.sharp && !matches!(verb, 'b' | 'x' | 'X') && !body.contains('.') {
        // `%#g` keeps a decimal point.
        match body.find(['e', 'E']) {
            Some(i) => body.insert(i, '.'),
            None => body.push('.'),
        }
    }
    spec.pad(&format!("{sign}{body}"), true)
}

fn fmt_int(i: i64, verb: char, spec: &Spec) -> String {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let (mut digits, prefix) = match verb {
        'd' | 'v' => (a.to_string(), ""),
        'b' => (format!("{a:b}"), if spec.sharp { "0b" } else { "" }),
        'o' => (format!("{a:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{a:o}"), "0o"),
        'x' => (format!("{a:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{a:X}"), if spec.sharp { "0X" } else { "" }),
        _ => unreachable!("integer verbs only"),
    };
    if let Some(p) = spec.prec {
        if p == 0 && a == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    let zero = spec.zero && spec.prec.is_none() && !spec.minus;
    match (zero, spec.width) {
        (true, Some(w)) if s.len() < w => {
            let fill = w - s.len();
            format!("{sign}{prefix}{}{digits}", "0".repeat(fill))
        }
        _ => Spec {
            zero: false,
            ..*spec
        }
        .pad(&s, true),
    }
}

fn fmt_str(s: &str, verb: char, spec: &Spec) -> String {
    let s: String = match spec.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => s.chars().take(p).collect(),
        _ => s.to_string(),
    };
    let body = match verb {
        's' | 'v' => s,
        'q' => {
            if spec.sharp && !s.contains('`') {
                format!("`{s}`")
            } else {
                quote(&s)
            }
        }
        'x' | 'X' => {
            let bytes = match spec.prec {
                Some(p) => &s.as_bytes()[..p.min(s.len())],
                None => s.as_bytes(),
            };
            let mut out = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    out.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    out.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    out.push_str(&format!("{b:02x}"));
                } else {
                    out.push_str(&format!("{b:02X}"));
                }
            }
            out
        }
        _ => unreachable!("string verbs only"),
    };
    spec.pad(&body, false)
}

/// Whether `verb` suits the value's kind.
fn verb_fits(v: &Value, verb: char) -> bool {
    match v {
        Value::Bool(_) => matches!(verb, 'v' | 't'),
        Value::Int(_) => matches!(
            verb,
            'v' | 'd' | 'b' | 'o' | 'O' | 'x' | 'X' | 'c' | 'q' | 'U'
        ),
        Value::Float(_) => matches!(
            verb,
            'v' | 'b' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'x' | 'X'
        ),
        Value::Str(_) | Value::Html(_) => matches!(verb, 'v' | 's' | 'q' | 'x' | 'X'),
        Value::Duration(_) => matches!(verb, 'v' | 's' | 'q' | 'x' | 'X'),
        Value::Time(_) => matches!(verb, 'v' | 's' | 'q' | 'x' | 'X'),
        Value::Missing | Value::Nil => verb == 'v',
        Value::Map(_) | Value::Samples(_) | Value::Sample(_) => true,
    }
}

/// `%!verb(type=value)`.
fn bad_verb(v: &Value, verb: char) -> String {
    match v {
        Value::Missing | Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), display(v)),
    }
}

/// One value under one verb (maps, lists and samples apply it to their parts).
fn format_one(v: &Value, verb: char, spec: &Spec) -> String {
    if !verb_fits(v, verb) {
        return bad_verb(v, verb);
    }
    match v {
        Value::Missing | Value::Nil => spec.pad("<nil>", false),
        Value::Bool(b) => spec.pad(if *b { "true" } else { "false" }, false),
        Value::Int(i) => match verb {
            'c' => spec.pad(
                &char::from_u32(*i as u32).unwrap_or('\u{fffd}').to_string(),
                false,
            ),
            'q' => spec.pad(
                &quote_rune(char::from_u32(*i as u32).unwrap_or('\u{fffd}')),
                false,
            ),
            'U' => {
                let mut s = format!("U+{:04X}", *i);
                if spec.sharp {
                    if let Some(c) = char::from_u32(*i as u32).filter(|c| is_print(*c)) {
                        s.push_str(&format!(" '{c}'"));
                    }
                }
                spec.pad(&s, false)
            }
            _ => fmt_int(*i, verb, spec),
        },
        Value::Float(f) => fmt_float(*f, verb, spec),
        Value::Str(s) | Value::Html(s) => fmt_str(s, verb, spec),
        Value::Duration(d) => fmt_str(&duration_string(*d), verb, spec),
        Value::Time(t) => fmt_str(&time_string(*t), verb, spec),
        Value::Map(m) if matches!(m.kind, MapKind::Struct(..)) => {
            let MapKind::Struct(_, order) = m.kind else {
                unreachable!("matched above")
            };
            let parts: Vec<String> = order
                .iter()
                .map(|k| {
                    let v = m.entries.get(*k).unwrap_or(&Value::Nil);
                    let v = if *v == Value::Missing { &Value::Nil } else { v };
                    format_one(v, verb, spec)
                })
                .collect();
            format!("{{{}}}", parts.join(" "))
        }
        Value::Map(m) => {
            let mut s = String::from("map[");
            for (i, (k, v)) in m.entries.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&format_one(&Value::str(k), verb, spec));
                s.push(':');
                let v = match (m.kind, v) {
                    (MapKind::Any, Value::Missing) => &Value::Nil,
                    _ => v,
                };
                s.push_str(&format_one(v, verb, spec));
            }
            s.push(']');
            s
        }
        Value::Samples(list) => {
            let mut s = String::from("[");
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&format_one(&Value::Sample(x.clone()), verb, spec));
            }
            s.push(']');
            s
        }
        Value::Sample(x) => {
            let labels = Value::labels(x.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            format!(
                "&{{{} {}}}",
                format_one(&labels, verb, spec),
                format_one(&Value::Float(x.value), verb, spec)
            )
        }
    }
}

/// `%v` of a value (`fmt.Sprint` of one operand).
pub fn display(v: &Value) -> String {
    format_one(v, 'v', &Spec::default())
}

/// Go's `time.Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut s = if u < 1_000_000_000 {
        // Below a second: ns, µs or ms with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        format!("{}{unit}", frac(u, div))
    } else {
        let secs = u / 1_000_000_000;
        let nanos = u % 1_000_000_000;
        let h = secs / 3600;
        let m = secs / 60 % 60;
        let sec = secs % 60;
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(sec * 1_000_000_000 + nanos, 1_000_000_000));
        out.push('s');
        out
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

/// `v / div` with the fraction's trailing zeros dropped.
fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rest = v % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let mut f = format!("{rest:0width$}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{whole}.{f}")
}

/// Go's `time.Time.String` in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn time_string(ns: i128) -> String {
    let secs = ns.div_euclid(1_000_000_000) as i64;
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    let (y, mo, d) = crate::model::time::civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos > 0 {
        let mut f = format!("{nanos:09}");
        while f.ends_with('0') {
            f.pop();
        }
        s.push('.');
        s.push_str(&f);
    }
    s.push_str(" +0000 UTC");
    s
}

/// Whether a value is a string for `fmt.Sprint`'s spacing rule.
fn is_string(v: &Value) -> bool {
    matches!(v, Value::Str(_) | Value::Html(_))
}

/// `fmt.Sprint`: operands side by side, a space between two that are not strings.
pub fn sprint(args: &[Value]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string(a) && !is_string(&args[i - 1]) {
            s.push(' ');
        }
        s.push_str(&display(a));
    }
    s
}

/// `fmt.Sprintln`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut s = args.iter().map(display).collect::<Vec<_>>().join(" ");
    s.push('\n');
    s
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let b = format.as_bytes();
    let mut i = 0;
    let mut argn = 0;
    let mut reordered = false;
    let mut good_argn = true;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= b.len() {
            break;
        }
        i += 1; // '%'
        let mut spec = Spec::default();
        while i < b.len() {
            match b[i] {
                b'#' => spec.sharp = true,
                b'0' => spec.zero = !spec.minus,
                b'+' => spec.plus = true,
                b'-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index, then width.
        let (n, ok, ni) = arg_index(b, i, argn, args.len());
        if ni != i {
            reordered = true;
            good_argn &= ok;
        }
        argn = n;
        i = ni;
        if i < b.len() && b[i] == b'*' {
            i += 1;
            match args.get(argn) {
                Some(Value::Int(w)) => {
                    if *w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                    if spec.width.unwrap_or(0) > 1_000_000 {
                        out.push_str("%!(BADWIDTH)");
                        spec.width = None;
                    }
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argn += 1;
            reordered = false;
        } else {
            let (w, ni) = number(b, i);
            if ni != i {
                spec.width = w;
                if reordered {
                    good_argn = false;
                }
            }
            i = ni;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            if reordered {
                good_argn = false;
            }
            let (n, ok, ni) = arg_index(b, i, argn, args.len());
            if ni != i {
                reordered = true;
                good_argn &= ok;
            }
            argn = n;
            i = ni;
            if i < b.len() && b[i] == b'*' {
                i += 1;
                match args.get(argn) {
                    Some(Value::Int(p)) if *p >= 0 && *p <= 1_000_000 => {
                        spec.prec = Some(*p as usize)
                    }
                    Some(Value::Int(p)) if *p < 0 => spec.prec = None,
                    _ => {
                        out.push_str("%!(BADPREC)");
                        spec.prec = None;
                    }
                }
                argn += 1;
                reordered = false;
            } else {
                let (p, ni) = number(b, i);
                spec.prec = Some(p.unwrap_or(0));
                i = ni;
            }
        }
        if !reordered {
            let (n, ok, ni) = arg_index(b, i, argn, args.len());
            if ni != i {
                reordered = true;
                good_argn &= ok;
            }
            argn = n;
            i = ni;
        }
        let Some(verb) = format[i..].chars().next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_argn {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
            good_argn = true;
            continue;
        }
        let Some(arg) = args.get(argn) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argn += 1;
        if verb == 'T' {
            out.push_str(&spec.pad(arg.type_name(), false));
            continue;
        }
        if verb == 'p' {
            out.push_str(&bad_verb(arg, verb));
            continue;
        }
        out.push_str(&format_one(arg, verb, &spec));
    }
    if !reordered && argn < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argn..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Missing | Value::Nil => out.push_str("<nil>"),
                _ => out.push_str(&format!("{}={}", a.type_name(), display(a))),
            }
        }
        out.push(')');
    }
    out
}

/// A decimal number at `i`, if any (too large is none).
fn number(b: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add((b[i] - b'0') as usize);
        i += 1;
    }
    if i == start || n > 1_000_000 {
        return (None, i);
    }
    (Some(n), i)
}

/// An explicit argument index `[n]` at `i`: the argument number, whether it is valid, and
/// where the format goes on.
fn arg_index(b: &[u8], i: usize, argn: usize, nargs: usize) -> (usize, bool, usize) {
    if i >= b.len() || b[i] != b'[' {
        return (argn, true, i);
    }
    let Some(close) = b[i..].iter().position(|&c| c == b']') else {
        return (argn, false, b.len());
    };
    let inner = &b[i + 1..i + close];
    let (n, end) = number(inner, 0);
    match n {
        Some(n) if end == inner.len() && n >= 1 && n <= nargs => (n - 1, true, i + close + 1),
        _ => (argn, false, i + close + 1),
    }
}

/// `%.4g` and friends for humanize: Go's formatting of a float with a C-style spec.
pub fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    fmt_float(
        f,
        verb,
        &Spec {
            prec,
            ..Spec::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go() {
        let cases = [
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5, "1.5"),
            (100.0, "100"),
            (3e-7, "3e-07"),
            (0.0, "0"),
            (-2.5, "-2.5"),
            (9.007199254740992e15, "9.007199254740992e+15"),
            (5e-324, "5e-324"),
        ];
        for (f, want) in cases {
            assert_eq!(display(&Value::Float(f)), want, "{f}");
        }
    }

    #[test]
    fn printf_matches_go() {
        let s = |x: &str| Value::str(x);
        assert_eq!(
            sprintf(
                "%.3g|%e|%.2f",
                &[
                    Value::Float(123456.0),
                    Value::Float(123456.0),
                    Value::Float(123456.0)
                ]
            ),
            "1.23e+05|1.234560e+05|123456.00"
        );
        assert_eq!(
            sprintf(
                "%d|%s|%5.1f|%-5d|%05d|%x|%q",
                &[
                    s("a"),
                    Value::Int(3),
                    Value::Float(2.25),
                    Value::Int(7),
                    Value::Int(-42),
                    s("hi"),
                    Value::Int(12)
                ]
            ),
            "%!d(string=a)|%!s(int=3)|  2.2|7    |-0042|6869|'\\f'"
        );
        assert_eq!(
            sprintf("%z|%d", &[Value::Int(1)]),
            "%!z(int=1)|%!d(MISSING)"
        );
        assert_eq!(
            sprintf(
                "%.2f %.1f %.0f %.0f",
                &[
                    Value::Float(0.125),
                    Value::Float(0.25),
                    Value::Float(2.5),
                    Value::Float(3.5)
                ]
            ),
            "0.12 0.2 2 4"
        );
        assert_eq!(
            sprintf("%d %s", &[Value::Int(1), s("a"), s("extra"), Value::Int(2)]),
            "1 a%!(EXTRA string=extra, int=2)"
        );
        assert_eq!(
            sprintf(
                "%6.2v|%.3v|%10s|%.2s|%x|%X",
                &[
                    Value::Float(2.61803),
                    s("abcdef"),
                    s("hi"),
                    s("héllo"),
                    Value::Float(3.5),
                    Value::Int(-255)
                ]
            ),
            "   2.6|abc|        hi|hé|0x1.cp+01|-FF"
        );
        assert_eq!(
            sprintf(
                "%08.3f|%-08.3f|%+.2e",
                &[
                    Value::Float(-2.61803),
                    Value::Float(2.61803),
                    Value::Float(12345.678)
                ]
            ),
            "-002.618|2.618   |+1.23e+04"
        );
        assert_eq!(
            sprintf(
                "%v|%v|%v|%5v|%-6v|",
                &[
                    Value::Float(f64::NAN),
                    Value::Float(f64::INFINITY),
                    Value::Float(f64::NEG_INFINITY),
                    Value::Bool(true),
                    s("ab")
                ]
            ),
            "NaN|+Inf|-Inf| true|ab    |"
        );
        assert_eq!(sprintf("%q|%x|%X|% x|%#x|%o|%b|%c|%U|%#U|%t|%8.3f|%-8.3e|%+d|% d", &[s("a\"b\n\x01é"), Value::Int(255), s("hi"), s("hi"), Value::Int(255), Value::Int(8), Value::Int(5), Value::Int(65), Value::Int(0x1F600), Value::Int('x' as i64), Value::Bool(true), Value::Float(2.61803), Value::Float(31415.9), Value::Int(5), Value::Int(5)]),
            "\"a\\\"b\\n\\x01é\"|ff|6869|68 69|0xff|10|101|A|U+1F600|U+0078 'x'|true|   2.618|3.142e+04|+5| 5");
        assert_eq!(
            sprintf(
                "%*d|%-*d|%.*f",
                &[
                    Value::Int(5),
                    Value::Int(1),
                    Value::Int(4),
                    Value::Int(2),
                    Value::Int(2),
                    Value::Float(2.61803)
                ]
            ),
            "    1|2   |2.62"
        );
        assert_eq!(
            sprintf(
                "%d|%v|%s|%q|%x",
                &[
                    Value::Bool(true),
                    Value::Int(97),
                    Value::Float(3.5),
                    Value::Int(3),
                    s("")
                ]
            ),
            "%!d(bool=true)|97|%!s(float64=3.5)|'\\x03'|"
        );
    }

    #[test]
    fn durations_print_as_go() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(duration_string(-90_000_000_000), "-1m30s");
        assert_eq!(duration_string(999), "999ns");
    }
}
