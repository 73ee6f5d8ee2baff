//! Segments: what one `store` run appends, as checksummed records.
//!
//! ```text
//! segment  ┌──────────────────────────────┬──────────┬──────────┬───
//!          │ "PBXW" │ version=1 │ 0 0 0   │ record 1 │ record 2 │ …
//!          └──────────────────────────────┴──────────┴──────────┴───
//! record   ┌────────────┬──────────────┬────────┬─────────────────┐
//!          │ len u32 LE │ CRC-32C u32 LE │ type u8│ payload (len B) │   CRC over type + payload
//!          └────────────┴──────────────┴────────┴─────────────────┘
//! type 1   series:  ref uvarint │ n uvarint │ n × (name len+bytes, value len+bytes)
//! type 2   chunk:   ref uvarint │ mint varint │ maxt varint │ chunk (see chunk.rs)
//! ```
//!
//! `ref` numbers series within the segment; a series record precedes the series' chunks. A
//! series' chunks may overlap in time (out-of-order input); on equal timestamps the later record
//! wins. Reading checks every record's checksum: a mismatch is corruption. A last record cut
//! short by the end of the file (a torn write) is dropped and reported, keeping the records
//! before it.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::chunk::{self, put_uvarint, put_varint, Cursor};
use super::dir::{self, Dir};
use super::{Corruption, Error, Result};
use crate::model::{Label, Labels, Sample};
use crc32c::{crc32c, crc32c_append};

const MAGIC: &[u8; 4] = b"PBXW";
const HEADER: usize = 8;
const REC_SERIES: u8 = 1;
const REC_CHUNK: u8 = 2;

/// Writes a segment under a temporary name; [`SegmentWriter::commit`] publishes it.
pub struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    lock: File,
    buf: Vec<u8>,
    next_ref: u64,
    bytes: u64,
}

