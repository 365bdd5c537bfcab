//! A shaded 3D view of the deposit: the ξ = ½ isosurface of a 3D run, drawn by a small software
//! rasteriser in an orthographic oblique view of the domain box.
//!
//! # Conventions
//!
//! Fields have shape `(nx, ny, nz)`, indexed `[i, j, k]`: `i` along x, the growth axis (x = 0 is
//! the current collector, the metal grows towards +x), `j` along y and `k` along z, the lateral
//! axes. Cell (i, j, k) is centred at ((i + ½)Δx, (j + ½)Δx, (k + ½)Δx) µm, the domain box is
//! [0, nxΔx] × [0, nyΔx] × [0, nzΔx]. Every 3D point here is `[x, y, z]` in µm in that order.
//!
//! # Isosurface
//!
//! [`isosurface`] runs naive surface nets (`fast-surface-nets` 0.2): one vertex per cube of eight
//! neighbouring cell centres that the level crosses, at the mean of the crossings on the cube's
//! edges, each crossing interpolated linearly between the two cell centres. A flat front therefore
//! lands at its height to sub-cell accuracy (the linear interpolation of the tanh profile is the
//! only error). The crate wants a signed distance (negative inside) on a padded array; the module
//! hands it `level − ξ` (so the metal, ξ > level, is inside) with a one-cell border that repeats
//! the outermost cells. With that border the surface reaches the box faces exactly (the vertex of
//! a border cube sits midway, on the face), and the sheet is left open there: the lateral
//! periodicity is not stitched, the view shows the box. Only the band of x planes that the level
//! crosses is meshed, in lateral slabs over rayon (overlapping by two planes, the crate's
//! chunking rule: no face is lost or doubled). Cubes with a NaN corner are dropped (a hole, no
//! panic). Normals are n = −∇ξ/|∇ξ| from central differences at the cell centres, trilinearly
//! interpolated to the vertex: they point into the electrolyte (+x on a flat front).
//!
//! # Camera
//!
//! [`Camera`] is orthographic: it looks at the box from the direction
//! c = (sin θ, cos θ cos φ, cos θ sin φ), azimuth φ about the growth axis (from +y towards +z),
//! elevation θ above the lateral plane (defaults 35° and 30°). On screen, right is
//! r = (0, −sin φ, cos φ) and up is u = (cos θ, −sin θ cos φ, −sin θ sin φ): +x (growth) always
//! points up, and at the default azimuth +z goes right and +y left. [`Camera::fit`] scales the box
//! (with the collector slab under it) to fill the panel less a margin, centred.
//! [`Camera::project`] gives the pixel (x right, y down, pixel centres at half-integers) and the
//! depth in µm (larger is farther).
//!
//! # Colours
//!
//! The surface colour is viridis of the height x of the surface point over
//! [`SurfaceView::height_range_um`] (one scale for every frame of a run), or of a per-cell field
//! sampled trilinearly at the vertex ([`SurfaceColour::Field`]). Over it, the interphase layer in
//! amber ([`INTERPHASE_RGB`](super::INTERPHASE_RGB), alpha 0.35 × presence: the height colour
//! still reads) and blocked patches in red-brown ([`BLOCKED_RGB`](super::BLOCKED_RGB), alpha
//! 0.8 × value: they stand out). The layer sits on the electrolyte side of the surface, so its
//! presence is the larger of the trilinear samples at the vertex and one cell out along the
//! normal; `blocked` is sampled at the vertex. NaN overlays count as 0; a NaN colour field shows
//! magenta, as in the 2D frames. Each pixel interpolates colour and normal barycentrically and is
//! lit by one directional light fixed to the camera (from the upper left, behind the viewer)
//! plus ambient (Lambert, a touch of Blinn specular); a surface seen from its metal side is lit
//! as if facing the viewer. Background white; the collector is a brown slab under x = 0; the
//! metal's cross-section on the lateral box faces turned to the camera is grey, so a film reads as
//! a slab; the 12 box edges are dark, the three meeting at the farthest corner dashed light, and
//! parts hidden behind the deposit are not drawn. [`RenderStyle`] turns those extras off.

use ndarray::ArrayView3;

use crate::grid::Real;

/// The level of ξ drawn as the deposit surface.
pub const SURFACE_LEVEL: Real = 0.5;
/// Opacity of the interphase overlay at full presence.
pub const INTERPHASE_ALPHA: f32 = 0.35;
/// Opacity of the blocked-patch overlay at value 1.
pub const BLOCKED_ALPHA: f32 = 0.8;
/// The collector slab.
pub const COLLECTOR_SLAB_RGB: [u8; 3] = [120, 70, 30];

