//! What rollouts need of the aws provider, against moto through the
//! Provider trait: a listener whose forward action splits traffic between
//! two weighted target groups, changed in place (never replaced) with an
//! empty plan after each change; and `Provider::health` of an ECS service
//! behind a target group, from starting to healthy, unhealthy (a stopped
//! target, made behind stackc's back with boto3) and missing.

mod support;

use stackc_model::Value;
use stackc_provider_aws::AwsProvider;
use stackc_providers::{HealthStatus, ObjectState, Provider};
use std::process::Command;
use support::*;

/// A VPC with two subnets and a group, as the load balancer and the
/// service need.
struct Network {
    vpc: ObjectState,
    subnets: Vec<ObjectState>,
    group: ObjectState,
}

impl Network {
    async fn create(p: &AwsProvider, stack: &str, prefix: &str) -> Network {
        let vpc = p
            .create(
                &ctx(stack, "aws_vpc", "fixture.vpc"),
                &full_config(p, "aws_vpc", &obj(&[("cidr_block", s(&format!("{prefix}.0.0/16")))])),
            )
            .await
            .expect("vpc");
        let mut subnets = Vec::new();
        for (i, zone) in ["a", "b"].iter().enumerate() {
            let config = obj(&[
                ("vpc_id", s(&vpc.id)),
                ("cidr_block", s(&format!("{prefix}.{i}.0/24"))),
                ("availability_zone", s(&format!("{REGION}{zone}"))),
            ]);
            subnets.push(
                p.create(
                    &ctx(stack, "aws_subnet", &format!("fixture.subnet[{i}]")),
                    &full_config(p, "aws_subnet", &config),
                )
                .await
                .expect("subnet"),
            );
        }
        let group = p
            .create(
                &ctx(stack, "aws_security_group", "fixture.sg"),
                &full_config(
                    p,
                    "aws_security_group",
                    &obj(&[("name", s("fixture")), ("vpc_id", s(&vpc.id))]),
                ),
            )
            .await
            .expect("group");
        Network { vpc, subnets, group }
    }

    fn subnet_ids(&self) -> Value {
        Value::List(self.subnets.iter().map(|s| Value::string(&s.id)).collect())
    }
}

async fn target_group(p: &AwsProvider, stack: &str, net: &Network, name: &str) -> ObjectState {
    let config = obj(&[
        ("name", s(name)),
        ("port", n(8080.0)),
        ("protocol", s("HTTP")),
        ("vpc_id", s(&net.vpc.id)),
        ("target_type", s("ip")),
    ]);
    p.create(&ctx(stack, "aws_lb_target_group", name), &full_config(p, "aws_lb_target_group", &config))
        .await
        .expect("target group")
}

fn weighted(groups: &[(&str, f64)]) -> Value {
    let groups = groups.iter().map(|(arn, weight)| obj(&[("arn", s(arn)), ("weight", n(*weight))])).collect();
    Value::List(vec![obj(&[
        ("type", s("forward")),
        ("forward", obj(&[("target_groups", Value::List(groups))])),
    ])])
}

fn plain(arn: &str) -> Value {
    Value::List(vec![obj(&[("type", s("forward")), ("target_group_arn", s(arn))])])
}

/// The forward weights as the provider reads them: (arn, weight) in order;
/// a plain forward as its one group with no weight.
fn weights_of(state: &ObjectState) -> Vec<(String, Option<f64>)> {
    let action =
        &state.attributes.get_path(&["default_action"]).and_then(Value::as_list).expect("actions")[0];
    if let Some(arn) = action.get_path(&["target_group_arn"]).and_then(Value::as_str) {
        return vec![(arn.to_string(), None)];
    }
    action
        .get_path(&["forward", "target_groups"])
        .and_then(Value::as_list)
        .expect("forward groups")
        .iter()
        .map(|g| {
            (
                g.get_path(&["arn"]).and_then(Value::as_str).unwrap_or_default().to_string(),
                g.get_path(&["weight"]).and_then(Value::as_f64),
            )
        })
        .collect()
}

