//! ECS: clusters, task definitions, services (JSON 1.1 protocol). Ids are
//! ARNs. Clusters read 100 per call, services 10 per call per cluster.

use super::{chunks, wait_for, Cx, ReadItem, ResourceKind};
use crate::attrs::{
    as_set, creation_tags, is_not_found, json_covers, object, opt_string, owned_by, prior_of, project,
    tag_changes, tags_value, Attrs,
};
use crate::transport::{AwsClient, Idempotency, ECS};
use serde::Deserialize;
use serde_json::json;
use stackc_model::Value;
use stackc_providers::{ProviderError, ProviderResult};
use std::collections::HashMap;

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![Box::new(Cluster), Box::new(TaskDefinition), Box::new(Service)]
}

#[derive(Debug, Default, Deserialize, Clone)]
struct Tag {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

fn tags_json(tags: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Array(tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())
}

fn tag_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|t| (t.key.as_str(), t.value.as_str()))
}

fn is_owned(cx: &Cx<'_>, tags: &[Tag]) -> bool {
    owned_by(cx.op, tag_pairs(tags))
}

async fn update_tags(client: &AwsClient, arn: &str, prior: &Value, config: &Value) -> ProviderResult<()> {
    let (set, removed) = tag_changes(prior, config);
    if !set.is_empty() {
        let request = json!({"resourceArn": arn, "tags": tags_json(&set)});
        client.json::<serde_json::Value>(&ECS, "TagResource", &request, Idempotency::Safe).await?;
    }
    if !removed.is_empty() {
        let request = json!({"resourceArn": arn, "tagKeys": removed});
        client.json::<serde_json::Value>(&ECS, "UntagResource", &request, Idempotency::Safe).await?;
    }
    Ok(())
}

fn errors_for(items: &[ReadItem<'_>], e: ProviderError) -> Vec<ProviderResult<Option<Value>>> {
    items.iter().map(|_| Err(e.clone())).collect()
}

// ---------------------------------------------------------------------------
// aws_ecs_cluster

struct Cluster;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterJson {
    #[serde(default)]
    cluster_arn: String,
    #[serde(default)]
    cluster_name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Default, Deserialize)]
struct CreateClusterResponse {
    #[serde(default)]
    cluster: ClusterJson,
}

#[derive(Debug, Default, Deserialize)]
struct DescribeClustersResponse {
    #[serde(default)]
    clusters: Vec<ClusterJson>,
}

