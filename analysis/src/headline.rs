//! The top of `report.html`: which runs are implausible, and the headline metrics (the key
//! risk measures first, in a stated order, then the run summary and the other metrics).

use crate::analyse::{Analysis, MetricSource};
use crate::format::{display_number, escape};
use crate::report::{MAX_GROUPS_IN_TABLE, compact_value};
use crate::study::StudyKind;
use crate::units::describe;
use std::fmt::Write as _;

/// The key risk measures, in the order the headline shows them: what a risk team asks first
/// (how far the price fell from the event, how fast, whether it came back, the daily tail;
/// then the same over the whole run) before the mechanisms (sell pressure, exits) and
/// concentration. A metric's key is the
/// first ending it matches (`.event.max_drawdown_fraction` before `.max_drawdown_fraction`).
pub const KEY_METRICS: [&str; 25] = [
    ".event.max_drawdown_fraction",
    ".event.trough_days",
    ".event.recovery_days",
    ".event.never_recovered",
    ".event.var95_daily_loss_fraction",
    ".event.es95_daily_loss_fraction",
    ".event.var99_daily_loss_fraction",
    ".event.es99_daily_loss_fraction",
    ".max_drawdown_fraction",
    ".recovery_days",
    ".var95_daily_loss_fraction",
    ".var99_daily_loss_fraction",
    ".es99_daily_loss_fraction",
    ".max_drawdown_fraction.worst",
    "sell_pressure_over_depth.peak_per_day",
    "queued_sell_tao.peak",
    ".miner_exit_30d_fraction",
    ".gpus_online_change_fraction",
    "_share_ratio",
    "cost_usd.final",
    "cost_tao.final",
    ".nakamoto.final",
    ".gini.final",
    "nakamoto_",
    "gini_",
];

/// Whole-run price metrics (from the start, or the burn-in): key only when no run has an
/// event to measure from, since otherwise they mix the event with what came before it.
const WHOLE_RUN_PRICE: [&str; 5] = [
    ".max_drawdown_fraction",
    ".recovery_days",
    ".var95_daily_loss_fraction",
    ".var99_daily_loss_fraction",
    ".es99_daily_loss_fraction",
];

/// The headline rank of a metric among [`KEY_METRICS`]; `None` for the others.
pub fn key_rank(name: &str) -> Option<usize> {
    KEY_METRICS.iter().position(|k| match *k {
        "nakamoto_" | "gini_" => name.starts_with(k) && name.ends_with(".final"),
        _ => name.ends_with(k),
    })
}

/// Whether a metric is one of the key risk measures shown first.
pub fn is_key_metric(name: &str) -> bool {
    key_rank(name).is_some()
}

/// The study's key metrics in headline order (whole-run price figures left out when event
/// figures exist).
pub fn key_metrics(a: &Analysis) -> Vec<usize> {
    let has_event = a.metric_names.iter().any(|n| n.contains(".event."));
    let mut key: Vec<(usize, usize)> = (0..a.metric_names.len())
        .filter(|&m| a.metric_sources[m] == MetricSource::Computed)
        .filter_map(|m| {
            let name = &a.metric_names[m];
            let rank = key_rank(name)?;
            let whole_run = !name.contains(".event.") && WHOLE_RUN_PRICE.contains(&KEY_METRICS[rank]);
            (!(has_event && whole_run)).then_some((rank, m))
        })
        .collect();
    key.sort();
    key.into_iter().map(|(_, m)| m).collect()
}

/// For a recovery-days metric, how many of group `g`'s runs never recovered (its sibling
/// `.recovered` is 0) out of those that measured it: runs that never recover have no
/// recovery time, and a mean over the others alone would hide them.
fn never_recovered(a: &Analysis, g: usize, m: usize) -> Option<(usize, usize)> {
    let prefix = a.metric_names[m].strip_suffix(".recovery_days")?;
    let r = a.metric_index(&format!("{prefix}.recovered"))?;
    let values = a.group_values(g, r);
    Some((values.iter().filter(|(_, v)| *v == 0.0).count(), values.len()))
}

