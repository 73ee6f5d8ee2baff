//! Relabeling: the `relabel_configs` and `metric_relabel_configs` rules of Prometheus 3.x,
//! with the same results as Prometheus's `model/relabel` for every action.
//!
//! This module owns:
//! - the rule, [`RelabelConfig`], its defaults and [`RelabelConfig::validate`] (Prometheus's
//!   checks and error wording; the YAML decoder lives in `scrape::config`, starts from
//!   `RelabelConfig::default()`, overwrites the fields written and calls `validate`);
//! - the use of [`Regex`] (Go's RE2 dialect, anchored, in `model::regex`) and of its `$1`,
//!   `${name}` expansion in `target_label` and `replacement`;
//! - [`process`], which applies a list of rules to one label set, on a [`Builder`] that
//!   mirrors Prometheus's `labels.Builder`: pending sets and deletes over an untouched base,
//!   walked in the same order, so `labelmap` resolves collisions as Prometheus does, and a
//!   series that no rule changes is not rebuilt.
//!
//! Rules run for every scraped series, so the common paths avoid work: regexes are compiled
//! once, the default regex `(.*)` never reaches the regex engine, a template without `$` is
//! used as is, and capture positions are only asked for when a template needs them.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use crate::model::hash::md5;
use crate::model::labels::{is_legacy_label_name, Label, Labels};
pub use crate::model::regex::Regex;

/// The message Prometheus gives for a rule whose `action:` is present but null. An [`Action`]
/// cannot be empty, so a decoder that meets a null action reports this itself.
pub const EMPTY_ACTION: &str = "relabel action cannot be empty";

/// The default `regex`: everything, with the whole input as group 1.
pub const DEFAULT_REGEX: &str = crate::model::regex::MATCH_ALL;

/// The default `separator` between joined source values.
pub const DEFAULT_SEPARATOR: &str = ";";

/// The default `replacement`.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// What a rule does. "The value" below is the source labels' values joined with `separator`
/// (a missing label counts as an empty value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Action {
    /// If `regex` matches the value, sets the label named by the expanded `target_label` to
    /// the expanded `replacement` (deletes it if that is empty).
    #[default]
    Replace,
    /// Drops the series unless `regex` matches the value.
    Keep,
    /// Drops the series if `regex` matches the value.
    Drop,
    /// Drops the series unless the value equals `target_label`'s value.
    KeepEqual,
    /// Drops the series if the value equals `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to the MD5 of the value modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches `regex` to the name `replacement` makes of it.
    LabelMap,
    /// Deletes every label whose name matches `regex`.
    LabelDrop,
    /// Deletes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the value in lower case.
    Lowercase,
    /// Sets `target_label` to the value in upper case.
    Uppercase,
}

impl Action {
    /// Every action, in the order of Prometheus's documentation.
    pub const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    /// The action a YAML `action:` names, compared case-insensitively as Prometheus does
    /// (Go's `strings.ToLower`, which also folds the Kelvin sign `K` to `k`; Rust's
    /// `to_lowercase` agrees on every letter of the names). `None` for anything else,
    /// the empty string included (Prometheus: `unknown relabel action ""`).
    pub fn parse(s: &str) -> Option<Action> {
        let lower = s.to_lowercase();
        Action::ALL.into_iter().find(|a| a.name() == lower)
    }

    /// The YAML name: `replace`, `keepequal`, `hashmod`, ….
    pub fn name(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which label names are valid: a scrape config's `metric_name_validation_scheme`.
/// Prometheus 3.x defaults to UTF-8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NameValidation {
    /// Any non-empty name.
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    Legacy,
}

impl NameValidation {
    /// `utf8` or `legacy`, as written in a config.
    pub fn parse(s: &str) -> Option<NameValidation> {
        match s {
            "utf8" => Some(NameValidation::Utf8),
            "legacy" => Some(NameValidation::Legacy),
            _ => None,
        }
    }

    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_legacy_label_name(name),
        }
    }

    /// A `target_label` or `replacement` that holds `$` references: under legacy rules it
    /// must read as a legacy name once each `$name`/`${name}` stands for name characters.
    fn is_valid_template(self, t: &str) -> bool {
        match self {
            NameValidation::Utf8 => !t.is_empty(),
            NameValidation::Legacy => {
                static RE: OnceLock<regex::Regex> = OnceLock::new();
                RE.get_or_init(|| {
                    regex::Regex::new(
                        r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$",
                    )
                    .expect("legacy target pattern compiles")
                })
                .is_match(t)
            }
        }
    }
}

/// One relabeling rule. `Default` is Prometheus's: separator `;`, regex `(.*)`, replacement
/// `$1`, action `replace`, no source labels, no target, modulus 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: Regex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> RelabelConfig {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: Regex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: Action::Replace,
        }
    }
}

/// Why a relabeling rule is refused, in Prometheus's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelabelError {
    /// `hashmod` with `modulus: 0`.
    ModulusRequired,
    /// An action that writes a label, without `target_label`.
    TargetRequired(Action),
    InvalidTarget {
        target: String,
        action: Action,
    },
    /// `replacement` set for an action that takes none.
    ReplacementNotAllowed(Action),
    InvalidReplacement {
        replacement: String,
        action: Action,
    },
    /// `keepequal`/`dropequal` with fields besides `source_labels` and `target_label`.
    OnlySourceAndTarget(Action),
    /// `labeldrop`/`labelkeep` with fields besides `regex`.
    OnlyRegex(Action),
}

