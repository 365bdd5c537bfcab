//! Grid kernels of the multigrid solver for `a u − ∇·(k ∇u) = f` on the cell-centred grid.
//!
//! Each kernel is a plain loop over cells (rows `i` along x, contiguous `j` along the periodic y)
//! and will get a WGSL twin with the same name and argument order. Fields must be in standard
//! (row-major) layout, as GPU buffers are. Rows are processed with rayon on large levels and
//! serially on small ones, where thread start-up would cost more than the work.
//!
//! Storage of the face coefficients (already divided by nothing: plain conductivities):
//! - `kx_faces` has shape `(nx + 1, ny)`: entry `[i, j]` is the face between cells `i − 1` and
//!   `i`; entries `0` and `nx` are the two x walls and hold the conductance of the half cell
//!   between the wall and the first cell centre (on the finest level, the cell's own k).
//! - `ky_faces` has shape `(nx, ny)`: entry `[i, j]` is the face between cells `j − 1` and `j`
//!   (periodic, so `[i, 0]` joins `ny − 1` and `0`).

use ndarray::{s, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

pub use super::stencil::Value;
use super::stencil::{row, Faces, RowStencil, Scratch, CHUNK};
use crate::grid::Real;
use crate::numerics::{Bcs, Boundary, ResidualStatistics};

/// Levels with fewer cells than this run on one thread, where rayon's start-up costs more
/// than the second core gains. Per V-cycle per unknown (tests/multigrid.rs
/// `time_per_cycle_per_unknown`, best of 5): 16 ns at 128² serial; at 256², 14 ns on one
/// thread and 11–15 ns on two; from 512² up, 9–11 ns on two threads against 13–19 on one.
pub const PARALLEL_MIN_CELLS: usize = 256 * 256;

/// Runs `body(i, row_i)` over the rows of `out`, where `i = 2·index + parity` when `out` holds
/// every other row (`stride == 2`) and `i = index` otherwise.
fn for_each_row<F>(mut out: ArrayViewMut2<Real>, stride: usize, parity: usize, body: F)
where
    F: Fn(usize, &mut [Real]) + Sync + Send,
{
    let parallel = out.len() * stride >= PARALLEL_MIN_CELLS;
    let rows = out.axis_iter_mut(Axis(0));
    let run = |(k, mut r): (usize, ndarray::ArrayViewMut1<Real>)| {
        body(
            stride * k + parity,
            r.as_slice_mut().expect("rows must be contiguous"),
        )
    };
    if parallel {
        rows.into_par_iter().enumerate().for_each(run);
    } else {
        rows.enumerate().for_each(run);
    }
}

/// Σ over rows of `body(i)` by `add` (rayon on large levels, in row order on small ones).
fn sum_rows<R, F>(nx: usize, ny: usize, body: F, add: fn(R, R) -> R) -> R
where
    R: Default + Send,
    F: Fn(usize) -> R + Sync + Send,
{
    if nx * ny >= PARALLEL_MIN_CELLS {
        (0..nx).into_par_iter().map(body).reduce(R::default, add)
    } else {
        (0..nx).map(body).fold(R::default(), add)
    }
}

/// Harmonic face conductivities k_f = 2 k_L k_R/(k_L + k_R); the wall faces take the cell's k.
pub fn face_coefficients(
    k: ArrayView2<Real>,
    kx_faces: ArrayViewMut2<Real>,
    ky_faces: ArrayViewMut2<Real>,
) {
    let nx = k.nrows();
    let harmonic = |l: Real, r: Real| 2.0 * l * r / (l + r);
    for_each_row(kx_faces, 1, 0, |i, out| {
        if i == 0 || i == nx {
            out.copy_from_slice(row(&k, i.min(nx - 1)));
        } else {
            let (l, r) = (row(&k, i - 1), row(&k, i));
            out.iter_mut()
                .enumerate()
                .for_each(|(j, o)| *o = harmonic(l[j], r[j]));
        }
    });
    for_each_row(ky_faces, 1, 0, |i, out| {
        let c = row(&k, i);
        let ny = c.len();
        out.iter_mut()
            .enumerate()
            .for_each(|(j, o)| *o = harmonic(c[(j + ny - 1) % ny], c[j]));
    });
}

/// Coarse face conductivities matching the energy Σ k_f |∇(P e)|² of a bilinearly prolonged
/// correction: across the face K = ¼ k_behind + ½ k_on + ¼ k_ahead (the fine faces inside the
/// coarse cell behind, on, and inside the cell ahead), along it the mean of the 2 fine rows; a wall
/// face K = ½ (k_wall + k_first).
pub fn restrict_face_coefficients(
    kx_fine: ArrayView2<Real>,
    ky_fine: ArrayView2<Real>,
    kx_coarse: ArrayViewMut2<Real>,
    ky_coarse: ArrayViewMut2<Real>,
) {
    let (nxf, nyf) = ky_fine.dim();
    let nxc = nxf / 2;
    for_each_row(kx_coarse, 1, 0, |ic, out| {
        let across = |jf: usize| {
            let k = |i: usize| kx_fine[[i, jf]];
            match ic {
                0 => 0.5 * (k(0) + k(1)),
                _ if ic == nxc => 0.5 * (k(nxf) + k(nxf - 1)),
                _ => 0.25 * k(2 * ic - 1) + 0.5 * k(2 * ic) + 0.25 * k(2 * ic + 1),
            }
        };
        out.iter_mut()
            .enumerate()
            .for_each(|(jc, o)| *o = 0.5 * (across(2 * jc) + across(2 * jc + 1)));
    });
    for_each_row(ky_coarse, 1, 0, |ic, out| {
        let across = |k: &[Real], jc: usize| {
            0.25 * k[(2 * jc + nyf - 1) % nyf] + 0.5 * k[2 * jc] + 0.25 * k[(2 * jc + 1) % nyf]
        };
        let (k0, k1) = (row(&ky_fine, 2 * ic), row(&ky_fine, 2 * ic + 1));
        out.iter_mut()
            .enumerate()
            .for_each(|(jc, o)| *o = 0.5 * (across(k0, jc) + across(k1, jc)));
    });
}

/// Cell-centred full weighting: coarse = ¼ Σ of the 4 children.
pub fn restrict_full_weighting(fine: ArrayView2<Real>, coarse: ArrayViewMut2<Real>) {
    for_each_row(coarse, 1, 0, |ic, out| {
        let (f0, f1) = (row(&fine, 2 * ic), row(&fine, 2 * ic + 1));
        out.iter_mut().enumerate().for_each(|(jc, o)| {
            let j = 2 * jc;
            *o = 0.25 * (f0[j] + f0[j + 1] + f1[j] + f1[j + 1]);
        });
    });
}

/// Adds the cell-centred bilinear interpolant of the coarse correction to `fine`:
/// e_f = (9 e_own + 3 e_x + 3 e_y + e_diag)/16, ghost beyond an x wall = −e₀ (Dirichlet) or
/// +e₀ (Neumann), periodic in y.
pub fn prolong_bilinear(coarse: ArrayView2<Real>, fine: ArrayViewMut2<Real>, bcs: Bcs) {
    let nxc = coarse.nrows();
    let nyc = coarse.ncols();
    for_each_row(fine, 1, 0, |i, out| {
        let ic = i / 2;
        let (inb, sign) = match (i % 2, ic) {
            (0, 0) => (0, bcs.x_lo.ghost_sign()),
            (0, _) => (ic - 1, 1.0),
            (_, _) if ic + 1 == nxc => (ic, bcs.x_hi.ghost_sign()),
            _ => (ic + 1, 1.0),
        };
        let (own, nb) = (row(&coarse, ic), row(&coarse, inb));
        // The fine pair (2 jc, 2 jc + 1) takes its lateral neighbour from jc − 1 and jc + 1.
        let value = |jc: usize, jn: usize| {
            (9.0 * own[jc] + 3.0 * own[jn] + sign * (3.0 * nb[jc] + nb[jn])) * (1.0 / 16.0)
        };
        let last = nyc - 1;
        let (prev, next) = (
            |jc: usize| if jc == 0 { last } else { jc - 1 },
            |jc: usize| if jc == last { 0 } else { jc + 1 },
        );
        let ends: &[usize] = if last == 0 { &[0] } else { &[0, last] };
        for &jc in ends {
            out[2 * jc] += value(jc, prev(jc));
            out[2 * jc + 1] += value(jc, next(jc));
        }
        if nyc > 2 {
            // The interior pairs from shifted slices: no index arithmetic per cell, so the loop
            // vectorises (it was 15 % of a 2048² step with a modulo per cell).
            let interior = out[2..2 * last].chunks_exact_mut(2);
            let coarse_cells = own[1..last]
                .iter()
                .zip(&own[..last - 1])
                .zip(&own[2..])
                .zip(nb[1..last].iter().zip(&nb[..last - 1]).zip(&nb[2..]));
            for (pair, (((&o, &ol), &or), ((&n, &nl), &nr))) in interior.zip(coarse_cells) {
                pair[0] += (9.0 * o + 3.0 * ol + sign * (3.0 * n + nl)) * (1.0 / 16.0);
                pair[1] += (9.0 * o + 3.0 * or + sign * (3.0 * n + nr)) * (1.0 / 16.0);
            }
        }
    });
}

/// One colour of red-black Gauss–Seidel for a u − Σ_f k_f (u_nb − u)/dx² = f on the cells with
/// (i + j) mod 2 = colour: u += (f − a u + Σ w (u_nb − u)) / (a + Σ w).
#[allow(clippy::too_many_arguments)]
pub fn smooth_red_black(
    u: ArrayViewMut2<Real>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    colour: usize,
) {
    let nx = u.nrows();
    // The even and odd rows are disjoint views: update one set while the other is read, then
    // the other way round. Same-colour cells never neighbour each other, so this is exactly
    // red-black Gauss–Seidel (the GPU twin updates all rows of a colour at once).
    let mut u = u;
    for parity in 0..2 {
        let (even, odd) = u.multi_slice_mut((s![0..;2, ..], s![1..;2, ..]));
        let (update, other) = if parity == 0 {
            (even, odd)
        } else {
            (odd, even)
        };
        let other = other.view();
        for_each_row(update, 2, parity, |i, u_row| {
            // Rows i ± 1 have the other parity: row r is entry r/2 of `other`.
            let other_row = |r: usize| row(&other, r / 2);
            let west = if i > 0 { other_row(i - 1) } else { &[] };
            let east = if i + 1 < nx { other_row(i + 1) } else { &[] };
            let (kx, ky) = (kx_faces.view(), ky_faces.view());
            let st = RowStencil::new(i, nx, west, east, kx, ky, bcs, dx);
            let scratch = &mut Scratch::new();
            st.relax(u_row, row(&f, i), row(&a, i), (colour + i) % 2, scratch);
        });
    }
}

/// Copies of the rows just below and above a block of [`smooth_red_black_sweep`].
type Halo = (Vec<Real>, Vec<Real>);

/// Rows per task of [`smooth_red_black_sweep`].
const SWEEP_BLOCK_ROWS: usize = 32;

/// [`smooth_red_black`] with colour `first`, then with the other colour, in one pass over
/// memory, bit for bit: within a block of rows, the second colour of row i − 1 is updated right
/// after the first colour of row i (the wavefront of red-black Gauss–Seidel), while the rows
/// are in cache. A block reads its neighbours' edge rows from copies taken before the sweep (it
/// needs only their second-colour cells, which no block changes in that phase) and leaves its
/// own first and last rows' second colour to a closing pass, when every first-colour cell is
/// done. Same-colour cells never neighbour each other, so the order within a colour is free and
/// the result equals the two separate colour passes.
#[allow(clippy::too_many_arguments)]
pub fn smooth_red_black_sweep(
    mut u: ArrayViewMut2<Real>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    first: usize,
) {
    let (nx, ny) = u.dim();
    // Small levels: one block of all rows, on this thread.
    let parallel = nx * ny >= PARALLEL_MIN_CELLS && nx >= 2 * SWEEP_BLOCK_ROWS;
    let block_rows = if parallel { SWEEP_BLOCK_ROWS } else { nx };
    let second = 1 - first;
    let faces = Faces::of(kx_faces, ky_faces, dx);
    let (f, a) = (
        f.to_slice().expect("row-major f"),
        a.to_slice().expect("row-major a"),
    );
    let update = |i: usize,
                  u_row: &mut [Real],
                  west: &[Real],
                  east: &[Real],
                  colour: usize,
                  scratch: &mut Scratch| {
        let st = RowStencil::of_faces(i, nx, west, east, &faces, bcs);
        let cells = i * ny..(i + 1) * ny;
        st.relax(
            u_row,
            &f[cells.clone()],
            &a[cells],
            (colour + i) % 2,
            scratch,
        );
    };
    let cells = u
        .as_slice_mut()
        .expect("fields must be in standard (row-major) layout");
    let blocks = nx.div_ceil(block_rows);
    let bounds = |b: usize| (b * block_rows, ((b + 1) * block_rows).min(nx));
    // The rows just outside each block, as they are before the sweep.
    let halo: Vec<Halo> = (0..blocks)
        .map(|b| {
            let (r0, r1) = bounds(b);
            let copy = |r: usize| cells[r * ny..(r + 1) * ny].to_vec();
            (
                if r0 > 0 { copy(r0 - 1) } else { Vec::new() },
                if r1 < nx { copy(r1) } else { Vec::new() },
            )
        })
        .collect();
    let run_block = |(b, (rows, (below, above))): (usize, (&mut [Real], &Halo))| {
        let r0 = bounds(b).0;
        let n = rows.len() / ny;
        let mut scratch = Scratch::new();
        // Row t of the block with its neighbours (the halo copies past the block's edges).
        let mut with_row = |t: usize, colour: usize| {
            let (head, rest) = rows.split_at_mut(t * ny);
            let (row_t, tail) = rest.split_at_mut(ny);
            let west: &[Real] = if t > 0 { &head[(t - 1) * ny..] } else { below };
            let east: &[Real] = if t + 1 < n { &tail[..ny] } else { above };
            update(r0 + t, row_t, west, east, colour, &mut scratch);
        };
        for t in 0..n {
            with_row(t, first);
            if t >= 2 {
                with_row(t - 1, second);
            }
        }
    };
    let block = block_rows * ny;
    if parallel {
        cells
            .par_chunks_mut(block)
            .zip(&halo)
            .enumerate()
            .for_each(run_block);
    } else {
        cells
            .chunks_mut(block)
            .zip(&halo)
            .enumerate()
            .for_each(run_block);
    }
    // The second colour of each block's first and last rows, now that all first-colour cells
    // are done (these rows never neighbour each other across blocks of ≥ 2 rows).
    let mut edges: Vec<usize> = (0..blocks)
        .flat_map(|b| {
            let (r0, r1) = bounds(b);
            [r0, r1 - 1]
        })
        .collect();
    edges.dedup();
    let mut scratch = Scratch::new();
    for i in edges {
        let (head, rest) = cells.split_at_mut(i * ny);
        let (row_i, tail) = rest.split_at_mut(ny);
        let west: &[Real] = if i > 0 { &head[(i - 1) * ny..] } else { &[] };
        let east: &[Real] = if i + 1 < nx { &tail[..ny] } else { &[] };
        update(i, row_i, west, east, second, &mut scratch);
    }
}

/// Residual r = f − a u + Σ_f k_f (u_nb − u)/dx², i.e. b − A u with the wall values in b.
#[allow(clippy::too_many_arguments)]
pub fn residual(
    u: ArrayView2<Real>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    r: ArrayViewMut2<Real>,
) {
    for_each_row(r, 1, 0, |i, r_row| {
        let st = RowStencil::of(i, u.view(), kx_faces.view(), ky_faces.view(), bcs, dx);
        let (u_row, f_row, a_row) = (row(&u, i), row(&f, i), row(&a, i));
        st.for_each_balance(u_row, |j, flux, _| {
            r_row[j] = f_row[j] - a_row[j] * u_row[j] + flux;
        });
    });
}

/// Operator q = A p = a p − Σ_f k_f (p_nb − p)/dx² with homogeneous wall conditions.
pub fn apply_operator(
    p: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    q: ArrayViewMut2<Real>,
) {
    let bcs = bcs.homogeneous();
    for_each_row(q, 1, 0, |i, q_row| {
        let st = RowStencil::of(i, p.view(), kx_faces.view(), ky_faces.view(), bcs, dx);
        let (p_row, a_row) = (row(&p, i), row(&a, i));
        st.for_each_balance(p_row, |j, flux, _| q_row[j] = a_row[j] * p_row[j] - flux);
    });
}

/// (Σ (b − A u)², Σ b²) in f64, with b = f + the wall terms 2 k_wall g/dx² of the edge cells.
#[allow(clippy::too_many_arguments)]
pub fn residual_norms_squared(
    u: ArrayView2<Real>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
) -> (f64, f64) {
    let s = residual_statistics(u, f, a, kx_faces, ky_faces, bcs, dx);
    (s.r2, s.b2)
}

/// r = b − A u with its norms, sum and the diagonal scale of A u, in one pass over the grid.
#[allow(clippy::too_many_arguments)]
pub fn residual_statistics<T: Value>(
    u: ArrayView2<T>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
) -> ResidualStatistics {
    let (nx, ny) = u.dim();
    let row_stats =
        |i: usize| row_statistics(i, u.view(), f, a, kx_faces, ky_faces, bcs, dx, |_, _| {});
    sum_rows(nx, ny, row_stats, std::ops::Add::add)
}

/// [`residual_statistics`] of an f64 iterate, computed in f64 (no f32 rounding of u or of the
/// fluxes), also writing r = b − A u rounded to f32 (the right-hand side of the correction).
#[allow(clippy::too_many_arguments)]
pub fn residual_with_statistics(
    u: ArrayView2<f64>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    mut r: ArrayViewMut2<Real>,
) -> ResidualStatistics {
    let (nx, ny) = u.dim();
    let row_stats = |(i, mut r_row): (usize, ndarray::ArrayViewMut1<Real>)| {
        let r_row = r_row.as_slice_mut().expect("rows must be contiguous");
        row_statistics(i, u.view(), f, a, kx_faces, ky_faces, bcs, dx, |j0, r| {
            for (o, &rj) in r_row[j0..j0 + r.len()].iter_mut().zip(r) {
                *o = rj as Real;
            }
        })
    };
    let rows = r.axis_iter_mut(Axis(0));
    if nx * ny >= PARALLEL_MIN_CELLS {
        rows.into_par_iter()
            .enumerate()
            .map(row_stats)
            .reduce(ResidualStatistics::default, std::ops::Add::add)
    } else {
        rows.enumerate()
            .map(row_stats)
            .fold(ResidualStatistics::default(), std::ops::Add::add)
    }
}

/// Accumulators of [`ResidualStatistics`] in four interleaved lanes, so that the f64 sums
/// vectorise (one lane per cell mod 4 within a chunk); folded at the end of the row.
#[derive(Default)]
struct StatisticLanes {
    r2: [f64; 4],
    b2: [f64; 4],
    r_sum: [f64; 4],
    b_abs_sum: [f64; 4],
    scale2: [f64; 4],
}

impl StatisticLanes {
    #[inline(always)]
    fn add(&mut self, r: &[f64], m: &[f64], b: &[f64], scale: &[f64]) {
        let quads = r.len() / 4 * 4;
        for q in (0..quads).step_by(4) {
            for l in 0..4 {
                let (r, b, s) = (r[q + l], b[q + l], scale[q + l]);
                self.r2[l] += r * r;
                self.b2[l] += b * b;
                self.r_sum[l] += m[q + l];
                self.b_abs_sum[l] += b.abs();
                self.scale2[l] += s * s;
            }
        }
        for t in quads..r.len() {
            let (r, b, s) = (r[t], b[t], scale[t]);
            self.r2[0] += r * r;
            self.b2[0] += b * b;
            self.r_sum[0] += m[t];
            self.b_abs_sum[0] += b.abs();
            self.scale2[0] += s * s;
        }
    }

    fn fold(&self) -> ResidualStatistics {
        let sum = |v: &[f64; 4]| (v[0] + v[1]) + (v[2] + v[3]);
        ResidualStatistics {
            r2: sum(&self.r2),
            b2: sum(&self.b2),
            r_sum: sum(&self.r_sum),
            b_abs_sum: sum(&self.b_abs_sum),
            scale2: sum(&self.scale2),
        }
    }
}

/// The statistics of row `i`, handing each chunk of residuals to `write(j0, r)`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn row_statistics<T: Value>(
    i: usize,
    u: ArrayView2<T>,
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    ky_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    mut write: impl FnMut(usize, &[f64]),
) -> ResidualStatistics {
    let nx = u.nrows();
    let inv_dx2 = 1.0 / (dx * dx);
    // A wall face's weight factor·k_wall/dx² and value g: b = f plus, on a wall row, the known
    // term w g; the row's mass balance gains the wall flux w (g − u).
    let wall = |b: Boundary, face_row: usize| {
        let (g, factor) = b.wall();
        let k = row(&kx_faces, face_row);
        move |j: usize| (f64::from(factor) * f64::from(k[j]) * inv_dx2, f64::from(g))
    };
    let (lo, hi) = (wall(bcs.x_lo, 0), wall(bcs.x_hi, nx));
    let st = RowStencil::of(i, u.view(), kx_faces.view(), ky_faces.view(), bcs, dx);
    let (u_row, f_row, a_row) = (row(&u, i), row(&f, i), row(&a, i));
    let mut lanes = StatisticLanes::default();
    let (mut r, mut m, mut b, mut scale) = ([0.0; CHUNK], [0.0; CHUNK], [0.0; CHUNK], [0.0; CHUNK]);
    st.for_each_chunk(u_row, |j0, flux, diag| {
        let n = flux.len();
        let (r, m, b, scale) = (&mut r[..n], &mut m[..n], &mut b[..n], &mut scale[..n]);
        let cells = j0..j0 + n;
        let (u, f, a) = (&u_row[cells.clone()], &f_row[cells.clone()], &a_row[cells]);
        for t in 0..n {
            let (uj, aj) = (u[t].to_f64(), f64::from(a[t]));
            // f32 × f32 is exact in f64: m is the cell's exact f − a u.
            m[t] = f64::from(f[t]) - aj * uj;
            r[t] = m[t] + flux[t].to_f64();
            b[t] = f64::from(f[t]);
            scale[t] = (aj + diag[t].to_f64()) * uj.abs();
        }
        for (is_wall_row, side) in [(i == 0, &lo), (i + 1 == nx, &hi)] {
            if is_wall_row {
                for t in 0..n {
                    let (w, g) = side(j0 + t);
                    b[t] += w * g;
                    m[t] += w * (g - u[t].to_f64());
                }
            }
        }
        write(j0, r);
        lanes.add(r, m, b, scale);
    });
    lanes.fold()
}

