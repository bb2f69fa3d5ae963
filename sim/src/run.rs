//! One run, from a resolved scenario to a finished run folder; and replay of a run folder.
//!
//! A run folder holds `timeseries.csv`, `subnets.csv`, `events.csv`, `summary.json`, `scenario.toml` (the
//! resolved scenario, runnable as it is) and `manifest.json` (resolved scenario, seed,
//! version, the build, calibration profile, SHA-256 of every other file). Every output is a
//! pure function of the resolved scenario: no wall-clock time, host name or thread count is
//! written, so the same scenario gives the same bytes on any machine and any thread count.
//! The one exception is the manifest's `build` entry, which names the binary that wrote the
//! run (its digest, commit, compiler and target) on purpose.

use crate::calibration::UsedProfile;
use crate::chain::{ChainState, Rao};
use crate::economy::participants::Participants;
use crate::engine::{Block, Simulation, StopReason};
use crate::error::{Error, Result};
use crate::network::{HalvingRecord, Network, Recorder, tao_decimal};
use crate::output::{MANIFEST_FORMAT, Manifest, RunDir, file_digest, read_manifest};
use crate::scenario::Scenario;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a run's folder goes.
#[derive(Clone, Debug)]
pub enum OutTarget {
    /// Exactly this folder; replaced only with `force`.
    Exact {
        /// The run folder.
        path: PathBuf,
        /// Replace an existing folder.
        force: bool,
    },
    /// A new folder under `root` named `<scenario>-seed<seed>` (with `-2`, `-3`... if taken).
    Auto {
        /// The parent folder (`runs/` by default).
        root: PathBuf,
    },
}

/// A progress callback: (blocks done, blocks in the run).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// The headline results of a run, written to `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// Blocks simulated.
    pub blocks: u64,
    /// Engine events handled.
    pub events_handled: u64,
    /// Rows in `timeseries.csv`.
    pub samples: u64,
    /// Rows in `events.csv`.
    pub events_logged: u64,
    /// Total issuance at the start, in TAO (exact decimal).
    pub initial_issuance_tao: String,
    /// Total issuance at the end, in TAO (exact decimal).
    pub final_issuance_tao: String,
    /// Block emission at the end, in TAO (exact decimal).
    pub final_block_emission_tao: String,
    /// TAO minted during the run (exact decimal).
    pub minted_tao: String,
    /// TAO recycled during the run (exact decimal).
    pub recycled_tao: String,
    /// Every halving seen.
    pub halvings: Vec<HalvingRecord>,
    /// Rows in `subnets.csv`.
    pub subnet_rows: u64,
    /// Subnets at the end (root excluded).
    pub subnets: usize,
    /// Epochs paid.
    pub epochs: u64,
    /// The epoch implementation used.
    pub epoch_payout: String,
    /// Free TAO at the end (exact decimal).
    pub final_free_tao: String,
    /// TAO in subnet pools and on root at the end (exact decimal).
    pub final_staked_tao: String,
    /// Swap fees paid to block authors over the run (exact decimal).
    pub author_fees_tao: String,
    /// The decentralised-training subnet's figures, when the scenario has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<crate::training::TrainingSummary>,
    /// The participants' figures, when the scenario has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<crate::economy::participants::ParticipantsSummary>,
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The run folder.
    pub dir: PathBuf,
    /// Its headline results.
    pub summary: Summary,
}

/// Simulates `scenario`, streaming the timeseries and events to the given writers.
///
/// This is the whole model run without any file handling; [`run`] and the benchmarks use it.
pub fn simulate<W: Write>(
    scenario: &Scenario,
    timeseries: W,
    events: W,
    subnets: W,
    progress: Option<Progress<'_>>,
) -> Result<(Summary, W, W, W)> {
    let profile = UsedProfile::for_scenario(scenario)?;
    simulate_with_profile(scenario, &profile.profile, timeseries, events, subnets, progress)
}

