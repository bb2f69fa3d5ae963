//! The pending-event set: a binary min-heap ordered by [`EventKey`].
//!
//! Equal-time events are ordered by a *stable tie key* that the scheduling code chooses from
//! what the event is about (for the network model: the kind of event, then the entity), and
//! only then by the order in which they were scheduled. Because every handler runs in a
//! deterministic order, that last component is deterministic too; it exists so that the
//! queue is a total order and never falls back to the heap's internal layout.

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

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

struct Entry<E> {
    key: EventKey,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the smallest key first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A priority queue of events, smallest [`EventKey`] first.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue").field("len", &self.heap.len()).field("next_seq", &self.next_seq).finish()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self { heap: BinaryHeap::new(), next_seq: 0 }
    }

    /// An empty queue with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { heap: BinaryHeap::with_capacity(capacity), next_seq: 0 }
    }

    /// Adds `event` at `time` with tie key `tie`; returns its full key.
    pub fn push(&mut self, time: SimTime, tie: u64, event: E) -> EventKey {
        let key = EventKey { time, tie, seq: self.next_seq };
        self.next_seq += 1;
        self.heap.push(Entry { key, event });
        key
    }

    /// Removes and returns the event with the smallest key.
    pub fn pop(&mut self) -> Option<(EventKey, E)> {
        self.heap.pop().map(|e| (e.key, e.event))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.key.time)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
    }
}
