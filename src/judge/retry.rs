//! The one retry policy of the scheduler, as a pure function: given what failed, how often, and how long the item
//! has been at it, retry after how long, or stop. Pure so it can be property-tested without a clock or a provider;
//! the jitter is an input (`0.0..=1.0`), drawn by the caller.

use std::time::Duration;

use crate::providers::ErrorKind;

/// The knobs (`judge.backoff_base_ms`, `judge.backoff_max_ms`, `judge.max_retries`, `judge.item_budget_s`).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub base_ms: u64,
    pub max_ms: u64,
    /// Retries of failures other than 429 (a 429 is retried while the budget lasts).
    pub max_retries: u32,
    /// The most time one item may spend on one call, retries included.
    pub budget: Duration,
}

/// Failures so far of one call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Attempts {
    pub failures: u32,
    pub rate_limited: u32,
}

/// What to do after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The key itself was refused (bad key, no quota): mark it failing and stop.
    MarkFailing,
    /// Not worth another try (or no budget or retries left).
    GiveUp,
    /// Try again after this long.
    RetryAfter(Duration),
}

impl Policy {
    /// Full jitter: uniform in [0, min(max, base · 2^(attempt-1))], `jitter` being where in that range.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let cap = (self.base_ms as f64 * 2f64.powi(attempt.saturating_sub(1).min(30) as i32)).min(self.max_ms as f64);
        Duration::from_millis((cap * jitter.clamp(0.0, 1.0)) as u64)
    }

    /// Decide after a failure of `kind`; `attempts` is updated.
    pub fn next(
        &self,
        attempts: &mut Attempts,
        kind: ErrorKind,
        retryable: bool,
        retry_after: Option<Duration>,
        elapsed: Duration,
        jitter: f64,
    ) -> Next {
        let delay = match kind {
            ErrorKind::Auth | ErrorKind::Quota => return Next::MarkFailing,
            _ if !retryable => return Next::GiveUp,
            ErrorKind::RateLimited => {
                attempts.rate_limited += 1;
                retry_after.unwrap_or(Duration::ZERO).max(self.backoff(attempts.rate_limited, jitter))
            }
            _ => {
                attempts.failures += 1;
                if attempts.failures > self.max_retries {
                    return Next::GiveUp;
                }
                retry_after.unwrap_or(Duration::ZERO).max(self.backoff(attempts.failures, jitter))
            }
        };
        if elapsed + delay > self.budget {
            return Next::GiveUp;
        }
        Next::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KINDS: [ErrorKind; 11] = [
        ErrorKind::Auth,
        ErrorKind::Quota,
        ErrorKind::ModelNotFound,
        ErrorKind::Unreachable,
        ErrorKind::RateLimited,
        ErrorKind::Overloaded,
        ErrorKind::Server,
        ErrorKind::Timeout,
        ErrorKind::BadResponse,
        ErrorKind::NoAnswer,
        ErrorKind::InvalidRequest,
    ];

    fn policy() -> Policy {
        Policy { base_ms: 100, max_ms: 5_000, max_retries: 3, budget: Duration::from_secs(60) }
    }

    proptest! {
        #[test]
        fn every_decision_respects_the_bounds(
            kinds in proptest::collection::vec(0usize..KINDS.len(), 1..40),
            retry_after_ms in proptest::option::of(0u64..10_000),
            jitter in 0.0f64..=1.0,
            elapsed_ms in 0u64..70_000,
        ) {
            let p = policy();
            let mut a = Attempts::default();
            for k in kinds {
                let kind = KINDS[k];
                let retryable = !matches!(kind, ErrorKind::Auth | ErrorKind::Quota | ErrorKind::ModelNotFound
                    | ErrorKind::Unreachable | ErrorKind::NoAnswer | ErrorKind::InvalidRequest);
                let ra = retry_after_ms.map(Duration::from_millis);
                let elapsed = Duration::from_millis(elapsed_ms);
                match p.next(&mut a, kind, retryable, ra, elapsed, jitter) {
                    Next::MarkFailing => prop_assert!(matches!(kind, ErrorKind::Auth | ErrorKind::Quota)),
                    Next::GiveUp => {}
                    Next::RetryAfter(d) => {
                        prop_assert!(retryable, "{kind:?} is never retried");
                        prop_assert!(elapsed + d <= p.budget, "a retry never outlives the item's budget");
                        prop_assert!(d >= ra.unwrap_or(Duration::ZERO), "Retry-After is honoured");
                        prop_assert!(d <= ra.unwrap_or(Duration::ZERO).max(Duration::from_millis(p.max_ms)));
                        if kind != ErrorKind::RateLimited {
                            prop_assert!(a.failures <= p.max_retries, "at most max_retries retries");
                        }
                    }
                }
            }
        }

        #[test]
        fn backoff_grows_then_caps(attempt in 1u32..100, jitter in 0.0f64..=1.0) {
            let p = policy();
            let d = p.backoff(attempt, jitter).as_millis() as u64;
            prop_assert!(d <= p.max_ms);
            prop_assert!(d <= (p.base_ms << (attempt - 1).min(20)).min(p.max_ms));
        }
    }

    #[test]
    fn the_fourth_server_error_gives_up_and_a_refused_key_is_marked() {
        let p = policy();
        let mut a = Attempts::default();
        for _ in 0..3 {
            assert!(matches!(p.next(&mut a, ErrorKind::Server, true, None, Duration::ZERO, 1.0), Next::RetryAfter(_)));
        }
        assert_eq!(p.next(&mut a, ErrorKind::Server, true, None, Duration::ZERO, 1.0), Next::GiveUp);
        assert_eq!(p.next(&mut a, ErrorKind::Auth, false, None, Duration::ZERO, 1.0), Next::MarkFailing);
        let mut b = Attempts::default();
        let wait = p.next(&mut b, ErrorKind::RateLimited, true, Some(Duration::from_secs(2)), Duration::ZERO, 0.0);
        assert_eq!(wait, Next::RetryAfter(Duration::from_secs(2)), "Retry-After: 2 waits two seconds");
        let late =
            p.next(&mut b, ErrorKind::RateLimited, true, Some(Duration::from_secs(2)), Duration::from_secs(59), 0.0);
        assert_eq!(late, Next::GiveUp, "not past the budget");
    }
}
