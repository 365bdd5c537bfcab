//! NumPy `.npy` files (format 1.0) of cell fields: `np.load` gives a float32 array of shape
//! (nx, ny, nz), C order (z fastest, as the grid stores it; nz = 1 in 2D), x the growth axis.

use std::io::Write as _;
use std::path::Path;

use ndarray::ArrayView3;

use crate::error::{Error, Result};
use crate::grid::Real;

/// The format-1.0 header of a little-endian float32 C-order array of `shape`: magic, version,
/// header length, the dict padded with spaces to a multiple of 64 bytes, ending in a newline.
pub fn npy_header(shape: [usize; 3]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}, {}), }}",
        shape[0], shape[1], shape[2]
    );
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// Writes `field` as `.npy` atomically.
pub fn write_npy(path: &Path, field: ArrayView3<Real>) -> Result<()> {
    let (nx, ny, nz) = field.dim();
    let header = npy_header([nx, ny, nz]);
    super::write_atomic_with(path, |w| {
        let io = |e| Error::io(super::tmp_path(path), e);
        w.write_all(&header).map_err(io)?;
        match field.as_slice() {
            Some(values) => w.write_all(bytemuck::cast_slice(values)).map_err(io),
            None => {
                for v in field.iter() {
                    w.write_all(&v.to_le_bytes()).map_err(io)?;
                }
                Ok(())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header is a multiple of 64 bytes and states the dtype, order and shape.
    #[test]
    fn the_header_is_aligned_and_states_the_shape() {
        for shape in [[48, 128, 1], [256, 256, 256], [7, 5, 3]] {
            let h = npy_header(shape);
            let text = String::from_utf8_lossy(&h[10..]);
            println!("{shape:?}: {} bytes: {text:?}", h.len());
            assert_eq!(h.len() % 64, 0);
            assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize, h.len() - 10);
            assert!(text.contains(&format!(
                "'shape': ({}, {}, {})",
                shape[0], shape[1], shape[2]
            )));
            assert!(text.contains("'descr': '<f4'") && text.ends_with('\n'));
        }
    }
}
