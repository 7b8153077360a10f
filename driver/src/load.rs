//! Loading a stack into [`Sources`] (from disk, with in-memory overlays
//! that win over the files on disk: an editor's unsaved buffers), and
//! reading `-var` / `--var-file` values.
//!
//! Boundary: this is the only place the front end's input touches the file
//! system. The compiler gets an in-memory [`Sources`] (the user's files first,
//! then the embedded stdlib), so every later stage stays pure. Every I/O
//! problem is a [`LoadError`] the caller renders; nothing here panics on user
//! input. Variable files and values are read by the compiler's own syntax
//! layer ([`stackc_compiler::syntax::parse`]), as stack files are.

use stackc_compiler::ast::{Expr, ExprKind, TemplatePart, UnaryOp};
use stackc_compiler::{FileId, Origin, SourceFile, Sources, Value};
pub use stackc_model::load::{LoadError, STACK_FILE_SUFFIX};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Texts that replace (or add to) the files on disk, by path: an editor's
/// open buffers. A path is matched as given, so use the same spelling
/// (absolute, say) for the stack's path and its overlays.
pub type Overlays = BTreeMap<PathBuf, String>;

/// Largest stack file or variable file read (as `file()`'s limit): a stack
/// file symlinked to `/dev/zero` must be an error, not an endless read.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest nesting of lists/objects accepted in a variable value (hcl-edit
/// itself stops at 64; this bounds our own conversion too).
const MAX_VALUE_DEPTH: usize = 64;

/// What was loaded, besides the sources themselves.
#[derive(Clone, Debug)]
pub struct StackInfo {
    /// The path the user gave (a directory or a single file).
    pub root: PathBuf,
    /// The user's files, in load order (sorted by name).
    pub user_files: Vec<FileId>,
    /// Each user file's path as loaded (the stack's path joined with its
    /// name; not the shown path), in the order of `user_files`.
    pub user_paths: Vec<PathBuf>,
    /// The embedded stdlib files.
    pub stdlib_files: Vec<FileId>,
}

/// Loads the stack at `path` (a directory of `*.stack.hcl` files, read
/// non-recursively in name order, or a single file) plus the embedded stdlib.
/// User files come first in the returned [`Sources`]; their paths are shown
/// relative to the current directory.
pub fn load(path: &Path) -> Result<(Sources, StackInfo), LoadError> {
    load_with(path, &Overlays::new())
}

/// [`load`], with `overlays` winning over the disk: an overlay replaces the
/// text of the file at its path, and an overlay of a `*.stack.hcl` path in
/// the stack directory that is not on disk (a new, unsaved file) joins the
/// stack. With overlays, the directory itself need not exist: a stack may
/// live in memory only.
pub fn load_with(path: &Path, overlays: &Overlays) -> Result<(Sources, StackInfo), LoadError> {
    let shown = display_path(path);
    let in_memory = |dir: &Path| {
        overlays
            .keys()
            .filter(|p| p.parent() == Some(dir) && is_stack_file_name(p))
            .cloned()
            .collect::<Vec<_>>()
    };
    let files: Vec<PathBuf> = match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => {
            let entries =
                std::fs::read_dir(path).map_err(|error| LoadError::Io { path: shown.clone(), error })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|error| LoadError::Io { path: shown.clone(), error })?;
                if !is_stack_file_name(&entry.path()) {
                    continue;
                }
                // Follow symlinks; skip directories that happen to match the suffix.
                if entry.path().is_dir() {
                    continue;
                }
                files.push(path.join(entry.file_name()));
            }
            files.extend(in_memory(path));
            files.sort();
            files.dedup();
            if files.is_empty() {
                return Err(LoadError::NoStackFiles { path: shown });
            }
            files
        }
        Ok(_) => vec![path.to_path_buf()],
        Err(_) if overlays.contains_key(path) => vec![path.to_path_buf()],
        Err(error) => {
            let files = in_memory(path);
            if files.is_empty() {
                return Err(match error.kind() {
                    std::io::ErrorKind::NotFound => LoadError::NotFound { path: shown.clone() },
                    _ => LoadError::Io { path: shown.clone(), error },
                });
            }
            files
        }
    };

    let mut sources = Sources::new();
    let mut user_files = Vec::with_capacity(files.len());
    for file in &files {
        let shown = display_path(file);
        let text = match overlays.get(file) {
            Some(text) => text.clone(),
            None => {
                let bytes = stackc_planner::files::read_regular(file, MAX_SOURCE_BYTES)
                    .map_err(|error| LoadError::Io { path: shown.clone(), error })?;
                String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: shown.clone() })?
            }
        };
        user_files.push(sources.add(SourceFile::new(shown, text, Origin::User)));
    }
    let stdlib_files = add_stdlib(&mut sources);
    Ok((sources, StackInfo { root: path.to_path_buf(), user_files, user_paths: files, stdlib_files }))
}

