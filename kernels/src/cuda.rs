//! The CUDA back end (feature `cuda`): cuBLAS GEMMs, NVRTC-compiled kernels, CUDA events.
//!
//! Same meaning as [`crate::cpu::CpuStep`], step for step: the same f32 formulas, the same
//! AdamW scalars (computed once on the host), the same SparseLoCo rules (top-k ties to the lower
//! index, Templar's quantiser with round-half-even). Reductions are deterministic: fixed
//! partitions summed in f64 in a fixed order, never float atomics, so repeated runs give
//! identical bits. cuBLAS's f32 GEMMs may differ from the CPU's in the last bits; the
//! differential test compares within a tolerance.
//!
//! Construct only after [`crate::device::probe`] found a GPU: cudarc panics when a CUDA
//! library is missing, and [`CudaStep::new`] checks the probe first.
//!
//! Row-major on top of column-major cuBLAS: a row-major matrix M[r, c] is the column-major
//! M^T with leading dimension c, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T.
#![allow(unsafe_code)]

mod source;

use crate::device::{Probe, probe};
use crate::error::{Error, Result};
use crate::sparseloco::{CHUNK_SIDE, Compressed, CompressionConfig, QuantParams, chunk_count};
use crate::step::{
    AdamW, Batch, DeviceInfo, InnerTimes, OuterTimes, Precision, SplitMix64, StepShape, TrainState, TrainingStep,
    Weights,
};
use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use std::sync::Arc;

use source::KERNELS;

/// Blocks of a grid-stride elementwise launch.
pub(crate) const ELEMENTWISE_BLOCKS: u32 = 1024;
/// Threads per block of the elementwise and reduction kernels (the kernels assume 256).
pub(crate) const THREADS: u32 = 256;
/// Blocks of the loss reduction (fixed, so its partial sums are always the same).
const LOSS_BLOCKS: u32 = 256;

pub(crate) fn cuda_err(e: impl std::fmt::Display) -> Error {
    Error::Cuda(e.to_string())
}

