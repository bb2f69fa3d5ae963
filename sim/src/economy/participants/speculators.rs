//! Alpha speculators' decisions: value every subnet's alpha (see
//! [`crate::economy::agents::speculator`]), buy through the pool where it is cheap and sell
//! what they hold where it is dear. They trade alpha against TAO only (no USD), through the
//! chain's `add_stake` and `remove_stake`, so they pay the pools' fees and slippage.

use super::*;
use crate::economy::agents::speculator::{
    SpeculatorTraits, alpha_value, amount_for_move, draw_traits as draw_speculator_traits, fair_multiple, next_news,
    wanted_move,
};

/// A speculator: TAO, alpha positions and its own beliefs.
#[derive(Clone, Debug)]
pub struct Speculator {
    /// Index among speculators.
    pub id: u32,
    /// Its coldkey.
    pub coldkey: ColdkeyId,
    /// Its multiple and band.
    pub traits: SpeculatorTraits,
    /// The hotkey its alpha is staked through, by subnet.
    pub positions: BTreeMap<u16, HotkeyId>,
}

/// A subnet's news factor (log) and the stream that moves it.
#[derive(Clone, Debug)]
pub struct News {
    /// The factor.
    pub value: f64,
    rng: Stream,
}

/// What speculators see of one subnet at a decision.
struct Quote {
    netuid: u16,
    tao_per_day: f64,
    news: f64,
    hotkey: HotkeyId,
}

impl Participants {
    /// Creates `cfg.speculators.count` speculators, each funded with `tao_each` from the
    /// world account and with its beliefs drawn from `["speculator", id, "traits"]`. They
    /// also start holding `genesis_alpha_share` of every subnet's staked alpha, in equal
    /// parts, taken from the own stake of the subnet's largest validator (capped by it): a
    /// property of the starting network, like the validators' takes. Alpha they had to buy
    /// first would lift every price before they could sell any, so only alpha held from the
    /// start lets them lean against a sum of prices above their value.
    pub(super) fn add_speculators(&mut self, chain: &mut ChainState) -> Result<(), ScenarioError> {
        let s = self.cfg.speculators;
        let each = Rao::from_tao_f64(s.tao_each).unwrap_or(Rao::ZERO);
        for id in 0..s.count {
            let coldkey = chain.create_coldkey(each).map_err(|e| {
                ScenarioError::new("scenario", "participants.speculators", format!("cannot fund the speculators: {e}"))
            })?;
            let traits = draw_speculator_traits(&s.policy, &mut stream(self.seed, &label!["speculator", id, "traits"]));
            self.speculators.push(Speculator { id, coldkey, traits, positions: BTreeMap::new() });
        }
        if self.speculators.is_empty() || s.genesis_alpha_share <= 0.0 {
            return Ok(());
        }
        for netuid in chain.netuids() {
            let Some(hotkey) = self.top_validator(chain, netuid) else { continue };
            let Some(subnet) = chain.subnet(netuid) else { continue };
            let owner = chain.hotkeys.get(hotkey.0 as usize).map_or(WORLD, |h| h.owner);
            let wanted = subnet.staked_alpha() as f64 * s.genesis_alpha_share;
            let total = (wanted as u64).min(chain.stake_of(owner, hotkey, netuid).0);
            let part = Rao(total / self.speculators.len() as u64);
            if part.0 == 0 {
                continue;
            }
            for j in 0..self.speculators.len() {
                let coldkey = self.speculators[j].coldkey;
                if chain.transfer_stake(owner, coldkey, hotkey, netuid, part).is_ok() {
                    self.speculators[j].positions.insert(netuid, hotkey);
                }
            }
        }
        Ok(())
    }

    /// The honest validator with the most stake on `netuid` (ties: the lowest hotkey), where
    /// speculators stake.
    fn top_validator(&self, chain: &ChainState, netuid: u16) -> Option<HotkeyId> {
        let subnet = chain.subnet(netuid)?;
        self.validators
            .iter()
            .filter(|v| v.attack.is_none() && subnet.uid_of(v.hotkey).is_some())
            .max_by(|a, b| subnet.stake_of(a.hotkey).cmp(&subnet.stake_of(b.hotkey)).then(b.hotkey.cmp(&a.hotkey)))
            .map(|v| v.hotkey)
    }

