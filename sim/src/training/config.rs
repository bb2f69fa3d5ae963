//! The `[training]` table: a decentralised-training subnet as a scenario states it.
//!
//! Every field has a default (a small Templar-like subnet); `validate` names the field and the
//! allowed range of every problem. Defaults of the protocol fields are Templar's production
//! hparams (tplr-ai/templar `hparams/hparams.json`: `inner_steps` 30, `blocks_per_window` 125,
//! `time_window_delta_seconds` 70, `gather_peer_count` 20, `topk_compression` 64 of a 64 × 64
//! chunk, `quantization_bins` 4, `sequence_length` 2048, `batch_size` 192,
//! `power_normalisation` 2.0).

use crate::engine::MS_PER_BLOCK;
use crate::error::ScenarioError;
use crate::scenario::{from_table, parse_toml};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most rounds a run may have (bounds a mistyped value).
pub const MAX_ROUNDS: u64 = 100_000;
/// Most peers a run may have.
pub const MAX_PEERS: u64 = 10_000;

/// A decentralised-training subnet (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// What the configuration models.
    pub description: String,
    /// Rounds (windows) to simulate, 1 ..= 100,000.
    pub rounds: u64,
    /// Inner steps per round, H (`inner_steps`), 1 ..= 10,000.
    pub inner_steps: u64,
    /// Tokens per sequence (`sequence_length`).
    pub sequence_length: u64,
    /// Sequences per inner step and peer (`batch_size`).
    pub batch_sequences: u64,
    /// Chain blocks per round (`blocks_per_window`); a round lasts this × 12 s.
    pub window_blocks: u64,
    /// Seconds after the window's end within which uploads count (`time_window_delta_seconds`).
    pub put_window_s: f64,
    /// The model being trained.
    pub model: ModelSection,
    /// What a peer uploads.
    pub compression: CompressionSection,
    /// How validators score and select peers.
    pub validator: ValidatorSection,
    /// The object store through which peers exchange pseudo-gradients.
    pub store: StoreSection,
    /// Network regions.
    pub regions: Vec<RegionSection>,
    /// Groups of identical peers.
    pub fleets: Vec<FleetSection>,
}

/// The model being trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// Trainable parameters P.
    pub parameters: u64,
    /// Transformer layers L (for the attention FLOPs 12 L d s per token).
    pub layers: u64,
    /// Model width d.
    pub d_model: u64,
    /// MLP hidden width (documents the model; must be a multiple of 64 like `d_model`, as the
    /// 64 × 64 chunking of the weight matrices requires).
    pub d_ff: u64,
}

/// What a peer uploads: SparseLoCo's compressed pseudo-gradient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressionSection {
    /// Entries kept per 4096-entry chunk, 1 ..= 4096 (64: density 1.5625%).
    pub top_k: u64,
    /// Bits per kept index, 1 ..= 32 (12 addresses a 4096-entry chunk).
    pub index_bits: u64,
    /// Bits per kept value, 1 ..= 16 (2: four quantisation bins).
    pub value_bits: u64,
}

/// How validators score and select peers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatorSection {
    /// Peers whose pseudo-gradients the outer step aggregates, G (`gather_peer_count`).
    pub gather_peers: u64,
    /// Weight of the newest score in a peer's rating (exponential moving average), (0, 1].
    pub rating_alpha: f64,
    /// Exponent applied to ratings before normalising them into incentive
    /// (`power_normalisation`), 0.1 ..= 10.
    pub power: f64,
    /// Relative standard deviation of a validator's loss-improvement measurement, 0 ..= 1.
    pub score_noise: f64,
}

/// The object store (Templar uses Cloudflare R2 buckets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// The region the store sits in.
    pub region: String,
    /// Total bandwidth the store serves in each direction, Gbit/s.
    pub bandwidth_gbps: f64,
}

/// A network region: peers in it reach the store over a shared backbone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionSection {
    /// The region's name.
    pub name: String,
    /// Round-trip time between the region and the store, ms.
    pub rtt_ms: f64,
    /// Capacity of the region's path to the store, Gbit/s, shared by its peers.
    pub backbone_gbps: f64,
}

