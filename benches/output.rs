//! The cost of a frame's field files on cubes: the binary VTK writer (`write_vti`, the four
//! fields of a frame) and the .npy writer (the same four), MB/s of file written, against the
//! disk: a plain write of as many bytes (`std::fs::write` + sync) in the same directory.
//!
//! `cargo bench --bench output` (sizes `MGPF_BENCH_OUTPUT=64,128,256`, the default 64,128;
//! files go to the system's temporary directory).

use std::path::Path;
use std::time::Instant;

use mgpf::output::{write_npy, write_vti, FieldStamp};
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
        "cube      MB per frame | write_vti s  MB/s | 4 × write_npy s  MB/s | plain write s  MB/s"
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
        let raw = vec![7u8; (vti_mb * 1e6) as usize];
        let plain = dir.path().join("plain.bin");
        let plain_s = median_s(repeats, || plain_write(&plain, &raw));
        println!(
            "{:<9} {vti_mb:>12.1} | {vti_s:>11.3} {:>5.0} | {npy_s:>15.3} {:>5.0} | {plain_s:>13.3} {:>5.0}",
            format!("{n}³"),
            vti_mb / vti_s,
            npy_mb / npy_s,
            vti_mb / plain_s
        );
    }
}
