//! Tokens to canonical text, one line at a time.
//!
//! - **Indentation**: every open bracket remembers the indentation of the
//!   line that opened it. A line is indented one level deeper than the line
//!   that opened the innermost bracket still open at its start, or, when it
//!   starts by closing brackets, as deep as the line that opened the last
//!   one it closes. So a line opening several (`foo([{`) indents its
//!   contents once, and `}, {` sits where `[{` did.
//! - **Blank lines**: runs become one; none at the start of the file or of
//!   a body (after a line that opened one), none at the end of a body
//!   (before a line that starts by closing) or of the file; one after a
//!   block's closing `}` when the body goes on.
//! - **Alignment**: in a run of consecutive single-line attributes (`key =
//!   value` on one line, the brackets it opens closed on it, no heredoc) at
//!   the same nesting, the `=` line up; a blank line, a comment line or any
//!   other line ends the run.
//! - **Spacing**: see [`space_between`].

use super::tokens::{Kind, Token};

/// What a `{` opened: a block's body (a blank line follows its end) or
/// anything else (an object, a for-expression).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bracket {
    BlockBody,
    Other,
}

struct Line<'t, 'a> {
    tokens: &'t [Token<'a>],
    indent: usize,
    /// Brackets open at the line's start: alignment runs stay at one.
    depth: usize,
    /// The key's width in characters, when the line is a single-line attribute.
    key: Option<usize>,
    blank_before: bool,
    /// Spaces added after the key to align the `=`.
    pad: usize,
}

pub(crate) fn layout(tokens: &[Token<'_>]) -> String {
    // The brackets open, innermost last, each with the indentation of the
    // line that opened it.
    let mut brackets: Vec<(Bracket, usize)> = Vec::new();
    let mut lines: Vec<Line<'_, '_>> = Vec::new();
    let mut pending_blank = false;
    let mut previous_opened = true;
    let mut previous_closed_block = false;
    for segment in tokens.split(|t| t.kind == Kind::Newline) {
        if segment.is_empty() {
            pending_blank = true;
            continue;
        }
        let leading = segment.iter().take_while(|t| t.is_closer()).count();
        let mut last_closed = None;
        for _ in 0..leading {
            last_closed = brackets.pop().or(last_closed);
        }
        let indent = match (last_closed, brackets.last()) {
            (Some((_, opened_at)), _) => opened_at,
            (None, Some((_, opened_at))) => opened_at + 1,
            (None, None) => 0,
        };
        let closed_block = last_closed.is_some_and(|(kind, _)| kind == Bracket::BlockBody);
        let depth = brackets.len();
        let rest = &segment[leading..];
        let in_body = brackets.last().is_none_or(|(kind, _)| *kind == Bracket::BlockBody);
        let header = in_body
            && rest.first().is_some_and(|t| t.kind == Kind::Ident)
            && !rest.get(1).is_some_and(|t| t.is("="));
        let (mut net, mut lowest) = (0isize, 0isize);
        for token in rest {
            if token.is_opener() {
                let block_body = header && token.is("{") && net == 0;
                brackets.push((if block_body { Bracket::BlockBody } else { Bracket::Other }, indent));
                net += 1;
            } else if token.is_closer() {
                brackets.pop();
                net -= 1;
                lowest = lowest.min(net);
            }
        }
        let single_line_attribute = leading == 0
            && net == 0
            && lowest == 0
            && segment.len() >= 3
            && matches!(segment[0].kind, Kind::Ident | Kind::Str)
            && segment[1].is("=")
            && !segment.iter().any(|t| t.text.contains('\n'));
        let blank_before = !previous_opened && leading == 0 && (pending_blank || previous_closed_block);
        lines.push(Line {
            tokens: segment,
            indent,
            depth,
            key: single_line_attribute.then(|| segment[0].text.chars().count()),
            blank_before,
            pad: 0,
        });
        pending_blank = false;
        previous_opened = net > 0;
        previous_closed_block = closed_block && rest.iter().all(Token::is_comment);
    }
    align(&mut lines);
    let mut out = String::new();
    for line in &lines {
        if line.blank_before {
            out.push('\n');
        }
        for _ in 0..line.indent {
            out.push_str("  ");
        }
        render(&mut out, line.tokens, line.pad);
        out.push('\n');
    }
    out
}

/// Sets each single-line attribute's padding so the `=` of its run line up.
fn align(lines: &mut [Line<'_, '_>]) {
    let mut start = 0;
    while start < lines.len() {
        let mut end = start + 1;
        if lines[start].key.is_some() {
            while end < lines.len()
                && lines[end].key.is_some()
                && !lines[end].blank_before
                && lines[end].indent == lines[start].indent
                && lines[end].depth == lines[start].depth
            {
                end += 1;
            }
            let widest = lines[start..end].iter().filter_map(|l| l.key).max().unwrap_or(0);
            for line in &mut lines[start..end] {
                line.pad = widest - line.key.unwrap_or(widest);
            }
        }
        start = end;
    }
}

/// What the tokens before the current one were, for spacing.
#[derive(Clone, Copy, Default)]
struct Before<'a> {
    token: Option<Token<'a>>,
    /// The last non-comment token ends an operand (so `-` after it is binary).
    operand: bool,
    /// The last token was a unary `-` or `!`.
    unary: bool,
    /// The last token was a splat `*` (`list[*]`, `list.*.id`).
    splat: bool,
    /// The last token was the keyword `for`, `in` or `if`.
    keyword: bool,
}

