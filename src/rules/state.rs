//! Rule state kept in the data dir between `rules eval` runs: what Prometheus's rules manager
//! holds in memory (each group's last evaluation, the series each rule wrote, every alert's
//! state and sending times), so that a cron round continues where the last one stopped.
//!
//! # Layout
//!
//! ```text
//! DIR/rules/
//! ├── <file>.state     the state of one rule file's groups; <file> = 16 hex digits of
//! │                    XXH64 of the file's path as given (the path is stored inside)
//! ├── <file>.lock      flock'd (exclusive) by the process evaluating that file
//! └── tmp-<pid>-<n>    a state being written; renamed over <file>.state when complete
//! ```
//!
//! A round commits its segment first and replaces the state after, so a round killed at any
//! point leaves either the old state (the next round evaluates the same slots again and
//! writes the same samples, which replace the first ones) or the new one.
//!
//! # File format
//!
//! The frame of the scrape state (`magic "PBRULST1" │ len u32 LE │ CRC-32C │ zstd frame`)
//! around this payload (integers are uvarints unless said, times are i64 LE):
//!
//! ```text
//! payload: file path (string) │ g (uvarint) │ g × group
//! group:   name (string) │ last slot ns │ restore_in u8 │ k │ k × stale labels │ r │ r × rule
//! rule:    key (string) │ p │ p × labels (series written last time) │ a │ a × alert
//! alert:   labels │ n │ n × (name string, value string) (annotations) │ state u8
//!          │ value f64 LE bits │ active_at │ fired_at │ resolved_at │ keep_firing_since
//!          │ last_sent_at │ valid_until (times in ms, i64 LE)
//! labels:  k (uvarint) │ k × (name string, value string)
//! string:  len (uvarint) │ UTF-8 bytes
//! ```
//!
//! A rule's key is its name and labels: after a rule file edit, rules are matched to their
//! old state by it, in order, as Prometheus's `CopyState` matches them on reload; a rule with
//! no match starts afresh, and the series of old rules left unmatched are marked stale.
//! A file that is missing, damaged or for another path counts as no state.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::alert::{Alert, AlertState, State};
use super::eval::{GroupState, RuleState};
use super::file::{Group, Rule};
use super::lint::merged_labels;
use crate::model::hash::stable_hash;
use crate::model::Labels;
use crate::scrape::state::{frame, get_labels, put_labels, put_str, unframe};
use crate::storage::chunk::{put_uvarint, Cursor};
use crate::storage::Corruption;

const MAGIC: &[u8; 8] = b"PBRULST1";

/// The state of one rule file's groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileState {
    pub file: String,
    pub groups: Vec<GroupRecord>,
}

/// One group as its last evaluation left it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupRecord {
    pub name: String,
    /// The slot (ns) of the last evaluation.
    pub last_ns: i64,
    /// Evaluations left before alert state is restored (0: restored).
    pub restore_in: u8,
    pub stale: Vec<Labels>,
    pub rules: Vec<RuleRecord>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleRecord {
    pub key: String,
    pub previous: Vec<Labels>,
    pub alerts: Vec<Alert>,
}

/// A rule's identity across edits: its name and labels (group labels merged).
pub fn rule_key(group: &Group, rule: &Rule) -> String {
    let mut k = rule.name.clone();
    for (n, v) in merged_labels(&group.labels, &rule.labels) {
        k.push('\u{ff}');
        k.push_str(&n);
        k.push('=');
        k.push_str(&v);
    }
    k
}

/// The evaluator's state for `group` from its record: rules matched by key in order, the
/// series of unmatched old rules queued to be marked stale.
pub fn carry_over(group: &Group, rec: &GroupRecord) -> GroupState {
    let mut used = vec![false; rec.rules.len()];
    let mut rules = Vec::with_capacity(group.rules.len());
    for rule in &group.rules {
        let key = rule_key(group, rule);
        let hit = rec
            .rules
            .iter()
            .enumerate()
            .position(|(i, r)| !used[i] && r.key == key);
        let mut rs = RuleState::default();
        if let Some(i) = hit {
            used[i] = true;
            rs.previous = rec.rules[i].previous.clone();
            if rule.kind == super::RuleKind::Alerting {
                rs.alerts = AlertState {
                    active: rec.rules[i]
                        .alerts
                        .iter()
                        .map(|a| (a.labels.clone(), a.clone()))
                        .collect(),
                };
            }
        }
        rules.push(rs);
    }
    let mut stale = rec.stale.clone();
    for (r, u) in rec.rules.iter().zip(&used) {
        if !u {
            stale.extend(r.previous.iter().cloned());
        }
    }
    GroupState {
        rules,
        restored: rec.restore_in == 0,
        stale,
    }
}

