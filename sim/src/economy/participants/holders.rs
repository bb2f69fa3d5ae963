//! Holders' decisions: staking, reviews with inertia, panics and exits spread over days,
//! re-entry.

use super::*;

impl Participants {
    pub(super) fn holder_step(&mut self, i: usize, chain: &mut ChainState, block: u64, dt_days: f64) {
        let price_usd = self.market.price_usd();
        let policy = self.cfg.holders.policy;
        let coldkey = self.holders[i].coldkey;
        if let Some((netuid, hotkey)) = self.holders[i].target {
            if self.holders[i].exit_days_left > 0 {
                self.holder_exit_slice(i, chain, block);
                return;
            }
            let stake = chain.stake_of(coldkey, hotkey, netuid);
            let value = tao_of(stake) * stake_price(chain, netuid) * price_usd;
            let h = &mut self.holders[i];
            h.peak_usd = remembered_peak(h.peak_usd, value, dt_days, h.traits.horizon_days);
            if !h.long_term && panics(h.traits.panic_drawdown, h.peak_usd, value) {
                h.exit_days_left = h.traits.exit_days;
                let (id, peak, days) = (h.id, h.peak_usd, h.traits.exit_days);
                let detail = format!(
                    "position on subnet {netuid} at {value} USD, {} below its remembered peak {peak} USD: selling over {days} days",
                    1.0 - value / peak.max(1e-12)
                );
                self.push(block, "panic", format!("holder {id}"), value.to_string(), detail);
                self.holder_exit_slice(i, chain, block);
                return;
            }
            if !self.holders[i].root && unit_f64(&mut self.holders[i].rng) < dt_days / policy.review_days {
                self.holder_review(i, chain, block, netuid, hotkey);
            }
            return;
        }
        let day = block as f64 / BLOCKS_PER_DAY as f64;
        if self.holders[i].out_since.is_none() && day < self.holders[i].enters_day {
            return;
        }
        if let Some(since) = self.holders[i].out_since {
            let waited = block.saturating_sub(since) as f64 / BLOCKS_PER_DAY as f64;
            if waited < self.holders[i].traits.reentry_days {
                return;
            }
            let usd = self.holders[i].usd;
            if usd > 0.0 {
                let tao = usd / price_usd;
                let (paid, _) = buy_tao_for(chain, &mut self.market, Owner::Holder(i as u32), coldkey, tao);
                self.holders[i].usd -= paid;
            }
        }
        let Some((netuid, hotkey)) = self.holder_choice(i, chain) else { return };
        let amount = chain.balance(coldkey);
        if chain.add_stake(coldkey, hotkey, netuid, amount, None).is_ok() {
            self.rescore(chain, netuid);
            let h = &mut self.holders[i];
            let reentry = h.out_since.is_some();
            h.target = Some((netuid, hotkey));
            h.out_since = None;
            h.peak_usd = 0.0;
            let id = h.id;
            self.push(
                block,
                if reentry { "reentry" } else { "stake" },
                format!("holder {id}"),
                network_tao(amount),
                format!("staked {} TAO on subnet {netuid} through hotkey {}", tao_of(amount), hotkey.0),
            );
        }
    }

