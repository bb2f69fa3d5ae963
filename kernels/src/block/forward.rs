//! The block's forward pass (formulas in the [module docs](super)), keeping every activation
//! the backward pass needs.

use super::{BlockBatch, BlockShape, Mat, Params, RMS_EPS, Real, Tensor, gemm, silu};

/// Activations of one forward pass, and the backward pass's scratch space, sized once.
#[derive(Clone, Debug)]
pub struct Workspace<T> {
    /// 1 / rms of each input row, [N].
    pub inv1: Vec<T>,
    /// Normalised input x · inv1, [N, d].
    pub xhat1: Vec<T>,
    /// xhat1 · g1, [N, d].
    pub n1: Vec<T>,
    /// Queries, [N, d].
    pub q: Vec<T>,
    /// Keys, [N, d].
    pub k: Vec<T>,
    /// Values, [N, d].
    pub v: Vec<T>,
    /// Attention probabilities per sequence and head, [B, H, S, S] (zero above the diagonal).
    pub p: Vec<T>,
    /// Attention output before Wo, heads side by side, [N, d].
    pub o: Vec<T>,
    /// After the attention residual, [N, d].
    pub h: Vec<T>,
    /// 1 / rms of each row of h, [N].
    pub inv2: Vec<T>,
    /// Normalised h, [N, d].
    pub xhat2: Vec<T>,
    /// xhat2 · g2, [N, d].
    pub n2: Vec<T>,
    /// Gate pre-activation n2 Wgate, [N, f].
    pub u: Vec<T>,
    /// Up projection n2 Wup, [N, f].
    pub w: Vec<T>,
    /// silu(u) · w, [N, f].
    pub m: Vec<T>,
    /// The block's output, [N, d].
    pub y: Vec<T>,
    /// Backward scratch: gradients of y, h, o and n2, [N, d] each.
    pub(super) dy: Vec<T>,
    pub(super) dh: Vec<T>,
    pub(super) d_o: Vec<T>,
    pub(super) dn: Vec<T>,
    /// Backward scratch: gradients of q, k, v, [N, d] each.
    pub(super) dq: Vec<T>,
    pub(super) dk: Vec<T>,
    pub(super) dv: Vec<T>,
    /// Backward scratch: gradients of m, u, w, [N, f] each.
    pub(super) dm: Vec<T>,
    pub(super) du: Vec<T>,
    pub(super) dw: Vec<T>,
    /// Backward scratch: one head's probability gradient, [S, S].
    pub(super) dp: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for `shape`.
    pub fn new(shape: &BlockShape) -> Self {
        let (n, d, f) = (shape.tokens(), shape.d_model, shape.d_ff);
        let z = |len: usize| vec![T::ZERO; len];
        let probs = shape.batch * shape.heads * shape.seq * shape.seq;
        Self {
            inv1: z(n),
            xhat1: z(n * d),
            n1: z(n * d),
            q: z(n * d),
            k: z(n * d),
            v: z(n * d),
            p: z(probs),
            o: z(n * d),
            h: z(n * d),
            inv2: z(n),
            xhat2: z(n * d),
            n2: z(n * d),
            u: z(n * f),
            w: z(n * f),
            m: z(n * f),
            y: z(n * d),
            dy: z(n * d),
            dh: z(n * d),
            d_o: z(n * d),
            dn: z(n * d),
            dq: z(n * d),
            dk: z(n * d),
            dv: z(n * d),
            dm: z(n * f),
            du: z(n * f),
            dw: z(n * f),
            dp: z(shape.seq * shape.seq),
        }
    }
}

/// RMSNorm of each `d`-wide row of `x`: inv = 1 / sqrt(mean(x²) + eps), xhat = x · inv,
/// out = xhat · g (LLaMA's `RMSNorm`).
pub fn rmsnorm<T: Real>(x: &[T], g: &[T], inv: &mut [T], xhat: &mut [T], out: &mut [T]) {
    let d = g.len();
    let eps = T::from_f64(RMS_EPS);
    let inv_d = T::from_f64(1.0 / d as f64);
    for (row, iv) in inv.iter_mut().enumerate() {
        let xs = &x[row * d..(row + 1) * d];
        let mut sum = T::ZERO;
        for &e in xs {
            sum += e * e;
        }
        *iv = T::ONE / (sum * inv_d + eps).sqrt();
        let (xh, o) = (&mut xhat[row * d..(row + 1) * d], &mut out[row * d..(row + 1) * d]);
        for j in 0..d {
            xh[j] = xs[j] * *iv;
            o[j] = xh[j] * g[j];
        }
    }
}

