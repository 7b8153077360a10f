//! Acceptance tests per resource type against moto, through the Provider
//! trait: create, read, empty plan, update in place, replacement, import,
//! delete, and deletion behind stackc's back (see `support::Acceptance`).

mod support;

use stackc_model::Value;
use stackc_provider_aws::AwsProvider;
use stackc_providers::{ObjectState, Provider};
use support::*;

/// Objects the dependent types need: a VPC with two subnets and a group.
struct Network {
    vpc: ObjectState,
    subnets: Vec<ObjectState>,
    group: ObjectState,
    stack: String,
}

impl Network {
    async fn create(p: &AwsProvider, stack: &str, cidr: &str) -> Network {
        let vpc = p
            .create(
                &ctx(stack, "aws_vpc", "fixture.vpc"),
                &full_config(p, "aws_vpc", &obj(&[("cidr_block", s(cidr))])),
            )
            .await
            .expect("vpc");
        let prefix = cidr.rsplit_once(".0.0/16").map(|(p, _)| p.to_string()).expect("a /16");
        let mut subnets = Vec::new();
        for (i, zone) in ["a", "b"].iter().enumerate() {
            let config = obj(&[
                ("vpc_id", s(&vpc.id)),
                ("cidr_block", s(&format!("{prefix}.{i}.0/24"))),
                ("availability_zone", s(&format!("{REGION}{zone}"))),
            ]);
            let address = format!("fixture.subnet[{i}]");
            subnets.push(
                p.create(&ctx(stack, "aws_subnet", &address), &full_config(p, "aws_subnet", &config))
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
        Network { vpc, subnets, group, stack: stack.to_string() }
    }

    async fn delete(self, p: &AwsProvider) {
        p.delete(&ctx(&self.stack, "aws_security_group", "fixture.sg"), &self.group)
            .await
            .expect("delete group");
        for subnet in &self.subnets {
            p.delete(&ctx(&self.stack, "aws_subnet", "fixture.subnet"), subnet).await.expect("delete subnet");
        }
        p.delete(&ctx(&self.stack, "aws_vpc", "fixture.vpc"), &self.vpc).await.expect("delete vpc");
    }
}

macro_rules! moto_test {
    ($name:ident, |$p:ident, $stack:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(endpoint) = moto_endpoint() else { return };
            let $stack = unique_stack(stringify!($name));
            let provider = provider_at(&$stack, &endpoint).await;
            let $p = &provider;
            $body
        }
    };
}

moto_test!(vpc, |p, stack| {
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_vpc",
        config: obj(&[
            ("cidr_block", s("10.1.0.0/16")),
            ("enable_dns_support", Value::Bool(true)),
            ("tags", obj(&[("Name", s("a"))])),
        ]),
        update: Some(obj(&[
            ("cidr_block", s("10.1.0.0/16")),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
            ("tags", obj(&[("Name", s("b")), ("team", s("x"))])),
        ])),
        replace: Some(obj(&[("cidr_block", s("10.2.0.0/16"))])),
        import_ignores: &[],
    }
    .run()
    .await;
});

