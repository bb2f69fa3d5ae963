//! Participants in the network: miners with GPU fleets, validators, holders, alpha speculators,
//! attackers, and the external TAO/USD market they trade on.
//!
//! Each participant is a deterministic policy (the pure functions of [`crate::economy::agents`]) with
//! its own random stream (`["miner", id, "decide"]`, `["validator", id, "eval"]`, ...). They act
//! only through the chain's operations (`add_stake`, `remove_stake`, `register_neuron`,
//! `set_weights`, `transfer`), and trade TAO for USD on the [`Market`]: a sale moves TAO from
//! the seller's coldkey to the world account (the exchange's side, outside the modelled
//! network) and USD out of the book; a purchase the reverse. USD lives outside the chain, so
//! the chain's conservation ledger holds unchanged with every participant active.
//!
//! Timing (the network's engine events): validators set weights every
//! `weights_every_blocks` (all subnets at once, after the block and its epochs); everyone
//! else decides every `decision_every_blocks` (daily by default): the market advances, miners
//! collect and sell rewards, pay costs, enter and leave, holders stake and panic. Scenario
//! events (shocks and attacks) fire at their blocks. Nothing here runs per block, and no work
//! is O(miners) more often than once a decision.
//!
//! The feedback loop of a price fall is not scripted: miners selling to cover USD costs sell
//! more TAO when the price is lower, their sales move the price through the book, and miners
//! whose rewards no longer cover their costs leave after their patience runs out.

mod attacks;
pub mod config;
mod events;
mod governance;
pub mod graph;
mod holders;
mod miners;
mod record;
mod speculators;
mod trading;

use crate::chain::emission::EmissionSchedule;
use crate::chain::state::WORLD;
use crate::chain::subnet::{ColdkeyId, HotkeyId};
use crate::chain::{ChainState, Rao};
use crate::economy::agents::holder::{
    HolderTraits, choose_target, choose_validator, draw_traits, panics, remembered_peak, score, taste,
};
use crate::economy::agents::miner::{
    LossStreak, SellPolicy, pick_by_expected, quality, registration_pays, tao_to_sell, task_affinity,
};
use crate::economy::agents::validator::{ValidatorPolicy, cabal_weights, copier_weights, draw_take, honest_weights};
use crate::economy::gpus::{Task, subnet_task, task_throughput};
use crate::economy::market::{Market, MarketParams};
use crate::economy::venue::{OrderId, Side};
use crate::engine::time::BLOCKS_PER_DAY;
use crate::error::ScenarioError;
use crate::label;
use crate::rng::{Stream, below, stream, unit_f64};
use config::{EventKind, EventSpec, ParticipantsSection};
use serde::Serialize;
pub use speculators::{News, Speculator};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A row for `events.csv`, collected here and written by the network's recorder.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    /// The block.
    pub block: u64,
    /// What happened (`entry`, `exit`, `registration`, `deregistration`, `attack_step`, ...).
    pub kind: &'static str,
    /// Who (`miner 12`, `holder 3`, `attack 0`, `market`).
    pub subject: String,
    /// The main figure (TAO, USD or a share; see `detail`).
    pub value: String,
    /// In words.
    pub detail: String,
}

/// A GPU type as miners see it.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuKind {
    /// The profile's name.
    pub name: String,
    /// Output column name (`gpus_online_rtx_4090`).
    pub column: String,
    /// Tokens per second of one GPU on each task (index [`Task::index`]), from the
    /// calibration profile (see [`crate::economy::gpus`]).
    pub tokens_per_s: [f64; 2],
    /// USD per GPU-hour (the scenario's, or the reference rent).
    pub usd_per_hour: f64,
    /// Relative frequency.
    pub share: f64,
    /// What miners with this kind earned over the run, USD at the price of each decision.
    pub income_usd: f64,
    /// The rent they were charged over the run, USD.
    pub rent_usd: f64,
    /// Exits of miners with this kind.
    pub exits: u64,
}

/// Where a miner is registered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    /// The subnet.
    pub netuid: u16,
    /// The hotkey registered there.
    pub hotkey: HotkeyId,
    /// Its alpha stake after the last decision (rewards are what came since).
    pub last_stake: Rao,
}

/// A miner's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinerState {
    /// Mining.
    Active,
    /// Outside, considering entry.
    Waiting,
    /// Left at this block; waits `reentry_days` before it may come back.
    Exited(u64),
}

/// A miner: a GPU fleet, its positions and its books.
#[derive(Clone, Debug)]
pub struct Miner {
    /// Index among miners.
    pub id: u32,
    /// Its coldkey.
    pub coldkey: ColdkeyId,
    /// Its registrations.
    pub positions: Vec<Position>,
    /// Index of its GPU type.
    pub gpu: usize,
    /// Number of GPUs.
    pub gpus: u32,
    /// State.
    pub state: MinerState,
    /// Losing decisions in a row.
    pub streak: LossStreak,
    /// Costs not yet paid (cover-costs sellers), USD.
    pub costs_due_usd: f64,
    /// USD made (negative: paid from outside capital).
    pub usd: f64,
    /// Profit of the last decision, USD per day.
    pub profit_usd_per_day: f64,
    /// GPU costs charged so far, USD (paid to the GPUs' owners, or still due).
    pub costs_usd: f64,
    /// The attack it belongs to (GPU-less, never sells or leaves).
    pub attack: Option<usize>,
    rng: Stream,
}

