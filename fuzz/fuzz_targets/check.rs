//! Fuzzes the whole front end: the input is split into up to four stack
//! files at NUL bytes, checked together with the embedded stdlib. Any panic,
//! hang or stack overflow is a bug (issue 2). Seed the corpus with the
//! examples: `mkdir -p corpus/check && cp ../examples/*/*.stack.hcl ../tests/ui/*/*.stack.hcl corpus/check/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackc_compiler::{CheckOptions, Origin, SourceFile, Sources};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    for (i, part) in text.split('\0').take(4).enumerate() {
        sources.add(SourceFile::new(format!("f{i}.stack.hcl"), part, Origin::User));
    }
    for (path, stdlib_text) in stackc_compiler::stdlib::files() {
        sources.add(SourceFile::new(*path, *stdlib_text, Origin::Stdlib));
    }
    let checked = stackc_compiler::check(&sources, &CheckOptions::default());
    // Every span must point inside its file, or rendering would be wrong.
    for diagnostic in &checked.diagnostics {
        for label in std::iter::once(&diagnostic.primary).chain(&diagnostic.secondary) {
            let file = sources.get(label.span.file);
            assert!(label.span.start <= label.span.end && label.span.end as usize <= file.text.len());
        }
    }
});
