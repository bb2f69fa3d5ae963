//! The CPU back end: the step in f32 with `matrixmultiply`'s single-threaded SGEMM.
//!
//! Always available; the reference that the CUDA back end is checked against. It is
//! single-threaded on purpose: the simulator parallelises over participants, not inside a step,
//! and one thread gives stable timings.

use crate::error::{Error, Result};
use crate::sparseloco::{self, Compressed, CompressionConfig};
use crate::step::{
    AdamW, Batch, DeviceInfo, InnerTimes, OuterTimes, Precision, SplitMix64, StepShape, TrainState, TrainingStep, silu,
    silu_grad,
};
use std::time::Instant;

/// How a GEMM operand is stored relative to its logical shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Stored row-major as the logical [rows, cols].
    Normal,
    /// Stored row-major as [cols, rows]: the operand is the transpose of what is stored.
    Transposed,
}

/// C[m, n] = A[m, k] B[k, n] (+ C when `accumulate`), row-major C; A and B as `Layout` says.
///
/// # Panics
/// If a slice is shorter than its shape needs (a bug in the caller, never bad input).
#[allow(unsafe_code)]
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    c: &mut [f32],
    accumulate: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "sgemm: operand too short");
    let (rsa, csa) = match a_layout {
        Layout::Normal => (k as isize, 1),
        Layout::Transposed => (1, m as isize),
    };
    let (rsb, csb) = match b_layout {
        Layout::Normal => (n as isize, 1),
        Layout::Transposed => (1, k as isize),
    };
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: the assertion above bounds every element the strides reach: A's last element is at
    // (m-1)*rsa + (k-1)*csa < m*k, B's at (k-1)*rsb + (n-1)*csb < k*n, C's at (m-1)*n + n-1 <
    // m*n; C does not alias A or B (a `&mut` borrow), and its strides (n, 1) do not alias.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// AdamW on one tensor (see [`AdamW::scalars`]).
pub fn adamw_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &AdamW, t: u32) {
    let (step_size, sqrt_bias2, decay) = h.scalars(t);
    let (b1, b2) = (h.beta1, h.beta2);
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        let denom = v.sqrt() / sqrt_bias2 + h.eps;
        *p = *p * decay - step_size * (*m / denom);
    }
}

/// The device the CPU back ends (the MLP step and the decoder block) run on.
pub(crate) fn cpu_device() -> DeviceInfo {
    DeviceInfo {
        kind: "cpu".into(),
        name: cpu_name(),
        driver: "matrixmultiply 0.3 sgemm".into(),
        backend: "cpu (matrixmultiply sgemm, 1 thread)".into(),
    }
}

/// The CPU's model name from `/proc/cpuinfo` (or `unknown CPU`).
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// The CPU back end with its state and scratch buffers.
#[derive(Debug)]
pub struct CpuStep {
    shape: StepShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: TrainState,
    batch: Batch,
    device: DeviceInfo,
    a: Vec<f32>,
    h: Vec<f32>,
    y: Vec<f32>,
    dh: Vec<f32>,
    dx: Vec<f32>,
    g1: Vec<f32>,
    g2: Vec<f32>,
    payload: Vec<Compressed>,
}

impl CpuStep {
    /// A CPU step over `state` and `batch` (checked against `shape`).
    pub fn new(
        shape: StepShape,
        adamw: AdamW,
        compression: CompressionConfig,
        state: TrainState,
        batch: Batch,
    ) -> Result<Self> {
        shape.validate()?;
        compression.validate()?;
        check_state(&shape, &state, &batch)?;
        let (n, d, f) = (shape.tokens, shape.d_model, shape.d_ff);
        Ok(Self {
            shape,
            adamw,
            compression,
            state,
            batch,
            device: cpu_device(),
            a: vec![0.0; n * f],
            h: vec![0.0; n * f],
            y: vec![0.0; n * d],
            dh: vec![0.0; n * f],
            dx: vec![0.0; n * d],
            g1: vec![0.0; d * f],
            g2: vec![0.0; f * d],
            payload: Vec::new(),
        })
    }

