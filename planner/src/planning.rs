//! Planning: the desired resource graph, the state and what refresh reads
//! become a [`Plan`].
//!
//! 0. Open create intents (an apply was killed between sending a create
//!    and recording its result; see [`crate::state::CreateIntent`]): each
//!    object is looked for through its provider by its ownership, and one
//!    found is adopted into the state at its address, so the rest of the
//!    plan keeps, updates, replaces or deletes it like any other object and
//!    never creates a second one. Always, even without refresh.
//! 1. Refresh (unless `--refresh=false`): every object of the state in the
//!    selection is read through its provider, one batch per provider, the
//!    providers in parallel. Differences from the state are drift; an
//!    object gone is drift and, if still configured, a create.
//! 2. Diff, in dependency order: each resource's configuration is
//!    evaluated again with the *planned* attributes of its dependencies (a
//!    kept dependency gives its real values, a created or replaced one
//!    gives unknowns where its provider computes them), the provider plans
//!    the attributes, and the difference from the refreshed object decides
//!    no-op, update in place, or replace (an attribute the schema marks
//!    force-new changed).
//! 3. Deletes: objects of the state no longer configured (everything, for
//!    a destroy).
//! 4. Outputs, evaluated like configuration.
//!
//! Problems (a provider refusing a configuration, a failed read) are
//! collected, every one, with the resource's provenance; a plan with
//! problems is not applied.

use crate::plan::{
    attribute_changes, path_string, same_value, Action, Drift, HeldDrift, OutputChange, PathStep, Plan,
    PlanOptions, Reason, ResourceChange,
};
use crate::providers::ProviderSet;
use crate::select::Selection;
use crate::state::{ResourceState, State};
use stackc_model::graph::{ResourceAddress, ResourceGraph, ResourceNode};
use stackc_model::hash::{FastHashMap as HashMap, FastHashSet as HashSet};
use stackc_model::{Span, Value};
use stackc_providers::{ObjectState, OperationContext, Provider};
use std::collections::VecDeque;
use std::sync::Arc;

/// Which step of planning found a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// Reading an object (refresh) failed.
    Refresh,
    /// The provider refused the configuration, or it could not be evaluated.
    Plan,
}

/// A problem found while planning.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanProblem {
    pub kind: ProblemKind,
    /// The resource it is about, if any.
    pub address: Option<ResourceAddress>,
    /// The provider's error code, where there is one (`InvalidParameterValue`).
    pub code: Option<String>,
    /// A full sentence.
    pub message: String,
    /// Where the resource comes from in the user's source.
    pub provenance: Vec<Span>,
}

/// What planning produced: the plan, and every problem found (the plan
/// must not be applied when there are problems).
#[derive(Debug)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub problems: Vec<PlanProblem>,
    /// `--only`/`--exclude` patterns that named no resource.
    pub unmatched_patterns: Vec<String>,
}

/// Everything a plan is made from.
pub struct PlanInput<'a> {
    /// The desired resources (ignored but for outputs by a destroy).
    pub graph: &'a ResourceGraph,
    pub state: &'a State,
    pub providers: &'a ProviderSet,
    pub options: &'a PlanOptions,
}

/// The operation context for a resource (ownership tags use stack and target).
pub fn operation_context(
    state: &State,
    address: &ResourceAddress,
    type_name: &str,
    target: Option<&str>,
) -> OperationContext {
    OperationContext {
        address: address.clone(),
        type_name: type_name.to_string(),
        stack: state.stack.clone(),
        target: target.map(str::to_string),
        create_token: None,
    }
}

