//! Pushing metrics to a Pushgateway (or `prombox gateway`): grouping keys and their URL
//! paths ([`key`]), and the client side of a push — the body, validated before it leaves,
//! and the request, retried on connection errors and 5xx.
//!
//! ```text
//!   FILE | - | NAME=VALUE...  ──validate (expfmt)──►  body  ──PUT/POST/DELETE──►  gateway
//!                                                           /metrics/job/J{/L/V}
//! ```
//!
//! A text exposition is sent as written (`text/plain; version=0.0.4`); an OpenMetrics one,
//! which the Pushgateway cannot read, is converted to delimited protobuf, which keeps its
//! exemplars and created timestamps.

pub mod key;

use std::fmt;
use std::time::Duration;

pub use key::{GroupingKey, KeyError};

use crate::expfmt::family::{self, Kind};
use crate::expfmt::{self, proto, Format};
use crate::http::client::{self, Client, Method};

/// The text format's media type, as client_python sends it.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a push does to its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `PUT`: replace the group.
    Replace,
    /// `POST`: replace only the pushed metric names.
    Add,
    /// `DELETE`: remove the group.
    Delete,
}

impl Action {
    fn method(self) -> Method {
        match self {
            Action::Replace => Method::Put,
            Action::Add => Method::Post,
            Action::Delete => Method::Delete,
        }
    }
}

/// A request body and its media type.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Checks an exposition and makes the body to send: text as it is, OpenMetrics as protobuf.
pub fn body_from_exposition(bytes: Vec<u8>) -> Result<Body, expfmt::Error> {
    let format = expfmt::detect(&bytes[bytes.len().saturating_sub(64)..]);
    let families = family::from_exposition(&bytes, format)?;
    Ok(match format {
        Format::Text => Body {
            bytes,
            content_type: TEXT_CONTENT_TYPE,
        },
        Format::OpenMetrics => {
            let mut out = Vec::new();
            for f in &families {
                proto::encode_delimited(&f.view(), &mut out);
            }
            Body {
                bytes: out,
                content_type: proto::CONTENT_TYPE,
            }
        }
    })
}

/// Why a `NAME=VALUE` argument is not a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct PairError {
    pub arg: String,
    pub why: String,
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.arg, self.why)
    }
}

impl std::error::Error for PairError {}

/// Makes a text body from `NAME=VALUE` (or `NAME{l="v"}=VALUE`) arguments, all of one type
/// and help text; each argument is checked on its own, so an error names it.
pub fn body_from_pairs(
    pairs: &[String],
    kind: Kind,
    help: Option<&str>,
) -> Result<Body, PairError> {
    let mut lines: Vec<(String, String)> = Vec::new();
    for arg in pairs {
        let bad = |why: String| PairError {
            arg: arg.clone(),
            why,
        };
        let (series, value) = arg
            .rsplit_once('=')
            .filter(|(s, _)| !s.is_empty())
            .ok_or_else(|| bad("expected NAME=VALUE".into()))?;
        let name = series.split('{').next().unwrap_or("").to_string();
        let line = format!("{series} {}\n", value.trim());
        family::from_exposition(line.as_bytes(), Format::Text).map_err(|e| {
            let why = match e {
                expfmt::Error::Parse(p) => {
                    let s = p.to_string();
                    s.split_once(": ").map(|(_, r)| r.to_string()).unwrap_or(s)
                }
                expfmt::Error::Io(e) => e.to_string(),
            };
            bad(why)
        })?;
        lines.push((name, line));
    }
    let mut text = String::new();
    let mut done: Vec<&str> = Vec::new();
    for (name, _) in &lines {
        if done.contains(&name.as_str()) {
            continue;
        }
        done.push(name);
        if let Some(h) = help {
            text.push_str(&format!("# HELP {name} "));
            for c in h.chars() {
                match c {
                    '\\' => text.push_str("\\\\"),
                    '\n' => text.push_str("\\n"),
                    c => text.push(c),
                }
            }
            text.push('\n');
        }
        text.push_str(&format!("# TYPE {name} {}\n", kind.text_name()));
        for (n, line) in &lines {
            if n == name {
                text.push_str(line);
            }
        }
    }
    // The assembled body must hold together too (a counter named like another's _count).
    family::from_exposition(text.as_bytes(), Format::Text).map_err(|e| PairError {
        arg: pairs.join(" "),
        why: e.to_string(),
    })?;
    Ok(Body {
        bytes: text.into_bytes(),
        content_type: TEXT_CONTENT_TYPE,
    })
}

