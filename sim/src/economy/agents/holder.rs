//! Holders and stakers: where they delegate, and when they panic.

use serde::{Deserialize, Serialize};

/// A holder's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HolderPolicy {
    /// Weight of recent yield in choosing where to stake.
    pub yield_weight: f64,
    /// Weight of price momentum in choosing where to stake.
    pub momentum_weight: f64,
    /// Unstake and sell after the value of the position falls this fraction below its peak.
    pub panic_drawdown: f64,
}

impl Default for HolderPolicy {
    fn default() -> Self {
        Self { yield_weight: 1.0, momentum_weight: 0.5, panic_drawdown: 0.3 }
    }
}

/// The best target by `yield_weight * yield + momentum_weight * momentum`; ties go to the
/// lowest index, so the choice is deterministic. `None` for an empty list.
pub fn choose_target(policy: &HolderPolicy, yields: &[f64], momentum: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &y) in yields.iter().enumerate() {
        let m = momentum.get(i).copied().unwrap_or(0.0);
        let score = policy.yield_weight * y + policy.momentum_weight * m;
        if !score.is_finite() {
            continue;
        }
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// Whether a position worth `value` after a peak of `peak` has fallen past the panic drawdown.
pub fn panics(policy: &HolderPolicy, peak: f64, value: f64) -> bool {
    peak > 0.0 && value < peak * (1.0 - policy.panic_drawdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_panic() {
        let p = HolderPolicy::default();
        assert_eq!(choose_target(&p, &[0.1, 0.3, 0.3], &[0.0, 0.0, 0.0]), Some(1), "ties: lowest index");
        assert_eq!(choose_target(&p, &[0.1, 0.3], &[1.0, 0.0]), Some(0), "momentum counts");
        assert_eq!(choose_target(&p, &[], &[]), None);
        assert_eq!(choose_target(&p, &[f64::NAN, 0.0], &[]), Some(1));
        assert!(!panics(&p, 100.0, 75.0));
        assert!(panics(&p, 100.0, 69.0));
        assert!(!panics(&p, 0.0, 0.0));
    }
}
