//! A serde `Deserializer` over validated JSON: what a handler's `data::<T>()` decodes with. It
//! reads the text in place (a string without escapes is borrowed), parses a number only as
//! the type asks (floats only for float fields, or for types that take any value), and its
//! errors are static text, so decoding links no formatting. It accepts what serde_json
//! accepts for the same type (a property test holds it to that), numeric map keys included.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::{Entries, Items, Kind, Str, Value};

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

/// Decodes JSON text as `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, DataError> {
    let value = Value::parse(text).map_err(|e| DataError::new(e.0))?;
    T::deserialize(Deserializer(value))
}

/// Decodes a validated value as `T`.
pub fn from_value<T: DeserializeOwned>(value: Value<'_>) -> Result<T, DataError> {
    T::deserialize(Deserializer(value))
}

/// Deserializes one validated value.
struct Deserializer<'a>(Value<'a>);

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

impl<'de> Deserializer<'de> {
    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match (self.0.kind(), integer(self.0.raw())) {
            (Kind::Number, Some(Ok(n))) => visitor.visit_u64(n),
            (Kind::Number, Some(Err(n))) => visitor.visit_i64(n),
            _ => Err(WRONG_TYPE),
        }
    }

    fn float<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.0.kind() != Kind::Number {
            return Err(WRONG_TYPE);
        }
        let n: f64 = self.0.raw().parse().map_err(|_| WRONG_TYPE)?;
        if n.is_finite() {
            visitor.visit_f64(n)
        } else {
            Err(DataError::new("number out of range"))
        }
    }
}

macro_rules! integers {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.integer(visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Deserializer<'de> {
    type Error = DataError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool => visitor.visit_bool(self.0.raw() == "true"),
            Kind::Number if integer(self.0.raw()).is_some() => self.integer(visitor),
            Kind::Number => self.float(visitor),
            Kind::String => self.deserialize_str(visitor),
            Kind::Array => visitor.visit_seq(Seq(self.0.items())),
            Kind::Object => visitor.visit_map(Map(self.0.entries(), None)),
        }
    }

    integers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
              deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.float(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.float(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Bool => visitor.visit_bool(self.0.raw() == "true"),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.as_str() {
            Some(s) => visit_str(s, visitor),
            None => Err(WRONG_TYPE),
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

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::String => self.deserialize_str(visitor),
            _ => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Null => visitor.visit_unit(),
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

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Array => visitor.visit_seq(Seq(self.0.items())),
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

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Object => visitor.visit_map(Map(self.0.entries(), None)),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.0.kind() {
            Kind::Array => visitor.visit_seq(Seq(self.0.items())),
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if let Some(name) = self.0.as_str() {
            return visitor.visit_enum(Variant(name, None));
        }
        let mut entries = self.0.entries();
        match (entries.next(), entries.next()) {
            (Some((name, value)), None) => visitor.visit_enum(Variant(name, Some(value))),
            _ => Err(WRONG_TYPE),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

/// An array's items.
struct Seq<'a>(Items<'a>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = DataError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        self.0
            .next()
            .map(|item| seed.deserialize(Deserializer(item)))
            .transpose()
    }
}

/// An object's entries, and the value of the key just read.
struct Map<'a>(Entries<'a>, Option<Value<'a>>);

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = DataError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((key, value)) = self.0.next() else {
            return Ok(None);
        };
        self.1 = Some(value);
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .1
            .take()
            .ok_or(DataError::new("a value without its key"))?;
        seed.deserialize(Deserializer(value))
    }
}

/// An object's key: a string, which a map with number or bool keys reads as one (as
/// serde_json does).
struct Key<'a>(Str<'a>);

impl<'de> Key<'de> {
    fn quoted(&self) -> Deserializer<'de> {
        let raw = self.0.raw();
        let kind = match raw {
            "true" | "false" => Kind::Bool,
            _ => Kind::Number,
        };
        Deserializer(Value { raw, kind })
    }
}

macro_rules! quoted {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.quoted().$method(visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = DataError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_str(self.0, visitor)
    }

    quoted!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8
            deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64
            deserialize_bool);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(Variant(self.0, None))
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

/// An enum's variant: its name (a JSON string, or an object's one key), and the content
/// (that key's value) of a variant written as an object.
struct Variant<'a>(Str<'a>, Option<Value<'a>>);

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = DataError;
    type Variant = Content<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Content<'de>)> {
        let name = seed.deserialize(Key(self.0))?;
        Ok((name, Content(self.1)))
    }
}

/// A variant's content: none for a variant named by a string.
struct Content<'a>(Option<Value<'a>>);

impl<'de> Content<'de> {
    fn value(self) -> Result<Deserializer<'de>> {
        self.0.map(Deserializer).ok_or(WRONG_TYPE)
    }
}

impl<'de> VariantAccess<'de> for Content<'de> {
    type Error = DataError;

    fn unit_variant(self) -> Result<()> {
        match self.0 {
            None => Ok(()),
            Some(v) => de::Deserialize::deserialize(Deserializer(v)),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self.value()?)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self.value()?, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_map(self.value()?, visitor)
    }
}
