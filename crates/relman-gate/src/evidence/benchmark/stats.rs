//! Confidence intervals for "how many times slower", from what the tools record.
//!
//! A mean moves with a loaded runner: a few slow runs lift it by tens of percent while the
//! code is the same (issue 13). With every run's time (hyperfine's `times`, criterion's
//! `sample.json`) the ratio current/baseline is estimated by the Hodges–Lehmann estimator on
//! log times — the median of all pairwise log ratios — with the distribution-free confidence
//! interval that inverts the Mann–Whitney U test (Hollander & Wolfe, *Nonparametric
//! Statistical Methods*, §4.3, normal approximation for the rank). Outliers move it little,
//! and it assumes no distribution of times. With only standard errors of the means
//! (criterion's bootstrap), the interval is the normal one for the log of the ratio (delta
//! method). Both are ratios, so they read as percents whatever the unit.

use statrs::distribution::{ContinuousCDF, Normal};

/// Samples used per side: pairwise differences grow as the product, and 2,000 runs a side
/// (4 million pairs) is far more than any benchmark records; more are thinned evenly.
const MAX_USED: usize = 2_000;

/// A ratio current/baseline with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Ratio {
    /// The same ratio seen from the other side (for higher-is-better results).
    pub fn inverse(self) -> Ratio {
        Ratio {
            estimate: 1.0 / self.estimate,
            low: 1.0 / self.high,
            high: 1.0 / self.low,
        }
    }
}

/// The two-sided standard normal quantile for `confidence` (1.96 for 0.95).
fn z(confidence: f64) -> f64 {
    let normal = Normal::standard();
    normal.inverse_cdf(0.5 + confidence / 2.0)
}

/// Hodges–Lehmann ratio of `current` to `baseline` (all positive) with its Mann–Whitney
/// interval; `None` when there are too few samples for this confidence (the interval's rank
/// would be below 1: about 4 a side at 95%).
pub fn ratio_by_ranks(current: &[f64], baseline: &[f64], confidence: f64) -> Option<Ratio> {
    let (c, b) = (thin(current), thin(baseline));
    let (m, n) = (c.len() as f64, b.len() as f64);
    let k = (m * n / 2.0 - z(confidence) * (m * n * (m + n + 1.0) / 12.0).sqrt()).floor();
    if k < 1.0 || c.is_empty() || b.is_empty() {
        return None;
    }
    let mut d: Vec<f64> = Vec::with_capacity(c.len() * b.len());
    for x in &c {
        for y in &b {
            d.push(x.ln() - y.ln());
        }
    }
    d.sort_by(f64::total_cmp);
    let len = d.len();
    let median = if len % 2 == 1 {
        d[len / 2]
    } else {
        (d[len / 2 - 1] + d[len / 2]) / 2.0
    };
    let k = k as usize;
    Some(Ratio {
        estimate: median.exp(),
        low: d[k - 1].exp(),
        high: d[len - k].exp(),
    })
}

/// The ratio of two means with their standard errors, interval on the log scale.
pub fn ratio_by_errors(
    current: f64,
    current_se: f64,
    baseline: f64,
    baseline_se: f64,
    confidence: f64,
) -> Option<Ratio> {
    if current <= 0.0 || baseline <= 0.0 {
        return None;
    }
    let se = ((current_se / current).powi(2) + (baseline_se / baseline).powi(2)).sqrt();
    let log = (current / baseline).ln();
    let half = z(confidence) * se;
    Some(Ratio {
        estimate: log.exp(),
        low: (log - half).exp(),
        high: (log + half).exp(),
    })
}

/// At most [`MAX_USED`] values, evenly spread over the sorted sample.
fn thin(v: &[f64]) -> Vec<f64> {
    if v.len() <= MAX_USED {
        return v.to_vec();
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (0..MAX_USED)
        .map(|i| s[i * (s.len() - 1) / (MAX_USED - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn quantiles() {
        assert!((z(0.95) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((z(0.99) - 2.575_829_303_548_901).abs() < 1e-9);
    }

    #[test]
    fn a_pure_scale_change_is_estimated_exactly() {
        let b: Vec<f64> = (1..=10).map(|i| 100.0 + i as f64).collect();
        let c: Vec<f64> = b.iter().map(|x| x * 1.2).collect();
        let r = ratio_by_ranks(&c, &b, 0.95).expect("enough samples");
        assert!(close(r.estimate, 1.2), "{r:?}");
        assert!(r.low < 1.2 && r.high > 1.2, "{r:?}");
        // n = m = 10 at 95%: k = floor(50 - 1.96·sqrt(175)) = 24, so the interval is the
        // 24th smallest and 24th largest of the 100 pairwise log ratios.
        let mut d: Vec<f64> = c
            .iter()
            .flat_map(|x| b.iter().map(move |y| (x / y).ln()))
            .collect();
        d.sort_by(f64::total_cmp);
        assert!(
            close(r.low, d[23].exp()) && close(r.high, d[76].exp()),
            "{r:?}"
        );
    }

    #[test]
    fn outliers_move_the_estimate_little_and_few_samples_give_none() {
        let b = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9, 10.0];
        // Same code, three runs hit by a noisy neighbour: the mean rises 60 %.
        let c = [10.0, 10.1, 9.9, 10.0, 30.0, 9.8, 30.0, 10.1, 29.9, 10.0];
        let r = ratio_by_ranks(&c, &b, 0.95).expect("enough");
        assert!(r.estimate < 1.02, "{r:?}");
        assert!(r.low <= 1.0, "{r:?}");
        assert_eq!(
            ratio_by_ranks(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], 0.95),
            None
        );
        assert!(ratio_by_ranks(&[1.0; 5], &[1.0; 5], 0.95).is_some());
    }

    #[test]
    fn standard_errors() {
        let r = ratio_by_errors(110.0, 0.0, 100.0, 0.0, 0.95).expect("ratio");
        assert!(close(r.estimate, 1.1) && close(r.low, 1.1) && close(r.high, 1.1));
        let r = ratio_by_errors(110.0, 2.2, 100.0, 2.0, 0.95).expect("ratio");
        // se of the log ratio: sqrt(0.02² + 0.02²) = 0.028284…
        let half = 1.959_963_984_540_054 * (0.0008f64).sqrt();
        assert!(close(r.low, 1.1 * (-half).exp()), "{r:?}");
        let inv = r.inverse();
        assert!(close(inv.low, 1.0 / r.high) && close(inv.estimate, 1.0 / 1.1));
    }

    #[test]
    fn many_samples_are_thinned() {
        let v: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let t = thin(&v);
        assert_eq!(t.len(), MAX_USED);
        assert_eq!((t[0], t[MAX_USED - 1]), (1.0, 10_000.0));
        let r = ratio_by_ranks(&v, &v, 0.95).expect("ratio");
        assert!(close(r.estimate, 1.0));
    }
}
