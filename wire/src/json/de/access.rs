//! What the deserializer hands serde's visitors: arrays and objects being read, keys, and
//! enum variants, each validating as it goes.

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::{
    syntax, visit_float, visit_integer, visit_str, DataError, Deserializer, Result, WRONG_TYPE,
};
use crate::json::{Cursor, Str};

/// An array being read: its items, each validated as it is deserialized.
pub(super) struct Seq<'a, 'c> {
    pub(super) c: &'c mut Cursor<'a>,
    pub(super) first: bool,
    pub(super) done: bool,
}

impl<'de> SeqAccess<'de> for &mut Seq<'de, '_> {
    type Error = DataError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let more = if std::mem::replace(&mut self.first, false) {
            !self.c.eat_if(b']')
        } else {
            self.c.more(b']').map_err(syntax)?
        };
        if !more {
            self.done = true;
            return Ok(None);
        }
        seed.deserialize(Deserializer(&mut *self.c)).map(Some)
    }
}

/// An object being read: its entries, each validated as it is deserialized.
pub(super) struct Map<'a, 'c> {
    pub(super) c: &'c mut Cursor<'a>,
    pub(super) first: bool,
    pub(super) done: bool,
}

impl<'de> MapAccess<'de> for &mut Map<'de, '_> {
    type Error = DataError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let more = if std::mem::replace(&mut self.first, false) {
            !self.c.eat_if(b'}')
        } else {
            self.c.more(b'}').map_err(syntax)?
        };
        if !more {
            self.done = true;
            return Ok(None);
        }
        let key = self.c.key().map_err(syntax)?;
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(Deserializer(&mut *self.c))
    }
}

/// An object's key: a string, which a map with number or bool keys reads as one (as
/// serde_json does).
pub(super) struct Key<'a>(pub(super) Str<'a>);

impl<'de> Key<'de> {
    fn quoted<V: Visitor<'de>>(&self, visitor: V, float: bool) -> Result<V::Value> {
        match self.0.raw() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            raw if float => visit_float(raw, visitor),
            raw => visit_integer(raw, visitor),
        }
    }
}

macro_rules! quoted {
    ($float:expr, $($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.quoted(visitor, $float)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = DataError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_str(self.0, visitor)
    }

    quoted!(false, deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8
            deserialize_u16 deserialize_u32 deserialize_u64 deserialize_bool);
    quoted!(true, deserialize_f32 deserialize_f64);

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

/// An enum's variant: its name (a JSON string, or an object's one key), and for a variant
/// written as an object, the cursor at that key's value.
pub(super) struct Variant<'a, 'c>(pub(super) Str<'a>, pub(super) Option<&'c mut Cursor<'a>>);

impl<'de, 'c> EnumAccess<'de> for Variant<'de, 'c> {
    type Error = DataError;
    type Variant = Content<'de, 'c>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Content<'de, 'c>)> {
        let name = seed.deserialize(Key(self.0))?;
        Ok((name, Content(self.1)))
    }
}

/// A variant's content: none for a variant named by a string.
pub(super) struct Content<'a, 'c>(Option<&'c mut Cursor<'a>>);

impl<'de, 'c> Content<'de, 'c> {
    fn value(self) -> Result<Deserializer<'de, 'c>> {
        self.0.map(Deserializer).ok_or(WRONG_TYPE)
    }
}

impl<'de> VariantAccess<'de> for Content<'de, '_> {
    type Error = DataError;

    fn unit_variant(self) -> Result<()> {
        match self.0 {
            None => Ok(()),
            Some(c) => de::Deserialize::deserialize(Deserializer(c)),
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
