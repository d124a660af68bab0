//! `GET /v1/models`: what the org can reach with a usable key. For each provider with one (the org's default key,
//! or the managed key where the org's mode allows it): the keys' default models, the built-in price table's models
//! of that provider, and every alias with at least one reachable target. Ids are spelled so that sending them back
//! as `model` routes to the same place (`provider/model` where a bare name would not).

use std::collections::BTreeMap;

use crate::domain::Provider;

use super::openai::{ModelInfo, ModelList};
use super::resolve::{name_of, provider_of, usable, OrgView};
use super::routing::native_provider;
use super::serve::Gateway;

/// `created` of listed models: gavel does not know when a provider released one, and OpenAI's SDK needs a number.
const CREATED: i64 = 0;

fn spelled(provider: Provider, model: &str) -> String {
    if native_provider(model) == Some(name_of(provider)) {
        model.to_owned()
    } else {
        format!("{}/{model}", provider.as_str())
    }
}

impl Gateway {
    /// See the module documentation.
    pub fn models(&self, view: &OrgView) -> ModelList {
        let reachable: Vec<Provider> =
            Provider::ALL.into_iter().filter(|p| usable(view, *p, self.fallback())).collect();
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for k in view.keys.iter().filter(|k| k.is_default && reachable.contains(&k.provider)) {
            for m in [&k.default_model, &k.deployment].into_iter().flatten() {
                out.insert(spelled(k.provider, m), k.provider.as_str().to_owned());
            }
        }
        for p in &reachable {
            if let Some(m) = crate::providers::default_model(*p) {
                out.insert(spelled(*p, m), p.as_str().to_owned());
            }
            for m in crate::providers::pricing::known_models() {
                if native_provider(m) == Some(name_of(*p)) {
                    out.insert(m.to_owned(), p.as_str().to_owned());
                }
            }
        }
        let org_aliases = super::resolve::alias_table(&view.settings.model_aliases);
        for table in [self.config_aliases(), &org_aliases] {
            for (alias, targets) in table {
                if targets.iter().any(|t| reachable.contains(&provider_of(t.provider))) {
                    out.insert(alias.clone(), "gavel".to_owned());
                }
            }
        }
        ModelList::new(out.into_iter().map(|(id, owner)| ModelInfo::new(id, CREATED, owner)).collect())
    }
}