    /// One decision of all speculators, in index order and subnets in netuid order: the news
    /// moves, then each trades its share of the gap between value and price.
    pub(super) fn speculators_step(&mut self, chain: &mut ChainState, dt_days: f64) {
        if self.speculators.is_empty() {
            return;
        }
        let cfg = self.cfg.speculators;
        let quotes = self.speculator_quotes(chain, dt_days);
        let subnets = chain.subnets.iter().flatten();
        let (issued, count) = subnets.fold((0.0, 0usize), |(a, n), s| (a + tao_of(s.alpha_issuance()), n + 1));
        let mean_issuance = issued / count.max(1) as f64;
        if self.speculator_days.is_none() {
            let sum: f64 = quotes.iter().map(|q| price_of(chain, q.netuid)).sum();
            let tao_per_day: f64 = quotes.iter().map(|q| q.tao_per_day).sum();
            let policy = cfg.policy.value_days;
            self.speculator_days =
                if policy > 0.0 { Some(policy) } else { fair_multiple(sum, mean_issuance, tao_per_day) };
        }
        let Some(days) = self.speculator_days else { return };
        let weight = 1.0 / self.speculators.len() as f64;
        let speed = (cfg.policy.reversion_per_day * dt_days).clamp(0.0, 1.0);
        for j in 0..self.speculators.len() {
            let traits = self.speculators[j].traits;
            for q in &quotes {
                let Some(subnet) = chain.subnet(q.netuid) else { continue };
                let Some(value) = alpha_value(q.tao_per_day, mean_issuance, days * traits.belief) else { continue };
                let (tao_reserve, alpha_reserve) = (tao_of(subnet.pool.tao), tao_of(subnet.pool.alpha));
                let x = wanted_move(value * libm::exp(q.news), price_of(chain, q.netuid), traits.band, speed);
                if x > 0.0 {
                    self.speculator_buy(j, chain, q, weight * amount_for_move(tao_reserve, x));
                } else if x < 0.0 {
                    self.speculator_sell(j, chain, q.netuid, weight * amount_for_move(alpha_reserve, x));
                }
            }
        }
    }

    /// Each subnet's figures for this decision, after moving its news factor by `dt_days`
    /// (subnets without a validator to stake through are left out; dissolved subnets' news
    /// is dropped).
    fn speculator_quotes(&mut self, chain: &ChainState, dt_days: f64) -> Vec<Quote> {
        let netuids = chain.netuids();
        self.news.retain(|n, _| netuids.contains(n));
        let policy = self.cfg.speculators.policy;
        let mut quotes = Vec::new();
        for netuid in netuids {
            let Some(subnet) = chain.subnet(netuid) else { continue };
            let seed = self.seed;
            let news = self
                .news
                .entry(netuid)
                .or_insert_with(|| News { value: 0.0, rng: stream(seed, &label!["speculators", "news", netuid]) });
            news.value = next_news(news.value, &policy, dt_days, &mut news.rng);
            let news = news.value;
            let Some(hotkey) = self.top_validator(chain, netuid) else { continue };
            let tao_per_day = tao_of(subnet.last.tao_emission) * BLOCKS_PER_DAY as f64;
            quotes.push(Quote { netuid, tao_per_day, news, hotkey });
        }
        quotes
    }

    /// Speculator `j` stakes up to `tao` of its free TAO on the quote's subnet, through the
    /// hotkey it already uses there (or the quote's).
    fn speculator_buy(&mut self, j: usize, chain: &mut ChainState, q: &Quote, tao: f64) {
        let coldkey = self.speculators[j].coldkey;
        let rao = Rao::from_tao_f64(tao.max(0.0)).unwrap_or(Rao::ZERO).min(chain.balance(coldkey));
        if rao.0 == 0 {
            return;
        }
        let hotkey = *self.speculators[j].positions.entry(q.netuid).or_insert(q.hotkey);
        let _ = chain.add_stake(coldkey, hotkey, q.netuid, rao, None);
    }

    /// Speculator `j` unstakes up to `alpha` of what it holds on `netuid` (TAO to its free
    /// balance).
    fn speculator_sell(&mut self, j: usize, chain: &mut ChainState, netuid: u16, alpha: f64) {
        let coldkey = self.speculators[j].coldkey;
        let Some(&hotkey) = self.speculators[j].positions.get(&netuid) else { return };
        let held = chain.stake_of(coldkey, hotkey, netuid);
        let rao = Rao::from_tao_f64(alpha.max(0.0)).unwrap_or(Rao::ZERO).min(held);
        if rao.0 > 0 {
            let _ = chain.remove_stake(coldkey, hotkey, netuid, rao, None);
        }
    }

    /// Speculators' alpha at the pools' prices and their free TAO, both in TAO.
    pub(super) fn speculators_books(&self, chain: &ChainState) -> (f64, f64) {
        let mut alpha_tao = 0.0;
        let mut free = 0.0;
        for s in &self.speculators {
            free += tao_of(chain.balance(s.coldkey));
            for (&netuid, &hotkey) in &s.positions {
                alpha_tao += tao_of(chain.stake_of(s.coldkey, hotkey, netuid)) * price_of(chain, netuid);
            }
        }
        (alpha_tao, free)
    }
}
