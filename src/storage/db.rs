//! [`Db`]: a read-only snapshot of a data dir, merging blocks, segments and tombstones.
//!
//! Opening lists the directory under the shared lock, keeps what is live (blocks replaced by
//! another are ignored, and so is segment data in the range of a block that holds it), maps the
//! block indexes and scans the segments. Selecting series intersects postings per block and
//! filters segment series by their labels; reading a series merges its chunks from every
//! source, applying precedence (the higher sequence number wins a timestamp) and tombstones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::block::{Block, ChunkMeta};
use super::dir::{Dir, Listing};
use super::meta::Tombstone;
use super::segment::Segment;
use super::{Error, Result};
use crate::model::matcher::{matches_all, Matcher};
use crate::model::{Labels, Sample};

/// A snapshot of a data dir.
pub struct Db {
    pub(crate) blocks: Vec<Block>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) tombstones: Vec<Tombstone>,
    /// Per segment: time ranges whose data a block already holds.
    pub(crate) masks: Vec<Vec<[i64; 2]>>,
    /// Blocks replaced by others (for the compactor's clean-up).
    pub(crate) dead_blocks: Vec<std::path::PathBuf>,
    pub(crate) tmp_segments: Vec<std::path::PathBuf>,
    pub(crate) tmp_blocks: Vec<std::path::PathBuf>,
}

/// Where part of a series lives.
#[derive(Clone, Debug)]
enum Part {
    Block { idx: usize, chunks: Vec<ChunkMeta> },
    Segment { idx: usize, series: usize },
}

/// A selected series: its labels and where its data is.
#[derive(Clone, Debug)]
pub struct Series {
    pub labels: Labels,
    parts: Vec<Part>,
}

/// A summary of one source for `inspect`.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub kind: &'static str,
    pub name: String,
    pub mint: i64,
    pub maxt: i64,
    pub series: u64,
    pub samples: u64,
    pub chunks: u64,
    pub bytes: u64,
    pub torn: Option<usize>,
}

impl Db {
    /// Opens a snapshot of an existing data dir.
    pub fn open(root: &Path) -> Result<Db> {
        let dir = Dir::new(root);
        dir.check_exists()?;
        let guard = dir.lock_shared()?;
        let listing = dir.list()?;
        let db = Db::from_listing(listing);
        drop(guard);
        db
    }

    pub(crate) fn from_listing(l: Listing) -> Result<Db> {
        // A block lists the blocks it replaced (whole) and the segments whose data in its
        // range it holds; such data is masked in the segment until the segment is removed.
        let replaced_blk: HashSet<u64> = l
            .blocks
            .iter()
            .flat_map(|(m, _)| m.replaces.blocks.iter().copied())
            .collect();
        let mut masks: HashMap<u64, Vec<[i64; 2]>> = HashMap::new();
        for (m, _) in &l.blocks {
            if replaced_blk.contains(&m.id) {
                continue;
            }
            for seq in &m.replaces.segments {
                masks.entry(*seq).or_default().push(m.range);
            }
        }
        let mut db = Db {
            blocks: Vec::new(),
            segments: Vec::new(),
            masks: Vec::new(),
            tombstones: l.tombstones,
            dead_blocks: Vec::new(),
            tmp_segments: l.tmp_segments,
            tmp_blocks: l.tmp_blocks,
        };
        for (m, p) in l.blocks {
            if replaced_blk.contains(&m.id) {
                db.dead_blocks.push(p);
                continue;
            }
            db.blocks.push(Block::open(&p, m)?);
        }
        for (seq, p) in l.segments {
            db.masks.push(masks.remove(&seq).unwrap_or_default());
            db.segments.push(Segment::open(seq, &p)?);
        }
        Ok(db)
    }

    /// Whether time `t` of segment `idx` is already held by a block.
    pub(crate) fn masked(&self, idx: usize, t: i64) -> bool {
        self.masks[idx].iter().any(|r| r[0] <= t && t < r[1])
    }

