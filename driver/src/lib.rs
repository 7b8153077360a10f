//! The stackc driver: what "check this stack" and "compile this stack for a
//! target" mean, shared by the CLI and the language server.
//!
//! - [`load`]: a stack's files (from disk, with in-memory overlays that
//!   win: an editor's unsaved buffers) into [`stackc_compiler::Sources`],
//!   variable values from `-var` and `--var-file`, declared targets.
//! - [`compile`]: [`check`] (what `stackc check` reports), [`check_stack`]
//!   then [`CheckedStack::compile`] (what `build`, `plan` and `apply`
//!   compile), with every provider's [`schemas`], target defaults from the
//!   environment (both from the [`targets`](mod@targets) registry), the `file()` sandbox ([`StackFiles`]) and the source hash.
//!
//! Boundary: nothing here renders or exits. Problems come back as data (a
//! [`LoadError`], or diagnostics with the sources they point into); the
//! binary renders them for a terminal or CI, the language server for an
//! editor.

pub mod compile;
pub mod load;
pub mod targets;

pub use compile::{
    applied_configuration, check, check_applied, check_stack, prior_from_state, schemas, stack_dir_of,
    stack_name_of, target_defaults, CheckedStack, Compiled, Failure, Report, StackFiles, StackRequest,
};
pub use load::{declared_targets, display_path, LoadError, Overlays, StackInfo, STACK_FILE_SUFFIX};
pub use targets::{target, target_names, targets, Target};
