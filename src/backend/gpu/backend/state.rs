//! The state between host and device: fields read back for snapshots and checkpoints, and a
//! checkpoint written back. The device holds the excess u; the host sees c = 1 + u.

use super::GpuBackend;
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::kernels::clear_field_guard;
use crate::backend::{BackendState, Snapshot};
use crate::error::{Error, Result};
use crate::grid::{Field, Real};

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
        let excess = self.read_field(&f.excess);
        BackendState {
            fields: vec![
                ("order_parameter".into(), self.read_field(&f.xi)),
                // c for whoever reads the file; u, unrounded by the 1, to continue from.
                ("concentration".into(), excess.mapv(|u| 1.0 + u)),
                ("concentration_excess".into(), excess),
                ("potential".into(), self.read_field(&f.phi)),
                ("order_parameter_change".into(), self.read_field(&f.dxi)),
                ("interphase_layer".into(), self.read_field(&f.layer)),
                ("plating_rate".into(), self.read_field(&f.bv_rate)),
            ],
            scalars: vec![
                (
                    "applied_potential_v".into(),
                    s[step_scalar::ELECTRODE_POTENTIAL as usize] as f64,
                ),
                ("last_dt_s".into(), s[step_scalar::DT as usize] as f64),
            ],
        }
    }

    /// Writes a checkpoint's fields and scalars back (the same grid) and clears the guard.
    pub(super) fn write_state(&mut self, state: &BackendState) -> Result<()> {
        let f = &self.fields;
        let checked = |name: &str, field: &Field| -> Result<()> {
            let g = self.p.grid;
            if field.dim() != (g.nx, g.ny, g.nz) {
                return Err(Error::Checkpoint(format!(
                    "field `{name}` is {:?}, the grid is {} × {} × {}",
                    field.dim(),
                    g.nx,
                    g.ny,
                    g.nz
                )));
            }
            Ok(())
        };
        // A checkpoint from before the excess was the state has c only.
        let excess = match state.field("concentration_excess") {
            Ok(u) => u.clone(),
            Err(_) => state.field("concentration")?.mapv(|c| c - 1.0),
        };
        checked("concentration_excess", &excess)?;
        self.write_field(&f.excess, &excess);
        for (name, buffer) in [
            ("order_parameter", &f.xi),
            ("potential", &f.phi),
            ("order_parameter_change", &f.dxi),
            ("interphase_layer", &f.layer),
        ] {
            let field = state.field(name)?;
            checked(name, field)?;
            self.write_field(buffer, field);
        }
        // The last step's reaction field, for a frame due where the run resumes (absent from
        // older checkpoints: 0; reaction_field rewrites every cell next step).
        match state.field("plating_rate") {
            Ok(field) => {
                checked("plating_rate", field)?;
                self.write_field(&f.bv_rate, field);
            }
            Err(_) => {
                self.ctx
                    .queue
                    .write_buffer(&f.bv_rate, 0, &vec![0u8; 4 * self.p.grid.cells()])
            }
        }
        let mut scalars = self.read_scalars();
        scalars[step_scalar::ELECTRODE_POTENTIAL as usize] =
            state.scalar("applied_potential_v")? as f32;
        scalars[step_scalar::DT as usize] = state.scalar("last_dt_s")? as f32;
        self.ctx
            .queue
            .write_buffer(&f.step_scalars, 0, bytemuck::cast_slice(&scalars));
        clear_field_guard(self.ctx, &f.field_guard);
        Ok(())
    }
}
