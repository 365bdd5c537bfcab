//! V7: linear (morphological) stability of a planar front, on the real coupled CPU backend
//! (`CpuBackend::step`: Allen–Cahn + Butler–Volmer ξ, implicit c with the sink, φ solve).
//!
//! **Law tested.** The sharp-interface limit with migration off (φ = 0, so η = E everywhere),
//! quasi-static diffusion and c = c_b = c0 at a distance H ahead of the front, with the kinetics
//! v_n = k_c (c − c_eq) − M_K K, k_c = 6δL_η e^{−αfη} (µm/s, c in c/c0), c_eq = e^{fη},
//! M_K = L_σκ0, K > 0 on a metal bump (exact at fixed η: B = e^{(1−α)fη} − c e^{−αfη} is linear
//! in c). Base state: V = k_c (c_i − c_eq) = D G/C_s, c_b = c_i + G H. A mode h = ε e^{iky+σt},
//! with k̃ = k coth(kH):
//!
//! ```text
//! σ(k) = (k_c G − M_K k²) · D k̃ / (D k̃ + k_c C_s),      k* = sqrt(k_c G / M_K)
//! ```
//!
//! (limits: k_c C_s ≫ D k̃ gives σ = V k̃ (1 − k²/k*²); k_c C_s ≪ D k̃ gives σ = k_c G − M_K k²).
//!
//! **Derivation check.** Re-derived (Laplace field ahead of the front vanishing at H, Stefan
//! C_s v_n = D ∂c/∂n, the kinetic law at the displaced front with K = k²h): the law follows. The
//! terms it drops are O(Pe = VH/D) = 0.01 and O(σ/(Dk²)) ≤ 0.003 here. Numerically it holds: on
//! set A the measured σ lie 1.6–4.7 % above it across the band and the marginal k* is within
//! 0.15 %; on set B (k*δ = 0.2) 7.6 % above. That residual is not in the law but in the phase
//! field's interface coefficients, which carry thin-interface corrections to the nominal k_c and
//! C_s. Measured on the planar base state, V/(k_c (c_i − c_eq)) = 1.006 (A), 1.088 (B) and
//! V/(D G/C_s) = 1.016 (A), 1.030 (B); the same formula with the effective k_c = V/(c_i − c_eq)
//! and C_s = D G/V of each run matches the measured σ to 0.07–1.2 % at every k (set B: 0.2 %).
//! Their sources, from the planar profiles: (i) the reaction sees c weighted by h'(ξ)|ξ'| across
//! the diffuse front, and c falls steeply on the metal side (D_s = 10⁻³ D) and turns negative,
//! which the kinetics clip at 0: c_eff − c_i ≈ 0.2 Gδ (+7 % of c_i in set B, growing with
//! Gδ/c_i); (ii) at Λ ≈ 0.04 the profile broadens (6δ∫ξ'² dx = 0.96), +4 % on V; (iii) the metal
//! keeps a negative c/c0 (−0.7 in A, −1.7 in B), so the front consumes C_s − c_i + c_metal per
//! unit advance, not C_s (1.6 % in A, 3 % in B with the O(Pe) curvature of c); (iv) at Δx = δ/2
//! grid pinning slows the front by 2.5 % against Δx = δ/8 (set B). All vanish as Gδ/c_i and
//! Λ → 0; at fixed k*δ their product is Λ · Gδ/c_i = (k*δ)²/3, so a cheap (large) k*δ cannot
//! make both small. No correction of the law is needed; the tolerance (15 %) is well above them.
//!
//! **Front advance.** Since σ ≤ V k̃, the front advances at least 1/k̃ per e-fold, so with a
//! fixed bulk face H (and G, and k*) would change by tens of % over the fit. The runs keep H
//! fixed instead (see [`Run`]): whenever the mean front passes x0 + Δx, ξ and c are translated
//! one cell towards the collector, c is put back on c0 at the bulk face by a linear ramp that
//! vanishes at the front, and the new top row is extrapolated. H stays within one cell
//! (0.125 µm of 11.94 µm) and G within ±0.2 % of their means, the local d ln A/dt is constant
//! to 3 digits across the shifts, and σ is compared with the law at the fit window's mean
//! measured G and H (nominal k_c, M_K, D, C_s).
//!
//! **Method.** A planar run (8 columns) from the initial deposit for 2 s (the c profile relaxes in
//! H²/D = 0.16 s) gives the base state; a one-wavelength domain (k = 2π/(ny Δx)) is seeded with
//! its column, ξ and c together, shifted by ε cos(ky), ε = 0.5δ (Catmull–Rom); it runs for 1.25
//! predicted e-folds, the first 10 % are discarded (the perturbation's c field relaxes in
//! 1/(Dk̃²) ≈ 0.01 s) and σ is the least-squares slope of ln A over the rest (≥ 1 e-fold). A is
//! 2/ny |Σ_j h_j e^{−iky_j}| of the column heights h_j = Δx Σ_i ξ_ij; the contour heights of
//! `metrics::front_heights` give the same σ to 4 digits but wobble as the front crosses cells.
//! c_i and G: a line through the y-averaged c from x_f + 4δ to the bulk face, at x_f; V: the
//! slope of the lab-frame front position.
//!
//! **Parameters.** Hong's interface, δ = 0.25 µm, L_σ = 6.25, κ0 = 0.3, W = 2.4 (E0 units;
//! M_K = 1.875 µm²/s), n = 1 (f = 38.92 1/V), α = ½, η = −0.3 V (c_eq = 8.5e-6), C_s/c0 = 81.9,
//! D_s = 10⁻³ D, Δx = δ/2, front held at x0 = 8δ = 2 µm, noise and anisotropy off, interphase
//! "none", set directly on `Params`.
//! * Set A (base state, full): L_η = 0.0084 1/s (k_c = 4.323 µm/s), D = 875 µm²/s, nx = 112
//!   (H = 11.94 µm): k*δ = 0.100, Λ = 0.033, Pe = 0.010, k_c C_s/(D k̃) = 0.97–2.5 over the
//!   tested k (between the two limits: both factors of σ matter).
//! * Set B (fast): L_η = 0.0159 1/s (k_c = 8.183 µm/s), D = 550 µm²/s, nx = 64 (H = 5.95 µm):
//!   k*δ = 0.20, tested at k = k*/2 (kδ = 0.098, 64 × 128 cells), Λ = 0.041, Pe = 0.011.
//!
//! **Measured** (dev profile, 2 cores; `-- --nocapture` prints each number):
//! * base state, set A: c_i 0.1730 vs 0.1715 (0.9 %), G 0.06930 vs 0.06941 1/µm (0.15 %),
//!   V 0.7526 vs 0.7415 µm/s (1.5 %); V against k_c(c_i − c_eq) 0.6 %, against D G/C_s 1.6 %;
//!   max|φ| = 0 V. 2.8 s alone (5.1 s beside the fast test).
//! * fast, set B, k = 0.3927 1/µm: σ = 0.2480 1/s against 0.2305 (ratio 1.076), 1.24 e-folds.
//!   9.9 s alone (14.5 s beside the base-state test).
//! * full, set A (k/k* with k* = 0.3997 1/µm from the measured G):
//!
//! ```text
//! k (1/µm)  k/k*   kδ      σ predicted  σ measured  ratio   (effective k_c, C_s)
//! 0.15708   0.393  0.039   +0.07328     +0.07448    1.016   1.001
//! 0.22440   0.561  0.056   +0.07366     +0.07517    1.020   1.003
//! 0.28560   0.714  0.071   +0.06081     +0.06237    1.026   1.003
//! 0.34907   0.873  0.087   +0.03296     +0.03450    1.047   1.002
//! 0.36960   0.925  0.092   +0.02074     +0.02205    1.063   1.007   (bracket)
//! 0.41888   1.048  0.105   −0.01494     −0.01414    0.947   1.012   (bracket)
//! ```
//!
//!   The zero of σ(k²) between the bracket: k* = 0.4004 1/µm against 0.3997 (0.15 %).
//!   387 s (467 s with a build running beside it); the six runs 92, 53, 53, 105, 47, 35 s.

