//! The built-in provider: resource types that need no network and belong
//! to no target, so a stack can be planned and applied anywhere (and the
//! planner tested end to end without a cloud).
//!
//! - `stackc_data`: stores `input`, returns it as `output` (Terraform's
//!   `terraform_data`); `input` changes update in place, `triggers_replace`
//!   changes replace.
//! - `random_password`: a generated secret (`result`, sensitive), created
//!   once and kept in state; every setting forces a new one.
//! - `random_id`: random bytes as `hex`, `b64_url`, `b64_std`, `dec`.
//! - `time_sleep`: waits on create and delete (cancellable futures), for
//!   ordering and for tests of interruption.
//!
//! These objects exist only in stackc's state: `read` returns the stored
//! object as it is, `delete` forgets it (after `time_sleep`'s wait).
//! `plan` validates the configuration (errors start with the type and name
//! the attribute: ``random_password: `length` must be ...``), fills in
//! defaults, and predicts what it can: `output` = `input`, prior computed
//! values when the object is kept, `Value::Unknown` otherwise.
//!
//! Import ids: `random_password` takes the password itself (Terraform's
//! way); `random_id` its `id` (URL-safe base64, optionally `PREFIX,ID`);
//! `time_sleep` `CREATE_DURATION,DESTROY_DURATION`; `stackc_data` cannot be
//! imported (its input exists nowhere else) and says so.

mod data;
mod password;
mod random_id;
mod sleep;
mod support;

pub use support::{parse_duration, rfc3339, MAX_DURATION};

use stackc_model::schema::ResourceSchema;
use stackc_model::Value;
use stackc_providers::{ObjectState, OperationContext, Provider, ProviderError, ProviderResult};
use support::Config;

/// The provider's name, as [`Provider::name`] returns it.
pub const NAME: &str = "builtin";

/// The resource types served, in a fixed order.
pub const TYPE_NAMES: [&str; 4] = [data::TYPE, password::TYPE, random_id::TYPE, sleep::TYPE];

/// Schemas of every built-in resource type (all with `target: None`).
pub fn schemas() -> Vec<ResourceSchema> {
    vec![data::schema(), password::schema(), random_id::schema(), sleep::schema()]
}

/// The built-in provider. Cheap to build; holds only its schemas.
#[derive(Clone, Debug)]
pub struct BuiltinProvider {
    schemas: Vec<ResourceSchema>,
}

impl Default for BuiltinProvider {
    fn default() -> Self {
        BuiltinProvider::new()
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Data,
    Password,
    RandomId,
    Sleep,
}

impl BuiltinProvider {
    pub fn new() -> BuiltinProvider {
        BuiltinProvider { schemas: schemas() }
    }

    fn kind(&self, type_name: &str) -> ProviderResult<(Kind, &ResourceSchema)> {
        let kind = match type_name {
            data::TYPE => Kind::Data,
            password::TYPE => Kind::Password,
            random_id::TYPE => Kind::RandomId,
            sleep::TYPE => Kind::Sleep,
            other => {
                return Err(ProviderError::new(format!(
                    "the built-in provider has no resource type `{other}` (it serves {})",
                    TYPE_NAMES.join(", ")
                )))
            }
        };
        let schema = self.schemas.iter().find(|s| s.type_name == type_name).ok_or_else(|| {
            ProviderError::new(format!("the built-in provider lost the schema of `{type_name}`"))
        })?;
        Ok((kind, schema))
    }
}

#[async_trait::async_trait]
impl Provider for BuiltinProvider {
    fn name(&self) -> &str {
        NAME
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
        let (kind, schema) = self.kind(&ctx.type_name)?;
        let config = Config::new(schema, config)?;
        match kind {
            Kind::Data => data::plan(schema, prior, &config),
            Kind::Password => password::plan(schema, prior, &config),
            Kind::RandomId => random_id::plan(schema, prior, &config),
            Kind::Sleep => sleep::plan(schema, prior, &config),
        }
    }

