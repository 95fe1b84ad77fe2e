//! The fast path of address-list parsing: the forms nearly every real field uses, read in one
//! pass over the bytes without tokens.
//!
//! It accepts only a strict subset of RFC 5322 §3.4 (ASCII dot-atoms, display names of atoms,
//! encoded words and simple quoted strings, `<addr-spec>`, groups, simple comments between
//! addresses) and declines anything else, so that the full parser decides — and words every
//! error. Where it answers, the result must be exactly the full parser's: a property test and
//! the fuzz target compare the two.

use super::Mailbox;
use std::borrow::Cow;

/// Byte classes, as a table: the scan below runs for every byte of every address field.
const OTHER: u8 = 0;
const ATOM: u8 = 1;
const DOT: u8 = 2;
/// `=`: atext, but `=?` may start an encoded word.
const EQ: u8 = 3;
const WS: u8 = 4;
const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 128 {
        if super::ATEXT[i] {
            t[i] = ATOM;
        }
        i += 1;
    }
    t[b'.' as usize] = DOT;
    t[b'=' as usize] = EQ;
    t[b' ' as usize] = WS;
    t[b'\t' as usize] = WS;
    t[b'\r' as usize] = WS;
    t[b'\n' as usize] = WS;
    t
};

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && CLASS[b[i] as usize] == WS {
        i += 1;
    }
    i
}

/// White space and comments without nesting or quoted-pairs (`(at work)`), which the full
/// parser skips too; None for any other comment.
fn skip_cfws(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'(') {
            return Some(i);
        }
        let close = i
            + 1
            + b[i + 1..]
                .iter()
                .position(|&c| matches!(c, b'(' | b')' | b'\\'))?;
        if b[close] != b')' {
            return None;
        }
        i = close + 1;
    }
}

/// The end of the RFC 2047 encoded word at `i`, if one starts there. The full parser reads one
/// as a single atom wherever a token starts, whatever specials it holds (`=?utf-8?q?Doe,_J?=`).
fn encoded_word(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i + 1) != Some(&b'?') {
        return None;
    }
    super::encoded_word_len(&b[i..]).map(|n| i + n)
}

/// The run of ASCII atext and dots from `i`: its end, and whether it is a dot-atom
/// (`atext+ ("." atext+)*`). None when it holds `=?`, which may start an encoded word: to the
/// full parser that is one atom, whatever specials it hides (`=?utf-8?q?Doe,_J?=`).
pub(super) fn dot_atom(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    // A leading dot, two dots together and a trailing dot make it no dot-atom; so does nothing.
    let mut prev_dot = true;
    let mut valid = true;
    loop {
        // Runs of atext between dots are most of every address: a tight loop for them.
        let run = i;
        while i < b.len() && CLASS[b[i] as usize] == ATOM {
            i += 1;
        }
        if i > run {
            prev_dot = false;
        }
        match b.get(i).map(|&c| CLASS[c as usize]) {
            Some(DOT) => {
                valid &= !prev_dot;
                prev_dot = true;
            }
            Some(EQ) if b.get(i + 1) == Some(&b'?') => return None,
            Some(EQ) => prev_dot = false,
            _ => break,
        }
        i += 1;
    }
    Some((i, valid && !prev_dot))
}

/// `local@domain` from `i`, both dot-atoms with nothing between them; returns its end.
fn addr_spec(v: &str, i: usize) -> Option<(&str, &str, usize)> {
    let (at, local_ok) = dot_atom(v.as_bytes(), i)?;
    if !local_ok {
        return None;
    }
    domain_after(v, i, at)
}

/// The rest of an addr-spec whose dot-atom local part runs from `i` to `at`: `@` and a
/// dot-atom domain. Returns the two parts and the end.
fn domain_after(v: &str, i: usize, at: usize) -> Option<(&str, &str, usize)> {
    let b = v.as_bytes();
    if b.get(at) != Some(&b'@') {
        return None;
    }
    let (end, domain_ok) = dot_atom(b, at + 1)?;
    domain_ok.then(|| (&v[i..at], &v[at + 1..end], end))
}

