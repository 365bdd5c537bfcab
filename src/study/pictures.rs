//! A study's pictures: the morphology map (a metric's ensemble means over the varied keys) and
//! the montage of the points' frames on the same grid, from the rows and the points' own frames.
//!
//! The first two keys other than `run.seed` are the map's axes (x the first, y the second); one
//! key gives a line plot (a one-row map where its values are words); each combination of the
//! values of a third and further keys gets a map of its own, stacked.

use super::points::Study;
use super::spec::Spacing;
use super::table::{ensemble_keys, ensembles, metric_index, metric_kind, Ensemble, RunRow};
use crate::error::Result;
use crate::output::{
    grid_montage, render_heat_map, render_sweep_line, stack_vertically, write_gif, write_png,
    GridLabels, MapAxis, MapCell,
};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// Width (px) of each point's picture in the montage.
const MONTAGE_CELL_WIDTH: u32 = 320;
/// Delay between the montage GIF's frames (ms).
const MONTAGE_FRAME_MS: u32 = 150;

/// One axis of the pictures: a varied key's values, as numbers where they are.
struct Axis {
    key: String,
    /// The values as `--set` literals.
    values: Vec<String>,
    /// Their numbers, or their indices where they are words.
    numbers: Vec<f64>,
    words: bool,
    log: bool,
}

impl Axis {
    fn map_axis(&self) -> MapAxis<'_> {
        MapAxis {
            label: &self.key,
            values: &self.numbers,
            log: self.log,
            names: self.words.then_some(&self.values[..]),
        }
    }
}

/// The axes: the varied keys other than run.seed, each with its distinct values in order.
fn axes(study: &Study) -> Vec<Axis> {
    let keys = ensemble_keys(study);
    study
        .varies
        .iter()
        .filter(|v| keys.contains(&v.key.as_str()))
        .map(|v| {
            let mut values: Vec<String> = Vec::new();
            for value in &v.values {
                if !values.contains(value) {
                    values.push(value.clone());
                }
            }
            let numbers: Option<Vec<f64>> = values.iter().map(|s| s.parse().ok()).collect();
            Axis {
                key: v.key.clone(),
                words: numbers.is_none(),
                numbers: numbers.unwrap_or_else(|| (0..values.len()).map(|k| k as f64).collect()),
                values,
                log: v.spacing == Spacing::Log,
            }
        })
        .collect()
}

/// The ensemble at the given value of each axis.
fn find<'a>(ensembles: &'a [Ensemble], values: &[&str]) -> Option<&'a Ensemble> {
    ensembles.iter().find(|e| {
        e.values
            .iter()
            .map(String::as_str)
            .eq(values.iter().copied())
    })
}

/// Each combination of the values of the axes beyond the first two: (title suffix, values).
fn slices(axes: &[Axis]) -> Vec<(String, Vec<&str>)> {
    axes.iter()
        .skip(2)
        .fold(vec![(String::new(), vec![])], |acc, a| {
            acc.iter()
                .flat_map(|(title, values)| {
                    a.values.iter().map(move |v| {
                        let mut vs = values.clone();
                        vs.push(v.as_str());
                        (format!("{title}, {}={v}", a.key), vs)
                    })
                })
                .collect()
        })
}

/// The values of the axes at cell (ix, iy) of a slice.
fn at<'a>(axes: &'a [Axis], ix: usize, iy: usize, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![axes[0].values[ix].as_str()];
    if axes.len() > 1 {
        v.push(axes[1].values[iy].as_str());
    }
    v.extend_from_slice(rest);
    v
}

