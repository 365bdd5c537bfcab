//! The ξ = ½ isosurface as a triangle mesh in µm (naive surface nets; see the parent module).

use crate::grid::Real;
use fast_surface_nets::ndshape::{RuntimeShape, Shape};
use fast_surface_nets::{surface_nets, SurfaceNetsBuffer};
use ndarray::{ArrayView3, Axis};
use rayon::prelude::*;

/// A triangle mesh in µm.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions `[x, y, z]` (µm).
    pub positions: Vec<[f32; 3]>,
    /// Unit normals per vertex, −∇ξ/|∇ξ|: into the electrolyte.
    pub normals: Vec<[f32; 3]>,
    /// Vertex indices, three per triangle.
    pub triangles: Vec<[u32; 3]>,
}

impl Mesh {
    /// No triangle.
    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }
}

/// The `level` isosurface of `xi` (shape `(nx, ny, nz)`, cell-centred, spacing `dx_um`) as a
/// triangle mesh in µm, normals into the electrolyte (where ξ < level). Empty when the level is
/// not crossed, a dimension is 0, or `level`/`dx_um` is not usable; cubes with a NaN corner are
/// left out. See the module doc for the method.
pub fn isosurface(xi: ArrayView3<Real>, level: Real, dx_um: f64) -> Mesh {
    let (nx, ny, nz) = xi.dim();
    if nx == 0 || ny == 0 || nz == 0 || !level.is_finite() || !(dx_um.is_finite() && dx_um > 0.0) {
        return Mesh::default();
    }
    let Some(x_planes) = crossed_x_planes(&xi, level) else {
        return Mesh::default();
    };
    let parts: Vec<Mesh> = lateral_chunks(ny)
        .into_par_iter()
        .map(|j_planes| mesh_chunk(&xi, level, dx_um, x_planes, j_planes))
        .collect();
    concatenate(parts)
}

/// The x planes (real indices, −1 and nx being the repeated border) to hand the mesher: from the
/// first cube layer the level crosses to two planes past the last (the crate makes no face on the
/// last plane of its array), capped at the border plane nx. None if no layer is crossed.
pub(super) fn crossed_x_planes(xi: &ArrayView3<Real>, level: Real) -> Option<(isize, isize)> {
    let nx = xi.len_of(Axis(0));
    // (some cell inside, some cell outside) per plane; NaN counts as outside, as in the mesher.
    let signs: Vec<(bool, bool)> = (0..nx)
        .into_par_iter()
        .map(|i| {
            xi.index_axis(Axis(0), i)
                .fold((false, false), |(inside, outside), &v| {
                    (inside | (v > level), outside | (v <= level) | v.is_nan())
                })
        })
        .collect();
    let last = nx as isize - 1;
    let plane = |p: isize| signs[p.clamp(0, last) as usize];
    let crossed = |p: isize| {
        let (a, b) = (plane(p), plane(p + 1));
        (a.0 || b.0) && (a.1 || b.1)
    };
    let first = (-1..=last).find(|&p| crossed(p))?;
    let final_layer = (-1..=last).rev().find(|&p| crossed(p))?;
    Some((first, (final_layer + 2).min(last + 1)))
}

/// Lateral slabs over the padded y planes 0..=ny+1 (padded plane P is real plane P − 1): each
/// `(a, b)` inclusive, the next starting at `b − 1`, so that the faces of each interior plane are
/// made by exactly one slab.
pub(super) fn lateral_chunks(ny: usize) -> Vec<(usize, usize)> {
    let end = ny + 1;
    let slabs = 4 * rayon::current_num_threads().max(1);
    let width = (end.div_ceil(slabs) + 1).max(8);
    let mut chunks = Vec::new();
    let mut a = 0;
    loop {
        let b = (a + width).min(end);
        chunks.push((a, b));
        if b == end {
            return chunks;
        }
        a = b - 1;
    }
}

