//! Galvanostatic control (physics.md §1.7, decision 5): each step the electrode potential E is
//! shifted by the Δ that makes the reaction current ∫ nF C_s ∂xi/∂t dA / A equal the target.
//!
//! The reaction current is a monotone function of Δ (a more negative E plates faster), so a
//! safeguarded Newton iteration on that scalar finds it: F(Δ) = Σ ∂xi/∂t(E + Δ) − target,
//! decreasing in Δ. [`ShiftSearch`] is that iteration as a state machine advanced by one
//! evaluation of F at a time, so that the CPU backend's loop ([`solve_shift`]) and the device's
//! `solve_shift_iteration` kernel (shaders/control.wgsl, one call per evaluation) take the same
//! steps with the same constants (generated into the WGSL from these).
//!
//! Until F changes sign (bracket expansion) a move is the Newton step limited to a reach of
//! [`FIRST_REACH_V`] that doubles with every move; a move that did not halve |F| is followed by
//! one at least twice as long (Newton crawls 1/(αf) ≈ 26 mV a step down the steep side of an
//! exponential, and not at all where the exponentials are clamped; the step is taken on
//! asinh(F/|target|), see [`newton_step`]). So any potential within
//! `control.max_overpotential_v` is reached in a few evaluations (10 V in 6), and the first step
//! of a run through a resistive layer (−3.9 V for the passivating preset at 0.5 mA/cm²) or a
//! current step needs no fixed reach. Once bracketed, the Newton step is taken while it stays
//! inside the bracket and is at most half the step before the last one, else the bracket is
//! bisected (the rule of Numerical Recipes' `rtsafe`): never slower than bisection, quadratic
//! near the root.

/// Relative tolerance of the galvanostatic root find, |F| ≤ tol · |target|, on both backends.
pub const RELATIVE_TOLERANCE: f64 = 1.0e-5;
/// Largest Newton step (V) of a step's first evaluation; doubles every evaluation until the root
/// is bracketed.
pub const FIRST_REACH_V: f64 = 0.25;
/// A bracket narrower than this (V), or than the f32 resolution of E, ends the search as
/// converged: the kernels evaluate the rate at E rounded to f32, so a narrower bracket cannot
/// be resolved.
pub const BRACKET_FLOOR_V: f64 = 1.0e-9;
/// Evaluations of F per step at most: the device records this many (those after convergence
/// are empty dispatches), the CPU stops there too; a search still open then is an error.
pub const MAX_EVALUATIONS: u32 = 32;

/// Where a [`ShiftSearch`] stands (the device stores it as a u32 in its step scalars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SearchStatus {
    /// Evaluate F at [`ShiftSearch::shift`] next.
    Searching = 0,
    Converged = 1,
    /// [`MAX_EVALUATIONS`] spent without meeting the tolerance.
    NotConverged = 2,
    /// F has the sign of "too little current" at E = −max_overpotential_v (or "too much" at
    /// +max): the target needs a potential beyond the bound.
    BeyondLimit = 3,
    /// F or dF/dE is NaN or infinite: the fields have blown up. The step goes on at the last
    /// step's E so that the field guards can name the cell; the search's error comes after
    /// theirs.
    NotFinite = 4,
}

impl SearchStatus {
    pub fn from_code(code: u32) -> SearchStatus {
        match code {
            0 => SearchStatus::Searching,
            1 => SearchStatus::Converged,
            2 => SearchStatus::NotConverged,
            3 => SearchStatus::BeyondLimit,
            _ => SearchStatus::NotFinite,
        }
    }
}

/// The safeguarded Newton search for Δ, one evaluation at a time (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftSearch {
    /// E before the search (the last step's electrode potential), V.
    pub base: f64,
    /// Δ at which F is evaluated next (the last one evaluated once the search has ended).
    pub shift: f64,
    /// Bracket of the root: F(lo) > 0 and F(hi) < 0 where finite.
    pub lo: f64,
    pub hi: f64,
    /// Largest step of the next move while unbracketed (V).
    pub reach: f64,
    /// |Δ| of the last move and of the one before it (V; ∞ before there was one).
    pub step_last: f64,
    pub step_before: f64,
    pub evaluations: u32,
    /// F at the last evaluation (rate-sum units).
    pub residual: f64,
    pub status: SearchStatus,
    /// |E| ≤ this (control.max_overpotential_v).
    pub limit: f64,
}

