//! EC2: networks (VPC, subnets, internet gateway, route tables, security
//! groups), instances, EBS volumes and their attachments.
//!
//! Batched reads use Describe filters (`vpc-id`, `instance-id`, ...) rather
//! than id lists: with an id list, one missing object fails the whole call.

use super::{chunks, wait_for, Cx, ReadItem, ResourceKind};
use crate::attrs::{
    as_set, creation_tags, idempotency_token, is_not_found, object, opt_string, owned_by, prior_of,
    string_list, tag_changes, tags_value, Attrs, TAG_ADDRESS, TAG_STACK,
};
use crate::transport::{AwsClient, Idempotency, Params, EC2};
use crate::xml::{Ec2Tag, Items};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use stackc_model::Value;
use stackc_providers::{ProviderError, ProviderResult};
use std::collections::HashMap;

pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    vec![
        Box::new(Vpc),
        Box::new(Subnet),
        Box::new(InternetGateway),
        Box::new(RouteTable),
        Box::new(RouteTableAssociation),
        Box::new(SecurityGroup),
        Box::new(Instance),
        Box::new(EbsVolume),
        Box::new(VolumeAttachment),
    ]
}

// ---------------------------------------------------------------------------
// Shared helpers

fn tag_specification(params: &mut Params, resource_type: &str, tags: &[(String, String)]) {
    params.push("TagSpecification.1.ResourceType", resource_type);
    for (i, (key, value)) in tags.iter().enumerate() {
        params.push(format!("TagSpecification.1.Tag.{}.Key", i + 1), key);
        params.push(format!("TagSpecification.1.Tag.{}.Value", i + 1), value);
    }
}

fn tag_pairs(tags: &Items<Ec2Tag>) -> impl Iterator<Item = (&str, &str)> {
    tags.items.iter().map(|t| (t.key.as_str(), t.value.as_str()))
}

/// Applies tag changes between prior and config with CreateTags/DeleteTags.
async fn update_tags(client: &AwsClient, id: &str, prior: &Value, config: &Value) -> ProviderResult<()> {
    let (set, removed) = tag_changes(prior, config);
    if !set.is_empty() {
        let mut params = Params::new().set("ResourceId.1", id);
        for (i, (k, v)) in set.iter().enumerate() {
            params.push(format!("Tag.{}.Key", i + 1), k);
            params.push(format!("Tag.{}.Value", i + 1), v);
        }
        client.query(&EC2, "CreateTags", &params, Idempotency::Safe).await?;
    }
    if !removed.is_empty() {
        let params = Params::new().set("ResourceId.1", id).list("Tag", removed.iter().map(|k| k.to_string()));
        let params = Params(
            params
                .0
                .into_iter()
                .map(|(k, v)| if k.starts_with("Tag.") { (format!("{k}.Key"), v) } else { (k, v) })
                .collect(),
        );
        client.query(&EC2, "DeleteTags", &params, Idempotency::Safe).await?;
    }
    Ok(())
}

/// Describe with one filter whose values are `ids`, in chunks of 200.
async fn describe_filtered<T: DeserializeOwned>(
    client: &AwsClient,
    action: &str,
    filter: &str,
    ids: &[&str],
) -> ProviderResult<Vec<T>> {
    let mut pages = Vec::new();
    for chunk in chunks(ids, 200) {
        let params = Params::new().set("Filter.1.Name", filter).list("Filter.1.Value", chunk.iter());
        pages.push(client.query_whole(&EC2, action, &params, Idempotency::Safe).await?);
    }
    Ok(pages)
}

/// Describe objects carrying this operation's stack tag; callers keep those
/// whose tags are the operation's whole ownership set ([`is_ours`]). The
/// address is compared here, not in a filter: filter values are patterns
/// (`[0]` would not match itself). Each `extra` filter matches any of its
/// values.
async fn describe_owned<T: DeserializeOwned>(
    cx: &Cx<'_>,
    action: &str,
    extra: &[(&str, &[&str])],
) -> ProviderResult<T> {
    let mut params = Params::new()
        .set("Filter.1.Name", format!("tag:{TAG_STACK}"))
        .set("Filter.1.Value.1", &cx.op.stack)
        .set("Filter.2.Name", "tag-key")
        .set("Filter.2.Value.1", TAG_ADDRESS);
    for (i, (name, values)) in extra.iter().enumerate() {
        params.push(format!("Filter.{}.Name", i + 3), name);
        for (j, value) in values.iter().enumerate() {
            params.push(format!("Filter.{}.Value.{}", i + 3, j + 1), value);
        }
    }
    cx.client.query_whole(&EC2, action, &params, Idempotency::Safe).await
}

/// True if the tags are this operation's: stack, target and address.
fn is_ours(cx: &Cx<'_>, tags: &Items<Ec2Tag>) -> bool {
    owned_by(cx.op, tag_pairs(tags))
}

/// True when the configuration leaves `name` unset or sets it to `actual`:
/// an object found by its tags must sit where this create would have put it.
fn placed(config: &Value, name: &str, actual: &str) -> bool {
    Attrs(config).str(name).is_none_or(|wanted| wanted == actual)
}

