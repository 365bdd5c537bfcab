//! Morphology metrics of a deposit: front height per column from the xi = ½ contour.

use crate::grid::{Field, Grid};
use crate::model::morphology::Morphology;
use crate::model::params::LENGTH_UNIT_M;

/// Heights and roughness of the xi = ½ front, in µm.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrontMetrics {
    pub mean_height: f64,
    pub max_height: f64,
    /// RMS of the column heights about their mean.
    pub roughness: f64,
}

/// Height (µm from the collector) of the outermost xi = ½ crossing in each lateral column
/// (j, k), j-major, linearly interpolated between cell centres.
pub fn front_heights(xi: &Field, grid: Grid) -> Vec<f64> {
    let column = |j: usize, k: usize| {
        for i in (0..grid.nx).rev() {
            let v = xi[[i, j, k]] as f64;
            if v >= 0.5 {
                let above = if i + 1 < grid.nx {
                    xi[[i + 1, j, k]] as f64
                } else {
                    0.0
                };
                let frac = if v > above {
                    (v - 0.5) / (v - above)
                } else {
                    0.0
                };
                return (i as f64 + 0.5 + frac.clamp(0.0, 1.0)) * grid.dx;
            }
        }
        0.0
    };
    (0..grid.ny)
        .flat_map(|j| (0..grid.nz).map(move |k| (j, k)))
        .map(|(j, k)| column(j, k))
        .collect()
}

pub fn front_metrics(xi: &Field, grid: Grid) -> FrontMetrics {
    let h = front_heights(xi, grid);
    let n = h.len() as f64;
    let mean = h.iter().sum::<f64>() / n;
    let max = h.iter().copied().fold(f64::MIN, f64::max);
    let var = h.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    FrontMetrics {
        mean_height: mean,
        max_height: max,
        roughness: var.sqrt(),
    }
}

/// ∫ xi dV over the collector's area (µm): the deposit's equivalent planar thickness (in 2D
/// ∫ xi dA / L_y).
pub fn equivalent_thickness(xi: &Field, grid: Grid) -> f64 {
    xi.iter().map(|&v| v as f64).sum::<f64>() * grid.cell_measure() / grid.collector_measure()
}

/// Σ c dV and Σ xi dV in internal units, f64 accumulation: per unit depth in 2D (c/c0 µm², µm²),
/// absolute in 3D (c/c0 µm³, µm³).
pub fn integrals(c: &Field, xi: &Field, grid: Grid) -> (f64, f64) {
    let area = grid.cell_measure();
    let sc = c.iter().map(|&v| v as f64).sum::<f64>() * area;
    let sx = xi.iter().map(|&v| v as f64).sum::<f64>() * area;
    (sc, sx)
}

/// One metrics row.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricsRow {
    pub step: u64,
    pub time_s: f64,
    pub charge_c_m2: f64,
    pub current_density_a_m2: f64,
    pub overpotential_v: f64,
    pub front: FrontMetrics,
    /// Mg in ions and metal per metre of depth (2D runs only; None in 3D).
    pub mg_total_mol_m: Option<f64>,
    /// Mg in ions and metal per m² of collector, every run (a checkpoint written before this
    /// column holds NaN here until [`MetricsRow::restore_areal`] fills it in).
    #[serde(default = "f64_nan")]
    pub mg_areal_mol_m2: f64,
    /// Surface area ratio, box-counting dimension, porosity and tip-to-mean of the same state
    /// ([`super::morphology`]); all NaN in a row of a checkpoint written before them.
    #[serde(default = "Morphology::unknown")]
    pub morphology: Morphology,
    /// The half-cycle of the step that led here (cycle c plates in 2c − 1, strips in 2c; a
    /// rest counts with the half before it); 0 in a run without `[cycling]`.
    #[serde(default)]
    pub half_cycle: u32,
    /// The sign of that step's current: +1 plating, −1 stripping, 0 at rest or before a step.
    #[serde(default)]
    pub current_sign: i32,
}

fn f64_nan() -> f64 {
    f64::NAN
}

impl MetricsRow {
    /// The areal Mg of a row restored from a checkpoint that predates it (2D only): the total
    /// per metre of depth over the collector's width `ly_m`.
    pub fn restore_areal(&mut self, ly_m: f64) {
        if self.mg_areal_mol_m2.is_nan() {
            if let Some(total) = self.mg_total_mol_m {
                self.mg_areal_mol_m2 = total / ly_m;
            }
        }
    }
}

/// Mg (mol) in ions and metal from the integrals Σ c dV, Σ ξ dV ([`integrals`], internal units):
/// (per metre of depth in 2D, None in 3D; per m² of collector).
pub fn mg_content(
    sc: f64,
    sx: f64,
    c0_mol_m3: f64,
    cs_mol_m3: f64,
    grid: Grid,
) -> (Option<f64>, f64) {
    let um = LENGTH_UNIT_M;
    let amount = sc * c0_mol_m3 + sx * cs_mol_m3;
    let per_depth = (grid.dimension() == 2).then_some(amount * um * um);
    (per_depth, amount / grid.collector_measure() * um)
}
