//! taosim's engine and network model.
//!
//! The crate is cut by what it models:
//! - [`engine`]: the discrete-event core (simulated time, the event queue, the run loop);
//! - [`rng`]: seeded ChaCha streams derived from the run seed and a stable label;
//! - [`chain`]: the chain's state and mechanisms, in integers (rao) and the chain's fixed point;
//! - [`scenario`]: scenario files (TOML), their validation and `--set` overrides;
//! - [`network`]: the simulated network, the model the engine runs;
//! - [`economy`]: the economy around the chain: the TAO/USD market, miners, validators,
//!   holders, attackers and scenario events (uses the chain; the chain never uses it);
//! - [`governance`]: governance models (sudo, senate, collectives), conviction locks and the
//!   attackers' capital;
//! - [`output`]: run folders, atomic writes, digests and the manifest;
//! - [`debris`]: staging folders a killed process leaves, and their cleanup;
//! - [`run`]: one run from a scenario to a finished run folder, and replay;
//! - [`training`]: a decentralised-training subnet (Templar-like), simulated standalone.
//! - [`search`]: the smallest attack budget that captures, by bisection per seed;
//! - [`sweep`]: sweep files, parallel resumable sweeps into sweep folders, shards and merges.
#![warn(missing_docs)]

pub mod calibration;
pub mod chain;
pub mod concentration;
pub mod debris;
pub mod economy;
pub mod engine;
pub mod error;
pub mod governance;
pub mod network;
pub mod output;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod search;
pub mod sweep;
pub mod training;

pub use error::{Error, Result};

/// taosim's version, recorded in every manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
