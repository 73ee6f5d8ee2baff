//! Ingest: exposition text → one segment, the library side of `prombox store`.
//!
//! Each series keeps an open Xor chunk (only its encoded bits) and its last sample unencoded,
//! so a repeated timestamp replaces the value (the last one wins) and an out-of-order sample
//! closes the chunk and starts another. Chunks go to the segment at 240 samples. Memory is the
//! series' labels plus a few hundred bytes each, whatever the input size.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::BufRead;
use std::path::Path;

use super::chunk::XorAppender;
use super::dir::Dir;
use super::segment::SegmentWriter;
use super::{Error, Result};
use crate::expfmt::{self, Entry, Format, LabelsRef, ParseError, Parser, Strictness};
use crate::model::hash::{fold_hasher, IdHasher};
use crate::model::{Labels, Sample, METRIC_NAME};

const SEGMENT_CHUNK: usize = 240;

fn text_hash(s: &str) -> u64 {
    let mut h = fold_hasher();
    h.write(s.as_bytes());
    h.finish()
}

/// How to ingest.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// Labels set on every series, replacing labels of the same name (an empty value removes).
    pub labels: Vec<(String, String)>,
    /// Keep going past invalid lines, storing the valid samples.
    pub skip_invalid: bool,
    /// The timestamp for samples without one (ms).
    pub now: i64,
}

/// What a run stored.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    pub samples: u64,
    pub series: u64,
    /// Invalid lines skipped (with `skip_invalid`): input name and error.
    pub skipped: Vec<(String, ParseError)>,
    pub skipped_total: u64,
    /// The sequence number of the published segment (0 if nothing was stored).
    pub seq: u64,
    pub bytes: u64,
}

/// Why an input was not ingested.
#[derive(Debug)]
pub enum IngestError {
    /// The input is malformed; nothing of the run is stored.
    Parse {
        input: String,
        err: ParseError,
    },
    /// Reading the input failed.
    Read {
        input: String,
        err: std::io::Error,
    },
    Storage(Error),
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestError::Parse { input, err } => write!(f, "{input}:{err}"),
            IngestError::Read { input, err } => write!(f, "{input}: {err}"),
            IngestError::Storage(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for IngestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IngestError::Parse { err, .. } => Some(err),
            IngestError::Read { err, .. } => Some(err),
            IngestError::Storage(e) => Some(e),
        }
    }
}

impl From<Error> for IngestError {
    fn from(e: Error) -> IngestError {
        IngestError::Storage(e)
    }
}

struct SeriesState {
    labels: Labels,
    seg_ref: u64,
    app: XorAppender,
    last: Option<Sample>,
}

/// Builds one segment from any number of inputs; [`Ingester::commit`] publishes it.
pub struct Ingester {
    dir: Dir,
    /// Series by the hash of their text as written (verified against `texts`).
    by_text: HashMap<u64, (u32, u32, u32), BuildHasherDefault<IdHasher>>,
    texts: String,
    writer: SegmentWriter,
    index: HashMap<u64, Vec<u32>, BuildHasherDefault<IdHasher>>,
    states: Vec<SeriesState>,
    opts: IngestOptions,
    report: IngestReport,
    buf: Vec<u8>,
}

fn pair_hash(n: &str, v: &str) -> u64 {
    let mut h = fold_hasher();
    n.hash(&mut h);
    v.hash(&mut h);
    h.finish()
}

/// `stored` (no empty values) equals `l` without its empty values.
fn same_set(stored: &Labels, l: &Labels) -> bool {
    let mut it = l.iter().filter(|x| !x.value.is_empty());
    stored.iter().all(|a| it.next() == Some(a)) && it.next().is_none()
}

impl Ingester {
    pub fn new(root: &Path, opts: IngestOptions) -> Result<Ingester> {
        let dir = Dir::new(root);
        let writer = SegmentWriter::create(&dir)?;
        Ok(Ingester {
            dir,
            by_text: HashMap::default(),
            texts: String::new(),
            writer,
            index: HashMap::default(),
            states: Vec::new(),
            opts,
            report: IngestReport::default(),
            buf: Vec::new(),
        })
    }

    fn overridden(&self, name: &str) -> bool {
        self.opts.labels.iter().any(|(k, _)| k == name)
    }

    /// The hash of the final label set (empty values dropped, overrides applied).
    fn key(&self, name: &str, labels: &LabelsRef) -> u64 {
        let mut h = 0u64;
        if !self.overridden(METRIC_NAME) {
            h = h.wrapping_add(pair_hash(METRIC_NAME, name));
        }
        for (n, v) in labels.iter() {
            if !v.is_empty() && !self.overridden(n) {
                h = h.wrapping_add(pair_hash(n, v));
            }
        }
        for (n, v) in &self.opts.labels {
            if !v.is_empty() {
                h = h.wrapping_add(pair_hash(n, v));
            }
        }
        h
    }

    fn same(&self, stored: &Labels, name: &str, labels: &LabelsRef) -> bool {
        let mut n = 0;
        if !self.overridden(METRIC_NAME) {
            if stored.get(METRIC_NAME) != Some(name) {
                return false;
            }
            n += 1;
        }
        for (k, v) in labels.iter() {
            if v.is_empty() || self.overridden(k) {
                continue;
            }
            if stored.get(k) != Some(v) {
                return false;
            }
            n += 1;
        }
        for (k, v) in &self.opts.labels {
            if v.is_empty() {
                continue;
            }
            if stored.get(k) != Some(v.as_str()) {
                return false;
            }
            n += 1;
        }
        n == stored.len()
    }

