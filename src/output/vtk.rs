//! VTK XML ImageData (`.vti`, binary: raw appended data) of cell fields, with the time as field
//! data, and the `.pvd` collection that plays a series of them as an animation in ParaView.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use ndarray::ArrayView3;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::grid::Real;

/// What a field file records besides the fields: the simulated time (VTK's `TimeValue`, which
/// ParaView reads as the time), the charge passed and the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldStamp {
    pub time_s: f64,
    pub charge_c_m2: f64,
    pub step: u64,
}

/// Writes `fields` (each of shape `(nx, ny, nz)`, the same for all) as VTK ImageData with one
/// `<CellData>` `Float32` array per field, atomically. VTK x is the growth axis `i`, y and z the
/// lateral axes `j`, `k` (a 2D run is one cell thick in z): `WholeExtent="0 nx 0 ny 0 nz"`,
/// origin 0 and spacing `dx_m` in metres; `stamp` as `<FieldData>` (`TimeValue`, `charge_c_m2`,
/// `step`). The values are raw little-endian f32 in one `<AppendedData>` block (each array
/// preceded by its byte count as a UInt64), x fastest, as VTK expects.
pub fn write_vti(
    path: &Path,
    dx_m: f64,
    stamp: &FieldStamp,
    fields: &[(&str, ArrayView3<Real>)],
) -> Result<()> {
    let (nx, ny, nz) = checked_shape(path, dx_m, fields)?;
    let cells = nx * ny * nz;
    let bytes = (cells * 4) as u64;
    let mut s = String::with_capacity(2048);
    s.push_str("<?xml version=\"1.0\"?>\n");
    s.push_str(
        "<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\" \
         header_type=\"UInt64\">\n",
    );
    let _ = writeln!(
        s,
        "  <ImageData WholeExtent=\"0 {nx} 0 {ny} 0 {nz}\" Origin=\"0 0 0\" \
         Spacing=\"{dx_m:e} {dx_m:e} {dx_m:e}\">"
    );
    s.push_str("    <FieldData>\n");
    let _ = writeln!(
        s,
        "      <DataArray type=\"Float64\" Name=\"TimeValue\" NumberOfTuples=\"1\" \
         format=\"ascii\">{:e}</DataArray>",
        stamp.time_s
    );
    let _ = writeln!(
        s,
        "      <DataArray type=\"Float64\" Name=\"charge_c_m2\" NumberOfTuples=\"1\" \
         format=\"ascii\">{:e}</DataArray>",
        stamp.charge_c_m2
    );
    let _ = writeln!(
        s,
        "      <DataArray type=\"Int64\" Name=\"step\" NumberOfTuples=\"1\" \
         format=\"ascii\">{}</DataArray>",
        stamp.step
    );
    s.push_str("    </FieldData>\n");
    let _ = writeln!(s, "    <Piece Extent=\"0 {nx} 0 {ny} 0 {nz}\">");
    let _ = writeln!(
        s,
        "      <CellData Scalars=\"{}\">",
        xml_escape(fields[0].0)
    );
    for (n, (name, _)) in fields.iter().enumerate() {
        let _ = writeln!(
            s,
            "        <DataArray type=\"Float32\" Name=\"{}\" NumberOfComponents=\"1\" \
             format=\"appended\" offset=\"{}\"/>",
            xml_escape(name),
            n as u64 * (8 + bytes)
        );
    }
    s.push_str("      </CellData>\n    </Piece>\n  </ImageData>\n");
    s.push_str("  <AppendedData encoding=\"raw\">\n   _");
    super::write_atomic_with(path, |w| {
        let io = |e| Error::io(super::tmp_path(path), e);
        w.write_all(s.as_bytes()).map_err(io)?;
        let mut buffer = vec![0u8; cells * 4];
        for (_, f) in fields {
            w.write_all(&bytes.to_le_bytes()).map_err(io)?;
            vtk_order_bytes(f, &mut buffer);
            w.write_all(&buffer).map_err(io)?;
        }
        w.write_all(b"\n  </AppendedData>\n</VTKFile>\n")
            .map_err(io)
    })
}

