//! What the relay tests share: the real servers (aiosmtpd from tests/servers/smtpd.py, one Postfix
//! instance per test binary), a certificate made at test time, and `envoi` run in a sandbox of its
//! own (config files, state and outbox in a temp dir; /etc is never read).
//!
//! A server that cannot start (Python environment or Postfix missing) makes the test fail with
//! what to do: scripts/test installs everything.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const ENVOI: &str = env!("CARGO_BIN_EXE_envoi");

/// How long any one server lives at most, whatever happens to the test.
const SERVER_LIFETIME_SECS: u32 = 180;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let p = repo().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test once (it creates .venv with aiosmtpd)",
        p.display()
    );
    p
}

/// A TOML basic string holding `s` (JSON's escapes are valid TOML).
pub fn toml_str(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).unwrap()
}

pub fn toml_path(p: &Path) -> String {
    toml_str(p.to_str().expect("temp paths are UTF-8"))
}

/// A directory for this test process's shared servers (certificate, Postfix), world-searchable so
/// that Postfix's unprivileged daemons can enter it, and removed (Postfix stopped first) by a
/// watchdog once this process is gone.
pub fn run_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("envoi-relay-tests-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = format!(
            "i=0; while kill -0 {pid} 2>/dev/null && [ $i -lt 7200 ]; do sleep 0.5; i=$((i+1)); done; \
             if [ -f '{d}/postfix/main.cf' ]; then PATH=$PATH:/usr/sbin postfix -c '{d}/postfix' stop; sleep 1; fi; \
             rm -rf '{d}'",
            d = dir.display()
        );
        // `( ... ) &` detaches the watchdog: the sh we wait for exits at once.
        Command::new("sh")
            .args(["-c", &format!("( {script} ) &")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("sh");
        dir
    })
}

/// A test CA and a server certificate it signed (CN=localhost, SAN DNS:localhost and IP
/// 127.0.0.1), made once per test process. Not a self-signed server certificate: those carry
/// `CA:TRUE`, and rustls (webpki) rejects a CA certificate used as the server's own
/// (`CaUsedAsEndEntity`), as it should.
pub struct Cert {
    /// The CA certificate: what `ca_file` names.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn cert() -> &'static Cert {
    static CERT: OnceLock<Cert> = OnceLock::new();
    CERT.get_or_init(|| {
        let dir = run_dir().join("tls");
        std::fs::create_dir_all(&dir).unwrap();
        let p = |n: &str| dir.join(n);
        std::fs::write(
            p("server.ext"),
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:localhost, IP:127.0.0.1\n",
        )
        .unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl is not installed (scripts/test installs it)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (ca, ca_key, csr, cert, key) = (
            p("ca.pem"),
            p("ca.key"),
            p("server.csr"),
            p("cert.pem"),
            p("key.pem"),
        );
        let s = |p: &PathBuf| p.to_str().expect("temp paths are UTF-8").to_string();
        let (ca_s, ca_key_s, csr_s, cert_s, key_s, ext_s) = (
            s(&ca),
            s(&ca_key),
            s(&csr),
            s(&cert),
            s(&key),
            s(&p("server.ext")),
        );
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        let args = |fixed: &str, rest: &[&str]| -> Vec<String> {
            fixed
                .split(' ')
                .chain(ec.split(' '))
                .chain(rest.iter().copied())
                .map(String::from)
                .collect()
        };
        let run_openssl =
            |v: Vec<String>| openssl(&v.iter().map(String::as_str).collect::<Vec<_>>());
        run_openssl(args(
            "req -x509",
            &[
                "-days",
                "30",
                "-subj",
                "/CN=envoi test CA",
                "-keyout",
                &ca_key_s,
                "-out",
                &ca_s,
            ],
        ));
        run_openssl(args(
            "req",
            &["-subj", "/CN=localhost", "-keyout", &key_s, "-out", &csr_s],
        ));
        openssl(&[
            "x509",
            "-req",
            "-days",
            "30",
            "-set_serial",
            "2",
            "-in",
            &csr_s,
            "-CA",
            &ca_s,
            "-CAkey",
            &ca_key_s,
            "-extfile",
            &ext_s,
            "-out",
            &cert_s,
        ]);
        Cert { ca, cert, key }
    })
}

/// A free TCP port on 127.0.0.1 (for servers that cannot report the port they bound).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// aiosmtpd

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tls {
    None,
    Starttls,
    Implicit,
}

/// How to start tests/servers/smtpd.py.
#[derive(Default)]
pub struct SmtpdBuilder {
    tls: Option<Tls>,
    auth: Option<(String, String)>,
    smtputf8: bool,
    refuse: Vec<String>,
    fault: Option<(String, u32)>,
    /// (certificate, key) instead of the test CA's server certificate.
    cert_files: Option<(PathBuf, PathBuf)>,
    /// (user, token): XOAUTH2 and OAUTHBEARER, failing as Gmail does on any other token.
    oauth: Option<(String, String)>,
}

