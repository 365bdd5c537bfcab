//! Grid kernels of the multigrid solver for `a u − ∇·(k ∇u) = f` on the cell-centred grid.
//!
//! Each kernel is a loop over the x layers of a level (ny·nz cells each) and within a layer
//! over its lines ([`stencil`](super::stencil)); it has a WGSL twin with the same name. Fields
//! are flat slices in the grid's row-major order (z fastest), as GPU buffers are; the level's
//! [`Operator`] holds a and the face coefficients. Layers are processed with rayon on large
//! levels and serially on small ones, where thread start-up would cost more than the work.
//! The transfers between levels are in [`transfers`](super::transfers), the residual's
//! statistics in [`statistics`](super::statistics); both are re-exported here.

use rayon::prelude::*;

pub use super::operator::Operator;
pub use super::statistics::{
    operator_sum, residual_norms_squared, residual_statistics, residual_with_statistics,
    right_hand_side_norms,
};
pub use super::stencil::Value;
use super::stencil::{Faces, Scratch};
pub use super::transfers::{
    face_coefficients, prolong_bilinear, restrict_face_coefficients, restrict_full_weighting,
};
use crate::grid::Real;
use crate::numerics::Bcs;

/// Levels with fewer cells than this run on one thread, where rayon's start-up costs more
/// than the second core gains. Per V-cycle per unknown (tests/multigrid.rs
/// `time_per_cycle_per_unknown`, best of 5): 16 ns at 128² serial; at 256², 14 ns on one
/// thread and 11–15 ns on two; from 512² up, 9–11 ns on two threads against 13–19 on one.
pub const PARALLEL_MIN_CELLS: usize = 256 * 256;

/// Runs `body(i, layer_i)` over the consecutive layers of `layer` values of `out`.
pub(super) fn for_each_layer<T, F>(out: &mut [T], layer: usize, body: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    if out.len() >= PARALLEL_MIN_CELLS {
        out.par_chunks_mut(layer)
            .enumerate()
            .for_each(|(i, l)| body(i, l));
    } else {
        out.chunks_mut(layer)
            .enumerate()
            .for_each(|(i, l)| body(i, l));
    }
}

/// Σ over the `nx` layers of `body(i)` by `add` (rayon on large levels, in layer order on small
/// ones); `cells` decides which.
pub(super) fn sum_layers<R, F>(nx: usize, cells: usize, body: F, add: fn(R, R) -> R) -> R
where
    R: Default + Send,
    F: Fn(usize) -> R + Sync + Send,
{
    if cells >= PARALLEL_MIN_CELLS {
        (0..nx).into_par_iter().map(body).reduce(R::default, add)
    } else {
        (0..nx).map(body).fold(R::default(), add)
    }
}

/// One colour of red-black Gauss–Seidel for a u − Σ_f k_f (u_nb − u)/dx² = f on the cells with
/// (i + j + k) mod 2 = colour: u += (f − a u + Σ w (u_nb − u)) / (a + Σ w). Same-colour cells
/// never neighbour each other, so the order within a colour is free (the GPU twin updates them
/// all at once).
pub fn smooth_red_black(op: &Operator, u: &mut [Real], f: &[Real], bcs: Bcs, colour: usize) {
    relax_layers(op, u, f, bcs, colour, None);
}

/// [`smooth_red_black`] with colour `first`, then with the other colour, in one pass over
/// memory, bit for bit: within a block of layers, the second colour of layer i − 1 is updated
/// right after the first colour of layer i (the wavefront of red-black Gauss–Seidel), while the
/// layers are in cache. A block reads its neighbours' edge layers from copies taken before the
/// sweep (it needs only their second-colour cells, which no block changes in that phase) and
/// leaves its own first and last layers' second colour to a closing pass, when every
/// first-colour cell is done. Same-colour cells never neighbour each other, so the order within
/// a colour is free and the result equals the two separate colour passes.
pub fn smooth_red_black_sweep(op: &Operator, u: &mut [Real], f: &[Real], bcs: Bcs, first: usize) {
    relax_layers(op, u, f, bcs, first, Some(1 - first));
}

