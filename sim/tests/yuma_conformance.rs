//! Conformance of the Yuma epoch with the chain's own tests.
//!
//! Rebuilt from opentensor/subtensor 14bc6f9f, `pallets/subtensor/src/tests/epoch.rs` and
//! `tests/epoch_logs.rs`: same graphs, same stakes and weights, same sequence of blocks, the
//! chain's asserted values, exact where the chain asserts exact values. The chain's tests run
//! on a mock runtime (registration, staking, `set_weights`, block hooks); [`Subnet`] below is
//! that runtime reduced to the state the epoch reads, changed the way the extrinsics the tests
//! call change it. Where a test depends on more of the runtime (automatic epochs at a tempo,
//! commit extrinsics, pruning), the equivalent input is built by hand and the test says so.
//!
//! Mock values that differ from the live runtime and matter here: `TaoWeight` 0 (root stake
//! plays no part), `MaxAllowedValidators` 100 for subnets not created by `init_new_network`
//! (which sets 64), `InitialActivityCutoff` 5000 (the deprecated stored cutoff, which tests
//! use only to pick blocks; the epoch derives the cutoff from the tempo).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sim::chain::Rao;
use sim::chain::yuma::json::{parse_input, render_output};
use sim::chain::yuma::math::{u16_proportion_to_fixed, vec_u16_max_upscale_to_u16};
use sim::chain::yuma::{
    EpochInput, EpochOutput, EpochParams, EpochPath, EpochWorkspace, NeuronInput, WeightCommit, epoch, epoch_reference,
    epoch_with,
};
use substrate_fixed::types::I32F32;

/// The mock runtime, reduced to what the epoch reads.
#[derive(Clone, Debug)]
struct Subnet {
    block: u64,
    params: EpochParams,
    owner_uid: Option<u16>,
    neurons: Vec<NeuronInput>,
}

impl Subnet {
    /// A subnet as `add_network_disable_commit_reveal` leaves it on the mock runtime:
    /// `init_new_network` (64 validator permits), commit-reveal and Yuma3 off, `TaoWeight` 0.
    fn disable_commit_reveal(block: u64, tempo: u16) -> Subnet {
        let params = EpochParams {
            tempo,
            tao_weight: 0,
            max_allowed_validators: 64,
            yuma3: false,
            commit_reveal: false,
            ..EpochParams::default()
        };
        Subnet { block, params, owner_uid: None, neurons: Vec::new() }
    }

    /// A subnet as `add_network` leaves it: `init_new_network` turns Yuma3 on; commit-reveal on.
    fn add_network(block: u64, tempo: u16) -> Subnet {
        let mut s = Subnet::disable_commit_reveal(block, tempo);
        s.params.yuma3 = true;
        s.params.commit_reveal = true;
        s
    }

    /// `append_neuron` at `block` with `stake` alpha: registration block and last update are
    /// the block, no permit, no weights or bonds.
    fn append_at(&mut self, stake: u64, block: u64) -> usize {
        self.neurons.push(NeuronInput {
            alpha_stake: Rao(stake),
            last_update: block,
            registered_at: block,
            ..NeuronInput::default()
        });
        self.neurons.len() - 1
    }

    /// Registration at the current block (`register`, `burned_register`, `register_ok_neuron`).
    fn register(&mut self, stake: u64) -> usize {
        self.append_at(stake, self.block)
    }

    /// `replace_neuron` at the current block: a new hotkey with `stake` takes the uid; its
    /// weights and bonds rows are removed, every weight set on it becomes 0, its permit is
    /// cleared, its registration block and last update are the current block.
    fn replace(&mut self, uid: usize, stake: u64) {
        let block = self.block;
        for neuron in &mut self.neurons {
            for w in &mut neuron.weights {
                if usize::from(w.0) == uid {
                    w.1 = 0;
                }
            }
        }
        self.neurons[uid] =
            NeuronInput { alpha_stake: Rao(stake), last_update: block, registered_at: block, ..NeuronInput::default() };
    }

    /// `set_weights` with commit-reveal off: the values are max-upscaled and stored in the
    /// order given, and the neuron's last update becomes the current block.
    fn set_weights(&mut self, uid: usize, uids: &[u16], values: &[u16]) {
        let upscaled = vec_u16_max_upscale_to_u16(values);
        self.neurons[uid].weights = uids.iter().copied().zip(upscaled).collect();
        self.neurons[uid].last_update = self.block;
    }

    fn add_stake(&mut self, uid: usize, amount: u64) {
        self.neurons[uid].alpha_stake = self.neurons[uid].alpha_stake.saturating_add(Rao(amount));
    }

    fn next_block(&mut self) {
        self.block += 1;
    }

    fn input(&self, emission: u64) -> EpochInput {
        EpochInput {
            block: self.block,
            emission: Rao(emission),
            params: self.params.clone(),
            owner_uid: self.owner_uid,
            last_mechanism_step_block: 0,
            epoch_index: 0,
            neurons: self.neurons.clone(),
            consensus_hint: Vec::new(),
        }
    }

    /// The legacy `SubtensorModule::epoch` the tests call: runs the epoch and persists the new
    /// permits and every uid's bond row. It does not touch `LastMechansimStepBlock`, which
    /// stays 0 in these tests (only the coinbase sets it), so bonds are masked against
    /// `block - tempo`.
    fn epoch(&mut self, emission: u64) -> EpochOutput {
        let out = epoch(&self.input(emission)).unwrap();
        for (neuron, o) in self.neurons.iter_mut().zip(&out.neurons) {
            neuron.validator_permit = o.validator_permit;
            neuron.bonds.clone_from(&o.bonds);
        }
        out
    }

    /// The chain's `get_bonds(netuid)[i][j]` as stored (0 where absent).
    fn bond(&self, i: usize, j: u16) -> u16 {
        self.neurons[i].bonds.iter().find(|b| b.0 == j).map_or(0, |b| b.1)
    }
}

const E: u64 = 1_000_000_000;

/// `tests::epoch::test_1_graph`: one neuron weighting itself in its registration block.
#[test]
fn test_1_graph() {
    let mut net = Subnet::disable_commit_reveal(1, u16::MAX - 1);
    net.params.max_allowed_validators = 64;
    net.register(1_000_000_000); // alpha bought with 1 TAO; any positive amount gives the same result
    net.set_weights(0, &[0], &[u16::MAX]); // run_to_block(1) is a no-op: still block 1
    let out = net.epoch(E);
    let x = &out.neurons[0];
    assert_eq!((x.consensus, x.incentive, x.dividends), (0, 0, 0));
    // No permit yet, so no active stake: the emission falls back to stake.
    assert_eq!(x.validator_emission, Rao(E));
}

/// `tests::epoch::test_10_graph`: ten neurons with stake 1 and self-weights, no permits yet.
#[test]
fn test_10_graph() {
    let mut net = Subnet::disable_commit_reveal(1, u16::MAX - 1);
    for _ in 0..10 {
        net.append_at(1, 0);
    }
    for i in 0..10 {
        net.set_weights(i, &[i as u16], &[u16::MAX]);
    }
    let out = net.epoch(E);
    for x in &out.neurons {
        assert_eq!((x.consensus, x.incentive, x.dividends), (0, 0, 0));
        assert_eq!(x.emission, Rao(99_999_999));
    }
}

/// Validators and servers with blockwise, regular or shuffled interleaving (the chain's
/// `distribute_nodes`; its random interleave uses an unseeded RNG, ours a fixed permutation).
fn distribute_nodes(validators_n: usize, network_n: usize, interleave: usize) -> (Vec<u16>, Vec<u16>) {
    let uids: Vec<u16> = (0..network_n as u16).collect();
    match interleave {
        0 => (uids[..validators_n].to_vec(), uids[validators_n..].to_vec()),
        1 => uids.iter().partition(|&&i| usize::from(i) % (network_n / validators_n) == 0),
        _ => {
            let mut p = uids;
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for i in (1..p.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p.swap(i, (x % (i as u64 + 1)) as usize);
            }
            (p[..validators_n].to_vec(), p[validators_n..].to_vec())
        }
    }
}

