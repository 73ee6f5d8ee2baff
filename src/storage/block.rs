//! Blocks: immutable, time-ranged, compressed series data (`blocks/b-<id>/`).
//!
//! A block holds every series with samples in its time range, sorted by labels. Files:
//! `meta.json` (see [`super::meta`]), `chunks` and `index`. Both are memory-mapped by readers.
//!
//! ```text
//! chunks   ┌─────────────────────────────────┬─────────┬─────────┬───
//!          │ "PBXC" │ version=1 │ 0 0 0      │ frame   │ frame   │ …
//!          └─────────────────────────────────┴─────────┴─────────┴───
//! frame    ┌──────────────┬─────────────────┬──────────────────────┬──────────┬───────────────┐
//!          │ raw len u32  │ stored len u32  │ CRC-32C of stored u32│ codec u8 │ stored bytes  │
//!          └──────────────┴─────────────────┴──────────────────────┴──────────┴───────────────┘
//!          codec 0: stored = raw; codec 1: stored = zstd(raw). The raw bytes are timestamp and
//!          value columns (chunk.rs) back to back. A column's reference is
//!          (frame's file offset << 24) | offset within the raw frame.
//!
//! index    ┌──────────────────────┬─────────┬────────┬────────────────┬──────────┬──────────┬─────┐
//!          │ "PBXI" │ 1 │ 0 0 0   │ symbols │ series │ series offsets │ postings │ postings │ TOC │
//!          │                      │         │        │                │ table    │ data     │     │
//!          └──────────────────────┴─────────┴────────┴────────────────┴──────────┴──────────┴─────┘
//! symbols          count u32 │ count × offset u32 (from section start) │ strings: len uvarint, bytes
//!                  (every label name and value once, sorted: symbol order is string order)
//! series           per series, in label order:
//!                  nlabels uvarint │ nlabels × (name sym uvarint, value sym uvarint) │
//!                  nchunks uvarint │ nchunks × (mint varint — the first absolute, later ones
//!                  relative to the previous maxt — │ maxt−mint uvarint │ samples uvarint │
//!                  timestamp column ref uvarint │ value column ref uvarint)
//! series offsets   nseries × u64 (from the series section start); a series id is its position
//! postings table   count u32 │ count × (name sym u32, value sym u32, offset u64, len u32),
//!                  sorted by (name, value)
//! postings data    per entry: series ids, delta-coded uvarints
//! TOC              5 × (offset u64, length u64, CRC-32C u32) │ nseries u64 │ "PBXT" │ CRC-32C u32
//! ```
//!
//! Chunks are cut at aligned 2 h windows and at 1,200 samples, so series scraped together get
//! identical timestamp columns, and the writer stores each distinct column once per block: the
//! timestamps of a whole scrape cost about as much as one series'.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;

use super::chunk::{self, put_uvarint, put_varint, Cursor};
use super::meta::{BlockMeta, Stats};
use super::{Corruption, Error, Result};
use crate::model::matcher::Matcher;
use crate::model::{Label, Labels, Sample};
use crc32c::crc32c;

/// Chunks never span an aligned window of this size.
pub const CHUNK_WINDOW: i64 = 2 * 3_600_000;
/// Nor hold more samples than this.
pub const CHUNK_MAX: usize = 1200;
const FRAME_TARGET: usize = 256 << 10;
const FRAME_HEADER: usize = 13;
const INNER_BITS: u32 = 24;
const ZSTD_LEVEL: i32 = 3;
/// Decoded timestamp columns kept per block (each at most [`CHUNK_MAX`] timestamps).
const TS_CACHE: usize = 2048;

/// One chunk of a series as the index describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    pub mint: i64,
    pub maxt: i64,
    pub samples: u32,
    pub ts_ref: u64,
    pub val_ref: u64,
}

/// Writes a block into a directory. Series must come in label order.
pub struct BlockWriter {
    dir: PathBuf,
    chunks: BufWriter<File>,
    chunks_path: PathBuf,
    file_off: u64,
    frame: Vec<u8>,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    columns: HashMap<Vec<u8>, u64>,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    col: Vec<u8>,
    ts: Vec<i64>,
    vs: Vec<f64>,
    pub stats: Stats,
    pub mint: i64,
    pub maxt: i64,
}

