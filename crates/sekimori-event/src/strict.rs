//! Decoding that refuses a JSON array where an object is expected.
//!
//! serde's derived `Deserialize` for a struct also reads the struct from a
//! sequence, its fields in declaration order (`"actor": [null, "1.2.3.4"]`
//! would be an actor with that IP), and `serde_json` offers that form for
//! every struct. JSON has no positional objects: sekimori's vocabulary and
//! its request bodies are objects with named fields, and a document that
//! says so (the JSON Schema, the OpenAPI document) must not be contradicted
//! by the decoder. [`Strict`] wraps any deserializer and refuses a sequence
//! wherever a struct, or a struct variant, is asked for, at any depth, with
//! serde's own "invalid type: sequence, expected struct X" (an
//! `invalid_type` at the field's path for the callers that classify
//! errors). Everything else passes through unchanged, in one pass: no
//! buffering, no extra allocation.
//!
//! A type that reads itself through `deserialize_any` (an internally tagged
//! or untagged enum buffers its input first) never asks for a struct; its
//! fields use [`object`] (`#[serde(deserialize_with = "object")]`), or the
//! type is wrapped in [`Object`], which ask for a map only.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// A deserializer that refuses a sequence for a struct (see the module).
#[derive(Debug)]
pub struct Strict<D>(pub D);

/// Reads a `T` only from a JSON object (a map), never from an array: for
/// fields whose type reads itself with `deserialize_any`.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(ObjectVisitor(PhantomData))
}

/// A `T` that decodes only from a JSON object (for a body decoded by code
/// that does not use [`Strict`]).
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(Strict(map)))
    }
}

/// A visitor passed on: wraps what it is given, and refuses a sequence when
/// a struct was asked for.
struct Wrap<V> {
    inner: V,
    object_only: bool,
}

impl<V> Wrap<V> {
    fn any(inner: V) -> Self {
        Wrap {
            inner,
            object_only: false,
        }
    }

    fn object(inner: V) -> Self {
        Wrap {
            inner,
            object_only: true,
        }
    }
}

macro_rules! forward_plain {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_plain!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.object_only {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        self.inner.visit_seq(Strict(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Strict(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Strict(data))
    }
}

/// A seed passed on: what it deserializes from is wrapped.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Strict(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap::any(v))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap::object(v))
    }
}

macro_rules! forward_methods {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.0.$method(Wrap::any(v))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_methods!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap::any(v))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap::any(v))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap::any(v))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap::any(v))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Wrap::object(v))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap::any(v))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: u8,
        #[serde(default)]
        b: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        inner: Inner,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        maybe: Option<Inner>,
        #[serde(default)]
        pair: Option<(u8, u8)>,
        #[serde(default)]
        tagged: Option<Tagged>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Tagged {
        Unit,
        Point { x: u8 },
    }

    fn from_value<T: for<'de> Deserialize<'de>>(v: Value) -> Result<T, String> {
        T::deserialize(Strict(v)).map_err(|e| e.to_string())
    }

    fn from_bytes<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, String> {
        let text = serde_json::to_vec(v).expect("json");
        let mut de = serde_json::Deserializer::from_slice(&text);
        T::deserialize(Strict(&mut de)).map_err(|e| e.to_string())
    }

    #[test]
    fn objects_decode_as_before() {
        let v = json!({"inner": {"a": 1}, "list": [{"a": 2, "b": "x"}], "maybe": {"a": 3},
                       "pair": [4, 5], "tagged": {"point": {"x": 6}}});
        let want: Outer = serde_json::from_value(v.clone()).expect("plain");
        assert_eq!(from_value::<Outer>(v.clone()), Ok(want));
        let want: Outer = serde_json::from_value(v.clone()).expect("plain");
        assert_eq!(from_bytes::<Outer>(&v), Ok(want));
        let unit = json!({"inner": {"a": 1}, "tagged": "unit"});
        assert!(from_value::<Outer>(unit).is_ok());
    }

    #[test]
    fn arrays_for_structs_are_refused_at_every_depth() {
        for v in [
            json!([{"a": 1}]),
            json!({"inner": [1]}),
            json!({"inner": {"a": 1}, "list": [[2, "x"]]}),
            json!({"inner": {"a": 1}, "maybe": [3]}),
            json!({"inner": {"a": 1}, "tagged": {"point": [6]}}),
        ] {
            // Plain serde_json takes them (the positional form) ...
            let text = serde_json::to_vec(&v).expect("json");
            assert!(serde_json::from_slice::<Outer>(&text).is_ok(), "{v}");
            // ... Strict does not, from a value or from bytes.
            for err in [from_value::<Outer>(v.clone()), from_bytes::<Outer>(&v)] {
                let err = err.expect_err("refused");
                assert!(err.starts_with("invalid type: sequence"), "{v}: {err}");
            }
        }
    }

    #[test]
    fn object_helper_refuses_arrays_for_buffered_types() {
        #[derive(Debug, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
        #[allow(dead_code)]
        enum Dest {
            Bank { code: String },
        }
        #[derive(Debug, Deserialize)]
        struct Holder {
            #[serde(deserialize_with = "object")]
            #[allow(dead_code)]
            dest: Dest,
        }
        let bad = json!({"dest": ["bank", "0001"]});
        // An internally tagged enum buffers its input with `deserialize_any`
        // and so takes the array even under Strict ...
        #[derive(Debug, Deserialize)]
        struct Loose {
            #[allow(dead_code)]
            dest: Dest,
        }
        assert!(from_value::<Loose>(bad.clone()).is_ok());
        // ... the `object` field attribute refuses it.
        let err = from_value::<Holder>(bad).expect_err("refused");
        assert!(err.contains("expected a JSON object"), "{err}");
        assert!(from_value::<Holder>(json!({"dest": {"kind": "bank", "code": "1"}})).is_ok());
        // `Object<T>` at the top of a body decoded without Strict.
        assert!(serde_json::from_str::<Object<Inner>>(r#"[1]"#).is_err());
        assert!(serde_json::from_str::<Object<Inner>>(r#"{"a":1}"#).is_ok());
        assert!(serde_json::from_str::<Object<Inner>>(r#"{"a":[1]}"#).is_err());
    }
}
