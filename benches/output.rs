//! The cost of a frame's outputs on cubes: the binary VTK writer (`write_vti`, the four fields
//! of a frame), the legacy VTK writer (`write_legacy_vtk`, the same four) and the .npy writer
//! (the same four), MB/s of file written, against the disk: a plain write of as many bytes
//! (`std::fs::write` + sync) in the same directory; and the rendered 3D frame of a rough
//! deposit (the isosurface, the shaded view and the mid-plane section: `render_frame_3d`) and
//! its PNG encoding, in seconds.
//!
//! `cargo bench --bench output` (sizes `MGPF_BENCH_OUTPUT=64,128,256`, the default 64,128;
//! files go to the system's temporary directory).

use std::path::Path;
use std::time::Instant;

use mgpf::output::{
    encode_png_bytes, render_frame_3d, write_legacy_vtk, write_npy, write_vti, ColourPanel,
    FieldStamp, Frame3dView, FrameView, SurfaceColour, SurfaceView,
};
use mgpf::{Field, Real};

/// Median seconds of `run` over `repeats` calls.
fn median_s(repeats: usize, mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn plain_write(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

fn main() {
    let testing = !std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = if testing {
        vec![16]
    } else {
        std::env::var("MGPF_BENCH_OUTPUT")
            .ok()
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().parse().expect("MGPF_BENCH_OUTPUT: sizes"))
                    .collect()
            })
            .unwrap_or_else(|| vec![64, 128])
    };
    let dir = tempfile::tempdir().unwrap();
    let repeats = if testing { 1 } else { 3 };
    println!(
        "mgpf output bench: rayon threads = {}, cubes {sizes:?}, 4 f32 fields per frame, files in {}",
        rayon::current_num_threads(),
        dir.path().display()
    );
    println!(
        "cube      MB per frame | write_vti s  MB/s | legacy .vtk s  MB/s | 4 × write_npy s  MB/s | plain write s  MB/s | 3D frame render s, PNG s"
    );
    for n in sizes {
        let fields: Vec<Field> = (0..4)
            .map(|f| Field::from_shape_fn((n, n, n), |(i, j, k)| (f * 1000 + i + j + k) as Real))
            .collect();
        let names = [
            "order_parameter",
            "concentration",
            "potential",
            "plating_rate",
        ];
        let views: Vec<(&str, ndarray::ArrayView3<Real>)> = names
            .iter()
            .zip(&fields)
            .map(|(name, f)| (*name, f.view()))
            .collect();
        let stamp = FieldStamp {
            time_s: 1.0,
            charge_c_m2: 2.0,
            step: 3,
        };
        let vti = dir.path().join("frame.vti");
        let vti_s = median_s(repeats, || {
            write_vti(&vti, 5e-7, &stamp, &views).unwrap();
        });
        let vti_mb = std::fs::metadata(&vti).unwrap().len() as f64 / 1e6;
        let npy_s = median_s(repeats, || {
            for (name, f) in &views {
                write_npy(&dir.path().join(format!("frame_{name}.npy")), *f).unwrap();
            }
        });
        let npy_mb: f64 = names
            .iter()
            .map(|name| {
                std::fs::metadata(dir.path().join(format!("frame_{name}.npy")))
                    .unwrap()
                    .len() as f64
                    / 1e6
            })
            .sum();
        let vtk = dir.path().join("frame.vtk");
        let vtk_s = median_s(repeats, || {
            write_legacy_vtk(&vtk, 5e-7, &stamp, &views).unwrap();
        });
        let vtk_mb = std::fs::metadata(&vtk).unwrap().len() as f64 / 1e6;
        let (render_s, png_s) = render_cost(n, repeats);
        let raw = vec![7u8; (vti_mb * 1e6) as usize];
        let plain = dir.path().join("plain.bin");
        let plain_s = median_s(repeats, || plain_write(&plain, &raw));
        println!(
            "{:<9} {vti_mb:>12.1} | {vti_s:>11.3} {:>5.0} | {vtk_s:>13.3} {:>5.0} | {npy_s:>15.3} {:>5.0} | {plain_s:>13.3} {:>5.0} | {render_s:>17.3} {png_s:>6.3}",
            format!("{n}³"),
            vti_mb / vti_s,
            vtk_mb / vtk_s,
            npy_mb / npy_s,
            vti_mb / plain_s
        );
    }
}

/// Median seconds to render the 3D frame of an `n³` rough deposit (a front at a quarter of the
/// height with bumps of several sizes, the interphase marker and blocked patches on it) and to
/// encode it as PNG.
fn render_cost(n: usize, repeats: usize) -> (f64, f64) {
    let dx = 0.25;
    let height = |j: usize, k: usize| {
        let (y, z) = (j as f64 / n as f64, k as f64 / n as f64);
        n as f64
            * dx
            * (0.25 + 0.05 * (6.3 * y).sin() * (6.3 * z).cos() + 0.02 * (31.0 * y + 3.0 * z).sin())
    };
    let xi = Field::from_shape_fn((n, n, n), |(i, j, k)| {
        let x = (i as f64 + 0.5) * dx;
        (0.5 * (1.0 - ((x - height(j, k)) / (2.0 * 0.5)).tanh())) as Real
    });
    let marker = xi.mapv(|v| (16.0 * v * v * (1.0 - v) * (1.0 - v)).min(1.0));
    let blocked = Field::from_shape_fn(
        (n, n, n),
        |(_, j, k)| {
            if (j / 8 + k / 8) % 3 == 0 {
                1.0
            } else {
                0.0
            }
        },
    );
    let rate = xi.mapv(|v| v * (1.0 - v) * 1e-3);
    let mid = n / 2;
    let section = |f: &Field| f.index_axis(ndarray::Axis(2), mid).to_owned();
    let (xi2, ip2, bl2, rate2) = (
        section(&xi),
        section(&marker),
        section(&blocked),
        section(&rate),
    );
    let render = || {
        render_frame_3d(&Frame3dView {
            surface: SurfaceView {
                order_parameter: xi.view(),
                interphase: marker.view(),
                blocked: Some(blocked.view()),
                dx_um: dx,
                colour: SurfaceColour::Height,
                height_range_um: (0.0, n as f64 * dx),
            },
            section: FrameView {
                order_parameter: xi2.view(),
                interphase: ip2.view(),
                blocked: Some(bl2.view()),
                panels: vec![ColourPanel {
                    field: rate2.view(),
                    label: "plating rate".into(),
                    unit: "µm/s",
                    factor: dx,
                    range: (0.0, 1e-3 * dx),
                }],
                dx_um: dx,
                title: "bench",
                time_s: 1.0,
                charge_mah_cm2: 0.1,
                overpotential_v: -0.1,
            },
        })
    };
    let render_s = median_s(repeats, || {
        render();
    });
    let img = render();
    let png_s = median_s(repeats, || {
        encode_png_bytes(&img).unwrap();
    });
    (render_s, png_s)
}
