//! The TAO/USD venue: a limit-order book with a liquidity profile, resilience, market makers
//! of finite inventory and a queue of orders executed over time.
//!
//! **Liquidity profile.** Each side of the book holds, within log distance `x` of the anchor
//! price (≈ relative distance for small `x`), a cumulative depth
//! `D(x) = depth_2pct_usd * depth_factor * (x / 0.02)^profile_exponent` USD (valued at the
//! anchor price: `D / anchor` TAO), up to `max_distance`; nothing lies beyond, so a sale can
//! never be paid more than the book holds. Exponent 2 is a linear latent order book (density
//! growing linearly away from the price), which gives square-root impact (Donier & Bonart,
//! arXiv 1412.4503, confirmed on Bitcoin over four orders of magnitude).
//!
//! **Default depth from the square-root law.** With exponent 2, selling `Q` USD from rest
//! moves the price by `x` with `D(x) = Q`, i.e. `x = 0.02 sqrt(Q / D2)`. The square-root law
//! says `x = Y sigma sqrt(Q / V)`. Equal for every `Q` when
//! `D2 = V (0.02 / (Y sigma))^2 = 120e6 * (0.02 / 0.06)^2 = 13.3e6` USD within 2 % on each side,
//! with `Y = 1`, `sigma_daily = 0.06` and daily volume `V = 120e6` USD (economy-calibration.md
//! §1: 5.9 %/day, ~$120 M/day in Nov 2025; the ±2 % depth itself was not found, so it is
//! derived here and must be swept). `daily_volume_usd` also sizes participation orders.
//!
//! **Displacement.** The mid is `anchor * exp(-d)`, `d` the signed log distance the book has
//! been consumed (positive: pushed down by sales). One position `s` covers both sides: the
//! TAO sold into the book from the anchor to `s` is `sign(s) D(|s|) / anchor`, each TAO
//! trading at `anchor * exp(-s)`. Selling `q` TAO moves `d` to `d'` with
//! `D(d') - D(d) = q * anchor` (exact in TAO) and pays the exact integral of the price over
//! the levels filled, `V(d') - V(d)` with `V(s) = ∫_0^s e^{-u} dD(u)`, in closed form through
//! the lower incomplete gamma series (`D(x) = c x^k` gives `V(s) = c k γ(k, s)`). Buying with
//! USD moves `d` the other way, solved by bisection on `V`. Within a step the anchor is fixed,
//! so a trade's outcome depends only on where it starts and ends: two halves of an order give
//! what the whole gives, splitting finer within a step never lowers total impact, and a buy
//! back over the same levels costs what the sale paid (the model has no bid-ask spread).
//!
//! **Resilience.** Between steps `d` decays toward 0 with `resilience_half_life_hours`: the
//! book refills toward its profile, as the impact of uninformed flow decays (Donier & Bonart;
//! the half-life for crypto was not found: 6 h is an assumption to sweep).
//!
//! **Market makers.** The book is the makers' quotes. Every fill moves their TAO inventory
//! `inv` (a sale to them adds) and their USD. They skew quotes to lay inventory off: the
//! anchor is `fair * exp(-mm_skew * inv / limit)`. They unwind toward 0 with
//! `mm_unwind_half_life_hours`, selling to (or buying from) the wider market at the fair price.
//! A fill never takes `inv` past `±limit`: that side is exhausted and the rest is unfilled. The
//! derived limit (when `mm_inventory_limit_tao` is 0) is two days of volume at the initial price
//! (`2 V / price`): an assumption (no figure was found) that makers warehouse at most what the
//! market turns over in two days.
//!
//! **Books of account.** The venue keeps the makers' USD and TAO and what went to or came from
//! the wider market; traders' holdings change only by the fills handed to them. Traders' +
//! makers' + wider market's USD (and TAO) stay constant.
//!
//! **Orders.** Market orders fill at once up to what the book and the makers' limit allow.
//! Parent orders (TWAP or a participation rate) queue and fill one slice per
//! [`Venue::step`], in order id order; what cannot fill stays queued. A freeze halts both
//! sides; prices still follow the fair value. Behaviour, not chain state: f64 with `libm`, no
//! randomness.

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The reference distance of `depth_2pct_usd`: 2 % from the mid.
pub const REFERENCE_DISTANCE: f64 = 0.02;

