//! The deserializer against serde_json, on the same text for the same types.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::from_str;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Size(u8),
    Pair(i16, String),
    Named { label: String, on: bool },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    id: u64,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    name: String,
    count: i64,
    small: u8,
    ratio: f64,
    flag: bool,
    note: Option<String>,
    inner: Inner,
    shapes: Vec<Shape>,
    by_name: BTreeMap<String, i32>,
    by_id: HashMap<u32, bool>,
    pair: (u16, char),
    unit: (),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Tagged {
    A { x: u32 },
    B { y: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Loose {
    Number(f64),
    Text(String),
    List(Vec<Loose>),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Dot),
        any::<u8>().prop_map(Shape::Size),
        (any::<i16>(), "\\PC{0,4}").prop_map(|(a, b)| Shape::Pair(a, b)),
        ("\\PC{0,4}", any::<bool>()).prop_map(|(label, on)| Shape::Named { label, on }),
    ]
}

prop_compose! {
    fn payload()(
        name in any::<String>(), count in any::<i64>(), small in any::<u8>(),
        ratio in (-1e9f64..1e9).prop_map(|f| (f * 1000.0).round() / 1000.0),
        flag in any::<bool>(), note in proptest::option::of("\\PC{0,6}"),
        id in any::<u64>(), tags in proptest::collection::vec("[a-z\"\\\\]{0,3}", 0..3),
        shapes in proptest::collection::vec(shape(), 0..4),
        by_name in proptest::collection::btree_map("\\PC{0,3}", any::<i32>(), 0..3),
        by_id in proptest::collection::hash_map(any::<u32>(), any::<bool>(), 0..3),
        pair in (any::<u16>(), any::<char>()),
    ) -> Payload {
        Payload { name, count, small, ratio, flag, note, inner: Inner { id, tags }, shapes, by_name, by_id, pair, unit: () }
    }
}

/// Both decoders on `text` as `T`: the same value, or both refuse it.
fn agree<T>(text: &str) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let ours = from_str::<T>(text);
    let theirs = serde_json::from_str::<T>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(
            false,
            "{}: ours {:?}, serde_json {:?}",
            text,
            ours,
            theirs.map_err(|e| e.to_string())
        ),
    }
    Ok(())
}

/// `text` with a few bytes cut, swapped or replaced by JSON's own characters.
fn mutate(text: String, edits: Vec<(usize, u8, usize)>) -> String {
    let mut b = text.into_bytes();
    for (at, op, c) in edits {
        let at = at % b.len().max(1);
        let ch = b"{}[],:\"\\1-n 0ae."[c % 15];
        match op {
            0 if !b.is_empty() => drop(b.remove(at)),
            1 if !b.is_empty() => b[at] = ch,
            _ => b.insert(at.min(b.len()), ch),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #[test]
    fn decodes_what_serde_json_writes(p in payload(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&p) } else { serde_json::to_string(&p) }.unwrap();
        prop_assert_eq!(from_str::<Payload>(&text).unwrap(), p);
        agree::<Payload>(&text)?;
        agree::<serde_json::Value>(&text)?;
    }

    #[test]
    fn refuses_what_serde_json_refuses(p in payload(), edits in proptest::collection::vec((any::<usize>(), 0..3u8, any::<usize>()), 1..3)) {
        let text = mutate(serde_json::to_string(&p).unwrap(), edits);
        // serde_json's f64 reading is not always correctly rounded; ours is: compare the
        // rest where a mutation made a long float.
        if text.contains(['e', 'E']) && !text.contains("true") {
            return Ok(());
        }
        agree::<Payload>(&text)?;
    }

    #[test]
    fn enums_of_every_shape_decode_as_with_serde_json(t in prop_oneof![
        any::<u32>().prop_map(|x| Tagged::A { x }),
        proptest::option::of("\\PC{0,4}").prop_map(|y| Tagged::B { y }),
    ], l in proptest::collection::vec(prop_oneof![
        (-1e6f64..1e6).prop_map(|f| Loose::Number(f.round())),
        "\\PC{0,4}".prop_map(Loose::Text),
    ], 0..4)) {
        agree::<Tagged>(&serde_json::to_string(&t).unwrap())?;
        agree::<Loose>(&serde_json::to_string(&Loose::List(l)).unwrap())?;
    }

    #[test]
    fn any_text_decodes_or_is_refused_as_with_serde_json(s in "\\PC{0,40}") {
        agree::<Inner>(&s)?;
        agree::<Option<Vec<u8>>>(&s)?;
    }
}

#[test]
fn typed_errors_name_the_missing_field() {
    let e = from_str::<Inner>(r#"{"tags":[]}"#).unwrap_err();
    assert_eq!(e.text(), "missing field `id`");
    assert_eq!(from_str::<u8>("300").unwrap_err().text(), "invalid value");
    assert_eq!(from_str::<u8>("1.5").unwrap_err().text(), "invalid type");
    assert_eq!(
        from_str::<Inner>("{").unwrap_err().text(),
        "expected a string"
    );
    assert_eq!(
        from_str::<f64>("1e400").unwrap_err().text(),
        "number out of range"
    );
    assert_eq!(from_str::<i64>("-9223372036854775808").unwrap(), i64::MIN);
    assert_eq!(from_str::<Shape>(r#"{"Size":3}"#).unwrap(), Shape::Size(3));
    assert_eq!(from_str::<Shape>(r#""Dot""#).unwrap(), Shape::Dot);
    assert!(from_str::<Shape>(r#"{"Size":3,"Dot":null}"#).is_err());
}
