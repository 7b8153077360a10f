//! The transport against scripted local servers (no moto needed):
//! credentials and region from the standard chain (a profile in the shared
//! files, AWS_ENDPOINT_URL, AWS_REGION), SigV4 signing scope, bounded
//! retries, API errors as data, and no blind resend of a create.

mod support;

use stackc_model::Value;
use stackc_provider_aws::{AwsConfig, AwsProvider, RetryPolicy};
use stackc_providers::{ObjectState, Provider};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::http::{read_request, response};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// What the server does with the nth request.
type Script = Arc<dyn Fn(usize, &str) -> Option<Vec<u8>> + Send + Sync>;

/// Serves `script`'s answers (`None` closes the connection unanswered);
/// returns the endpoint and the requests seen (head + body text).
async fn scripted_server(script: Script) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let Some(request) = read_request(&mut client).await else { continue };
            let text = format!("{}{}", request.head, String::from_utf8_lossy(&request.body));
            let n = {
                let mut log = log.lock().unwrap();
                log.push(text.clone());
                log.len() - 1
            };
            if let Some(answer) = script(n, &text) {
                let _ = client.write_all(&answer).await;
            }
        }
    });
    (endpoint, seen)
}

fn fast(mut config: AwsConfig, endpoint: &str) -> AwsConfig {
    config.region = Some(REGION.into());
    config.endpoint = Some(endpoint.into());
    config.static_credentials = Some(("AKIDTEST".into(), "secret".into()));
    config.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    config.consistency_timeout = Duration::from_millis(200);
    config
}

fn vpc_state() -> ObjectState {
    ObjectState {
        id: "vpc-1".into(),
        attributes: obj(&[("id", s("vpc-1")), ("cidr_block", s("10.0.0.0/16"))]),
    }
}

const EMPTY_VPCS: &str = "<DescribeVpcsResponse><vpcSet/></DescribeVpcsResponse>";

