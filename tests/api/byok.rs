use serde_json::{json, Value};

use crate::support::{assert_error, spawn_app, start};

#[tokio::test]
async fn create_list_get_patch_delete() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let (s, k) = app
        .post("/v1/byok-keys", &admin, json!({"provider": "openai", "name": "prod", "key": "sk-proj-abcdefghijklmnop", "default_model": "gpt-4o-mini"}))
        .await;
    assert_eq!(s, 201, "{k}");
    assert_eq!(k["key_prefix"], "sk-proj-");
    assert_eq!(k["is_default"], true, "the first key of a provider is its default");
    assert!(k.get("key").is_none());
    for field in ["id", "provider", "name", "key_prefix", "is_default", "created_at", "last_used_at", "last_test"] {
        assert!(k.get(field).is_some(), "{field} missing in {k}");
    }
    let id = k["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .patch(&format!("/v1/byok-keys/{id}"), &admin, json!({"name": "primary", "key": "sk-rotated-zyxwvu9876"}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "primary");
    assert_eq!(v["key_prefix"], "sk-rotat");
    assert!(v["rotated_at"].is_string());
    let (s, v) = app.patch(&format!("/v1/byok-keys/{id}"), &admin, json!({"base_url": "http://127.0.0.1:9/v1"})).await;
    assert_eq!((s, &v["base_url"]), (200, &json!("http://127.0.0.1:9/v1")));
    let (s, v) = app.patch(&format!("/v1/byok-keys/{id}"), &admin, json!({"base_url": null})).await;
    assert_eq!((s, &v["base_url"]), (200, &Value::Null));
    let (s, v) = app.patch(&format!("/v1/byok-keys/{id}"), &admin, json!({"is_default": false})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.get("/v1/byok-keys", &admin).await;
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (s, _) = app.delete(&format!("/v1/byok-keys/{id}"), &admin).await;
    assert_eq!(s, 204);
    assert_eq!(app.get(&format!("/v1/byok-keys/{id}"), &admin).await.0, 404);
    let keyfile = std::fs::read_to_string(app.data_dir.join("keys.enc")).unwrap();
    assert!(!keyfile.contains(&id), "the deleted key's record is gone from the key file at once");

    let (_, log) = app.get("/v1/audit-log", &admin).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in ["byok_key.create", "byok_key.rotate", "byok_key.update", "byok_key.delete"] {
        assert!(actions.contains(&want), "{want} not in {actions:?}");
    }
}

#[tokio::test]
async fn provider_specific_validation_names_the_field() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let cases = [
        (
            json!({"provider": "azure_openai", "name": "az", "key": "k123", "endpoint": "https://x.openai.azure.com", "deployment": "gpt4o"}),
            "api_version",
        ),
        (
            json!({"provider": "azure_openai", "name": "az", "key": "k123", "deployment": "d", "api_version": "2024-10-21"}),
            "endpoint",
        ),
        (json!({"provider": "openai_compatible", "name": "vllm", "key": "none"}), "base_url"),
        (json!({"provider": "openai", "name": "o", "key": "sk-1", "base_url": "not a url"}), "base_url"),
        (json!({"provider": "openai", "name": "o", "key": "sk-1", "deployment": "d"}), "deployment"),
        (json!({"provider": "openai", "name": "o", "key": "sk with spaces"}), "key"),
        (json!({"provider": "openai", "name": "", "key": "sk-1"}), "name"),
    ];
    for (body, field) in cases {
        let (s, v) = app.post("/v1/byok-keys", &admin, body.clone()).await;
        assert_error(s, &v, 400, "VALIDATION_FAILED");
        assert_eq!(v["error"]["details"]["field"], field, "for {body}: {v}");
    }
    let (s, v) = app.post("/v1/byok-keys", &admin, json!({"provider": "mistral", "name": "m", "key": "k"})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("mistral"));
    let (s, v) = app
        .post("/v1/byok-keys", &admin, json!({"provider": "azure_openai", "name": "az", "key": "k123", "endpoint": "https://x.openai.azure.com", "deployment": "gpt4o", "api_version": "2024-10-21"}))
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = app
        .post("/v1/byok-keys", &admin, json!({"provider": "openai_compatible", "name": "ollama", "key": "ollama", "base_url": "http://127.0.0.1:11434/v1"}))
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn one_default_per_provider_after_concurrent_switches() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let (s, v) = app
            .post(
                "/v1/byok-keys",
                &admin,
                json!({"provider": "openai", "name": format!("k{i}"), "key": format!("sk-key-number-{i}")}),
            )
            .await;
        assert_eq!(s, 201);
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, _) = app.post("/v1/byok-keys", &admin, json!({"provider": "groq", "name": "g", "key": "gsk_1234"})).await;
    assert_eq!(s, 201);
    let mut tasks = Vec::new();
    for round in 0..60 {
        let id = ids[round % ids.len()].clone();
        let (client, base, admin) = (app.client.clone(), app.base.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            client
                .patch(format!("{base}/v1/byok-keys/{id}"))
                .header("X-API-Key", admin)
                .json(&json!({"is_default": true}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, v) = app.get("/v1/byok-keys?limit=100", &admin).await;
    let items = v["items"].as_array().unwrap();
    let openai_defaults = items.iter().filter(|k| k["provider"] == "openai" && k["is_default"] == true).count();
    let groq_defaults = items.iter().filter(|k| k["provider"] == "groq" && k["is_default"] == true).count();
    assert_eq!((openai_defaults, groq_defaults), (1, 1));
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let mut app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let (s, k) = app
        .post("/v1/byok-keys", &admin, json!({"provider": "google", "name": "gem", "key": "AIzaSyRestartSecret123"}))
        .await;
    assert_eq!(s, 201);
    let cfg = app.config.clone();
    let admin_key = app.admin_key.clone();
    let dir = app.stop().await;
    let app = start(cfg, Some(admin_key)).await;
    let (s, v) = app.get(&format!("/v1/byok-keys/{}", k["id"].as_str().unwrap()), &admin).await;
    assert_eq!((s, &v["name"]), (200, &json!("gem")));
    let keyfile = std::fs::read_to_string(app.data_dir.join("keys.enc")).unwrap();
    assert!(keyfile.contains(k["id"].as_str().unwrap()));
    drop(dir);
}
