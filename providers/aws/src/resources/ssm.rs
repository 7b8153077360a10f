//! SSM parameters (JSON 1.1 protocol). Refresh reads ten parameters per
//! GetParameters call; tags are read only where some were configured.

use super::{chunks, Cx, ReadItem, ResourceKind};
use crate::attrs::{creation_tags, is_not_found, object, prior_of, tag_changes, tags_value, Attrs};
use crate::transport::{AwsClient, Idempotency, SSM};
use serde::Deserialize;
use serde_json::json;
use stackc_model::Value;
use stackc_providers::ProviderResult;
use std::collections::HashMap;

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![Box::new(Parameter)]
}

struct Parameter;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterJson {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "Type")]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    version: f64,
    #[serde(default, rename = "ARN")]
    arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersResponse {
    #[serde(default)]
    parameters: Vec<ParameterJson>,
}

#[derive(Debug, Default, Deserialize)]
struct TagJson {
    #[serde(rename = "Key", default)]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

#[derive(Debug, Default, Deserialize)]
struct ListTagsResponse {
    #[serde(rename = "TagList", default)]
    tags: Vec<TagJson>,
}

fn tags_json(tags: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

async fn put(
    client: &AwsClient,
    config: &Value,
    overwrite: bool,
    tags: Option<&[(String, String)]>,
) -> ProviderResult<()> {
    let attrs = Attrs(config);
    let mut request = json!({
        "Name": attrs.required_str("name")?,
        "Value": attrs.required_str("value")?,
        "Type": attrs.str("type").unwrap_or_else(|| "String".into()),
        "Overwrite": overwrite,
    });
    if let Some(tags) = tags {
        request["Tags"] = tags_json(tags);
    }
    client.json::<serde_json::Value>(&SSM, "PutParameter", &request, Idempotency::Safe).await.map(|_| ())
}

#[async_trait::async_trait]
impl ResourceKind for Parameter {
    fn type_name(&self) -> &'static str {
        "aws_ssm_parameter"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let name = Attrs(config).required_str("name")?;
        match put(cx.client, config, false, Some(&creation_tags(cx.op, config))).await {
            Ok(()) => Ok(name),
            // A resent PutParameter whose first copy was served.
            Err(e) if e.code.as_deref() == Some("ParameterAlreadyExists") => {
                let request = json!({"ResourceType": "Parameter", "ResourceId": name});
                let tags: ListTagsResponse =
                    cx.client.json(&SSM, "ListTagsForResource", &request, Idempotency::Safe).await?;
                let owned = crate::attrs::owned_by(
                    cx.op,
                    tags.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
                );
                if !owned {
                    return Err(e);
                }
                put(cx.client, config, true, None).await?;
                Ok(name)
            }
            Err(e) => Err(e),
        }
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let names: Vec<&str> = items.iter().map(|i| i.id).collect();
        let mut found: HashMap<String, ParameterJson> = HashMap::new();
        for chunk in chunks(&names, 10) {
            let request = json!({"Names": chunk, "WithDecryption": true});
            match client
                .json::<GetParametersResponse>(&SSM, "GetParameters", &request, Idempotency::Safe)
                .await
            {
                Ok(response) => found.extend(response.parameters.into_iter().map(|p| (p.name.clone(), p))),
                Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
            }
        }
        let mut results = Vec::new();
        for item in items {
            let Some(p) = found.get(item.id) else {
                results.push(Ok(None));
                continue;
            };
            // Always: a parameter carries its ownership tags, which plans show.
            let tags = {
                let request = json!({"ResourceType": "Parameter", "ResourceId": p.name});
                match client
                    .json::<ListTagsResponse>(&SSM, "ListTagsForResource", &request, Idempotency::Safe)
                    .await
                {
                    Ok(tags) => {
                        tags_value(tags.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())), item.prior)
                    }
                    Err(e) => {
                        results.push(Err(e));
                        continue;
                    }
                }
            };
            let value = Value::string(&p.value);
            let value = match prior_of(item.prior, "value") {
                Some(Value::Sensitive(_)) => value.into_sensitive(),
                _ if p.kind == "SecureString" => value.into_sensitive(),
                _ => value,
            };
            results.push(Ok(Some(object([
                ("id", Value::string(&p.name)),
                ("arn", Value::string(&p.arn)),
                ("tags", tags),
                ("name", Value::string(&p.name)),
                ("type", Value::string(&p.kind)),
                ("value", value),
                ("version", Value::Number(p.version)),
            ]))));
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let (before, after) = (Attrs(prior), Attrs(config));
        if before.str("value") != after.str("value") || before.str("type") != after.str("type") {
            put(cx.client, config, true, None).await?;
        }
        let (set, removed) = tag_changes(prior, config);
        if !set.is_empty() {
            let request = json!({"ResourceType": "Parameter", "ResourceId": id, "Tags": tags_json(&set)});
            cx.client
                .json::<serde_json::Value>(&SSM, "AddTagsToResource", &request, Idempotency::Safe)
                .await?;
        }
        if !removed.is_empty() {
            let request = json!({"ResourceType": "Parameter", "ResourceId": id, "TagKeys": removed});
            cx.client
                .json::<serde_json::Value>(&SSM, "RemoveTagsFromResource", &request, Idempotency::Safe)
                .await?;
        }
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let request = json!({"Name": id});
        match cx.client.json::<serde_json::Value>(&SSM, "DeleteParameter", &request, Idempotency::Safe).await
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    fn plan(&self, prior: Option<&Value>, config: &Value, planned: &mut stackc_model::Fields) {
        // Every change of value makes a new version.
        if let Some(prior) = prior {
            if Attrs(prior).str("value") != Attrs(config).str("value") || Attrs(config).get("value").is_none()
            {
                planned.insert("version".into(), Value::Unknown);
            }
        }
    }
}
