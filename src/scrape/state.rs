//! Scrape state kept in the data dir between runs, so staleness works when every round is a
//! new process (cron): per job, the targets of its last round and, per target, the series
//! its last scrape tracked. The next round marks stale what is gone — series a target no
//! longer exposes, and every series (report series included) of a target that discovery no
//! longer yields.
//!
//! # Layout
//!
//! ```text
//! DIR/scrape/
//! ├── <job>.state      the last round of one job; <job> = 16 hex digits of a hash of the name
//! ├── <job>.lock       flock'd (exclusive) by the process running a round of that job
//! └── tmp-<pid>-<n>    a state being written; renamed over <job>.state when complete
//! ```
//!
//! Job names are never used as file names; the name is stored inside and checked.
//!
//! # File format
//!
//! ```text
//! ┌──────────────────────────┬────────────────┬────────────────┬──────────────────────┐
//! │ magic "PBSCRST2" (8 B)   │ len u32 LE     │ CRC-32C u32 LE │ zstd frame (len B)   │
//! └──────────────────────────┴────────────────┴────────────────┴──────────────────────┘
//! the CRC covers the zstd frame; the frame holds:
//! ┌────────────────────┬──────────────┬─────────────────────────────────────────────────┐
//! │ job name (string)  │ n (uvarint)  │ n × target                                      │
//! └────────────────────┴──────────────┴─────────────────────────────────────────────────┘
//! target:  key u64 LE │ last scrape ms i64 LE │ labels (after relabeling, `__` ones too)
//!          │ m (uvarint) │ m × series hash u64 LE │ len (uvarint) │ len B: m × labels
//! labels:  k (uvarint) │ k × (name string, value string)
//! string:  len (uvarint) │ UTF-8 bytes
//! ```
//!
//! Every hash here is XXH64, whose values are fixed by its specification: a state written by
//! one version of prombox is read by the next.
//!
//! The tracked series are compared by hash ([`series_hash`]); their label sets are kept
//! encoded and only decoded for the few that went stale, so a round over many targets
//! does not rebuild every label set of the last one.
//!
//! A state file that is missing, damaged or from another job counts as no state (nothing is
//! marked stale), and the round replaces it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use std::cell::RefCell;

use crate::model::hash::stable_hash;
use crate::model::{Label, Labels};
use crate::storage::chunk::{put_uvarint, Cursor};
use crate::storage::Corruption;
use crc32c::crc32c;

/// Version 2: every hash is XXH64. Version 1 files (hashes of another function, under other
/// names) cannot be used and are removed by the next full round.
const MAGIC: &[u8; 8] = b"PBSCRST2";
const OLD_MAGICS: [&[u8; 8]; 1] = [b"PBSCRST1"];

/// One target as its last scrape left it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetState {
    /// Identifies the target: a hash of its labels (internal ones included) and URL.
    pub key: u64,
    pub last_ms: i64,
    /// The target's labels after relabeling, internal ones included (to scrape it again
    /// when discovery fails, and to name its report series).
    pub labels: Labels,
    /// The [`series_hash`] of each series tracked for staleness.
    pub hashes: Vec<u64>,
    /// Their label sets, encoded one after another in the same order.
    pub series: Vec<u8>,
}

impl TargetState {
    /// Adds a tracked series.
    pub fn track(&mut self, hash: u64, l: &Labels) {
        self.hashes.push(hash);
        put_labels(&mut self.series, l);
    }

    /// The label sets of the tracked series whose hash `pick` accepts.
    pub fn tracked_where(&self, pick: impl Fn(u64) -> bool) -> Vec<Labels> {
        let mut out = Vec::new();
        let mut c = Cursor::new(&self.series);
        for &h in &self.hashes {
            if pick(h) {
                match get_labels(&mut c) {
                    Ok(l) => out.push(l),
                    Err(_) => break,
                }
            } else if skip_labels(&mut c).is_err() {
                break;
            }
        }
        out
    }
}

/// The hash that identifies a series between runs: XXH64 of `name 0xff value 0xff ...`
/// (stable across versions, as a hash kept in a file must be).
pub fn series_hash(l: &Labels) -> u64 {
    thread_local!(static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) });
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        b.clear();
        for x in l.iter() {
            b.extend_from_slice(x.name.as_bytes());
            b.push(0xff);
            b.extend_from_slice(x.value.as_bytes());
            b.push(0xff);
        }
        stable_hash(&b)
    })
}

/// A job's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobState {
    pub job: String,
    pub targets: Vec<TargetState>,
}

/// The hash that names a job's files.
pub fn job_id(job: &str) -> String {
    format!("{:016x}", stable_hash(job.as_bytes()))
}

