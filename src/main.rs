//! The `mgpf` command line.

use clap::{Parser, Subcommand};
use mgpf::cli::{self, run, BackendKind};
use mgpf::config::presets::Preset;
use mgpf::config::{Attachment, Config, Representation};
use mgpf::model::params::Params;
use mgpf::model::units::MAH_CM2_IN_C_M2;
use mgpf::simulation::memory::{self, MemoryNeed};
use mgpf::simulation::progress::PLAIN_LINE_INTERVAL;
use mgpf::simulation::{report, Interrupt, RunOptions, RunSummary, StopReason};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mgpf",
    version,
    about = "Phase-field simulation of Mg electrodeposition beneath interphase layers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a simulation from a TOML config, or continue one with --resume.
    Run {
        /// The config file (see configs/). With --resume it may be left out (the run's own is
        /// used); given, it must be the one the run was started with.
        #[arg(required_unless_present = "resume")]
        config: Option<PathBuf>,
        /// Continue the run in DIR from its last checkpoint, appending to its metrics and
        /// frames.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "force"])]
        resume: Option<PathBuf>,
        /// Output directory (default: outputs/<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a config key by its dotted path, e.g. --set grid.nx=256 (repeatable). With
        /// --resume only run.max_steps, run.checkpoint_every_steps and
        /// run.checkpoint_every_minutes, e.g. --set run.max_steps=100000 to continue a run the
        /// cap stopped.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Backend that runs the model.
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        /// Write into a non-empty output directory: first removes what an earlier run wrote
        /// there (metrics.csv, run.json, checkpoint.bin, frames, growth.gif, voltage.png,
        /// final.vti), and nothing else.
        #[arg(long)]
        force: bool,
    },
    /// Print the resolved config, derived dimensionless groups, stable time step and memory.
    Check {
        config: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// List the interphase presets.
    Presets,
    /// List the reviewed electrolyte/interphase systems of configs/systems/: what each reports,
    /// at which current, and which keys were fitted to it.
    Systems,
    /// Fit config keys to reported figures of the config's [cycling] schedule (plating and
    /// stripping overpotential, CE) in planar runs on the CPU (8 lateral cells, no noise, the
    /// last cycle's figures); prints the fit and writes the calibrated config.
    Calibrate {
        config: PathBuf,
        /// A key to fit, by its dotted path (repeatable), e.g. --fit interphase.asr_ohm_cm2.
        #[arg(long = "fit", value_name = "KEY", required = true)]
        fit: Vec<String>,
        /// A reported figure (repeatable): plating_overpotential_v=V, stripping_overpotential_v=V
        /// or ce=FRACTION.
        #[arg(long = "target", value_name = "KEY=VALUE", required = true)]
        target: Vec<String>,
        /// Override a config key first, as `mgpf run --set` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Where to write the calibrated config (default: outputs/<config name>.calibrated.toml).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the GPU adapters wgpu finds: name, backend, device type, driver and the limits that
    /// bound mgpf's grids.
    Info,
    /// Run a config over a grid of values of some of its keys (and seeds): one run per point in
    /// DIR/points/<index>/, then sweep.csv, ensemble.csv, map.png and montage.png/.gif in DIR.
    /// Re-running it skips finished points and resumes interrupted ones.
    Sweep {
        /// The base config (see configs/); not with --collect.
        #[arg(required_unless_present = "collect")]
        config: Option<PathBuf>,
        /// A varied key: KEY=SPEC with SPEC a list (0.1,0.5,2), a linear range
        /// (lin:0.1..2:5) or a log range (log:1e-3..1:7) (repeatable: the full grid of points).
        #[arg(
            long = "vary",
            value_name = "KEY=SPEC",
            required_unless_present = "collect"
        )]
        vary: Vec<String>,
        /// Pair the values of the --vary keys (equal counts) instead of their full grid.
        #[arg(long)]
        zip: bool,
        /// Run every point with N seeds (run.seed, run.seed + 1, ...): an ensemble per point.
        #[arg(long, value_name = "N")]
        seeds: Option<u32>,
        /// Override a config key for every point, as `mgpf run --set` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The study's directory (default: outputs/sweep-<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        /// Points run at once: on the CPU the cores are split between them; on the GPU they
        /// are one ensemble, their batches of steps submitted together.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// The sweep.csv metric the map shows.
        #[arg(long, default_value = mgpf::study::table::DEFAULT_METRIC)]
        metric: String,
        /// Only write the points, one `mgpf run` line per point (commands.txt, for GNU
        /// parallel) and a SLURM job-array script (slurm.sh); run nothing.
        #[arg(long, conflicts_with = "collect")]
        plan: bool,
        /// Only build sweep.csv, ensemble.csv, the map and the montage from the points that
        /// have finished in DIR, wherever they ran.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "vary", "zip", "seeds", "set", "out", "jobs"])]
        collect: Option<PathBuf>,
    },
    /// Benchmark this machine: each preset (with and without its heterogeneity) at each grid
    /// size, the demo's physics, a few warm-up steps then N timed steps; prints the whole step's
    /// M cell-steps/s, the split of its time into phases and a copy's GB/s on the same backend,
    /// and writes bench.csv and bench.json.
    Bench {
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        /// Grid sizes, comma-separated: N (N × N), NXxNY, Nc (an N × N × N cube) or NXxNYxNZ
        /// [default: 128,256; with --full 128,256,512,1024,32c,64c].
        #[arg(long, value_name = "SIZES")]
        sizes: Option<String>,
        /// Presets, comma-separated (none, passivating, bromine-rich, zeolite, bi-alloy); each
        /// one with heterogeneity also runs uniform (σ_ln = 0, no blocked patches) [default:
        /// every preset].
        #[arg(long, value_name = "PRESETS")]
        presets: Option<String>,
        /// Timed steps per case [default: 50 after 5 warm-up steps; with --full 100 after 10].
        #[arg(long, value_name = "N")]
        steps: Option<u64>,
        /// The long bench: larger 2D grids, 3D cubes and more steps (a few minutes on a 2-core
        /// laptop's CPU).
        #[arg(long)]
        full: bool,
        /// Where bench.csv and bench.json are written (created if missing; the two files are
        /// replaced, nothing else is touched).
        #[arg(long, value_name = "DIR", default_value = "outputs/bench")]
        out: PathBuf,
    },
    /// Run the five presets at one current to one charge and compare them side by side.
    Demo {
        /// 2: the five presets in 2D on the built-in defaults; 3: in 3D on configs/3d/<preset>.toml
        /// (rendered 3D frames; a few minutes on 2 cores).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
        dim: u8,
        /// Output directory [default: outputs/demo, or outputs/demo-3d with --dim 3].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        /// Write into a non-empty output directory: first removes what an earlier demo wrote
        /// there (the preset folders' run outputs, compare.gif, compare.png, voltage.png), and
        /// nothing else.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    // Mesa's Vulkan device-select layer, loaded when wgpu creates its instance, prints
    // "error: XDG_RUNTIME_DIR is invalid or not set in the environment." twice where that
    // variable is unset (a batch job, a container, sudo) and goes on: it is no error of
    // ours, and wgpu picks the adapter itself. NODEVICE_SELECT=1 leaves the layer out. Set here,
    // before any thread exists, and only where the user has not chosen.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(mgpf::Error::Interrupted { signal, dir }) => {
            eprintln!(
                "interrupted by signal {signal}: checkpoint written in {dir}; continue with `mgpf run --resume {dir}`"
            );
            ExitCode::from(128 + signal as u8)
        }
        Err(e @ mgpf::Error::StudyInterrupted { signal, .. }) => {
            eprintln!("{e}");
            ExitCode::from(128 + signal as u8)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// A config file's name without its extension (what the default output paths are named
/// after), or `fallback` where the path has none.
fn stem_of(config: &Path, fallback: &str) -> String {
    config
        .file_stem()
        .map_or_else(|| fallback.into(), |s| s.to_string_lossy().into_owned())
}

fn execute(command: Command) -> mgpf::Result<()> {
    match command {
        Command::Run {
            config,
            resume,
            out,
            set,
            backend,
            force,
        } => {
            // A resumed run takes its CONFIG as it is and --set as the overrides it allows.
            let fresh_overrides = if resume.is_some() { &[][..] } else { &set[..] };
            let cfg = config
                .as_ref()
                .map(|c| Config::load(c, fresh_overrides))
                .transpose()?;
            cfg.iter().for_each(warn_inert_keys);
            let out_dir = match (&resume, out, &config) {
                (Some(dir), _, _) => dir.clone(),
                (None, Some(out), _) => out,
                (None, None, Some(config)) => PathBuf::from("outputs").join(stem_of(config, "run")),
                (None, None, None) => unreachable!("clap requires CONFIG without --resume"),
            };
            let opts = RunOptions {
                force,
                progress: Some(progress_interval()),
                interrupt: Some(Interrupt::install()?),
                ..RunOptions::new(&out_dir)
            };
            let s = match (resume, cfg) {
                (Some(_), cfg) => cli::resume(cfg.as_ref(), &set, backend, &opts)?,
                (None, Some(cfg)) => run(&cfg, backend, &opts)?,
                (None, None) => unreachable!("clap requires CONFIG without --resume"),
            };
            println!("{}", run_summary_line(&out_dir, &s));
            Ok(())
        }
        Command::Check { config, set } => {
            let cfg = Config::load(&config, &set)?;
            warn_inert_keys(&cfg);
            let params = Params::from_config(&cfg)?;
            println!("# resolved config\n{}", cfg.to_toml_string());
            println!("{}", interphase_table(&cfg, &params));
            print!("{}", report::describe(&params));
            if let Some(line) = report::describe_growth(&params, cfg.run.end_charge_mah_cm2) {
                print!("{line}");
            }
            report::check_time_step(&params)?;
            if let Some(c) = mgpf::model::coupling::planar_coupling(&params, &cfg.initial) {
                println!(
                    "potentiostatic coupling at the start (planar, c = c0): {:.4} mA/cm², Ohmic drop {:.4} V over {:.1} µm, kinetic overpotential {:.4} V, R·∂i/∂E = {:.2} ({})",
                    0.1 * c.current_a_m2,
                    c.current_a_m2 * c.resistance_ohm_m2,
                    c.gap_um,
                    c.kinetic_overpotential_v,
                    c.coupling_number,
                    if params.implicit_coupling {
                        "implicit coupling"
                    } else {
                        "explicit coupling: needs < 1"
                    }
                );
            }
            report::check_potential_coupling(&params, &cfg.initial)?;
            let available = memory::available();
            println!(
                "memory (CPU backend) with run.frames = {}: {} needed, {} available",
                cfg.run.frames,
                memory::bytes(MemoryNeed::of(&params).total(cfg.run.frames)),
                available.map_or("unknown (not checked)".into(), memory::bytes)
            );
            memory::check(&params, cfg.run.frames, available)?;
            println!("config OK");
            Ok(())
        }
        Command::Sweep {
            config,
            vary,
            zip,
            seeds,
            set,
            out,
            backend,
            jobs,
            metric,
            plan,
            collect,
        } => {
            use mgpf::cli::sweep;
            use mgpf::study::points::Study;
            if let Some(dir) = collect {
                let study = Study::read(&dir)?;
                let rows = sweep::collect(&dir, &study, &metric)?;
                print!("{}", sweep::format_summary(&study, &rows, &metric));
                println!(
                    "outputs in {} (sweep.csv, ensemble.csv, map.png, montage.png, montage.gif)",
                    dir.display()
                );
                return Ok(());
            }
            let config = config.expect("clap requires CONFIG without --collect");
            let varies = vary
                .iter()
                .map(|v| mgpf::study::spec::parse_vary(v))
                .collect::<mgpf::Result<Vec<_>>>()?;
            let study = Study::new(&config, set, varies, zip, seeds)?;
            let out = out.unwrap_or_else(|| {
                PathBuf::from("outputs").join(format!("sweep-{}", stem_of(&config, "config")))
            });
            let opts = sweep::SweepOptions {
                backend,
                jobs,
                metric: metric.clone(),
                interrupt: Some(Interrupt::install()?),
                ..sweep::SweepOptions::new(&out)
            };
            if plan {
                sweep::plan(&study, &opts)?;
                println!(
                    "{} points written in {}: run them with `parallel < {}` or `sbatch {}`, then `mgpf sweep --collect {}`",
                    study.points.len(),
                    out.display(),
                    out.join(mgpf::study::plan::COMMANDS_FILE).display(),
                    out.join(mgpf::study::plan::SLURM_FILE).display(),
                    out.display()
                );
                return Ok(());
            }
            let report = sweep::sweep(&study, &opts)?;
            print!("{}", sweep::format_summary(&study, &report.rows, &metric));
            println!(
                "{} points run, {} already finished; outputs in {} (sweep.csv, ensemble.csv, map.png, montage.png, montage.gif, points/)",
                report.ran,
                report.skipped,
                out.display()
            );
            Ok(())
        }
        Command::Presets => {
            for p in Preset::ALL {
                println!("{:<13} {}", p.name(), p.summary());
            }
            Ok(())
        }
        Command::Calibrate {
            config,
            fit,
            target,
            set,
            out,
        } => {
            use mgpf::cli::calibrate;
            let targets: Vec<calibrate::Target> = target
                .iter()
                .map(|t| calibrate::Target::parse(t))
                .collect::<mgpf::Result<_>>()?;
            let c = calibrate::calibrate(&config, &set, &fit, &targets)?;
            print!("{}", c.report());
            let out = out.unwrap_or_else(|| {
                let stem = stem_of(&config, "config");
                PathBuf::from("outputs").join(format!("{stem}.calibrated.toml"))
            });
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| mgpf::Error::io(dir, e))?;
            }
            let text = calibrate::calibrated_toml(&config, &set, &c)?;
            mgpf::output::write_atomic(&out, text.as_bytes())?;
            println!("calibrated config: {}", out.display());
            Ok(())
        }
        Command::Systems => {
            for (stem, cfg) in mgpf::config::systems::systems()? {
                println!("{}", mgpf::config::systems::describe(stem, &cfg));
            }
            println!(
                "(configs/systems/<name>.toml; `mgpf run` any of them, `mgpf calibrate` to refit)"
            );
            Ok(())
        }
        Command::Info => {
            let adapters = mgpf::backend::gpu::adapters();
            if adapters.is_empty() {
                println!("no GPU adapter found (runs use the CPU backend; on Linux a Vulkan driver such as mesa-vulkan-drivers gives a software one)");
            }
            for (n, a) in adapters.iter().enumerate() {
                println!("adapter {n}: {}", a.describe());
            }
            println!("cpu: rayon, {} threads", rayon::current_num_threads());
            Ok(())
        }
        Command::Bench {
            backend,
            sizes,
            presets,
            steps,
            full,
            out,
        } => {
            use mgpf::cli::bench;
            let opts = bench::BenchOptions::from_args(
                backend,
                sizes.as_deref(),
                presets.as_deref(),
                steps,
                full,
                out,
            )?;
            bench::bench(&opts, &mut |line| println!("{line}"))?;
            Ok(())
        }
        Command::Demo {
            dim,
            out,
            backend,
            force,
        } => {
            let out = out.unwrap_or_else(|| match dim {
                3 => "outputs/demo-3d".into(),
                _ => "outputs/demo".into(),
            });
            let spec = mgpf::cli::demo::DemoSpec {
                dim,
                reduced: false,
            };
            let progress = Some(progress_interval());
            let rows = mgpf::cli::demo::run_demo(spec, &out, backend, force, progress)?;
            print!("{}", mgpf::cli::demo::format_table(&rows));
            println!("{}", mgpf::cli::demo::realisation_note(dim));
            println!(
                "outputs in {} (compare.gif, compare.png, voltage.png, <preset>/)",
                out.display()
            );
            Ok(())
        }
    }
}

