//! `random_password`: a generated secret, created once and kept in state.
//!
//! Every setting forces a new password, so the object is never updated in
//! place. Characters are drawn with the OS generator by rejection sampling
//! (no modulo bias): first `min_*` characters of each class, then the rest
//! from every enabled class, then a Fisher-Yates shuffle.

use crate::support::{attributes, prior_attribute, same_object, Config, Field, OsRandom, RandomSource};
use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::Type;
use stackc_model::Value;
use stackc_providers::{ObjectState, ProviderError, ProviderResult};

pub const TYPE: &str = "random_password";

/// The longest password generated.
pub const MAX_LENGTH: u64 = 65_536;

/// The special characters used unless `override_special` is set.
pub const DEFAULT_SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC: &str = "0123456789";

/// The character classes: (switch, minimum count, default characters).
const CLASSES: [(&str, &str, &str); 4] = [
    ("lower", "min_lower", LOWER),
    ("upper", "min_upper", UPPER),
    ("numeric", "min_numeric", NUMERIC),
    ("special", "min_special", DEFAULT_SPECIAL),
];

pub fn schema() -> ResourceSchema {
    let flag = || AttributeSchema::new(Type::Bool, AttributeMode::OptionalComputed).force_new();
    let minimum = || AttributeSchema::new(Type::Number, AttributeMode::OptionalComputed).force_new();
    ResourceSchema::new(TYPE, None)
        .attribute("length", AttributeSchema::new(Type::Number, AttributeMode::Required).force_new())
        .attribute("special", flag())
        .attribute("upper", flag())
        .attribute("lower", flag())
        .attribute("numeric", flag())
        .attribute(
            "override_special",
            AttributeSchema::new(Type::String, AttributeMode::Optional).force_new(),
        )
        .attribute("min_lower", minimum())
        .attribute("min_upper", minimum())
        .attribute("min_numeric", minimum())
        .attribute("min_special", minimum())
        .attribute(
            "keepers",
            AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Optional).force_new(),
        )
        .attribute("result", AttributeSchema::new(Type::String, AttributeMode::Computed).sensitive())
        .attribute("id", AttributeSchema::new(Type::String, AttributeMode::Computed))
}

/// The validated settings; `None` fields are unknown until apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub length: Option<u64>,
    /// Per class in [`CLASSES`] order: enabled, minimum count.
    pub classes: [(Option<bool>, Option<u64>); 4],
    /// `None`: unknown; `Some(None)`: the default set.
    pub override_special: Option<Option<String>>,
}

impl Settings {
    pub fn read(config: &Config<'_>) -> ProviderResult<Settings> {
        let length = match config.whole("length", 1, MAX_LENGTH)? {
            Field::Absent => return Err(config.error("length", "is required")),
            Field::Unknown => None,
            Field::Known(n) => Some(n),
        };
        let mut classes = [(None, None); 4];
        for (slot, (flag, minimum, _)) in classes.iter_mut().zip(CLASSES) {
            *slot =
                (config.bool(flag)?.or_default(true), config.whole(minimum, 0, MAX_LENGTH)?.or_default(0));
        }
        let override_special = match config.string("override_special")? {
            Field::Absent => Some(None),
            Field::Unknown => None,
            Field::Known(s) => Some(Some(s.to_string())),
        };
        let settings = Settings { length, classes, override_special };
        settings.check(config)?;
        Ok(settings)
    }

