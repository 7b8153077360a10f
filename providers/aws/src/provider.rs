//! [`AwsProvider`]: the Provider trait over the resource kinds.
//!
//! It owns what is common to every type: the plan of computed attributes
//! from the schema, recovering a create whose response was lost (look for
//! the object by ownership tag before trying again), reading an object back
//! after create until AWS reports it (eventual consistency), and grouping a
//! refresh by type so each kind can batch its Describe calls.

use crate::resources::{kinds, Cx, ReadItem, ResourceKind, WaitPolicy};
use crate::transport::{AwsClient, RetryPolicy, OUTCOME_UNKNOWN};
use aws_credential_types::Credentials;
use indexmap::IndexMap;
use stackc_model::schema::{AttributeMode, ResourceSchema};
use stackc_model::Value;
use stackc_providers::{
    ObjectHealth, ObjectState, OperationContext, Provider, ProviderError, ProviderResult,
};
use std::collections::HashMap;
use std::time::Duration;

/// How to reach AWS: the `target "aws"` block's attributes and settings.
#[derive(Clone, Debug)]
pub struct AwsConfig {
    /// The stack's name (ownership tags use the operation's stack; this is
    /// the fallback when an operation carries none).
    pub stack: String,
    /// `target "aws" { region = ... }`; else `AWS_REGION` / the profile's.
    pub region: Option<String>,
    /// `target "aws" { endpoint = ... }`; else `AWS_ENDPOINT_URL`. One
    /// endpoint for every service (moto, LocalStack); `None` means AWS.
    pub endpoint: Option<String>,
    /// A shared-config profile; else `AWS_PROFILE` / `default`.
    pub profile: Option<String>,
    /// Fixed credentials instead of the standard chain (tests, embedding).
    pub static_credentials: Option<(String, String)>,
    pub retry: RetryPolicy,
    pub waits: WaitPolicy,
    /// How long a just-created object may read as NotFound.
    pub consistency_timeout: Duration,
    /// Limit for one HTTP request (one attempt), whatever it does.
    pub request_timeout: Duration,
    /// Limit for connecting to the endpoint.
    pub connect_timeout: Duration,
    /// The longest wait for the next bytes of an answer: an endpoint that
    /// accepts a connection and says nothing fails an attempt after this.
    pub read_timeout: Duration,
    /// Attempts at a create whose outcome came back unknown.
    pub create_attempts: u32,
}

impl AwsConfig {
    pub fn new(stack: impl Into<String>) -> AwsConfig {
        AwsConfig {
            stack: stack.into(),
            region: None,
            endpoint: None,
            profile: None,
            static_credentials: None,
            retry: RetryPolicy::default(),
            waits: WaitPolicy::default(),
            consistency_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            create_attempts: 4,
        }
    }

    /// Reads `region`, `endpoint` and `profile` from the target block's
    /// evaluated attributes (an object value); other attributes (`ami`) are
    /// for the stdlib, not the provider.
    pub fn with_target_attributes(mut self, attributes: &Value) -> AwsConfig {
        let get = |name: &str| attributes.get_path(&[name]).and_then(Value::as_str).map(str::to_string);
        self.region = get("region").or(self.region);
        self.endpoint = get("endpoint").or(self.endpoint);
        self.profile = get("profile").or(self.profile);
        self
    }
}

/// An object carrying a stack's ownership tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedObject {
    pub arn: String,
    /// The `stackc:address` tag: the resource it was created for.
    pub address: Option<String>,
    /// The `stackc:target` tag.
    pub target: Option<String>,
}

pub struct AwsProvider {
    client: AwsClient,
    config: AwsConfig,
    kinds: HashMap<&'static str, Box<dyn ResourceKind>>,
    schemas: Vec<ResourceSchema>,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsProvider").field("client", &self.client).finish()
    }
}

