//! `taosim validate`: does a scenario's no-shock baseline look like the real network?
//!
//! Each run (one seed) gives thirteen **figures** from its daily rows after the burn-in
//! ([`daily`]): the volatility, tails, autocorrelations, worst day, 30-day drawdown and range
//! of TAO/USD; the sum of the subnets' moving prices; the daily volatility of alpha prices;
//! the concentration of emission; the share of supply staked. Across seeds, each figure's
//! P5 / P50 / P95, minimum and maximum are computed (type-7 percentiles, [`crate::stats`]), and
//! one **statistic** of them (the median, the minimum, the maximum, or P5 and P95 together) is
//! checked against a **reference band** taken from what the real network and its market did
//! (`economy-calibration.md` in the project's shared specification, row by row, or the
//! acceptance of the issue that asked for the command). The bands are one table, [`BANDS`];
//! the book's validation chapter (docs/src/validation.md) prints it ([`markdown_table`], kept equal by a test).
//!
//! The figures are stylized facts (Cont 2001, *Quantitative Finance* 1:223) and ranges, not
//! calibration targets: a model inside every band is plausible, not calibrated.

pub mod daily;

use crate::error::{Error, Result};
use crate::format::{csv_number, display_number};
use crate::stats::{Spread, spread};
pub use daily::{Daily, figures, read_daily};

/// Fewest whole days after the burn-in a validation needs: the 30-day drawdown needs 30 days
/// in its window, and a few more days give it more than one window to look at.
pub const MIN_DAYS: u64 = 35;

/// The drawdown window, in days (the "30-day moves" of the reference tables).
pub const DRAWDOWN_WINDOW_DAYS: usize = 30;

/// How many of the largest subnets the emission top share counts (the reference's top 10).
pub const TOP_SUBNETS: usize = 10;

/// One figure of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    /// Sample standard deviation of TAO/USD daily log returns.
    TaoSigma,
    /// Excess kurtosis of TAO/USD daily log returns.
    TaoKurtosis,
    /// |lag-1 autocorrelation| of TAO/USD daily log returns.
    TaoReturnAutocorrelation,
    /// Lag-1 autocorrelation of |TAO/USD daily log returns|.
    TaoAbsReturnAutocorrelation,
    /// Largest |simple daily return| of TAO/USD.
    TaoWorstDay,
    /// Deepest TAO/USD fall from a peak to a trough at most 30 days later.
    TaoDrawdown30d,
    /// Lowest TAO/USD over its first value.
    TaoMinOverStart,
    /// Highest TAO/USD over its first value.
    TaoMaxOverStart,
    /// Mean over days of the sum of the subnets' moving prices.
    SumMovingPrices,
    /// Median over subnets of the standard deviation of daily log alpha price returns.
    AlphaSigma,
    /// Mean over days of the 10 largest subnets' share of emission.
    EmissionTop10,
    /// Mean over days of the Herfindahl-Hirschman index of emission shares.
    EmissionHhi,
    /// Mean over days of (root stake + alpha outstanding at its price) / total issuance.
    StakedShare,
}

/// Number of figures.
pub const FIGURES: usize = 13;

impl Figure {
    /// Every figure, in table order.
    pub const ALL: [Figure; FIGURES] = [
        Figure::TaoSigma,
        Figure::TaoKurtosis,
        Figure::TaoReturnAutocorrelation,
        Figure::TaoAbsReturnAutocorrelation,
        Figure::TaoWorstDay,
        Figure::TaoDrawdown30d,
        Figure::TaoMinOverStart,
        Figure::TaoMaxOverStart,
        Figure::SumMovingPrices,
        Figure::AlphaSigma,
        Figure::EmissionTop10,
        Figure::EmissionHhi,
        Figure::StakedShare,
    ];

    /// The figure's name in the table and `validation.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Figure::TaoSigma => "tao_daily_sigma",
            Figure::TaoKurtosis => "tao_excess_kurtosis",
            Figure::TaoReturnAutocorrelation => "tao_return_ac1_abs",
            Figure::TaoAbsReturnAutocorrelation => "tao_abs_return_ac1",
            Figure::TaoWorstDay => "tao_worst_day",
            Figure::TaoDrawdown30d => "tao_drawdown_30d",
            Figure::TaoMinOverStart => "tao_min_over_start",
            Figure::TaoMaxOverStart => "tao_max_over_start",
            Figure::SumMovingPrices => "sum_moving_prices_mean",
            Figure::AlphaSigma => "alpha_daily_sigma_median",
            Figure::EmissionTop10 => "emission_top10_share_mean",
            Figure::EmissionHhi => "emission_hhi_mean",
            Figure::StakedShare => "staked_share_mean",
        }
    }
}

