//! Comparing two failure analyses: per bucket and subcategory, how many items failed in each run, the shares, the
//! change, and whether it is beyond noise by the same two-proportion test the eval compare uses for pass rates
//! ([`crate::scoring::stats::two_proportion_z`], two-sided, p < 0.05). "Which buckets grew?" for
//! `GET /v1/projects/{project}/compare` when both runs are of kind `failure_analysis`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Run, Summary};
use crate::analysis::summary::BucketSummary;
use crate::error::{Error, Result};
use crate::scoring::stats::two_proportion_z;

/// One bucket's or subcategory's failures in the two runs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShareDelta {
    pub base_failed: u64,
    pub head_failed: u64,
    /// Failed items / analysed items of that run.
    pub base_share: f64,
    pub head_share: f64,
    /// `head_share - base_share`.
    pub delta: f64,
    /// Two-sided p-value of the two-proportion z-test between the shares.
    pub p_value: f64,
    /// The share moved beyond noise (p < 0.05).
    pub beyond_noise: bool,
    /// `grew`, `shrank` or `same` (by the counts' shares, whatever the noise).
    pub change: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BucketDelta {
    #[serde(flatten)]
    pub bucket: ShareDelta,
    /// Per subcategory (failing checks; one per item and subcategory).
    pub subcategories: BTreeMap<String, ShareDelta>,
}

/// The compare answer's `buckets` part.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BucketComparison {
    pub base_items: u64,
    pub head_items: u64,
    pub buckets: BTreeMap<String, BucketDelta>,
    /// Buckets whose share rose beyond noise, largest rise first.
    pub grew: Vec<String>,
    /// Buckets whose share fell beyond noise, largest fall first.
    pub shrank: Vec<String>,
}

/// `Some` when both runs are failure analyses; `None` when neither is; a 400 naming `head` when their kinds differ
/// (an analysis's buckets and an eval's pass rates do not compare).
pub fn compare_runs(base: &Run, head: &Run) -> Result<Option<BucketComparison>> {
    if base.kind != head.kind {
        return Err(Error::field(
            "head",
            format!("the runs are of different kinds ({} and {}): compare two runs of one kind", base.kind, head.kind),
        ));
    }
    if base.kind != "failure_analysis" {
        return Ok(None);
    }
    Ok(Some(compare_summaries(base.summary.as_ref(), head.summary.as_ref())))
}

