//! The epoch's dense path: the weights and the bonds EMA held as full rows over the columns in
//! use, each matrix step done in a few passes over them with the same fixed-point operations.
//!
//! Where validators weight most miners (the common case: 64 validators weighting every miner
//! of a 256-uid subnet), the chain's sparse rows are dense in all but name. This path lays out
//! the rows that have weights or bonds (`rows`, in uid order) over the span of columns they use
//! (`m`), a missing entry stored as 0, and computes the sparse path's steps entry by entry:
//! 1. weights: masked and row-normalised while gathered;
//! 2. column by column, the stake-weighted median (consensus); classic bonds also sum each
//!    column's bond deltas;
//! 3. row by row, with the row's bonds as read: clip, trust, rank, the bonds EMA and its
//!    column sums, and (Yuma3) the stored bond row;
//! 4. row by row, the dividends (and for classic bonds, the normalised and max-upscaled
//!    stored bond rows).
//!
//! Results are the chain's bit for bit, because:
//! - **A missing entry acts as an entry of 0 in every step here.** The median counts only
//!   positive scores; clipping keeps `min(w, c)` with `c >= 0`, and drops an entry only where
//!   `c = 0`, which a 0 reproduces; row and column sums, products, the EMA (which keeps
//!   positive results only) and column maxima (starting at 0) see a 0 as nothing. Where the
//!   chain keeps an entry whose value later becomes 0 (classic bonds after normalising), the
//!   entry's presence (a positive EMA) is kept with its value.
//! - **Every value is non-negative** (weights, stakes, bonds; alpha in `[0, 1]`), so a
//!   saturating sum is `min(exact sum, max)` in any order and wrapping sums never depend on
//!   order: summing a column across rows or a row across columns gives the chain's bits.
//! - **Entry order**: the bonds the chain stores after a plain EMA are in column order (its
//!   `mat_ema_sparse` densifies or merges sorted rows), the order emitted here. Liquid alpha
//!   keeps the validator's listed order and looks entries up with a cursor, so a Yuma3 subnet
//!   with liquid alpha takes the sparse path.
//! - **Fast arithmetic only where it is exact**: see [`Ops`].
//!
//! Property tests run this path on random subnets against the chain's steps one by one.

use super::{EpochError, EpochWorkspace, check_entry, next_stamp};
use crate::chain::yuma::EpochInput;
use crate::chain::yuma::fixed::{self, Divisor, ShareDivisor, SmallShareDivisor, U64Divisor};
use crate::chain::yuma::math::{
    MedianVoters, ONE, SelectScratch, ZERO, fixed_proportion_to_u16, inplace_normalize, median_voters, vec_mul,
};
use substrate_fixed::types::I32F32;

/// The largest block (rows x columns) the dense path lays out (32 MiB per matrix).
const MAX_SLOTS: usize = 1 << 22;

/// Where the block sits: its first column, its column count and its row count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Block {
    /// First column (uid) of the span.
    pub lo: usize,
    /// Columns in the span.
    pub m: usize,
    /// Rows with a weight or bond row, in uid order.
    pub rows: usize,
}

/// Buffers of the dense path, kept in the [`EpochWorkspace`]. Fixed-point values are held
/// as raw `I32F32` bits; matrices row-major, `rows x m`.
#[derive(Clone, Debug, Default)]
pub(super) struct DenseScratch {
    /// Block row of each uid (`usize::MAX` outside the block).
    slot_of: Vec<usize>,
    /// Uid of each block row.
    uids: Vec<usize>,
    /// The weights, masked and row-normalised; and column-major (`m x rows`).
    weights: Vec<i64>,
    columns: Vec<i64>,
    /// The bonds EMA.
    ema: Vec<i64>,
    /// One row of bonds as read.
    bond_row: Vec<i64>,
    /// Per column: consensus, rank, EMA sum and maximum; sums of the bonds as read and of the
    /// bond deltas (classic).
    cols: Vec<Column>,
    bond_sums: Vec<i64>,
    delta_sums: Vec<i64>,
    /// Per column: divisors by the sums and maxima above; for the fast classic path, as
    /// [`SmallShareDivisor`]s.
    bond_div: Vec<ColumnDivisor>,
    delta_small: Vec<SmallShareDivisor>,
    bond_small: Vec<SmallShareDivisor>,
    ema_small: Vec<SmallShareDivisor>,
    max_small: Vec<SmallShareDivisor>,
    delta_div: Vec<ColumnDivisor>,
    ema_div: Vec<ColumnDivisor>,
    max_div: Vec<ColumnDivisor>,
    /// Yuma3: the columns the dividends read (positive incentive and EMA sum), and for the
    /// fast path their incentives and sums as share divisors.
    live: Vec<LiveColumn>,
    live_small: Vec<(usize, u64, SmallShareDivisor)>,
    /// Per row: validator trust, the dividends' sum, active stake, median vote (normalised
    /// stake, -1 for no vote).
    trust: Vec<i64>,
    acc: Vec<i64>,
    stake: Vec<i64>,
    vote: Vec<i64>,
    /// One column's `(score, stake)` of positive scores, for the median, and each column's
    /// statistics of them.
    items: Vec<(i64, i64)>,
    stats: Vec<ColumnStats>,
    /// The bond row to store, by block row (empty without a new permit).
    stored: Vec<Vec<(u16, u16)>>,
}

impl DenseScratch {
    /// Takes the bond row the chain stores for `uid` (empty outside the block).
    pub fn take_bond_row(&mut self, uid: usize) -> Vec<(u16, u16)> {
        match self.slot_of.get(uid).and_then(|&r| self.stored.get_mut(r)) {
            Some(row) => std::mem::take(row),
            None => Vec::new(),
        }
    }
}

/// A column's divisor for `inplace_col_normalize_sparse` and its kin: by the column's sum (or
/// maximum), leaving values unchanged where it is 0.
#[derive(Clone, Copy, Debug)]
enum ColumnDivisor {
    /// The sum is 0.
    Zero,
    /// For `Ops::<true>` (every value in `[0, 1]`): the sum, at most 1.
    Small(SmallShareDivisor),
    /// For `Ops::<true>`: the sum, above 1 (or classic bonds' integer sums, see
    /// [`Run::ema_classic`]).
    Share(ShareDivisor),
    /// The crate's division.
    General(Divisor),
}

