//! Block metadata (`meta.json`) and tombstones (`tombstones/<seq>.json`).
//!
//! Both are small JSON documents written to a temporary name, fsynced and renamed, so they are
//! either whole or absent.
//!
//! ```text
//! meta.json  {"version":1, "id":43, "mint":…, "maxt":…,          ← sample times, ms, inclusive
//!             "range":[start, end],                               ← aligned range, end exclusive
//!             "max_seq":42,                                       ← newest data it holds
//!             "replaces":{"segments":[40,41],"blocks":[12]},      ← segments: their data
//!                                                                    in `range` only
//!             "applied_tombstones":[39],
//!             "stats":{"series":…,"samples":…,"chunks":…,"columns":…}}
//! tombstone  {"version":1, "seq":44, "selectors":["{job=\"x\"}"], "mint":…, "maxt":…}
//! ```

use serde::{Deserialize, Serialize};

use super::Corruption;
use crate::model::matcher::{parse_selector, Matcher};
use crate::model::Labels;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Replaces {
    pub segments: Vec<u64>,
    pub blocks: Vec<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    pub series: u64,
    pub samples: u64,
    pub chunks: u64,
    /// Distinct timestamp columns (chunks share identical ones).
    pub columns: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockMeta {
    pub version: u32,
    pub id: u64,
    pub mint: i64,
    pub maxt: i64,
    pub range: [i64; 2],
    pub max_seq: u64,
    pub replaces: Replaces,
    pub applied_tombstones: Vec<u64>,
    pub stats: Stats,
}

/// A delete request: samples of matching series in `[mint, maxt]`, in data older than `seq`.
#[derive(Clone, Debug)]
pub struct Tombstone {
    pub seq: u64,
    /// Each entry is one selector; a series matching any of them is deleted.
    pub selectors: Vec<Vec<Matcher>>,
    pub mint: i64,
    pub maxt: i64,
}

#[derive(Serialize, Deserialize)]
struct TombstoneJson {
    version: u32,
    seq: u64,
    selectors: Vec<String>,
    mint: i64,
    maxt: i64,
}

impl Tombstone {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.selectors
            .iter()
            .any(|ms| crate::model::matcher::matches_all(ms, labels))
    }

    /// Whether the tombstone's time range includes `t`.
    pub fn covers(&self, t: i64) -> bool {
        self.mint <= t && t <= self.maxt
    }

    pub fn to_json(&self) -> String {
        let j = TombstoneJson {
            version: 1,
            seq: self.seq,
            selectors: self
                .selectors
                .iter()
                .map(|ms| crate::model::matcher::display_selector(ms))
                .collect(),
            mint: self.mint,
            maxt: self.maxt,
        };
        serde_json::to_string(&j).expect("serializable")
    }

    pub fn from_json(s: &str) -> Result<Tombstone, Corruption> {
        let j: TombstoneJson = serde_json::from_str(s).map_err(|e| Corruption(e.to_string()))?;
        if j.version != 1 {
            return Err(Corruption(format!(
                "unknown tombstone version {}",
                j.version
            )));
        }
        let selectors = j
            .selectors
            .iter()
            .map(|s| parse_selector(s).map_err(|e| Corruption(format!("selector {s:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tombstone {
            seq: j.seq,
            selectors,
            mint: j.mint,
            maxt: j.maxt,
        })
    }
}
