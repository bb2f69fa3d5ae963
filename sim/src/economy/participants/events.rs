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
                self.market.frozen = true;
                self.push(
                    block,
                    "shock",
                    "market".into(),
                    e.days.unwrap_or(0.0).to_string(),
                    "off-ramp frozen: no TAO can be sold for USD".into(),
                );
                days_blocks
            }
            EventKind::MassUnstake => {
                self.mass_unstake(chain, e.netuid.unwrap_or(0), e.fraction.unwrap_or(0.0), block);
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
        }
    }

    /// Ends scenario event `index` (restores depth, lifts a freeze).
    pub fn end_event(&mut self, index: usize, chain: &ChainState) {
        let Some(e) = self.events.get(index) else { return };
        let block = chain.block.0;
        match e.kind {
            EventKind::DepthCut => {
                self.market.set_depth_factor(1.0);
                let d = self.market.depth_usd();
                self.push(block, "shock_end", "market".into(), d.to_string(), "depth restored".into());
            }
            EventKind::OffRampFreeze => {
                self.market.frozen = false;
                self.push(block, "shock_end", "market".into(), "0".into(), "off-ramp open again".into());
            }
            _ => {}
        }
    }

    pub(super) fn mass_unstake(&mut self, chain: &mut ChainState, netuid: u16, fraction: f64, block: u64) {
        let Some(s) = chain.subnet(netuid) else { return };
        let owner = s.owner_coldkey;
        let positions: Vec<(HotkeyId, ColdkeyId, Rao)> = s
            .stakes
            .iter()
            .flat_map(|(h, pool)| pool.values().map(move |(c, value)| (*h, c, value)))
            .filter(|(_, c, _)| *c != owner)
            .collect();
        let (mut unstaked, mut sold_total, mut usd_total) = (Rao::ZERO, Rao::ZERO, 0.0);
        for (hotkey, coldkey, value) in positions {
            let alpha = Rao((value.0 as f64 * fraction.clamp(0.0, 1.0)) as u64);
            if alpha.0 == 0 {
                continue;
            }
            if let Ok(tao) = chain.remove_stake(coldkey, hotkey, netuid, alpha, None) {
                unstaked = unstaked.saturating_add(tao);
                let (usd, sold) = sell_tao_from(chain, &mut self.market, coldkey, tao_of(tao));
                sold_total = sold_total.saturating_add(sold);
                usd_total += usd;
            }
        }
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
                "mass unstake of {fraction} of every stake: {} TAO out of the pool, {} TAO sold for {usd_total} USD",
                tao_of(unstaked),
                tao_of(sold_total)
            ),
        );
    }
}
