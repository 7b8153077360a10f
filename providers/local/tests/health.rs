//! `Provider::health` of `docker_container` against the real Docker
//! Engine, as a rollout's gate reads it: a health check's status with its
//! last output, a container without one, one that stopped (exit code and
//! log lines), one that is gone; other types have no health.
//!
//! Needs `STACKC_TEST_DOCKER` (scripts/test); without it the test prints a
//! notice and passes when run by hand, and fails when `CI` is set.

use stackc_model::graph::ResourceAddress;
use stackc_model::Value;
use stackc_provider_local::{LocalConfig, LocalProvider};
use stackc_providers::{HealthStatus, ObjectHealth, ObjectState, OperationContext, Provider};
use std::time::{Duration, Instant};

mod support;

use support::{docker, docker_available};

struct Fixture {
    stack: String,
    _dir: tempfile::TempDir,
    provider: LocalProvider,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let stack = format!("health-{test}-{}", std::process::id() % 100_000);
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("STACKC_SECRETS_DIR", std::env::temp_dir().join("stackc-health-secrets"));
        let provider = LocalProvider::new(LocalConfig::new(&stack, dir.path()));
        Fixture { stack, _dir: dir, provider }
    }

    fn ctx(&self, type_name: &str, address: &str) -> OperationContext {
        OperationContext {
            address: ResourceAddress(address.to_string()),
            type_name: type_name.to_string(),
            stack: self.stack.clone(),
            target: Some("local".into()),
            create_token: None,
        }
    }

    /// The configuration as the compiler hands it: every settable attribute.
    fn config(&self, type_name: &str, given: serde_json::Value) -> Value {
        let schema = self.provider.schemas().into_iter().find(|s| s.type_name == type_name).unwrap();
        let given = Value::from_json(&given);
        let given = given.as_object().cloned().unwrap_or_default();
        Value::Object(
            schema
                .settable()
                .map(|n| (n.to_string(), given.get(n).cloned().unwrap_or(Value::Null)))
                .collect(),
        )
    }

    /// Polls the health of `object` until `status` (at most `within`).
    async fn until(
        &self,
        ctx: &OperationContext,
        object: &ObjectState,
        status: HealthStatus,
        within: Duration,
    ) -> ObjectHealth {
        let deadline = Instant::now() + within;
        loop {
            let health = self.provider.health(ctx, object).await.unwrap();
            if health.status == status {
                return health;
            }
            assert!(Instant::now() < deadline, "not {status:?} within {within:?}: {health:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let label = format!("label=stackc.stack={}", self.stack);
        for id in docker(&["ps", "-aq", "--filter", &label]).lines() {
            docker(&["rm", "-f", id]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &label]).lines() {
            docker(&["network", "rm", id]);
        }
    }
}

#[tokio::test]
async fn container_health_as_a_gate_reads_it() {
    if !docker_available() {
        return;
    }
    let f = Fixture::new("ctr");
    let net_ctx = f.ctx("docker_network", "network.main/docker_network.main");
    let network = format!("{}-net", f.stack);
    let net = f
        .provider
        .create(&net_ctx, &f.config("docker_network", serde_json::json!({"name": network})))
        .await
        .unwrap();

    // With a health check: healthy once created (create waits for it).
    let checked_ctx = f.ctx("docker_container", "service.api/docker_container.canary[0]");
    let checked_name = format!("{}-api-canary-0", f.stack);
    let checked = f
        .provider
        .create(
            &checked_ctx,
            &f.config(
                "docker_container",
                serde_json::json!({
                    "name": checked_name,
                    "image": "stackc-test-app:2",
                    "network": network,
                    "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/healthz"], "interval": "1s", "retries": 2},
                    "restart": "no",
                }),
            ),
        )
        .await
        .unwrap();
    let healthy = f.provider.health(&checked_ctx, &checked).await.unwrap();
    assert_eq!(healthy.status, HealthStatus::Healthy, "{healthy:?}");
    // Its check starts failing (the page it reads is gone): unhealthy,
    // with what the check printed.
    docker(&["exec", &checked_name, "rm", "/www/healthz"]);
    let failing = f.until(&checked_ctx, &checked, HealthStatus::Unhealthy, Duration::from_secs(20)).await;
    let detail = failing.detail.unwrap();
    assert!(detail.contains("404"), "{detail}");
    assert!(detail.contains("in a row"), "{detail}");

    // Without a health check: healthy once it has run for a moment, and
    // the detail says it has no check.
    let plain_ctx = f.ctx("docker_container", "service.web/docker_container.canary[0]");
    let plain_name = format!("{}-web-canary-0", f.stack);
    let plain = f
        .provider
        .create(
            &plain_ctx,
            &f.config(
                "docker_container",
                serde_json::json!({
                    "name": plain_name,
                    "image": "stackc-test-app:2",
                    "network": network,
                    "command": ["sh", "-c", "echo serving; exec httpd -f -p 8080 -h /bin"],
                    "restart": "no",
                }),
            ),
        )
        .await
        .unwrap();
    let steady = f.until(&plain_ctx, &plain, HealthStatus::Healthy, Duration::from_secs(5)).await;
    assert!(steady.detail.unwrap().contains("no health check"));
    // Stopped: unhealthy, with its exit code and its last log lines.
    docker(&["kill", &plain_name]);
    let stopped = f.until(&plain_ctx, &plain, HealthStatus::Unhealthy, Duration::from_secs(10)).await;
    let detail = stopped.detail.unwrap();
    assert!(detail.contains("is not running (exited, exit code 137)"), "{detail}");
    assert!(detail.contains("its last log lines:\n  serving"), "{detail}");
    // Gone: missing.
    docker(&["rm", "-f", &plain_name]);
    let gone = f.provider.health(&plain_ctx, &plain).await.unwrap();
    assert_eq!(gone.status, HealthStatus::Missing, "{gone:?}");

    // A container whose check never passes is not created: the error
    // has the check's last output.
    let broken_ctx = f.ctx("docker_container", "service.web/docker_container.canary[1]");
    let error = f
        .provider
        .create(
            &broken_ctx,
            &f.config(
                "docker_container",
                serde_json::json!({
                    "name": format!("{}-web-canary-1", f.stack),
                    "image": "stackc-test-app:2",
                    "network": network,
                    "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/missing"], "interval": "1s", "retries": 2},
                    "restart": "no",
                }),
            ),
        )
        .await
        .unwrap_err();
    assert!(error.message.contains("its health check failed (its last output: wget:"), "{}", error.message);
    assert!(error.message.contains("404"), "{}", error.message);

    // Other types have no health of their own.
    let error = f.provider.health(&net_ctx, &net).await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("HealthNotSupported"));

    f.provider.delete(&checked_ctx, &checked).await.unwrap();
    f.provider.delete(&net_ctx, &net).await.unwrap();
}
