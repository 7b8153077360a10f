//! Acceptance tests of each local resource type against the real Docker
//! Engine, in the Terraform tradition: create; the next plan is empty;
//! update in place and re-create; import; an object removed behind
//! stackc's back reads as gone; delete leaves nothing labelled with the
//! stack.
//!
//! `scripts/test` starts the Engine and builds the test images
//! (scripts/docker.sh) and sets `STACKC_TEST_DOCKER`. Without it these
//! tests print a notice and pass when run by hand, and fail when `CI` is
//! set. Each test has its own stack name, so they run in parallel.

use stackc_model::graph::ResourceAddress;
use stackc_model::Value;
use stackc_provider_local::{LocalConfig, LocalProvider};
use stackc_providers::{ObjectState, OperationContext, Provider};

mod support;

use support::{docker, docker_available};

/// A stack of one test: its name, directory, secrets directory, provider.
struct Fixture {
    stack: String,
    dir: tempfile::TempDir,
    provider: LocalProvider,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let stack = format!("acc-{test}-{}", std::process::id() % 100_000);
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("STACKC_SECRETS_DIR", std::env::temp_dir().join("stackc-acceptance-secrets"));
        let provider = LocalProvider::new(LocalConfig::new(&stack, dir.path()));
        Fixture { stack, dir, provider }
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

    fn assert_no_change(&self, ctx: &OperationContext, state: &ObjectState, config: &Value) {
        let planned = self.provider.plan(ctx, Some(state), config).unwrap();
        for (name, value) in planned.as_object().unwrap() {
            let had = state.attributes.get_path(&[name]).cloned().unwrap_or(Value::Null);
            assert_eq!(value.unmarked(), had.unmarked(), "{}: `{name}` would change", ctx.type_name);
        }
    }

    /// Each of `ids` imports the object `state` records (as after `state
    /// rm`), and the next plan of `config` is empty.
    async fn assert_imports(
        &self,
        ctx: &OperationContext,
        ids: &[&str],
        state: &ObjectState,
        config: &Value,
    ) {
        for id in ids {
            let imported = self.provider.import(ctx, id).await.unwrap().unwrap();
            assert_eq!(imported.id, state.id, "import of `{id}`");
            self.assert_no_change(ctx, &imported, config);
            let planned = self.provider.plan(ctx, Some(&imported), config).unwrap();
            let (planned, recorded) = (planned.unmarked().to_json(), state.attributes.unmarked().to_json());
            assert_eq!(
                planned, recorded,
                "import of `{id}`: the plan after it differs from the recorded state"
            );
        }
    }

    fn keeps(&self, ctx: &OperationContext, state: &ObjectState, config: &Value) -> bool {
        let planned = self.provider.plan(ctx, Some(state), config).unwrap();
        !matches!(planned.get_path(&["id"]), Some(Value::Unknown))
    }

