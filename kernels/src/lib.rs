//! Calibration kernels: a small transformer training step measured on real hardware.
//!
//! The simulator's GPUs take their speed from real training steps, not guesses. This crate
//! holds the step and everything around it:
//! - [`step`]: what a sampled step is (the MLP block's forward and backward GEMMs, SiLU,
//!   AdamW), its shapes and the [`TrainingStep`] trait both back ends implement;
//! - [`sparseloco`]: SparseLoCo's outer step (pseudo-gradient, error feedback, chunked top-k
//!   64 of 4096, 2-bit quantisation, decode) on the CPU;
//! - [`cpu`]: the CPU back end (f32, `matrixmultiply`), always available;
//! - `cuda` (feature `cuda`): the CUDA back end (cuBLAS GEMMs, NVRTC kernels, CUDA events),
//!   loaded at run time so the crate builds without a CUDA toolkit;
//! - [`block`]: a real decoder block (RMSNorm, causal multi-head attention, SwiGLU, residuals;
//!   forward, backward, AdamW, the SparseLoCo outer step) on the CPU, with its gradient check;
//! - `cuda_block` (feature `cuda`): the same block on CUDA, bf16 GEMMs with f32 accumulation;
//! - [`provenance`]: timed blocks and, per profile figure, where it came from;
//! - [`device`]: finding a GPU without letting cudarc panic, and the `TAOSIM_FORCE_CPU` override;
//! - [`reference`](mod@reference): a plain-loop f64 reference of the step for tests;
//! - [`differential`]: the check that two back ends agree on the same inputs;
//! - [`calibrate`]: warm-up, timed samples, medians and the fitted per-device figures;
//! - [`profile`]: the calibration profile file (its format, loader and GPU scaling) that the
//!   simulator reads. Measured timings never feed a run directly; they go through a profile.
#![warn(missing_docs)]

pub mod block;
pub mod calibrate;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "cuda")]
pub mod cuda_block;
pub mod device;
pub mod differential;
pub mod error;
pub mod profile;
pub mod provenance;
pub mod reference;
pub mod sparseloco;
pub mod step;

pub use error::{Error, Result};
pub use step::{StepShape, TrainingStep};

use sparseloco::CompressionConfig;
use step::{AdamW, Batch, TrainState};

/// Which back end [`open`] chose, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The GPU (the probe found one and `prefer_gpu` was set).
    Gpu,
    /// The CPU, with the reason in one line (forced, no GPU found, not built with `cuda`).
    Cpu(String),
}

/// Opens the best back end for a shape: the GPU when `prefer_gpu` and the probe finds one,
/// otherwise the CPU (with the reason). Never panics for a missing CUDA library.
pub fn open(
    shape: StepShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: TrainState,
    batch: Batch,
    prefer_gpu: bool,
) -> Result<(Box<dyn TrainingStep>, Choice)> {
    let reason = if !prefer_gpu {
        "the CPU was asked for".to_string()
    } else {
        match device::probe() {
            device::Probe::Unavailable(why) => why,
            device::Probe::Gpu { .. } => return open_gpu(shape, adamw, compression, state, batch),
        }
    };
    let cpu = cpu::CpuStep::new(shape, adamw, compression, state, batch)?;
    Ok((Box::new(cpu), Choice::Cpu(reason)))
}

#[cfg(feature = "cuda")]
fn open_gpu(
    shape: StepShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: TrainState,
    batch: Batch,
) -> Result<(Box<dyn TrainingStep>, Choice)> {
    Ok((Box::new(cuda::CudaStep::new(shape, adamw, compression, state, batch)?), Choice::Gpu))
}

#[cfg(not(feature = "cuda"))]
fn open_gpu(
    shape: StepShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: TrainState,
    batch: Batch,
) -> Result<(Box<dyn TrainingStep>, Choice)> {
    let cpu = cpu::CpuStep::new(shape, adamw, compression, state, batch)?;
    Ok((Box::new(cpu), Choice::Cpu("this build has no CUDA back end (rebuild with `--features cuda`)".into())))
}

/// Opens the best back end for a decoder block, as [`open`] does for the MLP step: the CUDA
/// block when `prefer_gpu` and the probe finds a GPU, otherwise the CPU block (with the reason).
pub fn open_block(
    shape: block::BlockShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: block::train::BlockState,
    batch: block::BlockBatch<f32>,
    prefer_gpu: bool,
) -> Result<(Box<dyn block::train::TrainingBlock>, Choice)> {
    let reason = if !prefer_gpu {
        "the CPU was asked for".to_string()
    } else {
        match device::probe() {
            device::Probe::Unavailable(why) => why,
            device::Probe::Gpu { .. } => return open_gpu_block(shape, adamw, compression, state, batch),
        }
    };
    let cpu = block::train::CpuBlock::new(shape, adamw, compression, state, batch)?;
    Ok((Box::new(cpu), Choice::Cpu(reason)))
}

#[cfg(feature = "cuda")]
fn open_gpu_block(
    shape: block::BlockShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: block::train::BlockState,
    batch: block::BlockBatch<f32>,
) -> Result<(Box<dyn block::train::TrainingBlock>, Choice)> {
    Ok((Box::new(cuda_block::CudaBlock::new(shape, adamw, compression, state, batch)?), Choice::Gpu))
}

#[cfg(not(feature = "cuda"))]
fn open_gpu_block(
    shape: block::BlockShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: block::train::BlockState,
    batch: block::BlockBatch<f32>,
) -> Result<(Box<dyn block::train::TrainingBlock>, Choice)> {
    let cpu = block::train::CpuBlock::new(shape, adamw, compression, state, batch)?;
    Ok((Box::new(cpu), Choice::Cpu("this build has no CUDA back end (rebuild with `--features cuda`)".into())))
}
