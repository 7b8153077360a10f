//! The formatter's tests: snapshots of its decisions on small inputs;
//! idempotence and meaning preservation over every stack file of the
//! repository and over randomly mutated copies of them.

use super::*;
use std::path::{Path, PathBuf};

fn fmt(text: &str) -> String {
    match format_source(text) {
        Ok(formatted) => formatted,
        Err(error) => panic!("{error}:\n{text}"),
    }
}

/// Formats `input`, checks the result is stable, and shows both for a snapshot.
fn decision(input: &str) -> String {
    let output = fmt(input);
    assert_eq!(fmt(&output), output, "formatting twice changes it");
    assert_eq!(ast_of(input), ast_of(&output), "the formatted text means something else");
    format!("{input}\n---- formatted ----\n{output}")
}

/// The compiler's syntax tree of `text`, spans erased.
fn ast_of(text: &str) -> String {
    let (file, diagnostics) = crate::syntax::parse(FileId(0), text);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    let spans =
        regex_lite::Regex::new(r"Span \{ file: FileId\(\d+\), start: \d+, end: \d+ \}").expect("regex");
    spans.replace_all(&format!("{:?}", file.body), "Span").into_owned()
}

#[test]
fn attributes_align_in_runs_of_single_lines() {
    insta::assert_snapshot!(decision(
        "a = 1\nlonger_name = \"x\"\n  b=2 # trailing\n\nafter_blank = 3\nc = 4\n# a comment line ends a run\nd_long = 5\ne = 6\nmulti = [\n  1,\n]\nf = 7\nshort = { x = 1, yy = 2 }\n"
    ));
}

#[test]
fn blank_lines_collapse_and_blocks_are_separated() {
    insta::assert_snapshot!(decision(
        "\n\n# header\n\n\n\nblock \"a\" {\n\n\n  x = 1\n\n\n\n  y = 2\n\n}\nblock \"b\" {\n  nested {\n    z = 3\n  }\n  w = 4\n}\n# about c\nblock \"c\" {}\none { x = 1 }\ntwo { x = 2 }\n\n\n"
    ));
}

#[test]
fn comments_stay_where_they_were() {
    insta::assert_snapshot!(decision(
        "# hash comment   \n// slash comment\nblock {\n      # indented too far\n  a = 1 // trailing slash\n  /* block\n     comment  \n   kept */\n  b = /* inline */ 2\n  list = [\n    1, # one\n    # between\n    2,\n  ]\n    # before the end\n}\n"
    ));
}

#[test]
fn nested_objects_and_calls_reindent_to_their_nesting() {
    insta::assert_snapshot!(decision(
        "resource \"x\" \"y\" {\n        manifest = {\n    spec = {\n   ports = [{\n  name = \"http\", port = 80\n        }, {\n     name = \"https\"\n    port = 443\n    }]\n  labels = merge(local.labels, {\n      extra = \"yes\"\n  })\n   }\n  }\n}\n"
    ));
}

#[test]
fn heredocs_and_strings_are_never_changed() {
    insta::assert_snapshot!(decision(
        "block {\n      script = <<EOT\n  keep   this   \n    exactly\nEOT\n        indented = <<-EOT\n      also kept\n        as is\n      EOT\n  s = \"  spaces ${ var.x  } %{ if true }yes%{ endif }  \"\n    args = [<<EOT\ninside a list\nEOT\n    , \"next\"]\n}\n"
    ));
}

#[test]
fn for_expressions_and_operators_are_spaced() {
    insta::assert_snapshot!(decision(
        "a = [for x in var.list: upper(x) if x!=\"\"]\nb = {for k,v in var.map: k=>v...}\nc = var.n*2+1 - -var.m\nd = !var.flag&&var.other||true\ne = var.list[*].id\nf = var.list.*.id\ng = local.m[\"k\"][0].name\nh = var.x==null?\"default\":var.x\ni = {a=1}[\"a\"]\nj = (1+2)*3\nk = [1.5e-3,2E+10,0.5]\nl = a.0.b\nm = f(var.list...)\nn = {}\no = []\n"
    ));
}

#[test]
fn long_lists_keep_their_lines() {
    insta::assert_snapshot!(decision(
        "ports = [\n80,\n  443,\n      8080, 8443,\n9000\n]\nnames = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\", \"k\", \"l\", \"m\", \"n\", \"o\"]\nnested = [\n  [1, 2],\n  [\n  3,\n  4,\n  ],\n]\n"
    ));
}

