//! The chain's state as the simulator keeps it: issuance, emission and where minted TAO went.
//!
//! Later models (subnets, pools, stake) add their ledgers here; the rule that holds across
//! all of them is conservation: every rao of `total_issuance` is somewhere, exactly.

use super::emission::EmissionSchedule;
use super::rao::Rao;
use crate::engine::Block;
use serde::Serialize;

/// The chain state the block step advances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainState {
    /// The last block processed (0 before the first).
    pub block: Block,
    /// Total TAO issuance (`TotalIssuance`): what halvings are driven by.
    pub total_issuance: Rao,
    /// The emission minted in the last block (`BlockEmission`).
    pub block_emission: Rao,
    /// The issuance-to-emission rule.
    pub schedule: EmissionSchedule,
    /// Issuance when the run started.
    pub initial_issuance: Rao,
    /// TAO minted by this run's blocks.
    pub minted: Rao,
    /// TAO recycled or burned by this run (lowers issuance, postponing halvings).
    pub recycled: Rao,
    /// Minted TAO not yet routed to a subnet. With no subnets modelled, all emission lands here.
    pub unallocated: Rao,
}

/// What one block step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The block just processed.
    pub block: Block,
    /// TAO minted in it.
    pub emission: Rao,
    /// The emission of the previous block, to spot a halving.
    pub previous_emission: Rao,
}

impl ChainState {
    /// The state before block 1 with `initial_issuance` already issued.
    pub fn new(initial_issuance: Rao, schedule: EmissionSchedule) -> Self {
        Self {
            block: Block(0),
            total_issuance: initial_issuance,
            block_emission: schedule.block_emission(initial_issuance),
            schedule,
            initial_issuance,
            minted: Rao::ZERO,
            recycled: Rao::ZERO,
            unallocated: Rao::ZERO,
        }
    }

    /// Advances one block: emission is computed from the issuance *before* the block (as the
    /// chain's coinbase does), then minted.
    pub fn step_block(&mut self) -> BlockOutcome {
        let previous_emission = self.block_emission;
        let emission = self.schedule.block_emission(self.total_issuance);
        self.block = Block(self.block.0.saturating_add(1));
        self.block_emission = emission;
        self.total_issuance = self.total_issuance.saturating_add(emission);
        self.minted = self.minted.saturating_add(emission);
        self.unallocated = self.unallocated.saturating_add(emission);
        BlockOutcome { block: self.block, emission, previous_emission }
    }

    /// Recycles (burns) up to `amount` of unallocated TAO, lowering total issuance as the
    /// chain's `recycle_tao` does; returns what was recycled.
    pub fn recycle_unallocated(&mut self, amount: Rao) -> Rao {
        let amount = amount.min(self.unallocated);
        self.unallocated = self.unallocated.saturating_sub(amount);
        self.total_issuance = self.total_issuance.saturating_sub(amount);
        self.recycled = self.recycled.saturating_add(amount);
        amount
    }

    /// Conservation: issuance equals what was there at the start, plus minted, minus
    /// recycled; and everything minted and not recycled is accounted for.
    pub fn check_conservation(&self) -> Result<(), String> {
        let expected = u128::from(self.initial_issuance.0) + u128::from(self.minted.0) - u128::from(self.recycled.0);
        if u128::from(self.total_issuance.0) != expected {
            return Err(format!("issuance {} != initial + minted - recycled = {expected}", self.total_issuance.0));
        }
        if self.minted.0 != self.unallocated.0 + self.recycled.0 {
            return Err(format!(
                "minted {} != unallocated {} + recycled {}",
                self.minted.0, self.unallocated.0, self.recycled.0
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::RAO_PER_TAO;

    #[test]
    fn issuance_grows_by_each_blocks_emission_and_halves_on_crossing() {
        // 2 TAO below the first halving: two blocks at 1 TAO, then 0.5 TAO.
        let start = Rao(10_500_000 * RAO_PER_TAO - 2 * RAO_PER_TAO);
        let mut chain = ChainState::new(start, EmissionSchedule::default());
        let emissions: Vec<u64> = (0..4).map(|_| chain.step_block().emission.0).collect();
        assert_eq!(emissions, [RAO_PER_TAO, RAO_PER_TAO, RAO_PER_TAO / 2, RAO_PER_TAO / 2]);
        assert_eq!(chain.total_issuance, Rao(start.0 + 3 * RAO_PER_TAO));
        assert_eq!(chain.block, Block(4));
        chain.check_conservation().expect("conserved");
    }

    #[test]
    fn recycling_lowers_issuance_and_postpones_the_halving() {
        let start = Rao(10_500_000 * RAO_PER_TAO - RAO_PER_TAO);
        let mut burned = ChainState::new(start, EmissionSchedule::default());
        let mut kept = burned.clone();
        burned.step_block();
        kept.step_block();
        burned.recycle_unallocated(Rao(RAO_PER_TAO / 2));
        assert_eq!(kept.step_block().emission.0, RAO_PER_TAO / 2);
        assert_eq!(burned.step_block().emission.0, RAO_PER_TAO, "recycling must delay the halving");
        burned.check_conservation().expect("conserved");
        assert_eq!(burned.recycle_unallocated(Rao::MAX), Rao(RAO_PER_TAO * 3 / 2));
        burned.check_conservation().expect("conserved");
    }
}
