//! An in-memory cloud for planner tests: objects with a force-new `name`,
//! an updatable `size`, computed `id` and `arn`; objects can be changed or
//! deleted "out of band", and operations made to fail or to return
//! something other than planned.

use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::Type;
use stackc_model::Value;
use stackc_providers::{ObjectState, OperationContext, Provider, ProviderError, ProviderResult};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub const TYPE: &str = "fake_disk";
pub const TARGET: &str = "fake";

#[derive(Default)]
pub struct FakeCloud {
    pub objects: Mutex<BTreeMap<String, Value>>,
    next: AtomicU64,
    /// Addresses whose create or update fails.
    pub failing: Mutex<HashSet<String>>,
    /// Addresses whose create returns a `size` other than configured.
    pub inconsistent: Mutex<HashSet<String>>,
    /// Every call, in order: "create fake_disk.a".
    pub calls: Mutex<Vec<String>>,
    /// How long a create takes.
    pub delay: Mutex<Duration>,
    /// How long a create takes to answer after it made the object.
    pub answer_delay: Mutex<Duration>,
    /// The address each object was created for (its "ownership tag").
    pub owners: Mutex<BTreeMap<String, String>>,
}

impl FakeCloud {
    pub fn schema() -> ResourceSchema {
        ResourceSchema::new(TYPE, Some(TARGET))
            .attribute("name", AttributeSchema::new(Type::String, AttributeMode::Required).force_new())
            .attribute("size", AttributeSchema::new(Type::Number, AttributeMode::Optional))
            .attribute("secret", AttributeSchema::new(Type::String, AttributeMode::Optional).sensitive())
            .attribute("id", AttributeSchema::new(Type::String, AttributeMode::Computed))
            .attribute("arn", AttributeSchema::new(Type::String, AttributeMode::Computed))
    }

    fn attributes(config: &Value, id: &str) -> Value {
        let mut fields = config.as_object().cloned().unwrap_or_default();
        for name in ["size", "secret"] {
            fields.entry(name.to_string()).or_insert(Value::Null);
        }
        fields.insert("id".into(), Value::string(id));
        fields.insert("arn".into(), Value::string(format!("arn:fake:{id}")));
        Value::Object(fields)
    }

    pub fn count(&self) -> usize {
        self.objects.lock().unwrap().len()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn called(&self, what: &str, ctx: &OperationContext) {
        self.calls.lock().unwrap().push(format!("{what} {}", ctx.address));
    }
}

#[async_trait::async_trait]
impl Provider for FakeCloud {
    fn name(&self) -> &str {
        TARGET
    }

    fn schemas(&self) -> Vec<ResourceSchema> {
        vec![FakeCloud::schema()]
    }

    fn plan(
        &self,
        _ctx: &OperationContext,
        prior: Option<&ObjectState>,
        config: &Value,
    ) -> ProviderResult<Value> {
        if config.get_path(&["name"]).is_none_or(|n| matches!(n, Value::Null)) {
            return Err(ProviderError::new("fake_disk: `name` is required"));
        }
        let keep = prior.filter(|p| {
            p.attributes.get_path(&["name"]).map(Value::unmarked)
                == config.get_path(&["name"]).map(Value::unmarked)
        });
        let mut planned = FakeCloud::attributes(config, "");
        let fields = match &mut planned {
            Value::Object(fields) => fields,
            _ => unreachable!(),
        };
        match keep {
            Some(prior) => {
                fields.insert("id".into(), Value::string(prior.id.clone()));
                fields.insert(
                    "arn".into(),
                    prior.attributes.get_path(&["arn"]).cloned().unwrap_or(Value::Unknown),
                );
            }
            None => {
                fields.insert("id".into(), Value::Unknown);
                fields.insert("arn".into(), Value::Unknown);
            }
        }
        Ok(planned)
    }

    async fn read(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<Option<ObjectState>> {
        self.called("read", ctx);
        let objects = self.objects.lock().unwrap();
        Ok(objects.get(&prior.id).map(|a| ObjectState { id: prior.id.clone(), attributes: a.clone() }))
    }

    async fn create(&self, ctx: &OperationContext, config: &Value) -> ProviderResult<ObjectState> {
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.called("create", ctx);
        if self.failing.lock().unwrap().contains(ctx.address.as_str()) {
            return Err(ProviderError {
                code: Some("QuotaExceeded".into()),
                message: "no more disks".into(),
                retryable: false,
            });
        }
        let id = format!("d-{}", self.next.fetch_add(1, Ordering::SeqCst));
        let mut attributes = FakeCloud::attributes(config, &id);
        if self.inconsistent.lock().unwrap().contains(ctx.address.as_str()) {
            if let Value::Object(fields) = &mut attributes {
                fields.insert("size".into(), Value::Number(999.0));
            }
        }
        self.objects.lock().unwrap().insert(id.clone(), attributes.clone());
        self.owners.lock().unwrap().insert(id.clone(), ctx.address.0.clone());
        let answer_delay = *self.answer_delay.lock().unwrap();
        if !answer_delay.is_zero() {
            tokio::time::sleep(answer_delay).await;
        }
        Ok(ObjectState { id, attributes })
    }

    async fn find_created(
        &self,
        ctx: &OperationContext,
        _config: &Value,
    ) -> ProviderResult<Option<ObjectState>> {
        self.called("find", ctx);
        let owners = self.owners.lock().unwrap();
        let objects = self.objects.lock().unwrap();
        Ok(owners
            .iter()
            .find(|(id, address)| **address == ctx.address.0 && objects.contains_key(*id))
            .map(|(id, _)| ObjectState { id: id.clone(), attributes: objects[id].clone() }))
    }

    async fn update(
        &self,
        ctx: &OperationContext,
        prior: &ObjectState,
        config: &Value,
    ) -> ProviderResult<ObjectState> {
        self.called("update", ctx);
        if self.failing.lock().unwrap().contains(ctx.address.as_str()) {
            return Err(ProviderError::new("update refused"));
        }
        let attributes = FakeCloud::attributes(config, &prior.id);
        let mut objects = self.objects.lock().unwrap();
        if !objects.contains_key(&prior.id) {
            return Err(ProviderError::new(format!("{} does not exist", prior.id)));
        }
        objects.insert(prior.id.clone(), attributes.clone());
        Ok(ObjectState { id: prior.id.clone(), attributes })
    }

    async fn delete(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<()> {
        self.called("delete", ctx);
        self.objects.lock().unwrap().remove(&prior.id);
        Ok(())
    }

    async fn import(&self, ctx: &OperationContext, id: &str) -> ProviderResult<Option<ObjectState>> {
        self.called("import", ctx);
        let objects = self.objects.lock().unwrap();
        Ok(objects.get(id).map(|a| ObjectState { id: id.to_string(), attributes: a.clone() }))
    }
}
