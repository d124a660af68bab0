//! Per-API-key gateway limits, held in memory: token buckets for requests and tokens per minute, and a budget per
//! day or month with reservations.
//!
//! A call reserves its largest possible cost before it is made and settles the real cost after, and a call is
//! admitted only while spent + reserved is below the budget. So parallel calls see each other's reservations, and
//! the budget is overshot by at most one call's cost: the last one admitted while there was room.
//! The spend of the period is read from the request log once per key and period, then kept here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{Datelike, TimeZone, Utc};

use crate::tenancy::model::{ApiKeyLimits, BudgetPeriod};

/// A refilling bucket; `level` may go below zero when a call used more tokens than were left.
#[derive(Clone, Debug)]
struct Bucket {
    capacity: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(capacity: f64) -> Self {
        Self { capacity, level: capacity, at: Instant::now() }
    }

    /// Refills at `capacity` per minute; a changed limit starts a fresh bucket.
    fn refill(&mut self, capacity: f64) {
        if (capacity - self.capacity).abs() > f64::EPSILON {
            *self = Bucket::new(capacity);
            return;
        }
        let now = Instant::now();
        let per_s = self.capacity / 60.0;
        self.level = (self.level + now.duration_since(self.at).as_secs_f64() * per_s).min(self.capacity);
        self.at = now;
    }

    /// Seconds until the level reaches `need`.
    fn wait_for(&self, need: f64) -> u64 {
        let per_s = self.capacity / 60.0;
        (((need - self.level) / per_s).ceil().max(1.0)) as u64
    }
}

#[derive(Debug)]
struct Budget {
    period_start: String,
    spent: f64,
    reserved: f64,
}

#[derive(Debug, Default)]
struct KeyState {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    budget: Option<Budget>,
}

/// Why a call is refused.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// Over requests_per_min or tokens_per_min; retry after this many seconds.
    Rate { what: &'static str, retry_after_s: u64 },
    /// The budget of the period is spent (or reserved by calls in flight).
    Budget { budget: f64, spent: f64, reserved: f64, period: BudgetPeriod },
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Limiter {
    keys: Mutex<HashMap<String, KeyState>>,
}

/// The start of the current budget period, RFC 3339, comparable with the request log's `at`.
pub fn period_start(period: BudgetPeriod) -> String {
    let now = Utc::now();
    let start = match period {
        BudgetPeriod::Day => Utc.with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0),
        BudgetPeriod::Month => Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0),
    };
    start.single().unwrap_or(now).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Limiter {
    fn with<T>(&self, key: &str, f: impl FnOnce(&mut KeyState) -> T) -> T {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        f(keys.entry(key.to_owned()).or_default())
    }

    /// Takes one request from the key's buckets, or says how long to wait. The token bucket must have something
    /// left; the call's real tokens are taken after it ([`Limiter::take_tokens`]).
    pub fn admit(&self, key: &str, limits: &ApiKeyLimits) -> Result<(), Refusal> {
        self.with(key, |s| {
            if let Some(tpm) = limits.tokens_per_min {
                let b = s.tokens.get_or_insert_with(|| Bucket::new(tpm as f64));
                b.refill(tpm as f64);
                if b.level < 1.0 {
                    return Err(Refusal::Rate { what: "tokens_per_min", retry_after_s: b.wait_for(1.0) });
                }
            }
            if let Some(rpm) = limits.requests_per_min {
                let b = s.requests.get_or_insert_with(|| Bucket::new(f64::from(rpm)));
                b.refill(f64::from(rpm));
                if b.level < 1.0 {
                    return Err(Refusal::Rate { what: "requests_per_min", retry_after_s: b.wait_for(1.0) });
                }
                b.level -= 1.0;
            }
            Ok(())
        })
    }

    /// Takes a finished call's tokens from the key's token bucket.
    pub fn take_tokens(&self, key: &str, tokens: u64) {
        self.with(key, |s| {
            if let Some(b) = s.tokens.as_mut() {
                b.level -= tokens as f64;
            }
        });
    }

    /// Whether the budget of `period` still needs its spend loaded from the request log.
    pub fn needs_spend(&self, key: &str, start: &str) -> bool {
        self.with(key, |s| s.budget.as_ref().is_none_or(|b| b.period_start != start))
    }

    /// Sets the spend of the period read from the request log (once per key and period).
    pub fn set_spend(&self, key: &str, start: &str, spent: f64) {
        self.with(key, |s| {
            if s.budget.as_ref().is_none_or(|b| b.period_start != start) {
                s.budget = Some(Budget { period_start: start.to_owned(), spent, reserved: 0.0 });
            }
        });
    }

    /// Reserves `max_cost` under the key's budget; the reservation gives it back (or books the real cost) when
    /// settled or dropped.
    pub fn reserve(
        self: &Arc<Self>,
        key: &str,
        budget: f64,
        period: BudgetPeriod,
        start: &str,
        max_cost: f64,
    ) -> Result<Reservation, Refusal> {
        self.with(key, |s| {
            let b =
                s.budget.get_or_insert_with(|| Budget { period_start: start.to_owned(), spent: 0.0, reserved: 0.0 });
            if b.spent + b.reserved >= budget {
                return Err(Refusal::Budget { budget, spent: b.spent, reserved: b.reserved, period });
            }
            b.reserved += max_cost;
            Ok(())
        })?;
        Ok(Reservation { limiter: Some(self.clone()), key: key.to_owned(), start: start.to_owned(), amount: max_cost })
    }

    fn settle(&self, key: &str, start: &str, amount: f64, actual: f64) {
        self.with(key, |s| {
            if let Some(b) = s.budget.as_mut().filter(|b| b.period_start == start) {
                b.reserved = (b.reserved - amount).max(0.0);
                b.spent += actual;
            }
        });
    }
}

