//! Calibration profiles: what `taosim calibrate` writes and the simulator reads.
//!
//! A profile is a TOML file with four parts:
//! - `format`, `note`, `created_by`: the format tag and, in words, where the figures came from;
//! - `[measured]`: the device that was measured (kind, name, driver, back end), the plan
//!   (warm-up, samples), every shape with its raw timings, medians and spreads, and the fitted
//!   figures (achieved FLOP/s per GEMM shape and for the step, bytes/s of the memory-bound
//!   phases);
//! - `[scaling]`: how GPU types get their speed: `basis = "measured"` (the measured GPU's
//!   achieved fraction of its published peak, applied to every type: achieved(X) =
//!   achieved(measured) × peak(X) / peak(measured), i.e. scaling by published peak ratios) or
//!   `basis = "assumed"` (no GPU was measured: published peak × an assumed efficiency, with
//!   its source);
//! - `[[gpus]]`: the catalogue of GPU types with their published dense BF16 tensor peak and
//!   memory bandwidth, each with its source.
//!
//! The simulator asks [`Profile::step_time_s`] for the time of `flops` and `bytes` on one GPU
//! of a type: `flops / (peak_flops × flops_efficiency) + bytes / (bandwidth ×
//! bytes_efficiency)`, a two-term roofline without overlap (a conservative simplification).
//!
//! Deliberately light: serde, toml and the standard library only.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format tag of profiles this version reads and writes.
pub const FORMAT: &str = "taosim-calibration/1";

/// The name used in errors for the profile compiled into the binary.
pub const BUILT_IN: &str = "built-in default profile (kernels/profiles/default.toml)";

/// The committed default profile, compiled in so that runs and tests need no file.
/// The committed default profile's text (compiled in).
pub const DEFAULT_TOML: &str = include_str!("../profiles/default.toml");

/// A calibration profile (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Where the figures came from and how to regenerate them, in words.
    pub note: String,
    /// The program that wrote the profile (`taosim calibrate <version>`).
    pub created_by: String,
    /// How GPU types get their speed.
    pub scaling: Scaling,
    /// What was measured.
    pub measured: Measurement,
    /// GPU types with their published peaks.
    pub gpus: Vec<GpuType>,
    /// Per figure: measured (on which device), assumed or published
    /// ([`crate::provenance::figure_sources`]); absent in profiles written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<crate::provenance::FigureSource>,
}

/// How GPU types get their speed (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// `"measured"` or `"assumed"`.
    pub basis: String,
    /// The catalogue type the measured GPU matched (`basis = "measured"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_gpu: Option<String>,
    /// Achieved fraction of the dense BF16 peak for a training step, (0, 1].
    pub flops_efficiency: f64,
    /// Achieved fraction of the memory bandwidth for the memory-bound phases, (0, 1].
    pub bytes_efficiency: f64,
    /// Where the two fractions come from.
    pub source: String,
}

/// A GPU type of the catalogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuType {
    /// The name scenarios use (`"H100"`, `"B200"`, ...).
    pub name: String,
    /// Substrings of the driver's device name that identify this type (longest match wins).
    pub matches: Vec<String>,
    /// Published dense (no sparsity) BF16 tensor-core peak, TFLOP/s.
    pub peak_bf16_dense_tflops: f64,
    /// Published memory bandwidth, TB/s.
    pub memory_tb_per_s: f64,
    /// Memory per GPU, GB.
    pub memory_gb: f64,
    /// Where the figures come from.
    pub source: String,
    /// This type's own achieved fraction of its dense BF16 peak, replacing
    /// `scaling.flops_efficiency` for it (a type measured apart, or a study that slows one
    /// type down). (0, 1]; absent: the profile-wide figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flops_efficiency: Option<f64>,
    /// This type's own achieved fraction of its memory bandwidth, replacing
    /// `scaling.bytes_efficiency` for it. (0, 1]; absent: the profile-wide figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_efficiency: Option<f64>,
}

