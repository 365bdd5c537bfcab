//! Galvanostatic control (physics.md §1.7, decision 5): each step the applied potential is
//! shifted by the Δ that makes the reaction current ∫ nF C_s ∂xi/∂t dA / A equal the target.
//!
//! Near the interface the potential follows the collector potential one-to-one (the metal is a
//! near-perfect conductor), so the reaction current is a monotone function of Δ and a safeguarded
//! Newton iteration on that scalar finds it; the next potential solve then uses φ_app + Δ.

/// Largest Newton step in volts (keeps the exponentials of the first iterations tame).
/// Relative tolerance of the galvanostatic root find, on both backends.
pub const RELATIVE_TOLERANCE: f64 = 1.0e-5;

const MAX_STEP_V: f64 = 0.25;
/// A bracket narrower than this (V) ends the search: f32 sums cannot resolve it further.
const BRACKET_FLOOR_V: f64 = 1.0e-9;
/// Iteration cap of the root find.
pub const MAX_ITERATIONS: u32 = 60;

/// Result of one control solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlSolution {
    pub shift_v: f64,
    pub iterations: u32,
    /// Final |F|/|target| (or |F| if the target is 0).
    pub relative_error: f64,
}

/// Finds Δ with F(Δ) = 0 where `eval(Δ)` returns (F, dF/dΔ) and F is decreasing in Δ
/// (a more negative potential plates faster). `scale` is the size of the target, for the
/// relative tolerance `tol`.
pub fn solve_shift(
    mut eval: impl FnMut(f64) -> (f64, f64),
    scale: f64,
    tol: f64,
) -> ControlSolution {
    let scale = scale.abs().max(1e-30);
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut x = 0.0;
    let mut iterations = 0;
    let (mut f, mut df) = eval(x);
    while iterations < MAX_ITERATIONS {
        if (f / scale).abs() <= tol || hi - lo <= BRACKET_FLOOR_V {
            break;
        }
        // F decreasing: F > 0 means too much plating → the root lies at larger Δ.
        if f > 0.0 {
            lo = lo.max(x);
        } else {
            hi = hi.min(x);
        }
        let newton = if df < 0.0 && df.is_finite() {
            x - f / df
        } else {
            f64::NAN
        };
        let mut next = if newton.is_finite() {
            x + (newton - x).clamp(-MAX_STEP_V, MAX_STEP_V)
        } else if f > 0.0 {
            x + MAX_STEP_V
        } else {
            x - MAX_STEP_V
        };
        if lo.is_finite() && hi.is_finite() && !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        x = next;
        (f, df) = eval(x);
        iterations += 1;
    }
    ControlSolution {
        shift_v: x,
        iterations,
        relative_error: (f / scale).abs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_root_of_exponential_current() {
        // F(Δ) = target − i0 (e^{−39 (Δ + φ)} − e^{39(Δ + φ)}) (plating current rising as Δ falls).
        let target = 40.0;
        let phi = -0.02;
        let i = |d: f64| 5.0 * ((-38.9 * (d + phi)).exp() - (38.9 * (d + phi)).exp());
        let di =
            |d: f64| 5.0 * (-38.9 * (-38.9 * (d + phi)).exp() - 38.9 * (38.9 * (d + phi)).exp());
        let sol = solve_shift(|d| (i(d) - target, di(d)), target, 1e-10);
        println!(
            "shift {} after {} iterations, rel err {:e}; current {}",
            sol.shift_v,
            sol.iterations,
            sol.relative_error,
            i(sol.shift_v)
        );
        assert!((i(sol.shift_v) - target).abs() < 1e-8 * target);
        assert!(sol.iterations < 15);
    }
}
