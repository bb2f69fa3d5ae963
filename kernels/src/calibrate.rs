//! Calibration: warm-up, repeated timed steps at several shapes, medians and spreads, and the
//! per-device figures fitted to them.
//!
//! For each GEMM shape and each step shape: `warmup` untimed repetitions, then `samples` timed
//! ones. A series is summarised by its median and its spread ((p90 - p10) / median). The fitted
//! model is deliberately simple: the achieved FLOP/s of the largest GEMM and of the whole step
//! (both compute-bound), and the achieved bytes/s of the AdamW update and of the outer step
//! (memory-bound). The profile ([`crate::profile`]) turns these into speeds of GPU types.

use crate::block::train::{BlockState, TrainingBlock};
use crate::block::{self, BlockBatch, BlockShape};
use crate::error::{Error, Result};
use crate::profile::{
    self, Fitted, GemmRecord, Measurement, Profile, Scaling, StepRecord, assumed_scaling, builtin_catalogue,
};
use crate::provenance::{self as prov, BlockRecord};
use crate::step::{Batch, InnerTimes, OuterTimes, Precision, StepShape, TrainState, TrainingStep, initial_state};

/// Most repetitions a series may have (bounds a mistyped `--samples`).
pub const MAX_SAMPLES: usize = 10_000;

/// One GEMM shape to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// Number format.
    pub precision: Precision,
}

/// What to time.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Untimed repetitions before each series.
    pub warmup: usize,
    /// Timed repetitions per series.
    pub samples: usize,
    /// GEMM shapes.
    pub gemms: Vec<GemmShape>,
    /// Step shapes.
    pub steps: Vec<StepShape>,
    /// Decoder-block shapes (d, heads, sequence), timed by [`measure_blocks`].
    pub blocks: Vec<BlockShape>,
    /// Seed of the step's data.
    pub seed: u64,
}

impl Plan {
    /// The default CPU plan: a few seconds on one core.
    pub fn cpu_default() -> Self {
        let f32 = |m, n, k| GemmShape { m, n, k, precision: Precision::F32 };
        Self {
            warmup: 2,
            samples: 9,
            gemms: vec![f32(128, 128, 128), f32(256, 256, 256), f32(512, 512, 512), f32(1024, 1024, 1024)],
            steps: vec![
                StepShape::new(64, 64, 256),
                StepShape::new(128, 128, 512),
                StepShape::new(256, 256, 1024),
                StepShape::new(512, 512, 2048),
            ],
            // SwiGLU widths near LLaMA's 8/3 d, rounded to multiples of 64.
            blocks: vec![
                BlockShape::new(1, 128, 256, 4, 704),
                BlockShape::new(1, 256, 512, 8, 1408),
                BlockShape::new(1, 512, 512, 8, 1408),
            ],
            seed: 1,
        }
    }

    /// A plan of seconds on any machine (`taosim calibrate --quick`): tiny shapes, 3 samples.
    /// Its figures show that calibration works, not what the device can do.
    pub fn quick() -> Self {
        let g = |m, n, k, precision| GemmShape { m, n, k, precision };
        Self {
            warmup: 1,
            samples: 3,
            gemms: vec![g(128, 128, 128, Precision::F32), g(256, 256, 256, Precision::Bf16)],
            steps: vec![StepShape::new(32, 64, 128)],
            blocks: vec![BlockShape::new(1, 32, 64, 2, 192), BlockShape::new(2, 32, 128, 4, 320)],
            seed: 1,
        }
    }

    /// The default GPU plan: seconds on a data-centre GPU; the largest shapes are what the
    /// "achieved fraction of peak" is read from.
    pub fn gpu_default() -> Self {
        let g = |m, n, k, precision| GemmShape { m, n, k, precision };
        let mut gemms = Vec::new();
        for precision in [Precision::F32, Precision::Bf16] {
            for size in [1024, 4096, 8192] {
                gemms.push(g(size, size, size, precision));
            }
        }
        Self {
            warmup: 3,
            samples: 15,
            gemms,
            steps: vec![
                StepShape::new(2048, 1024, 4096),
                StepShape::new(4096, 2048, 8192),
                StepShape::new(8192, 4096, 16384),
            ],
            // From a 1B-class to a 7B-class layer (LLaMA's 4096 / 32 heads / 11008).
            blocks: vec![
                BlockShape::new(4, 2048, 1024, 16, 2816),
                BlockShape::new(2, 2048, 2048, 16, 5632),
                BlockShape::new(1, 4096, 4096, 32, 11008),
            ],
            seed: 1,
        }
    }

