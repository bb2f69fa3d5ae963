//! The JSON format of `taosim epoch`: one subnet's state in, the epoch's results out.
//!
//! Input (every field but `block`, `emission` and `neurons` optional, defaults as on chain):
//!
//! ```json
//! { "block": 7200, "emission": 1000000000, "owner_uid": 0,
//!   "last_mechanism_step_block": 6840, "epoch_index": 20,
//!   "params": { "kappa": 32767, "bonds_penalty": 65535, "yuma3": false },
//!   "neurons": [
//!     { "uid": 0, "alpha_stake": 5000000000000, "root_stake": 0, "last_update": 7190,
//!       "registered_at": 0, "validator_permit": true,
//!       "weights": [[1, 65535], [2, 32768]], "bonds": [[1, 65535]],
//!       "commits": [{ "epoch": 19, "block": 7000 }] },
//!     ...
//!   ] }
//! ```
//!
//! Neurons are listed in uid order; `uid` is optional and, when given, must equal the
//! neuron's position. Weights and bonds are `[uid, u16]` pairs as the chain stores them. Units
//! are the chain's storage units: see [`EpochParams`]. The output lists, per uid, the values
//! the chain would store (`u16` fractions of 65535, rao, the new permit and bond row).

use super::{EpochError, EpochInput, EpochOutput, EpochParams, NeuronInput, NeuronOutput, WeightCommit};
use crate::chain::Rao;
use serde::{Deserialize, Serialize};

/// One neuron as written in the input file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NeuronFile {
    /// Optional check: the neuron's uid, which must equal its position.
    uid: Option<u16>,
    alpha_stake: Rao,
    root_stake: Rao,
    last_update: u64,
    registered_at: u64,
    validator_permit: bool,
    weights: Vec<(u16, u16)>,
    bonds: Vec<(u16, u16)>,
    commits: Vec<WeightCommit>,
}

/// The input file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpochFile {
    block: u64,
    emission: Rao,
    #[serde(default)]
    params: EpochParams,
    #[serde(default)]
    owner_uid: Option<u16>,
    #[serde(default)]
    last_mechanism_step_block: u64,
    #[serde(default)]
    epoch_index: u64,
    neurons: Vec<NeuronFile>,
}

/// One neuron in the output file.
#[derive(Serialize)]
struct NeuronOut<'a> {
    uid: usize,
    #[serde(flatten)]
    out: &'a NeuronOutput,
}

/// The output file's fields before the neurons.
#[derive(Serialize)]
struct OutputHead {
    block: u64,
    emission: Rao,
    /// Sum of the server and validator emission (a few rao below `emission` from truncation).
    emission_paid: Rao,
}

/// Why an input file cannot be run; the message names the field and, for neuron fields, the
/// neuron's position (its uid).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON, a wrong type, a missing or unknown field, a number out of range.
    #[error("{path}: {message}")]
    Format {
        /// Where in the document (`neurons[2].weights[0][1]`; `.` for the whole document).
        path: String,
        /// serde's message.
        message: String,
    },
    /// A neuron's `uid` does not match its position.
    #[error("neurons[{index}].uid: {uid} {problem}; neurons must be listed in uid order 0, 1, 2, ...")]
    Uid {
        /// The neuron's position.
        index: usize,
        /// The uid written.
        uid: u16,
        /// What is wrong ("is listed twice", "does not match its position").
        problem: &'static str,
    },
    /// The input parses but cannot be run.
    #[error("{0}")]
    Epoch(#[from] EpochError),
}

