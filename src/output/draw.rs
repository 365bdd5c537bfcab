//! Drawing helpers of the frame renderer: the iso-contour (marching squares), the colour bar and
//! round numbers for ticks and the scale bar.

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut};
use imageproc::drawing::{draw_text_mut, text_size};
use imageproc::rect::Rect;
use ndarray::ArrayView2;

use super::frames::viridis;
use super::frames::{COLORBAR_W, FRAME_RGB, SMALL_PX, TEXT_RGB, TICK_LEN};
use crate::grid::Real;

/// A round step (1, 2, 5 × 10^k) at or above `raw` (1 for zero or a non-finite `raw`).
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let decade = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// Decimals needed to print multiples of `step` exactly.
pub(super) fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) || step >= 1.0 {
        return 0;
    }
    (-step.log10() - 1e-9).ceil().max(0.0) as usize
}

/// `v` printed without trailing zeros for round numbers: 10 → "10", 0.5 → "0.5".
pub(super) fn fmt_round(v: f64) -> String {
    let d = decimals_for(v);
    format!("{v:.d$}")
}

/// Round tick values covering `lo..=hi` and the decimals to print them with.
pub(super) fn ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    ticks_n(lo, hi, 8)
}

/// Like [`ticks`], with the step chosen for about `n` intervals (at least 1): fewer ticks for a
/// short axis.
pub(super) fn ticks_n(lo: f64, hi: f64, n: usize) -> (Vec<f64>, usize) {
    let step = nice_step((hi - lo) / n.max(1) as f64);
    let first = (lo / step).ceil();
    let ticks = (0..50)
        .map(|k| (first + k as f64) * step)
        .take_while(|&t| t <= hi + 1e-9 * step)
        .map(|t| if t.abs() < 1e-9 * step { 0.0 } else { t })
        .collect();
    (ticks, decimals_for(step))
}

/// `v` with `decimals` decimals and a typographic minus sign; NaN prints as "NaN".
pub(super) fn fmt_minus(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    format!("{v:.decimals$}").replacen('-', "\u{2212}", 1)
}

