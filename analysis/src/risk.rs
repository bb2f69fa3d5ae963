//! Risk measures of one run's series: drawdown and recovery, daily-return value-at-risk and
//! expected shortfall, peaks of a ratio, and counts around events. Pure functions over slices.
//!
//! Series come as parallel slices of sample blocks (ascending) and values; blocks are 12 s
//! and a day is [`BLOCKS_PER_DAY`] blocks, as the chain's runtime sets them.

use crate::stats::quantile_sorted;
pub use sim::engine::time::BLOCKS_PER_DAY;

/// The deepest peak-to-trough fall of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drawdown {
    /// `1 - trough / peak`, in [0, 1]; 0 when the series never falls.
    pub depth_fraction: f64,
    /// Index of the running peak the deepest fall starts from (its first occurrence).
    pub peak_index: usize,
    /// Index of the trough (the first sample reaching the deepest fall).
    pub trough_index: usize,
    /// First index after the trough whose value is back at or above the peak; `None` when
    /// the series ends below it.
    pub recovery_index: Option<usize>,
}

/// Maximum drawdown: with the running peak `M_t = max_{s <= t} x_s`, the largest
/// `1 - x_t / M_t` over `t`, where it starts and ends and when the series first regains the
/// peak. Values must be positive (prices); `None` when empty or any value is not a positive
/// finite number.
pub fn max_drawdown(values: &[f64]) -> Option<Drawdown> {
    if values.is_empty() || values.iter().any(|x| !x.is_finite() || *x <= 0.0) {
        return None;
    }
    let (mut peak, mut peak_index) = (values[0], 0);
    let mut best = Drawdown { depth_fraction: 0.0, peak_index: 0, trough_index: 0, recovery_index: Some(0) };
    for (i, &x) in values.iter().enumerate() {
        if x > peak {
            peak = x;
            peak_index = i;
        }
        let depth = 1.0 - x / peak;
        if depth > best.depth_fraction {
            best = Drawdown { depth_fraction: depth, peak_index, trough_index: i, recovery_index: None };
        }
    }
    if best.depth_fraction > 0.0 {
        let peak_value = values[best.peak_index];
        best.recovery_index = (best.trough_index + 1..values.len()).find(|&i| values[i] >= peak_value);
    }
    Some(best)
}

/// The deepest fall within any `window` samples: the largest `1 - x_j / max(x_i)` over
/// `j - window <= i <= j` (with daily samples and `window` 30, the worst fall from a peak to a
/// trough at most 30 days later, the "30-day move" of reference tables). With `window` at
/// least the series' length it is [`max_drawdown`]'s depth. Values must be positive;
/// `None` when empty or any value is not a positive finite number.
pub fn max_drawdown_within(values: &[f64], window: usize) -> Option<f64> {
    if values.is_empty() || values.iter().any(|x| !x.is_finite() || *x <= 0.0) {
        return None;
    }
    let mut deepest = 0.0f64;
    for (j, &x) in values.iter().enumerate() {
        let peak = values[j.saturating_sub(window)..=j].iter().copied().fold(x, f64::max);
        deepest = deepest.max(1.0 - x / peak);
    }
    Some(deepest)
}

/// Log returns `ln(c_i / c_{i-1})` of consecutive values (`libm::log`, the same bits on every
/// platform); a pair with a non-positive or non-finite value is skipped, so a gap (NaN)
/// breaks the series instead of bridging it.
pub fn log_returns(values: &[f64]) -> Vec<f64> {
    values.windows(2).filter(|w| w.iter().all(|x| x.is_finite() && *x > 0.0)).map(|w| libm::log(w[1] / w[0])).collect()
}

/// The largest absolute simple return `|c_i / c_{i-1} - 1|` of consecutive values (the
/// worst day, up or down, of daily closes); `None` without a pair.
pub fn largest_move(values: &[f64]) -> Option<f64> {
    simple_returns(values).into_iter().map(f64::abs).reduce(f64::max)
}

/// Closing values at day boundaries: the value at the first sample, then for each `d >= 1`
/// with `first + d * blocks_per_day <= last block` the last sample at or before that block.
/// `blocks` must ascend and match `values` in length.
pub fn daily_closes(blocks: &[u64], values: &[f64], blocks_per_day: u64) -> Vec<f64> {
    let (Some(&first), Some(&last)) = (blocks.first(), blocks.last()) else { return Vec::new() };
    let mut closes = vec![values[0]];
    let mut boundary = first.saturating_add(blocks_per_day.max(1));
    let mut i = 0;
    while boundary <= last {
        while i + 1 < blocks.len() && blocks[i + 1] <= boundary {
            i += 1;
        }
        closes.push(values[i]);
        boundary = boundary.saturating_add(blocks_per_day.max(1));
    }
    closes
}

/// Simple returns `c_i / c_{i-1} - 1` of consecutive closes (skipping non-positive bases).
pub fn simple_returns(closes: &[f64]) -> Vec<f64> {
    closes
        .windows(2)
        .filter(|w| w[0] > 0.0 && w[0].is_finite() && w[1].is_finite())
        .map(|w| w[1] / w[0] - 1.0)
        .collect()
}

