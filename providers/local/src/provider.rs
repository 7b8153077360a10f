//! [`LocalProvider`]: the Provider trait over the local kinds.
//!
//! Networks and volumes are made here; containers in `container.rs`,
//! images in `image.rs`, files in `files.rs`. A refresh reads each type
//! with one list request filtered by the stack's ownership label (files
//! and images one by one). Every object carries the labels `stackc.stack`,
//! `stackc.target` and `stackc.address`; they are not part of the
//! `labels` attribute.
//!
//! Volumes hold data: deleting one (scaling a database down, `destroy`)
//! keeps it on the Engine unless `set_delete_data` asked otherwise,
//! and creating it again (same name) finds the same data.

use crate::container::{self, Containers, LABEL_STACK};
use crate::engine::{engine_error, is_not_found, Engine, EngineConfig};
use crate::files::{HostPaths, LocalFile};
use crate::image::{Images, ProgressSink, Reporter};
use bollard::models::{NetworkCreateRequest, VolumeCreateOptions};
use bollard::query_parameters::{ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
use indexmap::IndexMap;
use serde_json::{json, Value as Json};
use stackc_model::schema::{AttributeMode, ResourceSchema};
use stackc_model::Value;
use stackc_providers::{
    ObjectHealth, ObjectState, OperationContext, Provider, ProviderError, ProviderResult, ResourceUsage,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How the provider works for one command.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// The stack's name (ownership labels, the secrets directory).
    pub stack: String,
    /// Relative paths of files and bind mounts are resolved here.
    pub stack_dir: PathBuf,
    pub engine: EngineConfig,
}

impl LocalConfig {
    pub fn new(stack: impl Into<String>, stack_dir: impl Into<PathBuf>) -> LocalConfig {
        LocalConfig { stack: stack.into(), stack_dir: stack_dir.into(), engine: EngineConfig::default() }
    }

    /// Reads `host` from the `target "local"` block's attributes.
    pub fn with_target_attributes(mut self, attributes: &Value) -> LocalConfig {
        if let Some(host) = attributes.get_path(&["host"]).and_then(Value::as_str) {
            self.engine.host = Some(host.to_string());
        }
        self
    }
}

pub struct LocalProvider {
    engine: Engine,
    config: LocalConfig,
    paths: HostPaths,
    schemas: Vec<ResourceSchema>,
    /// One re-creation at a time per resource block (a service's replicas).
    /// Per block: `Some(address)` once a re-creation of it failed, so the
    /// rest of that rollout stops (their old containers stay).
    rollouts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<String>>>>>,
    /// Delete volumes (their data) too; else deleting one keeps it.
    delete_data: AtomicBool,
    /// Where operations report progress (image pulls), if anywhere.
    progress: Mutex<Option<ProgressSink>>,
}

impl std::fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider").field("engine", &self.engine.address()).finish()
    }
}

fn to_json(value: &Value) -> Json {
    value.unmarked().to_json()
}

fn object_state(attributes: Json) -> ObjectState {
    let id = attributes["id"].as_str().unwrap_or_default().to_string();
    ObjectState { id, attributes: Value::from_json(&attributes) }
}

fn unsupported(type_name: &str) -> ProviderError {
    ProviderError {
        code: Some("UnsupportedResourceType".into()),
        message: format!("the local provider cannot manage `{type_name}` resources"),
        retryable: false,
    }
}

impl LocalProvider {
    /// Touches nothing: the Engine is contacted at the first API call.
    pub fn new(config: LocalConfig) -> LocalProvider {
        let paths = HostPaths::new(&config.stack, &config.stack_dir);
        LocalProvider {
            engine: Engine::new(config.engine.clone()),
            paths,
            config,
            schemas: crate::schemas(),
            rollouts: Mutex::new(HashMap::new()),
            delete_data: AtomicBool::new(false),
            progress: Mutex::new(None),
        }
    }

    /// `--delete-data`: from now on, deleting a volume deletes it and its
    /// data (by default the volume is kept on the Engine).
    pub fn set_delete_data(&self, delete: bool) {
        self.delete_data.store(delete, Ordering::SeqCst);
    }

