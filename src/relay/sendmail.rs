//! The sendmail relay: runs the administrator's `sendmail` binary (Postfix, Exim, OpenSMTPD...)
//! as `PATH [ARGS] -i -f SENDER -- RCPT...` with the message on stdin. Run with
//! std::process::Command rather than lettre's transport, which loses the child's exit code: 75
//! means "try later" and must not turn into a permanent failure.

use super::{Delivery, ErrorKind, Relay, RelayError};
use crate::envelope::Envelope;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Which sendmail binary to run, and the arguments that go before envoi's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendmailSettings {
    /// The binary, e.g. /usr/sbin/sendmail.
    pub path: PathBuf,
    /// Arguments placed before `-i -f SENDER -- RCPT...` (e.g. `-C/etc/alt.cf`).
    pub args: Vec<String>,
}

impl SendmailSettings {
    /// Runs `path` with no extra arguments.
    pub fn new(path: impl Into<PathBuf>) -> SendmailSettings {
        SendmailSettings {
            path: path.into(),
            args: Vec::new(),
        }
    }
}

/// Hands each message to the sendmail binary (one child per message); keeps its exit code.
#[derive(Debug, Clone)]
pub struct SendmailRelay {
    config: SendmailSettings,
}

impl SendmailRelay {
    /// A relay running the binary the settings name.
    pub fn new(settings: SendmailSettings) -> SendmailRelay {
        SendmailRelay { config: settings }
    }
}

/// The child's arguments (after the program name). `-i`: a line with a lone dot is data, not
/// the end of the message; `--` keeps a recipient that starts with `-` from being an option.
pub(crate) fn argv(config: &SendmailSettings, envelope: &Envelope) -> Vec<OsString> {
    let mut v: Vec<OsString> = config.args.iter().map(OsString::from).collect();
    v.push("-i".into());
    v.push("-f".into());
    v.push(envelope.from.as_str().into());
    v.push("--".into());
    v.extend(envelope.to.iter().map(|a| OsString::from(a.as_str())));
    v
}

/// A local sendmail reads text with the system's line endings; it turns them back into CRLF
/// when the message leaves the machine. A CR not followed by LF stays as it is.
pub(crate) fn to_local_line_endings(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    let mut i = 0;
    while i < message.len() {
        if message[i] == b'\r' && message.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(message[i]);
        i += 1;
    }
    out
}

/// What a child's exit status means (sysexits.h): 75 is temporary; other sysexits codes are
/// kept as they are; anything else is a permanent failure.
pub(crate) fn classify_exit(code: Option<i32>) -> (ErrorKind, u8) {
    match code {
        Some(75) => (ErrorKind::Transient, 75),
        Some(77) => (ErrorKind::Auth, 77),
        Some(78) => (ErrorKind::Config, 78),
        Some(74) => (ErrorKind::Io, 74),
        Some(c @ 64..=73) => (ErrorKind::Permanent, c as u8),
        // Killed by a signal: nothing was decided about the message, so try again later.
        None => (ErrorKind::Transient, 75),
        Some(_) => (ErrorKind::Permanent, 69),
    }
}

