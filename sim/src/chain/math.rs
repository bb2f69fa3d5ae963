//! Pure integer math the chain's pools need beyond `substrate-fixed`: wide products, the
//! `Perquintill` rational of `sp_arithmetic`, and the powers `(n/d)^(a/b)` of the weighted pool.
//!
//! The chain computes the weighted pool's powers with `safe_bigmath::SafeInt::pow_ratio_scaled`
//! (`pallets/swap/src/pallet/balancer.rs`): `floor(scale * (n/d)^(a/b))`, exactly when the
//! reduced exponent is 1 and with a 256-bit log/exp series otherwise. We compute the same
//! quantity, `floor(1e18 * (n/d)^(a/b))`, exactly when the exponent is 1 (equal weights: the
//! initial pool) and otherwise with 126-bit shift-and-add logarithms and exponentials (no
//! floating point, no big integers). Both are the floor of the same real number to within
//! about 2^-110 relative, so results agree with the chain's except when the exact value lies
//! within that distance of an integer. Nothing here touches state, the RNG or the clock.

use std::sync::OnceLock;
use substrate_fixed::types::{U64F64, U96F32};

/// `sp_arithmetic::Perquintill::ACCURACY`: weights are parts per 10^18.
pub const PERQUINTILL: u64 = 1_000_000_000_000_000_000;

/// Fractional bits of the logarithm/exponential tables (values in [0, 2)).
const Q: u32 = 126;
/// Fractional bits of logarithms of whole numbers (values up to ~88).
const QL: u32 = 120;
/// Shift-and-add steps: the residual after them is below 2^-110.
const STEPS: usize = 110;

/// The full 256-bit product `a * b` as (high, low) 128-bit halves.
pub fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let mask = u128::from(u64::MAX);
    let (a1, a0) = (a >> 64, a & mask);
    let (b1, b0) = (b >> 64, b & mask);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let middle = (p00 >> 64) + (p01 & mask) + (p10 & mask);
    let low = (p00 & mask) | (middle << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
    (high, low)
}

/// `floor(a * b / 2^shift)` for `shift` in 64..=255, saturating at `u128::MAX`.
pub fn mul_shr(a: u128, b: u128, shift: u32) -> u128 {
    let (high, low) = mul_wide(a, b);
    if shift >= 256 {
        return 0;
    }
    if shift >= 128 {
        return high >> (shift - 128);
    }
    if shift == 0 {
        return if high == 0 { low } else { u128::MAX };
    }
    if high >> shift != 0 {
        return u128::MAX;
    }
    (high << (128 - shift)) | (low >> shift)
}

/// `floor((high * 2^128 + low) / divisor)` for a divisor below 2^64; `None` if the divisor is 0
/// or the quotient does not fit in 128 bits.
pub fn div_wide_u64(high: u128, low: u128, divisor: u64) -> Option<u128> {
    if divisor == 0 {
        return None;
    }
    let d = u128::from(divisor);
    if high >= d {
        // The quotient would need more than 128 bits.
        return None;
    }
    // high < d < 2^64: the first two quotient limbs are zero and the running remainder starts
    // at `high`; two 128-by-64 steps remain.
    let mut rem = high;
    let mut quotient: u128 = 0;
    for limb in [low >> 64, low & u128::from(u64::MAX)] {
        let cur = (rem << 64) | limb;
        let q = cur / d;
        quotient = (quotient << 64) | q;
        rem = cur - q * d;
    }
    Some(quotient)
}

/// `floor(a * b / d)` exactly, for `d` below 2^64; `None` on a zero divisor or overflow.
pub fn mul_div_u64(a: u128, b: u128, d: u64) -> Option<u128> {
    let (high, low) = mul_wide(a, b);
    div_wide_u64(high, low, d)
}