/// The record of `group` after an evaluation at `last_ns`.
pub fn record(group: &Group, st: &GroupState, last_ns: i64, restore_in: u8) -> GroupRecord {
    GroupRecord {
        name: group.name.clone(),
        last_ns,
        restore_in,
        stale: st.stale.clone(),
        rules: group
            .rules
            .iter()
            .zip(&st.rules)
            .map(|(r, rs)| RuleRecord {
                key: rule_key(group, r),
                previous: rs.previous.clone(),
                alerts: rs.alerts.active.values().cloned().collect(),
            })
            .collect(),
    }
}

fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn state_byte(s: State) -> u8 {
    match s {
        State::Inactive => 0,
        State::Pending => 1,
        State::Firing => 2,
    }
}

/// Encodes a state file.
pub fn encode(s: &FileState) -> Vec<u8> {
    let mut p = Vec::new();
    put_str(&mut p, &s.file);
    put_uvarint(&mut p, s.groups.len() as u64);
    for g in &s.groups {
        put_str(&mut p, &g.name);
        put_i64(&mut p, g.last_ns);
        p.push(g.restore_in);
        put_uvarint(&mut p, g.stale.len() as u64);
        for l in &g.stale {
            put_labels(&mut p, l);
        }
        put_uvarint(&mut p, g.rules.len() as u64);
        for r in &g.rules {
            put_str(&mut p, &r.key);
            put_uvarint(&mut p, r.previous.len() as u64);
            for l in &r.previous {
                put_labels(&mut p, l);
            }
            put_uvarint(&mut p, r.alerts.len() as u64);
            for a in &r.alerts {
                put_labels(&mut p, &a.labels);
                put_uvarint(&mut p, a.annotations.len() as u64);
                for (k, v) in &a.annotations {
                    put_str(&mut p, k);
                    put_str(&mut p, v);
                }
                p.push(state_byte(a.state));
                p.extend_from_slice(&a.value.to_bits().to_le_bytes());
                for t in [
                    a.active_at,
                    a.fired_at,
                    a.resolved_at,
                    a.keep_firing_since,
                    a.last_sent_at,
                    a.valid_until,
                ] {
                    put_i64(&mut p, t);
                }
            }
        }
    }
    frame(MAGIC, &p)
}

/// Decodes a state file.
pub fn decode(data: &[u8]) -> Result<FileState, Corruption> {
    let p = unframe(MAGIC, data, "rule state")?;
    let mut c = Cursor::new(&p);
    let file = c.str()?.to_string();
    let mut groups = Vec::new();
    for _ in 0..c.len()? {
        let name = c.str()?.to_string();
        let last_ns = c.u64()? as i64;
        let restore_in = c.u8()?;
        let mut stale = Vec::new();
        for _ in 0..c.len()? {
            stale.push(get_labels(&mut c)?);
        }
        let mut rules = Vec::new();
        for _ in 0..c.len()? {
            let key = c.str()?.to_string();
            let mut previous = Vec::new();
            for _ in 0..c.len()? {
                previous.push(get_labels(&mut c)?);
            }
            let mut alerts = Vec::new();
            for _ in 0..c.len()? {
                let labels = get_labels(&mut c)?;
                let mut annotations = Vec::new();
                for _ in 0..c.len()? {
                    let k = c.str()?.to_string();
                    annotations.push((k, c.str()?.to_string()));
                }
                let state = match c.u8()? {
                    0 => State::Inactive,
                    1 => State::Pending,
                    2 => State::Firing,
                    _ => return Err(Corruption::new("bad alert state")),
                };
                let value = f64::from_bits(c.u64()?);
                let mut t = [0i64; 6];
                for x in &mut t {
                    *x = c.u64()? as i64;
                }
                alerts.push(Alert {
                    labels,
                    annotations,
                    state,
                    value,
                    active_at: t[0],
                    fired_at: t[1],
                    resolved_at: t[2],
                    keep_firing_since: t[3],
                    last_sent_at: t[4],
                    valid_until: t[5],
                });
            }
            rules.push(RuleRecord {
                key,
                previous,
                alerts,
            });
        }
        groups.push(GroupRecord {
            name,
            last_ns,
            restore_in,
            stale,
            rules,
        });
    }
    Ok(FileState { file, groups })
}

