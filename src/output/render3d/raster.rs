//! The z-buffered rasteriser: the surface, the collector slab, the cut faces and the box edges.

use crate::grid::Real;
use crate::output::frames::{viridis, BLOCKED_RGB, INTERPHASE_RGB, METAL_RGB};
use image::RgbImage;
use ndarray::ArrayView3;
use rayon::prelude::*;

use super::camera::*;
use super::isosurface::*;
use super::*;

/// Renders the view with every extra ([`RenderStyle::default`]): a `camera.width_px() ×
/// camera.height_px()` picture.
pub fn render_surface(view: &SurfaceView, camera: &Camera) -> RgbImage {
    render_surface_with(view, camera, &RenderStyle::default())
}

/// Renders the view with the extras chosen in `style`.
pub fn render_surface_with(view: &SurfaceView, camera: &Camera, style: &RenderStyle) -> RgbImage {
    rasterise(view, camera, style).into_image()
}

/// What covers a pixel.
pub(super) const KIND_NONE: u8 = 0;
pub(super) const KIND_SURFACE: u8 = 1;
pub(super) const KIND_CUT: u8 = 2;
pub(super) const KIND_COLLECTOR: u8 = 3;
pub(super) const KIND_EDGE: u8 = 4;

/// Colour, depth, what covers each pixel and the height x (µm) of the point seen there.
pub(super) struct Frame {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) rgb: Vec<u8>,
    pub(super) depth: Vec<f32>,
    pub(super) kind: Vec<u8>,
    pub(super) height: Vec<f32>,
}

/// A projected vertex: pixel position, depth, and its height x (µm).
#[derive(Debug, Clone, Copy)]
pub(super) struct ScreenVertex {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) depth: f32,
    pub(super) height: f32,
}

impl ScreenVertex {
    fn of(camera: &Camera, p: [f64; 3]) -> ScreenVertex {
        let (x, y, depth) = camera.project(p);
        ScreenVertex {
            x: x as f32,
            y: y as f32,
            depth: depth as f32,
            height: p[0] as f32,
        }
    }
}

/// Twice the signed area of (a, b, p).
pub(super) fn edge(a: ScreenVertex, b: ScreenVertex, px: f32, py: f32) -> f32 {
    (b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x)
}

impl Frame {
    fn new(w: u32, h: u32) -> Frame {
        let (w, h) = (w as usize, h as usize);
        Frame {
            w,
            h,
            rgb: BACKGROUND_RGB.repeat(w * h),
            depth: vec![f32::INFINITY; w * h],
            kind: vec![KIND_NONE; w * h],
            height: vec![f32::NAN; w * h],
        }
    }

    fn into_image(self) -> RgbImage {
        let (w, h) = (self.w as u32, self.h as u32);
        RgbImage::from_raw(w, h, self.rgb)
            .unwrap_or_else(|| RgbImage::from_pixel(w, h, image::Rgb(BACKGROUND_RGB)))
    }

    fn put(&mut self, idx: usize, rgb: [u8; 3]) {
        self.rgb[3 * idx..3 * idx + 3].copy_from_slice(&rgb);
    }

