//! TLS for `daxs://`: a generated test CA and leaf (rcgen), or certificates of your own.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::GatewayError;

/// TLS settings of a gateway (`daxs://`).
///
/// * [`TlsConfig::self_signed`]: a fresh test CA and a leaf certificate for `name` (DNS SAN)
///   and 127.0.0.1 (IP SAN), generated when the gateway starts. The PEM files are written to a
///   temporary directory that lives as long as the gateway; point clients at
///   [`DaxGateway::ca_pem_path`](super::DaxGateway::ca_pem_path) (`SSL_CERT_FILE` for Python,
///   `NODE_EXTRA_CA_CERTS` for Node).
/// * [`TlsConfig::from_pem`]: your own certificate chain and private key.
///
/// ```
/// use xacct_dax_local::TlsConfig;
///
/// let tls = TlsConfig::self_signed("localhost");
/// assert_eq!(tls.server_name(), "localhost");
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    SelfSigned {
        name: String,
    },
    Pem {
        name: String,
        cert: Vec<u8>,
        key: Vec<u8>,
    },
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::SelfSigned { name } => f
                .debug_struct("TlsConfig::SelfSigned")
                .field("name", name)
                .finish(),
            Kind::Pem { name, .. } => f
                .debug_struct("TlsConfig::Pem")
                .field("name", name)
                .field("key", &"** redacted **")
                .finish(),
        }
    }
}

impl TlsConfig {
    /// A generated test CA and a certificate for `name` and 127.0.0.1.
    pub fn self_signed(name: impl Into<String>) -> Self {
        TlsConfig {
            kind: Kind::SelfSigned { name: name.into() },
        }
    }

    /// Your own certificate chain (PEM, leaf first) and private key (PEM); `name` is the host
    /// name the endpoint URL and the `endpoints` replies use.
    ///
    /// ```
    /// use xacct_dax_local::TlsConfig;
    ///
    /// let tls = TlsConfig::from_pem("dax.example.test", b"-----BEGIN CERTIFICATE-----...".to_vec(), b"...".to_vec());
    /// assert!(!format!("{tls:?}").contains("..."), "the key is never printed");
    /// ```
    pub fn from_pem(name: impl Into<String>, cert_chain_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        TlsConfig {
            kind: Kind::Pem {
                name: name.into(),
                cert: cert_chain_pem,
                key: key_pem,
            },
        }
    }

    /// The host name clients must use (and the certificate names).
    pub fn server_name(&self) -> &str {
        match &self.kind {
            Kind::SelfSigned { name } | Kind::Pem { name, .. } => name,
        }
    }

    /// Builds the acceptor (and writes the generated PEM files).
    pub(crate) fn build(&self) -> Result<TlsMaterial, GatewayError> {
        let tls_err = |what: &str, e: Box<dyn std::error::Error + Send + Sync>| GatewayError::Tls {
            what: what.to_owned(),
            source: e,
        };
        let (chain_pem, key_pem, files) = match &self.kind {
            Kind::Pem { cert, key, .. } => (cert.clone(), key.clone(), None),
            Kind::SelfSigned { name } => {
                let generated =
                    generate(name).map_err(|e| tls_err("generating the test CA", Box::new(e)))?;
                let dir = TempDir::new()
                    .map_err(|e| tls_err("creating the PEM directory", Box::new(e)))?;
                let write = |file: &str, body: &str| -> Result<PathBuf, GatewayError> {
                    dir.write_private(file, body)
                        .map_err(|e| tls_err("writing the PEM files", Box::new(e)))
                };
                let files = PemFiles {
                    ca: write("ca.pem", &generated.ca_pem)?,
                    cert: write("cert.pem", &generated.cert_pem)?,
                    key: write("key.pem", &generated.key_pem)?,
                    _dir: dir,
                };
                (
                    generated.cert_pem.into_bytes(),
                    generated.key_pem.into_bytes(),
                    Some(files),
                )
            }
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| tls_err("reading the certificate PEM", Box::new(e)))?;
        if certs.is_empty() {
            return Err(GatewayError::Tls {
                what: "the certificate PEM holds no certificate".to_owned(),
                source: "empty chain".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| tls_err("reading the private key PEM", Box::new(e)))?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("choosing TLS versions", Box::new(e)))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_err("loading the certificate and key", Box::new(e)))?;
        Ok(TlsMaterial {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            name: self.server_name().to_owned(),
            files,
        })
    }
}

/// What a running gateway keeps of its TLS settings.
pub(crate) struct TlsMaterial {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) name: String,
    pub(crate) files: Option<PemFiles>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("name", &self.name)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// The generated PEM files (removed with the gateway).
#[derive(Debug)]
pub(crate) struct PemFiles {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    _dir: TempDir,
}

struct Generated {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn generate(name: &str) -> Result<Generated, rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        DnType::CommonName,
        "cross-account-dynamodb DAX gateway test CA",
    );
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params = CertificateParams::new(vec![name.to_owned()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    Ok(Generated {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A directory under the system temp dir, removed on drop.
///
/// Hand-written: `tempfile` is only a dev-dependency elsewhere, and this needs three lines.
#[derive(Debug)]
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new directory only its owner can enter (`0700` on Unix), created exclusively: an
    /// existing path (someone else's, or a link planted there) is an error, not reused.
    fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "dax-local-tls-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path)?;
        Ok(TempDir { path })
    }

    /// Writes a new file in the directory, readable by its owner only (`0600` on Unix).
    fn write_private(&self, name: &str, body: &str) -> std::io::Result<PathBuf> {
        use std::io::Write;
        let path = self.path.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path)?.write_all(body.as_bytes())?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_writes_pem_files_and_removes_them() {
        let m = TlsConfig::self_signed("localhost").build().unwrap();
        let files = m.files.as_ref().unwrap();
        let ca = std::fs::read_to_string(&files.ca).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(std::fs::read_to_string(&files.key)
            .unwrap()
            .contains("PRIVATE KEY"));
        let dir = files.ca.parent().unwrap().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700, "the directory is private");
            assert_eq!(
                mode(&files.key),
                0o600,
                "the private key is readable by its owner only"
            );
            assert_eq!(mode(&files.cert), 0o600);
        }
        drop(m);
        assert!(!dir.exists());
    }

    #[test]
    fn bad_pem_is_a_tls_error_and_debug_hides_the_key() {
        let cfg = TlsConfig::from_pem("h", b"nope".to_vec(), b"SECRET-KEY".to_vec());
        assert!(!format!("{cfg:?}").contains("SECRET-KEY"));
        let err = cfg.build().unwrap_err();
        assert!(err.is_tls(), "{err}");
    }
}