impl ColumnDivisor {
    /// By `sum`; with `FAST` a share divisor where one applies.
    fn new<const FAST: bool>(sum: i64) -> ColumnDivisor {
        if sum == 0 {
            return ColumnDivisor::Zero;
        }
        if FAST {
            if let Some(small) = SmallShareDivisor::new(sum) {
                return ColumnDivisor::Small(small);
            }
            if let Some(share) = ShareDivisor::new(sum) {
                return ColumnDivisor::Share(share);
            }
        }
        ColumnDivisor::General(Divisor::new(I32F32::from_bits(sum)))
    }

    /// `v / sum`, or `v` where the sum is 0; a share divisor needs `0 <= v <= min(sum, 1)`.
    #[inline(always)]
    fn apply(&self, v: i64) -> i64 {
        match self {
            ColumnDivisor::Zero => v,
            ColumnDivisor::Small(small) => small.div(v),
            ColumnDivisor::Share(share) => share.div(v),
            ColumnDivisor::General(general) => general.safe_div(I32F32::from_bits(v)).to_bits(),
        }
    }
}

/// One column's consensus, rank, and sum and maximum of the bonds EMA (raw bits).
#[derive(Clone, Copy, Debug, Default)]
struct Column {
    consensus: i64,
    rank: i64,
    ema_sum: i64,
    ema_max: i64,
}

/// A column's voters with a positive score: count, score range and stake sum (raw bits).
#[derive(Clone, Copy, Debug)]
struct ColumnStats {
    count: usize,
    min: i64,
    max: i64,
    stake: i64,
}

/// A column the Yuma3 dividends read: its index, incentive and EMA sum.
#[derive(Clone, Copy, Debug)]
struct LiveColumn {
    jj: usize,
    incentive: i64,
    div: ColumnDivisor,
}

/// The block for `input` when the dense path applies: no liquid alpha in Yuma3, every uid in
/// range, and (unless `always`) at most two slots per stored weight or bond.
pub(super) fn plan(input: &EpochInput, always: bool) -> Option<Block> {
    if input.params.yuma3 && input.params.liquid_alpha {
        return None;
    }
    let n = input.neurons.len();
    // The span from each row's first and last column: every column of a strictly increasing
    // row; an entry of another row outside it sends the epoch to the sparse path (`core`).
    let (mut rows, mut nnz, mut lo, mut hi) = (0usize, 0usize, u16::MAX, 0u16);
    for neuron in &input.neurons {
        if neuron.weights.is_empty() && neuron.bonds.is_empty() {
            continue;
        }
        rows += 1;
        nnz += neuron.weights.len() + neuron.bonds.len();
        for row in [&neuron.weights, &neuron.bonds] {
            if let (Some(first), Some(last)) = (row.first(), row.last()) {
                lo = lo.min(first.0).min(last.0);
                hi = hi.max(first.0).max(last.0);
            }
        }
    }
    if rows == 0 || usize::from(hi) >= n {
        return None; // nothing to lay out, or a uid out of range (the sparse path reports it)
    }
    let (lo, hi) = (usize::from(lo), usize::from(hi));
    let m = hi - lo + 1;
    let slots = rows.checked_mul(m)?;
    if slots > MAX_SLOTS || (!always && slots > 2 * nnz) {
        return None;
    }
    Some(Block { lo, m, rows })
}