/// map.png: the metric's ensemble mean at each point; a cell is marked uncertain where its 95 %
/// interval of the mean is wider than the difference to a neighbour's mean.
pub fn write_map(dir: &Path, study: &Study, rows: &[RunRow], metric: &str) -> Result<()> {
    let axes = axes(study);
    if axes.is_empty() {
        return Ok(());
    }
    let ensembles = ensembles(study, rows);
    let k = metric_index(metric).expect("a checked metric");
    let runs = if study.seeds > 1 {
        format!("mean of {} seeds", study.seeds)
    } else {
        "one run per point".into()
    };
    let (nx, ny) = (
        axes[0].values.len(),
        axes.get(1).map_or(1, |a| a.values.len()),
    );
    let mut maps = Vec::new();
    for (suffix, rest) in slices(&axes) {
        let title = format!("{metric} ({}; {runs}){suffix}", metric_kind(metric));
        let mean = |ix: usize, iy: usize| {
            find(&ensembles, &at(&axes, ix, iy, &rest)).and_then(|e| e.metrics[k].mean)
        };
        let half = |ix: usize, iy: usize| {
            find(&ensembles, &at(&axes, ix, iy, &rest)).and_then(|e| e.metrics[k].ci95_half_width)
        };
        if axes.len() == 1 && !axes[0].words {
            let means: Vec<Option<f64>> = (0..nx).map(|ix| mean(ix, 0)).collect();
            let halves: Vec<Option<f64>> = (0..nx).map(|ix| half(ix, 0)).collect();
            maps.push(render_sweep_line(
                &title,
                &axes[0].map_axis(),
                &means,
                &halves,
                metric,
            ));
            continue;
        }
        let cells: Vec<MapCell> = (0..ny)
            .flat_map(|iy| (0..nx).map(move |ix| (ix, iy)))
            .map(|(ix, iy)| {
                let value = mean(ix, iy);
                let neighbours = [
                    (ix.wrapping_sub(1), iy),
                    (ix + 1, iy),
                    (ix, iy.wrapping_sub(1)),
                    (ix, iy + 1),
                ];
                let uncertain = match (value, half(ix, iy)) {
                    (Some(v), Some(h)) => neighbours
                        .iter()
                        .filter(|&&(a, b)| a < nx && b < ny)
                        .filter_map(|&(a, b)| mean(a, b))
                        .any(|m| 2.0 * h > (m - v).abs()),
                    _ => false,
                };
                MapCell { value, uncertain }
            })
            .collect();
        let y = axes.get(1).map(Axis::map_axis).unwrap_or(MapAxis {
            label: "",
            values: &[0.0],
            log: false,
            names: Some(&[]),
        });
        maps.push(render_heat_map(
            &title,
            &axes[0].map_axis(),
            &y,
            &cells,
            metric,
        ));
    }
    write_png(&dir.join("map.png"), &stack_vertically(&maps))
}

/// A point's frames in order (frames/frame_NNNNNN.png).
fn frame_paths(point_dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(point_dir.join("frames"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "png")
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("frame_"))
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
}

/// montage.png (each point's last frame) and montage.gif (frame for frame; a point out of
/// frames holds its last), on the map's grid: the first finished run of each point's ensemble.
pub fn write_montage(dir: &Path, study: &Study, rows: &[RunRow]) -> Result<()> {
    let axes = axes(study);
    if axes.is_empty() {
        return Ok(());
    }
    let ensembles = ensembles(study, rows);
    let (nx, ny) = (
        axes[0].values.len(),
        axes.get(1).map_or(1, |a| a.values.len()),
    );
    let columns: Vec<String> = axes[0].values.clone();
    let row_labels: Vec<String> = axes.get(1).map(|a| a.values.clone()).unwrap_or_default();
    let slices = slices(&axes);
    // Per slice, per cell: the frame files of the run it shows (read one GIF frame at a time, so
    // that a large sweep's frames are never all in memory).
    let frames: Vec<Vec<Vec<PathBuf>>> = slices
        .iter()
        .map(|(_, rest)| {
            (0..ny)
                .flat_map(|iy| (0..nx).map(move |ix| (ix, iy)))
                .map(|(ix, iy)| {
                    let run = find(&ensembles, &at(&axes, ix, iy, rest)).and_then(|e| {
                        e.rows
                            .iter()
                            .map(|&n| &rows[n])
                            .find(|r| r.status.is_done())
                    });
                    run.map(|r| frame_paths(&dir.join(&r.point.dir)))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let count = frames.iter().flatten().map(Vec::len).max().unwrap_or(0);
    let picture = |f: Option<usize>| {
        let parts: Vec<RgbImage> = slices
            .iter()
            .zip(&frames)
            .map(|((suffix, _), cells)| {
                let images: Vec<Option<RgbImage>> = cells
                    .iter()
                    .map(|c| match f {
                        Some(f) => c.get(f).or(c.last()),
                        None => c.last(),
                    })
                    .map(|path| path.and_then(|p| image::open(p).ok()).map(|i| i.to_rgb8()))
                    .collect();
                let chosen: Vec<Option<&RgbImage>> = images.iter().map(Option::as_ref).collect();
                let title = match f {
                    Some(f) => format!("frame {} of {count}{suffix}", f + 1),
                    None => format!("final frames{suffix}"),
                };
                let labels = GridLabels {
                    title: &title,
                    x_title: &axes[0].key,
                    y_title: axes.get(1).map_or("", |a| a.key.as_str()),
                    columns: &columns,
                    rows: &row_labels,
                };
                grid_montage(&chosen, &labels, MONTAGE_CELL_WIDTH)
            })
            .collect();
        stack_vertically(&parts)
    };
    write_png(&dir.join("montage.png"), &picture(None))?;
    if count > 0 {
        let gif: Vec<RgbImage> = (0..count).map(|f| picture(Some(f))).collect();
        write_gif(&dir.join("montage.gif"), &gif, MONTAGE_FRAME_MS)?;
    }
    Ok(())
}
