//! The seven-point stencil (five-point in 2D) of one line of `a u − ∇·(k ∇u) = f`, which every
//! multigrid kernel ([`kernels`](super::kernels)) applies: the wall conditions, the flux
//! balance of a cell, the vectorised interior loops (balances by chunks, the red-black
//! relaxation of a line).
//!
//! A line is a run of cells contiguous in memory within one x layer: in 2D the whole layer (the
//! ny cells along y), in 3D the nz cells along z at one (i, j). Its cells couple along the line
//! (periodic), across x to the same line of the layers i ± 1 (or a wall), and in 3D across y to
//! the lines j ± 1 of the same layer (periodic). A kernel visits the layers (rayon on large
//! levels) and within each its lines.

use super::operator::Operator;
use crate::grid::{Grid, Real};
use crate::numerics::{Bcs, Boundary};

/// A cell value the stencil computes in: f32 for the solver's own fields, f64 for the residual of
/// the mixed-precision refinement
/// ([`residual_with_statistics`](super::statistics::residual_with_statistics)). Face
/// conductivities stay f32.
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

/// How a grid's layers split into lines: `lines` lines of `len` cells per layer of `layer`.
#[derive(Clone, Copy)]
pub(super) struct Lines {
    pub(super) layer: usize,
    pub(super) len: usize,
    pub(super) lines: usize,
}

impl Lines {
    pub(super) fn of(grid: Grid) -> Self {
        let len = if grid.nz > 1 { grid.nz } else { grid.ny };
        Lines {
            layer: grid.layer_cells(),
            len,
            lines: grid.layer_cells() / len,
        }
    }

    /// The cells of line j within a layer.
    pub(super) fn range(&self, j: usize) -> std::ops::Range<usize> {
        j * self.len..(j + 1) * self.len
    }

    /// The lines j − 1 and j + 1 (periodic) of a layer, where lines couple across y (3D with
    /// ny > 1; with ny = 1 a cell's y faces join it to itself and carry no flux).
    fn lateral<'a, T>(&self, layer: &'a [T], j: usize) -> Option<(&'a [T], &'a [T])> {
        (self.lines > 1).then(|| {
            let (jm, jp) = self.neighbours(j);
            (&layer[self.range(jm)], &layer[self.range(jp)])
        })
    }

    fn neighbours(&self, j: usize) -> (usize, usize) {
        let last = self.lines - 1;
        (
            if j == 0 { last } else { j - 1 },
            if j == last { 0 } else { j + 1 },
        )
    }

    /// Line j of `layer` to write, with its y neighbours to read (see [`Lines::lateral`]).
    #[allow(clippy::type_complexity)]
    pub(super) fn split<'a, T>(
        &self,
        layer: &'a mut [T],
        j: usize,
    ) -> (&'a mut [T], Option<(&'a [T], &'a [T])>) {
        let (before, rest) = layer.split_at_mut(j * self.len);
        let (line, after) = rest.split_at_mut(self.len);
        if self.lines == 1 {
            return (line, None);
        }
        let (before, after): (&'a [T], &'a [T]) = (before, after);
        let pick = |n: usize| -> &'a [T] {
            if n < j {
                &before[self.range(n)]
            } else {
                &after[(n - j - 1) * self.len..(n - j) * self.len]
            }
        };
        let (jm, jp) = self.neighbours(j);
        (line, Some((pick(jm), pick(jp))))
    }
}

/// A level's face coefficients as slices, with its line geometry and 1/dx².
pub(super) struct Faces<'a> {
    kx: &'a [Real],
    ky: &'a [Real],
    kz: &'a [Real],
    pub(super) nx: usize,
    pub(super) lines: Lines,
    inv_dx2: f64,
}

impl<'a> Faces<'a> {
    pub(super) fn of(op: &'a Operator) -> Self {
        Faces {
            kx: &op.kx,
            ky: &op.ky,
            kz: &op.kz,
            nx: op.grid.nx,
            lines: Lines::of(op.grid),
            inv_dx2: op.inv_dx2(),
        }
    }

