//! The gateway's state as plain data, with no I/O and no clock (times are passed in): groups
//! of pushed metric families, the Pushgateway's write semantics, its consistency checks,
//! expiry, and the merged view that `/metrics` serves.
//!
//! Writes, as the Pushgateway applies them:
//! - `PUT` (replace) drops every family of the group, then adds the pushed ones; `POST` (add)
//!   replaces only the families of the pushed names. Both set `push_time_seconds`.
//! - Pushed samples get the grouping labels (overwriting the body's), and `instance=""` when
//!   they have no `instance`; labels are then sorted by name.
//! - A push is refused when its samples have timestamps, or when the store with the push
//!   applied would not be a valid exposition: a family whose type differs from the same name
//!   elsewhere (another group, the gateway's own metrics), a series present twice, a
//!   histogram or summary whose `_count`/`_sum`/`_bucket` names collide with another family,
//!   a value that is not of its family's type, a repeated label name, an explicit `quantile`
//!   or `le` label. A refused push sets the group's `push_failure_time_seconds` (creating the
//!   group if needed, unless that group's own gauges would collide, where the Pushgateway
//!   would wedge itself).
//! - `DELETE` removes a group (exactly, or every group whose key extends a prefix).
//!
//! The store keeps it consistent as an invariant, so checking a write needs only the pushed
//! group against indexes of the others: family name → type and number of groups, and a
//! 128-bit hash of every series.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::expfmt::family::{Family, Kind, Metric, Value, View};
use crate::expfmt::proto;
use crate::model::labels::is_legacy_label_name;
use crate::push::GroupingKey;

/// The gateway's own gauges in every group.
pub const PUSH_TIME: &str = "push_time_seconds";
pub const PUSH_FAILURE_TIME: &str = "push_failure_time_seconds";
const PUSH_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILURE_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway failed.";

/// Whether a push replaces the whole group or only the families it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Replace,
    Add,
}

/// One pushed family and when it was last written, kept encoded: as one delimited protobuf
/// message it takes a fraction of its decoded size, and it is decoded only to be served or
/// checked. Its name is the key it is held under; the whole value is 32 bytes besides the
/// encoding (a node_exporter push holds some 300 families, so every word counts).
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub kind: Kind,
    /// The number of metrics.
    len: u32,
    /// Nanoseconds since the epoch.
    pub time_ns: i64,
    /// The family as a delimited `MetricFamily` message.
    pub encoded: Box<[u8]>,
}

impl Stored {
    pub fn new(f: &Family, time_ns: i64) -> Stored {
        let mut encoded = Vec::new();
        proto::encode_delimited(&f.view(), &mut encoded);
        Stored {
            kind: f.kind,
            len: u32::try_from(f.metrics.len()).unwrap_or(u32::MAX),
            time_ns,
            encoded: encoded.into_boxed_slice(),
        }
    }

    /// A family read back from its encoding (the state on disk), with its name.
    pub fn from_encoded(encoded: &[u8], time_ns: i64) -> Result<(String, Stored), String> {
        let mut fams = proto::decode_delimited(encoded).map_err(|e| e.to_string())?;
        match (fams.pop(), fams.is_empty()) {
            (Some(f), true) => {
                let s = Stored::new(&f, time_ns);
                Ok((f.name, s))
            }
            _ => Err("a family record holds no single family".into()),
        }
    }

    /// The family, decoded; `name` is the name it is held under.
    pub fn family(&self, name: &str) -> Family {
        proto::decode_delimited(&self.encoded)
            .ok()
            .and_then(|mut f| f.pop())
            // Encoded by `new`, so it decodes; an empty family is the safe answer otherwise.
            .unwrap_or_else(|| Family::new(name.to_string(), self.kind))
    }

    /// Each metric's series identity, in order (decoded).
    fn decode_ids(&self, name: &str) -> Vec<SeriesId> {
        family_ids(&self.family(name))
    }

    /// The number of metrics.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub key: GroupingKey,
    /// Pushed families by name (never the two push-time gauges).
    pub families: BTreeMap<String, Stored>,
    /// Last successful write, nanoseconds since the epoch; 0 if none.
    pub push_time_ns: i64,
    /// Last refused write; 0 if none.
    pub failure_time_ns: i64,
    /// The group expires this long after its last push, if set.
    pub ttl_ms: Option<i64>,
    /// The labels of the group's push-time gauges: the key, with `instance=""` if absent.
    gauge_labels: Vec<(String, String)>,
    /// The series identities of the two gauges.
    gauge_ids: [SeriesId; 2],
    /// Every metric's series identity, family after family in name order (one allocation
    /// per group; see [`Group::reindex`]).
    ids: Vec<SeriesId>,
}