/// Divides the 192-bit `(u2, u1, u0)` by the normalised 128-bit `(d1, d0)` (top bit of `d1`
/// set, `(u2, u1) < (d1, d0)`): quotient below 2^64 and the 128-bit remainder (Knuth's
/// algorithm D step with at most two corrections).
fn div_3by2(u2: u64, u1: u64, u0: u64, d1: u64, d0: u64) -> (u64, u128) {
    let top = (u128::from(u2) << 64) | u128::from(u1);
    let mut qhat: u128 = if u2 >= d1 { u128::from(u64::MAX) } else { top / u128::from(d1) };
    // product = qhat * d as (high 128, low 64); numerator = (top, u0).
    let product = |q: u128| {
        let low = q * u128::from(d0);
        let high = q * u128::from(d1) + (low >> 64);
        (high, low as u64)
    };
    let (mut p_high, mut p_low) = product(qhat);
    while (p_high, p_low) > (top, u0) {
        qhat -= 1;
        (p_high, p_low) = product(qhat);
    }
    // remainder = numerator - product < d < 2^128.
    let (low, borrow) = u0.overflowing_sub(p_low);
    let high = top.wrapping_sub(p_high).wrapping_sub(u128::from(borrow));
    (qhat as u64, (high << 64) | u128::from(low))
}

/// `floor(a * b / d)` exactly for any 128-bit `d`; `None` on a zero divisor or a quotient
/// beyond 128 bits.
pub fn mul_div(a: u128, b: u128, d: u128) -> Option<u128> {
    if d == 0 {
        return None;
    }
    if a == 0 || b == 0 {
        return Some(0);
    }
    // Drop the powers of two that divide both the product and the divisor: the floor is the
    // same, and fixed-point operands (whole numbers shifted by the fraction bits) then
    // divide by a narrow divisor, usually with one native division instead of Knuth's.
    let (za, zb) = (a.trailing_zeros(), b.trailing_zeros());
    let shift = d.trailing_zeros().min(za + zb);
    let (a, b, d) = (a >> shift.min(za), b >> shift.saturating_sub(za), d >> shift);
    let (high, low) = mul_wide(a, b);
    if high == 0 {
        // The product fits in 128 bits (the common case: fixed-point values of realistic
        // size): one native division gives the same floor.
        return Some(low / d);
    }
    if let Ok(d64) = u64::try_from(d) {
        return div_wide_u64(high, low, d64);
    }
    if high >= d {
        return None;
    }
    // Normalise so the divisor's top bit is set (d >= 2^64, so the shift is below 64).
    let shift = d.leading_zeros();
    let d = d << shift;
    let (high, low) = if shift == 0 { (high, low) } else { ((high << shift) | (low >> (128 - shift)), low << shift) };
    let (d1, d0) = ((d >> 64) as u64, d as u64);
    let (n3, n2, n1, n0) = ((high >> 64) as u64, high as u64, (low >> 64) as u64, low as u64);
    // The upper quotient limb is 0 when the top three numerator limbs are below the divisor
    // (quotients below 2^64, such as a rational of parts per 10^18): one step then.
    let (q1, r) = if n3 == 0 && (u128::from(n2) << 64 | u128::from(n1)) < d {
        (0, u128::from(n2) << 64 | u128::from(n1))
    } else {
        div_3by2(n3, n2, n1, d1, d0)
    };
    let (q0, _) = div_3by2((r >> 64) as u64, r as u64, n0, d1, d0);
    Some((u128::from(q1) << 64) | u128::from(q0))
}

/// `Perquintill::from_rational(p, q)` of `sp_arithmetic`: `floor(10^18 * p / q)` (it rounds
/// down); `q == 0` or `p > q` give one, as the chain's `unwrap_or_else(one)` does.
pub fn perquintill_from_rational(p: u128, q: u128) -> u64 {
    if q == 0 || p > q {
        return PERQUINTILL;
    }
    mul_div(p, u128::from(PERQUINTILL), q).map_or(PERQUINTILL, |v| v as u64)
}

/// `round(value * parts / 10^18)` with ties up, as the balancer's `mul_perquintill_round`
/// (computed through a 256-bit product there; exact here by splitting `value`).
pub fn mul_perquintill_round(parts: u64, value: u128) -> u128 {
    let acc = u128::from(PERQUINTILL);
    let parts = u128::from(parts.min(PERQUINTILL));
    let value_high = value / acc;
    let value_low = value - value_high * acc;
    // value_low * parts < 10^36 < 2^120: exact in u128.
    let low_part = (value_low * parts + acc / 2) / acc;
    value_high.saturating_mul(parts).saturating_add(low_part)
}

