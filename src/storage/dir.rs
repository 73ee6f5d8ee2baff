//! The data dir's file names, locks, listing and sequence numbers (see the module above for
//! the protocol).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::meta::{BlockMeta, Tombstone};
use super::{Corruption, Error, Result};

pub const WAL: &str = "wal";
pub const BLOCKS: &str = "blocks";
pub const TOMBSTONES: &str = "tombstones";

/// A data dir's paths.
#[derive(Clone, Debug)]
pub struct Dir {
    pub root: PathBuf,
}

/// What a listing found: published items and leftovers of killed processes.
#[derive(Default, Debug)]
pub struct Listing {
    pub segments: Vec<(u64, PathBuf)>,
    pub blocks: Vec<(BlockMeta, PathBuf)>,
    pub tombstones: Vec<Tombstone>,
    pub tmp_segments: Vec<PathBuf>,
    pub tmp_blocks: Vec<PathBuf>,
}

impl Listing {
    /// The largest sequence number in use.
    pub fn max_seq(&self) -> u64 {
        let s = self.segments.iter().map(|(s, _)| *s);
        let b = self.blocks.iter().flat_map(|(m, _)| [m.id, m.max_seq]);
        let t = self.tombstones.iter().map(|t| t.seq);
        s.chain(b).chain(t).max().unwrap_or(0)
    }
}

static TMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique among live processes: `tmp-<pid>-<n>`.
pub fn tmp_name(ext: &str) -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("tmp-{}-{n}{ext}", std::process::id())
}

pub fn seq_name(seq: u64) -> String {
    format!("{seq:016x}")
}

fn parse_seq(s: &str) -> Option<u64> {
    (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(s, 16).ok())
        .flatten()
}

/// An flock held until dropped.
pub struct Lock(#[allow(dead_code)] File);

impl Dir {
    pub fn new(root: &Path) -> Dir {
        Dir { root: root.into() }
    }

    pub fn wal(&self) -> PathBuf {
        self.root.join(WAL)
    }

    pub fn blocks(&self) -> PathBuf {
        self.root.join(BLOCKS)
    }

    pub fn tombstones(&self) -> PathBuf {
        self.root.join(TOMBSTONES)
    }

    /// Creates the directory tree if needed.
    pub fn create(&self) -> Result<()> {
        for p in [self.wal(), self.blocks(), self.tombstones()] {
            fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        Ok(())
    }

    /// Fails unless this looks like a data dir.
    pub fn check_exists(&self) -> Result<()> {
        if !self.wal().is_dir() || !self.blocks().is_dir() {
            return Err(Error::Invalid(format!(
                "{}: not a data dir (no wal/ and blocks/; create one with `prombox store`)",
                self.root.display()
            )));
        }
        Ok(())
    }

    fn lock_file(&self, name: &str) -> Result<File> {
        let p = self.root.join(name);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))
    }

    pub fn lock_shared(&self) -> Result<Lock> {
        let f = self.lock_file("lock")?;
        f.lock_shared()
            .map_err(|e| Error::io(self.root.join("lock"), e))?;
        Ok(Lock(f))
    }

    pub fn lock_exclusive(&self) -> Result<Lock> {
        let f = self.lock_file("lock")?;
        f.lock().map_err(|e| Error::io(self.root.join("lock"), e))?;
        Ok(Lock(f))
    }

    pub fn lock_compaction(&self) -> Result<Lock> {
        let f = self.lock_file("compact.lock")?;
        f.lock()
            .map_err(|e| Error::io(self.root.join("compact.lock"), e))?;
        Ok(Lock(f))
    }

    /// Lists the directory (call with the lock held).
    pub fn list(&self) -> Result<Listing> {
        let mut l = Listing::default();
        for (name, path) in read_dir(&self.wal())? {
            if let Some(seq) = name.strip_suffix(".seg").and_then(parse_seq) {
                l.segments.push((seq, path));
            } else if name.starts_with("tmp-") {
                l.tmp_segments.push(path);
            }
        }
        for (name, path) in read_dir(&self.blocks())? {
            if name.strip_prefix("b-").and_then(parse_seq).is_some() {
                let mp = path.join("meta.json");
                let text = fs::read_to_string(&mp).map_err(|e| Error::io(&mp, e))?;
                let meta: BlockMeta = serde_json::from_str(&text)
                    .map_err(|e| Error::corrupt(&mp, Corruption(e.to_string())))?;
                l.blocks.push((meta, path));
            } else if name.starts_with("tmp-") {
                l.tmp_blocks.push(path);
            }
        }
        for (name, path) in read_dir(&self.tombstones())? {
            if name.strip_suffix(".json").and_then(parse_seq).is_some() {
                let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                let t = Tombstone::from_json(&text).map_err(|e| Error::corrupt(&path, e))?;
                l.tombstones.push(t);
            }
        }
        l.segments.sort();
        l.blocks.sort_by_key(|(m, _)| m.id);
        l.tombstones.sort_by_key(|t| t.seq);
        Ok(l)
    }

    /// Writes `data` to `dir/name` atomically (temp file, fsync, rename, fsync dir).
    pub fn write_atomic(&self, dir: &Path, name: &str, data: &[u8]) -> Result<()> {
        let tmp = dir.join(tmp_name(".json"));
        let res = (|| -> io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()
        })();
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        let dst = dir.join(name);
        fs::rename(&tmp, &dst).map_err(|e| Error::io(&dst, e))?;
        sync_dir(dir)
    }
}

fn read_dir(p: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(p).map_err(|e| Error::io(p, e))? {
        let e = e.map_err(|e| Error::io(p, e))?;
        if let Some(name) = e.file_name().to_str() {
            out.push((name.to_string(), e.path()));
        }
    }
    Ok(out)
}

/// Opens (creating it) and flocks a lock file without waiting; `None` when another process
/// holds it. The lock lasts as long as the returned file.
pub fn try_lock(path: &Path) -> io::Result<Option<File>> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// fsyncs a directory, making renames and unlinks in it durable.
pub fn sync_dir(p: &Path) -> Result<()> {
    File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(p, e))
}

/// True if no process holds an flock on the file (its writer is gone).
pub fn is_abandoned(p: &Path) -> bool {
    File::open(p).is_ok_and(|f| f.try_lock().is_ok())
}
