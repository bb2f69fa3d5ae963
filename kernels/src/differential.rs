//! The differential check: two back ends, the same inputs, results within tolerance.
//!
//! Both back ends start from the same state and batch, take `inner_steps` inner steps and one
//! outer step; then the losses, parameters, moments and error buffers are compared by relative
//! error (max |a - b| over max |b|), and the outer steps' kept sets by agreement. f32 GEMMs by
//! different libraries differ in rounding, and a near-tie in |e| can flip one kept entry, so
//! the tolerances are those of f32 arithmetic, not bit equality.

use crate::error::Result;
use crate::step::TrainingStep;

/// Tolerance on relative errors of parameters and moments (f32 after a few steps).
pub const PARAM_TOLERANCE: f64 = 1e-4;
/// Tolerance on the error-feedback buffer (its small entries amplify rounding).
pub const ERROR_TOLERANCE: f64 = 1e-3;
/// Least fraction of kept indices that must agree.
pub const KEPT_AGREEMENT: f64 = 0.995;

/// What the differential check found.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Largest relative difference of the per-step losses.
    pub loss: f64,
    /// Relative difference of the parameters after the inner steps (before the outer step).
    pub params_inner: f64,
    /// Relative difference of the second moments.
    pub moments: f64,
    /// Relative difference of the parameters after the outer step.
    pub params_outer: f64,
    /// Relative difference of the error-feedback buffers.
    pub error: f64,
    /// Fraction of kept indices that agree.
    pub kept_agreement: f64,
    /// Relative difference of the quantisers' bin widths.
    pub scale: f64,
}

impl Report {
    /// Whether every figure is within tolerance.
    pub fn passed(&self) -> bool {
        self.loss <= PARAM_TOLERANCE
            && self.params_inner <= PARAM_TOLERANCE
            && self.moments <= PARAM_TOLERANCE
            && self.params_outer <= PARAM_TOLERANCE
            && self.error <= ERROR_TOLERANCE
            && self.kept_agreement >= KEPT_AGREEMENT
            && self.scale <= ERROR_TOLERANCE
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "loss {:.1e}, params {:.1e} (after outer step {:.1e}), moments {:.1e}, error feedback {:.1e}, \
             kept indices agree {:.3}%, quantiser scale {:.1e} ({})",
            self.loss,
            self.params_inner,
            self.params_outer,
            self.moments,
            self.error,
            self.kept_agreement * 100.0,
            self.scale,
            if self.passed() { "within tolerance" } else { "OUT OF TOLERANCE" }
        )
    }
}

/// Max |a - b| over max |b| (0 when both are zero).
pub fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
    let diff = a.iter().zip(b).fold(0.0f64, |m, (&x, &y)| m.max((f64::from(x) - f64::from(y)).abs()));
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    if scale == 0.0 { diff } else { diff / scale }
}

/// Runs `inner_steps` inner steps and one outer step on both back ends (same starting state)
/// and compares `candidate` against `reference`.
pub fn compare(
    candidate: &mut dyn TrainingStep,
    reference: &mut dyn TrainingStep,
    inner_steps: usize,
) -> Result<Report> {
    let mut loss = 0.0f64;
    for _ in 0..inner_steps {
        let a = candidate.inner_step()?.loss;
        let b = reference.inner_step()?.loss;
        loss = loss.max((f64::from(a) - f64::from(b)).abs() / f64::from(b).abs().max(1e-30));
    }
    let (sa, sb) = (candidate.snapshot()?, reference.snapshot()?);
    let both = |x: &crate::step::Weights, y: &crate::step::Weights| {
        relative_error(&x.w1, &y.w1).max(relative_error(&x.w2, &y.w2))
    };
    let params_inner = both(&sa.params, &sb.params);
    let moments = both(&sa.v, &sb.v);
    candidate.outer_step()?;
    reference.outer_step()?;
    let (sa, sb) = (candidate.snapshot()?, reference.snapshot()?);
    let (pa, pb) = (candidate.payload()?, reference.payload()?);
    let mut agree = 0usize;
    let mut total = 0usize;
    let mut scale = 0.0f64;
    for (x, y) in pa.iter().zip(&pb) {
        total += y.indices.len();
        agree += x.indices.iter().zip(&y.indices).filter(|(i, j)| i == j).count();
        scale = scale.max((f64::from(x.quant.scale) - f64::from(y.quant.scale)).abs() / f64::from(y.quant.scale).abs());
    }
    if pa.len() != pb.len() || total == 0 {
        agree = 0;
        total = 1;
    }
    Ok(Report {
        loss,
        params_inner,
        moments,
        params_outer: both(&sa.params, &sb.params),
        error: both(&sa.error, &sb.error),
        kept_agreement: agree as f64 / total as f64,
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuStep;
    use crate::sparseloco::CompressionConfig;
    use crate::step::{AdamW, StepShape, initial_state};

    #[test]
    fn two_cpu_back_ends_agree_exactly_and_a_perturbed_one_is_caught() {
        let shape = StepShape::new(16, 64, 128);
        let (state, batch) = initial_state(&shape, 4);
        let make = |s, b| CpuStep::new(shape, AdamW::default(), CompressionConfig::default(), s, b).expect("cpu");
        let mut a = make(state.clone(), batch.clone());
        let mut b = make(state.clone(), batch.clone());
        let r = compare(&mut a, &mut b, 2).expect("compare");
        assert!(r.passed(), "{r}");
        assert_eq!(r.params_outer, 0.0);
        assert_eq!(r.kept_agreement, 1.0);
        // A different learning rate must be reported as out of tolerance.
        let mut c = CpuStep::new(
            shape,
            AdamW { lr: 2e-4, ..AdamW::default() },
            CompressionConfig::default(),
            state.clone(),
            batch.clone(),
        )
        .expect("cpu");
        let mut d = make(state, batch);
        let r = compare(&mut c, &mut d, 2).expect("compare");
        assert!(!r.passed(), "{r}");
        assert!(r.to_string().ends_with("(OUT OF TOLERANCE)"));
    }

    #[test]
    fn relative_error_is_scaled_by_the_reference() {
        assert_eq!(relative_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((relative_error(&[1.0, 2.2], &[1.0, 2.0]) - 0.1).abs() < 1e-6);
        assert_eq!(relative_error(&[1.0], &[1.0, 2.0]), f64::INFINITY);
    }
}
