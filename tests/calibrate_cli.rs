//! `taosim calibrate` as a user meets it: a quick calibration writes a profile that loads,
//! with timed decoder blocks and the provenance of every figure; bad input exits 2.

use std::path::Path;
use std::process::{Command, Output};

fn calibrate(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taosim"))
        .arg("calibrate")
        .args(args)
        .current_dir(dir)
        .env("TAOSIM_FORCE_CPU", "1")
        .output()
        .expect("taosim runs")
}

#[test]
fn a_quick_calibration_writes_a_profile_with_blocks_and_provenance() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = calibrate(&["--quick", "--out", "p.toml"], tmp.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("TAOSIM_FORCE_CPU is set"), "{err}");
    assert!(err.contains("calibrate: block B=2 S=32 d=128 H=4 f=320: forward "), "{err}");
    let p = kernels::profile::Profile::load(&tmp.path().join("p.toml")).expect("the profile loads");
    assert_eq!(p.measured.device_kind, "cpu");
    assert_eq!(p.measured.blocks.len(), 2);
    assert!(p.measured.blocks.iter().all(|b| b.inner_times_s.len() == 3 && b.achieved_flops_per_s > 0.0));
    let eff = p.provenance.iter().find(|f| f.figure == "scaling.flops_efficiency").expect("provenance");
    assert_eq!(eff.basis, "assumed", "a CPU says nothing about a GPU's efficiency");
    // An existing profile is kept without --force; bad numbers are bad input.
    let again = calibrate(&["--quick", "--out", "p.toml"], tmp.path());
    assert_eq!(again.status.code(), Some(2));
    let zero = calibrate(&["--quick", "--samples", "0", "--out", "q.toml"], tmp.path());
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("samples: 0 is out of range"));
    assert!(!tmp.path().join("q.toml").exists());
}