impl Miner {
    /// USD from a sale: it pays the costs due first when the miner sells to cover costs
    /// (`covers`), the rest is the miner's; a payment (negative) is always the miner's.
    fn receive_usd(&mut self, usd: f64, covers: bool) {
        if covers && usd > 0.0 {
            self.costs_due_usd -= usd;
            if self.costs_due_usd < 0.0 {
                self.usd -= self.costs_due_usd;
                self.costs_due_usd = 0.0;
            }
        } else {
            self.usd += usd;
        }
    }
}

/// A validator participant.
#[derive(Clone, Debug)]
pub struct Validator {
    /// Index among validators.
    pub id: u32,
    /// Its coldkey.
    pub coldkey: ColdkeyId,
    /// Its hotkey.
    pub hotkey: HotkeyId,
    /// How it sets weights.
    pub policy: ValidatorPolicy,
    /// The attack it belongs to.
    pub attack: Option<usize>,
    /// Weight rounds since its last evaluation (lazy validators).
    pub rounds_since_eval: u32,
    /// Dividends of the last epochs, TAO per day.
    pub dividends_tao_per_day: f64,
    /// Its delegate take (fraction), set on its hotkey at the start.
    pub take: f64,
    /// Its own alpha stake per subnet after its last sale (dividends are what came since).
    pub own_stake: BTreeMap<u16, Rao>,
    /// USD from its sales.
    pub usd: f64,
    rng: Stream,
}

/// A holder (staker).
#[derive(Clone, Debug)]
pub struct Holder {
    /// Index among holders.
    pub id: u32,
    /// Its coldkey.
    pub coldkey: ColdkeyId,
    /// Never sells.
    pub long_term: bool,
    /// Stakes on root (netuid 0) rather than a subnet.
    pub root: bool,
    /// Day of its first stake.
    pub enters_day: f64,
    /// Where it is staked.
    pub target: Option<(u16, HotkeyId)>,
    /// Highest USD value of the position since staking.
    pub peak_usd: f64,
    /// USD from sales.
    pub usd: f64,
    /// Block it panicked and sold, if out.
    pub out_since: Option<u64>,
    /// Its own traits (threshold, horizon, exit and re-entry days).
    pub traits: HolderTraits,
    /// Days of its exit still to sell (0: not exiting).
    pub exit_days_left: u32,
    rng: Stream,
}

/// An attack in progress and its books.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Attack {
    /// The scenario event index.
    pub event: usize,
    /// Kind, as in the scenario.
    pub kind: String,
    /// The subnet attacked.
    pub netuid: u16,
    /// Block it started.
    pub block: u64,
    /// Hotkeys the attacker controls.
    pub hotkeys: Vec<HotkeyId>,
    /// USD spent buying TAO.
    pub cost_usd: f64,
    /// TAO spent (stake bought and burns).
    pub cost_tao: f64,
    /// TAO lost to slippage in buying stake (spent less alpha at the pre-attack spot price).
    pub slippage_tao: f64,
    /// Emission to the attacker's hotkeys since the attack, TAO at spot.
    pub emission_tao: f64,
    /// Emission of the subnet since the attack, TAO at spot.
    pub subnet_emission_tao: f64,
    /// The attacker's share of the subnet's stake at the last sample.
    pub stake_share: f64,
    /// Whether it reached its goal (takeover: the top permit; cabal: the stake share).
    pub reached: bool,
}

/// What the run's summary records about participants.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ParticipantsSummary {
    /// Miners active at the end.
    pub active_miners: usize,
    /// Entries (registrations of waiting miners) over the run.
    pub entries: u64,
    /// Exits over the run.
    pub exits: u64,
    /// TAO/USD at the end.
    pub final_price_usd: f64,
    /// The attacks and their books.
    pub attacks: Vec<Attack>,
    /// Per GPU kind: throughput, rent, income and exits over the run.
    pub gpus: Vec<GpuSummary>,
    /// The governance attacks and their books.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub governance: Vec<crate::governance::GovernanceAttack>,
}

/// One GPU kind's books over a run (in `summary.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuSummary {
    /// The kind.
    pub name: String,
    /// Training tokens per second of one GPU on training subnets.
    pub training_tokens_per_s: f64,
    /// Decode tokens per second of one GPU on inference subnets.
    pub inference_tokens_per_s: f64,
    /// USD per GPU-hour.
    pub usd_per_hour: f64,
    /// What its miners earned, USD.
    pub income_usd: f64,
    /// The rent they were charged, USD.
    pub rent_usd: f64,
    /// Exits of its miners.
    pub exits: u64,
    /// Its GPUs online at the end.
    pub gpus_online: u64,
}

