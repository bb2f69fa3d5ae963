//! Validators: how they set weights. Honest (noisy evaluation), lazy (stale weights), weight
//! copiers (the last visible consensus) and cabal members (their own miners, whatever quality).

use crate::rng::{Stream, standard_normal};
use serde::{Deserialize, Serialize};

/// A validator's weight-setting policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValidatorPolicy {
    /// Evaluates miners with multiplicative log-normal noise of this standard deviation.
    Honest {
        /// Standard deviation of the log evaluation noise.
        noise_sd: f64,
    },
    /// Re-evaluates only every `refresh_epochs` epochs and repeats its last weights between.
    Lazy {
        /// Epochs between evaluations.
        refresh_epochs: u32,
        /// Noise of the occasional evaluation.
        noise_sd: f64,
    },
    /// Copies the last consensus it can see (defeated by commit-reveal, which hides it).
    Copier,
    /// Puts all weight on the cabal's own miners.
    Cabal,
}

/// Scales a validator's scores to u16 weights with the largest at `u16::MAX`, rounding to
/// nearest, as the validator software does before submitting them (the chain then applies
/// `vec_u16_max_upscale_to_u16`, which leaves a vector whose maximum is already `u16::MAX`
/// unchanged). All-zero input stays zero.
pub fn max_upscale_to_u16(weights: &[f64]) -> Vec<u16> {
    let max = weights.iter().copied().filter(|w| w.is_finite()).fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return vec![0; weights.len()];
    }
    weights
        .iter()
        .map(|&w| if w.is_finite() && w > 0.0 { libm::round(w / max * f64::from(u16::MAX)) as u16 } else { 0 })
        .collect()
}

/// An honest evaluation of `quality` (one entry per UID; 0 for UIDs that are not miners),
/// each multiplied by `exp(noise_sd * z)` from the validator's stream.
pub fn honest_weights(quality: &[f64], noise_sd: f64, rng: &mut Stream) -> Vec<u16> {
    let noisy: Vec<f64> =
        quality.iter().map(|&q| if q > 0.0 { q * libm::exp(noise_sd * standard_normal(rng)) } else { 0.0 }).collect();
    max_upscale_to_u16(&noisy)
}

/// A weight copier's weights: the last consensus visible to it, as it is.
pub fn copier_weights(visible_consensus: &[u16]) -> Vec<u16> {
    visible_consensus.to_vec()
}

/// A cabal member's weights: equal weight on each of the cabal's miners (UIDs), none elsewhere.
pub fn cabal_weights(n_uids: usize, cabal_miners: &[usize]) -> Vec<u16> {
    let mut w = vec![0u16; n_uids];
    for &uid in cabal_miners {
        if let Some(slot) = w.get_mut(uid) {
            *slot = u16::MAX;
        }
    }
    w
}

/// A validator's take, drawn uniformly in `[lo, hi]` (fractions; the chain caps takes at 18 %).
/// Validators compete for delegation with it (see `holder::choose_validator`).
pub fn draw_take(lo: f64, hi: f64, rng: &mut Stream) -> f64 {
    let (lo, hi) = (lo.min(hi).max(0.0), hi.max(lo).min(1.0));
    lo + (hi - lo) * crate::rng::unit_f64(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn upscaling_matches_the_chains_rounding() {
        assert_eq!(max_upscale_to_u16(&[0.5, 1.0, 0.25, 0.0]), [32768, 65535, 16384, 0]);
        assert_eq!(max_upscale_to_u16(&[0.0, 0.0]), [0, 0]);
        assert_eq!(max_upscale_to_u16(&[f64::NAN, 2.0]), [0, 65535]);
    }

    #[test]
    fn honest_validators_rank_better_miners_higher_without_noise() {
        let mut rng = stream(1, &crate::label!["validator", 0u64, "eval"]);
        let w = honest_weights(&[0.0, 1.0, 3.0, 2.0], 0.0, &mut rng);
        assert_eq!(w, [0, 21845, 65535, 43690]);
    }

    #[test]
    fn takes_stay_in_their_range() {
        let mut rng = stream(2, &crate::label!["validator", 0u64, "take"]);
        let takes: Vec<f64> = (0..200).map(|_| draw_take(0.09, 0.18, &mut rng)).collect();
        assert!(takes.iter().all(|t| (0.09..=0.18).contains(t)));
        assert!(takes.iter().any(|t| *t < 0.1) && takes.iter().any(|t| *t > 0.17));
        assert_eq!(draw_take(0.18, 0.18, &mut rng), 0.18);
    }

    #[test]
    fn copiers_copy_and_cabals_weight_their_own() {
        assert_eq!(copier_weights(&[1, 2, 3]), [1, 2, 3]);
        assert_eq!(cabal_weights(5, &[1, 4, 9]), [0, 65535, 0, 0, 65535]);
    }
}
