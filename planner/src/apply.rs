//! Apply: carries out a [`Plan`] through the providers.
//!
//! The plan's changes become operations (a replace is a delete, then a
//! create), ordered so that
//! - a create or update waits for the creates and updates of what it
//!   depends on, and a replace's create for its delete;
//! - a delete waits for the deletes of what depended on it (as the state
//!   recorded), and so does any other operation on the object they
//!   depended on.
//!
//! Operations run with bounded concurrency. Before one starts, its
//! configuration is evaluated again with the results of its dependencies,
//! and checked against the plan (a known planned value must not have
//! changed; nothing may still be unknown). When one finishes, its result is
//! checked against what the provider planned, then recorded in the journal
//! (one line, see [`crate::backend::Journal`]) and in the in-memory state.
//!
//! Before a create is sent, its intent (address, a fresh token, the
//! configuration) is recorded in the journal, so that if this process is
//! killed before the result is recorded, the next plan looks for the object
//! and adopts it instead of creating a second one (see
//! [`crate::state::CreateIntent`]). The intents of an earlier apply, which
//! the plan resolved, are closed first.
//!
//! A failure stops the operations that depend on it; everything else goes
//! on. An inconsistent result is recorded *tainted* (the object exists; the
//! next plan replaces it). Cancelling: the first signal starts nothing new
//! and lets what runs finish; the second drops what runs (its outcome is
//! unknown: the next refresh finds out).

use crate::backend::{BackendError, Journal, JournalEntry};
use crate::plan::{incompatibility, path_string, value_at, Action, Plan, ResourceChange};
use crate::planning::operation_context;
use crate::providers::ProviderSet;
use crate::state::{CreateIntent, OutputState, ResourceState, State};
use stackc_model::graph::{ResourceAddress, ResourceGraph};
use stackc_model::{Span, Value};
use stackc_providers::{ObjectState, Provider, ProviderError};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationKind {
    Create,
    Update,
    Delete,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Create => "create",
            OperationKind::Update => "update",
            OperationKind::Delete => "delete",
        }
    }
}

/// Progress, for the display.
#[derive(Clone, Debug)]
pub enum ApplyEvent {
    Started {
        address: ResourceAddress,
        kind: OperationKind,
    },
    Finished {
        address: ResourceAddress,
        kind: OperationKind,
        id: Option<String>,
        elapsed: Duration,
    },
    Failed {
        address: ResourceAddress,
        kind: OperationKind,
        message: String,
    },
    /// Not started because a dependency failed or the apply was interrupted.
    Skipped {
        address: ResourceAddress,
        kind: OperationKind,
        because: String,
    },
    /// The first interrupt: nothing new starts.
    Stopping {
        running: usize,
    },
}

/// Receives progress events (from the task driving the apply).
pub trait ApplyObserver: Send + Sync {
    fn event(&self, event: &ApplyEvent);
}

/// An observer that ignores everything.
pub struct Silent;

impl ApplyObserver for Silent {
    fn event(&self, _event: &ApplyEvent) {}
}

/// How far a cancel request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CancelLevel {
    None,
    /// Start nothing new; let running operations finish.
    Graceful,
    /// Drop running operations too.
    Immediate,
}

/// The sending side of a cancel request (held by the signal handler).
#[derive(Clone, Debug)]
pub struct Canceller {
    sender: Arc<watch::Sender<CancelLevel>>,
}

impl Canceller {
    pub fn new() -> (Canceller, watch::Receiver<CancelLevel>) {
        let (sender, receiver) = watch::channel(CancelLevel::None);
        (Canceller { sender: Arc::new(sender) }, receiver)
    }

    /// Raises the level one step (None -> Graceful -> Immediate); returns the new level.
    pub fn escalate(&self) -> CancelLevel {
        let mut level = CancelLevel::None;
        self.sender.send_modify(|current| {
            *current = match *current {
                CancelLevel::None => CancelLevel::Graceful,
                _ => CancelLevel::Immediate,
            };
            level = *current;
        });
        level
    }

    pub fn level(&self) -> CancelLevel {
        *self.sender.borrow()
    }
}

