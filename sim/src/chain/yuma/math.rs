//! The epoch's fixed-point vector and sparse-matrix functions, as the chain computes them.
//!
//! Mirrors `pallets/subtensor/src/epoch/math.rs` (opentensor/subtensor 14bc6f9f): same
//! names (`inplace_` mutates, `_sparse` takes rows of `(column, value)`, `row_`/`col_` name the
//! axis, `_64` is `I64F64`), same types, same order of operations, so every result has the
//! chain's bits. Three deliberate differences, none of which changes a result:
//! - sparse matrices are flat [`SparseMatrix`]es filtered in place, and functions that build a
//!   vector write into a caller's buffer, so a warm epoch does not allocate;
//! - sums use wrapping addition, which is what the chain's `iter().sum()` does in its release
//!   build (`Add` on the fixed types wraps there); debug builds of taosim therefore never panic
//!   on absurd stakes, and agree with the chain bit for bit on every input;
//! - the stake-weighted median of each column is found by bucketing the scores and a three-way
//!   select in the crossing bucket instead of the chain's allocating partition loop. Both
//!   return the unique smallest score whose cumulative stake exceeds the minority (sums of
//!   normalised, non-negative stakes are exact and far from overflow), so the pivot order
//!   cannot change the answer; [`weighted_median`] is kept as a literal port and a test
//!   compares the two on random columns.
//!
//! Conventions of the chain that matter for exactness: conversions to `u16` truncate; fixed
//! multiplication rounds down, division truncates; `safe_div` returns 0 on division by zero
//! or overflow; `checked_mul` overflow gives 0 in [`vec_mul`].

use super::fixed::{self, Divisor};
use super::sparse::SparseMatrix;
use substrate_fixed::types::{I32F32, I64F64};

/// Zero in `I32F32`.
pub const ZERO: I32F32 = I32F32::from_bits(0);
/// One in `I32F32`.
pub const ONE: I32F32 = I32F32::from_bits(1 << 32);

/// `a / b`, or 0 when `b` is 0 or the quotient overflows (the chain's `safe_div`).
#[inline]
pub fn safe_div(a: I32F32, b: I32F32) -> I32F32 {
    fixed::safe_div(a, b)
}

/// `a / b` in `I64F64`, or 0 when `b` is 0 or the quotient overflows (the chain's `safe_div`).
#[inline]
pub fn safe_div_64(a: I64F64, b: I64F64) -> I64F64 {
    let (a_bits, b_bits) = (a.to_bits(), b.to_bits());
    if a_bits >= 0 && b_bits > 0 {
        // Non-negative operands (stakes): `floor(a 2^64 / b)` by the exact wide division, the
        // crate's result bit for bit (its quotient overflows exactly beyond i128::MAX).
        let quotient = crate::chain::math::mul_div(a_bits as u128, 1 << 64, b_bits as u128);
        return quotient.and_then(|q| i128::try_from(q).ok()).map_or(I64F64::from_bits(0), I64F64::from_bits);
    }
    a.checked_div(b).unwrap_or(I64F64::from_bits(0))
}

/// `x` as `u16`, saturating (chain: `fixed_to_u16`).
pub fn fixed_to_u16(x: I32F32) -> u16 {
    x.saturating_to_num::<u16>()
}

/// `x` as `u64`, saturating (chain: `fixed64_to_u64`).
pub fn fixed64_to_u64(x: I64F64) -> u64 {
    x.saturating_to_num::<u64>()
}

/// `x` narrowed to `I32F32`, saturating (chain: `fixed64_to_fixed32`).
pub fn fixed64_to_fixed32(x: I64F64) -> I32F32 {
    I32F32::saturating_from_num(x)
}

/// A stored `u16` as `I32F32` (chain: `u16_to_fixed`), e.g. a raw classic bond.
pub fn u16_to_fixed(x: u16) -> I32F32 {
    I32F32::saturating_from_num(x)
}

/// A `u16` fraction of 65535 as `I32F32` in [0, 1] (chain: `u16_proportion_to_fixed`).
pub fn u16_proportion_to_fixed(x: u16) -> I32F32 {
    safe_div(I32F32::saturating_from_num(x), I32F32::saturating_from_num(u16::MAX))
}

/// `x / 65535` (chain: `fixed_to_fixed_u16_proportion`), how Yuma3 reads stored bonds.
pub fn fixed_to_fixed_u16_proportion(x: I32F32) -> I32F32 {
    safe_div(x, I32F32::saturating_from_num(u16::MAX))
}

/// A proportion in [0, 1] as a `u16` fraction of 65535, truncating (chain:
/// `fixed_proportion_to_u16`): how incentive, dividends, consensus, trust and bonds are stored.
pub fn fixed_proportion_to_u16(x: I32F32) -> u16 {
    let bits = x.to_bits();
    if (0..=1 << 32).contains(&bits) {
        // x in [0, 1]: x * 65535 is exact in I32F32 and its integer part fits a u16.
        return ((bits as u64 * u64::from(u16::MAX)) >> 32) as u16;
    }
    fixed::saturating_to_u16(fixed::saturating_mul(x, I32F32::saturating_from_num(u16::MAX)))
}

/// Sum with wrapping addition, as the chain's `iter().sum()` behaves in its release build.
#[inline]
pub fn sum(x: &[I32F32]) -> I32F32 {
    x.iter().fold(ZERO, |acc, v| acc.wrapping_add(*v))
}

/// [`sum`] for `I64F64`.
#[inline]
pub fn sum_64(x: &[I64F64]) -> I64F64 {
    x.iter().fold(I64F64::from_bits(0), |acc, v| acc.wrapping_add(*v))
}

/// True when the vector sums to zero (chain: `is_zero`).
pub fn is_zero(vector: &[I32F32]) -> bool {
    sum(vector) == ZERO
}

/// `exp(x)` with `x` clamped to [-20, 20], on the fixed-point crate's series (chain: `exp_safe`).
pub fn exp_safe(input: I32F32) -> I32F32 {
    let min_input = I32F32::saturating_from_num(-20);
    let max_input = I32F32::saturating_from_num(20);
    let safe_input = if input < min_input {
        min_input
    } else if max_input < input {
        max_input
    } else {
        input
    };
    match fixed::exp(safe_input) {
        Some(v) => v,
        None if safe_input <= ZERO => ZERO,
        None => I32F32::max_value(),
    }
}

/// `value` clamped to `[low, high]`: first `min(high)`, then `max(low)` (chain: `clamp_value`).
pub fn clamp_value(value: I32F32, low: I32F32, high: I32F32) -> I32F32 {
    value.min(high).max(low)
}

/// Max-upscales a vector so its largest entry becomes 65535, rounding to nearest (chain:
/// `vec_max_upscale_to_u16`). The chain applies it to every weight row when it is set.
pub fn vec_max_upscale_to_u16(vec: &[I32F32]) -> Vec<u16> {
    let u16_max = I32F32::saturating_from_num(u16::MAX);
    let threshold = I32F32::saturating_from_num(32768);
    let round = |x: I32F32| x.overflowing_round().0.saturating_to_num::<u16>();
    match vec.iter().max() {
        Some(&max) if max == ZERO => vec.iter().map(|e| e.saturating_mul(u16_max).saturating_to_num::<u16>()).collect(),
        Some(&max) if max > threshold => vec.iter().map(|e| round(e.saturating_mul(safe_div(u16_max, max)))).collect(),
        Some(&max) => vec.iter().map(|e| round(safe_div(e.saturating_mul(u16_max), max))).collect(),
        None => Vec::new(),
    }
}

/// [`vec_max_upscale_to_u16`] of a `u16` vector (chain: `vec_u16_max_upscale_to_u16`): what
/// `set_weights` stores for the values a validator submits.
pub fn vec_u16_max_upscale_to_u16(vec: &[u16]) -> Vec<u16> {
    let fixed: Vec<I32F32> = vec.iter().map(|&e| I32F32::saturating_from_num(e)).collect();
    vec_max_upscale_to_u16(&fixed)
}

/// Marks the `k` largest non-zero entries (chain: `is_topk_nonzero`).
///
/// Zero entries are never marked. When `len >= k`, the `len - k` smallest entries are unmarked,
/// found by a stable ascending sort, so among equal values the lower indices lose: ties go to
/// the higher uid.
pub fn is_topk_nonzero(vector: &[I32F32], k: usize, out: &mut Vec<bool>) {
    out.clear();
    out.extend(vector.iter().map(|&v| v != ZERO));
    let n = vector.len();
    if n < k {
        return;
    }
    let drop = n - k;
    if drop == 0 {
        return;
    }
    // The `drop` smallest by (value, index) are exactly the first `drop` of a stable sort by value.
    let mut idxs: Vec<(I32F32, usize)> = vector.iter().copied().zip(0..n).collect();
    if drop < n {
        idxs.select_nth_unstable(drop - 1);
    }
    for &(_, i) in &idxs[..drop] {
        out[i] = false;
    }
}

/// Normalises to sum 1 in place; a zero sum leaves the vector unchanged (chain: `inplace_normalize`).
pub fn inplace_normalize(x: &mut [I32F32]) {
    let total = sum(x);
    if total == ZERO {
        return;
    }
    let d = Divisor::new(total);
    x.iter_mut().for_each(|v| *v = d.safe_div(*v));
}

/// Divides every entry by `total` unless it is zero (chain: `inplace_normalize_using_sum`).
pub fn inplace_normalize_using_sum(x: &mut [I32F32], total: I32F32) {
    if total == ZERO {
        return;
    }
    let d = Divisor::new(total);
    x.iter_mut().for_each(|v| *v = d.safe_div(*v));
}

/// [`inplace_normalize`] in `I64F64` (chain: `inplace_normalize_64`), used on raw stake.
pub fn inplace_normalize_64(x: &mut [I64F64]) {
    let total = sum_64(x);
    if total == I64F64::from_bits(0) {
        return;
    }
    x.iter_mut().for_each(|v| *v = safe_div_64(*v, total));
}

/// Zeroes the entries whose mask is true; a missing mask entry masks (chain: `inplace_mask_vector`).
pub fn inplace_mask_vector(mask: &[bool], vector: &mut [I32F32]) {
    if mask.is_empty() {
        return;
    }
    for (i, v) in vector.iter_mut().enumerate() {
        if mask.get(i).copied().unwrap_or(true) {
            *v = ZERO;
        }
    }
}

/// Element-wise product; an overflowing product is 0 (chain: `vec_mul`).
pub fn vec_mul(a: &[I32F32], b: &[I32F32], out: &mut Vec<I32F32>) {
    out.clear();
    out.extend(a.iter().zip(b).map(|(x, y)| fixed::checked_mul(*x, *y).unwrap_or(ZERO)));
}

/// Empties the rows whose mask is true (chain: `mask_rows_sparse`).
pub fn inplace_mask_rows_sparse(mask: &[bool], matrix: &mut SparseMatrix) {
    matrix.clear_rows(mask);
}

/// Removes the diagonal (chain: `mask_diag_sparse`).
pub fn inplace_mask_diag_sparse(matrix: &mut SparseMatrix) {
    matrix.retain(|i, j, _| i != j as usize);
}

/// Removes the diagonal except the entry `(except, except)` (chain: `mask_diag_sparse_except_index`):
/// the subnet owner may weight itself.
pub fn inplace_mask_diag_sparse_except_index(matrix: &mut SparseMatrix, except: u16) {
    matrix.retain(|i, j, _| i != j as usize || (i == except as usize && j == except));
}

/// Removes entry `(i, j)` where `mask_fn(first[i], second[j])` is true; a missing `first`
/// entry reads 0, a missing `second` entry reads 0 (chain: `vec_mask_sparse_matrix`).
pub fn inplace_vec_mask_sparse_matrix(
    matrix: &mut SparseMatrix,
    first: &[u64],
    second: &[u64],
    mask_fn: impl Fn(u64, u64) -> bool,
) {
    matrix.retain(|i, j, _| {
        let f = first.get(i).copied().unwrap_or(0);
        let s = second.get(j as usize).copied().unwrap_or(0);
        !mask_fn(f, s)
    });
}

