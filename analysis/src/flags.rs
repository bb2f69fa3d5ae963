//! Plausibility flags: runs whose numbers a risk team should not take at face value, flagged
//! in `runs.csv` (a `flag.*` column, 1 or 0) and listed in the report.
//!
//! | flag | raised when |
//! |---|---|
//! | `flag.tao_usd_outside_band` | TAO/USD leaves [`FlagOptions::price_band_usd`] at some sample |
//! | `flag.sell_pressure_exceeds_depth` | a day's selling exceeds [`FlagOptions::max_sell_over_depth`] times the book's depth (`sell_pressure_over_depth.peak_per_day`) |
//! | `flag.issuance_not_conserved` | `initial + minted - recycled != final` issuance, or `free + staked != final` issuance, by more than [`CONSERVATION_TOLERANCE_TAO`] |
//!
//! A flag is only written for a run that has the figures it needs; none is computed from
//! anything but the run's own outputs.

use crate::units::has_token;

/// The real market's TAO/USD range (2024-2026: $182 to $714, `spec/economy-calibration.md`
/// section 1) widened to a decade below and about seven times above: outside it a run's
/// price is not a stress, it is a model out of its calibrated range.
pub const DEFAULT_PRICE_BAND_USD: (f64, f64) = (20.0, 5_000.0);

/// Largest difference, in TAO, between the two sides of an issuance identity (summary
/// figures are exact decimals of rao, read as doubles: about 2e-9 TAO of rounding at 15.7M).
pub const CONSERVATION_TOLERANCE_TAO: f64 = 1e-6;

/// Flag names.
pub const FLAG_PRICE_BAND: &str = "flag.tao_usd_outside_band";
/// See the module table.
pub const FLAG_SELL_OVER_DEPTH: &str = "flag.sell_pressure_exceeds_depth";
/// See the module table.
pub const FLAG_CONSERVATION: &str = "flag.issuance_not_conserved";

/// What raises a flag.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlagOptions {
    /// TAO/USD outside `[low, high]` is implausible.
    pub price_band_usd: (f64, f64),
    /// Peak daily sell pressure over depth above this is flagged.
    pub max_sell_over_depth: f64,
}

impl Default for FlagOptions {
    fn default() -> Self {
        Self { price_band_usd: DEFAULT_PRICE_BAND_USD, max_sell_over_depth: 1.0 }
    }
}

/// Whether a column is the TAO/USD price (`tao_price_usd`, `tao_usd_price`).
pub fn is_tao_usd_price(column: &str) -> bool {
    has_token(column, "tao") && has_token(column, "usd") && has_token(column, "price")
}

fn find(metrics: &[(String, f64)], name: &str) -> Option<f64> {
    metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v).filter(|v| v.is_finite())
}

/// The flags of one run from its headline scalars and computed metrics.
pub fn run_flags(summary: &[(String, f64)], computed: &[(String, f64)], options: &FlagOptions) -> Vec<(String, f64)> {
    let mut flags = Vec::new();
    let flag = |raised: bool| f64::from(u8::from(raised));
    let price = computed.iter().find_map(|(n, _)| {
        let column = n.strip_suffix(".min")?;
        is_tao_usd_price(column).then(|| column.to_string())
    });
    if let Some(column) = price
        && let (Some(lo), Some(hi)) =
            (find(computed, &format!("{column}.min")), find(computed, &format!("{column}.max")))
    {
        let (low, high) = options.price_band_usd;
        flags.push((FLAG_PRICE_BAND.to_string(), flag(lo < low || hi > high)));
    }
    if let Some(peak) = find(computed, "sell_pressure_over_depth.peak_per_day") {
        flags.push((FLAG_SELL_OVER_DEPTH.to_string(), flag(peak > options.max_sell_over_depth)));
    }
    let get = |name: &str| find(summary, name);
    let mut conserved: Option<bool> = None;
    if let (Some(initial), Some(minted), Some(recycled), Some(final_)) =
        (get("initial_issuance_tao"), get("minted_tao"), get("recycled_tao"), get("final_issuance_tao"))
    {
        conserved = Some((initial + minted - recycled - final_).abs() <= CONSERVATION_TOLERANCE_TAO);
    }
    if let (Some(free), Some(staked), Some(final_)) =
        (get("final_free_tao"), get("final_staked_tao"), get("final_issuance_tao"))
    {
        let held = (free + staked - final_).abs() <= CONSERVATION_TOLERANCE_TAO;
        conserved = Some(conserved.unwrap_or(true) && held);
    }
    if let Some(ok) = conserved {
        flags.push((FLAG_CONSERVATION.to_string(), flag(!ok)));
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    }

    fn get(flags: &[(String, f64)], name: &str) -> Option<f64> {
        flags.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    #[test]
    fn flags_follow_the_band_the_depth_and_the_identities() {
        let options = FlagOptions { price_band_usd: (20.0, 5_000.0), max_sell_over_depth: 1.0 };
        // From the liquidity-shock run's summary: conserved to the rao.
        let summary = m(&[
            ("initial_issuance_tao", 15_700_000.0),
            ("minted_tao", 79_000.25),
            ("recycled_tao", 0.00086451),
            ("final_issuance_tao", 15_779_000.24913549),
            ("final_free_tao", 14_568_155.183006799),
            ("final_staked_tao", 1_210_845.066128691),
        ]);
        let computed = m(&[
            ("tao_price_usd.min", 113.0),
            ("tao_price_usd.max", 260.0),
            ("fair_price_usd.min", 1.0),
            ("sell_pressure_over_depth.peak_per_day", 0.4),
        ]);
        let flags = run_flags(&summary, &computed, &options);
        assert_eq!(get(&flags, FLAG_PRICE_BAND), Some(0.0), "the fair price is not TAO/USD's column");
        assert_eq!(get(&flags, FLAG_SELL_OVER_DEPTH), Some(0.0));
        assert_eq!(get(&flags, FLAG_CONSERVATION), Some(0.0));
        // A crash below the band, selling beyond the book, a TAO lost.
        let computed = m(&[
            ("tao_price_usd.min", 4.0),
            ("tao_price_usd.max", 260.0),
            ("sell_pressure_over_depth.peak_per_day", 69.6),
        ]);
        let mut broken = summary.clone();
        broken[3].1 -= 1.0;
        let flags = run_flags(&broken, &computed, &options);
        assert_eq!(get(&flags, FLAG_PRICE_BAND), Some(1.0));
        assert_eq!(get(&flags, FLAG_SELL_OVER_DEPTH), Some(1.0));
        assert_eq!(get(&flags, FLAG_CONSERVATION), Some(1.0));
        // The band is configurable; missing figures raise no flag at all.
        let wide = FlagOptions { price_band_usd: (1.0, 1e6), max_sell_over_depth: 100.0 };
        let flags = run_flags(&[], &computed, &wide);
        assert_eq!(get(&flags, FLAG_PRICE_BAND), Some(0.0));
        assert_eq!(get(&flags, FLAG_SELL_OVER_DEPTH), Some(0.0));
        assert_eq!(get(&flags, FLAG_CONSERVATION), None);
    }
}
