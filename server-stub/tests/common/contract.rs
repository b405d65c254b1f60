//! `schema/envelope-v1.json`, the origin's contract, compiled into validators of its parts.

use jsonschema::Validator;
use serde_json::{json, Value};
use std::path::Path;

/// The contract's validators.
pub struct Contract {
    /// `$defs/client`: a frame a client sends.
    pub client: Validator,
    /// `$defs/server`: a frame an origin-contract server sends.
    pub server: Validator,
    /// `$defs/envelope`: the envelope of any frame.
    pub envelope: Validator,
}

impl Contract {
    /// Loads and compiles the schema, format assertions on.
    pub fn load() -> Contract {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/envelope-v1.json");
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
        let part = |name: &str| {
            let root = json!({
                "$schema": schema["$schema"],
                "$defs": schema["$defs"],
                "$ref": format!("#/$defs/{name}"),
            });
            jsonschema::options()
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|e| panic!("$defs/{name} compiles: {e}"))
        };
        Contract {
            client: part("client"),
            server: part("server"),
            envelope: part("envelope"),
        }
    }

    /// Fails the test, listing the errors, if `text` does not validate.
    pub fn check(validator: &Validator, what: &str, text: &str) {
        let value: Value = serde_json::from_str(text).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} breaks the contract: {text}\n{errors:#?}"
        );
    }
}
