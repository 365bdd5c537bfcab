//! Host memory of a CPU run, counted from what the CPU backend, its two multigrid solvers and
//! the outputs allocate, and the check that refuses a run the machine cannot hold before
//! anything is allocated or written (an allocation failure aborts the process).
//!
//! The count, in f32 words per cell (N = nx·ny·nz cells; the same words per cell in 2D and 3D):
//! * backend state, for the whole run: 13 fields (xi, u, u_old, φ, Δxi, layer, D, a_k, |∇xi|,
//!   the Allen–Cahn and reaction rates, the right-hand side, the weights of the potential's
//!   error), σ/σ_l with a resolved band, the interface-cell index (u32, at most N), and the
//!   interphase's ASR, blocked, D and σ ratios: 18, 19 with a band;
//! * each multigrid hierarchy: the finest level's a, k_x, k_y and residual (4), the coarser
//!   levels' a, k_x, k_y, u, f, r on N/4 + N/16 + ... < N/3 cells (2), the PCG vectors r, z, p,
//!   q (4): 10; in 3D the finest level's k_z (5) and the coarser levels' 7 words on
//!   N/8 + N/64 + ... < N/7 cells (1) give 10 as well; plus the potential's mixed-precision refinement (an f64 iterate, a residual and
//!   a correction: 4) and its copy of the error weights (1), and the concentration's mass
//!   projection (2): 27 in all;
//! * the largest output transient, at a frame with field files or at the end: the snapshot (xi,
//!   c, φ, plating rate, the band, the blocked patches: 6), the picture's interphase and blocked
//!   layers (2) and the VTK writer's one field in VTK order (1), 9 in all; a checkpoint needs
//!   more (7 fields cloned and serialized: 14); writing growth.gif takes 6 bytes per pixel of one
//!   frame (its RGBA copy, the palette indices and their LZW code), which is more for small grids;
//! * every frame, kept until growth.gif is written: the RGB picture, which for small grids is
//!   scaled up (`output::scale_factor`) and outweighs the fields.
//!
//! Not counted: the metrics rows (a few hundred bytes per row), the coarsest level's direct
//! factor (bounded by the solver's work cap), and the transients of building the heterogeneity
//! field, which end before the solvers are allocated. tests/memory.rs compares the count with
//! the peak a run really allocates.

use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::model::params::Params;
use crate::output::FrameLayout;

/// Backend state, without and with a resolved band (f32 words per cell).
const BACKEND_WORDS: u64 = 18;
/// Both multigrid hierarchies with their refinement and projection buffers.
const SOLVER_WORDS: u64 = 27;
/// A frame's or the end's snapshot, picture layers and VTK buffer; a checkpoint's 14 words
/// are the larger transient.
const OUTPUT_WORDS: u64 = 14;
/// Encoding one frame of growth.gif, per pixel.
const GIF_BYTES_PER_PIXEL: u64 = 6;

/// What a CPU run of one grid needs (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryNeed {
    /// Fields and solvers, held for the whole run.
    pub state_bytes: u64,
    /// The largest output transient (the end's snapshot and final.vti, or one GIF frame).
    pub output_bytes: u64,
    /// One frame; a run keeps `run.frames` of them.
    pub frame_bytes: u64,
}

impl MemoryNeed {
    /// The run's peak with `frames` frames kept.
    pub fn total(&self, frames: u32) -> u64 {
        self.state_bytes + self.output_bytes + u64::from(frames) * self.frame_bytes
    }

    /// The need of a grid, with or without a resolved band; `title` heads the frames (of the
    /// x–y section, and the 3D view, in 3D) with `panels` colour-mapped panels.
    pub fn of_grid(grid: Grid, resolved_band: bool, title: &str, panels: usize) -> MemoryNeed {
        let cells = grid.cells() as u64;
        let backend = BACKEND_WORDS + u64::from(resolved_band);
        let layout = FrameLayout::new(grid.nx, grid.ny, title, panels);
        let (width, height) = match grid.dimension() {
            3 => crate::output::frame_3d_size((layout.width, layout.height)),
            _ => (layout.width, layout.height),
        };
        let frame_pixels = u64::from(width) * u64::from(height);
        MemoryNeed {
            state_bytes: 4 * cells * (backend + SOLVER_WORDS),
            output_bytes: (4 * cells * OUTPUT_WORDS).max(GIF_BYTES_PER_PIXEL * frame_pixels),
            frame_bytes: 3 * frame_pixels,
        }
    }