/// A cell of a setting's statistics: the median, P5 – P95 under it, and for recovery times
/// how many runs never recovered.
fn stat_cell(a: &Analysis, g: usize, m: usize) -> String {
    let never = match never_recovered(a, g, m) {
        Some((k, n)) if k > 0 => format!("<br/><span class=\"muted\">{k} of {n} never recovered</span>"),
        _ => String::new(),
    };
    match a.stats[g][m] {
        Some(stat) => format!(
            "<td>{}<br/><span class=\"muted\">{} – {}</span>{never}</td>",
            display_number(stat.spread.median()),
            display_number(stat.spread.percentiles[0]),
            display_number(stat.spread.percentiles[4])
        ),
        None => format!("<td class=\"muted\">–{never}</td>"),
    }
}

/// Metrics per table when settings are rows (so that a table fits a page's width).
const METRICS_PER_ROW_TABLE: usize = 4;

/// A metric name escaped for HTML, with break opportunities after its dots and underscores
/// (a column header of `tao_price_usd.event.max_drawdown_fraction` wraps instead of pushing
/// the table off the page).
fn breakable(name: &str) -> String {
    escape(name).replace('.', ".<wbr/>").replace('_', "_<wbr/>")
}

/// With more settings than fit side by side: one row per setting (every setting, so that no
/// subset confounds the parameters), its parameters' compact values, and a few metrics per
/// table.
fn settings_as_rows(a: &Analysis, out: &mut String, metrics: &[usize]) {
    for chunk in metrics.chunks(METRICS_PER_ROW_TABLE) {
        let _ = write!(out, "<div class=\"scroll\"><table><thead><tr><th class=\"l\">setting</th>");
        for p in &a.study.params {
            let _ = write!(out, "<th class=\"l\"><code>{}</code></th>", escape(p.rsplit('.').next().unwrap_or(p)));
        }
        for &m in chunk {
            let unit = describe(&a.metric_names[m]).unit;
            let _ = write!(
                out,
                "<th><code>{}</code><br/><span class=\"muted\">{}median, P5 – P95</span></th>",
                breakable(&a.metric_names[m]),
                if unit.is_empty() { String::new() } else { format!("{}; ", escape(&unit)) }
            );
        }
        let _ = writeln!(out, "</tr></thead><tbody>");
        for (g, group) in a.study.groups.iter().enumerate() {
            let _ = write!(out, "<tr><td class=\"l\">{}</td>", escape(&a.study.setting_label(g)));
            for (p, v) in group.values.iter().enumerate() {
                let _ = write!(out, "<td class=\"l\">{}</td>", escape(&compact_value(a, p, v)));
            }
            for &m in chunk {
                out.push_str(&stat_cell(a, g, m));
            }
            let _ = writeln!(out, "</tr>");
        }
        let _ = writeln!(out, "</tbody></table></div>");
    }
}

