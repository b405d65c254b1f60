//! The serde-free reading and writing of control frames against the serde forms.

use proptest::prelude::*;

use super::*;
use crate::frame::EnvelopeRef;

fn topic() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}:[0-9]{1,4}",
        "\\PC{0,8}",
        Just("q\"\\\n".to_owned())
    ]
}

proptest! {
    #[test]
    fn written_frames_are_the_serde_frames(
        topics in proptest::collection::vec((topic(), proptest::option::of(any::<u64>())), 0..6),
        mid in "\\PC{0,6}",
        ts in any::<u64>(),
        stamp in proptest::option::of(any::<u64>()),
        req in proptest::option::of("[a-z0-9.]{1,6}"),
    ) {
        let since: BTreeMap<Topic, u64> =
            topics.iter().filter_map(|(t, s)| Some((Topic::new(t), (*s)?))).collect();
        // The client writes topics in table order, so `since` comes out sorted as serde's map.
        let mut sorted = topics.clone();
        sorted.sort();
        sorted.dedup_by(|a, b| a.0 == b.0);
        let since_sorted: BTreeMap<Topic, u64> =
            sorted.iter().filter_map(|(t, s)| Some((Topic::new(t), (*s)?))).collect();
        let serde = Control::Subscribe(Subscribe {
            topics: sorted.iter().map(|(t, _)| Topic::new(t)).collect(),
            message_id: Some(mid.clone()),
            since: (!since_sorted.is_empty()).then_some(since_sorted),
        });
        prop_assert_eq!(write::subscribe(ts, &mid, &sorted), serde.to_envelope().with_ts(ts).encode());
        drop(since);
        let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        let serde = Control::Unsubscribe(Unsubscribe {
            topics: names.iter().map(Topic::new).collect(),
            message_id: Some(mid.clone()),
        });
        prop_assert_eq!(write::unsubscribe(ts, &mid, &names), serde.to_envelope().with_ts(ts).encode());
        for (k, c) in [(kind::PING, Control::Ping(Heartbeat { timestamp: stamp })), (kind::PONG, Control::Pong(Heartbeat { timestamp: stamp }))] {
            let mut e = c.to_envelope().with_ts(ts);
            e.req_id = req.clone();
            prop_assert_eq!(write::heartbeat(k, ts, req.as_deref(), stamp), e.encode());
        }
    }
}

proptest! {
    #[test]
    fn written_answers_are_the_serde_frames(
        topics in proptest::collection::btree_map(topic(), any::<u64>(), 0..5),
        mid in proptest::option::of("\\PC{0,6}"),
        epoch in proptest::option::of("[a-z0-9]{1,6}"),
        ts in any::<u64>(),
        text in ("\\PC{0,8}", "\\PC{0,8}", "[A-Z_]{1,8}"),
        seq in proptest::option::of(any::<u64>()),
        req in proptest::option::of("[a-z0-9.]{1,6}"),
    ) {
        let names: Vec<&str> = topics.keys().map(String::as_str).collect();
        let seqs: Vec<(&str, u64)> = topics.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        let serde = |c: Control| c.to_envelope().with_ts(ts).encode();
        prop_assert_eq!(
            write::subscribe_ack(ts, mid.as_deref(), &names, &seqs, epoch.as_deref()),
            serde(Control::SubscribeAck(SubscribeAck {
                message_id: mid.clone(),
                topics: names.iter().map(Topic::new).collect(),
                seqs: seqs.iter().map(|(t, n)| (Topic::new(t), *n)).collect(),
                epoch: epoch.clone(),
            }))
        );
        let (topic, error, code) = text;
        prop_assert_eq!(
            write::subscribe_error(ts, mid.as_deref(), &topic, &error, &code),
            serde(Control::SubscribeError(SubscribeError {
                message_id: mid.clone(),
                topic: Topic::new(&topic),
                error: error.clone(),
                error_code: code.clone(),
            }))
        );
        prop_assert_eq!(
            write::unsubscribe_success(ts, mid.as_deref(), &names),
            serde(Control::UnsubscribeSuccess(UnsubscribeSuccess {
                message_id: mid.clone(),
                topics: names.iter().map(Topic::new).collect(),
            }))
        );
        prop_assert_eq!(
            write::resync_required(ts, &topic, seq, epoch.as_deref()),
            serde(Control::ResyncRequired(ResyncRequired {
                topic: Topic::new(&topic),
                seq,
                epoch: epoch.clone(),
            }))
        );
        let mut e = Control::Error(ErrorData::new(code.clone(), error.clone())).to_envelope().with_ts(ts);
        e.req_id = req.clone();
        prop_assert_eq!(write::error(ts, req.as_deref(), &code, &error), e.encode());
    }
}

