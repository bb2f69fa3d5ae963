//! The block's differential check: two back ends (the CUDA block against the CPU block), the
//! same start, results within stated tolerances.
//!
//! The CUDA block multiplies in bf16 (8 significant bits, relative rounding 2^-9 ≈ 0.2 %) with
//! f32 accumulation; the CPU block in f32. So the check compares norms of differences, not
//! bits: ‖a - b‖ / ‖b‖ per tensor. A wrong transpose, a missing scale or a wrong stride gives
//! an error of order 1; bf16 rounding through the block's chain of GEMMs gives under 1 %.

use super::train::TrainingBlock;
use super::{Params, Tensor};
use crate::error::Result;

// The tolerances are about 3 to 60 times what the CUDA block's arithmetic gives when emulated
// on the CPU (`bf16_emulation`: bf16 GEMM inputs, f32 accumulation) on the CUDA test's shapes:
// loss 1.5e-5, worst gradient 5.7e-3, parameters after 3 AdamW steps 3.6e-3. A wrong
// transpose, stride or scale gives errors of order 1.

/// Loss after the first forward pass: relative difference.
pub const LOSS_TOLERANCE: f64 = 1e-3;
/// Each parameter gradient and the input gradient after the first step: ‖a - b‖ / ‖b‖.
pub const GRADIENT_TOLERANCE: f64 = 2e-2;
/// Parameters after the inner steps and the outer step: ‖a - b‖ / ‖b‖. AdamW's first steps
/// move every entry by about ±lr, so a gradient small enough for bf16 to flip its sign costs
/// 2 lr per step; a wrong update rule moves every entry and gives 0.1 or more.
pub const PARAM_TOLERANCE: f64 = 2e-2;

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockReport {
    /// Relative difference of the first losses.
    pub loss: f64,
    /// The worst gradient (a tensor's name or `x`) and its norm-relative difference.
    pub gradient: (String, f64),
    /// The worst parameter tensor after the inner steps and one outer step.
    pub params: (String, f64),
}

impl BlockReport {
    /// Whether every figure is within its tolerance.
    pub fn passed(&self) -> bool {
        self.loss <= LOSS_TOLERANCE && self.gradient.1 <= GRADIENT_TOLERANCE && self.params.1 <= PARAM_TOLERANCE
    }
}

impl std::fmt::Display for BlockReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "loss {:.1e} (≤ {LOSS_TOLERANCE:.0e}), worst gradient {} {:.1e} (≤ {GRADIENT_TOLERANCE:.0e}), worst \
             parameters {} {:.1e} (≤ {PARAM_TOLERANCE:.0e}): {}",
            self.loss,
            self.gradient.0,
            self.gradient.1,
            self.params.0,
            self.params.1,
            if self.passed() { "within tolerance" } else { "OUT OF TOLERANCE" }
        )
    }
}

/// ‖a - b‖₂ / ‖b‖₂ (‖a - b‖₂ when b is zero; infinite when the lengths differ).
pub fn norm_relative(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let diff: f64 = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    let norm: f64 = b.iter().map(|&y| f64::from(y).powi(2)).sum();
    if norm == 0.0 { diff.sqrt() } else { (diff / norm).sqrt() }
}

fn worst(a: &Params<f32>, b: &Params<f32>) -> (String, f64) {
    Tensor::ALL
        .iter()
        .map(|&t| (t.name().to_string(), norm_relative(&a[t], &b[t])))
        .fold((String::new(), -1.0), |w, x| if x.1 > w.1 { x } else { w })
}

/// One inner step on both (compares loss and gradients), `inner_steps - 1` more and one outer
/// step (compares parameters). Both must start from the same state and batch.
pub fn compare(
    candidate: &mut dyn TrainingBlock,
    reference: &mut dyn TrainingBlock,
    inner_steps: usize,
) -> Result<BlockReport> {
    let (a, b) = (candidate.inner_step()?.loss, reference.inner_step()?.loss);
    let loss = (f64::from(a) - f64::from(b)).abs() / f64::from(b).abs().max(1e-30);
    let ((ga, xa), (gb, xb)) = (candidate.gradients()?, reference.gradients()?);
    let mut gradient = worst(&ga, &gb);
    let x = norm_relative(&xa, &xb);
    if x > gradient.1 {
        gradient = ("x".into(), x);
    }
    for _ in 1..inner_steps {
        candidate.inner_step()?;
        reference.inner_step()?;
    }
    candidate.outer_step()?;
    reference.outer_step()?;
    let params = worst(&candidate.snapshot()?.params, &reference.snapshot()?.params);
    Ok(BlockReport { loss, gradient, params })
}

#[cfg(test)]
mod tests {
    use super::super::train::{BlockState, CpuBlock};
    use super::super::{BlockShape, initial};
    use super::*;
    use crate::sparseloco::CompressionConfig;
    use crate::step::AdamW;

    fn cpu(shape: BlockShape, seed: u64, lr: f32) -> CpuBlock {
        let (p, batch) = initial(&shape, seed);
        let adamw = AdamW { lr, ..AdamW::default() };
        CpuBlock::new(shape, adamw, CompressionConfig::default(), BlockState::new(&shape, p), batch).expect("cpu")
    }

    #[test]
    fn identical_back_ends_agree_and_different_ones_do_not() {
        let shape = BlockShape::new(2, 8, 64, 2, 128);
        let same = compare(&mut cpu(shape, 1, 1e-3), &mut cpu(shape, 1, 1e-3), 3).expect("compare");
        assert_eq!((same.loss, same.gradient.1, same.params.1), (0.0, 0.0, 0.0), "{same}");
        assert!(same.passed());
        // Another learning rate: the same loss and gradients, other parameters.
        let lr = compare(&mut cpu(shape, 1, 3e-2), &mut cpu(shape, 1, 1e-3), 3).expect("compare");
        assert_eq!((lr.loss, lr.gradient.1), (0.0, 0.0));
        assert!(!lr.passed() && lr.params.1 > PARAM_TOLERANCE, "{lr}");
        // Other weights: everything differs.
        let other = compare(&mut cpu(shape, 2, 1e-3), &mut cpu(shape, 1, 1e-3), 1).expect("compare");
        assert!(other.gradient.1 > 0.5 && !other.passed(), "{other}");
        assert!(other.to_string().ends_with("OUT OF TOLERANCE"), "{other}");
    }

    #[test]
    fn norm_relative_difference() {
        assert_eq!(norm_relative(&[3.0, 4.0], &[0.0, 0.0]), 5.0);
        assert!((norm_relative(&[1.0, 1.0], &[1.0, 2.0]) - (1.0f64 / 5.0).sqrt()).abs() < 1e-12);
        assert!(norm_relative(&[1.0], &[1.0, 2.0]).is_infinite());
    }
}
