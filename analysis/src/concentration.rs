//! Concentration of stake or emission over entities: the Nakamoto coefficient, the Gini
//! coefficient, the top-k share and the Herfindahl-Hirschman index. Pure functions over one
//! snapshot of non-negative amounts.
//!
//! These read amounts back from CSV (decimal TAO, f64). The simulator computes the same
//! measures during a run on the chain's integer rao, exactly, in `sim::concentration`; the two
//! agree on the same holdings (the analysis tests check known distributions for both).

/// The default Nakamoto threshold: a strict majority.
pub const MAJORITY: f64 = 0.5;

/// The Nakamoto coefficient: the smallest number of entities whose combined amount is
/// strictly more than `threshold` of the total (0.5 for a majority; 1/3 for a blocking
/// minority). Entities are taken largest first. `None` when the total is not positive, any
/// amount is negative or not finite, or the threshold is outside [0, 1).
pub fn nakamoto_coefficient(amounts: &[f64], threshold: f64) -> Option<usize> {
    if !(0.0..1.0).contains(&threshold) || amounts.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return None;
    }
    let total: f64 = amounts.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut sorted = amounts.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut held = 0.0;
    for (i, x) in sorted.iter().enumerate() {
        held += x;
        if held > threshold * total {
            return Some(i + 1);
        }
    }
    Some(sorted.len())
}

/// The Gini coefficient of the population (no small-sample correction):
/// `G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)`, computed from the ascending order as
/// `G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n` with `i = 1..n`. 0 when everyone holds the
/// same; `(n - 1) / n` when one entity holds everything. `None` when empty, the total is not
/// positive, or any amount is negative or not finite.
pub fn gini(amounts: &[f64]) -> Option<f64> {
    if amounts.is_empty() || amounts.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return None;
    }
    let mut sorted = amounts.to_vec();
    sorted.sort_by(f64::total_cmp);
    let total: f64 = sorted.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let n = sorted.len() as f64;
    let weighted: f64 = sorted.iter().enumerate().map(|(i, x)| (i + 1) as f64 * x).sum();
    Some((2.0 * weighted / (n * total) - (n + 1.0) / n).max(0.0))
}

/// The share of the total held by the `k` largest amounts (the top-10 share of emission of
/// the reference tables). `None` when the total is not positive or any amount is negative
/// or not finite.
pub fn top_share(amounts: &[f64], k: usize) -> Option<f64> {
    let total = checked_total(amounts)?;
    let mut sorted = amounts.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    Some(sorted.iter().take(k).sum::<f64>() / total)
}

/// The Herfindahl-Hirschman index `sum_i (x_i / sum x)^2` of the shares: 1 / n for n equal
/// entities, 1 for one entity holding everything. `None` as for [`top_share`].
pub fn herfindahl(amounts: &[f64]) -> Option<f64> {
    let total = checked_total(amounts)?;
    Some(amounts.iter().map(|x| (x / total) * (x / total)).sum())
}