/// A display name: atoms, dots and quoted strings without backslashes, separated by white
/// space. Returns where it stops (at the first byte that is none of these).
fn phrase_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        match b.get(i) {
            Some(b'"') => {
                let close = i + 1 + b[i + 1..].iter().position(|&c| c == b'"')?;
                if b[i + 1..close].contains(&b'\\') {
                    return None;
                }
                i = close + 1;
            }
            // A token starts here (after white space, a quoted string, or at the start).
            Some(b'=') if encoded_word(b, i).is_some() => i = encoded_word(b, i)?,
            Some(&c) => match CLASS[c as usize] {
                WS => i += 1,
                ATOM | DOT | EQ => i = dot_atom(b, i)?.0,
                _ => return Some(i),
            },
            None => return Some(i),
        }
    }
}

/// Parses `value` if it uses only the common forms; `None` sends it to the full parser.
#[cfg(test)]
pub(super) fn parse(value: &str) -> Option<Vec<Mailbox<'_>>> {
    let mut out = Vec::new();
    parse_into(value, &mut out).then_some(out)
}

/// Appends the mailboxes of `value` to `out`; false (with `out` as it was) when the full
/// parser must decide.
pub(super) fn parse_into<'v>(value: &'v str, out: &mut Vec<Mailbox<'v>>) -> bool {
    let before = out.len();
    let done = scan(value, out).is_some();
    if !done {
        out.truncate(before);
    }
    done
}

fn scan<'v>(value: &'v str, out: &mut Vec<Mailbox<'v>>) -> Option<()> {
    let b = value.as_bytes();
    // A comment is skipped only where white space may be (between elements); anywhere else
    // `(` stops the scan, as it is neither atext nor white space.
    let mut in_group = false;
    let mut i = skip_cfws(b, 0)?;
    while i < b.len() {
        let start = i;
        // One scan of the first word serves both readings: the local part of a bare addr-spec,
        // or the first word of a display name (most mailboxes have one).
        let word = dot_atom(b, i);
        if let Some((at, true)) = word
            && b.get(at) == Some(&b'@')
        {
            // A bad domain here would be declined by the display-name reading too (`@`
            // cannot follow a phrase).
            let (local, domain, end) = domain_after(value, i, at)?;
            out.push(mailbox(local, domain, start..end));
            i = end;
        } else {
            // The phrase goes on after its first word exactly as it would from `i`; a word
            // holding `=?` (None) is read again as an encoded word.
            let j = phrase_end(b, word.map_or(i, |(at, _)| at))?;
            match b.get(j) {
                Some(b'<') => {
                    let (local, domain, end) = addr_spec(value, j + 1)?;
                    if b.get(end) != Some(&b'>') {
                        return None;
                    }
                    out.push(mailbox(local, domain, start..end + 1));
                    i = end + 1;
                }
                Some(b':') if !in_group && j > start => {
                    in_group = true;
                    i = skip_cfws(b, j + 1)?;
                    if b.get(i) != Some(&b';') {
                        continue;
                    }
                }
                _ => return None,
            }
        }
        i = skip_cfws(b, i)?;
        if in_group && b.get(i) == Some(&b';') {
            in_group = false;
            i = skip_cfws(b, i + 1)?;
        }
        match b.get(i) {
            None => break,
            Some(b',') => {
                i = skip_cfws(b, i + 1)?;
                // An empty element, or a trailing comma: rare, and the full parser's to judge.
                if matches!(b.get(i), None | Some(b',' | b';')) {
                    return None;
                }
            }
            _ => return None,
        }
    }
    (!in_group).then_some(())
}

fn mailbox<'v>(local: &'v str, domain: &'v str, range: std::ops::Range<usize>) -> Mailbox<'v> {
    Mailbox {
        local: Cow::Borrowed(local),
        quoted: false,
        domain: Some(Cow::Borrowed(domain)),
        range,
    }
}

#[cfg(test)]
mod tests {
    use super::super::ListParser;
    use super::*;

