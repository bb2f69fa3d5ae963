//! The per-block step and the epoch payout, in the chain's order of operations.
//!
//! `block_step` (`pallets/subtensor/src/coinbase/block_step.rs`): (1) registration prices;
//! (2) mint the block emission (issuance-driven, capped at 21M); (3) `run_coinbase`
//! (`run_coinbase.rs`): emission shares, then for every subnet the terms
//! `tao_in = E_i`, `alpha_in = E_i / p_i` capped at `root_prop_i * alpha_emission_i` (then
//! `tao_in = alpha_in p_i`), the excess `E_i - tao_in` chain-bought as alpha; injection
//! (the pool re-weights first, then the buy, then the reserves grow); alpha out minted, the owner
//! cut, the miner / root / alpha-validator split accumulated as pending emission; the credit left
//! over is recycled; then the epochs due are drained (at most `MaxEpochsPerBlock`, the rest
//! deferred a block); (4) price EMAs. The drained emission is paid by [`ChainState::run_epoch`]
//! (`distribute_emission`), which the network model runs as its own event in the same block.

use super::emission_share::{ShareRule, flow_shares, price_ema_shares};
use super::epoch::{EpochInput, EpochNeuron, EpochOutput};
use super::math::{div_u64f64, div_u96f32};
use super::memo::Memo;
use super::rao::Rao;
use super::state::ChainState;
use super::subnet::{HotkeyId, NetUid, Pending, SharePool};
use crate::engine::Block;
use std::borrow::Cow;
use std::collections::BTreeMap;
use substrate_fixed::types::{I96F32, U64F64, U96F32};

/// The chain's hard cap on minted TAO (`MAX_TAO_ISSUANCE`, 21M TAO).
pub const MAX_TAO_ISSUANCE: Rao = Rao(21_000_000_000_000_000);

/// `MAX_TEMPO`: an epoch runs anyway after this many blocks without one.
pub const MAX_TEMPO: u64 = 50_400;

/// What one block step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The block just processed.
    pub block: Block,
    /// TAO minted in it.
    pub emission: Rao,
    /// The emission of the previous block, to spot a halving.
    pub previous_emission: Rao,
    /// TAO recycled by the coinbase this block (unspent credit).
    pub recycled: Rao,
    /// Subnets whose epoch is due this block, ascending: pay them with [`ChainState::run_epoch`].
    pub epochs_due: Vec<NetUid>,
}

/// What one epoch paid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpochOutcome {
    /// Alpha paid to miners (incentive), burned owner incentive included.
    pub incentive: Rao,
    /// Alpha paid to validators and nominators (alpha and root dividends, takes included).
    pub dividends: Rao,
    /// The owner's cut.
    pub owner_cut: Rao,
    /// Incentive burned because it went to the owner's hotkey.
    pub burned: Rao,
}

fn u96(v: u64) -> U96F32 {
    U96F32::saturating_from_num(v)
}

/// A u16 fraction of 65535 (owner cut, delegate take) in U96F32, as the chain's
/// `get_float_*` helpers compute it.
fn u16_fraction(v: u16) -> U96F32 {
    div_u96f32(u96(u64::from(v)), u96(u64::from(u16::MAX))).unwrap_or_default()
}

fn tou64(v: U96F32) -> u64 {
    v.saturating_to_num::<u64>()
}

/// A dividend `amount` split into the delegate's `take` and the rest, in rao, as the chain
/// rounds each part (`take * amount` and `amount - take * amount`, each floored).
fn split_take(take: U96F32, amount: U96F32) -> (u64, u64) {
    let take_part = take.saturating_mul(amount);
    (tou64(take_part), tou64(amount.saturating_sub(take_part)))
}

struct Terms {
    netuid: NetUid,
    tao_in: U96F32,
    alpha_in: U96F32,
    alpha_out: U96F32,
    excess: U96F32,
    tao_emission: U96F32,
    share: U64F64,
}

/// One hotkey's share of an epoch's payout (see [`ChainState::pay_epoch`]).
struct PayRow {
    hotkey: HotkeyId,
    /// The hotkey's owner and take fraction; `None` for an unknown hotkey (paid nothing).
    owner: Option<(super::subnet::ColdkeyId, U96F32)>,
    /// Miner emission of its UIDs, in rao.
    incentive: u64,
    /// Validator emission of its UIDs, in rao.
    dividend: U96F32,
    /// Alpha stake as its first UID reports it.
    alpha_stake: u64,
    /// Its alpha part of the dividend, then its alpha dividend payout.
    alpha: U96F32,
    /// Its root part of the dividend, then its root dividend payout.
    root: U96F32,
    /// Whether any of its UIDs has a result in the epoch's output.
    in_output: bool,
}

/// The total of each UID's hotkey pool in `pools` (zero without one), by UID, for `order`:
/// (hotkey, uid) sorted. One ordered walk over the pools where they are not many more than the
/// UIDs (the usual case: a subnet's pools are mostly its UIDs'), else one search per UID.
fn pool_totals(pools: &BTreeMap<HotkeyId, SharePool>, order: &[(HotkeyId, usize)]) -> Vec<Rao> {
    let mut totals = vec![Rao::ZERO; order.len()];
    if pools.len() > order.len().saturating_mul(4) {
        for &(hotkey, uid) in order {
            if let (Some(pool), Some(t)) = (pools.get(&hotkey), totals.get_mut(uid)) {
                *t = pool.total;
            }
        }
        return totals;
    }
    let mut pools = pools.iter().peekable();
    for &(hotkey, uid) in order {
        while pools.next_if(|(k, _)| **k < hotkey).is_some() {}
        if let (Some((k, pool)), Some(t)) = (pools.peek(), totals.get_mut(uid))
            && **k == hotkey
        {
            *t = pool.total;
        }
    }
    totals
}

