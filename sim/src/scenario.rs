//! Scenario files: what a run simulates, in TOML, with a default for every field.
//!
//! Loading is two-staged (like ripgrep's low/high args): the TOML text is parsed into a
//! table, `--set` overrides are applied to that table, the result is deserialised into
//! [`Scenario`] (unknown fields are errors, with their dotted path), and then
//! [`Scenario::validate`] checks every range. The validated scenario is the *resolved* one:
//! it is written into the run folder and the manifest, and `replay` re-runs from it.
//!
//! `scenarios/default.toml` spells out every default with a comment; a test keeps the two
//! identical.

use crate::chain::Rao;
use crate::chain::emission::EmissionSchedule;
use crate::chain::emission_share::{FlowParams, ShareRule};
use crate::chain::genesis::{Genesis, Shape};
use crate::chain::pool::PoolDesign;
use crate::chain::registration::BurnRule;
use crate::chain::snapshot::{ShapeKind, SnapshotParams};
use crate::chain::state::ChainParams;
use crate::economy::market::MarketParams;
use crate::economy::participants::config::{EventSpec, ParticipantsSection, civil_days};
use crate::engine::time::BLOCKS_PER_DAY;
use crate::error::ScenarioError;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::Path;

/// The name used in errors for the built-in default scenario.
pub const BUILT_IN: &str = "built-in default";

/// Largest accepted horizon: 100 simulated years (bounds memory and time of a mistyped run).
pub const MAX_HORIZON_BLOCKS: u64 = 100 * 365 * BLOCKS_PER_DAY;

/// One simulation: everything a run needs besides the seed override and output folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used for the run folder (`runs/<name>-seed<seed>`).
    pub name: String,
    /// What the scenario studies, for people reading the manifest.
    pub description: String,
    /// The run's root seed: every random stream derives from it (0 ..= 2^63 - 1).
    pub seed: u64,
    /// Length and sampling of the run.
    pub run: RunSection,
    /// The chain's parameters.
    pub chain: ChainSection,
    /// Calibration profile for GPU speeds (a path, relative to the working directory);
    /// without it the committed default profile is used.
    pub calibration_profile: Option<String>,
    /// A decentralised-training subnet to simulate alongside the chain (see `sim::training`).
    pub training: Option<crate::training::TrainingConfig>,
    /// The external TAO/USD market participants trade on.
    pub market: MarketParams,
    /// Miners, validators and holders.
    pub participants: ParticipantsSection,
    /// Timed shocks and attacks (`[[events]]`), any number.
    pub events: Vec<EventSpec>,
    /// Who governs the chain (`[governance]`, see `sim::governance`); left out: sudo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<crate::governance::GovernanceSection>,
    /// The governance attackers' capital (`[attacker]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attacker: Option<crate::governance::AttackerSection>,
}

/// Length and sampling of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSection {
    /// When the run stops: blocks (an integer) or a duration ("30d", "12h").
    pub horizon: Horizon,
    /// Write a row of `timeseries.csv` every this many blocks (and at the last block).
    pub sample_every_blocks: u64,
    /// The calendar date of block 0 (`"YYYY-MM-DD"`), for events given as dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// A start-up period (blocks or a duration, "14d") that reported metrics and
    /// `taosim validate` exclude: the network settles from its genesis snapshot first. It
    /// changes nothing the simulation computes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn_in: Option<Horizon>,
}

/// The chain's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainSection {
    /// Blocks between a subnet's epochs (`Tempo`; chain default 360).
    pub tempo: u16,
    /// Total issuance when the run starts, in TAO.
    pub initial_issuance_tao: f64,
    /// `TaoWeight` as the chain stores it: a fraction of u64::MAX (runtime default
    /// 971718665099567868, about 5.27%).
    pub tao_weight: u64,
    /// `SubnetOwnerCut` as a fraction of 65535 (11796 = 18%).
    pub subnet_owner_cut: u16,
    /// Delegate take of every hotkey, as a fraction of 65535 (11796 = 18%).
    pub delegate_take: u16,
    /// The issuance-to-emission rule.
    pub emission: EmissionSection,
    /// The subnets' pools.
    pub pool: PoolSection,
    /// How the block emission is split between subnets.
    pub emission_share: EmissionShareSection,
    /// Neuron and subnet registration.
    pub registration: RegistrationSection,
    /// The subnets, validators and stake the run starts with.
    pub subnets: SubnetsSection,
    /// Each subnet's epoch: Yuma consensus (default) or the stand-in, and Yuma's parameters.
    pub consensus: ConsensusSection,
}