impl fmt::Display for RelabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelabelError::ModulusRequired => {
                f.write_str("relabel configuration for hashmod requires non-zero modulus")
            }
            RelabelError::TargetRequired(a) => write!(
                f,
                "relabel configuration for {a} action requires 'target_label' value"
            ),
            RelabelError::InvalidTarget { target, action } => write!(
                f,
                "{} is invalid 'target_label' for {action} action",
                go_quote(target)
            ),
            RelabelError::ReplacementNotAllowed(a) => {
                write!(f, "'replacement' can not be set for {a} action")
            }
            RelabelError::InvalidReplacement {
                replacement,
                action,
            } => write!(
                f,
                "{} is invalid 'replacement' for {action} action",
                go_quote(replacement)
            ),
            RelabelError::OnlySourceAndTarget(a) => write!(
                f,
                "{a} action requires only 'source_labels' and `target_label`, and no other fields"
            ),
            RelabelError::OnlyRegex(a) => {
                write!(f, "{a} action requires only 'regex', and no other fields")
            }
        }
    }
}

impl std::error::Error for RelabelError {}

impl RelabelConfig {
    /// Prometheus's checks under UTF-8 name validation (the 3.x default).
    pub fn validate(&self) -> Result<(), RelabelError> {
        self.validate_with(NameValidation::Utf8)
    }

    /// Prometheus's checks, in its order and wording. A field counts as set when it differs
    /// from its default value (Prometheus compares values too, except that it tells an
    /// explicit `regex: (.*)` from the default; here the two are the same).
    pub fn validate_with(&self, scheme: NameValidation) -> Result<(), RelabelError> {
        use Action::*;
        let a = self.action;
        let target = self.target_label.as_str();
        let invalid_target = || RelabelError::InvalidTarget {
            target: target.to_string(),
            action: a,
        };
        if a == HashMod && self.modulus == 0 {
            return Err(RelabelError::ModulusRequired);
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && target.is_empty()
        {
            return Err(RelabelError::TargetRequired(a));
        }
        if a == Replace {
            let ok = if target.contains('$') {
                scheme.is_valid_template(target)
            } else {
                scheme.is_valid_label_name(target)
            };
            if !ok {
                return Err(invalid_target());
            }
        }
        let simple = matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual);
        if simple && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if simple && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelError::ReplacementNotAllowed(a));
        }
        if a == LabelMap && !scheme.is_valid_template(&self.replacement) {
            return Err(RelabelError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action: a,
            });
        }
        if a == HashMod && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        let default_extras = self.modulus == 0
            && self.separator == DEFAULT_SEPARATOR
            && self.replacement == DEFAULT_REPLACEMENT;
        if matches!(a, KeepEqual | DropEqual) && !(self.regex.is_default() && default_extras) {
            return Err(RelabelError::OnlySourceAndTarget(a));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && !(self.source_labels.is_empty() && target.is_empty() && default_extras)
        {
            return Err(RelabelError::OnlyRegex(a));
        }
        Ok(())
    }
}

/// A label set being relabeled: Prometheus's `labels.Builder`. Changes are kept as pending
/// sets (in the order first made) and deletes over the untouched base; [`Builder::iter`]
/// yields the base labels still in force, sorted, then the pending sets in order, which is
/// the order `labelmap` applies its copies in.
#[derive(Clone, Debug)]
pub struct Builder<'a> {
    base: &'a Labels,
    add: Vec<Label>,
    del: Vec<String>,
}

impl<'a> Builder<'a> {
    /// Starts from `base`. A label with an empty value counts as absent (and is left out of
    /// the result), as in Prometheus.
    pub fn new(base: &'a Labels) -> Builder<'a> {
        let del = base
            .iter()
            .filter(|l| l.value.is_empty())
            .map(|l| l.name.clone())
            .collect();
        Builder {
            base,
            add: Vec::new(),
            del,
        }
    }

    /// The current value of `name`; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        if let Some(l) = self.add.iter().find(|l| l.name == name) {
            return &l.value;
        }
        if self.del.iter().any(|n| n == name) {
            return "";
        }
        self.base.get(name).unwrap_or("")
    }

    /// Sets `name` to `value`; an empty value deletes the label. An empty name is ignored
    /// (Prometheus would carry it and fail the series later).
    pub fn set(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return self.del(name);
        }
        if name.is_empty() {
            return;
        }
        match self.add.iter_mut().find(|l| l.name == name) {
            Some(l) if l.value != value => value.clone_into(&mut l.value),
            Some(_) => {}
            None => self.add.push(Label {
                name: name.to_string(),
                value: value.to_string(),
            }),
        }
    }

    /// Deletes `name`.
    pub fn del(&mut self, name: &str) {
        self.add.retain(|l| l.name != name);
        if !self.del.iter().any(|n| n == name) {
            self.del.push(name.to_string());
        }
    }

    /// The current labels, in Prometheus's `Range` order (see [`Builder`]).
    pub fn iter(&self) -> impl Iterator<Item = &Label> + '_ {
        self.base
            .iter()
            .filter(|l| !self.del.contains(&l.name) && !self.add.iter().any(|a| a.name == l.name))
            .chain(self.add.iter())
    }

    /// The result: the base itself (cloned) when nothing changed, else the new set.
    pub fn labels(&self) -> Labels {
        let unchanged = self
            .add
            .iter()
            .all(|a| self.base.get(&a.name) == Some(a.value.as_str()))
            && self
                .del
                .iter()
                .all(|n| self.base.get(n).is_none() || self.add.iter().any(|a| a.name == *n));
        if unchanged {
            return self.base.clone();
        }
        let mut v: Vec<Label> = self.iter().cloned().collect();
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Labels::from_sorted(v).expect("relabeled names are non-empty and unique")
    }
}

