//! Single kernels of the finest level, recorded one at a time, for the parity tests against the
//! CPU kernels (tests/gpu_multigrid.rs). A solve records them through `encode_v_cycle`.

use super::GpuMultigrid;
use crate::backend::gpu::buffers::layer_workgroups;
use crate::numerics::Bcs;

impl GpuMultigrid {
    /// Records one colour of red-black Gauss–Seidel on the finest level (parity tests).
    pub fn encode_smooth_red_black(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        colour: usize,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        let mut pass = encoder.begin_compute_pass(&Default::default());
        let level = &self.levels[0];
        self.dispatch(
            &mut pass,
            &self.pipelines.smooth_red_black,
            &self.fine_groups[fine].2.smooth[colour],
            layer_workgroups(level.grid()),
        );
    }

    /// Records r = f − A u on the finest level into `level(0).r` (parity tests).
    pub fn encode_residual(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        let mut pass = encoder.begin_compute_pass(&Default::default());
        let level = &self.levels[0];
        self.dispatch(
            &mut pass,
            &self.pipelines.residual,
            &self.fine_groups[fine].2.residual,
            layer_workgroups(level.grid()),
        );
    }

    /// Records `level(0).r` restricted into `level(1).f` (parity tests).
    pub fn encode_restrict_residual(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        let coarse = &self.levels[1];
        self.dispatch(
            &mut pass,
            &self.pipelines.restrict_full_weighting,
            &self.restrict_residual[0],
            layer_workgroups(coarse.grid()),
        );
    }

    /// Records u += P `level(1).u` on the finest level, ghost signs from `bcs` (parity tests).
    pub fn encode_prolong_bilinear(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        let mut pass = encoder.begin_compute_pass(&Default::default());
        let level = &self.levels[0];
        let group = self.fine_groups[fine]
            .2
            .prolong
            .as_ref()
            .expect("two levels");
        self.dispatch(
            &mut pass,
            &self.pipelines.prolong_bilinear,
            group,
            layer_workgroups(level.grid()),
        );
    }
}
