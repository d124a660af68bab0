//! A throwaway PostgreSQL for tests and benches: `initdb` into a temp dir, `pg_ctl start` on a free loopback
//! port (unix socket in the temp dir too), `pg_ctl stop -m immediate` on drop. Binaries come from PATH or
//! /usr/lib/postgresql/*/bin (Debian's `postgresql` package). Without them the caller fails with a clear
//! message unless GAVEL_SKIP_POSTGRES=1, which skips (like the browser test's GAVEL_SKIP_BROWSER). PostgreSQL
//! refuses to run as root, so under root it runs as the `postgres` user (runuser).
#![allow(clippy::disallowed_methods, clippy::expect_used, clippy::unwrap_used, unreachable_pub, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

fn find_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() && d.join("postgres").is_file() {
                return Some(std::fs::canonicalize(d.join("pg_ctl")).ok()?.parent()?.to_path_buf());
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

impl Postgres {
    /// Starts a server, or `None` when skipped by GAVEL_SKIP_POSTGRES=1 (the caller returns early).
    pub fn start() -> Option<Postgres> {
        let skip = std::env::var_os("GAVEL_SKIP_POSTGRES").is_some_and(|v| v == "1");
        let Some(bin) = find_bin() else {
            if skip {
                eprintln!("skipped: GAVEL_SKIP_POSTGRES=1 and no PostgreSQL binaries");
                return None;
            }
            panic!(
                "PostgreSQL binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: \
                 install Debian's `postgresql` package (as .ci/run does) or set GAVEL_SKIP_POSTGRES=1 to skip"
            );
        };
        if skip {
            eprintln!("skipped: GAVEL_SKIP_POSTGRES=1");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown").args(["-R", "postgres:"]).arg(dir.path()).status().expect("chown");
            assert!(ok.success(), "chown of the temp dir to the postgres user failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Postgres { dir, bin, as_postgres, port };
        let data = pg.dir.path().join("data");
        pg.run("initdb", &["-D", data.to_str().unwrap(), "-U", "gavel", "--auth=trust", "-N", "-E", "UTF8"]);
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c shared_buffers=16MB -c max_connections=200",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("log");
        pg.run("pg_ctl", &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &opts, "-w", "start"]);
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .current_dir(self.path())
                .output()
        } else {
            Command::new(&exe).args(args).current_dir(self.path()).output()
        }
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.path().join("log")).unwrap_or_default()
        );
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A tokio-postgres connection string for the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("host=127.0.0.1 port={} user=gavel dbname=postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"];
        let stopped = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        };
        if let Err(e) = stopped {
            eprintln!("pg_ctl stop: {e}");
        }
    }
}
