//! Exponential draws by the ziggurat method (Marsaglia & Tsang, 2000), from taosim's streams.
//!
//! [`sim::rng::exponential`] inverts the distribution function, one `libm::log` per draw, which
//! is a quarter of the cost of an M/M/1 event here. The ziggurat covers the density e^-x with
//! 256 horizontal layers of equal area; a draw picks a layer and a point in it from one 64-bit
//! word and is accepted at once when the point lies under the curve for sure (about 98.9% of
//! draws). Only the rest evaluate `libm::exp` (a wedge) or `libm::log` (the tail beyond r). The
//! result has exactly the exponential distribution, and every operation is IEEE arithmetic or
//! `libm`, so the draws are the same on every platform.
//!
//! A candidate for `sim::rng` (the network model draws exponentials too); kept here so that this
//! crate does not change the engine's crate.

use rand_chacha::rand_core::Rng;
use sim::rng::unit_f64;

/// Right edge of the base layer's rectangle: the tail starts here (256 layers).
const R: f64 = 7.697_117_470_131_05;
/// Area of every layer: r·e^-r + ∫_r^∞ e^-x dx = (r + 1)·e^-r.
const V: f64 = 3.949_659_822_581_557e-3;
/// Layers.
const LAYERS: usize = 256;

/// The layer tables: layer i spans [0, x_i] horizontally and [e^-x_i, e^-x_(i+1)] vertically.
#[derive(Clone, Debug)]
pub struct Ziggurat {
    x: [f64; LAYERS + 1],
    f: [f64; LAYERS + 1],
}

impl Default for Ziggurat {
    fn default() -> Self {
        Self::new()
    }
}

impl Ziggurat {
    /// Builds the tables (with `libm`, so they are the same everywhere).
    pub fn new() -> Self {
        let mut x = [0.0; LAYERS + 1];
        let mut f = [0.0; LAYERS + 1];
        // The base layer is a rectangle of width V / e^-R plus the tail; its sure part is [0, R].
        x[0] = V / libm::exp(-R);
        x[1] = R;
        for i in 1..LAYERS - 1 {
            // Equal areas: x_i · (e^-x_(i+1) − e^-x_i) = V.
            x[i + 1] = -libm::log(V / x[i] + libm::exp(-x[i]));
        }
        x[LAYERS] = 0.0;
        for i in 0..=LAYERS {
            f[i] = libm::exp(-x[i]);
        }
        f[0] = 0.0;
        Self { x, f }
    }

    /// One Exponential(1) draw.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        loop {
            let bits = rng.next_u64();
            // Low 8 bits pick the layer, the top 53 the position in it: no bit is used twice.
            let i = (bits & 0xff) as usize;
            let x = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * self.x[i];
            if x < self.x[i + 1] {
                return x;
            }
            if i == 0 {
                // Beyond R the density is R + Exponential(1) (memoryless); 1 − U lies in (0, 1].
                return R - libm::log(1.0 - unit_f64(rng));
            }
            // The wedge between the rectangle's sure part and its right edge.
            let y = self.f[i] + unit_f64(rng) * (self.f[i + 1] - self.f[i]);
            if y < libm::exp(-x) {
                return x;
            }
        }
    }

    /// One exponential draw with the given mean.
    pub fn exponential(&self, rng: &mut impl Rng, mean: f64) -> f64 {
        mean * self.sample(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::label;
    use sim::rng::stream;

    #[test]
    fn layers_close_at_the_top_and_shrink_monotonically() {
        let z = Ziggurat::new();
        assert!(z.x.windows(2).all(|w| w[0] > w[1]), "x decreasing");
        // The recursion from (R, V) must end at the top of the density: the last layer's upper
        // edge e^-x_256 = V/x_255 + e^-x_255 is 1. This checks the two constants together.
        let top = V / z.x[LAYERS - 1] + libm::exp(-z.x[LAYERS - 1]);
        assert!((top - 1.0).abs() < 1e-9, "top = {top}");
        // And V is (R + 1)·e^-R.
        assert!(((R + 1.0) * libm::exp(-R) / V - 1.0).abs() < 1e-14);
    }

    /// 10⁶ draws against Exponential(1): mean and variance within 4 standard errors, the tail
    /// beyond R within 4 sd of its binomial count, and the Kolmogorov–Smirnov distance below
    /// its 0.1% critical value 1.95/√n.
    #[test]
    fn draws_are_exponential() {
        let z = Ziggurat::new();
        let mut rng = stream(7, &label!["peers", "ziggurat", "test"]);
        let n = 1_000_000;
        let mut xs: Vec<f64> = (0..n).map(|_| z.sample(&mut rng)).collect();
        let nf = n as f64;
        let mean = xs.iter().sum::<f64>() / nf;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (nf - 1.0);
        assert!((mean - 1.0).abs() < 4.0 / nf.sqrt(), "mean {mean}");
        // Var of the sample variance of Exp(1) is (μ4 − σ⁴)/n = (9 − 1)/n.
        assert!((var - 1.0).abs() < 4.0 * (8.0 / nf).sqrt(), "variance {var}");
        let p_tail = libm::exp(-R);
        let tail = xs.iter().filter(|x| **x > R).count() as f64;
        assert!((tail - nf * p_tail).abs() < 4.0 * (nf * p_tail).sqrt(), "tail count {tail}");
        xs.sort_by(f64::total_cmp);
        let ks = xs
            .iter()
            .enumerate()
            .map(|(k, x)| {
                let cdf = 1.0 - libm::exp(-x);
                (cdf - k as f64 / nf).abs().max(((k + 1) as f64 / nf - cdf).abs())
            })
            .fold(0.0, f64::max);
        assert!(ks < 1.95 / nf.sqrt(), "KS distance {ks}");
        assert!(xs[0] >= 0.0);
    }
}