/// A group of identical peers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetSection {
    /// The fleet's name.
    pub name: String,
    /// Peers in the fleet, 1 ..= 10,000.
    pub peers: u64,
    /// GPU type (a name in the calibration profile's catalogue).
    pub gpu: String,
    /// GPUs per peer, 1 ..= 1,024.
    pub gpus_per_peer: u64,
    /// The region the peers sit in.
    pub region: String,
    /// Each peer's upload bandwidth, Gbit/s.
    pub uplink_gbps: f64,
    /// Each peer's download bandwidth, Gbit/s.
    pub downlink_gbps: f64,
    /// Contribution per token relative to an honest peer (1), 0 ..= 10; 0 models useless updates.
    pub quality: f64,
    /// Relative standard deviation of a round's step time (log-normal), 0 ..= 1.
    pub step_jitter: f64,
    /// Probability that a peer sits a round out, 0 ..= 1.
    pub offline_probability: f64,
    /// The peers' achieved fraction of their GPUs' dense BF16 peak, when the scenario states
    /// its own (a training stack the profile did not measure); absent: the calibration
    /// profile's figure for the GPU type. (0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flops_efficiency: Option<f64>,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            description: "A small Templar-like subnet: 6 peers of 8 H100 training a 1.2B model.".into(),
            rounds: 10,
            inner_steps: 30,
            sequence_length: 2048,
            batch_sequences: 192,
            window_blocks: 125,
            put_window_s: 70.0,
            model: ModelSection::default(),
            compression: CompressionSection::default(),
            validator: ValidatorSection::default(),
            store: StoreSection::default(),
            regions: vec![RegionSection::default()],
            fleets: vec![FleetSection::default()],
        }
    }
}

impl Default for ModelSection {
    fn default() -> Self {
        // Templar-I's 1.2B model (arXiv 2505.21684) in LLaMA proportions.
        Self { parameters: 1_200_000_000, layers: 16, d_model: 2048, d_ff: 8192 }
    }
}

impl Default for CompressionSection {
    fn default() -> Self {
        Self { top_k: 64, index_bits: 12, value_bits: 2 }
    }
}

impl Default for ValidatorSection {
    fn default() -> Self {
        Self { gather_peers: 20, rating_alpha: 0.3, power: 2.0, score_noise: 0.05 }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        Self { region: "us".into(), bandwidth_gbps: 1000.0 }
    }
}

impl Default for RegionSection {
    fn default() -> Self {
        Self { name: "us".into(), rtt_ms: 20.0, backbone_gbps: 400.0 }
    }
}

impl Default for FleetSection {
    fn default() -> Self {
        Self {
            name: "h100".into(),
            peers: 6,
            gpu: "H100".into(),
            gpus_per_peer: 8,
            region: "us".into(),
            uplink_gbps: 5.0,
            downlink_gbps: 5.0,
            quality: 1.0,
            step_jitter: 0.02,
            offline_probability: 0.0,
            flops_efficiency: None,
        }
    }
}

/// Collects range errors for one source.
struct Checker<'a> {
    source_name: &'a str,
    errors: Vec<ScenarioError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &str, message: String) {
        self.errors.push(ScenarioError::new(self.source_name, format!("training.{field}"), message));
    }

    fn int(&mut self, field: &str, value: u64, lo: u64, hi: u64) {
        if value < lo || value > hi {
            self.fail(field, format!("{value} is out of range; allowed {lo} ..= {hi}"));
        }
    }

    fn real(&mut self, field: &str, value: f64, lo: f64, hi: f64, lo_open: bool) {
        let above = if lo_open { value > lo } else { value >= lo };
        if !(value.is_finite() && above && value <= hi) {
            let open = if lo_open { "(" } else { "[" };
            self.fail(field, format!("{value} is out of range; allowed {open}{lo}, {hi}]"));
        }
    }

    fn name(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty".into());
        }
    }
}