/// A failed operation.
#[derive(Clone, Debug)]
pub struct ApplyFailure {
    pub address: ResourceAddress,
    pub kind: OperationKind,
    pub code: Option<String>,
    pub message: String,
    pub provenance: Vec<Span>,
}

/// How the apply went.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// (address, kind) of every operation that finished.
    pub done: Vec<(ResourceAddress, OperationKind)>,
    pub failed: Vec<ApplyFailure>,
    /// Not started: (address, kind, why).
    pub skipped: Vec<(ResourceAddress, OperationKind, String)>,
    /// Running when an immediate cancel dropped them: their outcome is unknown.
    pub interrupted: Vec<(ResourceAddress, OperationKind)>,
    /// True if a cancel request stopped the apply early.
    pub cancelled: bool,
    /// Outputs that could not be evaluated (name, why).
    pub output_problems: Vec<(String, String)>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.interrupted.is_empty() && !self.cancelled
    }

    pub fn count(&self, kind: OperationKind) -> usize {
        self.done.iter().filter(|(_, k)| *k == kind).count()
    }
}

/// Everything an apply works with.
pub struct ApplyInput<'a> {
    pub plan: &'a Plan,
    /// The graph the plan was made from: configurations are evaluated again
    /// from it as results arrive. (A destroy needs only its outputs.)
    pub graph: &'a ResourceGraph,
    pub providers: &'a ProviderSet,
    /// The state as loaded; updated as operations finish.
    pub state: &'a mut State,
    /// Where every finished operation is recorded first.
    pub journal: &'a mut Journal,
    /// Operations running at once (at least 1).
    pub parallelism: usize,
    pub observer: &'a dyn ApplyObserver,
    pub cancel: watch::Receiver<CancelLevel>,
}

struct Operation<'p> {
    change: &'p ResourceChange,
    kind: OperationKind,
    /// Operations that must finish first.
    waiting: usize,
    /// Operations that wait for this one.
    dependents: Vec<usize>,
}

type TaskResult = (usize, Result<Option<ObjectState>, ProviderError>, Duration);

