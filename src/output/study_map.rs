//! Pictures of a parameter sweep: a heat map of one metric over two varied config keys
//! ([`render_heat_map`]), a line plot of the metric over one ([`render_sweep_line`]), and a
//! vertical stack of such pictures ([`stack_vertically`]).

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut,
    draw_text_mut,
};
use imageproc::rect::Rect;

use super::draw::{
    colorbar_n, fmt_exact, fmt_minus, fmt_sig, tick_label, ticks, ticks_n, vertical_text,
};
use super::frames::{viridis, COLORBAR_GAP, COLORBAR_W, SMALL_PX, TICK_LEN};
use super::plot::{
    padded_range, text_w, DESC_PX, GRID, INK, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP,
    PALETTE, TICK_PX, TITLE_PX,
};
use super::{PLOT_HEIGHT, PLOT_WIDTH};

/// One varied config key: its name, its values in the sweep's order, and whether the values are
/// spaced logarithmically (the axis title then says so; the line plot uses a log axis).
#[derive(Debug, Clone, Copy)]
pub struct MapAxis<'a> {
    /// The config key, e.g. "interphase.asr_ohm_cm2".
    pub label: &'a str,
    pub values: &'a [f64],
    pub log: bool,
    /// Labels of the values where they are words (`interphase.preset=none,passivating`: the
    /// values are then their indices); None labels each value by its number.
    pub names: Option<&'a [String]>,
}

/// One point of the heat map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapCell {
    /// The metric; `None`: no finished run at this point.
    pub value: Option<f64>,
    /// The interval of the mean is wider than the difference to a neighbour (drawn marked).
    pub uncertain: bool,
}

const MARGIN: u32 = 16;
/// Cell size (px) for up to about a dozen cells along an axis, and the smallest it shrinks to.
const CELL_MAX: u32 = 100;
const CELL_MIN: u32 = 44;
/// Above these the cells shrink (down to [`CELL_MIN`]).
const MAX_GRID_W: u32 = 1200;
const MAX_GRID_H: u32 = 900;
const TITLE_H: u32 = 40;
const VALUE_PX: f32 = 16.0;
const MARK_PX: f32 = 15.0;
const LEGEND_LINE_H: u32 = 22;
const LEGEND_SWATCH: (u32, u32) = (26, 16);
/// A cell without a finished run; its text.
const MISSING_RGB: [u8; 3] = [222, 222, 226];
const MISSING_TEXT_RGB: [u8; 3] = [120, 120, 128];
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
/// What the uncertain mark means, beside its swatch.
const UNCERTAIN_LEGEND: &str =
    "? dashed: uncertain (interval of the mean wider than the difference to a neighbour)";
/// The narrowest the legend is wrapped to.
const LEGEND_MIN_W: u32 = 280;
const MISSING_LEGEND: &str = "\u{2014}: no finished run";

/// The axis title: the key, with "(log scale)" when the values are spaced logarithmically.
fn axis_title(axis: &MapAxis) -> String {
    if axis.log {
        format!("{} (log scale)", axis.label)
    } else {
        axis.label.to_string()
    }
}

/// The colour range of the finite values; a degenerate one is padded (1 % of the value, or
/// 1e−3 around zero).
fn colour_range(cells: &[MapCell]) -> Option<(f64, f64)> {
    let (lo, hi) = cells
        .iter()
        .filter_map(|c| c.value)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    if hi > lo {
        return Some((lo, hi));
    }
    let pad = if lo == 0.0 { 1e-3 } else { 0.01 * lo.abs() };
    Some((lo - pad, hi + pad))
}

/// The heat map's geometry: where each part goes, in picture pixels.
struct MapLayout {
    width: u32,
    height: u32,
    nx: u32,
    ny: u32,
    /// Top-left corner of the cell grid and the size of one cell (its fill is 1 px inset).
    grid: (u32, u32),
    cell: (u32, u32),
    /// Right edge of the row labels (they are right-aligned to it).
    row_labels_right: u32,
    /// The y-axis title: turned upright left of the row labels when the grid is tall enough
    /// for it (`Vertical(left edge)`), else on a line of its own above the grid (`Above(top)`).
    y_title: YTitle,
    /// Left edge of the colour bar.
    bar_x: u32,
    /// Tops of the column labels, the x-axis title and the legend.
    column_labels_y: u32,
    x_title_y: u32,
    legend_y: u32,
    /// The uncertain mark's explanation, wrapped to the picture's width.
    uncertain_legend: Vec<String>,
}

/// Where an axis title that would read upwards goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum YTitle {
    Vertical(u32),
    Above(u32),
}

/// An axis title written horizontally for an axis that goes up: "↑ title".
pub(super) fn upward(title: &str) -> String {
    format!("\u{2191} {title}")
}

