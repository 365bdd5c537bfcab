//! The same config and seed give bit-identical results on 1 and 2 threads (noise keyed by
//! (seed, step, cell), reductions in f64 over fixed row splits).

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;

fn run(threads: usize, preset: Preset) -> (Vec<f32>, Vec<(f64, f64)>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut cfg = Config::default_demo();
        cfg.grid.nx = 64;
        cfg.grid.ny = 256;
        cfg.interphase.preset = preset;
        let p = Params::from_config(&cfg).unwrap();
        let mut b = CpuBackend::new(&p, &cfg.initial);
        let trace = (0..60)
            .map(|s| {
                let r = b.step(s).unwrap();
                (r.applied_potential_v, r.current_density_a_m2 * r.dt)
            })
            .collect();
        (
            b.snapshot().order_parameter.iter().copied().collect(),
            trace,
        )
    })
}

#[test]
fn one_and_two_threads_give_identical_runs() {
    for preset in [Preset::Passivating, Preset::Zeolite] {
        let (xi1, t1) = run(1, preset);
        let (xi2, t2) = run(2, preset);
        let differing = xi1
            .iter()
            .zip(&xi2)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        println!("{}: cells differing between 1 and 2 threads: {differing} (expected 0); final E {} vs {}", preset.name(), t1[59].0, t2[59].0);
        assert_eq!(differing, 0);
        assert_eq!(t1, t2, "voltage/charge traces differ");
    }
}