moto_test!(subnet, |p, stack| {
    let net = Network::create(p, &stack, "10.3.0.0/16").await;
    let config = |cidr: &str, public: bool| {
        obj(&[
            ("vpc_id", s(&net.vpc.id)),
            ("cidr_block", s(cidr)),
            ("availability_zone", s("eu-west-3a")),
            ("map_public_ip_on_launch", Value::Bool(public)),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_subnet",
        config: config("10.3.10.0/24", false),
        update: Some(config("10.3.10.0/24", true)),
        replace: Some(config("10.3.11.0/24", true)),
        import_ignores: &[],
    }
    .run()
    .await;
    net.delete(p).await;
});

moto_test!(internet_gateway_and_routes, |p, stack| {
    let net = Network::create(p, &stack, "10.4.0.0/16").await;
    let other = Network::create(p, &format!("{stack}-b"), "10.5.0.0/16").await;
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_internet_gateway",
        config: obj(&[("vpc_id", s(&net.vpc.id))]),
        update: Some(obj(&[("vpc_id", s(&other.vpc.id)), ("tags", obj(&[("Name", s("gw"))]))])),
        replace: None,
        import_ignores: &[],
    }
    .run()
    .await;

    // A route table with a route through a gateway, and its associations.
    let gateway = p
        .create(
            &ctx(&stack, "aws_internet_gateway", "gw"),
            &full_config(p, "aws_internet_gateway", &obj(&[("vpc_id", s(&net.vpc.id))])),
        )
        .await
        .expect("gateway");
    let route = |cidr: &str| obj(&[("cidr_block", s(cidr)), ("gateway_id", s(&gateway.id))]);
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_route_table",
        config: obj(&[("vpc_id", s(&net.vpc.id)), ("route", Value::List(vec![route("0.0.0.0/0")]))]),
        update: Some(obj(&[
            ("vpc_id", s(&net.vpc.id)),
            ("route", Value::List(vec![route("0.0.0.0/0"), route("192.168.0.0/16")])),
        ])),
        replace: Some(obj(&[("vpc_id", s(&other.vpc.id))])),
        import_ignores: &[],
    }
    .run()
    .await;

    let table = |vpc: &str, address: &str| {
        let config = full_config(p, "aws_route_table", &obj(&[("vpc_id", s(vpc))]));
        let ctx = ctx(&stack, "aws_route_table", address);
        async move { p.create(&ctx, &config).await.expect("table") }
    };
    let first = table(&net.vpc.id, "t1").await;
    let second = table(&net.vpc.id, "t2").await;
    let third_subnet = &net.subnets[1];
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_route_table_association",
        config: obj(&[("subnet_id", s(&net.subnets[0].id)), ("route_table_id", s(&first.id))]),
        update: Some(obj(&[("subnet_id", s(&net.subnets[0].id)), ("route_table_id", s(&second.id))])),
        replace: Some(obj(&[("subnet_id", s(&third_subnet.id)), ("route_table_id", s(&second.id))])),
        import_ignores: &[],
    }
    .run()
    .await;
    for t in [&first, &second] {
        p.delete(&ctx(&stack, "aws_route_table", "t"), t).await.expect("delete table");
    }
    p.delete(&ctx(&stack, "aws_internet_gateway", "gw"), &gateway).await.expect("delete gateway");
    net.delete(p).await;
    other.delete(p).await;
});

