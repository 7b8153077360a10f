//! Read-only copies of what is embedded in the binary, for the editor to
//! open: the stdlib's files (definition into `service`) and the diagnostic
//! codes' pages (a diagnostic's link). Written once per stackc version
//! under `$XDG_CACHE_HOME/stackc/<version>/` (else `~/.cache`, else the
//! temporary directory), each file replaced atomically and made read-only;
//! a file already there with the same text is left alone.
//!
//! Why a file and not a web address for a code's page: the page is exactly
//! what `stackc explain CODE` prints (the binary's own copy, so never a
//! page of another version), it works offline, and it opens in the editor.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cache directory of this stackc version.
fn root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
            })
            .unwrap_or_else(std::env::temp_dir);
        let root = base.join("stackc").join(env!("CARGO_PKG_VERSION"));
        std::fs::create_dir_all(&root).ok().map(|_| root)
    })
    .as_deref()
}

/// Writes `text` at `path` unless it is there already; `None` when it cannot.
fn write_once(path: &Path, text: &str) -> Option<PathBuf> {
    if std::fs::read_to_string(path).is_ok_and(|existing| existing == text) {
        return Some(path.to_path_buf());
    }
    std::fs::create_dir_all(path.parent()?).ok()?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, text).ok()?;
    let mut permissions = std::fs::metadata(&temporary).ok()?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&temporary, permissions).ok()?;
    std::fs::rename(&temporary, path).ok()?;
    Some(path.to_path_buf())
}

/// The cached copy of the stdlib file shown as `shown`
/// (`<stdlib>/service.stack.hcl`).
pub fn stdlib_file(shown: &str, text: &str) -> Option<PathBuf> {
    static WRITTEN: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Option<PathBuf>>>> =
        OnceLock::new();
    let written = WRITTEN.get_or_init(Default::default);
    let mut written = written.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = written.get(shown) {
        return path.clone();
    }
    let name = Path::new(shown).file_name()?;
    let path = root().and_then(|root| write_once(&root.join("stdlib").join(name), text));
    written.insert(shown.to_string(), path.clone());
    path
}

/// The cached page of a diagnostic code.
pub fn code_page(code: stackc_compiler::Code) -> Option<PathBuf> {
    let path = root()?.join("codes").join(format!("{}.md", code.as_str()));
    if path.exists() {
        return Some(path);
    }
    write_once(&path, code.page())
}

/// Whether `path` is one of the cache's copies (a stdlib file is not a
/// stack of its own).
pub fn is_cached(path: &Path) -> bool {
    root().is_some_and(|root| path.starts_with(root))
}
