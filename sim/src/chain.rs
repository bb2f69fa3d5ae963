//! The chain: its units, state and mechanisms, computed as the chain computes them.
//!
//! Chain state is integers (rao) and the chain's own fixed-point types (`substrate-fixed`),
//! so that it is identical on every platform. Floating point never touches chain state.
//!
//! - [`rao`], [`math`]: units and the pure integer math the pools need; [`memo`]: a one-entry
//!   memo of pure functions the per-block step asks for repeatedly;
//! - [`emission`]: the issuance-driven block emission and halvings (TAO and each alpha);
//! - [`pool`]: a subnet's TAO/alpha pool (weighted, or the launch's constant product);
//! - [`emission_share`]: how the block emission is split between subnets (named rules);
//! - [`subnet`]: a subnet's state, neurons and hotkey share pools;
//! - [`stake`]: staking and unstaking through the pools;
//! - [`registration`]: burn price, neuron and subnet registration, pruning, dissolution;
//! - [`epoch`]: the epoch interface and its stand-in;
//! - [`coinbase`]: the per-block step and the epoch payout;
//! - [`state`]: the whole state, parameters, errors and the conservation ledger;
//! - [`genesis`]: the state a run starts from; [`snapshot`]: its shape calibrated to the 2025
//!   network.

pub mod clipped_consensus;
pub mod coinbase;
pub mod emission;
pub mod emission_share;
pub mod epoch;
pub mod genesis;
pub mod math;
pub mod memo;
pub mod pool;
pub mod rao;
pub mod registration;
pub mod snapshot;
pub mod stake;
pub mod state;
pub mod subnet;
pub mod yuma;

pub use coinbase::BlockOutcome;
pub use rao::{RAO_PER_TAO, Rao};
pub use state::{ChainError, ChainParams, ChainState};
