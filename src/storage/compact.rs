//! Compaction: segments and small blocks → blocks over aligned time ranges; tombstones and
//! retention applied.
//!
//! Block ranges are aligned to the epoch at four levels: 2 h, 12 h, 3 d and 18 d (each six of
//! the one below). With `H` the newest sample time, a range is *closed* when it ends at or
//! before `H`. Each sample belongs to the largest closed range containing it, or to its 2 h
//! range when none is closed; these *target ranges* partition time, and every existing block
//! lies inside one of them. A target range is rewritten when it has segment data, more than one
//! block, a block of a smaller range, or a tombstone that deletes some of its data; otherwise
//! its block is kept as is. Compaction is idempotent: run again, it finds nothing to do.
//!
//! Retention removes whole target ranges that end before `H − retention` (Prometheus removes
//! whole blocks the same way), then, for `retention_size`, the oldest blocks until the data dir
//! fits.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::block::BlockWriter;
use super::db::Db;
use super::dir::{self, Dir};
use super::meta::{BlockMeta, Replaces, Stats};
use super::{Error, Result};

/// Block range levels in milliseconds.
pub const LEVELS: [i64; 4] = [
    2 * 3_600_000,
    12 * 3_600_000,
    72 * 3_600_000,
    432 * 3_600_000,
];

#[derive(Clone, Debug, Default)]
pub struct CompactOptions {
    /// Remove data older than this much before the newest sample (ms).
    pub retention: Option<i64>,
    /// Remove the oldest blocks until the data dir's blocks and segments fit in this many bytes.
    pub retention_size: Option<u64>,
}

/// One written block.
#[derive(Clone, Debug)]
pub struct Written {
    pub name: String,
    pub range: [i64; 2],
    pub stats: Stats,
}

#[derive(Clone, Debug, Default)]
pub struct CompactReport {
    pub segments_absorbed: usize,
    pub blocks_written: Vec<Written>,
    pub blocks_replaced: usize,
    pub blocks_expired: usize,
    pub tombstones_applied: usize,
    pub leftovers_removed: usize,
}

fn aligned(t: i64, r: i64) -> [i64; 2] {
    let s = t.div_euclid(r) * r;
    [s, s + r]
}

/// The target range of time `t` given the newest sample time `h`.
fn target(t: i64, h: i64) -> [i64; 2] {
    for &r in LEVELS.iter().rev() {
        let a = aligned(t, r);
        if a[1] <= h {
            return a;
        }
    }
    aligned(t, LEVELS[0])
}

