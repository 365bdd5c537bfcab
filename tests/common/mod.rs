//! Shared harness of the physics validation tests (physics.md §4): a forward-Euler stepper of the
//! order parameter alone, with c and φ frozen, built from exactly the CPU kernels of
//! `backend::cpu::order_parameter`, plus initial profiles, a least-squares slope and the
//! expected-vs-got checks every test prints.
//!
//! Units are the solver's internal ones: µm, s, V, c/c0, energy densities in E0 = R T c0; so
//! L_σ W is a rate (1/s) and L_σ κ0 a diffusivity (µm²/s).

#![allow(dead_code)]

use mgpf::backend::cpu::order_parameter::{
    allen_cahn_rate_streaming, interface_cells, interface_noise, interface_orientation_cells,
    reaction_rate, update_order_parameter,
};
use mgpf::config::Config;
use mgpf::model::coefficients::OrderParameterConstants;
use mgpf::model::metrics::equivalent_thickness;
use mgpf::model::params::MAX_H_SECOND_DERIVATIVE;
use mgpf::model::Params;
use mgpf::{Field, Grid, Real};
use rayon::prelude::*;

/// Safety factor on the explicit bounds (physics.md decision 3).
pub const SAFETY: f64 = 0.8;

/// The Mg set of physics.md Table 1b, written out here so that the tests do not move with the
/// config defaults: T = 298.15 K, n = 2, α = ½, c0 = 0.5 M, C_s = 7.151e4 mol/m³, γ = 0.5 J/m²,
/// δ = 0.5 µm, i0 = 0.5 mA/cm², L_σ from Λ_t = 0.05 at η_ref = 0.15 V (L_σκ0 = 0.415 µm²/s),
/// converted by `Params::from_config`. Every switch not under test is off: surface-energy and
/// kinetic anisotropy, interphase (multiplier 1; the stepper passes asr = 0, blocked = 0).
pub fn mg_params(nx: usize, ny: usize, dx: f64) -> Params {
    mg_params_3d(nx, ny, 1, dx)
}

/// [`mg_params`] on an nx × ny × nz grid (nz = 1: 2D).
pub fn mg_params_3d(nx: usize, ny: usize, nz: usize, dx: f64) -> Params {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = nx;
    cfg.grid.ny = ny;
    cfg.grid.nz = nz;
    cfg.grid.dx_um = dx;
    let e = &mut cfg.electrolyte;
    e.temperature_k = 298.15;
    e.transfer_coefficient = 0.5;
    e.concentration_mol_m3 = 500.0;
    cfg.metal.charge_number = Some(2.0);
    cfg.metal.site_density_mol_m3 = Some(7.151e4);
    let itf = &mut cfg.interface;
    itf.energy_j_m2 = 0.5;
    itf.width_um = 0.5;
    itf.exchange_current_ma_cm2 = 0.5;
    itf.stiffness_lambda = 0.05;
    itf.reference_overpotential_v = 0.15;
    itf.mobility_m3_j_s = None;
    itf.anisotropy_strength = 0.0;
    itf.kinetic_anisotropy_2fold = 0.0;
    itf.kinetic_anisotropy_6fold = 0.0;
    let mut p = Params::from_config(&cfg).expect("Table 1b config converts");
    switch_off_anisotropy_and_layer(&mut p);
    p
}

/// Every anisotropy off (surface energy and kinetics, 2D and hcp) and the interphase's
/// exchange-current multiplier 1: the switches a test of isotropic bare-metal physics leaves off.
pub fn switch_off_anisotropy_and_layer(p: &mut Params) {
    p.aniso_strength = 0.0;
    p.kinetic_2fold = 0.0;
    p.kinetic_6fold = 0.0;
    p.hcp.delta6 = 0.0;
    p.hcp.delta_c = 0.0;
    p.hcp.kinetic_2fold = 0.0;
    p.hcp.kinetic_6fold = 0.0;
    p.interphase.exchange_current_multiplier = 1.0;
}