    /// The need of the run `p` describes.
    pub fn of(p: &Params) -> MemoryNeed {
        let title = p.interphase.spec.preset.name();
        MemoryNeed::of_grid(
            p.grid,
            p.interphase.has_resolved_band(),
            title,
            p.frame_panels,
        )
    }
}

/// The memory available for a new process (Linux: MemAvailable of /proc/meminfo); None where it
/// cannot be read, and the check is skipped.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a CPU run of `p` keeping `frames` frames that needs more than `available` bytes,
/// naming both and the largest grid that fits; `available` None skips the check.
pub fn check(p: &Params, frames: u32, available: Option<u64>) -> Result<()> {
    let need = MemoryNeed::of(p);
    let (Some(available), total) = (available, need.total(frames)) else {
        return Ok(());
    };
    if total <= available {
        return Ok(());
    }
    let g = p.grid;
    let (nx, ny, nz) = (g.nx, g.ny, g.nz);
    let band = p.interphase.has_resolved_band();
    let title = p.interphase.spec.preset.name();
    let panels = p.frame_panels;
    let fits =
        |grid: Grid| MemoryNeed::of_grid(grid, band, title, panels).total(frames) <= available;
    let scaled =
        |n: usize, m: usize| even_at_least_8((n as f64 * m as f64 / nx as f64).round() as usize);
    let same_aspect = |n: usize| Grid {
        nx: n,
        ny: scaled(ny, n),
        nz: if nz > 1 { scaled(nz, n) } else { 1 },
        dx: g.dx,
    };
    let shape = |g: Grid| {
        if g.nz > 1 {
            format!("{} × {} × {}", g.nx, g.ny, g.nz)
        } else {
            format!("{} × {}", g.nx, g.ny)
        }
    };
    let largest = largest_even(nx, |n| fits(same_aspect(n))).map(same_aspect);
    let widest = (nz == 1)
        .then(|| largest_even(ny, |m| fits(Grid { ny: m, ..g })))
        .flatten();
    let suggestion = match (largest, widest) {
        (None, _) => "no grid of 8 cells or more along each axis fits".to_string(),
        (Some(a), None) => {
            format!(
                "the largest grid that fits is {} at the same aspect",
                shape(a)
            )
        }
        (Some(a), Some(m)) => format!(
            "the largest grid that fits is {} at the same aspect, or {nx} × {m} at this \
             grid.nx",
            shape(a)
        ),
    };
    let key = if nz > 1 {
        "grid.nx × grid.ny × grid.nz"
    } else {
        "grid.nx × grid.ny"
    };
    Err(Error::config(
        key,
        format!(
            "= {} needs {} of memory ({} for the fields and solvers, {} for the \
             {frames} frames kept for growth.gif, {} for writing the outputs), but {} is \
             available: {suggestion}; fewer run.frames also save memory",
            shape(g),
            bytes(total),
            bytes(need.state_bytes),
            bytes(u64::from(frames) * need.frame_bytes),
            bytes(need.output_bytes),
            bytes(available)
        ),
    ))
}

/// The largest even n in [8, max] with `fits(n)`, by bisection (the need grows with n).
fn largest_even(max: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    let (mut lo, mut hi) = (4, max / 2 + 1);
    if !fits(8) {
        return None;
    }
    // fits(2·lo), !fits(2·hi) (2·hi > max).
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(2 * mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(2 * lo)
}

fn even_at_least_8(n: usize) -> usize {
    (n - n % 2).max(8)
}

/// Bytes in MiB or GiB, labelled.
pub fn bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = b as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}
