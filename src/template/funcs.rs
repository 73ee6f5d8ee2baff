//! The function table: Go's built-ins (`and`, `eq`, `printf`, `index`, ...) and
//! Prometheus's (`humanize`, `query`, `reReplaceAll`, ...), each with the Go signature that
//! decides how its arguments are checked, and the environment they read (the external URL,
//! the evaluation time, the query backend).

use std::rc::Rc;

use super::fmt::{format_float, sprint, sprintf, sprintln};
use super::value::{MapKind, QuerySample, Value};
use crate::model::Regex;

/// A query backend for templates: PromQL text in, an instant vector out.
pub type QueryFn<'a> = dyn Fn(&str) -> std::result::Result<Vec<QuerySample>, String> + 'a;

/// What a function can reach beyond its arguments.
pub struct Env<'a> {
    /// `--web.external-url`, for `externalURL` and `pathPrefix`; none where Prometheus has
    /// none (unit tests), which makes those functions fail as Prometheus's do.
    pub external_url: Option<&'a str>,
    /// The evaluation time, milliseconds since the epoch (`now`).
    pub time_ms: i64,
    /// Runs a PromQL instant query at the evaluation time (`query`); none where templates
    /// have no backend.
    pub query: Option<&'a QueryFn<'a>>,
}

impl Env<'_> {
    /// An environment with no query backend, for parse checks and tests.
    pub fn empty() -> Env<'static> {
        Env {
            external_url: None,
            time_ms: 0,
            query: None,
        }
    }
}

/// A Go parameter type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `reflect.Value`: anything, a missing value included.
    Value,
    /// `interface{}`.
    Any,
    Str,
    Float,
    Int,
    /// `*template.sample`.
    Sample,
    /// `template.queryResult`.
    Samples,
}

impl Param {
    pub fn type_name(self) -> &'static str {
        match self {
            Param::Value => "reflect.Value",
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Float => "float64",
            Param::Int => "int",
            Param::Sample => "*template.sample",
            Param::Samples => "template.queryResult",
        }
    }
}

/// A function's parameters: fixed ones, then optionally a variadic one.
pub struct Signature {
    pub fixed: &'static [Param],
    pub variadic: Option<Param>,
}