/// What the serde-free readers read.
#[derive(Debug)]
enum Read<'a> {
    Control(ControlRef<'a>),
    Subscribe(TopicsRef<'a>),
    Unsubscribe(TopicsRef<'a>),
}

/// Both readers on one frame: the same verdict, and the same content where both read it.
fn agree(text: &str) -> Result<(), TestCaseError> {
    let (Ok(theirs), Ok(ours)) = (Envelope::decode(text), EnvelopeRef::parse(text)) else {
        return Ok(());
    };
    // Serde also reads a struct from a JSON array and a `Value` refuses numbers past f64;
    // no peer sends either.
    if ours
        .data
        .is_some_and(|d| d.trim_start().starts_with('[') || d.contains(['e', 'E']))
    {
        return Ok(());
    }
    let read = match TopicsRef::parse(&ours) {
        Some(Ok(t)) if ours.kind.is(kind::SUBSCRIBE) => Some(Ok(Read::Subscribe(t))),
        Some(Ok(t)) => Some(Ok(Read::Unsubscribe(t))),
        Some(Err(e)) => Some(Err(e)),
        None => ControlRef::parse(&ours).map(|r| r.map(Read::Control)),
    };
    let (ours, theirs) = match (read, Control::parse(&theirs)) {
        (None, None) => return Ok(()),
        (Some(Ok(o)), Some(Ok(t))) => (o, t),
        (Some(Err(_)), Some(Err(_))) => return Ok(()),
        (o, t) => {
            prop_assert!(false, "{}: ours {:?}, serde {:?}", text, o, t);
            unreachable!()
        }
    };
    let s = |s: crate::json::Str<'_>| s.value().into_owned();
    let ours = match ours {
        Read::Control(c) => c,
        Read::Subscribe(a) => {
            let Control::Subscribe(b) = theirs else {
                prop_assert!(false, "{}: {:?}", text, theirs);
                unreachable!()
            };
            prop_assert_eq!(a.message_id.map(s), b.message_id);
            prop_assert_eq!(
                a.topics()
                    .map(|t| Topic::new(t.value()))
                    .collect::<Vec<_>>(),
                b.topics
            );
            let since: BTreeMap<Topic, u64> =
                a.since().map(|(t, n)| (Topic::new(t.value()), n)).collect();
            prop_assert_eq!(since, b.since.unwrap_or_default());
            return Ok(());
        }
        Read::Unsubscribe(a) => {
            let Control::Unsubscribe(b) = theirs else {
                prop_assert!(false, "{}: {:?}", text, theirs);
                unreachable!()
            };
            prop_assert_eq!(a.message_id.map(s), b.message_id);
            prop_assert_eq!(
                a.topics()
                    .map(|t| Topic::new(t.value()))
                    .collect::<Vec<_>>(),
                b.topics
            );
            return Ok(());
        }
    };
    match (ours, theirs) {
        (ControlRef::Ping(a), Control::Ping(b)) | (ControlRef::Pong(a), Control::Pong(b)) => {
            prop_assert_eq!(a, b.timestamp)
        }
        (ControlRef::SubscribeAck(a), Control::SubscribeAck(b)) => {
            prop_assert_eq!(a.message_id.map(s), b.message_id);
            prop_assert_eq!(a.epoch.map(s), b.epoch);
            prop_assert_eq!(
                a.topics()
                    .map(|t| Topic::new(t.value()))
                    .collect::<Vec<_>>(),
                b.topics
            );
            prop_assert_eq!(
                a.seqs()
                    .map(|(t, n)| (Topic::new(t.value()), n))
                    .collect::<BTreeMap<_, _>>(),
                b.seqs
            );
        }
        (ControlRef::SubscribeError(a), Control::SubscribeError(b)) => {
            prop_assert_eq!(
                (a.message_id.map(s), s(a.topic), s(a.error), s(a.error_code)),
                (
                    b.message_id,
                    b.topic.as_str().to_owned(),
                    b.error,
                    b.error_code
                )
            );
        }
        (ControlRef::UnsubscribeSuccess, Control::UnsubscribeSuccess(_)) => {}
        (ControlRef::Error(a), Control::Error(b)) => {
            prop_assert_eq!(s(a.error), b.error.clone());
            prop_assert_eq!(a.explanation().into_owned(), b.explanation().to_owned());
        }
        (ControlRef::ResyncRequired(r), Control::ResyncRequired(b)) => {
            let ours = (s(r.topic), r.seq, r.epoch.map(s));
            prop_assert_eq!(ours, (b.topic.as_str().to_owned(), b.seq, b.epoch.clone()))
        }
        (o, t) => prop_assert!(false, "{}: ours {:?}, serde {:?}", text, o, t),
    }
    Ok(())
}

/// Control frames of every type, with a few bytes cut, swapped or replaced.
fn control_frames() -> impl Strategy<Value = String> {
    let ack = r#"{"v":1,"type":"subscribe_ack","topic":"system","ts":1,"data":{"message_id":"s1","topics":["agent:1","a\"b"],"seqs":{"agent:1":4,"a\"b":0},"epoch":"e1"}}"#;
    let frames = [
        ack,
        r#"{"v":1,"type":"subscribe_error","topic":"system","ts":1,"data":{"message_id":"s1","topic":"agent:9","error":"no","error_code":"FORBIDDEN"}}"#,
        r#"{"v":1,"type":"error","topic":"system","ts":1,"data":{"error":"E","details":{"message":"why","message_id":"s2"}}}"#,
        r#"{"v":1,"type":"error","topic":"system","ts":1,"data":{"error":"E","details":"why"}}"#,
        r#"{"v":1,"type":"ping","topic":"system","ts":1,"data":{"timestamp":77}}"#,
        r#"{"v":1,"type":"pong","topic":"system","ts":1,"req_id":"p3","data":{}}"#,
        r#"{"v":1,"type":"resync_required","topic":"agent:1","ts":1,"data":{"topic":"agent:1","seq":9}}"#,
        r#"{"v":1,"type":"unsubscribe_success","topic":"system","ts":1,"data":{"message_id":"s4","topics":["agent:1"]}}"#,
        r#"{"v":1,"type":"subscribe","topic":"system","ts":1,"data":{"topics":["agent:1","b"],"message_id":"s5","since":{"agent:1":3}}}"#,
        r#"{"v":1,"type":"unsubscribe","topic":"system","ts":1,"data":{"topics":["agent:1"],"message_id":"s6"}}"#,
    ];
    (
        0..frames.len(),
        proptest::collection::vec((any::<usize>(), 0..3u8, 0..14usize), 0..3),
    )
        .prop_map(move |(i, edits)| {
            let mut b = frames[i].as_bytes().to_vec();
            for (at, op, c) in edits {
                let at = at % b.len().max(1);
                let ch = b"{}[],:\"\\1-n 0a"[c];
                match op {
                    0 if !b.is_empty() => drop(b.remove(at)),
                    1 if !b.is_empty() => b[at] = ch,
                    _ => b.insert(at.min(b.len()), ch),
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        })
}

proptest! {
    #[test]
    fn reads_control_frames_as_serde_does(text in control_frames()) {
        agree(&text)?;
    }
}

#[test]
fn every_control_message_reads_as_serde_reads_it() {
    let frames = [
        Control::SubscribeAck(SubscribeAck {
            message_id: Some("s1".into()),
            topics: vec![Topic::agent(1)],
            seqs: [(Topic::agent(1), 3)].into(),
            epoch: None,
        }),
        Control::SubscribeError(SubscribeError {
            message_id: None,
            topic: Topic::agent(2),
            error: "no".into(),
            error_code: "FORBIDDEN".into(),
        }),
        Control::Error(ErrorData::new("MALFORMED", "bad")),
        Control::Ping(Heartbeat { timestamp: Some(3) }),
        Control::Pong(Heartbeat::default()),
        Control::UnsubscribeSuccess(UnsubscribeSuccess::default()),
        Control::ResyncRequired(ResyncRequired {
            topic: Topic::agent(1),
            seq: None,
            epoch: Some("e2".into()),
        }),
    ];
    for c in frames {
        let text = c.to_envelope().encode();
        assert!(
            ControlRef::parse(&EnvelopeRef::parse(&text).unwrap())
                .unwrap()
                .is_ok(),
            "{text}"
        );
        agree(&text).unwrap();
    }
    let app = r#"{"v":1,"type":"agent_updated","topic":"agent:1","ts":0,"data":{}}"#;
    assert!(ControlRef::parse(&EnvelopeRef::parse(app).unwrap()).is_none());
}
