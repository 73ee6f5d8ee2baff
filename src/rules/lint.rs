//! Checks of parsed rule files beyond their validity: promtool's duplicate-rule lint, with
//! its exact message, and prombox's static checks (see [`Check`]), each finding with an
//! id, a severity and the position in the file it is about.

use std::fmt;

use super::file::{Pair, RuleFile};
use crate::yaml::Pos;

/// A rule name and label set that more than one rule produces (promtool's key: the name,
/// and the group's labels overlaid by the rule's; not the expression).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub metric: String,
    pub labels: Vec<(String, String)>,
}

/// Group labels overlaid by rule labels, sorted by name; empty values kept.
pub fn merged_labels(group: &[Pair], rule: &[Pair]) -> Vec<(String, String)> {
    let mut m: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for p in group.iter().chain(rule) {
        m.insert(&p.name, &p.value);
    }
    m.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// promtool's `checkDuplicates`: each duplicated key once, in key order.
pub fn duplicates(file: &RuleFile) -> Vec<Duplicate> {
    let mut keys: Vec<Duplicate> = Vec::new();
    for g in &file.groups {
        for r in &g.rules {
            keys.push(Duplicate {
                metric: r.name.clone(),
                labels: merged_labels(&g.labels, &r.labels),
            });
        }
    }
    keys.sort_by(|a, b| {
        a.metric
            .cmp(&b.metric)
            .then_with(|| compare_labels(&a.labels, &b.labels))
    });
    let mut out: Vec<Duplicate> = Vec::new();
    for w in keys.windows(2) {
        if w[0] == w[1] && out.last() != Some(&w[1]) {
            out.push(w[1].clone());
        }
    }
    out
}

/// `labels.Compare`: pairwise by name then value; a prefix sorts first.
fn compare_labels(a: &[(String, String)], b: &[(String, String)]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = x.0.cmp(&y.0).then_with(|| x.1.cmp(&y.1));
        if c.is_ne() {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// promtool's lint message for duplicates (without the `lint error ` prefix).
pub fn duplicates_message(d: &[Duplicate]) -> String {
    let mut s = format!("{} duplicate rule(s) found.\n", d.len());
    for x in d {
        s.push_str(&format!("Metric: {}\nLabel(s):\n", x.metric));
        for (k, v) in &x.labels {
            s.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    s.push_str("Might cause inconsistency while recording expressions");
    s
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Bug,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Bug => "bug",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finding of a static check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    pub pos: Pos,
    /// The group and rule it is about, if any.
    pub group: String,
    pub rule: String,
    pub message: String,
}

/// The static checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Two rules with the same name and labels (promtool's lint).
    Duplicate,
}

impl Check {
    pub const ALL: &'static [Check] = &[Check::Duplicate];

    pub fn id(self) -> &'static str {
        match self {
            Check::Duplicate => "duplicate-rule",
        }
    }

    pub fn from_id(id: &str) -> Option<Check> {
        Check::ALL.iter().copied().find(|c| c.id() == id)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