/// `a.checked_div(b)` of `substrate-fixed`'s U64F64, bit for bit (`floor(a 2^64 / b)`, `None`
/// on a zero divisor or overflow), through the exact wide division above, which is several
/// times faster than the crate's generic one in the per-block hot path.
pub fn div_u64f64(a: U64F64, b: U64F64) -> Option<U64F64> {
    mul_div(a.to_bits(), 1u128 << 64, b.to_bits()).map(U64F64::from_bits)
}

/// `a.checked_div(b)` of `substrate-fixed`'s U96F32, bit for bit (`floor(a 2^32 / b)`).
pub fn div_u96f32(a: U96F32, b: U96F32) -> Option<U96F32> {
    mul_div(a.to_bits(), 1u128 << 32, b.to_bits()).map(U96F32::from_bits)
}

struct Tables {
    /// ln 2 in Q126.
    ln2: u128,
    /// ln(1 + 2^-i) in Q126, i = 1..=STEPS (index i - 1).
    ln_one_plus: Vec<u128>,
    /// -ln(1 - 2^-i) in Q126, i = 1..=STEPS (index i - 1).
    neg_ln_one_minus: Vec<u128>,
}

/// The series `sum_k sign^(k+1) u^k / k` for u = 2^-i in Q126 (terms truncated, so each term is
/// within one unit of the last place).
fn log_series(i: u32, alternating: bool) -> u128 {
    let mut total: i128 = 0;
    let mut k: u32 = 1;
    loop {
        let exponent = i.saturating_mul(k);
        if exponent >= Q {
            break;
        }
        let term = ((1u128 << (Q - exponent)) / u128::from(k)) as i128;
        if term == 0 {
            break;
        }
        if alternating && k.is_multiple_of(2) {
            total -= term;
        } else {
            total += term;
        }
        k += 1;
    }
    total.max(0) as u128
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let ln_one_plus = (1..=STEPS as u32).map(|i| log_series(i, true)).collect();
        let neg_ln_one_minus: Vec<u128> = (1..=STEPS as u32).map(|i| log_series(i, false)).collect();
        Tables { ln2: neg_ln_one_minus[0], ln_one_plus, neg_ln_one_minus }
    })
}

/// Below this (2^-20 in Q126) logarithms and exponentials use their power series, which
/// converge in a handful of terms.
const SERIES_LIMIT: u128 = 1u128 << (Q - 20);

/// `x / k` for a series' term index `k`: the same floor, but the small indices the series
/// reach (below 2^-20 they stop by the sixth term) are spelled as constants, which the
/// compiler divides by multiplication instead of a 128-bit division call.
fn div_by_term_index(x: u128, k: u128) -> u128 {
    match k {
        1 => x,
        2 => x / 2,
        3 => x / 3,
        4 => x / 4,
        5 => x / 5,
        6 => x / 6,
        8 => x / 8,
        _ => x / k,
    }
}

/// ln(1 + x) in Q126 for small x (below [`SERIES_LIMIT`]) by its alternating series.
fn ln1p_series(x: u128) -> u128 {
    let mut total: u128 = x;
    let mut power = x;
    let mut negative = true;
    let mut k: u128 = 2;
    loop {
        power = mul_shr(power, x, Q);
        let term = div_by_term_index(power, k);
        if term == 0 {
            break;
        }
        if negative {
            total -= term;
        } else {
            total += term;
        }
        negative = !negative;
        k += 1;
    }
    total
}

/// ln(m) in Q126 for m in [1, 2) given in Q126, by multiplying m by factors (1 + 2^-i)
/// (shifts and adds) until it reaches 2, or by the series when m is near 1.
fn ln_mantissa_q126(m: u128) -> u128 {
    let t = tables();
    let one = 1u128 << Q;
    if m - one < SERIES_LIMIT {
        return ln1p_series(m - one);
    }
    let two = 1u128 << (Q + 1);
    let mut m = m;
    let mut acc: u128 = 0; // sum of ln(1 + 2^-i) applied, Q126
    for (index, ln_factor) in t.ln_one_plus.iter().enumerate() {
        let candidate = m + (m >> (index + 1));
        if candidate <= two {
            m = candidate;
            acc += ln_factor;
        }
    }
    // m = 2 (1 - delta): ln(m_original) = ln 2 - acc - ln(1 - delta) ~ ln 2 - acc + delta.
    let delta = (two - m) >> 1; // Q126, below 2^-110
    (t.ln2 + delta).saturating_sub(acc)
}

