//! [`reply`]: the recipients, subject and threading fields of an answer to a message, per
//! RFC 5322 §3.6.4 and the rules mail clients share.

use super::{BuildError, DraftBuilder};
use crate::Addr;
use crate::address::parse_list_bytes;
use crate::draft::Draft;

/// How to answer a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyOptions {
    /// Reply to all: the parent's To and Cc become the Cc, minus [`ReplyOptions::me`].
    pub all: bool,
    /// The user's own addresses (the From of the reply, `[compose] me`): never copied, and a
    /// parent from one of them is answered to its original recipients.
    pub me: Vec<Addr>,
    /// Quote the parent's plain-text body (`> ` prefixes, an attribution line first).
    pub quote: bool,
}

/// References longer than this (one line, ids joined by spaces) lose ids from the middle:
/// RFC 5322 §2.1.1 allows 998 octets per line, `References: ` included.
const REFERENCES_MAX: usize = 998 - "References: ".len();

/// Starts a reply to `parent` (an RFC 5322 message): To from Reply-To, else From (for a message
/// the user sent, its original To); with [`ReplyOptions::all`], Cc from the parent's To and
/// Cc; `Re:` once; In-Reply-To and References. Set From and the body on the result.
///
/// ```
/// use envoi::build::{reply, ReplyOptions};
/// let parent = b"From: Ann <ann@example.org>\nTo: me@example.net, bob@example.com\n\
/// Subject: Re: lunch\nMessage-ID: <2@example.org>\nReferences: <1@example.net>\n\nNoon?\n";
/// let me = vec![envoi::Addr::parse("me@example.net").unwrap()];
/// let draft = reply(parent, &ReplyOptions { all: true, me, quote: false })?
///     .from("me@example.net")
///     .text("Yes.\n")
///     .to_vec()?;
/// let text = String::from_utf8(draft).unwrap();
/// assert!(text.contains("To: \"Ann\" <ann@example.org>\r\nCc: <bob@example.com>\r\n"));
/// assert!(text.contains("Subject: Re: lunch\r\n"));
/// assert!(text.contains("In-Reply-To: <2@example.org>\r\n"));
/// assert!(text.contains("References: <1@example.net> <2@example.org>\r\n"));
/// # Ok::<(), envoi::build::BuildError>(())
/// ```
pub fn reply(parent: &[u8], opts: &ReplyOptions) -> Result<DraftBuilder, BuildError> {
    let d = Draft::parse(parent).map_err(|f| BuildError::invalid("parent", f.to_string()))?;
    let from = mailboxes(&d, "From")?;
    let mine = |a: &Addr| opts.me.contains(a);
    let sent_by_me = from.iter().any(|(_, a)| mine(a));
    let to = if sent_by_me {
        mailboxes(&d, "To")?
    } else {
        let reply_to = mailboxes(&d, "Reply-To")?;
        if reply_to.is_empty() {
            from.clone()
        } else {
            reply_to
        }
    };
    let mut cc = Vec::new();
    if opts.all {
        if !sent_by_me {
            cc.extend(mailboxes(&d, "To")?);
        }
        cc.extend(mailboxes(&d, "Cc")?);
    }
    let mut seen: Vec<Addr> = to.iter().map(|(_, a)| a.clone()).collect();
    cc.retain(|(_, a)| {
        let keep = !mine(a) && !seen.contains(a);
        seen.push(a.clone());
        keep
    });
    let mut b = DraftBuilder::new()
        .to(to.into_iter().map(|(t, _)| t))
        .cc(cc.into_iter().map(|(t, _)| t))
        .subject(prefixed("Re:", &subject(&d)));
    let id = unfolded(&d, "Message-ID").and_then(|v| msg_ids(&v).into_iter().next());
    let mut refs = match unfolded(&d, "References") {
        Some(r) => msg_ids(&r),
        None => unfolded(&d, "In-Reply-To").map_or_else(Vec::new, |v| msg_ids(&v)),
    };
    if let Some(id) = id {
        b = b.in_reply_to(id.clone());
        refs.push(id);
    }
    if !refs.is_empty() {
        b = b.references(trim_middle(refs));
    }
    if opts.quote {
        b = b.text(super::quote::quote(&d, &from)?);
    }
    Ok(b)
}