mod common;

use common::{check_abs, check_bound, check_rel, slope, switch_off_anisotropy_and_layer};
use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::Backend;
use mgpf::config::{Config, ControlMode, InitialConfig};
use mgpf::model::metrics::front_heights;
use mgpf::model::Params;
use mgpf::Real;
use std::f64::consts::PI;
use std::time::Instant;

/// Relative tolerance on σ(k) and on the marginal wavenumber.
const TOLERANCE: f64 = 0.15;
/// Relative tolerance on the planar base state (c_i, G, V and the two interface conditions).
const BASE_TOLERANCE: f64 = 0.05;
/// Initial amplitude of the perturbation, in units of δ.
const AMPLITUDE_OVER_DELTA: f64 = 0.5;
/// Columns of the planar (y-invariant) runs.
const PLANAR_NY: usize = 8;

/// One parameter set in the solver's internal units (µm, s, V, c/c0; energies in E0).
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    /// δ (µm), Δx (µm).
    delta: f64,
    dx: f64,
    /// L_σ (1/s in E0 units), κ0 and W (E0 units), L_η (1/s).
    l_sigma: f64,
    kappa: f64,
    w: f64,
    l_eta: f64,
    /// f = nF/(RT) (1/V), α, η = E (V; φ = 0).
    f: f64,
    alpha: f64,
    eta: f64,
    /// D_l (µm²/s; D_s = 1e-3 D_l) and C_s/c0.
    d: f64,
    cs: f64,
    /// Front position the moving frame holds (µm) and cells along x (L = nx Δx).
    x0: f64,
    nx: usize,
}

