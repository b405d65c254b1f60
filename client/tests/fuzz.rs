//! Property tests of the client's frame decoders: golden server frames of both shapes with bytes cut, swapped or
//! replaced never panic the decoder or an open connection fed with them, and the connection stays
//! open. PROPTEST_CASES overrides the count (the `chaos` command runs a longer fuzz).

mod support;

use proptest::prelude::*;
use support::*;
use tether_client::protocol::agents::AgentsMessage;
use tether_client::protocol::control::Control;
use tether_client::protocol::Envelope;
use tether_client::ConnectionState;

fn fixtures() -> Vec<String> {
    ["server", "origin"]
        .iter()
        .flat_map(|d| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures")
                .join(d);
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        })
        .collect()
}

proptest! {
    #![proptest_config(proptest_config(1_000))]

    #[test]
    fn mutated_server_frames_never_break_the_client(picks in prop::collection::vec((0usize..64, 0usize..400, 0usize..40, "\\PC{0,8}"), 1..8)) {
        let all = fixtures();
        let mut h = Harness::new(config());
        let (_sub, _) = h.record("agent:1");
        h.connect_and_open();
        for (pick, at, len, with) in picks {
            let mut chars: Vec<char> = all[pick % all.len()].chars().collect();
            let at = at.min(chars.len());
            let end = (at + len).min(chars.len());
            chars.splice(at..end, with.chars());
            let text: String = chars.into_iter().collect();
            if let Ok(envelope) = Envelope::decode(&text) {
                let _ = Control::parse(&envelope);
                let _ = envelope.decode_as::<AgentsMessage>();
            }
            h.server_sends(&text);
        }
        prop_assert_eq!(h.state(), ConnectionState::Open);
    }
}
