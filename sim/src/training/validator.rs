//! How validators score peers, select the ones the outer step aggregates, and turn ratings
//! into incentive: pure functions, each tested below.
//!
//! Templar's validators score a peer by the loss before minus after applying its
//! pseudo-gradient on held-out data (Gauntlet, arXiv 2505.21684), keep OpenSkill ratings, and
//! set weights from the ratings raised to `power_normalisation` (2.0) and normalised. We
//! simplify: the measured improvement is the peer's useful work (its `quality` × the share of
//! the H inner steps it completed) times a noisy measurement factor, and the rating is an
//! exponential moving average of those scores instead of OpenSkill's Bayesian update.

/// A validator's score of one on-time upload: `quality × steps / inner_steps × max(0, 1 +
/// noise × z)` with `z` a standard normal draw. A missing or late upload scores 0.
pub fn score(quality: f64, steps: u64, inner_steps: u64, noise: f64, z: f64) -> f64 {
    if inner_steps == 0 {
        return 0.0;
    }
    let work = steps.min(inner_steps) as f64 / inner_steps as f64;
    quality * work * (1.0 + noise * z).max(0.0)
}

/// `rating = (1 - alpha) rating + alpha score`, for every peer.
pub fn inplace_update_ratings(ratings: &mut [f64], scores: &[f64], alpha: f64) {
    for (r, &s) in ratings.iter_mut().zip(scores) {
        *r = (1.0 - alpha) * *r + alpha * s;
    }
}

/// The `count` best peers among `eligible` by rating (higher first, ties to the lower index),
/// in that order.
pub fn select_top(ratings: &[f64], eligible: &[usize], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = eligible.to_vec();
    order.sort_by(|&a, &b| ratings[b].total_cmp(&ratings[a]).then(a.cmp(&b)));
    order.truncate(count);
    order
}

/// Incentive shares: positive ratings raised to `power`, normalised to sum to 1 (all zeros
/// when no rating is positive).
pub fn incentive_shares(ratings: &[f64], power: f64) -> Vec<f64> {
    let raised: Vec<f64> = ratings.iter().map(|&r| if r > 0.0 { libm::pow(r, power) } else { 0.0 }).collect();
    let total: f64 = raised.iter().sum();
    if total > 0.0 { raised.iter().map(|r| r / total).collect() } else { vec![0.0; ratings.len()] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_counts_useful_work_and_clamps_bad_measurements_at_zero() {
        assert_eq!(score(1.0, 30, 30, 0.05, 0.0), 1.0);
        assert_eq!(score(1.0, 15, 30, 0.0, 3.0), 0.5);
        assert_eq!(score(0.0, 30, 30, 0.05, 1.0), 0.0);
        assert_eq!(score(1.0, 30, 30, 0.5, -4.0), 0.0);
        assert!((score(2.0, 30, 30, 0.1, 1.0) - 2.2).abs() < 1e-12);
    }

    #[test]
    fn ratings_move_toward_the_scores() {
        let mut r = vec![1.0, 1.0, 0.0];
        inplace_update_ratings(&mut r, &[0.0, 1.0, 1.0], 0.25);
        assert_eq!(r, vec![0.75, 1.0, 0.25]);
    }

    #[test]
    fn selection_prefers_high_ratings_then_low_indices() {
        let r = [0.5, 0.9, 0.5, 0.1];
        assert_eq!(select_top(&r, &[0, 1, 2, 3], 3), vec![1, 0, 2]);
        assert_eq!(select_top(&r, &[2, 3], 5), vec![2, 3]);
        // Forbidden: an ineligible peer is never selected, however well rated.
        assert!(!select_top(&r, &[0, 2, 3], 3).contains(&1));
    }

    #[test]
    fn shares_sum_to_one_and_favour_high_ratings_by_the_power() {
        let s = incentive_shares(&[1.0, 2.0, 0.0, -1.0], 2.0);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((s[1] / s[0] - 4.0).abs() < 1e-12);
        assert_eq!(s[2], 0.0);
        assert_eq!(s[3], 0.0);
        assert_eq!(incentive_shares(&[0.0, 0.0], 2.0), vec![0.0, 0.0]);
    }
}