/// The chain's `init_run_epochs` with uniform weights: neurons appended at block 0 (only
/// validators staked), a first epoch to issue permits, every validator weighting every server
/// equally, optional server self-weights, then `epochs` epochs, all at block 1.
fn init_run_epochs(
    network_n: usize,
    validators: &[u16],
    servers: &[u16],
    epochs: usize,
    stake_per_validator: u64,
    server_self: bool,
    bonds_penalty: u16,
) -> (Subnet, EpochOutput) {
    let mut net = Subnet::disable_commit_reveal(1, u16::MAX - 1);
    net.params.bonds_penalty = bonds_penalty;
    for key in 0..network_n as u16 {
        let stake = if validators.contains(&key) { stake_per_validator } else { 0 };
        net.append_at(stake, 0);
    }
    net.params.max_allowed_validators = validators.len() as u16;
    net.epoch(E);
    let weights = vec![u16::MAX / network_n as u16; servers.len()];
    for &v in validators {
        net.set_weights(usize::from(v), servers, &weights);
    }
    if server_self {
        for &s in servers {
            net.set_weights(usize::from(s), &[s], &[u16::MAX]);
        }
    }
    let mut out = EpochOutput::default();
    for _ in 0..epochs {
        out = net.epoch(E);
    }
    (net, out)
}

/// `tests::epoch::test_512_graph`: 64 validators with 1/64 of the supply each, 448 servers.
#[test]
fn test_512_graph() {
    let (network_n, validators_n) = (512, 64);
    let max_stake_per_validator: u64 = 328_125_000_000_000; // 21_000_000_000_000_000 / 64
    for interleave in 0..3 {
        for server_self in [false, true] {
            let (validators, servers) = distribute_nodes(validators_n, network_n, interleave);
            let (server, validator) = (servers[0], validators[0]);
            let (net, out) =
                init_run_epochs(network_n, &validators, &servers, 3, max_stake_per_validator, server_self, u16::MAX);
            for &uid in &validators {
                let x = &out.neurons[usize::from(uid)];
                assert_eq!(x.stake, Rao(max_stake_per_validator));
                assert_eq!((x.consensus, x.incentive), (0, 0));
                assert_eq!(x.dividends, 1023); // floor(1 / 64 * 65_535)
                assert_eq!(x.emission, Rao(7_812_500)); // 0.5 / 64 * 1_000_000_000
                assert_eq!(net.bond(usize::from(uid), validator), 0);
                assert_eq!(net.bond(usize::from(uid), server), 65_535);
            }
            for &uid in &servers {
                let x = &out.neurons[usize::from(uid)];
                assert_eq!(x.stake, Rao(0));
                assert_eq!(x.consensus, 146);
                assert_eq!(x.incentive, 146); // floor(1 / (512 - 64) * 65_535)
                assert_eq!(x.dividends, 0);
                assert_eq!(x.emission, Rao(1_116_071)); // floor(0.5 / (512 - 64) * 1_000_000_000)
                assert_eq!(net.bond(usize::from(uid), validator), 0);
                assert_eq!(net.bond(usize::from(uid), server), 0);
            }
        }
    }
}

/// `tests::epoch::test_bonds`: four validators with stakes 1..4 weighting four servers
/// 0.1 .. 0.4, then dropping out one by one; the classic bonds EMA over eight epochs.
#[test]
fn test_bonds() {
    let mut net = Subnet::disable_commit_reveal(1, 1);
    net.params.max_allowed_validators = 8;
    for stake in [1, 2, 3, 4, 0, 0, 0, 0] {
        net.register(stake);
    }
    net.epoch(E); // permits
    net.next_block(); // next_block_no_epoch

    // === Set weights [val->srv1: 0.1, val->srv2: 0.2, val->srv3: 0.3, val->srv4: 0.4]
    let values = [u16::MAX / 4, u16::MAX / 2, (u16::MAX / 4) * 3, u16::MAX];
    for uid in 0..4 {
        net.set_weights(uid, &[4, 5, 6, 7], &values);
    }
    net.epoch(E);
    assert_eq!([net.bond(0, 4), net.bond(1, 4), net.bond(2, 4), net.bond(3, 4)], [16383, 32767, 49151, 65535]);

    // === Set self-weight only on val1
    net.set_weights(0, &[0], &[u16::MAX]);
    net.next_block();
    net.epoch(E);
    assert_eq!([net.bond(0, 4), net.bond(1, 4), net.bond(2, 4), net.bond(3, 4)], [14582, 32767, 49151, 65535]);

    // === Set self-weight only on val2
    net.set_weights(1, &[1], &[u16::MAX]);
    net.next_block();
    net.epoch(E);
    assert_eq!([net.bond(0, 4), net.bond(1, 4), net.bond(2, 4), net.bond(3, 4)], [12603, 28321, 49151, 65535]);

    // === Set self-weight only on val3
    net.set_weights(2, &[2], &[u16::MAX]);
    net.next_block();
    net.epoch(E);
    assert_eq!([net.bond(0, 7), net.bond(1, 7), net.bond(2, 7), net.bond(3, 7)], [12602, 28320, 49150, 65535]);

    // === Set val3->srv4: 1
    net.set_weights(2, &[7], &[u16::MAX]);
    net.next_block();
    net.epoch(E);
    assert_eq!([net.bond(0, 7), net.bond(1, 7), net.bond(2, 7), net.bond(3, 7)], [10951, 24609, 49150, 65535]);

    net.next_block();
    net.epoch(E);
    assert_eq!([net.bond(0, 7), net.bond(1, 7), net.bond(2, 7), net.bond(3, 7)], [9559, 21482, 49150, 65535]);

    net.next_block();
    net.epoch(E);
    assert_eq!([net.bond(0, 7), net.bond(1, 7), net.bond(2, 7), net.bond(3, 7)], [8376, 18824, 49150, 65535]);
}

/// `tests::epoch::test_active_stake`: a validator that stops setting weights loses its
/// active stake and so its share of new bonds.
#[test]
fn test_active_stake() {
    let n = 4;
    let mut net = Subnet::disable_commit_reveal(0, 1);
    net.params.max_allowed_validators = n;
    for _ in 0..n {
        net.register(1);
    }
    net.epoch(E); // permits
    net.next_block();
    for uid in 0..2 {
        net.set_weights(uid, &[2, 3], &[u16::MAX / 2; 2]);
    }
    let out = net.epoch(E);
    for uid in 0..4 {
        if uid < 2 {
            assert_eq!(out.neurons[uid].dividends, 32767); // floor(0.5 * 65_535)
        }
        assert_eq!(out.neurons[uid].emission, Rao(250_000_000));
    }
    for v in 0..2 {
        assert_eq!([net.bond(v, 0), net.bond(v, 1)], [0, 0]);
        assert_eq!([net.bond(v, 2), net.bond(v, 3)], [65535, 65535]);
    }

    // The mock's stored `ActivityCutoff` is 5000; the epoch's cutoff at tempo 1 is 13 blocks.
    let activity_cutoff = 5000;
    net.block = activity_cutoff + 2; // run_to_block_no_epoch: uids 1..3 become inactive
    net.set_weights(0, &[2, 3], &[u16::MAX / 2; 2]);
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].dividends, 36044); // floor((0.5 * 0.9 + 0.1) * 65_535)
    assert_eq!(out.neurons[0].emission, Rao(274_999_999));
    assert_eq!([net.bond(0, 2), net.bond(0, 3)], [65535, 65535]);
    assert_eq!(out.neurons[1].dividends, 29490); // floor((0.5 * 0.9) * 65_535)
    assert_eq!(out.neurons[1].emission, Rao(224_999_999));
    assert_eq!([net.bond(1, 2), net.bond(1, 3)], [53619, 53619]);

    net.set_weights(1, &[2, 3], &[u16::MAX / 2; 2]);
    net.block = activity_cutoff + 3;
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].dividends, 35716); // floor((0.55 * 0.9 + 0.5 * 0.1) * 65_535)
    assert_eq!(out.neurons[0].emission, Rao(272_501_132));
    assert_eq!([net.bond(0, 2), net.bond(0, 3)], [65535, 65535]);
    assert_eq!(out.neurons[1].dividends, 29818); // floor((0.45 * 0.9 + 0.5 * 0.1) * 65_535)
    assert_eq!(out.neurons[1].emission, Rao(227_498_866));
    assert_eq!([net.bond(1, 2), net.bond(1, 3)], [54712, 54712]);
}

/// `tests::epoch::test_outdated_weights`: weights and bonds on a server replaced by a new
/// registration are outdated until each validator sets weights again.
#[test]
fn test_outdated_weights() {
    let n = 4;
    let mut net = Subnet::disable_commit_reveal(1, 0); // tempo 0: activity cutoff 1 block
    net.params.max_allowed_validators = n;
    for _ in 0..n {
        net.register(1);
    }
    net.epoch(E); // permits
    net.next_block();
    for uid in 0..2 {
        net.set_weights(uid, &[2, 3], &[2 * (u16::MAX / 3), u16::MAX / 3]);
    }
    for uid in 2..4 {
        net.set_weights(uid, &[uid as u16], &[u16::MAX]); // server self-weight
    }
    net.epoch(E);

    // === Dereg server2 at uid3 (least emission) + register new key over uid3
    net.replace(3, 0);
    net.next_block();
    net.set_weights(0, &[2, 3], &[2 * (u16::MAX / 3), u16::MAX / 3]);
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].dividends, 32767); // floor(0.5 * 65_535)
    assert_eq!(out.neurons[0].emission, Rao(250_000_000));
    assert_eq!(net.bond(0, 2), 65_535);
    assert_eq!(net.bond(0, 3), 65_535); // only uid0 has updated weights for the new registration
}

