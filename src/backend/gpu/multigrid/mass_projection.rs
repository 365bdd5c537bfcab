//! The projection that ends a conserving solve, on the device: the twin of the CPU's
//! `Multigrid::conserve_mass` / `mass_projection` / `Hierarchy::inverse_of_ones`. u += κ z with
//! z ≈ A⁻¹1 (homogeneous walls) and κ = Σ r / Σ (A z), both sums without the interior fluxes
//! (kernels `residual_sum`, `operator_sum`, `dot_finish`, `mass_projection_scale`, `add_scaled`
//! in shaders/multigrid/), recorded with no read-back.
//!
//! The CPU's sums are exact f64 sums of f32 products; here they are f32 trees, so Σ r after the
//! projection is not 0 but the f32 rounding of the sum (measured in tests/gpu_parity.rs).

use super::slot_sums::SlotSums;
use super::{bind_group_at, GpuMultigrid};
use crate::backend::gpu::buffers::{
    bind_group, layer_workgroups, read_back, storage_buffer, zeroed_buffer,
};
use crate::numerics::Bcs;

/// Cells of the level from which z is V-cycled before being prolonged up (the CPU's
/// `MASS_DIRECTION_CELLS`).
const MASS_DIRECTION_CELLS: usize = 64 * 64;
/// Slots of the projection's scalars (MASS_RESIDUAL, MASS_OPERATOR, MASS_KAPPA in the shader).
const MASS_RESIDUAL: u32 = 0;
const MASS_OPERATOR: u32 = 1;
pub(super) const MASS_SCALARS: usize = 4;

/// z, f = 1 and the bind groups of the projection (built by [`GpuMultigrid::conserve_mass`]);
/// z and the ones hold one block of the finest level's cells per point, the scalars
/// MASS_SCALARS per point.
pub(super) struct MassProjection {
    z: wgpu::Buffer,
    ones: wgpu::Buffer,
    scalars: wgpu::Buffer,
    /// First level of z's V-cycle (the first with at most MASS_DIRECTION_CELLS cells).
    first: usize,
    operator_sum: wgpu::BindGroup,
    /// Sums into Σ r, Σ (A z).
    sums: SlotSums,
    scale: wgpu::BindGroup,
    /// residual_sum and add_scaled per caller (u, f).
    per_solution: Vec<(wgpu::Buffer, wgpu::Buffer, wgpu::BindGroup, wgpu::BindGroup)>,
}

impl GpuMultigrid {
    /// Makes [`GpuMultigrid::encode_solve`] end with the CPU's mass projection
    /// (`Multigrid::conserve_mass`): u += κ z, z ≈ A⁻¹1 from one V-cycle on f = 1 from 0 of
    /// the levels from the first with at most 64² cells, prolonged up without smoothing, and
    /// κ = Σ r / Σ (A z) (0 unless Σ (A z) > 0). Costs per solve: that V-cycle, the
    /// prolongations, two reductions (two dispatches each), κ and u += κ z.
    pub fn conserve_mass(&mut self) {
        if self.mass_projection.is_some() {
            return;
        }
        let (ctx, p) = (self.ctx, &self.pipelines);
        let fine = &self.levels[0];
        let points = self.points.capacity() as usize;
        let cells = fine.cells() * points;
        let n = self.levels.len();
        let first = (0..n)
            .find(|&l| self.levels[l].cells() <= MASS_DIRECTION_CELLS)
            .unwrap_or(n - 1);
        let z = zeroed_buffer(ctx, "mass projection z", cells);
        let ones = storage_buffer(ctx, "mass projection ones", &vec![1.0f32; cells]);
        let scalars = zeroed_buffer(ctx, "mass projection scalars", MASS_SCALARS * points);
        let operator_sum = bind_group_at(
            ctx,
            "operator_sum",
            &p.operator_sum,
            &[
                (0, &z),
                (2, &fine.a),
                (3, &fine.kx),
                (6, &self.walls),
                (7, &fine.uniforms[0]),
                (8, &self.partials),
            ],
        );
        let scale = bind_group(
            ctx,
            "mass_projection_scale",
            &p.mass_projection_scale,
            &[&scalars],
        );
        self.mass_projection = Some(MassProjection {
            sums: self.slot_sums(&scalars, MASS_RESIDUAL..MASS_OPERATOR + 1, MASS_SCALARS),
            operator_sum,
            scale,
            per_solution: Vec::new(),
            z,
            ones,
            scalars,
            first,
        });
    }

