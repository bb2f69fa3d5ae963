//! The decoder block on CUDA against the CPU block on the same inputs, within the tolerances
//! of `kernels::block::differential` (bf16 GEMMs against f32).
//!
//! Ignored by default (it needs a GPU); `kernels/gpu-check.sh` runs it with `--ignored`. Run
//! that way without a GPU it fails and says why.

use kernels::block::train::BlockState;
use kernels::block::{BlockShape, differential, initial};
use kernels::device::{Probe, probe};
use kernels::sparseloco::CompressionConfig;
use kernels::step::AdamW;
use kernels::{Choice, open_block};

#[test]
#[ignore = "needs a CUDA GPU; run by kernels/gpu-check.sh"]
fn cuda_block_matches_the_cpu_block_within_bf16_tolerance() {
    if let Probe::Unavailable(why) = probe() {
        panic!("no GPU to test: {why}");
    }
    // Several sequences and heads, a non-square MLP, head width 64 and 32.
    for shape in [BlockShape::new(2, 64, 128, 2, 320), BlockShape::new(3, 96, 256, 8, 704)] {
        let (adamw, compression) = (AdamW { lr: 1e-3, ..AdamW::default() }, CompressionConfig::default());
        let (params, batch) = initial(&shape, 13);
        let state = BlockState::new(&shape, params);
        let (mut gpu, choice) =
            open_block(shape, adamw, compression, state.clone(), batch.clone(), true).expect("gpu block");
        assert_eq!(choice, Choice::Gpu, "the probe found a GPU, so the CUDA block must open");
        let (mut cpu, _) = open_block(shape, adamw, compression, state, batch, false).expect("cpu block");
        let report = differential::compare(gpu.as_mut(), cpu.as_mut(), 3).expect("compare");
        eprintln!("{shape}: {report}");
        assert!(report.passed(), "{shape}: {report}");
    }
}
