//! Butler–Volmer kinetics with the sub-grid interphase resistance (R1, physics.md §3.2).
//!
//! Pointwise functions in `Real` (f32) so the WGSL twins (`shaders/kinetics.wgsl`) compute the same
//! numbers. Exponents are clamped to ±[`MAX_EXPONENT`]: with an ASR the applied overpotential can be
//! volts while the local one stays small, and exp(α f η) at the applied η overflows f32.

use crate::grid::Real;

/// Largest exponent passed to `exp` (e^60 ≈ 1.1e26, far inside f32).
pub const MAX_EXPONENT: Real = 60.0;
/// Newton steps of the interphase solve after the Tafel-plus-resistor start.
pub const NEWTON_STEPS: u32 = 4;
/// Below this dimensionless resistance ASR·k·f the layer's IR drop is neglected.
const NEGLIGIBLE_RESISTANCE: Real = 1.0e-7;

/// Coefficients of B shared by every cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BvConstants {
    /// f = nF/(RT) (1/V).
    pub f: Real,
    /// α.
    pub alpha: Real,
}

fn clamped_exp(x: Real) -> Real {
    x.clamp(-MAX_EXPONENT, MAX_EXPONENT).exp()
}

/// B(η, c) = exp((1−α) f η) − c exp(−α f η) and ∂B/∂η.
#[inline]
pub fn butler_volmer(k: BvConstants, eta: Real, c: Real) -> (Real, Real) {
    let anodic = clamped_exp((1.0 - k.alpha) * k.f * eta);
    let cathodic = c * clamped_exp(-k.alpha * k.f * eta);
    (
        anodic - cathodic,
        k.f * ((1.0 - k.alpha) * anodic + k.alpha * cathodic),
    )
}

/// Principal Lambert W of z = exp(ln_z), from ln z so that huge z (a large applied η) is fine.
#[inline]
pub fn lambert_w_from_ln(ln_z: Real) -> Real {
    if ln_z > 1.0 {
        // w + ln w = ln z, Newton from the asymptotic start.
        let mut w = ln_z - ln_z.ln();
        for _ in 0..3 {
            w -= (w + w.ln() - ln_z) / (1.0 + 1.0 / w);
        }
        w
    } else {
        // w e^w = z on z ≤ e, Newton from w = z / (1 + z).
        let z = ln_z.exp();
        let mut w = z / (1.0 + z);
        for _ in 0..4 {
            let ew = w.exp();
            w -= (w * ew - z) / (ew * (1.0 + w));
        }
        w
    }
}

