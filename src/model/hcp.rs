//! Hexagonal (hcp) anisotropy in 3D about a crystal c-axis ĉ with basal directions â, b̂: the
//! surface energy ε(n̂), the flux ∂f/∂p of the gradient energy f = ½ ε(n̂)² |p|² (p = ∇ξ, written
//! once, in its vector form, for any dimension), the kinetic factor a_k(n̂), and the surface
//! stiffness that decides whether a choice of coefficients is convex.
//!
//! With n_a = n̂·â, n_b = n̂·b̂, n_c = n̂·ĉ and Re((n_a + i n_b)⁶) = s⁶ cos 6φ (s the basal
//! component's length, φ its azimuth):
//!
//! ```text
//!     ε(n̂)   = ε0 [1 + δ6 Re((n_a + i n_b)⁶) + δ_c n_c²]
//!     a_k(n̂) = max(a_min, 1 − ε_k2 (2 n_c² − 1) + ε_k6 Re((n_a + i n_b)⁶))
//!     ∂f/∂p  = ε² p + ε |p| (I − n̂ n̂ᵀ) ∇_n ε
//! ```
//!
//! A basal section (n_c = 0) gives the 2D ε0 (1 + δ6 cos 6θ); with ĉ in the plane of a section
//! the kinetic factor is the 2D 1 − ε_k2 cos 2(θ − θ_c) + …. Every term is even in n̂, so the
//! sign of the normal does not matter. These are the model's functions in f64; the kernels
//! evaluate the same forms.

use crate::grid::Real;
use crate::model::anisotropy::{Orientation, SurfaceEnergy, KINETIC_FACTOR_MIN};

pub type Vec3 = [f64; 3];

fn dot(u: Vec3, v: Vec3) -> f64 {
    u[0] * v[0] + u[1] * v[1] + u[2] * v[2]
}

fn scale(u: Vec3, s: f64) -> Vec3 {
    [u[0] * s, u[1] * s, u[2] * s]
}

fn add(u: Vec3, v: Vec3) -> Vec3 {
    [u[0] + v[0], u[1] + v[1], u[2] + v[2]]
}

fn cross(u: Vec3, v: Vec3) -> Vec3 {
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

fn normalised(u: Vec3) -> Vec3 {
    scale(u, 1.0 / dot(u, u).sqrt())
}

/// The crystal's orthonormal frame in the lab frame (x the growth axis, y and z lateral).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrystalFrame {
    pub a: Vec3,
    pub b: Vec3,
    pub c: Vec3,
}

impl CrystalFrame {
    /// The frame of the c-axis given by its polar angle from x and its azimuth about x (degrees),
    /// with â the basal direction closest to the lab's y axis (or z when ĉ is along y), turned
    /// by `basal_rotation_deg` about ĉ.
    pub fn from_angles(polar_deg: f64, azimuth_deg: f64, basal_rotation_deg: f64) -> CrystalFrame {
        let (t, p) = (polar_deg.to_radians(), azimuth_deg.to_radians());
        let c = [t.cos(), t.sin() * p.cos(), t.sin() * p.sin()];
        CrystalFrame::from_c_axis(c, basal_rotation_deg)
    }

    /// The frame of the unit c-axis `c` (normalised here), â as in [`CrystalFrame::from_angles`].
    pub fn from_c_axis(c: Vec3, basal_rotation_deg: f64) -> CrystalFrame {
        let c = normalised(c);
        let reference = if c[1].abs() < 0.9 {
            [0.0, 1.0, 0.0]
        } else {
            [0.0, 0.0, 1.0]
        };
        // â0: the reference direction with its ĉ component removed.
        let a0 = normalised(add(reference, scale(c, -dot(reference, c))));
        let b0 = cross(c, a0);
        let r = basal_rotation_deg.to_radians();
        let a = add(scale(a0, r.cos()), scale(b0, r.sin()));
        CrystalFrame {
            a,
            b: cross(c, a),
            c,
        }
    }

    /// (n_a, n_b, n_c): `n` in the crystal frame.
    pub fn components(&self, n: Vec3) -> Vec3 {
        [dot(n, self.a), dot(n, self.b), dot(n, self.c)]
    }
}