/// Layers per task of [`smooth_red_black_sweep`].
const SWEEP_BLOCK_LAYERS: usize = 32;

/// Copies of the layers just below and above a block of [`relax_layers`].
type Halo = (Vec<Real>, Vec<Real>);

/// Colour `first`, then (the wavefront of [`smooth_red_black_sweep`]) colour `second`.
fn relax_layers(
    op: &Operator,
    u: &mut [Real],
    f: &[Real],
    bcs: Bcs,
    first: usize,
    second: Option<usize>,
) {
    let grid = op.grid;
    let nx = grid.nx;
    assert_eq!(u.len(), grid.cells(), "u has the wrong length");
    assert_eq!(f.len(), grid.cells(), "f has the wrong length");
    let faces = Faces::of(op);
    let lines = faces.lines;
    let layer = lines.layer;
    // Small levels: one block of all layers, on this thread.
    let parallel = grid.cells() >= PARALLEL_MIN_CELLS && nx >= 2 * SWEEP_BLOCK_LAYERS;
    let block_layers = if parallel { SWEEP_BLOCK_LAYERS } else { nx };
    let a = &op.a[..];
    // Colour `colour` of layer i (values `u_layer`) between the layers `west` and `east`.
    let update = |i: usize,
                  u_layer: &mut [Real],
                  west: &[Real],
                  east: &[Real],
                  colour: usize,
                  scratch: &mut Scratch| {
        for j in 0..lines.lines {
            let (line, lateral) = lines.split(u_layer, j);
            let st = faces.line(i, j, west, east, lateral, bcs);
            let cells = i * layer + j * lines.len..i * layer + (j + 1) * lines.len;
            let start = (colour + i + j) % 2;
            st.relax(line, &f[cells.clone()], &a[cells], start, scratch);
        }
    };
    let blocks = nx.div_ceil(block_layers);
    let bounds = |b: usize| (b * block_layers, ((b + 1) * block_layers).min(nx));
    // The layers just outside each block, as they are before the sweep.
    let halo: Vec<Halo> = (0..blocks)
        .map(|b| {
            let (r0, r1) = bounds(b);
            let copy = |r: usize| u[r * layer..(r + 1) * layer].to_vec();
            (
                if r0 > 0 { copy(r0 - 1) } else { Vec::new() },
                if r1 < nx { copy(r1) } else { Vec::new() },
            )
        })
        .collect();
    let run_block = |(b, (layers, (below, above))): (usize, (&mut [Real], &Halo))| {
        let r0 = bounds(b).0;
        let n = layers.len() / layer;
        let mut scratch = Scratch::new();
        // Layer t of the block with its neighbours (the halo copies past the block's edges).
        let mut with_layer = |t: usize, colour: usize| {
            let (head, rest) = layers.split_at_mut(t * layer);
            let (layer_t, tail) = rest.split_at_mut(layer);
            let west: &[Real] = if t > 0 {
                &head[(t - 1) * layer..]
            } else {
                below
            };
            let east: &[Real] = if t + 1 < n { &tail[..layer] } else { above };
            update(r0 + t, layer_t, west, east, colour, &mut scratch);
        };
        for t in 0..n {
            with_layer(t, first);
            if let Some(second) = second.filter(|_| t >= 2) {
                with_layer(t - 1, second);
            }
        }
    };
    let block = block_layers * layer;
    if parallel {
        u.par_chunks_mut(block)
            .zip(&halo)
            .enumerate()
            .for_each(run_block);
    } else {
        u.chunks_mut(block)
            .zip(&halo)
            .enumerate()
            .for_each(run_block);
    }
    let Some(second) = second else { return };
    // The second colour of each block's first and last layers, now that all first-colour cells
    // are done (these layers never neighbour each other across blocks of ≥ 2 layers).
    let mut edges: Vec<usize> = (0..blocks)
        .flat_map(|b| {
            let (r0, r1) = bounds(b);
            [r0, r1 - 1]
        })
        .collect();
    edges.dedup();
    let mut scratch = Scratch::new();
    for i in edges {
        let (head, rest) = u.split_at_mut(i * layer);
        let (layer_i, tail) = rest.split_at_mut(layer);
        let west: &[Real] = if i > 0 { &head[(i - 1) * layer..] } else { &[] };
        let east: &[Real] = if i + 1 < nx { &tail[..layer] } else { &[] };
        update(i, layer_i, west, east, second, &mut scratch);
    }
}

