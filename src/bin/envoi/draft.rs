//! `envoi draft`: a draft from flags and/or JSON, a reply or a forward, printed on stdout.
//! Every value is checked before any file is read; the library builds and encodes.

use crate::exit::{DATAERR, Failure, IOERR, NOINPUT, Result};
use base64::Engine;
use clap::Args;
use envoi::build::{Attachment, BuildError, Content, DraftBuilder, ErrorKind, ReplyOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone, Default)]
pub struct DraftArgs {
    /// From: `Name <addr>`, a bare addr-spec or a group
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// Sender (one mailbox)
    #[arg(long, value_name = "ADDR")]
    pub sender: Option<String>,
    /// To (repeatable; a value may be a list)
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,
    /// Cc (repeatable)
    #[arg(long, value_name = "ADDR")]
    pub cc: Vec<String>,
    /// Bcc (repeatable); kept in the draft, compose removes it
    #[arg(long, value_name = "ADDR")]
    pub bcc: Vec<String>,
    /// Reply-To
    #[arg(long, value_name = "ADDR")]
    pub reply_to: Option<String>,
    /// Subject (RFC 2047-encoded where it is not ASCII)
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// Plain-text body from a file, or `-` for stdin (UTF-8)
    #[arg(long, value_name = "FILE|-")]
    pub body: Option<PathBuf>,
    /// HTML body from a file (UTF-8); with --body: multipart/alternative
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Attach a file (repeatable): FILE[;type=MIME][;name=NAME]
    #[arg(long, value_name = "FILE[;type=MIME][;name=NAME]")]
    pub attach: Vec<String>,
    /// Custom header field (repeatable): 'Name: value'
    #[arg(long, value_name = "'Name: value'")]
    pub header: Vec<String>,
    /// Fields as JSON (docs/draft.schema.json), from a file or `-`; flags win
    #[arg(long, value_name = "FILE|-")]
    pub json: Option<PathBuf>,
    /// Answer this message: To, Subject: Re:, In-Reply-To, References
    #[arg(long, value_name = "PARENT.eml", conflicts_with = "forward")]
    pub reply: Option<PathBuf>,
    /// With --reply: Cc the parent's To and Cc, minus your own addresses
    #[arg(long, requires = "reply")]
    pub all: bool,
    /// With --reply: quote the parent's plain-text body
    #[arg(long, requires = "reply")]
    pub quote: bool,
    /// Forward this message as a message/rfc822 attachment, Subject: Fwd:
    #[arg(long, value_name = "PARENT.eml")]
    pub forward: Option<PathBuf>,
}

/// Fields from one origin (flags or JSON), before they meet.
#[derive(Debug, Default, Clone)]
struct Fields {
    from: Option<String>,
    sender: Option<String>,
    to: Option<Vec<String>>,
    cc: Option<Vec<String>>,
    bcc: Option<Vec<String>>,
    reply_to: Option<Vec<String>>,
    subject: Option<String>,
    text: Option<Content>,
    html: Option<Content>,
    attachments: Vec<Attachment>,
    headers: Vec<(String, String)>,
}

pub fn run(args: &DraftArgs) -> Result {
    if args.json.as_deref() == Some(Path::new("-")) && args.body.as_deref() == Some(Path::new("-"))
    {
        return Err(Failure::usage(
            "--json - and --body - cannot both read stdin",
        ));
    }
    // First the flags, before any file is read.
    let flags = from_flags(args)?;
    checked(&flags, "")?;
    let json = match &args.json {
        Some(p) => {
            let f = from_json(p)?;
            checked(&f, "JSON ")?;
            f
        }
        None => Fields::default(),
    };
    let stdin_body = args.body.as_deref() == Some(Path::new("-"));
    let mut fields = merge(json, flags);
    if stdin_body {
        // `--body -` wins over the JSON's text like any flag; stdin is read last.
        fields.text = None;
    }
    let Some(from) = fields.from.clone() else {
        return Err(Failure::usage(
            "a draft needs a From: give --from or `from` in the JSON",
        ));
    };
    let base = match (&args.reply, &args.forward) {
        (Some(parent), _) => {
            let opts = ReplyOptions {
                all: args.all,
                me: me(&from)?,
                quote: args.quote,
            };
            envoi::build::reply(&read_parent(parent)?, &opts).map_err(failure)?
        }
        (None, Some(parent)) => envoi::build::forward(&read_parent(parent)?).map_err(failure)?,
        (None, None) => DraftBuilder::new(),
    };
    let mut b = apply(base, fields)?;
    if stdin_body {
        let mut text = b.text_bytes().map(<[u8]>::to_vec).unwrap_or_default();
        std::io::stdin()
            .lock()
            .read_to_end(&mut text)
            .map_err(|e| Failure::new(IOERR, format!("cannot read stdin: {e}")))?;
        b = b.text(Content::Bytes(text));
    }
    let mut out = std::io::stdout().lock();
    b.write_to(&mut out).map_err(failure)?;
    out.flush()
        .map_err(|e| Failure::write(Path::new("stdout"), e))
}