impl TrainingConfig {
    /// Checks every range; the errors name the source, the field and what is allowed.
    pub fn validate(&self, source_name: &str) -> Result<(), Vec<ScenarioError>> {
        let mut c = Checker { source_name, errors: Vec::new() };
        c.int("rounds", self.rounds, 1, MAX_ROUNDS);
        c.int("inner_steps", self.inner_steps, 1, 10_000);
        c.int("sequence_length", self.sequence_length, 1, 1 << 20);
        c.int("batch_sequences", self.batch_sequences, 1, 1 << 20);
        c.int("window_blocks", self.window_blocks, 1, 100_000);
        c.real("put_window_s", self.put_window_s, 0.0, 86_400.0, false);
        let m = &self.model;
        c.int("model.parameters", m.parameters, 4096, 100_000_000_000_000);
        c.int("model.layers", m.layers, 1, 10_000);
        c.int("model.d_model", m.d_model, 64, 1 << 20);
        c.int("model.d_ff", m.d_ff, 64, 1 << 22);
        for (field, v) in [("model.d_model", m.d_model), ("model.d_ff", m.d_ff)] {
            if !v.is_multiple_of(64) {
                c.fail(field, format!("{v} is not a multiple of 64 (the 64 × 64 chunk side)"));
            }
        }
        let z = &self.compression;
        c.int("compression.top_k", z.top_k, 1, 4096);
        c.int("compression.index_bits", z.index_bits, 1, 32);
        c.int("compression.value_bits", z.value_bits, 1, 16);
        let v = &self.validator;
        c.int("validator.gather_peers", v.gather_peers, 1, MAX_PEERS);
        c.real("validator.rating_alpha", v.rating_alpha, 0.0, 1.0, true);
        c.real("validator.power", v.power, 0.1, 10.0, false);
        c.real("validator.score_noise", v.score_noise, 0.0, 1.0, false);
        c.name("store.region", &self.store.region);
        c.real("store.bandwidth_gbps", self.store.bandwidth_gbps, 0.0, 1e6, true);
        if self.regions.is_empty() {
            c.fail("regions", "at least one region is needed".into());
        }
        for (i, r) in self.regions.iter().enumerate() {
            c.name(&format!("regions[{i}].name"), &r.name);
            c.real(&format!("regions[{i}].rtt_ms"), r.rtt_ms, 0.0, 10_000.0, false);
            c.real(&format!("regions[{i}].backbone_gbps"), r.backbone_gbps, 0.0, 1e6, true);
            if self.regions[..i].iter().any(|o| o.name == r.name) {
                c.fail(&format!("regions[{i}].name"), format!("`{}` is listed twice", r.name));
            }
        }
        if !self.regions.iter().any(|r| r.name == self.store.region) {
            c.fail("store.region", format!("`{}` is not one of the [[training.regions]]", self.store.region));
        }
        if self.fleets.is_empty() {
            c.fail("fleets", "at least one fleet is needed".into());
        }
        let mut peers = 0u64;
        for (i, f) in self.fleets.iter().enumerate() {
            let at = |field: &str| format!("fleets[{i}].{field}");
            c.name(&at("name"), &f.name);
            c.int(&at("peers"), f.peers, 1, MAX_PEERS);
            c.name(&at("gpu"), &f.gpu);
            c.int(&at("gpus_per_peer"), f.gpus_per_peer, 1, 1024);
            if !self.regions.iter().any(|r| r.name == f.region) {
                c.fail(&at("region"), format!("`{}` is not one of the [[training.regions]]", f.region));
            }
            c.real(&at("uplink_gbps"), f.uplink_gbps, 0.0, 1e5, true);
            c.real(&at("downlink_gbps"), f.downlink_gbps, 0.0, 1e5, true);
            c.real(&at("quality"), f.quality, 0.0, 10.0, false);
            c.real(&at("step_jitter"), f.step_jitter, 0.0, 1.0, false);
            c.real(&at("offline_probability"), f.offline_probability, 0.0, 1.0, false);
            if let Some(e) = f.flops_efficiency {
                c.real(&at("flops_efficiency"), e, 0.0, 1.0, true);
            }
            peers = peers.saturating_add(f.peers);
        }
        if peers > MAX_PEERS {
            c.fail("fleets", format!("{peers} peers in all; allowed at most {MAX_PEERS}"));
        }
        if c.errors.is_empty() { Ok(()) } else { Err(c.errors) }
    }

    /// A round's length in milliseconds (`window_blocks` × 12 s).
    pub fn window_ms(&self) -> u64 {
        self.window_blocks.saturating_mul(MS_PER_BLOCK)
    }

    /// Tokens one peer processes per inner step.
    pub fn tokens_per_step(&self) -> u64 {
        self.sequence_length.saturating_mul(self.batch_sequences)
    }

    /// Training FLOPs per token: 6 P for the parameters' GEMMs plus 12 L d s for attention
    /// scores and values (the model-FLOPs count of the PaLM paper, appendix B).
    pub fn flops_per_token(&self) -> f64 {
        let m = &self.model;
        6.0 * m.parameters as f64 + 12.0 * m.layers as f64 * m.d_model as f64 * self.sequence_length as f64
    }