/// The shape shared by `fields` (each `(nx, ny, nz)`, none empty) with `dx_m` positive; an
/// error naming the file otherwise.
pub(super) fn checked_shape(
    path: &Path,
    dx_m: f64,
    fields: &[(&str, ArrayView3<Real>)],
) -> Result<(usize, usize, usize)> {
    let fail = |message: String| Error::Other(format!("VTK output {}: {message}", path.display()));
    let Some((_, first)) = fields.first() else {
        return Err(fail("no fields to write".into()));
    };
    let (nx, ny, nz) = first.dim();
    if nx == 0 || ny == 0 || nz == 0 {
        return Err(fail(format!("empty field ({nx}x{ny}x{nz} cells)")));
    }
    if let Some((name, f)) = fields.iter().find(|(_, f)| f.dim() != (nx, ny, nz)) {
        let (a, b, c) = f.dim();
        return Err(fail(format!(
            "field `{name}` is {a}x{b}x{c}, expected {nx}x{ny}x{nz}"
        )));
    }
    if !(dx_m.is_finite() && dx_m > 0.0) {
        return Err(fail(format!("cell size {dx_m} m is not positive")));
    }
    Ok((nx, ny, nz))
}

/// The field's values as little-endian f32 bytes in VTK's order (x = i fastest, then j, then k),
/// into `out` (4 bytes per cell), a (k, j) line per task.
fn vtk_order_bytes(f: &ArrayView3<Real>, out: &mut [u8]) {
    vtk_order(f, out, f32::to_le_bytes);
}

/// The field's values as 4-byte words from `word` in VTK's order (x = i fastest, then j, then
/// k), into `out` (4 bytes per cell), a (k, j) line per task.
pub(super) fn vtk_order(f: &ArrayView3<Real>, out: &mut [u8], word: fn(f32) -> [u8; 4]) {
    let (nx, ny, _) = f.dim();
    out.par_chunks_mut(4 * nx)
        .enumerate()
        .for_each(|(line, bytes)| {
            let (k, j) = (line / ny, line % ny);
            for (i, b) in bytes.chunks_exact_mut(4).enumerate() {
                b.copy_from_slice(&word(f[[i, j, k]]));
            }
        });
}

/// Writes `fields.pvd`, the ParaView collection of `frames` (each a time in s and a path
/// relative to the collection's directory), atomically.
pub fn write_pvd(path: &Path, frames: &[(f64, String)]) -> Result<()> {
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\"?>\n");
    s.push_str("<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">\n");
    s.push_str("  <Collection>\n");
    for (time, file) in frames {
        let _ = writeln!(
            s,
            "    <DataSet timestep=\"{time:e}\" group=\"\" part=\"0\" file=\"{}\"/>",
            xml_escape(file)
        );
    }
    s.push_str("  </Collection>\n</VTKFile>\n");
    super::write_atomic(path, s.as_bytes())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_and_empty_inputs_are_errors() {
        let p = std::env::temp_dir().join(format!("mgpf-vtk-{}.vti", std::process::id()));
        let a = ndarray::Array3::<Real>::zeros((3, 2, 1));
        let b = ndarray::Array3::<Real>::zeros((2, 3, 1));
        let stamp = FieldStamp {
            time_s: 1.0,
            charge_c_m2: 2.0,
            step: 3,
        };
        let e = write_vti(&p, 1.0, &stamp, &[("a", a.view()), ("b", b.view())]).unwrap_err();
        assert!(e.to_string().contains("field `b` is 2x3x1"), "{e}");
        assert!(write_vti(&p, 1.0, &stamp, &[])
            .unwrap_err()
            .to_string()
            .contains("no fields"));
        assert!(!p.exists());
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(xml_escape("c<\"x\">&"), "c&lt;&quot;x&quot;&gt;&amp;");
    }
}
