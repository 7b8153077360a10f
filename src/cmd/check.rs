use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The stack directory (or a single .stack.hcl file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("stackc check: the front end is being written");
    ExitCode::from(1)
}
