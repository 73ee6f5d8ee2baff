//! A fast non-cryptographic 64-bit hasher for label sets: each 8-byte word is mixed with a
//! folded 64×64→128-bit multiply (the construction of foldhash and ahash), which spreads small
//! differences over all bits; a plain multiply-rotate (FxHash) collided on 4 M near-identical
//! label sets in testing.
//!
//! Used where a hash stands in for a set of labels (grouping checks, duplicate detection):
//! not for hash tables exposed to untrusted keys, where std's SipHash is the default.

use std::hash::Hasher;

const K1: u64 = 0x243f_6a88_85a3_08d3;
const K2: u64 = 0x1319_8a2e_0370_7344;

#[derive(Clone, Copy, Default)]
pub struct FoldHasher(u64);

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

impl FoldHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = fold_mul(self.0 ^ w ^ K1, K2).rotate_left(23);
    }
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
        self.add(bytes.len() as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // A final avalanche so that nearby inputs spread over all bits.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn h<T: Hash>(t: T) -> u64 {
        let mut s = FoldHasher::default();
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
}