/// The measured device and its figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// `"cpu"` or `"gpu"`.
    pub device_kind: String,
    /// The device's name.
    pub device_name: String,
    /// Driver or GEMM kernel.
    pub driver: String,
    /// The back end that ran the step.
    pub backend: String,
    /// Untimed repetitions before each measured series.
    pub warmup: usize,
    /// Timed repetitions per series.
    pub samples: usize,
    /// The fitted figures.
    pub fitted: Fitted,
    /// Timed GEMMs.
    #[serde(default)]
    pub gemms: Vec<GemmRecord>,
    /// Timed training steps.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Timed decoder blocks ([`crate::block`]); absent in profiles written before they existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<crate::provenance::BlockRecord>,
}

/// The per-device model fitted to the timings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fitted {
    /// Achieved FLOP/s of the largest timed GEMM in the step's precision (f32).
    pub gemm_f32_flops_per_s: f64,
    /// Achieved FLOP/s of the largest timed BF16 GEMM (GPU only; 0 when not timed).
    pub gemm_bf16_flops_per_s: f64,
    /// Achieved FLOP/s of the whole inner step at the largest step shape (6 P N / median).
    pub step_flops_per_s: f64,
    /// Bytes/s of the AdamW update at the largest step shape (memory-bound).
    pub optimizer_bytes_per_s: f64,
    /// Bytes/s of the SparseLoCo outer step at the largest step shape.
    pub outer_bytes_per_s: f64,
}

/// Timings of one GEMM shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GemmRecord {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// `"f32"` or `"bf16"`.
    pub precision: String,
    /// 2 m n k.
    pub flops: f64,
    /// Seconds of each timed GEMM.
    pub times_s: Vec<f64>,
    /// Median of `times_s`.
    pub median_s: f64,
    /// (90th - 10th percentile) / median.
    pub spread: f64,
    /// flops / median_s.
    pub achieved_flops_per_s: f64,
}

/// Timings of one step shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// Tokens N.
    pub tokens: usize,
    /// Width d.
    pub d_model: usize,
    /// Hidden width f.
    pub d_ff: usize,
    /// 12 N d f.
    pub flops: f64,
    /// Seconds of each timed inner step.
    pub inner_times_s: Vec<f64>,
    /// Median inner step.
    pub inner_median_s: f64,
    /// Spread of the inner steps.
    pub inner_spread: f64,
    /// Median forward phase.
    pub forward_median_s: f64,
    /// Median backward phase.
    pub backward_median_s: f64,
    /// Median AdamW phase.
    pub optimizer_median_s: f64,
    /// Bytes the AdamW phase moves.
    pub optimizer_bytes: f64,
    /// Seconds of each timed outer step.
    pub outer_times_s: Vec<f64>,
    /// Median outer step.
    pub outer_median_s: f64,
    /// Median top-k selection.
    pub select_median_s: f64,
    /// Median quantisation.
    pub quantise_median_s: f64,
    /// Bytes the outer step moves.
    pub outer_bytes: f64,
    /// flops / inner_median_s.
    pub achieved_flops_per_s: f64,
}

/// Achieved rates of one GPU type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// FLOP/s of a training step.
    pub flops_per_s: f64,
    /// Bytes/s of the memory-bound phases.
    pub bytes_per_s: f64,
}

