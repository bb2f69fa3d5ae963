//! Checks that the run folders a report reads are the files the simulator wrote: every file
//! that a run's `manifest.json` lists is present and has the SHA-256 digest recorded there.
//!
//! A CSV cut short by a full disk or an interrupted copy still parses (its last rows are just
//! missing), so without this a report would draw a shorter run without a word. Folders whose
//! manifest lists no digests (hand-made or synthetic folders) are read as they are.

use crate::error::{Error, Result};
use crate::study::Study;
use rayon::prelude::*;
use std::path::Path;

/// Verifies one run folder's files against its manifest's digests.
pub fn verify_run(dir: &Path) -> Result<()> {
    let manifest = sim::output::read_manifest(dir).map_err(|e| Error::Manifest(e.to_string()))?;
    for (name, expected) in &manifest.outputs {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(Error::Integrity {
                path,
                message: "listed in manifest.json but missing: the run folder is incomplete; rerun the run".into(),
            });
        }
        let actual = sim::output::file_digest(&path).map_err(|e| Error::io(&path, "cannot read", e))?;
        if &actual != expected {
            return Err(Error::Integrity {
                path,
                message: format!(
                    "SHA-256 {actual} is not the {expected} that manifest.json records: the file was changed or cut short after the run (e.g. an interrupted copy); rerun the run or copy it again"
                ),
            });
        }
    }
    Ok(())
}

/// Verifies every run folder of a study (in parallel); the first failure in run order.
pub fn verify_study(study: &Study) -> Result<()> {
    let results: Vec<Result<()>> = study.runs.par_iter().map(|r| r.dir.as_deref().map_or(Ok(()), verify_run)).collect();
    results.into_iter().collect()
}
