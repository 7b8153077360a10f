//! `docker_container`: create, read, update, delete.
//!
//! A container is made from its configuration plus the ownership labels;
//! `secret_env` never reaches the Engine as a value: each secret is a file
//! (owner-only, outside the stack directory) bind-mounted read-only at
//! `/run/secrets/<KEY>`, and the env var `<KEY>_FILE` names it (the
//! convention of the official images), so `docker inspect` shows no secret.
//!
//! A started container is ready when its health check passes (or, with
//! none, when it still runs a moment later); one that is not stops the
//! operation with its last log lines. An update of `restart`, `memory` or
//! `cpus` alone is made in place; any other change re-creates the container:
//! the new one is started under a temporary name and must be ready before
//! the old one is removed and the new one takes its name (with published
//! ports, the old one must go first). Re-creations of one resource block
//! (the replicas of a service) run one at a time, and after each the load
//! balancers of the stack are told to reload (SIGHUP to nginx), so they send
//! requests only to running replicas.

use crate::engine::{engine_error, is_not_found, Engine};
use crate::files::{create_dirs, hex, write_file, HostPaths};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerUpdateBody, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, Mount, MountTypeEnum, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use serde_json::{json, Value as Json};
use stackc_providers::{HealthStatus, ObjectHealth, OperationContext, ProviderError, ResourceUsage};
use std::collections::HashMap;
use std::time::Duration;

pub const LABEL_STACK: &str = "stackc.stack";
pub const LABEL_TARGET: &str = "stackc.target";
pub const LABEL_ADDRESS: &str = "stackc.address";
/// The directory of a container's secret files (a path, not a secret).
const LABEL_SECRETS: &str = "stackc.secret-files";
const LABEL_COMPONENT: &str = "stackc.component";

/// Attributes an update changes in place.
const IN_PLACE: &[&str] = &["restart", "memory", "cpus"];

/// One container's usage now, from one Engine stats call (`stream=false`:
/// the Engine samples twice, about a second apart, so the CPU figure is
/// over that second). `Ok(None)` when the container is gone or not
/// running. `config` is its recorded attributes: `cpus` and `memory` are
/// the limits the percentages are relative to.
pub async fn usage(engine: &Engine, id: &str, config: &Json) -> Result<Option<ResourceUsage>, ProviderError> {
    let docker = engine.client().await?;
    engine.count("ContainerStats");
    let options = bollard::query_parameters::StatsOptionsBuilder::new().stream(false).one_shot(false).build();
    let mut stream = docker.stats(id, Some(options));
    match stream.next().await {
        None => Ok(None),
        Some(Err(e)) if is_not_found(&e) => Ok(None),
        Some(Err(e)) => Err(engine_error("cannot read the container's statistics", e)),
        Some(Ok(stats)) => Ok(usage_of(&stats, config)),
    }
}

/// Usage as `docker stats` computes it: CPU is the container's share of
/// the host's CPU time between the two samples times the online CPUs (100
/// = one whole CPU), here divided by the container's `cpus` limit (one CPU
/// when it has none); memory is the usage less the inactive page cache,
/// over the `memory` limit (none without one: the Engine then reports the
/// host's memory, which says nothing about the replica). `None` when the
/// container was not running during the samples.
pub fn usage_of(stats: &bollard::models::ContainerStatsResponse, config: &Json) -> Option<ResourceUsage> {
    let cpu = stats.cpu_stats.as_ref()?;
    let system = cpu.system_cpu_usage.filter(|s| *s > 0)?;
    let total = cpu.cpu_usage.as_ref().and_then(|u| u.total_usage).unwrap_or(0);
    let pre = stats.precpu_stats.as_ref();
    let pre_total = pre.and_then(|p| p.cpu_usage.as_ref()).and_then(|u| u.total_usage).unwrap_or(0);
    let pre_system = pre.and_then(|p| p.system_cpu_usage).unwrap_or(0);
    let online = match cpu.online_cpus {
        Some(n) if n > 0 => f64::from(n),
        _ => cpu.cpu_usage.as_ref().and_then(|u| u.percpu_usage.as_ref()).map_or(1, Vec::len) as f64,
    };
    let cpu_delta = total.saturating_sub(pre_total) as f64;
    let system_delta = system.saturating_sub(pre_system) as f64;
    // Without a first sample (a container started between the two) there
    // is no interval to measure over.
    let cpu_of_one = if pre_system == 0 {
        None
    } else if system_delta > 0.0 && cpu_delta > 0.0 {
        Some(cpu_delta / system_delta * online * 100.0)
    } else {
        Some(0.0)
    };
    let cpus = config["cpus"].as_str().and_then(quantity).filter(|c| *c > 0.0).unwrap_or(1.0);
    let memory_percent = stats.memory_stats.as_ref().and_then(|memory| {
        let limit = config["memory"].as_str().and_then(quantity).filter(|l| *l > 0.0)?;
        let usage = memory.usage?;
        let cache = memory.stats.as_ref().and_then(|s| {
            // cgroup v2 names it `inactive_file`; v1 `total_inactive_file`.
            s.get("inactive_file").or_else(|| s.get("total_inactive_file")).copied()
        });
        let used = match cache {
            Some(cache) if cache < usage => usage - cache,
            _ => usage,
        };
        Some(used as f64 / limit * 100.0)
    });
    Some(ResourceUsage { cpu_percent: cpu_of_one.map(|c| c / cpus), memory_percent })
}

/// The ownership labels of an object.
pub fn ownership(ctx: &OperationContext, stack: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_STACK.to_string(), stack.to_string()),
        (LABEL_TARGET.to_string(), crate::TARGET.to_string()),
        (LABEL_ADDRESS.to_string(), ctx.address.to_string()),
    ])
}

/// `"10s"`, `"1m30s"`, `"500ms"` as nanoseconds.
pub fn duration_ns(text: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += n * match unit.as_str() {
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
    }
    if !number.is_empty() {
        total += number.parse::<f64>().ok()? * 1e9;
    }
    Some(total as i64)
}

/// A Kubernetes-style quantity (`"256Mi"`, `"1G"`, `"250m"`, `"0.5"`).
pub fn quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    Some(n * factor)
}

fn invalid(what: &str, value: &str) -> ProviderError {
    ProviderError::new(format!("`{value}` is not a valid {what}"))
}

fn restart_policy(name: Option<&str>) -> Result<RestartPolicy, ProviderError> {
    let name = match name.unwrap_or("no") {
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => {
            return Err(invalid(
                "restart policy (\"no\", \"always\", \"unless-stopped\", \"on-failure\")",
                other,
            ))
        }
    };
    Ok(RestartPolicy { name: Some(name), maximum_retry_count: None })
}

fn memory_bytes(config: &Json) -> Result<Option<i64>, ProviderError> {
    config["memory"]
        .as_str()
        .map(|m| quantity(m).map(|b| b as i64).ok_or_else(|| invalid("memory quantity", m)))
        .transpose()
}

