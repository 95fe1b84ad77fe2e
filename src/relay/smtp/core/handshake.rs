//! The handshake: greeting, EHLO, STARTTLS (then EHLO again), AUTH PLAIN or LOGIN. Never sends
//! a password over a link that is not encrypted.

use super::reply::Caps;
use super::{Cause, Machine, Reply, Stage, Step, classify_cause};
use crate::relay::smtp::settings::{Password, SmtpSettings, TlsMode};
use crate::relay::{ErrorKind, RelayError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::transport::smtp::authentication::{Credentials as LettreCredentials, Mechanism};
use lettre::transport::smtp::extension::Extension;

/// An open session: what the server offers after the handshake.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) caps: Caps,
}

#[derive(Debug)]
enum Hs {
    Greeting,
    Ehlo { sent: bool },
    StartTls { sent: bool },
    Upgrading,
    Password,
    Auth(AuthStep),
    Done(Result<Session, RelayError>),
    Taken,
}

enum AuthStep {
    /// AUTH PLAIN with its initial response, or AUTH LOGIN.
    Start,
    /// Waiting for a challenge (334) or the final reply.
    Wait,
    /// The answer to the last challenge, base64-encoded.
    Respond(String),
}

impl std::fmt::Debug for AuthStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A response carries the password.
        f.write_str(match self {
            AuthStep::Start => "Start",
            AuthStep::Wait => "Wait",
            AuthStep::Respond(_) => "Respond",
        })
    }
}

/// Greeting, EHLO, STARTTLS (then EHLO again), AUTH. The driver has connected (and, for
/// implicit TLS, shaken hands) before the first step.
pub(crate) struct Handshake<'a> {
    cfg: &'a SmtpSettings,
    server: String,
    state: Hs,
    encrypted: bool,
    caps: Option<Caps>,
    mechanism: Option<Mechanism>,
    password: Option<Password>,
}

impl<'a> Handshake<'a> {
    pub(crate) fn new(cfg: &'a SmtpSettings) -> Handshake<'a> {
        Handshake {
            cfg,
            server: cfg.server(),
            state: Hs::Greeting,
            encrypted: cfg.tls() == TlsMode::Implicit,
            caps: None,
            mechanism: None,
            password: None,
        }
    }

    /// Where a failure at this point belongs: under implicit TLS, everything before AUTH is
    /// still setting up the protected link.
    fn stage(&self) -> Stage {
        match self.state {
            Hs::Password | Hs::Auth(_) => Stage::Auth,
            Hs::StartTls { .. } | Hs::Upgrading => Stage::Tls,
            _ if self.encrypted => Stage::Tls,
            _ => Stage::Connect,
        }
    }

    fn fail(&mut self, err: RelayError) {
        self.state = Hs::Done(Err(err));
    }

    fn fail_cause(&mut self, cause: &Cause) {
        let stage = self.stage();
        let mut err = classify_cause(cause, stage, &self.server, self.cfg);
        if stage == Stage::Auth {
            let user = self.cfg.credentials().map_or("", |c| c.user());
            if err.kind() == ErrorKind::Auth {
                err.message = format!("authentication as {user} failed: {}", err.message());
            }
            err = err.session_over();
        }
        self.fail(err);
    }

    /// The link is now TLS: say EHLO again (RFC 3207 §4.2: the old list is void).
    fn on_tls(&mut self) {
        self.encrypted = true;
        self.state = Hs::Ehlo { sent: false };
    }

    /// The password the driver read (or why it could not).
    fn on_password(&mut self, pw: Result<Password, RelayError>) {
        match pw {
            Ok(p) => {
                self.password = Some(p);
                self.state = Hs::Auth(AuthStep::Start);
            }
            Err(e) => self.fail(e),
        }
    }

    /// After EHLO: upgrade, log in, or finish.
    fn after_ehlo(&mut self) {
        let caps = self.caps.as_ref().expect("EHLO was read");
        if self.cfg.tls() == TlsMode::Starttls && !self.encrypted {
            if !caps.has(Extension::StartTls) {
                let server = &self.server;
                return self.fail(
                    RelayError::new(
                        ErrorKind::Transient,
                        format!(
                            "TLS failure with {server}: the server does not offer STARTTLS, and envoi will not continue unencrypted"
                        ),
                    )
                    .session_over(),
                );
            }
            self.state = Hs::StartTls { sent: false };
            return;
        }
        let Some(creds) = self.cfg.credentials() else {
            return self.finish();
        };
        let (user, server) = (creds.user(), &self.server);
        if !self.encrypted {
            return self.fail(RelayError::new(
                ErrorKind::Config,
                format!(
                    "refusing to send the password for {user} to {server} over an unencrypted connection"
                ),
            ));
        }
        let mechanism = [Mechanism::Plain, Mechanism::Login]
            .into_iter()
            .find(|m| caps.has(Extension::Authentication(*m)));
        if mechanism.is_none() {
            return self.fail(
                RelayError::new(
                    ErrorKind::Auth,
                    format!(
                        "{server} offers neither AUTH PLAIN nor AUTH LOGIN, so user {user} cannot log in"
                    ),
                )
                .session_over(),
            );
        }
        self.mechanism = mechanism;
        self.state = Hs::Password;
    }

    fn finish(&mut self) {
        self.password = None;
        let caps = self.caps.clone().expect("EHLO was read");
        self.state = Hs::Done(Ok(Session { caps }));
    }

    fn lettre_credentials(&self) -> LettreCredentials {
        let user = self.cfg.credentials().map_or("", |c| c.user());
        let pw = self.password.as_ref().map_or("", |p| p.expose());
        LettreCredentials::new(user.to_owned(), pw.to_owned())
    }

    /// The response to one AUTH challenge (None: the initial response), base64-encoded.
    fn auth_response(&self, challenge: Option<&str>) -> Result<String, RelayError> {
        let m = self.mechanism.expect("a mechanism was chosen");
        m.response(&self.lettre_credentials(), challenge)
            .map(|r| BASE64.encode(r))
            .map_err(|e| {
                RelayError::new(
                    ErrorKind::Auth,
                    format!("AUTH {m} with {} failed: {e}", self.server),
                )
                .session_over()
            })
    }
}

impl Machine for Handshake<'_> {
    type Output = Result<Session, RelayError>;

