//! IAM roles (query protocol, one global endpoint). No batch read exists:
//! one GetRole and one ListAttachedRolePolicies per role.

use super::{Cx, ReadItem, ResourceKind};
use crate::attrs::{
    creation_tags, is_not_found, object, prior_of, string_list, tag_changes, tags_value, Attrs,
};
use crate::transport::{AwsClient, Idempotency, Params, IAM};
use crate::xml::{Members, QueryTag};
use serde::Deserialize;
use stackc_model::Value;
use stackc_providers::ProviderResult;

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![Box::new(Role)]
}

struct Role;

#[derive(Debug, Default, Deserialize)]
struct RoleXml {
    #[serde(rename = "RoleName", default)]
    name: String,
    #[serde(rename = "Arn", default)]
    arn: String,
    #[serde(rename = "AssumeRolePolicyDocument", default)]
    assume_role_policy: String,
    #[serde(rename = "Tags", default)]
    tags: Members<QueryTag>,
}

#[derive(Debug, Default, Deserialize)]
struct RoleResult {
    #[serde(rename = "Role", default)]
    role: RoleXml,
}

#[derive(Debug, Default, Deserialize)]
struct AttachedPolicy {
    #[serde(rename = "PolicyArn", default)]
    arn: String,
}

#[derive(Debug, Default, Deserialize)]
struct AttachedPolicies {
    #[serde(rename = "AttachedPolicies", default)]
    policies: Members<AttachedPolicy>,
}

/// IAM returns the policy document URL-encoded.
fn decode_policy(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| text.to_string())
}

