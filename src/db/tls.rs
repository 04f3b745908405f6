//! TLS to PostgreSQL with libpq's meaning of `sslmode` and `sslrootcert`, over rustls (no
//! OpenSSL, no libpq).
//!
//! tokio-postgres only knows `sslmode=disable|prefer|require` and rejects `sslrootcert`, so the
//! URL is rewritten for it and the verification libpq would do is done by our rustls verifier:
//!
//! | sslmode                  | encrypted      | chain checked                     | host name checked |
//! |--------------------------|----------------|-----------------------------------|-------------------|
//! | disable                  | no             | –                                 | –                 |
//! | allow, prefer (default)  | if offered     | only if `sslrootcert` is given    | no                |
//! | require                  | yes            | only if `sslrootcert` is given    | no                |
//! | verify-ca                | yes            | yes (`sslrootcert`, or web roots) | no                |
//! | verify-full              | yes            | yes (`sslrootcert`, or web roots) | yes               |
//!
//! `sslrootcert=system` uses the bundled web PKI roots (Mozilla's, via webpki-roots), which is
//! what a Neon `verify-full` URL needs.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What libpq's `sslmode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A PostgreSQL URL split into what tokio-postgres understands and the TLS settings we apply.
#[derive(Clone)]
pub(super) struct PgTls {
    driver_url: String,
    connector: MakeRustlsConnect,
}

impl PgTls {
    /// Reads `sslmode` / `sslrootcert` from the URL and builds the connector.
    pub(super) fn from_url(url: &str) -> Result<PgTls, String> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut mode = SslMode::Prefer;
        let mut root_cert: Option<String> = None;
        let mut kept: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned();
            match key {
                "sslmode" => {
                    mode = match decoded.as_str() {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(format!(
                                "sslmode={other} is not one of disable, allow, prefer, require, \
                                 verify-ca, verify-full"
                            ));
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(decoded),
                // Client certificates are not supported; say so rather than ignore them.
                "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => {
                    return Err(format!("{key} (client certificates) is not supported"));
                }
                _ => kept.push(pair.to_owned()),
            }
        }
        let driver_mode = match mode {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            _ => "require",
        };
        kept.push(format!("sslmode={driver_mode}"));
        let driver_url = format!("{base}?{}", kept.join("&"));
        driver_url
            .parse::<tokio_postgres::Config>()
            .map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = match (&root_cert, mode) {
            (Some(path), _) if path != "system" => Some(load_roots(path)?),
            (Some(_), _) | (None, SslMode::VerifyCa | SslMode::VerifyFull) => Some(
                RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            ),
            (None, _) => None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match roots {
            None => Arc::new(NoVerification(provider.signature_verification_algorithms)),
            Some(roots) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| format!("sslrootcert: {e}"))?;
                if mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(
                        webpki,
                        provider.signature_verification_algorithms,
                    ))
                }
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(PgTls {
            driver_url,
            connector: MakeRustlsConnect::new(config),
        })
    }

    /// The URL to hand to tokio-postgres.
    pub(super) fn driver_url(&self) -> &str {
        &self.driver_url
    }

    /// The TLS connector for tokio-postgres (the event listener opens its own connection).
    pub(super) fn connector(&self) -> MakeRustlsConnect {
        self.connector.clone()
    }
}

/// The error and its causes: tokio-postgres says only "error performing TLS handshake" and
/// keeps why (an unknown issuer, a name mismatch) in `source()`.
pub(super) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn load_roots(path: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {path}: no certificate in the file"));
    }
    Ok(roots)
}

/// A verifier's handshake-signature methods: checked with the provider's algorithms (the
/// struct's field `$algorithms`), as rustls' own verifier checks them. The verifiers below
/// differ only in how they judge the certificate.
macro_rules! handshake_signatures {
    ($algorithms:tt) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.$algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.$algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.$algorithms.supported_schemes()
        }
    };
}

/// `require` without a root certificate: encrypt, but (as libpq) do not check who answers.
/// Handshake signatures are still verified, so the session keys are bound to the certificate.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!(0);
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>, WebPkiSupportedAlgorithms);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    handshake_signatures!(1);
}

/// The TLS settings of a PostgreSQL `url` and the URL tokio-postgres is given, with a connect
/// timeout: without one, a connect to a host that drops packets waits for the kernel
/// (minutes), and the pool's pending attempts block new ones long after the database is back.
/// The URL's own `connect_timeout` wins.
pub(super) fn driver_url(url: &str, timeout: Duration) -> anyhow::Result<(PgTls, String)> {
    let tls = PgTls::from_url(url).map_err(anyhow::Error::msg)?;
    let mut driver_url = tls.driver_url().to_owned();
    if !driver_url.contains("connect_timeout=") {
        let seconds = timeout.as_secs_f64().ceil().max(1.0);
        driver_url.push_str(&format!("&connect_timeout={seconds}"));
    }
    Ok((tls, driver_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_libpq_parameters_for_the_driver() {
        let tls = PgTls::from_url(
            "postgresql://u:p@ep-x.neon.tech/db?sslmode=require&channel_binding=require",
        )
        .unwrap();
        assert_eq!(
            tls.driver_url(),
            "postgresql://u:p@ep-x.neon.tech/db?channel_binding=require&sslmode=require"
        );
        let tls =
            PgTls::from_url("postgres://h/db?sslmode=verify-full&sslrootcert=system").unwrap();
        assert_eq!(tls.driver_url(), "postgres://h/db?sslmode=require");
        let tls = PgTls::from_url("postgres://h/db").unwrap();
        assert_eq!(tls.driver_url(), "postgres://h/db?sslmode=prefer");
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        assert!(PgTls::from_url("postgres://h/db?sslmode=bogus").is_err());
        assert!(PgTls::from_url("postgres://h/db?sslcert=/x").is_err());
        assert!(PgTls::from_url("postgres://h/db?sslmode=verify-ca&sslrootcert=/nope").is_err());
    }
}