    /// From now on, operations report their progress (image pulls, layer
    /// by layer) to `sink`, with the resource's address; `None`: nowhere.
    pub fn set_progress(&self, sink: Option<ProgressSink>) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    fn reporter(&self, ctx: &OperationContext) -> Reporter {
        let sink = self.progress.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Reporter { sink, address: ctx.address.to_string() }
    }

    /// Engine API requests made so far, by operation.
    pub fn api_calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.engine.calls()
    }

    /// Where the stack's secret files live.
    /// The stack's containers as they are now, with health and restarts
    /// (`stackc status`; read-only).
    pub async fn container_statuses(&self, stack: &str) -> ProviderResult<Vec<container::ContainerStatus>> {
        container::statuses(&self.engine, stack).await
    }

    pub fn secrets_dir(&self) -> &std::path::Path {
        &self.paths.secrets_dir
    }

    fn stack<'a>(&'a self, ctx: &'a OperationContext) -> &'a str {
        if ctx.stack.is_empty() {
            &self.config.stack
        } else {
            &ctx.stack
        }
    }

    fn containers<'a>(&'a self, ctx: &'a OperationContext) -> Containers<'a> {
        Containers {
            engine: &self.engine,
            paths: &self.paths,
            stack: self.stack(ctx),
            report: self.reporter(ctx),
        }
    }

    fn images(&self) -> Images<'_> {
        Images { engine: &self.engine, paths: &self.paths, report: Reporter::default() }
    }

    /// For a create or update: its pull progress is reported.
    fn images_for(&self, ctx: &OperationContext) -> Images<'_> {
        Images { report: self.reporter(ctx), ..self.images() }
    }

    fn rollout_lock(&self, ctx: &OperationContext) -> Arc<tokio::sync::Mutex<Option<String>>> {
        let address = ctx.address.to_string();
        let block = address.split('[').next().unwrap_or(&address).to_string();
        let mut locks = self.rollouts.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(block).or_default().clone()
    }

    /// The configured labels of a network or volume, with the ownership labels.
    fn labels(&self, ctx: &OperationContext, config: &Json) -> HashMap<String, String> {
        let mut labels: HashMap<String, String> =
            container::string_map(&config["labels"]).into_iter().collect();
        labels.extend(container::ownership(ctx, self.stack(ctx)));
        labels
    }

    async fn create_network(&self, ctx: &OperationContext, config: &Json) -> ProviderResult<Json> {
        let docker = self.engine.client().await?;
        let name = config["name"].as_str().unwrap_or_default();
        let labels = self.labels(ctx, config);
        self.engine.count("NetworkCreate");
        let created = docker
            .create_network(NetworkCreateRequest {
                name: name.to_string(),
                driver: Some(config["driver"].as_str().unwrap_or("bridge").to_string()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map_err(|e| engine_error(&format!("cannot create the network `{name}`"), e))?;
        let mut attributes = config.clone();
        attributes["id"] = json!(created.id);
        Ok(attributes)
    }

    async fn create_volume(&self, ctx: &OperationContext, config: &Json) -> ProviderResult<Json> {
        let docker = self.engine.client().await?;
        let name = config["name"].as_str().unwrap_or_default();
        let labels = self.labels(ctx, config);
        // An existing volume of that name (kept by a scale-down or a
        // destroy) is returned as it is: its data comes back.
        self.engine.count("VolumeCreate");
        let volume = docker
            .create_volume(VolumeCreateOptions {
                name: Some(name.to_string()),
                driver: config["driver"].as_str().map(str::to_string),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map_err(|e| engine_error(&format!("cannot create the volume `{name}`"), e))?;
        let mut attributes = config.clone();
        attributes["id"] = json!(volume.name);
        attributes["mountpoint"] = json!(volume.mountpoint);
        Ok(attributes)
    }

    async fn read_networks(&self, stack: &str) -> ProviderResult<HashMap<String, String>> {
        let docker = self.engine.client().await?;
        let filters = HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])]);
        self.engine.count("NetworkList");
        let found = docker
            .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filters).build()))
            .await
            .map_err(|e| engine_error("cannot list the stack's networks", e))?;
        Ok(found.into_iter().filter_map(|n| Some((n.id?, n.name.unwrap_or_default()))).collect())
    }

    async fn read_volumes(&self, stack: &str) -> ProviderResult<HashMap<String, String>> {
        let docker = self.engine.client().await?;
        let filters = HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])]);
        self.engine.count("VolumeList");
        let found = docker
            .list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filters).build()))
            .await
            .map_err(|e| engine_error("cannot list the stack's volumes", e))?;
        Ok(found.volumes.unwrap_or_default().into_iter().map(|v| (v.name, v.mountpoint)).collect())
    }

    /// Reads every item of one type (all of one stack).
    async fn read_type(
        &self,
        type_name: &str,
        items: &[&(OperationContext, ObjectState)],
    ) -> Vec<ProviderResult<Option<ObjectState>>> {
        let Some((first, _)) = items.first() else { return Vec::new() };
        let stack = self.stack(first).to_string();
        let each = |f: &dyn Fn(&ObjectState) -> ProviderResult<Option<Json>>| {
            items.iter().map(|(_, prior)| f(prior).map(|found| found.map(object_state))).collect::<Vec<_>>()
        };
        let all_fail = |e: ProviderError| items.iter().map(|_| Err(e.clone())).collect::<Vec<_>>();
        match type_name {
            "docker_network" => match self.read_networks(&stack).await {
                Ok(found) => {
                    each(&|prior| Ok(found.contains_key(&prior.id).then(|| to_json(&prior.attributes))))
                }
                Err(e) => all_fail(e),
            },
            "docker_volume" => match self.read_volumes(&stack).await {
                Ok(found) => each(&|prior| {
                    Ok(found.get(&prior.id).map(|mountpoint| {
                        let mut attributes = to_json(&prior.attributes);
                        attributes["mountpoint"] = json!(mountpoint);
                        attributes
                    }))
                }),
                Err(e) => all_fail(e),
            },
            "docker_container" => match container::list_owned(&self.engine, &stack).await {
                Ok(found) => each(&|prior| {
                    Ok(found
                        .get(&prior.id)
                        .map(|listed| container::refreshed(&to_json(&prior.attributes), &prior.id, listed)))
                }),
                Err(e) => all_fail(e),
            },
            "local_file" => {
                let files = LocalFile { paths: &self.paths };
                each(&|prior| files.read(&prior.id, &to_json(&prior.attributes)))
            }
            "docker_image" => {
                let mut results = Vec::new();
                for (_, prior) in items {
                    results.push(
                        self.images().read(&to_json(&prior.attributes)).await.map(|f| f.map(object_state)),
                    );
                }
                results
            }
            other => all_fail(unsupported(other)),
        }
    }
}

