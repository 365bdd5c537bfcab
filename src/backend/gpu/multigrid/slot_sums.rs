//! Reductions of a finest-level field into a slot of a small scalars buffer, every one through
//! the same two dispatches: a kernel writes one partial sum per workgroup into the shared
//! `partials` buffer (`dot`, `residual_sum`, `operator_sum` in shaders/multigrid/, each
//! ending in `workgroup_sum`), then `dot_finish` adds the partials into the slot. Used by the
//! PCG's dot products and the mass projection's sums; the reductions of one command stream run
//! in order, so they share the partials.
//!
//! Segmented by point: each live point's partials go to its own block of `partials` (the
//! workgroups of one point's layer), and `dot_finish`, one workgroup per point, adds them into
//! the point's slot of the scalars buffer, which holds `stride` scalars per point.

use super::{GpuMultigrid, Kernel};
use crate::backend::gpu::buffers::{bind_group, uniform_buffer};
use std::ops::Range;

/// The `dot_finish` bind groups into consecutive slots of one scalars buffer.
pub(super) struct SlotSums {
    first: u32,
    finish: Vec<wgpu::BindGroup>,
    /// The slot-index uniforms, kept with the bind groups that use them.
    _slots: Vec<wgpu::Buffer>,
}

impl GpuMultigrid {
    /// `dot_finish` bind groups adding the shared partials into each of `slots` of `scalars`
    /// (`stride` scalars per point: point p's slot s at p·stride + s).
    pub(super) fn slot_sums(
        &self,
        scalars: &wgpu::Buffer,
        slots: Range<u32>,
        stride: usize,
    ) -> SlotSums {
        let first = slots.start;
        let slots: Vec<wgpu::Buffer> = slots
            .map(|index| uniform_buffer(self.ctx, "slot", &[index, stride as u32, 0, 0]))
            .collect();
        let finish = slots
            .iter()
            .map(|slot| {
                bind_group(
                    self.ctx,
                    "dot_finish",
                    &self.pipelines.dot_finish,
                    &[&self.partials, scalars, &self.reduction, slot],
                )
            })
            .collect();
        SlotSums {
            first,
            finish,
            _slots: slots,
        }
    }

    /// Records `kernel` (bound by `group`; one partial per workgroup of the finest level into
    /// the shared partials), then the partials' sum into `slot` of `sums`' scalars, for every
    /// live point.
    pub(super) fn reduce_into_slot(
        &self,
        pass: &mut wgpu::ComputePass,
        kernel: &Kernel,
        group: &wgpu::BindGroup,
        sums: &SlotSums,
        slot: u32,
    ) {
        self.dispatch(pass, kernel, group, self.stats_workgroups);
        let finish = &sums.finish[(slot - sums.first) as usize];
        self.dispatch(pass, &self.pipelines.dot_finish, finish, (1, 1));
    }
}