/// Makes the plan. Never fails: problems are returned with what could be planned.
pub async fn plan(input: PlanInput<'_>) -> PlanOutcome {
    let PlanInput { graph, state, providers, options } = input;
    let mut problems = Vec::new();
    let mut plan = Plan::empty_for(state, options.clone());

    // 0. Intents of a killed apply: what they made is adopted, and apply
    //    records it first (with the refreshed objects).
    let with_adopted;
    let mut adopted = Vec::new();
    let state = if state.intents.is_empty() {
        state
    } else {
        let (found, failures) = resolve_intents(state, providers).await;
        problems.extend(failures);
        let mut augmented = state.clone();
        for (address, resource) in &found {
            augmented.resources.insert(address.clone(), resource.clone());
        }
        augmented.sort();
        adopted = found;
        with_adopted = augmented;
        &with_adopted
    };

    let in_state: Vec<ResourceAddress> = state.resources.keys().cloned().collect();
    let selection = if options.destroy {
        let recorded = state.resources.iter().map(|(a, r)| (a.clone(), r.dependencies.clone())).collect();
        Selection::for_destroy(&options.only, &options.exclude, &recorded)
    } else {
        let desired = graph.nodes().map(|n| (n.address.clone(), n.dependencies.clone())).collect();
        Selection::for_plan(&options.only, &options.exclude, &desired, &in_state)
    };
    let every_address: Vec<&ResourceAddress> = graph.nodes().map(|n| &n.address).chain(&in_state).collect();
    let unmatched_patterns = Selection::unmatched(&options.only, &every_address)
        .into_iter()
        .chain(Selection::unmatched(&options.exclude, &every_address))
        .map(str::to_string)
        .collect();

    // 1. Refresh.
    let provenance_of =
        |address: &ResourceAddress| graph.get(address).map(|n| n.provenance.clone()).unwrap_or_default();
    let mut current: HashMap<ResourceAddress, Option<ResourceState>> = HashMap::default();
    if options.refresh {
        let to_read: Vec<&ResourceAddress> = in_state.iter().filter(|a| selection.contains(a)).collect();
        let (read, failures) = refresh(state, providers, &to_read).await;
        problems.extend(failures);
        for (address, outcome) in read {
            let Some(recorded) = state.resources.get(&address) else { continue };
            match outcome {
                Ok(Some(object)) => {
                    let attributes = providers.mark_sensitive(&recorded.type_name, object.attributes);
                    if !same_value(&recorded.attributes, &attributes) || recorded.id != object.id {
                        plan.drift.push(Drift {
                            address: address.clone(),
                            type_name: recorded.type_name.clone(),
                            recorded: recorded.attributes.clone(),
                            actual: Some(attributes.clone()),
                            sensitive_attributes: providers.sensitive_attributes(&recorded.type_name),
                        });
                    }
                    // Not `..recorded.clone()`: that would copy the recorded
                    // attributes only to drop them.
                    let refreshed = ResourceState {
                        type_name: recorded.type_name.clone(),
                        target: recorded.target.clone(),
                        id: object.id,
                        attributes,
                        dependencies: recorded.dependencies.clone(),
                        tainted: recorded.tainted,
                    };
                    current.insert(address, Some(refreshed));
                }
                Ok(None) => {
                    plan.drift.push(Drift {
                        address: address.clone(),
                        type_name: recorded.type_name.clone(),
                        recorded: recorded.attributes.clone(),
                        actual: None,
                        sensitive_attributes: providers.sensitive_attributes(&recorded.type_name),
                    });
                    current.insert(address, None);
                }
                Err(problem) => {
                    problems.push(PlanProblem { provenance: provenance_of(&address), ..problem });
                    current.insert(address.clone(), Some(recorded.clone()));
                }
            }
        }
    }
    let object_now = |address: &ResourceAddress| -> Option<ResourceState> {
        match current.get(address) {
            Some(refreshed) => refreshed.clone(),
            None => state.resources.get(address).cloned(),
        }
    };

    // 2. Diff, dependencies first.
    let mut planned_values: HashMap<ResourceAddress, Value> = HashMap::default();
    if !options.destroy {
        let (order, cyclic) = dependency_order(graph);
        if !cyclic.is_empty() {
            problems.push(PlanProblem {
                kind: ProblemKind::Plan,
                address: Some(cyclic[0].clone()),
                code: None,
                message: format!(
                    "These resources depend on each other in a cycle, so no order can create them: {}.",
                    cyclic.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                ),
                provenance: provenance_of(&cyclic[0]),
            });
        }
        for node in order {
            let prior = object_now(&node.address);
            if !selection.contains(&node.address) {
                // Outside the selection: kept as it is (if it exists).
                if let Some(prior) = prior {
                    planned_values.insert(node.address.clone(), prior.attributes.clone());
                    plan.changes.push(no_op(node, prior, providers));
                }
                continue;
            }
            match plan_resource(state, node, prior, &planned_values, providers) {
                Ok(mut change) => {
                    if options.holds(&node.address) {
                        hold(&mut change);
                    }
                    if options.reports_drift_of(&node.address) {
                        if let Some(held) = hold_drift(&mut change, providers) {
                            plan.held.push(held);
                        }
                    }
                    planned_values.insert(node.address.clone(), change.planned.clone());
                    plan.changes.push(change);
                }
                Err(problem) => problems.push(problem),
            }
        }
    }

    // 3. Deletes; objects gone and no longer configured are forgotten.
    for (address, recorded) in &state.resources {
        let configured = !options.destroy && graph.get(address).is_some();
        if configured || !selection.contains(address) {
            continue;
        }
        let Some(prior) = object_now(address) else {
            plan.forgotten.push(address.clone());
            continue;
        };
        plan.changes.push(ResourceChange {
            address: address.clone(),
            type_name: recorded.type_name.clone(),
            target: recorded.target.clone(),
            action: Action::Delete,
            reason: Some(if options.destroy { Reason::DestroyRequested } else { Reason::NotInConfiguration }),
            dependencies: recorded.dependencies.clone(),
            prior: Some(prior),
            config: Value::Null,
            planned: Value::Null,
            provenance: Vec::new(),
            sensitive_attributes: providers.sensitive_attributes(&recorded.type_name),
        });
    }
    // Kept objects whose refresh differs from the state: apply records them.
    let actions: HashMap<&ResourceAddress, Action> =
        plan.changes.iter().map(|c| (&c.address, c.action)).collect();
    let mut refreshed_kept = Vec::new();
    for address in &in_state {
        let Some(Some(refreshed)) = current.get(address) else { continue };
        let recorded = &state.resources[address];
        let kept = actions.get(address) == Some(&Action::NoOp);
        if kept && (!same_value(&recorded.attributes, &refreshed.attributes) || recorded.id != refreshed.id) {
            refreshed_kept.push((address.clone(), refreshed.clone()));
        }
    }
    plan.refreshed = adopted.into_iter().chain(refreshed_kept).collect();

    // 4. Outputs.
    let lookup = |address: &ResourceAddress| planned_values.get(address).cloned();
    if !options.destroy {
        for (name, output) in &graph.outputs {
            // With `--only`/`--exclude`, an output that needs a resource
            // left out (and not yet in the state) keeps its value.
            let left_out = |d: &ResourceAddress| !selection.contains(d) && !state.resources.contains_key(d);
            if !selection.is_all() && output.dependencies.iter().any(left_out) {
                continue;
            }
            let after = match &output.deferred {
                Some(deferred) => match deferred.evaluate(&lookup) {
                    Ok(value) => value,
                    Err(message) => {
                        problems.push(PlanProblem {
                            kind: ProblemKind::Plan,
                            address: None,
                            code: None,
                            message: format!("Output `{name}` cannot be evaluated: {message}"),
                            provenance: vec![output.span],
                        });
                        Value::Unknown
                    }
                },
                None => output.value.clone(),
            };
            let after = if output.sensitive { after.into_sensitive() } else { after };
            plan.outputs.push(OutputChange {
                name: name.clone(),
                before: state.outputs.get(name).map(|o| o.value.clone()),
                after: Some(after),
                sensitive: output.sensitive,
            });
        }
    }
    for (name, recorded) in &state.outputs {
        if options.destroy || !graph.outputs.contains_key(name) {
            plan.outputs.push(OutputChange {
                name: name.clone(),
                before: Some(recorded.value.clone()),
                after: None,
                sensitive: recorded.sensitive,
            });
        }
    }

    PlanOutcome { plan, problems, unmatched_patterns }
}