impl BlockWriter {
    pub fn create(dir: &Path) -> Result<BlockWriter> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let chunks_path = dir.join("chunks");
        let f = File::create(&chunks_path).map_err(|e| Error::io(&chunks_path, e))?;
        let mut chunks = BufWriter::with_capacity(1 << 20, f);
        chunks
            .write_all(b"PBXC\x01\0\0\0")
            .map_err(|e| Error::io(&chunks_path, e))?;
        let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        Ok(BlockWriter {
            dir: dir.into(),
            chunks,
            chunks_path,
            file_off: 8,
            frame: Vec::with_capacity(FRAME_TARGET * 2),
            zstd,
            columns: HashMap::new(),
            series: Vec::new(),
            col: Vec::new(),
            ts: Vec::new(),
            vs: Vec::new(),
            stats: Stats::default(),
            mint: i64::MAX,
            maxt: i64::MIN,
        })
    }

    fn column_ref(&self) -> u64 {
        (self.file_off << INNER_BITS) | self.frame.len() as u64
    }

    /// Adds a series with its samples (sorted by time, timestamps unique, non-empty).
    pub fn add_series(&mut self, labels: &Labels, samples: &[Sample]) -> Result<()> {
        debug_assert!(samples.windows(2).all(|w| w[0].t < w[1].t));
        if samples.is_empty() {
            return Ok(());
        }
        debug_assert!(self.series.last().is_none_or(|(l, _)| l < labels));
        let mut metas = Vec::new();
        let mut i = 0;
        while i < samples.len() {
            let w = samples[i].t.div_euclid(CHUNK_WINDOW);
            let mut j = i + 1;
            while j < samples.len()
                && j - i < CHUNK_MAX
                && samples[j].t.div_euclid(CHUNK_WINDOW) == w
            {
                j += 1;
            }
            metas.push(self.add_chunk(&samples[i..j])?);
            i = j;
        }
        self.stats.series += 1;
        self.stats.samples += samples.len() as u64;
        self.mint = self.mint.min(samples[0].t);
        self.maxt = self.maxt.max(samples[samples.len() - 1].t);
        self.series.push((labels.clone(), metas));
        Ok(())
    }

    fn add_chunk(&mut self, s: &[Sample]) -> Result<ChunkMeta> {
        self.ts.clear();
        self.vs.clear();
        self.ts.extend(s.iter().map(|s| s.t));
        self.vs.extend(s.iter().map(|s| s.v));
        self.col.clear();
        chunk::encode_timestamps(&self.ts, &mut self.col);
        let ts_ref = match self.columns.get(&self.col) {
            Some(&r) => r,
            None => {
                let r = self.column_ref();
                self.frame.extend_from_slice(&self.col);
                self.columns.insert(self.col.clone(), r);
                self.stats.columns += 1;
                r
            }
        };
        let val_ref = self.column_ref();
        chunk::encode_values(&self.vs, &mut self.frame);
        self.stats.chunks += 1;
        if self.frame.len() >= FRAME_TARGET {
            self.flush_frame()?;
        }
        Ok(ChunkMeta {
            mint: s[0].t,
            maxt: s[s.len() - 1].t,
            samples: s.len() as u32,
            ts_ref,
            val_ref,
        })
    }

    fn flush_frame(&mut self) -> Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        let compressed = self
            .zstd
            .as_mut()
            .and_then(|z| z.compress(&self.frame).ok())
            .filter(|c| c.len() < self.frame.len() - self.frame.len() / 16);
        let (codec, stored): (u8, &[u8]) = match &compressed {
            Some(c) => (1, c),
            None => (0, &self.frame),
        };
        let mut head = [0u8; FRAME_HEADER];
        head[..4].copy_from_slice(&(self.frame.len() as u32).to_le_bytes());
        head[4..8].copy_from_slice(&(stored.len() as u32).to_le_bytes());
        head[8..12].copy_from_slice(&crc32c(stored).to_le_bytes());
        head[12] = codec;
        let p = &self.chunks_path;
        self.chunks
            .write_all(&head)
            .and_then(|_| self.chunks.write_all(stored))
            .map_err(|e| Error::io(p, e))?;
        self.file_off += (FRAME_HEADER + stored.len()) as u64;
        self.frame.clear();
        Ok(())
    }

    /// Writes the index and meta.json, fsyncs everything. `meta` gets the stats and times.
    pub fn finish(mut self, meta: &mut BlockMeta) -> Result<()> {
        self.flush_frame()?;
        let file = self
            .chunks
            .into_inner()
            .map_err(|e| Error::io(&self.chunks_path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io(&self.chunks_path, e))?;
        let index = build_index(&self.series);
        let ip = self.dir.join("index");
        write_synced(&ip, &index)?;
        meta.stats = self.stats.clone();
        meta.mint = self.mint;
        meta.maxt = self.maxt;
        let json = serde_json::to_vec_pretty(meta).expect("serializable");
        write_synced(&self.dir.join("meta.json"), &json)?;
        super::dir::sync_dir(&self.dir)
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

fn write_synced(p: &Path, data: &[u8]) -> Result<()> {
    let mut f = File::create(p).map_err(|e| Error::io(p, e))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(p, e))
}

fn build_index(series: &[(Labels, Vec<ChunkMeta>)]) -> Vec<u8> {
    let mut syms: BTreeSet<&str> = BTreeSet::new();
    for (l, _) in series {
        for lab in l {
            syms.insert(&lab.name);
            syms.insert(&lab.value);
        }
    }
    let syms: Vec<&str> = syms.into_iter().collect();
    let sym_id: HashMap<&str, u32> = syms
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();

    let mut out = b"PBXI\x01\0\0\0".to_vec();
    let mut toc: Vec<(u64, u64, u32)> = Vec::new();
    let mut section = |out: &mut Vec<u8>, body: Vec<u8>| {
        toc.push((out.len() as u64, body.len() as u64, crc32c(&body)));
        out.extend_from_slice(&body);
    };

    // Symbols.
    let mut strings = Vec::new();
    let mut offs = Vec::with_capacity(syms.len());
    for s in &syms {
        offs.push(strings.len() as u32);
        put_uvarint(&mut strings, s.len() as u64);
        strings.extend_from_slice(s.as_bytes());
    }
    let head = 4 + 4 * syms.len() as u32;
    let mut body = Vec::with_capacity(head as usize + strings.len());
    body.extend_from_slice(&(syms.len() as u32).to_le_bytes());
    for o in offs {
        body.extend_from_slice(&(o + head).to_le_bytes());
    }
    body.extend_from_slice(&strings);
    section(&mut out, body);

    // Series and postings.
    let mut body = Vec::new();
    let mut soffs = Vec::with_capacity(series.len() * 8);
    let mut postings: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for (id, (labels, metas)) in series.iter().enumerate() {
        soffs.extend_from_slice(&(body.len() as u64).to_le_bytes());
        put_uvarint(&mut body, labels.len() as u64);
        for l in labels {
            let (n, v) = (sym_id[l.name.as_str()], sym_id[l.value.as_str()]);
            put_uvarint(&mut body, n as u64);
            put_uvarint(&mut body, v as u64);
            postings.entry((n, v)).or_default().push(id as u32);
        }
        put_uvarint(&mut body, metas.len() as u64);
        let mut prev_maxt = 0i64;
        for (i, m) in metas.iter().enumerate() {
            put_varint(
                &mut body,
                if i == 0 {
                    m.mint
                } else {
                    m.mint.wrapping_sub(prev_maxt)
                },
            );
            put_uvarint(&mut body, m.maxt.wrapping_sub(m.mint) as u64);
            put_uvarint(&mut body, m.samples as u64);
            put_uvarint(&mut body, m.ts_ref);
            put_uvarint(&mut body, m.val_ref);
            prev_maxt = m.maxt;
        }
    }
    section(&mut out, body);
    section(&mut out, soffs);

    let mut keys: Vec<(u32, u32)> = postings.keys().copied().collect();
    keys.sort_unstable();
    let mut table = Vec::with_capacity(4 + keys.len() * 20);
    table.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    let mut data = Vec::new();
    for k in &keys {
        let ids = &postings[k];
        let off = data.len() as u64;
        let mut prev = 0u32;
        for (i, &id) in ids.iter().enumerate() {
            put_uvarint(&mut data, if i == 0 { id } else { id - prev } as u64);
            prev = id;
        }
        table.extend_from_slice(&k.0.to_le_bytes());
        table.extend_from_slice(&k.1.to_le_bytes());
        table.extend_from_slice(&off.to_le_bytes());
        table.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    }
    section(&mut out, table);
    section(&mut out, data);

    let mut t = Vec::new();
    for (o, l, c) in &toc {
        t.extend_from_slice(&o.to_le_bytes());
        t.extend_from_slice(&l.to_le_bytes());
        t.extend_from_slice(&c.to_le_bytes());
    }
    t.extend_from_slice(&(series.len() as u64).to_le_bytes());
    t.extend_from_slice(b"PBXT");
    let c = crc32c(&t);
    t.extend_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&t);
    out
}