#[async_trait::async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &str {
        crate::TARGET
    }

    fn schemas(&self) -> Vec<ResourceSchema> {
        self.schemas.clone()
    }

    fn plan(
        &self,
        ctx: &OperationContext,
        prior: Option<&ObjectState>,
        config: &Value,
    ) -> ProviderResult<Value> {
        let schema = self
            .schemas
            .iter()
            .find(|s| s.type_name == ctx.type_name)
            .ok_or_else(|| unsupported(&ctx.type_name))?;
        let configured = config.as_object().cloned().unwrap_or_default();
        let differs = |name: &str, prior: &ObjectState| {
            let wanted = configured.get(name).map(Value::unmarked).unwrap_or(Value::Null);
            let had = prior.attributes.get_path(&[name]).map(Value::unmarked).unwrap_or(Value::Null);
            wanted.has_unknown() || wanted != had
        };
        // A prior object is kept unless a force-new attribute changes.
        let prior = prior.filter(|prior| {
            !schema
                .attributes
                .iter()
                .any(|(name, a)| a.force_new && a.mode != AttributeMode::Computed && differs(name, prior))
        });
        // A container re-created by the update gets a new id and address.
        let recreated = ctx.type_name == "docker_container"
            && prior.is_some_and(|prior| {
                config.has_unknown()
                    || container::needs_recreate(&to_json(&prior.attributes), &to_json(config))
            });
        // A stopped container has no address on its network until it starts.
        let stopped = ctx.type_name == "docker_container"
            && prior.is_some_and(|p| p.attributes.get_path(&["running"]) == Some(&Value::Bool(false)));
        let mut planned: stackc_model::Fields = Default::default();
        for (name, attribute) in &schema.attributes {
            let set = configured.get(name).filter(|v| !matches!(v, Value::Null)).cloned();
            let value = match (attribute.mode, set) {
                (AttributeMode::Computed, _) => match prior.and_then(|p| p.attributes.get_path(&[name])) {
                    Some(v)
                        if !(recreated && (name == "id" || name == "ip_address"))
                            && !(stopped && name == "ip_address") =>
                    {
                        v.clone()
                    }
                    _ => Value::Unknown,
                },
                (_, Some(v)) => v,
                (_, None) => Value::Null,
            };
            // A container's attribute the Engine cannot tell from the
            // recorded one (another spelling of the same quantity, `{}`
            // for null): the recorded one is kept, so nothing changes.
            let value = match prior.and_then(|p| p.attributes.get_path(&[name])) {
                Some(had)
                    if ctx.type_name == "docker_container"
                        && attribute.mode != AttributeMode::Computed
                        && !value.has_unknown()
                        && container::canonical(name, &to_json(&value))
                            == container::canonical(name, &to_json(had)) =>
                {
                    had.clone()
                }
                _ => value,
            };
            let value = match value {
                Value::Unknown | Value::Null => value,
                value if attribute.sensitive => value.into_sensitive(),
                value => value,
            };
            planned.insert(name.clone(), value);
        }
        match ctx.type_name.as_str() {
            "docker_container" => {
                let published: Option<Vec<Value>> = config
                    .get_path(&["ports"])
                    .and_then(Value::as_list)
                    .map(|ports| ports.iter().filter_map(|p| p.get_path(&["external"]).cloned()).collect());
                if !config.has_unknown() {
                    planned.insert("published_ports".into(), Value::List(published.unwrap_or_default()));
                }
                // Whatever it was found as: stackc keeps its containers running.
                planned.insert("running".into(), Value::Bool(true));
            }
            "docker_image" if !config.has_unknown() => {
                let (hash, reference) = self.images().planned_ref(&to_json(config))?;
                let changed = prior.is_some_and(|p| {
                    p.attributes.get_path(&["ref"]).and_then(Value::as_str) != Some(&reference)
                });
                planned.insert("context_hash".into(), hash.map(Value::string).unwrap_or(Value::Null));
                planned.insert("ref".into(), Value::string(reference));
                if changed {
                    planned.insert("id".into(), Value::Unknown);
                }
            }
            "local_file" if !config.has_unknown() => {
                let path = config.get_path(&["path"]).and_then(Value::as_str).unwrap_or_default();
                let secret =
                    matches!(config.get_path(&["sensitive_content"]), Some(v) if !matches!(v, Value::Null));
                let host = self.paths.resolve(path, secret);
                planned.insert("id".into(), Value::string(host.to_string_lossy()));
            }
            _ => {}
        }
        Ok(Value::Object(planned))
    }

    async fn read(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<Option<ObjectState>> {
        let items = [(ctx.clone(), prior.clone())];
        self.read_many(&items).await.pop().unwrap_or(Ok(None))
    }

    async fn read_many(
        &self,
        items: &[(OperationContext, ObjectState)],
    ) -> Vec<ProviderResult<Option<ObjectState>>> {
        let mut by_type: IndexMap<&str, Vec<usize>> = IndexMap::new();
        for (i, (ctx, _)) in items.iter().enumerate() {
            by_type.entry(ctx.type_name.as_str()).or_default().push(i);
        }
        let reads = by_type.into_iter().map(|(type_name, indexes)| async move {
            let group: Vec<&(OperationContext, ObjectState)> = indexes.iter().map(|&i| &items[i]).collect();
            let results = self.read_type(type_name, &group).await;
            indexes.into_iter().zip(results).collect::<Vec<_>>()
        });
        let mut results: Vec<Option<ProviderResult<Option<ObjectState>>>> = vec![None; items.len()];
        for (i, result) in futures_util::future::join_all(reads).await.into_iter().flatten() {
            results[i] = Some(result);
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(None))).collect()
    }

    async fn create(&self, ctx: &OperationContext, config: &Value) -> ProviderResult<ObjectState> {
        let config = to_json(config);
        let attributes = match ctx.type_name.as_str() {
            "docker_network" => self.create_network(ctx, &config).await?,
            "docker_volume" => self.create_volume(ctx, &config).await?,
            "docker_container" => self.containers(ctx).create(ctx, &config).await?,
            "docker_image" => {
                self.images_for(ctx).create(&config, container::ownership(ctx, self.stack(ctx))).await?
            }
            "local_file" => {
                let attributes = LocalFile { paths: &self.paths }.write(&config)?;
                container::reload_load_balancers(&self.engine, self.stack(ctx)).await;
                attributes
            }
            other => return Err(unsupported(other)),
        };
        Ok(object_state(attributes))
    }

    async fn update(
        &self,
        ctx: &OperationContext,
        prior: &ObjectState,
        config: &Value,
    ) -> ProviderResult<ObjectState> {
        let config = to_json(config);
        let attributes = match ctx.type_name.as_str() {
            "docker_container" => {
                let lock = self.rollout_lock(ctx);
                let mut failed = lock.lock().await;
                if let Some(first) = failed.as_ref() {
                    return Err(ProviderError {
                        code: Some("RolloutStopped".into()),
                        message: format!(
                            "not re-created: the rollout stopped when `{first}` failed; this container is left as \
                             it was"
                        ),
                        retryable: false,
                    });
                }
                let updated =
                    self.containers(ctx).update(ctx, &prior.id, &to_json(&prior.attributes), &config).await;
                if updated.is_err() {
                    *failed = Some(ctx.address.to_string());
                }
                updated?
            }
            "docker_image" => {
                let attributes =
                    self.images_for(ctx).create(&config, container::ownership(ctx, self.stack(ctx))).await?;
                // Earlier builds that no container runs any more (the
                // prior one still runs until the rollout that follows).
                let keep =
                    [attributes["ref"].as_str(), prior.attributes.get_path(&["ref"]).and_then(Value::as_str)];
                for old in self.images().tags(&to_json(&prior.attributes), &ctx.address.to_string()).await? {
                    if !keep.contains(&Some(old.as_str())) {
                        self.images().remove_tag(&old).await?;
                    }
                }
                attributes
            }
            "local_file" => {
                let files = LocalFile { paths: &self.paths };
                let attributes = files.write(&config)?;
                if attributes["id"].as_str() != Some(prior.id.as_str()) {
                    files.delete(&prior.id)?;
                }
                // A load balancer's configuration: nginx reads it again.
                container::reload_load_balancers(&self.engine, self.stack(ctx)).await;
                attributes
            }
            // Networks and volumes change only by replacement (force-new).
            _ => {
                let mut attributes = to_json(&prior.attributes);
                for (k, v) in config.as_object().into_iter().flatten() {
                    attributes[k] = v.clone();
                }
                attributes
            }
        };
        Ok(object_state(attributes))
    }

    async fn delete(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<()> {
        let attributes = to_json(&prior.attributes);
        match ctx.type_name.as_str() {
            "docker_network" => {
                let docker = self.engine.client().await?;
                self.engine.count("NetworkDelete");
                match docker.remove_network(&prior.id).await {
                    Err(e) if !is_not_found(&e) => Err(engine_error("cannot remove the network", e)),
                    _ => Ok(()),
                }
            }
            "docker_volume" if !self.delete_data.load(Ordering::SeqCst) => Ok(()),
            "docker_volume" => {
                let docker = self.engine.client().await?;
                self.engine.count("VolumeDelete");
                match docker
                    .remove_volume(&prior.id, None::<bollard::query_parameters::RemoveVolumeOptions>)
                    .await
                {
                    Err(e) if !is_not_found(&e) => Err(engine_error("cannot remove the volume", e)),
                    _ => Ok(()),
                }
            }
            "docker_container" => self.containers(ctx).delete(&prior.id, &attributes).await,
            "docker_image" => {
                let address = ctx.address.to_string();
                for tag in self.images().tags(&attributes, &address).await? {
                    self.images().remove_tag(&tag).await?;
                }
                Ok(())
            }
            "local_file" => LocalFile { paths: &self.paths }.delete(&prior.id),
            other => Err(unsupported(other)),
        }
    }

    /// A container's CPU and memory, from one Engine stats call
    /// (`container::usage`); other types are not measured.
    async fn usage(
        &self,
        ctx: &OperationContext,
        object: &ObjectState,
    ) -> ProviderResult<Option<ResourceUsage>> {
        if ctx.type_name != "docker_container" {
            return Err(ProviderError {
                code: Some("UsageNotSupported".into()),
                message: format!("the local provider measures containers only, not `{}`", ctx.type_name),
                retryable: false,
            });
        }
        container::usage(&self.engine, &object.id, &to_json(&object.attributes)).await
    }

    /// A container's health for a rollout's gate (`container::health`:
    /// running, its health check, its restarts); other types have none.
    async fn health(&self, ctx: &OperationContext, object: &ObjectState) -> ProviderResult<ObjectHealth> {
        if ctx.type_name != "docker_container" {
            return Err(ProviderError {
                code: Some("HealthNotSupported".into()),
                message: format!(
                    "the local provider tells the health of containers only, not of `{}` ({})",
                    ctx.address, ctx.type_name
                ),
                retryable: false,
            });
        }
        container::health(&self.engine, &object.id).await
    }

    async fn import(&self, ctx: &OperationContext, id: &str) -> ProviderResult<Option<ObjectState>> {
        let docker = self.engine.client().await?;
        let strip = |labels: Option<HashMap<String, String>>| {
            let labels: serde_json::Map<String, Json> = labels
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| {
                    !k.starts_with("stackc.stack") && !k.starts_with("stackc.target") && k != "stackc.address"
                })
                .map(|(k, v)| (k, json!(v)))
                .collect();
            Json::Object(labels)
        };
        let attributes = match ctx.type_name.as_str() {
            "docker_network" => {
                self.engine.count("NetworkInspect");
                match docker
                    .inspect_network(id, None::<bollard::query_parameters::InspectNetworkOptions>)
                    .await
                {
                    Ok(n) => {
                        json!({"id": n.id, "name": n.name, "driver": n.driver, "labels": strip(n.labels)})
                    }
                    Err(e) if is_not_found(&e) => return Ok(None),
                    Err(e) => return Err(engine_error("cannot inspect the network", e)),
                }
            }
            "docker_volume" => {
                self.engine.count("VolumeInspect");
                match docker.inspect_volume(id).await {
                    Ok(v) => {
                        json!({"id": v.name, "name": v.name, "driver": v.driver, "labels": strip(Some(v.labels)),
                                    "mountpoint": v.mountpoint})
                    }
                    Err(e) if is_not_found(&e) => return Ok(None),
                    Err(e) => return Err(engine_error("cannot inspect the volume", e)),
                }
            }
            "docker_container" => match container::import(&self.engine, &self.paths, id).await? {
                Some(attributes) => attributes,
                None => return Ok(None),
            },
            "local_file" => {
                let host = self.paths.resolve(id, false);
                let prior = json!({"path": id, "content": ""});
                match (LocalFile { paths: &self.paths }).read(&host.to_string_lossy(), &prior)? {
                    Some(attributes) => attributes,
                    None => return Ok(None),
                }
            }
            "docker_image" => {
                self.engine.count("ImageInspect");
                match docker.inspect_image(id).await {
                    Ok(image) => json!({"id": image.id, "name": id, "ref": id}),
                    Err(e) if is_not_found(&e) => return Ok(None),
                    Err(e) => return Err(engine_error("cannot inspect the image", e)),
                }
            }
            other => return Err(unsupported(other)),
        };
        Ok(Some(object_state(attributes)))
    }
}
