//! Six-fold surface-energy anisotropy (Kobayashi form) and the kinetic anisotropy a_k(θ).
//!
//! θ = atan2(∂_y xi, ∂_x xi) is never formed: cos mθ and sin mθ come from the normalised gradient
//! (n_x + i n_y)^m, a polynomial (gpu-notes.md: ~3x cheaper than atan2/cos on the CPU).

use crate::grid::Real;

/// Per-run anisotropy coefficients (internal units), shared by all cells.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AnisotropyConstants {
    /// ε0 = √κ0.
    pub eps0: Real,
    /// δ6.
    pub strength: Real,
    /// cos 6θ0, sin 6θ0.
    pub cos6_t0: Real,
    pub sin6_t0: Real,
    /// ε_k2, ε_k6 and the c-axis angle as cos/sin of 2θ_c and 6θ_c.
    pub kinetic_2fold: Real,
    pub kinetic_6fold: Real,
    pub cos2_tc: Real,
    pub sin2_tc: Real,
    pub cos6_tc: Real,
    pub sin6_tc: Real,
    /// |∇xi|² below which the orientation is undefined (isotropic there).
    pub grad_sq_min: Real,
}

/// Lowest allowed kinetic anisotropy factor a_min (physics.md §1.5).
pub const KINETIC_FACTOR_MIN: Real = 0.05;

/// (cos 2θ, sin 2θ, cos 6θ, sin 6θ) of the direction (gx, gy), |g| > 0.
#[inline(always)]
pub fn harmonics(gx: Real, gy: Real) -> (Real, Real, Real, Real) {
    let inv = 1.0 / (gx * gx + gy * gy).sqrt();
    harmonics_of_unit(gx * inv, gy * inv)
}

/// (cos 2θ, sin 2θ, cos 6θ, sin 6θ) of the unit vector (n_x, n_y).
#[inline(always)]
fn harmonics_of_unit(nx: Real, ny: Real) -> (Real, Real, Real, Real) {
    let (x2, y2) = (nx * nx, ny * ny);
    let cos2 = x2 - y2;
    let sin2 = 2.0 * nx * ny;
    // (n_x + i n_y)^6 = (cos2 + i sin2)^3.
    let cos6 = cos2 * (cos2 * cos2 - 3.0 * sin2 * sin2);
    let sin6 = sin2 * (3.0 * cos2 * cos2 - sin2 * sin2);
    (cos2, sin2, cos6, sin6)
}

/// ε² and ε ε'(θ) of ε(θ) = ε0 [1 + δ6 cos 6(θ − θ0)], the kinetic factor
/// a_k(θ) = max(a_min, 1 − ε_k2 cos 2(θ − θ_c) + ε_k6 cos 6(θ − θ_c)), and |∇xi|.
///
/// Branch-free (both outcomes computed, one selected) so that loops over cells vectorise; one
/// square root and one division per cell.
#[inline(always)]
pub fn interface_orientation(
    k: &AnisotropyConstants,
    gx: Real,
    gy: Real,
) -> (Real, Real, Real, Real) {
    let g2 = gx * gx + gy * gy;
    let norm = g2.sqrt();
    let isotropic = g2 <= k.grad_sq_min;
    // Where the orientation is undefined the direction is arbitrary; (1, 0) keeps it finite.
    let inv = 1.0 / if isotropic { 1.0 } else { norm };
    let (nx, ny) = if isotropic {
        (1.0, 0.0)
    } else {
        (gx * inv, gy * inv)
    };
    let (cos2, sin2, cos6, sin6) = harmonics_of_unit(nx, ny);
    let c6 = cos6 * k.cos6_t0 + sin6 * k.sin6_t0;
    let s6 = sin6 * k.cos6_t0 - cos6 * k.sin6_t0;
    let eps = k.eps0 * (1.0 + k.strength * c6);
    let eps_prime = -6.0 * k.eps0 * k.strength * s6;
    let ck2 = cos2 * k.cos2_tc + sin2 * k.sin2_tc;
    let ck6 = cos6 * k.cos6_tc + sin6 * k.sin6_tc;
    let a_k = (1.0 - k.kinetic_2fold * ck2 + k.kinetic_6fold * ck6).max(KINETIC_FACTOR_MIN);
    if isotropic {
        (k.eps0 * k.eps0, 0.0, 1.0, norm)
    } else {
        (eps * eps, eps * eps_prime, a_k, norm)
    }
}

