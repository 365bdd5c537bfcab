//! One picture per output step of a 2D field (a 2D run, or a 3D run's mid-plane section): the
//! morphology and the colour-mapped panels (`run.frame_panels`: plating rate, c/c0, φ) side by
//! side, under a text strip (title, time, charge, overpotential). Every colour-mapped panel has
//! its colour bar with its unit, every panel its scale bar; the morphology has the legend.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut};
use imageproc::rect::Rect;
use ndarray::ArrayView2;

use crate::grid::Real;

/// Everything one frame shows. Fields have shape `(nx, ny)`, `i` along growth, `j` lateral.
pub struct FrameView<'a> {
    /// xi: 1 = Mg metal, 0 = electrolyte.
    pub order_parameter: ArrayView2<'a, Real>,
    /// 0..1: where the interphase layer is; overlaid in amber with alpha = value.
    pub interphase: ArrayView2<'a, Real>,
    /// 0..1 blocked (insulating) interphase patches, overlaid in red-brown with alpha = value.
    pub blocked: Option<ArrayView2<'a, Real>>,
    /// The colour-mapped panels right of the morphology, in order (none: the morphology alone).
    pub panels: Vec<ColourPanel<'a>>,
    /// Cell size in µm.
    pub dx_um: f64,
    /// E.g. the preset name.
    pub title: &'a str,
    pub time_s: f64,
    pub charge_mah_cm2: f64,
    pub overpotential_v: f64,
}

/// A colour-mapped panel: a field, what it is, its unit and its colour range.
pub struct ColourPanel<'a> {
    /// The field, in its own unit; `factor` turns it into `unit`.
    pub field: ArrayView2<'a, Real>,
    /// What the panel shows, without the unit (e.g. "plating rate Δx·∂ξ/∂t").
    pub label: String,
    /// The colour bar's unit (e.g. "µm/s").
    pub unit: &'static str,
    /// field × factor = the value in `unit`.
    pub factor: f64,
    /// The colour range in `unit`: `lo` maps to the bottom of viridis, `hi` to the top; values
    /// outside are drawn at the ends. A run passes the same range to every frame where the
    /// panel is on a fixed scale.
    pub range: (f64, f64),
}

impl ColourPanel<'_> {
    /// The colour of cell (i, j): viridis over `range`, magenta for NaN or outside the field.
    pub fn rgb(&self, i: usize, j: usize) -> [u8; 3] {
        match self.field.get((i, j)) {
            Some(&v) if v.is_finite() => {
                let (lo, hi) = self.range;
                viridis((v as f64 * self.factor - lo) / (hi - lo))
            }
            _ => NAN_RGB,
        }
    }
}

/// Mg deposit: light metallic grey.
pub const METAL_RGB: [u8; 3] = [200, 205, 212];
/// Electrolyte: dark navy.
pub const ELECTROLYTE_RGB: [u8; 3] = [16, 26, 60];
/// Interphase overlay: amber.
pub const INTERPHASE_RGB: [u8; 3] = [255, 170, 0];
/// Blocked (insulating) interphase patches: red-brown.
pub const BLOCKED_RGB: [u8; 3] = [165, 42, 22];
/// Any NaN value.
pub const NAN_RGB: [u8; 3] = [255, 0, 255];
/// The xi = 0.5 contour.
pub const CONTOUR_RGB: [u8; 3] = [0, 215, 255];
const COLLECTOR_RGB: [u8; 3] = [120, 70, 30];
const BACKGROUND_RGB: [u8; 3] = [255, 255, 255];
pub(super) const TEXT_RGB: [u8; 3] = [20, 20, 24];
pub(super) const FRAME_RGB: [u8; 3] = [90, 90, 100];

const MARGIN: u32 = 16;
const TITLE_PX: f32 = 26.0;
const TEXT_PX: f32 = 19.0;
pub(super) const SMALL_PX: f32 = 16.0;
/// Title line + stats line + panel-label line above the panels.
pub(super) const HEADER_H: u32 = MARGIN + 32 + 28 + 26;
/// Collector strip + scale bar row + legend row below the panels.
const FOOTER_H: u32 = 6 + 12 + 30 + 28 + MARGIN;
const PANEL_GAP: u32 = 28;
pub(super) const COLORBAR_GAP: u32 = 12;
pub(super) const COLORBAR_W: u32 = 20;
pub(super) const TICK_LEN: u32 = 6;
/// Target picture height of a panel (px); the integer upscale factor reaches at least this.
const TARGET_PANEL_H: usize = 400;
/// Panels are not upscaled wider than this (px) unless the factor is already 1.
const MAX_PANEL_W: usize = 1600;