/// Applies `cfgs` in order to `labels` under UTF-8 name validation. `None` when a rule drops
/// the series (or target); the result may be empty, which the caller judges.
pub fn process(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    process_with(labels, cfgs, NameValidation::Utf8)
}

/// [`process`] under the given name validation (it decides which expanded `replace` targets
/// are label names; a rule whose target is not one does nothing).
pub fn process_with(
    labels: &Labels,
    cfgs: &[RelabelConfig],
    scheme: NameValidation,
) -> Option<Labels> {
    let mut b = Builder::new(labels);
    process_builder(&mut b, cfgs, scheme).then(|| b.labels())
}

/// Applies `cfgs` in order to a builder (Prometheus's `ProcessBuilder`); false when a rule
/// drops the series. The configs are expected to have passed validation; a `hashmod` with
/// modulus 0 does nothing (Prometheus would divide by zero).
pub fn process_builder(
    b: &mut Builder<'_>,
    cfgs: &[RelabelConfig],
    scheme: NameValidation,
) -> bool {
    let mut val = String::new();
    cfgs.iter().all(|cfg| relabel(b, cfg, scheme, &mut val))
}

/// One rule; false to drop. `val` is a scratch buffer for the joined source values.
fn relabel(
    b: &mut Builder<'_>,
    cfg: &RelabelConfig,
    scheme: NameValidation,
    val: &mut String,
) -> bool {
    val.clear();
    for (i, n) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&cfg.separator);
        }
        val.push_str(b.get(n));
    }
    let val = val.as_str();
    let re = &cfg.regex;
    match cfg.action {
        Action::Drop => return !re.is_match(val),
        Action::Keep => return re.is_match(val),
        Action::DropEqual => return b.get(&cfg.target_label) != val,
        Action::KeepEqual => return b.get(&cfg.target_label) == val,
        Action::Replace => replace(b, cfg, scheme, val),
        Action::Lowercase => b.set(&cfg.target_label, &go_to_lower(val)),
        Action::Uppercase => b.set(&cfg.target_label, &go_to_upper(val)),
        Action::HashMod => {
            if cfg.modulus != 0 {
                let d = md5(val.as_bytes());
                let h = u64::from_be_bytes(d[8..].try_into().expect("8 bytes"));
                b.set(&cfg.target_label, &(h % cfg.modulus).to_string());
            }
        }
        Action::LabelMap => {
            let copies: Vec<(String, String)> = b
                .iter()
                .filter(|l| re.is_match(&l.name))
                .map(|l| (re.replace_all(&l.name, &cfg.replacement), l.value.clone()))
                .collect();
            for (name, value) in copies {
                b.set(&name, &value);
            }
        }
        Action::LabelDrop | Action::LabelKeep => {
            let keep = cfg.action == Action::LabelKeep;
            let gone: Vec<String> = b
                .iter()
                .filter(|l| re.is_match(&l.name) != keep)
                .map(|l| l.name.clone())
                .collect();
            for name in gone {
                b.del(&name);
            }
        }
    }
    true
}

/// The `replace` action.
fn replace(b: &mut Builder<'_>, cfg: &RelabelConfig, scheme: NameValidation, val: &str) {
    let re = &cfg.regex;
    let templated = cfg.target_label.contains('$') || cfg.replacement.contains('$');
    // Prometheus's shortcut for setting a fixed label (its outcome equals the general path's
    // for a validated rule, so it is only a speed-up).
    if val.is_empty() && re.is_default() && !templated {
        return b.set(&cfg.target_label, &cfg.replacement);
    }
    if !templated {
        // Neither template reads a group: a yes/no match is enough.
        if re.is_match(val) && scheme.is_valid_label_name(&cfg.target_label) {
            b.set(&cfg.target_label, &cfg.replacement);
        }
        return;
    }
    let Some(groups) = re.captures(val) else {
        return;
    };
    let target = groups.expand(&cfg.target_label);
    if !scheme.is_valid_label_name(&target) {
        return;
    }
    let value = groups.expand(&cfg.replacement);
    b.set(&target, &value);
}

/// Go's `strings.ToLower`: each character by its simple lower-case mapping (Rust's full
/// mapping differs only for `İ`, whose simple mapping is `i`; Go has no final-sigma rule,
/// and neither has `char::to_lowercase`).
fn go_to_lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if !s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Borrowed(s);
        }
        return Cow::Owned(s.to_ascii_lowercase());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{130}' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Cow::Owned(out)
}

/// Go's `strings.ToUpper`: each character by its simple upper-case mapping. Rust's
/// `to_uppercase` is the full mapping; where that has several characters (`ß` → `SS`,
/// ligatures, Greek with iota subscript) the simple mapping is the character itself except
/// for the Greek letters with ypogegrammeni, which map to their title-case forms.
fn go_to_upper(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if !s.bytes().any(|b| b.is_ascii_lowercase()) {
            return Cow::Borrowed(s);
        }
        return Cow::Owned(s.to_ascii_uppercase());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let up = c.to_uppercase();
        if up.len() == 1 {
            out.extend(up);
            continue;
        }
        let simple = match c as u32 {
            0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => {
                char::from_u32(c as u32 + 8).unwrap_or(c)
            }
            0x1FB3 => '\u{1FBC}',
            0x1FC3 => '\u{1FCC}',
            0x1FF3 => '\u{1FFC}',
            _ => c,
        };
        out.push(simple);
    }
    Cow::Owned(out)
}