/// Hong & Viswanathan 2018 normalized set (physics.md Table 1a): L_σ = 6.25, κ0 = 0.3, W = 2.4,
/// L_η = 0.001, δ = 0.25 µm; f stays the Mg one of the config (n = 2, 298.15 K).
pub fn hong_params(nx: usize, ny: usize, dx: f64) -> Params {
    let mut p = mg_params(nx, ny, dx);
    p.l_sigma = 6.25;
    p.kappa = 0.3;
    p.w = 2.4;
    p.l_eta = 0.001;
    p.delta = 0.25;
    p
}

/// δ = sqrt(κ0/(2W)) of the parameter set (µm).
pub fn delta_of(p: &Params) -> f64 {
    (p.kappa / (2.0 * p.w)).sqrt()
}

/// dt = S · min(Δx²/(2d L_σ κ0), 1/(2 L_σ W + L_η max|h''| |B|)): the gradient bound in d
/// dimensions and the local reaction bound of physics.md §2.3 (no anisotropy, a_k = 1, m = 1).
pub fn stable_dt(p: &Params, b_abs: f64) -> f64 {
    let d = p.grid.dimension() as f64;
    let gradient = p.grid.dx * p.grid.dx / (2.0 * d * p.l_sigma * p.kappa);
    let reaction = 1.0 / (2.0 * p.l_sigma * p.w + p.l_eta * MAX_H_SECOND_DERIVATIVE * b_abs);
    SAFETY * gradient.min(reaction)
}

/// Electrode potential E (V) that gives B(E, c = 1) = b with φ = 0: B = 2 sinh(f E/2) at α = ½.
pub fn electrode_for_b(p: &Params, b: f64) -> f64 {
    assert!((p.alpha - 0.5).abs() < 1e-12, "closed form needs α = ½");
    2.0 * (0.5 * b).asinh() / p.f
}

/// Advances xi with forward Euler through the production kernels, c and φ frozen, in 2D or 3D:
/// allen_cahn_rate_streaming → interface_orientation_cells → reaction_rate per interface cell
/// (electrode E, φ = 0, asr = 0, blocked = 0) → interface_noise (amplitude 0) →
/// update_order_parameter.
pub struct FrozenStepper {
    pub k: OrderParameterConstants,
    pub grid: Grid,
    pub xi: Field,
    /// Frozen c/c0 and φ (V).
    pub c: Field,
    pub phi: Field,
    /// Electrode (metal) potential E (V); η_a = E − φ.
    pub electrode: Real,
    pub dt: f64,
    pub steps: u64,
    /// Σ over steps of the Δxi the kernel computed (f64 sum of the f32 increments, before they
    /// are rounded into xi), × Δx²/L_y: the thickness deposited in exact arithmetic.
    pub deposited: f64,
    kinetic_factor: Vec<Real>,
    grad_norm: Vec<Real>,
    ac_rate: Vec<Real>,
    bv_rate: Vec<Real>,
    noise: Vec<Real>,
    source: Vec<Real>,
    dxi: Vec<Real>,
}

impl FrozenStepper {
    /// Stepper at dt = [`stable_dt`] for the |B| of (E, c) with φ = 0.
    pub fn new(p: &Params, xi: Field, c: f64, electrode: f64) -> Self {
        let b = p.butler_volmer(electrode, c).abs();
        Self::with_dt(p, xi, c, electrode, stable_dt(p, b))
    }

    pub fn with_dt(p: &Params, xi: Field, c: f64, electrode: f64, dt: f64) -> Self {
        let grid = p.grid;
        assert_eq!(
            xi.dim(),
            (grid.nx, grid.ny, grid.nz),
            "xi must have the grid's shape"
        );
        let n = grid.cells();
        FrozenStepper {
            k: OrderParameterConstants::from_params(p),
            grid,
            xi: xi.as_standard_layout().to_owned(),
            c: grid.field(c as Real),
            phi: grid.field(0.0),
            electrode: electrode as Real,
            dt,
            steps: 0,
            deposited: 0.0,
            kinetic_factor: vec![0.0; n],
            grad_norm: vec![0.0; n],
            ac_rate: vec![0.0; n],
            bv_rate: vec![0.0; n],
            noise: vec![0.0; n],
            source: vec![0.0; n],
            dxi: vec![0.0; n],
        }
    }

