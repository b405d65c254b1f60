use proptest::prelude::*;

use super::*;
use crate::json::{self, Str};

#[test]
fn a_frame_is_read_in_place_and_kept_whole() {
    let text = r#"{"v":1,"type":"agent_updated","topic":"agent:7","req_id":"r1","ts":5,"seq":43,"data":{"name":"a"}}"#;
    let e = EnvelopeRef::parse(text).unwrap();
    assert_eq!(
        (
            e.kind.raw(),
            e.topic.map(|t| t.raw()),
            e.req_id.map(|r| r.raw())
        ),
        ("agent_updated", Some("agent:7"), Some("r1"))
    );
    assert_eq!(
        (e.ts, e.seq, e.raw_data()),
        (5, Some(43), r#"{"name":"a"}"#)
    );
    let f = Frame::new(text, &e, Topic::new("agent:7"));
    assert_eq!(
        (f.kind(), f.req_id(), f.raw_data()),
        ("agent_updated", Some("r1"), r#"{"name":"a"}"#)
    );
    assert_eq!((f.ts, f.seq, f.text()), (5, Some(43), text));
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
    }
    assert_eq!(f.data::<Named>().unwrap().name, "a");
    assert_eq!(f.to_envelope().unwrap(), Envelope::decode(text).unwrap());
}

#[test]
fn absent_or_null_parts_read_as_the_envelope_reads_them() {
    let f =
        Frame::decode(r#"{"v":1,"type":"p\u0069ng","topic":null,"ts":null,"data":null}"#).unwrap();
    assert_eq!(
        (f.kind(), f.topic.as_str(), f.ts, f.raw_data()),
        ("ping", "system", 0, "{}")
    );
    assert!(EnvelopeRef::parse(r#"{"type":"ping","v":1}"#)
        .unwrap()
        .is_system());
}

#[test]
fn bad_frames_give_the_envelope_s_errors() {
    let err = |t: &str| EnvelopeRef::parse(t).unwrap_err();
    for t in [
        "not json",
        r#"{"type":"ping"}"#,
        r#"{"v":1}"#,
        r#"{"v":1,"type":"x","topic":5}"#,
        r#"{"v":1,"type":"x","seq":-1}"#,
        r#"{"v":1,"type":"x","ts":1.5}"#,
        r#"{"v":1,"type":"x","type":"y"}"#,
        r#"{"v":1,"type":null}"#,
        r#"[1,"ping"]"#,
    ] {
        assert!(matches!(err(t), DecodeError::Envelope(_)), "{t}");
    }
    assert_eq!(
        err(r#"{"v":2,"type":"ping"}"#),
        DecodeError::Version("2".into())
    );
    assert_eq!(
        err(r#"{"v":"1","type":"ping"}"#),
        DecodeError::Version(r#""1""#.into())
    );
}

/// Every golden frame, both shapes.
fn golden() -> Vec<String> {
    ["server", "origin"]
        .iter()
        .flat_map(|d| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures")
                .join(d);
            std::fs::read_dir(dir).into_iter().flatten().flatten()
        })
        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|v| v.to_string())
        .collect()
}

/// A golden frame with a few bytes cut, swapped or replaced by JSON's own characters.
fn mutated() -> impl Strategy<Value = String> {
    let frames = golden();
    assert!(frames.len() > 10, "the fixtures are there");
    (
        0..frames.len(),
        proptest::collection::vec((any::<usize>(), 0..4u8, 0..12usize), 0..4),
    )
        .prop_map(move |(i, edits)| {
            let mut b = frames[i].clone().into_bytes();
            for (at, op, c) in edits {
                if b.is_empty() {
                    break;
                }
                let (len, at) = (b.len(), at % b.len());
                let ch = b"{}[],:\"\\1-n "[c];
                match op {
                    0 => drop(b.remove(at)),
                    1 => b[at] = ch,
                    2 => b.insert(at, ch),
                    _ => b.swap(at, (at + 1) % len),
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        })
}

/// The same check both decoders make (serde's also reads a JSON array as the envelope's
/// fields in order, which no peer sends; this one refuses it).
fn agree(text: &str) -> Result<(), TestCaseError> {
    let ours = Frame::decode(text);
    let theirs = Envelope::decode(text);
    if text.trim_start().starts_with('[') {
        prop_assert!(ours.is_err());
        return Ok(());
    }
    match (&ours, &theirs) {
        // `data` is found, not validated, when a frame is read: serde refused it for its
        // data alone, and decoding that data fails.
        (Ok(f), Err(_)) => {
            prop_assert!(json::Value::parse(f.raw_data()).is_err(), "{:?}", text);
            prop_assert!(f.data::<serde::de::IgnoredAny>().is_err());
        }
        (Ok(f), Ok(e)) => {
            prop_assert_eq!(f.kind(), e.kind.as_str());
            prop_assert_eq!(&f.topic, &e.topic);
            prop_assert_eq!(f.req_id(), e.req_id.as_deref());
            prop_assert_eq!((f.ts, f.seq), (e.ts, e.seq));
            prop_assert_eq!(f.raw_data(), e.data.get());
        }
        // A text that is both not JSON and not a valid envelope: reading it (which finds
        // `data` without validating it) can meet the bad field (a `v` of 11, say) before the
        // bad syntax, where serde reports the syntax. Both refuse it.
        (Err(a), Err(DecodeError::Envelope(_)))
            if !matches!(a, DecodeError::Envelope(_)) && json::Value::parse(text).is_err() => {}
        (Err(a), Err(b)) => prop_assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{:?} / {:?}",
            a,
            b
        ),
        _ => prop_assert!(
            false,
            "{:?}: ours {:?}, serde {:?}",
            text,
            ours.map(drop),
            theirs.map(drop)
        ),
    }
    Ok(())
}

proptest! {
    #[test]
    fn reads_every_frame_as_the_envelope_does(text in mutated()) {
        agree(&text)?;
    }

    #[test]
    fn never_panics_on_any_text(text in "\\PC*") {
        agree(&text)?;
    }
}

#[test]
fn a_frame_built_from_another_text_s_envelope_is_garbage_not_a_panic() {
    let one = r#"{"v":1,"type":"a","topic":"t","ts":1,"data":{"x":[1,2,{"y":"z"}]}}"#;
    let other = String::from(r#"{"v":1,"type":"b","data":"#) + "[[[[" + "}";
    let e = EnvelopeRef::parse(one).unwrap();
    let f = Frame::new(&other, &e, Topic::new("t"));
    let _ = (
        f.kind(),
        f.req_id(),
        f.raw_data(),
        f.data::<serde_json::Value>(),
    );
}

proptest! {
    #[test]
    fn a_frame_with_another_req_id_is_the_envelope_with_it(text in mutated(), req in proptest::option::of("[a-z0-9.]{1,6}")) {
        if let (Ok(ours), Ok(mut theirs)) = (EnvelopeRef::parse(&text), Envelope::decode(&text)) {
            theirs.req_id = req.clone();
            prop_assert_eq!(ours.encode_with_req_id(req.as_deref()), theirs.encode());
        }
    }
}

/// What a reading says, owned: type, topic, req_id (as written), ts, seq, data.
type Reading = (
    String,
    Option<String>,
    Option<String>,
    u64,
    Option<u64>,
    Option<String>,
);

fn reading(e: &EnvelopeRef<'_>) -> Reading {
    let raw = |s: Str<'_>| s.raw().to_owned();
    let (kind, topic, req_id) = (raw(e.kind), e.topic.map(raw), e.req_id.map(raw));
    (kind, topic, req_id, e.ts, e.seq, e.data.map(str::to_owned))
}

/// The general reader's reading of `text` (a leading space keeps the fast path out).
fn general(text: &str) -> Option<Reading> {
    EnvelopeRef::parse(&[" ", text].concat())
        .ok()
        .as_ref()
        .map(reading)
}

/// Frames as tether-wire writes them, with a few bytes cut, swapped or replaced.
fn canonical_mutated() -> impl Strategy<Value = String> {
    let frame = (
        "[a-z_\"]{1,8}",
        "[a-z:0-9\\\\]{1,8}",
        proptest::option::of("r[0-9]{1,3}"),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        "[{}\\[\\]\",:a-z0-9 \\\\]{0,12}",
    );
    let edits = proptest::collection::vec((any::<usize>(), 0..4u8, 0..13usize), 0..3);
    (frame, edits).prop_map(|((kind, topic, req, ts, seq, junk), edits)| {
        let data = serde_json::json!({"n": ts, "junk": junk});
        let mut e = Envelope::new(kind, Topic::new(topic), &data)
            .unwrap()
            .with_ts(ts);
        e.req_id = req;
        e.seq = seq;
        let mut b = e.encode().into_bytes();
        for (at, op, c) in edits {
            let (len, at) = (b.len(), at % b.len());
            let ch = b"{}[],:\"\\1-n e"[c];
            match op {
                0 => drop(b.remove(at)),
                1 => b[at] = ch,
                2 => b.insert(at, ch),
                _ => b.swap(at, (at + 1) % len),
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    })
}

proptest! {
    #[test]
    fn the_fast_path_reads_what_the_general_reader_reads(text in prop_oneof![mutated(), canonical_mutated()]) {
        if let Some(fast) = fast::parse(&text) {
            prop_assert_eq!(Some(reading(&fast)), general(&text), "{}", text);
        }
    }

    #[test]
    fn frames_as_tether_wire_writes_them_take_the_fast_path(
        kind in "[a-z_]{1,12}", topic in "[a-z]{1,6}:[0-9]{1,4}", req in proptest::option::of("r[0-9]{1,3}"),
        ts in any::<u64>(), seq in proptest::option::of(any::<u64>()), n in any::<u32>(),
    ) {
        let mut e = Envelope::new(kind, Topic::new(topic), &serde_json::json!({"n": n, "s": "{x}"})).unwrap().with_ts(ts);
        e.req_id = req;
        e.seq = seq;
        let text = e.encode();
        let fast = fast::parse(&text);
        prop_assert!(fast.is_some(), "{}", text);
        prop_assert_eq!(fast.as_ref().map(reading), general(&text));
    }
}