/// One run's figures (`None` where its series cannot give one: too few days, no variance).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFigures(pub [Option<f64>; FIGURES]);

impl RunFigures {
    /// The value of `figure`.
    pub fn get(&self, figure: Figure) -> Option<f64> {
        self.0[figure as usize]
    }

    /// Sets the value of `figure`.
    pub fn set(&mut self, figure: Figure, value: Option<f64>) {
        self.0[figure as usize] = value;
    }
}

/// Which statistic across seeds a band applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    /// The median (P50) over seeds.
    Median,
    /// The smallest value over seeds (a floor no seed may break).
    Min,
    /// The largest value over seeds (a ceiling no seed may break).
    Max,
    /// P5 and P95 over seeds, both (nine seeds in ten inside the band).
    P5AndP95,
}

impl Statistic {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Median => "P50",
            Statistic::Min => "min",
            Statistic::Max => "max",
            Statistic::P5AndP95 => "P5 and P95",
        }
    }

    /// The values of `s` it checks.
    pub fn checked(self, s: &Spread) -> Vec<f64> {
        match self {
            Statistic::Median => vec![s.percentiles[2]],
            Statistic::Min => vec![s.min],
            Statistic::Max => vec![s.max],
            Statistic::P5AndP95 => vec![s.percentiles[0], s.percentiles[4]],
        }
    }
}

/// A reference band for one figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// The figure.
    pub figure: Figure,
    /// What the figure is, for people (the validation chapter's table).
    pub what: &'static str,
    /// The statistic across seeds the band applies to.
    pub statistic: Statistic,
    /// Lower end (`-inf`: none).
    pub low: f64,
    /// Upper end (`inf`: none).
    pub high: f64,
    /// Whether the ends are excluded (`> 1` rather than `>= 1`).
    pub strict: bool,
    /// Where the band comes from.
    pub source: &'static str,
}

impl Band {
    /// Whether `x` lies in the band (`false` for NaN).
    pub fn contains(&self, x: f64) -> bool {
        if self.strict { self.low < x && x < self.high } else { self.low <= x && x <= self.high }
    }

    /// The band as text: `0.03 - 0.09`, `> 1`, `<= 4`.
    pub fn text(&self) -> String {
        let (lt, gt) = if self.strict { ("<", ">") } else { ("<=", ">=") };
        match (self.low.is_finite(), self.high.is_finite()) {
            (true, true) => format!("{} - {}", self.low, self.high),
            (true, false) => format!("{gt} {}", self.low),
            (false, true) => format!("{lt} {}", self.high),
            (false, false) => "any".into(),
        }
    }
}

const CAL: &str = "economy-calibration.md";