/// The key of a target: its labels (all of them) and URL.
pub fn target_key(labels: &Labels, url: &str) -> u64 {
    let mut b = series_hash(labels).to_le_bytes().to_vec();
    b.extend_from_slice(url.as_bytes());
    stable_hash(&b)
}

pub(crate) fn put_str(b: &mut Vec<u8>, s: &str) {
    put_uvarint(b, s.len() as u64);
    b.extend_from_slice(s.as_bytes());
}

pub(crate) fn put_labels(b: &mut Vec<u8>, l: &Labels) {
    put_uvarint(b, l.len() as u64);
    for x in l.iter() {
        put_str(b, &x.name);
        put_str(b, &x.value);
    }
}

pub(crate) fn get_labels(c: &mut Cursor) -> Result<Labels, Corruption> {
    let n = c.len()?;
    let mut v = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let name = c.str()?.to_string();
        let value = c.str()?.to_string();
        v.push(Label { name, value });
    }
    Labels::from_sorted(v).map_err(|e| Corruption::new(&format!("bad label set: {e}")))
}

fn skip_labels(c: &mut Cursor) -> Result<(), Corruption> {
    for _ in 0..c.len()? {
        for _ in 0..2 {
            let n = c.len()?;
            c.bytes(n)?;
        }
    }
    Ok(())
}

/// Encodes a state file.
pub fn encode(s: &JobState) -> Vec<u8> {
    let mut p = Vec::new();
    put_str(&mut p, &s.job);
    put_uvarint(&mut p, s.targets.len() as u64);
    for t in &s.targets {
        p.extend_from_slice(&t.key.to_le_bytes());
        p.extend_from_slice(&t.last_ms.to_le_bytes());
        put_labels(&mut p, &t.labels);
        put_uvarint(&mut p, t.hashes.len() as u64);
        for h in &t.hashes {
            p.extend_from_slice(&h.to_le_bytes());
        }
        put_uvarint(&mut p, t.series.len() as u64);
        p.extend_from_slice(&t.series);
    }
    frame(MAGIC, &p)
}

/// A state file: `magic │ len u32 LE │ CRC-32C u32 LE │ zstd frame of payload`.
pub(crate) fn frame(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let frame = zstd::bulk::compress(payload, 1).unwrap_or_default();
    let mut out = Vec::with_capacity(16 + frame.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c(&frame).to_le_bytes());
    out.extend_from_slice(&frame);
    out
}

/// The payload of a state file written by [`frame`], checked.
pub(crate) fn unframe(magic: &[u8; 8], data: &[u8], what: &str) -> Result<Vec<u8>, Corruption> {
    if data.len() < 16 || &data[..8] != magic {
        return Err(Corruption::new(&format!("not a {what} file")));
    }
    let len = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(data[12..16].try_into().unwrap_or_default());
    let frame = data
        .get(16..16 + len)
        .ok_or_else(|| Corruption::new("truncated"))?;
    if crc32c(frame) != crc {
        return Err(Corruption::new("checksum mismatch"));
    }
    let mut p = Vec::new();
    zstd::stream::copy_decode(frame, &mut p).map_err(|e| Corruption::new(&format!("zstd: {e}")))?;
    Ok(p)
}

/// Decodes a state file.
pub fn decode(data: &[u8]) -> Result<JobState, Corruption> {
    let p = unframe(MAGIC, data, "scrape state")?;
    let mut c = Cursor::new(&p);
    let job = c.str()?.to_string();
    let n = c.len()?;
    let mut targets = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let key = c.u64()?;
        let last_ms = c.u64()? as i64;
        let labels = get_labels(&mut c)?;
        let m = c.len()?;
        let mut hashes = Vec::with_capacity(m.min(1 << 16));
        for _ in 0..m {
            hashes.push(c.u64()?);
        }
        let n = c.len()?;
        let series = c.bytes(n)?.to_vec();
        targets.push(TargetState {
            key,
            last_ms,
            labels,
            hashes,
            series,
        });
    }
    Ok(JobState { job, targets })
}

/// The `scrape/` directory of a data dir.
pub fn dir(data: &Path) -> PathBuf {
    data.join("scrape")
}