/// Runs one compaction of the data dir at `root`.
pub fn compact(root: &Path, opts: &CompactOptions) -> Result<CompactReport> {
    let d = Dir::new(root);
    d.check_exists()?;
    let _compacting = d.lock_compaction()?;
    let mut report = CompactReport::default();

    let db = {
        let _g = d.lock_shared()?;
        let l = d.list()?;
        Db::from_listing(l)?
    };
    report.leftovers_removed = clean_up(&d, &db)?;

    let Some(h) = db.maxt() else {
        return Ok(report);
    };
    let cutoff = opts.retention.map(|r| h.saturating_sub(r));

    // Target ranges and what they hold.
    #[derive(Default)]
    struct Plan {
        blocks: Vec<usize>,
        segment_data: bool,
    }
    let mut plans: BTreeMap<[i64; 2], Plan> = BTreeMap::new();
    for (i, b) in db.blocks.iter().enumerate() {
        plans
            .entry(target(b.meta.range[0], h))
            .or_default()
            .blocks
            .push(i);
    }
    for (si, seg) in db.segments.iter().enumerate() {
        for c in seg.series.iter().flat_map(|s| &s.chunks) {
            let mut r = target(c.mint, h);
            loop {
                let covered = db.masks[si].iter().any(|m| m[0] <= r[0] && r[1] <= m[1]);
                if !covered {
                    plans.entry(r).or_default().segment_data = true;
                }
                if r[1] > c.maxt {
                    break;
                }
                r = target(r[1], h);
            }
        }
    }

    let mut rewrite: Vec<[i64; 2]> = Vec::new();
    let mut expire: Vec<usize> = Vec::new();
    for (range, p) in &plans {
        if cutoff.is_some_and(|c| range[1] <= c) {
            expire.extend(&p.blocks);
            continue;
        }
        let dirty = p.segment_data
            || p.blocks.len() > 1
            || p.blocks.iter().any(|&i| db.blocks[i].meta.range != *range)
            || p.blocks.iter().any(|&i| tombstoned(&db, i).unwrap_or(true));
        if dirty {
            rewrite.push(*range);
        }
    }

    // Write the new blocks under temporary names.
    let mut outputs: Vec<(PathBuf, BlockMeta)> = Vec::new();
    let mut replaced_blocks: Vec<usize> = Vec::new();
    for range in &rewrite {
        let p = &plans[range];
        replaced_blocks.extend(&p.blocks);
        let tmp = d.blocks().join(dir::tmp_name(""));
        let res = write_range(&db, &tmp, *range);
        match res {
            Ok(Some(meta)) => outputs.push((tmp, meta)),
            Ok(None) => {
                let _ = fs::remove_dir_all(&tmp);
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                for (p, _) in &outputs {
                    let _ = fs::remove_dir_all(p);
                }
                return Err(e);
            }
        }
    }
    let input_max_seq = replaced_blocks
        .iter()
        .map(|&i| db.blocks[i].meta.max_seq)
        .chain(db.segments.iter().map(|s| s.seq))
        .max()
        .unwrap_or(0);

    // Publish each block (each stands alone: it replaces whole blocks, and segment data in
    // its own range only), then remove what they replace.
    {
        let _g = d.lock_exclusive()?;
        let first = d.list()?.max_seq() + 1;
        let applied: Vec<u64> = db.tombstones.iter().map(|t| t.seq).collect();
        for (i, (tmp, meta)) in outputs.iter_mut().enumerate() {
            meta.version = 1;
            meta.id = first + i as u64;
            meta.max_seq = input_max_seq;
            meta.replaces = Replaces {
                segments: db.segments.iter().map(|s| s.seq).collect(),
                blocks: plans[&meta.range]
                    .blocks
                    .iter()
                    .map(|&i| db.blocks[i].meta.id)
                    .collect(),
            };
            meta.applied_tombstones = applied.clone();
            let json = serde_json::to_vec_pretty(meta).expect("serializable");
            d.write_atomic(tmp, "meta.json", &json)?;
            let name = format!("b-{}", dir::seq_name(meta.id));
            let dst = d.blocks().join(&name);
            fs::rename(&*tmp, &dst).map_err(|e| Error::io(&dst, e))?;
            report.blocks_written.push(Written {
                name,
                range: meta.range,
                stats: meta.stats.clone(),
            });
        }
        dir::sync_dir(&d.blocks())?;
        for s in &db.segments {
            remove_file(&s.path)?;
        }
        report.segments_absorbed = db.segments.len();
        for &i in replaced_blocks.iter().chain(&expire) {
            remove_dir(&db.blocks[i].dir)?;
        }
        report.blocks_replaced = replaced_blocks.len();
        report.blocks_expired = expire.len();
        // Every tombstone of the snapshot is now applied to all data it covers.
        for t in &db.tombstones {
            remove_file(
                &d.tombstones()
                    .join(format!("{}.json", dir::seq_name(t.seq))),
            )?;
        }
        report.tombstones_applied = db.tombstones.len();
        dir::sync_dir(&d.wal())?;
        dir::sync_dir(&d.blocks())?;
        dir::sync_dir(&d.tombstones())?;
    }

    if let Some(limit) = opts.retention_size {
        let _g = d.lock_exclusive()?;
        let now = Db::from_listing(d.list()?)?;
        let mut total = now.bytes();
        let mut blocks: Vec<_> = now.blocks.iter().collect();
        blocks.sort_by_key(|b| b.meta.range[0]);
        for b in blocks {
            if total <= limit {
                break;
            }
            total -= b.index_bytes + b.chunks_bytes;
            remove_dir(&b.dir)?;
            report.blocks_expired += 1;
        }
        dir::sync_dir(&d.blocks())?;
    }
    Ok(report)
}