fn nano_cpus(config: &Json) -> Result<Option<i64>, ProviderError> {
    config["cpus"]
        .as_str()
        .map(|c| quantity(c).map(|n| (n * 1e9) as i64).ok_or_else(|| invalid("CPU quantity", c)))
        .transpose()
}

fn strings(value: &Json) -> Option<Vec<String>> {
    value.as_array().map(|items| items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
}

pub(crate) fn string_map(value: &Json) -> Vec<(String, String)> {
    value
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

/// What the Engine is asked to create.
fn create_body(
    config: &Json,
    labels: HashMap<String, String>,
    paths: &HostPaths,
    secret_dir: Option<&std::path::Path>,
) -> Result<ContainerCreateBody, ProviderError> {
    let mut env: Vec<String> =
        string_map(&config["env"]).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut mounts = Vec::new();
    for mount in config["mounts"].as_array().into_iter().flatten() {
        let kind = mount["type"].as_str().unwrap_or("volume");
        let source = mount["source"].as_str().unwrap_or_default();
        let (typ, source) = match kind {
            "volume" => (MountTypeEnum::VOLUME, source.to_string()),
            "bind" => (MountTypeEnum::BIND, paths.resolve(source, false).to_string_lossy().into_owned()),
            other => return Err(invalid("mount type (\"volume\" or \"bind\")", other)),
        };
        mounts.push(Mount {
            target: mount["target"].as_str().map(str::to_string),
            source: Some(source),
            typ: Some(typ),
            read_only: mount["read_only"].as_bool(),
            ..Default::default()
        });
    }
    if let Some(dir) = secret_dir {
        for (key, _) in string_map(&config["secret_env"]) {
            let target = format!("/run/secrets/{key}");
            env.push(format!("{key}_FILE={target}"));
            mounts.push(Mount {
                target: Some(target),
                source: Some(dir.join(&key).to_string_lossy().into_owned()),
                typ: Some(MountTypeEnum::BIND),
                read_only: Some(true),
                ..Default::default()
            });
        }
    }
    let mut exposed = HashMap::new();
    let mut bindings = HashMap::new();
    for port in config["ports"].as_array().into_iter().flatten() {
        let internal = port["internal"].as_f64().unwrap_or(0.0) as u64;
        let protocol = port["protocol"].as_str().unwrap_or("tcp");
        let key = format!("{internal}/{protocol}");
        exposed.insert(key.clone(), HashMap::new());
        let host_port = port["external"].as_f64().map(|p| (p as u64).to_string());
        bindings.insert(key, Some(vec![PortBinding { host_ip: None, host_port }]));
    }
    let healthcheck = match config["healthcheck"].as_object() {
        None => None,
        Some(health) => {
            let interval = match health.get("interval").and_then(Json::as_str) {
                Some(text) => Some(duration_ns(text).ok_or_else(|| invalid("duration", text))?),
                None => None,
            };
            Some(HealthConfig {
                test: health.get("test").and_then(strings),
                interval,
                timeout: interval,
                retries: health.get("retries").and_then(Json::as_f64).map(|r| r as i64),
                ..Default::default()
            })
        }
    };
    let network = config["network"].as_str().map(str::to_string);
    let networking_config = network.as_ref().map(|network| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.clone(),
            EndpointSettings { aliases: strings(&config["network_aliases"]), ..Default::default() },
        )])),
    });
    let mut all_labels: HashMap<String, String> = string_map(&config["labels"]).into_iter().collect();
    all_labels.extend(labels);
    Ok(ContainerCreateBody {
        image: config["image"].as_str().map(str::to_string),
        cmd: strings(&config["command"]),
        env: Some(env),
        labels: Some(all_labels),
        healthcheck,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            mounts: Some(mounts),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            restart_policy: Some(restart_policy(config["restart"].as_str())?),
            memory: memory_bytes(config)?,
            nano_cpus: nano_cpus(config)?,
            network_mode: network.clone(),
            ..Default::default()
        }),
        networking_config,
        ..Default::default()
    })
}

/// The container kind, for one operation.
pub struct Containers<'a> {
    pub engine: &'a Engine,
    pub paths: &'a HostPaths,
    pub stack: &'a str,
    /// Where pull progress goes.
    pub report: crate::image::Reporter,
}