const TOC_LEN: usize = 5 * 20 + 8 + 4 + 4;

/// A published block, memory-mapped.
pub struct Block {
    pub meta: BlockMeta,
    pub dir: PathBuf,
    index: Mmap,
    chunks: Option<Mmap>,
    sections: [(usize, usize); 5],
    nseries: usize,
    nsyms: usize,
    cache: Mutex<Vec<(u64, Arc<Vec<u8>>)>>,
    /// Decoded timestamp columns by reference: one column serves every series of a scrape.
    ts_cache: Mutex<HashMap<u64, Arc<Vec<i64>>>>,
    pub index_bytes: u64,
    pub chunks_bytes: u64,
}

impl Block {
    /// Opens a block, checking every index section's checksum.
    pub fn open(dir: &Path, meta: BlockMeta) -> Result<Block> {
        let ip = dir.join("index");
        let cp = dir.join("chunks");
        let map = |p: &Path| -> Result<Option<Mmap>> {
            let f = File::open(p).map_err(|e| Error::io(p, e))?;
            if f.metadata().map_err(|e| Error::io(p, e))?.len() == 0 {
                return Ok(None);
            }
            // SAFETY: block files are immutable once published; they are only unlinked.
            Ok(Some(unsafe { Mmap::map(&f) }.map_err(|e| Error::io(p, e))?))
        };
        let index = map(&ip)?.ok_or_else(|| Error::corrupt(&ip, Corruption::new("empty index")))?;
        let chunks = map(&cp)?;
        let bad = |why: &str| Error::corrupt(&ip, Corruption::new(why));
        if index.len() < 8 + TOC_LEN || &index[..4] != b"PBXI" || index[4] != 1 {
            return Err(bad("not an index (bad header)"));
        }
        let toc = &index[index.len() - TOC_LEN..];
        if &toc[TOC_LEN - 8..TOC_LEN - 4] != b"PBXT"
            || crc32c(&toc[..TOC_LEN - 4])
                != u32::from_le_bytes(toc[TOC_LEN - 4..].try_into().expect("4"))
        {
            return Err(bad("table of contents checksum mismatch"));
        }
        let mut sections = [(0usize, 0usize); 5];
        let names = [
            "symbols",
            "series",
            "series offsets",
            "postings table",
            "postings",
        ];
        for (i, s) in sections.iter_mut().enumerate() {
            let e = &toc[i * 20..i * 20 + 20];
            let off = u64::from_le_bytes(e[..8].try_into().expect("8")) as usize;
            let len = u64::from_le_bytes(e[8..16].try_into().expect("8")) as usize;
            let crc = u32::from_le_bytes(e[16..20].try_into().expect("4"));
            let body = off
                .checked_add(len)
                .and_then(|end| index.get(off..end))
                .ok_or_else(|| bad("section out of bounds"))?;
            if crc32c(body) != crc {
                return Err(bad(&format!("{} section checksum mismatch", names[i])));
            }
            *s = (off, len);
        }
        let nseries = u64::from_le_bytes(toc[100..108].try_into().expect("8")) as usize;
        let sym = &index[sections[0].0..sections[0].0 + sections[0].1];
        let nsyms = if sym.len() >= 4 {
            u32::from_le_bytes(sym[..4].try_into().expect("4")) as usize
        } else {
            return Err(bad("symbol section too short"));
        };
        if sections[2].1 != nseries * 8
            || sym.len() < 4 + 4 * nsyms
            || sections[3].1 < 4
            || (sections[3].1 - 4) % 20 != 0
        {
            return Err(bad("inconsistent section sizes"));
        }
        if let Some(c) = &chunks {
            if c.len() < 8 || &c[..5] != b"PBXC\x01" {
                return Err(Error::corrupt(&cp, Corruption::new("not a chunks file")));
            }
        }
        let index_bytes = index.len() as u64;
        let chunks_bytes = chunks.as_ref().map_or(0, |c| c.len() as u64);
        Ok(Block {
            meta,
            dir: dir.into(),
            index,
            chunks,
            sections,
            nseries,
            nsyms,
            cache: Mutex::new(Vec::new()),
            ts_cache: Mutex::new(HashMap::new()),
            index_bytes,
            chunks_bytes,
        })
    }

