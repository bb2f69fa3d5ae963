//! The event queue: push + pop of 10^6 events with realistic payloads.
//!
//! Two patterns: *fill-drain* (10^6 pushes at random times, then 10^6 pops) and *hold* (the
//! classic DES pattern: a steady pending set of 10^4 events; each of 10^6 steps pops the next
//! event and schedules one in its future). Throughput is reported in queue operations per
//! second (a push or a pop each count one). Target: >= 20 million operations/s on one core.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sim::engine::{EventQueue, SimTime};
use sim::rng::{stream, unit_f64};
use std::hint::black_box;

/// A payload shaped like the network model's events: a kind, a subnet, a neuron, an amount.
#[derive(Clone, Copy)]
#[allow(dead_code)]
enum Payload {
    Stake { netuid: u16, hotkey: u32, amount_rao: u64 },
    Epoch { netuid: u16 },
    Weights { netuid: u16, uid: u16, validator: u32 },
}

fn payload(i: u64) -> Payload {
    match i % 3 {
        0 => Payload::Stake { netuid: (i % 128) as u16, hotkey: i as u32, amount_rao: i * 1_000 },
        1 => Payload::Epoch { netuid: (i % 128) as u16 },
        _ => Payload::Weights { netuid: (i % 128) as u16, uid: (i % 256) as u16, validator: i as u32 },
    }
}

const N: u64 = 1_000_000;

fn random_times(n: u64) -> Vec<u64> {
    let mut rng = stream(1, &sim::label!["bench", "queue"]);
    (0..n).map(|_| (unit_f64(&mut rng) * 1e9) as u64).collect()
}

fn bench_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_queue");
    group.sample_size(10);
    let times = random_times(N);
    group.throughput(Throughput::Elements(2 * N));
    group.bench_function(BenchmarkId::new("fill_drain", N), |b| {
        b.iter(|| {
            let mut q = EventQueue::with_capacity(N as usize);
            for (i, &t) in times.iter().enumerate() {
                q.push(SimTime::from_ms(t), i as u64 & 7, payload(i as u64));
            }
            let mut n = 0u64;
            while let Some((key, p)) = q.pop() {
                n = n.wrapping_add(key.time.ms());
                black_box(p);
            }
            black_box(n)
        })
    });
    let hold = 10_000usize;
    let delays = random_times(N + hold as u64);
    group.bench_function(BenchmarkId::new("hold_10k", N), |b| {
        b.iter(|| {
            let mut q = EventQueue::with_capacity(hold + 1);
            for (i, &d) in delays.iter().take(hold).enumerate() {
                q.push(SimTime::from_ms(d), i as u64 & 7, payload(i as u64));
            }
            for (i, &d) in delays.iter().skip(hold).enumerate() {
                let Some((key, p)) = q.pop() else { break };
                black_box(p);
                q.push(key.time.saturating_add_ms(d / 1_000), i as u64 & 7, payload(i as u64));
            }
            black_box(q.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_queue);
criterion_main!(benches);
