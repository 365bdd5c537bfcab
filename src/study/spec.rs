//! The `--vary KEY=SPEC` grammar of `mgpf sweep`: a list (`0.1,0.5,2`; one value is a list of
//! one), a linear range (`lin:0.1..2:5`) or a log range (`log:1e-3..1:7`).
//!
//! A value is kept as the literal a `--set KEY=VALUE` would take, so a list may hold any value a
//! key accepts (`interphase.preset=none,passivating`); whether the key exists and the value is
//! in its range is the config's business, checked per point before anything runs.

use crate::error::{Error, Result};

/// How a varied key's values are spaced (the map's axes follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Values as listed.
    List,
    /// `lin:START..END:COUNT`.
    Linear,
    /// `log:START..END:COUNT`: a log axis.
    Log,
}

/// One `--vary KEY=SPEC`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Vary {
    /// The dotted config key, as `--set` takes it.
    pub key: String,
    /// The SPEC as written.
    pub spec: String,
    pub spacing: Spacing,
    /// The values as `--set` literals, in order.
    pub values: Vec<String>,
}

impl Vary {
    /// The values as numbers, where every one is a number (None for words such as preset names).
    pub fn numbers(&self) -> Option<Vec<f64>> {
        self.values.iter().map(|v| v.parse::<f64>().ok()).collect()
    }
}

/// Parses `KEY=SPEC`. Errors name the argument and say what the form is.
pub fn parse_vary(argument: &str) -> Result<Vary> {
    let bad = |message: String| Error::config(format!("--vary {argument}"), message);
    let (key, spec) = argument.split_once('=').ok_or_else(|| {
        bad("has no '=': write --vary key.path=SPEC, e.g. --vary interphase.asr_ohm_cm2=log:1..1000:4".into())
    })?;
    let (key, spec) = (key.trim(), spec.trim());
    if key.is_empty() {
        return Err(bad("has an empty key: write --vary key.path=SPEC".into()));
    }
    if spec.is_empty() {
        return Err(bad(
            "has an empty SPEC: give a list (0.1,0.5,2), lin:START..END:COUNT or log:START..END:COUNT".into(),
        ));
    }
    let (spacing, values) = if let Some(range) = spec.strip_prefix("lin:") {
        (
            Spacing::Linear,
            parse_range(range, Spacing::Linear).map_err(bad)?,
        )
    } else if let Some(range) = spec.strip_prefix("log:") {
        (Spacing::Log, parse_range(range, Spacing::Log).map_err(bad)?)
    } else {
        let values: Vec<String> = spec.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(String::is_empty) {
            return Err(bad(
                "has an empty value in its list: write values separated by single commas, e.g. 0.1,0.5,2".into(),
            ));
        }
        (Spacing::List, values)
    };
    Ok(Vary {
        key: key.to_string(),
        spec: spec.to_string(),
        spacing,
        values,
    })
}

/// `START..END:COUNT` of a lin: or log: range, as `--set` literals.
fn parse_range(range: &str, spacing: Spacing) -> std::result::Result<Vec<String>, String> {
    let prefix = if spacing == Spacing::Log {
        "log"
    } else {
        "lin"
    };
    let form =
        || format!("has a range that is not {prefix}:START..END:COUNT (e.g. {prefix}:0.1..2:5)");
    let (bounds, count) = range.rsplit_once(':').ok_or_else(form)?;
    let (start, end) = bounds.split_once("..").ok_or_else(form)?;
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "has a range bound `{}` that is not a finite number",
                    s.trim()
                )
            })
    };
    let (a, b) = (number(start)?, number(end)?);
    let n: usize = count
        .trim()
        .parse()
        .ok()
        .filter(|&n| n >= 2)
        .ok_or_else(|| {
            format!(
                "has a range count `{}` that is not a whole number ≥ 2 (for one value write the value itself)",
                count.trim()
            )
        })?;
    if spacing == Spacing::Log && !(a > 0.0 && b > 0.0) {
        return Err(format!(
            "has a log range from {a} to {b}: both bounds must be > 0"
        ));
    }
    if a == b {
        return Err(format!(
            "has a range from {a} to {a}: its bounds must differ"
        ));
    }
    let values = (0..n).map(|k| {
        let t = k as f64 / (n - 1) as f64;
        match (k, spacing) {
            (0, _) => a,
            (k, _) if k == n - 1 => b,
            (_, Spacing::Log) => (a.ln() + t * (b.ln() - a.ln())).exp(),
            _ => a + t * (b - a),
        }
    });
    // Whole-number bounds written as integers (lin:32..256:8) give integer literals where every
    // value is whole, so that integer keys (grid.ny) take them.
    let integer_bounds = [start, end].iter().all(|s| {
        s.trim()
            .trim_start_matches(['+', '-'])
            .bytes()
            .all(|b| b.is_ascii_digit())
    });
    // Rounded to 12 significant digits: log:1e-3..1:4 gives 0.01, not 0.009999999999999995.
    let values: Vec<f64> = values
        .map(|v| {
            format!("{v:.11e}")
                .parse()
                .expect("a formatted float parses")
        })
        .collect();
    let integers = integer_bounds && values.iter().all(|v| v.fract() == 0.0);
    Ok(values
        .into_iter()
        .map(|v| {
            if integers {
                format!("{v:.0}")
            } else {
                float_literal(v)
            }
        })
        .collect())
}