    /// Z-buffered fill of the pixels whose centres lie in the triangle (either winding), colour
    /// from `shade(barycentric weights)`.
    fn fill_triangle(
        &mut self,
        v: [ScreenVertex; 3],
        kind: u8,
        mut shade: impl FnMut([f32; 3]) -> [u8; 3],
    ) {
        const EPS: f32 = -1e-5;
        let area = edge(v[0], v[1], v[2].x, v[2].y);
        if area.is_nan() || area.abs() <= 1e-8 {
            return;
        }
        let inv = 1.0 / area;
        let xs = [v[0].x, v[1].x, v[2].x];
        let ys = [v[0].y, v[1].y, v[2].y];
        let lo = |a: [f32; 3]| a[0].min(a[1]).min(a[2]);
        let hi = |a: [f32; 3]| a[0].max(a[1]).max(a[2]);
        let x0 = (lo(xs) - 0.5).ceil().max(0.0);
        let x1 = (hi(xs) - 0.5).floor().min(self.w as f32 - 1.0);
        let y0 = (lo(ys) - 0.5).ceil().max(0.0);
        let y1 = (hi(ys) - 0.5).floor().min(self.h as f32 - 1.0);
        if !(x0 <= x1 && y0 <= y1) {
            return;
        }
        let (x0, x1, y0, y1) = (x0 as usize, x1 as usize, y0 as usize, y1 as usize);
        for py in y0..=y1 {
            let cy = py as f32 + 0.5;
            for px in x0..=x1 {
                let cx = px as f32 + 0.5;
                let b = [
                    edge(v[1], v[2], cx, cy) * inv,
                    edge(v[2], v[0], cx, cy) * inv,
                    edge(v[0], v[1], cx, cy) * inv,
                ];
                if b[0] < EPS || b[1] < EPS || b[2] < EPS {
                    continue;
                }
                let depth = b[0] * v[0].depth + b[1] * v[1].depth + b[2] * v[2].depth;
                let idx = py * self.w + px;
                if depth < self.depth[idx] {
                    self.depth[idx] = depth;
                    self.kind[idx] = kind;
                    self.height[idx] = b[0] * v[0].height + b[1] * v[1].height + b[2] * v[2].height;
                    let rgb = shade(b);
                    self.put(idx, rgb);
                }
            }
        }
    }

    /// A flat-coloured convex polygon (fan from its first point).
    fn fill_polygon(&mut self, camera: &Camera, points: &[[f64; 3]], kind: u8, rgb: [u8; 3]) {
        if points.len() < 3 {
            return;
        }
        let first = ScreenVertex::of(camera, points[0]);
        for pair in points[1..].windows(2) {
            let tri = [
                first,
                ScreenVertex::of(camera, pair[0]),
                ScreenVertex::of(camera, pair[1]),
            ];
            self.fill_triangle(tri, kind, |_| rgb);
        }
    }
}

/// One directional light fixed to the camera, plus ambient.
pub(super) struct Light {
    pub(super) dir: [f32; 3],
    pub(super) half: [f32; 3],
    pub(super) view: [f32; 3],
}

impl Light {
    fn new(camera: &Camera) -> Light {
        let f = |v: [f64; 3]| v.map(|c| c as f32);
        let (r, u, c) = (f(camera.right), f(camera.up), f(camera.toward));
        let raw: [f32; 3] = std::array::from_fn(|a| 0.55 * u[a] + 0.75 * c[a] - 0.3 * r[a]);
        let dir = unit(raw).unwrap_or(c);
        let half = unit(std::array::from_fn(|a| dir[a] + c[a])).unwrap_or(c);
        Light { dir, half, view: c }
    }

    /// `base` (0..255 per channel) lit with `normal` (any length; flipped towards the viewer).
    fn shade(&self, base: [f32; 3], normal: [f32; 3]) -> [u8; 3] {
        let d = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let mut n = unit(normal).unwrap_or(self.view);
        if d(n, self.view) < 0.0 {
            n = n.map(|c| -c);
        }
        let diffuse = d(n, self.dir).max(0.0);
        let specular = d(n, self.half).max(0.0).powi(SHININESS);
        let k = AMBIENT + DIFFUSE * diffuse;
        base.map(|c| {
            (c * k + 255.0 * SPECULAR * specular)
                .round()
                .clamp(0.0, 255.0) as u8
        })
    }
}

pub(super) fn rgb_f32(c: [u8; 3]) -> [f32; 3] {
    c.map(f32::from)
}

pub(super) fn mix(c: [f32; 3], over: [u8; 3], alpha: f32) -> [f32; 3] {
    let a = alpha.clamp(0.0, 1.0);
    std::array::from_fn(|k| c[k] * (1.0 - a) + f32::from(over[k]) * a)
}

