//! The pictures of a parameter sweep's points on the grid of its heat map: one column per value
//! of the first varied key, one row per value of the second (the largest at the top), each
//! point's picture scaled to a common width.

use ab_glyph::{FontRef, PxScale};
use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;

use super::animation::{MONTAGE_GAP, MONTAGE_MARGIN};
use super::draw::vertical_text;
use super::plot::{text_w, DESC_PX, INK, TITLE_PX};
use super::study_map::{upward, YTitle};

/// The texts around a grid montage: `columns[ix]` above column `ix`, `rows[iy]` left of row
/// `iy`, the axis titles (the varied keys) and the title.
#[derive(Debug, Clone, Copy)]
pub struct GridLabels<'a> {
    pub title: &'a str,
    pub x_title: &'a str,
    pub y_title: &'a str,
    pub columns: &'a [String],
    pub rows: &'a [String],
}

const LABEL_PX: f32 = 17.0;
const TITLE_H: u32 = 36;
const X_TITLE_H: u32 = 28;
const COLUMN_LABELS_H: u32 = 26;
/// The box of a point without a picture, its frame and its text.
const EMPTY_RGB: [u8; 3] = [232, 232, 235];
const EMPTY_FRAME_RGB: [u8; 3] = [196, 196, 202];
const EMPTY_TEXT_RGB: [u8; 3] = [120, 120, 128];
const NOT_RUN: &str = "not run";
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// The montage's geometry, from the sizes of its inputs only (so every frame of an animation
/// gets the same).
struct GridLayout {
    width: u32,
    height: u32,
    ncols: u32,
    nrows: u32,
    cell: (u32, u32),
    /// Top-left corner of the cell of column 0 in the top row.
    origin: (u32, u32),
    title_y: u32,
    x_title_y: Option<u32>,
    column_labels_y: u32,
    /// Where the y title goes (`None`: no y title), and the right edge the row labels are
    /// aligned to (`None`: no row label column).
    y_title: Option<YTitle>,
    row_labels_right: Option<u32>,
}

/// Height of `img` scaled to `cell_width` wide (keeping its aspect), at least 1.
fn scaled_height(img: &RgbImage, cell_width: u32) -> u32 {
    let (w, h) = (img.width() as u64, img.height() as u64);
    ((h * cell_width as u64 + w / 2) / w).max(1) as u32
}

/// An image with nothing in it counts as missing.
fn usable(cell: Option<&RgbImage>) -> Option<&RgbImage> {
    cell.filter(|i| i.width() > 0 && i.height() > 0)
}

impl GridLayout {
    fn new(
        font: &FontRef,
        cells: &[Option<&RgbImage>],
        labels: &GridLabels,
        cell_width: u32,
    ) -> Self {
        let cw = cell_width.max(1);
        let nrows = labels.rows.len().max(1) as u32;
        let ncols = if labels.columns.is_empty() {
            (cells.len() as u32).div_ceil(nrows).max(1)
        } else {
            labels.columns.len() as u32
        };
        // Cells padded to the tallest scaled picture (2:3 boxes when there is none).
        let ch = cells
            .iter()
            .filter_map(|c| usable(*c))
            .map(|img| scaled_height(img, cw))
            .max()
            .unwrap_or((cw * 2 / 3).max(1));
        let w = |px: f32, s: &str| text_w(font, px, s).max(0) as u32;
        let grid_w = ncols * cw + (ncols - 1) * MONTAGE_GAP;
        let grid_h = nrows * ch + (nrows - 1) * MONTAGE_GAP;
        let with_rows = !labels.rows.is_empty()
            && (labels.rows.iter().any(|r| !r.is_empty()) || !labels.y_title.is_empty());
        let vertical = with_rows && w(DESC_PX, labels.y_title) + 8 <= grid_h;
        let mut y = MONTAGE_MARGIN;
        let title_y = y;
        if !labels.title.is_empty() {
            y += TITLE_H;
        }
        let mut y_title = None;
        if with_rows && !labels.y_title.is_empty() && !vertical {
            y_title = Some(YTitle::Above(y));
            y += X_TITLE_H;
        }
        let x_title_y = (!labels.x_title.is_empty()).then_some(y);
        if x_title_y.is_some() {
            y += X_TITLE_H;
        }
        let column_labels_y = y;
        if labels.columns.iter().any(|c| !c.is_empty()) {
            y += COLUMN_LABELS_H;
        }
        let mut x = MONTAGE_MARGIN;
        let mut row_labels_right = None;
        if with_rows {
            if vertical && !labels.y_title.is_empty() {
                y_title = Some(YTitle::Vertical(x));
                x += DESC_PX as u32 + 8 + 6;
            }
            let row_w = labels
                .rows
                .iter()
                .map(|r| w(LABEL_PX, r))
                .max()
                .unwrap_or(0);
            row_labels_right = Some(x + row_w);
            x += row_w + 10;
        }
        let origin = (x, y);
        let width = (x + grid_w)
            .max(MONTAGE_MARGIN + w(TITLE_PX, labels.title))
            .max(MONTAGE_MARGIN + w(DESC_PX, &upward(labels.y_title)))
            .max(x + grid_w / 2 + w(DESC_PX, labels.x_title).div_ceil(2))
            + MONTAGE_MARGIN;
        let height = y + grid_h + MONTAGE_MARGIN;
        Self {
            width,
            height,
            ncols,
            nrows,
            cell: (cw, ch),
            origin,
            title_y,
            x_title_y,
            column_labels_y,
            y_title,
            row_labels_right,
        }
    }

