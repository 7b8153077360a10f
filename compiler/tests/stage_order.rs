//! The import order inside the compiler matches its stage order.
//!
//! Each module of `compiler/src` belongs to one layer below. A module may
//! name (`use crate::x`, `crate::x::y` in code) modules of its own layer and
//! of the layers before it, never one after it: a stage that reached up
//! would depend on the stages it feeds, and the pipeline would stop being a
//! sequence of functions from one IR to the next. Tests count too (a stage's
//! tests build their input with the stage before, not with a later one).
//! ARCHITECTURE.md ("Stage order") gives the same list and why.
//!
//! A new module must be placed in a layer here; the test fails until it is.

use std::collections::BTreeSet;
use std::path::Path;

/// The modules of the model crate (`stackc-model`) that the crate root
/// re-exports under their old paths (`crate::value`, `crate::graph`): the
/// vocabulary every stage shares (files and spans, diagnostics and their
/// codes, values, types, schemas, the resource graph). They are no files of
/// `compiler/src`, and come before every layer: the model crate cannot
/// import the compiler at all (it would be a dependency cycle).
const MODEL: &[&str] = &["source", "codes", "diagnostic", "hash", "value", "types", "schema", "graph"];

/// The layers, first to last, each with the top-level modules (files or
/// directories of `compiler/src`) in it.
const LAYERS: &[(&str, &[&str])] = &[
    // The model crate's modules, re-exported (see `MODEL`).
    ("model", MODEL),
    // The compiler's own vocabulary: the syntax tree's node types, the
    // stdlib's embedded text.
    ("vocabulary", &["ast", "stdlib"]),
    // Text to syntax trees.
    ("syntax", &["syntax"]),
    // `stackc fmt`: a side branch that reads syntax only.
    ("format", &["format"]),
    // Expressions, which every later stage evaluates or types: the
    // function registry, the evaluator (with the `Evaluator` and `Roots`
    // traits its callers implement) and static inference.
    ("expressions", &["functions", "eval", "infer"]),
    // Declarations, shapes and references; the language's fixed names (block
    // kinds, targets, target attributes, `self`), the one type reader, and
    // the HIR that later stages read, with the policy blocks in it.
    ("resolve", &["resolve", "hir", "policy"]),
    // Types and values of the stack's declarations.
    ("check", &["check"]),
    // One target's resource graph.
    ("expand", &["expand"]),
    // The crate root runs the stages in order.
    ("root", &["lib"]),
];

/// Imports that run up the stages and are right anyway, with why. Empty:
/// every one found so far was a thing living in the wrong stage.
const EXCEPTIONS: &[(&str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

/// The text without comments (doc links may name any module) and without
/// the contents of string literals, raw ones included (a test's input may
/// mention anything).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        if !in_string && c == 'r' && !(previous.is_alphanumeric() || previous == '_') {
            // `r"..."`, `r#"..."#`: skipped to the quote and as many `#`.
            let hashes = chars.clone().take_while(|&h| h == '#').count();
            if chars.clone().nth(hashes) == Some('"') {
                chars.nth(hashes);
                let closing: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let mut seen = String::new();
                for c in chars.by_ref() {
                    seen.push(c);
                    if c == '\n' {
                        out.push('\n');
                    }
                    if seen.ends_with(&closing) {
                        break;
                    }
                }
                out.push_str("r\"\"");
                previous = '"';
                continue;
            }
        }
        previous = c;
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    out.push('"');
                }
                '\n' => out.push('\n'),
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                in_string = true;
                out.push('"');
            }
            // `'"'` is a char, not a string's start.
            '\'' => {
                out.push('\'');
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with("\"'") {
                    chars.next();
                    chars.next();
                    out.push_str("\"'");
                } else if rest.starts_with("\\\"'") {
                    chars.nth(2);
                    out.push_str("\\\"'");
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The top-level modules `code` names through `crate::`: `crate::x::...`,
/// `crate::x` and each item of `crate::{x, y::z}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded = rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded {
            continue; // `stackc_crate::`, not this crate
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level items of the group, nested groups skipped.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        found.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn rust_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("compiler/src is readable").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the compiler's sources");
    let mut unplaced = BTreeSet::new();
    let mut violations = Vec::new();
    let mut excused = BTreeSet::new();
    for path in &files {
        let relative = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let module = relative.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let Some(layer) = layer_of(&module) else {
            unplaced.insert(module);
            continue;
        };
        let code = code_of(&std::fs::read_to_string(path).unwrap());
        for named in named_modules(&code) {
            // Items of the crate root (`crate::Code`, `crate::CheckOptions`)
            // are re-exports of vocabulary or the root's own option types.
            let Some(named_layer) = layer_of(&named) else { continue };
            if named_layer > layer {
                let pair = format!("{relative} -> crate::{named}");
                if EXCEPTIONS.iter().any(|(p, _)| *p == pair) {
                    excused.insert(pair);
                } else {
                    violations.push(format!(
                        "{relative} ({} stage) uses crate::{named} (the later {} stage)",
                        LAYERS[layer].0, LAYERS[named_layer].0
                    ));
                }
            }
        }
    }
    assert!(unplaced.is_empty(), "modules not placed in a stage of tests/stage_order.rs: {unplaced:?}");
    assert!(violations.is_empty(), "imports running up the stage order:\n  {}", violations.join("\n  "));
    let stale: Vec<_> = EXCEPTIONS.iter().filter(|(p, _)| !excused.contains(*p)).collect();
    assert!(stale.is_empty(), "exceptions that no longer occur: {stale:?}");
}

/// The model layer is the model crate's, not the compiler's: none of its
/// modules is a file or directory of `compiler/src` (a copy left behind
/// would be a second vocabulary), and the crate root re-exports each one.
#[test]
fn the_model_layer_is_the_model_crate_re_exported() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for module in MODEL {
        assert!(
            !src.join(format!("{module}.rs")).exists() && !src.join(module).exists(),
            "compiler/src/{module} is a module of the model crate (model/src/{module}.rs), not of the compiler"
        );
    }
    let root = code_of(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let start = root.find("pub use stackc_model::{").expect("lib.rs re-exports the model's modules");
    let group = &root[start + "pub use stackc_model::{".len()..];
    let group = &group[..group.find('}').unwrap()];
    let exported: BTreeSet<&str> = group.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
    let model: BTreeSet<&str> = MODEL.iter().copied().collect();
    assert_eq!(exported, model, "lib.rs re-exports exactly the model layer's modules");
}

#[test]
fn the_scanner_finds_every_form_of_path() {
    let code = code_of(
        "use crate::a::b;\nuse crate::{c, d::{e, f}, g};\nlet x = crate::h::i();\n// crate::j\nlet s = \"crate::k\";\nother_crate::l;\nlet q = '\"'; crate::m;\nlet r = r#\"a \"crate::n\" \"# ; crate::o;",
    );
    let found: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(found, ["a", "c", "d", "g", "h", "m", "o"]);
}
