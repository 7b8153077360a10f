//! Syntax: source text to [`ast::File`], with syntax diagnostics.
//!
//! hcl-edit does the parsing (it keeps a byte span on every node); this
//! module lowers its tree to the AST (see `lower`) and turns its errors into
//! E0101 diagnostics at the offending token. HCL forbids setting one
//! attribute twice in a body, so that check (E0108) lives here too.
//!
//! # Bounds
//!
//! No input may panic, hang or overflow the stack, and every later pass
//! (resolve, eval, type inference, expansion) recurses over the AST. So:
//!
//! - A linear pre-scan (`scan`) refuses input whose brackets, braces,
//!   parentheses, template interpolations/directives and unary-operator
//!   chains nest more than [`MAX_DEPTH`] levels, with E0102 at the opener
//!   that crosses the limit, before hcl-edit (a recursive-descent parser)
//!   sees it. hcl-edit enforces the same kind of limit itself (64 levels,
//!   128 chained binary operators); if it trips first, that is reported as
//!   E0102 too.
//! - The lowering measures every expression tree it builds and replaces one
//!   taller than [`MAX_EXPR_DEPTH`] nodes (binary-operator chains and long
//!   traversals count one node per step) by `null`, with E0102.
//!
//! Invariant: in an [`ast::File`] returned by [`parse`], blocks nest at most
//! [`MAX_DEPTH`] deep and no expression (template parts and `for` clauses
//! included) has a root-to-leaf path longer than [`MAX_EXPR_DEPTH`] nodes. A
//! pass recursing once per node therefore needs at most `MAX_DEPTH +
//! MAX_EXPR_DEPTH` frames.
//!
//! On a syntax error the returned file has an empty body: hcl-edit builds no
//! partial tree.

mod lower;
mod scan;
#[cfg(test)]
mod tests;

use crate::ast;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// The deepest syntactic nesting accepted: levels of `{ [ (`, `${ %{`, block
/// bodies and unary operators. hcl-edit's own limit is 64 levels; no real
/// stack comes near either.
pub const MAX_DEPTH: usize = 64;

/// The most nodes on any root-to-leaf path of one expression in the AST.
pub const MAX_EXPR_DEPTH: usize = 160;

/// Parses a test input (every stage's tests, the provider crates' through
/// the `test-support` feature); panics on a syntax error, since test inputs
/// are valid.
#[cfg(any(test, feature = "test-support"))]
pub fn parse_valid(file: FileId, text: &str) -> ast::File {
    let (parsed, diagnostics) = parse(file, text);
    assert!(diagnostics.is_empty(), "test input parses: {diagnostics:?}");
    parsed
}

/// Parses one file. Never fails: on a syntax error the file's body is empty
/// and the diagnostics say why.
pub fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    let empty = |diagnostics| (ast::File { id: file, body: ast::Body::default() }, diagnostics);
    // A byte order mark (some Windows editors write one) is not HCL; blank
    // it in a copy so spans stay the same.
    let without_bom;
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            without_bom = format!("   {rest}");
            without_bom.as_str()
        }
        None => text,
    };
    let scanned = scan::scan(text);
    if let Some(range) = scanned.too_deep {
        let diagnostic = Diagnostic::new(
            Code::NestingTooDeep,
            Span::new(file, range),
            format!("This nests more than {MAX_DEPTH} levels deep."),
        )
        .with_label(format!("level {} starts here", MAX_DEPTH + 1))
        .with_help("flatten the structure, e.g. by moving inner parts into `locals` values");
        return empty(vec![diagnostic]);
    }
    // hcl-edit refuses a repeated attribute name outright. To still check
    // the rest of the file, rename the repeat in a copy of the text (same
    // length, so every span stays valid), parse again, and drop it when
    // lowering. Bounded: a file with more repeats than this gets the
    // remaining ones as plain errors.
    let mut duplicates: Vec<u32> = Vec::new();
    let mut renamed: Option<String> = None;
    let mut diagnostics = Vec::new();
    loop {
        let current = renamed.as_deref().unwrap_or(text);
        match hcl_edit::parser::parse_body(current) {
            Ok(body) => {
                let mut lowerer = lower::Lowerer::new(file, text, &duplicates);
                let body = lowerer.body(&body);
                diagnostics.extend(lowerer.diagnostics);
                return (ast::File { id: file, body }, diagnostics);
            }
            Err(error)
                if error.message().contains("redefined attribute")
                    && duplicates.len() < MAX_RENAMED_DUPLICATES =>
            {
                let offset = error_offset(current, &error);
                let key = token_at(current, offset);
                let placeholder = match key.len() {
                    1 => "_".to_string(),
                    len => format!("_{:0>width$}", duplicates.len(), width = len - 1),
                };
                if key.is_empty()
                    || placeholder.len() != key.len()
                    || duplicates.contains(&(key.start as u32))
                {
                    // Cannot rename it: report the repeat, without a tree.
                    let name = ast::Ident { name: text[key.clone()].to_string(), span: Span::new(file, key) };
                    diagnostics.push(lower::duplicate_attribute(&name, None));
                    return empty(diagnostics);
                }
                duplicates.push(key.start as u32);
                renamed.get_or_insert_with(|| text.to_string()).replace_range(key, &placeholder);
            }
            Err(error) => {
                // Repeats found so far are still worth reporting, without
                // the first definition (there is no tree to find it in).
                for &start in &duplicates {
                    let key = token_at(text, start as usize);
                    let name = ast::Ident { name: text[key.clone()].to_string(), span: Span::new(file, key) };
                    diagnostics.push(lower::duplicate_attribute(&name, None));
                }
                // Same offsets as `current`, and the user's own names.
                diagnostics.push(syntax_error(file, text, &error, &scanned));
                return empty(diagnostics);
            }
        }
    }
}

