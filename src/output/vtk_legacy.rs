//! Legacy VTK (`.vtk`, binary) `STRUCTURED_POINTS` of cell fields: the twin of the `.vti` files
//! for readers without XML ImageData (meshio reads these, not `.vti`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use ndarray::ArrayView3;

use super::vtk::{checked_shape, vtk_order, FieldStamp};
use crate::error::{Error, Result};
use crate::grid::Real;

/// Writes `fields` (each of shape `(nx, ny, nz)`) as a legacy binary VTK file, atomically:
/// `DATASET STRUCTURED_POINTS` with `DIMENSIONS nx+1 ny+1 nz+1` points (the cells are the
/// grid's), origin 0 and spacing `dx_m` in metres, VTK x the growth axis; `stamp` as dataset
/// `FIELD` data (`TimeValue`, `charge_c_m2`, `step`, doubles); then one `CELL_DATA` `SCALARS`
/// float array per field, big-endian as the format requires, x fastest.
pub fn write_legacy_vtk(
    path: &Path,
    dx_m: f64,
    stamp: &FieldStamp,
    fields: &[(&str, ArrayView3<Real>)],
) -> Result<()> {
    let (nx, ny, nz) = checked_shape(path, dx_m, fields)?;
    let cells = nx * ny * nz;
    let mut head = String::with_capacity(512);
    head.push_str("# vtk DataFile Version 3.0\nmgpf fields\nBINARY\nDATASET STRUCTURED_POINTS\n");
    let _ = writeln!(head, "DIMENSIONS {} {} {}", nx + 1, ny + 1, nz + 1);
    head.push_str("ORIGIN 0 0 0\n");
    let _ = writeln!(head, "SPACING {dx_m:e} {dx_m:e} {dx_m:e}");
    head.push_str("FIELD FieldData 3\n");
    super::write_atomic_with(path, |w| {
        let io = |e| Error::io(super::tmp_path(path), e);
        w.write_all(head.as_bytes()).map_err(io)?;
        let doubles = [
            ("TimeValue", stamp.time_s),
            ("charge_c_m2", stamp.charge_c_m2),
            ("step", stamp.step as f64),
        ];
        for (name, value) in doubles {
            writeln!(w, "{name} 1 1 double").map_err(io)?;
            w.write_all(&value.to_be_bytes()).map_err(io)?;
            w.write_all(b"\n").map_err(io)?;
        }
        writeln!(w, "CELL_DATA {cells}").map_err(io)?;
        let mut buffer = vec![0u8; cells * 4];
        for (name, f) in fields {
            let name: String = name
                .chars()
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .collect();
            write!(w, "SCALARS {name} float 1\nLOOKUP_TABLE default\n").map_err(io)?;
            vtk_order(f, &mut buffer, f32::to_be_bytes);
            w.write_all(&buffer).map_err(io)?;
            w.write_all(b"\n").map_err(io)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header, the stamp and the first field read back by hand: x fastest, big-endian.
    #[test]
    fn the_file_is_structured_points_with_big_endian_cells_x_fastest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.vtk");
        let f =
            ndarray::Array3::from_shape_fn((3, 2, 2), |(i, j, k)| (100 * k + 10 * j + i) as f32);
        let stamp = FieldStamp {
            time_s: 12.5,
            charge_c_m2: 3.0,
            step: 7,
        };
        write_legacy_vtk(&path, 5e-7, &stamp, &[("order parameter", f.view())]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("# vtk DataFile Version 3.0\nmgpf fields\nBINARY\n"));
        assert!(text.contains("DIMENSIONS 4 3 3\n"), "{text}");
        assert!(text.contains("SPACING 5e-7 5e-7 5e-7\n"));
        let at = |needle: &str| {
            let n = needle.as_bytes();
            bytes.windows(n.len()).position(|w| w == n).unwrap() + n.len()
        };
        let t = at("TimeValue 1 1 double\n");
        assert_eq!(
            f64::from_be_bytes(bytes[t..t + 8].try_into().unwrap()),
            12.5
        );
        assert!(text.contains("CELL_DATA 12\nSCALARS order_parameter float 1\n"));
        let d = at("LOOKUP_TABLE default\n");
        let values: Vec<f32> = bytes[d..d + 48]
            .chunks_exact(4)
            .map(|b| f32::from_be_bytes(b.try_into().unwrap()))
            .collect();
        let want = [
            0., 1., 2., 10., 11., 12., 100., 101., 102., 110., 111., 112.,
        ];
        assert_eq!(values, want);
    }
}
