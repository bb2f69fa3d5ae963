//! The economy around the chain: everything that is not chain state.
//!
//! - [`market`]: the external TAO/USD market participants trade on;
//! - [`agents`]: participants' policies as pure functions (miners, validators, holders);
//! - [`participants`]: the participants' state, their decisions and the scenario's events
//!   (shocks and attacks), acting on the chain only through its operations.
//!
//! Dependencies point one way: the economy uses [`crate::chain`], [`crate::rng`] and
//! [`crate::engine`]'s time; the network ([`crate::network`]) drives the economy and the
//! economy never calls back into the network. Behaviour here is `f64` with `libm`; chain state
//! stays in the chain's integer and fixed-point arithmetic.

pub mod agents;
pub mod market;
pub mod participants;