/// Carries out `plan`. Returns the report; `Err` only when the state could
/// not be recorded (then nothing new was started after the failure, and
/// the journal holds everything recorded before it).
pub async fn apply(input: ApplyInput<'_>) -> Result<ApplyReport, BackendError> {
    let ApplyInput { plan, graph, providers, state, journal, parallelism, observer, mut cancel } = input;
    let parallelism = parallelism.max(1);

    // What refresh found, recorded first.
    let mut first: Vec<JournalEntry> = Vec::new();
    for (address, refreshed) in &plan.refreshed {
        first.push(JournalEntry::Put(address.clone(), refreshed.clone()));
    }
    for address in &plan.forgotten {
        first.push(JournalEntry::Remove(address.clone()));
    }
    // Intents of a killed apply: the plan looked for their objects and
    // adopted those found (above, with the refreshed objects).
    for address in state.intents.keys() {
        first.push(JournalEntry::Resolved(address.clone()));
    }
    record(journal, state, &first)?;

    // The attributes of every resource as they are now; results replace them.
    let mut results: HashMap<ResourceAddress, Value> = HashMap::new();
    for change in &plan.changes {
        if change.action == Action::NoOp || change.action == Action::Update {
            if let Some(prior) = &change.prior {
                results.insert(change.address.clone(), prior.attributes.clone());
            }
        }
    }

    let (operations, order_problem) = operations(plan);
    let mut run = Run {
        ready: (0..operations.len()).filter(|&i| operations[i].waiting == 0).collect(),
        blocked: vec![None; operations.len()],
        started: vec![false; operations.len()],
        operations,
        results,
        report: ApplyReport::default(),
        journal,
        state,
        providers,
        observer,
        record_error: None,
    };
    if let Some(cycle) = order_problem {
        for operation in &run.operations {
            run.report.skipped.push((operation.change.address.clone(), operation.kind, cycle.clone()));
        }
        return Ok(run.report);
    }

    // Running operations by their task's id.
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut tasks: tokio::task::JoinSet<TaskResult> = tokio::task::JoinSet::new();
    let mut stopping = false;
    let mut listening = true;
    loop {
        // Start what can start.
        while !stopping && run.record_error.is_none() && running.len() < parallelism {
            let Some(i) = run.ready.pop_front() else { break };
            if let Some(because) = run.blocked[i].clone() {
                run.skip(i, because);
                continue;
            }
            match start(&run.operations[i], graph, &run.results, run.providers, run.state) {
                Ok(mut task) => {
                    if task.kind == OperationKind::Create {
                        if let Err(error) = run.record_intent(i, &mut task) {
                            // Not sent: without its intent, a kill could orphan the object.
                            run.record_error = Some(error);
                            break;
                        }
                    }
                    run.started[i] = true;
                    let (address, kind) = (run.operations[i].change.address.clone(), run.operations[i].kind);
                    run.observer.event(&ApplyEvent::Started { address, kind });
                    let handle = tasks.spawn(async move {
                        let begun = Instant::now();
                        let outcome = task.run().await;
                        (i, outcome, begun.elapsed())
                    });
                    running.insert(handle.id(), i);
                }
                Err(failure) => {
                    run.started[i] = true;
                    run.fail(i, failure);
                }
            }
        }
        if running.is_empty() {
            let nothing_startable = stopping || run.record_error.is_some() || run.ready.is_empty();
            if nothing_startable {
                break;
            }
            continue;
        }
        tokio::select! {
            joined = tasks.join_next_with_id() => {
                if let Some(joined) = joined {
                    run.joined(joined, &mut running);
                }
            }
            changed = cancel.changed(), if listening => {
                let level = match changed {
                    Ok(()) => *cancel.borrow(),
                    Err(_) => {
                        listening = false;
                        CancelLevel::None
                    }
                };
                if level >= CancelLevel::Graceful && !stopping {
                    stopping = true;
                    run.report.cancelled = true;
                    run.observer.event(&ApplyEvent::Stopping { running: running.len() });
                }
                if level == CancelLevel::Immediate {
                    tasks.abort_all();
                    // Operations that finished meanwhile are recorded; the others were dropped.
                    while let Some(joined) = tasks.join_next_with_id().await {
                        run.joined(joined, &mut running);
                    }
                    let mut dropped: Vec<usize> = running.drain().map(|(_, i)| i).collect();
                    dropped.sort_unstable();
                    for i in dropped {
                        let operation = &run.operations[i];
                        run.report.interrupted.push((operation.change.address.clone(), operation.kind));
                    }
                    break;
                }
            }
        }
        if run.record_error.is_some() {
            stopping = true;
        }
    }
    // Anything still running (after a recording error) finishes first.
    while let Some(joined) = tasks.join_next_with_id().await {
        run.joined(joined, &mut running);
    }

    // What never started: skipped, saying why.
    for i in 0..run.operations.len() {
        let operation = &run.operations[i];
        let noted =
            run.report.skipped.iter().any(|(a, k, _)| a == &operation.change.address && *k == operation.kind);
        let interrupted = run
            .report
            .interrupted
            .iter()
            .any(|(a, k)| a == &operation.change.address && *k == operation.kind);
        if run.started[i] || noted || interrupted {
            continue;
        }
        let because = run.blocked[i].clone().unwrap_or_else(|| "the apply was interrupted".to_string());
        let (address, kind) = (operation.change.address.clone(), operation.kind);
        run.observer.event(&ApplyEvent::Skipped { address: address.clone(), kind, because: because.clone() });
        run.report.skipped.push((address, kind, because));
    }
    if let Some(error) = run.record_error.take() {
        return Err(error);
    }

    // Outputs, from the results.
    let mut entries = Vec::new();
    for output in &plan.outputs {
        match (&output.after, graph.outputs.get(&output.name)) {
            (None, _) => entries.push(JournalEntry::RemoveOutput(output.name.clone())),
            (Some(_), Some(node)) => {
                let lookup = |address: &ResourceAddress| run.results.get(address).cloned();
                let value = match &node.deferred {
                    Some(deferred) => deferred.evaluate(&lookup),
                    None => Ok(node.value.clone()),
                };
                match value {
                    Ok(value) if !value.has_unknown() => {
                        let value = if node.sensitive { value.into_sensitive() } else { value };
                        entries.push(JournalEntry::Output(
                            output.name.clone(),
                            OutputState { value, sensitive: node.sensitive },
                        ));
                    }
                    Ok(_) => run.report.output_problems.push((
                        output.name.clone(),
                        "it is still unknown (a resource it depends on was not applied)".to_string(),
                    )),
                    Err(message) => run.report.output_problems.push((output.name.clone(), message)),
                }
            }
            (Some(_), None) => {}
        }
    }
    record(run.journal, run.state, &entries)?;
    Ok(run.report)
}

