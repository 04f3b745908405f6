//! The development secret's file: where it lives by default, and reading or creating it
//! safely (mode 0600 in a 0700 directory, never through a symbolic link, refused when other
//! users could read it). Knows nothing of settings: `config` says which file, and makes the
//! secret the signing key.

use std::path::{Path, PathBuf};

/// Shortest shared secret accepted (Better Auth asks for 32 characters as well), from the
/// settings or from the file.
pub const MIN_SECRET_BYTES: usize = 32;

/// The development secret's one place, whatever DATABASE_URL and the working directory are,
/// so that `serve` and `token` always agree: `$XDG_CONFIG_HOME/todo-api/dev-secret`, else
/// `$HOME/.config/todo-api/dev-secret`, else `.todo-api.dev-secret` in the working directory.
pub fn default_dev_secret_path() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let config_home = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")));
    match config_home {
        Some(dir) => dir.join("todo-api").join("dev-secret"),
        None => PathBuf::from(".todo-api.dev-secret"),
    }
}

/// Reads the development secret, or creates it (mode 0600, in a 0700 directory). The file is
/// never followed through a symbolic link, and one that other users could read is refused:
/// anyone who reads it can sign tokens for any user.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read, Write};
    let shown = path.display();
    match open_no_follow(path, std::fs::OpenOptions::new().read(true)) {
        Ok(mut file) => {
            let metadata = file.metadata()?;
            if !metadata.is_file() {
                return Err(Error::other(format!("{shown} is not a regular file")));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(Error::other(format!(
                        "{shown} can be read by other users (mode {mode:03o}), and whoever reads \
                         it can sign tokens for any user; run `chmod 600 {shown}` (or delete \
                         the file to generate a new secret)"
                    )));
                }
            }
            let mut existing = String::new();
            file.read_to_string(&mut existing)?;
            if existing.trim().len() >= MIN_SECRET_BYTES {
                return Ok(existing.trim().to_owned());
            }
            // Too short to be ours (an empty file, say): replaced below with a new secret.
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) if is_symlink_error(&e) => {
            return Err(Error::other(format!(
                "{shown} is a symbolic link; the development secret is never read or written \
                 through one. Remove the link, or set DEV_SECRET_FILE to a regular file"
            )));
        }
        Err(e) => return Err(e),
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = open_no_follow(path, &mut options).map_err(|e| {
        if is_symlink_error(&e) {
            Error::other(format!(
                "{shown} is a symbolic link; refusing to write through it"
            ))
        } else {
            e
        }
    })?;
    // An existing short file keeps its mode on open: tighten it before writing the secret.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(secret.as_bytes())?;
    Ok(secret)
}

/// Opens `path` without following a symbolic link in its last component (O_NOFOLLOW).
fn open_no_follow(
    path: &Path,
    options: &mut std::fs::OpenOptions,
) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// O_NOFOLLOW on a symbolic link fails with ELOOP.
fn is_symlink_error(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reads_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("dev-secret");
        let first = load_or_create_secret(&path).unwrap();
        assert!(first.len() >= MIN_SECRET_BYTES);
        assert_eq!(load_or_create_secret(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev-secret");
        std::fs::write(&path, "short").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let secret = load_or_create_secret(&path).unwrap();
        assert!(secret.len() >= MIN_SECRET_BYTES);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
    }

    #[cfg(unix)]
    #[test]
    fn readable_files_and_symbolic_links_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev-secret");
        std::fs::write(&path, "x".repeat(64)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = load_or_create_secret(&path).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let error = load_or_create_secret(&link).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
        let error = load_or_create_secret(&dangling).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");
    }
}
