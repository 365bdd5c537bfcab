//! Flexible conjugate gradients preconditioned by one V-cycle, every scalar on the device: the
//! twin of the CPU's `SolvePlan::Pcg` with a fixed iteration count (kernels
//! `apply_operator`, `dot`, `dot_finish`, `pcg_beta`, `scale_and_add`, `pcg_alpha`,
//! `pcg_update` in shaders/multigrid/).

use super::slot_sums::SlotSums;
use super::{bind_group_at, GpuMultigrid};
use crate::backend::gpu::buffers::{bind_group, layer_workgroups, uniform_buffer, zeroed_buffer};
use crate::numerics::Bcs;

/// Slots of the PCG scalars buffer (the constants of the same name in pcg.wgsl), PCG_SCALARS
/// per point.
const RZ_OLD: u32 = 1;
const RZ_NEW: u32 = 2;
const PQ: u32 = 3;
pub(super) const PCG_SCALARS: usize = 8;

/// Finest-level vectors, scalars and bind groups of the preconditioned CG (built on first use),
/// one block per point.
pub(super) struct Krylov {
    r: wgpu::Buffer,
    z: wgpu::Buffer,
    p: wgpu::Buffer,
    q: wgpu::Buffer,
    scalars: wgpu::Buffer,
    dot_rz: wgpu::BindGroup,
    dot_pq: wgpu::BindGroup,
    /// Sums into RZ_OLD, RZ_NEW, PQ.
    sums: SlotSums,
    /// pcg_beta on a later iteration / on the first (restart).
    beta: [wgpu::BindGroup; 2],
    alpha: wgpu::BindGroup,
    scale_and_add: wgpu::BindGroup,
    apply_operator: wgpu::BindGroup,
    /// residual into r and pcg_update, per caller (u, f).
    per_solution: Vec<(wgpu::Buffer, wgpu::Buffer, wgpu::BindGroup, wgpu::BindGroup)>,
    /// pcg_beta's restart uniforms, kept with the bind groups that use them.
    _restart: [wgpu::Buffer; 2],
}

