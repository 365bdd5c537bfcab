//! What the 2D frames show (issue 15): the plating-rate panel keeps one scale for the whole run,
//! `run.frame_panels` picks the panels, and every panel has its colour bar and scale bar.

use mgpf::backend::Snapshot;
use mgpf::config::{Config, FramePanel, SurfaceColouring};
use mgpf::model::params::Params;
use mgpf::output::{render_frame, viridis, FrameLayout};
use mgpf::simulation::pictures::{planar_peak_rate_um_s, plating_rate_top_um_s, FrameContent};
use mgpf::simulation::RunOptions;

fn small_config() -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 24;
    cfg.grid.ny = 32;
    cfg.initial.deposit_height_um = 3.0;
    cfg
}

/// A snapshot of the config's grid with a flat deposit below row 6 and the plating rate `rate`
/// (1/s) in cell (i, j) = (10, 8) and `2 rate` in (10, 20): one frame's maximum is twice the
/// other's when `rate` doubles.
fn snapshot(p: &Params, rate: f32) -> Snapshot {
    let g = p.grid;
    let xi =
        ndarray::Array3::from_shape_fn((g.nx, g.ny, 1), |(i, _, _)| if i < 6 { 1.0 } else { 0.0 });
    let mut plating_rate = g.field(0.0);
    plating_rate[[10, 8, 0]] = rate;
    plating_rate[[10, 20, 0]] = 2.0 * rate;
    Snapshot {
        order_parameter: xi,
        concentration: g.field(1.0),
        potential: g.field(0.0),
        plating_rate,
        layer: g.field(0.0),
        blocked: g.field(0.0),
    }
}

#[test]
fn the_plating_rate_scale_is_the_same_in_every_frame_of_a_run() {
    let cfg = small_config();
    let p = Params::from_config(&cfg).unwrap();
    let top = plating_rate_top_um_s(&p);
    // The planar front's peak cell at the nominal current (0.5 mA/cm²: 3.6e-4 µm/s) is
    // 0.375 Δx/δ v; the top is a round value at or above four times that.
    let v = p.velocity_of_current(10.0 * cfg.control.current_density_ma_cm2);
    let peak = planar_peak_rate_um_s(&p, v);
    println!(
        "nominal speed {v:.4e} µm/s, planar peak cell {peak:.4e} µm/s, scale top {top:.4e} µm/s"
    );
    assert!((peak - 0.375 * 0.5 * v).abs() < 1e-12 * v);
    assert!(
        top >= 4.0 * peak && top <= 10.0 * peak + 1e-15,
        "{top} vs {peak}"
    );

    // Two frames of the run: the second's rates are twice the first's. The cell holding r in
    // frame 2 equals frame 1's 2r cell, so it must have frame 1's colour of that cell (a
    // per-frame renormalisation would paint both maxima at the top of viridis).
    let (blank, r) = (p.grid.field(0.0), (top / 4.0 / p.grid.dx) as f32);
    let frame = |snap: &Snapshot| {
        let content = FrameContent {
            cfg: &cfg,
            p: &p,
            snap,
            interphase: &blank,
            blocked: &blank,
            title: "none",
            time_s: 1.0,
            charge_mah_cm2: 0.01,
            overpotential_v: -0.1,
            rate_top_um_s: top,
        };
        render_frame(&content.section_view())
    };
    let (first, second) = (frame(&snapshot(&p, r)), frame(&snapshot(&p, 2.0 * r)));
    let lay = FrameLayout::new(p.grid.nx, p.grid.ny, "none", 1);
    let nx = p.grid.nx;
    let at = |img: &image::RgbImage, j| {
        let (x, y) = lay.panel_pixel(0, nx, 10, j);
        img.get_pixel(x, y).0
    };
    println!(
        "frame 1: r {:?}, 2r {:?}; frame 2: 2r {:?}, 4r {:?}",
        at(&first, 8),
        at(&first, 20),
        at(&second, 8),
        at(&second, 20)
    );
    // (r is an f32 of top/4: its colour is within a unit of viridis' per channel.)
    let near = |a: [u8; 3], b: [u8; 3]| (0..3).all(|k| a[k].abs_diff(b[k]) <= 1);
    assert!(near(at(&first, 8), viridis(0.25)));
    assert!(near(at(&first, 20), viridis(0.5)));
    assert_eq!(at(&second, 8), at(&first, 20));
    assert!(near(at(&second, 20), viridis(1.0)));
    assert!(
        !near(at(&second, 8), at(&second, 20)),
        "renormalised per frame"
    );
    // The colour bars, their ticks and unit are the same pixels in both frames.
    let bar = |img: &image::RgbImage| {
        image::imageops::crop_imm(
            img,
            lay.colorbar_x(0),
            lay.panels[0].1,
            lay.width - lay.colorbar_x(0),
            lay.panel_h + 30,
        )
        .to_image()
    };
    assert!(bar(&first) == bar(&second), "the colour bars differ");
}

