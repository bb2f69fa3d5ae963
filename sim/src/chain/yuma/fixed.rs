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

/// `a.saturating_add(b)`, exactly (the crate's is a branch-free mask dance; this is the
/// machine's saturating add on the raw bits, which saturates the same way).
#[inline]
pub fn saturating_add(a: I32F32, b: I32F32) -> I32F32 {
    I32F32::from_bits(a.to_bits().saturating_add(b.to_bits()))
}

/// `a.saturating_sub(b)`, exactly.
#[inline]
pub fn saturating_sub(a: I32F32, b: I32F32) -> I32F32 {
    I32F32::from_bits(a.to_bits().saturating_sub(b.to_bits()))
}

/// `x.saturating_to_num::<u16>()`, exactly: the integer part (rounded toward −∞) clamped to
/// `0 ..= 65535`.
#[inline]
pub fn saturating_to_u16(x: I32F32) -> u16 {
    (x.to_bits() >> 32).clamp(0, i64::from(u16::MAX)) as u16
}

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
    let p = i128::from(a.to_bits()) * i128::from(b.to_bits());
    // In range iff p >> 95 is 0 or -1, i.e. the high word's bits 31..63 are all equal.
    let hi = (p >> 64) as i64;
    if (hi >> 31) != (hi >> 63) {
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

/// `substrate_fixed::transcendental::exp::<I32F32, I32F32>(x)`, exactly: the same Taylor
/// series (terms up to `x^31 / 31!`, each step a checked multiply then a checked division by
/// the step number), with the crate's special cases (`exp(0) = 1`, `exp(1)` = its `E`
/// constant) and `1 / exp(-x)` for negative `x`; `None` where the crate returns `Err`.
pub fn exp(x: I32F32) -> Option<I32F32> {
    let zero = I32F32::from_bits(0);
    let one = I32F32::from_bits(1 << 32);
    if x == zero || x == one {
        return substrate_fixed::transcendental::exp::<I32F32, I32F32>(x).ok();
    }
    let neg = x < zero;
    let operand = if neg { x.checked_neg()? } else { x };
    let mut result = I32F32::from_bits(operand.to_bits().checked_add(one.to_bits())?);
    let mut term = operand;
    for i in 2..32i64 {
        term = checked_mul(term, operand)?;
        // Division by the integer i: truncating division of the raw bits, as the crate's
        // `(term << 32) / (i << 32)` is (terms are non-negative here: x >= 0).
        term = I32F32::from_bits(div_small(term.to_bits() as u64, i as usize) as i64);
        result = I32F32::from_bits(result.to_bits().checked_add(term.to_bits())?);
    }
    if neg {
        result = one.checked_div(result)?;
    }
    Some(result)
}

/// `floor((2^64 - 1) / i)` for `i` in `1..32` (index 0 unused).
const SMALL_RECIPROCALS: [u64; 32] = {
    let mut table = [0u64; 32];
    let mut i = 1;
    while i < 32 {
        table[i] = u64::MAX / i as u64;
        i += 1;
    }
    table
};

/// `n / i` for `i` in `1..32`: a multiply by the reciprocal and one correction.
#[inline]
fn div_small(n: u64, i: usize) -> u64 {
    let d = i as u64;
    let mut q = ((u128::from(n) * u128::from(SMALL_RECIPROCALS[i])) >> 64) as u64;
    if n - q * d >= d {
        q += 1;
    }
    q
}

/// A divisor prepared for many exact divisions (a row or column sum, a column maximum).
#[derive(Clone, Copy, Debug)]
pub struct Divisor {
    /// The divisor as given.
    fixed: I32F32,
    /// Dividend bits are shifted left by this (`32 - trailing zeros` when positive) ...
    left: u32,
    /// ... then right by this (`trailing zeros - 32` when positive).
    right: u32,
    /// The largest dividend whose left shift does not overflow `u64`.
    max_bits: u64,
    /// The divisor without its trailing zeros (0 when the fast path does not apply).
    odd: u64,
    /// `floor((2^64 - 1) / odd)`: the quotient estimate is then exact or one short.
    reciprocal: u64,
}

impl Divisor {
    /// Prepares `b` for division.
    #[inline]
    pub fn new(b: I32F32) -> Divisor {
        let bits = b.to_bits();
        if bits <= 0 {
            return Divisor { fixed: b, left: 0, right: 0, max_bits: 0, odd: 0, reciprocal: 0 };
        }
        let shift = bits.trailing_zeros();
        let odd = (bits as u64) >> shift;
        let (left, right) = if shift >= 32 { (0, shift - 32) } else { (32 - shift, 0) };
        Divisor { fixed: b, left, right, max_bits: u64::MAX >> left, odd, reciprocal: u64::MAX / odd }
    }

    /// The divisor as given.
    #[inline]
    pub fn value(&self) -> I32F32 {
        self.fixed
    }

    /// `a.checked_div(b)`, exactly.
    #[inline]
    pub fn checked_div(&self, a: I32F32) -> Option<I32F32> {
        let bits = a.to_bits();
        if self.odd == 0 || bits < 0 || bits as u64 > self.max_bits {
            return a.checked_div(self.fixed);
        }
        // floor((a << 32) / b) = floor(((a << 32) >> shift) / odd) with b = odd * 2^shift.
        let n = ((bits as u64) << self.left) >> self.right;
        let mut q = ((u128::from(n) * u128::from(self.reciprocal)) >> 64) as u64;
        if n - q * self.odd >= self.odd {
            q += 1;
        }
        // The crate flags overflow when the quotient does not fit a non-negative i64.
        i64::try_from(q).ok().map(I32F32::from_bits)
    }

    /// `a.checked_div(b).unwrap_or(0)`, exactly.
    #[inline]
    pub fn safe_div(&self, a: I32F32) -> I32F32 {
        self.checked_div(a).unwrap_or(I32F32::from_bits(0))
    }
}

/// Exact `floor(n / d)` for every `n: u64` by a fixed non-zero `d`, without a division: a
/// multiply by `floor((2^64 - 1) / d)` gives the quotient or one less (the estimate is below
/// `n / d` by less than `n / 2^64 < 1`), and one comparison corrects it.
#[derive(Clone, Copy, Debug)]
pub struct U64Divisor {
    d: u64,
    reciprocal: u64,
}

impl U64Divisor {
    /// Prepares `d` for division; `None` for 0.
    #[inline]
    pub fn new(d: u64) -> Option<U64Divisor> {
        (d != 0).then(|| U64Divisor { d, reciprocal: u64::MAX / d })
    }

    /// `floor(n / d)`, exactly.
    #[inline(always)]
    pub fn div(&self, n: u64) -> u64 {
        let q = ((u128::from(n) * u128::from(self.reciprocal)) >> 64) as u64;
        q + u64::from(n - q * self.d >= self.d)
    }
}

/// `a / s` in `I32F32` for `0 <= a <= min(s, 1)`, `0 < s < 2^32` (raw bits `0 < s < 2^64`), as
/// the crate computes it: `floor(a 2^32 / s)` (at most 1, so it never overflows). A share of a
/// non-negative column sum, e.g. a bond normalised by its column's total.
#[derive(Clone, Copy, Debug)]
pub struct ShareDivisor {
    div: U64Divisor,
    /// The quotient for `a = 1` (bits `2^32`, whose `a 2^32` does not fit a `u64`).
    of_one: u64,
}

impl ShareDivisor {
    /// Prepares the raw bits `s` for division; `None` unless `s > 0`.
    #[inline]
    pub fn new(s: i64) -> Option<ShareDivisor> {
        let s = u64::try_from(s).ok()?;
        let div = U64Divisor::new(s)?;
        // floor(2^64 / s) = floor((2^64 - 1) / s), plus 1 when s divides 2^64 (s = 1 never
        // meets a = 2^32 <= s, so its value is unused).
        let of_one = if s == 1 { u64::MAX } else { u64::MAX / s + u64::from(s.is_power_of_two()) };
        Some(ShareDivisor { div, of_one })
    }

    /// `floor(a 2^32 / s)` for raw bits `0 <= a <= min(s, 2^32)`.
    #[inline(always)]
    pub fn div(&self, a: i64) -> i64 {
        let a = a as u64;
        if a == 1 << 32 { self.of_one as i64 } else { self.div.div(a << 32) as i64 }
    }
}

/// `floor(a 2^32 / s)` for `0 <= a <= s` and `2 <= s <= 2^32` (raw bits): [`ShareDivisor`] with
/// 64-bit products only. With `r = floor(2^64 / s)`, `a r < 2^64` for `a < s` and
/// `floor(a r / 2^32)` is the quotient or one less (`r` is below `2^64 / s` by less than 1, so
/// `a r / 2^32` is below `a 2^32 / s` by less than `a / 2^32 < 1`); the remainder
/// `a 2^32 - q s`, in `[0, 2 s)`, corrects it. `a = s` gives `2^32`.
#[derive(Clone, Copy, Debug)]
pub struct SmallShareDivisor {
    s: u64,
    reciprocal: u64,
}

impl SmallShareDivisor {
    /// Prepares `s`; `None` outside `2 ..= 2^32`.
    #[inline]
    pub fn new(s: i64) -> Option<SmallShareDivisor> {
        let s = u64::try_from(s).ok().filter(|s| (2..=1 << 32).contains(s))?;
        // floor(2^64 / s) = floor((2^64 - 1) / s), plus 1 when s divides 2^64.
        Some(SmallShareDivisor { s, reciprocal: u64::MAX / s + u64::from(s.is_power_of_two()) })
    }

    /// `floor(a 2^32 / s)` for raw bits `0 <= a <= s`.
    #[inline(always)]
    pub fn div(&self, a: i64) -> i64 {
        let a = a as u64;
        if a == self.s {
            return 1 << 32;
        }
        let q = a.wrapping_mul(self.reciprocal) >> 32;
        let r = (a << 32).wrapping_sub(q.wrapping_mul(self.s));
        (q + u64::from(r >= self.s)) as i64
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
            prop_assert_eq!(saturating_add(a, b), a.saturating_add(b));
            prop_assert_eq!(saturating_sub(a, b), a.saturating_sub(b));
            prop_assert_eq!(saturating_to_u16(a), a.saturating_to_num::<u16>());
        }

        #[test]
        fn division_matches_the_crate(a in edge_bits(), b in edge_bits()) {
            let (a, b) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(Divisor::new(b).checked_div(a), a.checked_div(b));
            prop_assert_eq!(safe_div(a, b), a.checked_div(b).unwrap_or(I32F32::from_bits(0)));
        }
    }

    proptest! {
        #[test]
        fn exp_matches_the_crate(
            bits in prop_oneof![-(21i64 << 32)..(21i64 << 32), any::<i64>(), Just(0), Just(1 << 32), Just(-(1 << 32))],
        ) {
            let x = I32F32::from_bits(bits);
            prop_assert_eq!(exp(x), substrate_fixed::transcendental::exp::<I32F32, I32F32>(x).ok());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn u64_divisions_are_exact(
            n in prop_oneof![any::<u64>(), Just(u64::MAX), Just(0u64), (0u64..1 << 48)],
            d in prop_oneof![any::<u64>(), Just(u64::MAX), Just(1u64), 1u64..1 << 32, (0u32..64).prop_map(|s| 1u64 << s)],
        ) {
            if let Some(div) = U64Divisor::new(d) {
                prop_assert_eq!(div.div(n), n / d);
            } else {
                prop_assert_eq!(d, 0);
            }
        }

        #[test]
        fn small_share_divisions_match_the_crate(
            s in prop_oneof![2i64..=1 << 32, 2i64..1 << 20, Just(2i64), Just(3i64), Just(1 << 32), Just((1 << 32) - 1), (1u32..33).prop_map(|k| 1i64 << k)],
            f in prop_oneof![0u64..=1 << 32, Just(0u64), Just(1u64 << 32), Just((1u64 << 32) - 1)],
        ) {
            let a = ((u128::from(f) * s as u128) >> 32) as i64; // 0 <= a <= s
            let want = I32F32::from_bits(a).checked_div(I32F32::from_bits(s));
            let div = SmallShareDivisor::new(s);
            prop_assert!(div.is_some());
            prop_assert_eq!(div.map(|d| I32F32::from_bits(d.div(a))), want);
        }

        #[test]
        fn share_divisions_match_the_crate(
            s in prop_oneof![1i64..=1 << 32, 1i64..1 << 40, 1i64..i64::MAX, Just(1i64), Just(1 << 32), Just(i64::MAX)],
            f in prop_oneof![0u64..=1 << 32, Just(0u64), Just(1u64 << 32)],
        ) {
            // a <= min(s, 1): scale a fraction of min(s, 2^32).
            let top = s.min(1 << 32) as u64;
            let a = ((u128::from(f) * u128::from(top)) >> 32) as i64;
            let want = I32F32::from_bits(a).checked_div(I32F32::from_bits(s));
            let div = ShareDivisor::new(s);
            prop_assert!(div.is_some());
            prop_assert_eq!(div.map(|d| I32F32::from_bits(d.div(a))), want);
        }
    }

    proptest! {
        #[test]
        fn small_divisions_are_exact(n in prop_oneof![any::<u64>(), Just(u64::MAX), Just(0u64)], i in 1usize..32) {
            prop_assert_eq!(div_small(n, i), n / i as u64);
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