impl ChainState {
    /// `root_proportion`: `tw * RootTAO / (tw * RootTAO + alpha issuance)` in U96F32.
    pub fn root_proportion(&self, netuid: NetUid) -> U96F32 {
        self.root_proportion_with(netuid, self.tao_weight_fraction())
    }

    /// [`ChainState::root_proportion`] with the TaoWeight fraction already computed.
    fn root_proportion_with(&self, netuid: NetUid, tao_weight: U96F32) -> U96F32 {
        let Some(subnet) = self.subnet(netuid) else {
            return u96(0);
        };
        let (root_tao, issuance) = (self.root.tao.0, subnet.alpha_issuance().0);
        subnet.root_proportion.get_or((root_tao, tao_weight.to_bits(), issuance), || {
            let weighted = u96(root_tao).saturating_mul(tao_weight);
            div_u96f32(weighted, weighted.saturating_add(u96(issuance))).unwrap_or_default()
        })
    }

    /// `get_tao_weight`: TaoWeight / u64::MAX in U96F32.
    pub fn tao_weight_fraction(&self) -> U96F32 {
        div_u96f32(u96(self.params.tao_weight), u96(u64::MAX)).unwrap_or_default()
    }

    /// One block (see the module docs). Returns what happened, including the epochs now due.
    pub fn step_block(&mut self) -> BlockOutcome {
        self.block = Block(self.block.0.saturating_add(1));
        self.update_registration_prices();
        let previous_emission = self.block_emission;
        let computed = self.schedule.block_emission(self.total_issuance);
        // The schedule's own cap bounds minting (`MAX_TAO_ISSUANCE` on chain, where the cap is
        // 21M); a study's other cap (`supply_cap_tao`) is honoured the same way.
        let emission = computed.min(self.schedule.cap().saturating_sub(self.total_issuance));
        self.block_emission = computed;
        self.total_issuance = self.total_issuance.saturating_add(emission);
        self.minted = self.minted.saturating_add(emission);
        let recycled = self.run_coinbase(emission);
        let epochs_due = self.drain_pending();
        self.update_moving_prices();
        BlockOutcome { block: self.block, emission, previous_emission, recycled, epochs_due }
    }

    /// Subnets that receive emission (`get_subnets_to_emit_to`).
    fn subnets_to_emit_to(&self) -> Vec<NetUid> {
        self.subnets
            .iter()
            .flatten()
            .filter(|s| s.first_emission_block.is_some() && s.registration_allowed)
            .map(|s| s.netuid)
            .collect()
    }

    /// `get_subnet_block_emissions`: shares by the scenario's rule, disabled subnets' shares
    /// redistributed, times the block emission.
    fn subnet_emissions(&mut self, emit: &[NetUid], block_emission: Rao) -> Vec<(U96F32, U64F64)> {
        let block = self.now();
        let shares: Vec<U64F64> = match self.params.share_rule {
            ShareRule::PriceEma => {
                let mut prices = Vec::with_capacity(emit.len());
                let mut burned = Vec::with_capacity(emit.len());
                for n in emit {
                    if let Some(s) = self.subnet(*n) {
                        prices.push(U64F64::saturating_from_num(s.moving_price));
                        burned.push(s.miner_burned);
                    }
                }
                price_ema_shares(&prices, &burned)
            }
            rule => {
                let params = self.params.flow;
                let mut flows: Vec<&mut super::subnet::Flows> = self
                    .subnets
                    .iter_mut()
                    .flatten()
                    .filter(|s| emit.contains(&s.netuid))
                    .map(|s| &mut s.flows)
                    .collect();
                flow_shares(&mut flows, block, &params, rule == ShareRule::NetFlow)
            }
        };
        let zero = U64F64::saturating_from_num(0);
        let mut disabled = false;
        let mut enabled_sum = zero;
        for (n, share) in emit.iter().zip(&shares) {
            if self.subnet(*n).is_some_and(|s| s.emission_enabled) {
                enabled_sum = enabled_sum.saturating_add(*share);
            } else {
                disabled = true;
            }
        }
        emit.iter()
            .zip(shares)
            .map(|(n, share)| {
                let enabled = self.subnet(*n).is_some_and(|s| s.emission_enabled);
                let share = if disabled {
                    if enabled && enabled_sum > zero {
                        share.checked_div(enabled_sum).unwrap_or_default()
                    } else {
                        zero
                    }
                } else {
                    share
                };
                let e = U64F64::saturating_from_num(block_emission.0).saturating_mul(share);
                (U96F32::saturating_from_num(e), share)
            })
            .collect()
    }

