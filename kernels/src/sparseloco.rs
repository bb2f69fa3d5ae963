//! SparseLoCo's outer step on the CPU: pseudo-gradient, error feedback, chunked top-k,
//! quantisation and decode (arXiv 2508.15706; Templar's `TopKCompressor`, `tplr/compress`).
//!
//! Per 2-D tensor of shape [rows, cols] (both multiples of 64):
//!
//! ```text
//! delta = θ0 - θ                      the pseudo-gradient of the round
//! e     = beta e + delta              error feedback (beta = 0.95 in production)
//! chunks: 64 × 64 tiles, row-major tile order; inside a tile, index = 64 i + j
//! keep  the top_k (64) entries of each tile by |e|; ties go to the lower index
//! quantise the kept values of the whole tensor (Templar's `_quantize_values`):
//!       shift = mean(v); c = v - shift; std = sqrt(sum c^2 / (n - 1))
//!       scale = range_sigmas * std / bins   (1 when zero or not finite)
//!       q = clamp(round_half_even(c / scale + bins / 2), 0, bins - 1)
//!       lookup[b] = mean of the c with q = b (0 when empty)
//! decode: value = lookup[q] + shift at each kept index, 0 elsewhere
//! e    -= decode                      the residual stays for the next round
//! θ0    = θ0 - outer_lr * decode      one peer's outer step (the simulator aggregates many);
//! θ     = θ0
//! ```
//!
//! Templar stores indices with a variable-length code and values as bytes; the payload size
//! used by the simulator ([`payload_bytes`]) assumes 12-bit indices and `value_bits`-bit codes,
//! which for 64 of 4096 with 2-bit codes is 112 bytes per chunk, 146× smaller than the f32
//! tensor: the ">146x" of the Covenant-72B report.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Side of a chunk (tile): 64.
pub const CHUNK_SIDE: usize = 64;

/// Elements of a chunk: 64 × 64 = 4096.
pub const CHUNK_ELEMENTS: usize = CHUNK_SIDE * CHUNK_SIDE;

/// SparseLoCo settings (Templar's production values by default).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionConfig {
    /// Entries kept per 4096-element chunk (`topk_compression`, 64: density 1.5625%).
    pub top_k: usize,
    /// Quantisation bins (`quantization_bins`, 4 = 2-bit codes); 2 ..= 256.
    pub bins: usize,
    /// Quantisation range in standard deviations (`quantization_range`, 6).
    pub range_sigmas: f32,
    /// Error-feedback decay beta (`momentum_decay`, 0.95).
    pub error_decay: f32,
    /// Outer learning rate (`outer_learning_rate`, 1.0).
    pub outer_lr: f32,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self { top_k: 64, bins: 4, range_sigmas: 6.0, error_decay: 0.95, outer_lr: 1.0 }
    }
}

impl CompressionConfig {
    /// Checks ranges: `top_k` 1 ..= 4096, `bins` 2 ..= 256, `range_sigmas` in (0, 100],
    /// `error_decay` in [0, 1], `outer_lr` in (0, 10].
    pub fn validate(&self) -> Result<()> {
        if self.top_k == 0 || self.top_k > CHUNK_ELEMENTS {
            return Err(Error::shape(
                "top_k",
                format!("{} is out of range; allowed 1 ..= {CHUNK_ELEMENTS}", self.top_k),
            ));
        }
        if !(2..=256).contains(&self.bins) {
            return Err(Error::shape("bins", format!("{} is out of range; allowed 2 ..= 256", self.bins)));
        }
        if !(self.range_sigmas > 0.0 && self.range_sigmas <= 100.0) {
            return Err(Error::shape(
                "range_sigmas",
                format!("{} is out of range; allowed (0, 100]", self.range_sigmas),
            ));
        }
        if !(0.0..=1.0).contains(&self.error_decay) {
            return Err(Error::shape("error_decay", format!("{} is out of range; allowed 0 ..= 1", self.error_decay)));
        }
        if !(self.outer_lr > 0.0 && self.outer_lr <= 10.0) {
            return Err(Error::shape("outer_lr", format!("{} is out of range; allowed (0, 10]", self.outer_lr)));
        }
        Ok(())
    }

