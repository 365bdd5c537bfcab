//! docs/architecture.md's import rules, checked on the sources: each part of src/ refers (through
//! `crate::` paths in code, comments aside) only to the parts the table allows, so that no backend
//! imports the other, the model imports no backend or output, and the time loop no concrete
//! backend.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The part a source file belongs to (`None`: the crate root and main.rs, which may use all).
fn part_of(rel: &Path) -> Option<&'static str> {
    let s = rel.to_string_lossy().replace('\\', "/");
    let parts: [(&str, &str); 12] = [
        ("grid.rs", "grid"),
        ("error.rs", "error"),
        ("numerics/", "numerics"),
        ("config/", "config"),
        ("model/", "model"),
        ("backend/cpu/", "backend::cpu"),
        ("backend/gpu/", "backend::gpu"),
        ("backend/", "backend"),
        ("output/", "output"),
        ("simulation/", "simulation"),
        ("study/", "study"),
        ("cli/", "cli"),
    ];
    parts
        .iter()
        .find(|(prefix, _)| s.starts_with(prefix))
        .map(|&(_, part)| part)
}

/// The parts `part` may refer to (besides itself and `error`, which every part may use).
fn allowed(part: &str) -> &'static [&'static str] {
    match part {
        "grid" | "error" => &[],
        "numerics" => &["grid"],
        "config" => &["grid"],
        "model" => &["grid", "numerics", "config"],
        "backend" => &["grid", "numerics", "model", "config"],
        "backend::cpu" => &["grid", "numerics", "model", "config", "backend"],
        "backend::gpu" => &["grid", "numerics", "model", "config", "backend"],
        "output" => &["grid", "model", "config"],
        "simulation" => &["grid", "numerics", "model", "config", "backend", "output"],
        "study" => &["grid", "model", "config", "output"],
        "cli" => &[
            "grid",
            "numerics",
            "model",
            "config",
            "backend",
            "backend::cpu",
            "backend::gpu",
            "output",
            "simulation",
            "study",
        ],
        other => panic!("no rule for part {other}"),
    }
}

/// The parts a line of code refers to through `crate::` paths (`crate::backend::gpu::…` is
/// `backend::gpu`, `crate::backend::Backend` is `backend`).
fn references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let word = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let first = word(rest);
        // The crate root's re-exports: `crate::Result` is error's, `crate::Real` the grid's.
        let mut name = match first.as_str() {
            "Result" | "Error" => "error".to_string(),
            "Real" | "Field" | "Grid" => "grid".to_string(),
            _ => first.clone(),
        };
        if first == "backend" {
            let after = &rest[first.len()..];
            if let Some(sub) = after.strip_prefix("::") {
                let second = word(sub);
                if second == "cpu" || second == "gpu" {
                    name = format!("backend::{second}");
                }
            }
        }
        out.push(name);
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn each_part_imports_only_what_docs_architecture_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut checked = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let Some(part) = part_of(rel) else { continue };
        checked.insert(part);
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for target in references(code) {
                let ok = target == part
                    || target == "error"
                    // A backend's own files name their backend through crate::backend::cpu/gpu.
                    || part.starts_with(&format!("{target}::"))
                    || allowed(part).contains(&target.as_str());
                if !ok {
                    violations.push(format!(
                        "{}:{}: {part} refers to crate::{target}: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    println!("parts checked: {checked:?} in {} files", files.len());
    assert!(
        checked.len() >= 10,
        "every part of docs/architecture.md has files: {checked:?}"
    );
    assert!(
        violations.is_empty(),
        "imports docs/architecture.md does not allow:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_reference_scanner_tells_the_backends_apart() {
    assert_eq!(
        references("use crate::backend::gpu::GpuBackend; use crate::backend::{Backend};"),
        vec!["backend::gpu".to_string(), "backend".to_string()]
    );
    assert_eq!(
        references("x = crate::model::units::MAH; crate::backend::cpu::CpuBackend::new()"),
        vec!["model".to_string(), "backend::cpu".to_string()]
    );
    assert_eq!(
        references("-> crate::Result<crate::Real>"),
        vec!["error".to_string(), "grid".to_string()]
    );
    assert!(!allowed("model").contains(&"backend"));
    assert!(!allowed("backend::gpu").contains(&"backend::cpu"));
    assert!(!allowed("simulation").contains(&"backend::cpu"));
}
