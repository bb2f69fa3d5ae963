//! The economy around the chain: everything that is not chain state.
//!
//! - [`fair_value`]: the exogenous crypto-market factor (GARCH(1,1) with Student-t shocks);
//! - [`venue`]: the TAO/USD venue participants trade on: a liquidity profile that refills,
//!   market makers with finite inventory, and orders executed over time;
//! - [`market`]: the older constant-product market (being replaced by the venue);
//! - [`gpus`]: GPU kinds' rent (reference table) and throughput per subnet task (profile);
//! - [`agents`]: participants' policies as pure functions (miners, validators, holders);
//! - [`participants`]: the participants' state, their decisions and the scenario's events
//!   (shocks and attacks), acting on the chain only through its operations.
//!
//! Dependencies point one way: the economy uses [`crate::chain`], [`crate::rng`] and
//! [`crate::engine`]'s time; the network ([`crate::network`]) drives the economy and the
//! economy never calls back into the network. Behaviour here is `f64` with `libm`; chain state
//! stays in the chain's integer and fixed-point arithmetic.

pub mod agents;
pub mod fair_value;
pub mod gpus;
pub mod market;
pub mod participants;
pub mod venue;