    /// The gradient of input X from the last step (what a real model passes down).
    pub fn input_gradient(&self) -> &[f32] {
        &self.dx
    }

    /// The weight gradients of the last step (dW1, dW2).
    pub fn weight_gradients(&self) -> (&[f32], &[f32]) {
        (&self.g1, &self.g2)
    }
}

/// Checks that the state and batch have the sizes `shape` needs.
pub fn check_state(shape: &StepShape, state: &TrainState, batch: &Batch) -> Result<()> {
    let w = shape.d_model * shape.d_ff;
    let all = [&state.params, &state.m, &state.v, &state.round_start, &state.error];
    if all.iter().any(|t| t.w1.len() != w || t.w2.len() != w) {
        return Err(Error::shape("state", format!("weight tensors must have {w} elements for {shape}")));
    }
    let rows = shape.tokens * shape.d_model;
    if batch.x.len() != rows || batch.target.len() != rows {
        return Err(Error::shape("batch", format!("X and T must have {rows} elements for {shape}")));
    }
    Ok(())
}

impl TrainingStep for CpuStep {
    fn device(&self) -> &DeviceInfo {
        &self.device
    }

    fn shape(&self) -> StepShape {
        self.shape
    }

    fn compression(&self) -> &CompressionConfig {
        &self.compression
    }

    fn inner_step(&mut self) -> Result<InnerTimes> {
        let (n, d, f) = (self.shape.tokens, self.shape.d_model, self.shape.d_ff);
        let w = &self.state.params;
        let t0 = Instant::now();
        // Forward: A = X W1, H = silu(A), Y = H W2, dY = (Y - T) / N.
        sgemm(n, d, f, &self.batch.x, Layout::Normal, &w.w1, Layout::Normal, &mut self.a, false);
        for (h, &a) in self.h.iter_mut().zip(&self.a) {
            *h = silu(a);
        }
        sgemm(n, f, d, &self.h, Layout::Normal, &w.w2, Layout::Normal, &mut self.y, false);
        let inv_n = 1.0 / n as f32;
        let mut loss = 0.0f64;
        for (y, &t) in self.y.iter_mut().zip(&self.batch.target) {
            let r = *y - t;
            loss += f64::from(r) * f64::from(r);
            *y = r * inv_n; // y now holds dY
        }
        let loss = (0.5 * loss / n as f64) as f32;
        let t1 = Instant::now();
        // Backward: dW2 = H^T dY, dH = dY W2^T, dA = dH * silu'(A), dW1 = X^T dA, dX = dA W1^T.
        let dy = &self.y;
        sgemm(f, n, d, &self.h, Layout::Transposed, dy, Layout::Normal, &mut self.g2, false);
        sgemm(n, d, f, dy, Layout::Normal, &w.w2, Layout::Transposed, &mut self.dh, false);
        for (g, &a) in self.dh.iter_mut().zip(&self.a) {
            *g *= silu_grad(a);
        }
        sgemm(d, n, f, &self.batch.x, Layout::Transposed, &self.dh, Layout::Normal, &mut self.g1, false);
        sgemm(n, f, d, &self.dh, Layout::Normal, &w.w1, Layout::Transposed, &mut self.dx, false);
        let t2 = Instant::now();
        // AdamW.
        let s = &mut self.state;
        s.updates = s.updates.saturating_add(1);
        adamw_update(&mut s.params.w1, &self.g1, &mut s.m.w1, &mut s.v.w1, &self.adamw, s.updates);
        adamw_update(&mut s.params.w2, &self.g2, &mut s.m.w2, &mut s.v.w2, &self.adamw, s.updates);
        let t3 = Instant::now();
        Ok(InnerTimes {
            loss,
            forward_s: (t1 - t0).as_secs_f64(),
            backward_s: (t2 - t1).as_secs_f64(),
            optimizer_s: (t3 - t2).as_secs_f64(),
        })
    }