/// Meshes x planes `x0..=x1` (real, clamped into the grid) × padded y planes `ja..=jb` × all z
/// with its one-cell border, and maps the vertices to µm.
pub(super) fn mesh_chunk(
    xi: &ArrayView3<Real>,
    level: Real,
    dx: f64,
    (x0, x1): (isize, isize),
    (ja, jb): (usize, usize),
) -> Mesh {
    let (nx, ny, nz) = xi.dim();
    let (sx, sy, sz) = (nz + 2, jb - ja + 1, (x1 - x0 + 1).max(0) as usize);
    let too_big = (sx as u64) * (sy as u64) * (sz as u64) > u64::from(u32::MAX);
    let (Ok(ux), Ok(uy), Ok(uz)) = (u32::try_from(sx), u32::try_from(sy), u32::try_from(sz)) else {
        return Mesh::default();
    };
    if too_big || sz < 2 {
        return Mesh::default();
    }
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let mut sdf: Vec<f32> = Vec::with_capacity(sx * sy * sz);
    for z in 0..sz {
        let i = clamp(x0 + z as isize, nx);
        for y in 0..sy {
            let j = clamp(ja as isize + y as isize - 1, ny);
            let row = xi.slice(ndarray::s![i, j, ..]);
            sdf.push(level - row[0]);
            sdf.extend(row.iter().map(|&v| level - v));
            sdf.push(level - row[nz - 1]);
        }
    }
    let shape = RuntimeShape::<u32, 3>::new([ux, uy, uz]);
    let mut buffer = SurfaceNetsBuffer::default();
    surface_nets(&sdf, &shape, [0; 3], [ux - 1, uy - 1, uz - 1], &mut buffer);

    let corner_offsets: [usize; 8] =
        std::array::from_fn(|c| (c & 1) + ((c >> 1) & 1) * sx + ((c >> 2) & 1) * sx * sy);
    let n = buffer.positions.len();
    let mut new_index = vec![u32::MAX; n];
    let mut mesh = Mesh::default();
    let mut valid = vec![false; n];
    for (v, ok) in valid.iter_mut().enumerate() {
        let (Some(p), Some(cube)) = (buffer.positions.get(v), buffer.surface_points.get(v)) else {
            continue;
        };
        let base = shape.linearize(*cube) as usize;
        *ok = p.iter().all(|c| c.is_finite())
            && corner_offsets
                .iter()
                .all(|&o| sdf.get(base + o).is_some_and(|d| !d.is_nan()));
    }
    let mut triangles = Vec::with_capacity(buffer.indices.len() / 3);
    for t in buffer.indices.chunks_exact(3) {
        let tri = [t[0] as usize, t[1] as usize, t[2] as usize];
        if tri.iter().all(|&v| v < n && valid[v]) {
            triangles.push(tri);
        }
    }
    for tri in &triangles {
        for &v in tri {
            if new_index[v] == u32::MAX {
                new_index[v] = mesh.positions.len() as u32;
                let p = buffer.positions[v];
                // Local (crate x, y, z) = (k + 1, j − ja + 1, i − x0): real fractional indices.
                let f = [
                    x0 as f64 + f64::from(p[2]),
                    ja as f64 + f64::from(p[1]) - 1.0,
                    f64::from(p[0]) - 1.0,
                ];
                mesh.positions.push(f.map(|f| ((f + 0.5) * dx) as f32));
                let fallback = buffer.normals.get(v).and_then(|g| unit([g[2], g[1], g[0]]));
                mesh.normals.push(
                    gradient_normal(xi, f)
                        .or(fallback)
                        .unwrap_or([1.0, 0.0, 0.0]),
                );
            }
        }
    }
    mesh.triangles = triangles
        .iter()
        .map(|tri| tri.map(|v| new_index[v]))
        .collect();
    mesh
}

