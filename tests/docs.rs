//! The project documents its own model: docs/model.md has a row for every config key, and the
//! README and docs/ point to nothing outside the project.

use mgpf::config::Config;
use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every "section.key": those a config serialises, and those configs/none.toml shows, set or
/// commented out (the optional ones).
fn config_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let tree = toml::Value::try_from(Config::default_demo()).unwrap();
    for (section, table) in tree.as_table().unwrap() {
        for key in table.as_table().unwrap().keys() {
            keys.insert(format!("{section}.{key}"));
        }
    }
    let mut section = String::new();
    for line in read("configs/none.toml").lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let setting = line.strip_prefix("# ").unwrap_or(line);
        let key = setting.split(" = ").next().unwrap_or("");
        if !section.is_empty()
            && setting.contains(" = ")
            && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

#[test]
fn model_md_documents_every_config_key() {
    let doc = read("docs/model.md");
    let keys = config_keys();
    assert!(keys.len() > 50, "only {} keys found", keys.len());
    let mut missing = Vec::new();
    for full in &keys {
        let (section, key) = full.split_once('.').unwrap();
        // The section's part: from its heading to the next section's.
        let heading = format!("**`[{section}]`**");
        let Some(start) = doc.find(&heading) else {
            missing.push(format!("{full} (no {heading} heading)"));
            continue;
        };
        let rest = &doc[start + heading.len()..];
        let part = &rest[..rest.find("**`[").unwrap_or(rest.len())];
        let documented = part.lines().any(|l| {
            l.starts_with('|')
                && l.split('|')
                    .nth(1)
                    .is_some_and(|c| c.contains(&format!("`{key}`")))
        }) || (key == "preset" && part.contains("`preset`"));
        if !documented {
            missing.push(full.clone());
        }
    }
    println!("{} keys, {} undocumented", keys.len(), missing.len());
    assert!(missing.is_empty(), "not in docs/model.md: {missing:?}");
}

#[test]
fn readme_and_docs_point_inside_the_project() {
    let readme = read("README.md");
    println!(
        "README links docs/model.md: {}",
        readme.contains("(docs/model.md)")
    );
    assert!(readme.contains("(docs/model.md)"));
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut texts = vec![("README.md".to_string(), readme)];
    for entry in std::fs::read_dir(docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = path.display().to_string();
            texts.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    for (name, text) in &texts {
        for outside in ["../shared", "physics.md"] {
            let lines: Vec<&str> = text.lines().filter(|l| l.contains(outside)).collect();
            println!("{name}: {} lines mention {outside}", lines.len());
            assert!(lines.is_empty(), "{name} points to {outside}: {lines:?}");
        }
    }
}
