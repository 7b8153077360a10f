//! Shared by the moto-backed tests: the provider against the endpoint the
//! test script started, operation contexts, and the acceptance steps in the
//! Terraform tradition.
//!
//! `STACKC_TEST_MOTO_ENDPOINT` names moto's URL (`scripts/test` starts one).
//! Without it the tests print a notice and pass when run by hand, and fail
//! when `CI` is set: CI must run them.

#![allow(dead_code)]

use stackc_model::graph::ResourceAddress;
use stackc_model::Value;
use stackc_provider_aws::{AwsConfig, AwsProvider, RetryPolicy, WaitPolicy};
use stackc_providers::{ObjectState, OperationContext, Provider};
use std::time::Duration;

pub const REGION: &str = "eu-west-3";

/// moto's endpoint, or `None` (after a notice) when the tests may skip.
pub fn moto_endpoint() -> Option<String> {
    match std::env::var("STACKC_TEST_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("CI").is_some() => {
            panic!("STACKC_TEST_MOTO_ENDPOINT is not set: CI must run the aws tests against moto (scripts/test starts it)")
        }
        _ => {
            eprintln!("notice: STACKC_TEST_MOTO_ENDPOINT is not set; skipping this moto-backed aws test (run scripts/test)");
            None
        }
    }
}

/// Settings for tests: fixed credentials (moto accepts any), short waits.
pub fn test_config(stack: &str, endpoint: &str) -> AwsConfig {
    let mut config = AwsConfig::new(stack);
    config.region = Some(REGION.into());
    config.endpoint = Some(endpoint.into());
    config.static_credentials = Some(("testing".into(), "testing".into()));
    config.retry = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
    };
    config.waits = WaitPolicy {
        timeout: Duration::from_secs(60),
        dependency_timeout: Duration::from_secs(30),
        first_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(500),
    };
    config.consistency_timeout = Duration::from_secs(10);
    config.request_timeout = Duration::from_secs(30);
    config
}

pub async fn provider_at(stack: &str, endpoint: &str) -> AwsProvider {
    AwsProvider::new(test_config(stack, endpoint)).await.expect("provider")
}

pub fn ctx(stack: &str, type_name: &str, address: &str) -> OperationContext {
    OperationContext {
        address: ResourceAddress(address.to_string()),
        type_name: type_name.to_string(),
        stack: stack.to_string(),
        target: Some("aws".into()),
        create_token: None,
    }
}

/// A stack name unique to one test run, so tests sharing one moto never
/// see each other's objects.
pub fn unique_stack(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{test}-{}-{nanos}", std::process::id())
}

pub fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

pub fn s(text: &str) -> Value {
    Value::string(text)
}

pub fn n(number: f64) -> Value {
    Value::Number(number)
}

pub fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::string(*s)).collect())
}

/// Fills a configuration with nulls for every settable attribute it does
/// not name, as the compiler hands configurations to providers.
pub fn full_config(provider: &AwsProvider, type_name: &str, config: &Value) -> Value {
    let schema = provider.schemas().into_iter().find(|s| s.type_name == type_name).expect("schema");
    let given = config.as_object().cloned().unwrap_or_default();
    Value::Object(
        schema
            .settable()
            .map(|name| (name.to_string(), given.get(name).cloned().unwrap_or(Value::Null)))
            .collect(),
    )
}

/// Asserts the plan of `config` against `state` changes nothing: every
/// planned attribute equals the state's.
pub fn assert_no_change(provider: &AwsProvider, ctx: &OperationContext, state: &ObjectState, config: &Value) {
    assert_no_change_except(provider, ctx, state, config, &[]);
}

/// [`assert_no_change`] but for attributes an import cannot know.
pub fn assert_no_change_except(
    provider: &AwsProvider,
    ctx: &OperationContext,
    state: &ObjectState,
    config: &Value,
    ignored: &[&str],
) {
    let planned = provider.plan(ctx, Some(state), config).expect("plan");
    let planned = planned.as_object().expect("object");
    let mut diffs = Vec::new();
    for (name, value) in planned.iter().filter(|(name, _)| !ignored.contains(&name.as_str())) {
        let had = state.attributes.get_path(&[name]).cloned().unwrap_or(Value::Null);
        if value.unmarked() != had.unmarked() {
            diffs.push(format!("{name}: state {had:?} -> planned {value:?}"));
        }
    }
    assert!(diffs.is_empty(), "{}: plan after apply is not empty:\n{}", ctx.type_name, diffs.join("\n"));
}

/// True if the plan keeps the object (no force-new change): its id is known.
pub fn plan_keeps(
    provider: &AwsProvider,
    ctx: &OperationContext,
    state: &ObjectState,
    config: &Value,
) -> bool {
    let planned = provider.plan(ctx, Some(state), config).expect("plan");
    !matches!(planned.get_path(&["id"]), Some(Value::Unknown) | None)
}

/// One type's acceptance run.
pub struct Acceptance<'a> {
    pub provider: &'a AwsProvider,
    pub stack: &'a str,
    pub type_name: &'a str,
    pub config: Value,
    /// A change AWS makes in place.
    pub update: Option<Value>,
    /// A change of a force-new attribute.
    pub replace: Option<Value>,
    /// Attributes an import cannot know (write-only settings).
    pub import_ignores: &'a [&'a str],
}

