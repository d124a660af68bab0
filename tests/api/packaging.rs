//! Packaging: the Debian package metadata (Cargo.toml `[package.metadata.deb]`), the systemd unit and the
//! maintainer script must agree on who reads which file.
//!
//! The unit runs gavel as a `DynamicUser`: a uid allocated at start, in no group that owns anything in /etc. So a
//! file the service opens itself must be readable by "others", and a secret must never be: the master key stays
//! root-only and reaches the service through `LoadCredential=` (systemd reads it as root). These tests read the
//! real files; none needs a release build. The full `.deb` (`cargo deb`) needs one, so the layout check below packs
//! the same metadata with `dpkg-deb` around a stand-in binary instead.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the package installs the configuration file the unit passes to `gavel serve --config`.
const CONFIG_PATH: &str = "/etc/gavel/gavel.toml";
/// The master key the postinst generates and the unit loads as a credential.
const MASTER_KEY_PATH: &str = "/etc/gavel/master.key";
/// The "others may read" permission bit: what a DynamicUser needs on a root-owned file.
const OTHERS_READ: u32 = 0o004;
/// The "others may enter" bit: what a DynamicUser needs on a root-owned directory.
const OTHERS_EXEC: u32 = 0o001;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb() -> toml::Value {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    manifest["package"]["metadata"]["deb"].clone()
}

/// One `assets` row: source in the repo, absolute destination on the host, octal mode.
#[derive(Debug)]
struct Asset {
    source: String,
    dest: String,
    mode: u32,
}

fn assets() -> Vec<Asset> {
    let rows = deb()["assets"].as_array().unwrap().clone();
    rows.iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            let (source, dest, mode) = (row[0].as_str().unwrap(), row[1].as_str().unwrap(), row[2].as_str().unwrap());
            // cargo-deb: a destination ending in '/' is a directory that receives the file under its own name.
            let dest = if dest.ends_with('/') {
                format!("/{dest}{}", Path::new(source).file_name().unwrap().to_str().unwrap())
            } else {
                format!("/{}", dest.trim_start_matches('/'))
            };
            Asset { source: source.into(), dest, mode: u32::from_str_radix(mode, 8).unwrap() }
        })
        .collect()
}

/// The unit file as (section, key, value) rows, comments dropped.
fn unit() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(repo().join("packaging/gavel.service")).unwrap();
    let mut section = String::new();
    let mut rows = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            rows.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
        }
    }
    rows
}

fn service(key: &str) -> Vec<String> {
    unit().into_iter().filter(|(s, k, _)| s == "Service" && k == key).map(|(_, _, v)| v).collect()
}

/// The file `ExecStart=` passes as `--config`.
fn unit_config_path() -> String {
    let exec = service("ExecStart").pop().expect("the unit has an ExecStart");
    let words: Vec<&str> = exec.split_whitespace().collect();
    if let Some(i) = words.iter().position(|w| *w == "--config") {
        return words[i + 1].to_string();
    }
    words.iter().find_map(|w| w.strip_prefix("--config=")).expect("ExecStart passes --config").to_string()
}

/// The uid that owns files this process creates (root when dpkg runs the postinst).
fn my_uid(dir: &Path) -> u32 {
    let probe = dir.join("uid-probe");
    std::fs::write(&probe, b"").unwrap();
    std::fs::metadata(&probe).unwrap().uid()
}

fn run_postinst(root: &Path) -> std::process::Output {
    let out = Command::new("sh")
        .arg(repo().join("packaging/debian/postinst"))
        .arg("configure")
        .env("DPKG_ROOT", root)
        .output()
        .unwrap();
    assert!(out.status.success(), "postinst failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn set_dir_modes(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            set_dir_modes(&path);
        }
    }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn the_dynamic_user_can_read_the_packaged_config() {
    assert_eq!(service("DynamicUser"), ["yes"], "the unit runs as a DynamicUser");
    let config = unit_config_path();
    assert_eq!(config, CONFIG_PATH);
    let by_credential = service("LoadCredential").iter().any(|v| v.ends_with(&format!(":{config}")));
    if !by_credential {
        let asset = assets().into_iter().find(|a| a.dest == config).expect("the package installs the unit's config");
        assert_ne!(
            asset.mode & OTHERS_READ,
            0,
            "{config} is installed {:o}: a DynamicUser is 'other' and could not read it, so gavel would not start",
            asset.mode
        );
    }
    // Its directory must be enterable too; the unit sets ConfigurationDirectoryMode, dpkg makes it 0755.
    for mode in service("ConfigurationDirectoryMode") {
        assert_ne!(u32::from_str_radix(&mode, 8).unwrap() & OTHERS_EXEC, 0, "ConfigurationDirectoryMode={mode}");
    }
    let conf_files: Vec<String> =
        deb()["conf-files"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert!(conf_files.contains(&config), "{config} is a conffile, so upgrades keep local edits: {conf_files:?}");
}

#[test]
fn the_packaged_config_is_valid_and_names_no_secret() {
    let text = std::fs::read_to_string(repo().join("packaging/gavel.toml")).unwrap();
    let cfg: gavel::config::Config = toml::from_str(&text).expect("packaging/gavel.toml is a valid gavel config");
    assert!(cfg.keys.master_key_file.as_os_str().is_empty(), "the master key comes from the credential, not the file");
    assert!(cfg.judge.fallback_key_file.as_os_str().is_empty());
}

#[test]
fn the_master_key_is_root_only_and_reaches_the_service_as_a_credential() {
    let credential = format!("{}:{MASTER_KEY_PATH}", gavel::keystore::MASTER_KEY_CREDENTIAL);
    assert!(service("LoadCredential").contains(&credential), "the unit loads {credential}");
    assert!(
        assets().iter().all(|a| !a.dest.ends_with("master.key")),
        "a master key is made per host by the postinst, never shipped"
    );

    let root = tempfile::tempdir().unwrap();
    let first = run_postinst(root.path());
    let key_path = root.path().join(MASTER_KEY_PATH.trim_start_matches('/'));
    assert_eq!(mode_of(&key_path), 0o600, "{MASTER_KEY_PATH} is 0600");
    assert_eq!(std::fs::metadata(&key_path).unwrap().uid(), my_uid(root.path()), "owned by the installer (root)");
    let text = std::fs::read_to_string(&key_path).unwrap();
    gavel::keystore::MasterKey::from_base64(text.trim()).expect("gavel accepts the generated key");
    assert!(String::from_utf8_lossy(&first.stdout).contains("back it up"));
    assert!(!String::from_utf8_lossy(&first.stdout).contains(text.trim()), "the key is never printed");

    run_postinst(root.path());
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), text, "a second configure keeps the existing key");
    assert_eq!(mode_of(&key_path), 0o600);
}