/// (v − lo)/(hi − lo), or ½ where the range is unusable; NaN stays NaN.
pub(super) fn normalise(v: f64, (lo, hi): (f64, f64)) -> f64 {
    if lo.is_finite() && hi.is_finite() && hi > lo {
        (v - lo) / (hi - lo)
    } else if v.is_nan() {
        v
    } else {
        0.5
    }
}

pub(super) fn finite_or_zero(v: f64) -> f32 {
    if v.is_finite() {
        v as f32
    } else {
        0.0
    }
}

/// The unlit colour of the surface at vertex `p` with normal `n` (see the module doc).
pub(super) fn vertex_colour(view: &SurfaceView, dx: f64, p: [f32; 3], n: [f32; 3]) -> [f32; 3] {
    let base = match &view.colour {
        SurfaceColour::Height => viridis(normalise(f64::from(p[0]), view.height_range_um)),
        SurfaceColour::Field {
            values,
            factor,
            range,
        } => viridis(normalise(trilinear(values, p, dx) * factor, *range)),
    };
    let out: [f32; 3] = std::array::from_fn(|a| p[a] + n[a] * dx as f32);
    let layer = finite_or_zero(trilinear(&view.interphase, p, dx))
        .max(finite_or_zero(trilinear(&view.interphase, out, dx)))
        .clamp(0.0, 1.0);
    let mut c = mix(rgb_f32(base), INTERPHASE_RGB, INTERPHASE_ALPHA * layer);
    if let Some(blocked) = &view.blocked {
        let b = finite_or_zero(trilinear(blocked, p, dx)).clamp(0.0, 1.0);
        c = mix(c, BLOCKED_RGB, BLOCKED_ALPHA * b);
    }
    c
}

pub(super) fn rasterise(view: &SurfaceView, camera: &Camera, style: &RenderStyle) -> Frame {
    let mut frame = Frame::new(camera.width_px, camera.height_px);
    let xi = &view.order_parameter;
    let (nx, ny, nz) = xi.dim();
    let dx = sanitise_dx(view.dx_um);
    let box_um = box_size_um(nx, ny, nz, dx);
    let light = Light::new(camera);
    if style.collector {
        draw_collector(&mut frame, camera, &light, box_um);
    }
    if style.cut_faces {
        draw_cut_faces(&mut frame, camera, &light, xi, dx);
    }
    let mesh = isosurface(xi.view(), SURFACE_LEVEL, dx);
    draw_mesh(&mut frame, camera, &light, view, dx, &mesh);
    if style.box_edges {
        draw_box_edges(&mut frame, camera, box_um);
    }
    frame
}

pub(super) fn draw_mesh(
    frame: &mut Frame,
    camera: &Camera,
    light: &Light,
    view: &SurfaceView,
    dx: f64,
    mesh: &Mesh,
) {
    let vertices: Vec<(ScreenVertex, [f32; 3], [f32; 3])> = mesh
        .positions
        .par_iter()
        .zip(mesh.normals.par_iter())
        .map(|(&p, &n)| {
            (
                ScreenVertex::of(camera, p.map(f64::from)),
                vertex_colour(view, dx, p, n),
                n,
            )
        })
        .collect();
    for tri in &mesh.triangles {
        let v = tri.map(|v| v as usize);
        if v.iter().any(|&v| v >= vertices.len()) {
            continue;
        }
        let (a, b, c) = (vertices[v[0]], vertices[v[1]], vertices[v[2]]);
        frame.fill_triangle([a.0, b.0, c.0], KIND_SURFACE, |w| {
            let lerp = |x: [f32; 3], y: [f32; 3], z: [f32; 3]| {
                std::array::from_fn(|k| w[0] * x[k] + w[1] * y[k] + w[2] * z[k])
            };
            light.shade(lerp(a.1, b.1, c.1), lerp(a.2, b.2, c.2))
        });
    }
}

