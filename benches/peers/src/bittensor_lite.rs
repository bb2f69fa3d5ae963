//! bittensor_lite/1, the peers' block model of subnet pools, on taosim's engine.
//!
//! The spec is `../shared/peers/README.md` ("bittensor_lite spec"); this is a line-by-line
//! reproduction of it, with every formula evaluated in IEEE f64 in the order written, left to
//! right, so that the final states equal the numpy reference's:
//! 1. emission E = 2^-k, k = ⌊log₂(1 / (1 − I/21e6))⌋ (0 once I ≥ 21e6), then I ← I + E;
//! 2. per subnet, at the start-of-block price p = T/A and the pre-update EMA:
//!    τ = E·(pbar/Σ pbar) (Σ in numpy's pairwise order, [`crate::pairwise`]), T ← T + τ,
//!    A ← A + τ/p, pending ← pending + 1, pbar ← (1 − a)·pbar + a·p;
//! 3. every 360th block, per subnet: the miners sell f·(pending/2) alpha into the pool, pending ← 0;
//! 4. with the block's four SplitMix64 uniforms ([`crate::splitmix`]): if u0 < q one staker on
//!    subnet ⌊u1·S⌋ stakes (u3 < 0.5) or unstakes X = −10·ln(1 − u2) TAO worth.
//!
//! Swaps are constant product with the fee taken from the input (it leaves the system).
//!
//! The engine runs one event per block, at the block's start on the chain's clock
//! ([`sim::engine::Block::start`]). Memory is flat in the number of blocks: the state is O(S) and
//! the trace keeps every `record_every`-th block only (100 by default, as the numpy reference).
//!
//! The one operation whose result depends on the platform is ln in step 4: the references were
//! made with Python's `math.log`, which is the C library's `log` (glibc 2.36, whose x86-64 build
//! picks an FMA variant on CPUs that have FMA and an SSE2 variant otherwise; the two differ in
//! the last bit for about 1 input in 10⁴). [`LogFn::Libm`] (the default, taosim's rule: identical
//! on every platform) differs from glibc's in the last bit for about 7% of inputs;
//! [`LogFn::Libc`] calls the platform's C library through `f64::ln` and so reproduces the
//! references bit for bit where the platform is the one that made them.

use crate::pairwise::numpy_sum;
use crate::splitmix::{block_uniforms, run_key};
use crate::{ConfigError, out_of_range};
use rayon::prelude::*;
use sim::engine::{Block, Model, Scheduler, SimTime, Simulation};

/// The spec's version string, written into every JSON file.
pub const SPEC_VERSION: &str = "bittensor_lite/1";
/// TAO cap used by the halving schedule.
pub const TOTAL_SUPPLY: f64 = 21e6;
/// Issuance at the start of every run, TAO.
pub const I0: f64 = 10.4e6;
/// TAO per block before the first halving.
pub const BASE_EMISSION: f64 = 1.0;
/// Blocks per tempo.
pub const TEMPO: u64 = 360;
/// Weight a of the price EMA.
pub const EMA_ALPHA: f64 = 0.001;
/// Swap fee φ, a fraction of the input.
pub const FEE: f64 = 0.0005;
/// Fraction f of their half of pending alpha that the miners sell at each tempo.
pub const SELL_FRACTION: f64 = 0.5;
/// Alpha added to every subnet's pending per block.
pub const ALPHA_OUT_PER_BLOCK: f64 = 1.0;
/// Default staker probability q.
pub const STAKER_PROB: f64 = 0.2;
/// Mean of the exponential staker amount, TAO.
pub const STAKER_MEAN: f64 = 10.0;
/// Initial TAO reserve of subnet 0 and the step between subnets.
pub const TAO0_BASE: f64 = 1000.0;
/// Step of the initial TAO reserve per subnet index.
pub const TAO0_STEP: f64 = 100.0;
/// Initial alpha reserve of every subnet.
pub const ALPHA0: f64 = 1000.0;

/// Which natural logarithm step 4 uses (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFn {
    /// The `libm` crate: the same bits on every platform (taosim's rule).
    #[default]
    Libm,
    /// The platform's C library (`f64::ln`): what Python's `math.log` calls.
    Libc,
}

impl LogFn {
    fn ln(self, x: f64) -> f64 {
        match self {
            LogFn::Libm => libm::log(x),
            LogFn::Libc => x.ln(),
        }
    }

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            LogFn::Libm => "libm",
            LogFn::Libc => "libc",
        }
    }
}

