//! The scenario's `[participants]` section and its `[[events]]`: who acts, how, and what hits
//! them when. Plain data with defaults; [`ParticipantsSection::problems`] and
//! [`EventSpec::problems`] check every range and name the field.

use crate::economy::agents::holder::HolderPolicy;
use crate::economy::agents::miner::SellPolicy;
use crate::economy::agents::speculator::SpeculatorPolicy;
use crate::engine::time::BLOCKS_PER_DAY;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Participants: miners, validators, holders and how often they decide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParticipantsSection {
    /// Whether participants act at all (false: the chain alone).
    pub enabled: bool,
    /// Blocks between participants' decisions (selling, entry, exit, holders, the market
    /// step): 7200 = daily. 100 ..= 1,000,000.
    pub decision_every_blocks: u64,
    /// Blocks between validators' weight settings; at least the chain's `WeightsSetRateLimit`
    /// (100). 100 ..= 1,000,000.
    pub weights_every_blocks: u64,
    /// Miners.
    pub miners: MinersSection,
    /// Validators.
    pub validators: ValidatorsSection,
    /// Holders and stakers.
    pub holders: HoldersSection,
    /// Alpha speculators (none unless asked for).
    pub speculators: SpeculatorsSection,
}

/// One GPU type miners can own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuOffer {
    /// The calibration profile's name for it (`"H100"`).
    pub name: String,
    /// What an hour of one costs, in USD (rental or capex + power amortised). Absent: the
    /// reference rent of [`crate::economy::gpus::RENTS`] (`economy-calibration.md` §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_gpu_hour: Option<f64>,
    /// Relative frequency among miners' fleets (normalised over the list).
    pub share: f64,
}

/// Miners.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MinersSection {
    /// How miners convert rewards: `{ policy = "cover_costs" }`, `{ policy = "fraction",
    /// fraction = 0.5 }` or `{ policy = "hold" }`.
    pub sell: SellPolicy,
    /// A miner leaves after this many losing decisions in a row. 1 ..= 10,000.
    pub patience_days: u32,
    /// Registering must pay back its burn within this many days. 1 ..= 10,000.
    pub payback_days: f64,
    /// Quality grows as compute^elasticity. 0 ..= 2.
    pub quality_elasticity: f64,
    /// Standard deviation of the log-normal noise of a miner's quality. 0 ..= 5.
    pub quality_noise_sd: f64,
    /// Would-be miners waiting outside the network. 0 ..= 1,000,000.
    pub candidates: u32,
    /// Chance that a waiting candidate considers entering at a decision. 0 ..= 1.
    pub entry_probability: f64,
    /// Days an exited miner waits before it may come back. 0 ..= 10,000.
    pub reentry_days: f64,
    /// Standard deviation of the log of a GPU kind's affinity for a subnet's task (each
    /// subnet runs its own task, so a card does not rank the same everywhere). 0 ..= 3.
    pub task_affinity_sd: f64,
    /// Subnets one miner may mine at once (its compute splits over them). 1 ..= 128.
    pub max_subnets: u16,
    /// GPUs per miner, drawn uniformly between these. 1 ..= 100,000.
    pub gpus_min: u32,
    /// See `gpus_min`.
    pub gpus_max: u32,
    /// GPU types and their costs.
    pub gpu_types: Vec<GpuOffer>,
    /// What subnets ask of miners' GPUs: a miner's quality follows its GPUs' throughput on
    /// its subnet's task (see [`crate::economy::gpus`]).
    pub tasks: TasksSection,
}

/// Subnets' tasks and the model sizes that turn a GPU kind's profile figures into throughput.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TasksSection {
    /// Chance that a subnet's task is training (drawn once per subnet); the others serve
    /// inference. 0 ..= 1.
    pub training_share: f64,
    /// Subnets whose task is training whatever the draw (a training subnet such as Templar).
    pub training_netuids: Vec<u16>,
    /// Parameters of the model training subnets train. 1e6 ..= 1e13.
    pub training_parameters: f64,
    /// Its layers. 1 ..= 1000.
    pub training_layers: u32,
    /// Its model width. 1 ..= 100,000.
    pub training_d_model: u32,
    /// Its training sequence length, tokens. 1 ..= 1,000,000.
    pub sequence_length: u32,
    /// Parameters of the model inference subnets serve (bf16 weights). 1e6 ..= 1e13.
    pub inference_parameters: f64,
    /// Sequences decoded together. 1 ..= 100,000.
    pub inference_batch: u32,
}

