//! Address fields: RFC 5322 §3.4 address lists (with the obsolete syntax of §4.4) parsed into
//! validated, canonical SMTP addr-specs (RFC 5321 §4.1.2), domains in IDNA ASCII form.
//!
//! The parser is our own rather than mail-parser's because the envelope must never lose or invent
//! an address: every token is accounted for, and anything unexpected is an error naming it.

mod canonical;
mod fast;

use canonical::{normalise, normalise_known};

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Why an address field could not be read. Each variant says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// A character or token where the address syntax does not allow one.
    #[error("`{found}` is not valid here, in `{within}`")]
    Unexpected {
        /// The token or character found (or `end of field`).
        found: String,
        /// The stretch of the field around it, quoted safely.
        within: String,
    },
    /// A quoted string with no closing `"`.
    #[error("a quoted string is not closed with `\"`")]
    UnclosedQuote,
    /// A comment with no closing `)`.
    #[error("a comment is not closed with `)`")]
    UnclosedComment,
    /// A domain literal with no closing `]`.
    #[error("a domain literal is not closed with `]`")]
    UnclosedLiteral,
    /// An angle address with no closing `>`.
    #[error("`<` is not closed with `>`")]
    UnclosedAngle,
    /// A group (`name: ...`) with no closing `;`; holds the group's name.
    #[error("group `{0}` is not closed with `;`")]
    UnclosedGroup(String),
    /// The field's bytes are not UTF-8 (RFC 6532 allows UTF-8 only).
    #[error("the header is not valid UTF-8")]
    NotUtf8,
    /// A bare name such as `root`, and no local domain to qualify it; holds the name.
    #[error("`{0}` has no `@domain`")]
    NoDomain(String),
    /// An address whose local part or domain breaks RFC 5321 (or IDNA) rules.
    #[error("`{addr}`: {why}")]
    Invalid {
        /// The address as written.
        addr: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// `local@` with nothing after the `@`; holds the local part.
    #[error("`{0}@` has no domain after `@`")]
    MissingDomain(String),
    /// `<>`: the null reverse-path, which is no recipient or author.
    #[error("`<>` is an empty address")]
    Empty,
}

/// A validated envelope address: `local@domain` in canonical form.
///
/// The local part is kept exactly (quoted only where RFC 5321 requires it); the domain is
/// lower-cased and, unless the local part needs SMTPUTF8, in IDNA ASCII form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Addr {
    text: String,
    at: usize,
}

impl Addr {
    /// Parses and validates one bare addr-spec (`a@b.example`, no display name), as a user types
    /// it in a recipient box or on a command line.
    ///
    /// ```
    /// let a = envoi::Addr::parse("Ann@Example.ORG").unwrap();
    /// assert_eq!(a.as_str(), "Ann@example.org");
    /// ```
    pub fn parse(s: &str) -> Result<Addr, AddressError> {
        let list = parse_list(s)?;
        match list.as_slice() {
            [one] => one.resolve(None),
            _ => Err(AddressError::Invalid {
                addr: s.to_owned(),
                why: "expected exactly one address",
            }),
        }
    }

    /// Builds an address from its two parts, validating both.
    pub fn from_parts(local: &str, domain: &str) -> Result<Addr, AddressError> {
        normalise(local, domain)
    }