fn metric_table(a: &Analysis, out: &mut String, metrics: &[usize]) {
    if a.study.groups.len() > MAX_GROUPS_IN_TABLE {
        settings_as_rows(a, out, metrics);
        return;
    }
    let groups: Vec<usize> = (0..a.study.groups.len()).collect();
    let _ = writeln!(out, "<div class=\"scroll\">");
    if groups.len() == 1 {
        let g = groups[0];
        let _ = writeln!(
            out,
            "<table><thead><tr><th class=\"l\">metric</th><th class=\"l\">unit</th><th>n</th><th>mean</th><th>{}% CI of mean</th><th>P5</th><th>median</th><th>P95</th></tr></thead><tbody>",
            display_number(a.options.confidence * 100.0)
        );
        for &m in metrics {
            let never = never_recovered(a, g, m).filter(|(k, _)| *k > 0);
            let Some(stat) = a.stats[g][m] else {
                if let Some((k, n)) = never {
                    let _ = writeln!(
                        out,
                        "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td>0</td><td colspan=\"5\" class=\"l\">none of the {n} runs recovered (<code>.recovered</code> = 0 in {k})</td></tr>",
                        escape(&a.metric_names[m]),
                        escape(&describe(&a.metric_names[m]).unit),
                    );
                }
                continue;
            };
            let s = stat.spread;
            let n = match never {
                Some((k, total)) => format!("{}<br/><span class=\"muted\">{k} of {total} never recovered</span>", s.n),
                None => s.n.to_string(),
            };
            let _ = writeln!(
                out,
                "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.metric_names[m]),
                escape(&describe(&a.metric_names[m]).unit),
                n,
                display_number(s.mean),
                display_number(stat.ci.low),
                display_number(stat.ci.high),
                display_number(s.percentiles[0]),
                display_number(s.median()),
                display_number(s.percentiles[4]),
            );
        }
        let _ = writeln!(out, "</tbody></table>\n</div>");
        return;
    }
    // A header row of the settings' short labels, then one per varied parameter with the
    // settings' compact values under it.
    let _ = write!(out, "<table><thead>");
    let mut header_rows: Vec<(String, Vec<String>)> =
        vec![("setting".into(), groups.iter().map(|&g| a.study.setting_label(g)).collect())];
    header_rows.extend(a.study.params.iter().enumerate().map(|(p, name)| {
        (
            name.clone(),
            groups
                .iter()
                .map(|&g| a.study.groups[g].values.get(p).map(|v| compact_value(a, p, v)).unwrap_or_default())
                .collect(),
        )
    }));
    for (name, values) in &header_rows {
        let _ = write!(out, "<tr><th class=\"l\" colspan=\"2\"><code>{}</code></th>", escape(name));
        for v in values {
            let _ = write!(out, "<th>{}</th>", escape(v));
        }
        let _ = write!(out, "</tr>");
    }
    let _ = writeln!(
        out,
        "<tr><th class=\"l\">metric</th><th class=\"l\">unit</th>{}</tr></thead><tbody>",
        "<th>median<br/>P5 – P95</th>".repeat(groups.len())
    );
    for &m in metrics {
        let _ = write!(
            out,
            "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td>",
            escape(&a.metric_names[m]),
            escape(&describe(&a.metric_names[m]).unit)
        );
        for &g in &groups {
            out.push_str(&stat_cell(a, g, m));
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody></table>\n</div>");
}

/// The headline metrics: key risk metrics in [`KEY_METRICS`] order, then the run summary
/// and the other computed metrics, folded.
pub fn headline_section(a: &Analysis, out: &mut String) {
    let of = |source: MetricSource, key: bool| -> Vec<usize> {
        (0..a.metric_names.len())
            .filter(|&m| {
                a.metric_sources[m] == source
                    && (source == MetricSource::Summary || is_key_metric(&a.metric_names[m]) == key)
            })
            .collect()
    };
    let key = key_metrics(a);
    let (other, summary) = (
        (0..a.metric_names.len())
            .filter(|&m| a.metric_sources[m] == MetricSource::Computed && !key.contains(&m))
            .collect::<Vec<usize>>(),
        of(MetricSource::Summary, true),
    );
    let _ = writeln!(out, "<section id=\"headline\">\n<h2>Headline metrics</h2>");
    let _ = writeln!(
        out,
        "<p>{}</p>",
        if a.study.groups.len() > 1 {
            "Each cell: the median over the seeds of a setting, and below it P5 – P95 (90% of the runs lie between). Means with bootstrap confidence intervals are in <code>metrics.csv</code>."
        } else {
            "Over the seeds: the mean with its bootstrap confidence interval, and the P5, median and P95 of the runs. With one run every column is that run's value."
        }
    );
    let _ = writeln!(out, "<h3>Key risk metrics</h3>");
    if key.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">None could be computed from these runs' columns: the Notes section says which columns each needs.</p>"
        );
    } else {
        metric_table(a, out, &key);
    }
    if !summary.is_empty() {
        let _ = writeln!(
            out,
            "<details{}><summary><b>Run summary</b>: the {} scalars of each run's <code>summary.json</code>{}</summary>",
            if summary.len() <= 16 { " open=\"open\"" } else { "" },
            summary.len(),
            if a.study.kind == StudyKind::Sweep { ", as in the sweep's <code>summary.csv</code>" } else { "" }
        );
        metric_table(a, out, &summary);
        let _ = writeln!(out, "</details>");
    }
    if !other.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary><b>Other computed metrics</b> ({}): halving blocks and windows, means, event counts, per-entity medians</summary>",
            other.len()
        );
        metric_table(a, out, &other);
        let _ = writeln!(out, "</details>");
    }
    let _ = writeln!(out, "</section>");
}

