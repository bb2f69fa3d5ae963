//! Governance: who can change what on the chain, and what buying control costs.
//!
//! - [`rules`]: the three models (`sudo`, `senate`, `collectives`), their membership and pass
//!   rules as pure functions;
//! - [`conviction`]: the chain's conviction locks and the owner change they drive.
//!
//! The scenario's `[governance]` section picks the model; `[attacker]` gives the capital of
//! the governance attacks (`seat_capture`, `conviction_takeover`) and where it comes from.
//! Proposals, emission halts and the attacks are scenario events, run by
//! [`crate::economy::participants`] (which owns the market the attackers buy through).

pub mod conviction;
pub mod rules;

use crate::chain::subnet::{ColdkeyId, HotkeyId};
use conviction::LockState;
pub use rules::Model;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[governance]`: the model and the sudo key's multisig.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GovernanceSection {
    /// `sudo`, `senate` or `collectives`.
    pub model: Model,
    /// Sudo: signatures needed (k of n). The real key's threshold is not public; 3 of 5 is
    /// an assumption.
    pub multisig_threshold: u32,
    /// Sudo: signers (n).
    pub multisig_signers: u32,
    /// `OwnerCutAutoLockEnabled` of every subnet (the chain's default: on): owners' cuts are
    /// locked to their hotkey as they arrive (a decaying lock with full owner conviction),
    /// which defends them against conviction takeovers. Off: owners hold no conviction.
    pub owner_cut_auto_lock: bool,
}

impl Default for GovernanceSection {
    fn default() -> Self {
        Self { model: Model::Sudo, multisig_threshold: 3, multisig_signers: 5, owner_cut_auto_lock: true }
    }
}

impl GovernanceSection {
    /// Problems as (field under `governance.`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.multisig_signers == 0 || self.multisig_signers > 100 {
            out.push((
                "multisig_signers".into(),
                format!("{} is out of range; allowed 1 ..= 100", self.multisig_signers),
            ));
        } else if self.multisig_threshold == 0 || self.multisig_threshold > self.multisig_signers {
            out.push((
                "multisig_threshold".into(),
                format!(
                    "{} is out of range; allowed 1 ..= multisig_signers ({})",
                    self.multisig_threshold, self.multisig_signers
                ),
            ));
        }
        out
    }
}

/// Where an attacker's TAO comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    /// Bought with USD through the TAO/USD venue at once, paying its impact (the price moves
    /// for everyone).
    #[default]
    Venue,
    /// Held already: moved from outside the modelled network, costed at spot without impact
    /// (the older consensus attacks' assumption).
    World,
}

/// `[attacker]`: the capital of the governance attacks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttackerSection {
    /// TAO the attacker acquires (before buying stake with it).
    pub budget_tao: f64,
    /// Where the TAO comes from.
    pub funding: Funding,
}

impl Default for AttackerSection {
    fn default() -> Self {
        Self { budget_tao: 100_000.0, funding: Funding::Venue }
    }
}

impl AttackerSection {
    /// Problems as (field under `attacker.`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let b = self.budget_tao;
        if !(b.is_finite() && (0.0..=1e9).contains(&b)) {
            return vec![("budget_tao".into(), format!("{b} TAO is out of range; allowed 0 ..= 1e9 TAO"))];
        }
        Vec::new()
    }
}

/// A governance attack's books (`summary.json`, `participants.governance`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GovernanceAttack {
    /// The scenario event.
    pub event: usize,
    /// `seat_capture` or `conviction_takeover`.
    pub kind: String,
    /// The governance model.
    pub model: String,
    /// The subnet concerned (0 for chain-wide proposals).
    pub netuid: u16,
    /// Block it started.
    pub block: u64,
    /// TAO budget.
    pub budget_tao: f64,
    /// TAO acquired (less than the budget when the venue's makers run out).
    pub tao_acquired: f64,
    /// USD paid for it, impact included (0 with `funding = "world"` beyond spot).
    pub cost_usd: f64,
    /// USD paid above the pre-attack spot price (venue impact).
    pub impact_usd: f64,
    /// TAO/USD before and after the purchase.
    pub tao_usd_before: f64,
    /// TAO/USD right after the purchase.
    pub tao_usd_after: f64,
    /// Stake bought: TAO on root (seat capture) or alpha on the subnet (takeover).
    pub stake: f64,
    /// The subnet's alpha price before and after the purchase (takeover).
    pub alpha_price_before: f64,
    /// The subnet's alpha price after the purchase.
    pub alpha_price_after: f64,
    /// Seats (senate members or collective voters) the attacker held at the vote.
    pub seats: usize,
    /// Whether control was captured (proposal enacted, or ownership taken).
    pub captured: bool,
    /// Block of capture.
    pub capture_block: Option<u64>,
    /// Days from the attack's start to capture.
    pub days_to_capture: Option<f64>,
    /// What a takeover yields after capture, TAO at spot per day: the growth of the
    /// attacker's stake on the subnet (the owner's cut, now its, and its dividends, less what
    /// its validator sold) plus its hostile miners' emission.
    pub value_extracted_tao_per_day: f64,
    /// The attacker's alpha on the subnet at capture (rao), for the above.
    #[serde(skip)]
    pub stake_at_capture: u64,
    /// Honest holders' USD value of their stake on the subnet (takeover) or of root (seat
    /// capture) at the start, and at the last sample (damage to others).
    pub others_value_usd_before: f64,
    /// The same at the end of the run.
    pub others_value_usd_after: f64,
}

/// Run-time governance state: conviction locks, the attackers' keys and books.
#[derive(Clone, Debug, Default)]
pub struct GovernanceState {
    /// The configuration.
    pub cfg: GovernanceSection,
    /// The attackers' capital.
    pub attacker: AttackerSection,
    /// Locks by (netuid, hotkey): (locking coldkey, perpetual, lock).
    pub locks: BTreeMap<(u16, HotkeyId), (ColdkeyId, bool, LockState)>,
    /// Owners' auto-locked cuts by subnet: (owner coldkey, its stake when last seen, lock).
    pub owner_locks: BTreeMap<u16, (ColdkeyId, u64, LockState)>,
    /// Block each coldkey first held root stake (economic collective warm-up).
    pub root_since: BTreeMap<ColdkeyId, u64>,
    /// Coldkeys of the attackers (their seats vote aye).
    pub attacker_coldkeys: Vec<ColdkeyId>,
    /// Each governance attack's books.
    pub attacks: Vec<GovernanceAttack>,
    /// Hostile-owner miners to register when a takeover captures (index into `attacks`).
    pub hostile_count: BTreeMap<usize, u32>,
    /// The consensus attacks (cabal, takeover) buy their TAO as `attacker.funding` says (the
    /// scenario has an `[attacker]` section); otherwise they take it from outside at spot.
    pub priced_consensus: bool,
}

impl GovernanceState {
    /// State for a scenario's sections.
    pub fn new(cfg: GovernanceSection, attacker: AttackerSection) -> Self {
        Self { cfg, attacker, priced_consensus: true, ..Self::default() }
    }
}
