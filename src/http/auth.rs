//! Authentication as extractors: a handler states who may call it in its signature, and gets the org with it.
//! Every org-scoped query takes the org id from here, never from the request.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use actix_web::{web, FromRequest, HttpRequest};

use crate::error::{Error, Result};
use crate::http::AppState;
use crate::tenancy::apikey;
use crate::tenancy::model::Role;
use crate::tenancy::repo;

/// How often `last_used_at` of an API key is refreshed at most, so authentication stays a read.
const TOUCH_INTERVAL_S: i64 = 60;

/// An org API key's caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub org_id: String,
    pub key_id: String,
    pub role: Role,
}

impl Caller {
    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key_id)
    }
}

/// Any org key (admin or member).
pub struct OrgMember(pub Caller);
/// An org key with the admin role; a member gets 403.
pub struct OrgAdmin(pub Caller);
/// The server admin key from `gavel init` (or `server.admin_key_sha256`).
pub struct ServerAdmin;

/// Any valid key, the server admin's included: for `/v1/me`, which tells a client which of the two it holds.
pub enum AnyKey {
    ServerAdmin,
    Org(Caller),
}

enum Authenticated {
    ServerAdmin,
    Org(Caller),
}

fn presented_key(req: &HttpRequest) -> Result<String> {
    let headers = req.headers();
    let raw = if let Some(v) = headers.get("x-api-key") {
        v.to_str().map_err(|_| Error::Unauthenticated("X-API-Key is not valid text".into()))?.trim().to_string()
    } else if let Some(v) = headers.get(actix_web::http::header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| Error::Unauthenticated("Authorization is not valid text".into()))?;
        match v.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_string(),
            _ => return Err(Error::Unauthenticated("Authorization must be 'Bearer gv_…'".into())),
        }
    } else {
        return Err(Error::Unauthenticated(
            "an API key is required: send X-API-Key: gv_… or Authorization: Bearer gv_…".into(),
        ));
    };
    Ok(raw)
}

/// Authentication between the rate limits: a client address that keeps failing is refused before its key is looked
/// at, each failure with a presented key counts against its address, and a caller who passes takes a token from
/// its key's and its org's buckets (see `ratelimit`).
async fn authenticate(req: HttpRequest) -> Result<Authenticated> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("application state missing")))?;
    let client = req.peer_addr().map(|a| a.ip());
    state.limits.check_client(client)?;
    let key = presented_key(&req)?;
    let who = match identify(&state, key).await {
        Err(e @ Error::Unauthenticated(_)) => {
            state.limits.failed_auth(client);
            return Err(e);
        }
        other => other?,
    };
    match &who {
        Authenticated::ServerAdmin => state.limits.admit("server_admin", None)?,
        Authenticated::Org(c) => state.limits.admit(&c.key_id, Some(&c.org_id))?,
    }
    Ok(who)
}

/// An org key verified against the store, as the auth cache keeps it: who it is, never the key (the cache is keyed
/// by the key's SHA-256). `touched` (Unix seconds of the last `last_used_at` write) is shared by every copy, so
/// the stamp is refreshed once per interval however many requests see it.
#[derive(Clone, Debug)]
pub struct VerifiedKey {
    org_id: String,
    key_id: String,
    role: Role,
    touched: Arc<AtomicI64>,
}

async fn identify(state: &web::Data<AppState>, key: String) -> Result<Authenticated> {
    if !apikey::well_formed(&key) {
        return Err(Error::Unauthenticated("unknown or revoked API key".into()));
    }
    let hash = apikey::hash(&key);
    drop(key);
    if state.is_server_admin(&hash) {
        return Ok(Authenticated::ServerAdmin);
    }
    let owner = match state.auth_cache.get(&hash) {
        Some(v) => v,
        None => {
            let stamp = state.auth_cache.stamp();
            let lookup = hash.clone();
            let found = state
                .store
                .read(move |c| repo::find_key_owner(c, &lookup))
                .await?
                .ok_or_else(|| Error::Unauthenticated("unknown or revoked API key".into()))?;
            let touched = found
                .last_used_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(i64::MIN, |t| t.timestamp());
            let v = VerifiedKey {
                org_id: found.org_id,
                key_id: found.key_id,
                role: found.role,
                touched: Arc::new(AtomicI64::new(touched)),
            };
            state.auth_cache.put(hash, v.clone(), stamp);
            v
        }
    };
    let now = chrono::Utc::now().timestamp();
    let last = owner.touched.load(Ordering::Relaxed);
    let stale = now.saturating_sub(last) >= TOUCH_INTERVAL_S;
    if stale && owner.touched.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        let store = state.store.clone();
        let key_id = owner.key_id.clone();
        actix_web::rt::spawn(async move {
            let now = crate::store::now();
            // The stamp changes nothing the auth cache or the gateway's org view keep.
            if let Err(e) = store.write_unmemoised(move |c| repo::touch_api_key(c, &key_id, &now)).await {
                tracing::debug!(error = %e, "could not record API key use");
            }
        });
    }
    tracing::Span::current().record("org", owner.org_id.as_str());
    Ok(Authenticated::Org(Caller { org_id: owner.org_id, key_id: owner.key_id, role: owner.role }))
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

impl FromRequest for OrgMember {
    type Error = Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req).await? {
                Authenticated::Org(c) => Ok(OrgMember(c)),
                Authenticated::ServerAdmin => {
                    Err(Error::Forbidden("the server admin key manages orgs only; use an org API key for this".into()))
                }
            }
        })
    }
}

impl FromRequest for OrgAdmin {
    type Error = Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let member = OrgMember::from_request(req, payload);
        Box::pin(async move {
            let OrgMember(c) = member.await?;
            if c.role == Role::Admin {
                Ok(OrgAdmin(c))
            } else {
                Err(Error::Forbidden("this needs an org admin key; member keys cannot do it".into()))
            }
        })
    }
}

impl FromRequest for AnyKey {
    type Error = Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(match authenticate(req).await? {
                Authenticated::ServerAdmin => AnyKey::ServerAdmin,
                Authenticated::Org(c) => AnyKey::Org(c),
            })
        })
    }
}

impl FromRequest for ServerAdmin {
    type Error = Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req).await? {
                Authenticated::ServerAdmin => Ok(ServerAdmin),
                Authenticated::Org(_) => Err(Error::Forbidden("this needs the server admin key".into())),
            }
        })
    }
}
