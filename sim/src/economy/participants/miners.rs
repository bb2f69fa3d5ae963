//! Miners' decisions: rewards and sales, exits, entries and registrations.

use super::*;

impl Participants {
    pub(super) fn miner_step(&mut self, i: usize, chain: &mut ChainState, block: u64, dt_days: f64) {
        let price_usd = self.market.price_usd();
        let cost_today = self.cost_usd_per_day(&self.miners[i]) * dt_days;
        let sell = self.cfg.miners.sell;
        let patience = self.cfg.miners.patience_days;
        let attack = self.miners[i].attack;
        let coldkey = self.miners[i].coldkey;
        let mut reward_tao = 0.0;
        let mut stake_tao = 0.0;
        let mut kept = Vec::new();
        let positions = std::mem::take(&mut self.miners[i].positions);
        let training_positions = positions
            .iter()
            .filter(|p| self.training.iter().any(|t| t.netuid == p.netuid))
            .map(|p| p.netuid)
            .collect::<Vec<_>>();
        let position_count = positions.len().max(1) as f64;
        for pos in positions {
            let registered = chain.subnet(pos.netuid).is_some_and(|s| s.uid_of(pos.hotkey).is_some());
            let stake = chain.stake_of(coldkey, pos.hotkey, pos.netuid);
            let reward = stake.saturating_sub(pos.last_stake);
            let alpha_price = price_of(chain, pos.netuid);
            reward_tao += tao_of(reward) * alpha_price;
            if registered {
                stake_tao += tao_of(stake) * alpha_price;
                kept.push(pos);
            } else {
                // Pruned: the stake is of no use on that subnet any more.
                unstake_all(chain, coldkey, pos.hotkey, pos.netuid);
                self.quality.remove(&pos.hotkey);
                self.push(
                    block,
                    "deregistration",
                    format!("miner {}", self.miners[i].id),
                    pos.netuid.to_string(),
                    format!("hotkey {} pruned from subnet {}", pos.hotkey.0, pos.netuid),
                );
            }
        }
        if attack.is_some() {
            for pos in &mut kept {
                pos.last_stake = chain.stake_of(coldkey, pos.hotkey, pos.netuid);
            }
            self.miners[i].positions = kept;
            self.miners[i].profit_usd_per_day = reward_tao * price_usd / dt_days;
            return;
        }
        let free = tao_of(chain.balance(coldkey));
        let m = &mut self.miners[i];
        m.costs_usd += cost_today;
        let wanted = match sell {
            SellPolicy::CoverCosts | SellPolicy::CoverCostsPlus { .. } => {
                m.costs_due_usd += cost_today;
                tao_to_sell(sell, reward_tao, m.costs_due_usd, cost_today, free + stake_tao, price_usd)
            }
            _ => {
                m.usd -= cost_today;
                tao_to_sell(sell, reward_tao, 0.0, 0.0, free + stake_tao, price_usd)
            }
        };
        // Raise what free TAO does not cover by unstaking from each position in proportion to
        // its value; the rest stays staked.
        let raise = wanted - free;
        if raise > 0.0 && stake_tao > 0.0 {
            let part = (raise / stake_tao).min(1.0);
            for pos in &kept {
                let stake = chain.stake_of(coldkey, pos.hotkey, pos.netuid);
                let alpha = if part >= 1.0 { stake } else { Rao((stake.0 as f64 * part) as u64).min(stake) };
                if alpha.0 > 0 {
                    let _ = chain.remove_stake(coldkey, pos.hotkey, pos.netuid, alpha, None);
                }
            }
        }
        for pos in &mut kept {
            pos.last_stake = chain.stake_of(coldkey, pos.hotkey, pos.netuid);
        }
        self.miners[i].positions = kept;
        let (usd, _) = sell_tao_from(chain, &mut self.market, Owner::Miner(i as u32), coldkey, wanted);
        let m = &mut self.miners[i];
        m.receive_usd(usd, matches!(sell, SellPolicy::CoverCosts | SellPolicy::CoverCostsPlus { .. }));
        let profit = reward_tao * price_usd - cost_today;
        m.profit_usd_per_day = profit / dt_days;
        if let Some(g) = self.gpus.get_mut(m.gpu) {
            g.income_usd += reward_tao * price_usd;
            g.rent_usd += cost_today;
        }
        // A training subnet's books: its share of the miner's income and rent (positions
        // split the GPUs evenly).
        for netuid in training_positions {
            self.book_training_peer(netuid, reward_tao * price_usd / position_count, cost_today / position_count);
        }
        let m = &mut self.miners[i];
        let counts = self.decisions > 1;
        if m.positions.is_empty() || (counts && m.streak.record(profit, patience)) {
            self.miner_exit(i, chain, block);
        }
    }

    pub(super) fn miner_exit(&mut self, i: usize, chain: &mut ChainState, block: u64) {
        let coldkey = self.miners[i].coldkey;
        let positions = std::mem::take(&mut self.miners[i].positions);
        for pos in &positions {
            unstake_all(chain, coldkey, pos.hotkey, pos.netuid);
            self.quality.insert(pos.hotkey, 0.0);
        }
        let free = tao_of(chain.balance(coldkey));
        let (usd, sold) = sell_tao_from(chain, &mut self.market, Owner::Miner(i as u32), coldkey, free);
        let m = &mut self.miners[i];
        m.usd += usd;
        // Costs still due when it leaves are written off: its GPUs' owners are not paid them.
        m.costs_usd -= m.costs_due_usd;
        m.costs_due_usd = 0.0;
        m.streak = LossStreak::default();
        m.state = MinerState::Exited(block);
        self.exits += 1;
        if let Some(g) = self.gpus.get_mut(m.gpu) {
            g.exits += 1;
        }
        let gpu = self.gpus.get(m.gpu).map_or(String::new(), |g| g.name.clone());
        let detail = format!(
            "left after {} losing decisions: {} x {gpu} offline, sold {} TAO",
            self.cfg.miners.patience_days,
            m.gpus,
            tao_of(sold)
        );
        let (id, p) = (m.id, m.profit_usd_per_day);
        self.push(block, "exit", format!("miner {id}"), p.to_string(), detail);
    }