/// The drift policy `report`: an update or replace of an object that
/// exists, because configured attributes differ, becomes a no-op that
/// keeps the object as it is (its dependents are planned with its real
/// values). Computed attributes alone (a stopped container's `running`)
/// still act, as do creates of objects that are gone and tainted objects.
fn hold_drift(change: &mut ResourceChange, providers: &ProviderSet) -> Option<HeldDrift> {
    let forced = matches!(&change.reason, Some(Reason::ForcedBy(paths)) if paths.iter().all(|p| p != "type"));
    let acts = change.action == Action::Update || (change.action == Action::Replace && forced);
    let prior = change.prior.as_ref().filter(|_| acts)?;
    let schema = providers.schema(&change.type_name);
    let computed = |name: &str| schema.and_then(|s| s.attributes.get(name)).is_some_and(|a| a.is_computed());
    let mut attributes: Vec<String> = Vec::new();
    let wanted = if change.action == Action::Update { &change.planned } else { &change.config };
    for difference in attribute_changes(&prior.attributes, wanted) {
        let Some(PathStep::Key(top)) = difference.path.first() else { continue };
        if computed(top) || difference.after.as_ref().is_some_and(Value::has_unknown) {
            continue;
        }
        let path = path_string(&difference.path);
        if !attributes.contains(&path) {
            attributes.push(path);
        }
    }
    if attributes.is_empty() {
        return None;
    }
    change.action = Action::NoOp;
    change.reason = None;
    change.planned = prior.attributes.clone();
    Some(HeldDrift { address: change.address.clone(), attributes })
}

