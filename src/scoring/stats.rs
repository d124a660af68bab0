//! Small, pure statistics for run summaries: a confidence interval for a pass rate and a test for whether two
//! pass rates differ beyond noise (regression gates). No I/O, no dependencies.

/// z for a two-sided 95 % interval (the 97.5th percentile of the standard normal).
const Z_95: f64 = 1.959_963_984_540_054;
/// Significance level of [`two_proportion_z`].
pub const ALPHA: f64 = 0.05;

/// The Wilson score interval (95 %) for `successes` out of `n`: unlike the normal approximation it stays inside
/// 0..1 and is sensible for small `n` and for rates of 0 or 1. `(0, 1)` when `n` is 0 (nothing is known).
pub fn wilson_interval(successes: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes.min(n) as f64 / n_f;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denominator;
    let half = Z_95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Result of comparing two pass rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoProp {
    /// (p1 − p2) / pooled standard error: positive when the first rate is higher.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `p_value < ALPHA` (0.05).
    pub significant: bool,
}

/// Two-sided pooled two-proportion z-test of `p1_succ/n1` against `p2_succ/n2`. With an empty sample, or when both
/// samples are all passes or all fails (no variance), there is no evidence of a difference: z 0, p 1.
pub fn two_proportion_z(p1_succ: u64, n1: u64, p2_succ: u64, n2: u64) -> TwoProp {
    let none = TwoProp { z: 0.0, p_value: 1.0, significant: false };
    if n1 == 0 || n2 == 0 {
        return none;
    }
    let (s1, s2) = (p1_succ.min(n1) as f64, p2_succ.min(n2) as f64);
    let (n1, n2) = (n1 as f64, n2 as f64);
    let pooled = (s1 + s2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return none;
    }
    let z = (s1 / n1 - s2 / n2) / se;
    let p_value = erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0);
    TwoProp { z, p_value, significant: p_value < ALPHA }
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7 everywhere), so
/// p-values are right to well past the digits a gate compares.
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 {
        value
    } else {
        2.0 - value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn wilson_matches_known_values() {
        // Reference values computed with the textbook formula (z = 1.959964).
        let cases = [
            (8, 10, 0.490_162_471_5, 0.943_317_848_5),
            (0, 10, 0.0, 0.277_532_799_9),
            (10, 10, 0.722_467_200_1, 1.0),
            (50, 100, 0.403_831_530_4, 0.596_168_469_6),
            (1, 1000, 0.000_176_546_4, 0.005_642_558_6),
        ];
        for (successes, n, lo, hi) in cases {
            let (l, h) = wilson_interval(successes, n);
            assert!(close(l, lo, 1e-9) && close(h, hi, 1e-9), "{successes}/{n}: ({l}, {h})");
        }
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
        let (l, h) = wilson_interval(37, 91);
        assert!(l < 37.0 / 91.0 && 37.0 / 91.0 < h);
    }

    #[test]
    fn two_proportions_match_known_values() {
        let cases = [
            (45, 100, 30, 100, 2.190_890_230_0, 0.028_459_736_9, true),
            (50, 100, 48, 100, 0.282_899_297_9, 0.777_254_032_7, false),
            (900, 1000, 850, 1000, 3.380_617_019_0, 0.000_723_232_7, true),
        ];
        for (a, n1, b, n2, z, p, significant) in cases {
            let result = two_proportion_z(a, n1, b, n2);
            assert!(close(result.z, z, 1e-9), "{result:?}");
            assert!(close(result.p_value, p, 1e-6), "{result:?}");
            assert_eq!(result.significant, significant);
            let reverse = two_proportion_z(b, n2, a, n1);
            assert!(close(reverse.z, -z, 1e-9) && close(reverse.p_value, result.p_value, 1e-12));
        }
        assert_eq!(two_proportion_z(0, 0, 5, 10), TwoProp { z: 0.0, p_value: 1.0, significant: false });
        assert_eq!(two_proportion_z(10, 10, 20, 20).p_value, 1.0);
    }

    #[test]
    fn erfc_is_accurate() {
        for (x, expected) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_2),
            (1.0, 0.157_299_207_1),
            (2.0, 0.004_677_734_981),
            (-1.0, 1.842_700_792_9),
        ] {
            assert!(close(erfc(x), expected, 2e-7 * expected.max(1e-3)), "erfc({x}) = {}", erfc(x));
        }
    }
}