/// Which epoch pays subnets, and Yuma consensus parameters in the chain's storage units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusSection {
    /// `"yuma"` (the chain's Yuma consensus), `"stake_split"` (a stand-in: incentive equal
    /// among miners, dividends by stake) or `"clipped_consensus"` (a bond-free Yuma-like
    /// stand-in where weights decide incentive).
    pub epoch: EpochKind,
    /// `Kappa`: consensus majority as a fraction of 65535 (32767 ~ 0.5).
    pub kappa: u16,
    /// `BondsMovingAverage` in parts per million (900000: the EMA takes 10% of the new value).
    pub bonds_moving_average: u64,
    /// `BondsPenalty` as a fraction of 65535 (65535: bonds use clipped weights).
    pub bonds_penalty: u16,
    /// `Yuma3On` (on for subnets registered today; off selects classic EMA bonds).
    pub yuma3: bool,
    /// `LiquidAlphaOn` (acts with Yuma3 only, as on chain).
    pub liquid_alpha: bool,
    /// `AlphaValues.0` as a fraction of 65535 (45875 ~ 0.7).
    pub alpha_low: u16,
    /// `AlphaValues.1` as a fraction of 65535 (58982 ~ 0.9).
    pub alpha_high: u16,
    /// `AlphaSigmoidSteepness` (1000).
    pub alpha_sigmoid_steepness: i16,
    /// `CommitRevealWeightsEnabled` (on).
    pub commit_reveal: bool,
    /// `RevealPeriodEpochs` (1).
    pub reveal_period: u64,
    /// `StakeThreshold` in rao (0).
    pub stake_threshold_rao: u64,
    /// `ActivityCutoffFactorMilli`: activity cutoff in thousandths of a tempo (13889: 5000
    /// blocks at tempo 360).
    pub activity_cutoff_factor_milli: u32,
}

/// The epoch implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpochKind {
    /// Yuma consensus, exact to the chain.
    Yuma,
    /// The stand-in split by stake.
    StakeSplit,
    /// A bond-free Yuma-like stand-in where weights decide incentive
    /// (`sim::chain::clipped_consensus::ClippedConsensus`).
    ClippedConsensus,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        let y = crate::chain::yuma::EpochParams::default();
        Self {
            epoch: EpochKind::Yuma,
            kappa: y.kappa,
            bonds_moving_average: y.bonds_moving_average,
            bonds_penalty: y.bonds_penalty,
            yuma3: y.yuma3,
            liquid_alpha: y.liquid_alpha,
            alpha_low: y.alpha_low,
            alpha_high: y.alpha_high,
            alpha_sigmoid_steepness: y.alpha_sigmoid_steepness,
            commit_reveal: y.commit_reveal,
            reveal_period: y.reveal_period,
            stake_threshold_rao: y.stake_threshold,
            activity_cutoff_factor_milli: y.activity_cutoff_factor_milli,
        }
    }
}

impl ConsensusSection {
    /// The epoch implementation this section selects.
    pub fn payout(&self) -> std::sync::Arc<dyn crate::chain::epoch::EpochPayout> {
        match self.epoch {
            EpochKind::StakeSplit => std::sync::Arc::new(crate::chain::epoch::StakeSplit),
            EpochKind::ClippedConsensus => std::sync::Arc::new(crate::chain::clipped_consensus::ClippedConsensus),
            EpochKind::Yuma => std::sync::Arc::new(crate::chain::epoch::YumaPayout {
                params: crate::chain::yuma::EpochParams {
                    kappa: self.kappa,
                    bonds_moving_average: self.bonds_moving_average,
                    bonds_penalty: self.bonds_penalty,
                    yuma3: self.yuma3,
                    liquid_alpha: self.liquid_alpha,
                    alpha_low: self.alpha_low,
                    alpha_high: self.alpha_high,
                    alpha_sigmoid_steepness: self.alpha_sigmoid_steepness,
                    commit_reveal: self.commit_reveal,
                    reveal_period: self.reveal_period,
                    stake_threshold: self.stake_threshold_rao,
                    activity_cutoff_factor_milli: self.activity_cutoff_factor_milli,
                    ..crate::chain::yuma::EpochParams::default()
                },
            }),
        }
    }
}

/// The pools.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSection {
    /// `"balancer"` (weighted pool, current) or `"constant_product"` (launch design, Feb 2025).
    pub design: PoolDesign,
    /// Swap fee as a fraction of 65535 (`FeeRate`, 33 ~ 0.05%). 0 ..= 10000.
    pub fee_rate: u16,
    /// `MinimumReserve` in rao (1,000,000).
    pub minimum_reserve_rao: u64,
}

/// The emission-share rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmissionShareSection {
    /// `"price_ema"` (current), `"taoflow"` (gross flow, Nov 2025 - mid 2026) or `"net_flow"`.
    pub rule: ShareRule,
    /// `FlowEmaSmoothingFactor`: EMA factor as a fraction of i64::MAX (one-month half-life).
    pub flow_ema_smoothing: u64,
    /// `TaoFlowCutoff` in rao (0).
    pub flow_cutoff_rao: i64,
    /// `FlowNormExponent` p (1.0). 0 ..= 10.
    pub flow_exponent: f64,
}

