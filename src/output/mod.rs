//! What people look at: rendered frames (PNG; 2D sections and shaded 3D surfaces), animations (GIF), montages, line plots, a sweep's heat maps and the grid of its pictures, VTK
//! ImageData for ParaView, and an atomic writer for the text outputs.
//!
//! Every file is written atomically: first to `<path>.tmp` in the same directory, then renamed
//! over `path`, so a reader (or a crash) never sees a half-written file.
//!
//! Picture convention: a field of shape `(nx, ny)` indexed `[i, j]` is drawn with the current
//! collector (`i = 0`) at the bottom and growth going up: image row `nx − 1 − i`, column `j`,
//! square cells upscaled by an integer factor (nearest neighbour).

mod animation;
mod draw;
mod frames;
mod frames3d;
mod montage_grid;
mod npy;
mod picture;
mod plot;
mod render3d;
mod study_map;
mod vtk;
mod vtk_legacy;

use std::io::Write;
use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::error::{Error, Result};

pub use animation::{montage, write_gif};
pub use draw::nice_step;
pub use frames::{
    nice_scale_length, render_frame, render_morphology_card, scale_factor, viridis, ColourPanel,
    FrameLayout, FrameView, BLOCKED_RGB, CONTOUR_RGB, ELECTROLYTE_RGB, INTERPHASE_RGB, METAL_RGB,
    NAN_RGB,
};
pub use frames3d::{
    frame_3d_size, frame_3d_view, render_frame_3d, render_surface_card, Frame3dView,
};
pub use montage_grid::{grid_montage, GridLabels};
pub use npy::write_npy;
pub use picture::{interphase_picture, layer_to_interphase};
pub use plot::{write_line_plot, Series, PLOT_HEIGHT, PLOT_WIDTH};
pub use render3d::{
    isosurface, render_surface, render_surface_with, Camera, Mesh, RenderStyle, SurfaceColour,
    SurfaceView, BLOCKED_ALPHA, COLLECTOR_SLAB_RGB, INTERPHASE_ALPHA, SURFACE_LEVEL,
};
pub use study_map::{render_heat_map, render_sweep_line, stack_vertically, MapAxis, MapCell};
pub use vtk::{write_pvd, write_vti, FieldStamp};
pub use vtk_legacy::write_legacy_vtk;

/// The embedded DejaVu Sans Mono used for every piece of text.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("font/DejaVuSansMono.ttf");

/// The embedded font, parsed (cheap: `FontRef` borrows the static bytes).
/// A CSV field, quoted where it holds a comma, a quote or a line break (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(crate) fn font() -> ab_glyph::FontRef<'static> {
    ab_glyph::FontRef::try_from_slice(FONT_BYTES)
        .expect("embedded DejaVu Sans Mono is a valid font")
}

/// `path` with `.tmp` appended to its file name (same directory, so the rename is atomic).
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "out".into());
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes through `write` into `<path>.tmp`, syncs, then renames it over `path`. On failure the
/// temporary file is removed.
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically (to `path.tmp`, then rename); overwrites an existing file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|e| Error::io(tmp_path(path), e))
    })
}

/// Writes `img` as PNG atomically: to `path.tmp` in the same directory, then rename.
pub fn write_png(path: &Path, img: &RgbImage) -> Result<()> {
    let mut bytes = Vec::new();
    encode_png(img, &mut bytes).map_err(|message| Error::Image {
        path: path.into(),
        message,
    })?;
    write_atomic(path, &bytes)
}

/// `img` as PNG bytes (for measuring the encoder; [`write_png`] writes a file).
pub fn encode_png_bytes(img: &RgbImage) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    encode_png(img, &mut bytes)?;
    Ok(bytes)
}

/// Encodes `img` as PNG into `out`.
pub(crate) fn encode_png(img: &RgbImage, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    use image::ImageEncoder;
    if img.width() == 0 || img.height() == 0 {
        return Err(format!(
            "cannot encode an empty {}x{} image",
            img.width(),
            img.height()
        ));
    }
    image::codecs::png::PngEncoder::new(out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| e.to_string())
}

/// Tests: writes `img` as `name` into the folder `MGPF_EXAMPLE_DIR` names, when it is set (for
/// looking at the pictures a test draws); failures to write are ignored.
#[cfg(test)]
pub(crate) fn keep_example(name: &str, img: &RgbImage) {
    if let Some(dir) = std::env::var_os("MGPF_EXAMPLE_DIR") {
        let dir = Path::new(&dir);
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = write_png(&dir.join(name), img);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_path_is_beside_the_target() {
        let p = tmp_path(Path::new("/a/b/frame.png"));
        assert_eq!(p, Path::new("/a/b/frame.png.tmp"));
    }

    #[test]
    fn font_parses() {
        use ab_glyph::Font;
        let f = font();
        for c in ['µ', '²', '⁻', '¹', 'η', '−', '₀'] {
            assert_ne!(
                f.glyph_id(c).0,
                0,
                "glyph {c:?} missing from the embedded font"
            );
        }
    }

    #[test]
    fn write_png_rejects_empty_image() {
        let dir = std::env::temp_dir().join(format!("mgpf-out-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = write_png(&dir.join("x.png"), &RgbImage::new(0, 0)).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        assert!(!dir.join("x.png.tmp").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