/// The set of the full dispersion test: Hong's interface (δ = 0.25 µm, L_σ = 6.25, κ0 = 0.3,
/// W = 2.4: M_K = L_σκ0 = 1.875 µm²/s), n = 1 (f = 38.92 1/V), α = ½, η = −0.3 V, L_η, D and
/// H = L − x0 ≈ 12 µm chosen for k*δ = 0.10 and k_c C_s/(D k̃) ≈ 2 at k = k*/2.
const SET_A: Case = Case {
    name: "A",
    delta: 0.25,
    dx: 0.125,
    l_sigma: 6.25,
    kappa: 0.3,
    w: 2.4,
    l_eta: 0.0084,
    f: 38.92,
    alpha: 0.5,
    eta: -0.3,
    d: 875.0,
    cs: 81.9,
    x0: 2.0,
    nx: 112,
};

/// The set of the fast test: the same interface, L_η, D and H ≈ 6 µm chosen for k*δ = 0.20, so
/// that k = k*/2 has kδ = 0.10 on a 64 × 128 grid (and Λ = 0.044).
const SET_B: Case = Case {
    name: "B",
    l_eta: 0.0159,
    d: 550.0,
    nx: 64,
    ..SET_A
};

impl Case {
    /// k_c = 6δL_η e^{−αfη} (µm/s): v_n = k_c (c − c_eq) − M_K K at fixed η.
    fn k_c(&self) -> f64 {
        6.0 * self.delta * self.l_eta * (-self.alpha * self.f * self.eta).exp()
    }

    /// c_eq = e^{fη}.
    fn c_eq(&self) -> f64 {
        (self.f * self.eta).exp()
    }

    /// M_K = L_σ κ0 (µm²/s).
    fn m_k(&self) -> f64 {
        self.l_sigma * self.kappa
    }

    fn lx(&self) -> f64 {
        self.nx as f64 * self.dx
    }

    /// The sharp-interface base state at distance H to the bulk face (c_b = 1):
    /// (c_i, G, V) from V = k_c (c_i − c_eq) = D G/C_s, c_i = 1 − G H.
    fn base_theory(&self, h: f64) -> (f64, f64, f64) {
        let (kc, dp) = (self.k_c(), self.d / (h * self.cs));
        let ci = (kc * self.c_eq() + dp) / (kc + dp);
        let g = (1.0 - ci) / h;
        (ci, g, kc * (ci - self.c_eq()))
    }

    /// σ(k) = (k_c G − M_K k²) D k̃/(D k̃ + k_c C_s), k̃ = k coth(kH), with the coefficients `kc`
    /// and `cs` (nominal or effective).
    fn sigma_with(&self, k: f64, g: f64, h: f64, kc: f64, cs: f64) -> f64 {
        let kt = k / (k * h).tanh();
        (kc * g - self.m_k() * k * k) * self.d * kt / (self.d * kt + kc * cs)
    }

    /// σ(k) with the nominal k_c and C_s.
    fn sigma(&self, k: f64, g: f64, h: f64) -> f64 {
        self.sigma_with(k, g, h, self.k_c(), self.cs)
    }

    /// k* = sqrt(k_c G/M_K).
    fn marginal(&self, g: f64) -> f64 {
        (self.k_c() * g / self.m_k()).sqrt()
    }

    /// Λ = L_η|B(η, c_i)|/(L_σ W) of the planar front.
    fn lambda(&self, ci: f64) -> f64 {
        let b = ((1.0 - self.alpha) * self.f * self.eta).exp()
            - ci * (-self.alpha * self.f * self.eta).exp();
        self.l_eta * b.abs() / (self.l_sigma * self.w)
    }