impl AwsProvider {
    /// Resolves region, endpoint and credentials: the target block's
    /// settings first, then the standard chain `aws-config` provides
    /// (environment, shared config and credentials files with profiles,
    /// web identity, SSO, container and instance credentials).
    pub async fn new(mut config: AwsConfig) -> ProviderResult<AwsProvider> {
        // The SDKs' standard setting for the retry budget.
        if let Some(attempts) = std::env::var("AWS_MAX_ATTEMPTS")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| *n >= 1)
        {
            config.retry.max_attempts = attempts;
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()
            .map_err(|e| ProviderError::new(format!("cannot build the HTTP client: {e}")))?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(crate::http_client::ReqwestHttpClient::new(http.clone()));
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some((key, secret)) = &config.static_credentials {
            loader = loader.credentials_provider(Credentials::new(key, secret, None, None, "stackc-static"));
        }
        let sdk = loader.load().await;
        let region = config.region.clone().or_else(|| sdk.region().map(|r| r.to_string())).ok_or_else(|| {
            ProviderError {
                code: Some("NoRegion".into()),
                message: "no AWS region: set `region` in the `target \"aws\"` block, AWS_REGION, or a profile's region"
                    .into(),
                retryable: false,
            }
        })?;
        let endpoint = config.endpoint.clone().or_else(|| sdk.endpoint_url().map(str::to_string));
        let credentials = sdk.credentials_provider().ok_or_else(|| ProviderError {
            code: Some("NoCredentials".into()),
            message: "no AWS credentials provider could be configured".into(),
            retryable: false,
        })?;
        let client =
            AwsClient::new(http, region, endpoint, credentials, config.retry.clone(), config.read_timeout);
        let kinds = kinds().into_iter().map(|k| (k.type_name(), k)).collect();
        Ok(AwsProvider { client, config, kinds, schemas: crate::schemas() })
    }

    /// The region requests go to.
    pub fn region(&self) -> &str {
        self.client.region()
    }

    /// The account the credentials belong to: one STS call (its answer is
    /// kept, and the first create needs it anyway). `apply` asks before its
    /// first write, so missing or refused credentials stop it before any
    /// object is made.
    pub async fn account_id(&self) -> ProviderResult<String> {
        self.client.account_id().await
    }

    /// API requests sent so far (every attempt counts).
    pub fn api_calls(&self) -> u64 {
        self.client.call_count()
    }

    /// API requests sent so far, by `service:Action`.
    /// A new 256-bit data key under the KMS key `key_id` (an id, ARN or
    /// alias), for the encryption of the state at rest: its plaintext, its
    /// encrypted form (which only KMS can decrypt) and the key's ARN.
    pub async fn generate_data_key(&self, key_id: &str) -> ProviderResult<(Vec<u8>, Vec<u8>, String)> {
        #[derive(serde::Deserialize)]
        struct Generated {
            #[serde(rename = "Plaintext")]
            plaintext: String,
            #[serde(rename = "CiphertextBlob")]
            blob: String,
            #[serde(rename = "KeyId")]
            key_id: String,
        }
        let request = serde_json::json!({ "KeyId": key_id, "KeySpec": "AES_256" });
        // Not a create: an unanswered request only leaves a key nobody uses.
        let generated: Generated = self
            .client
            .json(&crate::transport::KMS, "GenerateDataKey", &request, crate::transport::Idempotency::Safe)
            .await?;
        Ok((decode_blob(&generated.plaintext)?, decode_blob(&generated.blob)?, generated.key_id))
    }

    /// S3 GetObject: the object's bytes and ETag, `None` when there is none.
    pub async fn s3_get(&self, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, String)>, S3Error> {
        let url = self.client.s3_url(bucket, key);
        let answer = self
            .client
            .rest(&crate::transport::S3, "GET", &url, &[], Vec::new(), crate::transport::Idempotency::Safe)
            .await
            .map_err(S3Error::from_provider)?;
        match answer.status {
            200 => Ok(Some((answer.body, answer.etag.unwrap_or_default()))),
            404 => Ok(None),
            _ => Err(S3Error::of(&answer)),
        }
    }

    /// S3 PutObject, only if `condition` holds (`If-None-Match: *` or
    /// `If-Match: <etag>`); the new ETag. A failed condition (412, or 409
    /// when a conditional write raced another) is [`S3Error::PreconditionFailed`].
    pub async fn s3_put(
        &self,
        bucket: &str,
        key: &str,
        bytes: &[u8],
        condition: S3Condition,
    ) -> Result<String, S3Error> {
        let url = self.client.s3_url(bucket, key);
        let mut headers = vec![("content-type", "application/octet-stream".to_string())];
        match &condition {
            S3Condition::None => {}
            S3Condition::IfAbsent => headers.push(("if-none-match", "*".to_string())),
            S3Condition::IfMatch(etag) => headers.push(("if-match", etag.clone())),
        }
        // A conditional write sent again after a lost answer fails its
        // condition if the first one was served: the caller reads back.
        let answer = self
            .client
            .rest(
                &crate::transport::S3,
                "PUT",
                &url,
                &headers,
                bytes.to_vec(),
                crate::transport::Idempotency::Safe,
            )
            .await
            .map_err(S3Error::from_provider)?;
        match answer.status {
            200 => Ok(answer.etag.unwrap_or_default()),
            412 | 409 if condition != S3Condition::None => Err(S3Error::PreconditionFailed),
            _ => Err(S3Error::of(&answer)),
        }
    }