/// Default daily spot volume, all venues (~$120 M, Nov 2025; economy-calibration.md §1).
pub const DEFAULT_DAILY_VOLUME_USD: f64 = 120e6;

/// Daily volatility used to derive the default depth (5.9 %/day rounded; §1).
pub const CALIBRATION_DAILY_VOL: f64 = 0.06;

/// Square-root-law prefactor `Y` used to derive the default depth (Y ≈ 0.5-1, §5).
pub const CALIBRATION_Y: f64 = 1.0;

/// Days of daily volume the makers can warehouse when their limit is derived.
pub const DERIVED_INVENTORY_DAYS: f64 = 2.0;

/// Iterations of the bisection that finds where a buy ends (f64 precision is reached sooner).
const BISECTION_STEPS: u32 = 128;

/// Parameters of the venue (a scenario's table for it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenueParams {
    /// USD each side within 2 % of the mid (default derived from the square-root law, see the
    /// module docs).
    pub depth_2pct_usd: f64,
    /// Exponent of the cumulative depth profile (2: a linear latent book, square-root impact).
    pub profile_exponent: f64,
    /// Log distance from the anchor beyond which the book holds nothing.
    pub max_distance: f64,
    /// Half-life of the displacement in hours: how fast the book refills.
    pub resilience_half_life_hours: f64,
    /// Daily volume in USD: the square-root law's `V` and the base of participation orders.
    pub daily_volume_usd: f64,
    /// Makers' TAO inventory limit each way; 0: two days of volume at the initial price.
    pub mm_inventory_limit_tao: f64,
    /// Log skew of the makers' quotes at full inventory.
    pub mm_skew: f64,
    /// Half-life in hours of the makers' inventory (unwound to the wider market at fair value).
    pub mm_unwind_half_life_hours: f64,
}

impl Default for VenueParams {
    fn default() -> Self {
        let r = REFERENCE_DISTANCE / (CALIBRATION_Y * CALIBRATION_DAILY_VOL);
        Self {
            depth_2pct_usd: DEFAULT_DAILY_VOLUME_USD * r * r,
            profile_exponent: 2.0,
            max_distance: 0.9,
            resilience_half_life_hours: 6.0,
            daily_volume_usd: DEFAULT_DAILY_VOLUME_USD,
            mm_inventory_limit_tao: 0.0,
            mm_skew: 0.05,
            mm_unwind_half_life_hours: 24.0,
        }
    }
}

impl VenueParams {
    /// Range problems as (field, message) pairs; empty when valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, v: f64, lo: f64, hi: f64| {
            out.extend(crate::error::out_of_range(v, lo, hi).map(|m| (field, m)));
        };
        check("depth_2pct_usd", self.depth_2pct_usd, 1.0, 1e13);
        check("profile_exponent", self.profile_exponent, 0.5, 4.0);
        // Up to 2: the series of the exact proceeds stays well conditioned.
        check("max_distance", self.max_distance, 1e-3, 2.0);
        check("resilience_half_life_hours", self.resilience_half_life_hours, 1e-3, 1e6);
        check("daily_volume_usd", self.daily_volume_usd, 1.0, 1e13);
        check("mm_inventory_limit_tao", self.mm_inventory_limit_tao, 0.0, 1e12);
        check("mm_skew", self.mm_skew, 0.0, 1.0);
        check("mm_unwind_half_life_hours", self.mm_unwind_half_life_hours, 1e-3, 1e6);
        out
    }

    /// The makers' inventory limit in TAO for a venue starting at `initial_price_usd`.
    pub fn inventory_limit_tao(&self, initial_price_usd: f64) -> f64 {
        if self.mm_inventory_limit_tao > 0.0 {
            self.mm_inventory_limit_tao
        } else {
            DERIVED_INVENTORY_DAYS * self.daily_volume_usd / initial_price_usd
        }
    }
}

/// Why the venue refused a request.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum VenueError {
    /// A parameter is out of range.
    #[error("venue.{field}: {message}")]
    Parameter {
        /// The field.
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The initial price is not a positive finite number.
    #[error("the venue's initial price {0} must be positive and finite")]
    Price(f64),
    /// An order's amount is not a positive finite number.
    #[error("an order's amount {0} must be positive and finite")]
    Amount(f64),
    /// An execution policy is out of range.
    #[error("execution policy {0:?}: a TWAP needs over_days finite and >= 0, a participation rate 0 < rate <= 1")]
    Policy(ExecPolicy),
}