pub(crate) fn elementwise() -> LaunchConfig {
    LaunchConfig { grid_dim: (ELEMENTWISE_BLOCKS, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

pub(crate) fn single_block() -> LaunchConfig {
    LaunchConfig { grid_dim: (1, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

pub(crate) fn as_i32(field: &'static str, v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::shape(field, format!("{v} exceeds cuBLAS's 32-bit sizes")))
}

/// The compiled kernels.
pub(crate) struct Kernels {
    silu_forward: CudaFunction,
    loss_grad: CudaFunction,
    silu_backward: CudaFunction,
    pub(crate) adamw: CudaFunction,
    error_feedback: CudaFunction,
    topk_chunks: CudaFunction,
    reduce_sum: CudaFunction,
    finish_shift: CudaFunction,
    chunk_squares: CudaFunction,
    finish_scale: CudaFunction,
    quantise: CudaFunction,
    finish_lookup: CudaFunction,
    decode_apply: CudaFunction,
}

impl Kernels {
    pub(crate) fn compile(ctx: &Arc<CudaContext>) -> Result<Self> {
        let ptx = cudarc::nvrtc::compile_ptx(KERNELS).map_err(cuda_err)?;
        let module = ctx.load_module(ptx).map_err(cuda_err)?;
        let f = |name: &str| module.load_function(name).map_err(cuda_err);
        Ok(Self {
            silu_forward: f("silu_forward")?,
            loss_grad: f("loss_grad")?,
            silu_backward: f("silu_backward")?,
            adamw: f("adamw")?,
            error_feedback: f("error_feedback")?,
            topk_chunks: f("topk_chunks")?,
            reduce_sum: f("reduce_sum")?,
            finish_shift: f("finish_shift")?,
            chunk_squares: f("chunk_squares")?,
            finish_scale: f("finish_scale")?,
            quantise: f("quantise")?,
            finish_lookup: f("finish_lookup")?,
            decode_apply: f("decode_apply")?,
        })
    }
}

/// Device copies of the two weight tensors.
struct DeviceWeights {
    w1: CudaSlice<f32>,
    w2: CudaSlice<f32>,
}

impl DeviceWeights {
    fn upload(stream: &Arc<CudaStream>, w: &Weights) -> Result<Self> {
        Ok(Self { w1: stream.clone_htod(&w.w1).map_err(cuda_err)?, w2: stream.clone_htod(&w.w2).map_err(cuda_err)? })
    }

    fn download(&self, stream: &Arc<CudaStream>) -> Result<Weights> {
        Ok(Weights {
            w1: stream.clone_dtoh(&self.w1).map_err(cuda_err)?,
            w2: stream.clone_dtoh(&self.w2).map_err(cuda_err)?,
        })
    }
}

/// Per-tensor buffers of the outer step.
pub(crate) struct OuterBuffers {
    idx: CudaSlice<u16>,
    vals: CudaSlice<f32>,
    codes: CudaSlice<u8>,
    chunk_partial: CudaSlice<f64>,
    bin_sums: CudaSlice<f64>,
    bin_counts: CudaSlice<f64>,
    scalar: CudaSlice<f64>,
    params: CudaSlice<f32>,
    lookup: CudaSlice<f32>,
}

impl OuterBuffers {
    pub(crate) fn new(stream: &Arc<CudaStream>, rows: usize, cols: usize, cfg: &CompressionConfig) -> Result<Self> {
        let chunks = chunk_count(rows, cols);
        let kept = chunks * cfg.top_k;
        let z = |e| cuda_err(e);
        Ok(Self {
            idx: stream.alloc_zeros::<u16>(kept).map_err(z)?,
            vals: stream.alloc_zeros::<f32>(kept).map_err(z)?,
            codes: stream.alloc_zeros::<u8>(kept).map_err(z)?,
            chunk_partial: stream.alloc_zeros::<f64>(chunks).map_err(z)?,
            bin_sums: stream.alloc_zeros::<f64>(chunks * cfg.bins).map_err(z)?,
            bin_counts: stream.alloc_zeros::<f64>(chunks * cfg.bins).map_err(z)?,
            scalar: stream.alloc_zeros::<f64>(1).map_err(z)?,
            params: stream.alloc_zeros::<f32>(2).map_err(z)?,
            lookup: stream.alloc_zeros::<f32>(cfg.bins).map_err(z)?,
        })
    }
}

/// The CUDA back end with its state resident on the device.
pub struct CudaStep {
    shape: StepShape,
    adamw: AdamW,
    compression: CompressionConfig,
    device: DeviceInfo,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    k: Kernels,
    updates: u32,
    params: DeviceWeights,
    m: DeviceWeights,
    v: DeviceWeights,
    round_start: DeviceWeights,
    error: DeviceWeights,
    grads: DeviceWeights,
    x: CudaSlice<f32>,
    target: CudaSlice<f32>,
    a: CudaSlice<f32>,
    h: CudaSlice<f32>,
    y: CudaSlice<f32>,
    dh: CudaSlice<f32>,
    dx: CudaSlice<f32>,
    loss_partial: CudaSlice<f64>,
    outer: [OuterBuffers; 2],
    has_payload: bool,
}

impl std::fmt::Debug for CudaStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaStep").field("shape", &self.shape).field("device", &self.device).finish()
    }
}

/// Which stored operand a GEMM reads: logical op(M) is M or M^T of the stored row-major M.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Normal,
    Transposed,
}

/// C[m, n] = op(A)[m, k] op(B)[k, n], all row-major (see the module docs).
#[allow(clippy::too_many_arguments)]
fn gemm_row_major(
    blas: &CudaBlas,
    m: usize,
    n: usize,
    k: usize,
    a: &CudaSlice<f32>,
    a_op: Op,
    b: &CudaSlice<f32>,
    b_op: Op,
    c: &mut CudaSlice<f32>,
) -> Result<()> {
    let (mi, ni, ki) = (as_i32("m", m)?, as_i32("n", n)?, as_i32("k", k)?);
    let (transa, lda) = match b_op {
        Op::Normal => (cublasOperation_t::CUBLAS_OP_N, ni),
        Op::Transposed => (cublasOperation_t::CUBLAS_OP_T, ki),
    };
    let (transb, ldb) = match a_op {
        Op::Normal => (cublasOperation_t::CUBLAS_OP_N, ki),
        Op::Transposed => (cublasOperation_t::CUBLAS_OP_T, mi),
    };
    if a.len() < m * k || b.len() < k * n || c.len() < m * n {
        return Err(Error::shape("gemm", format!("operand too short for {m} × {k} × {n}")));
    }
    let cfg = GemmConfig { transa, transb, m: ni, n: mi, k: ki, alpha: 1.0f32, lda, ldb, beta: 0.0f32, ldc: ni };
    // SAFETY: the lengths were checked against the shapes above; the leading dimensions follow
    // from the row-major storage described in the module docs.
    unsafe { blas.gemm(cfg, b, a, c) }.map_err(cuda_err)
}

impl CudaStep {
    /// A CUDA step on device 0 over `state` and `batch`. Fails with [`Error::NoGpu`] (one
    /// line) when the probe finds no usable GPU; never panics for a missing library.
    pub fn new(
        shape: StepShape,
        adamw: AdamW,
        compression: CompressionConfig,
        state: TrainState,
        batch: Batch,
    ) -> Result<Self> {
        shape.validate()?;
        compression.validate()?;
        crate::cpu::check_state(&shape, &state, &batch)?;
        let driver = match probe() {
            Probe::Gpu { driver, .. } => driver,
            Probe::Unavailable(why) => return Err(Error::NoGpu(why)),
        };
        let ctx = CudaContext::new(0).map_err(cuda_err)?;
        // One stream only: cudarc's cross-stream event tracking is not needed.
        // SAFETY: every buffer is used on `stream` alone.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(cuda_err)?;
        let k = Kernels::compile(&ctx)?;
        let name = ctx.name().map_err(cuda_err)?;
        let (n, d, f) = (shape.tokens, shape.d_model, shape.d_ff);
        let z = |e| cuda_err(e);
        let outer = [OuterBuffers::new(&stream, d, f, &compression)?, OuterBuffers::new(&stream, f, d, &compression)?];
        Ok(Self {
            shape,
            adamw,
            compression,
            device: DeviceInfo { kind: "gpu".into(), name, driver, backend: "cuda (cuBLAS + NVRTC)".into() },
            updates: state.updates,
            params: DeviceWeights::upload(&stream, &state.params)?,
            m: DeviceWeights::upload(&stream, &state.m)?,
            v: DeviceWeights::upload(&stream, &state.v)?,
            round_start: DeviceWeights::upload(&stream, &state.round_start)?,
            error: DeviceWeights::upload(&stream, &state.error)?,
            grads: DeviceWeights::upload(&stream, &Weights::zeros(&shape))?,
            x: stream.clone_htod(&batch.x).map_err(z)?,
            target: stream.clone_htod(&batch.target).map_err(z)?,
            a: stream.alloc_zeros::<f32>(n * f).map_err(z)?,
            h: stream.alloc_zeros::<f32>(n * f).map_err(z)?,
            y: stream.alloc_zeros::<f32>(n * d).map_err(z)?,
            dh: stream.alloc_zeros::<f32>(n * f).map_err(z)?,
            dx: stream.alloc_zeros::<f32>(n * d).map_err(z)?,
            loss_partial: stream.alloc_zeros::<f64>(LOSS_BLOCKS as usize).map_err(z)?,
            outer,
            has_payload: false,
            ctx,
            stream,
            blas,
            k,
        })
    }

    fn event(&self) -> Result<CudaEvent> {
        self.stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(cuda_err)
    }

    /// The gradient of input X from the last step, on the host.
    pub fn input_gradient(&self) -> Result<Vec<f32>> {
        self.stream.clone_dtoh(&self.dx).map_err(cuda_err)
    }

    /// Outer step of tensor `which` (0: W1 [d, f], 1: W2 [f, d]); adds phase times to `times`.
    fn outer_tensor(&mut self, which: usize, times: &mut OuterTimes) -> Result<()> {
        let (d, f) = (self.shape.d_model, self.shape.d_ff);
        let (rows, cols) = if which == 0 { (d, f) } else { (f, d) };
        let (theta, theta0, error) = if which == 0 {
            (&mut self.params.w1, &mut self.round_start.w1, &mut self.error.w1)
        } else {
            (&mut self.params.w2, &mut self.round_start.w2, &mut self.error.w2)
        };
        let tensor = OuterTensor { theta, theta0, error, rows, cols };
        outer_tensor(&self.stream, &self.k, tensor, &mut self.outer[which], &self.compression, times)
    }
}

/// One [rows, cols] tensor's parameters, round start and error feedback, for [`outer_tensor`].
pub(crate) struct OuterTensor<'a> {
    pub(crate) theta: &'a mut CudaSlice<f32>,
    pub(crate) theta0: &'a mut CudaSlice<f32>,
    pub(crate) error: &'a mut CudaSlice<f32>,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

/// The SparseLoCo outer step of one tensor on the device (see [`crate::sparseloco`]); adds
/// its phase times to `times`.
pub(crate) fn outer_tensor(
    s: &Arc<CudaStream>,
    k: &Kernels,
    tensor: OuterTensor<'_>,
    b: &mut OuterBuffers,
    cfg: &CompressionConfig,
    times: &mut OuterTimes,
) -> Result<()> {
    let OuterTensor { theta, theta0, error, rows, cols } = tensor;
    let cfg = *cfg;
    let elements = (rows * cols) as u64;
    let chunks = chunk_count(rows, cols);
    let chunks_u = chunks as u64;
    let kept = (chunks * cfg.top_k) as u64;
    let (k_i, bins_i, cols_i) = (as_i32("top_k", cfg.top_k)?, as_i32("bins", cfg.bins)?, as_i32("cols", cols)?);
    let chunk_grid = u32::try_from(chunks).map_err(|_| Error::shape("tensor", "too many chunks for one grid"))?;
    let ev = |s: &Arc<CudaStream>| s.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(cuda_err);
    let e0 = ev(s)?;
    let mut l = s.launch_builder(&k.error_feedback);
    l.arg(&*theta).arg(&*theta0).arg(&mut *error).arg(&cfg.error_decay).arg(&elements);
    // SAFETY: all three tensors hold `elements` floats.
    unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
    let e1 = ev(s)?;
    let mut l = s.launch_builder(&k.topk_chunks);
    l.arg(&*error).arg(&mut b.idx).arg(&mut b.vals).arg(&mut b.chunk_partial).arg(&cols_i).arg(&k_i);
    let topk_cfg = LaunchConfig { grid_dim: (chunk_grid, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
    // SAFETY: one block per chunk of a [rows, cols] tensor with cols a multiple of 64; the
    // outputs hold chunks * top_k entries (idx, vals) and one partial per chunk.
    unsafe { l.launch(topk_cfg) }.map_err(cuda_err)?;
    let e2 = ev(s)?;
    let mut l = s.launch_builder(&k.reduce_sum);
    l.arg(&b.chunk_partial).arg(&mut b.scalar).arg(&chunks_u);
    // SAFETY: `chunk_partial` holds `chunks` values; `scalar` one.
    unsafe { l.launch(single_block()) }.map_err(cuda_err)?;
    let mut l = s.launch_builder(&k.finish_shift);
    l.arg(&b.scalar).arg(&mut b.params).arg(&kept);
    let one = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (1, 1, 1), shared_mem_bytes: 0 };
    // SAFETY: single thread writes params[0].
    unsafe { l.launch(one) }.map_err(cuda_err)?;
    let mut l = s.launch_builder(&k.chunk_squares);
    l.arg(&b.vals).arg(&b.params).arg(&mut b.chunk_partial).arg(&k_i).arg(&chunks_u);
    // SAFETY: grid-stride over `chunks`; vals holds chunks * top_k values.
    unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
    let mut l = s.launch_builder(&k.reduce_sum);
    l.arg(&b.chunk_partial).arg(&mut b.scalar).arg(&chunks_u);
    // SAFETY: as above.
    unsafe { l.launch(single_block()) }.map_err(cuda_err)?;
    let mut l = s.launch_builder(&k.finish_scale);
    l.arg(&b.scalar).arg(&mut b.params).arg(&kept).arg(&cfg.range_sigmas).arg(&bins_i);
    // SAFETY: single thread writes params[1].
    unsafe { l.launch(one) }.map_err(cuda_err)?;
    let mut l = s.launch_builder(&k.quantise);
    l.arg(&b.vals)
        .arg(&b.params)
        .arg(&mut b.codes)
        .arg(&mut b.bin_sums)
        .arg(&mut b.bin_counts)
        .arg(&k_i)
        .arg(&bins_i)
        .arg(&chunks_u);
    // SAFETY: grid-stride over chunks; bin buffers hold chunks * bins values.
    unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
    let mut l = s.launch_builder(&k.finish_lookup);
    l.arg(&b.bin_sums).arg(&b.bin_counts).arg(&mut b.lookup).arg(&bins_i).arg(&chunks_u);
    // SAFETY: one thread per bin (bins <= 256 = THREADS).
    unsafe { l.launch(single_block()) }.map_err(cuda_err)?;
    let e3 = ev(s)?;
    let mut l = s.launch_builder(&k.decode_apply);
    l.arg(&b.idx)
        .arg(&b.codes)
        .arg(&b.lookup)
        .arg(&b.params)
        .arg(&mut *theta0)
        .arg(&mut *error)
        .arg(&cfg.outer_lr)
        .arg(&cols_i)
        .arg(&k_i)
        .arg(&kept);
    // SAFETY: grid-stride over the kept entries; indices are < 4096 by construction.
    unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
    s.memcpy_dtod(&*theta0, &mut *theta).map_err(cuda_err)?;
    let e4 = ev(s)?;
    let secs = |a: &CudaEvent, b: &CudaEvent| a.elapsed_ms(b).map(|ms| f64::from(ms) / 1e3).map_err(cuda_err);
    times.pseudo_gradient_s += secs(&e0, &e1)?;
    times.select_s += secs(&e1, &e2)?;
    times.quantise_s += secs(&e2, &e3)?;
    times.decode_s += secs(&e3, &e4)?;
    Ok(())
}

impl TrainingStep for CudaStep {
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
        let nf = (n * f) as u64;
        let nd = (n * d) as u64;
        let inv_n = 1.0f32 / n as f32;
        let e0 = self.event()?;
        gemm_row_major(&self.blas, n, f, d, &self.x, Op::Normal, &self.params.w1, Op::Normal, &mut self.a)?;
        let mut l = self.stream.launch_builder(&self.k.silu_forward);
        l.arg(&self.a).arg(&mut self.h).arg(&nf);
        // SAFETY: a and h hold N * f floats.
        unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
        gemm_row_major(&self.blas, n, d, f, &self.h, Op::Normal, &self.params.w2, Op::Normal, &mut self.y)?;
        let mut l = self.stream.launch_builder(&self.k.loss_grad);
        l.arg(&mut self.y).arg(&self.target).arg(&mut self.loss_partial).arg(&inv_n).arg(&nd);
        let loss_cfg = LaunchConfig { grid_dim: (LOSS_BLOCKS, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
        // SAFETY: y and target hold N * d floats; one partial per block.
        unsafe { l.launch(loss_cfg) }.map_err(cuda_err)?;
        let e1 = self.event()?;
        gemm_row_major(&self.blas, f, d, n, &self.h, Op::Transposed, &self.y, Op::Normal, &mut self.grads.w2)?;
        gemm_row_major(&self.blas, n, f, d, &self.y, Op::Normal, &self.params.w2, Op::Transposed, &mut self.dh)?;
        let mut l = self.stream.launch_builder(&self.k.silu_backward);
        l.arg(&mut self.dh).arg(&self.a).arg(&nf);
        // SAFETY: dh and a hold N * f floats.
        unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
        gemm_row_major(&self.blas, d, f, n, &self.x, Op::Transposed, &self.dh, Op::Normal, &mut self.grads.w1)?;
        gemm_row_major(&self.blas, n, d, f, &self.dh, Op::Normal, &self.params.w1, Op::Transposed, &mut self.dx)?;
        let e2 = self.event()?;
        self.updates = self.updates.saturating_add(1);
        let (step_size, sqrt_bias2, decay) = self.adamw.scalars(self.updates);
        let h = self.adamw;
        let w = (d * f) as u64;
        for (p, g, m, v) in [
            (&mut self.params.w1, &self.grads.w1, &mut self.m.w1, &mut self.v.w1),
            (&mut self.params.w2, &self.grads.w2, &mut self.m.w2, &mut self.v.w2),
        ] {
            let mut l = self.stream.launch_builder(&self.k.adamw);
            l.arg(p)
                .arg(g)
                .arg(m)
                .arg(v)
                .arg(&h.beta1)
                .arg(&h.beta2)
                .arg(&h.eps)
                .arg(&step_size)
                .arg(&sqrt_bias2)
                .arg(&decay)
                .arg(&w);
            // SAFETY: the four tensors hold d * f floats.
            unsafe { l.launch(elementwise()) }.map_err(cuda_err)?;
        }
        let e3 = self.event()?;
        let secs = |a: &CudaEvent, b: &CudaEvent| a.elapsed_ms(b).map(|ms| f64::from(ms) / 1e3).map_err(cuda_err);
        let times = InnerTimes {
            loss: 0.0,
            forward_s: secs(&e0, &e1)?,
            backward_s: secs(&e1, &e2)?,
            optimizer_s: secs(&e2, &e3)?,
        };
        let partial = self.stream.clone_dtoh(&self.loss_partial).map_err(cuda_err)?;
        let loss = (0.5 * partial.iter().sum::<f64>() / n as f64) as f32;
        Ok(InnerTimes { loss, ..times })
    }

    fn outer_step(&mut self) -> Result<OuterTimes> {
        let mut times = OuterTimes::default();
        self.outer_tensor(0, &mut times)?;
        self.outer_tensor(1, &mut times)?;
        self.has_payload = true;
        Ok(times)
    }

    fn snapshot(&mut self) -> Result<TrainState> {
        let s = &self.stream;
        Ok(TrainState {
            params: self.params.download(s)?,
            m: self.m.download(s)?,
            v: self.v.download(s)?,
            updates: self.updates,
            round_start: self.round_start.download(s)?,
            error: self.error.download(s)?,
        })
    }

    fn payload(&mut self) -> Result<Vec<Compressed>> {
        if !self.has_payload {
            return Ok(Vec::new());
        }
        let (d, f) = (self.shape.d_model, self.shape.d_ff);
        let mut out = Vec::with_capacity(2);
        for (b, (rows, cols)) in self.outer.iter().zip([(d, f), (f, d)]) {
            let params = self.stream.clone_dtoh(&b.params).map_err(cuda_err)?;
            let (shift, scale) = match params.as_slice() {
                [shift, scale] => (*shift, *scale),
                _ => return Err(Error::Cuda("quantiser parameters missing".into())),
            };
            out.push(Compressed {
                rows,
                cols,
                top_k: self.compression.top_k,
                indices: self.stream.clone_dtoh(&b.idx).map_err(cuda_err)?,
                codes: self.stream.clone_dtoh(&b.codes).map_err(cuda_err)?,
                quant: QuantParams { shift, scale, lookup: self.stream.clone_dtoh(&b.lookup).map_err(cuda_err)? },
            });
        }
        Ok(out)
    }

    fn time_gemm(&mut self, m: usize, n: usize, k: usize, precision: Precision, reps: usize) -> Result<Vec<f64>> {
        let (mi, ni, ki) = (as_i32("m", m)?, as_i32("n", n)?, as_i32("k", k)?);
        let mut rng = SplitMix64::new(0x6e6d);
        let a: Vec<f32> = (0..m * k).map(|_| rng.symmetric(1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.symmetric(1.0)).collect();
        let s = self.stream.clone();
        let mut times = Vec::with_capacity(reps);
        match precision {
            Precision::F32 => {
                let da = s.clone_htod(&a).map_err(cuda_err)?;
                let db = s.clone_htod(&b).map_err(cuda_err)?;
                let mut dc = s.alloc_zeros::<f32>(m * n).map_err(cuda_err)?;
                for _ in 0..reps {
                    let e0 = self.event()?;
                    gemm_row_major(&self.blas, m, n, k, &da, Op::Normal, &db, Op::Normal, &mut dc)?;
                    let e1 = self.event()?;
                    times.push(f64::from(e0.elapsed_ms(&e1).map_err(cuda_err)?) / 1e3);
                }
            }
            Precision::Bf16 => {
                let to_bf16 = |v: &[f32]| v.iter().map(|&x| half::bf16::from_f32(x)).collect::<Vec<_>>();
                let da = s.clone_htod(&to_bf16(&a)).map_err(cuda_err)?;
                let db = s.clone_htod(&to_bf16(&b)).map_err(cuda_err)?;
                let mut dc = s.alloc_zeros::<half::bf16>(m * n).map_err(cuda_err)?;
                let one = half::bf16::from_f32(1.0);
                let zero = half::bf16::from_f32(0.0);
                let cfg = GemmConfig {
                    transa: cublasOperation_t::CUBLAS_OP_N,
                    transb: cublasOperation_t::CUBLAS_OP_N,
                    m: ni,
                    n: mi,
                    k: ki,
                    alpha: one,
                    lda: ni,
                    ldb: ki,
                    beta: zero,
                    ldc: ni,
                };
                for _ in 0..reps {
                    let e0 = self.event()?;
                    // SAFETY: A, B and C hold m*k, k*n and m*n values, row-major as documented.
                    unsafe { self.blas.gemm(cfg, &db, &da, &mut dc) }.map_err(cuda_err)?;
                    let e1 = self.event()?;
                    times.push(f64::from(e0.elapsed_ms(&e1).map_err(cuda_err)?) / 1e3);
                }
            }
        }
        self.ctx.synchronize().map_err(cuda_err)?;
        Ok(times)
    }
}

/// Chunk side the kernels assume (checked at compile time against the CPU's constant).
const _: () = assert!(CHUNK_SIDE == 64);

/// Compiles `source` with NVRTC and checks that every kernel in `names` is in the PTX; fails
/// (never skips) when NVRTC is missing. Shared by the MLP step's and the block's tests.
#[cfg(test)]
pub(crate) fn assert_compiles_with_nvrtc(source: &str, names: &[&str]) {
    // SAFETY: only tries to open the shared library.
    assert!(unsafe { cudarc::nvrtc::sys::is_culib_present() }, "libnvrtc not found: is the CUDA toolkit installed?");
    let ptx = match cudarc::nvrtc::compile_ptx(source) {
        Ok(ptx) => ptx.to_src(),
        Err(e) => panic!("the kernels do not compile: {e}"),
    };
    for name in names {
        assert!(ptx.contains(&format!(".entry {name}(")), "kernel {name} missing from the PTX");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NVRTC ships with the CUDA toolkit: on a GPU machine the kernels must compile, and every
    /// kernel the back end loads must be in the PTX. Without NVRTC this test fails, so it is
    /// ignored by default and run by `kernels/gpu-check.sh` with `--ignored`.
    #[test]
    #[ignore = "needs a CUDA GPU (NVRTC); run by kernels/gpu-check.sh"]
    fn the_kernels_compile_with_nvrtc() {
        assert_compiles_with_nvrtc(
            KERNELS,
            &[
                "silu_forward",
                "loss_grad",
                "silu_backward",
                "adamw",
                "error_feedback",
                "topk_chunks",
                "reduce_sum",
                "finish_shift",
                "chunk_squares",
                "finish_scale",
                "quantise",
                "finish_lookup",
                "decode_apply",
            ],
        );
    }
}
