//! The async driver (feature `tokio`): moves the core's bytes over a tokio `TcpStream`, upgraded
//! with tokio-rustls. Names are resolved by tokio, the password command runs under
//! `tokio::process`, and every connect, read and write is bounded by the settings' timeout, so
//! no runtime thread ever blocks on the network.

use super::core::{After, Cause, Handshake, Machine, Reply, ReplyBuffer, Session, Stage, Step};
use super::core::{Chain, after, classify_cause, worth_retry};
use super::settings::{self, Password, PasswordSource, SmtpSettings, TlsMode};
use super::tls;
use crate::envelope::Envelope;
use crate::relay::Message;
use crate::relay::{Delivery, ErrorKind, RelayError};
use rustls::ClientConfig;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

enum Link {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Between the plain link and its upgrade (only seen if the upgrade fails).
    Gone,
}

/// `fut`, or a timeout after `limit`.
async fn within<T>(
    limit: Duration,
    fut: impl Future<Output = std::io::Result<T>>,
) -> Result<T, Cause> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(|e| Cause::of_io(&e)),
        Err(_) => Err(Cause::Timeout),
    }
}

/// One connection to the server, with what was read but not yet used.
struct Conn {
    link: Link,
    buf: ReplyBuffer,
    timeout: Duration,
    broken: bool,
}

impl Conn {
    async fn open(cfg: &SmtpSettings, tls: Option<&Arc<ClientConfig>>) -> Result<Conn, RelayError> {
        let server = cfg.server();
        let fail = |c: Cause, stage| classify_cause(&c, stage, &server, cfg);
        let sock = tcp_connect(cfg)
            .await
            .map_err(|c| fail(c, Stage::Connect))?;
        let mut conn = Conn {
            link: Link::Plain(sock),
            buf: ReplyBuffer::default(),
            timeout: cfg.timeout(),
            broken: false,
        };
        if cfg.tls() == TlsMode::Implicit {
            let config = tls.expect("TLS settings for implicit TLS");
            conn.upgrade(cfg, config)
                .await
                .map_err(|c| fail(c, Stage::Tls))?;
        }
        Ok(conn)
    }

    fn stream(&mut self) -> &mut dyn Stream {
        match &mut self.link {
            Link::Plain(s) => s,
            Link::Tls(s) => s.as_mut(),
            Link::Gone => unreachable!("a failed upgrade marks the connection broken"),
        }
    }

    /// All the bytes in one write, flushed.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), Cause> {
        let limit = self.timeout;
        let s = self.stream();
        within(limit, async {
            s.write_all(bytes).await?;
            s.flush().await
        })
        .await
    }

    async fn read_reply(&mut self) -> Result<Reply, Cause> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(r) = self.buf.take()? {
                return Ok(r);
            }
            let limit = self.timeout;
            let n = within(limit, self.stream().read(&mut chunk)).await?;
            if n == 0 {
                return Err(Cause::eof());
            }
            self.buf.extend(&chunk[..n]);
        }
    }

    async fn upgrade(
        &mut self,
        cfg: &SmtpSettings,
        config: &Arc<ClientConfig>,
    ) -> Result<(), Cause> {
        if !self.buf.is_empty() {
            // Bytes that arrived before the handshake were not protected (RFC 3207 §5).
            return Err(Cause::Tls(
                "the server sent data after its STARTTLS reply".into(),
            ));
        }
        let Link::Plain(sock) = std::mem::replace(&mut self.link, Link::Gone) else {
            return Err(Cause::Tls("the connection is already encrypted".into()));
        };
        let name = tls::server_name(cfg).map_err(|e| Cause::Tls(e.message().to_owned()))?;
        let connector = TlsConnector::from(Arc::clone(config));
        let stream = within(self.timeout, connector.connect(name, sock)).await?;
        self.link = Link::Tls(Box::new(stream));
        Ok(())
    }

    /// Runs one machine to its end (see `core`).
    async fn drive<M: Machine>(
        &mut self,
        m: &mut M,
        cfg: &SmtpSettings,
        tls: Option<&Arc<ClientConfig>>,
    ) -> M::Output {
        loop {
            let outcome = match m.step() {
                Step::Write(bytes) => self.write(&bytes).await,
                Step::Read => self.read_reply().await.map(|r| m.reply(r)),
                Step::StartTls => match tls {
                    Some(config) => self.upgrade(cfg, config).await.map(|()| m.tls_ready()),
                    None => Err(Cause::Tls("no TLS settings".into())),
                },
                Step::Password => {
                    let pw = match cfg.credentials() {
                        Some(c) => read_password(c.password()).await,
                        None => Err(RelayError::new(
                            ErrorKind::Config,
                            "no password source for the SMTP login",
                        )),
                    };
                    m.password(pw);
                    Ok(())
                }
                Step::Done(out) => return out,
            };
            if let Err(cause) = outcome {
                self.broken = true;
                m.failed(cause);
            }
        }
    }

    /// QUIT written (not read), then closed: for a session that failed or was refused.
    async fn abort(mut self) {
        if !self.broken {
            let _ = self.write(b"QUIT\r\n").await;
        }
        self.shutdown().await;
    }

    /// QUIT, its reply (within the timeout), then closed.
    async fn quit(mut self) {
        if !self.broken && self.write(b"QUIT\r\n").await.is_ok() {
            let _ = self.read_reply().await;
        }
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if !matches!(self.link, Link::Gone) {
            let limit = self.timeout;
            let _ = within(limit, self.stream().shutdown()).await;
        }
    }
}

