//! `time_sleep`: waits `create_duration` when created and
//! `destroy_duration` when deleted; its id is the creation time (RFC 3339).
//! Changing a duration is an update in place that does not sleep; changing
//! `triggers` replaces it (and so sleeps again). The waits are
//! `tokio::time::sleep` futures: dropping the operation (Ctrl-C) cancels
//! them at once.

use crate::support::{attributes, prior_attribute, rfc3339, same_object, Config, Field};
use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::Type;
use stackc_model::Value;
use stackc_providers::{ObjectState, ProviderError, ProviderResult};
use std::time::{Duration, SystemTime};

pub const TYPE: &str = "time_sleep";

pub fn schema() -> ResourceSchema {
    ResourceSchema::new(TYPE, None)
        .attribute("create_duration", AttributeSchema::new(Type::Duration, AttributeMode::Optional))
        .attribute("destroy_duration", AttributeSchema::new(Type::Duration, AttributeMode::Optional))
        .attribute(
            "triggers",
            AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Optional).force_new(),
        )
        .attribute("id", AttributeSchema::new(Type::String, AttributeMode::Computed))
}

fn read(config: &Config<'_>) -> ProviderResult<(Field<Duration>, Field<Duration>)> {
    config.map("triggers")?;
    Ok((config.duration("create_duration")?, config.duration("destroy_duration")?))
}

pub fn plan(
    schema: &ResourceSchema,
    prior: Option<&ObjectState>,
    config: &Config<'_>,
) -> ProviderResult<Value> {
    read(config)?;
    let keep = prior.is_some_and(|prior| same_object(schema, prior, config.fields));
    Ok(attributes(schema, config.fields, vec![("id", prior_attribute(prior, keep, "id"))]))
}

pub async fn create(schema: &ResourceSchema, config: &Config<'_>) -> ProviderResult<ObjectState> {
    let (create, _) = read(config)?;
    let wait = config.require_known("create_duration", create, Duration::ZERO)?;
    if config.value("triggers").has_unknown() {
        return Err(config.error("triggers", "is still unknown at apply time"));
    }
    tokio::time::sleep(wait).await;
    let id = rfc3339(SystemTime::now());
    Ok(ObjectState {
        id: id.clone(),
        attributes: attributes(schema, config.fields, vec![("id", Value::string(id))]),
    })
}

pub fn update(
    schema: &ResourceSchema,
    prior: &ObjectState,
    config: &Config<'_>,
) -> ProviderResult<ObjectState> {
    let (create, destroy) = read(config)?;
    config.require_known("create_duration", create, Duration::ZERO)?;
    config.require_known("destroy_duration", destroy, Duration::ZERO)?;
    if !same_object(schema, prior, config.fields) {
        return Err(ProviderError::new(
            "time_sleep: `triggers` changed, which cannot be done in place: the object must be replaced",
        ));
    }
    let id = Value::string(prior.id.clone());
    Ok(ObjectState { id: prior.id.clone(), attributes: attributes(schema, config.fields, vec![("id", id)]) })
}

pub async fn delete(prior: &ObjectState) -> ProviderResult<()> {
    let Value::Object(fields) = &prior.attributes else {
        return Err(ProviderError::new("time_sleep: the object in state has no attributes"));
    };
    let config = Config { type_name: TYPE, fields };
    let wait = config.duration("destroy_duration")?.or_default(Duration::ZERO).unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
    Ok(())
}

/// The import id is `CREATE_DURATION,DESTROY_DURATION` (either may be
/// empty), as in Terraform; the id becomes the import time.
pub fn import(schema: &ResourceSchema, id: &str) -> ProviderResult<Option<ObjectState>> {
    let (create, destroy) = id.split_once(',').ok_or_else(|| {
        ProviderError::new(format!(
            "time_sleep: the import id is `CREATE_DURATION,DESTROY_DURATION` (e.g. `30s,`), got {id:?}"
        ))
    })?;
    let mut fields = stackc_model::Fields::default();
    for (name, text) in [("create_duration", create), ("destroy_duration", destroy)] {
        if !text.is_empty() {
            crate::support::parse_duration(text)
                .map_err(|e| ProviderError::new(format!("time_sleep: `{name}` in the import id {e}")))?;
            fields.insert(name.to_string(), Value::string(text));
        }
    }
    let id = rfc3339(SystemTime::now());
    let id_value = Value::string(id.clone());
    Ok(Some(ObjectState { id, attributes: attributes(schema, &fields, vec![("id", id_value)]) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>())
    }

    #[tokio::test]
    async fn create_and_delete_wait_their_durations() {
        let schema = schema();
        let value = config(&[
            ("create_duration", Value::string("60ms")),
            ("destroy_duration", Value::string("0.04s")),
        ]);
        let start = std::time::Instant::now();
        let object = create(&schema, &Config::new(&schema, &value).unwrap()).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert!(object.id.ends_with('Z') && object.id.len() == 20, "{}", object.id);
        let start = std::time::Instant::now();
        delete(&object).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(40));
    }

    #[tokio::test]
    async fn dropping_the_operation_cancels_the_sleep() {
        let schema = schema();
        let value = config(&[("create_duration", Value::string("1h"))]);
        let config = Config::new(&schema, &value).unwrap();
        let outcome = tokio::time::timeout(Duration::from_millis(20), create(&schema, &config)).await;
        assert!(outcome.is_err(), "the create is still sleeping and is dropped");
    }

    #[test]
    fn bad_durations_name_the_attribute() {
        let schema = schema();
        let value = config(&[("destroy_duration", Value::string("ten seconds"))]);
        let error = plan(&schema, None, &Config::new(&schema, &value).unwrap()).unwrap_err();
        assert!(
            error.message.starts_with("time_sleep: `destroy_duration` is not a valid duration"),
            "{}",
            error.message
        );
    }

    #[test]
    fn duration_change_is_in_place_triggers_replace() {
        let schema = schema();
        let prior = ObjectState {
            id: "2026-01-01T00:00:00Z".into(),
            attributes: attributes(
                &schema,
                &stackc_model::Fields::from_iter([("create_duration".to_string(), Value::string("1s"))]),
                vec![("id", Value::string("2026-01-01T00:00:00Z"))],
            ),
        };
        let changed = config(&[("create_duration", Value::string("5s"))]);
        let planned = plan(&schema, Some(&prior), &Config::new(&schema, &changed).unwrap()).unwrap();
        assert_eq!(planned.get_path(&["id"]), Some(&Value::string("2026-01-01T00:00:00Z")));
        let updated = update(&schema, &prior, &Config::new(&schema, &changed).unwrap()).unwrap();
        assert_eq!(updated.id, prior.id);
        let triggered = config(&[("triggers", config(&[("v", Value::string("2"))]))]);
        let planned = plan(&schema, Some(&prior), &Config::new(&schema, &triggered).unwrap()).unwrap();
        assert_eq!(planned.get_path(&["id"]), Some(&Value::Unknown));
        assert!(update(&schema, &prior, &Config::new(&schema, &triggered).unwrap()).is_err());
    }

    #[test]
    fn import_by_durations() {
        let object = import(&schema(), "30s,").unwrap().unwrap();
        assert_eq!(object.attributes.get_path(&["create_duration"]), Some(&Value::string("30s")));
        assert_eq!(object.attributes.get_path(&["destroy_duration"]), Some(&Value::Null));
        assert!(import(&schema(), "30s").is_err());
        assert!(import(&schema(), "xx,").unwrap_err().message.contains("`create_duration`"));
    }
}
