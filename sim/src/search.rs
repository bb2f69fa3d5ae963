//! How much is enough: the smallest value of a scenario parameter (an attacker's budget) at
//! which an attack captures, found by bisection for each seed, and the capture probability
//! against that parameter across seeds (`taosim search`).
//!
//! A run *captures* when one of its governance attacks captured (a proposal enacted by the
//! attacker's seats, a subnet's ownership taken) or, without governance attacks, when one of
//! its consensus attacks reached its goal. Bisection assumes capture is monotone in the
//! parameter for a seed (more budget never loses what less won); the search checks the ends
//! first and reports a seed that captures at `lo` or not at `hi` as such.

use crate::run::{Summary, simulate};
use crate::scenario::Scenario;
use rayon::prelude::*;

/// What bisection found for one seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// Captures already at the low end.
    AtOrBelow(f64),
    /// The smallest capturing value lies in `(low, high]`; `high` captures.
    Between(f64, f64),
    /// Does not capture even at the high end.
    Above(f64),
}

impl Threshold {
    /// The value reported for the seed: the capturing end of its interval (infinite above).
    pub fn value(&self) -> f64 {
        match *self {
            Threshold::AtOrBelow(v) | Threshold::Between(_, v) => v,
            Threshold::Above(_) => f64::INFINITY,
        }
    }

    /// `at_or_below`, `between` or `above`.
    pub fn status(&self) -> &'static str {
        match self {
            Threshold::AtOrBelow(_) => "at_or_below",
            Threshold::Between(..) => "between",
            Threshold::Above(_) => "above",
        }
    }
}

/// Whether a run's attack captured.
pub fn captured(summary: &Summary) -> bool {
    summary.participants.as_ref().is_some_and(|p| {
        if p.governance.is_empty() {
            p.attacks.iter().any(|a| a.reached)
        } else {
            p.governance.iter().any(|a| a.captured)
        }
    })
}

/// Bisection of `captures` over `[lo, hi]` in `steps` halvings.
pub fn bisect<E>(
    lo: f64,
    hi: f64,
    steps: u32,
    mut captures: impl FnMut(f64) -> Result<bool, E>,
) -> Result<Threshold, E> {
    if captures(lo)? {
        return Ok(Threshold::AtOrBelow(lo));
    }
    if !captures(hi)? {
        return Ok(Threshold::Above(hi));
    }
    let (mut low, mut high) = (lo, hi);
    for _ in 0..steps {
        let mid = 0.5 * (low + high);
        if captures(mid)? {
            high = mid;
        } else {
            low = mid;
        }
    }
    Ok(Threshold::Between(low, high))
}

/// The capture probability at each of `grid`'s values: the share of seeds whose threshold
/// is at or below it.
pub fn curve(thresholds: &[Threshold], grid: &[f64]) -> Vec<(f64, f64)> {
    let n = thresholds.len().max(1) as f64;
    grid.iter().map(|&b| (b, thresholds.iter().filter(|t| t.value() <= b).count() as f64 / n)).collect()
}

/// `points` evenly spaced values from `lo` to `hi`.
pub fn grid(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    let k = points.max(2) - 1;
    (0..=k).map(|i| lo + (hi - lo) * i as f64 / k as f64).collect()
}

/// Per seed of `seeds` (the scenario's seed, seed + 1, ...): its threshold, `scenario_at`
/// giving the scenario at a parameter value (the caller applies the override). Seeds run in
/// parallel; results are in seed order.
pub fn search(
    seeds: u64,
    base_seed: u64,
    lo: f64,
    hi: f64,
    steps: u32,
    scenario_at: &(dyn Fn(f64) -> Result<Scenario, String> + Sync),
) -> Result<Vec<(u64, Threshold)>, String> {
    (0..seeds)
        .into_par_iter()
        .map(|i| {
            let seed = base_seed + i;
            let t = bisect(lo, hi, steps, |v| {
                let mut s = scenario_at(v)?;
                s.seed = seed;
                let sink = std::io::sink;
                let (summary, ..) = simulate(&s, sink(), sink(), sink(), None).map_err(|e| e.to_string())?;
                Ok::<bool, String>(captured(&summary))
            })?;
            Ok((seed, t))
        })
        .collect()
}

/// The search folder manifest's format tag.
pub const MANIFEST_FORMAT: &str = "taosim-search/1";

/// The files of a search folder besides its `manifest.json`.
pub const FILES: [&str; 3] = ["thresholds.csv", "curve.csv", "curve.svg"];

/// `thresholds.csv`: one row per seed.
pub fn thresholds_csv(param: &str, rows: &[(u64, Threshold)]) -> String {
    let mut out = format!("seed,status,{param}_low,{param}_capturing\n");
    for (seed, t) in rows {
        let (low, high) = match *t {
            Threshold::AtOrBelow(v) => (String::new(), v.to_string()),
            Threshold::Between(l, h) => (l.to_string(), h.to_string()),
            Threshold::Above(v) => (v.to_string(), String::new()),
        };
        out.push_str(&format!("{seed},{},{low},{high}\n", t.status()));
    }
    out
}

/// `curve.csv`: the capture probability against the parameter.
pub fn curve_csv(param: &str, points: &[(f64, f64)]) -> String {
    let mut out = format!("{param},capture_probability\n");
    for (v, p) in points {
        out.push_str(&format!("{v},{p}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_brackets_the_smallest_capturing_value() {
        let mut calls = Vec::new();
        let t = bisect(0.0, 100.0, 4, |v| {
            calls.push(v);
            Ok::<_, ()>(v >= 37.0)
        })
        .expect("no error");
        // 0 no, 100 yes, then 50 yes, 25 no, 37.5 yes, 31.25 no: (31.25, 37.5].
        assert_eq!(calls, [0.0, 100.0, 50.0, 25.0, 37.5, 31.25]);
        assert_eq!(t, Threshold::Between(31.25, 37.5));
        assert_eq!(bisect(0.0, 1.0, 4, |_| Ok::<_, ()>(true)), Ok(Threshold::AtOrBelow(0.0)));
        assert_eq!(bisect(0.0, 1.0, 4, |_| Ok::<_, ()>(false)), Ok(Threshold::Above(1.0)));
        assert_eq!(bisect(0.0, 1.0, 4, |_| Err::<bool, _>("bad")), Err("bad"));
    }

    #[test]
    fn the_curve_counts_seeds_at_or_below_each_value() {
        let t = [
            Threshold::Between(1.0, 2.0),
            Threshold::Between(3.0, 4.0),
            Threshold::Above(10.0),
            Threshold::AtOrBelow(0.0),
        ];
        let c = curve(&t, &[0.0, 2.0, 3.9, 4.0, 10.0]);
        assert_eq!(c, [(0.0, 0.25), (2.0, 0.5), (3.9, 0.5), (4.0, 0.75), (10.0, 0.75)]);
        assert_eq!(grid(0.0, 10.0, 3), [0.0, 5.0, 10.0]);
        let csv = thresholds_csv("attacker.budget_tao", &[(7, t[0]), (8, t[2])]);
        assert_eq!(
            csv,
            "seed,status,attacker.budget_tao_low,attacker.budget_tao_capturing\n7,between,1,2\n8,above,10,\n"
        );
    }
}
