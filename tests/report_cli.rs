//! `taosim report` and `taosim compare` as a user meets them: on run folders and a folder of
//! runs, with the files they promise, and a one-line error with exit code 2 on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn taosim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taosim")).args(args).current_dir(dir).output().expect("taosim runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn report_and_compare_runs_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    for (name, schedule) in [("halving", "halving"), ("smooth", "smooth")] {
        ok(&taosim(
            &[
                "run",
                "--quiet",
                "--horizon",
                "15d",
                "--set",
                &format!("chain.emission.schedule=\"{schedule}\""),
                "--out",
                &format!("runs/{name}"),
            ],
            dir,
        ));
    }
    let out = ok(&taosim(&["report", "--quiet", "runs/halving"], dir));
    for name in ["settings.csv", "bands.csv", "entity_bands.csv", "metrics.csv", "runs.csv", "report.html"] {
        assert!(out.contains(name), "{out}");
        assert!(dir.join("runs/halving").join(name).is_file(), "{name}");
    }
    let html = std::fs::read_to_string(dir.join("runs/halving/report.html")).expect("html");
    assert!(html.contains("taosim report: halving (run)"));

    // A folder of runs: the varied parameter is found from the manifests.
    ok(&taosim(&["report", "--quiet", "runs", "--out", "report"], dir));
    let metrics = std::fs::read_to_string(dir.join("report/metrics.csv")).expect("metrics");
    assert!(metrics.starts_with("setting,chain.emission.schedule,metric,"), "{metrics}");

    let table = ok(&taosim(&["compare", "--quiet", "runs/halving", "runs/smooth", "--out", "cmp"], dir));
    // Risk metrics first; the terminal shows the top rows, compare.csv every row.
    let first = table.lines().nth(2).expect("a first row");
    assert!(first.starts_with("tao_price_usd.max_drawdown_fraction "), "{table}");
    assert!(table.contains("more row(s) in compare.csv"), "{table}");
    let csv = std::fs::read_to_string(dir.join("cmp/compare.csv")).expect("compare.csv");
    assert!(csv.contains("final_issuance_tao"), "{csv}");
    // One run a side: no interval, nothing called moved.
    assert!(table.contains("n < 3") && table.contains("\n0 of "), "{table}");
    assert!(dir.join("cmp/compare.html").is_file() && dir.join("cmp/compare.csv").is_file());
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = taosim(&["report", "nowhere"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nowhere") && err.contains("not a taosim run or sweep folder"), "{err}");
    let o = taosim(&["report", ".", "--top-k", "0"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--top-k: 0 is out of range"));
}

/// A CSV file as a header and rows of cells, split on commas: enough for the leading
/// unquoted columns of events.csv (block, kind, subject) and a single run's runs.csv.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines().map(|l| l.split(',').map(str::to_string).collect::<Vec<String>>());
    let header = lines.next().expect("header");
    (header, lines.collect())
}

/// The halving's exit count and fraction come from the exits the simulator really writes
/// (kind `exit`, subject `miner N`): they were always 0 while analysis looked for `miner_exit`.
#[test]
fn halving_exits_count_the_simulators_miner_exits() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/halving.toml");
    ok(&taosim(&["run", scenario.to_str().expect("utf-8"), "--quiet", "--horizon", "20d", "--out", "h"], dir));
    let (header, events) = read_csv(&dir.join("h/events.csv"));
    let (kind, subject) = (header.iter().position(|c| c == "kind").expect("kind"), 2);
    let halving: u64 =
        events.iter().find(|e| e[kind] == "halving").expect("a halving in 20 days")[0].parse().expect("block");
    let window_end = halving + 30 * 7200;
    let miner_exits = events
        .iter()
        .filter(|e| e[kind] == "exit" && e[subject].starts_with("miner "))
        .filter(|e| (halving..window_end).contains(&e[0].parse::<u64>().expect("block")))
        .count();
    assert!(miner_exits > 0, "the halving scenario has miners leaving after the halving");
    assert!(events.iter().any(|e| e[kind] == "exit" && e[subject].starts_with("holder ")), "holders' exits too");

    ok(&taosim(&["report", "--quiet", "h"], dir));
    let (header, runs) = read_csv(&dir.join("h/runs.csv"));
    let cell = |name: &str| -> f64 {
        let i = header.iter().position(|c| c == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
        runs[0][i].parse().expect("number")
    };
    assert_eq!(cell("halving1.miner_exits_30d_count"), miner_exits as f64);
    assert!(cell("halving1.miner_exit_30d_fraction") > 0.0);
}

/// A run file cut short after the run (an interrupted copy) still parses as CSV: `report`
/// refuses it against the manifest's digest, in one line with exit code 2, writing nothing.
#[test]
fn a_truncated_csv_is_refused_with_exit_code_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    ok(&taosim(&["run", "--quiet", "--horizon", "3d", "--out", "r"], dir));
    let path = dir.join("r/timeseries.csv");
    let text = std::fs::read_to_string(&path).expect("timeseries");
    // Cut at a line end: every remaining row is whole, so only the digest can tell.
    let cut = text[..text.len() / 2].rfind('\n').expect("a line end") + 1;
    std::fs::write(&path, &text[..cut]).expect("truncate");
    let o = taosim(&["report", "--quiet", "r", "--out", "rep"], dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("timeseries.csv") && err.contains("manifest.json"), "{err}");
    assert!(!dir.join("rep").exists(), "nothing written for a refused input");
    // The same for a file the manifest lists that is gone.
    std::fs::write(&path, &text).expect("restore");
    ok(&taosim(&["report", "--quiet", "r", "--out", "rep"], dir));
    std::fs::remove_file(dir.join("r/events.csv")).expect("remove");
    let o = taosim(&["report", "--quiet", "r", "--out", "rep2"], dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("events.csv"));
}

/// The headline's price risk is measured from the scripted shock (day 5 of liquidity-shock),
/// not from the start-up, and comes first; a run that never recovers says so instead of
/// leaving its recovery time out.
#[test]
fn headline_price_risk_is_measured_from_the_shock() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/liquidity-shock.toml");
    ok(&taosim(&["run", scenario.to_str().expect("utf-8"), "--quiet", "--horizon", "10d", "--out", "s"], dir));
    ok(&taosim(&["report", "--quiet", "s"], dir));
    let (header, runs) = read_csv(&dir.join("s/runs.csv"));
    let cell = |name: &str| -> Option<f64> {
        let i = header.iter().position(|c| c == name)?;
        runs[0][i].parse().ok()
    };
    assert_eq!(cell("event.day"), Some(5.0), "the price jump and depth cut at day 5");
    // TAO/USD jumps by x0.6 at the shock: at least a 35% fall from the sample before it.
    let drawdown = cell("tao_price_usd.event.max_drawdown_fraction").expect("event drawdown");
    assert!(drawdown >= 0.35, "{drawdown}");
    assert!(cell("tao_price_usd.event.trough_days").expect("trough") >= 0.0);
    let recovered = cell("tao_price_usd.event.recovered").expect("recovered");
    assert_eq!(cell("tao_price_usd.event.never_recovered"), Some(1.0 - recovered));
    assert_eq!(cell("tao_price_usd.event.recovery_days").is_some(), recovered == 1.0);
    // The key table starts with the event drawdown of TAO/USD.
    let html = std::fs::read_to_string(dir.join("s/report.html")).expect("html");
    let key = &html[html.find("Key risk metrics").expect("key metrics")..];
    let first = key.split("<code>").nth(1).and_then(|c| c.split("</code>").next()).expect("a first metric");
    assert_eq!(first, "tao_price_usd.event.max_drawdown_fraction");
    // The risk summary: the market-cap loss in USD, incomes around the event, and each
    // subnet's alpha drawdown from the event by netuid (the scenario has 4 subnets).
    let before = cell("tao_market_cap_usd.event.before_usd").expect("market cap before");
    let loss = cell("tao_market_cap_usd.event.max_loss_usd").expect("market-cap loss");
    assert!(loss >= 0.35 * before && loss < before, "{loss} of {before}");
    assert!(cell("miner_profit_p50_usd_per_day.event.before_7d").is_some());
    assert!(cell("miner_profit_p50_usd_per_day.event.after_7d").is_some());
    let per_subnet = header.iter().filter(|c| c.contains(".event.max_drawdown_fraction.netuid_")).count();
    assert_eq!(per_subnet, 4, "{header:?}");
    assert!(html.contains("id=\"risk-summary\"") && html.contains("Alpha drawdown from the event, by subnet"));
}

