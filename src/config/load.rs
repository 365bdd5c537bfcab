//! Reading a [`Config`] from TOML text, a file, or a file plus `--set key.path=value` overrides,
//! printing it back, and the built-in demo configuration.
//!
//! Every path ends in [`Config::validate`], so a `Config` that comes out of here is in range.
//! Errors name the dotted key: serde's "unknown field" / "invalid type" text is kept and prefixed
//! with the full key path (`grid.dx_umm`), plus the line and column when the file is the source.

use super::{Config, ControlConfig, ControlMode, GridConfig, RunConfig};
use crate::error::{Error, Result};
use std::path::Path;

impl Config {
    /// Parses and validates a TOML document; `origin` names it in errors (a path, "--config", ...).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config> {
        let tree = parse_tree(text, origin)?;
        let config = deserialize_tree(tree, Some(text), origin)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a config file.
    pub fn from_path(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::from_toml_str(&text, &path.display().to_string())
    }

    /// Reads a config file, applies `--set key.path=value` overrides in order, then deserializes
    /// and validates the result. Keys an override introduces are checked like keys in the file.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file = path.display().to_string();
        if overrides.is_empty() {
            return Config::from_toml_str(&text, &file);
        }
        let mut tree = parse_tree(&text, &file)?;
        for assignment in overrides {
            apply_override(&mut tree, assignment)?;
        }
        let origin = format!("{file} (with --set {})", overrides.join(" --set "));
        let config = deserialize_tree(tree, Some(&text), &origin)?;
        config.validate()?;
        Ok(config)
    }

    /// This config with `key.path=value` overrides laid over it in order, validated; `origin`
    /// names the result in errors ("the resumed run's config", ...), followed by the overrides.
    pub fn with_overrides(&self, overrides: &[String], origin: &str) -> Result<Config> {
        if overrides.is_empty() {
            return Ok(self.clone());
        }
        let mut tree = toml::Value::try_from(self).map_err(|e| Error::Other(e.to_string()))?;
        for assignment in overrides {
            apply_override(&mut tree, assignment)?;
        }
        let text = toml::to_string(&tree).map_err(|e| Error::Other(e.to_string()))?;
        Config::from_toml_str(
            &text,
            &format!("{origin} (with --set {})", overrides.join(" --set ")),
        )
    }

    /// The config with every default filled in, as TOML (for `mgpf config`, run folders and
    /// run.json). The interphase preset is kept as given, so the text parses back to `self`;
    /// the values the preset resolves to follow as a comment block.
    pub fn to_toml_string(&self) -> String {
        let serialized = toml::to_string(self).expect("a Config always serializes to TOML");
        let mut text: String = serialized
            .lines()
            .map(|line| readable_float_line(line) + "\n")
            .collect();
        let resolved = toml::to_string(&self.interphase.resolve())
            .expect("an InterphaseSpec always serializes to TOML");
        text.push_str(&format!(
            "\n# [interphase] as resolved (preset \"{}\" + the keys given above):\n",
            self.interphase.preset.name()
        ));
        for line in resolved.lines() {
            text.push_str("#   ");
            text.push_str(line);
            text.push('\n');
        }
        let metal = self.metal.resolve();
        text.push_str(&format!(
            "# [metal] as resolved (preset \"{}\" + the keys given above): charge_number = {}, site_density_mol_m3 = {:.4e} (molar volume {:.3} cm³/mol)\n",
            self.metal.preset.name(),
            metal.charge_number,
            metal.site_density_mol_m3,
            1e6 / metal.site_density_mol_m3
        ));
        text
    }

    /// The built-in configuration of `mgpf demo`: a short 2D galvanostatic run at the coarse end
    /// of the resolution range (δ = 1 µm, Δx = δ/2, physics.md "Decisions" 3). The demo numbers
    /// live here and nowhere else; configs/none.toml mirrors them (a test checks it).
    pub fn default_demo() -> Config {
        Config {
            grid: GridConfig {
                nx: 48,
                ny: 128,
                nz: 1,
                dx_um: 0.5,
            },
            run: RunConfig {
                max_steps: Some(50_000),
                frames: 24,
                end_charge_mah_cm2: Some(0.5),
                end_time_s: None,
                seed: 42,
                metrics_every_steps: 10,
                checkpoint_every_steps: super::default_checkpoint_steps(),
                checkpoint_every_minutes: super::default_checkpoint_minutes(),
                save_fields: super::default_save_fields(),
                frame_panels: super::default_frame_panels(),
                surface_colour: super::SurfaceColouring::Height,
            },
            metal: Default::default(),
            electrolyte: Default::default(),
            interface: Default::default(),
            noise: Default::default(),
            control: ControlConfig {
                mode: ControlMode::Galvanostatic,
                current_density_ma_cm2: 0.5,
                ..Default::default()
            },
            anisotropy: Default::default(),
            interphase: Default::default(),
            initial: Default::default(),
            numerics: Default::default(),
            cycling: None,
            system: None,
        }
    }
}