/// A trade's result: TAO sold or bought, USD received or paid.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fill {
    /// TAO sold (a sell) or bought (a buy).
    pub tao: f64,
    /// USD received (a sell) or paid (a buy).
    pub usd: f64,
}

/// Which side an order takes: selling TAO for USD or buying TAO with USD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Sell TAO (amounts in TAO).
    Sell,
    /// Buy TAO (amounts in USD).
    Buy,
}

/// How a parent order is sliced over steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExecPolicy {
    /// Evenly over `over_days`: by each step the filled amount is brought up to the share of
    /// time elapsed; what could not fill (a freeze, an exhausted side) is caught up in later
    /// steps, also after the time is up.
    Twap {
        /// The execution horizon in days (0: everything at the next step).
        over_days: f64,
    },
    /// A fixed share of the market's volume: a slice of `rate * daily_volume_usd * dt` USD per
    /// step (in TAO at the current mid for sells).
    Participation {
        /// Share of daily volume, 0 < rate <= 1.
        rate: f64,
    },
}

/// A parent order's id, increasing in submission order (the execution order within a step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

/// The fillable depth each side within a distance of the mid.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Depth {
    /// USD a market sale reaching that far below the mid would receive now.
    pub bid_usd: f64,
    /// USD a market buy reaching that far above the mid would pay now.
    pub ask_usd: f64,
}

/// A queued parent order.
#[derive(Clone, Copy, Debug)]
struct Order {
    id: OrderId,
    owner: u64,
    side: Side,
    /// Submitted amount (TAO for sells, USD for buys).
    amount: f64,
    /// Not yet filled.
    remaining: f64,
    policy: ExecPolicy,
    /// Days since submission (counted at each step, before its slice).
    age_days: f64,
}

/// The liquidity profile at one depth factor: pure functions of the signed position `s`.
#[derive(Clone, Copy, Debug)]
struct Profile {
    /// `c` in `D(x) = c x^k`.
    scale: f64,
    k: f64,
    max: f64,
}

impl Profile {
    fn new(p: &VenueParams, depth_factor: f64) -> Self {
        let k = p.profile_exponent;
        Self { scale: p.depth_2pct_usd * depth_factor / libm::pow(REFERENCE_DISTANCE, k), k, max: p.max_distance }
    }

    /// Signed cumulative depth (USD at the anchor price) from the anchor to `s`.
    fn depth(&self, s: f64) -> f64 {
        let d = self.scale * libm::pow(s.abs().min(self.max), self.k);
        if s < 0.0 { -d } else { d }
    }

    /// The position whose signed depth is `depth`, clamped to `±max`.
    fn position(&self, depth: f64) -> f64 {
        let x = libm::pow(depth.abs() / self.scale, 1.0 / self.k).min(self.max);
        if depth < 0.0 { -x } else { x }
    }

    /// `V(s) = ∫_0^s e^{-u} dD(u)`: the USD paid for the levels from the anchor to `s`
    /// (signed). With `x = |s|`, `V = sign(s) c k x^k Σ_n (-s)^n / (n! (k + n))`, the lower
    /// incomplete gamma series (alternating for `s > 0`; `x <= 2` keeps it well conditioned).
    fn value(&self, s: f64) -> f64 {
        let x = s.abs().min(self.max);
        if x == 0.0 {
            return 0.0;
        }
        let step = if s < 0.0 { x } else { -x };
        let mut power = 1.0; // (-s)^n / n!
        let mut sum = 1.0 / self.k;
        for n in 1..100 {
            let nf = f64::from(n);
            power *= step / nf;
            let term = power / (self.k + nf);
            sum += term;
            if term.abs() <= 1e-18 * sum.abs() {
                break;
            }
        }
        let v = self.scale * self.k * libm::pow(x, self.k) * sum;
        if s < 0.0 { -v } else { v }
    }
}

/// A trade's outcome before it is applied: the fill and the position it ends at.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    fill: Fill,
    to: f64,
}