use crate::model::quote::quote as go_quote;

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    /// A rule: the action, then fields as `name=value` overrides of the default.
    fn rule(action: Action, fields: &[(&str, &str)]) -> RelabelConfig {
        let mut c = RelabelConfig {
            action,
            ..RelabelConfig::default()
        };
        for (k, v) in fields {
            match *k {
                "source" => c.source_labels = v.split(',').map(String::from).collect(),
                "separator" => c.separator = v.to_string(),
                "regex" => c.regex = re(v),
                "modulus" => c.modulus = v.parse().unwrap(),
                "target" => c.target_label = v.to_string(),
                "replacement" => c.replacement = v.to_string(),
                _ => panic!("unknown field {k}"),
            }
        }
        c
    }

    /// Runs validated rules, as Prometheus's tests do.
    fn run(input: &[(&str, &str)], rules: &[RelabelConfig]) -> Option<Labels> {
        for r in rules {
            r.validate().unwrap_or_else(|e| panic!("{r:?}: {e}"));
        }
        process(&ls(input), rules)
    }

    #[test]
    fn actions_parse_case_insensitively() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
            assert_eq!(Action::parse(&a.name().to_uppercase()), Some(a));
            assert_eq!(a.to_string(), a.name());
        }
        assert_eq!(Action::parse("LabelMap"), Some(Action::LabelMap));
        assert_eq!(Action::parse("keepEqual"), Some(Action::KeepEqual));
        // Go's ToLower folds the Kelvin sign to k.
        assert_eq!(Action::parse("\u{212A}EEP"), Some(Action::Keep));
        assert_eq!(Action::parse(""), None);
        assert_eq!(Action::parse("keep "), None);
        assert_eq!(Action::parse("label_map"), None);
        assert_eq!(Action::default(), Action::Replace);
    }

    #[test]
    fn defaults_are_prometheus_defaults() {
        let c = RelabelConfig::default();
        assert_eq!(c.separator, ";");
        assert_eq!(c.regex.as_str(), "(.*)");
        assert!(c.regex.is_default());
        assert_eq!(c.replacement, "$1");
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.modulus, 0);
        assert!(c.source_labels.is_empty() && c.target_label.is_empty());
        assert_eq!(Regex::default(), re("(.*)"));
        assert!(!re("(.+)").is_default());
    }

    #[test]
    fn replace() {
        let out = run(
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            &[rule(
                Action::Replace,
                &[
                    ("source", "a"),
                    ("regex", "f(.*)"),
                    ("target", "d"),
                    ("replacement", "ch${1}-ch${1}"),
                ],
            )],
        );
        assert_eq!(
            out,
            Some(ls(&[
                ("a", "foo"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "choo-choo")
            ]))
        );

        // Two rules, the second reading what the first wrote.
        let out = run(
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            &[
                rule(
                    Action::Replace,
                    &[
                        ("source", "a,b"),
                        ("regex", "f(.*);(.*)r"),
                        ("target", "a"),
                        ("replacement", "b${1}${2}m"),
                    ],
                ),
                rule(
                    Action::Replace,
                    &[
                        ("source", "c,a"),
                        ("regex", "(b).*b(.*)ba(.*)"),
                        ("target", "d"),
                        ("replacement", "$1$2$2$3"),
                    ],
                ),
            ],
        );
        assert_eq!(
            out,
            Some(ls(&[
                ("a", "boobam"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "boooom")
            ]))
        );

        // No match, no change.
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "f"),
                ("target", "b"),
                ("replacement", "bar"),
            ],
        );
        assert_eq!(run(&[("a", "boo")], &[r]), Some(ls(&[("a", "boo")])));

        // An empty result deletes the (expanded) target.
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "(f).*"),
                ("target", "$1"),
                ("replacement", "$2"),
            ],
        );
        assert_eq!(
            run(&[("a", "foo"), ("f", "baz")], &[r]),
            Some(ls(&[("a", "foo")]))
        );

        // A fixed label from no source (the default regex matches the empty value).
        let r = rule(
            Action::Replace,
            &[("target", "env"), ("replacement", "prod")],
        );
        assert_eq!(
            run(&[("a", "1")], &[r]),
            Some(ls(&[("a", "1"), ("env", "prod")]))
        );
        // A missing source with the default replacement deletes the target.
        let r = rule(Action::Replace, &[("source", "missing"), ("target", "a")]);
        assert_eq!(
            run(&[("a", "1"), ("b", "2")], &[r]),
            Some(ls(&[("b", "2")]))
        );
        // A copy.
        let r = rule(Action::Replace, &[("source", "a"), ("target", "b")]);
        assert_eq!(
            run(&[("a", "1")], &[r]),
            Some(ls(&[("a", "1"), ("b", "1")]))
        );

        // Target from a group; an expanded target that is empty does nothing.
        let r = |t: &str, rep: &str| {
            rule(
                Action::Replace,
                &[
                    ("source", "a"),
                    ("regex", "some-([^-]+)-([^,]+)"),
                    ("target", t),
                    ("replacement", rep),
                ],
            )
        };
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("${1}", "${2}")]),
            Some(ls(&[("a", "some-name-value"), ("name", "value")]))
        );
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("${1}", "${3}")]),
            Some(ls(&[("a", "some-name-value")]))
        );
        assert_eq!(
            run(&[("a", "some-name-0")], &[r("${3}", "${1}")]),
            Some(ls(&[("a", "some-name-0")]))
        );
        // $1x names a group "1x": empty.
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("t", "$1x")]),
            Some(ls(&[("a", "some-name-value")]))
        );
        assert_eq!(
            run(&[("a", "some-name-value")], &[r("t", "${1}x$$")]),
            Some(ls(&[("a", "some-name-value"), ("t", "namex$")]))
        );

        // Newlines and UTF-8 names.
        let r = rule(
            Action::Replace,
            &[
                ("source", "utf-8.label"),
                ("regex", "line1.*line2"),
                ("target", "d${1}.ü"),
                ("replacement", "match${1}"),
            ],
        );
        assert_eq!(
            run(&[("utf-8.label", "line1\nline2")], &[r]),
            Some(ls(&[("utf-8.label", "line1\nline2"), ("d.ü", "match")]))
        );
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "(line1).*(?<second>line2)"),
                ("target", "l_$1"),
                ("replacement", "v_$second"),
            ],
        );
        assert_eq!(
            run(&[("a", "line1\nline2")], &[r]),
            Some(ls(&[("a", "line1\nline2"), ("l_line1", "v_line2")]))
        );
    }

    #[test]
    fn replace_respects_name_validation() {
        let r = rule(
            Action::Replace,
            &[
                ("source", "a"),
                ("regex", "(.*)"),
                ("target", "${1}"),
                ("replacement", "x"),
            ],
        );
        let input = ls(&[("a", "b.c")]);
        assert_eq!(
            process_with(&input, std::slice::from_ref(&r), NameValidation::Utf8),
            Some(ls(&[("a", "b.c"), ("b.c", "x")]))
        );
        assert_eq!(
            process_with(&input, &[r], NameValidation::Legacy),
            Some(input)
        );
    }

    #[test]
    fn service_discovery_tags() {
        let r = |regex: &str, t: &str, rep: &str| {
            rule(
                Action::Replace,
                &[
                    ("source", "__meta_sd_tags"),
                    ("regex", regex),
                    ("target", t),
                    ("replacement", rep),
                ],
            )
        };
        let tags = "path:/secret,job:some-job,label:foo=bar";
        let out = run(
            &[("__meta_sd_tags", tags)],
            &[
                r("(?:.+,|^)path:(/[^,]+).*", "__metrics_path__", "${1}"),
                r("(?:.+,|^)job:([^,]+).*", "job", "${1}"),
                r("(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}"),
            ],
        );
        assert_eq!(
            out,
            Some(ls(&[
                ("__meta_sd_tags", tags),
                ("__metrics_path__", "/secret"),
                ("job", "some-job"),
                ("foo", "bar"),
            ]))
        );
    }

    #[test]
    fn keep_and_drop() {
        let drop = |regex: &str| rule(Action::Drop, &[("source", "a"), ("regex", regex)]);
        let keep = |regex: &str| rule(Action::Keep, &[("source", "a"), ("regex", regex)]);
        let foo = [("a", "foo"), ("b", "bar")];
        assert_eq!(run(&foo, &[drop(".*o.*")]), None);
        assert_eq!(run(&foo, &[drop("no-match")]), Some(ls(&foo)));
        assert_eq!(run(&foo, &[drop("f|o")]), Some(ls(&foo)));
        assert_eq!(run(&foo, &[keep("no-match")]), None);
        assert_eq!(run(&foo, &[keep("f.*")]), Some(ls(&foo)));
        // A drop stops the rules after it.
        let later = rule(Action::Replace, &[("target", "x"), ("replacement", "y")]);
        assert_eq!(run(&foo, &[drop("foo"), later]), None);
        // A missing label is the empty value.
        let r = rule(Action::Drop, &[("source", "missing"), ("regex", "")]);
        assert_eq!(run(&foo, &[r]), None);
        // Joined values.
        let r = rule(
            Action::Keep,
            &[
                ("source", "a,missing,b"),
                ("separator", "/"),
                ("regex", "foo//bar"),
            ],
        );
        assert_eq!(run(&foo, &[r]), Some(ls(&foo)));
    }

    #[test]
    fn keepequal_and_dropequal() {
        let input = [
            ("__tmp_port", "1234"),
            ("__port1", "1234"),
            ("__port2", "5678"),
        ];
        let r = |a: Action, t: &str| rule(a, &[("source", "__tmp_port"), ("target", t)]);
        assert_eq!(
            run(&input, &[r(Action::KeepEqual, "__port1")]),
            Some(ls(&input))
        );
        assert_eq!(run(&input, &[r(Action::DropEqual, "__port1")]), None);
        assert_eq!(
            run(&input, &[r(Action::DropEqual, "__port2")]),
            Some(ls(&input))
        );
        assert_eq!(run(&input, &[r(Action::KeepEqual, "__port2")]), None);
        // A missing target equals an empty source value.
        let r = rule(
            Action::KeepEqual,
            &[("source", "nope"), ("target", "missing")],
        );
        assert_eq!(run(&input, &[r]), Some(ls(&input)));
    }

    #[test]
    fn hashmod() {
        // Expected shards from Python: int.from_bytes(md5(v).digest()[8:], "big") % m.
        let r = |src: &str, m: &str| {
            rule(
                Action::HashMod,
                &[("source", src), ("target", "h"), ("modulus", m)],
            )
        };
        let out = run(&[("a", "foo"), ("c", "baz")], &[r("c", "1000")]).unwrap();
        assert_eq!(out.get("h"), Some("976"));
        let out = run(&[("a", "foo\nbar")], &[r("a", "1000")]).unwrap();
        assert_eq!(out.get("h"), Some("734"));
        let out = run(
            &[("a", "a"), ("b", "b")],
            &[r("a,b", &u64::MAX.to_string())],
        )
        .unwrap();
        assert_eq!(out.get("h"), Some("2420134994223480074"));
        let out = run(&[("x", "1")], &[r("missing", "7")]).unwrap();
        assert_eq!(out.get("h"), Some("1"));
        let out = run(&[("x", "1")], &[r("x", "1")]).unwrap();
        assert_eq!(out.get("h"), Some("0"));
        // Sharding a target: 10.132.183.40:80 falls in shard 1 of 3.
        let shard = |n: &str| {
            vec![
                rule(
                    Action::HashMod,
                    &[
                        ("source", "__address__"),
                        ("target", "__tmp_hash"),
                        ("modulus", "3"),
                    ],
                ),
                rule(Action::Keep, &[("source", "__tmp_hash"), ("regex", n)]),
                rule(Action::LabelDrop, &[("regex", "__tmp_hash")]),
            ]
        };
        let target = [("__address__", "10.132.183.40:80")];
        assert_eq!(run(&target, &shard("^0$")), None);
        assert_eq!(run(&target, &shard("1")), Some(ls(&target)));
        // Unvalidated modulus 0 does nothing rather than divide by zero.
        let zero = rule(Action::HashMod, &[("source", "x"), ("target", "h")]);
        assert_eq!(
            process(&ls(&[("x", "1")]), &[zero]),
            Some(ls(&[("x", "1")]))
        );
    }

    #[test]
    fn labelmap() {
        let r = rule(
            Action::LabelMap,
            &[("regex", "(b.*)"), ("replacement", "bar_${1}")],
        );
        assert_eq!(
            run(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")], &[r]),
            Some(ls(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz")
            ]))
        );
        let r = rule(Action::LabelMap, &[("regex", "__meta_(my.*)")]);
        assert_eq!(
            run(
                &[
                    ("a", "foo"),
                    ("__meta_my_bar", "aaa"),
                    ("__meta_my_baz", "bbb"),
                    ("__meta_other", "ccc")
                ],
                &[r]
            ),
            Some(ls(&[
                ("a", "foo"),
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
                ("my_bar", "aaa"),
                ("my_baz", "bbb"),
            ]))
        );
        // Two labels mapped to one name: the later in walking order wins.
        let r = rule(Action::LabelMap, &[("regex", "[ab]"), ("replacement", "c")]);
        assert_eq!(
            run(&[("a", "1"), ("b", "2")], &[r]).unwrap().get("c"),
            Some("2")
        );
    }

    /// Labels changed by earlier rules come after the untouched ones when `labelmap` walks
    /// them (Prometheus's builder order), so on a collision the changed one wins.
    #[test]
    fn labelmap_walks_in_builder_order() {
        let rules = [
            rule(Action::Replace, &[("target", "a_x"), ("replacement", "3")]),
            rule(Action::LabelMap, &[("regex", "[ab]_(x)")]),
        ];
        let out = run(&[("a_x", "1"), ("b_x", "2")], &rules).unwrap();
        assert_eq!(out.get("x"), Some("3"));
        assert_eq!(out.get("a_x"), Some("3"));
    }

    #[test]
    fn labeldrop_and_labelkeep() {
        let input = [("a", "foo"), ("b1", "bar"), ("b2", "baz")];
        let r = rule(Action::LabelKeep, &[("regex", "(b.*)")]);
        assert_eq!(run(&input, &[r]), Some(ls(&[("b1", "bar"), ("b2", "baz")])));
        let r = rule(Action::LabelDrop, &[("regex", "(b.*)")]);
        assert_eq!(run(&input, &[r]), Some(ls(&[("a", "foo")])));
        let r = rule(Action::LabelKeep, &[("regex", "nothing")]);
        assert_eq!(run(&input, &[r]), Some(Labels::new()));
    }

    /// prometheus/prometheus#12283: a label dropped and then set again is present.
    #[test]
    fn issue_12283_drop_then_set() {
        let port = "__meta_kubernetes_pod_container_port_name";
        let ann = "__meta_kubernetes_pod_annotation_XXX_metrics_port";
        let rules = [
            rule(
                Action::LabelDrop,
                &[("regex", "^__meta_kubernetes_pod_container_port_name$")],
            ),
            rule(
                Action::Replace,
                &[
                    ("source", ann),
                    ("regex", "(.+)"),
                    ("target", port),
                    ("replacement", "metrics"),
                ],
            ),
            rule(Action::Keep, &[("source", port), ("regex", "^metrics$")]),
        ];
        assert_eq!(
            run(&[(port, "foo"), (ann, "9091")], &rules),
            Some(ls(&[(ann, "9091"), (port, "metrics")]))
        );
    }

    #[test]
    fn lowercase_and_uppercase() {
        let rules = [
            rule(Action::Uppercase, &[("source", "foo"), ("target", "up")]),
            rule(Action::Lowercase, &[("source", "foo"), ("target", "low")]),
        ];
        assert_eq!(
            run(&[("foo", "bAr123Foo")], &rules),
            Some(ls(&[
                ("foo", "bAr123Foo"),
                ("low", "bar123foo"),
                ("up", "BAR123FOO")
            ]))
        );
        // Go's simple case mappings, not Rust's full ones.
        assert_eq!(go_to_upper("straße ﬁ"), "STRAßE ﬁ");
        assert_eq!(
            go_to_upper("\u{1FB3}\u{1F80}\u{1FBC}é"),
            "\u{1FBC}\u{1F88}\u{1FBC}É"
        );
        assert_eq!(go_to_lower("İSTANBUL"), "istanbul");
        assert_eq!(go_to_lower("ΟΔΟΣ"), "οδοσ");
        assert!(matches!(go_to_lower("abc"), Cow::Borrowed(_)));
        // An empty value deletes the target.
        let r = rule(
            Action::Lowercase,
            &[("source", "missing"), ("target", "foo")],
        );
        assert_eq!(
            run(&[("foo", "x"), ("y", "1")], &[r]),
            Some(ls(&[("y", "1")]))
        );
    }

    #[test]
    fn builder_semantics() {
        let base = ls(&[("a", "1"), ("b", ""), ("c", "3")]);
        // An empty value is no label: it is left out as soon as anything is built.
        assert_eq!(process(&base, &[]), Some(ls(&[("a", "1"), ("c", "3")])));
        let clean = ls(&[("a", "1"), ("c", "3")]);
        let mut b = Builder::new(&clean);
        b.set("a", "1");
        b.del("zz");
        assert_eq!(b.labels(), clean);
        b.set("", "ignored");
        b.del("a");
        assert_eq!(b.get("a"), "");
        b.set("a", "2");
        b.set("d", "4");
        b.set("c", "");
        let order: Vec<_> = b.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(order, ["a", "d"]);
        assert_eq!(b.labels(), ls(&[("a", "2"), ("d", "4")]));
    }

    #[test]
    fn validation_messages() {
        let err = |c: RelabelConfig| c.validate().unwrap_err().to_string();
        let err_legacy = |c: RelabelConfig| {
            c.validate_with(NameValidation::Legacy)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(rule(Action::HashMod, &[("target", "h")])),
            "relabel configuration for hashmod requires non-zero modulus"
        );
        for a in [
            Action::Replace,
            Action::HashMod,
            Action::Lowercase,
            Action::Uppercase,
            Action::KeepEqual,
            Action::DropEqual,
        ] {
            let mut c = rule(a, &[]);
            c.modulus = 1;
            assert_eq!(
                err(c),
                format!("relabel configuration for {a} action requires 'target_label' value")
            );
        }
        // UTF-8 names: anything non-empty is a valid target.
        for t in ["${3}", "0${3}", "-${3}", "a.b", "1"] {
            rule(Action::Replace, &[("target", t)]).validate().unwrap();
            rule(Action::Lowercase, &[("target", t)])
                .validate()
                .unwrap();
        }
        assert_eq!(
            err_legacy(rule(Action::Lowercase, &[("target", "${3}")])),
            "\"${3}\" is invalid 'target_label' for lowercase action"
        );
        assert_eq!(
            err_legacy(rule(Action::Replace, &[("target", "1a")])),
            "\"1a\" is invalid 'target_label' for replace action"
        );
        assert_eq!(
            err_legacy(rule(Action::Replace, &[("target", "bar.foo${1}bar")])),
            "\"bar.foo${1}bar\" is invalid 'target_label' for replace action"
        );
        assert_eq!(
            err_legacy(rule(
                Action::HashMod,
                &[("target", "a-b"), ("modulus", "2")]
            )),
            "\"a-b\" is invalid 'target_label' for hashmod action"
        );
        assert_eq!(
            err(rule(
                Action::Uppercase,
                &[("target", "t"), ("replacement", "x")]
            )),
            "'replacement' can not be set for uppercase action"
        );
        assert_eq!(
            err(rule(
                Action::KeepEqual,
                &[("target", "t"), ("replacement", "")]
            )),
            "'replacement' can not be set for keepequal action"
        );
        assert_eq!(
            err(rule(Action::LabelMap, &[("replacement", "")])),
            "\"\" is invalid 'replacement' for labelmap action"
        );
        assert_eq!(
            err_legacy(rule(Action::LabelMap, &[("replacement", "a.$1")])),
            "\"a.$1\" is invalid 'replacement' for labelmap action"
        );
        rule(
            Action::LabelMap,
            &[
                ("regex", "__meta_kubernetes_pod_label_(strimzi_io_.+)"),
                ("replacement", "$1"),
            ],
        )
        .validate_with(NameValidation::Legacy)
        .unwrap();
        rule(
            Action::LabelMap,
            &[("regex", "__meta_(.+)"), ("replacement", "${1}")],
        )
        .validate_with(NameValidation::Legacy)
        .unwrap();
        for fields in [[("regex", "x")], [("modulus", "3")], [("separator", ",")]] {
            let mut f = fields.to_vec();
            f.push(("target", "t"));
            assert_eq!(
                err(rule(Action::DropEqual, &f)),
                "dropequal action requires only 'source_labels' and `target_label`, and no other fields"
            );
        }
        for fields in [
            ("source", "a"),
            ("target", "t"),
            ("modulus", "3"),
            ("separator", ","),
            ("replacement", "x"),
        ] {
            assert_eq!(
                err(rule(Action::LabelKeep, &[fields])),
                "labelkeep action requires only 'regex', and no other fields"
            );
        }
        assert_eq!(
            err(rule(Action::LabelDrop, &[("replacement", "")])),
            "labeldrop action requires only 'regex', and no other fields"
        );
        // Fine as they are.
        for c in [
            rule(Action::Keep, &[("source", "a"), ("regex", "x")]),
            rule(Action::Drop, &[]),
            rule(Action::LabelDrop, &[("regex", "x")]),
            rule(Action::KeepEqual, &[("source", "a,b"), ("target", "t")]),
            rule(
                Action::HashMod,
                &[("source", "a"), ("target", "t"), ("modulus", "4")],
            ),
            rule(Action::Replace, &[("target", "t"), ("replacement", "")]),
        ] {
            c.validate_with(NameValidation::Legacy).unwrap();
        }
        // Names are quoted as Go's %q quotes them.
        assert_eq!(
            err_legacy(rule(Action::Replace, &[("target", "a\nb\u{200b}é")])),
            "\"a\\nb\\u200bé\" is invalid 'target_label' for replace action"
        );
    }

    /// The legacy target rule: letters, digits, `_` and `$` references, not starting with a
    /// digit (the cases of Prometheus's TestTargetLabelLegacyValidity, and a few more).
    #[test]
    fn legacy_template_names() {
        let v = |s: &str| NameValidation::Legacy.is_valid_template(s);
        for s in [
            "label",
            "label${1}",
            "${1}label",
            "${1}",
            "$1",
            "asd$2asd",
            "_${1}_",
            "foo${bar}foo",
            "$a$b",
        ] {
            assert!(v(s), "{s}");
        }
        for s in [
            "-label",
            "${",
            "$",
            "${}",
            "foo${",
            "-foo${1}bar-",
            "bar.foo${1}bar",
            "1${a}",
            "",
        ] {
            assert!(!v(s), "{s}");
        }
        assert!(NameValidation::Utf8.is_valid_template("${"));
        assert_eq!(
            NameValidation::parse("legacy"),
            Some(NameValidation::Legacy)
        );
        assert_eq!(NameValidation::parse("utf8"), Some(NameValidation::Utf8));
        assert_eq!(NameValidation::parse("UTF8"), None);
    }

    #[test]
    fn quoting_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\n\t\x01\x7f"), r#""\n\t\x01\x7f""#);
        assert_eq!(go_quote("é ü\u{1F600}"), "\"é ü\u{1F600}\"");
        assert_eq!(
            go_quote("\u{200b}\u{a0}\u{e000}"),
            r#""\u200b\u00a0\ue000""#
        );
        assert_eq!(go_quote("\u{F0000}"), r#""\U000f0000""#);
    }

    /// The Kubernetes pod rules of Prometheus's relabel benchmark, end to end.
    #[test]
    fn kubernetes_pod_rules() {
        let r = rule;
        let rules = vec![
            r(Action::Keep, &[("source", "__meta_kubernetes_pod_container_port_name"), ("regex", ".*-metrics")]),
            r(Action::Drop, &[("source", "__meta_kubernetes_pod_label_name"), ("regex", "")]),
            r(Action::Drop, &[("source", "__meta_kubernetes_pod_phase"), ("regex", "Succeeded|Failed")]),
            r(Action::Replace, &[("source", "__meta_kubernetes_pod_annotation_prometheus_io_scheme"), ("target", "__scheme__"), ("regex", "(https?)")]),
            r(Action::Replace, &[("source", "__address__,__meta_kubernetes_pod_annotation_prometheus_io_port"), ("target", "__address__"), ("regex", r"(.+?)(\:\d+)?;(\d+)"), ("replacement", "$1:$3")]),
            r(Action::LabelMap, &[("regex", "__meta_kubernetes_pod_label_prometheus_io_label_(.+)")]),
            r(Action::Replace, &[("source", "__meta_kubernetes_namespace,__meta_kubernetes_pod_label_name"), ("separator", "/"), ("target", "job")]),
            r(Action::Replace, &[("source", "__meta_kubernetes_pod_name,__meta_kubernetes_pod_container_name,__meta_kubernetes_pod_container_port_name"), ("separator", ":"), ("target", "instance")]),
            r(Action::Replace, &[("target", "cluster"), ("replacement", "dev-us-central-0")]),
            r(Action::LabelDrop, &[("regex", "__meta_.*")]),
        ];
        let input = [
            ("__address__", "10.132.183.40:80"),
            ("__meta_kubernetes_namespace", "loki"),
            (
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
                "3100",
            ),
            ("__meta_kubernetes_pod_container_name", "promtail"),
            ("__meta_kubernetes_pod_container_port_name", "http-metrics"),
            ("__meta_kubernetes_pod_label_name", "promtail"),
            (
                "__meta_kubernetes_pod_label_prometheus_io_label_team",
                "obs",
            ),
            ("__meta_kubernetes_pod_name", "promtail-jgtr7"),
            ("__meta_kubernetes_pod_phase", "Running"),
            ("__scheme__", "http"),
            ("job", "kubernetes-pods"),
        ];
        assert_eq!(
            run(&input, &rules),
            Some(ls(&[
                ("__address__", "10.132.183.40:3100"),
                ("__scheme__", "http"),
                ("cluster", "dev-us-central-0"),
                ("instance", "promtail-jgtr7:promtail:http-metrics"),
                ("job", "loki/promtail"),
                ("team", "obs"),
            ]))
        );
        let mut failed = input.to_vec();
        failed.retain(|(n, _)| *n != "__meta_kubernetes_pod_phase");
        failed.push(("__meta_kubernetes_pod_phase", "Failed"));
        assert_eq!(run(&failed, &rules), None);
    }
}