/// The mutable side of one apply.
struct Run<'a, 'p> {
    operations: Vec<Operation<'p>>,
    ready: VecDeque<usize>,
    /// Why an operation must not start (a dependency failed).
    blocked: Vec<Option<String>>,
    started: Vec<bool>,
    results: HashMap<ResourceAddress, Value>,
    report: ApplyReport,
    journal: &'a mut Journal,
    state: &'a mut State,
    providers: &'a ProviderSet,
    observer: &'a dyn ApplyObserver,
    record_error: Option<BackendError>,
}

impl Run<'_, '_> {
    /// Records the intent of create `i` (a fresh token, its configuration)
    /// before it is sent, and hands the token to the provider.
    fn record_intent(&mut self, i: usize, task: &mut Task) -> Result<(), BackendError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| BackendError::Random(e.to_string()))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let change = self.operations[i].change;
        let intent = CreateIntent {
            type_name: change.type_name.clone(),
            target: change.target.clone(),
            token: token.clone(),
            config: task.config.clone(),
            dependencies: change.dependencies.clone(),
        };
        record(self.journal, self.state, &[JournalEntry::Intent(change.address.clone(), intent)])?;
        task.ctx.create_token = Some(token);
        Ok(())
    }

    /// Handles one finished task.
    fn joined(
        &mut self,
        joined: Result<(tokio::task::Id, TaskResult), tokio::task::JoinError>,
        running: &mut HashMap<tokio::task::Id, usize>,
    ) {
        let (i, outcome, elapsed) = match joined {
            Ok((id, result)) => {
                running.remove(&id);
                result
            }
            // Dropped by an immediate cancel: reported as interrupted.
            Err(error) if error.is_cancelled() => return,
            Err(error) => {
                // The provider panicked: that operation failed.
                let Some(i) = running.remove(&error.id()) else { return };
                let message = format!("the provider stopped unexpectedly ({error}); this is a bug in stackc");
                let failure = failure(&self.operations[i], None, message);
                self.fail(i, failure);
                return;
            }
        };
        match finish(&self.operations[i], outcome, self.providers) {
            Finished::Done(entry, id) => {
                let address = self.operations[i].change.address.clone();
                let kind = self.operations[i].kind;
                if let Err(error) = record(self.journal, self.state, std::slice::from_ref(&entry)) {
                    // Not recorded: the object's fate is unknown to the state.
                    self.report.interrupted.push((address, kind));
                    self.record_error = Some(error);
                    return;
                }
                match &entry {
                    JournalEntry::Put(_, resource) => {
                        self.results.insert(address.clone(), resource.attributes.clone());
                    }
                    JournalEntry::Remove(_) => {
                        self.results.remove(&address);
                    }
                    _ => {}
                }
                self.report.done.push((address.clone(), kind));
                self.observer.event(&ApplyEvent::Finished { address, kind, id, elapsed });
                for d in self.operations[i].dependents.clone() {
                    self.operations[d].waiting -= 1;
                    if self.operations[d].waiting == 0 {
                        self.ready.push_back(d);
                    }
                }
            }
            Finished::Failed(entry, failure) => {
                if let Some(entry) = entry {
                    if let Err(error) = record(self.journal, self.state, std::slice::from_ref(&entry)) {
                        self.record_error = Some(error);
                    }
                }
                self.fail(i, *failure);
            }
        }
    }

    fn fail(&mut self, i: usize, failure: ApplyFailure) {
        self.observer.event(&ApplyEvent::Failed {
            address: failure.address.clone(),
            kind: failure.kind,
            message: failure.message.clone(),
        });
        let because = format!("{} of `{}` failed", failure.kind.as_str(), failure.address);
        self.report.failed.push(failure);
        self.release_blocked(i, because);
    }

    fn skip(&mut self, i: usize, because: String) {
        let (address, kind) = (self.operations[i].change.address.clone(), self.operations[i].kind);
        self.observer.event(&ApplyEvent::Skipped {
            address: address.clone(),
            kind,
            because: because.clone(),
        });
        self.report.skipped.push((address, kind, because.clone()));
        self.release_blocked(i, because);
    }

    /// Marks the dependents of `i` blocked (with the root cause) and lets
    /// them reach the ready queue, where they are skipped without running.
    fn release_blocked(&mut self, i: usize, because: String) {
        for d in self.operations[i].dependents.clone() {
            if self.blocked[d].is_none() {
                self.blocked[d] = Some(because.clone());
            }
            self.operations[d].waiting -= 1;
            if self.operations[d].waiting == 0 {
                self.ready.push_back(d);
            }
        }
    }
}

