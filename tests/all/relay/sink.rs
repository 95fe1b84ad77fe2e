//! Postfix's smtp-sink (it offers PIPELINING and DSN, and dumps each transaction with its MAIL
//! and RCPT parameters as `X-Mail-Args:` / `X-Rcpt-Args:` lines), and a loopback proxy that
//! counts the client's turns: how often the client spoke again after waiting for the server.

use super::harness::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
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
/// A proxy in front of `port`, for one connection at a time, recording which side each read
/// came from. A client turn is a run of client bytes after server bytes (or at the start):
/// every turn but the first waited for the server, so turns count round trips.
pub struct TurnCounter {
    pub port: u16,
    log: Arc<Mutex<Vec<bool>>>,
}

impl TurnCounter {
    pub fn start(upstream: u16) -> TurnCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<bool>>> = Arc::default();
        let l = Arc::clone(&log);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (la, lb) = (Arc::clone(&l), Arc::clone(&l));
                let up = std::thread::spawn(move || pump(client, server, true, la));
                pump(s2, c2, false, lb);
                let _ = up.join();
            }
        });
        TurnCounter { port, log }
    }

    /// Client turns since the start: `true` reads (client to server) after a `false` one.
    pub fn client_turns(&self) -> usize {
        let log = self.log.lock().unwrap();
        let mut turns = 0;
        let mut last = None;
        for &from_client in log.iter() {
            if from_client && last != Some(true) {
                turns += 1;
            }
            last = Some(from_client);
        }
        turns
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, from_client: bool, log: Arc<Mutex<Vec<bool>>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                log.lock().unwrap().push(from_client);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
