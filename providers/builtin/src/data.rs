//! `stackc_data`: stores its `input` and returns it as `output`, with a
//! random id; the equivalent of Terraform's `terraform_data`. A change of
//! `input` is an update in place; a change of `triggers_replace` replaces it.

use crate::support::{attributes, prior_attribute, random_uuid, same_object, Config, OsRandom};
use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::Type;
use stackc_model::Value;
use stackc_providers::{ObjectState, ProviderError, ProviderResult};

pub const TYPE: &str = "stackc_data";

pub fn schema() -> ResourceSchema {
    ResourceSchema::new(TYPE, None)
        .attribute("input", AttributeSchema::new(Type::Any, AttributeMode::Optional))
        .attribute("triggers_replace", AttributeSchema::new(Type::Any, AttributeMode::Optional).force_new())
        .attribute("id", AttributeSchema::new(Type::String, AttributeMode::Computed))
        .attribute("output", AttributeSchema::new(Type::Any, AttributeMode::Computed))
}

pub fn plan(
    schema: &ResourceSchema,
    prior: Option<&ObjectState>,
    config: &Config<'_>,
) -> ProviderResult<Value> {
    let keep = prior.is_some_and(|prior| same_object(schema, prior, config.fields));
    Ok(attributes(
        schema,
        config.fields,
        vec![("id", prior_attribute(prior, keep, "id")), ("output", config.value("input").clone())],
    ))
}

pub fn create(schema: &ResourceSchema, config: &Config<'_>) -> ProviderResult<ObjectState> {
    known_input(config)?;
    let id = random_uuid(&mut OsRandom)?;
    let attributes = attributes(
        schema,
        config.fields,
        vec![("id", Value::string(id.clone())), ("output", config.value("input").clone())],
    );
    Ok(ObjectState { id, attributes })
}

pub fn update(
    schema: &ResourceSchema,
    prior: &ObjectState,
    config: &Config<'_>,
) -> ProviderResult<ObjectState> {
    known_input(config)?;
    if !same_object(schema, prior, config.fields) {
        return Err(ProviderError::new(
            "stackc_data: `triggers_replace` changed, which cannot be done in place: the object must be replaced",
        ));
    }
    let attributes = attributes(
        schema,
        config.fields,
        vec![("id", Value::string(prior.id.clone())), ("output", config.value("input").clone())],
    );
    Ok(ObjectState { id: prior.id.clone(), attributes })
}

pub fn import(id: &str) -> ProviderResult<Option<ObjectState>> {
    Err(ProviderError::new(format!(
        "stackc_data cannot be imported (id {id:?}): its `input` lives only in stackc's state, so an id \
         alone cannot recover it; remove the import and let `stackc apply` create the resource"
    )))
}

fn known_input(config: &Config<'_>) -> ProviderResult<()> {
    for name in ["input", "triggers_replace"] {
        if config.value(name).has_unknown() {
            return Err(config.error(name, "is still unknown at apply time"));
        }
    }
    Ok(())
}
