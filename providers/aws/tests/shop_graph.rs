//! The stdlib's aws bodies applied for real against moto: the shop-like
//! stack expanded by the compiler, every resource created through the
//! providers in dependency order (a small applier in test code, waves in
//! parallel, as the planner's apply does), then checked by an independent
//! boto3 client, refreshed and planned (empty), an instance terminated out
//! of band and restored, and destroyed (nothing tagged left). Prints the
//! apply and destroy times and the API calls made.

mod support;

use stackc_compiler::expand::test_support::{expand_with_stdlib_as, shop_for};
use stackc_model::graph::{ResourceAddress, ResourceGraph, ResourceNode};
use stackc_model::schema::SchemaSet;
use stackc_model::Value;
use stackc_provider_aws::AwsProvider;
use stackc_provider_builtin::BuiltinProvider;
use stackc_providers::{ObjectState, OperationContext, Provider};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;
use support::*;

struct Providers {
    aws: Arc<AwsProvider>,
    builtin: Arc<BuiltinProvider>,
}

impl Providers {
    fn of(&self, node: &ResourceNode) -> Arc<dyn Provider> {
        match node.target {
            Some(_) => self.aws.clone(),
            None => self.builtin.clone(),
        }
    }
}

fn op(stack: &str, node: &ResourceNode) -> OperationContext {
    OperationContext {
        address: node.address.clone(),
        type_name: node.type_name.clone(),
        stack: stack.to_string(),
        target: node.target.clone(),
        create_token: None,
    }
}

/// Dependency waves: each wave depends only on earlier ones.
fn waves(graph: &ResourceGraph) -> Vec<Vec<ResourceAddress>> {
    let mut done: Vec<ResourceAddress> = Vec::new();
    let mut waves = Vec::new();
    while done.len() < graph.len() {
        let wave: Vec<ResourceAddress> = graph
            .nodes()
            .filter(|n| !done.contains(&n.address) && n.dependencies.iter().all(|d| done.contains(d)))
            .map(|n| n.address.clone())
            .collect();
        assert!(!wave.is_empty(), "a dependency cycle");
        done.extend(wave.iter().cloned());
        waves.push(wave);
    }
    waves
}

fn config_of(node: &ResourceNode, results: &HashMap<ResourceAddress, ObjectState>) -> Value {
    let lookup = |address: &ResourceAddress| results.get(address).map(|s| s.attributes.clone());
    let values = match &node.deferred {
        Some(deferred) => deferred.evaluate(&lookup).unwrap_or_else(|e| panic!("{}: {e}", node.address)),
        None => node.values.clone(),
    };
    assert!(!values.has_unknown(), "{}: unknown after its dependencies applied: {values:?}", node.address);
    values
}

