//! The Pushgateway's HTTP API over a [`Gateway`], so its clients work unchanged: routes,
//! status codes and messages as the Pushgateway (v1.11) answers them, request bodies in
//! text 0.0.4, OpenMetrics (which the Pushgateway does not read) or delimited protobuf,
//! gzip- or snappy-encoded or not; `/metrics` negotiated from `Accept` (text, OpenMetrics, protobuf)
//! and gzipped when asked; `/api/v1/metrics` and `/api/v1/status` in its JSON shapes.
//!
//! Beyond the Pushgateway: `?ttl=` or `X-Prombox-TTL` on a push sets the group's expiry;
//! `DELETE /metrics/job/J?match=partial` deletes every group whose key holds the given
//! labels (the count in `X-Prombox-Deleted`).
//!
//! Names in a request are only ever keys in memory; none becomes a file path.

use std::io::{Read, Write};

use super::store::{Gathering, Group, Mode, Push};
use super::{Gateway, WriteError};
use crate::expfmt::family::{self, Family, Metric, Value, View};
use crate::expfmt::{self as expfmt_mod, number::write_value, proto};
use crate::http::request::{percent_decode, query_pairs};
use crate::http::server::{Method, Request, Response, STREAM_PIECE};
use crate::push::key::parse_path;

/// How the API is configured.
#[derive(Clone, Debug)]
pub struct Options {
    /// Serve `PUT /api/v1/admin/wipe`.
    pub admin_api: bool,
    /// The largest request body after gzip decoding.
    pub max_body: u64,
    /// Serve OpenMetrics to a scrape that prefers it; the Pushgateway never does (so a
    /// counter not named `_total` keeps its name in Prometheus).
    pub openmetrics: bool,
    /// The command line's settings, shown by `/api/v1/status`.
    pub flags: Vec<(String, String)>,
    /// When the gateway started (nanoseconds since the epoch).
    pub start_ns: i64,
}

/// Answers one request.
pub fn handle(gw: &Gateway, opts: &Options, req: &Request) -> Response {
    let raw_path = req.path();
    let cleaned = clean_path(raw_path);
    if cleaned != raw_path {
        let mut loc = cleaned;
        if !req.query().is_empty() {
            loc = format!("{loc}?{}", req.query());
        }
        return redirect(&req.method, &loc, 301);
    }
    let Some(path) = percent_decode(raw_path, false).and_then(|b| String::from_utf8(b).ok()) else {
        return Response::text(
            400,
            "400 Bad Request: the path is not valid UTF-8 after decoding\n",
        );
    };
    let method = req.method.as_str().to_ascii_lowercase();
    let (handler, resp) = route(gw, opts, req, &path);
    if let Some(h) = handler {
        gw.own.count(resp.status, h, &method);
    }
    resp
}

/// Go's `path.Clean` as `http.ServeMux` applies it (a trailing slash kept).
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut c = format!("/{}", out.join("/"));
    if p.ends_with('/') && c != "/" {
        c.push('/');
    }
    c
}

fn redirect(method: &Method, location: &str, status: u16) -> Response {
    let r = Response::new(status).header("Location", location);
    if *method == Method::Get {
        r.body(
            "text/html; charset=utf-8",
            format!(
                "<a href=\"{}\">{}</a>.\n\n",
                html_escape(location),
                crate::http::server::reason(status)
            )
            .into_bytes(),
        )
    } else {
        r
    }
}

fn error(status: u16, msg: &str) -> Response {
    Response::text(status, format!("{msg}\n")).header("X-Content-Type-Options", "nosniff")
}

fn not_found() -> Response {
    error(404, "404 page not found")
}

fn not_allowed(allow: &str) -> Response {
    error(405, "Method Not Allowed").header("Allow", allow)
}

fn options(allow: &str) -> Response {
    Response::new(200).header("Allow", allow)
}

fn cors(r: Response) -> Response {
    r.header(
        "Access-Control-Allow-Headers",
        "Accept, Authorization, Content-Type, Origin",
    )
    .header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
    .header("Access-Control-Allow-Origin", "*")
    .header("Access-Control-Expose-Headers", "Date")
    .header("Cache-Control", "no-cache, no-store, must-revalidate")
}