impl ShiftSearch {
    /// A search from E = `base`, Δ = 0, within |E| ≤ `limit`.
    pub fn new(base: f64, limit: f64) -> ShiftSearch {
        ShiftSearch {
            base,
            shift: 0.0,
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
            reach: FIRST_REACH_V,
            step_last: f64::INFINITY,
            step_before: f64::INFINITY,
            evaluations: 0,
            residual: 0.0,
            status: SearchStatus::Searching,
            limit,
        }
    }

    /// The electrode potential of the next (or last) evaluation.
    pub fn electrode(&self) -> f64 {
        self.base + self.shift
    }

    /// Takes F and dF/dΔ at [`ShiftSearch::shift`]; ends the search or moves `shift` on.
    /// `scale` is |target| (for the relative tolerance).
    pub fn advance(&mut self, f: f64, df: f64, scale: f64) {
        let x = self.shift;
        let f_before = self.residual;
        self.evaluations += 1;
        self.residual = f;
        if !(f.is_finite() && df.is_finite()) {
            self.status = SearchStatus::NotFinite;
            self.shift = 0.0;
            return;
        }
        if (f / scale.abs().max(1e-30)).abs() <= RELATIVE_TOLERANCE {
            self.status = SearchStatus::Converged;
            return;
        }
        let (min_shift, max_shift) = (-self.limit - self.base, self.limit - self.base);
        // F decreasing: F > 0 means too much plating, the root lies at larger Δ.
        if f > 0.0 {
            if x >= max_shift {
                self.status = SearchStatus::BeyondLimit;
                return;
            }
            self.lo = self.lo.max(x);
        } else {
            if x <= min_shift {
                self.status = SearchStatus::BeyondLimit;
                return;
            }
            self.hi = self.hi.min(x);
        }
        let bracketed = self.lo.is_finite() && self.hi.is_finite();
        if bracketed && self.hi - self.lo <= resolution(self.electrode()) {
            self.status = SearchStatus::Converged;
            return;
        }
        if self.evaluations >= MAX_EVALUATIONS {
            self.status = SearchStatus::NotConverged;
            return;
        }
        let newton = x + newton_step(f, df, scale);
        let newton_valid = df < 0.0 && newton.is_finite();
        let next = if bracketed {
            if newton_valid
                && newton > self.lo
                && newton < self.hi
                && (newton - x).abs() <= 0.5 * self.step_before
            {
                newton
            } else {
                0.5 * (self.lo + self.hi)
            }
        } else {
            let direction = if f > 0.0 { 1.0 } else { -1.0 };
            let mut length = if newton_valid {
                (newton - x).abs()
            } else {
                self.reach
            };
            if self.evaluations > 1 && f.abs() > 0.5 * f_before.abs() {
                length = length.max(2.0 * self.step_last);
            }
            let step = direction * length.min(self.reach);
            self.reach *= 2.0;
            x + step
        };
        let next = next.clamp(min_shift, max_shift);
        self.step_before = self.step_last;
        self.step_last = (next - x).abs();
        self.shift = next;
    }
}

/// The Newton step on G = asinh(F/s) (s = |target|) instead of on F: the same step near the
/// root (|F| ≪ s), where it converges quadratically, but where F is exponential in Δ (the
/// Butler–Volmer branches, far from the root) G is linear, so the step is ln(2|F|/s)/(αf)
/// instead of Newton's 1/(αf) ≈ 26 mV: the search comes down the steep side of an
/// exponential, or out of the range where the exponentials are clamped, in a few evaluations.
pub fn newton_step(f: f64, df: f64, scale: f64) -> f64 {
    let s = scale.abs().max(1e-30);
    let u = f / s;
    // sqrt(1 + u²) without overflowing u² (the device computes in f32).
    let w = u.abs();
    let root = if w > 1.0 {
        w * (1.0 + 1.0 / (w * w)).sqrt()
    } else {
        (1.0 + w * w).sqrt()
    };
    -u.asinh() * root * s / df
}

/// The narrowest bracket worth splitting at electrode potential `e` (V): [`BRACKET_FLOOR_V`], or
/// two f32 ulps of E, whichever is larger.
pub fn resolution(e: f64) -> f64 {
    BRACKET_FLOOR_V.max(2.0 * f64::from(f32::EPSILON) * e.abs())
}

/// Runs a [`ShiftSearch`] from `base` to its end: `eval(E)` returns (F, dF/dE) at electrode
/// potential E, F decreasing in E; `scale` is |target|. The CPU backend's root find.
pub fn solve_shift(
    mut eval: impl FnMut(f64) -> (f64, f64),
    base: f64,
    limit: f64,
    scale: f64,
) -> ShiftSearch {
    let mut search = ShiftSearch::new(base, limit);
    while search.status == SearchStatus::Searching {
        let (f, df) = eval(search.electrode());
        search.advance(f, df, scale);
    }
    search
}

