//! Certificate fingerprints: the SHA-256 of a DER certificate, as `tls_fingerprint` pins it and as
//! an untrusted certificate's error prints it (`AB:CD:...`, the form `openssl x509 -fingerprint
//! -sha256` prints).

use crate::relay::{ErrorKind, RelayError};
use std::fmt;
use std::str::FromStr;

/// The SHA-256 fingerprint of a certificate (of its DER encoding). Written as 32 hexadecimal
/// pairs; when parsed, colons (or spaces) between them and the letter case do not matter.
///
/// ```
/// use envoi::relay::smtp::Fingerprint;
/// let hex = "3a:f0".repeat(16);
/// let fp: Fingerprint = hex.parse()?;
/// assert_eq!(fp.to_string(), "3A:F0:".repeat(16).trim_end_matches(':'));
/// assert!("AB:CD".parse::<Fingerprint>().is_err());
/// # Ok::<(), envoi::relay::RelayError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Fingerprint(out)
    }

    /// The 32 bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for Fingerprint {
    type Err = RelayError;

    fn from_str(s: &str) -> Result<Fingerprint, RelayError> {
        let hex: Vec<u8> = s
            .bytes()
            .filter(|b| !matches!(b, b':' | b' ' | b'\t'))
            .collect();
        let bad = |why: String| {
            RelayError::new(
                ErrorKind::Config,
                format!(
                    "tls_fingerprint {why}: it must be the SHA-256 of the certificate, 64 hexadecimal digits (colons optional), as `openssl x509 -noout -fingerprint -sha256 -in cert.pem` prints it"
                ),
            )
        };
        if let Some(c) = hex.iter().find(|b| !b.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "holds `{}`, not a hexadecimal digit",
                *c as char
            )));
        }
        if hex.len() != 64 {
            let what = if hex.len() == 40 {
                " (a SHA-1 fingerprint?)".to_owned()
            } else {
                String::new()
            };
            return Err(bad(format!("has {} digits{what}", hex.len())));
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hex.chunks(2)) {
            let digits = std::str::from_utf8(pair).expect("ASCII hex digits");
            *o = u8::from_str_radix(digits, 16).expect("two hex digits");
        }
        Ok(Fingerprint(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_spelling_and_prints_openssl_style() {
        // SHA-256 of the empty string, a value anyone can check.
        let known = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let fp = Fingerprint::of_der(b"");
        assert_eq!(known.parse::<Fingerprint>().unwrap(), fp);
        let colons = fp.to_string();
        assert_eq!(colons.len(), 32 * 3 - 1);
        assert!(colons.starts_with("E3:B0:C4"));
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(colons.to_lowercase().parse::<Fingerprint>().unwrap(), fp);
        let e = known[..40].parse::<Fingerprint>().unwrap_err();
        assert!(e.message().contains("SHA-1"), "{}", e.message());
        let e = known.replace('e', "g").parse::<Fingerprint>().unwrap_err();
        assert!(e.message().contains("`g`"), "{}", e.message());
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