/// `tests::epoch::test_zero_weights`: with no usable weights the emission goes to validators
/// by stake; once weights are valid it is split between incentive and dividends.
#[test]
fn test_zero_weights() {
    let n = 2;
    let mut net = Subnet::disable_commit_reveal(1, u16::MAX - 1);
    for _ in 0..n {
        net.register(0);
    }
    net.add_stake(0, 1);

    // === No weights
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].emission, Rao(E));
    assert_eq!(out.neurons[1].emission, Rao(0));

    // === Self-weights only (run_to_block(1) is a no-op at block 1)
    net.set_weights(1, &[1], &[u16::MAX]);
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].emission, Rao(E));
    assert_eq!(out.neurons[1].emission, Rao(0));

    // === Set weights [val->srv: 1], then outdate them by re-registering the server
    net.block = 2;
    net.set_weights(0, &[1], &[u16::MAX]);
    net.replace(1, 0);
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].emission, Rao(E));
    assert_eq!(out.neurons[1].emission, Rao(0));

    // === New weights after the registration count
    net.block = 3;
    net.set_weights(0, &[1], &[u16::MAX]);
    let out = net.epoch(E);
    assert_eq!(out.neurons[0].emission, Rao(E / 2));
    assert_eq!(out.neurons[1].emission, Rao(E / 2));
}

/// `tests::epoch::test_deregistered_miner_bonds`: bonds on a miner registered since the last
/// epoch are dropped before the EMA.
#[test]
fn test_deregistered_miner_bonds() {
    let n = 4;
    let high_tempo = u16::MAX - 1;
    let mut net = Subnet::disable_commit_reveal(1, high_tempo);
    net.params.max_allowed_validators = n;
    for _ in 0..n {
        net.register(1);
    }
    net.epoch(E);
    net.next_block();
    for uid in 0..2 {
        net.set_weights(uid, &[2, 3], &[2 * (u16::MAX / 3), u16::MAX / 3]);
    }
    net.next_block();
    net.next_block();
    net.params.tempo = 2;
    net.epoch(E);
    let (bond_0_2, bond_0_3) = (net.bond(0, 2), net.bond(0, 3));
    assert!(bond_0_2 > 0 && bond_0_3 > 0);

    net.params.tempo = high_tempo;
    net.next_block();
    net.replace(3, 0);
    for uid in 0..2 {
        net.set_weights(uid, &[2, 3], &[2 * (u16::MAX / 3), u16::MAX / 3]);
    }
    net.next_block();
    assert!(net.neurons[3].registered_at >= net.block - 2);
    net.params.tempo = 2;
    net.epoch(E);
    assert!(net.bond(0, 2) >= bond_0_2, "{} < {bond_0_2}", net.bond(0, 2));
    assert!(net.bond(0, 3) <= bond_0_3, "{} > {bond_0_3}", net.bond(0, 3));
}

/// `tests::epoch::test_validator_permits`: permits go to the highest stakes over the stake
/// threshold, and move when servers out-stake validators.
#[test]
fn test_validator_permits() {
    for interleave in 0..3 {
        for (network_n, validators_n) in [(2usize, 1usize), (4, 2), (8, 4)] {
            let min_stake = validators_n as u64;
            for assignment in 0..=1 {
                let (validators, servers) = distribute_nodes(validators_n, network_n, interleave);
                let mut stake = vec![0u64; network_n];
                for &v in &validators {
                    stake[usize::from(v)] = if assignment == 1 { u64::from(v) + network_n as u64 } else { 1 };
                }
                for &s in &servers {
                    stake[usize::from(s)] = if assignment == 1 { u64::from(s) } else { 0 };
                }
                let mut net = Subnet::add_network(1, u16::MAX - 1);
                net.params.stake_threshold = min_stake;
                for &s in &stake {
                    net.register(s);
                }
                net.params.max_allowed_validators = validators_n as u16;
                net.epoch(E);
                for &v in &validators {
                    assert_eq!(stake[usize::from(v)] >= min_stake, net.neurons[usize::from(v)].validator_permit);
                }
                for &s in &servers {
                    assert!(!net.neurons[usize::from(s)].validator_permit);
                }
                for &s in &servers {
                    net.add_stake(usize::from(s), 2 * network_n as u64);
                }
                net.epoch(E);
                for &v in &validators {
                    assert!(!net.neurons[usize::from(v)].validator_permit);
                }
                for &s in &servers {
                    let permitted = stake[usize::from(s)] + 2 * network_n as u64 >= min_stake;
                    assert_eq!(permitted, net.neurons[usize::from(s)].validator_permit);
                }
            }
        }
    }
}

/// `tests::epoch::test_can_set_self_weight_as_subnet_owner`: the owner's self-weight counts.
#[test]
fn test_can_set_self_weight_as_subnet_owner() {
    let mut net = Subnet::add_network(1, 360); // add_dynamic_network: the owner hotkey is uid 0
    net.owner_uid = Some(0);
    net.register(0);
    net.register(0);
    net.add_stake(0, 5_000_000_000_000);
    net.neurons[0].validator_permit = true;
    let half = u16::MAX / 2;
    net.neurons[0].weights = vec![(0, half), (1, half)]; // inserted into storage as is
    net.block = 2; // step_block(1)
    net.neurons[0].last_update = 2;
    net.neurons[1].last_update = 0;
    let out = net.epoch(1_000_000_000);
    assert!(out.neurons[0].server_emission > Rao(0));
    assert!(out.neurons[1].server_emission > Rao(0));
    assert_eq!(out.neurons[0].server_emission, out.neurons[1].server_emission);
    // Without the owner exemption the self-weight is dropped.
    net.owner_uid = None;
    let out = epoch(&net.input(1_000_000_000)).unwrap();
    assert_eq!(out.neurons[0].server_emission, Rao(0));
}

/// `tests::epoch::test_epoch_outputs_single_staker_registered_no_weights`.
#[test]
fn test_epoch_outputs_single_staker_registered_no_weights() {
    let mut net = Subnet::add_network(1, u16::MAX - 1);
    net.register(1);
    let pending = 1_000_000_000;
    let out = net.epoch(pending);
    let paid: u64 = out.neurons.iter().map(|x| x.server_emission.0 + x.validator_emission.0).sum();
    assert!(paid.abs_diff(pending) <= 1_000, "{paid}");
}

/// The chain's commit-reveal epoch tests (`test_epoch_masks_incoming_to_sniped_uid_...`,
/// `test_epoch_does_not_mask_outside_window_but_masks_inside`,
/// `test_epoch_no_mask_when_commit_reveal_disabled`) drive commits through extrinsics and
/// automatic epochs. Built by hand: a validator whose unexpired commit predates a miner's
/// registration gets no weight to that miner; an expired commit, or commit-reveal off, masks
/// nothing.
#[test]
fn test_commit_reveal_masks_weights_to_miners_registered_after_a_live_commit() {
    let mut net = Subnet::add_network(1, 10);
    net.params.reveal_period = 2;
    net.params.max_allowed_validators = 3;
    let val = net.register(10_000);
    net.neurons[val].validator_permit = true;
    net.register(100);
    net.register(5_000);
    net.block = 21;
    // Commit in epoch 2 at block 21; then uid 1 is sniped at block 22.
    net.neurons[val].commits = vec![WeightCommit { epoch: 2, block: 21 }];
    net.block = 22;
    net.replace(1, 10_000);
    net.block = 23;
    net.set_weights(val, &[0, 1], &[u16::MAX / 2, u16::MAX / 2]);
    let mut input = net.input(1_000);
    input.epoch_index = 3; // 3 <= 2 + 2: the commit is live
    let out = epoch(&input).unwrap();
    assert_eq!(out.neurons[1].incentive, 0, "weights to the sniped uid are masked");
    input.params.commit_reveal = false;
    assert_eq!(epoch(&input).unwrap().neurons[1].incentive, 65535, "no mask without commit-reveal");
    input.params.commit_reveal = true;
    input.epoch_index = 5; // 5 > 2 + 2: expired
    assert_eq!(epoch(&input).unwrap().neurons[1].incentive, 65535, "an expired commit masks nothing");

    // Two commits: the first (block 8, epoch 1) expired, the second (block 30, epoch 4) live.
    let mut net = Subnet::add_network(1, 8);
    net.params.reveal_period = 2;
    net.params.max_allowed_validators = 1;
    let v = net.register(10_000);
    net.neurons[v].validator_permit = true;
    net.block = 9;
    net.register(1_000); // uid 1: after the first commit, before the second
    net.block = 31;
    net.register(1_000); // uids 2, 3: after the second commit
    net.register(1_000);
    net.block = 32;
    net.neurons[v].commits = vec![WeightCommit { epoch: 1, block: 8 }, WeightCommit { epoch: 4, block: 30 }];
    net.set_weights(v, &[1, 2, 3], &[u16::MAX / 3; 3]);
    let mut input = net.input(1_000);
    input.epoch_index = 5;
    let out = epoch(&input).unwrap();
    assert!(out.neurons[1].incentive > 0, "uid 1 (outside the window) unmasked");
    assert_eq!(out.neurons[2].incentive, 0, "uid 2 (inside the window) masked");
    assert_eq!(out.neurons[3].incentive, 0, "uid 3 (inside the window) masked");
}

