use super::*;
use base64::Engine;

fn addr() -> Addr {
    Addr::parse("root@h.example").unwrap()
}

/// Reads a From field back the way a mail reader does: unfolds it, checks that envoi's own
/// address parser finds the one address, and recovers the display name from its atoms, quoted
/// string or encoded words.
fn read_back(field: &str) -> (String, Addr) {
    for line in field.split("\r\n") {
        assert!(
            line.len() <= 78,
            "line of {} characters: {line:?}",
            line.len()
        );
    }
    let message = format!("{field}\r\nTo: b@y.example\r\n\r\nbody\r\n");
    let draft = Draft::parse(message.as_bytes()).expect("the field is a header field");
    assert_eq!(draft.fields_named("From").count(), 1);
    let value = field.strip_prefix("From: ").unwrap().replace("\r\n", "");
    let list = crate::address::parse_list(&value).unwrap();
    assert_eq!(list.len(), 1, "{value}");
    let addr = list[0].resolve(None).unwrap();
    let name = value.rsplit_once(" <").map_or("", |(n, _)| n);
    let name = if let Some(q) = name.strip_prefix('"') {
        let q = q.strip_suffix('"').expect("a closed quoted string");
        let mut out = String::new();
        let mut chars = q.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().expect("a quoted pair")),
                '"' => panic!("an unescaped quote in {name}"),
                c => out.push(c),
            }
        }
        out
    } else if name.contains("=?") {
        // Adjacent encoded words: the white space between them is not part of the text.
        let mut bytes = Vec::new();
        for word in name.split_whitespace() {
            assert!(
                word.len() <= 75,
                "encoded word of {} characters",
                word.len()
            );
            let text = word
                .strip_prefix("=?utf-8?b?")
                .and_then(|w| w.strip_suffix("?="))
                .unwrap_or_else(|| panic!("not an encoded word: {word}"));
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap();
            // Each word holds whole characters (RFC 2047 §5).
            assert!(std::str::from_utf8(&decoded).is_ok(), "{word}");
            bytes.extend(decoded);
        }
        String::from_utf8(bytes).unwrap()
    } else {
        name.to_owned()
    };
    (name, addr)
}

#[test]
fn plain_names_are_atoms_and_no_name_is_the_bare_address() {
    assert_eq!(
        from_field(Some("Cron Daemon"), &addr()),
        "From: Cron Daemon <root@h.example>"
    );
    assert_eq!(from_field(None, &addr()), "From: root@h.example");
    assert_eq!(from_field(Some("  "), &addr()), "From: root@h.example");
}

#[test]
fn names_with_specials_are_quoted() {
    let f = from_field(Some("Doe, J. (ops)"), &addr());
    assert_eq!(f, "From: \"Doe, J. (ops)\" <root@h.example>");
    assert_eq!(read_back(&f), ("Doe, J. (ops)".to_owned(), addr()));
}

#[test]
fn quotes_and_backslashes_are_escaped() {
    let name = r#"Ann "the boss" O\Neil"#;
    let f = from_field(Some(name), &addr());
    assert_eq!(f, r#"From: "Ann \"the boss\" O\\Neil" <root@h.example>"#);
    assert_eq!(read_back(&f), (name.to_owned(), addr()));
}

#[test]
fn a_name_that_looks_encoded_stays_text() {
    let name = "=?utf-8?b?SGk=?=";
    let f = from_field(Some(name), &addr());
    assert_eq!(read_back(&f).0, name);
}

#[test]
fn line_breaks_in_a_name_cannot_add_a_field() {
    let f = from_field(Some("Eve\r\nBcc: spy@evil.example"), &addr());
    assert!(!f.contains('\n') && !f.contains('\r'), "{f:?}");
    assert_eq!(read_back(&f).0, "EveBcc: spy@evil.example");
}

#[test]
fn a_short_non_ascii_name_is_one_encoded_word() {
    let f = from_field(Some("Zoë"), &addr());
    assert_eq!(f, "From: =?utf-8?b?Wm/Dqw==?= <root@h.example>");
    assert_eq!(read_back(&f), ("Zoë".to_owned(), addr()));
}

/// A long non-ASCII name becomes several encoded words of at most 75 characters, none
/// splitting a character, on folded lines.
#[test]
fn a_long_non_ascii_name_is_split_into_words_of_at_most_75_characters() {
    let name =
        "Łukasz Żółtowski-Gębicki, Département des Systèmes d'Information — Équipe Messagerie";
    let f = from_field(Some(name), &addr());
    let words = f.matches("=?utf-8?b?").count();
    assert!(words >= 3, "{f}");
    assert_eq!(f.matches("\r\n ").count(), words - 1, "{f}");
    assert_eq!(read_back(&f), (name.to_owned(), addr()));
    // Four-byte characters are never cut either.
    let emoji = "📨".repeat(40);
    assert_eq!(read_back(&from_field(Some(&emoji), &addr())).0, emoji);
}

#[test]
fn the_added_field_ends_like_the_message() {
    let a = addr();
    let lf = add_from_if_missing(b"To: b@y.example\n\nx\n", Some("Zoë"), Some(&a), None).unwrap();
    assert_eq!(
        &*lf,
        b"From: =?utf-8?b?Wm/Dqw==?= <root@h.example>\nTo: b@y.example\n\nx\n"
    );
    let long = "é".repeat(60);
    let crlf =
        add_from_if_missing(b"To: b@y.example\r\n\r\nx\r\n", Some(&long), Some(&a), None).unwrap();
    let text = std::str::from_utf8(&crlf).unwrap();
    assert!(text.contains("?=\r\n =?utf-8?b?"), "{text}");
    let (field, _) = text.split_once("\r\nTo:").unwrap();
    assert_eq!(read_back(field).0, long);
    let lf = add_from_if_missing(b"To: b@y.example\n\nx\n", Some(&long), Some(&a), None).unwrap();
    assert!(!lf.contains(&b'\r'));
    // A message with a From is left alone, borrowed.
    let has = b"From: a@x.example\nTo: b@y.example\n\nx\n";
    assert!(matches!(
        add_from_if_missing(has, None, None, None).unwrap(),
        Cow::Borrowed(b) if b == has
    ));
}

#[test]
fn the_added_field_goes_after_a_bom_and_an_mbox_line() {
    let a = addr();
    let input = b"\xEF\xBB\xBFFrom x@y.example Fri Jan 15 08:00:00 2027\nTo: b@y.example\n\nx\n";
    let out = add_from_if_missing(input, None, Some(&a), None).unwrap();
    assert_eq!(
        &*out,
        b"\xEF\xBB\xBFFrom x@y.example Fri Jan 15 08:00:00 2027\nFrom: root@h.example\nTo: b@y.example\n\nx\n"
    );
    let d = Draft::parse(&out).unwrap();
    assert_eq!(d.fields_named("From").count(), 1);
}