impl Containers<'_> {
    async fn docker(&self) -> Result<&bollard::Docker, ProviderError> {
        self.engine.client().await
    }

    /// Writes the secret files of `secret_env` into a new directory.
    fn write_secrets(&self, name: &str, config: &Json) -> Result<Option<std::path::PathBuf>, ProviderError> {
        let secrets = string_map(&config["secret_env"]);
        if secrets.is_empty() {
            return Ok(None);
        }
        let mut random = [0u8; 4];
        getrandom_fill(&mut random);
        let dir = self.paths.secrets_dir.join("containers").join(format!("{name}-{}", hex(&random)));
        create_dirs(&dir, true)?;
        for (key, value) in secrets {
            if key.contains('/') || key.is_empty() {
                return Err(invalid("secret_env name", &key));
            }
            write_file(&dir.join(&key), value.as_bytes(), 0o400, true)?;
        }
        Ok(Some(dir))
    }

    /// Creates and starts a container named `name`, then waits until it is
    /// ready. On failure nothing of it is left.
    async fn start_new(
        &self,
        ctx: &OperationContext,
        name: &str,
        config: &Json,
    ) -> Result<String, ProviderError> {
        let docker = self.docker().await?;
        let image = config["image"].as_str().unwrap_or_default();
        crate::image::ensure_present(self.engine, image, &self.report).await?;
        let secret_dir = self.write_secrets(name, config)?;
        let mut labels = ownership(ctx, self.stack);
        if let Some(dir) = &secret_dir {
            labels.insert(LABEL_SECRETS.to_string(), dir.to_string_lossy().into_owned());
        }
        let cleanup_secrets = || {
            if let Some(dir) = &secret_dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        };
        let body = match create_body(config, labels, self.paths, secret_dir.as_deref()) {
            Ok(body) => body,
            Err(e) => {
                cleanup_secrets();
                return Err(e);
            }
        };
        self.engine.count("ContainerCreate");
        let created = docker
            .create_container(Some(CreateContainerOptionsBuilder::new().name(name).build()), body)
            .await;
        let id = match created {
            Ok(created) => created.id,
            Err(e) => {
                cleanup_secrets();
                return Err(engine_error(&format!("cannot create the container `{name}`"), e));
            }
        };
        self.engine.count("ContainerStart");
        if let Err(e) =
            docker.start_container(&id, None::<bollard::query_parameters::StartContainerOptions>).await
        {
            let _ = self.remove(&id).await;
            let message = e.to_string();
            if message.contains("port is already allocated") || message.contains("address already in use") {
                let ports: Vec<String> = config["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["external"].as_f64().map(|p| (p as u64).to_string()))
                    .collect();
                return Err(ProviderError {
                    code: Some("PortInUse".into()),
                    message: format!(
                        "host port {} is already in use (another program or container listens on it): choose \
                         another `port`, or stop what uses it",
                        ports.join(", ")
                    ),
                    retryable: false,
                });
            }
            return Err(engine_error(&format!("cannot start the container `{name}`"), e));
        }
        if let Err(e) = self.wait_ready(&id, name, config).await {
            let _ = self.remove(&id).await;
            return Err(e);
        }
        Ok(id)
    }

    /// Waits until the container's health check passes (with none: until it
    /// still runs half a second after it started).
    async fn wait_ready(&self, id: &str, name: &str, config: &Json) -> Result<(), ProviderError> {
        let docker = self.docker().await?;
        let health = config["healthcheck"].as_object();
        let limit = match health {
            Some(h) => {
                let interval =
                    h.get("interval").and_then(Json::as_str).and_then(duration_ns).unwrap_or(30_000_000_000);
                let retries = h.get("retries").and_then(Json::as_f64).unwrap_or(3.0) as u32;
                Duration::from_nanos(interval as u64) * (retries + 2) + Duration::from_secs(10)
            }
            None => Duration::from_millis(500),
        };
        let start = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.engine.count("ContainerInspect");
            let inspected = docker
                .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
                .await
                .map_err(|e| engine_error(&format!("cannot inspect the container `{name}`"), e))?;
            let state = inspected.state.unwrap_or_default();
            let running = state.running.unwrap_or(false) && !state.restarting.unwrap_or(false);
            let why = if !running {
                Some(format!("it stopped (exit code {})", state.exit_code.unwrap_or(0)))
            } else {
                let output = state.health.as_ref().and_then(last_check_output);
                match state.health.and_then(|h| h.status) {
                    Some(HealthStatusEnum::HEALTHY) => return Ok(()),
                    Some(HealthStatusEnum::UNHEALTHY) => Some(match output {
                        Some(output) => format!("its health check failed (its last output: {output})"),
                        None => "its health check failed".to_string(),
                    }),
                    _ if health.is_none() => return Ok(()),
                    _ if start.elapsed() > limit => {
                        Some(format!("its health check did not pass within {}s", limit.as_secs()))
                    }
                    _ => None,
                }
            };
            if let Some(why) = why {
                let logs = self.last_logs(id).await;
                return Err(ProviderError {
                    code: Some("NotReady".into()),
                    message: format!(
                        "the container `{name}` did not become ready: {why}; its last log lines:\n{logs}"
                    ),
                    retryable: false,
                });
            }
        }
    }

    async fn last_logs(&self, id: &str) -> String {
        last_logs(self.engine, id).await
    }

    /// Stops (SIGTERM, then SIGKILL after 5 s) and removes a container, and
    /// its secret files.
    pub async fn remove(&self, id: &str) -> Result<(), ProviderError> {
        let docker = self.docker().await?;
        self.engine.count("ContainerInspect");
        let secrets = match docker
            .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
        {
            Ok(inspected) => {
                inspected.config.and_then(|c| c.labels).and_then(|l| l.get(LABEL_SECRETS).cloned())
            }
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(engine_error("cannot inspect the container", e)),
        };
        self.engine.count("ContainerStop");
        match docker.stop_container(id, Some(StopContainerOptionsBuilder::new().t(5).build())).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {}
            Err(e) => return Err(engine_error("cannot stop the container", e)),
        }
        self.engine.count("ContainerDelete");
        match docker
            .remove_container(id, Some(RemoveContainerOptionsBuilder::new().force(true).build()))
            .await
        {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(engine_error("cannot remove the container", e)),
        }
        if let Some(dir) = secrets {
            let dir = std::path::PathBuf::from(dir);
            if dir.starts_with(&self.paths.secrets_dir) {
                let _ = std::fs::remove_dir_all(&dir);
                crate::files::remove_empty_parents(&dir, std::slice::from_ref(&self.paths.secrets_dir));
                let _ = std::fs::remove_dir(&self.paths.secrets_dir);
            }
        }
        Ok(())
    }

    /// Removes a container that has `name` but is not `keep`, when it is
    /// ours (a leftover of an interrupted apply, or one re-created out of
    /// band); someone else's is an error naming it.
    async fn clear_name(&self, ctx: &OperationContext, name: &str) -> Result<(), ProviderError> {
        let docker = self.docker().await?;
        self.engine.count("ContainerInspect");
        match docker.inspect_container(name, None::<bollard::query_parameters::InspectContainerOptions>).await
        {
            Ok(found) => {
                let labels = found.config.and_then(|c| c.labels).unwrap_or_default();
                let ours = labels.get(LABEL_STACK).map(String::as_str) == Some(self.stack)
                    && labels.get(LABEL_ADDRESS) == Some(&ctx.address.to_string());
                if !ours {
                    return Err(ProviderError {
                        code: Some("NameInUse".into()),
                        message: format!(
                            "a container named `{name}` already exists and is not this stack's (remove it with \
                             `docker rm -f {name}`, or rename the stack)"
                        ),
                        retryable: false,
                    });
                }
                self.remove(found.id.as_deref().unwrap_or(name)).await
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(engine_error("cannot inspect the container", e)),
        }
    }

    /// Secret files of an earlier container of this name that was removed
    /// behind stackc's back (`docker rm -f`): nothing else removes them.
    fn remove_stale_secrets(&self, name: &str) {
        let Ok(entries) = std::fs::read_dir(self.paths.secrets_dir.join("containers")) else { return };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            // `<name>-<8 hex>`, or `<name>-next-<6 hex>-<8 hex>` for one
            // that took the name after a re-creation.
            let hex_of =
                |text: &str, len: usize| text.len() == len && text.chars().all(|c| c.is_ascii_hexdigit());
            let stale =
                file_name.strip_prefix(name).and_then(|rest| rest.strip_prefix('-')).is_some_and(|suffix| {
                    hex_of(suffix, 8)
                        || suffix
                            .strip_prefix("next-")
                            .and_then(|rest| rest.split_once('-'))
                            .is_some_and(|(a, b)| hex_of(a, 6) && hex_of(b, 8))
                });
            if stale {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    pub async fn create(&self, ctx: &OperationContext, config: &Json) -> Result<Json, ProviderError> {
        let name = config["name"].as_str().unwrap_or_default().to_string();
        self.clear_name(ctx, &name).await?;
        self.remove_stale_secrets(&name);
        let id = self.start_new(ctx, &name, config).await?;
        // A replica created again (removed out of band) has a new address.
        self.reload_load_balancers(config).await;
        self.read_back(&id, config).await
    }

    pub async fn update(
        &self,
        ctx: &OperationContext,
        prior_id: &str,
        prior: &Json,
        config: &Json,
    ) -> Result<Json, ProviderError> {
        let docker = self.docker().await?;
        let name = config["name"].as_str().unwrap_or_default().to_string();
        if !needs_recreate(prior, config) {
            let body = ContainerUpdateBody {
                restart_policy: Some(restart_policy(config["restart"].as_str())?),
                memory: memory_bytes(config)?.or(Some(0)),
                memory_swap: memory_bytes(config)?.map(|_| -1),
                nano_cpus: nano_cpus(config)?.or(Some(0)),
                ..Default::default()
            };
            self.engine.count("ContainerUpdate");
            docker
                .update_container(prior_id, body)
                .await
                .map_err(|e| engine_error(&format!("cannot update the container `{name}`"), e))?;
            if prior["running"] == json!(false) {
                // Found stopped: started again, ready before it counts as done.
                self.engine.count("ContainerStart");
                docker
                    .start_container(prior_id, None::<bollard::query_parameters::StartContainerOptions>)
                    .await
                    .map_err(|e| engine_error(&format!("cannot start the container `{name}`"), e))?;
                self.wait_ready(prior_id, &name, config).await?;
                self.reload_load_balancers(config).await;
            }
            return self.read_back(prior_id, config).await;
        }
        let publishes = config["ports"].as_array().is_some_and(|p| !p.is_empty());
        let id = if publishes {
            // Its host ports cannot be bound twice: the old one goes first.
            self.remove(prior_id).await?;
            self.clear_name(ctx, &name).await?;
            self.start_new(ctx, &name, config).await?
        } else {
            let mut random = [0u8; 3];
            getrandom_fill(&mut random);
            let next = format!("{name}-next-{}", hex(&random));
            let id = self.start_new(ctx, &next, config).await?;
            // Both answer now; then only the new one.
            self.reload_load_balancers(config).await;
            self.remove(prior_id).await?;
            self.engine.count("ContainerRename");
            docker
                .rename_container(&id, RenameContainerOptionsBuilder::new().name(&name).build())
                .await
                .map_err(|e| engine_error(&format!("cannot rename the container `{next}` to `{name}`"), e))?;
            id
        };
        self.reload_load_balancers(config).await;
        self.read_back(&id, config).await
    }

    pub async fn delete(&self, id: &str, prior: &Json) -> Result<(), ProviderError> {
        self.remove(id).await?;
        self.reload_load_balancers(prior).await;
        Ok(())
    }

    /// The attributes after a create or update: the configuration plus what
    /// the Engine computed.
    async fn read_back(&self, id: &str, config: &Json) -> Result<Json, ProviderError> {
        let docker = self.docker().await?;
        self.engine.count("ContainerInspect");
        let inspected = docker
            .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(|e| engine_error("cannot inspect the new container", e))?;
        let network = config["network"].as_str().unwrap_or_default();
        let ip = inspected
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(network).and_then(|e| e.ip_address.clone()))
            .unwrap_or_default();
        Ok(with_computed(config, id, &ip))
    }

    /// Sends SIGHUP to the running load balancers of the stack (nginx
    /// reloads its configuration and resolves its backends again), after a
    /// change to anything that is not itself a load balancer.
    pub async fn reload_load_balancers(&self, changed: &Json) {
        if changed["labels"][LABEL_COMPONENT].as_str() == Some("load_balancer") {
            return;
        }
        reload_load_balancers(self.engine, self.stack).await;
    }
}

/// The last lines a container wrote (stdout and stderr), indented, for
/// an error or a health detail; `(no output)` when there are none.
async fn last_logs(engine: &Engine, id: &str) -> String {
    let Ok(docker) = engine.client().await else { return String::new() };
    engine.count("ContainerLogs");
    let options = LogsOptionsBuilder::new().stdout(true).stderr(true).tail("20").build();
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(line)) = stream.next().await {
        text.push_str(&line.to_string());
    }
    let text = text.trim_end();
    if text.is_empty() {
        "  (no output)".to_string()
    } else {
        text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
    }
}

