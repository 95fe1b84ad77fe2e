//! Validation and canonical form of one addr-spec (RFC 5321 §4.1.2, §4.5.3.1): local part quoted
//! only where needed, domain lower-cased and in IDNA ASCII form (or U-labels for SMTPUTF8).

use super::{Addr, AddressError, fast, is_atext};
use std::net::{Ipv4Addr, Ipv6Addr};

fn is_dot_atom(s: &str) -> bool {
    let b = s.as_bytes();
    let mut prev_dot = true;
    for &c in b {
        if c == b'.' {
            if prev_dot {
                return false;
            }
            prev_dot = true;
        } else if is_atext(c) {
            prev_dot = false;
        } else {
            return false;
        }
    }
    !prev_dot
}

/// Nearly every address: an ASCII dot-atom at an ASCII host name without A-labels. Nothing to
/// quote and no IDNA, so each part takes a short check. None sends the address the long way,
/// which also words every error.
/// `local_is_dot_atom`: the caller has seen the local part to be a whole ASCII dot-atom (the
/// fast parser has, for every mailbox it reads), so it is not scanned again.
fn simple(local: &str, domain: &str, local_is_dot_atom: bool) -> Option<Addr> {
    let (l, d) = (local.as_bytes(), domain.as_bytes());
    if l.is_empty() || l.len() > 64 || d.len() > 253 {
        return None;
    }
    // The fast parser's scanner: a whole ASCII dot-atom (it declines `=?`, which is fine here).
    let is_dot_atom = || fast::dot_atom(l, 0) == Some((l.len(), true));
    debug_assert!(!local_is_dot_atom || is_dot_atom(), "{local:?}");
    if !local_is_dot_atom && !is_dot_atom() {
        return None;
    }
    let has_upper = simple_domain(d)?;
    let mut text = String::with_capacity(l.len() + 1 + d.len());
    text.push_str(local);
    text.push('@');
    text.push_str(domain);
    if has_upper {
        text[l.len() + 1..].make_ascii_lowercase();
    }
    Some(Addr { text, at: l.len() })
}

/// Whether `d` is a host name of 1 to 63 letters, digits and inner hyphens per label (RFC 1035
/// §2.3.1, RFC 5890 §2.3.1) without A-labels, which must be checked as punycode (the long way);
/// if so, whether it has capitals to lower-case (most domains have none).
fn simple_domain(d: &[u8]) -> Option<bool> {
    // One pass: which classes occur (a lookup and an OR per byte), and whether every label is
    // 1 to 63 octets. Most domains hold only letters, digits and dots, and then that is all.
    let (mut seen, mut label, mut lengths_ok) = (0, 0usize, true);
    for &c in d {
        seen |= LDH_BIT[c as usize];
        if c == b'.' {
            lengths_ok &= (1..=63).contains(&label);
            label = 0;
        } else {
            label += 1;
        }
    }
    let ok = if seen & LDH_BIT_BAD != 0 {
        false
    } else if seen & LDH_BIT_HYPHEN != 0 {
        simple_hyphenated_domain(d)
    } else {
        lengths_ok && (1..=63).contains(&label)
    };
    ok.then_some(seen & LDH_BIT_UPPER != 0)
}

/// [`simple_domain`] for a name with hyphens: label by label, byte by byte.
fn simple_hyphenated_domain(d: &[u8]) -> bool {
    let (mut label, mut last) = (0, b'.');
    for (i, &c) in d.iter().enumerate() {
        match LDH[c as usize] {
            LDH_ALNUM
                if label == 0 && d[i..].len() > 4 && d[i..i + 4].eq_ignore_ascii_case(b"xn--") =>
            {
                return false;
            }
            LDH_ALNUM => {}
            LDH_HYPHEN if label > 0 => {}
            LDH_DOT if label > 0 && label <= 63 && last != b'-' => {
                label = 0;
                last = c;
                continue;
            }
            _ => return false,
        }
        label += 1;
        last = c;
    }
    label > 0 && label <= 63 && last != b'-'
}

