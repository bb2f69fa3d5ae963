//! A real transformer decoder block (LLaMA-style), trained on the CPU: the reference the CUDA
//! block is held to, and the step whose timings calibrate the simulator's GPUs.
//!
//! One block, pre-norm, as in LLaMA (arXiv 2302.13971) and the models Templar trains:
//!
//! ```text
//! n1 = rmsnorm(x) * g1                       rmsnorm(z) = z / sqrt(mean(z^2) + 1e-6)
//! q, k, v = n1 Wq, n1 Wk, n1 Wv              [N, d] each, H heads of d/H columns
//! per sequence and head: P = softmax(q k^T / sqrt(d/H), causal)   o = P v
//! h = x + o Wo                               residual
//! n2 = rmsnorm(h) * g2
//! y = h + (silu(n2 Wgate) * (n2 Wup)) Wdown  SwiGLU MLP (arXiv 2002.05202), residual
//! loss = 0.5 / N * sum((y - T)^2)            a regression target: no tokenizer or vocabulary
//! ```
//!
//! The backward pass is written by hand (each rule beside its formula in [`backward`]) and
//! proved by a finite-difference check in f64 ([`gradcheck`]): the same generic code runs in
//! f32 (timed) and f64 (checked). [`train`] adds AdamW (PyTorch's, as [`crate::step::AdamW`])
//! and the SparseLoCo outer step on every weight matrix ([`crate::sparseloco`]).
//!
//! GEMMs go through `matrixmultiply` with explicit strides, so a head is a strided view of the
//! [N, d] projections and nothing is copied or transposed.

pub mod backward;
#[cfg(test)]
pub mod bf16_emulation;
pub mod differential;
pub mod forward;
pub mod gradcheck;
pub mod train;

use crate::error::{Error, Result};
use crate::sparseloco::CHUNK_SIDE;
use crate::step::SplitMix64;
use serde::{Deserialize, Serialize};

/// The sizes of one block step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockShape {
    /// Sequences in the batch, B.
    pub batch: usize,
    /// Tokens per sequence, S (attention is causal within a sequence).
    pub seq: usize,
    /// Model width, d (a multiple of 64 and of `heads`).
    pub d_model: usize,
    /// Attention heads, H (head width d / H).
    pub heads: usize,
    /// SwiGLU hidden width, f (a multiple of 64; LLaMA uses about 8/3 d).
    pub d_ff: usize,
}

/// Largest accepted sequence length (bounds the B·H·S² attention probabilities).
pub const MAX_SEQ: usize = 1 << 14;

impl BlockShape {
    /// A shape (unchecked; see [`BlockShape::validate`]).
    pub const fn new(batch: usize, seq: usize, d_model: usize, heads: usize, d_ff: usize) -> Self {
        Self { batch, seq, d_model, heads, d_ff }
    }

    /// Tokens in the batch, N = B S.
    pub fn tokens(&self) -> usize {
        self.batch * self.seq
    }

