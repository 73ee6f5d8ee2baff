//! Grouping keys: the label set that names one group of pushed metrics, and its form in a
//! Pushgateway URL path, as client_golang writes it and the Pushgateway reads it.
//!
//! ```text
//!   /metrics/job/backup/instance/db1          plain components, percent-escaped
//!   /metrics/job@base64/YS9i/path@base64/=    "@base64": URL-safe base64 (padding optional);
//!                                             "=" is the empty value
//! ```
//!
//! A value is written in base64 when it is empty or holds a `/` (client_golang's rule);
//! any other value is percent-escaped as Go's `url.PathEscape` does. Reading accepts every
//! form the Pushgateway accepts and refuses what it refuses, with its messages.

use std::fmt;

use base64::Engine as _;

use crate::model::labels::is_legacy_label_name;

/// The suffix marking a base64-encoded component.
pub const BASE64_SUFFIX: &str = "@base64";

/// A group's identity: `job` and the other grouping labels, sorted by name (each name once).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupingKey(Vec<(String, String)>);

impl GroupingKey {
    /// A key from `job` and further labels; a later label of the same name replaces an
    /// earlier one, and `job` among `labels` is overridden by `job`.
    pub fn new(job: &str, labels: &[(String, String)]) -> GroupingKey {
        let mut v: Vec<(String, String)> = Vec::with_capacity(labels.len() + 1);
        for (k, val) in labels
            .iter()
            .chain(std::iter::once(&("job".to_string(), job.to_string())))
        {
            match v.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = val.clone(),
                None => v.push((k.clone(), val.clone())),
            }
        }
        v.sort();
        GroupingKey(v)
    }

    /// The labels, sorted by name.
    pub fn labels(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn job(&self) -> &str {
        self.get("job").unwrap_or("")
    }

    /// Whether every label of `prefix` is in this key with the same value.
    pub fn starts_with(&self, prefix: &GroupingKey) -> bool {
        prefix
            .0
            .iter()
            .all(|(k, v)| self.get(k) == Some(v.as_str()))
    }

    /// The URL path of this key with the job first and the other labels in `order` (then the
    /// rest sorted), as `/metrics/job/...`.
    pub fn path(&self, order: &[String]) -> String {
        let mut out = String::from("/metrics");
        push_component(&mut out, "job", self.job());
        for name in order {
            if name != "job" {
                if let Some(v) = self.get(name) {
                    push_component(&mut out, name, v);
                }
            }
        }
        for (k, v) in &self.0 {
            if k != "job" && !order.contains(k) {
                push_component(&mut out, k, v);
            }
        }
        out
    }
}

impl fmt::Display for GroupingKey {
    /// `{instance="db1", job="backup"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={}", crate::model::quote::quote(v))?;
        }
        f.write_str("}")
    }
}

fn push_component(out: &mut String, name: &str, value: &str) {
    out.push('/');
    if value.is_empty() {
        out.push_str(name);
        out.push_str(BASE64_SUFFIX);
        out.push_str("/=");
    } else if value.contains('/') {
        out.push_str(name);
        out.push_str(BASE64_SUFFIX);
        out.push('/');
        out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value));
    } else {
        out.push_str(name);
        out.push('/');
        path_escape(out, value);
    }
}