const BACKGROUND_RGB: [u8; 3] = [255, 255, 255];
const EDGE_RGB: [u8; 3] = [55, 55, 66];
const BACK_EDGE_RGB: [u8; 3] = [165, 165, 178];
/// Collector slab thickness as a fraction of the largest box extent.
const SLAB_FRACTION: f64 = 0.03;
const AMBIENT: f32 = 0.38;
const DIFFUSE: f32 = 0.62;
const SPECULAR: f32 = 0.12;
const SHININESS: i32 = 24;
/// Dash length of the back edges (px).
const DASH_PX: f64 = 4.0;

/// What colours the surface.
#[derive(Debug, Clone)]
pub enum SurfaceColour<'a> {
    /// Viridis of the height x (µm) over [`SurfaceView::height_range_um`].
    Height,
    /// Viridis of a per-cell scalar (e.g. the plating rate), shape `(nx, ny, nz)`, sampled
    /// trilinearly at each vertex and multiplied by `factor` (a unit conversion), over `range`
    /// (lo, hi) in the converted unit.
    Field {
        values: ArrayView3<'a, Real>,
        factor: f64,
        range: (f64, f64),
    },
}

/// Everything the 3D view shows. All fields have the order parameter's shape `(nx, ny, nz)` (a
/// field of another shape is sampled with clamped indices: no panic, but wrong).
#[derive(Debug, Clone)]
pub struct SurfaceView<'a> {
    /// ξ: 1 = Mg metal, 0 = electrolyte; the surface is ξ = ½.
    pub order_parameter: ArrayView3<'a, Real>,
    /// 0..1: the interphase layer's presence (amber, alpha 0.35 × value).
    pub interphase: ArrayView3<'a, Real>,
    /// 0..1 blocked (insulating) patches (red-brown, alpha 0.8 × value).
    pub blocked: Option<ArrayView3<'a, Real>>,
    /// Cell size in µm (a non-positive or non-finite value is taken as 1).
    pub dx_um: f64,
    pub colour: SurfaceColour<'a>,
    /// (lo, hi) heights (µm) mapped to the ends of viridis by [`SurfaceColour::Height`]; keep it
    /// fixed over a run so the colours compare between frames.
    pub height_range_um: (f64, f64),
}

/// The extras drawn besides the surface; all on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderStyle {
    /// The 12 box edges (dark; the three at the farthest corner dashed light; parts hidden behind
    /// the deposit not drawn).
    pub box_edges: bool,
    /// The collector: a brown slab under x = 0.
    pub collector: bool,
    /// The metal's cross-section on the lateral box faces turned to the camera (grey).
    pub cut_faces: bool,
}

impl Default for RenderStyle {
    fn default() -> Self {
        RenderStyle {
            box_edges: true,
            collector: true,
            cut_faces: true,
        }
    }
}

mod camera;
mod isosurface;
mod raster;

pub use camera::Camera;
pub use isosurface::{isosurface, Mesh};
pub use raster::{render_surface, render_surface_with};

#[cfg(test)]
mod tests {
    use super::camera::*;
    use super::isosurface::*;
    use super::raster::*;
    use super::*;
    use crate::output::frames::viridis;
    use ndarray::Array3;
    use std::f64::consts::SQRT_2;

    const DX: f64 = 0.5;
    /// Interface width parameter δ (µm): 2Δx.
    const DELTA: f64 = 1.0;

    fn profile(d_um: f64, delta: f64) -> f32 {
        (0.5 * (1.0 - (d_um / (SQRT_2 * delta)).tanh())) as f32
    }

    fn centre_um(i: usize) -> f64 {
        (i as f64 + 0.5) * DX
    }

    fn flat_front(nx: usize, ny: usize, nz: usize, h: f64) -> Array3<f32> {
        Array3::from_shape_fn((nx, ny, nz), |(i, _, _)| profile(centre_um(i) - h, DELTA))
    }

    const R: f64 = 6.0;
    const FILM: f64 = 1.0;