    fn outer_step(&mut self) -> Result<OuterTimes> {
        let (d, f) = (self.shape.d_model, self.shape.d_ff);
        let cfg = self.compression;
        let s = &mut self.state;
        let tensors = [
            (&mut s.params.w1, &mut s.round_start.w1, &mut s.error.w1, d, f),
            (&mut s.params.w2, &mut s.round_start.w2, &mut s.error.w2, f, d),
        ];
        let mut times = OuterTimes::default();
        let mut payload = Vec::with_capacity(2);
        for (theta, theta0, error, rows, cols) in tensors {
            payload.push(timed_outer_tensor(theta, theta0, error, rows, cols, &cfg, &mut times)?);
        }
        self.payload = payload;
        Ok(times)
    }

    fn snapshot(&mut self) -> Result<TrainState> {
        Ok(self.state.clone())
    }

    fn payload(&mut self) -> Result<Vec<Compressed>> {
        Ok(self.payload.clone())
    }

    fn time_gemm(&mut self, m: usize, n: usize, k: usize, precision: Precision, reps: usize) -> Result<Vec<f64>> {
        if precision != Precision::F32 {
            return Err(Error::shape("precision", format!("{precision} GEMMs run on a GPU only; the CPU times f32")));
        }
        for (field, v) in [("m", m), ("n", n), ("k", k)] {
            if v == 0 || v > crate::step::MAX_DIMENSION {
                return Err(Error::shape(field, format!("{v} is out of range; allowed 1 ..= 65536")));
            }
        }
        let mut rng = SplitMix64::new(0x6e6d);
        let a: Vec<f32> = (0..m * k).map(|_| rng.symmetric(1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.symmetric(1.0)).collect();
        let mut c = vec![0.0f32; m * n];
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t0 = Instant::now();
            sgemm(m, k, n, &a, Layout::Normal, &b, Layout::Normal, &mut c, false);
            times.push(t0.elapsed().as_secs_f64());
            std::hint::black_box(&c);
        }
        Ok(times)
    }
}