    /// Head width d / H.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.heads.max(1)
    }

    /// Checks ranges: every size positive; `d_model` and `d_ff` multiples of 64 (the SparseLoCo
    /// chunk side) and at most 65,536; `d_model` a multiple of `heads`; `seq` at most 16,384;
    /// no tensor (including the B·H·S² probabilities) above 2^31 elements.
    pub fn validate(&self) -> Result<()> {
        let limits = [
            ("batch", self.batch, crate::step::MAX_DIMENSION),
            ("seq", self.seq, MAX_SEQ),
            ("d_model", self.d_model, crate::step::MAX_DIMENSION),
            ("heads", self.heads, crate::step::MAX_DIMENSION),
            ("d_ff", self.d_ff, crate::step::MAX_DIMENSION),
        ];
        for (field, value, max) in limits {
            if value == 0 || value > max {
                return Err(Error::shape(field, format!("{value} is out of range; allowed 1 ..= {max}")));
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
        if !self.d_model.is_multiple_of(self.heads) {
            return Err(Error::shape(
                "heads",
                format!("d_model {} is not a multiple of {} heads", self.d_model, self.heads),
            ));
        }
        let n = self.tokens();
        let largest =
            [n * self.d_ff, n * self.d_model, self.d_model * self.d_ff, self.batch * self.heads * self.seq * self.seq];
        if largest.iter().any(|&e| e > crate::step::MAX_ELEMENTS) {
            return Err(Error::shape(
                "batch",
                format!("a tensor of {self} exceeds {} elements", crate::step::MAX_ELEMENTS),
            ));
        }
        Ok(())
    }

    /// Trainable parameters: 4 d² (attention) + 3 d f (SwiGLU) + 2 d (norm gains).
    pub fn params(&self) -> usize {
        let (d, f) = (self.d_model, self.d_ff);
        4 * d * d + 3 * d * f + 2 * d
    }

    /// FLOPs of the forward GEMMs: 2 N (4 d² + 3 d f) for the projections and 4 B S² d for the
    /// scores and the weighted values (computed in full, then masked, so counted in full).
    /// Elementwise work is not counted, as in the usual model-FLOPs convention.
    pub fn forward_flops(&self) -> f64 {
        let (n, d, f) = (self.tokens() as f64, self.d_model as f64, self.d_ff as f64);
        let s = self.seq as f64;
        2.0 * n * (4.0 * d * d + 3.0 * d * f) + 4.0 * self.batch as f64 * s * s * d
    }

    /// FLOPs of a whole inner step: the backward pass does two GEMMs per forward GEMM (the
    /// input's and the weight's gradient), so 3 × [`BlockShape::forward_flops`].
    pub fn step_flops(&self) -> f64 {
        3.0 * self.forward_flops()
    }

    /// Bytes AdamW moves: per parameter it reads p, g, m, v and writes p, m, v (f32).
    pub fn optimizer_bytes(&self) -> f64 {
        7.0 * 4.0 * self.params() as f64
    }

    /// Bytes the outer step moves (f32, 10 passes per parameter; see
    /// [`crate::step::StepShape::outer_bytes`]).
    pub fn outer_bytes(&self) -> f64 {
        10.0 * 4.0 * self.params() as f64
    }
}

impl std::fmt::Display for BlockShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "B={} S={} d={} H={} f={}", self.batch, self.seq, self.d_model, self.heads, self.d_ff)
    }
}

/// The block's trainable tensors, in the order of [`Tensor::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tensor {
    /// RMSNorm gain before attention, [d].
    Norm1,
    /// Query projection, [d, d].
    Wq,
    /// Key projection, [d, d].
    Wk,
    /// Value projection, [d, d].
    Wv,
    /// Attention output projection, [d, d].
    Wo,
    /// RMSNorm gain before the MLP, [d].
    Norm2,
    /// SwiGLU gate projection, [d, f].
    WGate,
    /// SwiGLU up projection, [d, f].
    WUp,
    /// SwiGLU down projection, [f, d].
    WDown,
}

/// Number of trainable tensors.
pub const TENSORS: usize = 9;

impl Tensor {
    /// Every tensor, in storage order.
    pub const ALL: [Tensor; TENSORS] = [
        Tensor::Norm1,
        Tensor::Wq,
        Tensor::Wk,
        Tensor::Wv,
        Tensor::Wo,
        Tensor::Norm2,
        Tensor::WGate,
        Tensor::WUp,
        Tensor::WDown,
    ];

    /// The tensor's name.
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Norm1 => "norm1",
            Tensor::Wq => "wq",
            Tensor::Wk => "wk",
            Tensor::Wv => "wv",
            Tensor::Wo => "wo",
            Tensor::Norm2 => "norm2",
            Tensor::WGate => "w_gate",
            Tensor::WUp => "w_up",
            Tensor::WDown => "w_down",
        }
    }

    /// (rows, cols); a gain is one row.
    pub fn dims(self, s: &BlockShape) -> (usize, usize) {
        let (d, f) = (s.d_model, s.d_ff);
        match self {
            Tensor::Norm1 | Tensor::Norm2 => (1, d),
            Tensor::Wq | Tensor::Wk | Tensor::Wv | Tensor::Wo => (d, d),
            Tensor::WGate | Tensor::WUp => (d, f),
            Tensor::WDown => (f, d),
        }
    }

    /// Whether the tensor is a matrix (compressed by the outer step) rather than a gain.
    pub fn is_matrix(self) -> bool {
        !matches!(self, Tensor::Norm1 | Tensor::Norm2)
    }
}

