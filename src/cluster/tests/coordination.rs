//! Slots, pace and budget across several replica pools.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::super::budget::{self, Reserve};
use super::super::pace::{self, PacePolicy};
use super::super::slots;
use super::super::{replica_id, Lane};
use super::{replica, setup};

/// 4 replicas × 6 workers hammer one lane with cap 3: the in-flight high-water mark at the "provider" (an
/// in-process counter every holder increments during its call) never exceeds 3 and reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lane_cap_holds_summed_over_replicas() {
    let Some((pg, _pool)) = setup().await else { return };
    const CAP: u32 = 3;
    let lane = Lane::new("org-s", "openai");
    let in_flight = Arc::new(AtomicI64::new(0));
    let high = Arc::new(AtomicI64::new(0));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let p = replica(&pg, 6);
        let me = replica_id();
        for _ in 0..6 {
            let (p, me, lane, in_flight, high) = (p.clone(), me.clone(), lane.clone(), in_flight.clone(), high.clone());
            handles.push(tokio::spawn(async move {
                for _ in 0..10 {
                    let held = slots::acquire(
                        &p,
                        &lane,
                        CAP,
                        &me,
                        slots::DEFAULT_SLOT_LEASE,
                        Duration::from_millis(2),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap()
                    .expect("a slot within 30 s");
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    high.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    assert!(slots::release(&p, held).await.unwrap());
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(high.load(Ordering::SeqCst), i64::from(CAP), "high-water mark must reach the cap and never pass it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slots_of_a_dead_replica_expire_and_are_reclaimed() {
    let Some((pg, pool)) = setup().await else { return };
    let lane = Lane::new("org-d", "host.example");
    let lease = Duration::from_millis(700);
    let dying = replica(&pg, 2);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(slots::try_acquire(&dying, &lane, 2, "dead", lease).await.unwrap().unwrap());
    }
    assert!(slots::try_acquire(&dying, &lane, 2, "dead", lease).await.unwrap().is_none(), "cap 2 is full");
    dying.close();
    drop(dying);
    assert!(slots::try_acquire(&pool, &lane, 2, "live", lease).await.unwrap().is_none());
    assert_eq!(slots::in_flight(&pool, &lane).await.unwrap(), 2);
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let a = slots::try_acquire(&pool, &lane, 2, "live", lease).await.unwrap().expect("expired slot reclaimed");
    let _b = slots::try_acquire(&pool, &lane, 2, "live", lease).await.unwrap().expect("both reclaimed");
    assert!(!slots::heartbeat(&pool, &held[0], lease).await.unwrap(), "the dead holder's lease is lost");
    assert!(slots::heartbeat(&pool, &a, lease).await.unwrap());
    assert!(slots::try_acquire(&pool, &lane, 3, "live", lease).await.unwrap().is_some(), "a raised cap adds slots");
}

/// Replica A sees a 429 with Retry-After 2 s; neither replica calls the lane before it, and afterwards their
/// turns are spaced by the lowered shared rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_on_one_replica_paces_every_replica() {
    let Some((pg, a)) = setup().await else { return };
    let b = replica(&pg, 4);
    let lane = Lane::new("org-p", "openai");
    let policy = PacePolicy::default();
    pace::wait_turn(&b, &lane).await.unwrap(); // an unthrottled lane: no wait
    let t0 = Instant::now();
    pace::record_throttle(&a, &lane, Some(Duration::from_secs(2)), &policy).await.unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for p in [a.clone(), b.clone(), a, b] {
        let (lane, calls) = (lane.clone(), calls.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..2 {
                pace::wait_turn(&p, &lane).await.unwrap();
                calls.lock().unwrap().push(Instant::now());
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut calls = calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(calls.len(), 8);
    assert!(calls[0] >= t0 + Duration::from_secs(2), "a call {:?} after the 429, before Retry-After", calls[0] - t0);
    // Rate 5/s after the first 429: eight turns span at least seven spacings of 200 ms.
    let span = calls[7] - calls[0];
    assert!(span >= Duration::from_millis(7 * 200 - 50), "turns not spaced by the shared rate: {span:?}");
}

/// 3 replicas × 20 parallel reservations of 10 against a budget of 95: at most 9 granted, spend never past the
/// limit by more than one request's cost; a dead replica's reservation lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_burst_over_replicas_overshoots_by_at_most_one_request() {
    let Some((pg, pool)) = setup().await else { return };
    const COST: i64 = 10;
    budget::set_limit(&pool, "key-1", 95).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..3 {
        let p = replica(&pg, 20);
        let me = replica_id();
        for _ in 0..20 {
            let (p, me) = (p.clone(), me.clone());
            handles.push(tokio::spawn(async move {
                match budget::reserve(&p, "key-1", COST, &me, budget::DEFAULT_RESERVATION_TTL).await.unwrap() {
                    Reserve::Granted(r) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        assert!(budget::reconcile(&p, &r, COST).await.unwrap());
                        true
                    }
                    Reserve::Refused { .. } => false,
                }
            }));
        }
    }
    let mut granted = 0;
    for h in handles {
        granted += i64::from(h.await.unwrap());
    }
    let s = budget::status(&pool, "key-1").await.unwrap();
    assert_eq!(granted, 9, "floor(95 / 10) requests fit");
    assert_eq!(s.spent_micros, granted * COST);
    assert!(s.spent_micros - s.limit_micros <= COST);
    assert_eq!(s.reserved_micros, 0);

    budget::set_limit(&pool, "key-2", 10).await.unwrap();
    let ttl = Duration::from_millis(500);
    assert!(matches!(budget::reserve(&pool, "key-2", 10, "dead", ttl).await.unwrap(), Reserve::Granted(_)));
    assert!(matches!(budget::reserve(&pool, "key-2", 1, "live", ttl).await.unwrap(), Reserve::Refused { .. }));
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert!(
        matches!(budget::reserve(&pool, "key-2", 10, "live", ttl).await.unwrap(), Reserve::Granted(_)),
        "a dead replica's reservation lapses"
    );
    assert!(budget::reserve(&pool, "nope", 1, "live", ttl).await.is_err());
}
