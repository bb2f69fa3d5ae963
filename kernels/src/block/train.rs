//! Training the block: the inner step (forward, backward, AdamW) and the SparseLoCo outer step,
//! each phase timed, behind [`TrainingBlock`] so the CPU and CUDA back ends are interchangeable.

use super::backward::backward;
use super::forward::{Workspace, forward};
use super::{BlockBatch, BlockShape, Params, Tensor};
use crate::cpu::{adamw_update, cpu_device, timed_outer_tensor};
use crate::error::{Error, Result};
use crate::sparseloco::{Compressed, CompressionConfig};
use crate::step::{AdamW, DeviceInfo, InnerTimes, OuterTimes};
use std::time::Instant;

/// Everything a block step reads and writes besides the batch and scratch space.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockState {
    /// Parameters θ.
    pub params: Params<f32>,
    /// AdamW first moments.
    pub m: Params<f32>,
    /// AdamW second moments.
    pub v: Params<f32>,
    /// AdamW updates taken so far.
    pub updates: u32,
    /// θ0, the parameters at the start of the round.
    pub round_start: Params<f32>,
    /// SparseLoCo error feedback (zero for the gains, which are not compressed).
    pub error: Params<f32>,
}

impl BlockState {
    /// A fresh state at `params`: zero moments and error, θ0 = θ.
    pub fn new(shape: &BlockShape, params: Params<f32>) -> Self {
        Self {
            m: Params::zeros(shape),
            v: Params::zeros(shape),
            updates: 0,
            round_start: params.clone(),
            error: Params::zeros(shape),
            params,
        }
    }
}

/// One back end training the block: [`CpuBlock`] or, with feature `cuda`, the CUDA block.
pub trait TrainingBlock {
    /// The device it runs on.
    fn device(&self) -> &DeviceInfo;

    /// The block's shape.
    fn shape(&self) -> BlockShape;

    /// One inner step: forward, backward, AdamW; the phase times and the loss before the update.
    fn inner_step(&mut self) -> Result<InnerTimes>;

    /// One SparseLoCo outer step with this replica as the only peer: every weight matrix gets
    /// error feedback, chunked top-k, quantisation, decode and θ = θ0 = θ0 - lr · decode; the
    /// two gains (2 d values) are sent dense: θ0 = θ0 - lr (θ0 - θ), θ = θ0.
    fn outer_step(&mut self) -> Result<OuterTimes>;

    /// A copy of the state on the host.
    fn snapshot(&mut self) -> Result<BlockState>;

    /// The parameter gradients and the input gradient of the last inner step, on the host.
    fn gradients(&mut self) -> Result<(Params<f32>, Vec<f32>)>;
}

/// The CPU back end of the block, in f32.
#[derive(Debug)]
pub struct CpuBlock {
    shape: BlockShape,
    adamw: AdamW,
    compression: CompressionConfig,
    state: BlockState,
    batch: BlockBatch<f32>,
    ws: Workspace<f32>,
    grads: Params<f32>,
    dx: Vec<f32>,
    device: DeviceInfo,
    payload: Vec<Compressed>,
}

/// Checks that the state and batch have the sizes `shape` needs.
pub fn check_block_state(shape: &BlockShape, state: &BlockState, batch: &BlockBatch<f32>) -> Result<()> {
    let all = [&state.params, &state.m, &state.v, &state.round_start, &state.error];
    if !all.iter().all(|p| p.fits(shape)) {
        return Err(Error::shape("state", format!("parameter tensors do not have the sizes of {shape}")));
    }
    let rows = shape.tokens() * shape.d_model;
    if batch.x.len() != rows || batch.target.len() != rows {
        return Err(Error::shape("batch", format!("x and target must have {rows} elements for {shape}")));
    }
    Ok(())
}

impl CpuBlock {
    /// A CPU block over `state` and `batch` (checked against `shape`).
    pub fn new(
        shape: BlockShape,
        adamw: AdamW,
        compression: CompressionConfig,
        state: BlockState,
        batch: BlockBatch<f32>,
    ) -> Result<Self> {
        shape.validate()?;
        compression.validate()?;
        check_block_state(&shape, &state, &batch)?;
        Ok(Self {
            ws: Workspace::new(&shape),
            grads: Params::zeros(&shape),
            dx: vec![0.0; shape.tokens() * shape.d_model],
            shape,
            adamw,
            compression,
            state,
            batch,
            device: cpu_device(),
            payload: Vec::new(),
        })
    }

    /// The compressed matrices of the last outer step (in [`Tensor::ALL`] order, gains left out).
    pub fn payload(&self) -> &[Compressed] {
        &self.payload
    }
}

impl TrainingBlock for CpuBlock {
    fn device(&self) -> &DeviceInfo {
        &self.device
    }

    fn shape(&self) -> BlockShape {
        self.shape
    }

    fn inner_step(&mut self) -> Result<InnerTimes> {
        let t0 = Instant::now();
        let loss = forward(&self.shape, &self.state.params, &self.batch, &mut self.ws);
        let t1 = Instant::now();
        backward(&self.shape, &self.state.params, &self.batch, &mut self.ws, &mut self.grads, &mut self.dx);
        let t2 = Instant::now();
        let s = &mut self.state;
        s.updates = s.updates.saturating_add(1);
        for t in Tensor::ALL {
            let i = t as usize;
            adamw_update(&mut s.params.0[i], &self.grads.0[i], &mut s.m.0[i], &mut s.v.0[i], &self.adamw, s.updates);
        }
        let t3 = Instant::now();
        Ok(InnerTimes {
            loss: loss as f32,
            forward_s: (t1 - t0).as_secs_f64(),
            backward_s: (t2 - t1).as_secs_f64(),
            optimizer_s: (t3 - t2).as_secs_f64(),
        })
    }

