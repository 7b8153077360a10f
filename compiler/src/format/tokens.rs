//! The formatter's lexer: HCL source text to a flat list of tokens, every
//! byte of the input accounted for except blank space between tokens.
//!
//! Strings (with their `${}` interpolations and `%{}` directives) and
//! heredocs are single tokens: the formatter never looks inside them, so it
//! cannot change their contents. Comments are tokens too, so they stay
//! where they were. The lexer never fails: a character it does not know is
//! a token of its own (the input has parsed before it gets here, so that
//! does not happen in practice). Linear, with explicit stacks: it never
//! recurses.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A line break (`\n`; a `\r` before it is blank space).
    Newline,
    /// An identifier or keyword (`service`, `for`, `null`, `app-name`).
    Ident,
    Number,
    /// A quoted string template, quotes included.
    Str,
    /// `<<EOT` or `<<-EOT` through its closing delimiter.
    Heredoc,
    /// `# ...` or `// ...`, without the line break.
    LineComment,
    /// `/* ... */`, possibly over several lines.
    BlockComment,
    /// An operator or delimiter: `{`, `=`, `==`, `...`, `::`.
    Punct,
    /// A character that is none of the above.
    Other,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

impl Token<'_> {
    pub fn is(&self, punct: &str) -> bool {
        self.kind == Kind::Punct && self.text == punct
    }

    pub fn is_opener(&self) -> bool {
        self.kind == Kind::Punct && matches!(self.text, "{" | "[" | "(")
    }

    pub fn is_closer(&self) -> bool {
        self.kind == Kind::Punct && matches!(self.text, "}" | "]" | ")")
    }

    pub fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }
}

const PUNCTS: [&str; 9] = ["...", "=>", "==", "!=", "<=", ">=", "&&", "||", "::"];

pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out: Vec<Token<'_>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or('\0');
        let (kind, len) = match c {
            '\n' => (Kind::Newline, 1),
            ' ' | '\t' | '\r' => {
                i += 1;
                continue;
            }
            '#' => (Kind::LineComment, line_comment_len(rest)),
            '/' if rest.starts_with("//") => (Kind::LineComment, line_comment_len(rest)),
            '/' if rest.starts_with("/*") => {
                (Kind::BlockComment, rest[2..].find("*/").map_or(rest.len(), |end| end + 4))
            }
            '"' => (Kind::Str, string_len(rest)),
            '<' if heredoc_len(rest).is_some() => (Kind::Heredoc, heredoc_len(rest).unwrap_or(1)),
            '0'..='9' => {
                let after_dot = out.last().is_some_and(|t| t.is("."));
                (Kind::Number, number_len(rest, after_dot))
            }
            c if c.is_alphabetic() || c == '_' => (
                Kind::Ident,
                rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len()),
            ),
            c => match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
                Some(p) => (Kind::Punct, p.len()),
                None if "{}[]()=,.:?!+-*/%<>".contains(c) => (Kind::Punct, 1),
                None => (Kind::Other, c.len_utf8()),
            },
        };
        let mut token = &text[i..i + len];
        if kind == Kind::LineComment {
            token = token.trim_end();
        }
        out.push(Token { kind, text: token });
        i += len;
    }
    out
}

/// To the end of the line, the line break excluded.
fn line_comment_len(rest: &str) -> usize {
    rest.find('\n').unwrap_or(rest.len())
}

/// A quoted string template from its opening quote: through the closing
/// quote, interpolations (which may hold strings and braces) included, and
/// line breaks too (hcl-edit accepts them in a quoted string).
fn string_len(rest: &str) -> usize {
    #[derive(Clone, Copy)]
    enum Mode {
        Literal,
        Template { braces: u32 },
    }
    let bytes = rest.as_bytes();
    let mut modes = vec![Mode::Literal];
    let mut i = 1;
    while i < bytes.len() {
        let Some(&mode) = modes.last() else { break };
        match (mode, bytes[i]) {
            (Mode::Literal, b'\\') => i += 1,
            (Mode::Literal, b'"') => {
                modes.pop();
                if modes.is_empty() {
                    return i + 1;
                }
            }
            (Mode::Literal, b'$' | b'%') if rest[i..].starts_with("$${") || rest[i..].starts_with("%%{") => {
                i += 2
            }
            (Mode::Literal, b'$' | b'%') if bytes.get(i + 1) == Some(&b'{') => {
                modes.push(Mode::Template { braces: 0 });
                i += 1;
            }
            (Mode::Template { braces }, b'{') => {
                modes.pop();
                modes.push(Mode::Template { braces: braces + 1 });
            }
            (Mode::Template { braces }, b'}') => {
                modes.pop();
                if braces > 0 {
                    modes.push(Mode::Template { braces: braces - 1 });
                }
            }
            (Mode::Template { .. }, b'"') => modes.push(Mode::Literal),
            _ => {}
        }
        i += 1;
    }
    rest.len()
}

/// `<<EOT` / `<<-EOT` followed by a line break, through the line holding
/// only the delimiter (blank space around it allowed); `None` when `rest`
/// does not start a heredoc.
fn heredoc_len(rest: &str) -> Option<usize> {
    let after = rest.strip_prefix("<<")?;
    let after = after.strip_prefix('-').unwrap_or(after);
    let opener = rest.len() - after.len();
    let name_len =
        after.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(after.len());
    let delimiter = &after[..name_len];
    if delimiter.is_empty() || !delimiter.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return None;
    }
    let line_end = opener + name_len + after[name_len..].find('\n')?;
    if !rest[opener + name_len..line_end].trim().is_empty() {
        return None;
    }
    let mut start = line_end + 1;
    while start <= rest.len() {
        let end = rest[start..].find('\n').map_or(rest.len(), |n| start + n);
        let line = &rest[start..end];
        if line.trim() == delimiter {
            return Some(start + line.find(delimiter).unwrap_or(0) + delimiter.len());
        }
        if end == rest.len() {
            break;
        }
        start = end + 1;
    }
    Some(rest.len())
}

/// Digits, a fraction and an exponent; digits only right after a `.` (the
/// `0` of `list.0.name` is an index, not the start of `0.5`).
fn number_len(rest: &str, after_dot: bool) -> usize {
    let bytes = rest.as_bytes();
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut i = digits(0);
    if after_dot {
        return i;
    }
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1 + digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i += 1 + sign + digits(i + 1 + sign);
        }
    }
    i
}
