//! The `snapshot` genesis shape: a network laid out as the real one stood in 2025, instead of
//! the even `ladder` (same pool everywhere, prices on a geometric ladder, equal validators).
//!
//! Reference figures (shared/spec/economy-calibration.md §2, from the alphamind-transparency
//! emission data for Sep-Oct 2025 and arXiv 2507.02951 for stake):
//!
//! - subnet prices follow a rank law `p_i ∝ (i + c)^-s`, scaled so that their sum is
//!   `price_sum` (the sum of alpha prices was 1.0-2.4 through 2025). Under the `price_ema`
//!   rule emission shares are the prices' shares, so `s` and `c` set the emission
//!   concentration: the defaults `s = 1.3`, `c = 4` give, for 128 subnets, top-10 46.0 %,
//!   HHI 0.0300, largest 9.0 %, median 0.31 % (real: 43-49 %, 0.028-0.034, 8-10 %, 0.3 %);
//! - pool TAO reserves are not in the reference. They are derived: the scenario's
//!   `tao_reserve_tao` times the subnet count is split in proportion to `p_i^k` with
//!   `0 <= k <= 1` (`pool_depth_exponent`, default 0.75), floored at the pool minimum. Each
//!   block the chain injects the same alpha into every pool (`tao_emission / price`, with
//!   TAO emission in proportion to price), which alone would give `k = 1` (equal alpha
//!   reserves); stakers buying alpha out of the popular pools make their alpha scarcer, so
//!   `k < 1`: large subnets have deeper pools, small ones more alpha;
//! - validators' root and alpha stake follow `v^-a` by validator rank (`validator_stake_exponent`,
//!   default 1.5: the top 10 of 64 hold 84 %, the top 5 74 %; real: ~85 % and > 65 %);
//! - validators weight miners by a rank law `j^-b` (`miner_weight_exponent`, default 1.5; not
//!   in the reference: most of a subnet's miner incentive goes to a few miners). With equal
//!   miner weights every miner would earn `1/191` of the miners' half, more than the smallest
//!   validators' stake share, so those validators, not miners, would be pruned first;
//! - every genesis UID carries the records of an established network (see
//!   [`established_records`]): the chain prunes the UID with the lowest last emission, and
//!   with all records at zero it pruned the oldest UIDs, the validators, first.

use super::emission::{BASE_BLOCK_EMISSION, SUPPLY_CAP, halving_emission};
use super::math::mul_div;
use super::rao::Rao;
use super::state::ChainState;
use serde::{Deserialize, Serialize};

/// How genesis prices and sizes the subnets and splits the stake (`[chain.subnets] shape`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    /// Equal pools, prices on a geometric ladder, equal validators, zero genesis records.
    #[default]
    Ladder,
    /// The 2025 network's shape (this module).
    Snapshot,
}

impl ShapeKind {
    /// Whether this is the ladder (left out of written scenarios, which so stay as they were).
    pub fn is_ladder(&self) -> bool {
        *self == ShapeKind::Ladder
    }
}

/// The snapshot shape's parameters (`[chain.subnets.snapshot]`); the ladder ignores them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotParams {
    /// Sum of all subnets' prices, TAO per alpha (2025: 1.0-2.4).
    pub price_sum: f64,
    /// `s` of `p_i ∝ (i + c)^-s`: larger concentrates emission on the first subnets.
    pub price_exponent: f64,
    /// `c` of `p_i ∝ (i + c)^-s`: larger flattens the top of the ranking.
    pub price_offset: f64,
    /// `k` of `tao_i ∝ p_i^k`: 0 gives equal pools, 1 equal alpha reserves.
    pub pool_depth_exponent: f64,
    /// `a` of validator `v`'s stake share `∝ v^-a` (root and every subnet); 0 splits equally.
    pub validator_stake_exponent: f64,
    /// `b` of miner `j`'s genesis weight `∝ j^-b` (from every validator); 0 weights equally.
    pub miner_weight_exponent: f64,
}

impl Default for SnapshotParams {
    fn default() -> Self {
        Self {
            price_sum: 1.3,
            price_exponent: 1.3,
            price_offset: 4.0,
            pool_depth_exponent: 0.75,
            validator_stake_exponent: 1.5,
            miner_weight_exponent: 1.5,
        }
    }
}