fn invalid(local: &str, domain: &str, why: &'static str) -> AddressError {
    AddressError::Invalid {
        addr: format!("{local}@{domain}"),
        why,
    }
}

/// Validates both parts and puts them in canonical form (RFC 5321 §4.1.2, §4.5.3.1).
pub(super) fn normalise(local: &str, domain: &str) -> Result<Addr, AddressError> {
    normalise_known(local, domain, false)
}

/// [`normalise`], told whether the local part is already known to be an ASCII dot-atom.
pub(super) fn normalise_known(
    local: &str,
    domain: &str,
    local_is_dot_atom: bool,
) -> Result<Addr, AddressError> {
    match simple(local, domain, local_is_dot_atom) {
        Some(addr) => Ok(addr),
        None => general(local, domain),
    }
}

/// Any local part and domain: quoting, control characters, IDNA, literals, and the errors.
fn general(local: &str, domain: &str) -> Result<Addr, AddressError> {
    if local.is_empty() {
        return Err(invalid(local, domain, "the local part is empty"));
    }
    if local.len() > 64 {
        return Err(invalid(
            local,
            domain,
            "the local part is longer than 64 octets (RFC 5321 §4.5.3.1.1)",
        ));
    }
    let control = if local.is_ascii() {
        local.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        local.chars().any(char::is_control)
    };
    if control {
        return Err(invalid(
            local,
            domain,
            "the local part contains a control character",
        ));
    }
    let mut text = String::with_capacity(local.len() + domain.len() + 3);
    if is_dot_atom(local) {
        text.push_str(local);
    } else {
        text.push('"');
        for c in local.chars() {
            if c == '"' || c == '\\' {
                text.push('\\');
            }
            text.push(c);
        }
        text.push('"');
    }
    let at = text.len();
    text.push('@');
    let ascii_local = local.is_ascii();
    normalise_domain(domain, ascii_local, &mut text).map_err(|why| invalid(local, domain, why))?;
    Ok(Addr { text, at })
}

fn normalise_domain(domain: &str, ascii_form: bool, out: &mut String) -> Result<(), &'static str> {
    if let Some(lit) = domain.strip_prefix('[') {
        let inner = lit
            .strip_suffix(']')
            .ok_or("the domain literal is not closed")?;
        let ok = match inner.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
                inner[5..].parse::<Ipv6Addr>().is_ok()
            }
            _ => inner.parse::<Ipv4Addr>().is_ok(),
        };
        if !ok {
            return Err("the domain literal is not an IPv4 or `IPv6:` address");
        }
        out.push_str(domain);
        return Ok(());
    }
    if domain.is_ascii() {
        let start = out.len();
        out.push_str(domain);
        let lower = &mut out[start..];
        lower.make_ascii_lowercase();
        // An A-label must also be valid punycode for a valid U-label (RFC 5891 §5.4).
        if !check_ldh(lower)? {
            return Ok(());
        }
        out.truncate(start);
    }
    let ascii = idna::domain_to_ascii_strict(domain)
        .map_err(|_| "the domain is not a valid internationalised name")?;
    check_ldh(&ascii)?;
    if ascii_form {
        out.push_str(&ascii);
    } else {
        out.push_str(&idna::domain_to_unicode(&ascii).0);
    }
    Ok(())
}

/// Byte classes of a domain name, as a table: this runs for every byte of every domain.
const LDH_BAD: u8 = 0;
const LDH_ALNUM: u8 = 1;
const LDH_HYPHEN: u8 = 2;
const LDH_DOT: u8 = 3;
const LDH: [u8; 256] = {
    let mut t = [LDH_BAD; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() {
            t[i] = LDH_ALNUM;
        }
        i += 1;
    }
    t[b'-' as usize] = LDH_HYPHEN;
    t[b'.' as usize] = LDH_DOT;
    t
};