/// The gateway URL of a group: `base` (an `http://` prefix added when it has no scheme, one
/// trailing `/` dropped) and the key's path; `partial` asks `prombox gateway` to match the
/// key as a prefix.
pub fn url(
    base: &str,
    key: &GroupingKey,
    order: &[String],
    partial: bool,
    ttl: Option<&str>,
) -> String {
    let base = if base.contains("://") {
        base.to_string()
    } else {
        format!("http://{base}")
    };
    let base = base.strip_suffix('/').unwrap_or(&base);
    let mut u = format!("{base}{}", key.path(order));
    let mut q = Vec::new();
    if partial {
        q.push("match=partial".to_string());
    }
    if let Some(t) = ttl {
        let mut v = String::new();
        key::path_escape(&mut v, t);
        q.push(format!("ttl={v}"));
    }
    if !q.is_empty() {
        u.push('?');
        u.push_str(&q.join("&"));
    }
    u
}

/// Why a push failed.
#[derive(Debug)]
pub enum PushError {
    /// No reply (connection, TLS, timeout) or unusable settings.
    Http(client::Error),
    /// The gateway refused: its status and its message.
    Status {
        code: u16,
        reason: String,
        message: String,
    },
    /// `--partial` against a gateway that deleted only the exact group.
    NoPartial,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Http(e) => e.fmt(f),
            PushError::Status {
                code,
                reason,
                message,
            } => {
                write!(f, "{code} {reason}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            PushError::NoPartial => f.write_str(
                "the gateway deleted only the exact group: partial deletes need prombox gateway",
            ),
        }
    }
}

impl std::error::Error for PushError {}

/// One push's request.
pub struct Request<'a> {
    pub url: &'a str,
    pub action: Action,
    pub body: Option<&'a Body>,
    pub timeout: Duration,
    /// Retries after the first attempt, on connection errors and 5xx.
    pub retries: u32,
    pub partial: bool,
}

/// What the gateway answered.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    /// Groups deleted, as `prombox gateway` reports it (`X-Prombox-Deleted`); not known
    /// from a Pushgateway.
    pub deleted: Option<usize>,
    pub attempts: u32,
}

/// Sends a push, retrying with backoff (0.5 s, doubling, at most 8 s between attempts);
/// `sleep` waits (a test passes a fake).
pub fn send(
    client: &Client,
    req: &Request<'_>,
    sleep: &dyn Fn(Duration),
) -> Result<Outcome, PushError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let r = client::Request {
            url: req.url,
            headers: &[],
            timeout: req.timeout,
            limit: 1 << 20,
            gzip: false,
        };
        let body = req.body.map(|b| (b.bytes.as_slice(), b.content_type));
        let retry = match client.send(req.action.method(), &r, body) {
            Ok(reply) if (200..300).contains(&reply.status) => {
                let deleted = reply
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-prombox-deleted"))
                    .and_then(|(_, v)| v.parse().ok());
                if req.partial && req.action == Action::Delete && deleted.is_none() {
                    return Err(PushError::NoPartial);
                }
                return Ok(Outcome {
                    status: reply.status,
                    deleted,
                    attempts: attempt,
                });
            }
            Ok(reply) => {
                let message = String::from_utf8_lossy(&reply.body.bytes)
                    .trim()
                    .to_string();
                let e = PushError::Status {
                    code: reply.status,
                    reason: reply.reason,
                    message,
                };
                (reply.status >= 500, e)
            }
            Err(e) => (matches!(e, client::Error::Transport(_)), PushError::Http(e)),
        };
        match retry {
            (true, _) if attempt <= req.retries => {
                let backoff = Duration::from_millis(500u64 << (attempt - 1).min(4));
                sleep(backoff.min(Duration::from_secs(8)));
            }
            (_, e) => return Err(e),
        }
    }
}