/// How long a container without a health check must have run before it
/// counts as healthy (one that exits at once is not).
pub const STEADY: Duration = Duration::from_secs(1);

/// The health of a container for a rollout's gate (`Provider::health`):
/// one inspect, and its last log lines when it does not run. Gone:
/// `Missing`; stopped, restarting, or restarted less than [`STEADY`] ago:
/// `Unhealthy` with its exit code and log lines; with a health check, the
/// check's status with its last output; without one, `Healthy` once it has
/// run for [`STEADY`].
pub async fn health(engine: &Engine, id: &str) -> Result<ObjectHealth, ProviderError> {
    let docker = engine.client().await?;
    engine.count("ContainerInspect");
    let inspected = match docker
        .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
        .await
    {
        Ok(inspected) => inspected,
        Err(e) if is_not_found(&e) => {
            return Ok(ObjectHealth {
                status: HealthStatus::Missing,
                detail: Some(format!("the container {id} no longer exists")),
            })
        }
        Err(e) => return Err(engine_error("cannot inspect the container", e)),
    };
    let mut health = health_of(&inspected, std::time::SystemTime::now());
    let state = inspected.state.unwrap_or_default();
    if !state.running.unwrap_or(false) || state.restarting.unwrap_or(false) {
        let logs = last_logs(engine, id).await;
        let detail = health.detail.take().unwrap_or_default();
        health.detail = Some(format!("{detail}; its last log lines:\n{logs}"));
    }
    Ok(health)
}