#[test]
fn tabs_carriage_returns_and_trailing_space_go() {
    assert_eq!(fmt("a\t=\t1   \r\nblock {\r\n\tb = 2\t\r\n}\r\n"), "a = 1\nblock {\n  b = 2\n}\n");
    assert_eq!(fmt("\u{feff}a = 1"), "a = 1\n");
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n\n"), "");
    assert_eq!(fmt("# only a comment"), "# only a comment\n");
}

#[test]
fn an_input_that_does_not_parse_is_an_error_with_its_diagnostics() {
    let Err(FormatError::Syntax(diagnostics)) = format_file(FileId(3), "block {\n  a = \n}\n") else {
        panic!("formatted a file that does not parse")
    };
    assert!(!diagnostics.is_empty());
    assert!(diagnostics.iter().all(|d| d.code == Code::SyntaxError && d.primary.span.file == FileId(3)));
    // A repeated attribute does not parse either (hcl-edit refuses it).
    let Err(FormatError::Syntax(diagnostics)) = format_source("a = 1\na = 2\n") else { panic!("formatted") };
    assert_eq!(diagnostics[0].code, Code::DuplicateAttribute);
}

#[test]
fn the_tree_comparison_sees_a_change_of_meaning() {
    let parse = |text: &str| hcl_edit::parser::parse_body(text).expect("parses");
    assert!(same_tree(parse("a = [1, # c\n 2]\n"), parse("a = [1,\n  2 /* d */]")));
    assert!(!same_tree(parse("a = 1 - 2"), parse("a = 1 - 3")));
    assert!(!same_tree(parse("a = \"x \""), parse("a = \"x\"")));
    assert!(!same_tree(parse("a = <<EOT\n x\nEOT\n"), parse("a = <<EOT\nx\nEOT\n")));
}

// ------------------------------------------------------------ corpus

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every stack file of the stdlib, the examples and the UI test inputs.
fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs =
        vec![repository().join("stdlib"), repository().join("examples"), repository().join("tests/ui")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().ends_with(".stack.hcl") {
                let text = std::fs::read_to_string(&path).expect("text");
                files.push((path, text));
            }
        }
    }
    files.sort();
    assert!(files.len() > 100, "found only {} files", files.len());
    files
}

#[test]
fn every_stack_file_formats_stably_and_keeps_its_meaning() {
    let mut formatted = 0;
    for (path, text) in corpus() {
        match format_source(&text) {
            Ok(output) => {
                assert_eq!(fmt(&output), output, "{}: formatting twice changes it", path.display());
                assert_eq!(ast_of(&text), ast_of(&output), "{}: meaning changed", path.display());
                formatted += 1;
            }
            // UI cases of syntax errors do not parse; nothing else may fail.
            Err(FormatError::Syntax(_)) => assert!(
                crate::syntax::parse(FileId(0), &text).1.iter().any(|d| d.is_error()),
                "{}",
                path.display()
            ),
            Err(error) => panic!("{}: {error}", path.display()),
        }
    }
    assert!(formatted > 100, "formatted only {formatted} files");
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// A place between two tokens, and what may go there without breaking the
/// syntax: line breaks only inside brackets or next to one, a line comment
/// only at the end of a line.
struct Boundary {
    offset: usize,
    in_brackets: bool,
    at_line_end: bool,
}

fn boundaries(text: &str) -> Vec<Boundary> {
    let tokens = tokens::tokens(text);
    let mut depth = 0usize;
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_opener() {
            depth += 1;
        } else if token.is_closer() {
            depth = depth.saturating_sub(1);
        }
        let next = tokens.get(i + 1);
        out.push(Boundary {
            offset: token.text.as_ptr() as usize - text.as_ptr() as usize + token.text.len(),
            in_brackets: depth > 0,
            at_line_end: token.kind == tokens::Kind::Newline
                || next.is_none_or(|t| t.kind == tokens::Kind::Newline),
        });
    }
    out
}