/// One invocation: R runs of B blocks over S subnets.
#[derive(Clone, Debug, PartialEq)]
pub struct BlConfig {
    /// Subnets S.
    pub subnets: usize,
    /// Blocks per run B.
    pub blocks: u64,
    /// Monte Carlo runs R.
    pub runs: u64,
    /// Base seed; run r uses key(seed, r).
    pub seed: u64,
    /// Staker probability q (0 makes every output seed-free).
    pub staker_prob: f64,
    /// Trace every k blocks (0: no trace).
    pub record_every: u64,
    /// The logarithm of step 4.
    pub log: LogFn,
    /// Runs executed at once (1: one after another on this thread).
    pub threads: usize,
}

impl Default for BlConfig {
    fn default() -> Self {
        Self {
            subnets: 32,
            blocks: 7_200,
            runs: 1,
            seed: 42,
            staker_prob: STAKER_PROB,
            record_every: 100,
            log: LogFn::Libm,
            threads: 1,
        }
    }
}

impl BlConfig {
    /// Refuses sizes the model cannot run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.subnets == 0 || self.subnets > 1 << 20 {
            return Err(out_of_range("subnets", self.subnets, "1 to 1048576"));
        }
        if self.blocks == 0 || self.blocks > 1 << 40 {
            return Err(out_of_range("blocks", self.blocks, "1 to 2^40"));
        }
        if self.runs == 0 {
            return Err(out_of_range("runs", self.runs, "at least 1"));
        }
        if !(0.0..=1.0).contains(&self.staker_prob) {
            return Err(out_of_range("staker-prob", self.staker_prob, "a probability in [0, 1]"));
        }
        if self.threads == 0 || self.threads > 1024 {
            return Err(out_of_range("threads", self.threads, "1 to 1024"));
        }
        Ok(())
    }
}

/// The trace of one block: issuance, emission and every spot price, at the end of the block.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRow {
    /// Run index.
    pub run: u64,
    /// Block (1-based).
    pub block: u64,
    /// Issuance I after the block.
    pub issuance: f64,
    /// Emission E of the block.
    pub emission: f64,
    /// Spot prices T_i / A_i.
    pub prices: Vec<f64>,
}

/// The final state of one run, as the reference JSON records it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// Run index.
    pub run: u64,
    /// Issuance after block B.
    pub issuance: f64,
    /// Emission of block B.
    pub emission: f64,
    /// TAO reserves.
    pub tao: Vec<f64>,
    /// Alpha reserves.
    pub alpha: Vec<f64>,
    /// Price EMAs.
    pub pbar: Vec<f64>,
    /// Every `record_every`-th block.
    pub trace: Vec<TraceRow>,
}

impl RunResult {
    /// Spot prices T_i / A_i.
    pub fn prices(&self) -> Vec<f64> {
        self.tao.iter().zip(&self.alpha).map(|(t, a)| t / a).collect()
    }
}

/// E of a block from the issuance before it: 2^-k with k = ⌊log₂(1/(1 − I/21e6))⌋.
pub fn block_emission(issuance: f64) -> f64 {
    if issuance >= TOTAL_SUPPLY {
        return 0.0;
    }
    let k = libm::floor(libm::log2(1.0 / (1.0 - issuance / TOTAL_SUPPLY)));
    libm::ldexp(BASE_EMISSION, -(k as i32))
}

/// Issuance after `blocks` blocks from I0 and the emission of the last block, without a
/// per-block loop (the spec's closed form): epoch k lasts while the issuance before a block is
/// below U_k = 21e6·(1 − 2^-(k+1)), i.e. ⌈(U_k − I)/2^-k⌉ more blocks.
pub fn issuance_closed_form(blocks: u64) -> (f64, f64) {
    let (mut issuance, mut last, mut left) = (I0, 0.0, blocks);
    while left > 0 {
        let e = block_emission(issuance);
        if e == 0.0 {
            last = 0.0;
            break;
        }
        // e = 2^-k exactly: its biased exponent is 1023 − k.
        let k = 1023 - ((e.to_bits() >> 52) as i32);
        let upper = TOTAL_SUPPLY * (1.0 - libm::ldexp(1.0, -(k + 1)));
        let in_epoch = libm::ceil((upper - issuance) / e).max(1.0);
        let take = (in_epoch as u64).min(left);
        issuance += take as f64 * e;
        left -= take;
        last = e;
    }
    (issuance, last)
}

/// The pools of one run, one vector per quantity (subnet i at index i).
struct Pools {
    tao: Vec<f64>,
    alpha: Vec<f64>,
    pbar: Vec<f64>,
    pending: Vec<f64>,
}

impl Pools {
    fn initial(subnets: usize) -> Self {
        let tao: Vec<f64> = (0..subnets).map(|i| TAO0_BASE + TAO0_STEP * i as f64).collect();
        let alpha = vec![ALPHA0; subnets];
        let pbar = tao.iter().zip(&alpha).map(|(t, a)| t / a).collect();
        Self { tao, alpha, pbar, pending: vec![0.0; subnets] }
    }
}

