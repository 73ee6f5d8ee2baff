//! Chunk encodings: Gorilla-class compression of timestamps and float values.
//!
//! Every encoded chunk starts with an encoding byte, so new kinds (native histograms) add a tag
//! instead of a format version. All integers outside the bit streams are LEB128 varints
//! (`uvarint`; `varint` is zigzag-signed).
//!
//! ```text
//! Xor chunk (segments: one series' samples, self-contained)
//! ┌──────┬────────────┬───────────┬──────────────┬────────────────────────────────────────┐
//! │ 0x01 │ n uvarint  │ t0 varint │ v0 8 bytes LE│ bits: (dod(tᵢ), xor(vᵢ)) for i in 1..n │
//! └──────┴────────────┴───────────┴──────────────┴────────────────────────────────────────┘
//! Timestamp column (blocks: shared by every chunk with the same timestamps)
//! ┌──────┬────────────┬───────────┬─────────────────────────────┐
//! │ 0x02 │ n uvarint  │ t0 varint │ bits: dod(tᵢ) for i in 1..n │
//! └──────┴────────────┴───────────┴─────────────────────────────┘
//! Value column (blocks)
//! ┌──────┬────────────┬──────────────┬─────────────────────────────┐
//! │ 0x03 │ n uvarint  │ v0 8 bytes LE│ bits: xor(vᵢ) for i in 1..n │
//! └──────┴────────────┴──────────────┴─────────────────────────────┘
//! ```
//!
//! Bit streams are most-significant bit first, zero-padded to a whole byte.
//!
//! `dod(tᵢ)`: the delta of deltas `(tᵢ − tᵢ₋₁) − (tᵢ₋₁ − tᵢ₋₂)` (with `t₋₁ = t₀`, so the first one
//! is the first delta), in the first bucket that holds it: `0` for 0; `10` + 7 bits; `110` + 12
//! bits; `1110` + 20 bits; `1111` + 64 bits (two's complement). Regular scrapes cost one bit per
//! sample, and a few milliseconds of jitter nine.
//!
//! `xor(vᵢ)`: Gorilla's value encoding on the raw bits (so every NaN payload, the staleness
//! marker included, survives exactly): `0` when the bits equal the previous value's; `10` +
//! the meaningful bits when they fit the previous leading/trailing-zero window; otherwise `11`
//! + 5 bits leading zeros (at most 31) + 6 bits meaningful-bit count (0 means 64) + the bits.

use super::Corruption;
use crate::model::Sample;

/// The encoding tag of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Xor = 1,
    Timestamps = 2,
    Values = 3,
}

impl Encoding {
    pub fn from_byte(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Timestamps),
            3 => Some(Encoding::Values),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Varints

pub fn put_uvarint(buf: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        buf.push((x as u8) | 0x80);
        x >>= 7;
    }
    buf.push(x as u8);
}

pub fn put_varint(buf: &mut Vec<u8>, x: i64) {
    put_uvarint(buf, ((x << 1) ^ (x >> 63)) as u64);
}

/// A cursor over bytes that reads varints and fixed-width integers, failing on truncation.
pub struct Cursor<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn uvarint(&mut self) -> Result<u64, Corruption> {
        let mut x: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *self
                .data
                .get(self.pos)
                .ok_or(Corruption::new("truncated varint"))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(Corruption::new("varint overflows 64 bits"));
            }
            x |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(x);
            }
            shift += 7;
            if shift > 63 {
                return Err(Corruption::new("varint overflows 64 bits"));
            }
        }
    }

    pub fn varint(&mut self) -> Result<i64, Corruption> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A length that must fit in what is left.
    pub fn len(&mut self) -> Result<usize, Corruption> {
        let n = self.uvarint()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(Corruption::new("length past the end"));
        }
        Ok(n as usize)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Corruption> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(Corruption::new("truncated data"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn str(&mut self) -> Result<&'a str, Corruption> {
        let n = self.len()?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| Corruption::new("invalid UTF-8"))
    }

    pub fn u8(&mut self) -> Result<u8, Corruption> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, Corruption> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("4")))
    }

    pub fn u64(&mut self) -> Result<u64, Corruption> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().expect("8")))
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }
}

