//! The README's library example is `examples/getting_started.rs`, word for word (the crate's
//! documentation runs that file as a doctest).

#[test]
fn the_readme_shows_the_getting_started_example_verbatim() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/getting_started.rs")).unwrap();
    let section = &readme[readme.find("## Using the library").expect("the section")..];
    let start = section.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let end = start + section[start..].find("```").expect("its end");
    assert_eq!(&section[start..end], example);
}