impl Acceptance<'_> {
    /// create; read returns the same; the plan is empty; update in place;
    /// replace; import reproduces the state; delete leaves nothing; an
    /// object deleted behind stackc's back reads as gone. Returns nothing:
    /// everything it created is deleted.
    pub async fn run(self) {
        let p = self.provider;
        let address = format!("test.{}", self.type_name);
        let ctx = ctx(self.stack, self.type_name, &address);
        let config = full_config(p, self.type_name, &self.config);

        // Create: the plan has the id unknown; the state has it.
        let planned = p.plan(&ctx, None, &config).expect("plan create");
        assert_eq!(planned.get_path(&["id"]), Some(&Value::Unknown), "{}", self.type_name);
        let state =
            p.create(&ctx, &config).await.unwrap_or_else(|e| panic!("{} create: {e:?}", self.type_name));
        assert!(!state.id.is_empty());
        let read = p.read(&ctx, &state).await.expect("read").expect("exists after create");
        assert_eq!(read, state, "{}: read after create differs", self.type_name);
        assert_no_change(p, &ctx, &state, &config);

        // Update in place.
        let mut state = state;
        let mut last_config = config.clone();
        if let Some(update) = &self.update {
            let update = full_config(p, self.type_name, update);
            assert!(plan_keeps(p, &ctx, &state, &update), "{}: update should be in place", self.type_name);
            let updated = p
                .update(&ctx, &state, &update)
                .await
                .unwrap_or_else(|e| panic!("{} update: {e:?}", self.type_name));
            let read = p.read(&ctx, &updated).await.expect("read").expect("exists after update");
            assert_eq!(read, updated, "{}: read after update differs", self.type_name);
            assert_no_change(p, &ctx, &updated, &update);
            state = updated;
            last_config = update;
        }

        // Import reproduces the state.
        let imported = p.import(&ctx, &state.id).await.expect("import").expect("import finds it");
        assert_eq!(imported.id, state.id);
        for (name, value) in state.attributes.as_object().expect("object") {
            if self.import_ignores.contains(&name.as_str()) || name == "tags" {
                continue;
            }
            let got = imported.attributes.get_path(&[name]).cloned().unwrap_or(Value::Null);
            let (a, b) = match (json_text(value), json_text(&got)) {
                (Some(a), Some(b)) => (a, b),
                _ => (value.to_json(), got.to_json()),
            };
            // The import may know more than the configuration named
            // (defaults AWS filled in), never less or other.
            assert!(json_contained(&a, &b), "{}: import differs at `{name}`: {a} vs {b}", self.type_name);
        }
        assert_no_change_except(p, &ctx, &imported, &last_config, self.import_ignores);

        // Replace: a force-new change plans a new object; create the new
        // one, delete the old one, as the planner does.
        if let Some(replace) = &self.replace {
            let replace = full_config(p, self.type_name, replace);
            assert!(
                !plan_keeps(p, &ctx, &state, &replace),
                "{}: change should force replacement",
                self.type_name
            );
            let new = p
                .create(&ctx, &replace)
                .await
                .unwrap_or_else(|e| panic!("{} replace create: {e:?}", self.type_name));
            assert_ne!(new.id, state.id);
            p.delete(&ctx, &state).await.expect("delete replaced");
            assert_eq!(
                p.read(&ctx, &state).await.expect("read old"),
                None,
                "{}: replaced object remains",
                self.type_name
            );
            assert_no_change(p, &ctx, &new, &replace);
            state = new;
        }

        // Delete leaves nothing; deleting again is fine.
        p.delete(&ctx, &state).await.unwrap_or_else(|e| panic!("{} delete: {e:?}", self.type_name));
        assert_eq!(
            p.read(&ctx, &state).await.expect("read after delete"),
            None,
            "{}: still there",
            self.type_name
        );
        p.delete(&ctx, &state).await.expect("second delete is a no-op");

        // Deleted behind our back: a fresh object, removed by another client.
        let state = p.create(&ctx, &config).await.expect("create again");
        let other = provider_at("someone-else", &endpoint_of()).await;
        other.delete(&ctx, &state).await.expect("out-of-band delete");
        assert_eq!(
            p.read(&ctx, &state).await.expect("read"),
            None,
            "{}: deleted object still read",
            self.type_name
        );
    }
}

pub fn endpoint_of() -> String {
    std::env::var("STACKC_TEST_MOTO_ENDPOINT").unwrap_or_default()
}

/// A string attribute holding a JSON document.
fn json_text(value: &Value) -> Option<serde_json::Value> {
    let text = value.as_str()?;
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    (json.is_object() || json.is_array()).then_some(json)
}

/// `a` is in `b`: every non-null part of `a` is in `b` (AWS adds defaults).
fn json_contained(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Null, _) => true,
        (J::Array(x), J::Null) if x.is_empty() => true,
        (J::Object(x), J::Object(y)) => {
            x.iter().all(|(k, v)| json_contained(v, y.get(k).unwrap_or(&J::Null)))
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_contained(x, y))
        }
        (x, y) => x == y,
    }
}

/// A minimal HTTP/1.1 reading of requests, for the fault proxy and the
/// scripted servers of the transport tests.
pub mod http {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    pub struct Request {
        pub head: String,
        pub body: Vec<u8>,
    }

    impl Request {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.head.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
        }

        pub fn action(&self) -> String {
            if let Some(target) = self.header("x-amz-target") {
                return target.rsplit('.').next().unwrap_or(target).to_string();
            }
            let body = String::from_utf8_lossy(&self.body);
            body.split('&').find_map(|pair| pair.strip_prefix("Action=")).unwrap_or("?").to_string()
        }
    }

    pub async fn read_request(stream: &mut TcpStream) -> Option<Request> {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
        let mut request = Request { head, body: buffer[head_end..].to_vec() };
        let length: usize = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while request.body.len() < length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            request.body.extend_from_slice(&chunk[..n]);
        }
        Some(request)
    }

    /// A whole response with `connection: close`.
    pub fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}
