//! Key health: a key the provider rejects fails the rest of its work at once (and is marked failing in its
//! metadata, with an audit row); an unproven key gets only a few calls in flight until its first success; an
//! endpoint that cannot be reached three times in a row is not called again for the rest of the run.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use super::keys::{KeyRef, Target};
use super::{err, from_provider, Judge, RunCtx, PROBE_CALLS, UNREACHABLE_AFTER};
use crate::domain::{Code, ScoreError};
use crate::providers::ProviderError;

impl Judge {
    /// A stored key was rotated or passed a test: let it be used again (a rotated secret is proven afresh).
    pub fn clear_failure(&self, key_id: &str) {
        let key = KeyRef::Stored(key_id.to_string());
        if let Ok(mut f) = self.failed.lock() {
            f.remove(&key);
        }
        if let Ok(mut p) = self.proven.lock() {
            p.remove(&key);
        }
    }

    pub(super) fn failure_of(&self, key: &KeyRef) -> Option<ScoreError> {
        self.failed.lock().ok().and_then(|f| f.get(key).cloned())
    }

    /// Why a call must not be made at all: the key was rejected, the endpoint kept failing to connect in this run,
    /// or the run has spent its limit.
    pub(super) fn blocked(&self, ctx: &RunCtx, target: &Target) -> Option<ScoreError> {
        if let Some(e) = self.failure_of(&target.key_ref) {
            return Some(e);
        }
        if ctx
            .unreachable
            .lock()
            .map(|m| m.get(&target.key_ref).copied().unwrap_or(0) >= UNREACHABLE_AFTER)
            .unwrap_or(false)
        {
            return Some(err(
                Code::ByokEndpointUnreachable,
                format!(
                    "{} could not be reached {UNREACHABLE_AFTER} times in a row; the rest of this run's calls to it were not attempted",
                    target.provider.as_str()
                ),
            ));
        }
        let limit = ctx.cost_limit?;
        let spent = ctx.spent();
        (spent >= limit)
            .then(|| err(Code::CostLimitExceeded, format!("the run has spent ${spent:.4} of its ${limit:.4} limit")))
    }

    /// The probe gate of a key that has not succeeded yet (None once it has).
    pub(super) fn probe_gate(&self, key: &KeyRef) -> Option<Arc<Semaphore>> {
        if self.proven.lock().map(|p| p.contains(key)).unwrap_or(false) {
            return None;
        }
        let mut probing = self.probing.lock().unwrap_or_else(|p| p.into_inner());
        Some(probing.entry(key.clone()).or_insert_with(|| Arc::new(Semaphore::new(PROBE_CALLS))).clone())
    }

    pub(super) fn mark_proven(&self, key: &KeyRef) {
        let newly = self.proven.lock().map(|mut p| p.insert(key.clone())).unwrap_or(false);
        if newly {
            if let Some(gate) = self.probing.lock().ok().and_then(|mut m| m.remove(key)) {
                // Waiters get an error from a closed semaphore, which lets them through.
                gate.close();
            }
        }
    }

    pub(super) async fn mark_failing(&self, ctx: &RunCtx, target: &Target, e: &ProviderError) {
        let se = from_provider(e);
        let first =
            self.failed.lock().map(|mut f| f.insert(target.key_ref.clone(), se.clone()).is_none()).unwrap_or(false);
        if let (true, KeyRef::Stored(id)) = (first, &target.key_ref) {
            tracing::warn!(key = %id, code = %e.code(), "the provider rejected a key; failing its remaining work");
            let (org, id, run) = (ctx.org_id.clone(), id.clone(), ctx.run_id.clone());
            let failure = json!({"code": se.code, "message": se.message, "at": crate::store::now()});
            if let Err(e) = self.backend.mark_failing(org, id.clone(), run, failure).await {
                tracing::error!(key = %id, error = %e, "could not record that the key is failing");
            }
        }
    }
}