/// Greedy word wrap of `text` into lines at most `max_w` px wide (a longer word gets a line of
/// its own).
fn wrap(font: &FontRef, px: f32, text: &str, max_w: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if text_w(font, px, &format!("{line} {word}")) as u32 <= max_w => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

impl MapLayout {
    fn new(
        font: &FontRef,
        title: &str,
        x: &MapAxis,
        y: &MapAxis,
        range: Option<(f64, f64)>,
        colour_label: &str,
    ) -> Self {
        let nx = x.values.len().max(1) as u32;
        let ny = y.values.len().max(1) as u32;
        let cw = (MAX_GRID_W / nx).clamp(CELL_MIN, CELL_MAX);
        let ch = (MAX_GRID_H / ny).clamp(CELL_MIN, CELL_MAX);
        let (grid_w, grid_h) = (nx * cw, ny * ch);
        let w = |px: f32, s: &str| text_w(font, px, s).max(0) as u32;
        let y_title_w = w(DESC_PX, &axis_title(y));
        let mut top = MARGIN + TITLE_H;
        let (y_title, y_title_strip) = if y_title_w + 8 <= grid_h {
            (YTitle::Vertical(MARGIN), DESC_PX as u32 + 8 + 8)
        } else {
            top += DESC_PX as u32 + 12;
            (YTitle::Above(MARGIN + TITLE_H - 6), 0)
        };
        let row_label_w = y
            .values
            .iter()
            .map(|&v| w(TICK_PX, &fmt_exact(v)))
            .max()
            .unwrap_or(0);
        let row_labels_right = MARGIN + y_title_strip + row_label_w;
        let grid = (row_labels_right + 8, top);
        let bar_x = grid.0 + grid_w + 2 * COLORBAR_GAP;
        let tick_labels_w = range
            .map(|(lo, hi)| {
                let (values, decimals) = ticks_n(lo, hi, bar_ticks(grid_h));
                values
                    .iter()
                    .map(|&v| w(SMALL_PX, &tick_label(v, decimals)))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let bar_block_w =
            (COLORBAR_W + TICK_LEN + 4 + tick_labels_w).max(w(SMALL_PX, colour_label));
        let column_labels_y = grid.1 + grid_h + 6;
        let x_title_y = column_labels_y + TICK_PX as u32 + 10;
        let legend_y = x_title_y + DESC_PX as u32 + 14;
        // The x title is centred under the grid but may stick out right of it.
        let x_title_right = grid.0 + grid_w / 2 + w(DESC_PX, &axis_title(x)).div_ceil(2);
        let content_right = (bar_x + bar_block_w)
            .max(x_title_right)
            .max(MARGIN + w(TITLE_PX, title))
            .max(MARGIN + w(DESC_PX, &upward(&axis_title(y))));
        let legend_x = MARGIN + LEGEND_SWATCH.0 + 8;
        let legend_max_w = content_right.saturating_sub(legend_x).max(LEGEND_MIN_W);
        let uncertain_legend = wrap(font, SMALL_PX, UNCERTAIN_LEGEND, legend_max_w);
        let legend_right = uncertain_legend
            .iter()
            .chain(std::iter::once(&MISSING_LEGEND.to_string()))
            .map(|line| legend_x + w(SMALL_PX, line))
            .max()
            .unwrap_or(0);
        // Room for both legend entries, whether the map shows the marks or not, so that the
        // maps of one sweep have the same size.
        let legend_lines = uncertain_legend.len() as u32 + 1;
        let height = legend_y + legend_lines * LEGEND_LINE_H + MARGIN;
        Self {
            width: content_right.max(legend_right) + MARGIN,
            height,
            nx,
            ny,
            grid,
            cell: (cw, ch),
            row_labels_right,
            y_title,
            bar_x,
            column_labels_y,
            x_title_y,
            legend_y,
            uncertain_legend,
        }
    }

    /// The filled part of cell `(ix, iy)`: x, y, width, height (y increases upward: the row of
    /// the largest `iy` is at the top).
    fn cell_fill(&self, ix: u32, iy: u32) -> (u32, u32, u32, u32) {
        let (cw, ch) = self.cell;
        let x = self.grid.0 + ix * cw;
        let y = self.grid.1 + (self.ny - 1 - iy) * ch;
        (x + 1, y + 1, cw - 2, ch - 2)
    }

    fn grid_h(&self) -> u32 {
        self.ny * self.cell.1
    }
}

/// About how many tick intervals a colour bar `h` px tall has room for.
fn bar_ticks(h: u32) -> usize {
    (h as usize / 30).clamp(2, 8)
}

/// Dark text on a light fill, white on a dark one.
fn contrast_text(fill: [u8; 3]) -> [u8; 3] {
    let luma = 0.299 * fill[0] as f64 + 0.587 * fill[1] as f64 + 0.114 * fill[2] as f64;
    if luma > 140.0 {
        INK.0
    } else {
        [255, 255, 255]
    }
}

/// Draws `s` centred on `(cx, cy)`.
fn centred(
    img: &mut RgbImage,
    font: &FontRef,
    (px, rgb): (f32, [u8; 3]),
    (cx, cy): (i32, i32),
    s: &str,
) {
    let (tw, th) = imageproc::drawing::text_size(PxScale::from(px), font, s);
    let (x, y) = (cx - tw as i32 / 2, cy - th as i32 / 2 - (px * 0.2) as i32);
    draw_text_mut(img, Rgb(rgb), x, y, PxScale::from(px), font, s);
}

/// The uncertain mark inside a box: a dashed outline 4 px in from its edge (2 px thick) and a
/// "?" in its top-right corner (when `question` and the box is big enough).
fn uncertain_mark(
    img: &mut RgbImage,
    font: &FontRef,
    (x, y, w, h): (u32, u32, u32, u32),
    rgb: [u8; 3],
    question: bool,
) {
    const INSET: u32 = 4;
    const DASH: u32 = 6;
    const PERIOD: u32 = 10;
    if w <= 2 * INSET + 2 || h <= 2 * INSET + 2 {
        return;
    }
    let (x0, y0, x1, y1) = (x + INSET, y + INSET, x + w - 1 - INSET, y + h - 1 - INSET);
    let mut dot = |px: u32, py: u32| {
        if let Some(p) = img.get_pixel_mut_checked(px, py) {
            *p = Rgb(rgb);
        }
    };
    for t in 0..=(x1 - x0) {
        if t % PERIOD < DASH {
            for d in 0..2 {
                dot(x0 + t, y0 + d);
                dot(x0 + t, y1 - d);
            }
        }
    }
    for t in 0..=(y1 - y0) {
        if t % PERIOD < DASH {
            for d in 0..2 {
                dot(x0 + d, y0 + t);
                dot(x1 - d, y0 + t);
            }
        }
    }
    if question && w >= 40 && h >= 40 {
        let tw = text_w(font, MARK_PX, "?");
        let (qx, qy) = ((x1 - 3) as i32 - tw, (y0 + 3) as i32);
        draw_text_mut(img, Rgb(rgb), qx, qy, PxScale::from(MARK_PX), font, "?");
    }
}

/// A heat map of one metric over two varied config keys: one equal-sized cell per (x value,
/// y value), `cells` y-major (`cells[iy * x.values.len() + ix]`; missing entries count as no
/// run), `y` increasing upward. Each cell is filled by viridis over the range of the finite
/// values and labelled with its value (3 significant digits); a cell without a value is light
/// grey with "—"; an uncertain cell has a dashed inner outline and a "?", explained by a legend
/// line under the map. The axes' values label the columns and rows; a colour bar with
/// `colour_label` is at the right, `title` at the top. The size grows with the cell count
/// (100 px cells, shrinking to 44 px beyond about 12 × 9).
pub fn render_heat_map(
    title: &str,
    x: &MapAxis,
    y: &MapAxis,
    cells: &[MapCell],
    colour_label: &str,
) -> RgbImage {
    let font = super::font();
    let f = &font;
    let range = colour_range(cells);
    let layout = MapLayout::new(f, title, x, y, range, colour_label);
    let mut img = RgbImage::from_pixel(layout.width, layout.height, WHITE);
    let put = |img: &mut RgbImage, px: f32, (tx, ty): (i32, i32), s: &str| {
        draw_text_mut(img, INK, tx, ty, PxScale::from(px), f, s);
    };
    put(
        &mut img,
        TITLE_PX,
        (MARGIN as i32, MARGIN as i32 - 2),
        title,
    );

    let cw = layout.cell.0;
    let value_px = VALUE_PX.min((cw as f32 - 8.0) / 4.4);
    let nx_given = x.values.len();
    let (mut any_missing, mut any_uncertain) = (false, false);
    for iy in 0..layout.ny {
        for ix in 0..layout.nx {
            let cell = if nx_given > 0 && (iy as usize) < y.values.len() {
                cells.get(iy as usize * nx_given + ix as usize)
            } else {
                None
            };
            let value = cell.and_then(|c| c.value);
            let rect @ (cx, cy, w, h) = layout.cell_fill(ix, iy);
            let centre = ((cx + w / 2) as i32, (cy + h / 2) as i32);
            let fill = match (value, range) {
                (Some(v), Some((lo, hi))) if v.is_finite() => viridis((v - lo) / (hi - lo)),
                _ => MISSING_RGB,
            };
            draw_filled_rect_mut(
                &mut img,
                Rect::at(cx as i32, cy as i32).of_size(w, h),
                Rgb(fill),
            );
            let text_rgb = if fill == MISSING_RGB {
                MISSING_TEXT_RGB
            } else {
                contrast_text(fill)
            };
            let label = match value {
                Some(v) => fmt_sig(v, 3),
                None => {
                    any_missing = true;
                    "\u{2014}".into()
                }
            };
            if value_px >= 8.0 {
                centred(&mut img, f, (value_px, text_rgb), centre, &label);
            }
            if value.is_some() && cell.is_some_and(|c| c.uncertain) {
                any_uncertain = true;
                uncertain_mark(&mut img, f, rect, text_rgb, true);
            }
        }
    }

    // Column and row labels: the axes' values.
    let label = |axis: &MapAxis, k: usize, v: f64| match axis.names {
        Some(names) => names.get(k).cloned().unwrap_or_default(),
        None => fmt_exact(v),
    };
    for (ix, &v) in x.values.iter().enumerate() {
        let s = label(x, ix, v);
        let (cx, _, w, _) = layout.cell_fill(ix as u32, 0);
        let tx = (cx + w / 2) as i32 - text_w(f, TICK_PX, &s) / 2;
        put(&mut img, TICK_PX, (tx, layout.column_labels_y as i32), &s);
    }
    for (iy, &v) in y.values.iter().enumerate() {
        let s = label(y, iy, v);
        let (_, cy, _, h) = layout.cell_fill(0, iy as u32);
        let tx = layout.row_labels_right as i32 - text_w(f, TICK_PX, &s);
        let ty = (cy + h / 2) as i32 - (TICK_PX * 0.6) as i32;
        put(&mut img, TICK_PX, (tx, ty), &s);
    }
    // Axis titles: x centred under the grid, y turned upright left of the row labels.
    let x_title = axis_title(x);
    let grid_cx = (layout.grid.0 + layout.nx * cw / 2) as i32;
    let tx = (grid_cx - text_w(f, DESC_PX, &x_title) / 2).max(MARGIN as i32);
    put(&mut img, DESC_PX, (tx, layout.x_title_y as i32), &x_title);
    match layout.y_title {
        YTitle::Vertical(left) => {
            let grid_cy = (layout.grid.1 + layout.grid_h() / 2) as i32;
            let at = (left as i32, grid_cy);
            vertical_text(&mut img, f, (DESC_PX, INK.0), at, &axis_title(y));
        }
        YTitle::Above(top) => {
            let text = upward(&axis_title(y));
            put(&mut img, DESC_PX, (MARGIN as i32, top as i32), &text);
        }
    }

    // The colour bar over the grid's height.
    let bar = (layout.bar_x, layout.grid.1, layout.grid_h());
    let (lo, hi) = range.unwrap_or((f64::NAN, f64::NAN));
    colorbar_n(
        &mut img,
        bar,
        f,
        (lo, hi),
        colour_label,
        bar_ticks(layout.grid_h()),
    );

    // The legend: what the marks mean, for the marks the map shows.
    let (sw, sh) = LEGEND_SWATCH;
    let text_x = (MARGIN + sw + 8) as i32;
    let mut line_y = layout.legend_y;
    if any_uncertain {
        let swatch = Rect::at(MARGIN as i32, line_y as i32).of_size(sw, sh);
        draw_filled_rect_mut(&mut img, swatch, Rgb(viridis(0.5)));
        let around = (MARGIN - 3, line_y - 3, sw + 6, sh + 6);
        uncertain_mark(&mut img, f, around, INK.0, false);
        for line in &layout.uncertain_legend {
            put(&mut img, SMALL_PX, (text_x, line_y as i32 - 1), line);
            line_y += LEGEND_LINE_H;
        }
    }
    if any_missing {
        let swatch = Rect::at(MARGIN as i32, line_y as i32).of_size(sw, sh);
        draw_filled_rect_mut(&mut img, swatch, Rgb(MISSING_RGB));
        put(
            &mut img,
            SMALL_PX,
            (text_x, line_y as i32 - 1),
            MISSING_LEGEND,
        );
    }
    img
}

/// Where the line plot's data go: the plot area in pixels and the (transformed) data ranges.
struct SweepFrame {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
    /// x range, in log10 units for a log axis.
    xr: (f64, f64),
    yr: (f64, f64),
    log: bool,
}

impl SweepFrame {
    fn px(&self, x: f64, y: f64) -> (f32, f32) {
        let tx = if self.log { x.log10() } else { x };
        let fx = (tx - self.xr.0) / (self.xr.1 - self.xr.0);
        let fy = (y - self.yr.0) / (self.yr.1 - self.yr.0);
        (
            self.left as f32 + (fx * (self.right - self.left) as f64) as f32,
            self.bottom as f32 - (fy * (self.bottom - self.top) as f64) as f32,
        )
    }
}

/// One usable point of the line plot: x, the mean and its interval half-width (0: none).
type SweepPoint = (f64, f64, Option<f64>);

/// The points with a finite mean (and, on a log axis, a positive x), sorted by x.
fn sweep_points(x: &MapAxis, means: &[Option<f64>], half: &[Option<f64>]) -> Vec<SweepPoint> {
    let mut points: Vec<SweepPoint> = x
        .values
        .iter()
        .enumerate()
        .filter(|(_, &v)| v.is_finite() && (!x.log || v > 0.0))
        .filter_map(|(k, &v)| {
            let mean = means.get(k).copied().flatten().filter(|m| m.is_finite())?;
            let h = half
                .get(k)
                .copied()
                .flatten()
                .filter(|h| h.is_finite() && *h >= 0.0);
            Some((v, mean, h))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

fn sweep_frame(x: &MapAxis, points: &[SweepPoint]) -> SweepFrame {
    let xs = x
        .values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && (!x.log || *v > 0.0))
        .map(|v| if x.log { v.log10() } else { v });
    let xr = if x.log {
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo > hi {
            (-0.5, 0.5)
        } else if hi > lo {
            let pad = 0.05 * (hi - lo);
            (lo - pad, hi + pad)
        } else {
            (lo - 0.5, hi + 0.5)
        }
    } else {
        padded_range(xs, true).unwrap_or((0.0, 1.0))
    };
    let ys = points.iter().flat_map(|&(_, m, h)| {
        let h = h.unwrap_or(0.0);
        [m - h, m + h]
    });
    let yr = padded_range(ys, true).unwrap_or((0.0, 1.0));
    SweepFrame {
        left: MARGIN_LEFT as i32,
        top: MARGIN_TOP as i32,
        right: (PLOT_WIDTH - MARGIN_RIGHT) as i32,
        bottom: (PLOT_HEIGHT - MARGIN_BOTTOM) as i32,
        xr,
        yr,
        log: x.log,
    }
}

/// The x ticks (data values) and their labels: round steps on a linear axis; decades on a log
/// one (every n-th decade when there are many, with 2 and 5 added when there are fewer than two).
fn x_ticks(frame: &SweepFrame) -> Vec<(f64, String)> {
    let (lo, hi) = frame.xr;
    if !frame.log {
        let (t, d) = ticks(lo, hi);
        return t.into_iter().map(|v| (v, fmt_minus(v, d))).collect();
    }
    let decades: Vec<i32> = (lo.ceil() as i32..=hi.floor() as i32).collect();
    let every = decades.len().div_ceil(10).max(1);
    let mut values: Vec<f64> = decades
        .iter()
        .step_by(every)
        .map(|&k| 10f64.powi(k))
        .collect();
    if decades.len() < 2 {
        values = (lo.floor() as i32..=hi.ceil() as i32)
            .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
            .filter(|v| (lo..=hi).contains(&v.log10()))
            .collect();
    }
    values.into_iter().map(|v| (v, fmt_sig(v, 3))).collect()
}

/// Draws a `rgb` line 2 px wide.
fn thick_line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), rgb: Rgb<u8>) {
    for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)] {
        draw_line_segment_mut(img, (a.0 + dx, a.1 + dy), (b.0 + dx, b.1 + dy), rgb);
    }
}

const SERIES_RGB: Rgb<u8> = {
    let c = PALETTE[0];
    Rgb([c.0, c.1, c.2])
};

/// A line plot of a metric over one varied config key (800 × 500 px, the look of the run's line
/// plots): the points with a mean (`means[k]` at `x.values[k]`; `None` points are skipped)
/// joined in order of x, with a vertical error bar of ± `half_intervals[k]` (the 95 % interval)
/// where that is `Some`. With `x.log` the x axis is logarithmic (ticks at decades; x ≤ 0 is
/// skipped). With no point at all it says so in the plot area.
pub fn render_sweep_line(
    title: &str,
    x: &MapAxis,
    means: &[Option<f64>],
    half_intervals: &[Option<f64>],
    y_label: &str,
) -> RgbImage {
    let font = super::font();
    let f = &font;
    let points = sweep_points(x, means, half_intervals);
    let frame = sweep_frame(x, &points);
    let mut img = RgbImage::from_pixel(PLOT_WIDTH, PLOT_HEIGHT, WHITE);
    let grid_rgb = Rgb([GRID.0, GRID.1, GRID.2]);
    let xt = x_ticks(&frame);
    let (yt, yd) = ticks(frame.yr.0, frame.yr.1);
    let (l, t, r, b) = (
        frame.left as f32,
        frame.top as f32,
        frame.right as f32,
        frame.bottom as f32,
    );
    for (v, _) in &xt {
        let (px, _) = frame.px(*v, frame.yr.0);
        draw_line_segment_mut(&mut img, (px, t), (px, b), grid_rgb);
    }
    for v in &yt {
        let (_, py) = frame.px(if x.log { 1.0 } else { 0.0 }, *v);
        draw_line_segment_mut(&mut img, (l, py), (r, py), grid_rgb);
    }

    // Error bars (with caps), the line, the markers.
    for &(xv, m, h) in &points {
        if let Some(h) = h.filter(|&h| h > 0.0) {
            let (px, lo) = frame.px(xv, m - h);
            let (_, hi) = frame.px(xv, m + h);
            for dx in [0.0, 1.0] {
                draw_line_segment_mut(&mut img, (px + dx, lo), (px + dx, hi), SERIES_RGB);
            }
            for y in [lo, hi] {
                thick_line(&mut img, (px - 5.0, y), (px + 5.0, y), SERIES_RGB);
            }
        }
    }
    for pair in points.windows(2) {
        let (a, b) = (
            frame.px(pair[0].0, pair[0].1),
            frame.px(pair[1].0, pair[1].1),
        );
        thick_line(&mut img, a, b, SERIES_RGB);
    }
    for &(xv, m, _) in &points {
        let (px, py) = frame.px(xv, m);
        draw_filled_circle_mut(
            &mut img,
            (px.round() as i32, py.round() as i32),
            4,
            SERIES_RGB,
        );
    }
    let frame_rect = Rect::at(frame.left, frame.top).of_size(
        (frame.right - frame.left) as u32 + 1,
        (frame.bottom - frame.top) as u32 + 1,
    );
    draw_hollow_rect_mut(&mut img, frame_rect, Rgb([0, 0, 0]));

    // Text: the title, ticks and their labels, the axis titles.
    let put = |img: &mut RgbImage, px: f32, (tx, ty): (i32, i32), s: &str| {
        draw_text_mut(img, INK, tx, ty, PxScale::from(px), f, s);
    };
    let w = PLOT_WIDTH as i32;
    put(
        &mut img,
        TITLE_PX,
        ((w - text_w(f, TITLE_PX, title)) / 2, 14),
        title,
    );
    for (v, s) in &xt {
        let (px, _) = frame.px(*v, frame.yr.0);
        draw_line_segment_mut(&mut img, (px, b), (px, b + 5.0), INK);
        let tx = px as i32 - text_w(f, TICK_PX, s) / 2;
        put(&mut img, TICK_PX, (tx, frame.bottom + 9), s);
    }
    if x.log {
        // Minor ticks at 2..9 × each decade.
        let (lo, hi) = frame.xr;
        for k in lo.floor() as i32..=hi.ceil() as i32 {
            for m in 2..10 {
                let v = m as f64 * 10f64.powi(k);
                if (lo..=hi).contains(&v.log10()) {
                    let (px, _) = frame.px(v, frame.yr.0);
                    draw_line_segment_mut(&mut img, (px, b), (px, b + 3.0), INK);
                }
            }
        }
    }
    for v in &yt {
        let (_, py) = frame.px(if x.log { 1.0 } else { 0.0 }, *v);
        draw_line_segment_mut(&mut img, (l - 5.0, py), (l, py), INK);
        let s = fmt_minus(*v, yd);
        let tx = frame.left - 9 - text_w(f, TICK_PX, &s);
        put(
            &mut img,
            TICK_PX,
            (tx, py as i32 - (TICK_PX * 0.6) as i32),
            &s,
        );
    }
    let x_title = axis_title(x);
    let cx = (frame.left + frame.right) / 2;
    put(
        &mut img,
        DESC_PX,
        (cx - text_w(f, DESC_PX, &x_title) / 2, frame.bottom + 36),
        &x_title,
    );
    let cy = (frame.top + frame.bottom) / 2;
    vertical_text(&mut img, f, (DESC_PX, INK.0), (12, cy), y_label);
    if points.is_empty() {
        centred(
            &mut img,
            f,
            (DESC_PX, MISSING_TEXT_RGB),
            (cx, cy),
            "no finished run",
        );
    }
    img
}

/// Gap (px) between stacked pictures.
const STACK_GAP: u32 = 16;

/// `images` one under the other, each centred horizontally, on white with a small gap between
/// them (e.g. one heat map per value of the other keys). No image gives a single white pixel.
pub fn stack_vertically(images: &[RgbImage]) -> RgbImage {
    if images.is_empty() {
        return RgbImage::from_pixel(1, 1, WHITE);
    }
    let width = images.iter().map(|i| i.width()).max().unwrap_or(0).max(1);
    let height =
        images.iter().map(|i| i.height()).sum::<u32>() + STACK_GAP * (images.len() as u32 - 1);
    let mut out = RgbImage::from_pixel(width, height.max(1), WHITE);
    let mut y = 0;
    for img in images {
        let x = (width - img.width()) / 2;
        image::imageops::replace(&mut out, img, x as i64, y as i64);
        y += img.height() + STACK_GAP;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::output::keep_example;

    fn cell(value: Option<f64>, uncertain: bool) -> MapCell {
        MapCell { value, uncertain }
    }

    /// 3 × 2: y-major; (ix 2, iy 1) is the largest, (0, 0) the smallest, (1, 1) has no run,
    /// (1, 0) is uncertain.
    fn example_cells() -> Vec<MapCell> {
        vec![
            cell(Some(1.0), false),
            cell(Some(2.5), true),
            cell(Some(3.0), false),
            cell(Some(4.0), false),
            cell(None, false),
            cell(Some(7.0), false),
        ]
    }

    const XS: [f64; 3] = [0.1, 1.0, 10.0];
    const YS: [f64; 2] = [20.0, 40.0];

    fn axes<'a>(xs: &'a [f64], ys: &'a [f64]) -> (MapAxis<'a>, MapAxis<'a>) {
        (
            MapAxis {
                label: "interphase.asr_ohm_cm2",
                values: xs,
                log: true,
                names: None,
            },
            MapAxis {
                label: "run.current_density_ma_cm2",
                values: ys,
                log: false,
                names: None,
            },
        )
    }

    fn near(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
        a.iter().zip(b).all(|(&p, q)| p.abs_diff(q) <= tol)
    }

    #[test]
    fn heat_map_cells_have_their_colours_and_marks() {
        let (x, y) = axes(&XS, &YS);
        let cells = example_cells();
        let img = render_heat_map("deposit height", &x, &y, &cells, "height / µm");
        keep_example("heat_map.png", &img);
        let font = crate::output::font();
        let layout = MapLayout::new(
            &font,
            "deposit height",
            &x,
            &y,
            Some((1.0, 7.0)),
            "height / µm",
        );
        assert_eq!(img.dimensions(), (layout.width, layout.height));
        // A pixel in the bottom-left part of a cell: away from its centred text, its outline
        // and its "?" (top right).
        let sample = |ix, iy| {
            let (cx, cy, _, h) = layout.cell_fill(ix, iy);
            img.get_pixel(cx + 10, cy + h - 10).0
        };
        assert_eq!(sample(2, 1), viridis(1.0), "largest value");
        assert_eq!(sample(0, 0), viridis(0.0), "smallest value");
        assert_eq!(sample(1, 1), MISSING_RGB, "no run");
        assert_eq!(sample(1, 0), viridis(0.25), "2.5 in 1..7");
        // y increases upward: the row of iy = 1 is above the row of iy = 0.
        assert!(layout.cell_fill(0, 1).1 < layout.cell_fill(0, 0).1);
        // The uncertain cell's dashed outline: 4 px in from its edge it differs from its fill;
        // an unmarked cell is its fill there.
        let outline = |ix, iy| {
            let (cx, cy, _, h) = layout.cell_fill(ix, iy);
            // 40 px down the left side: in a dash (6 px on, 4 off), above the centred text.
            img.get_pixel(cx + 4, cy + 4 + 40.min(h / 2)).0
        };
        assert_ne!(outline(1, 0), viridis(0.25), "uncertain mark");
        assert_eq!(outline(0, 0), viridis(0.0), "no mark");
        assert_eq!(outline(0, 1), viridis(0.5), "no mark");
        // The values are written in the cells, in a contrasting colour: the dark cell has white
        // text, the yellow one dark text.
        let has = |ix, iy, rgb: [u8; 3]| {
            let (cx, cy, w, h) = layout.cell_fill(ix, iy);
            (cx..cx + w)
                .flat_map(|px| (cy + h / 3..cy + 2 * h / 3).map(move |py| (px, py)))
                .any(|(px, py)| near(img.get_pixel(px, py).0, rgb, 40))
        };
        assert!(has(0, 0, [255, 255, 255]));
        assert!(has(2, 1, INK.0));
    }

    #[test]
    fn heat_map_size_follows_the_cell_count() {
        let font = crate::output::font();
        // Short axis titles, so that the grid sets the width.
        let axes = |xs, ys| {
            let (x, y) = axes(xs, ys);
            (MapAxis { label: "x", ..x }, MapAxis { label: "y", ..y })
        };
        let (x3, y2) = axes(&XS, &YS);
        let three = MapLayout::new(&font, "t", &x3, &y2, Some((0.0, 1.0)), "u");
        let xs4 = [0.1, 1.0, 10.0, 100.0];
        let ys3 = [20.0, 40.0, 60.0];
        let (x4, y3) = axes(&xs4, &ys3);
        let four = MapLayout::new(&font, "t", &x4, &y2, Some((0.0, 1.0)), "u");
        let taller = MapLayout::new(&font, "t", &x3, &y3, Some((0.0, 1.0)), "u");
        assert_eq!(three.cell, (CELL_MAX, CELL_MAX));
        assert_eq!(four.width - three.width, CELL_MAX);
        assert_eq!(four.height, three.height);
        assert_eq!(taller.height - three.height, CELL_MAX);
        let cells: Vec<MapCell> = (0..12)
            .map(|k| cell(Some(k as f64 / 11.0), false))
            .collect();
        let img = render_heat_map("t", &x4, &y3, &cells, "u");
        let both = MapLayout::new(&font, "t", &x4, &y3, Some((0.0, 1.0)), "u");
        assert_eq!(img.dimensions(), (both.width, both.height));
        assert_eq!(both.height, taller.height);
        // Many cells shrink, down to the smallest size.
        let many: Vec<f64> = (0..60).map(|k| k as f64).collect();
        let (xm, ym) = axes(&many, &many);
        let big = MapLayout::new(&font, "t", &xm, &ym, Some((0.0, 1.0)), "u");
        assert_eq!(big.cell, (CELL_MIN, CELL_MIN));
        let (xm, _) = axes(&many[..20], &many);
        assert_eq!(MapLayout::new(&font, "t", &xm, &y2, None, "u").cell.0, 60);
    }

    #[test]
    fn degenerate_heat_maps_do_not_panic() {
        let (x, y) = axes(&XS, &YS);
        let none = [cell(None, true); 6];
        let img = render_heat_map("nothing ran", &x, &y, &none, "u");
        keep_example("heat_map_all_none.png", &img);
        let one = render_heat_map(
            "one",
            &axes(&[1.0], &[2.0]).0,
            &axes(&[1.0], &[2.0]).1,
            &[cell(Some(5.0), true)],
            "u",
        );
        let font = crate::output::font();
        let (x1, y1) = axes(&[1.0], &[2.0]);
        let layout = MapLayout::new(
            &font,
            "one",
            &x1,
            &y1,
            colour_range(&[cell(Some(5.0), true)]),
            "u",
        );
        let (cx, cy, _, h) = layout.cell_fill(0, 0);
        // One value: the padded range puts it in the middle of the colour map.
        assert_eq!(one.get_pixel(cx + 10, cy + h - 10).0, viridis(0.5));
        // All equal, NaN, fewer cells than the axes ask for, empty axes.
        let equal = [cell(Some(0.0), false); 6];
        render_heat_map("equal", &x, &y, &equal, "u");
        render_heat_map("nan", &x, &y, &[cell(Some(f64::NAN), false)], "u");
        render_heat_map("empty", &axes(&[], &[]).0, &axes(&[], &[]).1, &[], "");
    }

    #[test]
    fn heat_map_png_round_trip() {
        let (x, y) = axes(&XS, &YS);
        let img = render_heat_map("t", &x, &y, &example_cells(), "u");
        let dir = std::env::temp_dir().join(format!("mgpf-heatmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map.png");
        super::super::write_png(&path, &img).unwrap();
        let back = image::open(&path).unwrap().to_rgb8();
        assert_eq!(back, img);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sweep_line_on_a_log_axis_with_error_bars() {
        let xs = [1e-3, 1e-2, 1e-1, 1.0, 10.0];
        let x = MapAxis {
            label: "interphase.asr_ohm_cm2",
            values: &xs,
            log: true,
            names: None,
        };
        let means = [Some(3.0), Some(1.0), Some(4.0), Some(2.0), None];
        let half = [None, None, Some(0.5), None, Some(1.0)];
        let img = render_sweep_line("deposit height", &x, &means, &half, "height / µm");
        keep_example("sweep_line.png", &img);
        assert_eq!(img.dimensions(), (PLOT_WIDTH, PLOT_HEIGHT));
        let points = sweep_points(&x, &means, &half);
        assert_eq!(points.len(), 4, "the None mean is skipped");
        let frame = sweep_frame(&x, &points);
        let at = |xv: f64, yv: f64| {
            let (px, py) = frame.px(xv, yv);
            img.get_pixel(px.round() as u32, py.round() as u32).0
        };
        // The line: half way between the points of x = 0.01 and 0.1 (geometric mean on a log
        // axis), at the mean of their values.
        let (a, b) = (frame.px(1e-2, 1.0), frame.px(1e-1, 4.0));
        let mid = (
            ((a.0 + b.0) / 2.0).round() as u32,
            ((a.1 + b.1) / 2.0).round() as u32,
        );
        let around = (mid.1 - 2..=mid.1 + 2).any(|y| img.get_pixel(mid.0, y) == &SERIES_RGB);
        assert!(around, "line between the points");
        // Its error bar above the point at 0.1 (a local maximum: no line there) ...
        assert_eq!(at(0.1, 4.3), SERIES_RGB.0, "error bar");
        // ... and none above the point at 0.001 (also a local maximum).
        assert_ne!(at(1e-3, 3.3), SERIES_RGB.0, "no error bar");
        // The x axis runs over the decades: 1e-3 is left of 1.
        assert!(frame.px(1e-3, 0.0).0 < frame.px(1.0, 0.0).0);
        let labels: Vec<String> = x_ticks(&frame).into_iter().map(|(_, s)| s).collect();
        assert_eq!(labels, ["0.001", "0.01", "0.1", "1", "10"]);
    }

    #[test]
    fn degenerate_sweep_lines_do_not_panic() {
        let lin = MapAxis {
            label: "k",
            values: &[1.0, 2.0],
            log: false,
            names: None,
        };
        let img = render_sweep_line("none", &lin, &[None, None], &[None, None], "y");
        keep_example("sweep_line_empty.png", &img);
        render_sweep_line("short", &lin, &[Some(1.0)], &[], "y");
        render_sweep_line(
            "equal",
            &lin,
            &[Some(1.0), Some(1.0)],
            &[Some(0.0), None],
            "y",
        );
        let one = MapAxis {
            label: "k",
            values: &[0.5],
            log: true,
            names: None,
        };
        render_sweep_line("one", &one, &[Some(2.0)], &[Some(0.1)], "y");
        let bad = MapAxis {
            label: "k",
            values: &[-1.0, 0.0],
            log: true,
            names: None,
        };
        render_sweep_line("non-positive", &bad, &[Some(1.0), Some(2.0)], &[], "y");
        render_sweep_line(
            "empty",
            &MapAxis {
                label: "",
                values: &[],
                log: false,
                names: None,
            },
            &[],
            &[],
            "",
        );
    }

    #[test]
    fn stacking_pads_to_the_widest() {
        let a = RgbImage::from_pixel(10, 5, Rgb([255, 0, 0]));
        let b = RgbImage::from_pixel(30, 7, Rgb([0, 0, 255]));
        let s = stack_vertically(&[a, b]);
        assert_eq!(s.dimensions(), (30, 5 + STACK_GAP + 7));
        assert_eq!(s.get_pixel(15, 2).0, [255, 0, 0]);
        assert_eq!(s.get_pixel(2, 2).0, [255; 3]);
        assert_eq!(s.get_pixel(2, 5 + STACK_GAP + 1).0, [0, 0, 255]);
        assert_eq!(stack_vertically(&[]).dimensions(), (1, 1));
        let (x, y) = axes(&XS, &YS);
        let maps = [
            render_heat_map("asr_ohm_cm2 = 10", &x, &y, &example_cells(), "height / µm"),
            render_heat_map(
                "asr_ohm_cm2 = 20",
                &x,
                &y,
                &[cell(Some(2.0), false); 6],
                "height / µm",
            ),
        ];
        keep_example("heat_maps_stacked.png", &stack_vertically(&maps));
    }
}