/// As [`simulate`], with the GPU speeds of `profile` (a replay passes the recorded one).
pub fn simulate_with_profile<W: Write>(
    scenario: &Scenario,
    profile: &kernels::profile::Profile,
    timeseries: W,
    events: W,
    subnets: W,
    progress: Option<Progress<'_>>,
) -> Result<(Summary, W, W, W)> {
    let horizon = Block(scenario.horizon_blocks());
    let (chain, participants) = start(scenario, profile)?;
    let columns = participants.as_ref().map(Participants::columns).unwrap_or_default();
    let recorder = Recorder::with_columns(timeseries, events, subnets, &columns);
    let network = Network::with_participants(chain, horizon, scenario.run.sample_every_blocks, recorder, participants);
    let mut sim = Simulation::new(network);
    sim.model.start(&mut sim.scheduler);
    let chunk = (horizon.0 / 200).max(1_000);
    let mut progress = progress;
    let mut done = 0u64;
    loop {
        done = done.saturating_add(chunk).min(horizon.0);
        let reason = sim.run_until(Block(done).start());
        if let Some(p) = progress.as_mut() {
            p(done.min(sim.model.chain.block.0), horizon.0);
        }
        if reason != StopReason::Horizon || done >= horizon.0 {
            break;
        }
    }
    if let Some(failure) = sim.model.failure.take() {
        return Err(failure);
    }
    let events_handled = sim.events_handled();
    let Network { chain, recorder, halvings, epochs, participants, .. } = sim.model;
    let (samples, events_logged, subnet_rows) = (recorder.samples, recorder.events_logged, recorder.subnet_rows);
    let (ts, ev, sn) = recorder
        .finish()
        .map_err(|message| Error::Write { path: "timeseries.csv / events.csv / subnets.csv".into(), message })?;
    let tao128 = |v: u128| tao_decimal(Rao(u64::try_from(v).unwrap_or(u64::MAX)));
    let summary = Summary {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        blocks: chain.block.0,
        events_handled,
        samples,
        events_logged,
        initial_issuance_tao: tao_decimal(chain.initial_issuance),
        final_issuance_tao: tao_decimal(chain.total_issuance),
        final_block_emission_tao: tao_decimal(chain.block_emission),
        minted_tao: tao_decimal(chain.minted),
        recycled_tao: tao_decimal(chain.recycled),
        halvings,
        subnet_rows,
        subnets: chain.subnet_count(),
        epochs,
        epoch_payout: chain.payout.name().to_string(),
        final_free_tao: tao128(chain.free_total()),
        final_staked_tao: tao128(chain.staked_tao_total()),
        author_fees_tao: tao_decimal(chain.balance(crate::chain::state::AUTHOR)),
        training: None,
        participants: participants.as_ref().map(Participants::summary),
    };
    Ok((summary, ts, ev, sn))
}

/// The run's starting state: the chain at genesis and, when the scenario has them, the
/// participants (holders funded, miners and validators registered).
fn start(scenario: &Scenario, profile: &kernels::profile::Profile) -> Result<(ChainState, Option<Participants>)> {
    let mut chain: ChainState = crate::chain::genesis::build(&scenario.genesis())
        .map_err(|e| Error::Invariant { block: 0, message: format!("cannot build the starting state: {e}") })?;
    chain.set_payout(scenario.chain.consensus.payout());
    let participants = if scenario.participants.enabled {
        let mut p = Participants::new(
            &scenario.participants,
            &scenario.market,
            &scenario.events,
            scenario.run.start_date.clone(),
            scenario.seed,
            profile,
            &mut chain,
        )?;
        p.governance = crate::governance::GovernanceState::new(
            scenario.governance.clone().unwrap_or_default(),
            scenario.attacker.clone().unwrap_or_default(),
        );
        p.governance.priced_consensus = scenario.attacker.is_some();
        Some(p)
    } else {
        None
    };
    Ok((chain, participants))
}

/// Everything `run` checks before simulating a block: the calibration profile loads and the
/// starting state builds (holders can be funded, ...). `taosim check` uses it, so what `check`
/// accepts `run` starts.
pub fn preflight(scenario: &Scenario) -> Result<()> {
    let profile = UsedProfile::for_scenario(scenario)?;
    start(scenario, &profile.profile).map(|_| ())
}