macro_rules! funcs {
    ($($variant:ident $name:literal [$($p:ident),*] $(... $v:ident)?;)*) => {
        /// Every function a template can call.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Func { $($variant),* }

        impl Func {
            pub fn from_name(name: &str) -> Option<Func> {
                match name {
                    $($name => Some(Func::$variant),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(Func::$variant => $name),* }
            }

            pub fn signature(self) -> Signature {
                match self {
                    $(Func::$variant => Signature {
                        fixed: &[$(Param::$p),*],
                        variadic: funcs!(@v $($v)?),
                    }),*
                }
            }
        }
    };
    (@v) => { None };
    (@v $v:ident) => { Some(Param::$v) };
}

funcs! {
    And "and" [Value] ... Value;
    Or "or" [Value] ... Value;
    Not "not" [Value];
    Eq "eq" [Value] ... Value;
    Ne "ne" [Value, Value];
    Lt "lt" [Value, Value];
    Le "le" [Value, Value];
    Gt "gt" [Value, Value];
    Ge "ge" [Value, Value];
    Len "len" [Value];
    Index "index" [Value] ... Value;
    Slice "slice" [Value] ... Value;
    Print "print" [] ... Any;
    Printf "printf" [Str] ... Any;
    Println "println" [] ... Any;
    Html "html" [] ... Any;
    Js "js" [] ... Any;
    Urlquery "urlquery" [] ... Any;
    Call "call" [Value] ... Value;
    // Prometheus's.
    Query "query" [Str];
    First "first" [Samples];
    Label "label" [Str, Sample];
    SampleValue "value" [Sample];
    StrValue "strvalue" [Sample];
    Args "args" [] ... Any;
    ReReplaceAll "reReplaceAll" [Str, Str, Str];
    SafeHtml "safeHtml" [Str];
    Match "match" [Str, Str];
    Title "title" [Str];
    ToUpper "toUpper" [Str];
    ToLower "toLower" [Str];
    GraphLink "graphLink" [Str];
    TableLink "tableLink" [Str];
    SortByLabel "sortByLabel" [Str, Samples];
    Humanize "humanize" [Any];
    Humanize1024 "humanize1024" [Any];
    HumanizeDuration "humanizeDuration" [Any];
    HumanizePercentage "humanizePercentage" [Any];
    HumanizeTimestamp "humanizeTimestamp" [Any];
    ToTime "toTime" [Any];
    ToDuration "toDuration" [Any];
    ParseDuration "parseDuration" [Str];
    Now "now" [];
    PathPrefix "pathPrefix" [];
    ExternalUrl "externalURL" [];
    StripPort "stripPort" [Str];
    StripDomain "stripDomain" [Str];
    UrlQueryEscape "urlQueryEscape" [Str];
}

type Result<T> = std::result::Result<T, String>;

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn sample(v: &Value) -> Result<&QuerySample> {
    match v {
        Value::Sample(s) => Ok(s),
        _ => Err(nil_pointer()),
    }
}

fn samples(v: &Value) -> &[Rc<QuerySample>] {
    match v {
        Value::Samples(s) => s,
        _ => &[],
    }
}

impl Func {
    /// Calls the function on arguments already checked against its signature.
    pub fn call(self, env: &Env<'_>, args: Vec<Value>) -> Result<Value> {
        let a = &args;
        Ok(match self {
            Func::And | Func::Or => unreachable!("and/or short-circuit in the executor"),
            Func::Not => Value::Bool(!a[0].truth()),
            Func::Eq => Value::Bool(eq(&a[0], &a[1..])?),
            Func::Ne => Value::Bool(!eq(&a[0], &a[1..2])?),
            Func::Lt => Value::Bool(lt(&a[0], &a[1])?),
            Func::Le => Value::Bool(lt(&a[0], &a[1])? || eq(&a[0], &a[1..2])?),
            Func::Gt => Value::Bool(!(lt(&a[0], &a[1])? || eq(&a[0], &a[1..2])?)),
            Func::Ge => Value::Bool(!lt(&a[0], &a[1])?),
            Func::Len => Value::Int(length(&a[0])?),
            Func::Index => index(&a[0], &a[1..])?,
            Func::Slice => slice(&a[0], &a[1..])?,
            Func::Print => Value::str(&sprint(a)),
            Func::Printf => Value::str(&sprintf(text(&a[0]), &a[1..])),
            Func::Println => Value::str(&sprintln(a)),
            Func::Html => Value::str(&html_escape(&eval_args(a))),
            Func::Js => Value::str(&js_escape(&eval_args(a))),
            Func::Urlquery => Value::str(&query_escape(&eval_args(a))),
            Func::Call => {
                return Err(match &a[0] {
                    Value::Missing | Value::Nil => "call of nil".to_string(),
                    v => format!("non-function of type {}", v.type_name()),
                })
            }
            Func::Query => {
                let Some(q) = env.query else {
                    return Err("queries are not available here".into());
                };
                let res = q(text(&a[0]))?;
                Value::Samples(Rc::new(res.into_iter().map(Rc::new).collect()))
            }
            Func::First => match samples(&a[0]).first() {
                Some(s) => Value::Sample(s.clone()),
                None => return Err("first() called on vector with no elements".into()),
            },
            Func::Label => {
                let s = sample(&a[1])?;
                Value::str(s.labels.get(text(&a[0])).map_or("", String::as_str))
            }
            Func::SampleValue => Value::Float(sample(&a[0])?.value),
            Func::StrValue => Value::str(
                sample(&a[0])?
                    .labels
                    .get("__value__")
                    .map_or("", String::as_str),
            ),
            Func::Args => Value::any_map(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (format!("arg{i}"), v.clone()))
                    .collect(),
            ),
            Func::ReReplaceAll => {
                let re = compile(text(&a[0]))?;
                Value::str(&re.replace_all(text(&a[2]), text(&a[1])))
            }
            Func::SafeHtml => Value::Html(Rc::from(text(&a[0]))),
            Func::Match => {
                let re = compile(text(&a[0]))?;
                Value::Bool(re.is_match(text(&a[1])))
            }
            Func::Title => Value::str(&title(text(&a[0]))),
            Func::ToUpper => Value::str(&simple_case(text(&a[0]), true)),
            Func::ToLower => Value::str(&simple_case(text(&a[0]), false)),
            Func::GraphLink => Value::str(&format!(
                "/graph?g0.expr={}&g0.tab=0",
                query_escape(text(&a[0]))
            )),
            Func::TableLink => Value::str(&format!(
                "/graph?g0.expr={}&g0.tab=1",
                query_escape(text(&a[0]))
            )),
            Func::SortByLabel => {
                let name = text(&a[0]);
                let mut v: Vec<Rc<QuerySample>> = samples(&a[1]).to_vec();
                v.sort_by(|x, y| {
                    let a = x.labels.get(name).map_or("", String::as_str);
                    let b = y.labels.get(name).map_or("", String::as_str);
                    a.cmp(b)
                });
                Value::Samples(Rc::new(v))
            }
            Func::Humanize => Value::str(&humanize(to_float(&a[0])?)),
            Func::Humanize1024 => Value::str(&humanize1024(to_float(&a[0])?)),
            Func::HumanizeDuration => Value::str(&humanize_duration(to_float(&a[0])?)),
            Func::HumanizePercentage => Value::str(&format!(
                "{}%",
                format_float(to_float(&a[0])? * 100.0, 'g', Some(4))
            )),
            Func::HumanizeTimestamp => {
                let v = to_float(&a[0])?;
                match float_to_time(v) {
                    Some(ns) => Value::str(&super::fmt::time_string(ns)),
                    None if v.is_nan() || v.is_infinite() => Value::str(&format_float(v, 'g', Some(4))),
                    None => return Err(format!("{} cannot be represented as a nanoseconds timestamp since it overflows int64", format_float(v, 'v', None))),
                }
            }
            Func::ToTime => {
                let v = to_float(&a[0])?;
                match float_to_time(v) {
                    Some(ns) => Value::Time(ns),
                    None if v.is_nan() || v.is_infinite() => {
                        return Err("value is NaN or Inf".into())
                    }
                    None => return Err(format!("{} cannot be represented as a nanoseconds timestamp since it overflows int64", format_float(v, 'v', None))),
                }
            }
            Func::ToDuration => {
                // time.Duration(v * 1e9): truncated; out of range is Go's amd64 result.
                let ns = to_float(&a[0])? * 1e9;
                Value::Duration(if ns.is_nan() || ns.abs() >= 9.223372036854776e18 {
                    i64::MIN
                } else {
                    ns as i64
                })
            }
            Func::ParseDuration => {
                // Prometheus 3.6+: a leading minus is allowed.
                let t = text(&a[0]);
                let (neg, body) = match t.strip_prefix('-') {
                    Some(b) => (true, b),
                    None => (false, t),
                };
                let ms = crate::model::time::parse_model_duration(body)?;
                Value::Float(if neg { -ms as f64 } else { ms as f64 } / 1000.0)
            }
            Func::Now => Value::Float(env.time_ms as f64 / 1000.0),
            Func::PathPrefix => Value::str(url_path(env.external_url.ok_or_else(nil_pointer)?)),
            Func::ExternalUrl => Value::str(env.external_url.ok_or_else(nil_pointer)?),
            Func::StripPort => Value::str(strip_port(text(&a[0]))),
            Func::StripDomain => Value::str(&strip_domain(text(&a[0]))),
            Func::UrlQueryEscape => Value::str(&query_escape(text(&a[0]))),
        })
    }
}

