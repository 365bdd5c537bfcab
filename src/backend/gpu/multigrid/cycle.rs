//! The cycles of a solve: V(2,2) cycles recorded with no read-back (red-black Gauss–Seidel,
//! residual restriction, the coarsest solve, bilinear prolongation), and the blocking solve with
//! the CPU's stop test.

use super::{GpuMultigrid, StatisticsSlot, StencilGroups, COARSEST_FALLBACK_SWEEPS};
use crate::backend::gpu::buffers::layer_workgroups;
use crate::numerics::{Bcs, SolveStats};

use crate::numerics::solve_plan::{POST_SWEEPS, PRE_SWEEPS, STALL_FACTOR};

impl GpuMultigrid {
    /// What the device runs for a solve plan ([`crate::numerics::SolvePlan::device`]): V-cycles
    /// (and the mass projection where set) or PCG iterations.
    pub fn encode_device_solve(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        solve: crate::numerics::DeviceSolve,
    ) {
        match solve {
            crate::numerics::DeviceSolve::VCycles { cycles } => {
                self.encode_solve(encoder, u, f, bcs, cycles)
            }
            crate::numerics::DeviceSolve::Pcg { iterations } => {
                self.encode_pcg(encoder, u, f, bcs, iterations)
            }
        }
    }

    /// Records `cycles` V(2,2) cycles on `u` (warm start) for right-hand side `f`, then, after
    /// [`GpuMultigrid::conserve_mass`], the mass projection; no host read-back.
    pub fn encode_solve(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        cycles: u32,
    ) {
        for _ in 0..cycles {
            self.encode_v_cycle(encoder, u, f, bcs);
        }
        if self.mass_projection.is_some() {
            self.encode_mass_projection(encoder, u, f, bcs);
        }
    }

    /// [`GpuMultigrid::encode_solve`] between two residual-statistics records (start, end), so
    /// that [`GpuMultigrid::read_statistics`] gives this solve's relative residual after the
    /// submit. Two extra passes over the finest level: for the steps that write a metrics row.
    pub fn encode_solve_with_statistics(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        cycles: u32,
    ) {
        self.encode_residual_statistics(encoder, u, f, bcs, StatisticsSlot::Start);
        self.encode_solve(encoder, u, f, bcs, cycles);
        self.encode_residual_statistics(encoder, u, f, bcs, StatisticsSlot::End);
    }

    /// Records one V(2,2) cycle: down the levels smoothing and restricting residuals, the
    /// coarsest solve, back up adding (bi/tri)linear corrections and smoothing (the CPU's
    /// `Hierarchy::v_cycle`, dispatch for loop iteration).
    pub fn encode_v_cycle(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        self.encode_cycle_from(encoder, 0, fine);
    }