/// One warning line per key the config sets that cannot take effect in it.
fn warn_inert_keys(cfg: &Config) {
    for inert in cfg.inert_keys() {
        eprintln!("warning: {inert}");
    }
}

/// Time between the plain progress lines; `MGPF_PROGRESS_INTERVAL_S` shortens it for tests.
fn progress_interval() -> std::time::Duration {
    std::env::var("MGPF_PROGRESS_INTERVAL_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(PLAIN_LINE_INTERVAL, std::time::Duration::from_secs_f64)
}

/// What `mgpf run` prints when it ends: the final state, and η's mean over the second half.
fn run_summary_line(out_dir: &Path, s: &RunSummary) -> String {
    let last = s.last();
    let steps = if s.first_step > 0 {
        format!(
            "{} steps ({} after resuming at step {}) in {:.1} s",
            s.steps,
            s.steps - s.first_step,
            s.first_step,
            s.wall_s
        )
    } else {
        format!("{} steps in {:.1} s", s.steps, s.wall_s)
    };
    let stop = match s.stopped_by {
        StopReason::EndCondition => "",
        StopReason::MaxSteps => ", stopped by run.max_steps",
    };
    let mean = if let Some(c) = s.cycles.last() {
        let ce: Vec<String> = s
            .cycles
            .iter()
            .map(|r| format!("{:.2} %", 100.0 * r.ce))
            .collect();
        format!(
            "{} cycles (cycles.csv), Coulombic efficiency {}; dead Mg after the last {:.3e} mol/m² ({:.2} % of the Mg plated)",
            s.cycles.len(),
            ce.join(", "),
            c.dead_mg_mol_m2,
            100.0 * c.dead_fraction
        )
    } else {
        s.mean_overpotential_second_half_v.map_or_else(
            || format!("the 2nd half of the {} not reached", s.second_half_of),
            |v| {
                format!(
                    "mean η over the 2nd half of the {} (charge-weighted) {v:.4} V",
                    s.second_half_of
                )
            },
        )
    };
    format!(
        "{}: {steps} on {}{stop}; final: charge {:.4} mAh/cm², mean height {:.3} µm, roughness {:.3} µm, η {:.4} V; {mean}",
        out_dir.display(),
        s.backend,
        last.charge_c_m2 / MAH_CM2_IN_C_M2,
        last.front.mean_height,
        last.front.roughness,
        last.overpotential_v,
    )
}

/// The resolved interphase for `mgpf check`: each `[interphase]` key, its value in the config's
/// units and what it does in this run.
fn interphase_table(cfg: &Config, params: &Params) -> String {
    let s = cfg.interphase.resolve();
    let resolved = s.representation == Representation::Resolved;
    let band_only = if resolved { "" } else { "; unused (subgrid)" };
    let (attachment, attachment_meaning) = match s.attachment {
        Attachment::LabFrame => ("lab-frame", "G(x, y): a re-forming layer"),
        Attachment::Lateral => ("lateral", "G(y): a lifted coating"),
    };
    let rows = [
        (
            "representation",
            match s.representation {
                Representation::Subgrid => "subgrid",
                Representation::Resolved => "resolved",
            }
            .to_string(),
            if resolved {
                "R2: a band with its own D and σ above the metal".to_string()
            } else {
                "R1: ASR, blocking and i0 multiplier in the Butler–Volmer term".to_string()
            },
        ),
        (
            "thickness_um",
            format!("{} µm", s.thickness_um),
            "layer thickness L_SEI".to_string(),
        ),
        (
            "asr_ohm_cm2",
            format!("{} Ω cm²", s.asr_ohm_cm2),
            if resolved {
                "area-specific resistance: sets the band's default σ".to_string()
            } else {
                "area-specific resistance, mean of the log-normal field".to_string()
            },
        ),
        (
            "exchange_current_multiplier",
            format!("{}", s.exchange_current_multiplier),
            format!(
                "m_i0: i0 = {} mA/cm² × m_i0 = {} mA/cm²",
                cfg.exchange_current_ma_cm2(),
                cfg.exchange_current_ma_cm2() * s.exchange_current_multiplier
            ),
        ),
        (
            "blocked_fraction",
            format!("{}", s.blocked_fraction),
            "P_b, surface fraction on insulating patches".to_string(),
        ),
        (
            "heterogeneity_sigma_ln",
            format!("{}", s.heterogeneity_sigma_ln),
            "σ_ln of the log-normal heterogeneity".to_string(),
        ),
        (
            "correlation_length_um",
            format!("{} µm", s.correlation_length_um),
            match s.attachment {
                mgpf::config::Attachment::LabFrame => format!(
                    "correlation length ℓ_c of the heterogeneity; a heterogeneous lab-frame \
                     layer needs ≥ 4.39 δ = {:.3} µm (docs/model.md, \"How the interface samples \
                     the layer\")",
                    mgpf::config::validate::LAB_FRAME_MIN_CORRELATION_PER_DELTA
                        * cfg.interface.width_um
                ),
                mgpf::config::Attachment::Lateral => {
                    "correlation length ℓ_c of the heterogeneity (lateral: any length)".to_string()
                }
            },
        ),
        (
            "attachment",
            attachment.to_string(),
            attachment_meaning.to_string(),
        ),
        (
            "diffusivity_ratio",
            format!("{}", s.diffusivity_ratio),
            format!("D in the band / D_l{band_only}"),
        ),
        match s.conductivity_ratio {
            Some(ratio) => (
                "conductivity_ratio",
                format!("{ratio}"),
                format!("σ in the band / σ_l{band_only}"),
            ),
            None => (
                "conductivity_ratio",
                format!("{:.4e}", params.interphase.conductivity_ratio),
                format!("σ in the band / σ_l, by default L_SEI/(ASR σ_l){band_only}"),
            ),
        },
        (
            "refresh_every_steps",
            format!("{}", s.refresh_every_steps),
            format!("steps between two refreshes of the band{band_only}"),
        ),
        (
            "kinetic_anisotropy_2fold",
            format!("{}", params.kinetic_2fold),
            match s.kinetic_anisotropy_2fold {
                Some(_) => "ε_k2, replaces interface.kinetic_anisotropy_2fold".to_string(),
                None => {
                    "ε_k2 of interface.kinetic_anisotropy_2fold (the preset sets none)".to_string()
                }
            },
        ),
    ];
    let mut text = format!(
        "# resolved interphase: preset \"{}\" with the [interphase] keys given laid over it\n",
        s.preset.name()
    );
    for (key, value, meaning) in rows {
        text.push_str(&format!("  {key:<28} {value:<12} {meaning}\n"));
    }
    text
}