/// A plain forward becomes a weighted one (90/10, 50/50, 0/100) and plain
/// again, each by ModifyListener on the same listener (the plan keeps it),
/// each read back as configured (the next plan is empty), the weights
/// those the read reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_moves_between_plain_and_weighted_forwards_in_place() {
    let Some(endpoint) = moto_endpoint() else { return };
    let stack = unique_stack("weighted");
    let p = &provider_at(&stack, &endpoint).await;
    let net = Network::create(p, &stack, "10.21").await;
    let suffix = std::process::id();
    let stable = target_group(p, &stack, &net, &format!("stable{suffix}")).await;
    let canary = target_group(p, &stack, &net, &format!("canary{suffix}")).await;
    let lb_config = obj(&[
        ("name", s(&format!("weighted{suffix}"))),
        ("load_balancer_type", s("application")),
        ("subnets", net.subnet_ids()),
        ("security_groups", Value::List(vec![s(&net.group.id)])),
    ]);
    let lb = p.create(&ctx(&stack, "aws_lb", "lb"), &full_config(p, "aws_lb", &lb_config)).await.expect("lb");
    let listener = |actions: Value| {
        full_config(
            p,
            "aws_lb_listener",
            &obj(&[
                ("load_balancer_arn", s(&lb.id)),
                ("port", n(80.0)),
                ("protocol", s("HTTP")),
                ("default_action", actions),
            ]),
        )
    };
    let at = ctx(&stack, "aws_lb_listener", "front");
    let mut state = p.create(&at, &listener(plain(&stable.id))).await.expect("listener");
    assert_eq!(weights_of(&state), vec![(stable.id.clone(), None)]);
    assert_no_change(p, &at, &state, &listener(plain(&stable.id)));
    let id = state.id.clone();

    for (stable_weight, canary_weight) in [(90.0, 10.0), (50.0, 50.0), (0.0, 100.0)] {
        let config = listener(weighted(&[(&stable.id, stable_weight), (&canary.id, canary_weight)]));
        assert!(plan_keeps(p, &at, &state, &config), "a weight change is planned in place");
        state = p.update(&at, &state, &config).await.expect("ModifyListener");
        assert_eq!(state.id, id, "the same listener");
        assert_eq!(
            weights_of(&state),
            vec![(stable.id.clone(), Some(stable_weight)), (canary.id.clone(), Some(canary_weight))]
        );
        // A fresh read (not the update's) also matches: the plan is empty.
        let read = p.read(&at, &state).await.expect("read").expect("listener exists");
        assert_no_change(p, &at, &read, &config);
    }

    let config = listener(plain(&stable.id));
    assert!(plan_keeps(p, &at, &state, &config));
    state = p.update(&at, &state, &config).await.expect("ModifyListener");
    assert_eq!(state.id, id);
    assert_eq!(weights_of(&state), vec![(stable.id.clone(), None)]);
    let read = p.read(&at, &state).await.expect("read").expect("listener exists");
    assert_no_change(p, &at, &read, &config);

    p.delete(&at, &state).await.expect("delete listener");
    p.delete(&ctx(&stack, "aws_lb", "lb"), &lb).await.expect("delete lb");
    for group in [&stable, &canary] {
        p.delete(&ctx(&stack, "aws_lb_target_group", "tg"), group).await.expect("delete tg");
    }
}