impl SnapshotParams {
    /// Whether every parameter has its default (left out of written scenarios).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Out-of-range parameters: (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, v: f64, lo: f64, hi: f64| {
            out.extend(crate::error::out_of_range(v, lo, hi).map(|m| (field, m)));
        };
        check("price_sum", self.price_sum, 1e-6, 1e6);
        check("price_exponent", self.price_exponent, 0.0, 10.0);
        check("price_offset", self.price_offset, 0.0, 1e6);
        check("pool_depth_exponent", self.pool_depth_exponent, 0.0, 1.0);
        check("validator_stake_exponent", self.validator_stake_exponent, 0.0, 10.0);
        check("miner_weight_exponent", self.miner_weight_exponent, 0.0, 10.0);
        out
    }

    /// The subnets' prices, TAO per alpha, subnet 1 first: `price_sum` times
    /// [`rank_law`]`(count, s, c)`.
    pub fn prices(&self, count: u16) -> Vec<f64> {
        rank_law(usize::from(count), self.price_exponent, self.price_offset)
            .into_iter()
            .map(|share| self.price_sum * share)
            .collect()
    }

    /// Each subnet's TAO reserve and alpha reserve in TAO and alpha (f64, converted to rao
    /// once by genesis): `count * mean_reserve` split by [`pool_reserves`], alpha the TAO over
    /// the price.
    pub fn pools(&self, count: u16, mean_reserve_tao: f64, min_reserve_tao: f64) -> Vec<(f64, f64)> {
        let prices = self.prices(count);
        let total = mean_reserve_tao * f64::from(count);
        let tao = pool_reserves(&prices, total, self.pool_depth_exponent, min_reserve_tao);
        tao.iter().zip(&prices).map(|(t, p)| (*t, t / p)).collect()
    }

    /// Why these pools cannot be built (a reserve below the minimum or an alpha reserve above
    /// 1.8e10, what the pool's fixed point holds), naming the first subnet at fault.
    pub fn pool_problem(&self, count: u16, mean_reserve_tao: f64, min_reserve_tao: f64) -> Option<String> {
        let pools = self.pools(count, mean_reserve_tao, min_reserve_tao);
        let (i, (tao, alpha)) = pools.iter().enumerate().find(|(_, (tao, alpha))| {
            !(alpha.is_finite() && *tao >= min_reserve_tao && *alpha >= min_reserve_tao && *alpha <= 1.8e10)
        })?;
        Some(format!(
            "subnet {}'s pool ({tao} TAO, {alpha} alpha) must lie between the minimum reserve and 1.8e10",
            i + 1
        ))
    }
}

/// Shares of a rank law, `(i + offset)^-exponent` for ranks `i = 1..=n`, normalised to sum 1
/// (largest first; equal with exponent 0).
pub fn rank_law(n: usize, exponent: f64, offset: f64) -> Vec<f64> {
    let raw: Vec<f64> = (1..=n).map(|i| libm::pow(i as f64 + offset, -exponent)).collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// Splits `total` (TAO) in proportion to `price^depth_exponent`, each part at least `floor`
/// (so the parts sum to `total` plus whatever the floor added).
pub fn pool_reserves(prices: &[f64], total: f64, depth_exponent: f64, floor: f64) -> Vec<f64> {
    let depth: Vec<f64> = prices.iter().map(|p| libm::pow(*p, depth_exponent)).collect();
    let sum: f64 = depth.iter().sum();
    depth.iter().map(|d| (total * d / sum).max(floor)).collect()
}

/// Integer weights for exact apportioning: each share in parts of 2^40, at least 1.
pub fn integer_weights(shares: &[f64]) -> Vec<u64> {
    let unit = (1u64 << 40) as f64;
    shares.iter().map(|s| (libm::round(s * unit) as u64).max(1)).collect()
}

/// Splits `total` rao by integer weights, exactly: `floor(total * w_i / sum w)` each, the
/// remainder to the first (with equal weights: `total / n` each, as the ladder splits).
pub fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let mut parts: Vec<u64> =
        weights.iter().map(|w| mul_div(u128::from(total), u128::from(*w), sum).map_or(0, |p| p as u64)).collect();
    let given: u128 = parts.iter().map(|p| u128::from(*p)).sum();
    if let Some(first) = parts.first_mut() {
        *first += (u128::from(total) - given) as u64;
    }
    parts
}

/// Every validator's weight row over `miners` miners, best first: [`rank_law`]`(miners, b, 0)`
/// as the validator software submits it (largest `u16::MAX`, rounded), never below 1 so every
/// miner stays weighted. Exponent 0 gives the ladder's row, all `u16::MAX`.
pub fn miner_weights(miners: usize, exponent: f64) -> Vec<u16> {
    (1..=miners).map(|j| (libm::round(f64::from(u16::MAX) * libm::pow(j as f64, -exponent)) as u16).max(1)).collect()
}