impl Default for TasksSection {
    /// Half the subnets train, half serve; both an 8B LLaMA-like model (32 layers, d 4096,
    /// sequence 2048), served at batch 16 (a latency-bound serving batch).
    fn default() -> Self {
        Self {
            training_share: 0.5,
            training_netuids: Vec::new(),
            training_parameters: 8e9,
            training_layers: 32,
            training_d_model: 4096,
            sequence_length: 2048,
            inference_parameters: 8e9,
            inference_batch: 16,
        }
    }
}

/// Validators: the starting network's validators get policies by these fractions (in UID
/// order: honest first, then lazy, then copiers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatorsSection {
    /// Standard deviation of honest validators' log evaluation noise. 0 ..= 5.
    pub honest_noise_sd: f64,
    /// Fraction of validators that are lazy. 0 ..= 1.
    pub lazy_fraction: f64,
    /// Weight settings between a lazy validator's evaluations. 1 ..= 10,000.
    pub lazy_refresh: u32,
    /// Fraction of validators that copy the visible consensus. 0 ..= 1 (with lazy ≤ 1).
    pub copier_fraction: f64,
    /// Commit-reveal delay in epochs: a copier sees the consensus of this many epochs ago
    /// (0: off, it sees the last one). 0 ..= 64.
    pub commit_reveal_epochs: u32,
    /// Each validator's delegate take is drawn uniformly between `take_min` and `take_max`
    /// (fractions, 0 ..= 0.18, the chain's cap); delegators prefer lower takes.
    pub take_min: f64,
    /// See `take_min`.
    pub take_max: f64,
    /// Fraction of a validator's own dividends (its stake's growth) it unstakes and sells at
    /// each decision. 0 ..= 1.
    pub sell_fraction: f64,
}

/// Holders and stakers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoldersSection {
    /// Number of holders. 0 ..= 1,000,000.
    pub count: u32,
    /// TAO each holder stakes at the start. 0 ..= 1e7.
    pub tao_each: f64,
    /// Fraction of holders who never sell (long-term holders). 0 ..= 1.
    pub long_term_fraction: f64,
    /// Fraction of holders who stake on root (netuid 0: TAO, no alpha price risk, root
    /// dividends) instead of a subnet; they choose a validator by root stake and take, and
    /// panic on TAO/USD alone. 0 ..= 1.
    pub root_fraction: f64,
    /// Holders make their first stake on a day drawn uniformly in 0 ..= entry_days (0: all at
    /// the first decision), so a network's holders do not all buy alpha on the same day.
    /// 0 ..= 10,000.
    pub entry_days: f64,
    /// Where they stake and when they panic.
    pub policy: HolderPolicy,
    /// Look-back of the momentum signal, in decisions. 1 ..= 1000.
    pub momentum_days: u32,
    /// Days a holder who panicked waits before buying back in. 0 ..= 10,000.
    pub reentry_days: f64,
}

/// Alpha speculators: traders who value each subnet's alpha by its TAO emission and trade
/// the pools toward that value (see [`crate::economy::agents::speculator`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeculatorsSection {
    /// Number of speculators. 0 ..= 10,000.
    pub count: u32,
    /// TAO each starts with (from the world account). 0 ..= 1e7.
    pub tao_each: f64,
    /// Share of every subnet's staked alpha the speculators hold at the start, taken from the
    /// own stake of the subnet's largest validator. 0 ..= 0.5.
    pub genesis_alpha_share: f64,
    /// How they value alpha and how fast they trade.
    pub policy: SpeculatorPolicy,
}

impl Default for SpeculatorsSection {
    fn default() -> Self {
        Self { count: 0, tao_each: 10_000.0, genesis_alpha_share: 0.1, policy: SpeculatorPolicy::default() }
    }
}

