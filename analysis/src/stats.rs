//! Order statistics, summaries across seeds and the seeded bootstrap.
//!
//! **Percentiles** are R's type 7 (NumPy's default `linear`): for `n` sorted values
//! `x[0] <= ... <= x[n-1]` and a level `p` in [0, 1], `h = (n - 1) p` and
//! `Q(p) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`. One value gives that
//! value at every level.
//!
//! **Bootstrap** confidence intervals are percentile intervals: `resamples` times, draw `n`
//! values with replacement (indices from a ChaCha12 stream, see [`sim::rng`]), take the mean,
//! and report the type-7 quantiles at `(1 - level) / 2` and `(1 + level) / 2` of those means.
//! The stream is keyed by a fixed seed and a label naming the metric and the group, so a
//! report reproduces byte for byte and adding a metric never changes another's interval.

use sim::rng::{Part, Stream, below, stream};

/// The percentile levels of every band and spread: P5, P25, P50, P75, P95.
pub const BAND_LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// The seed of every bootstrap stream (reports are reproducible without choosing one).
pub const BOOTSTRAP_SEED: u64 = 0x7a05_1a0a_1e55_0001;

/// Resamples per bootstrap interval unless told otherwise.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

/// Type-7 quantile at level `p` (clamped to [0, 1]) of values sorted ascending; `None` when
/// empty.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    let first = *sorted.first()?;
    if n == 1 {
        return Some(first);
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lower = h.floor() as usize;
    let upper = (lower + 1).min(n - 1);
    let (a, b) = (sorted[lower], sorted[upper]);
    Some(a + (h - lower as f64) * (b - a))
}

/// The finite values of `values`, sorted ascending (NaN and infinities dropped).
pub fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Type-7 quantile of the finite values of an unsorted slice.
pub fn quantile(values: &[f64], p: f64) -> Option<f64> {
    quantile_sorted(&sorted_finite(values), p)
}

/// Arithmetic mean, summed in slice order; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (`n - 1` in the denominator) of the values, in slice order;
/// `None` with fewer than two values.
pub fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let squares: f64 = values.iter().map(|x| (x - m) * (x - m)).sum();
    Some(libm::sqrt(squares / (values.len() - 1) as f64))
}

/// Excess kurtosis `m4 / m2^2 - 3` with the population central moments
/// `m_k = (1/n) sum (x - mean)^k` (the plain moment estimator, no small-sample correction):
/// 0 for a normal distribution, above 0 for heavy tails (Cont 2001's stylized fact of daily
/// returns). `None` with fewer than two values or no variance.
pub fn excess_kurtosis(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let n = values.len() as f64;
    let m2 = values.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    let m4 = values.iter().map(|x| (x - m) * (x - m) * (x - m) * (x - m)).sum::<f64>() / n;
    if m2 <= 0.0 {
        return None;
    }
    Some(m4 / (m2 * m2) - 3.0)
}

/// Lag-1 autocorrelation as the Pearson correlation of the consecutive pairs
/// `(x_t, x_{t+1})`, `t = 0 .. n-2`, each side about its own mean: exactly -1 for an
/// alternating series and +1 for a straight line (the textbook estimator, which divides by
/// the whole series' variance, gives `-(n-1)/n` for the former). `None` with fewer than three
/// values or when either side is constant.
pub fn lag1_autocorrelation(values: &[f64]) -> Option<f64> {
    if values.len() < 3 {
        return None;
    }
    let (a, b) = (&values[..values.len() - 1], &values[1..]);
    let (ma, mb) = (mean(a)?, mean(b)?);
    let mut cov = 0.0;
    let mut va = 0.0;
    let mut vb = 0.0;
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    if va <= 0.0 || vb <= 0.0 {
        return None;
    }
    Some(cov / libm::sqrt(va * vb))
}

/// How a metric spreads over runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator; 0 for one value).
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// P5, P25, P50 (median), P75, P95 (type 7).
    pub percentiles: [f64; 5],
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The median (P50).
    pub fn median(&self) -> f64 {
        self.percentiles[2]
    }
}

