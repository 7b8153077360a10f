//! `stackc state list | show | rm | mv | unlock`: inspect and edit the state
//! of a stack and target without touching any real object.
//!
//! These commands read the state backend only: they never load the
//! compiler, so they work on a stack whose sources do not check (the moment
//! one most needs them). The state is found from the stack directory and
//! the target ([`locate`]): `--target`, else the only state present, else
//! the stack's only declared target (a light scan of its `target` blocks),
//! else no target. Commands that write (`rm`, `mv`) take the state lock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indexmap::IndexMap;
use stackc_compiler::ast::{ExprKind, TemplatePart};
use stackc_compiler::graph::ResourceAddress;
use stackc_compiler::value::format_number;
use stackc_compiler::Value;
use stackc_planner::backend::{
    Backend, Condition, DataKeys, Keyring, LocalBackend, ObjectStore, RemoteBackend, StoreError, StoredObject,
};
use stackc_planner::state::{ResourceState, State};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the state is: the stack directory and the target.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Location {
    /// The target whose state to use (default: the only state present, or
    /// the stack's only target).
    #[arg(long)]
    pub target: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// List the addresses of every resource in the state.
    List {
        /// The stack directory.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        location: Location,
    },
    /// Show one resource as recorded in the state (sensitive values hidden).
    #[command(allow_missing_positional = true)]
    Show {
        /// The stack directory.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// The resource's address (`random_password.db`).
        address: String,
        #[command(flatten)]
        location: Location,
    },
    /// Forget resources: stackc stops managing them, the objects still exist.
    ///
    /// An address also matches every resource under it: `service.api`
    /// removes `service.api/...`, `stackc_data.node` removes
    /// `stackc_data.node[...]`. The first operand is the stack directory
    /// when it names one and addresses follow.
    #[command(override_usage = "stackc state rm [OPTIONS] [PATH] <ADDRESS>...")]
    Rm {
        /// PATH, optional (the stack directory, default: the current one),
        /// then the addresses to remove.
        #[arg(required = true, value_name = "ADDRESS")]
        operands: Vec<String>,
        /// The stack directory (the same as PATH).
        #[arg(long = "dir", short = 'C', value_name = "PATH", hide = true)]
        dir: Option<PathBuf>,
        #[command(flatten)]
        location: Location,
    },
    /// Rename resources in the state, after renaming them in the sources.
    ///
    /// So they are not destroyed and re-created. FROM may name every
    /// resource under it (`service.api` moves `service.api/...`). Refuses if
    /// a new address is taken or names another resource type. PATH is the
    /// stack directory (default: the current one).
    #[command(override_usage = "stackc state mv [OPTIONS] [PATH] <FROM> <TO>")]
    Mv {
        /// PATH (optional), FROM and TO (shown in the usage line).
        #[arg(num_args = 2..=3, required = true, hide = true)]
        operands: Vec<String>,
        #[command(flatten)]
        location: Location,
    },
    /// Copy the state between the local directory and the `backend "s3"` block's bucket.
    ///
    /// `--to s3` copies the local state (`.stackc/<target>/`) into the
    /// bucket the stack's `backend "s3"` block names; `--to local` copies
    /// it back. The source is left as it is. A destination that already
    /// holds a state is refused unless --force-replace.
    Migrate {
        /// The stack directory.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Where the state goes: `s3` (from the local directory) or `local` (from S3).
        #[arg(long, value_parser = ["s3", "local"])]
        to: String,
        /// Replace a state the destination already holds.
        #[arg(long)]
        force_replace: bool,
        #[command(flatten)]
        location: Location,
    },
    /// Release a lock left by a command that no longer runs.
    ///
    /// Only for a command that crashed or was killed; the id is the one the
    /// "state is locked" error shows.
    #[command(allow_missing_positional = true)]
    Unlock {
        /// The stack directory.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// The lock's id.
        id: String,
        /// Release it even though its holder still runs on this host.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        location: Location,
    },
}

/// Whether `operand` names a stack: an existing directory or a stack file.
/// Where a command's operands allow a `[PATH]` first, this tells it apart
/// from an address or an output name.
pub fn names_a_stack(operand: &str) -> bool {
    let path = Path::new(operand);
    path.is_dir() || (operand.ends_with(crate::stack::STACK_FILE_SUFFIX) && path.is_file())
}