    /// Records the projection of `u` (solution of A u = f with walls `bcs`): z, Σ r, Σ (A z),
    /// κ, u += κ z.
    pub fn encode_mass_projection(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
    ) {
        self.encode_inverse_of_ones(encoder, bcs);
        self.encode_residual_sum(encoder, u, f, bcs);
        self.encode_operator_sum(encoder, bcs);
        let (_, add_group) = self.mass_groups(u, f);
        let mp = self.mass_projection.as_ref().expect("conserving");
        let fine = &self.levels[0];
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("mass projection"),
            timestamp_writes: None,
        });
        self.dispatch(
            &mut pass,
            &self.pipelines.mass_projection_scale,
            &mp.scale,
            (1, 1),
        );
        let wg = layer_workgroups(fine.grid());
        self.dispatch(&mut pass, &self.pipelines.add_scaled, &add_group, wg);
    }

    /// z ≈ A⁻¹1 with homogeneous walls (the CPU's `Hierarchy::inverse_of_ones`): one V-cycle
    /// from the first level with at most 64² cells on f = 1 from 0, prolonged up to the finest
    /// level into zeroed u's without smoothing. Leaves the walls uniform homogeneous.
    pub fn encode_inverse_of_ones(&mut self, encoder: &mut wgpu::CommandEncoder, bcs: Bcs) {
        let hom = bcs.homogeneous();
        let mp = self.mass_projection.as_ref().expect("conserving");
        let (z, ones, first) = (mp.z.clone(), mp.ones.clone(), mp.first);
        // z is scratch: cleared for every point, live or not.
        encoder.clear_buffer(&z, 0, None);
        if first == 0 {
            self.encode_v_cycle(encoder, &z, &ones, hom);
            return;
        }
        self.encode_walls(encoder, hom);
        let fine = self.fine_group_index(&z, &ones);
        let level = &self.levels[first];
        // Every point's f = 1 on level `first` (the ones hold more than enough).
        let bytes = (level.cells() * self.points.capacity() as usize * 4) as u64;
        encoder.copy_buffer_to_buffer(&ones, 0, &level.f, 0, bytes);
        self.encode_cycle_from(encoder, first, fine);
        for l in 1..first {
            encoder.clear_buffer(&self.levels[l].u, 0, None);
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("mass projection prolongation"),
            timestamp_writes: None,
        });
        for l in (0..first).rev() {
            let level = &self.levels[l];
            let prolong = self
                .groups(l, fine)
                .prolong
                .as_ref()
                .expect("a level above `first` has a coarser one");
            let wg = layer_workgroups(level.grid());
            self.dispatch(&mut pass, &self.pipelines.prolong_bilinear, prolong, wg);
        }
    }

    /// Records Σ r = Σ (f − a u) + Σ_walls w (g − u) of the finest level into the projection's
    /// scalars (the CPU's `ResidualStatistics::r_sum`, in f32).
    pub fn encode_residual_sum(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
    ) {
        self.encode_walls(encoder, bcs);
        let (sum_group, _) = self.mass_groups(u, f);
        let mp = self.mass_projection.as_ref().expect("conserving");
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("residual_sum"),
            timestamp_writes: None,
        });
        let kernel = &self.pipelines.residual_sum;
        self.reduce_into_slot(&mut pass, kernel, &sum_group, &mp.sums, MASS_RESIDUAL);
    }

    /// Records Σ (A z) (homogeneous walls of `bcs`'s kinds) of the projection's z into its
    /// scalars (the CPU's `operator_sum`, in f32).
    pub fn encode_operator_sum(&mut self, encoder: &mut wgpu::CommandEncoder, bcs: Bcs) {
        self.encode_walls(encoder, bcs.homogeneous());
        let mp = self.mass_projection.as_ref().expect("conserving");
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("operator_sum"),
            timestamp_writes: None,
        });
        let kernel = &self.pipelines.operator_sum;
        self.reduce_into_slot(&mut pass, kernel, &mp.operator_sum, &mp.sums, MASS_OPERATOR);
    }

    /// The projection's direction z (finest level, one block of cells per point), for tests.
    pub fn mass_direction(&self) -> &wgpu::Buffer {
        &self.mass_projection.as_ref().expect("conserving").z
    }

    /// Reads back (Σ r, Σ (A z), κ) of the last recorded projection of point 0 (blocking;
    /// tests).
    pub fn read_mass_projection(&self) -> [f32; 3] {
        self.read_point_mass_projection(0)
    }

    /// [`GpuMultigrid::read_mass_projection`] of point `point`.
    pub fn read_point_mass_projection(&self, point: u32) -> [f32; 3] {
        assert!(point < self.points.capacity(), "no point {point}");
        let mp = self.mass_projection.as_ref().expect("conserving");
        let at = point as usize * MASS_SCALARS;
        let v: Vec<f32> = read_back(self.ctx, &mp.scalars, at + 3);
        [v[at], v[at + 1], v[at + 2]]
    }

    /// (residual_sum, add_scaled) bind groups for the caller's (u, f).
    fn mass_groups(
        &mut self,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
    ) -> (wgpu::BindGroup, wgpu::BindGroup) {
        let mp = self.mass_projection.as_ref().expect("conserving");
        if let Some((_, _, g1, g2)) = mp.per_solution.iter().find(|e| &e.0 == u && &e.1 == f) {
            return (g1.clone(), g2.clone());
        }
        let (ctx, p) = (self.ctx, &self.pipelines);
        let fine = &self.levels[0];
        let un = &fine.uniforms[0];
        let sum = bind_group_at(
            ctx,
            "residual_sum",
            &p.residual_sum,
            &[
                (0, u),
                (1, f),
                (2, &fine.a),
                (3, &fine.kx),
                (6, &self.walls),
                (7, un),
                (8, &self.partials),
            ],
        );
        let add = bind_group(
            ctx,
            "add_scaled",
            &p.add_scaled,
            &[u, &mp.z, &mp.scalars, un],
        );
        let mp = self.mass_projection.as_mut().expect("conserving");
        mp.per_solution
            .push((u.clone(), f.clone(), sum.clone(), add.clone()));
        (sum, add)
    }
}