#[test]
fn postinst_repairs_the_unreadable_config_of_older_packages_only() {
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc/gavel");
    std::fs::create_dir_all(&etc).unwrap();
    let config = etc.join("gavel.toml");
    std::fs::write(&config, "[server]\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    run_postinst(root.path());
    assert_eq!(mode_of(&config), 0o644, "the 0.1.0 package's 0640 is repaired");

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    run_postinst(root.path());
    assert_eq!(mode_of(&config), 0o600, "a mode the administrator chose is left alone");
}

#[test]
fn every_packaged_file_exists_and_the_unit_points_at_its_docs_and_state() {
    for a in assets() {
        // The binary is built by `cargo deb` (a release build), the rest is in the repository.
        if a.source != "target/release/gavel" {
            assert!(repo().join(&a.source).is_file(), "asset {} is missing", a.source);
        }
    }
    let license = deb()["license-file"][0].as_str().unwrap().to_string();
    assert!(repo().join(&license).is_file(), "license-file {license}");
    let docs = unit().into_iter().find(|(_, k, _)| k == "Documentation").map(|(_, _, v)| v).unwrap();
    let doc = docs.strip_prefix("file://").unwrap();
    assert!(assets().iter().any(|a| a.dest == doc), "Documentation={docs} is installed by the package");
    assert_eq!(service("StateDirectory"), ["gavel"]);
    assert!(service("Environment").contains(&"GAVEL_SERVER__DATA_DIR=/var/lib/gavel".to_string()));
}

/// Pack the metadata's layout with dpkg-deb (a stand-in for the release binary) and read the modes back from the
/// archive, as dpkg will install them.
#[test]
fn dpkg_deb_packs_the_layout_with_the_intended_modes() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        eprintln!("skipped: dpkg-deb is not installed");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    for a in assets() {
        let dest = root.join(a.dest.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        if a.source == "target/release/gavel" {
            std::fs::write(&dest, "#!/bin/sh\n# stand-in for the release binary\n").unwrap();
        } else {
            std::fs::copy(repo().join(&a.source), &dest).unwrap();
        }
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(a.mode)).unwrap();
    }
    let unit_dir = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&unit_dir).unwrap();
    std::fs::copy(repo().join("packaging/gavel.service"), unit_dir.join("gavel.service")).unwrap();
    let control = root.join("DEBIAN");
    std::fs::create_dir_all(&control).unwrap();
    std::fs::write(
        control.join("control"),
        "Package: gavel\nVersion: 0.0.0-test\nArchitecture: all\nMaintainer: test <test@localhost>\n\
         Description: layout check\n",
    )
    .unwrap();
    let conf: Vec<String> =
        deb()["conf-files"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    std::fs::write(control.join("conffiles"), conf.join("\n") + "\n").unwrap();
    std::fs::copy(repo().join("packaging/debian/postinst"), control.join("postinst")).unwrap();
    std::fs::set_permissions(control.join("postinst"), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Directories as cargo-deb writes them (0755), whatever this process's umask.
    set_dir_modes(&root);
    let deb_file = work.path().join("gavel.deb");
    let built = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(&deb_file)
        .output()
        .unwrap();
    assert!(built.status.success(), "dpkg-deb --build: {}", String::from_utf8_lossy(&built.stderr));

    let listing = Command::new("dpkg-deb").arg("-c").arg(&deb_file).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(".{path}")))
            .unwrap_or_else(|| panic!("{path} not in the package:\n{listing}"))
            .to_string()
    };
    let config = entry(CONFIG_PATH);
    assert!(config.starts_with("-rw-r--r-- root/root"), "{config}");
    assert!(entry("/usr/bin/gavel").starts_with("-rwxr-xr-x root/root"));
    assert!(!listing.contains("master.key"), "no master key in the package:\n{listing}");
    let conffiles = Command::new("dpkg-deb").arg("-I").arg(&deb_file).arg("conffiles").output().unwrap();
    assert!(String::from_utf8_lossy(&conffiles.stdout).contains(CONFIG_PATH));
}