/// u += e: the f32 correction added to the f64 iterate of the refinement; returns max |w e| (w
/// = `weights`, or 1 without them).
pub fn add_correction(
    mut u: ArrayViewMut2<f64>,
    e: ArrayView2<Real>,
    weights: Option<ArrayView2<Real>>,
) -> f64 {
    match weights {
        Some(w) => ndarray::Zip::from(&mut u).and(&e).and(&w).par_fold(
            || 0.0f64,
            |largest, u, &e, &w| {
                *u += f64::from(e);
                largest.max(f64::from(w * e).abs())
            },
            f64::max,
        ),
        None => ndarray::Zip::from(&mut u).and(&e).par_fold(
            || 0.0f64,
            |largest, u, &e| {
                *u += f64::from(e);
                largest.max(f64::from(e).abs())
            },
            f64::max,
        ),
    }
}

/// (‖b‖₂², Σ |b|) of b = f + offset·a, plus on a wall row the wall term w (g + offset): the
/// right-hand side of the equation for v = u + offset (f64 accumulation).
pub fn right_hand_side_norms(
    f: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
    offset: Real,
) -> (f64, f64) {
    let (nx, ny) = f.dim();
    let (offset, inv_dx2) = (f64::from(offset), 1.0 / (dx * dx));
    let wall = |b: Boundary, face_row: usize, j: usize| {
        let (g, factor) = b.wall();
        let w = f64::from(factor) * f64::from(kx_faces[[face_row, j]]) * inv_dx2;
        w * (f64::from(g) + offset)
    };
    let row_norms = |i: usize| {
        let (f_row, a_row) = (row(&f, i), row(&a, i));
        (0..ny).fold((0.0, 0.0), |(b2, b_abs), j| {
            let mut b = f64::from(f_row[j]) + offset * f64::from(a_row[j]);
            if i == 0 {
                b += wall(bcs.x_lo, 0, j);
            }
            if i + 1 == nx {
                b += wall(bcs.x_hi, nx, j);
            }
            (b2 + b * b, b_abs + b.abs())
        })
    };
    sum_rows(nx, ny, row_norms, |p: (f64, f64), q: (f64, f64)| {
        (p.0 + q.0, p.1 + q.1)
    })
}

