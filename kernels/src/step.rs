//! What one sampled training step is, independent of the back end that runs it.
//!
//! The step is the MLP block of a LLaMA-style transformer, trained on a regression target so
//! that the loss and every gradient are defined without a tokenizer (row-major throughout):
//!
//! ```text
//! forward   A = X W1            [N, f]      H = silu(A)          Y = H W2   [N, d]
//!           loss = 0.5 / N * sum((Y - T)^2)
//! backward  dY = (Y - T) / N    dW2 = H^T dY   dH = dY W2^T   dA = dH * silu'(A)
//!           dW1 = X^T dA        dX = dA W1^T   (dX feeds the block below in a real model)
//! update    AdamW on W1 and W2 (PyTorch's decoupled weight decay and bias correction)
//! ```
//!
//! Six GEMMs of 2 N d f FLOPs each: 12 N d f = 6 P N with P = 2 d f parameters, the same
//! "6 × parameters × tokens" that sizes a full model's step. Every H inner steps the SparseLoCo
//! outer step ([`crate::sparseloco`]) compresses the pseudo-gradient.

use crate::error::{Error, Result};
use crate::sparseloco::{CHUNK_SIDE, Compressed, CompressionConfig};
use serde::{Deserialize, Serialize};

/// The sizes of one sampled step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepShape {
    /// Tokens in the batch (rows of X), N.
    pub tokens: usize,
    /// Model width, d.
    pub d_model: usize,
    /// MLP hidden width, f.
    pub d_ff: usize,
}

/// Largest accepted dimension: bounds memory of a mistyped shape (2^16 = 65,536).
pub const MAX_DIMENSION: usize = 1 << 16;

/// Largest accepted tensor (elements) of one shape: 2^31, within cuBLAS's 32-bit sizes.
pub const MAX_ELEMENTS: usize = 1 << 31;

impl StepShape {
    /// A shape (unchecked; see [`StepShape::validate`]).
    pub const fn new(tokens: usize, d_model: usize, d_ff: usize) -> Self {
        Self { tokens, d_model, d_ff }
    }

    /// Checks ranges: every dimension 1 ..= 65,536; `d_model` and `d_ff` multiples of 64 (the
    /// SparseLoCo chunk side); no tensor above 2^31 elements.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("tokens", self.tokens), ("d_model", self.d_model), ("d_ff", self.d_ff)] {
            if value == 0 || value > MAX_DIMENSION {
                return Err(Error::shape(field, format!("{value} is out of range; allowed 1 ..= {MAX_DIMENSION}")));
            }
        }
        for (field, value) in [("d_model", self.d_model), ("d_ff", self.d_ff)] {
            if !value.is_multiple_of(CHUNK_SIDE) {
                return Err(Error::shape(
                    field,
                    format!("{value} is not a multiple of {CHUNK_SIDE} (the SparseLoCo chunk side)"),
                ));
            }
        }
        let largest = [self.tokens * self.d_ff, self.tokens * self.d_model, self.d_model * self.d_ff];
        if largest.iter().any(|&n| n > MAX_ELEMENTS) {
            return Err(Error::shape("tokens", format!("a tensor of {self} exceeds {MAX_ELEMENTS} elements")));
        }
        Ok(())
    }

    /// Trainable parameters, P = 2 d f.
    pub fn params(&self) -> usize {
        2 * self.d_model * self.d_ff
    }

    /// FLOPs of one inner step's six GEMMs: 12 N d f (= 6 P N). Elementwise work is not counted,
    /// as in the usual model-FLOPs convention.
    pub fn step_flops(&self) -> f64 {
        12.0 * self.tokens as f64 * self.d_model as f64 * self.d_ff as f64
    }

    /// Bytes the AdamW update moves: per parameter it reads p, g, m, v and writes p, m, v (f32).
    pub fn optimizer_bytes(&self) -> f64 {
        7.0 * 4.0 * self.params() as f64
    }

    /// Bytes the outer step moves (f32 tensors, per parameter): pseudo-gradient and error
    /// feedback read θ, θ0, e and write e (4 passes); top-k and quantisation read e twice;
    /// decode, residual and apply read e and write e, θ, θ0 (4 passes). 10 passes of 4 bytes.
    pub fn outer_bytes(&self) -> f64 {
        10.0 * 4.0 * self.params() as f64
    }
}

impl std::fmt::Display for StepShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "N={} d={} f={}", self.tokens, self.d_model, self.d_ff)
    }
}

/// AdamW hyperparameters (Templar's production values by default: betas (0.9, 0.95),
/// eps 1e-8, weight decay 0.1, learning rate 1.3e-4).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamW {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Added to the root of the second moment.
    pub eps: f32,
    /// Decoupled weight decay (multiplies the parameter by 1 - lr * wd each step).
    pub weight_decay: f32,
}

impl Default for AdamW {
    fn default() -> Self {
        Self { lr: 1.3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1 }
    }
}

