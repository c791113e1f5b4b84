//! The layering rule of docs/architecture.md ("Layers"): a module may use only modules of a lower
//! layer. This test reads every `crate::<module>` path in `src/` and fails on one that runs uphill
//! or sideways, and on a top-level module that has no layer yet (a new room must be placed).

use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules of the library, bottom layer first. Modules in one layer may not use each
/// other.
const LAYERS: &[&[&str]] = &[
    &["limits"],
    &["time", "phase", "stats"],
    &["frame"],
    &["fault"],
    &["config"],
    &["events", "scenario"],
    &["signal"],
    &["monitor", "detect"],
    &["plan"],
    &["hal"],
    &["camera", "sim"],
    &["console"],
    &["central"],
    &["runtime"],
    &["train", "verify", "plot", "offsets"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/plan/webster/fit.rs` → `plan`); `None`
/// for the crate root and the binary's own files.
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_str()?
        .trim_end_matches(".rs")
        .to_string();
    match first.as_str() {
        "lib" | "main" | "cli" => None,
        _ => Some(first),
    }
}

/// Every module named right after `crate::` in `text`, outside `//` comments.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((n + 1, name));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn no_import_runs_uphill() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for f in &files {
        let Some(from) = owner(&src, f) else { continue };
        let Some(from_layer) = layer(&from) else {
            wrong.push(format!(
                "{}: module `{from}` has no layer in tests/layers.rs",
                f.display()
            ));
            continue;
        };
        for (line, to) in uses(&fs::read_to_string(f).unwrap()) {
            if to == from {
                continue;
            }
            match layer(&to) {
                Some(l) if l < from_layer => {}
                Some(_) => wrong.push(format!(
                    "{}:{line}: `{from}` uses `{to}`, which is not below it",
                    f.display()
                )),
                None => wrong.push(format!(
                    "{}:{line}: `{to}` has no layer in tests/layers.rs",
                    f.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run uphill or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_rule_catches_an_uphill_import() {
    // The checker itself: a config file naming the engine is caught, a plain path is not.
    let found = uses("use crate::signal::engine::Engine; // crate::runtime in a comment\nlet x = 1;");
    assert_eq!(found, vec![(1, "signal".to_string())]);
    assert!(layer("signal").unwrap() > layer("config").unwrap());
    assert!(layer("runtime").unwrap() > layer("console").unwrap());
}