/// All participants, the market and their bookkeeping.
#[derive(Debug)]
pub struct Participants {
    seed: u64,
    /// The configuration.
    pub cfg: ParticipantsSection,
    /// The external market.
    pub market: Market,
    /// GPU types.
    pub gpus: Vec<GpuKind>,
    /// Miners (active, waiting and exited).
    pub miners: Vec<Miner>,
    /// Validators.
    pub validators: Vec<Validator>,
    /// Holders.
    pub holders: Vec<Holder>,
    /// Alpha speculators.
    pub speculators: Vec<Speculator>,
    /// Each subnet's news factor, as speculators see it.
    pub news: BTreeMap<u16, News>,
    /// Speculators' median multiple (days of emission), fixed at their first decision.
    pub speculator_days: Option<f64>,
    /// Attacks started.
    pub attacks: Vec<Attack>,
    /// The scenario's events.
    pub events: Vec<EventSpec>,
    /// `run.start_date`, for events given as dates.
    pub start_date: Option<String>,
    /// Quality of each mining hotkey (what honest validators evaluate); 0 when offline.
    pub quality: BTreeMap<HotkeyId, f64>,
    /// Training subnets (`tasks.training_netuids`): the Gauntlet's state and books.
    pub training: Vec<training::TrainingSubnet>,
    /// Incentive vectors after each epoch, newest last (kept only while copiers exist).
    pub consensus_history: BTreeMap<u16, VecDeque<Vec<u16>>>,
    price_history: BTreeMap<u16, VecDeque<f64>>,
    /// Rows for `events.csv` not yet written.
    pub log: Vec<LogRow>,
    last_decision_block: u64,
    /// Net TAO sold per day over the last decision interval.
    pub sell_pressure_tao_per_day: f64,
    /// Net USD taken out per day over the last decision interval.
    pub sell_pressure_usd_per_day: f64,
    /// Entries so far.
    pub entries: u64,
    /// Exits so far.
    pub exits: u64,
    /// Decisions taken so far (the first only opens the books: no profit or loss is counted).
    pub decisions: u64,
    /// Expected TAO per day of one more miner, by subnet, at this decision (a snapshot taken
    /// once per decision, so entry costs O(subnets) per candidate, not O(UIDs)).
    expected: Vec<(u16, f64)>,
    /// Each subnet's (netuid, annual yield to stakers, price momentum) at this decision, for
    /// holders' choices (taken once per decision).
    subnet_scores: Vec<(u16, f64, f64)>,
    /// Books of the scenario's sell_tao and buy_tao orders, by venue order.
    pub event_orders: BTreeMap<OrderId, EventOrder>,
    /// USD each scenario event received (negative: paid) through the venue.
    pub event_usd: Vec<f64>,
    /// Governance: the model, conviction locks, the attackers' capital and books.
    pub governance: crate::governance::GovernanceState,
}

/// A scenario trade (sell_tao, buy_tao) and how it went.
#[derive(Clone, Debug, PartialEq)]
pub struct EventOrder {
    /// The scenario event.
    pub event: usize,
    /// The trader's label.
    pub label: String,
    /// Its coldkey.
    pub coldkey: ColdkeyId,
    /// Sale or purchase.
    pub side: Side,
    /// TAO/USD when it started.
    pub start_price: f64,
    /// The lowest (sale) or highest (purchase) price while it ran.
    pub worst_price: f64,
    /// TAO filled so far.
    pub filled_tao: f64,
    /// USD received (sale) or paid (purchase) so far.
    pub usd: f64,
}

/// Output column of a GPU type: `gpus_online_` + lowercase name, non-alphanumerics as `_`.
pub fn gpu_column(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    format!("gpus_online_{s}")
}

/// The value at quantile `q` of sorted `v` (nearest rank), 0 for an empty slice.
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = libm::ceil(q * v.len() as f64).max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn tao_of(amount: Rao) -> f64 {
    amount.as_tao_f64()
}

fn price_of(chain: &ChainState, netuid: u16) -> f64 {
    chain.subnet(netuid).map_or(0.0, |s| s.pool.price().to_num::<f64>())
}

/// Who a venue order belongs to: the kind in the high bits, the index in the low bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A miner (index into `miners`).
    Miner(u32),
    /// A holder (index into `holders`).
    Holder(u32),
    /// A validator (index into `validators`).
    Validator(u32),
    /// A scenario event (index into `events`): sell_tao, buy_tao, mass_unstake.
    Event(u32),
}

impl Owner {
    /// The venue's owner tag.
    pub fn tag(self) -> u64 {
        match self {
            Owner::Miner(i) => (1 << 32) | u64::from(i),
            Owner::Holder(i) => (2 << 32) | u64::from(i),
            Owner::Validator(i) => (3 << 32) | u64::from(i),
            Owner::Event(i) => (4 << 32) | u64::from(i),
        }
    }

    /// The owner of a venue tag.
    pub fn from_tag(tag: u64) -> Option<Owner> {
        let i = (tag & 0xffff_ffff) as u32;
        match tag >> 32 {
            1 => Some(Owner::Miner(i)),
            2 => Some(Owner::Holder(i)),
            3 => Some(Owner::Validator(i)),
            4 => Some(Owner::Event(i)),
            _ => None,
        }
    }
}