/// toml writes 3e-10 as `0.0000000003`; rewrite a `key = <float>` line with an exponent outside
/// [1e-3, 1e6). Rust's `{:e}` is the shortest exact form, so the value parses back bit for bit.
fn readable_float_line(line: &str) -> String {
    if let Some((key, literal)) = line.split_once(" = ") {
        let is_plain_float = literal.contains('.')
            && literal
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
        if let (true, Ok(value)) = (is_plain_float, literal.parse::<f64>()) {
            let magnitude = value.abs();
            if value != 0.0 && !(1e-3..1e6).contains(&magnitude) {
                return format!("{key} = {value:e}");
            }
        }
    }
    line.to_string()
}

/// Applies one `key.path=value` override to a TOML tree. The value is read as a TOML value
/// (`256`, `0.5`, `"passivating"`, `true`, `[1.0, 2.0]`, `nan`); a bare word such as
/// `bromine-rich` that is not valid TOML is taken as a string. Missing tables are created.
pub fn apply_override(root: &mut toml::Value, assignment: &str) -> Result<()> {
    let bad = |message: String| Error::config(format!("--set {assignment}"), message);
    let (key, raw_value) = assignment.split_once('=').ok_or_else(|| {
        bad("has no '=': write --set key.path=value, e.g. --set grid.nx=256".into())
    })?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("has an empty key: write --set key.path=value".into()));
    }
    let segments: Vec<&str> = key.split('.').map(str::trim).collect();
    if let Some(segment) = segments.iter().find(|s| !is_bare_key(s)) {
        return Err(bad(format!(
            "has an invalid key segment \"{segment}\" in `{key}`: segments are non-empty and use \
             only letters, digits, '_' and '-'"
        )));
    }
    let raw_value = raw_value.trim();
    if is_integer_beyond_toml(raw_value) {
        return Err(integer_beyond_toml(key, raw_value));
    }
    let value = parse_override_value(raw_value).map_err(bad)?;

    let (last, parents) = segments
        .split_last()
        .expect("split yields at least one segment");
    let mut table = root
        .as_table_mut()
        .ok_or_else(|| bad("cannot be applied: the config root is not a table".into()))?;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = table
            .entry(segment.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry.as_table_mut().ok_or_else(|| {
            bad(format!(
                "cannot be applied: `{}` is a value, not a table",
                segments[..=depth].join(".")
            ))
        })?;
    }
    table.insert(last.to_string(), value);
    Ok(())
}