    /// The V-cycle of levels `first`.. (the CPU's `Hierarchy::cycle_from`): level `first`'s u
    /// is the caller's (finest level, `fine` its bind groups) or its own, cleared here with
    /// those below it; the walls uniform must already hold the conditions.
    pub(super) fn encode_cycle_from(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        first: usize,
        fine: usize,
    ) {
        // The coarse levels' u are scratch: cleared for every point, live or not.
        for level in &self.levels[first.max(1)..] {
            encoder.clear_buffer(&level.u, 0, None);
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("multigrid V-cycle"),
            timestamp_writes: None,
        });
        let n = self.levels.len();
        for l in first..n - 1 {
            let groups = self.groups(l, fine);
            for _ in 0..PRE_SWEEPS {
                self.sweep(&mut pass, l, groups, [0, 1]);
            }
            let wg = layer_workgroups(self.levels[l].grid());
            self.dispatch(&mut pass, &self.pipelines.residual, &groups.residual, wg);
            self.dispatch(
                &mut pass,
                &self.pipelines.restrict_full_weighting,
                &self.restrict_residual[l],
                layer_workgroups(self.levels[l + 1].grid()),
            );
        }
        self.coarsest(&mut pass, self.groups(n - 1, fine), n - 1);
        for l in (first..n - 1).rev() {
            let groups = self.groups(l, fine);
            let prolong = groups
                .prolong
                .as_ref()
                .expect("fine level has a coarser one");
            let wg = layer_workgroups(self.levels[l].grid());
            self.dispatch(&mut pass, &self.pipelines.prolong_bilinear, prolong, wg);
            for _ in 0..POST_SWEEPS {
                self.sweep(&mut pass, l, groups, [1, 0]);
            }
        }
    }

    /// Blocking solve with the CPU's stop test: V-cycles until the relative residual
    /// ||b − A u|| / ||b|| ≤ `tol`, at most `max_cycles`, stopping after two stalled cycles (the
    /// f32 floor), then, after [`GpuMultigrid::conserve_mass`], the mass projection (as the
    /// CPU's `Multigrid::solve`; `mass_defect_rel` is then the f32 |Σ r| / Σ |b| after it, else
    /// 0). The CPU's switch to PCG on slow cycles is not made: call
    /// [`GpuMultigrid::encode_pcg`]. Reads back after each cycle: for tests and one-off solves,
    /// not steps. A lone run's: the stop test is one point's, so a batch of several points
    /// panics (record its solves with [`GpuMultigrid::encode_solve`]).
    pub fn solve(
        &mut self,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
    ) -> SolveStats {
        assert_eq!(
            self.points.capacity(),
            1,
            "GpuMultigrid::solve is a lone run's: its stop test reads one point"
        );
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::Start);
        self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::End);
        self.ctx.queue.submit([encoder.finish()]);
        let first = self.read_statistics();
        let mut stats = SolveStats {
            residual_rel: first.residual_rel(),
            backward_error: first.backward_error(),
            ..Default::default()
        };
        let mut stalled = 0;
        while stats.residual_rel > tol && stats.cycles < max_cycles && stalled < 2 {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.encode_v_cycle(&mut encoder, u, f, bcs);
            self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::End);
            self.ctx.queue.submit([encoder.finish()]);
            let now = self.read_statistics();
            let rel = now.residual_rel();
            let factor = if stats.residual_rel > 0.0 {
                rel / stats.residual_rel
            } else {
                0.0
            };
            stats.cycles += 1;
            if stats.cycles == 1 {
                stats.history_first_factor = factor;
            }
            stats.residual_rel = rel;
            stats.backward_error = now.backward_error();
            stalled = if factor > STALL_FACTOR {
                stalled + 1
            } else {
                0
            };
        }
        if self.mass_projection.is_some() {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.encode_mass_projection(&mut encoder, u, f, bcs);
            self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::End);
            self.ctx.queue.submit([encoder.finish()]);
            let now = self.read_statistics();
            stats.residual_rel = now.residual_rel();
            stats.backward_error = now.backward_error();
            stats.mass_defect_rel = now.mass_defect_rel();
        }
        stats.converged = stats.residual_rel <= tol;
        stats
    }

    /// One Gauss–Seidel sweep of level `l`, colours in the given order.
    fn sweep(&self, pass: &mut wgpu::ComputePass, l: usize, g: &StencilGroups, order: [usize; 2]) {
        let wg = layer_workgroups(self.levels[l].grid());
        for colour in order {
            self.dispatch(
                pass,
                &self.pipelines.smooth_red_black,
                &g.smooth[colour],
                wg,
            );
        }
    }

    /// Solves the coarsest level (index `l`) for its u.
    fn coarsest(&self, pass: &mut wgpu::ComputePass, g: &StencilGroups, l: usize) {
        match &g.coarsest {
            Some(group) => self.dispatch(pass, &self.pipelines.coarsest_solve, group, (1, 1)),
            None => {
                // Every smoothing colour in turn: on an odd periodic side two cells of one
                // parity meet at the wrap, and updating them together would race.
                let wg = layer_workgroups(self.levels[l].grid());
                for _ in 0..COARSEST_FALLBACK_SWEEPS {
                    for group in &g.smooth {
                        self.dispatch(pass, &self.pipelines.smooth_red_black, group, wg);
                    }
                }
            }
        }
    }
}