/// Inserts or deletes blank space, line breaks and comments at random token
/// boundaries: whatever still parses must format stably to the same tree.
#[test]
fn randomly_mutated_files_format_stably_and_keep_their_meaning() {
    const MUTANTS_PER_FILE: usize = 6;
    const EDITS_PER_MUTANT: usize = 6;
    let anywhere = [" ", "  ", "\t", " /* note */ ", "/**/"];
    let multi_line = ["\n", "\n\n\n", " # note\n", " // note\n", "/*\n  two lines */", "\n  \t\n"];
    let mut random = Random(0x5eed_f00d_cafe_beef);
    let (mut parsed, mut tried) = (0, 0);
    for (path, text) in corpus() {
        let places = boundaries(&text);
        for _ in 0..MUTANTS_PER_FILE {
            let mut mutant = text.clone();
            let mut at: Vec<&Boundary> =
                (0..EDITS_PER_MUTANT).map(|_| &places[random.below(places.len())]).collect();
            // From the end, so earlier offsets stay valid.
            at.sort_unstable_by_key(|place| std::cmp::Reverse(place.offset));
            for place in at {
                let offset = place.offset;
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"');
                match random.below(3) {
                    0 => {
                        let rest = &mutant[offset..];
                        let blank = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                        let joins = word(mutant[..offset].chars().next_back())
                            && word(mutant[offset + blank..].chars().next());
                        if !joins {
                            mutant.replace_range(offset..offset + blank, "");
                        }
                    }
                    1 if place.in_brackets || place.at_line_end => {
                        mutant.insert_str(offset, multi_line[random.below(multi_line.len())])
                    }
                    _ => mutant.insert_str(offset, anywhere[random.below(anywhere.len())]),
                }
            }
            tried += 1;
            if hcl_edit::parser::parse_body(&mutant).is_err() {
                continue;
            }
            parsed += 1;
            let output = match format_source(&mutant) {
                Ok(output) => output,
                Err(error) => panic!("{}: {error}; the mutant:\n{mutant}", path.display()),
            };
            assert_eq!(fmt(&output), output, "{}: not stable; the mutant:\n{mutant}", path.display());
            assert_eq!(
                ast_of(&mutant),
                ast_of(&output),
                "{}: meaning changed; the mutant:\n{mutant}",
                path.display()
            );
        }
    }
    // Most mutants must parse, or the test tests little.
    assert!(parsed * 2 > tried, "only {parsed} of {tried} mutants parse");
}

/// Characters inserted or deleted anywhere (inside strings, heredocs and
/// comments too): no input makes the formatter panic, whatever parses
/// formats stably to the same tree, and what does not parse is a syntax
/// error, never `ChangedMeaning`.
#[test]
fn arbitrary_character_edits_never_break_the_formatter() {
    const MUTANTS_PER_FILE: usize = 8;
    const EDITS_PER_MUTANT: usize = 3;
    let pieces = [
        "{", "}", "[", "]", "(", ")", "\"", "${", "%{", "$${", "<<EOT\n", "\nEOT\n", "#", "//", "/*", "*/",
        "\n", " ", "\t", "\\", "-", ".", "*", "=", ":", "?", "é", "\r\n",
    ];
    let mut random = Random(0x0ddb_a11c_0ffe_e000);
    let (mut parsed, mut tried) = (0, 0);
    for (path, text) in corpus() {
        for _ in 0..MUTANTS_PER_FILE {
            let mut mutant = text.clone();
            for _ in 0..EDITS_PER_MUTANT {
                let mut at = random.below(mutant.len() + 1);
                while !mutant.is_char_boundary(at) {
                    at -= 1;
                }
                if random.below(2) == 0 {
                    let end = mutant[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                    mutant.replace_range(at..end, "");
                } else {
                    mutant.insert_str(at, pieces[random.below(pieces.len())]);
                }
            }
            tried += 1;
            match format_source(&mutant) {
                Ok(output) => {
                    parsed += 1;
                    assert_eq!(fmt(&output), output, "{}: not stable; the mutant:\n{mutant}", path.display());
                    assert_eq!(
                        ast_of(&mutant),
                        ast_of(&output),
                        "{}: meaning changed:\n{mutant}",
                        path.display()
                    );
                }
                Err(FormatError::Syntax(_)) => {}
                Err(error) => panic!("{}: {error}; the mutant:\n{mutant}", path.display()),
            }
        }
    }
    assert!(parsed * 5 > tried, "only {parsed} of {tried} mutants parse");
}