/// The error of a search that did not converge (the same text on every backend): the step, the
/// target and the current reached at the last potential tried; `allen_cahn_sum` is the
/// capillary part of Σ ∂xi/∂t (a blow-up when it alone exceeds the target).
/// `current_of_rate_sum` turns a Σ ∂xi/∂t into a current density (A/m²).
pub fn control_failure(
    step: u64,
    search: &ShiftSearch,
    target_rate_sum: f64,
    allen_cahn_sum: f64,
    target_a_m2: f64,
    current_of_rate_sum: impl Fn(f64) -> f64,
) -> crate::Error {
    let reached = current_of_rate_sum(target_rate_sum + search.residual);
    let (target_ma, reached_ma) = (0.1 * target_a_m2, 0.1 * reached);
    let e = search.electrode();
    // The capillary (Allen–Cahn) part of Σ ∂xi/∂t alone beyond the target: no potential can
    // balance a front that far from its equilibrium profile; the cause is the blow-up's.
    let capillary = allen_cahn_sum.abs() / target_rate_sum.abs().max(1e-30);
    if capillary > 1.0 && search.status != SearchStatus::NotFinite {
        return crate::Error::Solver {
            step,
            message: format!(
                "the Allen–Cahn part of Σ ∂xi/∂t alone is {capillary:.3e} times the galvanostatic target's, which no electrode potential within control.max_overpotential_v = {:.4} V balances (at E = {e:.4} V the current is {reached_ma:.4e} mA/cm²): {}",
                search.limit,
                crate::model::timestep::BLOW_UP_CAUSES
            ),
        };
    }
    let message = match search.status {
        SearchStatus::NotFinite => format!(
            "the galvanostatic control met a current of {reached_ma} mA/cm² at E = {e:.6} V (target {target_ma:.6} mA/cm²): a field has blown up"
        ),
        SearchStatus::BeyondLimit => format!(
            "the galvanostatic target {target_ma:.4} mA/cm² needs an electrode potential beyond control.max_overpotential_v = {:.4} V: at E = {e:.4} V the current is {reached_ma:.4} mA/cm². Lower control.current_density_ma_cm2, or raise control.max_overpotential_v if such a potential is meant",
            search.limit
        ),
        _ => format!(
            "the galvanostatic control did not converge in {} evaluations: target {target_ma:.6} mA/cm², reached {reached_ma:.6} mA/cm² at E = {e:.6} V (relative error {:.2e}, tolerance {RELATIVE_TOLERANCE:.0e})",
            search.evaluations,
            (search.residual / target_rate_sum).abs()
        ),
    };
    crate::Error::Solver { step, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// F(E) = target − i0 (e^{−39 (E + φ)} − e^{39 (E + φ)}) (plating current rising as E falls).
    fn exponential(target: f64, phi: f64) -> impl Fn(f64) -> (f64, f64) {
        move |e: f64| {
            let x = e + phi;
            let i = 5.0 * ((-38.9 * x).exp() - (38.9 * x).exp());
            let di = 5.0 * (-38.9 * (-38.9 * x).exp() - 38.9 * (38.9 * x).exp());
            (i - target, di)
        }
    }

    #[test]
    fn finds_root_of_exponential_current() {
        let (target, phi) = (40.0, -0.02);
        let f = exponential(target, phi);
        let s = solve_shift(&f, 0.0, 10.0, target);
        println!(
            "E = {} after {} evaluations, F/target = {:e}",
            s.electrode(),
            s.evaluations,
            s.residual / target
        );
        assert_eq!(s.status, SearchStatus::Converged);
        assert!(f(s.electrode()).0.abs() <= RELATIVE_TOLERANCE * target);
        assert!(s.evaluations < 15);
    }

    /// A resistive layer: i = (−E − 0.05)/R above the onset. The root at −3.866 V is beyond
    /// any fixed reach of 12 steps of 0.25 V (the device's old budget stopped at −3 V).
    #[test]
    fn reaches_a_root_volts_away_by_bracket_expansion() {
        let target = 5.0;
        let f = |e: f64| {
            let i = 5.0 * ((-38.9 * (e + 3.816)).exp() - 1.0) + (-e - 0.05).max(0.0) * 0.01;
            let di = -5.0 * 38.9 * (-38.9 * (e + 3.816)).exp() - if e < -0.05 { 0.01 } else { 0.0 };
            (i - target, di)
        };
        let s = solve_shift(f, 0.0, 10.0, target);
        println!(
            "root expected near −3.83 V: E = {:.6} V after {} evaluations (status {:?})",
            s.electrode(),
            s.evaluations,
            s.status
        );
        assert_eq!(s.status, SearchStatus::Converged);
        assert!(f(s.electrode()).0.abs() <= RELATIVE_TOLERANCE * target);
        assert!(s.electrode() < -3.0);
        assert!(s.evaluations <= 16, "{} evaluations", s.evaluations);
    }

    /// From 3.5 V on the anodic side, where the exponentials are clamped (F flat, Newton's step
    /// stuck at 1/(αf)), the search still reaches the root at −16 mV.
    #[test]
    fn climbs_out_of_the_clamped_exponentials() {
        let target = 40.0;
        let clamped = |x: f64| x.clamp(-60.0, 60.0).exp();
        let f = |e: f64| {
            let x = e + 0.0;
            let i = 5.0 * (clamped(-38.9 * x) - clamped(38.9 * x));
            let di = 5.0 * (-38.9 * clamped(-38.9 * x) - 38.9 * clamped(38.9 * x));
            (i - target, di)
        };
        let s = solve_shift(f, 3.5, 10.0, target);
        println!(
            "from 3.5 V: E = {:.6} V after {} evaluations ({:?})",
            s.electrode(),
            s.evaluations,
            s.status
        );
        assert_eq!(s.status, SearchStatus::Converged);
        assert!(f(s.electrode()).0.abs() <= RELATIVE_TOLERANCE * target);
        assert!(s.evaluations <= 20, "{} evaluations", s.evaluations);
    }

    #[test]
    fn a_target_beyond_the_limit_is_reported_not_clamped() {
        // A linear resistor: 100 A/m² needs E = −158 V, the bound is 10 V.
        let target = 100.0;
        let f = |e: f64| (-e / 1.58 - target, -1.0 / 1.58);
        let s = solve_shift(f, -0.5, 10.0, target);
        println!(
            "status {:?} at E = {} V after {} evaluations",
            s.status,
            s.electrode(),
            s.evaluations
        );
        assert_eq!(s.status, SearchStatus::BeyondLimit);
        assert_eq!(s.electrode(), -10.0);
        let err = control_failure(7, &s, target, 0.0, 1000.0, |r| r * 10.0).to_string();
        println!("{err}");
        assert!(err.contains("step 7"), "{err}");
        assert!(
            err.contains("control.max_overpotential_v = 10.0000 V"),
            "{err}"
        );
    }

    #[test]
    fn a_non_finite_current_ends_the_search_at_the_last_potential() {
        let s = solve_shift(
            |e| {
                if e < -0.1 {
                    (f64::NAN, -1.0)
                } else {
                    (-1.0, -1.0)
                }
            },
            0.0,
            10.0,
            1.0,
        );
        println!(
            "{:?} after {} evaluations at E = {}",
            s.status,
            s.evaluations,
            s.electrode()
        );
        assert_eq!(s.status, SearchStatus::NotFinite);
        assert_eq!(s.electrode(), 0.0);
    }

    #[test]
    fn a_search_that_cannot_converge_is_an_error() {
        // F jumps across zero (a step function the f32 sums could produce): no point meets the
        // tolerance, the bracket shrinks to the resolution of E and the search ends there...
        let f = |e: f64| (if e < -0.3 { 1.0 } else { -1.0 }, -1.0);
        let s = solve_shift(f, 0.0, 10.0, 1.0);
        println!(
            "step function: {:?} after {} evaluations",
            s.status, s.evaluations
        );
        assert_eq!(s.status, SearchStatus::Converged);
        assert!((s.electrode() + 0.3).abs() < 1e-6);
        // ... while a root farther than 32 doublings of the reach is never bracketed.
        let f = |e: f64| ((e * 7.0).sin() - 2.0, 1.0);
        let s = solve_shift(f, 0.0, 1.0e12, 1.0);
        println!(
            "no root: {:?} after {} evaluations",
            s.status, s.evaluations
        );
        assert_eq!(s.status, SearchStatus::NotConverged);
        assert_eq!(s.evaluations, MAX_EVALUATIONS);
        let err = control_failure(3, &s, 1.0, 0.0, 5.0, |r| r * 5.0).to_string();
        println!("{err}");
        assert!(err.contains("did not converge in 32 evaluations"), "{err}");
    }
}
