//! TLS configurations: what a client trusts and presents, what a server
//! presents and asks of its clients.
//!
//! A config collects settings until a connection first uses it; then it is
//! built once into a rustls config (shared read-only by every connection made
//! with it, which is also where a client keeps its sessions for resumption)
//! and its settings are fixed: a later setter fails with `InvalidState`.
//!
//! Verification fails closed: a client verifies the server's certificate
//! chain against the system's trust store (plus any CA bundles added) and the
//! server name; the only way around it is
//! [`TlsConfig::dangerous_disable_verification`], for tests.

use crate::error::{Error, ErrorKind, Result};
use once_cell::sync::{Lazy, OnceCell};
use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::sync::Arc;

/// TLS 1.2, as the wire (and `SOCKRT_TLS_1_2`) numbers it.
pub const TLS_1_2: u16 = 0x0303;
/// TLS 1.3.
pub const TLS_1_3: u16 = 0x0304;

/// Which end of a connection a config is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

struct Settings {
    // client
    system_roots: bool,
    verify: bool,
    // client: trust anchors for the server; server: for client certificates
    cas: Vec<CertificateDer<'static>>,
    // client: its certificate for mutual TLS; server: its own (always set)
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    // server: whether clients must present a certificate (when `cas` is set)
    clients_required: bool,
    verify_clients: bool,
    alpn: Vec<Vec<u8>>,
    min_version: u16,
    max_version: u16,
    resumption: bool,
}

/// The rustls config a [`TlsConfig`] was built into.
#[derive(Clone)]
pub enum Built {
    Client(Arc<ClientConfig>),
    Server(Arc<ServerConfig>),
}

/// A client or server TLS configuration, shareable between threads.
pub struct TlsConfig {
    side: Side,
    settings: Mutex<Settings>,
    built: OnceCell<Built>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("side", &self.side)
            .field("built", &self.built.get().is_some())
            .finish_non_exhaustive()
    }
}

/// The crypto provider: *ring*.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: Lazy<Arc<CryptoProvider>> =
        Lazy::new(|| Arc::new(rustls::crypto::ring::default_provider()));
    Arc::clone(&PROVIDER)
}

/// The system's trust store, read once per process.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: Lazy<Vec<CertificateDer<'static>>> =
        Lazy::new(|| rustls_native_certs::load_native_certs().certs);
    &ROOTS
}

/// Every certificate in a PEM bundle; at least one.
pub fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("{what}: bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "{what}: no \"BEGIN CERTIFICATE\" block in the PEM"
        )));
    }
    Ok(certs)
}

/// The first private key in a PEM (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn parse_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| Error::invalid(format!("{what}: no usable private key in the PEM ({e})")))
}

fn version_name(v: u16) -> String {
    match v {
        TLS_1_2 => "TLS 1.2".into(),
        TLS_1_3 => "TLS 1.3".into(),
        other => format!("{other:#06x}"),
    }
}