// ---------------------------------------------------------------------------------------------
// Bit I/O

struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        BitWriter { out, acc: 0, n: 0 }
    }

    /// Writes the low `bits` bits of `v` (bits ≤ 32 per call on the fast path).
    #[inline]
    fn write(&mut self, v: u64, bits: u32) {
        if bits > 32 {
            self.write(v >> 32, bits - 32);
            self.write(v & 0xffff_ffff, 32);
            return;
        }
        if bits == 0 {
            return;
        }
        let v = v & ((1u64 << bits) - 1);
        self.acc |= v << (64 - self.n - bits);
        self.n += bits;
        while self.n >= 8 {
            self.out.push((self.acc >> 56) as u8);
            self.acc <<= 8;
            self.n -= 8;
        }
    }

    fn finish(self) {
        if self.n > 0 {
            self.out.push((self.acc >> 56) as u8);
        }
    }
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            n: 0,
        }
    }

    #[inline]
    fn refill(&mut self) {
        if self.pos + 8 <= self.data.len() && self.n <= 56 {
            // Fast path: load 8 bytes and keep as many whole bytes as fit.
            let w = u64::from_be_bytes(self.data[self.pos..self.pos + 8].try_into().expect("8"));
            let take = (64 - self.n) / 8;
            let keep = self.n + take * 8;
            let mut add = w >> self.n;
            if keep < 64 {
                add &= !((1u64 << (64 - keep)) - 1);
            }
            self.acc |= add;
            self.pos += take as usize;
            self.n += take * 8;
            return;
        }
        while self.n <= 56 && self.pos < self.data.len() {
            self.acc |= (self.data[self.pos] as u64) << (56 - self.n);
            self.pos += 1;
            self.n += 8;
        }
    }

    /// Reads `bits` ≤ 32 bits.
    #[inline]
    fn read(&mut self, bits: u32) -> Result<u64, Corruption> {
        if bits == 0 {
            return Ok(0);
        }
        if self.n < bits {
            self.refill();
            if self.n < bits {
                return Err(Corruption::new("chunk bit stream ends early"));
            }
        }
        let v = self.acc >> (64 - bits);
        self.acc <<= bits;
        self.n -= bits;
        Ok(v)
    }

    fn read_long(&mut self, bits: u32) -> Result<u64, Corruption> {
        if bits <= 32 {
            return self.read(bits);
        }
        let hi = self.read(bits - 32)?;
        let lo = self.read(32)?;
        Ok((hi << 32) | lo)
    }

    #[inline]
    fn bit(&mut self) -> Result<bool, Corruption> {
        Ok(self.read(1)? == 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Timestamp and value coders

const DOD_BUCKETS: [(u64, u32, u32); 3] = [(0b10, 2, 7), (0b110, 3, 12), (0b1110, 4, 20)];

#[derive(Clone, Copy, Default)]
struct TsEnc {
    prev: i64,
    delta: i64,
}

impl TsEnc {
    #[inline]
    fn put(&mut self, w: &mut BitWriter, t: i64) {
        let delta = t.wrapping_sub(self.prev);
        let dod = delta.wrapping_sub(self.delta);
        self.prev = t;
        self.delta = delta;
        if dod == 0 {
            w.write(0, 1);
            return;
        }
        for (prefix, plen, bits) in DOD_BUCKETS {
            let lim = 1i64 << (bits - 1);
            if dod >= -(lim - 1) && dod <= lim {
                w.write(prefix, plen);
                w.write(dod as u64, bits);
                return;
            }
        }
        w.write(0b1111, 4);
        w.write(dod as u64, 64);
    }
}

#[derive(Clone, Copy, Default)]
struct TsDec {
    prev: i64,
    delta: i64,
}

impl TsDec {
    #[inline]
    fn get(&mut self, r: &mut BitReader) -> Result<i64, Corruption> {
        let mut prefix = 0;
        while prefix < 4 && r.bit()? {
            prefix += 1;
        }
        let dod = match prefix {
            0 => 0,
            4 => r.read_long(64)? as i64,
            p => {
                let bits = DOD_BUCKETS[p - 1].2;
                let raw = r.read(bits)? as i64;
                if raw > 1 << (bits - 1) {
                    raw - (1 << bits)
                } else {
                    raw
                }
            }
        };
        self.delta = self.delta.wrapping_add(dod);
        self.prev = self.prev.wrapping_add(self.delta);
        Ok(self.prev)
    }
}

#[derive(Clone, Copy)]
struct XorEnc {
    prev: u64,
    leading: u32,
    trailing: u32,
}

impl XorEnc {
    fn new(v0: u64) -> XorEnc {
        XorEnc {
            prev: v0,
            leading: u32::MAX,
            trailing: 0,
        }
    }

    #[inline]
    fn put(&mut self, w: &mut BitWriter, v: u64) {
        let x = v ^ self.prev;
        self.prev = v;
        if x == 0 {
            w.write(0, 1);
            return;
        }
        let lz = x.leading_zeros().min(31);
        let tz = x.trailing_zeros();
        if self.leading != u32::MAX && lz >= self.leading && tz >= self.trailing {
            w.write(0b10, 2);
            w.write(x >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        self.leading = lz;
        self.trailing = tz;
        let sig = 64 - lz - tz;
        w.write(0b11, 2);
        w.write(lz as u64, 5);
        w.write((sig & 63) as u64, 6);
        w.write(x >> tz, sig);
    }
}

#[derive(Clone, Copy)]
struct XorDec {
    prev: u64,
    leading: u32,
    trailing: u32,
}

impl XorDec {
    fn new(v0: u64) -> XorDec {
        XorDec {
            prev: v0,
            leading: 0,
            trailing: 0,
        }
    }

    #[inline]
    fn get(&mut self, r: &mut BitReader) -> Result<u64, Corruption> {
        if !r.bit()? {
            return Ok(self.prev);
        }
        if r.bit()? {
            let lz = r.read(5)? as u32;
            let mut sig = r.read(6)? as u32;
            if sig == 0 {
                sig = 64;
            }
            if lz + sig > 64 {
                return Err(Corruption::new("invalid xor window"));
            }
            self.leading = lz;
            self.trailing = 64 - lz - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let bits = r.read_long(sig)?;
        self.prev ^= bits << self.trailing;
        Ok(self.prev)
    }
}

// ---------------------------------------------------------------------------------------------
// Whole chunks

/// Encodes samples (timestamps strictly increasing) as one Xor chunk, appended to `out`.
pub fn encode_xor(samples: &[Sample], out: &mut Vec<u8>) {
    let mut a = XorAppender::default();
    for s in samples {
        a.push(s.t, s.v);
    }
    a.finish_into(out);
}

/// Builds an Xor chunk one sample at a time, keeping only the encoded bits: the form the
/// ingester keeps per open series.
#[derive(Default)]
pub struct XorAppender {
    n: u32,
    t0: i64,
    v0: u64,
    mint: i64,
    maxt: i64,
    ts: TsEnc,
    xs: Option<XorEnc>,
    bits: Vec<u8>,
    acc: u64,
    nacc: u32,
}

impl XorAppender {
    /// Appends a sample; `t` must be greater than the previous one.
    pub fn push(&mut self, t: i64, v: f64) {
        let v = v.to_bits();
        if self.n == 0 {
            self.t0 = t;
            self.v0 = v;
            self.mint = t;
            self.ts = TsEnc { prev: t, delta: 0 };
            self.xs = Some(XorEnc::new(v));
        } else {
            let mut w = BitWriter {
                out: &mut self.bits,
                acc: self.acc,
                n: self.nacc,
            };
            self.ts.put(&mut w, t);
            self.xs.get_or_insert(XorEnc::new(v)).put(&mut w, v);
            self.acc = w.acc;
            self.nacc = w.n;
        }
        self.maxt = t;
        self.n += 1;
    }

    pub fn len(&self) -> usize {
        self.n as usize
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Time range of the samples so far (meaningless when empty).
    pub fn range(&self) -> (i64, i64) {
        (self.mint, self.maxt)
    }

    /// Writes the chunk to `out` and resets the appender.
    pub fn finish_into(&mut self, out: &mut Vec<u8>) {
        out.push(Encoding::Xor as u8);
        put_uvarint(out, self.n as u64);
        if self.n > 0 {
            put_varint(out, self.t0);
            out.extend_from_slice(&self.v0.to_le_bytes());
            out.extend_from_slice(&self.bits);
            if self.nacc > 0 {
                out.push((self.acc >> 56) as u8);
            }
        }
        self.n = 0;
        self.bits.clear();
        self.acc = 0;
        self.nacc = 0;
    }
}

/// Encodes a timestamp column, appended to `out`.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    out.push(Encoding::Timestamps as u8);
    put_uvarint(out, ts.len() as u64);
    let Some(&first) = ts.first() else {
        return;
    };
    put_varint(out, first);
    let mut enc = TsEnc {
        prev: first,
        delta: 0,
    };
    let mut w = BitWriter::new(out);
    for &t in &ts[1..] {
        enc.put(&mut w, t);
    }
    w.finish();
}

/// Encodes a value column, appended to `out`.
pub fn encode_values(vs: &[f64], out: &mut Vec<u8>) {
    out.push(Encoding::Values as u8);
    put_uvarint(out, vs.len() as u64);
    let Some(first) = vs.first() else {
        return;
    };
    out.extend_from_slice(&first.to_bits().to_le_bytes());
    let mut enc = XorEnc::new(first.to_bits());
    let mut w = BitWriter::new(out);
    for v in &vs[1..] {
        enc.put(&mut w, v.to_bits());
    }
    w.finish();
}

/// The sample count of any chunk, from its header.
pub fn count(data: &[u8]) -> Result<usize, Corruption> {
    let mut c = Cursor::new(data);
    c.u8()?;
    let n = c.uvarint()?;
    // Every sample after the first takes at least one bit.
    if n > 1 + 8 * data.len() as u64 {
        return Err(Corruption::new("chunk sample count exceeds its size"));
    }
    Ok(n as usize)
}

fn header(data: &[u8], want: Encoding) -> Result<(usize, Cursor<'_>), Corruption> {
    let mut c = Cursor::new(data);
    if Encoding::from_byte(c.u8()?) != Some(want) {
        return Err(Corruption::new("unexpected chunk encoding"));
    }
    let n = count(data)?;
    c.uvarint()?;
    Ok((n, c))
}

/// Decodes an Xor chunk, appending its samples to `out`.
pub fn decode_xor(data: &[u8], out: &mut Vec<Sample>) -> Result<(), Corruption> {
    let (n, mut c) = header(data, Encoding::Xor)?;
    if n == 0 {
        return Ok(());
    }
    let t0 = c.varint()?;
    let v0 = c.u64()?;
    out.reserve(n);
    out.push(Sample {
        t: t0,
        v: f64::from_bits(v0),
    });
    let mut r = BitReader::new(c.rest());
    let mut ts = TsDec { prev: t0, delta: 0 };
    let mut xs = XorDec::new(v0);
    for _ in 1..n {
        let t = ts.get(&mut r)?;
        let v = xs.get(&mut r)?;
        out.push(Sample {
            t,
            v: f64::from_bits(v),
        });
    }
    Ok(())
}

/// Decodes a timestamp column, appending to `out`.
pub fn decode_timestamps(data: &[u8], out: &mut Vec<i64>) -> Result<(), Corruption> {
    let (n, mut c) = header(data, Encoding::Timestamps)?;
    if n == 0 {
        return Ok(());
    }
    let t0 = c.varint()?;
    out.reserve(n);
    out.push(t0);
    let mut r = BitReader::new(c.rest());
    let mut dec = TsDec { prev: t0, delta: 0 };
    for _ in 1..n {
        out.push(dec.get(&mut r)?);
    }
    Ok(())
}

/// Decodes a value column whose timestamps are `ts` (decoded already: blocks share one
/// timestamp column among the series scraped together), appending samples to `out`.
pub fn decode_values_at(data: &[u8], ts: &[i64], out: &mut Vec<Sample>) -> Result<(), Corruption> {
    let (n, mut c) = header(data, Encoding::Values)?;
    if n != ts.len() {
        return Err(Corruption::new(
            "value and timestamp columns differ in length",
        ));
    }
    if n == 0 {
        return Ok(());
    }
    let v0 = c.u64()?;
    out.reserve(n);
    out.push(Sample {
        t: ts[0],
        v: f64::from_bits(v0),
    });
    let mut r = BitReader::new(c.rest());
    let mut dec = XorDec::new(v0);
    for &t in &ts[1..] {
        out.push(Sample {
            t,
            v: f64::from_bits(dec.get(&mut r)?),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN_BITS;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn series(rng: &mut Rng, n: usize) -> Vec<Sample> {
        let mut t = (rng.next() as i64) >> (rng.next() % 64);
        let step = [0i64, 1, 15_000, 1000, 1 << 40][(rng.next() % 5) as usize];
        let mut v = 0.0f64;
        let mut out = Vec::new();
        for _ in 0..n {
            let jitter = match rng.next() % 6 {
                0 => 0,
                1 => (rng.next() % 20) as i64 - 10,
                2 => (rng.next() % 5000) as i64,
                3 => (rng.next() % (1 << 30)) as i64,
                4 => (rng.next() >> 2) as i64,
                _ => 0,
            };
            t = t
                .saturating_add(step.max(1))
                .saturating_add(jitter.abs().max(0));
            v = match rng.next() % 8 {
                0 => v,
                1 => v + 1.0,
                2 => f64::from_bits(rng.next()),
                3 => f64::from_bits(STALE_NAN_BITS),
                4 => -0.0,
                5 => v * 1.5 + 0.1,
                6 => f64::NAN,
                _ => (rng.next() % 1000) as f64,
            };
            if out.last().is_some_and(|s: &Sample| s.t >= t) {
                break;
            }
            out.push(Sample { t, v });
        }
        out
    }

    #[test]
    fn xor_round_trip_keeps_bits() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..3000 {
            let s = series(&mut rng, i % 300);
            let mut buf = Vec::new();
            encode_xor(&s, &mut buf);
            let mut back = Vec::new();
            decode_xor(&buf, &mut back).unwrap();
            assert_eq!(back, s, "case {i}");
            assert_eq!(count(&buf).unwrap(), s.len());

            let ts: Vec<i64> = s.iter().map(|s| s.t).collect();
            let vs: Vec<f64> = s.iter().map(|s| s.v).collect();
            let (mut tb, mut vb) = (Vec::new(), Vec::new());
            encode_timestamps(&ts, &mut tb);
            encode_values(&vs, &mut vb);
            let (mut t2, mut back2) = (Vec::new(), Vec::new());
            decode_timestamps(&tb, &mut t2).unwrap();
            decode_values_at(&vb, &t2, &mut back2).unwrap();
            let v2: Vec<f64> = back2.iter().map(|s| s.v).collect();
            assert_eq!(t2, ts);
            assert!(v2.iter().zip(&vs).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn extreme_timestamps() {
        let s = vec![
            Sample {
                t: i64::MIN,
                v: 1.0,
            },
            Sample { t: -1, v: 2.0 },
            Sample { t: 0, v: 3.0 },
            Sample {
                t: i64::MAX - 1,
                v: 4.0,
            },
            Sample {
                t: i64::MAX,
                v: 5.0,
            },
        ];
        let mut buf = Vec::new();
        encode_xor(&s, &mut buf);
        let mut back = Vec::new();
        decode_xor(&buf, &mut back).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn regular_timestamps_cost_a_bit() {
        let ts: Vec<i64> = (0..1000).map(|i| 1_700_000_000_000 + i * 15_000).collect();
        let mut buf = Vec::new();
        encode_timestamps(&ts, &mut buf);
        assert!(buf.len() < 140, "{} bytes", buf.len());
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(42);
        for _ in 0..20_000 {
            let n = (rng.next() % 64) as usize;
            let mut data: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            if let Some(b) = data.first_mut() {
                *b = 1 + (*b % 3);
            }
            let _ = decode_xor(&data, &mut Vec::new());
            let _ = decode_timestamps(&data, &mut Vec::new());
            let ts = vec![0; count(&data).unwrap_or(0)];
            let _ = decode_values_at(&data, &ts, &mut Vec::new());
        }
    }
}