/// Viridis, 10 evenly spaced stops (interpolated linearly in between).
const VIRIDIS: [[u8; 3]; 10] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x28, 0x78],
    [0x3e, 0x4a, 0x89],
    [0x31, 0x68, 0x8e],
    [0x26, 0x82, 0x8e],
    [0x1f, 0x9e, 0x89],
    [0x35, 0xb7, 0x79],
    [0x6d, 0xcd, 0x59],
    [0xb4, 0xde, 0x2c],
    [0xfd, 0xe7, 0x25],
];

/// The viridis colour of `t` in [0, 1] (clamped); NaN gives magenta.
pub fn viridis(t: f64) -> [u8; 3] {
    if t.is_nan() {
        return NAN_RGB;
    }
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let k = (x.floor() as usize).min(VIRIDIS.len() - 2);
    lerp_rgb(VIRIDIS[k], VIRIDIS[k + 1], x - k as f64)
}

fn lerp_rgb(a: [u8; 3], b: [u8; 3], t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    std::array::from_fn(|k| (a[k] as f64 + (b[k] as f64 - a[k] as f64) * t).round() as u8)
}

/// Integer upscale factor for a field of shape `(nx, ny)`: the panel becomes at least ~400 px
/// tall, unless that would make it wider than 1600 px.
pub fn scale_factor(nx: usize, ny: usize) -> u32 {
    let mut s = TARGET_PANEL_H.div_ceil(nx.max(1)).max(1);
    while s > 1 && ny * s > MAX_PANEL_W {
        s -= 1;
    }
    s as u32
}

/// A round scale-bar length (1, 2, 5 × 10^k µm) close to a fifth of `width_um`.
pub fn nice_scale_length(width_um: f64) -> f64 {
    if !(width_um.is_finite() && width_um > 0.0) {
        return 1.0;
    }
    let target = width_um / 5.0;
    let decade = 10f64.powf(target.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .min_by(|a, b| (a / target).ln().abs().total_cmp(&(b / target).ln().abs()))
        .unwrap_or(decade)
}

/// Where everything of a frame lies in the picture (px).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLayout {
    pub width: u32,
    pub height: u32,
    /// Cell upscale factor: cell (i, j) covers `scale × scale` pixels.
    pub scale: u32,
    pub panel_w: u32,
    pub panel_h: u32,
    /// Top-left corner of the morphology panel.
    pub morphology: (u32, u32),
    /// Top-left corners of the colour-mapped panels, in order; each has its colour bar right
    /// of it.
    pub panels: Vec<(u32, u32)>,
}

/// Width of a colour bar with its ticks and labels (fixed, so the layout does not change
/// between frames).
pub(super) fn colorbar_block_w(font: &FontRef) -> u32 {
    COLORBAR_GAP + COLORBAR_W + TICK_LEN + 4 + text_w(font, SMALL_PX, "\u{2212}0.0000")
}

impl FrameLayout {
    /// Layout for a field of shape `(nx, ny)` under `title` with `colour_panels` colour-mapped
    /// panels right of the morphology.
    pub fn new(nx: usize, ny: usize, title: &str, colour_panels: usize) -> Self {
        let font = super::font();
        let scale = scale_factor(nx, ny);
        let panel_w = ny as u32 * scale;
        let panel_h = nx as u32 * scale;
        // Each colour-mapped panel: the gap before it, the panel, its colour bar.
        let step = PANEL_GAP + panel_w + colorbar_block_w(&font);
        let content_w = panel_w + colour_panels as u32 * step;
        let text_needed = text_w(&font, TITLE_PX, title)
            .max(stats_columns(&font)[3])
            .max(legend_width(&font, true));
        let width = content_w.max(text_needed) + 2 * MARGIN;
        let x0 = (width - content_w) / 2;
        Self {
            width,
            height: HEADER_H + panel_h + FOOTER_H,
            scale,
            panel_w,
            panel_h,
            morphology: (x0, HEADER_H),
            panels: (0..colour_panels as u32)
                .map(|k| (x0 + panel_w + PANEL_GAP + k * step, HEADER_H))
                .collect(),
        }
    }

    /// Picture pixel at the centre of cell (i, j) of the morphology panel.
    pub fn morphology_pixel(&self, nx: usize, i: usize, j: usize) -> (u32, u32) {
        self.cell_centre(self.morphology, nx, i, j)
    }

