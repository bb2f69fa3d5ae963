//! The finite-difference gradient check that proves the hand-written backward pass.
//!
//! In f64, for a sample of entries of every parameter tensor and of the input, the analytic
//! gradient is compared with the five-point central difference
//! (-L(θ + 2h) + 8 L(θ + h) - 8 L(θ - h) + L(θ - 2h)) / 12h, h = 1e-3: truncation error O(h⁴)
//! ≈ 1e-12 and rounding about 1e-16 × L / h ≈ 1e-11 (L ≈ 30 here), so a correct backward pass
//! agrees to about 1e-8 and a wrong rule is off by orders of magnitude more. (The two-point
//! difference's rounding, ~1e-9 absolute, was too coarse for the smallest sampled gradients.)

use super::backward::{Fault, backward_with};
use super::forward::{Workspace, forward};
use super::{BlockBatch, BlockShape, Params, Tensor, initial};
use crate::step::SplitMix64;

/// Step of the central difference.
pub const STEP: f64 = 1e-3;

/// Largest relative difference a correct backward pass may show (observed: 1.5e-8 at worst,
/// on the smallest sampled gradients; a wrong rule gives 1e-2 or more).
pub const TOLERANCE: f64 = 1e-6;

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// Largest |analytic - numeric| / max(|analytic|, |numeric|, 1e-6 × the tensor's largest).
    pub worst: f64,
    /// Where the worst entry is (`wq[17]`, `x[3]`, ...).
    pub worst_at: String,
    /// Entries compared.
    pub checked: usize,
}

impl GradCheck {
    /// Whether the worst entry is within [`TOLERANCE`].
    pub fn passed(&self) -> bool {
        self.worst <= TOLERANCE
    }
}

/// Parameters and batch in f64 for the check: [`initial`]'s, with the gains moved off 1 so
/// their gradients are generic.
pub fn f64_problem(shape: &BlockShape, seed: u64) -> (Params<f64>, BlockBatch<f64>) {
    let (p, batch) = initial(shape, seed);
    let mut p = p.convert::<f64>();
    let mut rng = SplitMix64::new(seed ^ 0x9a1e);
    for t in [Tensor::Norm1, Tensor::Norm2] {
        p[t].iter_mut().for_each(|g| *g += f64::from(rng.symmetric(0.5)));
    }
    let widen = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    (p, BlockBatch { x: widen(&batch.x), target: widen(&batch.target) })
}

/// The five-point central difference of `loss(delta)` at 0 with step [`STEP`].
fn five_point(loss: &mut dyn FnMut(f64) -> f64) -> f64 {
    let h = STEP;
    (-loss(2.0 * h) + 8.0 * loss(h) - 8.0 * loss(-h) + loss(-2.0 * h)) / (12.0 * h)
}

/// Checks `per_tensor` random entries of every tensor and of the input, with the backward
/// pass carrying `fault` (use [`Fault::None`] for the real one).
pub fn check(shape: &BlockShape, seed: u64, per_tensor: usize, fault: Fault) -> GradCheck {
    let (mut p, mut batch) = f64_problem(shape, seed);
    let mut ws = Workspace::new(shape);
    let mut grads = Params::<f64>::zeros(shape);
    let mut dx = vec![0.0; batch.x.len()];
    forward(shape, &p, &batch, &mut ws);
    backward_with(shape, &p, &batch, &mut ws, &mut grads, &mut dx, fault);
    let mut rng = SplitMix64::new(seed.wrapping_add(1));
    let mut worst = (0.0f64, String::new());
    let mut checked = 0;
    let mut compare = |analytic: f64, numeric: f64, largest: f64, at: String| {
        let denom = analytic.abs().max(numeric.abs()).max(1e-6 * largest).max(1e-300);
        let rel = (analytic - numeric).abs() / denom;
        if rel > worst.0 || worst.1.is_empty() {
            worst = (rel, at);
        }
        checked += 1;
    };
    let mut loss_at = |p: &Params<f64>, batch: &BlockBatch<f64>| forward(shape, p, batch, &mut ws);
    for t in Tensor::ALL {
        let largest = grads[t].iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for _ in 0..per_tensor {
            let i = (rng.next_u64() % p[t].len() as u64) as usize;
            let keep = p[t][i];
            let numeric = five_point(&mut |delta| {
                p[t][i] = keep + delta;
                loss_at(&p, &batch)
            });
            p[t][i] = keep;
            compare(grads[t][i], numeric, largest, format!("{}[{i}]", t.name()));
        }
    }
    let largest = dx.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for _ in 0..per_tensor {
        let i = (rng.next_u64() % batch.x.len() as u64) as usize;
        let keep = batch.x[i];
        let numeric = five_point(&mut |delta| {
            batch.x[i] = keep + delta;
            loss_at(&p, &batch)
        });
        batch.x[i] = keep;
        compare(dx[i], numeric, largest, format!("x[{i}]"));
    }
    GradCheck { worst: worst.0, worst_at: worst.1, checked }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sequences (so the per-sequence views are exercised), 4 heads of 16, non-square MLP.
    const SHAPE: BlockShape = BlockShape::new(2, 5, 64, 4, 128);

    #[test]
    fn the_backward_pass_agrees_with_finite_differences() {
        let r = check(&SHAPE, 17, 12, Fault::None);
        assert_eq!(r.checked, 12 * 10);
        eprintln!("gradient check: worst {:.2e} at {}", r.worst, r.worst_at);
        assert!(r.passed(), "worst {:.2e} at {}", r.worst, r.worst_at);
    }

    #[test]
    fn the_check_catches_each_deliberate_mistake() {
        for fault in
            [Fault::SoftmaxRowSum, Fault::AttentionScale, Fault::RmsMeanTerm, Fault::SwigluGate, Fault::Residual]
        {
            let r = check(&SHAPE, 17, 6, fault);
            assert!(r.worst > 1e-2, "{fault:?} not caught: worst {:.2e} at {}", r.worst, r.worst_at);
        }
    }
}
