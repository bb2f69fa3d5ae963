//! The calibration profile a run uses: which file, its exact text, and its digest.
//!
//! GPU speeds come from a calibration profile written by `taosim calibrate`
//! ([`kernels::profile::Profile`]). A scenario names one with `calibration_profile = "path"`
//! (relative to the working directory); without it the committed default profile
//! (`kernels/profiles/default.toml`, compiled in) is used. The manifest records the profile's
//! source, origin, SHA-256 and full text, and `replay` re-runs with that recorded text, so a
//! run reproduces even where the profile file is not at hand.

use crate::error::{Error, Result};
use crate::scenario::Scenario;
use kernels::profile::{BUILT_IN, DEFAULT_TOML, Profile};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A loaded profile with what the manifest needs to record about it.
#[derive(Clone, Debug)]
pub struct UsedProfile {
    /// The parsed profile.
    pub profile: Profile,
    /// Where it came from: a path, or the built-in default.
    pub source: String,
    /// Its exact text.
    pub text: String,
}

/// A profile error; `message` starts with the path (the profile parser's messages do).
fn profile_error(path: &str, message: String) -> Error {
    Error::Profile { path: PathBuf::from(path), message }
}

impl UsedProfile {
    /// The committed default profile.
    pub fn builtin() -> Result<Self> {
        Self::parse(BUILT_IN.to_string(), DEFAULT_TOML.to_string())
    }

    fn parse(source: String, text: String) -> Result<Self> {
        let profile = Profile::parse(Path::new(&source), &text).map_err(|e| profile_error(&source, e.to_string()))?;
        Ok(Self { profile, source, text })
    }

    /// The profile `scenario` names, or the default.
    pub fn for_scenario(scenario: &Scenario) -> Result<Self> {
        match &scenario.calibration_profile {
            None => Self::builtin(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| profile_error(path, format!("{path}: cannot read the calibration profile: {e}")))?;
                Self::parse(path.clone(), text)
            }
        }
    }

    /// The profile recorded in a manifest (its full text), or the default when none is.
    pub fn from_manifest(entry: Option<&serde_json::Value>) -> Result<Self> {
        let Some(entry) = entry else { return Self::builtin() };
        let source = entry.get("source").and_then(|v| v.as_str()).unwrap_or(BUILT_IN).to_string();
        let Some(text) = entry.get("toml").and_then(|v| v.as_str()) else {
            return Err(profile_error("manifest.json", "manifest.json: calibration_profile has no `toml` text".into()));
        };
        Self::parse(source, text.to_string())
    }

    /// SHA-256 (hex) of the profile's text.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }

    /// What the manifest records: source, origin, digest and text.
    pub fn manifest_entry(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source,
            "origin": self.profile.origin(),
            "sha256": self.sha256(),
            "toml": self.text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_round_trips_through_the_manifest() {
        let used = UsedProfile::builtin().expect("default profile");
        let entry = used.manifest_entry();
        let back = UsedProfile::from_manifest(Some(&entry)).expect("from manifest");
        assert_eq!(back.sha256(), used.sha256());
        assert_eq!(back.text, DEFAULT_TOML);
        let broken = serde_json::json!({"source": "x.toml", "toml": "format = 3"});
        let err = UsedProfile::from_manifest(Some(&broken)).expect_err("broken profile");
        assert!(err.to_string().starts_with("x.toml: "), "{err}");
    }

    #[test]
    fn a_missing_profile_file_is_a_clear_error() {
        let scenario = Scenario { calibration_profile: Some("no/such/profile.toml".into()), ..Scenario::default() };
        let err = UsedProfile::for_scenario(&scenario).expect_err("missing");
        assert!(err.to_string().starts_with("no/such/profile.toml: cannot read the calibration profile"), "{err}");
    }
}
