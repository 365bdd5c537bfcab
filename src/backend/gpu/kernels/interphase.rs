//! The resolved band (R2) on the device, kernels of `shaders/interphase.wgsl`: the distance from
//! the metal by a windowed exact distance transform (the two passes of the CPU's
//! `model::interphase::distance_from_metal`), then `layer_indicator`.

use super::{kernel_module, Dispatch, Encode, COMMON_WGSL, INTERPHASE_WGSL};
use crate::backend::gpu::context::GpuContext;
use crate::backend::gpu::points::Points;
use crate::grid::Grid;
use std::sync::Arc;

/// The band value the device's distance transform may leave out: f32 resolves the transport
/// coefficients' (1 − s) + s r to ~6e-8, so a band below 1e-8 changes nothing.
pub const BAND_FLOOR: f64 = 1.0e-8;

/// Largest window: (R + 1)² + R², the largest squared distance the second pass forms, fits a u32.
pub const MAX_BAND_REACH: u32 = 46_339;

/// Window half-width R (cells) of the device's distance transform (`shaders/interphase.wgsl`).
///
/// The band ½[1 − tanh((d − L)/(2δ_s))] = 1/(1 + e^((d − L)/δ_s)) falls below [`BAND_FLOOR`]
/// once d ≥ L + δ_s ln(1/BAND_FLOOR − 1) (L + 18.4 δ_s). The transform is exact for cells within
/// R cells of the metal and reports more than R for the others, which lie at
/// d = (r − ½)Δx > (R − ½)Δx from the surface; so
///
///   R = ⌈(L + δ_s ln(1/BAND_FLOOR − 1))/Δx + ½⌉.
///
/// R is capped at the grid's diameter ⌈√((nx − 1)² + ⌊ny/2⌋² + ⌊nz/2⌋²)⌉ (the farthest two cells
/// can be, with the periodic wraps in y and z): there the windows span the grid, the cap R + 1 exceeds every
/// true distance, and the transform is exact everywhere (cells of a grid without metal read
/// R + 1); and at [`MAX_BAND_REACH`].
pub fn band_reach(grid: Grid, thickness: f64, width: f64) -> u32 {
    let reach = ((thickness + width * (1.0 / BAND_FLOOR - 1.0).ln()) / grid.dx + 0.5).ceil();
    let (nx, half_ny, half_nz) = (
        (grid.nx - 1) as f64,
        (grid.ny / 2) as f64,
        (grid.nz / 2) as f64,
    );
    let diameter = (nx * nx + half_ny * half_ny + half_nz * half_nz)
        .sqrt()
        .ceil();
    reach.clamp(0.0, diameter).min(MAX_BAND_REACH as f64) as u32
}

/// The interphase kernels (twins of `model::interphase`).
pub struct InterphaseKernels {
    distance_from_metal_along_x: wgpu::ComputePipeline,
    distance_from_metal_along_y: wgpu::ComputePipeline,
    distance_from_metal_along_z: wgpu::ComputePipeline,
    layer_indicator: wgpu::ComputePipeline,
}

/// The band refresh of `CpuBackend::refresh_layer`: the three distance passes, then the
/// indicator.
pub struct LayerRefresh {
    along_x: Dispatch,
    along_y: Dispatch,
    along_z: Dispatch,
    layer_indicator: Dispatch,
}

impl Encode for LayerRefresh {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.along_x.encode(pass);
        self.along_y.encode(pass);
        self.along_z.encode(pass);
        self.layer_indicator.encode(pass);
    }
}

impl LayerRefresh {
    /// Dispatches of one refresh.
    pub const DISPATCHES: usize = 4;

    /// The same refresh over the points of `points`.
    pub fn with_points(&self, ctx: &GpuContext, points: &Arc<Points>) -> LayerRefresh {
        LayerRefresh {
            along_x: self.along_x.with_points(ctx, points),
            along_y: self.along_y.with_points(ctx, points),
            along_z: self.along_z.with_points(ctx, points),
            layer_indicator: self.layer_indicator.with_points(ctx, points),
        }
    }
}