/// ln(n / d) for n >= d >= 1 in Q120: `b ln 2 + ln(m)` with `n / d = m 2^b`, m in [1, 2) in
/// Q126 from one exact wide division when `d` fits in 64 bits.
fn ln_ratio_q120(n: u128, d: u128) -> u128 {
    let t = tables();
    let ln2_q120 = t.ln2 >> (Q - QL);
    // b = floor(log2(n / d)), from bit lengths, corrected by one comparison.
    let bits = |v: u128| 128 - v.leading_zeros();
    let mut b = bits(n) - bits(d);
    if b > 0 && (d << b) > n {
        b -= 1;
    }
    let mantissa = match u64::try_from(d) {
        // m = n 2^(126 - b) / d, exact to the last bit of Q126.
        Ok(d64) if b <= Q => {
            let shift = Q - b;
            let (high, low) = if shift == 0 {
                (0, n)
            } else if shift >= 128 {
                (n << (shift - 128), 0)
            } else {
                (n >> (128 - shift), n << shift)
            };
            div_wide_u64(high, low, d64)
        }
        _ => None,
    };
    match mantissa {
        Some(m) => u128::from(b) * ln2_q120 + (ln_mantissa_q126(m) >> (Q - QL)),
        None => ln_q120(n) - ln_q120(d),
    }
}

/// ln(v) for v >= 1 in Q120: `b ln 2 + ln(m)` with `v = m 2^b`, m in [1, 2).
fn ln_q120(v: u128) -> u128 {
    let t = tables();
    let b = 127 - v.leading_zeros(); // v >= 1
    // m in Q126, in [2^126, 2^127).
    let m = if b <= Q { v << (Q - b) } else { v >> (b - Q) };
    u128::from(b) * (t.ln2 >> (Q - QL)) + (ln_mantissa_q126(m) >> (Q - QL))
}

/// exp(-f) or exp(f) in Q126 for small f (below [`SERIES_LIMIT`]) by the series.
fn exp_series_q126(f: u128, negative: bool) -> u128 {
    let mut total: u128 = 1u128 << Q;
    let mut term: u128 = 1u128 << Q;
    let mut k: u128 = 1;
    loop {
        term = div_by_term_index(mul_shr(term, f, Q), k);
        if term == 0 {
            break;
        }
        if negative && k % 2 == 1 {
            total -= term;
        } else {
            total += term;
        }
        k += 1;
    }
    total
}

/// exp(-f) in Q126 for f in [0, ln 2] given in Q126, by factors (1 - 2^-i).
fn exp_neg_q126(f: u128) -> u128 {
    if f < SERIES_LIMIT {
        return exp_series_q126(f, true);
    }
    let t = tables();
    let mut rem = f;
    let mut res: u128 = 1u128 << Q;
    for (index, ln_factor) in t.neg_ln_one_minus.iter().enumerate() {
        while rem >= *ln_factor {
            rem -= ln_factor;
            res -= res >> (index + 1);
        }
    }
    // exp(-rem) ~ 1 - rem for the tiny remainder.
    res - mul_shr(res, rem, Q)
}

/// exp(f) in Q126 for f in [0, ln 2] given in Q126, by factors (1 + 2^-i).
fn exp_pos_q126(f: u128) -> u128 {
    if f < SERIES_LIMIT {
        return exp_series_q126(f, false);
    }
    let t = tables();
    let mut rem = f;
    let mut res: u128 = 1u128 << Q;
    for (index, ln_factor) in t.ln_one_plus.iter().enumerate() {
        while rem >= *ln_factor {
            rem -= ln_factor;
            res += res >> (index + 1);
        }
    }
    res + mul_shr(res, rem, Q)
}

