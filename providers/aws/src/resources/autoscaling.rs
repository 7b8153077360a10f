//! Application Auto Scaling: scalable targets and scaling policies (JSON
//! 1.1 protocol). Both calls are upserts, so resending them is safe. A
//! target's id is its resource id; a policy's is its name.

use super::{Cx, ReadItem, ResourceKind};
use crate::attrs::{from_pascal_json, is_not_found, object, prior_of, project, to_pascal_json, Attrs};
use crate::transport::{AwsClient, Idempotency, APP_AUTOSCALING};
use serde::Deserialize;
use serde_json::json;
use stackc_model::Value;
use stackc_providers::{ProviderError, ProviderResult};
use std::collections::HashMap;

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![Box::new(ScalableTarget), Box::new(ScalingPolicy)]
}

/// Application Auto Scaling says "not found" with a validation error.
fn gone(e: &ProviderError) -> bool {
    e.code.as_deref() == Some("ValidationException") && e.message.starts_with("No scal")
}

struct ScalableTarget;
struct ScalingPolicy;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetJson {
    #[serde(default)]
    service_namespace: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    scalable_dimension: String,
    #[serde(default)]
    min_capacity: f64,
    #[serde(default)]
    max_capacity: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeTargetsResponse {
    #[serde(default)]
    scalable_targets: Vec<TargetJson>,
}

fn key(attrs: &Attrs<'_>) -> ProviderResult<(String, String, String)> {
    Ok((
        attrs.required_str("service_namespace")?,
        attrs.required_str("resource_id")?,
        attrs.required_str("scalable_dimension")?,
    ))
}

/// Namespace and dimension of a target: from prior attributes, else (on
/// import) from the resource id (`service/...` is ECS).
fn namespace_of(id: &str, prior: &Value) -> (String, Option<String>) {
    match Attrs(prior).str("service_namespace") {
        Some(ns) => (ns, Attrs(prior).str("scalable_dimension")),
        None if id.starts_with("service/") => ("ecs".into(), Some("ecs:service:DesiredCount".into())),
        None => ("ecs".into(), None),
    }
}

async fn register(cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
    let attrs = Attrs(config);
    let (namespace, resource, dimension) = key(&attrs)?;
    let request = json!({
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "MinCapacity": attrs.f64("min_capacity").map(|n| n as i64),
        "MaxCapacity": attrs.f64("max_capacity").map(|n| n as i64),
    });
    cx.client
        .json::<serde_json::Value>(&APP_AUTOSCALING, "RegisterScalableTarget", &request, Idempotency::Safe)
        .await?;
    Ok(resource)
}

#[async_trait::async_trait]
impl ResourceKind for ScalableTarget {
    fn type_name(&self) -> &'static str {
        "aws_appautoscaling_target"
    }