    /// `run_coinbase` up to the drain: returns the TAO recycled (unspent credit).
    fn run_coinbase(&mut self, block_emission: Rao) -> Rao {
        let emit = self.subnets_to_emit_to();
        let emissions = self.subnet_emissions(&emit, block_emission);
        let root_sell = {
            let total = emit.iter().filter_map(|n| self.subnet(*n)).fold(U64F64::saturating_from_num(0), |acc, s| {
                acc.saturating_add(U64F64::saturating_from_num(s.moving_price))
            });
            total > U64F64::saturating_from_num(1)
        };
        // Terms for every subnet first (prices and root proportions before any injection).
        let tao_weight = self.tao_weight_fraction();
        let mut terms = Vec::with_capacity(emit.len());
        for (netuid, (tao_emission, share)) in emit.iter().zip(emissions) {
            let root_prop = self.root_proportion_with(*netuid, tao_weight);
            let Some(subnet) = self.subnet_mut(*netuid) else { continue };
            let alpha_emission =
                u96(subnet.alpha_emission.emission(subnet.pool.alpha.saturating_add(subnet.alpha_out)).0);
            let price = U96F32::saturating_from_num(subnet.pool.price());
            let mut tao_in = tao_emission;
            let mut alpha_in = div_u96f32(tao_emission, price).unwrap_or_default();
            let cap = root_prop.saturating_mul(alpha_emission);
            if alpha_in > cap {
                alpha_in = cap;
                tao_in = alpha_in.saturating_mul(price);
            }
            let excess = tao_emission.saturating_sub(tao_in);
            terms.push(Terms {
                netuid: *netuid,
                tao_in,
                alpha_in,
                alpha_out: alpha_emission,
                excess,
                tao_emission,
                share,
            });
        }
        // Inject and chain-buy (`inject_and_maybe_swap`).
        let mut credit = block_emission.0;
        for t in &terms {
            let Some(subnet) = self.subnet_mut(t.netuid) else { continue };
            let tao_in = tou64(t.tao_in);
            let alpha_in = tou64(t.alpha_in);
            let excess = tou64(t.excess);
            let (injected_tao, injected_alpha) = subnet.pool.reweight_for_injection(Rao(tao_in), Rao(alpha_in));
            let mut bought = Rao::ZERO;
            let mut excess_paid = Rao::ZERO;
            if excess > 0 && credit >= excess {
                credit -= excess;
                match subnet.pool.buy_alpha(Rao(excess), None, true) {
                    Ok(r) => {
                        subnet.alpha_out = subnet.alpha_out.saturating_add(r.paid_out);
                        subnet.protocol_alpha = subnet.protocol_alpha.saturating_add(r.paid_out);
                        subnet.flows.protocol_block = subnet.flows.protocol_block.saturating_add(r.paid_in.0 as i64);
                        bought = r.paid_out;
                        excess_paid = r.paid_in;
                        // A fee-free, unlimited buy consumes all of it.
                        credit = credit.saturating_add(excess.saturating_sub(r.paid_in.0));
                    }
                    // The chain leaves such TAO in the subnet account; we return it to the credit.
                    Err(_) => credit = credit.saturating_add(excess),
                }
            }
            subnet.pool.alpha = subnet.pool.alpha.saturating_add(injected_alpha);
            if injected_tao.0 > 0 && credit >= injected_tao.0 {
                credit -= injected_tao.0;
                subnet.pool.tao = subnet.pool.tao.saturating_add(injected_tao);
                subnet.flows.protocol_block = subnet.flows.protocol_block.saturating_add(injected_tao.0 as i64);
            }
            subnet.last.tao_in = injected_tao;
            subnet.last.alpha_in = injected_alpha;
            subnet.last.excess_tao = excess_paid;
            subnet.last.alpha_bought = bought;
            subnet.last.tao_emission = Rao(tou64(t.tao_emission));
            subnet.last.share = t.share.to_num::<f64>();
        }
        let recycled = Rao(credit);
        self.recycle(recycled);
        // Alpha out for participants (`emit_to_subnets`, step 3).
        let cut = u16_fraction(self.params.subnet_owner_cut);
        let half = U96F32::saturating_from_num(0.5);
        for t in &terms {
            let created = tou64(t.alpha_out);
            let Some(subnet) = self.subnet_mut(t.netuid) else { continue };
            subnet.alpha_out = subnet.alpha_out.saturating_add(Rao(created));
            subnet.last.alpha_out = Rao(created);
            let owner_cut = t.alpha_out.saturating_mul(cut);
            let rest = t.alpha_out.saturating_sub(owner_cut);
            let root_prop = self.root_proportion_with(t.netuid, tao_weight);
            let Some(subnet) = self.subnet_mut(t.netuid) else { continue };
            let root_alpha = root_prop.saturating_mul(rest).saturating_mul(half);
            let server = rest.saturating_mul(half);
            let validator = rest.saturating_sub(server).saturating_sub(root_alpha);
            let parts = [tou64(owner_cut), tou64(server), tou64(validator), tou64(root_alpha)];
            subnet.pending.owner_cut = subnet.pending.owner_cut.saturating_add(Rao(parts[0]));
            subnet.pending.server = subnet.pending.server.saturating_add(Rao(parts[1]));
            subnet.pending.validator = subnet.pending.validator.saturating_add(Rao(parts[2]));
            if root_sell {
                subnet.pending.root = subnet.pending.root.saturating_add(Rao(parts[3]));
            } else {
                // `recycle_subnet_alpha`: out of alpha out, out of existence.
                subnet.alpha_out = subnet.alpha_out.saturating_sub(Rao(parts[3]));
                subnet.alpha_recycled = subnet.alpha_recycled.saturating_add(Rao(parts[3]));
            }
            let assigned: u128 = parts.iter().map(|p| u128::from(*p)).sum();
            subnet.alpha_unassigned += i128::from(created) - assigned as i128;
        }
        recycled
    }

    /// `drain_pending`: for every subnet, count the block; if its epoch is due and fewer than
    /// `MaxEpochsPerBlock` ran this block, drain its pending emission into `in_flight`; else
    /// defer it a block.
    fn drain_pending(&mut self) -> Vec<NetUid> {
        let block = self.now();
        let cap = self.params.max_epochs_per_block;
        let mut ran = 0u32;
        let mut due = Vec::new();
        for subnet in self.subnets.iter_mut().flatten() {
            subnet.blocks_since_last_step = subnet.blocks_since_last_step.saturating_add(1);
            let should = subnet.tempo != 0
                && ((subnet.pending_epoch_at > 0 && block >= subnet.pending_epoch_at)
                    || subnet.blocks_since_last_step > MAX_TEMPO
                    || block.saturating_sub(subnet.last_epoch_block) >= u64::from(subnet.tempo));
            if !should {
                continue;
            }
            if ran >= cap {
                subnet.pending_epoch_at = block.saturating_add(1);
                continue;
            }
            subnet.blocks_since_last_step = 0;
            let drained = std::mem::take(&mut subnet.pending);
            // An epoch left unpaid (not possible through the network model) is added to.
            let previous = subnet.in_flight.take().unwrap_or_default();
            subnet.in_flight = Some(Pending {
                server: previous.server.saturating_add(drained.server),
                validator: previous.validator.saturating_add(drained.validator),
                root: previous.root.saturating_add(drained.root),
                owner_cut: previous.owner_cut.saturating_add(drained.owner_cut),
            });
            ran += 1;
            subnet.last_epoch_block = block;
            subnet.pending_epoch_at = 0;
            due.push(subnet.netuid);
        }
        due
    }