fn record(journal: &mut Journal, state: &mut State, entries: &[JournalEntry]) -> Result<(), BackendError> {
    if entries.is_empty() {
        return Ok(());
    }
    journal.record_all(entries)?;
    for entry in entries {
        entry.apply_to(state);
    }
    Ok(())
}

/// Builds the operations of `plan` and their order; the second value is a
/// sentence when no order exists (a cycle).
fn operations<'p>(plan: &'p Plan) -> (Vec<Operation<'p>>, Option<String>) {
    let mut operations: Vec<Operation<'p>> = Vec::new();
    let mut create_or_update: HashMap<&ResourceAddress, usize> = HashMap::new();
    let mut delete: HashMap<&ResourceAddress, usize> = HashMap::new();
    let push = |operations: &mut Vec<Operation<'p>>, change: &'p ResourceChange, kind| {
        operations.push(Operation { change, kind, waiting: 0, dependents: Vec::new() });
        operations.len() - 1
    };
    for change in &plan.changes {
        match change.action {
            Action::NoOp => {}
            Action::Create => {
                let i = push(&mut operations, change, OperationKind::Create);
                create_or_update.insert(&change.address, i);
            }
            Action::Update => {
                let i = push(&mut operations, change, OperationKind::Update);
                create_or_update.insert(&change.address, i);
            }
            Action::Delete => {
                let i = push(&mut operations, change, OperationKind::Delete);
                delete.insert(&change.address, i);
            }
            Action::Replace => {
                let d = push(&mut operations, change, OperationKind::Delete);
                delete.insert(&change.address, d);
                let c = push(&mut operations, change, OperationKind::Create);
                create_or_update.insert(&change.address, c);
            }
        }
    }
    // Recorded dependents of each address (from the state, via the priors).
    let mut recorded_dependents: HashMap<&ResourceAddress, Vec<&ResourceAddress>> = HashMap::new();
    for change in &plan.changes {
        if let Some(prior) = &change.prior {
            for dependency in &prior.dependencies {
                recorded_dependents.entry(dependency).or_default().push(&change.address);
            }
        }
    }
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (first, then)
    for (i, operation) in operations.iter().enumerate() {
        let address = &operation.change.address;
        match operation.kind {
            OperationKind::Create | OperationKind::Update => {
                for dependency in &operation.change.dependencies {
                    if let Some(&d) = create_or_update.get(dependency) {
                        if d != i {
                            edges.push((d, i));
                        }
                    }
                }
                if operation.kind == OperationKind::Create {
                    if let Some(&d) = delete.get(address) {
                        edges.push((d, i));
                    }
                }
            }
            OperationKind::Delete => {}
        }
        // Deletes of what depended on this object come before any other
        // operation on it (a replace's create waits for its delete already).
        if operation.kind != OperationKind::Create {
            for dependent in recorded_dependents.get(address).into_iter().flatten() {
                if let Some(&d) = delete.get(dependent) {
                    if d != i {
                        edges.push((d, i));
                    }
                }
            }
        }
    }
    // A dependent updated so that it no longer uses an object that is
    // deleted is updated first (a load balancer's configuration stops
    // naming a replica before the replica stops: no request goes to it),
    // unless that leaves no order.
    let mut detach: Vec<(usize, usize)> = Vec::new();
    for (i, operation) in operations.iter().enumerate() {
        if operation.kind != OperationKind::Delete {
            continue;
        }
        for dependent in recorded_dependents.get(&operation.change.address).into_iter().flatten() {
            if let Some(&u) = create_or_update.get(dependent) {
                let update = &operations[u];
                if update.kind == OperationKind::Update
                    && !update.change.dependencies.contains(&operation.change.address)
                {
                    detach.push((u, i));
                }
            }
        }
    }
    if !detach.is_empty() {
        let mut with_detach = edges.clone();
        with_detach.extend(detach);
        if stuck(operations.len(), &with_detach).is_empty() {
            edges = with_detach;
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for &(first, then) in &edges {
        operations[first].dependents.push(then);
        operations[then].waiting += 1;
    }
    let stuck = stuck(operations.len(), &edges);
    if !stuck.is_empty() {
        let stuck: Vec<String> = stuck
            .into_iter()
            .map(|i| format!("{} `{}`", operations[i].kind.as_str(), operations[i].change.address))
            .collect();
        let problem = format!(
            "no order of the operations respects every dependency (a cycle through: {}); nothing was changed",
            stuck.join(", ")
        );
        return (operations, Some(problem));
    }
    (operations, None)
}

/// The order apply follows for `plan`, as `(first, then)` pairs of
/// `"<operation> <address>"`, for tests.
#[cfg(test)]
pub(crate) fn order_of(plan: &Plan) -> Vec<(String, String)> {
    let (operations, _) = operations(plan);
    let name = |o: &Operation<'_>| format!("{} {}", o.kind.as_str(), o.change.address);
    let mut pairs = Vec::new();
    for operation in &operations {
        for &then in &operation.dependents {
            pairs.push((name(operation), name(&operations[then])));
        }
    }
    pairs
}

/// The operations no order reaches with `edges` (`(first, then)`): those
/// on or after a cycle (Kahn's algorithm); empty when there is an order.
fn stuck(count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut waiting = vec![0usize; count];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(first, then) in edges {
        dependents[first].push(then);
        waiting[then] += 1;
    }
    let mut ready: Vec<usize> = (0..count).filter(|&i| waiting[i] == 0).collect();
    while let Some(i) = ready.pop() {
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(d);
            }
        }
    }
    (0..count).filter(|&i| waiting[i] > 0).collect()
}