    fn takes_tags(&self) -> bool {
        false
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        register(cx, config).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        // One call per namespace, with every resource id of it.
        let mut by_namespace: HashMap<String, Vec<&str>> = HashMap::new();
        for item in items {
            by_namespace.entry(namespace_of(item.id, item.prior).0).or_default().push(item.id);
        }
        let mut found: Vec<TargetJson> = Vec::new();
        for (namespace, ids) in by_namespace {
            for chunk in ids.chunks(50) {
                let request = json!({"ServiceNamespace": namespace, "ResourceIds": chunk});
                match client
                    .json::<DescribeTargetsResponse>(
                        &APP_AUTOSCALING,
                        "DescribeScalableTargets",
                        &request,
                        Idempotency::Safe,
                    )
                    .await
                {
                    Ok(response) => found.extend(response.scalable_targets),
                    Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
                }
            }
        }
        items
            .iter()
            .map(|item| {
                let (_, dimension) = namespace_of(item.id, item.prior);
                let target = found.iter().find(|t| {
                    t.resource_id == item.id && dimension.as_ref().is_none_or(|d| *d == t.scalable_dimension)
                });
                Ok(target.map(|t| {
                    object([
                        ("id", Value::string(&t.resource_id)),
                        ("tags", prior_of(item.prior, "tags").cloned().unwrap_or(Value::Null)),
                        ("service_namespace", Value::string(&t.service_namespace)),
                        ("resource_id", Value::string(&t.resource_id)),
                        ("scalable_dimension", Value::string(&t.scalable_dimension)),
                        ("min_capacity", Value::Number(t.min_capacity)),
                        ("max_capacity", Value::Number(t.max_capacity)),
                    ])
                }))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, _id: &str, _prior: &Value, config: &Value) -> ProviderResult<String> {
        register(cx, config).await
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, prior: &Value) -> ProviderResult<()> {
        let (namespace, dimension) = namespace_of(id, prior);
        let request =
            json!({"ServiceNamespace": namespace, "ResourceId": id, "ScalableDimension": dimension});
        match cx
            .client
            .json::<serde_json::Value>(
                &APP_AUTOSCALING,
                "DeregisterScalableTarget",
                &request,
                Idempotency::Safe,
            )
            .await
        {
            Err(e) if !is_not_found(&e) && !gone(&e) => Err(e),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyJson {
    #[serde(default, rename = "PolicyARN")]
    arn: String,
    #[serde(default)]
    policy_name: String,
    #[serde(default)]
    policy_type: String,
    #[serde(default)]
    service_namespace: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    scalable_dimension: String,
    target_tracking_scaling_policy_configuration: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribePoliciesResponse {
    #[serde(default)]
    scaling_policies: Vec<PolicyJson>,
}

#[derive(Debug, Default, Deserialize)]
struct PutPolicyResponse {
    #[serde(rename = "PolicyARN", default)]
    arn: String,
}

async fn put_policy(cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
    let attrs = Attrs(config);
    let (namespace, resource, dimension) = key(&attrs)?;
    let name = attrs.required_str("name")?;
    let mut request = json!({
        "PolicyName": name,
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "PolicyType": attrs.str("policy_type").unwrap_or_else(|| "StepScaling".into()),
    });
    if let Some(tracking) = attrs.get("target_tracking_scaling_policy_configuration") {
        request["TargetTrackingScalingPolicyConfiguration"] = to_pascal_json(tracking);
    }
    let put: PutPolicyResponse =
        cx.client.json(&APP_AUTOSCALING, "PutScalingPolicy", &request, Idempotency::Safe).await?;
    if put.arn.is_empty() {
        return Err(ProviderError::new("PutScalingPolicy returned no policy ARN"));
    }
    Ok(name)
}

#[async_trait::async_trait]
impl ResourceKind for ScalingPolicy {
    fn type_name(&self) -> &'static str {
        "aws_appautoscaling_policy"
    }

    fn takes_tags(&self) -> bool {
        false
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        put_policy(cx, config).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let mut results = Vec::new();
        for item in items {
            let namespace = Attrs(item.prior).str("service_namespace").unwrap_or_else(|| "ecs".into());
            let mut request = json!({"ServiceNamespace": namespace, "PolicyNames": [item.id]});
            if let Some(resource) = Attrs(item.prior).str("resource_id") {
                request["ResourceId"] = json!(resource);
            }
            let outcome = client
                .json::<DescribePoliciesResponse>(
                    &APP_AUTOSCALING,
                    "DescribeScalingPolicies",
                    &request,
                    Idempotency::Safe,
                )
                .await
                .map(|response| {
                    response.scaling_policies.into_iter().find(|p| p.policy_name == item.id).map(|p| {
                        let tracking = p
                            .target_tracking_scaling_policy_configuration
                            .as_ref()
                            .map_or(Value::Null, from_pascal_json);
                        object([
                            ("id", Value::string(&p.policy_name)),
                            ("arn", Value::string(&p.arn)),
                            ("tags", prior_of(item.prior, "tags").cloned().unwrap_or(Value::Null)),
                            ("name", Value::string(&p.policy_name)),
                            ("policy_type", Value::string(&p.policy_type)),
                            ("service_namespace", Value::string(&p.service_namespace)),
                            ("resource_id", Value::string(&p.resource_id)),
                            ("scalable_dimension", Value::string(&p.scalable_dimension)),
                            (
                                "target_tracking_scaling_policy_configuration",
                                project(
                                    tracking,
                                    prior_of(item.prior, "target_tracking_scaling_policy_configuration"),
                                ),
                            ),
                        ])
                    })
                });
            results.push(outcome);
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, _id: &str, _prior: &Value, config: &Value) -> ProviderResult<String> {
        put_policy(cx, config).await
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, prior: &Value) -> ProviderResult<()> {
        let attrs = Attrs(prior);
        let request = json!({
            "PolicyName": id,
            "ServiceNamespace": attrs.str("service_namespace"),
            "ResourceId": attrs.str("resource_id"),
            "ScalableDimension": attrs.str("scalable_dimension"),
        });
        match cx
            .client
            .json::<serde_json::Value>(&APP_AUTOSCALING, "DeleteScalingPolicy", &request, Idempotency::Safe)
            .await
        {
            Err(e) if !is_not_found(&e) && !gone(&e) => Err(e),
            _ => Ok(()),
        }
    }
}