/// x alpha → TAO on a pool (T, A): the fee leaves with the input; returns (T', A').
pub fn swap_alpha_for_tao(tao: f64, alpha: f64, x: f64) -> (f64, f64) {
    let x_eff = x * (1.0 - FEE);
    let out = tao * x_eff / (alpha + x_eff);
    (tao - out, alpha + x_eff)
}

/// x TAO → alpha on a pool (T, A); returns (T', A').
pub fn swap_tao_for_alpha(tao: f64, alpha: f64, x: f64) -> (f64, f64) {
    let x_eff = x * (1.0 - FEE);
    let out = alpha * x_eff / (tao + x_eff);
    (tao + x_eff, alpha - out)
}

/// One run as a model of the engine: its event is the block to execute.
struct BlockModel {
    run: u64,
    blocks: u64,
    key: u64,
    staker_prob: f64,
    record_every: u64,
    log: LogFn,
    issuance: f64,
    emission: f64,
    pools: Pools,
    trace: Vec<TraceRow>,
}

impl BlockModel {
    fn step(&mut self, b: u64) {
        // 1. Emission of this block, from the issuance before it.
        let e = block_emission(self.issuance);
        self.issuance += e;
        self.emission = e;

        // 2. Injection at the start-of-block price and the EMA update (pbar before the update).
        let pbar_sum = numpy_sum(&self.pools.pbar);
        let one_minus_a = 1.0 - EMA_ALPHA;
        let Pools { tao, alpha, pbar, pending } = &mut self.pools;
        for (((t, a), pb), pend) in tao.iter_mut().zip(alpha.iter_mut()).zip(pbar.iter_mut()).zip(pending.iter_mut()) {
            let p = *t / *a;
            let tau = e * (*pb / pbar_sum);
            *t += tau;
            *a += tau / p;
            *pend += ALPHA_OUT_PER_BLOCK;
            *pb = one_minus_a * *pb + EMA_ALPHA * p;
        }

        // 3. Tempo: the miners sell f of their half of the pending alpha, every subnet.
        if b.is_multiple_of(TEMPO) {
            for ((t, a), pend) in tao.iter_mut().zip(alpha.iter_mut()).zip(pending.iter_mut()) {
                (*t, *a) = swap_alpha_for_tao(*t, *a, SELL_FRACTION * (*pend / 2.0));
                *pend = 0.0;
            }
        }

        // 4. At most one staker.
        let u = block_uniforms(self.key, b);
        if u[0] < self.staker_prob {
            let subnets = tao.len();
            let j = ((u[1] * subnets as f64) as usize).min(subnets - 1);
            let x = -STAKER_MEAN * self.log.ln(1.0 - u[2]);
            (tao[j], alpha[j]) = if u[3] < 0.5 {
                swap_tao_for_alpha(tao[j], alpha[j], x)
            } else {
                swap_alpha_for_tao(tao[j], alpha[j], x / (tao[j] / alpha[j]))
            };
        }

        if self.record_every != 0 && b.is_multiple_of(self.record_every) {
            self.trace.push(TraceRow {
                run: self.run,
                block: b,
                issuance: self.issuance,
                emission: self.emission,
                prices: tao.iter().zip(alpha.iter()).map(|(t, a)| t / a).collect(),
            });
        }
    }
}

impl Model for BlockModel {
    type Event = u64;

    fn handle(&mut self, _now: SimTime, block: u64, scheduler: &mut Scheduler<u64>) {
        self.step(block);
        if block < self.blocks {
            scheduler.schedule_at(Block(block + 1).start(), 0, block + 1);
        }
    }
}

/// Runs one run (0-based index `run`) of the configuration.
pub fn run_one(config: &BlConfig, run: u64) -> RunResult {
    let model = BlockModel {
        run,
        blocks: config.blocks,
        key: run_key(config.seed, run),
        staker_prob: config.staker_prob,
        record_every: config.record_every,
        log: config.log,
        issuance: I0,
        emission: 0.0,
        pools: Pools::initial(config.subnets),
        trace: Vec::with_capacity(config.blocks.checked_div(config.record_every).unwrap_or(0) as usize),
    };
    let mut sim = Simulation::new(model);
    sim.scheduler.schedule_at(Block(1).start(), 0, 1);
    sim.run_until(Block(config.blocks).start());
    let m = sim.model;
    RunResult {
        run,
        issuance: m.issuance,
        emission: m.emission,
        tao: m.pools.tao,
        alpha: m.pools.alpha,
        pbar: m.pools.pbar,
        trace: m.trace,
    }
}