/// Whether a tombstone deletes data of block `i`.
fn tombstoned(db: &Db, i: usize) -> Result<bool> {
    let b = &db.blocks[i];
    for t in &db.tombstones {
        if t.seq <= b.meta.max_seq
            || b.meta.applied_tombstones.contains(&t.seq)
            || t.maxt < b.meta.mint
            || t.mint > b.meta.maxt
        {
            continue;
        }
        for ms in &t.selectors {
            for id in b.select(ms)? {
                let (_, chunks) = b.series(id)?;
                if chunks.iter().any(|c| c.maxt >= t.mint && c.mint <= t.maxt) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Writes all data of `range` into a block at `tmp`; `None` when the range holds no samples.
fn write_range(db: &Db, tmp: &Path, range: [i64; 2]) -> Result<Option<BlockMeta>> {
    let (mint, maxt) = (range[0], range[1] - 1);
    let series = db.select(&[], mint, maxt)?;
    let mut w = BlockWriter::create(tmp)?;
    for batch in series.chunks(2048) {
        let samples: Vec<_> = batch
            .par_iter()
            .map(|s| db.samples(s, mint, maxt))
            .collect::<Result<_>>()?;
        for (s, xs) in batch.iter().zip(samples) {
            if !xs.is_empty() {
                w.add_series(&s.labels, &xs)?;
            }
        }
    }
    if w.is_empty() {
        return Ok(None);
    }
    let mut meta = BlockMeta {
        range,
        ..BlockMeta::default()
    };
    w.finish(&mut meta)?;
    Ok(Some(meta))
}

/// Removes what killed processes left: temp files of dead writers, temp blocks, and blocks
/// replaced by others.
fn clean_up(d: &Dir, db: &Db) -> Result<usize> {
    let _g = d.lock_exclusive()?;
    let mut n = 0;
    for p in &db.tmp_segments {
        if dir::is_abandoned(p) {
            remove_file(p)?;
            n += 1;
        }
    }
    // We hold compact.lock: no other compactor is writing temp blocks.
    for p in db.tmp_blocks.iter().chain(&db.dead_blocks) {
        remove_dir(p)?;
        n += 1;
    }
    if n > 0 {
        dir::sync_dir(&d.wal())?;
        dir::sync_dir(&d.blocks())?;
    }
    Ok(n)
}

fn remove_file(p: &Path) -> Result<()> {
    match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// Removes a directory: first renamed to a temporary name, so it is never seen half-removed.
fn remove_dir(p: &Path) -> Result<()> {
    let p = &if p
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("tmp-"))
    {
        p.to_path_buf()
    } else {
        let tmp = p.with_file_name(dir::tmp_name(""));
        match fs::rename(p, &tmp) {
            Ok(()) => tmp,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(p, e)),
        }
    };
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_partition_time() {
        let h = 100 * 3_600_000 + 5;
        assert_eq!(target(h, h), [100 * 3_600_000, 102 * 3_600_000]);
        assert_eq!(target(97 * 3_600_000, h), [96 * 3_600_000, 98 * 3_600_000]);
        assert_eq!(target(50 * 3_600_000, h), [0, 72 * 3_600_000]);
        assert_eq!(target(-1, h), [-432 * 3_600_000, 0]);
        // Every time maps into its own target.
        for t in (-500..500).map(|i| i * 1_800_000 + 7) {
            let r = target(t, h);
            assert!(r[0] <= t && t < r[1]);
            assert_eq!(target(r[0], h), r);
        }
    }
}