fn buckets_of(s: Option<&Summary>) -> (u64, BTreeMap<String, BucketSummary>) {
    let buckets = s
        .and_then(|s| s.kind.buckets.clone())
        .and_then(|v| serde_json::from_value::<BTreeMap<String, BucketSummary>>(v).ok())
        .unwrap_or_default();
    (s.map_or(0, |s| s.items), buckets)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn share_delta(base_failed: u64, base_items: u64, head_failed: u64, head_items: u64) -> ShareDelta {
    let share = |f: u64, n: u64| if n == 0 { 0.0 } else { f as f64 / n as f64 };
    let (bs, hs) = (share(base_failed, base_items), share(head_failed, head_items));
    let test = two_proportion_z(head_failed, head_items, base_failed, base_items);
    let delta = round6(hs - bs);
    let change = if delta > 0.0 {
        "grew"
    } else if delta < 0.0 {
        "shrank"
    } else {
        "same"
    };
    ShareDelta {
        base_failed,
        head_failed,
        base_share: round6(bs),
        head_share: round6(hs),
        delta,
        p_value: round6(test.p_value),
        beyond_noise: test.significant,
        change: change.to_owned(),
    }
}

/// Every bucket and subcategory either summary names, side by side.
pub fn compare_summaries(base: Option<&Summary>, head: Option<&Summary>) -> BucketComparison {
    let ((bn, bb), (hn, hb)) = (buckets_of(base), buckets_of(head));
    let names: BTreeSet<&String> = bb.keys().chain(hb.keys()).collect();
    let mut buckets = BTreeMap::new();
    for name in names {
        let (b, h) = (bb.get(name), hb.get(name));
        let failed = |s: Option<&BucketSummary>| s.map_or(0, |s| s.failed as u64);
        let subs: BTreeSet<&String> = b.iter().chain(h.iter()).flat_map(|s| s.subcategories.keys()).collect();
        let sub_n =
            |s: Option<&BucketSummary>, sub: &str| s.and_then(|s| s.subcategories.get(sub)).map_or(0, |n| *n as u64);
        let subcategories =
            subs.into_iter().map(|sub| (sub.clone(), share_delta(sub_n(b, sub), bn, sub_n(h, sub), hn))).collect();
        buckets.insert(name.clone(), BucketDelta { bucket: share_delta(failed(b), bn, failed(h), hn), subcategories });
    }
    let moved = |grew: bool| {
        let mut v: Vec<(&String, f64)> = buckets
            .iter()
            .filter(|(_, d)| d.bucket.beyond_noise && (d.bucket.delta > 0.0) == grew && d.bucket.delta != 0.0)
            .map(|(n, d)| (n, d.bucket.delta.abs()))
            .collect();
        v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then(a.0.cmp(b.0)));
        v.into_iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    };
    let (grew, shrank) = (moved(true), moved(false));
    BucketComparison { base_items: bn, head_items: hn, buckets, grew, shrank }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn summary(items: u64, buckets: serde_json::Value) -> Summary {
        let mut s: Summary = serde_json::from_value(json!({"items": items, "passed": 0, "failed": 0, "errored": 0,
            "pass_rate": 0.0, "per_scorer": {}, "usage": crate::domain::Usage::default(), "should_gate_ci": false, "gate": {"passed": true, "reasons": []}}))
        .unwrap_or_else(|e| panic!("{e}"));
        s.kind.buckets = Some(buckets);
        s
    }

    fn bucket(failed: usize, subs: serde_json::Value) -> serde_json::Value {
        json!({"failed": failed, "share": 0.0, "severity": {"low": 0, "medium": failed, "high": 0, "critical": 0}, "subcategories": subs})
    }

    #[test]
    fn a_bucket_that_doubles_on_200_items_grew_beyond_noise_and_one_more_failure_is_noise() {
        let base = summary(
            200,
            json!({"retrieval": bucket(20, json!({"missing_context": 20})),
            "tool_use": bucket(10, json!({"wrong_tool": 10})), "safety": bucket(5, json!({"pii_leak": 5}))}),
        );
        let head = summary(
            200,
            json!({"retrieval": bucket(45, json!({"missing_context": 40, "not_extracted": 5})),
            "tool_use": bucket(11, json!({"wrong_tool": 11}))}),
        );
        let c = compare_summaries(Some(&base), Some(&head));
        let r = &c.buckets["retrieval"];
        assert_eq!((r.bucket.base_failed, r.bucket.head_failed), (20, 45));
        assert_eq!((r.bucket.base_share, r.bucket.head_share, r.bucket.delta), (0.1, 0.225, 0.125));
        assert!(r.bucket.beyond_noise && r.bucket.change == "grew", "{r:?}");
        assert_eq!(r.subcategories["not_extracted"].base_failed, 0);
        assert_eq!(r.subcategories["not_extracted"].change, "grew");
        let t = &c.buckets["tool_use"].bucket;
        assert!(!t.beyond_noise && t.change == "grew", "one more failure is noise: {t:?}");
        let s = &c.buckets["safety"].bucket;
        assert_eq!((s.head_failed, s.change.as_str()), (0, "shrank"), "a bucket only the base has");
        assert_eq!(c.grew, vec!["retrieval".to_owned()]);
        assert_eq!(c.shrank, vec!["safety".to_owned()], "5 of 200 to none: p ≈ 0.024");
        let p = two_proportion_z(45, 200, 20, 200).p_value;
        assert_eq!(r.bucket.p_value, round6(p), "the eval compare's test");
    }
}
