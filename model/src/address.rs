//! Building resource addresses: `stackc_data.seed`,
//! `service.api/kubernetes_manifest.deployment`,
//! `database.main/aws_instance.node["1"]`, `service.api/aws_subnet.zone[0]`.
//! A component instance contributes `<kind>.<name>/`, nested instances nest
//! further; `count` gives a numeric index, `for_each` a quoted string key.

use crate::graph::ResourceAddress;

/// The key of one repetition of a resource or instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InstanceKey {
    /// `count = n`: `[0]`, `[1]`, ...
    Index(usize),
    /// `for_each`: `["key"]`.
    Key(String),
}

impl std::fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceKey::Index(i) => write!(f, "[{i}]"),
            // JSON escaping keeps quotes and backslashes in keys unambiguous.
            InstanceKey::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone())),
        }
    }
}

/// The path of component instances down to a resource, outermost first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct InstancePath {
    segments: Vec<String>,
}

impl InstancePath {
    /// The stack's top level.
    pub fn root() -> InstancePath {
        InstancePath::default()
    }

    /// The path one instance deeper: `<kind>.<name>[key]`.
    pub fn child(&self, kind: &str, name: &str, key: Option<&InstanceKey>) -> InstancePath {
        let mut segments = self.segments.clone();
        segments.push(match key {
            Some(key) => format!("{kind}.{name}{key}"),
            None => format!("{kind}.{name}"),
        });
        InstancePath { segments }
    }

    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    /// The prefix of addresses in this instance (`service.api/`), empty at the top.
    pub fn prefix(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push_str(segment);
            out.push('/');
        }
        out
    }

    /// The address of resource `<type>.<name>[key]` in this instance.
    pub fn resource(&self, type_name: &str, name: &str, key: Option<&InstanceKey>) -> ResourceAddress {
        // Pushed piece by piece: one per resource instance, and `format!`
        // of a prefix and a key was a tenth of the cost of expanding one.
        let mut out = String::with_capacity(
            self.segments.iter().map(|s| s.len() + 1).sum::<usize>() + type_name.len() + name.len() + 1,
        );
        for segment in &self.segments {
            out.push_str(segment);
            out.push('/');
        }
        out.push_str(type_name);
        out.push('.');
        out.push_str(name);
        if let Some(key) = key {
            use std::fmt::Write as _;
            let _ = write!(out, "{key}");
        }
        ResourceAddress(out)
    }
}

impl std::fmt::Display for InstancePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.segments.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_documented_shapes() {
        let root = InstancePath::root();
        assert_eq!(root.resource("stackc_data", "seed", None).as_str(), "stackc_data.seed");
        let api = root.child("service", "api", None);
        assert_eq!(
            api.resource("kubernetes_manifest", "deployment", None).as_str(),
            "service.api/kubernetes_manifest.deployment"
        );
        let main = root.child("database", "main", None);
        let key = InstanceKey::Key("1".into());
        assert_eq!(
            main.resource("aws_instance", "node", Some(&key)).as_str(),
            "database.main/aws_instance.node[\"1\"]"
        );
        assert_eq!(
            api.resource("aws_subnet", "zone", Some(&InstanceKey::Index(0))).as_str(),
            "service.api/aws_subnet.zone[0]"
        );
        let nested = main.child("secret", "password", Some(&InstanceKey::Key("a\"b".into())));
        assert_eq!(
            nested.resource("random_password", "value", None).as_str(),
            "database.main/secret.password[\"a\\\"b\"]/random_password.value"
        );
        assert_eq!(nested.depth(), 2);
    }
}