impl Default for ParticipantsSection {
    fn default() -> Self {
        Self {
            enabled: true,
            decision_every_blocks: BLOCKS_PER_DAY,
            weights_every_blocks: 360,
            miners: MinersSection::default(),
            validators: ValidatorsSection::default(),
            holders: HoldersSection::default(),
            speculators: SpeculatorsSection::default(),
        }
    }
}

/// The default GPU catalogue with USD per GPU-hour: public on-demand cloud rates of 2025
/// (Lambda, RunPod, CoreWeave list prices, rounded): H100 SXM ~$2.5, H200 ~$3.5, B200 ~$5,
/// A100 80GB ~$1.3, RTX 4090 ~$0.4. They stand for rental or amortised capex + power; a study
/// should set its own.
pub fn default_gpu_types() -> Vec<GpuOffer> {
    let offer = |name: &str, usd: f64, share: f64| GpuOffer { name: name.into(), usd_per_gpu_hour: Some(usd), share };
    vec![
        offer("H100", 2.5, 0.35),
        offer("H200", 3.5, 0.15),
        offer("B200", 5.0, 0.1),
        offer("A100", 1.3, 0.25),
        offer("RTX 4090", 0.4, 0.15),
    ]
}

impl Default for MinersSection {
    fn default() -> Self {
        Self {
            sell: SellPolicy::CoverCostsPlus { fraction: 0.3 },
            patience_days: 5,
            payback_days: 30.0,
            quality_elasticity: 0.5,
            quality_noise_sd: 0.2,
            candidates: 8,
            entry_probability: 0.3,
            reentry_days: 10.0,
            task_affinity_sd: 0.3,
            max_subnets: 1,
            gpus_min: 1,
            gpus_max: 8,
            gpu_types: default_gpu_types(),
            tasks: TasksSection::default(),
        }
    }
}

impl Default for ValidatorsSection {
    fn default() -> Self {
        Self {
            honest_noise_sd: 0.1,
            lazy_fraction: 0.25,
            lazy_refresh: 5,
            copier_fraction: 0.0,
            commit_reveal_epochs: 0,
            take_min: 0.09,
            take_max: 0.18,
            sell_fraction: 0.3,
        }
    }
}

impl Default for HoldersSection {
    fn default() -> Self {
        Self {
            count: 16,
            tao_each: 2_000.0,
            long_term_fraction: 0.25,
            root_fraction: 0.0,
            entry_days: 0.0,
            policy: HolderPolicy::default(),
            momentum_days: 7,
            reentry_days: 7.0,
        }
    }
}

fn check(out: &mut Vec<(String, String)>, field: &str, v: f64, lo: f64, hi: f64) {
    out.extend(crate::error::out_of_range(v, lo, hi).map(|m| (field.to_string(), m)));
}