/// Removes entry `(i, j)` where `mask_fn(scalar, vector[j])` is true; a missing entry reads 0
/// (chain: `scalar_vec_mask_sparse_matrix`).
pub fn inplace_scalar_vec_mask_sparse_matrix(
    matrix: &mut SparseMatrix,
    scalar: u64,
    vector: &[u64],
    mask_fn: impl Fn(u64, u64) -> bool,
) {
    matrix.retain(|_, j, _| !mask_fn(scalar, vector.get(j as usize).copied().unwrap_or(0)));
}

/// Normalises each row with a positive sum to sum 1 (chain: `inplace_row_normalize_sparse`).
pub fn inplace_row_normalize_sparse(matrix: &mut SparseMatrix) {
    for i in 0..matrix.rows() {
        let (_, vals) = matrix.row_mut(i);
        let total = sum(vals);
        if total > ZERO {
            let d = Divisor::new(total);
            vals.iter_mut().for_each(|v| *v = d.safe_div(*v));
        }
    }
}

/// Sum of each row (chain: `row_sum_sparse`).
pub fn row_sum_sparse(matrix: &SparseMatrix, out: &mut Vec<I32F32>) {
    out.clear();
    out.extend((0..matrix.rows()).map(|i| sum(matrix.row(i).1)));
}

/// Reusable per-column buffers of the column-wise functions.
#[derive(Clone, Debug, Default)]
pub struct ColumnScratch {
    /// Per-column sum or maximum.
    totals: Vec<I32F32>,
    /// Each total prepared as a divisor.
    divisors: Vec<Divisor>,
    /// Per-column maximum in the fused classic pass.
    maxes: Vec<I32F32>,
}

impl ColumnScratch {
    /// Column sums (saturating) into `totals`, prepared as divisors.
    fn sum_columns(&mut self, matrix: &SparseMatrix, columns: u16) {
        self.totals.clear();
        self.totals.resize(columns as usize, ZERO);
        let (cols, vals) = matrix.entries();
        for (&j, &v) in cols.iter().zip(vals) {
            if let Some(s) = self.totals.get_mut(j as usize) {
                *s = fixed::saturating_add(*s, v);
            }
        }
        self.prepare();
    }

    /// Prepares `totals` as divisors.
    fn prepare(&mut self) {
        self.divisors.clear();
        self.divisors.extend(self.totals.iter().map(|&t| Divisor::new(t)));
    }

    /// `v` divided by column `j`'s total, unchanged where the total is zero or absent.
    #[inline]
    fn divide_entry(&self, j: u16, v: I32F32) -> I32F32 {
        match self.divisors.get(j as usize) {
            Some(d) if d.value() != ZERO => d.safe_div(v),
            _ => v,
        }
    }

    /// Divides each entry by its column's total where the total is non-zero.
    fn divide(&mut self, matrix: &mut SparseMatrix) {
        self.prepare();
        let (cols, vals) = matrix.entries_mut();
        for (v, &j) in vals.iter_mut().zip(cols) {
            *v = self.divide_entry(j, *v);
        }
    }
}

/// Normalises each column with a non-zero sum to sum 1 (chain: `inplace_col_normalize_sparse`);
/// sums saturate.
pub fn inplace_col_normalize_sparse(matrix: &mut SparseMatrix, columns: u16, scratch: &mut ColumnScratch) {
    scratch.sum_columns(matrix, columns);
    scratch.divide(matrix);
}

/// Divides each entry by its column's maximum, so each column's largest entry is 1 (chain:
/// `inplace_col_max_upscale_sparse`): how classic bonds are scaled for storage.
pub fn inplace_col_max_upscale_sparse(matrix: &mut SparseMatrix, columns: u16, scratch: &mut ColumnScratch) {
    scratch.totals.clear();
    scratch.totals.resize(columns as usize, ZERO);
    let (cols, vals) = matrix.entries();
    for (&j, &v) in cols.iter().zip(vals) {
        if let Some(m) = scratch.totals.get_mut(j as usize)
            && *m < v
        {
            *m = v;
        }
    }
    scratch.divide(matrix);
}

/// [`col_clip_sparse`], [`row_sum_sparse`] of the clipped matrix (validator trust) and
/// [`matmul_sparse`] of it with `stake` (ranks), in one pass with the same arithmetic.
pub fn col_clip_trust_rank_sparse(
    matrix: &SparseMatrix,
    threshold: &[I32F32],
    stake: &[I32F32],
    columns: u16,
    clipped: &mut SparseMatrix,
    trust: &mut Vec<I32F32>,
    ranks: &mut Vec<I32F32>,
) {
    // Entries are dropped only where the threshold is <= 0 below the weight (a column with no
    // consensus): usually none, so the structure is copied and the values clipped in place.
    if clip_in_place(matrix, threshold, stake, columns, clipped, trust, ranks) {
        return;
    }
    clipped.clear();
    trust.clear();
    ranks.clear();
    ranks.resize(columns as usize, ZERO);
    for i in 0..matrix.rows() {
        let scale = stake.get(i).copied().unwrap_or(ZERO);
        let (cols, vals) = matrix.row(i);
        let mut row_total = ZERO;
        for (&j, &v) in cols.iter().zip(vals) {
            let t = threshold.get(j as usize).copied().unwrap_or(ZERO);
            if t < v && t <= ZERO {
                continue;
            }
            let c = if t < v { t } else { v };
            clipped.push(j, c);
            row_total = row_total.wrapping_add(c);
            if let Some(r) = ranks.get_mut(j as usize) {
                *r = fixed::saturating_add(*r, fixed::saturating_mul(scale, c));
            }
        }
        clipped.end_row();
        trust.push(row_total);
    }
}

/// [`col_clip_trust_rank_sparse`] when no entry is dropped: returns false (results unusable)
/// as soon as one would be.
fn clip_in_place(
    matrix: &SparseMatrix,
    threshold: &[I32F32],
    stake: &[I32F32],
    columns: u16,
    clipped: &mut SparseMatrix,
    trust: &mut Vec<I32F32>,
    ranks: &mut Vec<I32F32>,
) -> bool {
    clipped.copy_from(matrix);
    trust.clear();
    ranks.clear();
    ranks.resize(columns as usize, ZERO);
    for i in 0..clipped.rows() {
        let scale = stake.get(i).copied().unwrap_or(ZERO);
        let (cols, vals) = clipped.row_mut(i);
        let mut row_total = ZERO;
        for (v, &j) in vals.iter_mut().zip(cols) {
            let t = threshold.get(j as usize).copied().unwrap_or(ZERO);
            if t < *v {
                if t <= ZERO {
                    return false;
                }
                *v = t;
            }
            row_total = row_total.wrapping_add(*v);
            if let Some(r) = ranks.get_mut(j as usize) {
                *r = fixed::saturating_add(*r, fixed::saturating_mul(scale, *v));
            }
        }
        trust.push(row_total);
    }
    true
}

/// Yuma3's bonds per validator without materialising the normalised matrix: row `i` of
/// `mat_vec_mul_sparse(col_normalized(matrix), vector)` summed (chain: the `emaB norm` and
/// `total_bonds_per_validator` steps), same arithmetic.
pub fn col_normalized_row_dot_sparse(
    matrix: &SparseMatrix,
    vector: &[I32F32],
    columns: u16,
    scratch: &mut ColumnScratch,
    out: &mut Vec<I32F32>,
) {
    scratch.sum_columns(matrix, columns);
    out.clear();
    for i in 0..matrix.rows() {
        let (cols, vals) = matrix.row(i);
        let mut acc = ZERO;
        for (&j, &v) in cols.iter().zip(vals) {
            let b = scratch.divide_entry(j, v);
            if let Some(&x) = vector.get(j as usize) {
                acc = acc.wrapping_add(fixed::saturating_mul(b, x));
            }
        }
        out.push(acc);
    }
}

/// Classic bonds' last steps in one pass: [`inplace_col_normalize_sparse`], then
/// [`matmul_transpose_sparse`] with `vector` (dividends), then [`inplace_col_max_upscale_sparse`];
/// same arithmetic.
pub fn inplace_col_normalize_dividends_max_upscale_sparse(
    matrix: &mut SparseMatrix,
    vector: &[I32F32],
    columns: u16,
    scratch: &mut ColumnScratch,
    dividends: &mut Vec<I32F32>,
) {
    scratch.sum_columns(matrix, columns);
    dividends.clear();
    let mut maxes = std::mem::take(&mut scratch.maxes);
    maxes.clear();
    maxes.resize(columns as usize, ZERO);
    for i in 0..matrix.rows() {
        let (cols, vals) = matrix.row_mut(i);
        let mut acc = ZERO;
        for (v, &j) in vals.iter_mut().zip(cols) {
            *v = scratch.divide_entry(j, *v);
            let x = vector.get(j as usize).copied().unwrap_or(ZERO);
            acc = fixed::saturating_add(acc, fixed::saturating_mul(x, *v));
            if let Some(m) = maxes.get_mut(j as usize)
                && *m < *v
            {
                *m = *v;
            }
        }
        dividends.push(acc);
    }
    scratch.totals.clone_from(&maxes);
    scratch.maxes = maxes;
    scratch.divide(matrix);
}

/// `result_j = sum_i vector_i * matrix_ij` over `columns` columns (chain: `matmul_sparse`).
pub fn matmul_sparse(matrix: &SparseMatrix, vector: &[I32F32], columns: u16, out: &mut Vec<I32F32>) {
    out.clear();
    out.resize(columns as usize, ZERO);
    for i in 0..matrix.rows() {
        let scale = vector.get(i).copied().unwrap_or(ZERO);
        let (cols, vals) = matrix.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            if let Some(r) = out.get_mut(j as usize) {
                *r = fixed::saturating_add(*r, fixed::saturating_mul(scale, v));
            }
        }
    }
}

/// `result_i = sum_j vector_j * matrix_ij` (chain: `matmul_transpose_sparse`).
pub fn matmul_transpose_sparse(matrix: &SparseMatrix, vector: &[I32F32], out: &mut Vec<I32F32>) {
    out.clear();
    for i in 0..matrix.rows() {
        let (cols, vals) = matrix.row(i);
        let mut acc = ZERO;
        for (&j, &v) in cols.iter().zip(vals) {
            let x = vector.get(j as usize).copied().unwrap_or(ZERO);
            acc = fixed::saturating_add(acc, fixed::saturating_mul(x, v));
        }
        out.push(acc);
    }
}

/// Element-wise `matrix_ij * vector_j`, keeping non-zero products (chain: `mat_vec_mul_sparse`).
pub fn mat_vec_mul_sparse(matrix: &SparseMatrix, vector: &[I32F32], out: &mut SparseMatrix) {
    out.clear();
    for i in 0..matrix.rows() {
        let (cols, vals) = matrix.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            if let Some(&x) = vector.get(j as usize) {
                let p = fixed::saturating_mul(v, x);
                if p != ZERO {
                    out.push(j, p);
                }
            }
        }
        out.end_row();
    }
}

/// Row-wise `matrix_ij * vector_i` (chain: `row_hadamard_sparse`); rows past the vector's
/// length are dropped, as the chain's zip does.
pub fn row_hadamard_sparse(matrix: &SparseMatrix, vector: &[I32F32], out: &mut SparseMatrix) {
    out.clear();
    for (i, &scale) in vector.iter().enumerate().take(matrix.rows()) {
        let (cols, vals) = matrix.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            out.push(j, fixed::saturating_mul(v, scale));
        }
        out.end_row();
    }
}

/// Clips each entry at its column's threshold: `min(w_ij, c_j)`, dropping entries clipped to
/// a threshold `<= 0` (chain: `col_clip_sparse`).
pub fn col_clip_sparse(matrix: &SparseMatrix, threshold: &[I32F32], out: &mut SparseMatrix) {
    let th = |j: u16| threshold.get(j as usize).copied().unwrap_or(ZERO);
    out.copy_from(matrix);
    out.retain(|_, j, v| {
        let t = th(j);
        !(t < v && t <= ZERO)
    });
    let (cols, vals) = out.entries_mut();
    for (v, &j) in vals.iter_mut().zip(cols) {
        let t = th(j);
        *v = if t < *v { t } else { *v };
    }
}

