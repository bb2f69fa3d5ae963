//! One run's daily rows after the burn-in, and its figures.
//!
//! A **day row** is a sample at a multiple of [`BLOCKS_PER_DAY`] at or after the burn-in
//! (`taosim validate` samples daily, so every row but a partial last day is one). Only the
//! columns named here are read, by name:
//!
//! - `timeseries.csv`: `tao_price_usd`, `sum_moving_prices`, `total_issuance_tao`,
//!   `root_stake_tao`;
//! - `subnets.csv` (long: one row per block and `netuid`): `price_tao_per_alpha`,
//!   `emission_share`, `alpha_out_alpha`. Netuid 0 (root: no pool, no alpha) is skipped
//!   if a table lists it.

use super::{DRAWDOWN_WINDOW_DAYS, Figure, RunFigures, TOP_SUBNETS};
use crate::concentration::{herfindahl, top_share};
use crate::error::{Error, Result};
use crate::folder::{LongFile, TIMESERIES, read_table, stream_long};
use crate::risk::{largest_move, log_returns, max_drawdown_within};
use crate::stats::{excess_kurtosis, lag1_autocorrelation, mean, quantile, sample_sd};
pub use sim::engine::time::BLOCKS_PER_DAY;
use std::path::Path;

/// The per-subnet table of a run folder.
pub const SUBNETS: &str = "subnets.csv";

/// The `timeseries.csv` columns the figures read.
pub const TIMESERIES_COLUMNS: [&str; 4] =
    ["tao_price_usd", "sum_moving_prices", "total_issuance_tao", "root_stake_tao"];

/// The `subnets.csv` columns the figures read.
pub const SUBNET_COLUMNS: [&str; 3] = ["price_tao_per_alpha", "emission_share", "alpha_out_alpha"];

/// A run's day rows: one value per day in every series (`NaN` where a day has none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Daily {
    /// The days' blocks, ascending.
    pub blocks: Vec<u64>,
    /// TAO/USD.
    pub tao_price_usd: Vec<f64>,
    /// Sum of the subnets' moving prices.
    pub sum_moving_prices: Vec<f64>,
    /// (root stake + sum over subnets of alpha outstanding x price) / total issuance.
    pub staked_share: Vec<f64>,
    /// The [`TOP_SUBNETS`] largest emission shares over their sum (`NaN` on a day without
    /// emission, such as block 0).
    pub emission_top_share: Vec<f64>,
    /// Herfindahl-Hirschman index of the emission shares (`NaN` as above).
    pub emission_hhi: Vec<f64>,
    /// Each subnet's alpha price in TAO, in order of first appearance (`NaN` on days it is
    /// absent).
    pub alpha_prices: Vec<Vec<f64>>,
}

/// Whether a sample at `block` is a day row of a run with the given burn-in.
pub fn is_day_row(block: u64, burn_in_blocks: u64) -> bool {
    block >= burn_in_blocks && block.is_multiple_of(BLOCKS_PER_DAY)
}

fn column<'a>(table: &'a crate::folder::Table, path: &Path, name: &str) -> Result<&'a [f64]> {
    table.column(name).ok_or_else(|| Error::format(path, format!("no column `{name}` with a number in it")))
}

