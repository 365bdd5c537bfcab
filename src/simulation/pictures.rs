//! What a frame shows of a snapshot: the x–y section (the mid-plane in 3D) with the panels
//! `run.frame_panels` asks for, each on its colour range.

use crate::backend::Snapshot;
use crate::config::{Config, FramePanel, SurfaceColouring};
use crate::grid::{Field, Real};
use crate::model::kinetics::{bv_through_resistance, BvConstants};
use crate::model::params::{Control, Params};
use crate::output::{nice_step, ColourPanel, Frame3dView, FrameView, SurfaceColour, SurfaceView};
use crate::output::{render_frame, render_frame_3d, render_morphology_card, render_surface_card};
use image::RgbImage;

/// Width (px) within which a 2D comparison card draws the morphology: five side by side make a
/// picture about 2000 px wide, its text readable at page width.
const CARD_PANEL_W: u32 = 400;
/// Width (px) of a 3D comparison card's view.
const CARD_VIEW_W: u32 = 440;

/// Colour range of the concentration panel: c/c0 from 0 (the metal) to 1.2.
pub const CONCENTRATION_RANGE: (f64, f64) = (0.0, 1.2);

/// Peak of Δx·∂ξ/∂t (µm/s) over a planar front moving at `v` µm/s: the Butler–Volmer rate is
/// L_η B h'(ξ) and the tanh profile ξ' = ξ(1−ξ)/δ gives ∫h' dn = 5δ, max h' = 30/16, so the
/// peak cell carries (30/16)/(5δ) Δx v = 0.375 (Δx/δ) v.
pub fn planar_peak_rate_um_s(p: &Params, v_um_s: f64) -> f64 {
    0.375 * p.grid.dx / p.delta * v_um_s
}

/// The top of the plating-rate panel's colour range for the whole run (µm/s): a round value at
/// or above four times the planar front's peak cell at the nominal current (the galvanostatic
/// target, or under potentiostatic control the planar current at the applied potential through
/// the layer's resistance), so tips plating several times faster than a flat deposit stay on
/// the scale and every frame of the run is coloured alike.
pub fn plating_rate_top_um_s(p: &Params) -> f64 {
    let current_a_m2 = match p.control {
        Control::Galvanostatic {
            current_density_a_m2,
        } => current_density_a_m2,
        Control::Potentiostatic {
            applied_potential_v,
        } => {
            let ip = &p.interphase;
            let i_scale = ip.exchange_current_multiplier * p.i0_a_m2;
            let k = BvConstants {
                f: p.f as Real,
                alpha: p.alpha as Real,
            };
            let asr = ip.asr_ohm_m2 as Real;
            let (b, _) =
                bv_through_resistance(k, applied_potential_v as Real, 1.0, asr, i_scale as Real);
            (1.0 - ip.blocked_fraction) * i_scale * (b as f64).abs()
        }
    };
    let peak = 4.0 * planar_peak_rate_um_s(p, p.velocity_of_current(current_a_m2.abs()));
    nice_step(peak)
}

/// The fields of a frame's section and the numbers it is stamped with.
pub struct FrameContent<'a> {
    pub cfg: &'a Config,
    pub p: &'a Params,
    pub snap: &'a Snapshot,
    pub interphase: &'a Field,
    pub blocked: &'a Field,
    pub title: &'a str,
    pub time_s: f64,
    pub charge_mah_cm2: f64,
    pub overpotential_v: f64,
    /// [`plating_rate_top_um_s`] of the run.
    pub rate_top_um_s: f64,
}

impl FrameContent<'_> {
    /// The picture of the frame: the section alone in 2D; in 3D the section and the shaded
    /// deposit surface beside it.
    pub fn render(&self) -> RgbImage {
        match self.p.grid.dimension() {
            3 => render_frame_3d(&Frame3dView {
                surface: self.surface_view(),
                section: self.section_view(),
            }),
            _ => render_frame(&self.section_view()),
        }
    }

    /// The frame's card for side-by-side comparisons: the section's morphology in 2D, the
    /// deposit surface in 3D, each in large type.
    pub fn card(&self) -> RgbImage {
        match self.p.grid.dimension() {
            3 => render_surface_card(
                &self.surface_view(),
                self.title,
                self.overpotential_v,
                CARD_VIEW_W,
            ),
            _ => render_morphology_card(&self.section_view(), CARD_PANEL_W),
        }
    }

    /// The deposit surface of a 3D snapshot, coloured as `run.surface_colour` says: by height
    /// over the whole box (0 to nx Δx: one scale for every frame and every run on the grid), or
    /// by the plating rate Δx·∂ξ/∂t on the plating-rate panel's scale (fixed for the run).
    pub fn surface_view(&self) -> SurfaceView<'_> {
        let g = &self.p.grid;
        let colour = match self.cfg.run.surface_colour {
            SurfaceColouring::Height => SurfaceColour::Height,
            SurfaceColouring::PlatingRate => SurfaceColour::Field {
                values: self.snap.plating_rate.view(),
                factor: g.dx,
                range: (0.0, self.rate_top_um_s),
            },
        };
        SurfaceView {
            order_parameter: self.snap.order_parameter.view(),
            interphase: self.interphase.view(),
            blocked: Some(self.blocked.view()),
            dx_um: g.dx,
            colour,
            height_range_um: (0.0, g.nx as f64 * g.dx),
        }
    }

    /// The frame of the x–y section (the mid-plane k = nz/2 in 3D).
    pub fn section_view(&self) -> FrameView<'_> {
        let g = &self.p.grid;
        let panels = self
            .cfg
            .run
            .frame_panels
            .iter()
            .map(|&panel| self.colour_panel(panel))
            .collect();
        FrameView {
            order_parameter: g.mid_section(&self.snap.order_parameter),
            interphase: g.mid_section(self.interphase),
            blocked: Some(g.mid_section(self.blocked)),
            panels,
            dx_um: g.dx,
            title: self.title,
            time_s: self.time_s,
            charge_mah_cm2: self.charge_mah_cm2,
            overpotential_v: self.overpotential_v,
        }
    }

    fn colour_panel(&self, panel: FramePanel) -> ColourPanel<'_> {
        let g = &self.p.grid;
        match panel {
            FramePanel::PlatingRate => ColourPanel {
                field: g.mid_section(&self.snap.plating_rate),
                label: "plating rate Δx·∂ξ/∂t, Butler–Volmer part".into(),
                unit: "µm/s",
                factor: g.dx,
                range: (0.0, self.rate_top_um_s),
            },
            FramePanel::Concentration => ColourPanel {
                field: g.mid_section(&self.snap.concentration),
                label: "concentration".into(),
                unit: "c/c₀",
                factor: 1.0,
                range: CONCENTRATION_RANGE,
            },
            FramePanel::Potential => {
                let phi = g.mid_section(&self.snap.potential);
                let (lo, hi) = phi
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v as f64), hi.max(v as f64))
                    });
                let range = if lo < hi {
                    (lo, hi)
                } else {
                    (lo - 1e-3, lo + 1e-3)
                };
                let range = if range.0.is_finite() {
                    range
                } else {
                    (0.0, 1.0)
                };
                ColourPanel {
                    field: phi,
                    label: "potential φ (this frame's range)".into(),
                    unit: "V",
                    factor: 1.0,
                    range,
                }
            }
        }
    }
}