/// Plausibility flags are columns of runs.csv and a section of the report; the band is set
/// on the command line, and a bad band is refused with exit code 2.
#[test]
fn implausible_runs_are_flagged_with_a_configurable_band() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    ok(&taosim(&["run", "--quiet", "--horizon", "3d", "--out", "r"], dir));
    ok(&taosim(&["report", "--quiet", "r", "--out", "wide"], dir));
    let flag = |folder: &str, name: &str| -> f64 {
        let (header, runs) = read_csv(&dir.join(folder).join("runs.csv"));
        let i = header.iter().position(|c| c == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
        runs[0][i].parse().expect("0 or 1")
    };
    assert_eq!(flag("wide", "flag.tao_usd_outside_band"), 0.0, "the default run stays near $250");
    assert_eq!(flag("wide", "flag.issuance_not_conserved"), 0.0);
    // A band the run's price cannot stay in: flagged, and said so in the report.
    ok(&taosim(&["report", "--quiet", "r", "--out", "narrow", "--price-band", "1000,2000"], dir));
    assert_eq!(flag("narrow", "flag.tao_usd_outside_band"), 1.0);
    let html = std::fs::read_to_string(dir.join("narrow/report.html")).expect("html");
    assert!(html.contains("id=\"plausibility\"") && html.contains("1,000 – 2,000 USD"), "the band in the report");
    let o = taosim(&["report", "--quiet", "r", "--out", "bad", "--price-band", "2000,1000"], dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--price-band"));
}
