//! A straightforward f64 reference of the step and the outer step: plain loops, no GEMM crate,
//! no SIMD, the formulas of [`crate::step`] and [`crate::sparseloco`] written out once more.
//!
//! Tests hold the CPU back end to it (and through the differential test, the CUDA back end).
//! It is slow on purpose: clarity over speed.

use crate::sparseloco::{CHUNK_ELEMENTS, CompressionConfig, chunk_count, element_index};
use crate::step::{AdamW, Batch, StepShape, TrainState};

/// Two f64 weight tensors, W1 [d, f] and W2 [f, d].
#[derive(Clone, Debug, PartialEq)]
pub struct Weights64 {
    /// Up projection.
    pub w1: Vec<f64>,
    /// Down projection.
    pub w2: Vec<f64>,
}

/// The reference state in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Parameters θ.
    pub params: Weights64,
    /// First moments.
    pub m: Weights64,
    /// Second moments.
    pub v: Weights64,
    /// Updates taken.
    pub updates: u32,
    /// θ0.
    pub round_start: Weights64,
    /// Error feedback e.
    pub error: Weights64,
}

fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

impl State {
    /// The f64 copy of an f32 state.
    pub fn from_f32(s: &TrainState) -> Self {
        let w = |t: &crate::step::Weights| Weights64 { w1: widen(&t.w1), w2: widen(&t.w2) };
        Self {
            params: w(&s.params),
            m: w(&s.m),
            v: w(&s.v),
            updates: s.updates,
            round_start: w(&s.round_start),
            error: w(&s.error),
        }
    }
}