/// A budget reservation. Dropped unsettled (a client that went away mid-stream), it books the full reservation:
/// the provider may well have billed the whole answer.
#[derive(Debug)]
pub struct Reservation {
    limiter: Option<Arc<Limiter>>,
    key: String,
    start: String,
    amount: f64,
}

impl Reservation {
    /// Books the call's real cost and frees the rest of the reservation.
    pub fn settle(mut self, actual: f64) {
        if let Some(l) = self.limiter.take() {
            l.settle(&self.key, &self.start, self.amount, actual);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(l) = self.limiter.take() {
            l.settle(&self.key, &self.start, self.amount, self.amount);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requests_per_minute_bucket_refuses_with_a_wait() {
        let l = Limiter::default();
        let limits = ApiKeyLimits { requests_per_min: Some(3), ..Default::default() };
        for _ in 0..3 {
            l.admit("k", &limits).unwrap();
        }
        match l.admit("k", &limits) {
            Err(Refusal::Rate { what: "requests_per_min", retry_after_s }) => {
                assert!((1..=20).contains(&retry_after_s))
            }
            other => panic!("{other:?}"),
        }
        l.admit("other", &limits).unwrap();
    }

    #[test]
    fn tokens_are_taken_after_the_call() {
        let l = Limiter::default();
        let limits = ApiKeyLimits { tokens_per_min: Some(100), ..Default::default() };
        l.admit("k", &limits).unwrap();
        l.take_tokens("k", 150);
        assert!(matches!(l.admit("k", &limits), Err(Refusal::Rate { what: "tokens_per_min", .. })));
    }

    #[test]
    fn budget_overshoots_by_at_most_one_reservation() {
        let l = Arc::new(Limiter::default());
        let start = period_start(BudgetPeriod::Month);
        l.set_spend("k", &start, 0.0);
        let mut held = Vec::new();
        for _ in 0..20 {
            if let Ok(r) = l.reserve("k", 1.0, BudgetPeriod::Month, &start, 0.3) {
                held.push(r);
            }
        }
        assert_eq!(held.len(), 4, "0, .3, .6, .9 are under 1.0");
        for r in held {
            r.settle(0.3);
        }
        assert!(l.reserve("k", 1.0, BudgetPeriod::Month, &start, 0.3).is_err());
        // A cheaper real cost gives the room back.
        let l = Arc::new(Limiter::default());
        l.reserve("k", 1.0, BudgetPeriod::Day, &start, 0.9).unwrap().settle(0.1);
        assert!(l.reserve("k", 1.0, BudgetPeriod::Day, &start, 0.9).is_ok());
    }

    proptest::proptest! {
        /// However calls interleave (reserve in any order, settle at any real cost up to the reservation), the
        /// booked spend never passes the budget by more than the largest single reservation.
        #[test]
        fn overshoot_is_at_most_one_call(
            ops in proptest::collection::vec((0.0f64..0.5, 0.0f64..=1.0, proptest::bool::ANY), 1..60),
            budget in 0.1f64..3.0,
        ) {
            let l = Arc::new(Limiter::default());
            let start = period_start(BudgetPeriod::Month);
            l.set_spend("k", &start, 0.0);
            let (mut held, mut spent, mut largest) = (Vec::new(), 0.0f64, 0.0f64);
            for (max_cost, fraction, settle_one) in ops {
                if let Ok(r) = l.reserve("k", budget, BudgetPeriod::Month, &start, max_cost) {
                    largest = largest.max(max_cost);
                    held.push((r, max_cost * fraction));
                }
                if settle_one && !held.is_empty() {
                    let (r, actual) = held.remove(0);
                    spent += actual;
                    r.settle(actual);
                }
            }
            for (r, actual) in held {
                spent += actual;
                r.settle(actual);
            }
            proptest::prop_assert!(spent <= budget + largest + 1e-9, "spent {} budget {} largest {}", spent, budget, largest);
        }
    }

    #[test]
    fn a_dropped_reservation_books_its_whole_amount() {
        let l = Arc::new(Limiter::default());
        let start = period_start(BudgetPeriod::Day);
        drop(l.reserve("k", 1.0, BudgetPeriod::Day, &start, 1.0).unwrap());
        assert!(matches!(l.reserve("k", 1.0, BudgetPeriod::Day, &start, 0.1), Err(Refusal::Budget { .. })));
    }
}