pub(super) fn concatenate(parts: Vec<Mesh>) -> Mesh {
    let vertices = parts.iter().map(|m| m.positions.len()).sum();
    let triangles = parts.iter().map(|m| m.triangles.len()).sum();
    let mut mesh = Mesh {
        positions: Vec::with_capacity(vertices),
        normals: Vec::with_capacity(vertices),
        triangles: Vec::with_capacity(triangles),
    };
    for part in parts {
        let offset = mesh.positions.len() as u32;
        mesh.positions.extend_from_slice(&part.positions);
        mesh.normals.extend_from_slice(&part.normals);
        mesh.triangles
            .extend(part.triangles.iter().map(|t| t.map(|v| v + offset)));
    }
    mesh
}

/// The cell below fractional index `f` on an axis of `n` cells (clamped) and the weight of the one
/// above.
pub(super) fn cell_weights(f: f64, n: usize) -> (usize, f64) {
    if n < 2 || !f.is_finite() {
        return (0, 0.0);
    }
    let f = f.clamp(0.0, (n - 1) as f64);
    let b = (f.floor() as usize).min(n - 2);
    (b, f - b as f64)
}

/// Σ over the 8 cells around fractional index `f` of weight × `at(cell)`, skipping zero weights;
/// None if a dimension is 0 or `at` gives None.
pub(super) fn trilinear_with<T: Copy + Default + std::ops::Add<Output = T>>(
    dims: [usize; 3],
    f: [f64; 3],
    mut at: impl FnMut([usize; 3], f64) -> Option<T>,
) -> Option<T> {
    if dims.contains(&0) {
        return None;
    }
    let w: [(usize, f64); 3] = std::array::from_fn(|a| cell_weights(f[a], dims[a]));
    let mut sum = T::default();
    for corner in 0..8 {
        let mut weight = 1.0;
        let mut cell = [0; 3];
        for a in 0..3 {
            let up = (corner >> a) & 1 == 1;
            weight *= if up { w[a].1 } else { 1.0 - w[a].1 };
            cell[a] = (w[a].0 + usize::from(up)).min(dims[a] - 1);
        }
        if weight > 0.0 {
            sum = sum + at(cell, weight)?;
        }
    }
    Some(sum)
}

/// Trilinear value of a per-cell field at `p_um`; NaN for an empty field or a NaN neighbour.
pub(super) fn trilinear(field: &ArrayView3<Real>, p_um: [f32; 3], dx: f64) -> f64 {
    let (a, b, c) = field.dim();
    let f = p_um.map(|p| f64::from(p) / dx - 0.5);
    trilinear_with([a, b, c], f, |cell, w| Some(w * f64::from(field[cell]))).unwrap_or(f64::NAN)
}

/// n = −∇ξ/|∇ξ| at fractional cell index `f`: central differences (one-sided at the ends) at the
/// 8 surrounding cells, interpolated trilinearly. None on NaN or a vanishing gradient.
pub(super) fn gradient_normal(xi: &ArrayView3<Real>, f: [f64; 3]) -> Option<[f32; 3]> {
    let (nx, ny, nz) = xi.dim();
    let dims = [nx, ny, nz];
    let g = trilinear_with(dims, f, |cell, w| {
        let mut g = [0.0f64; 3];
        for a in 0..3 {
            let (mut lo, mut hi) = (cell, cell);
            lo[a] = cell[a].saturating_sub(1);
            hi[a] = (cell[a] + 1).min(dims[a] - 1);
            if hi[a] > lo[a] {
                g[a] = w * f64::from(xi[hi] - xi[lo]) / (hi[a] - lo[a]) as f64;
            }
        }
        g.iter().all(|v| v.is_finite()).then_some(Vec3(g))
    })?;
    unit([-g.0[0] as f32, -g.0[1] as f32, -g.0[2] as f32])
}

/// A summable 3-vector for [`trilinear_with`].
#[derive(Clone, Copy, Default)]
pub(super) struct Vec3([f64; 3]);

impl std::ops::Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        Vec3([self.0[0] + o.0[0], self.0[1] + o.0[1], self.0[2] + o.0[2]])
    }
}

pub(super) fn unit(v: [f32; 3]) -> Option<[f32; 3]> {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    (n.is_finite() && n > 1e-20).then(|| v.map(|c| c / n))
}