/// The first address (of those tokio resolves the host to) that accepts within the timeout.
async fn tcp_connect(cfg: &SmtpSettings) -> Result<TcpStream, Cause> {
    let limit = cfg.timeout();
    let lookup = tokio::net::lookup_host((cfg.bare_host(), cfg.port()));
    let addrs = match tokio::time::timeout(limit, lookup).await {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(e)) => return Err(Cause::Io(e.to_string())),
        Err(_) => return Err(Cause::Timeout),
    };
    let mut last = Cause::Io(format!("{} resolves to no address", cfg.host()));
    for addr in addrs {
        match within(limit, TcpStream::connect(addr)).await {
            Ok(s) => {
                // Every command batch is one write already: nothing to gain from Nagle.
                s.set_nodelay(true).map_err(|e| Cause::of_io(&e))?;
                return Ok(s);
            }
            Err(c) => last = c,
        }
    }
    Err(last)
}

/// The password, read without blocking the runtime: the command under `tokio::process`, the
/// file through `tokio::fs`.
async fn read_password(source: &PasswordSource) -> Result<Password, RelayError> {
    let raw = match source {
        PasswordSource::Given(p) => return Ok(p.clone()),
        PasswordSource::Env(name) => settings::read_env(name)?,
        PasswordSource::File(p) => read_file(p).await?,
        PasswordSource::Command(c) => {
            // As in the blocking relay: through the shell, stderr and the terminal left to a
            // password manager that asks for its passphrase.
            let out = tokio::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(c)
                .stdin(std::process::Stdio::inherit())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .output()
                .await;
            settings::command_output(out.map(|o| (o.status, o.stdout)))?
        }
    };
    source.finish(raw)
}

/// As `settings::read_file`: the mode of the file opened is checked before it is read.
async fn read_file(p: &std::path::Path) -> Result<String, RelayError> {
    use tokio::io::AsyncReadExt;
    let error = |e: std::io::Error| settings::file_error(p, &e);
    let mut f = tokio::fs::File::open(p).await.map_err(error)?;
    settings::check_secret_file(p, &f.metadata().await.map_err(error)?)?;
    let mut text = String::new();
    f.read_to_string(&mut text).await.map_err(error)?;
    Ok(text)
}

struct Open {
    conn: Conn,
    session: Session,
}

/// Submits over SMTP from an async task (tokio): the same session, pipelining, replies and
/// errors as [`SmtpRelay`](super::SmtpRelay), without blocking a runtime thread. Connects on the
/// first submission and keeps the connection until [`close`](AsyncSmtpRelay::close); dropping
/// it closes the socket without QUIT.
///
/// The relay and the futures of its methods are `Send`, so each task of a multi-threaded
/// runtime can own a relay (one connection per relay).
///
/// ```no_run
/// use envoi::relay::smtp::{AsyncSmtpRelay, Credentials, SmtpSettings};
/// # async fn send(envelope: envoi::Envelope, message: Vec<u8>) -> Result<(), envoi::RelayError> {
/// let settings = SmtpSettings::builder("smtp.example.org")
///     .credentials(Credentials::with_password("alice", "app-password"))
///     .build()?;
/// let mut relay = AsyncSmtpRelay::new(settings);
/// let delivery = relay.submit(&envelope, &message).await?;
/// println!("accepted for {}", envoi::relay::join_addrs(&delivery.accepted));
/// relay.close().await;
/// # Ok(())
/// # }
/// ```
pub struct AsyncSmtpRelay {
    settings: SmtpSettings,
    tls: Option<Arc<ClientConfig>>,
    open: Option<Open>,
}

