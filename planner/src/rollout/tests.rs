use super::*;
use crate::plan::PlanOptions;
use crate::state::{InstanceState, RolloutStatus};
use crate::tests::fake::{FakeCloud, TARGET, TYPE};
use crate::tests::{address, object, GraphBuilder, Workspace};
use stackc_model::graph::ResourceGraph;
use stackc_model::{Origin, SourceFile};
use stackc_provider_builtin::BuiltinProvider;
use std::sync::Arc;

fn rollout_value(pairs: &[(&str, Value)]) -> Value {
    let mut fields: Vec<(&str, Value)> = vec![
        ("strategy", Value::string("canary")),
        ("steps", Value::List(vec![Value::Number(10.0), Value::Number(50.0), Value::Number(100.0)])),
        ("gate", Value::string("1s")),
        ("timeout", Value::string("30s")),
        ("pause", Value::string("0s")),
        ("port", Value::Number(8080.0)),
        ("replicas", Value::Number(4.0)),
        ("stable", Value::List(vec![Value::string("fake_disk.replica")])),
        ("canary", Value::List(vec![Value::string("fake_disk.canary")])),
        ("health", Value::List(vec![Value::string("fake_disk.canary")])),
    ];
    for (name, value) in pairs {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.clone(),
            None => fields.push((name, value.clone())),
        }
    }
    object(&[("input", object(&[("rollout", object(&fields))]))])
}

fn policy(pairs: &[(&str, Value)]) -> Result<Policy, PolicyError> {
    Policy::from_attributes(&rollout_value(pairs)).expect("a policy")
}

#[test]
fn durations_parse_with_units_in_order_and_refuse_the_rest() {
    assert_eq!(parse_duration("500ms"), Ok(500));
    assert_eq!(parse_duration("30s"), Ok(30_000));
    assert_eq!(parse_duration("2m"), Ok(120_000));
    assert_eq!(parse_duration("1h"), Ok(3_600_000));
    assert_eq!(parse_duration("1m30s"), Ok(90_000));
    assert_eq!(parse_duration("1h2m3s4ms"), Ok(3_723_004));
    assert_eq!(parse_duration("0s"), Ok(0));
    for bad in ["", "30", "s", "3x", "1.5s", "-1s", "30s1m", "1s1s", "99999999999999999999h"] {
        let error = parse_duration(bad).unwrap_err();
        assert!(error.contains("is not a duration"), "{bad}: {error}");
    }
    assert_eq!(format_duration(90_000), "1m30s");
    assert_eq!(format_duration(500), "500ms");
    assert_eq!(format_duration(0), "0s");
}

#[test]
fn a_policy_has_defaults_and_a_bad_field_is_named() {
    let p = Policy::from_attributes(&object(&[(
        "input",
        object(&[(
            "rollout",
            object(&[
                ("replicas", Value::Number(2.0)),
                ("stable", Value::List(vec![Value::string("docker_container.replica")])),
            ]),
        )]),
    )]))
    .unwrap()
    .unwrap();
    assert_eq!(p.strategy, Strategy::Rolling);
    assert_eq!((p.gate_ms, p.timeout_ms, p.pause, p.keep_ms), (30_000, 300_000, Pause::For(0), None));
    assert_eq!(policy(&[("pause", Value::string("promote"))]).unwrap().pause, Pause::UntilPromoted);
    assert_eq!(policy(&[("keep", Value::string("10m"))]).unwrap().keep_ms, Some(600_000));

    let error = policy(&[("gate", Value::string("3x"))]).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("gate"));
    assert!(error.to_string().starts_with("rollout.gate: `3x` is not a duration"), "{error}");
    let error = policy(&[("pause", Value::string("forever"))]).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("pause"));
    assert!(error.message.contains("or \"promote\""), "{error}");
    let error = policy(&[("strategy", Value::string("big_bang"))]).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("strategy"));
    let error =
        policy(&[("steps", Value::List(vec![Value::Number(50.0), Value::Number(10.0)]))]).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("steps"));
    let error = policy(&[("stable", Value::List(vec![]))]).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("stable"));
    // No descriptor: no policy.
    assert!(Policy::from_attributes(&object(&[("input", object(&[]))])).is_none());
}

