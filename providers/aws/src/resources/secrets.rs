//! Secrets Manager: the secret and its value (a version). The value is
//! sensitive: read back marked, never put in an error message.

use super::{Cx, ReadItem, ResourceKind};
use crate::attrs::{
    creation_tags, idempotency_token, is_not_found, object, opt_string, prior_of, tag_changes, tags_value,
    Attrs,
};
use crate::transport::{AwsClient, Idempotency, SECRETS_MANAGER};
use serde::Deserialize;
use serde_json::json;
use stackc_model::Value;
use stackc_providers::{ProviderError, ProviderResult};

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![Box::new(Secret), Box::new(SecretVersion)]
}

struct Secret;
struct SecretVersion;

#[derive(Debug, Default, Deserialize)]
struct TagJson {
    #[serde(rename = "Key", default)]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeSecretResponse {
    #[serde(default, rename = "ARN")]
    arn: String,
    #[serde(default)]
    name: String,
    description: Option<String>,
    deleted_date: Option<serde_json::Value>,
    #[serde(default)]
    tags: Vec<TagJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecretResponse {
    #[serde(default, rename = "ARN")]
    arn: String,
}

async fn describe(client: &AwsClient, id: &str) -> ProviderResult<Option<DescribeSecretResponse>> {
    let request = json!({"SecretId": id});
    match client
        .json::<DescribeSecretResponse>(&SECRETS_MANAGER, "DescribeSecret", &request, Idempotency::Safe)
        .await
    {
        Ok(secret) => Ok(Some(secret)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn owned(cx: &Cx<'_>, tags: &[TagJson]) -> bool {
    crate::attrs::owned_by(cx.op, tags.iter().map(|t| (t.key.as_str(), t.value.as_str())))
}

#[async_trait::async_trait]
impl ResourceKind for Secret {
    fn type_name(&self) -> &'static str {
        "aws_secretsmanager_secret"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let name =
            attrs.str("name").unwrap_or_else(|| format!("stackc-{}", idempotency_token(cx.op, "secret", 20)));
        let tags: Vec<serde_json::Value> =
            creation_tags(cx.op, config).iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        let mut request = json!({"Name": name, "Tags": tags});
        if let Some(description) = attrs.str("description") {
            request["Description"] = json!(description);
        }
        match cx
            .client
            .json::<CreateSecretResponse>(&SECRETS_MANAGER, "CreateSecret", &request, Idempotency::Creates)
            .await
        {
            Ok(created) => Ok(created.arn),
            // Ours already: a lost response, or destroyed earlier and still in
            // its recovery window (restore it rather than fail for days).
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("ResourceExistsException" | "InvalidRequestException")
                ) =>
            {
                match describe(cx.client, &name).await? {
                    Some(secret) if owned(cx, &secret.tags) => {
                        if secret.deleted_date.is_some() {
                            let request = json!({"SecretId": secret.arn});
                            cx.client
                                .json::<serde_json::Value>(
                                    &SECRETS_MANAGER,
                                    "RestoreSecret",
                                    &request,
                                    Idempotency::Safe,
                                )
                                .await?;
                        }
                        Ok(secret.arn)
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let Some(name) = Attrs(config).str("name") else { return Ok(None) };
        Ok(describe(cx.client, &name)
            .await?
            .filter(|s| s.deleted_date.is_none() && owned(cx, &s.tags))
            .map(|s| s.arn))
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let mut results = Vec::new();
        for item in items {
            results.push(describe(client, item.id).await.map(|found| {
                found.filter(|s| s.deleted_date.is_none()).map(|s| {
                    object([
                        ("id", Value::string(&s.arn)),
                        ("arn", Value::string(&s.arn)),
                        (
                            "tags",
                            tags_value(s.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())), item.prior),
                        ),
                        ("name", Value::string(&s.name)),
                        ("description", opt_string(s.description.as_deref())),
                        (
                            "recovery_window_in_days",
                            prior_of(item.prior, "recovery_window_in_days").cloned().unwrap_or(Value::Null),
                        ),
                    ])
                })
            }));
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let description = Attrs(config).str("description");
        if Attrs(prior).str("description") != description {
            let description = description.unwrap_or_default();
            let token = version_token(cx, &format!("description:{description}"));
            let request = json!({"SecretId": id, "Description": description, "ClientRequestToken": token});
            cx.client
                .json::<serde_json::Value>(&SECRETS_MANAGER, "UpdateSecret", &request, Idempotency::Safe)
                .await?;
        }
        let (set, removed) = tag_changes(prior, config);
        if !set.is_empty() {
            let tags: Vec<serde_json::Value> =
                set.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
            let request = json!({"SecretId": id, "Tags": tags});
            cx.client
                .json::<serde_json::Value>(&SECRETS_MANAGER, "TagResource", &request, Idempotency::Safe)
                .await?;
        }
        if !removed.is_empty() {
            let request = json!({"SecretId": id, "TagKeys": removed});
            cx.client
                .json::<serde_json::Value>(&SECRETS_MANAGER, "UntagResource", &request, Idempotency::Safe)
                .await?;
        }
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, prior: &Value) -> ProviderResult<()> {
        let mut request = json!({"SecretId": id});
        match Attrs(prior).f64("recovery_window_in_days") {
            Some(0.0) => request["ForceDeleteWithoutRecovery"] = json!(true),
            Some(days) => request["RecoveryWindowInDays"] = json!(days as i64),
            None => {}
        }
        match cx
            .client
            .json::<serde_json::Value>(&SECRETS_MANAGER, "DeleteSecret", &request, Idempotency::Safe)
            .await
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutSecretValueResponse {
    #[serde(default)]
    version_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueResponse {
    #[serde(default, rename = "ARN")]
    arn: String,
    #[serde(default)]
    version_id: String,
    secret_string: Option<String>,
}

/// `secret-arn|version-id`, the id of a version (also its import id).
fn version_id_parts(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once('|')
}

/// The version token: derived from the address and the value, so a resent
/// PutSecretValue is the same version and a new value is a new one.
fn version_token(cx: &Cx<'_>, value: &str) -> String {
    let hex = idempotency_token(cx.op, value, 32);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

async fn put_version(cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
    let attrs = Attrs(config);
    let secret = attrs.required_str("secret_id")?;
    let value =
        attrs.str("secret_string").ok_or_else(|| ProviderError::new("`secret_string` must be set"))?;
    let request =
        json!({"SecretId": secret, "SecretString": value, "ClientRequestToken": version_token(cx, &value)});
    let put: PutSecretValueResponse =
        cx.client.json(&SECRETS_MANAGER, "PutSecretValue", &request, Idempotency::Safe).await.map_err(
            |mut e| {
                // Never echo a request that carried the value.
                e.message = e.message.replace(&value, "(sensitive)");
                e
            },
        )?;
    Ok(format!("{secret}|{}", put.version_id))
}

#[async_trait::async_trait]
impl ResourceKind for SecretVersion {
    fn type_name(&self) -> &'static str {
        "aws_secretsmanager_secret_version"
    }

    fn takes_tags(&self) -> bool {
        false
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        put_version(cx, config).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let mut results = Vec::new();
        for item in items {
            let Some((secret, version)) = version_id_parts(item.id) else {
                results.push(Err(ProviderError::new(format!(
                    "`{}` is not a secret version id (secret-arn|version-id)",
                    item.id
                ))));
                continue;
            };
            let request = json!({"SecretId": secret, "VersionId": version});
            let outcome = match client
                .json::<GetSecretValueResponse>(
                    &SECRETS_MANAGER,
                    "GetSecretValue",
                    &request,
                    Idempotency::Safe,
                )
                .await
            {
                Ok(value) => Ok(Some(object([
                    ("id", Value::string(item.id)),
                    ("tags", prior_of(item.prior, "tags").cloned().unwrap_or(Value::Null)),
                    (
                        "secret_id",
                        match prior_of(item.prior, "secret_id") {
                            Some(prior) => prior.clone(),
                            None => Value::string(&value.arn),
                        },
                    ),
                    (
                        "secret_string",
                        Value::string(value.secret_string.unwrap_or_default()).into_sensitive(),
                    ),
                    ("version_id", Value::string(&value.version_id)),
                ]))),
                Err(e) if is_not_found(&e) || e.code.as_deref() == Some("InvalidRequestException") => {
                    Ok(None)
                }
                Err(e) => Err(e),
            };
            results.push(outcome);
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, _id: &str, _prior: &Value, config: &Value) -> ProviderResult<String> {
        // A new value is a new version of the same secret.
        put_version(cx, config).await
    }

    async fn delete(&self, _cx: &Cx<'_>, _id: &str, _prior: &Value) -> ProviderResult<()> {
        // A secret always has a current version; it goes with its secret.
        Ok(())
    }

    fn plan(&self, prior: Option<&Value>, config: &Value, planned: &mut stackc_model::Fields) {
        if let Some(prior) = prior {
            if Attrs(prior).str("secret_string") != Attrs(config).str("secret_string") {
                planned.insert("version_id".into(), Value::Unknown);
                planned.insert("id".into(), Value::Unknown);
            }
        }
    }
}