/// Registration parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationSection {
    /// `"decay"` (current: per-block decay, per-registration increase) or `"interval"` (before
    /// Jan 2026: adjusted every interval toward a target number of registrations).
    pub burn_rule: BurnRuleKind,
    /// `BurnHalfLife` in blocks (decay rule; 360).
    pub burn_half_life_blocks: u16,
    /// `BurnIncreaseMult` (decay rule; 1.26). 1 ..= 100.
    pub burn_increase_mult: f64,
    /// `AdjustmentInterval` in blocks (interval rule; 100).
    pub adjustment_interval_blocks: u16,
    /// `TargetRegistrationsPerInterval` (interval rule; 2).
    pub target_registrations_per_interval: u16,
    /// `Burn` of a new subnet, in TAO (0.1).
    pub initial_burn_tao: f64,
    /// `MinBurn` in TAO (0.0005).
    pub min_burn_tao: f64,
    /// `MaxBurn` in TAO (100).
    pub max_burn_tao: f64,
    /// `ImmunityPeriod` in blocks (4096).
    pub immunity_period_blocks: u16,
    /// `MaxAllowedUids` (256). 1 ..= 4096.
    pub max_allowed_uids: u16,
    /// `MinNonImmuneUids` (10).
    pub min_non_immune_uids: u16,
    /// `MaxAllowedValidators` (128).
    pub max_allowed_validators: u16,
    /// `NetworkMinLockCost` in TAO (1000).
    pub min_lock_tao: f64,
    /// `NetworkLockReductionInterval` in blocks (100,800).
    pub lock_reduction_interval_blocks: u64,
    /// `NetworkRateLimit` in blocks (7200).
    pub network_rate_limit_blocks: u64,
    /// `NetworkImmunityPeriod` in blocks (1,296,000).
    pub network_immunity_blocks: u64,
    /// `SubnetLimit` (128). 1 ..= 1024.
    pub subnet_limit: u16,
    /// Whether subnets registered during the run get TAO emission (the chain starts them
    /// disabled until governance enables them).
    pub new_subnet_emission_enabled: bool,
}

/// The named burn rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurnRuleKind {
    /// Per-block decay and per-registration increase (current).
    Decay,
    /// Interval adjustment toward a target (before Jan 2026).
    Interval,
}

/// The network the run starts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubnetsSection {
    /// Number of subnets (root excluded). 0 ..= subnet limit.
    pub count: u16,
    /// TAO reserve of every subnet's pool, in TAO (the snapshot shape: of the mean pool).
    pub tao_reserve_tao: f64,
    /// Price of subnet 1, TAO per alpha; later subnets step down geometrically (the ladder).
    pub price_max_tao: f64,
    /// Price of the last subnet, TAO per alpha (the ladder).
    pub price_min_tao: f64,
    /// Staked (outstanding) alpha as a multiple of the alpha reserve. 0 ..= 100.
    pub staked_alpha_ratio: f64,
    /// UIDs per subnet: the owner, the validators, then miners. 1 ..= max_allowed_uids.
    pub neurons: u16,
    /// Validators, shared by every subnet, holding the alpha and root stake. 0 ..= 256.
    pub validators: u16,
    /// TAO staked on root, split between the validators (equally on the ladder).
    pub root_stake_tao: f64,
    /// Blocks each subnet had been emitting before the run (sets its price EMA's speed).
    pub age_blocks: u64,
    /// `"ladder"` (default: equal pools, a geometric price ladder, equal validators) or
    /// `"snapshot"` (the 2025 network's shape, `[chain.subnets.snapshot]`). Left out of
    /// written scenarios when it is the ladder.
    #[serde(skip_serializing_if = "ShapeKind::is_ladder")]
    pub shape: ShapeKind,
    /// The snapshot shape's parameters (see `chain::snapshot`); left out when all default.
    #[serde(skip_serializing_if = "SnapshotParams::is_default")]
    pub snapshot: SnapshotParams,
}

/// The block emission schedule as a scenario states it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmissionSection {
    /// `"halving"` (the chain's rule) or `"smooth"` (a study variant).
    pub schedule: ScheduleKind,
    /// The supply cap in TAO (21M on chain).
    pub supply_cap_tao: f64,
    /// Emission per block before any halving, in TAO (1 on chain).
    pub base_block_emission_tao: f64,
}

/// The named emission rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The chain's issuance-driven halving.
    Halving,
    /// Linear in remaining supply (not the chain's; for studies).
    Smooth,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "default".into(),
            description: "A small network that shows the second halving within 30 days.".into(),
            seed: 42,
            run: RunSection::default(),
            chain: ChainSection::default(),
            calibration_profile: None,
            training: None,
            market: MarketParams::default(),
            participants: ParticipantsSection::default(),
            events: Vec::new(),
            governance: None,
            attacker: None,
        }
    }
}

impl Default for RunSection {
    fn default() -> Self {
        Self { horizon: Horizon::Days(30.0), sample_every_blocks: 100, start_date: None, burn_in: None }
    }
}

impl Default for ChainSection {
    fn default() -> Self {
        let p = ChainParams::default();
        Self {
            tempo: 360,
            initial_issuance_tao: 15_700_000.0,
            tao_weight: p.tao_weight,
            subnet_owner_cut: p.subnet_owner_cut,
            delegate_take: p.default_take,
            emission: EmissionSection::default(),
            pool: PoolSection::default(),
            emission_share: EmissionShareSection::default(),
            registration: RegistrationSection::default(),
            subnets: SubnetsSection::default(),
            consensus: ConsensusSection::default(),
        }
    }
}

impl Default for PoolSection {
    fn default() -> Self {
        Self { design: PoolDesign::Balancer, fee_rate: 33, minimum_reserve_rao: 1_000_000 }
    }
}

impl Default for EmissionShareSection {
    fn default() -> Self {
        let f = FlowParams::default();
        Self { rule: ShareRule::PriceEma, flow_ema_smoothing: f.smoothing, flow_cutoff_rao: 0, flow_exponent: 1.0 }
    }
}