/// What one reference inner step computed.
#[derive(Clone, Debug)]
pub struct StepResult {
    /// The loss of the forward pass.
    pub loss: f64,
    /// dW1 [d, f].
    pub grad_w1: Vec<f64>,
    /// dW2 [f, d].
    pub grad_w2: Vec<f64>,
    /// dX [N, d].
    pub grad_x: Vec<f64>,
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// One inner step in f64 (forward, backward, AdamW), updating `s`.
pub fn inner_step(shape: &StepShape, h: &AdamW, s: &mut State, batch: &Batch) -> StepResult {
    let (n, d, f) = (shape.tokens, shape.d_model, shape.d_ff);
    let x = widen(&batch.x);
    let t = widen(&batch.target);
    let (w1, w2) = (&s.params.w1, &s.params.w2);
    let mut a = vec![0.0; n * f];
    let mut hid = vec![0.0; n * f];
    for i in 0..n {
        for j in 0..f {
            let mut acc = 0.0;
            for l in 0..d {
                acc += x[i * d + l] * w1[l * f + j];
            }
            a[i * f + j] = acc;
            hid[i * f + j] = acc * sigmoid(acc);
        }
    }
    let mut dy = vec![0.0; n * d];
    let mut loss = 0.0;
    for i in 0..n {
        for j in 0..d {
            let mut acc = 0.0;
            for l in 0..f {
                acc += hid[i * f + l] * w2[l * d + j];
            }
            let r = acc - t[i * d + j];
            loss += r * r;
            dy[i * d + j] = r / n as f64;
        }
    }
    loss *= 0.5 / n as f64;
    let mut g2 = vec![0.0; f * d];
    for i in 0..f {
        for j in 0..d {
            let mut acc = 0.0;
            for l in 0..n {
                acc += hid[l * f + i] * dy[l * d + j];
            }
            g2[i * d + j] = acc;
        }
    }
    let mut da = vec![0.0; n * f];
    for i in 0..n {
        for j in 0..f {
            let mut acc = 0.0;
            for l in 0..d {
                acc += dy[i * d + l] * w2[j * d + l];
            }
            let av = a[i * f + j];
            let sg = sigmoid(av);
            da[i * f + j] = acc * sg * (1.0 + av * (1.0 - sg));
        }
    }
    let mut g1 = vec![0.0; d * f];
    for i in 0..d {
        for j in 0..f {
            let mut acc = 0.0;
            for l in 0..n {
                acc += x[l * d + i] * da[l * f + j];
            }
            g1[i * f + j] = acc;
        }
    }
    let mut gx = vec![0.0; n * d];
    for i in 0..n {
        for j in 0..d {
            let mut acc = 0.0;
            for l in 0..f {
                acc += da[i * f + l] * w1[j * f + l];
            }
            gx[i * d + j] = acc;
        }
    }
    s.updates += 1;
    let tt = i32::try_from(s.updates).unwrap_or(i32::MAX);
    let (b1, b2) = (f64::from(h.beta1), f64::from(h.beta2));
    let (lr, eps, wd) = (f64::from(h.lr), f64::from(h.eps), f64::from(h.weight_decay));
    let bias1 = 1.0 - b1.powi(tt);
    let bias2 = 1.0 - b2.powi(tt);
    for (p, g, m, v) in
        [(&mut s.params.w1, &g1, &mut s.m.w1, &mut s.v.w1), (&mut s.params.w2, &g2, &mut s.m.w2, &mut s.v.w2)]
    {
        for i in 0..p.len() {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let denom = (v[i] / bias2).sqrt() + eps;
            p[i] = p[i] * (1.0 - lr * wd) - lr * (m[i] / bias1) / denom;
        }
    }
    StepResult { loss, grad_w1: g1, grad_w2: g2, grad_x: gx }
}

/// What the reference outer step kept for one tensor.
#[derive(Clone, Debug)]
pub struct Kept {
    /// Chunk-local indices, `top_k` per chunk, ascending.
    pub indices: Vec<u16>,
    /// The quantiser's bin width.
    pub scale: f64,
}

/// One SparseLoCo outer step in f64 (see [`crate::sparseloco`]), updating `s`.
pub fn outer_step(shape: &StepShape, cfg: &CompressionConfig, s: &mut State) -> Vec<Kept> {
    let (d, f) = (shape.d_model, shape.d_ff);
    let beta = f64::from(cfg.error_decay);
    let mut out = Vec::new();
    for (theta, theta0, error, rows, cols) in [
        (&mut s.params.w1, &mut s.round_start.w1, &mut s.error.w1, d, f),
        (&mut s.params.w2, &mut s.round_start.w2, &mut s.error.w2, f, d),
    ] {
        for i in 0..error.len() {
            error[i] = beta * error[i] + (theta0[i] - theta[i]);
        }
        let chunks = chunk_count(rows, cols);
        let mut indices: Vec<u16> = Vec::new();
        let mut positions = Vec::new();
        for c in 0..chunks {
            // Sort the whole chunk by (|e| descending, index ascending): the plainest top-k.
            let mut order: Vec<usize> = (0..CHUNK_ELEMENTS).collect();
            order.sort_by(|&p, &q| {
                let (ep, eq) = (error[element_index(cols, c, p)].abs(), error[element_index(cols, c, q)].abs());
                eq.total_cmp(&ep).then(p.cmp(&q))
            });
            let mut kept: Vec<usize> = order[..cfg.top_k].to_vec();
            kept.sort_unstable();
            for local in kept {
                indices.push(local as u16);
                positions.push(element_index(cols, c, local));
            }
        }
        let values: Vec<f64> = positions.iter().map(|&p| error[p]).collect();
        let n = values.len() as f64;
        let shift = values.iter().sum::<f64>() / n;
        let centred: Vec<f64> = values.iter().map(|v| v - shift).collect();
        let std = (centred.iter().map(|c| c * c).sum::<f64>() / (n - 1.0)).sqrt();
        let mut scale = f64::from(cfg.range_sigmas) * std / cfg.bins as f64;
        if !(scale > 0.0 && scale.is_finite()) {
            scale = 1.0;
        }
        let offset = (cfg.bins / 2) as f64;
        let codes: Vec<usize> = centred
            .iter()
            .map(|c| (c / scale + offset).round_ties_even().clamp(0.0, (cfg.bins - 1) as f64) as usize)
            .collect();
        let mut sums = vec![0.0; cfg.bins];
        let mut counts = vec![0.0; cfg.bins];
        for (c, &q) in centred.iter().zip(&codes) {
            sums[q] += c;
            counts[q] += 1.0;
        }
        let lookup: Vec<f64> = sums.iter().zip(&counts).map(|(s, &c)| if c > 0.0 { s / c } else { 0.0 }).collect();
        let mut decoded = vec![0.0; error.len()];
        for (&p, &q) in positions.iter().zip(&codes) {
            decoded[p] = lookup[q] + shift;
        }
        let lr = f64::from(cfg.outer_lr);
        for (i, d) in decoded.iter().enumerate() {
            error[i] -= d;
            theta0[i] -= lr * d;
        }
        theta.copy_from_slice(theta0);
        out.push(Kept { indices, scale });
    }
    out
}