/// Refuses `stackc state COMMAND OPERAND PATH` (the order of earlier
/// versions) with the order to use.
fn in_order(path: &Path, operand: &str, command: &str) -> CommandResult {
    if !path.exists() && names_a_stack(operand) {
        return Err(format!(
            "`{}` is not a directory and `{operand}` is: the stack directory comes first (`stackc state {command} \
             {operand} {}`)",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

/// `-C DIR` (kept from earlier versions) or the PATH operand, not both.
pub fn stack_path(path: Option<PathBuf>, dir: Option<PathBuf>) -> Result<PathBuf, String> {
    match (path, dir) {
        (Some(path), Some(dir)) => Err(format!(
            "the stack directory is given twice (`{}` and `-C {}`); give it once, first: `[PATH]`",
            path.display(),
            dir.display()
        )),
        (Some(path), None) | (None, Some(path)) => Ok(path),
        (None, None) => Ok(PathBuf::from(".")),
    }
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let result = match args.command {
        Command::List { path, location } => list(&path, &location, &mut out, &mut err),
        Command::Show { path, address, location } => in_order(&path, &address, "show")
            .and_then(|()| show(&path, &location, &address, &mut out, &mut err)),
        Command::Rm { mut operands, dir, location } => {
            let path = (operands.len() > 1 && names_a_stack(&operands[0]))
                .then(|| PathBuf::from(operands.remove(0)));
            stack_path(path, dir).and_then(|path| remove(&path, &location, &operands, &mut out, &mut err))
        }
        Command::Mv { mut operands, location } => {
            let path =
                if operands.len() == 3 { PathBuf::from(operands.remove(0)) } else { PathBuf::from(".") };
            move_resources(&path, &location, &operands[0], &operands[1], &mut out, &mut err)
        }
        Command::Migrate { path, to, force_replace, location } => {
            migrate(&path, &location, &to, force_replace, &mut out, &mut err)
        }
        Command::Unlock { path, id, force, location } => {
            in_order(&path, &id, "unlock").and_then(|()| unlock(&path, &location, &id, force, &mut out))
        }
    };
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        }
    }
}

/// A failure, as the message shown after `error: `.
pub type CommandResult = Result<(), String>;

/// The backend of the stack at `dir` (a directory, or a file in it) for the
/// target chosen as the module docs say.
pub fn locate(dir: &Path, location: &Location) -> Result<Backend, String> {
    let stack_dir =
        if dir.is_file() { dir.parent().unwrap_or(Path::new(".")).to_path_buf() } else { dir.to_path_buf() };
    if !stack_dir.is_dir() {
        return Err(format!("`{}` is not a directory", crate::stack::display_path(&stack_dir)));
    }
    if backend_config(&stack_dir)?.is_some() {
        // Remote: the target is the one given, else the stack's only one.
        let target = match (&location.target, stackc_driver::declared_targets(&stack_dir).as_slice()) {
            (Some(target), _) => Some(target.clone()),
            (None, []) => None,
            (None, [only]) => Some(only.clone()),
            (None, several) => {
                return Err(format!(
                    "the stack in `{}` declares several targets ({}); choose one with --target",
                    crate::stack::display_path(&stack_dir),
                    several.join(", ")
                ))
            }
        };
        return open_backend(&stack_dir, target.as_deref());
    }
    Ok(Backend::Local(locate_local(&stack_dir, location)?))
}

/// The local backend of the stack directory `stack_dir`, for the target
/// chosen as the module docs say.
fn locate_local(stack_dir: &Path, location: &Location) -> Result<LocalBackend, String> {
    let stack_dir = stack_dir.to_path_buf();
    if let Some(target) = &location.target {
        return Ok(LocalBackend::new(stack_dir, Some(target)).with_keyring(keyring()?));
    }
    let present = LocalBackend::targets_present(&stack_dir).map_err(|e| e.to_string())?;
    let declared = stackc_driver::declared_targets(&stack_dir);
    let target = match present.as_slice() {
        [only] => only.clone(),
        [] => match declared.as_slice() {
            [] => None,
            [only] => Some(only.clone()),
            several => {
                return Err(format!(
                "the stack in `{}` declares several targets ({}) and none has a state yet; choose one with \
                     --target",
                crate::stack::display_path(&stack_dir),
                several.join(", ")
            ))
            }
        },
        several => match declared.as_slice() {
            [only] if several.contains(&Some(only.clone())) => Some(only.clone()),
            _ => {
                let names: Vec<&str> =
                    several.iter().map(|t| t.as_deref().unwrap_or("default (no target)")).collect();
                return Err(format!(
                    "the stack in `{}` has several states ({}); choose one with --target",
                    crate::stack::display_path(&stack_dir),
                    names.join(", ")
                ));
            }
        },
    };
    Ok(LocalBackend::new(stack_dir, target.as_deref()).with_keyring(keyring()?))
}

/// The keys that encrypt the state at rest, as the environment configures
/// them (`STACKC_STATE_PASSPHRASE`, `STACKC_STATE_PASSPHRASE_PREVIOUS`,
/// `STACKC_STATE_KMS_KEY_ID`, `STACKC_STATE_ALLOW_PLAINTEXT`; see
/// `docs/encryption.md`). Made once per process, so a passphrase is
/// derived once. `Err` is the sentence shown after `error: `.
pub fn keyring() -> Result<Option<std::sync::Arc<Keyring>>, String> {
    let kms: std::sync::Arc<dyn DataKeys> = std::sync::Arc::new(KmsDataKeys);
    static KEYRING: std::sync::OnceLock<Result<Option<std::sync::Arc<Keyring>>, String>> =
        std::sync::OnceLock::new();
    KEYRING
        .get_or_init(|| {
            Keyring::from_env(|name| std::env::var(name).ok(), Some(kms))
                .map(|keyring| keyring.map(std::sync::Arc::new))
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// AWS KMS data keys for the keyring, through the AWS provider's
/// transport, configured as the provider is without a target block
/// (`AWS_REGION`, `AWS_ENDPOINT_URL`, the standard credential chain).
/// Each call runs on a runtime of its own, on a thread of its own: the
/// keyring is called from synchronous code, which may itself run inside
/// the command's runtime. A command makes one or two calls (one data key
/// generated per process, one decrypted per key read).
struct KmsDataKeys;

impl KmsDataKeys {
    fn run<T: Send + 'static>(
        work: impl FnOnce(
                stackc_provider_aws::AwsProvider,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, stackc_providers::ProviderError>> + Send>,
            > + Send
            + 'static,
    ) -> Result<T, String> {
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for KMS: {e}"))?;
            runtime.block_on(async move {
                let config = stackc_provider_aws::AwsConfig::new("stackc");
                let provider = stackc_provider_aws::AwsProvider::new(config).await.map_err(|e| e.message)?;
                work(provider).await.map_err(|e| match e.code {
                    Some(code) => format!("{} ({code})", e.message),
                    None => e.message,
                })
            })
        });
        thread.join().map_err(|_| "the KMS request failed unexpectedly".to_string())?
    }
}

impl DataKeys for KmsDataKeys {
    fn generate(&self, key_id: &str) -> Result<(Vec<u8>, Vec<u8>, String), String> {
        let key_id = key_id.to_string();
        KmsDataKeys::run(move |provider| Box::pin(async move { provider.generate_data_key(&key_id).await }))
    }

    fn decrypt(&self, blob: &[u8]) -> Result<Vec<u8>, String> {
        let blob = blob.to_vec();
        KmsDataKeys::run(move |provider| Box::pin(async move { provider.decrypt_data_key(&blob).await }))
    }
}

/// The parsed stack files of `stack_dir` (what parses of each: the parser
/// never fails), sorted by name.
/// The parsed stack files of `stack_dir` whose text mentions `word` (the
/// others cannot hold what the caller looks for, and are not parsed: every
/// command opens its backend, and a large stack's parse is not free).
fn stack_bodies(stack_dir: &Path, word: &str) -> Vec<(PathBuf, stackc_compiler::ast::File)> {
    let mut bodies = Vec::new();
    let Ok(entries) = std::fs::read_dir(stack_dir) else { return bodies };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_stack_file = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(crate::stack::STACK_FILE_SUFFIX));
        let read = || stackc_planner::files::read_regular(&path, stackc_driver::load::MAX_SOURCE_BYTES).ok();
        let Some(text) = is_stack_file.then(read).flatten().and_then(|b| String::from_utf8(b).ok()) else {
            continue;
        };
        if !text.contains(word) {
            continue;
        }
        let (file, _) = stackc_compiler::syntax::parse(stackc_compiler::FileId(0), &text);
        bodies.push((path, file));
    }
    bodies.sort_by(|a, b| a.0.cmp(&b.0));
    bodies
}

/// How the user should name this state in messages: `target aws of stack dir`.
pub fn describe(backend: &Backend) -> String {
    let dir = crate::stack::display_path(backend.stack_dir());
    let state = match backend.target() {
        Some(target) => format!("target `{target}` of the stack in `{dir}`"),
        None => format!("the stack in `{dir}`"),
    };
    match backend {
        Backend::Local(_) => state,
        Backend::Remote(remote) => format!("{state} (in `{}`)", remote.state_url()),
    }
}

/// Where the state is, as the user should see it.
pub fn state_shown(backend: &Backend) -> String {
    match backend {
        Backend::Local(local) => crate::stack::display_path(&local.state_path()),
        Backend::Remote(remote) => remote.state_url(),
    }
}

/// Where the apply journal is, as the user should see it.
pub fn journal_shown(backend: &Backend) -> String {
    match backend {
        Backend::Local(local) => crate::stack::display_path(&local.journal_path()),
        Backend::Remote(remote) => remote.journal_url(),
    }
}

/// The `backend "s3"` block of a stack: literal strings (`stackc check`
/// holds them to that).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendConfig {
    pub bucket: String,
    pub key: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

/// The stack's `backend "s3"` block, read without compiling the stack (as
/// [`stackc_driver::declared_targets`]), `None` without one. A block that `check` would
/// refuse is an error here too, in a sentence.
pub fn backend_config(stack_dir: &Path) -> Result<Option<BackendConfig>, String> {
    let mut found = None;
    let files = stack_bodies(stack_dir, "backend");
    // A stack that defines a `backend` component has instances, not a backend block (as `check` reads it).
    let component = |file: &stackc_compiler::ast::File| {
        file.body.blocks_of("component").any(|b| b.labels.first().is_some_and(|l| l.name == "backend"))
    };
    if files.iter().any(|(_, file)| component(file)) {
        return Ok(None);
    }
    for (path, file) in files {
        for block in file.body.blocks_of("backend") {
            let shown = crate::stack::display_path(&path);
            let kind = block.labels.first().map(|l| l.name.clone()).unwrap_or_default();
            if kind != "s3" {
                return Err(format!(
                    "`{shown}` declares a `backend \"{kind}\"`: stackc has only an `s3` backend (run `stackc check`)"
                ));
            }
            let text = |name: &str| -> Result<Option<String>, String> {
                let Some(attribute) = block.body.attribute(name) else { return Ok(None) };
                match &attribute.value.kind {
                    ExprKind::Template(parts) => parts
                        .iter()
                        .map(|part| match part {
                            TemplatePart::Literal(text) => Some(text.as_str()),
                            _ => None,
                        })
                        .collect::<Option<String>>()
                        .map(Some),
                    _ => None,
                }
                .ok_or_else(|| {
                    format!(
                        "`{name}` of the `backend \"s3\"` block in `{shown}` must be a literal string (run `stackc \
                         check`)"
                    )
                })
            };
            let required = |name: &str| -> Result<String, String> {
                text(name)?.filter(|t| !t.is_empty()).ok_or_else(|| {
                    format!("the `backend \"s3\"` block in `{shown}` has no `{name}` (run `stackc check`)")
                })
            };
            if found.is_some() {
                return Err(
                    "the stack declares more than one `backend` block (run `stackc check`)".to_string()
                );
            }
            found = Some(BackendConfig {
                bucket: required("bucket")?,
                key: required("key")?,
                region: text("region")?,
                endpoint: text("endpoint")?,
            });
        }
    }
    Ok(found)
}

/// The backend of `stack_dir` and `target`: the `backend "s3"` block's
/// bucket when the stack has one, else the local directory; encrypted as
/// the environment says ([`keyring`]).
pub fn open_backend(stack_dir: &Path, target: Option<&str>) -> Result<Backend, String> {
    let keyring = keyring()?;
    Ok(match backend_config(stack_dir)? {
        Some(config) => Backend::Remote(remote_backend(&config, stack_dir, target).with_keyring(keyring)),
        None => Backend::Local(LocalBackend::new(stack_dir, target).with_keyring(keyring)),
    })
}

fn remote_backend(config: &BackendConfig, stack_dir: &Path, target: Option<&str>) -> RemoteBackend {
    let store: std::sync::Arc<dyn ObjectStore> = std::sync::Arc::new(S3Store::new(config.clone()));
    RemoteBackend::new(store, &config.key, stack_dir, target)
}

/// S3 objects through the AWS provider's transport (SigV4, retries,
/// timeouts), configured as the provider is: the block's `region` and
/// `endpoint`, else `AWS_REGION` and `AWS_ENDPOINT_URL`, and the standard
/// credential chain. The backend is synchronous and may be called from
/// inside the command's runtime, so requests run on a runtime of the
/// store's own (one worker thread, made at the first request) and the
/// caller waits for the answer.
struct S3Store {
    config: BackendConfig,
    runtime: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>>,
    provider: tokio::sync::OnceCell<std::sync::Arc<stackc_provider_aws::AwsProvider>>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store").field("bucket", &self.config.bucket).finish_non_exhaustive()
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // A runtime must not be dropped where blocking is not allowed.
        if let Some(Ok(runtime)) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl S3Store {
    fn new(config: BackendConfig) -> S3Store {
        S3Store { config, runtime: std::sync::OnceLock::new(), provider: tokio::sync::OnceCell::new() }
    }

    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(
                std::sync::Arc<stackc_provider_aws::AwsProvider>,
                String,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, stackc_provider_aws::S3Error>> + Send>,
            > + Send
            + 'static,
    ) -> Result<T, StoreError> {
        let runtime = self
            .runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime for S3: {e}"))
            })
            .as_ref()
            .map_err(|e| StoreError::Other(e.clone()))?;
        let provider = match self.provider.get() {
            Some(provider) => provider.clone(),
            None => {
                let mut attributes = stackc_compiler::Fields::default();
                if let Some(region) = &self.config.region {
                    attributes.insert("region".to_string(), Value::string(region));
                }
                if let Some(endpoint) = &self.config.endpoint {
                    attributes.insert("endpoint".to_string(), Value::string(endpoint));
                }
                let config = stackc_provider_aws::AwsConfig::new("stackc")
                    .with_target_attributes(&Value::Object(attributes));
                let (sender, receiver) = std::sync::mpsc::channel();
                runtime.spawn(async move {
                    let _ = sender.send(stackc_provider_aws::AwsProvider::new(config).await);
                });
                let provider =
                    receiver.recv().map_err(|_| StoreError::Other("the S3 client stopped".into()))?.map_err(
                        |e| StoreError::Other(format!("the S3 backend cannot be configured: {}", e.message)),
                    )?;
                let provider = std::sync::Arc::new(provider);
                let _ = self.provider.set(provider.clone());
                provider
            }
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        let bucket = self.config.bucket.clone();
        runtime.spawn(async move {
            let _ = sender.send(work(provider, bucket).await);
        });
        match receiver.recv().map_err(|_| StoreError::Other("the S3 request stopped".into()))? {
            Ok(value) => Ok(value),
            Err(stackc_provider_aws::S3Error::PreconditionFailed) => Err(StoreError::PreconditionFailed),
            Err(stackc_provider_aws::S3Error::Other(message)) => Err(StoreError::Other(message)),
        }
    }
}

impl ObjectStore for S3Store {
    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.config.bucket)
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        let key = key.to_string();
        let object = self.run(move |s3, bucket| Box::pin(async move { s3.s3_get(&bucket, &key).await }))?;
        Ok(object.map(|(bytes, etag)| StoredObject { bytes, etag }))
    }

    fn put(&self, key: &str, bytes: &[u8], condition: Condition) -> Result<String, StoreError> {
        let (key, bytes) = (key.to_string(), bytes.to_vec());
        let condition = match condition {
            Condition::None => stackc_provider_aws::S3Condition::None,
            Condition::IfAbsent => stackc_provider_aws::S3Condition::IfAbsent,
            Condition::IfMatch(etag) => stackc_provider_aws::S3Condition::IfMatch(etag),
        };
        self.run(move |s3, bucket| Box::pin(async move { s3.s3_put(&bucket, &key, &bytes, condition).await }))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.run(move |s3, bucket| Box::pin(async move { s3.s3_delete(&bucket, &key).await }))
    }
}