    /// Picture pixel at the centre of cell (i, j) of colour-mapped panel `k`.
    pub fn panel_pixel(&self, k: usize, nx: usize, i: usize, j: usize) -> (u32, u32) {
        self.cell_centre(self.panels[k], nx, i, j)
    }

    /// Left edge of colour-mapped panel `k`'s colour bar.
    pub fn colorbar_x(&self, k: usize) -> u32 {
        self.panels[k].0 + self.panel_w + COLORBAR_GAP
    }

    fn cell_centre(&self, origin: (u32, u32), nx: usize, i: usize, j: usize) -> (u32, u32) {
        let s = self.scale;
        (
            origin.0 + j as u32 * s + s / 2,
            origin.1 + (nx - 1 - i) as u32 * s + s / 2,
        )
    }
}

fn text_w(font: &FontRef, px: f32, text: &str) -> u32 {
    imageproc::drawing::text_size(PxScale::from(px), font, text).0
}

/// Monospace column starts of the stats line (t, Q, η) and its total width, fixed so the text
/// does not jitter between the frames of an animation.
fn stats_columns(font: &FontRef) -> [u32; 4] {
    let cw = font
        .as_scaled(PxScale::from(TEXT_PX))
        .h_advance(font.glyph_id('0'));
    let col = |chars: u32| (chars as f32 * cw).ceil() as u32;
    [0, col(18), col(18 + 23), col(18 + 23 + 14)]
}

fn legend_items(with_blocked: bool) -> Vec<([u8; 3], &'static str)> {
    let mut items = vec![
        (METAL_RGB, "Mg"),
        (ELECTROLYTE_RGB, "electrolyte"),
        (INTERPHASE_RGB, "interphase"),
    ];
    if with_blocked {
        items.push((BLOCKED_RGB, "blocked"));
    }
    items.push((CONTOUR_RGB, "ξ = 0.5"));
    items
}

const SWATCH: u32 = 14;
const LEGEND_SPACING: u32 = 18;

fn legend_width(font: &FontRef, with_blocked: bool) -> u32 {
    legend_items(with_blocked)
        .iter()
        .map(|(_, label)| SWATCH + 6 + text_w(font, SMALL_PX, label) + LEGEND_SPACING)
        .sum()
}

/// Draws `s` in the text colour with its top-left corner at (x, y).
fn put(img: &mut RgbImage, font: &FontRef, px: f32, (x, y): (i32, i32), s: &str) {
    draw_text_mut(img, Rgb(TEXT_RGB), x, y, PxScale::from(px), font, s);
}

/// Renders the picture of `view`: the morphology, then each colour-mapped panel with its colour
/// bar (see the module docs for the orientation). Mismatched field shapes are drawn over the
/// common part; NaN cells are magenta.
pub fn render_frame(view: &FrameView) -> RgbImage {
    let (nx, ny) = view.order_parameter.dim();
    let (nx, ny) = (nx.max(1), ny.max(1));
    let layout = FrameLayout::new(nx, ny, view.title, view.panels.len());
    let font = super::font();
    let mut img = RgbImage::from_pixel(layout.width, layout.height, Rgb(BACKGROUND_RGB));
    draw_morphology(&mut img, &layout, view, nx, ny);
    let (s, xi) = (layout.scale, &view.order_parameter);
    for (k, panel) in view.panels.iter().enumerate() {
        let origin = layout.panels[k];
        paint_panel(&mut img, &layout, origin, nx, ny, |i, j| panel.rgb(i, j));
        super::draw::contour(&mut img, origin, s, xi, 0.5, [255; 3], false);
        panel_frame(&mut img, &layout, origin);
        let bar = (layout.colorbar_x(k), origin.1, layout.panel_h);
        super::draw::colorbar(&mut img, bar, &font, panel.range, panel.unit);
    }
    draw_header(&mut img, &layout, &font, view);
    draw_footer(&mut img, &layout, &font, view, ny);
    img
}

/// The morphology panel with its ξ = ½ contour, its frame and the collector under it.
fn draw_morphology(
    img: &mut RgbImage,
    layout: &FrameLayout,
    view: &FrameView,
    nx: usize,
    ny: usize,
) {
    let origin = layout.morphology;
    paint_panel(img, layout, origin, nx, ny, |i, j| {
        morphology_rgb(view, i, j)
    });
    let (s, thick) = (layout.scale, layout.scale >= 4);
    let xi = &view.order_parameter;
    super::draw::contour(img, origin, s, xi, 0.5, CONTOUR_RGB, thick);
    panel_frame(img, layout, origin);
    let collector = Rect::at(origin.0 as i32 - 1, (origin.1 + layout.panel_h + 1) as i32);
    draw_filled_rect_mut(
        img,
        collector.of_size(layout.panel_w + 2, 5),
        Rgb(COLLECTOR_RGB),
    );
}

