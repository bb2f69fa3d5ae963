//! Governance events and attacks, run against the chain and the market: proposals decided by
//! the scenario's model ([`crate::governance::rules`]), emission halts, seat capture with
//! bought root stake, conviction takeover with bought and locked alpha
//! ([`crate::governance::conviction`]), and hostile owners.
//!
//! Attackers' capital is priced: with `funding = "venue"` their TAO is bought with USD at once
//! through the TAO/USD venue (a market order sweeping the book, so TAO/USD rises for everyone),
//! and their stake is bought through the subnet's pool (root is 1:1). Every token moves by the
//! chain's own operations, so conservation holds exactly.

use super::*;
use crate::governance::conviction::{self, LockState, MATURITY_RATE, UNLOCK_RATE};
use crate::governance::rules::{self, Ballot, Model, Outcome};
use crate::governance::{Funding, GovernanceAttack};
use config::{Change, Vote};
use substrate_fixed::types::U64F64;

/// A seat candidate: (key, value, attacker's).
type Candidate = (u64, u128, bool);

/// What an attacker got for its budget.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Acquired {
    /// TAO received.
    pub tao: Rao,
    /// USD paid.
    pub usd: f64,
    /// TAO/USD before.
    pub price_before: f64,
    /// TAO/USD after.
    pub price_after: f64,
}