#[test]
fn canary_steps_run_at_least_one_new_replica_in_the_steps_proportion() {
    let p = policy(&[]).unwrap();
    let steps = p.steps().unwrap();
    let shape: Vec<(u32, u64)> = steps.iter().map(|s| (s.weight, s.canary)).collect();
    assert_eq!(shape, vec![(10, 1), (50, 2), (100, 4)]);
    assert_eq!(steps[0].gate_ms, 1000);
    assert_eq!(canary_count(3, 10), 1);
    assert_eq!(canary_count(3, 50), 2);
    assert_eq!(canary_count(10, 25), 3);
    assert_eq!(canary_count(1, 1), 1);
    // Default steps.
    let p = policy(&[("steps", Value::Null)]).unwrap();
    assert_eq!(p.steps, vec![10, 50, 100]);
    assert_eq!(
        steps[1].describe(Strategy::Canary, 4),
        "50% of requests to the new version (2 replicas beside 4)"
    );
}

#[test]
fn blue_green_starts_the_whole_set_then_switches() {
    let p = policy(&[("strategy", Value::string("blue_green")), ("steps", Value::List(vec![]))]).unwrap();
    let shape: Vec<(u32, u64)> = p.steps().unwrap().iter().map(|s| (s.weight, s.canary)).collect();
    assert_eq!(shape, vec![(0, 4), (100, 4)]);
}

#[test]
fn rolling_batches_follow_surge_and_unavailable_as_kubernetes_rounds_them() {
    // 25% of 4: surge rounds up (1), unavailable down (1): 2 at a time.
    assert_eq!(rolling_batch(4, None, None).unwrap(), 2);
    // 25% of 10: surge 3, unavailable 2.
    assert_eq!(rolling_batch(10, Some("25%"), Some("25%")).unwrap(), 5);
    assert_eq!(rolling_batch(10, Some("1"), Some("0")).unwrap(), 1);
    // 25% of 1: surge 1, unavailable 0.
    assert_eq!(rolling_batch(1, None, None).unwrap(), 1);
    assert_eq!(rolling_batch(3, Some("10%"), Some("0")).unwrap(), 1);
    let error = rolling_batch(4, Some("0"), Some("0")).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("max_surge"));
    assert!(error.message.contains("both 0"), "{error}");
    assert!(rolling_batch(4, Some("many"), None).is_err());
    assert!(rolling_batch(4, Some("150%"), None).is_err());
    let p = policy(&[
        ("strategy", Value::string("rolling")),
        ("steps", Value::List(vec![])),
        ("max_surge", Value::string("1")),
        ("max_unavailable", Value::string("0")),
        ("replicas", Value::Number(3.0)),
    ])
    .unwrap();
    let batches: Vec<Vec<u64>> = p.steps().unwrap().into_iter().map(|s| s.batch).collect();
    assert_eq!(batches, vec![vec![0], vec![1], vec![2]]);
    // A policy whose batches cannot be made is refused when read.
    let error = policy(&[
        ("strategy", Value::string("rolling")),
        ("max_surge", Value::string("0")),
        ("max_unavailable", Value::string("0")),
    ])
    .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("max_surge"));
}

/// An instance `service.api` with `replicas` stable disks of `size` and a
/// rollout descriptor with `port`.
fn service(replicas: usize, size: f64, port: f64) -> ResourceGraph {
    let mut builder = GraphBuilder::default().node(
        "service.api/stackc_data.rollout[0]",
        "stackc_data",
        None,
        rollout_value(&[("port", Value::Number(port)), ("replicas", Value::Number(replicas as f64))]),
    );
    for i in 0..replicas {
        builder = builder.node(
            &format!("service.api/fake_disk.replica[{i}]"),
            TYPE,
            Some(TARGET),
            object(&[("name", Value::string(format!("api-{i}"))), ("size", Value::Number(size))]),
        );
    }
    builder.build()
}

