//! The library's layers, checked from its source: each module imports only from the layers
//! before it (`limits`, `clock`, `frame` → `delivery` → `hub` → `broker` → `session` → `app` →
//! the top), and delivery knows nothing of topics.

use std::path::{Path, PathBuf};

/// The layer of a top-level module; the top (`server`, `upgrade`, …) is the last.
fn layer(module: &str) -> usize {
    match module {
        "limits" | "clock" => 0,
        "frame" => 1,
        "delivery" => 2,
        "hub" => 3,
        "broker" => 4,
        "session" => 5,
        "app" => 6,
        _ => 7,
    }
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file, comments left out.
fn code(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .map(|line| line.split("//").next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn no_import_runs_back_up_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut up = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = relative
            .iter()
            .next()
            .and_then(|m| m.to_str())
            .expect("a name");
        let own = layer(module.trim_end_matches(".rs"));
        for (n, line) in code(file).iter().enumerate() {
            for used in line.split("crate::").skip(1) {
                let name: String = used
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if layer(&name) > own {
                    up.push(format!("{}:{}: {}", relative.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(files.len() > 20, "read {} files", files.len());
    assert!(
        up.is_empty(),
        "imports that run back up:\n{}",
        up.join("\n")
    );
}

#[test]
fn delivery_knows_nothing_of_topics() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/delivery"),
        &mut files,
    );
    for file in files {
        for line in code(&file) {
            assert!(!line.contains("Topic"), "{}: {line}", file.display());
        }
    }
}
