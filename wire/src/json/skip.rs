//! Skipping without validating: finding where a value ends (a frame's `data`, until a
//! handler decodes it), and walking text already validated (for [`Value`]'s iterators). On text
//! that is not JSON these return garbage, never a panic: no index, no overflow.

use super::read::Cursor;
use super::{slice, swar, Error, Kind, Str, Value};

impl<'a> Cursor<'a> {
    /// Finds the end of one value without validating it (its text may not be JSON): what a
    /// frame's `data` is, until a handler decodes it. Strings are skipped whole, so brackets
    /// inside them do not count.
    pub fn skip_unvalidated(&mut self) -> Result<&'a str, Error> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            Some(b'{' | b'[') => self.skip_nested_trusted(),
            Some(b'"') => drop(self.skip_string_trusted()),
            Some(_) => drop(self.skip_value_trusted()),
            None => return Err(Error("expected a JSON value")),
        }
        if self.pos > self.bytes().len() {
            return Err(Error("unterminated value"));
        }
        Ok(slice(self.text, start, self.pos))
    }

    /// Skips whitespace and one `,` (between the entries or items of a validated container).
    pub(super) fn skip_separator(&mut self) {
        self.ws();
        if self.peek() == Some(b',') {
            self.pos += 1;
        }
    }

    /// The next key of a validated object and the `:` after it; `None` at its end.
    pub(super) fn next_key_trusted(&mut self) -> Option<Str<'a>> {
        self.ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        let key = self.skip_string_trusted();
        self.ws();
        self.pos += 1; // the `:`
        key.as_str()
    }

    /// The next value of a validated container; `None` at its end.
    pub(super) fn skip_value_trusted(&mut self) -> Option<Value<'a>> {
        self.ws();
        let start = self.pos;
        let kind = match self.peek()? {
            b'"' => return Some(self.skip_string_trusted()),
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            b'}' | b']' => return None,
            _ => Kind::Number,
        };
        if let Kind::Object | Kind::Array = kind {
            self.skip_nested_trusted();
        } else {
            let run = self
                .rest()
                .iter()
                .position(|&b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'));
            self.pos = run.map_or(self.bytes().len(), |i| self.pos + i);
        }
        Some(Value {
            raw: slice(self.text, start, self.pos),
            kind,
            escaped: false,
        })
    }

    fn skip_string_trusted(&mut self) -> Value<'a> {
        let (bytes, start) = (self.bytes(), self.pos);
        let (mut i, mut escaped) = (start + 1, false);
        loop {
            let Some(&b) = bytes.get(i) else {
                i = bytes.len() + 1; // unterminated: past the end
                break;
            };
            i += 1;
            if !QUOTE_STOPS[usize::from(b)] {
                continue;
            }
            if b == b'"' {
                break;
            }
            escaped = true;
            i += 1; // the escaped character
        }
        self.pos = i;
        Value {
            raw: slice(self.text, start, i.min(self.text.len())),
            kind: Kind::String,
            escaped,
        }
    }

    /// Skips an object or an array: one pass that tracks strings (brackets inside them do
    /// not count) and the depth, eight bytes at a time.
    fn skip_nested_trusted(&mut self) {
        let bytes = self.bytes();
        // Unterminated: past the end.
        self.pos = swar::nested_end(bytes, self.pos).unwrap_or(bytes.len() + 1);
    }
}

/// The bytes that end a run inside a string already validated: `"` and `\`.
static QUOTE_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};
