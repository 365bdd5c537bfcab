//! The spread of an ensemble's values: mean, sample standard deviation and the 95 % interval
//! of the mean from Student's t.

/// Mean and spread of n values (None where n is too small to say).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    pub n: usize,
    /// The mean (n ≥ 1).
    pub mean: Option<f64>,
    /// The sample standard deviation, divisor n − 1 (n ≥ 2).
    pub std: Option<f64>,
    /// Half-width of the 95 % interval of the mean, t(0.975, n − 1)·std/√n (n ≥ 2).
    pub ci95_half_width: Option<f64>,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let n = values.len();
        if n == 0 {
            return Spread::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Spread {
                n,
                mean: Some(mean),
                ..Default::default()
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        Spread {
            n,
            mean: Some(mean),
            std: Some(std),
            ci95_half_width: Some(t_975(n - 1) * std / (n as f64).sqrt()),
        }
    }
}

/// The 0.975 quantile of Student's t with `dof` degrees of freedom (dof ≥ 1): tabulated to 30,
/// beyond that the Cornish–Fisher expansion about the normal quantile (error < 1e-4).
pub fn t_975(dof: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
        2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
        2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
        2.048407, 2.045230, 2.042272,
    ];
    assert!(dof >= 1, "Student's t needs at least one degree of freedom");
    if dof <= TABLE.len() {
        return TABLE[dof - 1];
    }
    let z = 1.959_963_984_540_054_f64;
    let v = dof as f64;
    z + (z.powi(3) + z) / (4.0 * v)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_of_known_values() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7.
        let s = Spread::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s.n, 8);
        assert!((s.mean.unwrap() - 5.0).abs() < 1e-15);
        let std = (32.0f64 / 7.0).sqrt();
        assert!((s.std.unwrap() - std).abs() < 1e-15);
        // t(0.975, 7) = 2.364624.
        assert!((s.ci95_half_width.unwrap() - 2.364624 * std / 8f64.sqrt()).abs() < 1e-12);
        let one = Spread::of(&[3.0]);
        assert_eq!(
            (one.mean, one.std, one.ci95_half_width),
            (Some(3.0), None, None)
        );
        assert_eq!(Spread::of(&[]).mean, None);
    }

    #[test]
    fn t_joins_its_table_and_tends_to_the_normal() {
        // t(0.975, 40) = 2.021075, t(0.975, 120) = 1.979930.
        assert!((t_975(40) - 2.021075).abs() < 1e-4, "{}", t_975(40));
        assert!((t_975(120) - 1.979930).abs() < 1e-4, "{}", t_975(120));
        assert!((t_975(31) - 2.039513).abs() < 1e-4, "{}", t_975(31));
        assert!(t_975(30) > t_975(31));
    }
}