/// Consensus, trust, incentive, bonds and dividends on the dense block (the sparse path's
/// steps from the weights to the dividends): fills `ws.consensus`, `ws.validator_trust`,
/// `ws.incentive`, `ws.dividends` and the stored bond rows in `ws.dense`. `Ok(false)` when an
/// entry of a row whose columns do not increase lies outside the block: nothing is valid
/// then, and the caller takes the sparse path. `saturating`: never the plain arithmetic of
/// [`Ops`] (for tests; same results).
#[allow(clippy::too_many_arguments)]
pub(super) fn core(
    ws: &mut EpochWorkspace,
    input: &EpochInput,
    block: Block,
    kappa: I32F32,
    bonds_penalty: I32F32,
    last_tempo: u64,
    alpha: I32F32,
    saturating: bool,
) -> Result<bool, EpochError> {
    let n = input.neurons.len();
    let Block { lo, m, rows } = block;
    let yuma3 = input.params.yuma3;
    let EpochWorkspace {
        forbids,
        last_update,
        registered,
        commit_blocks,
        new_permits,
        active_stake,
        consensus,
        validator_trust,
        incentive,
        dividends,
        bonds_per_validator,
        median,
        seen,
        stamp,
        dense: d,
        ..
    } = ws;
    let owner = input.owner_uid.map(usize::from);
    let registered = &registered[..n];

    // == Weights == (the sparse path's masks, then each row normalised by its sum)
    d.slot_of.clear();
    d.slot_of.resize(n, usize::MAX);
    d.uids.clear();
    // Reused without clearing: every row is written in full below.
    d.weights.truncate(rows * m);
    d.weights.resize(rows * m, 0);
    // The latest registration in the span: a row updated after it (and committed no earlier)
    // keeps every weight but a self-weight.
    let registered_max = registered[lo..lo + m].iter().copied().max().unwrap_or(0);
    // Whether every row's kept weights sum (as u16 values) below 2^31: the sum of their raw
    // bits then does not wrap, and every normalised weight is in [0, 1].
    let mut weights_in_range = true;
    let mut wrows = d.weights.chunks_exact_mut(m);
    for (i, neuron) in input.neurons.iter().enumerate() {
        if neuron.weights.is_empty() && neuron.bonds.is_empty() {
            continue;
        }
        d.slot_of[i] = d.uids.len();
        d.uids.push(i);
        let Some(wrow) = wrows.next() else { break };
        let row = &neuron.weights[..];
        // A strictly increasing row in the span lists no uid twice; any other is checked.
        let consecutive = !row.is_empty() && is_consecutive(row, lo, m);
        if !row.is_empty() && !consecutive && !is_strictly_increasing(row) {
            check_row(seen, stamp, n, i, "weights", row)?;
        }
        let updated = last_update[i];
        let committed = commit_blocks.get(i).copied().unwrap_or(u64::MAX);
        let all_kept = !forbids[i] && updated > registered_max && committed >= registered_max;
        if !(consecutive && all_kept) {
            wrow.fill(0); // the buffer is reused: only a row written in full skips this
        }
        if row.is_empty() || forbids[i] {
            continue; // no weights, or every weight dropped: the row is 0
        }
        // The column of a self-weight, which is dropped (the owner may weight itself).
        let own = if owner == Some(i) { usize::MAX } else { i };
        if all_kept {
            // Every weight kept but a self-weight: normalise while storing.
            let kept = |(j, w): (u16, u16)| if usize::from(j) == own { 0 } else { u64::from(w) };
            let total: u64 = if consecutive {
                // The self-weight, if any, sits at its column's position.
                let all: u64 = row.iter().map(|&(_, w)| u64::from(w)).sum();
                all - own.checked_sub(lo).and_then(|k| row.get(k)).map_or(0, |&(_, w)| u64::from(w))
            } else {
                row.iter().map(|&x| kept(x)).sum()
            };
            if total == 0 {
                wrow.fill(0);
                continue;
            }
            if total < 1 << 31 {
                // floor((w 2^32) 2^32 / (total 2^32)) = floor(w 2^32 / total), w <= total.
                let in_block = match (SmallShareDivisor::new(total as i64), U64Divisor::new(total)) {
                    (Some(share), _) => normalise_row(wrow, row, lo, own, consecutive, |w| share.div(w as i64)),
                    (None, Some(div)) => normalise_row(wrow, row, lo, own, consecutive, |w| div.div(w << 32) as i64),
                    (None, None) => true, // total 0: handled above
                };
                if !in_block {
                    return Ok(false);
                }
                continue;
            }
            weights_in_range = false;
            let bits = (total << 32) as i64; // the wrapping sum of the raw bits
            let divisor = Divisor::new(I32F32::from_bits(bits));
            for &(j, w) in row {
                let v = (kept((j, w)) << 32) as i64;
                let Some(cell) = wrow.get_mut(usize::from(j).wrapping_sub(lo)) else { return Ok(false) };
                *cell = if bits > 0 { divisor.safe_div(I32F32::from_bits(v)).to_bits() } else { v };
            }
        } else {
            let mut total = 0u64;
            for &(j, w) in row {
                let jj = usize::from(j);
                let reg = registered[jj];
                let w = if jj != own && updated > reg && committed >= reg { w } else { 0 };
                let Some(cell) = wrow.get_mut(jj.wrapping_sub(lo)) else { return Ok(false) };
                *cell = i64::from(w) << 32;
                total += u64::from(w);
            }
            weights_in_range &= total < 1 << 31;
            let bits = (total << 32) as i64;
            if bits > 0 {
                let divisor = Divisor::new(I32F32::from_bits(bits));
                for v in wrow.iter_mut() {
                    *v = divisor.safe_div(I32F32::from_bits(*v)).to_bits();
                }
            }
        }
    }

    // == Per-row stakes ==
    let voters = median_voters(active_stake, kappa, &mut median.use_stake, &mut median.row_stake);
    d.stake.clear();
    d.stake.extend(d.uids.iter().map(|&i| active_stake[i].to_bits()));
    d.vote.clear();
    d.vote.extend(d.uids.iter().map(|&i| match voters {
        Some(_) if active_stake[i] > ZERO => median.row_stake[i].to_bits(),
        _ => -1,
    }));

    // Every value in [0, 1] and few enough rows that no sum saturates: the fixed-point
    // operations reduce to plain integer ones, see [`Ops`].
    let one = ONE.to_bits();
    let fast = !saturating && weights_in_range && d.stake.iter().all(|&s| (0..=one).contains(&s)) && rows < 1 << 15;
    let run = Run {
        input,
        lo,
        m,
        rows,
        penalty: bonds_penalty.to_bits(),
        alpha: alpha.to_bits(),
        keep: one.saturating_sub(alpha.to_bits()),
        last_tempo,
        registered,
        bonds_all_kept: last_tempo > registered_max,
        permits: new_permits,
    };

    // == Bonds as read == (classic: checked and summed by column first)
    if !yuma3 && !run.bond_sums(d, seen, stamp)? {
        return Ok(false);
    }

    // == Consensus == (and classic bonds' delta sums)
    if fast {
        run.consensus::<true>(d, voters.as_ref(), &mut median.select, yuma3);
    } else {
        run.consensus::<false>(d, voters.as_ref(), &mut median.select, yuma3);
    }

    // == Clip, trust, rank, bonds EMA ==
    let in_block = match (yuma3, fast) {
        (true, true) => run.ema_yuma3::<true>(d, seen, stamp)?,
        (true, false) => run.ema_yuma3::<false>(d, seen, stamp)?,
        (false, true) => run.ema_classic::<true>(d),
        (false, false) => run.ema_classic::<false>(d),
    };
    if !in_block {
        return Ok(false);
    }
    consensus.clear();
    consensus.resize(n, ZERO);
    incentive.clear();
    incentive.resize(n, ZERO);
    for (jj, col) in d.cols.iter().enumerate() {
        consensus[lo + jj] = I32F32::from_bits(col.consensus);
        incentive[lo + jj] = I32F32::from_bits(col.rank);
    }
    validator_trust.clear();
    validator_trust.resize(n, ZERO);
    scatter(&d.uids, &d.trust, validator_trust);

    // == Incentive ==
    inplace_normalize(incentive);

    // == Dividends ==
    match (yuma3, fast) {
        (true, true) => run.dividends_yuma3::<true>(d, incentive),
        (true, false) => run.dividends_yuma3::<false>(d, incentive),
        (false, true) => run.dividends_classic::<true>(d, incentive),
        (false, false) => run.dividends_classic::<false>(d, incentive),
    }
    if yuma3 {
        bonds_per_validator.clear();
        bonds_per_validator.resize(n, ZERO);
        scatter(&d.uids, &d.acc, bonds_per_validator);
        vec_mul(bonds_per_validator, active_stake, dividends);
    } else {
        dividends.clear();
        dividends.resize(n, ZERO);
        scatter(&d.uids, &d.acc, dividends);
    }
    inplace_normalize(dividends);
    Ok(true)
}