/// The TAO/USD venue (see the module docs).
#[derive(Clone, Debug)]
pub struct Venue {
    params: VenueParams,
    profile: Profile,
    depth_factor: f64,
    inventory_limit: f64,
    fair: f64,
    anchor: f64,
    /// Displacement: signed log distance of the mid below the anchor.
    d: f64,
    /// Makers' TAO inventory (relative to the start).
    inventory: f64,
    /// Makers' USD (relative to the start).
    makers_usd: f64,
    /// USD the wider market received from (negative: paid to) the makers.
    wider_usd: f64,
    /// TAO the wider market received from (negative: sold to) the makers.
    wider_tao: f64,
    frozen: bool,
    volume: f64,
    /// Live parent orders, in id order.
    orders: Vec<Order>,
    next_id: u64,
    fills: Vec<(OrderId, u64, Fill)>,
}

impl Venue {
    /// A venue at rest at the fair price `fair_usd`, with empty makers' books.
    pub fn new(params: VenueParams, fair_usd: f64) -> Result<Self, VenueError> {
        if let Some((field, message)) = params.problems().into_iter().next() {
            return Err(VenueError::Parameter { field, message });
        }
        if !(fair_usd.is_finite() && fair_usd > 0.0) {
            return Err(VenueError::Price(fair_usd));
        }
        Ok(Self {
            profile: Profile::new(&params, 1.0),
            inventory_limit: params.inventory_limit_tao(fair_usd),
            params,
            depth_factor: 1.0,
            fair: fair_usd,
            anchor: fair_usd,
            d: 0.0,
            inventory: 0.0,
            makers_usd: 0.0,
            wider_usd: 0.0,
            wider_tao: 0.0,
            frozen: false,
            volume: 0.0,
            orders: Vec::new(),
            next_id: 0,
            fills: Vec::new(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &VenueParams {
        &self.params
    }

    /// The mid price: `anchor * exp(-displacement)`.
    pub fn price_usd(&self) -> f64 {
        self.anchor * libm::exp(-self.d)
    }

    /// The fair price last passed to [`Venue::step`] (or the initial one).
    pub fn fair_usd(&self) -> f64 {
        self.fair
    }

    /// The makers' anchor: the fair price skewed by their inventory, fixed within a step.
    pub fn anchor_usd(&self) -> f64 {
        self.anchor
    }

    /// The signed log displacement of the mid below the anchor (positive: pushed down).
    pub fn displacement(&self) -> f64 {
        self.d
    }

    /// The makers' TAO inventory (positive: they bought).
    pub fn inventory_tao(&self) -> f64 {
        self.inventory
    }

    /// The makers' inventory limit each way, in TAO.
    pub fn inventory_limit_tao(&self) -> f64 {
        self.inventory_limit
    }

    /// The makers' USD (relative to the start).
    pub fn makers_usd(&self) -> f64 {
        self.makers_usd
    }

    /// USD the wider market received from the makers' unwinding (negative: paid).
    pub fn wider_market_usd(&self) -> f64 {
        self.wider_usd
    }

    /// TAO the wider market received from the makers' unwinding (negative: sold).
    pub fn wider_market_tao(&self) -> f64 {
        self.wider_tao
    }

    /// The current depth multiplier.
    pub fn depth_factor(&self) -> f64 {
        self.depth_factor
    }

    /// Scales the profile by `factor` (a liquidity shock; 1 restores it). The displacement,
    /// and so the price, is kept; what is left of the book shrinks or grows. Ignored unless
    /// finite and > 0.
    pub fn set_depth_factor(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.depth_factor = factor;
            self.profile = Profile::new(&self.params, factor);
        }
    }

    /// Freezes (true) or reopens (false) both sides.
    pub fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
    }

    /// Whether both sides are halted.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// USD traded (sales' proceeds plus buys' payments) since the last [`Venue::take_volume`].
    pub fn volume_usd(&self) -> f64 {
        self.volume
    }

    /// The volume since the last call, and resets it.
    pub fn take_volume(&mut self) -> f64 {
        std::mem::take(&mut self.volume)
    }

    /// What a market order reaching log distance `x` from the mid would get now, each side:
    /// limited by the book's end and the makers' limit; zero while frozen.
    pub fn depth_usd_within(&self, x: f64) -> Depth {
        if self.frozen || !(x.is_finite() && x > 0.0) {
            return Depth::default();
        }
        let p = &self.profile;
        let bid_to = (self.d + x).min(p.max);
        let bid = self.sell_outcome((p.depth(bid_to) - p.depth(self.d)) / self.anchor);
        let ask_to = (self.d - x).max(-p.max);
        let room = (self.inventory_limit + self.inventory).max(0.0);
        let tao = ((p.depth(self.d) - p.depth(ask_to)) / self.anchor).min(room);
        let to = p.position(p.depth(self.d) - tao * self.anchor).min(self.d);
        Depth { bid_usd: bid.fill.usd, ask_usd: (p.value(self.d) - p.value(to)).max(0.0) }
    }

    /// The outcome of selling up to `tao` now (without the freeze check).
    fn sell_outcome(&self, tao: f64) -> Outcome {
        let p = &self.profile;
        let from = self.d;
        let start = p.depth(from);
        let room = (self.inventory_limit - self.inventory).max(0.0);
        let book = ((p.depth(p.max) - start) / self.anchor).max(0.0);
        let tao = tao.min(room).min(book).max(0.0);
        let to = p.position(start + tao * self.anchor).max(from);
        // Bounded by the best and worst level's price (holds exactly; the bounds only absorb
        // rounding).
        let usd = (p.value(to) - p.value(from)).min(tao * self.anchor * libm::exp(-from));
        let usd = usd.max(tao * self.anchor * libm::exp(-to));
        Outcome { fill: Fill { tao, usd }, to }
    }

    /// The outcome of buying with up to `usd` now (without the freeze check).
    fn buy_outcome(&self, usd: f64) -> Outcome {
        let p = &self.profile;
        let from = self.d;
        let start = p.depth(from);
        let room = (self.inventory_limit + self.inventory).max(0.0);
        if room <= 0.0 {
            return Outcome { fill: Fill::default(), to: from };
        }
        let floor = p.position(start - room * self.anchor).min(from);
        let v_from = p.value(from);
        let most = (v_from - p.value(floor)).max(0.0);
        let (to, usd) = if usd >= most {
            (floor, most)
        } else {
            // V is increasing: bisect for V(to) = V(from) - usd.
            let target = v_from - usd;
            let (mut lo, mut hi) = (floor, from);
            for _ in 0..BISECTION_STEPS {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if p.value(mid) < target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            (hi, usd)
        };
        // Bounded by the best and worst level's price (holds exactly; the bounds only absorb
        // rounding), and never past the makers' limit.
        let tao = (start - p.depth(to)) / self.anchor;
        let tao = tao.min(usd / (self.anchor * libm::exp(-from))).max(usd / (self.anchor * libm::exp(-to)));
        let tao = tao.min(room);
        Outcome { fill: Fill { tao, usd }, to }
    }

    fn apply(&mut self, side: Side, o: Outcome) {
        self.d = o.to;
        match side {
            Side::Sell => {
                self.inventory += o.fill.tao;
                self.makers_usd -= o.fill.usd;
            }
            Side::Buy => {
                self.inventory -= o.fill.tao;
                self.makers_usd += o.fill.usd;
            }
        }
        self.volume += o.fill.usd;
    }

    fn trade(&mut self, side: Side, amount: f64) -> Fill {
        if self.frozen || !(amount.is_finite() && amount > 0.0) {
            return Fill::default();
        }
        let o = match side {
            Side::Sell => self.sell_outcome(amount),
            Side::Buy => self.buy_outcome(amount),
        };
        self.apply(side, o);
        o.fill
    }

    /// Sells up to `tao` TAO now (a market order); the rest is unfilled (the book's end or the
    /// makers' limit). Empty while frozen or for a non-positive amount.
    pub fn sell_now(&mut self, tao: f64) -> Fill {
        self.trade(Side::Sell, tao)
    }

    /// Buys TAO with up to `usd` USD now (a market order); `Fill::usd` is what was spent.
    /// Empty while frozen or for a non-positive amount.
    pub fn buy_now(&mut self, usd: f64) -> Fill {
        self.trade(Side::Buy, usd)
    }

    /// Queues a parent order of `amount` (TAO for a sell, USD for a buy) for `owner`, executed
    /// from the next [`Venue::step`] on.
    pub fn submit(&mut self, owner: u64, side: Side, amount: f64, policy: ExecPolicy) -> Result<OrderId, VenueError> {
        if !(amount.is_finite() && amount > 0.0) {
            return Err(VenueError::Amount(amount));
        }
        let valid = match policy {
            ExecPolicy::Twap { over_days } => over_days.is_finite() && over_days >= 0.0,
            ExecPolicy::Participation { rate } => rate.is_finite() && rate > 0.0 && rate <= 1.0,
        };
        if !valid {
            return Err(VenueError::Policy(policy));
        }
        let id = OrderId(self.next_id);
        self.next_id += 1;
        self.orders.push(Order { id, owner, side, amount, remaining: amount, policy, age_days: 0.0 });
        Ok(id)
    }

    /// Cancels a queued order: its unfilled remainder, or `None` if it is not queued (unknown,
    /// filled or already cancelled).
    pub fn cancel(&mut self, id: OrderId) -> Option<f64> {
        let i = self.orders.binary_search_by_key(&id, |o| o.id).ok()?;
        Some(self.orders.remove(i).remaining)
    }

    /// The unfilled remainder of a queued order.
    pub fn remaining(&self, id: OrderId) -> Option<f64> {
        self.orders.binary_search_by_key(&id, |o| o.id).ok().map(|i| self.orders[i].remaining)
    }

    /// The total queued on one side (TAO for sells, USD for buys).
    pub fn queued(&self, side: Side) -> f64 {
        self.orders.iter().filter(|o| o.side == side).map(|o| o.remaining).sum()
    }

    /// The parent orders' fills since the last call, in execution order.
    pub fn take_fills(&mut self) -> Vec<(OrderId, u64, Fill)> {
        std::mem::take(&mut self.fills)
    }

    /// Advances the venue by `dt_days` with the fair price `fair_usd` (ignored unless positive
    /// and finite: the last one is kept): the displacement and the makers' inventory decay
    /// (they unwind at `fair_usd`), the anchor is reset from the fair price and the
    /// inventory, then each queued order's slice executes in id order (none while frozen).
    pub fn step(&mut self, dt_days: f64, fair_usd: f64) {
        if fair_usd.is_finite() && fair_usd > 0.0 {
            self.fair = fair_usd;
        }
        let dt = if dt_days.is_finite() && dt_days > 0.0 { dt_days } else { 0.0 };
        if dt > 0.0 {
            let hours = 24.0 * dt;
            let ln2 = std::f64::consts::LN_2;
            self.d *= libm::exp(-ln2 * hours / self.params.resilience_half_life_hours);
            let unwound = self.inventory * (1.0 - libm::exp(-ln2 * hours / self.params.mm_unwind_half_life_hours));
            self.inventory -= unwound;
            self.makers_usd += unwound * self.fair;
            self.wider_usd -= unwound * self.fair;
            self.wider_tao += unwound;
        }
        self.anchor = self.fair * libm::exp(-self.params.mm_skew * self.inventory / self.inventory_limit);
        for i in 0..self.orders.len() {
            self.orders[i].age_days += dt;
            if self.frozen {
                continue;
            }
            let o = self.orders[i];
            let slice = match o.policy {
                ExecPolicy::Twap { over_days } => {
                    let due = if o.age_days >= over_days { o.amount } else { o.amount * o.age_days / over_days };
                    (due - (o.amount - o.remaining)).min(o.remaining)
                }
                ExecPolicy::Participation { rate } => {
                    let usd = rate * self.params.daily_volume_usd * dt;
                    match o.side {
                        Side::Sell => usd / self.price_usd(),
                        Side::Buy => usd,
                    }
                    .min(o.remaining)
                }
            };
            if slice <= 0.0 {
                continue;
            }
            let fill = self.trade(o.side, slice);
            let done = match o.side {
                Side::Sell => fill.tao,
                Side::Buy => fill.usd,
            };
            if done > 0.0 {
                self.orders[i].remaining = (o.remaining - done).max(0.0);
                self.fills.push((o.id, o.owner, fill));
            }
        }
        self.orders.retain(|o| o.remaining > 0.0);
    }
}