/// The handler name a request is counted under (as the Pushgateway names them), and the
/// response.
fn route(
    gw: &Gateway,
    opts: &Options,
    req: &Request,
    path: &str,
) -> (Option<&'static str>, Response) {
    let m = &req.method;
    match path {
        "/-/healthy" | "/-/ready" => {
            let name = if path == "/-/healthy" {
                "healthy"
            } else {
                "ready"
            };
            match m {
                Method::Get if path == "/-/ready" && !gw.writable() => (
                    Some(name),
                    error(503, "writes are stopped: the state could not be written"),
                ),
                Method::Get => (
                    Some(name),
                    Response::new(200).body("text/plain; charset=utf-8", b"OK".to_vec()),
                ),
                Method::Options => (None, options("GET, OPTIONS")),
                _ => (None, not_allowed("GET, OPTIONS")),
            }
        }
        "/metrics" => match m {
            Method::Get => (None, scrape(gw, opts, req)),
            Method::Options => (None, options("GET, OPTIONS")),
            _ => (None, not_allowed("GET, OPTIONS")),
        },
        "/" | "/status" => match m {
            Method::Get => (Some("status"), status_page(gw)),
            Method::Options => (None, options("GET, OPTIONS")),
            _ => (None, not_allowed("GET, OPTIONS")),
        },
        "/api/v1/status" | "/api/v1/metrics" => {
            let name = if path == "/api/v1/status" {
                "api/v1/status"
            } else {
                "api/v1/metrics"
            };
            match m {
                Method::Get if name == "api/v1/status" => (Some(name), cors(api_status(opts))),
                Method::Get => (Some(name), cors(api_metrics(gw))),
                Method::Options => (Some("api/v1/options"), cors(Response::new(200))),
                _ => (None, not_allowed("GET, OPTIONS")),
            }
        }
        "/api/v1/admin/wipe" if opts.admin_api => match m {
            Method::Put => match gw.wipe() {
                Ok(_) => (Some("wipe"), Response::new(202)),
                Err(e) => (Some("wipe"), write_error(&e)),
            },
            Method::Options => (Some("api/v1/options"), cors(Response::new(200))),
            _ => (None, not_allowed("OPTIONS, PUT")),
        },
        p if p.starts_with("/api/v1/") && *m == Method::Options => {
            (Some("api/v1/options"), cors(Response::new(200)))
        }
        p => {
            let rest = p
                .strip_prefix("/metrics/job")
                .filter(|r| r.starts_with('/') || r.starts_with("@base64/"));
            match rest {
                Some(r) if job_segment(r).is_some() => match m {
                    Method::Put => (Some("push"), push(gw, opts, req, r, Mode::Replace)),
                    Method::Post => (Some("push"), push(gw, opts, req, r, Mode::Add)),
                    Method::Delete => (Some("delete"), delete(gw, req, r)),
                    Method::Options => (None, options("DELETE, OPTIONS, POST, PUT")),
                    _ => (None, not_allowed("DELETE, OPTIONS, POST, PUT")),
                },
                _ => (None, not_found()),
            }
        }
    }
}

/// The job segment after `/metrics/job` (`/J...` or `@base64/J...`), if not empty.
fn job_segment(rest: &str) -> Option<&str> {
    let r = rest.strip_prefix("@base64").unwrap_or(rest);
    let r = r.strip_prefix('/')?;
    let job = r.split('/').next().unwrap_or("");
    (!job.is_empty()).then_some(job)
}

fn write_error(e: &WriteError) -> Response {
    match e {
        WriteError::Refused(p) => error(p.status(), &p.to_string()),
        WriteError::Disk(_) => error(500, &e.to_string()),
        WriteError::Stopped => error(503, &e.to_string()),
    }
}