impl AdamW {
    /// The scalars of update number `t` (1-based), computed in f64 and rounded once, so every
    /// back end uses the same f32 values: `(step_size, sqrt_bias2, decay)` where
    /// `p = p * decay - step_size * m / (sqrt(v) / sqrt_bias2 + eps)` (PyTorch's AdamW).
    pub fn scalars(&self, t: u32) -> (f32, f32, f32) {
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        let bias1 = 1.0 - f64::from(self.beta1).powi(t);
        let bias2 = 1.0 - f64::from(self.beta2).powi(t);
        let step_size = f64::from(self.lr) / bias1;
        let decay = 1.0 - f64::from(self.lr) * f64::from(self.weight_decay);
        (step_size as f32, bias2.sqrt() as f32, decay as f32)
    }
}

/// One tensor pair of the block: W1 [d, f] and W2 [f, d], row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// Up projection, d × f.
    pub w1: Vec<f32>,
    /// Down projection, f × d.
    pub w2: Vec<f32>,
}

impl Weights {
    /// Zero tensors of `shape`.
    pub fn zeros(shape: &StepShape) -> Self {
        let n = shape.d_model * shape.d_ff;
        Self { w1: vec![0.0; n], w2: vec![0.0; n] }
    }

    /// The two tensors with their (rows, cols).
    pub fn tensors(&self, shape: &StepShape) -> [(&[f32], usize, usize); 2] {
        [(&self.w1, shape.d_model, shape.d_ff), (&self.w2, shape.d_ff, shape.d_model)]
    }
}

/// Everything a step reads and writes besides scratch space.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Current parameters θ.
    pub params: Weights,
    /// AdamW first moments.
    pub m: Weights,
    /// AdamW second moments.
    pub v: Weights,
    /// AdamW updates taken so far (t of the next update is `updates + 1`).
    pub updates: u32,
    /// Parameters at the start of the round, θ0 (the outer step's reference point).
    pub round_start: Weights,
    /// SparseLoCo error-feedback buffer e.
    pub error: Weights,
}

/// The fixed batch: inputs X [N, d] and regression targets T [N, d].
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Inputs.
    pub x: Vec<f32>,
    /// Targets.
    pub target: Vec<f32>,
}

/// A small deterministic generator for test data (SplitMix64): the kernels crate does not
/// depend on the simulator's streams, and calibration data need no cryptographic quality.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform f32 in [-scale, scale) with 24 random bits.
    pub fn symmetric(&mut self, scale: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * unit - 1.0) * scale
    }
}

/// Deterministic initial state and batch for `shape` from `seed`: X and T uniform in [-1, 1),
/// W1 uniform in ±1/sqrt(d), W2 in ±1/sqrt(f) (fan-in scaling), zero moments and error.
pub fn initial_state(shape: &StepShape, seed: u64) -> (TrainState, Batch) {
    let mut rng = SplitMix64::new(seed);
    let w1_scale = 1.0 / (shape.d_model as f32).sqrt();
    let w2_scale = 1.0 / (shape.d_ff as f32).sqrt();
    let n = shape.d_model * shape.d_ff;
    let w1: Vec<f32> = (0..n).map(|_| rng.symmetric(w1_scale)).collect();
    let w2: Vec<f32> = (0..n).map(|_| rng.symmetric(w2_scale)).collect();
    let rows = shape.tokens * shape.d_model;
    let x: Vec<f32> = (0..rows).map(|_| rng.symmetric(1.0)).collect();
    let target: Vec<f32> = (0..rows).map(|_| rng.symmetric(1.0)).collect();
    let params = Weights { w1, w2 };
    let state = TrainState {
        round_start: params.clone(),
        params,
        m: Weights::zeros(shape),
        v: Weights::zeros(shape),
        updates: 0,
        error: Weights::zeros(shape),
    };
    (state, Batch { x, target })
}

/// SiLU, a * sigmoid(a), in f32 as every back end computes it.
pub fn silu(a: f32) -> f32 {
    a / (1.0 + (-a).exp())
}

/// The derivative of SiLU: s (1 + a (1 - s)) with s = sigmoid(a).
pub fn silu_grad(a: f32) -> f32 {
    let s = 1.0 / (1.0 + (-a).exp());
    s * (1.0 + a * (1.0 - s))
}

/// Where a device's figures come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    /// `"cpu"` or `"gpu"`.
    pub kind: String,
    /// The device's name (the CPU model, or the GPU's name as the driver reports it).
    pub name: String,
    /// The driver (CUDA driver version) or, for the CPU, the GEMM kernel used.
    pub driver: String,
    /// The back end: `"cpu (matrixmultiply sgemm, 1 thread)"` or `"cuda (cuBLAS + NVRTC)"`.
    pub backend: String,
}

/// Seconds spent in each phase of one inner step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InnerTimes {
    /// The loss before the update (of the forward pass).
    pub loss: f32,
    /// Forward GEMMs, activation and loss gradient.
    pub forward_s: f64,
    /// Backward GEMMs and activation gradient.
    pub backward_s: f64,
    /// The AdamW update.
    pub optimizer_s: f64,
}

impl InnerTimes {
    /// The whole step.
    pub fn total_s(&self) -> f64 {
        self.forward_s + self.backward_s + self.optimizer_s
    }
}

