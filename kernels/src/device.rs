//! Finding a GPU without letting cudarc panic.
//!
//! cudarc loads the CUDA libraries at run time and *panics* on first use when one is missing,
//! so nothing may touch its API before [`probe`] has confirmed, in order: the override is not
//! set, the driver library (`libcuda`) loads, NVRTC (which ships with the toolkit, not the
//! driver) loads, cuBLAS loads, and the driver reports at least one device. Each failure is
//! reported as one line naming what is missing.

/// Set this environment variable to `1` (or any value but `0` and empty) to force the CPU.
pub const FORCE_CPU_ENV: &str = "TAOSIM_FORCE_CPU";

/// What the probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A usable GPU stack.
    Gpu {
        /// Devices the driver reports.
        count: usize,
        /// The driver's CUDA version, e.g. `12.8`.
        driver: String,
    },
    /// No usable GPU, and why (one line).
    Unavailable(String),
}

/// Whether [`FORCE_CPU_ENV`] asks for the CPU.
pub fn cpu_forced() -> bool {
    std::env::var(FORCE_CPU_ENV).map(|v| !v.is_empty() && v != "0").unwrap_or(false)
}

/// Probes for a GPU (see the module docs). Never panics.
pub fn probe() -> Probe {
    if cpu_forced() {
        return Probe::Unavailable(format!("{FORCE_CPU_ENV} is set: using the CPU"));
    }
    probe_cuda()
}

#[cfg(not(feature = "cuda"))]
fn probe_cuda() -> Probe {
    Probe::Unavailable("this build has no CUDA back end (rebuild with `--features cuda`)".into())
}

#[cfg(feature = "cuda")]
#[allow(unsafe_code)]
fn probe_cuda() -> Probe {
    // SAFETY: the `is_culib_present` functions only try to open the shared libraries with
    // libloading and report whether that worked; they run no library code.
    let (driver, nvrtc, cublas) = unsafe {
        (
            cudarc::driver::sys::is_culib_present(),
            cudarc::nvrtc::sys::is_culib_present(),
            cudarc::cublas::sys::is_culib_present(),
        )
    };
    if !driver {
        return Probe::Unavailable("no NVIDIA driver: libcuda could not be loaded".into());
    }
    if !nvrtc {
        return Probe::Unavailable("no NVRTC: libnvrtc (CUDA toolkit) could not be loaded".into());
    }
    if !cublas {
        return Probe::Unavailable("no cuBLAS: libcublas (CUDA toolkit) could not be loaded".into());
    }
    let count = match cudarc::driver::CudaContext::device_count() {
        Ok(n) => usize::try_from(n).unwrap_or(0),
        Err(e) => return Probe::Unavailable(format!("the CUDA driver failed to start: {e}")),
    };
    if count == 0 {
        return Probe::Unavailable("the CUDA driver reports no device".into());
    }
    let mut version: std::ffi::c_int = 0;
    // SAFETY: the driver library is loaded (checked above) and `version` is a valid out-pointer.
    let status = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) };
    let driver = if status == cudarc::driver::sys::CUresult::CUDA_SUCCESS {
        format!("CUDA driver {}.{}", version / 1000, (version % 1000) / 10)
    } else {
        "CUDA driver (version unknown)".to_string()
    };
    Probe::Gpu { count, driver }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_never_panics_and_explains_itself() {
        match probe() {
            Probe::Gpu { count, driver } => assert!(count > 0 && driver.starts_with("CUDA driver")),
            Probe::Unavailable(why) => {
                assert!(!why.is_empty() && !why.contains('\n'), "one line: {why}");
            }
        }
    }
}