/// The catalogue of GPU types with published figures (the source of the shipped profile).
pub fn builtin_catalogue() -> Vec<GpuType> {
    let gpu = |name: &str, matches: &[&str], tflops: f64, tb: f64, gb: f64, source: &str| GpuType {
        name: name.to_string(),
        matches: matches.iter().map(|m| m.to_string()).collect(),
        peak_bf16_dense_tflops: tflops,
        memory_tb_per_s: tb,
        memory_gb: gb,
        source: source.to_string(),
        flops_efficiency: None,
        bytes_efficiency: None,
    };
    vec![
        gpu(
            "B200",
            &["B200"],
            2250.0,
            8.0,
            180.0,
            "NVIDIA DGX B200 datasheet: 72 PFLOPS FP8 training per 8 GPUs with sparsity, i.e. 4.5 PFLOPS \
             dense FP8 and 2.25 PFLOPS dense BF16 per GPU; HBM3e 8 TB/s, 1,440 GB per 8 GPUs",
        ),
        gpu(
            "H200",
            &["H200"],
            989.0,
            4.8,
            141.0,
            "NVIDIA H200 Tensor Core GPU datasheet (SXM): BF16 1,979 TFLOPS with sparsity (989 dense); \
             HBM3e 4.8 TB/s, 141 GB",
        ),
        gpu(
            "H100",
            &["H100"],
            989.0,
            3.35,
            80.0,
            "NVIDIA H100 Tensor Core GPU datasheet (SXM5): BF16 1,979 TFLOPS with sparsity (989 dense); \
             HBM3 3.35 TB/s, 80 GB",
        ),
        gpu(
            "H100 PCIe",
            &["H100 PCIe"],
            756.0,
            2.0,
            80.0,
            "NVIDIA H100 Tensor Core GPU datasheet (PCIe): BF16 1,513 TFLOPS with sparsity (756 dense); \
             HBM2e 2.0 TB/s, 80 GB",
        ),
        gpu(
            "A100",
            &["A100"],
            312.0,
            2.039,
            80.0,
            "NVIDIA A100 Tensor Core GPU datasheet (SXM 80GB): BF16 312 TFLOPS dense; HBM2e 2,039 GB/s",
        ),
        gpu(
            "RTX 4090",
            &["RTX 4090", "4090"],
            165.2,
            1.008,
            24.0,
            "NVIDIA Ada Lovelace architecture whitepaper: RTX 4090 peak BF16 tensor 165.2 TFLOPS dense with \
             FP32 accumulate (330.4 with sparsity); GDDR6X 1,008 GB/s, 24 GB",
        ),
    ]
}

/// The efficiency assumed when no GPU has been measured.
pub fn assumed_scaling() -> Scaling {
    Scaling {
        basis: "assumed".into(),
        reference_gpu: None,
        flops_efficiency: 0.40,
        bytes_efficiency: 0.80,
        source: "No GPU measurement yet. flops_efficiency 0.40 is the model-FLOPs utilisation published for \
                 a decentralised LLM training run (INTELLECT-1, arXiv 2412.01152: 36.2-41.4% MFU on H100 \
                 nodes); bytes_efficiency 0.80 is an assumption (streaming kernels typically reach about 80% \
                 of nominal memory bandwidth), not a measurement."
            .into(),
    }
}

/// The note of a profile whose measured device is a CPU.
pub fn cpu_only_note(cpu: &str) -> String {
    format!(
        "No GPU measurement is included yet. The [measured] figures were measured on this CPU ({cpu}) with \
         the CPU back end; every GPU type's speed is its published dense BF16 peak and memory bandwidth \
         ([[gpus]], each with its source) times the assumed efficiencies in [scaling]. To replace them with \
         a real GPU measurement, run on a machine with an NVIDIA GPU and the CUDA toolkit: \
         `cargo run --release --features cuda -- calibrate --out kernels/profiles/default.toml`; other GPU \
         types are then scaled from the measured one by published peak ratios."
    )
}

/// The note of a profile whose measured device is a GPU.
pub fn gpu_note(gpu: &str, reference: Option<&str>) -> String {
    match reference {
        Some(r) => format!(
            "Measured on {gpu} (catalogue type {r}) with the CUDA back end. Every GPU type's speed is its \
             published peak times the efficiency measured on {r} ([scaling]): achieved(X) = achieved({r}) \
             × peak(X) / peak({r})."
        ),
        None => format!(
            "Measured on {gpu} with the CUDA back end, but this GPU is not in the catalogue, so GPU types \
             keep the assumed efficiencies in [scaling]; add it to [[gpus]] to scale from it."
        ),
    }
}

fn profile_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Profile { path: path.to_path_buf(), message: message.into() }
}