/// The Yuma3 scenarios' setup (`setup_yuma_3_scenario`): tempo 1, bonds penalty 0, bonds
/// moving average 975,000, kappa 0.5, liquid alpha in [0.1, 0.3] with steepness 1000, Yuma3,
/// 3 validator permits; a first epoch in the next block issues the permits.
fn setup_yuma_3_scenario(stakes: &[u64]) -> Subnet {
    let mut net = Subnet::disable_commit_reveal(1, 1);
    net.params.bonds_penalty = 0;
    net.params.alpha_sigmoid_steepness = 1000;
    net.params.bonds_moving_average = 975_000;
    for &s in stakes {
        net.register(s);
    }
    net.params.kappa = u16::MAX / 2;
    net.params.liquid_alpha = true;
    // set_alpha_values_32(0.1, 0.3): (0.1 * 65535) and (0.3 * 65535) truncated in I32F32.
    let to_u16 = |x: f64| (I32F32::from_num(x) * I32F32::from_num(u16::MAX)).to_num::<u16>();
    net.params.alpha_low = to_u16(0.1);
    net.params.alpha_high = to_u16(0.3);
    net.params.yuma3 = true;
    net.params.max_allowed_validators = 3;
    run_epoch(&mut net);
    net
}

fn run_epoch(net: &mut Subnet) -> EpochOutput {
    net.next_block(); // next_block_no_epoch
    net.epoch(E)
}

fn set_yuma_3_weights(net: &mut Subnet, weights: &[Vec<u16>], indices: &[u16]) {
    for (uid, w) in weights.iter().enumerate() {
        net.set_weights(uid, indices, w);
    }
}

/// The chain's `run_epoch_and_check_bonds_dividends`: dividends within 1e-3 of the target.
/// (The chain's bond loop zips each bond row with `target.skip(3)`, which is empty, so it
/// checks no bond; we check the servers' bonds, stored as `u16 / 65535`, within 1e-3 too.)
fn run_epoch_and_check(net: &mut Subnet, target_bonds: &[Vec<f32>], target_dividends: &[f32], context: &str) {
    let out = run_epoch(net);
    let eps = I32F32::from_num(1e-3);
    for (uid, (x, &t)) in out.neurons.iter().zip(target_dividends).enumerate() {
        let d = u16_proportion_to_fixed(x.dividends);
        assert!((d - I32F32::from_num(t)).abs() <= eps, "{context}: dividends[{uid}] = {d}, chain {t}");
    }
    for (i, row) in target_bonds.iter().enumerate() {
        for (k, &t) in row.iter().enumerate() {
            let j = 3 + k as u16;
            let b = u16_proportion_to_fixed(net.bond(i, j));
            assert!((b - I32F32::from_num(t)).abs() <= eps, "{context}: bond[{i}][{j}] = {b}, chain {t}");
        }
    }
}

/// The chain's Yuma3 case tables: per epoch, the weights set before it and the targets.
struct Yuma3Case {
    name: &'static str,
    stakes: Vec<u64>,
    liquid_alpha: bool,
    indices: Vec<u16>,
    weights: fn(usize) -> Option<Vec<Vec<u16>>>,
    bonds: Vec<Vec<Vec<f32>>>,
    dividends: Vec<Vec<f32>>,
}

fn run_yuma3_case(case: &Yuma3Case) {
    let mut net = setup_yuma_3_scenario(&case.stakes);
    net.params.liquid_alpha = case.liquid_alpha;
    for (epoch, (bonds, dividends)) in case.bonds.iter().zip(&case.dividends).enumerate() {
        if let Some(w) = (case.weights)(epoch) {
            set_yuma_3_weights(&mut net, &w, &case.indices);
        }
        run_epoch_and_check(&mut net, bonds, dividends, &format!("{} epoch {epoch}", case.name));
    }
}

const M: u16 = u16::MAX;

#[test]
fn test_yuma_3_kappa_moves_first() {
    run_yuma3_case(&Yuma3Case {
        name: "kappa_moves_first",
        stakes: vec![8, 1, 1, 0, 0],
        liquid_alpha: true,
        indices: vec![3, 4],
        weights: |e| match e {
            0 => Some(vec![vec![M, 0]; 3]),
            1 => Some(vec![vec![0, M], vec![M, 0], vec![M, 0]]),
            2 => Some(vec![vec![0, M], vec![0, M], vec![M, 0]]),
            3 => Some(vec![vec![0, M]; 3]),
            _ => None,
        },
        bonds: vec![
            vec![vec![0.1013, 0.0000], vec![0.1013, 0.0000], vec![0.1013, 0.0000]],
            vec![vec![0.0908, 0.1013], vec![0.3697, 0.0000], vec![0.3697, 0.0000]],
            vec![vec![0.0815, 0.1924], vec![0.3170, 0.1013], vec![0.5580, 0.0000]],
            vec![vec![0.0731, 0.2742], vec![0.2765, 0.1924], vec![0.4306, 0.1013]],
            vec![vec![0.0656, 0.3478], vec![0.2435, 0.2742], vec![0.3589, 0.1924]],
            vec![vec![0.0588, 0.4139], vec![0.2157, 0.3478], vec![0.3089, 0.2742]],
        ],
        dividends: vec![
            vec![0.8000, 0.1000, 0.1000, 0.0000, 0.0000],
            vec![1.0000, 0.0000, 0.0000, 0.0000, 0.0000],
            vec![0.9382, 0.0618, 0.0000, 0.0000, 0.0000],
            vec![0.8819, 0.0773, 0.0407, 0.0000, 0.0000],
            vec![0.8564, 0.0844, 0.0592, 0.0000, 0.0000],
            vec![0.8418, 0.0884, 0.0697, 0.0000, 0.0000],
        ],
    });
}

#[test]
fn test_yuma_3_kappa_moves_second() {
    run_yuma3_case(&Yuma3Case {
        name: "kappa_moves_second",
        stakes: vec![8, 1, 1, 0, 0],
        liquid_alpha: true,
        indices: vec![3, 4],
        weights: |e| match e {
            0 => Some(vec![vec![M, 0]; 3]),
            1 => Some(vec![vec![M, 0], vec![0, M], vec![M, 0]]),
            2 => Some(vec![vec![0, M], vec![0, M], vec![M, 0]]),
            3 => Some(vec![vec![0, M]; 3]),
            _ => None,
        },
        bonds: vec![
            vec![vec![0.1013, 0.0000], vec![0.1013, 0.0000], vec![0.1013, 0.0000]],
            vec![vec![0.1924, 0.0000], vec![0.0908, 0.2987], vec![0.1924, 0.0000]],
            vec![vec![0.1715, 0.1013], vec![0.0815, 0.3697], vec![0.4336, 0.0000]],
            vec![vec![0.1531, 0.1924], vec![0.0731, 0.4336], vec![0.3608, 0.1013]],
            vec![vec![0.1369, 0.2742], vec![0.0656, 0.4910], vec![0.3103, 0.1924]],
            vec![vec![0.1225, 0.3478], vec![0.0588, 0.5426], vec![0.2712, 0.2742]],
        ],
        dividends: vec![
            vec![0.8000, 0.1000, 0.1000, 0.0000, 0.0000],
            vec![0.8446, 0.0498, 0.1056, 0.0000, 0.0000],
            vec![0.6868, 0.3132, 0.0000, 0.0000, 0.0000],
            vec![0.7421, 0.2090, 0.0489, 0.0000, 0.0000],
            vec![0.7625, 0.1706, 0.0669, 0.0000, 0.0000],
            vec![0.7730, 0.1508, 0.0762, 0.0000, 0.0000],
        ],
    });
}