    /// Top-left corner of the cell of column `ix`, row `iy` (`iy` increases upward).
    fn cell_at(&self, ix: u32, iy: u32) -> (u32, u32) {
        let (cw, ch) = self.cell;
        (
            self.origin.0 + ix * (cw + MONTAGE_GAP),
            self.origin.1 + (self.nrows - 1 - iy) * (ch + MONTAGE_GAP),
        )
    }
}

/// The pictures of a sweep's points on the grid of its heat map: `cells` y-major
/// (`cells[iy * columns.len() + ix]`, `rows.len()` × `columns.len()`; missing entries count as
/// `None`), each scaled (Triangle filter, aspect kept) to `cell_width` px wide and centred in
/// cells as tall as the tallest; `columns` above the columns under the x title, `rows` left of
/// the rows beside the upright y title, the row of the largest y index at the top (as in the
/// heat map). With no row labels and no y title (one varied key) the row label column is left
/// out. A `None` cell is a light-grey box saying "not run". The size depends only on the
/// labels, `cell_width` and the pictures' sizes, so the frames of an animation match.
pub fn grid_montage(cells: &[Option<&RgbImage>], labels: &GridLabels, cell_width: u32) -> RgbImage {
    let font = super::font();
    let f = &font;
    let layout = GridLayout::new(f, cells, labels, cell_width);
    let mut img = RgbImage::from_pixel(layout.width, layout.height, WHITE);
    let (cw, ch) = layout.cell;
    let put = |img: &mut RgbImage, px: f32, (x, y): (i32, i32), s: &str| {
        draw_text_mut(img, INK, x, y, PxScale::from(px), f, s);
    };
    put(
        &mut img,
        TITLE_PX,
        (MONTAGE_MARGIN as i32, layout.title_y as i32),
        labels.title,
    );
    let grid_w = layout.ncols * cw + (layout.ncols - 1) * MONTAGE_GAP;
    if let Some(y) = layout.x_title_y {
        let cx = (layout.origin.0 + grid_w / 2) as i32;
        let x = cx - text_w(f, DESC_PX, labels.x_title) / 2;
        put(
            &mut img,
            DESC_PX,
            (x.max(MONTAGE_MARGIN as i32), y as i32),
            labels.x_title,
        );
    }
    for (ix, label) in labels.columns.iter().enumerate() {
        let (x, _) = layout.cell_at(ix as u32, 0);
        let tx = (x + cw / 2) as i32 - text_w(f, LABEL_PX, label) / 2;
        put(
            &mut img,
            LABEL_PX,
            (tx, layout.column_labels_y as i32 + 2),
            label,
        );
    }
    if let Some(right) = layout.row_labels_right {
        for (iy, label) in labels.rows.iter().enumerate() {
            let (_, y) = layout.cell_at(0, iy as u32);
            let tx = right as i32 - text_w(f, LABEL_PX, label);
            let ty = (y + ch / 2) as i32 - (LABEL_PX * 0.6) as i32;
            put(&mut img, LABEL_PX, (tx, ty), label);
        }
    }
    match layout.y_title {
        Some(YTitle::Vertical(x)) => {
            let grid_h = layout.nrows * ch + (layout.nrows - 1) * MONTAGE_GAP;
            let cy = (layout.origin.1 + grid_h / 2) as i32;
            vertical_text(
                &mut img,
                f,
                (DESC_PX, INK.0),
                (x as i32, cy),
                labels.y_title,
            );
        }
        Some(YTitle::Above(y)) => {
            let at = (MONTAGE_MARGIN as i32, y as i32);
            put(&mut img, DESC_PX, at, &upward(labels.y_title));
        }
        None => {}
    }

    for iy in 0..layout.nrows {
        for ix in 0..layout.ncols {
            let k = (iy * layout.ncols + ix) as usize;
            let (x, y) = layout.cell_at(ix, iy);
            match usable(cells.get(k).copied().flatten()) {
                Some(pic) => {
                    let h = scaled_height(pic, cw);
                    let top = y + (ch - h) / 2;
                    if pic.dimensions() == (cw, h) {
                        image::imageops::replace(&mut img, pic, x as i64, top as i64);
                    } else {
                        let scaled = image::imageops::resize(pic, cw, h, FilterType::Triangle);
                        image::imageops::replace(&mut img, &scaled, x as i64, top as i64);
                    }
                }
                None => empty_box(&mut img, f, (x, y, cw, ch)),
            }
        }
    }
    img
}

