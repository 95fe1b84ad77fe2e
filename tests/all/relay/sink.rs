//! Postfix's smtp-sink (it offers PIPELINING and DSN, and dumps each transaction with its MAIL
//! and RCPT parameters as `X-Mail-Args:` / `X-Rcpt-Args:` lines), and a loopback proxy that
//! counts the client's turns: how often the client spoke again after waiting for the server.

use super::harness::*;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Sink {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl Sink {
    pub fn start() -> Sink {
        use std::os::unix::fs::PermissionsExt;
        let dir = run_dir().join(unique("sink"));
        std::fs::create_dir(&dir).unwrap();
        // smtp-sink writes as `nobody`.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = free_port();
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/%M.", dir.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("10")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink (Debian package postfix; scripts/test installs it)");
        wait_until("smtp-sink to listen", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Sink { port, dir, child }
    }

    /// The transactions dumped so far (each file: X- lines, then the message).
    pub fn dumps(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        v.sort();
        v
    }

    /// Waits until `n` transactions were dumped.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        wait_until("smtp-sink's dumps", Duration::from_secs(10), || {
            let d = self.dumps();
            (d.len() >= n).then_some(d)
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The values of the `name:` lines smtp-sink put before the message.
pub fn args(dump: &str, name: &str) -> Vec<String> {
    dump.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
        .map(str::to_owned)
        .collect()
}