impl SmtpdBuilder {
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.into(), password.into()));
        self
    }
    pub fn smtputf8(mut self) -> Self {
        self.smtputf8 = true;
        self
    }
    pub fn refuse(mut self, addr: &str) -> Self {
        self.refuse.push(addr.into());
        self
    }
    /// Serve this certificate and key (e.g. a self-signed one) instead of the test CA's.
    pub fn cert_files(mut self, cert: &Path, key: &Path) -> Self {
        self.cert_files = Some((cert.into(), key.into()));
        self
    }
    /// Offer AUTH XOAUTH2 and OAUTHBEARER, accepting only `user` with `token`.
    pub fn oauth(mut self, user: &str, token: &str) -> Self {
        self.oauth = Some((user.into(), token.into()));
        self
    }
    /// A fault of smtpd.py's FAULTS, hitting the message after `after` accepted ones.
    pub fn fault(mut self, name: &str, after: u32) -> Self {
        self.fault = Some((name.into(), after));
        self
    }

    pub fn start(self) -> Smtpd {
        // Inside run_dir(): the relayhost of the static Postfix is never dropped, so its files go
        // when the watchdog removes run_dir().
        let dir = tempfile::Builder::new()
            .prefix("smtpd-")
            .tempdir_in(run_dir())
            .unwrap();
        let record = dir.path().join("record.jsonl");
        let log = dir.path().join("smtpd.log");
        std::fs::write(&record, "").unwrap();
        let mut cmd = Command::new(python());
        cmd.arg(repo().join("tests/servers/smtpd.py"))
            .arg("--record")
            .arg(&record)
            .args(["--timeout", &SERVER_LIFETIME_SECS.to_string()]);
        let tls = self.tls.unwrap_or(Tls::None);
        match tls {
            Tls::None => {}
            Tls::Starttls | Tls::Implicit => {
                let c = cert();
                let (cert, key) = self
                    .cert_files
                    .clone()
                    .unwrap_or_else(|| (c.cert.clone(), c.key.clone()));
                cmd.args([
                    "--tls",
                    if tls == Tls::Starttls {
                        "starttls"
                    } else {
                        "implicit"
                    },
                ])
                .arg("--cert")
                .arg(&cert)
                .arg("--key")
                .arg(&key);
            }
        }
        if let Some((u, p)) = &self.auth {
            cmd.arg("--auth").arg(format!("{u}:{p}"));
        }
        if let Some((u, t)) = &self.oauth {
            cmd.arg("--oauth").arg(format!("{u}:{t}"));
        }
        if self.smtputf8 {
            cmd.arg("--smtputf8");
        }
        for r in &self.refuse {
            cmd.arg("--refuse").arg(r);
        }
        if let Some((f, after)) = &self.fault {
            cmd.args(["--fault", f, "--fault-after", &after.to_string()]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start tests/servers/smtpd.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "smtpd.py did not start (run scripts/test to install aiosmtpd): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            }
        };
        Smtpd {
            child,
            port,
            record,
            log,
            _dir: dir,
        }
    }
}

/// A running aiosmtpd; killed when dropped.
pub struct Smtpd {
    child: Child,
    pub port: u16,
    record: PathBuf,
    log: PathBuf,
    _dir: TempDir,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub conn: u64,
    pub tls: bool,
    pub auth: Option<String>,
    /// The name the client gave in EHLO/HELO.
    pub helo: Option<String>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub mail_options: Vec<String>,
    pub content: String,
}

impl Received {
    /// The value of the first header field `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.content, name)
    }
    pub fn headers(&self) -> &str {
        self.content.split("\r\n\r\n").next().unwrap()
    }
    pub fn body(&self) -> &str {
        self.content
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("")
    }
}

pub fn header(content: &str, name: &str) -> Option<String> {
    let head = content
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .replace("\r\n", "\n");
    let mut lines = head.lines().peekable();
    while let Some(l) = lines.next() {
        if let Some((n, v)) = l.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            let mut v = v.trim().to_string();
            while let Some(c) = lines.peek().filter(|c| c.starts_with([' ', '\t'])) {
                v.push(' ');
                v.push_str(c.trim());
                lines.next();
            }
            return Some(v);
        }
    }
    None
}

