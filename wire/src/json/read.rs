//! Reading: [`Cursor`] validates as it goes (for text from the network), and its `*_trusted`
//! methods walk text already validated (for [`Value`]'s iterators), without checks.

use super::{slice, Error, Kind, Str, Value, MAX_DEPTH};

/// A position in a JSON text. Every method that reads skips the whitespace before what it
/// reads.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips whitespace and then `byte`, or fails.
    pub fn eat(&mut self, byte: u8, what: &'static str) -> Result<(), Error> {
        self.ws();
        if self.peek() != Some(byte) {
            return Err(Error(what));
        }
        self.pos += 1;
        Ok(())
    }

    /// Succeeds if nothing but whitespace is left.
    pub fn end(&mut self) -> Result<(), Error> {
        self.ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Error("trailing characters after the JSON value")),
        }
    }

    /// Validates one value of any kind and returns it.
    pub fn value(&mut self) -> Result<Value<'a>, Error> {
        self.ws();
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => {
                self.object(|c, _| c.value().map(drop))?;
                Kind::Object
            }
            Some(b'[') => {
                self.array()?;
                Kind::Array
            }
            Some(b'"') => {
                self.string()?;
                Kind::String
            }
            Some(b't') => self.literal("true", Kind::Bool)?,
            Some(b'f') => self.literal("false", Kind::Bool)?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Kind::Number
            }
            _ => return Err(Error("expected a JSON value")),
        };
        Ok(Value {
            raw: slice(self.text, start, self.pos),
            kind,
        })
    }

    /// Validates an object, calling `read` with each key; `read` must read the key's value
    /// (with [`Cursor::value`] or [`Cursor::string`]).
    pub fn object(
        &mut self,
        mut read: impl FnMut(&mut Self, Str<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.eat(b'{', "expected an object")?;
        self.nest()?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                let key = self.string()?;
                self.eat(b':', "expected `:` after an object key")?;
                read(self, key)?;
                self.ws();
                self.pos += 1;
                match self.text.as_bytes().get(self.pos - 1) {
                    Some(b',') => {}
                    Some(b'}') => break,
                    _ => return Err(Error("expected `,` or `}` in an object")),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn array(&mut self) -> Result<(), Error> {
        self.eat(b'[', "expected an array")?;
        self.nest()?;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.value()?;
                self.ws();
                self.pos += 1;
                match self.text.as_bytes().get(self.pos - 1) {
                    Some(b',') => {}
                    Some(b']') => break,
                    _ => return Err(Error("expected `,` or `]` in an array")),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn nest(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error("nested too deep"));
        }
        Ok(())
    }

    /// Validates a string and returns it.
    pub fn string(&mut self) -> Result<Str<'a>, Error> {
        self.eat(b'"', "expected a string")?;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(Error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                0..=0x1f => return Err(Error("control character in a string")),
                _ => {}
            }
        }
        Ok(Str {
            raw: slice(self.text, start, self.pos - 1),
            escaped,
        })
    }

    /// Validates the escape after a backslash.
    fn escape(&mut self) -> Result<(), Error> {
        let b = self.peek().ok_or(Error("unterminated string"))?;
        self.pos += 1;
        match b {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => match self.hex4()? {
                0xD800..=0xDBFF => {
                    let low = self.text.as_bytes().get(self.pos..self.pos + 2) == Some(b"\\u");
                    self.pos += 2;
                    match low.then(|| self.hex4()).transpose()? {
                        Some(0xDC00..=0xDFFF) => Ok(()),
                        _ => Err(Error("lone surrogate in a \\u escape")),
                    }
                }
                0xDC00..=0xDFFF => Err(Error("lone surrogate in a \\u escape")),
                _ => Ok(()),
            },
            _ => Err(Error("invalid escape in a string")),
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self.text.as_bytes().get(self.pos..self.pos + 4);
        let code = digits.and_then(hex4).ok_or(Error("invalid \\u escape"))?;
        self.pos += 4;
        Ok(code)
    }

    fn number(&mut self) -> Result<(), Error> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), Error> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            return Err(Error("invalid number"));
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static str, kind: Kind) -> Result<Kind, Error> {
        if !slice(self.text, self.pos, self.text.len()).starts_with(word) {
            return Err(Error("expected a JSON value"));
        }
        self.pos += word.len();
        Ok(kind)
    }

    // ---- walking text already validated ---------------------------------------------------
    // (On text that is not, they return garbage but never panic: no index, no overflow.)

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
            _ => Kind::Number,
        };
        if let Kind::Object | Kind::Array = kind {
            self.skip_nested_trusted();
        } else {
            while let Some(b) = self.peek() {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                self.pos += 1;
            }
        }
        Some(Value {
            raw: slice(self.text, start, self.pos),
            kind,
        })
    }

    fn skip_string_trusted(&mut self) -> Value<'a> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        self.pos += 1;
        while let Some(&b) = bytes.get(self.pos) {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'"' => break,
                _ => {}
            }
        }
        Value {
            raw: slice(self.text, start, self.pos.min(self.text.len())),
            kind: Kind::String,
        }
    }

    fn skip_nested_trusted(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    self.skip_string_trusted();
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }
}

/// Four hex digits as a number.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0, |acc, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        Some(acc * 16 + u32::from(v))
    })
}

/// An unsigned integer literal (no sign, fraction, exponent or leading zero) that fits a u64.
pub(super) fn parse_u64(raw: &str) -> Option<u64> {
    let bytes = raw.as_bytes();
    if bytes.is_empty() || (bytes[0] == b'0' && bytes.len() > 1) {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The value of a validated string's text between its quotes.
pub(super) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(slice(rest, 0, i));
        let b = rest.as_bytes().get(i + 1).copied().unwrap_or(b'\\');
        rest = rest.get(i + 2..).unwrap_or("");
        let c = match b {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (c, tail) = unicode_escape(rest);
                rest = tail;
                c
            }
            other => char::from(other),
        };
        out.push(c);
    }
    out.push_str(rest);
    out
}

/// The character of a validated `\u` escape whose four digits start `rest` (a surrogate pair
/// takes the next escape too), and the text after it.
fn unicode_escape(rest: &str) -> (char, &str) {
    let code = |s: &str| s.get(..4).map(str::as_bytes).and_then(hex4);
    let high = code(rest).unwrap_or(0xFFFD);
    let tail = rest.get(4..).unwrap_or("");
    if (0xD800..=0xDBFF).contains(&high) {
        let low = tail.get(2..).and_then(code).unwrap_or(0xDC00);
        let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        return (
            char::from_u32(c).unwrap_or('\u{FFFD}'),
            tail.get(6..).unwrap_or(""),
        );
    }
    (char::from_u32(high).unwrap_or('\u{FFFD}'), tail)
}