impl Default for RegistrationSection {
    fn default() -> Self {
        Self {
            burn_rule: BurnRuleKind::Decay,
            burn_half_life_blocks: 360,
            burn_increase_mult: 1.26,
            adjustment_interval_blocks: 100,
            target_registrations_per_interval: 2,
            initial_burn_tao: 0.1,
            min_burn_tao: 0.0005,
            max_burn_tao: 100.0,
            immunity_period_blocks: 4_096,
            max_allowed_uids: 256,
            min_non_immune_uids: 10,
            max_allowed_validators: 128,
            min_lock_tao: 1_000.0,
            lock_reduction_interval_blocks: 100_800,
            network_rate_limit_blocks: 7_200,
            network_immunity_blocks: 1_296_000,
            subnet_limit: 128,
            new_subnet_emission_enabled: true,
        }
    }
}

impl Default for SubnetsSection {
    fn default() -> Self {
        Self {
            count: 4,
            tao_reserve_tao: 50_000.0,
            price_max_tao: 0.5,
            price_min_tao: 0.2,
            staked_alpha_ratio: 1.0,
            neurons: 16,
            validators: 4,
            root_stake_tao: 1_000_000.0,
            age_blocks: 200_000,
            shape: ShapeKind::Ladder,
            snapshot: SnapshotParams::default(),
        }
    }
}

impl Default for EmissionSection {
    fn default() -> Self {
        Self { schedule: ScheduleKind::Halving, supply_cap_tao: 21_000_000.0, base_block_emission_tao: 1.0 }
    }
}

/// How long a run lasts: a number of blocks, or a simulated duration converted at 12 s/block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Horizon {
    /// Exactly this many blocks.
    Blocks(i64),
    /// Simulated days (rounded to the nearest block).
    Days(f64),
    /// Simulated hours (rounded to the nearest block).
    Hours(f64),
}

impl Horizon {
    /// The horizon in blocks, or why it is not a valid one.
    pub fn blocks(&self) -> Result<u64, String> {
        let blocks = match *self {
            Horizon::Blocks(b) => {
                if b <= 0 {
                    return Err(format!("{b} blocks: the horizon must be positive"));
                }
                b as f64
            }
            Horizon::Days(d) => (d * BLOCKS_PER_DAY as f64).round(),
            Horizon::Hours(h) => (h * (BLOCKS_PER_DAY / 24) as f64).round(),
        };
        if !blocks.is_finite() || blocks < 1.0 {
            return Err(format!("{self} is less than one block: the horizon must be positive"));
        }
        if blocks > MAX_HORIZON_BLOCKS as f64 {
            return Err(format!("{self} is longer than the limit of {MAX_HORIZON_BLOCKS} blocks (100 years)"));
        }
        Ok(blocks as u64)
    }

    /// Parses `"216000"`, `"216000b"`, `"30d"` or `"12h"`.
    pub fn parse(text: &str) -> Result<Horizon, String> {
        let t = text.trim();
        let bad = || format!("`{text}` is not a horizon: expected blocks (216000) or a duration (\"30d\", \"12h\")");
        let (num, unit) = match t.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], Some(c)),
            _ => (t, None),
        };
        match unit {
            None | Some('b') => num.trim().parse::<i64>().map(Horizon::Blocks).map_err(|_| bad()),
            Some('d') => num.trim().parse::<f64>().map(Horizon::Days).map_err(|_| bad()),
            Some('h') => num.trim().parse::<f64>().map(Horizon::Hours).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Horizon::Blocks(b) => write!(f, "{b}"),
            Horizon::Days(d) => write!(f, "{d}d"),
            Horizon::Hours(h) => write!(f, "{h}h"),
        }
    }
}