/// A `*.stack.hcl` file name, not hidden.
fn is_stack_file_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.ends_with(STACK_FILE_SUFFIX) && !name.starts_with('.'))
}

/// The names of the `target "NAME" {}` blocks of the stack's files in
/// `stack_dir`, sorted; files that do not parse are skipped (this must work
/// on broken stacks, e.g. to find a state).
pub fn declared_targets(stack_dir: &Path) -> Vec<String> {
    let mut targets = Vec::new();
    let Ok(entries) = std::fs::read_dir(stack_dir) else { return targets };
    for entry in entries.flatten() {
        let path = entry.path();
        let read = || stackc_planner::files::read_regular(&path, MAX_SOURCE_BYTES).ok();
        let Some(text) =
            is_stack_file_name(&path).then(read).flatten().and_then(|b| String::from_utf8(b).ok())
        else {
            continue;
        };
        let (file, _) = stackc_compiler::syntax::parse(FileId(0), &text);
        for block in file.body.blocks_of("target") {
            if let Some(label) = block.labels.first() {
                targets.push(label.name.clone());
            }
        }
    }
    targets.sort();
    targets.dedup();
    targets
}

/// Adds the embedded stdlib files to `sources` (for callers that build
/// sources in memory, like tests and benchmarks).
pub fn add_stdlib(sources: &mut Sources) -> Vec<FileId> {
    stackc_compiler::stdlib::files()
        .iter()
        .map(|(path, text)| sources.add(SourceFile::new(*path, *text, Origin::Stdlib)))
        .collect()
}

/// `path` as the user should see it: relative to the current directory when
/// it is inside it, with `/` separators and no leading `./`.
pub fn display_path(path: &Path) -> String {
    let relative = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    let parts: Vec<String> = relative
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        return ".".to_string();
    }
    let joined = parts.join("/");
    // An absolute path's root component is "/" itself: avoid "//".
    joined.strip_prefix("//").map_or(joined.clone(), |rest| format!("/{rest}"))
}

/// The variable values of `-var` arguments and `--var-file`s: every file
/// first (in order), then every argument; later ones win.
pub fn variables_of(vars: &[String], var_files: &[PathBuf]) -> Result<Vec<(String, Value)>, LoadError> {
    let mut variables = Vec::new();
    for file in var_files {
        variables.extend(read_var_file(file)?);
    }
    for argument in vars {
        variables.push(parse_var_argument(argument)?);
    }
    Ok(variables)
}

/// Parses one `-var name=value` argument.
pub fn parse_var_argument(argument: &str) -> Result<(String, Value), LoadError> {
    let bad = |reason: &str| LoadError::BadVarArgument {
        argument: argument.to_string(),
        reason: reason.to_string(),
    };
    let Some((name, raw)) = argument.split_once('=') else {
        return Err(bad("expected `name=value`"));
    };
    let name = name.trim();
    if !is_identifier(name) {
        return Err(bad("the variable name must be an identifier (letters, digits, `_`, `-`)"));
    }
    Ok((name.to_string(), parse_var_value(raw)))
}

/// A `-var` value: an HCL literal when it parses as one, otherwise the text
/// itself as a string (so `-var image=nginx:1.27` and `-var env=prod` work
/// without quotes, as in Terraform).
fn parse_var_value(raw: &str) -> Value {
    // Parsed as the value of one attribute: anything else (a second
    // attribute after a newline, a block) is not one literal.
    let text = format!("v = {raw}\n");
    let (file, diagnostics) = stackc_compiler::syntax::parse(FileId(0), &text);
    match (file.body.attributes.as_slice(), file.body.blocks.is_empty(), diagnostics.is_empty()) {
        ([attribute], true, true) => {
            literal_value(&attribute.value, 0).unwrap_or_else(|_| Value::string(raw))
        }
        _ => Value::string(raw),
    }
}

