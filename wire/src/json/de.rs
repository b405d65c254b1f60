//! A serde `Deserializer` over JSON text: what a handler's `data::<T>()` decodes with. It
//! validates as it reads, in one pass, in place (a string without escapes is borrowed); it
//! parses a number only as the type asks (floats only for float fields, or for types that
//! take any value), and its errors are static text, so decoding links no formatting. It
//! accepts what serde_json accepts for the same type (a property test holds it to that),
//! numeric map keys included.

use std::fmt;

use serde::de::{self, DeserializeOwned, Expected, Unexpected, Visitor};

use super::{Cursor, Str};

use access::{Map, Seq, Variant};

/// Why JSON could not be decoded as the type asked for: static text and, for a missing or
/// repeated field, its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataError {
    /// What went wrong.
    pub what: &'static str,
    /// The field concerned, when there is one.
    pub field: Option<&'static str>,
}

impl DataError {
    const fn new(what: &'static str) -> DataError {
        DataError { what, field: None }
    }

    /// The error as one line of text, built without formatting.
    pub fn text(&self) -> String {
        match self.field {
            Some(field) => [self.what, " `", field, "`"].concat(),
            None => self.what.to_owned(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl std::error::Error for DataError {}

impl de::Error for DataError {
    fn custom<T: fmt::Display>(_: T) -> DataError {
        DataError::new("invalid data")
    }
    fn invalid_type(_: Unexpected<'_>, _: &dyn Expected) -> DataError {
        DataError::new("invalid type")
    }
    fn invalid_value(_: Unexpected<'_>, _: &dyn Expected) -> DataError {
        DataError::new("invalid value")
    }
    fn invalid_length(_: usize, _: &dyn Expected) -> DataError {
        DataError::new("invalid length")
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> DataError {
        DataError::new("unknown variant")
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> DataError {
        DataError::new("unknown field")
    }
    fn missing_field(field: &'static str) -> DataError {
        DataError {
            what: "missing field",
            field: Some(field),
        }
    }
    fn duplicate_field(field: &'static str) -> DataError {
        DataError {
            what: "duplicate field",
            field: Some(field),
        }
    }
}

const WRONG_TYPE: DataError = DataError::new("invalid type");

mod access;

/// Decodes JSON text as `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, DataError> {
    let mut c = Cursor::new(text);
    let value = T::deserialize(Deserializer(&mut c))?;
    c.end().map_err(syntax)?;
    Ok(value)
}

fn syntax(e: super::Error) -> DataError {
    DataError::new(e.0)
}

/// Deserializes the value at a cursor, validating as it goes.
struct Deserializer<'a, 'c>(&'c mut Cursor<'a>);

type Result<T, E = DataError> = std::result::Result<T, E>;

fn visit_str<'de, V: Visitor<'de>>(s: Str<'de>, visitor: V) -> Result<V::Value> {
    if s.is_escaped() {
        visitor.visit_string(s.value().into_owned())
    } else {
        visitor.visit_borrowed_str(s.raw())
    }
}

/// An integer literal: as `u64`, else as `i64`; `None` for anything else or out of range.
fn integer(raw: &str) -> Option<Result<u64, i64>> {
    if let Some(n) = super::read::parse_u64(raw) {
        return Some(Ok(n));
    }
    let magnitude = super::read::parse_u64(raw.strip_prefix('-')?)?;
    0i64.checked_sub_unsigned(magnitude).map(Err)
}

fn visit_integer<'de, V: Visitor<'de>>(raw: &str, visitor: V) -> Result<V::Value> {
    match integer(raw) {
        Some(Ok(n)) => visitor.visit_u64(n),
        Some(Err(n)) => visitor.visit_i64(n),
        None => Err(WRONG_TYPE),
    }
}

fn visit_float<'de, V: Visitor<'de>>(raw: &str, visitor: V) -> Result<V::Value> {
    let n: f64 = raw.parse().map_err(|_| WRONG_TYPE)?;
    if n.is_finite() {
        visitor.visit_f64(n)
    } else {
        Err(DataError::new("number out of range"))
    }
}

impl<'de> Deserializer<'de, '_> {
    fn next(&mut self) -> Option<u8> {
        self.0.peek_token()
    }

    fn number(self) -> Result<&'de str> {
        match self.0.peek_token() {
            Some(b'-' | b'0'..=b'9') => self.0.number_text().map_err(syntax),
            _ => Err(WRONG_TYPE),
        }
    }

    fn map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.0.eat(b'{', "expected an object").map_err(syntax)?;
        self.0.nest().map_err(syntax)?;
        let mut map = Map {
            c: &mut *self.0,
            first: true,
            done: false,
        };
        let value = visitor.visit_map(&mut map)?;
        if !map.done && !map.c.eat_if(b'}') {
            return Err(DataError::new("an object has more entries than its type"));
        }
        self.0.unnest();
        Ok(value)
    }

    fn seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.0.eat(b'[', "expected an array").map_err(syntax)?;
        self.0.nest().map_err(syntax)?;
        let mut seq = Seq {
            c: &mut *self.0,
            first: true,
            done: false,
        };
        let value = visitor.visit_seq(&mut seq)?;
        if !seq.done && !seq.c.eat_if(b']') {
            return Err(DataError::new("an array has more items than its type"));
        }
        self.0.unnest();
        Ok(value)
    }
}

macro_rules! integers {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visit_integer(self.number()?, visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Deserializer<'de, '_> {
    type Error = DataError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'n') => {
                self.0.null().map_err(syntax)?;
                visitor.visit_unit()
            }
            Some(b't' | b'f') => visitor.visit_bool(self.0.bool().map_err(syntax)?),
            Some(b'"') => self.deserialize_str(visitor),
            Some(b'[') => self.seq(visitor),
            Some(b'{') => self.map(visitor),
            _ => {
                let raw = self.0.number_text().map_err(syntax)?;
                match integer(raw) {
                    Some(_) => visit_integer(raw, visitor),
                    None => visit_float(raw, visitor),
                }
            }
        }
    }

    integers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
              deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_float(self.number()?, visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_float(self.number()?, visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b't' | b'f') => visitor.visit_bool(self.0.bool().map_err(syntax)?),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'"') => visit_str(self.0.string().map_err(syntax)?, visitor),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'"') => self.deserialize_str(visitor),
            _ => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'n') => {
                self.0.null().map_err(syntax)?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'n') => {
                self.0.null().map_err(syntax)?;
                visitor.visit_unit()
            }
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'[') => self.seq(visitor),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.next() {
            Some(b'{') => self.map(visitor),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.next() {
            Some(b'[') => self.seq(visitor),
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.next() {
            Some(b'"') => {
                let name = self.0.string().map_err(syntax)?;
                visitor.visit_enum(Variant(name, None))
            }
            Some(b'{') => {
                self.0.eat(b'{', "expected an object").map_err(syntax)?;
                self.0.nest().map_err(syntax)?;
                let name = self.0.key().map_err(syntax)?;
                let value = visitor.visit_enum(Variant(name, Some(&mut *self.0)))?;
                self.0
                    .eat(b'}', "an enum's object must have one entry")
                    .map_err(syntax)?;
                self.0.unnest();
                Ok(value)
            }
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.0.value().map_err(syntax)?;
        visitor.visit_unit()
    }
}
