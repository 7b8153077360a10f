//! The standard library: component definitions written in the language,
//! embedded in the binary. A user's `component` block of the same name
//! overrides the stdlib one.
//!
//! The files live in `stdlib/` at the workspace root so they read like any
//! user's stack; the conventions they follow (object-typed params written as
//! blocks, per-target `on` bodies, `self.name`) are in the header of
//! `stdlib/service.stack.hcl`.

/// (path shown to users, text) of every stdlib file, in a fixed order.
pub fn files() -> &'static [(&'static str, &'static str)] {
    macro_rules! stdlib_files {
        ($($name:literal),* $(,)?) => {
            &[$((concat!("stdlib/", $name), include_str!(concat!("../../stdlib/", $name)))),*]
        };
    }
    stdlib_files![
        "service.stack.hcl",
        "stateful.stack.hcl",
        "database.stack.hcl",
        "load_balancer.stack.hcl",
        "volume.stack.hcl",
        "config.stack.hcl",
        "secret.stack.hcl",
        "vm.stack.hcl",
        "job.stack.hcl",
        "network.stack.hcl",
    ]
}

/// The component kinds the stdlib defines, in the order of [`files`].
pub const COMPONENTS: &[&str] = &[
    "service",
    "stateful",
    "database",
    "load_balancer",
    "volume",
    "config",
    "secret",
    "vm",
    "job",
    "network",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every embedded file parses and defines exactly the component it is named after.
    #[test]
    fn every_file_parses_and_defines_its_component() {
        assert_eq!(files().len(), COMPONENTS.len());
        for ((path, text), kind) in files().iter().zip(COMPONENTS) {
            let body: hcl_edit::structure::Body =
                text.parse().unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
            let components: Vec<String> = body
                .get_blocks("component")
                .map(|b| b.labels.iter().map(|l| l.as_str().to_string()).collect::<Vec<_>>().join(","))
                .collect();
            assert_eq!(components, vec![kind.to_string()], "{path}");
            assert!(path.ends_with(&format!("/{kind}.stack.hcl")));
        }
    }

    /// Every stdlib file is listed (a new file in `stdlib/` must be embedded).
    #[test]
    fn no_stdlib_file_is_left_out() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../stdlib");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("stdlib dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".stack.hcl"))
            .map(|n| format!("stdlib/{n}"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = files().iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
