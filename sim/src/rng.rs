//! Random streams: one ChaCha stream per (run seed, stable label).
//!
//! Every random draw in taosim comes from a stream derived from the run's seed and a label
//! naming who draws and why, for example `["miner", 17, "churn"]`. The label is encoded
//! unambiguously (each part tagged and length-prefixed) and hashed with SHA-256 together with
//! the seed and a domain string; the 32-byte digest is the key of a ChaCha12 generator.
//!
//! ```text
//! key = SHA-256( "taosim/rng/v1" || seed as u64 little-endian || part_1 || ... || part_n )
//! part = 0x01 || len as u64 LE || UTF-8 bytes      (a text part)
//!      | 0x02 || value as u64 LE                    (an integer part)
//! stream = ChaCha12Rng::from_seed(key)
//! ```
//!
//! Consequences: adding an entity or a new kind of draw never shifts anyone else's draws, the
//! order in which streams are created does not matter, and no draw depends on thread identity,
//! time, hash-map order or addresses.

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// The generator type behind every stream.
pub type Stream = ChaCha12Rng;

/// The domain string hashed first, versioned so a change of derivation is explicit.
const DOMAIN: &[u8] = b"taosim/rng/v1";

/// One component of a stream label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// A name: the kind of entity or the purpose of the draws.
    Text(&'a str),
    /// An identifier: a uid, a netuid, a run index.
    Int(u64),
}

impl<'a> From<&'a str> for Part<'a> {
    fn from(s: &'a str) -> Self {
        Part::Text(s)
    }
}
impl From<u64> for Part<'_> {
    fn from(v: u64) -> Self {
        Part::Int(v)
    }
}
impl From<u32> for Part<'_> {
    fn from(v: u32) -> Self {
        Part::Int(u64::from(v))
    }
}
impl From<u16> for Part<'_> {
    fn from(v: u16) -> Self {
        Part::Int(u64::from(v))
    }
}
impl From<usize> for Part<'_> {
    fn from(v: usize) -> Self {
        Part::Int(v as u64)
    }
}

/// The 32-byte ChaCha key of the stream `label` under `seed` (see the module docs).
pub fn stream_key(seed: u64, label: &[Part<'_>]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(seed.to_le_bytes());
    for part in label {
        match part {
            Part::Text(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            Part::Int(v) => {
                h.update([2u8]);
                h.update(v.to_le_bytes());
            }
        }
    }
    h.finalize().into()
}

/// The stream named `label` under `seed`.
pub fn stream(seed: u64, label: &[Part<'_>]) -> Stream {
    Stream::from_seed(stream_key(seed, label))
}

/// Builds a label from mixed parts: `label!["miner", uid, "churn"]`.
#[macro_export]
macro_rules! label {
    ($($part:expr),* $(,)?) => {
        [$($crate::rng::Part::from($part)),*]
    };
}

/// A uniform draw in [0, 1) with 53 random bits: the same value on every platform.
pub fn unit_f64(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `0..n` without modulo bias (Lemire's method); 0 when `n` is 0.
pub fn below(rng: &mut impl Rng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        let low = m as u64;
        if low >= n || low >= n.wrapping_neg() % n {
            return (m >> 64) as u64;
        }
    }
}

/// An exponential draw with the given mean, by inversion with `libm::log`.
pub fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    -mean * libm::log(1.0 - unit_f64(rng))
}

/// A standard normal draw (Box-Muller with `libm`, one value per two uniforms).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - unit_f64(rng); // (0, 1]
    let u2 = unit_f64(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_and_label_only() {
        let a1 = stream(7, &label!["miner", 17u64, "churn"]).next_u64();
        let a2 = stream(7, &label!["miner", 17u64, "churn"]).next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, stream(8, &label!["miner", 17u64, "churn"]).next_u64());
        assert_ne!(a1, stream(7, &label!["miner", 18u64, "churn"]).next_u64());
        assert_ne!(a1, stream(7, &label!["miner", 17u64, "exit"]).next_u64());
    }

    #[test]
    fn label_encoding_is_unambiguous() {
        // Same concatenated text, different split: must be different streams.
        assert_ne!(stream_key(1, &label!["ab", "c"]), stream_key(1, &label!["a", "bc"]));
        // A number and its decimal text are different parts.
        assert_ne!(stream_key(1, &label![5u64]), stream_key(1, &label!["5"]));
    }

    #[test]
    fn derivation_is_pinned() {
        // The derivation is part of the reproducibility contract: changing it changes every
        // run. This pins the first draw of one stream (computed once, by this code, and kept).
        let first = stream(42, &label!["taosim", 1u64]).next_u64();
        assert_eq!(first, PINNED_FIRST_DRAW, "the stream derivation changed");
    }
    const PINNED_FIRST_DRAW: u64 = 14_943_427_827_166_677_145;

    #[test]
    fn key_derivation_matches_an_independent_sha256() {
        // Computed with Python's hashlib from the byte layout in the module docs.
        let key = stream_key(42, &label!["taosim", 1u64]);
        assert_eq!(hex::encode(key), "24b411ac1b8592bf39ac313c2998947ebb2feb3a604ff1b91dc98a58b2239364");
    }

    #[test]
    fn helpers_stay_in_range_and_match_their_means() {
        let mut r = stream(1, &label!["test"]);
        let n = 200_000;
        let mut sum_u = 0.0;
        let mut sum_e = 0.0;
        let mut sum_z = 0.0;
        let mut sum_z2 = 0.0;
        for _ in 0..n {
            let u = unit_f64(&mut r);
            assert!((0.0..1.0).contains(&u));
            sum_u += u;
            sum_e += exponential(&mut r, 10.0);
            let z = standard_normal(&mut r);
            sum_z += z;
            sum_z2 += z * z;
            assert!(below(&mut r, 7) < 7);
        }
        let n = n as f64;
        assert!((sum_u / n - 0.5).abs() < 0.005);
        assert!((sum_e / n - 10.0).abs() < 0.1);
        assert!((sum_z / n).abs() < 0.01);
        assert!((sum_z2 / n - 1.0).abs() < 0.02);
        assert_eq!(below(&mut r, 0), 0);
    }
}