/// A held resource (a rollout's stable version): an update or replace of
/// an object that exists becomes no change; it stays as the state has it.
/// A replace because the address now names another type still acts.
fn hold(change: &mut ResourceChange) {
    let retyped =
        matches!(&change.reason, Some(Reason::ForcedBy(paths)) if paths.iter().any(|p| p == "type"));
    if !matches!(change.action, Action::Update | Action::Replace) || retyped {
        return;
    }
    let Some(prior) = &change.prior else { return };
    change.action = Action::NoOp;
    change.reason = None;
    change.planned = prior.attributes.clone();
}

fn no_op(node: &ResourceNode, prior: ResourceState, providers: &ProviderSet) -> ResourceChange {
    ResourceChange {
        address: node.address.clone(),
        type_name: node.type_name.clone(),
        target: node.target.clone(),
        action: Action::NoOp,
        reason: None,
        config: node.values.clone(),
        planned: prior.attributes.clone(),
        dependencies: node.dependencies.clone(),
        provenance: node.provenance.clone(),
        sensitive_attributes: providers.sensitive_attributes(&node.type_name),
        prior: Some(prior),
    }
}

/// Plans one configured resource.
fn plan_resource(
    state: &State,
    node: &ResourceNode,
    prior: Option<ResourceState>,
    planned_values: &HashMap<ResourceAddress, Value>,
    providers: &ProviderSet,
) -> Result<ResourceChange, PlanProblem> {
    let problem = |code: Option<String>, message: String| PlanProblem {
        kind: ProblemKind::Plan,
        address: Some(node.address.clone()),
        code,
        message,
        provenance: node.provenance.clone(),
    };
    let config = match &node.deferred {
        Some(deferred) => {
            let lookup = |address: &ResourceAddress| planned_values.get(address).cloned();
            deferred.evaluate(&lookup).map_err(|message| {
                problem(
                    None,
                    format!("The configuration of `{}` cannot be evaluated: {message}", node.address),
                )
            })?
        }
        None => node.values.clone(),
    };
    let provider = providers.provider(node.target.as_deref()).map_err(|why| problem(None, why))?;
    let ctx = operation_context(state, &node.address, &node.type_name, node.target.as_deref());
    let plan_with = |prior: Option<&ObjectState>| {
        provider
            .plan(&ctx, prior, &config)
            .map(|planned| providers.mark_sensitive(&node.type_name, planned))
            .map_err(|e| problem(e.code.clone(), e.message))
    };
    let recorded = state.resources.contains_key(&node.address);
    let mut change = ResourceChange {
        address: node.address.clone(),
        type_name: node.type_name.clone(),
        target: node.target.clone(),
        action: Action::Create,
        reason: None,
        prior: None,
        config: config.clone(),
        planned: Value::Null,
        dependencies: node.dependencies.clone(),
        provenance: node.provenance.clone(),
        sensitive_attributes: providers.sensitive_attributes(&node.type_name),
    };
    let Some(mut prior) = prior else {
        change.planned = plan_with(None)?;
        change.reason = Some(if recorded { Reason::DeletedOutside } else { Reason::NotInState });
        return Ok(change);
    };
    if prior.type_name != node.type_name {
        // The address now names another type: the old object goes.
        change.planned = plan_with(None)?;
        change.action = Action::Replace;
        change.reason = Some(Reason::ForcedBy(vec!["type".to_string()]));
        change.prior = Some(prior);
        return Ok(change);
    }
    if prior.tainted {
        change.planned = plan_with(None)?;
        change.action = Action::Replace;
        change.reason = Some(Reason::Tainted);
        change.prior = Some(prior);
        return Ok(change);
    }
    // The provider sees the prior's attributes, lent (moved out and back)
    // rather than copied.
    let object = ObjectState {
        id: prior.id.clone(),
        attributes: std::mem::replace(&mut prior.attributes, Value::Null),
    };
    let planned = plan_with(Some(&object));
    prior.attributes = object.attributes;
    let planned = planned?;
    let changes = attribute_changes(&prior.attributes, &planned);
    if changes.is_empty() {
        change.action = Action::NoOp;
        change.planned = prior.attributes.clone();
        change.prior = Some(prior);
        return Ok(change);
    }
    let schema = providers.schema(&node.type_name);
    let mut forced: Vec<String> = Vec::new();
    for attribute_change in &changes {
        let Some(PathStep::Key(top)) = attribute_change.path.first() else { continue };
        let force_new = schema.and_then(|s| s.attributes.get(top)).is_some_and(|a| a.force_new);
        // A force-new attribute changes only if the configuration changed
        // it: a provider-computed part of it may be unknown in the plan.
        if force_new && !configured_unknown_only(&config, &attribute_change.path) {
            let path = path_string(&attribute_change.path);
            if !forced.contains(&path) {
                forced.push(path);
            }
        }
    }
    if forced.is_empty() {
        change.action = Action::Update;
        change.planned = planned;
    } else {
        change.action = Action::Replace;
        change.reason = Some(Reason::ForcedBy(forced));
        change.planned = plan_with(None)?;
    }
    change.prior = Some(prior);
    Ok(change)
}

