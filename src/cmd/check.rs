//! `stackc check`: load a stack, parse and type-check it, and report every
//! problem found in one run. Exit 1 on any error, 0 otherwise (warnings alone
//! do not fail).

use crate::render::{self, Format, HumanStyle};
use crate::stack::{self, VariableArgs};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The stack directory (or a single .stack.hcl file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// How to show diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub variables: VariableArgs,
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let loaded = stack::load(&args.path).and_then(|loaded| Ok((loaded, args.variables.to_options()?)));
    let ((sources, _info), options) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            let _ = render::emit_load_error(args.format, &error, &mut out, &mut err);
            return ExitCode::from(1);
        }
    };
    let mut checked = stackc_compiler::check(&sources, &options);
    stackc_compiler::diagnostic::sort(&mut checked.diagnostics);
    let result =
        render::emit(args.format, HumanStyle::from_env(), &sources, &checked.diagnostics, &mut out, &mut err);
    let _ = out.flush();
    match result {
        Ok(counts) if counts.errors == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            let _ = writeln!(err, "error: cannot write diagnostics: {error}");
            ExitCode::from(1)
        }
    }
}
