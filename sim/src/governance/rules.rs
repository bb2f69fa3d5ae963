//! Who decides, and by what rule: the three governance models' membership and pass rules as
//! pure functions over stakes and votes.
//!
//! - **sudo** (the chain since Oct 2025): one key, a k-of-n multisig; a call passes with k
//!   signatures and is enacted at once.
//! - **senate** (the chain until Oct 2025; subtensor before f5e11478 "remove governance
//!   deadcode"): the triumvirate proposes, the senate votes. The senate is the
//!   `SenateMaxMembers = 12` root hotkeys with the most root stake (`join_senate_if_eligible`
//!   swaps out the member with the least stake), among those holding at least
//!   `SenateRequiredStakePercentage = 1` % of the total; a motion passes with more than half of
//!   the members (`EnsureProportionMoreThan<_, _, 1, 2>`) within `CouncilMotionDuration = 12`
//!   hours.
//! - **collectives** (wired into subtensor in Jun 2026, d0910bde "Wire governance into the
//!   runtime", `docs/governance/README.md`): track 0, the triumvirate, approves with 2/3 within
//!   7 days; the call then goes to track 1, the union of the Economic collective (the top 16
//!   root-registered coldkeys by smoothed stake value, after a 210-sample warm-up) and the
//!   Building collective (the top 16 owners of subnets at least 180 days old, by their best
//!   price EMA), both rotated every 60 days. Review enacts the call 24 hours after submission;
//!   75 % approval fast-tracks it, 51 % rejection cancels it, and net votes move the enactment
//!   along an ease-out curve up to 2 days.

use serde::{Deserialize, Serialize};

/// `SenateMaxMembers`.
pub const SENATE_SEATS: usize = 12;
/// `SenateRequiredStakePercentage` (runtime value).
pub const SENATE_REQUIRED_STAKE_PERCENT: u128 = 1;
/// `CouncilMotionDuration`: 12 hours of 12-second blocks.
pub const SENATE_MOTION_BLOCKS: u64 = 3_600;
/// Economic and Building collectives' size.
pub const COLLECTIVE_SEATS: usize = 16;
/// Collectives' term: 60 days.
pub const COLLECTIVE_TERM_BLOCKS: u64 = 60 * 7_200;
/// Economic warm-up: 210 samples of the stake-value EMA, about 30 days.
pub const ECONOMIC_WARMUP_BLOCKS: u64 = 30 * 7_200;
/// Building: a subnet's minimum age (`MIN_SUBNET_AGE`, 180 days).
pub const BUILDING_MIN_SUBNET_AGE_BLOCKS: u64 = 180 * 7_200;
/// Review's initial delay (24 hours) and its maximum (2 days).
pub const REVIEW_DELAY_BLOCKS: u64 = 7_200;
/// Review's longest delay.
pub const REVIEW_MAX_DELAY_BLOCKS: u64 = 14_400;
/// Triumvirate decision period (7 days).
pub const TRIUMVIRATE_PERIOD_BLOCKS: u64 = 7 * 7_200;

/// The governance models (`[governance] model = ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// A k-of-n multisig sudo key (the chain today).
    #[default]
    Sudo,
    /// Triumvirate proposes, senate of top root delegates votes (the chain until Oct 2025).
    Senate,
    /// Triumvirate approves, Economic and Building collectives review (proposed).
    Collectives,
}

/// Top `seats` candidates by `value`, descending (ties: the lower key first), among those
/// with `value * 100 >= percent * total` (no threshold with `percent = 0`).
pub fn top_seats<K: Copy + Ord>(candidates: &[(K, u128)], seats: usize, percent: u128) -> Vec<K> {
    let total: u128 = candidates.iter().map(|(_, v)| *v).sum();
    let mut eligible: Vec<(K, u128)> = candidates
        .iter()
        .copied()
        .filter(|(_, v)| *v > 0 && v.saturating_mul(100) >= percent.saturating_mul(total))
        .collect();
    eligible.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    eligible.into_iter().take(seats).map(|(k, _)| k).collect()
}

/// Sudo: a k-of-n multisig signs with at least `threshold` signatures.
pub fn multisig_passes(signatures: u32, threshold: u32) -> bool {
    signatures >= threshold
}

/// Senate: more than half of the members vote aye (`EnsureProportionMoreThan<1, 2>`).
pub fn senate_passes(ayes: usize, members: usize) -> bool {
    members > 0 && ayes * 2 > members
}

/// Triumvirate track: approved with 2/3 of its members.
pub fn triumvirate_approves(ayes: usize, members: usize) -> bool {
    members > 0 && ayes * 3 >= members * 2
}

/// How a review ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    /// 75 % approval: enacted at the next block.
    FastTracked,
    /// 51 % rejection: cancelled.
    Cancelled,
    /// Enacted this many blocks after submission.
    Enacted(u64),
}

/// Track 1's outcome for `approve` and `reject` votes of `voters` (the union of the two
/// collectives), with the runtime's `EaseOutAdjustmentCurve`: `curved = 1 - (1 - p)^3`,
/// net approval shortening the 24-hour delay, net rejection lengthening it up to 2 days.
pub fn review(approve: usize, reject: usize, voters: usize) -> Review {
    if voters == 0 {
        return Review::Enacted(REVIEW_DELAY_BLOCKS);
    }
    if approve * 100 >= 75 * voters {
        return Review::FastTracked;
    }
    if reject * 100 >= 51 * voters {
        return Review::Cancelled;
    }
    let curve = |net: usize, threshold: f64| {
        let p = (net as f64 / voters as f64 / threshold).min(1.0);
        1.0 - libm::pow(1.0 - p, 3.0)
    };
    let (initial, max) = (REVIEW_DELAY_BLOCKS as f64, REVIEW_MAX_DELAY_BLOCKS as f64);
    let delay = if approve >= reject {
        initial * (1.0 - curve(approve - reject, 0.75))
    } else {
        initial + curve(reject - approve, 0.51) * (max - initial)
    };
    let delay = libm::round(delay) as u64;
    if delay == 0 { Review::FastTracked } else { Review::Enacted(delay) }
}