impl Group {
    pub fn new(key: GroupingKey) -> Group {
        let mut gauge_labels = key.labels().to_vec();
        if key.get("instance").is_none() {
            gauge_labels.push(("instance".into(), String::new()));
            gauge_labels.sort();
        }
        let gauge_ids = [
            series_id(PUSH_TIME, &gauge_labels),
            series_id(PUSH_FAILURE_TIME, &gauge_labels),
        ];
        Group {
            key,
            families: BTreeMap::new(),
            push_time_ns: 0,
            failure_time_ns: 0,
            ttl_ms: None,
            gauge_labels,
            gauge_ids,
            ids: Vec::new(),
        }
    }

    /// The pushed families with their metrics' series identities.
    fn families_with_ids(&self) -> impl Iterator<Item = (&str, &Stored, &[SeriesId])> + '_ {
        let mut at = 0;
        self.families.iter().map(move |(name, s)| {
            let ids = self.ids.get(at..at + s.len()).unwrap_or(&[]);
            at += s.len();
            (name.as_str(), s, ids)
        })
    }

    /// Recomputes the series identities after `families` changed: a pushed family's from
    /// `pushed`, a kept one's from `old` (the group before the change), decoding only
    /// what neither has (a group read from disk).
    fn reindex(&mut self, pushed: &[Family], old: Option<&Group>) {
        let before: HashMap<&str, &[SeriesId]> = old
            .map(|o| o.families_with_ids().map(|(n, _, ids)| (n, ids)).collect())
            .unwrap_or_default();
        let mut ids = Vec::with_capacity(self.families.values().map(Stored::len).sum());
        for (name, s) in &self.families {
            // The last of a name wins, as in `families`.
            let fresh = pushed.iter().rev().find(|f| &f.name == name);
            if let Some(f) = fresh.filter(|f| f.metrics.len() == s.len()) {
                ids.extend(family_ids(f));
            } else if let Some(o) = before.get(name.as_str()).filter(|o| o.len() == s.len()) {
                ids.extend_from_slice(o);
            } else {
                ids.extend(s.decode_ids(name));
            }
        }
        self.ids = ids;
    }

    /// Whether `ids` covers every metric (false for a group just read from disk).
    fn indexed(&self) -> bool {
        self.ids.len() == self.families.values().map(Stored::len).sum::<usize>()
    }

    /// The two push-time gauges as families.
    pub fn push_gauges(&self) -> [Family; 2] {
        let gauge = |name: &str, help: &str, ns: i64| Family {
            name: name.into(),
            help: Some(help.into()),
            kind: Kind::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels: self.gauge_labels.clone(),
                value: Value::Gauge(ns as f64 / 1e9),
                timestamp_ms: None,
            }],
        };
        [
            gauge(PUSH_TIME, PUSH_TIME_HELP, self.push_time_ns),
            gauge(PUSH_FAILURE_TIME, PUSH_FAILURE_HELP, self.failure_time_ns),
        ]
    }

    /// When the group expires (nanoseconds), if it has a TTL.
    pub fn expires_ns(&self) -> Option<i64> {
        let last = self.push_time_ns.max(self.failure_time_ns);
        self.ttl_ms
            .map(|t| last.saturating_add(t.saturating_mul(1_000_000)))
    }

    /// Every family of the group and its two gauges: name, type, each metric's series.
    fn all_families(&self) -> impl Iterator<Item = (&str, Kind, &[SeriesId])> + '_ {
        let gauges = [PUSH_TIME, PUSH_FAILURE_TIME]
            .into_iter()
            .zip(self.gauge_ids.iter())
            .map(|(n, id)| (n, Kind::Gauge, std::slice::from_ref(id)));
        self.families_with_ids()
            .map(|(name, s, ids)| (name, s.kind, ids))
            .chain(gauges)
    }

    pub fn last_push_successful(&self) -> bool {
        self.failure_time_ns <= self.push_time_ns
    }
}

