//! TLS for `daxs://` (docs/dax-protocol.md §1.2): rustls with the aws-lc-rs provider (the one the
//! SDK's HTTPS client already uses), roots = the system's native certificates plus the extra CA
//! certificates of [`DaxOptions`](crate::DaxOptions). Every node is reached at its own
//! address, and its certificate is checked against the **cluster hostname**, as the official
//! clients do.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::{DaxError, Kind};
use crate::ConfigError;

/// The TLS side of a transport: parsed extra roots now, the rustls config on first use (loading
/// the native roots reads files; `dax()` does no I/O).
#[derive(Debug)]
pub(crate) struct Tls {
    server_name: ServerName<'static>,
    extra_roots: Vec<CertificateDer<'static>>,
    config: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl Tls {
    /// `host`: the cluster hostname every certificate must name; `extra_ca_pems`: PEM
    /// documents, each with one or more certificates.
    pub(crate) fn new(host: &str, extra_ca_pems: &[Vec<u8>]) -> Result<Self, ConfigError> {
        let server_name = ServerName::try_from(host.to_owned()).map_err(|_| {
            ConfigError::invalid(
                "DAX endpoint",
                format!("`{host}` is not a valid TLS server name"),
            )
        })?;
        let mut extra_roots = Vec::new();
        for (i, pem) in extra_ca_pems.iter().enumerate() {
            let before = extra_roots.len();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| {
                    ConfigError::invalid(
                        "DAX CA certificate",
                        format!("PEM document #{} does not parse ({e}); give a PEM file with `-----BEGIN CERTIFICATE-----` blocks", i + 1),
                    )
                })?;
                extra_roots.push(cert);
            }
            if extra_roots.len() == before {
                return Err(ConfigError::invalid(
                    "DAX CA certificate",
                    format!(
                        "PEM document #{} holds no certificate; give a PEM file with `-----BEGIN CERTIFICATE-----` blocks",
                        i + 1
                    ),
                ));
            }
        }
        Ok(Tls {
            server_name,
            extra_roots,
            config: OnceLock::new(),
        })
    }

    fn config(&self) -> Result<Arc<ClientConfig>, DaxError> {
        self.config
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
                for cert in &self.extra_roots {
                    roots
                        .add(cert.clone())
                        .map_err(|e| format!("extra CA certificate rejected: {e}"))?;
                }
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS setup failed: {e}"))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Ok(Arc::new(config))
            })
            .clone()
            .map_err(|m| DaxError::new(Kind::Tls, m))
    }

    /// TLS handshake over `tcp`, certificate checked against the cluster hostname.
    pub(crate) async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, DaxError> {
        let peer = tcp
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        let connector = TlsConnector::from(self.config()?);
        connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| {
                let name = match &self.server_name {
                    ServerName::DnsName(d) => d.as_ref().to_owned(),
                    other => format!("{other:?}"),
                };
                DaxError::new(
                    Kind::Tls,
                    format!(
                        "TLS handshake with DAX node {peer} failed (certificate checked against `{name}`)"
                    ),
                )
                .with_source(e)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_a_typed_error() {
        let e = Tls::new("localhost", &[b"not a pem".to_vec()]).unwrap_err();
        assert_eq!(e.what(), "DAX CA certificate");
        assert!(e.to_string().contains("holds no certificate"), "{e}");
    }

    #[test]
    fn server_name_must_be_valid() {
        assert!(Tls::new("bad name!", &[]).is_err());
        assert!(Tls::new("127.0.0.1", &[]).is_ok());
        assert!(Tls::new("my.abc.dax-clusters.us-east-1.amazonaws.com", &[]).is_ok());
    }
}