/// Stores a row whose weights are all kept but the self-weight at column `own`: `norm(w)` for
/// each weight `w`, 0 for the self-weight. `false` when an entry lies outside the block.
#[inline(always)]
fn normalise_row(
    wrow: &mut [i64],
    row: &[(u16, u16)],
    lo: usize,
    own: usize,
    consecutive: bool,
    norm: impl Fn(u64) -> i64,
) -> bool {
    if consecutive {
        for (cell, &(_, w)) in wrow.iter_mut().zip(row) {
            *cell = norm(u64::from(w));
        }
        if let Some(cell) = own.checked_sub(lo).and_then(|k| wrow.get_mut(k)) {
            *cell = 0; // the dropped self-weight
        }
        return true;
    }
    for &(j, w) in row {
        let Some(cell) = wrow.get_mut(usize::from(j).wrapping_sub(lo)) else { return false };
        *cell = if usize::from(j) == own { 0 } else { norm(u64::from(w)) };
    }
    true
}

/// True when the row lists exactly the columns `lo .. lo + m`, in order.
fn is_consecutive(row: &[(u16, u16)], lo: usize, m: usize) -> bool {
    // An OR of differences rather than an early exit: the compiler vectorises it.
    let Ok(lo) = u32::try_from(lo) else { return false };
    row.len() == m && row.iter().zip(lo..).fold(0u32, |diff, (&(j, _), want)| diff | (u32::from(j) ^ want)) == 0
}

/// True when the row's columns strictly increase.
fn is_strictly_increasing(row: &[(u16, u16)]) -> bool {
    row.windows(2).all(|w| w[0].0 < w[1].0)
}

/// Checks a row whose columns do not strictly increase for unknown and repeated uids, as
/// the sparse path does (a strictly increasing row in the block's span has neither).
fn check_row(
    seen: &mut Vec<u32>,
    stamp: &mut u32,
    n: usize,
    uid: usize,
    field: &'static str,
    row: &[(u16, u16)],
) -> Result<(), EpochError> {
    let stamp = next_stamp(seen, stamp, n);
    for (index, &(j, _)) in row.iter().enumerate() {
        check_entry(seen, stamp, uid, field, index, j)?;
    }
    Ok(())
}

/// The fixed-point operations of the passes on raw `I32F32` bits. With `FAST` the caller has
/// checked that every operand is in `[0, 1]` (bits `0 ..= 2^32`) and that no sum can reach
/// `2^63`: a product of two such values is `floor(a b / 2^32) <= 2^32` (computed in 64 bits,
/// which hold `a b` unless `a = 1`), which the crate's saturating multiply returns unchanged,
/// no sum saturates, and a value in `[0, 1]` is stored
/// as `floor(v 65535)` (the first case of `fixed_proportion_to_u16`), so plain integer
/// arithmetic gives the same bits. Without `FAST`, the crate's saturating operations.
struct Ops<const FAST: bool>;

impl<const FAST: bool> Ops<FAST> {
    #[inline(always)]
    fn mul(a: i64, b: i64) -> i64 {
        if FAST {
            // a < 2^32 and b <= 2^32: a b < 2^64 fits the 64-bit product; a = 2^32 gives b.
            let product = ((a as u64).wrapping_mul(b as u64) >> 32) as i64;
            if a == 1 << 32 { b } else { product }
        } else {
            fixed::saturating_mul(I32F32::from_bits(a), I32F32::from_bits(b)).to_bits()
        }
    }

    #[inline(always)]
    fn add(a: i64, b: i64) -> i64 {
        if FAST { a.wrapping_add(b) } else { a.saturating_add(b) }
    }

    #[inline(always)]
    fn to_u16(v: i64) -> u16 {
        if FAST {
            ((v as u64 * u64::from(u16::MAX)) >> 32) as u16
        } else {
            fixed_proportion_to_u16(I32F32::from_bits(v))
        }
    }
}

/// What the passes read: the block, the bond parameters (raw bits) and the input.
struct Run<'a> {
    input: &'a EpochInput,
    lo: usize,
    m: usize,
    rows: usize,
    penalty: i64,
    alpha: i64,
    keep: i64,
    last_tempo: u64,
    registered: &'a [u64],
    /// Every bond in the span is kept (no miner registered since the last epoch).
    bonds_all_kept: bool,
    permits: &'a [bool],
}

