//! Analysis of taosim outputs: the metrics of a run, their spread across seeds, percentile
//! bands over time, and self-contained HTML reports and comparisons with inline SVG charts.
//!
//! The crate reads folders, never the simulator's memory, and is generic over columns: it
//! finds what it measures by column name (units last, `tao_usd_price`, `active_miners`) and
//! notes what it skips when a column is absent.
//!
//! - [`integrity`]: run folders' files checked against their manifests' digests;
//! - [`folder`]: one run folder (timeseries, events, summary, long per-entity tables);
//! - [`study`]: a run, a sweep or a folder of runs, as runs in groups (parameter settings);
//! - [`risk`], [`concentration`]: pure metric functions (drawdown, VaR/ES, Nakamoto, Gini);
//! - [`metrics`]: a run's metrics, found by column name; [`flags`]: implausible runs;
//! - [`stats`]: percentiles (type 7), spreads, the seeded bootstrap;
//! - [`analyse`]: every run's metrics and every group's bands and statistics;
//! - [`units`], [`format`]: labels with units and fixed number formatting;
//! - [`svg`]: charts; [`report`]: `report.html` ([`headline`]: its top); [`tables`]: its CSV tables; [`compare`]: two studies;
//! - [`validation`]: `taosim validate`'s figures of a run and their reference bands.
#![warn(missing_docs)]

pub mod analyse;
pub mod compare;
pub mod concentration;
pub mod error;
pub mod flags;
pub mod folder;
pub mod format;
pub mod headline;
pub mod integrity;
pub mod metrics;
pub mod report;
pub mod risk;
pub mod search_report;
pub mod stats;
pub mod study;
pub mod svg;
pub mod synthetic;
pub mod tables;
pub mod units;
pub mod validation;

pub use error::{Error, Result};
