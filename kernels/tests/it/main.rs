//! Integration tests of the kernels crate (one binary; files named by behaviour).

mod cuda_block_vs_cpu;
mod cuda_vs_cpu;