    /// Fraction of entries kept: top_k / 4096.
    pub fn density(&self) -> f64 {
        self.top_k as f64 / CHUNK_ELEMENTS as f64
    }
}

/// The quantiser's parameters for one tensor (Templar's `qparams`: shift, scale, lookup).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantParams {
    /// Mean of the kept values.
    pub shift: f32,
    /// Bin width.
    pub scale: f32,
    /// Decoded (centred) value of each bin: the mean of the values that fell in it.
    pub lookup: Vec<f32>,
}

/// One compressed tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compressed {
    /// Rows of the dense tensor.
    pub rows: usize,
    /// Columns of the dense tensor.
    pub cols: usize,
    /// Entries kept per chunk.
    pub top_k: usize,
    /// Per chunk (in tile order), the kept chunk-local indices, ascending: `top_k` each.
    pub indices: Vec<u16>,
    /// The quantisation code of each kept entry, in the order of `indices`.
    pub codes: Vec<u8>,
    /// The tensor's quantiser.
    pub quant: QuantParams,
}

/// Number of 64 × 64 chunks of a [rows, cols] tensor.
pub fn chunk_count(rows: usize, cols: usize) -> usize {
    (rows / CHUNK_SIDE) * (cols / CHUNK_SIDE)
}

/// The flat (row-major) index of chunk-local entry `local` of chunk `chunk`.
pub fn element_index(cols: usize, chunk: usize, local: usize) -> usize {
    let tiles_per_row = cols / CHUNK_SIDE;
    let (tile_row, tile_col) = (chunk / tiles_per_row, chunk % tiles_per_row);
    let (i, j) = (local / CHUNK_SIDE, local % CHUNK_SIDE);
    (tile_row * CHUNK_SIDE + i) * cols + tile_col * CHUNK_SIDE + j
}

/// Checks that a tensor is [rows, cols] with both multiples of 64.
fn check_tensor(len: usize, rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 || !rows.is_multiple_of(CHUNK_SIDE) || !cols.is_multiple_of(CHUNK_SIDE) {
        return Err(Error::shape("rows/cols", format!("{rows} × {cols}: both must be positive multiples of 64")));
    }
    if len != rows * cols {
        return Err(Error::shape("tensor", format!("{len} elements, expected {rows} × {cols}")));
    }
    Ok(())
}

/// The magnitude key that orders entries: the bits of |x| (monotonic for non-negative floats;
/// a NaN sorts above infinity, so it is always kept and never silently dropped).
pub fn magnitude_key(x: f32) -> u32 {
    x.abs().to_bits()
}

/// The `k` entries of `chunk` with the largest magnitude (ties to the lower index), as
/// ascending chunk-local indices appended to `out`.
pub fn select_top_k(chunk: &[f32], k: usize, out: &mut Vec<u16>) {
    let k = k.min(chunk.len());
    let mut keyed: Vec<(u32, u16)> = chunk.iter().enumerate().map(|(i, &x)| (magnitude_key(x), i as u16)).collect();
    // Larger key first, then lower index: a total order, so the kept set is unique.
    let order = |a: &(u32, u16), b: &(u32, u16)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
    if k < keyed.len() {
        keyed.select_nth_unstable_by(k, order);
    }
    let mut kept: Vec<u16> = keyed[..k].iter().map(|&(_, i)| i).collect();
    kept.sort_unstable();
    out.extend_from_slice(&kept);
}

