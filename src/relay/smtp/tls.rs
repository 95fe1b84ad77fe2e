//! The TLS client setup both drivers share: rustls (no OpenSSL) with the platform's roots, or
//! only the certificates of the admin's `ca_file`. Verification is always on.

use super::settings::SmtpSettings;
use crate::relay::{ErrorKind, RelayError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;

fn config_error(m: String) -> RelayError {
    RelayError::new(ErrorKind::Config, m)
}

/// The rustls client configuration for these settings.
pub(crate) fn client_config(cfg: &SmtpSettings) -> Result<Arc<rustls::ClientConfig>, RelayError> {
    let mut roots = rustls::RootCertStore::empty();
    match cfg.ca_file() {
        // The admin's CA replaces the system roots: that is what pinning a CA means.
        Some(ca) => {
            let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| config_error(format!("cannot read ca_file {}: {e}", ca.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(config_error(format!(
                    "ca_file {} holds no usable PEM certificate",
                    ca.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
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