    /// Params of an nx × ny grid: potentiostatic at E = η, migration off (no source for φ, so
    /// φ = 0 and η = E everywhere), noise and anisotropy off, interphase "none".
    fn params(&self, ny: usize) -> (Params, InitialConfig) {
        let mut cfg = Config::default_demo();
        cfg.grid.nx = self.nx;
        cfg.grid.ny = ny;
        cfg.grid.nz = 1;
        cfg.grid.dx_um = self.dx;
        cfg.interface.width_um = self.delta;
        cfg.interface.anisotropy_strength = 0.0;
        cfg.interface.kinetic_anisotropy_2fold = 0.0;
        cfg.interface.kinetic_anisotropy_6fold = 0.0;
        cfg.control.mode = ControlMode::Potentiostatic;
        cfg.control.applied_potential_v = self.eta;
        cfg.noise.amplitude_per_s = 0.0;
        cfg.initial.deposit_height_um = self.x0;
        cfg.initial.nucleus_radius_um = 0.0;
        let mut p = Params::from_config(&cfg).expect("the V7 config converts");
        assert_eq!(
            p.interphase.asr_ohm_m2, 0.0,
            "interphase preset must be none"
        );
        assert_eq!(p.interphase.blocked_fraction, 0.0);
        p.delta = self.delta;
        p.l_sigma = self.l_sigma;
        p.kappa = self.kappa;
        p.w = self.w;
        p.l_eta = self.l_eta;
        p.f = self.f;
        p.alpha = self.alpha;
        p.cs_over_c0 = self.cs;
        p.d_liquid = self.d;
        p.d_solid = 1e-3 * self.d;
        p.potential_source = 0.0;
        p.noise_amplitude = 0.0;
        switch_off_anisotropy_and_layer(&mut p);
        (p, cfg.initial)
    }

    fn print(&self) {
        let delta_check = (self.kappa / (2.0 * self.w)).sqrt();
        println!(
            "V7 set {}: δ = {} µm (√(κ0/2W) = {delta_check}), Δx = {} µm, L_σ = {}, κ0 = {}, W = {}, \
             M_K = {:.4} µm²/s, L_η = {} 1/s, f = {} 1/V, α = {}, η = {} V, D = {} µm²/s (D_s = 1e-3 D), \
             C_s/c0 = {}, nx = {} (L = {} µm), front held at x0 = {} µm; k_c = {:.5} µm/s, c_eq = {:.3e}",
            self.name,
            self.delta,
            self.dx,
            self.l_sigma,
            self.kappa,
            self.w,
            self.m_k(),
            self.l_eta,
            self.f,
            self.alpha,
            self.eta,
            self.d,
            self.cs,
            self.nx,
            self.lx(),
            self.x0,
            self.k_c(),
            self.c_eq()
        );
    }
}

/// A run of the CPU backend in a frame that follows the front: whenever the mean front passes
/// x0 + Δx, ξ and c are translated one cell towards the collector (the bottom metal row is
/// dropped), so H = L − x_f stays within one cell of L − x0 − Δx/2, as the sharp-interface
/// model's Dirichlet c_b at a fixed distance H ahead of the front. The translation is an exact
/// symmetry of the discrete equations away from the two x faces; at the bulk face the c
/// profile, which moved with the front, is put back on c = c0 by a linear ramp that vanishes at
/// the front, and the new top row is extrapolated from the two below.
struct Run {
    case: Case,
    ny: usize,
    backend: CpuBackend,
    time: f64,
    steps: u64,
    shifts: u64,
    lambda_max: f64,
}

impl Run {
    fn new(case: Case, ny: usize) -> Run {
        let (p, init) = case.params(ny);
        Run {
            case,
            ny,
            backend: CpuBackend::new(&p, &init),
            time: 0.0,
            steps: 0,
            shifts: 0,
            lambda_max: 0.0,
        }
    }

    /// Column heights h_j = Δx Σ_i ξ_ij (µm): the ξ = ½ position of a tanh profile, without the
    /// contour interpolation's wobble as the front crosses cells.
    fn column_heights(&self) -> Vec<f64> {
        let (nx, dx) = (self.case.nx, self.case.dx);
        (0..self.ny)
            .map(|j| {
                (0..nx)
                    .map(|i| self.backend.xi[[i, j, 0]] as f64)
                    .sum::<f64>()
                    * dx
            })
            .collect()
    }

    /// Mean front position x_f (µm, in the frame).
    fn front(&self) -> f64 {
        let h = self.column_heights();
        h.iter().sum::<f64>() / h.len() as f64
    }

    /// Front position in the lab frame (µm).
    fn front_lab(&self) -> f64 {
        self.front() + self.shifts as f64 * self.case.dx
    }

    /// The fundamental mode's amplitude 2/ny |Σ_j h_j e^{−i k y_j}| of the column heights and of
    /// the contour heights (`metrics::front_heights`).
    fn amplitudes(&self) -> (f64, f64) {
        let contour = front_heights(&self.backend.xi, self.backend.params().grid);
        (mode(&self.column_heights()), mode(&contour))
    }

    /// The y-averaged c/c0 per x row.
    fn mean_profile(&self) -> Vec<f64> {
        (0..self.case.nx)
            .map(|i| {
                (0..self.ny)
                    .map(|j| 1.0 + self.backend.excess[[i, j, 0]] as f64)
                    .sum::<f64>()
                    / self.ny as f64
            })
            .collect()
    }