/// The shortest literal that reads back as `v`, always a TOML float (`2` → `2.0`).
fn float_literal(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) || !v.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(argument: &str) -> Vec<String> {
        parse_vary(argument).unwrap().values
    }

    fn message(argument: &str) -> String {
        parse_vary(argument).unwrap_err().to_string()
    }

    #[test]
    fn each_spec_form_gives_its_values() {
        assert_eq!(values("a.b=0.1,0.5,2"), ["0.1", "0.5", "2"]);
        assert_eq!(values("a.b=7"), ["7"]);
        assert_eq!(
            values("interphase.preset=none, passivating"),
            ["none", "passivating"]
        );
        assert_eq!(
            values("a.b=lin:0..2:5"),
            ["0.0", "0.5", "1.0", "1.5", "2.0"]
        );
        assert_eq!(values("a.b=lin:0.1..2:2"), ["0.1", "2.0"]);
        assert_eq!(
            values("grid.ny=lin:32..256:8"),
            ["32", "64", "96", "128", "160", "192", "224", "256"]
        );
        assert_eq!(values("a.b=log:1e-3..1:4"), ["0.001", "0.01", "0.1", "1.0"]);
        // Integer bounds whose steps are not whole stay floats.
        assert_eq!(values("a.b=lin:1..2:3"), ["1.0", "1.5", "2.0"]);
        let v = parse_vary("x.y=log:1..1000:4").unwrap();
        assert_eq!(v.spacing, Spacing::Log);
        assert_eq!(v.key, "x.y");
        assert_eq!(v.spec, "log:1..1000:4");
        let n = v.numbers().unwrap();
        for (got, want) in n.iter().zip([1.0, 10.0, 100.0, 1000.0]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(parse_vary("p=none,zeolite").unwrap().numbers(), None);
    }

    #[test]
    fn bad_specs_get_their_messages() {
        assert_eq!(
            message("grid.nx"),
            "config error: `--vary grid.nx` has no '=': write --vary key.path=SPEC, e.g. --vary interphase.asr_ohm_cm2=log:1..1000:4"
        );
        assert_eq!(
            message("=1,2"),
            "config error: `--vary =1,2` has an empty key: write --vary key.path=SPEC"
        );
        assert_eq!(
            message("a.b="),
            "config error: `--vary a.b=` has an empty SPEC: give a list (0.1,0.5,2), lin:START..END:COUNT or log:START..END:COUNT"
        );
        assert_eq!(
            message("a.b=1,,2"),
            "config error: `--vary a.b=1,,2` has an empty value in its list: write values separated by single commas, e.g. 0.1,0.5,2"
        );
        assert_eq!(
            message("a.b=lin:0.1-2:5"),
            "config error: `--vary a.b=lin:0.1-2:5` has a range that is not lin:START..END:COUNT (e.g. lin:0.1..2:5)"
        );
        assert_eq!(
            message("a.b=log:1..10"),
            "config error: `--vary a.b=log:1..10` has a range that is not log:START..END:COUNT (e.g. log:0.1..2:5)"
        );
        assert_eq!(
            message("a.b=lin:x..2:5"),
            "config error: `--vary a.b=lin:x..2:5` has a range bound `x` that is not a finite number"
        );
        assert_eq!(
            message("a.b=lin:0..2:1"),
            "config error: `--vary a.b=lin:0..2:1` has a range count `1` that is not a whole number ≥ 2 (for one value write the value itself)"
        );
        assert_eq!(
            message("a.b=lin:0..2:2.5"),
            "config error: `--vary a.b=lin:0..2:2.5` has a range count `2.5` that is not a whole number ≥ 2 (for one value write the value itself)"
        );
        assert_eq!(
            message("a.b=log:0..1:3"),
            "config error: `--vary a.b=log:0..1:3` has a log range from 0 to 1: both bounds must be > 0"
        );
        assert_eq!(
            message("a.b=lin:2..2:3"),
            "config error: `--vary a.b=lin:2..2:3` has a range from 2 to 2: its bounds must differ"
        );
    }
}