/// The votes on one proposal, by body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ballot {
    /// Sudo multisig signatures, and the threshold.
    pub signatures: u32,
    /// Multisig threshold (k of n).
    pub threshold: u32,
    /// Triumvirate ayes (of 3).
    pub triumvirate_ayes: usize,
    /// Senate ayes and members.
    pub senate: (usize, usize),
    /// Review approvals, rejections and voters.
    pub review: (usize, usize, usize),
}

/// The outcome of a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Enacted this many blocks after submission.
    Enacted(u64),
    /// Not passed by its deciding body.
    Rejected,
    /// Approved but cancelled in review.
    Cancelled,
}

/// The outcome of `ballot` under `model`.
pub fn decide(model: Model, ballot: &Ballot) -> Outcome {
    match model {
        Model::Sudo => {
            if multisig_passes(ballot.signatures, ballot.threshold) {
                Outcome::Enacted(0)
            } else {
                Outcome::Rejected
            }
        }
        Model::Senate => {
            if senate_passes(ballot.senate.0, ballot.senate.1) {
                Outcome::Enacted(SENATE_MOTION_BLOCKS)
            } else {
                Outcome::Rejected
            }
        }
        Model::Collectives => {
            if !triumvirate_approves(ballot.triumvirate_ayes, 3) {
                return Outcome::Rejected;
            }
            let (a, r, n) = ballot.review;
            match review(a, r, n) {
                Review::FastTracked => Outcome::Enacted(1),
                Review::Cancelled => Outcome::Cancelled,
                Review::Enacted(d) => Outcome::Enacted(d),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senate_seats_go_to_the_top_twelve_above_one_percent() {
        // 14 hotkeys: 13 with 100 each, one with 10 (0.77 % of 1310: below 1 %).
        let mut c: Vec<(u32, u128)> = (0..13).map(|k| (k, 100)).collect();
        c.push((13, 10));
        let seats = top_seats(&c, SENATE_SEATS, SENATE_REQUIRED_STAKE_PERCENT);
        assert_eq!(seats, (0..12).collect::<Vec<u32>>(), "ties: lower key first; the 13th left out");
        // A newcomer with 101 displaces the last (key 11).
        c.push((20, 101));
        let seats = top_seats(&c, SENATE_SEATS, SENATE_REQUIRED_STAKE_PERCENT);
        assert_eq!(seats[0], 20);
        assert!(!seats.contains(&11));
    }

    #[test]
    fn each_model_passes_or_fails_by_its_rule() {
        // Senate of 12: 7 ayes pass, 6 do not (more than half).
        let senate = |ayes| Ballot { senate: (ayes, 12), ..Ballot::default() };
        assert_eq!(decide(Model::Senate, &senate(7)), Outcome::Enacted(SENATE_MOTION_BLOCKS));
        assert_eq!(decide(Model::Senate, &senate(6)), Outcome::Rejected);
        // Sudo 3-of-5.
        let sudo = |s| Ballot { signatures: s, threshold: 3, ..Ballot::default() };
        assert_eq!(decide(Model::Sudo, &sudo(3)), Outcome::Enacted(0));
        assert_eq!(decide(Model::Sudo, &sudo(2)), Outcome::Rejected);
        // Collectives: 2 of 3 triumvirs, then review by 32 voters.
        let col = |t, a, r| Ballot { triumvirate_ayes: t, review: (a, r, 32), ..Ballot::default() };
        assert_eq!(decide(Model::Collectives, &col(1, 32, 0)), Outcome::Rejected);
        assert_eq!(decide(Model::Collectives, &col(2, 24, 0)), Outcome::Enacted(1), "24/32 = 75 %");
        // 17/32 = 53 % >= 51 % rejects; 16/32 = 50 % does not.
        assert_eq!(decide(Model::Collectives, &col(2, 15, 17)), Outcome::Cancelled);
        assert!(matches!(decide(Model::Collectives, &col(2, 16, 16)), Outcome::Enacted(7_200)));
        // No votes: the 24-hour delay.
        assert_eq!(decide(Model::Collectives, &col(3, 0, 0)), Outcome::Enacted(REVIEW_DELAY_BLOCKS));
    }

    #[test]
    fn review_delay_follows_the_ease_out_curve() {
        // Net approval 12/32 = 0.375 = half the fast-track threshold: 1 - 0.5^3 = 0.875 of the
        // delay removed -> 7200 * 0.125 = 900 blocks.
        assert_eq!(review(12, 0, 32), Review::Enacted(900));
        // Net rejection 8/32 = 0.25 of 0.51: p = 0.4902, curved = 1 - 0.5098^3 = 0.8675;
        // 7200 + 0.8675 * 7200 = 13446 blocks.
        let Review::Enacted(d) = review(0, 8, 32) else { panic!() };
        let p: f64 = 0.25 / 0.51;
        assert_eq!(d, libm::round(7_200.0 + (1.0 - (1.0 - p).powi(3)) * 7_200.0) as u64);
        assert!(d > 13_000 && d < 14_400);
    }
}