/// How many repeated attribute names `parse` renames to recover a tree.
const MAX_RENAMED_DUPLICATES: usize = 16;

/// Where a large file may be cut into at most `pieces` pieces of about equal
/// size that parse, each on its own, to the file's own structures: after
/// the line of a `}` that closes a top-level `{` (nothing but blank space
/// after it on its line), before a line starting a new structure (a name;
/// never an operator that could continue an expression). Returns the
/// pieces' ranges, in order, covering the whole text; one range when the
/// file should be parsed whole (a byte order mark, nesting too deep,
/// something left unclosed, no place to cut).
pub(crate) fn split(text: &str, pieces: usize) -> Vec<std::ops::Range<usize>> {
    let whole = std::iter::once(0..text.len()).collect::<Vec<_>>();
    if pieces < 2 || text.starts_with('\u{feff}') {
        return whole;
    }
    let scanned = scan::scan(text);
    if scanned.too_deep.is_some() || !scanned.unclosed.is_empty() {
        return whole;
    }
    let size = text.len() / pieces;
    let mut ranges = Vec::with_capacity(pieces);
    let mut start = 0;
    for &close in &scanned.top_level_closes {
        if ranges.len() + 1 == pieces {
            break;
        }
        if close < start + size {
            continue;
        }
        if let Some(cut) = cut_after(text, close) {
            ranges.push(start..cut);
            start = cut;
        }
    }
    if start == 0 {
        return whole;
    }
    ranges.push(start..text.len());
    ranges
}

/// The start of the line after the `}` at `close`, when a piece may end
/// there (see [`split`]).
fn cut_after(text: &str, close: usize) -> Option<usize> {
    let rest = &text[close + 1..];
    let line_end = rest.find('\n')?;
    if !rest[..line_end].bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        return None;
    }
    let cut = close + 1 + line_end + 1;
    let next = text[cut..].trim_start_matches([' ', '\t', '\r', '\n']);
    next.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_').then_some(cut)
}

/// Parses the piece `range` of `text` (a range from [`split`]) to the
/// top-level structures it holds, with spans in the whole text. `None` when
/// the piece has any problem at all: the caller then parses the file whole,
/// so every diagnostic is the whole file's. Not scanned again: `split`
/// cut only a text whose nesting the scan bounded, and a piece starts at
/// the top level, so it nests no deeper there than in the whole.
pub(crate) fn parse_piece(file: FileId, text: &str, range: std::ops::Range<usize>) -> Option<ast::Body> {
    let piece = &text[range.clone()];
    let parsed = hcl_edit::parser::parse_body(piece).ok()?;
    let mut lowerer = lower::Lowerer::new(file, text, &[]).at_offset(range.start);
    let body = lowerer.body(&parsed);
    lowerer.diagnostics.is_empty().then_some(body)
}

