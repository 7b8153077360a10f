//! Why a stack's input could not be loaded: the errors of reading stack
//! files and variable values, before any compiler stage runs. The driver
//! produces them; the renderers and the binary show them.

use crate::codes::Code;
use std::fmt;

/// The suffix that marks a file as part of a stack.
pub const STACK_FILE_SUFFIX: &str = ".stack.hcl";

/// Why a stack (or a variable value) could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The given path does not exist.
    NotFound { path: String },
    /// Reading a file or listing a directory failed.
    Io { path: String, error: std::io::Error },
    /// A file is not valid UTF-8.
    NotUtf8 { path: String },
    /// A directory holds no `*.stack.hcl` file (`E0103`).
    NoStackFiles { path: String },
    /// A `-var` argument is not `name=value`.
    BadVarArgument { argument: String, reason: String },
    /// A `--var-file` does not parse or holds something other than literal values.
    BadVarFile { path: String, line: usize, column: usize, reason: String },
}

impl LoadError {
    /// The diagnostic code, for errors that have one.
    pub fn code(&self) -> Option<Code> {
        match self {
            LoadError::NoStackFiles { .. } => Some(Code::NoStackFiles),
            _ => None,
        }
    }

    /// The file or path the error is about.
    pub fn path(&self) -> Option<&str> {
        match self {
            LoadError::NotFound { path }
            | LoadError::Io { path, .. }
            | LoadError::NotUtf8 { path }
            | LoadError::NoStackFiles { path }
            | LoadError::BadVarFile { path, .. } => Some(path),
            LoadError::BadVarArgument { .. } => None,
        }
    }

    /// A short fixed summary, like a diagnostic's.
    pub fn summary(&self) -> &'static str {
        match self {
            LoadError::NotFound { .. } => "Path not found",
            LoadError::Io { .. } => "Cannot read file",
            LoadError::NotUtf8 { .. } => "File is not UTF-8",
            LoadError::NoStackFiles { .. } => Code::NoStackFiles.summary(),
            LoadError::BadVarArgument { .. } => "Invalid -var argument",
            LoadError::BadVarFile { .. } => "Invalid variable file",
        }
    }

    /// How to fix it, where there is something to say.
    pub fn help(&self) -> Option<String> {
        match self {
            LoadError::NoStackFiles { .. } => Some(format!(
                "stack files end in `{STACK_FILE_SUFFIX}`; pass the directory that holds them, or one file"
            )),
            LoadError::NotUtf8 { .. } => Some("save the file as UTF-8".to_string()),
            LoadError::BadVarArgument { .. } => Some(
                "write `-var name=value`, e.g. `-var replicas=3` or `-var 'tags={team=\"shop\"}'`"
                    .to_string(),
            ),
            LoadError::BadVarFile { .. } => {
                Some("a variable file holds `name = value` lines with literal values".to_string())
            }
            _ => None,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound { path } => write!(f, "`{path}` does not exist."),
            LoadError::Io { path, error } => write!(f, "Cannot read `{path}`: {error}."),
            LoadError::NotUtf8 { path } => write!(f, "`{path}` is not valid UTF-8 text."),
            LoadError::NoStackFiles { path } => {
                write!(f, "The directory `{path}` contains no `*{STACK_FILE_SUFFIX}` file.")
            }
            LoadError::BadVarArgument { argument, reason } => write!(f, "`-var {argument}`: {reason}."),
            LoadError::BadVarFile { path, line, column, reason } => {
                write!(f, "{path}:{line}:{column}: {reason}.")
            }
        }
    }
}

impl std::error::Error for LoadError {}
