//! Participants' policies: miners, validators, holders, alpha speculators.
//!
//! Each policy is a pure function from what the participant can observe (prices, its own
//! balances and costs, the last visible consensus) and its own random stream to an action.
//! The network applies the actions through the chain's operations; nothing here touches chain
//! state. Behaviour is floating point (with `libm`), never chain state.

pub mod gauntlet;
pub mod holder;
pub mod miner;
pub mod speculator;
pub mod validator;
