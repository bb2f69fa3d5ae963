//! The CUDA C source of the MLP step's and the outer step's kernels (NVRTC compiles it at run
//! time), kept apart from the Rust that launches them.

/// The elementwise, top-k and quantisation kernels, compiled at run time by NVRTC.
pub(crate) const KERNELS: &str = r#"
typedef unsigned long long u64;

__device__ float silu_f(float a) { return a / (1.0f + expf(-a)); }
__device__ float silu_grad_f(float a) {
    float s = 1.0f / (1.0f + expf(-a));
    return s * (1.0f + a * (1.0f - s));
}

extern "C" __global__ void silu_forward(const float* a, float* h, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        h[i] = silu_f(a[i]);
    }
}

// y <- (y - t) * inv_n; partial[block] = sum of (y - t)^2 over the block's grid-stride share.
extern "C" __global__ void loss_grad(float* y, const float* t, double* partial, float inv_n, u64 n) {
    __shared__ double acc[256];
    double local = 0.0;
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        float r = y[i] - t[i];
        local += (double)r * (double)r;
        y[i] = r * inv_n;
    }
    acc[threadIdx.x] = local;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) acc[threadIdx.x] += acc[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = acc[0];
}

extern "C" __global__ void silu_backward(float* dh, const float* a, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        dh[i] = dh[i] * silu_grad_f(a[i]);
    }
}

extern "C" __global__ void adamw(float* p, const float* g, float* m, float* v, float b1, float b2, float eps,
                                 float step_size, float sqrt_bias2, float decay, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        float gi = g[i];
        float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(1.0f - b1, gi));
        float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(1.0f - b2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        float denom = __fadd_rn(__fdiv_rn(sqrtf(vi), sqrt_bias2), eps);
        p[i] = __fsub_rn(__fmul_rn(p[i], decay), __fmul_rn(step_size, __fdiv_rn(mi, denom)));
    }
}

extern "C" __global__ void error_feedback(const float* theta, const float* theta0, float* e, float beta, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        e[i] = __fadd_rn(__fmul_rn(beta, e[i]), __fsub_rn(theta0[i], theta[i]));
    }
}

__device__ u64 chunk_element(int cols, u64 chunk, int local) {
    u64 tiles_per_row = (u64)(cols / 64);
    u64 tile_row = chunk / tiles_per_row, tile_col = chunk % tiles_per_row;
    u64 i = (u64)(local / 64), j = (u64)(local % 64);
    return (tile_row * 64 + i) * (u64)cols + tile_col * 64 + j;
}

// One block of 256 threads per 64x64 chunk: exact top-k by |e| with ties to the lower index.
// Radix select finds the k-th largest magnitude key T; entries above T are kept, and among
// entries equal to T the lowest indices fill the rest. Output in ascending index order.
extern "C" __global__ void topk_chunks(const float* e, unsigned short* idx, float* vals, double* chunk_sum,
                                       int cols, int k) {
    __shared__ unsigned int keys[4096];
    __shared__ int seg_a[256];
    __shared__ int seg_b[256];
    __shared__ int counter;
    __shared__ unsigned int threshold;
    const u64 chunk = blockIdx.x;
    const int t = threadIdx.x;
    const int base = t * 16;
    for (int l = base; l < base + 16; ++l) {
        keys[l] = __float_as_uint(fabsf(e[chunk_element(cols, chunk, l)]));
    }
    if (t == 0) threshold = 0u;
    __syncthreads();
    for (int bit = 31; bit >= 0; --bit) {
        unsigned int cand = threshold | (1u << bit);
        if (t == 0) counter = 0;
        __syncthreads();
        int local = 0;
        for (int l = base; l < base + 16; ++l) local += keys[l] >= cand ? 1 : 0;
        atomicAdd(&counter, local);
        __syncthreads();
        if (t == 0 && counter >= k) threshold = cand;
        __syncthreads();
    }
    const unsigned int th = threshold;
    int greater = 0, ties = 0;
    for (int l = base; l < base + 16; ++l) {
        greater += keys[l] > th ? 1 : 0;
        ties += keys[l] == th ? 1 : 0;
    }
    seg_a[t] = greater;
    seg_b[t] = ties;
    __syncthreads();
    if (t == 0) {
        int total_greater = 0;
        for (int s = 0; s < 256; ++s) total_greater += seg_a[s];
        int run = 0;
        for (int s = 0; s < 256; ++s) { int c = seg_b[s]; seg_b[s] = run; run += c; }
        counter = k - total_greater;  // ties still to keep, lowest indices first
    }
    __syncthreads();
    const int need_ties = counter;
    int tie_rank = seg_b[t];
    int kept = 0;
    unsigned int keep_mask = 0u;
    for (int l = base; l < base + 16; ++l) {
        bool keep = keys[l] > th;
        if (keys[l] == th) { keep = tie_rank < need_ties; tie_rank += 1; }
        if (keep) { keep_mask |= 1u << (l - base); kept += 1; }
    }
    __syncthreads();
    seg_a[t] = kept;
    __syncthreads();
    if (t == 0) {
        int run = 0;
        for (int s = 0; s < 256; ++s) { int c = seg_a[s]; seg_a[s] = run; run += c; }
    }
    __syncthreads();
    int pos = seg_a[t];
    for (int l = base; l < base + 16; ++l) {
        if (keep_mask & (1u << (l - base))) {
            u64 out = chunk * (u64)k + (u64)pos;
            idx[out] = (unsigned short)l;
            vals[out] = e[chunk_element(cols, chunk, l)];
            pos += 1;
        }
    }
    __syncthreads();
    if (t == 0) {
        double s = 0.0;
        for (int j = 0; j < k; ++j) s += (double)vals[chunk * (u64)k + j];
        chunk_sum[chunk] = s;
    }
}

