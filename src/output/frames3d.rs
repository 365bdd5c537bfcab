//! One picture per output step of a 3D run: the mid-plane section (the 2D frame of
//! [`super::frames`], with the title, the stamps and its panels) and, right of it, the shaded
//! deposit surface ([`super::render3d`]) with its height colour bar and the box's lengths in µm.
//! And the 3D view alone in large type for side-by-side comparisons (compare.png of the 3D demo).

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::draw_text_mut;

use super::frames::{colorbar_block_w, render_frame, FrameView, COLORBAR_GAP, HEADER_H};
use super::frames::{SMALL_PX, TEXT_RGB};
use super::render3d::{render_surface, Camera, SurfaceColour, SurfaceView};

/// The 3D view's size beside the section: at least this tall (px), 1.25 times as wide.
const MIN_VIEW_H: u32 = 480;
const GAP: u32 = 24;
const LABEL_PX: f32 = 16.0;
/// The label row above the 3D view.
const LABEL_H: u32 = 24;

/// Everything a 3D frame shows.
pub struct Frame3dView<'a> {
    /// The deposit surface (3D fields).
    pub surface: SurfaceView<'a>,
    /// The mid-plane section with the frame's title and stamps.
    pub section: FrameView<'a>,
}

/// The surface's colour scale: what it shows and its range.
fn colour_scale(view: &SurfaceView) -> (&'static str, &'static str, (f64, f64)) {
    match &view.colour {
        SurfaceColour::Height => (
            "deposit surface ξ = ½, coloured by height",
            "µm",
            view.height_range_um,
        ),
        SurfaceColour::Field { range, .. } => (
            "deposit surface ξ = ½, coloured by plating rate Δx·∂ξ/∂t",
            "µm/s",
            *range,
        ),
    }
}

/// The 3D view's size (px) beside a section frame of `section_h` px.
fn view_size(section_h: u32) -> (u32, u32) {
    let view_h = MIN_VIEW_H.max(section_h.saturating_sub(HEADER_H + 30));
    (view_h * 5 / 4, view_h)
}

/// The size (px) of a 3D frame whose section frame is `section` (width, height) px.
pub fn frame_3d_size(section: (u32, u32)) -> (u32, u32) {
    let (w, h) = view_size(section.1);
    let font = super::font();
    let surface = (w + colorbar_block_w(&font), h + LABEL_H + 30);
    (
        section.0 + GAP + surface.0,
        section.1.max(surface.1 + HEADER_H - LABEL_H),
    )
}

/// Where the 3D view lies in a 3D frame whose section frame is `section` (width, height) px:
/// its top-left corner and the camera that drew it, for a field of `nx × ny × nz` cells.
pub fn frame_3d_view(
    section: (u32, u32),
    (nx, ny, nz): (usize, usize, usize),
    dx_um: f64,
) -> ((u32, u32), Camera) {
    let (w, h) = view_size(section.1);
    let origin = (section.0 + GAP, HEADER_H);
    (origin, Camera::fit(nx, ny, nz, dx_um, w, h))
}

/// Renders the section frame and the 3D view right of it (see the module docs).
pub fn render_frame_3d(view: &Frame3dView) -> RgbImage {
    let section = render_frame(&view.section);
    let font = super::font();
    // The view's label on the section's label row, the view from the panels' top edge down:
    // where `frame_3d_view` says, drawn by its camera.
    let (origin, camera) = frame_3d_view(
        section.dimensions(),
        view.surface.order_parameter.dim(),
        view.surface.dx_um,
    );
    let surface = surface_picture(&view.surface, &camera, &font);
    let (width, height) = frame_3d_size(section.dimensions());
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    image::imageops::replace(&mut img, &section, 0, 0);
    let (x, y) = (origin.0 as i64, (origin.1 - LABEL_H) as i64);
    image::imageops::replace(&mut img, &surface, x, y);
    img
}