    /// Expected TAO per day of one more miner on each subnet (equal split of miners' alpha).
    pub(super) fn expected_tao_per_day(chain: &ChainState, netuid: u16) -> f64 {
        let Some(s) = chain.subnet(netuid) else { return 0.0 };
        let miners = s.neurons.iter().filter(|n| n.weights.is_empty() && n.hotkey != s.owner_hotkey).count();
        let alpha_per_day = tao_of(s.last.alpha_out) * BLOCKS_PER_DAY as f64 * miner_alpha_share(chain);
        let full = s.neurons.len() >= usize::from(chain.params.max_allowed_uids);
        let sharing = if full { miners.max(1) } else { miners + 1 };
        alpha_per_day * s.pool.price().to_num::<f64>() / sharing as f64
    }

    pub(super) fn miner_entry(&mut self, i: usize, chain: &mut ChainState, block: u64) {
        let p = self.cfg.miners.entry_probability;
        if unit_f64(&mut self.miners[i].rng) >= p {
            return;
        }
        let have: BTreeSet<u16> = self.miners[i].positions.iter().map(|x| x.netuid).collect();
        let open: Vec<(u16, f64)> = self
            .expected
            .iter()
            .copied()
            .filter(|(netuid, _)| !have.contains(netuid) && chain.subnet(*netuid).is_some())
            .collect();
        let u = unit_f64(&mut self.miners[i].rng);
        let Some((netuid, expected)) = pick_by_expected(&open, u) else { return };
        let price_usd = self.market.price_usd();
        let burn = chain.subnet(netuid).map_or(Rao::ZERO, |s| s.burn);
        // An active miner spreading to another subnet pays no extra cost for it.
        let cost = if have.is_empty() { self.cost_usd_per_day(&self.miners[i]) } else { 0.0 };
        if !registration_pays(expected, price_usd, cost, tao_of(burn), self.cfg.miners.payback_days) {
            return;
        }
        if self.register(i, chain, netuid, block).is_some() {
            let m = &mut self.miners[i];
            if m.state == MinerState::Waiting {
                m.state = MinerState::Active;
                m.streak = LossStreak::default();
                self.entries += 1;
                let gpu = self.gpus.get(m.gpu).map_or(String::new(), |g| g.name.clone());
                let detail = format!("{} x {gpu} online on subnet {netuid}, expecting {expected} TAO/day", m.gpus);
                let id = m.id;
                self.push(block, "entry", format!("miner {id}"), netuid.to_string(), detail);
            }
        }
    }

    /// Registers miner `i` on `netuid` for the current burn (buying the TAO on the market).
    /// Returns the UID.
    pub(super) fn register(&mut self, i: usize, chain: &mut ChainState, netuid: u16, block: u64) -> Option<u16> {
        let coldkey = self.miners[i].coldkey;
        let burn = chain.subnet(netuid)?.burn;
        let balance = chain.balance(coldkey);
        if balance < burn {
            let (usd, _) = buy_tao_for(
                chain,
                &mut self.market,
                Owner::Miner(i as u32),
                coldkey,
                tao_of(burn.saturating_sub(balance)) * 1.001,
            );
            self.miners[i].usd -= usd;
            if let Some(a) = self.miners[i].attack
                && let Some(attack) = self.attacks.get_mut(a)
            {
                attack.cost_usd += usd;
            }
        }
        let hotkey = chain.create_hotkey(coldkey).ok()?;
        let pruned = if chain.subnet(netuid)?.neurons.len() >= usize::from(chain.params.max_allowed_uids) {
            let uid = chain.neuron_to_prune(netuid)?;
            chain.subnet(netuid)?.neurons.get(usize::from(uid)).map(|n| n.hotkey)
        } else {
            None
        };
        let uid = match chain.register_neuron(coldkey, hotkey, netuid) {
            Ok(uid) => uid,
            Err(_) => return None,
        };
        if let Some(a) = self.miners[i].attack
            && let Some(attack) = self.attacks.get_mut(a)
        {
            attack.cost_tao += tao_of(burn);
            attack.hotkeys.push(hotkey);
        }
        let id = self.miners[i].id;
        self.push(
            block,
            "registration",
            format!("miner {id}"),
            network_tao(burn),
            format!(
                "hotkey {} registered on subnet {netuid} as uid {uid} for a burn of {} TAO",
                hotkey.0,
                tao_of(burn)
            ),
        );
        if let Some(old) = pruned {
            self.push(
                block,
                "deregistration",
                format!("hotkey {}", old.0),
                netuid.to_string(),
                format!("uid {uid} on subnet {netuid} pruned for hotkey {}", hotkey.0),
            );
            self.quality.remove(&old);
        }
        let stake = chain.stake_of(coldkey, hotkey, netuid);
        self.miners[i].positions.push(Position { netuid, hotkey, last_stake: stake });
        if self.miners[i].attack.is_some() {
            self.quality.insert(hotkey, 0.0);
        } else {
            self.refresh_quality(i);
        }
        Some(uid)
    }
}
