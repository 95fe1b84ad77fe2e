//! Invariants over generated drafts (proptest). Each draft is built from a model that knows every
//! address, every field and which bytes belong to Bcc, so the composed output can be predicted
//! exactly under every Bcc policy:
//!
//! - no byte of a blind recipient (address, display name, comment) reaches a submission that a
//!   To/Cc recipient gets, and a split-each copy names only its own recipient;
//! - the envelopes hold exactly the visible and Bcc addresses, each once, in order of first
//!   appearance;
//! - every field other than Bcc is byte-identical (apart from LF→CRLF), and so is the body;
//! - compose, parse and check never panic, whatever the bytes.
//!
//! Local parts look like `v3d1` (visible pool) or `q3d1` (blind pool): the digit after `d` picks
//! the domain, so a local part names one address and a substring search finds exactly its bytes.
//! Free text uses no digits, so it never looks like one.

use envoi::{Addr, BccPolicy, Composer, FixedClock, HashIds, Options};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

const POLICIES: [BccPolicy; 4] = [
    BccPolicy::Remove,
    BccPolicy::Blank,
    BccPolicy::Split,
    BccPolicy::SplitEach,
];
const DATE: &str = "Fri, 15 Jan 2027 08:00:00 +0000";
const DOMAINS: [&str; 3] = ["d0.example", "mail.d1.example", "d2.example"];

/// One mailbox of an address field.
#[derive(Debug, Clone)]
struct Mb {
    /// `v`/`V` (visible pool) or `q`/`Q` (blind pool; not hex, so never part of a Message-ID), then a digit, `d` and the domain digit.
    local: String,
    /// The domain as written (random letter case).
    domain: String,
    /// 0 bare, 1 `Name <..>`, 2 `"Last, First" <..>`, 3 `.. (comment)`, 4 `"local"@..`.
    form: u8,
    /// Display name / comment words; in a Bcc field they start with `Blind`.
    words: String,
}

impl Mb {
    fn canonical(&self) -> String {
        format!("{}@{}", self.local, self.domain.to_ascii_lowercase())
    }
    fn spec(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }
    /// The mailbox as written in the field.
    fn text(&self) -> String {
        match self.form {
            0 => self.spec(),
            1 => format!("{} <{}>", self.words, self.spec()),
            2 => format!("\"{}, {}\" <{}>", self.words, self.words, self.spec()),
            3 => format!("{} ({})", self.spec(), self.words),
            _ => format!("\"{}\"@{}", self.local, self.domain),
        }
    }
    /// What split-each writes back: the mailbox without a trailing comment.
    fn written(&self) -> String {
        match self.form {
            3 => self.spec(),
            _ => self.text(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    To,
    Cc,
    Bcc,
    Other,
}

/// One header field: its kind, the bytes written (with this field's line endings), and for
/// To/Cc/Bcc the mailboxes it holds.
#[derive(Debug, Clone)]
struct Fld {
    kind: Kind,
    raw: Vec<u8>,
    mbs: Vec<Mb>,
}

#[derive(Debug, Clone)]
struct Model {
    from: Mb,
    fields: Vec<Fld>,
    extras: Vec<String>,
    /// None: a header-only draft (no blank line).
    body: Option<Vec<u8>>,
}

fn eol(crlf: bool) -> &'static str {
    if crlf { "\r\n" } else { "\n" }
}

fn free_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            "lunch", "on", "friday", "hello", "re:", "x", "-", "a,b", "ok?", ";", "é", "ß",
        ]),
        1..5,
    )
    .prop_map(|w| w.join(" "))
}

fn mailbox(blind_field: bool) -> impl Strategy<Value = Mb> {
    (
        prop::sample::select(if blind_field {
            vec!['v', 'V', 'q', 'Q']
        } else {
            vec!['v', 'V']
        }),
        0u8..4,
        0usize..DOMAINS.len(),
        proptest::collection::vec(any::<bool>(), 16),
        0u8..5,
        prop::sample::select(vec!["Ann", "Bob Smith", "Zoe Q", "Carl"]),
    )
        .prop_map(move |(pool, n, d, case, form, name)| {
            let domain: String = DOMAINS[d]
                .chars()
                .zip(case.iter().cycle())
                .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            let words = if blind_field {
                format!("Blind {name}")
            } else {
                name.to_owned()
            };
            Mb {
                local: format!("{pool}{n}d{d}"),
                domain,
                form,
                words,
            }
        })
}