/// [`health`] from an inspect of the container, `now` being the time of
/// the inspect (for how long it has run).
pub fn health_of(inspected: &ContainerInspectResponse, now: std::time::SystemTime) -> ObjectHealth {
    let name = inspected.name.as_deref().unwrap_or_default().trim_start_matches('/');
    let state = inspected.state.clone().unwrap_or_default();
    let exit_code = state.exit_code.unwrap_or(0);
    let restarts = inspected.restart_count.unwrap_or(0);
    let unhealthy = |detail: String| ObjectHealth { status: HealthStatus::Unhealthy, detail: Some(detail) };
    if state.restarting.unwrap_or(false) {
        return unhealthy(format!(
            "`{name}` is restarting: it exited with code {exit_code} and has been restarted {restarts} time(s)"
        ));
    }
    if !state.running.unwrap_or(false) {
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        let oom = if state.oom_killed.unwrap_or(false) { ", killed for want of memory" } else { "" };
        return unhealthy(format!("`{name}` is not running ({status}, exit code {exit_code}{oom})"));
    }
    let running_for = state
        .started_at
        .as_deref()
        .and_then(unix_seconds)
        .map(|started| {
            let now = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
            Duration::from_secs_f64((now - started).max(0.0))
        })
        .unwrap_or_default();
    let check = state
        .health
        .as_ref()
        .filter(|h| !matches!(h.status, None | Some(HealthStatusEnum::NONE) | Some(HealthStatusEnum::EMPTY)));
    match check {
        Some(check) => {
            let output = last_check_output(check);
            let status = match check.status {
                Some(HealthStatusEnum::HEALTHY) => HealthStatus::Healthy,
                Some(HealthStatusEnum::UNHEALTHY) => HealthStatus::Unhealthy,
                _ => HealthStatus::Starting,
            };
            let streak = check.failing_streak.unwrap_or(0);
            let detail = match (status, output) {
                (HealthStatus::Starting, None) => "its health check has not run yet".to_string(),
                (_, None) => {
                    format!("its health check is {}", check.status.map(|s| s.to_string()).unwrap_or_default())
                }
                (HealthStatus::Healthy, Some(output)) => format!("its health check passes: {output}"),
                (_, Some(output)) if streak > 0 => {
                    format!("its health check failed {streak} time(s) in a row, last: {output}")
                }
                (_, Some(output)) => format!("its health check said: {output}"),
            };
            ObjectHealth { status, detail: Some(detail) }
        }
        None if restarts > 0 && running_for < STEADY => unhealthy(format!(
            "`{name}` was restarted {restarts} time(s) (last exit code {exit_code}) and has run for {:.1}s",
            running_for.as_secs_f64()
        )),
        None if running_for < STEADY => ObjectHealth {
            status: HealthStatus::Starting,
            detail: Some(format!(
                "running for {:.1}s; no health check: healthy once it has run for {}s",
                running_for.as_secs_f64(),
                STEADY.as_secs()
            )),
        },
        None => ObjectHealth {
            status: HealthStatus::Healthy,
            detail: Some(format!(
                "running for {}s; no health check, so running counts as healthy",
                running_for.as_secs()
            )),
        },
    }
}

/// The last health check's output, on one line ("" reads as none).
fn last_check_output(health: &bollard::models::Health) -> Option<String> {
    let last = health.log.as_ref()?.last()?;
    let output = last.output.as_deref().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    let code = last.exit_code.unwrap_or(0);
    match (output.is_empty(), code) {
        (true, 0) => None,
        (true, code) => Some(format!("(no output, exit code {code})")),
        (false, 0) => Some(output),
        (false, code) => Some(format!("{output} (exit code {code})")),
    }
}

/// An Engine time (RFC 3339 in UTC, `2026-12-03T06:00:00.123456789Z`) as
/// seconds since the epoch; `None` for another shape or the zero time.
pub fn unix_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock = clock.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    let fraction: f64 = format!("0.{fraction}").parse().ok()?;
    if year < 1970 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60 + second) as f64 + fraction)
}

/// SIGHUP to the stack's running load balancer containers, at least a
/// second after the previous one: nginx can lose track of an old worker
/// when a second reload comes while the first is still under way (the old
/// worker then keeps taking requests with the old configuration).
pub async fn reload_load_balancers(engine: &Engine, stack: &str) {
    let Ok(docker) = engine.client().await else { return };
    let filters = HashMap::from([(
        "label",
        vec![format!("{LABEL_STACK}={stack}"), format!("{LABEL_COMPONENT}=load_balancer")],
    )]);
    engine.count("ContainerList");
    let Ok(found) =
        docker.list_containers(Some(ListContainersOptionsBuilder::new().filters(&filters).build())).await
    else {
        return;
    };
    if found.is_empty() {
        return;
    }
    let _spaced = engine.reload_slot(Duration::from_secs(1)).await;
    for container in found {
        if let Some(id) = container.id {
            engine.count("ContainerKill");
            let _ = docker
                .kill_container(&id, Some(KillContainerOptionsBuilder::new().signal("HUP").build()))
                .await;
        }
    }
}

fn with_computed(config: &Json, id: &str, ip: &str) -> Json {
    let mut attributes = config.clone();
    attributes["id"] = json!(id);
    attributes["ip_address"] = json!(ip);
    let published: Vec<Json> = config["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["external"].as_f64())
        .map(|p| json!(p))
        .collect();
    attributes["published_ports"] = Json::Array(published);
    attributes["running"] = json!(true);
    attributes
}

/// True when going from `prior` to `config` needs a new container.
pub fn needs_recreate(prior: &Json, config: &Json) -> bool {
    let keys: std::collections::BTreeSet<&String> =
        prior.as_object().into_iter().chain(config.as_object()).flat_map(|o| o.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            !IN_PLACE.contains(&k.as_str())
                && !["id", "ip_address", "published_ports", "running"].contains(&k.as_str())
        })
        .any(|k| {
            let of = |v: &Json| canonical(k, v.get(k.as_str()).unwrap_or(&Json::Null));
            of(prior) != of(config)
        })
}

/// One container as the Engine's list shows it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub image: String,
    pub ip: String,
    /// Running, or restarting under its restart policy (the Engine keeps it up).
    pub running: bool,
    /// `running`, `exited`, `created`, ... as the Engine says.
    pub state: String,
    /// The Engine's status line: `Up 3 minutes (healthy)`, `Exited (0) 2 seconds ago`.
    pub status: String,
    pub name: String,
    /// Its `stackc.address` label.
    pub address: String,
}

/// What a refresh reads: the stack's containers by id (one list request).
pub async fn list_owned(engine: &Engine, stack: &str) -> Result<HashMap<String, Listed>, ProviderError> {
    let docker = engine.client().await?;
    let filters = HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])]);
    engine.count("ContainerList");
    let found = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build()))
        .await
        .map_err(|e| engine_error("cannot list the stack's containers", e))?;
    Ok(found
        .into_iter()
        .filter_map(|c| {
            let ip = c
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|n| n.values().find_map(|e| e.ip_address.clone()))
                .unwrap_or_default();
            use bollard::models::ContainerSummaryStateEnum as S;
            let running = matches!(c.state, Some(S::RUNNING) | Some(S::RESTARTING));
            let listed = Listed {
                image: c.image.unwrap_or_default(),
                ip,
                running,
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
                name: c
                    .names
                    .into_iter()
                    .flatten()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                address: c.labels.and_then(|l| l.get(LABEL_ADDRESS).cloned()).unwrap_or_default(),
            };
            Some((c.id?, listed))
        })
        .collect())
}

/// What `stackc status` shows of one container of the stack.
#[derive(Clone, Debug)]
pub struct ContainerStatus {
    pub id: String,
    pub listed: Listed,
    /// `healthy`, `unhealthy`, `starting`; `None` without a health check.
    pub health: Option<String>,
    /// Restarts by the Engine's restart policy since the container was created.
    pub restart_count: i64,
    /// When it last started (RFC 3339, as the Engine says).
    pub started_at: Option<String>,
}

