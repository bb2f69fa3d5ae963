//! Calibration kernels (see issue 6): placeholder crate root.