impl Run<'_> {
    /// `weights_for_bonds` of one entry: the weight (penalty 0), the clipped weight (penalty
    /// 1), or in between their interpolation, kept where positive (`interpolate_sparse`).
    #[inline(always)]
    fn for_bonds<const FAST: bool>(&self, w: i64, clipped: i64) -> i64 {
        if self.penalty == ONE.to_bits() {
            clipped
        } else if self.penalty == 0 {
            w
        } else {
            let step =
                fixed::saturating_mul(I32F32::from_bits(self.penalty), I32F32::from_bits(clipped.saturating_sub(w)));
            Ops::<FAST>::add(w, step.to_bits()).max(0)
        }
    }

    /// Reads the bonds of `uid` into `row` (dropped to miners registered since the last
    /// epoch; Yuma3 reads `b / 65535`, classic the raw value); checks the row when `check`.
    /// `Ok(false)` when a bond lies outside the block.
    fn read_bonds(
        &self,
        uid: usize,
        row: &mut [i64],
        yuma3: bool,
        check: Option<(&mut Vec<u32>, &mut u32)>,
    ) -> Result<bool, EpochError> {
        row.fill(0);
        let bonds = &self.input.neurons[uid].bonds[..];
        if let Some((seen, stamp)) = check
            && !is_strictly_increasing(bonds)
        {
            check_row(seen, stamp, self.input.neurons.len(), uid, "bonds", bonds)?;
        }
        let read = |b: u16| if yuma3 { u16_proportion(b) } else { i64::from(b) << 32 };
        for &(j, b) in bonds {
            let jj = usize::from(j);
            let Some(cell) = row.get_mut(jj.wrapping_sub(self.lo)) else { return Ok(false) };
            if self.bonds_all_kept || self.last_tempo > self.registered[jj] {
                *cell = read(b);
            }
        }
        Ok(true)
    }

    /// Classic bonds: checks every bond row and sums the bonds as read by column.
    fn bond_sums(&self, d: &mut DenseScratch, seen: &mut Vec<u32>, stamp: &mut u32) -> Result<bool, EpochError> {
        d.bond_sums.clear();
        d.bond_sums.resize(self.m, 0);
        d.bond_row.clear();
        d.bond_row.resize(self.m, 0);
        for &uid in &d.uids {
            let bonds = &self.input.neurons[uid].bonds[..];
            if self.bonds_all_kept && is_consecutive(bonds, self.lo, self.m) {
                // Every column listed in order (so checked): summed in place.
                for (s, &(_, b)) in d.bond_sums.iter_mut().zip(bonds) {
                    *s = s.saturating_add(i64::from(b) << 32);
                }
                continue;
            }
            if !self.read_bonds(uid, &mut d.bond_row, false, Some((&mut *seen, &mut *stamp)))? {
                return Ok(false);
            }
            for (s, &b) in d.bond_sums.iter_mut().zip(&d.bond_row) {
                *s = s.saturating_add(b);
            }
        }
        Ok(true)
    }

    /// Column by column: consensus (the stake-weighted median of the column); classic bonds
    /// also sum each column's bond deltas (weights for bonds x active stake).
    fn consensus<const FAST: bool>(
        &self,
        d: &mut DenseScratch,
        voters: Option<&MedianVoters>,
        select: &mut SelectScratch,
        yuma3: bool,
    ) {
        d.cols.clear();
        d.cols.resize(self.m, Column::default());
        d.delta_sums.clear();
        d.delta_sums.resize(self.m, 0);
        d.items.clear();
        d.items.resize(self.rows, (0, 0));
        // The weights column by column, and each column's positive scores of voters: their
        // count, range and stake (normalised stakes sum to about 1: no overflow).
        let (m, rows) = (self.m, self.rows);
        // Reused without clearing: the transpose writes every entry.
        d.columns.truncate(m * rows);
        d.columns.resize(m * rows, 0);
        d.stats.clear();
        d.stats.resize(m, ColumnStats { count: 0, min: i64::MAX, max: 0, stake: 0 });
        // By blocks of 8 rows: one cache line of each column at a time (a column's stride is
        // often a power of two, which would crowd a few cache sets row by row).
        for (b, block) in d.weights.chunks(8 * m).enumerate() {
            let height = block.len() / m;
            let votes = &d.vote[8 * b..8 * b + height];
            for (jj, (out, st)) in d.columns.chunks_exact_mut(rows).zip(d.stats.iter_mut()).enumerate() {
                let ColumnStats { mut count, mut min, mut max, mut stake } = *st;
                for (r, (cell, &s)) in out[8 * b..8 * b + height].iter_mut().zip(votes).enumerate() {
                    let w = block[r * m + jj];
                    *cell = w;
                    let counts = w > 0 && s >= 0;
                    count += usize::from(counts);
                    min = if counts { min.min(w) } else { min };
                    max = if counts { max.max(w) } else { max };
                    stake = stake.wrapping_add(if counts { s } else { 0 });
                }
                *st = ColumnStats { count, min, max, stake };
            }
        }
        let vote = &d.vote[..rows];
        let stake = &d.stake[..rows];
        let hint = &self.input.consensus_hint;
        let mut hints = (self.lo..self.lo + m).map(|uid| hint.get(uid).map(|c| c.to_bits()));
        let columns = d.columns.chunks_exact(rows).zip(d.stats.iter()).zip(d.cols.iter_mut().zip(&mut d.delta_sums));
        for ((col, st), (column, delta_sum)) in columns {
            let c = &mut column.consensus;
            if let Some(v) = voters {
                let ColumnStats { count, min, max, stake } = *st;
                // The previous epoch's consensus of this column, a guess only.
                let hint = hints.next().flatten();
                *c = if count == rows {
                    // Every row votes with a positive score: the column itself.
                    let items = col.iter().copied().zip(vote.iter().copied());
                    v.column_median(items, count, min, max, stake, hint, select)
                } else {
                    let mut n = 0;
                    for (&w, &s) in col.iter().zip(vote) {
                        if w > 0 && s >= 0 {
                            d.items[n] = (w, s);
                            n += 1;
                        }
                    }
                    v.column_median(d.items[..n].iter().copied(), n, min, max, stake, hint, select)
                };
            }
            if !yuma3 {
                let c = *c;
                *delta_sum = col.iter().zip(stake).fold(0, |acc, (&w, &s)| {
                    Ops::<FAST>::add(acc, Ops::<FAST>::mul(self.for_bonds::<FAST>(w, w.min(c)), s))
                });
            }
        }
    }

    /// Starts the row passes: clears trust, ranks and the EMA's column sums.
    fn start_rows(&self, d: &mut DenseScratch) {
        d.trust.clear();
        d.trust.resize(self.rows, 0);
        for col in &mut d.cols {
            (col.rank, col.ema_sum, col.ema_max) = (0, 0, 0);
        }
        // Reused without clearing: every row pass writes every entry.
        d.ema.truncate(self.rows * self.m);
        d.ema.resize(self.rows * self.m, 0);
        d.bond_row.clear();
        d.bond_row.resize(self.m, 0);
        d.stored.resize_with(self.rows, Vec::new);
        d.stored.truncate(self.rows);
    }

    /// Yuma3, row by row: clip, trust, rank, and the EMA of the weights for bonds with the
    /// bonds as read (`mat_ema_sparse`), stored as `u16` where positive; checks bond rows.
    fn ema_yuma3<const FAST: bool>(
        &self,
        d: &mut DenseScratch,
        seen: &mut Vec<u32>,
        stamp: &mut u32,
    ) -> Result<bool, EpochError> {
        self.start_rows(d);
        let m = self.m;
        let rows = d.weights.chunks_exact(m).zip(d.ema.chunks_exact_mut(m));
        for (r, (wrow, erow)) in rows.enumerate() {
            let uid = d.uids[r];
            let s = d.stake[r];
            let cols = &mut d.cols[..m];
            let bonds = &self.input.neurons[uid].bonds[..];
            let trust = if self.bonds_all_kept && is_consecutive(bonds, self.lo, m) {
                // Every column listed in order: the row's bonds read in place.
                let bonds = &bonds[..m];
                self.ema_row_yuma3::<FAST>(s, &wrow[..m], erow, cols, |jj| u16_proportion(bonds[jj].1))
            } else {
                if !self.read_bonds(uid, &mut d.bond_row, true, Some((&mut *seen, &mut *stamp)))? {
                    return Ok(false);
                }
                let brow = &d.bond_row[..m];
                self.ema_row_yuma3::<FAST>(s, &wrow[..m], erow, cols, |jj| brow[jj])
            };
            d.trust[r] = trust;
            d.stored[r] = if self.permits[uid] {
                stored_row(self.lo, erow, |v| v > 0, |_, v| Ops::<FAST>::to_u16(v))
            } else {
                Vec::new()
            };
        }
        Ok(true)
    }

    /// One Yuma3 row (`bond(jj)` reads the bond as read): clip, rank, EMA and its column
    /// sums into `cols`, the EMA into `erow`; returns the row's trust.
    #[inline(always)]
    fn ema_row_yuma3<const FAST: bool>(
        &self,
        s: i64,
        wrow: &[i64],
        erow: &mut [i64],
        cols: &mut [Column],
        bond: impl Fn(usize) -> i64,
    ) -> i64 {
        let one = ONE.to_bits();
        if FAST && self.alpha < one && self.keep < one && s < one {
            // Every left factor below 1: each product fits 64 bits, with no case for 1.
            let (alpha, keep, s) = (self.alpha as u64, self.keep as u64, s as u64);
            if self.penalty == one {
                return ema_row_plain::<true>(alpha, keep, s, wrow, erow, cols, bond);
            }
            if self.penalty == 0 {
                return ema_row_plain::<false>(alpha, keep, s, wrow, erow, cols, bond);
            }
        }
        let m = wrow.len();
        let (erow, cols) = (&mut erow[..m], &mut cols[..m]);
        let mut trust = 0i64;
        for jj in 0..m {
            let w = wrow[jj];
            let col = &mut cols[jj];
            let clipped = w.min(col.consensus);
            trust = trust.wrapping_add(clipped);
            let f = self.for_bonds::<FAST>(w, clipped);
            let v = Ops::<FAST>::add(Ops::<FAST>::mul(self.alpha, f), Ops::<FAST>::mul(self.keep, bond(jj)));
            erow[jj] = v;
            col.rank = Ops::<FAST>::add(col.rank, Ops::<FAST>::mul(s, clipped));
            col.ema_sum = Ops::<FAST>::add(col.ema_sum, v);
        }
        trust
    }

    /// Classic bonds, row by row: clip, trust, rank, and the EMA of the column-normalised
    /// bond deltas with the column-normalised bonds as read.
    ///
    /// The bonds as read are `b 2^32` for a stored `b`, their column sums `B 2^32` (no sum
    /// saturates with `FAST`), so `b 2^32 / (B 2^32)` is divided as the share `b / B`.
    fn ema_classic<const FAST: bool>(&self, d: &mut DenseScratch) -> bool {
        self.start_rows(d);
        let m = self.m;
        let one = ONE.to_bits();
        let plain = FAST && self.alpha < one && self.keep < one && (self.penalty == 0 || self.penalty == one);
        let small = plain
            && small_divisors(d.delta_sums.iter().copied(), &mut d.delta_small)
            && small_divisors(d.bond_sums.iter().map(|&s| s >> 32), &mut d.bond_small);
        d.delta_div.clear();
        d.bond_div.clear();
        if !small || d.stake.iter().any(|&s| s >= one) {
            // Some rows take the general kernel.
            d.delta_div.extend(d.delta_sums.iter().map(|&s| ColumnDivisor::new::<FAST>(s)));
            // With FAST, bonds as read `b 2^32` divide as the share `b / B` of their integer
            // sums `B 2^32`; else as they are.
            d.bond_div.extend(d.bond_sums.iter().map(|&s| ColumnDivisor::new::<FAST>(if FAST { s >> 32 } else { s })));
        }
        let rows = d.weights.chunks_exact(m).zip(d.ema.chunks_exact_mut(m));
        for (r, (wrow, erow)) in rows.enumerate() {
            let uid = d.uids[r];
            let s = d.stake[r];
            let bonds = &self.input.neurons[uid].bonds[..];
            let consecutive = self.bonds_all_kept && is_consecutive(bonds, self.lo, m);
            if small && s < one {
                if !consecutive && !matches!(self.read_bonds(uid, &mut d.bond_row, false, None), Ok(true)) {
                    return false;
                }
                let (wrow, cols, dd, bd) = (&wrow[..m], &mut d.cols[..m], &d.delta_small[..m], &d.bond_small[..m]);
                d.trust[r] = if consecutive {
                    let bonds = &bonds[..m];
                    ema_row_classic_plain(
                        self.penalty == one,
                        self.alpha,
                        self.keep,
                        s,
                        wrow,
                        erow,
                        cols,
                        dd,
                        bd,
                        |jj| i64::from(bonds[jj].1),
                    )
                } else {
                    let brow = &d.bond_row[..m];
                    ema_row_classic_plain(
                        self.penalty == one,
                        self.alpha,
                        self.keep,
                        s,
                        wrow,
                        erow,
                        cols,
                        dd,
                        bd,
                        |jj| brow[jj] >> 32,
                    )
                };
                continue;
            }
            let (cols, delta_div, bond_div) = (&mut d.cols[..m], &d.delta_div[..m], &d.bond_div[..m]);
            d.trust[r] = if self.bonds_all_kept && is_consecutive(bonds, self.lo, m) {
                // Every column listed in order: the row's bonds read in place.
                let bonds = &bonds[..m];
                let bond = |jj: usize| i64::from(bonds[jj].1) << 32;
                self.ema_row_classic::<FAST>(s, &wrow[..m], erow, cols, delta_div, bond_div, bond)
            } else {
                // Checked and found in the block by `bond_sums`.
                if !matches!(self.read_bonds(uid, &mut d.bond_row, false, None), Ok(true)) {
                    return false;
                }
                let brow = &d.bond_row[..m];
                self.ema_row_classic::<FAST>(s, &wrow[..m], erow, cols, delta_div, bond_div, |jj| brow[jj])
            };
        }
        true
    }

    /// One classic row (`bond(jj)` reads the bond as read, `b 2^32`): clip, rank, the EMA of
    /// the normalised delta and bond and its column sums into `cols`, the EMA into `erow`;
    /// returns the row's trust.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn ema_row_classic<const FAST: bool>(
        &self,
        s: i64,
        wrow: &[i64],
        erow: &mut [i64],
        cols: &mut [Column],
        delta_div: &[ColumnDivisor],
        bond_div: &[ColumnDivisor],
        bond: impl Fn(usize) -> i64,
    ) -> i64 {
        let m = wrow.len();
        let (erow, cols, delta_div, bond_div) = (&mut erow[..m], &mut cols[..m], &delta_div[..m], &bond_div[..m]);
        let mut trust = 0i64;
        for jj in 0..m {
            let w = wrow[jj];
            let col = &mut cols[jj];
            let clipped = w.min(col.consensus);
            trust = trust.wrapping_add(clipped);
            let delta = delta_div[jj].apply(Ops::<FAST>::mul(self.for_bonds::<FAST>(w, clipped), s));
            let b = bond(jj);
            let old = if FAST { bond_div[jj].apply(b >> 32) } else { bond_div[jj].apply(b) };
            let v = Ops::<FAST>::add(Ops::<FAST>::mul(self.alpha, delta), Ops::<FAST>::mul(self.keep, old));
            erow[jj] = v;
            col.rank = Ops::<FAST>::add(col.rank, Ops::<FAST>::mul(s, clipped));
            col.ema_sum = Ops::<FAST>::add(col.ema_sum, v);
            col.ema_max = col.ema_max.max(v);
        }
        trust
    }

    /// Yuma3: each row's bonds per validator, the column-normalised EMA . incentive
    /// (`col_normalized_row_dot_sparse`; columns with no incentive or no bonds add nothing).
    fn dividends_yuma3<const FAST: bool>(&self, d: &mut DenseScratch, incentive: &[I32F32]) {
        let live = d.cols.iter().enumerate().filter_map(|(jj, col)| {
            let x = incentive[self.lo + jj].to_bits();
            (x != 0 && col.ema_sum != 0).then_some((jj, x, col.ema_sum))
        });
        d.acc.clear();
        d.live_small.clear();
        let small = FAST
            && live.clone().all(|(jj, x, sum)| match SmallShareDivisor::new(sum) {
                Some(share) => {
                    d.live_small.push((jj, x as u64, share));
                    true
                }
                None => false,
            });
        if small {
            // Column sums at most 1 (the usual case), shares and incentives in [0, 1]: the
            // share's product with the incentive fits 64 bits unless the incentive is 1.
            for erow in d.ema.chunks_exact(self.m) {
                let mut acc = 0u64;
                for &(jj, x, share) in &d.live_small {
                    let q = share.div(erow[jj]) as u64;
                    acc = acc.wrapping_add(if x == 1 << 32 { q } else { (q * x) >> 32 });
                }
                d.acc.push(acc as i64);
            }
            return;
        }
        d.live.clear();
        d.live.extend(live.map(|(jj, incentive, sum)| LiveColumn {
            jj,
            incentive,
            div: ColumnDivisor::new::<FAST>(sum),
        }));
        for erow in d.ema.chunks_exact(self.m) {
            let mut acc = 0i64;
            for col in &d.live {
                let share = col.div.apply(erow[col.jj]);
                acc = acc.wrapping_add(Ops::<FAST>::mul(share, col.incentive));
            }
            d.acc.push(acc);
        }
    }

    /// Classic bonds: column-normalise the EMA (`inplace_col_normalize_sparse`), the
    /// dividends from it and the incentive (`matmul_transpose_sparse`), and the stored rows,
    /// max-upscaled by column (`inplace_col_max_upscale_sparse`).
    ///
    /// The column maximum of the normalised EMA is the normalised column maximum of the EMA
    /// (`floor(e 2^32 / s)` does not decrease with `e`), so each entry is normalised, summed
    /// into the dividends and max-upscaled in one pass.
    fn dividends_classic<const FAST: bool>(&self, d: &mut DenseScratch, incentive: &[I32F32]) {
        let m = self.m;
        let incentive = &incentive[self.lo..self.lo + m];
        d.acc.clear();
        if FAST && small_divisors(d.cols.iter().map(|col| col.ema_sum), &mut d.ema_small) {
            let maxes = d.cols.iter().zip(&d.ema_small).map(|(col, div)| div.div(col.ema_max));
            if small_divisors(maxes, &mut d.max_small) {
                let (ema_div, max_div) = (&d.ema_small[..m], &d.max_small[..m]);
                for (r, erow) in d.ema.chunks_exact(m).enumerate() {
                    let permit = self.permits[d.uids[r]];
                    let norm = |jj: usize, e: i64| ema_div[jj].div(e);
                    let (acc, stored) =
                        self.classic_row::<FAST>(erow, &mut d.bond_row, incentive, permit, norm, |jj, e| {
                            max_div[jj].div(e)
                        });
                    d.acc.push(acc);
                    d.stored[r] = stored;
                }
                return;
            }
        }
        d.ema_div.clear();
        d.ema_div.extend(d.cols.iter().map(|col| ColumnDivisor::new::<FAST>(col.ema_sum)));
        d.max_div.clear();
        d.max_div
            .extend(d.cols.iter().zip(&d.ema_div).map(|(col, div)| ColumnDivisor::new::<FAST>(div.apply(col.ema_max))));
        let (ema_div, max_div) = (&d.ema_div[..m], &d.max_div[..m]);
        for (r, erow) in d.ema.chunks_exact(m).enumerate() {
            let permit = self.permits[d.uids[r]];
            let norm = |jj: usize, e: i64| ema_div[jj].apply(e);
            let (acc, stored) =
                self.classic_row::<FAST>(erow, &mut d.bond_row, incentive, permit, norm, |jj, e| max_div[jj].apply(e));
            d.acc.push(acc);
            d.stored[r] = stored;
        }
    }

    /// One classic row of the EMA: each entry normalised (`norm`, into `nrow`), the dividends'
    /// sum of the normalised row . incentive, and (with a permit) the stored row, the
    /// normalised entries max-upscaled (`upscale`) where the EMA is positive.
    #[inline(always)]
    fn classic_row<const FAST: bool>(
        &self,
        erow: &[i64],
        nrow: &mut [i64],
        incentive: &[I32F32],
        permit: bool,
        norm: impl Fn(usize, i64) -> i64,
        upscale: impl Fn(usize, i64) -> i64,
    ) -> (i64, Vec<(u16, u16)>) {
        let m = erow.len();
        let (nrow, incentive) = (&mut nrow[..m], &incentive[..m]);
        let mut acc = 0i64;
        for jj in 0..m {
            // A missing entry is 0 and normalises to 0, adding nothing.
            let en = norm(jj, erow[jj]);
            nrow[jj] = en;
            acc = Ops::<FAST>::add(acc, Ops::<FAST>::mul(incentive[jj].to_bits(), en));
        }
        let nrow = &nrow[..m];
        let code = |jj: usize, _: i64| Ops::<FAST>::to_u16(upscale(jj, nrow[jj]));
        let stored = if permit { stored_row(self.lo, erow, |e| e > 0, code) } else { Vec::new() };
        (acc, stored)
    }
}

