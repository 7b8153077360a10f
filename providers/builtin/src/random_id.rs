//! `random_id`: random bytes, created once and kept in state, shown as hex,
//! URL-safe and standard base64, and decimal (each with the optional
//! `prefix`); the id is the unprefixed URL-safe base64, as in Terraform.

use crate::support::{attributes, prior_attribute, same_object, Config, Field, OsRandom, RandomSource};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::Type;
use stackc_model::Value;
use stackc_providers::{ObjectState, ProviderError, ProviderResult};

pub const TYPE: &str = "random_id";

/// The most bytes generated.
pub const MAX_BYTES: u64 = 4096;

const COMPUTED: [&str; 5] = ["hex", "b64_url", "b64_std", "dec", "id"];

pub fn schema() -> ResourceSchema {
    let computed = || AttributeSchema::new(Type::String, AttributeMode::Computed);
    ResourceSchema::new(TYPE, None)
        .attribute("byte_length", AttributeSchema::new(Type::Number, AttributeMode::Required).force_new())
        .attribute("prefix", AttributeSchema::new(Type::String, AttributeMode::Optional).force_new())
        .attribute(
            "keepers",
            AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Optional).force_new(),
        )
        .attribute("hex", computed())
        .attribute("b64_url", computed())
        .attribute("b64_std", computed())
        .attribute("dec", computed())
        .attribute("id", computed())
}

fn read<'a>(config: &Config<'a>) -> ProviderResult<(Field<u64>, Field<&'a str>)> {
    let length = config.whole("byte_length", 1, MAX_BYTES)?;
    if length == Field::Absent {
        return Err(config.error("byte_length", "is required"));
    }
    config.map("keepers")?;
    Ok((length, config.string("prefix")?))
}

pub fn plan(
    schema: &ResourceSchema,
    prior: Option<&ObjectState>,
    config: &Config<'_>,
) -> ProviderResult<Value> {
    read(config)?;
    let keep = prior.is_some_and(|prior| same_object(schema, prior, config.fields));
    let computed = COMPUTED.iter().map(|name| (*name, prior_attribute(prior, keep, name))).collect();
    Ok(attributes(schema, config.fields, computed))
}

pub fn create(schema: &ResourceSchema, config: &Config<'_>) -> ProviderResult<ObjectState> {
    let (length, prefix) = read(config)?;
    let length = config.require_known("byte_length", length, 0)?;
    let prefix = config.require_known("prefix", prefix, "")?;
    if config.value("keepers").has_unknown() {
        return Err(config.error("keepers", "is still unknown at apply time"));
    }
    let mut bytes = vec![0u8; length as usize];
    OsRandom.fill(&mut bytes)?;
    Ok(object(schema, config.fields, prefix, &bytes))
}

/// Every setting forces new bytes: an update only re-records equal settings.
pub fn update(
    schema: &ResourceSchema,
    prior: &ObjectState,
    config: &Config<'_>,
) -> ProviderResult<ObjectState> {
    read(config)?;
    if !same_object(schema, prior, config.fields) {
        return Err(ProviderError::new(
            "random_id: its settings changed, which cannot be done in place: new bytes must be generated",
        ));
    }
    Ok(prior.clone())
}

/// The import id is the URL-safe base64 of the bytes (the `id` attribute),
/// optionally preceded by `PREFIX,`.
pub fn import(schema: &ResourceSchema, id: &str) -> ProviderResult<Option<ObjectState>> {
    let (prefix, encoded) = id.rsplit_once(',').unwrap_or(("", id));
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|e| {
        ProviderError::new(format!(
            "random_id: the import id must be the URL-safe base64 `id` (optionally `PREFIX,ID`): {e}"
        ))
    })?;
    if bytes.is_empty() || bytes.len() as u64 > MAX_BYTES {
        return Err(ProviderError::new(format!(
            "random_id: the import id must decode to 1 to {MAX_BYTES} bytes"
        )));
    }
    let mut fields = stackc_model::Fields::default();
    fields.insert("byte_length".to_string(), Value::Number(bytes.len() as f64));
    if !prefix.is_empty() {
        fields.insert("prefix".to_string(), Value::string(prefix));
    }
    Ok(Some(object(schema, &fields, prefix, &bytes)))
}

fn object(schema: &ResourceSchema, fields: &stackc_model::Fields, prefix: &str, bytes: &[u8]) -> ObjectState {
    let id = URL_SAFE_NO_PAD.encode(bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let computed = vec![
        ("hex", Value::string(format!("{prefix}{hex}"))),
        ("b64_url", Value::string(format!("{prefix}{id}"))),
        ("b64_std", Value::string(format!("{prefix}{}", STANDARD.encode(bytes)))),
        ("dec", Value::string(format!("{prefix}{}", decimal(bytes)))),
        ("id", Value::string(id.clone())),
    ];
    ObjectState { id, attributes: attributes(schema, fields, computed) }
}

/// The big-endian unsigned integer of `bytes` in decimal.
pub fn decimal(bytes: &[u8]) -> String {
    // Base 10^9 limbs, least significant first.
    let mut limbs: Vec<u32> = vec![0];
    for &byte in bytes {
        let mut carry = u64::from(byte);
        for limb in &mut limbs {
            let v = u64::from(*limb) * 256 + carry;
            *limb = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    let mut text = limbs.last().map(u32::to_string).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        text.push_str(&format!("{limb:09}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>())
    }

    #[test]
    fn decimal_of_bytes() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0, 0]), "0");
        assert_eq!(decimal(&[1, 0]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
        assert_eq!(decimal(&[0xff; 16]), u128::MAX.to_string());
    }

    #[test]
    fn encodings_agree() {
        let schema = schema();
        let value = config(&[("byte_length", Value::Number(8.0)), ("prefix", Value::string("p-"))]);
        let object = create(&schema, &Config::new(&schema, &value).unwrap()).unwrap();
        let get =
            |name: &str| object.attributes.get_path(&[name]).and_then(Value::as_str).unwrap().to_string();
        let bytes = URL_SAFE_NO_PAD.decode(&object.id).unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(get("id"), object.id);
        assert_eq!(get("b64_url"), format!("p-{}", object.id));
        assert_eq!(get("b64_std"), format!("p-{}", STANDARD.encode(&bytes)));
        assert_eq!(get("hex").len(), 2 + 16);
        let number = u64::from_be_bytes(bytes.clone().try_into().unwrap());
        assert_eq!(get("dec"), format!("p-{number}"));
        // Import by the id gives back the same encodings.
        let imported = import(&schema, &format!("p-,{}", object.id)).unwrap().unwrap();
        assert_eq!(imported.attributes, object.attributes);
    }

    #[test]
    fn validation_and_import_errors() {
        let schema = schema();
        let error =
            |value: Value| plan(&schema, None, &Config::new(&schema, &value).unwrap()).unwrap_err().message;
        assert!(error(config(&[])).contains("`byte_length` is required"));
        assert!(error(config(&[("byte_length", Value::Number(0.0))]))
            .contains("`byte_length` must be a whole number"));
        assert!(error(config(&[("byte_length", Value::Number(4.0)), ("keepers", Value::string("x"))]))
            .contains("`keepers` must be a map"));
        assert!(import(&schema, "not base64!").unwrap_err().message.contains("URL-safe base64"));
    }
}