    /// (c_i, G): a least-squares line through the mean c profile in the electrolyte (from
    /// x_f + 4δ to the last cell), evaluated at x_f, and its slope.
    fn outer_profile(&self) -> (f64, f64) {
        let (dx, x_f) = (self.case.dx, self.front());
        let (x, c): (Vec<f64>, Vec<f64>) = self
            .mean_profile()
            .into_iter()
            .enumerate()
            .map(|(i, c)| ((i as f64 + 0.5) * dx, c))
            .filter(|&(x, _)| x >= x_f + 4.0 * self.case.delta)
            .unzip();
        let g = slope(&x, &c);
        let n = x.len() as f64;
        let (mx, mc) = (x.iter().sum::<f64>() / n, c.iter().sum::<f64>() / n);
        (mc + g * (x_f - mx), g)
    }

    fn step(&mut self) {
        let r = self.backend.step(self.steps).expect("V7 step");
        self.time += r.dt;
        self.steps += 1;
        self.lambda_max = self.lambda_max.max(r.lambda_max);
        let x_f = self.front();
        if x_f > self.case.x0 + self.case.dx {
            self.recentre(x_f - self.case.dx);
        }
    }

    fn advance_for(&mut self, duration: f64) {
        let end = self.time + duration;
        while self.time < end {
            self.step();
        }
    }

    /// Translates ξ and u = c/c0 − 1 one cell towards the collector (see [`Run`]); `x_f` is the
    /// front position after the shift.
    fn recentre(&mut self, x_f: f64) {
        let (nx, dx) = (self.case.nx, self.case.dx);
        let l = self.case.lx();
        let b = &mut self.backend;
        for j in 0..self.ny {
            let (u_top, u_below) = (
                b.excess[[nx - 1, j, 0]] as f64,
                b.excess[[nx - 2, j, 0]] as f64,
            );
            // The column's gradient at the bulk face: after the shift the profile would reach
            // u = g Δx there instead of 0.
            let g = (u_top - u_below) / dx;
            for i in 0..nx - 1 {
                b.xi[[i, j, 0]] = b.xi[[i + 1, j, 0]];
                b.excess[[i, j, 0]] = b.excess[[i + 1, j, 0]];
            }
            b.excess[[nx - 1, j, 0]] = (2.0 * u_top - u_below) as Real;
            for i in 0..nx {
                let x = (i as f64 + 0.5) * dx;
                if x > x_f {
                    b.excess[[i, j, 0]] -= (g * dx * (x - x_f) / (l - x_f)) as Real;
                }
            }
        }
        self.shifts += 1;
    }

    /// max |φ| (V) over the grid.
    fn phi_max(&self) -> f64 {
        self.backend
            .phi
            .iter()
            .fold(0.0f64, |a, &v| a.max((v as f64).abs()))
    }

    /// Mean c/c0 of the metal below the front (x < x_f − 4δ).
    fn metal_concentration(&self) -> f64 {
        let (dx, x_f) = (self.case.dx, self.front());
        let c: Vec<f64> = self
            .mean_profile()
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| (i as f64 + 0.5) * dx < x_f - 4.0 * self.case.delta)
            .map(|(_, c)| c)
            .collect();
        c.iter().sum::<f64>() / c.len() as f64
    }
}

/// 2/n |Σ_j h_j e^{−2πi j/n}| (the phase of y_j = (j + ½)Δx does not change the modulus).
fn mode(h: &[f64]) -> f64 {
    let n = h.len() as f64;
    let (re, im) = h.iter().enumerate().fold((0.0, 0.0), |(re, im), (j, &v)| {
        let a = 2.0 * PI * j as f64 / n;
        (re + v * a.cos(), im - v * a.sin())
    });
    2.0 / n * (re * re + im * im).sqrt()
}

/// Catmull–Rom interpolation of a column at fractional cell index x (clamped at the ends).
fn cubic(col: &[f64], x: f64) -> f64 {
    let n = col.len() as isize;
    let i = x.floor() as isize;
    let t = x - i as f64;
    let at = |k: isize| col[k.clamp(0, n - 1) as usize];
    let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
    p1 + 0.5
        * t
        * (p2 - p0 + t * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + t * (3.0 * (p1 - p2) + p3 - p0)))
}

/// The planar base state, time-averaged over a window.
#[derive(Debug, Clone, Copy)]
struct Base {
    c_i: f64,
    g: f64,
    v: f64,
    h: f64,
    c_metal: f64,
}

