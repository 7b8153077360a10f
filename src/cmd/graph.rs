//! `stackc graph [PATH] --target T`: the resource graph in Graphviz DOT, one
//! node per resource (labelled with its address inside its instance),
//! grouped in one cluster per component instance, one edge per dependency
//! (from a resource to what it depends on). Render it with
//! `stackc graph examples/shop --target aws | dot -Tsvg > shop.svg`.
//!
//! Only the sources are read (no state): the graph's shape does not depend
//! on values generated at apply. Exit 0, or 1 on any error.

use crate::pipeline::{self, Expand as _, StackArgs};
use crate::render::Format;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let compiled = pipeline::check_stack(&args.stack, Format::Human, &mut err).and_then(|checked| {
        let compiled = checked.expand(None, Format::Human, &mut err)?;
        let mut warnings = checked.warnings.clone();
        warnings.extend(compiled.warnings.iter().cloned());
        if !warnings.is_empty() {
            checked.emit(Format::Human, &warnings, &mut err);
        }
        Ok(compiled)
    });
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err(failed) => return failed.exit,
    };
    let dot = stackc_compiler::expand::render::graph_dot(&compiled.graph);
    match out.write_all(dot.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(err, "error: cannot write the graph: {error}");
            ExitCode::from(1)
        }
    }
}