/// Parses and validates an input file, refusing inputs whose results would be meaningless
/// (see [`EpochInput::check_computable`]).
pub fn parse_input(text: &str) -> Result<EpochInput, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let file: EpochFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        JsonError::Format { path, message: e.into_inner().to_string() }
    })?;
    de.end().map_err(|e| JsonError::Format { path: ".".into(), message: e.to_string() })?;
    let mut seen = vec![false; file.neurons.len()];
    for (index, neuron) in file.neurons.iter().enumerate() {
        if let Some(uid) = neuron.uid {
            let slot = seen.get_mut(usize::from(uid));
            if slot.as_deref() == Some(&true) {
                return Err(JsonError::Uid { index, uid, problem: "is listed twice" });
            }
            if usize::from(uid) != index {
                return Err(JsonError::Uid { index, uid, problem: "does not match its position" });
            }
            if let Some(s) = slot {
                *s = true;
            }
        }
    }
    let input = EpochInput {
        block: file.block,
        emission: file.emission,
        params: file.params,
        owner_uid: file.owner_uid,
        last_mechanism_step_block: file.last_mechanism_step_block,
        epoch_index: file.epoch_index,
        neurons: file
            .neurons
            .into_iter()
            .map(|x| NeuronInput {
                alpha_stake: x.alpha_stake,
                root_stake: x.root_stake,
                last_update: x.last_update,
                registered_at: x.registered_at,
                validator_permit: x.validator_permit,
                weights: x.weights,
                bonds: x.bonds,
                commits: x.commits,
            })
            .collect(),
        consensus_hint: Vec::new(),
    };
    input.validate()?;
    input.check_computable()?;
    Ok(input)
}

/// Writes an epoch's results as JSON: the totals, then one line per neuron.
pub fn render_output(input: &EpochInput, output: &EpochOutput) -> String {
    let paid = output
        .neurons
        .iter()
        .fold(Rao::ZERO, |acc, x| acc.saturating_add(x.server_emission).saturating_add(x.validator_emission));
    let head = OutputHead { block: output.block, emission: input.emission, emission_paid: paid };
    let mut text = String::from("{\n");
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&head) {
        for (key, value) in fields {
            text.push_str(&format!("  \"{key}\": {value},\n"));
        }
    }
    text.push_str("  \"neurons\": [");
    for (uid, out) in output.neurons.iter().enumerate() {
        let line = serde_json::to_string(&NeuronOut { uid, out }).unwrap_or_default();
        text.push_str(if uid == 0 { "\n    " } else { ",\n    " });
        text.push_str(&line);
    }
    text.push_str(if output.neurons.is_empty() { "]\n}\n" } else { "\n  ]\n}\n" });
    text
}

