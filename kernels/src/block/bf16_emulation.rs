//! The CUDA block's arithmetic emulated on the CPU, to test the differential tolerances where
//! no GPU is: [`Bf16Gemm`] is f32 everywhere except that every GEMM rounds its two inputs to
//! bf16 (round to nearest even) and accumulates in f32, as `cublasGemmStridedBatchedEx` with
//! bf16 inputs and `CUBLAS_COMPUTE_32F` does. The elementwise work stays f32 as in the kernels.
//! (cuBLAS sums in another order; that is f32 rounding, far below bf16's.)

use super::Real;

/// An f32 whose GEMMs read their inputs in bf16.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
#[repr(transparent)]
pub struct Bf16Gemm(pub f32);

/// `x` rounded to bf16 (8 significant bits), back in f32; NaN stays NaN.
pub fn round_bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let bits = x.to_bits();
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) & 0xffff_0000;
    f32::from_bits(rounded)
}

macro_rules! binary {
    ($tr:ident, $f:ident, $op:tt, $tra:ident, $fa:ident) => {
        impl std::ops::$tr for Bf16Gemm {
            type Output = Self;
            fn $f(self, o: Self) -> Self {
                Self(self.0 $op o.0)
            }
        }
        impl std::ops::$tra for Bf16Gemm {
            fn $fa(&mut self, o: Self) {
                self.0 = self.0 $op o.0;
            }
        }
    };
}

binary!(Add, add, +, AddAssign, add_assign);
binary!(Sub, sub, -, SubAssign, sub_assign);
binary!(Mul, mul, *, MulAssign, mul_assign);

impl std::ops::Div for Bf16Gemm {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        Self(self.0 / o.0)
    }
}

impl std::ops::Neg for Bf16Gemm {
    type Output = Self;
    fn neg(self) -> Self {
        Self(-self.0)
    }
}

