//! The data dir: append-only segments written by `store`, immutable blocks written by
//! `compact`, tombstones written by `delete`, and [`Db`], the merged read view of all three.
//!
//! Designed after Prometheus's TSDB (WAL segments → head → 2 h blocks → larger blocks), but for
//! short-lived processes sharing a directory instead of one long-running server: every `store`
//! run writes its own segment and publishes it atomically, so there is no in-memory head to
//! recover.
//!
//! # Layout
//!
//! ```text
//! DIR/
//! ├── lock                   flock: shared while a reader lists and opens, exclusive to publish
//! ├── compact.lock           flock: one compactor at a time
//! ├── wal/
//! │   ├── 000000000000002a.seg   a committed segment (one store run), named by its sequence number
//! │   └── tmp-<pid>-<n>.seg      a segment being written; flock'd by its writer
//! ├── blocks/
//! │   ├── b-000000000000002b/    a published block: meta.json, index, chunks
//! │   └── tmp-<pid>-<n>/         a block being written
//! ├── tombstones/
//! │   └── 000000000000002c.json  a delete request, named by its sequence number
//! └── scrape/                scrape state between runs (staleness), see `scrape::state`
//! ```
//!
//! Formats: segments in [`segment`], blocks (index and chunk files) in [`block`], chunk
//! encodings in [`chunk`], tombstones and block meta in [`meta`]. Every record, frame and index
//! section carries a CRC-32C (the Castagnoli polynomial, as in Prometheus's TSDB; `crc32c` crate).
//!
//! # Sequence numbers and precedence
//!
//! Each published thing (segment, block, tombstone) takes a sequence number, allocated under the
//! exclusive `lock` as one more than the largest in use (block metas record the largest sequence
//! number of the data they hold, `max_seq`). Sequence numbers order data: when two sources hold a
//! sample for the same series and timestamp, the one with the higher sequence number wins (and,
//! within one segment, the later record), so **the last value written for a timestamp is the one
//! kept**: re-importing corrected data replaces it. A tombstone deletes matching samples from
//! sources with a lower sequence number only, so data stored after a `delete` survives it.
//!
//! # Concurrency and crash safety
//!
//! - Writers (`store`) write `wal/tmp-*` without the directory lock, fsync it, then under the
//!   exclusive lock rename it to its sequence-numbered name and fsync the directory. A run is
//!   atomic: killed before the rename, nothing of it is visible (the temp file is removed by the
//!   next `compact` once no process holds its flock).
//! - Readers take the shared lock only while listing and opening files; open files stay readable
//!   after a compactor unlinks them.
//! - The compactor holds `compact.lock`, snapshots the directory like a reader, writes new blocks
//!   under `blocks/tmp-*`, then under the exclusive lock renames them into place one by one and
//!   unlinks what they replace. A block's meta names the blocks it replaces (wholly) and the
//!   segments whose data *in its own time range* it holds. Readers ignore replaced blocks and
//!   mask segment data inside the ranges of blocks that hold it, so a compactor killed between
//!   two renames leaves every sample visible exactly once; the next `compact` finishes the job.
//!   Removed block directories are first renamed to a temporary name, so none is ever seen
//!   half-deleted.

pub mod block;
pub mod chunk;
pub mod compact;
mod db;
mod dir;
pub mod ingest;
pub mod meta;
pub mod segment;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use compact::{compact, CompactOptions, CompactReport};
pub use db::{Db, Series, SourceInfo};
pub use dir::{tmp_name, try_lock, Dir};
pub use ingest::{IngestOptions, IngestReport, Ingester};
pub use meta::Tombstone;

/// Damaged data: what is wrong (the file is added by the caller as [`Error::Corrupt`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption(pub String);

impl Corruption {
    pub fn new(why: &str) -> Corruption {
        Corruption(why.into())
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A storage error.
#[derive(Debug)]
pub enum Error {
    /// An I/O error on a path.
    Io { path: PathBuf, err: io::Error },
    /// A file's content fails its checksum or structure.
    Corrupt { path: PathBuf, why: String },
    /// Something the caller asked for that cannot be done.
    Invalid(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, err: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            err,
        }
    }

    pub fn corrupt(path: impl Into<PathBuf>, c: Corruption) -> Error {
        Error::Corrupt {
            path: path.into(),
            why: c.0,
        }
    }

    /// True for an out-of-space condition (ENOSPC or EDQUOT).
    pub fn is_out_of_space(&self) -> bool {
        match self {
            Error::Io { err, .. } => {
                matches!(
                    err.kind(),
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                )
            }
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, err } => write!(f, "{}: {err}", path.display()),
            Error::Corrupt { path, why } => write!(f, "{}: corrupt: {why}", path.display()),
            Error::Invalid(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Records a tombstone: samples in `[mint, maxt]` of series matching any selector, in data
/// stored before now. Returns its sequence number.
pub fn delete(
    root: &std::path::Path,
    selectors: Vec<Vec<crate::model::Matcher>>,
    mint: i64,
    maxt: i64,
) -> Result<u64> {
    if selectors.is_empty() {
        return Err(Error::Invalid("delete needs at least one selector".into()));
    }
    let d = dir::Dir::new(root);
    d.check_exists()?;
    let _g = d.lock_exclusive()?;
    let seq = d.list()?.max_seq() + 1;
    let t = Tombstone {
        seq,
        selectors,
        mint,
        maxt,
    };
    d.write_atomic(
        &d.tombstones(),
        &format!("{}.json", dir::seq_name(seq)),
        t.to_json().as_bytes(),
    )?;
    Ok(seq)
}