impl Relay for SendmailRelay {
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError> {
        let path = &self.config.path;
        if let (Ok(me), Ok(target)) = (
            std::env::current_exe().and_then(|p| p.canonicalize()),
            path.canonicalize(),
        ) && me == target
        {
            return Err(RelayError::new(
                ErrorKind::Config,
                format!(
                    "the sendmail relay {} is envoi itself, which would loop; point `path` at the MTA's sendmail",
                    path.display()
                ),
            ));
        }
        let mut child = Command::new(path)
            .args(argv(&self.config, envelope))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                RelayError::new(
                    ErrorKind::Config,
                    format!("cannot run the sendmail relay {}: {e}", path.display()),
                )
            })?;
        let data = to_local_line_endings(message);
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // Written from another thread: a child that fills its stderr pipe before reading all of
        // stdin would otherwise deadlock with us.
        let writer = std::thread::spawn(move || {
            let r = stdin.write_all(&data);
            drop(stdin);
            r
        });
        let out = child.wait_with_output().map_err(|e| {
            RelayError::new(
                ErrorKind::Transient,
                format!("waiting for {} failed: {e}", path.display()),
            )
        })?;
        let wrote = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")));
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let said = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        if !out.status.success() {
            let (kind, code) = classify_exit(out.status.code());
            let how = match out.status.code() {
                Some(c) => format!("exited with status {c}"),
                None => "was killed by a signal".to_owned(),
            };
            return Err(
                RelayError::new(kind, format!("{} {how}{said}", path.display())).with_code(code),
            );
        }
        // Success, yet the child stopped reading: it cannot have taken the whole message.
        if let Err(e) = wrote {
            return Err(RelayError::new(
                ErrorKind::Transient,
                format!(
                    "{} exited 0 without reading the whole message ({e}){said}",
                    path.display()
                ),
            ));
        }
        Ok(Delivery::all(envelope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Addr;
    use std::path::PathBuf;

    #[test]
    fn argv_puts_recipients_after_double_dash() {
        let cfg = SendmailSettings {
            path: PathBuf::from("/usr/sbin/sendmail"),
            args: vec!["-oi".into(), "-C/etc/alt".into()],
        };
        let env = Envelope::new(
            Addr::parse("a@x.example").unwrap(),
            [
                Addr::parse("b@y.example").unwrap(),
                Addr::parse("\"-oQ/tmp\"@y.example").unwrap(),
            ],
        );
        let v: Vec<String> = argv(&cfg, &env)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            v,
            [
                "-oi",
                "-C/etc/alt",
                "-i",
                "-f",
                "a@x.example",
                "--",
                "b@y.example",
                "-oQ/tmp@y.example"
            ]
        );
    }

    #[test]
    fn line_endings() {
        assert_eq!(to_local_line_endings(b"a\r\nb\rc\r\n\r\n"), b"a\nb\rc\n\n");
    }

    #[test]
    fn exit_statuses() {
        assert_eq!(classify_exit(Some(75)), (ErrorKind::Transient, 75));
        assert_eq!(classify_exit(Some(69)), (ErrorKind::Permanent, 69));
        assert_eq!(classify_exit(Some(67)), (ErrorKind::Permanent, 67));
        assert_eq!(classify_exit(Some(1)), (ErrorKind::Permanent, 69));
        assert_eq!(classify_exit(None), (ErrorKind::Transient, 75));
    }

    #[test]
    fn runs_a_child_and_keeps_its_code() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-sendmail");
        let got = dir.path().join("got");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" > {0}.args\ncat > {0}\n[ \"$5\" = \"--\" ] || exit 64\necho 'queue full' >&2\nexit ${{FAKE_CODE:-0}}\n",
                got.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = Envelope::new(
            Addr::parse("a@x.example").unwrap(),
            [Addr::parse("b@y.example").unwrap()],
        );
        let cfg = SendmailSettings {
            path: script.clone(),
            args: vec!["-oem".into()],
        };
        let mut r = SendmailRelay::new(cfg.clone());
        let d = r.submit(&env, b"Subject: x\r\n\r\nHi\r\n").unwrap();
        assert_eq!(d.accepted.len(), 1);
        assert_eq!(std::fs::read(&got).unwrap(), b"Subject: x\n\nHi\n");
        let args = std::fs::read_to_string(got.with_extension("args")).unwrap();
        assert_eq!(args.trim(), "-oem -i -f a@x.example -- b@y.example");
        let cfg = SendmailSettings {
            path: PathBuf::from("/bin/sh"),
            args: vec![
                "-c".into(),
                "cat >/dev/null; echo busy >&2; exit 75".into(),
                "sh".into(),
            ],
        };
        let e = SendmailRelay::new(cfg).submit(&env, b"x\r\n").unwrap_err();
        assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Transient, 75));
        assert!(e.message().contains("busy"), "{}", e.message());
    }
}
