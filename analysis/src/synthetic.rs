//! Synthetic run and sweep folders, in the formats this crate reads, with the columns later
//! models will write (TAO/USD price, depth, sell pressure, active miners, GPUs online by type,
//! attacker shares, stake concentration, a per-subnet table).
//!
//! This is **not** a model of the network: it is a small seeded toy (a price random walk with
//! sell-pressure impact against a finite depth, miners who leave when unprofitable, a halving
//! and a liquidity shock) whose only purpose is to exercise the analysis on realistic shapes
//! of data: in tests, in the benchmark and in the README's picture of a report. Folders it
//! writes say so in their manifest (`scenario.name = "synthetic"`); their manifests carry no
//! digests. It also writes a sweep's index (`summary.csv`, `manifest.json`) over run folders
//! made by anything, e.g. by `sim::run::run`.

use crate::concentration::{gini, nakamoto_coefficient};
use crate::error::{Error, Result};
use crate::folder::{SUMMARY, flatten_json, read_json};
use crate::format::csv_number;
use crate::risk::BLOCKS_PER_DAY;
use sim::label;
use sim::rng::{standard_normal, stream, unit_f64};
use std::path::Path;

/// What a synthetic run looks like.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Length in days.
    pub days: u64,
    /// Sampling interval of `timeseries.csv`, in blocks.
    pub sample_every_blocks: u64,
    /// Subnets in `subnets.csv` (0: no such file).
    pub subnets: usize,
    /// Sampling interval of `subnets.csv`, in blocks.
    pub subnet_sample_every_blocks: u64,
    /// Miners at the start.
    pub miners: u32,
    /// Exchange depth in USD.
    pub depth_usd: f64,
    /// Share of miners' TAO sold each day.
    pub sell_fraction: f64,
    /// Day of the halving, if any.
    pub halving_day: Option<f64>,
    /// A liquidity shock: (first day, length in days, depth multiplier).
    pub shock: Option<(f64, f64, f64)>,
    /// Attackers' share of stake from `attack_day` (0: attacker columns stay 0).
    pub attacker_stake_share: f64,
    /// The day the attack starts.
    pub attack_day: f64,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            days: 30,
            sample_every_blocks: 100,
            subnets: 32,
            subnet_sample_every_blocks: 600,
            miners: 1_000,
            depth_usd: 5e6,
            sell_fraction: 0.5,
            halving_day: Some(10.0),
            shock: Some((20.0, 4.0, 0.3)),
            attacker_stake_share: 0.1,
            attack_day: 12.0,
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, "cannot write", e)
}

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(path)
        .map_err(|e| Error::format(path, e.to_string()))?;
    w.write_record(header).map_err(|e| Error::format(path, e.to_string()))?;
    for row in rows {
        w.write_record(row).map_err(|e| Error::format(path, e.to_string()))?;
    }
    w.flush().map_err(|e| io(path, e))
}