/// The collector: a slab [−t, 0] × [0, Y] × [0, Z], its faces turned to the camera.
pub(super) fn draw_collector(frame: &mut Frame, camera: &Camera, light: &Light, box_um: [f64; 3]) {
    let t = slab_thickness(box_um);
    let lo = [-t, 0.0, 0.0];
    let hi = [0.0, box_um[1], box_um[2]];
    for axis in 0..3 {
        for side in [false, true] {
            let mut normal = [0.0f64; 3];
            normal[axis] = if side { 1.0 } else { -1.0 };
            if dot(normal, camera.toward) <= 1e-9 {
                continue;
            }
            let (a1, a2) = ((axis + 1) % 3, (axis + 2) % 3);
            let corner = |u: bool, v: bool| {
                let mut p = [0.0; 3];
                p[axis] = if side { hi[axis] } else { lo[axis] };
                p[a1] = if u { hi[a1] } else { lo[a1] };
                p[a2] = if v { hi[a2] } else { lo[a2] };
                p
            };
            let quad = [
                corner(false, false),
                corner(true, false),
                corner(true, true),
                corner(false, true),
            ];
            let rgb = light.shade(rgb_f32(COLLECTOR_SLAB_RGB), normal.map(|c| c as f32));
            frame.fill_polygon(camera, &quad, KIND_COLLECTOR, rgb);
        }
    }
}

/// The metal (ξ > ½) on each lateral box face turned to the camera: the outermost cells' values,
/// extended to the box edges by repetition, filled per square of four cell centres where ξ > ½
/// (marching squares with linear edge crossings; runs of full squares merged).
pub(super) fn draw_cut_faces(
    frame: &mut Frame,
    camera: &Camera,
    light: &Light,
    xi: &ArrayView3<Real>,
    dx: f64,
) {
    let (nx, ny, nz) = xi.dim();
    if nx == 0 || ny == 0 || nz == 0 {
        return;
    }
    let level = SURFACE_LEVEL;
    let dims = [nx, ny, nz];
    for axis in [1usize, 2] {
        for side in [false, true] {
            let mut normal = [0.0f64; 3];
            normal[axis] = if side { 1.0 } else { -1.0 };
            if dot(normal, camera.toward) <= 1e-9 {
                continue;
            }
            let rgb = light.shade(rgb_f32(METAL_RGB), normal.map(|c| c as f32));
            let along = 3 - axis; // the other lateral axis
            let n_along = dims[along];
            let wall_cell = if side { dims[axis] - 1 } else { 0 };
            let wall_um = if side { dims[axis] as f64 * dx } else { 0.0 };
            // Padded lattice index α ↔ cell α − 1 (clamped), at (α − ½)Δx clamped to the box.
            let value = |alpha: usize, beta: usize| {
                let mut cell = [0; 3];
                cell[0] = alpha.saturating_sub(1).min(nx - 1);
                cell[along] = beta.saturating_sub(1).min(n_along - 1);
                cell[axis] = wall_cell;
                xi[cell]
            };
            let pos =
                |alpha: usize, n: usize| ((alpha as f64 - 0.5) * dx).clamp(0.0, n as f64 * dx);
            let point = |x: f64, s: f64| {
                let mut p = [0.0; 3];
                p[0] = x;
                p[along] = s;
                p[axis] = wall_um;
                p
            };
            for alpha in 0..=nx {
                let (xa, xb) = (pos(alpha, nx), pos(alpha + 1, nx));
                let mut run: Option<usize> = None;
                for beta in 0..=n_along {
                    let v = [
                        value(alpha, beta),
                        value(alpha + 1, beta),
                        value(alpha + 1, beta + 1),
                        value(alpha, beta + 1),
                    ];
                    let inside = v.map(|x| x > level);
                    if inside.iter().all(|&b| b) {
                        run.get_or_insert(beta);
                        continue;
                    }
                    if let Some(start) = run.take() {
                        let (s0, s1) = (pos(start, n_along), pos(beta, n_along));
                        let quad = [point(xa, s0), point(xb, s0), point(xb, s1), point(xa, s1)];
                        frame.fill_polygon(camera, &quad, KIND_CUT, rgb);
                    }
                    if v.iter().any(|x| x.is_nan()) || !inside.iter().any(|&b| b) {
                        continue;
                    }
                    let (s0, s1) = (pos(beta, n_along), pos(beta + 1, n_along));
                    let corners = [(xa, s0), (xb, s0), (xb, s1), (xa, s1)];
                    let mut poly: Vec<[f64; 3]> = Vec::with_capacity(8);
                    for e in 0..4 {
                        let f = (e + 1) % 4;
                        if inside[e] {
                            poly.push(point(corners[e].0, corners[e].1));
                        }
                        if inside[e] != inside[f] {
                            let t = f64::from((level - v[e]) / (v[f] - v[e]));
                            poly.push(point(
                                corners[e].0 + t * (corners[f].0 - corners[e].0),
                                corners[e].1 + t * (corners[f].1 - corners[e].1),
                            ));
                        }
                    }
                    frame.fill_polygon(camera, &poly, KIND_CUT, rgb);
                }
                if let Some(start) = run {
                    let (s0, s1) = (pos(start, n_along), pos(n_along + 1, n_along));
                    let quad = [point(xa, s0), point(xb, s0), point(xb, s1), point(xa, s1)];
                    frame.fill_polygon(camera, &quad, KIND_CUT, rgb);
                }
            }
        }
    }
}