/// Alpha a subnet's epoch hands to its neurons (owner cut excluded): the alpha block emission
/// at `alpha_issuance` (the chain's halving rule on alpha) for `tempo + 1` blocks, less the
/// owner's cut (`subnet_owner_cut / 65535`).
pub fn epoch_alpha(alpha_issuance: Rao, tempo: u16, owner_cut: u16) -> Rao {
    let per_block = halving_emission(alpha_issuance, SUPPLY_CAP, BASE_BLOCK_EMISSION).0;
    let epoch = u128::from(per_block) * (u128::from(tempo) + 1);
    let cut = mul_div(epoch, u128::from(owner_cut), u128::from(u16::MAX)).unwrap_or(0);
    Rao(u64::try_from(epoch - cut).unwrap_or(u64::MAX))
}

/// One UID's last-epoch records (what [`super::subnet::Neuron`] keeps and pruning reads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Incentive, u16 fraction.
    pub incentive: u16,
    /// Dividends, u16 fraction.
    pub dividends: u16,
    /// Emission, alpha rao.
    pub emission: Rao,
}

/// The records of an established network's last epoch, as the stand-in epoch
/// (`epoch::StakeSplit`) and Yuma with agreeing validators pay it: half of `epoch_emission`
/// to miners by their (common) weights, half to validators by stake. Returns the validators'
/// records (in `validator_stakes` order) and the miners' (in `miner_weights` order). Integer
/// throughout; records move no tokens, so conservation is untouched.
pub fn established_records(
    epoch_emission: Rao,
    validator_stakes: &[u64],
    miner_weights: &[u16],
) -> (Vec<Record>, Vec<Record>) {
    let server = u128::from(epoch_emission.0 / 2);
    let validator = u128::from(epoch_emission.0) - server;
    let stake_sum: u128 = validator_stakes.iter().map(|s| u128::from(*s)).sum();
    let weight_sum: u128 = miner_weights.iter().map(|w| u128::from(*w)).sum();
    let part = |amount: u128, x: u128, sum: u128| mul_div(amount, x, sum).unwrap_or(0);
    let validators = validator_stakes
        .iter()
        .map(|s| Record {
            incentive: 0,
            dividends: part(u128::from(u16::MAX), u128::from(*s), stake_sum) as u16,
            emission: Rao(part(validator, u128::from(*s), stake_sum) as u64),
        })
        .collect();
    let miners = miner_weights
        .iter()
        .map(|w| Record {
            incentive: part(u128::from(u16::MAX), u128::from(*w), weight_sum) as u16,
            dividends: 0,
            emission: Rao(part(server, u128::from(*w), weight_sum) as u64),
        })
        .collect();
    (validators, miners)
}

/// TAO staked in the reference's sense ("~70 % of supply staked"): root stake plus every
/// subnet's outstanding alpha valued at its spot price (f64: a reported figure, not state).
pub fn staked_tao(chain: &ChainState) -> f64 {
    let alpha: f64 =
        chain.subnets.iter().flatten().map(|s| s.alpha_out.as_tao_f64() * s.pool.price().to_num::<f64>()).sum();
    chain.root.tao.as_tao_f64() + alpha
}

/// Concentration figures of a share vector (the reference's emission figures).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShareFigures {
    /// Share of the ten largest.
    pub top10: f64,
    /// Share of the five largest.
    pub top5: f64,
    /// Herfindahl-Hirschman index: the sum of squared shares.
    pub hhi: f64,
    /// Share of the largest.
    pub largest: f64,
    /// Median share (mean of the middle two for an even count).
    pub median: f64,
}

impl ShareFigures {
    /// The figures of `values` (any non-negative amounts; normalised here).
    pub fn of(values: &[f64]) -> Self {
        let total: f64 = values.iter().sum();
        let mut shares: Vec<f64> = values.iter().map(|v| if total > 0.0 { v / total } else { 0.0 }).collect();
        shares.sort_by(|a, b| b.total_cmp(a));
        let n = shares.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => shares[n / 2],
            _ => (shares[n / 2 - 1] + shares[n / 2]) / 2.0,
        };
        Self {
            top10: shares.iter().take(10).sum(),
            top5: shares.iter().take(5).sum(),
            hhi: shares.iter().map(|s| s * s).sum(),
            largest: shares.first().copied().unwrap_or(0.0),
            median,
        }
    }
}

#[cfg(test)]
mod tests;