    fn series_for(&mut self, name: &str, labels: &LabelsRef) -> Result<usize> {
        let key = self.key(name, labels);
        let overrides = self
            .opts
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let ls = Labels::from_pairs(
            std::iter::once((METRIC_NAME, name))
                .chain(labels.iter())
                .filter(|(k, _)| !self.overridden(k))
                .chain(overrides)
                .filter(|(_, v)| !v.is_empty()),
        )
        .map_err(|e| Error::Invalid(format!("invalid labels: {e}")))?;
        self.add_series(ls, key)
    }

    /// Starts a series in the segment, indexed under `key` (the hash of its label pairs).
    fn add_series(&mut self, labels: Labels, key: u64) -> Result<usize> {
        let seg_ref = self.writer.add_series(&labels)?;
        let id = self.states.len();
        self.states.push(SeriesState {
            labels,
            seg_ref,
            app: XorAppender::default(),
            last: None,
        });
        self.index.entry(key).or_default().push(id as u32);
        self.report.series += 1;
        Ok(id)
    }

    fn flush(&mut self, id: usize) -> Result<()> {
        let st = &mut self.states[id];
        if st.app.is_empty() {
            return Ok(());
        }
        let (mint, maxt) = st.app.range();
        self.buf.clear();
        st.app.finish_into(&mut self.buf);
        let r = st.seg_ref;
        self.writer.add_chunk(r, mint, maxt, &self.buf)
    }

    fn append(&mut self, id: usize, s: Sample) -> Result<()> {
        let st = &mut self.states[id];
        match st.last {
            None => st.last = Some(s),
            Some(l) if l.t == s.t => st.last = Some(s),
            Some(l) => {
                st.app.push(l.t, l.v);
                st.last = Some(s);
                if s.t < l.t || st.app.len() >= SEGMENT_CHUNK {
                    self.flush(id)?;
                }
            }
        }
        Ok(())
    }

    /// Reads one input. Without `skip_invalid`, the first error aborts (call
    /// [`Ingester::abort`]); with it, invalid lines are counted and skipped.
    pub fn ingest<R: BufRead>(
        &mut self,
        reader: R,
        format: Format,
        input: &str,
    ) -> std::result::Result<(), IngestError> {
        let mut p = Parser::with_strictness(reader, format, Strictness::Prometheus);
        let now = self.opts.now;
        loop {
            let s = match p.next_entry() {
                None => return Ok(()),
                Some(Ok(Entry::Sample(s))) => s,
                Some(Ok(_)) => continue,
                Some(Err(expfmt::Error::Io(err))) => {
                    return Err(IngestError::Read {
                        input: input.into(),
                        err,
                    })
                }
                Some(Err(expfmt::Error::Parse(err))) => {
                    if !self.opts.skip_invalid {
                        return Err(IngestError::Parse {
                            input: input.into(),
                            err,
                        });
                    }
                    self.report.skipped_total += 1;
                    if self.report.skipped.len() < 100 {
                        self.report.skipped.push((input.into(), err));
                    }
                    if p.recover() {
                        continue;
                    }
                    return Ok(());
                }
            };
            let (t, v) = (s.timestamp.unwrap_or(now), s.value);
            let th = text_hash(s.series);
            let cached = self.by_text.get(&th).and_then(|&(id, off, len)| {
                (&self.texts[off as usize..(off + len) as usize] == s.series).then_some(id)
            });
            let id = match cached {
                Some(id) => id as usize,
                None => {
                    let (name, labels) = (s.name, s.labels);
                    let key = self.key(name, &labels);
                    let hit = self.index.get(&key).and_then(|ids| {
                        ids.iter()
                            .copied()
                            .find(|&id| self.same(&self.states[id as usize].labels, name, &labels))
                    });
                    let id = match hit {
                        Some(id) => id as usize,
                        None => self.series_for(name, &labels)?,
                    };
                    let fits = self.texts.len() + s.series.len() < u32::MAX as usize;
                    if let (true, std::collections::hash_map::Entry::Vacant(e)) =
                        (fits, self.by_text.entry(th))
                    {
                        e.insert((id as u32, self.texts.len() as u32, s.series.len() as u32));
                        self.texts.push_str(s.series);
                    }
                    id
                }
            };
            self.append(id, Sample { t, v })?;
            self.report.samples += 1;
        }
    }

    /// Appends one sample of a series given by its labels (from a scrape or a rule, not
    /// text); the options' override labels do not apply.
    pub fn append_labels(&mut self, labels: Labels, s: Sample) -> Result<()> {
        let mut key = 0u64;
        for l in labels.iter() {
            if !l.value.is_empty() {
                key = key.wrapping_add(pair_hash(&l.name, &l.value));
            }
        }
        let hit = self.index.get(&key).and_then(|ids| {
            ids.iter()
                .copied()
                .find(|&id| same_set(&self.states[id as usize].labels, &labels))
        });
        let id = match hit {
            Some(id) => id as usize,
            None if labels.iter().any(|l| l.value.is_empty()) => {
                self.add_series(labels.filter(|l| !l.value.is_empty()), key)?
            }
            None => self.add_series(labels, key)?,
        };
        self.append(id, s)?;
        self.report.samples += 1;
        Ok(())
    }

    /// Writes the open chunks, fsyncs and publishes the segment. With no samples, publishes
    /// nothing.
    pub fn commit(mut self) -> Result<IngestReport> {
        for id in 0..self.states.len() {
            if let Some(l) = self.states[id].last.take() {
                self.states[id].app.push(l.t, l.v);
            }
            self.flush(id)?;
        }
        if self.report.samples == 0 {
            self.writer.abort();
            return Ok(self.report);
        }
        self.report.bytes = self.writer.bytes();
        self.report.seq = self.writer.commit(&self.dir)?;
        Ok(self.report)
    }

    /// Discards everything of this run.
    pub fn abort(self) {
        self.writer.abort();
    }
}
