//! `cargo bench -p stackc-compiler --bench format`: how long `format_source`
//! takes on large files, against one bare hcl-edit parse of the same text
//! (it parses twice, the input and its output, and lays out the tokens in
//! between: a few parses' worth, linear in the size).
//!
//! The input is the stdlib's files one after another, repeated to the size
//! (blocks and comments only at the top level, so the repeats still parse),
//! with its indentation disturbed so that every line changes. Best of
//! several runs. No benchmarking crate: a plain `main` that times and
//! prints is enough, as in the binary's benches.

use std::time::{Duration, Instant};

fn main() {
    let stdlib: String =
        stackc_compiler::stdlib::files().iter().map(|(_, text)| format!("{text}\n")).collect();
    // Every line indented one more space: all of them must be re-indented.
    let disturbed: String = stdlib.lines().map(|line| format!(" {line}\n")).collect();
    println!("{:>10} {:>10} {:>10} {:>8} {:>10}", "bytes", "parse ms", "format ms", "ratio", "MiB/s");
    for target in [64 << 10, 1 << 20, 8 << 20] {
        let mut text = String::with_capacity(target + disturbed.len());
        while text.len() < target {
            text.push_str(&disturbed);
        }
        let parse = best(|| {
            hcl_edit::parser::parse_body(&text).expect("parses");
        });
        let format = best(|| {
            stackc_compiler::format::format_source(&text).expect("formats");
        });
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:>10} {:>10.1} {:>10.1} {:>8.2} {:>10.1}",
            text.len(),
            ms(parse),
            ms(format),
            format.as_secs_f64() / parse.as_secs_f64(),
            text.len() as f64 / (1 << 20) as f64 / format.as_secs_f64()
        );
    }
}

fn best(mut run: impl FnMut()) -> Duration {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}
