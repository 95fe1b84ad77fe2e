//! The blocking driver: moves the core's bytes over a std `TcpStream`, upgraded to TLS with
//! rustls' `StreamOwned`. Every connect, read and write has the settings' timeout, so even the
//! QUIT after a failure cannot hang.

use super::core::{After, Chain, after, classify_cause, worth_retry};
use super::core::{Cause, Handshake, Machine, Reply, ReplyBuffer, Session, Stage, Step};
use super::settings::{SmtpSettings, TlsMode};
use super::tls;
use crate::envelope::Envelope;
use crate::relay::Message;
use crate::relay::{Delivery, RelayError};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

enum Link {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// Between the plain link and its upgrade (only seen if the upgrade fails).
    Gone,
}

/// One connection to the server, with what was read but not yet used.
pub(crate) struct Conn {
    link: Link,
    buf: ReplyBuffer,
    /// An I/O error happened: the connection must not be used again.
    pub(crate) broken: bool,
}

impl Conn {
    /// Connects (each resolved address in turn) and, under implicit TLS, shakes hands.
    fn open(cfg: &SmtpSettings, tls: Option<&Arc<ClientConfig>>) -> Result<Conn, RelayError> {
        let server = cfg.server();
        let fail = |c: Cause, stage| classify_cause(&c, stage, &server, cfg);
        let sock = tcp_connect(cfg).map_err(|c| fail(c, Stage::Connect))?;
        let mut conn = Conn {
            link: Link::Plain(sock),
            buf: ReplyBuffer::default(),
            broken: false,
        };
        if cfg.tls() == TlsMode::Implicit {
            let config = tls.expect("TLS settings for implicit TLS");
            conn.upgrade(cfg, config).map_err(|c| fail(c, Stage::Tls))?;
        }
        Ok(conn)
    }

    fn stream(&mut self) -> &mut dyn ReadWrite {
        match &mut self.link {
            Link::Plain(s) => s,
            Link::Tls(s) => s.as_mut(),
            Link::Gone => unreachable!("a failed upgrade marks the connection broken"),
        }
    }

    /// All the bytes in one write, flushed (TLS: one record where they fit).
    fn write(&mut self, bytes: &[u8]) -> Result<(), Cause> {
        let s = self.stream();
        s.write_all(bytes)
            .and_then(|()| s.flush())
            .map_err(|e| Cause::of_io(&e))
    }