    /// Time reached (s): steps × dt.
    pub fn time(&self) -> f64 {
        self.steps as f64 * self.dt
    }

    /// ∂xi/∂t of the kernels at the current state, written into `bv_rate` (reaction) and
    /// `ac_rate` (Allen–Cahn).
    fn rates(&mut self) {
        let xi = self.xi.as_slice().expect("standard layout");
        allen_cahn_rate_streaming(&self.k, xi, &mut self.ac_rate);
        // a_k where the reaction is (reaction_rate returns 0 off the interface cells).
        interface_orientation_cells(
            &self.k,
            &interface_cells(xi),
            xi,
            &mut self.kinetic_factor,
            &mut self.grad_norm,
        );
        let (k, electrode) = (&self.k, self.electrode);
        let c = self.c.as_slice().expect("standard layout");
        let phi = self.phi.as_slice().expect("standard layout");
        let kinetic_factor = &self.kinetic_factor;
        self.bv_rate.par_iter_mut().enumerate().for_each(|(n, r)| {
            *r = reaction_rate(
                k,
                xi[n],
                c[n],
                phi[n],
                electrode,
                kinetic_factor[n],
                0.0,
                0.0,
            )
            .0;
        });
        interface_noise(0.0, 0, self.steps as u32, xi, &mut self.noise);
    }

    fn update(&mut self) {
        let xi = self.xi.as_slice_mut().expect("standard layout");
        let sum = update_order_parameter(
            xi,
            &self.ac_rate,
            &self.bv_rate,
            &self.noise,
            0.0,
            self.dt as Real,
            &mut self.dxi,
        );
        self.deposited += sum * self.grid.cell_measure() / self.grid.collector_measure();
        self.steps += 1;
    }

    pub fn step(&mut self) {
        self.rates();
        self.update();
    }

    /// One step with an extra source S added to ∂xi/∂t; `source(t_n, s)` fills s (cell order
    /// i·ny + j) at the start of the step (forward Euler: everything at t_n).
    pub fn step_with_source(&mut self, source: &mut impl FnMut(f64, &mut [Real])) {
        self.rates();
        source(self.time(), &mut self.source);
        self.bv_rate
            .par_iter_mut()
            .zip(self.source.par_iter())
            .for_each(|(r, s)| *r += s);
        self.update();
    }

    pub fn advance(&mut self, steps: u64) {
        for _ in 0..steps {
            self.step();
        }
    }

    /// Advances by at least `duration` (s), in whole steps.
    pub fn advance_for(&mut self, duration: f64) {
        let steps = (duration / self.dt).ceil() as u64;
        self.advance(steps);
    }

    /// ∫xi dA / L_y (µm), the metric of `model::metrics`.
    pub fn thickness(&self) -> f64 {
        equivalent_thickness(&self.xi, self.grid)
    }

    /// ∫xi dA (µm²; in 3D ∫xi dV, µm³).
    pub fn area(&self) -> f64 {
        self.thickness() * self.grid.collector_measure()
    }

    /// Samples `metric` `samples + 1` times evenly over `window` (s) after running `transient`
    /// (s); returns (times, values).
    pub fn sample<T>(
        &mut self,
        transient: f64,
        window: f64,
        samples: u64,
        metric: impl Fn(&FrozenStepper) -> T,
    ) -> (Vec<f64>, Vec<T>) {
        self.advance_for(transient);
        let every = ((window / self.dt) / samples as f64).ceil().max(1.0) as u64;
        let mut times = Vec::new();
        let mut values = Vec::new();
        for s in 0..=samples {
            if s > 0 {
                self.advance(every);
            }
            times.push(self.time());
            values.push(metric(self));
        }
        (times, values)
    }

    /// Planar front velocity (µm/s): least-squares d/dt of the equivalent thickness over `window`
    /// after `transient`.
    pub fn planar_velocity(&mut self, transient: f64, window: f64) -> f64 {
        self.planar_velocities(transient, window).0
    }

