//! The constants every kernel of the order-parameter and transport equations reads, derived once
//! from [`Params`] in internal units and shared by both backends (the GPU backend writes them
//! into its uniforms and generated WGSL).

use crate::grid::{Grid, Real};
use crate::model::anisotropy::AnisotropyConstants;
use crate::model::hcp::HcpConstants;
use crate::model::kinetics::BvConstants;
use crate::model::Params;

/// |xi| below this is stored as 0 (far above f32's subnormal range, far below any physics).
pub const FLUSH_TO_ZERO: Real = 1.0e-30;

/// Cells with h'(xi) below this carry no reaction (bulk metal or electrolyte).
pub const INTERFACE_THRESHOLD: Real = 1.0e-6;

/// |∇ξ|² (1/µm²) below which the interface orientation is undefined and a cell is isotropic:
/// (10⁻³/δ)².
pub fn orientation_threshold_sq(p: &Params) -> f64 {
    (1.0e-3 / p.delta).powi(2)
}

/// Constants of the order-parameter kernels (internal units).
#[derive(Debug, Clone, Copy)]
pub struct OrderParameterConstants {
    pub grid: Grid,
    /// 1/Δx (1/µm).
    pub inv_dx: Real,
    pub l_sigma: Real,
    pub w: Real,
    pub l_eta: Real,
    pub i0: Real,
    pub exchange_multiplier: Real,
    /// The in-plane forms of 2D runs.
    pub aniso: AnisotropyConstants,
    /// The hcp form about the c-axis of 3D runs.
    pub hcp: HcpConstants,
    pub bv: BvConstants,
}

impl OrderParameterConstants {
    pub fn from_params(p: &Params) -> Self {
        OrderParameterConstants {
            grid: p.grid,
            inv_dx: (1.0 / p.grid.dx) as Real,
            l_sigma: p.l_sigma as Real,
            w: p.w as Real,
            l_eta: p.l_eta as Real,
            i0: p.i0_a_m2 as Real,
            exchange_multiplier: p.interphase.exchange_current_multiplier as Real,
            aniso: AnisotropyConstants {
                eps0: p.kappa.sqrt() as Real,
                strength: p.aniso_strength as Real,
                cos6_t0: (6.0 * p.aniso_angle).cos() as Real,
                sin6_t0: (6.0 * p.aniso_angle).sin() as Real,
                kinetic_2fold: p.kinetic_2fold as Real,
                kinetic_6fold: p.kinetic_6fold as Real,
                cos2_tc: (2.0 * p.c_axis_angle).cos() as Real,
                sin2_tc: (2.0 * p.c_axis_angle).sin() as Real,
                cos6_tc: (6.0 * p.c_axis_angle).cos() as Real,
                sin6_tc: (6.0 * p.c_axis_angle).sin() as Real,
                grad_sq_min: orientation_threshold_sq(p) as Real,
            },
            hcp: HcpConstants::new(&p.hcp, &p.crystal, orientation_threshold_sq(p)),
            bv: BvConstants {
                f: p.f as Real,
                alpha: p.alpha as Real,
            },
        }
    }
}

/// Constants of the transport kernels (internal units).
#[derive(Debug, Clone, Copy)]
pub struct TransportConstants {
    pub grid: Grid,
    /// 1/Δx (1/µm).
    pub inv_dx: Real,
    pub d_liquid: Real,
    pub d_solid: Real,
    /// f = nF/RT.
    pub f: Real,
    pub cs_over_c0: Real,
}

impl TransportConstants {
    pub fn from_params(p: &Params) -> Self {
        TransportConstants {
            grid: p.grid,
            inv_dx: (1.0 / p.grid.dx) as Real,
            d_liquid: p.d_liquid as Real,
            d_solid: p.d_solid as Real,
            f: p.f as Real,
            cs_over_c0: p.cs_over_c0 as Real,
        }
    }
}
