//! The producer behind `GET /v1/runs/{id}/events`: follows the run's watch channel while it is in progress here,
//! falls back to polling the store (a run not yet resumed), and ends with one `summary` event.

use std::time::Duration;

use actix_web::web;
use tokio::sync::mpsc;

use crate::http::AppState;
use crate::runs::repo;

/// Least time between two progress events.
const THROTTLE: Duration = Duration::from_millis(100);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

fn frame(event: &str, data: &serde_json::Value) -> web::Bytes {
    web::Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// Push frames into `tx` until the run is final or the client goes away.
pub async fn produce(state: web::Data<AppState>, org: String, run_id: String, tx: mpsc::Sender<web::Bytes>) {
    let mut last_sent: Option<(String, u64)> = None;
    let mut last_frame = tokio::time::Instant::now();
    loop {
        let (o, r) = (org.clone(), run_id.clone());
        let run = match state.store.read(move |c| repo::get_run(c, &o, &r)).await {
            Ok(run) => run,
            Err(e) => {
                tx.send(frame("error", &serde_json::json!({"error": e.body().error.message}))).await.ok();
                return;
            }
        };
        if run.status.is_final() {
            let data = serde_json::to_value(&run).unwrap_or_default();
            tx.send(frame("summary", &data)).await.ok();
            return;
        }
        let mut done = run.progress.done;
        let sub = state.runs.subscribe(&run_id);
        if let Some(rx) = &sub {
            done = done.max(rx.borrow().done);
        }
        let key = (run.status.as_str().to_string(), done);
        if last_sent.as_ref() != Some(&key) {
            let data = serde_json::json!({"id": run.id, "status": run.status, "progress": {"done": done, "total": run.progress.total}});
            if tx.send(frame("progress", &data)).await.is_err() {
                return;
            }
            last_sent = Some(key);
            last_frame = tokio::time::Instant::now();
        } else if last_frame.elapsed() >= KEEPALIVE {
            if tx.send(web::Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                return;
            }
            last_frame = tokio::time::Instant::now();
        }
        match sub {
            Some(mut rx) => {
                tokio::time::sleep(THROTTLE).await;
                tokio::time::timeout(KEEPALIVE, rx.changed()).await.ok();
            }
            None => tokio::time::sleep(Duration::from_millis(250)).await,
        }
        if tx.is_closed() {
            return;
        }
    }
}