/// What Go's runtime says when a function dereferences a nil pointer.
fn nil_pointer() -> String {
    "runtime error: invalid memory address or nil pointer dereference".into()
}

/// Go's `regexp.MustCompile` as a recoverable error.
fn compile(pattern: &str) -> Result<Regex> {
    Regex::new_unanchored(pattern)
        .map_err(|e| format!("regexp: Compile({}): {e}", super::fmt::quote(pattern)))
}

/// Prometheus's `convertToFloat`.
fn to_float(v: &Value) -> Result<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => parse_go_float(s).ok_or_else(|| {
            format!(
                "strconv.ParseFloat: parsing {}: invalid syntax",
                super::fmt::quote(s)
            )
        }),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// `strconv.ParseFloat(s, 64)`: decimal, `Inf`, `NaN`, hex floats, underscores only with a
/// base prefix.
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok().or(Some(if body == "nan" {
            f64::NAN
        } else if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

fn float_to_time(v: f64) -> Option<i128> {
    if v.is_nan() || v.is_infinite() {
        return None;
    }
    let ns = v * 1e9;
    if ns.abs() >= 9.223372036854776e18 {
        return None;
    }
    // model.TimeFromUnixNano: nanoseconds truncated to milliseconds.
    let ms = (ns as i64) / 1_000_000;
    Some(ms as i128 * 1_000_000)
}

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_float(v, 'g', Some(4)))
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_float(v, 'g', Some(4)))
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_float(v, 'g', Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let seconds = d % 60;
        let minutes = (d / 60) % 60;
        let hours = (d / 60 / 60) % 24;
        let days = d / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", format_float(v, 'g', Some(4)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_float(v, 'g', Some(4)))
}