#[async_trait::async_trait]
impl ResourceKind for Cluster {
    fn type_name(&self) -> &'static str {
        "aws_ecs_cluster"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let request = json!({
            "clusterName": Attrs(config).required_str("name")?,
            "tags": tags_json(&creation_tags(cx.op, config)),
        });
        // CreateCluster returns the existing cluster of that name: safe to resend.
        let created: CreateClusterResponse =
            cx.client.json(&ECS, "CreateCluster", &request, Idempotency::Safe).await?;
        Ok(created.cluster.cluster_arn)
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let mut found: HashMap<String, ClusterJson> = HashMap::new();
        for chunk in chunks(&ids, 100) {
            let request = json!({"clusters": chunk, "include": ["TAGS"]});
            match client
                .json::<DescribeClustersResponse>(&ECS, "DescribeClusters", &request, Idempotency::Safe)
                .await
            {
                Ok(response) => {
                    for c in response.clusters {
                        found.insert(c.cluster_name.clone(), c);
                    }
                }
                Err(e) => return errors_for(items, e),
            }
        }
        items
            .iter()
            .map(|item| {
                let name = item.id.rsplit('/').next().unwrap_or(item.id);
                let Some(c) = found.get(name).filter(|c| c.status == "ACTIVE" || c.status == "PROVISIONING")
                else {
                    return Ok(None);
                };
                Ok(Some(object([
                    ("id", Value::string(&c.cluster_arn)),
                    ("arn", Value::string(&c.cluster_arn)),
                    ("tags", tags_value(tag_pairs(&c.tags), item.prior)),
                    ("name", Value::string(&c.cluster_name)),
                ])))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        wait_for(cx.waits, "cluster to have no services", || async move {
            let request = json!({"cluster": id});
            match cx
                .client
                .json::<serde_json::Value>(&ECS, "DeleteCluster", &request, Idempotency::Safe)
                .await
            {
                Ok(_) => Ok(Some(())),
                Err(e) if is_not_found(&e) => Ok(Some(())),
                Err(e)
                    if matches!(
                        e.code.as_deref(),
                        Some("ClusterContainsServicesException" | "ClusterContainsTasksException")
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// aws_ecs_task_definition

struct TaskDefinition;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskDefinitionJson {
    #[serde(default)]
    task_definition_arn: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    revision: f64,
    #[serde(default)]
    container_definitions: serde_json::Value,
    cpu: Option<String>,
    memory: Option<String>,
    network_mode: Option<String>,
    #[serde(default)]
    requires_compatibilities: Vec<String>,
    execution_role_arn: Option<String>,
    #[serde(default)]
    status: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskDefinitionResponse {
    #[serde(default)]
    task_definition: TaskDefinitionJson,
    #[serde(default)]
    tags: Vec<Tag>,
}

fn container_definitions(config: &Value) -> ProviderResult<serde_json::Value> {
    let text = Attrs(config).required_str("container_definitions")?;
    serde_json::from_str(&text)
        .map_err(|e| ProviderError::new(format!("`container_definitions` is not valid JSON: {e}")))
}

async fn describe_task_definition(
    client: &AwsClient,
    id: &str,
) -> ProviderResult<Option<TaskDefinitionResponse>> {
    let request = json!({"taskDefinition": id, "include": ["TAGS"]});
    match client
        .json::<TaskDefinitionResponse>(&ECS, "DescribeTaskDefinition", &request, Idempotency::Safe)
        .await
    {
        Ok(response)
            if response.task_definition.status == "INACTIVE"
                || response.task_definition.status == "DELETE_IN_PROGRESS" =>
        {
            Ok(None)
        }
        Ok(response) => Ok(Some(response)),
        Err(e) if is_not_found(&e) || e.code.as_deref() == Some("ClientException") => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait::async_trait]
impl ResourceKind for TaskDefinition {
    fn type_name(&self) -> &'static str {
        "aws_ecs_task_definition"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let mut request = json!({
            "family": attrs.required_str("family")?,
            "containerDefinitions": container_definitions(config)?,
            "tags": tags_json(&creation_tags(cx.op, config)),
        });
        for (name, key) in [
            ("cpu", "cpu"),
            ("memory", "memory"),
            ("network_mode", "networkMode"),
            ("execution_role_arn", "executionRoleArn"),
        ] {
            if let Some(value) = attrs.str(name) {
                request[key] = json!(value);
            }
        }
        let compatibilities = attrs.strings("requires_compatibilities");
        if !compatibilities.is_empty() {
            request["requiresCompatibilities"] = json!(compatibilities);
        }
        let created: TaskDefinitionResponse =
            cx.client.json(&ECS, "RegisterTaskDefinition", &request, Idempotency::Creates).await?;
        Ok(created.task_definition.task_definition_arn)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        // The family's latest revision, if a lost response registered it.
        let Some(latest) =
            describe_task_definition(cx.client, &Attrs(config).required_str("family")?).await?
        else {
            return Ok(None);
        };
        let same =
            json_covers(&container_definitions(config)?, &latest.task_definition.container_definitions);
        Ok((same && is_owned(cx, &latest.tags)).then_some(latest.task_definition.task_definition_arn))
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        // No batch API: one DescribeTaskDefinition each.
        let mut results = Vec::new();
        for item in items {
            let outcome = describe_task_definition(client, item.id).await.map(|found| {
                found.map(|response| {
                    let td = &response.task_definition;
                    let containers = match prior_of(item.prior, "container_definitions")
                        .and_then(|v| v.as_str())
                    {
                        Some(text)
                            if serde_json::from_str::<serde_json::Value>(text)
                                .is_ok_and(|desired| json_covers(&desired, &td.container_definitions)) =>
                        {
                            Value::string(text)
                        }
                        _ => Value::string(td.container_definitions.to_string()),
                    };
                    let compat = as_set(
                        td.requires_compatibilities.iter().map(Value::string).collect(),
                        prior_of(item.prior, "requires_compatibilities"),
                    );
                    object([
                        ("id", Value::string(&td.task_definition_arn)),
                        ("arn", Value::string(&td.task_definition_arn)),
                        ("tags", tags_value(tag_pairs(&response.tags), item.prior)),
                        ("family", Value::string(&td.family)),
                        ("container_definitions", containers),
                        ("cpu", opt_string(td.cpu.as_deref())),
                        ("memory", opt_string(td.memory.as_deref())),
                        ("network_mode", opt_string(td.network_mode.as_deref())),
                        ("requires_compatibilities", compat),
                        ("execution_role_arn", opt_string(td.execution_role_arn.as_deref())),
                        ("revision", Value::Number(td.revision)),
                    ])
                })
            });
            results.push(outcome);
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    fn normalize(&self, prior: &Value, config: &mut stackc_model::Fields) {
        // The same containers written differently (AWS adds defaults): keep
        // the text in state so the plan shows no change.
        let Some(wanted) = config.get("container_definitions").and_then(|v| v.as_str()) else { return };
        let Some(had) = Attrs(prior).str("container_definitions") else { return };
        let same = match (serde_json::from_str(wanted), serde_json::from_str(&had)) {
            (Ok(wanted), Ok(had)) => json_covers(&wanted, &had),
            _ => false,
        };
        if same {
            config.insert("container_definitions".into(), Value::string(had));
        }
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let request = json!({"taskDefinition": id});
        match cx
            .client
            .json::<serde_json::Value>(&ECS, "DeregisterTaskDefinition", &request, Idempotency::Safe)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) || e.code.as_deref() == Some("ClientException") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

// ---------------------------------------------------------------------------
// aws_ecs_service

struct Service;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwsVpcConfiguration {
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    security_groups: Vec<String>,
    #[serde(default)]
    assign_public_ip: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkConfiguration {
    awsvpc_configuration: Option<AwsVpcConfiguration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoadBalancerJson {
    #[serde(default)]
    target_group_arn: String,
    #[serde(default)]
    container_name: String,
    #[serde(default)]
    container_port: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentConfiguration {
    minimum_healthy_percent: Option<f64>,
    maximum_percent: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
struct DeploymentController {
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceJson {
    #[serde(default)]
    service_arn: String,
    #[serde(default)]
    service_name: String,
    #[serde(default)]
    cluster_arn: String,
    #[serde(default)]
    task_definition: String,
    #[serde(default)]
    desired_count: f64,
    launch_type: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    #[serde(default)]
    load_balancers: Vec<LoadBalancerJson>,
    deployment_configuration: Option<DeploymentConfiguration>,
    deployment_controller: Option<DeploymentController>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Default, Deserialize)]
struct ServiceResponse {
    #[serde(default)]
    service: ServiceJson,
}

#[derive(Debug, Default, Deserialize)]
struct DescribeServicesResponse {
    #[serde(default)]
    services: Vec<ServiceJson>,
}

/// The cluster of a service: configured, else from its ARN
/// (`arn:aws:ecs:region:account:service/cluster/name`).
pub(crate) fn cluster_of(id: &str, prior: &Value) -> String {
    if let Some(cluster) = Attrs(prior).str("cluster") {
        return cluster;
    }
    let path = id.rsplit_once(":service/").map(|(_, p)| p).unwrap_or("");
    match path.split_once('/') {
        Some((cluster, _)) => cluster.to_string(),
        None => "default".to_string(),
    }
}

fn service_settings(config: &Value, request: &mut serde_json::Value, creating: bool) {
    let attrs = Attrs(config);
    if let Some(td) = attrs.str("task_definition") {
        request["taskDefinition"] = json!(td);
    }
    if let Some(count) = attrs.f64("desired_count") {
        request["desiredCount"] = json!(count as i64);
    }
    if let Some(network) = attrs.get("network_configuration") {
        let network = Attrs(network);
        request["networkConfiguration"] = json!({"awsvpcConfiguration": {
            "subnets": network.strings("subnets"),
            "securityGroups": network.strings("security_groups"),
            "assignPublicIp": if network.bool("assign_public_ip") == Some(true) { "ENABLED" } else { "DISABLED" },
        }});
    }
    let mut deployment = serde_json::Map::new();
    if let Some(min) = attrs.f64("deployment_minimum_healthy_percent") {
        deployment.insert("minimumHealthyPercent".into(), json!(min as i64));
    }
    if let Some(max) = attrs.f64("deployment_maximum_percent") {
        deployment.insert("maximumPercent".into(), json!(max as i64));
    }
    if !deployment.is_empty() {
        request["deploymentConfiguration"] = serde_json::Value::Object(deployment);
    }
    let balancers: Vec<serde_json::Value> = attrs
        .list("load_balancer")
        .iter()
        .map(|lb| {
            let lb = Attrs(lb);
            json!({
                "targetGroupArn": lb.str("target_group_arn"),
                "containerName": lb.str("container_name"),
                "containerPort": lb.f64("container_port").map(|p| p as i64),
            })
        })
        .collect();
    if creating || attrs.get("load_balancer").is_some() {
        request["loadBalancers"] = json!(balancers);
    }
    if creating {
        if let Some(launch) = attrs.str("launch_type") {
            request["launchType"] = json!(launch);
        }
        if let Some(controller) = attrs.get("deployment_controller").and_then(|c| Attrs(c).str("type")) {
            request["deploymentController"] = json!({"type": controller});
        }
    }
}

fn service_value(s: &ServiceJson, prior: &Value) -> Value {
    let network = s.network_configuration.as_ref().and_then(|n| n.awsvpc_configuration.as_ref()).map(|n| {
        let prior_network = prior_of(prior, "network_configuration");
        let inner = |name| prior_network.and_then(|p| prior_of(p, name));
        project(
            object([
                ("subnets", as_set(n.subnets.iter().map(Value::string).collect(), inner("subnets"))),
                (
                    "security_groups",
                    as_set(n.security_groups.iter().map(Value::string).collect(), inner("security_groups")),
                ),
                ("assign_public_ip", Value::Bool(n.assign_public_ip == "ENABLED")),
            ]),
            prior_network,
        )
    });
    let balancers: Vec<Value> = s
        .load_balancers
        .iter()
        .map(|lb| {
            object([
                ("target_group_arn", Value::string(&lb.target_group_arn)),
                ("container_name", Value::string(&lb.container_name)),
                ("container_port", Value::Number(lb.container_port)),
            ])
        })
        .collect();
    let balancers =
        project(as_set(balancers, prior_of(prior, "load_balancer")), prior_of(prior, "load_balancer"));
    let deployment = s.deployment_configuration.as_ref();
    // Not every endpoint reports the deployment configuration (moto does
    // not): then the prior value stands.
    let percent = |name: &str, actual: Option<f64>| {
        actual.map_or_else(|| prior_of(prior, name).cloned().unwrap_or(Value::Null), Value::Number)
    };
    let controller = s.deployment_controller.as_ref().map_or(Value::Null, |c| {
        project(object([("type", Value::string(&c.kind))]), prior_of(prior, "deployment_controller"))
    });
    let cluster = match prior_of(prior, "cluster").and_then(|c| c.as_str()) {
        // Configured by name: keep the name while it names the same cluster.
        Some(name) if s.cluster_arn.ends_with(&format!("/{name}")) => Value::string(name),
        _ => Value::string(&s.cluster_arn),
    };
    let task_definition = match prior_of(prior, "task_definition").and_then(|c| c.as_str()) {
        Some(family) if !family.starts_with("arn:") && s.task_definition.contains(&format!("/{family}:")) => {
            Value::string(family)
        }
        _ => Value::string(&s.task_definition),
    };
    object([
        ("id", Value::string(&s.service_arn)),
        ("tags", tags_value(tag_pairs(&s.tags), prior)),
        ("name", Value::string(&s.service_name)),
        ("cluster", cluster),
        ("task_definition", task_definition),
        ("desired_count", Value::Number(s.desired_count)),
        ("launch_type", opt_string(s.launch_type.as_deref())),
        ("network_configuration", network.unwrap_or(Value::Null)),
        ("load_balancer", balancers),
        (
            "deployment_minimum_healthy_percent",
            percent("deployment_minimum_healthy_percent", deployment.and_then(|d| d.minimum_healthy_percent)),
        ),
        (
            "deployment_maximum_percent",
            percent("deployment_maximum_percent", deployment.and_then(|d| d.maximum_percent)),
        ),
        ("deployment_controller", controller),
    ])
}

async fn describe_services(
    client: &AwsClient,
    cluster: &str,
    services: &[&str],
) -> ProviderResult<Vec<ServiceJson>> {
    let mut out = Vec::new();
    for chunk in chunks(services, 10) {
        let request = json!({"cluster": cluster, "services": chunk, "include": ["TAGS"]});
        match client
            .json::<DescribeServicesResponse>(&ECS, "DescribeServices", &request, Idempotency::Safe)
            .await
        {
            Ok(response) => out.extend(response.services),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// CreateService's refusal of a target group no load balancer uses yet
/// (`InvalidParameterException`: "... does not have an associated load
/// balancer").
fn awaits_listener(error: &ProviderError) -> bool {
    error.code.as_deref() == Some("InvalidParameterException")
        && error.message.contains("does not have an associated load balancer")
}

#[async_trait::async_trait]
impl ResourceKind for Service {
    fn type_name(&self) -> &'static str {
        "aws_ecs_service"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let mut request = json!({
            "serviceName": attrs.required_str("name")?,
            "clientToken": crate::attrs::client_token(cx.op, "ecs-service", 32),
            "tags": tags_json(&creation_tags(cx.op, config)),
        });
        if let Some(cluster) = attrs.str("cluster") {
            request["cluster"] = json!(cluster);
        }
        service_settings(config, &mut request, true);
        // AWS refuses a target group no listener uses yet; a rollout's
        // canary group gets its listener weight in the same apply, from
        // another component (the load balancer), so wait for it.
        let request = &request;
        let created: ServiceResponse =
            wait_for(cx.waits, "the target group to be used by a listener", || async move {
                match cx
                    .client
                    .json::<ServiceResponse>(&ECS, "CreateService", request, Idempotency::Creates)
                    .await
                {
                    Ok(created) => Ok(Some(created)),
                    Err(e) if awaits_listener(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(created.service.service_arn)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let name = Attrs(config).required_str("name")?;
        let cluster = Attrs(config).str("cluster").unwrap_or_else(|| "default".into());
        let found = describe_services(cx.client, &cluster, &[&name]).await?;
        Ok(found.into_iter().find(|s| s.status == "ACTIVE" && is_owned(cx, &s.tags)).map(|s| s.service_arn))
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let mut by_cluster: HashMap<String, Vec<&str>> = HashMap::new();
        for item in items {
            by_cluster.entry(cluster_of(item.id, item.prior)).or_default().push(item.id);
        }
        let mut found: HashMap<String, ServiceJson> = HashMap::new();
        for (cluster, ids) in by_cluster {
            match describe_services(client, &cluster, &ids).await {
                Ok(services) => {
                    for s in services {
                        found.insert(s.service_arn.clone(), s);
                    }
                }
                Err(e) => return errors_for(items, e),
            }
        }
        items
            .iter()
            .map(|item| {
                let service =
                    found.get(item.id).or_else(|| found.values().find(|s| s.service_name == item.id));
                Ok(service.filter(|s| s.status == "ACTIVE").map(|s| service_value(s, item.prior)))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let mut request = json!({"cluster": cluster_of(id, config), "service": id});
        service_settings(config, &mut request, false);
        cx.client.json::<ServiceResponse>(&ECS, "UpdateService", &request, Idempotency::Safe).await?;
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, prior: &Value) -> ProviderResult<()> {
        let cluster = cluster_of(id, prior);
        let request = json!({"cluster": cluster, "service": id, "force": true});
        match cx.client.json::<serde_json::Value>(&ECS, "DeleteService", &request, Idempotency::Safe).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
        }
        let cluster = &cluster;
        wait_for(cx.waits, "service to be inactive", || async move {
            let services = describe_services(cx.client, cluster, &[id]).await?;
            Ok(services.iter().all(|s| s.status == "INACTIVE").then_some(()))
        })
        .await
    }

    fn plan(&self, _prior: Option<&Value>, _config: &Value, _planned: &mut stackc_model::Fields) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_group_without_a_listener_is_waited_for() {
        let refusal = |code: &str, message: &str| ProviderError {
            code: Some(code.into()),
            message: message.into(),
            retryable: false,
        };
        assert!(awaits_listener(&refusal(
            "InvalidParameterException",
            "The target group with targetGroupArn arn:aws:elasticloadbalancing:eu-west-3:1:targetgroup/shop-api-c/0a \
             does not have an associated load balancer."
        )));
        assert!(!awaits_listener(&refusal("InvalidParameterException", "subnets can not be empty.")));
        assert!(!awaits_listener(&refusal("ClientException", "does not have an associated load balancer")));
    }

    #[test]
    fn cluster_from_service_arn() {
        assert_eq!(cluster_of("arn:aws:ecs:eu-west-3:1:service/stackc/api", &Value::Null), "stackc");
        let prior = object([("cluster", Value::string("arn:c"))]);
        assert_eq!(cluster_of("x", &prior), "arn:c");
        assert_eq!(cluster_of("x", &Value::Null), "default");
    }
}