    /// Checks the plan: samples 1 ..= 10,000, warm-up 0 ..= 10,000, shapes valid, something to do.
    pub fn validate(&self) -> Result<()> {
        if self.samples == 0 || self.samples > MAX_SAMPLES {
            return Err(Error::shape(
                "samples",
                format!("{} is out of range; allowed 1 ..= {MAX_SAMPLES}", self.samples),
            ));
        }
        if self.warmup > MAX_SAMPLES {
            return Err(Error::shape(
                "warmup",
                format!("{} is out of range; allowed 0 ..= {MAX_SAMPLES}", self.warmup),
            ));
        }
        if self.steps.is_empty() {
            return Err(Error::shape("steps", "no step shape to time"));
        }
        for s in &self.steps {
            s.validate()?;
        }
        for b in &self.blocks {
            b.validate()?;
        }
        Ok(())
    }
}

/// The summary of one timed series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// (p90 - p10) / median (0 for one sample).
    pub spread: f64,
}

/// A percentile of sorted values by linear interpolation.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = q * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Median and spread of `values`.
pub fn summarise(values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = percentile(&sorted, 0.5);
    let spread = if median > 0.0 { (percentile(&sorted, 0.9) - percentile(&sorted, 0.1)) / median } else { 0.0 };
    Summary { median, spread }
}

/// Makes a back end for a shape and its initial state.
pub type Factory<'a> = dyn FnMut(StepShape, TrainState, Batch) -> Result<Box<dyn TrainingStep>> + 'a;

/// Runs `plan` on back ends from `factory`; `progress` hears each finished series.
pub fn measure(plan: &Plan, factory: &mut Factory<'_>, progress: &mut dyn FnMut(&str)) -> Result<Measurement> {
    plan.validate()?;
    let mut steps = Vec::new();
    let mut device = None;
    let mut gemms = Vec::new();
    for (i, shape) in plan.steps.iter().enumerate() {
        let (state, batch) = initial_state(shape, plan.seed);
        let mut backend = factory(*shape, state, batch)?;
        if i == 0 {
            device = Some(backend.device().clone());
            // The GEMM series run on the first back end (its device is the one being measured).
            for g in &plan.gemms {
                if backend.device().kind == "cpu" && g.precision != Precision::F32 {
                    continue;
                }
                let times = backend.time_gemm(g.m, g.n, g.k, g.precision, plan.warmup + plan.samples)?;
                let times = times[plan.warmup.min(times.len())..].to_vec();
                let s = summarise(&times);
                let flops = 2.0 * g.m as f64 * g.n as f64 * g.k as f64;
                let achieved = if s.median > 0.0 { flops / s.median } else { 0.0 };
                progress(&format!(
                    "gemm {}x{}x{} {}: median {:.3} ms, spread {:.1}%, {:.1} GFLOP/s",
                    g.m,
                    g.n,
                    g.k,
                    g.precision,
                    s.median * 1e3,
                    s.spread * 100.0,
                    achieved / 1e9
                ));
                gemms.push(GemmRecord {
                    m: g.m,
                    n: g.n,
                    k: g.k,
                    precision: g.precision.to_string(),
                    flops,
                    times_s: times,
                    median_s: s.median,
                    spread: s.spread,
                    achieved_flops_per_s: achieved,
                });
            }
        }
        let (inner, outer) =
            sample_rounds(plan.warmup, plan.samples, || Ok((backend.inner_step()?, backend.outer_step()?)))?;
        let inner_times: Vec<f64> = inner.iter().map(|t| t.total_s()).collect();
        let outer_times: Vec<f64> = outer.iter().map(|t| t.total_s()).collect();
        let med = |f: &dyn Fn(usize) -> f64| summarise(&(0..plan.samples).map(f).collect::<Vec<_>>()).median;
        let si = summarise(&inner_times);
        let so = summarise(&outer_times);
        let flops = shape.step_flops();
        let record = StepRecord {
            tokens: shape.tokens,
            d_model: shape.d_model,
            d_ff: shape.d_ff,
            flops,
            inner_median_s: si.median,
            inner_spread: si.spread,
            forward_median_s: med(&|i| inner[i].forward_s),
            backward_median_s: med(&|i| inner[i].backward_s),
            optimizer_median_s: med(&|i| inner[i].optimizer_s),
            optimizer_bytes: shape.optimizer_bytes(),
            outer_median_s: so.median,
            select_median_s: med(&|i| outer[i].select_s),
            quantise_median_s: med(&|i| outer[i].quantise_s),
            outer_bytes: shape.outer_bytes(),
            achieved_flops_per_s: if si.median > 0.0 { flops / si.median } else { 0.0 },
            inner_times_s: inner_times,
            outer_times_s: outer_times,
        };
        progress(&format!(
            "step {shape}: inner median {:.3} ms (spread {:.1}%, {:.1} GFLOP/s), outer median {:.3} ms",
            record.inner_median_s * 1e3,
            record.inner_spread * 100.0,
            record.achieved_flops_per_s / 1e9,
            record.outer_median_s * 1e3
        ));
        steps.push(record);
    }
    let device = device.ok_or_else(|| Error::shape("steps", "no step shape to time"))?;
    let fitted = fit(&gemms, &steps);
    Ok(Measurement {
        device_kind: device.kind,
        device_name: device.name,
        driver: device.driver,
        backend: device.backend,
        warmup: plan.warmup,
        samples: plan.samples,
        fitted,
        gemms,
        steps,
        blocks: Vec::new(),
    })
}

