//! Residual statistics of the finest level (the CPU's `residual_statistics`, f32 sums):
//! recorded into a small device buffer with no read-back, read back once per batch or per
//! blocking solve, and the solve's figures derived from them as the CPU derives `SolveStats`.
//! Each record holds [`STATISTICS`] values per point of the batch, point p's at p·STATISTICS.

use super::GpuMultigrid;
use crate::backend::gpu::buffers::read_back;
use crate::numerics::{backward_error, Bcs, ResidualStatistics};

/// f32 values of one residual-statistics record (Σ r², Σ b², Σ r, Σ |b|, Σ scale²).
pub const STATISTICS: usize = 5;

/// One residual-statistics record from its [`STATISTICS`] f32 values as the device writes them.
pub fn statistics_of(v: &[f32]) -> ResidualStatistics {
    ResidualStatistics {
        r2: f64::from(v[0]),
        b2: f64::from(v[1]),
        r_sum: f64::from(v[2]),
        b_abs_sum: f64::from(v[3]),
        scale2: f64::from(v[4]),
    }
}

/// Which record of the statistics buffer: before the cycles of a solve or after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatisticsSlot {
    Start = 0,
    End = 1,
}

/// Residual statistics before and after a solve, as read back from the device (f32 sums).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SolveStatistics {
    pub start: ResidualStatistics,
    pub end: ResidualStatistics,
}

impl SolveStatistics {
    /// ||b − A u_end|| / ||b|| as the CPU's `SolveStats::residual_rel` (relative to the
    /// initial residual when b = 0).
    pub fn residual_rel(&self) -> f64 {
        let b = self.end.b2.sqrt();
        let reference = if b > 0.0 { b } else { self.start.r2.sqrt() };
        if reference > 0.0 {
            self.end.r2.sqrt() / reference
        } else {
            0.0
        }
    }

    /// ||b − A u_end|| / (||b|| + || |D| |u_end| ||), as `SolveStats::backward_error`.
    pub fn backward_error(&self) -> f64 {
        backward_error(&self.end)
    }

    /// |Σ (b − A u_end)| / Σ |b|: mass created or destroyed by an implicit conservative step
    /// (meaningful where a > 0).
    pub fn mass_defect_rel(&self) -> f64 {
        if self.end.b_abs_sum > 0.0 {
            self.end.r_sum.abs() / self.end.b_abs_sum
        } else {
            0.0
        }
    }
}

impl GpuMultigrid {
    /// Records the residual statistics of `u` on the finest level (the CPU's
    /// `residual_statistics`, f32 sums) into record `slot` of the statistics buffer, for every
    /// live point (into its STATISTICS values; a point that is not live keeps its old ones).
    pub fn encode_residual_statistics(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        slot: StatisticsSlot,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("multigrid residual statistics"),
            timestamp_writes: None,
        });
        let group = self.fine_groups[fine].2.statistics.as_ref();
        self.dispatch(
            &mut pass,
            &self.pipelines.residual_statistics,
            group.expect("finest level has statistics"),
            self.stats_workgroups,
        );
        self.dispatch(
            &mut pass,
            &self.pipelines.residual_statistics_finish,
            &self.statistics_finish[slot as usize],
            (1, 1),
        );
    }

    /// The statistics buffer of `slot`, for callers that copy it into their own staging
    /// buffer: [`STATISTICS`] f32 values per point of the batch (`points().capacity()` of them),
    /// point p's at p·STATISTICS (a lone run's point 0 at 0).
    pub fn statistics_buffer(&self, slot: StatisticsSlot) -> &wgpu::Buffer {
        &self.statistics[slot as usize]
    }

    /// Reads both statistics records of point 0 back (a lone run's; blocking: submits a copy
    /// and waits).
    pub fn read_statistics(&self) -> SolveStatistics {
        self.read_point_statistics(0)
    }

    /// [`GpuMultigrid::read_statistics`] of point `point`.
    pub fn read_point_statistics(&self, point: u32) -> SolveStatistics {
        assert!(point < self.points.capacity(), "no point {point}");
        let at = point as usize * STATISTICS;
        let read = |slot: usize| {
            let v: Vec<f32> = read_back(self.ctx, &self.statistics[slot], at + STATISTICS);
            statistics_of(&v[at..])
        };
        SolveStatistics {
            start: read(0),
            end: read(1),
        }
    }

    /// Both statistics records of every point of the batch, point by point (blocking).
    pub fn read_points_statistics(&self) -> Vec<SolveStatistics> {
        let n = self.points.capacity() as usize * STATISTICS;
        let [start, end] = [0, 1].map(|slot| read_back::<f32>(self.ctx, &self.statistics[slot], n));
        start
            .chunks(STATISTICS)
            .zip(end.chunks(STATISTICS))
            .map(|(s, e)| SolveStatistics {
                start: statistics_of(s),
                end: statistics_of(e),
            })
            .collect()
    }
}