/// `A + ratio (B - A)` entry by entry (chain: `interpolate_sparse`): at ratio 0 or 1 a copy of
/// `A` or `B` (zeros kept); otherwise rows are densified over `columns`, and only positive
/// results are kept, in column order. `scratch` is a dense row buffer.
pub fn interpolate_sparse(
    mat1: &SparseMatrix,
    mat2: &SparseMatrix,
    columns: u16,
    ratio: I32F32,
    out: &mut SparseMatrix,
    scratch: &mut Vec<(I32F32, I32F32)>,
) {
    if ratio == ZERO {
        out.copy_from(mat1);
        return;
    }
    if ratio == ONE || mat1.rows() != mat2.rows() {
        out.copy_from(mat2);
        return;
    }
    out.clear();
    scratch.clear();
    scratch.resize(columns as usize, (ZERO, ZERO));
    for i in 0..mat1.rows() {
        let (c1, v1) = mat1.row(i);
        for (&j, &v) in c1.iter().zip(v1) {
            if let Some(cell) = scratch.get_mut(j as usize) {
                cell.0 = v;
            }
        }
        let (c2, v2) = mat2.row(i);
        for (&j, &v) in c2.iter().zip(v2) {
            if let Some(cell) = scratch.get_mut(j as usize) {
                cell.1 = v;
            }
        }
        for (j, cell) in scratch.iter_mut().enumerate() {
            let (a, b) = *cell;
            let interp = fixed::saturating_add(a, fixed::saturating_mul(ratio, fixed::saturating_sub(b, a)));
            if ZERO < interp {
                out.push(j as u16, interp);
            }
            *cell = (ZERO, ZERO);
        }
        out.end_row();
    }
}

/// True when the columns strictly increase.
fn is_strictly_sorted(cols: &[u16]) -> bool {
    cols.windows(2).all(|w| w[0] < w[1])
}

/// Bonds EMA with one alpha: `alpha * new + (1 - alpha) * old`, keeping positive entries in
/// column order (chain: `mat_ema_sparse`). Columns of either matrix survive (an old bond on a
/// column absent from the new row decays). The chain densifies every row over `new.rows()`
/// columns; when both rows are sorted we merge them instead, with the same arithmetic in the
/// same order. `scratch` is a dense row buffer for unsorted rows.
pub fn mat_ema_sparse(
    new: &SparseMatrix,
    old: &SparseMatrix,
    alpha: I32F32,
    out: &mut SparseMatrix,
    scratch: &mut Vec<I32F32>,
) {
    let n = new.rows();
    let one_minus_alpha = fixed::saturating_sub(ONE, alpha);
    if ema_in_place(new, old, alpha, one_minus_alpha, out) {
        return;
    }
    out.clear();
    for i in 0..n {
        let (nc, nv) = new.row(i);
        let (oc, ov) = if i < old.rows() { old.row(i) } else { (&[][..], &[][..]) };
        let in_range = |c: &[u16]| c.last().is_none_or(|&j| (j as usize) < n);
        if nc == oc && is_strictly_sorted(nc) && in_range(nc) {
            // Same columns in both rows (the steady state): entry by entry.
            for ((&j, &a), &b) in nc.iter().zip(nv).zip(ov) {
                let cell = fixed::saturating_add(ZERO, fixed::saturating_mul(alpha, a));
                let val = fixed::saturating_add(cell, fixed::saturating_mul(one_minus_alpha, b));
                if val > ZERO {
                    out.push(j, val);
                }
            }
        } else if is_strictly_sorted(nc) && is_strictly_sorted(oc) && in_range(nc) && in_range(oc) {
            let (mut a, mut b) = (0usize, 0usize);
            while a < nc.len() || b < oc.len() {
                let ja = nc.get(a).copied().unwrap_or(u16::MAX);
                let jb = oc.get(b).copied().unwrap_or(u16::MAX);
                let (j, val) = if a < nc.len() && (b >= oc.len() || ja < jb) {
                    a += 1;
                    (ja, fixed::saturating_add(ZERO, fixed::saturating_mul(alpha, nv[a - 1])))
                } else if b < oc.len() && (a >= nc.len() || jb < ja) {
                    b += 1;
                    (jb, fixed::saturating_add(ZERO, fixed::saturating_mul(one_minus_alpha, ov[b - 1])))
                } else {
                    a += 1;
                    b += 1;
                    let cell = fixed::saturating_add(ZERO, fixed::saturating_mul(alpha, nv[a - 1]));
                    (ja, fixed::saturating_add(cell, fixed::saturating_mul(one_minus_alpha, ov[b - 1])))
                };
                if val > ZERO {
                    out.push(j, val);
                }
            }
        } else {
            scratch.clear();
            scratch.resize(n, ZERO);
            for (&j, &v) in nc.iter().zip(nv) {
                if let Some(cell) = scratch.get_mut(j as usize) {
                    *cell = fixed::saturating_add(*cell, fixed::saturating_mul(alpha, v));
                }
            }
            for (&j, &v) in oc.iter().zip(ov) {
                if let Some(cell) = scratch.get_mut(j as usize) {
                    *cell = fixed::saturating_add(*cell, fixed::saturating_mul(one_minus_alpha, v));
                }
            }
            for (j, &val) in scratch.iter().enumerate() {
                if val > ZERO {
                    out.push(j as u16, val);
                }
            }
        }
        out.end_row();
    }
}

/// [`mat_ema_sparse`] when `new` and `old` have the same rows and columns, every row sorted
/// and in range (the steady state: last epoch's bonds on this epoch's weights): the structure
/// is copied and the values computed in place. Returns false, leaving `out` unusable, when
/// the shapes differ or an entry would be dropped (a result <= 0).
fn ema_in_place(new: &SparseMatrix, old: &SparseMatrix, alpha: I32F32, keep: I32F32, out: &mut SparseMatrix) -> bool {
    let n = new.rows();
    if !new.same_structure(old) || !(0..n).all(|i| is_strictly_sorted(new.row(i).0)) {
        return false;
    }
    if new.entries().0.iter().any(|&j| j as usize >= n) {
        return false;
    }
    out.copy_from(new);
    let (_, ov) = old.entries();
    let (_, vals) = out.entries_mut();
    let mut all_positive = true;
    for (v, &o) in vals.iter_mut().zip(ov) {
        let cell = fixed::saturating_add(ZERO, fixed::saturating_mul(alpha, *v));
        *v = fixed::saturating_add(cell, fixed::saturating_mul(keep, o));
        all_positive &= *v > ZERO;
    }
    all_positive
}

/// Bonds EMA with a per-entry alpha (chain: `mat_ema_alpha_sparse`): `min(1, (1 - a_ij) old_ij
/// + max(0, a_ij new_ij))`, emitted in the new row's order, positive entries only.
///
/// Only columns present in the new row survive: a bond on a column the validator did not list
/// is dropped, not decayed. `alpha(i, j)` gives `a_ij`, or `None` for a column outside the
/// chain's dense alpha row (the entry is then skipped). The chain returns `new` unchanged when
/// the row counts of `new` and `old` differ; so does this.
pub fn mat_ema_alpha_sparse(
    new: &SparseMatrix,
    old: &SparseMatrix,
    mut alpha: impl FnMut(usize, u16) -> Option<I32F32>,
    out: &mut SparseMatrix,
    scratch: &mut Vec<I32F32>,
) {
    if new.rows() != old.rows() {
        out.copy_from(new);
        return;
    }
    out.clear();
    // Zero where no old bond was seen: start from an empty buffer (it may be shared with other
    // passes, e.g. `mat_ema_sparse`'s dense rows), which grows with zeros as columns come.
    scratch.clear();
    for i in 0..new.rows() {
        let (oc, ov) = old.row(i);
        let (nc, nv) = new.row(i);
        // The chain's dense `decayed_values` row, zero where no old bond was seen.
        for (&j, &v) in oc.iter().zip(ov) {
            if let Some(a) = alpha(i, j) {
                let j = j as usize;
                if scratch.len() <= j {
                    scratch.resize(j + 1, ZERO);
                }
                scratch[j] = fixed::saturating_mul(fixed::saturating_sub(ONE, a), v);
            }
        }
        for (&j, &v) in nc.iter().zip(nv) {
            if let Some(a) = alpha(i, j) {
                let decayed = scratch.get(j as usize).copied().unwrap_or(ZERO);
                let inc = fixed::saturating_mul(a, v).max(ZERO);
                let val = fixed::saturating_add(decayed, inc).min(ONE);
                if val > ZERO {
                    out.push(j, val);
                }
            }
        }
        for &j in oc {
            if let Some(cell) = scratch.get_mut(j as usize) {
                *cell = ZERO;
            }
        }
        out.end_row();
    }
}

/// The liquid-alpha EMA coefficient of one bond (chain: `alpha_sigmoid`).
///
/// `d = clamp(w - c, 0, 1)` when `w >= b` (the validator buys), else `clamp(b - w, 0, 1)`;
/// `sigma = 1 / (1 + exp_safe((steepness / -100) (d - 0.5)))`;
/// `alpha = clamp(lo + sigma (hi - lo), lo, hi)`.
pub fn alpha_sigmoid(
    consensus: I32F32,
    weight: I32F32,
    bond: I32F32,
    alpha_low: I32F32,
    alpha_high: I32F32,
    steepness: I32F32,
) -> I32F32 {
    let diff_buy = clamp_value(fixed::saturating_sub(weight, consensus), ZERO, ONE);
    let diff_sell = clamp_value(fixed::saturating_sub(bond, weight), ZERO, ONE);
    let combined = if weight >= bond { diff_buy } else { diff_sell };
    let half = I32F32::from_bits(1 << 31);
    let sigmoid = ONE.saturating_div(fixed::saturating_add(
        ONE,
        exp_safe(
            steepness.saturating_div(I32F32::from_num(-100)).saturating_mul(fixed::saturating_sub(combined, half)),
        ),
    ));
    let alpha = fixed::saturating_add(alpha_low, sigmoid.saturating_mul(fixed::saturating_sub(alpha_high, alpha_low)));
    clamp_value(alpha, alpha_low, alpha_high)
}

/// Looks up row entries the way the chain's liquid-alpha code does: it walks each row with a
/// cursor for `j = 0, 1, ...`, skipping entries whose column is below `j` and stopping at the
/// first one above. On a row sorted by column this finds every entry; on an unsorted row some
/// entries read as 0, exactly as on chain. Fills `dense` (length `columns`) with what is seen.
pub fn merge_lookup_row(cols: &[u16], vals: &[I32F32], columns: usize, dense: &mut Vec<I32F32>) {
    dense.clear();
    dense.resize(columns, ZERO);
    if is_strictly_sorted(cols) {
        for (&j, &v) in cols.iter().zip(vals) {
            if let Some(cell) = dense.get_mut(j as usize) {
                *cell = v;
            }
        }
        return;
    }
    let mut k = 0usize;
    for (j, cell) in dense.iter_mut().enumerate() {
        while let Some(&c) = cols.get(k) {
            if (c as usize) < j {
                k += 1;
            } else {
                if c as usize == j {
                    *cell = vals[k];
                }
                break;
            }
        }
    }
}

