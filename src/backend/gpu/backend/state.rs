//! The state between host and device: fields read back for snapshots and checkpoints, and a
//! checkpoint written back. The device holds the excess u; the host sees c = 1 + u.

use super::GpuBackend;
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::kernels::clear_point_field_guard;
use crate::backend::{BackendState, Snapshot};
use crate::error::Result;
use crate::grid::{Field, Real};
use crate::model::state::ModelState;

impl GpuBackend {
    /// c/c0 = 1 + u of point `point`, from the excess read back.
    fn concentration(&self, point: u32) -> Field {
        self.read_field(&self.fields.excess, point)
            .mapv(|u| 1.0 + u)
    }

    /// Point `point`'s block of a field buffer, read back.
    fn read_field(&self, buffer: &wgpu::Buffer, point: u32) -> Field {
        let g = self.shape.grid;
        let cells = g.cells();
        let values: Vec<Real> =
            self.staging
                .read_at(self.ctx, buffer, point as usize * cells, cells);
        Field::from_shape_vec((g.nx, g.ny, g.nz), values).expect("grid-sized buffer")
    }

    fn write_field(&self, buffer: &wgpu::Buffer, point: u32, field: &Field) {
        let standard = field.as_standard_layout();
        let values = standard.as_slice().expect("standard layout");
        let offset = 4 * (point as usize * self.shape.grid.cells()) as u64;
        self.ctx
            .queue
            .write_buffer(buffer, offset, bytemuck::cast_slice(values));
    }

    fn read_scalars(&self, point: u32) -> Vec<f32> {
        let count = step_scalar::COUNT as usize;
        self.staging.read_at(
            self.ctx,
            &self.fields.step_scalars,
            point as usize * count,
            count,
        )
    }

    /// The fields of point `point`'s snapshot, read back.
    pub fn read_snapshot(&self, point: u32) -> Snapshot {
        let f = &self.fields;
        Snapshot {
            order_parameter: self.read_field(&f.xi, point),
            concentration: self.concentration(point),
            potential: self.read_field(&f.phi, point),
            plating_rate: self.read_field(&f.bv_rate, point),
            layer: self.read_field(&f.layer, point),
            blocked: self.run(point).interphase.blocked.clone(),
        }
    }

    /// The fields and scalars point `point`'s run continues from, read back.
    pub fn read_state(&self, point: u32) -> BackendState {
        let f = &self.fields;
        let s = self.read_scalars(point);
        let state = ModelState {
            order_parameter: self.read_field(&f.xi, point),
            concentration_excess: self.read_field(&f.excess, point),
            potential: self.read_field(&f.phi, point),
            order_parameter_change: self.read_field(&f.dxi, point),
            interphase_layer: self.read_field(&f.layer, point),
            plating_rate: self.read_field(&f.bv_rate, point),
            applied_potential_v: s[step_scalar::ELECTRODE_POTENTIAL as usize] as f64,
            last_dt_s: s[step_scalar::DT as usize] as f64,
        };
        BackendState::of_model(state, Vec::new())
    }

    /// Writes a checkpoint's fields and scalars back into point `point` (the same grid) and
    /// clears its guard.
    pub fn write_state(&mut self, point: u32, state: &BackendState) -> Result<()> {
        let m = state.model_state(self.shape.grid)?;
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
            self.write_field(buffer, point, field);
        }
        let mut scalars = self.read_scalars(point);
        scalars[step_scalar::ELECTRODE_POTENTIAL as usize] = m.applied_potential_v as f32;
        scalars[step_scalar::DT as usize] = m.last_dt_s as f32;
        f.write_scalars(self.ctx, point, &scalars);
        clear_point_field_guard(self.ctx, &f.field_guard, point);
        Ok(())
    }
}