/// The 12 edges of the box: dark where seen, dashed light for the three at the farthest corner,
/// not drawn where the z-buffer holds something nearer.
pub(super) fn draw_box_edges(frame: &mut Frame, camera: &Camera, box_um: [f64; 3]) {
    let corner = |c: usize| {
        [
            if c & 1 == 1 { box_um[0] } else { 0.0 },
            if c & 2 == 2 { box_um[1] } else { 0.0 },
            if c & 4 == 4 { box_um[2] } else { 0.0 },
        ]
    };
    let projected: [(f64, f64, f64); 8] = std::array::from_fn(|c| camera.project(corner(c)));
    let far = (0..8)
        .max_by(|&a, &b| projected[a].2.total_cmp(&projected[b].2))
        .unwrap_or(0);
    let tolerance = 0.01 * box_um.iter().fold(0.0f64, |m, &v| m.max(v));
    for a in 0..8 {
        for axis in 0..3 {
            if a & (1 << axis) != 0 {
                continue;
            }
            let b = a | (1 << axis);
            let back = a == far || b == far;
            draw_segment(frame, projected[a], projected[b], back, tolerance);
        }
    }
}

pub(super) fn draw_segment(
    frame: &mut Frame,
    p: (f64, f64, f64),
    q: (f64, f64, f64),
    back: bool,
    tolerance: f64,
) {
    let length = (q.0 - p.0).hypot(q.1 - p.1);
    if !length.is_finite() {
        return;
    }
    let steps = (2.0 * length).ceil().max(1.0) as usize;
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        let (x, y) = (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1));
        let depth = p.2 + t * (q.2 - p.2);
        if !(x >= 0.0 && y >= 0.0 && x < frame.w as f64 && y < frame.h as f64) {
            continue;
        }
        let idx = y as usize * frame.w + x as usize;
        if depth > f64::from(frame.depth[idx]) + tolerance {
            continue;
        }
        if back && ((t * length / DASH_PX) as usize) % 2 == 1 {
            continue;
        }
        frame.kind[idx] = KIND_EDGE;
        frame.put(idx, if back { BACK_EDGE_RGB } else { EDGE_RGB });
    }
}
