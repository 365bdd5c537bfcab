//! The state between host and device: fields read back for snapshots and checkpoints, and a
//! checkpoint written back. The device holds the excess u; the host sees c = 1 + u.

use super::GpuBackend;
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::kernels::clear_field_guard;
use crate::backend::{BackendState, Snapshot};
use crate::error::Result;
use crate::grid::{Field, Real};
use crate::model::state::ModelState;

impl GpuBackend {
    /// c/c0 = 1 + u, from the excess read back.
    fn concentration(&self) -> Field {
        self.read_field(&self.fields.excess).mapv(|u| 1.0 + u)
    }

    fn read_field(&self, buffer: &wgpu::Buffer) -> Field {
        let g = self.p.grid;
        let values: Vec<Real> = self.staging.read(self.ctx, buffer, g.cells());
        Field::from_shape_vec((g.nx, g.ny, g.nz), values).expect("grid-sized buffer")
    }

    fn write_field(&self, buffer: &wgpu::Buffer, field: &Field) {
        let standard = field.as_standard_layout();
        let values = standard.as_slice().expect("standard layout");
        self.ctx
            .queue
            .write_buffer(buffer, 0, bytemuck::cast_slice(values));
    }

    fn read_scalars(&self) -> Vec<f32> {
        self.staging.read(
            self.ctx,
            &self.fields.step_scalars,
            step_scalar::COUNT as usize,
        )
    }

    /// The fields of a snapshot, read back.
    pub(super) fn read_snapshot(&self) -> Snapshot {
        let f = &self.fields;
        Snapshot {
            order_parameter: self.read_field(&f.xi),
            concentration: self.concentration(),
            potential: self.read_field(&f.phi),
            plating_rate: self.read_field(&f.bv_rate),
            layer: self.read_field(&f.layer),
            blocked: self.interphase.blocked.clone(),
        }
    }

    /// The fields and scalars a run continues from, read back.
    pub(super) fn read_state(&self) -> BackendState {
        let f = &self.fields;
        let s = self.read_scalars();
        let state = ModelState {
            order_parameter: self.read_field(&f.xi),
            concentration_excess: self.read_field(&f.excess),
            potential: self.read_field(&f.phi),
            order_parameter_change: self.read_field(&f.dxi),
            interphase_layer: self.read_field(&f.layer),
            plating_rate: self.read_field(&f.bv_rate),
            applied_potential_v: s[step_scalar::ELECTRODE_POTENTIAL as usize] as f64,
            last_dt_s: s[step_scalar::DT as usize] as f64,
        };
        BackendState::of_model(state, Vec::new())
    }

    /// Writes a checkpoint's fields and scalars back (the same grid) and clears the guard.
    pub(super) fn write_state(&mut self, state: &BackendState) -> Result<()> {
        let m = state.model_state(self.p.grid)?;
        let f = &self.fields;
        for (buffer, field) in [
            (&f.xi, &m.order_parameter),
            (&f.excess, &m.concentration_excess),
            (&f.phi, &m.potential),
            (&f.dxi, &m.order_parameter_change),
            (&f.layer, &m.interphase_layer),
            // The last step's reaction field, for a frame due where the run resumes
            // (reaction_field rewrites every cell next step).
            (&f.bv_rate, &m.plating_rate),
        ] {
            self.write_field(buffer, field);
        }
        let mut scalars = self.read_scalars();
        scalars[step_scalar::ELECTRODE_POTENTIAL as usize] = m.applied_potential_v as f32;
        scalars[step_scalar::DT as usize] = m.last_dt_s as f32;
        self.ctx
            .queue
            .write_buffer(&f.step_scalars, 0, bytemuck::cast_slice(&scalars));
        clear_field_guard(self.ctx, &f.field_guard);
        Ok(())
    }
}