impl GpuMultigrid {
    /// Records `iterations` of flexible conjugate gradients preconditioned by one V-cycle each
    /// (the CPU's `SolvePlan::Pcg` with a fixed count: tol 0, no stall test), from the
    /// current `u`, all scalars on the device. Use where plain V-cycles are slow: the potential
    /// of a weakly conducting (k ≤ 1e-3) metal, whose floating mode V-cycles reduce only ~0.6
    /// per cycle (tests/gpu_multigrid.rs: 4 iterations per step leave 30× less error than 4
    /// V-cycles). Each iteration costs a V-cycle plus 7 finest-level passes.
    pub fn encode_pcg(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        iterations: u32,
    ) {
        self.ensure_krylov();
        let (residual_group, update_group) = self.krylov_groups(u, f);
        let kr = self.krylov.as_ref().expect("built above");
        let (r, z) = (kr.r.clone(), kr.z.clone());
        encoder.clear_buffer(&kr.scalars, 0, None);
        encoder.clear_buffer(&kr.p, 0, None);
        self.encode_walls(encoder, bcs);
        let wg = layer_workgroups(self.levels[0].grid());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.dispatch(&mut pass, &self.pipelines.residual, &residual_group, wg);
        }
        let hom = bcs.homogeneous();
        for it in 0..iterations {
            if it > 0 {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                self.dot(&mut pass, RZ_OLD);
            }
            encoder.clear_buffer(&z, 0, None);
            self.encode_v_cycle(encoder, &z, &r, hom);
            let kr = self.krylov.as_ref().expect("built above");
            let p = &self.pipelines;
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("multigrid pcg"),
                timestamp_writes: None,
            });
            self.dot(&mut pass, RZ_NEW);
            let beta = &kr.beta[usize::from(it == 0)];
            self.dispatch(&mut pass, &p.pcg_beta, beta, (1, 1));
            self.dispatch(&mut pass, &p.scale_and_add, &kr.scale_and_add, wg);
            self.dispatch(&mut pass, &p.apply_operator, &kr.apply_operator, wg);
            self.dot(&mut pass, PQ);
            self.dispatch(&mut pass, &p.pcg_alpha, &kr.alpha, (1, 1));
            self.dispatch(&mut pass, &p.pcg_update, &update_group, wg);
        }
    }

    /// Records dot(r, z) (RZ_OLD, RZ_NEW) or dot(p, q) (PQ) into the PCG scalars.
    fn dot(&self, pass: &mut wgpu::ComputePass, slot: u32) {
        let kr = self.krylov.as_ref().expect("krylov built");
        let group = if slot == PQ { &kr.dot_pq } else { &kr.dot_rz };
        self.reduce_into_slot(pass, &self.pipelines.dot, group, &kr.sums, slot);
    }

    fn ensure_krylov(&mut self) {
        if self.krylov.is_some() {
            return;
        }
        let (ctx, p) = (self.ctx, &self.pipelines);
        let fine = &self.levels[0];
        let points = self.points.capacity() as usize;
        let cells = fine.cells() * points;
        let field = |label| zeroed_buffer(ctx, label, cells);
        let (r, z, p_dir, q) = (
            field("pcg r"),
            field("pcg z"),
            field("pcg p"),
            field("pcg q"),
        );
        let scalars = zeroed_buffer(ctx, "pcg scalars", PCG_SCALARS * points);
        let restart = |index: u32| uniform_buffer(ctx, "pcg restart", &[index, 0, 0, 0]);
        let restarts = [restart(0), restart(1)];
        let un = &fine.uniforms[0];
        let dot = |x: &wgpu::Buffer, y: &wgpu::Buffer| {
            let bindings = [(0, x), (1, y), (3, un), (8, &self.partials)];
            bind_group_at(ctx, "dot", &p.dot, &bindings)
        };
        let beta = |s: &wgpu::Buffer| bind_group(ctx, "pcg_beta", &p.pcg_beta, &[&scalars, s]);
        let apply_operator = bind_group_at(
            ctx,
            "apply_operator",
            &p.apply_operator,
            &[
                (0, &p_dir),
                (2, &fine.a),
                (3, &fine.kx),
                (4, &fine.ky),
                (5, &fine.kz),
                (6, &self.walls),
                (7, un),
                (8, &q),
            ],
        );
        self.krylov = Some(Krylov {
            dot_rz: dot(&r, &z),
            dot_pq: dot(&p_dir, &q),
            sums: self.slot_sums(&scalars, RZ_OLD..PQ + 1, PCG_SCALARS),
            beta: [beta(&restarts[0]), beta(&restarts[1])],
            alpha: bind_group(ctx, "pcg_alpha", &p.pcg_alpha, &[&scalars]),
            scale_and_add: bind_group(
                ctx,
                "scale_and_add",
                &p.scale_and_add,
                &[&p_dir, &z, &scalars, un],
            ),
            apply_operator,
            per_solution: Vec::new(),
            _restart: restarts,
            r,
            z,
            p: p_dir,
            q,
            scalars,
        });
    }

    /// (residual of u into the PCG r, pcg_update) bind groups for the caller's (u, f).
    fn krylov_groups(
        &mut self,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
    ) -> (wgpu::BindGroup, wgpu::BindGroup) {
        let kr = self.krylov.as_ref().expect("krylov built");
        if let Some((_, _, g1, g2)) = kr.per_solution.iter().find(|e| &e.0 == u && &e.1 == f) {
            return (g1.clone(), g2.clone());
        }
        let (ctx, p) = (self.ctx, &self.pipelines);
        let fine = &self.levels[0];
        let un = &fine.uniforms[0];
        let residual = bind_group(
            ctx,
            "pcg residual",
            &p.residual,
            &[
                u,
                f,
                &fine.a,
                &fine.kx,
                &fine.ky,
                &fine.kz,
                &self.walls,
                un,
                &kr.r,
            ],
        );
        let update = bind_group(
            ctx,
            "pcg_update",
            &p.pcg_update,
            &[u, &kr.r, &kr.p, &kr.q, &kr.scalars, un],
        );
        let kr = self.krylov.as_mut().expect("krylov built");
        kr.per_solution
            .push((u.clone(), f.clone(), residual.clone(), update.clone()));
        (residual, update)
    }
}