    fn read_reply(&mut self) -> Result<Reply, Cause> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(r) = self.buf.take()? {
                return Ok(r);
            }
            let n = loop {
                match self.stream().read(&mut chunk) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r.map_err(|e| Cause::of_io(&e))?,
                }
            };
            if n == 0 {
                return Err(Cause::eof());
            }
            self.buf.extend(&chunk[..n]);
        }
    }

    /// Wraps the plain link in TLS and shakes hands now (rustls would otherwise do it lazily,
    /// hiding a certificate failure behind the first command).
    fn upgrade(&mut self, cfg: &SmtpSettings, config: &Arc<ClientConfig>) -> Result<(), Cause> {
        if !self.buf.is_empty() {
            // Bytes that arrived before the handshake were not protected (RFC 3207 §5).
            return Err(Cause::Tls(
                "the server sent data after its STARTTLS reply".into(),
            ));
        }
        let Link::Plain(mut sock) = std::mem::replace(&mut self.link, Link::Gone) else {
            return Err(Cause::Tls("the connection is already encrypted".into()));
        };
        let name = tls::server_name(cfg).map_err(|e| Cause::Tls(e.message().to_owned()))?;
        let mut tls = ClientConnection::new(Arc::clone(config), name)
            .map_err(|e| Cause::Tls(e.to_string()))?;
        while tls.is_handshaking() {
            tls.complete_io(&mut sock).map_err(|e| Cause::of_io(&e))?;
        }
        self.link = Link::Tls(Box::new(StreamOwned::new(tls, sock)));
        Ok(())
    }

    /// Runs one machine to its end (see `core`).
    fn drive<M: Machine>(
        &mut self,
        m: &mut M,
        cfg: &SmtpSettings,
        tls: Option<&Arc<ClientConfig>>,
    ) -> M::Output {
        loop {
            let outcome = match m.step() {
                Step::Write(bytes) => self.write(&bytes),
                Step::Read => self.read_reply().map(|r| m.reply(r)),
                Step::StartTls => match tls {
                    Some(config) => self.upgrade(cfg, config).map(|()| m.tls_ready()),
                    None => Err(Cause::Tls("no TLS settings".into())),
                },
                Step::Password => {
                    let source = cfg.credentials().map(|c| c.password());
                    m.password(source.map_or_else(|| Err(no_password()), |s| s.read()));
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

    /// Ends the session without waiting for anything: QUIT is written (not read), then the
    /// socket is closed. For a session that failed or was refused.
    fn abort(mut self) {
        if !self.broken {
            let _ = self.write(b"QUIT\r\n");
        }
        self.shutdown();
    }

    /// QUIT, its reply (within the timeout), then the socket is closed.
    fn quit(mut self) {
        if !self.broken && self.write(b"QUIT\r\n").is_ok() {
            let _ = self.read_reply();
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let sock = match &mut self.link {
            Link::Plain(s) => s,
            Link::Tls(s) => {
                s.conn.send_close_notify();
                let _ = s.flush();
                &mut s.sock
            }
            Link::Gone => return,
        };
        let _ = sock.shutdown(std::net::Shutdown::Both);
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn no_password() -> RelayError {
    RelayError::new(
        crate::relay::ErrorKind::Config,
        "no password source for the SMTP login",
    )
}

/// The first address (of those the host resolves to) that accepts within the timeout.
fn tcp_connect(cfg: &SmtpSettings) -> Result<TcpStream, Cause> {
    let addrs = (cfg.bare_host(), cfg.port())
        .to_socket_addrs()
        .map_err(|e| Cause::Io(e.to_string()))?;
    let mut last = Cause::Io(format!("{} resolves to no address", cfg.host()));
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, cfg.timeout()) {
            Ok(s) => {
                let t = Some(cfg.timeout());
                s.set_read_timeout(t)
                    .and_then(|()| s.set_write_timeout(t))
                    // Every command batch is one write already: nothing to gain from Nagle.
                    .and_then(|()| s.set_nodelay(true))
                    .map_err(|e| Cause::of_io(&e))?;
                return Ok(s);
            }
            Err(e) => last = Cause::of_io(&e),
        }
    }
    Err(last)
}

/// A connected, greeted (and, if configured, encrypted and logged-in) session.
pub(crate) struct Open {
    conn: Conn,
    session: Session,
}

/// The blocking session manager behind `SmtpRelay`: connects on demand, keeps the connection
/// between messages, retries once on a connection the server closed while idle.
pub(crate) struct Driver {
    settings: SmtpSettings,
    tls: Option<Arc<ClientConfig>>,
    open: Option<Open>,
}

impl Driver {
    pub(crate) fn new(settings: SmtpSettings) -> Driver {
        Driver {
            settings,
            tls: None,
            open: None,
        }
    }

    pub(crate) fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    fn connect(&mut self) -> Result<Open, RelayError> {
        if self.tls.is_none() && self.settings.tls() != TlsMode::None {
            self.tls = Some(tls::client_config(&self.settings)?);
        }
        let cfg = &self.settings;
        let mut conn = Conn::open(cfg, self.tls.as_ref())?;
        match conn.drive(&mut Handshake::new(cfg), cfg, self.tls.as_ref()) {
            Ok(session) => Ok(Open { conn, session }),
            Err(e) => {
                conn.abort();
                Err(e)
            }
        }
    }

    /// Submits the messages on the kept connection, pipelined across messages where the server
    /// allows (see `core::Chain`); one result per message, in order. A message that a broken or
    /// abandoned connection left without a result goes again on a new one.
    pub(crate) fn submit_batch(
        &mut self,
        batch: &[(&Envelope, Message<'_>)],
    ) -> Vec<Result<Delivery, RelayError>> {
        let mut out = Vec::with_capacity(batch.len());
        let mut retried = false;
        while out.len() < batch.len() {
            let reused = self.open.is_some();
            let mut open = match self.open.take() {
                Some(o) => o,
                None => match self.connect() {
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
            let mut results = open.conn.drive(&mut chain, cfg, self.tls.as_ref());
            let last = results.last().expect("a chain ends with a result");
            // The connection had served before this message's first command failed.
            if !retried && worth_retry(reused || results.len() > 1, last) {
                results.pop();
                out.extend(results);
                open.conn.abort();
                retried = true;
                continue;
            }
            retried = false;
            match after(last, open.conn.broken) {
                After::Abort => open.conn.abort(),
                After::Drop => {}
                After::Keep => self.open = Some(open),
            }
            out.extend(results);
        }
        out
    }

    pub(crate) fn submit(
        &mut self,
        envelope: &Envelope,
        message: Message<'_>,
    ) -> Result<Delivery, RelayError> {
        let mut r = self.submit_batch(&[(envelope, message)]);
        r.pop().expect("one result per message")
    }

    pub(crate) fn close(&mut self) {
        if let Some(o) = self.open.take() {
            o.conn.quit();
        }
    }
}