impl Profile {
    /// The committed default profile (compiled in).
    pub fn builtin_default() -> Result<Self> {
        Self::parse(Path::new(BUILT_IN), DEFAULT_TOML)
    }

    /// Reads and checks a profile file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => e.to_string(),
            };
            profile_error(path, format!("cannot read the calibration profile: {what}"))
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks profile text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let profile: Profile = toml::from_str(text).map_err(|e| {
            let message = e.message().lines().next().unwrap_or_default().trim().to_string();
            let location = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    format!("line {}: ", before.matches('\n').count() + 1)
                })
                .unwrap_or_default();
            profile_error(path, format!("not a calibration profile: {location}{message}"))
        })?;
        profile.validate(path)?;
        Ok(profile)
    }

    /// Checks the format tag, the efficiencies and the catalogue.
    pub fn validate(&self, path: &Path) -> Result<()> {
        if self.format != FORMAT {
            return Err(profile_error(
                path,
                format!("format: `{}` is not supported; expected `{FORMAT}`", self.format),
            ));
        }
        let s = &self.scaling;
        if s.basis != "measured" && s.basis != "assumed" {
            return Err(profile_error(
                path,
                format!("scaling.basis: `{}`; allowed \"measured\" or \"assumed\"", s.basis),
            ));
        }
        for (field, v) in
            [("scaling.flops_efficiency", s.flops_efficiency), ("scaling.bytes_efficiency", s.bytes_efficiency)]
        {
            if !(v > 0.0 && v <= 1.0) {
                return Err(profile_error(path, format!("{field}: {v} is out of range; allowed (0, 1]")));
            }
        }
        if self.gpus.is_empty() {
            return Err(profile_error(path, "gpus: the catalogue is empty; at least one GPU type is needed"));
        }
        for (i, g) in self.gpus.iter().enumerate() {
            let field = format!("gpus[{i}] ({})", g.name);
            if g.name.trim().is_empty() {
                return Err(profile_error(path, format!("{field}.name: empty")));
            }
            for (what, v) in [
                ("peak_bf16_dense_tflops", g.peak_bf16_dense_tflops),
                ("memory_tb_per_s", g.memory_tb_per_s),
                ("memory_gb", g.memory_gb),
            ] {
                if !(v > 0.0 && v.is_finite() && v < 1e6) {
                    return Err(profile_error(path, format!("{field}.{what}: {v} is out of range; allowed (0, 1e6)")));
                }
            }
            for (what, v) in [("flops_efficiency", g.flops_efficiency), ("bytes_efficiency", g.bytes_efficiency)] {
                if let Some(v) = v
                    && !(v > 0.0 && v <= 1.0)
                {
                    return Err(profile_error(path, format!("{field}.{what}: {v} is out of range; allowed (0, 1]")));
                }
            }
            if self.gpus[..i].iter().any(|o| o.name.eq_ignore_ascii_case(&g.name)) {
                return Err(profile_error(path, format!("{field}.name: listed twice")));
            }
        }
        if let Some(r) = &s.reference_gpu
            && self.gpu(r).is_err()
        {
            return Err(profile_error(path, format!("scaling.reference_gpu: `{r}` is not in [[gpus]]")));
        }
        Ok(())
    }

    /// The catalogue entry named `name` (case-insensitive).
    pub fn gpu(&self, name: &str) -> Result<&GpuType> {
        self.gpus.iter().find(|g| g.name.eq_ignore_ascii_case(name.trim())).ok_or_else(|| Error::UnknownGpu {
            name: name.to_string(),
            known: self.gpus.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Names of the catalogue's types.
    pub fn gpu_names(&self) -> Vec<&str> {
        self.gpus.iter().map(|g| g.name.as_str()).collect()
    }

    /// Achieved rates of one GPU of type `name`: peak × efficiency (the type's own
    /// efficiency where it has one, the profile-wide one otherwise).
    pub fn throughput(&self, name: &str) -> Result<Throughput> {
        let g = self.gpu(name)?;
        let flops_efficiency = g.flops_efficiency.unwrap_or(self.scaling.flops_efficiency);
        let bytes_efficiency = g.bytes_efficiency.unwrap_or(self.scaling.bytes_efficiency);
        Ok(Throughput {
            flops_per_s: g.peak_bf16_dense_tflops * 1e12 * flops_efficiency,
            bytes_per_s: g.memory_tb_per_s * 1e12 * bytes_efficiency,
        })
    }

    /// Seconds for one GPU of type `name` to do `flops` of training arithmetic and move
    /// `bytes` through memory (two roofline terms, added: no overlap is assumed).
    pub fn step_time_s(&self, name: &str, flops: f64, bytes: f64) -> Result<f64> {
        let t = self.throughput(name)?;
        Ok(flops.max(0.0) / t.flops_per_s + bytes.max(0.0) / t.bytes_per_s)
    }

    /// The profile as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| profile_error(Path::new("profile"), format!("cannot render: {e}")))
    }

    /// One line saying where the figures come from (for manifests and logs).
    pub fn origin(&self) -> String {
        match (&self.scaling.basis[..], &self.scaling.reference_gpu) {
            ("measured", Some(r)) => {
                format!("measured on {} ({r}), other GPU types scaled by peak ratios", self.measured.device_name)
            }
            _ => format!(
                "published GPU peaks × assumed efficiency {:.2} (no GPU measured; measured device: {} {})",
                self.scaling.flops_efficiency, self.measured.device_kind, self.measured.device_name
            ),
        }
    }

    /// Writes the profile to `path` atomically: a temporary file beside it, synced, renamed.
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        let text = self.to_toml()?;
        write_atomic(path, text.as_bytes())
    }
}