/// One value per trainable tensor (parameters, gradients, moments, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T>(pub [Vec<T>; TENSORS]);

impl<T: Real> Params<T> {
    /// Zero tensors of `shape`.
    pub fn zeros(shape: &BlockShape) -> Self {
        Self(Tensor::ALL.map(|t| {
            let (r, c) = t.dims(shape);
            vec![T::ZERO; r * c]
        }))
    }

    /// Every element of every tensor, converted (f32 <-> f64).
    pub fn convert<U: Real>(&self) -> Params<U> {
        Params(self.0.each_ref().map(|t| t.iter().map(|&x| U::from_f64(x.to_f64())).collect()))
    }

    /// Whether every tensor has the size `shape` needs.
    pub fn fits(&self, shape: &BlockShape) -> bool {
        Tensor::ALL.iter().zip(&self.0).all(|(t, v)| {
            let (r, c) = t.dims(shape);
            v.len() == r * c
        })
    }
}

impl<T> std::ops::Index<Tensor> for Params<T> {
    type Output = Vec<T>;
    fn index(&self, t: Tensor) -> &Vec<T> {
        &self.0[t as usize]
    }
}

impl<T> std::ops::IndexMut<Tensor> for Params<T> {
    fn index_mut(&mut self, t: Tensor) -> &mut Vec<T> {
        &mut self.0[t as usize]
    }
}

/// Inputs and regression targets, [N, d] each.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockBatch<T> {
    /// The block's input (what the embedding or the block below would give).
    pub x: Vec<T>,
    /// Targets.
    pub target: Vec<T>,
}

/// Deterministic initial parameters and batch from `seed`: matrices uniform in ±1/sqrt(fan-in),
/// gains 1, inputs and targets uniform in [-1, 1).
pub fn initial(shape: &BlockShape, seed: u64) -> (Params<f32>, BlockBatch<f32>) {
    let mut rng = SplitMix64::new(seed);
    let mut params = Params::<f32>::zeros(shape);
    for t in Tensor::ALL {
        let (rows, _) = t.dims(shape);
        if t.is_matrix() {
            let scale = 1.0 / (rows as f32).sqrt();
            params[t].iter_mut().for_each(|w| *w = rng.symmetric(scale));
        } else {
            params[t].fill(1.0);
        }
    }
    let n = shape.tokens() * shape.d_model;
    let x = (0..n).map(|_| rng.symmetric(1.0)).collect();
    let target = (0..n).map(|_| rng.symmetric(1.0)).collect();
    (params, BlockBatch { x, target })
}

/// The float types the block runs in: f32 (trained and timed) and f64 (gradient check).
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Send
    + Sync
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// From f64 (rounded for f32).
    fn from_f64(x: f64) -> Self;
    /// To f64 (exact).
    fn to_f64(self) -> f64;
    /// e^x.
    fn exp(self) -> Self;
    /// √x.
    fn sqrt(self) -> Self;
    /// The larger of two values.
    fn max(self, other: Self) -> Self;
    /// C = alpha A B + beta C through `matrixmultiply` with the strides of the views.
    ///
    /// # Safety
    /// The views must lie inside their slices and C's view must not alias A's or B's or
    /// itself; [`gemm`] checks all of this before calling.
    #[allow(unsafe_code)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn raw_gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        av: &Mat,
        b: *const Self,
        bv: &Mat,
        beta: Self,
        c: *mut Self,
        cv: &Mat,
    );
}