impl Serialize for Horizon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Horizon::Blocks(b) => s.serialize_i64(*b),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Horizon {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Horizon;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of blocks (216000) or a duration string (\"30d\", \"12h\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Horizon, E> {
                Ok(Horizon::Blocks(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Horizon, E> {
                i64::try_from(v).map(Horizon::Blocks).map_err(|_| E::custom("horizon too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Horizon, E> {
                Horizon::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Collects range errors for one scenario source.
struct Checker<'a> {
    source_name: &'a str,
    errors: Vec<ScenarioError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &str, message: String) {
        self.errors.push(ScenarioError::new(self.source_name, field, message));
    }

    fn range_u64(&mut self, field: &str, value: u64, lo: u64, hi: u64) {
        if value < lo || value > hi {
            self.fail(field, format!("{value} is out of range; allowed {lo} ..= {hi}"));
        }
    }

    fn float(&mut self, field: &str, value: f64, lo: f64, hi: f64) -> bool {
        if !value.is_finite() || value < lo || value > hi {
            self.fail(field, format!("{value} is out of range; allowed {lo} ..= {hi}"));
            return false;
        }
        true
    }

    fn tao(&mut self, field: &str, value: f64, lo: f64, hi: f64) -> Option<Rao> {
        if !value.is_finite() || value < lo || value > hi {
            self.fail(field, format!("{value} TAO is out of range; allowed {lo} ..= {hi} TAO"));
            return None;
        }
        Rao::from_tao_f64(value)
    }
}

impl Scenario {
    /// Checks every range; the error list names each bad field and what is allowed.
    pub fn validate(&self, source_name: &str) -> Result<(), Vec<ScenarioError>> {
        let mut c = Checker { source_name, errors: Vec::new() };
        if self.name.is_empty()
            || !self.name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' || ch == '.')
        {
            c.fail("name", format!("`{}` is not allowed; use letters, digits, '-', '_' or '.'", self.name));
        }
        c.range_u64("seed", self.seed, 0, i64::MAX as u64);
        if let Err(e) = self.run.horizon.blocks() {
            c.fail("run.horizon", e);
        }
        // A burn-in as long as the horizon is allowed (a short look at a long scenario); what
        // needs days after it (`taosim validate`) says so itself.
        if let Some(Err(e)) = self.run.burn_in.as_ref().map(Horizon::blocks) {
            c.fail("run.burn_in", e);
        }
        c.range_u64("run.sample_every_blocks", self.run.sample_every_blocks, 1, MAX_HORIZON_BLOCKS);
        c.range_u64("chain.tempo", u64::from(self.chain.tempo), 1, 50_400);
        let cap = c.tao("chain.emission.supply_cap_tao", self.chain.emission.supply_cap_tao, 1e-9, 1e10);
        c.tao("chain.emission.base_block_emission_tao", self.chain.emission.base_block_emission_tao, 0.0, 1e6);
        let issuance = match cap {
            Some(cap) => c.tao("chain.initial_issuance_tao", self.chain.initial_issuance_tao, 0.0, cap.as_tao_f64()),
            None => None,
        };
        c.range_u64("chain.pool.fee_rate", u64::from(self.chain.pool.fee_rate), 0, 10_000);
        c.range_u64("chain.pool.minimum_reserve_rao", self.chain.pool.minimum_reserve_rao, 1, 1_000_000_000_000);
        let share = &self.chain.emission_share;
        c.range_u64("chain.emission_share.flow_ema_smoothing", share.flow_ema_smoothing, 0, i64::MAX as u64);
        c.float("chain.emission_share.flow_exponent", share.flow_exponent, 0.0, 10.0);
        let r = &self.chain.registration;
        c.float("chain.registration.burn_increase_mult", r.burn_increase_mult, 1.0, 100.0);
        c.range_u64(
            "chain.registration.adjustment_interval_blocks",
            u64::from(r.adjustment_interval_blocks),
            1,
            65_535,
        );
        c.range_u64(
            "chain.registration.target_registrations_per_interval",
            u64::from(r.target_registrations_per_interval),
            1,
            65_535,
        );
        let min_burn = c.tao("chain.registration.min_burn_tao", r.min_burn_tao, 0.0, 1e6);
        let max_burn = c.tao("chain.registration.max_burn_tao", r.max_burn_tao, 0.0, 1e6);
        if let (Some(lo), Some(hi)) = (min_burn, max_burn) {
            c.tao("chain.registration.initial_burn_tao", r.initial_burn_tao, lo.as_tao_f64(), hi.as_tao_f64());
        }
        c.range_u64("chain.registration.max_allowed_uids", u64::from(r.max_allowed_uids), 1, 4_096);
        c.range_u64("chain.registration.max_allowed_validators", u64::from(r.max_allowed_validators), 1, 4_096);
        c.tao("chain.registration.min_lock_tao", r.min_lock_tao, 0.001, 1e7);
        c.range_u64("chain.registration.subnet_limit", u64::from(r.subnet_limit), 1, 1_024);
        let n = &self.chain.subnets;
        c.range_u64("chain.subnets.count", u64::from(n.count), 0, u64::from(r.subnet_limit));
        c.range_u64("chain.subnets.neurons", u64::from(n.neurons), 1, u64::from(r.max_allowed_uids));
        c.range_u64("chain.subnets.validators", u64::from(n.validators), 0, 256);
        c.float("chain.subnets.staked_alpha_ratio", n.staked_alpha_ratio, 0.0, 100.0);
        let reserve = c.tao("chain.subnets.tao_reserve_tao", n.tao_reserve_tao, 0.001, 1e7);
        let pmax = c.float("chain.subnets.price_max_tao", n.price_max_tao, 1e-9, 1e6);
        if pmax {
            c.float("chain.subnets.price_min_tao", n.price_min_tao, 1e-9, n.price_max_tao);
        }
        let root = c.tao("chain.subnets.root_stake_tao", n.root_stake_tao, 0.0, 1e10);
        for (field, message) in n.snapshot.problems() {
            c.fail(&format!("chain.subnets.snapshot.{field}"), message);
        }
        if let (Some(issuance), Some(reserve), Some(root)) = (issuance, reserve, root) {
            let needed = u128::from(reserve.0) * u128::from(n.count) + u128::from(root.0);
            if needed > u128::from(issuance.0) {
                c.fail(
                    "chain.subnets",
                    format!(
                        "the pools ({} x {} TAO) and root stake ({} TAO) exceed the initial issuance; allowed at most {} TAO",
                        n.count, n.tao_reserve_tao, n.root_stake_tao, self.chain.initial_issuance_tao
                    ),
                );
            }
            let alpha = reserve.as_tao_f64() / n.price_min_tao.max(1e-9);
            let min_reserve = self.chain.pool.minimum_reserve_rao as f64 / 1e9;
            if n.shape == ShapeKind::Snapshot {
                if let Some(problem) = n.snapshot.pool_problem(n.count, reserve.as_tao_f64(), min_reserve) {
                    c.fail("chain.subnets.tao_reserve_tao", problem);
                }
            } else if reserve.as_tao_f64() < min_reserve || alpha < min_reserve || alpha > 1.8e10 {
                c.fail(
                    "chain.subnets.tao_reserve_tao",
                    format!(
                        "pool reserves must lie between the minimum reserve and 1.8e10 (alpha reserve would be {alpha})"
                    ),
                );
            }
        }
        let k = &self.chain.consensus;
        c.range_u64("chain.consensus.bonds_moving_average", k.bonds_moving_average, 0, 1_000_000);
        c.range_u64("chain.consensus.reveal_period", k.reveal_period, 0, 1_000);
        if k.alpha_low > k.alpha_high {
            c.fail(
                "chain.consensus.alpha_low",
                format!("{} is above alpha_high ({}); allowed 0 ..= alpha_high", k.alpha_low, k.alpha_high),
            );
        }
        if let Some(path) = &self.calibration_profile
            && path.trim().is_empty()
        {
            c.fail("calibration_profile", "empty path; name a profile file or leave the field out".into());
        }
        if let Some(training) = &self.training
            && let Err(errors) = training.validate(source_name)
        {
            c.errors.extend(errors);
        }
        if let Some(date) = &self.run.start_date
            && civil_days(date).is_none()
        {
            c.fail("run.start_date", format!("`{date}` is not a date; expected \"YYYY-MM-DD\""));
        }
        for (field, message) in self.market.problems() {
            c.fail(&format!("market.{field}"), message);
        }
        for (field, message) in self.participants.problems() {
            c.fail(&format!("participants.{field}"), message);
        }
        for (field, message) in self.governance.iter().flat_map(|g| g.problems()) {
            c.fail(&format!("governance.{field}"), message);
        }
        for (field, message) in self.attacker.iter().flat_map(|a| a.problems()) {
            c.fail(&format!("attacker.{field}"), message);
        }
        if self.events.len() > 10_000 {
            c.fail("events", format!("{} events; allowed at most 10000", self.events.len()));
        }
        for (i, e) in self.events.iter().enumerate() {
            for (field, message) in e.problems(self.run.start_date.as_deref(), self.chain.subnets.count) {
                c.fail(&format!("events[{i}].{field}"), message);
            }
        }
        if c.errors.is_empty() { Ok(()) } else { Err(c.errors) }
    }

    /// The burn-in in blocks (0 without one; valid after [`Scenario::validate`]).
    pub fn burn_in_blocks(&self) -> u64 {
        self.run.burn_in.as_ref().and_then(|b| b.blocks().ok()).unwrap_or(0)
    }

    /// The horizon in blocks (valid after [`Scenario::validate`]; 1 otherwise).
    pub fn horizon_blocks(&self) -> u64 {
        self.run.horizon.blocks().unwrap_or(1)
    }

    /// The emission schedule in chain units.
    pub fn emission_schedule(&self) -> EmissionSchedule {
        let e = &self.chain.emission;
        let cap = Rao::from_tao_f64(e.supply_cap_tao).unwrap_or(Rao::ZERO);
        let base = Rao::from_tao_f64(e.base_block_emission_tao).unwrap_or(Rao::ZERO);
        match e.schedule {
            ScheduleKind::Halving => EmissionSchedule::Halving { cap, base },
            ScheduleKind::Smooth => EmissionSchedule::Smooth { cap, base },
        }
    }

    /// The chain parameters in chain units (valid after [`Scenario::validate`]).
    pub fn chain_params(&self) -> ChainParams {
        let c = &self.chain;
        let r = &c.registration;
        let tao = |v: f64| Rao::from_tao_f64(v).unwrap_or(Rao::ZERO);
        ChainParams {
            tao_weight: c.tao_weight,
            subnet_owner_cut: c.subnet_owner_cut,
            default_take: c.delegate_take,
            pool_design: c.pool.design,
            fee_rate: c.pool.fee_rate,
            minimum_reserve: Rao(c.pool.minimum_reserve_rao),
            share_rule: c.emission_share.rule,
            flow: FlowParams {
                smoothing: c.emission_share.flow_ema_smoothing,
                cutoff: substrate_fixed::types::I64F64::saturating_from_num(c.emission_share.flow_cutoff_rao),
                exponent: substrate_fixed::types::U64F64::saturating_from_num(c.emission_share.flow_exponent),
            },
            burn_rule: match r.burn_rule {
                BurnRuleKind::Decay => {
                    BurnRule::Decay { half_life_blocks: r.burn_half_life_blocks, increase_mult: r.burn_increase_mult }
                }
                BurnRuleKind::Interval => BurnRule::Interval {
                    interval_blocks: r.adjustment_interval_blocks,
                    target_registrations: r.target_registrations_per_interval,
                },
            },
            min_burn: tao(r.min_burn_tao),
            max_burn: tao(r.max_burn_tao),
            initial_burn: tao(r.initial_burn_tao),
            immunity_period: r.immunity_period_blocks,
            max_allowed_uids: r.max_allowed_uids,
            min_non_immune_uids: r.min_non_immune_uids,
            max_allowed_validators: r.max_allowed_validators,
            min_lock: tao(r.min_lock_tao),
            lock_reduction_interval: r.lock_reduction_interval_blocks,
            network_rate_limit: r.network_rate_limit_blocks,
            network_immunity_period: r.network_immunity_blocks,
            subnet_limit: r.subnet_limit,
            tempo: c.tempo,
            new_subnet_emission_enabled: r.new_subnet_emission_enabled,
            ..ChainParams::default()
        }
    }

    /// The chain's starting state as [`Genesis`] (valid after [`Scenario::validate`]).
    pub fn genesis(&self) -> Genesis {
        let n = &self.chain.subnets;
        Genesis {
            initial_issuance: self.initial_issuance(),
            schedule: self.emission_schedule(),
            params: self.chain_params(),
            subnets: n.count,
            tao_reserve: Rao::from_tao_f64(n.tao_reserve_tao).unwrap_or(Rao::ZERO),
            price_max: n.price_max_tao,
            price_min: n.price_min_tao,
            staked_alpha_ratio: n.staked_alpha_ratio,
            neurons_per_subnet: n.neurons,
            validators: n.validators,
            root_stake: Rao::from_tao_f64(n.root_stake_tao).unwrap_or(Rao::ZERO),
            subnet_age_blocks: n.age_blocks,
            shape: match n.shape {
                ShapeKind::Ladder => Shape::Ladder,
                ShapeKind::Snapshot => Shape::Snapshot(n.snapshot.clone()),
            },
        }
    }

    /// The starting issuance in rao.
    pub fn initial_issuance(&self) -> Rao {
        Rao::from_tao_f64(self.chain.initial_issuance_tao).unwrap_or(Rao::ZERO)
    }

    /// The scenario as TOML, as written to a run folder's `scenario.toml`.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render scenario: {e}\n"))
    }
}

/// Where a scenario comes from.
#[derive(Clone, Debug)]
pub enum Source<'a> {
    /// The built-in default.
    BuiltIn,
    /// A TOML file.
    File(&'a Path),
    /// TOML text with a name for errors.
    Text {
        /// The name used in errors.
        name: &'a str,
        /// The TOML text.
        text: &'a str,
    },
}

/// Loads, overrides, deserialises and validates a scenario.
///
/// `overrides` are `key.path=value` strings (the value is TOML: `99`, `"halving"`, `true`,
/// `[1, 2]`; bare words are taken as strings). Returns every problem found.
pub fn load(source: Source<'_>, overrides: &[String]) -> Result<Scenario, Vec<ScenarioError>> {
    let (name, mut table) = match source {
        Source::BuiltIn => (BUILT_IN.to_string(), toml::Table::new()),
        Source::File(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                let what = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                    _ => e.to_string(),
                };
                vec![ScenarioError::new(&name, "", format!("cannot read the scenario: {what}"))]
            })?;
            let table = parse_toml(&name, &text).map_err(|e| vec![e])?;
            (name, table)
        }
        Source::Text { name, text } => (name.to_string(), parse_toml(name, text).map_err(|e| vec![e])?),
    };
    for spec in overrides {
        apply_override(&mut table, spec).map_err(|e| vec![e])?;
    }
    let scenario: Scenario = from_table(&name, table).map_err(|e| vec![e])?;
    scenario.validate(&name)?;
    Ok(scenario)
}

/// Parses TOML text into a table; syntax errors carry line and column.
pub fn parse_toml(name: &str, text: &str) -> Result<toml::Table, ScenarioError> {
    text.parse::<toml::Table>().map_err(|e| {
        let location = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {col}: ")
            })
            .unwrap_or_default();
        ScenarioError::new(name, "", format!("malformed TOML: {location}{}", e.message().trim()))
    })
}