fn panel_frame(img: &mut RgbImage, layout: &FrameLayout, (x, y): (u32, u32)) {
    let r = Rect::at(x as i32 - 1, y as i32 - 1);
    draw_hollow_rect_mut(
        img,
        r.of_size(layout.panel_w + 2, layout.panel_h + 2),
        Rgb(FRAME_RGB),
    );
}

/// Title, the stats line (t, Q, η) and the panel labels (with their units).
fn draw_header(img: &mut RgbImage, layout: &FrameLayout, font: &FontRef, view: &FrameView) {
    let (left, top) = (MARGIN as i32, MARGIN as i32);
    put(img, font, TITLE_PX, (left, top), view.title);
    let cols = stats_columns(font);
    for (col, s) in cols.iter().zip(&stats_line(view)) {
        put(img, font, TEXT_PX, (left + *col as i32, top + 34), s);
    }
    let label_y = (HEADER_H - 24) as i32;
    let morphology_x = layout.morphology.0 as i32;
    put(img, font, SMALL_PX, (morphology_x, label_y), "morphology");
    for (panel, origin) in view.panels.iter().zip(&layout.panels) {
        let label = format!("{} ({})", panel.label, panel.unit);
        put(img, font, SMALL_PX, (origin.0 as i32, label_y), &label);
    }
}

/// t, Q and η of the frame, each with its unit.
fn stats_line(view: &FrameView) -> [String; 3] {
    use super::draw::fmt_minus;
    [
        format!("t = {} s", fmt_minus(view.time_s, 1)),
        format!("Q = {} mAh/cm²", fmt_minus(view.charge_mah_cm2, 3)),
        format!("η = {} V", fmt_minus(view.overpotential_v, 3)),
    ]
}

/// A scale bar (a round length ≈ 1/5 of the width) under every panel, then the legend under the
/// morphology.
fn draw_footer(
    img: &mut RgbImage,
    layout: &FrameLayout,
    font: &FontRef,
    view: &FrameView,
    ny: usize,
) {
    let bar_y = layout.morphology.1 + layout.panel_h + 6 + 14;
    let bar = ScaleBar {
        len_um: nice_scale_length(ny as f64 * view.dx_um),
        px_per_um: layout.scale as f64 / view.dx_um,
        max_px: layout.panel_w,
        text_px: TEXT_PX,
    };
    for &(x, _) in std::iter::once(&layout.morphology).chain(&layout.panels) {
        bar.draw(img, font, (x, bar_y));
    }
    // Left-aligned with the panels unless that would push the legend off the picture.
    let legend_w = legend_width(font, view.blocked.is_some());
    let mx = layout.morphology.0;
    let mut x = mx.min(layout.width.saturating_sub(MARGIN + legend_w)) as i32;
    let legend_y = (bar_y + 30) as i32;
    for (rgb, label) in legend_items(view.blocked.is_some()) {
        let sw = Rect::at(x, legend_y + 2).of_size(SWATCH, SWATCH);
        draw_filled_rect_mut(img, sw, Rgb(rgb));
        draw_hollow_rect_mut(img, sw, Rgb(FRAME_RGB));
        x += (SWATCH + 6) as i32;
        put(img, font, SMALL_PX, (x, legend_y), label);
        x += (text_w(font, SMALL_PX, label) + LEGEND_SPACING) as i32;
    }
}

/// A scale bar: a round length drawn at the picture's scale, its length in µm right of it.
pub(super) struct ScaleBar {
    pub len_um: f64,
    pub px_per_um: f64,
    /// The bar is never longer than this (px).
    pub max_px: u32,
    pub text_px: f32,
}

impl ScaleBar {
    /// Draws the bar with its left end at `(x, y)` (its top edge).
    pub fn draw(&self, img: &mut RgbImage, font: &FontRef, (x, y): (u32, u32)) {
        let text = Rgb(TEXT_RGB);
        let bar_px = (self.len_um * self.px_per_um).round();
        let bar_px = match bar_px.is_finite() {
            true => bar_px.clamp(1.0, self.max_px.max(1) as f64) as u32,
            false => 1,
        };
        draw_filled_rect_mut(img, Rect::at(x as i32, y as i32).of_size(bar_px, 6), text);
        for end in [x, x + bar_px - 1] {
            draw_filled_rect_mut(img, Rect::at(end as i32, y as i32 - 4).of_size(1, 14), text);
        }
        let label = format!("{} µm", super::draw::fmt_round(self.len_um));
        let at = ((x + bar_px + 10) as i32, y as i32 - self.text_px as i32 / 3);
        put(img, font, self.text_px, at, &label);
    }
}

