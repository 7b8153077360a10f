//! Faults: the provider against moto through a fault-injecting HTTP proxy
//! (throttling responses, connections reset before the request reaches the
//! server, responses lost after the server acted). Creating a whole stack's
//! worth of objects must still converge with exactly one object per
//! address, checked by an independent boto3 client straight against moto.

mod support;

use stackc_model::Value;
use stackc_provider_aws::AwsProvider;
use stackc_providers::{ObjectState, OperationContext, Provider};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use support::http::{read_request, Request};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Fault {
    Throttle,
    /// Closed before forwarding: the server never saw the request.
    Reset,
    /// Forwarded and served, then the connection closed without the answer.
    LoseResponse,
}

#[derive(Default)]
struct Ledger {
    /// Requests seen per action, to pick faults deterministically.
    seen: HashMap<String, usize>,
    injected: HashMap<Fault, usize>,
    forwarded: usize,
    /// `None`: every fault in turn ([`schedule`]); `Some`: lost responses
    /// at random ([`LossyFaults`]).
    lossy: Option<LossyFaults>,
}

/// Responses of mutating requests lost at random (after the server acted),
/// from a seeded generator; plus actions whose `n`th request always loses
/// its response, so the cases that matter happen on every run.
struct LossyFaults {
    percent: u64,
    state: u64,
    always: Vec<(&'static str, usize)>,
}

impl LossyFaults {
    fn pick(&mut self, action: &str, n: usize) -> Option<Fault> {
        if self.always.iter().any(|(a, k)| *a == action && *k == n) {
            return Some(Fault::LoseResponse);
        }
        if !mutating(action) {
            return None;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % 100 < self.percent).then_some(Fault::LoseResponse)
    }
}

fn mutating(action: &str) -> bool {
    ["Create", "Run", "Register", "Put", "Attach", "Associate", "Authorize"]
        .iter()
        .any(|p| action.starts_with(p))
}

/// Which fault, if any, the `n`th request (from 0) of `action` gets.
fn schedule(action: &str, n: usize) -> Option<Fault> {
    if mutating(action) {
        // Every mutating action meets each fault in turn, then passes.
        return [Some(Fault::Throttle), Some(Fault::Reset), Some(Fault::LoseResponse), None][n % 4];
    }
    (n % 4 == 1).then_some(Fault::Throttle)
}

/// Sends the request to moto on a fresh connection and returns the whole
/// response with `connection: close` (one request per client connection).
async fn forward(upstream: SocketAddr, request: &Request) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await.ok()?;
    let head: String = request
        .head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    server.write_all(format!("{head}connection: close\r\n\r\n").as_bytes()).await.ok()?;
    server.write_all(&request.body).await.ok()?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await.ok()?;
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")? + 2;
    let head = String::from_utf8_lossy(&response[..head_end]).to_string();
    let head: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    let mut out = format!("{head}connection: close\r\n").into_bytes();
    out.extend_from_slice(&response[head_end..]);
    Some(out)
}

fn throttling_response(json: bool) -> Vec<u8> {
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        )
    } else {
        (
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
                .to_string(),
        )
    };
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, ledger: Arc<Mutex<Ledger>>) {
    let Some(request) = read_request(&mut client).await else { return };
    let action = request.action();
    let fault = {
        let mut ledger = ledger.lock().unwrap();
        let n = ledger.seen.entry(action.clone()).or_default();
        let k = *n;
        *n += 1;
        let fault = match ledger.lossy.as_mut() {
            Some(lossy) => lossy.pick(&action, k),
            None => schedule(&action, k),
        };
        if let Some(fault) = fault {
            *ledger.injected.entry(fault).or_default() += 1;
        } else {
            ledger.forwarded += 1;
        }
        fault
    };
    match fault {
        Some(Fault::Throttle) => {
            let _ = client.write_all(&throttling_response(request.header("x-amz-target").is_some())).await;
        }
        Some(Fault::Reset) => drop(client),
        Some(Fault::LoseResponse) => {
            let _ = forward(upstream, &request).await;
            drop(client);
        }
        None => {
            if let Some(response) = forward(upstream, &request).await {
                let _ = client.write_all(&response).await;
            }
        }
    }
}

/// Starts the proxy; it runs until the test's runtime ends.
async fn start_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Ledger>>) {
    start_proxy_with(upstream, None).await
}

async fn start_proxy_with(
    upstream: SocketAddr,
    lossy: Option<LossyFaults>,
) -> (SocketAddr, Arc<Mutex<Ledger>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let ledger = Arc::new(Mutex::new(Ledger { lossy, ..Ledger::default() }));
    let shared = ledger.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, upstream, shared.clone()));
        }
    });
    (address, ledger)
}