/// Residual r = f − a u + Σ_f k_f (u_nb − u)/dx², i.e. b − A u with the wall values in b.
pub fn residual(op: &Operator, u: &[Real], f: &[Real], bcs: Bcs, r: &mut [Real]) {
    let faces = Faces::of(op);
    let lines = faces.lines;
    for_each_layer(r, lines.layer, |i, r_layer| {
        for j in 0..lines.lines {
            let cells = i * lines.layer + j * lines.len;
            let st = faces.line_of(i, j, u, bcs);
            let (u_line, f_line) = (&u[cells..cells + lines.len], &f[cells..]);
            let (a_line, r_line) = (&op.a[cells..], &mut r_layer[lines.range(j)]);
            st.for_each_balance(u_line, |t, flux, _| {
                r_line[t] = f_line[t] - a_line[t] * u_line[t] + flux;
            });
        }
    });
}

/// Operator q = A p = a p − Σ_f k_f (p_nb − p)/dx² with homogeneous wall conditions.
pub fn apply_operator(op: &Operator, p: &[Real], bcs: Bcs, q: &mut [Real]) {
    let bcs = bcs.homogeneous();
    let faces = Faces::of(op);
    let lines = faces.lines;
    for_each_layer(q, lines.layer, |i, q_layer| {
        for j in 0..lines.lines {
            let cells = i * lines.layer + j * lines.len;
            let st = faces.line_of(i, j, p, bcs);
            let (p_line, a_line) = (&p[cells..cells + lines.len], &op.a[cells..]);
            let q_line = &mut q_layer[lines.range(j)];
            st.for_each_balance(p_line, |t, flux, _| {
                q_line[t] = a_line[t] * p_line[t] - flux
            });
        }
    });
}

/// u += e: the f32 correction added to the f64 iterate of the refinement; returns max |w e| (w
/// = `weights`, or 1 without them).
pub fn add_correction(u: &mut [f64], e: &[Real], weights: Option<&[Real]>) -> f64 {
    match weights {
        Some(w) => u
            .par_iter_mut()
            .zip(e)
            .zip(w)
            .fold(
                || 0.0f64,
                |largest, ((u, &e), &w)| {
                    *u += f64::from(e);
                    largest.max(f64::from(w * e).abs())
                },
            )
            .reduce(|| 0.0, f64::max),
        None => u
            .par_iter_mut()
            .zip(e)
            .fold(
                || 0.0f64,
                |largest, (u, &e)| {
                    *u += f64::from(e);
                    largest.max(f64::from(e).abs())
                },
            )
            .reduce(|| 0.0, f64::max),
    }
}

/// Inner product Σ x y, accumulated in f64 (by layers of `layer` values).
pub fn dot(x: &[Real], y: &[Real], layer: usize) -> f64 {
    let layer_dot = |i: usize| -> f64 {
        let cells = i * layer..(i + 1) * layer;
        x[cells.clone()]
            .iter()
            .zip(&y[cells])
            .map(|(&p, &q)| f64::from(p) * f64::from(q))
            .sum()
    };
    sum_layers(x.len() / layer, x.len(), layer_dot, |p, q| p + q)
}

/// y += α x.
pub fn add_scaled(y: &mut [Real], alpha: Real, x: &[Real], layer: usize) {
    for_each_layer(y, layer, |i, y_layer| {
        y_layer
            .iter_mut()
            .zip(&x[i * layer..])
            .for_each(|(yj, &xj)| *yj += alpha * xj);
    });
}

/// p = z + β p (the conjugate-gradient direction update).
pub fn scale_and_add(p: &mut [Real], beta: Real, z: &[Real], layer: usize) {
    for_each_layer(p, layer, |i, p_layer| {
        p_layer
            .iter_mut()
            .zip(&z[i * layer..])
            .for_each(|(pj, &zj)| *pj = zj + beta * *pj);
    });
}