/// Turns hcl-edit's error into a diagnostic at the offending token.
fn syntax_error(
    file: FileId,
    text: &str,
    error: &hcl_edit::parser::Error,
    scanned: &scan::Scan,
) -> Diagnostic {
    let (offset, raw) = refine(text, error_offset(text, error), error.message());
    let raw = raw.as_str();
    let token = token_at(text, offset);
    let span = Span::new(file, token.clone());
    let found = describe_token(text, token.clone());
    if raw.contains("escape sequence") {
        // hcl-edit points after the bad escape; point at all of it.
        let backslash = text[..offset].rfind('\\').unwrap_or(offset);
        let end = token_at(text, offset).start.max(backslash);
        let end = if end == backslash { offset } else { end };
        let escape = backslash..end.max(backslash + 1).min(text.len());
        return Diagnostic::new(
            Code::SyntaxError,
            Span::new(file, escape.clone()),
            format!("`{}` is not a valid escape sequence.", text.get(escape).unwrap_or("\\")),
        )
        .with_label("invalid escape")
        .with_help("the escapes are `\\n`, `\\r`, `\\t`, `\\\"`, `\\\\`, `\\uNNNN` and `\\UNNNNNNNN`; write `\\\\` for a backslash");
    }
    if raw == "unexpected token" && text[offset..].starts_with("%{") {
        return Diagnostic::new(
            Code::SyntaxError,
            span,
            "This template directive is incomplete or has no matching end.",
        )
        .with_label("directive starts here")
        .with_help("write `%{if cond}...%{endif}` or `%{for x in list}...%{endfor}` (with an optional `%{else}`); to write `%{` literally, use `%%{`");
    }
    if raw.contains("heredoc end delimiter") {
        if let Some(open) =
            scanned.unclosed.iter().rev().find(|o| matches!(o.opener, scan::Opener::Heredoc { .. }))
        {
            if let scan::Opener::Heredoc { delimiter_start, delimiter_end } = open.opener {
                let delimiter = &text[delimiter_start..delimiter_end];
                return Diagnostic::new(
                    Code::SyntaxError,
                    Span::new(file, open.start..open.end),
                    format!("This heredoc is never closed: no line holds only `{delimiter}`."),
                )
                .with_label("heredoc starts here")
                .with_help(format!("end the heredoc with a line holding only `{delimiter}`"));
            }
        }
    }
    // hcl-edit's own bounds (see the module doc).
    let too_deep = if raw.starts_with("invalid nesting depth") {
        Some("This nests too deeply for the parser (at most 64 levels).")
    } else if raw.starts_with("invalid binary operation") {
        Some("This chains too many binary operators (at most 128 in one expression).")
    } else {
        None
    };
    if let Some(message) = too_deep {
        return Diagnostic::new(Code::NestingTooDeep, span, message)
            .with_label("too deep from here")
            .with_help("split the expression, e.g. into `locals` values that refer to each other");
    }
    if let Some(quote) = scanned.unterminated_string.clone() {
        if quote.start > offset || at_line_start(text, offset) {
            return Diagnostic::new(
                Code::SyntaxError,
                Span::new(file, quote),
                "This string is not closed before the end of its line.",
            )
            .with_label("string starts here")
            .with_help("add the closing `\"`; for text over several lines use a heredoc (`<<EOT ... EOT`)");
        }
    }
    let at_end = text[floor_char_boundary(text, offset)..].trim().is_empty();
    let innermost_unclosed = scanned.unclosed.iter().rev().find(|o| o.start < offset);
    let token_text = &text[token.clone()];
    let message = match innermost_unclosed {
        Some(open) if at_end => {
            format!("Unexpected end of file: a {} is never closed.", open.opener.describe())
        }
        _ if raw == "unexpected token" && text[..offset].trim_end().ends_with('.') => {
            format!("Expected an attribute name or `*` after `.`, found {found}.")
        }
        None if matches!(token_text, "}" | "]" | ")") => {
            format!("Unexpected {found}: nothing is open here for it to close.")
        }
        _ => describe(text, offset, raw, &found),
    };
    let mut diagnostic =
        Diagnostic::new(Code::SyntaxError, span, message).with_label(format!("unexpected {found}"));
    // An unclosed delimiter before the error is the usual cause of an error
    // at the end of the input or at a closer of another kind.
    if let Some(open) = innermost_unclosed {
        let mismatched_closer = match token_text {
            "}" => !matches!(open.opener, scan::Opener::Brace | scan::Opener::Interpolation),
            "]" => open.opener != scan::Opener::Bracket,
            ")" => open.opener != scan::Opener::Paren,
            _ => false,
        };
        if at_end || expects_closer(raw) || mismatched_closer {
            diagnostic = diagnostic.with_secondary(
                Span::new(file, open.start..open.end),
                format!("this {} is never closed", open.opener.describe()),
            );
            diagnostic = diagnostic.with_help(match open.opener {
                scan::Opener::Brace | scan::Opener::Interpolation => "add the missing `}`".to_string(),
                scan::Opener::Bracket => "add the missing `]`".to_string(),
                scan::Opener::Paren => "add the missing `)`".to_string(),
                scan::Opener::Quote => "add the missing `\"`".to_string(),
                scan::Opener::Heredoc { delimiter_start, delimiter_end } => format!(
                    "end the heredoc with a line holding only `{}`",
                    &text[delimiter_start..delimiter_end]
                ),
            });
        }
    }
    diagnostic
}