/// `cases.Title(language.AmericanEnglish, cases.NoLower)`: the first cased letter of each
/// word title-cased, the rest left as they are. Letters, digits and `_` make words; one of
/// `:` `.` `'` `·` between them does not end a word, two in a row or anything else does.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    let mut cased_seen = false;
    let mut mids = 0;
    for c in s.chars() {
        let letter_like = c.is_alphanumeric() || c == '_';
        let mid = matches!(c, ':' | '.' | '\'' | '\u{b7}' | '\u{2019}');
        if letter_like {
            if !in_word {
                in_word = true;
                cased_seen = false;
            }
            mids = 0;
            if !cased_seen && (c.is_lowercase() || c.is_uppercase()) {
                cased_seen = true;
                out.extend(c.to_uppercase().take(1));
                continue;
            }
        } else if mid && in_word {
            mids += 1;
            if mids > 1 {
                in_word = false;
            }
        } else {
            in_word = false;
            mids = 0;
        }
        out.push(c);
    }
    out
}

/// Go's `strings.ToUpper`/`ToLower`: one character for one (`ß` stays `ß`).
fn simple_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if m.len() == 1 {
                m.pop().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

use crate::scrape::target::query_escape;

fn url_path(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => return url.split(['?', '#']).next().unwrap_or(""),
    };
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or(""),
        None => "",
    }
}

/// `net.SplitHostPort`: the host and port of `host:port` or `[v6]:port`.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &rest[..close];
        let port = rest[close + 1..].strip_prefix(':')?;
        if port.contains([':', '[', ']']) {
            return None;
        }
        return Some((host, port));
    }
    let i = s.rfind(':')?;
    let (host, port) = (&s[..i], &s[i + 1..]);
    if host.contains(':') || host.contains(['[', ']']) || port.contains([']', '[']) {
        return None;
    }
    Some((host, port))
}

fn strip_port(s: &str) -> &str {
    match split_host_port(s) {
        Some((host, _)) => host,
        None => s,
    }
}