impl Smtpd {
    pub fn builder() -> SmtpdBuilder {
        SmtpdBuilder::default()
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.records()
            .iter()
            .filter(|r| r["event"] == "message")
            .map(|r| {
                let strings = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect()
                };
                Received {
                    conn: r["conn"].as_u64().unwrap(),
                    tls: r["tls"].as_bool().unwrap(),
                    auth: r["auth"].as_str().map(String::from),
                    helo: r["helo"].as_str().map(String::from),
                    mail_from: r["mail_from"].as_str().unwrap().to_string(),
                    rcpt_tos: strings(&r["rcpt_tos"]),
                    mail_options: strings(&r["mail_options"]),
                    content: r["content"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    /// The AUTH XOAUTH2/OAUTHBEARER attempts (smtpd.py --oauth): mechanism, ok, initial (the
    /// response came on the AUTH line), error_answer (the client's answer to the error challenge).
    pub fn oauth_attempts(&self) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["event"] == "auth")
            .collect()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.records()
            .iter()
            .filter(|r| r["event"] == "connect")
            .count()
    }

    /// Waits for the first message that has `rcpt` among its recipients.
    pub fn wait_for_rcpt(&self, rcpt: &str, timeout: Duration) -> Received {
        wait_until(
            &format!("a message to {rcpt} at the relayhost"),
            timeout,
            || {
                self.messages()
                    .into_iter()
                    .find(|m| m.rcpt_tos.iter().any(|r| r == rcpt))
            },
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- smtpd.py log (port {}):\n{}", self.port, self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Postfix

/// The one Postfix instance of this test process, with an aiosmtpd as its relayhost. Tests that
/// use it tell their messages apart by recipient (see `unique`).
pub struct Postfix {
    pub dir: PathBuf,
    pub smtpd_port: u16,
    pub relayhost: Smtpd,
}

pub fn postfix() -> &'static Postfix {
    static PF: OnceLock<Postfix> = OnceLock::new();
    PF.get_or_init(|| {
        // Its lifetime is the test process's: smtpd.py exits when its parent does.
        let relayhost = Smtpd::builder().start();
        let dir = run_dir().join("postfix");
        let smtpd_port = free_port();
        let out = Command::new("sh")
            .arg(repo().join("tests/servers/postfix.sh"))
            .arg("start")
            .arg(&dir)
            .arg(relayhost.port.to_string())
            .arg(smtpd_port.to_string())
            .stdin(Stdio::null())
            // Postfix's master daemon must not hold a pipe of ours open.
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(run_dir().join("postfix-start.err")).unwrap())
            .status()
            .expect("sh");
        assert!(
            out.success(),
            "Postfix did not start (scripts/test installs it): {}",
            std::fs::read_to_string(run_dir().join("postfix-start.err")).unwrap_or_default()
        );
        wait_until("Postfix's smtpd to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", smtpd_port)).ok()
        });
        Postfix {
            dir,
            smtpd_port,
            relayhost,
        }
    })
}

impl Postfix {
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}

/// The strings of `v`, sorted: Postfix may reorder the recipients of one message, and a set of
/// recipients has no order anyway.
pub fn sorted(v: &[impl AsRef<str>]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v
}

/// A string unique to this test process and call, for recipients and subjects.
pub fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------
// envoi

/// A sandbox for running `envoi`: its own admin and user config files, state dir and outbox.
pub struct Sandbox {
    pub dir: TempDir,
    extra_env: Vec<(String, String)>,
}

