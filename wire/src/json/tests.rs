use proptest::prelude::*;

use super::*;

#[test]
fn values_are_found_in_place() {
    let text = r#" {"a": [1, -2.5e3, "x\"y", null, true], "b": {"c": "\u00e9\ud83d\ude00"}, "n": 18446744073709551615} "#;
    let v = Value::parse(text).unwrap();
    assert_eq!(v.kind(), Kind::Object);
    let keys: Vec<_> = v.entries().map(|(k, _)| k.raw()).collect();
    assert_eq!(keys, ["a", "b", "n"]);
    let items: Vec<_> = v.get("a").unwrap().items().map(|i| i.raw()).collect();
    assert_eq!(items, ["1", "-2.5e3", r#""x\"y""#, "null", "true"]);
    let s = v
        .get("a")
        .unwrap()
        .items()
        .nth(2)
        .unwrap()
        .as_str()
        .unwrap();
    assert!(s.is_escaped() && s.is("x\"y"));
    let c = v.get("b").unwrap().get("c").unwrap().as_str().unwrap();
    assert_eq!(c.value(), "é😀");
    assert_eq!(v.get("n").unwrap().as_u64(), Some(u64::MAX));
    assert_eq!(v.get("missing"), None);
    assert_eq!(
        v.get("a").unwrap().entries().count(),
        0,
        "an array has no entries"
    );
}

#[test]
fn only_unsigned_integers_read_as_u64() {
    for (text, want) in [
        ("0", Some(0)),
        ("42", Some(42)),
        ("-1", None),
        ("1.0", None),
        ("1e2", None),
        ("18446744073709551616", None),
        ("\"1\"", None),
    ] {
        assert_eq!(Value::parse(text).unwrap().as_u64(), want, "{text}");
    }
}

#[test]
fn invalid_json_is_refused() {
    for bad in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "01",
        "1.",
        ".5",
        "1e",
        "-",
        "+1",
        "tru",
        "nul",
        "\"abc",
        "\"a\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"a\u{1}\"",
        "[1] 2",
        "{\"a\":1}}",
        "[[]",
    ] {
        assert!(Value::parse(bad).is_err(), "{bad:?}");
    }
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert!(Value::parse(&deep).is_err());
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(Value::parse(&ok).is_ok());
}

#[test]
fn strings_are_written_as_serde_json_writes_them() {
    for s in [
        "",
        "plain",
        "q\"b\\s/",
        "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
        "é😀",
    ] {
        let mut out = String::new();
        push_str(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap());
    }
    for n in [0, 7, 10, 1234567890, u64::MAX] {
        let mut out = String::new();
        push_u64(&mut out, n);
        assert_eq!(out, n.to_string());
    }
}

/// Text made of JSON's own characters, so that much of it is nearly JSON.
fn jsonish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{"),
            Just("}"),
            Just("["),
            Just("]"),
            Just(","),
            Just(":"),
            Just("\""),
            Just("\\"),
            Just("\"a\""),
            Just("\"\\u00e9\""),
            Just("1"),
            Just("0"),
            Just("-"),
            Just("."),
            Just("e"),
            Just("true"),
            Just("null"),
            Just(" "),
            Just("x"),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e6f64..1e6).prop_map(serde_json::Value::from),
        "\\PC*".prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Walks `v` as serde_json sees it alongside the same text as this reader sees it.
fn same(ours: Value<'_>, theirs: &serde_json::Value) -> bool {
    match theirs {
        serde_json::Value::Object(m) => {
            ours.entries().count() == m.len()
                && ours
                    .entries()
                    .all(|(k, v)| m.get(&*k.value()).is_some_and(|t| same(v, t)))
        }
        serde_json::Value::Array(a) => {
            ours.items().count() == a.len() && ours.items().zip(a).all(|(o, t)| same(o, t))
        }
        serde_json::Value::String(s) => ours.as_str().is_some_and(|o| o.value() == *s),
        serde_json::Value::Number(n) => {
            ours.kind() == Kind::Number
                && ours.as_u64() == n.as_u64().filter(|_| !ours.raw().contains(['.', 'e', 'E']))
        }
        serde_json::Value::Bool(_) => ours.kind() == Kind::Bool,
        serde_json::Value::Null => ours.is_null(),
    }
}

proptest! {
    #[test]
    fn accepts_what_serde_json_accepts(s in jsonish()) {
        prop_assert_eq!(
            Value::parse(&s).is_ok(),
            serde_json::from_str::<serde_json::Value>(&s).is_ok(),
            "{:?}", s
        );
    }

    #[test]
    fn reads_what_serde_json_writes(v in any_json(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
        let ours = Value::parse(&text).expect("valid JSON");
        prop_assert!(same(ours, &v), "{}", text);
    }

    #[test]
    fn never_panics_on_any_text(s in "\\PC*") {
        if let Ok(v) = Value::parse(&s) {
            let _ = v.entries().count() + v.items().count();
        }
    }

    #[test]
    fn writes_strings_as_serde_json_does(s in any::<String>()) {
        let mut out = String::new();
        push_str(&mut out, &s);
        prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
    }
}

proptest! {
    /// Integers read without a checked multiply per digit read as `str::parse` does.
    #[test]
    fn integers_parse_as_the_standard_library_does(n in any::<u64>(), extra in 0u8..10, zeros in 0usize..3) {
        for raw in [n.to_string(), format!("{n}{extra}"), format!("{}{n}", "0".repeat(zeros))] {
            let canonical = raw == "0" || !raw.starts_with('0');
            let expected = raw.parse::<u64>().ok().filter(|_| canonical);
            prop_assert_eq!(read::parse_u64(&raw), expected, "{}", raw);
        }
    }
}
