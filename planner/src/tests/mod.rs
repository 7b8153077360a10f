//! Planner tests over hand-built graphs: the built-in provider, and an
//! in-memory "cloud" provider (a fake, for the planner's own logic only:
//! drift, failures, inconsistent results).

pub mod fake;
mod planner;

use crate::apply::{apply, ApplyInput, ApplyReport, CancelLevel, Canceller, Silent};
use crate::backend::LocalBackend;
use crate::plan::{Plan, PlanOptions};
use crate::planning::{plan, PlanInput, PlanOutcome};
use crate::providers::ProviderSet;
use crate::state::State;
use indexmap::IndexMap;
use stackc_model::graph::{Deferred, ResourceAddress, ResourceGraph, ResourceNode, ResultLookup};
use stackc_model::Value;
use std::sync::Arc;

pub fn address(s: &str) -> ResourceAddress {
    ResourceAddress(s.to_string())
}

pub fn object(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>())
}

/// A configuration whose attribute `attribute` is `from`'s `field` (a
/// reference), the rest fixed.
#[derive(Debug)]
pub struct Reference {
    pub fixed: Value,
    pub attribute: String,
    pub from: ResourceAddress,
    pub field: String,
}

impl Deferred for Reference {
    fn evaluate(&self, results: ResultLookup<'_>) -> Result<Value, String> {
        let mut value = self.fixed.clone();
        let found =
            results(&self.from).and_then(|r| r.get_path(&[&self.field]).cloned()).unwrap_or(Value::Unknown);
        if let Value::Object(fields) = &mut value {
            fields.insert(self.attribute.clone(), found);
        }
        Ok(value)
    }
}

/// Builds graphs node by node.
#[derive(Default)]
pub struct GraphBuilder {
    graph: ResourceGraph,
}

impl GraphBuilder {
    pub fn node(mut self, addr: &str, type_name: &str, target: Option<&str>, values: Value) -> GraphBuilder {
        self.graph
            .add(ResourceNode {
                address: address(addr),
                type_name: type_name.into(),
                target: target.map(str::to_string),
                values,
                deferred: None,
                dependencies: vec![],
                provenance: vec![],
            })
            .expect("unique address");
        self
    }

    /// A node whose `attribute` is `from.field` (`reference` = (attribute, from, field)).
    pub fn referencing(
        mut self,
        addr: &str,
        type_name: &str,
        target: Option<&str>,
        fixed: Value,
        reference: (&str, &str, &str),
    ) -> GraphBuilder {
        let (attribute, from, field) = reference;
        let deferred = Arc::new(Reference {
            fixed: fixed.clone(),
            attribute: attribute.into(),
            from: address(from),
            field: field.into(),
        });
        let values = deferred.evaluate(&|_| None).unwrap();
        self.graph
            .add(ResourceNode {
                address: address(addr),
                type_name: type_name.into(),
                target: target.map(str::to_string),
                values,
                deferred: Some(deferred),
                dependencies: vec![address(from)],
                provenance: vec![],
            })
            .expect("unique address");
        self
    }

    pub fn build(mut self) -> ResourceGraph {
        assert!(self.graph.link().is_empty(), "every dependency exists");
        self.graph
    }
}

/// A state backend in a temporary directory.
pub struct Workspace {
    pub _dir: tempfile::TempDir,
    pub backend: LocalBackend,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path(), None);
        Workspace { _dir: dir, backend }
    }

    pub fn state(&self) -> State {
        match self.backend.load().unwrap() {
            Some(state) => state,
            None => self.backend.new_state("test").unwrap(),
        }
    }

    pub async fn plan(
        &self,
        graph: &ResourceGraph,
        providers: &ProviderSet,
        options: PlanOptions,
    ) -> PlanOutcome {
        let state = self.state();
        plan(PlanInput { graph, state: &state, providers, options: &options }).await
    }

    /// Applies `plan` under the lock, committing the state.
    pub async fn apply(&self, plan: &Plan, graph: &ResourceGraph, providers: &ProviderSet) -> ApplyReport {
        let (_canceller, receiver) = Canceller::new();
        self.apply_with(plan, graph, providers, receiver, 4).await
    }

    pub async fn apply_with(
        &self,
        plan: &Plan,
        graph: &ResourceGraph,
        providers: &ProviderSet,
        cancel: tokio::sync::watch::Receiver<CancelLevel>,
        parallelism: usize,
    ) -> ApplyReport {
        let guard = self.backend.lock("apply").unwrap();
        let mut state = self.state();
        let mut journal = self.backend.begin_journal(&guard, &mut state).unwrap();
        let report = apply(ApplyInput {
            plan,
            graph,
            providers,
            state: &mut state,
            journal: &mut journal,
            parallelism,
            observer: &Silent,
            cancel,
        })
        .await
        .unwrap();
        journal.commit(&mut state).unwrap();
        report
    }

    /// Plans and applies; asserts planning found no problem.
    pub async fn converge(&self, graph: &ResourceGraph, providers: &ProviderSet) -> (Plan, ApplyReport) {
        let outcome = self.plan(graph, providers, PlanOptions::new()).await;
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        let report = self.apply(&outcome.plan, graph, providers).await;
        (outcome.plan, report)
    }
}
