//! numpy's summation order for `np.sum` of a contiguous float64 array.
//!
//! The spec's reference implementation computes Σ pbar with numpy, whose add-reduction of a
//! contiguous array uses pairwise summation (numpy's `pairwise_sum`, block size 128): fewer than
//! 8 terms are added left to right; up to 128 terms go into 8 interleaved partial sums combined
//! as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the remaining < 8 terms are added
//! in order; longer arrays are split at n/2 rounded down to a multiple of 8 and the halves are
//! summed recursively. Reproducing that order (instead of a left-to-right loop) is what makes the
//! pool states bit-identical to the references.

/// numpy's block size for the unrolled loop.
const BLOCK: usize = 128;

/// Σ x in numpy's pairwise order (the reduction starts from the identity 0.0).
pub fn numpy_sum(x: &[f64]) -> f64 {
    0.0 + pairwise(x)
}

fn pairwise(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in x {
            res += v;
        }
        res
    } else if n <= BLOCK {
        let mut r = [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]];
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += x[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &x[whole..] {
            res += v;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise(&x[..half]) + pairwise(&x[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arrays_are_summed_left_to_right() {
        assert_eq!(numpy_sum(&[]), 0.0);
        assert_eq!(numpy_sum(&[1e16, 1.0, 1.0]), (1e16 + 1.0) + 1.0);
    }

    /// Values where the order shows: 8 lanes keep the small terms together before meeting 1e16.
    #[test]
    fn the_order_is_numpys_not_left_to_right() {
        let mut x = vec![1.0; 16];
        x[0] = 1e16;
        // Left to right every +1 is lost; pairwise, lanes 1..7 hold 2.0 each and survive.
        let sequential = x.iter().fold(0.0, |a, b| a + b);
        assert_eq!(sequential, 1e16);
        // numpy.sum of this array is 1.0000000000000014e16 (checked with numpy 1.26).
        assert_eq!(numpy_sum(&x), 1.0000000000000014e16);
    }

    /// numpy 1.26.3's `np.sum` of x_i = √(i+1)·(10¹² if i % 7 == 0 else 1), for lengths that
    /// take every branch (< 8, one block, a block plus a tail, split once, split twice).
    #[test]
    fn equals_numpy_on_every_branch() {
        let cases = [
            (5, 1000000000007.3823),
            (8, 3828427124758.668),
            (37, 23776991038040.65),
            (128, 142123979098076.88),
            (129, 142123979098088.25),
            (300, 491313298592912.5),
            (1000, 3005071601221952.0),
        ];
        for (n, want) in cases {
            let x: Vec<f64> = (0..n).map(|i| f64::from(i + 1).sqrt() * if i % 7 == 0 { 1e12 } else { 1.0 }).collect();
            assert_eq!(numpy_sum(&x), want, "n = {n}");
        }
    }

    #[test]
    fn long_arrays_split_on_multiples_of_eight() {
        let x: Vec<f64> = (0..300).map(|i| 1.0 / f64::from(i + 1)).collect();
        let expected = pairwise(&x[..144]) + pairwise(&x[144..]);
        assert_eq!(numpy_sum(&x), expected);
        // numpy.sum gives 6.282663880299504 (also H_300 rounded to f64).
        assert_eq!(numpy_sum(&x), 6.282663880299504);
    }
}