/// Go's `url.PathEscape`: everything but unreserved characters and `$&+:=@` escaped.
pub fn path_escape(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$&+:=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Why a URL path does not name a group; worded as the Pushgateway words it (answered 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    JobBase64(String, String),
    JobRequired,
    OddComponents(String),
    ImproperName(String),
    LabelBase64 {
        name: String,
        value: String,
        why: String,
    },
    /// A path escape that does not decode, or a decoded path that is not UTF-8.
    Escape(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::JobBase64(job, why) => {
                write!(f, "invalid base64 encoding in job name {job:?}: {why}")
            }
            KeyError::JobRequired => f.write_str("job name is required"),
            KeyError::OddComponents(s) => {
                write!(f, "odd number of components in label string {s:?}")
            }
            KeyError::ImproperName(n) => write!(f, "improper label name {n:?}"),
            KeyError::LabelBase64 { name, value, why } => {
                write!(
                    f,
                    "invalid base64 encoding for label {name}={value:?}: {why}"
                )
            }
            KeyError::Escape(p) => write!(f, "invalid URL escape in {p:?}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Decodes a base64 component as the Pushgateway does: the URL-safe alphabet, trailing `=`
/// ignored.
fn decode_base64(s: &str) -> Result<String, String> {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| go_base64_error(s.trim_end_matches('='), &e))?;
    // Go keeps the bytes as a string whatever they are; label values must be UTF-8 here.
    String::from_utf8(b).map_err(|_| "decoded value is not valid UTF-8".to_string())
}

/// Go's `base64.CorruptInputError` text: `illegal base64 data at input byte N`.
fn go_base64_error(s: &str, e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(i, _) => *i,
        base64::DecodeError::InvalidLength(_) => {
            s.len() - s.len() % 4 + usize::from(s.len() % 4 != 1)
        }
        base64::DecodeError::InvalidLastSymbol { offset, .. } => *offset,
        base64::DecodeError::InvalidPadding => s.len(),
    };
    format!("illegal base64 data at input byte {at}")
}

/// Reads the grouping key from the part of a path after `/metrics/job` — `/<job>` or
/// `@base64/<job>`, then `/<name>/<value>` pairs — already percent-decoded. Returns the key
/// and the order the labels were given in.
pub fn parse_path(after_job: &str) -> Result<(GroupingKey, Vec<String>), KeyError> {
    let (job_b64, rest) = match after_job.strip_prefix(BASE64_SUFFIX) {
        Some(r) => (true, r),
        None => (false, after_job),
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let (job_raw, labels_str) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let job = if job_b64 {
        decode_base64(job_raw).map_err(|why| KeyError::JobBase64(job_raw.to_string(), why))?
    } else {
        job_raw.to_string()
    };
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut order = Vec::new();
    if labels_str.len() > 1 {
        let components: Vec<&str> = labels_str[1..].split('/').collect();
        if !components.len().is_multiple_of(2) {
            return Err(KeyError::OddComponents(labels_str.to_string()));
        }
        for pair in components.chunks(2) {
            let (name, value) = (pair[0], pair[1]);
            let trimmed = name.strip_suffix(BASE64_SUFFIX).unwrap_or(name);
            if !is_legacy_label_name(trimmed) || trimmed.starts_with("__") {
                return Err(KeyError::ImproperName(trimmed.to_string()));
            }
            let value = if trimmed.len() == name.len() {
                value.to_string()
            } else {
                decode_base64(value).map_err(|why| KeyError::LabelBase64 {
                    name: trimmed.to_string(),
                    value: value.to_string(),
                    why,
                })?
            };
            match labels.iter_mut().find(|(k, _)| k == trimmed) {
                Some(slot) => slot.1 = value,
                None => {
                    order.push(trimmed.to_string());
                    labels.push((trimmed.to_string(), value));
                }
            }
        }
    }
    if job.is_empty() {
        return Err(KeyError::JobRequired);
    }
    labels.retain(|(k, _)| k != "job");
    order.retain(|k| k != "job");
    Ok((GroupingKey::new(&job, &labels), order))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(job: &str, labels: &[(&str, &str)]) -> GroupingKey {
        let l: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GroupingKey::new(job, &l)
    }

    #[test]
    fn paths_as_client_golang_writes_them() {
        let k = key(
            "backup",
            &[("instance", "db 1"), ("path", "/var/lib"), ("e", "")],
        );
        let order = vec!["instance".to_string(), "path".to_string(), "e".to_string()];
        assert_eq!(
            k.path(&order),
            "/metrics/job/backup/instance/db%201/path@base64/L3Zhci9saWI/e@base64/="
        );
        assert_eq!(key("a/b", &[]).path(&[]), "/metrics/job@base64/YS9i");
        assert_eq!(key("x:y=z", &[]).path(&[]), "/metrics/job/x:y=z");
    }

    #[test]
    fn paths_read_back() {
        let k = key(
            "backup",
            &[("instance", "db 1"), ("path", "/var/lib"), ("e", "")],
        );
        let order = vec!["instance".to_string(), "path".to_string(), "e".to_string()];
        let p = k.path(&order);
        let decoded =
            String::from_utf8(crate::http::request::percent_decode(&p, false).unwrap()).unwrap();
        let (back, o) = parse_path(decoded.strip_prefix("/metrics/job").unwrap()).unwrap();
        assert_eq!(back, k);
        assert_eq!(o, order);
        // Padding is optional; an empty value is "=" or nothing.
        let (k2, _) = parse_path("@base64/YS9i/v@base64/YQ==/w@base64/").unwrap();
        assert_eq!(k2, key("a/b", &[("v", "a"), ("w", "")]));
    }

    #[test]
    fn refusals_worded_as_the_pushgateway() {
        let e = |p: &str| parse_path(p).unwrap_err().to_string();
        assert_eq!(e("/"), "job name is required");
        assert_eq!(e("/j/a"), "odd number of components in label string \"/a\"");
        assert_eq!(e("/j/__a/b"), "improper label name \"__a\"");
        assert_eq!(e("/j/a-b/c"), "improper label name \"a-b\"");
        assert_eq!(
            e("/j/a@base64/%%"),
            "invalid base64 encoding for label a=\"%%\": illegal base64 data at input byte 0"
        );
        assert!(e("@base64/!!").starts_with("invalid base64 encoding in job name \"!!\""));
    }

    #[test]
    fn prefix_match() {
        let k = key("j", &[("a", "1"), ("b", "2")]);
        assert!(k.starts_with(&key("j", &[])));
        assert!(k.starts_with(&key("j", &[("b", "2")])));
        assert!(!k.starts_with(&key("j", &[("b", "3")])));
        assert!(!k.starts_with(&key("k", &[])));
    }
}
