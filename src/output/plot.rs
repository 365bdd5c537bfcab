//! Line plots (the chronopotentiometry curve: overpotential vs charge), one or several series.

use std::path::Path;

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut};
use imageproc::drawing::{draw_text_mut, text_size};
use imageproc::rect::Rect;
use plotters::prelude::*;

use super::draw::{fmt_minus, ticks, vertical_text};

use crate::error::{Error, Result};

/// One curve of a line plot; `x` and `y` have the same length. Non-finite points break the line.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub label: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
}

pub const PLOT_WIDTH: u32 = 800;
pub const PLOT_HEIGHT: u32 = 500;

/// Colour cycle (Tableau 10).
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Data range of the finite values, padded by 5 % (a degenerate range is widened).
pub(super) fn padded_range(values: impl Iterator<Item = f64>, pad_low: bool) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        0.05 * span
    } else {
        0.5 * lo.abs().max(1e-3)
    };
    let lo = if pad_low || span == 0.0 { lo - pad } else { lo };
    Some((lo, hi + pad))
}

/// Plots `series` as lines (with a legend when there are several, or one with a label), axes
/// with ticks, `x_label`, `y_label` and `title`, and writes an 800 x 500 PNG atomically.
pub fn write_line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let err = |message: String| Error::Image {
        path: path.into(),
        message,
    };
    if series.is_empty() {
        return Err(err("no series to plot".into()));
    }
    if let Some(s) = series.iter().find(|s| s.x.len() != s.y.len()) {
        let (a, b) = (s.x.len(), s.y.len());
        return Err(err(format!(
            "series `{}` has {a} x values but {b} y values",
            s.label
        )));
    }
    let finite = |s: &Series, k: usize| s.x[k].is_finite() && s.y[k].is_finite();
    let points = || {
        series.iter().flat_map(|s| {
            (0..s.x.len())
                .filter(move |&k| finite(s, k))
                .map(move |k| (s.x[k], s.y[k]))
        })
    };
    let (Some(xr), Some(yr)) = (
        padded_range(points().map(|p| p.0), false),
        padded_range(points().map(|p| p.1), true),
    ) else {
        return Err(err("no finite data points to plot".into()));
    };
    let (xt, xd) = ticks(xr.0, xr.1);
    let (yt, yd) = ticks(yr.0, yr.1);
    let mut buf = vec![255u8; (PLOT_WIDTH * PLOT_HEIGHT * 3) as usize];
    let (frame, xs, ys) = draw_lines(&mut buf, series, xr, yr, &xt, &yt).map_err(err)?;
    let mut img = RgbImage::from_raw(PLOT_WIDTH, PLOT_HEIGHT, buf)
        .ok_or_else(|| err("plot buffer has the wrong size".into()))?;
    let axes = ((&xt[..], &xs[..], xd), (&yt[..], &ys[..], yd));
    draw_text(
        &mut img, &frame, axes.0, axes.1, title, x_label, y_label, series,
    );
    super::write_png(path, &img)
}

/// Plot-area margins (px): top (title), bottom (x ticks + label), left (y ticks + label), right.
pub(super) const MARGIN_TOP: u32 = 52;
pub(super) const MARGIN_BOTTOM: u32 = 72;
pub(super) const MARGIN_LEFT: u32 = 96;
pub(super) const MARGIN_RIGHT: u32 = 28;
pub(super) const TITLE_PX: f32 = 22.0;
pub(super) const DESC_PX: f32 = 18.0;
pub(super) const TICK_PX: f32 = 15.0;
pub(super) const LEGEND_PX: f32 = 15.0;
pub(super) const INK: Rgb<u8> = Rgb([25, 25, 30]);
pub(super) const GRID: RGBColor = RGBColor(228, 228, 232);