    /// `update_moving_prices`: `ema <- a min(p, 1) + (1 - a) ema`, `a = 0.000003 b / (b + h)`.
    fn update_moving_prices(&mut self) {
        let block = self.now();
        let emit = self.subnets_to_emit_to();
        let moving_alpha = U64F64::saturating_from_num(self.params.moving_alpha_parts)
            .checked_div(U64F64::saturating_from_num(super::math::PERQUINTILL))
            .unwrap_or_default();
        let halving = U64F64::saturating_from_num(self.params.ema_price_halving_blocks);
        let one = U64F64::saturating_from_num(1);
        // Subnets of the same age share their factor: one division per age, not per subnet.
        let factor: Memo<u64, U64F64> = Memo::default();
        for netuid in emit {
            let Some(subnet) = self.subnet_mut(netuid) else { continue };
            let start = subnet.first_emission_block.unwrap_or_default().saturating_sub(1);
            let age = block.saturating_sub(start).saturating_add(subnet.age_blocks_at_start);
            let alpha = factor.get_or(age, || {
                let since = U64F64::saturating_from_num(age);
                moving_alpha.saturating_mul(div_u64f64(since, since.saturating_add(halving)).unwrap_or_default())
            });
            let current = alpha.saturating_mul(subnet.pool.price().min(one));
            let previous = one.saturating_sub(alpha).saturating_mul(U64F64::saturating_from_num(subnet.moving_price));
            subnet.moving_price = I96F32::saturating_from_num(current.saturating_add(previous));
        }
    }