/// Buys `tao` TAO on the market for `coldkey` (USD out of the buyer's pocket), moving what
/// fills at once from the world account (the exchange's side); a part that cannot fill now
/// stays queued and reaches the coldkey as the venue fills it. Returns (USD paid now, TAO
/// received now).
fn buy_tao_for(chain: &mut ChainState, market: &mut Market, owner: Owner, coldkey: ColdkeyId, tao: f64) -> (f64, Rao) {
    if !(tao.is_finite() && tao > 0.0) {
        return (0.0, Rao::ZERO);
    }
    let usd = tao * market.price_usd() * 1.02;
    let placed = market.place(owner.tag(), Side::Buy, usd);
    let rao = Rao::from_tao_f64(placed.filled.tao).unwrap_or(Rao::ZERO).min(chain.balance(WORLD));
    if chain.transfer(WORLD, coldkey, rao).is_err() {
        return (placed.filled.usd, Rao::ZERO);
    }
    (placed.filled.usd, rao)
}

/// Sells up to `tao` of `coldkey`'s free TAO on the market: the TAO goes to the exchange's
/// custody (the world account) at once; returns the USD received now and the TAO handed
/// over. What does not fill now (a large order, or while the venue is frozen) stays queued
/// and its USD reaches the owner as the venue fills it.
fn sell_tao_from(
    chain: &mut ChainState,
    market: &mut Market,
    owner: Owner,
    coldkey: ColdkeyId,
    tao: f64,
) -> (f64, Rao) {
    if !(tao.is_finite() && tao > 0.0) {
        return (0.0, Rao::ZERO);
    }
    let rao = Rao::from_tao_f64(tao).unwrap_or(Rao::ZERO).min(chain.balance(coldkey));
    if rao.0 == 0 || chain.transfer(coldkey, WORLD, rao).is_err() {
        return (0.0, Rao::ZERO);
    }
    (market.place(owner.tag(), Side::Sell, tao_of(rao)).filled.usd, rao)
}

/// Unstakes everything `coldkey` holds through `hotkey` on `netuid`.
fn unstake_all(chain: &mut ChainState, coldkey: ColdkeyId, hotkey: HotkeyId, netuid: u16) -> Rao {
    let stake = chain.stake_of(coldkey, hotkey, netuid);
    if stake.0 == 0 {
        return Rao::ZERO;
    }
    chain.remove_stake(coldkey, hotkey, netuid, stake, None).unwrap_or(Rao::ZERO)
}

/// A subnet's annual yield to its stakers, in alpha per staked alpha: the last block's alpha
/// emission over the staked alpha (a holder's stake lowers it).
fn annual_yield(chain: &ChainState, netuid: u16) -> f64 {
    chain.subnet(netuid).map_or(0.0, |s| {
        let staked = s.staked_alpha() as f64 / 1e9;
        tao_of(s.last.alpha_out) * BLOCKS_PER_DAY as f64 * 365.0 / staked.max(1.0)
    })
}

/// TAO per unit of stake on `netuid`: 1 on root, the pool's price on a subnet.
fn stake_price(chain: &ChainState, netuid: u16) -> f64 {
    if netuid == 0 { 1.0 } else { price_of(chain, netuid) }
}

/// A coldkey's own alpha stake through `hotkey` on every subnet where it has some.
fn own_stakes(chain: &ChainState, coldkey: ColdkeyId, hotkey: HotkeyId) -> BTreeMap<u16, Rao> {
    chain.netuids().into_iter().map(|n| (n, chain.stake_of(coldkey, hotkey, n))).filter(|(_, s)| s.0 > 0).collect()
}

/// Miners' share of a subnet's alpha per block: (1 - owner cut) / 2.
fn miner_alpha_share(chain: &ChainState) -> f64 {
    (1.0 - f64::from(chain.params.subnet_owner_cut) / 65_535.0) * 0.5
}