fn strip_domain(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let (host, port) = split_host_port(s).unwrap_or((s, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_string();
    }
    let host = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        return host.to_string();
    }
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The text of `html`, `js` and `urlquery`'s arguments (`fmt.Sprint`, one string as is).
fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    sprint(a)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if !c.is_control() && !c.is_whitespace() => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `basicKind` for comparisons.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Invalid,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) | Value::Html(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn is_valid(v: &Value) -> bool {
    !matches!(v, Value::Missing)
}

/// Go 1.25's message for values of different kinds.
fn incompatible(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}

fn eq(a: &Value, rest: &[Value]) -> Result<bool> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = kind(a);
    for b in rest {
        let k2 = kind(b);
        let truth = if k1 != k2 {
            if is_valid(a) && is_valid(b) {
                return Err(incompatible(a, b));
            }
            false
        } else {
            match k1 {
                Kind::Bool => a.truth() == b.truth(),
                Kind::Int => int_of(a) == int_of(b),
                Kind::Float => float_of(a) == float_of(b),
                Kind::String => a.as_str() == b.as_str(),
                Kind::Invalid => match (a, b) {
                    (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
                    (Value::Missing | Value::Nil, _) | (_, Value::Missing | Value::Nil) => false,
                    (Value::Map(_) | Value::Samples(_), _) => {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            super::fmt::display(b),
                            b.type_name()
                        ))
                    }
                    (Value::Sample(x), Value::Sample(y)) => Rc::ptr_eq(x, y),
                    (Value::Time(x), Value::Time(y)) => x == y,
                    _ => return Err(incompatible(a, b)),
                },
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(incompatible(a, b));
    }
    Ok(match k1 {
        Kind::Bool => return Err("invalid type for comparison".into()),
        Kind::Int => int_of(a) < int_of(b),
        Kind::Float => float_of(a) < float_of(b),
        Kind::String => a.as_str() < b.as_str(),
        Kind::Invalid => unreachable!("checked above"),
    })
}

fn length(v: &Value) -> Result<i64> {
    Ok(match v {
        Value::Str(s) | Value::Html(s) => s.len() as i64,
        Value::Map(m) if !matches!(m.kind, MapKind::Struct(..)) => m.entries.len() as i64,
        Value::Samples(s) => s.len() as i64,
        Value::Missing => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    })
}

/// An index argument: an integer, checked against `cap`.
fn index_arg(v: &Value, cap: usize) -> Result<usize> {
    let x = match v {
        Value::Int(i) => *i,
        Value::Missing | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value> {
    if matches!(item, Value::Missing | Value::Nil) {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in indexes {
        item = match &item {
            Value::Str(s) | Value::Html(s) => {
                let x = index_arg(i, s.len())?;
                if x == s.len() {
                    return Err("reflect: string index out of range".into());
                }
                Value::Int(i64::from(s.as_bytes()[x]))
            }
            Value::Samples(list) => {
                let x = index_arg(i, list.len())?;
                if x == list.len() {
                    return Err("reflect: slice index out of range".into());
                }
                Value::Sample(list[x].clone())
            }
            Value::Map(m) if !matches!(m.kind, MapKind::Struct(..)) => {
                let key = match i {
                    Value::Str(k) => k,
                    Value::Missing | Value::Nil => {
                        return Err("value is nil; should be of type string".into())
                    }
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ))
                    }
                };
                match m.entries.get(&**key) {
                    Some(v) => v.clone(),
                    None => match m.kind {
                        MapKind::Strings => Value::str(""),
                        _ => Value::Nil,
                    },
                }
            }
            Value::Nil | Value::Missing => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value> {
    if matches!(item, Value::Missing | Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::Str(s) | Value::Html(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Samples(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (k, i) in indexes.iter().enumerate() {
        idx[k] = index_arg(i, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::Str(s) => Value::str(&String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]])),
        Value::Html(s) => Value::Html(Rc::from(
            String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).as_ref(),
        )),
        Value::Samples(l) => Value::Samples(Rc::new(l[idx[0]..idx[1]].to_vec())),
        _ => unreachable!("checked above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_as_prometheus() {
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.001234), "1.234m");
        assert_eq!(humanize(-1500.0), "-1.5k");
        assert_eq!(humanize(f64::INFINITY), "+Inf");
        assert_eq!(humanize1024(1048576.0), "1Mi");
        assert_eq!(humanize1024(0.5), "0.5");
        assert_eq!(humanize_duration(93784.0), "1d 2h 3m 4s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.0015), "1.5ms");
        assert_eq!(humanize_duration(0.0), "0s");
    }

    #[test]
    fn hosts() {
        assert_eq!(strip_port("host:9100"), "host");
        assert_eq!(strip_port("[::1]:9100"), "::1");
        assert_eq!(strip_port("host"), "host");
        assert_eq!(strip_domain("a.example.com:9100"), "a:9100");
        assert_eq!(strip_domain("10.0.0.1:9100"), "10.0.0.1:9100");
        assert_eq!(strip_domain("a.example.com"), "a");
    }
}