/// The SparseLoCo outer step on one tensor (error feedback, top-k selection, quantisation,
/// decode and apply), each phase timed into `times`; returns the tensor's payload. Shared by
/// the CPU back ends (the MLP step here and the decoder block).
pub(crate) fn timed_outer_tensor(
    theta: &mut [f32],
    theta0: &mut [f32],
    error: &mut [f32],
    rows: usize,
    cols: usize,
    cfg: &CompressionConfig,
    times: &mut OuterTimes,
) -> Result<Compressed> {
    let t0 = Instant::now();
    sparseloco::accumulate_error(theta, theta0, error, cfg.error_decay);
    let t1 = Instant::now();
    let indices = sparseloco::select_tensor(error, rows, cols, cfg)?;
    let t2 = Instant::now();
    let compressed = sparseloco::quantise_selected(error, rows, cols, indices, cfg)?;
    let t3 = Instant::now();
    let decoded = sparseloco::decode(&compressed)?;
    sparseloco::apply_decoded(theta, theta0, error, &decoded, cfg.outer_lr);
    let t4 = Instant::now();
    times.pseudo_gradient_s += (t1 - t0).as_secs_f64();
    times.select_s += (t2 - t1).as_secs_f64();
    times.quantise_s += (t3 - t2).as_secs_f64();
    times.decode_s += (t4 - t3).as_secs_f64();
    Ok(compressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use crate::step::initial_state;

    fn max_relative_error(got: &[f32], want: &[f64]) -> f64 {
        let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs())).max(1e-30);
        got.iter().zip(want).map(|(&g, &w)| (f64::from(g) - w).abs() / scale).fold(0.0, f64::max)
    }

    #[test]
    fn sgemm_handles_every_transpose_combination() {
        let (m, k, n) = (3, 4, 5);
        let mut rng = SplitMix64::new(9);
        let a: Vec<f32> = (0..m * k).map(|_| rng.symmetric(1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.symmetric(1.0)).collect();
        let transpose = |x: &[f32], r: usize, c: usize| -> Vec<f32> {
            let mut t = vec![0.0; r * c];
            for i in 0..r {
                for j in 0..c {
                    t[j * r + i] = x[i * c + j];
                }
            }
            t
        };
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        let mut want = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                want[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        for (aa, al) in [(&a, Layout::Normal), (&at, Layout::Transposed)] {
            for (bb, bl) in [(&b, Layout::Normal), (&bt, Layout::Transposed)] {
                let mut c = vec![0.0f32; m * n];
                sgemm(m, k, n, aa, al, bb, bl, &mut c, false);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-5, "{al:?} {bl:?}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn cpu_step_matches_the_f64_reference_over_several_steps_and_an_outer_step() {
        let shape = StepShape::new(48, 64, 128);
        let adamw = AdamW { lr: 1e-2, ..AdamW::default() };
        let cfg = CompressionConfig::default();
        let (state, batch) = initial_state(&shape, 21);
        let mut cpu = CpuStep::new(shape, adamw, cfg, state.clone(), batch.clone()).expect("cpu");
        let mut reference = reference::State::from_f32(&state);
        let mut losses = Vec::new();
        for _ in 0..3 {
            let times = cpu.inner_step().expect("step");
            let want = reference::inner_step(&shape, &adamw, &mut reference, &batch);
            assert!((f64::from(times.loss) - want.loss).abs() <= 1e-5 * want.loss, "{} vs {}", times.loss, want.loss);
            let (g1, g2) = cpu.weight_gradients();
            assert!(max_relative_error(g1, &want.grad_w1) < 1e-5, "dW1");
            assert!(max_relative_error(g2, &want.grad_w2) < 1e-5, "dW2");
            assert!(max_relative_error(cpu.input_gradient(), &want.grad_x) < 1e-5, "dX");
            losses.push(times.loss);
        }
        // A large learning rate on a fixed batch: the loss must fall.
        assert!(losses[2] < losses[0], "{losses:?}");
        let got = cpu.snapshot().expect("snapshot");
        assert!(max_relative_error(&got.params.w1, &reference.params.w1) < 1e-5);
        assert!(max_relative_error(&got.params.w2, &reference.params.w2) < 1e-5);
        assert!(max_relative_error(&got.v.w2, &reference.v.w2) < 1e-4);
        // The outer step: same kept set and values as the f64 reference of SparseLoCo.
        cpu.outer_step().expect("outer");
        let want_payload = reference::outer_step(&shape, &cfg, &mut reference);
        let payload = cpu.payload().expect("payload");
        for (got, want) in payload.iter().zip(&want_payload) {
            let same = got.indices.iter().zip(&want.indices).filter(|(a, b)| a == b).count();
            assert!(same as f64 >= 0.999 * want.indices.len() as f64, "kept sets differ: {same}");
            assert!((f64::from(got.quant.scale) - want.scale).abs() < 1e-4 * want.scale);
        }
        let got = cpu.snapshot().expect("snapshot");
        assert!(max_relative_error(&got.params.w1, &reference.params.w1) < 1e-4);
        assert!(max_relative_error(&got.error.w2, &reference.error.w2) < 1e-3);
        assert_eq!(got.params, got.round_start);
    }

    #[test]
    fn mismatched_state_is_refused() {
        let shape = StepShape::new(8, 64, 64);
        let (state, batch) = initial_state(&StepShape::new(8, 64, 128), 1);
        let e = CpuStep::new(shape, AdamW::default(), CompressionConfig::default(), state, batch).expect_err("sizes");
        assert!(e.to_string().starts_with("state:"), "{e}");
    }
}
