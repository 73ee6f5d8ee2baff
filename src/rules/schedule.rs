//! When groups are evaluated: Prometheus's evaluation grid, and which of its slots one cron
//! round evaluates.
//!
//! Prometheus spreads groups over their interval: a group's evaluations fall at
//! `offset + k × interval` (nanoseconds since the epoch), where `offset` is the hash of the
//! labels `{file="<file>", name="<group>"}` modulo the interval. A cron round finds, for each
//! group, the slots of that grid that came due since its last evaluation (every missed one,
//! up to the catch-up window) and evaluates them in order, so a group runs at the same
//! timestamps as it would in Prometheus, whatever the cron's own period.
//!
//! ```text
//!  grid:   ──┼─────────┼─────────┼─────────┼─────────┼──▶ time
//!           s₀        s₁        s₂        s₃        s₄
//!  state:   last = s₁                            now ┘
//!  round:   evaluates s₂, s₃ (s₄ is not due yet)
//! ```
//!
//! Everything here is pure arithmetic; the round ([`super::round`]) supplies the clock.

use crate::model::hash::stable_hash;

const NS_PER_MS: i64 = 1_000_000;

/// The group's offset on its grid, as Prometheus computes it (`Group.hash() % interval`):
/// XXH64 of the label set `{file, name}` in Prometheus's encoding.
pub fn offset_ns(file: &str, group: &str, interval_ns: i64) -> i64 {
    let mut b = Vec::with_capacity(file.len() + group.len() + 12);
    for (n, v) in [("file", file), ("name", group)] {
        b.extend_from_slice(n.as_bytes());
        b.push(0xff);
        b.extend_from_slice(v.as_bytes());
        b.push(0xff);
    }
    if interval_ns <= 0 {
        return 0;
    }
    (stable_hash(&b) % interval_ns as u64) as i64
}

/// The latest slot of the grid at or before `now_ns` (Prometheus's `EvalTimestamp`).
pub fn latest_slot(now_ns: i64, interval_ns: i64, offset_ns: i64) -> i64 {
    let adj = now_ns - offset_ns;
    adj - adj.rem_euclid(interval_ns) + offset_ns
}

/// A slot's evaluation timestamp in milliseconds (Go's `timestamp.FromTime`).
pub fn slot_ms(slot_ns: i64) -> i64 {
    slot_ns.div_euclid(NS_PER_MS)
}

/// The slots one round evaluates for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// In order, each in nanoseconds.
    pub slots: Vec<i64>,
    /// Slots that came due but fall outside the catch-up window (not evaluated).
    pub skipped: u64,
    /// The group starts afresh: no earlier evaluation, or slots were skipped. Its alert
    /// state is restored from `ALERTS_FOR_STATE` as after a Prometheus restart.
    pub fresh: bool,
}

/// The slots due at `now_ns` for a group last evaluated at `last_ns` (none: never). A group
/// never evaluated runs its latest slot only; one whose missed slots span more than
/// `max_catch_up_ns` runs those inside the window only.
pub fn due(
    last_ns: Option<i64>,
    now_ns: i64,
    interval_ns: i64,
    offset_ns: i64,
    max_catch_up_ns: i64,
) -> Due {
    let latest = latest_slot(now_ns, interval_ns, offset_ns);
    let Some(last) = last_ns else {
        return Due {
            slots: vec![latest],
            skipped: 0,
            fresh: true,
        };
    };
    if latest <= last {
        return Due {
            slots: Vec::new(),
            skipped: 0,
            fresh: false,
        };
    }
    // The first grid slot after `last` (the grid may have moved: a changed interval).
    let first = latest - (latest - last - 1) / interval_ns * interval_ns;
    let total = (latest - first) / interval_ns + 1;
    let window = (max_catch_up_ns / interval_ns).max(0) + 1;
    let take = total.min(window);
    let start = latest - (take - 1) * interval_ns;
    Due {
        slots: (0..take).map(|k| start + k * interval_ns).collect(),
        skipped: (total - take) as u64,
        fresh: total > take,
    }
}

/// The slots of a backfill over `[start_ms, end_ms]`: `start`, `start + interval`, … as
/// promtool's `create-blocks-from rules` steps.
pub fn range_slots(start_ms: i64, end_ms: i64, interval_ms: i64) -> impl Iterator<Item = i64> {
    let n = if end_ms < start_ms || interval_ms <= 0 {
        0
    } else {
        (end_ms - start_ms) / interval_ms + 1
    };
    (0..n).map(move |k| start_ms + k * interval_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000 * NS_PER_MS;

    #[test]
    fn slots_fall_on_the_group_grid() {
        let off = offset_ns("rules.yml", "g", MIN);
        assert!((0..MIN).contains(&off));
        let now = 1_700_000_000_000 * NS_PER_MS + 12_345;
        let s = latest_slot(now, MIN, off);
        assert!(s <= now && now - s < MIN);
        assert_eq!((s - off).rem_euclid(MIN), 0);
        // The same grid from any point inside the interval.
        assert_eq!(latest_slot(s, MIN, off), s);
        assert_eq!(latest_slot(s + MIN - 1, MIN, off), s);
        assert_eq!(latest_slot(s - 1, MIN, off), s - MIN);
    }

    #[test]
    fn a_slow_cron_catches_up_and_a_fast_one_waits() {
        let off = 7 * NS_PER_MS;
        let last = latest_slot(100 * MIN, 5 * MIN, off);
        // A 1 m cron: nothing due until the next 5 m slot.
        for m in 1..5 {
            let d = due(Some(last), last + m * MIN, 5 * MIN, off, 60 * MIN);
            assert!(d.slots.is_empty(), "{m}");
        }
        let d = due(Some(last), last + 5 * MIN, 5 * MIN, off, 60 * MIN);
        assert_eq!(d.slots, vec![last + 5 * MIN]);
        // Down 22 minutes: the four missed slots, in order.
        let d = due(Some(last), last + 22 * MIN, 5 * MIN, off, 60 * MIN);
        assert_eq!(
            d.slots,
            (1..=4).map(|k| last + k * 5 * MIN).collect::<Vec<_>>()
        );
        assert!(!d.fresh);
        // Down 3 hours with a 1 h window: the last 13 slots, the rest skipped.
        let d = due(Some(last), last + 180 * MIN, 5 * MIN, off, 60 * MIN);
        assert_eq!(d.slots.len(), 13);
        assert_eq!(d.skipped, 36 - 13);
        assert_eq!(*d.slots.last().unwrap(), last + 180 * MIN);
        assert!(d.fresh);
        // Never evaluated: the latest slot only.
        let d = due(None, last + 30, 5 * MIN, off, 60 * MIN);
        assert_eq!(d.slots, vec![last]);
        assert!(d.fresh);
    }

    #[test]
    fn a_changed_interval_continues_on_the_new_grid() {
        let last = 1_000 * MIN + 3;
        let d = due(Some(last), last + 3 * MIN, 2 * MIN, 0, 60 * MIN);
        assert!(d.slots.iter().all(|s| *s > last && s % (2 * MIN) == 0));
        assert_eq!(d.slots.len(), 1);
    }

    #[test]
    fn range_slots_include_both_ends() {
        assert_eq!(range_slots(0, 180_000, 60_000).collect::<Vec<_>>().len(), 4);
        assert_eq!(range_slots(10, 5, 60_000).count(), 0);
    }
}