/// Writes one synthetic run folder at `dir` (created; replaced files inside).
pub fn write_run(dir: &Path, spec: &Spec, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut rng = stream(seed, &label!["synthetic", "market"]);
    let blocks = spec.days * BLOCKS_PER_DAY;
    let step = spec.sample_every_blocks.max(1);
    let dt = step as f64 / BLOCKS_PER_DAY as f64;
    let halving_block = spec.halving_day.map(|d| (d * BLOCKS_PER_DAY as f64) as u64);
    let (mut price, mut miners) = (400.0f64, f64::from(spec.miners));
    // Costs are 70% of the revenue at the start: the halving pushes most miners into losses.
    let cost_usd_per_miner_day = 3_600.0 * 0.41 * 400.0 / f64::from(spec.miners.max(1)) * 0.7;
    // Buyers absorb the starting sell pressure at the normal depth (a constant drift).
    let demand = 0.6 * 3_600.0 * 0.41 * spec.sell_fraction * 400.0 / spec.depth_usd;
    let mut stakes: Vec<f64> = (0..64).map(|_| libm_exp(1.2 * standard_normal(&mut rng))).collect();
    let mut rows = Vec::new();
    let mut events: Vec<Vec<String>> = Vec::new();
    let mut exited = 0u64;
    let mut block = 0u64;
    while block <= blocks {
        let halved = halving_block.is_some_and(|h| block >= h);
        let emission_tao_per_day = if halved { 1_800.0 } else { 3_600.0 };
        let day = block as f64 / BLOCKS_PER_DAY as f64;
        let shocked = spec.shock.is_some_and(|(start, length, _)| day >= start && day < start + length);
        let depth = spec.depth_usd * if shocked { spec.shock.map_or(1.0, |s| s.2) } else { 1.0 };
        let revenue = emission_tao_per_day * 0.41 * price / miners.max(1.0);
        let loss = ((cost_usd_per_miner_day - revenue) / cost_usd_per_miner_day).max(0.0);
        let sell_tao_per_day = emission_tao_per_day * 0.41 * (spec.sell_fraction + 0.4 * loss).min(1.0);
        let sell_usd_per_day = sell_tao_per_day * price;
        let attacking = spec.attacker_stake_share > 0.0 && day >= spec.attack_day;
        let stake_share = if attacking { spec.attacker_stake_share } else { 0.0 };
        let emission_share =
            if attacking { (stake_share * (1.6 + 0.15 * standard_normal(&mut rng))).clamp(0.0, 1.0) } else { 0.0 };
        rows.push(vec![
            block.to_string(),
            csv_number(day),
            csv_number(price),
            csv_number(depth),
            csv_number(sell_tao_per_day),
            csv_number(sell_usd_per_day),
            csv_number(miners.round()),
            csv_number((miners * 6.0).round()),
            csv_number((miners * 2.0).round()),
            csv_number(emission_share),
            csv_number(stake_share),
            csv_number(if attacking {
                2e6 * spec.attacker_stake_share * (1.0 + (day - spec.attack_day) * 0.01)
            } else {
                0.0
            }),
            csv_number(nakamoto_coefficient(&stakes, 0.5).unwrap_or(0) as f64),
            csv_number(gini(&stakes).unwrap_or(0.0)),
        ]);
        if block == blocks {
            break;
        }
        // Step to the next sample.
        let next = (block + step).min(blocks);
        if let Some(h) = halving_block
            && block < h
            && h <= next
        {
            events.push(vec![h.to_string(), "halving".into(), "tao".into(), "0.25".into(), "synthetic halving".into()]);
        }
        let exits = miners * (0.001 + 0.03 * loss) * dt + unit_f64(&mut rng) - 0.5;
        let exits = exits.round().clamp(0.0, miners - 1.0);
        for i in 0..exits as u64 {
            let at = block + 1 + (i * (next - block)) / (exits as u64).max(1);
            events.push(vec![
                at.min(next).to_string(),
                // As the simulator writes it: kind `exit`, subject `miner <id>`.
                "exit".into(),
                format!("miner {}", exited + i),
                "1".into(),
                "left after losses".into(),
            ]);
        }
        exited += exits as u64;
        miners -= exits;
        let jump = if unit_f64(&mut rng) < 0.03 * dt { -0.12 * unit_f64(&mut rng) } else { 0.0 };
        let impact = 0.6 * sell_usd_per_day / depth - demand;
        price *= libm_exp(0.04 * dt.sqrt() * standard_normal(&mut rng) - impact * dt + jump);
        for s in &mut stakes {
            *s *= libm_exp(0.01 * dt.sqrt() * standard_normal(&mut rng));
        }
        block = next;
    }
    write_csv(
        &dir.join("timeseries.csv"),
        &[
            "block",
            "day",
            "tao_usd_price",
            "depth_usd",
            "sell_pressure_tao_per_day",
            "sell_pressure_usd_per_day",
            "active_miners",
            "gpus_online_h100",
            "gpus_online_a100",
            "attacker_emission_share",
            "attacker_stake_share",
            "attacker_cost_usd",
            "nakamoto_stake",
            "gini_stake",
        ],
        &rows,
    )?;
    events.sort_by_key(|e| e[0].parse::<u64>().unwrap_or(0));
    write_csv(&dir.join("events.csv"), &["block", "kind", "subject", "value", "detail"], &events)?;
    if spec.subnets > 0 {
        write_subnets(dir, spec, seed)?;
    }
    let final_price = rows.last().and_then(|r| r[2].parse::<f64>().ok()).unwrap_or(0.0);
    let summary = serde_json::json!({
        "scenario": "synthetic",
        "seed": seed,
        "blocks": blocks,
        "final_tao_usd_price": final_price,
        "miner_exits": exited,
        "final_active_miners": miners.round(),
    });
    let scenario = serde_json::json!({
        "name": "synthetic",
        "seed": seed,
        "run": {"horizon": blocks, "sample_every_blocks": step},
        "market": {"depth_usd": spec.depth_usd, "sell_fraction": spec.sell_fraction},
        "attack": {"stake_share": spec.attacker_stake_share},
        "subnets": {"count": spec.subnets},
    });
    let manifest = serde_json::json!({
        "format": sim::output::MANIFEST_FORMAT,
        "taosim_version": sim::VERSION,
        "seed": seed,
        "scenario": scenario,
        "calibration_profile": null,
        "outputs": {},
    });
    for (name, value) in [(SUMMARY, summary), (sim::output::MANIFEST, manifest)] {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(&value).map_err(|e| Error::format(&path, e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| io(&path, e))?;
    }
    Ok(())
}

fn libm_exp(x: f64) -> f64 {
    libm::exp(x)
}

fn write_subnets(dir: &Path, spec: &Spec, seed: u64) -> Result<()> {
    let mut rng = stream(seed, &label!["synthetic", "subnets"]);
    let n = spec.subnets;
    // Heavy-tailed weights: a few subnets take most of the emission.
    let mut weights: Vec<f64> = (0..n).map(|i| libm_exp(-0.08 * i as f64 + 0.5 * standard_normal(&mut rng))).collect();
    let mut prices: Vec<f64> = (0..n).map(|_| 0.02 + 0.05 * unit_f64(&mut rng)).collect();
    let mut stakes: Vec<f64> = weights.iter().map(|w| 1e5 * w).collect();
    let step = spec.subnet_sample_every_blocks.max(1);
    let dt = step as f64 / BLOCKS_PER_DAY as f64;
    let horizon = spec.days * BLOCKS_PER_DAY;
    let mut rows = Vec::new();
    let mut block = 0u64;
    loop {
        let total: f64 = weights.iter().sum();
        let emission =
            if spec.halving_day.is_some_and(|d| block as f64 >= d * BLOCKS_PER_DAY as f64) { 1_800.0 } else { 3_600.0 };
        for i in 0..n {
            rows.push(vec![
                block.to_string(),
                (i + 1).to_string(),
                csv_number(emission * weights[i] / total),
                csv_number(prices[i]),
                csv_number(stakes[i]),
            ]);
        }
        if block >= horizon {
            break;
        }
        for i in 0..n {
            weights[i] *= libm_exp(0.05 * dt.sqrt() * standard_normal(&mut rng));
            prices[i] *= libm_exp(0.06 * dt.sqrt() * standard_normal(&mut rng));
            stakes[i] += emission * weights[i] / total * dt * 0.18;
        }
        block = (block + step).min(horizon);
    }
    write_csv(&dir.join("subnets.csv"), &["block", "netuid", "emission_tao_per_day", "price_tao", "stake_tao"], &rows)
}

/// One row of a sweep's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepRow {
    /// The run's id (its folder is `runs/<run_id>`).
    pub run_id: String,
    /// The point (parameter setting) index.
    pub point: usize,
    /// The seed.
    pub seed: u64,
    /// The varied parameters' values.
    pub params: Vec<String>,
    /// The error of a failed run (no folder needed).
    pub error: Option<String>,
}