/// The reference bands, one per figure, in table order.
pub const BANDS: [Band; FIGURES] = [
    Band {
        figure: Figure::TaoSigma,
        what: "standard deviation (n - 1) of TAO/USD daily log returns",
        statistic: Statistic::Median,
        low: 0.03,
        high: 0.09,
        strict: false,
        source: "economy-calibration.md section 1 (TAO/USD), daily volatility of log returns: 5.9 %/day",
    },
    Band {
        figure: Figure::TaoKurtosis,
        what: "excess kurtosis m4 / m2^2 - 3 of daily log returns",
        statistic: Statistic::Median,
        low: 1.0,
        high: f64::INFINITY,
        strict: true,
        source: "economy-calibration.md section 5 (stylized facts): heavy tails, excess kurtosis well above 0 at daily horizon (Cont 2001)",
    },
    Band {
        figure: Figure::TaoReturnAutocorrelation,
        what: "|lag-1 autocorrelation| of daily log returns (Pearson, consecutive pairs)",
        statistic: Statistic::Median,
        low: f64::NEG_INFINITY,
        high: 0.15,
        strict: true,
        source: "economy-calibration.md section 5 (stylized facts): no linear autocorrelation of returns beyond the shortest horizons",
    },
    Band {
        figure: Figure::TaoAbsReturnAutocorrelation,
        what: "lag-1 autocorrelation of |daily log returns|",
        statistic: Statistic::Median,
        low: 0.1,
        high: f64::INFINITY,
        strict: true,
        source: "economy-calibration.md section 5 (stylized facts): volatility clustering, slowly decaying autocorrelation of |returns|",
    },
    Band {
        figure: Figure::TaoWorstDay,
        what: "largest |simple daily return| of TAO/USD",
        statistic: Statistic::Max,
        low: f64::NEG_INFINITY,
        high: 0.40,
        strict: true,
        source: "economy-calibration.md section 1 (TAO/USD): worst day -16.6 % in a year, Binance listing day -20 %; band: issue acceptance",
    },
    Band {
        figure: Figure::TaoDrawdown30d,
        what: "deepest fall 1 - p_j / max(p_i), j - 30 days <= i <= j",
        statistic: Statistic::Median,
        low: 0.05,
        high: 0.60,
        strict: false,
        source: "economy-calibration.md section 1 (TAO/USD), 30-day and quarterly moves: Jun 2025 -22 %, Q1 2025 -49 %",
    },
    Band {
        figure: Figure::TaoMinOverStart,
        what: "lowest TAO/USD over its first value after the burn-in",
        statistic: Statistic::Min,
        low: 0.25,
        high: f64::INFINITY,
        strict: false,
        source: "issue acceptance: TAO/USD within 0.25x - 4x of its start (real TAO fell 74 % peak to trough in the year to Nov 2025, economy-calibration.md section 1)",
    },
    Band {
        figure: Figure::TaoMaxOverStart,
        what: "highest TAO/USD over its first value after the burn-in",
        statistic: Statistic::Max,
        low: f64::NEG_INFINITY,
        high: 4.0,
        strict: false,
        source: "issue acceptance: TAO/USD within 0.25x - 4x of its start",
    },
    Band {
        figure: Figure::SumMovingPrices,
        what: "mean over days of sum_moving_prices",
        statistic: Statistic::P5AndP95,
        low: 0.8,
        high: 3.0,
        strict: false,
        source: "economy-calibration.md section 2 (chain economics), sum of alpha prices of started pools: 1.00 - 2.44 over 2025",
    },
    Band {
        figure: Figure::AlphaSigma,
        what: "median over subnets of the standard deviation of daily log alpha price returns",
        statistic: Statistic::Median,
        low: 0.03,
        high: 0.20,
        strict: false,
        source: "economy-calibration.md section 2, alpha price volatility in TAO: daily sigma median 10 % (middle half 7 - 12 %, large subnets 3.4 - 8 %)",
    },
    Band {
        figure: Figure::EmissionTop10,
        what: "mean over days of the 10 largest emission shares over their sum",
        statistic: Statistic::Median,
        low: 0.35,
        high: 0.55,
        strict: false,
        source: "economy-calibration.md section 2, emission concentration: top-10 subnets ~43 - 49 % of emission (Sep - Oct 2025)",
    },
    Band {
        figure: Figure::EmissionHhi,
        what: "mean over days of sum (share / sum of shares)^2",
        statistic: Statistic::Median,
        low: 0.02,
        high: 0.045,
        strict: false,
        source: "economy-calibration.md section 2, emission concentration: HHI 0.028 - 0.034 (Sep - Oct 2025)",
    },
    Band {
        figure: Figure::StakedShare,
        what: "mean over days of (root_stake + sum alpha_out x price) / total_issuance",
        statistic: Statistic::Median,
        low: 0.55,
        high: 0.85,
        strict: false,
        source: "economy-calibration.md section 1, supply: ~70 % of supply staked (2025)",
    },
];

/// One figure checked across seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The band it is checked against.
    pub band: Band,
    /// Runs validated.
    pub runs: usize,
    /// How the runs' values spread (`None` when no run gave one; `n` counts those that did).
    pub spread: Option<Spread>,
    /// Whether every run gave a value and the statistic lies in the band.
    pub within: bool,
}

/// Checks every band against the runs' figures (in seed order; the order does not change
/// the result).
pub fn evaluate(runs: &[RunFigures]) -> Vec<Row> {
    BANDS
        .iter()
        .map(|band| {
            let values: Vec<f64> = runs.iter().map(|r| r.get(band.figure).unwrap_or(f64::NAN)).collect();
            let spread = spread(&values);
            let within = spread
                .as_ref()
                .is_some_and(|s| s.n == runs.len() && band.statistic.checked(s).iter().all(|&x| band.contains(x)));
            Row { band: *band, runs: runs.len(), spread, within }
        })
        .collect()
}

const HEADER: [&str; 9] = ["figure", "band", "P5", "P50", "P95", "min", "max", "statistic", "within"];

fn cells(row: &Row, number: fn(f64) -> String) -> [String; 5] {
    match &row.spread {
        Some(s) => [s.percentiles[0], s.percentiles[2], s.percentiles[4], s.min, s.max].map(number),
        None => [f64::NAN; 5].map(number),
    }
}

fn yes_no(within: bool) -> &'static str {
    if within { "yes" } else { "no" }
}