    /// The fast path either declines or agrees with the full parser.
    fn agrees(v: &str) -> bool {
        let full = ListParser::new().parse_full(v);
        match parse(v) {
            Some(fast) => {
                assert_eq!(Ok(fast), full, "{v:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn common_forms_take_the_fast_path() {
        for v in [
            "",
            "a@b.example",
            " Bob Builder <bob@example.net>, \"Doe, Carol\" <carol@example.com>,\r\n dave@x.example",
            "Team: erin@example.org, frank@example.org;",
            "undisclosed-recipients:;",
            "John Q. Public <jqp@x.example>",
            "<a@b.example>",
            "a@b.example (at work), (lead) c@d.example",
            "=?utf-8?q?Doe,_J=C3=A9?= <j@x.example>",
        ] {
            assert!(agrees(v), "{v:?} should take the fast path");
        }
    }

    #[test]
    fn unusual_forms_are_left_to_the_full_parser() {
        for v in [
            "a@b.example (nested (comment))",
            "a@b.example (quoted \\) pair)",
            "Bob (Builder) <b@x.example>",
            "=?utf-8?q?x@y.example?=",
            "x=?utf-8?q?a,b?= <j@x.example>",
            "\"a b\"@x.example",
            "root",
            "a@b.example,",
            "a@b.example, , c@d.example",
            "G: a@b.example",
            "a@[192.0.2.1]",
            "< a@b.example >",
            "a..b@c.example",
            // A good local part, then a domain that is no dot-atom.
            "a@b..example",
            "a@.example",
            "a@b.example=?x",
            "jösé@x.example",
            "\"x\\\"y\" <a@b.example>",
            "G: H: a@b.example;;",
            "a@b.example; c@d.example",
        ] {
            assert!(!agrees(v), "{v:?} should be declined");
        }
    }

    /// Over generated fields, the fast path gives exactly what the full RFC 5322 parser gives,
    /// or declines: same mailboxes, same ranges, same errors. Fields are well-formed lists with
    /// a random fragment spliced in somewhere, so that both sides of every edge of the fast path
    /// (dots, quotes, groups, white space, specials) are hit.
    #[test]
    fn agrees_with_the_full_parser_on_generated_fields() {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, TestRunner};
        let element = prop::sample::select(vec![
            "a@b.example",
            "x.y@mail.example",
            "Bob Builder <bob@example.net>",
            "\"Doe, J\" <j@x.example>",
            "<c@d.example>",
            "Team: e@f.example, g@h.example;",
            "undisclosed-recipients:;",
            "John Q. Public <jqp@x.example>",
            // An encoded word is one atom to the full parser, whatever it holds.
            "=?utf-8?q?Doe,_J?= <j@x.example>",
            "=?utf-8?q?k@l.example?=",
            "=?utf-8?q?M=C3=BCller?=  <m@n.example>",
            "v@w.example (at work)",
            "(lead) x@y.example",
            "Ann <a@n.example> (nested (comment))",
        ]);
        // A bare space: after a group, the missing comma drafts in the wild have.
        let separator = prop::sample::select(vec![",", ", ", " ,\r\n ", ",\t", " "]);
        let splice = prop::sample::select(vec![
            "",
            ".",
            "..",
            "@",
            "<",
            ">",
            ",",
            ";",
            ":",
            " ",
            "\"",
            "\\",
            "(",
            ")",
            "=?",
            "[",
            "ü",
            "#",
            "-",
            "\r\n",
            "a",
            "G:",
            ", ,",
            "(c)",
            "\\)",
            "=?utf-8?q?a,b?=",
            "?=",
        ]);
        let field = (
            proptest::collection::vec((element, separator), 0..5),
            splice,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(parts, splice, at)| {
                let mut v: String = parts.iter().map(|(e, s)| format!("{e}{s}")).collect();
                v.truncate(v.trim_end_matches([',', ' ', '\t', '\r', '\n']).len());
                let mut at = at.index(v.len() + 1);
                while !v.is_char_boundary(at) {
                    at -= 1;
                }
                v.insert_str(at, splice);
                v
            });
        let runner = |cases| {
            TestRunner::new(Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            })
        };
        runner(20_000)
            .run(&field, |v| {
                let full = ListParser::new().parse_full(&v);
                prop_assert_eq!(ListParser::new().parse(&v), full, "{:?}", v);
                Ok(())
            })
            .unwrap();
        // Both paths must be exercised, or the comparison above proves little.
        let mut r = runner(1);
        let (mut fast, mut full) = (0, 0);
        for _ in 0..2000 {
            let v = field.new_tree(&mut r).unwrap().current();
            if parse(&v).is_some() {
                fast += 1;
            } else {
                full += 1;
            }
        }
        assert!(
            fast >= 200 && full >= 200,
            "fast path {fast}, full parser {full}"
        );
    }
}