/// Reads one stack file's text as the loader does (a regular file of at most
/// [`MAX_SOURCE_BYTES`], UTF-8), for a caller that formats or shows it.
pub fn read_source(path: &Path) -> Result<String, LoadError> {
    let shown = display_path(path);
    let bytes =
        stackc_planner::files::read_regular(path, MAX_SOURCE_BYTES).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => LoadError::NotFound { path: shown.clone() },
            _ => LoadError::Io { path: shown.clone(), error },
        })?;
    String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: shown })
}

/// Reads a `--var-file`: HCL attributes whose values are literals.
pub fn read_var_file(path: &Path) -> Result<Vec<(String, Value)>, LoadError> {
    let text = read_source(path)?;
    parse_var_file(&display_path(path), &text)
}

/// Parses the text of a variable file (`shown` names it in errors).
pub fn parse_var_file(shown: &str, text: &str) -> Result<Vec<(String, Value)>, LoadError> {
    let at = |offset: usize, reason: String| {
        let file = SourceFile::new(shown, text, Origin::User);
        let (line, column) = file.line_col(offset);
        LoadError::BadVarFile { path: shown.to_string(), line, column, reason }
    };
    let (file, diagnostics) = stackc_compiler::syntax::parse(FileId(0), text);
    if let Some(first) = diagnostics.iter().min_by_key(|d| d.primary.span.start) {
        let reason = first.message.trim_end_matches('.').to_string();
        return Err(at(first.primary.span.start as usize, reason));
    }
    if let Some(block) = file.body.blocks.iter().min_by_key(|b| b.span.start) {
        let offset = block.span.start as usize;
        return Err(at(
            offset,
            format!("unexpected block `{}`: only `name = value` is allowed", block.kind.name),
        ));
    }
    // In the file's order (the syntax layer keeps attributes in order).
    let mut attributes: Vec<_> = file.body.attributes.iter().collect();
    attributes.sort_by_key(|a| a.span.start);
    let mut variables = Vec::new();
    for attribute in attributes {
        let name = attribute.name.name.clone();
        let value = literal_value(&attribute.value, 0)
            .map_err(|reason| at(attribute.value.span.start as usize, format!("`{name}`: {reason}")))?;
        variables.push((name, value));
    }
    Ok(variables)
}

/// Converts a literal expression to a [`Value`]; anything that needs
/// evaluation (references, function calls, interpolation) is rejected.
fn literal_value(expr: &Expr, depth: usize) -> Result<Value, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err("value nested too deeply".to_string());
    }
    Ok(match &expr.kind {
        ExprKind::Null => Value::Null,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Number(n) => Value::Number(*n),
        ExprKind::Template(parts) => Value::String(plain_template(parts)?),
        ExprKind::List(items) => {
            Value::List(items.iter().map(|item| literal_value(item, depth + 1)).collect::<Result<_, _>>()?)
        }
        ExprKind::Object(fields) => {
            let mut object = stackc_model::Fields::default();
            for (key, value) in fields {
                let key = match literal_value(key, depth + 1)? {
                    Value::String(s) => s,
                    _ => return Err("object keys must be names or strings".to_string()),
                };
                object.insert(key, literal_value(value, depth + 1)?);
            }
            Value::Object(object)
        }
        ExprKind::Paren(inner) => literal_value(inner, depth + 1)?,
        ExprKind::Unary(UnaryOp::Neg, inner) => match literal_value(inner, depth + 1)? {
            Value::Number(n) => Value::Number(-n),
            _ => return Err("`-` applies to numbers only".to_string()),
        },
        // A bare name as an object key is a string (the syntax layer makes
        // it a literal); anywhere else it is a reference.
        _ => {
            return Err(
                "only literal values are allowed here (no references, functions or operators)".to_string()
            )
        }
    })
}

/// The text of a template made only of literal parts.
fn plain_template(parts: &[TemplatePart]) -> Result<String, String> {
    let mut text = String::new();
    for part in parts {
        match part {
            TemplatePart::Literal(literal) => text.push_str(literal),
            _ => return Err("templates with `${...}` or `%{...}` are not allowed here".to_string()),
        }
    }
    Ok(text)
}