/// The same classes as bits, for [`simple_domain`]'s one-pass OR (small letters, digits and
/// dots have none: dots are counted on the way).
const LDH_BIT_BAD: u8 = 1;
const LDH_BIT_HYPHEN: u8 = 2;
const LDH_BIT_UPPER: u8 = 4;
const LDH_BIT: [u8; 256] = {
    let mut t = [LDH_BIT_BAD; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match LDH[i] {
            LDH_ALNUM if (i as u8).is_ascii_uppercase() => LDH_BIT_UPPER,
            LDH_ALNUM | LDH_DOT => 0,
            LDH_HYPHEN => LDH_BIT_HYPHEN,
            _ => LDH_BIT_BAD,
        };
        i += 1;
    }
    t
};

/// Checks LDH syntax and lengths; Ok(true) when some label is an A-label (`xn--`).
fn check_ldh(d: &str) -> Result<bool, &'static str> {
    const EMPTY_OR_LONG: &str = "a domain label is empty or longer than 63 octets";
    const BAD_CHAR: &str = "a domain label may hold only letters, digits and inner hyphens";
    if d.len() > 253 {
        return Err("the domain is longer than 253 octets");
    }
    let b = d.as_bytes();
    let label = |start: usize, end: usize| -> Result<bool, &'static str> {
        let l = &b[start..end];
        match l {
            [] => Err(EMPTY_OR_LONG),
            _ if l.len() > 63 => Err(EMPTY_OR_LONG),
            [b'-', ..] | [.., b'-'] => Err(BAD_CHAR),
            _ => Ok(l.len() > 4 && l[..4].eq_ignore_ascii_case(b"xn--")),
        }
    };
    let mut a_label = false;
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        match LDH[c as usize] {
            LDH_ALNUM | LDH_HYPHEN => {}
            LDH_DOT => {
                a_label |= label(start, i)?;
                start = i + 1;
            }
            _ => return Err(BAD_CHAR),
        }
    }
    Ok(a_label | label(start, b.len())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass path for common addresses gives exactly what the general path gives.
    #[test]
    fn simple_agrees_with_general() {
        const PARTS: [&str; 18] = [
            // Two of these make a label longer than 63 octets.
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "a.",
            "a",
            "Bob",
            "x-y",
            ".",
            "-",
            "xn--",
            "xn--bcher-kva",
            "ü",
            "\"",
            "1",
            "_",
            "EXAMPLE",
            "org",
            "[",
            "]",
            " ",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let (mut simple_count, mut total) = (0, 0);
        for _ in 0..50_000 {
            let mut word = |max: usize| {
                let k = next(max) + 1;
                (0..k).map(|_| PARTS[next(PARTS.len())]).collect::<String>()
            };
            let local = word(4);
            let domain = word(6);
            total += 1;
            if let Some(a) = simple(&local, &domain, false) {
                simple_count += 1;
                assert_eq!(Ok(a), general(&local, &domain), "{local:?} @ {domain:?}");
            }
        }
        assert!(
            simple_count > total / 50,
            "only {simple_count} of {total} took the simple path"
        );
    }

    /// Both paths at the length limits: a label of 63 octets is fine and 64 is not; a name of
    /// 253 octets is fine and 254 is not (RFC 1035 §2.3.4).
    #[test]
    fn lengths_at_their_limits() {
        let label = |n: usize| "a".repeat(n);
        // Four labels and three dots: 3 * 63 + 3 + n octets in all.
        let name = |n: usize| format!("{0}.{0}.{0}.{1}", label(63), label(n));
        for (domain, ok) in [
            (label(63), true),
            (label(64), false),
            (format!("{}.example", label(63)), true),
            (format!("{}.example", label(64)), false),
            (format!("x-{}.example", label(61)), true),
            (format!("x-{}.example", label(62)), false),
            (name(61), true),
            (name(62), false),
            (String::new(), false),
            (".example".into(), false),
            ("example.".into(), false),
            ("a..example".into(), false),
        ] {
            let general = general("u", &domain);
            assert_eq!(general.is_ok(), ok, "{domain}");
            match simple("u", &domain, false) {
                Some(a) => assert_eq!(Ok(a), general, "{domain}"),
                None => assert!(!ok, "{domain} is simple but was declined"),
            }
        }
    }
}