    /// Where holder `i` would stake now: the subnet with the best score plus its taste, and a
    /// validator there chosen by stake and take. Also returns nothing without candidates.
    pub(super) fn holder_choice(&mut self, i: usize, chain: &ChainState) -> Option<(u16, HotkeyId)> {
        if self.holders[i].root {
            let (mut stakes, mut takes, mut keys) = (Vec::new(), Vec::new(), Vec::new());
            for v in self.validators.iter().filter(|v| v.attack.is_none()) {
                stakes.push(chain.root_stake_of(v.hotkey).as_tao_f64() + 1.0);
                takes.push(v.take);
                keys.push(v.hotkey);
            }
            let u = unit_f64(&mut self.holders[i].rng);
            return choose_validator(&stakes, &takes, u).map(|j| (0, keys[j]));
        }
        let k = self.holder_pick_subnet(i, None)?;
        let netuid = self.subnet_scores[k].0;
        let subnet = chain.subnet(netuid)?;
        let (mut stakes, mut takes, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for v in self.validators.iter().filter(|v| v.attack.is_none()) {
            if subnet.uid_of(v.hotkey).is_some() {
                stakes.push(subnet.stake_of(v.hotkey).as_tao_f64() + 1.0);
                takes.push(v.take);
                keys.push(v.hotkey);
            }
        }
        let u = unit_f64(&mut self.holders[i].rng);
        choose_validator(&stakes, &takes, u).map(|j| (netuid, keys[j]))
    }

    /// Index into `subnet_scores` of the subnet holder `i` likes best now (its taste drawn
    /// afresh). With `current` (where it is staked), only when the best beats that subnet by
    /// the policy's inertia.
    pub(super) fn holder_pick_subnet(&mut self, i: usize, current: Option<u16>) -> Option<usize> {
        let policy = self.cfg.holders.policy;
        let rng = &mut self.holders[i].rng;
        let tastes: Vec<f64> = self.subnet_scores.iter().map(|_| taste(policy.taste_sd, rng)).collect();
        let yields: Vec<f64> = self.subnet_scores.iter().map(|s| s.1).collect();
        let momentum: Vec<f64> = self.subnet_scores.iter().map(|s| s.2).collect();
        let best = choose_target(&policy, &yields, &momentum, &tastes)?;
        let Some(netuid) = current else { return Some(best) };
        let here = self.subnet_scores.iter().position(|s| s.0 == netuid)?;
        let value = |k: usize| score(&policy, yields[k], momentum[k]) + tastes[k];
        (value(best) > value(here) + policy.inertia).then_some(best)
    }

    /// Refreshes a subnet's yield in this decision's scores after a holder staked there: the
    /// next holder sees the yield its stake diluted (no herd into one subnet on one snapshot).
    pub(super) fn rescore(&mut self, chain: &ChainState, netuid: u16) {
        if let Some(s) = self.subnet_scores.iter_mut().find(|s| s.0 == netuid) {
            s.1 = annual_yield(chain, netuid);
        }
    }

    /// A review: holder `i` moves its stake when another subnet beats its own by the inertia.
    pub(super) fn holder_review(
        &mut self,
        i: usize,
        chain: &mut ChainState,
        block: u64,
        netuid: u16,
        hotkey: HotkeyId,
    ) {
        if self.holder_pick_subnet(i, Some(netuid)).is_none() {
            return;
        }
        let Some((to, to_hotkey)) = self.holder_choice(i, chain) else { return };
        if to == netuid {
            return;
        }
        let coldkey = self.holders[i].coldkey;
        let tao = unstake_all(chain, coldkey, hotkey, netuid);
        let amount = chain.balance(coldkey);
        if chain.add_stake(coldkey, to_hotkey, to, amount, None).is_ok() {
            let h = &mut self.holders[i];
            h.target = Some((to, to_hotkey));
            h.peak_usd = 0.0;
            let id = h.id;
            let detail = format!("moved {} TAO of stake from subnet {netuid} to subnet {to}", tao_of(tao));
            self.push(block, "restake", format!("holder {id}"), network_tao(amount), detail);
            self.rescore(chain, to);
        } else {
            self.holders[i].target = None;
        }
    }

    /// One day of holder `i`'s exit: unstake an equal part of what is left and sell it.
    pub(super) fn holder_exit_slice(&mut self, i: usize, chain: &mut ChainState, block: u64) {
        let Some((netuid, hotkey)) = self.holders[i].target else { return };
        let coldkey = self.holders[i].coldkey;
        let left = self.holders[i].exit_days_left.max(1);
        let stake = chain.stake_of(coldkey, hotkey, netuid);
        let alpha = if left <= 1 { stake } else { Rao(stake.0 / u64::from(left)) };
        if alpha.0 > 0 {
            let _ = chain.remove_stake(coldkey, hotkey, netuid, alpha, None);
        }
        let (usd, sold) =
            sell_tao_from(chain, &mut self.market, Owner::Holder(i as u32), coldkey, tao_of(chain.balance(coldkey)));
        let h = &mut self.holders[i];
        h.usd += usd;
        h.exit_days_left = left - 1;
        if h.exit_days_left == 0 {
            h.target = None;
            h.out_since = Some(block);
            h.peak_usd = 0.0;
            let id = h.id;
            let detail = format!("exit from subnet {netuid} done: last {} TAO sold for {usd} USD", tao_of(sold));
            self.push(block, "exit", format!("holder {id}"), tao_of(sold).to_string(), detail);
        }
    }
}
