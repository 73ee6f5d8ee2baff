//! The data model every part of prombox shares: labels, samples, metric types.
//!
//! A leaf module: it depends on nothing else in the crate.

pub mod hash;
pub mod labels;
pub mod matcher;
pub mod metric;
pub mod notation;
pub mod quote;
pub mod regex;
pub mod sample;
pub mod time;

pub use labels::{Label, Labels, LabelsError, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use metric::MetricType;
pub use regex::{Regex, RegexError};
pub use sample::{is_stale_nan, stale_nan, Sample, STALE_NAN_BITS};