/// Quantises `values` (Templar's `_quantize_values`, see the module docs). Sums in f64.
pub fn quantise(values: &[f32], bins: usize, range_sigmas: f32) -> (Vec<u8>, QuantParams) {
    let n = values.len();
    if n == 0 {
        return (Vec::new(), QuantParams { shift: 0.0, scale: 1.0, lookup: vec![0.0; bins] });
    }
    let shift = (values.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64) as f32;
    let centred: Vec<f32> = values.iter().map(|&v| v - shift).collect();
    let sum_squares: f64 = centred.iter().map(|&c| f64::from(c) * f64::from(c)).sum();
    let std = if n > 1 { (sum_squares / (n - 1) as f64).sqrt() } else { 0.0 };
    let mut scale = (f64::from(range_sigmas) * std / bins as f64) as f32;
    if !(scale > 0.0 && scale.is_finite()) {
        scale = 1.0;
    }
    let offset = (bins / 2) as f32;
    let top = (bins - 1) as f32;
    let codes: Vec<u8> =
        centred.iter().map(|&c| (c / scale + offset).round_ties_even().clamp(0.0, top) as u8).collect();
    let mut sums = vec![0.0f64; bins];
    let mut counts = vec![0u64; bins];
    for (&c, &q) in centred.iter().zip(&codes) {
        sums[usize::from(q)] += f64::from(c);
        counts[usize::from(q)] += 1;
    }
    let lookup = sums.iter().zip(&counts).map(|(&s, &c)| if c > 0 { (s / c as f64) as f32 } else { 0.0 }).collect();
    (codes, QuantParams { shift, scale, lookup })
}

/// The decoded value of code `q`.
pub fn dequantise(q: u8, quant: &QuantParams) -> f32 {
    quant.lookup.get(usize::from(q)).copied().unwrap_or(0.0) + quant.shift
}

/// Compresses a [rows, cols] tensor: chunked top-k, then quantisation of the kept values.
pub fn encode(x: &[f32], rows: usize, cols: usize, cfg: &CompressionConfig) -> Result<Compressed> {
    let indices = select_tensor(x, rows, cols, cfg)?;
    quantise_selected(x, rows, cols, indices, cfg)
}

/// The chunked top-k of a [rows, cols] tensor: `top_k` ascending chunk-local indices per chunk.
pub fn select_tensor(x: &[f32], rows: usize, cols: usize, cfg: &CompressionConfig) -> Result<Vec<u16>> {
    cfg.validate()?;
    check_tensor(x.len(), rows, cols)?;
    let chunks = chunk_count(rows, cols);
    let mut indices = Vec::with_capacity(chunks * cfg.top_k);
    let mut tile = vec![0.0f32; CHUNK_ELEMENTS];
    for chunk in 0..chunks {
        for (local, slot) in tile.iter_mut().enumerate() {
            *slot = x[element_index(cols, chunk, local)];
        }
        select_top_k(&tile, cfg.top_k, &mut indices);
    }
    Ok(indices)
}

/// Quantises the entries of `x` at `indices` (from [`select_tensor`]) into a [`Compressed`].
pub fn quantise_selected(
    x: &[f32],
    rows: usize,
    cols: usize,
    indices: Vec<u16>,
    cfg: &CompressionConfig,
) -> Result<Compressed> {
    check_tensor(x.len(), rows, cols)?;
    if indices.len() != chunk_count(rows, cols) * cfg.top_k {
        return Err(Error::shape("indices", format!("{} indices for {rows} × {cols}", indices.len())));
    }
    let values: Vec<f32> = indices
        .iter()
        .enumerate()
        .map(|(n, &local)| x[element_index(cols, n / cfg.top_k, usize::from(local) % CHUNK_ELEMENTS)])
        .collect();
    let (codes, quant) = quantise(&values, cfg.bins, cfg.range_sigmas);
    Ok(Compressed { rows, cols, top_k: cfg.top_k, indices, codes, quant })
}

/// Writes the dense decode of `c` into `out` (zeros except the kept entries).
pub fn decode_into(c: &Compressed, out: &mut [f32]) -> Result<()> {
    check_tensor(out.len(), c.rows, c.cols)?;
    let expected = chunk_count(c.rows, c.cols) * c.top_k;
    if c.indices.len() != expected || c.codes.len() != expected {
        return Err(Error::shape(
            "payload",
            format!("{} indices and {} codes, expected {expected}", c.indices.len(), c.codes.len()),
        ));
    }
    out.fill(0.0);
    for (n, (&local, &q)) in c.indices.iter().zip(&c.codes).enumerate() {
        if usize::from(local) >= CHUNK_ELEMENTS {
            return Err(Error::shape("payload", format!("index {local} outside a 4096-entry chunk")));
        }
        out[element_index(c.cols, n / c.top_k, usize::from(local))] = dequantise(q, &c.quant);
    }
    Ok(())
}