impl Real for Bf16Gemm {
    const ZERO: Self = Self(0.0);
    const ONE: Self = Self(1.0);
    fn from_f64(x: f64) -> Self {
        Self(x as f32)
    }
    fn to_f64(self) -> f64 {
        f64::from(self.0)
    }
    fn exp(self) -> Self {
        Self(self.0.exp())
    }
    fn sqrt(self) -> Self {
        Self(self.0.sqrt())
    }
    fn max(self, other: Self) -> Self {
        Self(self.0.max(other.0))
    }
    #[allow(unsafe_code)]
    unsafe fn raw_gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        av: &super::Mat,
        b: *const Self,
        bv: &super::Mat,
        beta: Self,
        c: *mut Self,
        cv: &super::Mat,
    ) {
        let dense = |p: *const Self, v: &super::Mat| -> Vec<f32> {
            let mut out = Vec::with_capacity(v.rows * v.cols);
            for i in 0..v.rows {
                for j in 0..v.cols {
                    // SAFETY: the caller's contract: the view lies inside its slice.
                    out.push(round_bf16(unsafe { *p.add(v.offset + i * v.rs + j * v.cs) }.0));
                }
            }
            out
        };
        let (a16, b16) = (dense(a, av), dense(b, bv));
        // SAFETY: the dense copies are m × k and k × n; C's view is the caller's (checked by
        // `gemm`), and `Bf16Gemm` is a transparent f32.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a16.as_ptr(),
                k as isize,
                1,
                b16.as_ptr(),
                n as isize,
                1,
                beta.0,
                c.cast::<f32>().add(cv.offset),
                cv.rs as isize,
                cv.cs as isize,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::backward::backward;
    use super::super::differential::{GRADIENT_TOLERANCE, LOSS_TOLERANCE, PARAM_TOLERANCE, norm_relative};
    use super::super::forward::{Workspace, forward};
    use super::super::{BlockBatch, BlockShape, Params, Tensor, initial};
    use super::*;
    use crate::cpu::adamw_update;
    use crate::step::AdamW;

    #[test]
    fn bf16_rounding_keeps_8_significant_bits_to_nearest_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        assert_eq!(round_bf16(1.0 + 1.0 / 256.0), 1.0, "a tie rounds to even");
        assert_eq!(round_bf16(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0, "a tie rounds to even, upwards");
        assert_eq!(round_bf16(1.0 + 1.5 / 256.0), 1.0 + 2.0 / 256.0);
        assert!(round_bf16(f32::NAN).is_nan());
        assert_eq!(round_bf16(-2.5e-3), -round_bf16(2.5e-3));
    }

    /// Loss, gradients (parameters then input) of one forward and backward pass in `T`.
    fn step<T: Real>(s: &BlockShape, p: &Params<f32>, batch: &BlockBatch<f32>) -> (f64, Params<f32>, Vec<f32>) {
        let p = p.convert::<T>();
        let conv = |v: &[f32]| v.iter().map(|&x| T::from_f64(f64::from(x))).collect::<Vec<T>>();
        let batch = BlockBatch { x: conv(&batch.x), target: conv(&batch.target) };
        let mut ws = Workspace::new(s);
        let mut grads = Params::<T>::zeros(s);
        let mut dx = vec![T::ZERO; batch.x.len()];
        let loss = forward(s, &p, &batch, &mut ws);
        backward(s, &p, &batch, &mut ws, &mut grads, &mut dx);
        (loss, grads.convert(), dx.iter().map(|x| x.to_f64() as f32).collect())
    }

    /// What the CUDA differential test will see, measured on the emulation: the tolerances
    /// hold with room (at most half of each), on the test's own shapes and settings.
    #[test]
    fn emulated_bf16_gemms_stay_within_the_differential_tolerances() {
        for shape in [BlockShape::new(2, 64, 128, 2, 320), BlockShape::new(3, 96, 256, 8, 704)] {
            let (mut p32, batch) = initial(&shape, 13);
            let mut p16 = p32.clone();
            let adamw = AdamW { lr: 1e-3, ..AdamW::default() };
            let (mut m32, mut v32, mut m16, mut v16) =
                (Params::zeros(&shape), Params::zeros(&shape), Params::zeros(&shape), Params::zeros(&shape));
            for t in 1..=3u32 {
                let (l32, g32, x32) = step::<f32>(&shape, &p32, &batch);
                let (l16, g16, x16) = step::<Bf16Gemm>(&shape, &p16, &batch);
                if t == 1 {
                    let loss = (l16 - l32).abs() / l32;
                    let grad = Tensor::ALL.iter().map(|&t| norm_relative(&g16[t], &g32[t])).fold(0.0, f64::max);
                    let input = norm_relative(&x16, &x32);
                    eprintln!("{shape}: loss {loss:.1e}, worst gradient {grad:.1e}, input gradient {input:.1e}");
                    assert!(loss < LOSS_TOLERANCE / 2.0, "{shape}: loss {loss:.1e}");
                    assert!(grad.max(input) < GRADIENT_TOLERANCE / 2.0, "{shape}: gradients {grad:.1e} {input:.1e}");
                    assert!(grad > 1e-4, "{shape}: bf16 must show ({grad:.1e}), or this test says nothing");
                }
                for i in 0..Tensor::ALL.len() {
                    adamw_update(&mut p32.0[i], &g32.0[i], &mut m32.0[i], &mut v32.0[i], &adamw, t);
                    adamw_update(&mut p16.0[i], &g16.0[i], &mut m16.0[i], &mut v16.0[i], &adamw, t);
                }
            }
            let params = Tensor::ALL.iter().map(|&t| norm_relative(&p16[t], &p32[t])).fold(0.0, f64::max);
            eprintln!("{shape}: parameters after 3 AdamW steps {params:.1e}");
            assert!(params < PARAM_TOLERANCE / 2.0, "{shape}: parameters {params:.1e}");
        }
    }
}