/// Writes a sweep's `summary.csv` (in the sweep layout: `run_id, point, seed, <params>,
/// status, error, <headline metrics>`) and `manifest.json` over run folders already in
/// `dir/runs/`. Metrics are the flattened scalars of each run's `summary.json`.
pub fn write_sweep_index(dir: &Path, name: &str, params: &[String], rows: &[SweepRow]) -> Result<()> {
    let mut metric_names: Vec<String> = Vec::new();
    let mut metrics: Vec<Vec<(String, f64)>> = Vec::new();
    for row in rows {
        let mut flat = Vec::new();
        if row.error.is_none() {
            let summary = read_json(&dir.join("runs").join(&row.run_id).join(SUMMARY))?;
            flatten_json(&summary, "", &mut flat);
            flat.retain(|(k, _)| k != "seed");
        }
        for (k, _) in &flat {
            if !metric_names.contains(k) {
                metric_names.push(k.clone());
            }
        }
        metrics.push(flat);
    }
    let mut header: Vec<&str> = vec!["run_id", "point", "seed"];
    header.extend(params.iter().map(String::as_str));
    header.extend(["status", "error"]);
    header.extend(metric_names.iter().map(String::as_str));
    let lines: Vec<Vec<String>> = rows
        .iter()
        .zip(&metrics)
        .map(|(row, flat)| {
            let mut line = vec![row.run_id.clone(), row.point.to_string(), row.seed.to_string()];
            line.extend(row.params.iter().cloned());
            line.push(if row.error.is_some() { "failed" } else { "ok" }.into());
            line.push(row.error.clone().unwrap_or_default());
            line.extend(
                metric_names
                    .iter()
                    .map(|m| flat.iter().find(|(k, _)| k == m).map(|(_, v)| csv_number(*v)).unwrap_or_default()),
            );
            line
        })
        .collect();
    write_csv(&dir.join(crate::study::SWEEP_SUMMARY), &header, &lines)?;
    let manifest = serde_json::json!({
        "format": "taosim-sweep/1",
        "name": name,
        "taosim_version": sim::VERSION,
        "params": params,
        "runs": rows.len(),
    });
    let path = dir.join(sim::output::MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::format(&path, e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| io(&path, e))
}

/// A synthetic sweep: every point (parameter values and spec) times every seed, with the
/// listed (point, seed) pairs recorded as failed.
pub fn write_sweep(
    dir: &Path,
    params: &[String],
    points: &[(Vec<String>, Spec)],
    seeds: &[u64],
    failed: &[(usize, u64)],
) -> Result<()> {
    let mut rows = Vec::new();
    for (p, (values, spec)) in points.iter().enumerate() {
        for &seed in seeds {
            let run_id = format!("p{p:03}-s{seed}");
            let error = failed.contains(&(p, seed)).then(|| "synthetic failure: bad parameter combination".to_string());
            if error.is_none() {
                write_run(&dir.join("runs").join(&run_id), spec, seed)?;
            }
            rows.push(SweepRow { run_id, point: p, seed, params: values.clone(), error });
        }
    }
    write_sweep_index(dir, "synthetic", params, &rows)
}