/// The dense decode of `c`.
pub fn decode(c: &Compressed) -> Result<Vec<f32>> {
    let mut out = vec![0.0; c.rows * c.cols];
    decode_into(c, &mut out)?;
    Ok(out)
}

/// The outer step of one tensor (see the module docs); returns what the peer uploads.
pub fn outer_step_tensor(
    theta: &mut [f32],
    theta0: &mut [f32],
    error: &mut [f32],
    rows: usize,
    cols: usize,
    cfg: &CompressionConfig,
) -> Result<Compressed> {
    check_tensor(theta.len(), rows, cols)?;
    check_tensor(theta0.len(), rows, cols)?;
    check_tensor(error.len(), rows, cols)?;
    accumulate_error(theta, theta0, error, cfg.error_decay);
    let compressed = encode(error, rows, cols, cfg)?;
    let decoded = decode(&compressed)?;
    apply_decoded(theta, theta0, error, &decoded, cfg.outer_lr);
    Ok(compressed)
}

/// e = beta e + (θ0 - θ), elementwise in f32 (the order every back end uses).
pub fn accumulate_error(theta: &[f32], theta0: &[f32], error: &mut [f32], beta: f32) {
    for ((e, &t), &t0) in error.iter_mut().zip(theta).zip(theta0) {
        *e = beta * *e + (t0 - t);
    }
}

/// e -= decoded; θ0 -= lr * decoded; θ = θ0.
pub fn apply_decoded(theta: &mut [f32], theta0: &mut [f32], error: &mut [f32], decoded: &[f32], outer_lr: f32) {
    for (((t, t0), e), &d) in theta.iter_mut().zip(theta0.iter_mut()).zip(error.iter_mut()).zip(decoded) {
        *e -= d;
        *t0 -= outer_lr * d;
        *t = *t0;
    }
}

