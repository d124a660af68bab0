//! The request log's filters (`GET /v1/gateway/requests?model=&project=&cache=&status=`), which the dashboard's
//! gateway page sends: each narrows the page on the server, paging keeps the filter, bad values are 400s.

use serde_json::json;

use crate::gateway::{add_key, gw_app, logged, send};
use crate::support::assert_error;
use crate::support::common::key_body;
use crate::support::fake_provider::{FakeProvider, Knobs};

#[tokio::test]
async fn the_request_log_filters_by_model_project_cache_and_status() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai_compatible", &fake, "sk-log-filter-0001")).await;
    let chat = |model: &str, text: &str| json!({"model": model, "messages": [{"role": "user", "content": text}]});
    // Two identical calls of project web (a miss, then a hit), one of project api, one unknown model (404).
    for (body, project) in [
        (chat("openai_compatible/fake-model", "same"), "web"),
        (chat("openai_compatible/fake-model", "same"), "web"),
        (chat("openai_compatible/other-model", "other"), "api"),
        (chat("no-such-model-anywhere", "x"), "api"),
    ] {
        let r = send(&app, &admin, "/v1/chat/completions", &body, &[("x-gavel-project", project)]).await;
        r.text().await.unwrap();
    }
    logged(&app, &admin, 4).await;
    let count = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let (s, v) = app.get(&format!("/v1/gateway/requests?{q}"), admin).await;
            assert_eq!(s, 200, "{q}: {v}");
            v["items"].as_array().unwrap().clone()
        }
    };
    assert_eq!(count("project=web").await.len(), 2);
    assert_eq!(count("model=fake-model").await.len(), 2, "the served model");
    let hits = count("cache=hit").await;
    assert_eq!((hits.len(), hits[0]["project"].as_str()), (1, Some("web")));
    assert_eq!(count("status=ok").await.len(), 3);
    let errors = count("status=error").await;
    assert_eq!(errors.len(), 1);
    assert!(errors[0]["status"].as_u64().unwrap() >= 400, "{errors:?}");
    let code = errors[0]["status"].as_u64().unwrap();
    let (_, exact) = app.get(&format!("/v1/gateway/requests?status={code}"), &admin).await;
    assert_eq!(exact["items"].as_array().unwrap().len(), 1, "{exact}");
    assert_eq!(count("status=ok&project=api").await.len(), 1, "filters combine");
    assert_eq!(count("model=&status=").await.len(), 4, "empty values do not filter");
    // Paging keeps the filter.
    let (_, p1) = app.get("/v1/gateway/requests?status=ok&limit=2", &admin).await;
    let cursor = p1["next_cursor"].as_str().unwrap().to_owned();
    let (_, p2) = app.get(&format!("/v1/gateway/requests?status=ok&limit=2&cursor={cursor}"), &admin).await;
    assert_eq!((p2["items"].as_array().unwrap().len(), &p2["next_cursor"]), (1, &json!(null)), "{p2}");
    for (q, field) in [("status=teapot", "status"), ("status=42", "status"), ("cache=maybe", "cache")] {
        let (s, v) = app.get(&format!("/v1/gateway/requests?{q}"), &admin).await;
        assert_error(s, &v, 400, "VALIDATION_FAILED");
        assert_eq!(v["error"]["details"]["field"], field, "{q}: {v}");
    }
    let (s, v) = app.get("/v1/gateway/requests?colour=red", &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
}
