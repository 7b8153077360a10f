//! Checking a stack and compiling it for a target: load -> check ->
//! (select target) -> expand. Every command that compiles a stack (`check`,
//! `build`, `graph`, `plan`, `apply`, `destroy`) and the language server go
//! through here.
//!
//! Why one place: every caller must see the same stack the same way (the
//! same variables, the same target selection, the same `file()` rules, the
//! same source hash, the same problems). A caller calls [`check_stack`],
//! then [`CheckedStack::compile`]; or [`check`] for what `stackc check`
//! reports. Nothing here renders: problems come back as data (a
//! [`LoadError`] or diagnostics with the [`Sources`] they point into).
//!
//! `file("path")` reads through [`StackFiles`]: paths are relative to the
//! stack directory and must stay inside it (absolute paths, `..` that leaves
//! it and symlinks that point out of it are refused). A stack is then
//! self-contained: what `check` read is what `apply` reads, wherever it runs
//! from, and the source hash covers it.

use crate::load::{self, LoadError, Overlays, StackInfo};
use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use stackc_compiler::eval::{Evaluator, ExpressionEvaluator, FileSource, Roots};
use stackc_compiler::expand::{self, ExpandOptions, PriorLookup};
use stackc_compiler::graph::ResourceGraph;
use stackc_compiler::schema::SchemaSet;
use stackc_compiler::{CheckOptions, Diagnostic, Origin, Sources, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Which stack to check, and with what: the command line's `PATH`,
/// `--target`, `-var` and `--var-file`, or an editor's view of it.
#[derive(Clone, Debug, Default)]
pub struct StackRequest {
    /// The stack directory (or a single `.stack.hcl` file).
    pub path: PathBuf,
    /// The target to expand for; may be omitted when the stack declares
    /// one target (or none).
    pub target: Option<String>,
    /// `-var name=value` arguments, applied after `var_files`.
    pub vars: Vec<String>,
    /// `--var-file` paths.
    pub var_files: Vec<PathBuf>,
    /// Every variable's value given (a saved plan's): `vars` and
    /// `var_files` are then ignored.
    pub values: Option<stackc_model::Fields>,
    /// Texts that win over the files on disk (see [`load::load_with`]).
    pub overlays: Overlays,
}

/// Why a stack did not check: it did not load, or it has errors.
#[derive(Debug)]
pub enum Failure {
    Load(LoadError),
    /// Every diagnostic found (warnings included), sorted, and the sources
    /// they point into.
    Diagnostics {
        sources: Sources,
        diagnostics: Vec<Diagnostic>,
    },
}

/// A stack that loaded and checked without errors, with its target selected.
pub struct CheckedStack {
    pub sources: Sources,
    pub info: StackInfo,
    /// The stack directory's name (ownership tags, state).
    pub stack_name: String,
    /// Where `.stackc/` state lives: the stack directory (a single file's parent).
    pub stack_dir: PathBuf,
    pub hir: stackc_compiler::hir::Stack,
    /// The selected target: `--target`, or the stack's only declared one.
    /// `None` when the stack declares none, or several and `--target` was not
    /// given (then [`CheckedStack::compile`] reports E0506).
    pub target: Option<String>,
    /// The selected `target` block's attributes, evaluated (an object; `Null`
    /// when no target is selected or the target has no block).
    pub target_attributes: Value,
    /// Warnings of the check: the caller shows them with its output.
    pub warnings: Vec<Diagnostic>,
    /// Hex SHA-256 over the stackc version, the user's files (relative path
    /// and bytes, sorted), the stdlib files, the resolved variable values,
    /// the selected target and the files `file()` reads (in the check, and
    /// in an expansion `check_stack` runs first when the stack calls
    /// `file(` at all). A saved plan is refused when it changes.
    pub source_hash: String,
    /// What `file()` reads from (shared by check and expansion).
    files: Arc<StackFiles>,
    /// Autoscaling: the replica counts the state records, by instance
    /// (`State::autoscaled_replicas`), which expansion gives component
    /// bodies as `self.autoscaled_replicas`. Empty until a session loads the
    /// state.
    pub autoscaled_replicas: IndexMap<String, u64>,
    /// Rollouts: the step each rollout under way stands at, by instance,
    /// which expansion gives component bodies as `self.rollout`. Empty
    /// until a session loads the state (or the rollout engine sets a step).
    pub rollouts: IndexMap<String, expand::RolloutStep>,
}

/// An expanded stack.
pub struct Compiled {
    pub graph: ResourceGraph,
    /// Warnings of the expansion only (the check's are in
    /// [`CheckedStack::warnings`]).
    pub warnings: Vec<Diagnostic>,
}

/// What `stackc check` reports about a stack: every diagnostic of the type
/// check, then (when it found no error) of expanding for every target it
/// must (see [`CheckedStack::expansion_diagnostics`]).
pub struct Report {
    pub sources: Sources,
    pub info: StackInfo,
    /// Sorted, warnings included.
    pub diagnostics: Vec<Diagnostic>,
    /// What the type check built (also when it found errors; a file with a
    /// syntax error has an empty body): for tools that look at the stack
    /// (the language server's index).
    pub stack: Option<stackc_compiler::hir::Stack>,
}

/// What `stackc check` reports: [`check_stack`], then, when it succeeded,
/// the check's warnings and every expansion diagnostic. Only a stack that
/// does not load is an `Err`.
pub fn check(request: &StackRequest) -> Result<Report, LoadError> {
    match check_stack_inner(request) {
        Ok(checked) => {
            let mut diagnostics = checked.warnings.clone();
            diagnostics.extend(checked.expansion_diagnostics());
            stackc_compiler::diagnostic::sort(&mut diagnostics);
            Ok(Report { sources: checked.sources, info: checked.info, diagnostics, stack: Some(checked.hir) })
        }
        Err(Inner::Load(error)) => Err(error),
        Err(Inner::Diagnostics(partial)) => {
            let Partial { sources, info, diagnostics, stack } = *partial;
            Ok(Report { sources, info, diagnostics, stack })
        }
    }
}

/// Loads and checks the stack of `request`, and selects its target. Fails
/// with every diagnostic found (warnings included) on any error (a
/// diagnostic, an undeclared `--target`), or with the load error.
pub fn check_stack(request: &StackRequest) -> Result<CheckedStack, Failure> {
    check_stack_inner(request).map_err(|inner| match inner {
        Inner::Load(error) => Failure::Load(error),
        Inner::Diagnostics(partial) => {
            Failure::Diagnostics { sources: partial.sources, diagnostics: partial.diagnostics }
        }
    })
}

/// A failure with what was built, for [`check`].
enum Inner {
    Load(LoadError),
    Diagnostics(Box<Partial>),
}

struct Partial {
    sources: Sources,
    info: StackInfo,
    diagnostics: Vec<Diagnostic>,
    stack: Option<stackc_compiler::hir::Stack>,
}

fn check_stack_inner(request: &StackRequest) -> Result<CheckedStack, Inner> {
    let loaded = load::load_with(&request.path, &request.overlays).and_then(|loaded| {
        let variables = match &request.values {
            // Marks are the declarations' business: `check` puts them back.
            Some(values) => values.iter().map(|(name, value)| (name.clone(), value.unmarked())).collect(),
            None => load::variables_of(&request.vars, &request.var_files)?,
        };
        Ok((loaded, variables))
    });
    let ((sources, info), variables) = loaded.map_err(Inner::Load)?;
    let stack_dir = stack_dir_of(&request.path);
    let files = Arc::new(StackFiles::new(&stack_dir));
    check_loaded(sources, info, variables, stack_dir, files, request.target.as_deref())
}

/// The check of loaded sources (from disk, or as last applied): check,
/// select the target, evaluate its block, hash.
fn check_loaded(
    sources: Sources,
    info: StackInfo,
    variables: Vec<(String, Value)>,
    stack_dir: PathBuf,
    files: Arc<StackFiles>,
    target_arg: Option<&str>,
) -> Result<CheckedStack, Inner> {
    let options = CheckOptions { variables, files: Some(files.clone() as Arc<dyn FileSource>) };

    let mut checked = stackc_compiler::check(&sources, &options);
    stackc_compiler::diagnostic::sort(&mut checked.diagnostics);
    let mut hir = match checked.stack.take() {
        Some(hir) if !checked.has_errors() => hir,
        stack => {
            let diagnostics = checked.diagnostics;
            return Err(Inner::Diagnostics(Box::new(Partial { sources, info, diagnostics, stack })));
        }
    };
    let warnings = checked.diagnostics;

    let stack_name = stack_name_of(&stack_dir);
    hir.name = stack_name.clone();
    let fail = |sources, info, mut all: Vec<Diagnostic>, hir| {
        stackc_compiler::diagnostic::sort(&mut all);
        Inner::Diagnostics(Box::new(Partial { sources, info, diagnostics: all, stack: Some(hir) }))
    };
    let target = match expand::select_target(&hir, target_arg, &crate::target_names(), expand::no_span()) {
        Ok(target) => target,
        // Several targets and no `--target`: `check` expands each one;
        // `compile` reports E0506 for the commands that need one.
        Err(diagnostic) if target_arg.is_none() => {
            debug_assert_eq!(diagnostic.code, stackc_compiler::Code::TargetRequired);
            None
        }
        Err(diagnostic) => {
            let mut all = warnings;
            all.push(diagnostic);
            return Err(fail(sources, info, all, hir));
        }
    };

    let evaluator = ExpressionEvaluator::with_files(files.clone());
    let (target_attributes, problems) =
        evaluate_target_attributes(&hir, target.as_deref(), &hir.variables, &evaluator);
    if !problems.is_empty() {
        let mut all = warnings;
        all.extend(problems);
        return Err(fail(sources, info, all, hir));
    }

    let mut checked = CheckedStack {
        sources,
        info,
        stack_name,
        stack_dir,
        hir,
        target,
        target_attributes,
        warnings,
        source_hash: String::new(),
        files,
        autoscaled_replicas: IndexMap::new(),
        rollouts: IndexMap::new(),
    };
    // The check evaluates the stack's own expressions; `file()` in a
    // component body is evaluated only by expansion: expand once first (the
    // result is dropped) so the hash covers those reads too.
    let uses_file = checked.info.user_files.iter().any(|id| checked.sources.get(*id).text.contains("file("));
    if uses_file {
        for target in checked.targets_to_check() {
            let _ = checked.expand_for(target.as_deref(), None);
        }
    }
    checked.source_hash =
        source_hash(&checked.sources, &checked.hir, checked.target.as_deref(), &checked.files);
    Ok(checked)
}

// ---------------------------------------------------------------- the last applied configuration

/// What `apply` records in the state for `stackc reconcile`: the inputs
/// of this compilation (files, `file()` reads, variables, target).
pub fn applied_configuration(checked: &CheckedStack) -> stackc_planner::state::AppliedConfiguration {
    let files = checked
        .info
        .user_files
        .iter()
        .map(|id| {
            let file = checked.sources.get(*id);
            let name = Path::new(&file.path)
                .file_name()
                .map_or_else(|| file.path.clone(), |n| n.to_string_lossy().into_owned());
            (name, file.text.to_string())
        })
        .collect();
    stackc_planner::state::AppliedConfiguration {
        stackc_version: env!("CARGO_PKG_VERSION").to_string(),
        target: checked.target.clone(),
        files,
        file_reads: checked.files.reads(),
        variables: Value::Object(checked.hir.variables.clone()),
        source_hash: checked.source_hash.clone(),
        time: stackc_provider_builtin::rfc3339(std::time::SystemTime::now()),
    }
}

/// [`check_stack`] of the configuration recorded by the last apply
/// (`stackc reconcile`): its files instead of the directory's, its
/// variable values, its target, and `file()` answered from what that
/// apply read. `stack_dir` is where the state lives (and the stack name).
pub fn check_applied(
    applied: &stackc_planner::state::AppliedConfiguration,
    stack_dir: &Path,
) -> Result<CheckedStack, Failure> {
    let mut sources = Sources::new();
    let mut user_paths = Vec::new();
    let user_files = applied
        .files
        .iter()
        .map(|(name, text)| {
            let path = stack_dir.join(name);
            let shown = load::display_path(&path);
            user_paths.push(path);
            sources.add(stackc_compiler::SourceFile::new(shown, text.clone(), Origin::User))
        })
        .collect();
    let stdlib_files = load::add_stdlib(&mut sources);
    let info = StackInfo { root: stack_dir.to_path_buf(), user_files, user_paths, stdlib_files };
    let variables = match &applied.variables {
        Value::Object(values) => {
            values.iter().map(|(name, value)| (name.clone(), value.unmarked())).collect()
        }
        _ => Vec::new(),
    };
    let files = Arc::new(StackFiles::replaying(stack_dir, applied.file_reads.iter().cloned().collect()));
    check_loaded(sources, info, variables, stack_dir.to_path_buf(), files, applied.target.as_deref()).map_err(
        |inner| match inner {
            Inner::Load(error) => Failure::Load(error),
            Inner::Diagnostics(partial) => {
                Failure::Diagnostics { sources: partial.sources, diagnostics: partial.diagnostics }
            }
        },
    )
}

impl CheckedStack {
    /// Expands for the selected target; `prior` gives attributes from state
    /// by address (a generated password's `result`). On errors, fails with
    /// them and the check's warnings, sorted.
    pub fn compile(&self, prior: Option<PriorLookup<'_>>) -> Result<Compiled, Vec<Diagnostic>> {
        let (graph, mut diagnostics) = self.expand_for(self.target.as_deref(), prior);
        match graph {
            Some(graph) if !diagnostics.iter().any(Diagnostic::is_error) => {
                Ok(Compiled { graph, warnings: diagnostics })
            }
            _ => {
                diagnostics.extend(self.warnings.iter().cloned());
                stackc_compiler::diagnostic::sort(&mut diagnostics);
                Err(diagnostics)
            }
        }
    }

    /// The targets `check` expands for: the selected one, else every
    /// declared one, else once without a target.
    pub fn targets_to_check(&self) -> Vec<Option<String>> {
        if let Some(target) = &self.target {
            return vec![Some(target.clone())];
        }
        if self.hir.targets.is_empty() {
            return vec![None];
        }
        self.hir.target_names().map(|t| Some(t.to_string())).collect()
    }

    /// What `stackc check` adds to the type check: the diagnostics of
    /// expanding for every target of [`CheckedStack::targets_to_check`].
    /// A diagnostic found for several targets is reported once; one found
    /// for some targets only (of several) says which, unless its message
    /// already names them.
    pub fn expansion_diagnostics(&self) -> Vec<Diagnostic> {
        let targets = self.targets_to_check();
        // Keyed like the engine's own deduplication: code, place, message.
        let mut found: Vec<(Diagnostic, Vec<String>)> = Vec::new();
        for target in &targets {
            let (graph, diagnostics) = self.expand_for(target.as_deref(), None);
            // Only the diagnostics are wanted: the graph (a large stack's is
            // tens of thousands of allocations) is freed on another thread.
            if let Some(graph) = graph {
                if graph.len() >= 1000 {
                    let _ = std::thread::Builder::new().spawn(move || drop(graph));
                }
            }
            for diagnostic in diagnostics {
                let same = found.iter_mut().find(|(d, _)| {
                    d.code == diagnostic.code
                        && d.primary.span == diagnostic.primary.span
                        && d.message == diagnostic.message
                });
                let name = target.clone().unwrap_or_default();
                match same {
                    Some((_, on)) => on.push(name),
                    None => found.push((diagnostic, vec![name])),
                }
            }
        }
        let mut out: Vec<Diagnostic> = found
            .into_iter()
            .map(|(mut diagnostic, on)| {
                let named = |t: &String| diagnostic.message.contains(&format!("`{t}`"));
                if targets.len() > 1 && on.len() < targets.len() && !on.iter().all(named) {
                    let listed: Vec<String> = on.iter().map(|t| format!("`{t}`")).collect();
                    let which = match listed.as_slice() {
                        [one] => format!("target {one}"),
                        [init @ .., last] => format!("targets {} and {last}", init.join(", ")),
                        [] => String::new(),
                    };
                    diagnostic.message = format!("{} Found when expanding for {which}.", diagnostic.message);
                }
                diagnostic
            })
            .collect();
        stackc_compiler::diagnostic::sort(&mut out);
        out
    }

    /// The evaluator for this stack (its `file()` reads the stack directory).
    pub fn evaluator(&self) -> ExpressionEvaluator {
        ExpressionEvaluator::with_files(self.files.clone())
    }

    fn expand_for(
        &self,
        target: Option<&str>,
        prior: Option<PriorLookup<'_>>,
    ) -> (Option<ResourceGraph>, Vec<Diagnostic>) {
        let schemas = schemas();
        let options = ExpandOptions {
            target,
            prior,
            evaluator: Arc::new(self.evaluator()),
            command_line_span: expand::no_span(),
            target_defaults: target_defaults(target),
            autoscaled_replicas: self.autoscaled_replicas.clone(),
            rollouts: self.rollouts.clone(),
        };
        expand::expand(&self.hir, &schemas, options)
    }
}

/// Every provider's resource schemas: the built-in ones and each registered
/// target's, with the settings each target requires.
pub fn schemas() -> SchemaSet {
    let mut set = SchemaSet::default();
    for schema in stackc_provider_builtin::schemas() {
        set.add(schema);
    }
    for target in crate::targets() {
        for schema in (target.schemas)() {
            set.add(schema);
        }
        for setting in (target.required_settings)() {
            set.require_target_setting(target.name, setting);
        }
    }
    set
}

/// A PriorLookup over a loaded state's resources (attributes by address).
pub fn prior_from_state(
    state: &stackc_planner::state::State,
) -> impl Fn(&stackc_compiler::graph::ResourceAddress) -> Option<Value> + '_ {
    move |address| state.resources.get(address).map(|resource| resource.attributes.clone())
}