/// The request body, decoded as its `Content-Encoding` says (gzip, or snappy's framing
/// format, as the Pushgateway reads them; anything else as it is), within the limit.
fn body(req: &Request, max: u64) -> Result<Vec<u8>, Response> {
    let encoding = req
        .header("content-encoding")
        .map(|e| e.trim().to_ascii_lowercase());
    let too_large = || {
        error(
            413,
            &format!("request body larger than {max} bytes after decoding"),
        )
    };
    match encoding.as_deref() {
        Some("gzip") => {}
        Some("snappy") => {
            let mut out = Vec::new();
            let mut dec = snap::read::FrameDecoder::new(&req.body[..]).take(max + 1);
            return match dec.read_to_end(&mut out) {
                Ok(_) if out.len() as u64 > max => Err(too_large()),
                Ok(_) => Ok(out),
                Err(e) => Err(error(400, &e.to_string())),
            };
        }
        _ => return Ok(req.body.clone()),
    }
    if req.body.is_empty() {
        return Err(error(400, "EOF"));
    }
    if req.body.len() < 10 {
        return Err(error(400, "unexpected EOF"));
    }
    if req.body[..2] != [0x1f, 0x8b] {
        return Err(error(400, "gzip: invalid header"));
    }
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(&req.body[..]).take(max + 1);
    match dec.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > max => Err(too_large()),
        Ok(_) => Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(error(400, "unexpected EOF"))
        }
        Err(e) => Err(error(400, &format!("gzip: {e}"))),
    }
}

/// The families of a push body, by its Content-Type: delimited protobuf exactly as the
/// Pushgateway recognizes it, OpenMetrics by its media type, text 0.0.4 otherwise.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Vec<Family>, String> {
    let (media, params) = parse_media_type(content_type.unwrap_or(""));
    if media == "application/vnd.google.protobuf"
        && params
            .iter()
            .any(|(k, v)| k == "encoding" && v == "delimited")
        && params
            .iter()
            .any(|(k, v)| k == "proto" && v == "io.prometheus.client.MetricFamily")
    {
        let fams = proto::decode_delimited(bytes).map_err(|e| e.to_string())?;
        // Later families of one name replace earlier ones, as in the Pushgateway.
        let mut out: Vec<Family> = Vec::with_capacity(fams.len());
        for f in fams {
            match out.iter_mut().find(|o| o.name == f.name) {
                Some(slot) => *slot = f,
                None => out.push(f),
            }
        }
        return Ok(out);
    }
    let format = if media == "application/openmetrics-text" {
        expfmt_mod::Format::OpenMetrics
    } else {
        expfmt_mod::Format::Text
    };
    family::from_exposition(bytes, format).map_err(|e| match e {
        expfmt_mod::Error::Parse(p) => {
            let full = p.to_string();
            let reason = full.split_once(": ").map(|(_, r)| r).unwrap_or(&full);
            format!(
                "text format parsing error in line {}: {reason} (column {})",
                p.line, p.column
            )
        }
        expfmt_mod::Error::Io(e) => e.to_string(),
    })
}

/// A media type, lower-cased, and its parameters (`mime.ParseMediaType`, leniently).
fn parse_media_type(s: &str) -> (String, Vec<(String, String)>) {
    let mut parts = s.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    (media, params)
}

fn ttl_of(req: &Request) -> Result<Option<i64>, Response> {
    let q = query_pairs(req.query());
    let text = req
        .header("x-prombox-ttl")
        .map(str::to_string)
        .or_else(|| q.iter().find(|(k, _)| k == "ttl").map(|(_, v)| v.clone()));
    match text {
        None => Ok(None),
        Some(t) => match crate::model::time::parse_model_duration(t.trim()) {
            Ok(ms) if ms > 0 => Ok(Some(ms)),
            Ok(_) => Err(error(400, &format!("invalid TTL {t:?}: must be positive"))),
            Err(e) => Err(error(400, &format!("invalid TTL {t:?}: {e}"))),
        },
    }
}