/// Parses an input file, runs the epoch and renders the results: `taosim epoch` in one call.
pub fn run_json(text: &str) -> Result<String, JsonError> {
    let input = parse_input(text)?;
    let output = super::epoch(&input)?;
    Ok(render_output(&input, &output))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn err(text: &str) -> String {
        parse_input(text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_fill_every_optional_field() {
        let input = parse_input(r#"{"block": 10, "emission": 5, "neurons": [{}, {"weights": [[0, 1]]}]}"#).unwrap();
        assert_eq!(input.params, EpochParams::default());
        assert_eq!(input.owner_uid, None);
        assert_eq!(input.neurons.len(), 2);
        assert_eq!(input.neurons[1].weights, vec![(0, 1)]);
    }

    #[test]
    fn bad_input_names_the_neuron_and_field() {
        let e = err(r#"{"block": 1, "emission": 1, "neurons": [{}, {"weights": [[0, 70000]]}]}"#);
        assert!(e.starts_with("neurons[1].weights[0]"), "{e}");
        assert!(e.contains("70000"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "neurons": [{"alpha_stake": "lots"}]}"#);
        assert!(e.starts_with("neurons[0].alpha_stake"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "neurons": [{"weights": [[3, 1]]}, {}]}"#);
        assert_eq!(e, "neuron 0: weights[0]: uid 3 does not exist; the subnet has 2 neurons (uids 0 ..= 1)");
        let e = err(r#"{"block": 1, "emission": 1, "neurons": [{"bonds": [[1, 1], [1, 2]]}, {}]}"#);
        assert_eq!(e, "neuron 0: bonds[1]: uid 1 is listed twice; each uid may appear once per row");
        let e = err(r#"{"block": 1, "emission": 1, "neurons": [{"uid": 0}, {"uid": 0}]}"#);
        assert!(e.starts_with("neurons[1].uid: 0 is listed twice"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "neurons": [{"uid": 1}]}"#);
        assert!(e.starts_with("neurons[0].uid: 1 does not match its position"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "params": {"kapa": 1}, "neurons": []}"#);
        assert!(e.starts_with("params.kapa: unknown field `kapa`"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "params": {"bonds_moving_average": 2000000}, "neurons": []}"#);
        assert!(e.starts_with("params.bonds_moving_average: 2000000 is out of range"), "{e}");
        let e = err(r#"{"block": 1, "neurons": []}"#);
        assert!(e.contains("missing field `emission`"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "neurons": []} trailing"#);
        assert!(e.starts_with(".: trailing characters"), "{e}");
        let e = err(r#"{"block": 1, "emission": 1, "owner_uid": 3, "neurons": [{}]}"#);
        assert!(e.starts_with("owner_uid: uid 3 does not exist"), "{e}");
    }

    /// Inputs the epoch cannot compute are refused, not answered with all zeros: tempo 0, and
    /// stakes summing past the I64F64 the chain sums them in (alpha and tao_weight x root).
    #[test]
    fn tempo_zero_and_stakes_past_the_fixed_point_are_refused() {
        let e = err(r#"{"block": 1, "emission": 1, "params": {"tempo": 0}, "neurons": [{}]}"#);
        assert_eq!(e, "params.tempo: 0 is out of range; allowed 1 ..= 65535");
        let max = u64::MAX;
        let e = err(&format!(r#"{{"block": 1, "emission": 1, "neurons": [{{"alpha_stake": {max}}}]}}"#));
        assert!(
            e.starts_with(&format!("neurons: the stakes (alpha_stake + tao_weight x root_stake) sum to {max} rao"))
        );
        // At the limit it runs; one rao more (here from root stake at full tao_weight) does not.
        let limit = i64::MAX;
        let at_limit = format!(r#"{{"block": 1, "emission": 1, "neurons": [{{"alpha_stake": {limit}}}]}}"#);
        assert!(run_json(&at_limit).is_ok());
        let over = format!(
            r#"{{"block": 1, "emission": 1, "params": {{"tao_weight": {max}}},
                "neurons": [{{"alpha_stake": {limit}}}, {{"root_stake": 2}}]}}"#
        );
        assert!(err(&over).starts_with("neurons: the stakes"), "{}", err(&over));
    }

    #[test]
    fn output_lists_every_uid_with_its_results() {
        let text = r#"{"block": 100, "emission": 1000, "params": {"commit_reveal": false},
            "neurons": [{"alpha_stake": 10, "validator_permit": true, "last_update": 99, "weights": [[1, 65535]]},
                        {"last_update": 99}]}"#;
        let out: serde_json::Value = serde_json::from_str(&run_json(text).unwrap()).unwrap();
        assert_eq!(out["block"], 100);
        assert_eq!(out["neurons"][1]["uid"], 1);
        assert_eq!(out["neurons"][1]["incentive"], 65535);
        assert_eq!(out["neurons"][0]["dividends"], 65535);
        // Yuma3 (the default): the bond is the EMA's first step, 0.1 * 1, stored as 6553.
        assert_eq!(out["neurons"][0]["bonds"], serde_json::json!([[1, 6553]]));
        assert_eq!(out["neurons"][1]["server_emission"], 500);
        assert_eq!(out["neurons"][0]["validator_emission"], 500);
        assert_eq!(out["emission_paid"], 1000);
        // Classic bonds are column max-upscaled for storage: 65535.
        let classic = text.replace(r#""commit_reveal": false"#, r#""commit_reveal": false, "yuma3": false"#);
        let out: serde_json::Value = serde_json::from_str(&run_json(&classic).unwrap()).unwrap();
        assert_eq!(out["neurons"][0]["bonds"], serde_json::json!([[1, 65535]]));
    }
}
