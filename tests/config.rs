//! Config loading and validation: the shipped configs, one malformed config per defect, `--set`
//! overrides, printing round-trips, and a bounded fuzz test that the loader never panics.

use mgpf::config::load::apply_override;
use mgpf::config::presets::Preset;
use mgpf::config::{Config, ControlMode, Representation};
use mgpf::Error;
use std::path::{Path, PathBuf};

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The `.toml` files of a folder, sorted by name.
fn toml_files(relative: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifest_path(relative))
        .unwrap_or_else(|e| panic!("cannot list {relative}: {e}"))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

const MINIMAL: &str = "[grid]\nnx = 96\nny = 192\ndx_um = 0.5\n\n[run]\nend_charge_mah_cm2 = 0.2\n";

fn overrides(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Writes `text` to a temporary file and loads it with the overrides.
fn load_with(text: &str, sets: &[&str]) -> mgpf::Result<Config> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("run.toml");
    std::fs::write(&path, text).expect("write temporary config");
    Config::load(&path, &overrides(sets))
}

#[test]
fn every_shipped_config_loads_and_names_its_preset() {
    let files = toml_files("configs");
    let expected = [
        ("none", Preset::None),
        ("passivating", Preset::Passivating),
        ("bromine-rich", Preset::BromineRich),
        ("zeolite", Preset::Zeolite),
        ("bi-alloy", Preset::BiAlloy),
        ("nucleus-bromine-rich", Preset::BromineRich),
    ];
    for (stem, preset) in expected {
        let path = manifest_path(&format!("configs/{stem}.toml"));
        assert!(files.contains(&path), "configs/{stem}.toml is missing");
        let config = Config::from_path(&path).unwrap_or_else(|e| panic!("{stem}.toml: {e}"));
        assert_eq!(
            config.interphase.preset, preset,
            "{stem}.toml has the wrong preset"
        );
    }
    for path in &files {
        Config::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn shipped_configs_use_the_presets_test_currents() {
    let current = |stem: &str| {
        Config::from_path(&manifest_path(&format!("configs/{stem}.toml")))
            .expect("shipped config loads")
            .control
            .current_density_ma_cm2
    };
    // physics.md §3.3 "default test current" row (passivating 0.1-0.5: the demo's 0.5).
    assert_eq!(current("passivating"), 0.5);
    assert_eq!(current("bromine-rich"), 0.5);
    assert_eq!(current("zeolite"), 0.3);
    assert_eq!(current("bi-alloy"), 1.0);
}

#[test]
fn none_config_mirrors_the_demo_defaults() {
    let none = Config::from_path(&manifest_path("configs/none.toml")).expect("none.toml loads");
    assert_eq!(
        none,
        Config::default_demo(),
        "configs/none.toml and Config::default_demo() have drifted apart; update both together"
    );
}

#[test]
fn nucleus_config_places_one_nucleus_in_the_middle() {
    let c = Config::from_path(&manifest_path("configs/nucleus-bromine-rich.toml")).expect("loads");
    let middle = c.grid.ny as f64 * c.grid.dx_um / 2.0;
    assert_eq!(c.initial.nucleus_positions_um, vec![middle]);
    assert_eq!(c.initial.nucleus_radius_um, 4.0);
    assert_eq!(c.initial.deposit_height_um, 0.0);
}

#[test]
fn demo_defaults_are_valid_and_as_specified() {
    let demo = Config::default_demo();
    demo.validate().expect("the demo config validates");
    assert_eq!(
        (demo.grid.nx, demo.grid.ny, demo.grid.dx_um),
        (48, 128, 0.5)
    );
    assert_eq!(demo.run.frames, 24);
    assert_eq!(demo.run.end_charge_mah_cm2, Some(0.5));
    assert_eq!(demo.run.end_time_s, None);
    assert_eq!(demo.run.max_steps, Some(50_000));
    assert_eq!(demo.run.seed, 42);
    assert_eq!(demo.control.mode, ControlMode::Galvanostatic);
    assert_eq!(demo.control.current_density_ma_cm2, 0.5);
    assert_eq!(demo.interphase.preset, Preset::None);
}

/// Each file in tests/bad_configs/ holds one defect. Its header states what the error must
/// contain (`# expect: ...`, one or more) and any overrides to apply (`# set: key=value`).
#[test]
fn every_bad_config_fails_with_its_stated_message() {
    let files = toml_files("tests/bad_configs");
    assert!(files.len() >= 25, "only {} bad configs", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read bad config");
        let header = |tag: &str| -> Vec<String> {
            text.lines()
                .filter_map(|line| line.strip_prefix(tag))
                .map(|rest| rest.trim().to_string())
                .collect()
        };
        let expects = header("# expect:");
        let sets = header("# set:");
        let name = path.file_name().expect("file name").to_string_lossy();
        assert!(!expects.is_empty(), "{name} states no `# expect:` line");
        let message = match Config::load(path, &sets) {
            Ok(_) => panic!(
                "{name} loaded, but should fail with: {}",
                expects.join(" | ")
            ),
            Err(e) => e.to_string(),
        };
        for expected in &expects {
            if !message.contains(expected.as_str()) {
                failures.push(format!(
                    "{name}: the error\n{message}\ndoes not contain\n{expected}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn error_kinds_match_the_failure() {
    let unknown = Config::from_toml_str(&format!("{MINIMAL}bogus = 1\n"), "inline");
    assert!(matches!(unknown, Err(Error::Parse { ref path, .. }) if path == "inline"));

    let out_of_range = Config::from_toml_str(&MINIMAL.replace("nx = 96", "nx = 97"), "inline");
    match out_of_range {
        Err(Error::Config { key, message }) => {
            assert_eq!(key, "grid.nx");
            assert_eq!(
                message,
                "= 97 is outside the allowed range [8, 16384] (even numbers only): the multigrid \
                 coarsens the grid by factors of 2"
            );
        }
        other => panic!("expected Error::Config, got {other:?}"),
    }

    let missing = manifest_path("configs/does-not-exist.toml");
    let err = Config::from_path(&missing).expect_err("missing file");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist.toml"), "{err}");
    let err = Config::load(&missing, &overrides(&["grid.nx=64"])).expect_err("missing file");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn anisotropy_error_reads_exactly_as_documented() {
    let text = format!("{MINIMAL}\n[interface]\nanisotropy_strength = 0.03\n");
    let err = Config::from_toml_str(&text, "inline").expect_err("δ6 = 0.03 is rejected");
    assert_eq!(
        err.to_string(),
        "config error: `interface.anisotropy_strength` = 0.03 is outside the allowed range \
         [0, 0.0286): six-fold anisotropy needs δ6 < 1/(m²−1) = 1/35 for the stiffness to stay \
         positive"
    );
    // Just below the limit is allowed.
    let text = format!("{MINIMAL}\n[interface]\nanisotropy_strength = 0.0285\n");
    Config::from_toml_str(&text, "inline").expect("δ6 = 0.0285 is allowed");
}

#[test]
fn unknown_key_error_names_path_expected_set_and_line() {
    let text = "[grid]\nnx = 96\nny = 192\ndx_umm = 0.5\n\n[run]\nend_charge_mah_cm2 = 0.2\n";
    let err = Config::from_toml_str(text, "cfg.toml").expect_err("unknown key");
    assert_eq!(
        err.to_string(),
        "config error in cfg.toml: `grid.dx_umm`: unknown field `dx_umm`, expected one of `nx`, \
         `ny`, `nz`, `dx_um`\n  at line 4, column 1:\n    dx_umm = 0.5\n    ^^^^^^"
    );
}

#[test]
fn grid_pinning_bound_follows_the_interface_width() {
    let mut c = Config::default_demo();
    c.interface.width_um = 2.0;
    c.grid.dx_um = 1.0;
    c.validate().expect("dx = δ/2 is allowed");
    c.grid.dx_um = 1.01;
    let message = c.validate().expect_err("dx > δ/2").to_string();
    assert!(
        message.contains("`grid.dx_um` = 1.01 is outside the allowed range [0.001, 1]"),
        "{message}"
    );
    assert!(message.contains("interface.width_um = 2"), "{message}");
}

#[test]
fn seeds_beyond_toml_integers_are_refused_naming_run_seed() {
    let mut c = Config::default_demo();
    c.run.seed = i64::MAX as u64;
    c.validate()
        .expect("the largest TOML integer is a valid seed");
    // A larger u64 seed could not be written to run.json (toml::to_string would fail).
    c.run.seed = i64::MAX as u64 + 1;
    let message = c.validate().expect_err("seed above 2^63 - 1").to_string();
    println!("{message}");
    assert_eq!(
        message,
        "config error: `run.seed` = 9223372036854775808 is outside the allowed range \
         [0, 9223372036854775807]"
    );
}

#[test]
fn keys_that_cannot_take_effect_are_named_with_the_reason() {
    let c = load_with(
        MINIMAL,
        &[
            "interphase.preset=passivating",
            "interphase.thickness_um=0.5",
            "interphase.conductivity_ratio=0.1",
            "control.applied_potential_v=-0.4",
        ],
    )
    .expect("valid, if partly inert");
    let inert = c.inert_keys();
    for key in &inert {
        println!("{key}");
    }
    let keys: Vec<&str> = inert.iter().map(|k| k.key).collect();
    assert_eq!(
        keys,
        [
            "control.applied_potential_v",
            "interphase.thickness_um",
            "interphase.conductivity_ratio"
        ]
    );
    assert!(
        inert[1].to_string().starts_with(
            "`interphase.thickness_um` has no effect: the interphase is sub-grid \
             (representation = \"subgrid\", preset \"passivating\")"
        ),
        "{}",
        inert[1]
    );
    // The same keys take effect in a resolved band, as does the potential in potentiostatic mode.
    let c = load_with(
        MINIMAL,
        &[
            "interphase.preset=zeolite",
            "interphase.thickness_um=2",
            "interphase.conductivity_ratio=0.1",
            "control.mode=potentiostatic",
            "control.applied_potential_v=-0.4",
        ],
    )
    .expect("valid");
    assert_eq!(c.inert_keys(), vec![]);
    // The shipped configs, printed in full or not, set nothing inert.
    for path in toml_files("configs") {
        let c = Config::from_path(&path).expect("shipped config loads");
        let printed = Config::from_toml_str(&c.to_toml_string(), "printed").expect("parses back");
        for config in [c, printed] {
            assert_eq!(config.inert_keys(), vec![], "{}", path.display());
        }
    }
}

#[test]
fn end_conditions() {
    let mut c = Config::default_demo();
    c.run.end_charge_mah_cm2 = None;
    c.validate().expect("max_steps alone is an end condition");
    c.run.end_time_s = Some(100.0);
    c.validate().expect("end time alone");
    c.run.max_steps = None;
    c.validate().expect("end time without a step cap");
    c.control.mode = ControlMode::Potentiostatic;
    c.run.end_time_s = None;
    c.run.end_charge_mah_cm2 = Some(0.1);
    c.validate()
        .expect("a charge end works in potentiostatic mode too");
    c.control.current_density_ma_cm2 = 0.0;
    c.validate()
        .expect("the target current is unused in potentiostatic mode");
}

#[test]
fn resolved_band_needs_two_cells() {
    let mut c = Config::default_demo();
    c.interphase.preset = Preset::Zeolite;
    c.validate().expect("5 µm band on 0.5 µm cells");
    c.interphase.thickness_um = Some(1.0);
    c.validate().expect("a band of exactly 2 cells");
    c.interphase.thickness_um = Some(0.99);
    let message = c.validate().expect_err("band under 2 cells").to_string();
    assert!(
        message.contains("`interphase.thickness_um` = 0.99 is outside the allowed range [1, 20)"),
        "{message}"
    );
    c.interphase.representation = Some(Representation::Subgrid);
    c.validate().expect("a thin sub-grid layer is fine");
}

/// The lab-frame rule ℓ_c ≥ 4.39 δ: its bound, and the layers it leaves alone (a lateral field,
/// a uniform layer), and the suggested δ meets it.
#[test]
fn lab_frame_patches_must_span_the_interface() {
    let mut c = Config::default_demo();
    c.interphase.preset = Preset::Passivating;
    c.validate().expect("the preset's 4.4 µm at δ = 1 µm");
    c.interphase.correlation_length_um = Some(4.39);
    c.validate().expect("ℓ_c = 4.39 δ exactly");
    c.interphase.correlation_length_um = Some(4.38);
    let message = c.validate().expect_err("ℓ_c < 4.39 δ").to_string();
    assert!(
        message.contains("= 4.38 is outside the allowed range [4.39, ∞)")
            && message.contains("lower interface.width_um to at most 0.997 "),
        "{message}"
    );
    c.interface.width_um = 0.997;
    c.grid.dx_um = 0.25;
    c.validate().expect("the suggested δ");
    c.interface.width_um = 1.0;
    c.interphase.attachment = Some(mgpf::config::Attachment::Lateral);
    c.validate()
        .expect("a lateral field is the same through the interface");
    c.interphase.attachment = None;
    c.interphase.heterogeneity_sigma_ln = Some(0.0);
    c.interphase.blocked_fraction = Some(0.0);
    c.validate().expect("a uniform layer has no patches");
}

#[test]
fn overrides_set_nested_keys_strings_numbers_and_arrays() {
    let c = load_with(
        MINIMAL,
        &[
            "grid.nx=256",
            "grid.dx_um = 0.25",
            "interface.width_um=0.5",
            "interphase.preset=bromine-rich",
            "interphase.attachment=\"lateral\"",
            "control.mode=potentiostatic",
            "control.applied_potential_v=-0.3",
            "initial.nucleus_radius_um=2",
            "initial.nucleus_positions_um=[10.0, 20.5]",
            "numerics.dt_s=1e-3",
            "run.seed=7",
        ],
    )
    .expect("overrides apply");
    assert_eq!(c.grid.nx, 256);
    assert_eq!(c.grid.dx_um, 0.25);
    assert_eq!(c.interface.width_um, 0.5);
    assert_eq!(c.interphase.preset, Preset::BromineRich);
    assert_eq!(
        c.interphase.attachment,
        Some(mgpf::config::Attachment::Lateral)
    );
    assert_eq!(c.control.mode, ControlMode::Potentiostatic);
    assert_eq!(c.control.applied_potential_v, -0.3);
    assert_eq!(c.initial.nucleus_radius_um, 2.0);
    assert_eq!(c.initial.nucleus_positions_um, vec![10.0, 20.5]);
    assert_eq!(c.numerics.dt_s, Some(1e-3));
    assert_eq!(c.run.seed, 7);

    // Later overrides win; an override replaces a value the file sets.
    let c = load_with(MINIMAL, &["grid.ny=64", "grid.ny=32"]).expect("overrides apply");
    assert_eq!(c.grid.ny, 32);

    // An override can switch the end condition when it also removes nothing: both given fails.
    let err = load_with(MINIMAL, &["run.end_time_s=10"]).expect_err("two end conditions");
    assert!(err.to_string().contains("are both given"), "{err}");
}

#[test]
fn apply_override_on_a_tree() {
    let mut tree = toml::Value::Table(toml::Table::new());
    for set in [
        "a.b.c=1",
        "a.b.d=true",
        "a.e=[1.0, 2.0]",
        "f=word-with-dash",
        "g='quoted'",
        "h=1.5e3",
    ] {
        apply_override(&mut tree, set).unwrap_or_else(|e| panic!("{set}: {e}"));
    }
    let expected: toml::Value = toml::from_str(
        "f = \"word-with-dash\"\ng = \"quoted\"\nh = 1.5e3\n[a]\ne = [1.0, 2.0]\n[a.b]\nc = 1\nd = true\n",
    )
    .expect("expected tree parses");
    assert_eq!(tree, expected);
}

#[test]
fn malformed_overrides_fail_clearly() {
    let cases = [
        (
            "grid.nx",
            "config error: `--set grid.nx` has no '=': write --set key.path=value",
        ),
        ("=3", "config error: `--set =3` has an empty key"),
        (" = 3", "has an empty key"),
        (
            "grid..nx=3",
            "has an invalid key segment \"\" in `grid..nx`",
        ),
        ("grid.n x=3", "has an invalid key segment \"n x\""),
        (
            "grid.nx=",
            "config error: `--set grid.nx=` has an empty value",
        ),
        (
            "grid.nx=[1,",
            "has a value `[1,` that is neither a TOML value nor a bare word: invalid array; expected `]`",
        ),
        (
            "grid.nx=1 2",
            "has a value `1 2` that is neither a TOML value nor a bare word",
        ),
        (
            "grid.nx.deep=3",
            "cannot be applied: `grid.nx` is a value, not a table",
        ),
    ];
    for (set, expected) in cases {
        let err = load_with(MINIMAL, &[set]).expect_err(set);
        assert!(matches!(err, Error::Config { .. }), "{set}: {err:?}");
        assert!(
            err.to_string().contains(expected),
            "{set}: {err}\ndoes not contain\n{expected}"
        );
    }
    let err = load_with(MINIMAL, &["grid.nxx=3"]).expect_err("unknown key via --set");
    let message = err.to_string();
    assert!(message.contains("(with --set grid.nxx=3)"), "{message}");
    assert!(
        message
            .contains("`grid.nxx`: unknown field `nxx`, expected one of `nx`, `ny`, `nz`, `dx_um`"),
        "{message}"
    );
}

#[test]
fn printed_config_parses_back_to_itself() {
    let mut configs: Vec<Config> = toml_files("configs")
        .iter()
        .map(|path| Config::from_path(path).expect("shipped config loads"))
        .collect();
    configs.push(Config::default_demo());
    let mut every_option = Config::default_demo();
    every_option.run.end_charge_mah_cm2 = None;
    every_option.run.end_time_s = Some(123.456);
    every_option.interface.mobility_m3_j_s = Some(2.5e-13);
    every_option.numerics.dt_s = Some(0.0125);
    every_option.initial.nucleus_radius_um = 1.5;
    every_option.initial.nucleus_positions_um = vec![0.1, 33.3, 63.9];
    every_option.interphase = toml::from_str(
        "preset = \"zeolite\"\nrepresentation = \"resolved\"\nthickness_um = 3.0\nasr_ohm_cm2 = 20.0\n\
         exchange_current_multiplier = 0.7\nblocked_fraction = 0.1\nheterogeneity_sigma_ln = 0.4\n\
         correlation_length_um = 4.5\nattachment = \"lab-frame\"\ndiffusivity_ratio = 0.2\n\
         conductivity_ratio = 1e-3\nrefresh_every_steps = 5\nkinetic_anisotropy_2fold = 0.3\n",
    )
    .expect("interphase table parses");
    every_option
        .validate()
        .expect("every-option config validates");
    configs.push(every_option);

    for config in configs {
        let text = config.to_toml_string();
        let back = Config::from_toml_str(&text, "printed")
            .unwrap_or_else(|e| panic!("printed config does not parse back: {e}\n{text}"));
        assert_eq!(back, config, "round trip changed the config:\n{text}");
    }
}

#[test]
fn printed_config_shows_the_resolved_interphase() {
    let mut c = Config::default_demo();
    c.interphase.preset = Preset::Passivating;
    c.interphase.blocked_fraction = Some(0.3);
    let text = c.to_toml_string();
    assert!(text.contains("preset = \"passivating\""), "{text}");
    assert!(
        text.contains("# [interphase] as resolved (preset \"passivating\""),
        "{text}"
    );
    assert!(text.contains("#   asr_ohm_cm2 = 10000.0"), "{text}");
    assert!(text.contains("#   blocked_fraction = 0.3"), "{text}");
    assert!(text.contains("\ndiffusivity_m2_s = 3e-10\n"), "{text}");
    assert!(text.contains("\npotential_tolerance_v = 1e-6\n"), "{text}");
    assert!(!text.contains("solver_tolerance"), "{text}");
}

/// xorshift64*: a tiny deterministic generator so the fuzz test needs no extra crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random variant of `seed`: byte flips, a truncation, line deletions or duplications,
/// swapped digits, or pure noise.
fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    match rng.below(6) {
        0 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(bytes.len());
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        1 => bytes.truncate(rng.below(bytes.len() + 1)),
        2 | 3 => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut lines: Vec<&str> = text.lines().collect();
            for _ in 0..=rng.below(4) {
                if lines.is_empty() {
                    break;
                }
                let i = rng.below(lines.len());
                if rng.below(2) == 0 {
                    lines.remove(i);
                } else {
                    lines.insert(rng.below(lines.len()), lines[i]);
                }
            }
            bytes = lines.join("\n").into_bytes();
        }
        4 => {
            const REPLACEMENTS: [&[u8]; 10] = [
                b"-",
                b"nan",
                b"inf",
                b"1e308",
                b"0",
                b"\"",
                b"[",
                b"]",
                b"=",
                b"99999999999999999999",
            ];
            for _ in 0..=rng.below(4) {
                let i = rng.below(bytes.len());
                let end = (i + rng.below(4)).min(bytes.len());
                let with = REPLACEMENTS[rng.below(REPLACEMENTS.len())];
                bytes.splice(i..end, with.iter().copied());
            }
        }
        _ => {
            let len = rng.below(200);
            bytes = (0..len).map(|_| rng.next() as u8).collect();
        }
    }
    bytes
}

#[test]
fn loader_never_panics_on_garbage() {
    let start = std::time::Instant::now();
    let mut seeds: Vec<Vec<u8>> = toml_files("configs")
        .iter()
        .chain(toml_files("tests/bad_configs").iter())
        .map(|path| std::fs::read(path).expect("read config"))
        .collect();
    seeds.push(MINIMAL.as_bytes().to_vec());
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..2000 {
        let seed = &seeds[rng.below(seeds.len())];
        let bytes = mutate(&mut rng, seed);
        let text = String::from_utf8_lossy(&bytes);
        let outcome = std::panic::catch_unwind(|| Config::from_toml_str(&text, "fuzz"));
        match outcome {
            Ok(Ok(config)) => {
                accepted += 1;
                // What validates must also print and parse back.
                let printed = config.to_toml_string();
                assert_eq!(
                    Config::from_toml_str(&printed, "fuzz-printed").ok(),
                    Some(config)
                );
            }
            Ok(Err(_)) => rejected += 1,
            Err(_) => panic!("case {case}: the loader panicked on\n{text}"),
        }
    }
    assert!(
        accepted > 0 && rejected > 0,
        "accepted {accepted}, rejected {rejected}"
    );
    assert!(
        start.elapsed().as_secs_f64() < 5.0,
        "fuzz took {:?}",
        start.elapsed()
    );
}