fn push(gw: &Gateway, opts: &Options, req: &Request, rest: &str, mode: Mode) -> Response {
    let (key, _) = match parse_path(rest) {
        Ok(k) => k,
        Err(e) => return error(400, &e.to_string()),
    };
    let ttl = match ttl_of(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let bytes = match body(req, opts.max_body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let families = match parse_body(req.header("content-type"), &bytes) {
        Ok(f) => f,
        Err(e) => return error(400, &e),
    };
    match gw.push(Push {
        key,
        mode,
        families,
        time_ns: crate::model::time::now_ns(),
        ttl_ms: ttl,
    }) {
        Ok(()) => Response::new(200),
        Err(e) => write_error(&e),
    }
}

fn delete(gw: &Gateway, req: &Request, rest: &str) -> Response {
    let (key, _) = match parse_path(rest) {
        Ok(k) => k,
        Err(e) => return error(400, &e.to_string()),
    };
    let partial = query_pairs(req.query())
        .iter()
        .any(|(k, v)| k == "match" && v == "partial");
    let result = if partial {
        gw.delete_matching(&key)
    } else {
        gw.delete(&key)
    };
    match result {
        Ok(n) => Response::new(202).header("X-Prombox-Deleted", n.to_string()),
        Err(e) => write_error(&e),
    }
}

/// An exposition format `/metrics` can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposition {
    Text,
    OpenMetrics1,
    OpenMetrics0,
    Protobuf,
}

impl Exposition {
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::Text => "text/plain; version=0.0.4; charset=utf-8",
            Exposition::OpenMetrics1 => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
            Exposition::OpenMetrics0 => {
                "application/openmetrics-text; version=0.0.1; charset=utf-8"
            }
            Exposition::Protobuf => proto::CONTENT_TYPE,
        }
    }
}

/// Picks the format for an `Accept` header as client_golang's `Negotiate` (the Pushgateway's)
/// or, with `openmetrics`, `NegotiateIncludingOpenMetrics` does: the clauses by falling q
/// (more specific first on ties), the first one served wins; text when none is.
pub fn negotiate(accept: Option<&str>, openmetrics: bool) -> Exposition {
    // (q, wildcards, position, media range, parameters)
    type Clause = (f32, u8, usize, String, Vec<(String, String)>);
    let mut clauses: Vec<Clause> = Vec::new();
    for (i, c) in accept.unwrap_or("").split(',').enumerate() {
        let mut parts = c.split(';');
        let mut media = parts.next().unwrap_or("").trim().to_string();
        if media == "*" {
            media = "*/*".into();
        }
        if !media.contains('/') {
            continue;
        }
        let mut q = 1.0f32;
        let mut params = Vec::new();
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            if k == "q" {
                q = v.parse().unwrap_or(0.0);
            } else {
                params.push((k.to_string(), v.to_string()));
            }
        }
        let wild = u8::from(media.starts_with("*/")) + u8::from(media.ends_with("/*"));
        clauses.push((q, wild, i, media, params));
    }
    clauses.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    for (q, _, _, media, params) in &clauses {
        if *q <= 0.0 {
            continue;
        }
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match media.as_str() {
            "application/vnd.google.protobuf"
                if param("proto") == Some("io.prometheus.client.MetricFamily")
                    && param("encoding") == Some("delimited") =>
            {
                return Exposition::Protobuf
            }
            "text/plain" if matches!(param("version"), None | Some("0.0.4")) => {
                return Exposition::Text
            }
            "application/openmetrics-text" if openmetrics => match param("version") {
                Some("1.0.0") => return Exposition::OpenMetrics1,
                None | Some("0.0.1") => return Exposition::OpenMetrics0,
                _ => {}
            },
            _ => {}
        }
    }
    Exposition::Text
}