    async fn read(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<Option<ObjectState>> {
        self.kind(&ctx.type_name)?;
        Ok(Some(prior.clone()))
    }

    async fn create(&self, ctx: &OperationContext, config: &Value) -> ProviderResult<ObjectState> {
        let (kind, schema) = self.kind(&ctx.type_name)?;
        let config = Config::new(schema, config)?;
        match kind {
            Kind::Data => data::create(schema, &config),
            Kind::Password => password::create(schema, &config),
            Kind::RandomId => random_id::create(schema, &config),
            Kind::Sleep => sleep::create(schema, &config).await,
        }
    }

    async fn update(
        &self,
        ctx: &OperationContext,
        prior: &ObjectState,
        config: &Value,
    ) -> ProviderResult<ObjectState> {
        let (kind, schema) = self.kind(&ctx.type_name)?;
        let config = Config::new(schema, config)?;
        match kind {
            Kind::Data => data::update(schema, prior, &config),
            Kind::Password => password::update(schema, prior, &config),
            Kind::RandomId => random_id::update(schema, prior, &config),
            Kind::Sleep => sleep::update(schema, prior, &config),
        }
    }

    async fn delete(&self, ctx: &OperationContext, prior: &ObjectState) -> ProviderResult<()> {
        match self.kind(&ctx.type_name)?.0 {
            Kind::Sleep => sleep::delete(prior).await,
            Kind::Data | Kind::Password | Kind::RandomId => Ok(()),
        }
    }

    async fn import(&self, ctx: &OperationContext, id: &str) -> ProviderResult<Option<ObjectState>> {
        let (kind, schema) = self.kind(&ctx.type_name)?;
        match kind {
            Kind::Data => data::import(id),
            Kind::Password => password::import(schema, id),
            Kind::RandomId => random_id::import(schema, id),
            Kind::Sleep => sleep::import(schema, id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_model::graph::ResourceAddress;

    fn ctx(type_name: &str) -> OperationContext {
        OperationContext {
            address: ResourceAddress(format!("{type_name}.x")),
            type_name: type_name.into(),
            stack: "test".into(),
            target: None,
            create_token: None,
        }
    }

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>())
    }

    #[test]
    fn schemas_cover_every_type() {
        let names: Vec<String> = schemas().into_iter().map(|s| s.type_name).collect();
        assert_eq!(names, TYPE_NAMES);
        assert!(schemas().iter().all(|s| s.target.is_none()));
        let password = &schemas()[1];
        assert!(password.attributes["result"].sensitive);
        assert!(password.attributes["length"].force_new);
    }

    #[tokio::test]
    async fn stackc_data_round_trip() {
        let provider = BuiltinProvider::new();
        let ctx = ctx("stackc_data");
        let config = object(&[("input", object(&[("a", Value::Number(1.0))]))]);
        let planned = provider.plan(&ctx, None, &config).unwrap();
        assert_eq!(planned.get_path(&["id"]), Some(&Value::Unknown));
        assert_eq!(planned.get_path(&["output", "a"]), Some(&Value::Number(1.0)));
        let created = provider.create(&ctx, &config).await.unwrap();
        assert_eq!(created.attributes.get_path(&["output"]), config.get_path(&["input"]));
        assert_eq!(created.attributes.get_path(&["id"]), Some(&Value::string(created.id.clone())));

        // Same config: the plan equals the object (no change).
        assert_eq!(provider.plan(&ctx, Some(&created), &config).unwrap(), created.attributes);
        // Input change: updated in place, same id.
        let changed = object(&[("input", Value::string("b"))]);
        let planned = provider.plan(&ctx, Some(&created), &changed).unwrap();
        assert_eq!(planned.get_path(&["id"]), Some(&Value::string(created.id.clone())));
        let updated = provider.update(&ctx, &created, &changed).await.unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.attributes.get_path(&["output"]), Some(&Value::string("b")));
        // Unknown input: output unknown where the input is.
        let partly = object(&[("input", object(&[("k", Value::Unknown), ("v", Value::Bool(true))]))]);
        let planned = provider.plan(&ctx, Some(&updated), &partly).unwrap();
        assert_eq!(planned.get_path(&["output", "k"]), Some(&Value::Unknown));
        assert_eq!(planned.get_path(&["output", "v"]), Some(&Value::Bool(true)));
        assert!(provider
            .create(&ctx, &partly)
            .await
            .unwrap_err()
            .message
            .contains("`input` is still unknown"));
        // triggers_replace change: a new id.
        let triggered = object(&[("input", Value::string("b")), ("triggers_replace", Value::Number(2.0))]);
        let planned = provider.plan(&ctx, Some(&updated), &triggered).unwrap();
        assert_eq!(planned.get_path(&["id"]), Some(&Value::Unknown));
        // Read returns the stored object; import is refused with a reason.
        assert_eq!(provider.read(&ctx, &updated).await.unwrap(), Some(updated.clone()));
        let error = provider.import(&ctx, "abc").await.unwrap_err();
        assert!(error.message.contains("cannot be imported"), "{}", error.message);
    }

    #[tokio::test]
    async fn sensitive_input_stays_sensitive() {
        let provider = BuiltinProvider::new();
        let config = object(&[("input", Value::string("s3cret").into_sensitive())]);
        let created = provider.create(&ctx("stackc_data"), &config).await.unwrap();
        assert!(matches!(created.attributes.get_path(&["output"]), Some(Value::Sensitive(_))));
    }

    #[tokio::test]
    async fn random_password_is_kept_until_a_setting_changes() {
        let provider = BuiltinProvider::new();
        let ctx = ctx("random_password");
        let config = object(&[("length", Value::Number(32.0)), ("special", Value::Bool(false))]);
        let created = provider.create(&ctx, &config).await.unwrap();
        let result = created.attributes.get_path(&["result"]).unwrap();
        assert!(matches!(result, Value::Sensitive(_)));
        let password = result.as_str().unwrap();
        assert_eq!(password.len(), 32);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(created.attributes.get_path(&["upper"]), Some(&Value::Bool(true)));
        // The plan with the same settings keeps the password.
        assert_eq!(provider.plan(&ctx, Some(&created), &config).unwrap(), created.attributes);
        // A keeper change gives a new (unknown) one.
        let kept = object(&[
            ("length", Value::Number(32.0)),
            ("special", Value::Bool(false)),
            ("keepers", object(&[("v", Value::string("2"))])),
        ]);
        let planned = provider.plan(&ctx, Some(&created), &kept).unwrap();
        assert_eq!(planned.get_path(&["result"]), Some(&Value::Unknown.into_sensitive()));
        // Two passwords differ.
        let other = provider.create(&ctx, &config).await.unwrap();
        assert_ne!(other.attributes.get_path(&["result"]), created.attributes.get_path(&["result"]));
    }

    #[tokio::test]
    async fn random_password_import_by_value() {
        let provider = BuiltinProvider::new();
        let ctx = ctx("random_password");
        let imported = provider.import(&ctx, "correct horse").await.unwrap().unwrap();
        assert_eq!(
            imported.attributes.get_path(&["result"]),
            Some(&Value::string("correct horse").into_sensitive())
        );
        assert_eq!(imported.attributes.get_path(&["length"]), Some(&Value::Number(13.0)));
        assert!(!imported.id.contains("horse"));
        // A configuration with the imported settings keeps it.
        let config = object(&[("length", Value::Number(13.0))]);
        assert_eq!(provider.plan(&ctx, Some(&imported), &config).unwrap(), imported.attributes);
    }

    #[tokio::test]
    async fn unknown_type_and_attribute_are_errors() {
        let provider = BuiltinProvider::new();
        let error = provider.plan(&ctx("random_string"), None, &Value::Null).unwrap_err();
        assert!(error.message.contains("no resource type `random_string`"));
        let error =
            provider.plan(&ctx("stackc_data"), None, &object(&[("id", Value::string("x"))])).unwrap_err();
        assert!(error.message.contains("`id` is not an attribute that can be set"), "{}", error.message);
    }
}
