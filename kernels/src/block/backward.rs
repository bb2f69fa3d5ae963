//! The block's backward pass, written by hand: each rule next to the formula it follows.
//! [`super::gradcheck`] proves it against finite differences in f64.

use super::forward::{Workspace, head_view, probs_view};
use super::{BlockBatch, BlockShape, Mat, Params, Real, Tensor, gemm, silu, silu_grad};

/// A deliberate bug in the backward pass, so that tests can show the gradient check catches
/// each kind of mistake a hand-written backward pass tends to have. [`backward`] uses `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The correct backward pass.
    None,
    /// Softmax's Jacobian without the row-sum term: dS = P ⊙ dP instead of P ⊙ (dP - Σ P dP).
    SoftmaxRowSum,
    /// The 1 / sqrt(d/H) score scale forgotten in the gradients of q and k.
    AttentionScale,
    /// RMSNorm's gradient without the term through the row's mean square.
    RmsMeanTerm,
    /// SwiGLU's gate gradient without silu'(u).
    SwigluGate,
    /// The MLP residual's gradient (y = h + ...) dropped.
    Residual,
}

/// Gradient of RMSNorm (out = xhat · g, xhat = x · inv, inv = (mean(x²) + eps)^-1/2) for each
/// row: dg += Σ_rows dout · xhat; dx (+)= inv · (dxhat - xhat · mean(dxhat · xhat)) with
/// dxhat = dout · g. Adds into `dx` (the residual's gradient is already there).
fn rmsnorm_backward<T: Real>(dout: &[T], xhat: &[T], inv: &[T], g: &[T], dg: &mut [T], dx: &mut [T], fault: Fault) {
    let d = g.len();
    let inv_d = T::from_f64(1.0 / d as f64);
    for (row, &iv) in inv.iter().enumerate() {
        let r = row * d..(row + 1) * d;
        let (dout, xhat, dx) = (&dout[r.clone()], &xhat[r.clone()], &mut dx[r]);
        let mut dot = T::ZERO;
        for j in 0..d {
            dg[j] += dout[j] * xhat[j];
            dot += dout[j] * g[j] * xhat[j];
        }
        let mean = if fault == Fault::RmsMeanTerm { T::ZERO } else { dot * inv_d };
        for j in 0..d {
            dx[j] += iv * (dout[j] * g[j] - xhat[j] * mean);
        }
    }
}

/// The backward pass after [`super::forward::forward`] on the same `ws`: writes every
/// parameter's gradient into `grads` and the input's gradient into `dx`.
pub fn backward<T: Real>(
    shape: &BlockShape,
    p: &Params<T>,
    batch: &BlockBatch<T>,
    ws: &mut Workspace<T>,
    grads: &mut Params<T>,
    dx: &mut [T],
) {
    backward_with(shape, p, batch, ws, grads, dx, Fault::None);
}