/// The catalogue type whose `matches` pattern is the longest substring of `device_name`.
pub fn match_gpu<'a>(catalogue: &'a [GpuType], device_name: &str) -> Option<&'a GpuType> {
    let lower = device_name.to_ascii_lowercase();
    catalogue
        .iter()
        .flat_map(|g| g.matches.iter().map(move |m| (m.len(), g, m)))
        .filter(|(_, _, m)| lower.contains(&m.to_ascii_lowercase()))
        .max_by_key(|(len, _, _)| *len)
        .map(|(_, g, _)| g)
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let io = |action: &'static str, p: &Path| {
        let p: PathBuf = p.to_path_buf();
        move |source| Error::Io { path: p, action, source }
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("cannot create the folder", &parent))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "profile".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io("cannot create", &tmp))?;
        file.write_all(bytes).map_err(io("cannot write", &tmp))?;
        file.sync_all().map_err(io("cannot write", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io("cannot rename into place", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_profile_loads_and_carries_the_builtin_catalogue() {
        let p = Profile::builtin_default().expect("default profile");
        assert_eq!(p.format, FORMAT);
        assert_eq!(p.gpus, builtin_catalogue(), "kernels/profiles/default.toml is out of date");
        if p.measured.device_kind == "cpu" {
            assert_eq!(p.scaling, assumed_scaling());
            assert!(p.note.contains("No GPU measurement is included yet"), "{}", p.note);
        }
        assert!(!p.measured.steps.is_empty() && !p.measured.gemms.is_empty(), "the profile records raw timings");
        for s in &p.measured.steps {
            assert_eq!(s.inner_times_s.len(), p.measured.samples);
        }
    }

    #[test]
    fn step_time_is_flops_over_peak_times_efficiency_plus_bytes_over_bandwidth() {
        let p = Profile::builtin_default().expect("default profile");
        let eff = p.scaling.flops_efficiency;
        let h100 = p.step_time_s("H100", 989e12, 0.0).expect("H100");
        assert!((h100 - 1.0 / eff).abs() < 1e-9);
        // Published peak ratios carry over: a B200 is 2250/989 times an H100 on arithmetic.
        let b200 = p.step_time_s("b200", 989e12, 0.0).expect("B200");
        assert!((h100 / b200 - 2250.0 / 989.0).abs() < 1e-9);
        let bytes = p.step_time_s("H200", 0.0, 4.8e12).expect("H200");
        assert!((bytes - 1.0 / p.scaling.bytes_efficiency).abs() < 1e-9);
        let e = p.step_time_s("V100", 1.0, 1.0).expect_err("unknown").to_string();
        assert!(e.starts_with("unknown GPU type `V100`; the profile knows: B200, H200"), "{e}");
    }

    #[test]
    fn a_type_of_its_own_efficiency_changes_only_that_type() {
        let mut p = Profile::builtin_default().expect("default profile");
        let before = (p.throughput("H100").expect("H100"), p.throughput("B200").expect("B200"));
        let h100 = p.gpus.iter_mut().find(|g| g.name == "H100").expect("H100 listed");
        h100.flops_efficiency = Some(p.scaling.flops_efficiency / 4.0);
        let after = (p.throughput("H100").expect("H100"), p.throughput("B200").expect("B200"));
        assert_eq!(after.0.flops_per_s, before.0.flops_per_s / 4.0);
        assert_eq!(after.0.bytes_per_s, before.0.bytes_per_s, "bytes keep the profile-wide figure");
        assert_eq!(after.1, before.1, "other types unchanged");
        let text = p.to_toml().expect("toml");
        assert!(text.contains("flops_efficiency = 0.1"), "the override is written");
        let bad = text.replace("flops_efficiency = 0.1\n", "flops_efficiency = 1.5\n");
        let e = Profile::parse(Path::new("p.toml"), &bad).expect_err("out of range");
        assert!(e.to_string().contains("gpus[2] (H100).flops_efficiency: 1.5"), "{e}");
    }

    #[test]
    fn device_names_match_the_longest_catalogue_pattern() {
        let c = builtin_catalogue();
        let name = |d: &str| match_gpu(&c, d).map(|g| g.name.clone());
        assert_eq!(name("NVIDIA H100 80GB HBM3").as_deref(), Some("H100"));
        assert_eq!(name("NVIDIA H100 PCIe").as_deref(), Some("H100 PCIe"));
        assert_eq!(name("NVIDIA H200").as_deref(), Some("H200"));
        assert_eq!(name("NVIDIA GeForce RTX 4090").as_deref(), Some("RTX 4090"));
        assert_eq!(name("NVIDIA B200").as_deref(), Some("B200"));
        assert_eq!(name("Tesla V100-SXM2-16GB"), None);
    }

    #[test]
    fn bad_profiles_are_refused_with_the_field_named() {
        let good = Profile::builtin_default().expect("default").to_toml().expect("toml");
        let path = Path::new("p.toml");
        let e =
            Profile::parse(path, &good.replace("taosim-calibration/1", "taosim-calibration/9")).expect_err("format");
        assert!(e.to_string().starts_with("p.toml: format: `taosim-calibration/9` is not supported"), "{e}");
        let bad = good.replacen("flops_efficiency = 0.4", "flops_efficiency = 1.5", 1);
        let e = Profile::parse(path, &bad).expect_err("efficiency").to_string();
        assert!(e.contains("scaling.flops_efficiency: 1.5 is out of range; allowed (0, 1]"), "{e}");
        let e = Profile::parse(path, "format = 3").expect_err("type").to_string();
        assert!(e.starts_with("p.toml: not a calibration profile: line 1: invalid type"), "{e}");
        let e = Profile::load(Path::new("/nonexistent/profile.toml")).expect_err("missing").to_string();
        assert!(e.ends_with("cannot read the calibration profile: no such file"), "{e}");
    }

    #[test]
    fn profiles_round_trip_and_are_written_atomically() {
        let p = Profile::builtin_default().expect("default");
        let dir = std::env::temp_dir().join(format!("taosim-profile-test-{}", std::process::id()));
        let path = dir.join("p.toml");
        p.write_atomic(&path).expect("write");
        assert_eq!(Profile::load(&path).expect("load"), p);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
