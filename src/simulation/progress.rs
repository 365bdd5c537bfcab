//! What a run shows while it runs: a bar on a terminal and, where stderr is no terminal (a log
//! file, CI, a batch job: indicatif hides its bar there), one plain line every few seconds.
//! Both read the loop's counters and the wall clock only, so they never change a result.

use crate::config::Config;
use crate::model::units::MAH_CM2_IN_C_M2;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Time between two plain progress lines.
pub const PLAIN_LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Where the time loop stands after a batch of steps.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    pub step: u64,
    pub time_s: f64,
    pub charge_c_m2: f64,
    /// Fraction of the end condition reached (1 at the end).
    pub fraction: f64,
    /// Electrode potential E against the bulk of the last step (V).
    pub overpotential_v: f64,
}

/// The bar or the plain lines of one run.
pub struct ProgressDisplay {
    bar: Option<ProgressBar>,
    /// Some(interval) when the plain lines are on.
    plain_every: Option<Duration>,
    last_line: Instant,
    start: Instant,
    first_step: u64,
    first_fraction: f64,
}

impl ProgressDisplay {
    /// `progress`: None for no display, else the time between two plain lines.
    pub fn new(progress: Option<Duration>, title: &str, first: Position) -> ProgressDisplay {
        let terminal = std::io::stderr().is_terminal();
        let bar = (progress.is_some() && terminal).then(|| {
            let bar = ProgressBar::new(1000);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12} [{bar:30}] {percent:>3}% {msg} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(title.to_string());
            bar
        });
        let now = Instant::now();
        ProgressDisplay {
            bar,
            plain_every: progress.filter(|_| !terminal),
            last_line: now,
            start: now,
            first_step: first.step,
            first_fraction: first.fraction,
        }
    }

    /// Shows `at` on the bar, or as a plain line on stderr when one is due.
    pub fn update(&mut self, cfg: &Config, at: &Position) {
        if let Some(bar) = &self.bar {
            let elapsed = self.start.elapsed().as_secs_f64();
            bar.set_position((at.fraction.clamp(0.0, 1.0) * 1000.0) as u64);
            bar.set_message(format!(
                "{:.0} steps/s, t = {:.1} s, η = {:.3} V",
                (at.step - self.first_step) as f64 / elapsed.max(1e-9),
                at.time_s,
                at.overpotential_v
            ));
        }
        if let Some(every) = self.plain_every {
            if self.last_line.elapsed() >= every {
                self.last_line = Instant::now();
                eprintln!("{}", plain_line(cfg, at, self.eta_s(cfg, at)));
            }
        }
    }

    /// Removes the bar (before the run prints anything else).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Wall seconds left at this session's pace: to the end condition or to run.max_steps,
    /// whichever comes first; None before any progress.
    fn eta_s(&self, cfg: &Config, at: &Position) -> Option<f64> {
        let elapsed = self.start.elapsed().as_secs_f64();
        let done = at.fraction - self.first_fraction;
        let by_fraction = (done > 0.0).then(|| elapsed / done * (1.0 - at.fraction).max(0.0));
        let steps = at.step - self.first_step;
        let by_cap = cfg
            .run
            .max_steps
            .filter(|_| steps > 0)
            .map(|cap| elapsed / steps as f64 * cap.saturating_sub(at.step) as f64);
        match (by_fraction, by_cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `step 1200, t = 35.2 s, charge 0.241 mAh/cm² (48 % of 0.5), ETA 1 min 12 s`: the percentage
/// sits with the end condition's own quantity.
pub fn plain_line(cfg: &Config, at: &Position, eta_s: Option<f64>) -> String {
    let percent = (100.0 * at.fraction).floor();
    let charge = at.charge_c_m2 / MAH_CM2_IN_C_M2;
    let (step, time, charge) = match (cfg.run.end_charge_mah_cm2, cfg.run.end_time_s) {
        _ if cfg.cycling.is_some() => (
            format!("{} ({percent} % of the cycling schedule)", at.step),
            format!("{:.1} s", at.time_s),
            format!("{charge:.4} mAh/cm² net"),
        ),
        (Some(q), _) => (
            format!("{}", at.step),
            format!("{:.1} s", at.time_s),
            format!("{charge:.4} mAh/cm² ({percent} % of {q})"),
        ),
        (None, Some(t)) => (
            format!("{}", at.step),
            format!("{:.1} s ({percent} % of {t} s)", at.time_s),
            format!("{charge:.4} mAh/cm²"),
        ),
        (None, None) => (
            format!(
                "{} ({percent} % of {})",
                at.step,
                cfg.run.max_steps.unwrap_or(0)
            ),
            format!("{:.1} s", at.time_s),
            format!("{charge:.4} mAh/cm²"),
        ),
    };
    let eta = eta_s.map_or_else(|| "unknown".to_string(), duration_text);
    format!("step {step}, t = {time}, charge {charge}, ETA {eta}")
}

/// "35 s", "1 min 12 s", "2 h 05 min".
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_says_them() {
        for (s, text) in [
            (0.2, "0 s"),
            (35.4, "35 s"),
            (72.0, "1 min 12 s"),
            (7500.0, "2 h 05 min"),
        ] {
            println!("{s} s → {:?} (expected {text:?})", duration_text(s));
            assert_eq!(duration_text(s), text);
        }
    }

    #[test]
    fn the_percentage_goes_with_the_end_quantity() {
        let mut cfg = Config::default_demo();
        let at = Position {
            step: 1200,
            time_s: 35.23,
            charge_c_m2: 0.241 * MAH_CM2_IN_C_M2,
            fraction: 0.482,
            overpotential_v: -0.1,
        };
        let charge_end = plain_line(&cfg, &at, Some(72.0));
        cfg.run.end_charge_mah_cm2 = None;
        cfg.run.end_time_s = Some(600.0);
        let time_end = plain_line(&cfg, &at, None);
        for (got, expected) in [
            (
                &charge_end,
                "step 1200, t = 35.2 s, charge 0.2410 mAh/cm² (48 % of 0.5), ETA 1 min 12 s",
            ),
            (
                &time_end,
                "step 1200, t = 35.2 s (48 % of 600 s), charge 0.2410 mAh/cm², ETA unknown",
            ),
        ] {
            println!("got      {got}\nexpected {expected}");
            assert_eq!(got, expected);
        }
    }
}
