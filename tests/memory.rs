//! The host-memory check: the estimate against the peak a CPU run really allocates (a counting
//! global allocator, this test binary only), and the refusal that names the bytes needed, the
//! bytes available and the largest grid that fits, before the output directory is created.

use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;
use mgpf::simulation::memory::{self, MemoryNeed};
use mgpf::simulation::RunOptions;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The system allocator, counting the bytes allocated now and their peak.
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = NOW.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        NOW.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests measure one run at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The peak bytes allocated by `f` above what was allocated before it.
fn peak_of(f: impl FnOnce()) -> usize {
    let before = NOW.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - before
}

fn config(nx: usize, ny: usize, preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    (cfg.grid.nx, cfg.grid.ny) = (nx, ny);
    cfg.interphase.preset = preset;
    cfg.initial.deposit_height_um = nx as f64 * cfg.grid.dx_um / 4.0;
    // ~10 steps to the end charge, so that all 3 frames are drawn (and kept).
    cfg.run.end_charge_mah_cm2 = Some(0.005);
    cfg.run.max_steps = Some(40);
    cfg.run.frames = 3;
    cfg.run.checkpoint_every_steps = 5;
    cfg
}

#[test]
fn the_estimate_covers_the_peak_of_a_cpu_run_within_a_fifth() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    // 512 rows: frames at scale 1, so the fields dominate; 64 rows: frames scaled up 7×.
    let cases = [
        (512, 256, Preset::None),
        (512, 256, Preset::Zeolite),
        (64, 128, Preset::Passivating),
    ];
    for (nx, ny, preset) in cases {
        let cfg = config(nx, ny, preset);
        let p = Params::from_config(&cfg).unwrap();
        let need = MemoryNeed::of(&p);
        let expected = need.total(cfg.run.frames);
        let dir = tempfile::tempdir().unwrap();
        let got = peak_of(|| {
            run(&cfg, &RunOptions::new(dir.path())).expect("run");
        }) as u64;
        let ratio = expected as f64 / got as f64;
        println!(
            "{nx} x {ny} {}: estimated {} ({need:?}), allocated at peak {}, ratio {ratio:.3} \
             (allowed 1 to 1.2)",
            preset.name(),
            memory::bytes(expected),
            memory::bytes(got)
        );
        assert!(
            (1.0..=1.2).contains(&ratio),
            "the estimate must cover the peak, and by at most a fifth"
        );
    }
}

#[test]
fn a_grid_beyond_the_memory_available_is_refused_with_both_figures_and_one_that_fits() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let cfg = config(2048, 4096, Preset::None);
    let p = Params::from_config(&cfg).unwrap();
    let frames = cfg.run.frames;
    let needed = MemoryNeed::of(&p).total(frames);
    memory::check(&p, frames, None).expect("no figure for the memory available: no check");
    memory::check(&p, frames, Some(needed)).expect("exactly enough");
    let available = needed / 5;
    let msg = memory::check(&p, frames, Some(available))
        .expect_err("a fifth of the need")
        .to_string();
    println!("{msg}");
    assert!(
        msg.starts_with(&format!(
            "config error: `grid.nx × grid.ny` = 2048 × 4096 needs {} of memory",
            memory::bytes(needed)
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("but {} is available", memory::bytes(available))),
        "{msg}"
    );
    // The grids it proposes fit, and the next larger ones do not.
    let number_after = |key: &str| -> Vec<usize> {
        let rest = &msg[msg.find(key).unwrap() + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .take(2)
            .map(|s| s.parse().unwrap())
            .collect()
    };
    let aspect = number_after("the largest grid that fits is ");
    let widest = number_after("at the same aspect, or ");
    println!("proposed: {aspect:?} at the same aspect, {widest:?} at this grid.nx");
    let total = |nx: usize, ny: usize| {
        MemoryNeed::of_grid(mgpf::grid::Grid::new(nx, ny, 0.5), false, "none", 1).total(frames)
    };
    assert_eq!(aspect[1], 2 * aspect[0]);
    assert!(total(aspect[0], aspect[1]) <= available);
    assert!(total(aspect[0] + 2, aspect[1] + 4) > available);
    assert_eq!(widest[0], 2048);
    assert!(total(2048, widest[1]) <= available);
    assert!(total(2048, widest[1] + 2) > available);
}

#[test]
fn run_refuses_a_grid_beyond_the_memory_available_before_creating_its_directory() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let cfg = config(16384, 16384, Preset::None);
    let p = Params::from_config(&cfg).unwrap();
    let needed = MemoryNeed::of(&p).total(cfg.run.frames);
    match memory::available() {
        Some(available) if available < needed => {}
        other => {
            println!("skipped: {other:?} bytes available here, {needed} needed");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let msg = run(&cfg, &RunOptions::new(&out))
        .expect_err("refused")
        .to_string();
    println!("{msg}");
    assert!(msg.contains(&format!("needs {} of memory", memory::bytes(needed))));
    assert!(msg.contains("is available"), "{msg}");
    assert!(!out.exists(), "a refused run created its output directory");

    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(["check", "configs/none.toml", "--set", "grid.nx=16384"])
        .args([
            "--set",
            "grid.ny=16384",
            "--set",
            "initial.deposit_height_um=4",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    println!(
        "mgpf check: {}\n{stderr}",
        stdout.lines().last().unwrap_or("")
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout.contains("needed,") && stdout.contains("available"),
        "{stdout}"
    );
    assert!(!stdout.contains("config OK"));
    assert!(stderr.contains("the largest grid that fits is"), "{stderr}");
}

/// A run on the CPU backend.
fn run(
    cfg: &mgpf::config::Config,
    opts: &RunOptions,
) -> mgpf::Result<mgpf::simulation::RunSummary> {
    mgpf::cli::run(cfg, mgpf::cli::BackendKind::Cpu, opts)
}