// out[0] = sum of x[0..n] in a fixed order: 256 strided partial sums, then a fixed tree.
extern "C" __global__ void reduce_sum(const double* x, double* out, u64 n) {
    __shared__ double acc[256];
    double local = 0.0;
    for (u64 i = threadIdx.x; i < n; i += blockDim.x) local += x[i];
    acc[threadIdx.x] = local;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) acc[threadIdx.x] += acc[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[0] = acc[0];
}

// stats[0] = sum of kept values -> shift (as f32) stored in params[0].
extern "C" __global__ void finish_shift(const double* sum, float* params, u64 count) {
    params[0] = (float)(sum[0] / (double)count);
}

// Per chunk: sum of (v - shift)^2 in f64, serially over the chunk's k values.
extern "C" __global__ void chunk_squares(const float* vals, const float* params, double* out, int k, u64 chunks) {
    for (u64 c = blockIdx.x * (u64)blockDim.x + threadIdx.x; c < chunks; c += (u64)gridDim.x * blockDim.x) {
        float shift = params[0];
        double s = 0.0;
        for (int j = 0; j < k; ++j) {
            double d = (double)(vals[c * (u64)k + j] - shift);
            s += d * d;
        }
        out[c] = s;
    }
}

// params[1] = scale = range * std / bins (1 when zero or not finite).
extern "C" __global__ void finish_scale(const double* sum_squares, float* params, u64 count, float range, int bins) {
    double std = count > 1 ? sqrt(sum_squares[0] / (double)(count - 1)) : 0.0;
    float scale = (float)((double)range * std / (double)bins);
    if (!(scale > 0.0f) || !(scale <= 3.4028234663852886e38f)) scale = 1.0f;  // zero, NaN or infinite
    params[1] = scale;
}

// Codes of every kept value; per chunk and bin, the f64 sum of centred values and the count.
extern "C" __global__ void quantise(const float* vals, const float* params, unsigned char* codes, double* bin_sums,
                                    double* bin_counts, int k, int bins, u64 chunks) {
    for (u64 c = blockIdx.x * (u64)blockDim.x + threadIdx.x; c < chunks; c += (u64)gridDim.x * blockDim.x) {
        float shift = params[0], scale = params[1];
        float offset = (float)(bins / 2);
        for (int b = 0; b < bins; ++b) { bin_sums[c * bins + b] = 0.0; bin_counts[c * bins + b] = 0.0; }
        for (int j = 0; j < k; ++j) {
            float centred = vals[c * (u64)k + j] - shift;
            float q = rintf(__fadd_rn(__fdiv_rn(centred, scale), offset));
            q = fminf(fmaxf(q, 0.0f), (float)(bins - 1));
            int b = (int)q;
            codes[c * (u64)k + j] = (unsigned char)b;
            bin_sums[c * bins + b] += (double)centred;
            bin_counts[c * bins + b] += 1.0;
        }
    }
}

// lookup[b] = (sum over chunks of bin sums) / (sum of counts), chunks in order; 0 when empty.
extern "C" __global__ void finish_lookup(const double* bin_sums, const double* bin_counts, float* lookup, int bins,
                                         u64 chunks) {
    int b = threadIdx.x;
    if (b >= bins) return;
    double s = 0.0, n = 0.0;
    for (u64 c = 0; c < chunks; ++c) { s += bin_sums[c * bins + b]; n += bin_counts[c * bins + b]; }
    lookup[b] = n > 0.0 ? (float)(s / n) : 0.0f;
}

// For each kept entry: d = lookup[q] + shift; e -= d; theta0 -= lr * d (theta = theta0 after).
extern "C" __global__ void decode_apply(const unsigned short* idx, const unsigned char* codes, const float* lookup,
                                        const float* params, float* theta0, float* e, float lr, int cols, int k,
                                        u64 kept) {
    for (u64 n = blockIdx.x * (u64)blockDim.x + threadIdx.x; n < kept; n += (u64)gridDim.x * blockDim.x) {
        u64 chunk = n / (u64)k;
        u64 p = chunk_element(cols, chunk, (int)idx[n]);
        float d = __fadd_rn(lookup[codes[n]], params[0]);
        e[p] = __fsub_rn(e[p], d);
        theta0[p] = __fsub_rn(theta0[p], __fmul_rn(lr, d));
    }
}
"#;
