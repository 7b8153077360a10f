//! Reference cycles between stack-level declarations (variables through
//! their validations, locals, instances, resources, outputs). Each cycle is
//! reported once, as the whole loop, with a label on every reference in it.

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::hash::{FastMap, FastSet};
use crate::source::Span;

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

/// The dependency graph: declarations, and for each the declarations it
/// refers to with the span of the first such reference (in source order),
/// grouped by source (`edges[starts[n]..starts[n + 1]]` leave node `n`).
struct Graph<'a> {
    nodes: Vec<Node<'a>>,
    starts: Vec<usize>,
    edges: Vec<(usize, Span)>,
}

impl<'a> Graph<'a> {
    /// The graph of the dependencies that can be part of a cycle: those
    /// whose target depends on something itself (most declarations name
    /// only ones that name nothing: variables, databases, volumes; leaving
    /// those out keeps the graph, and its memory, small).
    fn new(dependencies: &[(Node<'a>, Node<'a>, Span)]) -> Graph<'a> {
        // Inserted one by one: collecting would size the set for every
        // dependency, several times the declarations that have some.
        let mut dependents: FastSet<Node<'a>> = FastSet::default();
        for (from, _, _) in dependencies {
            dependents.insert(*from);
        }
        let mut nodes = Vec::new();
        let mut index: FastMap<Node<'a>, usize> = FastMap::default();
        let mut node = |n: Node<'a>| {
            *index.entry(n).or_insert_with(|| {
                nodes.push(n);
                nodes.len() - 1
            })
        };
        let mut seen: FastSet<(usize, usize)> = FastSet::default();
        let mut unique = Vec::new();
        for (from, to, span) in dependencies.iter().filter(|(_, to, _)| dependents.contains(to)) {
            let (a, b) = (node(*from), node(*to));
            // One edge per pair: the first reference (in source order) labels it.
            if seen.insert((a, b)) {
                unique.push((a, b, *span));
            }
        }
        // Grouped by source, in order (a counting sort).
        let mut starts = vec![0; nodes.len() + 1];
        for &(from, _, _) in &unique {
            starts[from + 1] += 1;
        }
        for n in 0..nodes.len() {
            starts[n + 1] += starts[n];
        }
        let mut next = starts.clone();
        let mut edges = vec![(0, Span::file_start(crate::source::FileId(0))); unique.len()];
        for (from, to, span) in unique {
            edges[next[from]] = (to, span);
            next[from] += 1;
        }
        Graph { nodes, starts, edges }
    }

    fn edges(&self, node: usize) -> &[(usize, Span)] {
        &self.edges[self.starts[node]..self.starts[node + 1]]
    }

    /// The strongly connected components that are cycles (more than one
    /// member, or one that refers to itself), by Tarjan's algorithm, iterative: a
    /// chain of declarations each naming the next may be as long as the
    /// stack is large, and must not overflow the call stack).
    fn components(&self) -> Vec<Vec<usize>> {
        const UNVISITED: usize = usize::MAX;
        let n = self.nodes.len();
        let mut order = vec![UNVISITED; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut components = Vec::new();
        let mut visited = 0;
        // The depth-first path: a node and how many of its edges were followed.
        let mut path: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if order[root] != UNVISITED {
                continue;
            }
            path.push((root, 0));
            order[root] = visited;
            low[root] = visited;
            visited += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (node, ref mut followed)) = path.last_mut() {
                if let Some(&(next, _)) = self.edges(node).get(*followed) {
                    *followed += 1;
                    if order[next] == UNVISITED {
                        order[next] = visited;
                        low[next] = visited;
                        visited += 1;
                        stack.push(next);
                        on_stack[next] = true;
                        path.push((next, 0));
                    } else if on_stack[next] {
                        low[node] = low[node].min(order[next]);
                    }
                    continue;
                }
                path.pop();
                if let Some(&(parent, _)) = path.last() {
                    low[parent] = low[parent].min(low[node]);
                }
                if low[node] == order[node] {
                    // Nearly every component is one declaration in no loop:
                    // it is dropped here, without a list of its own.
                    if stack.last() == Some(&node) && !self.edges(node).iter().any(|(to, _)| *to == node) {
                        stack.pop();
                        on_stack[node] = false;
                        continue;
                    }
                    let mut members = Vec::new();
                    while let Some(member) = stack.pop() {
                        on_stack[member] = false;
                        members.push(member);
                        if member == node {
                            break;
                        }
                    }
                    components.push(members);
                }
            }
        }
        components
    }
}

pub(super) fn report<'a>(dependencies: &[(Node<'a>, Node<'a>, Span)], diagnostics: &mut Vec<Diagnostic>) {
    let graph = Graph::new(dependencies);
    // The order of the cycles is their first member's.
    let mut cycles = graph.components();
    cycles.sort_by_key(|members| members.iter().map(|m| graph.nodes[*m]).min());
    for members in cycles {
        let members_set: FastSet<usize> = members.iter().copied().collect();
        // Start at the member declared first in the ordering, then follow
        // edges inside the component until we are back at the start.
        let Some(start) = members.iter().copied().min_by_key(|m| graph.nodes[*m]) else { continue };
        let Some(cycle) = find_cycle(&graph, start, &members_set) else { continue };
        diagnostics.push(cycle_diagnostic(&graph, &cycle));
    }
}

/// A simple cycle through `start` within `members` (a breadth-first search
/// for the shortest way back, bounded by the component's size).
fn find_cycle(
    graph: &Graph<'_>,
    start: usize,
    members: &FastSet<usize>,
) -> Option<Vec<(usize, usize, Span)>> {
    let mut previous: FastMap<usize, (usize, Span)> = FastMap::default();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(start);
    while let Some(current) = queue.pop_front() {
        let mut edges: Vec<(usize, Span)> = graph.edges(current).to_vec();
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

fn cycle_diagnostic(graph: &Graph<'_>, cycle: &[(usize, usize, Span)]) -> Diagnostic {
    let graph = &graph.nodes;
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