/// Deserialises a table into `T`, naming the field path of any error.
pub fn from_table<T: serde::de::DeserializeOwned>(name: &str, table: toml::Table) -> Result<T, ScenarioError> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        // toml appends "\nin `path`" to its messages; the path is already in `field`.
        let message = e.into_inner().to_string();
        ScenarioError::new(name, field, message.lines().next().unwrap_or_default().trim().to_string())
    })
}

/// Applies one `key.path=value` override to a table.
pub fn apply_override(table: &mut toml::Table, spec: &str) -> Result<(), ScenarioError> {
    let err = |field: &str, message: String| ScenarioError::new("--set", field, message);
    let Some((key, value)) = spec.split_once('=') else {
        return Err(err("", format!("`{spec}` is not an override; expected key.path=value, e.g. chain.tempo=99")));
    };
    let key = key.trim();
    let path: Vec<&str> = key.split('.').map(str::trim).collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(err(key, "empty key segment; expected key.path=value".into()));
    }
    let value = parse_value(value.trim());
    let mut current = table;
    for (depth, segment) in path.iter().enumerate() {
        if depth + 1 == path.len() {
            current.insert((*segment).to_string(), value);
            return Ok(());
        }
        let entry = current.entry((*segment).to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(t) => current = t,
            _ => {
                return Err(err(
                    &path[..=depth].join("."),
                    "is a value, not a section; cannot set a field inside it".into(),
                ));
            }
        }
    }
    Ok(())
}