/// Makes a block back end for a shape and its initial state.
pub type BlockFactory<'a> = dyn FnMut(BlockShape, BlockState, BlockBatch<f32>) -> Result<Box<dyn TrainingBlock>> + 'a;

/// Times every block shape of `plan`: `warmup` untimed inner + outer steps, then `samples`
/// timed ones; each phase's median. `progress` hears each finished shape.
pub fn measure_blocks(
    plan: &Plan,
    factory: &mut BlockFactory<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<BlockRecord>> {
    plan.validate()?;
    let mut records = Vec::with_capacity(plan.blocks.len());
    for shape in &plan.blocks {
        let (params, batch) = block::initial(shape, plan.seed);
        let mut backend = factory(*shape, BlockState::new(shape, params), batch)?;
        let (inner, outer) =
            sample_rounds(plan.warmup, plan.samples, || Ok((backend.inner_step()?, backend.outer_step()?)))?;
        let inner_times: Vec<f64> = inner.iter().map(|t| t.total_s()).collect();
        let med = |values: Vec<f64>| summarise(&values).median;
        let si = summarise(&inner_times);
        let flops = shape.step_flops();
        let gpu = backend.device().kind == "gpu";
        let record = BlockRecord {
            batch: shape.batch,
            seq: shape.seq,
            d_model: shape.d_model,
            heads: shape.heads,
            d_ff: shape.d_ff,
            params: shape.params(),
            step_flops: flops,
            precision: if gpu { "bf16" } else { "f32" }.into(),
            inner_median_s: si.median,
            inner_spread: si.spread,
            forward_median_s: med(inner.iter().map(|t| t.forward_s).collect()),
            backward_median_s: med(inner.iter().map(|t| t.backward_s).collect()),
            optimizer_median_s: med(inner.iter().map(|t| t.optimizer_s).collect()),
            outer_median_s: med(outer.iter().map(|t| t.total_s()).collect()),
            achieved_flops_per_s: if si.median > 0.0 { flops / si.median } else { 0.0 },
            tokens_per_s: if si.median > 0.0 { shape.tokens() as f64 / si.median } else { 0.0 },
            inner_times_s: inner_times,
        };
        progress(&format!(
            "block {shape}: forward {:.2} ms, backward {:.2} ms, AdamW {:.2} ms, outer {:.2} ms; \
             {:.1} GFLOP/s, {:.0} tokens/s (spread {:.1}%)",
            record.forward_median_s * 1e3,
            record.backward_median_s * 1e3,
            record.optimizer_median_s * 1e3,
            record.outer_median_s * 1e3,
            record.achieved_flops_per_s / 1e9,
            record.tokens_per_s,
            record.inner_spread * 100.0
        ));
        records.push(record);
    }
    Ok(records)
}

/// The fitted figures: the largest shapes' achieved rates (see the module docs).
pub fn fit(gemms: &[GemmRecord], steps: &[StepRecord]) -> Fitted {
    let largest_gemm = |precision: &str| {
        gemms
            .iter()
            .filter(|g| g.precision == precision)
            .max_by(|a, b| a.flops.total_cmp(&b.flops))
            .map_or(0.0, |g| g.achieved_flops_per_s)
    };
    let largest_step = steps.iter().max_by(|a, b| a.flops.total_cmp(&b.flops));
    let rate = |bytes: f64, seconds: f64| if seconds > 0.0 { bytes / seconds } else { 0.0 };
    Fitted {
        gemm_f32_flops_per_s: largest_gemm("f32"),
        gemm_bf16_flops_per_s: largest_gemm("bf16"),
        step_flops_per_s: largest_step.map_or(0.0, |s| s.achieved_flops_per_s),
        optimizer_bytes_per_s: largest_step.map_or(0.0, |s| rate(s.optimizer_bytes, s.optimizer_median_s)),
        outer_bytes_per_s: largest_step.map_or(0.0, |s| rate(s.outer_bytes, s.outer_median_s)),
    }
}

/// The scaling a measurement supports: measured efficiencies when a catalogue GPU was measured
/// (BF16 GEMM fraction of peak × the step's f32 fraction of the f32 GEMM rate, and the AdamW
/// bytes/s fraction of the bandwidth, each capped at 1), otherwise the assumed ones.
pub fn scaling_for(m: &Measurement, catalogue: &[profile::GpuType]) -> Scaling {
    if m.device_kind != "gpu" {
        return assumed_scaling();
    }
    let Some(gpu) = profile::match_gpu(catalogue, &m.device_name) else {
        return assumed_scaling();
    };
    let f = &m.fitted;
    let peak = gpu.peak_bf16_dense_tflops * 1e12;
    let bytes_efficiency = (f.optimizer_bytes_per_s / (gpu.memory_tb_per_s * 1e12)).min(1.0);
    // A timed decoder block (bf16 GEMMs, attention, norms, SwiGLU) is the most direct figure:
    // its achieved FLOP/s over the dense peak.
    if let Some(b) = m.blocks.iter().max_by(|a, b| a.step_flops.total_cmp(&b.step_flops))
        && b.achieved_flops_per_s > 0.0
        && bytes_efficiency > 0.0
    {
        let flops_efficiency = (b.achieved_flops_per_s / peak).min(1.0);
        return Scaling {
            basis: "measured".into(),
            reference_gpu: Some(gpu.name.clone()),
            flops_efficiency,
            bytes_efficiency,
            source: format!(
                "Measured on {}: the decoder block B={} S={} d={} H={} f={} trained at {:.1} TFLOP/s, {:.1}% \
                 of the published dense BF16 peak ({:.0} TFLOP/s), so flops_efficiency = {:.3}; AdamW moved \
                 {:.0} GB/s, {:.1}% of the published {:.2} TB/s.",
                m.device_name,
                b.batch,
                b.seq,
                b.d_model,
                b.heads,
                b.d_ff,
                b.achieved_flops_per_s / 1e12,
                flops_efficiency * 100.0,
                gpu.peak_bf16_dense_tflops,
                flops_efficiency,
                f.optimizer_bytes_per_s / 1e9,
                bytes_efficiency * 100.0,
                gpu.memory_tb_per_s
            ),
        };
    }
    let (gemm_fraction, step_ratio) = (
        f.gemm_bf16_flops_per_s / peak,
        if f.gemm_f32_flops_per_s > 0.0 { f.step_flops_per_s / f.gemm_f32_flops_per_s } else { 0.0 },
    );
    let flops_efficiency = (gemm_fraction * step_ratio).min(1.0);
    if !(flops_efficiency > 0.0 && bytes_efficiency > 0.0) {
        return assumed_scaling();
    }
    Scaling {
        basis: "measured".into(),
        reference_gpu: Some(gpu.name.clone()),
        flops_efficiency,
        bytes_efficiency,
        source: format!(
            "Measured on {}: the largest BF16 GEMM reached {:.1}% of the published dense peak ({:.0} TFLOP/s) \
             and the f32 training step ran at {:.1}% of the f32 GEMM rate, so flops_efficiency = {:.3}; AdamW \
             moved {:.0} GB/s, {:.1}% of the published {:.2} TB/s.",
            m.device_name,
            gemm_fraction * 100.0,
            gpu.peak_bf16_dense_tflops,
            step_ratio * 100.0,
            flops_efficiency,
            f.optimizer_bytes_per_s / 1e9,
            bytes_efficiency * 100.0,
            gpu.memory_tb_per_s
        ),
    }
}

/// A complete profile from a measurement: the built-in catalogue, the scaling the measurement
/// supports and a note saying where the figures came from.
pub fn profile_from(m: Measurement, created_by: &str) -> Profile {
    let gpus = builtin_catalogue();
    let scaling = scaling_for(&m, &gpus);
    let note = if m.device_kind == "gpu" {
        profile::gpu_note(&m.device_name, scaling.reference_gpu.as_deref())
    } else {
        profile::cpu_only_note(&m.device_name)
    };
    let mut p = Profile {
        format: profile::FORMAT.into(),
        note,
        created_by: created_by.into(),
        scaling,
        measured: m,
        gpus,
        provenance: Vec::new(),
    };
    p.provenance = prov::figure_sources(&p);
    p
}

/// Runs `warmup` untimed rounds (an inner and an outer step each), then `samples` rounds whose
/// times are kept: the same sampling for the MLP step and the decoder block.
fn sample_rounds(
    warmup: usize,
    samples: usize,
    mut round: impl FnMut() -> Result<(InnerTimes, OuterTimes)>,
) -> Result<(Vec<InnerTimes>, Vec<OuterTimes>)> {
    for _ in 0..warmup {
        round()?;
    }
    let mut inner = Vec::with_capacity(samples);
    let mut outer = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (i, o) = round()?;
        inner.push(i);
        outer.push(o);
    }
    Ok((inner, outer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::train::CpuBlock;
    use crate::cpu::CpuStep;
    use crate::sparseloco::CompressionConfig;
    use crate::step::AdamW;

    #[test]
    fn summaries_take_the_median_and_the_10_to_90_spread() {
        let s = summarise(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.median, 3.0);
        // p10 = 1.4, p90 = 4.6 by interpolation.
        assert!((s.spread - 3.2 / 3.0).abs() < 1e-12);
        assert_eq!(summarise(&[2.0]).spread, 0.0);
        assert_eq!(summarise(&[1.0, 3.0]).median, 2.0);
    }

    #[test]
    fn a_tiny_cpu_calibration_produces_a_consistent_profile() {
        let plan = Plan {
            warmup: 1,
            samples: 3,
            gemms: vec![GemmShape { m: 64, n: 64, k: 64, precision: Precision::F32 }],
            steps: vec![StepShape::new(16, 64, 128), StepShape::new(32, 64, 128)],
            blocks: vec![BlockShape::new(1, 8, 64, 2, 128)],
            seed: 3,
        };
        let mut lines = Vec::new();
        let mut factory = |shape, state, batch| -> Result<Box<dyn TrainingStep>> {
            Ok(Box::new(CpuStep::new(shape, AdamW::default(), CompressionConfig::default(), state, batch)?))
        };
        let mut m = measure(&plan, &mut factory, &mut |l| lines.push(l.to_string())).expect("measure");
        let mut block_factory = |shape, state, batch| -> Result<Box<dyn TrainingBlock>> {
            Ok(Box::new(CpuBlock::new(shape, AdamW::default(), CompressionConfig::default(), state, batch)?))
        };
        m.blocks = measure_blocks(&plan, &mut block_factory, &mut |l| lines.push(l.to_string())).expect("blocks");
        assert_eq!(lines.len(), 4);
        assert!(lines[3].starts_with("block B=1 S=8 d=64 H=2 f=128: forward "), "{}", lines[3]);
        let b = &m.blocks[0];
        assert_eq!(
            (b.inner_times_s.len(), b.precision.as_str(), b.params),
            (3, "f32", 4 * 64 * 64 + 3 * 64 * 128 + 128)
        );
        assert!(b.forward_median_s > 0.0 && b.backward_median_s > 0.0 && b.optimizer_median_s > 0.0);
        assert!(b.outer_median_s > 0.0);
        assert!((b.tokens_per_s - 8.0 / b.inner_median_s).abs() < 1e-9 * b.tokens_per_s);
        assert_eq!(m.device_kind, "cpu");
        assert_eq!(m.gemms.len(), 1);
        assert_eq!(m.steps.len(), 2);
        for s in &m.steps {
            assert_eq!(s.inner_times_s.len(), 3);
            assert!(s.inner_median_s > 0.0 && s.outer_median_s > 0.0);
            assert!((s.achieved_flops_per_s - s.flops / s.inner_median_s).abs() < 1e-6 * s.achieved_flops_per_s);
        }
        // The fit reads the largest step shape.
        assert_eq!(m.fitted.step_flops_per_s, m.steps[1].achieved_flops_per_s);
        assert!(m.fitted.gemm_f32_flops_per_s > 0.0 && m.fitted.gemm_bf16_flops_per_s == 0.0);
        let p = profile_from(m, "test");
        assert_eq!(p.scaling, assumed_scaling(), "a CPU measurement says nothing about GPU efficiency");
        assert!(p.note.contains("No GPU measurement is included yet"));
        assert!(p.provenance.iter().any(|f| f.figure == "measured.blocks" && f.basis == "measured"));
        let text = p.to_toml().expect("toml");
        assert!(text.contains("[[measured.blocks]]") && text.contains("[[provenance]]"), "{text}");
        assert_eq!(Profile::parse(std::path::Path::new("t"), &text).expect("parse"), p);
    }

    #[test]
    fn a_measured_gpu_sets_the_efficiency_from_its_peak() {
        let fitted = Fitted {
            gemm_f32_flops_per_s: 50e12,
            gemm_bf16_flops_per_s: 700e12,
            step_flops_per_s: 40e12,
            optimizer_bytes_per_s: 2.68e12,
            outer_bytes_per_s: 1e12,
        };
        let m = Measurement {
            device_kind: "gpu".into(),
            device_name: "NVIDIA H100 80GB HBM3".into(),
            driver: "CUDA driver 12.8".into(),
            backend: "cuda".into(),
            warmup: 1,
            samples: 1,
            fitted,
            gemms: vec![],
            steps: vec![],
            blocks: vec![],
        };
        let s = scaling_for(&m, &builtin_catalogue());
        assert_eq!(s.basis, "measured");
        assert_eq!(s.reference_gpu.as_deref(), Some("H100"));
        // 700/989 of peak on GEMMs, the step at 80% of the GEMM rate.
        assert!((s.flops_efficiency - 700.0 / 989.0 * 0.8).abs() < 1e-12);
        assert!((s.bytes_efficiency - 0.8).abs() < 1e-12);
        let unknown = Measurement { device_name: "Tesla V100".into(), ..m.clone() };
        assert_eq!(scaling_for(&unknown, &builtin_catalogue()), assumed_scaling());
        // A timed block takes precedence: its achieved FLOP/s over the peak, whatever the GEMMs say.
        let record = |flops: f64, achieved: f64| BlockRecord {
            batch: 1,
            seq: 4096,
            d_model: 4096,
            heads: 32,
            d_ff: 11008,
            params: 0,
            step_flops: flops,
            precision: "bf16".into(),
            inner_times_s: vec![1.0],
            inner_median_s: 1.0,
            inner_spread: 0.0,
            forward_median_s: 0.3,
            backward_median_s: 0.6,
            optimizer_median_s: 0.1,
            outer_median_s: 0.1,
            achieved_flops_per_s: achieved,
            tokens_per_s: 4096.0,
        };
        let with_blocks = Measurement { blocks: vec![record(1e12, 100e12), record(5e12, 445.05e12)], ..m };
        let s = scaling_for(&with_blocks, &builtin_catalogue());
        assert!((s.flops_efficiency - 0.45).abs() < 1e-12, "the largest block: 445.05 / 989");
        assert!(s.source.contains("decoder block B=1 S=4096 d=4096 H=32 f=11008"), "{}", s.source);
        assert!((s.bytes_efficiency - 0.8).abs() < 1e-12);
    }

    #[test]
    fn bad_plans_are_refused() {
        let mut p = Plan::cpu_default();
        p.samples = 0;
        assert_eq!(p.validate().expect_err("samples").to_string(), "samples: 0 is out of range; allowed 1 ..= 10000");
        assert!(Plan::gpu_default().validate().is_ok());
    }
}
