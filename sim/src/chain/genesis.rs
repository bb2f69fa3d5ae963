//! The chain's state at the start of a run, built from a few numbers: subnets with pools at a
//! spread of prices, validators with alpha and root stake, miners, and the rest of the TAO
//! with the world account.
//!
//! Each subnet `i` of `n` gets the same TAO reserve and a price on a geometric ladder from
//! `price_max` down to `price_min` (alpha reserve `= tao / price`, rounded to the rao); its
//! outstanding alpha (`alpha_out`) is `staked_alpha_ratio` times the alpha reserve, held in
//! equal parts by the shared validators (the same hotkeys validate every subnet and hold the
//! root stake, as large validators do on mainnet). UID 0 is the owner's hotkey; then the
//! validators, who weight every miner equally; then miners. The price EMA starts at `min(price, 1)`.
//! That is the `ladder` shape; the `snapshot` shape ([`super::snapshot`]) lays the same pieces
//! out as the 2025 network: prices on a rank law summing to a given total, pools sized by
//! price, validators' stake and miners' weights on rank laws, and every genesis UID with the
//! records of an established network's last epoch.

use super::emission::EmissionSchedule;
use super::pool::Pool;
use super::rao::Rao;
use super::registration::new_subnet;
use super::snapshot::{self, SnapshotParams};
use super::state::{ChainError, ChainParams, ChainState};
use super::subnet::{HotkeyId, Neuron};
use substrate_fixed::types::{I96F32, U64F64};

/// What the run starts from, in chain units.
#[derive(Clone, Debug, PartialEq)]
pub struct Genesis {
    /// Total issuance at the start.
    pub initial_issuance: Rao,
    /// The block emission rule.
    pub schedule: EmissionSchedule,
    /// Chain parameters.
    pub params: ChainParams,
    /// Number of subnets (root excluded).
    pub subnets: u16,
    /// TAO reserve of every subnet's pool (the ladder), or of the mean pool (the snapshot).
    pub tao_reserve: Rao,
    /// Highest subnet price, TAO per alpha (subnet 1).
    pub price_max: f64,
    /// Lowest subnet price, TAO per alpha (the last subnet).
    pub price_min: f64,
    /// Outstanding alpha as a multiple of the alpha reserve.
    pub staked_alpha_ratio: f64,
    /// UIDs per subnet (owner and validators included).
    pub neurons_per_subnet: u16,
    /// Validators (shared by all subnets).
    pub validators: u16,
    /// TAO staked on root, split between the validators (equally on the ladder).
    pub root_stake: Rao,
    /// Blocks each subnet has been emitting before the run (speed of its price EMA).
    pub subnet_age_blocks: u64,
    /// How prices, pools, stake and weights are laid out.
    pub shape: Shape,
}

/// The layout of the starting network.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Every pool `tao_reserve`, prices on the geometric ladder `price_max .. price_min`,
    /// stake split equally, miners weighted equally, zero records.
    Ladder,
    /// The 2025 network ([`super::snapshot`]): `tao_reserve` is the mean pool, `price_max` and
    /// `price_min` are unused.
    Snapshot(SnapshotParams),
}

/// What the shape decides, before any account exists.
struct Layout {
    /// Price of each subnet, subnet 1 first.
    prices: Vec<f64>,
    /// TAO reserve of each subnet.
    reserves: Vec<Rao>,
    /// Integer weights splitting root and alpha stake between the validators.
    validator_weights: Vec<u64>,
    /// Exponent of the validators' weights on miners (0: equal).
    miner_weight_exponent: f64,
    /// Whether genesis UIDs get an established network's records.
    records: bool,
}

fn layout(g: &Genesis) -> Result<Layout, GenesisError> {
    let validators = usize::from(g.validators);
    match &g.shape {
        Shape::Ladder => Ok(Layout {
            prices: price_ladder(g.subnets, g.price_max, g.price_min),
            reserves: vec![g.tao_reserve; usize::from(g.subnets)],
            validator_weights: vec![1; validators],
            miner_weight_exponent: 0.0,
            records: false,
        }),
        Shape::Snapshot(p) => {
            let pools = p.pools(g.subnets, g.tao_reserve.as_tao_f64(), g.params.minimum_reserve.as_tao_f64());
            let reserves = pools
                .iter()
                .enumerate()
                .map(|(i, (tao, _))| {
                    Rao::from_tao_f64(*tao)
                        .ok_or_else(|| GenesisError(format!("subnet {}: a TAO reserve of {tao} TAO", i + 1)))
                })
                .collect::<Result<Vec<Rao>, GenesisError>>()?;
            Ok(Layout {
                prices: p.prices(g.subnets),
                reserves,
                validator_weights: snapshot::integer_weights(&snapshot::rank_law(
                    validators,
                    p.validator_stake_exponent,
                    0.0,
                )),
                miner_weight_exponent: p.miner_weight_exponent,
                records: true,
            })
        }
    }
}

