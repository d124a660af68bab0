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
    // The answer reaches the cache through the request log's writer, with its log row: once the first call is
    // logged, the second is a hit (without this wait, a loaded machine let the second call in first).
    let first = chat("openai_compatible/fake-model", "same");
    send(&app, &admin, "/v1/chat/completions", &first, &[("x-gavel-project", "web")]).await.text().await.unwrap();
    logged(&app, &admin, 1).await;
    for (body, project) in [
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

/// A call that asked for an alias or `provider/model` is logged with what it asked (`requested_model`) beside the
/// provider and model that served it; `?model=` finds calls by either name; the OpenAPI schema names the field.
#[tokio::test]
async fn the_request_log_keeps_the_asked_model_beside_the_served_one() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|c| {
        c.gateway.models.insert(
            "house-fast".into(),
            vec![gavel::domain::ModelTarget {
                provider: gavel::domain::Provider::OpenaiCompatible,
                model: "fake-model".into(),
                key_id: None,
            }],
        );
    })
    .await;
    add_key(&app, &admin, key_body("openai_compatible", &fake, "sk-log-asked-0001")).await;
    let chat = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": format!("hi {model}")}]});
    for model in ["house-fast", "openai_compatible/fake-model", "no-such-model-anywhere"] {
        let r = send(&app, &admin, "/v1/chat/completions", &chat(model), &[]).await;
        r.text().await.unwrap();
    }
    let rows = logged(&app, &admin, 3).await;
    let row = |asked: &str| {
        rows.iter().find(|r| r["requested_model"] == asked).unwrap_or_else(|| panic!("{asked}: {rows:?}"))
    };
    let alias = row("house-fast");
    assert_eq!(
        (&alias["provider"], &alias["model"], &alias["status"]),
        (&json!("openai_compatible"), &json!("fake-model"), &json!(200)),
        "{alias}"
    );
    let prefixed = row("openai_compatible/fake-model");
    assert_eq!(
        (&prefixed["provider"], &prefixed["model"]),
        (&json!("openai_compatible"), &json!("fake-model")),
        "{prefixed}"
    );
    let unknown = row("no-such-model-anywhere");
    assert_eq!((&unknown["model"], unknown["status"].as_u64()), (&json!(null), Some(404)), "{unknown}");

    let models = |q: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let (s, v) = app.get(&format!("/v1/gateway/requests?{q}"), admin).await;
            assert_eq!(s, 200, "{q}: {v}");
            let mut asked: Vec<String> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["requested_model"].as_str().unwrap().to_owned())
                .collect();
            asked.sort();
            asked
        }
    };
    assert_eq!(models("model=house-fast").await, ["house-fast"], "the asked alias");
    assert_eq!(models("model=fake-model").await, ["house-fast", "openai_compatible/fake-model"], "the served model");
    assert_eq!(models("model=no-such-model-anywhere").await, ["no-such-model-anywhere"], "an unknown model as asked");
    assert_eq!(models("model=house-fast&status=error").await, Vec::<String>::new(), "filters combine");

    let doc: serde_json::Value =
        app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    // The row's schema is inlined in the path's answer or a component, depending on how utoipa collects it.
    let listed = doc["paths"]["/v1/gateway/requests"]["get"].to_string() + &doc["components"]["schemas"].to_string();
    assert!(listed.contains("\"requested_model\""), "the OpenAPI document names requested_model");
}
