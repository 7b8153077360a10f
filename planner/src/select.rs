//! Resource selection: `--only ADDR` and `--exclude ADDR`.
//!
//! A pattern names a resource (`stackc_data.seed`,
//! `database.main/aws_instance.node["1"]`), every repetition of one
//! (`database.main/aws_instance.node`), or everything an instance expanded
//! to (`service.api`, `database.main`).
//!
//! - `--only P`: the resources P names, plus everything they depend on
//!   (transitively), so they can be created; nothing that depends on them.
//!   Deletes: only resources P names.
//! - `--exclude P`: everything but the resources P names and everything
//!   that depends on them (transitively: a dependent cannot be applied
//!   without its dependency).
//! - Both: `--only` first, then `--exclude` removes from that.
//! - Destroy: the resources selected and everything that depends on them
//!   (a dependency cannot go while a dependent stays).

use stackc_model::graph::ResourceAddress;
use std::collections::{HashMap, HashSet};

/// True if `pattern` names `address`: equal, or a prefix ending at a
/// boundary (`/` between instance and resource, `[` before a key, `.`
/// between an instance path and its resources' names never matches a
/// partial name).
pub fn matches(pattern: &str, address: &str) -> bool {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return false;
    }
    match address.strip_prefix(pattern) {
        Some("") => true,
        Some(rest) => rest.starts_with('/') || rest.starts_with('['),
        None => false,
    }
}

fn matches_any(patterns: &[String], address: &str) -> bool {
    patterns.iter().any(|p| matches(p, address))
}

/// Which resources a command acts on.
#[derive(Clone, Debug)]
pub struct Selection {
    /// `None`: everything.
    chosen: Option<HashSet<ResourceAddress>>,
}

impl Selection {
    pub fn all() -> Selection {
        Selection { chosen: None }
    }

    pub fn contains(&self, address: &ResourceAddress) -> bool {
        self.chosen.as_ref().is_none_or(|c| c.contains(address))
    }

    pub fn is_all(&self) -> bool {
        self.chosen.is_none()
    }

    /// The selection for a plan over `desired` (address -> direct
    /// dependencies) and the state's addresses.
    pub fn for_plan(
        only: &[String],
        exclude: &[String],
        desired: &HashMap<ResourceAddress, Vec<ResourceAddress>>,
        in_state: &[ResourceAddress],
    ) -> Selection {
        if only.is_empty() && exclude.is_empty() {
            return Selection::all();
        }
        let everything: HashSet<ResourceAddress> = desired.keys().chain(in_state).cloned().collect();
        let mut chosen: HashSet<ResourceAddress> = if only.is_empty() {
            everything.clone()
        } else {
            let named: Vec<ResourceAddress> =
                everything.iter().filter(|a| matches_any(only, a.as_str())).cloned().collect();
            closure(named, |a| desired.get(a).cloned().unwrap_or_default())
        };
        if !exclude.is_empty() {
            let dependents = reverse(desired);
            let named: Vec<ResourceAddress> =
                everything.iter().filter(|a| matches_any(exclude, a.as_str())).cloned().collect();
            for removed in closure(named, |a| dependents.get(a).cloned().unwrap_or_default()) {
                chosen.remove(&removed);
            }
        }
        Selection { chosen: Some(chosen) }
    }

    /// The selection for a destroy: the named resources and everything in
    /// the state that depends on them. `recorded` is address -> recorded
    /// dependencies of the state's resources.
    pub fn for_destroy(
        only: &[String],
        exclude: &[String],
        recorded: &HashMap<ResourceAddress, Vec<ResourceAddress>>,
    ) -> Selection {
        if only.is_empty() && exclude.is_empty() {
            return Selection::all();
        }
        let dependents = reverse(recorded);
        let mut chosen: HashSet<ResourceAddress> = if only.is_empty() {
            recorded.keys().cloned().collect()
        } else {
            let named: Vec<ResourceAddress> =
                recorded.keys().filter(|a| matches_any(only, a.as_str())).cloned().collect();
            closure(named, |a| dependents.get(a).cloned().unwrap_or_default())
        };
        if !exclude.is_empty() {
            // Keeping a resource keeps what it depends on.
            let named: Vec<ResourceAddress> =
                recorded.keys().filter(|a| matches_any(exclude, a.as_str())).cloned().collect();
            for kept in closure(named, |a| recorded.get(a).cloned().unwrap_or_default()) {
                chosen.remove(&kept);
            }
        }
        Selection { chosen: Some(chosen) }
    }