fn is_bare_key(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A TOML value, or a bare word taken as a string.
fn parse_override_value(raw: &str) -> std::result::Result<toml::Value, String> {
    if raw.is_empty() {
        return Err("has an empty value: write --set key.path=value".into());
    }
    match format!("value = {raw}").parse::<toml::Table>() {
        Ok(mut table) if table.len() == 1 => Ok(table
            .remove("value")
            .expect("the one key parsed is `value`")),
        _ if is_bare_word(raw) => Ok(toml::Value::String(raw.to_string())),
        Ok(_) => Err(format!(
            "has a value `{raw}` that is not a single TOML value"
        )),
        Err(e) => Err(format!(
            "has a value `{raw}` that is neither a TOML value nor a bare word: {}",
            e.message().trim_end().replace('\n', "; ")
        )),
    }
}

fn is_bare_word(raw: &str) -> bool {
    raw.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-+./:".contains(c))
}

/// An integer literal (sign, digits, '_') that TOML's i64 cannot hold.
fn is_integer_beyond_toml(literal: &str) -> bool {
    let digits = literal.strip_prefix(['+', '-']).unwrap_or(literal);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && digits.bytes().any(|b| b.is_ascii_digit())
        && literal.replace('_', "").parse::<i64>().is_err()
}

/// The error for an integer beyond TOML's range at `key`. Every integer key is unsigned, so
/// [0, 2^63 − 1] is the most any of them allows (`run.seed` allows all of it).
fn integer_beyond_toml(key: &str, literal: &str) -> Error {
    Error::config(
        key,
        format!(
            "= {literal} is outside the allowed range [0, {}]: TOML integers stop at 2^63 − 1",
            super::validate::MAX_SEED
        ),
    )
}

/// Syntax-level parse; toml's own message already carries line, column and a caret. An integer
/// too large for TOML is reported under its key instead (toml names no key for it).
fn parse_tree(text: &str, origin: &str) -> Result<toml::Value> {
    text.parse::<toml::Table>()
        .map(toml::Value::Table)
        .map_err(|e| {
            integer_beyond_toml_in(text, &e).unwrap_or_else(|| Error::Parse {
                path: origin.to_string(),
                message: e.to_string().trim_end().to_string(),
            })
        })
}

/// If `err` is toml's "number too large" at an integer literal, the error naming its key: the
/// literal is replaced by a marker string and the document parsed again to find where it sits.
fn integer_beyond_toml_in(text: &str, err: &toml::de::Error) -> Option<Error> {
    let start = err.span()?.start;
    let rest = text.get(start..)?;
    let len = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-_".contains(c)))
        .unwrap_or(rest.len());
    let literal = &rest[..len];
    if !is_integer_beyond_toml(literal) {
        return None;
    }
    const MARKER: &str = "mgpf: an integer beyond TOML";
    let marked = format!("{}\"{MARKER}\"{}", &text[..start], &rest[len..]);
    let tree = marked.parse::<toml::Table>().ok()?;
    let key = key_of_marker(&toml::Value::Table(tree), "", MARKER)?;
    Some(integer_beyond_toml(&key, literal))
}

/// The dotted key (with `[index]` inside arrays) of the string value `marker`.
fn key_of_marker(value: &toml::Value, path: &str, marker: &str) -> Option<String> {
    match value {
        toml::Value::String(s) if s == marker => Some(path.to_string()),
        toml::Value::Table(table) => table.iter().find_map(|(k, v)| {
            let sub = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            key_of_marker(v, &sub, marker)
        }),
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| key_of_marker(v, &format!("{path}[{i}]"), marker)),
        _ => None,
    }
}

/// Typed deserialization of a parsed tree. On failure the message names the full dotted key; if
/// `source` (the file text) fails the same way, its line and column are added.
fn deserialize_tree(tree: toml::Value, source: Option<&str>, origin: &str) -> Result<Config> {
    use serde::Deserialize;
    let err = match Config::deserialize(tree) {
        Ok(config) => return Ok(config),
        Err(err) => err,
    };
    let serde_message = err.message().trim_end().to_string();
    let key = key_path(&err);
    let mut message = if key.is_empty() {
        serde_message.clone()
    } else {
        format!("`{key}`: {serde_message}")
    };
    // A field missing from the document itself has the whole document as its span: no line helps.
    let document_level = serde_message.starts_with("missing field") && !key.contains('.');
    if let Some(text) = source.filter(|_| !document_level) {
        if let Err(located) = toml::from_str::<Config>(text) {
            if located.message().trim_end() == serde_message {
                if let Some(span) = located.span() {
                    message.push('\n');
                    message.push_str(&describe_location(text, span));
                }
            }
        }
    }
    Err(Error::Parse {
        path: origin.to_string(),
        message,
    })
}

/// The dotted key an error from deserializing a `toml::Value` is about. toml reports the path of
/// the table or value that failed ("in `grid`"); for unknown and missing fields the field itself
/// is in serde's message, and is appended.
fn key_path(err: &toml::de::Error) -> String {
    let shown = err.to_string();
    let mut path = shown
        .strip_prefix(err.message())
        .and_then(|rest| rest.trim().strip_prefix("in `"))
        .and_then(|rest| rest.strip_suffix('`'))
        .unwrap_or("")
        .to_string();
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| err.message().strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    if let Some(field) = field {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
    }
    path
}

/// "at line L, column C:" followed by the source line and a caret under the span.
fn describe_location(text: &str, span: std::ops::Range<usize>) -> String {
    let start = floor_char_boundary(text, span.start);
    let end = floor_char_boundary(text, span.end.max(span.start));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_number = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line = text[line_start..line_end].trim_end_matches('\r');
    let width = text[start..end.min(line_end).max(start)]
        .chars()
        .count()
        .max(1);
    format!(
        "  at line {line_number}, column {column}:\n    {line}\n    {}{}",
        " ".repeat(column - 1),
        "^".repeat(width)
    )
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