/// (Re, Im) of (x + i y)⁵ and Re of (x + i y)⁶.
fn fifth_and_sixth(x: f64, y: f64) -> (f64, f64, f64) {
    let (mut re, mut im) = (1.0, 0.0);
    for _ in 0..5 {
        (re, im) = (re * x - im * y, re * y + im * x);
    }
    (re, im, re * x - im * y)
}

/// The hcp coefficients: ε0 = √κ0, δ6, δ_c and the kinetic ε_k2, ε_k6.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HcpAnisotropy {
    pub eps0: f64,
    pub delta6: f64,
    pub delta_c: f64,
    pub kinetic_2fold: f64,
    pub kinetic_6fold: f64,
}

impl HcpAnisotropy {
    /// ε(n̂) of the unit normal `n`.
    pub fn epsilon(&self, frame: &CrystalFrame, n: Vec3) -> f64 {
        let [na, nb, nc] = frame.components(n);
        let (_, _, six) = fifth_and_sixth(na, nb);
        self.eps0 * (1.0 + self.delta6 * six + self.delta_c * nc * nc)
    }

    /// ∇_n ε of ε as a function of the normal's components, in the lab frame:
    /// ε0 [6 δ6 (Re z⁵ â − Im z⁵ b̂) + 2 δ_c n_c ĉ], z = n_a + i n_b.
    fn epsilon_gradient(&self, frame: &CrystalFrame, n: Vec3) -> Vec3 {
        let [na, nb, nc] = frame.components(n);
        let (re5, im5, _) = fifth_and_sixth(na, nb);
        let basal = 6.0 * self.delta6;
        let g = add(
            add(scale(frame.a, basal * re5), scale(frame.b, -basal * im5)),
            scale(frame.c, 2.0 * self.delta_c * nc),
        );
        scale(g, self.eps0)
    }

    /// ∂f/∂p of f = ½ ε(n̂)² |p|², n̂ = p/|p|: ε² p + ε |p| (I − n̂ n̂ᵀ) ∇_n ε. Below `p_min` in
    /// length the anisotropic part is left out (the orientation is undefined there): ε0² p.
    pub fn flux(&self, frame: &CrystalFrame, p: Vec3, p_min: f64) -> Vec3 {
        let norm = dot(p, p).sqrt();
        if norm <= p_min {
            return scale(p, self.eps0 * self.eps0);
        }
        let n = scale(p, 1.0 / norm);
        let eps = self.epsilon(frame, n);
        let g = self.epsilon_gradient(frame, n);
        let tangential = add(g, scale(n, -dot(n, g)));
        add(scale(p, eps * eps), scale(tangential, eps * norm))
    }

    /// a_k(n̂) = max(a_min, 1 − ε_k2 (2 n_c² − 1) + ε_k6 Re((n_a + i n_b)⁶)).
    pub fn kinetic_factor(&self, frame: &CrystalFrame, n: Vec3) -> f64 {
        let [na, nb, nc] = frame.components(n);
        let (_, _, six) = fifth_and_sixth(na, nb);
        let a = 1.0 - self.kinetic_2fold * (2.0 * nc * nc - 1.0) + self.kinetic_6fold * six;
        a.max(f64::from(KINETIC_FACTOR_MIN))
    }

    /// The least surface stiffness (γ + ∂²γ/∂ϑ² along a great circle, γ ∝ ε, per ε0) over
    /// `normals` Fibonacci-sphere normals and 12 tangent directions at each, with the normal
    /// and tangent where it is least. Negative: the surface energy is not convex there (the
    /// front would facet with missing orientations, which the model cannot represent).
    pub fn least_stiffness(&self, frame: &CrystalFrame, normals: usize) -> Stiffness {
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let h = 1.0e-3;
        let mut worst = Stiffness {
            value: f64::INFINITY,
            normal: [1.0, 0.0, 0.0],
            tangent: [0.0, 1.0, 0.0],
        };
        for m in 0..normals {
            let x = 1.0 - 2.0 * (m as f64 + 0.5) / normals as f64;
            let r = (1.0 - x * x).sqrt();
            let phi = golden * m as f64;
            let n = [x, r * phi.cos(), r * phi.sin()];
            // An orthonormal pair spanning the tangent plane at n.
            let helper = if x.abs() < 0.9 {
                [1.0, 0.0, 0.0]
            } else {
                [0.0, 1.0, 0.0]
            };
            let t1 = normalised(add(helper, scale(n, -dot(helper, n))));
            let t2 = cross(n, t1);
            for q in 0..12 {
                let angle = std::f64::consts::PI * q as f64 / 12.0;
                let t = add(scale(t1, angle.cos()), scale(t2, angle.sin()));
                let along = |s: f64| add(scale(n, s.cos()), scale(t, s.sin()));
                let g = |s: f64| self.epsilon(frame, along(s)) / self.eps0;
                let curvature = (g(h) - 2.0 * g(0.0) + g(-h)) / (h * h);
                let value = g(0.0) + curvature;
                if value < worst.value {
                    worst = Stiffness {
                        value,
                        normal: n,
                        tangent: t,
                    };
                }
            }
        }
        worst
    }
}