/// Runs a planar front (ny = 8) from the initial deposit for `relax` seconds, then samples the
/// base state `samples + 1` times over `window`: V is the slope of the lab-frame front position,
/// c_i, G and H = L − x_f means over the samples. Returns the run, to seed perturbed runs.
fn planar_base(case: Case, relax: f64, window: f64, samples: usize) -> (Run, Base) {
    let mut run = Run::new(case, PLANAR_NY);
    run.advance_for(relax);
    run.lambda_max = 0.0;
    let (mut t, mut x, mut ci, mut g, mut h) = (vec![], vec![], 0.0, 0.0, 0.0);
    for s in 0..=samples {
        if s > 0 {
            run.advance_for(window / samples as f64);
        }
        let (c, gr) = run.outer_profile();
        t.push(run.time);
        x.push(run.front_lab());
        ci += c;
        g += gr;
        h += case.lx() - run.front();
    }
    let n = (samples + 1) as f64;
    let base = Base {
        c_i: ci / n,
        g: g / n,
        v: slope(&t, &x),
        h: h / n,
        c_metal: run.metal_concentration(),
    };
    (run, base)
}

/// A perturbed run of ny columns (one wavelength, k = 2π/(ny Δx)) seeded with the planar state:
/// each column is the planar column (ξ and c together, Catmull–Rom) shifted by ε cos(k y_j),
/// ε = 0.5δ, so the c profile moves with the front it belongs to.
fn perturbed(planar: &Run, ny: usize) -> Run {
    let case = planar.case;
    let mut run = Run::new(case, ny);
    let xi: Vec<f64> = (0..case.nx)
        .map(|i| planar.backend.xi[[i, 0, 0]] as f64)
        .collect();
    let u: Vec<f64> = (0..case.nx)
        .map(|i| planar.backend.excess[[i, 0, 0]] as f64)
        .collect();
    let k = 2.0 * PI / (ny as f64 * case.dx);
    let eps = AMPLITUDE_OVER_DELTA * case.delta;
    for j in 0..ny {
        let shift = eps * (k * (j as f64 + 0.5) * case.dx).cos() / case.dx;
        for i in 0..case.nx {
            let x = i as f64 - shift;
            run.backend.xi[[i, j, 0]] = cubic(&xi, x) as Real;
            run.backend.excess[[i, j, 0]] = cubic(&u, x) as Real;
        }
    }
    run
}

/// What one perturbed run measured.
#[derive(Debug, Clone, Copy)]
struct Growth {
    ny: usize,
    k: f64,
    /// d ln A/dt over the fit window (column heights; contour heights).
    sigma: f64,
    sigma_contour: f64,
    /// ln A(end) − ln A(start) of the window.
    efolds: f64,
    /// Means over the window: G, H, c_i; V from the lab-frame front position.
    g: f64,
    h: f64,
    c_i: f64,
    v: f64,
    window: (f64, f64),
    steps: u64,
    lambda_max: f64,
    phi_max: f64,
    wall_s: f64,
}

impl Growth {
    fn predicted(&self, case: &Case) -> f64 {
        case.sigma(self.k, self.g, self.h)
    }

    /// σ with the phase field's effective interface coefficients, read off this run's base
    /// state: k_c,eff = V/(c_i − c_eq) and C_s,eff = D G/V.
    fn predicted_effective(&self, case: &Case) -> f64 {
        let kc = self.v / (self.c_i - case.c_eq());
        let cs = case.d * self.g / self.v;
        case.sigma_with(self.k, self.g, self.h, kc, cs)
    }

    fn print(&self, case: &Case) {
        let pred = self.predicted(case);
        let eff = self.predicted_effective(case);
        println!(
            "V7 set {} ny = {}: k = {:.5} 1/µm (kδ = {:.4}, kH = {:.3}), window t = {:.2}–{:.2} s \
             ({} steps, {:.2} e-folds), H = {:.4} µm, G = {:.5} 1/µm, c_i = {:.5}, V = {:.5} µm/s; \
             σ measured {:.5} 1/s (contour heights {:.5}), predicted {:.5} (ratio {:.4}), with \
             the base state's effective k_c, C_s {:.5} (ratio {:.4}); σ/(Dk²) = {:.1e}, \
             Λ_max = {:.3}, max|φ| = {:.1e} V, wall {:.1} s",
            case.name,
            self.ny,
            self.k,
            self.k * case.delta,
            self.k * self.h,
            self.window.0,
            self.window.1,
            self.steps,
            self.efolds,
            self.h,
            self.g,
            self.c_i,
            self.v,
            self.sigma,
            self.sigma_contour,
            pred,
            self.sigma / pred,
            eff,
            self.sigma / eff,
            self.sigma.abs() / (case.d * self.k * self.k),
            self.lambda_max,
            self.phi_max,
            self.wall_s
        );
    }
}

