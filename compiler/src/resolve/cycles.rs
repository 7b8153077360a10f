//! Reference cycles between stack-level declarations (variables through
//! their validations, locals, instances, resources, outputs). Each cycle is
//! reported once, as the whole loop, with a label on every reference in it.

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::hash::{FastMap, FastSet};
use crate::source::Span;
use petgraph::graph::{DiGraph, NodeIndex};

/// A stack-level declaration that can depend on others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node<'a> {
    Variable(&'a str),
    Local(&'a str),
    /// (kind, name)
    Instance(&'a str, &'a str),
    /// (type, name)
    Resource(&'a str, &'a str),
    Output(&'a str),
}

impl std::fmt::Display for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Variable(name) => write!(f, "var.{name}"),
            Node::Local(name) => write!(f, "local.{name}"),
            Node::Instance(kind, name) | Node::Resource(kind, name) => write!(f, "{kind}.{name}"),
            Node::Output(name) => write!(f, "output `{name}`"),
        }
    }
}

pub(super) fn report<'a>(dependencies: &[(Node<'a>, Node<'a>, Span)], diagnostics: &mut Vec<Diagnostic>) {
    let mut graph: DiGraph<Node<'a>, Span> = DiGraph::new();
    let mut index: FastMap<Node<'a>, NodeIndex> = FastMap::default();
    let mut node = |graph: &mut DiGraph<Node<'a>, Span>, n: Node<'a>| {
        *index.entry(n).or_insert_with(|| graph.add_node(n))
    };
    let mut seen_edges: FastSet<(NodeIndex, NodeIndex)> = FastSet::default();
    for (from, to, span) in dependencies {
        let (a, b) = (node(&mut graph, *from), node(&mut graph, *to));
        // One edge per pair: the first reference (in source order) labels it.
        if seen_edges.insert((a, b)) {
            graph.add_edge(a, b, *span);
        }
    }
    // Nearly every component is one declaration in no loop: drop those
    // before sorting or building anything for them (a stable sort of the
    // cycles alone keeps their order).
    let mut cycles: Vec<Vec<NodeIndex>> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|members| members.len() > 1 || graph.find_edge(members[0], members[0]).is_some())
        .collect();
    cycles.sort_by_key(|members| members.iter().map(|m| graph[*m]).min());
    for members in cycles {
        let members_set: FastSet<NodeIndex> = members.iter().copied().collect();
        // Start at the member declared first in the ordering, then follow
        // edges inside the component until we are back at the start.
        let Some(start) = members.iter().copied().min_by_key(|m| graph[*m]) else { continue };
        let Some(cycle) = find_cycle(&graph, start, &members_set) else { continue };
        diagnostics.push(cycle_diagnostic(&graph, &cycle));
    }
}

/// A simple cycle through `start` within `members` (a breadth-first search
/// for the shortest way back, bounded by the component's size).
fn find_cycle(
    graph: &DiGraph<Node<'_>, Span>,
    start: NodeIndex,
    members: &FastSet<NodeIndex>,
) -> Option<Vec<(NodeIndex, NodeIndex, Span)>> {
    let mut previous: FastMap<NodeIndex, (NodeIndex, Span)> = FastMap::default();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(start);
    while let Some(current) = queue.pop_front() {
        let mut edges: Vec<_> =
            graph.edges(current).map(|e| (petgraph::visit::EdgeRef::target(&e), *e.weight())).collect();
        edges.sort_by_key(|(_, span)| *span);
        for (next, span) in edges {
            if !members.contains(&next) {
                continue;
            }
            if next == start {
                let mut path = vec![(current, start, span)];
                let mut at = current;
                while at != start {
                    let (before, span) = *previous.get(&at)?;
                    path.push((before, at, span));
                    at = before;
                }
                path.reverse();
                return Some(path);
            }
            if next != start && !previous.contains_key(&next) {
                previous.insert(next, (current, span));
                queue.push_back(next);
            }
        }
    }
    None
}

fn cycle_diagnostic(graph: &DiGraph<Node<'_>, Span>, cycle: &[(NodeIndex, NodeIndex, Span)]) -> Diagnostic {
    let mut names: Vec<String> = cycle.iter().map(|(from, _, _)| graph[*from].to_string()).collect();
    names.push(graph[cycle[0].0].to_string());
    let chain = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" -> ");
    let (first_from, first_to, first_span) = cycle[0];
    let mut diagnostic = Diagnostic::new(
        Code::ReferenceCycle,
        first_span,
        if cycle.len() == 1 {
            format!("`{}` refers to itself: {chain}.", graph[first_from])
        } else {
            format!("These values refer to each other in a loop: {chain}.")
        },
    )
    .with_label(format!("`{}` needs `{}` here", graph[first_from], graph[first_to]));
    for (from, to, span) in &cycle[1..] {
        diagnostic =
            diagnostic.with_secondary(*span, format!("`{}` needs `{}` here", graph[*from], graph[*to]));
    }
    diagnostic.with_help(
        "break the loop: compute one of these values without the others (from a variable or a literal)",
    )
}