/// The [S, S] probability matrix of sequence `b`, head `head` inside the [B, H, S, S] buffer.
pub fn probs_view(shape: &BlockShape, b: usize, head: usize) -> Mat {
    let s = shape.seq;
    Mat { offset: (b * shape.heads + head) * s * s, rows: s, cols: s, rs: s, cs: 1 }
}

/// The [S, d/H] slice of sequence `b`, head `head` inside an [N, d] tensor.
pub fn head_view(shape: &BlockShape, b: usize, head: usize) -> Mat {
    let dh = shape.head_dim();
    Mat::dense(shape.tokens(), shape.d_model).sub(b * shape.seq, head * dh, shape.seq, dh)
}

/// Turns the raw scores of row i (q_i · k_j for every j) into causal softmax probabilities:
/// entries j > i become 0; the rest softmax(scale · score), max-subtracted.
pub fn causal_softmax_row<T: Real>(row: &mut [T], i: usize, scale: T) {
    let (kept, masked) = row.split_at_mut(i + 1);
    masked.fill(T::ZERO);
    let mut max = kept[0] * scale;
    for &e in kept.iter() {
        max = max.max(e * scale);
    }
    let mut sum = T::ZERO;
    for e in kept.iter_mut() {
        *e = (*e * scale - max).exp();
        sum += *e;
    }
    let inv = T::ONE / sum;
    for e in kept.iter_mut() {
        *e *= inv;
    }
}

/// The forward pass: fills `ws` and returns the loss 0.5 / N · Σ (y - T)² (summed in f64).
pub fn forward<T: Real>(shape: &BlockShape, p: &Params<T>, batch: &BlockBatch<T>, ws: &mut Workspace<T>) -> f64 {
    let (n, d, f) = (shape.tokens(), shape.d_model, shape.d_ff);
    let nd = Mat::dense(n, d);
    let (dd, df) = (Mat::dense(d, d), Mat::dense(d, f));
    rmsnorm(&batch.x, &p[Tensor::Norm1], &mut ws.inv1, &mut ws.xhat1, &mut ws.n1);
    gemm(&ws.n1, nd, &p[Tensor::Wq], dd, &mut ws.q, nd, false);
    gemm(&ws.n1, nd, &p[Tensor::Wk], dd, &mut ws.k, nd, false);
    gemm(&ws.n1, nd, &p[Tensor::Wv], dd, &mut ws.v, nd, false);
    let scale = T::from_f64(1.0 / (shape.head_dim() as f64).sqrt());
    for b in 0..shape.batch {
        for head in 0..shape.heads {
            let (hv, pv) = (head_view(shape, b, head), probs_view(shape, b, head));
            // Scores q k^T for the whole square (the masked half is then zeroed).
            gemm(&ws.q, hv, &ws.k, hv.t(), &mut ws.p, pv, false);
            for i in 0..shape.seq {
                let start = pv.offset + i * shape.seq;
                causal_softmax_row(&mut ws.p[start..start + shape.seq], i, scale);
            }
            gemm(&ws.p, pv, &ws.v, hv, &mut ws.o, hv, false);
        }
    }
    ws.h.copy_from_slice(&batch.x);
    gemm(&ws.o, nd, &p[Tensor::Wo], dd, &mut ws.h, nd, true);
    rmsnorm(&ws.h, &p[Tensor::Norm2], &mut ws.inv2, &mut ws.xhat2, &mut ws.n2);
    gemm(&ws.n2, nd, &p[Tensor::WGate], df, &mut ws.u, Mat::dense(n, f), false);
    gemm(&ws.n2, nd, &p[Tensor::WUp], df, &mut ws.w, Mat::dense(n, f), false);
    for ((m, &u), &w) in ws.m.iter_mut().zip(&ws.u).zip(&ws.w) {
        *m = silu(u) * w;
    }
    ws.y.copy_from_slice(&ws.h);
    gemm(&ws.m, Mat::dense(n, f), &p[Tensor::WDown], Mat::dense(f, d), &mut ws.y, nd, true);
    let mut loss = 0.0f64;
    for (&y, &t) in ws.y.iter().zip(&batch.target) {
        let r = (y - t).to_f64();
        loss += r * r;
    }
    0.5 * loss / n as f64
}

