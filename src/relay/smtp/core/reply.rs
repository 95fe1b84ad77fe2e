//! Replies: cutting the bytes read into complete replies (several may arrive in one read when
//! commands are pipelined), parsing them with lettre's `Response`, and the EHLO extensions.

use super::Cause;
use lettre::transport::smtp::extension::{Extension, ServerInfo};
use lettre::transport::smtp::response::Response;
use std::str::FromStr;

/// One complete reply: its code and its lines' texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    pub(crate) response: Response,
}

impl Reply {
    pub(crate) fn negative(&self) -> bool {
        self.code >= 400
    }
    /// The reply as the server sent it, on one line: `550 5.1.1 <x@example.org>: User unknown`.
    pub(crate) fn text(&self) -> String {
        let lines: Vec<&str> = self.response.message().collect();
        format!("{} {}", self.code, lines.join(" "))
            .trim()
            .to_owned()
    }
}

/// The longest reply envoi accepts: far more than any EHLO list, far less than a flood.
const MAX_REPLY: usize = 64 * 1024;

/// Bytes read so far, cut into replies as soon as one is complete. Bytes after a reply stay for
/// the next one: with pipelining several replies arrive in one read.
#[derive(Debug, Default)]
pub(crate) struct ReplyBuffer {
    buf: Vec<u8>,
}

impl ReplyBuffer {
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The first complete reply, if one has arrived; an error when the bytes are not a reply.
    pub(crate) fn take(&mut self) -> Result<Option<Reply>, Cause> {
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &self.buf[start..]) {
            let line = &self.buf[start..start + nl + 1];
            start += nl + 1;
            // The last line of a reply has a space (or nothing) after the code; others a dash.
            if line.get(3) != Some(&b'-') {
                return self.parse(start).map(Some);
            }
        }
        if self.buf.len() > MAX_REPLY {
            return Err(Cause::Closed(format!(
                "a reply longer than {MAX_REPLY} bytes"
            )));
        }
        Ok(None)
    }

    fn parse(&mut self, end: usize) -> Result<Reply, Cause> {
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        let unreadable = || Cause::Closed(format!("unreadable reply {:?}", lossy(&raw)));
        // lettre's parser wants CRLF line ends (a bare LF from a sloppy server is still one) and
        // a space after a final code, which RFC 5321 makes optional (`250` alone is a reply).
        let mut text = String::new();
        for line in String::from_utf8_lossy(&raw).lines() {
            text.push_str(line);
            if line.len() == 3 {
                text.push(' ');
            }
            text.push_str("\r\n");
        }
        let response = Response::from_str(&text).map_err(|_| unreadable())?;
        let code = text
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(unreadable)?;
        Ok(Reply { code, response })
    }
}

fn lossy(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_end();
    s.chars().take(200).collect()
}

/// What the server offers, from its EHLO reply. lettre's `ServerInfo` knows no PIPELINING, so
/// envoi reads that keyword itself.
#[derive(Debug, Clone)]
pub(crate) struct Caps {
    info: ServerInfo,
    pub(crate) pipelining: bool,
    /// RFC 3461 delivery status notifications.
    pub(crate) dsn: bool,
    auth: Vec<String>,
}

impl Caps {
    pub(crate) fn of(reply: &Reply) -> Result<Caps, Cause> {
        // lettre's reader panics on a line of blanks (`250-  `), which a server may send: such
        // lines say nothing, so they are left out of what it is given (found by fuzzing).
        let lines = reply.response.message().filter(|l| !l.trim().is_empty());
        let said = Response::new(reply.response.code(), lines.map(str::to_owned).collect());
        let info = ServerInfo::from_response(&said)
            .map_err(|e| Cause::Closed(format!("unreadable EHLO reply: {e}")))?;
        let offers = |keyword: &str| {
            reply.response.message().any(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
            })
        };
        let (pipelining, dsn) = (offers("PIPELINING"), offers("DSN"));
        let mut auth: Vec<String> = Vec::new();
        for line in reply.response.message() {
            let Some((keyword, rest)) = line.split_once([' ', '=']) else {
                continue;
            };
            if keyword.eq_ignore_ascii_case("AUTH") {
                for m in rest.split_whitespace().map(str::to_ascii_uppercase) {
                    if !auth.contains(&m) {
                        auth.push(m);
                    }
                }
            }
        }
        Ok(Caps {
            info,
            pipelining,
            dsn,
            auth,
        })
    }
    pub(crate) fn has(&self, e: Extension) -> bool {
        self.info.supports_feature(e)
    }

    /// The SASL mechanisms of the EHLO `AUTH` line (lettre's list knows no OAUTHBEARER), upper
    /// case. `AUTH=` is the old spelling some servers still send.
    pub(crate) fn auth_mechanisms(&self) -> &[String] {
        &self.auth
    }
}
