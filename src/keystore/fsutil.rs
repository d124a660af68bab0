//! Filesystem helpers shared by the master key and key file code: private
//! modes, exclusive creation, atomic replacement and directory fsync.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::KeystoreError;

/// Files holding key material must not be readable by anyone but the owner.
pub(crate) fn check_private_mode(path: &Path, mode: u32) -> Result<(), KeystoreError> {
    if mode & 0o077 != 0 {
        return Err(KeystoreError::InsecurePermissions { path: path.to_path_buf(), mode: mode & 0o7777 });
    }
    Ok(())
}

/// Creates `path` with O_EXCL and mode 0600 from the first moment, so there
/// is never a window in which the file is world-readable or clobbers another.
pub(crate) fn create_private_new(path: &Path) -> Result<File, KeystoreError> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            KeystoreError::AlreadyExists { path: path.to_path_buf() }
        } else {
            KeystoreError::io(path, e)
        }
    })
}

/// Makes a just-created or just-renamed directory entry durable.
pub(crate) fn sync_parent_dir(path: &Path) -> Result<(), KeystoreError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| KeystoreError::io(dir, e))
}

/// Replaces `path` so that readers and crashes see either the old or the new
/// content, never a mix: temp file in the same directory (so rename is
/// atomic) created 0600, fsynced, renamed over the target, then the directory
/// fsynced so the rename itself is durable. The temp file is removed on error.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    let name = path.file_name().ok_or_else(|| {
        KeystoreError::io(path, std::io::Error::new(ErrorKind::InvalidInput, "path has no file name"))
    })?;
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".tmp-{:016x}", rand::random::<u64>()));
        let tmp = path.with_file_name(tmp_name);
        match create_private_new(&tmp) {
            Ok(f) => break (tmp, f),
            Err(KeystoreError::AlreadyExists { .. }) if attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| KeystoreError::io(&tmp, e));
    drop(file);
    let renamed = written.and_then(|()| fs::rename(&tmp, path).map_err(|e| KeystoreError::io(path, e)));
    if let Err(e) = renamed {
        fs::remove_file(&tmp).ok();
        return Err(e);
    }
    sync_parent_dir(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_content_privately_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.enc");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(entries(dir.path()), vec!["keys.enc".to_owned()]);
    }

    #[test]
    fn atomic_write_into_missing_dir_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("keys.enc");
        let err = atomic_write(&path, b"x").unwrap_err();
        assert!(matches!(err, KeystoreError::Io { .. }), "{err:?}");
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_removes_temp_file() {
        // Renaming a file over a non-empty directory fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"x").unwrap();
        assert!(atomic_write(&path, b"x").is_err());
        assert_eq!(entries(dir.path()), vec!["target".to_owned()]);
    }

    #[test]
    fn create_private_new_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        create_private_new(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let err = create_private_new(&path).unwrap_err();
        assert!(matches!(err, KeystoreError::AlreadyExists { .. }));
    }

    #[test]
    fn private_mode_check() {
        let p = Path::new("/k");
        assert!(check_private_mode(p, 0o100600).is_ok());
        assert!(check_private_mode(p, 0o100400).is_ok());
        for bad in [0o644, 0o640, 0o604, 0o602, 0o620, 0o606] {
            let err = check_private_mode(p, 0o100000 | bad).unwrap_err();
            assert!(err.to_string().contains("chmod 600 /k"), "{err}");
        }
    }
}
