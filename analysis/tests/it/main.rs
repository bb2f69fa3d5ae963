//! Integration tests of the analysis crate: reports and comparisons of whole run and sweep
//! folders, built here from real `sim` runs and from synthetic runs with later models' columns.
#![allow(clippy::unwrap_used)]

mod compare_studies;
mod fixtures;
mod report_render;