    fn section(&self, i: usize) -> &[u8] {
        let (o, l) = self.sections[i];
        &self.index[o..o + l]
    }

    fn ip(&self) -> PathBuf {
        self.dir.join("index")
    }

    fn bad(&self, why: &str) -> Error {
        Error::corrupt(self.ip(), Corruption::new(why))
    }

    fn symbol(&self, id: u32) -> Result<&str> {
        let s = self.section(0);
        if id as usize >= self.nsyms {
            return Err(self.bad("symbol id out of range"));
        }
        let p = 4 + 4 * id as usize;
        let off = u32::from_le_bytes(s[p..p + 4].try_into().expect("4")) as usize;
        let mut c = Cursor::new(s);
        c.pos = off;
        c.str().map_err(|e| Error::corrupt(self.ip(), e))
    }

    fn find_symbol(&self, name: &str) -> Result<Option<u32>> {
        let (mut lo, mut hi) = (0u32, self.nsyms as u32);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.symbol(mid)?.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid)),
            }
        }
        Ok(None)
    }

    fn postings_entry(&self, i: usize) -> (u32, u32, u64, u32) {
        let t = self.section(3);
        let e = &t[4 + i * 20..4 + i * 20 + 20];
        (
            u32::from_le_bytes(e[..4].try_into().expect("4")),
            u32::from_le_bytes(e[4..8].try_into().expect("4")),
            u64::from_le_bytes(e[8..16].try_into().expect("8")),
            u32::from_le_bytes(e[16..20].try_into().expect("4")),
        )
    }

    fn npostings(&self) -> usize {
        (self.section(3).len() - 4) / 20
    }

    fn postings(&self, off: u64, n: u32, out: &mut Vec<u32>) -> Result<()> {
        let d = self.section(4);
        let mut c = Cursor::new(d);
        c.pos = off as usize;
        let mut prev = 0u64;
        for i in 0..n {
            let x = c.uvarint().map_err(|e| Error::corrupt(self.ip(), e))?;
            prev = if i == 0 { x } else { prev + x };
            if prev >= self.nseries as u64 {
                return Err(self.bad("posting out of range"));
            }
            out.push(prev as u32);
        }
        Ok(())
    }

    /// Series ids matching one matcher's positive side: the union of postings of the values of
    /// `m.name` for which `keep(value)` holds.
    fn union_for(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Result<Vec<u32>> {
        let Some(nid) = self.find_symbol(name)? else {
            return Ok(Vec::new());
        };
        let n = self.npostings();
        let start = partition_point(n, |i| self.postings_entry(i).0 < nid);
        let mut out = Vec::new();
        let mut lists = 0;
        for i in start..n {
            let (ln, lv, off, cnt) = self.postings_entry(i);
            if ln != nid {
                break;
            }
            if keep(self.symbol(lv)?) {
                self.postings(off, cnt, &mut out)?;
                lists += 1;
            }
        }
        if lists > 1 {
            out.sort_unstable();
            out.dedup();
        }
        Ok(out)
    }

    /// Ids of the series matching all matchers (all series when there are none).
    pub fn select(&self, ms: &[Matcher]) -> Result<Vec<u32>> {
        let mut incl: Option<Vec<u32>> = None;
        let mut excl: Vec<u32> = Vec::new();
        for m in ms {
            if m.matches_empty() {
                let mut x = self.union_for(&m.name, &|v| !m.matches(v))?;
                excl.append(&mut x);
            } else {
                let set = if m.op == crate::model::matcher::MatchOp::Equal {
                    let v = m.value.as_str();
                    self.union_for(&m.name, &|x| x == v)?
                } else {
                    self.union_for(&m.name, &|v| m.matches(v))?
                };
                incl = Some(match incl {
                    None => set,
                    Some(a) => intersect(&a, &set),
                });
            }
        }
        excl.sort_unstable();
        excl.dedup();
        let base: Vec<u32> = incl.unwrap_or_else(|| (0..self.nseries as u32).collect());
        Ok(base
            .into_iter()
            .filter(|id| excl.binary_search(id).is_err())
            .collect())
    }

    /// Labels and chunk metas of series `id`.
    pub fn series(&self, id: u32) -> Result<(Labels, Vec<ChunkMeta>)> {
        let offs = self.section(2);
        let p = id as usize * 8;
        let off = offs
            .get(p..p + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8")) as usize)
            .ok_or_else(|| self.bad("series id out of range"))?;
        let mut c = Cursor::new(self.section(1));
        c.pos = off;
        let e = |c: Corruption| Error::corrupt(self.ip(), c);
        let n = c.len().map_err(e)?;
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.symbol(c.uvarint().map_err(e)? as u32)?.to_string();
            let value = self.symbol(c.uvarint().map_err(e)? as u32)?.to_string();
            labels.push(Label { name, value });
        }
        let labels =
            Labels::from_sorted(labels).map_err(|x| self.bad(&format!("series labels: {x}")))?;
        let nc = c.len().map_err(e)?;
        let mut metas = Vec::with_capacity(nc);
        let mut prev_maxt = 0i64;
        for i in 0..nc {
            let d = c.varint().map_err(e)?;
            let mint = if i == 0 { d } else { prev_maxt.wrapping_add(d) };
            let maxt = mint.wrapping_add(c.uvarint().map_err(e)? as i64);
            let samples = c.uvarint().map_err(e)? as u32;
            let ts_ref = c.uvarint().map_err(e)?;
            let val_ref = c.uvarint().map_err(e)?;
            metas.push(ChunkMeta {
                mint,
                maxt,
                samples,
                ts_ref,
                val_ref,
            });
            prev_maxt = maxt;
        }
        Ok((labels, metas))
    }

    fn cp(&self) -> PathBuf {
        self.dir.join("chunks")
    }

    /// The raw bytes of the frame at file offset `off`, checksum checked.
    fn frame(&self, off: u64) -> Result<Arc<Vec<u8>>> {
        if let Some((_, f)) = self
            .cache
            .lock()
            .expect("cache lock")
            .iter()
            .find(|(o, _)| *o == off)
        {
            return Ok(f.clone());
        }
        let (raw, _) = self.read_frame(off as usize)?;
        let raw = Arc::new(raw);
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((off, raw.clone()));
        Ok(raw)
    }

    /// Decodes the frame at `off`: its raw bytes and the offset of the next frame.
    fn read_frame(&self, off: usize) -> Result<(Vec<u8>, usize)> {
        let bad = |why: String| Error::corrupt(self.cp(), Corruption(why));
        let data = self.chunks.as_deref().unwrap_or(&[]);
        let head = data
            .get(off..off + FRAME_HEADER)
            .ok_or_else(|| bad(format!("frame at byte {off} out of bounds")))?;
        let raw_len = u32::from_le_bytes(head[..4].try_into().expect("4")) as usize;
        let stored_len = u32::from_le_bytes(head[4..8].try_into().expect("4")) as usize;
        let crc = u32::from_le_bytes(head[8..12].try_into().expect("4"));
        let body = data
            .get(off + FRAME_HEADER..off + FRAME_HEADER + stored_len)
            .ok_or_else(|| bad(format!("frame at byte {off} out of bounds")))?;
        if crc32c(body) != crc {
            return Err(bad(format!("frame at byte {off}: checksum mismatch")));
        }
        let raw = match head[12] {
            0 => body.to_vec(),
            1 => {
                if raw_len > 64 << 20 {
                    return Err(bad(format!("frame at byte {off}: implausible size")));
                }
                zstd::bulk::decompress(body, raw_len)
                    .map_err(|e| bad(format!("frame at byte {off}: {e}")))?
            }
            c => return Err(bad(format!("frame at byte {off}: unknown codec {c}"))),
        };
        if raw.len() != raw_len {
            return Err(bad(format!("frame at byte {off}: wrong size")));
        }
        Ok((raw, off + FRAME_HEADER + stored_len))
    }

    /// Decodes one chunk's samples, appending to `out`.
    pub fn read_chunk(&self, m: &ChunkMeta, out: &mut Vec<Sample>) -> Result<()> {
        let col = |r: u64| -> Result<(Arc<Vec<u8>>, usize)> {
            let f = self.frame(r >> INNER_BITS)?;
            let inner = (r & ((1 << INNER_BITS) - 1)) as usize;
            if inner >= f.len() {
                return Err(Error::corrupt(
                    self.cp(),
                    Corruption::new("column ref out of bounds"),
                ));
            }
            Ok((f, inner))
        };
        let e = |c: Corruption| Error::corrupt(self.cp(), c);
        let ts = self.timestamps(m.ts_ref, &col)?;
        if ts.len() != m.samples as usize {
            return Err(e(Corruption::new(
                "chunk sample count differs from the index",
            )));
        }
        if ts.first() != Some(&m.mint) || ts.last() != Some(&m.maxt) {
            return Err(e(Corruption::new("chunk times differ from the index")));
        }
        let (f, i) = col(m.val_ref)?;
        chunk::decode_values_at(&f[i..], &ts, out).map_err(e)
    }

    /// The decoded timestamp column at `r`, from the cache when another series of the same
    /// scrape read it already.
    fn timestamps(
        &self,
        r: u64,
        col: &dyn Fn(u64) -> Result<(Arc<Vec<u8>>, usize)>,
    ) -> Result<Arc<Vec<i64>>> {
        if let Some(ts) = self.ts_cache.lock().expect("ts cache lock").get(&r) {
            return Ok(ts.clone());
        }
        let (f, i) = col(r)?;
        let mut ts = Vec::new();
        chunk::decode_timestamps(&f[i..], &mut ts).map_err(|c| Error::corrupt(self.cp(), c))?;
        let ts = Arc::new(ts);
        let mut cache = self.ts_cache.lock().expect("ts cache lock");
        if cache.len() >= TS_CACHE {
            cache.clear();
        }
        cache.insert(r, ts.clone());
        Ok(ts)
    }

    /// Checks every frame checksum and decodes every chunk of every series.
    pub fn verify(&self) -> Result<()> {
        let data = self.chunks.as_deref().unwrap_or(&[]);
        let mut off = 8;
        while off < data.len() {
            off = self.read_frame(off)?.1;
        }
        let mut buf = Vec::new();
        for id in 0..self.nseries as u32 {
            let (_, metas) = self.series(id)?;
            for m in &metas {
                buf.clear();
                self.read_chunk(m, &mut buf)?;
            }
        }
        Ok(())
    }
}

fn partition_point(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
