//! The chain: its units, state and mechanisms, computed as the chain computes them.
//!
//! Chain state is integers (rao) and the chain's own fixed-point types (`substrate-fixed`),
//! so that it is identical on every platform. Floating point never touches chain state.

pub mod emission;
pub mod rao;
pub mod state;
pub mod yuma;

pub use rao::{RAO_PER_TAO, Rao};
pub use state::ChainState;
