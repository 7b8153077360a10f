//! Files on the host: `local_file` (configs, secrets, the load balancer's
//! configuration) and the secret files a container's `secret_env` becomes.
//!
//! Paths in the configuration are relative to the stack directory, except
//! those under `.stackc/local/secrets/` (where the stdlib's `secret` writes)
//! and every file with `sensitive_content`: they live under the secrets
//! directory, outside the stack directory (so a secret is never committed
//! or copied with the stack), owner-only (0700 directories, 0600 files
//! unless asked otherwise), removed on delete. A file is replaced whole (a
//! temporary file renamed over it), so a reader (nginx reloading) never
//! sees it half written; containers mount the directory that holds it, so
//! they see the new file.

use sha2::{Digest, Sha256};
use stackc_providers::ProviderError;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where relative paths of the stdlib's secrets point.
const SECRETS_PREFIX: &str = ".stackc/local/secrets/";

/// The host directories a stack's files live in.
#[derive(Clone, Debug)]
pub struct HostPaths {
    pub stack_dir: PathBuf,
    /// Secrets of this stack: `<secrets root>/<stack>-<hash of its directory>`.
    pub secrets_dir: PathBuf,
}

impl HostPaths {
    /// The secrets root is `STACKC_SECRETS_DIR`, else
    /// `$XDG_RUNTIME_DIR/stackc/secrets`, else `~/.local/state/stackc/secrets`.
    pub fn new(stack: &str, stack_dir: &Path) -> HostPaths {
        let stack_dir = std::path::absolute(stack_dir).unwrap_or_else(|_| stack_dir.to_path_buf());
        let root = std::env::var("STACKC_SECRETS_DIR")
            .ok()
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var("XDG_RUNTIME_DIR")
                    .ok()
                    .filter(|d| !d.is_empty())
                    .map(|d| PathBuf::from(d).join("stackc/secrets"))
            })
            .or_else(|| {
                std::env::var("HOME").ok().map(|h| PathBuf::from(h).join(".local/state/stackc/secrets"))
            })
            .unwrap_or_else(|| std::env::temp_dir().join("stackc-secrets"));
        let hash = hex(&Sha256::digest(stack_dir.to_string_lossy().as_bytes()))[..12].to_string();
        HostPaths { secrets_dir: root.join(format!("{stack}-{hash}")), stack_dir }
    }

    /// The host path of a configured path; `secret` for a file with
    /// sensitive content.
    pub fn resolve(&self, path: &str, secret: bool) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            return path.to_path_buf();
        }
        if let Ok(rest) = path.strip_prefix(SECRETS_PREFIX) {
            return self.secrets_dir.join(rest);
        }
        if secret {
            return self.secrets_dir.join("files").join(path);
        }
        self.stack_dir.join(path)
    }

    /// The configured spelling of a host path `resolve` made (relative to
    /// the stack directory, or under `.stackc/local/secrets/`).
    pub fn unresolve(&self, host: &Path) -> String {
        if let Ok(rest) = host.strip_prefix(&self.secrets_dir) {
            if !rest.starts_with("files") && !rest.starts_with("containers") {
                return format!("{SECRETS_PREFIX}{}", rest.to_string_lossy());
            }
        }
        match host.strip_prefix(&self.stack_dir) {
            Ok(rest) if !rest.as_os_str().is_empty() => rest.to_string_lossy().into_owned(),
            _ => host.to_string_lossy().into_owned(),
        }
    }

    fn is_secret(&self, path: &Path) -> bool {
        path.starts_with(&self.secrets_dir)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> ProviderError {
    ProviderError::new(format!("cannot {what} `{}`: {e}", path.display()))
}

/// Creates `dir` and its parents, owner-only when `private`.
pub fn create_dirs(dir: &Path, private: bool) -> Result<(), ProviderError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    if private {
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    }
    builder.create(dir).map_err(|e| io_error("create the directory", dir, e))
}

/// Writes `content` to `path` with `mode`: into a temporary file beside
/// it, renamed over it.
pub fn write_file(path: &Path, content: &[u8], mode: u32, private_dirs: bool) -> Result<(), ProviderError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    create_dirs(parent, private_dirs)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = parent.join(format!(".{name}.stackc-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&temporary, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        io_error("write", path, e)
    })
}

/// Parses `"0644"`; `None` when absent.
pub fn parse_mode(mode: Option<&str>) -> Result<Option<u32>, ProviderError> {
    match mode {
        None => Ok(None),
        Some(text) => u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o7777).map(Some).ok_or_else(|| {
            ProviderError::new(format!("file_permission `{text}` is not an octal mode like \"0644\""))
        }),
    }
}

/// The `local_file` kind.
pub struct LocalFile<'a> {
    pub paths: &'a HostPaths,
}

impl LocalFile<'_> {
    /// Writes the file; its id is its host path.
    pub fn write(&self, config: &serde_json::Value) -> Result<serde_json::Value, ProviderError> {
        let path = config["path"].as_str().unwrap_or_default();
        let secret = config["sensitive_content"].is_string();
        let host = self.paths.resolve(path, secret);
        let content = config["sensitive_content"].as_str().or(config["content"].as_str()).unwrap_or_default();
        let private = self.paths.is_secret(&host);
        let mode =
            parse_mode(config["file_permission"].as_str())?.unwrap_or(if private { 0o600 } else { 0o644 });
        write_file(&host, content.as_bytes(), mode, private)?;
        let mut attributes = config.clone();
        attributes["id"] = serde_json::Value::String(host.to_string_lossy().into_owned());
        Ok(attributes)
    }

    /// The file as it is: `None` when it is gone; its content replaces the
    /// recorded one (drift shows as a change of content).
    pub fn read(
        &self,
        id: &str,
        prior: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let host = Path::new(id);
        let bytes = match std::fs::read(host) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", host, e)),
        };
        let mut attributes = prior.clone();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let field = if prior["sensitive_content"].is_string() { "sensitive_content" } else { "content" };
        attributes[field] = serde_json::Value::String(text);
        if prior.get("file_permission").is_some_and(|m| m.is_string()) {
            let mode = std::fs::metadata(host).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
            attributes["file_permission"] = serde_json::Value::String(format!("{mode:04o}"));
        }
        attributes["id"] = serde_json::Value::String(id.to_string());
        Ok(Some(attributes))
    }

    /// Removes the file, and the directories it leaves empty up to the
    /// stack's `.stackc/local` or secrets directory.
    pub fn delete(&self, id: &str) -> Result<(), ProviderError> {
        let host = Path::new(id);
        match std::fs::remove_file(host) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove", host, e)),
        }
        let stops = [self.paths.stack_dir.join(".stackc/local"), self.paths.secrets_dir.clone()];
        remove_empty_parents(host, &stops);
        if self.paths.is_secret(host) {
            let _ = std::fs::remove_dir(&self.paths.secrets_dir);
        }
        Ok(())
    }
}

/// Removes the empty directories above `path`, stopping below any of
/// `stops` (or at the first that is not empty).
pub fn remove_empty_parents(path: &Path, stops: &[PathBuf]) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if stops.iter().any(|s| s == d) || !stops.iter().any(|s| d.starts_with(s)) {
            break;
        }
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