/// Σ (A z) with homogeneous walls, exactly (f64 of f32 products): Σ a z plus the wall
/// weights times the wall rows' z; the interior fluxes cancel pairwise.
pub fn operator_sum(
    z: ArrayView2<Real>,
    a: ArrayView2<Real>,
    kx_faces: ArrayView2<Real>,
    bcs: Bcs,
    dx: f64,
) -> f64 {
    let (nx, ny) = z.dim();
    let inv_dx2 = 1.0 / (dx * dx);
    let wall = |b: Boundary, face_row: usize, j: usize| {
        f64::from(b.wall().1) * f64::from(kx_faces[[face_row, j]]) * inv_dx2
    };
    let row_sum = |i: usize| {
        let (z_row, a_row) = (row(&z, i), row(&a, i));
        (0..ny)
            .map(|j| {
                let mut w = f64::from(a_row[j]);
                if i == 0 {
                    w += wall(bcs.x_lo, 0, j);
                }
                if i + 1 == nx {
                    w += wall(bcs.x_hi, nx, j);
                }
                w * f64::from(z_row[j])
            })
            .sum()
    };
    sum_rows(nx, ny, row_sum, |p: f64, q: f64| p + q)
}

/// Inner product Σ x y, accumulated in f64.
pub fn dot(x: ArrayView2<Real>, y: ArrayView2<Real>) -> f64 {
    let (nx, ny) = x.dim();
    let row_dot = |i: usize| -> f64 {
        row(&x, i)
            .iter()
            .zip(row(&y, i))
            .map(|(&p, &q)| f64::from(p) * f64::from(q))
            .sum()
    };
    sum_rows(nx, ny, row_dot, |p, q| p + q)
}

