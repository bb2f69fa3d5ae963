//! What a GPU kind is worth to the economy: its rent (a reference table) and its throughput
//! on a subnet's task (from the calibration profile).
//!
//! A miner's score on a subnet follows what its GPUs deliver for that subnet's task: training
//! tokens per second at a model size (compute-bound: the profile's achieved FLOP/s) or an
//! inference score (decode tokens per second at a batch, mostly memory-bound: the profile's
//! achieved bytes/s). So the profile's figures per GPU kind decide who earns on which subnet,
//! and the rent decides who can afford to stay. A factor common to every GPU kind cancels
//! (validators normalise weights within a subnet); see the training-subnet chapter.

use crate::economy::participants::config::TasksSection;
use kernels::profile::Throughput;

/// What a subnet asks of its miners' GPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Task {
    /// Training a model (compute-bound): scored by training tokens per second.
    Training,
    /// Serving a model (decode, memory-bound at small batches): scored by tokens per second.
    Inference,
}

/// A GPU kind's rent in the reference table (`economy-calibration.md` §3, 2025-2026 rental
/// prices, rounded within the listed ranges).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rent {
    /// The profile's name for the kind.
    pub name: &'static str,
    /// USD per GPU-hour.
    pub usd_per_hour: f64,
    /// The range the reference lists, for the chapter and for studies.
    pub range: &'static str,
}

/// The reference rents (`economy-calibration.md` §3: aimultiple GPU index, mercatus-ai cloud
/// pricing, deploybase, RunPod and Vast listings). Each is a value inside the listed range,
/// the same as the scenarios' defaults before this table existed.
pub const RENTS: [Rent; 6] = [
    Rent { name: "B200", usd_per_hour: 5.0, range: "4.49 (Vast) - 5.98 (RunPod), blended ~7.5" },
    Rent { name: "H200", usd_per_hour: 3.5, range: "2.50-3.50 small providers, 3.50-4.50 specialist" },
    Rent { name: "H100", usd_per_hour: 2.5, range: "1.99-2.50 small providers, median ~2.95" },
    Rent { name: "H100 PCIe", usd_per_hour: 2.0, range: "below H100 SXM (not listed separately)" },
    Rent { name: "A100", usd_per_hour: 1.3, range: "0.78-1.39 (80 GB)" },
    Rent { name: "RTX 4090", usd_per_hour: 0.4, range: "0.22-0.88" },
];

/// The reference rent of a GPU kind, USD per GPU-hour (case-insensitive name).
pub fn reference_rent_usd_per_hour(name: &str) -> Option<f64> {
    RENTS.iter().find(|r| r.name.eq_ignore_ascii_case(name.trim())).map(|r| r.usd_per_hour)
}

/// Training FLOPs per token of a dense decoder: 6 P for the weights' forward and backward
/// GEMMs plus 12 L d s for attention's scores and values (Kaplan et al. 2020, arXiv
/// 2001.08361, Table 1, forward 2 P + 2 L d s, backward twice that; the same formula as
/// [`crate::training::TrainingConfig::flops_per_token`]).
pub fn training_flops_per_token(parameters: f64, layers: f64, d_model: f64, sequence: f64) -> f64 {
    6.0 * parameters + 12.0 * layers * d_model * sequence
}

/// Training tokens per second of one GPU: achieved FLOP/s over FLOPs per token.
pub fn training_tokens_per_s(t: Throughput, flops_per_token: f64) -> f64 {
    if flops_per_token <= 0.0 { 0.0 } else { t.flops_per_s / flops_per_token }
}

/// Decode tokens per second of one GPU serving a model of `parameters` at `batch` sequences:
/// each decode step does 2 P FLOPs per sequence and reads the bf16 weights (2 P bytes) once,
/// the two roofline terms added as in [`kernels::profile::Profile::step_time_s`]; the KV
/// cache's reads are left out (short contexts).
pub fn inference_tokens_per_s(t: Throughput, parameters: f64, batch: f64) -> f64 {
    let step_s = 2.0 * parameters * batch / t.flops_per_s + 2.0 * parameters / t.bytes_per_s;
    if step_s > 0.0 && step_s.is_finite() { batch / step_s } else { 0.0 }
}

