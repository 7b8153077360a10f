//! Source files and spans.
//!
//! The compiler never reads files: the CLI (or a test) builds a [`Sources`] and
//! hands it in. Every span is a byte range in one of those files, so
//! diagnostics and provenance can point back at the user's text.

use std::ops::Range;

/// Index of a file inside a [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span { file, start: range.start as u32, end: range.end as u32 }
    }

    /// A zero-width span at the start of a file, for problems that belong to a
    /// whole file rather than a place in it.
    pub fn file_start(file: FileId) -> Span {
        Span { file, start: 0, end: 0 }
    }

    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// Where a source file came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file of the user's stack.
    User,
    /// A file of the standard library embedded in the binary.
    Stdlib,
}

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as shown to the user (relative to where stackc was run, or
    /// `<stdlib>/service.stack.hcl` for embedded files).
    pub path: String,
    pub text: String,
    pub origin: Origin,
    /// Byte offset of the start of every line, for line/column lookups.
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>, origin: Origin) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0u32];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i as u32 + 1));
        SourceFile { path: path.into(), text, origin, line_starts }
    }

    /// 1-based line and column (column in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// All the files of one compilation: the user's stack and the stdlib.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file).text.get(span.range()).unwrap_or("")
    }

    /// The span of `name = ...` (up to the end of its line) written inside
    /// the block at `block` (not on its first line), for diagnostics that
    /// point at one attribute of a block the user wrote.
    pub fn attribute_span(&self, block: Span, name: &str) -> Option<Span> {
        let text = self.get(block.file).text.get(block.start as usize..block.end as usize)?;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let rest = trimmed.strip_prefix(name).map(str::trim_start);
            if offset > 0 && rest.is_some_and(|r| r.starts_with('=') && !r.starts_with("==")) {
                let start = block.start as usize + offset + (line.len() - trimmed.len());
                let end = block.start as usize + offset + line.trim_end().len();
                return Some(Span::new(block.file, start..end));
            }
            offset += line.len();
        }
        None
    }
}