/// One Yuma3 row of [`Run::ema_row_yuma3`] when `alpha`, `keep` and `s` are below 1 and every
/// other operand is in `[0, 1]`: each product `a b` is below `2^64`, so it is the crate's
/// `floor(a b / 2^32)` in plain 64-bit arithmetic, and no sum overflows. `CLIPPED`: the bonds
/// follow the clipped weights (penalty 1), else the weights (penalty 0).
#[inline(always)]
fn ema_row_plain<const CLIPPED: bool>(
    alpha: u64,
    keep: u64,
    s: u64,
    wrow: &[i64],
    erow: &mut [i64],
    cols: &mut [Column],
    bond: impl Fn(usize) -> i64,
) -> i64 {
    let m = wrow.len();
    let (erow, cols) = (&mut erow[..m], &mut cols[..m]);
    let mut trust = 0u64;
    for jj in 0..m {
        let w = wrow[jj] as u64;
        let col = &mut cols[jj];
        let clipped = w.min(col.consensus as u64);
        trust = trust.wrapping_add(clipped);
        let f = if CLIPPED { clipped } else { w };
        let v = ((alpha * f) >> 32) + ((keep * bond(jj) as u64) >> 32);
        erow[jj] = v as i64;
        col.rank += ((s * clipped) >> 32) as i64;
        col.ema_sum += v as i64;
    }
    trust as i64
}

