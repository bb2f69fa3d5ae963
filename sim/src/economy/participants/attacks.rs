//! Attacks on a subnet's consensus (cabal, takeover, sybil, owner self-mining): their start,
//! their books and their report at the end of the run.

use super::*;

impl Participants {
    /// Weighted stake (`alpha + tao_weight * root`, in rao as f64) of a hotkey on a subnet.
    pub(super) fn weighted_stake(chain: &ChainState, netuid: u16, hotkey: HotkeyId) -> f64 {
        let tw = chain.params.tao_weight as f64 / u64::MAX as f64;
        let alpha = chain.subnet(netuid).map_or(0, |s| s.stake_of(hotkey).0) as f64;
        alpha + tw * chain.root_stake_of(hotkey).0 as f64
    }

    pub(super) fn start_attack(&mut self, index: usize, e: &EventSpec, chain: &mut ChainState, block: u64) {
        let netuid = e.netuid.unwrap_or(0);
        let Some(subnet) = chain.subnet(netuid) else { return };
        let owner_coldkey = subnet.owner_coldkey;
        let owner_hotkey = subnet.owner_hotkey;
        let start_price = subnet.pool.price().to_num::<f64>();
        let a = self.attacks.len();
        let kind = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        self.attacks.push(Attack { event: index, kind: kind.clone(), netuid, block, ..Attack::default() });
        let subject = format!("attack {a}");
        // The attacker's validator: a fresh key (cabal, takeover) or the owner's (self-mining).
        let validator = match e.kind {
            EventKind::Cabal | EventKind::Takeover => {
                let Ok(coldkey) = chain.create_coldkey(Rao::ZERO) else { return };
                let id = self.new_miner(coldkey, MinerState::Waiting, Some(a));
                // Registered like a miner (same burn), then acts as a validator.
                let Some(uid) = self.register(id, chain, netuid, block) else {
                    self.push(block, "attack_step", subject, "0".into(), format!("{kind}: registration failed"));
                    return;
                };
                let hotkey = self.miners[id].positions.first().map(|p| p.hotkey);
                self.miners[id].positions.clear();
                self.miners[id].state = MinerState::Exited(u64::MAX);
                let Some(hotkey) = hotkey else { return };
                self.quality.remove(&hotkey);
                let policy = if e.kind == EventKind::Cabal {
                    ValidatorPolicy::Cabal
                } else {
                    ValidatorPolicy::Honest { noise_sd: self.cfg.validators.honest_noise_sd }
                };
                self.add_validator(coldkey, hotkey, policy, Some(a));
                self.push(
                    block,
                    "attack_step",
                    subject.clone(),
                    uid.to_string(),
                    format!("{kind}: validator hotkey {} registered on subnet {netuid} as uid {uid}", hotkey.0),
                );
                Some((coldkey, hotkey))
            }
            EventKind::OwnerSelfMining => {
                self.add_validator(owner_coldkey, owner_hotkey, ValidatorPolicy::Cabal, Some(a));
                self.attacks[a].hotkeys.push(owner_hotkey);
                Some((owner_coldkey, owner_hotkey))
            }
            _ => None,
        };
        // Stake purchases.
        if let Some((coldkey, hotkey)) = validator {
            let goal: Box<dyn Fn(&ChainState) -> bool> = match e.kind {
                EventKind::Cabal => {
                    let share = e.stake_share.unwrap_or(0.0);
                    Box::new(move |c: &ChainState| {
                        let Some(s) = c.subnet(netuid) else { return true };
                        let total: f64 = s.neurons.iter().map(|n| Self::weighted_stake(c, netuid, n.hotkey)).sum();
                        let own = Self::weighted_stake(c, netuid, hotkey);
                        total > 0.0 && own / total >= share
                    })
                }
                EventKind::Takeover => Box::new(move |c: &ChainState| {
                    let Some(s) = c.subnet(netuid) else { return true };
                    let own = Self::weighted_stake(c, netuid, hotkey);
                    s.neurons
                        .iter()
                        .filter(|n| n.hotkey != hotkey)
                        .all(|n| Self::weighted_stake(c, netuid, n.hotkey) < own)
                }),
                _ => Box::new(|_: &ChainState| true),
            };
            let step = e
                .step_tao
                .unwrap_or_else(|| chain.subnet(netuid).map_or(1.0, |s| (tao_of(s.pool.tao) * 0.02).max(1.0)));
            let max_tao = e.max_tao.unwrap_or(1e7);
            let (mut spent, mut alpha_got, mut steps) = (0.0, 0.0, 0u32);
            while !goal(chain) && spent < max_tao && steps < 1_000 {
                steps += 1;
                let amount = Rao::from_tao_f64(step.min(max_tao - spent)).unwrap_or(Rao::ZERO);
                // Without an `[attacker]` section the attacker's TAO comes from the rest of the
                // world (held or bought over the counter beforehand), costed at the market
                // price without book impact: the attack's slippage is in the subnet's pool.
                // With one, it is bought as `[attacker].funding` says (through the venue by
                // default, moving TAO/USD for everyone).
                let rao = if self.governance.priced_consensus {
                    let got = self.acquire_tao(chain, coldkey, tao_of(amount));
                    self.attacks[a].cost_usd += got.usd;
                    got.tao
                } else {
                    if chain.transfer(WORLD, coldkey, amount).is_err() {
                        break;
                    }
                    self.attacks[a].cost_usd += tao_of(amount) * self.market.price_usd();
                    amount
                };
                if rao.0 == 0 {
                    break;
                }
                let Ok(alpha) = chain.add_stake(coldkey, hotkey, netuid, rao, None) else { break };
                spent += tao_of(rao);
                alpha_got += tao_of(alpha);
                if e.kind == EventKind::Takeover {
                    let own = Self::weighted_stake(chain, netuid, hotkey);
                    let top_other = chain.subnet(netuid).map_or(0.0, |s| {
                        s.neurons
                            .iter()
                            .filter(|n| n.hotkey != hotkey)
                            .map(|n| Self::weighted_stake(chain, netuid, n.hotkey))
                            .fold(0.0, f64::max)
                    });
                    self.push(
                        block,
                        "attack_step",
                        subject.clone(),
                        spent.to_string(),
                        format!(
                            "takeover step {steps}: {} TAO bought {} alpha; stake {} vs top other {} alpha-equivalent",
                            tao_of(rao),
                            tao_of(alpha),
                            own / 1e9,
                            top_other / 1e9
                        ),
                    );
                }
            }
            let reached = goal(chain);
            let at = &mut self.attacks[a];
            at.cost_tao += spent;
            at.slippage_tao = spent - alpha_got * start_price;
            at.reached = reached;
            if !at.hotkeys.contains(&hotkey) {
                at.hotkeys.push(hotkey);
            }
            let (cost_usd, slip) = (at.cost_usd, at.slippage_tao);
            self.push(
                block,
                "attack_step",
                subject.clone(),
                spent.to_string(),
                format!(
                    "{kind}: bought {alpha_got} alpha for {spent} TAO ({cost_usd} USD), slippage {slip} TAO; goal reached: {reached}"
                ),
            );
        }
        // GPU-less miners (cabal, sybil, owner self-mining).
        let miners = match e.kind {
            EventKind::Cabal | EventKind::Sybil | EventKind::OwnerSelfMining => e.count.unwrap_or(0),
            _ => 0,
        };
        let mut registered = 0;
        for _ in 0..miners {
            let Ok(coldkey) = chain.create_coldkey(Rao::ZERO) else { break };
            let id = self.new_miner(coldkey, MinerState::Active, Some(a));
            if self.register(id, chain, netuid, block).is_some() {
                registered += 1;
            } else {
                self.miners[id].state = MinerState::Exited(u64::MAX);
            }
        }
        if miners > 0 {
            let (usd, tao) = (self.attacks[a].cost_usd, self.attacks[a].cost_tao);
            self.push(
                block,
                "attack_step",
                subject,
                registered.to_string(),
                format!("{kind}: {registered} GPU-less miners registered on subnet {netuid}; cost so far {tao} TAO, {usd} USD"),
            );
        }
    }

