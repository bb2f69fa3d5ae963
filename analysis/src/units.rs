//! Quantities and units from column names.
//!
//! taosim puts units last in every name (`total_issuance_tao`, `sell_pressure_usd_per_day`,
//! `latency_ms_max`), so an axis label can be read off the name: `total issuance (TAO)`,
//! `sell pressure (USD/day)`. Metric names are dotted: the series first, then what was
//! measured (`tao_usd_price.max_drawdown_fraction`); a statistic without a unit of its own
//! (`gini_stake.final`) takes the series' unit.

/// A column's quantity and unit, for labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// What is measured, in words (`total issuance`).
    pub name: String,
    /// The unit (`TAO`, `USD/day`, `fraction`), empty when the quantity has none (counts).
    pub unit: String,
}

impl Quantity {
    /// `name (unit)`, or `name` alone without a unit.
    pub fn label(&self) -> String {
        if self.unit.is_empty() { self.name.clone() } else { format!("{} ({})", self.name, self.unit) }
    }
}

const CURRENCIES: [&str; 4] = ["tao", "usd", "alpha", "rao"];

fn currency(token: &str) -> Option<&'static str> {
    match token {
        "tao" => Some("TAO"),
        "usd" => Some("USD"),
        "alpha" => Some("alpha"),
        "rao" => Some("rao"),
        _ => None,
    }
}

fn word(token: &str) -> String {
    match token {
        "tao" => "TAO".into(),
        "usd" => "USD".into(),
        "gpu" => "GPU".into(),
        "gpus" => "GPUs".into(),
        "var95" => "VaR 95%".into(),
        "var99" => "VaR 99%".into(),
        "es95" => "ES 95%".into(),
        "es99" => "ES 99%".into(),
        "30d" => "30 d".into(),
        "p5" | "p25" | "p50" | "p75" | "p95" => token.to_uppercase(),
        _ => token.to_string(),
    }
}

/// The unit a run of trailing tokens spells, and how many tokens it takes.
fn trailing_unit(tokens: &[&str]) -> Option<(String, usize)> {
    let n = tokens.len();
    let last = |k: usize| -> &str { if k <= n { tokens[n - k] } else { "" } };
    if n >= 2 && last(2) == "per" {
        let per = match last(1) {
            "day" => "day",
            "block" => "block",
            "epoch" => "epoch",
            "hour" => "hour",
            "year" => "year",
            _ => return None,
        };
        if n >= 3
            && let Some(c) = currency(last(3))
        {
            return Some((format!("{c}/{per}"), 3));
        }
        return Some((format!("per {per}"), 2));
    }
    let unit = match last(1) {
        t if currency(t).is_some() => currency(t).unwrap_or_default().to_string(),
        "fraction" => "fraction".into(),
        "share" => "0–1".into(),
        "days" => "days".into(),
        "day" => "day".into(),
        "blocks" => "blocks".into(),
        "ms" => "ms".into(),
        "percent" | "pct" => "%".into(),
        "ratio" => "ratio".into(),
        "count" => "count".into(),
        "gini" => "0–1".into(),
        "nakamoto" => "entities".into(),
        _ => return None,
    };
    // "share", "gini" and "nakamoto" name the quantity as well as fix its unit: keep the word.
    let taken = usize::from(!matches!(last(1), "share" | "gini" | "nakamoto"));
    Some((unit, taken))
}

/// The quantity and unit of one undotted name.
fn describe_segment(segment: &str) -> Quantity {
    let tokens: Vec<&str> = segment.split('_').filter(|t| !t.is_empty()).collect();
    // `tao_usd_price`: the price of the first currency in the second.
    if let [a, b, "price", ..] = tokens.as_slice()
        && let (Some(base), Some(quote)) = (currency(a), currency(b))
    {
        return Quantity { name: format!("{base}/{quote} price"), unit: format!("{quote} per {base}") };
    }
    let (tokens, unit) = match trailing_unit(&tokens) {
        Some((unit, taken)) if taken < tokens.len() => (&tokens[..tokens.len() - taken], unit),
        _ => (&tokens[..], String::new()),
    };
    let unit = if tokens.contains(&"gini") && unit.is_empty() { "0–1".to_string() } else { unit };
    let unit = if tokens.contains(&"nakamoto") && unit.is_empty() { "entities".to_string() } else { unit };
    Quantity { name: tokens.iter().map(|t| word(t)).collect::<Vec<_>>().join(" "), unit }
}

/// Statistics of a series, which keep the series' unit.
pub const STATISTICS: [&str; 9] = ["final", "mean", "median", "min", "max", "worst", "best", "first", "last"];

