//! The five-point stencil of one row of `a u − ∇·(k ∇u) = f`, which every multigrid kernel
//! ([`kernels`]) applies: the wall conditions, the flux balance of a cell, the
//! vectorised interior loops (balances by chunks, the red-black relaxation of a row).

use ndarray::{ArrayView2, Axis};

use crate::grid::Real;
use crate::numerics::{Bcs, Boundary};

/// A cell value the stencil computes in: f32 for the solver's own fields, f64 for the residual of
/// the mixed-precision refinement ([`residual_with_statistics`]). Face conductivities stay f32.
pub trait Value:
    Copy
    + Send
    + Sync
    + From<Real>
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
{
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Value for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Value for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// Row `i` of a standard-layout field.
pub(super) fn row<'a, T>(field: &ArrayView2<'a, T>, i: usize) -> &'a [T] {
    (*field)
        .index_axis_move(Axis(0), i)
        .to_slice()
        .expect("fields must be in standard (row-major) layout")
}

/// A level's face coefficients as flat row-major slices, and 1/dx².
pub(super) struct Faces<'a> {
    kx: &'a [Real],
    ky: &'a [Real],
    ny: usize,
    inv_dx2: f64,
}

impl<'a> Faces<'a> {
    pub(super) fn of<'x: 'a, 'y: 'a>(
        kx: ArrayView2<'x, Real>,
        ky: ArrayView2<'y, Real>,
        dx: f64,
    ) -> Self {
        const LAYOUT: &str = "fields must be in standard (row-major) layout";
        Faces {
            ny: ky.ncols(),
            kx: kx.to_slice().expect(LAYOUT),
            ky: ky.to_slice().expect(LAYOUT),
            inv_dx2: 1.0 / (dx * dx),
        }
    }

    fn kx_row(&self, i: usize) -> &'a [Real] {
        &self.kx[i * self.ny..(i + 1) * self.ny]
    }

    fn ky_row(&self, i: usize) -> &'a [Real] {
        &self.ky[i * self.ny..(i + 1) * self.ny]
    }
}

/// The buffer of [`RowStencil::relax`]'s chunks (each cell's new value), owned by the caller so
/// that rows reuse it.
pub(super) struct Scratch {
    candidate: [Real; CHUNK],
}

impl Scratch {
    pub(super) fn new() -> Self {
        Scratch {
            candidate: [0.0; CHUNK],
        }
    }
}

/// What lies across one x face of a row: the next row of cells, or a wall.
#[derive(Clone, Copy)]
enum Across<'a, T> {
    Cells(&'a [T]),
    Wall { value: T, factor: T },
}

/// The five-point stencil of row `i`: the flux balance Σ_faces k_f (u_nb − u)/dx² and its
/// diagonal weight Σ_faces k_f/dx², with walls as extra faces.
pub(super) struct RowStencil<'a, T> {
    west: Across<'a, T>,
    east: Across<'a, T>,
    k_west: &'a [Real],
    k_east: &'a [Real],
    k_y: &'a [Real],
    inv_dx2: T,
}

