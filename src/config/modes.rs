//! The checks a configuration file passes before anything in it is used: it chooses the relay
//! and where passwords come from (a `password_command` runs as the user), so nobody but its
//! owner may write it, and its owner is the user (or, for the admin's file, root).

use super::{ConfigError, Origin};
use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Refuses a file writable by group or others, or owned by someone else than `euid` (root may
/// own the admin's file). The error says which file, why, and the command that fixes it.
pub(super) fn check(
    path: &Path,
    origin: Origin,
    meta: &Metadata,
    euid: u32,
) -> Result<(), ConfigError> {
    let error = |message: String| ConfigError {
        path: Some(path.to_owned()),
        line: None,
        key: None,
        message,
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "its group and by others",
            (true, false) => "its group",
            _ => "others",
        };
        return Err(error(format!(
            "the file can be written by {who} (mode {mode:04o}): whoever can write it chooses the relay and the password command, so envoi will not use it; fix it with `chmod go-w {}`",
            path.display()
        )));
    }
    let owner = meta.uid();
    let root_may = origin == Origin::Admin && owner == 0;
    if owner != euid && !root_may {
        let allowed = if origin == Origin::Admin {
            format!("you (uid {euid}) or root")
        } else {
            format!("you (uid {euid})")
        };
        return Err(error(format!(
            "the file belongs to uid {owner}, not to {allowed}: its owner can change what envoi runs as you, so envoi will not use it; fix it with `chown {euid} {}` (or use a file of your own)",
            path.display()
        )));
    }
    Ok(())
}

/// This process's effective user id: whom the files must belong to.
pub(super) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_by_others_or_owned_by_another_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "").unwrap();
        let me = euid();
        let with_mode = |mode: u32| {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            std::fs::metadata(&p).unwrap()
        };
        for mode in [0o600, 0o644, 0o640, 0o444] {
            assert!(
                check(&p, Origin::User, &with_mode(mode), me).is_ok(),
                "{mode:o}"
            );
        }
        for (mode, who) in [
            (0o666, "group and by others"),
            (0o664, "its group"),
            (0o646, "others"),
        ] {
            let e = check(&p, Origin::User, &with_mode(mode), me).unwrap_err();
            assert!(e.message.contains(who), "{mode:o}: {e}");
            assert!(e.message.contains("chmod go-w"), "{e}");
            assert_eq!(e.path.as_deref(), Some(p.as_path()));
        }
        // Owned by someone else: the file's owner is `me`, so pretend to be another user.
        let meta = with_mode(0o644);
        let other = me.wrapping_add(1000);
        let e = check(&p, Origin::User, &meta, other).unwrap_err();
        assert!(e.message.contains("chown"), "{e}");
        if me == 0 {
            // A root-owned admin file is fine for anyone; a root-owned user file is not.
            assert!(check(&p, Origin::Admin, &meta, other).is_ok());
        } else {
            assert!(check(&p, Origin::Admin, &meta, other).is_err());
        }
    }
}