/// Whether `Accept-Encoding` prefers gzip to identity (client_golang 1.23's negotiation:
/// identity wins ties).
fn wants_gzip(accept_encoding: Option<&str>) -> bool {
    let mut gzip = None;
    let mut identity = None;
    let mut star = None;
    for part in accept_encoding.unwrap_or("").split(',') {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in it {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        match name.as_str() {
            "gzip" => gzip = Some(q),
            "identity" => identity = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let g = gzip.or(star).unwrap_or(0.0);
    let i = identity.or(star).unwrap_or(0.0);
    g > 0.0 && g > i
}

/// The merged view written in a format a piece at a time (for a streamed `/metrics`
/// reply): one family name is decoded and written at a time, gzipped if asked.
pub struct Render {
    gathering: Gathering,
    format: Exposition,
    gzip: Option<flate2::write::GzEncoder<Vec<u8>>>,
    /// The text formats' output of one family, then the protobuf one's.
    text: String,
    bytes: Vec<u8>,
    done: bool,
}

impl Render {
    pub fn new(gathering: Gathering, format: Exposition, gzip: bool) -> Render {
        Render {
            gathering,
            format,
            gzip: gzip
                .then(|| flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())),
            text: String::new(),
            bytes: Vec::new(),
            done: false,
        }
    }

    /// Appends the next piece (about `piece` bytes, more for a family larger than that)
    /// to `out`; false once the whole view is in.
    pub fn fill(&mut self, out: &mut Vec<u8>, piece: usize) -> bool {
        let Render {
            gathering,
            format,
            gzip,
            text,
            bytes,
            done,
        } = self;
        if *done {
            return false;
        }
        let start = out.len();
        while out.len() - start < piece {
            let mut emit = |v: &View<'_>| match format {
                Exposition::Protobuf => proto::encode_delimited(v, bytes),
                Exposition::Text => family::write_text(v, text),
                Exposition::OpenMetrics0 | Exposition::OpenMetrics1 => {
                    family::write_openmetrics(v, text)
                }
            };
            let more = gathering.next(&mut emit);
            if !more {
                if matches!(format, Exposition::OpenMetrics0 | Exposition::OpenMetrics1) {
                    text.push_str("# EOF\n");
                }
                *done = true;
            }
            match gzip {
                Some(z) => {
                    // Writes into a Vec cannot fail.
                    let _ = z.write_all(text.as_bytes());
                    let _ = z.write_all(bytes);
                    if *done {
                        let _ = z.try_finish();
                    }
                    out.append(z.get_mut());
                }
                None => {
                    out.extend_from_slice(text.as_bytes());
                    out.extend_from_slice(bytes);
                }
            }
            text.clear();
            bytes.clear();
            if *done {
                return false;
            }
        }
        true
    }
}

impl Drop for Render {
    /// A scrape's decoded families are freed piecemeal; glibc would keep them resident.
    fn drop(&mut self) {
        super::release_freed_memory();
    }
}

fn scrape(gw: &Gateway, opts: &Options, req: &Request) -> Response {
    let format = negotiate(req.header("accept"), opts.openmetrics);
    let gathering = gw.read_with_own(|store, own| store.gathering(own.to_vec()));
    let gzip = wants_gzip(req.header("accept-encoding"));
    let mut render = Render::new(gathering, format, gzip);
    let resp = Response::new(200).stream(format.content_type(), move |out| {
        render.fill(out, STREAM_PIECE)
    });
    if gzip {
        resp.header("Content-Encoding", "gzip")
    } else {
        resp
    }
}

// ---- JSON, as Go's encoding/json writes it ----

/// A JSON string as Go writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped too.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_num(v: f64) -> String {
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

/// `{"k":"v",...}` of string pairs, sorted by key as Go writes a map.
fn json_string_map(out: &mut String, mut pairs: Vec<(String, String)>) {
    pairs.sort();
    json_object(
        out,
        pairs.into_iter().map(|(k, v)| {
            let mut raw = String::new();
            json_str(&mut raw, &v);
            (k, raw)
        }),
    );
}

/// `{"k":<raw JSON>,...}` in the order given.
fn json_object<K: AsRef<str>>(out: &mut String, fields: impl IntoIterator<Item = (K, String)>) {
    out.push('{');
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, k.as_ref());
        out.push(':');
        out.push_str(&v);
    }
    out.push('}');
}

fn json_labels(out: &mut String, labels: &[(String, String)]) {
    json_string_map(out, labels.to_vec());
}