/// Stake-weighted median of a partition, the chain's literal algorithm (chain: `weighted_median`).
///
/// Mid-point pivot binary search: keeps the part of the partition that holds the stake
/// quantile `minority` within `[partition_lo, partition_hi]`. Kept as the reference for
/// [`weighted_median_col_sparse`], which returns the same value without allocating.
pub fn weighted_median(
    stake: &[I32F32],
    score: &[I32F32],
    partition_idx: &[usize],
    minority: I32F32,
    mut partition_lo: I32F32,
    mut partition_hi: I32F32,
) -> I32F32 {
    if stake.len() != score.len() {
        return ZERO;
    }
    let get = |v: &[I32F32], i: usize| v.get(i).copied().unwrap_or(ZERO);
    let mut current: Vec<usize> = partition_idx.to_vec();
    let mut iterations = 0usize;
    let limit = partition_idx.len();
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    loop {
        let n = current.len();
        if n == 0 {
            return ZERO;
        }
        if n == 1 {
            return get(score, current[0]);
        }
        let pivot = get(score, current[n / 2]);
        let (mut lo_stake, mut hi_stake) = (ZERO, ZERO);
        for &idx in &current {
            let s = get(score, idx);
            if s == pivot {
                continue;
            }
            if s < pivot {
                lo_stake = lo_stake.saturating_add(get(stake, idx));
                lower.push(idx);
            } else {
                hi_stake = hi_stake.saturating_add(get(stake, idx));
                upper.push(idx);
            }
        }
        if minority < partition_lo.saturating_add(lo_stake) && !lower.is_empty() {
            current.clone_from(&lower);
            partition_hi = partition_lo.saturating_add(lo_stake);
        } else if partition_hi.saturating_sub(hi_stake) <= minority && !upper.is_empty() {
            current.clone_from(&upper);
            partition_lo = partition_hi.saturating_sub(hi_stake);
        } else {
            return pivot;
        }
        lower.clear();
        upper.clear();
        iterations += 1;
        if iterations > limit {
            return ZERO;
        }
    }
}

/// Reusable buffers of [`weighted_median_col_sparse`].
#[derive(Clone, Debug, Default)]
pub struct MedianScratch {
    /// Normalised stake of each positive-stake row, by row (0 for the others).
    pub(crate) row_stake: Vec<I32F32>,
    /// Positive stakes in row order, normalised.
    pub(crate) use_stake: Vec<I32F32>,
    /// Start of each column's entries in `pairs` (`columns + 1` items).
    col_start: Vec<usize>,
    /// Each column's run while filling `pairs`.
    fill: Vec<ColumnRun>,
    /// `(score, stake)` raw bits of each positive score from a positive-stake row, by column.
    pairs: Vec<(i64, i64)>,
    /// Buffers of one column's selection.
    pub(crate) select: SelectScratch,
}

/// Reusable buffers of one column's median selection.
#[derive(Clone, Debug, Default)]
pub struct SelectScratch {
    /// The entries of the crossing bucket.
    bucket_items: Vec<(i64, i64)>,
    /// Each entry's bucket.
    tags: Vec<u8>,
}

/// Column-wise stake-weighted median (chain: `weighted_median_col_sparse`): for each column,
/// the consensus weight that a `majority` of the positive stake supports.
///
/// Only rows with positive `stake` vote; their stakes are re-normalised; a row's missing entry
/// is a score of 0. Returns, per column, the smallest score `v` with
/// `sum(stake of scores <= v) > stake_sum - majority`, or the largest score when no score
/// qualifies: exactly the value the chain's pivot search converges to. Rows must not list a
/// column twice (the chain never stores such rows).
pub fn weighted_median_col_sparse(
    stake: &[I32F32],
    score: &SparseMatrix,
    columns: u16,
    majority: I32F32,
    scratch: &mut MedianScratch,
    out: &mut Vec<I32F32>,
) {
    let columns = columns as usize;
    out.clear();
    out.resize(columns, ZERO);
    let MedianScratch { row_stake, use_stake, col_start, fill, pairs, select } = scratch;

    let Some(voters) = median_voters(stake, majority, use_stake, row_stake) else {
        return;
    };
    // Transpose the positive scores of voting rows into per-column runs of raw bits, noting
    // each column's score range and positive-score stake on the way.
    let voting_rows = stake.len().min(score.rows());
    col_start.clear();
    col_start.resize(columns + 1, 0);
    for (i, &s) in stake.iter().enumerate().take(voting_rows) {
        if s > ZERO {
            let (cols, vals) = score.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                if v > ZERO && (j as usize) < columns {
                    col_start[j as usize + 1] += 1;
                }
            }
        }
    }
    for j in 0..columns {
        col_start[j + 1] += col_start[j];
    }
    // Every slot up to the total is written below; a warm buffer is not cleared first.
    if pairs.len() < col_start[columns] {
        pairs.resize(col_start[columns], (0, 0));
    }
    fill.clear();
    fill.extend(col_start[..columns].iter().map(|&start| ColumnRun { next: start, min: i64::MAX, max: 0, stake: 0 }));
    for (i, &s) in stake.iter().enumerate().take(voting_rows) {
        if s > ZERO {
            let weight = row_stake[i].to_bits();
            let (cols, vals) = score.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let v = v.to_bits();
                if v > 0
                    && let Some(run) = fill.get_mut(j as usize)
                {
                    pairs[run.next] = (v, weight);
                    run.next += 1;
                    run.min = run.min.min(v);
                    run.max = run.max.max(v);
                    run.stake = run.stake.saturating_add(weight);
                }
            }
        }
    }

    for (j, median) in out.iter_mut().enumerate() {
        let items = &pairs[col_start[j]..col_start[j + 1]];
        let run = &fill[j];
        *median = I32F32::from_bits(voters.column_median(
            items.iter().copied(),
            items.len(),
            run.min,
            run.max,
            run.stake,
            None,
            select,
        ));
    }
}

/// The voters of a stake-weighted median: how many rows vote (positive stake), their
/// normalised stakes' sum and the minority `stake_sum - majority`, as raw `I32F32` bits.
#[derive(Clone, Copy, Debug)]
pub struct MedianVoters {
    /// Rows with positive stake.
    count: usize,
    /// Sum of the normalised voting stakes.
    stake_sum: i64,
    /// `stake_sum - majority`, saturating.
    minority: i64,
}

/// The voters of [`weighted_median_col_sparse`]: positive stakes re-normalised in row order
/// into `use_stake`, and by row into `row_stake` (0 for rows that do not vote). `None` when no
/// row votes (every median is then 0).
pub fn median_voters(
    stake: &[I32F32],
    majority: I32F32,
    use_stake: &mut Vec<I32F32>,
    row_stake: &mut Vec<I32F32>,
) -> Option<MedianVoters> {
    use_stake.clear();
    use_stake.extend(stake.iter().copied().filter(|&s| s > ZERO));
    inplace_normalize(use_stake);
    let stake_sum = sum(use_stake);
    let minority = fixed::saturating_sub(stake_sum, majority);
    let count = use_stake.len();
    if count == 0 {
        return None;
    }
    row_stake.clear();
    row_stake.resize(stake.len(), ZERO);
    let mut k = 0usize;
    for (i, &s) in stake.iter().enumerate() {
        if s > ZERO {
            row_stake[i] = use_stake[k];
            k += 1;
        }
    }
    Some(MedianVoters { count, stake_sum: stake_sum.to_bits(), minority: minority.to_bits() })
}

impl MedianVoters {
    /// One column's median from its positive scores: `items` yields `(score, stake)` raw bits
    /// of each voter with a positive score (any order; `len` of them), `min` and `max` their
    /// score range and `stake` the sum of their stakes; every other voter scores 0.
    ///
    /// `hint` is a guess of the median (the column's consensus in the subnet's previous
    /// epoch: between two weight settings only the stakes move, and the median rarely does).
    /// One pass checks whether the guess is the median; if not, it is searched for. The result
    /// never depends on the hint, only the time it takes.
    #[allow(clippy::too_many_arguments)]
    pub fn column_median<I: Iterator<Item = (i64, i64)> + Clone>(
        &self,
        items: I,
        len: usize,
        min: i64,
        max: i64,
        stake: i64,
        hint: Option<i64>,
        scratch: &mut SelectScratch,
    ) -> i64 {
        if len == 0 {
            return 0; // every voter scores 0
        }
        let zero_stake = self.stake_sum.saturating_sub(stake);
        let has_zero = len < self.count;
        if has_zero && zero_stake > self.minority {
            return 0; // the median is 0
        }
        let target = if has_zero { self.minority.saturating_sub(zero_stake) } else { self.minority };
        if let Some(h) = hint.filter(|h| (min..=max).contains(h))
            && is_weighted_select(items.clone(), h, target)
        {
            return h;
        }
        select_weighted(items, len, min, max, target, scratch)
    }
}

/// Whether `h` is what [`select_weighted`] returns for `items` and `target`: a score among
/// them whose lower scores' stake is at most `target` and whose stake up to and including it
/// is above `target` (no lower score then qualifies, and `h` does). Stakes are normalised, so
/// the sums do not wrap, as in [`select_weighted`].
fn is_weighted_select<I: Iterator<Item = (i64, i64)>>(items: I, h: i64, target: i64) -> bool {
    let (mut below, mut upto, mut present) = (0i64, 0i64, false);
    for (v, s) in items {
        below = below.wrapping_add(if v < h { s } else { 0 });
        upto = upto.wrapping_add(if v <= h { s } else { 0 });
        present |= v == h;
    }
    present && below <= target && upto > target
}

/// One column's run while transposing: next free slot, score range, stake of positive scores.
#[derive(Clone, Copy, Debug, Default)]
struct ColumnRun {
    next: usize,
    min: i64,
    max: i64,
    stake: i64,
}

/// Buckets per column in [`select_weighted`]'s first pass (a power of two).
const MEDIAN_BUCKETS: usize = 64;

/// Smallest score `v` in `run` (`len` entries) with `sum(stake of scores <= v) > target`, or the
/// largest score when none qualifies; `run` must not be empty, its scores lie in `[min, max]`. Raw `I32F32`
/// bits; the stakes are normalised (each at most 1, so no sum of them comes near overflow and
/// plain sums equal the chain's saturating ones).
///
/// A first pass sums stake into [`MEDIAN_BUCKETS`] buckets of equal score width (integer shift
/// of `score - min`, so buckets are ordered by score), noting each entry's bucket in `tags`;
/// the first bucket whose cumulative stake passes `target` holds the answer, found among that
/// bucket's scores by [`select_quick`]. Every sum is exact, so this is the same value as a
/// search over the whole column.
fn select_weighted<I: Iterator<Item = (i64, i64)> + Clone>(
    run: I,
    len: usize,
    min: i64,
    max: i64,
    target: i64,
    scratch: &mut SelectScratch,
) -> i64 {
    if min >= max {
        return max;
    }
    let SelectScratch { bucket_items, tags } = scratch;
    let span = max.abs_diff(min);
    let shift = (u64::BITS - span.leading_zeros()).saturating_sub(MEDIAN_BUCKETS.trailing_zeros());
    let mut sums = [0i64; MEDIAN_BUCKETS];
    tags.clear();
    tags.resize(len, 0);
    for ((v, s), tag) in run.clone().zip(tags.iter_mut()) {
        let b = (v.abs_diff(min) >> shift) as usize & (MEDIAN_BUCKETS - 1);
        *tag = b as u8;
        sums[b] = sums[b].wrapping_add(s);
    }
    let mut below = 0i64;
    let mut crossing = MEDIAN_BUCKETS;
    for (b, &s) in sums.iter().enumerate() {
        let next = below.wrapping_add(s);
        if next > target {
            crossing = b;
            break;
        }
        below = next;
    }
    if crossing == MEDIAN_BUCKETS {
        return max;
    }
    bucket_items.clear();
    for (item, &tag) in run.zip(tags.iter()) {
        if usize::from(tag) == crossing {
            bucket_items.push(item);
        }
    }
    match bucket_items[..] {
        [(v, _)] => v, // the one score of the crossing bucket
        _ => select_quick(bucket_items, target.saturating_sub(below)),
    }
}