/// Runs every run of the configuration, in run order; with `threads > 1` the runs execute in
/// parallel (each run is independent and keyed by its index, so the results do not change).
pub fn run(config: &BlConfig) -> Result<Vec<RunResult>, ConfigError> {
    config.validate()?;
    if config.threads == 1 {
        return Ok((0..config.runs).map(|r| run_one(config, r)).collect());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|_| out_of_range("threads", config.threads, "a thread count the system can start"))?;
    Ok(pool.install(|| (0..config.runs).into_par_iter().map(|r| run_one(config, r)).collect()))
}

/// Whether every run's issuance and emission equal the closed form exactly.
pub fn closed_form_matches(blocks: u64, runs: &[RunResult]) -> bool {
    let (issuance, emission) = issuance_closed_form(blocks);
    runs.iter().all(|r| r.issuance == issuance && r.emission == emission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emission_halves_exactly_at_the_first_threshold() {
        assert_eq!(block_emission(I0), 1.0);
        assert_eq!(block_emission(10.5e6 - 1.0), 1.0);
        assert_eq!(block_emission(10.5e6), 0.5);
        assert_eq!(block_emission(15.75e6), 0.25);
        assert_eq!(block_emission(21e6), 0.0);
    }

    #[test]
    fn closed_form_matches_the_spec_and_a_block_by_block_loop() {
        assert_eq!(issuance_closed_form(7_200), (10_407_200.0, 1.0));
        assert_eq!(issuance_closed_form(216_000), (10_558_000.0, 0.5));
        assert_eq!(issuance_closed_form(100_000), (10_500_000.0, 1.0));
        assert_eq!(issuance_closed_form(100_001), (10_500_000.5, 0.5));
        for blocks in [1, 99_999, 100_000, 100_001, 123_457] {
            let (mut issuance, mut e) = (I0, 0.0);
            for _ in 0..blocks {
                e = block_emission(issuance);
                issuance += e;
            }
            assert_eq!(issuance_closed_form(blocks), (issuance, e), "B = {blocks}");
        }
    }

    #[test]
    fn swaps_keep_the_constant_product_and_move_price_the_right_way() {
        let (t, a) = (1500.0, 1000.0);
        let (t1, a1) = swap_tao_for_alpha(t, a, 10.0);
        assert!(t1 > t && a1 < a && t1 / a1 > t / a);
        assert!(((t1 * a1) / (t * a) - 1.0).abs() < 1e-15);
        let (t2, a2) = swap_alpha_for_tao(t, a, 10.0);
        assert!(t2 < t && a2 > a && t2 / a2 < t / a);
        assert!(((t2 * a2) / (t * a) - 1.0).abs() < 1e-15);
        // The fee is taken from the input: 10 TAO in adds 9.995 TAO to the pool.
        assert!((t1 - t - 9.995).abs() < 1e-12);
    }

    #[test]
    fn without_stakers_injection_keeps_prices_and_total_tao_adds_up() {
        let cfg = BlConfig { subnets: 8, blocks: 359, staker_prob: 0.0, ..BlConfig::default() };
        let runs = run(&cfg).expect("valid config");
        let r = &runs[0];
        // Before the first tempo sale only injections happen: prices stay at 1 + 0.1 i up to
        // rounding, and the pools hold the initial TAO plus every block's emission.
        for (i, p) in r.prices().iter().enumerate() {
            assert!((p / (1.0 + 0.1 * i as f64) - 1.0).abs() < 1e-12, "subnet {i}: {p}");
        }
        let initial: f64 = (0..8).map(|i| 1000.0 + 100.0 * f64::from(i)).sum();
        let total: f64 = r.tao.iter().sum();
        assert!((total - initial - 359.0).abs() < 1e-9, "{total}");
        assert_eq!(r.trace.len(), 3);
        assert!(closed_form_matches(359, &runs));
    }

    #[test]
    fn runs_are_independent_of_thread_count_and_distinct_per_run() {
        let cfg = BlConfig { subnets: 16, blocks: 1_000, runs: 3, ..BlConfig::default() };
        let serial = run(&cfg).expect("valid config");
        let parallel = run(&BlConfig { threads: 2, ..cfg.clone() }).expect("valid config");
        assert_eq!(serial, parallel);
        assert_ne!(serial[0].tao, serial[1].tao);
        assert_eq!(serial[2].run, 2);
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(run(&BlConfig { subnets: 0, ..BlConfig::default() }).is_err());
        assert!(run(&BlConfig { blocks: 0, ..BlConfig::default() }).is_err());
        assert!(run(&BlConfig { staker_prob: 1.5, ..BlConfig::default() }).is_err());
        assert!(run(&BlConfig { threads: 0, ..BlConfig::default() }).is_err());
    }
}