/// A write: one push to one group.
#[derive(Clone, Debug)]
pub struct Push {
    pub key: GroupingKey,
    pub mode: Mode,
    pub families: Vec<Family>,
    pub time_ns: i64,
    /// The group's TTL from now on; `None` keeps the store's default.
    pub ttl_ms: Option<i64>,
}

/// Why a push was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// Samples with timestamps (the Pushgateway's wording).
    Timestamps,
    /// The store with the push applied would not be a valid exposition (client_golang's
    /// gather error, as the Pushgateway returns it).
    Inconsistent(String),
    /// A new group beyond the limit.
    TooManyGroups(usize),
    /// More series in one group than the limit.
    TooManySeries { series: usize, limit: usize },
}

impl PushError {
    /// The HTTP status the gateway answers with.
    pub fn status(&self) -> u16 {
        match self {
            PushError::Timestamps | PushError::Inconsistent(_) => 400,
            PushError::TooManyGroups(_) => 429,
            PushError::TooManySeries { .. } => 413,
        }
    }

    /// Whether the Pushgateway would record this as a failed push of the group.
    fn marks_failure(&self) -> bool {
        matches!(self, PushError::Timestamps | PushError::Inconsistent(_))
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Timestamps => f.write_str(
                "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps",
            ),
            PushError::Inconsistent(e) => write!(
                f,
                "pushed metrics are invalid or inconsistent with existing metrics: {e}"
            ),
            PushError::TooManyGroups(n) => write!(
                f,
                "too many groups: the gateway holds {n}, its limit (--max-groups)"
            ),
            PushError::TooManySeries { series, limit } => write!(
                f,
                "too many series in one group: {series}, more than the limit of {limit} (--max-series)"
            ),
        }
    }
}

impl std::error::Error for PushError {}

/// A refused push: why, and the group as the refusal leaves it (to log and put), if changed.
#[derive(Debug)]
pub struct Refusal {
    pub error: PushError,
    pub failed: Option<Group>,
}

/// Bounds on what the store holds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_groups: usize,
    pub max_series_per_group: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_groups: 10_000,
            max_series_per_group: 100_000,
        }
    }
}

/// A 128-bit identity of one series: family name and full label set.
type SeriesId = (u64, u64);

fn family_ids(f: &Family) -> Vec<SeriesId> {
    f.metrics
        .iter()
        .map(|m| series_id(&f.name, &m.labels))
        .collect()
}

fn series_id(family: &str, labels: &[(String, String)]) -> SeriesId {
    let mut buf = Vec::with_capacity(family.len() + labels.len() * 24);
    buf.extend_from_slice(family.as_bytes());
    for (k, v) in labels {
        buf.push(0xff);
        buf.extend_from_slice(k.as_bytes());
        buf.push(0xfe);
        buf.extend_from_slice(v.as_bytes());
    }
    (
        xxhash_rust::xxh64::xxh64(&buf, 0),
        xxhash_rust::xxh64::xxh64(&buf, 0x9e37_79b9_7f4a_7c15),
    )
}

/// What one family name is across the store.
#[derive(Clone, Copy, Debug)]
struct NameInfo {
    kind: Kind,
    /// How many groups (and the gateway itself) have a family of this name.
    holders: u32,
}

/// The gateway's groups, kept consistent.
#[derive(Debug, Default)]
pub struct Store {
    /// Shared, so a scrape serves a snapshot taken in an instant, without holding the lock.
    groups: BTreeMap<GroupingKey, Arc<Group>>,
    names: HashMap<String, NameInfo>,
    series: HashMap<SeriesId, u32>,
    /// The gateway's own families (name, type, help), checked and served with the groups.
    own: Vec<(String, Kind, String)>,
    pub limits: Limits,
    /// The TTL of groups pushed without one.
    pub default_ttl_ms: Option<i64>,
}

impl Store {
    /// An empty store; `own` names the gateway's own metric families, whose types pushes
    /// must agree with.
    pub fn new(own: Vec<(String, Kind, String)>, limits: Limits) -> Store {
        let mut s = Store {
            own,
            limits,
            ..Store::default()
        };
        for (name, kind, _) in s.own.clone() {
            s.names.insert(name, NameInfo { kind, holders: 1 });
        }
        s
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values().map(|g| &**g)
    }

