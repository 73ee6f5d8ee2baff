//! Label sets and the naming rules for metric and label names.
//!
//! A series is identified by its labels, the metric name included as `__name__`. [`Labels`] keeps
//! them sorted by name with no duplicates, so two equal sets compare and hash equal whatever order
//! they arrived in. Names follow Prometheus 3.x: the classic ("legacy") character sets are the
//! ones that can be written bare; any other non-empty UTF-8 name is valid and is written quoted
//! (`{"my.metric", "label.name"="v"}`).

use std::fmt;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label: a name and a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: String,
    pub value: String,
}

/// A set of labels sorted by name, names unique.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

/// Why a list of labels is not a valid label set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelsError {
    /// The same name appears twice.
    Duplicate(String),
    /// A name is empty or not valid UTF-8 name text.
    InvalidName(String),
}

impl fmt::Display for LabelsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelsError::Duplicate(n) => write!(f, "duplicate label name {n:?}"),
            LabelsError::InvalidName(n) => write!(f, "invalid label name {n:?}"),
        }
    }
}

impl std::error::Error for LabelsError {}

impl Labels {
    /// An empty label set.
    pub fn new() -> Labels {
        Labels(Vec::new())
    }

    /// Builds a set from pairs in any order; fails on a duplicate or empty name.
    pub fn from_pairs<N, V, I>(pairs: I) -> Result<Labels, LabelsError>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut v: Vec<Label> = pairs
            .into_iter()
            .map(|(n, v)| Label {
                name: n.into(),
                value: v.into(),
            })
            .collect();
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for w in v.windows(2) {
            if w[0].name == w[1].name {
                return Err(LabelsError::Duplicate(w[0].name.clone()));
            }
        }
        if let Some(l) = v.iter().find(|l| !is_valid_name(&l.name)) {
            return Err(LabelsError::InvalidName(l.name.clone()));
        }
        Ok(Labels(v))
    }

    /// Builds a set from labels already sorted by name; fails if they are not sorted and unique
    /// or a name is invalid (the check stored data gets).
    pub fn from_sorted(v: Vec<Label>) -> Result<Labels, LabelsError> {
        for w in v.windows(2) {
            if w[0].name >= w[1].name {
                return Err(LabelsError::Duplicate(w[1].name.clone()));
            }
        }
        if let Some(l) = v.iter().find(|l| !is_valid_name(&l.name)) {
            return Err(LabelsError::InvalidName(l.name.clone()));
        }
        Ok(Labels(v))
    }

    /// The value of a label, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The set without the named labels.
    pub fn without<S: AsRef<str>>(&self, names: &[S]) -> Labels {
        self.filter(|l| !names.iter().any(|n| n.as_ref() == l.name))
    }

    /// Only the named labels.
    pub fn keep<S: AsRef<str>>(&self, names: &[S]) -> Labels {
        self.filter(|l| names.iter().any(|n| n.as_ref() == l.name))
    }

    /// The labels `keep` accepts (a subset of a valid set is valid).
    pub fn filter(&self, keep: impl Fn(&Label) -> bool) -> Labels {
        Labels(self.0.iter().filter(|l| keep(l)).cloned().collect())
    }

    /// The set with `name` set to `value`; an empty value removes the label (as
    /// Prometheus's label builder does). The name must be valid.
    pub fn with(&self, name: &str, value: &str) -> Labels {
        let mut v = self.0.clone();
        match v.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                v.remove(i);
            }
            Ok(i) => v[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => v.insert(
                i,
                Label {
                    name: name.to_string(),
                    value: value.to_string(),
                },
            ),
        }
        Labels(v)
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Prints the PromQL form: `name{a="b", c="d"}` with the metric name in front when it is a
/// legacy name, inside the braces (quoted) otherwise.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        let rest = self.0.iter().filter(|l| l.name != METRIC_NAME);
        let mut first = true;
        match name {
            Some(n) if is_legacy_metric_name(n) => f.write_str(n)?,
            Some(n) => {
                f.write_str("{")?;
                write_quoted(f, n)?;
                first = false;
            }
            None => {}
        }
        let mut opened = !first;
        for l in rest {
            if !opened {
                f.write_str("{")?;
                opened = true;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            if is_legacy_label_name(&l.name) {
                f.write_str(&l.name)?;
            } else {
                write_quoted(f, &l.name)?;
            }
            f.write_str("=")?;
            write_quoted(f, &l.value)?;
        }
        if opened {
            f.write_str("}")?;
        } else if name.is_none() {
            f.write_str("{}")?;
        }
        Ok(())
    }
}

/// Writes `s` in double quotes with `\\`, `\"` and `\n` escaped (the exposition and PromQL form).
pub fn write_quoted<W: fmt::Write>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    write_escaped(w, s)?;
    w.write_char('"')
}

/// Writes `s` with `\\`, `\"` and `\n` escaped, without the quotes.
pub fn write_escaped<W: fmt::Write>(w: &mut W, s: &str) -> fmt::Result {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        w.write_str(&s[last..i])?;
        w.write_str(esc)?;
        last = i + 1;
    }
    w.write_str(&s[last..])
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: a metric name that can be written without quotes.
pub fn is_legacy_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b':' => {}
        _ => return false,
    }
    b[1..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a label name that can be written without quotes.
pub fn is_legacy_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return false,
    }
    b[1..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// A valid name under Prometheus 3.x UTF-8 validation: any non-empty string (Rust strings are
/// already valid UTF-8).
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_unique() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("__name__", "up")]).unwrap();
        let names: Vec<_> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "a", "b"]);
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("c"), None);
        assert_eq!(
            Labels::from_pairs([("a", "1"), ("a", "2")]),
            Err(LabelsError::Duplicate("a".into()))
        );
        assert!(Labels::from_pairs([("", "1")]).is_err());
    }

    #[test]
    fn display_forms() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b\\\n")]).unwrap();
        assert_eq!(l.to_string(), r#"up{job="a\"b\\\n"}"#);
        let l = Labels::from_pairs([("__name__", "my.metric"), ("a.b", "c")]).unwrap();
        assert_eq!(l.to_string(), r#"{"my.metric", "a.b"="c"}"#);
        assert_eq!(Labels::new().to_string(), "{}");
        let l = Labels::from_pairs([("__name__", "up")]).unwrap();
        assert_eq!(l.to_string(), "up");
    }

    #[test]
    fn name_rules() {
        assert!(is_legacy_metric_name("a:b_c9"));
        assert!(!is_legacy_metric_name("9a"));
        assert!(!is_legacy_metric_name("a.b"));
        assert!(!is_legacy_metric_name(""));
        assert!(is_legacy_label_name("_a9"));
        assert!(!is_legacy_label_name("a:b"));
    }
}