    /// The stencil of line j of layer i. `west`/`east`: the layers i ∓ 1 (ignored where the
    /// layer touches a wall); `lateral`: the lines j ∓ 1 of layer i ([`Lines::split`]).
    pub(super) fn line<'b, T: Value>(
        &self,
        i: usize,
        j: usize,
        west: &'b [T],
        east: &'b [T],
        lateral: Option<(&'b [T], &'b [T])>,
        bcs: Bcs,
    ) -> LineStencil<'b, T>
    where
        'a: 'b,
    {
        let Lines { layer, len, .. } = self.lines;
        let across = |b: Boundary| {
            let (value, factor) = b.wall();
            Across::Wall {
                value: T::from(value),
                factor: T::from(factor),
            }
        };
        let cells = |layer_values: &'b [T]| Across::Cells(&layer_values[self.lines.range(j)]);
        let start = i * layer + j * len;
        // In 3D the line runs along z and couples across y; in 2D it runs along y.
        let (k_line, y_faces) = if self.kz.is_empty() {
            (&self.ky[start..start + len], None)
        } else {
            let jp = self.lines.neighbours(j).1;
            let north = i * layer + jp * len;
            (
                &self.kz[start..start + len],
                Some((&self.ky[start..start + len], &self.ky[north..north + len])),
            )
        };
        LineStencil {
            west: if i == 0 {
                across(bcs.x_lo)
            } else {
                cells(west)
            },
            east: if i + 1 == self.nx {
                across(bcs.x_hi)
            } else {
                cells(east)
            },
            k_west: &self.kx[start..start + len],
            k_east: &self.kx[start + layer..start + layer + len],
            k_line,
            lateral: lateral
                .zip(y_faces)
                .map(|((south, north), (k_s, k_n))| Lateral {
                    south,
                    north,
                    k_south: k_s,
                    k_north: k_n,
                }),
            inv_dx2: T::from_f64(self.inv_dx2),
        }
    }

    /// The stencil of line j of layer i of `u`, its neighbours taken from `u` itself.
    pub(super) fn line_of<'b, T: Value>(
        &self,
        i: usize,
        j: usize,
        u: &'b [T],
        bcs: Bcs,
    ) -> LineStencil<'b, T>
    where
        'a: 'b,
    {
        let layer = self.lines.layer;
        let at = |i: usize| &u[i * layer..(i + 1) * layer];
        let west = if i > 0 { at(i - 1) } else { &[] };
        let east = if i + 1 < self.nx { at(i + 1) } else { &[] };
        let lateral = self.lines.lateral(at(i), j);
        self.line(i, j, west, east, lateral, bcs)
    }
}

/// The buffer of [`LineStencil::relax`]'s chunks (each cell's new value), owned by the caller so
/// that lines reuse it.
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

/// What lies across one x face of a line: the same line of the next layer, or a wall.
#[derive(Clone, Copy)]
enum Across<'a, T> {
    Cells(&'a [T]),
    Wall { value: T, factor: T },
}

/// The y neighbours of a 3D line: the lines j ∓ 1 and the faces between (ky of line j, on the
/// −y side, and of line j + 1).
#[derive(Clone, Copy)]
struct Lateral<'a, T> {
    south: &'a [T],
    north: &'a [T],
    k_south: &'a [Real],
    k_north: &'a [Real],
}

/// The stencil of one line: the flux balance Σ_faces k_f (u_nb − u)/dx² of each cell and its
/// diagonal weight Σ_faces k_f/dx², with walls as extra faces. Terms are added along the line,
/// then across x (west, east), then in 3D across y (south, north).
pub(super) struct LineStencil<'a, T> {
    west: Across<'a, T>,
    east: Across<'a, T>,
    k_west: &'a [Real],
    k_east: &'a [Real],
    /// Faces along the line, each cell's on its − side (periodic).
    k_line: &'a [Real],
    lateral: Option<Lateral<'a, T>>,
    inv_dx2: T,
}