    pub fn group(&self, key: &GroupingKey) -> Option<&Group> {
        self.groups.get(key).map(|g| &**g)
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Series held, the push-time gauges included.
    pub fn series_count(&self) -> usize {
        self.series.values().map(|&n| n as usize).sum()
    }

    /// Checks a push against the store, without changing it: the group as it would be, or
    /// why not — with the group as the refusal leaves it (its failure time set; see the
    /// module doc), if the refusal changes it. The caller logs the state, then [`Store::put`]s it.
    pub fn prepare(&self, mut p: Push) -> Result<Group, Box<Refusal>> {
        match self.try_push(&mut p) {
            Ok(g) => Ok(g),
            Err(error) if error.marks_failure() => {
                let failed = self.failure_state(&p.key, p.time_ns);
                Err(Box::new(Refusal { error, failed }))
            }
            Err(error) => Err(Box::new(Refusal {
                error,
                failed: None,
            })),
        }
    }

    fn try_push(&self, p: &mut Push) -> Result<Group, PushError> {
        if p.families
            .iter()
            .any(|f| f.metrics.iter().any(|m| m.timestamp_ms.is_some()))
        {
            return Err(PushError::Timestamps);
        }
        // The gateway's own gauges are silently replaced by its own.
        p.families
            .retain(|f| f.name != PUSH_TIME && f.name != PUSH_FAILURE_TIME);
        for f in &mut p.families {
            for m in &mut f.metrics {
                sanitize(&mut m.labels, &p.key);
            }
        }
        let old = self.groups.get(&p.key);
        if old.is_none() && self.groups.len() >= self.limits.max_groups {
            return Err(PushError::TooManyGroups(self.groups.len()));
        }
        // The group as it would be.
        let mut next = old
            .map(|g| (**g).clone())
            .unwrap_or_else(|| Group::new(p.key.clone()));
        if p.mode == Mode::Replace {
            next.families.clear();
        }
        for f in &p.families {
            next.families
                .insert(f.name.clone(), Stored::new(f, p.time_ns));
        }
        next.reindex(&p.families, old.map(|g| &**g));
        next.push_time_ns = p.time_ns;
        if let Some(t) = p.ttl_ms {
            next.ttl_ms = Some(t);
        } else if old.is_none() {
            next.ttl_ms = self.default_ttl_ms;
        }
        let series: usize = next.families.values().map(|s| s.len()).sum();
        if series > self.limits.max_series_per_group {
            return Err(PushError::TooManySeries {
                series,
                limit: self.limits.max_series_per_group,
            });
        }
        self.check(old.map(|g| &**g), &next, &p.families)
            .map_err(PushError::Inconsistent)?;
        Ok(next)
    }

    /// The group after a refused push: its failure time set, created if new — unless a new
    /// group's own gauges would collide with another's, or the group limit is reached.
    fn failure_state(&self, key: &GroupingKey, time_ns: i64) -> Option<Group> {
        if let Some(g) = self.groups.get(key) {
            let mut g = (**g).clone();
            g.failure_time_ns = time_ns;
            return Some(g);
        }
        let mut g = Group::new(key.clone());
        g.failure_time_ns = time_ns;
        g.ttl_ms = self.default_ttl_ms;
        if self.groups.len() >= self.limits.max_groups || self.check(None, &g, &[]).is_err() {
            return None;
        }
        Some(g)
    }

    /// Puts a group in place of the one with its key: a prepared push, or a state read back
    /// from disk (unchecked).
    pub fn put(&mut self, mut g: Group) {
        if !g.indexed() {
            g.reindex(&[], None);
        }
        self.replace(g);
    }

    /// Puts a group in place of the one with its key, updating the indexes. The caller has
    /// checked it.
    fn replace(&mut self, g: Group) {
        if let Some(old) = self.groups.remove(&g.key) {
            self.unindex(&old);
        }
        self.index(&g);
        self.groups.insert(g.key.clone(), Arc::new(g));
    }

    fn index(&mut self, g: &Group) {
        for (name, kind, ids) in g.all_families() {
            let info = self
                .names
                .entry(name.to_string())
                .or_insert(NameInfo { kind, holders: 0 });
            info.holders += 1;
            for id in ids {
                *self.series.entry(*id).or_insert(0) += 1;
            }
        }
    }

    fn unindex(&mut self, g: &Group) {
        for (name, _, ids) in g.all_families() {
            if let Some(info) = self.names.get_mut(name) {
                info.holders -= 1;
                if info.holders == 0 {
                    self.names.remove(name);
                }
            }
            for id in ids {
                if let Some(n) = self.series.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        self.series.remove(id);
                    }
                }
            }
        }
    }

    /// Checks that replacing `old` by `next` keeps the store a valid exposition, in the order
    /// client_golang's gatherer checks; the message is its.
    fn check(&self, old: Option<&Group>, next: &Group, pushed: &[Family]) -> Result<(), String> {
        // What the other groups hold: the indexes less `old`'s part.
        let mut old_names: HashMap<&str, u32> = HashMap::new();
        let mut old_series: HashMap<SeriesId, u32> = HashMap::new();
        if let Some(o) = old {
            for (name, _, ids) in o.all_families() {
                *old_names.entry(name).or_insert(0) += 1;
                for id in ids {
                    *old_series.entry(*id).or_insert(0) += 1;
                }
            }
        }
        let other_kind = |name: &str| -> Option<Kind> {
            let info = self.names.get(name)?;
            let mine = old_names.get(name).copied().unwrap_or(0);
            (info.holders > mine).then_some(info.kind)
        };
        for f in pushed {
            for m in &f.metrics {
                metric_valid(f, m)?;
            }
        }
        let mut seen: HashSet<SeriesId> = HashSet::new();
        for (name, kind, ids) in next.all_families() {
            let rendered = |i: usize| render_metric_of(next, pushed, name, i);
            if let Some(k) = other_kind(name) {
                if k != kind {
                    if let Some((_, own, _)) = self.own.iter().find(|(n, _, _)| n == name) {
                        return Err(format!(
                            "gathered metric family {name} has type {kind} but should have {own}"
                        ));
                    }
                    let m = if ids.is_empty() {
                        String::new()
                    } else {
                        rendered(0)
                    };
                    return Err(format!("collected metric {name:?} {{ {m}}} is not a {k}"));
                }
            }
            for (i, id) in ids.iter().enumerate() {
                let elsewhere = self.series.get(id).copied().unwrap_or(0)
                    > old_series.get(id).copied().unwrap_or(0);
                if elsewhere || !seen.insert(*id) {
                    return Err(format!(
                        "collected metric {name:?} {{ {}}} was collected before with the same name and label values",
                        rendered(i)
                    ));
                }
            }
            self.check_suffixes(name, kind, next, &other_kind)?;
        }
        Ok(())
    }

    /// client_golang's suffix-collision check for one family of the new group.
    fn check_suffixes(
        &self,
        name: &str,
        kind: Kind,
        next: &Group,
        other_kind: &dyn Fn(&str) -> Option<Kind>,
    ) -> Result<(), String> {
        let kind_of = |n: &str| -> Option<Kind> {
            next.families
                .get(n)
                .map(|s| s.kind)
                .or_else(|| other_kind(n))
        };
        let composite =
            |k: Kind| matches!(k, Kind::Histogram | Kind::GaugeHistogram | Kind::Summary);
        for suffix in ["_count", "_sum", "_bucket"] {
            if let Some(base) = name.strip_suffix(suffix) {
                match kind_of(base) {
                    Some(Kind::Histogram | Kind::GaugeHistogram) => {
                        return Err(format!(
                            "collected metric named {name:?} collides with previously collected histogram named {base:?}"
                        ))
                    }
                    Some(Kind::Summary) if suffix != "_bucket" => {
                        return Err(format!(
                            "collected metric named {name:?} collides with previously collected summary named {base:?}"
                        ))
                    }
                    _ => {}
                }
            }
        }
        if composite(kind) {
            for suffix in ["_count", "_sum"] {
                let n = format!("{name}{suffix}");
                if kind_of(&n).is_some() {
                    return Err(format!(
                        "collected histogram or summary named {name:?} collides with previously collected metric named {n:?}"
                    ));
                }
            }
            if kind != Kind::Summary {
                let n = format!("{name}_bucket");
                if kind_of(&n).is_some() {
                    return Err(format!(
                        "collected histogram named {name:?} collides with previously collected metric named {n:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Deletes the group with exactly this key; whether it existed.
    pub fn delete(&mut self, key: &GroupingKey) -> bool {
        match self.groups.remove(key) {
            Some(g) => {
                self.unindex(&g);
                true
            }
            None => false,
        }
    }

    /// The keys of every group whose key holds all of `prefix`'s labels.
    pub fn matching(&self, prefix: &GroupingKey) -> Vec<GroupingKey> {
        self.groups
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Deletes every group.
    pub fn wipe(&mut self) -> usize {
        let n = self.groups.len();
        self.groups.clear();
        self.series.clear();
        self.names.clear();
        for (name, kind, _) in &self.own {
            self.names.insert(
                name.clone(),
                NameInfo {
                    kind: *kind,
                    holders: 1,
                },
            );
        }
        n
    }

    /// Removes the groups whose TTL has passed at `now_ns`; how many.
    pub fn expire(&mut self, now_ns: i64) -> usize {
        let keys: Vec<GroupingKey> = self
            .groups
            .values()
            .filter(|g| g.expires_ns().is_some_and(|e| e <= now_ns))
            .map(|g| g.key.clone())
            .collect();
        for k in &keys {
            self.delete(k);
        }
        keys.len()
    }

    /// The merged view of every group and the gateway's own families (given here with
    /// their metrics), as `/metrics` serves it: see [`Gathering`]. It holds a snapshot of
    /// the groups, so the store may change (and its lock be released) while it is served.
    pub fn gathering(&self, own: Vec<Family>) -> Gathering {
        let groups: Vec<Arc<Group>> = self.groups.values().cloned().collect();
        let gauges: Vec<Family> = groups.iter().flat_map(|g| g.push_gauges()).collect();
        let mut by_name: BTreeMap<&str, Sources> = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            for name in g.families.keys() {
                by_name.entry(name).or_default().stored.push(i as u32);
            }
        }
        for (i, f) in gauges.iter().enumerate() {
            by_name.entry(&f.name).or_default().computed.push(i as u32);
        }
        for (i, f) in own.iter().enumerate() {
            by_name.entry(&f.name).or_default().own.push(i as u32);
        }
        let names: Vec<(String, Sources)> = by_name
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect();
        Gathering {
            names: names.into_iter(),
            groups,
            gauges,
            own,
        }
    }
}

/// Where one family name's metrics are, by index into a [`Gathering`]'s lists.
#[derive(Debug, Default)]
struct Sources {
    stored: Vec<u32>,
    computed: Vec<u32>,
    own: Vec<u32>,
}

/// The merged view of a snapshot of the store, produced one family name at a time (only
/// one name's families are decoded at once): families sorted by name, one name's metrics
/// from all groups together, sorted as client_golang sorts them (fewer labels first, then
/// label values in order). A name's type is the first group's; its help the gateway's own
/// for its own families, otherwise the first group's (in key order) that has one.
#[derive(Debug)]
pub struct Gathering {
    names: std::vec::IntoIter<(String, Sources)>,
    groups: Vec<Arc<Group>>,
    /// The push-time gauges of every group.
    gauges: Vec<Family>,
    own: Vec<Family>,
}

impl Gathering {
    /// Gives the next family name's merged family to `emit` (nothing if it has no
    /// metrics); false when every name has been given.
    pub fn next(&mut self, emit: &mut dyn FnMut(&View<'_>)) -> bool {
        let Some((name, src)) = self.names.next() else {
            return false;
        };
        let decoded: Vec<Family> = src
            .stored
            .iter()
            .filter_map(|&i| {
                let g = &self.groups[i as usize];
                g.families.get(&name).map(|s| s.family(&name))
            })
            .collect();
        let computed = src.computed.iter().map(|&i| &self.gauges[i as usize]);
        let all: Vec<&Family> = decoded.iter().chain(computed).collect();
        let own: Vec<&Family> = src.own.iter().map(|&i| &self.own[i as usize]).collect();
        let Some(first) = all.first().or(own.first()).copied() else {
            return true;
        };
        let help = own.iter().chain(all.iter()).find_map(|f| f.help.as_deref());
        let mut metrics: Vec<&Metric> = all
            .iter()
            .chain(own.iter())
            .flat_map(|f| f.metrics.iter())
            .collect();
        metrics.sort_by(|a, b| {
            a.labels
                .len()
                .cmp(&b.labels.len())
                .then_with(|| {
                    a.labels
                        .iter()
                        .map(|(_, v)| v)
                        .cmp(b.labels.iter().map(|(_, v)| v))
                })
                .then_with(|| a.labels.cmp(&b.labels))
        });
        if !metrics.is_empty() {
            emit(&View {
                name: &name,
                help,
                kind: first.kind,
                unit: all.iter().find_map(|f| f.unit.as_deref()),
                metrics,
            });
        }
        true
    }
}

fn sanitize(labels: &mut Vec<(String, String)>, key: &GroupingKey) {
    for (k, v) in key.labels() {
        match labels.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.clone(),
            None => labels.push((k.clone(), v.clone())),
        }
    }
    if !labels.iter().any(|(n, _)| n == "instance") {
        labels.push(("instance".into(), String::new()));
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
}

/// client_golang's per-metric checks (`checkMetricConsistency`).
fn metric_valid(f: &Family, m: &Metric) -> Result<(), String> {
    if f.name.is_empty() {
        return Err("collected metric with an empty name".into());
    }
    if !m.value.fits(f.kind) {
        return Err(format!(
            "collected metric {:?} {{ {}}} is not a {}",
            f.name,
            render_metric(m),
            f.kind
        ));
    }
    for (i, (k, _)) in m.labels.iter().enumerate() {
        if k.is_empty() || k.starts_with("__") || !is_legacy_label_name(k) {
            return Err(format!(
                "collected metric {:?} {{ {}}} has a label with an invalid name: {k}",
                f.name,
                render_metric(m)
            ));
        }
        if m.labels[..i].iter().any(|(n, _)| n == k) {
            return Err(format!(
                "collected metric {:?} {{ {}}} has two or more labels with the same name: {k}",
                f.name,
                render_metric(m)
            ));
        }
    }
    let reserved = match f.kind {
        Kind::Summary => Some("quantile"),
        Kind::Histogram | Kind::GaugeHistogram => Some("le"),
        _ => None,
    };
    if let Some(r) = reserved {
        if m.labels.iter().any(|(k, _)| k == r) {
            return Err(format!(
                "collected metric {:?} {{ {}}} must not have an explicit {r:?} label",
                f.name,
                render_metric(m)
            ));
        }
    }
    Ok(())
}

/// The `i`th metric of family `name` in a group, rendered for a message: from the push if
/// it brought the family, else decoded; the push gauges are computed.
fn render_metric_of(g: &Group, pushed: &[Family], name: &str, i: usize) -> String {
    if let Some(m) = pushed
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.metrics.get(i))
    {
        return render_metric(m);
    }
    if let Some(s) = g.families.get(name) {
        if let Some(m) = s.family(name).metrics.get(i) {
            return render_metric(m);
        }
    }
    let ns = if name == PUSH_TIME {
        g.push_time_ns
    } else {
        g.failure_time_ns
    };
    render_metric(&Metric {
        labels: g.gauge_labels.clone(),
        value: Value::Gauge(ns as f64 / 1e9),
        timestamp_ms: None,
    })
}

/// A metric as the Pushgateway's messages show it (golang/protobuf's compact text form):
/// `label:<name:"job" value:"a" > gauge:<value:1 > `.
pub fn render_metric(m: &Metric) -> String {
    let mut s = String::new();
    let num = |v: f64| {
        let mut o = String::new();
        crate::expfmt::number::write_value(&mut o, v);
        o
    };
    for (k, v) in &m.labels {
        s.push_str(&format!(
            "label:<name:{} value:{} > ",
            crate::model::quote::quote(k),
            crate::model::quote::quote(v)
        ));
    }
    match &m.value {
        Value::Gauge(v) => s.push_str(&format!("gauge:<value:{} > ", num(*v))),
        Value::Counter(c) => s.push_str(&format!("counter:<value:{} > ", num(c.value))),
        Value::Untyped(v) => s.push_str(&format!("untyped:<value:{} > ", num(*v))),
        Value::Summary(sm) => s.push_str(&format!(
            "summary:<sample_count:{} sample_sum:{} > ",
            sm.count,
            num(sm.sum)
        )),
        Value::Histogram(h) => s.push_str(&format!(
            "histogram:<sample_count:{} sample_sum:{} > ",
            h.count,
            num(h.sum)
        )),
        Value::None => {}
    }
    s
}
