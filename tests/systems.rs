//! The reviewed systems (issue 19, configs/systems/): each config, run planar as `mgpf
//! calibrate` runs it (8 lateral cells, no noise, the last cycle of its schedule), reproduces
//! what its `[system]` section says the review reports: a polarisation within 10 %, a CE within
//! 1 percentage point, a bound (CE > x, |η| < y) held to the same margins. Fitted or not, the
//! figures are held alike; `[system].fitted` says which keys were fitted to them.

use mgpf::cli::calibrate::planar_figures;
use mgpf::config::systems::systems;
use std::path::Path;

#[test]
fn every_system_reproduces_its_reported_figures() {
    let mut failures = Vec::new();
    let list = systems().unwrap();
    assert_eq!(list.len(), 12, "the review's twelve systems");
    for (stem, cfg) in list {
        let s = cfg.system.as_ref().expect("a [system] section");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("configs/systems")
            .join(format!("{stem}.toml"));
        let start = std::time::Instant::now();
        let row = planar_figures(&path, &[]).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let mut line = format!(
            "{stem} ({:.1} s): planar η {:+.4} / {:+.4} V, CE {:.3} %, dead {:.2e} mol/m²",
            start.elapsed().as_secs_f64(),
            row.plating_overpotential_v,
            row.stripping_overpotential_v,
            100.0 * row.ce,
            row.dead_mg_mol_m2
        );
        let mut check = |what: &str, ok: bool, detail: String| {
            line.push_str(&format!(
                "; {what} {detail} {}",
                if ok { "ok" } else { "FAILED" }
            ));
            if !ok {
                failures.push(format!("{stem}: {what} {detail}"));
            }
        };
        for (what, reported, simulated) in [
            (
                "plating η",
                s.plating_overpotential_v,
                row.plating_overpotential_v,
            ),
            (
                "stripping η",
                s.stripping_overpotential_v,
                row.stripping_overpotential_v,
            ),
        ] {
            if let Some(v) = reported {
                let rel = simulated / v - 1.0;
                check(
                    what,
                    rel.abs() <= 0.10,
                    format!("{v:+} V: {:+.2} %", 100.0 * rel),
                );
            }
        }
        if let Some(bound) = s.overpotential_below_v {
            let worst = row
                .plating_overpotential_v
                .abs()
                .max(row.stripping_overpotential_v.abs());
            check("|η| <", worst < bound, format!("{bound} V: {worst:.4} V"));
        }
        if let Some(ce) = s.ce {
            let pp = 100.0 * (row.ce - ce);
            check(
                "CE",
                pp.abs() <= 1.0,
                format!("{} %: {pp:+.2} pp", 100.0 * ce),
            );
        }
        if let Some(bound) = s.ce_above {
            let pp = 100.0 * (row.ce - bound);
            check(
                "CE >",
                pp >= -1.0,
                format!("{} %: {pp:+.2} pp", 100.0 * bound),
            );
        }
        println!("{line}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