/// False: a force-new attribute's change at `path` always replaces. (Kept
/// as the one place to refine when a provider plans a computed part of a
/// force-new attribute as unknown.)
fn configured_unknown_only(_config: &Value, _path: &[PathStep]) -> bool {
    false
}

/// The graph's resources, every one after its dependencies (Kahn's
/// algorithm, ties in declaration order); and the resources left in a cycle.
pub fn dependency_order(graph: &ResourceGraph) -> (Vec<&ResourceNode>, Vec<ResourceAddress>) {
    let nodes: Vec<&ResourceNode> = graph.nodes().collect();
    let index: HashMap<&ResourceAddress, usize> =
        nodes.iter().enumerate().map(|(i, n)| (&n.address, i)).collect();
    let mut waiting: Vec<usize> = vec![0; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let mut seen = HashSet::default();
        for dependency in &node.dependencies {
            if let Some(&d) = index.get(dependency) {
                if d != i && seen.insert(d) {
                    waiting[i] += 1;
                    dependents[d].push(i);
                }
            }
        }
    }
    let mut ready: VecDeque<usize> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_front() {
        order.push(nodes[i]);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push_back(d);
            }
        }
    }
    let cyclic: Vec<ResourceAddress> =
        (0..nodes.len()).filter(|&i| waiting[i] > 0).map(|i| nodes[i].address.clone()).collect();
    (order, cyclic)
}

type ReadOutcome = Result<Option<ObjectState>, PlanProblem>;

/// Objects to read, with their provider's target.
type ReadGroup = (Option<String>, Vec<(OperationContext, ObjectState)>);

