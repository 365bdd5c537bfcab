//! What a solve reports, the same for both backends: the residual statistics one pass gathers
//! and the outcome of a solve built from them.

/// Outcome of a solve.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolveStats {
    /// V-cycles (or preconditioned CG iterations, one V-cycle each) performed.
    pub cycles: u32,
    /// Final ||b − A u||₂ / ||b||₂ (relative to the initial residual when b = 0).
    pub residual_rel: f64,
    /// `residual_rel` ≤ tol. the CPU multigrid's `solve` can stop short of it at the f32 floor of
    /// ||r||/||b|| (~ε·cond(A): about 2e-3 for the potential at 2048²), where `backward_error`
    /// is ~ε; the refined solve has no such floor.
    pub converged: bool,
    /// ||r₁|| / ||r₀|| of the first cycle (the per-cycle reduction factor, smaller is better).
    pub history_first_factor: f64,
    /// |Σ (b − A u)| / Σ |b|: for an implicit conservative step (a > 0) the fraction of the
    /// right-hand side created or destroyed (exact for the f32 u; after
    /// the multigrid's `conserve_mass`'s projection, what the f32 rounding of u leaves). 0 when
    /// a = 0.
    pub mass_defect_rel: f64,
    /// Normwise backward error ||b − A u|| / (||b|| + || |D| |u| ||) of the final u: about ε
    /// at the f32 floor, however ill-conditioned A; far above it only when the solve failed.
    #[serde(default)]
    pub backward_error: f64,
    /// the refined solve's estimate of the error left in u, in u's unit:
    /// ‖δ‖ ρ/(1 − ρ) from the last correction δ and the measured contraction ρ; None where
    /// there is none (the other solves, which do not estimate it, or no contraction measured).
    #[serde(default)]
    pub error_estimate: Option<f64>,
}

/// Everything a solve checks about u, from one pass (f64 accumulation); b = f plus the wall terms.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResidualStatistics {
    /// ||b − A u||₂².
    pub r2: f64,
    /// ||b||₂².
    pub b2: f64,
    /// Σ (b − A u): the net amount a conservative implicit step creates or destroys. Interior
    /// face fluxes cancel pairwise in this sum, so it is summed without them, as Σ (f − a u) plus
    /// the wall fluxes, all in f64: exact for the f32 iterate, where the fluxes' own f32
    /// rounding (k u/dx² terms cancelling to a small balance) would swamp it.
    pub r_sum: f64,
    /// Σ |b|.
    pub b_abs_sum: f64,
    /// Σ ((a + Σ w) |u|)²: the squared scale of A u cell by cell (diagonal times |u|).
    pub scale2: f64,
}

impl std::ops::Add for ResidualStatistics {
    type Output = Self;

    fn add(self, o: Self) -> Self {
        Self {
            r2: self.r2 + o.r2,
            b2: self.b2 + o.b2,
            r_sum: self.r_sum + o.r_sum,
            b_abs_sum: self.b_abs_sum + o.b_abs_sum,
            scale2: self.scale2 + o.scale2,
        }
    }
}

/// ||r|| / (||b|| + || |D| |u| ||), 0 when both vanish: the normwise backward error of u.
pub fn backward_error(rs: &ResidualStatistics) -> f64 {
    relative(rs.r2.sqrt(), rs.b2.sqrt() + rs.scale2.sqrt())
}

/// r / reference, 0 when the reference vanishes.
pub fn relative(r: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        r / reference
    } else {
        0.0
    }
}