    /// (d/dt ∫xi dA/L_y, d/dt of [`FrozenStepper::deposited`]) over the same window: the field's
    /// velocity and the one the kernel's returned Σ Δxi reports.
    pub fn planar_velocities(&mut self, transient: f64, window: f64) -> (f64, f64) {
        let (t, hd) = self.sample(transient, window, 20, |s| (s.thickness(), s.deposited));
        let (h, d): (Vec<f64>, Vec<f64>) = hd.into_iter().unzip();
        (slope(&t, &h), slope(&t, &d))
    }
}

/// Least-squares slope of y against x.
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// Planar profile ½[1 − tanh((x − x0)/(2δ))] at the cell centres, uniform in y.
pub fn planar_profile(grid: Grid, delta: f64, x0: f64) -> Field {
    grid.field_from_fn(|(i, _, _)| {
        let x = (i as f64 + 0.5) * grid.dx;
        (0.5 * (1.0 - ((x - x0) / (2.0 * delta)).tanh())) as Real
    })
}

/// Disc of radius r centred at (xc, yc) (µm): ½[1 − tanh((|r − r_c| − r)/(2δ))], with the
/// periodic distance along y.
pub fn disc_profile(grid: Grid, delta: f64, xc: f64, yc: f64, r: f64) -> Field {
    let ly = grid.ly();
    grid.field_from_fn(|(i, j, _)| {
        let x = (i as f64 + 0.5) * grid.dx;
        let mut dy = ((j as f64 + 0.5) * grid.dx - yc).abs() % ly;
        dy = dy.min(ly - dy);
        let d = ((x - xc).powi(2) + dy * dy).sqrt() - r;
        (0.5 * (1.0 - (d / (2.0 * delta)).tanh())) as Real
    })
}

/// Prints "expected / got / error / allowed" for an absolute tolerance; returns whether it holds.
pub fn check_abs(label: &str, expected: f64, got: f64, tolerance: f64) -> bool {
    let error = (got - expected).abs();
    let ok = error <= tolerance;
    println!(
        "{label}: expected {expected:.6e}, got {got:.6e}, |error| {error:.3e}, allowed {tolerance:.3e} -> {}",
        verdict(ok)
    );
    ok
}

/// Same with a relative tolerance |got/expected − 1| ≤ tolerance.
pub fn check_rel(label: &str, expected: f64, got: f64, tolerance: f64) -> bool {
    let error = (got / expected - 1.0).abs();
    let ok = error <= tolerance;
    println!(
        "{label}: expected {expected:.6e}, got {got:.6e}, relative error {:.3}%, allowed {:.3}% -> {}",
        100.0 * error,
        100.0 * tolerance,
        verdict(ok)
    );
    ok
}

/// Prints a bound check "got ≤ limit" (or ≥ with `above`).
pub fn check_bound(label: &str, got: f64, limit: f64, above: bool) -> bool {
    let ok = if above { got >= limit } else { got <= limit };
    println!(
        "{label}: got {got:.6e}, required {} {limit:.6e} -> {}",
        if above { ">=" } else { "<=" },
        verdict(ok)
    );
    ok
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Lays a disc of metal of radius `r` centred `xc` above the collector, mid-way along y
/// ([`disc_profile`]), over a backend's state: ξ = max(ξ, disc), and c = c0 (1 − h(ξ)) as in an
/// initial state (metal placed apart from a deposit, for the dead-metal tests).
pub fn lay_metal_disc(p: &Params, b: &mut mgpf::backend::cpu::CpuBackend, xc: f64, r: f64) {
    let disc = disc_profile(p.grid, p.delta, xc, 0.5 * p.grid.ly(), r);
    ndarray::Zip::from(&mut b.xi)
        .and(&disc)
        .for_each(|v, &d| *v = v.max(d));
    b.excess = mgpf::model::initial::concentration_excess(&b.xi);
}

/// `cfg` on bare Mg with an isotropic interface: no interphase, every anisotropy of
/// `[interface]` off (the planar stripping and cycling tests).
pub fn bare_isotropic(cfg: &mut Config) {
    cfg.interphase.preset = mgpf::config::presets::Preset::None;
    cfg.interface.anisotropy_strength = 0.0;
    cfg.interface.kinetic_anisotropy_2fold = 0.0;
    cfg.interface.kinetic_anisotropy_6fold = 0.0;
}