/// Title and η in large type of [`render_morphology_card`].
const CARD_TITLE_PX: f32 = 34.0;
const CARD_TEXT_PX: f32 = 28.0;

/// The morphology alone, for side-by-side comparisons (compare.png): the title and η in large
/// type over the panel, the collector and a scale bar under it. The panel is upscaled by the
/// largest integer factor that keeps it within `max_panel_w` px (at least 1).
pub fn render_morphology_card(view: &FrameView, max_panel_w: u32) -> RgbImage {
    let (nx, ny) = view.order_parameter.dim();
    let (nx, ny) = (nx.max(1), ny.max(1));
    let font = super::font();
    let scale = (max_panel_w / ny as u32).max(1);
    let (panel_w, panel_h) = (ny as u32 * scale, nx as u32 * scale);
    let eta = stats_line(view)[2].clone();
    let text_needed =
        text_w(&font, CARD_TITLE_PX, view.title).max(text_w(&font, CARD_TEXT_PX, &eta));
    let width = panel_w.max(text_needed) + 2 * MARGIN;
    let header = MARGIN + 44 + 40;
    let height = header + panel_h + 6 + 20 + 40 + MARGIN;
    let mut img = RgbImage::from_pixel(width, height, Rgb(BACKGROUND_RGB));
    let layout = FrameLayout {
        width,
        height,
        scale,
        panel_w,
        panel_h,
        morphology: ((width - panel_w) / 2, header),
        panels: Vec::new(),
    };
    draw_morphology(&mut img, &layout, view, nx, ny);
    let left = MARGIN as i32;
    put(
        &mut img,
        &font,
        CARD_TITLE_PX,
        (left, MARGIN as i32),
        view.title,
    );
    put(
        &mut img,
        &font,
        CARD_TEXT_PX,
        (left, (MARGIN + 44) as i32),
        &eta,
    );
    let bar = ScaleBar {
        len_um: nice_scale_length(ny as f64 * view.dx_um),
        px_per_um: scale as f64 / view.dx_um,
        max_px: panel_w,
        text_px: CARD_TEXT_PX,
    };
    bar.draw(
        &mut img,
        &font,
        (layout.morphology.0, header + panel_h + 6 + 20),
    );
    img
}

fn morphology_rgb(view: &FrameView, i: usize, j: usize) -> [u8; 3] {
    let get = |a: &ArrayView2<Real>| a.get((i, j)).copied().unwrap_or(0.0) as f64;
    let xi = get(&view.order_parameter);
    let ip = get(&view.interphase);
    let blk = view.blocked.as_ref().map_or(0.0, get);
    if xi.is_nan() || ip.is_nan() || blk.is_nan() {
        return NAN_RGB;
    }
    let base = lerp_rgb(ELECTROLYTE_RGB, METAL_RGB, xi);
    let with_ip = lerp_rgb(base, INTERPHASE_RGB, ip);
    lerp_rgb(with_ip, BLOCKED_RGB, blk)
}

/// Fills a panel whose top-left corner is `origin`: cell (i, j) → picture rows
/// `(nx − 1 − i)·s ..`, columns `j·s ..`.
fn paint_panel(
    img: &mut RgbImage,
    layout: &FrameLayout,
    origin: (u32, u32),
    nx: usize,
    ny: usize,
    cell_rgb: impl Fn(usize, usize) -> [u8; 3],
) {
    let s = layout.scale as usize;
    let width = img.width() as usize;
    let buf: &mut [u8] = img.as_mut();
    let mut row = vec![0u8; 3 * ny * s];
    for i in 0..nx {
        for j in 0..ny {
            let rgb = cell_rgb(i, j);
            for px in row[3 * j * s..3 * (j + 1) * s].chunks_exact_mut(3) {
                px.copy_from_slice(&rgb);
            }
        }
        for r in 0..s {
            let y = origin.1 as usize + (nx - 1 - i) * s + r;
            let start = 3 * (y * width + origin.0 as usize);
            buf[start..start + row.len()].copy_from_slice(&row);
        }
    }
}
