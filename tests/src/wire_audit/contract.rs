//! The origin's contract, `schema/envelope-v1.json`, as validators for each direction, and
//! the verdict on one captured frame.

use std::sync::OnceLock;

use tether_client::protocol::Envelope;
use tether_stub::http::control::MALFORMED_FRAME;

/// What the origin sends that its own contract does not define (the stub follows the origin):
/// read, never validated. The same list as the client's conformance test.
const ORIGIN_DEVIATIONS: &[&str] = &["unsubscribe_success"];

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    ClientToServer,
    /// From the server to the client.
    ServerToClient,
}

/// What became of one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It conforms.
    Conforms,
    /// The malformed frame the stub sends on purpose (a fault).
    Injected,
    /// Not checked: what the origin itself sends outside its contract.
    Deviation,
    /// It breaks the contract: why.
    Breaks(String),
}

/// A validator for one direction (`client` or `server`) of the contract.
fn validator(direction: &str) -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/envelope-v1.json");
    let text = std::fs::read_to_string(path).expect("the schema file");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    schema["$ref"] = format!("#/$defs/{direction}").into();
    if let Some(root) = schema.as_object_mut() {
        root.remove("anyOf");
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn client_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| validator("client"))
}

fn server_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| validator("server"))
}

/// Judges a text frame. A client's frames must conform to `$defs/client` always. A server's
/// must conform to `$defs/server` when it serves the origin's contract (`strict_server`);
/// with tether's extensions (which the contract deliberately lacks) they must decode as
/// envelopes.
pub fn judge(direction: Direction, text: &str, strict_server: bool) -> Verdict {
    if direction == Direction::ServerToClient && text == MALFORMED_FRAME {
        return Verdict::Injected;
    }
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return Verdict::Breaks(format!("not JSON ({e})")),
    };
    let schema = match direction {
        Direction::ClientToServer => client_schema(),
        Direction::ServerToClient if strict_server => {
            if ORIGIN_DEVIATIONS.contains(&value["type"].as_str().unwrap_or_default()) {
                return Verdict::Deviation;
            }
            server_schema()
        }
        Direction::ServerToClient => {
            return match Envelope::decode(text) {
                Ok(_) => Verdict::Conforms,
                Err(e) => Verdict::Breaks(format!("not an envelope ({e})")),
            };
        }
    };
    let errors: Vec<String> = schema
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Verdict::Conforms
    } else {
        Verdict::Breaks(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;

    #[test]
    fn the_contract_refuses_what_it_should() {
        let ping = r#"{"v":1,"type":"ping","topic":"system","ts":1,"data":{"timestamp":1}}"#;
        assert_eq!(judge(ClientToServer, ping, false), Verdict::Conforms);
        for bad in [
            r#"{"v":1,"type":"ping","topic":"system","req_id":null,"ts":1,"data":{}}"#,
            r#"{"v":1,"type":"subscribe","topic":"system","ts":1,"data":{"topics":[]}}"#,
            r#"{"v":1,"type":"pong","topic":"system","ts":1,"seq":3,"data":{}}"#,
            "not json",
        ] {
            assert!(
                matches!(judge(ClientToServer, bad, false), Verdict::Breaks(_)),
                "{bad}"
            );
        }
        let ack = r#"{"v":1,"type":"subscribe_ack","topic":"system","ts":1,"data":{"topics":["agent:1"]}}"#;
        assert!(matches!(
            judge(ServerToClient, ack, true),
            Verdict::Breaks(_)
        ));
        assert_eq!(judge(ServerToClient, ack, false), Verdict::Conforms);
        assert_eq!(
            judge(ServerToClient, MALFORMED_FRAME, true),
            Verdict::Injected
        );
        let bye = r#"{"v":1,"type":"unsubscribe_success","topic":"system","ts":1,"data":{"topics":["agent:1"]}}"#;
        assert_eq!(judge(ServerToClient, bye, true), Verdict::Deviation);
    }
}
