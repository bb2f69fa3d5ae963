//! The network of a training subnet: peers, regions and the object store as a petgraph graph.
//!
//! Nodes are peers, regions and the store; each peer has an access link to its region (its
//! own uplink and downlink bandwidth), each region a backbone link to the store (shared
//! bandwidth, the region's latency), and the store a link of its own total bandwidth. A
//! transfer between a peer and the store follows the shortest-latency path (A* over the
//! graph) and gets, on every link of that path, an equal share of the link among the flows
//! that use it in the same phase (everyone uploads at the window's end; everyone downloads
//! after). This static fair share is a simplification of a fluid network model: flows do not
//! speed up when others finish early.

use super::config::TrainingConfig;
use petgraph::algo::astar;
use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// A peer, by index.
    Peer(usize),
    /// A region, by index in the config.
    Region(usize),
    /// The object store's front end.
    StoreFront,
    /// The object store itself (behind its shared link).
    Store,
}

/// A link: bandwidth toward the store (`up`) and from it (`down`), and one-way latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Bits per second toward the store.
    pub up_bps: f64,
    /// Bits per second from the store.
    pub down_bps: f64,
    /// One-way latency, seconds.
    pub latency_s: f64,
}

/// Which way data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Peer to store (upload).
    Up,
    /// Store to peer (download).
    Down,
}

/// The subnet's network.
#[derive(Clone, Debug)]
pub struct Topology {
    graph: UnGraph<Node, Link>,
    peers: Vec<NodeIndex>,
    store: NodeIndex,
    /// For each peer, the links of its path to the store.
    paths: Vec<Vec<EdgeIndex>>,
}

impl Topology {
    /// Builds the graph from a validated config; `peer_region` gives each peer's region index.
    pub fn build(cfg: &TrainingConfig, peer_region: &[usize], peer_links: &[(f64, f64)]) -> Self {
        let mut graph = UnGraph::new_undirected();
        let store = graph.add_node(Node::Store);
        let front = graph.add_node(Node::StoreFront);
        let store_bps = cfg.store.bandwidth_gbps * 1e9;
        graph.add_edge(front, store, Link { up_bps: store_bps, down_bps: store_bps, latency_s: 0.0 });
        let regions: Vec<NodeIndex> = cfg
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let node = graph.add_node(Node::Region(i));
                let bps = r.backbone_gbps * 1e9;
                graph.add_edge(node, front, Link { up_bps: bps, down_bps: bps, latency_s: r.rtt_ms / 2e3 });
                node
            })
            .collect();
        let peers: Vec<NodeIndex> = peer_region
            .iter()
            .zip(peer_links)
            .enumerate()
            .map(|(i, (&region, &(up_gbps, down_gbps)))| {
                let node = graph.add_node(Node::Peer(i));
                let link = Link { up_bps: up_gbps * 1e9, down_bps: down_gbps * 1e9, latency_s: 0.0 };
                graph.add_edge(node, regions[region], link);
                node
            })
            .collect();
        let paths = peers
            .iter()
            .map(|&p| {
                let nodes = astar(&graph, p, |n| n == store, |e| e.weight().latency_s, |_| 0.0)
                    .map(|(_, nodes)| nodes)
                    .unwrap_or_default();
                nodes.windows(2).filter_map(|w| graph.find_edge(w[0], w[1])).collect()
            })
            .collect();
        Self { graph, peers, store, paths }
    }

    /// The number of peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The node of the store.
    pub fn store(&self) -> NodeIndex {
        self.store
    }

    /// Round-trip time between a peer and the store, seconds.
    pub fn rtt_s(&self, peer: usize) -> f64 {
        2.0 * self.paths[peer].iter().map(|&e| self.graph[e].latency_s).sum::<f64>()
    }

    /// How many of the peers in `active` use each link (what [`Topology::rate_bps`] shares by).
    pub fn load(&self, active: &[usize]) -> LinkLoad {
        let mut flows = vec![0usize; self.graph.edge_count()];
        for &p in active {
            for &e in &self.paths[p] {
                flows[e.index()] += 1;
            }
        }
        LinkLoad { flows }
    }

    /// The rate (bits/s) a peer's transfer gets under `load`: on each link of its path, the
    /// link's bandwidth divided by the number of flows on it (at least its own); the smallest.
    pub fn rate_bps(&self, peer: usize, load: &LinkLoad, direction: Direction) -> f64 {
        self.paths[peer]
            .iter()
            .map(|&e| {
                let sharing = load.flows.get(e.index()).copied().unwrap_or(0).max(1);
                let link = self.graph[e];
                let bps = match direction {
                    Direction::Up => link.up_bps,
                    Direction::Down => link.down_bps,
                };
                bps / sharing as f64
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// [`Topology::rate_bps`] for the peers in `active` (which should include `peer`).
    pub fn fair_rate_bps(&self, peer: usize, active: &[usize], direction: Direction) -> f64 {
        self.rate_bps(peer, &self.load(active), direction)
    }
}

/// Flows per link in one phase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkLoad {
    flows: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::config::{RegionSection, StoreSection};

    fn config() -> TrainingConfig {
        TrainingConfig {
            regions: vec![
                RegionSection { name: "us".into(), rtt_ms: 20.0, backbone_gbps: 10.0 },
                RegionSection { name: "eu".into(), rtt_ms: 90.0, backbone_gbps: 100.0 },
            ],
            store: StoreSection { region: "us".into(), bandwidth_gbps: 1000.0 },
            ..TrainingConfig::default()
        }
    }

    #[test]
    fn paths_run_through_the_region_and_carry_its_latency() {
        let t = Topology::build(&config(), &[0, 1, 1], &[(5.0, 5.0), (5.0, 2.0), (1.0, 1.0)]);
        assert_eq!(t.peer_count(), 3);
        assert!((t.rtt_s(0) - 0.020).abs() < 1e-12);
        assert!((t.rtt_s(1) - 0.090).abs() < 1e-12);
        assert_eq!(t.graph[t.store()], Node::Store);
    }

    #[test]
    fn shared_links_are_divided_among_the_active_flows() {
        // Three peers in the US behind a 10 Gbit/s backbone, each with 5 Gbit/s access links.
        let t = Topology::build(&config(), &[0, 0, 0, 1], &[(5.0, 5.0); 4]);
        // Alone: its access link limits it.
        assert_eq!(t.fair_rate_bps(0, &[0], Direction::Up), 5e9);
        // Three US peers share 10 Gbit/s: 3.33 each; the EU peer does not count against them.
        let r = t.fair_rate_bps(0, &[0, 1, 2, 3], Direction::Down);
        assert!((r - 10e9 / 3.0).abs() < 1.0, "{r}");
        assert_eq!(t.fair_rate_bps(3, &[0, 1, 2, 3], Direction::Down), 5e9);
    }
}
