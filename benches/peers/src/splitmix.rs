//! The counter-based SplitMix64 stream of the bittensor_lite/1 spec.
//!
//! The spec fixes its random numbers bit for bit so that any implementation reproduces the
//! peers' trajectories: `key_r = mix64(seed + (r + 1)·GAMMA)`, and the n-th uniform of run r is
//! `(mix64(key_r + n·GAMMA) >> 11) · 2⁻⁵³` (n = 1, 2, ...; all arithmetic mod 2⁶⁴). Block b uses
//! n = 4(b − 1) + 1 ..= 4(b − 1) + 4. This replaces taosim's ChaCha streams for this model only,
//! because the spec (not taosim) defines the draws.

/// SplitMix64's increment, 2⁶⁴/φ.
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Uniform draws per block: act?, subnet, amount, stake or unstake.
pub const DRAWS_PER_BLOCK: u64 = 4;

/// SplitMix64's finaliser.
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of run `run` (0-based) under `seed`.
pub fn run_key(seed: u64, run: u64) -> u64 {
    mix64(seed.wrapping_add(run.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// The n-th uniform in [0, 1) of the run with key `key` (n counts from 1).
pub fn uniform(key: u64, n: u64) -> f64 {
    (mix64(key.wrapping_add(n.wrapping_mul(GAMMA))) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The four uniforms u0..u3 of block `block` (1-based).
pub fn block_uniforms(key: u64, block: u64) -> [f64; 4] {
    let n0 = DRAWS_PER_BLOCK * (block - 1);
    [uniform(key, n0 + 1), uniform(key, n0 + 2), uniform(key, n0 + 3), uniform(key, n0 + 4)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed with the peers' Python (`bittensor_lite_common.py`'s formulas).
    #[test]
    fn matches_the_python_reference_stream() {
        assert_eq!(mix64(0), 0);
        assert_eq!(mix64(1), 0x5692_161d_100b_05e5);
        assert_eq!(mix64(u64::MAX), 0xb4d0_55fc_f2cb_bd7b);
        assert_eq!(run_key(42, 0), 0xbdd7_3226_2feb_6e95);
        assert_eq!(run_key(42, 1), 0x28ef_e333_b266_f103);
        assert_eq!(run_key(0, 3), 0xf88b_b8a8_724c_81ec);
        assert_eq!(
            block_uniforms(run_key(42, 0), 1),
            [0.34329192209867343, 0.9557467261317436, 0.48634953628166855, 0.06735789320333596]
        );
        assert_eq!(
            block_uniforms(run_key(42, 1), 7200),
            [0.06040967678983722, 0.09247641209613466, 0.041335441435531695, 0.452772273353233]
        );
    }
}
