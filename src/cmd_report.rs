//! `taosim report DIR` and `taosim compare A B`: glue between the command line and the
//! `analysis` crate (which does all the work).

use analysis::analyse::{Options, analyse_folder};
use analysis::compare::{CompareOptions, compare as compare_studies, text_table, write_comparison};
use analysis::report::write_report;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Exit code for bad input (not a run or sweep folder, a malformed file, a bad flag).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for failures writing the outputs.
const EXIT_FAILED: u8 = 1;

/// Options shared by `report` and `compare`.
#[derive(Args, Clone, Debug)]
pub struct AnalysisArgs {
    /// Bootstrap resamples per confidence interval (100 ..= 100000).
    #[arg(long, default_value_t = 2_000)]
    resamples: usize,
    /// Entities drawn one by one in per-entity charts; the rest are aggregated (1 ..= 50).
    #[arg(long, default_value_t = 8)]
    top_k: usize,
    /// Column of per-entity tables to rank entities by (default: the first with `emission`,
    /// else `stake`).
    #[arg(long)]
    rank_by: Option<String>,
    /// Most samples per series kept for bands (10 ..= 100000).
    #[arg(long, default_value_t = 1_000)]
    max_samples: usize,
    /// Share of the total the Nakamoto coefficient's entities must exceed (0 < x < 1).
    #[arg(long, default_value_t = 0.5)]
    nakamoto_threshold: f64,
    /// Plausible TAO/USD band in USD, LOW,HIGH: runs whose price leaves it are flagged
    /// (default: the real market's 2024-2026 range widened, 20,5000).
    #[arg(long, value_name = "LOW,HIGH")]
    price_band: Option<String>,
    /// Runs whose peak daily selling exceeds this many times the book's depth are flagged.
    #[arg(long, default_value_t = 1.0)]
    max_sell_over_depth: f64,
    /// No timing line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// `--price-band LOW,HIGH`: two positive numbers, LOW below HIGH.
fn price_band(text: &str) -> Result<(f64, f64), String> {
    let bad = || format!("--price-band: `{text}` is not LOW,HIGH with 0 < LOW < HIGH (USD), e.g. 20,5000");
    let (low, high) = text.split_once(',').ok_or_else(bad)?;
    let (low, high): (f64, f64) = (low.trim().parse().map_err(|_| bad())?, high.trim().parse().map_err(|_| bad())?);
    if low > 0.0 && low < high && high.is_finite() { Ok((low, high)) } else { Err(bad()) }
}

impl AnalysisArgs {
    fn options(&self, bands: bool) -> Result<Options, String> {
        if !(100..=100_000).contains(&self.resamples) {
            return Err(format!("--resamples: {} is out of range; allowed 100 ..= 100000", self.resamples));
        }
        if !(1..=50).contains(&self.top_k) {
            return Err(format!("--top-k: {} is out of range; allowed 1 ..= 50", self.top_k));
        }
        if !(10..=100_000).contains(&self.max_samples) {
            return Err(format!("--max-samples: {} is out of range; allowed 10 ..= 100000", self.max_samples));
        }
        if !(self.nakamoto_threshold > 0.0 && self.nakamoto_threshold < 1.0) {
            return Err(format!(
                "--nakamoto-threshold: {} is out of range; allowed 0 < x < 1",
                self.nakamoto_threshold
            ));
        }
        if !(self.max_sell_over_depth > 0.0 && self.max_sell_over_depth.is_finite()) {
            return Err(format!("--max-sell-over-depth: {} is out of range; allowed > 0", self.max_sell_over_depth));
        }
        let band = match &self.price_band {
            Some(text) => price_band(text)?,
            None => analysis::flags::DEFAULT_PRICE_BAND_USD,
        };
        Ok(Options {
            flags: analysis::flags::FlagOptions { price_band_usd: band, max_sell_over_depth: self.max_sell_over_depth },
            top_k: self.top_k,
            max_samples: self.max_samples,
            resamples: self.resamples,
            rank_by: self.rank_by.clone(),
            nakamoto_threshold: self.nakamoto_threshold,
            bands,
            ..Options::default()
        })
    }
}

/// `taosim report`.
#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    /// A run folder, a sweep folder (summary.csv + runs/), a folder of run folders or a
    /// search folder (taosim search).
    dir: PathBuf,
    /// Where to write report.html and the CSV tables (default: DIR itself).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    analysis: AnalysisArgs,
}

/// `taosim compare`.
#[derive(Args, Clone, Debug)]
pub struct CompareArgs {
    /// The baseline: a run, sweep or folder of runs.
    a: PathBuf,
    /// The variant, compared against A.
    b: PathBuf,
    /// Where to write compare.html and compare.csv (default: A's parent folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Smallest change called "moved", as a fraction of the larger mean (0 ..= 1; 0: any
    /// change whose interval excludes zero).
    #[arg(long, default_value_t = 0.01)]
    min_effect: f64,
    /// Rows shown in the terminal table and in each chart of compare.html, by relevance
    /// (1 ..= 10000; compare.csv has every row).
    #[arg(long, default_value_t = 30)]
    top: usize,
    #[command(flatten)]
    analysis: AnalysisArgs,
}

impl CompareArgs {
    fn compare_options(&self) -> Result<CompareOptions, String> {
        if !(0.0..=1.0).contains(&self.min_effect) {
            return Err(format!("--min-effect: {} is out of range; allowed 0 ..= 1", self.min_effect));
        }
        if !(1..=10_000).contains(&self.top) {
            return Err(format!("--top: {} is out of range; allowed 1 ..= 10000", self.top));
        }
        Ok(CompareOptions { min_effect: self.min_effect, top: self.top })
    }
}

fn fail(e: &analysis::Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(match e {
        analysis::Error::Io { .. } => EXIT_FAILED,
        _ => EXIT_BAD_INPUT,
    })
}

/// Runs `taosim report`.
pub fn report(args: ReportArgs) -> ExitCode {
    let started = Instant::now();
    let options = match args.analysis.options(true) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if analysis::search_report::is_search_folder(&args.dir) {
        let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
        return match analysis::search_report::write_search_report(&args.dir, &out) {
            Ok(files) => {
                print_paths(&files);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let analysis = match analyse_folder(&args.dir, &options) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    match write_report(&analysis, &out) {
        Ok(files) => {
            print_paths(&files);
            if !args.analysis.quiet {
                eprintln!(
                    "{}: {} runs, {} setting(s), {} metrics; {:.2} s",
                    analysis.study.name,
                    analysis.study.runs.len(),
                    analysis.study.groups.len(),
                    analysis.metric_names.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// Prints the written files' paths, one a line, ignoring a closed stdout.
fn print_paths(files: &[PathBuf]) {
    let text: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
}

fn parent_of(path: &Path) -> PathBuf {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    absolute.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `taosim compare`.
pub fn compare(args: CompareArgs) -> ExitCode {
    let started = Instant::now();
    let (options, compare_options) = match (args.analysis.options(true), args.compare_options()) {
        (Ok(o), Ok(c)) => (o, c),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let (a, b) = match (analyse_folder(&args.a, &options), analyse_folder(&args.b, &options)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(&e),
    };
    let comparison = compare_studies(a, b, compare_options);
    // A closed pipe (`| head`) is not an error worth a panic: the files are still written.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text_table(&comparison).as_bytes());
    let out = args.out.clone().unwrap_or_else(|| parent_of(&args.a));
    match write_comparison(&comparison, &out) {
        Ok(files) => {
            print_paths(&files);
            if !args.analysis.quiet {
                eprintln!("compared in {:.2} s", started.elapsed().as_secs_f64());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
