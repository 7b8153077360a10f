//! A cheap structural pre-scan of the source text, run before hcl-edit.
//!
//! It follows the lexical structure just far enough to know which brackets
//! are code (not inside strings, heredocs or comments): `{ [ (`, template
//! interpolations and directives `${ %{`, quoted strings and heredocs. It
//! serves two purposes: refusing nesting deeper than [`MAX_DEPTH`] at the
//! exact opener that crosses the limit (so no later recursion over the input
//! can overflow the stack), and remembering the innermost unclosed delimiter
//! so a syntax error at the end of the input can point back at it.
//!
//! It is one linear pass over bytes (every structural character is ASCII),
//! with an explicit stack: it never recurses.

use super::MAX_DEPTH;
use std::ops::Range;

/// What opened a nesting level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opener {
    Brace,
    Bracket,
    Paren,
    /// `${` or `%{` inside a string or heredoc.
    Interpolation,
    /// `"`: a quoted string (its interpolations are levels, the string is not).
    Quote,
    /// `<<EOF`: delimiter range in the text.
    Heredoc {
        delimiter_start: usize,
        delimiter_end: usize,
    },
}

impl Opener {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Opener::Brace => "`{`",
            Opener::Bracket => "`[`",
            Opener::Paren => "`(`",
            Opener::Interpolation => "template sequence",
            Opener::Quote => "string",
            Opener::Heredoc { .. } => "heredoc",
        }
    }

    fn counts_as_level(self) -> bool {
        !matches!(self, Opener::Quote | Opener::Heredoc { .. })
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Open {
    pub opener: Opener,
    /// The opening token.
    pub start: usize,
    pub end: usize,
}

/// The result of a scan.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Set when nesting exceeds [`MAX_DEPTH`]: the token that crossed it.
    pub too_deep: Option<Range<usize>>,
    /// Delimiters still open at the end of the input, outermost first.
    pub unclosed: Vec<Open>,
    /// The first quoted string that reaches the end of its line unclosed.
    pub unterminated_string: Option<Range<usize>>,
    /// Offsets of the `}` that close a top-level `{` (a top-level block's
    /// body, or an object a top-level attribute is set to), in order: where
    /// `split` may cut a large file into pieces parsed on threads.
    pub top_level_closes: Vec<usize>,
}

