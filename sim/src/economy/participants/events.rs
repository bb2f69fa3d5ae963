//! Scenario events: shocks to the market and the chain (halving, depth cut, price jump,
//! off-ramp freeze, mass unstake, weight copiers) and their ends; attacks start in
//! [`super::attacks`].

use super::*;

impl Participants {
    /// Applies the start of scenario event `index`; returns the blocks after which its end
    /// must be applied (depth cuts, freezes).
    pub fn apply_event(&mut self, index: usize, chain: &mut ChainState) -> Option<u64> {
        let e = self.events.get(index)?.clone();
        let block = chain.block.0;
        let days_blocks = e.days.map(|d| libm::round(d * BLOCKS_PER_DAY as f64) as u64);
        let factor = e.factor.unwrap_or(1.0);
        match e.kind {
            EventKind::Halving => {
                let before = chain.schedule;
                chain.schedule = match before {
                    EmissionSchedule::Halving { cap, base } => EmissionSchedule::Halving { cap, base: Rao(base.0 / 2) },
                    EmissionSchedule::Smooth { cap, base } => EmissionSchedule::Smooth { cap, base: Rao(base.0 / 2) },
                };
                let base = match chain.schedule {
                    EmissionSchedule::Halving { base, .. } | EmissionSchedule::Smooth { base, .. } => base,
                };
                self.push(
                    block,
                    "shock",
                    "chain".into(),
                    network_tao(base),
                    format!("forced halving: base block emission now {} TAO", tao_of(base)),
                );
                None
            }
            EventKind::DepthCut => {
                self.market.set_depth_factor(factor);
                let depth = self.market.depth_usd();
                self.push(
                    block,
                    "shock",
                    "market".into(),
                    depth.to_string(),
                    format!("depth cut to {factor} of normal for {} days", e.days.unwrap_or(0.0)),
                );
                days_blocks
            }
            EventKind::PriceJump => {
                self.market.shock_price(factor);
                let p = self.market.price_usd();
                self.push(block, "shock", "market".into(), p.to_string(), format!("TAO/USD jumps by x{factor}"));
                None
            }
            EventKind::OffRampFreeze => {
                self.market.set_frozen(true);
                self.push(
                    block,
                    "shock",
                    "market".into(),
                    e.days.unwrap_or(0.0).to_string(),
                    "off-ramp frozen: no trade either way; orders wait in the queue".into(),
                );
                days_blocks
            }
            EventKind::MassUnstake => {
                self.mass_unstake(index, chain, e.netuid.unwrap_or(0), e.fraction.unwrap_or(0.0), block);
                None
            }
            EventKind::SellTao | EventKind::BuyTao => {
                self.start_trade(index, &e, chain, block);
                None
            }
            EventKind::WeightCopiers => {
                let count = e.count.unwrap_or(0) as usize;
                let mut turned = 0;
                for v in self.validators.iter_mut().rev().filter(|v| v.attack.is_none()) {
                    if turned >= count {
                        break;
                    }
                    v.policy = ValidatorPolicy::Copier;
                    turned += 1;
                }
                self.push(
                    block,
                    "attack_step",
                    format!("event {index}"),
                    turned.to_string(),
                    format!(
                        "{turned} validators turn weight copiers (commit-reveal delay {} epochs)",
                        self.cfg.validators.commit_reveal_epochs
                    ),
                );
                None
            }
            EventKind::Cabal | EventKind::Takeover | EventKind::Sybil | EventKind::OwnerSelfMining => {
                self.start_attack(index, &e, chain, block);
                None
            }
            EventKind::Proposal => self.start_proposal(index, &e, chain),
            EventKind::HaltEmission => {
                self.halt_emission(index, e.netuid.unwrap_or(0), false, chain);
                days_blocks
            }
            EventKind::SeatCapture => self.start_seat_capture(index, &e, chain),
            EventKind::ConvictionTakeover => {
                self.start_takeover(index, &e, chain);
                None
            }
            EventKind::HostileOwner => {
                self.start_hostile_owner(index, e.netuid.unwrap_or(0), e.count.unwrap_or(0), chain);
                None
            }
        }
    }

    /// Ends scenario event `index` (restores depth, lifts a freeze, restores a halted
    /// subnet's emission, enacts a delayed proposal, holds a seat capture's vote).
    pub fn end_event(&mut self, index: usize, chain: &mut ChainState) {
        let Some(e) = self.events.get(index) else { return };
        let block = chain.block.0;
        match e.kind {
            EventKind::HaltEmission => {
                let netuid = e.netuid.unwrap_or(0);
                self.halt_emission(index, netuid, true, chain);
            }
            EventKind::Proposal => self.end_proposal(index, chain),
            EventKind::SeatCapture => self.end_seat_capture(index, chain),
            EventKind::DepthCut => {
                self.market.set_depth_factor(1.0);
                let d = self.market.depth_usd();
                self.push(block, "shock_end", "market".into(), d.to_string(), "depth restored".into());
            }
            EventKind::OffRampFreeze => {
                self.market.set_frozen(false);
                let (tao, usd) = self.market.queued();
                let detail = format!("off-ramp open again; queued: {tao} TAO to sell, {usd} USD to buy");
                self.push(block, "shock_end", "market".into(), tao.to_string(), detail);
            }
            _ => {}
        }
    }

