//! A compressed sparse row matrix of `(column, I32F32)` entries: the shape of the chain's
//! `Vec<Vec<(u16, I32F32)>>` weight and bond matrices, stored flat.
//!
//! The chain keeps one `Vec` per row and rebuilds whole matrices at every masking step. We
//! keep three flat vectors and filter rows in place, so an epoch allocates almost nothing once
//! its workspace is warm. Entry order inside a row is kept exactly as the chain keeps it (the
//! order the validator listed its weights in, or column order where the chain densifies),
//! because the chain's liquid-alpha lookup and its stored bond rows depend on that order.

use substrate_fixed::types::I32F32;

/// A sparse matrix in compressed sparse row form.
///
/// Row `i` holds `cols[row_starts[i]..row_starts[i + 1]]` with values at the same positions.
/// Rows are appended one at a time: [`SparseMatrix::push`] adds an entry to the open row and
/// [`SparseMatrix::end_row`] closes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseMatrix {
    /// Start of each row in `cols`/`vals`, plus the end of the last closed row (`rows + 1` items).
    row_starts: Vec<usize>,
    /// Column index of each entry.
    cols: Vec<u16>,
    /// Value of each entry.
    vals: Vec<I32F32>,
}

impl Default for SparseMatrix {
    fn default() -> Self {
        SparseMatrix::new()
    }
}

impl SparseMatrix {
    /// An empty matrix with no rows.
    pub fn new() -> Self {
        SparseMatrix { row_starts: vec![0], cols: Vec::new(), vals: Vec::new() }
    }

    /// Removes every row, keeping the allocations.
    pub fn clear(&mut self) {
        self.row_starts.clear();
        self.row_starts.push(0);
        self.cols.clear();
        self.vals.clear();
    }

    /// Number of closed rows.
    pub fn rows(&self) -> usize {
        self.row_starts.len().saturating_sub(1)
    }

    /// Number of stored entries (closed rows only).
    pub fn nnz(&self) -> usize {
        self.row_starts.last().copied().unwrap_or(0)
    }

    /// Appends an entry to the open row.
    pub fn push(&mut self, col: u16, val: I32F32) {
        self.cols.push(col);
        self.vals.push(val);
    }

    /// Closes the open row (possibly empty).
    pub fn end_row(&mut self) {
        self.row_starts.push(self.cols.len());
    }

    /// Row `i` as parallel slices of columns and values (empty if `i` is out of range).
    pub fn row(&self, i: usize) -> (&[u16], &[I32F32]) {
        match (self.row_starts.get(i), self.row_starts.get(i.wrapping_add(1))) {
            (Some(&a), Some(&b)) => (&self.cols[a..b], &self.vals[a..b]),
            _ => (&[], &[]),
        }
    }

    /// Row `i` with mutable values.
    pub fn row_mut(&mut self, i: usize) -> (&[u16], &mut [I32F32]) {
        match (self.row_starts.get(i), self.row_starts.get(i.wrapping_add(1))) {
            (Some(&a), Some(&b)) => (&self.cols[a..b], &mut self.vals[a..b]),
            _ => (&[], &mut []),
        }
    }

    /// Every stored entry: columns and values, all rows concatenated.
    pub fn entries(&self) -> (&[u16], &[I32F32]) {
        let end = self.nnz();
        (&self.cols[..end], &self.vals[..end])
    }

    /// Every stored value, mutable.
    pub fn vals_mut(&mut self) -> &mut [I32F32] {
        let end = self.nnz();
        &mut self.vals[..end]
    }

    /// Every stored entry with mutable values: columns and values, all rows concatenated.
    pub fn entries_mut(&mut self) -> (&[u16], &mut [I32F32]) {
        let end = self.nnz();
        (&self.cols[..end], &mut self.vals[..end])
    }

    /// Builds a matrix from the chain's row-of-pairs form.
    pub fn from_rows(rows: &[Vec<(u16, I32F32)>]) -> Self {
        let mut m = SparseMatrix::new();
        for row in rows {
            for &(j, v) in row {
                m.push(j, v);
            }
            m.end_row();
        }
        m
    }

    /// The chain's row-of-pairs form.
    pub fn to_rows(&self) -> Vec<Vec<(u16, I32F32)>> {
        (0..self.rows())
            .map(|i| {
                let (cols, vals) = self.row(i);
                cols.iter().copied().zip(vals.iter().copied()).collect()
            })
            .collect()
    }

    /// True when both matrices have the same rows and the same columns in each row.
    pub fn same_structure(&self, other: &SparseMatrix) -> bool {
        self.row_starts == other.row_starts && self.entries().0 == other.entries().0
    }

    /// Makes `self` a copy of `other`, reusing `self`'s allocations.
    pub fn copy_from(&mut self, other: &SparseMatrix) {
        self.row_starts.clone_from(&other.row_starts);
        self.cols.clone_from(&other.cols);
        self.vals.clone_from(&other.vals);
    }

    /// Keeps only the entries for which `keep(row, col, value)` is true, preserving order.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, u16, I32F32) -> bool) {
        let rows = self.rows();
        let mut write = 0usize;
        let mut start = 0usize;
        for i in 0..rows {
            let end = self.row_starts[i + 1];
            for k in start..end {
                let (j, v) = (self.cols[k], self.vals[k]);
                // Written unconditionally, kept by advancing: no branch on the data.
                self.cols[write] = j;
                self.vals[write] = v;
                write += usize::from(keep(i, j, v));
            }
            start = end;
            self.row_starts[i + 1] = write;
        }
        self.cols.truncate(write);
        self.vals.truncate(write);
    }

    /// Empties the rows whose mask is true (a missing mask entry empties), keeping row count.
    pub fn clear_rows(&mut self, mask: &[bool]) {
        self.retain(|i, _, _| !mask.get(i).copied().unwrap_or(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    #[test]
    fn rows_round_trip_and_retain_keeps_order() {
        let rows = vec![vec![(2, f(0.5)), (0, f(1.0))], vec![], vec![(1, f(0.25))]];
        let mut m = SparseMatrix::from_rows(&rows);
        assert_eq!(m.rows(), 3);
        assert_eq!(m.nnz(), 3);
        assert_eq!(m.to_rows(), rows);
        m.retain(|i, j, _| !(i == 0 && j == 2));
        assert_eq!(m.to_rows(), vec![vec![(0, f(1.0))], vec![], vec![(1, f(0.25))]]);
        m.clear_rows(&[false, false, true]);
        assert_eq!(m.to_rows(), vec![vec![(0, f(1.0))], vec![], vec![]]);
        assert_eq!(m.row(7), (&[][..], &[][..]));
        m.clear();
        assert_eq!(m.rows(), 0);
    }
}
