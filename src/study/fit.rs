//! Least squares for calibrations: Levenberg–Marquardt on a few parameters, the Jacobian by
//! forward differences (each evaluation is a simulation, so no derivatives are to be had).

use crate::error::{Error, Result};

/// What a fit ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The parameters at the end (in the caller's coordinates).
    pub x: Vec<f64>,
    /// The residuals there.
    pub residuals: Vec<f64>,
    /// Evaluations of the residual function.
    pub evaluations: usize,
    /// Whether every |residual| reached the tolerance.
    pub converged: bool,
}

impl Fit {
    /// The largest |residual|.
    pub fn worst(&self) -> f64 {
        self.residuals.iter().fold(0.0, |m, r| m.max(r.abs()))
    }
}

/// Largest move of one iteration in any coordinate (a trust region: in log coordinates a factor
/// e² ≈ 7.4), so a Gauss–Newton step through a strongly nonlinear response cannot leave the
/// range where the model is valid in one go.
pub const MAX_MOVE: f64 = 2.0;

/// Minimises Σ r_k(x)² from `x0` by Levenberg–Marquardt: each iteration takes the Jacobian by
/// forward differences of `step` in every coordinate, solves (JᵀJ + λ diag(JᵀJ)) δ = −Jᵀr (δ
/// shortened to [`MAX_MOVE`]) and keeps δ where it lowers Σ r² (λ ÷ 3), else (or where the
/// residuals cannot be evaluated there: a value out of its range) raises λ × 4 and solves again.
/// Ends when every |r_k| ≤ `tolerance`, after `max_iterations`, or when λ has grown past any use.
/// An error at `x0` or in a Jacobian column is returned.
pub fn levenberg_marquardt(
    mut residuals: impl FnMut(&[f64]) -> Result<Vec<f64>>,
    x0: &[f64],
    step: f64,
    tolerance: f64,
    max_iterations: usize,
) -> Result<Fit> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut r = residuals(&x)?;
    let mut evaluations = 1;
    let cost = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>();
    let done = |r: &[f64]| r.iter().all(|v| v.abs() <= tolerance);
    let mut lambda = 1e-2;
    for _ in 0..max_iterations {
        if done(&r) {
            break;
        }
        // J by forward differences.
        let mut jac = vec![vec![0.0; n]; r.len()];
        for j in 0..n {
            let mut xj = x.clone();
            xj[j] += step;
            let rj = residuals(&xj)?;
            evaluations += 1;
            for (k, row) in jac.iter_mut().enumerate() {
                row[j] = (rj[k] - r[k]) / step;
            }
        }
        let jtj: Vec<Vec<f64>> = (0..n)
            .map(|a| {
                (0..n)
                    .map(|b| jac.iter().map(|row| row[a] * row[b]).sum())
                    .collect()
            })
            .collect();
        let jtr: Vec<f64> = (0..n)
            .map(|a| jac.iter().zip(&r).map(|(row, rk)| row[a] * rk).sum())
            .collect();
        let mut improved = false;
        while lambda < 1e8 {
            let mut m = jtj.clone();
            for (a, row) in m.iter_mut().enumerate() {
                row[a] += lambda * jtj[a][a].max(1e-12);
            }
            let rhs: Vec<f64> = jtr.iter().map(|v| -v).collect();
            let Some(delta) = solve_dense(m, rhs) else {
                lambda *= 4.0;
                continue;
            };
            let longest = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            let shorten = if longest > MAX_MOVE {
                MAX_MOVE / longest
            } else {
                1.0
            };
            let trial: Vec<f64> = x.iter().zip(&delta).map(|(a, d)| a + shorten * d).collect();
            let rt = residuals(&trial);
            evaluations += 1;
            let Ok(rt) = rt else {
                lambda *= 4.0;
                continue;
            };
            if rt.iter().all(|v| v.is_finite()) && cost(&rt) < cost(&r) {
                (x, r) = (trial, rt);
                lambda = (lambda / 3.0).max(1e-7);
                improved = true;
                break;
            }
            lambda *= 4.0;
        }
        if !improved {
            break;
        }
    }
    let converged = done(&r);
    Ok(Fit {
        x,
        residuals: r,
        evaluations,
        converged,
    })
}

/// Solves the small dense system m x = b by Gaussian elimination with partial pivoting; None
/// where m is singular.
fn solve_dense(mut m: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let pivot = (c..n).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[pivot][c].abs() < 1e-300 || !m[pivot][c].is_finite() {
            return None;
        }
        m.swap(c, pivot);
        b.swap(c, pivot);
        let (upper, lower) = m.split_at_mut(c + 1);
        let pivot_row = &upper[c];
        for (i, row) in lower.iter_mut().enumerate() {
            let f = row[c] / pivot_row[c];
            for (v, &p) in row[c..].iter_mut().zip(&pivot_row[c..]) {
                *v -= f * p;
            }
            b[c + 1 + i] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / m[i][i];
    }
    Some(x)
}

/// A fit that cannot start: no parameters or no targets.
pub fn check_sizes(parameters: usize, targets: usize) -> Result<()> {
    if parameters == 0 || targets == 0 {
        return Err(Error::Other(format!(
            "a calibration needs at least one --fit KEY and one --target KEY=VALUE (got {parameters} and {targets})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Butler–Volmer-like pair: η(i) = a asinh(i/b) at two currents, from (a, b) = (0.05, 0.3)
    /// in log coordinates; the fit returns them.
    #[test]
    fn fits_two_parameters_of_a_nonlinear_law() {
        let law = |a: f64, b: f64, i: f64| a * (i / b).asinh();
        let targets = [(0.5, law(0.05, 0.3, 0.5)), (2.0, law(0.05, 0.3, 2.0))];
        let fit = levenberg_marquardt(
            |x| {
                let (a, b) = (x[0].exp(), x[1].exp());
                Ok(targets
                    .iter()
                    .map(|&(i, eta)| law(a, b, i) / eta - 1.0)
                    .collect())
            },
            &[(0.02f64).ln(), (1.0f64).ln()],
            1e-4,
            1e-8,
            50,
        )
        .unwrap();
        let (a, b) = (fit.x[0].exp(), fit.x[1].exp());
        println!(
            "a = {a} (0.05), b = {b} (0.3) in {} evaluations, worst residual {:e}",
            fit.evaluations,
            fit.worst()
        );
        assert!(fit.converged);
        assert!((a / 0.05 - 1.0).abs() < 1e-5 && (b / 0.3 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn dense_solve_pivots_and_refuses_singular_systems() {
        let x = solve_dense(vec![vec![0.0, 2.0], vec![3.0, 1.0]], vec![4.0, 5.0]).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12);
        assert!(solve_dense(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }
}
