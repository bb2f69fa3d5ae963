//! The differential test: the CUDA back end against the CPU reference on the same inputs.
//!
//! It needs a GPU, so it is ignored by default; `kernels/gpu-check.sh` runs it with
//! `cargo test --features cuda -- --ignored`. Run that way without a GPU (no `cuda` feature, no
//! driver, no device, or `TAOSIM_FORCE_CPU` set) it fails and says why: it never passes
//! without having compared anything.

use kernels::device::{Probe, probe};
use kernels::differential;
use kernels::sparseloco::CompressionConfig;
use kernels::step::{AdamW, StepShape, initial_state};
use kernels::{Choice, open};

#[test]
#[ignore = "needs a CUDA GPU; run by kernels/gpu-check.sh"]
fn cuda_step_matches_the_cpu_reference_within_f32_tolerance() {
    if let Probe::Unavailable(why) = probe() {
        panic!("no GPU to test: {why}");
    }
    // Non-square shapes catch transposed leading dimensions; two tiles per side at least.
    for shape in [StepShape::new(96, 128, 320), StepShape::new(512, 256, 1024)] {
        let (state, batch) = initial_state(&shape, 11);
        let (adamw, compression) = (AdamW { lr: 1e-3, ..AdamW::default() }, CompressionConfig::default());
        let (mut gpu, choice) = open(shape, adamw, compression, state.clone(), batch.clone(), true).expect("gpu");
        assert_eq!(choice, Choice::Gpu, "the probe found a GPU, so the GPU back end must open");
        let (mut cpu, _) = open(shape, adamw, compression, state, batch, false).expect("cpu");
        let report = differential::compare(gpu.as_mut(), cpu.as_mut(), 4).expect("compare");
        eprintln!("{shape}: {report}");
        assert!(report.passed(), "{shape}: {report}");
        // Determinism of the GPU path: the same inputs give the same bits twice.
        let snapshot = gpu.snapshot().expect("snapshot");
        let (state, batch) = initial_state(&shape, 11);
        let (mut again, _) = open(shape, adamw, compression, state, batch, true).expect("gpu");
        for _ in 0..4 {
            again.inner_step().expect("step");
        }
        again.outer_step().expect("outer");
        assert_eq!(again.snapshot().expect("snapshot"), snapshot, "{shape}: GPU results are not reproducible");
    }
}
