//! The handshake: greeting, EHLO, STARTTLS (then EHLO again), AUTH (the configured mechanism,
//! else the best of PLAIN and LOGIN). Never sends a password or token over a link that is not
//! encrypted.

use super::reply::Caps;
use super::sasl::Sasl;
use super::{Cause, Machine, Reply, Stage, Step, classify_cause};
use crate::relay::smtp::settings::{AuthMechanism, Password, SmtpSettings, TlsMode};
use crate::relay::{ErrorKind, RelayError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::transport::smtp::extension::Extension;

/// The longest AUTH command line with its initial response (RFC 4954 §4: within SMTP's 512
/// octets; a longer response, like most OAuth tokens, follows an empty 334 challenge instead).
const MAX_AUTH_LINE: usize = 512;

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
    /// The AUTH command, with the initial response where it fits.
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
    mechanism: Option<AuthMechanism>,
    sasl: Option<Sasl>,
    /// The initial response that did not fit on the AUTH line, base64-encoded: the answer to
    /// the server's first (empty) challenge.
    pending_initial: Option<String>,
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
            sasl: None,
            pending_initial: None,
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
                if let Some(s) = &self.sasl
                    && s.mechanism().is_oauth()
                {
                    let name = s.mechanism().sasl_name();
                    err.message.push_str(&format!(
                        " (AUTH {name}: the access token was refused; it may have expired or lack the mail scope"
                    ));
                    if let Some(why) = &s.server_error {
                        err.message
                            .push_str(&format!("; the server's reason: {why}"));
                    }
                    err.message.push(')');
                }
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
                let m = self.mechanism.expect("a mechanism was chosen");
                let user = self.cfg.credentials().map_or("", |c| c.user());
                let host = self.cfg.bare_host();
                self.sasl = Some(Sasl::new(m, user, p, host, self.cfg.port()));
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
        let offered = caps.auth_mechanisms();
        let offers = |m: &AuthMechanism| offered.iter().any(|o| o == m.sasl_name());
        let mechanism = match self.cfg.auth() {
            Some(m) => Some(m).filter(offers),
            None => [AuthMechanism::Plain, AuthMechanism::Login]
                .into_iter()
                .find(offers),
        };
        let Some(mechanism) = mechanism else {
            let wanted = match self.cfg.auth() {
                Some(m) => format!("AUTH {}", m.sasl_name()),
                None => "neither AUTH PLAIN nor AUTH LOGIN".to_owned(),
            };
            let list = if offered.is_empty() {
                "no AUTH mechanism".to_owned()
            } else {
                format!("AUTH {}", offered.join(" "))
            };
            return self.fail(
                RelayError::new(
                    ErrorKind::Auth,
                    format!(
                        "{server} offers {list}, not {wanted}, so user {user} cannot log in; choose one it offers with `auth`"
                    ),
                )
                .session_over(),
            );
        };
        self.mechanism = Some(mechanism);
        self.state = Hs::Password;
    }

    fn finish(&mut self) {
        self.sasl = None;
        self.pending_initial = None;
        let caps = self.caps.clone().expect("EHLO was read");
        self.state = Hs::Done(Ok(Session { caps }));
    }

    /// The AUTH command: with its initial response where the line stays within 512 octets,
    /// else alone (the response then answers the server's empty challenge).
    fn auth_command(&mut self) -> Vec<u8> {
        let sasl = self.sasl.as_ref().expect("the password was read");
        let name = sasl.mechanism().sasl_name();
        match sasl.initial_response().map(|r| BASE64.encode(r)) {
            Some(r) if format!("AUTH {name} {r}\r\n").len() <= MAX_AUTH_LINE => {
                format!("AUTH {name} {r}\r\n").into_bytes()
            }
            Some(r) => {
                self.pending_initial = Some(r);
                format!("AUTH {name}\r\n").into_bytes()
            }
            None => format!("AUTH {name}\r\n").into_bytes(),
        }
    }

    /// The answer to a 334 challenge, base64-encoded.
    fn on_challenge(&mut self, reply: &Reply) {
        if let Some(r) = self.pending_initial.take() {
            self.state = Hs::Auth(AuthStep::Respond(r));
            return;
        }
        let challenge = reply.response.message().next().unwrap_or("").trim();
        // A challenge that is not base64 is taken as it is (some servers send plain prompts).
        let decoded = BASE64
            .decode(challenge)
            .unwrap_or_else(|_| challenge.as_bytes().to_vec());
        let sasl = self.sasl.as_mut().expect("the password was read");
        match sasl.respond(&decoded) {
            Ok(r) => self.state = Hs::Auth(AuthStep::Respond(BASE64.encode(r))),
            Err(e) => self.fail(
                RelayError::new(ErrorKind::Auth, format!("{e} ({})", self.server)).session_over(),
            ),
        }
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
                Step::Write(self.auth_command())
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
            Hs::Auth(_) if reply.code == 334 => self.on_challenge(&reply),
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