/// Creates every node of `addresses` not yet in `results`, a wave at a time.
async fn apply(
    graph: &ResourceGraph,
    providers: &Providers,
    stack: &str,
    results: &mut HashMap<ResourceAddress, ObjectState>,
) {
    for wave in waves(graph) {
        let mut tasks = tokio::task::JoinSet::new();
        for address in wave.into_iter().filter(|a| !results.contains_key(a)) {
            let node = graph.get(&address).expect("node");
            let config = config_of(node, results);
            let provider = providers.of(node);
            let ctx = op(stack, node);
            tasks.spawn(async move {
                let state = provider.create(&ctx, &config).await;
                (ctx.address, state)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (address, state) = joined.expect("task");
            let state = state.unwrap_or_else(|e| panic!("{address}: create failed: {e:?}"));
            results.insert(address, state);
        }
    }
}

/// Refreshes every object (one batch per provider), dropping the gone ones;
/// returns the addresses found gone.
async fn refresh(
    graph: &ResourceGraph,
    providers: &Providers,
    stack: &str,
    results: &mut HashMap<ResourceAddress, ObjectState>,
) -> Vec<ResourceAddress> {
    let aws_items: Vec<(OperationContext, ObjectState)> = graph
        .nodes()
        .filter(|n| n.target.is_some())
        .filter_map(|n| results.get(&n.address).map(|s| (op(stack, n), s.clone())))
        .collect();
    let read = providers.aws.read_many(&aws_items).await;
    let mut gone = Vec::new();
    for ((ctx, _), outcome) in aws_items.iter().zip(read) {
        match outcome.unwrap_or_else(|e| panic!("{}: refresh failed: {e:?}", ctx.address)) {
            Some(state) => {
                results.insert(ctx.address.clone(), state);
            }
            None => {
                results.remove(&ctx.address);
                gone.push(ctx.address.clone());
            }
        }
    }
    gone
}

/// The plan of every aws node against its state: (replacements, updates).
fn plan(
    graph: &ResourceGraph,
    providers: &Providers,
    stack: &str,
    results: &HashMap<ResourceAddress, ObjectState>,
) -> (Vec<ResourceAddress>, Vec<String>) {
    let mut replace = Vec::new();
    let mut update = Vec::new();
    for node in graph.nodes().filter(|n| n.target.is_some()) {
        let Some(state) = results.get(&node.address) else { continue };
        let config = config_of(node, results);
        let config = full_config(&providers.aws, &node.type_name, &config);
        let planned = providers.aws.plan(&op(stack, node), Some(state), &config).expect("plan");
        if matches!(planned.get_path(&["id"]), Some(Value::Unknown)) {
            replace.push(node.address.clone());
            continue;
        }
        for (name, value) in planned.as_object().expect("object") {
            let had = state.attributes.get_path(&[name]).cloned().unwrap_or(Value::Null);
            if value.unmarked() != had.unmarked() {
                update.push(format!("{}.{name}: {had:?} -> {value:?}", node.address));
            }
        }
    }
    (replace, update)
}

fn python(args: &[&str]) -> (bool, String) {
    let venv = std::env::var("STACKC_TEST_VENV")
        .expect("STACKC_TEST_VENV (scripts/test sets it) for the boto3 checker");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/aws-check.py");
    let output = std::process::Command::new(format!("{venv}/bin/python"))
        .arg(script)
        .args(args)
        .output()
        .expect("python");
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

fn calls_since(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_applies_converges_heals_and_destroys() {
    let Some(endpoint) = moto_endpoint() else { return };
    // The stdlib puts the stack's name in every account-wide name (role,
    // cluster, secret, load balancer), so a unique stack never meets the
    // objects of other tests or of earlier runs against the same moto.
    let stack = unique_stack("sg");
    let aws = Arc::new(provider_at(&stack, &endpoint).await);
    let providers = Providers { aws: aws.clone(), builtin: Arc::new(BuiltinProvider::new()) };
    let mut schemas = SchemaSet::default();
    for schema in stackc_provider_aws::schemas().into_iter().chain(stackc_provider_builtin::schemas()) {
        schemas.add(schema);
    }
    let (graph, diagnostics) = expand_with_stdlib_as(&stack, &shop_for("aws"), &schemas, None);
    let graph = graph.expect("graph");
    // The test stack's `job` has no aws body (E0501); everything else expands.
    assert!(diagnostics.iter().all(|d| d.code.to_string() == "E0501"), "{diagnostics:?}");

    // Apply.
    let mut results = HashMap::new();
    let before = aws.api_calls_by_action();
    let started = Instant::now();
    apply(&graph, &providers, &stack, &mut results).await;
    let apply_time = started.elapsed();
    let apply_calls = calls_since(&before, &aws.api_calls_by_action());
    let aws_resources = graph.nodes().filter(|n| n.target.is_some()).count();

    // Independent check of the architecture.
    let (ok, report) = python(&["--endpoint", &endpoint, "shop", &stack]);
    assert!(ok, "boto3 check failed: {report}");

    // Ownership: the tagging API lists what this stack made, by address.
    let owned = aws.owned_objects(&stack).await.expect("owned objects");
    for address in [
        "network.main/aws_vpc.main",
        "load_balancer.public/aws_lb.main",
        "database.main/aws_instance.node[\"2\"]",
        "service.api/aws_ecs_service.main",
    ] {
        // (Terminated instances of earlier runs stay listed for a while.)
        let id = &results[&ResourceAddress(address.to_string())].id;
        let short = id.rsplit('/').next().unwrap_or(id);
        let object = owned.iter().find(|o| o.address.as_deref() == Some(address) && o.arn.ends_with(short));
        let object =
            object.unwrap_or_else(|| panic!("{address} ({id}) not among the owned objects: {owned:?}"));
        assert_eq!(object.target.as_deref(), Some("aws"));
    }

    // Refresh and plan: nothing to do.
    let before_refresh = aws.api_calls_by_action();
    let gone = refresh(&graph, &providers, &stack, &mut results).await;
    let refresh_calls = calls_since(&before_refresh, &aws.api_calls_by_action());
    assert!(gone.is_empty(), "gone right after apply: {gone:?}");
    let (replace, update) = plan(&graph, &providers, &stack, &results);
    assert!(
        replace.is_empty() && update.is_empty(),
        "plan after apply is not empty: {replace:?} {update:#?}"
    );

    // An instance terminated behind our back is re-created.
    let victim = ResourceAddress("database.main/aws_instance.node[\"1\"]".into());
    let old_id = results[&victim].id.clone();
    let (ok, report) = python(&["--endpoint", &endpoint, "terminate", &old_id]);
    assert!(ok, "{report}");
    let gone = refresh(&graph, &providers, &stack, &mut results).await;
    assert!(gone.contains(&victim), "terminated instance still read: {gone:?}");
    apply(&graph, &providers, &stack, &mut results).await;
    // Its attachment now names a replaced instance: replace it too.
    let (replace, _) = plan(&graph, &providers, &stack, &results);
    for address in &replace {
        let node = graph.get(address).expect("node");
        let old = results.remove(address).expect("state");
        providers.of(node).delete(&op(&stack, node), &old).await.expect("delete replaced");
    }
    apply(&graph, &providers, &stack, &mut results).await;
    assert_ne!(results[&victim].id, old_id);
    refresh(&graph, &providers, &stack, &mut results).await;
    let (replace, update) = plan(&graph, &providers, &stack, &results);
    assert!(
        replace.is_empty() && update.is_empty(),
        "plan after healing is not empty: {replace:?} {update:#?}"
    );
    let (ok, report) = python(&["--endpoint", &endpoint, "shop", &stack]);
    assert!(ok, "boto3 check after healing failed: {report}");

    // Destroy in reverse dependency order.
    let before = aws.api_calls_by_action();
    let started = Instant::now();
    for wave in waves(&graph).into_iter().rev() {
        let mut tasks = tokio::task::JoinSet::new();
        for address in wave {
            let node = graph.get(&address).expect("node");
            let Some(state) = results.remove(&address) else { continue };
            let provider = providers.of(node);
            let ctx = op(&stack, node);
            tasks.spawn(async move { (ctx.address.clone(), provider.delete(&ctx, &state).await) });
        }
        while let Some(joined) = tasks.join_next().await {
            let (address, outcome) = joined.expect("task");
            outcome.unwrap_or_else(|e| panic!("{address}: delete failed: {e:?}"));
        }
    }
    let destroy_time = started.elapsed();
    let destroy_calls = calls_since(&before, &aws.api_calls_by_action());
    let (ok, left) = python(&["--endpoint", &endpoint, "owned", &stack]);
    assert!(ok && left.trim().is_empty(), "tagged objects left after destroy: {left}");

    let total = |calls: &BTreeMap<String, u64>| calls.values().sum::<u64>();
    eprintln!(
        "shop on moto: {aws_resources} aws resources; apply {:.2}s with {} API calls {apply_calls:?}; refresh {} calls {refresh_calls:?}; destroy {:.2}s with {} API calls {destroy_calls:?}",
        apply_time.as_secs_f64(),
        total(&apply_calls),
        total(&refresh_calls),
        destroy_time.as_secs_f64(),
        total(&destroy_calls),
    );
}