moto_test!(security_group, |p, stack| {
    let net = Network::create(p, &stack, "10.6.0.0/16").await;
    let rule = |from: f64, to: f64, protocol: &str, cidrs: &[&str]| {
        obj(&[
            ("from_port", n(from)),
            ("to_port", n(to)),
            ("protocol", s(protocol)),
            ("cidr_blocks", strings(cidrs)),
        ])
    };
    let everything = rule(0.0, 0.0, "-1", &["0.0.0.0/0"]);
    let config = |name: &str, ingress: Vec<Value>| {
        obj(&[
            ("name", s(name)),
            ("description", s("acceptance")),
            ("vpc_id", s(&net.vpc.id)),
            ("ingress", Value::List(ingress)),
            ("egress", Value::List(vec![everything.clone()])),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_security_group",
        config: config("web", vec![rule(80.0, 80.0, "tcp", &["0.0.0.0/0"])]),
        update: Some(config(
            "web",
            vec![
                rule(80.0, 80.0, "tcp", &["0.0.0.0/0"]),
                rule(443.0, 443.0, "tcp", &["10.0.0.0/8", "0.0.0.0/0"]),
            ],
        )),
        replace: Some(config("web2", vec![])),
        import_ignores: &[],
    }
    .run()
    .await;

    // Drift: a rule removed and another added behind stackc's back is
    // seen by refresh, planned as an in-place update, and put back.
    let wanted = full_config(
        p,
        "aws_security_group",
        &config("drift", vec![rule(443.0, 443.0, "tcp", &["0.0.0.0/0"])]),
    );
    let c = ctx(&stack, "aws_security_group", "drift");
    let state = p.create(&c, &wanted).await.expect("group");
    let other = provider_at("someone-else", &endpoint_of()).await;
    let tampered =
        full_config(p, "aws_security_group", &config("drift", vec![rule(22.0, 22.0, "tcp", &["0.0.0.0/0"])]));
    other.update(&c, &state, &tampered).await.expect("out-of-band change");
    let drifted = p.read(&c, &state).await.expect("read").expect("exists");
    assert_ne!(
        drifted.attributes.get_path(&["ingress"]),
        state.attributes.get_path(&["ingress"]),
        "drift not seen"
    );
    assert!(plan_keeps(p, &c, &drifted, &wanted), "rules change in place");
    let planned = p.plan(&c, Some(&drifted), &wanted).expect("plan");
    assert_eq!(planned.get_path(&["ingress"]), wanted.get_path(&["ingress"]));
    let fixed = p.update(&c, &drifted, &wanted).await.expect("update");
    assert_no_change(p, &c, &fixed, &wanted);
    assert_eq!(fixed.attributes.get_path(&["ingress"]), state.attributes.get_path(&["ingress"]));
    p.delete(&c, &fixed).await.expect("delete");

    // Left out, the description and egress take AWS's defaults and the
    // next plan stays empty (no replacement).
    let bare = full_config(p, "aws_security_group", &obj(&[("name", s("bare")), ("vpc_id", s(&net.vpc.id))]));
    let c = ctx(&stack, "aws_security_group", "bare");
    let state = p.create(&c, &bare).await.expect("group");
    assert_no_change(p, &c, &state, &bare);
    p.delete(&c, &state).await.expect("delete");
    net.delete(p).await;
});

moto_test!(instance_volume_and_attachment, |p, stack| {
    let net = Network::create(p, &stack, "10.7.0.0/16").await;
    let instance = |kind: &str, ami: &str| {
        obj(&[
            ("ami", s(ami)),
            ("instance_type", s(kind)),
            ("subnet_id", s(&net.subnets[0].id)),
            ("vpc_security_group_ids", Value::List(vec![s(&net.group.id)])),
            ("user_data", s("#!/bin/sh\necho hello\n")),
            ("tags", obj(&[("Name", s("db-0"))])),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_instance",
        config: instance("t3.micro", "ami-12c6146b"),
        update: Some(instance("t3.small", "ami-12c6146b")),
        replace: Some(instance("t3.small", "ami-1e749f67")),
        import_ignores: &[],
    }
    .run()
    .await;

    let volume = |size: f64, zone: &str| {
        obj(&[
            ("availability_zone", s(zone)),
            ("size", n(size)),
            ("type", s("gp3")),
            ("encrypted", Value::Bool(true)),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_ebs_volume",
        config: volume(20.0, "eu-west-3a"),
        update: Some(volume(30.0, "eu-west-3a")),
        replace: Some(volume(30.0, "eu-west-3b")),
        import_ignores: &[],
    }
    .run()
    .await;

    let vm = p
        .create(
            &ctx(&stack, "aws_instance", "vm"),
            &full_config(p, "aws_instance", &instance("t3.micro", "ami-12c6146b")),
        )
        .await
        .expect("vm");
    let disk = |a: &str| {
        let config = full_config(p, "aws_ebs_volume", &volume(10.0, "eu-west-3a"));
        let ctx = ctx(&stack, "aws_ebs_volume", a);
        async move { p.create(&ctx, &config).await.expect("volume") }
    };
    let (first, second) = (disk("d1").await, disk("d2").await);
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_volume_attachment",
        config: obj(&[
            ("device_name", s("/dev/sdf")),
            ("instance_id", s(&vm.id)),
            ("volume_id", s(&first.id)),
        ]),
        update: None,
        replace: Some(obj(&[
            ("device_name", s("/dev/sdg")),
            ("instance_id", s(&vm.id)),
            ("volume_id", s(&second.id)),
        ])),
        import_ignores: &[],
    }
    .run()
    .await;
    for d in [&first, &second] {
        p.delete(&ctx(&stack, "aws_ebs_volume", "d"), d).await.expect("delete volume");
    }
    p.delete(&ctx(&stack, "aws_instance", "vm"), &vm).await.expect("delete vm");
    net.delete(p).await;
});

moto_test!(load_balancer_target_group_listener, |p, stack| {
    let net = Network::create(p, &stack, "10.8.0.0/16").await;
    let subnets: Vec<Value> = net.subnets.iter().map(|s| Value::string(&s.id)).collect();
    let lb = |name: &str, tags: &[(&str, Value)]| {
        obj(&[
            ("name", s(name)),
            ("load_balancer_type", s("application")),
            ("subnets", Value::List(subnets.clone())),
            ("security_groups", Value::List(vec![s(&net.group.id)])),
            ("tags", obj(tags)),
        ])
    };
    let lb_name = format!("lb{}", std::process::id());
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_lb",
        config: lb(&lb_name, &[("a", s("1"))]),
        update: Some(lb(&lb_name, &[("a", s("2"))])),
        replace: Some(lb(&format!("{lb_name}b"), &[])),
        import_ignores: &[],
    }
    .run()
    .await;

    let tg = |name: &str, path: &str| {
        obj(&[
            ("name", s(name)),
            ("port", n(8080.0)),
            ("protocol", s("HTTP")),
            ("vpc_id", s(&net.vpc.id)),
            ("target_type", s("ip")),
            ("health_check", obj(&[("path", s(path)), ("interval", n(30.0))])),
        ])
    };
    let tg_name = format!("tg{}", std::process::id());
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_lb_target_group",
        config: tg(&tg_name, "/"),
        update: Some(tg(&tg_name, "/healthz")),
        replace: Some(tg(&format!("{tg_name}b"), "/healthz")),
        import_ignores: &[],
    }
    .run()
    .await;

    let balancer = p
        .create(&ctx(&stack, "aws_lb", "lb"), &full_config(p, "aws_lb", &lb(&format!("{lb_name}c"), &[])))
        .await
        .expect("lb");
    let group = p
        .create(
            &ctx(&stack, "aws_lb_target_group", "tg"),
            &full_config(p, "aws_lb_target_group", &tg(&format!("{tg_name}c"), "/")),
        )
        .await
        .expect("tg");
    let listener = |port: f64, lb: &str| {
        obj(&[
            ("load_balancer_arn", s(lb)),
            ("port", n(port)),
            ("protocol", s("HTTP")),
            (
                "default_action",
                Value::List(vec![obj(&[("type", s("forward")), ("target_group_arn", s(&group.id))])]),
            ),
        ])
    };
    let other = p
        .create(&ctx(&stack, "aws_lb", "lb2"), &full_config(p, "aws_lb", &lb(&format!("{lb_name}d"), &[])))
        .await
        .expect("lb2");
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_lb_listener",
        config: listener(80.0, &balancer.id),
        update: Some(listener(8080.0, &balancer.id)),
        replace: Some(listener(8080.0, &other.id)),
        import_ignores: &["tags"],
    }
    .run()
    .await;
    // Rules of a listener.
    let front = p
        .create(
            &ctx(&stack, "aws_lb_listener", "front"),
            &full_config(p, "aws_lb_listener", &listener(80.0, &balancer.id)),
        )
        .await
        .expect("listener");
    let forward = Value::List(vec![obj(&[("type", s("forward")), ("target_group_arn", s(&group.id))])]);
    let rule = |listener: &str, priority: f64, path: &str| {
        obj(&[
            ("listener_arn", s(listener)),
            ("priority", n(priority)),
            ("action", forward.clone()),
            ("condition", Value::List(vec![obj(&[("path_pattern", obj(&[("values", strings(&[path]))]))])])),
        ])
    };
    let back = p
        .create(
            &ctx(&stack, "aws_lb_listener", "back"),
            &full_config(p, "aws_lb_listener", &listener(8081.0, &balancer.id)),
        )
        .await
        .expect("listener");
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_lb_listener_rule",
        config: rule(&front.id, 10.0, "/api/*"),
        update: Some(rule(&front.id, 20.0, "/v2/*")),
        replace: Some(rule(&back.id, 20.0, "/v2/*")),
        import_ignores: &["tags"],
    }
    .run()
    .await;
    for l in [&front, &back] {
        p.delete(&ctx(&stack, "aws_lb_listener", "l"), l).await.expect("delete listener");
    }
    p.delete(&ctx(&stack, "aws_lb", "lb"), &balancer).await.expect("delete lb");
    p.delete(&ctx(&stack, "aws_lb", "lb2"), &other).await.expect("delete lb2");
    p.delete(&ctx(&stack, "aws_lb_target_group", "tg"), &group).await.expect("delete tg");
    net.delete(p).await;
});

const ASSUME_ECS_TASKS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#;

moto_test!(iam_role, |p, stack| {
    let name = format!("role-{}", std::process::id());
    let role = |name: &str, policies: &[&str]| {
        obj(&[
            ("name", s(name)),
            ("assume_role_policy", s(ASSUME_ECS_TASKS)),
            ("managed_policy_arns", strings(policies)),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_iam_role",
        config: role(&name, &["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]),
        update: Some(role(&name, &[])),
        replace: Some(role(&format!("{name}-b"), &[])),
        import_ignores: &[],
    }
    .run()
    .await;
});

moto_test!(ecs_cluster_task_definition_service, |p, stack| {
    let net = Network::create(p, &stack, "10.9.0.0/16").await;
    let cluster_name = format!("c{}", std::process::id());
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_ecs_cluster",
        config: obj(&[("name", s(&cluster_name))]),
        update: Some(obj(&[("name", s(&cluster_name)), ("tags", obj(&[("team", s("x"))]))])),
        replace: Some(obj(&[("name", s(&format!("{cluster_name}b")))])),
        import_ignores: &[],
    }
    .run()
    .await;

    let containers = |image: &str| {
        serde_json::json!([{"name": "api", "image": image, "essential": true, "command": null,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}], "environment": [{"name": "A", "value": "1"}], "secrets": []}])
        .to_string()
    };
    let family = format!("api{}", std::process::id());
    let task = |image: &str, tags: &[(&str, Value)]| {
        obj(&[
            ("family", s(&family)),
            ("container_definitions", s(&containers(image))),
            ("cpu", s("256")),
            ("memory", s("512")),
            ("network_mode", s("awsvpc")),
            ("requires_compatibilities", strings(&["FARGATE"])),
            ("tags", obj(tags)),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_ecs_task_definition",
        config: task("api:1", &[]),
        update: Some(task("api:1", &[("v", s("1"))])),
        replace: Some(task("api:2", &[])),
        import_ignores: &[],
    }
    .run()
    .await;

    let cluster = p
        .create(
            &ctx(&stack, "aws_ecs_cluster", "cluster"),
            &full_config(p, "aws_ecs_cluster", &obj(&[("name", s(&cluster_name))])),
        )
        .await
        .expect("cluster");
    let td = p
        .create(
            &ctx(&stack, "aws_ecs_task_definition", "td"),
            &full_config(p, "aws_ecs_task_definition", &task("api:1", &[])),
        )
        .await
        .expect("td");
    let service = |name: &str, count: f64| {
        obj(&[
            ("name", s(name)),
            ("cluster", s(&cluster.id)),
            ("task_definition", s(&td.id)),
            ("desired_count", n(count)),
            ("launch_type", s("FARGATE")),
            (
                "network_configuration",
                obj(&[
                    ("subnets", Value::List(net.subnets.iter().map(|s| Value::string(&s.id)).collect())),
                    ("security_groups", strings(&[&net.group.id])),
                    ("assign_public_ip", Value::Bool(true)),
                ]),
            ),
            ("deployment_minimum_healthy_percent", n(100.0)),
            ("deployment_maximum_percent", n(200.0)),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_ecs_service",
        config: service("api", 2.0),
        update: Some(service("api", 4.0)),
        replace: Some(service("api2", 4.0)),
        // moto does not report deploymentConfiguration (AWS does).
        import_ignores: &["deployment_minimum_healthy_percent", "deployment_maximum_percent"],
    }
    .run()
    .await;

    // Scaling of the service.
    let resource_id = format!("service/{cluster_name}/scaled");
    let svc = p
        .create(
            &ctx(&stack, "aws_ecs_service", "svc"),
            &full_config(p, "aws_ecs_service", &service("scaled", 2.0)),
        )
        .await
        .expect("service");
    let other_svc = p
        .create(
            &ctx(&stack, "aws_ecs_service", "svc2"),
            &full_config(p, "aws_ecs_service", &service("other", 2.0)),
        )
        .await
        .expect("service");
    let target = |min: f64, max: f64, id: &str| {
        obj(&[
            ("service_namespace", s("ecs")),
            ("resource_id", s(id)),
            ("scalable_dimension", s("ecs:service:DesiredCount")),
            ("min_capacity", n(min)),
            ("max_capacity", n(max)),
        ])
    };
    let other_id = format!("service/{cluster_name}/other");
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_appautoscaling_target",
        config: target(2.0, 4.0, &resource_id),
        update: Some(target(2.0, 8.0, &resource_id)),
        replace: Some(target(2.0, 8.0, &other_id)),
        import_ignores: &[],
    }
    .run()
    .await;
    let registered = p
        .create(
            &ctx(&stack, "aws_appautoscaling_target", "t"),
            &full_config(p, "aws_appautoscaling_target", &target(2.0, 4.0, &resource_id)),
        )
        .await
        .expect("target");
    let policy = |name: &str, value: f64| {
        obj(&[
            ("name", s(name)),
            ("policy_type", s("TargetTrackingScaling")),
            ("service_namespace", s("ecs")),
            ("resource_id", s(&resource_id)),
            ("scalable_dimension", s("ecs:service:DesiredCount")),
            (
                "target_tracking_scaling_policy_configuration",
                obj(&[
                    ("target_value", n(value)),
                    (
                        "predefined_metric_specification",
                        obj(&[("predefined_metric_type", s("ECSServiceAverageCPUUtilization"))]),
                    ),
                ]),
            ),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_appautoscaling_policy",
        config: policy("cpu", 70.0),
        update: Some(policy("cpu", 60.0)),
        replace: Some(policy("cpu2", 60.0)),
        import_ignores: &[],
    }
    .run()
    .await;
    // Memory target tracking, with the cooldowns the stdlib sets from the
    // autoscale windows.
    let memory = |name: &str, value: f64, scale_in: f64| {
        obj(&[
            ("name", s(name)),
            ("policy_type", s("TargetTrackingScaling")),
            ("service_namespace", s("ecs")),
            ("resource_id", s(&resource_id)),
            ("scalable_dimension", s("ecs:service:DesiredCount")),
            (
                "target_tracking_scaling_policy_configuration",
                obj(&[
                    ("target_value", n(value)),
                    (
                        "predefined_metric_specification",
                        obj(&[("predefined_metric_type", s("ECSServiceAverageMemoryUtilization"))]),
                    ),
                    ("scale_in_cooldown", n(scale_in)),
                    ("scale_out_cooldown", n(0.0)),
                ]),
            ),
        ])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_appautoscaling_policy",
        config: memory("memory", 80.0, 120.0),
        update: Some(memory("memory", 70.0, 300.0)),
        replace: Some(memory("memory2", 70.0, 300.0)),
        import_ignores: &[],
    }
    .run()
    .await;
    p.delete(&ctx(&stack, "aws_appautoscaling_target", "t"), &registered).await.expect("delete target");
    p.delete(&ctx(&stack, "aws_ecs_service", "svc"), &svc).await.expect("delete service");
    p.delete(&ctx(&stack, "aws_ecs_service", "svc2"), &other_svc).await.expect("delete service");
    p.delete(&ctx(&stack, "aws_ecs_task_definition", "td"), &td).await.expect("delete td");
    p.delete(&ctx(&stack, "aws_ecs_cluster", "cluster"), &cluster).await.expect("delete cluster");
    net.delete(p).await;
});

moto_test!(ssm_parameter, |p, stack| {
    let name = format!("/stackc/{stack}/LOG_LEVEL");
    let parameter =
        |name: &str, value: &str| obj(&[("name", s(name)), ("type", s("String")), ("value", s(value))]);
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_ssm_parameter",
        config: parameter(&name, "info"),
        update: Some(parameter(&name, "debug")),
        replace: Some(parameter(&format!("{name}2"), "debug")),
        import_ignores: &[],
    }
    .run()
    .await;
});

moto_test!(secret_and_version, |p, stack| {
    let name = format!("stackc/{stack}/db");
    let secret = |name: &str, description: &str| {
        obj(&[("name", s(name)), ("description", s(description)), ("recovery_window_in_days", n(0.0))])
    };
    Acceptance {
        provider: p,
        stack: &stack,
        type_name: "aws_secretsmanager_secret",
        config: secret(&name, "a"),
        update: Some(secret(&name, "b")),
        replace: Some(secret(&format!("{name}2"), "b")),
        // Write-only: AWS does not report the recovery window.
        import_ignores: &["recovery_window_in_days"],
    }
    .run()
    .await;

    let holder = p
        .create(
            &ctx(&stack, "aws_secretsmanager_secret", "holder"),
            &full_config(p, "aws_secretsmanager_secret", &secret(&format!("{name}h"), "h")),
        )
        .await
        .expect("secret");
    let version = |value: &str| {
        obj(&[("secret_id", s(&holder.id)), ("secret_string", Value::string(value).into_sensitive())])
    };
    let version_ctx = ctx(&stack, "aws_secretsmanager_secret_version", "v");
    let state = p
        .create(&version_ctx, &full_config(p, "aws_secretsmanager_secret_version", &version("s3cret")))
        .await
        .expect("version");
    assert!(
        matches!(state.attributes.get_path(&["secret_string"]), Some(Value::Sensitive(_))),
        "value read back marked"
    );
    assert_eq!(p.read(&version_ctx, &state).await.expect("read"), Some(state.clone()));
    assert_no_change(
        p,
        &version_ctx,
        &state,
        &full_config(p, "aws_secretsmanager_secret_version", &version("s3cret")),
    );
    // A new value: in place, a new version.
    let changed = full_config(p, "aws_secretsmanager_secret_version", &version("other"));
    let planned = p.plan(&version_ctx, Some(&state), &changed).expect("plan");
    assert_eq!(planned.get_path(&["version_id"]), Some(&Value::Unknown), "a new value is a new version");
    assert!(
        matches!(planned.get_path(&["secret_string"]), Some(Value::Sensitive(_))),
        "planned value stays marked"
    );
    let updated = p.update(&version_ctx, &state, &changed).await.expect("update");
    assert_ne!(updated.id, state.id);
    assert_eq!(updated.attributes.get_path(&["secret_string"]).map(Value::unmarked), Some(s("other")));
    let imported = p.import(&version_ctx, &updated.id).await.expect("import").expect("found");
    assert_eq!(
        imported.attributes.get_path(&["secret_string"]),
        updated.attributes.get_path(&["secret_string"])
    );
    p.delete(&ctx(&stack, "aws_secretsmanager_secret", "holder"), &holder).await.expect("delete secret");
    assert_eq!(
        p.read(&ctx(&stack, "aws_secretsmanager_secret", "holder"), &holder).await.expect("read"),
        None
    );
});

/// Refresh batches: reading many objects of one type costs one Describe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_batches_describe_calls() {
    let Some(endpoint) = moto_endpoint() else { return };
    let stack = unique_stack("batch");
    let p = provider_at(&stack, &endpoint).await;
    let mut items = Vec::new();
    for i in 0..5 {
        let c = ctx(&stack, "aws_vpc", &format!("vpc[{i}]"));
        let state = p
            .create(
                &c,
                &full_config(&p, "aws_vpc", &obj(&[("cidr_block", s(&format!("10.{}.0.0/16", 20 + i)))])),
            )
            .await
            .expect("vpc");
        items.push((c, state));
    }
    let before = p.api_calls_by_action();
    let read = p.read_many(&items).await;
    let after = p.api_calls_by_action();
    assert!(read.iter().all(|r| matches!(r, Ok(Some(_)))));
    let describes = after.get("ec2:DescribeVpcs").copied().unwrap_or(0)
        - before.get("ec2:DescribeVpcs").copied().unwrap_or(0);
    assert_eq!(describes, 1, "five VPCs in one DescribeVpcs call");
    for (c, state) in &items {
        p.delete(c, state).await.expect("delete");
    }
}

/// A delete that AWS refuses because another stack's object still uses
/// the object (a subnet of stack B in stack A's VPC) does not wait out the
/// ten-minute waiter: it fails after a few polls that see the same
/// blocker, naming it and its stack. Once the blocker is gone, the delete
/// goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_blocked_by_another_stacks_object_fails_soon_naming_it() {
    let Some(endpoint) = moto_endpoint() else { return };
    let (a, b) = (unique_stack("holder"), unique_stack("squatter"));
    let pa = provider_at(&a, &endpoint).await;
    let pb = provider_at(&b, &endpoint).await;
    let vpc_ctx = ctx(&a, "aws_vpc", "net/aws_vpc.main");
    let vpc = pa
        .create(&vpc_ctx, &full_config(&pa, "aws_vpc", &obj(&[("cidr_block", s("10.70.0.0/16"))])))
        .await
        .expect("vpc");
    let subnet_ctx = ctx(&b, "aws_subnet", "net/aws_subnet.other");
    let subnet = pb
        .create(
            &subnet_ctx,
            &full_config(
                &pb,
                "aws_subnet",
                &obj(&[("vpc_id", s(&vpc.id)), ("cidr_block", s("10.70.1.0/24"))]),
            ),
        )
        .await
        .expect("subnet");

    let started = std::time::Instant::now();
    let error = pa.delete(&vpc_ctx, &vpc).await.expect_err("the VPC is in use");
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(15), "waited {elapsed:?}");
    assert_eq!(error.code.as_deref(), Some("DependencyViolation"), "{error:?}");
    assert!(
        error.message.contains(&format!("{} (stack `{b}`, `net/aws_subnet.other`)", subnet.id)),
        "{}",
        error.message
    );

    pb.delete(&subnet_ctx, &subnet).await.expect("delete the subnet");
    pa.delete(&vpc_ctx, &vpc).await.expect("then the VPC");
}