impl<'a, T: Value> RowStencil<'a, T> {
    /// Stencil of row `i`; `west`/`east` are the cell values of rows `i − 1`/`i + 1` (ignored
    /// where the row touches a wall).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        i: usize,
        nx: usize,
        west: &'a [T],
        east: &'a [T],
        kx: ArrayView2<'a, Real>,
        ky: ArrayView2<'a, Real>,
        bcs: Bcs,
        dx: f64,
    ) -> Self {
        let faces = Faces::of(kx, ky, dx);
        RowStencil::of_faces(i, nx, west, east, &faces, bcs)
    }

    /// [`RowStencil::new`] from the face coefficients as slices: what a kernel visiting many
    /// rows builds once.
    pub(super) fn of_faces(
        i: usize,
        nx: usize,
        west: &'a [T],
        east: &'a [T],
        faces: &Faces<'a>,
        bcs: Bcs,
    ) -> Self {
        let across = |b: Boundary| {
            let (value, factor) = b.wall();
            Across::Wall {
                value: T::from(value),
                factor: T::from(factor),
            }
        };
        RowStencil {
            west: if i == 0 {
                across(bcs.x_lo)
            } else {
                Across::Cells(west)
            },
            east: if i + 1 == nx {
                across(bcs.x_hi)
            } else {
                Across::Cells(east)
            },
            k_west: faces.kx_row(i),
            k_east: faces.kx_row(i + 1),
            k_y: faces.ky_row(i),
            inv_dx2: T::from_f64(faces.inv_dx2),
        }
    }

    /// Stencil of row `i` of `u`, taking the neighbouring rows from `u` itself.
    pub(super) fn of(
        i: usize,
        u: ArrayView2<'a, T>,
        kx: ArrayView2<'a, Real>,
        ky: ArrayView2<'a, Real>,
        bcs: Bcs,
        dx: f64,
    ) -> Self {
        let nx = u.nrows();
        let west = if i > 0 { row(&u, i - 1) } else { &[] };
        let east = if i + 1 < nx { row(&u, i + 1) } else { &[] };
        RowStencil::new(i, nx, west, east, kx, ky, bcs, dx)
    }

    /// (Σ w (u_nb − u_j), Σ w) for cell j of `u_row`, walls included.
    #[inline(always)]
    pub(super) fn balance(&self, u_row: &[T], j: usize) -> (T, T) {
        let ny = u_row.len();
        let uc = u_row[j];
        let jm = if j == 0 { ny - 1 } else { j - 1 };
        let jp = if j + 1 == ny { 0 } else { j + 1 };
        let ws = T::from(self.k_y[j]) * self.inv_dx2;
        let wn = T::from(self.k_y[jp]) * self.inv_dx2;
        let mut flux = ws * (u_row[jm] - uc) + wn * (u_row[jp] - uc);
        let mut diag = ws + wn;
        for (across, k) in [(self.west, self.k_west[j]), (self.east, self.k_east[j])] {
            let k = T::from(k);
            let (w, u_nb) = match across {
                Across::Cells(nb) => (k * self.inv_dx2, nb[j]),
                Across::Wall { value, factor } => (factor * k * self.inv_dx2, value),
            };
            flux += w * (u_nb - uc);
            diag += w;
        }
        (flux, diag)
    }
}

/// Cells per chunk of the vectorised interior loops: their stack buffers stay in L1 with the
/// row slices they read.
pub(super) const CHUNK: usize = 128;