/// The `rules/` directory of a data dir.
pub fn dir(data: &Path) -> PathBuf {
    data.join("rules")
}

fn file_id(file: &str) -> String {
    format!("{:016x}", stable_hash(file.as_bytes()))
}

/// Holds a rule file's lock while it is evaluated.
pub struct FileLock(#[allow(dead_code)] File);

/// Takes a rule file's lock without waiting; `None` when another process holds it.
pub fn lock(data: &Path, file: &str) -> io::Result<Option<FileLock>> {
    let d = dir(data);
    fs::create_dir_all(&d)?;
    Ok(crate::storage::try_lock(&d.join(format!("{}.lock", file_id(file))))?.map(FileLock))
}

/// Loads a rule file's state; absent, damaged or another path's gives none.
pub fn load(data: &Path, file: &str) -> Option<FileState> {
    let p = dir(data).join(format!("{}.state", file_id(file)));
    match fs::read(p).map(|b| decode(&b)) {
        Ok(Ok(s)) if s.file == file => Some(s),
        _ => None,
    }
}

/// Replaces a rule file's state atomically.
pub fn save(data: &Path, s: &FileState) -> Result<(), crate::storage::Error> {
    let d = dir(data);
    fs::create_dir_all(&d).map_err(|e| crate::storage::Error::io(&d, e))?;
    crate::storage::Dir::new(data).write_atomic(
        &d,
        &format!("{}.state", file_id(&s.file)),
        &encode(s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{file, ParseOptions};

    fn group(text: &str) -> Group {
        file::parse(text, ParseOptions::default())
            .unwrap()
            .groups
            .remove(0)
    }

    fn labels(s: &str) -> Labels {
        crate::promql::script::parse_labels(s).unwrap()
    }

    #[test]
    fn state_files_round_trip_and_refuse_damage() {
        let s = FileState {
            file: "rules/a.yml".into(),
            groups: vec![GroupRecord {
                name: "g".into(),
                last_ns: 1_700_000_000_123_456_789,
                restore_in: 1,
                stale: vec![labels(r#"old{a="1"}"#)],
                rules: vec![RuleRecord {
                    key: "r".into(),
                    previous: vec![labels(r#"ALERTS{alertname="r"}"#)],
                    alerts: vec![Alert {
                        labels: labels(r#"{alertname="r", x="ü"}"#),
                        annotations: vec![("summary".into(), "high".into())],
                        state: State::Firing,
                        value: 0.5,
                        active_at: 1,
                        fired_at: 2,
                        resolved_at: 0,
                        keep_firing_since: 3,
                        last_sent_at: 4,
                        valid_until: -5,
                    }],
                }],
            }],
        };
        let b = encode(&s);
        assert_eq!(decode(&b).unwrap(), s);
        for cut in [0, 10, 17, b.len() - 1] {
            assert!(decode(&b[..cut]).is_err(), "{cut}");
        }
        let mut bad = b.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(decode(&bad).is_err());
    }

    #[test]
    fn an_edited_group_keeps_the_state_of_rules_it_still_has() {
        let old = group(
            "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n  - alert: B\n    expr: up == 0\n    labels: {sev: page}\n  - record: c\n    expr: up\n",
        );
        let mut st = GroupState::new(&old);
        st.rules[0].previous = vec![labels("a")];
        st.rules[1].previous = vec![labels(r#"ALERTS{alertname="B"}"#)];
        st.rules[2].previous = vec![labels("c")];
        let rec = record(&old, &st, 10, 0);
        // `c` removed, B's labels changed, a new rule first.
        let new = group(
            "groups:\n- name: g\n  rules:\n  - record: z\n    expr: up\n  - record: a\n    expr: up * 2\n  - alert: B\n    expr: up == 0\n    labels: {sev: low}\n",
        );
        let st = carry_over(&new, &rec);
        assert!(st.rules[0].previous.is_empty());
        assert_eq!(st.rules[1].previous, vec![labels("a")]);
        assert!(st.rules[2].previous.is_empty());
        let mut stale = st.stale.clone();
        stale.sort();
        assert_eq!(stale, vec![labels(r#"ALERTS{alertname="B"}"#), labels("c")]);
        assert!(st.restored);
    }
}