/// Scans `text`; stops at the first place nesting exceeds [`MAX_DEPTH`].
pub(crate) fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut levels = 0usize;
    let mut i = 0usize;
    let mut unterminated_string = None;
    let mut top_level_closes = Vec::new();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);

    macro_rules! push {
        ($opener:expr, $start:expr, $end:expr) => {{
            let opener: Opener = $opener;
            if opener.counts_as_level() {
                if levels >= MAX_DEPTH {
                    return Scan { too_deep: Some($start..$end), ..Scan::default() };
                }
                levels += 1;
            }
            stack.push(Open { opener, start: $start, end: $end });
        }};
    }
    macro_rules! pop {
        () => {{
            if let Some(open) = stack.pop() {
                if open.opener.counts_as_level() {
                    levels -= 1;
                }
            }
        }};
    }

    while i < bytes.len() {
        let state = stack.last().map(|o| o.opener);
        // Skip the bytes that cannot change the state (most of them) in a
        // tight loop.
        let interesting = match state {
            Some(Opener::Quote) => &IN_QUOTE,
            Some(Opener::Heredoc { .. }) => &IN_HEREDOC,
            _ => &IN_CODE,
        };
        if !interesting[bytes[i] as usize]
            && !matches!(state, Some(Opener::Heredoc { .. }) if at(i.wrapping_sub(1)) == b'\n')
        {
            i += 1;
            while i < bytes.len() && !interesting[bytes[i] as usize] {
                i += 1;
            }
            continue;
        }
        match state {
            Some(Opener::Quote) => {
                match at(i) {
                    b'\\' => i += 2,
                    b'$' | b'%' if at(i + 1) == at(i) && at(i + 2) == b'{' => i += 3,
                    b'$' | b'%' if at(i + 1) == b'{' => {
                        push!(Opener::Interpolation, i, i + 2);
                        i += 2;
                    }
                    b'"' => {
                        pop!();
                        i += 1;
                    }
                    // A quoted string cannot span lines: hcl-edit reports
                    // it; resynchronise as if it had been closed.
                    b'\n' => {
                        if let Some(open) = stack.last() {
                            unterminated_string.get_or_insert(open.start..i);
                        }
                        pop!();
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
            Some(Opener::Heredoc { delimiter_start, delimiter_end }) => {
                // `i` is at the start of a heredoc line, or in the middle of
                // one after an interpolation closed.
                let line_start = i == 0 || at(i - 1) == b'\n';
                if line_start {
                    let line_end = memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                    let line = text.get(i..line_end).unwrap_or("").trim();
                    if line.as_bytes() == &bytes[delimiter_start..delimiter_end] {
                        pop!();
                        i = line_end;
                        continue;
                    }
                }
                match at(i) {
                    b'$' | b'%' if at(i + 1) == at(i) && at(i + 2) == b'{' => i += 3,
                    b'$' | b'%' if at(i + 1) == b'{' => {
                        push!(Opener::Interpolation, i, i + 2);
                        i += 2;
                    }
                    _ => i += 1,
                }
            }
            _ => {
                // Code: top level, inside brackets or an interpolation.
                match at(i) {
                    b'#' => i = skip_line(bytes, i),
                    b'/' if at(i + 1) == b'/' => i = skip_line(bytes, i),
                    b'/' if at(i + 1) == b'*' => {
                        i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |end| end + 2);
                    }
                    b'"' => {
                        push!(Opener::Quote, i, i + 1);
                        i += 1;
                    }
                    b'<' if at(i + 1) == b'<' => match heredoc_start(bytes, i) {
                        Some((delimiter, body_start)) => {
                            push!(
                                Opener::Heredoc {
                                    delimiter_start: delimiter.start,
                                    delimiter_end: delimiter.end
                                },
                                i,
                                delimiter.end
                            );
                            i = body_start;
                        }
                        None => i += 2,
                    },
                    b'{' => {
                        push!(Opener::Brace, i, i + 1);
                        i += 1;
                    }
                    b'[' => {
                        push!(Opener::Bracket, i, i + 1);
                        i += 1;
                    }
                    b'(' => {
                        push!(Opener::Paren, i, i + 1);
                        i += 1;
                    }
                    closer @ (b'}' | b']' | b')') => {
                        let expected = match closer {
                            b'}' => [Opener::Brace, Opener::Interpolation],
                            b']' => [Opener::Bracket, Opener::Bracket],
                            _ => [Opener::Paren, Opener::Paren],
                        };
                        // A stray closer is hcl-edit's to report.
                        if stack.last().is_some_and(|o| expected.contains(&o.opener)) {
                            pop!();
                            if stack.is_empty() && closer == b'}' {
                                top_level_closes.push(i);
                            }
                        }
                        i += 1;
                    }
                    b'!' | b'-' => {
                        // A chain of unary operators nests one level per
                        // operator in the parsed tree.
                        let start = i;
                        let mut operators = 0usize;
                        let mut j = i;
                        while j < bytes.len() {
                            match at(j) {
                                b'!' if at(j + 1) != b'=' => operators += 1,
                                b'-' => operators += 1,
                                b' ' | b'\t' => {}
                                _ => break,
                            }
                            j += 1;
                            if levels + operators > MAX_DEPTH {
                                return Scan { too_deep: Some(start..j), ..Scan::default() };
                            }
                        }
                        i = j.max(i + 1);
                    }
                    _ => i += 1,
                }
            }
        }
    }
    if let Some(open) = stack.last().filter(|o| o.opener == Opener::Quote) {
        unterminated_string.get_or_insert(open.start..bytes.len());
    }
    Scan { too_deep: None, unclosed: stack, unterminated_string, top_level_closes }
}

/// Bytes that matter in each state, as lookup tables.
const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

static IN_CODE: [bool; 256] = table(b"#/\"<{[()]}!-");
static IN_QUOTE: [bool; 256] = table(b"\\$%\"\n");
static IN_HEREDOC: [bool; 256] = table(b"$%\n");

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn skip_line(bytes: &[u8], i: usize) -> usize {
    memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|n| from + n)
}

/// `<<EOF` or `<<-EOF` followed by a newline: the delimiter's range and where
/// the heredoc's body starts.
fn heredoc_start(bytes: &[u8], i: usize) -> Option<(Range<usize>, usize)> {
    let mut j = i + 2;
    if bytes.get(j) == Some(&b'-') {
        j += 1;
    }
    let start = j;
    while bytes.get(j).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-') {
        j += 1;
    }
    if j == start {
        return None;
    }
    let end = j;
    if bytes.get(j) == Some(&b'\r') {
        j += 1;
    }
    (bytes.get(j) == Some(&b'\n')).then_some((start..end, j + 1))
}
