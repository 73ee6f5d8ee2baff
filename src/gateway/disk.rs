//! The gateway's state on disk: a snapshot and a log of group states, so that every
//! acknowledged write survives `kill -9` and none is half-applied.
//!
//! ```text
//!   DIR/lock            held (flock) by the running gateway
//!   DIR/gateway.snap    "PBGWSNP1" u64 generation  record*     every group, written whole
//!   DIR/gateway.log     "PBGWLOG1" u64 generation  record*     appended, fsynced per ack
//!
//!   record   := u32 len | u32 crc32c(payload) | payload[len]          (little-endian)
//!   payload  := u8 op | ...
//!     op 1 group:   key | i64 push_time_ns | i64 failure_time_ns | i64 ttl_ms (-1: none)
//!                   | u32 n | n × (i64 time_ns | bytes family)   family: one delimited protobuf
//!     op 2 delete:  key                                            MetricFamily message
//!     op 3 wipe
//!   key      := u32 n | n × (bytes name | bytes value)            bytes := u32 len | data
//! ```
//!
//! A write appends the *resulting* state of its group (not the request), so replay is
//! putting states in order: no check runs again, and replaying twice changes nothing. The
//! record is written before the change is visible and fsynced before it is acknowledged;
//! concurrent writers share one fsync (group commit). At start the snapshot is read, then
//! the log if its generation is newer; a torn record at the log's end — a write that was
//! never acknowledged — is cut off. When the log outgrows the snapshot the state is written
//! to a new snapshot (temp file, fsync, rename) and a new log with the next generation
//! begins; a crash at any step leaves either the old pair or the new snapshot with a log it
//! ignores. Expiry is not logged: it follows from the push times after a restart too.
//!
//! The `1` in the magic numbers is the format version; a later version reads these files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::store::{Group, Stored};
use crate::push::GroupingKey;

const SNAP_MAGIC: &[u8; 8] = b"PBGWSNP1";
const LOG_MAGIC: &[u8; 8] = b"PBGWLOG1";
const HEADER: usize = 16;
const OP_GROUP: u8 = 1;
const OP_DELETE: u8 = 2;
const OP_WIPE: u8 = 3;
/// The largest record accepted when reading (a group is bounded by the body limit and the
/// series limit well below this).
const MAX_RECORD: u32 = 1 << 30;