impl<T: Value> LineStencil<'_, T> {
    /// (Σ w (u_nb − u_j), Σ w) for cell j of `u_line`, walls included.
    #[inline(always)]
    pub(super) fn balance(&self, u_line: &[T], j: usize) -> (T, T) {
        let n = u_line.len();
        let uc = u_line[j];
        let jm = if j == 0 { n - 1 } else { j - 1 };
        let jp = if j + 1 == n { 0 } else { j + 1 };
        let ws = T::from(self.k_line[j]) * self.inv_dx2;
        let wn = T::from(self.k_line[jp]) * self.inv_dx2;
        let mut flux = ws * (u_line[jm] - uc) + wn * (u_line[jp] - uc);
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
        if let Some(l) = self.lateral {
            for (nb, k) in [(l.south, l.k_south[j]), (l.north, l.k_north[j])] {
                let w = T::from(k) * self.inv_dx2;
                flux += w * (nb[j] - uc);
                diag += w;
            }
        }
        (flux, diag)
    }
}

/// Cells per chunk of the vectorised interior loops: their stack buffers stay in L1 with the
/// line slices they read.
pub(super) const CHUNK: usize = 128;

impl<T: Value> LineStencil<'_, T> {
    /// [`LineStencil::balance`] of cells j0..j0 + n (1 ≤ j0, j0 + n ≤ len − 1) into `out`: the
    /// same operations in the same order (the same bits), without the per-cell branches, so
    /// that the loop vectorises. Each x side is a line of cells or a wall, and the y sides
    /// present or not, chosen once per chunk (eight loops).
    #[inline(always)]
    fn interior_balances(&self, u: &[T], j0: usize, n: usize, out: impl FnMut(usize, T, T)) {
        match self.lateral {
            None => self.x_sides(u, j0, n, |_, _, _: &mut T, _: &mut T| {}, out),
            Some(l) => {
                let r = j0..j0 + n;
                let (s, nn) = (&l.south[r.clone()], &l.north[r.clone()]);
                let (ks, kn) = (&l.k_south[r.clone()], &l.k_north[r]);
                let inv = self.inv_dx2;
                let lateral = |t: usize, c: T, f: &mut T, d: &mut T| {
                    let ws = T::from(ks[t]) * inv;
                    let wn = T::from(kn[t]) * inv;
                    *f += ws * (s[t] - c);
                    *d += ws;
                    *f += wn * (nn[t] - c);
                    *d += wn;
                };
                self.x_sides(u, j0, n, lateral, out)
            }
        }
    }

    /// [`LineStencil::interior_balances`] given the y sides' terms: the four pairs of x sides.
    #[inline(always)]
    fn x_sides(
        &self,
        u: &[T],
        j0: usize,
        n: usize,
        lateral: impl Fn(usize, T, &mut T, &mut T),
        out: impl FnMut(usize, T, T),
    ) {
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
                let (w, e) = (cells(kw, w, inv), cells(ke, e, inv));
                self.balances_with(u, j0, n, w, e, lateral, out)
            }
            (Across::Wall { value, factor }, Across::Cells(e)) => {
                let (w, e) = (wall(kw, value, factor, inv), cells(ke, &e[r], inv));
                self.balances_with(u, j0, n, w, e, lateral, out)
            }
            (Across::Cells(w), Across::Wall { value, factor }) => {
                let (w, e) = (cells(kw, &w[r], inv), wall(ke, value, factor, inv));
                self.balances_with(u, j0, n, w, e, lateral, out)
            }
            (
                Across::Wall { value, factor },
                Across::Wall {
                    value: v,
                    factor: g,
                },
            ) => {
                let (w, e) = (wall(kw, value, factor, inv), wall(ke, v, g, inv));
                self.balances_with(u, j0, n, w, e, lateral, out)
            }
        }
    }

    /// The loop of [`LineStencil::interior_balances`], given each side's terms.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn balances_with(
        &self,
        u: &[T],
        j0: usize,
        n: usize,
        west: impl Fn(usize) -> (T, T),
        east: impl Fn(usize) -> (T, T),
        lateral: impl Fn(usize, T, &mut T, &mut T),
        mut out: impl FnMut(usize, T, T),
    ) {
        let r = j0..j0 + n;
        let (ul, uc, ur) = (
            &u[j0 - 1..j0 - 1 + n],
            &u[r.clone()],
            &u[j0 + 1..j0 + 1 + n],
        );
        let (ks, kn) = (&self.k_line[r], &self.k_line[j0 + 1..j0 + 1 + n]);
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
            lateral(t, c, &mut f, &mut d);
            out(t, f, d);
        }
    }

    /// Runs `chunk(j0, flux, diag)` over the whole line `u` in increasing j, the balances of
    /// cells j0.. in the slices: cells 1..len − 1 in vectorised chunks, the two periodic end
    /// cells (and lines of fewer than 4 cells) through [`LineStencil::balance`].
    #[inline(always)]
    pub(super) fn for_each_chunk(&self, u: &[T], mut chunk: impl FnMut(usize, &[T], &[T])) {
        let len = u.len();
        let one = |j: usize| {
            let (f, d) = self.balance(u, j);
            ([f], [d])
        };
        if len < 4 {
            for j in 0..len {
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
        while j0 + 1 < len {
            let n = CHUNK.min(len - 1 - j0);
            let (flux, diag) = (&mut flux[..n], &mut diag[..n]);
            self.interior_balances(u, j0, n, |t, f, d| {
                flux[t] = f;
                diag[t] = d;
            });
            chunk(j0, flux, diag);
            j0 += n;
        }
        let (f, d) = one(len - 1);
        chunk(len - 1, &f, &d);
    }

    /// [`LineStencil::for_each_chunk`] cell by cell: `cell(j, flux_j, diag_j)`.
    #[inline(always)]
    pub(super) fn for_each_balance(&self, u: &[T], mut cell: impl FnMut(usize, T, T)) {
        self.for_each_chunk(u, |j0, flux, diag| {
            for (t, (&f, &d)) in flux.iter().zip(diag).enumerate() {
                cell(j0 + t, f, d);
            }
        });
    }
}

impl LineStencil<'_, Real> {
    /// One colour of Gauss–Seidel on `u_line`: u_j += (f − a u + Σ w (u_nb − u)) / (a + Σ w)
    /// on the cells j ≡ `start` (mod 2).
    ///
    /// On cells 1..len − 1, chunk by chunk, it computes the new value of every cell from
    /// the line as it stands, in full-width SIMD, then keeps it on the colour's cells only. That
    /// is exact: a colour's update reads only the other colour's cells, which this pass never
    /// writes; the other colour's values, computed from half-updated neighbours, are thrown
    /// away. Stride-2 loops do not vectorise; this does, at twice the arithmetic.
    #[inline(always)]
    pub(super) fn relax(
        &self,
        u_line: &mut [Real],
        f_line: &[Real],
        a_line: &[Real],
        start: usize,
        scratch: &mut Scratch,
    ) {
        let len = u_line.len();
        let cell = |u_line: &mut [Real], j: usize| {
            let (flux, diag) = self.balance(u_line, j);
            let ai = a_line[j];
            u_line[j] += (f_line[j] - ai * u_line[j] + flux) / (ai + diag);
        };
        if len < 4 {
            for j in (start..len).step_by(2) {
                cell(u_line, j);
            }
            return;
        }
        let mut j0 = 1;
        while j0 + 1 < len {
            let n = CHUNK.min(len - 1 - j0);
            let candidate = &mut scratch.candidate[..n];
            let r = j0..j0 + n;
            let (uc, fr, ar) = (&u_line[r.clone()], &f_line[r.clone()], &a_line[r.clone()]);
            self.interior_balances(u_line, j0, n, |t, flux, diag| {
                let (c, ai) = (uc[t], ar[t]);
                candidate[t] = c + (fr[t] - ai * c + flux) / (ai + diag);
            });

            // Cell j0 + t is of the colour when (j0 + t + start) is even.
            let parity = (j0 + start) & 1;
            for (t, (dst, &v)) in u_line[r].iter_mut().zip(candidate.iter()).enumerate() {
                *dst = if (t & 1) == parity { v } else { *dst };
            }
            j0 += n;
        }
        // The ends have the other colour than their periodic neighbours (len even).
        for j in [0, len - 1] {
            if (j + start).is_multiple_of(2) {
                cell(u_line, j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorised line relaxation against the per-cell stencil it replaces: the same bits on
    /// every cell of the colour and untouched bits on the other, across chunk edges (a line of
    /// 300 cells is two full chunks and a partial one) and both periodic ends; in 2D (the line
    /// is the y row) and in 3D (the line runs along z and couples across y, ny = 4).
    #[test]
    fn line_relaxation_equals_the_per_cell_update_bit_for_bit() {
        for (ny, nz) in [(300, 1), (4, 300)] {
            let grid = Grid {
                nx: 3,
                ny,
                nz,
                dx: 0.7,
            };
            let v = |n: usize, s: f64| (n as f64 * 0.37 + s).sin() as Real;
            let mut op = Operator::new(grid);
            for (k, s) in [(&mut op.kx, 1.0), (&mut op.ky, 2.0), (&mut op.kz, 5.0)] {
                k.iter_mut()
                    .enumerate()
                    .for_each(|(n, o)| *o = 1.5 + v(n, s));
            }
            let u: Vec<Real> = (0..grid.cells()).map(|n| v(n, 0.0)).collect();
            let u64: Vec<f64> = u.iter().map(|&x| f64::from(x)).collect();
            let faces = Faces::of(&op);
            let lines = faces.lines;
            let (dirichlet, neumann) = (Boundary::Dirichlet(0.4), Boundary::Neumann);
            // The interior layer, then both wall layers with each kind of wall.
            for (i, x_lo, x_hi) in [
                (1, neumann, dirichlet),
                (0, dirichlet, neumann),
                (0, neumann, dirichlet),
                (2, neumann, dirichlet),
                (2, dirichlet, neumann),
            ] {
                let bcs = Bcs { x_lo, x_hi };
                for j in [0, lines.lines - 1] {
                    let cells = i * lines.layer + j * lines.len..;
                    let line = &u[cells.clone()][..lines.len];
                    let f: Vec<Real> = (0..lines.len).map(|t| v(t, 3.0)).collect();
                    let a: Vec<Real> = (0..lines.len).map(|t| 0.5 + 0.25 * v(t, 4.0)).collect();
                    let st = faces.line_of(i, j, &u, bcs);
                    for start in [0, 1] {
                        let mut fast = line.to_vec();
                        st.relax(&mut fast, &f, &a, start, &mut Scratch::new());
                        let mut slow = line.to_vec();
                        for t in (start..lines.len).step_by(2) {
                            let (flux, diag) = st.balance(&slow, t);
                            slow[t] += (f[t] - a[t] * slow[t] + flux) / (a[t] + diag);
                        }
                        let differing = (0..lines.len)
                            .filter(|&t| fast[t].to_bits() != slow[t].to_bits())
                            .count();
                        let changed = (0..lines.len).filter(|&t| fast[t] != line[t]).count();
                        println!(
                            "{:?} layer {i} line {j} ({x_lo:?}, {x_hi:?}), colour {start}: \
                             {differing} cells differ (expected 0), {changed} changed (expected \
                             {})",
                            grid.shape(),
                            lines.len / 2
                        );
                        assert_eq!(differing, 0);
                        assert_eq!(changed, lines.len / 2);
                    }
                    // The chunked balances (residual, operator, statistics), in f32 and f64.
                    let mut count = 0;
                    let mut same = true;
                    st.for_each_balance(line, |t, flux, diag| {
                        let (f, d) = st.balance(line, t);
                        same &= t == count
                            && f.to_bits() == flux.to_bits()
                            && d.to_bits() == diag.to_bits();
                        count += 1;
                    });
                    let st64 = faces.line_of(i, j, &u64, bcs);
                    let line64 = &u64[cells][..lines.len];
                    let mut same64 = true;
                    st64.for_each_balance(line64, |t, flux, diag| {
                        let (f, d) = st64.balance(line64, t);
                        same64 &= f.to_bits() == flux.to_bits() && d.to_bits() == diag.to_bits();
                    });
                    println!("chunked balances identical: f32 {same}, f64 {same64}");
                    assert!(same && same64 && count == lines.len);
                }
            }
        }
    }
}