    /// Patterns that name nothing, for a warning.
    pub fn unmatched<'p>(patterns: &'p [String], addresses: &[&ResourceAddress]) -> Vec<&'p str> {
        patterns
            .iter()
            .filter(|p| !addresses.iter().any(|a| matches(p, a.as_str())))
            .map(String::as_str)
            .collect()
    }
}

fn reverse(
    edges: &HashMap<ResourceAddress, Vec<ResourceAddress>>,
) -> HashMap<ResourceAddress, Vec<ResourceAddress>> {
    let mut out: HashMap<ResourceAddress, Vec<ResourceAddress>> = HashMap::new();
    for (from, tos) in edges {
        for to in tos {
            out.entry(to.clone()).or_default().push(from.clone());
        }
    }
    out
}

/// `start` and everything reachable from it through `next`.
fn closure(
    start: Vec<ResourceAddress>,
    next: impl Fn(&ResourceAddress) -> Vec<ResourceAddress>,
) -> HashSet<ResourceAddress> {
    let mut seen: HashSet<ResourceAddress> = HashSet::new();
    let mut stack = start;
    while let Some(address) = stack.pop() {
        if seen.insert(address.clone()) {
            stack.extend(next(&address));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> ResourceAddress {
        ResourceAddress(s.to_string())
    }

    #[test]
    fn patterns_match_at_boundaries() {
        assert!(matches("service.api", "service.api/kubernetes_manifest.deployment"));
        assert!(matches("database.main/aws_instance.node", "database.main/aws_instance.node[\"1\"]"));
        assert!(matches("stackc_data.seed", "stackc_data.seed"));
        assert!(!matches("service.ap", "service.api/kubernetes_manifest.deployment"));
        assert!(!matches("stackc_data.seed", "stackc_data.seeds"));
        assert!(!matches("", "stackc_data.seed"));
    }

    #[test]
    fn only_takes_dependencies_and_exclude_takes_dependents() {
        // c -> b -> a, d -> a
        let desired: HashMap<ResourceAddress, Vec<ResourceAddress>> = [
            (a("x.a"), vec![]),
            (a("x.b"), vec![a("x.a")]),
            (a("x.c"), vec![a("x.b")]),
            (a("x.d"), vec![a("x.a")]),
        ]
        .into_iter()
        .collect();
        let only = Selection::for_plan(&["x.b".into()], &[], &desired, &[]);
        assert!(only.contains(&a("x.a")) && only.contains(&a("x.b")));
        assert!(!only.contains(&a("x.c")) && !only.contains(&a("x.d")));
        let exclude = Selection::for_plan(&[], &["x.b".into()], &desired, &[a("x.old")]);
        assert!(exclude.contains(&a("x.a")) && exclude.contains(&a("x.d")) && exclude.contains(&a("x.old")));
        assert!(!exclude.contains(&a("x.b")) && !exclude.contains(&a("x.c")));
    }

    #[test]
    fn destroy_only_takes_dependents() {
        let recorded: HashMap<ResourceAddress, Vec<ResourceAddress>> =
            [(a("x.a"), vec![]), (a("x.b"), vec![a("x.a")]), (a("x.c"), vec![])].into_iter().collect();
        let selection = Selection::for_destroy(&["x.a".into()], &[], &recorded);
        assert!(selection.contains(&a("x.a")) && selection.contains(&a("x.b")));
        assert!(!selection.contains(&a("x.c")));
    }
}