/// Why the state on disk cannot be used.
#[derive(Debug)]
pub enum Error {
    Io(PathBuf, io::Error),
    /// Another process holds the directory.
    Locked(PathBuf),
    /// A file is damaged where damage cannot come from a crash (the snapshot, or the log
    /// before its last record).
    Corrupt {
        path: PathBuf,
        offset: u64,
        why: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(p, e) => write!(f, "{}: {e}", p.display()),
            Error::Locked(p) => write!(
                f,
                "{}: in use by another gateway (its lock is held)",
                p.display()
            ),
            Error::Corrupt { path, offset, why } => {
                write!(f, "{}: corrupt at byte {offset}: {why}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {}

fn io_err(p: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::Io(p.to_path_buf(), e)
}

/// One change to the state, as logged.
#[derive(Debug)]
pub enum Change<'a> {
    Put(&'a Group),
    Delete(&'a GroupingKey),
    Wipe,
}

/// What was read at start.
pub struct Loaded {
    pub groups: Vec<Group>,
    /// Bytes cut from the end of the log (a torn, unacknowledged write).
    pub truncated: u64,
}

/// The open state directory.
pub struct Disk {
    dir: PathBuf,
    _lock: File,
    log: File,
    generation: u64,
    /// Bytes in the log, header included.
    written: u64,
    /// Log bytes of earlier generations: positions ([`Disk::append`]) count across logs, so
    /// they only grow.
    base: u64,
    snapshot_bytes: u64,
    sync: SyncHandle,
}

/// Makes appended records durable, without the lock that serializes writers; one fsync
/// serves every record written before it.
#[derive(Clone)]
pub struct SyncHandle(Arc<SyncState>);

struct SyncState {
    /// The position after the last complete record written.
    written: AtomicU64,
    /// The position known durable, and the current log.
    synced: Mutex<(u64, File)>,
    path: PathBuf,
}

impl SyncHandle {
    /// Returns once every record up to `pos` is on disk.
    pub fn sync_to(&self, pos: u64) -> Result<(), Error> {
        let mut g = self.0.synced.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 >= pos {
            return Ok(());
        }
        let target = self.0.written.load(Ordering::Acquire);
        g.1.sync_data().map_err(io_err(&self.0.path))?;
        g.0 = g.0.max(target);
        Ok(())
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_key(out: &mut Vec<u8>, k: &GroupingKey) {
    out.extend_from_slice(&(k.labels().len() as u32).to_le_bytes());
    for (n, v) in k.labels() {
        put_bytes(out, n.as_bytes());
        put_bytes(out, v.as_bytes());
    }
}

/// The record bytes of a change.
pub fn encode(c: &Change<'_>) -> Vec<u8> {
    let mut p = Vec::new();
    match c {
        Change::Put(g) => {
            p.push(OP_GROUP);
            put_key(&mut p, &g.key);
            p.extend_from_slice(&g.push_time_ns.to_le_bytes());
            p.extend_from_slice(&g.failure_time_ns.to_le_bytes());
            p.extend_from_slice(&g.ttl_ms.unwrap_or(-1).to_le_bytes());
            p.extend_from_slice(&(g.families.len() as u32).to_le_bytes());
            for s in g.families.values() {
                p.extend_from_slice(&s.time_ns.to_le_bytes());
                put_bytes(&mut p, &s.encoded);
            }
        }
        Change::Delete(k) => {
            p.push(OP_DELETE);
            put_key(&mut p, k);
        }
        Change::Wipe => p.push(OP_WIPE),
    }
    let mut out = Vec::with_capacity(p.len() + 8);
    out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&p).to_le_bytes());
    out.extend_from_slice(&p);
    out
}

/// A decoded record.
enum Record {
    Put(Group),
    Delete(GroupingKey),
    Wipe,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.b.len() - self.pos {
            return Err("record ends early".into());
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "a name or value is not UTF-8".into())
    }
    fn key(&mut self) -> Result<GroupingKey, String> {
        let n = self.u32()? as usize;
        if n > self.b.len() {
            return Err("impossible label count".into());
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            labels.push((self.string()?, self.string()?));
        }
        let job = labels
            .iter()
            .find(|(k, _)| k == "job")
            .map(|(_, v)| v.clone())
            .ok_or("a grouping key without job")?;
        labels.retain(|(k, _)| k != "job");
        Ok(GroupingKey::new(&job, &labels))
    }
}

fn decode(payload: &[u8]) -> Result<Record, String> {
    let mut c = Cursor { b: payload, pos: 0 };
    let op = *c.take(1)?.first().expect("1 byte");
    let rec = match op {
        OP_GROUP => {
            let key = c.key()?;
            let mut g = Group::new(key);
            g.push_time_ns = c.i64()?;
            g.failure_time_ns = c.i64()?;
            let ttl = c.i64()?;
            g.ttl_ms = (ttl >= 0).then_some(ttl);
            let n = c.u32()? as usize;
            if n > payload.len() {
                return Err("impossible family count".into());
            }
            for _ in 0..n {
                let time_ns = c.i64()?;
                let (name, stored) = Stored::from_encoded(c.bytes()?, time_ns)?;
                g.families.insert(name, stored);
            }
            Record::Put(g)
        }
        OP_DELETE => Record::Delete(c.key()?),
        OP_WIPE => Record::Wipe,
        other => return Err(format!("unknown record type {other}")),
    };
    if c.pos != payload.len() {
        return Err("bytes after the record's end".into());
    }
    Ok(rec)
}

/// Reads records from `data` (after the header): the records, and the offset where valid
/// data ends with the reason reading stopped there, if it stopped early.
fn read_records(data: &[u8]) -> (Vec<Record>, usize, Option<String>) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        if data.len() - pos < 8 {
            return (out, pos, Some("a record header ends early".into()));
        }
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4"));
        let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4"));
        if len > MAX_RECORD || len as usize > data.len() - pos - 8 {
            return (out, pos, Some("a record runs past the end".into()));
        }
        let payload = &data[pos + 8..pos + 8 + len as usize];
        if crc32c::crc32c(payload) != crc {
            return (out, pos, Some("checksum mismatch".into()));
        }
        match decode(payload) {
            Ok(r) => out.push(r),
            Err(e) => return (out, pos, Some(e)),
        }
        pos += 8 + len as usize;
    }
    (out, pos, None)
}

/// Why a file without our header is refused: another format version, or not ours at all.
fn not_ours(data: &[u8], magic: &[u8; 8], what: &str) -> String {
    match data.get(..8) {
        Some(m) if m[..7] == magic[..7] => format!(
            "format version {} (this prombox reads version {}; it was written by another one)",
            String::from_utf8_lossy(&m[7..]),
            magic[7] as char
        ),
        _ => format!("not a prombox gateway {what}"),
    }
}

fn read_header(data: &[u8], magic: &[u8; 8]) -> Option<u64> {
    if data.len() < HEADER || &data[..8] != magic {
        return None;
    }
    Some(u64::from_le_bytes(data[8..16].try_into().expect("8")))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

/// Writes `dir/name` atomically: temp file, fsync, rename, fsync of the directory.
fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<(), Error> {
    let tmp = dir.join(format!("{name}.tmp"));
    let res = (|| -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io(tmp, e));
    }
    let dst = dir.join(name);
    fs::rename(&tmp, &dst).map_err(io_err(&dst))?;
    sync_dir(dir)
}

fn apply(groups: &mut Groups, r: Record) {
    match r {
        Record::Put(g) => {
            groups.insert(g.key.clone(), g);
        }
        Record::Delete(k) => {
            groups.remove(&k);
        }
        Record::Wipe => groups.clear(),
    }
}

type Groups = std::collections::BTreeMap<GroupingKey, Group>;

/// Reads `dir/gateway.snap` if there is one: its groups, generation and size. Damage there is
/// an error, since a snapshot is written whole before it takes its name.
fn read_snapshot(dir: &Path) -> Result<(Groups, u64, u64), Error> {
    let mut groups = Groups::new();
    let path = dir.join("gateway.snap");
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((groups, 0, 0)),
        Err(e) => return Err(Error::Io(path, e)),
    };
    let generation = read_header(&data, SNAP_MAGIC).ok_or_else(|| Error::Corrupt {
        path: path.clone(),
        offset: 0,
        why: not_ours(&data, SNAP_MAGIC, "snapshot"),
    })?;
    let (records, end, why) = read_records(&data[HEADER..]);
    if let Some(why) = why {
        return Err(Error::Corrupt {
            path,
            offset: (HEADER + end) as u64,
            why,
        });
    }
    for r in records {
        apply(&mut groups, r);
    }
    Ok((groups, generation, data.len() as u64))
}

impl Disk {
    /// Opens (creating) the state directory, locks it, and reads the state.
    pub fn open(dir: &Path) -> Result<(Disk, Loaded), Error> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(Error::Locked(dir.to_path_buf()));
        }
        for tmp in ["gateway.snap.tmp", "gateway.log.tmp"] {
            let _ = fs::remove_file(dir.join(tmp));
        }
        let (mut groups, snap_gen, snapshot_bytes) = read_snapshot(dir)?;
        let log_path = dir.join("gateway.log");
        let mut truncated = 0;
        let mut log_gen = None;
        let mut valid_end = HEADER as u64;
        match fs::read(&log_path) {
            Ok(data) => {
                if let Some(g) = read_header(&data, LOG_MAGIC).filter(|&g| g > snap_gen) {
                    let (records, end, why) = read_records(&data[HEADER..]);
                    for r in records {
                        apply(&mut groups, r);
                    }
                    valid_end = (HEADER + end) as u64;
                    if why.is_some() {
                        truncated = data.len() as u64 - valid_end;
                    }
                    log_gen = Some(g);
                } else if data.len() < HEADER && data.starts_with(&LOG_MAGIC[..data.len().min(8)]) {
                    // A log whose header was being written when the process died.
                } else if read_header(&data, LOG_MAGIC).is_none() {
                    return Err(Error::Corrupt {
                        path: log_path,
                        offset: 0,
                        why: not_ours(&data, LOG_MAGIC, "log"),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(log_path, e)),
        }
        let generation = match log_gen {
            Some(g) => g,
            None => {
                let g = snap_gen + 1;
                let mut h = LOG_MAGIC.to_vec();
                h.extend_from_slice(&g.to_le_bytes());
                write_atomic(dir, "gateway.log", &h)?;
                g
            }
        };
        let log = OpenOptions::new()
            .write(true)
            .open(&log_path)
            .map_err(io_err(&log_path))?;
        if truncated > 0 {
            log.set_len(valid_end).map_err(io_err(&log_path))?;
            log.sync_all().map_err(io_err(&log_path))?;
        }
        let written = log.metadata().map_err(io_err(&log_path))?.len();
        let mut log = log;
        use std::io::Seek;
        log.seek(io::SeekFrom::End(0)).map_err(io_err(&log_path))?;
        let sync_file = log.try_clone().map_err(io_err(&log_path))?;
        Ok((
            Disk {
                dir: dir.to_path_buf(),
                _lock: lock,
                log,
                generation,
                written,
                base: 0,
                snapshot_bytes,
                sync: SyncHandle(Arc::new(SyncState {
                    written: AtomicU64::new(written),
                    synced: Mutex::new((written, sync_file)),
                    path: log_path,
                })),
            },
            Loaded {
                groups: groups.into_values().collect(),
                truncated,
            },
        ))
    }

    /// Appends a change (not yet durable); returns the position [`SyncHandle::sync_to`]
    /// must reach for it to be.
    pub fn append(&mut self, c: &Change<'_>) -> Result<u64, Error> {
        let rec = encode(c);
        if let Err(e) = self.log.write_all(&rec) {
            // Leave no partial record behind for the next append to follow.
            let _ = self.log.set_len(self.written);
            use std::io::Seek;
            let _ = self.log.seek(io::SeekFrom::End(0));
            return Err(Error::Io(self.dir.join("gateway.log"), e));
        }
        self.written += rec.len() as u64;
        let pos = self.base + self.written;
        self.sync.0.written.store(pos, Ordering::Release);
        Ok(pos)
    }

    /// The handle writers wait on for durability after releasing their lock.
    pub fn sync_handle(&self) -> SyncHandle {
        self.sync.clone()
    }

    /// Whether the log has grown enough to be folded into a new snapshot.
    pub fn wants_snapshot(&self) -> bool {
        self.written > (8 << 20).max(2 * self.snapshot_bytes)
    }

    /// Writes every group as the new snapshot and starts a new, empty log.
    pub fn snapshot<'a>(&mut self, groups: impl Iterator<Item = &'a Group>) -> Result<(), Error> {
        // Streamed to the file, a group at a time: a snapshot never doubles the memory held.
        let tmp = self.dir.join("gateway.snap.tmp");
        let written = (|| -> io::Result<u64> {
            let mut w = io::BufWriter::with_capacity(256 << 10, File::create(&tmp)?);
            w.write_all(SNAP_MAGIC)?;
            w.write_all(&self.generation.to_le_bytes())?;
            let mut n = HEADER as u64;
            for g in groups {
                let rec = encode(&Change::Put(g));
                w.write_all(&rec)?;
                n += rec.len() as u64;
            }
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            Ok(n)
        })();
        let written = match written {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(Error::Io(tmp, e));
            }
        };
        let dst = self.dir.join("gateway.snap");
        fs::rename(&tmp, &dst).map_err(io_err(&dst))?;
        sync_dir(&self.dir)?;
        self.snapshot_bytes = written;
        let next = self.generation + 1;
        let mut h = LOG_MAGIC.to_vec();
        h.extend_from_slice(&next.to_le_bytes());
        write_atomic(&self.dir, "gateway.log", &h)?;
        let path = self.dir.join("gateway.log");
        let mut log = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        use std::io::Seek;
        log.seek(io::SeekFrom::End(0)).map_err(io_err(&path))?;
        let sync_file = log.try_clone().map_err(io_err(&path))?;
        // Everything in the old log is in the snapshot, which is on disk.
        self.base += self.written;
        self.log = log;
        self.generation = next;
        self.written = HEADER as u64;
        let pos = self.base + self.written;
        self.sync.0.written.store(pos, Ordering::Release);
        *self.sync.0.synced.lock().unwrap_or_else(|e| e.into_inner()) = (pos, sync_file);
        Ok(())
    }
}

