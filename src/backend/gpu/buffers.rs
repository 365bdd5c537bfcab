//! Device buffers: storage buffers made from host slices, uniform blocks, dispatch sizes and
//! read-back through a staging buffer.

use super::context::{GpuContext, WORKGROUP_1D, WORKGROUP_X, WORKGROUP_Y};
use std::sync::atomic::{AtomicU64, Ordering};
use wgpu::util::DeviceExt;

/// Bytes of the device buffers created through this module since the process started.
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

/// Bytes of the storage and uniform buffers created through this module since the process
/// started (never decreases): what a backend's construction allocates is the difference
/// across it (tests/gpu_memory.rs checks `GpuBackend::device_bytes` against it).
pub fn allocated_bytes() -> u64 {
    ALLOCATED_BYTES.load(Ordering::Relaxed)
}

fn count(buffer: wgpu::Buffer) -> wgpu::Buffer {
    ALLOCATED_BYTES.fetch_add(buffer.size(), Ordering::Relaxed);
    buffer
}

/// Usage of a field buffer: read and written by kernels, copied to staging, filled from the host.
pub const FIELD_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A storage buffer holding `data` (f32 fields, u32 lists, or any Pod records).
pub fn storage_buffer<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> wgpu::Buffer {
    count(
        ctx.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: FIELD_USAGE,
            }),
    )
}

/// A zero-filled storage buffer of `len` elements of 4 bytes.
pub fn zeroed_buffer(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    count(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (len.max(1) * 4) as u64,
        usage: FIELD_USAGE,
        mapped_at_creation: false,
    }))
}

/// A uniform buffer holding one `#[repr(C)]` block (its WGSL struct must match field by field,
/// 16-byte aligned as a whole).
pub fn uniform_buffer<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, value: &T) -> wgpu::Buffer {
    count(
        ctx.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::bytes_of(value),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            }),
    )
}

/// A uniform buffer of [`MAX_POINTS`](super::points::MAX_POINTS) blocks, one per point of a
/// batch (WGSL `array<T, MAX_POINTS>`): `values` first, zeros after (points not held).
pub fn point_uniforms<T: bytemuck::Pod>(
    ctx: &GpuContext,
    label: &str,
    values: &[T],
) -> wgpu::Buffer {
    let capacity = super::points::MAX_POINTS as usize;
    assert!(
        values.len() <= capacity,
        "{label}: more than {capacity} points"
    );
    let mut bytes = vec![0u8; capacity * std::mem::size_of::<T>()];
    let filled = bytemuck::cast_slice::<T, u8>(values);
    bytes[..filled.len()].copy_from_slice(filled);
    count(
        ctx.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &bytes,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            }),
    )
}

/// Workgroups covering an nx × ny grid with the 2D kernels' (WORKGROUP_X along j, WORKGROUP_Y
/// along i): `dispatch_workgroups(x, y, 1)`.
pub fn grid_workgroups(nx: usize, ny: usize) -> (u32, u32) {
    (
        (ny as u32).div_ceil(WORKGROUP_X),
        (nx as u32).div_ceil(WORKGROUP_Y),
    )
}

/// Workgroups covering `grid` with the kernels of the grid rule (`context::GRID_RULE`):
/// WORKGROUP_X along the layer index m = j·nz + k, WORKGROUP_Y along i.
pub fn layer_workgroups(grid: crate::grid::Grid) -> (u32, u32) {
    grid_workgroups(grid.nx, grid.layer_cells())
}

/// Workgroups covering `n` items with the 1D kernels.
pub fn linear_workgroups(n: usize) -> u32 {
    (n as u32).div_ceil(WORKGROUP_1D)
}

/// A bind group for `pipeline`'s group 0 with `buffers` at bindings 0, 1, 2, ... in order.
pub fn bind_group(
    ctx: &GpuContext,
    label: &str,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let layout = pipeline.get_bind_group_layout(0);
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(n, b)| wgpu::BindGroupEntry {
            binding: n as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &layout,
        entries: &entries,
    })
}

/// Copies the first `len` 4-byte elements of `buffer` to the host (blocking). Use for tests and
/// outputs; a run keeps one staging buffer and calls this only when a frame or row is due.
pub fn read_back<T: bytemuck::Pod>(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Vec<T> {
    let size = (len * std::mem::size_of::<T>()) as u64;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("staging"),
        size: size.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("read back"),
        });
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
    ctx.queue.submit([encoder.finish()]);
    read_staging(ctx, &staging, len)
}

/// Maps a staging buffer the caller filled, copies `len` elements out and unmaps it.
pub fn read_staging<T: bytemuck::Pod>(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    len: usize,
) -> Vec<T> {
    let size = (len * std::mem::size_of::<T>()) as u64;
    let slice = staging.slice(..size.max(4));
    slice.map_async(wgpu::MapMode::Read, |r| r.expect("map staging buffer"));
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("device poll");
    let out = {
        let view = slice.get_mapped_range().expect("mapped staging range");
        bytemuck::cast_slice(&view[..size as usize]).to_vec()
    };
    staging.unmap();
    out
}

/// A MAP_READ buffer made once and reused for every read-back of up to its capacity: a run's
/// snapshots and step reports go through it instead of a new staging buffer each time.
pub struct Staging {
    buffer: wgpu::Buffer,
    capacity: u64,
}

impl Staging {
    pub fn new(ctx: &GpuContext, label: &str, bytes: u64) -> Staging {
        let capacity = bytes.max(4).next_multiple_of(4);
        Staging {
            buffer: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: capacity,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            capacity,
        }
    }

    /// Copies the first `len` elements of `source` through the staging buffer (blocking).
    pub fn read<T: bytemuck::Pod>(
        &self,
        ctx: &GpuContext,
        source: &wgpu::Buffer,
        len: usize,
    ) -> Vec<T> {
        self.read_at(ctx, source, 0, len)
    }

    /// Copies `len` elements of `source` from element `first` on through the staging buffer
    /// (blocking): one point's block of a batch's buffer.
    pub fn read_at<T: bytemuck::Pod>(
        &self,
        ctx: &GpuContext,
        source: &wgpu::Buffer,
        first: usize,
        len: usize,
    ) -> Vec<T> {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read back"),
            });
        let size = (len * std::mem::size_of::<T>()) as u64;
        assert!(
            size <= self.capacity,
            "read-back of {size} B into {} B of staging",
            self.capacity
        );
        let offset = (first * std::mem::size_of::<T>()) as u64;
        encoder.copy_buffer_to_buffer(source, offset, &self.buffer, 0, size);
        ctx.queue.submit([encoder.finish()]);
        self.map_read(ctx, len)
    }

    /// Records the copy of the first `len` elements of `source` into the staging buffer, to be
    /// read with [`Staging::map_read`] once `encoder` has been submitted.
    pub fn record_copy<T: bytemuck::Pod>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        source: &wgpu::Buffer,
        len: usize,
    ) {
        let size = (len * std::mem::size_of::<T>()) as u64;
        assert!(
            size <= self.capacity,
            "read-back of {size} B into {} B of staging",
            self.capacity
        );
        encoder.copy_buffer_to_buffer(source, 0, &self.buffer, 0, size);
    }

    /// The first `len` elements of the staging buffer, once the submission that filled it is
    /// done (blocking).
    pub fn map_read<T: bytemuck::Pod>(&self, ctx: &GpuContext, len: usize) -> Vec<T> {
        read_staging(ctx, &self.buffer, len)
    }
}
