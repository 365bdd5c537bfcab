//! Animated GIFs of the frames, and side-by-side montages for comparing runs.

use std::path::Path;

use ab_glyph::PxScale;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgb, RgbImage, RgbaImage};
use imageproc::drawing::{draw_text_mut, text_size};

use crate::error::{Error, Result};

/// NeuQuant sampling speed for the palette of each frame (1 = best, 30 = fastest).
const GIF_SPEED: i32 = 10;

/// Writes an animated GIF (infinite loop, `delay_ms` per frame) atomically. Frames of different
/// sizes are padded (white, bottom/right) to the largest. Each frame gets its own 256-colour
/// palette; only one frame is converted at a time, so memory stays at about one RGBA frame over
/// the encoded output.
pub fn write_gif(path: &Path, frames: &[RgbImage], delay_ms: u32) -> Result<()> {
    let err = |message: String| Error::Image {
        path: path.into(),
        message,
    };
    if frames.is_empty() {
        return Err(err("no frames to write into the GIF".into()));
    }
    let width = frames.iter().map(|f| f.width()).max().unwrap_or(0);
    let height = frames.iter().map(|f| f.height()).max().unwrap_or(0);
    if width == 0 || height == 0 {
        return Err(err(format!("GIF frames are empty ({width}x{height} px)")));
    }
    if width > u16::MAX as u32 || height > u16::MAX as u32 {
        return Err(err(format!(
            "GIF frames too large ({width}x{height} px; max 65535)"
        )));
    }
    let delay = Delay::from_numer_denom_ms(delay_ms, 1);
    super::write_atomic_with(path, |out| {
        let mut encoder = GifEncoder::new_with_speed(&mut *out, GIF_SPEED);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|e| err(e.to_string()))?;
        for frame in frames {
            let rgba = to_rgba_padded(frame, width, height);
            encoder
                .encode_frame(Frame::from_parts(rgba, 0, 0, delay))
                .map_err(|e| err(e.to_string()))?;
        }
        // Dropping the encoder writes the GIF trailer into `out`; the caller flushes and syncs.
        drop(encoder);
        Ok(())
    })
}

fn to_rgba_padded(img: &RgbImage, width: u32, height: u32) -> RgbaImage {
    let mut out = RgbaImage::from_pixel(width, height, image::Rgba([255, 255, 255, 255]));
    for (x, y, p) in img.enumerate_pixels() {
        let [r, g, b] = p.0;
        out.put_pixel(x, y, image::Rgba([r, g, b, 255]));
    }
    out
}

pub(super) const MONTAGE_MARGIN: u32 = 10;
pub(super) const MONTAGE_GAP: u32 = 12;
const MONTAGE_LABEL_H: u32 = 34;
const MONTAGE_LABEL_PX: f32 = 22.0;

/// Side-by-side montage of `images` with `labels[k]` centred above image `k` (missing labels are
/// left blank). Images of different sizes are padded (white) to the largest. With no image the
/// result is a single white pixel.
pub fn montage(images: &[&RgbImage], labels: &[&str]) -> RgbImage {
    let white = Rgb([255u8, 255, 255]);
    if images.is_empty() {
        return RgbImage::from_pixel(1, 1, white);
    }
    let cell_w = images.iter().map(|i| i.width()).max().unwrap_or(0);
    let cell_h = images.iter().map(|i| i.height()).max().unwrap_or(0);
    let n = images.len() as u32;
    let width = 2 * MONTAGE_MARGIN + n * cell_w + (n - 1) * MONTAGE_GAP;
    let label_h = if labels.is_empty() {
        0
    } else {
        MONTAGE_LABEL_H
    };
    let height = 2 * MONTAGE_MARGIN + label_h + cell_h;
    let mut canvas = RgbImage::from_pixel(width, height, white);
    let font = super::font();
    let scale = PxScale::from(MONTAGE_LABEL_PX);
    for (k, img) in images.iter().enumerate() {
        let cell_x = MONTAGE_MARGIN + k as u32 * (cell_w + MONTAGE_GAP);
        let x = cell_x + (cell_w - img.width()) / 2;
        let y = MONTAGE_MARGIN + label_h;
        image::imageops::replace(&mut canvas, *img, x as i64, y as i64);
        if let Some(label) = labels.get(k) {
            let tw = text_size(scale, &font, label).0;
            let tx = cell_x as i32 + (cell_w as i32 - tw as i32) / 2;
            let ty = MONTAGE_MARGIN as i32 + 2;
            draw_text_mut(
                &mut canvas,
                Rgb([20, 20, 24]),
                tx.max(cell_x as i32),
                ty,
                scale,
                &font,
                label,
            );
        }
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montage_pads_to_the_largest_image() {
        let a = RgbImage::from_pixel(10, 20, Rgb([255, 0, 0]));
        let b = RgbImage::from_pixel(30, 8, Rgb([0, 0, 255]));
        let m = montage(&[&a, &b], &["a", "b"]);
        assert_eq!(m.width(), 2 * MONTAGE_MARGIN + 2 * 30 + MONTAGE_GAP);
        assert_eq!(m.height(), 2 * MONTAGE_MARGIN + MONTAGE_LABEL_H + 20);
        let y0 = MONTAGE_MARGIN + MONTAGE_LABEL_H;
        // a is centred in its 30 px cell; b starts right after the gap.
        assert_eq!(m.get_pixel(MONTAGE_MARGIN + 10 + 5, y0 + 10).0, [255, 0, 0]);
        assert_eq!(
            m.get_pixel(MONTAGE_MARGIN + 30 + MONTAGE_GAP + 1, y0 + 1).0,
            [0, 0, 255]
        );
        // Below b (shorter) is padding.
        assert_eq!(
            m.get_pixel(MONTAGE_MARGIN + 30 + MONTAGE_GAP + 1, y0 + 15)
                .0,
            [255; 3]
        );
        // The labels drew something dark above the images.
        let dark = (0..m.width())
            .flat_map(|x| (0..y0).map(move |y| (x, y)))
            .any(|(x, y)| m.get_pixel(x, y).0[0] < 128);
        assert!(dark);
    }

    #[test]
    fn empty_montage_and_gif_do_not_panic() {
        assert_eq!(montage(&[], &[]).dimensions(), (1, 1));
        let path = std::env::temp_dir().join(format!("mgpf-empty-{}.gif", std::process::id()));
        let e = write_gif(&path, &[], 100).unwrap_err();
        assert!(e.to_string().contains("no frames"), "{e}");
        assert!(!path.exists());
    }
}
