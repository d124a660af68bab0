use reqwest::Method;
use serde_json::json;

use crate::support::{assert_error, spawn_app};

#[tokio::test]
async fn orgs_are_managed_by_the_server_admin_only() {
    let app = spawn_app().await;
    let (org_id, org_admin) = app.org("acme").await;
    assert!(org_admin.starts_with("gv_") && org_admin.len() >= 35);
    let (s, v) = app.get("/v1/orgs", &app.admin_key).await;
    assert_eq!(s, 200);
    assert_eq!(v["items"][0]["id"], org_id.as_str());
    assert!(v["next_cursor"].is_null());
    let (s, v) = app.post("/v1/orgs", &app.admin_key.clone(), json!({"name": "acme"})).await;
    assert_error(s, &v, 409, "CONFLICT");
    let (s, v) = app.get("/v1/orgs", &org_admin).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.get("/v1/projects", &app.admin_key).await;
    assert_error(s, &v, 403, "FORBIDDEN");
}

#[tokio::test]
async fn missing_unknown_and_malformed_keys_are_401() {
    let app = spawn_app().await;
    let (s, v) = app.json(Method::GET, "/v1/projects", None, None).await;
    assert_error(s, &v, 401, "UNAUTHENTICATED");
    let (s, v) = app.get("/v1/projects", "gv_000000000000000000000000000000000000000").await;
    assert_error(s, &v, 401, "UNAUTHENTICATED");
    let (s, v) = app.get("/v1/projects", "not a key").await;
    assert_error(s, &v, 401, "UNAUTHENTICATED");
    let r =
        app.client.get(format!("{}/v1/projects", app.base)).header("Authorization", "Basic abc").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn bearer_and_header_keys_both_work_and_revocation_is_immediate() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let (key_id, member) = app.api_key(&admin, "member").await;
    let r = app.client.get(format!("{}/v1/projects", app.base)).bearer_auth(&member).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (s, v) = app.get("/v1/api-keys", &admin).await;
    assert_eq!(s, 200);
    let listed = v["items"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| k.get("key").is_none() && k["key_prefix"].as_str().unwrap().len() == 8));
    let (s, _) = app.delete(&format!("/v1/api-keys/{key_id}"), &admin).await;
    assert_eq!(s, 204);
    let (s, v) = app.get("/v1/projects", &member).await;
    assert_error(s, &v, 401, "UNAUTHENTICATED");
    let (s, v) = app.delete(&format!("/v1/api-keys/{key_id}"), &admin).await;
    assert_error(s, &v, 404, "NOT_FOUND");
}

#[tokio::test]
async fn the_last_admin_key_cannot_be_revoked() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let (s, v) = app.get("/v1/api-keys", &admin).await;
    assert_eq!(s, 200);
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = app.delete(&format!("/v1/api-keys/{id}"), &admin).await;
    assert_error(s, &v, 409, "CONFLICT");
}

#[tokio::test]
async fn members_cannot_manage_api_or_provider_keys() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let (_, member) = app.api_key(&admin, "member").await;
    let (s, v) = app
        .post("/v1/byok-keys", &admin, json!({"provider": "openai", "name": "k", "key": "sk-admin-made-0001"}))
        .await;
    assert_eq!(s, 201, "{v}");
    let pk = v["id"].as_str().unwrap().to_string();
    let (s, v) = app.post("/v1/api-keys", &member, json!({"name": "x", "role": "admin"})).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.get("/v1/api-keys", &member).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) =
        app.post("/v1/byok-keys", &member, json!({"provider": "openai", "name": "k", "key": "sk-member-0001"})).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.patch(&format!("/v1/byok-keys/{pk}"), &member, json!({"name": "renamed"})).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.delete(&format!("/v1/byok-keys/{pk}"), &member).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.get("/v1/audit-log", &member).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    // Read-only metadata and project work stay open to members.
    let (s, v) = app.get("/v1/byok-keys", &member).await;
    assert_eq!(s, 200);
    assert_eq!(v["items"][0]["id"], pk.as_str());
    let (s, _) = app.get(&format!("/v1/byok-keys/{pk}"), &member).await;
    assert_eq!(s, 200);
    let (s, _) = app.post("/v1/projects", &member, json!({"name": "web"})).await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn every_resource_of_another_org_is_404_like_a_missing_one() {
    let app = spawn_app().await;
    let (_, a) = app.org("a").await;
    let (_, b) = app.org("b").await;
    let (_, p) = app.post("/v1/projects", &a, json!({"name": "web"})).await;
    let project = p["id"].as_str().unwrap();
    let (_, k) =
        app.post("/v1/byok-keys", &a, json!({"provider": "anthropic", "name": "k", "key": "sk-ant-secret-0001"})).await;
    let pk = k["id"].as_str().unwrap();
    let (member_id, _) = app.api_key(&a, "member").await;

    for path in [format!("/v1/projects/{project}"), "/v1/projects/web".into(), format!("/v1/byok-keys/{pk}")] {
        let (s, v) = app.get(&path, &b).await;
        assert_error(s, &v, 404, "NOT_FOUND");
        let (s_missing, v_missing) = app.get(&path.replace("01", "02"), &b).await;
        assert_eq!((s_missing, &v_missing["error"]["code"]), (404, &v["error"]["code"]));
    }
    let (s, v) = app.patch(&format!("/v1/byok-keys/{pk}"), &b, json!({"name": "stolen"})).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    for path in [format!("/v1/projects/{project}"), format!("/v1/byok-keys/{pk}"), format!("/v1/api-keys/{member_id}")]
    {
        let (s, v) = app.delete(&path, &b).await;
        assert_error(s, &v, 404, "NOT_FOUND");
    }
    let (_, v) = app.get("/v1/byok-keys", &b).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    let (_, v) = app.get("/v1/projects", &b).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    // Everything of org a is still there.
    assert_eq!(app.get(&format!("/v1/projects/{project}"), &a).await.0, 200);
    assert_eq!(app.get(&format!("/v1/byok-keys/{pk}"), &a).await.1["name"], "k");
    assert_eq!(app.get("/v1/api-keys", &a).await.1["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn projects_by_name_or_id_and_pagination_never_repeats_or_skips() {
    let app = spawn_app().await;
    let (_, a) = app.org("a").await;
    let mut made = Vec::new();
    for i in 0..23 {
        let (s, v) = app.post("/v1/projects", &a, json!({"name": format!("p{i:02}")})).await;
        assert_eq!(s, 201);
        made.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, v) = app.get("/v1/projects/p07", &a).await;
    assert_eq!((s, v["id"].as_str().unwrap()), (200, made[7].as_str()));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/projects?limit=5&cursor={c}"),
            None => "/v1/projects?limit=5".into(),
        };
        let (s, v) = app.get(&path, &a).await;
        assert_eq!(s, 200, "{v}");
        seen.extend(v["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let (s, v) = app.get("/v1/projects?limit=0", &a).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.get("/v1/projects?limit=5000", &a).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.get("/v1/projects?cursor=%25%25", &a).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.post("/v1/projects", &a, json!({"name": "has space"})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "name");
    let (s, _) = app.delete("/v1/projects/p00", &a).await;
    assert_eq!(s, 204);
    assert_eq!(app.get("/v1/projects/p00", &a).await.0, 404);
}
