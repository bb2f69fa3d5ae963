//! What a profile records beyond the MLP step: timed decoder blocks and, per figure, where the
//! figure came from (measured on which device, assumed, or published).
//!
//! Both are optional parts of the profile file (serde defaults), so profiles written before
//! they existed still load.

use crate::profile::Profile;
use serde::{Deserialize, Serialize};

/// Timings of one decoder-block shape ([`crate::block`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRecord {
    /// Sequences, B.
    pub batch: usize,
    /// Tokens per sequence, S.
    pub seq: usize,
    /// Width, d.
    pub d_model: usize,
    /// Heads, H.
    pub heads: usize,
    /// SwiGLU hidden width, f.
    pub d_ff: usize,
    /// Trainable parameters.
    pub params: usize,
    /// GEMM FLOPs of one inner step (3 × forward).
    pub step_flops: f64,
    /// The GEMMs' number format on this back end (`"f32"` on the CPU, `"bf16"` on CUDA).
    pub precision: String,
    /// Seconds of each timed inner step.
    pub inner_times_s: Vec<f64>,
    /// Median inner step.
    pub inner_median_s: f64,
    /// (p90 - p10) / median of the inner steps.
    pub inner_spread: f64,
    /// Median forward pass.
    pub forward_median_s: f64,
    /// Median backward pass.
    pub backward_median_s: f64,
    /// Median AdamW update.
    pub optimizer_median_s: f64,
    /// Median SparseLoCo outer step.
    pub outer_median_s: f64,
    /// step_flops / inner_median_s.
    pub achieved_flops_per_s: f64,
    /// Tokens (B S) per second of inner steps.
    pub tokens_per_s: f64,
}

/// Where one figure of a profile comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSource {
    /// The figure, as a path into the profile (`scaling.flops_efficiency`, `gpus[H100]`, ...).
    pub figure: String,
    /// `"measured"`, `"assumed"` or `"published"`.
    pub basis: String,
    /// The device it was measured on, or the device it describes (`"none"` for an assumption).
    pub device: String,
    /// One line: how, or the source.
    pub detail: String,
}

fn source(figure: &str, basis: &str, device: &str, detail: impl Into<String>) -> FigureSource {
    FigureSource { figure: figure.into(), basis: basis.into(), device: device.into(), detail: detail.into() }
}

/// The provenance of every figure of `p`: its measured figures (on its device), its scaling
/// (measured or assumed) and its catalogue (published).
pub fn figure_sources(p: &Profile) -> Vec<FigureSource> {
    let m = &p.measured;
    let device = format!("{} {} ({})", m.device_kind, m.device_name, m.backend);
    let mut out = Vec::new();
    let f = &m.fitted;
    for (figure, value) in [
        ("measured.fitted.gemm_f32_flops_per_s", f.gemm_f32_flops_per_s),
        ("measured.fitted.gemm_bf16_flops_per_s", f.gemm_bf16_flops_per_s),
        ("measured.fitted.step_flops_per_s", f.step_flops_per_s),
        ("measured.fitted.optimizer_bytes_per_s", f.optimizer_bytes_per_s),
        ("measured.fitted.outer_bytes_per_s", f.outer_bytes_per_s),
    ] {
        if value > 0.0 {
            out.push(source(figure, "measured", &device, format!("median of {} timed samples", m.samples)));
        }
    }
    if !m.blocks.is_empty() {
        out.push(source(
            "measured.blocks",
            "measured",
            &device,
            format!("{} decoder-block shapes, median of {} timed steps each", m.blocks.len(), m.samples),
        ));
    }
    let s = &p.scaling;
    let scaling_device = match (&s.basis[..], &s.reference_gpu) {
        ("measured", Some(r)) => format!("{} (catalogue type {r})", m.device_name),
        _ => "none".to_string(),
    };
    for figure in ["scaling.flops_efficiency", "scaling.bytes_efficiency"] {
        out.push(source(figure, &s.basis, &scaling_device, first_sentence(&s.source)));
    }
    for g in &p.gpus {
        out.push(source(&format!("gpus[{}]", g.name), "published", &g.name, g.source.clone()));
    }
    out
}

/// The text up to and including the first ". " (or all of it).
fn first_sentence(text: &str) -> String {
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_says_its_efficiency_is_assumed_and_its_timings_measured_on_a_cpu() {
        let p = Profile::builtin_default().expect("default");
        let sources = figure_sources(&p);
        let find = |f: &str| sources.iter().find(|s| s.figure == f).unwrap_or_else(|| panic!("{f} missing"));
        let eff = find("scaling.flops_efficiency");
        assert_eq!((eff.basis.as_str(), eff.device.as_str()), ("assumed", "none"));
        assert!(eff.detail.starts_with("No GPU measurement yet."), "{}", eff.detail);
        let step = find("measured.fitted.step_flops_per_s");
        assert_eq!(step.basis, "measured");
        assert!(step.device.starts_with("cpu "), "{}", step.device);
        assert!(sources.iter().all(|s| s.figure != "measured.fitted.gemm_bf16_flops_per_s"), "not measured on a CPU");
        let h100 = find("gpus[H100]");
        assert_eq!(h100.basis, "published");
        assert!(h100.detail.contains("datasheet"));
    }
}