/// Value-at-risk and expected shortfall at one confidence level, as positive loss fractions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TailRisk {
    /// `VaR_c = -Q_{1-c}(r)`: the loss exceeded with probability `1 - c`.
    pub var: f64,
    /// `ES_c = -mean{ r_i : r_i <= Q_{1-c}(r) }`: the mean loss in that tail.
    pub es: f64,
}

/// Historical value-at-risk and expected shortfall of a sample of returns at confidence `c`
/// (0.95, 0.99): the empirical `1 - c` quantile (type 7, see [`crate::stats`]) and the mean of
/// the returns at or below it. `None` with fewer than two finite returns.
pub fn historical_var_es(returns: &[f64], confidence: f64) -> Option<TailRisk> {
    let sorted = crate::stats::sorted_finite(returns);
    if sorted.len() < 2 {
        return None;
    }
    let q = quantile_sorted(&sorted, 1.0 - confidence)?;
    let tail: Vec<f64> = sorted.iter().copied().take_while(|r| *r <= q).collect();
    let es = crate::stats::mean(&tail).unwrap_or(q);
    Some(TailRisk { var: -q, es: -es })
}

/// The largest `numerator[i] / denominator[i]` over samples with a positive, finite
/// denominator, and its index.
pub fn peak_ratio(numerator: &[f64], denominator: &[f64]) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    for (i, (n, d)) in numerator.iter().zip(denominator).enumerate() {
        if *d > 0.0 && d.is_finite() && n.is_finite() {
            let r = n / d;
            if best.is_none_or(|(b, _)| r > b) {
                best = Some((r, i));
            }
        }
    }
    best
}

/// How many of the ascending `event_blocks` fall in `[start, start + window)`.
pub fn count_in_window(event_blocks: &[u64], start: u64, window_blocks: u64) -> usize {
    let end = start.saturating_add(window_blocks);
    event_blocks.partition_point(|&b| b < end) - event_blocks.partition_point(|&b| b < start)
}

/// The value of the last sample strictly before `block`, if any.
pub fn value_before(blocks: &[u64], values: &[f64], block: u64) -> Option<f64> {
    let i = blocks.partition_point(|&b| b < block);
    i.checked_sub(1).and_then(|i| values.get(i).copied()).filter(|x| x.is_finite())
}