/// The library's error as an exit code: the value (65), a file to read (66), stdout (74).
pub fn failure(e: BuildError) -> Failure {
    let code = match e.kind() {
        ErrorKind::Data => DATAERR,
        ErrorKind::Input => NOINPUT,
        ErrorKind::Output => IOERR,
    };
    Failure::new(code, e.to_string())
}

/// Builds the fields alone (nothing read) to check them; `origin` prefixes the message.
fn checked(f: &Fields, origin: &str) -> Result {
    // Without a reply's quote, `apply` reads nothing: files are only named here.
    let b = apply(DraftBuilder::new(), f.clone())?;
    b.validate()
        .map_err(|e| Failure::new(DATAERR, format!("{origin}{e}")))
}

fn from_flags(a: &DraftArgs) -> Result<Fields> {
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let mut headers = Vec::with_capacity(a.header.len());
    for h in &a.header {
        headers.push(header(h, "header")?);
    }
    let mut attachments = Vec::with_capacity(a.attach.len());
    for (i, spec) in a.attach.iter().enumerate() {
        attachments.push(attach_spec(i + 1, spec)?);
    }
    Ok(Fields {
        from: a.from.clone(),
        sender: a.sender.clone(),
        to: list(&a.to),
        cc: list(&a.cc),
        bcc: list(&a.bcc),
        reply_to: a.reply_to.clone().map(|r| vec![r]),
        subject: a.subject.clone(),
        text: a
            .body
            .as_ref()
            .filter(|p| p.as_os_str() != "-")
            .map(|p| Content::Path(p.clone())),
        html: a.html.clone().map(Content::Path),
        attachments,
        headers,
    })
}

/// `Name: value`; without a colon it is not a header at all.
fn header(h: &str, field: &str) -> Result<(String, String)> {
    let Some((name, value)) = envoi::build::split_header(h) else {
        return Err(Failure::new(
            DATAERR,
            format!("{field}: `{}` is not `Name: value`", h.escape_debug()),
        ));
    };
    Ok((name.to_owned(), value.to_owned()))
}

/// `FILE[;type=MIME][;name=NAME]`: the options are the `;type=` and `;name=` suffixes, so a
/// file name may hold other semicolons.
fn attach_spec(n: usize, spec: &str) -> Result<Attachment> {
    if spec.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(failure(BuildError::LineBreak {
            field: format!("attachment {n}"),
        }));
    }
    let cut = [";type=", ";name="]
        .iter()
        .filter_map(|k| spec.find(k))
        .min()
        .unwrap_or(spec.len());
    let mut a = Attachment::file(&spec[..cut]);
    for opt in spec[cut..].split(';').skip(1) {
        match opt.split_once('=') {
            Some(("type", t)) => a.content_type = Some(t.to_owned()),
            Some(("name", t)) => a.filename = Some(t.to_owned()),
            _ => {
                return Err(Failure::new(
                    DATAERR,
                    format!("attachment {n}: `{opt}` is neither type=MIME nor name=NAME"),
                ));
            }
        }
    }
    if spec[..cut].is_empty() {
        return Err(Failure::new(DATAERR, format!("attachment {n}: no file")));
    }
    Ok(a)
}

/// Flags win: a field given as a flag replaces the JSON's; attachments and headers add up.
fn merge(json: Fields, flags: Fields) -> Fields {
    let mut attachments = json.attachments;
    attachments.extend(flags.attachments);
    let mut headers = json.headers;
    headers.extend(flags.headers);
    Fields {
        from: flags.from.or(json.from),
        sender: flags.sender.or(json.sender),
        to: flags.to.or(json.to),
        cc: flags.cc.or(json.cc),
        bcc: flags.bcc.or(json.bcc),
        reply_to: flags.reply_to.or(json.reply_to),
        subject: flags.subject.or(json.subject),
        text: flags.text.or(json.text),
        html: flags.html.or(json.html),
        attachments,
        headers,
    }
}