/// Mean, standard deviation and percentiles of the finite values; `None` when there are none.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let sorted = sorted_finite(values);
    let n = sorted.len();
    let mean = mean(&sorted)?;
    let sd =
        if n > 1 { (sorted.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    let mut percentiles = [0.0; 5];
    for (slot, p) in percentiles.iter_mut().zip(BAND_LEVELS) {
        *slot = quantile_sorted(&sorted, p)?;
    }
    Some(Spread { n, mean, sd, min: sorted[0], percentiles, max: sorted[n - 1] })
}

/// A confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Interval {
    /// Whether zero lies outside the interval (the change is distinguishable from none).
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// The bootstrap stream for a label such as `["mean", metric, group]`.
pub fn bootstrap_stream(seed: u64, label: &[Part<'_>]) -> Stream {
    stream(seed, label)
}

fn resampled_mean(values: &[f64], rng: &mut Stream) -> f64 {
    let n = values.len() as u64;
    let mut sum = 0.0;
    for _ in 0..n {
        sum += values[below(rng, n) as usize];
    }
    sum / n as f64
}

fn percentile_interval(mut estimates: Vec<f64>, level: f64) -> Option<Interval> {
    estimates.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Some(Interval { low: quantile_sorted(&estimates, tail)?, high: quantile_sorted(&estimates, 1.0 - tail)? })
}

/// Percentile-bootstrap interval of the mean of `values` (finite values only).
///
/// One value gives the degenerate interval at that value; none gives `None`.
pub fn bootstrap_mean_ci(values: &[f64], level: f64, resamples: usize, rng: &mut Stream) -> Option<Interval> {
    let values: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    match values.len() {
        0 => None,
        1 => Some(Interval { low: values[0], high: values[0] }),
        _ => percentile_interval((0..resamples.max(1)).map(|_| resampled_mean(&values, rng)).collect(), level),
    }
}

/// Percentile-bootstrap interval of `mean(b) - mean(a)` for independent samples: each
/// resample draws `a` and `b` separately with replacement.
pub fn bootstrap_diff_ci(a: &[f64], b: &[f64], level: f64, resamples: usize, rng: &mut Stream) -> Option<Interval> {
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a.len() == 1 && b.len() == 1 {
        let d = b[0] - a[0];
        return Some(Interval { low: d, high: d });
    }
    let estimates =
        (0..resamples.max(1)).map(|_| resampled_mean(&b, rng) - resampled_mean(&a, rng)).collect::<Vec<f64>>();
    percentile_interval(estimates, level)
}

/// Percentile-bootstrap interval of the mean paired difference `b[i] - a[i]` (runs of the
/// two sides that share a seed: common random numbers make the interval much tighter).
pub fn bootstrap_paired_diff_ci(
    a: &[f64],
    b: &[f64],
    level: f64,
    resamples: usize,
    rng: &mut Stream,
) -> Option<Interval> {
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).filter(|d| d.is_finite()).collect();
    bootstrap_mean_ci(&diffs, level, resamples, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::label;

    #[test]
    fn type7_quantiles_match_hand_values() {
        // x = 1..=5: h = 4p. P25 -> h = 1 -> 2; P5 -> h = 0.2 -> 1.2; P95 -> h = 3.8 -> 4.8.
        let x = [5.0, 3.0, 1.0, 4.0, 2.0];
        assert_eq!(quantile(&x, 0.25), Some(2.0));
        assert!((quantile(&x, 0.05).expect("q") - 1.2).abs() < 1e-12);
        assert!((quantile(&x, 0.95).expect("q") - 4.8).abs() < 1e-12);
        assert_eq!(quantile(&x, 0.5), Some(3.0));
        assert_eq!(quantile(&x, 0.0), Some(1.0));
        assert_eq!(quantile(&x, 1.0), Some(5.0));
        // Even count: the median interpolates; NumPy gives 2.5 for [1, 2, 3, 4].
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        // NumPy: np.percentile([10, 20, 40], 90) = 36.0 (h = 1.8).
        assert!((quantile(&[10.0, 20.0, 40.0], 0.9).expect("q") - 36.0).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[f64::NAN, 7.0], 0.5), Some(7.0), "NaN is dropped, not sorted in");
    }

    #[test]
    fn sample_sd_of_a_known_sample() {
        // Mean 5, squared deviations sum to 32, over n - 1 = 7.
        let sd = sample_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("sd");
        assert!((sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12, "{sd}");
        assert_eq!(sample_sd(&[3.0, 3.0]), Some(0.0));
        assert_eq!(sample_sd(&[3.0]), None);
        // Spreading the values out raises it.
        assert!(sample_sd(&[1.0, 9.0]).expect("sd") > sample_sd(&[4.0, 6.0]).expect("sd"));
    }

    #[test]
    fn excess_kurtosis_of_known_samples() {
        // +-1 alternating: m2 = 1, m4 = 1, kurtosis 1, excess -2 (the flattest distribution).
        assert_eq!(excess_kurtosis(&[-1.0, 1.0, -1.0, 1.0]), Some(-2.0));
        // Nine zeros and one 10: mean 1, deviations -1 (x9) and 9; m2 = (9 + 81) / 10 = 9,
        // m4 = (9 + 6561) / 10 = 657; 657 / 81 - 3 = 5.111...: one spike is a heavy tail.
        let mut spike = vec![0.0; 9];
        spike.push(10.0);
        let k = excess_kurtosis(&spike).expect("k");
        assert!((k - (657.0 / 81.0 - 3.0)).abs() < 1e-12, "{k}");
        // Scale and shift do not change it.
        let moved: Vec<f64> = spike.iter().map(|x| 3.0 * x - 7.0).collect();
        assert!((excess_kurtosis(&moved).expect("k") - k).abs() < 1e-12);
        assert_eq!(excess_kurtosis(&[2.0, 2.0, 2.0]), None, "no variance");
        assert_eq!(excess_kurtosis(&[2.0]), None);
    }

    #[test]
    fn lag1_autocorrelation_of_known_series() {
        assert_eq!(lag1_autocorrelation(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0]), Some(-1.0), "alternating");
        let line = lag1_autocorrelation(&[1.0, 2.0, 3.0, 4.0, 5.0]).expect("ac");
        assert!((line - 1.0).abs() < 1e-12, "a trend: {line}");
        // [1, 2, 1, 3]: pairs a = [1, 2, 1], b = [2, 1, 3]; means 4/3 and 2; covariance sum
        // (-1/3)(0) + (2/3)(-1) + (-1/3)(1) = -1; variance sums 2/3 and 2: -1 / sqrt(4/3).
        let ac = lag1_autocorrelation(&[1.0, 2.0, 1.0, 3.0]).expect("ac");
        assert!((ac + 1.0 / (4.0f64 / 3.0).sqrt()).abs() < 1e-12, "{ac}");
        assert_eq!(lag1_autocorrelation(&[1.0, 2.0]), None, "one pair");
        assert_eq!(lag1_autocorrelation(&[5.0, 5.0, 5.0, 5.0]), None, "constant");
    }

    #[test]
    fn spread_has_the_sample_standard_deviation_and_percentiles() {
        let s = spread(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("spread");
        assert_eq!(s.n, 8);
        assert_eq!(s.mean, 5.0);
        // Sum of squared deviations 32, over n - 1 = 7.
        assert!((s.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.median(), 4.5);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        let one = spread(&[3.5]).expect("one");
        assert_eq!((one.sd, one.percentiles), (0.0, [3.5; 5]));
        assert!(spread(&[f64::NAN]).is_none());
    }

    #[test]
    fn bootstrap_intervals_cover_the_mean_reproduce_and_shrink_with_n() {
        let label = label!["mean", "x", "g"];
        let few: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let many: Vec<f64> = (0..1000).map(|i| (i % 10) as f64).collect();
        let a = bootstrap_mean_ci(&few, 0.95, 2000, &mut bootstrap_stream(1, &label)).expect("ci");
        let again = bootstrap_mean_ci(&few, 0.95, 2000, &mut bootstrap_stream(1, &label)).expect("ci");
        assert_eq!(a, again, "same seed and label, same interval");
        assert!(a.low < 4.5 && 4.5 < a.high, "{a:?} covers the mean 4.5");
        // Standard error 2.87 / sqrt(10) = 0.91: a 95% interval is about +-1.8 wide.
        assert!(a.high - a.low > 2.5 && a.high - a.low < 4.5, "{a:?}");
        let b = bootstrap_mean_ci(&many, 0.95, 2000, &mut bootstrap_stream(1, &label)).expect("ci");
        assert!(b.high - b.low < (a.high - a.low) / 5.0, "100x the runs, ~10x narrower: {b:?}");
        assert_eq!(
            bootstrap_mean_ci(&[2.0], 0.95, 10, &mut bootstrap_stream(1, &label)),
            Some(Interval { low: 2.0, high: 2.0 })
        );
    }

    #[test]
    fn difference_intervals_see_a_real_shift_and_pairing_tightens_them() {
        let a: Vec<f64> = (0..40).map(|i| (i % 8) as f64).collect();
        let shifted: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        let label = label!["diff", "x", "g"];
        let independent = bootstrap_diff_ci(&a, &shifted, 0.95, 2000, &mut bootstrap_stream(3, &label)).expect("ci");
        assert!(independent.low < 1.0 && 1.0 < independent.high && independent.excludes_zero(), "{independent:?}");
        let paired = bootstrap_paired_diff_ci(&a, &shifted, 0.95, 2000, &mut bootstrap_stream(3, &label)).expect("ci");
        assert_eq!(paired, Interval { low: 1.0, high: 1.0 }, "every pair differs by exactly 1");
        let same = bootstrap_diff_ci(&a, &a, 0.95, 2000, &mut bootstrap_stream(3, &label)).expect("ci");
        assert!(!same.excludes_zero(), "{same:?}");
    }
}