fn providers() -> crate::providers::ProviderSet {
    crate::providers::ProviderSet::new()
        .with_builtin(Arc::new(BuiltinProvider::new()))
        .with_target(TARGET, Arc::new(FakeCloud::default()))
}

#[tokio::test]
async fn a_changed_stable_version_rolls_out_and_a_first_deployment_or_a_port_change_does_not() {
    let ws = Workspace::new();
    let providers = providers();
    // First deployment: plain, and why.
    let outcome = ws.plan(&service(4, 10.0, 8080.0), &providers, PlanOptions::new()).await;
    let (rollouts, problems) = detect(&outcome.plan, &ws.state());
    assert!(problems.is_empty());
    assert_eq!(rollouts.len(), 1);
    assert!(rollouts[0].plain);
    assert!(rollouts[0].reason.contains("first deployment"), "{}", rollouts[0].reason);
    assert!(ws.apply(&outcome.plan, &service(4, 10.0, 8080.0), &providers).await.succeeded());

    // Nothing changed: nothing to say.
    let outcome = ws.plan(&service(4, 10.0, 8080.0), &providers, PlanOptions::new()).await;
    assert!(detect(&outcome.plan, &ws.state()).0.is_empty());

    // The stable version's configuration changed: a canary rollout.
    let outcome = ws.plan(&service(4, 20.0, 8080.0), &providers, PlanOptions::new()).await;
    let (rollouts, _) = detect(&outcome.plan, &ws.state());
    assert_eq!(rollouts.len(), 1);
    let rollout = &rollouts[0];
    assert!(!rollout.plain);
    assert_eq!(rollout.instance, "service.api");
    assert_eq!(rollout.strategy, Strategy::Canary);
    assert_eq!(rollout.reason, "`size` changed");
    assert_eq!(rollout.steps.len(), 3);
    assert_eq!((rollout.from_step, rollout.status.as_deref()), (0, None));
    // Another version, another hash; the same, the same.
    let again = ws.plan(&service(4, 20.0, 8080.0), &providers, PlanOptions::new()).await;
    assert_eq!(detect(&again.plan, &ws.state()).0[0].version, rollout.version);
    let other = ws.plan(&service(4, 30.0, 8080.0), &providers, PlanOptions::new()).await;
    assert_ne!(detect(&other.plan, &ws.state()).0[0].version, rollout.version);

    // The port changes too: plain, and why.
    let outcome = ws.plan(&service(4, 20.0, 9090.0), &providers, PlanOptions::new()).await;
    let (rollouts, _) = detect(&outcome.plan, &ws.state());
    assert!(rollouts[0].plain);
    assert!(rollouts[0].reason.contains("port changes (8080 -> 9090)"), "{}", rollouts[0].reason);

    // A destroy never rolls out.
    let destroy = ws
        .plan(&service(4, 20.0, 8080.0), &providers, PlanOptions { destroy: true, ..PlanOptions::new() })
        .await;
    assert!(detect(&destroy.plan, &ws.state()).0.is_empty());
}

