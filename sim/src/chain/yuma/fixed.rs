//! Fast `I32F32` multiplication and division with the `substrate-fixed` crate's exact bits.
//!
//! The crate multiplies two `I32F32` by widening to `i128`, shifting one factor left by 32 and
//! multiplying with overflow detection (a `__muloti4` call), and divides by a full `i128`
//! division (`__divti3`). Those dominate an epoch. The same results come from one 64×64→128
//! multiply, and, for a non-negative dividend and a positive divisor, from a 64-bit division
//! by a reciprocal with one correction step. Every function here returns exactly what the
//! crate's operation returns (tests compare them on random and edge-case bit patterns); other
//! sign combinations fall back to the crate.

use substrate_fixed::types::I32F32;

/// `a.saturating_mul(b)`, exactly.
///
/// The crate overflows when `|a·b| >= 2^95` in raw bits (`a·b·2^32` outside `i128`), and
/// otherwise returns `floor(a·b / 2^32)`.
#[inline]
pub fn saturating_mul(a: I32F32, b: I32F32) -> I32F32 {
    match mul_bits(a, b) {
        Some(v) => v,
        None if (a.to_bits() < 0) != (b.to_bits() < 0) => I32F32::min_value(),
        None => I32F32::max_value(),
    }
}

/// `a.checked_mul(b)`, exactly.
#[inline]
pub fn checked_mul(a: I32F32, b: I32F32) -> Option<I32F32> {
    mul_bits(a, b)
}

#[inline]
fn mul_bits(a: I32F32, b: I32F32) -> Option<I32F32> {
    const LIMIT: i128 = 1 << 95;
    let p = i128::from(a.to_bits()) * i128::from(b.to_bits());
    if !(-LIMIT..LIMIT).contains(&p) {
        return None;
    }
    Some(I32F32::from_bits((p >> 32) as i64))
}

/// `a.checked_div(b).unwrap_or(0)`, the chain's `safe_div`, exactly (one division; see
/// [`Divisor`] for many by the same divisor).
#[inline]
pub fn safe_div(a: I32F32, b: I32F32) -> I32F32 {
    let (x, y) = (a.to_bits(), b.to_bits());
    if x >= 0 && y > 0 {
        let shift = y.trailing_zeros();
        if let Ok(n) = u64::try_from((u128::from(x as u64) << 32) >> shift) {
            let q = n / ((y as u64) >> shift);
            return i64::try_from(q).map_or(I32F32::from_bits(0), I32F32::from_bits);
        }
    }
    a.checked_div(b).unwrap_or(I32F32::from_bits(0))
}

/// A divisor prepared for many exact divisions (a row or column sum, a column maximum).
#[derive(Clone, Copy, Debug)]
pub struct Divisor {
    /// The divisor as given.
    fixed: I32F32,
    /// Trailing zero bits removed from the divisor (and from every dividend).
    shift: u32,
    /// The divisor without its trailing zeros (0 when the fast path does not apply).
    odd: u64,
    /// `floor(2^64 / odd)` for `odd >= 2`.
    reciprocal: u64,
}

impl Divisor {
    /// Prepares `b` for division.
    #[inline]
    pub fn new(b: I32F32) -> Divisor {
        let bits = b.to_bits();
        if bits <= 0 {
            return Divisor { fixed: b, shift: 0, odd: 0, reciprocal: 0 };
        }
        let shift = bits.trailing_zeros();
        let odd = (bits as u64) >> shift;
        let reciprocal = if odd >= 2 { ((1u128 << 64) / u128::from(odd)) as u64 } else { 0 };
        Divisor { fixed: b, shift, odd, reciprocal }
    }

    /// `a.checked_div(b)`, exactly.
    #[inline]
    pub fn checked_div(&self, a: I32F32) -> Option<I32F32> {
        let bits = a.to_bits();
        if self.odd == 0 || bits < 0 {
            return a.checked_div(self.fixed);
        }
        // floor((a << 32) / b) = floor(((a << 32) >> shift) / odd): b = odd * 2^shift.
        let numerator = (u128::from(bits as u64) << 32) >> self.shift;
        let Ok(n) = u64::try_from(numerator) else {
            return a.checked_div(self.fixed);
        };
        let q = if self.odd == 1 {
            n
        } else {
            let mut q = ((u128::from(n) * u128::from(self.reciprocal)) >> 64) as u64;
            if n - q * self.odd >= self.odd {
                q += 1;
            }
            q
        };
        // The crate flags overflow when the quotient does not fit a non-negative i64.
        i64::try_from(q).ok().map(I32F32::from_bits)
    }

    /// `a.checked_div(b).unwrap_or(0)`, exactly.
    #[inline]
    pub fn safe_div(&self, a: I32F32) -> I32F32 {
        self.checked_div(a).unwrap_or(I32F32::from_bits(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn edge_bits() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            0i64..=(1 << 33),
            (0i64..=65_535).prop_map(|x| x << 32),
            Just(0),
            Just(1),
            Just(-1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(1 << 32),
            Just((1 << 32) - 1),
            Just(1 << 63 >> 1),
            (0u32..63).prop_map(|s| 1i64 << s),
            (0u32..63).prop_map(|s| -(1i64 << s)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn multiplication_matches_the_crate(a in edge_bits(), b in edge_bits()) {
            let (a, b) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(saturating_mul(a, b), a.saturating_mul(b));
            prop_assert_eq!(checked_mul(a, b), a.checked_mul(b));
        }

        #[test]
        fn division_matches_the_crate(a in edge_bits(), b in edge_bits()) {
            let (a, b) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(Divisor::new(b).checked_div(a), a.checked_div(b));
            prop_assert_eq!(safe_div(a, b), a.checked_div(b).unwrap_or(I32F32::from_bits(0)));
        }
    }

    #[test]
    fn products_at_the_overflow_boundary() {
        // |a·b| = 2^95 - 2^32 fits; 2^95 overflows; -2^95 fits.
        let a = I32F32::from_bits(1 << 47);
        let fits = I32F32::from_bits((1 << 48) - 1);
        let over = I32F32::from_bits(1 << 48);
        assert_eq!(saturating_mul(a, fits), a.saturating_mul(fits));
        assert_eq!(checked_mul(a, over), None);
        assert_eq!(a.checked_mul(over), None);
        assert_eq!(checked_mul(-a, over), (-a).checked_mul(over));
        assert!(checked_mul(-a, over).is_some());
    }
}