    fn step(&mut self) -> Step<Self::Output> {
        match &mut self.state {
            Hs::Greeting => Step::Read,
            Hs::Ehlo { sent } | Hs::StartTls { sent } if *sent => Step::Read,
            Hs::Ehlo { sent } => {
                *sent = true;
                Step::Write(format!("EHLO {}\r\n", self.cfg.ehlo_name()).into_bytes())
            }
            Hs::StartTls { sent } => {
                *sent = true;
                Step::Write(b"STARTTLS\r\n".to_vec())
            }
            Hs::Upgrading => Step::StartTls,
            Hs::Password => Step::Password,
            Hs::Auth(AuthStep::Wait) => Step::Read,
            Hs::Auth(AuthStep::Respond(r)) => {
                let line = format!("{r}\r\n").into_bytes();
                self.state = Hs::Auth(AuthStep::Wait);
                Step::Write(line)
            }
            Hs::Auth(AuthStep::Start) => {
                self.state = Hs::Auth(AuthStep::Wait);
                let m = self.mechanism.expect("a mechanism was chosen");
                if m.supports_initial_response() {
                    match self.auth_response(None) {
                        Ok(r) => Step::Write(format!("AUTH {m} {r}\r\n").into_bytes()),
                        Err(e) => {
                            self.fail(e);
                            self.step()
                        }
                    }
                } else {
                    Step::Write(format!("AUTH {m}\r\n").into_bytes())
                }
            }
            Hs::Done(_) => match std::mem::replace(&mut self.state, Hs::Taken) {
                Hs::Done(r) => Step::Done(r),
                _ => unreachable!(),
            },
            Hs::Taken => panic!("the handshake is over"),
        }
    }

    fn reply(&mut self, reply: Reply) {
        if reply.negative() {
            return self.fail_cause(&Cause::of_reply(&reply));
        }
        match self.state {
            Hs::Greeting => self.state = Hs::Ehlo { sent: false },
            Hs::Ehlo { .. } => match Caps::of(&reply) {
                Ok(c) => {
                    self.caps = Some(c);
                    self.after_ehlo();
                }
                Err(c) => self.fail_cause(&c),
            },
            Hs::StartTls { .. } => self.state = Hs::Upgrading,
            Hs::Auth(_) if reply.code == 334 => {
                let challenge = reply.response.message().next().unwrap_or("");
                let decoded = BASE64
                    .decode(challenge.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default();
                match self.auth_response(Some(&decoded)) {
                    Ok(r) => self.state = Hs::Auth(AuthStep::Respond(r)),
                    Err(e) => self.fail(e),
                }
            }
            Hs::Auth(_) => self.finish(),
            _ => {}
        }
    }

    fn failed(&mut self, cause: Cause) {
        self.fail_cause(&cause);
    }

    fn tls_ready(&mut self) {
        self.on_tls();
    }

    fn password(&mut self, pw: Result<Password, RelayError>) {
        self.on_password(pw);
    }
}