    /// The whole address, `local@domain`, in canonical form.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The local part, quoted where RFC 5321 requires it.
    pub fn local(&self) -> &str {
        &self.text[..self.at]
    }
    /// The domain: lower case; IDNA ASCII form unless the address needs SMTPUTF8.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }
    /// True when the local part is not ASCII, so the transaction needs SMTPUTF8 (RFC 6531).
    pub fn needs_smtputf8(&self) -> bool {
        !self.local().is_ascii()
    }
    /// The domain in ASCII form (for Message-IDs), whatever form the envelope keeps.
    pub fn ascii_domain(&self) -> Cow<'_, str> {
        let d = self.domain();
        if d.is_ascii() {
            Cow::Borrowed(d)
        } else {
            Cow::Owned(idna::domain_to_ascii(d).unwrap_or_else(|_| d.to_owned()))
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// One mailbox found in an address field, before validation.
///
/// Parts borrow the field value where they were written in one piece (the common case), so
/// reading an address list allocates little.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox<'a> {
    /// The local part, unquoted (quoted-pairs resolved).
    pub local: Cow<'a, str>,
    /// Whether any part of the local part was written as a quoted string.
    pub quoted: bool,
    /// The domain as written (a dot-atom or a `[literal]`), or None for a bare name like `root`.
    pub domain: Option<Cow<'a, str>>,
    /// Byte range of the whole mailbox (display name included) in the field value.
    pub range: Range<usize>,
}

impl Mailbox<'_> {
    /// Validates this mailbox into an [`Addr`]; `local_domain` qualifies a bare name such as `root`.
    pub fn resolve(&self, local_domain: Option<&str>) -> Result<Addr, AddressError> {
        let domain = match (&self.domain, local_domain) {
            (Some(d), _) => d,
            (None, Some(d)) => d,
            (None, None) => return Err(AddressError::NoDomain(self.local.to_string())),
        };
        normalise(&self.local, domain)
    }

    /// [`Mailbox::resolve`] for a mailbox just read by [`ListParser::parse_read`] on its fast
    /// path, whose local parts are ASCII dot-atoms: they are not scanned a second time.
    pub(crate) fn resolve_read(
        &self,
        local_domain: Option<&str>,
        fast: bool,
    ) -> Result<Addr, AddressError> {
        match (&self.domain, fast) {
            (Some(d), true) => normalise_known(&self.local, d, true),
            _ => self.resolve(local_domain),
        }
    }
}

/// Parses an address list (the value of To, Cc, Bcc, From, ...) into its mailboxes, group
/// members included, in order. Empty groups and empty list elements add nothing.
///
/// ```
/// let m = envoi::address::parse_list("Team: a@x.example, \"Doe, J\" <j@y.example>;, c@z.example").unwrap();
/// assert_eq!(m.len(), 3);
/// assert_eq!(m[1].local, "j");
/// ```
pub fn parse_list(value: &str) -> Result<Vec<Mailbox<'_>>, AddressError> {
    ListParser::default().parse(value)
}

/// Parses many address lists with one reusable token buffer: composing reads several address
/// fields per message, thousands of messages per batch. The buffer is kept per thread between
/// parsers, so a batch allocates it once.
#[derive(Debug)]
pub(crate) struct ListParser {
    toks: Vec<Token>,
}

thread_local! {
    static TOKENS: std::cell::Cell<Vec<Token>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Default for ListParser {
    fn default() -> ListParser {
        ListParser::new()
    }
}

impl Drop for ListParser {
    fn drop(&mut self) {
        let toks = std::mem::take(&mut self.toks);
        // Fails only while the thread is exiting; the buffer is then simply freed.
        let _ = TOKENS.try_with(|t| t.set(toks));
    }
}

impl ListParser {
    pub fn new() -> ListParser {
        ListParser {
            toks: TOKENS.try_with(|t| t.take()).unwrap_or_default(),
        }
    }

    /// Same as [`parse_list`].
    pub fn parse<'v>(&mut self, value: &'v str) -> Result<Vec<Mailbox<'v>>, AddressError> {
        let mut out = Vec::new();
        self.parse_into(value, &mut out)?;
        Ok(out)
    }

    /// Like [`ListParser::parse`], into `out` (cleared first): one vector can serve every field
    /// of a message.
    pub fn parse_into<'v>(
        &mut self,
        value: &'v str,
        out: &mut Vec<Mailbox<'v>>,
    ) -> Result<(), AddressError> {
        self.parse_read(value, out).map(|_| ())
    }

    /// [`ListParser::parse_into`], also saying whether the fast path read the list (see
    /// [`Mailbox::resolve_read`]).
    pub(crate) fn parse_read<'v>(
        &mut self,
        value: &'v str,
        out: &mut Vec<Mailbox<'v>>,
    ) -> Result<bool, AddressError> {
        out.clear();
        if fast::parse_into(value, out) {
            return Ok(true);
        }
        *out = self.parse_full(value)?;
        Ok(false)
    }

    /// The full RFC 5322 parser, without the fast path (which tests and the fuzz target check
    /// against it).
    pub(crate) fn parse_full<'v>(
        &mut self,
        value: &'v str,
    ) -> Result<Vec<Mailbox<'v>>, AddressError> {
        self.parse_noting(value).map(|(out, _)| out)
    }

    /// The full parser, also returning the first address that follows a group's `;` without a
    /// comma (read all the same; `check` warns).
    fn parse_noting<'v>(
        &mut self,
        value: &'v str,
    ) -> Result<(Vec<Mailbox<'v>>, Option<String>), AddressError> {
        let ats = tokenize(value, &mut self.toks)?;
        let mut p = Parser {
            src: value,
            toks: &self.toks,
            i: 0,
            // Nearly every mailbox has one `@`: sized once, no regrowth.
            out: Vec::with_capacity(ats.max(1)),
            no_comma: None,
        };
        p.list(false)?;
        let next = p.no_comma.clone().map(|r| p.text(r.start, r.end));
        Ok((p.out, next))
    }
}

