//! The Provider trait: the only way the planner touches the outside world.
//!
//! A provider serves resource types of one target (or, for the built-in
//! provider, of none). It declares a schema per type and implements read,
//! create, update, delete and import. Invariant: the planner never calls a
//! provider except to carry out a plan the user could have reviewed.

pub mod target;

pub use target::Target;

use stackc_model::graph::ResourceAddress;
use stackc_model::schema::ResourceSchema;
use stackc_model::Value;

/// What a provider knows about one existing object.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectState {
    /// The provider's id of the object (`i-0abc...`, a Kubernetes uid, ...).
    pub id: String,
    /// All attributes, configured and computed (an object value).
    pub attributes: Value,
}

/// Context of an operation: who asks, for what.
#[derive(Clone, Debug)]
pub struct OperationContext {
    pub address: ResourceAddress,
    pub type_name: String,
    /// Stack name and target, for ownership tags.
    pub stack: String,
    pub target: Option<String>,
    /// For a create: a token unique to it, which the apply journal records
    /// (with the address and the configuration) *before* the create is
    /// sent, so that the object of a create whose process was killed can
    /// be found by the next run. Providers use it as the client token of
    /// APIs that take one. `None` outside an apply (import, tests).
    pub create_token: Option<String>,
}

/// A provider error, shown with the resource's provenance by the planner.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The API's error code (`InvalidParameterValue`) where there is one.
    pub code: Option<String>,
    pub message: String,
    /// True if retrying the same call later may succeed.
    pub retryable: bool,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> ProviderError {
        ProviderError { code: None, message: message.into(), retryable: false }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// How much of what it may use a running object uses now, for autoscaling:
/// each in percent (100 = all of it; more is possible for CPU without a
/// limit), `None` when the provider cannot tell (memory without a limit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResourceUsage {
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
}

/// What a rollout's gate needs to know of one running object
/// (`Provider::health`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHealth {
    pub status: HealthStatus,
    /// Why, for people: the last health-check output of a container, the
    /// events of a service, the reason a target is unhealthy.
    pub detail: Option<String>,
}

/// The health of a running object, as its platform reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// Running, and its health check (if it has one) passes.
    Healthy,
    /// Running, its health check has not decided yet.
    Starting,
    /// Running, and its health check fails (or it restarts).
    Unhealthy,
    /// Not running (stopped, exited, or gone).
    Missing,
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// `builtin`, `aws`, `kubernetes`, `local`.
    fn name(&self) -> &str;

    /// The schemas of every resource type this provider serves.
    fn schemas(&self) -> Vec<ResourceSchema>;

    /// The planned attributes for a create or update: `config` (the user's
    /// values, possibly with unknowns) plus what the provider can predict;
    /// computed attributes it cannot predict are `Value::Unknown`.
    fn plan(
        &self,
        ctx: &OperationContext,
        prior: Option<&ObjectState>,
        config: &Value,
    ) -> ProviderResult<Value>;

    /// The object as it is now, `None` if it no longer exists.
    async fn read(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<Option<ObjectState>>;

    /// Reads many objects at once; providers whose API can batch override it.
    async fn read_many(
        &self,
        items: &[(OperationContext, ObjectState)],
    ) -> Vec<ProviderResult<Option<ObjectState>>> {
        let mut results = Vec::with_capacity(items.len());
        for (ctx, prior) in items {
            results.push(self.read(ctx, prior).await);
        }
        results
    }

    async fn create(&self, ctx: &OperationContext, config: &Value) -> ProviderResult<ObjectState>;

    /// The object a create of `ctx.address` with `config` made, if any,
    /// when the process that sent that create was killed before recording
    /// its result (an open intent of the apply journal; `ctx.create_token`
    /// is the intent's). Reads only: the planner adopts what it finds into
    /// the state at that address, and the plan then updates, replaces or
    /// deletes it like any other object. A provider must return only an
    /// object that create could have made (for AWS: the whole ownership
    /// tag set, stack, target and address). The default, for providers
    /// whose objects exist only in the state (the built-in one), finds
    /// nothing.
    async fn find_created(
        &self,
        _ctx: &OperationContext,
        _config: &Value,
    ) -> ProviderResult<Option<ObjectState>> {
        Ok(None)
    }

    async fn update(
        &self,
        ctx: &OperationContext,
        prior: &ObjectState,
        config: &Value,
    ) -> ProviderResult<ObjectState>;

    async fn delete(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<()>;

    /// Reads an existing object by its provider id, to adopt it into state.
    async fn import(&self, ctx: &OperationContext, id: &str) -> ProviderResult<Option<ObjectState>>;

    /// The resource usage of the running object `object` (as the state
    /// records it), for the autoscaler (`stackc_planner::autoscale`); read
    /// only. `Ok(None)` when the object is not running. The default, for
    /// providers that cannot measure their objects (or whose platform
    /// autoscales itself: an HPA, Application Auto Scaling), says so.
    async fn usage(
        &self,
        ctx: &OperationContext,
        _object: &ObjectState,
    ) -> ProviderResult<Option<ResourceUsage>> {
        Err(ProviderError {
            code: Some("UsageNotSupported".into()),
            message: format!(
                "the {} provider cannot measure `{}` ({})",
                self.name(),
                ctx.address,
                ctx.type_name
            ),
            retryable: false,
        })
    }

    /// The health of the running object `object` (as the state records it),
    /// for a rollout's gate; read only. The default, for providers whose
    /// objects have no health of their own, says so.
    async fn health(&self, ctx: &OperationContext, _object: &ObjectState) -> ProviderResult<ObjectHealth> {
        Err(ProviderError {
            code: Some("HealthNotSupported".into()),
            message: format!(
                "the {} provider cannot tell the health of `{}` ({})",
                self.name(),
                ctx.address,
                ctx.type_name
            ),
            retryable: false,
        })
    }
}
