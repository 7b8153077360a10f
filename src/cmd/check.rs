//! `stackc check`: load a stack, parse and type-check it, then expand it for
//! every target it declares (only `--target`'s when given; once without a
//! target when it declares none), and report every problem found in one
//! run. Exit 1 on any error, 0 otherwise (warnings alone do not fail).
//!
//! Expanding is what finds the problems that depend on a target: a
//! construct a target cannot express (E0501), resource types and attributes
//! checked against the providers' schemas (E0503-E0505), a construct that
//! needs a target (E0506), a repetition known only after apply (E0507). A
//! diagnostic found for several targets is shown once; one found for some
//! targets only says which.

use crate::pipeline::{self, StackArgs};
use crate::render::Format;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// How to show diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    // Human output goes to stderr; JSON and GitHub commands to stdout.
    let writer: &mut dyn Write = match args.format {
        Format::Human => &mut err,
        Format::Json | Format::Github => &mut out,
    };
    let counts = match pipeline::check(&args.stack, args.format, writer) {
        Ok(counts) => counts,
        Err(failed) => {
            let _ = writer.flush();
            return failed.exit;
        }
    };
    let _ = writer.flush();
    if counts.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