impl SegmentWriter {
    pub fn create(d: &Dir) -> Result<SegmentWriter> {
        d.create()?;
        let path = d.wal().join(dir::tmp_name(".seg"));
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .read(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // Held until the writer is dropped: tells the compactor this temp file is alive.
        let lock = file.try_clone().map_err(|e| Error::io(&path, e))?;
        lock.lock().map_err(|e| Error::io(&path, e))?;
        let mut w = SegmentWriter {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            lock,
            buf: Vec::new(),
            next_ref: 0,
            bytes: 0,
        };
        let mut h = MAGIC.to_vec();
        h.extend_from_slice(&[1, 0, 0, 0]);
        w.write(&h)?;
        Ok(w)
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        self.bytes += b.len() as u64;
        self.out.write_all(b).map_err(|e| Error::io(&self.path, e))
    }

    fn record(&mut self, kind: u8) -> Result<()> {
        let len = self.buf.len() as u32;
        let crc = crc32c_append(crc32c(&[kind]), &self.buf);
        let mut head = [0u8; 9];
        head[..4].copy_from_slice(&len.to_le_bytes());
        head[4..8].copy_from_slice(&crc.to_le_bytes());
        head[8] = kind;
        let buf = std::mem::take(&mut self.buf);
        let r = self.write(&head).and_then(|_| self.write(&buf));
        self.buf = buf;
        r
    }

    /// Adds a series; returns its reference for [`SegmentWriter::add_chunk`].
    pub fn add_series(&mut self, labels: &Labels) -> Result<u64> {
        let r = self.next_ref;
        self.next_ref += 1;
        self.buf.clear();
        put_uvarint(&mut self.buf, r);
        put_uvarint(&mut self.buf, labels.len() as u64);
        for l in labels {
            put_uvarint(&mut self.buf, l.name.len() as u64);
            self.buf.extend_from_slice(l.name.as_bytes());
            put_uvarint(&mut self.buf, l.value.len() as u64);
            self.buf.extend_from_slice(l.value.as_bytes());
        }
        self.record(REC_SERIES)?;
        Ok(r)
    }

    /// Adds an encoded chunk of series `r`, covering `[mint, maxt]`.
    pub fn add_chunk(&mut self, r: u64, mint: i64, maxt: i64, chunk: &[u8]) -> Result<()> {
        self.buf.clear();
        put_uvarint(&mut self.buf, r);
        put_varint(&mut self.buf, mint);
        put_varint(&mut self.buf, maxt);
        self.buf.extend_from_slice(chunk);
        self.record(REC_CHUNK)
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes and fsyncs, then publishes the segment under the next sequence number.
    pub fn commit(self, d: &Dir) -> Result<u64> {
        let SegmentWriter {
            path, out, lock, ..
        } = self;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        let _g = d.lock_exclusive()?;
        let seq = d.list()?.max_seq() + 1;
        let dst = d.wal().join(format!("{}.seg", dir::seq_name(seq)));
        fs::rename(&path, &dst).map_err(|e| Error::io(&dst, e))?;
        dir::sync_dir(&d.wal())?;
        drop(lock);
        Ok(seq)
    }

    /// Removes the temporary file (a failed or invalid run).
    pub fn abort(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Where a chunk record is in a segment.
#[derive(Clone, Copy, Debug)]
pub struct ChunkLoc {
    pub mint: i64,
    pub maxt: i64,
    /// Offset and length of the encoded chunk in the file.
    pub off: usize,
    pub len: usize,
}

/// A series of a segment.
#[derive(Debug)]
pub struct SegSeries {
    pub labels: Labels,
    pub chunks: Vec<ChunkLoc>,
}

/// A committed segment, memory-mapped, with its series decoded.
pub struct Segment {
    pub seq: u64,
    pub path: PathBuf,
    map: Option<Mmap>,
    pub series: Vec<SegSeries>,
    /// Bytes of a torn last record that were dropped.
    pub torn: Option<usize>,
    pub size: u64,
    /// Series positions by metric name, built on the first select that names one (a
    /// segment has no postings on disk; without this every select walks every series).
    by_name: std::sync::OnceLock<std::collections::HashMap<String, Vec<u32>>>,
}

impl Segment {
    /// The positions of the series a selection can match: those of its metric name when a
    /// matcher fixes it (`__name__="x"`), else all (`None`).
    pub fn candidates(&self, ms: &[crate::model::matcher::Matcher]) -> Option<&[u32]> {
        let name = ms.iter().find(|m| {
            m.name == crate::model::METRIC_NAME && m.op == crate::model::MatchOp::Equal
        })?;
        let index = self.by_name.get_or_init(|| {
            let mut m: std::collections::HashMap<String, Vec<u32>> =
                std::collections::HashMap::new();
            for (i, s) in self.series.iter().enumerate() {
                m.entry(s.labels.metric_name().unwrap_or("").to_string())
                    .or_default()
                    .push(i as u32);
            }
            m
        });
        Some(index.get(&name.value).map_or(&[], Vec::as_slice))
    }

    pub fn open(seq: u64, path: &Path) -> Result<Segment> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        // SAFETY: committed segments are never modified in place, only unlinked.
        let map = if size == 0 {
            None
        } else {
            Some(unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?)
        };
        let mut seg = Segment {
            seq,
            path: path.into(),
            map: None,
            series: Vec::new(),
            torn: None,
            size,
            by_name: std::sync::OnceLock::new(),
        };
        let data: &[u8] = map.as_deref().unwrap_or(&[]);
        seg.scan(data).map_err(|c| Error::corrupt(path, c))?;
        seg.map = map;
        Ok(seg)
    }

    fn scan(&mut self, data: &[u8]) -> std::result::Result<(), Corruption> {
        if data.len() < HEADER || &data[..4] != MAGIC {
            return Err(Corruption::new("not a segment (bad magic)"));
        }
        if data[4] != 1 {
            return Err(Corruption(format!("unknown segment version {}", data[4])));
        }
        let mut pos = HEADER;
        let mut refs: Vec<Option<usize>> = Vec::new();
        while pos < data.len() {
            if data.len() - pos < 9 {
                self.torn = Some(data.len() - pos);
                break;
            }
            let len = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4")) as usize;
            let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4"));
            let body_start = pos + 8;
            let end = body_start + 1 + len;
            if end > data.len() {
                self.torn = Some(data.len() - pos);
                break;
            }
            let body = &data[body_start..end];
            if crc32c(body) != crc {
                return Err(Corruption(format!(
                    "record at byte {pos}: checksum mismatch"
                )));
            }
            let at = |c: Corruption| Corruption(format!("record at byte {pos}: {}", c.0));
            let mut c = Cursor::new(&body[1..]);
            match body[0] {
                REC_SERIES => {
                    let r = c.uvarint().map_err(at)? as usize;
                    let n = c.len().map_err(at)?;
                    let mut labels = Vec::with_capacity(n);
                    for _ in 0..n {
                        let name = c.str().map_err(at)?.to_string();
                        let value = c.str().map_err(at)?.to_string();
                        labels.push(Label { name, value });
                    }
                    let labels = Labels::from_sorted(labels)
                        .map_err(|e| at(Corruption(format!("series labels: {e}"))))?;
                    if r >= refs.len() {
                        refs.resize(r + 1, None);
                    }
                    refs[r] = Some(self.series.len());
                    self.series.push(SegSeries {
                        labels,
                        chunks: Vec::new(),
                    });
                }
                REC_CHUNK => {
                    let r = c.uvarint().map_err(at)? as usize;
                    let mint = c.varint().map_err(at)?;
                    let maxt = c.varint().map_err(at)?;
                    let idx = refs
                        .get(r)
                        .copied()
                        .flatten()
                        .ok_or_else(|| at(Corruption::new("chunk of an unknown series")))?;
                    let off = body_start + 1 + c.pos;
                    self.series[idx].chunks.push(ChunkLoc {
                        mint,
                        maxt,
                        off,
                        len: end - off,
                    });
                }
                k => return Err(at(Corruption(format!("unknown record type {k}")))),
            }
            pos = end;
        }
        Ok(())
    }

    /// Decodes a chunk (its record checksum was checked at open).
    pub fn read_chunk(&self, loc: &ChunkLoc, out: &mut Vec<Sample>) -> Result<()> {
        let data = self.map.as_deref().unwrap_or(&[]);
        let bytes = data
            .get(loc.off..loc.off + loc.len)
            .ok_or_else(|| Error::corrupt(&self.path, Corruption::new("chunk out of bounds")))?;
        chunk::decode_xor(bytes, out).map_err(|c| Error::corrupt(&self.path, c))
    }

    pub fn samples(&self) -> u64 {
        let data = self.map.as_deref().unwrap_or(&[]);
        self.series
            .iter()
            .flat_map(|s| &s.chunks)
            .map(|c| chunk::count(&data[c.off..c.off + c.len]).unwrap_or(0) as u64)
            .sum()
    }
}