/// Effective Butler–Volmer factor through a series resistance (R1):
/// solves `(η_loc − η_a)/ASR + k B(η_loc, c) = 0` for η_loc (k = m_i0 i0 a_k in A/m², ASR in Ω m²)
/// and returns `(B(η_loc), dB(η_loc)/dη_a)`.
///
/// The root lies between η_a and the equilibrium potential ln(c)/f; Newton starts from the
/// Tafel-plus-resistor estimate (Lambert W) and is kept inside that bracket by bisection.
#[inline]
pub fn bv_through_resistance(
    k: BvConstants,
    eta_a: Real,
    c: Real,
    asr: Real,
    i_scale: Real,
) -> (Real, Real) {
    let (b_a, db_a) = butler_volmer(k, eta_a, c);
    if asr * i_scale * k.f <= NEGLIGIBLE_RESISTANCE || b_a == 0.0 {
        return (b_a, db_a);
    }
    let c_safe = c.max(1.0e-12);
    let eta_eq = c_safe.ln() / k.f;
    let (mut lo, mut hi) = if eta_a < eta_eq {
        (eta_a, eta_eq)
    } else {
        (eta_eq, eta_a)
    };
    let mut eta = if b_a < 0.0 {
        // Plating, cathodic Tafel: (η − η_a)/ASR = k c e^{−αfη}.
        let af = k.alpha * k.f;
        let w = lambert_w_from_ln((asr * af * i_scale * c_safe).ln() - af * eta_a);
        eta_a + w / af
    } else {
        // Stripping, anodic Tafel: (η_a − η)/ASR = k e^{(1−α)fη}.
        let bf = (1.0 - k.alpha) * k.f;
        let w = lambert_w_from_ln((asr * bf * i_scale).ln() + bf * eta_a);
        eta_a - w / bf
    };
    eta = eta.clamp(lo, hi);
    let inv_asr = 1.0 / asr;
    for _ in 0..NEWTON_STEPS {
        let (b, db) = butler_volmer(k, eta, c);
        let g = (eta - eta_a) * inv_asr + i_scale * b;
        if g > 0.0 {
            hi = eta;
        } else {
            lo = eta;
        }
        let next = eta - g / (inv_asr + i_scale * db);
        // Inclusive bounds: at an exact root (g = 0) Newton stays put instead of bisecting away.
        eta = if next >= lo && next <= hi {
            next
        } else {
            0.5 * (lo + hi)
        };
    }
    let (b, db) = butler_volmer(k, eta, c);
    (b, db / (1.0 + asr * i_scale * db))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MG: BvConstants = BvConstants {
        f: 77.85,
        alpha: 0.5,
    };

    #[test]
    fn v3_example_current_at_minus_50_mv() {
        // physics.md V3: η = −50 mV, c = c0 → B = −6.86, i = i0·6.86 = 3.43 mA/cm² at i0 = 0.5.
        let (b, _) = butler_volmer(MG, -0.05, 1.0);
        println!("B(-50 mV) expected -6.86, got {b}");
        assert!((b + 6.86).abs() < 0.01);
    }

    #[test]
    fn resistance_solution_satisfies_series_law() {
        for &(eta_a, asr, c) in &[
            (-0.15, 0.5, 1.0),
            (-0.3, 0.5, 0.8),
            (-1.5, 0.5, 1.0),
            (-4.0, 1.0, 0.3),
            (0.2, 0.01, 1.0),
        ] {
            for i_scale in [0.1, 0.14999999, 0.15, 0.2, 0.3, 5.0] {
                let (b, _) = bv_through_resistance(MG, eta_a, c, asr, i_scale);
                // Reconstruct η_loc from the current: i = −k B, η_loc = η_a + i ASR; check B(η_loc) = b.
                let i = -i_scale * b;
                let eta_loc = eta_a + i * asr;
                let (b_check, _) = butler_volmer(MG, eta_loc, c);
                let rel = ((b - b_check) / b_check.abs().max(1e-6)).abs();
                println!("eta_a={eta_a} asr={asr} k={i_scale}: B_eff={b}, B(eta_loc)={b_check}, rel err {rel:e}");
                assert!(rel < 2e-4, "series law violated: {rel}");
            }
        }
    }

    #[test]
    fn derivative_matches_finite_difference() {
        let (asr, c, k) = (0.5, 0.9, 0.15);
        let h = 1e-3;
        let (b0, db) = bv_through_resistance(MG, -0.4, c, asr, k);
        let (bp, _) = bv_through_resistance(MG, -0.4 + h, c, asr, k);
        let (bm, _) = bv_through_resistance(MG, -0.4 - h, c, asr, k);
        let fd = (bp - bm) / (2.0 * h);
        println!("B_eff={b0}, dB/deta analytic {db}, finite difference {fd}");
        assert!(((db - fd) / fd).abs() < 0.02);
    }

    #[test]
    fn lambert_w_values() {
        for &z in &[0.1f32, 1.0, std::f32::consts::E, 10.0, 1e6, 1e20] {
            let w = lambert_w_from_ln(z.ln());
            let back = w * w.exp();
            println!("W({z}) = {w}, w e^w = {back}");
            assert!(((back - z) / z).abs() < 1e-4);
        }
    }
}