/// What the Allen–Cahn and reaction kernels read of the interface's orientation at one cell,
/// from the central gradient g = ∇ξ there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    /// ε(n̂)².
    pub eps_sq: Real,
    /// The anisotropic part of ∂f/∂p (f = ½ ε(n̂)² |p|², p = ∇ξ), ε |g| (I − n̂n̂ᵀ) ∇_n ε, along
    /// x, y and z; the isotropic part ε² p is taken on the faces.
    pub flux: [Real; 3],
    /// a_k(n̂).
    pub kinetic_factor: Real,
    /// |g|.
    pub grad_norm: Real,
}

/// The surface energy ε(n̂) and kinetic factor a_k(n̂) a kernel evaluates per cell: the 2D
/// in-plane forms ([`AnisotropyConstants`]) or the hcp form about a c-axis in 3D
/// ([`crate::model::hcp::HcpConstants`]). Both keep the anisotropic part zero where
/// |g|² ≤ `grad_sq_min` (the orientation is undefined there).
pub trait SurfaceEnergy: Sync {
    fn orientation(&self, g: [Real; 3]) -> Orientation;

    /// The orientation in lateral column `column` (j·nz + k, the cell's index in its x layer):
    /// the same everywhere but where grains differ ([`crate::model::grains::Grains`]).
    #[inline(always)]
    fn orientation_in_column(&self, column: usize, g: [Real; 3]) -> Orientation {
        let _ = column;
        self.orientation(g)
    }
}

impl SurfaceEnergy for AnisotropyConstants {
    /// The in-plane form of a 2D section ([`interface_orientation`] of (g_x, g_y)): in 2D
    /// ε |g| (I − n̂n̂ᵀ)∇_n ε = ε ε'(θ) (−g_y, g_x), the Kobayashi cross terms.
    #[inline(always)]
    fn orientation(&self, g: [Real; 3]) -> Orientation {
        let (eps_sq, d, kinetic_factor, grad_norm) = interface_orientation(self, g[0], g[1]);
        Orientation {
            eps_sq,
            flux: [-(d * g[1]), d * g[0], 0.0],
            kinetic_factor,
            grad_norm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmonics_match_trigonometry() {
        for &t in &[0.0f32, 0.3, 1.1, 2.5, -2.0, 3.0] {
            let (c2, s2, c6, s6) = harmonics(t.cos() * 0.7, t.sin() * 0.7);
            let want = (
                (2.0 * t).cos(),
                (2.0 * t).sin(),
                (6.0 * t).cos(),
                (6.0 * t).sin(),
            );
            println!("θ={t}: got ({c2},{s2},{c6},{s6}) want {want:?}");
            assert!((c2 - want.0).abs() < 1e-5 && (s2 - want.1).abs() < 1e-5);
            assert!((c6 - want.2).abs() < 1e-5 && (s6 - want.3).abs() < 1e-5);
        }
    }

    #[test]
    fn kinetic_factor_basal_slow_prism_fast() {
        let k = AnisotropyConstants {
            eps0: 1.0,
            kinetic_2fold: 0.6,
            cos2_tc: 1.0,
            cos6_tc: 1.0,
            ..Default::default()
        };
        let (_, _, along_c, _) = interface_orientation(&k, 1.0, 0.0);
        let (_, _, lateral, _) = interface_orientation(&k, 0.0, 1.0);
        println!("a_k along c-axis {along_c} (expect 0.4), lateral {lateral} (expect 1.6)");
        assert!((along_c - 0.4).abs() < 1e-6 && (lateral - 1.6).abs() < 1e-6);
    }
}