/// `state migrate`: copies the state between the local directory and the
/// configured S3 bucket, both locked meanwhile.
fn migrate(
    dir: &Path,
    location: &Location,
    to: &str,
    replace: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CommandResult {
    let stack_dir =
        if dir.is_file() { dir.parent().unwrap_or(Path::new(".")).to_path_buf() } else { dir.to_path_buf() };
    if backend_config(&stack_dir)?.is_none() {
        return Err(format!(
            "the stack in `{}` has no `backend \"s3\"` block: add one (bucket and key) to say where the state goes, \
             then run `stackc state migrate --to s3`",
            crate::stack::display_path(&stack_dir)
        ));
    }
    let remote = locate(&stack_dir, location)?;
    let local = Backend::Local(LocalBackend::new(&stack_dir, remote.target()).with_keyring(keyring()?));
    let (source, destination) = if to == "s3" { (local, remote) } else { (remote, local) };
    let source_guard = source.lock("state migrate").map_err(|e| e.to_string())?;
    let destination_guard = destination.lock("state migrate").map_err(|e| e.to_string())?;
    let state = load(&source, err)?.ok_or_else(|| no_state(&source))?;
    destination.import_state(&destination_guard, &state, replace).map_err(|e| e.to_string())?;
    destination_guard.release().map_err(|e| e.to_string())?;
    source_guard.release().map_err(|e| e.to_string())?;
    writeln!(
        out,
        "Copied the state of {} ({} resource(s), serial {}) from `{}` to `{}`. The source was left as it is: {}.",
        describe(&source),
        state.resources.len(),
        state.serial,
        state_shown(&source),
        state_shown(&destination),
        if to == "s3" {
            "commands now use the bucket (the `backend \"s3\"` block); delete the local copy once you have checked"
        } else {
            "remove the `backend \"s3\"` block for commands to use the local copy"
        }
    )
    .map_err(|e| e.to_string())
}

/// Loads the state, noting recovered journal entries on `err`. `Ok(None)`
/// when there is no state.
pub fn load(backend: &Backend, err: &mut dyn Write) -> Result<Option<State>, String> {
    let loaded = backend.load_detailed().map_err(|e| e.to_string())?;
    Ok(loaded.map(|loaded| {
        if let Some(note) = backend.journal_note(loaded.recovered, &journal_shown(backend)) {
            let _ = writeln!(err, "note: {note}");
        }
        loaded.state
    }))
}

fn no_state(backend: &Backend) -> String {
    format!(
        "there is no state for {} (`{}` does not exist): nothing has been applied yet",
        describe(backend),
        state_shown(backend)
    )
}

fn load_required(backend: &Backend, err: &mut dyn Write) -> Result<State, String> {
    load(backend, err)?.ok_or_else(|| no_state(backend))
}

fn list(dir: &Path, location: &Location, out: &mut dyn Write, err: &mut dyn Write) -> CommandResult {
    let backend = locate(dir, location)?;
    let Some(state) = load(&backend, err)? else {
        let _ = writeln!(err, "{}", no_state(&backend));
        return Ok(());
    };
    for address in state.resources.keys() {
        writeln!(out, "{address}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn show(
    dir: &Path,
    location: &Location,
    address: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CommandResult {
    let backend = locate(dir, location)?;
    let state = load_required(&backend, err)?;
    let address = ResourceAddress(address.to_string());
    let resource = state.resources.get(&address).ok_or_else(|| missing(&state, &address))?;
    write!(out, "{}", render_resource(&address, resource)).map_err(|e| e.to_string())
}

/// "no resource X in the state", with close addresses when there are some.
fn missing(state: &State, address: &ResourceAddress) -> String {
    let needle = address.as_str();
    let close: Vec<&str> = state
        .resources
        .keys()
        .map(ResourceAddress::as_str)
        .filter(|a| a.contains(needle) || needle.contains(*a))
        .take(5)
        .collect();
    let mut message = format!("no resource `{address}` in the state");
    if !close.is_empty() {
        message.push_str(&format!(
            "; did you mean {}?",
            close.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        ));
    } else {
        message.push_str("; `stackc state list` shows every address");
    }
    message
}

/// The addresses `address` selects: itself, or everything under it
/// (`X/...`, `X[...]`).
fn selected(state: &State, address: &str) -> Vec<ResourceAddress> {
    state
        .resources
        .keys()
        .filter(|a| {
            let a = a.as_str();
            a == address
                || a.strip_prefix(address).is_some_and(|rest| rest.starts_with('/') || rest.starts_with('['))
        })
        .cloned()
        .collect()
}

fn check_address(address: &str) -> CommandResult {
    if address.is_empty() || address.chars().any(char::is_whitespace) {
        return Err(format!("`{address}` is not a resource address (e.g. `random_password.db`)"));
    }
    Ok(())
}

fn remove(
    dir: &Path,
    location: &Location,
    addresses: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CommandResult {
    for address in addresses {
        check_address(address)?;
    }
    let backend = locate(dir, location)?;
    let guard = backend.lock("state rm").map_err(|e| e.to_string())?;
    let mut state = load_required(&backend, err)?;
    let mut removed = Vec::new();
    for address in addresses {
        let matched = selected(&state, address);
        if matched.is_empty() {
            return Err(format!(
                "{}; nothing was removed",
                missing(&state, &ResourceAddress(address.clone()))
            ));
        }
        removed.extend(matched.into_iter().filter(|a| !removed.contains(a)).collect::<Vec<_>>());
    }
    for address in &removed {
        state.resources.shift_remove(address);
    }
    backend.write(&guard, &mut state).map_err(|e| e.to_string())?;
    guard.release().map_err(|e| e.to_string())?;
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        for address in &removed {
            writeln!(out, "Removed {address}")?;
        }
        writeln!(
            out,
            "Removed {} resource(s) from the state (serial {}). The objects still exist: stackc no longer manages \
             them. Delete them yourself, or bring them back with `stackc import`.",
            removed.len(),
            state.serial
        )
    };
    write(out).map_err(|e| e.to_string())
}

fn move_resources(
    dir: &Path,
    location: &Location,
    from: &str,
    to: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CommandResult {
    check_address(from)?;
    check_address(to)?;
    if from == to {
        return Err(format!("`{from}` and `{to}` are the same address"));
    }
    let backend = locate(dir, location)?;
    let guard = backend.lock("state mv").map_err(|e| e.to_string())?;
    let mut state = load_required(&backend, err)?;
    let matched = selected(&state, from);
    if matched.is_empty() {
        return Err(format!("{}; nothing was moved", missing(&state, &ResourceAddress(from.to_string()))));
    }
    let renames: IndexMap<ResourceAddress, ResourceAddress> = matched
        .iter()
        .map(|old| (old.clone(), ResourceAddress(format!("{to}{}", &old.as_str()[from.len()..]))))
        .collect();
    for (old, new) in &renames {
        if state.resources.contains_key(new) && !renames.contains_key(new) {
            return Err(format!(
                "`{new}` is already in the state; nothing was moved (remove it first with `stackc state rm`)"
            ));
        }
        let type_name = &state.resources[old].type_name;
        let last = new.as_str().rsplit('/').next().unwrap_or_default();
        if !last.starts_with(&format!("{type_name}.")) {
            return Err(format!(
                "`{old}` is a `{type_name}`; its new address must name that type too (`{type_name}.NAME`), not \
                 `{new}`; nothing was moved"
            ));
        }
    }
    let old_resources = std::mem::take(&mut state.resources);
    for (address, mut resource) in old_resources {
        for dependency in &mut resource.dependencies {
            if let Some(new) = renames.get(dependency) {
                *dependency = new.clone();
            }
        }
        let address = renames.get(&address).cloned().unwrap_or(address);
        state.resources.insert(address, resource);
    }
    backend.write(&guard, &mut state).map_err(|e| e.to_string())?;
    guard.release().map_err(|e| e.to_string())?;
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        for (old, new) in &renames {
            writeln!(out, "Moved {old} to {new}")?;
        }
        writeln!(out, "Moved {} resource(s) (serial {}).", renames.len(), state.serial)
    };
    write(out).map_err(|e| e.to_string())
}

fn unlock(dir: &Path, location: &Location, id: &str, force: bool, out: &mut dyn Write) -> CommandResult {
    let backend = locate(dir, location)?;
    let released = backend.force_unlock(id, force).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "Released lock {} on {} (held by {}, pid {}, for `{}` since {}).",
        released.id,
        describe(&backend),
        released.holder,
        released.pid,
        released.operation,
        released.time
    )
    .map_err(|e| e.to_string())
}

/// A resource as `state show` prints it: a comment header, then its
/// attributes in HCL form (nulls left out, sensitive values hidden).
pub fn render_resource(address: &ResourceAddress, resource: &ResourceState) -> String {
    let mut text = format!("# {address}:\n");
    text.push_str(&format!("# id: {}\n", resource.id));
    if let Some(target) = &resource.target {
        text.push_str(&format!("# target: {target}\n"));
    }
    if !resource.dependencies.is_empty() {
        let names: Vec<&str> = resource.dependencies.iter().map(ResourceAddress::as_str).collect();
        text.push_str(&format!("# depends on: {}\n", names.join(", ")));
    }
    if resource.tainted {
        text.push_str("# tainted: the last create or update failed part-way; the next plan replaces it\n");
    }
    let last = address.as_str().rsplit('/').next().unwrap_or_default();
    let name = last.strip_prefix(&format!("{}.", resource.type_name)).unwrap_or(last);
    text.push_str(&format!("resource {:?} {:?} ", resource.type_name, name));
    match &resource.attributes {
        Value::Object(fields) => text.push_str(&render_object(fields, 0)),
        other => text.push_str(&format!("{{\n    # attributes: {}\n}}", render_value(other, 1))),
    }
    text.push('\n');
    text
}

const INDENT: &str = "    ";

/// An object in block form, keys aligned, null fields left out.
fn render_object(fields: &stackc_compiler::Fields, depth: usize) -> String {
    let shown: Vec<(String, &Value)> =
        fields.iter().filter(|(_, v)| !matches!(v, Value::Null)).map(|(k, v)| (render_key(k), v)).collect();
    if shown.is_empty() {
        return "{}".to_string();
    }
    let width = shown.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let mut text = String::from("{\n");
    for (key, value) in shown {
        let pad = width - key.chars().count();
        text.push_str(&format!(
            "{}{key}{} = {}\n",
            INDENT.repeat(depth + 1),
            " ".repeat(pad),
            render_value(value, depth + 1)
        ));
    }
    text.push_str(&INDENT.repeat(depth));
    text.push('}');
    text
}

/// One value in HCL form; nesting is bounded by the state document itself
/// (JSON parsing limits its depth to 128).
pub fn render_value(value: &Value, depth: usize) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format_number(*n),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Unknown => "(known after apply)".to_string(),
        Value::Sensitive(_) => "(sensitive)".to_string(),
        Value::List(items) if items.is_empty() => "[]".to_string(),
        Value::List(items) => {
            let mut text = String::from("[\n");
            for item in items {
                text.push_str(&format!("{}{},\n", INDENT.repeat(depth + 1), render_value(item, depth + 1)));
            }
            text.push_str(&INDENT.repeat(depth));
            text.push(']');
            text
        }
        Value::Object(fields) if fields.is_empty() => "{}".to_string(),
        Value::Object(fields) => render_object(fields, depth),
    }
}

fn render_key(key: &str) -> String {
    let identifier = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if identifier {
        key.to_string()
    } else {
        serde_json::to_string(key).unwrap_or_default()
    }
}