    /// Rows for the end of the run: each attack's emission share against its stake share
    /// and cost.
    pub fn finish(&mut self, chain: &ChainState) {
        let block = chain.block.0;
        self.finish_governance(chain);
        self.update_attack_shares(chain);
        let rows: Vec<(String, String, String)> = self
            .attacks
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let share = if a.subnet_emission_tao > 0.0 { a.emission_tao / a.subnet_emission_tao } else { 0.0 };
                (
                    format!("attack {i}"),
                    share.to_string(),
                    format!(
                        "{} on subnet {}: emission share {share} ({} of {} TAO) vs stake share {}; cost {} USD, {} TAO, slippage {} TAO",
                        a.kind,
                        a.netuid,
                        a.emission_tao,
                        a.subnet_emission_tao,
                        a.stake_share,
                        a.cost_usd,
                        a.cost_tao,
                        a.slippage_tao
                    ),
                )
            })
            .collect();
        for (subject, value, detail) in rows {
            self.push(block, "attack_report", subject, value, detail);
        }
    }

    pub(super) fn update_attack_shares(&mut self, chain: &ChainState) {
        for a in &mut self.attacks {
            let Some(s) = chain.subnet(a.netuid) else { continue };
            let total = s.staked_alpha() as f64;
            let own: f64 = a.hotkeys.iter().map(|h| s.stake_of(*h).0 as f64).sum();
            a.stake_share = if total > 0.0 { own / total } else { 0.0 };
        }
    }
}