/// HCL identifier: a letter or `_`, then letters, digits, `_` or `-`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_arguments_read_literals_or_plain_strings() {
        let cases = [
            ("replicas=3", Value::Number(3.0)),
            ("debug=true", Value::Bool(true)),
            ("image=nginx:1.27", Value::string("nginx:1.27")),
            ("env=prod", Value::string("prod")),
            ("name=\"quoted\"", Value::string("quoted")),
            ("empty=", Value::string("")),
            ("offset=-2", Value::Number(-2.0)),
            ("list=[1, 2]", Value::List(vec![Value::Number(1.0), Value::Number(2.0)])),
        ];
        for (argument, expected) in cases {
            let (_, value) = parse_var_argument(argument).unwrap();
            assert_eq!(value, expected, "{argument}");
        }
        let (_, tags) = parse_var_argument("tags={team = \"shop\", \"x-y\" = 1}").unwrap();
        let Value::Object(fields) = tags else { panic!("not an object") };
        assert_eq!(fields.get("team"), Some(&Value::string("shop")));
        assert_eq!(fields.get("x-y"), Some(&Value::Number(1.0)));
    }

    #[test]
    fn bad_var_arguments_are_errors() {
        assert!(matches!(parse_var_argument("replicas"), Err(LoadError::BadVarArgument { .. })));
        assert!(matches!(parse_var_argument("=3"), Err(LoadError::BadVarArgument { .. })));
        assert!(matches!(parse_var_argument("9x=3"), Err(LoadError::BadVarArgument { .. })));
    }

    #[test]
    fn var_files_hold_literal_attributes_only() {
        let vars = parse_var_file("v.hcl", "a = 1\nb = \"two\"\nc = { d = [true] }\n").unwrap();
        assert_eq!(vars.len(), 3);
        assert_eq!(vars[1], ("b".to_string(), Value::string("two")));

        let Err(LoadError::BadVarFile { line, column, .. }) = parse_var_file("v.hcl", "a = 1\nb = var.x\n")
        else {
            panic!("reference accepted")
        };
        assert_eq!((line, column), (2, 5));
        assert!(matches!(parse_var_file("v.hcl", "a = \n"), Err(LoadError::BadVarFile { .. })));
        assert!(matches!(parse_var_file("v.hcl", "blk {}\n"), Err(LoadError::BadVarFile { .. })));
        let deep = format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(parse_var_file("v.hcl", &deep), Err(LoadError::BadVarFile { .. })));
    }

    #[test]
    fn display_paths_are_relative_and_clean() {
        assert_eq!(display_path(Path::new("./a/b.stack.hcl")), "a/b.stack.hcl");
        assert_eq!(display_path(Path::new(".")), ".");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(display_path(&cwd.join("x.stack.hcl")), "x.stack.hcl");
    }

    #[test]
    fn declared_targets_skip_files_that_do_not_parse() {
        let dir = std::env::temp_dir().join(format!("stackc-targets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.stack.hcl"),
            "target \"local\" {}\ntarget \"aws\" {\n  region = \"x\"\n}\n",
        )
        .unwrap();
        std::fs::write(dir.join("b.stack.hcl"), "target \"kubernetes\" {\n").unwrap();
        std::fs::write(dir.join("c.hcl"), "target \"gcp\" {}\n").unwrap();
        assert_eq!(declared_targets(&dir), ["aws", "local"]);
        assert!(declared_targets(&dir.join("missing")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loading_reports_io_problems() {
        let dir = std::env::temp_dir().join(format!("stackc-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(load(&dir.join("missing")), Err(LoadError::NotFound { .. })));
        assert!(matches!(load(&dir), Err(LoadError::NoStackFiles { .. })));
        std::fs::write(dir.join("b.stack.hcl"), "x = 1\n").unwrap();
        std::fs::write(dir.join("a.stack.hcl"), "y = 2\n").unwrap();
        std::fs::write(dir.join("ignored.hcl"), "z = 3\n").unwrap();
        let (sources, info) = load(&dir).unwrap();
        let names: Vec<&str> = info.user_files.iter().map(|f| sources.get(*f).path.as_str()).collect();
        assert!(names[0].ends_with("a.stack.hcl") && names[1].ends_with("b.stack.hcl"), "{names:?}");
        assert_eq!(names.len(), 2);
        assert_eq!(info.stdlib_files.len(), stackc_compiler::stdlib::files().len());
        std::fs::write(dir.join("c.stack.hcl"), [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(load(&dir), Err(LoadError::NotUtf8 { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