    fn outer_step(&mut self) -> Result<OuterTimes> {
        let cfg = self.compression;
        let s = &mut self.state;
        let mut times = OuterTimes::default();
        let mut payload = Vec::with_capacity(7);
        for t in Tensor::ALL {
            let i = t as usize;
            let (theta, theta0, error) = (&mut s.params.0[i], &mut s.round_start.0[i], &mut s.error.0[i]);
            if !t.is_matrix() {
                let t0 = Instant::now();
                for (p, p0) in theta.iter_mut().zip(theta0.iter_mut()) {
                    *p0 -= cfg.outer_lr * (*p0 - *p);
                    *p = *p0;
                }
                times.decode_s += t0.elapsed().as_secs_f64();
                continue;
            }
            let (rows, cols) = t.dims(&self.shape);
            payload.push(timed_outer_tensor(theta, theta0, error, rows, cols, &cfg, &mut times)?);
        }
        self.payload = payload;
        Ok(times)
    }

    fn snapshot(&mut self) -> Result<BlockState> {
        Ok(self.state.clone())
    }

    fn gradients(&mut self) -> Result<(Params<f32>, Vec<f32>)> {
        Ok((self.grads.clone(), self.dx.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::initial;
    use super::*;
    use crate::sparseloco::CHUNK_ELEMENTS;

    fn block(shape: BlockShape, lr: f32) -> CpuBlock {
        let (params, batch) = initial(&shape, 4);
        let adamw = AdamW { lr, ..AdamW::default() };
        CpuBlock::new(shape, adamw, CompressionConfig::default(), BlockState::new(&shape, params), batch)
            .expect("block")
    }

    #[test]
    fn training_lowers_the_loss_and_a_larger_learning_rate_lowers_it_faster() {
        let shape = BlockShape::new(2, 16, 64, 4, 128);
        let run = |lr: f32| {
            let mut b = block(shape, lr);
            (0..8).map(|_| b.inner_step().expect("step").loss).collect::<Vec<f32>>()
        };
        let slow = run(1e-3);
        let fast = run(1e-2);
        assert_eq!(slow[0], fast[0], "same start");
        assert!(slow[7] < slow[0] && fast[7] < fast[0], "{slow:?} {fast:?}");
        assert!(fast[7] < slow[7], "{} vs {}", fast[7], slow[7]);
    }

    #[test]
    fn the_outer_step_compresses_every_matrix_and_keeps_the_residual() {
        let shape = BlockShape::new(1, 16, 64, 2, 128);
        let mut b = block(shape, 1e-2);
        for _ in 0..3 {
            b.inner_step().expect("step");
        }
        let before = b.snapshot().expect("snapshot");
        b.outer_step().expect("outer");
        let after = b.snapshot().expect("snapshot");
        assert_eq!(b.payload().len(), 7, "seven weight matrices");
        for (c, t) in b.payload().iter().zip(Tensor::ALL.iter().filter(|t| t.is_matrix())) {
            let (rows, cols) = t.dims(&shape);
            assert_eq!((c.rows, c.cols), (rows, cols), "{}", t.name());
            assert_eq!(c.indices.len(), rows * cols / CHUNK_ELEMENTS * 64);
            assert!(c.codes.iter().all(|&q| q < 4), "2-bit codes");
        }
        assert_eq!(after.params, after.round_start, "θ = θ0 after the outer step");
        // The gains are exact (dense), the matrices moved by the decoded sparse update only.
        assert_eq!(after.params[Tensor::Norm1], before.params[Tensor::Norm1]);
        let moved = |t: Tensor| after.params[t].iter().zip(&before.round_start[t]).filter(|(a, b)| a != b).count();
        let wq = moved(Tensor::Wq);
        assert!(wq > 0 && wq <= 64 * 64 * 64 / CHUNK_ELEMENTS, "{wq} entries of Wq moved");
        // Error feedback: what was not sent stays in e (e + sent = θ0 - θ of the round).
        let i = Tensor::Wv as usize;
        let sent: Vec<f32> = before.round_start.0[i].iter().zip(&after.round_start.0[i]).map(|(a, b)| a - b).collect();
        for ((e, s), (p0, p)) in
            after.error.0[i].iter().zip(&sent).zip(before.round_start.0[i].iter().zip(&before.params.0[i]))
        {
            assert!((e + s - (p0 - p)).abs() < 1e-6, "{e} + {s} != {}", p0 - p);
        }
    }

    #[test]
    fn mismatched_state_is_refused() {
        let shape = BlockShape::new(1, 4, 64, 2, 128);
        let (params, batch) = initial(&BlockShape::new(1, 4, 64, 2, 192), 1);
        let state = BlockState::new(&BlockShape::new(1, 4, 64, 2, 192), params);
        let e = CpuBlock::new(shape, AdamW::default(), CompressionConfig::default(), state, batch).expect_err("sizes");
        assert_eq!(e.to_string(), "state: parameter tensors do not have the sizes of B=1 S=4 d=64 H=2 f=128");
    }
}