impl Participants {
    /// The model's name, as written in scenarios.
    fn model_name(&self) -> String {
        serde_json::to_value(self.governance.cfg.model)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// TAO for an attacker's `coldkey`: `budget` TAO bought through the venue at once (market
    /// orders until the budget is filled or the makers run out), or with `funding = "world"`
    /// moved from outside at spot.
    pub fn acquire_tao(&mut self, chain: &mut ChainState, coldkey: ColdkeyId, budget: f64) -> Acquired {
        let price_before = self.market.price_usd();
        let (got, usd) = match self.governance.attacker.funding {
            Funding::World => {
                let got = budget.min(tao_of(chain.balance(WORLD)));
                (got, got * price_before)
            }
            Funding::Venue => {
                let (mut got, mut paid) = (0.0, 0.0);
                for _ in 0..64 {
                    let need = budget - got;
                    if need <= budget * 1e-9 {
                        break;
                    }
                    let fill = self.market.buy_now(need * self.market.price_usd());
                    if fill.tao <= 0.0 {
                        break;
                    }
                    got += fill.tao;
                    paid += fill.usd;
                }
                (got, paid)
            }
        };
        let rao = Rao::from_tao_f64(got).unwrap_or(Rao::ZERO).min(chain.balance(WORLD));
        let rao = if chain.transfer(WORLD, coldkey, rao).is_ok() { rao } else { Rao::ZERO };
        Acquired { tao: rao, usd, price_before, price_after: self.market.price_usd() }
    }

    fn is_attacker(&self, coldkey: ColdkeyId) -> bool {
        self.governance.attacker_coldkeys.contains(&coldkey)
    }

    fn hotkey_owner(chain: &ChainState, hotkey: HotkeyId) -> ColdkeyId {
        chain.hotkeys.get(hotkey.0 as usize).map_or(ColdkeyId(u32::MAX), |h| h.owner)
    }

    /// Senate candidates: every hotkey with root stake, by its root stake.
    fn senate_candidates(&self, chain: &ChainState) -> Vec<Candidate> {
        chain
            .root
            .stakes
            .iter()
            .map(|(h, p)| (u64::from(h.0), u128::from(p.total.0), self.is_attacker(Self::hotkey_owner(chain, *h))))
            .collect()
    }

    /// Economic candidates at `block`: coldkeys owning root hotkeys, by stake value (root
    /// stake plus their hotkeys' alpha at spot, in rao). Attackers count once warmed up
    /// before the last rotation. (The chain ranks a 0.02 EMA of the value; we rank the value.)
    fn economic_candidates(&self, chain: &ChainState, block: u64) -> Vec<Candidate> {
        let mut value: BTreeMap<ColdkeyId, u128> = BTreeMap::new();
        for (h, p) in &chain.root.stakes {
            let mut v = u128::from(p.total.0);
            for s in chain.subnets.iter().flatten() {
                let alpha = s.stake_of(*h).0;
                if alpha > 0 {
                    v += (alpha as f64 * s.pool.price().to_num::<f64>()) as u128;
                }
            }
            *value.entry(Self::hotkey_owner(chain, *h)).or_default() += v;
        }
        let last_rotation = block - block % rules::COLLECTIVE_TERM_BLOCKS;
        value
            .into_iter()
            .filter(|(c, _)| {
                !self.is_attacker(*c)
                    || self
                        .governance
                        .root_since
                        .get(c)
                        .is_some_and(|s| s + rules::ECONOMIC_WARMUP_BLOCKS <= last_rotation)
            })
            .map(|(c, v)| (u64::from(c.0), v, self.is_attacker(c)))
            .collect()
    }

    /// Building candidates: owners of subnets at least 180 days old, by their best price EMA.
    fn building_candidates(&self, chain: &ChainState) -> Vec<Candidate> {
        let now = chain.block.0;
        let mut best: BTreeMap<ColdkeyId, u128> = BTreeMap::new();
        for s in chain.subnets.iter().flatten() {
            let age = now.saturating_sub(s.registered_at).saturating_add(s.age_blocks_at_start);
            if age >= rules::BUILDING_MIN_SUBNET_AGE_BLOCKS {
                let p = s.moving_price.to_bits().max(0) as u128;
                let e = best.entry(s.owner_coldkey).or_default();
                *e = (*e).max(p);
            }
        }
        best.into_iter().map(|(c, p)| (u64::from(c.0), p, self.is_attacker(c))).collect()
    }

    /// The ballot of `e` under the scenario's model with these candidates; and the
    /// attacker's seats.
    fn ballot(
        &self,
        e: &EventSpec,
        senate: &[Candidate],
        economic: &[Candidate],
        building: &[Candidate],
    ) -> (Ballot, usize) {
        let cfg = &self.governance.cfg;
        let validators = e.validators_vote.unwrap_or_default();
        let owners = e.owners_vote.unwrap_or_default();
        let seats = |c: &[Candidate], n: usize, percent: u128| -> Vec<(u64, bool)> {
            let pairs: Vec<(u64, u128)> = c.iter().map(|(k, v, _)| (*k, *v)).collect();
            let attackers: BTreeSet<u64> = c.iter().filter(|x| x.2).map(|x| x.0).collect();
            rules::top_seats(&pairs, n, percent).into_iter().map(|k| (k, attackers.contains(&k))).collect()
        };
        match cfg.model {
            Model::Sudo => (
                Ballot {
                    signatures: e.signatures.unwrap_or(0),
                    threshold: cfg.multisig_threshold,
                    ..Ballot::default()
                },
                0,
            ),
            Model::Senate => {
                let members = seats(senate, rules::SENATE_SEATS, rules::SENATE_REQUIRED_STAKE_PERCENT);
                let mine = members.iter().filter(|m| m.1).count();
                let ayes = if validators == Vote::Aye { members.len() } else { mine };
                (Ballot { senate: (ayes, members.len()), ..Ballot::default() }, mine)
            }
            Model::Collectives => {
                // A rotation with fewer than 16 eligible accounts fails (`set_members`' minimum)
                // and the previous members stay: here, the honest candidates.
                let rotate = |c: &[Candidate]| {
                    if c.len() >= rules::COLLECTIVE_SEATS {
                        seats(c, rules::COLLECTIVE_SEATS, 0)
                    } else {
                        let honest: Vec<Candidate> = c.iter().copied().filter(|x| !x.2).collect();
                        seats(&honest, rules::COLLECTIVE_SEATS, 0)
                    }
                };
                let econ = rotate(economic);
                let build = rotate(building);
                // The union, deduplicated by coldkey: an Economic member votes as a validator.
                let mut voters: BTreeMap<u64, Vote> = BTreeMap::new();
                for (k, attacker) in &build {
                    voters.insert(*k, if *attacker { Vote::Aye } else { owners });
                }
                for (k, attacker) in &econ {
                    voters.insert(*k, if *attacker { Vote::Aye } else { validators });
                }
                let mine = econ.iter().chain(&build).filter(|m| m.1).map(|m| m.0).collect::<BTreeSet<_>>().len();
                let approve = voters.values().filter(|v| **v == Vote::Aye).count();
                let reject = voters.values().filter(|v| **v == Vote::Nay).count();
                let triumvirate_ayes = e.triumvirate_ayes.unwrap_or(2) as usize;
                (Ballot { triumvirate_ayes, review: (approve, reject, voters.len()), ..Ballot::default() }, mine)
            }
        }
    }

    /// The ballot of `e` on the chain as it is now.
    fn current_ballot(&self, e: &EventSpec, chain: &ChainState) -> (Ballot, usize) {
        let senate = self.senate_candidates(chain);
        let economic = self.economic_candidates(chain, chain.block.0);
        let building = self.building_candidates(chain);
        self.ballot(e, &senate, &economic, &building)
    }

    /// Applies a passed proposal's change.
    fn enact(&mut self, e: &EventSpec, chain: &mut ChainState, subject: String) {
        let value = e.value.unwrap_or(0.0).clamp(0.0, 1.0);
        let detail = match e.change {
            Some(Change::TaoWeight) => {
                chain.params.tao_weight = libm::round(value * u64::MAX as f64) as u64;
                format!("enacted: tao_weight = {value} ({} of u64::MAX)", chain.params.tao_weight)
            }
            Some(Change::SubnetOwnerCut) => {
                chain.params.subnet_owner_cut = libm::round(value * 65_535.0) as u16;
                format!("enacted: subnet_owner_cut = {value} ({} of 65535)", chain.params.subnet_owner_cut)
            }
            Some(Change::Emission) => {
                let netuid = e.netuid.unwrap_or(0);
                let on = value >= 0.5;
                if let Some(s) = chain.subnet_mut(netuid) {
                    s.emission_enabled = on;
                }
                format!("enacted: subnet {netuid} emission {}", if on { "on" } else { "off" })
            }
            None => "enacted: no change".into(),
        };
        self.push(chain.block.0, "proposal_enacted", subject, value.to_string(), detail);
    }

    /// `proposal`: decided by the model now; enacted now or after the returned delay.
    pub(super) fn start_proposal(&mut self, index: usize, e: &EventSpec, chain: &mut ChainState) -> Option<u64> {
        let (ballot, mine) = self.current_ballot(e, chain);
        let outcome = rules::decide(self.governance.cfg.model, &ballot);
        let model = self.model_name();
        let subject = format!("event {index}");
        let detail = format!("{model}: {ballot:?}; attacker seats {mine}; outcome {outcome:?}");
        self.push(chain.block.0, "proposal", subject.clone(), format!("{outcome:?}"), detail);
        match outcome {
            Outcome::Enacted(0) => {
                self.enact(e, chain, subject);
                None
            }
            Outcome::Enacted(delay) => Some(delay),
            Outcome::Rejected | Outcome::Cancelled => None,
        }
    }

    /// The end of a `proposal` that passed with a delay: its enactment.
    pub(super) fn end_proposal(&mut self, index: usize, chain: &mut ChainState) {
        if let Some(e) = self.events.get(index).cloned() {
            self.enact(&e, chain, format!("event {index}"));
        }
    }

    /// `halt_emission`: the sudo key disables the subnet's emission (share 0, the others
    /// renormalised by the coinbase, as `get_subnet_block_emissions` does).
    pub(super) fn halt_emission(&mut self, index: usize, netuid: u16, on: bool, chain: &mut ChainState) {
        if let Some(s) = chain.subnet_mut(netuid) {
            s.emission_enabled = on;
        }
        let what = if on { "emission restored" } else { "emission halted by the sudo key" };
        self.push(
            chain.block.0,
            "halt_emission",
            format!("subnet {netuid}"),
            on.to_string(),
            format!("event {index}: {what}"),
        );
    }

    /// Honest holders' stake value in USD: root (netuid 0) or a subnet's alpha at spot.
    fn others_value_usd(&self, chain: &ChainState, netuid: u16) -> f64 {
        let usd = self.market.price_usd();
        let mine = |h: &HotkeyId| self.is_attacker(Self::hotkey_owner(chain, *h));
        if netuid == 0 {
            chain.root.stakes.iter().filter(|(h, _)| !mine(h)).map(|(_, p)| tao_of(p.total)).sum::<f64>() * usd
        } else {
            chain.subnet(netuid).map_or(0.0, |s| {
                let alpha: f64 = s.stakes.iter().filter(|(h, _)| !mine(h)).map(|(_, p)| tao_of(p.total)).sum();
                alpha * s.pool.price().to_num::<f64>() * usd
            })
        }
    }

    /// `seat_capture`: the attacker spreads its budget over the fewest root hotkeys (each
    /// under its own coldkey) that would pass the proposal at today's stakes, buys the TAO and
    /// stakes it on root; the vote is at the event's end (`days` later).
    pub(super) fn start_seat_capture(&mut self, index: usize, e: &EventSpec, chain: &mut ChainState) -> Option<u64> {
        let block = chain.block.0;
        let days = libm::round(e.days.unwrap_or(0.0) * BLOCKS_PER_DAY as f64) as u64;
        let model = self.governance.cfg.model;
        let budget = self.governance.attacker.budget_tao;
        let mut books = GovernanceAttack {
            event: index,
            kind: "seat_capture".into(),
            model: self.model_name(),
            netuid: e.netuid.unwrap_or(0),
            block,
            budget_tao: budget,
            others_value_usd_before: self.others_value_usd(chain, 0),
            ..GovernanceAttack::default()
        };
        let seats_max = match model {
            Model::Sudo => 0,
            Model::Senate => rules::SENATE_SEATS,
            Model::Collectives => rules::COLLECTIVE_SEATS,
        };
        // The fewest seats that pass at today's stakes (the attacker's eligibility judged at
        // the vote's block).
        let vote_block = block + days;
        let last_rotation = vote_block - vote_block % rules::COLLECTIVE_TERM_BLOCKS;
        let warm = block + rules::ECONOMIC_WARMUP_BLOCKS <= last_rotation;
        let senate = self.senate_candidates(chain);
        let economic = self.economic_candidates(chain, vote_block);
        let building = self.building_candidates(chain);
        let budget_rao = u128::from(Rao::from_tao_f64(budget).unwrap_or(Rao::ZERO).0);
        let mut chosen = seats_max;
        for k in 1..=seats_max {
            let per = budget_rao / k as u128;
            let extra: Vec<Candidate> = (0..k as u64).map(|i| (u64::MAX - i, per, true)).collect();
            let s: Vec<Candidate> = senate.iter().copied().chain(extra.iter().copied()).collect();
            let ec: Vec<Candidate> =
                if warm { economic.iter().copied().chain(extra.iter().copied()).collect() } else { economic.clone() };
            let (ballot, _) = self.ballot(e, &s, &ec, &building);
            if matches!(rules::decide(model, &ballot), Outcome::Enacted(_)) {
                chosen = k;
                break;
            }
        }
        if chosen > 0 && budget > 0.0 {
            let Ok(first) = chain.create_coldkey(Rao::ZERO) else { return Some(days) };
            self.governance.attacker_coldkeys.push(first);
            let got = self.acquire_tao(chain, first, budget);
            let part = Rao(got.tao.0 / chosen as u64);
            for i in 0..chosen {
                let coldkey = if i == 0 {
                    first
                } else {
                    let Ok(c) = chain.create_coldkey(Rao::ZERO) else { break };
                    if chain.transfer(first, c, part).is_err() {
                        break;
                    }
                    self.governance.attacker_coldkeys.push(c);
                    c
                };
                let Ok(hotkey) = chain.create_hotkey(coldkey) else { break };
                let amount = if i == 0 { chain.balance(first).min(part) } else { part };
                if chain.add_stake(coldkey, hotkey, 0, amount, None).is_ok() {
                    books.stake += tao_of(amount);
                    self.governance.root_since.insert(coldkey, block);
                }
            }
            books.tao_acquired = tao_of(got.tao);
            books.cost_usd = got.usd;
            books.impact_usd = got.usd - tao_of(got.tao) * got.price_before;
            books.tao_usd_before = got.price_before;
            books.tao_usd_after = got.price_after;
        }
        let detail = format!(
            "{}: {chosen} root hotkeys, {} TAO staked, bought for {} USD (impact {} USD; TAO/USD {} -> {}); vote in {} days",
            books.model,
            books.stake,
            books.cost_usd,
            books.impact_usd,
            books.tao_usd_before,
            books.tao_usd_after,
            e.days.unwrap_or(0.0)
        );
        self.push(
            block,
            "attack_step",
            format!("governance {}", self.governance.attacks.len()),
            books.stake.to_string(),
            detail,
        );
        self.governance.attacks.push(books);
        Some(days)
    }

    /// The vote of a `seat_capture`: passed proposals are enacted at once (the model's
    /// enactment delay is logged, not waited for).
    pub(super) fn end_seat_capture(&mut self, index: usize, chain: &mut ChainState) {
        let Some(e) = self.events.get(index).cloned() else { return };
        let (ballot, mine) = self.current_ballot(&e, chain);
        let outcome = rules::decide(self.governance.cfg.model, &ballot);
        let block = chain.block.0;
        let Some(a) = self.governance.attacks.iter().position(|a| a.event == index) else { return };
        let captured = matches!(outcome, Outcome::Enacted(_));
        {
            let books = &mut self.governance.attacks[a];
            books.seats = mine;
            books.captured = captured;
            if captured {
                books.capture_block = Some(block);
                books.days_to_capture = Some((block - books.block) as f64 / BLOCKS_PER_DAY as f64);
            }
        }
        let detail = format!("{}: {ballot:?}; attacker seats {mine}; outcome {outcome:?}", self.model_name());
        self.push(block, "proposal", format!("governance {a}"), format!("{outcome:?}"), detail);
        if captured {
            self.enact(&e, chain, format!("governance {a}"));
        }
    }

    /// `conviction_takeover`: the attacker buys TAO, registers a hotkey on the subnet (a
    /// validator weighting honestly until it owns the subnet), buys alpha with the rest and
    /// locks all of it.
    pub(super) fn start_takeover(&mut self, index: usize, e: &EventSpec, chain: &mut ChainState) {
        let block = chain.block.0;
        let netuid = e.netuid.unwrap_or(0);
        let perpetual = e.perpetual.unwrap_or(true);
        let budget = self.governance.attacker.budget_tao;
        let a = self.governance.attacks.len();
        let mut books = GovernanceAttack {
            event: index,
            kind: "conviction_takeover".into(),
            model: self.model_name(),
            netuid,
            block,
            budget_tao: budget,
            alpha_price_before: price_of(chain, netuid),
            others_value_usd_before: self.others_value_usd(chain, netuid),
            ..GovernanceAttack::default()
        };
        let Ok(coldkey) = chain.create_coldkey(Rao::ZERO) else { return };
        self.governance.attacker_coldkeys.push(coldkey);
        let got = self.acquire_tao(chain, coldkey, budget);
        books.tao_acquired = tao_of(got.tao);
        books.cost_usd = got.usd;
        books.impact_usd = got.usd - tao_of(got.tao) * got.price_before;
        books.tao_usd_before = got.price_before;
        books.tao_usd_after = got.price_after;
        let registered = chain.create_hotkey(coldkey).ok().and_then(|h| {
            if chain.subnet(netuid)?.neurons.len() >= usize::from(chain.params.max_allowed_uids) {
                chain.neuron_to_prune(netuid)?;
            }
            chain.register_neuron(coldkey, h, netuid).ok().map(|uid| (h, uid))
        });
        let mut detail = format!("conviction takeover of subnet {netuid}: registration failed");
        if let Some((hotkey, uid)) = registered {
            let policy = ValidatorPolicy::Honest { noise_sd: self.cfg.validators.honest_noise_sd };
            self.add_validator(coldkey, hotkey, policy, None);
            let tao = chain.balance(coldkey);
            if let Ok(alpha) = chain.add_stake(coldkey, hotkey, netuid, tao, None) {
                books.stake = tao_of(alpha);
                let lock = LockState::new(alpha.0, block);
                self.governance.locks.insert((netuid, hotkey), (coldkey, perpetual, lock));
            }
            books.alpha_price_after = price_of(chain, netuid);
            if let Some(n) = e.count {
                self.governance.hostile_count.insert(a, n);
            }
            detail = format!(
                "conviction takeover of subnet {netuid}: uid {uid}, {} alpha locked ({}) for {} TAO bought with {} USD (impact {} USD; TAO/USD {} -> {}); alpha price {} -> {}",
                books.stake,
                if perpetual { "perpetual" } else { "decaying" },
                books.tao_acquired,
                books.cost_usd,
                books.impact_usd,
                books.tao_usd_before,
                books.tao_usd_after,
                books.alpha_price_before,
                books.alpha_price_after
            );
        }
        self.push(block, "attack_step", format!("governance {a}"), books.stake.to_string(), detail);
        self.governance.attacks.push(books);
    }

    /// Total conviction on `netuid` at the current block and its leader
    /// (`get_total_conviction`, `subnet_king`): every lock rolled forward, plus the owner's
    /// auto-locked cut (`auto_lock_owner_cut`: an owner lock, full conviction at once), taken
    /// as the owner's stake on its own hotkey.
    pub fn conviction(&mut self, chain: &ChainState, netuid: u16) -> (U64F64, Option<HotkeyId>) {
        let now = chain.block.0;
        let mut scores: BTreeMap<HotkeyId, U64F64> = BTreeMap::new();
        for ((n, h), (_, perpetual, lock)) in self.governance.locks.iter_mut() {
            if *n != netuid {
                continue;
            }
            *lock = conviction::roll_forward(*lock, now, UNLOCK_RATE, MATURITY_RATE, false, *perpetual);
            *scores.entry(*h).or_insert(U64F64::from_bits(0)) += lock.conviction;
        }
        if let Some(s) = chain.subnet(netuid)
            && self.governance.cfg.owner_cut_auto_lock
        {
            // The owner's cut arrives as stake on its hotkey; what arrived since the last look
            // is locked (`do_lock_stake` top-up of a decaying lock), and an owner lock's
            // conviction is its locked mass.
            let stake = s.stakes.get(&s.owner_hotkey).map_or(0, |p| p.value_of(s.owner_coldkey).0);
            let (coldkey, seen, lock) = self.governance.owner_locks.get(&netuid).copied().unwrap_or((
                s.owner_coldkey,
                0,
                LockState::new(0, now),
            ));
            let (seen, lock) = if coldkey == s.owner_coldkey { (seen, Some(lock)) } else { (0, None) };
            let added = stake.saturating_sub(seen);
            let lock = conviction::top_up(lock, added, now, false);
            let lock = conviction::roll_forward(lock, now, UNLOCK_RATE, MATURITY_RATE, true, false);
            self.governance.owner_locks.insert(netuid, (s.owner_coldkey, stake, lock));
            let e = scores.entry(s.owner_hotkey).or_insert(U64F64::from_bits(0));
            *e = e.saturating_add(lock.conviction);
        }
        let total = scores.values().fold(U64F64::from_bits(0), |a, b| a.saturating_add(*b));
        let list: Vec<(HotkeyId, U64F64)> = scores.into_iter().collect();
        (total, conviction::king(&list))
    }

    /// After `netuid`'s epoch: `change_subnet_owner_if_needed`.
    pub fn governance_after_epoch(&mut self, netuid: u16, chain: &mut ChainState) {
        if !self.governance.locks.keys().any(|(n, _)| *n == netuid) {
            return;
        }
        let (total, king) = self.conviction(chain, netuid);
        let Some(s) = chain.subnet(netuid) else { return };
        let age = chain.block.0.saturating_sub(s.registered_at).saturating_add(s.age_blocks_at_start);
        if !conviction::owner_change_allowed(age, total, s.alpha_out.0) {
            return;
        }
        let Some(king) = king else { return };
        let new_owner = Self::hotkey_owner(chain, king);
        if new_owner == s.owner_coldkey || s.uid_of(king).is_none() {
            return;
        }
        let old = s.owner_coldkey;
        if let Some(s) = chain.subnet_mut(netuid) {
            s.owner_coldkey = new_owner;
            s.owner_hotkey = king;
        }
        let block = chain.block.0;
        let at_capture = chain.stake_of(new_owner, king, netuid).0;
        let mut hostile: Option<usize> = None;
        for (i, a) in self.governance.attacks.iter_mut().enumerate() {
            if a.kind == "conviction_takeover" && a.netuid == netuid && !a.captured {
                a.captured = true;
                a.capture_block = Some(block);
                a.days_to_capture = Some((block - a.block) as f64 / BLOCKS_PER_DAY as f64);
                a.stake_at_capture = at_capture;
                hostile = hostile.or(Some(i));
            }
        }
        self.push(
            block,
            "ownership_change",
            format!("subnet {netuid}"),
            format!("{}", total.to_num::<f64>() / 1e9),
            format!(
                "conviction leader hotkey {} (coldkey {}) takes subnet {netuid} from coldkey {}: total conviction {} alpha vs alpha out {}",
                king.0,
                new_owner.0,
                old.0,
                total.to_num::<f64>() / 1e9,
                tao_of(chain.subnet(netuid).map_or(Rao::ZERO, |s| s.alpha_out))
            ),
        );
        if let Some(i) = hostile
            && let Some(count) = self.governance.hostile_count.get(&i).copied()
        {
            for v in self.validators.iter_mut().filter(|v| v.hotkey == king) {
                v.policy = ValidatorPolicy::Cabal;
            }
            let event = self.governance.attacks[i].event;
            self.start_hostile_owner(event, netuid, count, chain);
        }
    }

    /// `hostile_owner` (or a takeover's aftermath): the owner weights only its own GPU-less
    /// miners (the owner self-mining attack, under the owner's hotkey).
    pub(super) fn start_hostile_owner(&mut self, index: usize, netuid: u16, count: u32, chain: &mut ChainState) {
        let e = EventSpec {
            netuid: Some(netuid),
            count: Some(count),
            ..EventSpec::new(config::At::Block(chain.block.0), EventKind::OwnerSelfMining)
        };
        let block = chain.block.0;
        self.push(
            block,
            "attack_step",
            format!("subnet {netuid}"),
            count.to_string(),
            format!("hostile owner of subnet {netuid} (event {index}): weights only its {count} own GPU-less miners"),
        );
        self.start_attack(index, &e, chain, block);
    }

    /// Rows for the end of the run: each governance attack's capital, capture and damage.
    pub(super) fn finish_governance(&mut self, chain: &ChainState) {
        let block = chain.block.0;
        for i in 0..self.governance.attacks.len() {
            let after = self.others_value_usd(chain, self.governance.attacks[i].netuid);
            let event = self.governance.attacks[i].event;
            let extracted: f64 = self
                .attacks
                .iter()
                .filter(|x| x.event == event && x.kind == "owner_self_mining")
                .map(|x| x.emission_tao)
                .sum();
            let grown = if self.governance.attacks[i].kind == "conviction_takeover" {
                let netuid = self.governance.attacks[i].netuid;
                let locks = &self.governance.locks;
                let now: u64 = locks
                    .iter()
                    .filter(|((n, _), _)| *n == netuid)
                    .map(|((_, h), (c, _, _))| chain.stake_of(*c, *h, netuid).0)
                    .sum();
                let at = self.governance.attacks[i].stake_at_capture;
                (now.saturating_sub(at) as f64 / 1e9) * price_of(chain, netuid)
            } else {
                0.0
            };
            let a = &mut self.governance.attacks[i];
            a.others_value_usd_after = after;
            if let Some(at) = a.capture_block {
                let extracted = extracted + grown;
                let days = (block.saturating_sub(at) as f64 / BLOCKS_PER_DAY as f64).max(1.0 / BLOCKS_PER_DAY as f64);
                a.value_extracted_tao_per_day = extracted / days;
            }
            let detail = format!(
                "{} under {} on subnet {}: budget {} TAO, acquired {} TAO for {} USD (impact {} USD), stake {}, seats {}, captured {} after {:?} days, extracting {} TAO a day; others' stake {} -> {} USD",
                a.kind,
                a.model,
                a.netuid,
                a.budget_tao,
                a.tao_acquired,
                a.cost_usd,
                a.impact_usd,
                a.stake,
                a.seats,
                a.captured,
                a.days_to_capture,
                a.value_extracted_tao_per_day,
                a.others_value_usd_before,
                a.others_value_usd_after
            );
            let captured = a.captured.to_string();
            self.push(block, "governance_report", format!("governance {i}"), captured, detail);
        }
    }
}