#[tokio::test]
async fn zero_replicas_is_plain_and_a_bad_policy_is_a_problem_naming_its_field() {
    let ws = Workspace::new();
    let providers = providers();
    let graph = service(2, 10.0, 8080.0);
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    assert!(ws.apply(&outcome.plan, &graph, &providers).await.succeeded());
    let mut zero = service(2, 20.0, 8080.0);
    let descriptor = address("service.api/stackc_data.rollout[0]");
    let mut node = zero.get(&descriptor).unwrap().clone();
    node.values = rollout_value(&[("replicas", Value::Number(0.0))]);
    zero = rebuilt(&zero, node);
    let outcome = ws.plan(&zero, &providers, PlanOptions::new()).await;
    let (rollouts, _) = detect(&outcome.plan, &ws.state());
    assert!(rollouts[0].plain && rollouts[0].reason.contains("0 replicas"), "{rollouts:?}");

    let mut node = zero.get(&descriptor).unwrap().clone();
    node.values = rollout_value(&[("timeout", Value::string("soon"))]);
    let bad = rebuilt(&zero, node);
    let outcome = ws.plan(&bad, &providers, PlanOptions::new()).await;
    let (_, problems) = detect(&outcome.plan, &ws.state());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].instance, "service.api");
    assert_eq!(problems[0].error.field.as_deref(), Some("timeout"));
}

/// `graph` with `node` in place of the node of its address.
fn rebuilt(graph: &ResourceGraph, node: stackc_model::graph::ResourceNode) -> ResourceGraph {
    let mut out = ResourceGraph::default();
    for n in graph.nodes() {
        out.add(if n.address == node.address { node.clone() } else { n.clone() }).unwrap();
    }
    out
}

#[tokio::test]
async fn held_resources_keep_what_the_state_has_and_others_change() {
    let ws = Workspace::new();
    let providers = providers();
    let graph = service(2, 10.0, 8080.0);
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    assert!(ws.apply(&outcome.plan, &graph, &providers).await.succeeded());
    // Size updates in place, name replaces: both held by the block pattern.
    let mut changed = service(2, 20.0, 8080.0);
    let renamed = address("service.api/fake_disk.replica[1]");
    let mut node = changed.get(&renamed).unwrap().clone();
    node.values = object(&[("name", Value::string("api-x")), ("size", Value::Number(20.0))]);
    changed = rebuilt(&changed, node);
    let held = PlanOptions { hold: vec!["service.api/fake_disk.replica".into()], ..PlanOptions::new() };
    let outcome = ws.plan(&changed, &providers, held).await;
    assert!(outcome.problems.is_empty());
    assert!(outcome.plan.changes.iter().all(|c| !c.action.is_change()), "{:?}", outcome.plan.changes);
    let kept = outcome.plan.change(&renamed).unwrap();
    assert_eq!(kept.planned.get_path(&["name"]), Some(&Value::string("api-1")));
    // One index held: the other one acts.
    let one = PlanOptions { hold: vec!["service.api/fake_disk.replica[1]".into()], ..PlanOptions::new() };
    let outcome = ws.plan(&changed, &providers, one.clone()).await;
    let acting: Vec<_> =
        outcome.plan.changes.iter().filter(|c| c.action.is_change()).map(|c| c.address.0.clone()).collect();
    assert_eq!(acting, vec!["service.api/fake_disk.replica[0]".to_string()]);
    assert!(one.holds(&renamed));
    assert!(!one.holds(&address("service.api/fake_disk.replica[10]")));
    assert!(
        !PlanOptions { hold: vec!["service.api/fake_disk.rep".into()], ..PlanOptions::new() }.holds(&renamed)
    );
    // A new replica beyond the state is still created.
    let grown = service(3, 10.0, 8080.0);
    let all = PlanOptions { hold: vec!["service.api/fake_disk.replica".into()], ..PlanOptions::new() };
    let outcome = ws.plan(&grown, &providers, all).await;
    assert_eq!(
        outcome.plan.change(&address("service.api/fake_disk.replica[2]")).unwrap().action,
        crate::plan::Action::Create
    );
}