/// [`select_weighted`] by three-way quickselect in place; `run` must not be empty.
fn select_quick(run: &mut [(i64, i64)], target: i64) -> i64 {
    let (mut lo, mut hi) = (0usize, run.len());
    let mut below = 0i64;
    loop {
        let part = &mut run[lo..hi];
        let len = part.len();
        if len <= 1 {
            return part.first().map_or(0, |p| p.0);
        }
        let pivot = part[len / 2].0;
        let (mut lt, mut i, mut gt) = (0usize, 0usize, len);
        let (mut s_less, mut s_equal) = (0i64, 0i64);
        while i < gt {
            let (v, s) = part[i];
            if v < pivot {
                part.swap(lt, i);
                lt += 1;
                i += 1;
                s_less = s_less.saturating_add(s);
            } else if v > pivot {
                gt -= 1;
                part.swap(i, gt);
            } else {
                i += 1;
                s_equal = s_equal.saturating_add(s);
            }
        }
        if lt > 0 && below.saturating_add(s_less) > target {
            hi = lo + lt;
            continue;
        }
        if below.saturating_add(s_less).saturating_add(s_equal) > target || gt == len {
            return pivot;
        }
        below = below.saturating_add(s_less).saturating_add(s_equal);
        lo += gt;
    }
}

#[cfg(test)]
mod tests {
    //! Cases from the chain's `pallets/subtensor/src/tests/math.rs`, same inputs and expected
    //! values (exact where the chain is exact, the chain's tolerance where it uses one).
    #![allow(clippy::unwrap_used, clippy::excessive_precision)]
    use super::*;
    use proptest::prelude::*;
    use substrate_fixed::transcendental::exp;

    /// The chain's tests write values as `f32` and convert with `I32F32::from_num`; so do we,
    /// to get the same bits.
    fn fx(x: f32) -> I32F32 {
        I32F32::from_num(x)
    }

