//! The pending-event set: a monotone priority queue ordered by [`EventKey`].
//!
//! Equal-time events are ordered by a *stable tie key* that the scheduling code chooses from
//! what the event is about (for the network model: the kind of event, then the entity), and
//! only then by the order in which they were scheduled. Because every handler runs in a
//! deterministic order, that last component is deterministic too; it exists so that the
//! queue is a total order and never falls back to a data structure's internal layout.
//!
//! A discrete-event simulation never schedules into the past, so the queue is *monotone*
//! and can be a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) instead of a
//! comparison heap: an event goes into bucket `bits(time XOR floor)`, where `floor` is the
//! last time taken out; push is O(1) and a pop moves each event down at most 64 times in its
//! life, with sequential memory access instead of a heap's cache misses. All events of the
//! earliest time are taken out together as a *batch* sorted by (tie, seq); an event pushed at
//! the batch's own instant is inserted into the batch in key order. (The `radix-heap` crate
//! has no peek and no tie order, hence this small structure.)

use super::time::SimTime;

/// The total order of events: time, then the caller's tie key, then scheduling order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    /// When the event happens.
    pub time: SimTime,
    /// Stable tie-break chosen by the scheduler (e.g. event kind, then entity id).
    pub tie: u64,
    /// How many events were scheduled before this one: the last resort, still deterministic.
    pub seq: u64,
}

/// One pending event: (time in ms, tie, seq, payload).
type Slot<E> = (u64, u64, u64, E);

/// A monotone priority queue of events, smallest [`EventKey`] first.
pub struct EventQueue<E> {
    /// `buckets[0]` holds events at `floor`; `buckets[i]` events whose time differs from
    /// `floor` first in bit `i - 1` (counting from the least significant bit).
    buckets: Vec<Vec<Slot<E>>>,
    /// Events at `floor`, sorted by (tie, seq) *descending* so the next one is last.
    batch: Vec<Slot<E>>,
    /// Bit `i` set when `buckets[i]` is not empty: finds the first non-empty bucket in O(1).
    occupied: u128,
    /// The time of the batch: no event earlier than this may be pushed.
    floor: u64,
    len: usize,
    next_seq: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue").field("len", &self.len).field("floor", &self.floor).finish()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of `time` relative to `floor`: 0 if equal, else 1 + the highest differing bit.
fn bucket_of(time: u64, floor: u64) -> usize {
    (64 - (time ^ floor).leading_zeros()) as usize
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            buckets: (0..65).map(|_| Vec::new()).collect(),
            batch: Vec::new(),
            occupied: 0,
            floor: 0,
            len: 0,
            next_seq: 0,
        }
    }

    /// An empty queue with room for `capacity` events in its widest bucket.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut q = Self::new();
        if let Some(last) = q.buckets.last_mut() {
            last.reserve(capacity);
        }
        q
    }

    /// Adds `event` at `time` with tie key `tie`; returns its full key.
    ///
    /// # Panics
    /// If `time` is earlier than the last event taken out: the queue is monotone, as a
    /// discrete-event simulation is (the [`Scheduler`](super::Scheduler) checks this first).
    pub fn push(&mut self, time: SimTime, tie: u64, event: E) -> EventKey {
        let t = time.ms();
        assert!(t >= self.floor, "event queue is monotone: {t} < last popped {}", self.floor);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        if t == self.floor && !self.batch.is_empty() {
            // Same instant as the batch being handled: insert in descending (tie, seq) order.
            let at = self.batch.partition_point(|&(_, bt, bs, _)| (bt, bs) > (tie, seq));
            self.batch.insert(at, (t, tie, seq, event));
        } else {
            let b = bucket_of(t, self.floor);
            self.buckets[b].push((t, tie, seq, event));
            self.occupied |= 1 << b;
        }
        EventKey { time, tie, seq }
    }

    /// Makes `batch` hold every event of the earliest pending time (if any are pending).
    fn refill(&mut self) {
        if !self.batch.is_empty() {
            return;
        }
        if self.occupied & 1 == 0 {
            if self.occupied == 0 {
                return;
            }
            let i = self.occupied.trailing_zeros() as usize;
            let floor = self.buckets[i].iter().map(|slot| slot.0).min().unwrap_or(self.floor);
            self.floor = floor;
            self.occupied &= !(1 << i);
            let mut moving = std::mem::take(&mut self.buckets[i]);
            for slot in moving.drain(..) {
                let b = bucket_of(slot.0, floor);
                self.buckets[b].push(slot);
                self.occupied |= 1 << b;
            }
            self.buckets[i] = moving; // keep the allocation
        }
        std::mem::swap(&mut self.batch, &mut self.buckets[0]);
        self.occupied &= !1;
        if self.batch.len() > 1 {
            self.batch.sort_unstable_by_key(|slot| std::cmp::Reverse((slot.1, slot.2)));
        }
    }

    /// Removes and returns the event with the smallest key.
    pub fn pop(&mut self) -> Option<(EventKey, E)> {
        self.refill();
        let (t, tie, seq, event) = self.batch.pop()?;
        self.len -= 1;
        Some((EventKey { time: SimTime::from_ms(t), tie, seq }, event))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.refill();
        self.batch.last().map(|slot| SimTime::from_ms(slot.0))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_times_are_ordered_by_tie_then_by_scheduling_order() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_ms(5), 7, "t5-tie7-first");
        q.push(SimTime::from_ms(5), 3, "t5-tie3");
        q.push(SimTime::from_ms(1), 9, "t1");
        q.push(SimTime::from_ms(5), 7, "t5-tie7-second");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["t1", "t5-tie3", "t5-tie7-first", "t5-tie7-second"]);
    }

    proptest! {
        /// Whatever the insertion pattern, pops come out sorted by (time, tie, seq).
        #[test]
        fn pops_are_sorted_by_key(items in proptest::collection::vec((0u64..50, 0u64..4), 0..300)) {
            let mut q = EventQueue::new();
            for (i, (t, tie)) in items.iter().enumerate() {
                q.push(SimTime::from_ms(*t), *tie, i);
            }
            let keys: Vec<_> = std::iter::from_fn(|| q.pop().map(|(k, _)| k)).collect();
            prop_assert_eq!(keys.len(), items.len());
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        }

        /// Interleaved pops and pushes (never into the past, often at the current instant)
        /// give exactly the order a sorted reference model gives.
        #[test]
        fn interleaved_use_matches_a_sorted_model(ops in proptest::collection::vec((0u64..3, 0u64..4, proptest::bool::ANY), 1..400)) {
            let mut q = EventQueue::new();
            let mut model: Vec<EventKey> = Vec::new();
            let mut now = 0u64;
            for (i, (dt, tie, pop)) in ops.iter().enumerate() {
                if *pop {
                    model.sort();
                    let expected = if model.is_empty() { None } else { Some(model.remove(0)) };
                    let got = q.pop().map(|(k, _)| k);
                    prop_assert_eq!(got, expected);
                    if let Some(k) = got { now = k.time.ms(); }
                } else {
                    model.push(q.push(SimTime::from_ms(now + dt), *tie, i));
                }
                prop_assert_eq!(q.len(), model.len());
            }
        }
    }

    #[test]
    #[should_panic(expected = "monotone")]
    fn pushing_before_the_last_pop_is_refused() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_ms(10), 0, ());
        q.pop();
        q.push(SimTime::from_ms(9), 0, ());
    }
}