impl InterphaseKernels {
    pub fn new(ctx: &GpuContext) -> InterphaseKernels {
        let libs = [COMMON_WGSL];
        let build = |entry| kernel_module(ctx, &libs, INTERPHASE_WGSL, entry);
        InterphaseKernels {
            distance_from_metal_along_x: build("distance_from_metal_along_x"),
            distance_from_metal_along_y: build("distance_from_metal_along_y"),
            distance_from_metal_along_z: build("distance_from_metal_along_z"),
            layer_indicator: build("layer_indicator"),
        }
    }

    /// Pass 1 of the distance: per cell the cells along x to the nearest metal cell within the
    /// window (u32), or R + 1.
    #[allow(clippy::too_many_arguments)]
    pub fn distance_from_metal_along_x(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        column_distance: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "distance_from_metal_along_x",
            &self.distance_from_metal_along_x,
            &[k, xi, column_distance, step_scalars],
            grid,
        )
    }

    /// Pass 2: per cell the squared distance (cells², u32) to the nearest metal cell in its x–y
    /// plane within the window.
    #[allow(clippy::too_many_arguments)]
    pub fn distance_from_metal_along_y(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        column_distance: &wgpu::Buffer,
        plane_distance_sq: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "distance_from_metal_along_y",
            &self.distance_from_metal_along_y,
            &[k, column_distance, plane_distance_sq, step_scalars],
            grid,
        )
    }

    /// Pass 3: the distance (µm) from the xi = ½ contour, as `distance_from_metal` returns it
    /// (in 2D the plane's distance itself).
    #[allow(clippy::too_many_arguments)]
    pub fn distance_from_metal_along_z(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        plane_distance_sq: &wgpu::Buffer,
        distance: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "distance_from_metal_along_z",
            &self.distance_from_metal_along_z,
            &[k, plane_distance_sq, distance, step_scalars],
            grid,
        )
    }

    /// s = [1 − h(xi)] · ½[1 − tanh((d − L)/(2δ_s))] from xi and the distance.
    #[allow(clippy::too_many_arguments)]
    pub fn layer_indicator(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        distance: &wgpu::Buffer,
        layer: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "layer_indicator",
            &self.layer_indicator,
            &[k, xi, distance, layer, step_scalars],
            grid,
        )
    }

    /// The whole refresh of `layer` from `xi`, through the scratch fields `column_distance` and
    /// `plane_distance_sq` (u32) and `distance` (f32), for the points due at their step
    /// (`step_scalars[STEP]` a multiple of the run constants' `refresh_every`).
    #[allow(clippy::too_many_arguments)]
    pub fn refresh_layer(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        [column_distance, plane_distance_sq, distance]: [&wgpu::Buffer; 3],
        layer: &wgpu::Buffer,
    ) -> LayerRefresh {
        LayerRefresh {
            along_x: self.distance_from_metal_along_x(
                ctx,
                grid,
                k,
                step_scalars,
                xi,
                column_distance,
            ),
            along_y: self.distance_from_metal_along_y(
                ctx,
                grid,
                k,
                step_scalars,
                column_distance,
                plane_distance_sq,
            ),
            along_z: self.distance_from_metal_along_z(
                ctx,
                grid,
                k,
                step_scalars,
                plane_distance_sq,
                distance,
            ),
            layer_indicator: self.layer_indicator(ctx, grid, k, step_scalars, xi, distance, layer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_reach_of_the_zeolite_demo_and_its_caps() {
        // Zeolite on the demo grid: L = 5 µm, δ_s = δ = 1 µm, Δx = 0.5 µm:
        // (5 + 18.42)/0.5 + 0.5 = 47.3 → 48 cells.
        let r = band_reach(Grid::new(256, 256, 0.5), 5.0, 1.0);
        let band_past = 0.5 * (1.0 - ((((r as f64) - 0.5) * 0.5 - 5.0) / 2.0).tanh());
        println!("R = {r} (expect 48), band at (R − ½)Δx = {band_past:e} (below {BAND_FLOOR:e})");
        assert_eq!(r, 48);
        assert!(band_past < BAND_FLOOR);
        // On 64 × 64 the diameter √(63² + 32²) = 70.7 → 71 does not bind; on 32 × 32 it does.
        assert_eq!(band_reach(Grid::new(64, 64, 0.5), 5.0, 1.0), 48);
        assert_eq!(band_reach(Grid::new(32, 32, 0.5), 5.0, 1.0), 35);
        assert_eq!(band_reach(Grid::new(8, 8, 1e-6), 5.0, 1.0), 9);
    }
}
