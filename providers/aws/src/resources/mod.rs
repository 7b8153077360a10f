//! One implementation per resource type, grouped by AWS service.
//!
//! A kind creates an object and returns its id; the provider then reads it
//! back (retrying a NotFound for a while: AWS is eventually consistent), so
//! every state comes from one read path. Reads take many objects at once
//! so a refresh makes one Describe call per type where the API allows.

use crate::transport::AwsClient;
use stackc_model::Value;
use stackc_providers::{OperationContext, ProviderResult};
use std::time::Duration;

pub mod autoscaling;
pub mod ec2;
pub mod ecs;
pub mod elb;
pub mod health;
pub mod iam;
pub mod secrets;
pub mod ssm;

/// What a kind needs for one operation.
pub struct Cx<'a> {
    pub client: &'a AwsClient,
    pub op: &'a OperationContext,
    pub waits: &'a WaitPolicy,
}

/// How long and how often waiters poll.
#[derive(Clone, Debug)]
pub struct WaitPolicy {
    pub timeout: Duration,
    /// The longest a delete waits for objects that still use the one being
    /// deleted (DependencyViolation) to go away; sooner, when the same
    /// objects, none of them on its way out, block it poll after poll.
    pub dependency_timeout: Duration,
    pub first_interval: Duration,
    pub max_interval: Duration,
}

impl Default for WaitPolicy {
    fn default() -> WaitPolicy {
        WaitPolicy {
            timeout: Duration::from_secs(600),
            dependency_timeout: Duration::from_secs(180),
            first_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(10),
        }
    }
}

/// One object to read: its id and the attributes it had (`Value::Null` on
/// import, when the read reports everything it can).
pub struct ReadItem<'a> {
    pub id: &'a str,
    pub prior: &'a Value,
}

#[async_trait::async_trait]
pub trait ResourceKind: Send + Sync {
    fn type_name(&self) -> &'static str;

    /// Whether create gives the object the ownership tags (`stackc:*`,
    /// [`crate::attrs::creation_tags`]), which its reads then report in
    /// `tags`, so plans show them. False for the types AWS keeps no tags on
    /// (associations, attachments, secret versions, scaling targets and
    /// policies), whose `tags` is what was configured.
    fn takes_tags(&self) -> bool {
        true
    }

    /// Creates the object, waiting until it is usable; returns its id.
    async fn create(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<String>;

    /// After a create whose outcome is unknown (a lost response, or a
    /// process killed after sending it): the id of the object that create
    /// made, if any. Reads only. An object qualifies when it carries the
    /// operation's whole ownership tag set ([`crate::attrs::owned_by`]:
    /// stack, target, address) and sits where the configuration puts it
    /// (its VPC, subnet, zone), or, for the few untaggable kinds, when its
    /// natural key is the configuration's.
    async fn find_created(&self, _cx: &Cx<'_>, _config: &Value) -> ProviderResult<Option<String>> {
        Ok(None)
    }

    /// Does what the create would have done after its first request
    /// (attributes, rules, routes, waiting until usable) to an object
    /// [`ResourceKind::find_created`] found.
    async fn finish_created(&self, _cx: &Cx<'_>, _id: &str, _config: &Value) -> ProviderResult<()> {
        Ok(())
    }

    /// [`ResourceKind::find_created`], then [`ResourceKind::finish_created`]:
    /// the object a lost create made, made whole.
    async fn recover_created(&self, cx: &Cx<'_>, config: &Value) -> ProviderResult<Option<String>> {
        let Some(id) = self.find_created(cx, config).await? else { return Ok(None) };
        self.finish_created(cx, &id, config).await?;
        Ok(Some(id))
    }

    /// The attributes (with `id`) of each object, `None` where it is gone.
    async fn read(&self, client: &AwsClient, items: &[ReadItem<'_>]) -> Vec<ProviderResult<Option<Value>>>;

    /// Changes the object in place; returns its id (which some APIs change).
    async fn update(&self, cx: &Cx<'_>, id: &str, prior: &Value, config: &Value) -> ProviderResult<String>;

    /// Deletes the object; an object already gone is not an error.
    async fn delete(&self, cx: &Cx<'_>, id: &str, prior: &Value) -> ProviderResult<()>;

    /// Rewrites configured values that mean the same as the prior ones but
    /// are written differently (JSON documents) to the prior's text, before
    /// the plan compares them.
    fn normalize(&self, _prior: &Value, _config: &mut stackc_model::Fields) {}

    /// Predictable computed attributes for a plan (`planned` starts as the
    /// configuration with schema-driven unknowns filled in).
    fn plan(&self, _prior: Option<&Value>, _config: &Value, _planned: &mut stackc_model::Fields) {}
}

/// Every kind this provider serves.
pub fn kinds() -> Vec<Box<dyn ResourceKind>> {
    let mut kinds: Vec<Box<dyn ResourceKind>> = Vec::new();
    kinds.extend(ec2::kinds());
    kinds.extend(elb::kinds());
    kinds.extend(ecs::kinds());
    kinds.extend(iam::kinds());
    kinds.extend(ssm::kinds());
    kinds.extend(secrets::kinds());
    kinds.extend(autoscaling::kinds());
    kinds
}

/// Polls `check` until it returns `Some`, with growing intervals, bounded by
/// the policy's timeout.
pub async fn wait_for<T, F, Fut>(waits: &WaitPolicy, what: &str, mut check: F) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<Option<T>>>,
{
    let start = tokio::time::Instant::now();
    let mut interval = waits.first_interval;
    loop {
        if let Some(done) = check().await? {
            return Ok(done);
        }
        if start.elapsed() >= waits.timeout {
            return Err(stackc_providers::ProviderError {
                code: Some("WaiterTimeout".into()),
                message: format!("gave up waiting for {what} after {:?}", waits.timeout),
                retryable: true,
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(waits.max_interval);
    }
}

/// Splits ids into chunks an API accepts in one call.
pub fn chunks<T>(items: &[T], size: usize) -> impl Iterator<Item = &[T]> {
    items.chunks(size.max(1))
}
