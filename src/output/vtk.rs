//! VTK XML ImageData (`.vti`, ASCII) of cell fields, for ParaView.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::ArrayView3;

use crate::error::{Error, Result};
use crate::grid::Real;

/// Writes `fields` (each of shape `(nx, ny, nz)`, the same for all) as VTK ImageData with one
/// `<CellData>` `Float32` array per field, atomically. VTK x is the growth axis `i`, y and z the
/// lateral axes `j`, `k` (a 2D run is one cell thick in z): `WholeExtent="0 nx 0 ny 0 nz"`,
/// spacing `dx_um` (µm). Values run x fastest, then y, as VTK expects. NaN is written as `nan`.
pub fn write_vti(path: &Path, dx_um: f64, fields: &[(&str, ArrayView3<Real>)]) -> Result<()> {
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
    if !(dx_um.is_finite() && dx_um > 0.0) {
        return Err(fail(format!("cell size {dx_um} µm is not positive")));
    }
    let mut s = String::with_capacity(fields.len() * nx * ny * nz * 12 + 1024);
    s.push_str("<?xml version=\"1.0\"?>\n");
    s.push_str("<VTKFile type=\"ImageData\" version=\"0.1\" byte_order=\"LittleEndian\">\n");
    let _ = writeln!(
        s,
        "  <ImageData WholeExtent=\"0 {nx} 0 {ny} 0 {nz}\" Origin=\"0 0 0\" \
         Spacing=\"{dx_um} {dx_um} {dx_um}\">"
    );
    let _ = writeln!(s, "    <Piece Extent=\"0 {nx} 0 {ny} 0 {nz}\">");
    let _ = writeln!(
        s,
        "      <CellData Scalars=\"{}\">",
        xml_escape(fields[0].0)
    );
    for (name, f) in fields {
        let _ = writeln!(
            s,
            "        <DataArray type=\"Float32\" Name=\"{}\" NumberOfComponents=\"1\" \
             format=\"ascii\">",
            xml_escape(name)
        );
        for k in 0..nz {
            for j in 0..ny {
                s.push_str("         ");
                for i in 0..nx {
                    let v = f[[i, j, k]];
                    if v.is_nan() {
                        s.push_str(" nan");
                    } else {
                        let _ = write!(s, " {v}");
                    }
                }
                s.push('\n');
            }
        }
        s.push_str("        </DataArray>\n");
    }
    s.push_str("      </CellData>\n    </Piece>\n  </ImageData>\n</VTKFile>\n");
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
        let e = write_vti(&p, 1.0, &[("a", a.view()), ("b", b.view())]).unwrap_err();
        assert!(e.to_string().contains("field `b` is 2x3x1"), "{e}");
        assert!(write_vti(&p, 1.0, &[])
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