impl Participants {
    /// Participants of the starting network `chain` as `cfg` describes them, with the GPU
    /// types' speeds from `profile`. Creates the waiting miners' and holders' coldkeys (the
    /// holders' funded from the world account).
    pub fn new(
        cfg: &ParticipantsSection,
        market: &MarketParams,
        events: &[EventSpec],
        start_date: Option<String>,
        seed: u64,
        profile: &kernels::profile::Profile,
        chain: &mut ChainState,
    ) -> Result<Self, ScenarioError> {
        let mut gpus = Vec::new();
        for (i, g) in cfg.miners.gpu_types.iter().enumerate() {
            let t = profile.throughput(&g.name).map_err(|e| {
                ScenarioError::new("scenario", format!("participants.miners.gpu_types[{i}].name"), e.to_string())
            })?;
            let usd_per_hour = g
                .usd_per_gpu_hour
                .or_else(|| crate::economy::gpus::reference_rent_usd_per_hour(&g.name))
                .ok_or_else(|| {
                    ScenarioError::new(
                        "scenario",
                        format!("participants.miners.gpu_types[{i}].usd_per_gpu_hour"),
                        format!("missing, and `{}` has no reference rent; give one", g.name),
                    )
                })?;
            gpus.push(GpuKind {
                name: g.name.clone(),
                column: gpu_column(&g.name),
                tokens_per_s: task_throughput(t, &cfg.miners.tasks),
                usd_per_hour,
                share: g.share,
                income_usd: 0.0,
                rent_usd: 0.0,
                exits: 0,
            });
        }
        let mut p = Self {
            seed,
            cfg: cfg.clone(),
            market: Market::new(market.clone(), stream(seed, &label!["market"])),
            gpus,
            miners: Vec::new(),
            validators: Vec::new(),
            holders: Vec::new(),
            speculators: Vec::new(),
            news: BTreeMap::new(),
            speculator_days: None,
            attacks: Vec::new(),
            events: events.to_vec(),
            start_date,
            quality: BTreeMap::new(),
            training: Vec::new(),
            consensus_history: BTreeMap::new(),
            price_history: BTreeMap::new(),
            log: Vec::new(),
            last_decision_block: chain.block.0,
            sell_pressure_tao_per_day: 0.0,
            sell_pressure_usd_per_day: 0.0,
            entries: 0,
            exits: 0,
            decisions: 0,
            expected: Vec::new(),
            subnet_scores: Vec::new(),
            event_orders: BTreeMap::new(),
            event_usd: vec![0.0; events.len()],
            governance: crate::governance::GovernanceState::default(),
        };
        // Validators: every hotkey holding stake at the start (root or alpha), owners excepted.
        let owners: BTreeSet<HotkeyId> = chain.subnets.iter().flatten().map(|s| s.owner_hotkey).collect();
        let mut staked: BTreeSet<HotkeyId> = chain.root.stakes.keys().copied().collect();
        for s in chain.subnets.iter().flatten() {
            staked.extend(s.stakes.keys().copied());
        }
        let validator_keys: Vec<HotkeyId> = staked.into_iter().filter(|h| !owners.contains(h)).collect();
        let n = validator_keys.len();
        let v = &cfg.validators;
        let copiers = libm::round(v.copier_fraction * n as f64) as usize;
        let lazy = (libm::round(v.lazy_fraction * n as f64) as usize).min(n - copiers.min(n));
        for (i, hotkey) in validator_keys.iter().enumerate() {
            let policy = if i >= n - copiers.min(n) {
                ValidatorPolicy::Copier
            } else if i >= n - copiers.min(n) - lazy {
                ValidatorPolicy::Lazy { refresh_epochs: v.lazy_refresh, noise_sd: v.honest_noise_sd }
            } else {
                ValidatorPolicy::Honest { noise_sd: v.honest_noise_sd }
            };
            let coldkey = chain.hotkeys.get(hotkey.0 as usize).map_or(WORLD, |h| h.owner);
            p.add_validator(coldkey, *hotkey, policy, None);
            // Each validator's own take (a property of the starting network, as the
            // validators chose it before the run), within the chain's cap.
            let take = p.validators.last().map_or(0.0, |v| v.take);
            if let Some(h) = chain.hotkeys.get_mut(hotkey.0 as usize) {
                h.take = libm::round(take * 65_535.0).clamp(0.0, 11_796.0) as u16;
            }
        }
        let mut netuids = cfg.miners.tasks.training_netuids.clone();
        netuids.sort_unstable();
        netuids.dedup();
        for netuid in netuids {
            if chain.subnet(netuid).is_none() {
                return Err(ScenarioError::new(
                    "scenario",
                    "participants.miners.tasks.training_netuids",
                    format!("subnet {netuid} does not exist at the start; allowed: {:?}", chain.netuids()),
                ));
            }
            p.training.push(training::TrainingSubnet::new(seed, netuid, chain.block.0));
        }
        p.add_speculators(chain)?;
        for v in &mut p.validators {
            v.own_stake = own_stakes(chain, v.coldkey, v.hotkey);
        }
        // Miners of the starting network: every other neuron except the owners.
        let vset: BTreeSet<HotkeyId> = validator_keys.iter().copied().collect();
        let mut genesis_miners: Vec<(u16, HotkeyId)> = Vec::new();
        for s in chain.subnets.iter().flatten() {
            for nrn in &s.neurons {
                if !vset.contains(&nrn.hotkey) && nrn.hotkey != s.owner_hotkey {
                    genesis_miners.push((s.netuid, nrn.hotkey));
                }
            }
        }
        for (netuid, hotkey) in genesis_miners {
            let coldkey = chain.hotkeys.get(hotkey.0 as usize).map_or(WORLD, |h| h.owner);
            let id = p.new_miner(coldkey, MinerState::Active, None);
            let stake = chain.stake_of(coldkey, hotkey, netuid);
            p.miners[id].positions.push(Position { netuid, hotkey, last_stake: stake });
            p.refresh_quality(id);
        }
        // Waiting miners.
        for _ in 0..cfg.miners.candidates {
            let coldkey =
                chain.create_coldkey(Rao::ZERO).map_err(|e| ScenarioError::new("scenario", "", e.to_string()))?;
            p.new_miner(coldkey, MinerState::Waiting, None);
        }
        // Holders, funded from the world account.
        let h = &cfg.holders;
        let each = Rao::from_tao_f64(h.tao_each).unwrap_or(Rao::ZERO);
        let long_term = libm::round(h.long_term_fraction * f64::from(h.count)) as u32;
        // Root stakers are the last holders by index, so they overlap the long-term ones only
        // when the two fractions add up to more than one.
        let root_from = h.count - (libm::round(h.root_fraction * f64::from(h.count)) as u32).min(h.count);
        for id in 0..h.count {
            let coldkey = chain.create_coldkey(each).map_err(|e| {
                ScenarioError::new("scenario", "participants.holders", format!("cannot fund the holders: {e}"))
            })?;
            let mut traits_rng = stream(seed, &label!["holder", id, "traits"]);
            let traits = draw_traits(&h.policy, h.reentry_days, &mut traits_rng);
            let enters_day = h.entry_days * unit_f64(&mut traits_rng);
            p.holders.push(Holder {
                id,
                coldkey,
                long_term: id < long_term,
                root: id >= root_from,
                enters_day,
                target: None,
                peak_usd: 0.0,
                usd: 0.0,
                out_since: None,
                traits,
                exit_days_left: 0,
                rng: stream(seed, &label!["holder", id, "decide"]),
            });
        }
        Ok(p)
    }

