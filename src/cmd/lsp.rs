//! `stackc lsp`: the language server, on stdin and stdout (the
//! `stackc-lsp` crate). An editor starts it; a person does not type to it.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Accepted for editors that pass it (the server always speaks on stdio).
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: Args) -> ExitCode {
    match stackc_lsp::run_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: stackc lsp: {error}");
            ExitCode::from(1)
        }
    }
}
