//! Local names for the sendmail front end: the /etc/aliases format, the login user and the
//! host's name. Cron and other local tools write `To: root`; these turn such names into
//! addresses that a submission server will take.

use crate::address::{Addr, parse_list};
use std::collections::HashMap;

/// An aliases table: lower-cased local name → its targets as written.
///
/// ```
/// use envoi::Addr;
/// use envoi::sendmail::Aliases;
/// let aliases = Aliases::parse("postmaster: root\nroot: admin@corp.example, \"|/usr/bin/logger\"\n")?;
/// let (to, skipped) = aliases.expand(&Addr::parse("postmaster@host.example")?, "host.example");
/// assert_eq!(to, [Addr::parse("admin@corp.example")?]);
/// assert_eq!(skipped, ["|/usr/bin/logger"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases {
    map: HashMap<String, Vec<String>>,
}

/// A line of an aliases file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct AliasError {
    /// The line, counted from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl Aliases {
    /// Parses the aliases(5) format: `name: target, target`, `#` comments, continuation lines
    /// starting with white space. Targets may be quoted (`"|/usr/bin/prog"`).
    pub fn parse(text: &str) -> Result<Aliases, AliasError> {
        let mut entries: Vec<(usize, String)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                match entries.last_mut() {
                    Some((_, e)) => {
                        e.push(' ');
                        e.push_str(line.trim());
                    }
                    None => {
                        return Err(AliasError {
                            line: i + 1,
                            message: "a continuation line comes before any alias".into(),
                        });
                    }
                }
                continue;
            }
            entries.push((i + 1, line.trim().to_owned()));
        }
        let mut map = HashMap::new();
        for (line, e) in entries {
            let Some((name, targets)) = e.split_once(':') else {
                return Err(AliasError {
                    line,
                    message: format!("`{e}` is not `name: target, ...`"),
                });
            };
            let name = name.trim().trim_matches('"').to_ascii_lowercase();
            if name.is_empty() {
                return Err(AliasError {
                    line,
                    message: "the alias name is empty".into(),
                });
            }
            let targets: Vec<String> = split_targets(targets);
            map.insert(name, targets);
        }
        Ok(Aliases { map })
    }

    /// Expands `addr` when it is a local name (its domain is `local_domain`) with an alias,
    /// recursively; returns the final addresses, and the targets it had to skip (pipes, files,
    /// includes: only an MTA can deliver to those).
    pub fn expand(&self, addr: &Addr, local_domain: &str) -> (Vec<Addr>, Vec<String>) {
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        let mut seen = Vec::new();
        self.expand_into(addr, local_domain, &mut seen, &mut out, &mut skipped);
        (out, skipped)
    }

    fn expand_into(
        &self,
        addr: &Addr,
        local_domain: &str,
        seen: &mut Vec<String>,
        out: &mut Vec<Addr>,
        skipped: &mut Vec<String>,
    ) {
        let key = addr.local().to_ascii_lowercase();
        let targets = match self.map.get(&key) {
            Some(t) if addr.domain().eq_ignore_ascii_case(local_domain) => t,
            _ => {
                out.push(addr.clone());
                return;
            }
        };
        // A name that comes back to itself (`root: root, admin@x`) means that mailbox itself.
        if seen.contains(&key) {
            out.push(addr.clone());
            return;
        }
        seen.push(key);
        for t in targets {
            if t.starts_with(['|', '/']) || t.starts_with(":include:") {
                skipped.push(t.clone());
                continue;
            }
            match parse_list(t)
                .ok()
                .and_then(|l| l.into_iter().next())
                .and_then(|m| m.resolve(Some(local_domain)).ok())
            {
                Some(a) => self.expand_into(&a, local_domain, seen, out, skipped),
                None => skipped.push(t.clone()),
            }
        }
        seen.pop();
    }
}

fn split_targets(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => {
                out.push(cur.trim().to_owned());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_owned());
    out.retain(|t| !t.is_empty());
    out.into_iter()
        .map(|t| {
            // `"|/usr/bin/prog arg"` is a pipe, written quoted because of its spaces.
            match t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(inner) if inner.starts_with(['|', '/']) || inner.starts_with(":include:") => {
                    inner.to_owned()
                }
                _ => t,
            }
        })
        .collect()
}

/// The login name: $USER or $LOGNAME, else the password entry of the process's user.
pub(crate) fn login_user() -> Option<String> {
    for v in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(v)
            && !u.is_empty()
            && !u.contains(char::is_whitespace)
        {
            return Some(u);
        }
    }
    // The owner of /proc/self is the process's real user, without needing libc.
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_name(&passwd, uid)
}

fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?.parse::<u32>().ok()?;
        (id == uid).then(|| name.to_owned())
    })
}

/// The host's name, lower-cased, as the default domain for bare local names.
pub(crate) fn host_domain() -> Option<String> {
    let h = hostname::get().ok()?.into_string().ok()?;
    let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
    (!h.is_empty()).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Addr {
        Addr::parse(s).unwrap()
    }

    #[test]
    fn parses_the_aliases_format() {
        let t = "# comment\npostmaster: root\nroot: admin@example.org,\n  ops@example.org\nlogs: \"|/usr/bin/logger\", /var/log/mail.txt\nloop: loop, x@example.org\n";
        let al = Aliases::parse(t).unwrap();
        let (got, skipped) = al.expand(&a("postmaster@host.example"), "host.example");
        assert_eq!(got, [a("admin@example.org"), a("ops@example.org")]);
        assert!(skipped.is_empty());
        let (got, skipped) = al.expand(&a("logs@host.example"), "host.example");
        assert!(got.is_empty());
        assert_eq!(skipped, ["|/usr/bin/logger", "/var/log/mail.txt"]);
        let (got, _) = al.expand(&a("loop@host.example"), "host.example");
        assert_eq!(got, [a("loop@host.example"), a("x@example.org")]);
        // Only local names are aliases.
        let (got, _) = al.expand(&a("root@other.example"), "host.example");
        assert_eq!(got, [a("root@other.example")]);
        // Names compare without case.
        let (got, _) = al.expand(&a("ROOT@host.example"), "host.example");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(Aliases::parse("  x\n").unwrap_err().line, 1);
        assert_eq!(Aliases::parse("a: b\nnocolon\n").unwrap_err().line, 2);
    }

    #[test]
    fn passwd_lookup() {
        let p = "root:x:0:0:root:/root:/bin/bash\nann:x:1000:1000:Ann:/home/ann:/bin/sh\n";
        assert_eq!(passwd_name(p, 1000).as_deref(), Some("ann"));
        assert_eq!(passwd_name(p, 5), None);
    }
}