/// The quantity and unit a column or metric name spells.
///
/// ```
/// use analysis::units::describe;
/// assert_eq!(describe("total_issuance_tao").label(), "total issuance (TAO)");
/// assert_eq!(describe("sell_pressure_usd_per_day").label(), "sell pressure (USD/day)");
/// assert_eq!(describe("tao_usd_price").label(), "TAO/USD price (USD per TAO)");
/// assert_eq!(describe("tao_usd_price.max_drawdown_fraction").label(), "TAO/USD price: max drawdown (fraction)");
/// assert_eq!(describe("gini_stake.final").label(), "gini stake: final (0–1)");
/// ```
pub fn describe(name: &str) -> Quantity {
    let segments: Vec<&str> = name.split('.').filter(|s| !s.is_empty()).collect();
    let Some((last, _)) = segments.split_last() else { return Quantity { name: name.into(), unit: String::new() } };
    if segments.len() == 1 {
        return describe_segment(last);
    }
    let parts: Vec<Quantity> = segments.iter().map(|s| describe_segment(s)).collect();
    // The last segment's unit; a statistic of a series (`final`, `mean`, `worst`...) keeps the
    // unit of the most specific segment that has one; anything else without a unit has none.
    let last_unit = parts.last().map(|q| q.unit.clone()).unwrap_or_default();
    let unit = if last_unit.is_empty() && STATISTICS.contains(last) {
        parts.iter().rev().map(|q| q.unit.clone()).find(|u| !u.is_empty()).unwrap_or_default()
    } else {
        last_unit
    };
    Quantity { name: parts.iter().map(|q| q.name.clone()).collect::<Vec<_>>().join(": "), unit }
}

/// The tokens of a name (split on `_` and `.`).
pub fn tokens(name: &str) -> impl Iterator<Item = &str> {
    name.split(['_', '.']).filter(|t| !t.is_empty())
}

/// Whether `token` is one of the name's tokens.
pub fn has_token(name: &str, token: &str) -> bool {
    tokens(name).any(|t| t == token)
}

/// Whether a quantity is intensive (a price, a share, a ratio: averaged when entities are
/// pooled) rather than extensive (an amount or a count: summed).
pub fn is_intensive(name: &str) -> bool {
    tokens(name).any(|t| {
        matches!(
            t,
            "price" | "share" | "fraction" | "ratio" | "gini" | "nakamoto" | "rate" | "apy" | "apr" | "percent" | "pct"
        ) || t.starts_with("avg")
            || t.starts_with("mean")
    })
}

/// Whether the name ends in a currency unit (an amount of TAO, USD, alpha or rao).
pub fn is_amount(name: &str) -> bool {
    name.rsplit('_').next().is_some_and(|t| CURRENCIES.contains(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_come_from_the_last_tokens() {
        let cases = [
            ("block_emission_tao", "block emission", "TAO"),
            ("sell_pressure_tao_per_day", "sell pressure", "TAO/day"),
            ("emission_per_block", "emission", "per block"),
            ("depth_usd", "depth", "USD"),
            ("active_miners", "active miners", ""),
            ("gpus_online_h100", "GPUs online h100", ""),
            ("gini_stake", "gini stake", "0–1"),
            ("nakamoto_stake", "nakamoto stake", "entities"),
            ("attacker_emission_share", "attacker emission share", "0–1"),
            ("latency_ms", "latency", "ms"),
            ("halvings", "halvings", ""),
            ("price_tao", "price", "TAO"),
            ("tao", "TAO", ""),
        ];
        for (column, name, unit) in cases {
            let q = describe(column);
            assert_eq!((q.name.as_str(), q.unit.as_str()), (name, unit), "{column}");
        }
    }

    #[test]
    fn dotted_metric_names_take_the_most_specific_unit() {
        assert_eq!(describe("tao_usd_price.recovery_days").unit, "days");
        assert_eq!(describe("tao_usd_price.recovered").unit, "", "a flag, not a price");
        assert_eq!(describe("sell_pressure_over_depth.peak_day").label(), "sell pressure over depth: peak (day)");
        assert_eq!(describe("subnets.price_tao.max_drawdown_fraction.worst").unit, "fraction");
        assert_eq!(describe("subnets.emission_tao.gini").label(), "subnets: emission: gini (0–1)");
        assert_eq!(describe("halving2.miner_exit_30d_fraction").label(), "halving2: miner exit 30 d (fraction)");
        assert_eq!(describe("events.halving_count").label(), "events: halving (count)");
        assert_eq!(describe("final_issuance_tao").label(), "final issuance (TAO)");
    }

    #[test]
    fn intensive_and_amount_columns() {
        assert!(is_intensive("alpha_price_tao") && is_intensive("attacker_stake_share"));
        assert!(!is_intensive("emission_tao") && !is_intensive("active_miners"));
        assert!(is_amount("emission_tao") && is_amount("depth_usd") && !is_amount("active_miners"));
        assert!(has_token("tao_usd_price", "price") && !has_token("prices_x", "price"));
    }
}