/// The least surface stiffness found and where ([`HcpAnisotropy::least_stiffness`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stiffness {
    /// (γ + γ'')/γ0 there.
    pub value: f64,
    pub normal: Vec3,
    pub tangent: Vec3,
}

/// The hcp form as the 3D kernels evaluate it (f32, per cell): [`HcpAnisotropy`] in a
/// [`CrystalFrame`], with |∇ξ|² below `grad_sq_min` isotropic (no orientation there).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HcpConstants {
    pub eps0: Real,
    pub delta6: Real,
    pub delta_c: Real,
    pub kinetic_2fold: Real,
    pub kinetic_6fold: Real,
    /// â, b̂, ĉ in the lab frame.
    pub a: [Real; 3],
    pub b: [Real; 3],
    pub c: [Real; 3],
    pub grad_sq_min: Real,
}

impl HcpConstants {
    pub fn new(aniso: &HcpAnisotropy, frame: &CrystalFrame, grad_sq_min: f64) -> HcpConstants {
        let v = |u: Vec3| u.map(|x| x as Real);
        HcpConstants {
            eps0: aniso.eps0 as Real,
            delta6: aniso.delta6 as Real,
            delta_c: aniso.delta_c as Real,
            kinetic_2fold: aniso.kinetic_2fold as Real,
            kinetic_6fold: aniso.kinetic_6fold as Real,
            a: v(frame.a),
            b: v(frame.b),
            c: v(frame.c),
            grad_sq_min: grad_sq_min as Real,
        }
    }
}

