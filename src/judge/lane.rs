//! One (org, provider) lane: how many judge calls may be in flight, who goes next, and how fast calls may start.
//!
//! - Fair: waiting calls queue per run and are served round-robin, so a 100k-item run cannot starve a 10-item run
//!   submitted after it.
//! - Adaptive: the limit starts at the configured cap, halves when 429s show the lane is over the provider's limit,
//!   and grows back by one per success. Being over the limit also sets a pace (starts per second) from the rate that
//!   was succeeding; it grows additively while calls succeed, holds at the succeeding rate when scattered 429s come
//!   back, and is dropped after a quiet spell. (A new key's first calls are limited by the judge, not here.)

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

// tokio's clock, so the pacing can be tested on a paused clock (it is the system clock otherwise).
use tokio::time::Instant;

use tokio::sync::oneshot;

/// How long without a 429 before the learned pace is dropped.
const PACE_RELAX_AFTER: Duration = Duration::from_secs(10);

struct State {
    limit: f64,
    in_flight: usize,
    queues: HashMap<String, VecDeque<oneshot::Sender<()>>>,
    order: VecDeque<String>,
    /// Call starts per second, learned from 429s.
    rate: Option<f64>,
    next_start: Instant,
    last_decrease: Option<Instant>,
    last_429: Option<Instant>,
    /// Outcomes of the last second: `true` for a 429.
    recent: VecDeque<(Instant, bool)>,
}

/// Share of 429s among the last second's outcomes that means "over the provider's limit" rather than noise.
const OVER_LIMIT_SHARE: f64 = 0.25;
/// Outcomes, and 429s among them, needed before that share means anything: with a handful of calls, one or two
/// random 429s would otherwise read as "over the limit" and pin the pace near zero.
const MIN_SAMPLES: usize = 20;
const MIN_LIMITED: usize = 5;

impl State {
    fn note(&mut self, now: Instant, limited: bool) {
        self.recent.push_back((now, limited));
        while self.recent.front().is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(1)) {
            self.recent.pop_front();
        }
    }
}

/// See the module documentation.
pub struct Lane {
    max: usize,
    state: Mutex<State>,
}

/// A slot in the lane; dropping it frees the slot for the next waiter.
pub struct Permit {
    lane: Arc<Lane>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.lane.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        Lane::dispatch(&mut s);
    }
}