impl<T: Value> RowStencil<'_, T> {
    /// [`RowStencil::balance`] of cells j0..j0 + n (1 ≤ j0, j0 + n ≤ ny − 1) into `flux` and
    /// `diag`: the same operations in the same order (the same bits), without the per-cell
    /// branches, so that the loop vectorises. Each x side is a row of cells or a wall, chosen
    /// once per chunk (four loops, one per pair).
    #[inline(always)]
    fn interior_balances(&self, u: &[T], j0: usize, n: usize, out: impl FnMut(usize, T, T)) {
        let r = j0..j0 + n;
        let inv = self.inv_dx2;
        let (kw, ke) = (&self.k_west[r.clone()], &self.k_east[r.clone()]);
        // (weight, neighbour value) of cell t across one side, as `balance` forms them.
        fn cells<'a, T: Value + 'a>(
            k: &'a [Real],
            nb: &'a [T],
            inv: T,
        ) -> impl Fn(usize) -> (T, T) + 'a {
            let k = &k[..nb.len()];
            move |t| (T::from(k[t]) * inv, nb[t])
        }
        fn wall<'a, T: Value + 'a>(
            k: &'a [Real],
            value: T,
            factor: T,
            inv: T,
        ) -> impl Fn(usize) -> (T, T) + 'a {
            move |t| (factor * T::from(k[t]) * inv, value)
        }
        match (self.west, self.east) {
            (Across::Cells(w), Across::Cells(e)) => {
                let (w, e) = (&w[r.clone()], &e[r]);
                self.balances_with(u, j0, n, cells(kw, w, inv), cells(ke, e, inv), out)
            }
            (Across::Wall { value, factor }, Across::Cells(e)) => {
                let (w, e) = (wall(kw, value, factor, inv), cells(ke, &e[r], inv));
                self.balances_with(u, j0, n, w, e, out)
            }
            (Across::Cells(w), Across::Wall { value, factor }) => {
                let (w, e) = (cells(kw, &w[r], inv), wall(ke, value, factor, inv));
                self.balances_with(u, j0, n, w, e, out)
            }
            (
                Across::Wall { value, factor },
                Across::Wall {
                    value: v,
                    factor: g,
                },
            ) => {
                let (w, e) = (wall(kw, value, factor, inv), wall(ke, v, g, inv));
                self.balances_with(u, j0, n, w, e, out)
            }
        }
    }

    /// The loop of [`RowStencil::interior_balances`], given each side's (weight, value).
    #[inline(always)]
    fn balances_with(
        &self,
        u: &[T],
        j0: usize,
        n: usize,
        west: impl Fn(usize) -> (T, T),
        east: impl Fn(usize) -> (T, T),
        mut out: impl FnMut(usize, T, T),
    ) {
        let r = j0..j0 + n;
        let (ul, uc, ur) = (
            &u[j0 - 1..j0 - 1 + n],
            &u[r.clone()],
            &u[j0 + 1..j0 + 1 + n],
        );
        let (ks, kn) = (&self.k_y[r], &self.k_y[j0 + 1..j0 + 1 + n]);
        let inv_dx2 = self.inv_dx2;
        for t in 0..n {
            let c = uc[t];
            let ws = T::from(ks[t]) * inv_dx2;
            let wn = T::from(kn[t]) * inv_dx2;
            let mut f = ws * (ul[t] - c) + wn * (ur[t] - c);
            let mut d = ws + wn;
            let (w, nb) = west(t);
            f += w * (nb - c);
            d += w;
            let (w, nb) = east(t);
            f += w * (nb - c);
            d += w;
            out(t, f, d);
        }
    }

    /// Runs `chunk(j0, flux, diag)` over the whole row `u` in increasing j, the balances of
    /// cells j0.. in the slices: cells 1..ny − 1 in vectorised chunks, the two periodic end
    /// cells (and rows of fewer than 4 cells) through [`RowStencil::balance`].
    #[inline(always)]
    pub(super) fn for_each_chunk(&self, u: &[T], mut chunk: impl FnMut(usize, &[T], &[T])) {
        let ny = u.len();
        let one = |j: usize| {
            let (f, d) = self.balance(u, j);
            ([f], [d])
        };
        if ny < 4 {
            for j in 0..ny {
                let (f, d) = one(j);
                chunk(j, &f, &d);
            }
            return;
        }
        let (f, d) = one(0);
        chunk(0, &f, &d);
        let zero = T::from(0.0);
        let (mut flux, mut diag) = ([zero; CHUNK], [zero; CHUNK]);
        let mut j0 = 1;
        while j0 + 1 < ny {
            let n = CHUNK.min(ny - 1 - j0);
            let (flux, diag) = (&mut flux[..n], &mut diag[..n]);
            self.interior_balances(u, j0, n, |t, f, d| {
                flux[t] = f;
                diag[t] = d;
            });
            chunk(j0, flux, diag);
            j0 += n;
        }
        let (f, d) = one(ny - 1);
        chunk(ny - 1, &f, &d);
    }

    /// [`RowStencil::for_each_chunk`] cell by cell: `cell(j, flux_j, diag_j)`.
    #[inline(always)]
    pub(super) fn for_each_balance(&self, u: &[T], mut cell: impl FnMut(usize, T, T)) {
        self.for_each_chunk(u, |j0, flux, diag| {
            for (t, (&f, &d)) in flux.iter().zip(diag).enumerate() {
                cell(j0 + t, f, d);
            }
        });
    }
}