    fn add_validator(&mut self, coldkey: ColdkeyId, hotkey: HotkeyId, policy: ValidatorPolicy, attack: Option<usize>) {
        let id = self.validators.len() as u32;
        let v = &self.cfg.validators;
        let take = draw_take(v.take_min, v.take_max, &mut stream(self.seed, &label!["validator", id, "take"]));
        self.validators.push(Validator {
            id,
            coldkey,
            hotkey,
            policy,
            attack,
            rounds_since_eval: 0,
            dividends_tao_per_day: 0.0,
            take,
            own_stake: BTreeMap::new(),
            usd: 0.0,
            rng: stream(self.seed, &label!["validator", id, "eval"]),
        });
    }

    /// A new miner with a fleet drawn from the GPU catalogue (none for attackers).
    fn new_miner(&mut self, coldkey: ColdkeyId, state: MinerState, attack: Option<usize>) -> usize {
        let id = self.miners.len() as u32;
        let mut rng = stream(self.seed, &label!["miner", id, "decide"]);
        let total: f64 = self.gpus.iter().map(|g| g.share).sum();
        let mut u = unit_f64(&mut rng) * total;
        let mut gpu = 0;
        for (i, g) in self.gpus.iter().enumerate() {
            gpu = i;
            if u < g.share {
                break;
            }
            u -= g.share;
        }
        let m = &self.cfg.miners;
        let span = u64::from(m.gpus_max.saturating_sub(m.gpus_min)) + 1;
        let gpus = if attack.is_some() { 0 } else { m.gpus_min + below(&mut rng, span) as u32 };
        self.miners.push(Miner {
            id,
            coldkey,
            positions: Vec::new(),
            gpu,
            gpus,
            state,
            streak: LossStreak::default(),
            costs_due_usd: 0.0,
            usd: 0.0,
            profit_usd_per_day: 0.0,
            costs_usd: 0.0,
            attack,
            rng,
        });
        self.miners.len() - 1
    }

    /// Redraws the quality of each of a miner's positions from its GPUs' throughput on each
    /// subnet's task, split over its positions.
    fn refresh_quality(&mut self, i: usize) {
        let cfg = &self.cfg.miners;
        let m = &mut self.miners[i];
        let share = f64::from(m.gpus) / m.positions.len().max(1) as f64;
        for pos in &m.positions {
            let task = subnet_task(self.seed, pos.netuid, &cfg.tasks);
            let per_gpu = self.gpus.get(m.gpu).map_or(0.0, |g| g.tokens_per_s[task.index()]);
            let affinity = task_affinity(self.seed, pos.netuid, m.gpu, cfg.task_affinity_sd);
            let q = quality(share * per_gpu * affinity, cfg.quality_elasticity, cfg.quality_noise_sd, &mut m.rng);
            self.quality.insert(pos.hotkey, q);
        }
    }

    fn cost_usd_per_day(&self, m: &Miner) -> f64 {
        self.gpus.get(m.gpu).map_or(0.0, |g| f64::from(m.gpus) * g.usd_per_hour * 24.0)
    }

    fn push(&mut self, block: u64, kind: &'static str, subject: String, value: String, detail: String) {
        self.log.push(LogRow { block, kind, subject, value, detail });
    }

    /// Whether any validator copies weights (history of consensus is kept only then).
    fn has_copiers(&self) -> bool {
        self.validators.iter().any(|v| matches!(v.policy, ValidatorPolicy::Copier))
    }

