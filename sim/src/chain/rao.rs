//! `Rao`, the chain's unit of account: 1 TAO = 10^9 rao (alpha uses the same unit).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Rao per TAO (and per alpha).
pub const RAO_PER_TAO: u64 = 1_000_000_000;

/// An amount of TAO or alpha in rao, as the chain stores balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rao(pub u64);

impl Rao {
    /// Nothing.
    pub const ZERO: Rao = Rao(0);
    /// The largest amount representable.
    pub const MAX: Rao = Rao(u64::MAX);

    /// Whole TAO, saturating.
    pub const fn from_tao(tao: u64) -> Rao {
        Rao(tao.saturating_mul(RAO_PER_TAO))
    }

    /// A decimal TAO amount from a scenario file, rounded to the nearest rao.
    ///
    /// Returns `None` for negative, non-finite or too-large values. The conversion is exact
    /// IEEE arithmetic, hence the same on every platform.
    pub fn from_tao_f64(tao: f64) -> Option<Rao> {
        let rao = (tao * RAO_PER_TAO as f64).round();
        if !rao.is_finite() || rao < 0.0 || rao >= u64::MAX as f64 {
            return None;
        }
        Some(Rao(rao as u64))
    }

    /// The amount in TAO as a float, for display and participants' behaviour only.
    pub fn as_tao_f64(self) -> f64 {
        self.0 as f64 / RAO_PER_TAO as f64
    }

    /// `self + other`, saturating at `u64::MAX` as the chain's balances do.
    pub const fn saturating_add(self, other: Rao) -> Rao {
        Rao(self.0.saturating_add(other.0))
    }

    /// `self - other`, saturating at zero.
    pub const fn saturating_sub(self, other: Rao) -> Rao {
        Rao(self.0.saturating_sub(other.0))
    }

    /// `self - other`, or `None` if it would go below zero.
    pub const fn checked_sub(self, other: Rao) -> Option<Rao> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Rao(v)),
            None => None,
        }
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Rao) -> Option<Rao> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Rao(v)),
            None => None,
        }
    }
}

impl Rao {
    /// The exact decimal amount in TAO, trailing zeros trimmed (`15750000.5`): how outputs
    /// write amounts, so that files carry the integer state without rounding.
    pub fn decimal_tao(self) -> String {
        let whole = self.0 / RAO_PER_TAO;
        let frac = self.0 % RAO_PER_TAO;
        if frac == 0 { whole.to_string() } else { format!("{whole}.{}", format!("{frac:09}").trim_end_matches('0')) }
    }
}

impl fmt::Display for Rao {
    /// Exact decimal TAO: `10500000.000000001 TAO` style, trailing zeros trimmed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} TAO", self.decimal_tao())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tao_conversions_round_to_the_nearest_rao_and_refuse_nonsense() {
        assert_eq!(Rao::from_tao(2), Rao(2_000_000_000));
        assert_eq!(Rao::from_tao_f64(10_500_000.0), Some(Rao(10_500_000 * RAO_PER_TAO)));
        assert_eq!(Rao::from_tao_f64(0.000_000_001_4), Some(Rao(1)));
        assert_eq!(Rao::from_tao_f64(-1.0), None);
        assert_eq!(Rao::from_tao_f64(f64::NAN), None);
        assert_eq!(Rao::from_tao_f64(1e30), None);
        assert_eq!(Rao(1_500_000_000).to_string(), "1.5 TAO");
        assert_eq!(Rao(3 * RAO_PER_TAO).to_string(), "3 TAO");
        assert_eq!(Rao(5).saturating_sub(Rao(9)), Rao::ZERO);
        assert_eq!(Rao::MAX.saturating_add(Rao(1)), Rao::MAX);
    }
}