    /// S3 DeleteObject (nothing when there is none).
    pub async fn s3_delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let url = self.client.s3_url(bucket, key);
        let answer = self
            .client
            .rest(&crate::transport::S3, "DELETE", &url, &[], Vec::new(), crate::transport::Idempotency::Safe)
            .await
            .map_err(S3Error::from_provider)?;
        match answer.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(S3Error::of(&answer)),
        }
    }

    /// The plaintext of a data key made by [`AwsProvider::generate_data_key`].
    pub async fn decrypt_data_key(&self, blob: &[u8]) -> ProviderResult<Vec<u8>> {
        use base64::Engine;
        #[derive(serde::Deserialize)]
        struct Decrypted {
            #[serde(rename = "Plaintext")]
            plaintext: String,
        }
        let request = serde_json::json!({
            "CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(blob)
        });
        let decrypted: Decrypted = self
            .client
            .json(&crate::transport::KMS, "Decrypt", &request, crate::transport::Idempotency::Safe)
            .await?;
        decode_blob(&decrypted.plaintext)
    }

    pub fn api_calls_by_action(&self) -> std::collections::BTreeMap<String, u64> {
        self.client.calls_by_action()
    }

    /// Every object in the region tagged `stackc:stack = stack`, with the
    /// address its tag names: what a state should account for, so objects
    /// nothing in state accounts for (orphans of an interrupted apply, of a
    /// lost state file) can be found. One Resource Groups Tagging API call
    /// per page. Untaggable types (attachments, associations, secret
    /// versions, scaling targets and policies) are not listed; AWS lists
    /// terminated instances for a while after they end.
    pub async fn owned_objects(&self, stack: &str) -> ProviderResult<Vec<OwnedObject>> {
        #[derive(serde::Deserialize)]
        struct Tag {
            #[serde(rename = "Key")]
            key: String,
            #[serde(rename = "Value")]
            value: String,
        }
        #[derive(serde::Deserialize)]
        struct Mapping {
            #[serde(rename = "ResourceARN")]
            arn: String,
            #[serde(rename = "Tags", default)]
            tags: Vec<Tag>,
        }
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(rename = "ResourceTagMappingList", default)]
            mappings: Vec<Mapping>,
            #[serde(rename = "PaginationToken", default)]
            token: Option<String>,
        }
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: a million objects at 100 per page.
        for _ in 0..10_000 {
            let mut request = serde_json::json!({
                "TagFilters": [{"Key": crate::attrs::TAG_STACK, "Values": [stack]}],
                "ResourcesPerPage": 100,
            });
            if let Some(token) = &token {
                request["PaginationToken"] = serde_json::json!(token);
            }
            let page: Page = self
                .client
                .json(
                    &crate::transport::TAGGING,
                    "GetResources",
                    &request,
                    crate::transport::Idempotency::Safe,
                )
                .await?;
            for mapping in page.mappings {
                let tag = |key: &str| mapping.tags.iter().find(|t| t.key == key).map(|t| t.value.clone());
                objects.push(OwnedObject {
                    address: tag(crate::attrs::TAG_ADDRESS),
                    target: tag(crate::attrs::TAG_TARGET),
                    arn: mapping.arn,
                });
            }
            token = page.token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(objects)
    }

    fn kind(&self, type_name: &str) -> ProviderResult<&dyn ResourceKind> {
        self.kinds.get(type_name).map(|k| k.as_ref()).ok_or_else(|| ProviderError {
            code: Some("UnsupportedResourceType".into()),
            message: format!("the aws provider cannot manage `{type_name}` resources"),
            retryable: false,
        })
    }

    fn cx<'a>(&'a self, op: &'a OperationContext) -> Cx<'a> {
        Cx { client: &self.client, op, waits: &self.config.waits }
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas.iter().find(|s| s.type_name == type_name)
    }

    /// Reads one object, retrying NotFound until `consistency_timeout` (used
    /// right after create and update, when AWS may not show it yet).
    async fn read_back(
        &self,
        kind: &dyn ResourceKind,
        id: &str,
        shape: &Value,
    ) -> ProviderResult<ObjectState> {
        let start = tokio::time::Instant::now();
        let mut interval = Duration::from_millis(200);
        loop {
            let item = ReadItem { id, prior: shape };
            let read = kind.read(&self.client, std::slice::from_ref(&item)).await.pop().unwrap_or(Ok(None));
            match read {
                Ok(Some(attributes)) => return Ok(object_state(id, attributes)),
                Ok(None) => {}
                Err(e) if crate::attrs::is_not_found(&e) => {}
                Err(e) => return Err(e),
            }
            if start.elapsed() >= self.config.consistency_timeout {
                return Err(ProviderError {
                    code: Some("NotFoundAfterCreate".into()),
                    message: format!("`{id}` was created but AWS still does not report it"),
                    retryable: true,
                });
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(Duration::from_secs(5));
        }
    }
}

