//! The org view a gateway call routes by (the org's settings and provider keys, the caller's limits, whether its
//! project logs content), read from the store and kept in an in-process [`Memo`](crate::store::Memo) per
//! (org, API key, project): a call whose view is held takes no store trip for it. Every write to the tables the
//! view comes from (settings, provider keys, API key limits, projects) invalidates the memo before its caller
//! hears back, so a changed limit or setting holds from the next call on; `gateway.view_cache_ttl_s` backs that up
//! for writes from another process.

use std::sync::Arc;

use super::resolve::{alias_table, OrgView};
use super::serve::{internal, Failure, Gateway};

/// The memo's key: ids cannot hold a newline, so the three parts cannot run into each other.
pub(super) fn view_key(org: &str, api_key_id: &str, project: Option<&str>) -> String {
    let mut k = String::with_capacity(org.len() + api_key_id.len() + project.map_or(0, str::len) + 3);
    k.push_str(org);
    k.push('\n');
    k.push_str(api_key_id);
    k.push('\n');
    if let Some(p) = project {
        k.push('+');
        k.push_str(p);
    }
    k
}

impl Gateway {
    /// The held view of this caller, if any.
    pub(super) fn held_view(&self, key: &str) -> Option<Arc<OrgView>> {
        self.views.get(key)
    }

    /// The caller's view (see the module documentation), read if not held.
    pub async fn view(&self, org_id: &str, api_key_id: &str, project: Option<&str>) -> Result<Arc<OrgView>, Failure> {
        let key = view_key(org_id, api_key_id, project);
        if let Some(v) = self.held_view(&key) {
            return Ok(v);
        }
        let stamp = self.views.stamp();
        let (org, api_key, project) = (org_id.to_owned(), api_key_id.to_owned(), project.map(str::to_owned));
        let view =
            self.store.read(move |c| load_view(c, &org, &api_key, project.as_deref())).await.map_err(internal)?;
        let view = Arc::new(view);
        self.views.put(key, view.clone(), stamp);
        Ok(view)
    }
}

/// The org's keys and settings, the caller's limits (its own, else the org's default) and whether the call's
/// `project` logs content.
pub(super) fn load_view(
    c: &rusqlite::Connection,
    org: &str,
    api_key_id: &str,
    project: Option<&str>,
) -> crate::error::Result<OrgView> {
    let settings = crate::judge::org_settings(c, org)?;
    let limits = crate::tenancy::repo::limits_of(c, api_key_id)?.or_else(|| settings.default_key_limits.clone());
    let log_content = match project {
        Some(p) => crate::tenancy::repo::logs_gateway_content(c, org, p)?,
        None => false,
    };
    let aliases = alias_table(&settings.model_aliases);
    Ok(OrgView { keys: crate::byok::repo::all_of_org(c, org)?, settings, aliases, limits, log_content })
}