/// Grows the mode of wavelength ny Δx from the planar state for `duration` seconds and fits
/// ln A(t) (least squares) after the first 10 % of it (the c field's relaxation to the
/// perturbed front, ~1/(D k̃²) ≈ 0.01 s, and the profile's, ~1/(L_σW) = 0.07 s).
fn grow(planar: &Run, ny: usize, duration: f64) -> Growth {
    let start = Instant::now();
    let case = planar.case;
    let mut run = perturbed(planar, ny);
    let k = 2.0 * PI / (ny as f64 * case.dx);
    run.advance_for(0.1 * duration);
    run.lambda_max = 0.0;
    let samples = 40;
    let (mut t, mut ln_a, mut ln_ac, mut x) = (vec![], vec![], vec![], vec![]);
    let (mut g, mut h, mut ci) = (0.0, 0.0, 0.0);
    let steps0 = run.steps;
    for s in 0..=samples {
        if s > 0 {
            run.advance_for(0.9 * duration / samples as f64);
        }
        let (a, ac) = run.amplitudes();
        let (c, gr) = run.outer_profile();
        t.push(run.time);
        ln_a.push(a.ln());
        ln_ac.push(ac.ln());
        x.push(run.front_lab());
        g += gr;
        ci += c;
        h += case.lx() - run.front();
    }
    let n = (samples + 1) as f64;
    Growth {
        ny,
        k,
        sigma: slope(&t, &ln_a),
        sigma_contour: slope(&t, &ln_ac),
        efolds: ln_a[samples] - ln_a[0],
        g: g / n,
        h: h / n,
        c_i: ci / n,
        v: slope(&t, &x),
        window: (t[0], t[samples]),
        steps: run.steps - steps0,
        lambda_max: run.lambda_max,
        phi_max: run.phi_max(),
        wall_s: start.elapsed().as_secs_f64(),
    }
}

/// Run length for ~1.25 predicted e-folds (at most `max`), from the theory's base state.
fn duration_for(case: &Case, ny: usize, max: f64) -> f64 {
    let h = case.lx() - case.x0 - 0.5 * case.dx;
    let (_, g, _) = case.base_theory(h);
    let k = 2.0 * PI / (ny as f64 * case.dx);
    (1.25 / case.sigma(k, g, h).abs()).min(max)
}

/// The planar base state of set A against the sharp-interface formulas: c_i, G, V from
/// V = k_c(c_i − c_eq) = DG/C_s, c_i = 1 − GH at the measured H; and each interface condition on
/// the measured numbers. Also the validity numbers (Λ, Pe) and φ = 0.
#[test]
fn v7_base_state_matches_theory() {
    let start = Instant::now();
    let case = SET_A;
    case.print();
    let (run, base) = planar_base(case, 2.0, 2.0, 20);
    let (ci, g, v) = case.base_theory(base.h);
    println!(
        "V7 base state (set A): H = {:.4} µm, c_i = {:.5}, G = {:.5} 1/µm, V = {:.5} µm/s, metal c/c0 = {:.3}, {} steps ({} frame shifts)",
        base.h, base.c_i, base.g, base.v, base.c_metal, run.steps, run.shifts
    );
    let mut ok = true;
    ok &= check_rel("V7 base c_i vs theory", ci, base.c_i, BASE_TOLERANCE);
    ok &= check_rel("V7 base G vs theory (1/µm)", g, base.g, BASE_TOLERANCE);
    ok &= check_rel("V7 base V vs theory (µm/s)", v, base.v, BASE_TOLERANCE);
    ok &= check_rel(
        "V7 kinetics: V vs k_c(c_i − c_eq) on the measured c_i (µm/s)",
        case.k_c() * (base.c_i - case.c_eq()),
        base.v,
        BASE_TOLERANCE,
    );
    ok &= check_rel(
        "V7 Stefan: V vs D G/C_s on the measured G (µm/s)",
        case.d * base.g / case.cs,
        base.v,
        BASE_TOLERANCE,
    );
    println!(
        "V7 Stefan with the metal's c: D G/(C_s − c_i + c_metal) = {:.5} µm/s",
        case.d * base.g / (case.cs - base.c_i + base.c_metal)
    );
    ok &= check_abs("V7 max|φ| with migration off (V)", 0.0, run.phi_max(), 0.0);
    ok &= check_bound(
        "V7 Λ = L_η|B(c_i)|/(L_σW)",
        case.lambda(base.c_i),
        0.05,
        false,
    );
    ok &= check_bound("V7 Pe = VH/D", base.v * base.h / case.d, 0.1, false);
    println!(
        "V7 Λ_max over interface cells {:.4}; runtime {:.2} s",
        run.lambda_max,
        start.elapsed().as_secs_f64()
    );
    assert!(ok);
}