    fn labelled(&self, kind: &str) -> Vec<String> {
        let label = format!("label=stackc.stack={}", self.stack);
        let text = match kind {
            "container" => docker(&["ps", "-aq", "--filter", &label]),
            "volume" => docker(&["volume", "ls", "-q", "--filter", &label]),
            "image" => docker(&["images", "-q", "--filter", &label]),
            _ => docker(&["network", "ls", "-q", "--filter", &label]),
        };
        text.lines().map(str::to_string).collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for kind in ["container", "volume", "network", "image"] {
            for id in self.labelled(kind) {
                match kind {
                    "container" => docker(&["rm", "-f", &id]),
                    "image" => docker(&["rmi", "-f", &id]),
                    other => docker(&[other, "rm", &id]),
                };
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_lifecycle() {
    if !docker_available() {
        return;
    }
    let f = Fixture::new("net");
    let ctx = f.ctx("docker_network", "network.main/docker_network.main");
    let name = format!("{}-net", f.stack);
    let config = f.config(
        "docker_network",
        serde_json::json!({"name": name, "driver": "bridge", "labels": {"team": "a"}}),
    );
    let created = f.provider.create(&ctx, &config).await.unwrap();
    assert_eq!(
        docker(&["network", "inspect", "-f", "{{index .Labels \"stackc.address\"}}", &name]),
        ctx.address.0
    );
    let read = f.provider.read(&ctx, &created).await.unwrap().unwrap();
    assert_eq!(read, created);
    f.assert_no_change(&ctx, &read, &config);
    let renamed =
        f.config("docker_network", serde_json::json!({"name": format!("{name}-2"), "driver": "bridge"}));
    assert!(!f.keeps(&ctx, &read, &renamed), "a new name replaces the network");
    let imported = f.provider.import(&ctx, &name).await.unwrap().unwrap();
    assert_eq!(imported.id, created.id);
    f.assert_no_change(&ctx, &imported, &config);
    f.provider.delete(&ctx, &created).await.unwrap();
    assert!(f.labelled("network").is_empty());
    assert_eq!(f.provider.read(&ctx, &created).await.unwrap(), None);
    // Removed behind stackc's back: gone on refresh (planned again).
    let again = f.provider.create(&ctx, &config).await.unwrap();
    docker(&["network", "rm", &name]);
    assert_eq!(f.provider.read(&ctx, &again).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_lifecycle_keeps_data_unless_asked() {
    if !docker_available() {
        return;
    }
    let f = Fixture::new("vol");
    let ctx = f.ctx("docker_volume", "database.main/docker_volume.data[0]");
    let name = format!("{}-data-0", f.stack);
    let config = f.config("docker_volume", serde_json::json!({"name": name}));
    let created = f.provider.create(&ctx, &config).await.unwrap();
    let read = f.provider.read(&ctx, &created).await.unwrap().unwrap();
    f.assert_no_change(&ctx, &read, &config);
    let imported = f.provider.import(&ctx, &name).await.unwrap().unwrap();
    assert_eq!(imported.id, name);
    // Deleting keeps the volume (and its data)...
    f.provider.delete(&ctx, &created).await.unwrap();
    assert_eq!(f.labelled("volume"), vec![name.clone()]);
    // ...a create of the same name finds it...
    let again = f.provider.create(&ctx, &config).await.unwrap();
    assert_eq!(again.id, name);
    // ...and with --delete-data it goes.
    f.provider.set_delete_data(true);
    f.provider.delete(&ctx, &again).await.unwrap();
    assert!(f.labelled("volume").is_empty());
    assert_eq!(f.provider.read(&ctx, &again).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_lifecycle() {
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
    let file_ctx = f.ctx("local_file", "config.api/local_file.value[\"MODE\"]");
    let file_config = f.config(
        "local_file",
        serde_json::json!({"path": ".stackc/local/configs/api/MODE", "content": "fast", "file_permission": "0644"}),
    );
    let file = f.provider.create(&file_ctx, &file_config).await.unwrap();
    let ctx = f.ctx("docker_container", "service.api/docker_container.replica[0]");
    let name = format!("{}-api-0", f.stack);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let secret = "s3cr3t-value-not-in-inspect";
    let spec = |env: &str, restart: &str, ports: bool| {
        serde_json::json!({
            "name": name,
            "image": "stackc-test-app:1",
            "env": {"GREETING": env},
            "secret_env": {"API_TOKEN": secret},
            "network": network,
            "network_aliases": ["api", "api-0"],
            "ports": if ports { serde_json::json!([{"internal": 8080, "external": port, "protocol": "tcp"}]) } else { serde_json::Value::Null },
            "mounts": [{"target": "/config", "source": ".stackc/local/configs/api", "type": "bind", "read_only": true}],
            "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/healthz"], "interval": "1s", "retries": 3},
            "memory": "64Mi",
            "cpus": "500m",
            "restart": restart,
            "labels": {"stackc.component": "service"},
        })
    };
    let config = f.config("docker_container", spec("hello", "unless-stopped", true));
    let created = f.provider.create(&ctx, &config).await.unwrap();
    assert_eq!(docker(&["inspect", "-f", "{{.State.Health.Status}}", &name]), "healthy");
    assert_eq!(docker(&["exec", &name, "cat", "/config/MODE"]), "fast");
    assert_eq!(docker(&["exec", &name, "cat", "/run/secrets/API_TOKEN"]), secret);
    assert!(!docker(&["inspect", &name]).contains(secret), "the secret is in docker inspect");
    assert_eq!(
        docker(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", &name]),
        "67108864 500000000"
    );
    let read = f.provider.read(&ctx, &created).await.unwrap().unwrap();
    f.assert_no_change(&ctx, &read, &config);

    // In place: the restart policy (same container).
    let in_place = f.config("docker_container", spec("hello", "always", true));
    assert!(f.keeps(&ctx, &read, &in_place));
    let updated = f.provider.update(&ctx, &read, &in_place).await.unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(docker(&["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", &name]), "always");
    // `state rm` then import, by name and by id: every attribute is read
    // back (ports, mounts, secrets from their files...), the plan is empty.
    f.assert_imports(&ctx, &[&name, &updated.id], &updated, &in_place).await;

    // Re-created: a new env (without published ports, the new one starts
    // before the old one goes).
    let recreate = f.config("docker_container", spec("bonjour", "always", false));
    assert!(!f.keeps(&ctx, &updated, &recreate));
    let recreated = f.provider.update(&ctx, &updated, &recreate).await.unwrap();
    assert_ne!(recreated.id, created.id);
    assert_eq!(docker(&["inspect", "-f", "{{.Id}}", &name]), recreated.id);
    assert!(docker(&["inspect", "-f", "{{.Config.Env}}", &name]).contains("GREETING=bonjour"));
    assert_eq!(f.labelled("container").len(), 1);

    // A replacement that never becomes ready: the error has its last log
    // lines, and the old container stays.
    let mut broken = spec("broken", "no", false);
    broken["command"] = serde_json::json!(["sh", "-c", "echo cannot start: missing config; exit 3"]);
    let broken = f.config("docker_container", broken);
    let error = f.provider.update(&ctx, &recreated, &broken).await.unwrap_err();
    assert!(error.message.contains("did not become ready"), "{}", error.message);
    assert!(error.message.contains("cannot start: missing config"), "{}", error.message);
    assert_eq!(docker(&["inspect", "-f", "{{.Id}}", &name]), recreated.id);
    assert_eq!(f.labelled("container").len(), 1);

    // Import by name and by id of the re-created one (no published port).
    f.assert_imports(&ctx, &[&name, &recreated.id], &recreated, &recreate).await;
    assert!(f.provider.import(&ctx, &format!("{name}-absent")).await.unwrap().is_none());

    // Removed behind stackc's back: gone on refresh; created again.
    docker(&["rm", "-f", &name]);
    assert_eq!(f.provider.read(&ctx, &recreated).await.unwrap(), None);
    let back = f.provider.create(&ctx, &recreate).await.unwrap();
    f.provider.delete(&ctx, &back).await.unwrap();
    f.provider.delete(&file_ctx, &file).await.unwrap();
    f.provider.delete(&net_ctx, &net).await.unwrap();
    assert!(f.labelled("container").is_empty() && f.labelled("network").is_empty());
    assert!(!f.dir.path().join(".stackc/local/configs").exists());
    assert!(
        !f.provider.secrets_dir().exists(),
        "secret files are left in {}",
        f.provider.secrets_dir().display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_file_lifecycle() {
    if !docker_available() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new("file");
    let ctx = f.ctx("local_file", "load_balancer.public/local_file.config");
    let config = f.config(
        "local_file",
        serde_json::json!({"path": "lb/nginx.conf", "content": "one", "file_permission": "0644"}),
    );
    let created = f.provider.create(&ctx, &config).await.unwrap();
    let path = f.dir.path().join("lb/nginx.conf");
    assert_eq!(created.id, path.to_string_lossy());
    f.assert_no_change(&ctx, &f.provider.read(&ctx, &created).await.unwrap().unwrap(), &config);
    // Changed in place (the resource; the file is replaced whole).
    let two = f.config(
        "local_file",
        serde_json::json!({"path": "lb/nginx.conf", "content": "two", "file_permission": "0644"}),
    );
    assert!(f.keeps(&ctx, &created, &two));
    let updated = f.provider.update(&ctx, &created, &two).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temporary file is left");
    // Edited behind stackc's back: drift in the content.
    std::fs::write(&path, "edited").unwrap();
    let read = f.provider.read(&ctx, &updated).await.unwrap().unwrap();
    assert_eq!(read.attributes.get_path(&["content"]).and_then(Value::as_str), Some("edited"));
    f.provider.delete(&ctx, &updated).await.unwrap();
    assert!(!path.exists());

    // A secret: outside the stack directory, owner-only, removed on delete.
    let secret_ctx = f.ctx("local_file", "secret.token/local_file.value");
    let secret = f.config(
        "local_file",
        serde_json::json!({"path": ".stackc/local/secrets/token/value", "sensitive_content": "hunter2"}),
    );
    let written = f.provider.create(&secret_ctx, &secret).await.unwrap();
    let host = std::path::PathBuf::from(&written.id);
    assert!(!host.starts_with(f.dir.path()) && host.starts_with(f.provider.secrets_dir()));
    assert_eq!(std::fs::metadata(&host).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(host.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    f.provider.delete(&secret_ctx, &written).await.unwrap();
    assert!(!f.provider.secrets_dir().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_built_from_a_context_is_tagged_by_its_hash() {
    if !docker_available() {
        return;
    }
    let f = Fixture::new("img");
    let context = f.dir.path().join("api");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM stackc-test-app:1\nCOPY motd /motd\n").unwrap();
    std::fs::write(context.join("motd"), "first").unwrap();
    let ctx = f.ctx("docker_image", "service.api/docker_image.build[0]");
    let name = format!("stackc-{}-api", f.stack);
    let config = f.config("docker_image", serde_json::json!({"name": name, "context": "./api"}));
    let planned = f.provider.plan(&ctx, None, &config).unwrap();
    let reference = planned.get_path(&["ref"]).and_then(Value::as_str).unwrap().to_string();
    assert!(reference.starts_with(&format!("{name}:")));
    let built = f.provider.create(&ctx, &config).await.unwrap();
    assert_eq!(built.attributes.get_path(&["ref"]).and_then(Value::as_str), Some(reference.as_str()));
    assert_eq!(docker(&["run", "--rm", &reference, "cat", "/motd"]), "first");
    let read = f.provider.read(&ctx, &built).await.unwrap().unwrap();
    f.assert_no_change(&ctx, &read, &config);
    // An unchanged context is not built again.
    let builds = |p: &LocalProvider| p.api_calls().get("ImageBuild").copied().unwrap_or(0);
    let before = builds(&f.provider);
    f.provider.create(&ctx, &config).await.unwrap();
    assert_eq!(builds(&f.provider), before);
    // A changed one gets a new tag.
    std::fs::write(context.join("motd"), "second").unwrap();
    let replanned = f.provider.plan(&ctx, Some(&read), &config).unwrap();
    let second = replanned.get_path(&["ref"]).and_then(Value::as_str).unwrap().to_string();
    assert_ne!(second, reference);
    let rebuilt = f.provider.update(&ctx, &read, &config).await.unwrap();
    assert_eq!(docker(&["run", "--rm", &second, "cat", "/motd"]), "second");
    // The previous tag stays while containers may still run it (the
    // rollout comes next); delete removes every tag built for the resource.
    assert!(!docker(&["images", "-q", &reference]).is_empty());
    f.provider.delete(&ctx, &rebuilt).await.unwrap();
    assert!(
        docker(&["images", "-q", &second]).is_empty() && docker(&["images", "-q", &reference]).is_empty()
    );
}