/// The value of the first field `name`, unfolded and trimmed; lossy where it is not UTF-8.
pub(super) fn unfolded(d: &Draft<'_>, name: &str) -> Option<String> {
    let f = d.fields_named(name).next()?;
    let v = String::from_utf8_lossy(f.value());
    Some(v.replace(['\r', '\n'], "").trim().to_owned())
}

/// The Subject, its RFC 2047 words decoded (mail-builder encodes it again).
pub(super) fn subject(d: &Draft<'_>) -> String {
    unfolded(d, "Subject").map_or_else(String::new, |s| super::addresses::decode_words(&s))
}

/// `prefix` before `subject`, unless the subject already starts with it (in any case): no
/// `Re: Re:`.
pub(super) fn prefixed(prefix: &str, subject: &str) -> String {
    let s = subject.trim();
    let mut rest = s;
    // Compared as bytes: the prefix is ASCII, so a match ends on a character boundary.
    while rest
        .as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
    {
        rest = rest[prefix.len()..].trim_start();
    }
    if rest.len() == s.len() {
        return format!("{prefix} {s}").trim_end().to_owned();
    }
    format!("{prefix} {rest}").trim_end().to_owned()
}

/// The mailboxes of every field `name`, as written (unfolded), with their validated address.
fn mailboxes(d: &Draft<'_>, name: &str) -> Result<Vec<(String, Addr)>, BuildError> {
    let mut out = Vec::new();
    for f in d.fields_named(name) {
        let value = f.value();
        let err = |source| BuildError::Address {
            field: format!("parent's {name}"),
            source,
        };
        for b in parse_list_bytes(value).map_err(err)? {
            let addr = b.resolve(None).map_err(err)?;
            let text = String::from_utf8_lossy(&value[b.range.clone()]);
            out.push((text.replace(['\r', '\n'], "").trim().to_owned(), addr));
        }
    }
    Ok(out)
}

/// Every `<id>` in a field value, in order.
fn msg_ids(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = v;
    while let Some(s) = rest.find('<') {
        let Some(e) = rest[s..].find('>') else { break };
        let id = &rest[s..s + e + 1];
        if id.len() > 2 && !id[1..id.len() - 1].contains(char::is_whitespace) {
            out.push(id.to_owned());
        }
        rest = &rest[s + e + 1..];
    }
    out
}

/// Keeps the first id (the thread's root) and the newest ones that fit on one line.
fn trim_middle(mut refs: Vec<String>) -> Vec<String> {
    let len = |r: &[String]| r.iter().map(|i| i.len() + 1).sum::<usize>();
    while refs.len() > 2 && len(&refs) > REFERENCES_MAX {
        refs.remove(1);
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_is_not_stacked() {
        assert_eq!(prefixed("Re:", "lunch"), "Re: lunch");
        assert_eq!(prefixed("Re:", "RE: re: lunch"), "Re: lunch");
        assert_eq!(prefixed("Re:", ""), "Re:");
        assert_eq!(prefixed("Fwd:", "Fwd: x"), "Fwd: x");
        assert_eq!(prefixed("Re:", "Grüße"), "Re: Grüße");
    }

    #[test]
    fn references_keep_root_and_newest() {
        let ids: Vec<String> = (0..100)
            .map(|i| format!("<{i:03}-abcdefgh@example.org>"))
            .collect();
        let kept = trim_middle(ids.clone());
        assert_eq!(kept[0], ids[0]);
        assert_eq!(kept.last(), ids.last());
        assert!(kept.iter().map(|i| i.len() + 1).sum::<usize>() <= REFERENCES_MAX);
        assert!(kept.len() > 10);
    }
}