#[test]
fn test_yuma_3_kappa_moves_last() {
    run_yuma3_case(&Yuma3Case {
        name: "kappa_moves_last",
        stakes: vec![8, 1, 1, 0, 0],
        liquid_alpha: true,
        indices: vec![3, 4],
        weights: |e| match e {
            0 => Some(vec![vec![M, 0]; 3]),
            1 => Some(vec![vec![M, 0], vec![0, M], vec![M, 0]]),
            2 => Some(vec![vec![M, 0], vec![0, M], vec![0, M]]),
            3 => Some(vec![vec![0, M]; 3]),
            _ => None,
        },
        bonds: vec![
            vec![vec![0.1013, 0.0000], vec![0.1013, 0.0000], vec![0.1013, 0.0000]],
            vec![vec![0.1924, 0.0000], vec![0.0908, 0.2987], vec![0.1924, 0.0000]],
            vec![vec![0.2742, 0.0000], vec![0.0815, 0.5081], vec![0.1715, 0.2987]],
            vec![vec![0.2416, 0.1013], vec![0.0731, 0.5580], vec![0.1531, 0.3697]],
            vec![vec![0.2141, 0.1924], vec![0.0656, 0.6028], vec![0.1369, 0.4336]],
            vec![vec![0.1903, 0.2742], vec![0.0588, 0.6430], vec![0.1225, 0.4910]],
        ],
        dividends: vec![
            vec![0.8000, 0.1000, 0.1000, 0.0000, 0.0000],
            vec![0.8446, 0.0498, 0.1056, 0.0000, 0.0000],
            vec![0.8966, 0.0333, 0.0701, 0.0000, 0.0000],
            vec![0.4663, 0.3210, 0.2127, 0.0000, 0.0000],
            vec![0.5976, 0.2340, 0.1683, 0.0000, 0.0000],
            vec![0.6592, 0.1932, 0.1475, 0.0000, 0.0000],
        ],
    });
}