    /// After a subnet's epoch: keep the visible consensus for copiers and count attackers'
    /// emission.
    pub fn after_epoch(&mut self, netuid: u16, chain: &ChainState) {
        let Some(s) = chain.subnet(netuid) else { return };
        if self.has_copiers() {
            let keep = self.cfg.validators.commit_reveal_epochs as usize + 1;
            let h = self.consensus_history.entry(netuid).or_default();
            h.push_back(s.neurons.iter().map(|n| n.incentive).collect());
            while h.len() > keep {
                h.pop_front();
            }
        }
        if self.attacks.iter().any(|a| a.netuid == netuid) {
            let price = s.pool.price().to_num::<f64>();
            let total: f64 = s.neurons.iter().map(|n| tao_of(n.emission)).sum::<f64>() * price;
            for a in self.attacks.iter_mut().filter(|a| a.netuid == netuid) {
                let mine: f64 =
                    s.neurons.iter().filter(|n| a.hotkeys.contains(&n.hotkey)).map(|n| tao_of(n.emission)).sum();
                a.emission_tao += mine * price;
                a.subnet_emission_tao += total;
            }
        }
    }

    /// The consensus a copier can see on `netuid`: the incentive vector of
    /// `commit_reveal_epochs` epochs before the last one (the last one without commit-reveal).
    pub fn visible_consensus(&self, netuid: u16) -> Option<&Vec<u16>> {
        let h = self.consensus_history.get(&netuid)?;
        let delay = self.cfg.validators.commit_reveal_epochs as usize;
        if h.len() <= delay { None } else { h.get(h.len() - 1 - delay) }
    }

    /// Every validator sets weights on every subnet it is registered on, by its policy.
    pub fn set_weights(&mut self, chain: &mut ChainState) {
        for v in &mut self.validators {
            v.rounds_since_eval = v.rounds_since_eval.saturating_add(1);
        }
        if !self.training.is_empty() {
            self.evaluate_training_windows(chain);
        }
        let by_hotkey: BTreeMap<HotkeyId, usize> =
            self.validators.iter().enumerate().map(|(i, v)| (v.hotkey, i)).collect();
        for netuid in chain.netuids() {
            let Some(s) = chain.subnet(netuid) else { continue };
            let n = s.neurons.len();
            // On a training subnet honest validators weight by the Gauntlet's weights.
            let q: Vec<f64> = self.gauntlet_weights_of(netuid).unwrap_or_else(|| {
                s.neurons.iter().map(|nr| self.quality.get(&nr.hotkey).copied().unwrap_or(0.0)).collect()
            });
            let here: Vec<(u16, usize)> = s
                .neurons
                .iter()
                .enumerate()
                .filter_map(|(uid, nr)| by_hotkey.get(&nr.hotkey).map(|v| (uid as u16, *v)))
                .collect();
            let attack_uids: BTreeMap<usize, Vec<usize>> = {
                let mut m: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
                if !self.attacks.is_empty() {
                    for (uid, nr) in s.neurons.iter().enumerate() {
                        for (a, attack) in self.attacks.iter().enumerate() {
                            if attack.netuid == netuid && attack.hotkeys.contains(&nr.hotkey) {
                                m.entry(a).or_default().push(uid);
                            }
                        }
                    }
                }
                m
            };
            let visible = self.visible_consensus(netuid).cloned();
            for (uid, vi) in here {
                let v = &mut self.validators[vi];
                let row: Vec<u16> = match &v.policy {
                    ValidatorPolicy::Honest { noise_sd } => honest_weights(&q, *noise_sd, &mut v.rng),
                    ValidatorPolicy::Lazy { refresh_epochs, noise_sd } => {
                        if v.rounds_since_eval >= *refresh_epochs || !chain_has_weights(chain, netuid, uid) {
                            honest_weights(&q, *noise_sd, &mut v.rng)
                        } else {
                            continue;
                        }
                    }
                    ValidatorPolicy::Copier => match &visible {
                        Some(c) if c.len() == n => copier_weights(c),
                        _ => continue,
                    },
                    ValidatorPolicy::Cabal => {
                        let own = v.attack.and_then(|a| attack_uids.get(&a)).cloned().unwrap_or_default();
                        cabal_weights(n, &own)
                    }
                };
                let sparse: Vec<(u16, u16)> = row
                    .iter()
                    .enumerate()
                    .filter(|(j, w)| **w > 0 && *j != usize::from(uid))
                    .map(|(j, w)| (j as u16, *w))
                    .collect();
                if sparse.is_empty() {
                    continue;
                }
                let hotkey = v.hotkey;
                let _ = chain.set_weights(hotkey, netuid, sparse);
            }
        }
        for v in &mut self.validators {
            if let ValidatorPolicy::Lazy { refresh_epochs, .. } = v.policy
                && v.rounds_since_eval >= refresh_epochs
            {
                v.rounds_since_eval = 0;
            }
        }
    }

