//! Row-major bf16 GEMMs with f32 output and f32 accumulation (`cublasGemmStridedBatchedEx`,
//! `CUBLAS_COMPUTE_32F`): the tensor-core path mixed-precision training uses.
//!
//! Row-major on column-major cuBLAS as in [`crate::cuda`]: C = op(A) op(B) is computed as
//! C^T = op(B)^T op(A)^T. Every operand is a (possibly batched) strided view: element (i, j) of
//! batch item z of a stored row-major matrix at `offset + z stride + i ld + j`.

use crate::cuda::{as_i32, cuda_err};
use crate::error::{Error, Result};
use cudarc::cublas::CudaBlas;
use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cublasOperation_t, cudaDataType};
use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use half::bf16;

/// A bf16 input: the stored matrix's view and whether the GEMM reads its transpose.
#[derive(Clone, Copy)]
pub(crate) struct In<'a> {
    pub(crate) buf: &'a CudaSlice<bf16>,
    pub(crate) offset: usize,
    /// Row stride of the stored matrix.
    pub(crate) ld: usize,
    /// Distance between batch items.
    pub(crate) stride: usize,
    pub(crate) transposed: bool,
}

impl<'a> In<'a> {
    /// The stored matrix as is (row stride `ld`).
    pub(crate) fn n(buf: &'a CudaSlice<bf16>, ld: usize) -> Self {
        Self { buf, offset: 0, ld, stride: 0, transposed: false }
    }

    /// The transpose of the stored matrix (row stride `ld`).
    pub(crate) fn t(buf: &'a CudaSlice<bf16>, ld: usize) -> Self {
        Self { buf, offset: 0, ld, stride: 0, transposed: true }
    }

    /// The same view starting at `offset`, batch items `stride` apart.
    pub(crate) fn at(self, offset: usize, stride: usize) -> Self {
        Self { offset, stride, ..self }
    }
}

/// The f32 output view.
pub(crate) struct Out<'a> {
    pub(crate) buf: &'a mut CudaSlice<f32>,
    pub(crate) offset: usize,
    pub(crate) ld: usize,
    pub(crate) stride: usize,
}

impl<'a> Out<'a> {
    /// A dense output of row stride `ld`.
    pub(crate) fn new(buf: &'a mut CudaSlice<f32>, ld: usize) -> Self {
        Self { buf, offset: 0, ld, stride: 0 }
    }

    /// The same view starting at `offset`, batch items `stride` apart.
    pub(crate) fn at(self, offset: usize, stride: usize) -> Self {
        Self { offset, stride, ..self }
    }
}

/// One past the last element a view of `batch` items of stored [rows, cols] reaches.
fn reach(offset: usize, stride: usize, batch: usize, rows: usize, cols: usize, ld: usize) -> Option<usize> {
    if cols > ld {
        return None;
    }
    Some(offset + (batch - 1) * stride + (rows - 1) * ld + cols)
}

/// C[m, n] (+)= op(A)[m, k] op(B)[k, n] for `batch` items, bf16 inputs, f32 out and accumulation.
#[allow(unsafe_code)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_bf16(
    blas: &CudaBlas,
    stream: &CudaStream,
    (m, n, k): (usize, usize, usize),
    batch: usize,
    a: In<'_>,
    b: In<'_>,
    c: Out<'_>,
    accumulate: bool,
) -> Result<()> {
    if m == 0 || n == 0 || k == 0 || batch == 0 {
        return Err(Error::shape("gemm", format!("empty GEMM {m} × {k} × {n} × {batch}")));
    }
    let (a_rows, a_cols) = if a.transposed { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if b.transposed { (n, k) } else { (k, n) };
    let fits = |end: Option<usize>, len: usize| end.is_some_and(|e| e <= len);
    if !fits(reach(a.offset, a.stride, batch, a_rows, a_cols, a.ld), a.buf.len())
        || !fits(reach(b.offset, b.stride, batch, b_rows, b_cols, b.ld), b.buf.len())
        || !fits(reach(c.offset, c.stride, batch, m, n, c.ld), c.buf.len())
    {
        return Err(Error::shape("gemm", format!("a view of {m} × {k} × {n} (× {batch}) is outside its buffer")));
    }
    let op = |t: bool| if t { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
    let stride = |s: usize| i64::try_from(s).map_err(|_| Error::shape("gemm", "stride too large"));
    let (alpha, beta) = (1.0f32, if accumulate { 1.0f32 } else { 0.0f32 });
    let (a_ptr, _ra) = a.buf.device_ptr(stream);
    let (b_ptr, _rb) = b.buf.device_ptr(stream);
    let (c_ptr, _rc) = c.buf.device_ptr_mut(stream);
    let two = std::mem::size_of::<bf16>() as u64;
    let four = std::mem::size_of::<f32>() as u64;
    // SAFETY: every view was checked to lie inside its buffer above; the pointers stay valid
    // while the guards live (to the end of this function); alpha and beta are host f32 as
    // CUBLAS_COMPUTE_32F requires; the output does not overlap an input (a `&mut` borrow).
    unsafe {
        cudarc::cublas::result::gemm_strided_batched_ex(
            *blas.handle(),
            op(b.transposed),
            op(a.transposed),
            as_i32("n", n)?,
            as_i32("m", m)?,
            as_i32("k", k)?,
            (&alpha as *const f32).cast(),
            (b_ptr + b.offset as u64 * two) as *const std::ffi::c_void,
            cudaDataType::CUDA_R_16BF,
            as_i32("ld", b.ld)?,
            stride(b.stride)?,
            (a_ptr + a.offset as u64 * two) as *const std::ffi::c_void,
            cudaDataType::CUDA_R_16BF,
            as_i32("ld", a.ld)?,
            stride(a.stride)?,
            (&beta as *const f32).cast(),
            (c_ptr + c.offset as u64 * four) as *mut std::ffi::c_void,
            cudaDataType::CUDA_R_32F,
            as_i32("ld", c.ld)?,
            stride(c.stride)?,
            as_i32("batch", batch)?,
            cublasComputeType_t::CUBLAS_COMPUTE_32F,
            cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
        )
    }
    .map_err(cuda_err)
}
