//! `taosim-peers`: runs one of the peers' benchmark models on taosim's engine and prints CSV
//! lines in the peers' schema (`impl` = taosim), or prints the side-by-side table of a CSV file.
//!
//! Like the peers' scripts, the timed region is the simulation only (here including model
//! construction and stream derivation), and peak memory is this process's peak RSS, so one
//! configuration per process gives its own figure (`benches/peers.sh` does that).

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use peers::bittensor_lite::{self, BlConfig, LogFn, closed_form_matches, issuance_closed_form};
use peers::fanout::{self, FanoutConfig};
use peers::mm1::{self, Mm1Config};
use peers::pyfmt::{final_state_json, repr_f64, trace_csv, write_atomic};
use peers::report::{
    Row, comparison_markdown, csv_line, fmt_num, header_line, peak_rss_mb, read_rows, targets_markdown,
};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "taosim-peers",
    version,
    about = "The peers' benchmark models on taosim's engine (CSV in the peers' schema)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// M/M/1 queue until N model events (arrivals + service completions).
    Mm1 {
        /// Model events; several values give several lines (1e6 and 1000000 both work).
        #[arg(short = 'N', long = "events", num_args = 1.., default_values = ["1e5", "1e6"], value_parser = parse_count)]
        events: Vec<u64>,
        /// λ.
        #[arg(long, default_value_t = 0.9)]
        arrival_rate: f64,
        /// μ.
        #[arg(long, default_value_t = 1.0)]
        service_rate: f64,
        /// Seed of taosim's streams.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print the CSV header first.
        #[arg(long)]
        header: bool,
    },
    /// Validators × miners task market.
    Fanout {
        /// Validators V.
        #[arg(short = 'V', long, default_value_t = 64)]
        validators: u32,
        /// Miners M; several values give several lines.
        #[arg(short = 'M', long, num_args = 1.., default_values = ["1000"])]
        miners: Vec<u32>,
        /// Tempos to simulate.
        #[arg(long, default_value_t = 5)]
        tempos: u32,
        /// Tempo length, time units.
        #[arg(long, default_value_t = 360.0)]
        tempo: f64,
        /// Mean of the exponential service time.
        #[arg(long, default_value_t = 2.0)]
        mean_service: f64,
        /// One-way validator↔miner latency.
        #[arg(long, default_value_t = 0.5)]
        latency: f64,
        /// Seed of taosim's streams.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print the CSV header first.
        #[arg(long)]
        header: bool,
    },
    /// bittensor_lite/1 block model.
    BittensorLite {
        /// Subnets S.
        #[arg(short = 'S', long, default_value_t = 32)]
        subnets: usize,
        /// Blocks per run B.
        #[arg(short = 'B', long, default_value_t = 7200)]
        blocks: u64,
        /// Monte Carlo runs R.
        #[arg(short = 'R', long, default_value_t = 1)]
        runs: u64,
        /// Base seed; run r uses key(seed, r).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// q; 0 makes every output seed-free.
        #[arg(long, default_value_t = bittensor_lite::STAKER_PROB)]
        staker_prob: f64,
        /// Trace every k blocks (0 = no trace).
        #[arg(long, default_value_t = 100)]
        record_every: u64,
        /// Runs executed at once (threads).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// ln of the staker amount: libm (portable) or libc (the platform's, as Python's math.log).
        #[arg(long, value_enum, default_value_t = LogArg::Libm)]
        log: LogArg,
        /// Write the final state of every run as JSON (the peers' layout) here.
        #[arg(long)]
        json_out: Option<PathBuf>,
        /// Write the trace as CSV (the peers' layout) here.
        #[arg(long)]
        trace_out: Option<PathBuf>,
        /// Print the CSV header first.
        #[arg(long)]
        header: bool,
    },
    /// Print the side-by-side Markdown table of CSV files in the peers' schema.
    Table {
        /// CSV files with a header line.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only the summary against the targets.
        #[arg(long)]
        targets_only: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogArg {
    Libm,
    Libc,
}

/// A count written as an integer or in float notation ("1e6").
fn parse_count(s: &str) -> Result<u64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(x.is_finite() && x >= 1.0 && x.fract() == 0.0 && x <= 9.007_199_254_740_992e15) {
        return Err(format!("{s:?}: a whole number from 1 to 2^53 is needed"));
    }
    Ok(x as u64)
}

fn base_row(bench: &str, mode: &str, procs: usize, seed: u64) -> Row {
    let mut r = Row::new();
    r.insert("bench".into(), bench.into());
    r.insert("impl".into(), "taosim".into());
    r.insert("version".into(), sim::VERSION.into());
    r.insert("mode".into(), mode.into());
    r.insert("procs".into(), procs.to_string());
    r.insert("seed".into(), seed.to_string());
    r
}

fn put(r: &mut Row, column: &str, value: impl ToString) {
    r.insert(column.into(), value.to_string());
}

fn put_rss(r: &mut Row) {
    let rss = peak_rss_mb().map(fmt_num).unwrap_or_default();
    put(r, "peak_rss_mb", &rss);
    put(r, "child_peak_rss_mb", 0);
    // One process, no workers: the tree is the process.
    put(r, "tree_peak_rss_mb", rss);
}

