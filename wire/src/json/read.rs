//! Reading: [`Cursor`] validates as it goes (for text from the network); `skip` has what it
//! skips without validating. Runs of plain bytes in a string are scanned eight bytes at a
//! time (`swar`), and the last few with a table.

use super::digits::leading_u64;
use super::{slice, swar, Error, Kind, Str, Value, MAX_DEPTH};

/// A position in a JSON text. Every method that reads skips the whitespace before what it
/// reads.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
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

    pub(super) fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.bytes().get(self.pos..).unwrap_or_default()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    pub(super) fn ws(&mut self) {
        let bytes = self.bytes();
        let mut i = self.pos;
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
            i += 1;
        }
        self.pos = i;
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

    /// How far into the text the cursor is, in bytes.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Skips whitespace, then `byte` if it is next; true if it was.
    pub fn eat_if(&mut self, byte: u8) -> bool {
        self.ws();
        let next = self.peek() == Some(byte);
        self.pos += usize::from(next);
        next
    }

    /// After a member of an object (`close` `}`) or an array (`]`): true at a `,` (another
    /// follows), false at `close`.
    pub fn more(&mut self, close: u8) -> Result<bool, Error> {
        self.ws();
        let next = self.peek();
        self.pos += 1;
        match next {
            Some(b',') => Ok(true),
            Some(b) if b == close => Ok(false),
            _ => Err(Error("expected `,` or a closing bracket")),
        }
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
        let (kind, escaped) = match self.peek() {
            Some(b'{') => {
                self.object(|c, _| c.value().map(drop))?;
                (Kind::Object, false)
            }
            Some(b'[') => {
                self.array()?;
                (Kind::Array, false)
            }
            Some(b'"') => (Kind::String, self.string()?.is_escaped()),
            Some(b't') => (self.literal("true", Kind::Bool)?, false),
            Some(b'f') => (self.literal("false", Kind::Bool)?, false),
            Some(b'n') => (self.literal("null", Kind::Null)?, false),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                (Kind::Number, false)
            }
            _ => return Err(Error("expected a JSON value")),
        };
        Ok(Value {
            raw: slice(self.text, start, self.pos),
            kind,
            escaped,
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
        if !self.eat_if(b'}') {
            loop {
                let key = self.key()?;
                read(self, key)?;
                if !self.more(b'}')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An object's key and the `:` after it.
    pub fn key(&mut self) -> Result<Str<'a>, Error> {
        let key = self.string()?;
        self.eat(b':', "expected `:` after an object key")?;
        Ok(key)
    }

    fn array(&mut self) -> Result<(), Error> {
        self.eat(b'[', "expected an array")?;
        self.nest()?;
        if !self.eat_if(b']') {
            loop {
                self.value()?;
                if !self.more(b']')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// One level deeper (an object or array opened), within [`MAX_DEPTH`].
    pub fn nest(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error("nested too deep"));
        }
        Ok(())
    }

    /// Validates a string and returns it.
    pub fn string(&mut self) -> Result<Str<'a>, Error> {
        self.ws();
        let bytes = self.bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return Err(Error("expected a string"));
        }
        let start = self.pos + 1;
        let (mut i, mut escaped) = (start, false);
        loop {
            i = swar::next_stop(bytes, i, swar::string_stops, &STRING_STOPS);
            let Some(&b) = bytes.get(i) else {
                return Err(Error("unterminated string"));
            };
            i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.pos = i;
                    self.escape()?;
                    i = self.pos;
                }
                _ => return Err(Error("control character in a string")),
            }
        }
        self.pos = i;
        Ok(Str {
            raw: slice(self.text, start, i - 1),
            escaped,
        })
    }

    /// A string, or `null` (`None`).
    pub fn opt_string(&mut self) -> Result<Option<Str<'a>>, Error> {
        self.ws();
        if self.peek() == Some(b'n') {
            self.literal("null", Kind::Null)?;
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// An unsigned integer that fits a `u64`, or `null` (`None`).
    pub fn opt_u64(&mut self) -> Result<Option<u64>, Error> {
        let value = self.value()?;
        if value.is_null() {
            return Ok(None);
        }
        value
            .as_u64()
            .map(Some)
            .ok_or(Error("not an unsigned integer"))
    }

    /// Validates the escape after a backslash.
    fn escape(&mut self) -> Result<(), Error> {
        let b = self.peek().ok_or(Error("unterminated string"))?;
        self.pos += 1;
        match b {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => match self.hex4()? {
                0xD800..=0xDBFF => {
                    let low = self.bytes().get(self.pos..self.pos + 2) == Some(b"\\u");
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
        let digits = self.bytes().get(self.pos..self.pos + 4);
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
        let run = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.pos += run;
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
        if !self.rest().starts_with(word.as_bytes()) {
            return Err(Error("expected a JSON value"));
        }
        self.pos += word.len();
        Ok(kind)
    }

    /// The next byte after whitespace, not consumed.
    pub(super) fn peek_token(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    /// Validates a number and returns its text.
    pub(super) fn number_text(&mut self) -> Result<&'a str, Error> {
        self.ws();
        let start = self.pos;
        self.number()?;
        Ok(slice(self.text, start, self.pos))
    }

    /// Validates `true` or `false`.
    pub(super) fn bool(&mut self) -> Result<bool, Error> {
        match self.peek_token() {
            Some(b't') => self.literal("true", Kind::Bool).map(|_| true),
            Some(b'f') => self.literal("false", Kind::Bool).map(|_| false),
            _ => Err(Error("expected a boolean")),
        }
    }

    /// Validates `null`.
    pub(super) fn null(&mut self) -> Result<(), Error> {
        self.ws();
        self.literal("null", Kind::Null).map(drop)
    }

    /// One level up (an object or array closed).
    pub(super) fn unnest(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// The bytes that end a run of plain characters in a string: `"`, `\` and the control
/// characters (for the bytes after the last whole word).
pub(crate) static STRING_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stops[b] = true;
        b += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

/// Four hex digits as a number.
pub(super) fn hex4(digits: &[u8]) -> Option<u32> {
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
pub fn parse_u64(raw: &str) -> Option<u64> {
    let bytes = raw.as_bytes();
    let (n, len) = leading_u64(bytes)?;
    let canonical = len == bytes.len() && len > 0 && (len == 1 || bytes[0] != b'0');
    canonical.then_some(n)
}