/// Reads `addresses` from their providers: one `read_many` batch per
/// provider, the providers concurrently.
/// Looks for the object of every open intent through its provider; returns
/// those found (to adopt at their addresses) and the problems (a failed
/// lookup, or an object found besides the one the state records).
async fn resolve_intents(
    state: &State,
    providers: &ProviderSet,
) -> (Vec<(ResourceAddress, ResourceState)>, Vec<PlanProblem>) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut problems = Vec::new();
    for (address, intent) in &state.intents {
        let provider: Arc<dyn Provider> = match providers.provider(intent.target.as_deref()) {
            Ok(provider) => provider.clone(),
            Err(why) => {
                problems.push(read_problem(address, None, &why));
                continue;
            }
        };
        let mut ctx = operation_context(state, address, &intent.type_name, intent.target.as_deref());
        ctx.create_token = Some(intent.token.clone());
        let (address, config) = (address.clone(), intent.config.clone());
        tasks.spawn(async move {
            let found = provider.find_created(&ctx, &config).await;
            (address, found)
        });
    }
    let mut adopted = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (address, found) = match joined {
            Ok(done) => done,
            Err(error) => {
                problems.push(PlanProblem {
                    kind: ProblemKind::Refresh,
                    address: None,
                    code: None,
                    message: format!("A provider failed while looking for an interrupted create: {error}."),
                    provenance: Vec::new(),
                });
                continue;
            }
        };
        let intent = &state.intents[&address];
        match found {
            Err(e) => problems.push(read_problem(
                &address,
                e.code.clone(),
                &format!("looking for the object an interrupted apply may have created failed: {}", e.message),
            )),
            Ok(None) => {}
            Ok(Some(object)) => match state.resources.get(&address) {
                Some(recorded) if recorded.id == object.id => {}
                Some(recorded) => problems.push(PlanProblem {
                    kind: ProblemKind::Refresh,
                    address: Some(address.clone()),
                    code: None,
                    message: format!(
                        "An interrupted apply created `{}` for `{address}`, and the state records `{}` there: \
                         stackc will not choose. Delete the one you do not want outside stackc, or remove \
                         the recorded one with `stackc state rm {address}` and import the other.",
                        object.id, recorded.id
                    ),
                    provenance: Vec::new(),
                }),
                None => {
                    let resource = ResourceState {
                        type_name: intent.type_name.clone(),
                        target: intent.target.clone(),
                        id: object.id,
                        attributes: providers.mark_sensitive(&intent.type_name, object.attributes),
                        dependencies: intent.dependencies.clone(),
                        tainted: false,
                    };
                    adopted.push((address, resource));
                }
            },
        }
    }
    adopted.sort_by(|a, b| a.0.cmp(&b.0));
    (adopted, problems)
}

pub async fn refresh(
    state: &State,
    providers: &ProviderSet,
    addresses: &[&ResourceAddress],
) -> (Vec<(ResourceAddress, ReadOutcome)>, Vec<PlanProblem>) {
    let mut groups: Vec<ReadGroup> = Vec::new();
    let mut out = Vec::with_capacity(addresses.len());
    let mut failures = Vec::new();
    for &address in addresses {
        let recorded = &state.resources[address];
        let ctx = operation_context(state, address, &recorded.type_name, recorded.target.as_deref());
        let object = ObjectState { id: recorded.id.clone(), attributes: recorded.attributes.clone() };
        match groups.iter_mut().find(|(t, _)| *t == recorded.target) {
            Some((_, items)) => items.push((ctx, object)),
            None => groups.push((recorded.target.clone(), vec![(ctx, object)])),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (target, items) in groups {
        let provider: Arc<dyn Provider> = match providers.provider(target.as_deref()) {
            Ok(provider) => provider.clone(),
            Err(why) => {
                for (ctx, _) in items {
                    out.push((ctx.address.clone(), Err(read_problem(&ctx.address, None, &why))));
                }
                continue;
            }
        };
        tasks.spawn(async move {
            let results = provider.read_many(&items).await;
            items.into_iter().map(|(ctx, _)| ctx.address).zip(results).collect::<Vec<_>>()
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(results) => {
                for (address, result) in results {
                    let outcome = result.map_err(|e| read_problem(&address, e.code.clone(), &e.message));
                    out.push((address, outcome));
                }
            }
            Err(error) => failures.push(PlanProblem {
                kind: ProblemKind::Refresh,
                address: None,
                code: None,
                message: format!("A provider failed while refreshing: {error}."),
                provenance: Vec::new(),
            }),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    (out, failures)
}

fn read_problem(address: &ResourceAddress, code: Option<String>, message: &str) -> PlanProblem {
    PlanProblem {
        kind: ProblemKind::Refresh,
        address: Some(address.clone()),
        code,
        message: format!("Reading `{address}` failed: {message}"),
        provenance: Vec::new(),
    }
}