/// Prints a row (after the header if asked); a closed stdout is an error, not a panic.
fn emit(row: &Row, header: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if header {
        writeln!(out, "{}", header_line()).context("writing to stdout")?;
    }
    writeln!(out, "{}", csv_line(row)).context("writing to stdout")?;
    out.flush().context("writing to stdout")
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taosim-peers: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Mm1 { events, arrival_rate, service_rate, seed, header } => {
            for (i, n) in events.into_iter().enumerate() {
                let cfg = Mm1Config { n_events: n, arrival_rate, service_rate, seed };
                let t0 = Instant::now();
                let s = mm1::run(&cfg)?;
                let wall = t0.elapsed().as_secs_f64();
                let mut r = base_row("mm1", "engine", 1, seed);
                put(&mut r, "N", n);
                put(&mut r, "wall_s", fmt_num(wall));
                put(&mut r, "events", s.events);
                put(&mut r, "events_per_s", fmt_num(s.events as f64 / wall));
                put(&mut r, "internal_events", s.engine_events);
                put_rss(&mut r);
                let check = format!(
                    "arrivals={};completions={};sim_time={:.1};mean_sojourn={:.3};theory={:.3}",
                    s.arrivals,
                    s.completions,
                    s.end_time,
                    s.mean_sojourn(),
                    cfg.theory_mean_sojourn()
                );
                put(&mut r, "check", check);
                emit(&r, header && i == 0)?;
            }
        }
        Command::Fanout { validators, miners, tempos, tempo, mean_service, latency, seed, header } => {
            for (i, m) in miners.into_iter().enumerate() {
                let cfg = FanoutConfig { validators, miners: m, tempos, tempo, mean_service, latency, seed };
                let t0 = Instant::now();
                let s = fanout::run(&cfg)?;
                let wall = t0.elapsed().as_secs_f64();
                let mode = format!("engine;latency={latency};mean_service={mean_service}");
                let mut r = base_row("fanout", &mode, 1, seed);
                put(&mut r, "V", validators);
                put(&mut r, "M", m);
                put(&mut r, "tempos", tempos);
                put(&mut r, "wall_s", fmt_num(wall));
                put(&mut r, "events", s.model_events());
                put(&mut r, "events_per_s", fmt_num(s.model_events() as f64 / wall));
                put(&mut r, "internal_events", s.engine_events);
                put_rss(&mut r);
                let check = format!(
                    "tasks={};served={};replies={};all_replied={};mean_rtt={:.2};peak_pending={}",
                    s.sent,
                    s.served,
                    s.received,
                    u8::from(s.received == cfg.tasks()),
                    s.mean_rtt(),
                    s.peak_pending
                );
                put(&mut r, "check", check);
                emit(&r, header && i == 0)?;
            }
        }
        Command::BittensorLite {
            subnets,
            blocks,
            runs,
            seed,
            staker_prob,
            record_every,
            threads,
            log,
            json_out,
            trace_out,
            header,
        } => {
            let log = match log {
                LogArg::Libm => LogFn::Libm,
                LogArg::Libc => LogFn::Libc,
            };
            let cfg = BlConfig { subnets, blocks, runs, seed, staker_prob, record_every, log, threads };
            let t0 = Instant::now();
            let results = bittensor_lite::run(&cfg)?;
            let wall = t0.elapsed().as_secs_f64();
            let mut r = base_row(
                "bittensor_lite",
                &if threads == 1 { "engine".to_string() } else { format!("engine;threads={threads}") },
                threads,
                seed,
            );
            put(&mut r, "S", subnets);
            put(&mut r, "B", blocks);
            put(&mut r, "R", runs);
            put(&mut r, "wall_s", fmt_num(wall));
            let total_blocks = (blocks * runs) as f64;
            put(&mut r, "internal_events", blocks * runs);
            put(&mut r, "blocks_per_s", fmt_num(total_blocks / wall));
            put(&mut r, "block_subnet_updates_per_s", fmt_num(total_blocks * subnets as f64 / wall));
            put_rss(&mut r);
            let (cf_i, cf_e) = issuance_closed_form(blocks);
            let check = format!(
                "issuance={};closed_form={};emission={};match={};log={}",
                repr_f64(results.first().map_or(f64::NAN, |x| x.issuance)),
                repr_f64(cf_i),
                repr_f64(cf_e),
                u8::from(closed_form_matches(blocks, &results)),
                log.name()
            );
            put(&mut r, "check", check);
            if let Some(path) = &json_out {
                write_atomic(path, final_state_json("taosim", &cfg, &results).as_bytes())
                    .with_context(|| format!("writing --json-out {}", path.display()))?;
            }
            if let Some(path) = &trace_out {
                write_atomic(path, trace_csv(results.iter().flat_map(|x| &x.trace)).as_bytes())
                    .with_context(|| format!("writing --trace-out {}", path.display()))?;
            }
            emit(&r, header)?;
        }
        Command::Table { files, targets_only } => {
            let mut rows = Vec::new();
            for f in &files {
                let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
                rows.extend(
                    read_rows(&text).with_context(|| format!("{}: not a CSV in the peers' schema", f.display()))?,
                );
            }
            if rows.is_empty() {
                bail!("{}: no rows", files[0].display());
            }
            let table = if targets_only { targets_markdown(&rows) } else { comparison_markdown(&rows) };
            std::io::stdout().lock().write_all(table.as_bytes()).context("writing to stdout")?;
        }
    }
    Ok(())
}
