//! The registry of targets: one [`Target`] per target crate, in the order
//! `stackc` lists them. Adding a target is its crate (with its `DESCRIPTOR`)
//! and one line here.

pub use stackc_providers::Target;

/// Every target stackc knows.
pub fn targets() -> &'static [Target] {
    const TARGETS: &[Target] = &[
        stackc_provider_kubernetes::DESCRIPTOR,
        stackc_provider_aws::DESCRIPTOR,
        stackc_provider_local::DESCRIPTOR,
    ];
    TARGETS
}

/// The target named `name`, if stackc knows it.
pub fn target(name: &str) -> Option<&'static Target> {
    targets().iter().find(|target| target.name == name)
}

/// The known targets' names.
pub fn target_names() -> Vec<&'static str> {
    targets().iter().map(|target| target.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiler_knows_the_registered_targets() {
        // The compiler (which does not depend on providers) has its own
        // list for the name checks of `resolve`; it must be this one.
        assert_eq!(target_names(), stackc_compiler::resolve::KNOWN_TARGETS);
    }

    #[test]
    fn each_target_serves_its_own_schemas() {
        for target in targets() {
            let schemas = (target.schemas)();
            assert!(!schemas.is_empty(), "{}", target.name);
            for schema in schemas {
                assert_eq!(schema.target.as_deref(), Some(target.name), "{}", schema.type_name);
            }
        }
    }

    #[test]
    fn aws_requires_region_always_and_ami_when_read() {
        let settings = (target("aws").unwrap().required_settings)();
        let described: Vec<(&str, bool)> = settings.iter().map(|s| (s.name.as_str(), s.when_read)).collect();
        assert_eq!(described, [("region", false), ("ami", true)]);
        assert!(target("nope").is_none());
    }
}