/// `floor(scale * (n / d)^(a / b))`, the quantity of subtensor's `pow_ratio_scaled`; `None`
/// where the chain returns `None` (a zero denominator) or the result exceeds 128 bits.
///
/// Exact when the reduced exponent is 1; otherwise accurate to about 2^-110 relative (see the
/// module docs).
pub fn pow_ratio_scaled(n: u128, d: u128, a: u128, b: u128, scale: u64) -> Option<u128> {
    if d == 0 || b == 0 {
        return None;
    }
    if n == 0 {
        return Some(0);
    }
    if a == 0 {
        return Some(u128::from(scale));
    }
    // The chain reduces the exponent by its gcd first; the reduced exponent is 1 exactly when
    // `a == b`, and `floor(diff * a / b)` below is the same for the reduced pair, so no
    // reduction is needed here.
    if a == b {
        return mul_div(n, u128::from(scale), d);
    }
    if n == d {
        return Some(u128::from(scale));
    }
    let t = tables();
    let ln2_q120 = t.ln2 >> (Q - QL);
    let greater = n > d;
    let diff = if greater { ln_ratio_q120(n, d) } else { ln_ratio_q120(d, n) };
    // w = diff * a / b in Q120; beyond 200 ln 2 the result is 0 (or overflows).
    let (high, low) = mul_wide(diff, a);
    let w = match u64::try_from(b) {
        Ok(b64) => div_wide_u64(high, low, b64),
        Err(_) => mul_div(diff, a, b),
    };
    let limit = 200 * ln2_q120;
    let w = match w {
        Some(w) if w < limit => w,
        _ => return if greater { None } else { Some(0) },
    };
    let j = w / ln2_q120;
    let f = (w - j * ln2_q120) << (Q - QL);
    if greater {
        let e = exp_pos_q126(f);
        let shift = Q.checked_sub(j as u32)?; // result must fit: j < 126 - 64
        let value = mul_shr(e, u128::from(scale), shift);
        if value == u128::MAX { None } else { Some(value) }
    } else {
        let e = exp_neg_q126(f);
        Some(mul_shr(e, u128::from(scale), Q + j as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wide_products_and_divisions_are_exact() {
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), Some(u128::MAX));
        assert_eq!(mul_div(10, 10, 0), None);
        assert_eq!(mul_div(1 << 100, 1 << 100, 1 << 90), Some(1 << 110));
        assert_eq!(mul_div((1 << 127) + 5, 3, (1 << 126) + 1), Some(6));
        assert_eq!(mul_shr(3, 1 << 127, 128), 1);
        assert_eq!(div_wide_u64(0, 100, 7), Some(14));
        // Knuth division against a slow reference.
        let cases = [
            (u128::MAX, u128::MAX - 5, u128::MAX - 1),
            ((1 << 100) + 12345, (1 << 90) + 7, (1 << 70) + 3),
            (987_654_321_987_654_321_987_654_321, 123_456_789_123_456_789, 1u128 << 65),
            (u128::MAX / 3, u128::MAX / 5, (u128::MAX / 7) | 1),
        ];
        for (a, b, d) in cases {
            assert_eq!(mul_div(a, b, d), slow_mul_div(a, b, d), "{a} * {b} / {d}");
        }
    }

    /// Restoring binary long division, bit by bit.
    fn slow_mul_div(a: u128, b: u128, d: u128) -> Option<u128> {
        let (high, low) = mul_wide(a, b);
        if d == 0 || high >= d {
            return None;
        }
        let mut rem = high;
        let mut quotient: u128 = 0;
        for bit in (0..128).rev() {
            let carry = rem >> 127;
            rem = (rem << 1) | ((low >> bit) & 1);
            quotient <<= 1;
            if carry == 1 || rem >= d {
                rem = rem.wrapping_sub(d);
                quotient |= 1;
            }
        }
        Some(quotient)
    }

    proptest! {
        /// The fast fixed-point divisions are substrate-fixed's, bit for bit.
        #[test]
        fn fixed_divisions_match_substrate_fixed(a in any::<u128>(), b in any::<u128>(), shift in 0u32..128) {
            let (a, b) = (a >> (shift / 2), b >> shift);
            let (x, y) = (U64F64::from_bits(a), U64F64::from_bits(b));
            prop_assert_eq!(div_u64f64(x, y), x.checked_div(y));
            let (x, y) = (U96F32::from_bits(a), U96F32::from_bits(b));
            prop_assert_eq!(div_u96f32(x, y), x.checked_div(y));
        }

        #[test]
        fn narrow_products_match_long_division(a in any::<u64>(), b in any::<u64>(), d in 1u128..u128::MAX) {
            // Products below 2^128 take the one-division fast path.
            prop_assert_eq!(mul_div(u128::from(a), u128::from(b), d), slow_mul_div(u128::from(a), u128::from(b), d));
        }

        /// Operands with trailing zero bits (fixed-point whole numbers) take the stripped path.
        #[test]
        fn shifted_operands_match_long_division(
            a in any::<u64>(), b in any::<u64>(), d in 1u64..u64::MAX,
            i in 0u32..64, j in 0u32..64, k in 0u32..64,
        ) {
            let (a, b, d) = (u128::from(a) << i, u128::from(b) << j, u128::from(d) << k);
            prop_assert_eq!(mul_div(a, b, d), slow_mul_div(a, b, d));
        }

        /// Quotients below 2^64 by wide divisors (a rational in parts per 10^18 of two wide
        /// products, as the pool re-weighting takes) take the one-step path.
        #[test]
        fn small_quotients_by_wide_divisors_match_long_division(
            p in any::<u128>(), q in (1u128 << 64)..u128::MAX, b in any::<u64>(), shift in 0u32..64,
        ) {
            let q = q >> shift | 1 << 64;
            let p = p % q;
            prop_assert_eq!(mul_div(p, u128::from(b), q), slow_mul_div(p, u128::from(b), q));
            prop_assert_eq!(perquintill_from_rational(p, q), slow_mul_div(p, u128::from(PERQUINTILL), q).map_or(PERQUINTILL, |v| v as u64));
        }

        #[test]
        fn term_index_division_is_plain_division(x in any::<u128>(), k in 1u128..40) {
            prop_assert_eq!(div_by_term_index(x, k), x / k);
        }

        #[test]
        fn knuth_division_matches_long_division(a in any::<u128>(), b in any::<u128>(), d in (1u128 << 64)..u128::MAX) {
            prop_assert_eq!(mul_div(a, b, d), slow_mul_div(a, b, d));
        }

        /// Near-one ratios (the series path) agree with the table path to within one unit.
        #[test]
        fn series_and_table_paths_agree(x in 1_000_000_000u64..u64::MAX / 2, dx in 1u64..1_000_000, w in MIN_W..PERQUINTILL - MIN_W) {
            let (a, b) = (u128::from(PERQUINTILL - w), u128::from(w));
            let fast = pow_ratio_scaled(u128::from(x), u128::from(x) + u128::from(dx), a, b, PERQUINTILL);
            // Reference: ln of each integer separately through the table path.
            let diff = ln_q120(u128::from(x) + u128::from(dx)) - ln_q120(u128::from(x));
            let w_q120 = mul_div(diff, a, b).unwrap_or(0);
            let ln2 = tables().ln2 >> (Q - QL);
            let j = w_q120 / ln2;
            let f = (w_q120 - j * ln2) << (Q - QL);
            let reference = mul_shr(exp_neg_q126(f), u128::from(PERQUINTILL), Q + j as u32);
            prop_assert!(fast.unwrap_or(0).abs_diff(reference) <= 1, "{:?} vs {}", fast, reference);
        }
    }

    const MIN_W: u64 = PERQUINTILL / 100;

    #[test]
    fn perquintill_rounds_down_like_sp_arithmetic() {
        assert_eq!(perquintill_from_rational(1, 3), 333_333_333_333_333_333);
        assert_eq!(perquintill_from_rational(2, 3), 666_666_666_666_666_666);
        assert_eq!(perquintill_from_rational(5, 0), PERQUINTILL);
        assert_eq!(perquintill_from_rational(1u128 << 120, (1u128 << 121) + 1), 499_999_999_999_999_999);
        assert_eq!(mul_perquintill_round(PERQUINTILL / 2, 3), 2, "1.5 rounds up");
        assert_eq!(mul_perquintill_round(PERQUINTILL / 4, 1u128 << 100), 1u128 << 98);
        assert_eq!(mul_perquintill_round(PERQUINTILL / 3, 3 * u128::from(PERQUINTILL)), u128::from(PERQUINTILL) - 1);
    }

    #[test]
    fn pow_matches_the_chains_own_test_value() {
        // subtensor's balancer test `test_perquintill_power`:
        // (21e15 / 28e15)^(0.6/0.4) * 1e18 = 649_519_052_838_328_985.
        let r = pow_ratio_scaled(21_000_000_000_000_000, 28_000_000_000_000_000, 6, 4, PERQUINTILL);
        assert_eq!(r, Some(649_519_052_838_328_985));
    }

    #[test]
    fn pow_known_values() {
        // Equal weights: exact integer path.
        assert_eq!(pow_ratio_scaled(1, 3, 7, 7, PERQUINTILL), Some(333_333_333_333_333_333));
        // (1/2)^(1/2) = 0.70710678118654752440...
        assert_eq!(pow_ratio_scaled(1, 2, 1, 2, PERQUINTILL), Some(707_106_781_186_547_524));
        // (2/3)^(1/2) * 1000 = 816.49... (safe-bigmath's doc example)
        assert_eq!(pow_ratio_scaled(2, 3, 1, 2, 1_000), Some(816));
        // (1/2)^3 exactly 0.125.
        assert_eq!(pow_ratio_scaled(1, 2, 3, 1, PERQUINTILL), Some(125_000_000_000_000_000));
        // 2^(1/2) = 1.41421356237309504880...
        assert_eq!(pow_ratio_scaled(2, 1, 1, 2, PERQUINTILL), Some(1_414_213_562_373_095_048));
        // e^(-ln(10)*...) : (1/10)^(1/3) = 0.46415888336127788924...
        assert_eq!(pow_ratio_scaled(1, 10, 1, 3, PERQUINTILL), Some(464_158_883_361_277_889));
        assert_eq!(pow_ratio_scaled(0, 10, 1, 3, PERQUINTILL), Some(0));
        assert_eq!(pow_ratio_scaled(1, 0, 1, 3, PERQUINTILL), None);
        assert_eq!(pow_ratio_scaled(1, u128::MAX, 99, 1, PERQUINTILL), Some(0));
    }

    proptest! {
        /// Monotone in the base and bounded by the scale for ratios below one.
        #[test]
        fn pow_is_monotone_and_bounded(x in 1u64..u64::MAX / 4, dx in 1u64..u64::MAX / 4, w in 1u64..PERQUINTILL) {
            let a = u128::from(PERQUINTILL - w);
            let b = u128::from(w);
            let y = u128::from(x) + u128::from(dx);
            let r1 = pow_ratio_scaled(u128::from(x), y, a, b, PERQUINTILL);
            let r2 = pow_ratio_scaled(u128::from(x), y + 1, a, b, PERQUINTILL);
            prop_assert!(r1.is_some());
            prop_assert!(r1.unwrap_or(0) <= u128::from(PERQUINTILL));
            prop_assert!(r2 <= r1);
        }

        /// Against the exact integer path: exponents a/a with a split that differs by a factor.
        #[test]
        fn pow_agrees_with_exact_squares(x in 1u64..1_000_000_000_000, dx in 0u64..1_000_000_000_000) {
            // (x/y)^2 exactly: floor(1e18 * x^2 / y^2).
            let y = u128::from(x) + u128::from(dx);
            let exact = mul_div(u128::from(x) * u128::from(x), u128::from(PERQUINTILL), y * y);
            let approx = pow_ratio_scaled(u128::from(x), y, 2, 1, PERQUINTILL);
            let (e, a) = (exact.unwrap_or(0), approx.unwrap_or(0));
            prop_assert!(e.abs_diff(a) <= 1, "exact {} approx {}", e, a);
        }
    }
}