/// Seconds spent in each phase of one outer (SparseLoCo) step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OuterTimes {
    /// Pseudo-gradient and error feedback: e = beta e + (θ0 - θ).
    pub pseudo_gradient_s: f64,
    /// Chunked top-k selection.
    pub select_s: f64,
    /// Quantisation statistics and codes.
    pub quantise_s: f64,
    /// Decode, residual (e -= decode) and the outer update of θ and θ0.
    pub decode_s: f64,
}

impl OuterTimes {
    /// The whole outer step.
    pub fn total_s(&self) -> f64 {
        self.pseudo_gradient_s + self.select_s + self.quantise_s + self.decode_s
    }
}

/// Number formats of a timed GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE single precision in and out.
    F32,
    /// bfloat16 in and out, f32 accumulation (tensor cores on a GPU).
    Bf16,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        })
    }
}

/// One back end running the sampled step: the CPU reference ([`crate::cpu::CpuStep`]) or CUDA
/// (`crate::cuda::CudaStep`, feature `cuda`). Both have identical meaning: the same inputs
/// give the same state within floating-point tolerance.
pub trait TrainingStep {
    /// The device it runs on.
    fn device(&self) -> &DeviceInfo;

    /// The step's shape.
    fn shape(&self) -> StepShape;

    /// One inner step: forward, backward, AdamW. Returns its phase times and the loss.
    fn inner_step(&mut self) -> Result<InnerTimes>;

    /// One SparseLoCo outer step with this replica as the only peer: pseudo-gradient, error
    /// feedback, chunked top-k, quantisation, decode, residual, and θ = θ0 = θ0 - lr * decode.
    fn outer_step(&mut self) -> Result<OuterTimes>;

    /// A copy of the state on the host.
    fn snapshot(&mut self) -> Result<TrainState>;

    /// The compressed tensors of the last outer step (W1 then W2); empty before the first.
    fn payload(&mut self) -> Result<Vec<Compressed>>;

    /// Times `reps` GEMMs C[m, n] = A[m, k] B[k, n] in `precision`; seconds per GEMM.
    fn time_gemm(&mut self, m: usize, n: usize, k: usize, precision: Precision, reps: usize) -> Result<Vec<f64>>;

    /// The compression settings of the outer step.
    fn compression(&self) -> &CompressionConfig;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_validate_and_count_flops() {
        let s = StepShape::new(128, 64, 256);
        assert!(s.validate().is_ok());
        assert_eq!(s.params(), 2 * 64 * 256);
        assert_eq!(s.step_flops(), 6.0 * s.params() as f64 * 128.0);
        let e = StepShape::new(128, 65, 256).validate().expect_err("not a multiple of 64").to_string();
        assert_eq!(e, "d_model: 65 is not a multiple of 64 (the SparseLoCo chunk side)");
        let e = StepShape::new(0, 64, 64).validate().expect_err("zero").to_string();
        assert_eq!(e, "tokens: 0 is out of range; allowed 1 ..= 65536");
        assert!(StepShape::new(65_536, 65_536, 64).validate().is_err());
    }

    #[test]
    fn adamw_scalars_match_the_textbook_formula() {
        let h = AdamW::default();
        let (step, sqrt_b2, decay) = h.scalars(1);
        assert!((f64::from(step) - 1.3e-4 / 0.1).abs() < 1e-9);
        assert!((f64::from(sqrt_b2) - 0.05f64.sqrt()).abs() < 1e-7);
        assert!((f64::from(decay) - (1.0 - 1.3e-5)).abs() < 1e-7);
        let (step_late, sqrt_late, _) = h.scalars(10_000);
        assert!((f64::from(step_late) - 1.3e-4).abs() < 1e-9);
        assert!((sqrt_late - 1.0).abs() < 1e-6);
    }

    #[test]
    fn initial_state_is_deterministic_and_scaled() {
        let s = StepShape::new(8, 64, 128);
        let (a, batch_a) = initial_state(&s, 7);
        let (b, batch_b) = initial_state(&s, 7);
        assert_eq!(a, b);
        assert_eq!(batch_a, batch_b);
        assert_ne!(initial_state(&s, 8).0, a);
        let bound = 1.0 / 8.0; // 1/sqrt(64)
        assert!(a.params.w1.iter().all(|w| w.abs() <= bound));
        assert!(a.params.w1.iter().any(|w| w.abs() > 0.9 * bound));
        assert_eq!(a.params, a.round_start);
    }

    #[test]
    fn silu_gradient_matches_a_finite_difference() {
        for a in [-4.0f32, -1.0, -0.1, 0.0, 0.3, 2.0, 6.0] {
            let h = 1e-3f64;
            let f = |x: f64| x / (1.0 + (-x).exp());
            let numeric = (f(f64::from(a) + h) - f(f64::from(a) - h)) / (2.0 * h);
            assert!((f64::from(silu_grad(a)) - numeric).abs() < 1e-5, "a = {a}");
            assert!((f64::from(silu(a)) - f(f64::from(a))).abs() < 1e-6);
        }
    }
}