/// Reads the day rows of a run folder.
pub fn read_daily(run_dir: &Path, burn_in_blocks: u64) -> Result<Daily> {
    let path = run_dir.join(TIMESERIES);
    let table = read_table(&path)?;
    let [price, moving, issuance, root] = TIMESERIES_COLUMNS.map(|name| column(&table, &path, name));
    let (price, moving, issuance, root) = (price?, moving?, issuance?, root?);
    let rows: Vec<usize> = (0..table.blocks.len()).filter(|&i| is_day_row(table.blocks[i], burn_in_blocks)).collect();
    let pick = |values: &[f64]| rows.iter().map(|&i| values[i]).collect::<Vec<f64>>();
    let blocks: Vec<u64> = rows.iter().map(|&i| table.blocks[i]).collect();
    let days = blocks.len();

    let mut alpha_value = vec![0.0; days];
    let mut emission_top_share = vec![f64::NAN; days];
    let mut emission_hhi = vec![f64::NAN; days];
    let mut alpha_prices: Vec<Vec<f64>> = Vec::new();
    let mut subnet_of_entity: Vec<Option<usize>> = Vec::new();
    let file = LongFile { path: run_dir.join(SUBNETS), name: "subnets".into(), entity_column: "netuid".into() };
    let shape = stream_long(&file, |shape, block| {
        let Ok(day) = blocks.binary_search(&block.block) else { return };
        let find = |name: &str| shape.columns.iter().position(|c| c == name);
        let (Some(p), Some(e), Some(a)) = (find(SUBNET_COLUMNS[0]), find(SUBNET_COLUMNS[1]), find(SUBNET_COLUMNS[2]))
        else {
            return;
        };
        let width = shape.columns.len();
        let mut shares = Vec::with_capacity(block.entities.len());
        for (row, &entity) in block.entities.iter().enumerate() {
            if shape.entities[entity] == "0" {
                continue;
            }
            if subnet_of_entity.len() <= entity {
                subnet_of_entity.resize(entity + 1, None);
            }
            let subnet = *subnet_of_entity[entity].get_or_insert_with(|| {
                alpha_prices.push(vec![f64::NAN; days]);
                alpha_prices.len() - 1
            });
            let cells = &block.values[row * width..(row + 1) * width];
            alpha_prices[subnet][day] = cells[p];
            alpha_value[day] += cells[a] * cells[p];
            shares.push(cells[e]);
        }
        emission_top_share[day] = top_share(&shares, TOP_SUBNETS).unwrap_or(f64::NAN);
        emission_hhi[day] = herfindahl(&shares).unwrap_or(f64::NAN);
    })?;
    let missing: Vec<&str> = SUBNET_COLUMNS.into_iter().filter(|c| !shape.columns.iter().any(|x| x == c)).collect();
    if !missing.is_empty() && !shape.entities.is_empty() {
        return Err(Error::format(file.path, format!("no column {}", missing.join(", "))));
    }
    let staked_share = rows.iter().zip(&alpha_value).map(|(&i, value)| (root[i] + value) / issuance[i]).collect();
    Ok(Daily {
        tao_price_usd: pick(price),
        sum_moving_prices: pick(moving),
        blocks,
        staked_share,
        emission_top_share,
        emission_hhi,
        alpha_prices,
    })
}

/// The mean of the finite values; `None` when there are none.
fn mean_finite(values: &[f64]) -> Option<f64> {
    mean(&values.iter().copied().filter(|x| x.is_finite()).collect::<Vec<f64>>())
}

/// Lowest and highest value over the first, when the first is a positive number.
fn range_over_start(values: &[f64]) -> Option<(f64, f64)> {
    let start = *values.first().filter(|p| p.is_finite() && **p > 0.0)?;
    let finite = values.iter().copied().filter(|x| x.is_finite());
    let (low, high) = finite.fold((start, start), |(lo, hi), x| (lo.min(x), hi.max(x)));
    Some((low / start, high / start))
}

/// A run's figures from its day rows (each defined at [`Figure`]).
pub fn figures(d: &Daily) -> RunFigures {
    let returns = log_returns(&d.tao_price_usd);
    let magnitudes: Vec<f64> = returns.iter().map(|r| r.abs()).collect();
    let range = range_over_start(&d.tao_price_usd);
    let alpha_sigmas: Vec<f64> = d.alpha_prices.iter().filter_map(|p| sample_sd(&log_returns(p))).collect();
    let mut f = RunFigures::default();
    f.set(Figure::TaoSigma, sample_sd(&returns));
    f.set(Figure::TaoKurtosis, excess_kurtosis(&returns));
    f.set(Figure::TaoReturnAutocorrelation, lag1_autocorrelation(&returns).map(f64::abs));
    f.set(Figure::TaoAbsReturnAutocorrelation, lag1_autocorrelation(&magnitudes));
    f.set(Figure::TaoWorstDay, largest_move(&d.tao_price_usd));
    f.set(Figure::TaoDrawdown30d, max_drawdown_within(&d.tao_price_usd, DRAWDOWN_WINDOW_DAYS));
    f.set(Figure::TaoMinOverStart, range.map(|r| r.0));
    f.set(Figure::TaoMaxOverStart, range.map(|r| r.1));
    f.set(Figure::SumMovingPrices, mean_finite(&d.sum_moving_prices));
    f.set(Figure::AlphaSigma, quantile(&alpha_sigmas, 0.5));
    f.set(Figure::EmissionTop10, mean_finite(&d.emission_top_share));
    f.set(Figure::EmissionHhi, mean_finite(&d.emission_hhi));
    f.set(Figure::StakedShare, mean_finite(&d.staked_share));
    f
}