fn json_metric(out: &mut String, m: &Metric) {
    let mut fields: Vec<(&str, String)> = Vec::new();
    let mut labels = String::new();
    json_labels(&mut labels, &m.labels);
    fields.push(("labels", labels));
    let q = |v: f64| {
        let mut s = String::new();
        json_str(&mut s, &json_num(v));
        s
    };
    let map = |pairs: Vec<(String, String)>| {
        let mut o = String::new();
        json_string_map(&mut o, pairs);
        o
    };
    match &m.value {
        Value::Counter(c) => fields.push(("value", q(c.value))),
        Value::Gauge(v) | Value::Untyped(v) => fields.push(("value", q(*v))),
        Value::Summary(s) => {
            fields.push(("count", q(s.count as f64)));
            fields.push(("sum", q(s.sum)));
            let qs = s
                .quantiles
                .iter()
                .map(|(k, v)| (json_num(*k), json_num(*v)))
                .collect();
            fields.push(("quantiles", map(qs)));
        }
        Value::Histogram(h) => {
            fields.push(("count", q(h.count_value())));
            fields.push(("sum", q(h.sum)));
            let bs = h
                .buckets
                .iter()
                .map(|b| {
                    let c = b
                        .cumulative_count_float
                        .filter(|c| *c > 0.0)
                        .unwrap_or(b.cumulative_count as f64);
                    (json_num(b.upper_bound), json_num(c))
                })
                .collect();
            fields.push(("buckets", map(bs)));
        }
        Value::None => {}
    }
    // Keys in sorted order, as Go writes a map.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    json_object(out, fields);
}

fn json_family(out: &mut String, f: &Family, time_ns: i64) {
    out.push_str("{\"time_stamp\":");
    json_str(out, &crate::model::time::format_rfc3339_nanos(time_ns));
    out.push_str(",\"type\":");
    json_str(out, f.kind.proto_name());
    if let Some(h) = f.help.as_deref().filter(|h| !h.is_empty()) {
        out.push_str(",\"help\":");
        json_str(out, h);
    }
    out.push_str(",\"metrics\":[");
    for (i, m) in f.metrics.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_metric(out, m);
    }
    out.push_str("]}");
}

fn json_group(out: &mut String, g: &Group) {
    let mut fields: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut labels = String::new();
    json_labels(&mut labels, g.key.labels());
    fields.insert("labels".into(), labels);
    fields.insert(
        "last_push_successful".into(),
        g.last_push_successful().to_string(),
    );
    for (name, s) in &g.families {
        let mut f = String::new();
        json_family(&mut f, &s.family(name), s.time_ns);
        fields.insert(name.clone(), f);
    }
    let gauge_time = g.push_time_ns.max(g.failure_time_ns);
    for f in g.push_gauges() {
        let mut o = String::new();
        json_family(&mut o, &f, gauge_time);
        fields.insert(f.name.clone(), o);
    }
    if let Some(ttl) = g.ttl_ms {
        // prombox: the group's expiry, beside the Pushgateway's fields.
        let mut o = String::from("{\"ttl_seconds\":");
        o.push_str(&json_num(ttl as f64 / 1000.0));
        if let Some(e) = g.expires_ns() {
            o.push_str(",\"expires\":");
            json_str(&mut o, &crate::model::time::format_rfc3339_nanos(e));
        }
        o.push('}');
        fields.insert("prombox".into(), o);
    }
    json_object(out, fields);
}

fn json_response(data: &str) -> Response {
    Response::new(200).body(
        "application/json",
        format!("{{\"status\":\"success\",\"data\":{data}}}").into_bytes(),
    )
}

fn api_metrics(gw: &Gateway) -> Response {
    let mut out = String::from("[");
    gw.read(|store| {
        for (i, g) in store.groups().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_group(&mut out, g);
        }
    });
    out.push(']');
    json_response(&out)
}