/// The table for people: one line per figure, columns aligned, numbers to 4 significant
/// digits.
pub fn table_text(rows: &[Row]) -> String {
    let mut lines: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let mut line = vec![row.band.figure.name().to_string(), row.band.text()];
        line.extend(cells(row, display_number));
        let within = match &row.spread {
            Some(s) if s.n < row.runs => format!("no ({} of {} runs without a value)", row.runs - s.n, row.runs),
            None => "no (no run gives a value)".into(),
            Some(_) => yes_no(row.within).into(),
        };
        line.extend([row.band.statistic.name().to_string(), within]);
        lines.push(line);
    }
    let widths: Vec<usize> =
        (0..HEADER.len()).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            let numeric = (2..7).contains(&c); // P5 ..= max: right-aligned
            if c > 0 {
                text.push_str("  ");
            }
            if numeric {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// `validation.csv`: the table's columns, the band's ends as numbers (empty when open),
/// `runs` and `runs_with_value`, and the band's source; 10 significant digits.
pub fn csv_text(rows: &[Row]) -> Result<String> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let bad = |e: csv::Error| Error::format("validation.csv", e.to_string());
    w.write_record([
        "figure",
        "band",
        "band_low",
        "band_high",
        "p5",
        "p50",
        "p95",
        "min",
        "max",
        "statistic",
        "within",
        "runs",
        "runs_with_value",
        "source",
    ])
    .map_err(bad)?;
    for row in rows {
        let [p5, p50, p95, min, max] = cells(row, csv_number);
        w.write_record([
            row.band.figure.name().to_string(),
            row.band.text(),
            csv_number(row.band.low),
            csv_number(row.band.high),
            p5,
            p50,
            p95,
            min,
            max,
            row.band.statistic.name().to_string(),
            row.within.to_string(),
            row.runs.to_string(),
            row.spread.as_ref().map_or(0, |s| s.n).to_string(),
            row.band.source.to_string(),
        ])
        .map_err(bad)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::format("validation.csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::format("validation.csv", e.to_string()))
}

/// The bands as a Markdown table (the one in docs/src/validation.md).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| figure | definition (per run, daily rows after the burn-in) | checked across seeds | band | source |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for b in &BANDS {
        let source = b.source.strip_prefix(CAL).map_or(b.source.to_string(), |rest| format!("`{CAL}`{rest}"));
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            b.figure.name(),
            b.what.replace('|', "\\|"),
            b.statistic.name(),
            b.text(),
            source.replace('|', "\\|")
        ));
    }
    out
}

/// Why a scenario cannot be validated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Unsuitable {
    /// Too few days after the burn-in.
    #[error(
        "the run leaves {days} whole day(s) after the burn-in; the figures need at least {MIN_DAYS} (the 30-day drawdown needs 30 days in its window): use --horizon {needed_days}d or longer"
    )]
    TooShort {
        /// Whole days between the burn-in and the horizon.
        days: u64,
        /// The shortest horizon that gives [`MIN_DAYS`], in days.
        needed_days: u64,
    },
    /// An output file lacks columns a figure needs.
    #[error("{file} has no column {}{hint}", columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))]
    MissingColumns {
        /// The file.
        file: &'static str,
        /// The columns it lacks.
        columns: Vec<&'static str>,
        /// What that usually means.
        hint: &'static str,
    },
}

/// Checks that a run of `horizon_blocks` with a burn-in of `burn_in_blocks` leaves
/// [`MIN_DAYS`] whole days of daily rows (rows at multiples of a day, from the first at or
/// after the burn-in).
pub fn check_horizon(horizon_blocks: u64, burn_in_blocks: u64) -> Result<(), Unsuitable> {
    let day = daily::BLOCKS_PER_DAY;
    let first_day = burn_in_blocks.div_ceil(day);
    let days = (horizon_blocks / day).saturating_sub(first_day);
    if days >= MIN_DAYS {
        return Ok(());
    }
    Err(Unsuitable::TooShort { days, needed_days: first_day + MIN_DAYS })
}

/// Checks that the header of `timeseries.csv` and of `subnets.csv` have every column the
/// figures need.
pub fn check_columns(timeseries_header: &[String], subnets_header: &[String]) -> Result<(), Unsuitable> {
    let missing = |header: &[String], needed: &[&'static str]| -> Vec<&'static str> {
        needed.iter().copied().filter(|c| !header.iter().any(|h| h == c)).collect()
    };
    let columns = missing(timeseries_header, &daily::TIMESERIES_COLUMNS);
    if !columns.is_empty() {
        let hint = if columns.contains(&"tao_price_usd") {
            " (a scenario without participants has no TAO/USD market: set participants.enabled = true)"
        } else {
            ""
        };
        return Err(Unsuitable::MissingColumns { file: crate::folder::TIMESERIES, columns, hint });
    }
    let columns = missing(subnets_header, &daily::SUBNET_COLUMNS);
    if !columns.is_empty() {
        return Err(Unsuitable::MissingColumns { file: daily::SUBNETS, columns, hint: "" });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
