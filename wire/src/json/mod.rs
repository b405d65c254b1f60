//! A small JSON reader and writer for the protocol's own fields, chosen for size and speed:
//! one pass validates a text as JSON (RFC 8259) and finds what the protocol reads, in place,
//! without allocating. Strings come back as slices of the text ([`Str`]), unescaped only when
//! asked; values as their raw text ([`Value`]), which a handler may decode later with serde.
//!
//! It is not a general JSON library: it has no tree, no numbers but unsigned integers, and its
//! errors are static text. App payloads are decoded with serde (`Envelope::data`).
//!
//! **Invariant:** a [`Value`] exists only for text that was validated, so walking it again
//! ([`Value::entries`], [`Value::items`]) never fails and never panics.

mod de;
#[cfg(test)]
mod de_tests;
mod digits;
mod read;
mod skip;
mod swar;
mod unescape;
mod write;

pub use de::{from_str, DataError};
pub(crate) use digits::leading_u64;
pub use read::{parse_u64, Cursor};
pub(crate) use swar::plain_len;
pub use write::{push_str, push_u64};

use std::borrow::Cow;

/// Why a text is not the JSON expected: static text, no formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error(pub &'static str);

/// Nesting deeper than this is refused (serde_json's limit too).
pub const MAX_DEPTH: usize = 128;

/// What a JSON value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// A JSON string in place: the text between its quotes, escapes and all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Str<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// A string without escapes.
    pub(crate) fn plain(raw: &'a str) -> Str<'a> {
        Str {
            raw,
            escaped: false,
        }
    }

    /// The text between the quotes, as written (escapes not decoded).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True if the string has escapes (its value differs from [`Str::raw`]).
    pub fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// The string's value: borrowed from the text unless it has escapes.
    pub fn value(&self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(unescape::unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// True if the string's value is `s`; allocates only for a string with escapes.
    pub fn is(&self, s: &str) -> bool {
        if self.escaped {
            self.value() == s
        } else {
            self.raw == s
        }
    }
}

/// A validated JSON value in place: its raw text and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a str,
    kind: Kind,
    /// For a string: whether it has escapes.
    escaped: bool,
}

impl<'a> Value<'a> {
    /// Validates `text` as one JSON value (whitespace around it allowed).
    pub fn parse(text: &'a str) -> Result<Value<'a>, Error> {
        let mut c = Cursor::new(text);
        let value = c.value()?;
        c.end()?;
        Ok(value)
    }

    /// The value's JSON text.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// What it is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<Str<'a>> {
        if self.kind != Kind::String {
            return None;
        }
        Some(Str {
            raw: inside(self.raw),
            escaped: self.escaped,
        })
    }

    /// The number, if this is an unsigned integer that fits a `u64` (no sign, fraction or
    /// exponent).
    pub fn as_u64(&self) -> Option<u64> {
        if self.kind != Kind::Number {
            return None;
        }
        read::parse_u64(self.raw)
    }

    /// An object's entries in order (nothing for anything else).
    pub fn entries(&self) -> Entries<'a> {
        Entries(self.inner(Kind::Object))
    }

    /// An array's items in order (nothing for anything else).
    pub fn items(&self) -> Items<'a> {
        Items(self.inner(Kind::Array))
    }

    /// An object's first entry named `key`.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.entries().find(|(k, _)| k.is(key)).map(|(_, v)| v)
    }

    fn inner(&self, kind: Kind) -> Option<Cursor<'a>> {
        (self.kind == kind).then(|| Cursor::new(inside(self.raw)))
    }
}

/// `text[start..end]`, or nothing (never a panic, so no panic's formatting is linked).
#[inline]
fn slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// A string's, an object's or an array's text between its first and last characters.
#[inline]
fn inside(raw: &str) -> &str {
    slice(raw, 1, raw.len().saturating_sub(1))
}

/// The entries of a validated object.
#[derive(Default)]
pub struct Entries<'a>(Option<Cursor<'a>>);

impl<'a> Iterator for Entries<'a> {
    type Item = (Str<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.0.as_mut()?;
        c.skip_separator();
        let key = c.next_key_trusted()?;
        let value = c.skip_value_trusted()?;
        Some((key, value))
    }
}

/// The items of a validated array.
#[derive(Default)]
pub struct Items<'a>(Option<Cursor<'a>>);

impl<'a> Iterator for Items<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.0.as_mut()?;
        c.skip_separator();
        c.skip_value_trusted()
    }
}

#[cfg(test)]
mod tests;
