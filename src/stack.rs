//! The command line's side of loading a stack: `-var` / `--var-file`
//! arguments and Terraform-style flags. Loading itself (files, overlays,
//! variable values) is the driver's (`stackc_driver::load`); its names are
//! re-exported here for the commands.

pub use stackc_driver::load::{display_path, LoadError, STACK_FILE_SUFFIX};
use std::path::PathBuf;

/// Variable values given on the command line, shared by every command that
/// checks a stack (`check`, `build`, `plan`, `apply`): flatten it into the
/// command's `Args` with `#[command(flatten)]`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct VariableArgs {
    /// Set a variable: `-var name=value` (repeatable; later ones win). The
    /// value is read as an HCL literal (`3`, `true`, `["a"]`, `{ k = "v" }`,
    /// `"quoted"`); anything else is taken as a plain string.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file of `name = value` lines (HCL syntax).
    /// Applied before `-var` values.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

/// Rewrites Terraform-style single-dash flags (`-var`, `-var-file`, and their
/// `-var=x` forms) to the `--var` / `--var-file` clap understands, so users
/// can type what they already know. Arguments after `--` are left alone.
pub fn terraform_style_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for arg in args {
        if passthrough {
            out.push(arg);
            continue;
        }
        let rewritten = match arg.to_str() {
            Some("--") => {
                passthrough = true;
                None
            }
            Some(s)
                if s == "-var"
                    || s == "-var-file"
                    || s.starts_with("-var=")
                    || s.starts_with("-var-file=") =>
            {
                Some(format!("-{s}").into())
            }
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_flags_are_rewritten() {
        let args =
            ["stackc", "check", "-var", "a=1", "-var-file=x", "--", "-var"].map(std::ffi::OsString::from);
        let out: Vec<String> =
            terraform_style_args(args).into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(out, ["stackc", "check", "--var", "a=1", "--var-file=x", "--", "-var"]);
    }
}
