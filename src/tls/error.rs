//! rustls errors as the runtime's errors, with messages that name the reason.

use crate::error::{Error, ErrorKind};
use rustls::{AlertDescription, CertificateError, InvalidMessage};

/// The plain words for a certificate failure.
fn certificate_reason(e: &CertificateError) -> &'static str {
    match e {
        CertificateError::UnknownIssuer => "unknown issuer",
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired",
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "not valid yet"
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "name mismatch"
        }
        CertificateError::Revoked => "revoked",
        CertificateError::BadSignature => "bad signature",
        CertificateError::BadEncoding => "bad encoding",
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "not valid for this purpose"
        }
        CertificateError::UnhandledCriticalExtension => "unhandled critical extension",
        _ => "rejected",
    }
}

fn alert_reason(alert: &AlertDescription) -> String {
    // "UnknownCA" -> "unknown_ca" style names, as the RFC writes them.
    let name = format!("{alert:?}");
    let mut out = String::new();
    for (i, c) in name.char_indices() {
        if c.is_uppercase() && i > 0 && !name[..i].ends_with(|p: char| p.is_uppercase()) {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// What the first bytes from a peer that broke the handshake look like.
fn plain_text_hint(first_bytes: &[u8]) -> Option<String> {
    let sample = &first_bytes[..first_bytes.len().min(32)];
    if sample.len() >= 4
        && sample
            .iter()
            .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\r' || b == b'\n' || b == b'\t')
    {
        let text: String = String::from_utf8_lossy(sample)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Some(format!(
            "the peer does not speak TLS: it sent plain text \"{}\"",
            text.trim_end()
        ))
    } else {
        None
    }
}

/// Maps a rustls error of operation `op`. `handshaking`: whether the
/// handshake was still under way; `first_bytes`: what the peer sent first
/// (to recognise a peer that speaks plain text).
pub(crate) fn tls_error(
    op: &str,
    e: &rustls::Error,
    handshaking: bool,
    first_bytes: &[u8],
) -> Error {
    let generic = if handshaking {
        ErrorKind::TlsHandshake
    } else {
        ErrorKind::TlsProtocol
    };
    match e {
        rustls::Error::InvalidCertificate(cert) => Error::new(
            ErrorKind::TlsCertificate,
            format!(
                "{op}: certificate verification failed: {} ({e})",
                certificate_reason(cert)
            ),
        ),
        rustls::Error::NoCertificatesPresented => Error::new(
            ErrorKind::TlsCertificate,
            format!("{op}: certificate verification failed: the peer sent no certificate"),
        ),
        rustls::Error::AlertReceived(alert) => {
            let what = if handshaking {
                "the peer refused the handshake"
            } else {
                "the peer ended the connection"
            };
            Error::new(
                generic,
                format!("{op}: {what}: alert {}", alert_reason(alert)),
            )
        }
        rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType)
        | rustls::Error::InvalidMessage(InvalidMessage::UnknownProtocolVersion)
        | rustls::Error::InvalidMessage(InvalidMessage::MessageTooLarge)
            if handshaking =>
        {
            let why = plain_text_hint(first_bytes).unwrap_or_else(|| {
                "the peer does not speak TLS (bytes that are not a TLS record)".into()
            });
            Error::new(generic, format!("{op}: {why} ({e})"))
        }
        rustls::Error::PeerSentOversizedRecord if handshaking => {
            let why = plain_text_hint(first_bytes).unwrap_or_else(|| {
                "the peer does not speak TLS (bytes that are not a TLS record)".into()
            });
            Error::new(generic, format!("{op}: {why} ({e})"))
        }
        rustls::Error::NoApplicationProtocol => Error::new(
            ErrorKind::TlsHandshake,
            format!("{op}: no ALPN protocol in common with the peer ({e})"),
        ),
        _ => Error::new(generic, format!("{op}: {e}")),
    }
}

/// The peer closed TCP during the handshake.
pub(crate) fn closed_in_handshake(op: &str, first_bytes: &[u8]) -> Error {
    let why = match plain_text_hint(first_bytes) {
        Some(hint) => format!("{hint}, then closed the connection"),
        None => "the peer closed the connection during the handshake".into(),
    };
    Error::new(ErrorKind::TlsHandshake, format!("{op}: {why}"))
}

/// The peer ended TCP without close_notify.
pub(crate) fn truncated(op: &str) -> Error {
    Error::new(
        ErrorKind::TlsTruncated,
        format!("{op}: the peer closed the TCP connection without a TLS close_notify (truncation)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_read_like_the_rfc() {
        assert_eq!(alert_reason(&AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_reason(&AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(
            alert_reason(&AlertDescription::BadCertificate),
            "bad_certificate"
        );
    }

    #[test]
    fn plain_text_is_recognised() {
        assert!(plain_text_hint(b"HTTP/1.1 400 Bad Request\r\n")
            .unwrap()
            .contains("HTTP/1.1 400"));
        assert!(plain_text_hint(&[0x16, 3, 1, 0, 5]).is_none());
    }
}
