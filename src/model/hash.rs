//! The hashes prombox uses, and which one goes where:
//!
//! - [`fold_hasher`] (foldhash, fixed seed) for label sets held in memory: grouping checks,
//!   duplicate detection, the ingester's series map. Fast and well mixed; its output may
//!   change with the crate's version, so it never reaches a file.
//! - [`stable_hash`] (XXH64, stable by its specification) for every hash kept on disk (the
//!   scrape state) and for `limit_ratio`, which samples series by Prometheus's label-set
//!   hash, so that the same series are picked as in Prometheus.
//! - MD5 ([`md5`]), which the `hashmod` relabel action takes of the joined source values,
//!   bit-exact with Prometheus.
//! - [`IdHasher`] for maps keyed by one of these hashes already (the key is the hash).
//!
//! None of them is for hash tables exposed to untrusted keys, where std's SipHash is the
//! default.

use std::hash::{BuildHasher, Hasher};

/// The seed of [`fold_hasher`]: fixed, so a process's hashes are deterministic.
const FOLD_SEED: u64 = 0x243f_6a88_85a3_08d3;

/// A hasher for label sets held in memory (foldhash with a fixed seed).
pub fn fold_hasher() -> foldhash::fast::FoldHasher<'static> {
    foldhash::fast::FixedState::with_seed(FOLD_SEED).build_hasher()
}

/// XXH64 of `data` with seed 0: the hash for anything written to disk, and Prometheus's
/// label-set hash.
pub fn stable_hash(data: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(data, 0)
}

/// MD5 (RFC 1321) of `data`.
pub fn md5(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}

/// A hasher for maps keyed by an already mixed 64-bit hash: the key is the hash.
#[derive(Clone, Copy, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = self.0.rotate_left(8) ^ x as u64;
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// A set of 64-bit hashes.
pub type HashSet64 = std::collections::HashSet<u64, std::hash::BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn h<T: Hash>(t: T) -> u64 {
        let mut s = fold_hasher();
        t.hash(&mut s);
        s.finish()
    }

    /// Regression: a multiply-rotate hash collided on 4 M label sets differing only in a number.
    #[test]
    fn near_identical_label_sets_do_not_collide() {
        let mut seen = std::collections::HashSet::new();
        let mut value = String::new();
        for i in 0..2_000_000u32 {
            value.clear();
            use std::fmt::Write;
            let _ = write!(value, "host-{i}.example.org:9100");
            assert!(
                seen.insert(h(("x", "instance", value.as_str(), "job", "node"))),
                "{i}"
            );
        }
    }

    #[test]
    fn distinguishes_boundaries() {
        assert_ne!(h(("ab", "c")), h(("a", "bc")));
        assert_ne!(h("a"), h("a\0"));
        assert_eq!(h(("x", "y")), h(("x", "y")));
    }

    /// The values the hashes on disk and Prometheus's choices depend on.
    #[test]
    fn known_values() {
        assert_eq!(stable_hash(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(stable_hash(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(
            stable_hash(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(md5(b"message digest")),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            hex(md5(&b"1234567890".repeat(8))),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }
}