impl ParticipantsSection {
    /// Range problems as (field under `participants.`, message); empty when valid.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let c = &mut out;
        check(c, "decision_every_blocks", self.decision_every_blocks as f64, 100.0, 1e6);
        check(c, "weights_every_blocks", self.weights_every_blocks as f64, 100.0, 1e6);
        let m = &self.miners;
        match m.sell {
            SellPolicy::Fraction { fraction } | SellPolicy::CoverCostsPlus { fraction } => {
                check(c, "miners.sell.fraction", fraction, 0.0, 1.0)
            }
            SellPolicy::CoverCosts | SellPolicy::Hold => {}
        }
        check(c, "miners.patience_days", f64::from(m.patience_days), 1.0, 1e4);
        check(c, "miners.payback_days", m.payback_days, 1.0, 1e4);
        check(c, "miners.quality_elasticity", m.quality_elasticity, 0.0, 2.0);
        check(c, "miners.quality_noise_sd", m.quality_noise_sd, 0.0, 5.0);
        check(c, "miners.candidates", f64::from(m.candidates), 0.0, 1e6);
        check(c, "miners.entry_probability", m.entry_probability, 0.0, 1.0);
        check(c, "miners.reentry_days", m.reentry_days, 0.0, 1e4);
        check(c, "miners.task_affinity_sd", m.task_affinity_sd, 0.0, 3.0);
        check(c, "miners.max_subnets", f64::from(m.max_subnets), 1.0, 128.0);
        check(c, "miners.gpus_min", f64::from(m.gpus_min), 1.0, 1e5);
        check(c, "miners.gpus_max", f64::from(m.gpus_max), f64::from(m.gpus_min.max(1)), 1e5);
        if m.gpu_types.is_empty() {
            c.push(("miners.gpu_types".into(), "empty; name at least one GPU type".into()));
        }
        for (i, g) in m.gpu_types.iter().enumerate() {
            match g.usd_per_gpu_hour {
                Some(usd) => check(c, &format!("miners.gpu_types[{i}].usd_per_gpu_hour"), usd, 0.0, 1e4),
                None if crate::economy::gpus::reference_rent_usd_per_hour(&g.name).is_none() => c.push((
                    format!("miners.gpu_types[{i}].usd_per_gpu_hour"),
                    format!("missing, and `{}` has no reference rent; give one", g.name),
                )),
                None => {}
            }
            check(c, &format!("miners.gpu_types[{i}].share"), g.share, 0.0, 1e6);
        }
        if !m.gpu_types.is_empty() && m.gpu_types.iter().map(|g| g.share).sum::<f64>() <= 0.0 {
            c.push(("miners.gpu_types".into(), "the shares sum to 0; at least one must be positive".into()));
        }
        let t = &m.tasks;
        check(c, "miners.tasks.training_share", t.training_share, 0.0, 1.0);
        check(c, "miners.tasks.training_parameters", t.training_parameters, 1e6, 1e13);
        check(c, "miners.tasks.training_layers", f64::from(t.training_layers), 1.0, 1e3);
        check(c, "miners.tasks.training_d_model", f64::from(t.training_d_model), 1.0, 1e5);
        check(c, "miners.tasks.sequence_length", f64::from(t.sequence_length), 1.0, 1e6);
        check(c, "miners.tasks.inference_parameters", t.inference_parameters, 1e6, 1e13);
        check(c, "miners.tasks.inference_batch", f64::from(t.inference_batch), 1.0, 1e5);
        let v = &self.validators;
        check(c, "validators.honest_noise_sd", v.honest_noise_sd, 0.0, 5.0);
        check(c, "validators.lazy_fraction", v.lazy_fraction, 0.0, 1.0);
        check(c, "validators.lazy_refresh", f64::from(v.lazy_refresh), 1.0, 1e4);
        check(c, "validators.copier_fraction", v.copier_fraction, 0.0, 1.0 - v.lazy_fraction.clamp(0.0, 1.0));
        check(c, "validators.commit_reveal_epochs", f64::from(v.commit_reveal_epochs), 0.0, 64.0);
        check(c, "validators.take_min", v.take_min, 0.0, 0.18);
        check(c, "validators.take_max", v.take_max, v.take_min.clamp(0.0, 0.18), 0.18);
        check(c, "validators.sell_fraction", v.sell_fraction, 0.0, 1.0);
        let h = &self.holders;
        check(c, "holders.count", f64::from(h.count), 0.0, 1e6);
        check(c, "holders.tao_each", h.tao_each, 0.0, 1e7);
        check(c, "holders.long_term_fraction", h.long_term_fraction, 0.0, 1.0);
        check(c, "holders.root_fraction", h.root_fraction, 0.0, 1.0);
        check(c, "holders.entry_days", h.entry_days, 0.0, 1e4);
        check(c, "holders.policy.yield_weight", h.policy.yield_weight, -1e6, 1e6);
        check(c, "holders.policy.momentum_weight", h.policy.momentum_weight, -1e6, 1e6);
        check(c, "holders.policy.panic_drawdown", h.policy.panic_drawdown, 0.0, 1.0);
        check(c, "holders.policy.panic_spread", h.policy.panic_spread, 0.0, 3.0);
        check(c, "holders.policy.horizon_days", h.policy.horizon_days, 1.0, 1e4);
        check(c, "holders.policy.exit_days_max", f64::from(h.policy.exit_days_max), 1.0, 365.0);
        check(c, "holders.policy.taste_sd", h.policy.taste_sd, 0.0, 100.0);
        check(c, "holders.policy.review_days", h.policy.review_days, 1.0, 1e4);
        check(c, "holders.policy.inertia", h.policy.inertia, 0.0, 100.0);
        check(c, "holders.momentum_days", f64::from(h.momentum_days), 1.0, 1000.0);
        check(c, "holders.reentry_days", h.reentry_days, 0.0, 1e4);
        let s = &self.speculators;
        check(c, "speculators.count", f64::from(s.count), 0.0, 1e4);
        check(c, "speculators.tao_each", s.tao_each, 0.0, 1e7);
        check(c, "speculators.genesis_alpha_share", s.genesis_alpha_share, 0.0, 0.5);
        check(c, "speculators.policy.value_days", s.policy.value_days, 0.0, 1e6);
        check(c, "speculators.policy.belief_sd", s.policy.belief_sd, 0.0, 3.0);
        check(c, "speculators.policy.band", s.policy.band, 0.0, 5.0);
        check(c, "speculators.policy.reversion_per_day", s.policy.reversion_per_day, 0.0, 1.0);
        check(c, "speculators.policy.news_daily_sd", s.policy.news_daily_sd, 0.0, 1.0);
        check(c, "speculators.policy.news_half_life_days", s.policy.news_half_life_days, 0.1, 1e4);
        out
    }
}