/// σ of one mode, k = k*/2 of set B (kδ = 0.098, 64 × 128 cells), over ~1.1 e-folds, against
/// σ(k) with the nominal k_c, C_s and the measured G, H.
#[test]
fn v7_growth_rate_fast() {
    let start = Instant::now();
    let case = SET_B;
    case.print();
    let (planar, base) = planar_base(case, 2.0, 0.5, 5);
    let (ci, g, v) = case.base_theory(base.h);
    println!(
        "V7 set B base state: H = {:.4} µm, c_i = {:.5} (theory {ci:.5}), G = {:.5} 1/µm (theory {g:.5}), V = {:.5} µm/s (theory {v:.5}, k_c(c_i − c_eq) {:.5}, DG/C_s {:.5}); k* = {:.4} 1/µm",
        base.h,
        base.c_i,
        base.g,
        base.v,
        case.k_c() * (base.c_i - case.c_eq()),
        case.d * base.g / case.cs,
        case.marginal(base.g)
    );
    let ny = 128;
    let growth = grow(&planar, ny, duration_for(&case, ny, 20.0));
    growth.print(&case);
    let mut ok = check_rel(
        &format!("V7 σ at k = {:.4} 1/µm (1/s)", growth.k),
        growth.predicted(&case),
        growth.sigma,
        TOLERANCE,
    );
    ok &= check_bound("V7 kδ", growth.k * case.delta, 0.1, false);
    ok &= check_bound("V7 Λ", case.lambda(growth.c_i), 0.05, false);
    ok &= check_bound("V7 Pe", growth.v * growth.h / case.d, 0.1, false);
    ok &= check_bound("V7 e-folds fitted", growth.efolds, 1.0, true);
    ok &= check_abs("V7 max|φ| (V)", 0.0, growth.phi_max, 0.0);
    println!("V7 fast runtime {:.2} s", start.elapsed().as_secs_f64());
    assert!(ok);
}

/// The dispersion relation of set A: σ at four wavenumbers across the unstable band (k/k* ≈
/// 0.39, 0.56, 0.71, 0.87) within 15 %, and the marginal wavenumber: σ > 0 at k/k* ≈ 0.92,
/// σ < 0 at ≈ 1.05, and the zero of σ(k²) interpolated between them within 15 % of
/// k* = sqrt(k_c G/M_K).
#[test]
#[ignore = "about 7 minutes; run with --ignored"]
fn v7_dispersion_relation_full() {
    let start = Instant::now();
    let case = SET_A;
    case.print();
    let (planar, base) = planar_base(case, 2.0, 1.0, 10);
    let k_star = case.marginal(base.g);
    println!(
        "V7 set A base state: H = {:.4} µm, c_i = {:.5}, G = {:.5} 1/µm, V = {:.5} µm/s; k* = {k_star:.5} 1/µm (k*δ = {:.4})",
        base.h,
        base.c_i,
        base.g,
        base.v,
        k_star * case.delta
    );
    let mut ok = true;
    let mut rows = Vec::new();
    // ny multiple of 16 or 8 × odd: the multigrid coarsens to a small coarsest level.
    for ny in [320, 224, 176, 144] {
        let growth = grow(&planar, ny, duration_for(&case, ny, 60.0));
        growth.print(&case);
        ok &= check_rel(
            &format!(
                "V7 σ at k = {:.4} 1/µm (k/k* = {:.3}) (1/s)",
                growth.k,
                growth.k / k_star
            ),
            growth.predicted(&case),
            growth.sigma,
            TOLERANCE,
        );
        ok &= check_bound("V7 e-folds fitted", growth.efolds, 1.0, true);
        ok &= check_bound("V7 kδ", growth.k * case.delta, 0.1, false);
        rows.push(growth);
    }
    // The marginal wavenumber, bracketed: 18 s runs (|Δ ln A| ≈ 0.25–0.4).
    let below = grow(&planar, 136, 18.0);
    below.print(&case);
    let above = grow(&planar, 120, 18.0);
    above.print(&case);
    ok &= check_bound("V7 σ just below k*", below.sigma, 0.0, true);
    ok &= check_bound("V7 σ just above k*", above.sigma, 0.0, false);
    let (k1, k2) = (below.k * below.k, above.k * above.k);
    let measured = (k1 + below.sigma * (k2 - k1) / (below.sigma - above.sigma)).sqrt();
    let g = 0.5 * (below.g + above.g);
    ok &= check_rel(
        "V7 marginal wavenumber k* = sqrt(k_c G/M_K) (1/µm)",
        case.marginal(g),
        measured,
        TOLERANCE,
    );
    ok &= check_bound("V7 k*δ", measured * case.delta, 0.11, false);
    println!("V7 summary (set A): k (1/µm), k/k*, σ predicted, σ measured, ratio");
    for r in rows.iter().chain([&below, &above]) {
        let pred = r.predicted(&case);
        println!(
            "  {:.5}  {:.3}  {:+.5}  {:+.5}  {:.4}",
            r.k,
            r.k / case.marginal(r.g),
            pred,
            r.sigma,
            r.sigma / pred
        );
    }
    println!("V7 full runtime {:.1} s", start.elapsed().as_secs_f64());
    assert!(ok);
}