// ---------------------------------------------------------------- the stack's place

/// The stack directory: the path itself, or a single file's parent.
pub fn stack_dir_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The stack directory's own name (`shop` for `examples/shop` or for `.`
/// inside it); `stack` when it has none (the root directory).
pub fn stack_name_of(dir: &Path) -> String {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute.file_name().map_or_else(|| "stack".to_string(), |name| name.to_string_lossy().into_owned())
}

// ---------------------------------------------------------------- target attributes

struct VariableRoots<'a>(&'a Value);

impl Roots for VariableRoots<'_> {
    fn root(&self, name: &str) -> Option<std::borrow::Cow<'_, Value>> {
        (name == "var").then_some(std::borrow::Cow::Borrowed(self.0))
    }
}

/// What a target's block may leave to the environment (the aws target's
/// `region` from `AWS_REGION`): the registered target's
/// `environment_defaults`, none without a target or for an unknown one.
pub fn target_defaults(target: Option<&str>) -> stackc_model::Fields {
    target.and_then(crate::target).map(|target| (target.environment_defaults)()).unwrap_or_default()
}

/// The selected target block's attributes, evaluated with the variables
/// (the only root a target block sees).
fn evaluate_target_attributes(
    hir: &stackc_compiler::hir::Stack,
    target: Option<&str>,
    variables: &stackc_model::Fields,
    evaluator: &ExpressionEvaluator,
) -> (Value, Vec<Diagnostic>) {
    let Some(block) = target.and_then(|t| hir.targets.iter().find(|b| b.name == t)) else {
        return (Value::Null, Vec::new());
    };
    let variables = Value::Object(variables.clone());
    let roots = VariableRoots(&variables);
    let mut fields = stackc_model::Fields::default();
    let mut problems = Vec::new();
    for attribute in &block.attributes {
        match evaluator.evaluate(&attribute.value, &roots) {
            Ok(value) => {
                fields.insert(attribute.name.name.clone(), value);
            }
            Err(diagnostic) => problems.push(diagnostic),
        }
    }
    (Value::Object(fields), problems)
}