#[test]
fn frame_panels_picks_the_panels_and_a_run_keeps_one_scale() {
    let mut cfg = small_config();
    cfg.run.frame_panels = vec![FramePanel::Concentration, FramePanel::Potential];
    cfg.run.max_steps = Some(40);
    cfg.run.end_charge_mah_cm2 = Some(10.0);
    cfg.run.frames = 3;
    let dir = tempfile::tempdir().unwrap();
    mgpf::cli::run(
        &cfg,
        mgpf::cli::BackendKind::Cpu,
        &RunOptions::new(dir.path()),
    )
    .unwrap();
    let lay = FrameLayout::new(cfg.grid.nx, cfg.grid.ny, "none", 2);
    let read = |k: u32| {
        image::open(dir.path().join(format!("frames/frame_{k:06}.png")))
            .unwrap()
            .to_rgb8()
    };
    let (a, b) = (read(0), read(1));
    assert_eq!(a.dimensions(), (lay.width, lay.height));
    // Panel 0 is c/c0 on 0–1.2: the bulk (c = c0) far above the deposit is viridis(1/1.2).
    let (x, y) = lay.panel_pixel(0, cfg.grid.nx, cfg.grid.nx - 1, 3);
    assert_eq!(a.get_pixel(x, y).0, viridis(1.0 / 1.2));
    // The concentration bar is on its fixed range in both frames.
    let bar = |img: &image::RgbImage| {
        image::imageops::crop_imm(img, lay.colorbar_x(0), lay.panels[0].1, 60, lay.panel_h)
            .to_image()
    };
    assert!(
        bar(&a) == bar(&b),
        "the c/c0 colour bar changed between frames"
    );

    // Bad panels are refused with the key named.
    let mut bad = small_config();
    bad.run.frame_panels = vec![FramePanel::Potential, FramePanel::Potential];
    let err = Params::from_config(&bad)
        .err()
        .map(|e| e.to_string())
        .or_else(|| bad.validate().err().map(|e| e.to_string()))
        .expect("a doubled panel is refused");
    assert!(err.contains("run.frame_panels"), "{err}");
}

/// A flat 3D deposit of height `h_um` on a 32 × 24 × 24 grid with the plating rate `rate` (1/s)
/// everywhere, and its config and parameters.
fn flat_3d(h_um: f64, rate: f32, colour: SurfaceColouring) -> (Config, Params, Snapshot) {
    let mut cfg = small_config();
    cfg.grid.nx = 32;
    cfg.grid.ny = 24;
    cfg.grid.nz = 24;
    cfg.run.surface_colour = colour;
    let p = Params::from_config(&cfg).unwrap();
    let g = p.grid;
    let xi = ndarray::Array3::from_shape_fn((g.nx, g.ny, g.nz), |(i, _, _)| {
        let x = (i as f64 + 0.5) * g.dx;
        (0.5 * (1.0 - ((x - h_um) / 2.0).tanh())) as f32
    });
    let snap = Snapshot {
        order_parameter: xi,
        concentration: g.field(1.0),
        potential: g.field(0.0),
        plating_rate: g.field(rate),
        layer: g.field(0.0),
        blocked: g.field(0.0),
    };
    (cfg, p, snap)
}

