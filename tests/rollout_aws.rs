//! Rollouts on the aws target (issue 13).
//!
//! Offline: the stdlib's aws bodies expanded for the shop with a rollout
//! step set (`self.rollout`, as the rollout engine sets it): the canary
//! task definition, target group and service, the listener's weighted
//! forward, the descriptor the engine reads.

use stackc_compiler::expand::RolloutStep;
use stackc_compiler::graph::{ResourceAddress, ResourceGraph};
use stackc_compiler::Value;
use std::path::Path;

// ---------------------------------------------------------------- expansion

/// The shop example expanded for aws, with `step` for `service.api`.
fn shop_expanded(step: Option<RolloutStep>) -> ResourceGraph {
    let request = stackc_driver::StackRequest {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop"),
        target: Some("aws".into()),
        ..Default::default()
    };
    let mut checked = match stackc_driver::check_stack(&request) {
        Ok(checked) => checked,
        Err(_) => panic!("examples/shop checks"),
    };
    if let Some(step) = step {
        checked.rollouts.insert("service.api".into(), step);
    }
    match checked.compile(None) {
        Ok(compiled) => compiled.graph,
        Err(diagnostics) => {
            panic!("shop expands: {:?}", diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>())
        }
    }
}

fn values<'g>(graph: &'g ResourceGraph, address: &str) -> &'g Value {
    &graph.get(&ResourceAddress(address.to_string())).unwrap_or_else(|| panic!("{address} is planned")).values
}

fn has(graph: &ResourceGraph, address: &str) -> bool {
    graph.get(&ResourceAddress(address.to_string())).is_some()
}

/// The listener's one default action.
fn listener_action(graph: &ResourceGraph) -> Value {
    let actions = values(graph, "load_balancer.public/aws_lb_listener.main").get_path(&["default_action"]);
    let actions = actions.and_then(Value::as_list).expect("a list of actions");
    assert_eq!(actions.len(), 1, "{actions:?}");
    actions[0].clone()
}

const CANARY: [&str; 3] = [
    "service.api/aws_ecs_task_definition.canary[0]",
    "service.api/aws_lb_target_group.canary[0]",
    "service.api/aws_ecs_service.canary[0]",
];

/// Without a rollout step the shop has no canary object, its listener
/// forwards plainly to the service's group, and the descriptor tells the
/// engine which blocks are stable, canary and gated.
#[test]
fn without_a_step_nothing_changes_but_the_descriptor() {
    let graph = shop_expanded(None);
    for address in CANARY {
        assert!(!has(&graph, address), "{address} without a rollout step");
    }
    let action = listener_action(&graph);
    assert_eq!(action.get_path(&["type"]), Some(&Value::string("forward")));
    assert!(action.get_path(&["target_group_arn"]).is_some(), "{action:?}");
    assert!(action.get_path(&["forward"]).is_none(), "{action:?}");

    let descriptor = values(&graph, "service.api/stackc_data.rollout[0]");
    let rollout = descriptor.get_path(&["input", "rollout"]).expect("input.rollout");
    let text = |path: &[&str]| rollout.get_path(path).cloned();
    let list = |items: &[&str]| Some(Value::List(items.iter().map(|s| Value::string(*s)).collect()));
    assert_eq!(text(&["strategy"]), Some(Value::string("canary")));
    assert_eq!(
        text(&["steps"]),
        Some(Value::List(vec![Value::Number(10.0), Value::Number(50.0), Value::Number(100.0)]))
    );
    assert_eq!(text(&["gate"]), Some(Value::string("30s")));
    assert_eq!(text(&["timeout"]), Some(Value::string("300s")));
    assert_eq!(text(&["pause"]), Some(Value::string("0s")));
    assert_eq!(text(&["port"]), Some(Value::Number(8080.0)));
    // autoscale.min: the stable service's desired count.
    assert_eq!(text(&["replicas"]), Some(Value::Number(4.0)));
    assert_eq!(text(&["stable"]), list(&["aws_ecs_service.main", "aws_ecs_task_definition.main"]));
    assert_eq!(
        text(&["canary"]),
        list(&["aws_ecs_service.canary", "aws_ecs_task_definition.canary", "aws_lb_target_group.canary"])
    );
    assert_eq!(text(&["health"]), list(&["aws_ecs_service.canary"]));
}