/// y += α x.
pub fn add_scaled(y: ArrayViewMut2<Real>, alpha: Real, x: ArrayView2<Real>) {
    for_each_row(y, 1, 0, |i, y_row| {
        y_row
            .iter_mut()
            .zip(row(&x, i))
            .for_each(|(yj, &xj)| *yj += alpha * xj);
    });
}

/// p = z + β p (the conjugate-gradient direction update).
pub fn scale_and_add(p: ArrayViewMut2<Real>, beta: Real, z: ArrayView2<Real>) {
    for_each_row(p, 1, 0, |i, p_row| {
        p_row
            .iter_mut()
            .zip(row(&z, i))
            .for_each(|(pj, &zj)| *pj = zj + beta * *pj);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane-summed statistics against plain f64 sums over the residual and b (f plus the
    /// Dirichlet walls' 2 k g/dx²), on a grid with both walls and chunk edges: r2 against the
    /// f32 residual field, r_sum (summed without the interior fluxes) against the residual
    /// evaluated cell by cell in f64, fluxes included; and `right_hand_side_norms`, with and
    /// without an offset.
    #[test]
    fn residual_statistics_equal_plain_sums_of_the_residual_field() {
        let (nx, ny, dx) = (9, 300, 0.7);
        let v = |i: usize, j: usize, s: f64| ((i * ny + j) as f64 * 0.37 + s).sin() as Real;
        let u = ndarray::Array2::from_shape_fn((nx, ny), |(i, j)| v(i, j, 0.0));
        let kx = ndarray::Array2::from_shape_fn((nx + 1, ny), |(i, j)| 1.5 + v(i, j, 1.0));
        let ky = ndarray::Array2::from_shape_fn((nx, ny), |(i, j)| 1.5 + v(i, j, 2.0));
        let f = ndarray::Array2::from_shape_fn((nx, ny), |(i, j)| v(i, j, 3.0));
        let a = ndarray::Array2::from_shape_fn((nx, ny), |(i, j)| 0.5 + 0.25 * v(i, j, 4.0));
        let (g_lo, g_hi) = (-0.2, 0.3);
        let bcs = Bcs {
            x_lo: Boundary::Dirichlet(g_lo),
            x_hi: Boundary::Dirichlet(g_hi),
        };
        let mut r = ndarray::Array2::zeros((nx, ny));
        let (a_, kx_, ky_) = (a.view(), kx.view(), ky.view());
        residual(u.view(), f.view(), a_, kx_, ky_, bcs, dx, r.view_mut());
        let w = |k: Real| f64::from(k) / (dx * dx);
        let wall = |i: usize, j: usize| match i {
            0 => 2.0 * w(kx[[0, j]]) * f64::from(g_lo),
            _ if i + 1 == nx => 2.0 * w(kx[[nx, j]]) * f64::from(g_hi),
            _ => 0.0,
        };
        let b = |i: usize, j: usize| f64::from(f[[i, j]]) + wall(i, j);
        let r64 = |i: usize, j: usize| {
            let uc = f64::from(u[[i, j]]);
            let (jm, jp) = ((j + ny - 1) % ny, (j + 1) % ny);
            let mut balance = w(ky[[i, j]]) * (f64::from(u[[i, jm]]) - uc)
                + w(ky[[i, jp]]) * (f64::from(u[[i, jp]]) - uc);
            balance += match i {
                0 => -2.0 * w(kx[[0, j]]) * uc,
                _ => w(kx[[i, j]]) * (f64::from(u[[i - 1, j]]) - uc),
            };
            balance += if i + 1 == nx {
                -2.0 * w(kx[[nx, j]]) * uc
            } else {
                w(kx[[i + 1, j]]) * (f64::from(u[[i + 1, j]]) - uc)
            };
            b(i, j) - f64::from(a[[i, j]]) * uc + balance
        };
        let cells = || (0..nx).flat_map(|i| (0..ny).map(move |j| (i, j)));
        let r2: f64 = r.iter().map(|&x| f64::from(x).powi(2)).sum();
        let r_sum: f64 = cells().map(|(i, j)| r64(i, j)).sum();
        let b2: f64 = cells().map(|(i, j)| b(i, j).powi(2)).sum();
        let b_abs: f64 = cells().map(|(i, j)| b(i, j).abs()).sum();
        let s = residual_statistics(u.view(), f.view(), a_, kx_, ky_, bcs, dx);
        // The right-hand side of v = u + offset: f + a·offset, walls at g + offset.
        let offset = 0.75;
        let b_offset = |i: usize, j: usize| {
            let w = |k: Real, g: Real| 2.0 * f64::from(k) / (dx * dx) * (f64::from(g) + offset);
            let wall = match i {
                0 => w(kx[[0, j]], g_lo),
                _ if i + 1 == nx => w(kx[[nx, j]], g_hi),
                _ => 0.0,
            };
            f64::from(f[[i, j]]) + offset * f64::from(a[[i, j]]) + wall
        };
        let (ob2, ob_abs) = right_hand_side_norms(f.view(), a_, kx_, bcs, dx, offset as Real);
        let want_ob2: f64 = cells().map(|(i, j)| b_offset(i, j).powi(2)).sum();
        let want_ob_abs: f64 = cells().map(|(i, j)| b_offset(i, j).abs()).sum();
        let (zb2, zb_abs) = right_hand_side_norms(f.view(), a_, kx_, bcs, dx, 0.0);
        for (what, got, want, tol) in [
            ("r2", s.r2, r2, 1e-6),
            ("r_sum", s.r_sum, r_sum, 1e-12),
            ("b2", s.b2, b2, 1e-12),
            ("b_abs_sum", s.b_abs_sum, b_abs, 1e-12),
            ("rhs norm², offset 0", zb2, b2, 1e-12),
            ("rhs Σ|b|, offset 0", zb_abs, b_abs, 1e-12),
            ("rhs norm², offset", ob2, want_ob2, 1e-12),
            ("rhs Σ|b|, offset", ob_abs, want_ob_abs, 1e-12),
        ] {
            let rel = (got - want).abs() / want.abs();
            println!("{what}: {got:.9e}, plain sum {want:.9e}, rel. diff {rel:.1e} (≤ {tol:.0e})");
            assert!(rel <= tol);
        }
    }
}
