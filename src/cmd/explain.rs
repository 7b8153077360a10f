use stackc_compiler::Code;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A diagnostic code, e.g. E0203.
    pub code: String,
}

pub fn run(args: Args) -> ExitCode {
    match Code::parse(&args.code) {
        Some(code) => {
            println!("{}", code.page());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown diagnostic code `{}`", args.code);
            ExitCode::from(1)
        }
    }
}