/// Kind, mailboxes, field name as spelled, (fold, tab) per separator, as a group, CRLF.
type FieldSpec = (Kind, Vec<Mb>, String, Vec<(bool, bool)>, bool, bool);

/// An address field: a name spelling, mailboxes (maybe in a group), separators that may fold.
fn address_field(kind: Kind) -> impl Strategy<Value = FieldSpec> {
    let names: Vec<&str> = match kind {
        Kind::To => vec!["To", "to", "TO", "To "],
        Kind::Cc => vec!["Cc", "cc", "CC", "Cc\t"],
        _ => vec!["Bcc", "bcc", "BCC", "bCc", "Bcc ", "BCC \t"],
    };
    (
        proptest::collection::vec(mailbox(kind == Kind::Bcc), 0..4),
        prop::sample::select(names),
        proptest::collection::vec((any::<bool>(), any::<bool>()), 5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(mbs, name, seps, group, crlf)| {
            (kind, mbs, name.to_owned(), seps, group, crlf)
        })
}

fn build_address_field((kind, mbs, name, seps, group, crlf): FieldSpec) -> Fld {
    let e = eol(crlf);
    let mut v = String::new();
    for (i, m) in mbs.iter().enumerate() {
        if i > 0 {
            let (fold, tab) = seps[i % seps.len()];
            v.push(',');
            if fold {
                v.push_str(e);
                v.push_str(if tab { "\t" } else { "  " });
            } else {
                v.push(' ');
            }
        }
        v.push_str(&m.text());
    }
    let value = if group {
        let gname = if kind == Kind::Bcc {
            "Blind list"
        } else {
            "Team"
        };
        format!("{gname}: {v};")
    } else {
        v
    };
    let raw = if value.is_empty() {
        format!("{name}:{e}")
    } else {
        format!("{name}: {value}{e}")
    };
    Fld {
        kind,
        raw: raw.into_bytes(),
        mbs,
    }
}

fn other_field() -> impl Strategy<Value = Fld> {
    (
        prop::sample::select(vec![
            "Subject",
            "X-Tag",
            "Comments",
            "Received",
            "Reply-To",
            "X-Empty",
            "Keywords ",
        ]),
        free_text(),
        proptest::option::of(free_text()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(name, text, cont, crlf, spaced)| {
            let e = eol(crlf);
            let mut raw = if spaced {
                format!("{name}:   {text}  ")
            } else {
                format!("{name}:{text}")
            };
            raw.push_str(e);
            if let Some(c) = cont {
                raw.push_str(&format!("\t{c}{e}"));
            }
            Fld {
                kind: Kind::Other,
                raw: raw.into_bytes(),
                mbs: Vec::new(),
            }
        })
}

fn any_field() -> impl Strategy<Value = Fld> {
    prop_oneof![
        2 => address_field(Kind::To).prop_map(build_address_field),
        1 => address_field(Kind::Cc).prop_map(build_address_field),
        2 => address_field(Kind::Bcc).prop_map(build_address_field),
        2 => other_field(),
    ]
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::weighted(
        0.9,
        (
            proptest::collection::vec((free_text(), 0u8..3), 0..5),
            any::<bool>(),
        )
            .prop_map(|(lines, last_eol)| {
                let mut b = Vec::new();
                let n = lines.len();
                for (i, (t, e)) in lines.into_iter().enumerate() {
                    b.extend_from_slice(t.as_bytes());
                    if i + 1 < n || last_eol {
                        b.extend_from_slice(match e {
                            0 => b"\n",
                            1 => b"\r\n",
                            _ => b"\n\n",
                        });
                    }
                }
                b
            }),
    )
}

fn model() -> impl Strategy<Value = Model> {
    (
        mailbox(false),
        proptest::collection::vec(any_field(), 0..8),
        proptest::collection::vec((0u8..4, 0usize..DOMAINS.len()), 0..2),
        body(),
        0usize..8,
        any::<bool>(),
    )
        .prop_map(|(from, mut fields, extras, body, at, crlf)| {
            let raw = format!("From: {}{}", from.text(), eol(crlf)).into_bytes();
            let at = at.min(fields.len());
            fields.insert(
                at,
                Fld {
                    kind: Kind::Other,
                    raw,
                    mbs: Vec::new(),
                },
            );
            let extras = extras
                .into_iter()
                .map(|(n, d)| format!("v{n}d{d}@{}", DOMAINS[d]))
                .collect();
            Model {
                from,
                fields,
                extras,
                body,
            }
        })
}

impl Model {
    fn draft(&self) -> Vec<u8> {
        let mut d: Vec<u8> = self.fields.iter().flat_map(|f| f.raw.clone()).collect();
        if let Some(b) = &self.body {
            d.extend_from_slice(b"\n");
            d.extend_from_slice(b);
        }
        d
    }
    fn mailboxes(&self, bcc: bool) -> impl Iterator<Item = &Mb> {
        self.fields
            .iter()
            .filter(move |f| (f.kind == Kind::Bcc) == bcc && f.kind != Kind::Other)
            .flat_map(|f| f.mbs.iter())
    }
    /// To/Cc addresses then the extras, each once.
    fn visible(&self) -> Vec<String> {
        dedupe(
            self.mailboxes(false)
                .map(Mb::canonical)
                .chain(self.extras.iter().cloned()),
        )
    }
    /// Every header address in header order, then the extras, each once.
    fn everyone(&self) -> Vec<String> {
        let header = self
            .fields
            .iter()
            .filter(|f| f.kind != Kind::Other)
            .flat_map(|f| f.mbs.iter().map(Mb::canonical));
        dedupe(header.chain(self.extras.iter().cloned()))
    }
    /// Bcc recipients who are not visible, each once, with the mailbox as first written.
    fn blind(&self) -> Vec<&Mb> {
        let visible = self.visible();
        let mut out: Vec<&Mb> = Vec::new();
        for m in self.mailboxes(true) {
            let c = m.canonical();
            if !visible.contains(&c) && !out.iter().any(|o| o.canonical() == c) {
                out.push(m);
            }
        }
        out
    }
    /// The exact header block of a submission, up to the added fields.
    fn header(&self, show: &Show) -> Vec<u8> {
        let mut out = Vec::new();
        let mut first_bcc = true;
        for f in &self.fields {
            if f.kind != Kind::Bcc {
                out.extend_from_slice(&crlf(&f.raw));
                continue;
            }
            match show {
                Show::None => {}
                Show::All => out.extend_from_slice(&crlf(&f.raw)),
                Show::Blank if first_bcc => out.extend_from_slice(b"Bcc:\r\n"),
                Show::Only(m) if first_bcc => {
                    out.extend_from_slice(format!("Bcc: {}\r\n", m.written()).as_bytes())
                }
                _ => {}
            }
            first_bcc = false;
        }
        out
    }
}

enum Show<'m> {
    None,
    Blank,
    All,
    Only(&'m Mb),
}

fn dedupe(v: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in v {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Every line ending made CRLF (what compose promises for header and body lines).
fn crlf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 8);
    for line in b.split_inclusive(|&c| c == b'\n') {
        let l = line.strip_suffix(b"\n");
        match l {
            Some(l) => {
                out.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

fn composer(policy: BccPolicy, extras: &[String]) -> Composer {
    let opts = Options {
        bcc_policy: policy,
        extra_rcpts: extras.iter().map(|a| Addr::parse(a).unwrap()).collect(),
        ..Options::default()
    };
    Composer::new(opts)
        .unwrap()
        .with_clock(FixedClock::utc(1_800_000_000))
        .with_ids(HashIds)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Checks one model under one policy; returns a description of the first broken invariant.
fn check_model(m: &Model, policy: BccPolicy) -> Result<(), String> {
    let draft = m.draft();
    let result = composer(policy, &m.extras).compose(&draft);
    let everyone = m.everyone();
    let c = match result {
        Err(e) if everyone.is_empty() => {
            return e
                .to_string()
                .contains("no recipients")
                .then_some(())
                .ok_or(format!("wrong error for no recipients: {e}"));
        }
        Err(e) => return Err(format!("compose failed: {e}")),
        Ok(c) => c,
    };
    let visible = m.visible();
    let blind = m.blind();
    let blind_addrs: Vec<String> = blind.iter().map(|b| b.canonical()).collect();

    // Envelopes: who gets which copy.
    let got: Vec<Vec<String>> = c
        .iter()
        .map(|s| s.envelope().to.iter().map(|a| a.to_string()).collect())
        .collect();
    let mut want: Vec<(Vec<String>, Show)> = Vec::new();
    match policy {
        BccPolicy::Remove => want.push((everyone.clone(), Show::None)),
        BccPolicy::Blank => want.push((everyone.clone(), Show::Blank)),
        BccPolicy::Split | BccPolicy::SplitEach => {
            if !visible.is_empty() {
                want.push((visible.clone(), Show::None));
            }
            if policy == BccPolicy::Split && !blind.is_empty() {
                want.push((blind_addrs.clone(), Show::All));
            }
            if policy == BccPolicy::SplitEach {
                for b in &blind {
                    want.push((vec![b.canonical()], Show::Only(b)));
                }
            }
        }
    }
    let want_env: Vec<&Vec<String>> = want.iter().map(|(e, _)| e).collect();
    if got.iter().collect::<Vec<_>>() != want_env {
        return Err(format!("envelopes: want {want_env:?}, got {got:?}"));
    }
    // Nobody gets two copies, and the copies together reach everyone.
    let mut all: Vec<&String> = got.iter().flatten().collect();
    let n = all.len();
    all.sort();
    all.dedup();
    if n != all.len() || n != everyone.len() {
        return Err(format!("{n} deliveries for {} addresses", everyone.len()));
    }
    let from = m.from.canonical();
    for s in &c {
        if s.envelope().from.as_str() != from {
            return Err(format!("envelope from {} != {from}", s.envelope().from));
        }
    }

    // Message ids, and the fields envoi adds.
    let id = c.message_id();
    let id_ok = id
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .and_then(|i| i.split_once('@'))
        .is_some_and(|(hex, dom)| {
            hex.len() == 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
                && Some(dom) == from.split('@').nth(1)
        });
    if !id_ok {
        return Err(format!("bad Message-ID {id}"));
    }
    let added = format!(
        "Date: {DATE}\r\nMessage-ID: {id}\r\nX-Mailer: envoi/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );

    for (i, ((env, show), sub)) in want.iter().zip(&c).enumerate() {
        let bytes = sub.to_bytes();
        // Exact bytes: untouched fields, the policy's Bcc, added fields, body.
        let mut expect = m.header(show);
        expect.extend_from_slice(added.as_bytes());
        if let Some(b) = &m.body {
            expect.extend_from_slice(b"\r\n");
            expect.extend_from_slice(&crlf(b));
        }
        if bytes != expect {
            return Err(format!(
                "submission {i} bytes differ\n want: {}\n got:  {}",
                expect.escape_ascii(),
                bytes.escape_ascii()
            ));
        }
        // The leak check, stated on its own: it must hold whatever the exact-bytes model says.
        let has_visible = env.iter().any(|a| visible.contains(a));
        // The author's own address is in From for all to see, even when also a blind copy.
        for b in blind.iter().filter(|b| b.local != m.from.local) {
            let own = env.len() == 1 && env[0] == b.canonical();
            if (has_visible || !own && policy == BccPolicy::SplitEach) && contains(&bytes, &b.local)
            {
                return Err(format!("submission {i} to {env:?} shows blind {}", b.local));
            }
        }
        if has_visible && contains(&bytes, "Blind") {
            return Err(format!("submission {i} to {env:?} shows Bcc text"));
        }
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// `default` cases, or as many as `PROPTEST_CASES` asks for (a long run outside the suite).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn bcc_never_leaks_envelopes_are_exact_and_other_bytes_are_kept() {
    let cases = cases(6000);
    let mut r = runner(cases);
    let checked = std::cell::Cell::new(0u64);
    r.run(&model(), |m| {
        checked.set(checked.get() + 1);
        for p in POLICIES {
            if let Err(why) = check_model(&m, p) {
                return Err(TestCaseError::fail(format!(
                    "{p}: {why}\ndraft: {}",
                    m.draft().escape_ascii()
                )));
            }
        }
        Ok(())
    })
    .unwrap();
    // A long run says how much it proved.
    eprintln!("{} drafts checked under every Bcc policy", checked.get());
    assert!(checked.get() >= u64::from(cases));
}

/// The generator must produce what the invariants talk about, or the test above proves little.
#[test]
fn generated_drafts_cover_the_interesting_cases() {
    let mut r = runner(1);
    let (mut blind, mut shared, mut folded_bcc, mut empty, mut header_only) = (0, 0, 0, 0, 0);
    for _ in 0..500 {
        let m = model().new_tree(&mut r).unwrap().current();
        let vis = m.visible();
        if !m.blind().is_empty() {
            blind += 1;
        }
        if m.mailboxes(true).any(|b| vis.contains(&b.canonical())) {
            shared += 1;
        }
        if m.fields
            .iter()
            .any(|f| f.kind == Kind::Bcc && f.raw.iter().filter(|&&b| b == b'\n').count() > 1)
        {
            folded_bcc += 1;
        }
        if m.everyone().is_empty() {
            empty += 1;
        }
        if m.body.is_none() {
            header_only += 1;
        }
    }
    for (what, n) in [
        ("blind recipients", blind),
        ("a Bcc address also in To/Cc", shared),
        ("a folded Bcc", folded_bcc),
        ("no recipient at all", empty),
        ("no body", header_only),
    ] {
        assert!(n >= 5, "only {n} of 500 drafts have {what}");
    }
}

/// Parse, compose (every policy) and check on arbitrary bytes, and on header-shaped noise:
/// they may refuse, never panic.
#[test]
fn compose_never_panics() {
    let noise = proptest::collection::vec(
        prop_oneof![
            any::<u8>(),
            prop::sample::select(b":,;<>@\"()\\[]. \t\r\n=?".to_vec()),
        ],
        0..300,
    );
    let shaped = proptest::collection::vec(
        prop::sample::select(vec![
            &b"From: "[..],
            b"To: ",
            b"Bcc: ",
            b"Resent-From: ",
            b"Resent-Bcc: ",
            b"Sender: ",
            b"a@b.example",
            b"\"q, x\"",
            b"<@r.example:",
            b"(c (d)",
            b"G:",
            b";",
            b",",
            b">",
            b"\n",
            b"\r\n",
            b"\n ",
            b"=?utf-8?q?x?=",
            "ü@ß.example".as_bytes(),
            b"\xff",
            b"[1.2.3.4]",
        ]),
        0..40,
    )
    .prop_map(|parts| parts.concat());
    let mut r = runner(6000);
    r.run(&prop_oneof![noise, shaped], |bytes| {
        let _ = envoi::Draft::parse(&bytes);
        for p in POLICIES {
            let composer = composer(p, &[]);
            let _ = composer.check(&bytes);
            if let Ok(c) = composer.compose(&bytes) {
                prop_assert!(c.iter().len() > 0);
                for s in &c {
                    prop_assert!(!s.envelope().to.is_empty());
                    let m = s.to_bytes();
                    prop_assert!(
                        m.iter()
                            .enumerate()
                            .all(|(k, &b)| b != b'\n' || (k > 0 && m[k - 1] == b'\r')),
                        "bare LF in output"
                    );
                }
            }
        }
        Ok(())
    })
    .unwrap();
}

/// Header lines that between them make every kind of finding, and clean drafts too.
fn lint_line() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select::<&'static [u8]>(vec![
        &b"From: a@x.example\n"[..],
        b"From: root\n",
        b"From: a@x.example, b@x.example\n",
        b"From:\n",
        b"From: a@\n",
        b"Sender: s@x.example\n",
        b"Sender: s@x.example, t@x.example\n",
        b"To: b@y.example\n",
        b"To: bob\n",
        b"To: c@\n",
        b"To:\n",
        b"Cc: d@y.example,\n e@y.example\n",
        b"Cc: \n",
        b"Bcc: f@z.example\n",
        b"Bcc: <g@z.example\n",
        b"Subject: hi\n",
        b"Date: Fri, 15 Jan 2027 08:00:00 +0000\n",
        b"Resent-From: r@x.example\n",
        b"Resent-To: rt@y.example\n",
        b"Resent-Bcc:\n",
        b" continued\n",
        b"not a header\n",
        b"To: \xfe\n",
    ])
}

/// The options that change what compose refuses: an envelope sender, a default sender, an
/// extra recipient, a domain for bare names.
fn lint_composer(knobs: u8) -> Composer {
    let a = |s: &str| Addr::parse(s).unwrap();
    let opts = Options {
        envelope_from: (knobs & 1 != 0).then(|| a("env@from.example")),
        default_from: (knobs & 2 != 0).then(|| a("default@from.example")),
        extra_rcpts: if knobs & 4 != 0 {
            vec![a("extra@rcpt.example")]
        } else {
            Vec::new()
        },
        local_domain: (knobs & 8 != 0).then(|| "corp.example".to_owned()),
        ..Options::default()
    };
    Composer::new(opts).unwrap()
}

/// `check` under the options compose uses reports an error exactly when compose refuses the
/// draft, and the error compose gives is one of them; over drafts made of [`lint_line`]s (with
/// a body that may hold an over-long line) and over the drafts of the Bcc model.
#[test]
fn check_reports_an_error_exactly_when_compose_refuses() {
    let lines = (
        proptest::collection::vec(lint_line(), 0..7),
        prop_oneof![Just(""), Just("\nbody\n"), Just("\r\nshort\r\n")],
        any::<bool>(),
    )
        .prop_map(|(lines, body, long)| {
            let mut d = lines.concat();
            d.extend_from_slice(body.as_bytes());
            if long {
                d.extend_from_slice(&[b'x'; 999]);
                d.push(b'\n');
            }
            d
        });
    let drafts = prop_oneof![lines, model().prop_map(|m| m.draft())];
    let (mut refused, mut accepted, mut warned) = (0, 0, 0);
    let mut r = runner(4000);
    r.run(&(drafts, 0u8..16), |(draft, knobs)| {
        let composer = lint_composer(knobs);
        let findings = composer.check(&draft);
        let errors: Vec<_> = findings.iter().filter(|f| f.is_error()).collect();
        match composer.compose(&draft) {
            Ok(_) => prop_assert!(errors.is_empty(), "composed, yet check says {errors:?}"),
            Err(envoi::ComposeError::Draft(e)) => {
                prop_assert!(errors.contains(&&e), "compose: {e}; check: {findings:?}")
            }
            Err(e) => prop_assert!(false, "valid options refused: {e}"),
        }
        Ok(())
    })
    .unwrap();
    // Both verdicts, and warnings on accepted drafts, must come up, or the test proves little.
    let mut r = runner(1);
    for _ in 0..2000 {
        let (draft, knobs) = (
            prop_oneof![
                proptest::collection::vec(lint_line(), 0..7).prop_map(|l| l.concat()),
                model().prop_map(|m| m.draft())
            ],
            0u8..16,
        )
            .new_tree(&mut r)
            .unwrap()
            .current();
        let composer = lint_composer(knobs);
        match composer.compose(&draft) {
            Ok(_) if !composer.check(&draft).is_empty() => warned += 1,
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(
        refused >= 200 && accepted >= 200 && warned >= 50,
        "refused {refused}, accepted clean {accepted}, accepted with warnings {warned}"
    );
}