/// `v` with `sig` significant digits (at least 1), compact: positional from 0.001 to below 10⁴
/// without trailing zeros ("0.5", "0.00123", "1234"), otherwise in exponent form ("1.5e−5",
/// "2e4"); typographic minus signs; "0", "NaN", "∞".
pub(super) fn fmt_sig(v: f64, sig: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞" } else { "\u{2212}∞" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    // Rust's `{:e}` rounds first, so 9.996 with 3 digits is "1.00e1": its exponent is the one
    // of the rounded value.
    let sci = format!("{:.*e}", sig - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    let text = if (-3..4).contains(&exp) {
        let decimals = (sig as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    } else {
        format!("{}e{exp}", trim(mantissa))
    };
    text.replace('-', "\u{2212}")
}

/// `v` compactly (as [`fmt_sig`]) with the fewest significant digits, up to 6, that give it back
/// to a relative 1e−9: "0.5", "1500", "2.5e−5" (for values the user wrote, such as a sweep's).
pub(super) fn fmt_exact(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return fmt_sig(v, 1);
    }
    let sig = (1..=6)
        .find(|&sig| {
            format!("{:.*e}", sig - 1, v)
                .parse::<f64>()
                .is_ok_and(|r| (r - v).abs() <= 1e-9 * v.abs())
        })
        .unwrap_or(6);
    fmt_sig(v, sig)
}

/// Draws `text` turned a quarter turn anticlockwise (reading upwards) on a white strip whose
/// left edge is at `x` and whose middle is at height `cy`; returns the strip's width.
pub(super) fn vertical_text(
    img: &mut RgbImage,
    font: &FontRef,
    (px, rgb): (f32, [u8; 3]),
    (x, cy): (i32, i32),
    text: &str,
) -> u32 {
    let w = text_size(PxScale::from(px), font, text).0.max(1);
    let mut strip = RgbImage::from_pixel(w + 4, px as u32 + 8, Rgb([255, 255, 255]));
    draw_text_mut(&mut strip, Rgb(rgb), 2, 2, PxScale::from(px), font, text);
    let rotated = image::imageops::rotate270(&strip);
    let y = cy - rotated.height() as i32 / 2;
    image::imageops::replace(img, &rotated, x as i64, y as i64);
    rotated.width()
}

/// Draws the `level` iso-line of `field` over a panel whose top-left corner is `origin`
/// (marching squares between cell centres, linear interpolation along the square edges).
/// Squares with a NaN corner are skipped; the periodic wrap-around square is not drawn.
pub(super) fn contour(
    img: &mut RgbImage,
    origin: (u32, u32),
    scale: u32,
    field: &ArrayView2<Real>,
    level: f64,
    rgb: [u8; 3],
    thick: bool,
) {
    let (nx, ny) = field.dim();
    if nx < 2 || ny < 2 {
        return;
    }
    let s = scale as f32;
    let to_px = |fi: f64, fj: f64| {
        let x = origin.0 as f32 + (fj as f32 + 0.5) * s;
        let y = origin.1 as f32 + ((nx - 1) as f32 - fi as f32 + 0.5) * s;
        (x, y)
    };
    let mut line = |p: (f64, f64), q: (f64, f64)| {
        let (a, b) = (to_px(p.0, p.1), to_px(q.0, q.1));
        draw_line_segment_mut(img, a, b, Rgb(rgb));
        if thick {
            draw_line_segment_mut(img, (a.0 + 1.0, a.1), (b.0 + 1.0, b.1), Rgb(rgb));
            draw_line_segment_mut(img, (a.0, a.1 + 1.0), (b.0, b.1 + 1.0), Rgb(rgb));
        }
    };
    for i in 0..nx - 1 {
        for j in 0..ny - 1 {
            // Corners counter-clockwise: a (i, j), b (i, j+1), c (i+1, j+1), d (i+1, j).
            let corners = [(i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j)];
            let v = corners.map(|(ci, cj)| field[[ci, cj]] as f64 - level);
            if v.iter().any(|x| x.is_nan()) {
                continue;
            }
            let inside = v.map(|x| x >= 0.0);
            if inside.iter().all(|&b| b) || inside.iter().all(|&b| !b) {
                continue;
            }
            // Crossing on edge k (corner k → corner k+1), if any.
            let cross = |k: usize| -> Option<(f64, f64)> {
                let (m, n) = (k, (k + 1) % 4);
                if inside[m] == inside[n] {
                    return None;
                }
                let t = v[m] / (v[m] - v[n]);
                let (p, q) = (corners[m], corners[n]);
                Some((
                    p.0 as f64 + t * (q.0 as f64 - p.0 as f64),
                    p.1 as f64 + t * (q.1 as f64 - p.1 as f64),
                ))
            };
            let e: [Option<(f64, f64)>; 4] = std::array::from_fn(cross);
            let n_cross = e.iter().filter(|p| p.is_some()).count();
            if n_cross == 2 {
                let mut pts = e.iter().flatten();
                let (p, q) = (*pts.next().unwrap(), *pts.next().unwrap());
                line(p, q);
            } else if let [Some(ab), Some(bc), Some(cd), Some(da)] = e {
                // Saddle: the centre value decides which pair of corners is cut off.
                let centre_inside = v.iter().sum::<f64>() / 4.0 >= 0.0;
                if centre_inside == inside[0] {
                    line(ab, bc);
                    line(cd, da);
                } else {
                    line(da, ab);
                    line(bc, cd);
                }
            }
        }
    }
}

/// Most decimals a colour bar's tick label is printed with; finer steps go to scientific
/// notation, which keeps the label within the bar's reserved width ("−0.0000").
const MAX_TICK_DECIMALS: usize = 4;

/// A colour bar's tick label: `v` with `decimals` decimals, or as `1.5e−5` when that would need
/// more than [`MAX_TICK_DECIMALS`]; zero is "0" there.
pub(super) fn tick_label(v: f64, decimals: usize) -> String {
    if decimals <= MAX_TICK_DECIMALS {
        fmt_minus(v, decimals)
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.1e}").replace('-', "\u{2212}")
    }
}

/// A vertical viridis colour bar with its top-left corner at `(x0, y0)`, `h` px tall: `lo` at
/// the bottom, `hi` at the top, round ticks with their labels right of it and `unit` under it.
pub(super) fn colorbar(
    img: &mut RgbImage,
    bar: (u32, u32, u32),
    font: &FontRef,
    range: (f64, f64),
    unit: &str,
) {
    colorbar_n(img, bar, font, range, unit, 8);
}