fn api_status(opts: &Options) -> Response {
    let mut build = String::new();
    let info = [
        ("branch", ""),
        ("buildDate", ""),
        ("buildUser", ""),
        ("goVersion", ""),
        ("revision", ""),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    json_string_map(
        &mut build,
        info.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let mut flags = String::new();
    json_string_map(&mut flags, opts.flags.clone());
    let mut start = String::new();
    json_str(
        &mut start,
        &crate::model::time::format_rfc3339_nanos(opts.start_ns),
    );
    let mut out = String::new();
    json_object(
        &mut out,
        [
            ("build_information", build),
            ("flags", flags),
            ("start_time", start),
        ],
    );
    json_response(&out)
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&#34;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A plain page listing the groups.
fn status_page(gw: &Gateway) -> Response {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>prombox gateway</title></head><body>\n<h1>prombox gateway</h1>\n<table border=\"1\" cellpadding=\"4\">\n<tr><th>group</th><th>families</th><th>series</th><th>last push</th><th>last push ok</th><th>expires</th></tr>\n",
    );
    gw.read(|store| {
        for g in store.groups() {
            let series: usize = g.families.values().map(|s| s.len()).sum();
            let push = if g.push_time_ns > 0 {
                crate::model::time::format_rfc3339_nanos(g.push_time_ns)
            } else {
                "never".into()
            };
            let expires = g
                .expires_ns()
                .map(crate::model::time::format_rfc3339_nanos)
                .unwrap_or_else(|| "never".into());
            o.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{series}</td><td>{push}</td><td>{}</td><td>{expires}</td></tr>\n",
                html_escape(&g.key.to_string()),
                g.families.len(),
                g.last_push_successful()
            ));
        }
    });
    o.push_str("</table>\n<p><a href=\"/metrics\">/metrics</a> · <a href=\"/api/v1/metrics\">/api/v1/metrics</a> · <a href=\"/api/v1/status\">/api/v1/status</a></p>\n</body></html>\n");
    Response::new(200).body("text/html; charset=utf-8", o.into_bytes())
}

/// Writes the groups of a state directory as an exposition (`gateway --once`): the pushed
/// families and their push-time gauges, without the gateway's own metrics.
pub fn write_exposition(
    groups: Vec<Group>,
    format: Exposition,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut store = super::store::Store::new(Vec::new(), super::store::Limits::default());
    for g in groups {
        store.put(g);
    }
    let mut render = Render::new(store.gathering(Vec::new()), format, false);
    drop(store);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let more = render.fill(&mut buf, STREAM_PIECE);
        out.write_all(&buf)?;
        if !more {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        for om in [false, true] {
            assert_eq!(negotiate(None, om), Exposition::Text);
            assert_eq!(negotiate(Some("*/*"), om), Exposition::Text);
            assert_eq!(
                negotiate(Some("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8"), om),
                Exposition::Protobuf
            );
            assert_eq!(
                negotiate(Some("text/plain;version=1.0.0"), om),
                Exposition::Text
            );
        }
        // As the Pushgateway answers Prometheus: text.
        assert_eq!(negotiate(Some(prometheus), false), Exposition::Text);
        assert_eq!(negotiate(Some(prometheus), true), Exposition::OpenMetrics1);
        let om0 = "text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=0.0.1;q=0.5";
        assert_eq!(negotiate(Some(om0), false), Exposition::Text);
        assert_eq!(negotiate(Some(om0), true), Exposition::OpenMetrics0);
    }

    #[test]
    fn gzip_negotiation() {
        assert!(wants_gzip(Some("gzip")));
        assert!(wants_gzip(Some("deflate, gzip, br, zstd")));
        assert!(!wants_gzip(Some("identity, gzip")));
        assert!(!wants_gzip(Some("gzip;q=0")));
        assert!(!wants_gzip(None));
        assert!(!wants_gzip(Some("*")));
    }

    #[test]
    fn paths_cleaned_as_servemux_does() {
        assert_eq!(clean_path("/metrics/job//a/b"), "/metrics/job/a/b");
        assert_eq!(clean_path("/metrics/job/a/../b/"), "/metrics/job/b/");
        assert_eq!(clean_path("/metrics"), "/metrics");
        assert_eq!(clean_path("/"), "/");
    }
}