    /// A bare literal in the chain's tests (`I32F32::from_num(0.9)`) is an `f64`.
    fn fx64(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    fn vec_fixed(v: &[f32]) -> Vec<I32F32> {
        v.iter().map(|&x| fx(x)).collect()
    }

    /// The chain's `vec_to_sparse_mat_fixed`: reshape, keep entries > 0, optionally transposed.
    fn sparse(v: &[f32], rows: usize, transpose: bool) -> SparseMatrix {
        let cols = v.len() / rows;
        let mut m = SparseMatrix::new();
        if transpose {
            for c in 0..cols {
                for r in 0..rows {
                    if v[r * cols + c] > 0.0 {
                        m.push(r as u16, fx(v[r * cols + c]));
                    }
                }
                m.end_row();
            }
        } else {
            for r in 0..rows {
                for c in 0..cols {
                    if v[r * cols + c] > 0.0 {
                        m.push(c as u16, fx(v[r * cols + c]));
                    }
                }
                m.end_row();
            }
        }
        m
    }

    fn assert_sparse_close(a: &SparseMatrix, b: &SparseMatrix, eps: f32) {
        assert_eq!(a.rows(), b.rows(), "{a:?} vs {b:?}");
        for i in 0..a.rows() {
            let (ac, av) = a.row(i);
            let (bc, bv) = b.row(i);
            assert_eq!(ac, bc, "row {i}: {a:?} vs {b:?}");
            for (x, y) in av.iter().zip(bv) {
                assert!((*x - *y).abs() <= fx(eps), "row {i}: {x} vs {y}");
            }
        }
    }

    fn assert_vec_close(a: &[I32F32], b: &[I32F32], eps: f32) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((*x - *y).abs() <= fx(eps), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn test_math_vec_max_upscale_to_u16() {
        let cases: Vec<(Vec<I32F32>, Vec<u16>)> = vec![
            (vec![], vec![]),
            (vec_fixed(&[0.]), vec![0]),
            (vec_fixed(&[0., 0.]), vec![0, 0]),
            (vec_fixed(&[0., 1.]), vec![0, 65535]),
            (vec_fixed(&[0., 0.000000001]), vec![0, 65535]),
            (vec_fixed(&[0., 0.000016, 1.]), vec![0, 1, 65535]),
            (vec_fixed(&[0.000000001, 0.000000001]), vec![65535, 65535]),
            (
                vec_fixed(&[0.000001, 0.000006, 0.000007, 0.0001, 0.001, 0.01, 0.1, 0.2, 0.3, 0.4]),
                vec![0, 1, 1, 16, 164, 1638, 16384, 32768, 49151, 65535],
            ),
            (vec![fx(16384.)], vec![65535]),
            (vec![fx(32768.)], vec![65535]),
            (vec![fx(32769.)], vec![65535]),
            (vec![fx(65535.)], vec![65535]),
            (vec![I32F32::max_value()], vec![65535]),
            (vec_fixed(&[0., 1., 65535.]), vec![0, 1, 65535]),
            (vec_fixed(&[0., 0.5, 1., 1.5, 2., 32768.]), vec![0, 1, 2, 3, 4, 65535]),
            (vec_fixed(&[0., 0.5, 1., 1.5, 2., 32768., 32769.]), vec![0, 1, 2, 3, 4, 65533, 65535]),
            (vec![fx(0.), fx(1.), fx(32768.), fx(32769.), I32F32::max_value()], vec![0, 0, 1, 1, 65535]),
        ];
        for (input, target) in cases {
            assert_eq!(vec_max_upscale_to_u16(&input), target, "input {input:?}");
        }
    }

    #[test]
    fn test_vec_u16_max_upscale_to_u16() {
        let same = |v: Vec<u16>| assert_eq!(vec_u16_max_upscale_to_u16(&v), v);
        same(vec![]);
        same(vec![0]);
        same(vec![0, 0]);
        same(vec![65535]);
        same(vec![65535, 65535]);
        same(vec![0, 1, 2, 3, 4, 65533, 65535]);
        assert_eq!(vec_u16_max_upscale_to_u16(&[1]), vec![65535]);
        assert_eq!(vec_u16_max_upscale_to_u16(&[0, 1]), vec![0, 65535]);
        assert_eq!(vec_u16_max_upscale_to_u16(&[65534]), vec![65535]);
        assert_eq!(vec_u16_max_upscale_to_u16(&[0, 1, 65534]), vec![0, 1, 65535]);
    }

    #[test]
    fn test_math_fixed_conversions() {
        assert_eq!(fixed_to_u16(fx(0.)), 0);
        assert_eq!(fixed_to_u16(fx(32767.)), 32767);
        assert_eq!(fixed_to_u16(fx(65535.)), 65535);
        assert_eq!(fixed64_to_u64(I64F64::from_num(-1)), 0);
        assert_eq!(fixed64_to_u64(I64F64::from_num(i64::MAX)), i64::MAX as u64);
        assert_eq!(fixed64_to_fixed32(I64F64::from_num(u32::MAX)), I32F32::max_value());
        assert_eq!(fixed64_to_fixed32(I64F64::from_num(i64::MAX)), I32F32::max_value());
        assert_eq!(u16_to_fixed(65535), fx(65535.));
        assert_eq!(u16_proportion_to_fixed(0), ZERO);
        assert_eq!(u16_proportion_to_fixed(65535), ONE);
        assert_eq!(fixed_proportion_to_u16(ZERO), 0);
        assert_eq!(fixed_proportion_to_u16(fx(65535.)), 65535);
        // Truncation, never rounding: 0.5 * 65535 = 32767.5 is stored as 32767.
        assert_eq!(fixed_proportion_to_u16(fx(0.5)), 32767);
        assert_eq!(safe_div(ONE, ZERO), ZERO);
        assert_eq!(safe_div(I32F32::max_value(), fx(0.25)), ZERO);
    }

    proptest! {
        /// The wide-division fast path of `safe_div_64` is the crate's division, bit for bit.
        #[test]
        fn safe_div_64_matches_the_crate(a in any::<i128>(), b in any::<i128>(), shift in 0u32..127) {
            let (a, b) = (I64F64::from_bits(a >> (shift / 2)), I64F64::from_bits(b >> shift));
            prop_assert_eq!(safe_div_64(a, b), a.checked_div(b).unwrap_or(I64F64::from_bits(0)));
            let half = |x: I64F64| I64F64::from_bits((x.to_bits().unsigned_abs() / 2) as i128);
            let (a, b) = (half(a), half(b));
            prop_assert_eq!(safe_div_64(a, b), a.checked_div(b).unwrap_or(I64F64::from_bits(0)));
        }

        #[test]
        fn fixed_proportion_to_u16_matches_the_crate(
            bits in prop_oneof![any::<i64>(), 0i64..=(1 << 32), Just(1i64 << 32), Just(-1i64)],
        ) {
            let x = I32F32::from_bits(bits);
            prop_assert_eq!(
                fixed_proportion_to_u16(x),
                x.saturating_mul(I32F32::saturating_from_num(u16::MAX)).saturating_to_num::<u16>()
            );
        }
    }

    #[test]
    fn test_math_fixed_overflow_alpha() {
        // The chain's `test_math_fixed_overflow`: alpha = 1 - 900_000 / 1e6 is exactly 0.1 in I32F32.
        let bma = safe_div_64(I64F64::from_num(900_000u64), I64F64::from_num(1_000_000u64));
        let alpha = ONE.saturating_sub(I32F32::saturating_from_num(bma));
        assert_eq!(alpha, fx64(0.1));
    }

    #[test]
    fn test_math_exp_safe() {
        assert_eq!(exp_safe(ZERO), exp::<I32F32, I32F32>(ZERO).unwrap());
        assert_eq!(exp_safe(ONE), exp::<I32F32, I32F32>(ONE).unwrap());
        let (min, max) = (fx(-20.), fx(20.));
        let at_min = exp::<I32F32, I32F32>(min).unwrap();
        let at_max = exp::<I32F32, I32F32>(max).unwrap();
        assert_eq!(exp_safe(min), at_min);
        assert_eq!(exp_safe(min - ONE), at_min);
        assert_eq!(exp_safe(I32F32::min_value()), at_min);
        assert_eq!(exp_safe(max), at_max);
        assert_eq!(exp_safe(max + ONE), at_max);
        assert_eq!(exp_safe(I32F32::max_value()), at_max);
    }

    #[test]
    fn test_math_is_topk_nonzero() {
        let mut out = Vec::new();
        is_topk_nonzero(&[], 5, &mut out);
        assert!(out.is_empty());
        let v = vec_fixed(&[0., 1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        is_topk_nonzero(&v, 0, &mut out);
        assert_eq!(out, vec![false; 10]);
        is_topk_nonzero(&v, 5, &mut out);
        assert_eq!(out, [false, false, false, false, false, true, true, true, true, true]);
        is_topk_nonzero(&v, 10, &mut out);
        assert_eq!(out, [false, true, true, true, true, true, true, true, true, true], "zero never wins");
        is_topk_nonzero(&v, 100, &mut out);
        assert_eq!(out, [false, true, true, true, true, true, true, true, true, true]);
        let v = vec_fixed(&[9., 0., 8., 1., 7., 2., 6., 3., 5., 4.]);
        is_topk_nonzero(&v, 5, &mut out);
        assert_eq!(out, [true, false, true, false, true, false, true, false, true, false]);
        // Ties: the stable sort unmarks the lower uids first, so the higher uids keep permits.
        let v = vec_fixed(&[0., 1., 2., 3., 4., 5., 5., 5., 5., 6.]);
        is_topk_nonzero(&v, 3, &mut out);
        assert_eq!(out, [false, false, false, false, false, false, false, true, true, true]);
        let v = vec_fixed(&[1., 1., 1., 1.]);
        is_topk_nonzero(&v, 2, &mut out);
        assert_eq!(out, [false, false, true, true]);
    }

    #[test]
    fn test_math_inplace_normalize() {
        let mut x = vec_fixed(&[1., 10., 30.]);
        inplace_normalize(&mut x);
        assert_vec_close(&x, &vec_fixed(&[0.0243902437, 0.243902439, 0.7317073171]), 0.0001);
        let mut x = vec_fixed(&[-1., 10., 30.]);
        inplace_normalize(&mut x);
        assert_vec_close(&x, &vec_fixed(&[-0.0256410255, 0.2564102563, 0.769230769]), 0.0001);
        let mut x = vec_fixed(&[0., 0.]);
        inplace_normalize(&mut x);
        assert_eq!(x, vec_fixed(&[0., 0.]));
        let mut x: Vec<I64F64> = [1.0, 10.0, 30.0].iter().map(|&v| I64F64::from_num(v)).collect();
        inplace_normalize_64(&mut x);
        let want = [0.0243902437, 0.243902439, 0.7317073171];
        for (a, b) in x.iter().zip(want) {
            assert!((*a - I64F64::from_num(b)).abs() <= I64F64::from_num(0.0001));
        }
    }

    #[test]
    fn test_math_inplace_mask_vector() {
        let mut v = vec_fixed(&[0., 1., 2.]);
        inplace_mask_vector(&[false, false, false], &mut v);
        assert_eq!(v, vec_fixed(&[0., 1., 2.]));
        inplace_mask_vector(&[false, true, false], &mut v);
        assert_eq!(v, vec_fixed(&[0., 0., 2.]));
        inplace_mask_vector(&[true, true, true], &mut v);
        assert_eq!(v, vec_fixed(&[0., 0., 0.]));
    }

    #[test]
    fn test_math_inplace_row_normalize_sparse() {
        let v = [
            0., 1., 0., 2., 0., 3., 4., 0., 1., 0., 2., 0., 3., 0., 1., 0., 0., 2., 0., 3., 4., 0., 10., 0., 100.,
            1000., 0., 10000., 0., 0., 0., 0., 0., 0., 0., 1., 1., 1., 1., 1., 1., 1.,
        ];
        let mut m = sparse(&v, 6, false);
        inplace_row_normalize_sparse(&mut m);
        let t = [
            0., 0.1, 0., 0.2, 0., 0.3, 0.4, 0., 0.166666, 0., 0.333333, 0., 0.5, 0., 0.1, 0., 0., 0.2, 0., 0.3, 0.4,
            0., 0.0009, 0., 0.009, 0.09, 0., 0.9, 0., 0., 0., 0., 0., 0., 0., 0.142857, 0.142857, 0.142857, 0.142857,
            0.142857, 0.142857, 0.142857,
        ];
        assert_sparse_close(&m, &sparse(&t, 6, false), 0.0001);
        let mut m = sparse(&[0.; 12], 3, false);
        inplace_row_normalize_sparse(&mut m);
        assert_eq!(m, sparse(&[0.; 12], 3, false));
    }

    #[test]
    fn test_math_inplace_col_normalize_sparse() {
        let v = [
            0., 1., 0., 2., 0., 3., 4., 0., 1., 0., 2., 0., 3., 0., 1., 0., 0., 2., 0., 3., 4., 0., 10., 0., 100.,
            1000., 0., 10000., 0., 0., 0., 0., 0., 0., 0., 1., 1., 1., 1., 1., 1., 1.,
        ];
        let mut scratch = ColumnScratch::default();
        let mut m = sparse(&v, 6, true);
        inplace_col_normalize_sparse(&mut m, 6, &mut scratch);
        let t = [
            0., 0.1, 0., 0.2, 0., 0.3, 0.4, 0., 0.166666, 0., 0.333333, 0., 0.5, 0., 0.1, 0., 0., 0.2, 0., 0.3, 0.4,
            0., 0.0009, 0., 0.009, 0.09, 0., 0.9, 0., 0., 0., 0., 0., 0., 0., 0.142857, 0.142857, 0.142857, 0.142857,
            0.142857, 0.142857, 0.142857,
        ];
        assert_sparse_close(&m, &sparse(&t, 6, true), 0.0001);
        let mut m = sparse(&[0.; 12], 3, false);
        inplace_col_normalize_sparse(&mut m, 6, &mut scratch);
        assert_eq!(m, sparse(&[0.; 12], 3, false));
        let mut m = SparseMatrix::new();
        inplace_col_normalize_sparse(&mut m, 0, &mut scratch);
        assert_eq!(m.rows(), 0);
    }

    #[test]
    fn test_math_inplace_col_max_upscale_sparse() {
        let mut scratch = ColumnScratch::default();
        let mut m = SparseMatrix::from_rows(&[vec![(0, ZERO)]]);
        inplace_col_max_upscale_sparse(&mut m, 1, &mut scratch);
        assert_eq!(m.to_rows(), vec![vec![(0, ZERO)]]);
        let v = [
            0., 1., 0., 2., 0., 3., 4., 0., 1., 0., 2., 0., 3., 0., 1., 0., 0., 2., 0., 3., 4., 0., 10., 0., 100.,
            1000., 0., 10000., 0., 0., 0., 0., 0., 0., 0., 1., 1., 1., 1., 1., 1., 1.,
        ];
        let mut m = sparse(&v, 6, true);
        inplace_col_max_upscale_sparse(&mut m, 6, &mut scratch);
        let t = [
            0., 0.25, 0., 0.5, 0., 0.75, 1., 0., 0.333333, 0., 0.666666, 0., 1., 0., 0.25, 0., 0., 0.5, 0., 0.75, 1.,
            0., 0.001, 0., 0.01, 0.1, 0., 1., 0., 0., 0., 0., 0., 0., 0., 1., 1., 1., 1., 1., 1., 1.,
        ];
        assert_sparse_close(&m, &sparse(&t, 6, true), 0.0001);
    }

    #[test]
    fn test_math_mask_rows_and_diag_sparse() {
        let m = sparse(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], 3, false);
        let mut r = m.clone();
        inplace_mask_rows_sparse(&[false, false, false], &mut r);
        assert_eq!(r, m);
        let mut r = m.clone();
        inplace_mask_rows_sparse(&[true, false, true], &mut r);
        assert_eq!(r, sparse(&[0., 0., 0., 4., 5., 6., 0., 0., 0.], 3, false));
        let mut r = m.clone();
        inplace_mask_rows_sparse(&[true, true, true], &mut r);
        assert_eq!(r, sparse(&[0.; 9], 3, false));
        let mut r = m.clone();
        inplace_mask_diag_sparse(&mut r);
        assert_eq!(r, sparse(&[0., 2., 3., 4., 0., 6., 7., 8., 0.], 3, false));
        for i in 0..3 {
            let mut target = [0., 2., 3., 4., 0., 6., 7., 8., 0.];
            target[i * 3 + i] = [1., 5., 9.][i];
            let mut r = m.clone();
            inplace_mask_diag_sparse_except_index(&mut r, i as u16);
            assert_eq!(r, sparse(&target, 3, false), "except {i}");
        }
    }

    #[test]
    fn test_math_vec_mask_sparse_matrix() {
        let m = sparse(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], 3, false);
        let mut r = m.clone();
        inplace_vec_mask_sparse_matrix(&mut r, &[1, 2, 3], &[1, 2, 3], |a, b| a == b);
        assert_eq!(r, sparse(&[0., 2., 3., 4., 0., 6., 7., 8., 0.], 3, false));
        let mut r = m.clone();
        inplace_vec_mask_sparse_matrix(&mut r, &[1, 2, 3], &[1, 2, 3], |a, b| a < b);
        assert_eq!(r, sparse(&[1., 0., 0., 4., 5., 0., 7., 8., 9.], 3, false));
        let mut r = m;
        inplace_scalar_vec_mask_sparse_matrix(&mut r, 2, &[1, 2, 3], |a, b| a <= b);
        assert_eq!(r, sparse(&[1., 0., 0., 4., 0., 0., 7., 0., 0.], 3, false));
    }

    #[test]
    fn test_math_products_and_sums_sparse() {
        let m = sparse(&[1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12.], 4, false);
        let holes = sparse(&[0., 2., 3., 4., 0., 6., 7., 8., 0., 10., 11., 12.], 4, false);
        let mut out = SparseMatrix::new();
        let mut v = Vec::new();
        mat_vec_mul_sparse(&m, &vec_fixed(&[1., 2., 3.]), &mut out);
        assert_eq!(out, sparse(&[1., 4., 9., 4., 10., 18., 7., 16., 27., 10., 22., 36.], 4, false));
        mat_vec_mul_sparse(&m, &vec_fixed(&[1., 0., 0.]), &mut out);
        assert_eq!(out, sparse(&[1., 0., 0., 4., 0., 0., 7., 0., 0., 10., 0., 0.], 4, false));
        mat_vec_mul_sparse(&m, &[], &mut out);
        assert_eq!(out, sparse(&[0.; 12], 4, false));
        row_hadamard_sparse(&m, &vec_fixed(&[1., 2., 3., 4.]), &mut out);
        assert_eq!(out, sparse(&[1., 2., 3., 8., 10., 12., 21., 24., 27., 40., 44., 48.], 4, false));
        row_hadamard_sparse(&holes, &vec_fixed(&[1., 2., 3., 4.]), &mut out);
        assert_eq!(out, sparse(&[0., 2., 3., 8., 0., 12., 21., 24., 0., 40., 44., 48.], 4, false));
        row_sum_sparse(&m, &mut v);
        assert_eq!(v, vec_fixed(&[6., 15., 24., 33.]));
        row_sum_sparse(&holes, &mut v);
        assert_eq!(v, vec_fixed(&[5., 10., 15., 33.]));
        matmul_sparse(&m, &vec_fixed(&[1., 2., 3., 4.]), 3, &mut v);
        assert_eq!(v, vec_fixed(&[70., 80., 90.]));
        matmul_sparse(&holes, &vec_fixed(&[1., 2., 3., 4.]), 3, &mut v);
        assert_eq!(v, vec_fixed(&[69., 70., 63.]));
        matmul_transpose_sparse(&m, &vec_fixed(&[1., 2., 3.]), &mut v);
        assert_eq!(v, vec_fixed(&[14., 32., 50., 68.]));
        matmul_transpose_sparse(&holes, &vec_fixed(&[1., 2., 3.]), &mut v);
        assert_eq!(v, vec_fixed(&[13., 22., 23., 68.]));
        vec_mul(&vec_fixed(&[1., 2., 3., 4.]), &vec_fixed(&[1., 2., 3., 4.]), &mut v);
        assert_eq!(v, vec_fixed(&[1., 4., 9., 16.]));
        vec_mul(&[I32F32::max_value()], &vec_fixed(&[2.]), &mut v);
        assert_eq!(v, vec![ZERO], "an overflowing product is 0");
    }

    #[test]
    fn test_math_col_clip_sparse() {
        let th = vec_fixed(&[0., 5., 12.]);
        let mut out = SparseMatrix::new();
        col_clip_sparse(&sparse(&[0., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12.], 4, false), &th, &mut out);
        assert_eq!(out, sparse(&[0., 2., 3., 0., 5., 6., 0., 5., 9., 0., 5., 12.], 4, false));
        col_clip_sparse(&sparse(&[0., 2., 3., 4., 5., 6., 0., 0., 0., 10., 11., 12.], 4, false), &th, &mut out);
        assert_eq!(out, sparse(&[0., 2., 3., 0., 5., 6., 0., 0., 0., 0., 5., 12.], 4, false));
        // An explicit zero weight on a zero-consensus column is kept (0 < 0 is false).
        col_clip_sparse(&SparseMatrix::from_rows(&[vec![(0, ZERO)]]), &th, &mut out);
        assert_eq!(out.to_rows(), vec![vec![(0, ZERO)]]);
    }

    #[test]
    fn test_math_interpolate_sparse() {
        let mut out = SparseMatrix::new();
        let mut scratch = Vec::new();
        let m1 = sparse(&[0.], 1, false);
        let m2 = sparse(&[1.], 1, false);
        interpolate_sparse(&m1, &m2, 1, ZERO, &mut out, &mut scratch);
        assert_eq!(out, sparse(&[0.], 1, false));
        interpolate_sparse(&m1, &m2, 1, fx64(0.5), &mut out, &mut scratch);
        assert_eq!(out, sparse(&[0.5], 1, false));
        interpolate_sparse(&m1, &m2, 1, ONE, &mut out, &mut scratch);
        assert_eq!(out, sparse(&[1.], 1, false));
        let m1 = sparse(&[1., 0., 100., 1000., 10000., 100000.], 3, false);
        let m2 = sparse(&[10., 100., 1000., 10000., 100000., 0.], 3, false);
        interpolate_sparse(&m1, &m2, 2, ZERO, &mut out, &mut scratch);
        assert_eq!(out, m1);
        interpolate_sparse(&m1, &m2, 2, fx64(0.9), &mut out, &mut scratch);
        assert_sparse_close(&out, &sparse(&[9.1, 90., 910., 9100., 91000., 10000.], 3, false), 0.0001);
        let m1 = sparse(&[0.; 12], 4, false);
        let m2 = sparse(&[1.; 12], 4, false);
        interpolate_sparse(&m1, &m2, 3, fx64(0.000000001), &mut out, &mut scratch);
        assert_eq!(out, sparse(&[0.000000001; 12], 4, false));
        interpolate_sparse(&m1, &m2, 3, fx64(0.5), &mut out, &mut scratch);
        assert_eq!(out, sparse(&[0.5; 12], 4, false));
        interpolate_sparse(&m1, &m2, 3, fx64(0.9999998808), &mut out, &mut scratch);
        assert_eq!(out, sparse(&[0.999_999_9; 12], 4, false));
    }

    #[test]
    fn test_math_weighted_median_literal() {
        let zero = ZERO;
        let case = |stake: &[f32], score: &[f32], majority: f32| {
            let stake = vec_fixed(stake);
            let score = vec_fixed(score);
            let idx: Vec<usize> = (0..stake.len()).collect();
            weighted_median(&stake, &score, &idx, ONE - fx(majority), zero, sum(&stake))
        };
        assert_eq!(case(&[], &[], 0.51), zero);
        assert_eq!(case(&[0.49, 0.51], &[0.5, 1.], 0.51), ONE);
        assert_eq!(case(&[0.51, 0.49], &[0.5, 1.], 0.51), fx(0.5));
        assert_eq!(case(&[0.49, 0., 0.51], &[0.5, 0.7, 1.], 0.51), ONE);
        assert_eq!(case(&[0.49, 0.01, 0.5], &[0.5, 0.7, 1.], 0.51), fx(0.7));
        assert_eq!(case(&[0.49, 0.51, 0.0], &[0.5, 0.7, 1.], 0.51), fx(0.7));
        assert_eq!(case(&[0.0, 0.49, 0.51], &[0.5, 0.7, 1.], 0.51), ONE);
        assert_eq!(case(&[0.0, 0.49, 0.0, 0.51], &[0.5, 0.5, 1., 1.], 0.51), ONE);
        assert_eq!(case(&[0.0, 0.49, 0.0, 0.51, 0.0], &[0.5, 0.5, 1., 1., 0.5], 0.51), ONE);
        assert_eq!(case(&[0.2; 5], &[0.8, 0.2, 1., 0.6, 0.4], 0.51), fx(0.6));
        assert_eq!(case(&[0.1; 10], &[0.8, 0.8, 0.2, 0.2, 1.0, 1.0, 0.6, 0.6, 0.4, 0.4], 0.51), fx(0.6));
    }

    #[test]
    fn test_math_weighted_median_col_sparse() {
        let mut scratch = MedianScratch::default();
        let mut out = Vec::new();
        weighted_median_col_sparse(&[], &SparseMatrix::from_rows(&[vec![]]), 0, fx(0.5), &mut scratch, &mut out);
        assert!(out.is_empty());
        let w = sparse(&[0., 0., 0., 0.], 2, false);
        weighted_median_col_sparse(&vec_fixed(&[0., 0.]), &w, 2, fx(0.5), &mut scratch, &mut out);
        assert_eq!(out, vec_fixed(&[0., 0.]));
        let stake = vec_fixed(&[0., 0.75, 0.25, 0.]);
        let w = sparse(&[0., 0.1, 0., 0., 0.2, 0.4, 0., 0.3, 0.1, 0., 0.4, 0.5], 4, false);
        for (majority, want) in [(0.24, [0., 0.3, 0.4]), (0.26, [0., 0.2, 0.4]), (0.76, [0., 0.2, 0.1])] {
            weighted_median_col_sparse(&stake, &w, 3, fx(majority), &mut scratch, &mut out);
            assert_eq!(out, vec_fixed(&want), "majority {majority}");
        }
        let stake = vec_fixed(&[0., 0.3, 0.2, 0.5]);
        let w = sparse(&[0., 0.1, 0., 0., 0.2, 0.4, 0., 0.3, 0.1, 0., 0., 0.5], 4, false);
        weighted_median_col_sparse(&stake, &w, 3, fx(0.51), &mut scratch, &mut out);
        assert_eq!(out, vec_fixed(&[0., 0., 0.4]));
    }

    /// The chain's `weighted_median_col_sparse`, literally: densify each column, run
    /// [`weighted_median`].
    fn weighted_median_col_sparse_literal(
        stake: &[I32F32],
        score: &SparseMatrix,
        columns: u16,
        majority: I32F32,
    ) -> Vec<I32F32> {
        let mut use_stake: Vec<I32F32> = stake.iter().copied().filter(|&s| s > ZERO).collect();
        inplace_normalize(&mut use_stake);
        let stake_sum = sum(&use_stake);
        let minority = stake_sum.saturating_sub(majority);
        let idx: Vec<usize> = (0..use_stake.len()).collect();
        let mut use_score = vec![vec![ZERO; use_stake.len()]; columns as usize];
        let mut k = 0;
        for (i, &s) in stake.iter().enumerate().take(score.rows()) {
            if s > ZERO {
                let (cols, vals) = score.row(i);
                for (&c, &v) in cols.iter().zip(vals) {
                    if let Some(col) = use_score.get_mut(c as usize) {
                        col[k] = v;
                    }
                }
                k += 1;
            }
        }
        use_score.iter().map(|col| weighted_median(&use_stake, col, &idx, minority, ZERO, stake_sum)).collect()
    }

    proptest! {
        /// The in-place select agrees with the chain's literal pivot search on every column.
        #[test]
        fn weighted_median_col_matches_the_chain(
            rows in proptest::collection::vec(
                (0u32..=4, proptest::collection::vec(proptest::option::of(0u16..=6), 5)),
                0..12,
            ),
            kappa in prop_oneof![Just(0u16), Just(32767u16), Just(65535u16), any::<u16>()],
        ) {
            let stake: Vec<I32F32> = rows.iter().map(|(s, _)| I32F32::from_num(*s) / I32F32::from_num(7)).collect();
            let mut m = SparseMatrix::new();
            for (_, row) in &rows {
                for (j, w) in row.iter().enumerate() {
                    if let Some(w) = w {
                        m.push(j as u16, I32F32::from_num(*w) / I32F32::from_num(6));
                    }
                }
                m.end_row();
            }
            let majority = u16_proportion_to_fixed(kappa);
            let mut scratch = MedianScratch::default();
            let mut fast = Vec::new();
            weighted_median_col_sparse(&stake, &m, 5, majority, &mut scratch, &mut fast);
            prop_assert_eq!(fast, weighted_median_col_sparse_literal(&stake, &m, 5, majority));
        }
    }

    proptest! {
        /// Same on larger columns with scores spread over the whole range and clustered.
        #[test]
        fn weighted_median_col_matches_the_chain_on_wide_columns(
            rows in proptest::collection::vec(
                (0u64..1 << 20, proptest::collection::vec(
                    prop_oneof![Just(None), (0i64..=1 << 32).prop_map(Some), (0i64..64).prop_map(Some)],
                    3,
                )),
                0..90,
            ),
            kappa in any::<u16>(),
        ) {
            let stake: Vec<I32F32> = rows.iter().map(|(s, _)| I32F32::from_bits(*s as i64)).collect();
            let mut m = SparseMatrix::new();
            for (_, row) in &rows {
                for (j, w) in row.iter().enumerate() {
                    if let Some(w) = w {
                        m.push(j as u16, I32F32::from_bits(*w));
                    }
                }
                m.end_row();
            }
            let majority = u16_proportion_to_fixed(kappa);
            let mut scratch = MedianScratch::default();
            let mut fast = Vec::new();
            weighted_median_col_sparse(&stake, &m, 3, majority, &mut scratch, &mut fast);
            prop_assert_eq!(fast, weighted_median_col_sparse_literal(&stake, &m, 3, majority));
        }
    }

    proptest! {
        /// A column's median is the same with any hint: the true median, a score of the column
        /// that is not the median, or a value that is no score at all.
        #[test]
        fn column_median_does_not_depend_on_the_hint(
            column in proptest::collection::vec((prop_oneof![0i64..8, 1i64..=1 << 32], 0i64..1 << 28), 1..40),
            zeros in 0usize..4,
            kappa in any::<u16>(),
            pick in any::<prop::sample::Index>(),
            other in any::<i64>(),
        ) {
            // Voters: the column's (positive) scores, and `zeros` voters scoring 0.
            let scored: Vec<(i64, i64)> = column.iter().filter(|(v, _)| *v > 0).copied().collect();
            let stake: Vec<I32F32> = column.iter().map(|(_, s)| I32F32::from_bits(*s + 1))
                .chain((0..zeros).map(|z| I32F32::from_bits(z as i64 + 7))).collect();
            let (mut use_stake, mut row_stake) = (Vec::new(), Vec::new());
            let voters = median_voters(&stake, u16_proportion_to_fixed(kappa), &mut use_stake, &mut row_stake);
            let Some(voters) = voters else { return Ok(()) };
            let items: Vec<(i64, i64)> = column.iter().enumerate().filter(|(_, (v, _))| *v > 0)
                .map(|(i, (v, _))| (*v, row_stake[i].to_bits())).collect();
            prop_assume!(!items.is_empty() && items.len() == scored.len());
            let min = items.iter().map(|x| x.0).min().unwrap_or(0);
            let max = items.iter().map(|x| x.0).max().unwrap_or(0);
            let sum: i64 = items.iter().map(|x| x.1).sum();
            let mut scratch = SelectScratch::default();
            let median = |hint| {
                let mut scratch = SelectScratch::default();
                voters.column_median(items.iter().copied(), items.len(), min, max, sum, hint, &mut scratch)
            };
            let plain = voters.column_median(items.iter().copied(), items.len(), min, max, sum, None, &mut scratch);
            prop_assert_eq!(median(Some(plain)), plain);
            prop_assert_eq!(median(Some(items[pick.index(items.len())].0)), plain);
            prop_assert_eq!(median(Some(other)), plain);
            prop_assert_eq!(median(Some(plain.saturating_add(1))), plain);
        }
    }

    /// Random sparse matrices with values in [0, 2) and some explicit zeros.
    fn arb_sparse(rows: usize, columns: u16) -> impl Strategy<Value = SparseMatrix> {
        proptest::collection::vec(
            proptest::collection::btree_map(0..columns, prop_oneof![Just(0i64), 0i64..(1 << 33)], 0..6),
            rows,
        )
        .prop_map(|rows| {
            let mut m = SparseMatrix::new();
            for row in rows {
                for (j, v) in row {
                    m.push(j, I32F32::from_bits(v));
                }
                m.end_row();
            }
            m
        })
    }

    proptest! {
        /// The fused passes give exactly the results of the chain's steps one by one.
        #[test]
        fn fused_passes_equal_the_chain_steps(
            m in arb_sparse(7, 7),
            threshold in proptest::collection::vec((0i64..(1 << 33)).prop_map(I32F32::from_bits), 7),
            stake in proptest::collection::vec((0i64..(1 << 32)).prop_map(I32F32::from_bits), 7),
        ) {
            let (mut clipped, mut trust, mut ranks) = (SparseMatrix::new(), Vec::new(), Vec::new());
            col_clip_trust_rank_sparse(&m, &threshold, &stake, 7, &mut clipped, &mut trust, &mut ranks);
            let (mut c2, mut t2, mut r2) = (SparseMatrix::new(), Vec::new(), Vec::new());
            col_clip_sparse(&m, &threshold, &mut c2);
            row_sum_sparse(&c2, &mut t2);
            matmul_sparse(&c2, &stake, 7, &mut r2);
            prop_assert_eq!(&clipped, &c2);
            prop_assert_eq!(&trust, &t2);
            prop_assert_eq!(&ranks, &r2);

            let mut scratch = ColumnScratch::default();
            let mut fused = Vec::new();
            col_normalized_row_dot_sparse(&m, &stake, 7, &mut scratch, &mut fused);
            let mut norm = m.clone();
            inplace_col_normalize_sparse(&mut norm, 7, &mut scratch);
            let (mut prod, mut want) = (SparseMatrix::new(), Vec::new());
            mat_vec_mul_sparse(&norm, &stake, &mut prod);
            row_sum_sparse(&prod, &mut want);
            prop_assert_eq!(&fused, &want);

            let mut a = m.clone();
            let mut dividends = Vec::new();
            inplace_col_normalize_dividends_max_upscale_sparse(&mut a, &stake, 7, &mut scratch, &mut dividends);
            let mut b = m.clone();
            let mut want = Vec::new();
            inplace_col_normalize_sparse(&mut b, 7, &mut scratch);
            matmul_transpose_sparse(&b, &stake, &mut want);
            inplace_col_max_upscale_sparse(&mut b, 7, &mut scratch);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&dividends, &want);
        }
    }

    /// The chain's `mat_ema_sparse`, literally: densify each row over `new.rows()` columns.
    fn mat_ema_sparse_literal(new: &SparseMatrix, old: &SparseMatrix, alpha: I32F32) -> SparseMatrix {
        let n = new.rows();
        let one_minus_alpha = ONE.saturating_sub(alpha);
        let mut out = SparseMatrix::new();
        for i in 0..n {
            let mut acc = vec![ZERO; n];
            let (c, v) = new.row(i);
            for (&j, &x) in c.iter().zip(v) {
                if let Some(cell) = acc.get_mut(j as usize) {
                    *cell = cell.saturating_add(alpha.saturating_mul(x));
                }
            }
            let (c, v) = old.row(i);
            for (&j, &x) in c.iter().zip(v) {
                if let Some(cell) = acc.get_mut(j as usize) {
                    *cell = cell.saturating_add(one_minus_alpha.saturating_mul(x));
                }
            }
            for (j, &x) in acc.iter().enumerate() {
                if x > ZERO {
                    out.push(j as u16, x);
                }
            }
            out.end_row();
        }
        out
    }

    proptest! {
        /// Every path of `mat_ema_sparse` (same structure in place, sorted merge, dense
        /// fallback) gives the chain's densified result.
        #[test]
        fn mat_ema_sparse_matches_the_chain(
            new in arb_sparse(6, 6),
            old in arb_sparse(6, 6),
            same in any::<bool>(),
            alpha in (0i64..=(1 << 32)).prop_map(I32F32::from_bits),
        ) {
            let old = if same {
                let mut o = new.clone();
                for v in o.vals_mut() {
                    *v = I32F32::from_bits(v.to_bits() / 3 + 1);
                }
                o
            } else {
                old
            };
            let (mut out, mut scratch) = (SparseMatrix::new(), Vec::new());
            mat_ema_sparse(&new, &old, alpha, &mut out, &mut scratch);
            prop_assert_eq!(out, mat_ema_sparse_literal(&new, &old, alpha));
        }
    }

    #[test]
    fn test_math_mat_ema_sparse_merge_equals_dense() {
        // Sorted rows take the merge path, unsorted rows the chain's dense path; same results.
        let new = SparseMatrix::from_rows(&[vec![(0, fx(0.5)), (2, fx(0.25))], vec![(1, fx(1.))], vec![]]);
        let old = SparseMatrix::from_rows(&[vec![(1, fx(0.5)), (2, fx(1.))], vec![], vec![(0, fx(0.75))]]);
        let unsorted = SparseMatrix::from_rows(&[vec![(2, fx(0.25)), (0, fx(0.5))], vec![(1, fx(1.))], vec![]]);
        let (mut a, mut b, mut scratch) = (SparseMatrix::new(), SparseMatrix::new(), Vec::new());
        mat_ema_sparse(&new, &old, fx(0.1), &mut a, &mut scratch);
        mat_ema_sparse(&unsorted, &old, fx(0.1), &mut b, &mut scratch);
        assert_eq!(a, b);
        let alpha = fx(0.1);
        let keep = ONE - alpha;
        assert_eq!(
            a.to_rows(),
            vec![
                vec![(0, alpha * fx(0.5)), (1, keep * fx(0.5)), (2, alpha * fx(0.25) + keep)],
                vec![(1, alpha)],
                vec![(0, keep * fx(0.75))],
            ]
        );
    }

    #[test]
    fn test_math_sparse_mat_ema_alpha() {
        let alphas = |_: usize, j: u16| (j < 3).then_some(fx(0.1));
        let (mut out, mut scratch) = (SparseMatrix::new(), Vec::new());
        let cases: [([f32; 12], [f32; 12], [f32; 12]); 4] = [
            (
                [0.1, 0.2, 3., 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
                [1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12.],
                [0.19, 0.38, 1., 0.43599, 0.545, 0.65399, 0.763, 0.87199, 0.981, 1., 1., 1.],
            ),
            (
                [0.001, 0.002, 0.003, 0.004, 0.05, 0.006, 0.007, 0.008, 0.009, 0.010, 0.011, 0.012],
                [0.1, 0.2, 3., 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
                [0.0109, 0.0218, 0.30270, 0.007599, 0.05, 0.01139, 0.0133, 0.01519, 0.017, 0.01899, 0.02089, 0.0227],
            ),
            (
                [0.; 12],
                [0.1, 0.2, 3., 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
                [0.01, 0.02, 0.3, 0.00399, 0.005, 0.00599, 0.007, 0.00799, 0.009, 0.01, 0.011, 0.01199],
            ),
            ([0.; 12], [0.; 12], [0.; 12]),
        ];
        for (old, new, target) in cases {
            mat_ema_alpha_sparse(&sparse(&new, 4, false), &sparse(&old, 4, false), alphas, &mut out, &mut scratch);
            assert_sparse_close(&out, &sparse(&target, 4, false), 1e-4);
        }
        // A bond on a column missing from the new row is dropped, not decayed.
        let mut old = [0.; 12];
        old[0] = 1.;
        let mut new = [0.; 12];
        new[4] = 2.;
        mat_ema_alpha_sparse(&sparse(&new, 4, false), &sparse(&old, 4, false), alphas, &mut out, &mut scratch);
        assert_eq!(out.to_rows(), vec![vec![], vec![(1, fx(0.1) * fx(2.))], vec![], vec![]]);
        // The chain's `test_mat_ema_alpha_sparse_varying_alpha`.
        let w = SparseMatrix::from_rows(&[vec![(0, fx64(0.1)), (1, fx64(0.2))], vec![(0, fx64(0.3)), (1, fx64(0.4))]]);
        let b = SparseMatrix::from_rows(&[vec![(0, fx64(0.5)), (1, fx64(0.6))], vec![(0, fx64(0.7)), (1, fx64(0.8))]]);
        let a = [[fx64(0.9), fx64(0.8)], [fx64(0.5), fx64(0.7)]];
        mat_ema_alpha_sparse(&w, &b, |i, j| a[i].get(j as usize).copied(), &mut out, &mut scratch);
        let want = SparseMatrix::from_rows(&[
            vec![(0, fx64(0.14)), (1, fx64(0.28))],
            vec![(0, fx64(0.499999)), (1, fx64(0.519999))],
        ]);
        assert_sparse_close(&out, &want, 1e-6);
        // `test_mat_ema_alpha_sparse_multiple_elements`, `..._one_alpha`: results clamp at 1.
        let w = SparseMatrix::from_rows(&[vec![(0, fx64(1.)), (1, fx64(2.))], vec![(0, fx64(3.)), (1, fx64(4.))]]);
        let b = SparseMatrix::from_rows(&[vec![(0, fx64(5.)), (1, fx64(6.))], vec![(0, fx64(7.)), (1, fx64(8.))]]);
        mat_ema_alpha_sparse(&w, &b, |_, j| [fx64(0.1), fx64(0.2)].get(j as usize).copied(), &mut out, &mut scratch);
        assert_eq!(out.to_rows(), vec![vec![(0, ONE), (1, ONE)], vec![(0, ONE), (1, ONE)]]);
        // Row counts differ: `new` is returned unchanged.
        mat_ema_alpha_sparse(&w, &SparseMatrix::new(), |_, _| Some(fx(0.5)), &mut out, &mut scratch);
        assert_eq!(out, w);
    }

    #[test]
    fn mat_ema_alpha_sparse_ignores_what_its_scratch_held_before() {
        // The scratch row is shared with mat_ema_sparse, which leaves values in it; a bond on a
        // column the old row lacks must still decay from 0.
        let new = SparseMatrix::from_rows(&[vec![(0, fx(0.5)), (2, fx(0.25))], vec![(1, fx(1.))]]);
        let old = SparseMatrix::from_rows(&[vec![(2, fx(0.5))], vec![]]);
        let alphas = |_: usize, _: u16| Some(fx(0.1));
        let (mut clean, mut dirty) = (SparseMatrix::new(), SparseMatrix::new());
        mat_ema_alpha_sparse(&new, &old, alphas, &mut clean, &mut Vec::new());
        mat_ema_alpha_sparse(&new, &old, alphas, &mut dirty, &mut vec![fx(0.75); 3]);
        assert_eq!(dirty, clean);
        assert_eq!(clean.row(1), (&[1][..], &[fx(0.1) * fx(1.)][..]));
    }

    #[test]
    fn test_liquid_alpha_equal_values_against_itself() {
        // The chain's `test_liquid_alpha_equal_values_against_itself`: with alpha_low ==
        // alpha_high == 0.1 the sigmoid alpha is 0.1 everywhere, the same EMA as liquid alpha off.
        let low = u16_proportion_to_fixed(u16::MAX / 10);
        let c = vec_fixed(&[0.3, 0.2, 0.1, 0.4]);
        for (w, b) in [(0.1, 0.5), (0.4, 0.0), (0.0, 0.0), (0.5, 0.2)] {
            let a = alpha_sigmoid(c[0], fx(w), fx(b), low, low, fx(1000.));
            assert_eq!(a, low);
        }
        // d = 0.7 above consensus: sigma = 1 / (1 + e^-2) = 0.8808, alpha = 0.7 + 0.2 sigma.
        let a = alpha_sigmoid(fx(0.2), fx(0.9), fx(0.1), fx(0.7), fx(0.9), fx(1000.));
        assert!((a - fx(0.876_16)).abs() < fx(0.0001), "got {a}");
        // At consensus d = 0: sigma = 1 / (1 + e^5) = 0.00669, alpha = 0.70134.
        let a = alpha_sigmoid(fx(0.2), fx(0.2), fx(0.1), fx(0.7), fx(0.9), fx(1000.));
        assert!((a - fx(0.701_34)).abs() < fx(0.0001), "got {a}");
        // Selling (w < b): d = b - w = 1 → sigma = 1 / (1 + e^-5), alpha near high.
        let a = alpha_sigmoid(fx(0.2), ZERO, ONE, fx(0.7), fx(0.9), fx(1000.));
        assert!((a - fx(0.898_66)).abs() < fx(0.0001), "got {a}");
    }

    #[test]
    fn merge_lookup_sees_what_the_chain_sees() {
        let mut dense = Vec::new();
        merge_lookup_row(&[0, 2], &[fx(0.5), fx(0.25)], 4, &mut dense);
        assert_eq!(dense, vec![fx(0.5), ZERO, fx(0.25), ZERO]);
        // Unsorted: the cursor stops at column 2 for j = 0 and 1, then finds it; column 0 is
        // then behind the cursor and reads 0 for every later j.
        merge_lookup_row(&[2, 0], &[fx(0.25), fx(0.5)], 4, &mut dense);
        assert_eq!(dense, vec![ZERO, ZERO, fx(0.25), ZERO]);
    }
}