#[test]
fn credentials_region_and_endpoint_come_from_the_standard_chain() {
    let dir = std::env::temp_dir().join(format!("stackc-aws-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("credentials"),
        "[stackc-test]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = s\n",
    )
    .unwrap();
    std::fs::write(dir.join("config"), "[profile stackc-test]\nregion = ap-south-1\n").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (endpoint, seen) =
        runtime.block_on(scripted_server(Arc::new(|_, _| Some(response("200 OK", "text/xml", EMPTY_VPCS)))));
    // Before any thread of the runtime reads the environment's AWS settings.
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"));
    std::env::set_var("AWS_CONFIG_FILE", dir.join("config"));
    std::env::set_var("AWS_PROFILE", "stackc-test");
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    runtime.block_on(async {
        let p = AwsProvider::new(AwsConfig::new("chain")).await.expect("provider");
        assert_eq!(p.region(), "ap-south-1", "region from the profile");
        let read = p.read(&ctx("chain", "aws_vpc", "v"), &vpc_state()).await.expect("read");
        assert_eq!(read, None);
        // The target block's region wins over the profile's.
        let mut config = AwsConfig::new("chain");
        config = config.with_target_attributes(&obj(&[("region", s("eu-west-3")), ("ami", s("ami-1"))]));
        let p = AwsProvider::new(config).await.expect("provider");
        assert_eq!(p.region(), "eu-west-3");
        p.read(&ctx("chain", "aws_vpc", "v"), &vpc_state()).await.expect("read");
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let authorization = |text: &str| {
        text.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(authorization(&seen[0]).contains("Credential=AKIDFROMPROFILE/"), "{}", seen[0]);
    assert!(authorization(&seen[0]).contains("/ap-south-1/ec2/aws4_request"), "{}", seen[0]);
    assert!(authorization(&seen[1]).contains("/eu-west-3/ec2/aws4_request"), "{}", seen[1]);
    assert!(seen[0].contains("Action=DescribeVpcs") && seen[0].contains("Filter.1.Value.1=vpc-1"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let script: Script = Arc::new(|_, _| {
        Some(response("503 Service Unavailable", "text/xml", "<Response><Errors><Error><Code>Unavailable</Code><Message>busy</Message></Error></Errors></Response>"))
    });
    let (endpoint, seen) = scripted_server(script).await;
    let p = AwsProvider::new(fast(AwsConfig::new("retry"), &endpoint)).await.expect("provider");
    let error = p.read(&ctx("retry", "aws_vpc", "v"), &vpc_state()).await.expect_err("fails");
    assert_eq!(error.code.as_deref(), Some("Unavailable"));
    assert_eq!(error.message, "busy");
    assert!(error.retryable);
    assert_eq!(seen.lock().unwrap().len(), 4, "max_attempts requests, no more");
    assert_eq!(p.api_calls(), 4);
}

#[tokio::test]
async fn throttling_then_success_converges() {
    let script: Script = Arc::new(|n, _| {
        Some(if n < 2 {
            response("400 Bad Request", "text/xml", "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors></Response>")
        } else {
            response("200 OK", "text/xml", EMPTY_VPCS)
        })
    });
    let (endpoint, seen) = scripted_server(script).await;
    let p = AwsProvider::new(fast(AwsConfig::new("throttle"), &endpoint)).await.expect("provider");
    assert_eq!(p.read(&ctx("throttle", "aws_vpc", "v"), &vpc_state()).await.expect("read"), None);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_keep_the_aws_code() {
    let script: Script = Arc::new(|_, _| {
        Some(response(
            "400 Bad Request",
            "application/x-amz-json-1.1",
            r#"{"__type":"com.amazonaws.ecs#InvalidParameterException:http://internal","message":"bad family"}"#,
        ))
    });
    let (endpoint, seen) = scripted_server(script).await;
    let p = AwsProvider::new(fast(AwsConfig::new("client"), &endpoint)).await.expect("provider");
    let config = full_config(&p, "aws_ecs_cluster", &obj(&[("name", s("c"))]));
    let error = p.create(&ctx("client", "aws_ecs_cluster", "c"), &config).await.expect_err("fails");
    assert_eq!(error.code.as_deref(), Some("InvalidParameterException"));
    assert_eq!(error.message, "bad family");
    assert!(!error.retryable);
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(seen.lock().unwrap()[0]
        .to_ascii_lowercase()
        .contains("x-amz-target: amazonec2containerservicev20141113.createcluster"));
}

#[tokio::test]
async fn a_create_whose_response_is_lost_is_looked_for_before_it_is_sent_again() {
    // CreateVpc requests are read and then dropped unanswered; the lookup
    // by ownership tag finds nothing each time.
    let script: Script = Arc::new(|_, text| {
        if text.contains("Action=CreateVpc") {
            None
        } else {
            Some(response("200 OK", "text/xml", EMPTY_VPCS))
        }
    });
    let (endpoint, seen) = scripted_server(script).await;
    let mut config = fast(AwsConfig::new("lost"), &endpoint);
    config.create_attempts = 3;
    let p = AwsProvider::new(config).await.expect("provider");
    let vpc = full_config(&p, "aws_vpc", &obj(&[("cidr_block", s("10.0.0.0/16"))]));
    let error = p.create(&ctx("lost", "aws_vpc", "net/aws_vpc.main"), &vpc).await.expect_err("fails");
    assert_eq!(error.code.as_deref(), Some("RequestOutcomeUnknown"));
    let seen = seen.lock().unwrap();
    let actions: Vec<&str> =
        seen.iter().map(|t| if t.contains("Action=CreateVpc") { "create" } else { "lookup" }).collect();
    assert_eq!(actions, ["create", "lookup", "create", "lookup", "create", "lookup"]);
    // The lookup asks for this stack's objects with an address tag.
    assert!(
        seen[1].contains("tag%3Astackc%3Astack") && seen[1].contains("Filter.1.Value.1=lost"),
        "{}",
        seen[1]
    );
    let _ = Value::Null;
}

#[tokio::test]
async fn a_create_answered_with_a_server_error_is_looked_for_before_it_is_sent_again() {
    // AWS may have made the VPC before it failed: a 500 to CreateVpc is an
    // unknown outcome, as a lost answer is, not a blind retry (which could
    // make a second VPC: CreateVpc takes no idempotency token).
    let script: Script = Arc::new(|_, text| {
        Some(if text.contains("Action=CreateVpc") {
            response(
                "500 Internal Server Error",
                "text/xml",
                "<Response><Errors><Error><Code>InternalError</Code><Message>oops</Message></Error></Errors></Response>",
            )
        } else {
            response("200 OK", "text/xml", EMPTY_VPCS)
        })
    });
    let (endpoint, seen) = scripted_server(script).await;
    let mut config = fast(AwsConfig::new("err500"), &endpoint);
    config.create_attempts = 2;
    let p = AwsProvider::new(config).await.expect("provider");
    let vpc = full_config(&p, "aws_vpc", &obj(&[("cidr_block", s("10.0.0.0/16"))]));
    let error = p.create(&ctx("err500", "aws_vpc", "net/aws_vpc.main"), &vpc).await.expect_err("fails");
    assert_eq!(error.code.as_deref(), Some("RequestOutcomeUnknown"), "{error:?}");
    assert!(error.message.contains("InternalError"), "{}", error.message);
    let seen = seen.lock().unwrap();
    let actions: Vec<&str> =
        seen.iter().map(|t| if t.contains("Action=CreateVpc") { "create" } else { "lookup" }).collect();
    assert_eq!(actions, ["create", "lookup", "create", "lookup"]);
}

/// An endpoint that accepts connections and never answers: a read fails
/// within its retry budget (attempts times the read timeout, not the
/// minutes an unbounded wait took) with EndpointTimeout naming the
/// endpoint, and every later request of the provider fails at once with
/// the same error instead of waiting again.
#[tokio::test]
async fn a_silent_endpoint_fails_within_the_retry_budget_with_a_clear_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let accepted = Arc::new(Mutex::new(0usize));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((client, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            held.push(client); // open, and silent
        }
    });
    let mut config = fast(AwsConfig::new("silent"), &endpoint);
    config.retry.max_attempts = 3;
    config.read_timeout = Duration::from_millis(300);
    let provider = AwsProvider::new(config).await.expect("provider");
    let ctx = ctx("silent", "aws_vpc", "net/aws_vpc.main");

    let started = std::time::Instant::now();
    let error = provider.read(&ctx, &vpc_state()).await.expect_err("a silent endpoint is an error");
    let elapsed = started.elapsed();
    assert_eq!(error.code.as_deref(), Some("EndpointTimeout"), "{error:?}");
    assert!(
        error
            .message
            .contains(&format!("the AWS endpoint {endpoint}/ accepted the connection but did not answer"))
            && error.message.contains("within 0.3 s (3 attempts)"),
        "{}",
        error.message
    );
    assert!(elapsed >= Duration::from_millis(900), "three attempts of 0.3 s: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "bounded by the budget: {elapsed:?}");
    assert_eq!(*accepted.lock().unwrap(), 3, "one connection per attempt");

    let started = std::time::Instant::now();
    let again = provider.read(&ctx, &vpc_state()).await.expect_err("still silent");
    assert!(started.elapsed() < Duration::from_millis(100), "later requests do not wait again");
    assert_eq!(again.message, error.message);
    assert_eq!(*accepted.lock().unwrap(), 3, "nor connect again");
}