/// A TOML value from override text; text that is not TOML is taken as a string.
fn parse_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, overrides: &[&str]) -> Result<Scenario, Vec<ScenarioError>> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        load(Source::Text { name: "t.toml", text }, &overrides)
    }

    fn first_error(text: &str, overrides: &[&str]) -> String {
        load_text(text, overrides).expect_err("should fail")[0].to_string()
    }

    #[test]
    fn an_empty_file_is_the_default_scenario() {
        assert_eq!(load_text("", &[]).expect("valid"), Scenario::default());
        assert_eq!(load(Source::BuiltIn, &[]).expect("valid"), Scenario::default());
    }

    #[test]
    fn the_shipped_default_toml_spells_out_the_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml");
        assert_eq!(load(Source::File(&path), &[]).expect("valid"), Scenario::default());
    }

    #[test]
    fn resolved_scenarios_round_trip_through_toml_and_json() {
        let s = load_text("", &["run.horizon=\"12h\"", "chain.emission.schedule=smooth", "seed=7"]).expect("valid");
        let back: Scenario = from_table("x", parse_toml("x", &s.to_toml()).expect("toml")).expect("de");
        assert_eq!(back, s);
        let json = serde_json::to_string(&s).expect("json");
        assert_eq!(serde_json::from_str::<Scenario>(&json).expect("de"), s);
    }

    #[test]
    fn overrides_set_nested_fields() {
        let s = load_text("", &["chain.tempo=99", "run.horizon=1000"]).expect("valid");
        assert_eq!(s.chain.tempo, 99);
        assert_eq!(s.horizon_blocks(), 1000);
    }

    #[test]
    fn errors_name_the_file_the_field_and_what_is_allowed() {
        let e = first_error("[chain]\ntempo = 0\n", &[]);
        assert_eq!(e, "t.toml: chain.tempo: 0 is out of range; allowed 1 ..= 50400");
        let e = first_error("[chain]\ntempoo = 5\n", &[]);
        assert!(e.starts_with("t.toml: chain.tempoo: unknown field `tempoo`, expected one of"), "{e}");
        let e = first_error("[run]\nhorizon = -5\n", &[]);
        assert!(e.starts_with("t.toml: run.horizon: -5 blocks: the horizon must be positive"), "{e}");
        let e = first_error("[chain]\ntempo = \"fast\"\n", &[]);
        assert!(e.starts_with("t.toml: chain.tempo: invalid type: string \"fast\""), "{e}");
        let e = first_error("[chain\n", &[]);
        assert!(e.starts_with("t.toml: malformed TOML: line 1, column"), "{e}");
        let e = first_error("[chain.emission]\nschedule = \"cliff\"\n", &[]);
        assert!(e.contains("chain.emission.schedule: unknown variant `cliff`, expected `halving` or `smooth`"), "{e}");
        let e = first_error("[chain]\ninitial_issuance_tao = 22e6\n", &[]);
        assert!(e.starts_with("t.toml: chain.initial_issuance_tao: 22000000 TAO is out of range"), "{e}");
        let e = first_error("", &["chain.tempo"]);
        assert!(e.starts_with("--set: `chain.tempo` is not an override"), "{e}");
        let e = first_error("", &["seed.x=1"]);
        assert_eq!(e, "t.toml: seed: invalid type: map, expected u64");
        let e = first_error("seed = 1", &["seed.x=1"]);
        assert_eq!(e, "--set: seed: is a value, not a section; cannot set a field inside it");
        let e = first_error("", &["run.horizon=30y"]);
        assert!(e.contains("run.horizon: `30y` is not a horizon"), "{e}");
        let e = first_error("[chain.subnets]\ncount = 200\n", &[]);
        assert_eq!(e, "t.toml: chain.subnets.count: 200 is out of range; allowed 0 ..= 128");
        let e = first_error("[chain.pool]\ndesign = \"uniswap\"\n", &[]);
        assert!(
            e.contains("chain.pool.design: unknown variant `uniswap`, expected `balancer` or `constant_product`"),
            "{e}"
        );
        let e = first_error("[chain.subnets]\nroot_stake_tao = 16e6\n", &[]);
        assert!(e.starts_with("t.toml: chain.subnets: the pools"), "{e}");
        let e = first_error("[chain.registration]\nburn_increase_mult = 0.5\n", &[]);
        assert_eq!(e, "t.toml: chain.registration.burn_increase_mult: 0.5 is out of range; allowed 1 ..= 100");
        let e = first_error("name = \"a b\"", &[]);
        assert!(e.starts_with("t.toml: name: `a b` is not allowed"), "{e}");
    }

    #[test]
    fn a_burn_in_is_a_duration_and_may_outlast_a_short_horizon() {
        let s = load_text("", &["run.horizon=\"10d\"", "run.burn_in=\"2d\""]).expect("valid");
        assert_eq!(s.burn_in_blocks(), 2 * 7200);
        assert_eq!(load_text("", &[]).expect("valid").burn_in_blocks(), 0);
        let long = load_text("", &["run.horizon=\"10d\"", "run.burn_in=\"14d\""]).expect("valid");
        assert_eq!(long.burn_in_blocks(), 14 * 7200);
        let e = first_error("", &["run.burn_in=\"2y\""]);
        assert!(e.contains("run.burn_in"), "{e}");
    }

    #[test]
    fn horizons_convert_to_blocks() {
        assert_eq!(Horizon::parse("30d").and_then(|h| h.blocks()), Ok(216_000));
        assert_eq!(Horizon::parse("12h").and_then(|h| h.blocks()), Ok(3_600));
        assert_eq!(Horizon::parse("500b").and_then(|h| h.blocks()), Ok(500));
        assert_eq!(Horizon::parse("500").and_then(|h| h.blocks()), Ok(500));
        assert!(Horizon::parse("0").and_then(|h| h.blocks()).is_err());
        assert!(Horizon::parse("-1d").and_then(|h| h.blocks()).is_err());
        assert!(Horizon::parse("1e9d").and_then(|h| h.blocks()).is_err());
        assert!(Horizon::parse("nand").and_then(|h| h.blocks()).is_err());
    }
}