/// Every container of the stack with its health and restarts: one list,
/// then one inspect per container.
pub async fn statuses(engine: &Engine, stack: &str) -> Result<Vec<ContainerStatus>, ProviderError> {
    let docker = engine.client().await?;
    let mut out = Vec::new();
    for (id, listed) in list_owned(engine, stack).await? {
        engine.count("ContainerInspect");
        let inspected = match docker
            .inspect_container(&id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
        {
            Ok(inspected) => inspected,
            // Removed between the list and the inspect.
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(engine_error("cannot inspect a container of the stack", e)),
        };
        let state = inspected.state.unwrap_or_default();
        out.push(ContainerStatus {
            id,
            listed,
            health: state
                .health
                .and_then(|h| h.status)
                .map(|h| h.to_string())
                .filter(|h| h != "none" && !h.is_empty()),
            restart_count: inspected.restart_count.unwrap_or(0),
            started_at: state.started_at.filter(|t| !t.starts_with("0001-")),
        });
    }
    out.sort_by(|a, b| a.listed.address.cmp(&b.listed.address).then(a.listed.name.cmp(&b.listed.name)));
    Ok(out)
}

/// A refreshed container: the recorded attributes with what the Engine says.
pub fn refreshed(prior: &Json, id: &str, listed: &Listed) -> Json {
    let mut attributes = with_computed(prior, id, &listed.ip);
    if !listed.image.is_empty() && !listed.image.starts_with("sha256:") {
        attributes["image"] = json!(listed.image);
    }
    attributes["running"] = json!(listed.running);
    attributes
}

/// Reads an existing container back into the attributes stackc would have
/// recorded for it (`stackc import`): what the Engine merged in from the
/// image (env, command, labels, health check) is taken out again, the
/// secret files mounted under `/run/secrets` become `secret_env` (read from
/// the host files the container's label points to), and bind-mount sources
/// are made relative to the stack directory again. `None`: no such
/// container.
pub async fn import(engine: &Engine, paths: &HostPaths, id: &str) -> Result<Option<Json>, ProviderError> {
    let docker = engine.client().await?;
    engine.count("ContainerInspect");
    let c = match docker
        .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
        .await
    {
        Ok(c) => c,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(engine_error("cannot inspect the container", e)),
    };
    let config = c.config.unwrap_or_default();
    let host = c.host_config.unwrap_or_default();
    let container_id = c.id.unwrap_or_default();
    // What the image gives a container that does not set it.
    let image_config = match config.image.as_deref() {
        Some(image) => {
            engine.count("ImageInspect");
            match docker.inspect_image(image).await {
                Ok(found) => found.config.unwrap_or_default(),
                Err(e) if is_not_found(&e) => Default::default(),
                Err(e) => return Err(engine_error(&format!("cannot inspect the image `{image}`"), e)),
            }
        }
        None => Default::default(),
    };
    let labels = config.labels.clone().unwrap_or_default();
    let secret_dir = labels.get(LABEL_SECRETS).map(std::path::PathBuf::from);

    // Secrets: `/run/secrets/KEY` bind mounts of files in the container's
    // secrets directory; their values are read from those files.
    let mut secret_env = serde_json::Map::new();
    let mut mounts = Vec::new();
    for mount in host.mounts.clone().unwrap_or_default() {
        let source = mount.source.clone().unwrap_or_default();
        let target = mount.target.clone().unwrap_or_default();
        if let (Some(dir), Some(key)) = (&secret_dir, target.strip_prefix("/run/secrets/")) {
            if std::path::Path::new(&source) == dir.join(key) {
                let value = std::fs::read_to_string(&source).map_err(|e| {
                    ProviderError::new(format!(
                        "cannot read the secret `{key}` of the container from `{source}`: {e}"
                    ))
                })?;
                secret_env.insert(key.to_string(), json!(value));
                continue;
            }
        }
        let kind = match mount.typ {
            Some(MountTypeEnum::BIND) => "bind",
            Some(MountTypeEnum::VOLUME) => "volume",
            other => {
                return Err(ProviderError::new(format!(
                    "the container has a mount of type `{}` at `{target}`, which `docker_container` does not manage",
                    other.map(|t| t.to_string()).unwrap_or_default()
                )))
            }
        };
        let source = if kind == "bind" { paths.unresolve(std::path::Path::new(&source)) } else { source };
        mounts.push(json!({
            "target": target,
            "source": source,
            "type": kind,
            "read_only": mount.read_only.unwrap_or(false),
        }));
    }

    let image_env = image_config.env.clone().unwrap_or_default();
    let mut env = serde_json::Map::new();
    for pair in config.env.clone().unwrap_or_default() {
        if image_env.contains(&pair) {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair.as_str(), ""));
        let secret_file = key
            .strip_suffix("_FILE")
            .is_some_and(|k| secret_env.contains_key(k) && value == format!("/run/secrets/{k}"));
        if !secret_file {
            env.insert(key.to_string(), json!(value));
        }
    }
    let command = config.cmd.clone().filter(|cmd| Some(cmd) != image_config.cmd.as_ref());
    let healthcheck = config
        .healthcheck
        .clone()
        .filter(|h| Some(h) != image_config.healthcheck.as_ref())
        .filter(|h| h.test.as_ref().is_some_and(|t| !t.is_empty()))
        .map(|h| {
            json!({
                "test": h.test,
                "interval": h.interval.filter(|i| *i > 0).map(duration_text),
                "retries": h.retries.filter(|r| *r > 0),
            })
        });
    let image_labels = image_config.labels.clone().unwrap_or_default();
    let user_labels: serde_json::Map<String, Json> = labels
        .iter()
        .filter(|(k, _)| ![LABEL_STACK, LABEL_TARGET, LABEL_ADDRESS, LABEL_SECRETS].contains(&k.as_str()))
        .filter(|(k, v)| image_labels.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();

    let mut ports: Vec<(u64, Json)> = Vec::new();
    for (key, bindings) in host.port_bindings.clone().unwrap_or_default() {
        let (internal, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(internal) = internal.parse::<u64>() else { continue };
        let external = bindings
            .unwrap_or_default()
            .into_iter()
            .find_map(|b| b.host_port.filter(|p| !p.is_empty()))
            .and_then(|p| p.parse::<u64>().ok());
        ports.push((internal, json!({"internal": internal, "external": external, "protocol": protocol})));
    }
    ports.sort_by_key(|(internal, _)| *internal);
    let ports: Vec<Json> = ports.into_iter().map(|(_, p)| p).collect();

    let network =
        host.network_mode.clone().filter(|n| !["default", "bridge", "host", "none"].contains(&n.as_str()));
    let endpoint = c
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| match &network {
            Some(name) => n.get(name).cloned(),
            None => n.into_values().next(),
        })
        .unwrap_or_default();
    // The Engine adds the container's short id as an alias of its own.
    let aliases: Vec<String> = endpoint
        .aliases
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !container_id.starts_with(a.as_str()) || a.len() < 12)
        .collect();
    let restart = host.restart_policy.and_then(|r| r.name).map(|n| n.to_string()).filter(|n| !n.is_empty());
    let name = c.name.map(|n| n.trim_start_matches('/').to_string());
    let attributes = json!({
        "id": container_id,
        "name": name,
        "image": config.image,
        "command": command,
        "env": env,
        "secret_env": secret_env,
        "network": network,
        "network_aliases": (!aliases.is_empty()).then_some(aliases),
        "ports": (!ports.is_empty()).then_some(ports),
        "mounts": mounts,
        "healthcheck": healthcheck,
        "memory": host.memory.filter(|m| *m > 0).map(|m| quantity_text(m as f64, true)),
        "cpus": host.nano_cpus.filter(|n| *n > 0).map(|n| quantity_text(n as f64 / 1e9, false)),
        "restart": restart,
        "labels": user_labels,
    });
    let ip = endpoint.ip_address.unwrap_or_default();
    let mut attributes = with_computed(&attributes, &container_id, &ip);
    let state = c.state.unwrap_or_default();
    attributes["running"] = json!(state.running.unwrap_or(false) || state.restarting.unwrap_or(false));
    Ok(Some(attributes))
}

