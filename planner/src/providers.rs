//! The providers a plan or an apply may call, found by the target a
//! resource type belongs to (`None`: the built-in provider).

use stackc_model::schema::ResourceSchema;
use stackc_model::Value;
use stackc_providers::Provider;
use std::collections::HashMap;
use std::sync::Arc;

/// Providers by target, with every schema they serve.
#[derive(Clone, Default)]
pub struct ProviderSet {
    builtin: Option<Arc<dyn Provider>>,
    targets: HashMap<String, Arc<dyn Provider>>,
    /// Targets a stack may use for which this build has no API client yet,
    /// with the sentence that says what to do instead.
    unavailable: HashMap<String, String>,
    schemas: HashMap<String, ResourceSchema>,
}

impl std::fmt::Debug for ProviderSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSet")
            .field("builtin", &self.builtin.as_ref().map(|p| p.name().to_string()))
            .field("targets", &self.targets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ProviderSet {
    pub fn new() -> ProviderSet {
        ProviderSet::default()
    }

    /// Serves the types that belong to no target.
    pub fn with_builtin(mut self, provider: Arc<dyn Provider>) -> ProviderSet {
        self.add_schemas(provider.as_ref());
        self.builtin = Some(provider);
        self
    }

    /// Serves the types of `target`.
    pub fn with_target(mut self, target: &str, provider: Arc<dyn Provider>) -> ProviderSet {
        self.add_schemas(provider.as_ref());
        self.targets.insert(target.to_string(), provider);
        self
    }

    /// Records that `target` has no provider in this build: operations on
    /// its types fail with `why`. Its schemas still serve planning output.
    pub fn with_unavailable(mut self, target: &str, schemas: Vec<ResourceSchema>, why: &str) -> ProviderSet {
        for schema in schemas {
            self.schemas.insert(schema.type_name.clone(), schema);
        }
        self.unavailable.insert(target.to_string(), why.to_string());
        self
    }

    fn add_schemas(&mut self, provider: &dyn Provider) {
        for schema in provider.schemas() {
            self.schemas.insert(schema.type_name.clone(), schema);
        }
    }

    /// The provider of a resource of `target`, or a sentence saying why there is none.
    pub fn provider(&self, target: Option<&str>) -> Result<&Arc<dyn Provider>, String> {
        match target {
            None => {
                self.builtin.as_ref().ok_or_else(|| "the built-in provider is not configured".to_string())
            }
            Some(target) => self.targets.get(target).ok_or_else(|| match self.unavailable.get(target) {
                Some(why) => why.clone(),
                None => format!("no provider is configured for target `{target}`"),
            }),
        }
    }

    pub fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas.get(type_name)
    }

    /// The names of the attributes of `type_name` its schema marks sensitive.
    pub fn sensitive_attributes(&self, type_name: &str) -> Vec<String> {
        self.schema(type_name)
            .map(|s| s.attributes.iter().filter(|(_, a)| a.sensitive).map(|(n, _)| n.clone()).collect())
            .unwrap_or_default()
    }

    /// `value` with every schema-sensitive top-level attribute marked.
    pub fn mark_sensitive(&self, type_name: &str, value: Value) -> Value {
        let Some(schema) = self.schema(type_name) else { return value };
        match value {
            Value::Object(mut fields) => {
                for (name, attribute) in &schema.attributes {
                    if attribute.sensitive {
                        if let Some(field) = fields.get_mut(name) {
                            if !matches!(field, Value::Null | Value::Sensitive(_)) {
                                let plain = std::mem::replace(field, Value::Null);
                                *field = plain.into_sensitive();
                            }
                        }
                    }
                }
                Value::Object(fields)
            }
            other => other,
        }
    }
}