impl RowStencil<'_, Real> {
    /// One colour of Gauss–Seidel on row `u_row`: u_j += (f − a u + Σ w (u_nb − u)) / (a + Σ w)
    /// on the cells j ≡ `start` (mod 2).
    ///
    /// On cells 1..ny − 1, chunk by chunk, it computes the new value of every cell from
    /// the row as it stands, in full-width SIMD, then keeps it on the colour's cells only. That
    /// is exact: a colour's update reads only the other colour's cells, which this pass never
    /// writes; the other colour's values, computed from half-updated neighbours, are thrown
    /// away. Stride-2 loops do not vectorise; this does, at twice the arithmetic.
    #[inline(always)]
    pub(super) fn relax(
        &self,
        u_row: &mut [Real],
        f_row: &[Real],
        a_row: &[Real],
        start: usize,
        scratch: &mut Scratch,
    ) {
        let ny = u_row.len();
        let cell = |u_row: &mut [Real], j: usize| {
            let (flux, diag) = self.balance(u_row, j);
            let ai = a_row[j];
            u_row[j] += (f_row[j] - ai * u_row[j] + flux) / (ai + diag);
        };
        if ny < 4 {
            for j in (start..ny).step_by(2) {
                cell(u_row, j);
            }
            return;
        }
        let mut j0 = 1;
        while j0 + 1 < ny {
            let n = CHUNK.min(ny - 1 - j0);
            let candidate = &mut scratch.candidate[..n];
            let r = j0..j0 + n;
            let (uc, fr, ar) = (&u_row[r.clone()], &f_row[r.clone()], &a_row[r.clone()]);
            self.interior_balances(u_row, j0, n, |t, flux, diag| {
                let (c, ai) = (uc[t], ar[t]);
                candidate[t] = c + (fr[t] - ai * c + flux) / (ai + diag);
            });

            // Cell j0 + t is of the colour when (j0 + t + start) is even.
            let parity = (j0 + start) & 1;
            for (t, (dst, &v)) in u_row[r].iter_mut().zip(candidate.iter()).enumerate() {
                *dst = if (t & 1) == parity { v } else { *dst };
            }
            j0 += n;
        }
        // The ends have the other colour than their periodic neighbours (ny even).
        for j in [0, ny - 1] {
            if (j + start).is_multiple_of(2) {
                cell(u_row, j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorised row relaxation against the per-cell stencil it replaces: the same bits on
    /// every cell of the colour and untouched bits on the other, across chunk edges (ny = 300 is
    /// two full chunks and a partial one) and both periodic ends.
    #[test]
    fn row_relaxation_equals_the_per_cell_update_bit_for_bit() {
        let (nx, ny) = (3, 300);
        let v = |i: usize, j: usize, s: f64| ((i * ny + j) as f64 * 0.37 + s).sin() as Real;
        let u = ndarray::Array2::from_shape_fn((nx, ny), |(i, j)| v(i, j, 0.0));
        let u64 = u.mapv(f64::from);
        let kx = ndarray::Array2::from_shape_fn((nx + 1, ny), |(i, j)| 1.5 + v(i, j, 1.0));
        let ky = ndarray::Array2::from_shape_fn((nx, ny), |(i, j)| 1.5 + v(i, j, 2.0));
        let (dirichlet, neumann) = (Boundary::Dirichlet(0.4), Boundary::Neumann);
        // The interior row, then both wall rows with each kind of wall.
        for (i, x_lo, x_hi) in [
            (1, neumann, dirichlet),
            (0, dirichlet, neumann),
            (0, neumann, dirichlet),
            (2, neumann, dirichlet),
            (2, dirichlet, neumann),
        ] {
            let bcs = Bcs { x_lo, x_hi };
            let f: Vec<Real> = (0..ny).map(|j| v(i, j, 3.0)).collect();
            let a: Vec<Real> = (0..ny).map(|j| 0.5 + 0.25 * v(i, j, 4.0)).collect();
            let (kx, ky) = (kx.view(), ky.view());
            let st = RowStencil::of(i, u.view(), kx, ky, bcs, 0.7);
            for start in [0, 1] {
                let mut fast = row(&u.view(), i).to_vec();
                st.relax(&mut fast, &f, &a, start, &mut Scratch::new());
                let mut slow = row(&u.view(), i).to_vec();
                for j in (start..ny).step_by(2) {
                    let (flux, diag) = st.balance(&slow, j);
                    slow[j] += (f[j] - a[j] * slow[j] + flux) / (a[j] + diag);
                }
                let differing = (0..ny)
                    .filter(|&j| fast[j].to_bits() != slow[j].to_bits())
                    .count();
                let changed = (0..ny).filter(|&j| fast[j] != u[[i, j]]).count();
                println!(
                    "row {i} ({x_lo:?}, {x_hi:?}), colour {start}: {differing} cells differ \
                     (expected 0), {changed} changed (expected {})",
                    ny / 2
                );
                assert_eq!(differing, 0);
                assert_eq!(changed, ny / 2);
            }
            // The chunked balances (residual, operator, statistics), in f32 and in f64.
            let u_row = row(&u.view(), i);
            let mut count = 0;
            let mut same = true;
            st.for_each_balance(u_row, |j, flux, diag| {
                let (f, d) = st.balance(u_row, j);
                same &=
                    j == count && f.to_bits() == flux.to_bits() && d.to_bits() == diag.to_bits();
                count += 1;
            });
            let st64 = RowStencil::of(i, u64.view(), kx, ky, bcs, 0.7);
            let u64_row = row(&u64.view(), i);
            let mut same64 = true;
            st64.for_each_balance(u64_row, |j, flux, diag| {
                let (f, d) = st64.balance(u64_row, j);
                same64 &= f.to_bits() == flux.to_bits() && d.to_bits() == diag.to_bits();
            });
            println!("row {i}: chunked balances identical: f32 {same}, f64 {same64}");
            assert!(same && same64 && count == ny);
        }
    }
}
