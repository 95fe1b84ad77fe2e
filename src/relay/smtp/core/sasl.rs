//! The SASL side of AUTH: what each mechanism says, before base64. PLAIN (RFC 4616), LOGIN,
//! XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628). The OAuth 2 mechanisms answer
//! a refusal the way their servers expect: the server sends its error (JSON) as a challenge, the
//! client answers it (XOAUTH2: an empty line; OAUTHBEARER: a lone ^A), then the server says 535.

use crate::relay::smtp::settings::{AuthMechanism, Password};

/// One login in progress. Its `Debug` shows neither the secret nor a response.
pub(crate) struct Sasl {
    mechanism: AuthMechanism,
    user: String,
    secret: Password,
    host: String,
    port: u16,
    /// Challenges answered so far.
    answered: u8,
    /// What an OAuth 2 server said when it refused the token (its JSON), for the error.
    pub(crate) server_error: Option<String>,
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sasl({}, {})", self.mechanism.sasl_name(), self.user)
    }
}

impl Sasl {
    pub(crate) fn new(
        mechanism: AuthMechanism,
        user: &str,
        secret: Password,
        host: &str,
        port: u16,
    ) -> Sasl {
        Sasl {
            mechanism,
            user: user.to_owned(),
            secret,
            host: host.to_owned(),
            port,
            answered: 0,
            server_error: None,
        }
    }

    pub(crate) fn mechanism(&self) -> AuthMechanism {
        self.mechanism
    }

    /// The initial response (RFC 4954), if the mechanism has one.
    pub(crate) fn initial_response(&self) -> Option<Vec<u8>> {
        let (user, secret) = (&self.user, self.secret.expose());
        match self.mechanism {
            AuthMechanism::Plain => Some(format!("\0{user}\0{secret}").into_bytes()),
            AuthMechanism::Login => None,
            AuthMechanism::Xoauth2 => {
                Some(format!("user={user}\x01auth=Bearer {secret}\x01\x01").into_bytes())
            }
            AuthMechanism::Oauthbearer => {
                // RFC 7628 §3.1: a GS2 header naming the user (`,` and `=` escaped), then
                // key=value pairs separated by ^A.
                let authzid = user.replace('=', "=3D").replace(',', "=2C");
                Some(
                    format!(
                        "n,a={authzid},\x01host={}\x01port={}\x01auth=Bearer {secret}\x01\x01",
                        self.host, self.port
                    )
                    .into_bytes(),
                )
            }
        }
    }

    /// The answer to a challenge (already base64-decoded); an error names what went wrong.
    pub(crate) fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, String> {
        self.answered += 1;
        let name = self.mechanism.sasl_name();
        match self.mechanism {
            AuthMechanism::Login => {
                let c = String::from_utf8_lossy(challenge).to_ascii_lowercase();
                // The usual prompts are `Username:` and `Password:`; some servers send others,
                // so the order decides when the prompt does not.
                let password =
                    c.starts_with("pass") || (!c.starts_with("user") && self.answered > 1);
                if self.answered > 2 {
                    return Err(format!("AUTH {name}: the server asks a third question"));
                }
                Ok(if password {
                    self.secret.expose().as_bytes().to_vec()
                } else {
                    self.user.as_bytes().to_vec()
                })
            }
            AuthMechanism::Xoauth2 | AuthMechanism::Oauthbearer if self.answered == 1 => {
                // The token was refused: the challenge is the server's error. Answer it so that
                // the server sends its final reply (RFC 7628 §3.2.3).
                let text = String::from_utf8_lossy(challenge).trim().to_owned();
                self.server_error = Some(text.chars().take(300).collect());
                Ok(match self.mechanism {
                    AuthMechanism::Xoauth2 => Vec::new(),
                    _ => vec![0x01],
                })
            }
            _ => Err(format!("AUTH {name}: unexpected challenge from the server")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl(m: AuthMechanism) -> Sasl {
        Sasl::new(
            m,
            "a,b=c@x.example",
            Password::new("tok"),
            "smtp.x.example",
            587,
        )
    }

    #[test]
    fn initial_responses() {
        let ir = |m| String::from_utf8(sasl(m).initial_response().unwrap()).unwrap();
        assert_eq!(ir(AuthMechanism::Plain), "\0a,b=c@x.example\0tok");
        assert_eq!(
            ir(AuthMechanism::Xoauth2),
            "user=a,b=c@x.example\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            ir(AuthMechanism::Oauthbearer),
            "n,a=a=2Cb=3Dc@x.example,\x01host=smtp.x.example\x01port=587\x01auth=Bearer tok\x01\x01"
        );
        assert!(sasl(AuthMechanism::Login).initial_response().is_none());
    }

    #[test]
    fn challenges() {
        let mut login = sasl(AuthMechanism::Login);
        assert_eq!(login.respond(b"Username:").unwrap(), b"a,b=c@x.example");
        assert_eq!(login.respond(b"Password:").unwrap(), b"tok");
        assert!(login.respond(b"Again?").is_err());

        let error = br#"{"status":"401","schemes":"Bearer"}"#;
        let mut x = sasl(AuthMechanism::Xoauth2);
        assert_eq!(x.respond(error).unwrap(), b"");
        assert_eq!(
            x.server_error.as_deref(),
            Some(r#"{"status":"401","schemes":"Bearer"}"#)
        );
        assert!(
            x.respond(error).is_err(),
            "a second challenge is not answered"
        );
        let mut o = sasl(AuthMechanism::Oauthbearer);
        assert_eq!(o.respond(error).unwrap(), b"\x01");
        assert!(sasl(AuthMechanism::Plain).respond(b"").is_err());
    }
}