/// A setup that cannot be built (too little TAO for the pools and root stake, or a pool
/// below the minimum reserve).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GenesisError(pub String);

impl From<ChainError> for GenesisError {
    fn from(e: ChainError) -> Self {
        GenesisError(e.to_string())
    }
}

/// The subnet prices on the geometric ladder (f64: a scenario input, converted once).
pub fn price_ladder(n: u16, max: f64, min: f64) -> Vec<f64> {
    (0..n).map(|i| if n <= 1 { max } else { max * libm::pow(min / max, f64::from(i) / f64::from(n - 1)) }).collect()
}

/// Builds the starting state.
pub fn build(g: &Genesis) -> Result<ChainState, GenesisError> {
    let mut chain = ChainState::with_params(g.initial_issuance, g.schedule, g.params.clone());
    let layout = layout(g)?;
    let pools_tao: u128 = layout.reserves.iter().map(|r| u128::from(r.0)).sum();
    let needed = pools_tao + u128::from(g.root_stake.0);
    if needed > u128::from(g.initial_issuance.0) {
        return Err(GenesisError(format!(
            "the pools ({} TAO) and root stake ({} TAO) exceed the initial issuance ({} TAO)",
            pools_tao / 1_000_000_000,
            g.root_stake.0 / 1_000_000_000,
            g.initial_issuance.0 / 1_000_000_000
        )));
    }
    // Validators: one coldkey and hotkey each, holding the root stake.
    let validators = usize::from(g.validators);
    let mut validator_keys = Vec::with_capacity(validators);
    for share in snapshot::apportion(g.root_stake.0, &layout.validator_weights) {
        let coldkey = chain.create_coldkey(Rao(share))?;
        let hotkey = chain.create_hotkey(coldkey)?;
        if share > 0 {
            chain.take_balance(coldkey, Rao(share))?;
            chain.root.tao = chain.root.tao.saturating_add(Rao(share));
            chain.root.stakes.entry(hotkey).or_default().add_for_one(coldkey, Rao(share));
        }
        validator_keys.push((coldkey, hotkey));
    }
    let first_miner = 1 + validators.min(usize::from(g.neurons_per_subnet).saturating_sub(1));
    let miners = usize::from(g.neurons_per_subnet).saturating_sub(first_miner);
    let miner_weights = snapshot::miner_weights(miners, layout.miner_weight_exponent);
    for (i, (price, reserve)) in layout.prices.iter().zip(&layout.reserves).enumerate() {
        let netuid = (i + 1) as u16;
        let owner = chain.create_coldkey(Rao::ZERO)?;
        let owner_hotkey = chain.create_hotkey(owner)?;
        let alpha_reserve = Rao::from_tao_f64(reserve.as_tao_f64() / price)
            .ok_or_else(|| GenesisError(format!("subnet {netuid}: price {price} gives no alpha reserve")))?;
        let mut pool = Pool::new(*reserve, alpha_reserve, g.params.pool_design);
        pool.fee_rate = g.params.fee_rate;
        pool.minimum_reserve = g.params.minimum_reserve;
        if pool.tao < pool.minimum_reserve || pool.alpha < pool.minimum_reserve {
            return Err(GenesisError(format!("subnet {netuid}: pool below the minimum reserve")));
        }
        chain.take_balance(super::state::WORLD, *reserve)?;
        let mut subnet = new_subnet(netuid, owner, owner_hotkey, 0, pool, &g.params, true);
        subnet.age_blocks_at_start = g.subnet_age_blocks;
        subnet.moving_price = I96F32::saturating_from_num(subnet.pool.price().min(U64F64::saturating_from_num(1)));
        // Validators' alpha stake.
        let staked = Rao::from_tao_f64(alpha_reserve.as_tao_f64() * g.staked_alpha_ratio).unwrap_or(Rao::ZERO);
        let alpha_stakes = snapshot::apportion(staked.0, &layout.validator_weights);
        for ((coldkey, hotkey), share) in validator_keys.iter().zip(&alpha_stakes) {
            subnet.stakes.entry(*hotkey).or_default().add_for_one(*coldkey, Rao(*share));
            subnet.alpha_out = subnet.alpha_out.saturating_add(Rao(*share));
            if subnet.neurons.len() < usize::from(g.neurons_per_subnet) {
                subnet.neurons.push(Neuron::new(*hotkey, 0));
            }
        }
        // Miners fill the remaining UIDs.
        while subnet.neurons.len() < usize::from(g.neurons_per_subnet) {
            let coldkey = chain.create_coldkey(Rao::ZERO)?;
            let hotkey: HotkeyId = chain.create_hotkey(coldkey)?;
            subnet.neurons.push(Neuron::new(hotkey, 0));
        }
        // Validators weight the miners (equally on the ladder).
        let row: Vec<(u16, u16)> =
            miner_weights.iter().enumerate().map(|(j, w)| ((first_miner + j) as u16, *w)).collect();
        for neuron in subnet.neurons.iter_mut().skip(1).take(validators) {
            neuron.weights = row.clone();
        }
        if layout.records {
            let epoch = snapshot::epoch_alpha(subnet.alpha_issuance(), g.params.tempo, g.params.subnet_owner_cut);
            set_established_records(&mut subnet.neurons, first_miner, &alpha_stakes, &miner_weights, epoch, g);
        }
        chain.subnets.push(Some(subnet));
    }
    Ok(chain)
}

