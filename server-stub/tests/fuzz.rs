//! Property tests of the server's inbound decoder (the library's): arbitrary text, and golden frames with bytes
//! cut, swapped or replaced, never panic; whatever does not decode is a typed protocol error.

use proptest::prelude::*;

/// The proptest configuration of the stub's fuzz tests: `default_cases` cases unless
/// `PROPTEST_CASES` says otherwise (the `chaos` command runs a longer fuzz), and failing cases
/// saved beside the test file (`<test>.proptest-regressions`, to commit) and re-run first.
/// Proptest's default location looks for a `lib.rs` above the file, which `tests/` has not.
fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_cases),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}

fn fixtures() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/client");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

proptest! {
    // PROPTEST_CASES overrides the count (the `chaos` command runs a longer fuzz).
    #![proptest_config(proptest_config(2_000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = tether_server::session::decode(&text);
    }

    #[test]
    fn mutated_golden_frames_never_panic(pick in 0usize..64, at in 0usize..400, len in 0usize..40, with in "\\PC{0,8}") {
        let all = fixtures();
        let base = &all[pick % all.len()];
        let mut bytes: Vec<char> = base.chars().collect();
        let at = at.min(bytes.len());
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, with.chars());
        let mutated: String = bytes.into_iter().collect();
        let described = match tether_server::session::decode(&mutated) {
            Ok(frame) => frame.encode(),
            Err(e) => format!("{e:?}"),
        };
        prop_assert!(!described.is_empty());
    }
}