// ---------------------------------------------------------------- source hash

/// Adds one length-prefixed field, so no two inputs hash alike by shifting
/// bytes from one field to the next.
fn field(hasher: &mut Sha256, tag: &str, bytes: &[u8]) {
    hasher.update((tag.len() as u64).to_le_bytes());
    hasher.update(tag.as_bytes());
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn source_hash(
    sources: &Sources,
    hir: &stackc_compiler::hir::Stack,
    target: Option<&str>,
    files: &StackFiles,
) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, "stackc", env!("CARGO_PKG_VERSION").as_bytes());
    // User files by their path relative to the stack directory (their file
    // name: a stack directory is read non-recursively), so the hash does not
    // depend on where stackc runs from.
    let mut user: Vec<(String, &str)> = Vec::new();
    let mut stdlib: Vec<(String, &str)> = Vec::new();
    for (_, file) in sources.iter() {
        match file.origin {
            Origin::User => {
                let name = Path::new(&file.path)
                    .file_name()
                    .map_or_else(|| file.path.clone(), |n| n.to_string_lossy().into_owned());
                user.push((name, &file.text));
            }
            Origin::Stdlib => stdlib.push((file.path.clone(), &file.text)),
        }
    }
    user.sort();
    stdlib.sort();
    for (path, text) in &user {
        field(&mut hasher, "user-file", path.as_bytes());
        field(&mut hasher, "bytes", text.as_bytes());
    }
    for (path, text) in &stdlib {
        field(&mut hasher, "stdlib-file", path.as_bytes());
        field(&mut hasher, "bytes", text.as_bytes());
    }
    let mut variables: Vec<(&String, &Value)> = hir.variables.iter().collect();
    variables.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in variables {
        field(&mut hasher, "variable", name.as_bytes());
        field(&mut hasher, "value", value.to_json().to_string().as_bytes());
    }
    field(&mut hasher, "target", target.unwrap_or("").as_bytes());
    // What the environment gave the target block (a plan made for one
    // AWS_REGION is stale in another).
    for (name, value) in target_defaults(target) {
        field(&mut hasher, "target-default", name.as_bytes());
        field(&mut hasher, "value", value.to_json().to_string().as_bytes());
    }
    for (path, read) in files.reads() {
        field(&mut hasher, "read-file", path.as_bytes());
        field(&mut hasher, "bytes", read.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- file()

/// Largest file `file()` reads.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// `file()`'s view of the disk: files inside the stack directory only.
/// Records what it read (or why not), for the source hash.
#[derive(Debug)]
pub struct StackFiles {
    dir: PathBuf,
    reads: Mutex<BTreeMap<String, String>>,
    /// Answers recorded by an earlier apply (`ok:<text>` / `error:<reason>`),
    /// given instead of reading the disk ([`check_applied`]).
    replay: Option<BTreeMap<String, String>>,
}

impl StackFiles {
    pub fn new(dir: &Path) -> StackFiles {
        StackFiles { dir: dir.to_path_buf(), reads: Mutex::new(BTreeMap::new()), replay: None }
    }

    /// `file()` as it answered at the apply that recorded `reads`.
    pub fn replaying(dir: &Path, reads: BTreeMap<String, String>) -> StackFiles {
        StackFiles { dir: dir.to_path_buf(), reads: Mutex::new(BTreeMap::new()), replay: Some(reads) }
    }

    /// Every path read so far with its text (or the error), by path.
    pub fn reads(&self) -> Vec<(String, String)> {
        let reads = self.reads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        reads.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The text of `path`, or why not: a clause without the path (the
    /// evaluator says "`"x"` cannot be read: <reason>").
    fn read_inside(&self, path: &str) -> Result<String, String> {
        let shown_dir = load::display_path(&self.dir);
        let relative = Path::new(path);
        if path.is_empty() {
            return Err("the path is empty".to_string());
        }
        if relative.is_absolute() {
            return Err(format!(
                "it is an absolute path; file() takes a path relative to the stack directory `{shown_dir}`"
            ));
        }
        let outside = || {
            format!(
                "it is outside the stack directory `{shown_dir}`; file() reads only files inside it, so that \
                 a stack is self-contained"
            )
        };
        // Lexically first: `..` may not climb out, even through directories that do not exist.
        let mut depth: i64 = 0;
        for component in relative.components() {
            match component {
                std::path::Component::ParentDir => depth -= 1,
                std::path::Component::Normal(_) => depth += 1,
                _ => {}
            }
            if depth < 0 {
                return Err(outside());
            }
        }
        let full = self.dir.join(relative);
        let real = std::fs::canonicalize(&full).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => {
                format!("there is no such file in the stack directory `{shown_dir}`")
            }
            _ => error.to_string(),
        })?;
        let root = std::fs::canonicalize(&self.dir).map_err(|error| error.to_string())?;
        // Then for real: a symlink may not lead out either.
        if !real.starts_with(&root) {
            return Err(outside());
        }
        let metadata = std::fs::metadata(&real).map_err(|error| error.to_string())?;
        if metadata.is_dir() {
            return Err("it is a directory".to_string());
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err(format!(
                "it is {} bytes, more than the {MAX_FILE_BYTES} file() reads",
                metadata.len()
            ));
        }
        // A FIFO or a device: refused, never waited on or read forever.
        let bytes =
            stackc_planner::files::read_regular(&real, MAX_FILE_BYTES).map_err(|error| error.to_string())?;
        String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
    }
}

impl FileSource for StackFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        let result = match &self.replay {
            Some(recorded) => match recorded.get(path) {
                Some(answer) => match answer.split_once(':') {
                    Some(("ok", text)) => Ok(text.to_string()),
                    Some((_, reason)) => Err(reason.to_string()),
                    None => Err(answer.clone()),
                },
                None => Err("the last apply did not read it (apply the stack again)".to_string()),
            },
            None => self.read_inside(path),
        };
        let recorded = match &result {
            Ok(text) => format!("ok:{text}"),
            Err(reason) => format!("error:{reason}"),
        };
        self.reads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(path.to_string(), recorded);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_compiler::graph::ResourceAddress;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("stackc-pipeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn file_reads_stay_inside_the_stack_directory() {
        let root = temp_dir("files");
        let stack = root.join("stack");
        std::fs::create_dir_all(stack.join("conf")).unwrap();
        std::fs::write(stack.join("conf/nginx.conf"), "server {}\n").unwrap();
        std::fs::write(root.join("secret.txt"), "no").unwrap();
        std::fs::write(stack.join("binary"), [0xff, 0xfe]).unwrap();
        let files = StackFiles::new(&stack);
        assert_eq!(files.read("conf/nginx.conf").unwrap(), "server {}\n");
        assert_eq!(files.read("conf/../conf/nginx.conf").unwrap(), "server {}\n");
        for path in ["../secret.txt", "conf/../../secret.txt", "../stack/conf/nginx.conf"] {
            let error = files.read(path).unwrap_err();
            assert!(error.contains("outside the stack directory"), "{path}: {error}");
        }
        let absolute = root.join("secret.txt").to_string_lossy().into_owned();
        assert!(files.read(&absolute).unwrap_err().contains("absolute path"));
        assert!(files.read("missing.txt").unwrap_err().contains("no such file"));
        assert!(files.read("conf").unwrap_err().contains("is a directory"));
        assert!(files.read("binary").unwrap_err().contains("not UTF-8"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("secret.txt"), stack.join("link")).unwrap();
            assert!(files.read("link").unwrap_err().contains("outside the stack directory"));
        }
        // Every read is recorded for the source hash, failed ones too.
        let reads: Vec<String> = files.reads().into_iter().map(|(path, _)| path).collect();
        assert!(reads.contains(&"conf/nginx.conf".to_string()) && reads.contains(&"missing.txt".to_string()));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn stack_dir_and_name() {
        assert_eq!(stack_dir_of(Path::new("main.stack.hcl")), PathBuf::from("."));
        assert_eq!(stack_dir_of(Path::new("a/b/main.stack.hcl")), PathBuf::from("a/b"));
        let root = temp_dir("name");
        let stack = root.join("shop");
        std::fs::create_dir_all(&stack).unwrap();
        assert_eq!(stack_dir_of(&stack), stack);
        assert_eq!(stack_name_of(&stack), "shop");
        assert_eq!(stack_name_of(&stack.join(".")), "shop");
        std::fs::remove_dir_all(&root).unwrap();
    }

    fn args(path: &Path, target: Option<&str>, vars: &[&str]) -> StackRequest {
        StackRequest {
            path: path.to_path_buf(),
            target: target.map(str::to_string),
            vars: vars.iter().map(|v| v.to_string()).collect(),
            ..StackRequest::default()
        }
    }

    const STACK: &str = r#"
variable "size" {
  type    = number
  default = 2
}

resource "stackc_data" "seed" {
  input = { size = var.size }
}

target "aws" {
  region = "eu-west-${var.size}"
}

target "kubernetes" {
  namespace = "demo"
}
"#;

    fn checked(path: &Path, target: Option<&str>, vars: &[&str]) -> CheckedStack {
        match check_stack(&args(path, target, vars)) {
            Ok(checked) => checked,
            Err(failure) => panic!("{failure:?}"),
        }
    }

    #[test]
    fn a_checked_stack_knows_its_place_target_and_hash() {
        let root = temp_dir("checked");
        let dir = root.join("shop");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.stack.hcl"), STACK).unwrap();

        let aws = checked(&dir, Some("aws"), &[]);
        assert_eq!((aws.stack_name.as_str(), aws.stack_dir.as_path()), ("shop", dir.as_path()));
        assert_eq!(aws.target.as_deref(), Some("aws"));
        assert_eq!(aws.target_attributes.get_path(&["region"]), Some(&Value::string("eu-west-2")));
        assert_eq!(aws.source_hash.len(), 64);
        assert!(aws.warnings.is_empty());
        // Several targets and none chosen: none selected, expansion says so.
        let none = checked(&dir, None, &[]);
        assert_eq!((none.target.as_deref(), &none.target_attributes), (None, &Value::Null));
        assert_eq!(none.targets_to_check(), vec![Some("aws".to_string()), Some("kubernetes".to_string())]);
        let problems = none.compile(None).err().unwrap();
        assert!(problems.iter().any(|d| d.code == stackc_compiler::Code::TargetRequired), "{problems:?}");
        // The graph of the selected target.
        let compiled = aws.compile(None).ok().unwrap();
        assert!(compiled.graph.get(&ResourceAddress("stackc_data.seed".into())).is_some());

        // The hash follows the variables, the target and the files, not the path's spelling.
        let same = checked(&dir.join("."), Some("aws"), &[]);
        assert_eq!(same.source_hash, aws.source_hash);
        let single = checked(&dir.join("main.stack.hcl"), Some("aws"), &[]);
        assert_eq!(
            (single.source_hash.as_str(), single.stack_dir.as_path()),
            (aws.source_hash.as_str(), dir.as_path())
        );
        assert_ne!(checked(&dir, Some("aws"), &["size=3"]).source_hash, aws.source_hash);
        assert_ne!(checked(&dir, Some("kubernetes"), &[]).source_hash, aws.source_hash);
        std::fs::write(dir.join("main.stack.hcl"), format!("{STACK}\n# a comment\n")).unwrap();
        assert_ne!(checked(&dir, Some("aws"), &[]).source_hash, aws.source_hash);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_hash_covers_the_files_read_by_file() {
        let root = temp_dir("hash-files");
        let stack = "config \"web\" {\n  data = { \"app.conf\" = file(\"app.conf\") }\n}\n\ntarget \"kubernetes\" {}\n";
        std::fs::write(root.join("main.stack.hcl"), stack).unwrap();
        std::fs::write(root.join("app.conf"), "a = 1\n").unwrap();
        let first = checked(&root, None, &[]);
        assert_eq!(first.files.reads().len(), 1, "check read the file");
        // A read during expansion (a component body's) counts too.
        let body = "component \"thing\" {\n  on \"kubernetes\" {\n    resource \"kubernetes_manifest\" \"cm\" {\n      manifest = { apiVersion = \"v1\", kind = \"ConfigMap\", metadata = { name = self.dns_name }, data = { a = file(\"body.txt\") } }\n    }\n  }\n}\nthing \"t\" {}\n";
        std::fs::write(root.join("body.stack.hcl"), body).unwrap();
        std::fs::write(root.join("body.txt"), "b").unwrap();
        let with_body = checked(&root, None, &[]);
        assert_eq!(with_body.files.reads().len(), 2, "{:?}", with_body.files.reads());
        std::fs::write(root.join("body.txt"), "c").unwrap();
        assert_ne!(checked(&root, None, &[]).source_hash, with_body.source_hash);
        std::fs::remove_file(root.join("body.stack.hcl")).unwrap();
        assert_eq!(checked(&root, None, &[]).source_hash, first.source_hash);
        std::fs::write(root.join("app.conf"), "a = 2\n").unwrap();
        assert_ne!(checked(&root, None, &[]).source_hash, first.source_hash);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn failures_are_data() {
        let root = temp_dir("failures");
        std::fs::write(root.join("main.stack.hcl"), STACK).unwrap();
        // An undeclared --target: the E0502, with the sources it points into.
        let Err(Failure::Diagnostics { diagnostics, sources }) = check_stack(&args(&root, Some("gcp"), &[]))
        else {
            panic!("an undeclared target was accepted")
        };
        assert_eq!(diagnostics.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), ["E0502"]);
        assert!(sources.len() > 1);
        // A load error.
        assert!(matches!(
            check_stack(&args(&root.join("missing"), None, &[])),
            Err(Failure::Load(LoadError::NotFound { .. }))
        ));
        // `check` reports what the type check found, with what it built.
        std::fs::write(root.join("main.stack.hcl"), "variable \"x\" {\n  type = nubmer\n}\n").unwrap();
        let report = check(&args(&root, None, &[])).unwrap();
        assert!(report.diagnostics.iter().any(Diagnostic::is_error));
        assert!(report.stack.is_some());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn overlays_win_over_the_disk() {
        let root = temp_dir("overlays");
        std::fs::write(root.join("main.stack.hcl"), STACK).unwrap();
        let mut request = args(&root, Some("aws"), &[]);
        request.overlays.insert(root.join("main.stack.hcl"), STACK.replace("default = 2", "default = 5"));
        let checked = check_stack(&request).ok().unwrap();
        assert_eq!(checked.target_attributes.get_path(&["region"]), Some(&Value::string("eu-west-5")));
        // An unsaved new file joins the stack; its problems are reported at it.
        request.overlays.insert(root.join("extra.stack.hcl"), "locals {\n  x = var.nope\n}\n".into());
        let report = check(&request).unwrap();
        let paths: Vec<&Path> = report.info.user_paths.iter().map(PathBuf::as_path).collect();
        assert_eq!(paths, [root.join("extra.stack.hcl").as_path(), root.join("main.stack.hcl").as_path()]);
        let problem = report.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert_eq!(problem.primary.span.file, report.info.user_files[0]);
        // A stack in memory only.
        let memory = root.join("nowhere");
        let request = StackRequest {
            path: memory.clone(),
            overlays: [(memory.join("a.stack.hcl"), STACK.to_string())].into_iter().collect(),
            target: Some("kubernetes".into()),
            ..StackRequest::default()
        };
        assert!(check_stack(&request).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn check_reports_a_problem_of_several_targets_once() {
        let root = temp_dir("targets");
        let text = "resource \"stackc_data\" \"x\" {\n  inptu = 1\n}\n\non \"aws\" {\n  resource \"aws_ecs_cluster\" \"c\" {\n    name = \"c\"\n    size = 1\n  }\n}\n\ntarget \"aws\" {\n  region = \"eu-west-3\"\n}\ntarget \"local\" {}\n";
        std::fs::write(root.join("main.stack.hcl"), text).unwrap();
        let stack = checked(&root, None, &[]);
        let messages: Vec<String> = stack.expansion_diagnostics().into_iter().map(|d| d.message).collect();
        assert_eq!(
            messages,
            vec![
                "Resource type `stackc_data` has no attribute `inptu`.".to_string(),
                "Resource type `aws_ecs_cluster` has no attribute `size`. Found when expanding for target `aws`."
                    .to_string(),
            ]
        );
        // With --target, only that target is expanded, and nothing is added.
        let local = checked(&root, Some("local"), &[]);
        let messages: Vec<String> = local.expansion_diagnostics().into_iter().map(|d| d.message).collect();
        assert_eq!(messages, vec!["Resource type `stackc_data` has no attribute `inptu`.".to_string()]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn schemas_cover_every_provider() {
        let schemas = schemas();
        for name in
            ["random_password", "stackc_data", "aws_instance", "kubernetes_manifest", "docker_container"]
        {
            assert!(schemas.schemas.contains_key(name), "{name}");
        }
    }
}