impl SurfaceEnergy for HcpConstants {
    /// ε², the flux ε |g| (I − n̂n̂ᵀ) ∇_n ε, a_k and |g| ([`HcpAnisotropy::flux`] and
    /// [`HcpAnisotropy::kinetic_factor`] in f32). Branch-free: the isotropic outcome is selected,
    /// not branched to, so loops over cells vectorise.
    #[inline(always)]
    fn orientation(&self, g: [Real; 3]) -> Orientation {
        let dot = |u: [Real; 3], v: [Real; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
        let g2 = dot(g, g);
        let norm = g2.sqrt();
        let isotropic = g2 <= self.grad_sq_min;
        let inv = 1.0 / if isotropic { 1.0 } else { norm };
        let n = if isotropic {
            [1.0, 0.0, 0.0]
        } else {
            [g[0] * inv, g[1] * inv, g[2] * inv]
        };
        let (na, nb, nc) = (dot(n, self.a), dot(n, self.b), dot(n, self.c));
        // (n_a + i n_b)^5 from its square: z² = (p, q), z⁴ = (p² − q², 2pq), z⁵ = z⁴ z.
        let (p, q) = (na * na - nb * nb, 2.0 * na * nb);
        let (p4, q4) = (p * p - q * q, 2.0 * p * q);
        let (re5, im5) = (p4 * na - q4 * nb, p4 * nb + q4 * na);
        let re6 = re5 * na - im5 * nb;
        let eps = self.eps0 * (1.0 + self.delta6 * re6 + self.delta_c * nc * nc);
        let (sa, sb, sc) = (
            6.0 * self.delta6 * re5,
            -6.0 * self.delta6 * im5,
            2.0 * self.delta_c * nc,
        );
        let grad: [Real; 3] =
            std::array::from_fn(|d| self.eps0 * (sa * self.a[d] + sb * self.b[d] + sc * self.c[d]));
        let along = dot(n, grad);
        let scale = eps * norm;
        let flux: [Real; 3] = std::array::from_fn(|d| scale * (grad[d] - along * n[d]));
        let a_k = (1.0 - self.kinetic_2fold * (2.0 * nc * nc - 1.0) + self.kinetic_6fold * re6)
            .max(KINETIC_FACTOR_MIN);
        if isotropic {
            Orientation {
                eps_sq: self.eps0 * self.eps0,
                flux: [0.0; 3],
                kinetic_factor: 1.0,
                grad_norm: norm,
            }
        } else {
            Orientation {
                eps_sq: eps * eps,
                flux,
                kinetic_factor: a_k,
                grad_norm: norm,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hcp(delta6: f64, delta_c: f64) -> HcpAnisotropy {
        HcpAnisotropy {
            eps0: 1.3,
            delta6,
            delta_c,
            kinetic_2fold: 0.6,
            kinetic_6fold: 0.1,
        }
    }

    #[test]
    fn the_frame_is_orthonormal_and_right_handed() {
        for (t, p, r) in [
            (0.0, 0.0, 0.0),
            (90.0, 0.0, 15.0),
            (37.0, 120.0, -40.0),
            (90.0, 90.0, 0.0),
        ] {
            let f = CrystalFrame::from_angles(t, p, r);
            let err = [
                dot(f.a, f.a) - 1.0,
                dot(f.b, f.b) - 1.0,
                dot(f.c, f.c) - 1.0,
                dot(f.a, f.b),
                dot(f.b, f.c),
                dot(f.a, f.c),
            ]
            .iter()
            .fold(0.0f64, |m, e| m.max(e.abs()));
            let handed = cross(f.a, f.b);
            println!("polar {t}, azimuth {p}, rotation {r}: largest error {err:e}, â×b̂ = {handed:?}, ĉ = {:?}", f.c);
            assert!(err < 1e-14);
            assert!((0..3).all(|d| (handed[d] - f.c[d]).abs() < 1e-14));
        }
    }

    /// With ĉ normal to the x–y plane, a normal in the plane at angle θ from x sees the 2D
    /// six-fold form ε0 (1 + δ6 cos 6θ), â along x.
    #[test]
    fn a_basal_section_is_the_2d_six_fold_form() {
        let frame = CrystalFrame::from_c_axis([0.0, 0.0, 1.0], -90.0);
        let aniso = hcp(0.02, -0.02);
        println!("â = {:?}", frame.a);
        let mut worst = 0.0f64;
        for k in 0..72 {
            let t = k as f64 * 5f64.to_radians();
            let got = aniso.epsilon(&frame, [t.cos(), t.sin(), 0.0]);
            let want = 1.3 * (1.0 + 0.02 * (6.0 * t).cos());
            worst = worst.max((got - want).abs());
        }
        println!("largest |ε − ε0 (1 + δ6 cos 6θ)| over 72 angles: {worst:e} (expect < 1e-14)");
        assert!(worst < 1e-14);
    }

    /// ∂f/∂p is the gradient of f = ½ ε(p/|p|)² |p|²: against central differences of f at
    /// random p and frames, relative error below 1e-7.
    #[test]
    fn the_flux_is_the_gradient_of_the_gradient_energy() {
        let aniso = hcp(0.025, -0.1);
        let f = |frame: &CrystalFrame, p: Vec3| {
            let norm = dot(p, p).sqrt();
            0.5 * aniso.epsilon(frame, scale(p, 1.0 / norm)).powi(2) * norm * norm
        };
        let mut worst = 0.0f64;
        for m in 0..40 {
            let s = m as f64;
            let frame = CrystalFrame::from_angles(17.0 * s, 43.0 * s, 11.0 * s);
            let p = [(1.3 * s).sin() + 0.2, (0.7 * s).cos(), (2.1 * s).sin()];
            let flux = aniso.flux(&frame, p, 1e-12);
            let h = 1e-6;
            for d in 0..3 {
                let (mut up, mut down) = (p, p);
                up[d] += h;
                down[d] -= h;
                let numeric = (f(&frame, up) - f(&frame, down)) / (2.0 * h);
                worst = worst.max((flux[d] - numeric).abs() / dot(flux, flux).sqrt());
            }
        }
        println!(
            "largest relative difference from the numerical gradient: {worst:e} (allowed 1e-7)"
        );
        assert!(worst < 1e-7);
    }

    /// ĉ along x (in the plane of a 2D section): a_k = 1 − ε_k2 cos 2θ + ε_k6 cos 6θ' with the
    /// basal azimuth measured in the plane: along ĉ 1 − ε_k2, across it 1 + ε_k2 + ε_k6.
    #[test]
    fn the_kinetic_factor_is_slow_along_c_and_fast_across() {
        let frame = CrystalFrame::from_c_axis([1.0, 0.0, 0.0], 0.0);
        let aniso = hcp(0.0, 0.0);
        let along = aniso.kinetic_factor(&frame, [1.0, 0.0, 0.0]);
        let across = aniso.kinetic_factor(&frame, frame.a);
        println!("a_k along ĉ {along} (expect 0.4), along â {across} (expect 1.7)");
        assert!((along - 0.4).abs() < 1e-12 && (across - 1.7).abs() < 1e-12);
    }

    /// The stiffness bounds of each term alone, where they are known analytically: the six-fold
    /// term γ + γ'' = 1 + δ6 (1 − 36) cos 6θ needs δ6 < 1/35; δ_c n_c² along a great circle gives
    /// 1 + δ_c (2 t_c² − n_c²), so δ_c ∈ (−1/2, 1).
    #[test]
    fn the_least_stiffness_finds_the_convexity_bounds() {
        let frame = CrystalFrame::from_angles(30.0, 40.0, 10.0);
        for (delta6, delta_c, convex, want) in [
            (0.02, 0.0, true, 1.0 - 35.0 * 0.02),
            (0.04, 0.0, false, 1.0 - 35.0 * 0.04),
            (0.0, -0.4, true, 1.0 - 0.8),
            (0.0, -0.6, false, 1.0 - 1.2),
            (0.0, 0.9, true, 1.0 - 0.9),
            (0.02, -0.02, true, f64::NAN),
        ] {
            let s = hcp(delta6, delta_c).least_stiffness(&frame, 20_000);
            println!(
                "δ6 = {delta6}, δ_c = {delta_c}: least stiffness {:.4} (analytic {want:.4}) at n̂ = {:?}",
                s.value, s.normal
            );
            assert_eq!(s.value > 0.0, convex);
            // A sampled minimum lies above the true one, by the sampling's resolution.
            if want.is_finite() {
                assert!(s.value >= want - 1e-4 && s.value <= want + 0.05 * want.abs().max(0.1));
            }
        }
    }

    /// The f32 kernel form against the f64 model functions: ε², the anisotropic part of the
    /// flux and a_k at random gradients and frames, within f32 rounding (relative 1e-5).
    #[test]
    fn the_kernel_form_matches_the_model_functions() {
        let aniso = hcp(0.025, -0.1);
        let mut worst = 0.0f64;
        for m in 0..200 {
            let s = m as f64;
            let frame = CrystalFrame::from_angles(17.0 * s, 43.0 * s, 11.0 * s);
            let k = HcpConstants::new(&aniso, &frame, 1e-12);
            let p = [(1.3 * s).sin() + 0.2, (0.7 * s).cos(), (2.1 * s).sin()];
            let got = k.orientation(p.map(|x| x as Real));
            let norm = dot(p, p).sqrt();
            let n = scale(p, 1.0 / norm);
            let eps = aniso.epsilon(&frame, n);
            let full = aniso.flux(&frame, p, 1e-12);
            let anisotropic = add(full, scale(p, -eps * eps));
            let scale_flux = dot(full, full).sqrt();
            let errors = [
                (f64::from(got.eps_sq) - eps * eps).abs() / (eps * eps),
                (0..3)
                    .map(|d| (f64::from(got.flux[d]) - anisotropic[d]).abs() / scale_flux)
                    .fold(0.0, f64::max),
                (f64::from(got.kinetic_factor) - aniso.kinetic_factor(&frame, n)).abs(),
                (f64::from(got.grad_norm) - norm).abs() / norm,
            ];
            worst = errors.iter().copied().fold(worst, f64::max);
        }
        println!("largest relative difference f32 kernel / f64 model: {worst:e} (allowed 1e-5)");
        assert!(worst < 1e-5);
        let flat = HcpConstants::new(&aniso, &CrystalFrame::from_angles(0.0, 0.0, 0.0), 1e-6)
            .orientation([1e-4, 0.0, 0.0]);
        println!("below the gradient threshold: {flat:?}");
        assert_eq!(flat.flux, [0.0; 3]);
        assert_eq!(flat.kinetic_factor, 1.0);
        assert_eq!(flat.eps_sq, 1.3f32 * 1.3f32);
    }
}
