//! The CUDA C source of the decoder block's kernels (NVRTC compiles it at run time).
//!
//! bf16 values are stored as `unsigned short` and converted by hand (round to nearest even,
//! as `__float2bfloat16_rn`), so no CUDA header is needed. Reductions over a row use one
//! block of 256 threads and a fixed tree, so results are the same bits on every run.

/// The kernels: norms, casts, causal softmax and its gradient, SwiGLU and its gradient, the
/// loss gradient, and the dense outer step of the gains.
pub(crate) const BLOCK_KERNELS: &str = r#"
typedef unsigned long long u64;
typedef unsigned short bf16_t;

__device__ bf16_t to_bf16(float x) {
    unsigned int u = __float_as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)0x7fc0;  // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}

__device__ float silu_f(float a) { return a / (1.0f + expf(-a)); }
__device__ float silu_grad_f(float a) {
    float s = 1.0f / (1.0f + expf(-a));
    return s * (1.0f + a * (1.0f - s));
}

// Sum (or max) of v over the block's 256 threads by a fixed tree; every thread gets it.
__device__ float block_sum(float v, float* sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}
__device__ float block_max(float v, float* sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

extern "C" __global__ void cast_bf16(const float* x, bf16_t* y, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        y[i] = to_bf16(x[i]);
    }
}

// One block per row: inv = 1/sqrt(mean(x^2) + eps), xhat = x inv, out = xhat g (and in bf16).
extern "C" __global__ void rmsnorm_fwd(const float* x, const float* g, float* inv, float* xhat, float* out,
                                       bf16_t* out_b, int d, float eps) {
    __shared__ float sh[256];
    const u64 row = blockIdx.x;
    const float* xr = x + row * (u64)d;
    float local = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) local += xr[j] * xr[j];
    float total = block_sum(local, sh);
    float iv = 1.0f / sqrtf(total / (float)d + eps);
    if (threadIdx.x == 0) inv[row] = iv;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float xh = xr[j] * iv;
        float o = xh * g[j];
        xhat[row * (u64)d + j] = xh;
        out[row * (u64)d + j] = o;
        out_b[row * (u64)d + j] = to_bf16(o);
    }
}

// One block per row: dx += inv (dout g - xhat mean(dout g xhat)).
extern "C" __global__ void rmsnorm_bwd_rows(const float* dout, const float* xhat, const float* inv, const float* g,
                                            float* dx, int d) {
    __shared__ float sh[256];
    const u64 row = blockIdx.x;
    const u64 base = row * (u64)d;
    float local = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) local += dout[base + j] * g[j] * xhat[base + j];
    float mean = block_sum(local, sh) / (float)d;
    float iv = inv[row];
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        dx[base + j] += iv * (dout[base + j] * g[j] - xhat[base + j] * mean);
    }
}

// One thread per column: dg[j] = sum over rows of dout xhat, rows in order.
extern "C" __global__ void rmsnorm_bwd_gain(const float* dout, const float* xhat, float* dg, u64 rows, int d) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    float s = 0.0f;
    for (u64 r = 0; r < rows; ++r) s += dout[r * (u64)d + j] * xhat[r * (u64)d + j];
    dg[j] = s;
}

// One block per row of the [rows, S] scores (rows = H S per sequence, any number of
// sequences): row i of its S x S square keeps j <= i; p = softmax(scale s), in place and bf16.
extern "C" __global__ void causal_softmax(float* p, bf16_t* p_b, int seq, float scale) {
    __shared__ float sh[256];
    const u64 row = blockIdx.x;
    const int i = (int)(row % (u64)seq);
    float* r = p + row * (u64)seq;
    float mx = -3.402823466e38f;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) mx = fmaxf(mx, r[j] * scale);
    mx = block_max(mx, sh);
    float local = 0.0f;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) local += expf(r[j] * scale - mx);
    float inv = 1.0f / block_sum(local, sh);
    for (int j = threadIdx.x; j < seq; j += blockDim.x) {
        float v = j <= i ? expf(r[j] * scale - mx) * inv : 0.0f;
        r[j] = v;
        p_b[row * (u64)seq + j] = to_bf16(v);
    }
}

// One block per row: ds = scale p (dp - sum(p dp)), in bf16.
extern "C" __global__ void softmax_bwd(const float* p, const float* dp, bf16_t* ds_b, int seq, float scale) {
    __shared__ float sh[256];
    const u64 base = blockIdx.x * (u64)seq;
    float local = 0.0f;
    for (int j = threadIdx.x; j < seq; j += blockDim.x) local += p[base + j] * dp[base + j];
    float row_sum = block_sum(local, sh);
    for (int j = threadIdx.x; j < seq; j += blockDim.x) {
        ds_b[base + j] = to_bf16(scale * p[base + j] * (dp[base + j] - row_sum));
    }
}

extern "C" __global__ void swiglu_fwd(const float* u, const float* w, bf16_t* m_b, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        m_b[i] = to_bf16(silu_f(u[i]) * w[i]);
    }
}

extern "C" __global__ void swiglu_bwd(const float* dm, const float* u, const float* w, bf16_t* du_b, bf16_t* dw_b,
                                      u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        du_b[i] = to_bf16(dm[i] * w[i] * silu_grad_f(u[i]));
        dw_b[i] = to_bf16(dm[i] * silu_f(u[i]));
    }
}

// y <- (y - t) inv_n (and in bf16); partial[block] = sum of (y - t)^2 over its share, in f64.
extern "C" __global__ void block_loss_grad(float* y, const float* t, double* partial, bf16_t* dy_b, float inv_n,
                                           u64 n) {
    __shared__ double acc[256];
    double local = 0.0;
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        float r = y[i] - t[i];
        local += (double)r * (double)r;
        y[i] = r * inv_n;
        dy_b[i] = to_bf16(r * inv_n);
    }
    acc[threadIdx.x] = local;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) acc[threadIdx.x] += acc[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = acc[0];
}

// The gains' dense outer step: theta0 -= lr (theta0 - theta); theta = theta0.
extern "C" __global__ void gain_outer(float* theta, float* theta0, float lr, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        float t0 = theta0[i] - lr * (theta0[i] - theta[i]);
        theta0[i] = t0;
        theta[i] = t0;
    }
}
"#;

/// Every kernel the block loads (for the NVRTC test and the loader).
pub(crate) const BLOCK_KERNEL_NAMES: [&str; 10] = [
    "cast_bf16",
    "rmsnorm_fwd",
    "rmsnorm_bwd_rows",
    "rmsnorm_bwd_gain",
    "causal_softmax",
    "softmax_bwd",
    "swiglu_fwd",
    "swiglu_bwd",
    "block_loss_grad",
    "gain_outer",
];