macro_rules! real_impl {
    ($t:ty, $gemm:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[allow(unsafe_code)]
            unsafe fn raw_gemm(
                m: usize,
                k: usize,
                n: usize,
                a: *const Self,
                av: &Mat,
                b: *const Self,
                bv: &Mat,
                beta: Self,
                c: *mut Self,
                cv: &Mat,
            ) {
                let s = |x: usize| x as isize;
                // SAFETY: the caller's contract (see the trait method).
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.add(av.offset),
                        s(av.rs),
                        s(av.cs),
                        b.add(bv.offset),
                        s(bv.rs),
                        s(bv.cs),
                        beta,
                        c.add(cv.offset),
                        s(cv.rs),
                        s(cv.cs),
                    )
                }
            }
        }
    };
}

real_impl!(f32, matrixmultiply::sgemm);
real_impl!(f64, matrixmultiply::dgemm);

/// A strided matrix view into a flat slice: element (i, j) at `offset + i rs + j cs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mat {
    /// Index of element (0, 0).
    pub offset: usize,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl Mat {
    /// A dense row-major [rows, cols] matrix at the start of its slice.
    pub const fn dense(rows: usize, cols: usize) -> Self {
        Self { offset: 0, rows, cols, rs: cols, cs: 1 }
    }

    /// The transpose (same storage).
    pub const fn t(self) -> Self {
        Self { offset: self.offset, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }

    /// The [rows, cols] sub-matrix starting at (row, col).
    pub const fn sub(self, row: usize, col: usize, rows: usize, cols: usize) -> Self {
        Self { offset: self.offset + row * self.rs + col * self.cs, rows, cols, rs: self.rs, cs: self.cs }
    }

    /// Index of the last element plus one (0 for an empty view).
    fn end(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return 0;
        }
        self.offset + (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
    }

    /// Whether distinct (i, j) reach distinct elements (needed for an output view).
    fn injective(&self) -> bool {
        let (major, minor, minor_len) =
            if self.rs >= self.cs { (self.rs, self.cs, self.cols) } else { (self.cs, self.rs, self.rows) };
        self.rows <= 1 && self.cols <= 1 || minor > 0 && major >= minor * minor_len
    }
}

/// C = A B (or C += A B when `accumulate`) on strided views.
///
/// # Panics
/// If the inner dimensions disagree, a view reaches outside its slice or C's view is not
/// one-to-one: a bug in the caller, never bad input.
#[allow(unsafe_code)]
pub fn gemm<T: Real>(a: &[T], av: Mat, b: &[T], bv: Mat, c: &mut [T], cv: Mat, accumulate: bool) {
    assert!(av.cols == bv.rows && cv.rows == av.rows && cv.cols == bv.cols, "gemm: {av:?} x {bv:?} -> {cv:?}");
    assert!(av.end() <= a.len() && bv.end() <= b.len() && cv.end() <= c.len(), "gemm: view outside its slice");
    assert!(cv.injective(), "gemm: the output view {cv:?} aliases itself");
    let beta = if accumulate { T::ONE } else { T::ZERO };
    // SAFETY: the assertions bound every element the views reach inside their slices; C is a
    // `&mut` borrow (so it does not alias A or B) and its view is one-to-one.
    unsafe { T::raw_gemm(av.rows, av.cols, bv.cols, a.as_ptr(), &av, b.as_ptr(), &bv, beta, c.as_mut_ptr(), &cv) }
}

/// SiLU in `T`: a sigmoid(a).
pub fn silu<T: Real>(a: T) -> T {
    a / (T::ONE + (-a).exp())
}

/// SiLU's derivative: s (1 + a (1 - s)) with s = sigmoid(a).
pub fn silu_grad<T: Real>(a: T) -> T {
    let s = T::ONE / (T::ONE + (-a).exp());
    s * (T::ONE + a * (T::ONE - s))
}

/// The RMSNorm epsilon (LLaMA's `norm_eps` 1e-6).
pub const RMS_EPS: f64 = 1e-6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_validate_and_count_parameters_and_flops() {
        let s = BlockShape::new(2, 128, 256, 4, 704);
        assert!(s.validate().is_ok());
        assert_eq!(s.tokens(), 256);
        assert_eq!(s.head_dim(), 64);
        assert_eq!(s.params(), 4 * 256 * 256 + 3 * 256 * 704 + 2 * 256);
        let projections = 2.0 * 256.0 * (4.0 * 256.0 * 256.0 + 3.0 * 256.0 * 704.0);
        assert_eq!(s.forward_flops(), projections + 4.0 * 2.0 * 128.0 * 128.0 * 256.0);
        assert_eq!(s.step_flops(), 3.0 * s.forward_flops());
        let e = BlockShape::new(1, 8, 128, 3, 128).validate().expect_err("heads").to_string();
        assert_eq!(e, "heads: d_model 128 is not a multiple of 3 heads");
        let e = BlockShape::new(1, 8, 100, 4, 128).validate().expect_err("chunk").to_string();
        assert_eq!(e, "d_model: 100 is not a multiple of 64 (the SparseLoCo chunk side)");
        let e = BlockShape::new(1, 0, 64, 1, 64).validate().expect_err("seq").to_string();
        assert_eq!(e, "seq: 0 is out of range; allowed 1 ..= 16384");
        assert!(BlockShape::new(64, 16_384, 64, 64, 64).validate().is_err(), "B H S^2 too large");
    }

    #[test]
    fn strided_gemm_computes_a_head_slice_and_refuses_bad_views() {
        // A [2, 4] with a 2-column "head" at column 2; B [2, 3]: C = A[:, 2..4]^T B.
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let b = [1.0f64, 0.0, 2.0, 0.0, 1.0, -1.0];
        let mut c = [0.0f64; 6];
        let head = Mat::dense(2, 4).sub(0, 2, 2, 2);
        gemm(&a, head.t(), &b, Mat::dense(2, 3), &mut c, Mat::dense(2, 3), false);
        // head = [[3, 4], [7, 8]]; head^T B = [[3, 7, -1], [4, 8, 0]].
        assert_eq!(c, [3.0, 7.0, -1.0, 4.0, 8.0, 0.0]);
        gemm(&a, head.t(), &b, Mat::dense(2, 3), &mut c, Mat::dense(2, 3), true);
        assert_eq!(c, [6.0, 14.0, -2.0, 8.0, 16.0, 0.0]);
        let outside = std::panic::catch_unwind(|| {
            let mut c = [0.0f64; 4];
            gemm(&a, Mat::dense(2, 4).sub(0, 1, 2, 4), &b, Mat::dense(4, 1), &mut c, Mat::dense(2, 1), false);
        });
        assert!(outside.is_err(), "a view past the end must be refused");
        let aliasing = std::panic::catch_unwind(|| {
            let mut c = [0.0f64; 6];
            let cv = Mat { offset: 0, rows: 2, cols: 3, rs: 1, cs: 1 };
            gemm(&a, Mat::dense(2, 2), &b, Mat::dense(2, 3), &mut c, cv, false);
        });
        assert!(aliasing.is_err(), "an output view that overlaps itself must be refused");
    }

    #[test]
    fn initial_state_is_deterministic_with_unit_gains() {
        let s = BlockShape::new(1, 4, 64, 2, 128);
        let (p, batch) = initial(&s, 5);
        assert_eq!(initial(&s, 5), (p.clone(), batch.clone()));
        assert_ne!(initial(&s, 6).0, p);
        assert!(p.fits(&s));
        assert!(p[Tensor::Norm1].iter().all(|&g| g == 1.0));
        let bound = 1.0 / 8.0;
        assert!(p[Tensor::Wq].iter().all(|w| w.abs() <= bound) && p[Tensor::Wq].iter().any(|w| w.abs() > 0.9 * bound));
        let down_bound = 1.0 / (128f32).sqrt();
        assert!(p[Tensor::WDown].iter().all(|w| w.abs() <= down_bound));
        assert_eq!(batch.x.len(), 4 * 64);
    }
}