/// Adds to the planned `tags` the ownership tags the object carries: those
/// create gives it (a new object), or those it has (a kept one; an imported
/// object may have none, and an update never adds them), so the plan shows
/// every tag, as reads report them.
fn with_ownership_tags(
    ctx: &OperationContext,
    stack: &str,
    prior: Option<&Value>,
    planned: &mut stackc_model::Fields,
) {
    let ownership: Vec<(String, Value)> = match prior {
        None => {
            let mut ctx = ctx.clone();
            if ctx.stack.is_empty() {
                ctx.stack = stack.to_string();
            }
            crate::attrs::ownership_tags(&ctx).into_iter().map(|(k, v)| (k, Value::string(v))).collect()
        }
        Some(prior) => prior
            .get_path(&["tags"])
            .and_then(Value::as_object)
            .map(|tags| {
                tags.iter()
                    .filter(|(k, _)| k.starts_with("stackc:"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    if ownership.is_empty() {
        return;
    }
    let mut tags = match planned.get("tags") {
        Some(Value::Object(tags)) => tags.clone(),
        Some(Value::Null) | None => stackc_model::Fields::default(),
        // Unknown until apply: so is the whole map.
        Some(_) => return,
    };
    tags.retain(|k, _| !k.starts_with("stackc:"));
    tags.extend(ownership);
    planned.insert("tags".to_string(), Value::Object(tags));
}

/// List attributes whose order AWS does not keep.
const SET_ATTRIBUTES: &[&str] = &[
    "subnets",
    "security_groups",
    "vpc_security_group_ids",
    "managed_policy_arns",
    "requires_compatibilities",
];

fn object_state(fallback_id: &str, attributes: Value) -> ObjectState {
    let id = attributes.get_path(&["id"]).and_then(Value::as_str).unwrap_or(fallback_id).to_string();
    ObjectState { id, attributes }
}

fn differs(a: Option<&Value>, b: Option<&Value>) -> bool {
    let norm = |v: Option<&Value>| v.map(Value::unmarked).unwrap_or(Value::Null);
    norm(a) != norm(b)
}

#[async_trait::async_trait]
impl Provider for AwsProvider {
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
        let kind = self.kind(&ctx.type_name)?;
        let schema = self
            .schema(&ctx.type_name)
            .ok_or_else(|| ProviderError::new(format!("no schema for `{}`", ctx.type_name)))?;
        let mut configured = config.as_object().cloned().unwrap_or_default();
        if let Some(prior) = prior {
            kind.normalize(&prior.attributes, &mut configured);
            // A nested object AWS fills with defaults (`health_check`): the
            // configured keys having the prior values means no change.
            for (name, value) in configured.iter_mut() {
                let Some(wanted) = value.as_object() else { continue };
                if name == "tags" || value.has_unknown() {
                    continue;
                }
                let Some(had) = prior.attributes.get_path(&[name]).and_then(Value::as_object) else {
                    continue;
                };
                if wanted
                    .iter()
                    .all(|(k, v)| v.unmarked() == had.get(k).map(Value::unmarked).unwrap_or(Value::Null))
                {
                    *value = Value::Object(had.clone());
                }
            }
        }
        // A prior object only counts if it is kept (no force-new change).
        let prior = prior.filter(|prior| {
            schema.attributes.iter().filter(|(_, a)| a.force_new && a.mode != AttributeMode::Computed).all(
                |(name, a)| {
                    let wanted = configured.get(name).filter(|v| !matches!(v, Value::Null));
                    if wanted.is_some_and(Value::has_unknown) {
                        return false;
                    }
                    let had = prior.attributes.get_path(&[name]).filter(|v| !matches!(v, Value::Null));
                    // An optional-computed attribute left out keeps its value.
                    if wanted.is_none() && a.mode == AttributeMode::OptionalComputed {
                        return true;
                    }
                    !differs(wanted, had)
                },
            )
        });
        let mut planned: stackc_model::Fields = Default::default();
        for (name, attribute) in &schema.attributes {
            let set = configured.get(name).filter(|v| !matches!(v, Value::Null)).cloned();
            let prior_value = prior.and_then(|p| p.attributes.get_path(&[name]).cloned());
            // Lists AWS keeps as sets: the same members in another order.
            let set = match (set, &prior_value) {
                (Some(Value::List(wanted)), Some(Value::List(had)))
                    if attribute.ty != stackc_model::types::Type::Any
                        && wanted.len() == had.len()
                        && !wanted.iter().any(Value::has_unknown)
                        && wanted.iter().all(|w| had.iter().any(|h| h.unmarked() == w.unmarked()))
                        && SET_ATTRIBUTES.contains(&name.as_str()) =>
                {
                    Some(Value::List(had.clone()))
                }
                (set, _) => set,
            };
            let value = match (attribute.mode, set) {
                (AttributeMode::Computed, _) => match prior_value {
                    Some(v) => v,
                    None => Value::Unknown,
                },
                (AttributeMode::OptionalComputed, None) => match prior_value {
                    Some(v) if !matches!(v, Value::Null) => v,
                    _ => Value::Unknown,
                },
                (_, Some(v)) => v,
                (_, None) => Value::Null,
            };
            let value = match value {
                Value::Unknown | Value::Null => value,
                value if attribute.sensitive => value.into_sensitive(),
                value => value,
            };
            planned.insert(name.clone(), value);
        }
        kind.plan(prior.map(|p| &p.attributes), config, &mut planned);
        if kind.takes_tags() {
            with_ownership_tags(ctx, &self.config.stack, prior.map(|p| &p.attributes), &mut planned);
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
        let mut results: Vec<Option<ProviderResult<Option<ObjectState>>>> = vec![None; items.len()];
        let mut by_type: IndexMap<&str, Vec<usize>> = IndexMap::new();
        for (i, (ctx, _)) in items.iter().enumerate() {
            by_type.entry(ctx.type_name.as_str()).or_default().push(i);
        }
        // The types are read concurrently (each kind batches its own
        // Describe calls), so a refresh takes about as long as its slowest
        // type, not the sum of them.
        let reads = by_type.into_iter().map(|(type_name, indexes)| async move {
            let kind = match self.kind(type_name) {
                Ok(kind) => kind,
                Err(e) => return indexes.into_iter().map(|i| (i, Err(e.clone()))).collect::<Vec<_>>(),
            };
            let reads: Vec<ReadItem<'_>> = indexes
                .iter()
                .map(|&i| ReadItem { id: &items[i].1.id, prior: &items[i].1.attributes })
                .collect();
            let outcomes = kind.read(&self.client, &reads).await;
            indexes
                .iter()
                .zip(outcomes)
                .map(|(&i, outcome)| {
                    (i, outcome.map(|found| found.map(|attributes| object_state(&items[i].1.id, attributes))))
                })
                .collect()
        });
        for (i, outcome) in futures_util::future::join_all(reads).await.into_iter().flatten() {
            results[i] = Some(outcome);
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(None))).collect()
    }

    async fn create(&self, ctx: &OperationContext, config: &Value) -> ProviderResult<ObjectState> {
        let kind = self.kind(&ctx.type_name)?;
        let config = &config.unmarked();
        let mut ctx = ctx.clone();
        if ctx.stack.is_empty() {
            ctx.stack = self.config.stack.clone();
        }
        let cx = self.cx(&ctx);
        let mut attempt = 0;
        let id = loop {
            attempt += 1;
            match kind.create(&cx, config).await {
                Ok(id) => break id,
                Err(e) if e.code.as_deref() == Some(OUTCOME_UNKNOWN) => {
                    if let Some(id) = kind.recover_created(&cx, config).await? {
                        break id;
                    }
                    if attempt >= self.config.create_attempts {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        };
        self.read_back(kind, &id, config).await
    }

    async fn find_created(
        &self,
        ctx: &OperationContext,
        config: &Value,
    ) -> ProviderResult<Option<ObjectState>> {
        let kind = self.kind(&ctx.type_name)?;
        let config = &config.unmarked();
        let mut ctx = ctx.clone();
        if ctx.stack.is_empty() {
            ctx.stack = self.config.stack.clone();
        }
        let Some(id) = kind.find_created(&self.cx(&ctx), config).await? else { return Ok(None) };
        let item = ReadItem { id: &id, prior: config };
        let found = kind.read(&self.client, std::slice::from_ref(&item)).await.pop().unwrap_or(Ok(None))?;
        Ok(found.map(|attributes| object_state(&id, attributes)))
    }

    async fn update(
        &self,
        ctx: &OperationContext,
        prior: &ObjectState,
        config: &Value,
    ) -> ProviderResult<ObjectState> {
        let kind = self.kind(&ctx.type_name)?;
        let config = &config.unmarked();
        let cx = self.cx(ctx);
        let id = kind.update(&cx, &prior.id, &prior.attributes.unmarked(), config).await?;
        self.read_back(kind, &id, config).await
    }

    async fn delete(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<()> {
        let kind = self.kind(&ctx.type_name)?;
        let cx = self.cx(ctx);
        match kind.delete(&cx, &prior.id, &prior.attributes.unmarked()).await {
            Err(e) if crate::attrs::is_not_found(&e) => Ok(()),
            other => other,
        }
    }

    async fn import(&self, ctx: &OperationContext, id: &str) -> ProviderResult<Option<ObjectState>> {
        let kind = self.kind(&ctx.type_name)?;
        let item = ReadItem { id, prior: &Value::Null };
        let found = kind.read(&self.client, std::slice::from_ref(&item)).await.pop().unwrap_or(Ok(None))?;
        Ok(found.map(|attributes| object_state(id, attributes)))
    }

    /// ECS services (`resources::health`): their tasks' counts and
    /// deployments, and their targets' health in the load balancer. ECS
    /// task definitions, which a rollout's stable and canary versions also
    /// name: registered (ACTIVE) is healthy, anything else missing.
    async fn health(&self, ctx: &OperationContext, object: &ObjectState) -> ProviderResult<ObjectHealth> {
        let attributes = object.attributes.unmarked();
        match ctx.type_name.as_str() {
            "aws_ecs_service" => {
                crate::resources::health::ecs_service_health(&self.client, &object.id, &attributes).await
            }
            "aws_ecs_task_definition" => {
                crate::resources::health::task_definition_health(&self.client, &object.id).await
            }
            _ => Err(ProviderError {
                code: Some("HealthNotSupported".into()),
                message: format!(
                    "the aws provider tells the health of ECS services and task definitions only, not of `{}` ({})",
                    ctx.address, ctx.type_name
                ),
                retryable: false,
            }),
        }
    }
}

/// A KMS blob field (base64).
fn decode_blob(text: &str) -> ProviderResult<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| ProviderError::new(format!("KMS answered a blob that is not base64: {e}")))
}

/// The condition of an S3 write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S3Condition {
    None,
    /// `If-None-Match: *`.
    IfAbsent,
    /// `If-Match: <etag>`.
    IfMatch(String),
}

/// Why an S3 request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S3Error {
    /// The write's condition did not hold.
    PreconditionFailed,
    /// Anything else, as a sentence (with S3's code when it gave one).
    Other(String),
}

impl S3Error {
    fn from_provider(error: ProviderError) -> S3Error {
        match error.code {
            Some(code) => S3Error::Other(format!("{} ({code})", error.message)),
            None => S3Error::Other(error.message),
        }
    }

    fn of(answer: &crate::transport::RestAnswer) -> S3Error {
        let text = String::from_utf8_lossy(&answer.body);
        let (code, message) = crate::xml::error_code_and_message(&text);
        let message = if message.is_empty() { format!("HTTP {}", answer.status) } else { message };
        S3Error::Other(match code {
            Some(code) => format!("{message} ({code})"),
            None => message,
        })
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            S3Error::PreconditionFailed => f.write_str("the condition of the write did not hold"),
            S3Error::Other(message) => f.write_str(message),
        }
    }
}
