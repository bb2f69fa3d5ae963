//! The market's steps and where queued orders' fills go: USD to a seller, TAO (from the
//! exchange's custody) to a buyer.

use super::*;

impl Participants {
    /// One step of the market (fair value, venue refill, queued orders); fills reach their
    /// owners: USD for a sale, TAO (from the exchange's custody) for a purchase.
    pub fn market_step(&mut self, chain: &mut ChainState) {
        let dt_days = self.market.params().step_blocks as f64 / BLOCKS_PER_DAY as f64;
        for (id, tag, side, fill) in self.market.step(dt_days) {
            let Some(owner) = Owner::from_tag(tag) else { continue };
            match side {
                Side::Sell => self.credit_usd(owner, fill.usd),
                Side::Buy => {
                    let coldkey = self.owner_coldkey(owner, id);
                    let rao = Rao::from_tao_f64(fill.tao).unwrap_or(Rao::ZERO).min(chain.balance(WORLD));
                    if let Some(coldkey) = coldkey {
                        let _ = chain.transfer(WORLD, coldkey, rao);
                    }
                    self.credit_usd(owner, -fill.usd);
                }
            }
            if let Some(book) = self.event_orders.get_mut(&id) {
                book.filled_tao += fill.tao;
                book.usd += fill.usd;
                book.worst_price = match side {
                    Side::Sell => book.worst_price.min(self.market.price_usd()),
                    Side::Buy => book.worst_price.max(self.market.price_usd()),
                };
            }
        }
        self.finish_event_orders(chain.block.0);
    }

    pub(super) fn owner_coldkey(&self, owner: Owner, id: OrderId) -> Option<ColdkeyId> {
        match owner {
            Owner::Miner(i) => self.miners.get(i as usize).map(|m| m.coldkey),
            Owner::Holder(i) => self.holders.get(i as usize).map(|h| h.coldkey),
            Owner::Validator(i) => self.validators.get(i as usize).map(|v| v.coldkey),
            Owner::Event(_) => self.event_orders.get(&id).map(|b| b.coldkey),
        }
    }

    /// USD received (negative: paid) by an owner for a queued order's fill.
    pub(super) fn credit_usd(&mut self, owner: Owner, usd: f64) {
        let covers = matches!(self.cfg.miners.sell, SellPolicy::CoverCosts | SellPolicy::CoverCostsPlus { .. });
        match owner {
            Owner::Miner(i) => {
                if let Some(m) = self.miners.get_mut(i as usize) {
                    m.receive_usd(usd, covers);
                }
            }
            Owner::Holder(i) => {
                if let Some(h) = self.holders.get_mut(i as usize) {
                    h.usd += usd;
                }
            }
            Owner::Validator(i) => {
                if let Some(v) = self.validators.get_mut(i as usize) {
                    v.usd += usd;
                }
            }
            Owner::Event(i) => {
                if let Some(e) = self.event_usd.get_mut(i as usize) {
                    *e += usd;
                }
            }
        }
    }
}