fn checked_total(amounts: &[f64]) -> Option<f64> {
    if amounts.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return None;
    }
    let total: f64 = amounts.iter().sum();
    (total > 0.0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nakamoto_coefficient_of_known_distributions() {
        // 40 + 30 = 70 > 50: two entities control a majority.
        assert_eq!(nakamoto_coefficient(&[10.0, 40.0, 5.0, 30.0, 15.0], MAJORITY), Some(2));
        // Exactly half is not a majority: 50 needs one more entity.
        assert_eq!(nakamoto_coefficient(&[50.0, 25.0, 25.0], MAJORITY), Some(2));
        assert_eq!(nakamoto_coefficient(&[51.0, 49.0], MAJORITY), Some(1));
        // Ten equal holders: 6 of them hold 60% > 50%; a third needs 4 (40% > 33.3%).
        let equal = [1.0; 10];
        assert_eq!(nakamoto_coefficient(&equal, MAJORITY), Some(6));
        assert_eq!(nakamoto_coefficient(&equal, 1.0 / 3.0), Some(4));
        assert_eq!(nakamoto_coefficient(&[0.0, 0.0], MAJORITY), None);
        assert_eq!(nakamoto_coefficient(&[1.0, -1.0], MAJORITY), None);
        assert_eq!(nakamoto_coefficient(&[1.0], 1.0), None);
    }

    #[test]
    fn gini_of_known_distributions() {
        assert_eq!(gini(&[5.0, 5.0, 5.0, 5.0]), Some(0.0));
        // One of four holds everything: (n - 1) / n = 0.75.
        assert_eq!(gini(&[0.0, 0.0, 7.0, 0.0]), Some(0.75));
        // {1, 2, 3, 4}: sum |xi - xj| over ordered pairs = 20, mean 2.5, n 4:
        // G = 20 / (2 * 16 * 2.5) = 0.25.
        assert!((gini(&[4.0, 1.0, 3.0, 2.0]).expect("gini") - 0.25).abs() < 1e-12);
        // {1, 1, 1, 1, 6}: pairs with 6 differ by 5, 4 such unordered pairs -> 40 ordered;
        // mean 2, n 5: G = 40 / (2 * 25 * 2) = 0.4.
        assert!((gini(&[1.0, 1.0, 6.0, 1.0, 1.0]).expect("gini") - 0.4).abs() < 1e-12);
        assert_eq!(gini(&[]), None);
        assert_eq!(gini(&[0.0, 0.0]), None);
    }

    #[test]
    fn top_share_and_herfindahl_of_known_distributions() {
        // Shares 0.5, 0.3, 0.2: the top two hold 0.8; HHI 0.25 + 0.09 + 0.04 = 0.38. The same
        // as raw amounts 5, 3, 2 (normalised by the total).
        assert!((top_share(&[0.2, 0.5, 0.3], 2).expect("top") - 0.8).abs() < 1e-12);
        assert!((top_share(&[2.0, 5.0, 3.0], 2).expect("top") - 0.8).abs() < 1e-12);
        assert!((herfindahl(&[0.2, 0.5, 0.3]).expect("hhi") - 0.38).abs() < 1e-12);
        assert!((herfindahl(&[2.0, 5.0, 3.0]).expect("hhi") - 0.38).abs() < 1e-12);
        // Fewer than k entities: they hold everything.
        assert_eq!(top_share(&[1.0, 1.0, 2.0], 10), Some(1.0));
        // 100 equal entities: top 10 hold 10%, HHI 1/100; concentrating raises both.
        let equal = [1.0; 100];
        assert!((top_share(&equal, 10).expect("top") - 0.1).abs() < 1e-12);
        assert!((herfindahl(&equal).expect("hhi") - 0.01).abs() < 1e-12);
        let mut skewed = equal;
        skewed[0] = 50.0;
        assert!(top_share(&skewed, 10).expect("top") > 0.1);
        assert!(herfindahl(&skewed).expect("hhi") > 0.01);
        assert_eq!(herfindahl(&[0.0, 7.0]), Some(1.0));
        assert_eq!(top_share(&[0.0, 0.0], 1), None);
        assert_eq!(herfindahl(&[1.0, -1.0, 3.0]), None);
    }

    #[test]
    fn agrees_with_the_simulators_exact_measures() {
        let cases: [&[u64]; 5] = [&[10, 40, 20, 30], &[50, 25, 25], &[7; 10], &[0, 0, 0, 8], &[1, 2, 3, 4, 1000]];
        for holdings in cases {
            let amounts: Vec<f64> = holdings.iter().map(|&h| h as f64).collect();
            assert_eq!(nakamoto_coefficient(&amounts, MAJORITY), Some(sim::concentration::nakamoto_majority(holdings)));
            let g = gini(&amounts).expect("gini");
            assert!((g - sim::concentration::gini(holdings)).abs() < 1e-12, "{holdings:?}");
        }
    }
}