/// For `check`: the first address that no comma separates from the group before it
/// (`A: a@x; B: b@x;` gives `B: b@x;`), when the list is otherwise readable.
pub(crate) fn group_without_comma(value: &str) -> Option<String> {
    // The fast path declines such a list, so a list it reads has every comma.
    if fast::parse_into(value, &mut Vec::new()) {
        return None;
    }
    ListParser::new().parse_noting(value).ok()?.1
}

/// Like [`parse_list`], for raw header bytes that must be UTF-8.
pub fn parse_list_bytes(value: &[u8]) -> Result<Vec<Mailbox<'_>>, AddressError> {
    parse_list(std::str::from_utf8(value).map_err(|_| AddressError::NotUtf8)?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Atom,
    /// The range includes both quotes; the content is unescaped only when it is a local part.
    Quoted,
    Literal,
    Special(u8),
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    range: Range<usize>,
}

/// atext (RFC 5322 §3.2.3) plus every non-ASCII byte (RFC 6532 §3.2), as a table: this test
/// runs for every byte of every address.
const ATEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b >= 0x80;
        i += 1;
    }
    let extra = b"!#$%&'*+-/=?^_`{|}~";
    let mut k = 0;
    while k < extra.len() {
        t[extra[k] as usize] = true;
        k += 1;
    }
    t
};

fn is_atext(b: u8) -> bool {
    ATEXT[b as usize]
}

/// Splits `s` into tokens (comments and white space dropped); returns how many `@` it holds.
fn tokenize(s: &str, toks: &mut Vec<Token>) -> Result<usize, AddressError> {
    let b = s.as_bytes();
    let mut ats = 0;
    toks.clear();
    // Roughly one token per three bytes in typical address fields: no regrowth while tokenizing.
    toks.reserve(s.len() / 3 + 4);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => {
                i = skip_comment(b, i)?;
                continue;
            }
            b'"' => {
                i = quoted_end(b, i)?;
                Tok::Quoted
            }
            b'[' => {
                let end = memchr::memchr(b']', &b[i..]).ok_or(AddressError::UnclosedLiteral)?;
                i += end + 1;
                Tok::Literal
            }
            b'=' if b.get(i + 1) == Some(&b'?') && encoded_word_len(&b[i..]).is_some() => {
                i += encoded_word_len(&b[i..]).unwrap_or(1);
                Tok::Atom
            }
            b'<' | b'>' | b':' | b';' | b'@' | b',' | b'.' => {
                ats += usize::from(c == b'@');
                i += 1;
                Tok::Special(c)
            }
            _ if is_atext(c) => {
                while i < b.len() && is_atext(b[i]) {
                    i += 1;
                }
                Tok::Atom
            }
            _ => {
                return Err(AddressError::Unexpected {
                    found: char_at(s, i),
                    within: within(s),
                });
            }
        };
        toks.push(Token {
            tok,
            range: start..i,
        });
    }
    Ok(ats)
}

