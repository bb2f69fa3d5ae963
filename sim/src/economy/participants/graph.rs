//! The delegation graph: coldkeys stake through hotkeys, hotkeys are registered on subnets.
//!
//! Nodes are coldkeys, hotkeys and subnets (root is subnet 0); an edge coldkey -> hotkey
//! carries the TAO value of the coldkey's stake through the hotkey (alpha valued at the
//! subnet's spot price, root 1:1, in rao), an edge hotkey -> subnet its registration. From it
//! come the concentration measures of the timeseries: the Nakamoto coefficient and the Gini
//! coefficient of stake controlled by validator hotkeys and by coldkeys, and of emission.
//! Built from a snapshot of the chain at each sample; nodes are added in id order, so the
//! graph (and every measure) is deterministic.

use crate::chain::ChainState;
use crate::chain::subnet::{ColdkeyId, HotkeyId};
use crate::concentration::{gini, nakamoto_majority};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

/// A node of the delegation graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// A coldkey (an owner of TAO).
    Coldkey(ColdkeyId),
    /// A hotkey (a validator or miner identity).
    Hotkey(HotkeyId),
    /// A subnet (0 = root).
    Subnet(u16),
}

/// The graph and its node index.
#[derive(Debug, Default)]
pub struct DelegationGraph {
    /// The graph; edge weights are rao (stake value) or 0 (registration).
    pub graph: DiGraph<Node, u64>,
    index: BTreeMap<Node, NodeIndex>,
}

/// Concentration figures of one snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Concentration {
    /// Hotkeys controlling more than half of all stake.
    pub nakamoto_stake: usize,
    /// Gini of stake by hotkey.
    pub gini_stake: f64,
    /// Hotkeys receiving more than half of the last epochs' emission.
    pub nakamoto_emission: usize,
    /// Gini of the last epochs' emission by hotkey.
    pub gini_emission: f64,
}

impl DelegationGraph {
    fn node(&mut self, node: Node) -> NodeIndex {
        if let Some(i) = self.index.get(&node) {
            return *i;
        }
        let i = self.graph.add_node(node);
        self.index.insert(node, i);
        i
    }

    /// The graph of `chain` now.
    pub fn build(chain: &ChainState) -> Self {
        let mut g = Self::default();
        for (hotkey, pool) in &chain.root.stakes {
            let h = g.node(Node::Hotkey(*hotkey));
            for (coldkey, value) in pool.values() {
                let value = value.0;
                if value > 0 {
                    let c = g.node(Node::Coldkey(coldkey));
                    g.graph.add_edge(c, h, value);
                }
            }
            let root = g.node(Node::Subnet(0));
            g.graph.add_edge(h, root, 0);
        }
        for s in chain.subnets.iter().flatten() {
            let price = s.pool.price().to_num::<f64>();
            let subnet = g.node(Node::Subnet(s.netuid));
            for n in &s.neurons {
                let h = g.node(Node::Hotkey(n.hotkey));
                g.graph.add_edge(h, subnet, 0);
            }
            for (hotkey, pool) in &s.stakes {
                let h = g.node(Node::Hotkey(*hotkey));
                for (coldkey, value) in pool.values() {
                    let value = (value.0 as f64 * price) as u64;
                    if value > 0 {
                        let c = g.node(Node::Coldkey(coldkey));
                        g.graph.add_edge(c, h, value);
                    }
                }
            }
        }
        g
    }

    /// Stake value (rao) controlled by each hotkey: the sum of its incoming stake edges.
    pub fn stake_by_hotkey(&self) -> Vec<(HotkeyId, u64)> {
        let mut totals: BTreeMap<HotkeyId, u64> = BTreeMap::new();
        for e in self.graph.raw_edges() {
            if let (Node::Coldkey(_), Node::Hotkey(h)) = (self.graph[e.source()], self.graph[e.target()]) {
                let t = totals.entry(h).or_default();
                *t = t.saturating_add(e.weight);
            }
        }
        totals.into_iter().collect()
    }

    /// Stake value (rao) owned by each coldkey, over all hotkeys and subnets.
    pub fn stake_by_coldkey(&self) -> Vec<(ColdkeyId, u64)> {
        let mut totals: BTreeMap<ColdkeyId, u64> = BTreeMap::new();
        for e in self.graph.raw_edges() {
            if let Node::Coldkey(c) = self.graph[e.source()] {
                let t = totals.entry(c).or_default();
                *t = t.saturating_add(e.weight);
            }
        }
        totals.into_iter().collect()
    }
}

/// Emission value (rao of TAO) of each hotkey at the last epoch of every subnet
/// (`Neuron::emission`, alpha valued at spot).
pub fn emission_by_hotkey(chain: &ChainState) -> Vec<u64> {
    let mut totals: BTreeMap<HotkeyId, u64> = BTreeMap::new();
    for s in chain.subnets.iter().flatten() {
        let price = s.pool.price().to_num::<f64>();
        for n in &s.neurons {
            let v = (n.emission.0 as f64 * price) as u64;
            if v > 0 {
                let t = totals.entry(n.hotkey).or_default();
                *t = t.saturating_add(v);
            }
        }
    }
    totals.into_values().collect()
}

/// Concentration of stake (by hotkey, through the graph) and of emission (by hotkey).
pub fn concentration(chain: &ChainState) -> Concentration {
    let graph = DelegationGraph::build(chain);
    let stake: Vec<u64> = graph.stake_by_hotkey().into_iter().map(|(_, v)| v).collect();
    let emission = emission_by_hotkey(chain);
    Concentration {
        nakamoto_stake: nakamoto_majority(&stake),
        gini_stake: gini(&stake),
        nakamoto_emission: nakamoto_majority(&emission),
        gini_emission: gini(&emission),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::{build, small};

    #[test]
    fn the_genesis_graph_holds_every_stake_and_equal_validators_are_equal() {
        let chain = build(&small()).expect("genesis");
        let g = DelegationGraph::build(&chain);
        let by_hotkey = g.stake_by_hotkey();
        assert_eq!(by_hotkey.len(), 4, "four validators hold all stake");
        let by_coldkey: u64 = g.stake_by_coldkey().iter().map(|(_, v)| v).sum();
        assert_eq!(by_coldkey, by_hotkey.iter().map(|(_, v)| v).sum::<u64>());
        let c = concentration(&chain);
        // Four equal validators, the first holding the remainder rao of each split: it and one
        // other are a strict majority by a few rao; Gini ~0.
        assert_eq!(c.nakamoto_stake, 2);
        assert!(c.gini_stake.abs() < 1e-6, "{}", c.gini_stake);
        assert_eq!(c.nakamoto_emission, 0, "no epoch yet");
    }
}