/// The scenario's events that fall after the horizon, as `events[i] (kind at block B)`:
/// valid, but they never happen in this run, which a user should be told. (An event at the
/// horizon block itself still happens: the run's last block is the horizon.)
pub fn events_after_horizon(scenario: &Scenario) -> Vec<String> {
    let horizon = scenario.horizon_blocks();
    let start_date = scenario.run.start_date.as_deref();
    scenario
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let block = e.at.block(start_date).ok()?;
            let kind = serde_json::to_value(e.kind).ok()?.as_str()?.to_string();
            (block > horizon).then(|| format!("events[{i}] ({kind} at block {block})"))
        })
        .collect()
}

/// Writes every output of `scenario` except the manifest into `dir`.
fn produce(
    scenario: &Scenario,
    profile: &UsedProfile,
    dir: &mut RunDir,
    progress: Option<Progress<'_>>,
) -> Result<Summary> {
    let ts = dir.open("timeseries.csv")?;
    let ev = dir.open("events.csv")?;
    let sn = dir.open("subnets.csv")?;
    let (mut summary, ts, ev, sn) = simulate_with_profile(scenario, &profile.profile, ts, ev, sn, progress)?;
    dir.close(ts)?;
    dir.close(ev)?;
    dir.close(sn)?;
    if let Some(training) = &scenario.training {
        let report = crate::training::simulate_training(training, scenario.seed, &profile.profile)
            .map_err(|e| Error::Write { path: "training".into(), message: e.to_string() })?;
        let mut rounds = dir.open("training_rounds.csv")?;
        let mut peers = dir.open("training_peers.csv")?;
        crate::training::report::write_csv(&report, &mut rounds, &mut peers)
            .map_err(|message| Error::Write { path: "training_rounds.csv".into(), message })?;
        dir.close(rounds)?;
        dir.close(peers)?;
        summary.training = Some(report.summary);
    }
    let mut json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| Error::Write { path: "summary.json".into(), message: e.to_string() })?;
    json.push(b'\n');
    dir.write("summary.json", &json)?;
    dir.write("scenario.toml", scenario.to_toml().as_bytes())?;
    Ok(summary)
}

fn manifest_for(scenario: &Scenario, profile: &UsedProfile) -> Result<Manifest> {
    Ok(Manifest {
        format: MANIFEST_FORMAT.into(),
        taosim_version: crate::VERSION.into(),
        seed: scenario.seed,
        scenario: serde_json::to_value(scenario)
            .map_err(|e| Error::Write { path: "manifest.json".into(), message: e.to_string() })?,
        build: crate::output::build_info(),
        calibration_profile: Some(profile.manifest_entry()),
        outputs: BTreeMap::new(),
    })
}

/// Runs a validated scenario into a run folder.
pub fn run(scenario: &Scenario, out: &OutTarget, progress: Option<Progress<'_>>) -> Result<RunReport> {
    // The profile before the folder: a missing profile leaves no `runs/` behind.
    let profile = UsedProfile::for_scenario(scenario)?;
    let mut dir = match out {
        OutTarget::Exact { path, force } => RunDir::create(path, *force)?,
        OutTarget::Auto { root } => RunDir::create_unique(root, &format!("{}-seed{}", scenario.name, scenario.seed))?,
    };
    let summary = produce(scenario, &profile, &mut dir, progress)?;
    let dir = dir.commit(manifest_for(scenario, &profile)?)?;
    Ok(RunReport { dir, summary })
}

/// How one output file of a replayed run compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheck {
    /// The file's name.
    pub name: String,
    /// The digest in the manifest.
    pub recorded: String,
    /// The digest of the file now in the folder (`None` if missing).
    pub on_disk: Option<String>,
    /// The digest the re-run produced (`None` if it produced no such file).
    pub replayed: Option<String>,
}

impl FileCheck {
    /// Whether the folder's file and the re-run both match the manifest.
    pub fn matches(&self) -> bool {
        self.on_disk.as_deref() == Some(&self.recorded) && self.replayed.as_deref() == Some(&self.recorded)
    }
}