/// Answers each item from a map of found objects by id.
fn answer<T>(
    items: &[ReadItem<'_>],
    found: ProviderResult<HashMap<String, T>>,
    mut render: impl FnMut(&T, &Value) -> ProviderResult<Option<Value>>,
) -> Vec<ProviderResult<Option<Value>>> {
    match found {
        Err(e) => items.iter().map(|_| Err(e.clone())).collect(),
        Ok(found) => {
            items.iter().map(|item| found.get(item.id).map_or(Ok(None), |o| render(o, item.prior))).collect()
        }
    }
}

/// The object a delete is for, so the objects that still use it can be
/// named when AWS refuses the delete.
#[derive(Clone, Copy)]
enum Held<'a> {
    Vpc(&'a str),
    Subnet(&'a str),
    Group(&'a str),
    Volume(&'a str),
    Other,
}

/// An object that keeps another from being deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Blocker {
    id: String,
    /// `stack`/`address` from its ownership tags, if it has them.
    owner: Option<(String, String)>,
    /// On its way out by itself (a network interface of a deleted load
    /// balancer or instance, a detaching volume): worth waiting for.
    leaving: bool,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.owner {
            Some((stack, address)) => write!(f, "{} (stack `{stack}`, `{address}`)", self.id),
            None => write!(f, "{} (not made by stackc)", self.id),
        }
    }
}

#[derive(Debug, Deserialize)]
struct InterfaceXml {
    #[serde(rename = "networkInterfaceId")]
    id: String,
    #[serde(default)]
    status: String,
    #[serde(rename = "requesterManaged", default)]
    requester_managed: bool,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeInterfaces {
    #[serde(rename = "networkInterfaceSet", default)]
    interfaces: Items<InterfaceXml>,
}

fn blocker(id: &str, tags: &Items<Ec2Tag>, leaving: bool) -> Blocker {
    let tag = |key: &str| tags.items.iter().find(|t| t.key == key).map(|t| t.value.clone());
    let owner = tag(TAG_STACK).map(|stack| (stack, tag(TAG_ADDRESS).unwrap_or_default()));
    Blocker { id: id.to_string(), owner, leaving }
}

/// What still uses `held`: the objects in a VPC, the network interfaces in
/// a subnet or using a group, the instances a volume is attached to.
async fn blockers(client: &AwsClient, held: Held<'_>) -> ProviderResult<Vec<Blocker>> {
    // Interfaces AWS manages for a service (load balancers, ECS tasks) go
    // when their owner goes; so do those of an instance shutting down.
    let interfaces = |filter: &'static str, id: &str| {
        let id = id.to_string();
        async move {
            let pages =
                describe_filtered::<DescribeInterfaces>(client, "DescribeNetworkInterfaces", filter, &[&id])
                    .await?;
            Ok::<_, ProviderError>(
                pages
                    .iter()
                    .flat_map(|p| &p.interfaces.items)
                    .map(|i| blocker(&i.id, &i.tags, i.requester_managed || i.status != "in-use"))
                    .collect::<Vec<_>>(),
            )
        }
    };
    let mut found = Vec::new();
    match held {
        Held::Vpc(vpc) => {
            let subnets =
                describe_filtered::<DescribeSubnets>(client, "DescribeSubnets", "vpc-id", &[vpc]).await?;
            found.extend(
                subnets.iter().flat_map(|p| &p.subnets.items).map(|s| blocker(&s.id, &s.tags, false)),
            );
            let groups =
                describe_filtered::<DescribeGroups>(client, "DescribeSecurityGroups", "vpc-id", &[vpc])
                    .await?;
            found.extend(
                groups
                    .iter()
                    .flat_map(|p| &p.groups.items)
                    .filter(|g| g.name != "default")
                    .map(|g| blocker(&g.id, &g.tags, false)),
            );
            let gateways = describe_filtered::<DescribeGateways>(
                client,
                "DescribeInternetGateways",
                "attachment.vpc-id",
                &[vpc],
            )
            .await?;
            found.extend(
                gateways.iter().flat_map(|p| &p.gateways.items).map(|g| blocker(&g.id, &g.tags, false)),
            );
            let tables =
                describe_filtered::<DescribeRouteTables>(client, "DescribeRouteTables", "vpc-id", &[vpc])
                    .await?;
            found.extend(
                tables
                    .iter()
                    .flat_map(|p| &p.tables.items)
                    .filter(|t| !t.associations.items.iter().any(|a| a.main))
                    .map(|t| blocker(&t.id, &t.tags, false)),
            );
            found.extend(interfaces("vpc-id", vpc).await?);
        }
        Held::Subnet(subnet) => found.extend(interfaces("subnet-id", subnet).await?),
        Held::Group(group) => found.extend(interfaces("group-id", group).await?),
        Held::Volume(volume) => {
            if let Some(v) = describe_volumes(client, &[volume]).await?.get(volume) {
                found.extend(v.attachments.items.iter().map(|a| Blocker {
                    id: a.instance_id.clone(),
                    owner: None,
                    leaving: a.status != "attached",
                }));
            }
        }
        Held::Other => {}
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Runs a delete, retrying while AWS reports that something still uses the
/// object (DependencyViolation, VolumeInUse): while that is going away by
/// itself (network interfaces of a deleted load balancer, a detaching
/// volume) up to `dependency_timeout`; at once when the same objects, none
/// leaving, block it three polls in a row (another stack's subnet in this
/// VPC). The error names what blocks it.
async fn delete_when_free(cx: &Cx<'_>, action: &str, params: Params, held: Held<'_>) -> ProviderResult<()> {
    let start = tokio::time::Instant::now();
    let limit = cx.waits.dependency_timeout.min(cx.waits.timeout);
    let mut interval = cx.waits.first_interval;
    let mut last: Option<Vec<Blocker>> = None;
    let mut unchanged = 0;
    loop {
        let refused = match cx.client.query(&EC2, action, &params, Idempotency::Safe).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("DependencyViolation" | "VolumeInUse" | "InvalidIPAddress.InUse")
                ) =>
            {
                e
            }
            Err(e) => return Err(e),
        };
        let found = blockers(cx.client, held).await.unwrap_or_default();
        let stuck = !found.is_empty() && found.iter().all(|b| !b.leaving) && last.as_ref() == Some(&found);
        unchanged = if stuck { unchanged + 1 } else { 0 };
        if unchanged >= 2 || start.elapsed() >= limit {
            let named = if found.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = found.iter().map(Blocker::to_string).collect();
                format!(" Still using it: {}.", list.join(", "))
            };
            return Err(ProviderError {
                code: refused.code,
                message: format!(
                    "{action} was refused for {:.0} s because other objects still use it ({}).{named} Delete \
                     those first (objects of another stack: destroy that stack, or remove them by hand), then run \
                     the command again.",
                    start.elapsed().as_secs_f64(),
                    refused.message.trim_end_matches('.')
                ),
                retryable: false,
            });
        }
        last = Some(found);
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(cx.waits.max_interval);
    }
}

fn arn(client: &AwsClient, owner: &str, kind: &str, id: &str) -> Value {
    if owner.is_empty() {
        return Value::Null;
    }
    Value::string(format!("arn:aws:ec2:{}:{owner}:{kind}/{id}", client.region()))
}

#[derive(Debug, Default, Deserialize)]
struct BoolValue {
    #[serde(default)]
    value: bool,
}

#[derive(Debug, Default, Deserialize)]
struct StringValue {
    #[serde(default)]
    value: String,
}

/// A boolean setting as AWS reports it (optional-computed in the schema:
/// left out of a configuration, it keeps AWS's default).
fn setting(actual: bool) -> Value {
    Value::Bool(actual)
}

// ---------------------------------------------------------------------------
// aws_vpc

struct Vpc;

#[derive(Debug, Deserialize)]
struct VpcXml {
    #[serde(rename = "vpcId")]
    id: String,
    #[serde(rename = "cidrBlock", default)]
    cidr_block: String,
    #[serde(rename = "ownerId", default)]
    owner: String,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeVpcs {
    #[serde(rename = "vpcSet", default)]
    vpcs: Items<VpcXml>,
}

#[derive(Debug, Deserialize)]
struct CreateVpcResponse {
    vpc: VpcXml,
}

#[derive(Debug, Default, Deserialize)]
struct VpcAttribute {
    #[serde(rename = "enableDnsSupport")]
    dns_support: Option<BoolValue>,
    #[serde(rename = "enableDnsHostnames")]
    dns_hostnames: Option<BoolValue>,
}

/// Sets the DNS attributes the configuration names and `prior` does not
/// already have (`None`: a new VPC, with AWS's defaults).
async fn modify_vpc_attributes(
    client: &AwsClient,
    id: &str,
    prior: Option<&Value>,
    config: &Value,
) -> ProviderResult<()> {
    for (name, param, default) in [
        ("enable_dns_support", "EnableDnsSupport", true),
        ("enable_dns_hostnames", "EnableDnsHostnames", false),
    ] {
        let wanted = Attrs(config).bool(name);
        let had = match prior {
            None => Some(default),
            Some(prior) => Attrs(prior).bool(name),
        };
        if let Some(wanted) = wanted {
            if Some(wanted) != had {
                let params = Params::new().set("VpcId", id).set(format!("{param}.Value"), wanted);
                client.query(&EC2, "ModifyVpcAttribute", &params, Idempotency::Safe).await?;
            }
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl ResourceKind for Vpc {
    fn type_name(&self) -> &'static str {
        "aws_vpc"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let mut params = Params::new().set("CidrBlock", Attrs(config).required_str("cidr_block")?);
        tag_specification(&mut params, "vpc", &creation_tags(cx.op, config));
        let created: CreateVpcResponse =
            cx.client.query_whole(&EC2, "CreateVpc", &params, Idempotency::Creates).await?;
        let id = created.vpc.id;
        if let Err(e) = modify_vpc_attributes(cx.client, &id, None, config).await {
            let _ = self.delete(cx, &id, config).await;
            return Err(e);
        }
        Ok(id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeVpcs = describe_owned(cx, "DescribeVpcs", &[]).await?;
        Ok(found
            .vpcs
            .items
            .into_iter()
            .find(|v| is_ours(cx, &v.tags) && placed(config, "cidr_block", &v.cidr_block))
            .map(|v| v.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        modify_vpc_attributes(cx.client, id, None, config).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found = describe_filtered::<DescribeVpcs>(client, "DescribeVpcs", "vpc-id", &ids)
            .await
            .map(|pages| pages.into_iter().flat_map(|p| p.vpcs.items).map(|v| (v.id.clone(), v)).collect());
        let found: HashMap<String, VpcXml> = match found {
            Ok(found) => found,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results = Vec::new();
        for item in items {
            match found.get(item.id) {
                Some(vpc) => results.push(read_vpc(client, vpc, item.prior).await),
                None => results.push(Ok(None)),
            }
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        modify_vpc_attributes(cx.client, id, Some(prior), config).await?;
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        delete_when_free(cx, "DeleteVpc", Params::new().set("VpcId", id), Held::Vpc(id)).await
    }
}

async fn read_vpc(client: &AwsClient, vpc: &VpcXml, prior: &Value) -> ProviderResult<Option<Value>> {
    let attribute = |name: &'static str| {
        let params = Params::new().set("VpcId", &vpc.id).set("Attribute", name);
        async move {
            client.query_whole::<VpcAttribute>(&EC2, "DescribeVpcAttribute", &params, Idempotency::Safe).await
        }
    };
    let support = attribute("enableDnsSupport").await?.dns_support.is_none_or(|v| v.value);
    let hostnames = attribute("enableDnsHostnames").await?.dns_hostnames.is_some_and(|v| v.value);
    Ok(Some(object([
        ("id", Value::string(&vpc.id)),
        ("arn", arn(client, &vpc.owner, "vpc", &vpc.id)),
        ("tags", tags_value(tag_pairs(&vpc.tags), prior)),
        ("cidr_block", Value::string(&vpc.cidr_block)),
        ("enable_dns_support", setting(support)),
        ("enable_dns_hostnames", setting(hostnames)),
    ])))
}

// ---------------------------------------------------------------------------
// aws_subnet

struct Subnet;

#[derive(Debug, Deserialize)]
struct SubnetXml {
    #[serde(rename = "subnetId")]
    id: String,
    #[serde(rename = "vpcId", default)]
    vpc_id: String,
    #[serde(rename = "cidrBlock", default)]
    cidr_block: String,
    #[serde(rename = "availabilityZone", default)]
    availability_zone: String,
    #[serde(rename = "mapPublicIpOnLaunch", default)]
    map_public_ip_on_launch: bool,
    #[serde(rename = "subnetArn", default)]
    arn: String,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeSubnets {
    #[serde(rename = "subnetSet", default)]
    subnets: Items<SubnetXml>,
}

#[derive(Debug, Deserialize)]
struct CreateSubnetResponse {
    subnet: SubnetXml,
}

async fn set_map_public_ip(client: &AwsClient, id: &str, value: bool) -> ProviderResult<()> {
    let params = Params::new().set("SubnetId", id).set("MapPublicIpOnLaunch.Value", value);
    client.query(&EC2, "ModifySubnetAttribute", &params, Idempotency::Safe).await.map(|_| ())
}

#[async_trait::async_trait]
impl ResourceKind for Subnet {
    fn type_name(&self) -> &'static str {
        "aws_subnet"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let mut params = Params::new()
            .set("VpcId", attrs.required_str("vpc_id")?)
            .set("CidrBlock", attrs.required_str("cidr_block")?);
        if let Some(zone) = attrs.str("availability_zone") {
            params.push("AvailabilityZone", zone);
        }
        tag_specification(&mut params, "subnet", &creation_tags(cx.op, config));
        let created: CreateSubnetResponse =
            cx.client.query_whole(&EC2, "CreateSubnet", &params, Idempotency::Creates).await?;
        let id = created.subnet.id;
        if attrs.bool("map_public_ip_on_launch") == Some(true) {
            if let Err(e) = set_map_public_ip(cx.client, &id, true).await {
                let _ = self.delete(cx, &id, config).await;
                return Err(e);
            }
        }
        Ok(id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeSubnets = describe_owned(cx, "DescribeSubnets", &[]).await?;
        Ok(found
            .subnets
            .items
            .into_iter()
            .find(|s| {
                is_ours(cx, &s.tags)
                    && placed(config, "vpc_id", &s.vpc_id)
                    && placed(config, "cidr_block", &s.cidr_block)
                    && placed(config, "availability_zone", &s.availability_zone)
            })
            .map(|s| s.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        if Attrs(config).bool("map_public_ip_on_launch") == Some(true) {
            set_map_public_ip(cx.client, id, true).await?;
        }
        Ok(())
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found =
            describe_filtered::<DescribeSubnets>(client, "DescribeSubnets", "subnet-id", &ids).await.map(
                |pages| pages.into_iter().flat_map(|p| p.subnets.items).map(|s| (s.id.clone(), s)).collect(),
            );
        answer(items, found, |s: &SubnetXml, prior| {
            Ok(Some(object([
                ("id", Value::string(&s.id)),
                ("arn", opt_string(Some(&s.arn))),
                ("tags", tags_value(tag_pairs(&s.tags), prior)),
                ("vpc_id", Value::string(&s.vpc_id)),
                ("cidr_block", Value::string(&s.cidr_block)),
                ("availability_zone", Value::string(&s.availability_zone)),
                ("map_public_ip_on_launch", setting(s.map_public_ip_on_launch)),
            ])))
        })
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let wanted = Attrs(config).bool("map_public_ip_on_launch").unwrap_or(false);
        if Attrs(prior).bool("map_public_ip_on_launch").unwrap_or(false) != wanted {
            set_map_public_ip(cx.client, id, wanted).await?;
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        delete_when_free(cx, "DeleteSubnet", Params::new().set("SubnetId", id), Held::Subnet(id)).await
    }
}

// ---------------------------------------------------------------------------
// aws_internet_gateway

struct InternetGateway;

#[derive(Debug, Deserialize)]
struct GatewayAttachment {
    #[serde(rename = "vpcId", default)]
    vpc_id: String,
}

#[derive(Debug, Deserialize)]
struct GatewayXml {
    #[serde(rename = "internetGatewayId")]
    id: String,
    #[serde(rename = "ownerId", default)]
    owner: String,
    #[serde(rename = "attachmentSet", default)]
    attachments: Items<GatewayAttachment>,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeGateways {
    #[serde(rename = "internetGatewaySet", default)]
    gateways: Items<GatewayXml>,
}

#[derive(Debug, Deserialize)]
struct CreateGatewayResponse {
    #[serde(rename = "internetGateway")]
    gateway: GatewayXml,
}

async fn gateway_attachment(client: &AwsClient, action: &str, id: &str, vpc: &str) -> ProviderResult<()> {
    let params = Params::new().set("InternetGatewayId", id).set("VpcId", vpc);
    match client.query(&EC2, action, &params, Idempotency::Safe).await {
        Ok(_) => Ok(()),
        // Already in the wanted state (a retried request that was served).
        Err(e) if matches!(e.code.as_deref(), Some("Resource.AlreadyAssociated" | "Gateway.NotAttached")) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[async_trait::async_trait]
impl ResourceKind for InternetGateway {
    fn type_name(&self) -> &'static str {
        "aws_internet_gateway"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let mut params = Params::new();
        tag_specification(&mut params, "internet-gateway", &creation_tags(cx.op, config));
        let created: CreateGatewayResponse =
            cx.client.query_whole(&EC2, "CreateInternetGateway", &params, Idempotency::Creates).await?;
        let id = created.gateway.id;
        if let Some(vpc) = Attrs(config).str("vpc_id") {
            if let Err(e) = gateway_attachment(cx.client, "AttachInternetGateway", &id, &vpc).await {
                let _ = self.delete(cx, &id, &Value::Null).await;
                return Err(e);
            }
        }
        Ok(id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeGateways = describe_owned(cx, "DescribeInternetGateways", &[]).await?;
        // Unattached (the create stopped before attaching) or attached to
        // the configured VPC, never to another.
        Ok(found
            .gateways
            .items
            .into_iter()
            .find(|g| {
                is_ours(cx, &g.tags)
                    && g.attachments.items.iter().all(|a| placed(config, "vpc_id", &a.vpc_id))
            })
            .map(|g| g.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        if let Some(vpc) = Attrs(config).str("vpc_id") {
            gateway_attachment(cx.client, "AttachInternetGateway", id, &vpc).await?;
        }
        Ok(())
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found = describe_filtered::<DescribeGateways>(
            client,
            "DescribeInternetGateways",
            "internet-gateway-id",
            &ids,
        )
        .await
        .map(|pages| pages.into_iter().flat_map(|p| p.gateways.items).map(|g| (g.id.clone(), g)).collect());
        answer(items, found, |g: &GatewayXml, prior| {
            Ok(Some(object([
                ("id", Value::string(&g.id)),
                ("arn", arn(client, &g.owner, "internet-gateway", &g.id)),
                ("tags", tags_value(tag_pairs(&g.tags), prior)),
                ("vpc_id", opt_string(g.attachments.items.first().map(|a| a.vpc_id.as_str()))),
            ])))
        })
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let before = Attrs(prior).str("vpc_id");
        let after = Attrs(config).str("vpc_id");
        if before != after {
            if let Some(vpc) = before {
                gateway_attachment(cx.client, "DetachInternetGateway", id, &vpc).await?;
            }
            if let Some(vpc) = after {
                gateway_attachment(cx.client, "AttachInternetGateway", id, &vpc).await?;
            }
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, prior: &Value) -> ProviderResult<()> {
        if let Some(vpc) = Attrs(prior).str("vpc_id") {
            match gateway_attachment(cx.client, "DetachInternetGateway", id, &vpc).await {
                Err(e) if !is_not_found(&e) => return Err(e),
                _ => {}
            }
        }
        delete_when_free(cx, "DeleteInternetGateway", Params::new().set("InternetGatewayId", id), Held::Other)
            .await
    }
}

// ---------------------------------------------------------------------------
// aws_route_table and aws_route_table_association

struct RouteTable;
struct RouteTableAssociation;

#[derive(Debug, Deserialize)]
struct RouteXml {
    #[serde(rename = "destinationCidrBlock", default)]
    destination: String,
    #[serde(rename = "gatewayId", default)]
    gateway_id: String,
}

#[derive(Debug, Deserialize)]
struct AssociationXml {
    #[serde(rename = "routeTableAssociationId", default)]
    id: String,
    #[serde(rename = "routeTableId", default)]
    route_table_id: String,
    #[serde(rename = "subnetId", default)]
    subnet_id: String,
    /// The VPC's main table.
    #[serde(default)]
    main: bool,
}

#[derive(Debug, Deserialize)]
struct RouteTableXml {
    #[serde(rename = "routeTableId")]
    id: String,
    #[serde(rename = "vpcId", default)]
    vpc_id: String,
    #[serde(rename = "ownerId", default)]
    owner: String,
    #[serde(rename = "routeSet", default)]
    routes: Items<RouteXml>,
    #[serde(rename = "associationSet", default)]
    associations: Items<AssociationXml>,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeRouteTables {
    #[serde(rename = "routeTableSet", default)]
    tables: Items<RouteTableXml>,
}

#[derive(Debug, Deserialize)]
struct CreateRouteTableResponse {
    #[serde(rename = "routeTable")]
    table: RouteTableXml,
}

/// `(cidr, gateway)` of each configured route.
fn configured_routes(config: &Value) -> Vec<(String, String)> {
    Attrs(config)
        .list("route")
        .iter()
        .filter_map(|r| Some((Attrs(r).str("cidr_block")?, Attrs(r).str("gateway_id").unwrap_or_default())))
        .collect()
}

async fn route_call(
    client: &AwsClient,
    action: &str,
    table: &str,
    cidr: &str,
    gateway: Option<&str>,
) -> ProviderResult<()> {
    let mut params = Params::new().set("RouteTableId", table).set("DestinationCidrBlock", cidr);
    if let Some(gateway) = gateway {
        params.push("GatewayId", gateway);
    }
    match client.query(&EC2, action, &params, Idempotency::Safe).await {
        Ok(_) => Ok(()),
        Err(e) if action == "CreateRoute" && e.code.as_deref() == Some("RouteAlreadyExists") => {
            Box::pin(route_call(client, "ReplaceRoute", table, cidr, gateway)).await
        }
        Err(e) if action == "DeleteRoute" && is_not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn sync_routes(
    client: &AwsClient,
    table: &str,
    before: &[(String, String)],
    after: &[(String, String)],
) -> ProviderResult<()> {
    for (cidr, _) in before.iter().filter(|(c, _)| !after.iter().any(|(a, _)| a == c)) {
        route_call(client, "DeleteRoute", table, cidr, None).await?;
    }
    for (cidr, gateway) in after {
        match before.iter().find(|(c, _)| c == cidr) {
            Some((_, g)) if g == gateway => {}
            Some(_) => route_call(client, "ReplaceRoute", table, cidr, Some(gateway)).await?,
            None => route_call(client, "CreateRoute", table, cidr, Some(gateway)).await?,
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl ResourceKind for RouteTable {
    fn type_name(&self) -> &'static str {
        "aws_route_table"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let mut params = Params::new()
            .set("VpcId", Attrs(config).required_str("vpc_id")?)
            .set("ClientToken", crate::attrs::client_token(cx.op, "route-table", 32));
        tag_specification(&mut params, "route-table", &creation_tags(cx.op, config));
        let created: CreateRouteTableResponse =
            cx.client.query_whole(&EC2, "CreateRouteTable", &params, Idempotency::Creates).await?;
        let id = created.table.id;
        if let Err(e) = sync_routes(cx.client, &id, &[], &configured_routes(config)).await {
            let _ = self.delete(cx, &id, config).await;
            return Err(e);
        }
        Ok(id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeRouteTables = describe_owned(cx, "DescribeRouteTables", &[]).await?;
        Ok(found
            .tables
            .items
            .into_iter()
            .find(|t| is_ours(cx, &t.tags) && placed(config, "vpc_id", &t.vpc_id))
            .map(|t| t.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        let pages = describe_filtered::<DescribeRouteTables>(
            cx.client,
            "DescribeRouteTables",
            "route-table-id",
            &[id],
        )
        .await?;
        let before = pages.iter().flat_map(|p| &p.tables.items).flat_map(table_routes).collect::<Vec<_>>();
        sync_routes(cx.client, id, &before, &configured_routes(config)).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found =
            describe_filtered::<DescribeRouteTables>(client, "DescribeRouteTables", "route-table-id", &ids)
                .await
                .map(|pages| {
                    pages.into_iter().flat_map(|p| p.tables.items).map(|t| (t.id.clone(), t)).collect()
                });
        answer(items, found, |t: &RouteTableXml, prior| {
            let routes: Vec<Value> = table_routes(t)
                .into_iter()
                .map(|(cidr, gateway)| {
                    object([("cidr_block", Value::string(cidr)), ("gateway_id", Value::string(gateway))])
                })
                .collect();
            let route = as_set(routes, prior_of(prior, "route"));
            Ok(Some(object([
                ("id", Value::string(&t.id)),
                ("arn", arn(client, &t.owner, "route-table", &t.id)),
                ("tags", tags_value(tag_pairs(&t.tags), prior)),
                ("vpc_id", Value::string(&t.vpc_id)),
                ("route", route),
            ])))
        })
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        sync_routes(cx.client, id, &configured_routes(prior), &configured_routes(config)).await?;
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        delete_when_free(cx, "DeleteRouteTable", Params::new().set("RouteTableId", id), Held::Other).await
    }
}

/// The routes a user made (not the VPC's local route).
fn table_routes(table: &RouteTableXml) -> Vec<(String, String)> {
    table
        .routes
        .items
        .iter()
        .filter(|r| r.gateway_id != "local" && !r.destination.is_empty())
        .map(|r| (r.destination.clone(), r.gateway_id.clone()))
        .collect()
}

#[derive(Debug, Deserialize)]
struct AssociateResponse {
    #[serde(rename = "associationId")]
    id: String,
}

#[derive(Debug, Deserialize)]
struct ReplaceAssociationResponse {
    #[serde(rename = "newAssociationId")]
    id: String,
}

#[async_trait::async_trait]
impl ResourceKind for RouteTableAssociation {
    fn type_name(&self) -> &'static str {
        "aws_route_table_association"
    }

    fn takes_tags(&self) -> bool {
        false
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let params = Params::new()
            .set("RouteTableId", Attrs(config).required_str("route_table_id")?)
            .set("SubnetId", Attrs(config).required_str("subnet_id")?);
        match cx
            .client
            .query_whole::<AssociateResponse>(&EC2, "AssociateRouteTable", &params, Idempotency::Creates)
            .await
        {
            Ok(created) => Ok(created.id),
            Err(e) if e.code.as_deref() == Some("Resource.AlreadyAssociated") => {
                self.recover_created(cx, config).await?.ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let subnet = Attrs(config).required_str("subnet_id")?;
        let table = Attrs(config).required_str("route_table_id")?;
        let pages = describe_filtered::<DescribeRouteTables>(
            cx.client,
            "DescribeRouteTables",
            "association.subnet-id",
            &[&subnet],
        )
        .await?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.tables.items)
            .flat_map(|t| t.associations.items)
            .find(|a| a.subnet_id == subnet && a.route_table_id == table)
            .map(|a| a.id))
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found = describe_filtered::<DescribeRouteTables>(
            client,
            "DescribeRouteTables",
            "association.route-table-association-id",
            &ids,
        )
        .await
        .map(|pages| {
            pages
                .into_iter()
                .flat_map(|p| p.tables.items)
                .flat_map(|t| {
                    let table = t.id;
                    t.associations.items.into_iter().map(move |mut a| {
                        if a.route_table_id.is_empty() {
                            a.route_table_id = table.clone();
                        }
                        (a.id.clone(), a)
                    })
                })
                .collect()
        });
        answer(items, found, |a: &AssociationXml, prior| {
            if a.subnet_id.is_empty() {
                return Ok(None);
            }
            Ok(Some(object([
                ("id", Value::string(&a.id)),
                ("tags", prior_of(prior, "tags").cloned().unwrap_or(Value::Null)),
                ("subnet_id", Value::string(&a.subnet_id)),
                ("route_table_id", Value::string(&a.route_table_id)),
            ])))
        })
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let table = Attrs(config).required_str("route_table_id")?;
        if Attrs(prior).str("route_table_id").as_deref() == Some(table.as_str()) {
            return Ok(id.to_string());
        }
        let params = Params::new().set("AssociationId", id).set("RouteTableId", table);
        let replaced: ReplaceAssociationResponse =
            cx.client.query_whole(&EC2, "ReplaceRouteTableAssociation", &params, Idempotency::Safe).await?;
        Ok(replaced.id)
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let params = Params::new().set("AssociationId", id);
        match cx.client.query(&EC2, "DisassociateRouteTable", &params, Idempotency::Safe).await {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// aws_security_group

struct SecurityGroup;

#[derive(Debug, Deserialize)]
struct IpRange {
    #[serde(rename = "cidrIp", default)]
    cidr: String,
}

#[derive(Debug, Deserialize)]
struct PermissionXml {
    #[serde(rename = "ipProtocol", default)]
    protocol: String,
    #[serde(rename = "fromPort")]
    from_port: Option<i64>,
    #[serde(rename = "toPort")]
    to_port: Option<i64>,
    #[serde(rename = "ipRanges", default)]
    ranges: Items<IpRange>,
}

#[derive(Debug, Deserialize)]
struct GroupXml {
    #[serde(rename = "groupId")]
    id: String,
    #[serde(rename = "groupName", default)]
    name: String,
    #[serde(rename = "groupDescription", default)]
    description: String,
    #[serde(rename = "vpcId", default)]
    vpc_id: String,
    #[serde(rename = "ownerId", default)]
    owner: String,
    #[serde(rename = "ipPermissions", default)]
    ingress: Items<PermissionXml>,
    #[serde(rename = "ipPermissionsEgress", default)]
    egress: Items<PermissionXml>,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeGroups {
    #[serde(rename = "securityGroupInfo", default)]
    groups: Items<GroupXml>,
}

#[derive(Debug, Deserialize)]
struct CreateGroupResponse {
    #[serde(rename = "groupId")]
    id: String,
}

/// One rule for one CIDR: (protocol, from, to, cidr).
type Rule = (String, i64, i64, String);

fn normalize_protocol(protocol: &str) -> String {
    match protocol {
        "all" | "-1" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        other => other.to_lowercase(),
    }
}

fn configured_rules(rules: &[Value]) -> Vec<Rule> {
    let mut out = Vec::new();
    for rule in rules {
        let attrs = Attrs(rule);
        let protocol = normalize_protocol(&attrs.str("protocol").unwrap_or_else(|| "-1".into()));
        let (from, to) = if protocol == "-1" {
            (0, 0)
        } else {
            (attrs.f64("from_port").unwrap_or(0.0) as i64, attrs.f64("to_port").unwrap_or(0.0) as i64)
        };
        for cidr in attrs.strings("cidr_blocks") {
            out.push((protocol.clone(), from, to, cidr));
        }
    }
    out
}

fn actual_rules(permissions: &Items<PermissionXml>) -> Vec<Rule> {
    let mut out = Vec::new();
    for p in &permissions.items {
        let protocol = normalize_protocol(&p.protocol);
        let (from, to) =
            if protocol == "-1" { (0, 0) } else { (p.from_port.unwrap_or(0), p.to_port.unwrap_or(0)) };
        for range in &p.ranges.items {
            out.push((protocol.clone(), from, to, range.cidr.clone()));
        }
    }
    out
}

fn rules_value(rules: &[Rule]) -> Value {
    // One rule per (protocol, from, to) with its CIDRs, in first-seen order.
    let mut grouped: Vec<((String, i64, i64), Vec<String>)> = Vec::new();
    for (protocol, from, to, cidr) in rules {
        let key = (protocol.clone(), *from, *to);
        match grouped.iter_mut().find(|(k, _)| *k == key) {
            Some((_, cidrs)) => cidrs.push(cidr.clone()),
            None => grouped.push((key, vec![cidr.clone()])),
        }
    }
    Value::List(
        grouped
            .into_iter()
            .map(|((protocol, from, to), cidrs)| {
                object([
                    ("from_port", Value::Number(from as f64)),
                    ("to_port", Value::Number(to as f64)),
                    ("protocol", Value::string(protocol)),
                    ("cidr_blocks", string_list(cidrs)),
                ])
            })
            .collect(),
    )
}

fn same_rules(a: &[Rule], b: &[Rule]) -> bool {
    a.len() == b.len() && a.iter().all(|r| b.contains(r)) && b.iter().all(|r| a.contains(r))
}

fn rule_value(actual: &[Rule], prior: &Value, name: &str) -> Value {
    match prior_of(prior, name) {
        Some(p) if same_rules(&configured_rules(p.as_list().unwrap_or(&[])), actual) => p.unmarked(),
        _ => rules_value(actual),
    }
}

async fn permissions_call(
    client: &AwsClient,
    action: &str,
    group: &str,
    rules: &[Rule],
) -> ProviderResult<()> {
    if rules.is_empty() {
        return Ok(());
    }
    let mut params = Params::new().set("GroupId", group);
    for (i, (protocol, from, to, cidr)) in rules.iter().enumerate() {
        let n = i + 1;
        params.push(format!("IpPermissions.{n}.IpProtocol"), protocol);
        if protocol != "-1" {
            params.push(format!("IpPermissions.{n}.FromPort"), from);
            params.push(format!("IpPermissions.{n}.ToPort"), to);
        }
        params.push(format!("IpPermissions.{n}.IpRanges.1.CidrIp"), cidr);
    }
    match client.query(&EC2, action, &params, Idempotency::Safe).await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code.as_deref(),
                Some("InvalidPermission.Duplicate" | "InvalidPermission.NotFound")
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

async fn sync_rules(
    client: &AwsClient,
    group: &str,
    direction: &str,
    before: &[Rule],
    after: &[Rule],
) -> ProviderResult<()> {
    let removed: Vec<Rule> = before.iter().filter(|r| !after.contains(r)).cloned().collect();
    let added: Vec<Rule> = after.iter().filter(|r| !before.contains(r)).cloned().collect();
    permissions_call(client, &format!("RevokeSecurityGroup{direction}"), group, &removed).await?;
    permissions_call(client, &format!("AuthorizeSecurityGroup{direction}"), group, &added).await
}

fn default_egress() -> Vec<Rule> {
    vec![("-1".into(), 0, 0, "0.0.0.0/0".into())]
}

#[async_trait::async_trait]
impl ResourceKind for SecurityGroup {
    fn type_name(&self) -> &'static str {
        "aws_security_group"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let name =
            attrs.str("name").unwrap_or_else(|| format!("stackc-{}", idempotency_token(cx.op, "sg", 12)));
        let mut params = Params::new()
            .set("GroupName", name)
            .set("GroupDescription", attrs.str("description").unwrap_or_else(|| "Managed by stackc".into()));
        if let Some(vpc) = attrs.str("vpc_id") {
            params.push("VpcId", vpc);
        }
        tag_specification(&mut params, "security-group", &creation_tags(cx.op, config));
        let id = match cx
            .client
            .query_whole::<CreateGroupResponse>(&EC2, "CreateSecurityGroup", &params, Idempotency::Creates)
            .await
        {
            Ok(created) => created.id,
            Err(e) if e.code.as_deref() == Some("InvalidGroup.Duplicate") => {
                match self.recover_created(cx, config).await? {
                    Some(id) => return Ok(id),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        if let Err(e) = self.configure_rules(cx, &id, config).await {
            let _ = self.delete(cx, &id, config).await;
            return Err(e);
        }
        Ok(id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeGroups = describe_owned(cx, "DescribeSecurityGroups", &[]).await?;
        Ok(found
            .groups
            .items
            .into_iter()
            .find(|g| is_ours(cx, &g.tags) && placed(config, "vpc_id", &g.vpc_id))
            .map(|g| g.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        self.configure_rules(cx, id, config).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found = describe_filtered::<DescribeGroups>(client, "DescribeSecurityGroups", "group-id", &ids)
            .await
            .map(|pages| pages.into_iter().flat_map(|p| p.groups.items).map(|g| (g.id.clone(), g)).collect());
        answer(items, found, |g: &GroupXml, prior| {
            Ok(Some(object([
                ("id", Value::string(&g.id)),
                ("arn", arn(client, &g.owner, "security-group", &g.id)),
                ("tags", tags_value(tag_pairs(&g.tags), prior)),
                ("name", Value::string(&g.name)),
                ("description", Value::string(&g.description)),
                ("vpc_id", opt_string(Some(&g.vpc_id))),
                ("ingress", rule_value(&actual_rules(&g.ingress), prior, "ingress")),
                ("egress", rule_value(&actual_rules(&g.egress), prior, "egress")),
            ])))
        })
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        // Compare with what exists, not with the prior state: the rules may
        // have drifted.
        let pages =
            describe_filtered::<DescribeGroups>(cx.client, "DescribeSecurityGroups", "group-id", &[id])
                .await?;
        let group = pages.into_iter().flat_map(|p| p.groups.items).next().ok_or_else(|| ProviderError {
            code: Some("InvalidGroup.NotFound".into()),
            message: format!("security group `{id}` no longer exists"),
            retryable: false,
        })?;
        let attrs = Attrs(config);
        sync_rules(
            cx.client,
            id,
            "Ingress",
            &actual_rules(&group.ingress),
            &configured_rules(attrs.list("ingress")),
        )
        .await?;
        if attrs.get("egress").is_some() {
            sync_rules(
                cx.client,
                id,
                "Egress",
                &actual_rules(&group.egress),
                &configured_rules(attrs.list("egress")),
            )
            .await?;
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        delete_when_free(cx, "DeleteSecurityGroup", Params::new().set("GroupId", id), Held::Group(id)).await
    }
}

impl SecurityGroup {
    async fn configure_rules(&self, cx: &Cx<'_>, id: &str, config: &Value) -> ProviderResult<()> {
        let attrs = Attrs(config);
        permissions_call(
            cx.client,
            "AuthorizeSecurityGroupIngress",
            id,
            &configured_rules(attrs.list("ingress")),
        )
        .await?;
        if attrs.get("egress").is_some() {
            sync_rules(cx.client, id, "Egress", &default_egress(), &configured_rules(attrs.list("egress")))
                .await?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// aws_instance

struct Instance;

#[derive(Debug, Default, Deserialize)]
struct InstanceState {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct Placement {
    #[serde(rename = "availabilityZone", default)]
    availability_zone: String,
}

#[derive(Debug, Deserialize)]
struct GroupRef {
    #[serde(rename = "groupId", default)]
    id: String,
}

#[derive(Debug, Deserialize)]
struct InstanceXml {
    #[serde(rename = "instanceId")]
    id: String,
    #[serde(rename = "imageId", default)]
    image_id: String,
    #[serde(rename = "instanceState", default)]
    state: InstanceState,
    #[serde(rename = "instanceType", default)]
    instance_type: String,
    #[serde(rename = "subnetId", default)]
    subnet_id: String,
    #[serde(default)]
    placement: Placement,
    #[serde(rename = "privateIpAddress", default)]
    private_ip: String,
    #[serde(rename = "ipAddress", default)]
    public_ip: String,
    #[serde(rename = "privateDnsName", default)]
    private_dns: String,
    #[serde(rename = "groupSet", default)]
    groups: Items<GroupRef>,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct ReservationXml {
    #[serde(rename = "ownerId", default)]
    owner: String,
    #[serde(rename = "instancesSet", default)]
    instances: Items<InstanceXml>,
}

#[derive(Debug, Deserialize)]
struct DescribeInstances {
    #[serde(rename = "reservationSet", default)]
    reservations: Items<ReservationXml>,
}

#[derive(Debug, Deserialize)]
struct RunInstancesResponse {
    #[serde(rename = "instancesSet", default)]
    instances: Items<InstanceXml>,
}

#[derive(Debug, Default, Deserialize)]
struct UserDataAttribute {
    #[serde(rename = "userData")]
    user_data: Option<StringValue>,
}

fn live(state: &str) -> bool {
    !matches!(state, "terminated" | "shutting-down")
}

async fn describe_instances(
    client: &AwsClient,
    ids: &[&str],
) -> ProviderResult<HashMap<String, (String, InstanceXml)>> {
    let pages =
        describe_filtered::<DescribeInstances>(client, "DescribeInstances", "instance-id", ids).await?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.reservations.items)
        .flat_map(|r| {
            let owner = r.owner;
            r.instances.items.into_iter().map(move |i| (i.id.clone(), (owner.clone(), i)))
        })
        .collect())
}

async fn wait_instance(cx: &Cx<'_>, id: &str, wanted: &'static str) -> ProviderResult<()> {
    wait_for(cx.waits, &format!("instance {id} to be {wanted}"), || async move {
        let found = describe_instances(cx.client, &[id]).await?;
        match found.get(id).map(|(_, i)| i.state.name.as_str()) {
            Some(state) if state == wanted => Ok(Some(())),
            None if wanted == "terminated" => Ok(Some(())),
            Some("terminated") if wanted != "terminated" => Err(ProviderError {
                code: Some("InstanceTerminated".into()),
                message: format!("instance {id} terminated while waiting for it to be {wanted}"),
                retryable: false,
            }),
            _ => Ok(None),
        }
    })
    .await
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn base64_decode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl ResourceKind for Instance {
    fn type_name(&self) -> &'static str {
        "aws_instance"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let mut params = Params::new()
            .set("ImageId", attrs.required_str("ami")?)
            .set("InstanceType", attrs.required_str("instance_type")?)
            .set("MinCount", 1)
            .set("MaxCount", 1)
            .set("ClientToken", crate::attrs::client_token(cx.op, "instance", 64))
            .list("SecurityGroupId", attrs.strings("vpc_security_group_ids"));
        if let Some(subnet) = attrs.str("subnet_id") {
            params.push("SubnetId", subnet);
        }
        if let Some(zone) = attrs.str("availability_zone") {
            params.push("Placement.AvailabilityZone", zone);
        }
        if let Some(user_data) = attrs.str("user_data") {
            params.push("UserData", base64_encode(&user_data));
        }
        tag_specification(&mut params, "instance", &creation_tags(cx.op, config));
        let created: RunInstancesResponse =
            cx.client.query_whole(&EC2, "RunInstances", &params, Idempotency::Creates).await?;
        let id = created
            .instances
            .items
            .into_iter()
            .next()
            .map(|i| i.id)
            .ok_or_else(|| ProviderError::new("RunInstances returned no instance"))?;
        wait_instance(cx, &id, "running").await?;
        Ok(id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeInstances =
            describe_owned(cx, "DescribeInstances", &[("instance-state-name", &["pending", "running"])])
                .await?;
        Ok(found
            .reservations
            .items
            .into_iter()
            .flat_map(|r| r.instances.items)
            .find(|i| {
                live(&i.state.name)
                    && is_ours(cx, &i.tags)
                    && placed(config, "subnet_id", &i.subnet_id)
                    && placed(config, "ami", &i.image_id)
            })
            .map(|i| i.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, _config: &Value) -> ProviderResult<()> {
        wait_instance(cx, id, "running").await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let found = match describe_instances(client, &ids).await {
            Ok(found) => found,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results = Vec::new();
        for item in items {
            let Some((owner, i)) = found.get(item.id).filter(|(_, i)| live(&i.state.name)) else {
                results.push(Ok(None));
                continue;
            };
            // User data is write-once: kept from state on refresh (one
            // Describe for all instances), fetched on import.
            let user_data = match item.prior.as_object() {
                Some(_) => prior_of(item.prior, "user_data").cloned().unwrap_or(Value::Null),
                None => {
                    let params = Params::new().set("InstanceId", &i.id).set("Attribute", "userData");
                    match client
                        .query_whole::<UserDataAttribute>(
                            &EC2,
                            "DescribeInstanceAttribute",
                            &params,
                            Idempotency::Safe,
                        )
                        .await
                    {
                        Ok(attribute) => attribute
                            .user_data
                            .map(|u| base64_decode(&u.value))
                            .filter(|s| !s.is_empty())
                            .map_or(Value::Null, Value::string),
                        Err(e) => {
                            results.push(Err(e));
                            continue;
                        }
                    }
                }
            };
            let groups: Vec<Value> = i.groups.items.iter().map(|g| Value::string(&g.id)).collect();
            results.push(Ok(Some(object([
                ("id", Value::string(&i.id)),
                ("arn", arn(client, owner, "instance", &i.id)),
                ("tags", tags_value(tag_pairs(&i.tags), item.prior)),
                ("ami", Value::string(&i.image_id)),
                ("instance_type", Value::string(&i.instance_type)),
                ("subnet_id", opt_string(Some(&i.subnet_id))),
                ("vpc_security_group_ids", as_set(groups, prior_of(item.prior, "vpc_security_group_ids"))),
                ("availability_zone", Value::string(&i.placement.availability_zone)),
                ("user_data", user_data),
                ("private_ip", opt_string(Some(&i.private_ip))),
                ("public_ip", opt_string(Some(&i.public_ip))),
                ("private_dns", opt_string(Some(&i.private_dns))),
            ]))));
        }
        results
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let instance_type = attrs.required_str("instance_type")?;
        if Attrs(prior).str("instance_type").as_deref() != Some(instance_type.as_str()) {
            // The type of a running instance cannot change: stop, modify, start.
            cx.client
                .query(&EC2, "StopInstances", &Params::new().set("InstanceId.1", id), Idempotency::Safe)
                .await?;
            wait_instance(cx, id, "stopped").await?;
            let params = Params::new().set("InstanceId", id).set("InstanceType.Value", &instance_type);
            cx.client.query(&EC2, "ModifyInstanceAttribute", &params, Idempotency::Safe).await?;
            cx.client
                .query(&EC2, "StartInstances", &Params::new().set("InstanceId.1", id), Idempotency::Safe)
                .await?;
            wait_instance(cx, id, "running").await?;
        }
        let groups = attrs.strings("vpc_security_group_ids");
        let mut before = Attrs(prior).strings("vpc_security_group_ids");
        let mut after = groups.clone();
        before.sort();
        after.sort();
        if !groups.is_empty() && before != after {
            let params = Params::new().set("InstanceId", id).list("GroupId", groups);
            cx.client.query(&EC2, "ModifyInstanceAttribute", &params, Idempotency::Safe).await?;
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        cx.client
            .query(&EC2, "TerminateInstances", &Params::new().set("InstanceId.1", id), Idempotency::Safe)
            .await?;
        wait_instance(cx, id, "terminated").await
    }

    fn plan(&self, prior: Option<&Value>, config: &Value, planned: &mut stackc_model::Fields) {
        // A new instance type keeps the instance but not its addresses' certainty.
        if let Some(prior) = prior {
            if Attrs(prior).str("instance_type") != Attrs(config).str("instance_type") {
                planned.insert("public_ip".into(), Value::Unknown);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// aws_ebs_volume and aws_volume_attachment

struct EbsVolume;
struct VolumeAttachment;

#[derive(Debug, Deserialize)]
struct VolumeAttachmentXml {
    #[serde(rename = "instanceId", default)]
    instance_id: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    status: String,
}

#[derive(Debug, Deserialize)]
struct VolumeXml {
    #[serde(rename = "volumeId")]
    id: String,
    #[serde(default)]
    size: f64,
    #[serde(rename = "availabilityZone", default)]
    availability_zone: String,
    #[serde(default)]
    status: String,
    #[serde(rename = "volumeType", default)]
    volume_type: String,
    #[serde(default)]
    encrypted: bool,
    #[serde(rename = "attachmentSet", default)]
    attachments: Items<VolumeAttachmentXml>,
    #[serde(rename = "tagSet", default)]
    tags: Items<Ec2Tag>,
}

#[derive(Debug, Deserialize)]
struct DescribeVolumes {
    #[serde(rename = "volumeSet", default)]
    volumes: Items<VolumeXml>,
}

#[derive(Debug, Deserialize)]
struct CreateVolumeResponse {
    #[serde(rename = "volumeId")]
    id: String,
}

async fn describe_volumes(client: &AwsClient, ids: &[&str]) -> ProviderResult<HashMap<String, VolumeXml>> {
    let pages = describe_filtered::<DescribeVolumes>(client, "DescribeVolumes", "volume-id", ids).await?;
    Ok(pages.into_iter().flat_map(|p| p.volumes.items).map(|v| (v.id.clone(), v)).collect())
}

/// Waits until `done` holds for the volume (absent counts as `None`).
async fn wait_volume(
    cx: &Cx<'_>,
    id: &str,
    what: &str,
    done: impl Fn(Option<&VolumeXml>) -> bool + Send + Sync,
) -> ProviderResult<()> {
    let done = &done;
    wait_for(cx.waits, &format!("volume {id} to be {what}"), || async move {
        let found = describe_volumes(cx.client, &[id]).await?;
        Ok(done(found.get(id)).then_some(()))
    })
    .await
}

#[async_trait::async_trait]
impl ResourceKind for EbsVolume {
    fn type_name(&self) -> &'static str {
        "aws_ebs_volume"
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let mut params = Params::new()
            .set("AvailabilityZone", attrs.required_str("availability_zone")?)
            .set("ClientToken", crate::attrs::client_token(cx.op, "volume", 64));
        if let Some(size) = attrs.f64("size") {
            params.push("Size", size as i64);
        }
        if let Some(kind) = attrs.str("type") {
            params.push("VolumeType", kind);
        }
        if let Some(encrypted) = attrs.bool("encrypted") {
            params.push("Encrypted", encrypted);
        }
        tag_specification(&mut params, "volume", &creation_tags(cx.op, config));
        let created: CreateVolumeResponse =
            cx.client.query_whole(&EC2, "CreateVolume", &params, Idempotency::Creates).await?;
        wait_volume(cx, &created.id, "available", |v| v.is_some_and(|v| v.status == "available")).await?;
        Ok(created.id)
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let found: DescribeVolumes = describe_owned(cx, "DescribeVolumes", &[]).await?;
        Ok(found
            .volumes
            .items
            .into_iter()
            .find(|v| {
                !matches!(v.status.as_str(), "deleting" | "deleted")
                    && is_ours(cx, &v.tags)
                    && placed(config, "availability_zone", &v.availability_zone)
            })
            .map(|v| v.id))
    }

    async fn finish_created(&self, cx: &Cx<'_>, id: &str, _config: &Value) -> ProviderResult<()> {
        wait_volume(cx, id, "available", |v| v.is_some_and(|v| v.status != "creating")).await
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let account = client.account_id().await.unwrap_or_default();
        answer(items, describe_volumes(client, &ids).await, |v: &VolumeXml, prior| {
            if matches!(v.status.as_str(), "deleting" | "deleted") {
                return Ok(None);
            }
            Ok(Some(object([
                ("id", Value::string(&v.id)),
                ("arn", arn(client, &account, "volume", &v.id)),
                ("tags", tags_value(tag_pairs(&v.tags), prior)),
                ("availability_zone", Value::string(&v.availability_zone)),
                ("size", Value::Number(v.size)),
                ("type", Value::string(&v.volume_type)),
                ("encrypted", Value::Bool(v.encrypted)),
            ])))
        })
    }

    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String> {
        let (before, after) = (Attrs(prior), Attrs(config));
        let mut params = Params::new().set("VolumeId", id);
        let mut changed = false;
        if let Some(size) = after.f64("size").filter(|s| Some(*s) != before.f64("size")) {
            params.push("Size", size as i64);
            changed = true;
        }
        if let Some(kind) = after.str("type").filter(|t| Some(t) != before.str("type").as_ref()) {
            params.push("VolumeType", kind);
            changed = true;
        }
        if changed {
            cx.client.query(&EC2, "ModifyVolume", &params, Idempotency::Safe).await?;
        }
        update_tags(cx.client, id, prior, config).await?;
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        delete_when_free(cx, "DeleteVolume", Params::new().set("VolumeId", id), Held::Volume(id)).await
    }
}

/// `device:volume:instance`, the id of an attachment (also its import id).
fn attachment_id(device: &str, volume: &str, instance: &str) -> String {
    format!("{device}:{volume}:{instance}")
}

fn parse_attachment_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.splitn(3, ':');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

fn attached(v: Option<&VolumeXml>, instance: &str) -> bool {
    v.is_some_and(|v| v.attachments.items.iter().any(|a| a.instance_id == instance && a.status == "attached"))
}

#[async_trait::async_trait]
impl ResourceKind for VolumeAttachment {
    fn type_name(&self) -> &'static str {
        "aws_volume_attachment"
    }

    fn takes_tags(&self) -> bool {
        false
    }

    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String> {
        let attrs = Attrs(config);
        let (device, volume, instance) = (
            attrs.required_str("device_name")?,
            attrs.required_str("volume_id")?,
            attrs.required_str("instance_id")?,
        );
        let params =
            Params::new().set("Device", &device).set("InstanceId", &instance).set("VolumeId", &volume);
        match cx.client.query(&EC2, "AttachVolume", &params, Idempotency::Creates).await {
            Ok(_) => {}
            // Attached already by a request whose response was lost.
            Err(e)
                if e.code.as_deref() == Some("VolumeInUse")
                    && self.recover_created(cx, config).await?.is_some() => {}
            Err(e) => return Err(e),
        }
        wait_volume(cx, &volume, "attached", |v| attached(v, &instance)).await?;
        Ok(attachment_id(&device, &volume, &instance))
    }

    async fn find_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let attrs = Attrs(config);
        let (device, volume, instance) = (
            attrs.required_str("device_name")?,
            attrs.required_str("volume_id")?,
            attrs.required_str("instance_id")?,
        );
        let found = describe_volumes(cx.client, &[&volume]).await?;
        let exists =
            found.get(&volume).is_some_and(|v| v.attachments.items.iter().any(|a| a.instance_id == instance));
        Ok(exists.then(|| attachment_id(&device, &volume, &instance)))
    }

    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>> {
        let volumes: Vec<&str> =
            items.iter().filter_map(|i| parse_attachment_id(i.id).map(|(_, v, _)| v)).collect();
        let found = match describe_volumes(client, &volumes).await {
            Ok(found) => found,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        items
            .iter()
            .map(|item| {
                let Some((device, volume, instance)) = parse_attachment_id(item.id) else {
                    return Err(ProviderError::new(format!(
                        "`{}` is not a volume attachment id (device:volume-id:instance-id)",
                        item.id
                    )));
                };
                let present = found.get(volume).is_some_and(|v| {
                    v.attachments.items.iter().any(|a| {
                        a.instance_id == instance
                            && matches!(a.status.as_str(), "attached" | "attaching")
                            && (a.device == device || a.device.is_empty())
                    })
                });
                Ok(present.then(|| {
                    object([
                        ("id", Value::string(item.id)),
                        ("tags", prior_of(item.prior, "tags").cloned().unwrap_or(Value::Null)),
                        ("device_name", Value::string(device)),
                        ("instance_id", Value::string(instance)),
                        ("volume_id", Value::string(volume)),
                    ])
                }))
            })
            .collect()
    }

    async fn update(
        &self,
        _cx: &Cx<'_>,
        id: &str,
        _prior: &Value,
        _config: &Value,
    ) -> ProviderResult<String> {
        // Every attribute forces replacement; only `tags` (not taggable) remains.
        Ok(id.to_string())
    }

    async fn delete(&self, cx: &Cx<'_>, id: &str, _prior: &Value) -> ProviderResult<()> {
        let Some((device, volume, instance)) = parse_attachment_id(id) else {
            return Ok(());
        };
        let params = Params::new().set("Device", device).set("InstanceId", instance).set("VolumeId", volume);
        match cx.client.query(&EC2, "DetachVolume", &params, Idempotency::Safe).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) || e.code.as_deref() == Some("IncorrectState") => {}
            Err(e) => return Err(e),
        }
        let instance = instance.to_string();
        wait_volume(cx, volume, "detached", move |v| {
            v.is_none_or(|v| !v.attachments.items.iter().any(|a| a.instance_id == instance))
        })
        .await
    }
}