/// `scripts/aws-check.py` with the venv's boto3, straight against moto.
fn check(endpoint: &str, args: &[&str]) -> String {
    let venv = std::env::var("STACKC_TEST_VENV")
        .expect("STACKC_TEST_VENV (scripts/test sets it) for the boto3 checker");
    let output = Command::new(format!("{venv}/bin/python"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/aws-check.py"))
        .args(["--endpoint", endpoint, "--region", REGION])
        .args(args)
        .output()
        .expect("python runs");
    assert!(output.status.success(), "aws-check.py {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The health of an ECS service behind a target group as the gate sees it:
/// a service whose tasks do not run yet (moto without
/// MOTO_ECS_SERVICE_RUNNING starts none) is Starting; scaled (moto then runs
/// the desired count) it is Healthy; a stopped target registered in its
/// group makes it Unhealthy with the target's reason; deleted, Missing. Its
/// task definition is healthy while registered, missing once deregistered;
/// objects of other types have no health here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ecs_service_behind_a_target_group_is_starting_healthy_unhealthy_then_missing() {
    let Some(endpoint) = moto_endpoint() else { return };
    let stack = unique_stack("health");
    let p = &provider_at(&stack, &endpoint).await;
    let net = Network::create(p, &stack, "10.22").await;
    let suffix = std::process::id();
    let group = target_group(p, &stack, &net, &format!("health{suffix}")).await;
    let cluster = p
        .create(
            &ctx(&stack, "aws_ecs_cluster", "cluster"),
            &full_config(p, "aws_ecs_cluster", &obj(&[("name", s(&format!("health{suffix}")))])),
        )
        .await
        .expect("cluster");
    let containers = serde_json::json!([{"name": "api", "image": "api:2", "essential": true,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}])
    .to_string();
    let td = p
        .create(
            &ctx(&stack, "aws_ecs_task_definition", "td"),
            &full_config(
                p,
                "aws_ecs_task_definition",
                &obj(&[
                    ("family", s(&format!("health{suffix}"))),
                    ("container_definitions", s(&containers)),
                    ("cpu", s("256")),
                    ("memory", s("512")),
                    ("network_mode", s("awsvpc")),
                    ("requires_compatibilities", strings(&["FARGATE"])),
                ]),
            ),
        )
        .await
        .expect("task definition");
    let service = |count: f64| {
        full_config(
            p,
            "aws_ecs_service",
            &obj(&[
                ("name", s("api-canary")),
                ("cluster", s(&cluster.id)),
                ("task_definition", s(&td.id)),
                ("desired_count", n(count)),
                ("launch_type", s("FARGATE")),
                (
                    "network_configuration",
                    obj(&[("subnets", net.subnet_ids()), ("security_groups", strings(&[&net.group.id]))]),
                ),
                (
                    "load_balancer",
                    Value::List(vec![obj(&[
                        ("target_group_arn", s(&group.id)),
                        ("container_name", s("api")),
                        ("container_port", n(8080.0)),
                    ])]),
                ),
            ]),
        )
    };
    let at = ctx(&stack, "aws_ecs_service", "service.api/aws_ecs_service.canary[0]");
    let created = p.create(&at, &service(2.0)).await.expect("service");

    let health = p.health(&at, &created).await.expect("health");
    let detail = health.detail.clone().unwrap_or_default();
    if health.status == HealthStatus::Healthy {
        // A moto started with MOTO_ECS_SERVICE_RUNNING >= 2 runs them at once.
        assert!(detail.contains("tasks running"), "{detail}");
    } else {
        assert_eq!(health.status, HealthStatus::Starting, "{health:?}");
        assert!(detail.starts_with("0 of 2 tasks running, 2 pending"), "{detail}");
    }

    let scaled = p.update(&at, &created, &service(3.0)).await.expect("scale");
    let health = p.health(&at, &scaled).await.expect("health");
    assert_eq!(health.status, HealthStatus::Healthy, "{health:?}");
    assert!(health.detail.as_deref().unwrap_or_default().starts_with("3 of 3 tasks running"), "{health:?}");

    let stopped = check(&endpoint, &["stop-target", &group.id]);
    let instance: serde_json::Value = serde_json::from_str(stopped.trim()).expect("JSON");
    let health = p.health(&at, &scaled).await.expect("health");
    assert_eq!(health.status, HealthStatus::Unhealthy, "{health:?}");
    let detail = health.detail.unwrap_or_default();
    assert!(detail.contains(instance["instance"].as_str().unwrap()), "{detail}");
    assert!(detail.contains("Target.InvalidState: Target is in the stopped state"), "{detail}");

    // A task definition: registered is healthy. Other types: no health.
    let definition = p.health(&ctx(&stack, "aws_ecs_task_definition", "td"), &td).await.expect("health");
    assert_eq!(definition.status, HealthStatus::Healthy, "{definition:?}");
    let error = p.health(&ctx(&stack, "aws_lb_target_group", "tg"), &group).await.expect_err("no health");
    assert_eq!(error.code.as_deref(), Some("HealthNotSupported"));

    p.delete(&at, &scaled).await.expect("delete service");
    let health = p.health(&at, &scaled).await.expect("health");
    assert_eq!(health.status, HealthStatus::Missing, "{health:?}");
    p.delete(&ctx(&stack, "aws_ecs_task_definition", "td"), &td).await.expect("deregister");
    let definition = p.health(&ctx(&stack, "aws_ecs_task_definition", "td"), &td).await.expect("health");
    assert_eq!(definition.status, HealthStatus::Missing, "{definition:?}");
    check(&endpoint, &["terminate", instance["instance"].as_str().unwrap()]);
}