/// The fields on top of `b` (empty, or what a reply or forward derived). A reply's quote comes
/// before the text given.
fn apply(mut b: DraftBuilder, f: Fields) -> Result<DraftBuilder> {
    if let Some(v) = f.from {
        b = b.from(v);
    }
    if let Some(v) = f.sender {
        b = b.sender(v);
    }
    if let Some(v) = f.to {
        b = b.to(v);
    }
    if let Some(v) = f.cc {
        b = b.cc(v);
    }
    if let Some(v) = f.bcc {
        b = b.bcc(v);
    }
    if let Some(v) = f.reply_to {
        b = b.reply_to(v);
    }
    if let Some(v) = f.subject {
        b = b.subject(v);
    }
    if let Some(t) = f.text {
        b = match (b.text_bytes().map(<[u8]>::to_vec), t) {
            (Some(mut quote), Content::Bytes(t)) => {
                quote.extend_from_slice(&t);
                b.text(Content::Bytes(quote))
            }
            (Some(mut quote), Content::Path(p)) => {
                // Read only after every check: `apply` on unchecked fields never has a quote.
                let t = std::fs::read(&p).map_err(|source| {
                    failure(BuildError::Read {
                        field: "text".into(),
                        path: p.clone(),
                        source,
                    })
                })?;
                quote.extend_from_slice(&t);
                b.text(Content::Bytes(quote))
            }
            (None, t) => b.text(t),
        };
    }
    if let Some(h) = f.html {
        b = b.html(h);
    }
    for a in f.attachments {
        b = b.attach(a);
    }
    for (n, v) in f.headers {
        b = b.header(n, v);
    }
    Ok(b)
}

fn read_parent(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound
            || e.kind() == std::io::ErrorKind::PermissionDenied
        {
            NOINPUT
        } else {
            IOERR
        };
        Failure::new(code, format!("cannot read {}: {e}", p.display()))
    })
}

/// The user's addresses: the From of the reply and `[compose] me`.
fn me(from: &str) -> Result<Vec<envoi::Addr>> {
    let config = envoi::Config::load().map_err(Failure::config)?;
    let mut me = config.compose.me.clone();
    if let Ok(list) = envoi::address::parse_list(from) {
        me.extend(list.iter().filter_map(|m| m.resolve(None).ok()));
    }
    Ok(me)
}

// ---- JSON ----

#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct Json {
    from: Option<String>,
    sender: Option<String>,
    to: Option<Vec<String>>,
    cc: Option<Vec<String>>,
    bcc: Option<Vec<String>>,
    reply_to: Option<Vec<String>>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    #[serde(default)]
    attachments: Vec<JsonAttachment>,
    #[serde(default)]
    headers: Headers,
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JsonAttachment {
    path: Option<PathBuf>,
    content_base64: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
}

/// The `headers` object, its fields in the order written.
#[derive(Debug, Default)]
struct Headers(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Headers, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Headers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of field names to string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Headers, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry::<String, String>()? {
                    out.push(kv);
                }
                Ok(Headers(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn from_json(p: &Path) -> Result<Fields> {
    let bytes = if p.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut b)
            .map_err(|e| Failure::new(IOERR, format!("cannot read stdin: {e}")))?;
        b
    } else {
        read_parent(p)?
    };
    let j: Json = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::new(DATAERR, format!("JSON {}: {e}", p.display())))?;
    let mut attachments = Vec::with_capacity(j.attachments.len());
    for (i, a) in j.attachments.into_iter().enumerate() {
        let field = format!("JSON attachments[{i}]");
        let content = match (a.path, a.content_base64) {
            (Some(p), None) => Content::Path(p),
            (None, Some(b)) => Content::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map_err(|e| Failure::new(DATAERR, format!("{field}.content_base64: {e}")))?,
            ),
            _ => {
                return Err(Failure::new(
                    DATAERR,
                    format!("{field}: give exactly one of `path` and `content_base64`"),
                ));
            }
        };
        attachments.push(Attachment {
            content,
            filename: a.filename,
            content_type: a.content_type,
        });
    }
    Ok(Fields {
        from: j.from,
        sender: j.sender,
        to: j.to,
        cc: j.cc,
        bcc: j.bcc,
        reply_to: j.reply_to,
        subject: j.subject,
        text: j.text.map(Content::from),
        html: j.html.map(Content::from),
        attachments,
        headers: j.headers.0,
    })
}
