//! Staking through the pools: `add_stake` swaps TAO for alpha into the hotkey's share pool,
//! `remove_stake` reverses it; root stake is 1:1. Flows are recorded for the flow-based
//! emission rules. Mirrors `pallets/subtensor/src/staking/{add_stake,remove_stake,
//! stake_utils}.rs` (`validate_add_stake`, `stake_into_subnet`, `validate_remove_stake`,
//! `unstake_from_subnet`).
//!
//! Simplifications: no child keys or stake locks; the coldkey's unconsumed TAO (a limit hit) is
//! refunded; the block author is always present (fees go to [`AUTHOR`]).

use super::pool::SwapResult;
use super::rao::Rao;
use super::state::{AUTHOR, ChainError, ChainState};
use super::subnet::{ColdkeyId, HotkeyId, NetUid};
use substrate_fixed::types::U64F64;

impl ChainState {
    /// Stakes `tao` from `coldkey` to `hotkey` on `netuid` (root: 1:1), buying alpha through the
    /// pool at a price no worse than `limit` (TAO per alpha; `None`: no limit). Returns the
    /// alpha staked. Fails without any change on bad input.
    pub fn add_stake(
        &mut self,
        coldkey: ColdkeyId,
        hotkey: HotkeyId,
        netuid: NetUid,
        tao: Rao,
        limit: Option<U64F64>,
    ) -> Result<Rao, ChainError> {
        self.check_coldkey(coldkey)?;
        self.hotkey(hotkey)?;
        if self.balance(coldkey) < tao {
            return Err(ChainError::NotEnoughBalance);
        }
        let min_stake = self.params.min_stake;
        if netuid == 0 {
            if tao < min_stake {
                return Err(ChainError::AmountTooLow);
            }
            self.take_balance(coldkey, tao)?;
            self.root.tao = self.root.tao.saturating_add(tao);
            self.root.stakes.entry(hotkey).or_default().add_for_one(coldkey, tao);
            return Ok(tao);
        }
        let subnet = self.subnet(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let min_amount = min_stake.saturating_add(subnet.pool.fee_on(min_stake, false));
        if tao < min_amount {
            return Err(ChainError::AmountTooLow);
        }
        let quote = subnet.pool.quote(tao, true, limit, false)?;
        if quote.paid_in < min_stake || quote.paid_out.0 == 0 {
            return Err(ChainError::AmountTooLow);
        }
        self.take_balance(coldkey, tao)?;
        let subnet = self.subnet_mut(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let result = subnet.pool.buy_alpha(tao, limit, false)?;
        subnet.alpha_out = subnet.alpha_out.saturating_add(result.paid_out);
        subnet.stakes.entry(hotkey).or_default().add_for_one(coldkey, result.paid_out);
        record_inflow(&mut subnet.flows, result.paid_in);
        let refund = tao.saturating_sub(result.consumed());
        self.give_balance(AUTHOR, result.fee);
        self.give_balance(coldkey, refund);
        Ok(result.paid_out)
    }

    /// Unstakes `alpha` of `coldkey` from `hotkey` on `netuid` (root: 1:1), selling it through
    /// the pool at a price no worse than `limit`. Returns the TAO received. The fee (in alpha)
    /// is sold fee-free and its TAO paid to the block author, as on chain.
    pub fn remove_stake(
        &mut self,
        coldkey: ColdkeyId,
        hotkey: HotkeyId,
        netuid: NetUid,
        alpha: Rao,
        limit: Option<U64F64>,
    ) -> Result<Rao, ChainError> {
        self.check_coldkey(coldkey)?;
        self.hotkey(hotkey)?;
        if alpha.0 == 0 {
            return Err(ChainError::AmountTooLow);
        }
        if netuid == 0 {
            let pool = self.root.stakes.get_mut(&hotkey).ok_or(ChainError::NotEnoughStake)?;
            if pool.value_of(coldkey) < alpha {
                return Err(ChainError::NotEnoughStake);
            }
            pool.remove_for_one(coldkey, alpha);
            self.root.tao = self.root.tao.saturating_sub(alpha);
            self.give_balance(coldkey, alpha);
            return Ok(alpha);
        }
        let min_stake = self.params.min_stake;
        let subnet = self.subnet(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let held = subnet.stakes.get(&hotkey).map_or(Rao::ZERO, |p| p.value_of(coldkey));
        if held < alpha {
            return Err(ChainError::NotEnoughStake);
        }
        let quote = subnet.pool.quote(alpha, false, limit, false)?;
        if held > alpha && quote.paid_out < min_stake {
            return Err(ChainError::AmountTooLow);
        }
        let subnet = self.subnet_mut(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let result: SwapResult = subnet.pool.sell_alpha(alpha, limit, false)?;
        if let Some(pool) = subnet.stakes.get_mut(&hotkey) {
            pool.remove_for_one(coldkey, result.consumed());
        }
        // The sold alpha returns to the reserve: it leaves alpha out.
        subnet.alpha_out = subnet.alpha_out.saturating_sub(result.paid_in);
        // The fee alpha is sold fee-free for the block author; if that fails it is burned.
        let mut fee_tao = Rao::ZERO;
        if result.fee.0 > 0 {
            match subnet.pool.sell_alpha(result.fee, None, true) {
                Ok(fee_swap) => {
                    subnet.alpha_out = subnet.alpha_out.saturating_sub(fee_swap.paid_in);
                    fee_tao = fee_swap.paid_out;
                }
                Err(_) => subnet.alpha_burned = subnet.alpha_burned.saturating_add(result.fee),
            }
        }
        record_outflow(&mut subnet.flows, result.paid_out.saturating_add(fee_tao));
        self.give_balance(coldkey, result.paid_out);
        self.give_balance(AUTHOR, fee_tao);
        Ok(result.paid_out)
    }

    /// Sets `hotkey`'s weights on `netuid` (`set_weights`): a sparse u16 row, `last_update` now.
    /// Weight semantics are the epoch's; the stand-in epoch ignores them.
    pub fn set_weights(
        &mut self,
        hotkey: HotkeyId,
        netuid: NetUid,
        weights: Vec<(u16, u16)>,
    ) -> Result<(), ChainError> {
        let block = self.now();
        let subnet = self.subnet_mut(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let uid = subnet.uid_of(hotkey).ok_or(ChainError::HotkeyNotExists(hotkey.0))?;
        let n = subnet.neurons.len();
        if weights.iter().any(|(u, _)| usize::from(*u) >= n) {
            return Err(ChainError::NoNeuronIdAvailable);
        }
        let neuron = &mut subnet.neurons[usize::from(uid)];
        neuron.weights = weights;
        neuron.last_update = block;
        Ok(())
    }

    /// Moves `alpha` of `origin`'s stake through `hotkey` on subnet `netuid` to `destination`
    /// (`transfer_stake` within one subnet: no swap, the hotkey's total and the subnet's alpha
    /// outstanding unchanged). Fails without any change when `origin` holds less, on root
    /// or an unknown subnet, or for an unknown coldkey.
    pub fn transfer_stake(
        &mut self,
        origin: ColdkeyId,
        destination: ColdkeyId,
        hotkey: HotkeyId,
        netuid: NetUid,
        alpha: Rao,
    ) -> Result<(), ChainError> {
        self.check_coldkey(origin)?;
        self.check_coldkey(destination)?;
        if netuid == 0 {
            return Err(ChainError::SubnetNotExists(netuid));
        }
        let subnet = self.subnet_mut(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let pool = subnet.stakes.get_mut(&hotkey).ok_or(ChainError::NotEnoughStake)?;
        if alpha.0 == 0 || !pool.remove_for_one(origin, alpha) {
            return Err(ChainError::NotEnoughStake);
        }
        pool.add_for_one(destination, alpha);
        Ok(())
    }

    /// The stake of `coldkey` through `hotkey` on `netuid`.
    pub fn stake_of(&self, coldkey: ColdkeyId, hotkey: HotkeyId, netuid: NetUid) -> Rao {
        if netuid == 0 {
            return self.root.stakes.get(&hotkey).map_or(Rao::ZERO, |p| p.value_of(coldkey));
        }
        self.subnet(netuid).and_then(|s| s.stakes.get(&hotkey)).map_or(Rao::ZERO, |p| p.value_of(coldkey))
    }
}

/// `record_tao_inflow`.
pub(crate) fn record_inflow(flows: &mut super::subnet::Flows, tao: Rao) {
    flows.user_block = flows.user_block.saturating_add(i64::try_from(tao.0).unwrap_or(i64::MAX));
    flows.user_in_total = flows.user_in_total.saturating_add(u128::from(tao.0));
}

/// `record_tao_outflow`.
pub(crate) fn record_outflow(flows: &mut super::subnet::Flows, tao: Rao) {
    flows.user_block = flows.user_block.saturating_sub(i64::try_from(tao.0).unwrap_or(i64::MAX));
    flows.user_out_total = flows.user_out_total.saturating_add(u128::from(tao.0));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::{build, small};
    use crate::chain::subnet::HotkeyId;

    fn setup() -> (ChainState, ColdkeyId, HotkeyId) {
        let mut c = build(&small()).expect("genesis");
        let ck = c.create_coldkey(Rao::from_tao(1_000)).expect("funded");
        let hk = c.create_hotkey(ck).expect("hotkey");
        (c, ck, hk)
    }

    #[test]
    fn stake_and_unstake_go_through_the_pool_with_fees_to_the_author() {
        let (mut c, ck, hk) = setup();
        let quote =
            c.subnet(1).map(|s| s.pool.quote(Rao::from_tao(100), true, None, false)).expect("subnet").expect("q");
        let alpha = c.add_stake(ck, hk, 1, Rao::from_tao(100), None).expect("staked");
        assert_eq!(alpha, quote.paid_out);
        assert_eq!(c.balance(ck), Rao::from_tao(900));
        assert_eq!(c.balance(AUTHOR), quote.fee);
        assert_eq!(c.stake_of(ck, hk, 1), alpha);
        let flows = c.subnet(1).map(|s| s.flows).expect("subnet");
        assert_eq!(flows.user_block, quote.paid_in.0 as i64);
        let tao = c.remove_stake(ck, hk, 1, alpha, None).expect("unstaked");
        assert!(tao < Rao::from_tao(100) && tao > Rao::from_tao(99), "fees and slippage: {tao}");
        assert_eq!(c.stake_of(ck, hk, 1), Rao::ZERO);
        assert!(c.balance(AUTHOR) > quote.fee, "the alpha fee was sold for the author");
        c.check_conservation().expect("conserved");
    }

    #[test]
    fn root_stake_is_one_to_one() {
        let (mut c, ck, hk) = setup();
        assert_eq!(c.add_stake(ck, hk, 0, Rao::from_tao(10), None), Ok(Rao::from_tao(10)));
        assert_eq!(c.root_stake_of(hk), Rao::from_tao(10));
        assert_eq!(c.remove_stake(ck, hk, 0, Rao::from_tao(4), None), Ok(Rao::from_tao(4)));
        assert_eq!(c.balance(ck), Rao::from_tao(994));
        c.check_conservation().expect("conserved");
    }

    #[test]
    fn bad_requests_get_typed_errors_and_change_nothing() {
        let (mut c, ck, hk) = setup();
        let before = c.clone();
        assert_eq!(c.add_stake(ck, hk, 9, Rao::from_tao(1), None), Err(ChainError::SubnetNotExists(9)));
        assert_eq!(c.add_stake(ck, hk, 1, Rao::from_tao(2_000), None), Err(ChainError::NotEnoughBalance));
        assert_eq!(c.add_stake(ck, hk, 1, Rao(1_000), None), Err(ChainError::AmountTooLow));
        assert_eq!(
            c.add_stake(ck, HotkeyId(9_999), 1, Rao::from_tao(1), None),
            Err(ChainError::HotkeyNotExists(9_999))
        );
        assert_eq!(
            c.add_stake(ColdkeyId(99_999), hk, 1, Rao::from_tao(1), None),
            Err(ChainError::ColdkeyNotExists(99_999))
        );
        assert_eq!(c.remove_stake(ck, hk, 1, Rao(1), None), Err(ChainError::NotEnoughStake));
        assert_eq!(c.remove_stake(ck, hk, 1, Rao::ZERO, None), Err(ChainError::AmountTooLow));
        let price = c.subnet(1).map(|s| s.pool.price()).expect("subnet");
        let below = price.checked_div(U64F64::from_num(2)).unwrap_or_default();
        assert!(matches!(c.add_stake(ck, hk, 1, Rao::from_tao(1), Some(below)), Err(ChainError::Swap(_))));
        assert!(c == before);
        // A limit just above the price fills partly and refunds the rest.
        let limit = price.saturating_mul(U64F64::from_num(1.001));
        let alpha = c.add_stake(ck, hk, 1, Rao::from_tao(1_000), Some(limit)).expect("partial");
        assert!(alpha.0 > 0 && c.balance(ck) > Rao::ZERO);
        assert!(c.subnet(1).map(|s| s.pool.price()).expect("subnet") <= limit);
        c.check_conservation().expect("conserved");
    }
}
