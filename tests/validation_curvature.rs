//! Curvature validation of the order-parameter kernels (physics.md §4 V4, V5): the shrinking
//! disc R² = R0² − 2L_σκ0 t at B = 0 and the critical nucleus R* = L_σκ0/v_BV at constant B.
//! c and φ are frozen and uniform; xi is advanced by the production CPU kernels (tests/common).
//! Mg set of physics.md Table 1b (δ = 0.5 µm), anisotropy off, Δx = δ/4.

mod common;

use common::{
    check_abs, check_rel, delta_of, disc_profile, electrode_for_b, mg_params, slope, FrozenStepper,
};
use std::f64::consts::PI;
use std::time::Instant;

/// V4: a disc of R0 = 20δ in the middle of the domain (8δ margin), B = 0: dR²/dt = −2L_σκ0, with
/// R² = ∫xi dA/π. The window covers R² from ~383δ² down to ~283δ² (R ≈ 19.6δ → 16.8δ); the
/// area's offset from the xi = ½ radius (π²δ²/3 in R²) is constant and drops out of the slope.
#[test]
fn v4_shrinking_disc() {
    let start = Instant::now();
    let delta = delta_of(&mg_params(1, 1, 1.0));
    let dx = delta / 4.0;
    let (r0, margin) = (20.0 * delta, 8.0 * delta);
    let n = (2.0 * (r0 + margin) / dx).round() as usize;
    let p = mg_params(n, n, dx);
    let centre = 0.5 * n as f64 * dx;
    let xi = disc_profile(p.grid, delta, centre, centre, r0);
    // E = 0, c = 1: B = 0 exactly.
    let mut s = FrozenStepper::new(&p, xi, 1.0, 0.0);
    let expected = -2.0 * p.l_sigma * p.kappa;
    let window = 100.0 * delta * delta / expected.abs();
    let (t, r2) = s.sample(5.0 / (p.l_sigma * p.w), window, 20, |s| s.area() / PI);
    let rate = slope(&t, &r2);
    println!(
        "V4: {n}×{n} cells, Δx = δ/4, dt = {:.4e} s, {} steps; R² (δ² units) {:.2} → {:.2} over t = {:.1} → {:.1} s",
        s.dt,
        s.steps,
        r2[0] / (delta * delta),
        r2[r2.len() - 1] / (delta * delta),
        t[0],
        t[t.len() - 1]
    );
    let ok = check_rel("V4 dR²/dt vs −2L_σκ0 (µm²/s)", expected, rate, 0.01);
    println!("V4 runtime {:.2} s", start.elapsed().as_secs_f64());
    assert!(ok);
}

/// (dR/dt, mid-window R, v_BV, L_σκ0) in µm and s for a nucleus R0 at constant B, with
/// R = sqrt(2∫xi dA/π).
///
/// The nucleus is a half disc centred on the collector face: its zero-flux boundary mirrors it
/// into the full disc exactly (the ghost below cell 0 is cell 0), at half the cells.
fn nucleus_growth(r0_over_rstar: f64) -> (f64, f64, f64, f64) {
    let delta = delta_of(&mg_params(1, 1, 1.0));
    let dx = delta / 4.0;
    let r_star = 20.0 * delta;
    let r0 = r0_over_rstar * r_star;
    let margin = 8.0 * delta;
    let nx = ((1.1 * r_star + margin) / dx).round() as usize;
    let ny = (2.0 * (1.1 * r_star + margin) / dx).round() as usize;
    let p = mg_params(nx, ny, dx);
    // v_BV = −6δL_ηB chosen so that R* = L_σκ0/v_BV = 20δ.
    let v_bv = p.l_sigma * p.kappa / r_star;
    let b = -v_bv / (6.0 * delta * p.l_eta);
    let e = electrode_for_b(&p, b);
    let xi = disc_profile(p.grid, delta, 0.0, 0.5 * p.grid.ly(), r0);
    let mut s = FrozenStepper::new(&p, xi, 1.0, e);
    let rate = p.l_sigma * p.w;
    let (t, r) = s.sample(5.0 / rate, 10.0 / rate, 20, |s| {
        (2.0 * s.area() / PI).sqrt()
    });
    let r_mid = 0.5 * (r[0] + r[r.len() - 1]);
    println!(
        "V5 R0/R* = {r0_over_rstar}: {nx}×{ny} cells (half disc), B = {b:.3}, E = {:.3} mV, Λ = {:.4}, v_BV = {v_bv:.5} µm/s, dt = {:.4e} s",
        e * 1e3,
        p.stiffness_lambda(b.abs()),
        s.dt
    );
    (slope(&t, &r), r_mid, v_bv, p.l_sigma * p.kappa)
}

/// V5: the critical nucleus R* = L_σκ0/v_BV = 20δ. dR/dt changes sign between R0 = 0.97R* and
/// 1.03R*, and at 0.90R* and 1.10R* it is within 20 % of the sharp-interface law
/// dR/dt = v_BV − L_σκ0/R (evaluated at the measured mid-window R).
#[test]
fn v5_critical_nucleus() {
    let start = Instant::now();
    let mut all_ok = true;
    let mut rates = Vec::new();
    for &ratio in &[0.90, 0.97, 1.03, 1.10] {
        let (rate, r_mid, v_bv, l_kappa) = nucleus_growth(ratio);
        let theory = v_bv - l_kappa / r_mid;
        println!("V5 R0/R* = {ratio}: R_mid = {r_mid:.4} µm, dR/dt = {rate:.5} µm/s, theory {theory:.5} µm/s");
        rates.push(rate);
        if ratio == 0.90 || ratio == 1.10 {
            all_ok &= check_rel(
                &format!("V5 R0/R* = {ratio}: dR/dt vs v_BV − L_σκ0/R (µm/s)"),
                theory,
                rate,
                0.20,
            );
        }
    }
    // Sign flip inside [0.97, 1.03] R*: −1 below, +1 above.
    all_ok &= check_abs("V5 sign of dR/dt at 0.97 R*", -1.0, rates[1].signum(), 0.0);
    all_ok &= check_abs("V5 sign of dR/dt at 1.03 R*", 1.0, rates[2].signum(), 0.0);
    println!("V5 runtime {:.2} s", start.elapsed().as_secs_f64());
    assert!(all_ok);
}