/// Gives the validators' UIDs (1 .. `first_miner`) and the miners' the records of an
/// established network's last epoch ([`snapshot::established_records`]), and the validators
/// their permits (the top `max_allowed_validators` by stake, as the epoch grants them): the
/// chain prunes by last emission, and an established network has no zero records.
fn set_established_records(
    neurons: &mut [Neuron],
    first_miner: usize,
    alpha_stakes: &[u64],
    miner_weights: &[u16],
    epoch: Rao,
    g: &Genesis,
) {
    let registered = &alpha_stakes[..first_miner.saturating_sub(1).min(alpha_stakes.len())];
    let (validators, miners) = snapshot::established_records(epoch, registered, miner_weights);
    let permits = usize::from(g.params.max_allowed_validators);
    let records =
        validators.into_iter().enumerate().map(|(v, r)| (r, v < permits)).chain(miners.into_iter().map(|r| (r, false)));
    for (neuron, (record, permit)) in neurons.iter_mut().skip(1).zip(records) {
        neuron.incentive = record.incentive;
        neuron.dividends = record.dividends;
        neuron.emission = record.emission;
        neuron.validator_permit = permit;
    }
}

/// A small setup for tests: four subnets priced 0.1 down to 0.01 TAO, 1M TAO on root.
#[cfg(test)]
pub(crate) fn small() -> Genesis {
    Genesis {
        initial_issuance: Rao::from_tao(15_700_000),
        schedule: EmissionSchedule::default(),
        params: ChainParams::default(),
        subnets: 4,
        tao_reserve: Rao::from_tao(50_000),
        price_max: 0.1,
        price_min: 0.01,
        staked_alpha_ratio: 1.0,
        neurons_per_subnet: 16,
        validators: 4,
        root_stake: Rao::from_tao(1_000_000),
        subnet_age_blocks: 200_000,
        shape: Shape::Ladder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_conserved_and_priced_on_the_ladder() {
        let chain = build(&small()).expect("genesis");
        chain.check_conservation().expect("conserved");
        assert_eq!(chain.subnet_count(), 4);
        let p1 = chain.subnet(1).map(|s| s.pool.price().to_num::<f64>()).unwrap_or(0.0);
        let p4 = chain.subnet(4).map(|s| s.pool.price().to_num::<f64>()).unwrap_or(0.0);
        assert!((p1 - 0.1).abs() < 1e-9 && (p4 - 0.01).abs() < 1e-9, "{p1} {p4}");
        assert_eq!(chain.root.tao, Rao::from_tao(1_000_000));
        assert_eq!(chain.subnet(2).map(|s| s.neurons.len()), Some(16));
        let mut bad = small();
        bad.root_stake = Rao::from_tao(20_000_000);
        assert!(build(&bad).is_err());
    }
}
