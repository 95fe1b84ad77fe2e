//! The TLS client setup both drivers share: rustls (no OpenSSL) with the platform's roots, or
//! only the admin's `ca_file`, and pinning. Verification is always on: a pinned certificate (one
//! byte-identical to a certificate of `ca_file`, or matching `tls_fingerprint`) is accepted
//! without an authority, whatever its basicConstraints, and the handshake's signatures are
//! checked with its key all the same. A certificate that is not trusted fails with the reason
//! in words and its fingerprint, ready to pin.

use super::fingerprint::Fingerprint;
use super::settings::SmtpSettings;
use crate::relay::{ErrorKind, RelayError};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use std::fmt;
use std::sync::Arc;

fn config_error(m: String) -> RelayError {
    RelayError::new(ErrorKind::Config, m)
}

/// The rustls client configuration for these settings.
pub(crate) fn client_config(cfg: &SmtpSettings) -> Result<Arc<rustls::ClientConfig>, RelayError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Pinning::new(cfg, Arc::clone(&provider))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name the server's certificate must carry: its host name or IP address.
pub(crate) fn server_name(cfg: &SmtpSettings) -> Result<ServerName<'static>, RelayError> {
    ServerName::try_from(cfg.bare_host().to_owned()).map_err(|e| {
        config_error(format!(
            "{} is not a name a TLS certificate can carry: {e}",
            cfg.host()
        ))
    })
}

/// Pinned certificates first, then (where there is one) webpki with the trusted roots.
#[derive(Debug)]
struct Pinning {
    /// The certificates of `ca_file`, each trusted as it is.
    pinned: Vec<CertificateDer<'static>>,
    fingerprint: Option<Fingerprint>,
    /// None when only a fingerprint is trusted.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// What the roots are, for the error: "ca_file" or "the system's trusted roots".
    trust: &'static str,
    provider: Arc<CryptoProvider>,
}

impl Pinning {
    fn new(cfg: &SmtpSettings, provider: Arc<CryptoProvider>) -> Result<Pinning, RelayError> {
        let mut roots = rustls::RootCertStore::empty();
        let mut pinned = Vec::new();
        let trust = match cfg.ca_file() {
            // The admin's CA replaces the system roots: that is what pinning a CA means.
            Some(ca) => {
                pinned = CertificateDer::pem_file_iter(ca)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        config_error(format!("cannot read ca_file {}: {e}", ca.display()))
                    })?;
                if pinned.is_empty() {
                    return Err(config_error(format!(
                        "ca_file {} holds no PEM certificate",
                        ca.display()
                    )));
                }
                roots.add_parsable_certificates(pinned.iter().cloned());
                "ca_file"
            }
            None if cfg.tls_fingerprint().is_some() => "tls_fingerprint",
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                "the system's trusted roots"
            }
        };
        let webpki = if roots.is_empty() {
            None
        } else {
            let v =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| config_error(format!("cannot set up TLS verification: {e}")))?;
            Some(v)
        };
        Ok(Pinning {
            pinned,
            fingerprint: cfg.tls_fingerprint(),
            webpki,
            trust,
            provider,
        })
    }

    fn is_pinned(&self, cert: &CertificateDer<'_>, fp: Fingerprint) -> bool {
        self.fingerprint == Some(fp) || self.pinned.iter().any(|p| p.as_ref() == cert.as_ref())
    }
}

impl ServerCertVerifier for Pinning {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = Fingerprint::of_der(end_entity);
        if self.is_pinned(end_entity, fp) {
            return Ok(ServerCertVerified::assertion());
        }
        let reason = match &self.webpki {
            Some(v) => {
                match v.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(ok) => return Ok(ok),
                    Err(e) => in_words(&e, self.trust),
                }
            }
            None => match self.fingerprint {
                Some(pin) => format!("it is not the certificate tls_fingerprint pins ({pin})"),
                None => "it is none of the certificates in ca_file".to_owned(),
            },
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(Untrusted {
                reason,
                fingerprint: fp,
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why webpki refused a certificate, for a person.
fn in_words(e: &rustls::Error, trust: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                format!("it is not signed by an authority of {trust}")
            }
            // webpki's own error, not re-exported by rustls: known by its name.
            CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                "it is a CA certificate (basicConstraints CA:TRUE, as `openssl req -x509` makes a self-signed one), and an authority is not accepted as a server's own certificate unless it is pinned"
                    .to_owned()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("it has expired ({c})")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("it is issued for another name ({c})")
            }
            other => format!("{other}"),
        },
        other => format!("{other}"),
    }
}

/// The error an untrusted certificate gives: the reason, the fingerprint, the line to pin it.
/// It travels inside rustls' error; `Cause::of_io` takes it out.
#[derive(Debug)]
pub(crate) struct Untrusted {
    reason: String,
    fingerprint: Fingerprint,
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate is not trusted: {}. Its SHA-256 fingerprint is {fp}; if that is the certificate this server should have (compare it on the server with `openssl x509 -noout -fingerprint -sha256 -in cert.pem`), pin it in the relay settings with\n  tls_fingerprint = \"{fp}\"\nor put the certificate itself in ca_file",
            self.reason,
            fp = self.fingerprint
        )
    }
}

impl std::error::Error for Untrusted {}

/// The [`Untrusted`] inside a TLS error, if the certificate was the trouble.
pub(crate) fn untrusted(e: &rustls::Error) -> Option<&Untrusted> {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            inner.downcast_ref::<Untrusted>()
        }
        _ => None,
    }
}