    /// Bytes of one peer's compressed pseudo-gradient on the wire (see
    /// [`kernels::sparseloco::payload_bytes`]; the quantiser header is counted once, a
    /// simplification of Templar's one header per parameter tensor).
    pub fn payload_bytes(&self) -> u64 {
        let z = &self.compression;
        kernels::sparseloco::payload_bytes(self.model.parameters, z.top_k, z.index_bits, z.value_bits)
    }

    /// The number of peers over all fleets.
    pub fn peer_count(&self) -> u64 {
        self.fleets.iter().map(|f| f.peers).sum()
    }
}

/// Loads the `[training]` table of a TOML file (other tables are ignored) and validates it.
///
/// Until the main scenario has a `training` section this is how a scenario file's training
/// table is read; errors name the file and the dotted field (`training.fleets[0].peers`).
pub fn load_training_table(path: &Path) -> Result<TrainingConfig, Vec<ScenarioError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound { "no such file".to_string() } else { e.to_string() };
        vec![ScenarioError::new(&name, "", format!("cannot read the scenario: {what}"))]
    })?;
    parse_training_table(&name, &text)
}

/// Parses the `[training]` table of TOML text named `name` and validates it.
pub fn parse_training_table(name: &str, text: &str) -> Result<TrainingConfig, Vec<ScenarioError>> {
    let mut table = parse_toml(name, text).map_err(|e| vec![e])?;
    let training = match table.remove("training") {
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(vec![ScenarioError::new(name, "training", "must be a table ([training])")]),
        None => return Err(vec![ScenarioError::new(name, "training", "no [training] table in this file")]),
    };
    let config: TrainingConfig = from_table(name, training).map_err(|mut e| {
        e.field = if e.field.is_empty() { "training".into() } else { format!("training.{}", e.field) };
        vec![e]
    })?;
    config.validate(name)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(text: &str) -> String {
        parse_training_table("t.toml", text).expect_err("should fail")[0].to_string()
    }

    #[test]
    fn the_defaults_are_valid_and_an_empty_table_gives_them() {
        assert!(TrainingConfig::default().validate("x").is_ok());
        assert_eq!(parse_training_table("t.toml", "[training]\n").expect("valid"), TrainingConfig::default());
    }

    #[test]
    fn errors_name_the_file_the_field_and_what_is_allowed() {
        assert_eq!(
            first_error("[training]\nrounds = 0\n"),
            "t.toml: training.rounds: 0 is out of range; allowed 1 ..= 100000"
        );
        let e = first_error("[training]\nroundz = 3\n");
        assert!(e.starts_with("t.toml: training.roundz: unknown field `roundz`"), "{e}");
        let e = first_error("[[training.fleets]]\npeers = 2\nuplink_gbps = -1.0\n");
        assert_eq!(e, "t.toml: training.fleets[0].uplink_gbps: -1 is out of range; allowed (0, 100000]");
        let e = first_error("[[training.fleets]]\nregion = \"mars\"\n");
        assert_eq!(e, "t.toml: training.fleets[0].region: `mars` is not one of the [[training.regions]]");
        let e = first_error("[training.model]\nd_model = 100\n");
        assert_eq!(e, "t.toml: training.model.d_model: 100 is not a multiple of 64 (the 64 × 64 chunk side)");
        let e = first_error("[training.validator]\nrating_alpha = 0.0\n");
        assert_eq!(e, "t.toml: training.validator.rating_alpha: 0 is out of range; allowed (0, 1]");
        assert_eq!(first_error("name = \"x\"\n"), "t.toml: training: no [training] table in this file");
        let e = first_error("[training]\nrounds = \"ten\"\n");
        assert!(e.starts_with("t.toml: training.rounds: invalid type: string"), "{e}");
    }

    #[test]
    fn derived_figures_follow_the_formulas() {
        let c = TrainingConfig::default();
        assert_eq!(c.window_ms(), 125 * 12_000);
        assert_eq!(c.tokens_per_step(), 2048 * 192);
        let attention = 12.0 * 16.0 * 2048.0 * 2048.0;
        assert_eq!(c.flops_per_token(), 6.0 * 1.2e9 + attention);
        // 1.2B / 4096 chunks of 112 bytes (64 × 14 bits) plus the quantiser header.
        assert_eq!(c.payload_bytes(), 1_200_000_000u64.div_ceil(4096) * 112 + 24);
    }
}
