//! HTTP targets' headers, held in memory for the life of their run (as a run's own `provider_key` is), never
//! stored: after a restart they are gone, and the run's remaining items fail with a message saying so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::spec::Headers;

/// Headers by run id.
#[derive(Default)]
pub struct Vault {
    held: Mutex<HashMap<String, Arc<Headers>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([REDACTED])")
    }
}

impl Vault {
    pub fn hold(&self, run_id: &str, headers: Headers) {
        if let Ok(mut m) = self.held.lock() {
            m.insert(run_id.to_string(), Arc::new(headers));
        }
    }

    pub fn get(&self, run_id: &str) -> Option<Arc<Headers>> {
        self.held.lock().ok()?.get(run_id).cloned()
    }

    /// Forget a run's headers (the run ended).
    pub fn release(&self, run_id: &str) {
        if let Ok(mut m) = self.held.lock() {
            m.remove(run_id);
        }
    }
}