#[test]
fn test_yuma_3_one_epoch_switch() {
    run_yuma3_case(&Yuma3Case {
        name: "one_epoch_switch",
        stakes: vec![33, 33, 34, 0, 0],
        liquid_alpha: true,
        indices: vec![3, 4],
        weights: |e| match e {
            2 => Some(vec![vec![M, 0], vec![M, 0], vec![0, M]]),
            _ => Some(vec![vec![M, 0]; 3]),
        },
        bonds: vec![
            vec![vec![0.1013, 0.0000], vec![0.1013, 0.0000], vec![0.1013, 0.0000]],
            vec![vec![0.1924, 0.0000], vec![0.1924, 0.0000], vec![0.1924, 0.0000]],
            vec![vec![0.2742, 0.0000], vec![0.2742, 0.0000], vec![0.1715, 0.2987]],
            vec![vec![0.3478, 0.0000], vec![0.3478, 0.0000], vec![0.2554, 0.2618]],
            vec![vec![0.4139, 0.0000], vec![0.4139, 0.0000], vec![0.3309, 0.2312]],
            vec![vec![0.4733, 0.0000], vec![0.4733, 0.0000], vec![0.3987, 0.2051]],
        ],
        dividends: vec![
            vec![0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
            vec![0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
            vec![0.3782, 0.3782, 0.2436, 0.0000, 0.0000],
            vec![0.3628, 0.3628, 0.2745, 0.0000, 0.0000],
            vec![0.3541, 0.3541, 0.2917, 0.0000, 0.0000],
            vec![0.3487, 0.3487, 0.3026, 0.0000, 0.0000],
        ],
    });
}

#[test]
fn test_yuma_3_liquid_alpha_disabled() {
    run_yuma3_case(&Yuma3Case {
        name: "liquid_alpha_disabled",
        stakes: vec![33, 33, 34, 0, 0],
        liquid_alpha: false,
        indices: vec![3, 4],
        weights: |e| match e {
            2 => Some(vec![vec![M, 0], vec![M, 0], vec![0, M]]),
            _ => Some(vec![vec![M, 0]; 3]),
        },
        // The chain's bond targets here have three columns per row and are never checked
        // (see `run_epoch_and_check`); the dividends are.
        bonds: vec![vec![]; 6],
        dividends: vec![
            vec![0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
            vec![0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
            vec![0.3734, 0.3734, 0.2532, 0.0000, 0.0000],
            vec![0.3611, 0.3611, 0.2779, 0.0000, 0.0000],
            vec![0.3541, 0.3541, 0.2919, 0.0000, 0.0000],
            vec![0.3495, 0.3495, 0.3009, 0.0000, 0.0000],
        ],
    });
}

#[test]
fn test_yuma_3_stable_miner() {
    run_yuma3_case(&Yuma3Case {
        name: "stable_miner",
        stakes: vec![8, 1, 1, 0, 0, 0],
        liquid_alpha: true,
        indices: vec![3, 4, 5],
        weights: |e| {
            let h = u16::MAX / 2;
            match e {
                0 => Some(vec![vec![h, 0, h]; 3]),
                1 => Some(vec![vec![h, 0, h], vec![0, h, h], vec![h, 0, h]]),
                2 => Some(vec![vec![0, h, h], vec![0, h, h], vec![h, 0, h]]),
                3 => Some(vec![vec![0, h, h]; 3]),
                _ => None,
            }
        },
        bonds: vec![
            vec![vec![0.0507, 0.0000, 0.0507], vec![0.0507, 0.0000, 0.0507], vec![0.0507, 0.0000, 0.0507]],
            vec![vec![0.0962, 0.0000, 0.0962], vec![0.0455, 0.1000, 0.0962], vec![0.0962, 0.0000, 0.0962]],
            vec![vec![0.0863, 0.0507, 0.1371], vec![0.0408, 0.1405, 0.1371], vec![0.1770, 0.0000, 0.1371]],
            vec![vec![0.0774, 0.0962, 0.1739], vec![0.0367, 0.1770, 0.1739], vec![0.1579, 0.0507, 0.1739]],
            vec![vec![0.0694, 0.1371, 0.2069], vec![0.0329, 0.2097, 0.2069], vec![0.1411, 0.0962, 0.2069]],
            vec![vec![0.0623, 0.1739, 0.2366], vec![0.0296, 0.2391, 0.2366], vec![0.1263, 0.1371, 0.2366]],
        ],
        dividends: vec![
            vec![0.8000, 0.1000, 0.1000, 0.0000, 0.0000, 0.0000],
            vec![0.8226, 0.0745, 0.1028, 0.0000, 0.0000, 0.0000],
            vec![0.7750, 0.1685, 0.0565, 0.0000, 0.0000, 0.0000],
            vec![0.7864, 0.1372, 0.0764, 0.0000, 0.0000, 0.0000],
            vec![0.7912, 0.1241, 0.0847, 0.0000, 0.0000, 0.0000],
            vec![0.7937, 0.1173, 0.0890, 0.0000, 0.0000, 0.0000],
        ],
    });
}

/// `tests::epoch::test_yuma_3_bonds_reset`: with bonds reset on, a miner's column of bonds
/// is removed (`do_reset_bonds`, here at epoch 20 for uid 3) and rebuilds from zero.
#[test]
fn test_yuma_3_bonds_reset() {
    let mut net = setup_yuma_3_scenario(&[8, 1, 1, 0, 0]);
    let targets: [(usize, [f32; 5], [[f32; 2]; 3]); 7] = [
        (0, [0.8000, 0.1000, 0.1000, 0.0, 0.0], [[0.1013, 0.0000], [0.1013, 0.0000], [0.1013, 0.0000]]),
        (1, [0.8944, 0.0528, 0.0528, 0.0, 0.0], [[0.1924, 0.0000], [0.0908, 0.2987], [0.0908, 0.2987]]),
        (2, [0.5230, 0.2385, 0.2385, 0.0, 0.0], [[0.1715, 0.1013], [0.0815, 0.3697], [0.0815, 0.3697]]),
        (19, [0.7919, 0.1040, 0.1040, 0.0, 0.0], [[0.0269, 0.8539], [0.0131, 0.8975], [0.0131, 0.8975]]),
        (20, [0.7928, 0.1036, 0.1036, 0.0, 0.0], [[0.0000, 0.8687], [0.0000, 0.9079], [0.0000, 0.9079]]),
        (21, [0.8467, 0.0766, 0.0766, 0.0, 0.0], [[0.0000, 0.8820], [0.2987, 0.6386], [0.2987, 0.6386]]),
        (40, [0.7928, 0.1036, 0.1036, 0.0, 0.0], [[0.8687, 0.0578], [0.9079, 0.0523], [0.9079, 0.0523]]),
    ];
    for epoch in 0..=40 {
        let w = match epoch {
            0 => vec![vec![M, 0]; 3],
            1 => vec![vec![M, 0], vec![0, M], vec![0, M]],
            2..=20 => vec![vec![0, M]; 3],
            21 => vec![vec![0, M], vec![M, 0], vec![M, 0]],
            _ => vec![vec![M, 0]; 3],
        };
        set_yuma_3_weights(&mut net, &w, &[3, 4]);
        if epoch == 20 {
            for neuron in &mut net.neurons {
                neuron.bonds.retain(|b| b.0 != 3);
            }
        }
        match targets.iter().find(|t| t.0 == epoch) {
            Some((_, d, b)) => {
                let b: Vec<Vec<f32>> = b.iter().map(|r| r.to_vec()).collect();
                run_epoch_and_check(&mut net, &b, d, &format!("bonds_reset epoch {epoch}"));
            }
            None => {
                run_epoch(&mut net);
            }
        }
    }
}

/// A subnet set up the way `tests/epoch_logs.rs` does it (`setup_epoch`): storage written
/// directly, tempo 10, block 1, `MaxAllowedValidators` 100 (mock default), Yuma3 off (storage
/// default), commit-reveal off.
fn logs_subnet(neurons: &[(bool, u64, u64, u64)], block: u64) -> Subnet {
    let mut net = Subnet::disable_commit_reveal(block, 10);
    net.params.max_allowed_validators = 100;
    for &(validator, stake, registered, updated) in neurons {
        let uid = net.append_at(stake, registered);
        net.neurons[uid].last_update = updated;
        net.neurons[uid].validator_permit = validator;
    }
    net
}

fn emissions(out: &EpochOutput) -> Vec<u64> {
    out.neurons.iter().map(|x| x.emission.0).collect()
}

/// `tests::epoch_logs`: the traced intermediate values, checked on the stored outputs.
#[test]
fn test_epoch_logs_cases() {
    let v = |s: u64| (true, s, 0, 1);
    let s = (false, 0, 0, 1);
    // test_simple: no weights, equal stake: the emission goes to validators by stake.
    let mut net = logs_subnet(&[v(E), v(E)], 1);
    let out = net.epoch(E);
    assert_eq!(emissions(&out), [500_000_000, 500_000_000]);
    assert_eq!(out.neurons.iter().map(|x| x.consensus).collect::<Vec<_>>(), [0, 0]);
    assert!(out.neurons.iter().all(|x| x.validator_permit));
    assert_eq!(out.neurons.iter().map(|x| x.stake_weight).collect::<Vec<_>>(), [32767, 32767]);

    // test_inactive_mask_zeroes_active_stake / yuma_emergency_mode: everyone inactive,
    // the emission falls back to plain stake.
    let mut net = logs_subnet(&[(true, E, 0, 0), (true, E, 0, 0)], 1_000_000);
    let out = net.epoch(E);
    assert!(out.neurons.iter().all(|x| !x.active));
    assert_eq!(emissions(&out), [500_000_000, 500_000_000]);

    // test_validator_permit_masks_active_stake: a forbidden validator's stake is masked.
    let mut net = logs_subnet(&[v(E), (false, E, 0, 1)], 1);
    assert_eq!(emissions(&net.epoch(E)), [E, 0]);

    // epoch_uses_active_stake_when_nonzero_active
    let mut net = logs_subnet(&[(true, E, 0, 999), (true, E, 0, 1)], 1000);
    let out = net.epoch(E);
    assert_eq!(out.neurons.iter().map(|x| x.active).collect::<Vec<_>>(), [true, false]);
    assert_eq!(emissions(&out), [E, 0]);

    // epoch_topk_validator_permits
    let mut net = logs_subnet(&[v(2 * E), v(E)], 1);
    net.params.max_allowed_validators = 1;
    let out = net.epoch(E);
    assert_eq!(out.neurons.iter().map(|x| x.validator_permit).collect::<Vec<_>>(), [true, false]);
    assert_eq!(out.neurons[0].stake_weight, 43689); // floor(0.666.. * 65535)

    // test_validators_weight_two_distinct_servers
    let mut net = logs_subnet(&[v(E), v(E), v(E), s, s], 1);
    let w = [[M, 0], [0, M], [M, 0]];
    for (uid, row) in w.iter().enumerate() {
        net.set_weights(uid, &[3, 4], row);
    }
    let out = net.epoch(E);
    assert_eq!(out.neurons.iter().map(|x| x.consensus).collect::<Vec<_>>(), [0, 0, 0, 65535, 0]);
    assert_eq!(out.neurons.iter().map(|x| x.validator_trust).collect::<Vec<_>>(), [65535, 0, 65535, 0, 0]);
    assert_eq!(out.neurons.iter().map(|x| x.dividends).collect::<Vec<_>>(), [32767, 0, 32767, 0, 0]);
    assert_eq!(emissions(&out), [250_000_000, 0, 250_000_000, 500_000_000, 0]);
    assert!(net.neurons[1].bonds.is_empty(), "weight off consensus is clipped away: no bond");

    // test_validator_splits_weight_across_two_servers
    let mut net = logs_subnet(&[v(E), v(E), v(E), s, s], 1);
    let w = [[M, 0], [0, M], [M, M]];
    for (uid, row) in w.iter().enumerate() {
        net.set_weights(uid, &[3, 4], row);
    }
    let out = net.epoch(E);
    assert_eq!(out.neurons.iter().map(|x| x.dividends).collect::<Vec<_>>(), [16383, 16383, 32767, 0, 0]);
    assert_eq!(emissions(&out), [125_000_000, 125_000_000, 250_000_000, 250_000_000, 250_000_000]);

    // epoch_mechanism_reads_weights_per_mechanism / three_mechanisms: one epoch per mechanism,
    // each with its own weights and 1000 rao.
    for (rows, want) in [
        (vec![vec![(3u16, M)], vec![(4, M)], vec![(3, M)]], vec![250, 0, 250, 500, 0]),
        (vec![vec![(4, M)], vec![(3, M)], vec![(4, M)]], vec![250, 0, 250, 0, 500]),
    ] {
        let mut net = logs_subnet(&[v(E), v(E), v(E), s, s], 1);
        for (uid, row) in rows.into_iter().enumerate() {
            net.neurons[uid].weights = row;
        }
        assert_eq!(emissions(&net.epoch(1_000)), want);
    }
    for (rows, want) in [
        (vec![vec![(2u16, M)], vec![(2, M)]], vec![250, 250, 500, 0]),
        (vec![vec![(2, M), (3, M)], vec![(2, M), (3, M)]], vec![250, 250, 250, 250]),
        (vec![vec![(3, M)], vec![(3, M)]], vec![250, 250, 0, 500]),
    ] {
        let mut net = logs_subnet(&[v(E), v(E), s, s], 1);
        for (uid, row) in rows.into_iter().enumerate() {
            net.neurons[uid].weights = row;
        }
        assert_eq!(emissions(&net.epoch(1_000)), want);
    }
}

/// A deterministic random subnet for the sequence and property tests.
fn random_subnet(seed: u64, n: usize, validators: usize, yuma3: bool, liquid: bool) -> EpochInput {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut input = EpochInput {
        block: 1_000,
        emission: Rao(1_000_000_000),
        params: EpochParams {
            yuma3,
            liquid_alpha: liquid,
            commit_reveal: false,
            max_allowed_validators: validators as u16,
            ..EpochParams::default()
        },
        ..EpochInput::default()
    };
    for uid in 0..n {
        let is_validator = uid < validators;
        let mut neuron = NeuronInput {
            alpha_stake: Rao(if is_validator { 1 + next() % 1_000_000_000_000 } else { next() % 1_000 }),
            root_stake: Rao(next() % 1_000_000_000_000),
            last_update: 990,
            registered_at: next() % 20,
            validator_permit: is_validator,
            ..NeuronInput::default()
        };
        if is_validator {
            let raw: Vec<u16> = (validators..n).map(|_| (next() % 65_536) as u16).collect();
            let up = vec_u16_max_upscale_to_u16(&raw);
            neuron.weights = (validators as u16..n as u16).zip(up).collect();
        }
        input.neurons.push(neuron);
    }
    input
}

/// Feeding each epoch's output bonds and permits into the next input continues the sequence
/// exactly: in memory ([`EpochInput::apply_output`]) and through the JSON format (the next
/// file built from the rendered output), for every bond variant.
#[test]
fn multi_epoch_sequences_continue_exactly_through_outputs_and_json() {
    for (yuma3, liquid) in [(false, false), (true, false), (true, true)] {
        let mut memory = random_subnet(7, 24, 6, yuma3, liquid);
        let mut json_text = serde_json::to_string(&memory).unwrap();
        let mut ws = EpochWorkspace::default();
        let mut outputs = Vec::new();
        for step in 0..8 {
            let out = epoch_with(&mut ws, &memory).unwrap();
            let from_json = parse_input(&json_text).unwrap();
            assert_eq!(from_json, memory, "step {step}: the JSON route holds the same state");
            assert_eq!(epoch(&from_json).unwrap(), out, "step {step}: same results from a fresh workspace");

            // Next state in memory: the chain persists permits and bonds; validators with a
            // permit set weights again a few blocks before the next epoch.
            memory.apply_output(&out);
            memory.block += 360;
            for neuron in memory.neurons.iter_mut().filter(|x| x.validator_permit) {
                neuron.last_update = memory.block - 5;
            }
            // Next state through the files: the previous input plus the rendered output.
            let rendered: serde_json::Value = serde_json::from_str(&render_output(&from_json, &out)).unwrap();
            let mut next: serde_json::Value = serde_json::from_str(&json_text).unwrap();
            let block = next["block"].as_u64().unwrap() + 360;
            for (uid, x) in rendered["neurons"].as_array().unwrap().iter().enumerate() {
                next["neurons"][uid]["bonds"] = x["bonds"].clone();
                next["neurons"][uid]["validator_permit"] = x["validator_permit"].clone();
                if x["validator_permit"] == true {
                    next["neurons"][uid]["last_update"] = (block - 5).into();
                }
            }
            next["last_mechanism_step_block"] = rendered["block"].clone();
            next["block"] = block.into();
            json_text = next.to_string();
            outputs.push(out);
        }
        assert!(outputs.windows(2).any(|w| w[0].neurons != w[1].neurons), "the sequence moves");
        assert!(memory.neurons.iter().any(|x| !x.bonds.is_empty()), "bonds accumulate");
    }
}

/// Random subnets of up to 40 neurons with every parameter drawn; stakes from `stake`.
fn arb_input(stake: BoxedStrategy<u64>) -> impl Strategy<Value = EpochInput> {
    let neuron = (
        stake.clone(),
        stake,
        0u64..2_000,
        0u64..2_000,
        any::<bool>(),
        proptest::collection::vec((0u16..40, any::<u16>()), 0..12),
        proptest::collection::vec((0u16..40, any::<u16>()), 0..6),
        proptest::collection::vec((0u64..6, 0u64..2_000), 0..2),
    );
    let params = (
        any::<u16>(),
        any::<u16>(),
        0u64..=1_000_000,
        any::<u64>(),
        0u16..50,
        any::<bool>(),
        any::<bool>(),
        any::<i16>(),
        (any::<u16>(), any::<u16>()),
        prop_oneof![Just(0u64), 0u64..1_000_000_000_000],
        any::<bool>(),
        0u16..500,
    );
    (
        proptest::collection::vec(neuron, 0..40),
        0u64..3_000,
        prop_oneof![Just(0u64), Just(u64::MAX), 0u64..10_000_000_000_000],
        params,
        proptest::option::of(0u16..40),
        0u64..3_000,
        0u64..8,
    )
        .prop_map(|(neurons, block, emission, params, owner, lms, epoch_index)| {
            let (
                kappa,
                penalty,
                bma,
                tao_weight,
                max_validators,
                yuma3,
                liquid,
                steepness,
                alpha,
                threshold,
                cr,
                tempo,
            ) = params;
            let n = neurons.len();
            let mut input = EpochInput {
                block,
                emission: Rao(emission),
                params: EpochParams {
                    kappa,
                    bonds_penalty: penalty,
                    bonds_moving_average: bma,
                    tao_weight,
                    max_allowed_validators: max_validators,
                    yuma3,
                    liquid_alpha: liquid,
                    alpha_sigmoid_steepness: steepness,
                    alpha_low: alpha.0.min(alpha.1),
                    alpha_high: alpha.0.max(alpha.1),
                    stake_threshold: threshold,
                    commit_reveal: cr,
                    tempo,
                    ..EpochParams::default()
                },
                owner_uid: owner.filter(|&o| usize::from(o) < n),
                last_mechanism_step_block: lms,
                epoch_index,
                ..EpochInput::default()
            };
            let dedup = |row: Vec<(u16, u16)>| {
                let mut seen = std::collections::BTreeSet::new();
                row.into_iter().filter(|(j, _)| usize::from(*j) < n && seen.insert(*j)).collect::<Vec<_>>()
            };
            for (alpha_stake, root_stake, last_update, registered_at, permit, weights, bonds, commits) in neurons {
                input.neurons.push(NeuronInput {
                    alpha_stake: Rao(alpha_stake),
                    root_stake: Rao(root_stake),
                    last_update,
                    registered_at,
                    validator_permit: permit,
                    weights: dedup(weights),
                    bonds: dedup(bonds),
                    commits: commits.into_iter().map(|(epoch, block)| WeightCommit { epoch, block }).collect(),
                });
            }
            input
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// No panic on any input the format admits, stakes up to `u64::MAX` included; one output
    /// per neuron; bonds only with a permit.
    #[test]
    fn epoch_never_panics(input in arb_input(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()].boxed())) {
        let out = epoch(&input).unwrap();
        prop_assert_eq!(out.neurons.len(), input.neurons.len());
        for x in &out.neurons {
            prop_assert!(x.validator_permit || x.bonds.is_empty());
        }
    }

    /// The fused epoch gives the chain's step-by-step results bit for bit.
    #[test]
    fn fused_epoch_equals_the_step_by_step_epoch(
        input in arb_input(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0u64..1 << 50].boxed()),
    ) {
        prop_assert_eq!(epoch(&input).unwrap(), epoch_reference(&input).unwrap());
    }

    /// The epoch refuses exactly the inputs `validate` refuses (rows are checked on the way).
    #[test]
    fn the_epoch_checks_rows_like_validate(
        mut input in arb_input(Just(1u64).boxed()),
        extra in proptest::collection::vec((0usize..40, 0u16..45, any::<bool>()), 0..3),
    ) {
        let n = input.neurons.len();
        for (uid, target, bond) in extra {
            if n > 0 {
                let neuron = &mut input.neurons[uid % n];
                let row = if bond { &mut neuron.bonds } else { &mut neuron.weights };
                row.push((target, 7));
            }
        }
        prop_assert_eq!(epoch(&input).is_err(), input.validate().is_err());
    }

    /// With stakes up to the supply (the chain's `I64F64` stake sum does not wrap): incentive
    /// and dividends each sum to 65535 within one unit per neuron (each stored share
    /// truncates) or are all zero; the emission paid never exceeds the epoch's emission and
    /// falls short by at most 2n rao plus 2n * E / 2^32 (each I32F32 share is divided once
    /// with truncation, each rao amount truncates): within a few rao at 1 TAO.
    #[test]
    fn epoch_conserves_shares_and_emission(
        input in arb_input(prop_oneof![Just(0u64), 0u64..21_000_000_000_000_000].boxed()),
    ) {
        let out = epoch(&input).unwrap();
        let n = input.neurons.len() as u64;
        let units = |f: fn(&sim::chain::yuma::NeuronOutput) -> u16| out.neurons.iter().map(|x| u64::from(f(x))).sum::<u64>();
        for (name, total) in [("incentive", units(|x| x.incentive)), ("dividends", units(|x| x.dividends))] {
            prop_assert!(
                total == 0 || (total <= 65_535 && total + n >= 65_535),
                "{} sums to {} over {} neurons", name, total, n
            );
        }
        let paid: u128 = out.neurons.iter().map(|x| u128::from(x.server_emission.0) + u128::from(x.validator_emission.0)).sum();
        let e = u128::from(input.emission.0);
        prop_assert!(paid <= e, "paid {} > emission {}", paid, e);
        if out.neurons.iter().any(|x| x.stake_weight > 0) {
            let n = u128::from(n);
            let bound = 2 * n + (2 * n * e).div_ceil(1 << 32);
            prop_assert!(e - paid <= bound, "paid {} of {}, bound {}", paid, e, bound);
        } else {
            prop_assert_eq!(paid, 0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Each layout, the dense one forced onto every input it applies to, gives the chain's
    /// step-by-step results bit for bit.
    #[test]
    fn dense_and_sparse_paths_equal_the_step_by_step_epoch(
        input in arb_input(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0u64..1 << 50].boxed()),
    ) {
        let want = epoch_reference(&input).unwrap();
        for path in [EpochPath::Dense, EpochPath::DenseSaturating, EpochPath::Sparse, EpochPath::Auto] {
            prop_assert_eq!(&epoch_with(&mut EpochWorkspace::with_path(path), &input).unwrap(), &want, "{:?}", path);
        }
    }
}

/// Dense subnets with every parameter drawn: `validators` rows weighting most of the other
/// uids (some weights 0, some rows unsorted), then several epochs with bonds carried over.
fn arb_dense_sequence() -> impl Strategy<Value = (EpochInput, u64)> {
    (
        2usize..70,
        1usize..20,
        any::<u64>(),
        (any::<u16>(), prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()], 0u64..=1_000_000, any::<bool>()),
        (any::<bool>(), any::<u16>(), 0u16..70, prop_oneof![Just(0u64), 0u64..1_000_000_000]),
        prop_oneof![Just(1u32), Just(2u32), 3u32..64],
    )
        .prop_map(
            |(n, validators, seed, (kappa, penalty, bma, yuma3), (unsorted, ma, owner, threshold), density)| {
                let mut x = seed | 1;
                let mut next = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                let validators = validators.min(n);
                let mut input = EpochInput {
                    block: 5_000,
                    emission: Rao(1_000_000_000),
                    params: EpochParams {
                        kappa,
                        bonds_penalty: penalty,
                        bonds_moving_average: bma,
                        yuma3,
                        liquid_alpha: false,
                        commit_reveal: false,
                        max_allowed_validators: ma,
                        stake_threshold: threshold,
                        ..EpochParams::default()
                    },
                    owner_uid: (usize::from(owner) < n).then_some(owner),
                    ..EpochInput::default()
                };
                for uid in 0..n {
                    let is_validator = uid < validators;
                    let mut neuron = NeuronInput {
                        alpha_stake: Rao(if is_validator { next() % 1_000_000_000_000 } else { next() % 1_000 }),
                        root_stake: Rao(next() % 1_000_000_000),
                        last_update: 4_990 - next() % 8_000 % 4_990,
                        registered_at: next() % 6_000,
                        validator_permit: is_validator || next() % 5 == 0,
                        ..NeuronInput::default()
                    };
                    if is_validator || next() % 7 == 0 {
                        // Most uids, a few skipped (density 1: all), weights spread or clustered.
                        let mut row: Vec<(u16, u16)> = Vec::new();
                        for j in 0..n as u16 {
                            if next() % u64::from(density) != 1 {
                                row.push((j, if next() % 9 == 0 { 0 } else { (next() % 65_536) as u16 }));
                            }
                        }
                        if unsorted && next() % 2 == 0 {
                            row.reverse();
                        }
                        neuron.weights = row;
                    }
                    input.neurons.push(neuron);
                }
                (input, next())
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// On dense subnets, epoch after epoch (bonds, permits and registrations changing), each
    /// layout gives the chain's step-by-step results bit for bit.
    #[test]
    fn dense_subnets_take_either_path_to_the_same_bits((mut input, mut x) in arb_dense_sequence()) {
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut workspaces = [EpochPath::Dense, EpochPath::DenseSaturating, EpochPath::Sparse, EpochPath::Auto]
            .map(EpochWorkspace::with_path);
        for step in 0..4 {
            let want = epoch_reference(&input).unwrap();
            for ws in &mut workspaces {
                prop_assert_eq!(&epoch_with(ws, &input).unwrap(), &want, "step {}", step);
            }
            input.apply_output(&want);
            // The next epoch starts its medians from this one's consensus, some guesses spoiled.
            input.consensus_hint = workspaces[0].consensus().to_vec();
            for c in &mut input.consensus_hint {
                if next() % 5 == 0 {
                    *c = I32F32::from_bits((next() % (1 << 33)) as i64);
                }
            }
            input.block += 360;
            let n = input.neurons.len();
            for neuron in &mut input.neurons {
                if next() % 3 != 0 {
                    neuron.last_update = input.block - 1 - next() % 400;
                }
                if next() % 13 == 0 {
                    // A new miner at this uid: registered now, weights to it older than that.
                    neuron.registered_at = input.block - next() % 200;
                }
                if next() % 11 == 0 {
                    let j = (next() % n as u64) as u16;
                    neuron.weights.retain(|&(k, _)| k != j);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    /// One workspace per path, reused across different subnets (dense and sparse, of every
    /// size), gives each subnet the step-by-step results: buffers reused without clearing
    /// carry nothing over.
    #[test]
    fn reused_workspaces_carry_nothing_between_subnets(
        dense in proptest::collection::vec(arb_dense_sequence(), 1..5),
        other in proptest::collection::vec(arb_input(prop_oneof![Just(0u64), any::<u64>(), 0u64..1 << 50].boxed()), 0..4),
    ) {
        let mut workspaces = [EpochPath::Dense, EpochPath::DenseSaturating, EpochPath::Sparse, EpochPath::Auto]
            .map(EpochWorkspace::with_path);
        let inputs = dense.iter().map(|(input, _)| input).chain(&other);
        for (k, input) in inputs.enumerate() {
            let want = epoch_reference(input).unwrap();
            // Another subnet's consensus as the guess for this one's medians: never used blindly.
            let mut input = input.clone();
            input.consensus_hint = workspaces[0].consensus().to_vec();
            for (path, ws) in workspaces.iter_mut().enumerate() {
                prop_assert_eq!(&epoch_with(ws, &input).unwrap(), &want, "subnet {} path {}", k, path);
            }
        }
    }
}

/// A weight row whose total wraps (32,769 weights of 65535: the chain's wrapping sum of their
/// bits goes negative, so the row is not normalised) leaves the dense path's plain arithmetic;
/// with that validator holding most stake its raw weights reach consensus, clipping and the
/// bonds, and both paths still give the step-by-step results, for both bond variants and
/// penalties.
#[test]
fn a_wrapping_weight_row_takes_the_saturating_arithmetic() {
    for (yuma3, penalty) in [(true, u16::MAX), (true, 0), (false, u16::MAX), (false, 0)] {
        let n = 33_000u16;
        let mut input = random_subnet(5, 3, 2, yuma3, false);
        input.params.max_allowed_validators = 3;
        for uid in 3..n {
            input.neurons.push(NeuronInput {
                alpha_stake: Rao(u64::from(uid)),
                last_update: 990,
                registered_at: u64::from(uid % 20),
                ..NeuronInput::default()
            });
        }
        input.params.bonds_penalty = penalty;
        input.neurons[0].alpha_stake = Rao(1_000_000_000_000_000);
        input.neurons[1].alpha_stake = Rao(1_000_000_000);
        input.neurons[0].weights = (1..n).map(|j| (j, u16::MAX)).collect();
        input.neurons[1].weights = (2..n).step_by(3).map(|j| (j, j)).collect();
        let want = epoch_reference(&input).unwrap();
        // The raw weights reach consensus and the stored bonds (no incentive survives the
        // saturated ranks, as on chain).
        assert!(want.neurons[1..].iter().all(|x| x.consensus > 0));
        assert!(!want.neurons[0].bonds.is_empty());
        for path in [EpochPath::Auto, EpochPath::Dense] {
            let got = epoch_with(&mut EpochWorkspace::with_path(path), &input).unwrap();
            assert_eq!(got, want, "yuma3 {yuma3}, penalty {penalty}");
        }
    }
}

/// Incentive and dividends on a realistic subnet sum to 65535 within one unit per neuron, and
/// the emission is conserved within a rao per neuron.
#[test]
fn shares_and_emission_are_conserved_on_a_full_subnet() {
    for (yuma3, liquid) in [(false, false), (true, false), (true, true)] {
        let input = random_subnet(11, 256, 64, yuma3, liquid);
        let out = epoch(&input).unwrap();
        let inc: u64 = out.neurons.iter().map(|x| u64::from(x.incentive)).sum();
        let div: u64 = out.neurons.iter().map(|x| u64::from(x.dividends)).sum();
        assert!((65_535 - 256..=65_535).contains(&inc), "incentive sum {inc}");
        assert!((65_535 - 256..=65_535).contains(&div), "dividends sum {div}");
        let paid: u64 = out.neurons.iter().map(|x| x.server_emission.0 + x.validator_emission.0).sum();
        assert!(paid <= input.emission.0 && input.emission.0 - paid <= 512, "paid {paid}");
    }
}
