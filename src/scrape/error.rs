//! Why a scrape fails: the reason a target is down (`up` 0), shown in Prometheus's words
//! wherever Prometheus has words for it.
//!
//! [`ScrapeError`] covers every step of one target's scrape: the job's HTTP client, fetching
//! (HTTP, a file, a command), the body's content type, parsing, the series' labels and the
//! limits. It is kept as data up to the edge (the `scrape` command prints it, a test
//! compares it), like every library error.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::expfmt;
use crate::http::client as http;
use crate::model::LabelsError;

/// Why one target's scrape failed.
#[derive(Clone, Debug)]
pub enum ScrapeError {
    /// The job's HTTP client could not be built (shared by all its targets).
    Client(Arc<http::Error>),
    Http(http::Error),
    /// A `file://` target's file could not be read.
    File {
        path: PathBuf,
        err: Arc<std::io::Error>,
    },
    /// The body (files of a glob together) reached `body_size_limit`.
    BodyTooLarge,
    Exec(ExecError),
    ContentType(ContentTypeError),
    Parse(Arc<expfmt::Error>),
    /// A sample's name or labels are not valid.
    Labels(LabelsError),
    /// Relabeling left a series without a name.
    MissingName,
    Limit(LimitError),
    /// A panic while scraping (it fails the target, not the round).
    Internal(String),
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScrapeError::Client(e) => write!(f, "error creating HTTP client: {e}"),
            ScrapeError::Http(e) => e.fmt(f),
            ScrapeError::File { path, err } => write!(f, "{}: {err}", path.display()),
            ScrapeError::BodyTooLarge => f.write_str("body size limit exceeded"),
            ScrapeError::Exec(e) => e.fmt(f),
            ScrapeError::ContentType(e) => e.fmt(f),
            ScrapeError::Parse(e) => e.fmt(f),
            ScrapeError::Labels(e) => write!(f, "invalid metric name or label names: {e}"),
            ScrapeError::MissingName => f.write_str("missing metric name (__name__ label)"),
            ScrapeError::Limit(e) => e.fmt(f),
            ScrapeError::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for ScrapeError {}

/// A body whose media type cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentTypeError {
    /// The protobuf exposition format, which prombox does not parse.
    Protobuf,
    /// No `Content-Type` and no `fallback_scrape_protocol`.
    Blank,
    /// A media type that is no exposition format, and no fallback.
    Unsupported(String),
}

impl fmt::Display for ContentTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentTypeError::Protobuf => f.write_str(
                "the protobuf exposition format is not supported by prombox; remove \
                 PrometheusProto from scrape_protocols or fallback_scrape_protocol",
            ),
            ContentTypeError::Blank => f.write_str(
                "non-compliant scrape target sending blank Content-Type and no \
                 fallback_scrape_protocol specified for target",
            ),
            ContentTypeError::Unsupported(ct) => write!(
                f,
                "received unsupported Content-Type {ct:?} and no fallback_scrape_protocol \
                 specified for target"
            ),
        }
    }
}

/// A limit of the job's config that the scrape broke (names and values cut to 50
/// characters, as Prometheus cuts them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitError {
    Labels {
        metric: String,
        labels: usize,
        limit: u64,
    },
    LabelName {
        metric: String,
        name: String,
        length: usize,
        limit: u64,
    },
    LabelValue {
        metric: String,
        name: String,
        value: String,
        length: usize,
        limit: u64,
    },
    Samples,
    Targets {
        targets: usize,
        limit: u64,
    },
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::Labels {
                metric,
                labels,
                limit,
            } => write!(
                f,
                "label_limit exceeded (metric: {metric}, number of labels: {labels}, limit: {limit})"
            ),
            LimitError::LabelName {
                metric,
                name,
                length,
                limit,
            } => write!(
                f,
                "label_name_length_limit exceeded (metric: {metric}, label name: {name}, length: \
                 {length}, limit: {limit})"
            ),
            LimitError::LabelValue {
                metric,
                name,
                value,
                length,
                limit,
            } => write!(
                f,
                "label_value_length_limit exceeded (metric: {metric}, label name: {name}, value: \
                 {value:?}, length: {length}, limit: {limit})"
            ),
            LimitError::Samples => f.write_str("sample limit exceeded"),
            LimitError::Targets { targets, limit } => write!(
                f,
                "target_limit exceeded (number of targets: {targets}, limit: {limit})"
            ),
        }
    }
}

/// An `exec://` target's command that gave no exposition.
#[derive(Clone, Debug)]
pub enum ExecError {
    Spawn {
        command: String,
        err: Arc<std::io::Error>,
    },
    /// Killed at the scrape timeout.
    Timeout,
    /// Its output reached `body_size_limit`.
    BodyTooLarge,
    Read(Arc<std::io::Error>),
    /// A non-zero exit, with the first line of its standard error.
    Failed {
        status: std::process::ExitStatus,
        stderr: String,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Spawn { command, err } => write!(f, "cannot run {command:?}: {err}"),
            ExecError::Timeout => f.write_str("context deadline exceeded"),
            ExecError::BodyTooLarge => f.write_str("body size limit exceeded"),
            ExecError::Read(e) => e.fmt(f),
            ExecError::Failed { status, stderr } if stderr.is_empty() => {
                write!(f, "command {status}")
            }
            ExecError::Failed { status, stderr } => write!(f, "command {status}: {stderr}"),
        }
    }
}
