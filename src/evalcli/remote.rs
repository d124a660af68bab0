//! The flags `gavel analyze`, `gavel audit` and `gavel redteam` share: where the server is, and how the finished
//! run is reported. One definition, so the three commands cannot drift in names, environment variables or the
//! wording of their usage errors (`gavel eval` merges the same names with its evaluation file, in `evalfile`).

use std::path::{Path, PathBuf};

use super::usage;

/// Where a remote command reaches its server.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// Server URL, e.g. http://127.0.0.1:8080 (env GAVEL_URL).
    #[arg(long, env = "GAVEL_URL", value_name = "URL")]
    pub server: Option<String>,
    /// Org API key (env GAVEL_API_KEY).
    #[arg(long, env = "GAVEL_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Project name or id.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
}

/// [`RemoteArgs`] with every flag present.
pub(super) struct Remote<'a> {
    /// The server URL without a trailing slash.
    pub server: &'a str,
    pub key: &'a str,
    pub project: &'a str,
}

impl RemoteArgs {
    /// The three flags, or the usage error (exit 2) naming the first one missing.
    pub(super) fn resolve(&self) -> anyhow::Result<Remote<'_>> {
        let server = self.server.as_deref().ok_or_else(|| usage("--server URL is required"))?;
        let key = self.api_key.as_deref().ok_or_else(|| usage("--api-key is required (or GAVEL_API_KEY)"))?;
        let project = self.project.as_deref().ok_or_else(|| usage("--project is required"))?;
        Ok(Remote { server: server.trim_end_matches('/'), key, project })
    }
}

/// How the finished run is reported.
#[derive(clap::Args, Debug, Clone)]
pub struct OutputArgs {
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "OUT.xml")]
    pub junit: Option<PathBuf>,
    /// Print the finished run as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "S")]
    pub timeout_s: u64,
}

impl OutputArgs {
    /// `value` pretty-printed as JSON with `--json`, else the `table` (built only when it is printed).
    pub(super) fn print(&self, value: &impl serde::Serialize, table: impl FnOnce() -> String) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            print!("{}", table());
        }
        Ok(())
    }
}

/// Write a JUnit report; a failure is a usage error naming the file.
pub(super) fn write_junit(out: &Path, xml: String) -> anyhow::Result<()> {
    std::fs::write(out, xml).map_err(|e| usage(format!("writing {}: {e}", out.display())))
}