/// Divisors by `sums` as [`SmallShareDivisor`]s when every sum is 0 or in `2 ..= 2^32` (a
/// column summing to 0 holds only zeros, which any divisor leaves 0, as the chain leaves them
/// unchanged). `false` otherwise.
fn small_divisors(sums: impl Iterator<Item = i64>, out: &mut Vec<SmallShareDivisor>) -> bool {
    out.clear();
    for sum in sums {
        match SmallShareDivisor::new(if sum == 0 { 2 } else { sum }) {
            Some(div) => out.push(div),
            None => return false,
        }
    }
    true
}

/// One classic row of [`Run::ema_row_classic`] in plain 64-bit arithmetic: `alpha`, `keep`
/// and `s` below 1, every other operand in `[0, 1]`, column sums as [`SmallShareDivisor`]s
/// (`delta_div` of the bond deltas, `bond_div` of the stored bonds, which `bond(jj)` reads as
/// integers: `b 2^32 / (B 2^32)` is the share `b / B`). `clipped`: penalty 1, else 0.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn ema_row_classic_plain(
    clipped_bonds: bool,
    alpha: i64,
    keep: i64,
    s: i64,
    wrow: &[i64],
    erow: &mut [i64],
    cols: &mut [Column],
    delta_div: &[SmallShareDivisor],
    bond_div: &[SmallShareDivisor],
    bond: impl Fn(usize) -> i64,
) -> i64 {
    let m = wrow.len();
    let (erow, cols, delta_div, bond_div) = (&mut erow[..m], &mut cols[..m], &delta_div[..m], &bond_div[..m]);
    let (alpha, keep, s) = (alpha as u64, keep as u64, s as u64);
    let mut trust = 0u64;
    for jj in 0..m {
        let w = wrow[jj] as u64;
        let col = &mut cols[jj];
        let clipped = w.min(col.consensus as u64);
        trust = trust.wrapping_add(clipped);
        let f = if clipped_bonds { clipped } else { w };
        let delta = delta_div[jj].div(((f * s) >> 32) as i64) as u64;
        let old = bond_div[jj].div(bond(jj)) as u64;
        let v = ((alpha * delta) >> 32) + ((keep * old) >> 32);
        erow[jj] = v as i64;
        col.rank += ((s * clipped) >> 32) as i64;
        col.ema_sum += v as i64;
        col.ema_max = col.ema_max.max(v as i64);
    }
    trust as i64
}