/// Checks a manifest against its own digests before anything is re-run: the recorded scenario
/// must give the `scenario.toml` digest the manifest lists, its seed must be the manifest's,
/// and the recorded calibration profile must give its recorded SHA-256. A manifest edited by
/// hand (a horizon of 100 years, another seed) is refused rather than re-run for hours.
fn check_manifest_integrity(
    manifest: &Manifest,
    manifest_path: &Path,
    scenario: &Scenario,
    profile: &UsedProfile,
) -> Result<()> {
    let refuse = |message: String| Error::Manifest { path: manifest_path.to_path_buf(), message };
    let Some(recorded) = manifest.outputs.get("scenario.toml") else {
        return Err(refuse("lists no scenario.toml digest: not a complete run manifest".into()));
    };
    let actual = hex::encode(Sha256::digest(scenario.to_toml().as_bytes()));
    if *recorded != actual {
        return Err(refuse(format!(
            "its scenario does not match the scenario.toml digest it records ({} vs {}): the manifest was edited; not re-running it",
            short(recorded),
            short(&actual)
        )));
    }
    if manifest.seed != scenario.seed {
        return Err(refuse(format!(
            "seed {} does not match its scenario's seed {}: the manifest was edited; not re-running it",
            manifest.seed, scenario.seed
        )));
    }
    let recorded_profile = manifest.calibration_profile.as_ref().and_then(|p| p.get("sha256")).and_then(|v| v.as_str());
    if let Some(recorded) = recorded_profile
        && recorded != profile.sha256()
    {
        return Err(refuse(format!(
            "calibration_profile.toml does not match its recorded sha256 ({} vs {}): the manifest was edited; not re-running it",
            short(recorded),
            short(&profile.sha256())
        )));
    }
    Ok(())
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Re-runs a run folder from its manifest and compares every digest. The manifest is first
/// checked against its own digests (see `check_manifest_integrity`).
pub fn replay(run_dir: &Path, progress: Option<Progress<'_>>) -> Result<Vec<FileCheck>> {
    let manifest = read_manifest(run_dir)?;
    let manifest_path = run_dir.join(crate::output::MANIFEST);
    let scenario: Scenario = serde_json::from_value(manifest.scenario.clone()).map_err(|e| Error::Manifest {
        path: manifest_path.clone(),
        message: format!("the recorded scenario is not valid: {e}"),
    })?;
    scenario.validate("manifest.json").map_err(|errors| Error::Manifest {
        path: manifest_path.clone(),
        message: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
    })?;
    let profile = UsedProfile::from_manifest(manifest.calibration_profile.as_ref())?;
    check_manifest_integrity(&manifest, &manifest_path, &scenario, &profile)?;
    let scratch = std::env::temp_dir().join(format!("taosim-replay-{}", std::process::id()));
    let mut dir = RunDir::create(&scratch, true)?;
    produce(&scenario, &profile, &mut dir, progress)?;
    let replayed = dir.digests().clone();
    drop(dir);
    let mut names: Vec<&String> = manifest.outputs.keys().collect();
    for extra in replayed.keys() {
        if !manifest.outputs.contains_key(extra) {
            names.push(extra);
        }
    }
    Ok(names
        .into_iter()
        .map(|name| FileCheck {
            name: name.clone(),
            recorded: manifest.outputs.get(name).cloned().unwrap_or_default(),
            on_disk: file_digest(&run_dir.join(name)).ok(),
            replayed: replayed.get(name).cloned(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Source, load};

    type Outputs = (Summary, Vec<u8>, Vec<u8>, Vec<u8>);

    fn run_in_memory(scenario: &Scenario) -> Outputs {
        match simulate(scenario, Vec::new(), Vec::new(), Vec::new(), None) {
            Ok(out) => out,
            Err(e) => panic!("{}: {e}", scenario.name),
        }
    }

    /// The shipped scenario files (`scenarios/*.toml`), sorted.
    fn shipped_scenarios() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("scenarios folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        paths
    }

    /// Every shipped scenario loads, runs a short horizon with conservation checked at every
    /// sample, and gives the same bytes twice.
    #[test]
    fn every_shipped_scenario_runs_conserved_and_deterministic() {
        let paths = shipped_scenarios();
        assert!(paths.len() >= 2, "default.toml and subnets-64.toml at least");
        for path in paths {
            let overrides = ["run.horizon=800".to_string(), "run.sample_every_blocks=100".to_string()];
            let scenario = load(Source::File(&path), &overrides).expect("valid scenario");
            let (summary, ts, ev, sn) = run_in_memory(&scenario);
            assert_eq!(summary.blocks, 800, "{}", path.display());
            assert!(summary.epochs > 0, "{}: epochs ran", path.display());
            assert_eq!(summary.subnet_rows, 9 * summary.subnets as u64, "{}", path.display());
            let again = run_in_memory(&scenario);
            assert!(ts == again.1 && ev == again.2 && sn == again.3, "{}: not deterministic", path.display());
        }
    }

    /// Every shipped scenario with a market keeps TAO/USD positive and within 0.05x - 10x of
    /// its start over its whole horizon (daily samples). mainnet-like and subnets-64 are too
    /// large for a debug test (mainnet-like's prices are checked by `taosim validate`).
    #[test]
    fn every_shipped_market_stays_within_a_plausible_range_of_its_start() {
        let paths = shipped_scenarios();
        let mut checked = 0;
        for path in paths {
            let overrides = ["run.sample_every_blocks=7200".to_string()];
            let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if name == "mainnet-like" || name == "subnets-64" {
                // Too large for a debug test (20 days of mainnet-like take minutes);
                // mainnet-like's prices are checked by `taosim validate`.
                continue;
            }
            if name == "governance-collectives-seat-capture" || name == "governance-conviction-takeover" {
                // 62 and 120 days take a minute each in a debug build; tests/governance_cli.rs
                // runs the takeover's attack, the governance-models sweep test the other.
                continue;
            }
            let scenario = load(Source::File(&path), &overrides).expect("valid scenario");
            let (_, ts, _, _) = run_in_memory(&scenario);
            let text = String::from_utf8(ts).expect("utf8");
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
            let Some(col) = header.iter().position(|h| *h == "tao_price_usd") else { continue };
            let prices: Vec<f64> = lines.filter_map(|l| l.split(',').nth(col).and_then(|v| v.parse().ok())).collect();
            let start = prices.first().copied().unwrap_or(0.0);
            assert!(prices.len() >= 2 && start > 0.0, "{name}: {} prices", prices.len());
            for p in &prices {
                assert!(p.is_finite() && *p > 0.0, "{name}: price {p}");
                assert!((0.05..=10.0).contains(&(p / start)), "{name}: {p} against a start of {start}");
            }
            checked += 1;
        }
        assert!(checked >= 7, "scenarios with a market checked: {checked}");
    }

    /// The default run shows the second halving where issuance crosses 15.75M TAO: block
    /// 100,002 (100,000 blocks of 0.5 TAO, delayed two blocks by the rao of rounding the
    /// coinbase recycles, which lower issuance).
    #[test]
    fn the_default_run_shows_the_second_halving() {
        let scenario =
            load(Source::BuiltIn, &["run.horizon=100010".to_string(), "run.sample_every_blocks=5000".to_string()])
                .expect("valid");
        let (summary, _, events, _) = run_in_memory(&scenario);
        assert_eq!(summary.halvings.len(), 1);
        let h = summary.halvings[0];
        assert_eq!(
            (h.block, h.halvings, h.emission_before_rao, h.emission_after_rao),
            (100_002, 2, 500_000_000, 250_000_000)
        );
        assert!(h.issuance_rao >= 15_750_000_000_000_000);
        assert!(String::from_utf8_lossy(&events).contains("halving 2 at issuance 15750000."));
        // Recycling is rounding only: well under a TAO over 100,000 blocks.
        assert!(summary.recycled_tao.starts_with("0."), "{}", summary.recycled_tao);
    }

    #[test]
    fn the_share_rule_and_pool_design_change_the_outputs_and_stay_conserved() {
        let flow = load(Source::BuiltIn, &["run.horizon=800".into(), "chain.emission_share.rule=\"taoflow\"".into()])
            .expect("valid");
        let price = load(Source::BuiltIn, &["run.horizon=800".into()]).expect("valid");
        let cp = load(Source::BuiltIn, &["run.horizon=800".into(), "chain.pool.design=\"constant_product\"".into()])
            .expect("valid");
        let (a, b, c) = (run_in_memory(&flow), run_in_memory(&price), run_in_memory(&cp));
        assert_ne!(a.3, b.3, "the share rule shows in subnets.csv");
        assert_ne!(b.3, c.3, "the pool design shows in subnets.csv");
    }
}