    pub fn tombstones(&self) -> &[Tombstone] {
        &self.tombstones
    }

    /// Series matching every matcher (all series when there are none) with data that may
    /// overlap `[mint, maxt]`, sorted by labels.
    pub fn select(&self, ms: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>> {
        let mut map: BTreeMap<Labels, Vec<Part>> = BTreeMap::new();
        for (idx, b) in self.blocks.iter().enumerate() {
            if b.meta.maxt < mint || b.meta.mint > maxt {
                continue;
            }
            for id in b.select(ms)? {
                let (labels, chunks) = b.series(id)?;
                let chunks: Vec<ChunkMeta> = chunks
                    .into_iter()
                    .filter(|c| c.maxt >= mint && c.mint <= maxt)
                    .collect();
                if !chunks.is_empty() {
                    map.entry(labels)
                        .or_default()
                        .push(Part::Block { idx, chunks });
                }
            }
        }
        for (idx, seg) in self.segments.iter().enumerate() {
            let all: Vec<u32>;
            let ids = match seg.candidates(ms) {
                Some(ids) => ids,
                None => {
                    all = (0..seg.series.len() as u32).collect();
                    &all
                }
            };
            for &si in ids {
                let (si, s) = (si as usize, &seg.series[si as usize]);
                if s.chunks.iter().any(|c| c.maxt >= mint && c.mint <= maxt)
                    && matches_all(ms, &s.labels)
                {
                    match map.get_mut(&s.labels) {
                        Some(v) => v.push(Part::Segment { idx, series: si }),
                        None => {
                            map.insert(s.labels.clone(), vec![Part::Segment { idx, series: si }]);
                        }
                    }
                }
            }
        }
        Ok(map
            .into_iter()
            .map(|(labels, parts)| Series { labels, parts })
            .collect())
    }

    /// Tombstones that delete samples of `labels` in a source holding data up to `max_seq`.
    fn deleted(&self, labels: &Labels, max_seq: u64, applied: &[u64]) -> Vec<&Tombstone> {
        self.tombstones
            .iter()
            .filter(|t| t.seq > max_seq && !applied.contains(&t.seq) && t.matches(labels))
            .collect()
    }

    /// The samples of a series in `[mint, maxt]`, sorted, one per timestamp.
    pub fn samples(&self, s: &Series, mint: i64, maxt: i64) -> Result<Vec<Sample>> {
        let mut out = Vec::new();
        self.samples_into(s, mint, maxt, &mut out)?;
        Ok(out)
    }

    /// [`Db::samples`], appending to `out` (a buffer reused across series).
    pub fn samples_into(
        &self,
        s: &Series,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        // One block (the usual case after compaction) is sorted and unique already: with no
        // tombstone to apply, its chunks decode straight into `out`, trimmed to the range.
        if let [Part::Block { idx, chunks }] = s.parts.as_slice() {
            let b = &self.blocks[*idx];
            if self
                .deleted(&s.labels, b.meta.max_seq, &b.meta.applied_tombstones)
                .is_empty()
            {
                let base = out.len();
                for c in chunks {
                    b.read_chunk(c, out)?;
                }
                let lo = base + out[base..].partition_point(|x| x.t < mint);
                let hi = base + out[base..].partition_point(|x| x.t <= maxt);
                out.truncate(hi);
                out.drain(base..lo);
                return Ok(());
            }
        }
        let single = s.parts.len() == 1 && matches!(s.parts[0], Part::Block { .. });
        let mut keyed: Vec<(i64, u64, f64)> = Vec::new();
        let mut buf = Vec::new();
        let mut take = |buf: &[Sample], prec: u64, del: &[&Tombstone], seg: Option<usize>| {
            let keep = |x: &&Sample| {
                x.t >= mint
                    && x.t <= maxt
                    && !seg.is_some_and(|i| self.masked(i, x.t))
                    && !del.iter().any(|t| t.covers(x.t))
            };
            if single {
                out.extend(buf.iter().filter(keep));
            } else {
                keyed.extend(buf.iter().filter(keep).map(|x| (x.t, prec, x.v)));
            }
        };
        for part in &s.parts {
            match part {
                Part::Block { idx, chunks } => {
                    let b = &self.blocks[*idx];
                    let del = self.deleted(&s.labels, b.meta.max_seq, &b.meta.applied_tombstones);
                    for c in chunks {
                        buf.clear();
                        b.read_chunk(c, &mut buf)?;
                        take(&buf, b.meta.max_seq << 32, &del, None);
                    }
                }
                Part::Segment { idx, series } => {
                    let seg = &self.segments[*idx];
                    let del = self.deleted(&s.labels, seg.seq, &[]);
                    for (ci, c) in seg.series[*series].chunks.iter().enumerate() {
                        if c.maxt < mint || c.mint > maxt {
                            continue;
                        }
                        buf.clear();
                        seg.read_chunk(c, &mut buf)?;
                        take(&buf, (seg.seq << 32) | ci as u64, &del, Some(*idx));
                    }
                }
            }
        }
        if single {
            return Ok(());
        }
        keyed.sort_by_key(|k| (k.0, k.1));
        for (i, k) in keyed.iter().enumerate() {
            if keyed.get(i + 1).is_some_and(|n| n.0 == k.0) {
                continue; // a later write of the same timestamp wins
            }
            out.push(Sample { t: k.0, v: k.2 });
        }
        Ok(())
    }

    /// One line per block and segment.
    pub fn sources(&self) -> Vec<SourceInfo> {
        let mut out = Vec::new();
        for b in &self.blocks {
            out.push(SourceInfo {
                kind: "block",
                name: b
                    .dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                mint: b.meta.mint,
                maxt: b.meta.maxt,
                series: b.meta.stats.series,
                samples: b.meta.stats.samples,
                chunks: b.meta.stats.chunks,
                bytes: b.index_bytes + b.chunks_bytes,
                torn: None,
            });
        }
        for s in &self.segments {
            let chunks: Vec<_> = s.series.iter().flat_map(|x| &x.chunks).collect();
            out.push(SourceInfo {
                kind: "segment",
                name: s
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                mint: chunks.iter().map(|c| c.mint).min().unwrap_or(0),
                maxt: chunks.iter().map(|c| c.maxt).max().unwrap_or(0),
                series: s.series.len() as u64,
                samples: s.samples(),
                chunks: chunks.len() as u64,
                bytes: s.size,
                torn: s.torn,
            });
        }
        out
    }

    /// Checks every checksum of every block and segment; returns the problems found.
    pub fn verify(&self) -> Vec<Error> {
        let mut problems = Vec::new();
        for b in &self.blocks {
            if let Err(e) = b.verify() {
                problems.push(e);
            }
        }
        for s in &self.segments {
            if let Some(n) = s.torn {
                problems.push(Error::Corrupt {
                    path: s.path.clone(),
                    why: format!("torn last record ({n} bytes) dropped"),
                });
            }
            let mut buf = Vec::new();
            for c in s.series.iter().flat_map(|x| &x.chunks) {
                buf.clear();
                if let Err(e) = s.read_chunk(c, &mut buf) {
                    problems.push(e);
                    break;
                }
            }
        }
        problems
    }

    /// The newest sample time of any source.
    pub fn maxt(&self) -> Option<i64> {
        let b = self.blocks.iter().map(|b| b.meta.maxt);
        let s = self.segments.iter().flat_map(|s| {
            s.series
                .iter()
                .flat_map(|x| x.chunks.iter().map(|c| c.maxt))
        });
        b.chain(s).max()
    }

    /// Total size in bytes of the files of live blocks and segments.
    pub fn bytes(&self) -> u64 {
        let b: u64 = self
            .blocks
            .iter()
            .map(|b| b.index_bytes + b.chunks_bytes)
            .sum();
        b + self.segments.iter().map(|s| s.size).sum::<u64>()
    }
}