/// Objects carrying `stackc:stack=stack`, by address, from boto3.
fn owned_by_address(endpoint: &str, stack: &str) -> HashMap<String, Vec<String>> {
    let venv = std::env::var("STACKC_TEST_VENV")
        .expect("STACKC_TEST_VENV (scripts/test sets it) for the boto3 checker");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/aws-check.py");
    let output = std::process::Command::new(format!("{venv}/bin/python"))
        .args([script, "--endpoint", endpoint, "owned", stack])
        .output()
        .expect("run aws-check.py");
    assert!(output.status.success(), "aws-check.py: {}", String::from_utf8_lossy(&output.stderr));
    let mut by_address: HashMap<String, Vec<String>> = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let object: serde_json::Value = serde_json::from_str(line).expect("json line");
        let address = object["address"].as_str().unwrap_or("?").to_string();
        by_address.entry(address).or_default().push(object["id"].as_str().unwrap_or("?").to_string());
    }
    by_address
}

struct Made {
    ctx: OperationContext,
    state: ObjectState,
}

async fn make(
    p: &AwsProvider,
    stack: &str,
    made: &mut Vec<Made>,
    type_name: &str,
    address: &str,
    config: Value,
) -> ObjectState {
    let ctx = ctx(stack, type_name, address);
    let state = p
        .create(&ctx, &full_config(p, type_name, &config))
        .await
        .unwrap_or_else(|e| panic!("{address}: create through faults failed: {e:?}"));
    made.push(Made { ctx, state: state.clone() });
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_converge_through_faults_without_duplicates() {
    let Some(endpoint) = moto_endpoint() else { return };
    let upstream: SocketAddr =
        endpoint.trim_start_matches("http://").trim_end_matches('/').parse().expect("moto address");
    let (proxy, ledger) = start_proxy(upstream).await;
    let stack = unique_stack("faults");
    let p = AwsProvider::new(test_config(&stack, &format!("http://{proxy}"))).await.expect("provider");
    let mut made = Vec::new();
    let m = &mut made;
    let st = stack.as_str();
    let p = &p;

    let vpc = make(
        p,
        st,
        m,
        "aws_vpc",
        "net/aws_vpc.main",
        obj(&[("cidr_block", s("10.40.0.0/16")), ("enable_dns_hostnames", Value::Bool(true))]),
    )
    .await;
    let gateway = make(
        p,
        st,
        m,
        "aws_internet_gateway",
        "net/aws_internet_gateway.main",
        obj(&[("vpc_id", s(&vpc.id))]),
    )
    .await;
    let table = make(
        p,
        st,
        m,
        "aws_route_table",
        "net/aws_route_table.public",
        obj(&[
            ("vpc_id", s(&vpc.id)),
            (
                "route",
                Value::List(vec![obj(&[("cidr_block", s("0.0.0.0/0")), ("gateway_id", s(&gateway.id))])]),
            ),
        ]),
    )
    .await;
    let mut subnets = Vec::new();
    for (i, zone) in ["a", "b"].iter().enumerate() {
        let subnet = make(
            p,
            st,
            m,
            "aws_subnet",
            &format!("net/aws_subnet.zone[{i}]"),
            obj(&[
                ("vpc_id", s(&vpc.id)),
                ("cidr_block", s(&format!("10.40.{i}.0/24"))),
                ("availability_zone", s(&format!("{REGION}{zone}"))),
                ("map_public_ip_on_launch", Value::Bool(true)),
            ]),
        )
        .await;
        make(
            p,
            st,
            m,
            "aws_route_table_association",
            &format!("net/aws_route_table_association.zone[{i}]"),
            obj(&[("subnet_id", s(&subnet.id)), ("route_table_id", s(&table.id))]),
        )
        .await;
        subnets.push(subnet);
    }
    let any = obj(&[
        ("from_port", n(0.0)),
        ("to_port", n(0.0)),
        ("protocol", s("-1")),
        ("cidr_blocks", strings(&["0.0.0.0/0"])),
    ]);
    let group = make(
        p,
        st,
        m,
        "aws_security_group",
        "net/aws_security_group.internal",
        obj(&[
            ("name", s("internal")),
            ("vpc_id", s(&vpc.id)),
            ("ingress", Value::List(vec![any.clone()])),
            ("egress", Value::List(vec![any])),
        ]),
    )
    .await;
    for i in 0..2 {
        let node = make(
            p,
            st,
            m,
            "aws_instance",
            &format!("db/aws_instance.node[\"{i}\"]"),
            obj(&[
                ("ami", s("ami-12c6146b")),
                ("instance_type", s("t3.micro")),
                ("subnet_id", s(&subnets[i].id)),
                ("vpc_security_group_ids", strings(&[&group.id])),
            ]),
        )
        .await;
        let zone = format!("{REGION}{}", ["a", "b"][i]);
        let volume = make(
            p,
            st,
            m,
            "aws_ebs_volume",
            &format!("db/aws_ebs_volume.data[\"{i}\"]"),
            obj(&[("availability_zone", s(&zone)), ("size", n(20.0)), ("type", s("gp3"))]),
        )
        .await;
        make(
            p,
            st,
            m,
            "aws_volume_attachment",
            &format!("db/aws_volume_attachment.data[\"{i}\"]"),
            obj(&[
                ("device_name", s("/dev/sdf")),
                ("instance_id", s(&node.id)),
                ("volume_id", s(&volume.id)),
            ]),
        )
        .await;
    }
    let names = format!("f{}", std::process::id());
    let subnet_ids = Value::List(subnets.iter().map(|s| Value::string(&s.id)).collect());
    let lb = make(
        p,
        st,
        m,
        "aws_lb",
        "lb/aws_lb.main",
        obj(&[
            ("name", s(&names)),
            ("subnets", subnet_ids.clone()),
            ("security_groups", strings(&[&group.id])),
        ]),
    )
    .await;
    let tg = make(
        p,
        st,
        m,
        "aws_lb_target_group",
        "api/aws_lb_target_group.main[0]",
        obj(&[
            ("name", s(&names)),
            ("port", n(8080.0)),
            ("protocol", s("HTTP")),
            ("vpc_id", s(&vpc.id)),
            ("target_type", s("ip")),
        ]),
    )
    .await;
    make(
        p,
        st,
        m,
        "aws_lb_listener",
        "lb/aws_lb_listener.main",
        obj(&[
            ("load_balancer_arn", s(&lb.id)),
            ("port", n(80.0)),
            ("protocol", s("HTTP")),
            (
                "default_action",
                Value::List(vec![obj(&[("type", s("forward")), ("target_group_arn", s(&tg.id))])]),
            ),
        ]),
    )
    .await;
    let cluster =
        make(p, st, m, "aws_ecs_cluster", "net/aws_ecs_cluster.main", obj(&[("name", s(&names))])).await;
    let role = make(
        p,
        st,
        m,
        "aws_iam_role",
        "net/aws_iam_role.execution",
        obj(&[
            ("name", s(&names)),
            ("assume_role_policy", s(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#)),
            ("managed_policy_arns", strings(&["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"])),
        ]),
    )
    .await;
    let containers = r#"[{"name":"api","image":"api:1","essential":true,"portMappings":[{"containerPort":8080,"protocol":"tcp"}]}]"#;
    let td = make(
        p,
        st,
        m,
        "aws_ecs_task_definition",
        "api/aws_ecs_task_definition.main",
        obj(&[
            ("family", s(&names)),
            ("container_definitions", s(containers)),
            ("network_mode", s("awsvpc")),
            ("requires_compatibilities", strings(&["FARGATE"])),
            ("cpu", s("256")),
            ("memory", s("512")),
            ("execution_role_arn", role.attributes.get_path(&["arn"]).cloned().unwrap_or(Value::Null)),
        ]),
    )
    .await;
    make(
        p,
        st,
        m,
        "aws_ecs_service",
        "api/aws_ecs_service.main",
        obj(&[
            ("name", s("api")),
            ("cluster", s(&cluster.id)),
            ("task_definition", s(&td.id)),
            ("desired_count", n(4.0)),
            ("launch_type", s("FARGATE")),
            (
                "network_configuration",
                obj(&[
                    ("subnets", subnet_ids),
                    ("security_groups", strings(&[&group.id])),
                    ("assign_public_ip", Value::Bool(true)),
                ]),
            ),
            (
                "load_balancer",
                Value::List(vec![obj(&[
                    ("target_group_arn", s(&tg.id)),
                    ("container_name", s("api")),
                    ("container_port", n(8080.0)),
                ])]),
            ),
        ]),
    )
    .await;
    for key in ["LOG_LEVEL", "REGION"] {
        make(
            p,
            st,
            m,
            "aws_ssm_parameter",
            &format!("config/aws_ssm_parameter.value[\"{key}\"]"),
            obj(&[("name", s(&format!("/stackc/{stack}/{key}"))), ("type", s("String")), ("value", s("x"))]),
        )
        .await;
    }
    let secret = make(
        p,
        st,
        m,
        "aws_secretsmanager_secret",
        "secret/aws_secretsmanager_secret.main",
        obj(&[("name", s(&format!("stackc/{stack}"))), ("recovery_window_in_days", n(0.0))]),
    )
    .await;
    make(
        p,
        st,
        m,
        "aws_secretsmanager_secret_version",
        "secret/aws_secretsmanager_secret_version.main",
        obj(&[("secret_id", s(&secret.id)), ("secret_string", s("hunter2"))]),
    )
    .await;

    // Every kind of fault happened, and the provider rode through them.
    {
        let ledger = ledger.lock().unwrap();
        for fault in [Fault::Throttle, Fault::Reset, Fault::LoseResponse] {
            assert!(
                ledger.injected.get(&fault).copied().unwrap_or(0) >= 3,
                "too few {fault:?}: {:?}",
                ledger.injected
            );
        }
        eprintln!("faults injected: {:?}; requests forwarded: {}", ledger.injected, ledger.forwarded);
    }

    // Straight against moto: one object per address, the one in state.
    let found = owned_by_address(&endpoint, &stack);
    let duplicates: Vec<_> = found.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(duplicates.is_empty(), "duplicate objects: {duplicates:?}");
    for item in made.iter() {
        if let Some(ids) = found.get(item.ctx.address.as_str()) {
            assert_eq!(
                ids,
                &vec![item.state.id.clone()],
                "{}: the object found is not the one in state",
                item.ctx.address
            );
        }
    }
    for taggable in [
        "net/aws_vpc.main",
        "db/aws_instance.node[\"1\"]",
        "lb/aws_lb.main",
        "api/aws_ecs_service.main",
        "net/aws_iam_role.execution",
    ] {
        assert!(found.contains_key(taggable), "{taggable} not found by its ownership tags: {found:?}");
    }
    // The role got its policy even when CreateRole's answer was lost.
    let role_state = p
        .read(&ctx(st, "aws_iam_role", "net/aws_iam_role.execution"), &role)
        .await
        .expect("read")
        .expect("role");
    assert_eq!(
        role_state.attributes.get_path(&["managed_policy_arns"]).and_then(Value::as_list).map(<[Value]>::len),
        Some(1)
    );

    // Destroy through the faults too, in reverse order: nothing is left.
    for item in made.iter().rev() {
        p.delete(&item.ctx, &item.state)
            .await
            .unwrap_or_else(|e| panic!("{}: delete through faults: {e:?}", item.ctx.address));
    }
    let left = owned_by_address(&endpoint, &stack);
    assert!(left.is_empty(), "objects left after destroy: {left:?}");
}

/// 30% of the responses of mutating requests lost after moto acted (and
/// the second RunInstances, CreateVolume and CreateSecurityGroup always):
/// three instances and three volumes of one stack, and a security group
/// whose address this stack also tagged in another VPC (a decoy left by an
/// earlier run), all converge with exactly one object per address, the one
/// recorded; no sibling's object is taken for another's (the apply used to
/// report "tags.Name differs from the plan: planned main-0, got main-1"),
/// the other VPC's group is neither adopted nor deleted, and destroy
/// through the faults leaves only the decoy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_lost_responses_never_adopt_a_sibling_or_another_vpcs_object() {
    let Some(endpoint) = moto_endpoint() else { return };
    let upstream: SocketAddr =
        endpoint.trim_start_matches("http://").trim_end_matches('/').parse().expect("moto address");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let lossy = LossyFaults {
        percent: 30,
        state: seed,
        always: vec![("RunInstances", 1), ("CreateVolume", 1), ("CreateSecurityGroup", 0)],
    };
    let (proxy, ledger) = start_proxy_with(upstream, Some(lossy)).await;
    let stack = unique_stack("lossy");
    let st = stack.as_str();
    let direct = provider_at(st, &endpoint).await;
    let p = &AwsProvider::new(test_config(st, &format!("http://{proxy}"))).await.expect("provider");
    let group_address = "net/aws_security_group.internal";
    let group_config = |vpc: &str| obj(&[("name", s("internal")), ("vpc_id", s(vpc))]);

    // The decoy: this stack's group of that address, in another VPC.
    let decoy_vpc = direct
        .create(
            &ctx(st, "aws_vpc", "old/aws_vpc.main"),
            &full_config(&direct, "aws_vpc", &obj(&[("cidr_block", s("10.60.0.0/16"))])),
        )
        .await
        .expect("decoy vpc");
    let decoy_ctx = ctx(st, "aws_security_group", group_address);
    let decoy = direct
        .create(&decoy_ctx, &full_config(&direct, "aws_security_group", &group_config(&decoy_vpc.id)))
        .await
        .expect("decoy group");

    let mut made = Vec::new();
    let m = &mut made;
    let vpc = make(p, st, m, "aws_vpc", "net/aws_vpc.main", obj(&[("cidr_block", s("10.50.0.0/16"))])).await;
    let subnet = make(
        p,
        st,
        m,
        "aws_subnet",
        "net/aws_subnet.zone[0]",
        obj(&[
            ("vpc_id", s(&vpc.id)),
            ("cidr_block", s("10.50.0.0/24")),
            ("availability_zone", s(&format!("{REGION}a"))),
        ]),
    )
    .await;
    let group = make(p, st, m, "aws_security_group", group_address, group_config(&vpc.id)).await;
    assert_ne!(group.id, decoy.id, "the group of another VPC was adopted");
    assert_eq!(group.attributes.get_path(&["vpc_id"]).and_then(Value::as_str), Some(vpc.id.as_str()));
    let mut nodes = Vec::new();
    for i in 0..3 {
        let node = make(
            p,
            st,
            m,
            "aws_instance",
            &format!("db/aws_instance.node[{i}]"),
            obj(&[
                ("ami", s("ami-12c6146b")),
                ("instance_type", s("t3.micro")),
                ("subnet_id", s(&subnet.id)),
                ("vpc_security_group_ids", strings(&[&group.id])),
                ("tags", obj(&[("Name", s(&format!("main-{i}")))])),
            ]),
        )
        .await;
        assert_eq!(
            node.attributes.get_path(&["tags", "Name"]).and_then(Value::as_str),
            Some(format!("main-{i}").as_str()),
            "node {i} is another node's instance"
        );
        nodes.push(node);
    }
    for (i, node) in nodes.iter().enumerate() {
        let volume = make(
            p,
            st,
            m,
            "aws_ebs_volume",
            &format!("db/aws_ebs_volume.data[{i}]"),
            obj(&[("availability_zone", s(&format!("{REGION}a"))), ("size", n(10.0 + i as f64))]),
        )
        .await;
        assert_eq!(
            volume.attributes.get_path(&["size"]),
            Some(&n(10.0 + i as f64)),
            "volume {i} is a sibling's"
        );
        make(
            p,
            st,
            m,
            "aws_volume_attachment",
            &format!("db/aws_volume_attachment.data[{i}]"),
            obj(&[
                ("device_name", s("/dev/sdf")),
                ("instance_id", s(&node.id)),
                ("volume_id", s(&volume.id)),
            ]),
        )
        .await;
    }
    let lost = ledger.lock().unwrap().injected.get(&Fault::LoseResponse).copied().unwrap_or(0);
    assert!(lost >= 3, "too few lost responses: {lost}");

    // Straight against moto: one object per address, the one recorded; the
    // decoy still there, untouched.
    let found = owned_by_address(&endpoint, st);
    for item in made.iter() {
        let mut expected = vec![item.state.id.clone()];
        if item.ctx.address.as_str() == group_address {
            expected.push(decoy.id.clone());
        }
        let mut ids = found.get(item.ctx.address.as_str()).cloned().unwrap_or_default();
        if item.ctx.type_name == "aws_volume_attachment" {
            continue; // not taggable
        }
        ids.sort();
        expected.sort();
        assert_eq!(ids, expected, "{}: objects found for this address (seed {seed})", item.ctx.address);
    }

    // Destroy through the faults: only the decoy's VPC and group are left.
    for item in made.iter().rev() {
        p.delete(&item.ctx, &item.state)
            .await
            .unwrap_or_else(|e| panic!("{}: delete through faults: {e:?}", item.ctx.address));
    }
    let mut left: Vec<String> = owned_by_address(&endpoint, st).into_values().flatten().collect();
    left.sort();
    let mut decoys = vec![decoy.id.clone(), decoy_vpc.id.clone()];
    decoys.sort();
    assert_eq!(left, decoys, "after destroy (seed {seed})");
    direct.delete(&decoy_ctx, &decoy).await.expect("delete decoy group");
    direct.delete(&ctx(st, "aws_vpc", "old/aws_vpc.main"), &decoy_vpc).await.expect("delete decoy vpc");
    eprintln!("lossy faults (seed {seed}): {lost} responses lost of {:?}", ledger.lock().unwrap().seen);
}