/// A stored bond row: `(lo + jj, code(jj, e))` for each entry `e` of `erow` that is
/// `present`, in column order, allocated at its length.
fn stored_row(
    lo: usize,
    erow: &[i64],
    present: impl Fn(i64) -> bool,
    code: impl Fn(usize, i64) -> u16,
) -> Vec<(u16, u16)> {
    let count = erow.iter().filter(|&&e| present(e)).count();
    if count == erow.len() {
        // Every column: an exact-size collect.
        return erow.iter().enumerate().map(|(jj, &e)| ((lo + jj) as u16, code(jj, e))).collect();
    }
    let mut out = vec![(0u16, 0u16); count];
    let entries = erow.iter().enumerate().filter(|&(_, &e)| present(e));
    for (slot, (jj, &e)) in out.iter_mut().zip(entries) {
        *slot = ((lo + jj) as u16, code(jj, e));
    }
    out
}

/// `out[uids[r]] = rows[r]` for each block row.
fn scatter(uids: &[usize], rows: &[i64], out: &mut [I32F32]) {
    for (&uid, &v) in uids.iter().zip(rows) {
        if let Some(o) = out.get_mut(uid) {
            *o = I32F32::from_bits(v);
        }
    }
}

/// `b / 65535` in `I32F32` (the chain's `fixed_to_fixed_u16_proportion` of a stored bond),
/// without a division: `2^32 = 65535 * 65537 + 1`, so `floor(b 2^32 / 65535) = 65537 b +
/// floor(b / 65535)`, and the last term is 1 exactly when `b = 65535`.
#[inline]
pub(super) fn u16_proportion(b: u16) -> i64 {
    i64::from(b) * 65_537 + i64::from(b == u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::yuma::math::{fixed_to_fixed_u16_proportion, u16_to_fixed};

    #[test]
    fn u16_proportion_is_the_chains_division_for_every_u16() {
        for b in 0..=u16::MAX {
            assert_eq!(u16_proportion(b), fixed_to_fixed_u16_proportion(u16_to_fixed(b)).to_bits(), "b = {b}");
        }
    }
}