fn render(out: &mut String, tokens: &[Token<'_>], pad: usize) {
    let mut before = Before::default();
    for (i, token) in tokens.iter().enumerate() {
        let unary = (token.is("-") && !before.operand) || token.is("!");
        let splat = token.is("*") && before.token.is_some_and(|p| p.is(".") || p.is("["));
        let keyword = token.kind == Kind::Ident
            && matches!(token.text, "for" | "in" | "if")
            && !before.token.is_some_and(|p| p.is("."));
        if let Some(previous) = before.token {
            if i == 1 {
                out.extend(std::iter::repeat_n(' ', pad));
            }
            if space_between(&before, previous, token) {
                out.push(' ');
            }
        }
        if token.kind == Kind::BlockComment && token.text.contains('\n') {
            let trimmed: Vec<&str> = token.text.split('\n').map(str::trim_end).collect();
            out.push_str(&trimmed.join("\n"));
        } else {
            out.push_str(token.text);
        }
        let operand = match token.kind {
            Kind::Ident => !keyword,
            Kind::Number | Kind::Str | Kind::Heredoc => true,
            Kind::Punct => matches!(token.text, ")" | "]" | "}") || splat,
            Kind::LineComment | Kind::BlockComment => before.operand,
            Kind::Newline | Kind::Other => false,
        };
        before = Before { token: Some(*token), operand, unary, splat, keyword };
    }
}

/// One space between two tokens on a line, except: none before `,`; none
/// around `.`, `::` and before `...`; none inside `(...)` and `[...]`;
/// none after a unary operator; none before the `(` of a function call or
/// the `[` of an index or splat; none in an empty `{}`. Comments always
/// get one. Never none between two tokens that would then read as one.
fn space_between(before: &Before<'_>, previous: Token<'_>, token: &Token<'_>) -> bool {
    if token.is_comment() || previous.kind == Kind::BlockComment {
        return true;
    }
    if before.unary {
        return false;
    }
    if token.is(",") || token.is(".") || token.is("...") || previous.is(".") {
        return false;
    }
    if token.is("::") || previous.is("::") {
        return false;
    }
    if previous.is("(") || previous.is("[") || token.is(")") || token.is("]") {
        return false;
    }
    if previous.is("{") {
        return !token.is("}");
    }
    if token.is("(") {
        return previous.kind != Kind::Ident || before.keyword;
    }
    if token.is("[") {
        let indexable = (previous.kind == Kind::Ident && !before.keyword)
            || previous.is(")")
            || previous.is("]")
            || previous.is("}")
            || before.splat;
        return !indexable;
    }
    true
}