impl TlsConfig {
    fn with(
        side: Side,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Self {
        TlsConfig {
            side,
            settings: Mutex::new(Settings {
                system_roots: true,
                verify: true,
                cas: Vec::new(),
                identity,
                clients_required: false,
                verify_clients: false,
                alpn: Vec::new(),
                min_version: TLS_1_2,
                max_version: TLS_1_3,
                resumption: true,
            }),
            built: OnceCell::new(),
        }
    }

    /// A client config: system roots trusted, verification on, TLS 1.2 and
    /// 1.3, no ALPN, no client certificate, resumption on.
    pub fn client() -> TlsConfig {
        TlsConfig::with(Side::Client, None)
    }

    /// A server config presenting the certificate chain `cert_pem` (leaf
    /// first) with the private key `key_pem`. Checks that the key fits.
    pub fn server(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig> {
        let chain = parse_certs(cert_pem, "server config: certificate")?;
        let key = parse_key(key_pem, "server config: key")?;
        let config = TlsConfig::with(Side::Server, Some((chain, key)));
        // Build once to check the pair now rather than at the first accept.
        config.build_server(&config.settings.lock())?;
        Ok(config)
    }

    /// The config an opaque registry object is, if it is one.
    pub fn of(object: Arc<dyn std::any::Any + Send + Sync>) -> Option<Arc<TlsConfig>> {
        object.downcast::<TlsConfig>().ok()
    }

    pub fn side(&self) -> Side {
        self.side
    }

    /// Runs `change` on the settings unless the config is built already.
    fn change(
        &self,
        op: &str,
        only: Option<Side>,
        change: impl FnOnce(&mut Settings) -> Result<()>,
    ) -> Result<()> {
        if let Some(side) = only {
            if side != self.side {
                return Err(Error::new(
                    ErrorKind::WrongKind,
                    format!(
                        "{op}: this is a {} config, not a {} config",
                        self.side.name(),
                        side.name()
                    ),
                ));
            }
        }
        let mut settings = self.settings.lock();
        if self.built.get().is_some() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("{op}: the config is in use; settings are fixed once a connection used it"),
            ));
        }
        change(&mut settings)
    }

    /// Client: trusts the CA certificates of a PEM bundle (in addition to the
    /// system's roots unless those are turned off).
    pub fn add_ca_pem(&self, pem: &[u8]) -> Result<()> {
        let certs = parse_certs(pem, "tls_client_config_add_ca_pem")?;
        self.change("tls_client_config_add_ca_pem", Some(Side::Client), |s| {
            s.cas.extend(certs);
            Ok(())
        })
    }

    /// Client: whether the system's trust store is trusted (default yes).
    pub fn use_system_roots(&self, on: bool) -> Result<()> {
        self.change(
            "tls_client_config_use_system_roots",
            Some(Side::Client),
            |s| {
                s.system_roots = on;
                Ok(())
            },
        )
    }

    /// Client: the certificate chain and key presented to a server that asks
    /// for one (mutual TLS).
    pub fn set_client_cert(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<()> {
        let op = "tls_client_config_set_client_cert";
        let chain = parse_certs(cert_pem, op)?;
        let key = parse_key(key_pem, op)?;
        // Check that the key fits the certificate now, not at a handshake.
        let signing = provider()
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| Error::invalid(format!("{op}: unusable key: {e}")))?;
        rustls::sign::CertifiedKey::new(chain.clone(), signing)
            .keys_match()
            .map_err(|e| {
                Error::invalid(format!("{op}: the key does not fit the certificate ({e})"))
            })?;
        self.change(op, Some(Side::Client), |s| {
            s.identity = Some((chain, key));
            Ok(())
        })
    }

    /// Client, tests only: accept any server certificate and name. The
    /// connection is then encrypted but not authenticated.
    pub fn dangerous_disable_verification(&self) -> Result<()> {
        self.change(
            "tls_client_config_dangerous_disable_verification",
            Some(Side::Client),
            |s| {
                s.verify = false;
                Ok(())
            },
        )
    }

    /// Server: verify client certificates against the CAs of `ca_pem`;
    /// `required`: a client without one fails the handshake.
    pub fn verify_clients(&self, ca_pem: &[u8], required: bool) -> Result<()> {
        let op = "tls_server_config_verify_clients";
        let certs = parse_certs(ca_pem, op)?;
        self.change(op, Some(Side::Server), |s| {
            s.cas = certs;
            s.verify_clients = true;
            s.clients_required = required;
            Ok(())
        })
    }

    /// Adds an ALPN protocol, in order of preference.
    pub fn add_alpn(&self, protocol: &[u8]) -> Result<()> {
        if protocol.is_empty() || protocol.len() > 255 {
            return Err(Error::invalid(format!(
                "tls_config_add_alpn: a protocol name has 1 to 255 bytes, not {}",
                protocol.len()
            )));
        }
        self.change("tls_config_add_alpn", None, |s| {
            s.alpn.push(protocol.to_vec());
            Ok(())
        })
    }

    /// The protocol versions allowed: `min..=max`, each TLS_1_2 or TLS_1_3
    /// (0: no limit on that side).
    pub fn set_versions(&self, min: u16, max: u16) -> Result<()> {
        let op = "tls_config_set_versions";
        let check = |v: u16, default: u16| {
            match v {
            0 => Ok(default),
            TLS_1_2 | TLS_1_3 => Ok(v),
            other => Err(Error::invalid(format!(
                "{op}: version {other:#06x} is not SOCKRT_TLS_1_2 (0x0303) or SOCKRT_TLS_1_3 (0x0304)"
            ))),
        }
        };
        let (min, max) = (check(min, TLS_1_2)?, check(max, TLS_1_3)?);
        if min > max {
            return Err(Error::invalid(format!(
                "{op}: minimum {} is above maximum {}",
                version_name(min),
                version_name(max)
            )));
        }
        self.change(op, None, |s| {
            s.min_version = min;
            s.max_version = max;
            Ok(())
        })
    }

    /// Whether sessions are kept for resumption (default yes): a client
    /// remembers the tickets servers send; a server issues and accepts them.
    pub fn set_resumption(&self, on: bool) -> Result<()> {
        self.change("tls_config_set_resumption", None, |s| {
            s.resumption = on;
            Ok(())
        })
    }

    /// The built rustls config (built on first use; settings fixed after).
    pub fn built(&self) -> Result<Built> {
        self.built
            .get_or_try_init(|| {
                let settings = self.settings.lock();
                match self.side {
                    Side::Client => self.build_client(&settings).map(Built::Client),
                    Side::Server => self.build_server(&settings).map(Built::Server),
                }
            })
            .cloned()
    }

    pub fn client_config(&self, op: &str) -> Result<Arc<ClientConfig>> {
        match self.built()? {
            Built::Client(c) => Ok(c),
            Built::Server(_) => Err(Error::new(
                ErrorKind::WrongKind,
                format!("{op}: this is a server TLS config; a client needs a client config"),
            )),
        }
    }

    pub fn server_config(&self, op: &str) -> Result<Arc<ServerConfig>> {
        match self.built()? {
            Built::Server(c) => Ok(c),
            Built::Client(_) => Err(Error::new(
                ErrorKind::WrongKind,
                format!("{op}: this is a client TLS config; a server needs a server config"),
            )),
        }
    }

    fn versions(s: &Settings) -> Vec<&'static rustls::SupportedProtocolVersion> {
        let mut out = Vec::new();
        if s.min_version <= TLS_1_3 && s.max_version >= TLS_1_3 {
            out.push(&rustls::version::TLS13);
        }
        if s.min_version <= TLS_1_2 && s.max_version >= TLS_1_2 {
            out.push(&rustls::version::TLS12);
        }
        out
    }

    fn build_client(&self, s: &Settings) -> Result<Arc<ClientConfig>> {
        let op = "tls client config";
        let tls_err = |e: rustls::Error| Error::invalid(format!("{op}: {e}"));
        let mut roots = RootCertStore::empty();
        if s.system_roots {
            roots.add_parsable_certificates(system_roots().iter().cloned());
        }
        for ca in &s.cas {
            roots
                .add(ca.clone())
                .map_err(|e| Error::invalid(format!("{op}: CA certificate refused: {e}")))?;
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&Self::versions(s))
            .map_err(tls_err)?
            .with_root_certificates(roots);
        let mut config = match &s.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(tls_err)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = s.alpn.clone();
        if !s.resumption {
            config.resumption = Resumption::disabled();
        }
        if !s.verify {
            config
                .dangerous()
                .set_certificate_verifier(Arc::new(NoVerification(provider())));
        }
        Ok(Arc::new(config))
    }

    fn build_server(&self, s: &Settings) -> Result<Arc<ServerConfig>> {
        let op = "tls server config";
        let tls_err = |e: rustls::Error| Error::invalid(format!("{op}: {e}"));
        let builder = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&Self::versions(s))
            .map_err(tls_err)?;
        let builder = if s.verify_clients {
            let mut roots = RootCertStore::empty();
            for ca in &s.cas {
                roots
                    .add(ca.clone())
                    .map_err(|e| Error::invalid(format!("{op}: client CA refused: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = if s.clients_required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|e| Error::invalid(format!("{op}: client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let (chain, key) = s
            .identity
            .as_ref()
            .expect("a server config always has its certificate");
        let mut config = builder
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| Error::invalid(format!("{op}: certificate and key: {e}")))?;
        config.alpn_protocols = s.alpn.clone();
        if s.resumption {
            // Stateless tickets as well as the in-memory session cache, so
            // TLS 1.2 clients resume by ticket too.
            if let Ok(ticketer) = rustls::crypto::ring::Ticketer::new() {
                config.ticketer = ticketer;
            }
        } else {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        Ok(Arc::new(config))
    }
}

/// The verifier of `dangerous_disable_verification`: any certificate, any
/// name. Handshake signatures are still checked (the peer must hold the key
/// of the certificate it sent), so only authentication is off.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
