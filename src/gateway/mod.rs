//! `prombox gateway`: a Pushgateway that keeps what it acknowledges.
//!
//! ```text
//!   http.rs    the Pushgateway's HTTP API (routes, bodies, negotiation, JSON) → Gateway
//!   mod.rs     Gateway: the store behind one lock, every write logged before it is
//!              visible and fsynced before it is acknowledged
//!   store.rs   groups, write semantics, consistency checks, expiry, merged view (pure)
//!   disk.rs    snapshot + log of group states: durable acks, crash-safe replay
//!   own.rs     the gateway's own metrics (requests, process)
//! ```
//!
//! Writes are serialized by the state lock (as the Pushgateway serializes them through one
//! queue); the fsync that makes a write durable happens after the lock is released, so
//! concurrent pushes share it.

pub mod disk;
pub mod http;
pub mod own;
pub mod store;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::expfmt::family::Family;
use crate::push::GroupingKey;
use disk::{Change, Disk, SyncHandle};
use store::{Group, Push, PushError, Store};

/// Why a write was not done.
#[derive(Debug)]
pub enum WriteError {
    /// Refused by the store's checks or limits.
    Refused(PushError),
    /// The state could not be written; the gateway takes no more writes.
    Disk(disk::Error),
    /// An earlier disk failure stopped writes.
    Stopped,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Refused(e) => e.fmt(f),
            WriteError::Disk(e) => write!(f, "writing the state failed: {e}"),
            WriteError::Stopped => {
                f.write_str("writes are stopped after the state could not be written")
            }
        }
    }
}

impl std::error::Error for WriteError {}

struct State {
    store: Store,
    disk: Disk,
}

/// The running gateway's state.
pub struct Gateway {
    state: Mutex<State>,
    sync: SyncHandle,
    stopped: AtomicBool,
    pub own: own::Own,
}

fn now_ns() -> i64 {
    crate::model::time::now_ns()
}

impl Gateway {
    /// Opens the state directory (creating it), reads the state, and drops expired groups.
    pub fn open(
        dir: &Path,
        limits: store::Limits,
        default_ttl_ms: Option<i64>,
    ) -> Result<(Gateway, u64), disk::Error> {
        let (disk, loaded) = Disk::open(dir)?;
        let own = own::Own::new();
        let mut store = Store::new(own.names(), limits);
        store.default_ttl_ms = default_ttl_ms;
        for g in loaded.groups {
            store.put(g);
        }
        store.expire(now_ns());
        let sync = disk.sync_handle();
        Ok((
            Gateway {
                state: Mutex::new(State { store, disk }),
                sync,
                stopped: AtomicBool::new(false),
                own,
            },
            loaded.truncated,
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs one state change while the lock is held; the returned position must be synced
    /// before the write is acknowledged.
    fn log(&self, st: &mut State, c: &Change<'_>) -> Result<u64, WriteError> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(WriteError::Stopped);
        }
        let pos = st.disk.append(c).map_err(|e| {
            self.stopped.store(true, Ordering::Release);
            WriteError::Disk(e)
        })?;
        Ok(pos)
    }

    fn durable(&self, pos: u64) -> Result<(), WriteError> {
        self.sync.sync_to(pos).map_err(|e| {
            self.stopped.store(true, Ordering::Release);
            WriteError::Disk(e)
        })
    }

    /// Folds the log into a snapshot when it has grown; a failure leaves the old pair.
    fn maybe_snapshot(&self, st: &mut State) {
        if st.disk.wants_snapshot() {
            let State { store, disk } = st;
            if let Err(e) = disk.snapshot(store.groups()) {
                eprintln!("prombox: gateway: writing a snapshot failed (the log is kept): {e}");
            }
        }
    }

    /// Applies a push; returns once it is on disk.
    pub fn push(&self, p: Push) -> Result<(), WriteError> {
        let (pos, result) = {
            let mut st = self.lock();
            st.store.expire(p.time_ns);
            match st.store.prepare(p) {
                Ok(g) => {
                    let pos = self.log(&mut st, &Change::Put(&g))?;
                    st.store.put(g);
                    self.maybe_snapshot(&mut st);
                    (pos, Ok(()))
                }
                Err(refusal) => {
                    let store::Refusal { error: e, failed } = *refusal;
                    let pos = match failed {
                        Some(g) => {
                            let pos = self.log(&mut st, &Change::Put(&g))?;
                            st.store.put(g);
                            pos
                        }
                        None => 0,
                    };
                    (pos, Err(WriteError::Refused(e)))
                }
            }
        };
        self.durable(pos)?;
        release_freed_memory();
        result
    }

    /// Deletes the groups with these keys (those that exist); returns how many, once on disk.
    fn delete_keys(
        &self,
        st: &mut State,
        keys: &[GroupingKey],
    ) -> Result<(usize, u64), WriteError> {
        let mut pos = 0;
        let mut n = 0;
        for k in keys {
            if st.store.group(k).is_some() {
                pos = self.log(st, &Change::Delete(k))?;
                st.store.delete(k);
                n += 1;
            }
        }
        Ok((n, pos))
    }

    /// Deletes the group with exactly this key.
    pub fn delete(&self, key: &GroupingKey) -> Result<usize, WriteError> {
        let (n, pos) = {
            let mut st = self.lock();
            st.store.expire(now_ns());
            let r = self.delete_keys(&mut st, std::slice::from_ref(key))?;
            self.maybe_snapshot(&mut st);
            r
        };
        self.durable(pos)?;
        Ok(n)
    }

    /// Deletes every group whose key holds all of `prefix`'s labels.
    pub fn delete_matching(&self, prefix: &GroupingKey) -> Result<usize, WriteError> {
        let (n, pos) = {
            let mut st = self.lock();
            st.store.expire(now_ns());
            let keys = st.store.matching(prefix);
            let r = self.delete_keys(&mut st, &keys)?;
            self.maybe_snapshot(&mut st);
            r
        };
        self.durable(pos)?;
        Ok(n)
    }

    /// Deletes every group.
    pub fn wipe(&self) -> Result<usize, WriteError> {
        let (n, pos) = {
            let mut st = self.lock();
            let pos = self.log(&mut st, &Change::Wipe)?;
            (st.store.wipe(), pos)
        };
        self.durable(pos)?;
        Ok(n)
    }

    /// Whether writes are still taken (for `/-/ready`).
    pub fn writable(&self) -> bool {
        !self.stopped.load(Ordering::Acquire)
    }

    /// Runs `f` over the store (expired groups dropped first), under the lock.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let mut st = self.lock();
        st.store.expire(now_ns());
        f(&st.store)
    }

    /// As [`Gateway::read`], with the gateway's own families as of now (for `/metrics`).
    pub fn read_with_own<T>(&self, f: impl FnOnce(&Store, &[Family]) -> T) -> T {
        self.read(|store| {
            let own = self.own.families(store.len(), store.series_count());
            f(store, &own)
        })
    }
}

/// Hands memory freed by a write back to the system: a push's parse leaves holes between
/// the long-lived encoded families, which glibc would otherwise keep resident.
pub(crate) fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free memory to the system; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The groups held in a state directory, read without a running gateway (`--once`); expired
/// groups are left out.
pub fn read_dir_groups(dir: &Path) -> Result<Vec<Group>, disk::Error> {
    let now = now_ns();
    let mut groups = disk::read_only(dir)?;
    groups.retain(|g| g.expires_ns().is_none_or(|e| e > now));
    Ok(groups)
}
