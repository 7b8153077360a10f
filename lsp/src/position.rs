//! Byte offsets (the compiler's spans) to and from LSP positions: a line
//! and a column counted in UTF-16 code units, as the protocol's default
//! encoding says (an editor counts `é` as one unit, `🦀` as two).

use lsp_types::{Position, Range};

/// Where each line of a text starts, to convert offsets both ways.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The position of byte `offset` (clamped to the text, and down to a
    /// character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let column: usize = text[self.starts[line]..offset].chars().map(char::len_utf16).sum();
        Position { line: line as u32, character: column as u32 }
    }

    /// The byte offset of `position`: past the end of a line (or of the
    /// text) it is the line's end; inside a surrogate pair, the character's start.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else { return text.len() };
        let end = self.starts.get(position.line as usize + 1).map_or(text.len(), |next| next - 1);
        // A `\r\n` line's `\r` is not part of what the editor shows.
        let end = if text[start..end].ends_with('\r') { end - 1 } else { end };
        let mut units = 0usize;
        for (i, c) in text[start..end].char_indices() {
            if units + c.len_utf16() > position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range { start: self.position(text, start), end: self.position(text, end) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn ascii_offsets_round_trip() {
        let text = "a = 1\nbb = 2\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), pos(0, 0));
        assert_eq!(index.position(text, 6), pos(1, 0));
        assert_eq!(index.position(text, 8), pos(1, 2));
        assert_eq!(index.position(text, text.len()), pos(2, 0));
        for offset in 0..=text.len() {
            assert_eq!(index.offset(text, index.position(text, offset)), offset);
        }
    }

    #[test]
    fn columns_count_utf16_code_units() {
        // `é` is 2 bytes and 1 unit; `🦀` is 4 bytes and 2 units.
        let text = "x = \"é🦀z\"\n";
        let index = LineIndex::new(text);
        let z = text.find('z').unwrap();
        assert_eq!(index.position(text, z), pos(0, 8));
        assert_eq!(index.offset(text, pos(0, 8)), z);
        let crab = text.find('🦀').unwrap();
        assert_eq!(index.position(text, crab), pos(0, 6));
        // Inside the surrogate pair: the crab's start.
        assert_eq!(index.offset(text, pos(0, 7)), crab);
        // Inside a multi-byte character's bytes: down to its start.
        assert_eq!(index.position(text, crab + 1), pos(0, 6));
    }

    #[test]
    fn positions_past_the_end_are_clamped() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, pos(0, 99)), 2, "before the \\r");
        assert_eq!(index.offset(text, pos(1, 99)), text.len());
        assert_eq!(index.offset(text, pos(7, 0)), text.len());
        assert_eq!(index.position(text, 999), pos(1, 2));
    }
}