/// Nanoseconds as the shortest duration text (`"1m30s"`, `"500ms"`).
pub fn duration_text(ns: i64) -> String {
    if ns % 1_000_000_000 != 0 {
        return format!("{}ms", ns / 1_000_000);
    }
    let mut s = ns / 1_000_000_000;
    let mut text = String::new();
    for (unit, size) in [("h", 3600), ("m", 60)] {
        if s >= size {
            text.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    if s > 0 || text.is_empty() {
        text.push_str(&format!("{s}s"));
    }
    text
}

/// A quantity as text: bytes with the largest binary suffix that divides
/// them (`"64Mi"`), CPUs in millicores when not whole (`"500m"`).
pub fn quantity_text(n: f64, bytes: bool) -> String {
    if bytes {
        for (suffix, size) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
            let n = n as u64;
            if n >= size && n % size == 0 {
                return format!("{}{suffix}", n / size);
            }
        }
        return format!("{}", n as u64);
    }
    if n.fract() == 0.0 {
        format!("{}", n as u64)
    } else {
        format!("{}m", (n * 1000.0).round() as u64)
    }
}

/// An attribute as the Engine sees it, for comparing a configuration with
/// what was recorded or imported: null, `{}` and `[]` are alike, as are
/// spellings of one quantity or duration, an unset and a false `read_only`,
/// an unset and a `tcp` protocol, an unset and a `"no"` restart policy.
pub fn canonical(name: &str, value: &Json) -> Json {
    drop_nulls(canonical_value(name, value))
}

/// Object fields that are null are as good as absent.
fn drop_nulls(value: Json) -> Json {
    match value {
        Json::Object(m) => Json::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, drop_nulls(v))).collect(),
        ),
        Json::Array(a) => Json::Array(a.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

fn canonical_value(name: &str, value: &Json) -> Json {
    let empty = match value {
        Json::Null => true,
        Json::Object(m) => m.is_empty(),
        Json::Array(a) => a.is_empty(),
        _ => false,
    };
    if empty {
        return Json::Null;
    }
    match name {
        "memory" => {
            value.as_str().and_then(quantity).map(|b| json!(b as i64)).unwrap_or_else(|| value.clone())
        }
        "cpus" => value
            .as_str()
            .and_then(quantity)
            .map(|n| json!((n * 1e9) as i64))
            .unwrap_or_else(|| value.clone()),
        "restart" if value.as_str() == Some("no") => Json::Null,
        "healthcheck" => {
            let mut health = value.clone();
            if let Some(ns) = value["interval"].as_str().and_then(duration_ns) {
                health["interval"] = json!(ns);
            }
            health
        }
        "mounts" => Json::Array(
            value
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let mut m = m.clone();
                    m["read_only"] = json!(m["read_only"].as_bool().unwrap_or(false));
                    m
                })
                .collect(),
        ),
        "ports" => Json::Array(
            value
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let mut p = p.clone();
                    if p["protocol"].is_null() {
                        p["protocol"] = json!("tcp");
                    }
                    p
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// Random bytes for temporary names and directories; the clock's
/// nanoseconds if the system has no randomness to give.
fn getrandom_fill(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        for (b, r) in buf.iter_mut().zip(nanos.to_le_bytes()) {
            *b = r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspected(json: Json) -> ContainerInspectResponse {
        serde_json::from_value(json).unwrap()
    }

    fn at(text: &str) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs_f64(unix_seconds(text).unwrap())
    }

    #[test]
    fn engine_times_read_as_seconds_since_the_epoch() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400.0));
        assert_eq!(unix_seconds("2026-11-24T05:55:55.5Z"), Some(1_795_499_755.5));
        assert_eq!(unix_seconds("0001-01-01T00:00:00Z"), None, "the Engine's zero time");
        assert_eq!(unix_seconds("2026-11-24 05:55:55"), None);
    }

    #[test]
    fn health_follows_the_check_and_says_what_it_said() {
        let now = at("2026-12-03T06:00:10Z");
        let with = |status: &str, streak: i64, output: &str, code: i64| {
            health_of(
                &inspected(json!({
                    "Name": "/s-api-canary-0",
                    "RestartCount": 0,
                    "State": {"Status": "running", "Running": true, "StartedAt": "2026-12-03T06:00:00Z",
                              "Health": {"Status": status, "FailingStreak": streak,
                                         "Log": [{"ExitCode": code, "Output": output}]}}
                })),
                now,
            )
        };
        let healthy = with("healthy", 0, "", 0);
        assert_eq!(healthy.status, HealthStatus::Healthy);
        assert_eq!(healthy.detail.as_deref(), Some("its health check is healthy"));
        let failing = with("unhealthy", 3, "wget: server returned error:\nHTTP/1.0 404 Not Found\n", 1);
        assert_eq!(failing.status, HealthStatus::Unhealthy);
        assert_eq!(
            failing.detail.as_deref(),
            Some(
                "its health check failed 3 time(s) in a row, last: wget: server returned error: HTTP/1.0 404 Not \
                 Found (exit code 1)"
            )
        );
        // A first failure while starting is not yet unhealthy.
        let starting = with("starting", 1, "connection refused", 1);
        assert_eq!(starting.status, HealthStatus::Starting);
        assert!(starting.detail.unwrap().contains("connection refused"));
    }

    #[test]
    fn without_a_check_running_for_a_moment_is_healthy_and_restarts_are_not() {
        let state = |started: &str, restarts: i64, extra: Json| {
            let mut state =
                json!({"Status": "running", "Running": true, "StartedAt": started, "ExitCode": 0});
            for (k, v) in extra.as_object().unwrap() {
                state[k] = v.clone();
            }
            inspected(json!({"Name": "/s-api-0", "RestartCount": restarts, "State": state}))
        };
        let now = at("2026-12-03T06:00:10Z");
        let steady = health_of(&state("2026-12-03T06:00:02Z", 0, json!({})), now);
        assert_eq!(steady.status, HealthStatus::Healthy);
        assert!(steady.detail.unwrap().contains("running for 8s; no health check"));
        let just = health_of(&state("2026-12-03T06:00:09.6Z", 0, json!({})), now);
        assert_eq!(just.status, HealthStatus::Starting, "{:?}", just.detail);
        // Restarted by the Engine a moment ago: it crashed.
        let crashed = health_of(&state("2026-12-03T06:00:09.6Z", 4, json!({"ExitCode": 2})), now);
        assert_eq!(crashed.status, HealthStatus::Unhealthy);
        assert!(crashed.detail.unwrap().contains("restarted 4 time(s) (last exit code 2)"));
        let restarting = health_of(
            &state(
                "2026-12-03T06:00:09Z",
                5,
                json!({"Status": "restarting", "Restarting": true, "ExitCode": 1}),
            ),
            now,
        );
        assert_eq!(restarting.status, HealthStatus::Unhealthy);
        assert!(restarting.detail.unwrap().contains("is restarting: it exited with code 1"));
        let exited = health_of(
            &state(
                "2026-12-03T06:00:09Z",
                0,
                json!({"Status": "exited", "Running": false, "ExitCode": 137, "OOMKilled": true}),
            ),
            now,
        );
        assert_eq!(exited.status, HealthStatus::Unhealthy);
        assert_eq!(
            exited.detail.as_deref(),
            Some("`s-api-0` is not running (exited, exit code 137, killed for want of memory)")
        );
    }

    fn stats(json: Json) -> bollard::models::ContainerStatsResponse {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn usage_is_computed_as_docker_stats_does_relative_to_the_limits() {
        // 0.5 s of CPU time while the host (4 CPUs) counted 4 s: half a CPU.
        let sampled = stats(json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 1_500_000_000u64}, "system_cpu_usage": 14_000_000_000u64, "online_cpus": 4},
            "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000u64}, "system_cpu_usage": 10_000_000_000u64, "online_cpus": 4},
            "memory_stats": {"usage": 48 * 1024 * 1024, "limit": 1u64 << 34, "stats": {"inactive_file": 16 * 1024 * 1024}},
        }));
        let unlimited = usage_of(&sampled, &json!({})).unwrap();
        assert_eq!(unlimited.cpu_percent, Some(50.0));
        // No memory limit: the Engine's `limit` is the host's, not a target.
        assert_eq!(unlimited.memory_percent, None);
        let limited = usage_of(&sampled, &json!({"cpus": "0.25", "memory": "64Mi"})).unwrap();
        assert_eq!(limited.cpu_percent, Some(200.0));
        assert_eq!(limited.memory_percent, Some(50.0));
        // cgroup v1 names the cache differently.
        let v1 = stats(json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 10u64, "percpu_usage": [5, 5]}, "system_cpu_usage": 20u64},
            "precpu_stats": {"cpu_usage": {"total_usage": 10u64}, "system_cpu_usage": 10u64},
            "memory_stats": {"usage": 32 * 1024 * 1024, "stats": {"total_inactive_file": 0}},
        }));
        let idle = usage_of(&v1, &json!({"memory": "64Mi"})).unwrap();
        assert_eq!((idle.cpu_percent, idle.memory_percent), (Some(0.0), Some(50.0)));
    }

    #[test]
    fn a_container_that_did_not_run_has_no_usage() {
        // What the Engine returns for a stopped container.
        let stopped = stats(
            json!({"cpu_stats": {"cpu_usage": {"total_usage": 0}}, "precpu_stats": {}, "memory_stats": {}}),
        );
        assert_eq!(usage_of(&stopped, &json!({"memory": "64Mi"})), None);
        // Started between the samples: no CPU interval, memory known.
        let started = stats(json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 10u64}, "system_cpu_usage": 20u64, "online_cpus": 1},
            "precpu_stats": {},
            "memory_stats": {"usage": 1024 * 1024},
        }));
        let usage = usage_of(&started, &json!({"memory": "4Mi"})).unwrap();
        assert_eq!((usage.cpu_percent, usage.memory_percent), (None, Some(25.0)));
    }

    #[test]
    fn durations_and_quantities() {
        assert_eq!(duration_ns("10s"), Some(10_000_000_000));
        assert_eq!(duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(duration_ns("500ms"), Some(500_000_000));
        assert_eq!(duration_ns("ten"), None);
        assert_eq!(quantity("256Mi"), Some(268_435_456.0));
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("12Q"), None);
    }

    #[test]
    fn what_the_engine_reports_reads_as_the_configured_spelling() {
        assert_eq!(duration_text(90_000_000_000), "1m30s");
        assert_eq!(duration_text(5_000_000_000), "5s");
        assert_eq!(duration_text(500_000_000), "500ms");
        assert_eq!(quantity_text(67_108_864.0, true), "64Mi");
        assert_eq!(quantity_text(0.5, false), "500m");
        assert_eq!(quantity_text(2.0, false), "2");
        assert_eq!(canonical("memory", &json!("64Mi")), canonical("memory", &json!("67108864")));
        assert_eq!(canonical("cpus", &json!("0.5")), canonical("cpus", &json!("500m")));
        assert_eq!(canonical("env", &json!({})), canonical("env", &Json::Null));
        assert_eq!(canonical("restart", &json!("no")), Json::Null);
        assert_eq!(
            canonical("healthcheck", &json!({"test": ["CMD", "true"], "interval": "60s", "retries": 3})),
            canonical("healthcheck", &json!({"test": ["CMD", "true"], "interval": "1m", "retries": 3}))
        );
        assert_eq!(
            canonical(
                "mounts",
                &json!([{"target": "/d", "source": "v", "type": "volume", "read_only": false}])
            ),
            canonical("mounts", &json!([{"target": "/d", "source": "v", "type": "volume"}]))
        );
        assert_ne!(canonical("memory", &json!("64Mi")), canonical("memory", &json!("65Mi")));
    }

    #[test]
    fn only_restart_memory_and_cpus_change_in_place() {
        let prior = json!({"name": "a", "image": "x:1", "restart": "no", "id": "1"});
        assert!(!needs_recreate(
            &prior,
            &json!({"name": "a", "image": "x:1", "restart": "always", "memory": "1Gi"})
        ));
        assert!(needs_recreate(&prior, &json!({"name": "a", "image": "x:2", "restart": "no"})));
        assert!(!needs_recreate(&prior, &json!({"name": "a", "image": "x:1", "restart": "no", "env": null})));
    }
}
