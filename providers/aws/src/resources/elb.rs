//! Elastic Load Balancing v2: load balancers, target groups, listeners.
//! Ids are ARNs; reads batch up to 20 ARNs per Describe and per DescribeTags.

use super::{chunks, wait_for, Cx, ReadItem, ResourceKind};
use crate::attrs::{
    as_set, creation_tags, is_not_found, object, opt_string, prior_of, project, tag_changes, tags_value,
    Attrs,
};
use crate::transport::{AwsClient, Idempotency, Params, ELBV2};
use crate::xml::{Members, QueryTag};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use stackc_model::Value;
use stackc_providers::{ProviderError, ProviderResult};
use std::collections::HashMap;

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![Box::new(LoadBalancer), Box::new(TargetGroup), Box::new(Listener), Box::new(ListenerRule)]
}

fn tag_params(mut params: Params, tags: &[(String, String)]) -> Params {
    for (i, (k, v)) in tags.iter().enumerate() {
        params.push(format!("Tags.member.{}.Key", i + 1), k);
        params.push(format!("Tags.member.{}.Value", i + 1), v);
    }
    params
}

#[derive(Debug, Default, Deserialize)]
struct TagDescription {
    #[serde(rename = "ResourceArn", default)]
    arn: String,
    #[serde(rename = "Tags", default)]
    tags: Members<QueryTag>,
}

#[derive(Debug, Default, Deserialize)]
struct DescribeTagsResult {
    #[serde(rename = "TagDescriptions", default)]
    descriptions: Members<TagDescription>,
}

async fn describe_tags(client: &AwsClient, arns: &[&str]) -> ProviderResult<HashMap<String, Vec<QueryTag>>> {
    let mut out = HashMap::new();
    for chunk in chunks(arns, 20) {
        let params = Params::new().list("ResourceArns.member", chunk.iter());
        let result: DescribeTagsResult =
            client.query_result(&ELBV2, "DescribeTags", &params, Idempotency::Safe).await?;
        for d in result.descriptions.members {
            out.insert(d.arn, d.tags.members);
        }
    }
    Ok(out)
}

fn tags_of(tags: &HashMap<String, Vec<QueryTag>>, arn: &str, prior: &Value) -> Value {
    tags_value(tags.get(arn).into_iter().flatten().map(|t| (t.key.as_str(), t.value.as_str())), prior)
}

async fn update_tags(client: &AwsClient, arn: &str, prior: &Value, config: &Value) -> ProviderResult<()> {
    let (set, removed) = tag_changes(prior, config);
    if !set.is_empty() {
        let params = tag_params(Params::new().set("ResourceArns.member.1", arn), &set);
        client.query(&ELBV2, "AddTags", &params, Idempotency::Safe).await?;
    }
    if !removed.is_empty() {
        let params = Params::new().set("ResourceArns.member.1", arn).list("TagKeys.member", removed);
        client.query(&ELBV2, "RemoveTags", &params, Idempotency::Safe).await?;
    }
    Ok(())
}