/// What one run of `envoi` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// stdout's lines of the form `<ID> accepted: a@x, b@y` as (ID, recipients).
    pub fn accepted(&self) -> Vec<(String, Vec<String>)> {
        self.stdout
            .lines()
            .filter_map(|l| {
                let (id, rcpts) = l.split_once(" accepted: ")?;
                Some((
                    id.trim().to_string(),
                    rcpts.split(',').map(|r| r.trim().to_string()).collect(),
                ))
            })
            .collect()
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; {self:#?}");
        self
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        self.assert_code(0)
    }

    /// The path after `saved in ` on stderr (sendmail mode, temporary failure).
    #[track_caller]
    pub fn saved_path(&self) -> PathBuf {
        let rest = self
            .stderr
            .split_once("saved in ")
            .unwrap_or_else(|| panic!("stderr does not say `saved in PATH`: {self:#?}"))
            .1;
        // The sandbox's paths have no spaces: the path is the next word.
        let path = rest.split_whitespace().next().unwrap_or("");
        let path = path.trim_matches(|c| matches!(c, '`' | '\'' | '"' | '(' | ')'));
        PathBuf::from(path.trim_end_matches(['.', ',', ';']))
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("envoi-relay-")
            .tempdir()
            .unwrap();
        for d in ["state", "xdg-config", "home", "outbox"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let sb = Sandbox {
            dir,
            extra_env: Vec::new(),
        };
        sb.user_config("# no user settings\n");
        sb
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn outbox(&self) -> PathBuf {
        self.path("outbox")
    }

    /// Writes the admin's file: `relay` (the `[relay]` table's body) plus `[outbox]` in the sandbox.
    pub fn admin_config(&self, toml: &str) -> &Self {
        std::fs::write(self.path("admin.toml"), toml).unwrap();
        self
    }

    pub fn user_config(&self, toml: &str) -> &Self {
        std::fs::write(self.path("user.toml"), toml).unwrap();
        self
    }

    /// The admin's file with this `[relay]` body, this sandbox's outbox, and optional extra tables.
    pub fn relay(&self, relay_body: &str, extra: &str) -> &Self {
        self.admin_config(&format!(
            "[relay]\n{relay_body}\n\n[outbox]\ndir = {}\n\n{extra}\n",
            toml_path(&self.outbox())
        ))
    }

    /// `[relay]` body for aiosmtpd `s` with TLS `tls` (ca_file set for TLS), and no AUTH.
    pub fn smtp_relay(&self, port: u16, tls: Tls) -> String {
        let mut s = format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nhello_name = \"client.test.example\"\ntimeout_secs = 10\ntls = {}\n",
            match tls {
                Tls::None => "\"none\"",
                Tls::Starttls => "\"starttls\"",
                Tls::Implicit => "\"implicit\"",
            }
        );
        if tls != Tls::None {
            s += &format!("ca_file = {}\n", toml_path(&cert().ca));
        }
        s
    }

    /// A sandbox whose relay is aiosmtpd `server`: plain SMTP, no AUTH.
    pub fn for_smtpd(server: &Smtpd) -> Sandbox {
        let sb = Sandbox::new();
        sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
        sb
    }

    /// Puts `password` in $ENVOI_TEST_PW and returns the `[relay]` lines that log in as `user`
    /// with it.
    pub fn password_env(&mut self, user: &str, password: &str) -> String {
        self.env("ENVOI_TEST_PW", password);
        format!("user = \"{user}\"\npassword_env = \"ENVOI_TEST_PW\"\n")
    }

    pub fn env(&mut self, k: &str, v: &str) -> &mut Self {
        self.extra_env.push((k.into(), v.into()));
        self
    }

    /// A command for `program` with the sandbox's environment (config files, state, HOME).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("ENVOI_CONFIG", self.path("user.toml"))
            .env("ENVOI_ADMIN_CONFIG", self.path("admin.toml"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("EMAIL")
            .current_dir(self.dir.path());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    /// Runs `envoi ARGS` with `stdin` (or none).
    pub fn envoi(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut c = self.command(ENVOI);
        c.args(args);
        run(c, stdin)
    }

    /// `envoi sendmail` as Debian's cron runs sendmail (`-FCronDaemon -i -B8BITMIME -oem RCPT...`),
    /// with `msg` on stdin.
    pub fn cron_sendmail(&self, rcpts: &[&str], msg: &str) -> Run {
        let mut args = vec!["sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem"];
        args.extend(rcpts);
        self.envoi(&args, Some(msg.as_bytes()))
    }

    /// Writes a draft file and returns its path.
    pub fn draft(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Files in the outbox dir, recursively.
    pub fn outbox_files(&self) -> Vec<PathBuf> {
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out)
                } else {
                    out.push(p)
                }
            }
        }
        let mut v = Vec::new();
        walk(&self.outbox(), &mut v);
        v
    }
}

/// Runs `c`, feeding `stdin`, with a hard limit of 60 s (a hung envoi fails the test, never the
/// whole run).
pub fn run(mut c: Command, stdin: Option<&[u8]>) -> Run {
    let start = Instant::now();
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn {c:?}: {e}"));
    if let Some(input) = stdin {
        let mut w = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    let _ = tx.send(());
    let _ = killer.join();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks on what arrived

/// Content uses CRLF only: no bare LF, no bare CR.
#[track_caller]
pub fn assert_crlf(content: &str) {
    let b = content.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            assert!(
                i > 0 && b[i - 1] == b'\r',
                "bare LF at byte {i}: {content:?}"
            );
        }
        if c == b'\r' {
            assert!(
                b.get(i + 1) == Some(&b'\n'),
                "bare CR at byte {i}: {content:?}"
            );
        }
    }
}

/// What envoi adds (Date, Message-ID, X-Mailer) is there; Bcc is gone and no byte of `hidden`
/// (the Bcc addresses) reached the message.
#[track_caller]
pub fn assert_composed(m: &Received, hidden: &[&str]) {
    assert_crlf(&m.content);
    for h in ["Date", "Message-ID", "X-Mailer"] {
        assert!(m.header(h).is_some(), "no {h} in {:?}", m.content);
    }
    assert!(
        m.header("Bcc").is_none(),
        "Bcc reached the server: {:?}",
        m.content
    );
    for h in hidden {
        assert!(
            !m.content.contains(h),
            "{h} leaked into the message: {:?}",
            m.content
        );
    }
}