/// One provider call, ready to run in a task.
struct Task {
    provider: Arc<dyn Provider>,
    ctx: stackc_providers::OperationContext,
    kind: OperationKind,
    prior: Option<ObjectState>,
    config: Value,
}

impl Task {
    async fn run(self) -> Result<Option<ObjectState>, ProviderError> {
        match self.kind {
            OperationKind::Create => self.provider.create(&self.ctx, &self.config).await.map(Some),
            OperationKind::Update => {
                let prior = self.prior.as_ref().expect("an update has a prior object");
                self.provider.update(&self.ctx, prior, &self.config).await.map(Some)
            }
            OperationKind::Delete => {
                let prior = self.prior.as_ref().expect("a delete has a prior object");
                self.provider.delete(&self.ctx, prior).await.map(|()| None)
            }
        }
    }
}

fn failure(operation: &Operation<'_>, code: Option<String>, message: String) -> ApplyFailure {
    ApplyFailure {
        address: operation.change.address.clone(),
        kind: operation.kind,
        code,
        message,
        provenance: operation.change.provenance.clone(),
    }
}

/// Prepares an operation: the provider, and for a create or update the
/// configuration evaluated with the results so far and checked against the plan.
fn start(
    operation: &Operation<'_>,
    graph: &ResourceGraph,
    results: &HashMap<ResourceAddress, Value>,
    providers: &ProviderSet,
    state: &State,
) -> Result<Task, ApplyFailure> {
    let change = operation.change;
    let provider =
        providers.provider(change.target.as_deref()).map_err(|why| failure(operation, None, why))?.clone();
    let ctx = operation_context(state, &change.address, &change.type_name, change.target.as_deref());
    let prior_object =
        change.prior.as_ref().map(|p| ObjectState { id: p.id.clone(), attributes: p.attributes.clone() });
    if operation.kind == OperationKind::Delete {
        return Ok(Task { provider, ctx, kind: operation.kind, prior: prior_object, config: Value::Null });
    }
    let config = match graph.get(&change.address).and_then(|n| n.deferred.clone()) {
        Some(deferred) if change.config.has_unknown() => {
            let lookup = |address: &ResourceAddress| results.get(address).cloned();
            deferred.evaluate(&lookup).map_err(|message| {
                failure(operation, None, format!("its configuration cannot be evaluated: {message}"))
            })?
        }
        _ => change.config.clone(),
    };
    if let Some(path) = incompatibility(&change.config, &config) {
        return Err(failure(
            operation,
            None,
            format!(
                "its configuration changed since the plan: `{}` was planned as {}, and is now {} (a \
                 dependency's result differs from what its provider planned). Plan again.",
                path_string(&path),
                shown(value_at(&change.config, &path)),
                shown(value_at(&config, &path))
            ),
        ));
    }
    if config.has_unknown() {
        return Err(failure(
            operation,
            None,
            "part of its configuration is still unknown although everything it depends on was applied"
                .to_string(),
        ));
    }
    Ok(Task {
        provider,
        ctx,
        kind: operation.kind,
        prior: if operation.kind == OperationKind::Update { prior_object } else { None },
        config,
    })
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "absent".to_string(),
        Some(value) if value.has_sensitive() => "(sensitive)".to_string(),
        Some(value) => value.to_string(),
    }
}

