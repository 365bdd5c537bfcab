//! What `mgpf bench` reports of a case: its row (bench.csv, bench.json) and its table line.

use super::cases::BenchCase;
use crate::output::csv_field;
use serde::Serialize;

/// The bench's CSV columns, in order (names are a contract: columns may be added, never renamed).
pub const CSV_COLUMNS: [&str; 21] = [
    "backend",
    "adapter",
    "preset",
    "variant",
    "representation",
    "nx",
    "ny",
    "nz",
    "cells",
    "steps",
    "wall_s",
    "mcell_steps_per_s",
    "update_s",
    "control_s",
    "potential_solve_s",
    "concentration_solve_s",
    "other_s",
    "copy_gb_s",
    "warm_up_steps",
    "ms_per_step",
    "copy_elements",
];

/// One case's measurement: a row of bench.csv and bench.json.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// "cpu" or "gpu": the backend that ran the case.
    pub backend: String,
    /// "cpu: rayon, N threads" or "gpu: name (backend, device type)".
    pub adapter: String,
    pub preset: String,
    pub variant: String,
    /// "R1" (subgrid) or "R2" (resolved band).
    pub representation: String,
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
    pub cells: usize,
    /// Timed steps.
    pub steps: u64,
    /// Wall time of the timed steps (s).
    pub wall_s: f64,
    /// cells × steps / wall_s / 1e6.
    pub mcell_steps_per_s: f64,
    /// The backend's phase times over the timed steps (s); `other_s` is the rest of wall_s.
    pub update_s: f64,
    pub control_s: f64,
    pub potential_solve_s: f64,
    pub concentration_solve_s: f64,
    pub other_s: f64,
    /// GB/s of a copy of `copy_elements` f32 on the same backend (8 B per element).
    pub copy_gb_s: f64,
    pub warm_up_steps: u64,
    pub ms_per_step: f64,
    pub copy_elements: usize,
}

impl BenchRow {
    /// The five parts of the wall time (s): update, control, potential, concentration, other.
    pub fn split(&self) -> [f64; 5] {
        [
            self.update_s,
            self.control_s,
            self.potential_solve_s,
            self.concentration_solve_s,
            self.other_s,
        ]
    }

    fn csv_line(&self) -> String {
        [
            csv_field(&self.backend),
            csv_field(&self.adapter),
            csv_field(&self.preset),
            csv_field(&self.variant),
            csv_field(&self.representation),
            self.nx.to_string(),
            self.ny.to_string(),
            self.nz.to_string(),
            self.cells.to_string(),
            self.steps.to_string(),
            format!("{:.9}", self.wall_s),
            format!("{:.6}", self.mcell_steps_per_s),
            format!("{:.9}", self.update_s),
            format!("{:.9}", self.control_s),
            format!("{:.9}", self.potential_solve_s),
            format!("{:.9}", self.concentration_solve_s),
            format!("{:.9}", self.other_s),
            format!("{:.6}", self.copy_gb_s),
            self.warm_up_steps.to_string(),
            format!("{:.6}", self.ms_per_step),
            self.copy_elements.to_string(),
        ]
        .join(",")
    }
}

/// bench.csv: the header ([`CSV_COLUMNS`]) and one line per row.
pub fn csv(rows: &[BenchRow]) -> String {
    let mut text = CSV_COLUMNS.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.csv_line());
        text.push('\n');
    }
    text
}

/// One table line of a row.
pub fn table_line(case: &BenchCase, row: &BenchRow) -> String {
    let pct = |s: f64| 100.0 * s / row.wall_s;
    format!(
        "{:<24} {:<3} {:<4} {:>11} {:>9} {:>15} {:>9} | {:>8.1} {:>9.1} {:>11.1} {:>9.1} {:>9.1} | {:>9}",
        case.label(),
        row.backend,
        row.representation,
        case.size.label(),
        row.cells,
        significant(row.mcell_steps_per_s),
        significant(row.ms_per_step),
        pct(row.update_s),
        pct(row.control_s),
        pct(row.potential_solve_s),
        pct(row.concentration_solve_s),
        pct(row.other_s),
        significant(row.copy_gb_s),
    )
}

/// `x` with three significant digits (all of its integer digits from 1000 on): 0.0128, 4.38,
/// 84.6, 1234.
fn significant(x: f64) -> String {
    let decimals = if x.is_finite() && x > 0.0 {
        (2 - x.log10().floor() as i32).clamp(0, 9) as usize
    } else {
        1
    };
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_numbers_keep_three_significant_digits() {
        let f: Vec<String> = [0.012819, 4.3812, 84.59, 1234.4, 0.0]
            .map(significant)
            .to_vec();
        assert_eq!(f, ["0.0128", "4.38", "84.6", "1234", "0.0"]);
    }

    #[test]
    fn csv_quotes_fields_with_commas() {
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