/// A light-grey framed box saying "not run" (the text only when it fits).
fn empty_box(img: &mut RgbImage, font: &FontRef, (x, y, w, h): (u32, u32, u32, u32)) {
    let rect = Rect::at(x as i32, y as i32).of_size(w, h);
    draw_filled_rect_mut(img, rect, Rgb(EMPTY_RGB));
    draw_hollow_rect_mut(img, rect, Rgb(EMPTY_FRAME_RGB));
    let (tw, th) = text_size(PxScale::from(LABEL_PX), font, NOT_RUN);
    if tw + 8 <= w && th + 8 <= h {
        let tx = (x + (w - tw) / 2) as i32;
        let ty = (y + (h - th) / 2) as i32 - 3;
        draw_text_mut(
            img,
            Rgb(EMPTY_TEXT_RGB),
            tx,
            ty,
            PxScale::from(LABEL_PX),
            font,
            NOT_RUN,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, rgb: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb(rgb))
    }

    fn near(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter().zip(b).all(|(&p, q)| p.abs_diff(q) <= 2)
    }

    const RED: [u8; 3] = [220, 30, 30];
    const GREEN: [u8; 3] = [30, 180, 60];
    const BLUE: [u8; 3] = [30, 60, 220];

    #[test]
    fn grid_montage_puts_each_picture_in_its_cell() {
        let red = solid(60, 40, RED);
        let green = solid(90, 30, GREEN);
        let blue = solid(50, 50, BLUE);
        let columns = ["0.1".to_string(), "10".to_string()];
        let rows = ["20".to_string(), "40".to_string()];
        let labels = GridLabels {
            title: "final frames",
            x_title: "interphase.asr_ohm_cm2",
            y_title: "run.current_density_ma_cm2",
            columns: &columns,
            rows: &rows,
        };
        // y-major: iy = 0 is red, green; iy = 1 is blue, none.
        let cells = [Some(&red), Some(&green), Some(&blue), None];
        let cw = 100;
        let img = grid_montage(&cells, &labels, cw);
        crate::output::keep_example("grid_montage.png", &img);

        // Dimensions from the cell width and the label sizes: the tallest picture scaled to
        // 100 px wide is blue (50 × 50 → 100 × 100; red → 67, green → 33).
        let font = crate::output::font();
        let row_w = text_w(&font, LABEL_PX, "20").max(text_w(&font, LABEL_PX, "40")) as u32;
        // The y title (26 characters) is longer than the grid is tall: it goes on a line of
        // its own above the grid, and the row labels are at the left edge.
        let left = MONTAGE_MARGIN + row_w + 10;
        let grid_w = 2 * cw + MONTAGE_GAP;
        let top = MONTAGE_MARGIN + TITLE_H + 2 * X_TITLE_H + COLUMN_LABELS_H;
        let grid_h = 2 * 100 + MONTAGE_GAP;
        // The picture is as wide as the grid or the y title's line, whichever is wider.
        let y_line = MONTAGE_MARGIN + text_w(&font, DESC_PX, "↑ run.current_density_ma_cm2") as u32;
        let width = (left + grid_w).max(y_line) + MONTAGE_MARGIN;
        assert_eq!(img.dimensions(), (width, top + grid_h + MONTAGE_MARGIN));

        // Quadrants: the top row is y index 1.
        let centre = |col: u32, row_from_top: u32| {
            let x = left + col * (cw + MONTAGE_GAP) + cw / 2;
            let y = top + row_from_top * (100 + MONTAGE_GAP) + 50;
            img.get_pixel(x, y).0
        };
        assert!(
            near(centre(0, 1), RED),
            "red bottom left: {:?}",
            centre(0, 1)
        );
        assert!(near(centre(1, 1), GREEN), "green bottom right");
        assert!(near(centre(0, 0), BLUE), "blue top left");
        // The missing point: grey, near its corner (away from its text).
        let corner = img.get_pixel(left + cw + MONTAGE_GAP + 5, top + 5).0;
        assert_eq!(corner, EMPTY_RGB, "not run");
        // Green (33 px tall) is centred in its 100 px cell: white above and below it.
        let gx = left + cw + MONTAGE_GAP + cw / 2;
        let gy = top + 100 + MONTAGE_GAP;
        assert_eq!(img.get_pixel(gx, gy + 10).0, [255; 3]);
        assert!(near(img.get_pixel(gx, gy + 50).0, GREEN));

        // The same sizes give the same picture size, whatever the pixels.
        let other = [
            Some(&solid(60, 40, BLUE)),
            None,
            Some(&solid(50, 50, RED)),
            Some(&solid(90, 30, RED)),
        ];
        assert_eq!(
            grid_montage(&other, &labels, cw).dimensions(),
            img.dimensions()
        );

        // Bigger cells: the y title fits upright left of the row labels.
        let big = grid_montage(&cells, &labels, 200);
        let left = MONTAGE_MARGIN + DESC_PX as u32 + 8 + 6 + row_w + 10;
        let top = MONTAGE_MARGIN + TITLE_H + X_TITLE_H + COLUMN_LABELS_H;
        let grid = (2 * 200 + MONTAGE_GAP, 2 * 200 + MONTAGE_GAP);
        let size = (
            left + grid.0 + MONTAGE_MARGIN,
            top + grid.1 + MONTAGE_MARGIN,
        );
        assert_eq!(big.dimensions(), size);
        crate::output::keep_example("grid_montage_large.png", &big);
    }

    #[test]
    fn one_row_without_row_labels() {
        let a = solid(600, 400, RED);
        let columns = ["1".to_string(), "2".to_string(), "3".to_string()];
        let labels = GridLabels {
            title: "",
            x_title: "k",
            y_title: "",
            columns: &columns,
            rows: &[],
        };
        let img = grid_montage(&[Some(&a), None, Some(&a)], &labels, 150);
        let top = MONTAGE_MARGIN + X_TITLE_H + COLUMN_LABELS_H;
        let width = 2 * MONTAGE_MARGIN + 3 * 150 + 2 * MONTAGE_GAP;
        assert_eq!(img.dimensions(), (width, top + 100 + MONTAGE_MARGIN));
        assert!(near(img.get_pixel(MONTAGE_MARGIN + 75, top + 50).0, RED));
        // Nothing at all, and zero-sized pictures, do not panic.
        grid_montage(
            &[],
            &GridLabels {
                columns: &[],
                ..labels
            },
            0,
        );
        let empty = RgbImage::new(0, 0);
        grid_montage(&[Some(&empty)], &labels, 10);
    }

    #[test]
    fn ten_large_cells_are_quick_enough() {
        let pics: Vec<RgbImage> = (0..10)
            .map(|k| solid(600, 400, [k * 20, 100, 50]))
            .collect();
        let cells: Vec<Option<&RgbImage>> = pics.iter().map(Some).collect();
        let columns: Vec<String> = (0..5).map(|k| k.to_string()).collect();
        let rows = ["a".to_string(), "b".to_string()];
        let labels = GridLabels {
            title: "t",
            x_title: "x",
            y_title: "y",
            columns: &columns,
            rows: &rows,
        };
        let start = std::time::Instant::now();
        let img = grid_montage(&cells, &labels, 300);
        let elapsed = start.elapsed();
        assert!(img.width() > 5 * 300);
        // Generous (debug build, a busy machine): a GIF of 100 frames must not take minutes.
        assert!(elapsed.as_secs_f64() < 5.0, "{elapsed:?}");
    }
}