/// The 3D view of `view` by `camera` under its label, the box's lengths along its edges, and
/// the colour bar of its scale right of it.
fn surface_picture(view: &SurfaceView, camera: &Camera, font: &FontRef) -> RgbImage {
    let (label, unit, range) = colour_scale(view);
    let (nx, ny, nz) = view.order_parameter.dim();
    let dx = view.dx_um;
    let (w, h) = (camera.width_px(), camera.height_px());
    let picture = render_surface(view, camera);
    let bar_w = colorbar_block_w(font);
    let label_h = LABEL_H;
    let mut img = RgbImage::from_pixel(w + bar_w, h + label_h + 30, Rgb([255, 255, 255]));
    put(
        &mut img,
        font,
        LABEL_PX,
        (0, 0),
        &format!("{label} ({unit})"),
    );
    image::imageops::replace(&mut img, &picture, 0, label_h as i64);
    // The box's lengths beside three of its edges, pushed out from the box's centre on screen
    // so they sit on the background: the vertical edge farthest left (the growth axis x) and
    // the two bottom edges that meet at the collector's nearest corner (y and z).
    let (lx, ly, lz) = (nx as f64 * dx, ny as f64 * dx, nz as f64 * dx);
    let near = bottom_corner(camera, ly, lz, |p| p.2);
    let left = bottom_corner(camera, ly, lz, |p| p.0);
    let (cx, cy, _) = camera.project([lx / 2.0, ly / 2.0, lz / 2.0]);
    let edges = [
        (
            [lx / 2.0, left[1], left[2]],
            format!("x {} µm", super::draw::fmt_round(lx)),
        ),
        (
            [0.0, ly / 2.0, near[2]],
            format!("y {} µm", super::draw::fmt_round(ly)),
        ),
        (
            [0.0, near[1], lz / 2.0],
            format!("z {} µm", super::draw::fmt_round(lz)),
        ),
    ];
    let scale = PxScale::from(SMALL_PX);
    for (p, text) in edges {
        let (px, py, _) = camera.project(p);
        let (tw, th) = imageproc::drawing::text_size(scale, font, &text);
        let (ox, oy) = (px - cx, py - cy);
        let norm = (ox * ox + oy * oy).sqrt().max(1e-9);
        let (ux, uy) = (ox / norm, oy / norm);
        // The text's centre 12 px plus half its extent out along (ux, uy).
        let reach = 12.0 + 0.5 * (tw as f64 * ux.abs() + th as f64 * uy.abs());
        let x = px + ux * reach - tw as f64 / 2.0;
        let y = py + uy * reach - th as f64 / 2.0 + label_h as f64;
        put(
            &mut img,
            font,
            SMALL_PX,
            (x.round() as i32, y.round() as i32),
            &text,
        );
    }
    let bar = (w + COLORBAR_GAP, label_h + h / 6, h * 2 / 3);
    super::draw::colorbar(&mut img, bar, font, range, unit);
    img
}

/// The bottom corner (x = 0) of the box whose projection has the least `key`: its depth (the
/// corner nearest the viewer) or its x (the corner farthest left on screen).
fn bottom_corner(camera: &Camera, ly: f64, lz: f64, key: fn((f64, f64, f64)) -> f64) -> [f64; 3] {
    let corners = [
        [0.0, 0.0, 0.0],
        [0.0, ly, 0.0],
        [0.0, 0.0, lz],
        [0.0, ly, lz],
    ];
    corners
        .into_iter()
        .min_by(|a, b| key(camera.project(*a)).total_cmp(&key(camera.project(*b))))
        .unwrap_or([0.0; 3])
}

/// Draws `s` in the text colour with its top-left corner at (x, y).
fn put(img: &mut RgbImage, font: &FontRef, px: f32, (x, y): (i32, i32), s: &str) {
    draw_text_mut(img, Rgb(TEXT_RGB), x, y, PxScale::from(px), font, s);
}

/// Title and η in large type of [`render_surface_card`] (as the 2D cards).
const CARD_TITLE_PX: f32 = 34.0;
const CARD_TEXT_PX: f32 = 28.0;

/// The 3D view alone for side-by-side comparisons: `title` and η in large type over a
/// `width × 4/5 width` view.
pub fn render_surface_card(view: &SurfaceView, title: &str, eta_v: f64, width: u32) -> RgbImage {
    let font = super::font();
    let h = width * 4 / 5;
    let (nx, ny, nz) = view.order_parameter.dim();
    let camera = Camera::fit(nx, ny, nz, view.dx_um, width, h);
    let picture = render_surface(view, &camera);
    let header = 16 + 44 + 40;
    let mut img = RgbImage::from_pixel(width, header + h, Rgb([255, 255, 255]));
    put(&mut img, &font, CARD_TITLE_PX, (16, 16), title);
    let eta = format!("η = {} V", super::draw::fmt_minus(eta_v, 3));
    put(&mut img, &font, CARD_TEXT_PX, (16, 60), &eta);
    image::imageops::replace(&mut img, &picture, 0, header as i64);
    img
}