    /// The epoch's input for a subnet as it stands.
    pub fn epoch_input(&self, netuid: NetUid, emission: Rao) -> Option<EpochInput<'_>> {
        let subnet = self.subnet(netuid)?;
        // UIDs by hotkey, to read each hotkey's alpha and root stake in one ordered walk.
        let mut order: Vec<(HotkeyId, usize)> = subnet.neurons.iter().enumerate().map(|(u, n)| (n.hotkey, u)).collect();
        order.sort_unstable();
        let alpha_stake = pool_totals(&subnet.stakes, &order);
        let root_stake = pool_totals(&self.root.stakes, &order);
        let neurons = subnet
            .neurons
            .iter()
            .enumerate()
            .map(|(uid, n)| EpochNeuron {
                hotkey: n.hotkey,
                alpha_stake: alpha_stake.get(uid).copied().unwrap_or(Rao::ZERO),
                root_stake: root_stake.get(uid).copied().unwrap_or(Rao::ZERO),
                registered_at: n.registered_at,
                last_update: n.last_update,
                validator_permit: n.validator_permit,
                weights: Cow::Borrowed(&n.weights),
                bonds: Cow::Borrowed(&n.bonds),
            })
            .collect();
        Some(EpochInput {
            netuid,
            block: self.now(),
            emission,
            tempo: subnet.tempo,
            last_epoch_block: subnet.last_epoch_block,
            owner_uid: subnet.uid_of(subnet.owner_hotkey),
            tao_weight: self.params.tao_weight,
            max_validators: self.params.max_allowed_validators,
            neurons,
            consensus_hint: Cow::Borrowed(&subnet.consensus_hint),
        })
    }

    /// Pays a drained epoch (`distribute_emission` and `distribute_dividends_and_incentives`):
    /// runs the epoch implementation, then pays the owner cut, miners' incentive (burned for
    /// the owner's hotkey), and validators' dividends split into an alpha part and a root part
    /// by each hotkey's `alpha : tao_weight * root` stake, less the delegate take. Root
    /// dividends are credited as alpha stake to the hotkey's root nominators in proportion to
    /// their root stake (root claim, `claim_root.rs`, with the "keep alpha" choice).
    pub fn run_epoch(&mut self, netuid: NetUid) -> Option<EpochOutcome> {
        let input = self.drained_epoch_input(netuid)?;
        let output = self.payout.epoch(&input);
        let stakes = input.stakes();
        self.pay_epoch(netuid, &stakes, output)
    }

    /// The input of a drained epoch (gather): the subnet's state now, with the drained
    /// emission to distribute. Reads only; `None` when the subnet has no drained epoch.
    pub fn drained_epoch_input(&self, netuid: NetUid) -> Option<EpochInput<'_>> {
        let drained = self.subnet(netuid)?.in_flight.as_ref()?;
        let total = drained.server.saturating_add(drained.validator).saturating_add(drained.root);
        self.epoch_input(netuid, total)
    }

    /// Pays a drained epoch (apply) from each UID's hotkey and alpha stake as its input saw them
    /// (`stakes`, from [`EpochInput::stakes`] of what [`ChainState::drained_epoch_input`] gave)
    /// and the epoch's `output`. Paying one subnet's epoch changes only that subnet's
    /// stakes and pending state, so the epochs of one block can be computed in parallel from
    /// their inputs and paid in netuid order with the same result as running them one by one.
    pub fn pay_epoch(
        &mut self,
        netuid: NetUid,
        stakes: &[(HotkeyId, Rao)],
        output: EpochOutput,
    ) -> Option<EpochOutcome> {
        let drained = self.subnet_mut(netuid)?.in_flight.take()?;
        let tao_weight = self.tao_weight_fraction();
        let zero = u96(0);
        // One row per distinct hotkey, in hotkey order (the chain's maps are keyed by hotkey):
        // UIDs sorted by (hotkey, uid), a hotkey's UIDs merged, its alpha stake from its first UID.
        let mut order: Vec<(HotkeyId, usize)> = stakes.iter().enumerate().map(|(uid, n)| (n.0, uid)).collect();
        order.sort_unstable();
        let take_fraction: Memo<u16, U96F32> = Memo::default();
        let mut rows: Vec<PayRow> = Vec::with_capacity(order.len());
        for (hk, uid) in order {
            let out = output.neurons.get(uid);
            let incentive = out.map_or(0, |o| o.server_emission.0);
            let dividend = out.map_or(zero, |o| u96(o.validator_emission.0));
            match rows.last_mut() {
                Some(row) if row.hotkey == hk => {
                    row.incentive += incentive;
                    row.dividend = row.dividend.saturating_add(dividend);
                    row.in_output |= out.is_some();
                }
                _ => {
                    // Owner and take (`take / 65535`, one division per distinct take).
                    let owner = self.hotkeys.get(hk.0 as usize).map(|h| {
                        let take = take_fraction.get_or(h.take, || u16_fraction(h.take));
                        (h.owner, take)
                    });
                    let alpha_stake = stakes.get(uid).map_or(0, |n| n.1.0);
                    rows.push(PayRow {
                        hotkey: hk,
                        owner,
                        incentive,
                        dividend,
                        alpha_stake,
                        alpha: zero,
                        root: zero,
                        in_output: out.is_some(),
                    });
                }
            }
        }
        // Only hotkeys with a UID in the output are paid.
        rows.retain(|r| r.in_output);
        let incentive_sum: u64 = rows.iter().fold(0u64, |a, r| a.saturating_add(r.incentive));
        let validator_alpha =
            if incentive_sum != 0 { drained.validator } else { drained.validator.saturating_add(drained.server) };
        // Root / alpha split of dividends by stake.
        let (mut total_root, mut total_alpha) = (zero, zero);
        for row in &mut rows {
            // A zero dividend splits into zeros whatever the stakes.
            if row.dividend != zero {
                let root_alpha = u96(self.root_stake_of(row.hotkey).0).saturating_mul(tao_weight);
                let total_stake = u96(row.alpha_stake).saturating_add(root_alpha);
                let prop = div_u96f32(root_alpha, total_stake).unwrap_or(zero);
                row.root = row.dividend.saturating_mul(prop);
                row.alpha = row.dividend.saturating_sub(row.root);
            }
            total_alpha = total_alpha.saturating_add(row.alpha);
            total_root = total_root.saturating_add(row.root);
        }
        for row in &mut rows {
            row.alpha = u96(validator_alpha.0).saturating_mul(div_u96f32(row.alpha, total_alpha).unwrap_or(zero));
            row.root = u96(drained.root.0).saturating_mul(div_u96f32(row.root, total_root).unwrap_or(zero));
        }
        // Root nominators of each hotkey paid root dividends, snapshotted before paying.
        let root_holders: Vec<Vec<(super::subnet::ColdkeyId, u64)>> = rows
            .iter()
            .map(|row| match self.root.stakes.get(&row.hotkey) {
                Some(pool) if row.root != zero => pool.values().map(|(ck, value)| (ck, value.0)).collect(),
                _ => Vec::new(),
            })
            .collect();
        let owner_coldkey = self.subnet(netuid)?.owner_coldkey;
        let owner_hotkey = self.subnet(netuid)?.owner_hotkey;
        let subnet = self.subnet_mut(netuid)?;
        let mut outcome = EpochOutcome::default();
        let mut paid: u128 = 0;
        // Owner cut.
        subnet.stakes.entry(owner_hotkey).or_default().add_for_one(owner_coldkey, drained.owner_cut);
        outcome.owner_cut = drained.owner_cut;
        paid += u128::from(drained.owner_cut.0);
        // Incentives; the owner's hotkeys' (the owner hotkey and any of the owner coldkey's) burned.
        // Every row with a known owner gets a pool (possibly empty) in one of the three passes;
        // a pass that would only look a pool up to add nothing skips it where an earlier pass
        // made it (most rows are miners': incentive only).
        let mut withheld = 0u64;
        let mut pooled = vec![false; rows.len()];
        for (row, pooled) in rows.iter().zip(&mut pooled) {
            paid += u128::from(row.incentive);
            outcome.incentive = outcome.incentive.saturating_add(Rao(row.incentive));
            if row.hotkey == owner_hotkey || row.owner.is_some_and(|o| o.0 == owner_coldkey) {
                withheld = withheld.saturating_add(row.incentive);
                subnet.alpha_burned = subnet.alpha_burned.saturating_add(Rao(row.incentive));
                continue;
            }
            let Some((owner, _)) = row.owner else { continue };
            if row.incentive > 0 {
                subnet.stakes.entry(row.hotkey).or_default().add_for_one(owner, Rao(row.incentive));
                *pooled = true;
            }
        }
        outcome.burned = Rao(withheld);
        subnet.miner_burned = div_u96f32(u96(withheld), u96(incentive_sum)).unwrap_or(zero);
        // Alpha dividends: take to the hotkey's owner, the rest to all its nominators.
        for (row, &pooled) in rows.iter().zip(&pooled) {
            let Some((owner, take)) = row.owner else { continue };
            let amount = row.alpha;
            if amount == zero && pooled {
                continue; // nothing to pay, and its pool exists
            }
            let (take_amount, rest) = split_take(take, amount);
            let pool = subnet.stakes.entry(row.hotkey).or_default();
            pool.add_for_one(owner, Rao(take_amount));
            if pool.total_shares > 0 {
                pool.add_for_all(Rao(rest));
            } else {
                pool.add_for_one(owner, Rao(rest));
            }
            paid += u128::from(take_amount) + u128::from(rest);
            outcome.dividends = outcome.dividends.saturating_add(Rao(take_amount.saturating_add(rest)));
        }
        // Root dividends: take to the hotkey's owner, the rest to its root nominators by stake.
        for (row, holders) in rows.iter().zip(&root_holders) {
            let Some((owner, take)) = row.owner else { continue };
            let amount = row.root;
            if amount == zero {
                continue; // nothing to pay (no holders were listed), and its pool exists
            }
            let (take_amount, rest) = split_take(take, amount);
            let root_total: u128 = holders.iter().map(|h| u128::from(h.1)).sum();
            let pool = subnet.stakes.entry(row.hotkey).or_default();
            pool.add_for_one(owner, Rao(take_amount));
            let mut given = 0u64;
            for (ck, stake) in holders {
                let part = super::math::mul_div(u128::from(rest), u128::from(*stake), root_total).unwrap_or(0) as u64;
                pool.add_for_one(*ck, Rao(part));
                given = given.saturating_add(part);
            }
            pool.add_for_one(owner, Rao(rest.saturating_sub(given)));
            paid += u128::from(take_amount) + u128::from(rest);
            outcome.dividends = outcome.dividends.saturating_add(Rao(take_amount.saturating_add(rest)));
        }
        // Per-UID records for pruning and outputs.
        for (i, out) in output.neurons.into_iter().enumerate() {
            if let Some(n) = subnet.neurons.get_mut(i) {
                n.incentive = out.incentive;
                n.dividends = out.dividends;
                n.validator_permit = out.validator_permit;
                n.bonds = out.bonds;
                n.emission = out.server_emission.saturating_add(out.validator_emission);
            }
        }
        subnet.consensus_hint = output.consensus;
        subnet.alpha_unassigned += drained.total() as i128 - paid as i128;
        subnet.epochs += 1;
        Some(outcome)
    }

    /// A block and then every epoch it made due, in netuid order (what the network model does
    /// with separate events); for tests and benches.
    pub fn step_block_with_epochs(&mut self) -> BlockOutcome {
        let outcome = self.step_block();
        for netuid in &outcome.epochs_due {
            self.run_epoch(*netuid);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::{build, small};
    use crate::chain::registration::{decay_factor_q32, mul_by_q32};
    use crate::chain::state::{ChainError, WORLD};
    use crate::chain::subnet::ColdkeyId;
    use proptest::prelude::*;

    #[test]
    fn a_supply_cap_other_than_21m_mints_by_its_own_schedule() {
        // 42M cap, 31.4M issued: k = floor(log2(1 / (1 - 31.4/42))) = 1, so 0.5 TAO a block.
        let cap = Rao::from_tao(42_000_000);
        let schedule = crate::chain::emission::EmissionSchedule::Halving { cap, base: Rao::from_tao(1) };
        let mut g = small();
        g.initial_issuance = Rao::from_tao(31_400_000);
        g.schedule = schedule;
        let mut chain = build(&g).expect("genesis");
        let before = chain.total_issuance;
        let out = chain.step_block();
        assert_eq!(out.emission, Rao(500_000_000), "minted by the 42M schedule, not clamped at 21M");
        assert_eq!(
            chain.total_issuance,
            before.saturating_add(out.emission).saturating_sub(out.recycled),
            "less the rao recycled"
        );
        assert_eq!(chain.block_emission, out.emission);
        chain.check_conservation().expect("conserved");
        // The chain's schedule caps at MAX_TAO_ISSUANCE, so its runs mint exactly as before.
        assert_eq!(crate::chain::emission::EmissionSchedule::default().cap(), MAX_TAO_ISSUANCE);
    }

    const TAO: u64 = 1_000_000_000;

    fn chain() -> ChainState {
        build(&small()).expect("genesis")
    }

    #[test]
    fn blocks_conserve_tao_and_alpha_and_pay_epochs() {
        let mut c = chain();
        let mut epochs = 0;
        for _ in 0..721 {
            let outcome = c.step_block_with_epochs();
            epochs += outcome.epochs_due.len();
            c.check_conservation().expect("conserved");
        }
        // 4 subnets at tempo 360, at most 2 epochs a block (3 and 4 wait a block): every
        // subnet ran twice.
        assert_eq!(epochs, 8);
        assert!(c.subnets.iter().flatten().all(|s| s.epochs == 2));
        // Emission went somewhere: pools grew, alpha was paid to stakers.
        let s1 = c.subnet(1).expect("subnet");
        assert!(s1.pool.tao > Rao::from_tao(50_000));
        // Prices sum below 1, so there is no root sell: the root alpha is recycled, yet the
        // epoch pays miners half of (server + validator) only, as on chain; the rest of the
        // miners' pending alpha stays in alpha out without an owner: about half the recycled.
        // Subnets 3 and 4 just ran their epoch: nothing is pending. Floors (a few rao a block and
        // per payout) account for the rest.
        for s in c.subnets.iter().flatten().skip(2) {
            let half_recycled = s.alpha_recycled.0 as i128 / 2;
            assert!((s.alpha_unassigned - half_recycled).abs() < 10_000, "{} vs {half_recycled}", s.alpha_unassigned);
        }
        assert_eq!(c.minted, Rao(721 * TAO / 2));
    }

    #[test]
    fn epochs_due_together_are_capped_at_two_per_block() {
        let mut c = chain();
        for _ in 0..359 {
            c.step_block_with_epochs();
        }
        assert_eq!(c.step_block_with_epochs().epochs_due, vec![1, 2]);
        assert_eq!(c.step_block_with_epochs().epochs_due, vec![3, 4]);
        assert_eq!(c.subnet(3).map(|s| s.last_epoch_block), Some(361));
    }

    #[test]
    fn the_second_halving_comes_at_15_75m_tao_of_issuance() {
        let mut g = small();
        g.initial_issuance = Rao(15_750_000 * TAO - 2 * TAO);
        let mut c = build(&g).expect("genesis");
        let mut emissions = Vec::new();
        for _ in 0..8 {
            emissions.push(c.step_block_with_epochs().emission.0);
        }
        // 0.5 TAO a block until issuance crosses 15.75M (four blocks, less the recycled rao),
        // then 0.25 TAO.
        assert_eq!(emissions[..4], [TAO / 2; 4]);
        assert_eq!(emissions[5..], [TAO / 4; 3]);
        assert!(c.recycled.0 < 100, "only rounding is recycled: {}", c.recycled.0);
        c.check_conservation().expect("conserved");
    }

    #[test]
    fn injection_does_not_move_the_price() {
        // Root stake large enough that no subnet's injection is capped: no chain buys.
        let mut g = small();
        g.root_stake = Rao::from_tao(10_000_000);
        g.params.tao_weight = u64::MAX;
        g.price_max = 1.0;
        g.price_min = 0.5;
        let mut c = build(&g).expect("genesis");
        let before: Vec<f64> = c.subnets.iter().flatten().map(|s| s.pool.price().to_num::<f64>()).collect();
        for _ in 0..50 {
            c.step_block();
        }
        for (s, p) in c.subnets.iter().flatten().zip(before) {
            assert_eq!(s.last.excess_tao, Rao::ZERO);
            assert!(s.last.tao_in.0 > 0 && s.last.alpha_in.0 > 0);
            let after = s.pool.price().to_num::<f64>();
            assert!((after - p).abs() <= p * 1e-12, "subnet {}: {p} -> {after}", s.netuid);
        }
        // With little root stake the cap binds: the excess is chain-bought and the price rises.
        let mut g = small();
        g.root_stake = Rao::from_tao(1_000);
        let mut c = build(&g).expect("genesis");
        let p = c.subnet(1).map(|s| s.pool.price()).unwrap_or_default();
        for _ in 0..50 {
            c.step_block();
        }
        let s = c.subnet(1).expect("subnet");
        assert!(s.last.excess_tao.0 > 0 && s.protocol_alpha.0 > 0);
        assert!(s.pool.price() > p);
        c.check_conservation().expect("conserved");
    }

    #[test]
    fn injection_cap_is_root_proportion_times_alpha_emission() {
        let mut c = chain();
        let netuid = 4; // the cheapest subnet: uncapped alpha_in would be large
        let prop = c.root_proportion(netuid).to_num::<f64>();
        c.step_block();
        let s = c.subnet(netuid).expect("subnet");
        let alpha_emission = s.last.alpha_out.0 as f64;
        if s.last.excess_tao.0 > 0 {
            assert!((s.last.alpha_in.0 as f64 - prop * alpha_emission).abs() <= 1.0 + alpha_emission * 1e-9);
        }
        let total: u64 = c.subnets.iter().flatten().map(|s| s.last.tao_in.0 + s.last.excess_tao.0).sum();
        assert!(total <= TAO / 2 && total + 10 >= TAO / 2, "all of the emission reaches the subnets: {total}");
    }

    #[test]
    fn burn_cost_after_n_blocks_and_m_registrations_matches_the_closed_form() {
        let mut c = chain();
        let funder = c.create_coldkey(Rao::from_tao(1_000)).expect("funded");
        let start = c.subnet(1).map(|s| s.burn).unwrap_or_default();
        let n_blocks = 720u64;
        for _ in 0..n_blocks {
            c.step_block_with_epochs();
        }
        // Block 1 does not decay (`current_block > 1`): N blocks give N - 1 decays.
        let f = decay_factor_q32(360);
        let mut iterated = start.0;
        for _ in 1..n_blocks {
            iterated = mul_by_q32(iterated, f);
        }
        let burn = c.subnet(1).map(|s| s.burn).unwrap_or_default();
        assert_eq!(burn.0, iterated.max(c.params.min_burn.0));
        let closed = start.0 as f64 * 0.5f64.powf((n_blocks - 1) as f64 / 360.0);
        // Each block floors to the rao: at most one rao per block below the real-number value.
        assert!((burn.0 as f64 - closed).abs() < n_blocks as f64 + closed * 1e-6, "{} vs {closed}", burn.0);
        // M registrations in one block: times 1.26 each.
        let m = 5;
        for _ in 0..m {
            let hk = c.create_hotkey(funder).expect("hotkey");
            c.register_neuron(funder, hk, 1).expect("registered");
        }
        let after = c.subnet(1).map(|s| s.burn).unwrap_or_default();
        let closed = burn.0 as f64 * 1.26f64.powi(m);
        assert!((after.0 as f64 - closed).abs() < m as f64 + closed * 1e-9, "{} vs {closed}", after.0);
        c.check_conservation().expect("conserved");
    }

    #[test]
    fn registration_prunes_the_lowest_emission_non_immune_uid_when_full() {
        let mut g = small();
        g.params.max_allowed_uids = 16;
        g.params.min_non_immune_uids = 1;
        let mut c = build(&g).expect("genesis");
        let funder = c.create_coldkey(Rao::from_tao(100)).expect("funded");
        for _ in 0..5_000 {
            c.step_block();
        }
        let hk = c.create_hotkey(funder).expect("hotkey");
        // Every UID is past immunity and has the same (zero) emission: the earliest
        // registration, then the lowest UID, goes; the owner (UID 0) is never pruned.
        let uid = c.register_neuron(funder, hk, 1).expect("registered");
        assert_eq!(uid, 1);
        assert_eq!(c.subnet(1).and_then(|s| s.uid_of(hk)), Some(1));
        let again = c.create_hotkey(funder).expect("hotkey");
        assert_eq!(c.register_neuron(funder, again, 1), Ok(2));
        assert_eq!(c.register_neuron(funder, again, 1), Err(ChainError::HotkeyAlreadyRegistered));
    }

    #[test]
    fn subnet_registration_locks_and_dissolves_the_weakest_at_the_limit() {
        let mut g = small();
        g.params.subnet_limit = 4;
        g.params.network_immunity_period = 100;
        let mut c = build(&g).expect("genesis");
        let owner = c.create_coldkey(Rao::from_tao(10_000)).expect("funded");
        let hk = c.create_hotkey(owner).expect("hotkey");
        assert_eq!(c.network_lock_cost(), Rao::from_tao(1_000));
        assert_eq!(c.register_subnet(owner, hk), Err(ChainError::SubnetLimitReached));
        for _ in 0..200 {
            c.step_block_with_epochs();
        }
        let weakest = c.subnet_to_prune();
        assert_eq!(weakest, Some(4), "lowest price EMA");
        let issuance = c.total_issuance;
        let netuid = c.register_subnet(owner, hk).expect("registered");
        assert_eq!(netuid, 4);
        assert!(c.total_issuance < issuance, "the protocol's share of the pot is recycled");
        assert_eq!(c.subnet(4).map(|s| s.pool.tao), Some(Rao::from_tao(1_000)));
        c.check_conservation().expect("conserved");
        // Doubled, then decaying; rate limited for a day.
        assert_eq!(c.network_lock_cost(), Rao::from_tao(2_000));
        assert_eq!(c.register_subnet(owner, hk), Err(ChainError::NetworkRateLimit));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Blocks(u16),
        Stake { who: u8, netuid: u16, tao: u64 },
        Unstake { who: u8, netuid: u16, fraction: u8 },
        Register { who: u8, netuid: u16 },
        RegisterSubnet { who: u8 },
        Transfer { who: u8, tao: u64 },
    }

    proptest! {
        /// The ordered walk reads the same totals as one search per UID, whether the pools are
        /// few or many next to the UIDs, with hotkeys missing, shared or absent from the UIDs.
        #[test]
        fn pool_totals_are_each_hotkeys_pool_total(
            pools in proptest::collection::btree_map(0u32..600, 1u64..1_000_000, 0..400),
            hotkeys in proptest::collection::vec(0u32..600, 0..120),
        ) {
            let pools: BTreeMap<HotkeyId, SharePool> = pools
                .into_iter()
                .map(|(h, t)| (HotkeyId(h), SharePool { total: Rao(t), ..SharePool::default() }))
                .collect();
            let mut order: Vec<(HotkeyId, usize)> = hotkeys.iter().enumerate().map(|(u, h)| (HotkeyId(*h), u)).collect();
            order.sort_unstable();
            let want: Vec<Rao> = hotkeys.iter().map(|h| pools.get(&HotkeyId(*h)).map_or(Rao::ZERO, |p| p.total)).collect();
            prop_assert_eq!(pool_totals(&pools, &order), want);
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u16..400).prop_map(Op::Blocks),
            (0u8..4, 0u16..7, 0u64..u64::MAX).prop_map(|(who, netuid, tao)| Op::Stake { who, netuid, tao }),
            (0u8..4, 0u16..7, 0u8..=255).prop_map(|(who, netuid, fraction)| Op::Unstake { who, netuid, fraction }),
            (0u8..4, 0u16..7).prop_map(|(who, netuid)| Op::Register { who, netuid }),
            (0u8..4).prop_map(|who| Op::RegisterSubnet { who }),
            (0u8..4, 0u64..u64::MAX).prop_map(|(who, tao)| Op::Transfer { who, tao }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// After any sequence of blocks, stakes, unstakes and registrations, every rao of TAO
        /// and alpha is accounted for exactly, reserves stay at or above the minimum, and no
        /// operation panics; a failed operation changes nothing.
        #[test]
        fn conservation_holds_under_any_operations(ops in proptest::collection::vec(op(), 1..40), flow in 0u8..3) {
            let mut g = small();
            g.params.share_rule = match flow { 0 => ShareRule::PriceEma, 1 => ShareRule::TaoFlow, _ => ShareRule::NetFlow };
            g.params.network_rate_limit = 10;
            g.params.subnet_limit = 5;
            g.params.network_immunity_period = 300;
            let mut c = build(&g).expect("genesis");
            let mut users: Vec<(ColdkeyId, crate::chain::subnet::HotkeyId)> = Vec::new();
            for _ in 0..4 {
                let ck = c.create_coldkey(Rao::from_tao(5_000)).expect("funded");
                let hk = c.create_hotkey(ck).expect("hotkey");
                users.push((ck, hk));
            }
            for op in ops {
                let before = c.clone();
                let result: Result<(), ChainError> = match op {
                    Op::Blocks(n) => { for _ in 0..n { c.step_block_with_epochs(); } Ok(()) }
                    Op::Stake { who, netuid, tao } => {
                        let (ck, hk) = users[usize::from(who)];
                        let tao = Rao(tao >> (tao % 64));
                        c.add_stake(ck, hk, netuid, tao, None).map(|_| ())
                    }
                    Op::Unstake { who, netuid, fraction } => {
                        let (ck, hk) = users[usize::from(who)];
                        let held = c.stake_of(ck, hk, netuid);
                        let amount = Rao((u128::from(held.0) * u128::from(fraction) / 255) as u64);
                        c.remove_stake(ck, hk, netuid, amount, None).map(|_| ())
                    }
                    Op::Register { who, netuid } => {
                        let (ck, _) = users[usize::from(who)];
                        let hk = c.create_hotkey(ck).expect("hotkey");
                        let before = c.clone();
                        let r = c.register_neuron(ck, hk, netuid).map(|_| ());
                        if r.is_err() { prop_assert!(c.subnets == before.subnets && c.balances == before.balances); }
                        r
                    }
                    Op::RegisterSubnet { who } => {
                        let (ck, hk) = users[usize::from(who)];
                        c.register_subnet(ck, hk).map(|_| ())
                    }
                    Op::Transfer { who, tao } => {
                        let (ck, _) = users[usize::from(who)];
                        c.transfer(WORLD, ck, Rao(tao >> 20))
                    }
                };
                if result.is_err() && !matches!(op, Op::Register { .. }) {
                    prop_assert!(c == before, "a failed {:?} changed the state", op);
                }
                if let Err(e) = c.check_conservation() {
                    prop_assert!(false, "after {:?}: {}", op, e);
                }
            }
        }
    }
}
