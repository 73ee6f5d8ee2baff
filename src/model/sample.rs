//! Samples: one float value at one millisecond timestamp, and the staleness marker.
//!
//! Timestamps are milliseconds since the Unix epoch (`i64`), as in Prometheus. A staleness
//! marker is a NaN with one exact bit pattern (`0x7ff0000000000002`); every other NaN is an
//! ordinary value, so code that stores or copies values must keep the bits, not just the float.
//! Native histograms will arrive as a second sample kind beside the float one.

/// The bit pattern of Prometheus's staleness marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a float.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True only for the exact staleness-marker bit pattern.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

/// Samples are equal when timestamps and value bits are equal, so NaNs compare as stored.
impl PartialEq for Sample {
    fn eq(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

impl Eq for Sample {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_exact() {
        assert!(is_stale_nan(stale_nan()));
        assert!(stale_nan().is_nan());
        assert!(!is_stale_nan(f64::NAN));
        let a = Sample {
            t: 1,
            v: stale_nan(),
        };
        assert_eq!(a, a);
        assert_ne!(a, Sample { t: 1, v: f64::NAN });
    }
}