/// Decodes a whole snapshot or log file: the groups it leaves, or the offset and reason of
/// the first damage (a torn end included).
pub fn decode_file(data: &[u8]) -> Result<Vec<Group>, (usize, String)> {
    if read_header(data, SNAP_MAGIC)
        .or_else(|| read_header(data, LOG_MAGIC))
        .is_none()
    {
        return Err((0, "not a prombox gateway snapshot or log".into()));
    }
    let (records, end, why) = read_records(&data[HEADER..]);
    if let Some(why) = why {
        return Err((HEADER + end, why));
    }
    let mut groups = std::collections::BTreeMap::new();
    for r in records {
        apply(&mut groups, r);
    }
    Ok(groups.into_values().collect())
}

/// Reads the state of a directory without locking it or changing anything (for
/// `gateway --once`, which may run beside a live gateway): the snapshot, then the log up
/// to its last complete record.
pub fn read_only(dir: &Path) -> Result<Vec<Group>, Error> {
    let (mut groups, snap_gen, _) = read_snapshot(dir)?;
    let log_path = dir.join("gateway.log");
    let mut data = Vec::new();
    match File::open(&log_path) {
        Ok(mut f) => {
            f.read_to_end(&mut data).map_err(io_err(&log_path))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::Io(log_path, e)),
    }
    if read_header(&data, LOG_MAGIC).is_some_and(|g| g > snap_gen) {
        let (records, _, _) = read_records(&data[HEADER..]);
        for r in records {
            apply(&mut groups, r);
        }
    }
    Ok(groups.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expfmt::family::{Family, Kind, Metric, Value};

    fn group(job: &str, v: f64) -> Group {
        let mut g = Group::new(GroupingKey::new(job, &[("instance".into(), "a/b".into())]));
        g.push_time_ns = 1_700_000_000_123_456_789;
        g.ttl_ms = Some(60_000);
        let mut f = Family::new("m", Kind::Gauge);
        f.help = Some("Help.".into());
        f.metrics.push(Metric {
            labels: vec![("job".into(), job.into())],
            value: Value::Gauge(v),
            timestamp_ms: None,
        });
        g.families.insert("m".into(), Stored::new(&f, 5));
        g
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("prombox-gw-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn log_replays_and_torn_tail_is_cut() {
        let d = tmpdir("torn");
        {
            let (mut disk, loaded) = Disk::open(&d).unwrap();
            assert!(loaded.groups.is_empty());
            let s = disk.sync_handle();
            let end = disk.append(&Change::Put(&group("a", 1.0))).unwrap();
            disk.append(&Change::Put(&group("b", 2.0))).unwrap();
            let end2 = disk.append(&Change::Delete(&group("a", 0.0).key)).unwrap();
            s.sync_to(end).unwrap();
            s.sync_to(end2).unwrap();
        }
        // A torn record at the end: half of a new one.
        let log = d.join("gateway.log");
        let rec = encode(&Change::Put(&group("c", 3.0)));
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(&rec[..rec.len() / 2]).unwrap();
        drop(f);
        let (disk, loaded) = Disk::open(&d).unwrap();
        assert_eq!(loaded.groups, vec![group("b", 2.0)]);
        assert_eq!(loaded.truncated, (rec.len() / 2) as u64);
        assert_eq!(read_only(&d).unwrap(), vec![group("b", 2.0)]);
        // Locked while open.
        assert!(matches!(Disk::open(&d), Err(Error::Locked(_))));
        drop(disk);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn snapshot_then_new_log() {
        let d = tmpdir("snap");
        {
            let (mut disk, _) = Disk::open(&d).unwrap();
            disk.append(&Change::Put(&group("a", 1.0))).unwrap();
            let gs = [group("a", 1.0), group("b", 2.0)];
            disk.snapshot(gs.iter()).unwrap();
            disk.append(&Change::Wipe).unwrap();
            disk.append(&Change::Put(&group("c", 3.0))).unwrap();
        }
        let (_disk, loaded) = Disk::open(&d).unwrap();
        assert_eq!(loaded.groups, vec![group("c", 3.0)]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_stale_log_is_ignored() {
        let d = tmpdir("stale");
        {
            let (mut disk, _) = Disk::open(&d).unwrap();
            disk.append(&Change::Put(&group("a", 1.0))).unwrap();
        }
        // The snapshot of generation 1 was written, the new log not yet: the old log is
        // already in the snapshot.
        let mut data = SNAP_MAGIC.to_vec();
        data.extend_from_slice(&1u64.to_le_bytes());
        data.extend_from_slice(&encode(&Change::Put(&group("z", 9.0))));
        fs::write(d.join("gateway.snap"), data).unwrap();
        let (_disk, loaded) = Disk::open(&d).unwrap();
        assert_eq!(loaded.groups, vec![group("z", 9.0)]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let d = tmpdir("version");
        fs::create_dir_all(&d).unwrap();
        let mut data = b"PBGWSNP2".to_vec();
        data.extend_from_slice(&1u64.to_le_bytes());
        fs::write(d.join("gateway.snap"), &data).unwrap();
        let e = Disk::open(&d).err().unwrap().to_string();
        assert!(
            e.contains("format version 2 (this prombox reads version 1"),
            "{e}"
        );
        fs::write(d.join("gateway.snap"), b"something else entirely").unwrap();
        let e = Disk::open(&d).err().unwrap().to_string();
        assert!(e.contains("not a prombox gateway snapshot"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }
}
