//! `taosim calibrate`: time training steps on this machine and write a calibration profile.
//!
//! With a GPU (built with `--features cuda`, found by the probe, not overridden by
//! `TAOSIM_FORCE_CPU`) it first checks the CUDA step and the CUDA decoder block against the
//! CPU on the same inputs, then measures the GPU; otherwise it says why and measures the CPU. The profile is
//! written atomically; an existing file is replaced only with `--force`.

use clap::Args;
use kernels::block::BlockShape;
use kernels::block::differential::BlockReport;
use kernels::block::train::{BlockState, TrainingBlock};
use kernels::calibrate::{self, Plan};
use kernels::device::{Probe, probe};
use kernels::differential;
use kernels::profile::Profile;
use kernels::sparseloco::CompressionConfig;
use kernels::step::{AdamW, StepShape, initial_state};
use kernels::{Choice, TrainingStep};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `taosim calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Profile file to write (TOML).
    #[arg(long, default_value = "calibration-profile.toml")]
    out: PathBuf,
    /// Replace the --out file if it exists.
    #[arg(long)]
    force: bool,
    /// Measure the CPU even when a GPU is available.
    #[arg(long)]
    cpu: bool,
    /// Timed repetitions per shape (default: 9 on the CPU, 15 on a GPU).
    #[arg(long)]
    samples: Option<usize>,
    /// Untimed warm-up repetitions per shape (default: 2 on the CPU, 3 on a GPU).
    #[arg(long)]
    warmup: Option<usize>,
    /// Tiny shapes and 3 samples: seconds on any machine. Shows that calibration works; its
    /// figures say little about the device.
    #[arg(long)]
    quick: bool,
}

/// Exit code for bad input.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a failed measurement or check.
const EXIT_FAILED: u8 = 1;

/// Runs `taosim calibrate`.
pub fn run(args: CalibrateArgs) -> ExitCode {
    if args.out.exists() && !args.force {
        eprintln!("error: {}: the profile already exists; choose another --out or pass --force", args.out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let use_gpu = if args.cpu {
        eprintln!("calibrate: --cpu given; measuring the CPU");
        false
    } else {
        match probe() {
            Probe::Gpu { count, driver } => {
                eprintln!("calibrate: {count} GPU(s), {driver}; measuring GPU 0");
                true
            }
            Probe::Unavailable(why) => {
                eprintln!("calibrate: no GPU ({why}); measuring the CPU instead");
                false
            }
        }
    };
    let mut plan = match (args.quick, use_gpu) {
        (true, _) => Plan::quick(),
        (false, true) => Plan::gpu_default(),
        (false, false) => Plan::cpu_default(),
    };
    if let Some(s) = args.samples {
        plan.samples = s;
    }
    if let Some(w) = args.warmup {
        plan.warmup = w;
    }
    if let Err(e) = plan.validate() {
        eprintln!("error: --{e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if use_gpu {
        match check_gpu_against_cpu() {
            Ok(report) if report.passed() => eprintln!("calibrate: CUDA vs CPU on the same inputs: {report}"),
            Ok(report) => {
                eprintln!("error: the CUDA step disagrees with the CPU reference: {report}; no profile written");
                return ExitCode::from(EXIT_FAILED);
            }
            Err(e) => {
                eprintln!("error: CUDA vs CPU check: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
        match check_gpu_block_against_cpu() {
            Ok(report) if report.passed() => eprintln!("calibrate: CUDA block vs CPU block: {report}"),
            Ok(report) => {
                eprintln!("error: the CUDA block disagrees with the CPU block: {report}; no profile written");
                return ExitCode::from(EXIT_FAILED);
            }
            Err(e) => {
                eprintln!("error: CUDA block vs CPU block check: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    }
    let mut factory = |shape, state, batch| -> kernels::Result<Box<dyn TrainingStep>> {
        let (backend, choice) =
            kernels::open(shape, AdamW::default(), CompressionConfig::default(), state, batch, use_gpu)?;
        if use_gpu && let Choice::Cpu(why) = choice {
            return Err(kernels::Error::NoGpu(why));
        }
        Ok(backend)
    };
    let mut measurement = match calibrate::measure(&plan, &mut factory, &mut |line| eprintln!("calibrate: {line}")) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: calibration failed: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let mut block_factory = |shape, state, batch| -> kernels::Result<Box<dyn TrainingBlock>> {
        let (backend, choice) =
            kernels::open_block(shape, AdamW::default(), CompressionConfig::default(), state, batch, use_gpu)?;
        if use_gpu && let Choice::Cpu(why) = choice {
            return Err(kernels::Error::NoGpu(why));
        }
        Ok(backend)
    };
    match calibrate::measure_blocks(&plan, &mut block_factory, &mut |line| eprintln!("calibrate: {line}")) {
        Ok(blocks) => measurement.blocks = blocks,
        Err(e) => {
            eprintln!("error: calibration of the decoder block failed: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    }
    let profile = calibrate::profile_from(measurement, &format!("taosim calibrate {}", env!("CARGO_PKG_VERSION")));
    report_fit(&profile);
    if let Err(e) = profile.write_atomic(&args.out) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_FAILED);
    }
    println!("{}", args.out.display());
    ExitCode::SUCCESS
}

/// The CUDA step against the CPU reference on the same inputs (3 inner steps, 1 outer step).
fn check_gpu_against_cpu() -> kernels::Result<differential::Report> {
    let shape = StepShape::new(256, 256, 1024);
    let (state, batch) = initial_state(&shape, 7);
    let (adamw, compression) = (AdamW { lr: 1e-3, ..AdamW::default() }, CompressionConfig::default());
    let (mut gpu, choice) = kernels::open(shape, adamw, compression, state.clone(), batch.clone(), true)?;
    if let Choice::Cpu(why) = choice {
        return Err(kernels::Error::NoGpu(why));
    }
    let mut cpu = kernels::cpu::CpuStep::new(shape, adamw, compression, state, batch)?;
    differential::compare(gpu.as_mut(), &mut cpu, 3)
}

/// The CUDA block against the CPU block on the same inputs (3 inner steps, 1 outer step).
fn check_gpu_block_against_cpu() -> kernels::Result<BlockReport> {
    let shape = BlockShape::new(2, 64, 128, 2, 320);
    let (params, batch) = kernels::block::initial(&shape, 7);
    let state = BlockState::new(&shape, params);
    let (adamw, compression) = (AdamW { lr: 1e-3, ..AdamW::default() }, CompressionConfig::default());
    let (mut gpu, choice) = kernels::open_block(shape, adamw, compression, state.clone(), batch.clone(), true)?;
    if let Choice::Cpu(why) = choice {
        return Err(kernels::Error::NoGpu(why));
    }
    let (mut cpu, _) = kernels::open_block(shape, adamw, compression, state, batch, false)?;
    kernels::block::differential::compare(gpu.as_mut(), cpu.as_mut(), 3)
}

fn report_fit(p: &Profile) {
    let f = &p.measured.fitted;
    eprintln!(
        "calibrate: {} ({}): f32 GEMM {:.1} GFLOP/s, step {:.1} GFLOP/s, AdamW {:.2} GB/s, outer step {:.2} GB/s",
        p.measured.device_name,
        p.measured.device_kind,
        f.gemm_f32_flops_per_s / 1e9,
        f.step_flops_per_s / 1e9,
        f.optimizer_bytes_per_s / 1e9,
        f.outer_bytes_per_s / 1e9
    );
    if f.gemm_bf16_flops_per_s > 0.0 {
        let peak = p.scaling.reference_gpu.as_deref().and_then(|r| p.gpu(r).ok()).map(|g| g.peak_bf16_dense_tflops);
        match peak {
            Some(peak) => eprintln!(
                "calibrate: BF16 GEMM {:.1} TFLOP/s = {:.1}% of the published dense peak {peak:.0} TFLOP/s",
                f.gemm_bf16_flops_per_s / 1e12,
                f.gemm_bf16_flops_per_s / 1e12 / peak * 100.0
            ),
            None => eprintln!("calibrate: BF16 GEMM {:.1} TFLOP/s", f.gemm_bf16_flops_per_s / 1e12),
        }
    }
    eprintln!("calibrate: GPU types: {} ({})", p.gpu_names().join(", "), p.origin());
}
