//! Who may depend on whom, around the model crate.
//!
//! The model crate is the vocabulary every stage and provider shares, so it
//! depends on no other stackc crate (Cargo refuses the compiler anyway: that
//! would be a cycle). The planner, the providers and the diagnostic
//! renderers speak only that vocabulary, so their `[dependencies]` name the
//! model crate and never the compiler; a provider's tests that expand the
//! stdlib may still take the compiler (with `test-support`) as a
//! dev-dependency. ARCHITECTURE.md ("Code map") draws the same picture.

use std::path::{Path, PathBuf};

/// Crates that must not depend on the compiler, by directory from the
/// workspace root.
const WITHOUT_COMPILER: &[&str] = &[
    "planner",
    "providers/core",
    "providers/aws",
    "providers/kubernetes",
    "providers/local",
    "providers/builtin",
    "render",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("model/ is in the workspace").to_path_buf()
}

/// The lines of the sections of `manifest` that a build of the crate itself
/// uses: `[dependencies]`, `[build-dependencies]` and their
/// `[target.'cfg(..)'.dependencies]` forms, not `[dev-dependencies]`. Each
/// line is paired with its section's name.
fn build_dependency_lines(manifest: &str) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    let mut section: Option<String> = None;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').to_string();
            let last = name.rsplit('.').next().unwrap_or(&name).to_string();
            section = matches!(last.as_str(), "dependencies" | "build-dependencies").then_some(name);
            continue;
        }
        if let Some(section) = &section {
            if !line.is_empty() && !line.starts_with('#') {
                lines.push((section.clone(), line.to_string()));
            }
        }
    }
    lines
}

#[test]
fn the_planner_and_providers_do_not_depend_on_the_compiler() {
    let root = workspace_root();
    for dir in WITHOUT_COMPILER {
        let path = root.join(dir).join("Cargo.toml");
        let manifest = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines = build_dependency_lines(&manifest);
        assert!(
            lines.iter().any(|(_, line)| line.starts_with("stackc-model")),
            "{dir}/Cargo.toml depends on stackc-model"
        );
        for (section, line) in &lines {
            assert!(
                !line.contains("stackc-compiler") && !line.contains("compiler\""),
                "{dir}/Cargo.toml [{section}] names the compiler (`{line}`): depend on stackc-model instead, \
                 or take the compiler as a dev-dependency for tests only"
            );
        }
    }
}

#[test]
fn the_model_depends_on_no_stackc_crate() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let mut all = build_dependency_lines(&manifest);
    // Its tests too: the model's tests build their input from the model.
    all.extend(build_dependency_lines(&manifest.replace("[dev-dependencies]", "[dependencies]")));
    for (section, line) in all {
        assert!(
            !line.starts_with("stackc") && !line.contains("path ="),
            "model/Cargo.toml [{section}] depends on another stackc crate (`{line}`)"
        );
    }
}

#[test]
fn the_section_reader_skips_dev_dependencies() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nstackc-model.workspace = true\n# a note\n\n\
                    [target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n\n[dev-dependencies]\n\
                    stackc-compiler = { workspace = true }\n[build-dependencies]\ncc = \"1\"\n";
    let lines: Vec<String> = build_dependency_lines(manifest).into_iter().map(|(_, line)| line).collect();
    assert_eq!(lines, ["stackc-model.workspace = true", "libc = \"0.2\"", "cc = \"1\""]);
}

/// The renderers show diagnostics and load errors, both model vocabulary:
/// they name no other stackc crate (not the driver, which would make them
/// wait for every provider to compile), so a fourth format is one file.
#[test]
fn the_renderers_depend_on_the_model_alone() {
    let path = workspace_root().join("render").join("Cargo.toml");
    let manifest = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (section, line) in build_dependency_lines(&manifest) {
        assert!(
            !line.starts_with("stackc-") || line.starts_with("stackc-model"),
            "render/Cargo.toml [{section}] names another stackc crate (`{line}`): the renderers speak the model alone"
        );
    }
}
