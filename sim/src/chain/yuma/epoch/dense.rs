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
use crate::chain::yuma::fixed::{self, Divisor};
use crate::chain::yuma::math::{
    MedianVoters, ONE, ZERO, fixed_proportion_to_u16, inplace_normalize, median_voters, vec_mul,
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
    /// The weights, masked and row-normalised.
    weights: Vec<i64>,
    /// The bonds EMA (classic: column-normalised, with -1 for an entry normalised to 0).
    ema: Vec<i64>,
    /// One row of bonds as read.
    bond_row: Vec<i64>,
    /// Per column: consensus, rank, sums of the bonds as read (classic), of the bond deltas
    /// (classic), of the EMA; maxima of the normalised EMA (classic).
    consensus: Vec<i64>,
    ranks: Vec<i64>,
    bond_sums: Vec<i64>,
    delta_sums: Vec<i64>,
    ema_sums: Vec<i64>,
    maxes: Vec<i64>,
    /// Per column: divisors by the sums and maxima above.
    bond_div: Vec<Divisor>,
    delta_div: Vec<Divisor>,
    ema_div: Vec<Divisor>,
    max_div: Vec<Divisor>,
    /// The dividends' columns (positive incentive and sum) with their incentive.
    live: Vec<(usize, i64)>,
    /// Per row: validator trust, the dividends' sum, active stake, median vote (normalised
    /// stake, -1 for no vote).
    trust: Vec<i64>,
    acc: Vec<i64>,
    stake: Vec<i64>,
    vote: Vec<i64>,
    /// One column's `(score, stake)` of positive scores, for the median.
    items: Vec<(i64, i64)>,
    /// The bond row to store, by block row (empty without a new permit).
    stored: Vec<Vec<(u16, u16)>>,
    /// One stored row while it is built.
    row_out: Vec<(u16, u16)>,
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

/// The block for `input` when the dense path applies: no liquid alpha in Yuma3, every uid in
/// range, and (unless `always`) at most two slots per stored weight or bond.
pub(super) fn plan(input: &EpochInput, always: bool) -> Option<Block> {
    if input.params.yuma3 && input.params.liquid_alpha {
        return None;
    }
    let n = input.neurons.len();
    let (mut rows, mut nnz, mut lo, mut hi) = (0usize, 0usize, u16::MAX, 0u16);
    for neuron in &input.neurons {
        if neuron.weights.is_empty() && neuron.bonds.is_empty() {
            continue;
        }
        rows += 1;
        nnz += neuron.weights.len() + neuron.bonds.len();
        for row in [&neuron.weights, &neuron.bonds] {
            let (a, b) = row.iter().fold((lo, hi), |(a, b), &(j, _)| (a.min(j), b.max(j)));
            (lo, hi) = (a, b);
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
/// `ws.incentive`, `ws.dividends` and the stored bond rows in `ws.dense`.
pub(super) fn core(
    ws: &mut EpochWorkspace,
    input: &EpochInput,
    block: Block,
    kappa: I32F32,
    bonds_penalty: I32F32,
    last_tempo: u64,
    alpha: I32F32,
) -> Result<(), EpochError> {
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
    d.weights.clear();
    d.weights.resize(rows * m, 0);
    let mut weight_max = 0i64;
    let mut wrows = d.weights.chunks_exact_mut(m);
    for (i, neuron) in input.neurons.iter().enumerate() {
        if neuron.weights.is_empty() && neuron.bonds.is_empty() {
            continue;
        }
        d.slot_of[i] = d.uids.len();
        d.uids.push(i);
        let Some(wrow) = wrows.next() else { break };
        if neuron.weights.is_empty() {
            continue;
        }
        let allowed = !forbids[i];
        let updated = last_update[i];
        let committed = commit_blocks.get(i).copied().unwrap_or(u64::MAX);
        let (mut total, mut prev, mut sorted) = (0i64, -1i32, true);
        for &(j, w) in &neuron.weights {
            let jj = usize::from(j);
            sorted &= i32::from(j) > prev;
            prev = i32::from(j);
            let reg = registered[jj];
            let keep = allowed && (i != jj || owner == Some(i)) && updated > reg && committed >= reg;
            let v = if keep { i64::from(w) << 32 } else { 0 };
            wrow[jj - lo] = v;
            total = total.wrapping_add(v);
        }
        if !sorted {
            check_row(seen, stamp, n, i, "weights", &neuron.weights)?;
        }
        // inplace_row_normalize_sparse: a dropped or missing entry is 0 and divides to 0.
        if total > 0 {
            let divisor = Divisor::new(I32F32::from_bits(total));
            for v in wrow.iter_mut() {
                *v = divisor.safe_div(I32F32::from_bits(*v)).to_bits();
            }
        }
        weight_max = wrow.iter().fold(weight_max, |a, &v| a.max(v));
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
    let fast = weight_max <= one && d.stake.iter().all(|&s| (0..=one).contains(&s)) && rows < 1 << 15;
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
        permits: new_permits,
    };

    // == Bonds as read == (classic: validated and summed by column first)
    if !yuma3 {
        run.bond_sums(d, seen, stamp)?;
    }

    // == Consensus == (and classic bonds' delta sums)
    if fast {
        run.consensus::<true>(d, voters.as_ref(), &mut median.bucket_items, yuma3);
    } else {
        run.consensus::<false>(d, voters.as_ref(), &mut median.bucket_items, yuma3);
    }

    // == Clip, trust, rank, bonds EMA ==
    match (yuma3, fast) {
        (true, true) => run.ema_yuma3::<true>(d, seen, stamp)?,
        (true, false) => run.ema_yuma3::<false>(d, seen, stamp)?,
        (false, true) => run.ema_classic::<true>(d),
        (false, false) => run.ema_classic::<false>(d),
    }
    consensus.clear();
    consensus.resize(n, ZERO);
    incentive.clear();
    incentive.resize(n, ZERO);
    for (jj, (&c, &rank)) in d.consensus.iter().zip(&d.ranks).enumerate() {
        consensus[lo + jj] = I32F32::from_bits(c);
        incentive[lo + jj] = I32F32::from_bits(rank);
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
    Ok(())
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
/// `2^63`: a product of two such values is `floor(a b / 2^32) <= 2^32`, which the crate's
/// saturating multiply returns unchanged, and no sum saturates, so plain integer arithmetic
/// gives the same bits. Without `FAST`, the crate's saturating operations.
struct Ops<const FAST: bool>;

impl<const FAST: bool> Ops<FAST> {
    #[inline(always)]
    fn mul(a: i64, b: i64) -> i64 {
        if FAST {
            ((u128::from(a as u64) * u128::from(b as u64)) >> 32) as i64
        } else {
            fixed::saturating_mul(I32F32::from_bits(a), I32F32::from_bits(b)).to_bits()
        }
    }

    #[inline(always)]
    fn add(a: i64, b: i64) -> i64 {
        if FAST { a.wrapping_add(b) } else { a.saturating_add(b) }
    }
}

/// `a / d` where `d` is non-zero (`inplace_col_normalize_sparse` leaves a column with a zero
/// sum unchanged, so callers divide only by non-zero sums).
#[inline(always)]
fn div(d: &Divisor, a: i64) -> i64 {
    d.safe_div(I32F32::from_bits(a)).to_bits()
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
    permits: &'a [bool],
}

impl Run<'_> {
    /// `weights_for_bonds` of one entry: the weight (penalty 0), the clipped weight (penalty
    /// 1), or in between their interpolation, kept where positive (`interpolate_sparse`).
    #[inline(always)]
    fn for_bonds<const FAST: bool>(&self, w: i64, clipped: i64) -> i64 {
        if self.penalty == 0 {
            w
        } else if self.penalty == ONE.to_bits() {
            clipped
        } else {
            let step =
                fixed::saturating_mul(I32F32::from_bits(self.penalty), I32F32::from_bits(clipped.saturating_sub(w)));
            Ops::<FAST>::add(w, step.to_bits()).max(0)
        }
    }

    /// Reads block row `r`'s bonds into `row` (dropped to miners registered since the last
    /// epoch; Yuma3 reads `b / 65535`, classic the raw value); checks the row when `check`.
    fn read_bonds(
        &self,
        uid: usize,
        row: &mut [i64],
        yuma3: bool,
        check: Option<(&mut Vec<u32>, &mut u32)>,
    ) -> Result<(), EpochError> {
        row.fill(0);
        let bonds = &self.input.neurons[uid].bonds;
        let (mut prev, mut sorted) = (-1i32, true);
        for &(j, b) in bonds {
            let jj = usize::from(j);
            sorted &= i32::from(j) > prev;
            prev = i32::from(j);
            if self.last_tempo > self.registered[jj] {
                row[jj - self.lo] = if yuma3 { u16_proportion(b) } else { i64::from(b) << 32 };
            }
        }
        match check {
            Some((seen, stamp)) if !sorted => check_row(seen, stamp, self.input.neurons.len(), uid, "bonds", bonds),
            _ => Ok(()),
        }
    }

    /// Classic bonds: checks every bond row and sums the bonds as read by column.
    fn bond_sums(&self, d: &mut DenseScratch, seen: &mut Vec<u32>, stamp: &mut u32) -> Result<(), EpochError> {
        d.bond_sums.clear();
        d.bond_sums.resize(self.m, 0);
        d.bond_row.clear();
        d.bond_row.resize(self.m, 0);
        for &uid in &d.uids {
            self.read_bonds(uid, &mut d.bond_row, false, Some((&mut *seen, &mut *stamp)))?;
            for (s, &b) in d.bond_sums.iter_mut().zip(&d.bond_row) {
                *s = s.saturating_add(b);
            }
        }
        prepare(&d.bond_sums, &mut d.bond_div);
        Ok(())
    }

    /// Column by column: consensus (the stake-weighted median of the column); classic bonds
    /// also sum each column's bond deltas (weights for bonds x active stake).
    fn consensus<const FAST: bool>(
        &self,
        d: &mut DenseScratch,
        voters: Option<&MedianVoters>,
        bucket_items: &mut Vec<(i64, i64)>,
        yuma3: bool,
    ) {
        d.consensus.clear();
        d.consensus.resize(self.m, 0);
        d.delta_sums.clear();
        d.delta_sums.resize(self.m, 0);
        d.items.clear();
        d.items.resize(self.rows, (0, 0));
        for (jj, (c, delta_sum)) in d.consensus.iter_mut().zip(&mut d.delta_sums).enumerate() {
            let column = || d.weights.iter().skip(jj).step_by(self.m);
            if let Some(v) = voters {
                let (mut k, mut min, mut max, mut sum) = (0usize, i64::MAX, 0i64, 0i64);
                for (&w, &s) in column().zip(&d.vote) {
                    if w > 0 && s >= 0 {
                        d.items[k] = (w, s);
                        k += 1;
                        min = min.min(w);
                        max = max.max(w);
                        sum = sum.saturating_add(s);
                    }
                }
                *c = v.column_median(&d.items[..k], min, max, sum, bucket_items);
            }
            if !yuma3 {
                let c = *c;
                *delta_sum = column().zip(&d.stake).fold(0, |acc, (&w, &s)| {
                    Ops::<FAST>::add(acc, Ops::<FAST>::mul(self.for_bonds::<FAST>(w, w.min(c)), s))
                });
            }
        }
    }

    /// Starts the row passes: clears trust, ranks and the EMA's column sums.
    fn start_rows(&self, d: &mut DenseScratch) {
        d.trust.clear();
        d.trust.resize(self.rows, 0);
        d.ranks.clear();
        d.ranks.resize(self.m, 0);
        d.ema_sums.clear();
        d.ema_sums.resize(self.m, 0);
        d.ema.clear();
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
    ) -> Result<(), EpochError> {
        self.start_rows(d);
        let rows = d.weights.chunks_exact(self.m).zip(d.ema.chunks_exact_mut(self.m));
        for (r, (wrow, erow)) in rows.enumerate() {
            let uid = d.uids[r];
            self.read_bonds(uid, &mut d.bond_row, true, Some((&mut *seen, &mut *stamp)))?;
            let (s, permit) = (d.stake[r], self.permits[uid]);
            let mut trust = 0i64;
            d.row_out.clear();
            let columns = wrow.iter().zip(&d.bond_row).zip(erow.iter_mut()).zip(&d.consensus);
            for (jj, ((((&w, &b), e), &c), (rank, sum))) in
                columns.zip(d.ranks.iter_mut().zip(d.ema_sums.iter_mut())).enumerate()
            {
                let clipped = w.min(c);
                trust = trust.wrapping_add(clipped);
                *rank = Ops::<FAST>::add(*rank, Ops::<FAST>::mul(s, clipped));
                let f = self.for_bonds::<FAST>(w, clipped);
                let v = Ops::<FAST>::add(Ops::<FAST>::mul(self.alpha, f), Ops::<FAST>::mul(self.keep, b));
                *e = v;
                *sum = Ops::<FAST>::add(*sum, v);
                if v > 0 && permit {
                    d.row_out.push(((self.lo + jj) as u16, fixed_proportion_to_u16(I32F32::from_bits(v))));
                }
            }
            d.trust[r] = trust;
            d.stored[r].clone_from(&d.row_out);
        }
        Ok(())
    }

    /// Classic bonds, row by row: clip, trust, rank, and the EMA of the column-normalised
    /// bond deltas with the column-normalised bonds as read.
    fn ema_classic<const FAST: bool>(&self, d: &mut DenseScratch) {
        self.start_rows(d);
        prepare(&d.delta_sums, &mut d.delta_div);
        let rows = d.weights.chunks_exact(self.m).zip(d.ema.chunks_exact_mut(self.m));
        for (r, (wrow, erow)) in rows.enumerate() {
            // Checked in `bond_sums`.
            let _ = self.read_bonds(d.uids[r], &mut d.bond_row, false, None);
            let s = d.stake[r];
            let mut trust = 0i64;
            let per_column = d.consensus.iter().zip(&d.delta_div).zip(&d.bond_div);
            let columns = wrow.iter().zip(&d.bond_row).zip(erow.iter_mut()).zip(per_column);
            for ((((&w, &b), e), ((&c, dd), db)), (rank, sum)) in
                columns.zip(d.ranks.iter_mut().zip(d.ema_sums.iter_mut()))
            {
                let clipped = w.min(c);
                trust = trust.wrapping_add(clipped);
                *rank = Ops::<FAST>::add(*rank, Ops::<FAST>::mul(s, clipped));
                let delta = Ops::<FAST>::mul(self.for_bonds::<FAST>(w, clipped), s);
                let delta = if dd.value() != ZERO { div(dd, delta) } else { delta };
                let old = if db.value() != ZERO { div(db, b) } else { b };
                let v = Ops::<FAST>::add(Ops::<FAST>::mul(self.alpha, delta), Ops::<FAST>::mul(self.keep, old));
                *e = v;
                *sum = Ops::<FAST>::add(*sum, v);
            }
            d.trust[r] = trust;
        }
    }

    /// Yuma3: each row's bonds per validator, the column-normalised EMA . incentive
    /// (`col_normalized_row_dot_sparse`; columns with no incentive or no bonds add nothing).
    fn dividends_yuma3<const FAST: bool>(&self, d: &mut DenseScratch, incentive: &[I32F32]) {
        self.live_columns(d, incentive);
        d.acc.clear();
        for erow in d.ema.chunks_exact(self.m) {
            let mut acc = 0i64;
            for (&(jj, x), div_j) in d.live.iter().zip(&d.ema_div) {
                acc = acc.wrapping_add(Ops::<FAST>::mul(div(div_j, erow[jj]), x));
            }
            d.acc.push(acc);
        }
    }

    /// The columns whose incentive and EMA sum are positive, with divisors by the sums.
    fn live_columns(&self, d: &mut DenseScratch, incentive: &[I32F32]) {
        d.live.clear();
        d.ema_div.clear();
        for (jj, &sum) in d.ema_sums.iter().enumerate() {
            let x = incentive[self.lo + jj].to_bits();
            if x != 0 && sum != 0 {
                d.live.push((jj, x));
                d.ema_div.push(Divisor::new(I32F32::from_bits(sum)));
            }
        }
    }

    /// Classic bonds: column-normalise the EMA (`inplace_col_normalize_sparse`), the
    /// dividends from it and the incentive (`matmul_transpose_sparse`), and the stored rows,
    /// max-upscaled by column (`inplace_col_max_upscale_sparse`).
    fn dividends_classic<const FAST: bool>(&self, d: &mut DenseScratch, incentive: &[I32F32]) {
        prepare(&d.ema_sums, &mut d.ema_div);
        d.maxes.clear();
        d.maxes.resize(self.m, 0);
        for erow in d.ema.chunks_exact_mut(self.m) {
            for ((e, de), max) in erow.iter_mut().zip(&d.ema_div).zip(d.maxes.iter_mut()) {
                if *e > 0 {
                    let v = if de.value() != ZERO { div(de, *e) } else { *e };
                    *max = (*max).max(v);
                    // A bond normalised to 0 is still stored: marked -1.
                    *e = if v == 0 { -1 } else { v };
                }
            }
        }
        prepare(&d.maxes, &mut d.max_div);
        d.acc.clear();
        let incentive = &incentive[self.lo..self.lo + self.m];
        for (r, erow) in d.ema.chunks_exact(self.m).enumerate() {
            let permit = self.permits[d.uids[r]];
            let mut acc = 0i64;
            d.row_out.clear();
            for (jj, ((&e, dm), x)) in erow.iter().zip(&d.max_div).zip(incentive).enumerate() {
                let v = e.max(0);
                acc = Ops::<FAST>::add(acc, Ops::<FAST>::mul(x.to_bits(), v));
                if e != 0 && permit {
                    let up = if dm.value() != ZERO { div(dm, v) } else { v };
                    d.row_out.push(((self.lo + jj) as u16, fixed_proportion_to_u16(I32F32::from_bits(up))));
                }
            }
            d.acc.push(acc);
            d.stored[r].clone_from(&d.row_out);
        }
    }
}

/// Divisors by each of `values`.
fn prepare(values: &[i64], out: &mut Vec<Divisor>) {
    out.clear();
    out.extend(values.iter().map(|&v| Divisor::new(I32F32::from_bits(v))));
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