impl AsyncSmtpRelay {
    /// A relay for these settings. Nothing is connected until the first submission.
    pub fn new(settings: SmtpSettings) -> AsyncSmtpRelay {
        AsyncSmtpRelay {
            settings,
            tls: None,
            open: None,
        }
    }

    /// The settings this relay uses.
    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    async fn connect(&mut self) -> Result<Open, RelayError> {
        if self.tls.is_none() && self.settings.tls() != TlsMode::None {
            self.tls = Some(tls::client_config(&self.settings)?);
        }
        let cfg = &self.settings;
        let mut conn = Conn::open(cfg, self.tls.as_ref()).await?;
        let mut hs = Handshake::new(cfg);
        match conn.drive(&mut hs, cfg, self.tls.as_ref()).await {
            Ok(session) => Ok(Open { conn, session }),
            Err(e) => {
                conn.abort().await;
                Err(e)
            }
        }
    }

    /// Submits `message` (CRLF line endings, as composed) to the envelope's recipients. All or
    /// nothing: if the server refuses any recipient, nobody gets the message.
    pub async fn submit(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Delivery, RelayError> {
        self.submit_message(envelope, Message::new(message)).await
    }

    /// As [`submit`](AsyncSmtpRelay::submit), the message in borrowed pieces: converted and
    /// dot-stuffed as it is written, never copied whole.
    pub async fn submit_message(
        &mut self,
        envelope: &Envelope,
        message: Message<'_>,
    ) -> Result<Delivery, RelayError> {
        let mut r = self.submit_messages(&[(envelope, message)]).await;
        r.pop().expect("one result per message")
    }

    /// Submits several messages on the kept connection, returning one result per message, in
    /// order. A failed message does not stop the others. With PIPELINING they go at about one
    /// round trip per message: one message's end of data and the next one's MAIL, RCPT and
    /// DATA share a write.
    pub async fn submit_batch(
        &mut self,
        batch: &[(&Envelope, &[u8])],
    ) -> Vec<Result<Delivery, RelayError>> {
        let batch: Vec<_> = batch.iter().map(|(e, m)| (*e, Message::new(m))).collect();
        self.submit_messages(&batch).await
    }

    /// As [`submit_batch`](AsyncSmtpRelay::submit_batch), each message in borrowed pieces.
    pub async fn submit_messages(
        &mut self,
        batch: &[(&Envelope, Message<'_>)],
    ) -> Vec<Result<Delivery, RelayError>> {
        let mut out = Vec::with_capacity(batch.len());
        let mut retried = false;
        while out.len() < batch.len() {
            let reused = self.open.is_some();
            let mut open = match self.open.take() {
                Some(o) => o,
                None => match self.connect().await {
                    Ok(o) => o,
                    Err(e) => {
                        // It would fail the same way for each of the rest.
                        out.resize(batch.len(), Err(e));
                        break;
                    }
                },
            };
            let cfg = &self.settings;
            let mut chain = Chain::new(cfg, &open.session, &batch[out.len()..]);
            let mut results = open.conn.drive(&mut chain, cfg, self.tls.as_ref()).await;
            let last = results.last().expect("a chain ends with a result");
            // The connection had served before this message's first command failed.
            if !retried && worth_retry(reused || results.len() > 1, last) {
                results.pop();
                out.extend(results);
                open.conn.abort().await;
                retried = true;
                continue;
            }
            retried = false;
            match after(last, open.conn.broken) {
                After::Abort => open.conn.abort().await,
                After::Drop => {}
                After::Keep => self.open = Some(open),
            }
            out.extend(results);
        }
        out
    }

    /// Ends the session politely (QUIT, its reply within the timeout).
    pub async fn close(&mut self) {
        if let Some(o) = self.open.take() {
            o.conn.quit().await;
        }
    }
}
