//! What participants add to the outputs: their timeseries columns and the run summary.

use super::*;

impl Participants {
    /// Names of the columns [`Participants::sample`] fills, units last.
    pub fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = [
            "tao_price_usd",
            "fair_price_usd",
            "market_depth_usd",
            "off_ramp_frozen",
            "queued_sell_tao",
            "queued_buy_usd",
            "market_maker_inventory_tao",
            "sell_pressure_tao_per_day",
            "sell_pressure_usd_per_day",
            "active_miners",
            "waiting_miners",
            "exited_miners",
            "entries",
            "exits",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        c.extend(self.gpus.iter().map(|g| g.column.clone()));
        c.extend(
            [
                "miner_profit_p10_usd_per_day",
                "miner_profit_p50_usd_per_day",
                "miner_profit_p90_usd_per_day",
                "validator_dividends_honest_tao_per_day",
                "validator_dividends_lazy_tao_per_day",
                "validator_dividends_copier_tao_per_day",
                "validator_dividends_cabal_tao_per_day",
                "holders_staked",
                "speculators_alpha_tao",
                "speculators_free_tao",
                "attackers_emission_share",
                "attackers_stake_share",
                "attack_cost_usd",
                "nakamoto_stake",
                "gini_stake",
                "nakamoto_emission",
                "gini_emission",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        c.extend(self.training_columns());
        c
    }

    /// The participants' columns of one timeseries row (see [`Participants::columns`]).
    pub fn sample(&mut self, chain: &ChainState) -> Vec<String> {
        self.update_attack_shares(chain);
        let honest_miners = || self.miners.iter().filter(|m| m.attack.is_none());
        let active = honest_miners().filter(|m| m.state == MinerState::Active).count();
        let waiting = honest_miners().filter(|m| m.state == MinerState::Waiting).count();
        let exited = honest_miners().filter(|m| matches!(m.state, MinerState::Exited(_))).count();
        let mut out = vec![
            self.market.price_usd().to_string(),
            self.market.fair_price_usd().to_string(),
            self.market.depth_usd().to_string(),
            u8::from(self.market.frozen()).to_string(),
            self.market.queued().0.to_string(),
            self.market.queued().1.to_string(),
            self.market.venue().inventory_tao().to_string(),
            self.sell_pressure_tao_per_day.to_string(),
            self.sell_pressure_usd_per_day.to_string(),
            active.to_string(),
            waiting.to_string(),
            exited.to_string(),
            self.entries.to_string(),
            self.exits.to_string(),
        ];
        for (k, _) in self.gpus.iter().enumerate() {
            let online: u64 = honest_miners()
                .filter(|m| m.state == MinerState::Active && m.gpu == k)
                .map(|m| u64::from(m.gpus))
                .sum();
            out.push(online.to_string());
        }
        let mut profits: Vec<f64> =
            honest_miners().filter(|m| m.state == MinerState::Active).map(|m| m.profit_usd_per_day).collect();
        profits.sort_by(f64::total_cmp);
        for q in [0.1, 0.5, 0.9] {
            out.push(quantile_sorted(&profits, q).to_string());
        }
        let mut by_policy = [0.0f64; 4];
        for v in &self.validators {
            let k = match v.policy {
                ValidatorPolicy::Honest { .. } => 0,
                ValidatorPolicy::Lazy { .. } => 1,
                ValidatorPolicy::Copier => 2,
                ValidatorPolicy::Cabal => 3,
            };
            by_policy[k] += v.dividends_tao_per_day;
        }
        out.extend(by_policy.iter().map(|d| d.to_string()));
        out.push(self.holders.iter().filter(|h| h.target.is_some()).count().to_string());
        let (alpha_tao, free_tao) = self.speculators_books(chain);
        out.push(alpha_tao.to_string());
        out.push(free_tao.to_string());
        let (em, sub): (f64, f64) =
            self.attacks.iter().fold((0.0, 0.0), |(a, b), x| (a + x.emission_tao, b + x.subnet_emission_tao));
        out.push(if sub > 0.0 { (em / sub).to_string() } else { String::new() });
        let stake_share = if self.attacks.is_empty() {
            String::new()
        } else {
            (self.attacks.iter().fold(0.0, |acc, a| acc + a.stake_share) / self.attacks.len() as f64).to_string()
        };
        out.push(stake_share);
        out.push(self.attacks.iter().fold(0.0, |acc, a| acc + a.cost_usd).to_string());
        let c = graph::concentration(chain);
        out.push(c.nakamoto_stake.to_string());
        out.push(c.gini_stake.to_string());
        out.push(c.nakamoto_emission.to_string());
        out.push(c.gini_emission.to_string());
        out.extend(self.training_sample(chain));
        out
    }

    /// The summary of the run's participants.
    pub fn summary(&self) -> ParticipantsSummary {
        ParticipantsSummary {
            active_miners: self.miners.iter().filter(|m| m.attack.is_none() && m.state == MinerState::Active).count(),
            entries: self.entries,
            exits: self.exits,
            final_price_usd: self.market.price_usd(),
            attacks: self.attacks.clone(),
            gpus: self
                .gpus
                .iter()
                .enumerate()
                .map(|(k, g)| GpuSummary {
                    name: g.name.clone(),
                    training_tokens_per_s: g.tokens_per_s[Task::Training.index()],
                    inference_tokens_per_s: g.tokens_per_s[Task::Inference.index()],
                    usd_per_hour: g.usd_per_hour,
                    income_usd: g.income_usd,
                    rent_usd: g.rent_usd,
                    exits: g.exits,
                    gpus_online: self
                        .miners
                        .iter()
                        .filter(|m| m.attack.is_none() && m.state == MinerState::Active && m.gpu == k)
                        .map(|m| u64::from(m.gpus))
                        .sum(),
                })
                .collect(),
            governance: self.governance.attacks.clone(),
        }
    }
}