fn same_json(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

async fn attached_policies(client: &AwsClient, role: &str) -> ProviderResult<Vec<String>> {
    let params = Params::new().set("RoleName", role);
    let result: AttachedPolicies =
        client.query_result(&IAM, "ListAttachedRolePolicies", &params, Idempotency::Safe).await?;
    Ok(result.policies.members.into_iter().map(|p| p.arn).collect())
}

async fn sync_policies(
    client: &AwsClient,
    role: &str,
    before: &[String],
    after: &[String],
) -> ProviderResult<()> {
    for arn in before.iter().filter(|a| !after.contains(a)) {
        let params = Params::new().set("RoleName", role).set("PolicyArn", arn);
        match client.query(&IAM, "DetachRolePolicy", &params, Idempotency::Safe).await {
            Err(e) if !is_not_found(&e) => return Err(e),
            _ => {}
        }
    }
    for arn in after.iter().filter(|a| !before.contains(a)) {
        let params = Params::new().set("RoleName", role).set("PolicyArn", arn);
        client.query(&IAM, "AttachRolePolicy", &params, Idempotency::Safe).await?;
    }
    Ok(())
}

fn role_name(cx: &Cx<'_>, config: &Value) -> String {
    Attrs(config)
        .str("name")
        .unwrap_or_else(|| format!("stackc-{}", crate::attrs::idempotency_token(cx.op, "role", 20)))
}

#[async_trait::async_trait]
impl ResourceKind for Role {
    fn type_name(&self) -> &'static str {
        "aws_iam_role"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let name = role_name(cx, config);
        let mut params = Params::new()
            .set("RoleName", &name)
            .set("AssumeRolePolicyDocument", Attrs(config).required_str("assume_role_policy")?);
        for (i, (k, v)) in creation_tags(cx.op, config).iter().enumerate() {
            params.push(format!("Tags.member.{}.Key", i + 1), k);
            params.push(format!("Tags.member.{}.Value", i + 1), v);
        }
        match cx.client.query(&IAM, "CreateRole", &params, Idempotency::Creates).await {
            Ok(_) => {}
            Err(e) if e.code.as_deref() == Some("EntityAlreadyExists") => {
                return self.recover_created(cx, config).await?.ok_or(e);
            }
            Err(e) => return Err(e),
        }
        if let Err(e) =
            sync_policies(cx.client, &name, &[], &Attrs(config).strings("managed_policy_arns")).await
        {
            let _ = self.delete(cx, &name, &Value::Null).await;
            return Err(e);
        }
        Ok(name)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let name = role_name(cx, config);
        let params = Params::new().set("RoleName", &name);
        let role =
            match cx.client.query_result::<RoleResult>(&IAM, "GetRole", &params, Idempotency::Safe).await {
                Ok(result) => result.role,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
        let owned = crate::attrs::owned_by(
            cx.op,
            role.tags.members.iter().map(|t| (t.key.as_str(), t.value.as_str())),
        );
        Ok(owned.then_some(name))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        let attached = attached_policies(cx.client, id).await?;
        sync_policies(cx.client, id, &attached, &Attrs(config).strings("managed_policy_arns")).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let mut results = Vec::new();
        for item in items {
            results.push(read_role(client, item).await);
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let policy = Attrs(config).required_str("assume_role_policy")?;
        if !Attrs(prior).str("assume_role_policy").is_some_and(|p| same_json(&p, &policy)) {
            let params = Params::new().set("RoleName", id).set("PolicyDocument", policy);
            cx.client.query(&IAM, "UpdateAssumeRolePolicy", &params, Idempotency::Safe).await?;
        }
        let actual = attached_policies(cx.client, id).await?;
        sync_policies(cx.client, id, &actual, &Attrs(config).strings("managed_policy_arns")).await?;
        let (set, removed) = tag_changes(prior, config);
        if !set.is_empty() {
            let mut params = Params::new().set("RoleName", id);
            for (i, (k, v)) in set.iter().enumerate() {
                params.push(format!("Tags.member.{}.Key", i + 1), k);
                params.push(format!("Tags.member.{}.Value", i + 1), v);
            }
            cx.client.query(&IAM, "TagRole", &params, Idempotency::Safe).await?;
        }
        if !removed.is_empty() {
            let params = Params::new().set("RoleName", id).list("TagKeys.member", removed);
            cx.client.query(&IAM, "UntagRole", &params, Idempotency::Safe).await?;
        }
        Ok(id.to_string())
    }

    fn normalize(&self, prior: &Value, config: &mut stackc_model::Fields) {
        // The same policy written differently: keep the text in state.
        let Some(wanted) = config.get("assume_role_policy").and_then(|v| v.as_str()).map(str::to_string)
        else {
            return;
        };
        if let Some(had) = Attrs(prior).str("assume_role_policy").filter(|had| same_json(had, &wanted)) {
            config.insert("assume_role_policy".into(), Value::string(had));
        }
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let attached = match attached_policies(cx.client, id).await {
            Ok(attached) => attached,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        sync_policies(cx.client, id, &attached, &[]).await?;
        cx.client
            .query(&IAM, "DeleteRole", &Params::new().set("RoleName", id), Idempotency::Safe)
            .await
            .map(|_| ())
    }
}

async fn read_role(client: &AwsClient, item: &ReadItem<'_>) -> ProviderResult<Option<Value>> {
    let name = item.id.rsplit('/').next().unwrap_or(item.id);
    let params = Params::new().set("RoleName", name);
    let role = match client.query_result::<RoleResult>(&IAM, "GetRole", &params, Idempotency::Safe).await {
        Ok(result) => result.role,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let policy = decode_policy(&role.assume_role_policy);
    let policy = match prior_of(item.prior, "assume_role_policy").and_then(|p| p.as_str()) {
        Some(prior) if same_json(prior, &policy) => prior.to_string(),
        _ => policy,
    };
    let attached = attached_policies(client, &role.name).await?;
    let managed = crate::attrs::as_set(
        string_list(&attached).as_list().unwrap_or(&[]).to_vec(),
        prior_of(item.prior, "managed_policy_arns"),
    );
    Ok(Some(object([
        ("id", Value::string(&role.name)),
        ("arn", Value::string(&role.arn)),
        (
            "tags",
            tags_value(role.tags.members.iter().map(|t| (t.key.as_str(), t.value.as_str())), item.prior),
        ),
        ("name", Value::string(&role.name)),
        ("assume_role_policy", Value::string(policy)),
        ("managed_policy_arns", managed),
    ])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_decoded_and_compared_as_json() {
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%7D";
        assert_eq!(decode_policy(encoded), "{\"Version\": \"2012-10-17\"}");
        assert!(same_json("{\"Version\": \"2012-10-17\"}", "{\"Version\":\"2012-10-17\"}"));
    }
}