#[tokio::test]
async fn a_record_of_the_same_version_resumes_at_its_step_and_another_version_starts_over() {
    let ws = Workspace::new();
    let providers = providers();
    let graph = service(4, 10.0, 8080.0);
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    assert!(ws.apply(&outcome.plan, &graph, &providers).await.succeeded());
    let outcome = ws.plan(&service(4, 20.0, 8080.0), &providers, PlanOptions::new()).await;
    let mut state = ws.state();
    let (rollouts, _) = detect(&outcome.plan, &state);
    let mut record = record_for(&rollouts[0], 1, RolloutStatus::Paused, "t0", "t1");
    assert_eq!((record.weight, record.canary, record.steps), (50, 2, 3));
    state.set_rollout("service.api", Some(record.clone()));
    let (resumed, _) = detect(&outcome.plan, &state);
    assert_eq!((resumed[0].from_step, resumed[0].status.as_deref()), (1, Some("paused")));
    // The record's step is what every command expands with.
    let steps = state.rollout_steps();
    assert_eq!(steps["service.api"], stackc_model::RolloutStep { weight: 50, canary: 2 });
    // Rolled back: not expanded, but its stable resources are held by reconcile.
    record.status = RolloutStatus::RolledBack;
    state.set_rollout("service.api", Some(record.clone()));
    assert!(state.rollout_steps().is_empty());
    assert_eq!(recorded_holds(&state), vec!["service.api/fake_disk.replica".to_string()]);
    assert_eq!(detect(&outcome.plan, &state).0[0].from_step, 0);
    // Another version: starts over.
    record.status = RolloutStatus::Paused;
    record.version = "another".into();
    state.set_rollout("service.api", Some(record));
    assert_eq!(detect(&outcome.plan, &state).0[0].from_step, 0);
    // Cleared: the instance entry goes when nothing else is recorded.
    state.set_rollout("service.api", None);
    assert!(state.instances.is_empty());
}

#[test]
fn records_round_trip_and_states_without_them_load() {
    let record = RolloutRecord {
        strategy: "canary".into(),
        version: "abc".into(),
        step: 1,
        steps: 3,
        weight: 50,
        canary: 2,
        status: RolloutStatus::RollingBack,
        started: "2026-01-01T00:00:00Z".into(),
        updated: "2026-01-01T00:01:00Z".into(),
        reason: Some("gate failed".into()),
        kept_until_ms: None,
    };
    let instance = InstanceState { autoscale: None, rollout: Some(record.clone()) };
    let json = serde_json::to_string(&instance).unwrap();
    assert!(json.contains(r#""status":"rolling_back""#), "{json}");
    assert!(!json.contains("kept_until_ms"), "{json}");
    let back: InstanceState = serde_json::from_str(&json).unwrap();
    assert_eq!(back.rollout, Some(record));
    // Older states (autoscale only) load with no rollout.
    let old: InstanceState = serde_json::from_str(r#"{"autoscale":{"replicas":2}}"#).unwrap();
    assert!(old.rollout.is_none() && old.autoscale.is_some());
    assert!(serde_json::from_str::<InstanceState>(r#"{"rollout":{"strategy":"canary"}}"#).is_err());
}

#[test]
fn the_rollout_block_and_its_fields_are_found_in_the_instance() {
    let text = "service \"api\" {\n  image = \"x\"\n  health { path = \"/\" }\n  rollout {\n    strategy = \"canary\"\n    gate     = \"3x\"\n  }\n}\n";
    let mut sources = Sources::new();
    let file = sources.add(SourceFile::new("main.stack.hcl", text, Origin::User));
    let instance = Span::new(file, 0..text.len() - 1);
    let block = rollout_block_span(&sources, instance).unwrap();
    assert_eq!(
        &text[block.start as usize..block.end as usize],
        "rollout {\n    strategy = \"canary\"\n    gate     = \"3x\"\n  }"
    );
    let gate = sources.attribute_span(block, "gate").unwrap();
    assert_eq!(&text[gate.start as usize..gate.end as usize], "gate     = \"3x\"");
    let without = "service \"api\" {\n  image = \"x\"\n}\n";
    let mut sources = Sources::new();
    let file = sources.add(SourceFile::new("main.stack.hcl", without, Origin::User));
    assert!(rollout_block_span(&sources, Span::new(file, 0..without.len() - 1)).is_none());
}