/// Data → picture pixel mapping of the plot area, and the pixel rectangle it covers.
struct Frame {
    xr: (f64, f64),
    yr: (f64, f64),
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

/// Draws the grid, the series and the frame with plotters (no text: plotters' ab_glyph text
/// misplaces narrow glyphs), returning the pixel coordinates of the ticks for the text pass.
fn draw_lines(
    buf: &mut [u8],
    series: &[Series],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    xt: &[f64],
    yt: &[f64],
) -> std::result::Result<(Frame, Vec<i32>, Vec<i32>), String> {
    let e = |e: &dyn std::fmt::Display| format!("plotting failed: {e}");
    let root = BitMapBackend::with_buffer(buf, (PLOT_WIDTH, PLOT_HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let area = root.margin(MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT);
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|x| e(&x))?;
    let grid = xt
        .iter()
        .map(|&t| vec![(t, y0), (t, y1)])
        .chain(yt.iter().map(|&t| vec![(x0, t), (x1, t)]));
    chart
        .draw_series(grid.map(|p| PathElement::new(p, GRID)))
        .map_err(|x| e(&x))?;
    for (k, s) in series.iter().enumerate() {
        let style = PALETTE[k % PALETTE.len()].stroke_width(2);
        // Runs of finite points: a NaN breaks the line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (&x, &y) in s.x.iter().zip(s.y) {
            if x.is_finite() && y.is_finite() {
                if let Some(run) = runs.last_mut() {
                    run.push((x, y));
                }
            } else if runs.last().is_some_and(|r| !r.is_empty()) {
                runs.push(Vec::new());
            }
        }
        for run in runs {
            chart
                .draw_series(LineSeries::new(run, style))
                .map_err(|x| e(&x))?;
        }
    }
    let frame = PathElement::new(
        vec![(x0, y1), (x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        BLACK,
    );
    chart
        .draw_series(std::iter::once(frame))
        .map_err(|x| e(&x))?;
    let (left, bottom) = chart.backend_coord(&(x0, y0));
    let (right, top) = chart.backend_coord(&(x1, y1));
    let xs = xt
        .iter()
        .map(|&t| chart.backend_coord(&(t, y0)).0)
        .collect();
    let ys = yt
        .iter()
        .map(|&t| chart.backend_coord(&(x0, t)).1)
        .collect();
    root.present().map_err(|x| e(&x))?;
    Ok((
        Frame {
            xr: (x0, x1),
            yr: (y0, y1),
            left,
            top,
            right,
            bottom,
        },
        xs,
        ys,
    ))
}

pub(super) fn text_w(font: &FontRef, px: f32, s: &str) -> i32 {
    text_size(PxScale::from(px), font, s).0 as i32
}

/// Title, tick marks and labels, axis labels (y rotated) and the legend, drawn over `img`.
#[allow(clippy::too_many_arguments)]
fn draw_text(
    img: &mut RgbImage,
    frame: &Frame,
    (xt, xs, xd): (&[f64], &[i32], usize),
    (yt, ys, yd): (&[f64], &[i32], usize),
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) {
    let font = super::font();
    let f = &font;
    let w = PLOT_WIDTH as i32;
    draw_text_mut(
        img,
        INK,
        (w - text_w(f, TITLE_PX, title)) / 2,
        14,
        PxScale::from(TITLE_PX),
        f,
        title,
    );
    let tick = PxScale::from(TICK_PX);
    for (&t, &x) in xt.iter().zip(xs) {
        draw_line_segment_mut(
            img,
            (x as f32, frame.bottom as f32),
            (x as f32, frame.bottom as f32 + 5.0),
            INK,
        );
        let s = fmt_minus(t, xd);
        draw_text_mut(
            img,
            INK,
            x - text_w(f, TICK_PX, &s) / 2,
            frame.bottom + 9,
            tick,
            f,
            &s,
        );
    }
    for (&t, &y) in yt.iter().zip(ys) {
        draw_line_segment_mut(
            img,
            (frame.left as f32 - 5.0, y as f32),
            (frame.left as f32, y as f32),
            INK,
        );
        let s = fmt_minus(t, yd);
        let x = frame.left - 9 - text_w(f, TICK_PX, &s);
        draw_text_mut(img, INK, x, y - (TICK_PX * 0.6) as i32, tick, f, &s);
    }
    let cx = (frame.left + frame.right) / 2;
    let desc = PxScale::from(DESC_PX);
    draw_text_mut(
        img,
        INK,
        cx - text_w(f, DESC_PX, x_label) / 2,
        frame.bottom + 36,
        desc,
        f,
        x_label,
    );
    let cy = (frame.top + frame.bottom) / 2;
    vertical_text(img, f, (DESC_PX, INK.0), (12, cy), y_label);
    if series.len() > 1 || !series[0].label.is_empty() {
        draw_legend(img, frame, f, series);
    }
}

/// The legend box, in the corner of the plot area that covers the fewest data points.
fn draw_legend(img: &mut RgbImage, frame: &Frame, f: &FontRef, series: &[Series]) {
    let row_h = (LEGEND_PX * 1.35) as i32;
    let label_w = series
        .iter()
        .map(|s| text_w(f, LEGEND_PX, s.label))
        .max()
        .unwrap_or(0);
    let (bw, bh) = (label_w + 28 + 24, row_h * series.len() as i32 + 12);
    let pad = 10;
    let corners = [
        (frame.right - pad - bw, frame.top + pad),
        (frame.left + pad, frame.top + pad),
        (frame.right - pad - bw, frame.bottom - pad - bh),
        (frame.left + pad, frame.bottom - pad - bh),
    ];
    let to_px = |x: f64, y: f64| {
        let tx = (x - frame.xr.0) / (frame.xr.1 - frame.xr.0);
        let ty = (y - frame.yr.0) / (frame.yr.1 - frame.yr.0);
        let px = frame.left as f64 + tx * (frame.right - frame.left) as f64;
        let py = frame.bottom as f64 - ty * (frame.bottom - frame.top) as f64;
        (px as i32, py as i32)
    };
    let covered = |&(bx, by): &(i32, i32)| {
        series
            .iter()
            .flat_map(|s| s.x.iter().zip(s.y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(&x, &y)| to_px(x, y))
            .filter(|&(px, py)| px >= bx && px < bx + bw && py >= by && py < by + bh)
            .count()
    };
    let (bx, by) = corners
        .iter()
        .copied()
        .min_by_key(covered)
        .unwrap_or(corners[0]);
    let rect = Rect::at(bx, by).of_size(bw as u32, bh as u32);
    draw_filled_rect_mut(img, rect, Rgb([255, 255, 255]));
    draw_hollow_rect_mut(img, rect, Rgb([150, 150, 155]));
    for (k, s) in series.iter().enumerate() {
        let RGBColor(r, g, b) = PALETTE[k % PALETTE.len()];
        let y = by + 6 + k as i32 * row_h;
        let line = Rect::at(bx + 8, y + row_h / 2 - 2).of_size(22, 3);
        draw_filled_rect_mut(img, line, Rgb([r, g, b]));
        draw_text_mut(
            img,
            INK,
            bx + 38,
            y + 1,
            PxScale::from(LEGEND_PX),
            f,
            s.label,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_skip_non_finite_and_widen_degenerate() {
        let r = padded_range([1.0, f64::NAN, 3.0].into_iter(), true).unwrap();
        assert!(
            (r.0 - 0.9).abs() < 1e-12 && (r.1 - 3.1).abs() < 1e-12,
            "{r:?}"
        );
        let r = padded_range([2.0, 2.0].into_iter(), false).unwrap();
        assert!(r.0 < 2.0 && r.1 > 2.0);
        assert!(padded_range([f64::NAN].into_iter(), true).is_none());
    }

    #[test]
    fn bad_series_are_errors() {
        let p = std::env::temp_dir().join(format!("mgpf-plot-{}.png", std::process::id()));
        let e = write_line_plot(&p, "t", "x", "y", &[]).unwrap_err();
        assert!(e.to_string().contains("no series"), "{e}");
        let s = Series {
            label: "a",
            x: &[1.0, 2.0],
            y: &[1.0],
        };
        assert!(write_line_plot(&p, "t", "x", "y", &[s])
            .unwrap_err()
            .to_string()
            .contains("1 y values"));
        let s = Series {
            label: "a",
            x: &[f64::NAN],
            y: &[1.0],
        };
        assert!(write_line_plot(&p, "t", "x", "y", &[s])
            .unwrap_err()
            .to_string()
            .contains("finite"));
        assert!(!p.exists());
    }
}