/// The field value as context for an error: unfolded, trimmed, control characters escaped.
fn within(s: &str) -> String {
    let unfolded: String = s.split(['\r', '\n']).collect();
    crate::quote::quote_input(unfolded.trim().as_bytes())
}

fn char_at(s: &str, i: usize) -> String {
    s[i..]
        .chars()
        .next()
        .map(|c| c.escape_debug().to_string())
        .unwrap_or_default()
}

/// Length of an RFC 2047 encoded word at the start of `b`, so that specials inside one (seen in
/// the wild: `=?utf-8?q?Doe,_J?=`) do not split a display name.
fn encoded_word_len(b: &[u8]) -> Option<usize> {
    let mut q = 0;
    for (i, &c) in b.iter().enumerate().skip(2) {
        if c <= b' ' || c == 0x7f {
            return None;
        }
        if c == b'?' {
            q += 1;
            if q == 3 {
                return (b.get(i + 1) == Some(&b'=')).then_some(i + 2);
            }
        }
    }
    None
}

fn skip_comment(b: &[u8], mut i: usize) -> Result<usize, AddressError> {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(AddressError::UnclosedComment)
}

/// The index just past the closing quote of the quoted string starting at `start`.
fn quoted_end(b: &[u8], start: usize) -> Result<usize, AddressError> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Ok(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Err(AddressError::UnclosedQuote)
}