/// [`colorbar`] with ticks for about `n` intervals (see [`ticks_n`]).
pub(super) fn colorbar_n(
    img: &mut RgbImage,
    (x0, y0, h): (u32, u32, u32),
    font: &FontRef,
    (lo, hi): (f64, f64),
    unit: &str,
    n: usize,
) {
    let (bar_w, tick_len) = (COLORBAR_W, TICK_LEN);
    let h = h.max(2);
    for dy in 0..h {
        let rgb = Rgb(viridis(1.0 - dy as f64 / (h - 1) as f64));
        for dx in 0..bar_w {
            if let Some(p) = img.get_pixel_mut_checked(x0 + dx, y0 + dy) {
                *p = rgb;
            }
        }
    }
    draw_hollow_rect_mut(
        img,
        Rect::at(x0 as i32 - 1, y0 as i32 - 1).of_size(bar_w + 2, h + 2),
        Rgb(FRAME_RGB),
    );
    let scale = PxScale::from(SMALL_PX);
    let th = text_size(scale, font, "0").1 as i32;
    let tx = (x0 + bar_w + tick_len + 4) as i32;
    if lo.is_finite() && hi.is_finite() && hi > lo {
        let (values, decimals) = ticks_n(lo, hi, n);
        for v in values {
            let y = y0 as f64 + (hi - v) / (hi - lo) * (h - 1) as f64;
            let y = y.round() as i32;
            let tick = Rect::at((x0 + bar_w) as i32, y).of_size(tick_len, 1);
            draw_filled_rect_mut(img, tick, Rgb(TEXT_RGB));
            let label = tick_label(v, decimals);
            draw_text_mut(img, Rgb(TEXT_RGB), tx, y - th / 2 - 2, scale, font, &label);
        }
    }
    let unit_y = (y0 + h + 8) as i32;
    draw_text_mut(img, Rgb(TEXT_RGB), x0 as i32, unit_y, scale, font, unit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_fit_the_reserved_width() {
        assert_eq!(tick_label(0.0005, 4), "0.0005");
        assert_eq!(tick_label(-0.25, 2), "\u{2212}0.25");
        assert_eq!(tick_label(1.5e-5, 6), "1.5e\u{2212}5");
        assert_eq!(tick_label(0.0, 6), "0");
        for v in [2e-6, 1.5e-5, 4e-7] {
            let label = tick_label(v, decimals_for(v));
            assert!(label.chars().count() <= 7, "{label}");
        }
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(fmt_sig(0.5, 3), "0.5");
        assert_eq!(fmt_sig(0.0012345, 3), "0.00123");
        assert_eq!(fmt_sig(1234.0, 3), "1234");
        assert_eq!(fmt_sig(9.996, 3), "10");
        assert_eq!(fmt_sig(12345.0, 3), "1.23e4");
        assert_eq!(fmt_sig(-2.5e-5, 3), "\u{2212}2.5e\u{2212}5");
        assert_eq!(fmt_sig(1e-4, 3), "1e\u{2212}4");
        assert_eq!(fmt_sig(0.0, 3), "0");
        assert_eq!(fmt_exact(1500.0), "1500");
        assert_eq!(fmt_exact(0.1 + 0.2), "0.3");
        assert_eq!(fmt_exact(1.0 / 3.0), "0.333333");
        assert_eq!(fmt_exact(2.5e-5), "2.5e\u{2212}5");
    }

    #[test]
    fn fewer_ticks_for_a_short_bar() {
        assert_eq!(ticks_n(0.0, 1.0, 2).0, vec![0.0, 0.5, 1.0]);
        assert_eq!(ticks_n(0.0, 1.0, 8), ticks(0.0, 1.0));
    }

    #[test]
    fn steps_and_labels_are_round() {
        assert_eq!(nice_step(0.2), 0.2);
        assert_eq!(nice_step(0.25), 0.5);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(fmt_round(10.0), "10");
        assert_eq!(fmt_round(0.5), "0.5");
        assert_eq!(fmt_round(0.02), "0.02");
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn contour_of_a_step_is_drawn_between_the_cells() {
        // Metal for i < 2 of 4 rows: the contour lies halfway between rows 1 and 2.
        let f = ndarray::Array2::from_shape_fn((4, 3), |(i, _)| if i < 2 { 1.0 } else { 0.0 });
        let mut img = RgbImage::new(3 * 10, 4 * 10);
        contour(&mut img, (0, 0), 10, &f.view(), 0.5, [255, 0, 0], false);
        // Between cell centres i = 1 (row 2, y = 25) and i = 2 (row 1, y = 15): y = 20.
        assert_eq!(img.get_pixel(15, 20).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(15, 10).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(15, 30).0, [0, 0, 0]);
    }
}