/// hcl-edit gives up at the start of an attribute when its value fails in
/// some ways (it backtracks to try a block there). Parsing the value on its
/// own finds the real place; used when the error is a bare "unexpected token"
/// at `name =`.
fn refine(text: &str, offset: usize, raw: &str) -> (usize, String) {
    let unchanged = (offset, raw.to_string());
    if raw != "unexpected token" {
        return unchanged;
    }
    let rest = &text[offset..];
    let name_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
    let after_name = rest[name_end..].trim_start_matches([' ', '\t']);
    if name_end == 0 || !after_name.starts_with('=') || after_name.starts_with("==") {
        return unchanged;
    }
    let value_start = text.len() - after_name[1..].trim_start_matches([' ', '\t']).len();
    let Err(error) = hcl_edit::parser::parse_expr(&text[value_start..]) else { return unchanged };
    let message = error.message();
    let found = value_start + error_offset(&text[value_start..], &error);
    // After trailing blank space, the error belongs where the text stopped.
    let found = value_start + text[value_start..found].trim_end().len();
    // A bare "unexpected token" of the value alone is where the value's
    // parse stopped: trust it on the value's own line only.
    let same_line = !text[value_start..found].contains('\n');
    if message.contains("eof") || (message == "unexpected token" && (found == value_start || !same_line)) {
        return unchanged;
    }
    (found, message.to_string())
}

fn expects_closer(raw: &str) -> bool {
    raw.contains("`}`") || raw.contains("`]`") || raw.contains("`)`") || raw.contains("heredoc end")
}

/// hcl-edit clamps its offset to the last byte and adds the overshoot to the
/// column; recover the real offset (which may be the end of the input).
fn error_offset(text: &str, error: &hcl_edit::parser::Error) -> usize {
    let location = error.location();
    let offset = floor_char_boundary(text, location.offset());
    if text.is_empty() {
        return 0;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
    // hcl-edit's column counts the character at `offset` itself.
    let through =
        text.get(line_start..).and_then(|rest| rest.char_indices().nth(location.column().saturating_sub(1)));
    match through {
        Some((n, _)) => (line_start + n).min(text.len()),
        None => text.len(),
    }
}

/// The range of the token starting at `offset`: an identifier or number, one
/// character, or empty at the end of the input.
fn token_at(text: &str, offset: usize) -> std::ops::Range<usize> {
    let offset = floor_char_boundary(text, offset);
    let rest = &text[offset..];
    let Some(first) = rest.chars().next() else { return offset..offset };
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !word(c)).unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    offset..offset + len
}

fn describe_token(text: &str, token: std::ops::Range<usize>) -> String {
    match &text[token] {
        "" => "end of file".to_string(),
        "\n" | "\r" => "end of line".to_string(),
        "\"" => "`\"`".to_string(),
        t => format!("`{}`", t.escape_debug()),
    }
}

/// A plain-words message from hcl-edit's "invalid X; expected A, B or C".
fn describe(text: &str, offset: usize, raw: &str, found: &str) -> String {
    let (what, expected) = match raw.split_once("; ") {
        Some((what, rest)) if what.starts_with("invalid ") => {
            (Some(what.trim_start_matches("invalid ")), rest)
        }
        _ => (None, raw),
    };
    let expected = clean(expected);
    // The name just before the error, for "after `replicas`".
    let before = previous_word(text, offset);
    match (what, expected.strip_prefix("expected ")) {
        (Some("structure"), Some(list)) if list.contains("`=`") && list.contains("`{`") => match before {
            Some(name) => format!("Expected `=` or a block body after `{name}`, found {found}."),
            None => format!("Expected `=` or a block body, found {found}."),
        },
        (Some("expression"), Some(list)) if list.contains("letter or digit") => {
            format!("Expected an expression, found {found}.")
        }
        (Some("block body" | "attribute" | "structure"), Some(list)) if before.is_some() => {
            format!("Expected {list} after `{}`, found {found}.", before.unwrap_or_default())
        }
        (_, Some(list)) => match what {
            Some(what) => format!("Expected {list} in this {what}, found {found}."),
            None => format!("Expected {list}, found {found}."),
        },
        (Some(what), None) => format!("Unexpected {found} in this {what}."),
        (None, None) => format!("Unexpected {found}."),
    }
}

/// Removes hcl-edit's internal wording: `eof` -> end of file, quoted chars
/// kept, "unexpected token" left to the caller.
fn clean(raw: &str) -> String {
    raw.replace("`eof`", "end of file")
        .replace("eof", "end of file")
        .replace("unexpected token", "")
        .trim()
        .to_string()
}

fn previous_word(text: &str, offset: usize) -> Option<&str> {
    let before = text[..floor_char_boundary(text, offset)].trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
        .map_or(0, |(n, c)| n + c.len_utf8());
    let word = &before[start..];
    (!word.is_empty() && word.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')).then_some(word)
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn at_line_start(text: &str, offset: usize) -> bool {
    text[..floor_char_boundary(text, offset)].rsplit('\n').next().is_some_and(|line| line.trim().is_empty())
}