    /// One decision of everyone but the validators' weights: the market step, miners,
    /// holders, then the day's figures.
    pub fn decide(&mut self, chain: &mut ChainState) {
        let block = chain.block.0;
        // The first decision comes one block after the start; it stands for a whole interval
        // (its flows are divided by the interval, not by one block).
        let interval_days = self.cfg.decision_every_blocks as f64 / BLOCKS_PER_DAY as f64;
        let since = block.saturating_sub(self.last_decision_block) as f64 / BLOCKS_PER_DAY as f64;
        let dt_days = if self.decisions == 0 { interval_days } else { since.max(interval_days * 1e-3) };
        self.last_decision_block = block;
        self.decisions += 1;
        for netuid in chain.netuids() {
            let p = price_of(chain, netuid);
            let h = self.price_history.entry(netuid).or_default();
            h.push_back(p);
            while h.len() > self.cfg.holders.momentum_days as usize + 1 {
                h.pop_front();
            }
        }
        self.expected = chain
            .netuids()
            .into_iter()
            .filter(|n| chain.subnet(*n).is_some_and(|s| s.registration_allowed))
            .map(|n| (n, Self::expected_tao_per_day(chain, n)))
            .collect();
        self.subnet_scores = chain
            .netuids()
            .into_iter()
            .map(|n| {
                let annual_yield = annual_yield(chain, n);
                let momentum = self.price_history.get(&n).map_or(0.0, |h| match (h.front(), h.back()) {
                    (Some(a), Some(b)) if *a > 0.0 && *b > 0.0 => libm::log(b / a),
                    _ => 0.0,
                });
                (n, annual_yield, momentum)
            })
            .collect();
        for i in 0..self.miners.len() {
            match self.miners[i].state {
                MinerState::Active => self.miner_step(i, chain, block, dt_days),
                MinerState::Waiting => self.miner_entry(i, chain, block),
                MinerState::Exited(at) => {
                    if (block.saturating_sub(at) as f64) >= self.cfg.miners.reentry_days * BLOCKS_PER_DAY as f64 {
                        self.miners[i].state = MinerState::Waiting;
                    }
                }
            }
            if self.miners[i].state == MinerState::Active && self.miners[i].attack.is_none() {
                let m = &self.miners[i];
                if m.positions.len() < usize::from(self.cfg.miners.max_subnets) {
                    self.miner_entry(i, chain, block);
                }
            }
        }
        self.close_training_books(dt_days);
        for i in 0..self.holders.len() {
            self.holder_step(i, chain, block, dt_days);
        }
        self.speculators_step(chain, dt_days);
        self.validators_sell(chain);
        let flows = self.market.take_flows();
        self.sell_pressure_tao_per_day = flows.net_sold_tao / dt_days;
        self.sell_pressure_usd_per_day = flows.net_usd_out / dt_days;
        self.update_dividends(chain);
    }

    /// Validators sell `sell_fraction` of their own dividends (the growth of their own stake
    /// since their last sale) on every subnet.
    fn validators_sell(&mut self, chain: &mut ChainState) {
        let fraction = self.cfg.validators.sell_fraction.clamp(0.0, 1.0);
        let netuids = chain.netuids();
        for i in 0..self.validators.len() {
            let (coldkey, hotkey) = (self.validators[i].coldkey, self.validators[i].hotkey);
            if self.validators[i].attack.is_some() {
                continue;
            }
            for &netuid in &netuids {
                let now = chain.stake_of(coldkey, hotkey, netuid);
                let last = self.validators[i].own_stake.get(&netuid).copied().unwrap_or(now);
                let gain = now.saturating_sub(last);
                let alpha = Rao((gain.0 as f64 * fraction) as u64);
                if alpha.0 > 0 {
                    let _ = chain.remove_stake(coldkey, hotkey, netuid, alpha, None);
                }
                let after = chain.stake_of(coldkey, hotkey, netuid);
                if after.0 > 0 {
                    self.validators[i].own_stake.insert(netuid, after);
                } else {
                    self.validators[i].own_stake.remove(&netuid);
                }
            }
            let free = tao_of(chain.balance(coldkey));
            if free > 0.0 {
                let (usd, _) = sell_tao_from(chain, &mut self.market, Owner::Validator(i as u32), coldkey, free);
                self.validators[i].usd += usd;
            }
        }
    }

    fn update_dividends(&mut self, chain: &ChainState) {
        let by_hotkey: BTreeMap<HotkeyId, usize> =
            self.validators.iter().enumerate().map(|(i, v)| (v.hotkey, i)).collect();
        for v in &mut self.validators {
            v.dividends_tao_per_day = 0.0;
        }
        for s in chain.subnets.iter().flatten() {
            let price = s.pool.price().to_num::<f64>();
            let epochs_per_day = BLOCKS_PER_DAY as f64 / (f64::from(s.tempo) + 1.0);
            for n in &s.neurons {
                if let Some(i) = by_hotkey.get(&n.hotkey) {
                    self.validators[*i].dividends_tao_per_day += tao_of(n.emission) * price * epochs_per_day;
                }
            }
        }
    }
}

fn chain_has_weights(chain: &ChainState, netuid: u16, uid: u16) -> bool {
    chain.subnet(netuid).and_then(|s| s.neurons.get(usize::from(uid))).is_some_and(|n| !n.weights.is_empty())
}

fn network_tao(amount: Rao) -> String {
    amount.decimal_tao()
}

#[cfg(test)]
mod governance_tests;
#[cfg(test)]
mod profile_tests;
#[cfg(test)]
mod tests;
pub mod training;
#[cfg(test)]
mod training_tests;