/// Describes by ARN in chunks of 20; a missing ARN fails the whole call, so
/// then each is asked alone.
async fn describe_by_arn<T, R>(
    client: &AwsClient,
    action: &str,
    list_param: &str,
    arns: &[&str],
    members: impl Fn(T) -> Vec<R>,
    not_found: &str,
) -> ProviderResult<Vec<R>>
where
    T: DeserializeOwned + Default,
{
    let mut out = Vec::new();
    for chunk in chunks(arns, 20) {
        let params = Params::new().list(list_param, chunk.iter());
        match client.query_result::<T>(&ELBV2, action, &params, Idempotency::Safe).await {
            Ok(result) => out.extend(members(result)),
            Err(e) if e.code.as_deref() == Some(not_found) && chunk.len() > 1 => {
                for arn in chunk {
                    let params = Params::new().set(format!("{list_param}.1"), arn);
                    match client.query_result::<T>(&ELBV2, action, &params, Idempotency::Safe).await {
                        Ok(result) => out.extend(members(result)),
                        Err(e) if e.code.as_deref() == Some(not_found) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) if e.code.as_deref() == Some(not_found) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// True if the object carries this operation's ownership tags (adopting an
/// object a lost response left behind, never someone else's).
async fn owned(cx: &Cx<'_>, arn: &str) -> ProviderResult<bool> {
    let tags = describe_tags(cx.client, &[arn]).await?;
    Ok(crate::attrs::owned_by(
        cx.op,
        tags.get(arn).into_iter().flatten().map(|t| (t.key.as_str(), t.value.as_str())),
    ))
}

fn missing_results(items: &[ReadItem<'_>], e: ProviderError) -> Vec<ProviderResult<Option<Value>>> {
    items.iter().map(|_| Err(e.clone())).collect()
}

// ---------------------------------------------------------------------------
// aws_lb

struct LoadBalancer;

#[derive(Debug, Default, Deserialize)]
struct LbState {
    #[serde(rename = "Code", default)]
    code: String,
}

#[derive(Debug, Default, Deserialize)]
struct LbZone {
    #[serde(rename = "SubnetId", default)]
    subnet_id: String,
}

#[derive(Debug, Default, Deserialize)]
struct LbXml {
    #[serde(rename = "LoadBalancerArn", default)]
    arn: String,
    #[serde(rename = "LoadBalancerName", default)]
    name: String,
    #[serde(rename = "DNSName", default)]
    dns_name: String,
    #[serde(rename = "CanonicalHostedZoneId", default)]
    zone_id: String,
    #[serde(rename = "Scheme", default)]
    scheme: String,
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "State", default)]
    state: LbState,
    #[serde(rename = "AvailabilityZones", default)]
    zones: Members<LbZone>,
    #[serde(rename = "SecurityGroups", default)]
    security_groups: Members<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LbList {
    #[serde(rename = "LoadBalancers", default)]
    lbs: Members<LbXml>,
}

async fn describe_lbs(client: &AwsClient, arns: &[&str]) -> ProviderResult<HashMap<String, LbXml>> {
    let lbs = describe_by_arn(
        client,
        "DescribeLoadBalancers",
        "LoadBalancerArns.member",
        arns,
        |r: LbList| r.lbs.members,
        "LoadBalancerNotFound",
    )
    .await?;
    Ok(lbs.into_iter().map(|lb| (lb.arn.clone(), lb)).collect())
}

#[async_trait::async_trait]
impl ResourceKind for LoadBalancer {
    fn type_name(&self) -> &'static str {
        "aws_lb"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let name = attrs.str("name").unwrap_or_else(|| generated_name(cx, "lb"));
        let mut params = Params::new()
            .set("Name", &name)
            .set("Type", attrs.str("load_balancer_type").unwrap_or_else(|| "application".into()))
            .set("Scheme", if attrs.bool("internal") == Some(true) { "internal" } else { "internet-facing" })
            .list("Subnets.member", attrs.strings("subnets"))
            .list("SecurityGroups.member", attrs.strings("security_groups"));
        params = tag_params(params, &creation_tags(cx.op, config));
        // AWS returns the existing balancer for the same name and settings;
        // not every endpoint does (moto makes another): never resent blind.
        let arn = match cx
            .client
            .query_result::<LbList>(&ELBV2, "CreateLoadBalancer", &params, Idempotency::Creates)
            .await
        {
            Ok(created) => created.lbs.members.into_iter().next().map(|lb| lb.arn),
            Err(e) if e.code.as_deref() == Some("DuplicateLoadBalancerName") => {
                let params = Params::new().set("Names.member.1", &name);
                let found: LbList = cx
                    .client
                    .query_result(&ELBV2, "DescribeLoadBalancers", &params, Idempotency::Safe)
                    .await?;
                let arn = found.lbs.members.into_iter().next().map(|lb| lb.arn);
                match arn {
                    Some(arn) if owned(cx, &arn).await? => Some(arn),
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
        .ok_or_else(|| ProviderError::new("CreateLoadBalancer returned nothing"))?;
        wait_active(cx, &arn).await?;
        Ok(arn)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let name = Attrs(config).str("name").unwrap_or_else(|| generated_name(cx, "lb"));
        let params = Params::new().set("Names.member.1", &name);
        let found = match cx
            .client
            .query_result::<LbList>(&ELBV2, "DescribeLoadBalancers", &params, Idempotency::Safe)
            .await
        {
            Ok(found) => found.lbs.members,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        for lb in found {
            if owned(cx, &lb.arn).await? {
                return Ok(Some(lb.arn));
            }
        }
        Ok(None)
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, _config: &Value) -> ProviderResult<()> {
        wait_active(cx, id).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let arns: Vec<&str> = items.iter().map(|i| i.id).collect();
        let lbs = match describe_lbs(client, &arns).await {
            Ok(found) => found,
            Err(e) => return missing_results(items, e),
        };
        let present: Vec<&str> = arns.iter().copied().filter(|a| lbs.contains_key(*a)).collect();
        let tags = match describe_tags(client, &present).await {
            Ok(tags) => tags,
            Err(e) => return missing_results(items, e),
        };
        items
            .iter()
            .map(|item| {
                let Some(lb) = lbs.get(item.id) else { return Ok(None) };
                let subnets = lb.zones.members.iter().map(|z| Value::string(&z.subnet_id)).collect();
                let groups = lb.security_groups.members.iter().map(Value::string).collect();
                Ok(Some(object([
                    ("id", Value::string(&lb.arn)),
                    ("arn", Value::string(&lb.arn)),
                    ("tags", tags_of(&tags, &lb.arn, item.prior)),
                    ("name", Value::string(&lb.name)),
                    ("internal", internal_value(&lb.scheme)),
                    ("load_balancer_type", Value::string(&lb.kind)),
                    ("subnets", as_set(subnets, prior_of(item.prior, "subnets"))),
                    ("security_groups", as_set(groups, prior_of(item.prior, "security_groups"))),
                    ("dns_name", Value::string(&lb.dns_name)),
                    ("zone_id", opt_string(Some(&lb.zone_id))),
                ])))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let (before, after) = (Attrs(prior), Attrs(config));
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let subnets = after.strings("subnets");
        if !subnets.is_empty() && sorted(subnets.clone()) != sorted(before.strings("subnets")) {
            let params = Params::new().set("LoadBalancerArn", id).list("Subnets.member", subnets);
            cx.client.query(&ELBV2, "SetSubnets", &params, Idempotency::Safe).await?;
        }
        let groups = after.strings("security_groups");
        if !groups.is_empty() && sorted(groups.clone()) != sorted(before.strings("security_groups")) {
            let params = Params::new().set("LoadBalancerArn", id).list("SecurityGroups.member", groups);
            cx.client.query(&ELBV2, "SetSecurityGroups", &params, Idempotency::Safe).await?;
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let params = Params::new().set("LoadBalancerArn", id);
        cx.client.query(&ELBV2, "DeleteLoadBalancer", &params, Idempotency::Safe).await.map(|_| ())
    }
}

/// Waits until a new load balancer is active.
async fn wait_active(cx: &Cx<'_>, arn: &str) -> ProviderResult<()> {
    wait_for(cx.waits, &format!("load balancer {arn} to be active"), || async move {
        let found = describe_lbs(cx.client, &[arn]).await?;
        match found.get(arn).map(|lb| lb.state.code.as_str()) {
            Some("active") => Ok(Some(())),
            Some("failed") => Err(ProviderError {
                code: Some("LoadBalancerFailed".into()),
                message: format!("load balancer {arn} failed to provision"),
                retryable: false,
            }),
            _ => Ok(None),
        }
    })
    .await
}

fn internal_value(scheme: &str) -> Value {
    Value::Bool(scheme == "internal")
}

/// A name for objects whose configuration gives none (32 characters at most).
fn generated_name(cx: &Cx<'_>, kind: &str) -> String {
    format!("stackc-{kind}-{}", crate::attrs::idempotency_token(cx.op, kind, 16))
}

// ---------------------------------------------------------------------------
// aws_lb_target_group

struct TargetGroup;

#[derive(Debug, Default, Deserialize)]
struct TgXml {
    #[serde(rename = "TargetGroupArn", default)]
    arn: String,
    #[serde(rename = "TargetGroupName", default)]
    name: String,
    #[serde(rename = "Protocol", default)]
    protocol: String,
    #[serde(rename = "Port")]
    port: Option<f64>,
    #[serde(rename = "VpcId", default)]
    vpc_id: String,
    #[serde(rename = "TargetType", default)]
    target_type: String,
    #[serde(rename = "HealthCheckPath", default)]
    health_check_path: String,
    #[serde(rename = "HealthCheckIntervalSeconds")]
    health_check_interval: Option<f64>,
    #[serde(rename = "HealthCheckTimeoutSeconds")]
    health_check_timeout: Option<f64>,
    #[serde(rename = "HealthyThresholdCount")]
    healthy_threshold: Option<f64>,
    #[serde(rename = "UnhealthyThresholdCount")]
    unhealthy_threshold: Option<f64>,
    #[serde(rename = "HealthCheckProtocol", default)]
    health_check_protocol: String,
}

#[derive(Debug, Default, Deserialize)]
struct TgList {
    #[serde(rename = "TargetGroups", default)]
    groups: Members<TgXml>,
}

fn health_check_params(mut params: Params, config: &Value) -> Params {
    let Some(health) = Attrs(config).get("health_check") else { return params };
    let health = Attrs(health);
    if let Some(path) = health.str("path") {
        params.push("HealthCheckPath", path);
    }
    for (key, param) in [
        ("interval", "HealthCheckIntervalSeconds"),
        ("timeout", "HealthCheckTimeoutSeconds"),
        ("healthy_threshold", "HealthyThresholdCount"),
        ("unhealthy_threshold", "UnhealthyThresholdCount"),
    ] {
        if let Some(n) = health.f64(key) {
            params.push(param, n as i64);
        }
    }
    if let Some(protocol) = health.str("protocol") {
        params.push("HealthCheckProtocol", protocol);
    }
    params
}

fn health_check_value(tg: &TgXml, prior: Option<&Value>) -> Value {
    let number = |n: Option<f64>| n.map_or(Value::Null, Value::Number);
    let full = object([
        ("path", opt_string(Some(&tg.health_check_path))),
        ("interval", number(tg.health_check_interval)),
        ("timeout", number(tg.health_check_timeout)),
        ("healthy_threshold", number(tg.healthy_threshold)),
        ("unhealthy_threshold", number(tg.unhealthy_threshold)),
        ("protocol", opt_string(Some(&tg.health_check_protocol))),
    ]);
    project(full, prior)
}

#[async_trait::async_trait]
impl ResourceKind for TargetGroup {
    fn type_name(&self) -> &'static str {
        "aws_lb_target_group"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let mut params =
            Params::new().set("Name", attrs.str("name").unwrap_or_else(|| generated_name(cx, "tg")));
        if let Some(protocol) = attrs.str("protocol") {
            params.push("Protocol", protocol);
        }
        if let Some(port) = attrs.f64("port") {
            params.push("Port", port as i64);
        }
        if let Some(vpc) = attrs.str("vpc_id") {
            params.push("VpcId", vpc);
        }
        if let Some(kind) = attrs.str("target_type") {
            params.push("TargetType", kind);
        }
        params = health_check_params(params, config);
        params = tag_params(params, &creation_tags(cx.op, config));
        let name = params.0[0].1.clone();
        let arn = match cx
            .client
            .query_result::<TgList>(&ELBV2, "CreateTargetGroup", &params, Idempotency::Creates)
            .await
        {
            Ok(created) => created.groups.members.into_iter().next().map(|g| g.arn),
            Err(e) if e.code.as_deref() == Some("DuplicateTargetGroupName") => {
                let params = Params::new().set("Names.member.1", &name);
                let found: TgList = cx
                    .client
                    .query_result(&ELBV2, "DescribeTargetGroups", &params, Idempotency::Safe)
                    .await?;
                match found.groups.members.into_iter().next().map(|g| g.arn) {
                    Some(arn) if owned(cx, &arn).await? => Some(arn),
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        arn.ok_or_else(|| ProviderError::new("CreateTargetGroup returned nothing"))
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let name = Attrs(config).str("name").unwrap_or_else(|| generated_name(cx, "tg"));
        let params = Params::new().set("Names.member.1", &name);
        let found = match cx
            .client
            .query_result::<TgList>(&ELBV2, "DescribeTargetGroups", &params, Idempotency::Safe)
            .await
        {
            Ok(found) => found.groups.members,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        for group in found {
            if owned(cx, &group.arn).await? {
                return Ok(Some(group.arn));
            }
        }
        Ok(None)
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let arns: Vec<&str> = items.iter().map(|i| i.id).collect();
        let groups = match describe_by_arn(
            client,
            "DescribeTargetGroups",
            "TargetGroupArns.member",
            &arns,
            |r: TgList| r.groups.members,
            "TargetGroupNotFound",
        )
        .await
        {
            Ok(groups) => groups.into_iter().map(|g| (g.arn.clone(), g)).collect::<HashMap<_, _>>(),
            Err(e) => return missing_results(items, e),
        };
        let present: Vec<&str> = arns.iter().copied().filter(|a| groups.contains_key(*a)).collect();
        let tags = match describe_tags(client, &present).await {
            Ok(tags) => tags,
            Err(e) => return missing_results(items, e),
        };
        items
            .iter()
            .map(|item| {
                let Some(tg) = groups.get(item.id) else { return Ok(None) };
                Ok(Some(object([
                    ("id", Value::string(&tg.arn)),
                    ("arn", Value::string(&tg.arn)),
                    ("tags", tags_of(&tags, &tg.arn, item.prior)),
                    ("name", Value::string(&tg.name)),
                    ("port", tg.port.map_or(Value::Null, Value::Number)),
                    ("protocol", opt_string(Some(&tg.protocol))),
                    ("vpc_id", opt_string(Some(&tg.vpc_id))),
                    ("target_type", opt_string(Some(&tg.target_type))),
                    ("health_check", health_check_value(tg, prior_of(item.prior, "health_check"))),
                ])))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        if prior_of(prior, "health_check").map(Value::unmarked)
            != prior_of(config, "health_check").map(Value::unmarked)
        {
            let params = health_check_params(Params::new().set("TargetGroupArn", id), config);
            cx.client.query(&ELBV2, "ModifyTargetGroup", &params, Idempotency::Safe).await?;
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let params = Params::new().set("TargetGroupArn", id);
        // A group still used by a listener being deleted: wait for it.
        wait_for(cx.waits, "target group to be free", || {
            let params = params.clone();
            async move {
                match cx.client.query(&ELBV2, "DeleteTargetGroup", &params, Idempotency::Safe).await {
                    Ok(_) => Ok(Some(())),
                    Err(e) if is_not_found(&e) => Ok(Some(())),
                    Err(e) if e.code.as_deref() == Some("ResourceInUse") => Ok(None),
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// aws_lb_listener

struct Listener;

#[derive(Debug, Default, Deserialize)]
struct ActionXml {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "TargetGroupArn", default)]
    target_group_arn: String,
    #[serde(rename = "ForwardConfig")]
    forward: Option<ForwardConfigXml>,
}

/// A forward action's groups with their weights. AWS answers it for every
/// forward action (a plain one as its one group, weight 1); moto only for
/// the actions sent with it.
#[derive(Debug, Default, Deserialize)]
struct ForwardConfigXml {
    #[serde(rename = "TargetGroups", default)]
    groups: Members<WeightedGroupXml>,
}

#[derive(Debug, Default, Deserialize)]
struct WeightedGroupXml {
    #[serde(rename = "TargetGroupArn", default)]
    arn: String,
    #[serde(rename = "Weight")]
    weight: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
struct ListenerXml {
    #[serde(rename = "ListenerArn", default)]
    arn: String,
    #[serde(rename = "LoadBalancerArn", default)]
    load_balancer_arn: String,
    #[serde(rename = "Port")]
    port: Option<f64>,
    #[serde(rename = "Protocol", default)]
    protocol: String,
    #[serde(rename = "DefaultActions", default)]
    actions: Members<ActionXml>,
}

#[derive(Debug, Default, Deserialize)]
struct ListenerList {
    #[serde(rename = "Listeners", default)]
    listeners: Members<ListenerXml>,
}

/// `prefix.member.N.Type` / `.TargetGroupArn` / `.Order` for forward
/// actions; a weighted forward (`forward = { target_groups = [{ arn,
/// weight }, ...] }`) as `.ForwardConfig.TargetGroups.member.M.TargetGroupArn`
/// / `.Weight`.
fn action_params(params: &mut Params, prefix: &str, actions: &[Value]) {
    for (i, action) in actions.iter().enumerate() {
        let action = Attrs(action);
        let n = i + 1;
        params.push(
            format!("{prefix}.member.{n}.Type"),
            action.str("type").unwrap_or_else(|| "forward".into()),
        );
        if let Some(group) = action.str("target_group_arn") {
            params.push(format!("{prefix}.member.{n}.TargetGroupArn"), group);
        }
        if let Some(forward) = action.get("forward").filter(|f| !matches!(f, Value::Null)) {
            for (j, group) in Attrs(forward).list("target_groups").iter().enumerate() {
                let group = Attrs(group);
                let at = format!("{prefix}.member.{n}.ForwardConfig.TargetGroups.member.{}", j + 1);
                if let Some(arn) = group.str("arn") {
                    params.push(format!("{at}.TargetGroupArn"), arn);
                }
                if let Some(weight) = group.f64("weight") {
                    params.push(format!("{at}.Weight"), weight as i64);
                }
            }
        }
        params.push(format!("{prefix}.member.{n}.Order"), n);
    }
}

/// One action as read, in the shape of the configured one (`prior`): the
/// plain `target_group_arn`, or `forward.target_groups` with weights (in the
/// configured order). AWS answers a forward to one group in both forms and
/// moto in the form it was sent, so either form read serves either form
/// configured: a single group's arn for a plain one, a plain one as its
/// group with the configured weight (AWS's 1 when none was).
fn action_value(action: &ActionXml, prior: Option<&Value>) -> Value {
    let mut groups: Vec<(String, Option<f64>)> = match &action.forward {
        Some(forward) if !forward.groups.members.is_empty() => {
            forward.groups.members.iter().map(|g| (g.arn.clone(), g.weight)).collect()
        }
        _ if !action.target_group_arn.is_empty() => vec![(action.target_group_arn.clone(), None)],
        _ => Vec::new(),
    };
    let prior_groups: Vec<(String, Option<f64>)> = prior
        .and_then(|p| prior_of(p, "forward"))
        .map(|f| Attrs(f).list("target_groups"))
        .unwrap_or(&[])
        .iter()
        .filter_map(|g| Some((Attrs(g).str("arn")?, Attrs(g).f64("weight"))))
        .collect();
    // The configured order, where the groups are the configured ones.
    groups.sort_by_key(|(arn, _)| prior_groups.iter().position(|(p, _)| p == arn).unwrap_or(usize::MAX));
    let plain = match (action.target_group_arn.as_str(), groups.as_slice()) {
        ("", [(arn, _)]) => Some(arn.clone()),
        ("", _) => None,
        (arn, _) => Some(arn.to_string()),
    };
    let weighted = groups
        .iter()
        .map(|(arn, weight)| {
            let weight = weight
                .or_else(|| prior_groups.iter().find(|(p, _)| p == arn).and_then(|(_, w)| *w))
                .unwrap_or(1.0);
            object([("arn", Value::string(arn)), ("weight", Value::Number(weight))])
        })
        .collect();
    let full = object([
        ("type", Value::string(&action.kind)),
        ("target_group_arn", opt_string(plain.as_deref())),
        (
            "forward",
            if groups.is_empty() { Value::Null } else { object([("target_groups", Value::List(weighted))]) },
        ),
    ]);
    match prior.map(Value::unmarked) {
        Some(prior @ Value::Object(_)) => project(full, Some(&prior)),
        // Nothing configured (an import): the plain form where it says all.
        _ if plain.is_some() && groups.len() == 1 => {
            project(full, Some(&object([("type", Value::Null), ("target_group_arn", Value::Null)])))
        }
        _ => full,
    }
}

/// The actions as read, each in the shape of the configured one.
fn actions_value(actions: &[ActionXml], prior: Option<&Value>) -> Value {
    let prior = prior.map(Value::unmarked);
    let prior_list = prior.as_ref().and_then(Value::as_list).unwrap_or(&[]);
    Value::List(actions.iter().enumerate().map(|(i, a)| action_value(a, prior_list.get(i))).collect())
}

fn listener_params(mut params: Params, config: &Value) -> Params {
    let attrs = Attrs(config);
    if let Some(port) = attrs.f64("port") {
        params.push("Port", port as i64);
    }
    if let Some(protocol) = attrs.str("protocol") {
        params.push("Protocol", protocol);
    }
    action_params(&mut params, "DefaultActions", attrs.list("default_action"));
    params
}

#[async_trait::async_trait]
impl ResourceKind for Listener {
    fn type_name(&self) -> &'static str {
        "aws_lb_listener"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let mut params = listener_params(
            Params::new().set("LoadBalancerArn", Attrs(config).required_str("load_balancer_arn")?),
            config,
        );
        params = tag_params(params, &creation_tags(cx.op, config));
        let arn = match cx
            .client
            .query_result::<ListenerList>(&ELBV2, "CreateListener", &params, Idempotency::Creates)
            .await
        {
            Ok(created) => created.listeners.members.into_iter().next().map(|l| l.arn),
            Err(e) if e.code.as_deref() == Some("DuplicateListener") => {
                let params =
                    Params::new().set("LoadBalancerArn", Attrs(config).required_str("load_balancer_arn")?);
                let found: ListenerList =
                    cx.client.query_result(&ELBV2, "DescribeListeners", &params, Idempotency::Safe).await?;
                let port = Attrs(config).f64("port");
                match found.listeners.members.into_iter().find(|l| l.port == port).map(|l| l.arn) {
                    Some(arn) if owned(cx, &arn).await? => Some(arn),
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        arn.ok_or_else(|| ProviderError::new("CreateListener returned nothing"))
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let params = Params::new().set("LoadBalancerArn", Attrs(config).required_str("load_balancer_arn")?);
        let found: ListenerList =
            cx.client.query_result(&ELBV2, "DescribeListeners", &params, Idempotency::Safe).await?;
        let port = Attrs(config).f64("port");
        for listener in found.listeners.members.into_iter().filter(|l| l.port == port) {
            if owned(cx, &listener.arn).await? {
                return Ok(Some(listener.arn));
            }
        }
        Ok(None)
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let arns: Vec<&str> = items.iter().map(|i| i.id).collect();
        let listeners = match describe_by_arn(
            client,
            "DescribeListeners",
            "ListenerArns.member",
            &arns,
            |r: ListenerList| r.listeners.members,
            "ListenerNotFound",
        )
        .await
        {
            Ok(found) => found.into_iter().map(|l| (l.arn.clone(), l)).collect::<HashMap<_, _>>(),
            Err(e) => return missing_results(items, e),
        };
        // Always: a listener carries its ownership tags, which plans show.
        let tagged: Vec<&str> = items.iter().filter(|i| listeners.contains_key(i.id)).map(|i| i.id).collect();
        let tags = match describe_tags(client, &tagged).await {
            Ok(tags) => tags,
            Err(e) => return missing_results(items, e),
        };
        items
            .iter()
            .map(|item| {
                let Some(l) = listeners.get(item.id) else { return Ok(None) };
                let actions = actions_value(&l.actions.members, prior_of(item.prior, "default_action"));
                Ok(Some(object([
                    ("id", Value::string(&l.arn)),
                    ("arn", Value::string(&l.arn)),
                    ("tags", tags_of(&tags, &l.arn, item.prior)),
                    ("load_balancer_arn", Value::string(&l.load_balancer_arn)),
                    ("port", l.port.map_or(Value::Null, Value::Number)),
                    ("protocol", opt_string(Some(&l.protocol))),
                    ("default_action", actions),
                ])))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let params = listener_params(Params::new().set("ListenerArn", id), config);
        cx.client.query(&ELBV2, "ModifyListener", &params, Idempotency::Safe).await?;
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let params = Params::new().set("ListenerArn", id);
        cx.client.query(&ELBV2, "DeleteListener", &params, Idempotency::Safe).await.map(|_| ())
    }
}

// ---------------------------------------------------------------------------
// aws_lb_listener_rule

struct ListenerRule;

#[derive(Debug, Default, Deserialize)]
struct ValuesConfig {
    #[serde(rename = "Values", default)]
    values: Members<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConditionXml {
    #[serde(rename = "Field", default)]
    field: String,
    #[serde(rename = "Values", default)]
    values: Members<String>,
    #[serde(rename = "PathPatternConfig")]
    path_pattern: Option<ValuesConfig>,
    #[serde(rename = "HostHeaderConfig")]
    host_header: Option<ValuesConfig>,
}

#[derive(Debug, Default, Deserialize)]
struct RuleXml {
    #[serde(rename = "RuleArn", default)]
    arn: String,
    #[serde(rename = "Priority", default)]
    priority: String,
    #[serde(rename = "Conditions", default)]
    conditions: Members<ConditionXml>,
    #[serde(rename = "Actions", default)]
    actions: Members<ActionXml>,
}

#[derive(Debug, Default, Deserialize)]
struct RuleList {
    #[serde(rename = "Rules", default)]
    rules: Members<RuleXml>,
}

/// The supported condition fields: attribute key and API field name.
const CONDITION_FIELDS: [(&str, &str); 2] =
    [("path_pattern", "path-pattern"), ("host_header", "host-header")];

/// `(field, values)` of each configured condition: `{ path_pattern =
/// ["/api/*"] }` or Terraform's `{ path_pattern = { values = [...] } }`.
fn configured_conditions(config: &Value) -> ProviderResult<Vec<(&'static str, Vec<String>)>> {
    let mut out = Vec::new();
    for condition in Attrs(config).list("condition") {
        let mut found = false;
        for (key, field) in CONDITION_FIELDS {
            let Some(value) = Attrs(condition).get(key) else { continue };
            let values = match value.as_list() {
                Some(_) => Attrs(condition).strings(key),
                None => Attrs(value).strings("values"),
            };
            out.push((field, values));
            found = true;
        }
        if !found {
            return Err(ProviderError::new(
                "each `condition` needs `path_pattern` or `host_header` (the conditions this provider supports)",
            ));
        }
    }
    Ok(out)
}

fn condition_params(params: &mut Params, conditions: &[(&str, Vec<String>)]) {
    for (i, (field, values)) in conditions.iter().enumerate() {
        let n = i + 1;
        params.push(format!("Conditions.member.{n}.Field"), field);
        let config = if *field == "path-pattern" { "PathPatternConfig" } else { "HostHeaderConfig" };
        for (j, value) in values.iter().enumerate() {
            params.push(format!("Conditions.member.{n}.{config}.Values.member.{}", j + 1), value);
        }
    }
}

/// The conditions as read, in the shape the prior used.
fn conditions_value(rule: &RuleXml, prior: &Value) -> Value {
    let prior_list = prior_of(prior, "condition").and_then(Value::as_list).unwrap_or(&[]);
    Value::List(
        rule.conditions
            .members
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let values: Vec<String> = match (&c.path_pattern, &c.host_header) {
                    (Some(p), _) if c.field == "path-pattern" && !p.values.members.is_empty() => {
                        p.values.members.clone()
                    }
                    (_, Some(h)) if c.field == "host-header" && !h.values.members.is_empty() => {
                        h.values.members.clone()
                    }
                    _ => c.values.members.clone(),
                };
                let key =
                    CONDITION_FIELDS.iter().find(|(_, f)| *f == c.field).map_or(c.field.as_str(), |(k, _)| k);
                let list = Value::List(values.iter().map(Value::string).collect());
                let prior_form = prior_list.get(i).and_then(|p| Attrs(p).get(key));
                let value = match prior_form {
                    Some(form) if form.as_list().is_some() => list,
                    _ => object([("values", list)]),
                };
                object([(key.to_string(), value)])
            })
            .collect(),
    )
}

async fn describe_rules(client: &AwsClient, arns: &[&str]) -> ProviderResult<HashMap<String, RuleXml>> {
    let rules = describe_by_arn(
        client,
        "DescribeRules",
        "RuleArns.member",
        arns,
        |r: RuleList| r.rules.members,
        "RuleNotFound",
    )
    .await?;
    Ok(rules.into_iter().map(|r| (r.arn.clone(), r)).collect())
}

#[async_trait::async_trait]
impl ResourceKind for ListenerRule {
    fn type_name(&self) -> &'static str {
        "aws_lb_listener_rule"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let listener = attrs.required_str("listener_arn")?;
        let priority = match attrs.f64("priority") {
            Some(priority) => priority as i64,
            None => {
                // The next free priority after the listener's rules.
                let params = Params::new().set("ListenerArn", &listener);
                let rules: RuleList =
                    cx.client.query_result(&ELBV2, "DescribeRules", &params, Idempotency::Safe).await?;
                rules.rules.members.iter().filter_map(|r| r.priority.parse::<i64>().ok()).max().unwrap_or(0)
                    + 1
            }
        };
        let mut params = Params::new().set("ListenerArn", &listener).set("Priority", priority);
        condition_params(&mut params, &configured_conditions(config)?);
        action_params(&mut params, "Actions", attrs.list("action"));
        params = tag_params(params, &creation_tags(cx.op, config));
        let created: RuleList =
            cx.client.query_result(&ELBV2, "CreateRule", &params, Idempotency::Creates).await?;
        created
            .rules
            .members
            .into_iter()
            .next()
            .map(|r| r.arn)
            .ok_or_else(|| ProviderError::new("CreateRule returned nothing"))
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let params = Params::new().set("ListenerArn", Attrs(config).required_str("listener_arn")?);
        let rules: RuleList =
            cx.client.query_result(&ELBV2, "DescribeRules", &params, Idempotency::Safe).await?;
        for rule in rules.rules.members.into_iter().filter(|r| r.priority != "default") {
            if owned(cx, &rule.arn).await? {
                return Ok(Some(rule.arn));
            }
        }
        Ok(None)
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let arns: Vec<&str> = items.iter().map(|i| i.id).collect();
        let rules = match describe_rules(client, &arns).await {
            Ok(rules) => rules,
            Err(e) => return missing_results(items, e),
        };
        let tagged: Vec<&str> = items.iter().filter(|i| rules.contains_key(i.id)).map(|i| i.id).collect();
        let tags = match describe_tags(client, &tagged).await {
            Ok(tags) => tags,
            Err(e) => return missing_results(items, e),
        };
        items
            .iter()
            .map(|item| {
                let Some(rule) = rules.get(item.id) else { return Ok(None) };
                let listener = rule.arn.replacen(":listener-rule/", ":listener/", 1);
                let listener = listener.rsplit_once('/').map_or(listener.clone(), |(l, _)| l.to_string());
                let actions = actions_value(&rule.actions.members, prior_of(item.prior, "action"));
                Ok(Some(object([
                    ("id", Value::string(&rule.arn)),
                    ("arn", Value::string(&rule.arn)),
                    ("tags", tags_of(&tags, &rule.arn, item.prior)),
                    (
                        "listener_arn",
                        prior_of(item.prior, "listener_arn").cloned().unwrap_or(Value::string(listener)),
                    ),
                    ("priority", rule.priority.parse::<f64>().map_or(Value::Null, Value::Number)),
                    ("action", actions),
                    ("condition", conditions_value(rule, item.prior)),
                ])))
            })
            .collect()
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let (before, after) = (Attrs(prior), Attrs(config));
        if let Some(priority) = after.f64("priority").filter(|p| Some(*p) != before.f64("priority")) {
            let params = Params::new()
                .set("RulePriorities.member.1.RuleArn", id)
                .set("RulePriorities.member.1.Priority", priority as i64);
            cx.client.query(&ELBV2, "SetRulePriorities", &params, Idempotency::Safe).await?;
        }
        let mut params = Params::new().set("RuleArn", id);
        condition_params(&mut params, &configured_conditions(config)?);
        action_params(&mut params, "Actions", after.list("action"));
        cx.client.query(&ELBV2, "ModifyRule", &params, Idempotency::Safe).await?;
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let params = Params::new().set("RuleArn", id);
        cx.client.query(&ELBV2, "DeleteRule", &params, Idempotency::Safe).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weighted(groups: &[(&str, f64)]) -> Value {
        object([
            ("type", Value::string("forward")),
            (
                "forward",
                object([(
                    "target_groups",
                    Value::List(
                        groups
                            .iter()
                            .map(|(arn, w)| {
                                object([("arn", Value::string(*arn)), ("weight", Value::Number(*w))])
                            })
                            .collect(),
                    ),
                )]),
            ),
        ])
    }

    fn plain(arn: &str) -> Value {
        object([("type", Value::string("forward")), ("target_group_arn", Value::string(arn))])
    }

    fn read(xml: &str, prior: Option<&Value>) -> Value {
        let listener: ListenerXml = quick_xml::de::from_str(xml).expect("listener XML");
        actions_value(&listener.actions.members, prior.map(|p| Value::List(vec![p.clone()])).as_ref())
    }

    const WEIGHTED: &str = "<ListenerXml><DefaultActions><member><Type>forward</Type><ForwardConfig>\
        <TargetGroups><member><TargetGroupArn>tg/canary</TargetGroupArn><Weight>10</Weight></member>\
        <member><TargetGroupArn>tg/main</TargetGroupArn><Weight>90</Weight></member></TargetGroups>\
        <TargetGroupStickinessConfig><Enabled>false</Enabled></TargetGroupStickinessConfig>\
        </ForwardConfig></member></DefaultActions></ListenerXml>";

    /// AWS's answer for a plain forward: both forms, the group at weight 1.
    const PLAIN_BOTH_FORMS: &str = "<ListenerXml><DefaultActions><member><Type>forward</Type>\
        <TargetGroupArn>tg/main</TargetGroupArn><ForwardConfig><TargetGroups><member>\
        <TargetGroupArn>tg/main</TargetGroupArn><Weight>1</Weight></member></TargetGroups>\
        </ForwardConfig></member></DefaultActions></ListenerXml>";

    /// moto's answer for a plain forward.
    const PLAIN: &str = "<ListenerXml><DefaultActions><member><Type>forward</Type>\
        <TargetGroupArn>tg/main</TargetGroupArn></member></DefaultActions></ListenerXml>";

    #[test]
    fn a_weighted_forward_reads_back_as_configured_in_the_configured_order() {
        let configured = weighted(&[("tg/main", 90.0), ("tg/canary", 10.0)]);
        assert_eq!(read(WEIGHTED, Some(&configured)), Value::List(vec![configured]));
    }

    #[test]
    fn a_plain_forward_reads_back_plain_from_either_answer() {
        let configured = plain("tg/main");
        for xml in [PLAIN, PLAIN_BOTH_FORMS] {
            assert_eq!(read(xml, Some(&configured)), Value::List(vec![configured.clone()]), "{xml}");
        }
        // An import (nothing configured): the plain form.
        assert_eq!(read(PLAIN_BOTH_FORMS, None), Value::List(vec![configured]));
    }

    #[test]
    fn a_single_weighted_group_answered_plain_keeps_its_configured_weight() {
        let configured = weighted(&[("tg/main", 100.0)]);
        assert_eq!(read(PLAIN, Some(&configured)), Value::List(vec![configured]));
    }

    #[test]
    fn a_changed_weight_or_group_reads_as_the_change() {
        // Weights moved behind stackc's back: the plan sees it.
        let configured = weighted(&[("tg/main", 50.0), ("tg/canary", 50.0)]);
        assert_eq!(
            read(WEIGHTED, Some(&configured)),
            Value::List(vec![weighted(&[("tg/main", 90.0), ("tg/canary", 10.0)])])
        );
        // Configured plain, weighted in AWS: the groups show, not one arn.
        let read_plain = read(WEIGHTED, Some(&plain("tg/main")));
        assert_eq!(
            read_plain,
            Value::List(vec![object([
                ("type", Value::string("forward")),
                ("target_group_arn", Value::Null)
            ])])
        );
    }

    #[test]
    fn weighted_groups_become_forward_config_parameters() {
        let mut params = Params::new();
        action_params(&mut params, "DefaultActions", &[weighted(&[("tg/main", 90.0), ("tg/canary", 10.0)])]);
        let sent: Vec<(String, String)> =
            params.0.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let prefix = "DefaultActions.member.1.ForwardConfig.TargetGroups.member";
        assert_eq!(
            sent,
            vec![
                ("DefaultActions.member.1.Type".to_string(), "forward".to_string()),
                (format!("{prefix}.1.TargetGroupArn"), "tg/main".to_string()),
                (format!("{prefix}.1.Weight"), "90".to_string()),
                (format!("{prefix}.2.TargetGroupArn"), "tg/canary".to_string()),
                (format!("{prefix}.2.Weight"), "10".to_string()),
                ("DefaultActions.member.1.Order".to_string(), "1".to_string()),
            ]
        );
    }
}