/// [`backward`] with a deliberate [`Fault`] (tests only use anything but `Fault::None`).
pub fn backward_with<T: Real>(
    shape: &BlockShape,
    p: &Params<T>,
    batch: &BlockBatch<T>,
    ws: &mut Workspace<T>,
    grads: &mut Params<T>,
    dx: &mut [T],
    fault: Fault,
) {
    let (n, d, f) = (shape.tokens(), shape.d_model, shape.d_ff);
    let (nd, nf, dd, df, fd) =
        (Mat::dense(n, d), Mat::dense(n, f), Mat::dense(d, d), Mat::dense(d, f), Mat::dense(f, d));
    // loss = 0.5 / N Σ (y - T)²  =>  dy = (y - T) / N.
    let inv_n = T::from_f64(1.0 / n as f64);
    for ((dy, &y), &t) in ws.dy.iter_mut().zip(&ws.y).zip(&batch.target) {
        *dy = (y - t) * inv_n;
    }
    // y = h + m Wdown  =>  dWdown = m^T dy, dm = dy Wdown^T, dh = dy (+ the norm's path).
    gemm(&ws.m, nf.t(), &ws.dy, nd, &mut grads[Tensor::WDown], fd, false);
    gemm(&ws.dy, nd, &p[Tensor::WDown], fd.t(), &mut ws.dm, nf, false);
    // m = silu(u) w  =>  du = dm w silu'(u), dw = dm silu(u).
    for i in 0..n * f {
        let (u, dm) = (ws.u[i], ws.dm[i]);
        let gate = if fault == Fault::SwigluGate { T::ONE } else { silu_grad(u) };
        ws.du[i] = dm * ws.w[i] * gate;
        ws.dw[i] = dm * silu(u);
    }
    // u = n2 Wgate, w = n2 Wup  =>  dWgate = n2^T du, dWup = n2^T dw, dn2 = du Wgate^T + dw Wup^T.
    gemm(&ws.n2, nd.t(), &ws.du, nf, &mut grads[Tensor::WGate], df, false);
    gemm(&ws.n2, nd.t(), &ws.dw, nf, &mut grads[Tensor::WUp], df, false);
    gemm(&ws.du, nf, &p[Tensor::WGate], df.t(), &mut ws.dn, nd, false);
    gemm(&ws.dw, nf, &p[Tensor::WUp], df.t(), &mut ws.dn, nd, true);
    if fault == Fault::Residual {
        ws.dh.fill(T::ZERO);
    } else {
        ws.dh.copy_from_slice(&ws.dy);
    }
    grads[Tensor::Norm2].fill(T::ZERO);
    rmsnorm_backward(&ws.dn, &ws.xhat2, &ws.inv2, &p[Tensor::Norm2], &mut grads[Tensor::Norm2], &mut ws.dh, fault);
    // h = x + o Wo  =>  dWo = o^T dh, do = dh Wo^T, dx = dh (+ the norm's path).
    gemm(&ws.o, nd.t(), &ws.dh, nd, &mut grads[Tensor::Wo], dd, false);
    gemm(&ws.dh, nd, &p[Tensor::Wo], dd.t(), &mut ws.d_o, nd, false);
    // Per sequence and head, o = P v with P = softmax(scale q k^T) (causal):
    // dP = do v^T; dS = P ⊙ (dP - rowsum(P ⊙ dP)); dq = scale dS k; dk = scale dS^T q; dv = P^T do.
    let scale = T::from_f64(1.0 / (shape.head_dim() as f64).sqrt());
    let s = shape.seq;
    let square = Mat::dense(s, s);
    for b in 0..shape.batch {
        for head in 0..shape.heads {
            let (hv, pv) = (head_view(shape, b, head), probs_view(shape, b, head));
            gemm(&ws.d_o, hv, &ws.v, hv.t(), &mut ws.dp, square, false);
            for i in 0..s {
                let probs = &ws.p[pv.offset + i * s..pv.offset + (i + 1) * s];
                let grad = &mut ws.dp[i * s..(i + 1) * s];
                let mut row_sum = T::ZERO;
                for (&pr, &g) in probs.iter().zip(grad.iter()) {
                    row_sum += pr * g;
                }
                if fault == Fault::SoftmaxRowSum {
                    row_sum = T::ZERO;
                }
                let factor = if fault == Fault::AttentionScale { T::ONE } else { scale };
                for (g, &pr) in grad.iter_mut().zip(probs) {
                    *g = pr * (*g - row_sum) * factor;
                }
            }
            gemm(&ws.dp, square, &ws.k, hv, &mut ws.dq, hv, false);
            gemm(&ws.dp, square.t(), &ws.q, hv, &mut ws.dk, hv, false);
            gemm(&ws.p, pv.t(), &ws.d_o, hv, &mut ws.dv, hv, false);
        }
    }
    // q, k, v = n1 Wq, n1 Wk, n1 Wv  =>  dW = n1^T d(q|k|v); dn1 = dq Wq^T + dk Wk^T + dv Wv^T.
    gemm(&ws.n1, nd.t(), &ws.dq, nd, &mut grads[Tensor::Wq], dd, false);
    gemm(&ws.n1, nd.t(), &ws.dk, nd, &mut grads[Tensor::Wk], dd, false);
    gemm(&ws.n1, nd.t(), &ws.dv, nd, &mut grads[Tensor::Wv], dd, false);
    gemm(&ws.dq, nd, &p[Tensor::Wq], dd.t(), &mut ws.dn, nd, false);
    gemm(&ws.dk, nd, &p[Tensor::Wk], dd.t(), &mut ws.dn, nd, true);
    gemm(&ws.dv, nd, &p[Tensor::Wv], dd.t(), &mut ws.dn, nd, true);
    dx.copy_from_slice(&ws.dh);
    grads[Tensor::Norm1].fill(T::ZERO);
    rmsnorm_backward(&ws.dn, &ws.xhat1, &ws.inv1, &p[Tensor::Norm1], &mut grads[Tensor::Norm1], dx, fault);
}