#[cfg(test)]
mod tests {
    use super::super::initial;
    use super::*;

    #[test]
    fn rmsnorm_rows_have_unit_mean_square_before_the_gain() {
        let x = [3.0f64, 4.0, 0.0, 0.0, 1.0, -1.0];
        let g = [2.0f64, 1.0, 0.5];
        let (mut inv, mut xhat, mut out) = ([0.0; 2], [0.0; 6], [0.0; 6]);
        rmsnorm(&x, &g, &mut inv, &mut xhat, &mut out);
        for row in 0..2 {
            let ms: f64 = xhat[row * 3..row * 3 + 3].iter().map(|v| v * v).sum::<f64>() / 3.0;
            assert!((ms - 1.0).abs() < 1e-5, "row {row}: {ms}");
        }
        assert!((inv[0] - 1.0 / (25.0f64 / 3.0 + 1e-6).sqrt()).abs() < 1e-15);
        assert!((out[0] - 2.0 * xhat[0]).abs() < 1e-15 && (out[2] - 0.5 * xhat[2]).abs() < 1e-15);
    }

    #[test]
    fn causal_softmax_rows_sum_to_one_and_hide_the_future() {
        let mut row = [1.0f64, 2.0, 3.0, 100.0];
        causal_softmax_row(&mut row, 2, 0.5);
        assert_eq!(row[3], 0.0, "a future score must not leak");
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        let z = (0.5f64).exp() + 1.0f64.exp() + 1.5f64.exp();
        assert!((row[2] - 1.5f64.exp() / z).abs() < 1e-15);
        let mut first = [5.0f64, -7.0];
        causal_softmax_row(&mut first, 0, 1.0);
        assert_eq!(first, [1.0, 0.0]);
    }

    #[test]
    fn attention_is_causal_a_later_token_never_changes_an_earlier_output() {
        let shape = BlockShape::new(2, 6, 64, 4, 128);
        let (p, batch) = initial(&shape, 3);
        let p = p.convert::<f64>();
        let mut batch = BlockBatch { x: widen(&batch.x), target: widen(&batch.target) };
        let mut ws = Workspace::new(&shape);
        forward(&shape, &p, &batch, &mut ws);
        let before = ws.y.clone();
        // Change token 4 of sequence 0: tokens 0..4 of sequence 0 and all of sequence 1 keep
        // their outputs; tokens 4 and 5 of sequence 0 change.
        let d = shape.d_model;
        batch.x[4 * d..5 * d].iter_mut().for_each(|x| *x += 0.5);
        forward(&shape, &p, &batch, &mut ws);
        assert_eq!(ws.y[..4 * d], before[..4 * d]);
        assert_eq!(ws.y[6 * d..], before[6 * d..]);
        assert_ne!(ws.y[5 * d..6 * d], before[5 * d..6 * d], "a later token attends to the changed one");
    }

    #[test]
    fn f32_forward_agrees_with_f64() {
        let shape = BlockShape::new(2, 16, 128, 4, 192);
        let (p, batch) = initial(&shape, 9);
        let mut ws = Workspace::new(&shape);
        let loss32 = forward(&shape, &p, &batch, &mut ws);
        let p64 = p.convert::<f64>();
        let batch64 = BlockBatch { x: widen(&batch.x), target: widen(&batch.target) };
        let mut ws64 = Workspace::new(&shape);
        let loss64 = forward(&shape, &p64, &batch64, &mut ws64);
        assert!((loss32 - loss64).abs() < 1e-5 * loss64, "{loss32} vs {loss64}");
        let worst = ws.y.iter().zip(&ws64.y).map(|(&a, &b)| (f64::from(a) - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-4, "{worst}");
    }

    fn widen(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| f64::from(v)).collect()
    }
}
