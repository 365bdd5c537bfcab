//! The orthographic oblique camera (see the parent module).

use super::*;

/// An orthographic oblique camera fitted to the domain box (see the module doc for the axes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub(super) azimuth_deg: f64,
    pub(super) elevation_deg: f64,
    pub(super) width_px: u32,
    pub(super) height_px: u32,
    /// Pixels per µm.
    pub(super) scale: f64,
    pub(super) right: [f64; 3],
    pub(super) up: [f64; 3],
    /// Unit vector from the scene towards the viewer.
    pub(super) toward: [f64; 3],
    /// Screen coordinates (µm along `right`, `up`) of the panel centre.
    pub(super) centre: (f64, f64),
}

impl Camera {
    pub const DEFAULT_AZIMUTH_DEG: f64 = 35.0;
    pub const DEFAULT_ELEVATION_DEG: f64 = 30.0;

    /// The default view (azimuth 35°, elevation 30°) of the box of `nx × ny × nz` cells of
    /// `dx_um`, fitted into a `width_px × height_px` panel.
    pub fn fit(
        nx: usize,
        ny: usize,
        nz: usize,
        dx_um: f64,
        width_px: u32,
        height_px: u32,
    ) -> Camera {
        Camera::fit_box(
            box_size_um(nx, ny, nz, dx_um),
            width_px,
            height_px,
            Self::DEFAULT_AZIMUTH_DEG,
            Self::DEFAULT_ELEVATION_DEG,
        )
    }

    /// A view of the box [0, X] × [0, Y] × [0, Z] (`box_um`, µm) and the collector slab under it
    /// from `azimuth_deg` and `elevation_deg` (non-finite: the defaults), scaled to fill the panel
    /// (at least 1 × 1 px) less a margin of 5 % of its smaller side (at least 4 px), centred.
    pub fn fit_box(
        box_um: [f64; 3],
        width_px: u32,
        height_px: u32,
        azimuth_deg: f64,
        elevation_deg: f64,
    ) -> Camera {
        let azimuth_deg = if azimuth_deg.is_finite() {
            azimuth_deg
        } else {
            Self::DEFAULT_AZIMUTH_DEG
        };
        let elevation_deg = if elevation_deg.is_finite() {
            elevation_deg.clamp(-90.0, 90.0)
        } else {
            Self::DEFAULT_ELEVATION_DEG
        };
        let (width_px, height_px) = (width_px.max(1), height_px.max(1));
        let (phi, theta) = (azimuth_deg.to_radians(), elevation_deg.to_radians());
        let (sp, cp, st, ct) = (phi.sin(), phi.cos(), theta.sin(), theta.cos());
        let right = [0.0, -sp, cp];
        let up = [ct, -st * cp, -st * sp];
        let toward = [st, ct * cp, ct * sp];
        let b = box_um.map(|v| if v.is_finite() && v > 0.0 { v } else { 1.0 });
        let slab = slab_thickness(b);
        let (mut r0, mut r1, mut u0, mut u1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for c in 0..8 {
            let p = [
                if c & 1 == 1 { b[0] } else { -slab },
                if c & 2 == 2 { b[1] } else { 0.0 },
                if c & 4 == 4 { b[2] } else { 0.0 },
            ];
            let (r, u) = (dot(p, right), dot(p, up));
            (r0, r1, u0, u1) = (r0.min(r), r1.max(r), u0.min(u), u1.max(u));
        }
        let (w, h) = (f64::from(width_px), f64::from(height_px));
        let mut margin = (0.05 * w.min(h)).max(4.0);
        if 2.0 * margin >= w.min(h) {
            margin = 0.0;
        }
        let scale = ((w - 2.0 * margin) / (r1 - r0).max(1e-12))
            .min((h - 2.0 * margin) / (u1 - u0).max(1e-12))
            .max(1e-12);
        Camera {
            azimuth_deg,
            elevation_deg,
            width_px,
            height_px,
            scale,
            right,
            up,
            toward,
            centre: (0.5 * (r0 + r1), 0.5 * (u0 + u1)),
        }
    }

    /// Pixel (x right, y down; pixel (c, r) covers [c, c + 1) × [r, r + 1)) and depth (µm, larger
    /// is farther from the viewer) of the point `p_um` = `[x, y, z]` µm.
    pub fn project(&self, p_um: [f64; 3]) -> (f64, f64, f64) {
        (
            0.5 * f64::from(self.width_px) + self.scale * (dot(p_um, self.right) - self.centre.0),
            0.5 * f64::from(self.height_px) - self.scale * (dot(p_um, self.up) - self.centre.1),
            -dot(p_um, self.toward),
        )
    }

    pub fn azimuth_deg(&self) -> f64 {
        self.azimuth_deg
    }

    pub fn elevation_deg(&self) -> f64 {
        self.elevation_deg
    }

    pub fn width_px(&self) -> u32 {
        self.width_px
    }

    pub fn height_px(&self) -> u32 {
        self.height_px
    }

    /// Pixels per µm (the same along every direction in the view plane).
    pub fn scale_px_per_um(&self) -> f64 {
        self.scale
    }

    /// Unit vector from the scene towards the viewer.
    pub fn toward_viewer(&self) -> [f64; 3] {
        self.toward
    }

    /// Unit vector along which the picture's x grows.
    pub fn screen_right(&self) -> [f64; 3] {
        self.right
    }

    /// Unit vector that points up in the picture (its x component is cos θ ≥ 0).
    pub fn screen_up(&self) -> [f64; 3] {
        self.up
    }
}

/// [nx Δx, ny Δx, nz Δx] with Δx sanitised (non-positive or non-finite: 1).
pub(super) fn box_size_um(nx: usize, ny: usize, nz: usize, dx_um: f64) -> [f64; 3] {
    let dx = sanitise_dx(dx_um);
    [nx as f64 * dx, ny as f64 * dx, nz as f64 * dx]
}

pub(super) fn sanitise_dx(dx_um: f64) -> f64 {
    if dx_um.is_finite() && dx_um > 0.0 {
        dx_um
    } else {
        1.0
    }
}

pub(super) fn slab_thickness(box_um: [f64; 3]) -> f64 {
    SLAB_FRACTION * box_um.iter().fold(0.0f64, |m, &v| m.max(v))
}

pub(super) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