    /// Cross-attribute rules, on what is known.
    fn check(&self, config: &Config<'_>) -> ProviderResult<()> {
        for ((enabled, minimum), (flag, min_name, _)) in self.classes.iter().zip(CLASSES) {
            if *enabled == Some(false) && minimum.is_some_and(|m| m > 0) {
                return Err(config.error(min_name, format!("is above 0 but `{flag}` is false")));
            }
        }
        let empty_special = matches!(&self.override_special, Some(Some(set)) if set.is_empty());
        let usable =
            |index: usize, enabled: Option<bool>| enabled != Some(false) && !(index == 3 && empty_special);
        if !self.classes.iter().enumerate().any(|(index, (enabled, _))| usable(index, *enabled)) {
            return Err(config
                .error("special", "and `upper`, `lower`, `numeric` are all false: no character is allowed"));
        }
        if let Some(Some(special)) = &self.override_special {
            let (enabled, minimum) = self.classes[3];
            if special.is_empty() && minimum.is_some_and(|m| m > 0) && enabled == Some(true) {
                return Err(config.error("min_special", "is above 0 but `override_special` is empty"));
            }
        }
        let minimums: Option<u64> = self.classes.iter().map(|(_, m)| *m).sum();
        if let (Some(length), Some(minimums)) = (self.length, minimums) {
            if minimums > length {
                return Err(config.error(
                    "length",
                    format!("is {length}, less than the sum of the `min_*` counts ({minimums})"),
                ));
            }
        }
        Ok(())
    }

    /// The configured attributes with defaults filled in (unknowns kept).
    fn planned_fields(&self, config: &Config<'_>) -> stackc_model::Fields {
        let mut fields = config.fields.clone();
        for ((enabled, minimum), (flag, min_name, _)) in self.classes.iter().zip(CLASSES) {
            if let Some(enabled) = enabled {
                fields.insert(flag.to_string(), Value::Bool(*enabled));
            }
            if let Some(minimum) = minimum {
                fields.insert(min_name.to_string(), Value::Number(*minimum as f64));
            }
        }
        fields
    }

    /// Generates a password; every setting must be known.
    pub fn generate(&self, random: &mut dyn RandomSource) -> ProviderResult<String> {
        let unknown = || ProviderError::new("random_password: a setting is still unknown at apply time");
        let length = self.length.ok_or_else(unknown)? as usize;
        let special_set = match &self.override_special {
            None => return Err(unknown()),
            Some(None) => DEFAULT_SPECIAL.to_string(),
            Some(Some(set)) => set.clone(),
        };
        let mut pool: Vec<char> = Vec::new();
        let mut password: Vec<char> = Vec::with_capacity(length);
        for (index, ((enabled, minimum), (_, _, chars))) in self.classes.iter().zip(CLASSES).enumerate() {
            let enabled = enabled.ok_or_else(unknown)?;
            let minimum = minimum.ok_or_else(unknown)?;
            if !enabled {
                continue;
            }
            let mut class: Vec<char> =
                if index == 3 { special_set.chars().collect() } else { chars.chars().collect() };
            class.sort_unstable();
            class.dedup();
            for _ in 0..minimum {
                password.push(pick(&class, random)?);
            }
            pool.extend(class);
        }
        pool.sort_unstable();
        pool.dedup();
        if pool.is_empty() {
            return Err(ProviderError::new("random_password: no character is allowed by the settings"));
        }
        while password.len() < length {
            password.push(pick(&pool, random)?);
        }
        for i in (1..password.len()).rev() {
            let j = random.below(u32::try_from(i + 1).unwrap_or(u32::MAX))? as usize;
            password.swap(i, j);
        }
        Ok(password.into_iter().collect())
    }
}

fn pick(chars: &[char], random: &mut dyn RandomSource) -> ProviderResult<char> {
    let bound = u32::try_from(chars.len())
        .map_err(|_| ProviderError::new("random_password: character set too large"))?;
    Ok(chars[random.below(bound)? as usize])
}