/// The 3D frame of `snap` and the pixel of its view at the projection of (x_um, Ly/2, Lz/2).
fn frame_3d_pixel(
    cfg: &Config,
    p: &Params,
    snap: &Snapshot,
    rate_top: f64,
    x_ums: &[f64],
) -> Vec<[u8; 3]> {
    let g = p.grid;
    let blank = g.field(0.0);
    let content = FrameContent {
        cfg,
        p,
        snap,
        interphase: &blank,
        blocked: &blank,
        title: "none",
        time_s: 1.0,
        charge_mah_cm2: 0.01,
        overpotential_v: -0.1,
        rate_top_um_s: rate_top,
    };
    let img = content.render();
    let section = render_frame(&content.section_view());
    assert!(
        img.width() > section.width() + 400,
        "{:?}",
        img.dimensions()
    );
    let (origin, camera) =
        mgpf::output::frame_3d_view(section.dimensions(), (g.nx, g.ny, g.nz), g.dx);
    let (ly, lz) = (g.ny as f64 * g.dx, g.nz as f64 * g.dx);
    x_ums
        .iter()
        .map(|&x| {
            let (px, py, _) = camera.project([x, ly / 2.0, lz / 2.0]);
            img.get_pixel(origin.0 + px as u32, origin.1 + py as u32).0
        })
        .collect()
}

/// `run.surface_colour = "plating_rate"`: a surface plating at the top of the run's scale is
/// yellow (viridis' top: green far above blue), where the height colour of a deposit a quarter
/// of the way up the box is blue-violet (blue above green).
#[test]
fn the_3d_surface_takes_the_plating_rate_colour_when_asked() {
    let top = 1e-3;
    let (cfg, p, snap) = flat_3d(4.0, (top / 0.5) as f32, SurfaceColouring::PlatingRate);
    let rate = frame_3d_pixel(&cfg, &p, &snap, top, &[4.0])[0];
    let (cfg, p, snap) = flat_3d(4.0, (top / 0.5) as f32, SurfaceColouring::Height);
    let height = frame_3d_pixel(&cfg, &p, &snap, top, &[4.0])[0];
    println!("plating-rate colour {rate:?}, height colour {height:?}");
    assert!(rate[1] > rate[2] + 60, "{rate:?}");
    assert!(height[2] > height[1], "{height:?}");
}

/// A 3D frame: the section frame on the left, the shaded surface right of it where
/// `frame_3d_view` says, the surface drawn where the deposit is: on a flat deposit of height h
/// the view's pixel at the projection of (h, Ly/2, Lz/2) is the lit surface (coloured, not the
/// white background or the grey cut faces), and the projection of a point high above it is
/// background.
#[test]
fn a_3d_frame_draws_the_flat_deposit_where_it_is() {
    let (cfg, p, snap) = flat_3d(4.0, 0.0, SurfaceColouring::Height);
    let lx = p.grid.nx as f64 * p.grid.dx;
    let px = frame_3d_pixel(&cfg, &p, &snap, 1e-3, &[4.0, 0.9 * lx]);
    let (surface, above) = (px[0], px[1]);
    println!("surface pixel {surface:?}, above it {above:?}");
    let grey = |c: [u8; 3]| c.iter().max().unwrap() - c.iter().min().unwrap() < 12;
    assert!(
        !grey(surface),
        "the surface is coloured by height: {surface:?}"
    );
    assert_eq!(above, [255, 255, 255], "background above the deposit");
}
