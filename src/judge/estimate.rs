//! What a red-team (or any) estimate asks the judge before a run exists: which model a judge spec would be
//! served by, and the price overrides usage is booked with. Resolution as [`Judge::prepare`] does it (the request's
//! key, the org's keys and settings, the server's overrides), without reading a secret or calling anything.

use std::collections::HashMap;

use super::keys::{Candidates, RequestKey};
use super::Judge;
use crate::scoring::judge::JudgeSpec;

impl Judge {
    /// The model `spec` would be called with for `org` (`run_model`: the run's `model`); `None` when no usable key
    /// serves it (then the run has no judge).
    pub async fn model_for(
        &self,
        org: &str,
        spec: &JudgeSpec,
        run_model: Option<&str>,
        request: Option<&RequestKey>,
    ) -> crate::error::Result<Option<String>> {
        let (keys, settings) = self.backend.keys_and_settings(org).await?;
        let cands = Candidates {
            keys,
            fallback: self.fallback.clone(),
            request: request.cloned(),
            settings,
            server_model_overrides: self.cfg.model_overrides.clone(),
        };
        let Ok((provider, choice)) = cands.choose(spec.provider, spec.key_id.as_deref()) else { return Ok(None) };
        Ok(cands.model(&spec.kind, spec.model.as_deref(), run_model, provider, &choice).ok())
    }

    /// USD per 1M (input, output) tokens of config `judge.prices`, over the built-in table.
    pub fn price_overrides(&self) -> &HashMap<String, (f64, f64)> {
        &self.prices
    }
}