impl Lane {
    pub fn new(max: usize) -> Arc<Lane> {
        let max = max.max(1);
        Arc::new(Lane {
            max,
            state: Mutex::new(State {
                limit: max as f64,
                in_flight: 0,
                queues: HashMap::new(),
                order: VecDeque::new(),
                rate: None,
                next_start: Instant::now(),
                last_decrease: None,
                last_429: None,
                recent: VecDeque::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for a slot, in round-robin order between runs.
    pub async fn acquire(self: &Arc<Self>, run: &str) -> Permit {
        let rx = {
            let mut s = self.lock();
            let nobody_waiting = s.order.is_empty();
            if nobody_waiting && (s.in_flight as f64) < s.limit.floor().max(1.0) {
                s.in_flight += 1;
                return Permit { lane: self.clone() };
            }
            let (tx, rx) = oneshot::channel();
            match s.queues.get_mut(run) {
                Some(q) => q.push_back(tx),
                None => {
                    s.queues.insert(run.to_string(), VecDeque::from([tx]));
                    s.order.push_back(run.to_string());
                }
            }
            rx
        };
        // The dispatcher counts the slot for us before it wakes us; if it was dropped instead, retry.
        match rx.await {
            Ok(()) => Permit { lane: self.clone() },
            Err(_) => Box::pin(self.acquire(run)).await,
        }
    }

    fn dispatch(s: &mut State) {
        while (s.in_flight as f64) < s.limit.floor().max(1.0) {
            let Some(run) = s.order.pop_front() else { return };
            let Some(q) = s.queues.get_mut(&run) else { continue };
            let waiter = q.pop_front();
            if q.is_empty() {
                s.queues.remove(&run);
            } else {
                s.order.push_back(run);
            }
            if let Some(w) = waiter {
                if w.send(()).is_ok() {
                    s.in_flight += 1;
                }
            }
        }
    }

    /// Wait until this call may start, honouring the learned pace and any pause a provider asked for.
    pub async fn wait_turn(&self) {
        let at = {
            let mut s = self.lock();
            let now = Instant::now();
            if s.rate.is_some() && s.last_429.is_some_and(|t| now.duration_since(t) > PACE_RELAX_AFTER) {
                s.rate = None;
            }
            let at = s.next_start.max(now);
            s.next_start = at
                + s.rate
                    .map(|r| Duration::try_from_secs_f64(1.0 / r).unwrap_or(Duration::ZERO))
                    .unwrap_or(Duration::ZERO);
            at
        };
        // No timer when nothing holds the lane back: a timer rounds up to the next millisecond tick.
        if at > Instant::now() {
            tokio::time::sleep_until(at).await;
        }
    }

    /// A call succeeded: open the lane a little further.
    pub fn on_success(&self) {
        let mut s = self.lock();
        s.note(Instant::now(), false);
        s.limit = (s.limit + 1.0).min(self.max as f64);
        if let Some(r) = s.rate {
            // About +0.5 starts per second, per second of successes.
            s.rate = Some(r + 0.5 / r);
        }
        Self::dispatch(&mut s);
    }

    /// The provider said 429. Scattered 429s only delay the call that got them (its retry waits). When they are a
    /// quarter or more of the last second's outcomes the lane is over the provider's limit: halve the limit (once
    /// per burst), pace starts at 95% of what was succeeding, and hold every start until `retry_after` has passed.
    pub fn on_rate_limited(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        let now = Instant::now();
        s.note(now, true);
        let limited = s.recent.iter().filter(|(_, l)| *l).count();
        let ok_per_s = (s.recent.len() - limited) as f64;
        let over = s.recent.len() >= MIN_SAMPLES
            && limited >= MIN_LIMITED
            && limited as f64 >= OVER_LIMIT_SHARE * s.recent.len() as f64;
        if !over {
            // Scattered 429s while paced: stop growing, hold at what is succeeding.
            if let Some(r) = s.rate {
                s.last_429 = Some(now);
                s.rate = Some(r.min(ok_per_s.max(0.5)));
            }
            return;
        }
        s.last_429 = Some(now);
        let burst = s.last_decrease.is_some_and(|t| now.duration_since(t) < Duration::from_millis(500));
        if !burst {
            s.limit = (s.limit / 2.0).max(1.0);
            s.last_decrease = Some(now);
            let target = (ok_per_s * 0.95).max(0.5);
            let first = s.rate.is_none();
            s.rate = Some(s.rate.map_or(target, |r| r.min(target)));
            if first {
                if let Some(ra) = retry_after {
                    s.next_start = s.next_start.max(now + ra);
                }
            }
        }
    }

    /// Calls in flight and the current limit, for metrics and tests.
    pub fn figures(&self) -> (usize, f64) {
        let s = self.lock();
        (s.in_flight, s.limit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_above_the_cap() {
        let lane = Lane::new(6);
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(lane.acquire("a").await);
        }
        assert_eq!(lane.figures().0, 6);
        assert!(tokio::time::timeout(Duration::from_millis(50), lane.acquire("a")).await.is_err());
        held.pop();
        assert!(tokio::time::timeout(Duration::from_millis(50), lane.acquire("a")).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_round_robin_between_runs() {
        let lane = Lane::new(1);
        let first = lane.acquire("big").await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, run) in ["big", "big", "big", "small", "big", "small"].into_iter().enumerate() {
            let (lane, order) = (lane.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = lane.acquire(run).await;
                order.lock().unwrap().push(run);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            tokio::time::sleep(Duration::from_millis(5 + i as u64)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order[..4], ["big", "small", "big", "small"], "{order:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn scattered_429s_leave_the_lane_alone() {
        let lane = Lane::new(20);
        for i in 0..40 {
            if i % 10 == 0 {
                lane.on_rate_limited(Some(Duration::from_millis(500)));
            } else {
                lane.on_success();
            }
        }
        assert_eq!(lane.figures().1, 20.0);
        let start = Instant::now();
        lane.wait_turn().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "no pause on scattered 429s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_few_early_429s_are_noise_not_a_limit() {
        let lane = Lane::new(20);
        for i in 0..6 {
            if i % 2 == 0 {
                lane.on_rate_limited(Some(Duration::from_millis(200)));
            } else {
                lane.on_success();
            }
        }
        assert_eq!(lane.figures().1, 20.0, "three 429s among six calls do not halve the lane");
        let start = Instant::now();
        lane.wait_turn().await;
        lane.wait_turn().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "no pace, no pause");
    }

    #[tokio::test(start_paused = true)]
    async fn being_over_the_limit_halves_and_paces() {
        let lane = Lane::new(20);
        for _ in 0..30 {
            lane.on_success();
        }
        for _ in 0..12 {
            lane.on_rate_limited(Some(Duration::from_millis(100)));
        }
        assert_eq!(lane.figures().1, 10.0, "one halving per burst");
        let start = Instant::now();
        lane.wait_turn().await;
        lane.wait_turn().await;
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(100), "the pause is honoured: {elapsed:?}");
        assert!(
            elapsed >= Duration::from_millis(100) + Duration::from_nanos(1_000_000_000 / 29),
            "the pace spaces starts: {elapsed:?}"
        );
        // On the paused clock nothing else moves time: the second start is the pause plus one pace step at 95 % of
        // the 30 calls/s that succeeded (1 / 28.5 s), give or take the timer's millisecond.
        let expected = Duration::from_millis(100) + Duration::from_nanos((1e9 / 28.5) as u64);
        assert!(elapsed <= expected + Duration::from_millis(2), "no more than the pace: {elapsed:?} vs {expected:?}");
    }
}