/// Most run ids listed per flag (all are in `runs.csv`).
const MAX_FLAGGED_LISTED: usize = 12;

/// The plausibility flags ([`crate::flags`]): how many runs raise each, which ones, and why
/// it matters; nothing when no run has a flag's figures.
pub fn plausibility_section(a: &Analysis, out: &mut String) {
    use crate::flags::{FLAG_CONSERVATION, FLAG_PRICE_BAND, FLAG_SELL_OVER_DEPTH};
    let (low, high) = a.options.flags.price_band_usd;
    let explain = |flag: &str| {
        match flag {
        FLAG_PRICE_BAND => format!(
            "TAO/USD left the plausible band {} – {} USD (the real market's 2024–2026 range, $182–$714, widened; set it with <code>--price-band</code>): read these runs' figures as a model out of its calibrated range, not a forecast",
            display_number(low),
            display_number(high)
        ),
        FLAG_SELL_OVER_DEPTH => format!(
            "a day's selling exceeded {} x the book's depth (<code>sell_pressure_over_depth.peak_per_day</code>; <code>--max-sell-over-depth</code>): the price then depends on how the venue refills its book",
            display_number(a.options.flags.max_sell_over_depth)
        ),
        FLAG_CONSERVATION => "issuance is not conserved in <code>summary.json</code> (initial + minted − recycled ≠ final, or free + staked ≠ final): a model error; do not use these runs".to_string(),
        _ => String::new(),
    }
    };
    let mut rows = String::new();
    for flag in [FLAG_PRICE_BAND, FLAG_SELL_OVER_DEPTH, FLAG_CONSERVATION] {
        let Some(m) = a.metric_index(flag) else { continue };
        let measured: Vec<(&str, f64)> = a
            .study
            .runs
            .iter()
            .zip(&a.values)
            .filter(|(_, v)| v[m].is_finite())
            .map(|(r, v)| (r.id.as_str(), v[m]))
            .collect();
        let flagged: Vec<&str> = measured.iter().filter(|(_, v)| *v > 0.0).map(|(id, _)| *id).collect();
        let mut listed: Vec<String> =
            flagged.iter().take(MAX_FLAGGED_LISTED).map(|id| format!("<code>{}</code>", escape(id))).collect();
        if flagged.len() > MAX_FLAGGED_LISTED {
            listed.push(format!("and {} more", flagged.len() - MAX_FLAGGED_LISTED));
        }
        let _ = writeln!(
            rows,
            "<tr{}><td class=\"l\"><code>{flag}</code></td><td>{} of {}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            if flagged.is_empty() { "" } else { " class=\"up\"" },
            flagged.len(),
            measured.len(),
            explain(flag),
            listed.join(", ")
        );
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"plausibility\">\n<h2>Plausibility</h2>\n<p>Runs whose figures should not be taken at face value; each flag is a 0/1 column of <code>runs.csv</code>.</p>\n<div class=\"scroll\"><table><thead><tr><th class=\"l\">flag</th><th>runs flagged</th><th class=\"l\">meaning</th><th class=\"l\">runs</th></tr></thead><tbody>\n{rows}</tbody></table></div>\n</section>"
    );
}

/// Most settings given a loss histogram each (all are in `runs.csv`).
const MAX_HISTOGRAMS: usize = 6;