/// Bytes of one compressed tensor of `elements` entries on the wire, with `index_bits`-bit
/// indices and `value_bits`-bit codes per kept entry (bit-packed per chunk, rounded up to whole
/// bytes), plus the quantiser (shift, scale and `2^value_bits` lookup entries as f32).
pub fn payload_bytes(elements: u64, top_k: u64, index_bits: u64, value_bits: u64) -> u64 {
    let chunks = elements.div_ceil(CHUNK_ELEMENTS as u64);
    let per_chunk = (top_k * (index_bits + value_bits)).div_ceil(8);
    let quantiser = 4 * (2 + (1u64 << value_bits.min(16)));
    chunks * per_chunk + quantiser
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::SplitMix64;

    fn random_tensor(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        // Heavy-ish tails, like pseudo-gradients: a uniform times a uniform.
        (0..rows * cols).map(|_| rng.symmetric(1.0) * rng.symmetric(1.0).abs()).collect()
    }

    #[test]
    fn chunks_are_64_by_64_tiles_in_row_major_tile_order() {
        // A 128 × 192 tensor has 2 × 3 tiles.
        assert_eq!(chunk_count(128, 192), 6);
        assert_eq!(element_index(192, 0, 0), 0);
        assert_eq!(element_index(192, 0, 63), 63);
        assert_eq!(element_index(192, 0, 64), 192); // second row of the first tile
        assert_eq!(element_index(192, 1, 0), 64);
        assert_eq!(element_index(192, 3, 0), 64 * 192); // second tile row
        let mut seen = vec![false; 128 * 192];
        for chunk in 0..6 {
            for local in 0..CHUNK_ELEMENTS {
                let i = element_index(192, chunk, local);
                assert!(!seen[i], "index {i} visited twice");
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn top_k_keeps_the_largest_magnitudes_with_ties_to_the_lower_index() {
        let mut chunk = vec![0.0f32; CHUNK_ELEMENTS];
        chunk[10] = -5.0;
        chunk[20] = 4.0;
        chunk[30] = 4.0;
        chunk[40] = 4.0;
        let mut out = Vec::new();
        select_top_k(&chunk, 3, &mut out);
        assert_eq!(out, vec![10, 20, 30]);
        // Forbidden: the tie at 40 must not displace the lower index 30.
        assert!(!out.contains(&40));
    }

    #[test]
    fn exactly_top_k_of_each_chunk_is_kept_and_dominates_the_rest() {
        let cfg = CompressionConfig::default();
        let (rows, cols) = (128, 192);
        let x = random_tensor(rows, cols, 3);
        let c = encode(&x, rows, cols, &cfg).expect("encode");
        assert_eq!(c.indices.len(), 6 * 64);
        for chunk in 0..6 {
            let kept = &c.indices[chunk * 64..(chunk + 1) * 64];
            assert!(kept.windows(2).all(|w| w[0] < w[1]), "ascending and distinct");
            let kept_min =
                kept.iter().map(|&l| x[element_index(cols, chunk, usize::from(l))].abs()).fold(f32::MAX, f32::min);
            let dropped_max = (0..CHUNK_ELEMENTS as u16)
                .filter(|l| kept.binary_search(l).is_err())
                .map(|l| x[element_index(cols, chunk, usize::from(l))].abs())
                .fold(0.0f32, f32::max);
            assert!(kept_min >= dropped_max, "chunk {chunk}: kept {kept_min} < dropped {dropped_max}");
        }
        let decoded = decode(&c).expect("decode");
        let nonzero = decoded.iter().filter(|&&d| d != 0.0).count();
        assert!(nonzero <= 6 * 64);
        assert_eq!(cfg.density(), 64.0 / 4096.0);
    }

    #[test]
    fn decode_of_encode_is_within_one_bin_and_preserves_the_sum() {
        let cfg = CompressionConfig::default();
        let (rows, cols) = (192, 128);
        let x = random_tensor(rows, cols, 11);
        let c = encode(&x, rows, cols, &cfg).expect("encode");
        let d = decode(&c).expect("decode");
        let q = &c.quant;
        // 4 bins of width scale = 6 sigma / 4 centred on the mean: bins 1 and 2 are bounded,
        // so a value there decodes to its bin's mean, at most one bin width away.
        let mut bounded = 0;
        let mut kept_sum = 0.0f64;
        let mut decoded_sum = 0.0f64;
        for (n, (&local, &code)) in c.indices.iter().zip(&c.codes).enumerate() {
            let i = element_index(cols, n / 64, usize::from(local));
            kept_sum += f64::from(x[i]);
            decoded_sum += f64::from(d[i]);
            if code == 1 || code == 2 {
                assert!((x[i] - d[i]).abs() <= q.scale * 1.0001, "{} -> {} (scale {})", x[i], d[i], q.scale);
                bounded += 1;
            }
        }
        assert!(bounded > c.codes.len() / 3, "most kept values lie in the inner bins");
        // Bin means preserve the sum of the kept values.
        assert!((kept_sum - decoded_sum).abs() < 1e-3 * kept_sum.abs().max(1.0), "{kept_sum} vs {decoded_sum}");
        // Entries that were not kept decode to zero.
        let kept: std::collections::BTreeSet<usize> =
            c.indices.iter().enumerate().map(|(n, &l)| element_index(cols, n / 64, usize::from(l))).collect();
        assert!(d.iter().enumerate().all(|(i, &v)| kept.contains(&i) || v == 0.0));
    }

    #[test]
    fn quantiser_matches_templars_formula_on_a_hand_computed_case() {
        // values 1, 2, 3, 10: mean 4; centred -3 -2 -1 6; std = sqrt(50/3) = 4.0825;
        // scale = 6 * 4.0825 / 4 = 6.1237; c/scale + 2 = 1.51, 1.67, 1.84, 2.98 -> 2, 2, 2, 3.
        let (codes, q) = quantise(&[1.0, 2.0, 3.0, 10.0], 4, 6.0);
        assert_eq!(codes, vec![2, 2, 2, 3]);
        assert!((q.shift - 4.0).abs() < 1e-6);
        assert!((q.scale - 6.123_724).abs() < 1e-4);
        assert_eq!(q.lookup, vec![0.0, 0.0, -2.0, 6.0]);
        assert_eq!(dequantise(2, &q), 2.0);
        assert_eq!(dequantise(3, &q), 10.0);
        // A constant input has zero spread: scale falls back to 1 and everything is exact.
        let (codes, q) = quantise(&[0.5; 8], 4, 6.0);
        assert_eq!(q.scale, 1.0);
        assert!(codes.iter().all(|&c| dequantise(c, &q) == 0.5));
    }

    #[test]
    fn error_feedback_carries_the_residual_across_rounds() {
        // With beta = 1 and outer_lr = 1 nothing is lost: the sum of what was transmitted plus
        // the final error equals the sum of the pseudo-gradients.
        let cfg = CompressionConfig { error_decay: 1.0, ..CompressionConfig::default() };
        let (rows, cols) = (64, 128);
        let mut theta0 = random_tensor(rows, cols, 1);
        let mut error = vec![0.0f32; rows * cols];
        let mut sent = vec![0.0f64; rows * cols];
        let mut deltas = vec![0.0f64; rows * cols];
        for round in 0..5u64 {
            let step = random_tensor(rows, cols, 100 + round);
            let mut theta: Vec<f32> = theta0.iter().zip(&step).map(|(t, s)| t - 0.01 * s).collect();
            for i in 0..theta.len() {
                deltas[i] += f64::from(theta0[i] - theta[i]);
            }
            let c = outer_step_tensor(&mut theta, &mut theta0, &mut error, rows, cols, &cfg).expect("outer");
            let d = decode(&c).expect("decode");
            for i in 0..theta.len() {
                sent[i] += f64::from(d[i]);
            }
            assert_eq!(theta, theta0, "θ restarts from the new θ0");
        }
        for i in 0..sent.len() {
            let total = sent[i] + f64::from(error[i]);
            assert!((total - deltas[i]).abs() < 1e-5, "entry {i}: {total} vs {}", deltas[i]);
        }
        // Forbidden: error feedback that silently drops the residual (e would be all zeros).
        assert!(error.iter().any(|&e| e != 0.0));
    }

    #[test]
    fn residual_is_the_accumulator_minus_the_decode() {
        let cfg = CompressionConfig::default();
        let (rows, cols) = (64, 64);
        let theta0_start = random_tensor(rows, cols, 5);
        let mut theta0 = theta0_start.clone();
        let mut theta: Vec<f32> = theta0.iter().map(|t| t * 0.9).collect();
        let theta_end = theta.clone();
        let mut error = random_tensor(rows, cols, 6);
        let error_start = error.clone();
        let c = outer_step_tensor(&mut theta, &mut theta0, &mut error, rows, cols, &cfg).expect("outer");
        let d = decode(&c).expect("decode");
        for i in 0..error.len() {
            let accumulated = 0.95 * error_start[i] + (theta0_start[i] - theta_end[i]);
            assert_eq!(error[i], accumulated - d[i]);
            assert_eq!(theta0[i], theta0_start[i] - d[i]);
        }
    }

    #[test]
    fn payload_size_is_146_times_smaller_than_f32_for_the_production_settings() {
        // 64 of 4096 kept, 12-bit indices and 2-bit codes: 112 bytes per 16,384-byte chunk.
        let elements = 4096 * 1000;
        let bytes = payload_bytes(elements, 64, 12, 2);
        assert_eq!(bytes, 1000 * 112 + 4 * 6);
        let ratio = (elements * 4) as f64 / bytes as f64;
        assert!(ratio > 146.0 && ratio < 146.3, "{ratio}");
    }

    #[test]
    fn bad_settings_and_shapes_are_refused_with_the_field_named() {
        let bad = CompressionConfig { top_k: 0, ..CompressionConfig::default() };
        assert_eq!(bad.validate().expect_err("top_k").to_string(), "top_k: 0 is out of range; allowed 1 ..= 4096");
        let bad = CompressionConfig { bins: 300, ..CompressionConfig::default() };
        assert!(bad.validate().expect_err("bins").to_string().starts_with("bins:"));
        let e = encode(&[0.0; 100], 10, 10, &CompressionConfig::default()).expect_err("shape");
        assert!(e.to_string().contains("multiples of 64"), "{e}");
    }
}
