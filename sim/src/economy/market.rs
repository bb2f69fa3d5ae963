//! The external TAO/USD market as participants see it: the exogenous fair value
//! ([`super::fair_value`], GARCH(1,1) with Student-t shocks) and the venue they trade on
//! ([`super::venue`]: a liquidity profile that refills, market makers with finite inventory,
//! parent orders executed over time).
//!
//! Orders: a sale (or purchase) that fits in one step's participation slice
//! (`participation * daily_volume_usd * step`) executes at once against the book; a larger
//! one, or any order while the venue is frozen, goes to the venue's queue as a parent order
//! with the participation policy, and its fills reach the owner as the venue steps. The sold
//! TAO is in the exchange's custody (the chain's world account) from the moment the order is
//! placed, so nothing is sold twice and nothing is lost while an order waits.
//!
//! This is participants' world, not chain state: `f64` with `libm`, and all randomness from the
//! fair value's one labelled stream.

use super::fair_value::{FairValue, FairValueParams};
use super::venue::{ExecPolicy, Fill, OrderId, Side, Venue, VenueParams};
use crate::rng::Stream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Parameters of the external market (the scenario's `[market]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketParams {
    /// Blocks between the market's steps (fair value, venue refill, queued orders): 300 = hourly.
    pub step_blocks: u64,
    /// Participation cap of parent orders: the share of the venue's daily volume a large order
    /// may take per unit of time. Orders within one step's share execute at once.
    pub participation: f64,
    /// The fair value (`[market.fair_value]`).
    pub fair_value: FairValueParams,
    /// The venue (`[market.venue]`).
    pub venue: VenueParams,
}

impl Default for MarketParams {
    fn default() -> Self {
        Self {
            step_blocks: 300,
            participation: 0.1,
            fair_value: FairValueParams::default(),
            venue: VenueParams::default(),
        }
    }
}

impl MarketParams {
    /// Range problems as (field under `market.`, message) pairs; empty when valid.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(1..=1_000_000).contains(&self.step_blocks) {
            out.push(("step_blocks".into(), format!("{} is out of range; allowed 1 ..= 1000000", self.step_blocks)));
        }
        if !(self.participation.is_finite() && self.participation > 0.0 && self.participation <= 1.0) {
            out.push(("participation".into(), format!("{} is out of range; allowed (0, 1]", self.participation)));
        }
        out.extend(self.fair_value.problems().into_iter().map(|(f, m)| (format!("fair_value.{f}"), m)));
        out.extend(self.venue.problems().into_iter().map(|(f, m)| (format!("venue.{f}"), m)));
        out
    }
}

/// What became of an order placed through [`Market::sell`] or [`Market::buy`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Placed {
    /// What filled at once.
    pub filled: Fill,
    /// The parent order holding the rest, if any.
    pub queued: Option<OrderId>,
}

/// Net flows over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flows {
    /// TAO sold minus TAO bought.
    pub net_sold_tao: f64,
    /// USD taken out minus USD put in.
    pub net_usd_out: f64,
}

/// The state of the external market.
#[derive(Clone, Debug)]
pub struct Market {
    params: MarketParams,
    fair: FairValue,
    venue: Venue,
    /// The side of each queued order placed here.
    sides: BTreeMap<OrderId, Side>,
    sold_tao: f64,
    bought_tao: f64,
    usd_out: f64,
    usd_in: f64,
}

impl Market {
    /// A market at the fair value's initial price, drawing from `rng`.
    pub fn new(params: MarketParams, rng: Stream) -> Self {
        let fair = FairValue::new(params.fair_value.clone(), rng);
        // Parameters are validated before a run; a venue with defaults at $1 always builds.
        let venue = Venue::new(params.venue.clone(), fair.price_usd())
            .or_else(|_| Venue::new(VenueParams::default(), 1.0))
            .expect("the default venue builds");
        Self { params, fair, venue, sides: BTreeMap::new(), sold_tao: 0.0, bought_tao: 0.0, usd_out: 0.0, usd_in: 0.0 }
    }

    /// The market's parameters.
    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// The current TAO/USD price (the venue's mid).
    pub fn price_usd(&self) -> f64 {
        self.venue.price_usd()
    }

    /// The exogenous fair price (without participants' impact).
    pub fn fair_price_usd(&self) -> f64 {
        self.fair.price_usd()
    }

    /// USD each side within 2 % of the mid that a market order could take now.
    pub fn depth_usd(&self) -> f64 {
        let d = self.venue.depth_usd_within(0.02);
        d.bid_usd.min(d.ask_usd)
    }

    /// The venue (read-only).
    pub fn venue(&self) -> &Venue {
        &self.venue
    }

    /// Whether the off-ramp is frozen (no trade either way).
    pub fn frozen(&self) -> bool {
        self.venue.is_frozen()
    }