/// When a scenario event happens: a block, a day of the run, or a calendar date (which needs
/// `run.start_date`).
#[derive(Clone, Debug, PartialEq)]
pub enum At {
    /// This block.
    Block(u64),
    /// This many days after the start (rounded to the nearest block).
    Day(f64),
    /// This date (`YYYY-MM-DD`), counted from `run.start_date` at midnight.
    Date(String),
}

impl At {
    /// Parses `"10d"` (days) or `"2026-03-01"` (a date).
    pub fn parse(text: &str) -> Result<At, String> {
        let t = text.trim();
        if let Some(days) = t.strip_suffix('d') {
            return days
                .trim()
                .parse::<f64>()
                .map(At::Day)
                .map_err(|_| format!("`{text}` is not a time; expected a block (72000), days (\"10d\") or a date"));
        }
        if civil_days(t).is_some() {
            return Ok(At::Date(t.to_string()));
        }
        Err(format!("`{text}` is not a time; expected a block (72000), days (\"10d\") or a date (\"2026-03-01\")"))
    }

    /// The block of this time, given the run's start date.
    pub fn block(&self, start_date: Option<&str>) -> Result<u64, String> {
        match self {
            At::Block(b) => Ok(*b),
            At::Day(d) => {
                if !(d.is_finite() && *d >= 0.0 && *d <= 36_500.0) {
                    return Err(format!("{d} days is out of range; allowed 0 ..= 36500"));
                }
                Ok(libm::round(d * BLOCKS_PER_DAY as f64) as u64)
            }
            At::Date(date) => {
                let Some(start) = start_date else {
                    return Err(format!("the date {date} needs run.start_date (\"YYYY-MM-DD\")"));
                };
                let (Some(s), Some(e)) = (civil_days(start), civil_days(date)) else {
                    return Err(format!("`{date}` or run.start_date `{start}` is not a date YYYY-MM-DD"));
                };
                if e < s {
                    return Err(format!("{date} is before run.start_date {start}"));
                }
                Ok((e - s) as u64 * BLOCKS_PER_DAY)
            }
        }
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian), or `None`.
pub fn civil_days(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return None };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Block(b) => write!(f, "{b}"),
            At::Day(d) => write!(f, "{d}d"),
            At::Date(s) => f.write_str(s),
        }
    }
}