/// During a step the new version runs as `api-canary` with the step's task
/// count, the stable task definition's containers and a target group of its
/// own; the listener weighs the stable group against it by the step's share.
#[test]
fn a_step_adds_the_canary_and_weighs_the_listener() {
    let graph = shop_expanded(Some(RolloutStep { weight: 10, canary: 1 }));
    for address in CANARY {
        assert!(has(&graph, address), "{address} during a step");
    }
    let service = values(&graph, "service.api/aws_ecs_service.canary[0]");
    assert_eq!(service.get_path(&["name"]), Some(&Value::string("api-canary")));
    assert_eq!(service.get_path(&["desired_count"]), Some(&Value::Number(1.0)));
    let stable = values(&graph, "service.api/aws_ecs_service.main");
    assert_eq!(stable.get_path(&["desired_count"]), Some(&Value::Number(4.0)), "the stable count stays");
    assert_eq!(service.get_path(&["network_configuration"]), stable.get_path(&["network_configuration"]));

    let canary_task = values(&graph, "service.api/aws_ecs_task_definition.canary[0]");
    let stable_task = values(&graph, "service.api/aws_ecs_task_definition.main");
    assert_eq!(
        canary_task.get_path(&["container_definitions"]),
        stable_task.get_path(&["container_definitions"])
    );
    assert_ne!(canary_task.get_path(&["family"]), stable_task.get_path(&["family"]));

    let group = values(&graph, "service.api/aws_lb_target_group.canary[0]");
    let stable_group = values(&graph, "service.api/aws_lb_target_group.main[0]");
    let name = group.get_path(&["name"]).and_then(Value::as_str).expect("a name").to_string();
    assert_eq!(name, "shop-api-c");
    assert_ne!(group.get_path(&["name"]), stable_group.get_path(&["name"]));
    assert_eq!(group.get_path(&["health_check"]), stable_group.get_path(&["health_check"]));

    let action = listener_action(&graph);
    let groups = action.get_path(&["forward", "target_groups"]).and_then(Value::as_list).expect("weighted");
    let weights: Vec<Option<f64>> =
        groups.iter().map(|g| g.get_path(&["weight"]).and_then(Value::as_f64)).collect();
    assert_eq!(weights, vec![Some(90.0), Some(10.0)]);
    assert!(action.get_path(&["target_group_arn"]).is_none(), "{action:?}");

    // The last step: the canary takes every request.
    let graph = shop_expanded(Some(RolloutStep { weight: 100, canary: 4 }));
    let action = listener_action(&graph);
    let groups = action.get_path(&["forward", "target_groups"]).and_then(Value::as_list).expect("weighted");
    let weights: Vec<Option<f64>> =
        groups.iter().map(|g| g.get_path(&["weight"]).and_then(Value::as_f64)).collect();
    assert_eq!(weights, vec![Some(0.0), Some(100.0)]);
    let service = values(&graph, "service.api/aws_ecs_service.canary[0]");
    assert_eq!(service.get_path(&["desired_count"]), Some(&Value::Number(4.0)));
}

/// A long stack name: the canary group's name stays within AWS's 32
/// characters and differs from the main group's.
#[test]
fn the_canary_group_name_of_a_long_stack_fits_and_differs() {
    let dir =
        tempfile::Builder::new().prefix("a-stack-with-a-rather-long-name-").tempdir().expect("temp dir");
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    for entry in std::fs::read_dir(&shop).expect("examples/shop") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let request = stackc_driver::StackRequest {
        path: dir.path().to_path_buf(),
        target: Some("aws".into()),
        ..Default::default()
    };
    let Ok(mut checked) = stackc_driver::check_stack(&request) else { panic!("the copy checks") };
    checked.rollouts.insert("service.api".into(), RolloutStep { weight: 50, canary: 2 });
    let Ok(compiled) = checked.compile(None) else { panic!("the copy expands") };
    let name = |address: &str| {
        values(&compiled.graph, address)
            .get_path(&["name"])
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (main, canary) =
        (name("service.api/aws_lb_target_group.main[0]"), name("service.api/aws_lb_target_group.canary[0]"));
    assert!(main.len() <= 32 && canary.len() <= 32, "{main} / {canary}");
    assert_ne!(main, canary);
}