/// The content of a quoted string (quotes included in `raw`): quoted-pairs resolved, and the
/// CRLF of folding dropped, as it is not part of the content (RFC 5322 §3.2.4).
fn unquote(raw: &str, out: &mut String) {
    let mut chars = raw[1..raw.len() - 1].chars();
    while let Some(c) = chars.next() {
        match c {
            // The obsolete quoted-pair of a CR or LF (RFC 5322 §4.1) before a fold: unfolding
            // removes the line break, so the pair quotes the white space after it.
            '\\' => match chars.next() {
                Some('\r' | '\n') => {}
                c => out.extend(c),
            },
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
}

struct Parser<'s, 't> {
    src: &'s str,
    toks: &'t [Token],
    i: usize,
    out: Vec<Mailbox<'s>>,
    /// The tokens of the first address that follows a group without a comma.
    no_comma: Option<Range<usize>>,
}

impl<'s> Parser<'s, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn unexpected(&self) -> AddressError {
        match self.toks.get(self.i) {
            Some(t) => AddressError::Unexpected {
                found: self.src[t.range.clone()].to_owned(),
                within: within(self.src),
            },
            None => AddressError::Unexpected {
                found: "end of field".into(),
                within: within(self.src),
            },
        }
    }

    /// address-list, or a group's mailbox-list when `in_group` (ends at `;`).
    fn list(&mut self, in_group: bool) -> Result<(), AddressError> {
        loop {
            match self.peek() {
                None => return Ok(()),
                Some(Tok::Special(b';')) if in_group => return Ok(()),
                Some(Tok::Special(b',')) => {
                    self.i += 1;
                    continue;
                }
                _ => {
                    let start = self.i;
                    self.address(in_group)?;
                    if self.no_comma == Some(start..start) {
                        self.no_comma = Some(start..self.i);
                    }
                }
            }
            match self.peek() {
                None => return Ok(()),
                Some(Tok::Special(b',')) => self.i += 1,
                Some(Tok::Special(b';')) if in_group => return Ok(()),
                // Drafts in the wild list groups without commas (`A: a@x; B: b@x;`). Outside a
                // group a `;` can only have closed one, so what follows is the next address.
                _ if !in_group && self.toks[self.i - 1].tok == Tok::Special(b';') => {
                    self.no_comma.get_or_insert(self.i..self.i);
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn address(&mut self, in_group: bool) -> Result<(), AddressError> {
        let start = self.i;
        let mut j = self.i;
        while matches!(
            self.toks.get(j).map(|t| &t.tok),
            Some(Tok::Atom | Tok::Quoted | Tok::Special(b'.'))
        ) {
            j += 1;
        }
        match self.toks.get(j).map(|t| &t.tok) {
            Some(Tok::Special(b'<')) => {
                self.i = j;
                self.angle(start)
            }
            Some(Tok::Special(b':')) if j > start && !in_group => {
                self.i = j + 1;
                self.list(true)?;
                if self.peek() != Some(&Tok::Special(b';')) {
                    return Err(AddressError::UnclosedGroup(self.text(start, j)));
                }
                self.i += 1;
                Ok(())
            }
            Some(Tok::Special(b'@')) if j > start => {
                self.i = j;
                let (local, quoted) = self
                    .local_part(start, j)
                    .map_err(|e| self.name_whole(e, start))?;
                self.i = j + 1;
                let domain = self.domain()?;
                self.push(start, local, quoted, Some(domain));
                Ok(())
            }
            None | Some(Tok::Special(b',' | b';')) if j > start => {
                let (local, quoted) = self.local_part(start, j)?;
                self.i = j;
                self.push(start, local, quoted, None);
                Ok(())
            }
            _ => {
                self.i = j;
                Err(self.unexpected())
            }
        }
    }

    fn angle(&mut self, start: usize) -> Result<(), AddressError> {
        self.i += 1; // '<'
        if self.peek() == Some(&Tok::Special(b'@')) {
            // obs-route (RFC 5322 §4.4): `<@relay1,@relay2:user@host>`; the route is ignored.
            while !matches!(self.peek(), Some(Tok::Special(b':')) | None) {
                self.i += 1;
            }
            if self.peek().is_none() {
                return Err(AddressError::UnclosedAngle);
            }
            self.i += 1;
        }
        if self.peek() == Some(&Tok::Special(b'>')) {
            return Err(AddressError::Empty);
        }
        let ls = self.i;
        while matches!(
            self.peek(),
            Some(Tok::Atom | Tok::Quoted | Tok::Special(b'.'))
        ) {
            self.i += 1;
        }
        if ls == self.i {
            return Err(self.unexpected());
        }
        let (local, quoted) = self
            .local_part(ls, self.i)
            .map_err(|e| self.name_whole(e, ls))?;
        let domain = match self.peek() {
            Some(Tok::Special(b'@')) => {
                self.i += 1;
                Some(self.domain()?)
            }
            _ => None,
        };
        match self.peek() {
            Some(Tok::Special(b'>')) => self.i += 1,
            None => return Err(AddressError::UnclosedAngle),
            _ => return Err(self.unexpected()),
        }
        self.push(start, local, quoted, domain);
        Ok(())
    }

    fn push(
        &mut self,
        start: usize,
        local: Cow<'s, str>,
        quoted: bool,
        domain: Option<Cow<'s, str>>,
    ) {
        let range = self.toks[start].range.start..self.toks[self.i - 1].range.end;
        self.out.push(Mailbox {
            local,
            quoted,
            domain,
            range,
        });
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.src[self.toks[from].range.start..self.toks[to - 1].range.end].to_owned()
    }

    /// The source text of tokens `from..to` when nothing (space, comment) separates them.
    fn contiguous(&self, from: usize, to: usize) -> Option<&'s str> {
        let t = &self.toks[from..to];
        t.windows(2)
            .all(|w| w[0].range.end == w[1].range.start)
            .then(|| &self.src[t[0].range.start..t[t.len() - 1].range.end])
    }

    /// word *("." word), CFWS around the dots allowed (obs-local-part).
    fn local_part(&self, from: usize, to: usize) -> Result<(Cow<'s, str>, bool), AddressError> {
        let mut quoted = false;
        for (k, t) in self.toks[from..to].iter().enumerate() {
            match (&t.tok, k % 2 == 0) {
                (Tok::Atom, true) | (Tok::Special(b'.'), false) => {}
                (Tok::Quoted, true) => quoted = true,
                _ => {
                    return Err(AddressError::Invalid {
                        addr: self.text(from, to),
                        why: "the local part has an empty atom (`..`, or a dot at an end)",
                    });
                }
            }
        }
        if (to - from).is_multiple_of(2) {
            return Err(AddressError::Invalid {
                addr: self.text(from, to),
                why: "the local part ends with a dot",
            });
        }
        if !quoted && let Some(text) = self.contiguous(from, to) {
            return Ok((Cow::Borrowed(text), false));
        }
        let mut local = String::new();
        for t in &self.toks[from..to] {
            let raw = &self.src[t.range.clone()];
            match t.tok {
                Tok::Quoted => unquote(raw, &mut local),
                _ => local.push_str(raw),
            }
        }
        Ok((Cow::Owned(local), quoted))
    }

    /// A bad local part is reported with its domain (`a..b@x.example`, not `a..b`), so the
    /// message names the address the user wrote. `self.i` is at the token after the local part.
    fn name_whole(&self, e: AddressError, from: usize) -> AddressError {
        let AddressError::Invalid { why, .. } = e else {
            return e;
        };
        let tok = |k: usize| self.toks.get(k).map(|t| &t.tok);
        let mut end = self.i;
        if tok(end) == Some(&Tok::Special(b'@')) {
            end += 1;
            while matches!(
                tok(end),
                Some(Tok::Atom | Tok::Literal | Tok::Special(b'.'))
            ) {
                end += 1;
            }
        }
        AddressError::Invalid {
            addr: self.text(from, end),
            why,
        }
    }

    fn domain(&mut self) -> Result<Cow<'s, str>, AddressError> {
        if let Some(Tok::Literal) = self.peek() {
            self.i += 1;
            return Ok(Cow::Borrowed(
                &self.src[self.toks[self.i - 1].range.clone()],
            ));
        }
        if matches!(self.peek(), None | Some(Tok::Special(b',' | b';' | b'>'))) {
            let at = self.i - 1;
            let start = (0..at)
                .rev()
                .take_while(|&k| !matches!(self.toks[k].tok, Tok::Special(b',' | b'<' | b':')))
                .last()
                .unwrap_or(at);
            return Err(AddressError::MissingDomain(self.text(start, at)));
        }
        let start = self.i;
        loop {
            if self.peek() != Some(&Tok::Atom) {
                return Err(self.unexpected());
            }
            self.i += 1;
            if self.peek() != Some(&Tok::Special(b'.')) {
                break;
            }
            self.i += 1;
        }
        if let Some(text) = self.contiguous(start, self.i) {
            return Ok(Cow::Borrowed(text));
        }
        // obs-domain: CFWS around the dots (`x . example`) is not part of the domain.
        let parts = self.toks[start..self.i]
            .iter()
            .map(|t| &self.src[t.range.clone()]);
        Ok(Cow::Owned(parts.collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(v: &str) -> Vec<String> {
        parse_list(v)
            .unwrap()
            .iter()
            .map(|m| m.resolve(Some("local.example")).unwrap().to_string())
            .collect()
    }

    #[test]
    fn display_names_groups_comments() {
        assert_eq!(
            addrs(
                "\"Doe, John\" <J@Example.COM>, (c (nested)) x@y.example (tail), G: a@b.example, c@d.example;"
            ),
            ["J@example.com", "x@y.example", "a@b.example", "c@d.example"]
        );
        assert!(addrs("undisclosed-recipients:;").is_empty());
        assert!(addrs("").is_empty());
        assert!(addrs(" , ,").is_empty());
    }

    #[test]
    fn encoded_words_and_routes() {
        assert_eq!(
            addrs("=?utf-8?q?Doe,_J=C3=A9?= <j@x.example>"),
            ["j@x.example"]
        );
        assert_eq!(
            addrs("<@relay.example,@r2.example:u@h.example>"),
            ["u@h.example"]
        );
        assert_eq!(addrs("John Q. Public <jqp@x.example>"), ["jqp@x.example"]);
    }

    #[test]
    fn quoted_local_parts() {
        assert_eq!(addrs("\"john.doe\"@x.example"), ["john.doe@x.example"]);
        assert_eq!(addrs("\"a b\"@x.example"), ["\"a b\"@x.example"]);
        assert_eq!(addrs("\"a\\\"b\"@x.example"), ["\"a\\\"b\"@x.example"]);
        assert_eq!(addrs("john . doe @ x . example"), ["john.doe@x.example"]);
    }

    #[test]
    fn idna_and_smtputf8() {
        let a = Addr::parse("user@Bücher.example").unwrap();
        assert_eq!(a.as_str(), "user@xn--bcher-kva.example");
        assert!(!a.needs_smtputf8());
        let u = Addr::parse("jösé@Bücher.example").unwrap();
        assert_eq!(u.as_str(), "jösé@bücher.example");
        assert!(u.needs_smtputf8());
        assert_eq!(u.ascii_domain(), "xn--bcher-kva.example");
    }

    #[test]
    fn bare_names_are_qualified_or_rejected() {
        assert_eq!(addrs("root"), ["root@local.example"]);
        let m = parse_list("root").unwrap();
        assert_eq!(
            m[0].resolve(None),
            Err(AddressError::NoDomain("root".into()))
        );
    }

    #[test]
    fn groups_without_commas_are_read_and_noted() {
        let v = "A: a@x.example, b@x.example; B: c@x.example; d@x.example";
        assert_eq!(
            addrs(v),
            ["a@x.example", "b@x.example", "c@x.example", "d@x.example"]
        );
        assert_eq!(group_without_comma(v).as_deref(), Some("B: c@x.example;"));
        assert_eq!(group_without_comma("A:; (c) B:;").as_deref(), Some("B:;"));
        assert_eq!(group_without_comma("A: a@x.example;, B:;"), None);
        assert_eq!(group_without_comma("a@x.example, b@x.example"), None);
        // Only a group's `;` ends an address without a comma.
        assert!(parse_list("a@x.example b@x.example").is_err());
        assert!(parse_list("A: a@x.example; ;").is_err());
        assert!(parse_list("A: a@x.example B: b@x.example;").is_err());
    }

    #[test]
    fn obsolete_quoted_pair_across_a_fold() {
        // RFC 5322 §4.1 obs-qp: `\` may quote CR or LF; unfolding removes the line break.
        for v in [
            "a@x.example (note \\\r\n more), c@y.example",
            "a@x.example (note \\\n more), c@y.example",
            "(x \\\r\n\t(y)) a@x.example, c@y.example",
        ] {
            assert_eq!(addrs(v), ["a@x.example", "c@y.example"], "{v:?}");
        }
        let m = parse_list("\"a\\\r\n b\"@x.example").unwrap();
        assert_eq!((m[0].local.as_ref(), m[0].quoted), ("a b", true));
    }

    #[test]
    fn errors_name_the_problem() {
        for bad in [
            "a@",
            "<a@b.example",
            "a..b@c.example",
            "a@b_c.example",
            "<>",
            "\"x@y.example",
            "G: a@b.example",
            "a@b.example c@d.example",
            "a@[1.2.3]",
        ] {
            let r = parse_list(bad).and_then(|v| {
                v.iter()
                    .map(|m| m.resolve(None))
                    .collect::<Result<Vec<_>, _>>()
            });
            assert!(r.is_err(), "{bad} should fail");
        }
        let named = |v: &str| match parse_list(v) {
            Err(AddressError::Invalid { addr, .. }) => addr,
            other => panic!("{v}: {other:?}"),
        };
        assert_eq!(named("x@y.example, a..b@c.example"), "a..b@c.example");
        assert_eq!(named("Bob <bob.@example.net>"), "bob.@example.net");
        assert_eq!(named(".a"), ".a");
        assert_eq!(addrs("a@[192.0.2.1]"), ["a@[192.0.2.1]"]);
        assert_eq!(addrs("a@[IPv6:2001:db8::1]"), ["a@[IPv6:2001:db8::1]"]);
    }
}