    /// Freezes or reopens the venue.
    pub fn set_frozen(&mut self, frozen: bool) {
        self.venue.set_frozen(frozen);
    }

    /// Sets the depth multiplier (1 normally; below 1 during a liquidity shock).
    pub fn set_depth_factor(&mut self, factor: f64) {
        self.venue.set_depth_factor(factor);
    }

    /// The current depth multiplier.
    pub fn depth_factor(&self) -> f64 {
        self.venue.depth_factor()
    }

    /// An exogenous jump of the fair price by `factor` (a scenario's price shock); the venue
    /// follows at once.
    pub fn shock_price(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.fair.shock(factor);
            self.venue.step(0.0, self.fair.price_usd());
        }
    }

    /// Advances the fair value and the venue by `dt_days`; returns the fills of queued orders
    /// (order, owner, side, fill) in execution order.
    pub fn step(&mut self, dt_days: f64) -> Vec<(OrderId, u64, Side, Fill)> {
        self.fair.advance(dt_days);
        self.venue.step(dt_days, self.fair.price_usd());
        let fills = self.venue.take_fills();
        let mut out = Vec::with_capacity(fills.len());
        for (id, owner, fill) in fills {
            let side = self.sides.get(&id).copied().unwrap_or(Side::Sell);
            self.record(side, fill);
            out.push((id, owner, side, fill));
        }
        self.sides.retain(|id, _| self.venue.remaining(*id).is_some());
        out
    }

    /// The unfilled rest of a queued order (`None` once filled).
    pub fn remaining(&self, id: OrderId) -> Option<f64> {
        self.venue.remaining(id)
    }

    /// Books a fill of `side` into the flow counters.
    fn record(&mut self, side: Side, fill: Fill) {
        match side {
            Side::Sell => {
                self.sold_tao += fill.tao;
                self.usd_out += fill.usd;
            }
            Side::Buy => {
                self.bought_tao += fill.tao;
                self.usd_in += fill.usd;
            }
        }
    }

    /// One step's participation slice in USD.
    fn slice_usd(&self) -> f64 {
        let step_days = self.params.step_blocks as f64 / crate::engine::time::BLOCKS_PER_DAY as f64;
        self.params.participation * self.params.venue.daily_volume_usd * step_days
    }

    /// Places an order of `amount` (TAO for a sale, USD for a purchase) for `owner`: at once
    /// when it fits in one step's slice and the venue is open, otherwise queued (the part that
    /// did not fill at once) with the participation policy.
    pub fn place(&mut self, owner: u64, side: Side, amount: f64) -> Placed {
        if !(amount.is_finite() && amount > 0.0) {
            return Placed::default();
        }
        let amount_usd = match side {
            Side::Sell => amount * self.price_usd(),
            Side::Buy => amount,
        };
        let mut filled = Fill::default();
        if !self.frozen() && amount_usd <= self.slice_usd() {
            filled = match side {
                Side::Sell => self.venue.sell_now(amount),
                Side::Buy => self.venue.buy_now(amount),
            };
            self.record(side, filled);
        }
        let used = match side {
            Side::Sell => filled.tao,
            Side::Buy => filled.usd,
        };
        let rest = amount - used;
        let queued = if rest > amount * 1e-12 {
            let id =
                self.venue.submit(owner, side, rest, ExecPolicy::Participation { rate: self.params.participation });
            id.ok().inspect(|id| {
                self.sides.insert(*id, side);
            })
        } else {
            None
        };
        Placed { filled, queued }
    }

    /// Buys TAO with up to `usd` USD at once, whatever its size (a market order sweeping the
    /// book: an attacker in a hurry); empty while frozen. The fill is counted in the flows.
    pub fn buy_now(&mut self, usd: f64) -> Fill {
        let fill = self.venue.buy_now(usd);
        self.record(Side::Buy, fill);
        fill
    }

    /// Places a parent order executed evenly over `over_days` (a TWAP), from the next step.
    pub fn place_twap(&mut self, owner: u64, side: Side, amount: f64, over_days: f64) -> Option<OrderId> {
        let id = self.venue.submit(owner, side, amount, ExecPolicy::Twap { over_days }).ok()?;
        self.sides.insert(id, side);
        Some(id)
    }

    /// TAO waiting in queued sales, and USD waiting in queued purchases.
    pub fn queued(&self) -> (f64, f64) {
        (self.venue.queued(Side::Sell), self.venue.queued(Side::Buy))
    }

    /// Net flows since the last call, and resets the counters.
    pub fn take_flows(&mut self) -> Flows {
        let f = Flows { net_sold_tao: self.sold_tao - self.bought_tao, net_usd_out: self.usd_out - self.usd_in };
        self.sold_tao = 0.0;
        self.bought_tao = 0.0;
        self.usd_out = 0.0;
        self.usd_in = 0.0;
        f
    }
}
