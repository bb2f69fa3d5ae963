//! The discrete-event core: simulated time, the event queue and the run loop.
//!
//! A [`Model`] owns all state and handles one event at a time; handlers schedule further
//! events through the [`Scheduler`]. Events are popped in the order of their
//! [`EventKey`] (time, then a stable tie key, then the order of scheduling), so a run is a
//! pure function of its inputs: nothing depends on hash order, addresses or the wall clock.

pub mod queue;
pub mod time;

pub use queue::{EventKey, EventQueue};
pub use time::{Block, MS_PER_BLOCK, SimTime};

/// A simulated system: it owns its state and reacts to its events.
pub trait Model {
    /// The closed set of events this model reacts to.
    type Event;

    /// Handles one event at simulated time `now`; may schedule further events.
    fn handle(&mut self, now: SimTime, event: Self::Event, scheduler: &mut Scheduler<Self::Event>);
}

/// The handle through which handlers schedule events: the queue plus the current time.
#[derive(Debug)]
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    now: SimTime,
    stop_requested: bool,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// An empty scheduler at time zero.
    pub fn new() -> Self {
        Self { queue: EventQueue::new(), now: SimTime::ZERO, stop_requested: false }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time` with the stable tie key `tie` (see [`EventKey`]).
    ///
    /// # Panics
    /// If `time` is before now: a handler scheduling into the past is a bug in the model.
    pub fn schedule_at(&mut self, time: SimTime, tie: u64, event: E) {
        assert!(time >= self.now, "event scheduled in the past: {time:?} < {:?}", self.now);
        self.queue.push(time, tie, event);
    }

    /// Schedules `event` `delay_ms` milliseconds from now.
    pub fn schedule_in(&mut self, delay_ms: u64, tie: u64, event: E) {
        let time = self.now.saturating_add_ms(delay_ms);
        self.queue.push(time, tie, event);
    }

    /// Asks the run loop to stop after the current event.
    pub fn request_stop(&mut self) {
        self.stop_requested = true;
    }

    /// Events still waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Why a run loop returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The next event lies beyond the horizon.
    Horizon,
    /// No events are left.
    QueueEmpty,
    /// A handler asked to stop.
    Requested,
}

/// A model together with its scheduler.
#[derive(Debug)]
pub struct Simulation<M: Model> {
    /// The simulated system.
    pub model: M,
    /// Its pending events and clock.
    pub scheduler: Scheduler<M::Event>,
    events_handled: u64,
}

impl<M: Model> Simulation<M> {
    /// A simulation of `model` at time zero with no events.
    pub fn new(model: M) -> Self {
        Self { model, scheduler: Scheduler::new(), events_handled: 0 }
    }

    /// Events handled so far.
    pub fn events_handled(&self) -> u64 {
        self.events_handled
    }

    /// Handles events in key order while their time is at most `horizon` (inclusive).
    pub fn run_until(&mut self, horizon: SimTime) -> StopReason {
        loop {
            if self.scheduler.stop_requested {
                self.scheduler.stop_requested = false;
                return StopReason::Requested;
            }
            match self.scheduler.queue.peek_time() {
                None => return StopReason::QueueEmpty,
                Some(t) if t > horizon => return StopReason::Horizon,
                Some(_) => {}
            }
            let Some((key, event)) = self.scheduler.queue.pop() else {
                return StopReason::QueueEmpty;
            };
            self.scheduler.now = key.time;
            self.events_handled += 1;
            self.model.handle(key.time, event, &mut self.scheduler);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order events are handled in; each event may spawn children.
    struct Recorder {
        seen: Vec<(u64, u64, &'static str)>,
    }

    impl Model for Recorder {
        type Event = (&'static str, u32);
        fn handle(&mut self, now: SimTime, event: Self::Event, s: &mut Scheduler<Self::Event>) {
            self.seen.push((now.ms(), event.1 as u64, event.0));
            if event.0 == "parent" {
                // Two children at the same instant, scheduled in the opposite order of their ties.
                s.schedule_in(5, 2, ("child-b", 2));
                s.schedule_in(5, 1, ("child-a", 1));
            }
        }
    }

    #[test]
    fn events_run_in_time_then_tie_order_and_stop_at_horizon() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        sim.scheduler.schedule_at(SimTime::from_ms(10), 0, ("parent", 0));
        sim.scheduler.schedule_at(SimTime::from_ms(15), 9, ("late-tie", 9));
        sim.scheduler.schedule_at(SimTime::from_ms(100), 0, ("beyond", 0));
        let reason = sim.run_until(SimTime::from_ms(50));
        assert_eq!(reason, StopReason::Horizon);
        let names: Vec<_> = sim.model.seen.iter().map(|s| s.2).collect();
        assert_eq!(names, ["parent", "child-a", "child-b", "late-tie"]);
        assert_eq!(sim.scheduler.pending(), 1);
        assert_eq!(sim.run_until(SimTime::from_ms(1000)), StopReason::QueueEmpty);
        assert_eq!(sim.events_handled(), 5);
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn scheduling_into_the_past_is_refused() {
        let mut s: Scheduler<()> = Scheduler::new();
        s.now = SimTime::from_ms(10);
        s.schedule_at(SimTime::from_ms(5), 0, ());
    }
}