/// The value of the last sample at or before `block`, if any.
pub fn value_at_or_before(blocks: &[u64], values: &[f64], block: u64) -> Option<f64> {
    let i = blocks.partition_point(|&b| b <= block);
    i.checked_sub(1).and_then(|i| values.get(i).copied()).filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_of_a_known_path() {
        // 100 -> 120 (peak) -> 90 (trough: 1 - 90/120 = 25%) -> 110 -> 125 (recovered) -> 60.
        // The last fall, 125 -> 60, is 52%: deeper, and never recovered.
        let path = [100.0, 120.0, 90.0, 110.0, 125.0, 60.0];
        let d = max_drawdown(&path).expect("dd");
        assert!((d.depth_fraction - 0.52).abs() < 1e-12, "{d:?}");
        assert_eq!((d.peak_index, d.trough_index, d.recovery_index), (4, 5, None));
        let d = max_drawdown(&path[..5]).expect("dd");
        assert!((d.depth_fraction - 0.25).abs() < 1e-12, "{d:?}");
        assert_eq!((d.peak_index, d.trough_index, d.recovery_index), (1, 2, Some(4)));
        // Regaining exactly the peak counts as recovery.
        let d = max_drawdown(&[10.0, 5.0, 8.0, 10.0]).expect("dd");
        assert_eq!((d.depth_fraction, d.recovery_index), (0.5, Some(3)));
        let flat = max_drawdown(&[3.0, 3.0, 4.0]).expect("dd");
        assert_eq!(flat.depth_fraction, 0.0);
        assert_eq!(max_drawdown(&[1.0, 0.0]), None, "prices must be positive");
        assert_eq!(max_drawdown(&[]), None);
    }

    #[test]
    fn drawdown_within_a_window_of_a_known_path() {
        // 100, 120 (peak), 60, 90, 30. Two samples back at most: at 60 the peak is 120 (50%),
        // at 90 still 120 (25%), at 30 only 90 is in reach (1 - 30/90 = 66.7%). With the
        // whole path in reach the fall from 120 to 30 is 75%, the plain maximum drawdown.
        let path = [100.0, 120.0, 60.0, 90.0, 30.0];
        let two = max_drawdown_within(&path, 2).expect("dd");
        assert!((two - (1.0 - 30.0 / 90.0)).abs() < 1e-12, "{two}");
        assert_eq!(max_drawdown_within(&path, 4), Some(0.75));
        assert_eq!(max_drawdown_within(&path, 4), max_drawdown(&path).map(|d| d.depth_fraction));
        assert_eq!(max_drawdown_within(&path[..4], 1), Some(0.5), "one step back: 120 -> 60 is the worst");
        assert_eq!(max_drawdown_within(&path, 3), Some(0.75), "three back reach the peak of 120 from 30");
        assert_eq!(max_drawdown_within(&path, 0), Some(0.0), "no look-back, no fall");
        assert_eq!(max_drawdown_within(&[1.0, 2.0, 3.0], 30), Some(0.0), "rising");
        assert_eq!(max_drawdown_within(&[1.0, -1.0], 30), None);
        assert_eq!(max_drawdown_within(&[], 30), None);
    }

    #[test]
    fn log_returns_and_the_largest_move() {
        let r = log_returns(&[100.0, 200.0, 100.0, f64::NAN, 50.0, 25.0]);
        assert_eq!(r.len(), 3, "the pairs around the gap are skipped: {r:?}");
        assert!((r[0] - 2f64.ln()).abs() < 1e-15 && (r[1] + 2f64.ln()).abs() < 1e-15, "{r:?}");
        assert!((r[2] + 2f64.ln()).abs() < 1e-15, "{r:?}");
        // Simple returns +10%, -30%, +20%: the worst day is the 30% fall.
        let worst = largest_move(&[100.0, 110.0, 77.0, 92.4]).expect("move");
        assert!((worst - 0.3).abs() < 1e-12, "{worst}");
        // A 50% rise beats it: up or down, the largest move counts.
        assert!((largest_move(&[100.0, 150.0, 105.0]).expect("move") - 0.5).abs() < 1e-12);
        assert_eq!(largest_move(&[100.0]), None);
    }

    #[test]
    fn daily_closes_take_the_last_sample_at_or_before_each_boundary() {
        // Samples every 3,000 blocks; days are 7,200 blocks: closes at 0, 7,200 (sample 6,000),
        // 14,400 (sample 12,000), 21,600 (sample 21,000). The last sample, 24,000, is before
        // the next boundary 28,800 and is not a close.
        let blocks = [0, 3_000, 6_000, 9_000, 12_000, 15_000, 18_000, 21_000, 24_000];
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        assert_eq!(daily_closes(&blocks, &values, 7_200), vec![1.0, 3.0, 5.0, 8.0]);
        assert_eq!(simple_returns(&[100.0, 110.0, 99.0]), vec![0.10000000000000009, -0.09999999999999998]);
    }

    #[test]
    fn var_and_es_of_a_known_sample() {
        // 20 daily returns: -10%, -8%, -6%, -4%, -2%, then 15 returns of +1%.
        let mut r = vec![-0.10, -0.08, -0.06, -0.04, -0.02];
        r.extend([0.01; 15]);
        // 95%: h = 19 * 0.05 = 0.95 -> Q = -0.10 + 0.95 * 0.02 = -0.081; VaR = 8.1%.
        // Tail {r <= -0.081} = {-0.10}: ES = 10%.
        let t = historical_var_es(&r, 0.95).expect("tail");
        assert!((t.var - 0.081).abs() < 1e-12, "{t:?}");
        assert!((t.es - 0.10).abs() < 1e-12, "{t:?}");
        // 75%: h = 19 * 0.25 = 4.75 -> Q = -0.02 + 0.75 * 0.03 = 0.0025: a gain, VaR -0.25%.
        // Tail {r <= 0.0025} = the five losses: ES = 6%.
        let t = historical_var_es(&r, 0.75).expect("tail");
        assert!((t.var + 0.0025).abs() < 1e-12, "{t:?}");
        assert!((t.es - 0.06).abs() < 1e-12, "{t:?}");
        // 99% on 20 values: h = 0.19 -> Q = -0.10 + 0.19 * 0.02 = -0.0962.
        let t = historical_var_es(&r, 0.99).expect("tail");
        assert!((t.var - 0.0962).abs() < 1e-12 && (t.es - 0.10).abs() < 1e-12, "{t:?}");
        assert_eq!(historical_var_es(&[0.1], 0.95), None);
    }

    #[test]
    fn ratios_windows_and_lookups() {
        assert_eq!(peak_ratio(&[1.0, 5.0, 3.0], &[2.0, 0.0, 1.0]), Some((3.0, 2)), "zero depth is skipped");
        assert_eq!(peak_ratio(&[1.0], &[0.0]), None);
        let exits = [10, 20, 20, 35, 99];
        assert_eq!(count_in_window(&exits, 20, 15), 2, "[20, 35): 20, 20");
        assert_eq!(count_in_window(&exits, 0, 1_000), 5);
        assert_eq!(count_in_window(&exits, 100, 10), 0);
        let blocks = [0, 100, 200];
        let v = [1.0, 2.0, 3.0];
        assert_eq!(value_before(&blocks, &v, 100), Some(1.0));
        assert_eq!(value_at_or_before(&blocks, &v, 100), Some(2.0));
        assert_eq!(value_at_or_before(&blocks, &v, 150), Some(2.0));
        assert_eq!(value_before(&blocks, &v, 0), None);
    }
}