/// Holds a job's lock while its round runs.
pub struct JobLock(#[allow(dead_code)] File);

/// Takes the job's lock without waiting; `None` when another process holds it.
pub fn lock(data: &Path, job: &str) -> io::Result<Option<JobLock>> {
    let d = dir(data);
    fs::create_dir_all(&d)?;
    Ok(crate::storage::try_lock(&d.join(format!("{}.lock", job_id(job))))?.map(JobLock))
}

/// Loads a job's state; an absent, damaged or foreign file gives an empty state.
pub fn load(data: &Path, job: &str) -> JobState {
    let p = dir(data).join(format!("{}.state", job_id(job)));
    match fs::read(&p).map(|b| decode(&b)) {
        Ok(Ok(s)) if s.job == job => s,
        _ => JobState {
            job: job.to_string(),
            targets: Vec::new(),
        },
    }
}

/// The jobs with a state file other than `configured` (jobs gone from the config); only
/// their files are read. State files of an older format are removed: their names and hashes
/// come from another hash function, so no job can use them.
pub fn other_jobs(data: &Path, configured: &[&str]) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir(data)) else {
        return Vec::new();
    };
    let known: Vec<String> = configured
        .iter()
        .map(|j| format!("{}.state", job_id(j)))
        .collect();
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.extension().is_some_and(|x| x == "state")
            && !known.iter().any(|k| name.to_str() == Some(k))
        {
            match fs::read(&p) {
                Ok(b) if OLD_MAGICS.iter().any(|m| b.starts_with(*m)) => {
                    let _ = fs::remove_file(&p);
                }
                Ok(b) => {
                    if let Ok(s) = decode(&b) {
                        if !configured.contains(&s.job.as_str()) {
                            out.push(s.job);
                        }
                    }
                }
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// Writes a job's state atomically (temp file, fsync, rename, fsync dir).
pub fn save(data: &Path, s: &JobState) -> io::Result<()> {
    let d = dir(data);
    fs::create_dir_all(&d)?;
    let tmp = d.join(crate::storage::tmp_name(".state-tmp"));
    let res = (|| -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&encode(s))?;
        f.sync_all()?;
        fs::rename(&tmp, d.join(format!("{}.state", job_id(&s.job))))?;
        File::open(&d)?.sync_all()
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Removes a job's state (its job left the config and its series were marked stale).
pub fn remove(data: &Path, job: &str) -> io::Result<()> {
    let d = dir(data);
    match fs::remove_file(d.join(format!("{}.state", job_id(job)))) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let _ = fs::remove_file(d.join(format!("{}.lock", job_id(job))));
    File::open(&d)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(s.iter().copied()).unwrap()
    }

    #[test]
    fn round_trip_and_damage() {
        let mut t = TargetState {
            key: 42,
            last_ms: -5,
            labels: l(&[("job", "node"), ("instance", "h:1")]),
            ..TargetState::default()
        };
        let (a, b) = (l(&[("__name__", "a")]), l(&[("__name__", "b"), ("x", "")]));
        t.track(series_hash(&a), &a);
        t.track(series_hash(&b), &b);
        assert_ne!(series_hash(&a), series_hash(&b));
        assert_eq!(t.tracked_where(|h| h == series_hash(&b)), vec![b.clone()]);
        assert_eq!(t.tracked_where(|_| true), vec![a, b]);
        let s = JobState {
            job: "node ü".into(),
            targets: vec![t],
        };
        let b = encode(&s);
        assert_eq!(decode(&b).unwrap(), s);
        for i in [0, 9, 13, 20, b.len() - 1] {
            let mut bad = b.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad).is_err(), "flip at {i}");
        }
        assert!(decode(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn save_load_remove() {
        let d = std::env::temp_dir().join(format!("prombox-state-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        assert_eq!(load(&d, "j").targets.len(), 0);
        let s = JobState {
            job: "j".into(),
            targets: vec![TargetState::default()],
        };
        let lk = lock(&d, "j").unwrap().unwrap();
        assert!(lock(&d, "j").unwrap().is_none());
        save(&d, &s).unwrap();
        assert_eq!(load(&d, "j"), s);
        assert_eq!(load(&d, "other").targets.len(), 0);
        assert_eq!(other_jobs(&d, &[]), vec!["j".to_string()]);
        assert!(other_jobs(&d, &["j"]).is_empty());
        drop(lk);
        remove(&d, "j").unwrap();
        assert!(other_jobs(&d, &[]).is_empty());
        let _ = fs::remove_dir_all(&d);
    }

    /// The hashes on disk are XXH64, fixed by its specification: these values must never
    /// change, or states written by one version would be misread by the next.
    #[test]
    fn hashes_are_stable() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "node")]).unwrap();
        assert_eq!(
            series_hash(&l),
            stable_hash(b"__name__\xffup\xffjob\xffnode\xff")
        );
        assert_eq!(job_id("node"), format!("{:016x}", stable_hash(b"node")));
        assert_eq!(stable_hash(b"node"), 14_580_695_937_169_233_336);
    }

    /// A state file of the previous format is removed by a full round, not left behind.
    #[test]
    fn old_format_state_is_removed() {
        let d = std::env::temp_dir().join(format!("prombox-state-old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(dir(&d)).unwrap();
        let old = dir(&d).join("0123456789abcdef.state");
        fs::write(&old, b"PBSCRST1\0\0\0\0\0\0\0\0").unwrap();
        assert!(other_jobs(&d, &["j"]).is_empty());
        assert!(!old.exists());
        let _ = fs::remove_dir_all(&d);
    }
}