    /// A hemisphere of radius R centred on the collector in the middle of a 24 × 40 × 40 box, on
    /// a film of thickness FILM.
    fn hemisphere() -> (Array3<f32>, [f64; 3]) {
        let (nx, ny, nz) = (24, 40, 40);
        let c = [0.0, ny as f64 * DX / 2.0, nz as f64 * DX / 2.0];
        let xi = Array3::from_shape_fn((nx, ny, nz), |(i, j, k)| {
            let p = [centre_um(i), centre_um(j), centre_um(k)];
            let r = ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2)).sqrt();
            profile(r - R, DELTA).max(profile(p[0] - FILM, DELTA))
        });
        (xi, c)
    }

    fn view<'a>(
        xi: &'a Array3<f32>,
        interphase: &'a Array3<f32>,
        blocked: Option<&'a Array3<f32>>,
        height_range_um: (f64, f64),
    ) -> SurfaceView<'a> {
        SurfaceView {
            order_parameter: xi.view(),
            interphase: interphase.view(),
            blocked: blocked.map(|b| b.view()),
            dx_um: DX,
            colour: SurfaceColour::Height,
            height_range_um,
        }
    }

    const SURFACE_ONLY: RenderStyle = RenderStyle {
        box_edges: false,
        collector: false,
        cut_faces: false,
    };

    fn px(frame: &Frame, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * frame.w + x);
        [frame.rgb[i], frame.rgb[i + 1], frame.rgb[i + 2]]
    }

    fn pixel_of(p: (f64, f64, f64)) -> (usize, usize) {
        (p.0.floor() as usize, p.1.floor() as usize)
    }

    fn triangle_area(m: &Mesh, t: [u32; 3]) -> f64 {
        let p = t.map(|v| m.positions[v as usize].map(f64::from));
        let a: [f64; 3] = std::array::from_fn(|k| p[1][k] - p[0][k]);
        let b: [f64; 3] = std::array::from_fn(|k| p[2][k] - p[0][k]);
        let c = [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ];
        0.5 * dot(c, c).sqrt()
    }

    #[test]
    fn flat_front_isosurface_at_its_height_normals_up() {
        let (nx, ny, nz, h) = (24, 10, 12, 5.3);
        let xi = flat_front(nx, ny, nz, h);
        let mesh = isosurface(xi.view(), 0.5, DX);
        assert!(!mesh.is_empty());
        assert_eq!(mesh.positions.len(), mesh.normals.len());
        let (y_max, z_max) = (ny as f64 * DX, nz as f64 * DX);
        let (mut y_lo, mut y_hi, mut z_lo, mut z_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (p, n) in mesh.positions.iter().zip(&mesh.normals) {
            let p = p.map(f64::from);
            assert!((p[0] - h).abs() < 0.05, "vertex x {} vs front {h}", p[0]);
            assert!(
                (-1e-9..=y_max + 1e-9).contains(&p[1]) && (-1e-9..=z_max + 1e-9).contains(&p[2])
            );
            (y_lo, y_hi, z_lo, z_hi) = (
                y_lo.min(p[1]),
                y_hi.max(p[1]),
                z_lo.min(p[2]),
                z_hi.max(p[2]),
            );
            // Into the electrolyte: +x, the growth direction.
            assert!(n[0] > 0.999, "normal {n:?}");
        }
        // The sheet reaches the box faces, and covers the whole cross-section once.
        assert!(y_lo < 1e-6 && z_lo < 1e-6 && y_hi > y_max - 1e-6 && z_hi > z_max - 1e-6);
        let area: f64 = mesh
            .triangles
            .iter()
            .map(|&t| triangle_area(&mesh, t))
            .sum();
        assert!((area / (y_max * z_max) - 1.0).abs() < 1e-3, "area {area}");
        // Another level moves the sheet where the tanh profile says.
        let lower = isosurface(xi.view(), 0.2, DX);
        let expected = h + SQRT_2 * DELTA * (0.6f64).atanh();
        for p in &lower.positions {
            assert!((f64::from(p[0]) - expected).abs() < 0.05);
        }
    }

    #[test]
    fn hemisphere_isosurface_on_the_sphere() {
        let (xi, c) = hemisphere();
        let mesh = isosurface(xi.view(), 0.5, DX);
        let mut on_sphere = 0;
        let mut top = f64::MIN;
        for (p, n) in mesh.positions.iter().zip(&mesh.normals) {
            let p = p.map(f64::from);
            let d: [f64; 3] = std::array::from_fn(|k| p[k] - c[k]);
            let r = dot(d, d).sqrt();
            top = top.max(p[0]);
            if p[0] > FILM + 2.5 {
                on_sphere += 1;
                assert!((r - R).abs() < 0.1, "vertex {p:?} at r = {r}");
                let radial = d.map(|v| v / r);
                let cos = dot(radial, n.map(f64::from));
                assert!(cos > 0.99, "normal {n:?} vs radial {radial:?}");
            } else if r > R + 3.0 {
                // The film, away from the hemisphere.
                assert!((p[0] - FILM).abs() < 0.05, "film vertex {p:?}");
                assert!(n[0] > 0.999);
            }
        }
        assert!(on_sphere > 300, "{on_sphere} vertices on the hemisphere");
        assert!((top - R).abs() < 0.1, "apex at {top}");
    }

    #[test]
    fn camera_axes_fit_and_projection() {
        let (nx, ny, nz) = (24, 32, 40);
        let box_um = [nx as f64 * DX, ny as f64 * DX, nz as f64 * DX];
        let cam = Camera::fit(nx, ny, nz, DX, 400, 300);
        let (w, h) = (400.0, 300.0);
        let margin = 0.05 * 300.0;
        // The box with the collector slab under it: inside the panel less the margin, centred,
        // and tight on one axis.
        let t = slab_thickness(box_um);
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for c in 0..8 {
            let p = [
                if c & 1 == 1 { box_um[0] } else { -t },
                if c & 2 == 2 { box_um[1] } else { 0.0 },
                if c & 4 == 4 { box_um[2] } else { 0.0 },
            ];
            let (x, y, _) = cam.project(p);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        assert!(x0 >= margin - 1e-6 && x1 <= w - margin + 1e-6, "{x0} {x1}");
        assert!(y0 >= margin - 1e-6 && y1 <= h - margin + 1e-6, "{y0} {y1}");
        assert!((x0 + x1 - w).abs() < 1e-6 && (y0 + y1 - h).abs() < 1e-6);
        let tight_w = (x1 - x0 - (w - 2.0 * margin)).abs() < 1e-6;
        let tight_h = (y1 - y0 - (h - 2.0 * margin)).abs() < 1e-6;
        assert!(tight_w || tight_h);
        let s = cam.scale_px_per_um();
        let (el, az) = (30f64.to_radians(), 35f64.to_radians());
        // Up on screen is +x: 1 µm of growth moves a point s·cos θ px up, not sideways.
        let a = cam.project([1.0, 3.0, 4.0]);
        let b = cam.project([2.0, 3.0, 4.0]);
        assert!((a.1 - b.1 - s * el.cos()).abs() < 1e-9 && (a.0 - b.0).abs() < 1e-9);
        // The camera sits above the +y+z quadrant: +z goes right and a little down (towards the
        // viewer, nearer), +y left and a little down (nearer).
        let z = cam.project([1.0, 3.0, 5.0]);
        assert!((z.0 - a.0 - s * az.cos()).abs() < 1e-9);
        assert!((z.1 - a.1 - s * el.sin() * az.sin()).abs() < 1e-9);
        assert!((a.2 - z.2 - el.cos() * az.sin()).abs() < 1e-9);
        let y = cam.project([1.0, 4.0, 4.0]);
        assert!((a.0 - y.0 - s * az.sin()).abs() < 1e-9);
        assert!((y.1 - a.1 - s * el.sin() * az.cos()).abs() < 1e-9);
        assert!((a.2 - y.2 - el.cos() * az.cos()).abs() < 1e-9);
        // Seen from above the +y+z corner: the back corner is farther and higher on screen.
        let back = cam.project([box_um[0], 0.0, 0.0]);
        let front = cam.project([box_um[0], box_um[1], box_um[2]]);
        assert!(back.2 > front.2 && back.1 < front.1);
        // Orthographic: moving along the view direction changes only the depth.
        let t = cam.toward_viewer();
        let m = cam.project([1.0 + 2.0 * t[0], 3.0 + 2.0 * t[1], 4.0 + 2.0 * t[2]]);
        assert!(
            (m.0 - a.0).abs() < 1e-9 && (m.1 - a.1).abs() < 1e-9 && (a.2 - m.2 - 2.0).abs() < 1e-9
        );
        // Straight down (elevation 90°): the height no longer moves the pixel.
        let top = Camera::fit_box(box_um, 400, 300, 0.0, 90.0);
        let (p, q) = (top.project([0.0, 3.0, 4.0]), top.project([9.0, 3.0, 4.0]));
        assert!((p.0 - q.0).abs() < 1e-9 && (p.1 - q.1).abs() < 1e-6 && q.2 < p.2);
    }

    /// The first and last rows in column `x` that are not background.
    fn column_extent(frame: &Frame, x: usize) -> Option<(usize, usize)> {
        let rows: Vec<usize> = (0..frame.h)
            .filter(|&y| px(frame, x, y) != BACKGROUND_RGB)
            .collect();
        Some((*rows.first()?, *rows.last()?))
    }

    fn row_extent(frame: &Frame, y: usize) -> Option<(usize, usize)> {
        let cols: Vec<usize> = (0..frame.w)
            .filter(|&x| px(frame, x, y) != BACKGROUND_RGB)
            .collect();
        Some((*cols.first()?, *cols.last()?))
    }

    #[test]
    fn flat_front_silhouette_where_the_camera_puts_it() {
        let (nx, ny, nz, h) = (24, 32, 40, 5.3);
        let (y_max, z_max) = (ny as f64 * DX, nz as f64 * DX);
        let xi = flat_front(nx, ny, nz, h);
        let ip = Array3::zeros((nx, ny, nz));
        let v = view(&xi, &ip, None, (0.0, nx as f64 * DX));
        let cam = Camera::fit(nx, ny, nz, DX, 400, 300);
        let frame = rasterise(&v, &cam, &SURFACE_ONLY);
        // The back edge y = 0 bounds the top face from above, the front edge y = Y from below.
        let back = cam.project([h, 0.0, z_max / 2.0]);
        let (top, _) = column_extent(&frame, back.0 as usize).expect("surface in the column");
        assert!(
            (top as f64 + 0.5 - back.1).abs() <= 2.0,
            "top {top} vs {}",
            back.1
        );
        let front = cam.project([h, y_max, z_max / 2.0]);
        let (_, bottom) = column_extent(&frame, front.0 as usize).expect("surface in the column");
        assert!(
            (bottom as f64 + 0.5 - front.1).abs() <= 2.0,
            "bottom {bottom} vs {}",
            front.1
        );
        // The whole picture: the surface and nothing else.
        assert!(frame
            .kind
            .iter()
            .all(|&k| k == KIND_NONE || k == KIND_SURFACE));

        // With the extras: grey cut faces under the front edge, the slab under them, a dark
        // front vertical box edge.
        let frame = rasterise(&v, &cam, &RenderStyle::default());
        let (fx, fy) = pixel_of(cam.project([h / 2.0, y_max, z_max / 2.0]));
        assert_eq!(frame.kind[fy * frame.w + fx], KIND_CUT);
        let grey = px(&frame, fx, fy);
        assert!(grey[0].abs_diff(grey[2]) < 20 && grey[0] > 60, "{grey:?}");
        let t = slab_thickness([nx as f64 * DX, y_max, z_max]);
        let (sx, sy) = pixel_of(cam.project([-t / 2.0, y_max, z_max / 2.0]));
        assert_eq!(frame.kind[sy * frame.w + sx], KIND_COLLECTOR);
        let brown = px(&frame, sx, sy);
        assert!(brown[0] > brown[1] && brown[1] > brown[2], "{brown:?}");
        let (ex, ey) = pixel_of(cam.project([nx as f64 * DX * 0.75, y_max, z_max]));
        let near_edge = (ex - 1..=ex + 1)
            .flat_map(|x| (ey - 1..=ey + 1).map(move |y| (x, y)))
            .any(|(x, y)| px(&frame, x, y) == EDGE_RGB);
        assert!(near_edge);
    }

    #[test]
    fn hemisphere_apex_and_outline() {
        let (xi, c) = hemisphere();
        let (nx, ny, nz) = xi.dim();
        let ip = Array3::zeros(xi.dim());
        let v = view(&xi, &ip, None, (0.0, R));
        let box_um = [nx as f64 * DX, ny as f64 * DX, nz as f64 * DX];

        // From the side (elevation 0): the apex is the topmost pixel; at height 3 µm the
        // silhouette is √(R² − 9) to either side of the axis.
        let side = Camera::fit_box(box_um, 400, 300, 35.0, 0.0);
        let frame = rasterise(&v, &side, &SURFACE_ONLY);
        let top = (0..frame.h)
            .find(|&y| row_extent(&frame, y).is_some())
            .expect("something drawn");
        let apex = side.project([R, c[1], c[2]]);
        assert!(
            (top as f64 + 0.5 - apex.1).abs() <= 2.0,
            "top row {top} vs apex {}",
            apex.1
        );
        let (l, r) = row_extent(&frame, top).expect("apex row");
        assert!(l as f64 - 2.0 <= apex.0 && apex.0 <= r as f64 + 3.0);
        let mid = side.project([3.0, c[1], c[2]]);
        let half = (R * R - 9.0).sqrt() * side.scale_px_per_um();
        let (l, r) = row_extent(&frame, mid.1 as usize).expect("row at 3 µm");
        assert!(
            (l as f64 + 0.5 - (mid.0 - half)).abs() <= 2.0,
            "left {l} vs {}",
            mid.0 - half
        );
        assert!(
            (r as f64 + 0.5 - (mid.0 + half)).abs() <= 2.0,
            "right {r} vs {}",
            mid.0 + half
        );

        // The default view: the apex pixel shows the apex; the hemisphere's outline is the circle
        // of radius R·scale about the centre's projection (its top is c + R·u, not the apex).
        let cam = Camera::fit(nx, ny, nz, DX, 400, 300);
        let frame = rasterise(&v, &cam, &SURFACE_ONLY);
        let (ax, ay) = pixel_of(cam.project([R, c[1], c[2]]));
        let i = ay * frame.w + ax;
        assert_eq!(frame.kind[i], KIND_SURFACE);
        assert!(
            (f64::from(frame.height[i]) - R).abs() < 0.2,
            "apex pixel at {}",
            frame.height[i]
        );
        let o = cam.project(c);
        let radius = R * cam.scale_px_per_um();
        let on_hemisphere = |x: f64, y: f64| {
            let (x, y) = (x.floor(), y.floor());
            if x < 0.0 || y < 0.0 || x >= frame.w as f64 || y >= frame.h as f64 {
                return false;
            }
            let i = y as usize * frame.w + x as usize;
            frame.kind[i] == KIND_SURFACE && frame.height[i] > 2.0
        };
        for alpha_deg in [-60.0f64, -30.0, 0.0, 30.0, 60.0] {
            let (sa, ca) = alpha_deg.to_radians().sin_cos();
            // Outward along (sin α, −cos α) from the centre: the last hemisphere pixel.
            let reach = (0..(2.0 * radius) as usize * 4)
                .map(|s| s as f64 * 0.25)
                .filter(|&d| on_hemisphere(o.0 + d * sa, o.1 - d * ca))
                .fold(0.0f64, f64::max);
            assert!(
                (reach - radius).abs() <= 2.0,
                "α = {alpha_deg}°: {reach} vs {radius}"
            );
        }
        let u = cam.screen_up();
        let outline_top = cam.project([c[0] + R * u[0], c[1] + R * u[1], c[2] + R * u[2]]);
        let topmost = (0..frame.h)
            .find(|&y| (0..frame.w).any(|x| on_hemisphere(x as f64, y as f64)))
            .expect("hemisphere drawn");
        assert!((topmost as f64 + 0.5 - outline_top.1).abs() <= 2.0);
    }

    #[test]
    fn height_colours_apex_yellow_film_purple() {
        let (xi, c) = hemisphere();
        let (nx, ny, nz) = xi.dim();
        let ip = Array3::zeros(xi.dim());
        let v = view(&xi, &ip, None, (0.0, R));
        let cam = Camera::fit(nx, ny, nz, DX, 400, 300);
        let frame = rasterise(&v, &cam, &SURFACE_ONLY);
        let (ax, ay) = pixel_of(cam.project([R, c[1], c[2]]));
        let apex = px(&frame, ax, ay);
        // viridis(1) is yellow (G ≫ B), viridis(1/6) purple (B > G); light scales all channels.
        assert!(
            i32::from(apex[1]) > i32::from(apex[2]) + 60,
            "apex {apex:?}"
        );
        let (fx, fy) = pixel_of(cam.project([FILM, 0.9 * ny as f64 * DX, 0.9 * nz as f64 * DX]));
        let film = px(&frame, fx, fy);
        assert_eq!(frame.kind[fy * frame.w + fx], KIND_SURFACE);
        assert!(
            i32::from(film[2]) > i32::from(film[1]) + 20,
            "film {film:?}"
        );
        // The unlit colours times the light range [ambient, ambient + diffuse + specular].
        for (rgb, t) in [(apex, 1.0), (film, FILM / R)] {
            let unlit = viridis(t);
            for k in 0..3 {
                let lo = f32::from(unlit[k]) * AMBIENT - 2.0;
                let hi = f32::from(unlit[k]) * (AMBIENT + DIFFUSE) + 255.0 * SPECULAR + 2.0;
                assert!(
                    (lo..=hi).contains(&f32::from(rgb[k])),
                    "{rgb:?} vs {unlit:?}"
                );
            }
        }
        // A per-cell field colours instead of the height.
        let ones = Array3::from_elem(xi.dim(), 1.0f32);
        let v = SurfaceView {
            colour: SurfaceColour::Field {
                values: ones.view(),
                factor: 1.0,
                range: (0.0, 1.0),
            },
            ..view(&xi, &ip, None, (0.0, R))
        };
        let frame = rasterise(&v, &cam, &SURFACE_ONLY);
        let film = px(&frame, fx, fy);
        assert!(
            i32::from(film[1]) > i32::from(film[2]) + 60,
            "field-coloured film {film:?}"
        );
    }

    fn red_brown(c: [u8; 3]) -> bool {
        let [r, g, b] = c.map(f32::from);
        r > 1.8 * g && r > 1.8 * b
    }

    /// The point of the plane x = h seen at pixel centre (px, py).
    fn unproject_on_plane(cam: &Camera, h: f64, px: f64, py: f64) -> [f64; 3] {
        // Solve p·right = sr, p·up = su with p = (h, y, z).
        let o = cam.project([0.0; 3]);
        let s = cam.scale_px_per_um();
        let (sr, su) = ((px - o.0) / s, -(py - o.1) / s);
        let (r, u) = (cam.screen_right(), cam.screen_up());
        let (a, b, e) = (r[1], r[2], sr - r[0] * h);
        let (c, d, f) = (u[1], u[2], su - u[0] * h);
        let det = a * d - b * c;
        [h, (e * d - b * f) / det, (a * f - e * c) / det]
    }

    #[test]
    fn blocked_patch_red_brown_where_it_projects_only() {
        let (nx, ny, nz, h) = (24, 32, 40, 5.3);
        let xi = flat_front(nx, ny, nz, h);
        let ip = Array3::zeros(xi.dim());
        let (j0, j1, k0, k1) = (8, 16, 20, 30);
        let blocked = Array3::from_shape_fn(xi.dim(), |(_, j, k)| {
            if (j0..j1).contains(&j) && (k0..k1).contains(&k) {
                1.0f32
            } else {
                0.0
            }
        });
        let v = view(&xi, &ip, Some(&blocked), (0.0, nx as f64 * DX));
        let cam = Camera::fit(nx, ny, nz, DX, 400, 300);
        let frame = rasterise(&v, &cam, &RenderStyle::default());
        let (y0, y1) = (j0 as f64 * DX, j1 as f64 * DX);
        let (z0, z1) = (k0 as f64 * DX, k1 as f64 * DX);
        let slack = DX + 2.0 / cam.scale_px_per_um();
        let mut count = 0usize;
        for y in 0..frame.h {
            for x in 0..frame.w {
                if !red_brown(px(&frame, x, y)) {
                    continue;
                }
                count += 1;
                let p = unproject_on_plane(&cam, h, x as f64 + 0.5, y as f64 + 0.5);
                assert!(
                    p[1] > y0 - slack
                        && p[1] < y1 + slack
                        && p[2] > z0 - slack
                        && p[2] < z1 + slack,
                    "red-brown pixel ({x}, {y}) at {p:?}, outside the patch"
                );
            }
        }
        let s = cam.scale_px_per_um();
        let expected = (y1 - y0) * (z1 - z0) * s * s * cam.toward_viewer()[0];
        assert!(
            count as f64 > 0.6 * expected,
            "{count} red-brown px, patch ≈ {expected:.0} px"
        );
        let (cx, cy) = pixel_of(cam.project([h, (y0 + y1) / 2.0, (z0 + z1) / 2.0]));
        assert!(red_brown(px(&frame, cx, cy)));
        let (ox, oy) = pixel_of(cam.project([h, 12.0, 4.0]));
        assert!(!red_brown(px(&frame, ox, oy)) && frame.kind[oy * frame.w + ox] == KIND_SURFACE);

        // The interphase tints amber, modestly: redder, not red-brown.
        let plain = rasterise(&view(&xi, &ip, None, (0.0, 12.0)), &cam, &SURFACE_ONLY);
        let layer = Array3::from_elem(xi.dim(), 1.0f32);
        let tinted = rasterise(&view(&xi, &layer, None, (0.0, 12.0)), &cam, &SURFACE_ONLY);
        let (a, b) = (px(&plain, ox, oy), px(&tinted, ox, oy));
        assert!(b[0] > a[0] + 30 && !red_brown(b), "{a:?} → {b:?}");
    }

    #[test]
    fn empty_nan_and_tiny_fields_render_without_panic() {
        let cam = Camera::fit(16, 20, 24, DX, 200, 150);
        let ip = Array3::zeros((16, 20, 24));
        // All electrolyte: no surface, the slab and the box still drawn.
        let empty = Array3::zeros((16, 20, 24));
        assert!(isosurface(empty.view(), 0.5, DX).is_empty());
        let frame = rasterise(
            &view(&empty, &ip, None, (0.0, 8.0)),
            &cam,
            &RenderStyle::default(),
        );
        assert!(frame.kind.contains(&KIND_COLLECTOR) && frame.kind.contains(&KIND_EDGE));
        assert!(!frame.kind.contains(&KIND_SURFACE));
        let (x, y) = pixel_of(cam.project([0.0, 5.0, 6.0]));
        assert_eq!(frame.kind[y * frame.w + x], KIND_COLLECTOR);
        // All metal: no surface, the cut faces fill the front faces.
        let full = Array3::from_elem((16, 20, 24), 1.0f32);
        assert!(isosurface(full.view(), 0.5, DX).is_empty());
        let frame = rasterise(
            &view(&full, &ip, None, (0.0, 8.0)),
            &cam,
            &RenderStyle::default(),
        );
        assert!(frame.kind.contains(&KIND_CUT));
        // NaN everywhere, and a NaN block in a front: a hole, finite vertices.
        let nan = Array3::from_elem((16, 20, 24), f32::NAN);
        assert!(isosurface(nan.view(), 0.5, DX).is_empty());
        let _ = render_surface(&view(&nan, &nan, Some(&nan), (f64::NAN, 8.0)), &cam);
        let mut holed = flat_front(16, 20, 24, 3.3);
        holed
            .slice_mut(ndarray::s![4..9, 5..9, 6..10])
            .fill(f32::NAN);
        let mesh = isosurface(holed.view(), 0.5, DX);
        assert!(!mesh.is_empty());
        for (p, n) in mesh.positions.iter().zip(&mesh.normals) {
            assert!(p.iter().chain(n).all(|v| v.is_finite()));
            let inside_hole = (2.5..4.5).contains(&p[1]) && (3.0..5.0).contains(&p[2]);
            assert!(!inside_hole, "vertex {p:?} in the NaN block");
        }
        let _ = render_surface(&view(&holed, &ip, None, (0.0, 8.0)), &cam);
        let field = SurfaceView {
            colour: SurfaceColour::Field {
                values: nan.view(),
                factor: 1.0,
                range: (1.0, 1.0),
            },
            ..view(&holed, &ip, None, (0.0, 8.0))
        };
        let _ = render_surface(&field, &cam);
        // Degenerate shapes and parameters.
        for dims in [(0, 4, 4), (1, 1, 1), (2, 2, 2), (3, 1, 5), (1, 6, 6)] {
            let xi = Array3::from_shape_fn(dims, |(i, j, k)| ((i + j + k) % 2) as f32);
            let ip = Array3::zeros(dims);
            let _ = isosurface(xi.view(), 0.5, DX);
            let cam = Camera::fit(dims.0, dims.1, dims.2, DX, 64, 48);
            let _ = render_surface(&view(&xi, &ip, None, (0.0, 1.0)), &cam);
        }
        let _ = isosurface(holed.view(), 0.5, -1.0);
        let _ = isosurface(holed.view(), f32::NAN, DX);
        let bad = SurfaceView {
            dx_um: f64::NAN,
            ..view(&holed, &ip, None, (0.0, 8.0))
        };
        let _ = render_surface(
            &bad,
            &Camera::fit_box([f64::NAN; 3], 0, 0, f64::NAN, f64::NAN),
        );
        let mismatched = Array3::from_elem((3, 2, 2), 1.0f32);
        let _ = render_surface(
            &view(&holed, &mismatched, Some(&mismatched), (0.0, 8.0)),
            &cam,
        );
    }

    /// Rough timing, not a benchmark: `cargo test --release --lib output::render3d -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn timing_256_cubed_rough_surface() {
        use std::f64::consts::TAU;
        use std::time::Instant;
        let n = 256;
        let dx = 0.25;
        let l = n as f64 * dx;
        let mut xi = Array3::<f32>::zeros((n, n, n));
        ndarray::Zip::indexed(&mut xi).par_for_each(|(i, j, k), v| {
            let (x, y, z) = (
                (i as f64 + 0.5) * dx,
                (j as f64 + 0.5) * dx,
                (k as f64 + 0.5) * dx,
            );
            let h = 64.0 * dx
                + 10.0 * dx * (TAU * 3.0 * y / l).sin() * (TAU * 2.0 * z / l).cos()
                + 4.0 * dx * (TAU * 7.0 * (y + z) / l).sin()
                + 2.0 * dx * (TAU * 13.0 * y / l).sin() * (TAU * 11.0 * z / l).sin();
            *v = profile(x - h, 2.0 * dx);
        });
        let ip = Array3::zeros((n, n, n));
        let v = SurfaceView {
            order_parameter: xi.view(),
            interphase: ip.view(),
            blocked: None,
            dx_um: dx,
            colour: SurfaceColour::Height,
            height_range_um: (0.0, l),
        };
        let t0 = Instant::now();
        let mesh = isosurface(xi.view(), 0.5, dx);
        let t_mesh = t0.elapsed().as_secs_f64();
        let cam = Camera::fit(n, n, n, dx, 1024, 768);
        let t1 = Instant::now();
        let image = render_surface(&v, &cam);
        let t_render = t1.elapsed().as_secs_f64();
        assert_eq!(image.dimensions(), (1024, 768));
        println!(
            "256³ rough front (rough timing, not a benchmark; {} rayon threads): {} vertices, {} \
             triangles; isosurface {t_mesh:.3} s; render_surface 1024×768 (isosurface + raster) \
             {t_render:.3} s",
            rayon::current_num_threads(),
            mesh.positions.len(),
            mesh.triangles.len()
        );
    }
}