/// What a finished provider call means for the state.
enum Finished {
    /// Done as planned: record the entry (the object's id, if it exists).
    Done(JournalEntry, Option<String>),
    /// Failed; the entry, if any, is recorded anyway (a tainted object).
    Failed(Option<JournalEntry>, Box<ApplyFailure>),
}

/// Turns a provider's answer into the journal entry to record, checking a
/// result against the plan.
fn finish(
    operation: &Operation<'_>,
    outcome: Result<Option<ObjectState>, ProviderError>,
    providers: &ProviderSet,
) -> Finished {
    let change = operation.change;
    let object = match outcome {
        Err(error) => {
            return Finished::Failed(None, Box::new(failure(operation, error.code.clone(), error.message)))
        }
        Ok(None) => return Finished::Done(JournalEntry::Remove(change.address.clone()), None),
        Ok(Some(object)) => object,
    };
    let attributes = providers.mark_sensitive(&change.type_name, object.attributes);
    let mut resource = ResourceState {
        type_name: change.type_name.clone(),
        target: change.target.clone(),
        id: object.id.clone(),
        attributes,
        dependencies: change.dependencies.clone(),
        tainted: false,
    };
    if let Some(path) = incompatibility(&change.planned, &resource.attributes) {
        resource.tainted = true;
        let (planned, got) = (value_at(&change.planned, &path), value_at(&resource.attributes, &path));
        let sensitive = planned.is_some_and(Value::has_sensitive) || got.is_some_and(Value::has_sensitive);
        let detail = if sensitive {
            String::new()
        } else {
            format!(": planned {}, got {}", shown(planned), shown(got))
        };
        let message = format!(
            "the provider produced an inconsistent result: `{}` differs from the plan{detail}. The object \
             exists and is recorded as tainted; the next apply replaces it. This is a bug in the provider \
             for `{}`.",
            path_string(&path),
            change.type_name
        );
        let entry = JournalEntry::Put(change.address.clone(), resource);
        return Finished::Failed(Some(entry), Box::new(failure(operation, None, message)));
    }
    Finished::Done(JournalEntry::Put(change.address.clone(), resource), Some(object.id))
}