fn random_hex_id(random: &mut dyn RandomSource) -> ProviderResult<String> {
    let mut bytes = [0u8; 8];
    random.fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn plan(
    schema: &ResourceSchema,
    prior: Option<&ObjectState>,
    config: &Config<'_>,
) -> ProviderResult<Value> {
    let settings = Settings::read(config)?;
    let fields = settings.planned_fields(config);
    let keep = prior.is_some_and(|prior| same_object(schema, prior, &fields));
    let result = match prior_attribute(prior, keep, "result") {
        Value::Unknown => Value::Unknown.into_sensitive(),
        known => known.into_sensitive(),
    };
    Ok(attributes(schema, &fields, vec![("result", result), ("id", prior_attribute(prior, keep, "id"))]))
}

pub fn create(schema: &ResourceSchema, config: &Config<'_>) -> ProviderResult<ObjectState> {
    let settings = Settings::read(config)?;
    let fields = settings.planned_fields(config);
    if let Some((name, _)) = fields.iter().find(|(_, v)| v.has_unknown()) {
        return Err(config.error(name, "is still unknown at apply time"));
    }
    let password = settings.generate(&mut OsRandom)?;
    let id = random_hex_id(&mut OsRandom)?;
    let attributes = attributes(
        schema,
        &fields,
        vec![("result", Value::string(password).into_sensitive()), ("id", Value::string(id.clone()))],
    );
    Ok(ObjectState { id, attributes })
}

/// Every setting forces a new password: an update only re-records equal
/// settings (a `keepers` value with the same meaning, say).
pub fn update(
    schema: &ResourceSchema,
    prior: &ObjectState,
    config: &Config<'_>,
) -> ProviderResult<ObjectState> {
    let settings = Settings::read(config)?;
    let fields = settings.planned_fields(config);
    if !same_object(schema, prior, &fields) {
        return Err(ProviderError::new(
            "random_password: its settings changed, which cannot be done in place: the password must be replaced",
        ));
    }
    Ok(prior.clone())
}

/// Terraform's way: the import id is the password itself. `length` is its
/// length in characters, every class is enabled and every minimum is 0, so
/// a configuration with other settings plans a replacement.
pub fn import(schema: &ResourceSchema, value: &str) -> ProviderResult<Option<ObjectState>> {
    if value.is_empty() {
        return Err(ProviderError::new(
            "random_password: the import id is the password itself, and it is empty",
        ));
    }
    let mut fields = stackc_model::Fields::default();
    fields.insert("length".to_string(), Value::Number(value.chars().count() as f64));
    for (flag, minimum, _) in CLASSES {
        fields.insert(flag.to_string(), Value::Bool(true));
        fields.insert(minimum.to_string(), Value::Number(0.0));
    }
    let id = random_hex_id(&mut OsRandom)?;
    let attributes = attributes(
        schema,
        &fields,
        vec![("result", Value::string(value).into_sensitive()), ("id", Value::string(id.clone()))],
    );
    Ok(Some(ObjectState { id, attributes }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::tests::Script;

    fn settings(pairs: &[(&str, Value)]) -> ProviderResult<Settings> {
        let fields: stackc_model::Fields = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let schema = schema();
        let config = Value::Object(fields);
        Settings::read(&Config::new(&schema, &config)?)
    }

    fn generate(pairs: &[(&str, Value)]) -> String {
        settings(pairs).unwrap().generate(&mut OsRandom).unwrap()
    }

    #[test]
    fn length_and_default_classes() {
        for length in [1, 4, 32, 200] {
            let password = generate(&[("length", Value::Number(length as f64))]);
            assert_eq!(password.chars().count(), length);
            let allowed = format!("{LOWER}{UPPER}{NUMERIC}{DEFAULT_SPECIAL}");
            assert!(password.chars().all(|c| allowed.contains(c)), "{password}");
        }
        // Over many long passwords every class appears.
        let password = generate(&[("length", Value::Number(2000.0))]);
        for set in [LOWER, UPPER, NUMERIC, DEFAULT_SPECIAL] {
            assert!(password.chars().any(|c| set.contains(c)), "no char of {set}");
        }
    }

    #[test]
    fn disabled_classes_never_appear() {
        let password = generate(&[
            ("length", Value::Number(500.0)),
            ("special", Value::Bool(false)),
            ("upper", Value::Bool(false)),
        ]);
        assert!(password.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{password}");
    }

    #[test]
    fn override_special_and_minimums() {
        for _ in 0..50 {
            let password = generate(&[
                ("length", Value::Number(6.0)),
                ("override_special", Value::string("~")),
                ("min_special", Value::Number(2.0)),
                ("min_upper", Value::Number(3.0)),
            ]);
            assert!(password.chars().filter(|c| *c == '~').count() >= 2, "{password}");
            assert!(password.chars().filter(char::is_ascii_uppercase).count() >= 3, "{password}");
            assert!(password.chars().all(|c| c == '~' || c.is_ascii_alphanumeric()), "{password}");
        }
    }

    #[test]
    fn characters_are_uniform_over_the_pool() {
        // 10 digits only: each expected 10% of 50_000.
        let password = generate(&[
            ("length", Value::Number(50_000.0)),
            ("special", Value::Bool(false)),
            ("upper", Value::Bool(false)),
            ("lower", Value::Bool(false)),
        ]);
        for digit in NUMERIC.chars() {
            let count = password.chars().filter(|c| *c == digit).count();
            assert!((4_600..5_400).contains(&count), "{digit}: {count}");
        }
    }

    #[test]
    fn generation_uses_rejection_sampling() {
        // Pool of 10 digits, length 1: draws above the zone are skipped and
        // the shuffle of one character draws nothing.
        let settings = settings(&[
            ("length", Value::Number(1.0)),
            ("special", Value::Bool(false)),
            ("upper", Value::Bool(false)),
            ("lower", Value::Bool(false)),
        ])
        .unwrap();
        let mut script = Script(vec![u32::MAX, 13], 0);
        assert_eq!(settings.generate(&mut script).unwrap(), "3");
        assert_eq!(script.1, 2);
    }

    #[test]
    fn invalid_settings_name_the_attribute() {
        let error = |pairs: &[(&str, Value)]| settings(pairs).unwrap_err().message;
        assert!(error(&[]).contains("`length` is required"));
        assert!(error(&[("length", Value::Number(0.0))]).contains("`length` must be a whole number from 1"));
        assert!(error(&[("length", Value::Number(2.5))]).contains("`length`"));
        assert!(error(&[("length", Value::string("8"))]).contains("`length`"));
        assert!(error(&[("length", Value::Number(8.0)), ("special", Value::string("yes"))])
            .contains("`special` must be true or false"));
        assert!(error(&[("length", Value::Number(2.0)), ("min_upper", Value::Number(3.0))])
            .contains("`length` is 2, less than"));
        assert!(error(&[
            ("length", Value::Number(8.0)),
            ("upper", Value::Bool(false)),
            ("min_upper", Value::Number(1.0))
        ])
        .contains("`min_upper` is above 0 but `upper` is false"));
        let none = [
            ("length", Value::Number(8.0)),
            ("special", Value::Bool(false)),
            ("upper", Value::Bool(false)),
            ("lower", Value::Bool(false)),
            ("numeric", Value::Bool(false)),
        ];
        assert!(error(&none).contains("no character is allowed"));
        let only_empty_special = [
            ("length", Value::Number(8.0)),
            ("upper", Value::Bool(false)),
            ("lower", Value::Bool(false)),
            ("numeric", Value::Bool(false)),
            ("override_special", Value::string("")),
        ];
        assert!(error(&only_empty_special).contains("no character is allowed"));
        assert!(error(&[("length", Value::Number(8.0)), ("lenght", Value::Number(8.0))])
            .contains("`lenght` is not an attribute"));
    }

    #[test]
    fn unknown_settings_plan_without_error() {
        let schema = schema();
        let config = Value::Object(stackc_model::Fields::from_iter([("length".to_string(), Value::Unknown)]));
        let planned = plan(&schema, None, &Config::new(&schema, &config).unwrap()).unwrap();
        assert_eq!(planned.get_path(&["length"]), Some(&Value::Unknown));
        assert_eq!(planned.get_path(&["special"]), Some(&Value::Bool(true)));
        assert!(
            matches!(planned.get_path(&["result"]), Some(Value::Sensitive(inner)) if **inner == Value::Unknown)
        );
    }
}