    pub(super) fn mass_unstake(
        &mut self,
        index: usize,
        chain: &mut ChainState,
        netuid: u16,
        fraction: f64,
        block: u64,
    ) {
        let Some(s) = chain.subnet(netuid) else { return };
        let owner = s.owner_coldkey;
        let positions: Vec<(HotkeyId, ColdkeyId, Rao)> = s
            .stakes
            .iter()
            .flat_map(|(h, pool)| pool.values().map(move |(c, value)| (*h, c, value)))
            .filter(|(_, c, _)| *c != owner)
            .collect();
        // Every staker's unstaked TAO goes to the exchange's custody and is sold as one order
        // through the venue (executed at once up to one step's participation slice, the rest
        // queued); its USD is the event's.
        let mut unstaked = Rao::ZERO;
        for (hotkey, coldkey, value) in positions {
            let alpha = Rao((value.0 as f64 * fraction.clamp(0.0, 1.0)) as u64);
            if alpha.0 == 0 {
                continue;
            }
            if let Ok(tao) = chain.remove_stake(coldkey, hotkey, netuid, alpha, None)
                && chain.transfer(coldkey, WORLD, tao).is_ok()
            {
                unstaked = unstaked.saturating_add(tao);
            }
        }
        let placed = self.market.place(Owner::Event(index as u32).tag(), Side::Sell, tao_of(unstaked));
        if let Some(e) = self.event_usd.get_mut(index) {
            *e += placed.filled.usd;
        }
        let (sold_now, usd_now) = (placed.filled.tao, placed.filled.usd);
        let queued = tao_of(unstaked) - sold_now;
        for m in &mut self.miners {
            for p in &mut m.positions {
                if p.netuid == netuid {
                    p.last_stake = chain.stake_of(m.coldkey, p.hotkey, netuid);
                }
            }
        }
        self.push(
            block,
            "shock",
            format!("subnet {netuid}"),
            network_tao(unstaked),
            format!(
                "mass unstake of {fraction} of every stake: {} TAO out of the pool, {sold_now} TAO sold at once for {usd_now} USD, {queued} TAO queued at the venue",
                tao_of(unstaked)
            ),
        );
    }

    /// Starts a scenario trade: a large holder's sale (its TAO comes from outside the modelled
    /// network, through the world account) or a buyer's purchase, as a TWAP over `over`.
    pub(super) fn start_trade(&mut self, index: usize, e: &EventSpec, chain: &mut ChainState, block: u64) {
        let amount = e.amount_tao.unwrap_or(0.0);
        let over = e.over.as_deref().map(config::duration_days).and_then(Result::ok).unwrap_or(1.0);
        let label = e.holder.clone().unwrap_or_else(|| format!("event {index}"));
        let side = if e.kind == EventKind::SellTao { Side::Sell } else { Side::Buy };
        let Ok(coldkey) = chain.create_coldkey(Rao::ZERO) else { return };
        let price = self.market.price_usd();
        let order = match side {
            Side::Sell => {
                let rao = Rao::from_tao_f64(amount).unwrap_or(Rao::ZERO).min(chain.balance(WORLD));
                // The seller's TAO is deposited at the exchange: it stays with the world account.
                self.market.place_twap(Owner::Event(index as u32).tag(), Side::Sell, tao_of(rao), over)
            }
            Side::Buy => self.market.place_twap(Owner::Event(index as u32).tag(), Side::Buy, amount * price, over),
        };
        let Some(id) = order else { return };
        self.event_orders.insert(
            id,
            EventOrder {
                event: index,
                label: label.clone(),
                coldkey,
                side,
                start_price: price,
                worst_price: price,
                filled_tao: 0.0,
                usd: 0.0,
            },
        );
        let verb = if side == Side::Sell { "sells" } else { "buys" };
        let detail = format!("{label} {verb} {amount} TAO over {over} days (TWAP) from TAO/USD {price}");
        self.push(block, "trade_start", label, amount.to_string(), detail);
    }

    /// Logs the scenario trades that have finished (nothing left queued) and drops their books.
    pub(super) fn finish_event_orders(&mut self, block: u64) {
        let done: Vec<OrderId> =
            self.event_orders.keys().copied().filter(|id| self.market.remaining(*id).is_none()).collect();
        for id in done {
            let Some(b) = self.event_orders.remove(&id) else { continue };
            let avg = if b.filled_tao > 0.0 { b.usd / b.filled_tao } else { 0.0 };
            let worst = libm::log(b.worst_price / b.start_price);
            let verb = if b.side == Side::Sell { "sold" } else { "bought" };
            let detail = format!(
                "{} {verb} {} TAO for {} USD (average {avg}); worst TAO/USD {} ({worst} log from the start {})",
                b.label, b.filled_tao, b.usd, b.worst_price, b.start_price
            );
            self.push(block, "trade_done", b.label, worst.to_string(), detail);
        }
    }
}
