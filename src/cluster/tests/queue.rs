//! The queue: transactional enqueue, disjoint claims, lease expiry after a replica dies, exactly one result.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use super::super::queue::{self, Completion, NewTask};
use super::super::{replica_id, Lane};
use super::{replica, setup};

fn tasks(n: usize) -> Vec<NewTask> {
    (0..n).map(|i| NewTask { item_id: format!("item-{i:04}"), payload: json!({"i": i}) }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enqueue_is_part_of_the_callers_transaction() {
    let Some((_pg, pool)) = setup().await else { return };
    let lane = Lane::new("org-a", "openai");
    let mut c = pool.get().await.unwrap();
    let tx = c.transaction().await.unwrap();
    assert_eq!(queue::enqueue(&tx, &lane, "run-1", &tasks(3)).await.unwrap(), 3);
    tx.rollback().await.unwrap();
    assert_eq!(queue::pending(&pool, "run-1").await.unwrap(), 0, "a rolled-back run leaves no tasks");
    let tx = c.transaction().await.unwrap();
    assert_eq!(queue::enqueue(&tx, &lane, "run-1", &tasks(2500)).await.unwrap(), 2500);
    assert_eq!(queue::enqueue(&tx, &lane, "run-1", &tasks(3)).await.unwrap(), 0, "enqueue is idempotent");
    tx.commit().await.unwrap();
    assert_eq!(queue::pending(&pool, "run-1").await.unwrap(), 2500);
    // Claims stay in their lane and within the batch size.
    let other = Lane::new("org-b", "openai");
    assert!(queue::claim(&pool, &other, "r", 10, queue::DEFAULT_LEASE).await.unwrap().is_empty());
    let got = queue::claim(&pool, &lane, "r", 10, queue::DEFAULT_LEASE).await.unwrap();
    assert_eq!(got.len(), 10);
    assert_eq!(got[0].item_id, "item-0000");
    assert_eq!(got[0].attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replicas_claim_disjoint_tasks_and_store_one_result_each() {
    let Some((pg, pool)) = setup().await else { return };
    let lane = Lane::new("org-a", "anthropic");
    let mut c = pool.get().await.unwrap();
    let tx = c.transaction().await.unwrap();
    queue::enqueue(&tx, &lane, "run-2", &tasks(600)).await.unwrap();
    tx.commit().await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..3 {
        let p = replica(&pg, 4);
        let lane = lane.clone();
        handles.push(tokio::spawn(async move {
            let me = replica_id();
            let mut mine = Vec::new();
            loop {
                let got = queue::claim(&p, &lane, &me, 7, queue::DEFAULT_LEASE).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                for t in got {
                    assert_eq!(
                        queue::complete(&p, &t, &me, &json!({"ok": t.item_id})).await.unwrap(),
                        Completion::Recorded
                    );
                    mine.push(t.item_id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 600, "every task claimed once");
    assert_eq!(unique.len(), 600);
    assert_eq!(queue::results(&pool, "run-2").await.unwrap().len(), 600);
    assert_eq!(queue::pending(&pool, "run-2").await.unwrap(), 0);
}

/// A replica claims and dies (its pool dropped, nothing completed): its leases expire, another replica takes the
/// tasks, and when the "dead" one turns out to have been only slow, its late completion is a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_replicas_leases_expire_and_another_takes_the_work_exactly_once() {
    let Some((pg, pool)) = setup().await else { return };
    let lane = Lane::new("org-k", "openai");
    let mut c = pool.get().await.unwrap();
    let tx = c.transaction().await.unwrap();
    queue::enqueue(&tx, &lane, "run-k", &tasks(8)).await.unwrap();
    tx.commit().await.unwrap();
    let lease = Duration::from_millis(800);

    let dying = replica(&pg, 2);
    let dead_id = replica_id();
    let held = queue::claim(&dying, &lane, &dead_id, 5, lease).await.unwrap();
    assert_eq!(held.len(), 5);
    dying.close();
    drop(dying);

    let survivor = replica(&pg, 2);
    let me = replica_id();
    let first = queue::claim(&survivor, &lane, &me, 100, lease).await.unwrap();
    assert_eq!(first.len(), 3, "leased tasks are invisible until their lease expires");
    for t in &first {
        queue::complete(&survivor, t, &me, &json!("survivor")).await.unwrap();
    }
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let taken = queue::claim(&survivor, &lane, &me, 100, lease).await.unwrap();
    assert_eq!(taken.len(), 5, "the dead replica's tasks are claimable after the lease");
    assert!(taken.iter().all(|t| t.attempts == 2));
    for t in &taken {
        assert_eq!(queue::complete(&survivor, t, &me, &json!("survivor")).await.unwrap(), Completion::Recorded);
    }
    // The first replica was slow, not dead: it finishes the tasks it once held.
    let late = replica(&pg, 2);
    for t in &held {
        assert_eq!(queue::complete(&late, t, &dead_id, &json!("late")).await.unwrap(), Completion::Duplicate);
    }
    let results = queue::results(&pool, "run-k").await.unwrap();
    assert_eq!(results.len(), 8, "exactly one result per item");
    assert!(results.iter().all(|(_, v)| v == &json!("survivor")));
    assert_eq!(queue::pending(&pool, "run-k").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_keep_a_lease_and_release_gives_it_back() {
    let Some((pg, pool)) = setup().await else { return };
    let lane = Lane::new("org-h", "openai");
    let mut c = pool.get().await.unwrap();
    let tx = c.transaction().await.unwrap();
    queue::enqueue(&tx, &lane, "run-h", &tasks(2)).await.unwrap();
    tx.commit().await.unwrap();
    let lease = Duration::from_millis(600);
    let (a, b) = (replica_id(), replica_id());
    assert_eq!(queue::claim(&pool, &lane, &a, 10, lease).await.unwrap().len(), 2);
    let other = replica(&pg, 2);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(queue::heartbeat(&pool, &a, lease).await.unwrap(), 2);
        assert!(queue::claim(&other, &lane, &b, 10, lease).await.unwrap().is_empty(), "a heartbeated lease holds");
    }
    assert_eq!(queue::release_all(&pool, &a).await.unwrap(), 2);
    assert_eq!(
        queue::claim(&other, &lane, &b, 10, lease).await.unwrap().len(),
        2,
        "released tasks are claimable at once"
    );
    assert_eq!(queue::heartbeat(&pool, &a, lease).await.unwrap(), 0, "a released owner holds nothing");
}
