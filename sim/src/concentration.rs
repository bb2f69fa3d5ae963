//! Concentration of stake and emission: the Nakamoto coefficient and the Gini coefficient.
//!
//! Both are computed over a snapshot of holdings (rao per coldkey, validator or subnet).
//! The Nakamoto coefficient is exact (integer sums in u128); Gini is a ratio reported as f64.

/// The smallest number of holders whose combined holdings exceed `threshold` of the total
/// (strictly more than: with threshold 1/2, a holder of exactly half is not a majority).
/// `threshold` is given as a fraction `numerator / denominator` so the test is exact.
/// Returns 0 when the total is 0.
pub fn nakamoto_coefficient(holdings: &[u64], numerator: u64, denominator: u64) -> usize {
    let total: u128 = holdings.iter().map(|&h| u128::from(h)).sum();
    if total == 0 || denominator == 0 {
        return 0;
    }
    let mut sorted: Vec<u64> = holdings.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut acc: u128 = 0;
    for (i, h) in sorted.iter().enumerate() {
        acc += u128::from(*h);
        // acc / total > numerator / denominator, without division.
        if acc * u128::from(denominator) > total * u128::from(numerator) {
            return i + 1;
        }
    }
    sorted.len()
}

/// The Nakamoto coefficient at the usual 50% threshold.
pub fn nakamoto_majority(holdings: &[u64]) -> usize {
    nakamoto_coefficient(holdings, 1, 2)
}

/// The Gini coefficient of holdings: 0 for perfect equality, (n-1)/n when one holder has
/// everything. `G = 2 * sum_i(i * x_(i)) / (n * sum x) - (n + 1) / n` over the holdings sorted
/// ascending with ranks i = 1..n. Returns 0 for an empty or all-zero input.
pub fn gini(holdings: &[u64]) -> f64 {
    let n = holdings.len();
    let total: u128 = holdings.iter().map(|&h| u128::from(h)).sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut sorted = holdings.to_vec();
    sorted.sort_unstable();
    let weighted: u128 = sorted.iter().enumerate().map(|(i, &x)| (i as u128 + 1) * u128::from(x)).sum();
    let n_f = n as f64;
    2.0 * weighted as f64 / (n_f * total as f64) - (n_f + 1.0) / n_f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nakamoto_of_known_distributions() {
        assert_eq!(nakamoto_majority(&[]), 0);
        assert_eq!(nakamoto_majority(&[0, 0]), 0);
        assert_eq!(nakamoto_majority(&[10]), 1);
        // 40 + 30 = 70 > 50: two holders.
        assert_eq!(nakamoto_majority(&[10, 40, 20, 30]), 2);
        // Exactly half is not a majority: 50 alone is not > 50.
        assert_eq!(nakamoto_majority(&[50, 25, 25]), 2);
        // Ten equal holders: six are needed.
        assert_eq!(nakamoto_majority(&[7; 10]), 6);
        // A one-third threshold.
        assert_eq!(nakamoto_coefficient(&[7; 9], 1, 3), 4);
        assert_eq!(nakamoto_majority(&[u64::MAX, u64::MAX, 1]), 2);
    }

    #[test]
    fn gini_of_known_distributions() {
        assert_eq!(gini(&[]), 0.0);
        assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
        // One holder has everything among four: (n-1)/n = 0.75.
        assert!((gini(&[0, 0, 0, 8]) - 0.75).abs() < 1e-12);
        // 1, 2, 3, 4: G = 2*(1+4+9+16)/(4*10) - 5/4 = 1.5 - 1.25 = 0.25.
        assert!((gini(&[4, 1, 3, 2]) - 0.25).abs() < 1e-12);
    }
}