/// Tokens per second of one GPU with throughput `t` on each task, indexed by [`Task`].
pub fn task_throughput(t: Throughput, tasks: &TasksSection) -> [f64; 2] {
    let fpt = training_flops_per_token(
        tasks.training_parameters,
        f64::from(tasks.training_layers),
        f64::from(tasks.training_d_model),
        f64::from(tasks.sequence_length),
    );
    [
        training_tokens_per_s(t, fpt),
        inference_tokens_per_s(t, tasks.inference_parameters, f64::from(tasks.inference_batch)),
    ]
}

/// The task of subnet `netuid`: training where the scenario names it (`training_netuids`),
/// otherwise training with probability `training_share`, drawn once per subnet from its own
/// stream `["subnet", netuid, "task_kind"]`.
pub fn subnet_task(seed: u64, netuid: u16, tasks: &TasksSection) -> Task {
    if tasks.training_netuids.contains(&netuid) {
        return Task::Training;
    }
    let mut rng = crate::rng::stream(seed, &crate::label!["subnet", netuid, "task_kind"]);
    if crate::rng::unit_f64(&mut rng) < tasks.training_share { Task::Training } else { Task::Inference }
}

impl Task {
    /// Index into [`task_throughput`]'s array.
    pub fn index(self) -> usize {
        match self {
            Task::Training => 0,
            Task::Inference => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(tflops: f64, tb_s: f64) -> Throughput {
        Throughput { flops_per_s: tflops * 1e12, bytes_per_s: tb_s * 1e12 }
    }

    #[test]
    fn training_follows_flops_and_inference_follows_bandwidth() {
        let fpt = training_flops_per_token(8e9, 32.0, 4096.0, 2048.0);
        assert_eq!(fpt, 6.0 * 8e9 + 12.0 * 32.0 * 4096.0 * 2048.0);
        // H100 and H200 have the same peak and different bandwidths (datasheets).
        let (h100, h200) = (tp(989.0 * 0.4, 3.35 * 0.8), tp(989.0 * 0.4, 4.8 * 0.8));
        assert_eq!(training_tokens_per_s(h100, fpt), training_tokens_per_s(h200, fpt));
        let (i100, i200) = (inference_tokens_per_s(h100, 8e9, 16.0), inference_tokens_per_s(h200, 8e9, 16.0));
        assert!(i200 > 1.3 * i100 && i200 < 4.8 / 3.35 * i100, "{i100} {i200}");
        // Halving FLOP/s halves training tokens and barely moves small-batch decoding.
        let slow = tp(989.0 * 0.2, 3.35 * 0.8);
        assert_eq!(training_tokens_per_s(slow, fpt), training_tokens_per_s(h100, fpt) / 2.0);
        let i_slow = inference_tokens_per_s(slow, 8e9, 16.0);
        assert!(i_slow < i100 && i_slow > 0.85 * i100, "{i_slow} {i100}");
        // A large batch makes decoding compute-bound: then FLOP/s matter.
        let big = inference_tokens_per_s(slow, 8e9, 4096.0) / inference_tokens_per_s(h100, 8e9, 4096.0);
        assert!(big < 0.6, "{big}");
    }

    #[test]
    fn a_common_factor_of_two_scales_every_task_exactly() {
        let t = tp(2250.0 * 0.4, 8.0 * 0.8);
        let half = Throughput { flops_per_s: t.flops_per_s / 2.0, bytes_per_s: t.bytes_per_s / 2.0 };
        let tasks = TasksSection::default();
        let (a, b) = (task_throughput(t, &tasks), task_throughput(half, &tasks));
        assert_eq!(b, [a[0] / 2.0, a[1] / 2.0]);
    }

    #[test]
    fn rents_come_from_the_table_and_tasks_from_the_scenario_or_a_draw() {
        assert_eq!(reference_rent_usd_per_hour("h100"), Some(2.5));
        assert_eq!(reference_rent_usd_per_hour("B200"), Some(5.0));
        assert_eq!(reference_rent_usd_per_hour("TPU"), None);
        let mut tasks = TasksSection { training_share: 0.0, ..TasksSection::default() };
        assert_eq!(subnet_task(1, 3, &tasks), Task::Inference);
        tasks.training_netuids = vec![3];
        assert_eq!(subnet_task(1, 3, &tasks), Task::Training);
        tasks.training_share = 1.0;
        assert_eq!(subnet_task(1, 4, &tasks), Task::Training);
        tasks.training_share = 0.5;
        let training = (1..=200u16).filter(|n| subnet_task(7, *n, &tasks) == Task::Training).count();
        assert!((70..=130).contains(&training), "{training} of 200 (share 0.5)");
    }
}