/// The risk summary, measured from the event: what it cost in USD (TAO's market cap) and in
/// income (miners' profit, validators' dividends before and after), the spread of the loss
/// across seeds, and each subnet's alpha drawdown. Nothing when no run had an event.
pub fn risk_summary_section(a: &Analysis, out: &mut String) {
    let Some(loss) = a.metric_index("tao_market_cap_usd.event.max_loss_usd") else { return };
    let mut money: Vec<usize> = ["tao_market_cap_usd.event.before_usd", "tao_market_cap_usd.event.max_loss_usd"]
        .iter()
        .filter_map(|n| a.metric_index(n))
        .collect();
    let event_day = a.metric_index("event.day").and_then(|m| a.stats.first()?.get(m).copied().flatten());
    money.extend((0..a.metric_names.len()).filter(|&m| {
        a.metric_names[m].ends_with(".event.before_7d") || a.metric_names[m].ends_with(".event.after_7d")
    }));
    let _ = writeln!(out, "<section id=\"risk-summary\">\n<h2>Risk summary</h2>");
    let _ = writeln!(
        out,
        "<p>Measured from the event (the first scripted shock, attack or halt of emission, else halving, after the burn-in{}): TAO's market cap (total issuance x TAO/USD) at the last sample before it and its largest fall after it, in USD; incomes as their mean over the {} days before the event and the {} days from it.</p>",
        event_day
            .map_or_else(String::new, |s| format!("; day {} in the median run", display_number(s.spread.median()))),
        crate::metrics::INCOME_WINDOW_DAYS,
        crate::metrics::INCOME_WINDOW_DAYS
    );
    metric_table(a, out, &money);
    let _ = writeln!(out, "<h3>TAO market-cap loss across seeds</h3>\n<div class=\"charts\">");
    for g in 0..a.study.groups.len().min(MAX_HISTOGRAMS) {
        let values: Vec<f64> = a.group_values(g, loss).into_iter().map(|(_, v)| v).collect();
        if values.is_empty() {
            continue;
        }
        let text = crate::svg::ChartText {
            title: "Market-cap loss from the event".into(),
            subtitle: format!("{}: {} runs", a.study.setting_label(g), values.len()),
            x_label: "USD".into(),
            y_label: "runs".into(),
        };
        let chart = crate::svg::histogram(&text, &values, crate::svg::color(g));
        crate::report::figure(out, &chart, &format!("Setting {}.", escape(&crate::report::short_label(a, g))));
    }
    let _ = writeln!(out, "</div>");
    if a.study.groups.len() > MAX_HISTOGRAMS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Histograms of the first {MAX_HISTOGRAMS} of {} settings; every run's loss is in <code>runs.csv</code> (<code>tao_market_cap_usd.event.max_loss_usd</code>).</p>",
            a.study.groups.len()
        );
    }
    // Each subnet's alpha drawdown from the event, by its id.
    let per_entity: Vec<usize> = (0..a.metric_names.len())
        .filter(|&m| {
            let n = &a.metric_names[m];
            n.contains(".event.max_drawdown_fraction.") && !n.ends_with(".worst") && !n.ends_with(".median")
        })
        .collect();
    if !per_entity.is_empty() {
        let _ = writeln!(out, "<h3>Alpha drawdown from the event, by subnet</h3>");
        metric_table(a, out, &per_entity);
    }
    let _ = writeln!(out, "</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_metric_headers_can_wrap() {
        assert_eq!(breakable("tao_price_usd.event"), "tao_<wbr/>price_<wbr/>usd.<wbr/>event");
        assert_eq!(breakable("a<b"), "a&lt;b", "escaped first");
    }

    #[test]
    fn event_figures_rank_before_whole_run_ones_and_mechanisms() {
        let rank = |n: &str| key_rank(n).unwrap_or(usize::MAX);
        assert!(rank("tao_price_usd.event.max_drawdown_fraction") < rank("tao_price_usd.max_drawdown_fraction"));
        assert!(rank("tao_price_usd.max_drawdown_fraction") < rank("sell_pressure_over_depth.peak_per_day"));
        assert!(rank("sell_pressure_over_depth.peak_per_day") < rank("halving1.miner_exit_30d_fraction"));
        assert_eq!(key_rank("sell_pressure_over_depth.peak_day"), None, "a timing is not a risk figure");
        assert_eq!(key_rank("subnets.price_tao.event.max_drawdown_fraction.netuid_3"), None);
    }
}
