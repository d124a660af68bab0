//! Embedded, ordered, forward-only migrations; the applied version lives in SQLite's `user_version`.
//! Never edit a released migration: append a new one.

use rusqlite_migration::{Migrations, M};

/// The schema version this build expects.
pub const SCHEMA_VERSION: usize = 12;

/// All migrations in order.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        // 1: tenancy.
        M::up(
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE orgs (
                 id TEXT PRIMARY KEY,
                 name TEXT NOT NULL UNIQUE,
                 created_at TEXT NOT NULL
             );
             CREATE TABLE projects (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 UNIQUE (org_id, name)
             );
             CREATE TABLE api_keys (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
                 key_hash TEXT NOT NULL UNIQUE,
                 key_prefix TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 last_used_at TEXT,
                 revoked_at TEXT
             );
             CREATE INDEX api_keys_org ON api_keys (org_id, id);",
        ),
        // 2: provider-key metadata (the secrets live in the key file) and the audit log.
        M::up(
            "CREATE TABLE provider_keys (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 provider TEXT NOT NULL,
                 name TEXT NOT NULL,
                 key_prefix TEXT NOT NULL,
                 is_default INTEGER NOT NULL DEFAULT 0,
                 base_url TEXT,
                 endpoint TEXT,
                 deployment TEXT,
                 api_version TEXT,
                 default_model TEXT,
                 status TEXT NOT NULL DEFAULT 'active',
                 created_at TEXT NOT NULL,
                 updated_at TEXT NOT NULL,
                 rotated_at TEXT,
                 last_used_at TEXT,
                 last_test TEXT
             );
             CREATE INDEX provider_keys_org ON provider_keys (org_id, id);
             CREATE UNIQUE INDEX provider_keys_one_default ON provider_keys (org_id, provider) WHERE is_default = 1;
             CREATE TABLE audit_log (
                 id TEXT PRIMARY KEY,
                 org_id TEXT,
                 actor TEXT NOT NULL,
                 action TEXT NOT NULL,
                 target_type TEXT NOT NULL,
                 target_id TEXT,
                 details TEXT NOT NULL DEFAULT '{}',
                 at TEXT NOT NULL
             );
             CREATE INDEX audit_log_org ON audit_log (org_id, id);",
        ),
        // 3: scorers, datasets, runs, their items and results. (run_id, idx) keys make "one result per item" a constraint.
        M::up(
            "CREATE TABLE scorers (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 type TEXT NOT NULL,
                 config TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 UNIQUE (project_id, name)
             );
             CREATE TABLE datasets (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 items INTEGER NOT NULL,
                 created_at TEXT NOT NULL
             );
             CREATE INDEX datasets_project ON datasets (project_id, id);
             CREATE TABLE dataset_items (
                 dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                 idx INTEGER NOT NULL,
                 item TEXT NOT NULL,
                 PRIMARY KEY (dataset_id, idx)
             ) WITHOUT ROWID;
             CREATE TABLE runs (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                 kind TEXT NOT NULL DEFAULT 'eval',
                 status TEXT NOT NULL,
                 spec TEXT NOT NULL,
                 total INTEGER NOT NULL,
                 done INTEGER NOT NULL DEFAULT 0,
                 summary TEXT,
                 error TEXT,
                 dataset_id TEXT,
                 created_at TEXT NOT NULL,
                 started_at TEXT,
                 finished_at TEXT
             );
             CREATE INDEX runs_project ON runs (project_id, id);
             CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running');
             CREATE TABLE run_items (
                 run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                 idx INTEGER NOT NULL,
                 item TEXT NOT NULL,
                 PRIMARY KEY (run_id, idx)
             ) WITHOUT ROWID;
             CREATE TABLE run_results (
                 run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                 idx INTEGER NOT NULL,
                 outcome INTEGER NOT NULL,
                 scores TEXT NOT NULL,
                 PRIMARY KEY (run_id, idx)
             ) WITHOUT ROWID;",
        ),
        // 4: judging: usage per run/provider/model/key/day, the verdict cache, org settings, why a key is failing.
        M::up(
            "CREATE TABLE usage (
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 run_id TEXT NOT NULL,
                 provider TEXT NOT NULL,
                 model TEXT NOT NULL,
                 key_ref TEXT NOT NULL,
                 day TEXT NOT NULL,
                 calls INTEGER NOT NULL DEFAULT 0,
                 input_tokens INTEGER NOT NULL DEFAULT 0,
                 output_tokens INTEGER NOT NULL DEFAULT 0,
                 cost_usd REAL NOT NULL DEFAULT 0,
                 cache_hits INTEGER NOT NULL DEFAULT 0,
                 price_known INTEGER NOT NULL DEFAULT 1,
                 PRIMARY KEY (org_id, run_id, provider, model, key_ref, day)
             ) WITHOUT ROWID;
             CREATE INDEX usage_org_day ON usage (org_id, day);
             CREATE TABLE judge_cache (
                 key TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 verdict TEXT NOT NULL,
                 created_at INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE org_settings (
                 org_id TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
                 settings TEXT NOT NULL
             );
             ALTER TABLE provider_keys ADD COLUMN failure TEXT;",
        ),
        // 5: the gateway: where usage came from, per-API-key limits, the answer cache and the request log
        // (no prompt or completion text in it).
        M::up(
            "ALTER TABLE usage ADD COLUMN source TEXT NOT NULL DEFAULT 'judge';
             ALTER TABLE api_keys ADD COLUMN limits TEXT;
             CREATE TABLE gateway_cache (
                 key TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 provider TEXT NOT NULL,
                 model TEXT NOT NULL,
                 answer TEXT NOT NULL,
                 created_at INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE gateway_requests (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 at TEXT NOT NULL,
                 request_id TEXT NOT NULL,
                 api_key_id TEXT NOT NULL,
                 project TEXT,
                 endpoint TEXT NOT NULL,
                 provider TEXT,
                 model TEXT,
                 key_source TEXT,
                 key_ref TEXT,
                 status INTEGER NOT NULL,
                 error_code TEXT,
                 stream INTEGER NOT NULL DEFAULT 0,
                 input_tokens INTEGER NOT NULL DEFAULT 0,
                 output_tokens INTEGER NOT NULL DEFAULT 0,
                 cost_usd REAL NOT NULL DEFAULT 0,
                 latency_ms INTEGER NOT NULL DEFAULT 0,
                 overhead_ms INTEGER NOT NULL DEFAULT 0,
                 cache TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0
             );
             CREATE INDEX gateway_requests_org ON gateway_requests (org_id, id);
             CREATE INDEX gateway_requests_key_at ON gateway_requests (api_key_id, at);",
        ),
        // 6: comparing runs in SQL: each item's matching key (its id, else its position) with an index, and each
        // result's verdict signature (scorer → pass/fail/error), so two runs are matched and classified without
        // decoding every result's scores.
        M::up(
            "ALTER TABLE run_items ADD COLUMN item_key TEXT;
             UPDATE run_items SET item_key = CAST(coalesce(json_extract(item, '$.id'), idx) AS TEXT);
             CREATE INDEX run_items_key ON run_items (run_id, item_key);
             ALTER TABLE run_results ADD COLUMN verdicts TEXT;",
        ),
        // 7: run kinds beyond `eval` (failure analysis, security audit): each result's kind-specific detail (the
        // analysis verdict or the audit findings, as JSON) and a project's stored custom failure buckets. Runs keep
        // their `kind` column from migration 3 (existing runs are `eval`).
        M::up(
            "ALTER TABLE run_results ADD COLUMN detail TEXT;
             CREATE TABLE buckets (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                 name TEXT NOT NULL,
                 spec TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 UNIQUE (project_id, name)
             );",
        ),
        // 8: per-project content logging of gateway calls: the project's opt-in, and the logged prompt and
        // completion (JSON `{prompt, completion, truncated}`) on the request-log row, NULL for every other call.
        M::up(
            "ALTER TABLE projects ADD COLUMN gateway_log_content INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE gateway_requests ADD COLUMN content TEXT;",
        ),
        // 9: human reviews of results. One review per
        // (run, item, scorer, reviewer = API key id): a later one replaces it. `project_id` is kept on the row so a
        // scorer's agreement over a whole project is one indexed scan.
        M::up(
            "CREATE TABLE reviews (
                 id TEXT PRIMARY KEY,
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                 run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                 idx INTEGER NOT NULL,
                 scorer TEXT NOT NULL,
                 reviewer TEXT NOT NULL,
                 pass INTEGER NOT NULL,
                 comment TEXT,
                 created_at TEXT NOT NULL,
                 UNIQUE (run_id, idx, scorer, reviewer)
             );
             CREATE INDEX reviews_run ON reviews (run_id, id);
             CREATE INDEX reviews_project_scorer ON reviews (project_id, scorer);",
        ),
        // 10: run identity and per-item timing: a run's name, labels (JSON, as shown) and resolved baseline; one
        // `run_labels` row per label, indexed so `?label=k:v` and "newest completed run with this label" are range
        // scans in id order; each result's scoring+judging time.
        M::up(
            "ALTER TABLE runs ADD COLUMN name TEXT;
             ALTER TABLE runs ADD COLUMN labels TEXT;
             ALTER TABLE runs ADD COLUMN baseline_id TEXT;
             CREATE TABLE run_labels (
                 run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                 project_id TEXT NOT NULL,
                 key TEXT NOT NULL,
                 value TEXT NOT NULL,
                 PRIMARY KEY (run_id, key)
             ) WITHOUT ROWID;
             CREATE INDEX run_labels_lookup ON run_labels (project_id, key, value, run_id);
             ALTER TABLE run_results ADD COLUMN elapsed_ms INTEGER;",
        ),
        // 11: runs that produce their outputs book their target calls as usage source `target`: the source joins
        // the usage key, so a run's judge and target calls on the same provider, model, key and day stay apart.
        M::up(
            "CREATE TABLE usage_by_source (
                 org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                 run_id TEXT NOT NULL,
                 source TEXT NOT NULL DEFAULT 'judge',
                 provider TEXT NOT NULL,
                 model TEXT NOT NULL,
                 key_ref TEXT NOT NULL,
                 day TEXT NOT NULL,
                 calls INTEGER NOT NULL DEFAULT 0,
                 input_tokens INTEGER NOT NULL DEFAULT 0,
                 output_tokens INTEGER NOT NULL DEFAULT 0,
                 cost_usd REAL NOT NULL DEFAULT 0,
                 cache_hits INTEGER NOT NULL DEFAULT 0,
                 price_known INTEGER NOT NULL DEFAULT 1,
                 PRIMARY KEY (org_id, run_id, source, provider, model, key_ref, day)
             ) WITHOUT ROWID;
             INSERT INTO usage_by_source (org_id, run_id, source, provider, model, key_ref, day, calls, input_tokens,
                                          output_tokens, cost_usd, cache_hits, price_known)
                 SELECT org_id, run_id, source, provider, model, key_ref, day, calls, input_tokens, output_tokens,
                        cost_usd, cache_hits, price_known FROM usage;
             DROP TABLE usage;
             ALTER TABLE usage_by_source RENAME TO usage;
             CREATE INDEX usage_org_day ON usage (org_id, day);",
        ),
        // 12: the gateway request log records the `model` the caller
        // asked for (an alias, `provider/model` or a native name) beside the provider and model that served it;
        // NULL on older rows.
        M::up("ALTER TABLE gateway_requests ADD COLUMN requested_model TEXT;"),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
        let mut c = Connection::open_in_memory().unwrap();
        migrations().to_latest(&mut c).unwrap();
        let v: usize = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn upgrades_a_database_made_by_an_older_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut c = Connection::open(&path).unwrap();
            migrations().to_version(&mut c, 1).unwrap();
            c.execute("INSERT INTO orgs (id, name, created_at) VALUES ('org_1', 'acme', '2026-01-01T00:00:00Z')", [])
                .unwrap();
            c.execute(
                "INSERT INTO api_keys (id, org_id, name, role, key_hash, key_prefix, created_at)
                 VALUES ('key_1', 'org_1', 'ci', 'admin', 'h', 'gv_abcde', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
            let v: usize = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(v, 1);
        }
        let store = crate::store::Store::open(&path).unwrap();
        let (v, name, keys): (usize, String, i64) = store
            .read_blocking(|c| {
                let v = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                let name = c.query_row("SELECT name FROM orgs WHERE id = 'org_1'", [], |r| r.get(0))?;
                let keys = c.query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0))?;
                Ok((v, name, keys))
            })
            .unwrap();
        assert_eq!((v, name.as_str(), keys), (SCHEMA_VERSION, "acme", 1));
        let pk: i64 =
            store.read_blocking(|c| Ok(c.query_row("SELECT count(*) FROM provider_keys", [], |r| r.get(0))?)).unwrap();
        assert_eq!(pk, 0);
        store.close();
    }
}
