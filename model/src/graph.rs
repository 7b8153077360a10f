//! The resource graph: the output of expansion and the input of the planner.
//!
//! Nodes are provider resources with their configured attribute values;
//! edges point from a resource to the resources it references. Values that
//! depend on what another resource's provider computes are `Value::Unknown`
//! at plan time; the node's [`Deferred`] re-evaluates its configuration once
//! those results are known, during apply.
//!
//! Boundary: the planner sees resources, values and spans, never the syntax
//! tree: `Deferred` hides how the compiler evaluates.

use crate::source::Span;
use crate::value::Value;
use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;
use std::sync::Arc;

/// A resource's address, unique in a stack and target:
/// `stackc_data.seed`, `service.api/kubernetes_manifest.deployment`,
/// `database.main/aws_instance.node["1"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddress(pub String);

impl ResourceAddress {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Looks up the attributes of an already-applied resource by address.
pub type ResultLookup<'a> = &'a dyn Fn(&ResourceAddress) -> Option<Value>;

/// Re-evaluates configuration once dependencies have results.
pub trait Deferred: Send + Sync + std::fmt::Debug {
    /// The value again, with every reference to another resource's attributes
    /// looked up in `results`. Parts still unavailable stay `Value::Unknown`.
    fn evaluate(&self, results: ResultLookup<'_>) -> Result<Value, String>;
}

/// One provider resource.
#[derive(Clone, Debug)]
pub struct ResourceNode {
    pub address: ResourceAddress,
    /// Provider resource type: `stackc_data`, `aws_instance`.
    pub type_name: String,
    /// Target the type belongs to, `None` for the built-in provider's types.
    pub target: Option<String>,
    /// Configured attributes (an object), unknown where they depend on
    /// results of other resources.
    pub values: Value,
    /// How to recompute `values` with dependency results; `None` when
    /// `values` has no unknown that a dependency could resolve.
    pub deferred: Option<Arc<dyn Deferred>>,
    /// Direct dependencies (also the graph's edges).
    pub dependencies: Vec<ResourceAddress>,
    /// Spans from the user's instance block down to the resource block that
    /// produced this resource (outermost first).
    pub provenance: Vec<Span>,
}

/// A stack output.
#[derive(Clone, Debug)]
pub struct OutputNode {
    pub name: String,
    pub value: Value,
    pub deferred: Option<Arc<dyn Deferred>>,
    pub sensitive: bool,
    pub dependencies: Vec<ResourceAddress>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct ResourceGraph {
    pub graph: DiGraph<ResourceNode, ()>,
    /// (foldhash: an address is looked up per resource added and per dependency linked.)
    by_address: HashMap<ResourceAddress, NodeIndex, foldhash::fast::RandomState>,
    pub outputs: IndexMap<String, OutputNode>,
}

impl ResourceGraph {
    pub fn new() -> ResourceGraph {
        ResourceGraph::default()
    }

    /// Adds a node; returns `Err` with the existing index if the address is taken.
    pub fn add(&mut self, node: ResourceNode) -> Result<NodeIndex, NodeIndex> {
        if let Some(&existing) = self.by_address.get(&node.address) {
            return Err(existing);
        }
        let address = node.address.clone();
        let index = self.graph.add_node(node);
        self.by_address.insert(address, index);
        Ok(index)
    }

    /// Adds an edge for every declared dependency. Call once all nodes are in.
    /// Returns the dependencies that name no resource.
    pub fn link(&mut self) -> Vec<(ResourceAddress, ResourceAddress)> {
        let mut missing = Vec::new();
        let mut edges = Vec::new();
        for index in self.graph.node_indices() {
            for dep in &self.graph[index].dependencies {
                match self.by_address.get(dep) {
                    Some(&target) => edges.push((index, target)),
                    None => missing.push((self.graph[index].address.clone(), dep.clone())),
                }
            }
        }
        self.graph.clear_edges();
        for (from, to) in edges {
            self.graph.update_edge(from, to, ());
        }
        missing
    }

    pub fn index_of(&self, address: &ResourceAddress) -> Option<NodeIndex> {
        self.by_address.get(address).copied()
    }

    pub fn get(&self, address: &ResourceAddress) -> Option<&ResourceNode> {
        self.index_of(address).map(|i| &self.graph[i])
    }

    pub fn nodes(&self) -> impl Iterator<Item = &ResourceNode> {
        self.graph.node_weights()
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }
}