impl Serialize for At {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            At::Block(b) => s.serialize_u64(*b),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = At;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a block (72000), days (\"10d\") or a date (\"2026-03-01\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<At, E> {
                u64::try_from(v).map(At::Block).map_err(|_| E::custom(format!("block {v} is negative")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<At, E> {
                Ok(At::Block(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<At, E> {
                At::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// What a scenario event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A forced halving: the base emission is halved (for a study; natural halvings follow
    /// issuance and need no event).
    Halving,
    /// Exchange depth times `factor` for `days`.
    DepthCut,
    /// TAO/USD times `factor` at once.
    PriceJump,
    /// No TAO can be sold for USD for `days`.
    OffRampFreeze,
    /// Every staker on `netuid` (the owner excepted) unstakes `fraction` and sells it.
    MassUnstake,
    /// An attacker buys `stake_share` of `netuid`'s stake for a cabal validator that weights
    /// only its `count` own (GPU-less) miners.
    Cabal,
    /// `count` validators (the last in UID order) turn into weight copiers.
    WeightCopiers,
    /// An attacker buys alpha on `netuid` in steps of `step_tao` until it holds the top
    /// validator permit (or has spent `max_tao`).
    Takeover,
    /// An attacker registers `count` GPU-less miners on `netuid`.
    Sybil,
    /// `netuid`'s owner registers `count` GPU-less miners under other coldkeys and weights
    /// them from its own hotkey.
    OwnerSelfMining,
    /// A large holder (named `holder`, optional) liquidates `amount_tao` TAO through the venue,
    /// evenly over `over` (a TWAP, e.g. "1d" or "6h").
    SellTao,
    /// A large buyer (named `holder`, optional) buys `amount_tao` TAO worth of USD at the
    /// price when it starts, evenly over `over`.
    BuyTao,
    /// A proposal to `change` a chain parameter or a subnet's emission to `value`, decided by
    /// the scenario's governance model with honest validators voting `validators_vote`,
    /// subnet owners `owners_vote`, `triumvirate_ayes` triumvirs and `signatures` multisig
    /// signers in favour; attackers' seats vote aye.
    Proposal,
    /// The sudo key disables `netuid`'s emission (its share 0, the others renormalised), for
    /// `days` when given.
    HaltEmission,
    /// An attacker buys root stake with `[attacker]`'s budget to win senate or collective
    /// seats, and `days` later votes for a harmful proposal (`change`, `value`, ...).
    SeatCapture,
    /// An attacker buys alpha on `netuid` with `[attacker]`'s budget and locks it
    /// (`perpetual`, default true) to become the conviction leader and take ownership; then,
    /// with `count`, acts as a hostile owner.
    ConvictionTakeover,
    /// `netuid`'s owner turns hostile: weights only its `count` own GPU-less miners.
    HostileOwner,
}

/// What a proposal changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// `TaoWeight` (value: the fraction, 0 ..= 1).
    TaoWeight,
    /// A subnet's emission on (value 1) or off (value 0); needs `netuid`.
    Emission,
    /// `SubnetOwnerCut` (value: the fraction, 0 ..= 1).
    SubnetOwnerCut,
}

/// How a class of voters votes on a proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    /// In favour.
    Aye,
    /// Against (the default: honest voters oppose a harmful proposal).
    #[default]
    Nay,
    /// No vote.
    Abstain,
}

/// Days in a duration written `"6h"`, `"1d"` or `"30m"`, or why it is not one.
pub fn duration_days(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a duration: expected e.g. \"1d\", \"6h\" or \"30m\"");
    let (num, per_day) = if let Some(n) = t.strip_suffix('d') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 24.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 1440.0)
    } else {
        return Err(bad());
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !(v.is_finite() && v >= 0.0 && v / per_day <= 36_500.0) {
        return Err(format!("`{text}` is out of range; allowed 0 ..= 36500 days"));
    }
    Ok(v / per_day)
}

/// Fields a proposal takes (the first seven), and a seat capture (all).
const PROPOSAL_FIELDS: [&str; 8] =
    ["change", "value", "netuid", "validators_vote", "owners_vote", "triumvirate_ayes", "signatures", "days"];

/// One `[[events]]` entry. Which fields an event needs depends on its kind (see
/// [`EventKind`]); the others must be left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When it happens.
    pub at: At,
    /// What happens.
    pub kind: EventKind,
    /// Multiplier (depth cut, price jump). 1e-6 ..= 1e6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Duration in days (depth cut, off-ramp freeze). 0 ..= 36500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<f64>,
    /// The subnet concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netuid: Option<u16>,
    /// Fraction of stake (mass unstake). 0 ..= 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Target share of the subnet's stake (cabal). 0 ..= 0.99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake_share: Option<f64>,
    /// How many (miners, validators). 0 ..= 4096.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// TAO per purchase step (takeover). > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_tao: Option<f64>,
    /// Most TAO the attacker spends (takeover). > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tao: Option<f64>,
    /// TAO to sell or buy (sell_tao, buy_tao). > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_tao: Option<f64>,
    /// How long the order is spread over (sell_tao, buy_tao): "1d", "6h", "30m".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<String>,
    /// A label for the trader in `events.csv` (sell_tao, buy_tao).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// What a proposal changes (proposal, seat_capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The proposed value (proposal, seat_capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Honest validators' vote (senate and Economic collective seats). Default nay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators_vote: Option<Vote>,
    /// Subnet owners' vote (Building collective seats). Default nay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners_vote: Option<Vote>,
    /// Triumvirs in favour, 0 ..= 3 (collectives' approval track). Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triumvirate_ayes: Option<u32>,
    /// Multisig signatures in favour (sudo). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<u32>,
    /// A perpetual (non-decaying) lock (conviction_takeover). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetual: Option<bool>,
}

impl EventSpec {
    /// An event of `kind` at `at` with no parameters (fill them in with struct update).
    pub fn new(at: At, kind: EventKind) -> Self {
        Self {
            at,
            kind,
            factor: None,
            days: None,
            netuid: None,
            fraction: None,
            stake_share: None,
            count: None,
            step_tao: None,
            max_tao: None,
            amount_tao: None,
            over: None,
            holder: None,
            change: None,
            value: None,
            validators_vote: None,
            owners_vote: None,
            triumvirate_ayes: None,
            signatures: None,
            perpetual: None,
        }
    }

    /// Problems as (field under `events[i].`, message); empty when valid. `subnets` is the
    /// number of subnets at the start (netuids 1 ..= subnets).
    pub fn problems(&self, start_date: Option<&str>, subnets: u16) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Err(e) = self.at.block(start_date) {
            out.push(("at".into(), e));
        }
        let (needs, allowed): (&[&str], &[&str]) = match self.kind {
            EventKind::Halving => (&[], &[]),
            EventKind::DepthCut => (&["factor", "days"], &["factor", "days"]),
            EventKind::PriceJump => (&["factor"], &["factor"]),
            EventKind::OffRampFreeze => (&["days"], &["days"]),
            EventKind::MassUnstake => (&["netuid", "fraction"], &["netuid", "fraction"]),
            EventKind::Cabal => (&["netuid", "stake_share", "count"], &["netuid", "stake_share", "count"]),
            EventKind::WeightCopiers => (&["count"], &["count"]),
            EventKind::Takeover => (&["netuid", "step_tao"], &["netuid", "step_tao", "max_tao"]),
            EventKind::Sybil | EventKind::OwnerSelfMining => (&["netuid", "count"], &["netuid", "count"]),
            EventKind::SellTao | EventKind::BuyTao => (&["amount_tao", "over"], &["amount_tao", "over", "holder"]),
            EventKind::Proposal => (&["change", "value"], &PROPOSAL_FIELDS[..7]),
            EventKind::SeatCapture => (&["change", "value", "days"], &PROPOSAL_FIELDS),
            EventKind::HaltEmission => (&["netuid"], &["netuid", "days"]),
            EventKind::ConvictionTakeover => (&["netuid"], &["netuid", "perpetual", "count"]),
            EventKind::HostileOwner => (&["netuid", "count"], &["netuid", "count"]),
        };
        let present: [(&str, bool); 18] = [
            ("factor", self.factor.is_some()),
            ("days", self.days.is_some()),
            ("netuid", self.netuid.is_some()),
            ("fraction", self.fraction.is_some()),
            ("stake_share", self.stake_share.is_some()),
            ("count", self.count.is_some()),
            ("step_tao", self.step_tao.is_some()),
            ("max_tao", self.max_tao.is_some()),
            ("amount_tao", self.amount_tao.is_some()),
            ("over", self.over.is_some()),
            ("holder", self.holder.is_some()),
            ("change", self.change.is_some()),
            ("value", self.value.is_some()),
            ("validators_vote", self.validators_vote.is_some()),
            ("owners_vote", self.owners_vote.is_some()),
            ("triumvirate_ayes", self.triumvirate_ayes.is_some()),
            ("signatures", self.signatures.is_some()),
            ("perpetual", self.perpetual.is_some()),
        ];
        let kind =
            serde_json::to_value(self.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        for (name, is) in present {
            if needs.contains(&name) && !is {
                out.push((name.into(), format!("missing; a `{kind}` event needs {}", needs.join(", "))));
            }
            if is && !allowed.contains(&name) {
                out.push((name.into(), format!("not used by a `{kind}` event; it takes {}", allowed.join(", "))));
            }
        }
        let c = &mut out;
        if let Some(v) = self.factor {
            check(c, "factor", v, 1e-6, 1e6);
        }
        if let Some(v) = self.days {
            check(c, "days", v, 0.0, 36_500.0);
        }
        if let Some(v) = self.netuid
            && (v == 0 || v > subnets)
        {
            c.push(("netuid".into(), format!("{v} is out of range; allowed 1 ..= {subnets}")));
        }
        if let Some(v) = self.fraction {
            check(c, "fraction", v, 0.0, 1.0);
        }
        if let Some(v) = self.amount_tao {
            check(c, "amount_tao", v, 1e-9, 1e9);
        }
        if let Some(Err(e)) = self.over.as_deref().map(duration_days) {
            c.push(("over".into(), e));
        }
        if let Some(v) = self.stake_share {
            check(c, "stake_share", v, 0.0, 0.99);
        }
        if let Some(v) = self.count {
            check(c, "count", f64::from(v), 0.0, 4096.0);
        }
        if let Some(v) = self.step_tao {
            check(c, "step_tao", v, 1e-3, 1e9);
        }
        if let Some(v) = self.max_tao {
            check(c, "max_tao", v, 1e-3, 1e10);
        }
        if let Some(v) = self.value {
            check(c, "value", v, 0.0, 1.0);
        }
        if let Some(v) = self.triumvirate_ayes {
            check(c, "triumvirate_ayes", f64::from(v), 0.0, 3.0);
        }
        if let Some(v) = self.signatures {
            check(c, "signatures", f64::from(v), 0.0, 100.0);
        }
        if self.change == Some(Change::Emission) && self.netuid.is_none() {
            c.push(("netuid".into(), "missing; an `emission` change needs the subnet's netuid".into()));
        }
        if self.change == Some(Change::Emission) && self.value.is_some_and(|v| v != 0.0 && v != 1.0) {
            c.push(("value".into(), "an `emission` change takes 0 (off) or 1 (on)".into()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_resolve_to_blocks() {
        assert_eq!(At::parse("10d").and_then(|a| a.block(None)), Ok(72_000));
        assert_eq!(At::Block(5).block(None), Ok(5));
        assert_eq!(At::parse("2026-03-01").and_then(|a| a.block(Some("2026-02-27"))), Ok(2 * 7_200));
        assert!(At::parse("2026-03-01").and_then(|a| a.block(None)).is_err(), "a date needs a start date");
        assert!(At::parse("2026-02-30").is_err());
        assert!(At::parse("soon").is_err());
        assert_eq!(civil_days("1970-01-01"), Some(0));
        assert_eq!(civil_days("2000-03-01"), Some(11_017));
    }

    #[test]
    fn events_name_missing_and_extra_fields() {
        let e = EventSpec { factor: Some(0.5), ..EventSpec::new(At::Day(1.0), EventKind::DepthCut) };
        let p = e.problems(None, 4);
        assert_eq!(p, [("days".to_string(), "missing; a `depth_cut` event needs factor, days".to_string())]);
        let e = EventSpec { netuid: Some(9), factor: Some(2.0), ..EventSpec::new(At::Day(1.0), EventKind::PriceJump) };
        let p = e.problems(None, 4);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].1.starts_with("not used by a `price_jump` event"));
        assert_eq!(p[1].1, "9 is out of range; allowed 1 ..= 4");
        assert!(ParticipantsSection::default().problems().is_empty());
    }
}
