//! Per-phase and per-kernel device times of a step, for benchmarks (benches/gpu_step.rs).

use super::batch::pass;
use super::{GpuBackend, CONCENTRATION_BCS, POTENTIAL_BCS};
use crate::backend::gpu::kernels::Encode;
use crate::model::control::MAX_EVALUATIONS;
use std::time::Instant;

/// Wall time per step of each phase on the device (s), from [`GpuBackend::profile`].
#[derive(Debug, Clone)]
pub struct GpuStepProfile {
    /// The pointwise and stencil kernels (transport, Allen–Cahn with orientation, reaction
    /// maxima, noise, update, dt; the reaction field too under potentiostatic control).
    pub update_s: f64,
    pub reductions_s: f64,
    /// The galvanostatic search (its evaluations of the reaction field and its iterations).
    pub control_s: f64,
    pub potential_solve_s: f64,
    /// The concentration's right-hand side and its solve.
    pub concentration_solve_s: f64,
    /// One refresh of the resolved band (R2; 0 without one), run every
    /// `interphase.refresh_every_steps` steps: not in the per-step figures.
    pub layer_refresh_s: f64,
    pub dispatches_outside_multigrid: usize,
    /// Seconds per dispatch of each kernel and reduction of `update_s` and `reductions_s`,
    /// each timed alone (a reduction: its two passes), in step order.
    pub kernels: Vec<(&'static str, f64)>,
}

impl GpuBackend {
    /// Wall time per step of each phase, each recorded `reps` times in its own submit and timed
    /// to completion (the state advances meanwhile; for benchmarks, not for runs).
    pub fn profile(&mut self, reps: u32) -> GpuStepProfile {
        let ctx = self.ctx;
        let time = |record: &mut dyn FnMut(&mut wgpu::CommandEncoder)| {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            record(&mut encoder);
            ctx.queue.submit([encoder.finish()]);
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .expect("device poll");
            let start = Instant::now();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for _ in 0..reps {
                record(&mut encoder);
            }
            ctx.queue.submit([encoder.finish()]);
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .expect("device poll");
            start.elapsed().as_secs_f64() / reps as f64
        };
        let k = &self.kernels;
        let pointwise: [(&'static str, &dyn Encode); 14] = [
            ("transport_coefficients", &k.transport_coefficients),
            ("potential_source", &k.potential_source),
            (k.allen_cahn_kernel, &k.allen_cahn_rate),
            ("reaction_field", &k.reaction_field),
            ("reaction_maxima", &k.reaction_maxima),
            ("max_migration_speed", &k.max_migration_speed),
            ("time_step", &k.time_step),
            ("interface_noise", &k.interface_noise),
            ("noise_mean", &k.noise_mean),
            ("update_order_parameter", &k.update_order_parameter),
            ("concentration_rhs", &k.concentration_rhs),
            ("inverse_time_step_field", &k.inverse_time_step_field),
            ("boundary_inflow", &k.boundary_inflow),
            ("advance_step", &k.advance_step),
        ];
        let reductions: [(&'static str, &dyn Encode); 9] = [
            ("Σ ac_rate", &k.ac_rate_sum),
            ("max reaction_factor", &k.reaction_factor_max),
            ("max front_speed", &k.front_speed_max),
            ("max migration_speed", &k.migration_speed_max),
            ("Σ noise", &k.noise_sum),
            ("Σ h'", &k.h_prime_sum),
            ("Σ Δxi", &k.dxi_sum),
            ("Σ inflow", &k.inflow_sum),
            ("check_fields", &k.check_fields),
        ];
        let kernels = pointwise
            .iter()
            .chain(&reductions)
            .map(|&(name, kernel)| (name, time(&mut |e| pass(e, &[kernel]))))
            .collect();
        // Under galvanostatic control reaction_field is the search's (control_s), not the
        // update's; the concentration's right-hand side is its solve's, as on the CPU.
        let galvanostatic = k.shift_solve.is_some();
        let pointwise: Vec<&dyn Encode> = pointwise
            .iter()
            .filter(|&&(name, _)| {
                let elsewhere = match name {
                    "reaction_field" => galvanostatic,
                    "concentration_rhs" | "inverse_time_step_field" => true,
                    _ => false,
                };
                !elsewhere
            })
            .map(|&(_, kernel)| kernel)
            .collect();
        let reductions: Vec<&dyn Encode> = reductions.iter().map(|&(_, kernel)| kernel).collect();
        let update_s = time(&mut |e| pass(e, &pointwise));
        let reductions_s = time(&mut |e| pass(e, &reductions));
        let control_s = match &k.shift_solve {
            Some(shift) => time(&mut |e| pass(e, &[shift])),
            None => 0.0,
        };
        let f = &self.fields;
        let solves = self.shape.step_solves();
        let (pot, conc) = (&mut self.potential_mg, &mut self.concentration_mg);
        let potential_solve_s = time(&mut |e| {
            pot.set_coefficients(e, &f.zeros, &f.conductivity);
            pot.encode_device_solve(e, &f.phi, &f.rhs, POTENTIAL_BCS, solves.potential.device());
        });
        let rhs: [&dyn Encode; 2] = [&k.concentration_rhs, &k.inverse_time_step_field];
        let concentration_solve_s = time(&mut |e| {
            pass(e, &rhs);
            conc.set_coefficients(e, &f.inverse_dt, &f.diffusivity);
            conc.encode_device_solve(
                e,
                &f.excess,
                &f.rhs,
                CONCENTRATION_BCS,
                solves.concentration.device(),
            );
        });
        let layer_refresh_s = match &k.refresh_layer {
            Some(refresh) => time(&mut |e| pass(e, &[refresh])),
            None => 0.0,
        };
        // Dispatches outside the multigrid: one per kernel, two per reduction (the field guard
        // counts as one), and the search's start plus, per evaluation of its budget,
        // reaction_field (indirect: no workgroups once the search has ended) and the iteration
        // (the reaction_field of the pointwise list is the search's first evaluation).
        let control_dispatches = k
            .shift_solve
            .as_ref()
            .map_or(0, |_| 1 + 2 * MAX_EVALUATIONS as usize);
        GpuStepProfile {
            update_s,
            reductions_s,
            control_s,
            potential_solve_s,
            concentration_solve_s,
            layer_refresh_s,
            dispatches_outside_multigrid: pointwise.len()
                + 2 * reductions.len()
                + control_dispatches,
            kernels,
        }
    }
}
