//! TLS: configs, client and server streams, and what a connection
//! negotiated.
//!
//! A TLS stream handle works with every stream data call unchanged
//! (sockrt_send, sockrt_recv, sockrt_send_all, sockrt_recv_exact,
//! sockrt_exchange, sockrt_poll, sockrt_shutdown, sockrt_close), under the
//! same timeouts, and with sockrt_set_option, sockrt_get_option,
//! sockrt_local_addr, sockrt_peer_addr and sockrt_fileno (which act on the
//! TCP socket underneath). One thread may send while another receives.
//! sockrt_close sends a TLS close_notify if it can without blocking, then
//! wakes every call blocked on the stream (SOCKRT_E_CLOSED). A peer that ends
//! the TCP stream without close_notify makes a receive fail with
//! SOCKRT_E_TLS_TRUNCATED instead of returning 0. Calls that would bypass
//! or split the TLS layer refuse a TLS handle with SOCKRT_E_WRONG_KIND:
//! sockrt_recv_flags and sockrt_send_flags (and the _from/_to forms),
//! sockrt_dup, sockrt_detach, sockrt_disconnect, bind/listen/accept/connect,
//! the poller's sockrt_poller_add/_modify/_remove (a TLS stream may hold
//! decrypted input its descriptor no longer shows, which epoll cannot see:
//! poll a TLS stream with sockrt_poll) and sockrt_send_many (SOCKRT_E_WRONG_KIND
//! in that handle's result).
//!
//! Configs are handles too (close them with sockrt_close; connections made
//! with a config keep what they need). A config can be changed until a
//! connection first uses it; after that its setters fail with
//! SOCKRT_E_INVALID_STATE. Certificates and keys are PEM text in memory
//! (`len` bytes, no NUL needed). Unless a function says otherwise, errors
//! are those of any handle lookup, SOCKRT_E_INVALID_ARGUMENT for NULL
//! pointers and unreadable PEM, and SOCKRT_E_WRONG_KIND for a server config
//! given to a client call or the reverse.

use super::*;
use crate::registry::{self, Object};
use crate::socket::Socket;
use crate::tls::{Side, TlsConfig, TlsStream};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// sockrt_tls_config_set_versions: TLS 1.2.
pub const SOCKRT_TLS_1_2: i32 = 0x0303;
/// sockrt_tls_config_set_versions: TLS 1.3.
pub const SOCKRT_TLS_1_3: i32 = 0x0304;

const _: () = {
    assert!(SOCKRT_TLS_1_2 == crate::tls::TLS_1_2 as i32);
    assert!(SOCKRT_TLS_1_3 == crate::tls::TLS_1_3 as i32);
};

/// What a TLS connection negotiated (sockrt_tls_get_info).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct sockrt_tls_info {
    /// SOCKRT_TLS_1_2 or SOCKRT_TLS_1_3.
    pub version: i32,
    /// The cipher suite's IANA number (e.g. 0x1302 for
    /// TLS_AES_256_GCM_SHA384).
    pub cipher_suite: u16,
    /// Whether the session was resumed (an abbreviated handshake).
    pub resumed: bool,
    /// Whether the peer presented a certificate (always, for a server; for a
    /// client, only under mutual TLS).
    pub peer_certificate: bool,
    /// Length of the ALPN protocol in `alpn` (0: none agreed).
    pub alpn_len: u32,
    /// The ALPN protocol agreed on, NUL-terminated (it may itself contain
    /// NUL bytes: use `alpn_len`).
    pub alpn: [c_char; 256],
    /// The cipher suite's name as rustls spells it, NUL-terminated, e.g.
    /// "TLS13_AES_256_GCM_SHA384".
    pub cipher_suite_name: [c_char; 64],
}

fn bytes_arg<'a>(buf: *const c_void, len: usize, what: &str) -> Result<&'a [u8]> {
    if buf.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    in_buf(buf, len)
}

fn flag_arg(value: i32, what: &str) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::invalid(format!(
            "{what} must be 0 or 1, not {other}"
        ))),
    }
}

/// An optional NUL-terminated UTF-8 string (NULL allowed).
fn optional_str<'a>(text: *const c_char) -> Result<Option<&'a str>> {
    if text.is_null() {
        Ok(None)
    } else {
        host_arg(text).map(Some)
    }
}

fn publish_config(config: TlsConfig, out: *mut sockrt_handle, op: &str) -> Result<()> {
    let handle = registry::insert(Object::TlsConfig(Arc::new(config)), op)?;
    write_out(out, "out", handle)
}

fn publish_stream(stream: TlsStream, out: *mut sockrt_handle, op: &str) -> Result<()> {
    let stream = Arc::new(stream);
    match registry::insert(Object::Tls(stream.clone()), op) {
        Ok(handle) => write_out(out, "out", handle),
        Err(e) => {
            stream.close();
            Err(e)
        }
    }
}

/// The TLS config `h` names (any side).
pub(crate) fn any_config(h: sockrt_handle, op: &str) -> Result<Arc<TlsConfig>> {
    TlsConfig::of(registry::tls_config(h, op)?).ok_or_else(|| {
        Error::new(
            ErrorKind::WrongKind,
            format!("{op}: handle {h:#x} is not a TLS config"),
        )
    })
}

/// The TLS stream `h` names.
fn stream_of(h: sockrt_handle, op: &str) -> Result<Arc<dyn crate::stream::Transport>> {
    let stream = registry::tls(h, op)?;
    if stream.as_any().downcast_ref::<TlsStream>().is_none() {
        return Err(Error::new(
            ErrorKind::WrongKind,
            format!("{op}: handle {h:#x} is not a TLS stream"),
        ));
    }
    Ok(stream)
}

fn info_of(h: sockrt_handle, op: &str) -> Result<crate::tls::TlsInfo> {
    let stream = stream_of(h, op)?;
    let tls = stream
        .as_any()
        .downcast_ref::<TlsStream>()
        .expect("checked by stream_of");
    Ok(tls.info())
}

pub(crate) fn config_of(h: sockrt_handle, side: Side, op: &str) -> Result<Arc<TlsConfig>> {
    let config = any_config(h, op)?;
    if config.side() != side {
        let (is, wanted) = match side {
            Side::Client => ("server", "client"),
            Side::Server => ("client", "server"),
        };
        return Err(Error::new(
            ErrorKind::WrongKind,
            format!("{op}: handle {h:#x} is a {is} TLS config; this call needs a {wanted} config"),
        ));
    }
    Ok(config)
}

/// Takes a plain, unpooled stream socket out of the handle table for an
/// upgrade: its handle ends here.
fn take_socket(h: sockrt_handle, op: &str) -> Result<Arc<Socket>> {
    let object = registry::remove_if(h, op, |object| match object {
        Object::Lease(_) => Err(Error::new(
            ErrorKind::InvalidState,
            format!(
                "{op}: handle {h:#x} is a pooled connection; give the pool a TLS config instead"
            ),
        )),
        Object::Socket(_) => Ok(()),
        other => Err(Error::new(
            ErrorKind::WrongKind,
            format!(
                "{op}: handle {h:#x} is a {}, not a socket",
                other.kind_name()
            ),
        )),
    })?;
    match object {
        Object::Socket(s) => Ok(s),
        _ => unreachable!("approved objects are sockets"),
    }
}

// ---- configs ----------------------------------------------------------------

/// Creates a client TLS config and writes its handle to `*out`: the system's
/// trust store is trusted, the server's certificate and name are verified,
/// TLS 1.2 and 1.3 are allowed, sessions are kept for resumption, no ALPN,
/// no client certificate. Errors: SOCKRT_E_INVALID_ARGUMENT (`out` NULL),
/// SOCKRT_E_LIMIT.
#[no_mangle]
pub extern "C" fn sockrt_tls_client_config_new(out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        publish_config(TlsConfig::client(), out, "tls_client_config_new")
    })
}

/// Creates a server TLS config presenting the certificate chain `cert_pem`
/// (leaf first, then intermediates) with the private key `key_pem` (PKCS#8,
/// PKCS#1 RSA or SEC1 EC), and writes its handle to `*out`. TLS 1.2 and 1.3,
/// no client certificates asked for, session resumption on. Errors:
/// SOCKRT_E_INVALID_ARGUMENT (no certificate or key in the PEM, a key that
/// does not fit the certificate, `out` NULL).
#[no_mangle]
pub extern "C" fn sockrt_tls_server_config_new(
    cert_pem: *const c_void,
    cert_len: usize,
    key_pem: *const c_void,
    key_len: usize,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let cert = bytes_arg(cert_pem, cert_len, "cert_pem")?;
        let key = bytes_arg(key_pem, key_len, "key_pem")?;
        publish_config(TlsConfig::server(cert, key)?, out, "tls_server_config_new")
    })
}

/// Client config: also trusts the CA certificates in the PEM bundle `pem`
/// (`len` bytes; every "BEGIN CERTIFICATE" block). May be called more than
/// once.
#[no_mangle]
pub extern "C" fn sockrt_tls_client_config_add_ca_pem(
    cfg: sockrt_handle,
    pem: *const c_void,
    len: usize,
) -> i32 {
    boundary(|| {
        let pem = bytes_arg(pem, len, "pem")?;
        config_of(cfg, Side::Client, "tls_client_config_add_ca_pem")?.add_ca_pem(pem)
    })
}

/// Client config: `on` = 1 trusts the system's trust store (the default),
/// 0 trusts only the CAs added with sockrt_tls_client_config_add_ca_pem.
#[no_mangle]
pub extern "C" fn sockrt_tls_client_config_use_system_roots(cfg: sockrt_handle, on: i32) -> i32 {
    boundary(|| {
        let on = flag_arg(on, "on")?;
        config_of(cfg, Side::Client, "tls_client_config_use_system_roots")?.use_system_roots(on)
    })
}

/// Client config: the certificate chain and private key presented to a
/// server that asks for a client certificate (mutual TLS). Errors:
/// SOCKRT_E_INVALID_ARGUMENT (unreadable PEM, or a key that does not fit the
/// certificate).
#[no_mangle]
pub extern "C" fn sockrt_tls_client_config_set_client_cert(
    cfg: sockrt_handle,
    cert_pem: *const c_void,
    cert_len: usize,
    key_pem: *const c_void,
    key_len: usize,
) -> i32 {
    boundary(|| {
        let cert = bytes_arg(cert_pem, cert_len, "cert_pem")?;
        let key = bytes_arg(key_pem, key_len, "key_pem")?;
        config_of(cfg, Side::Client, "tls_client_config_set_client_cert")?
            .set_client_cert(cert, key)
    })
}

/// DANGEROUS, for tests only: the client config accepts ANY server
/// certificate for ANY name, so connections made with it are encrypted but
/// not authenticated, and anyone on the path can read and change them.
/// Never use it to reach a real service.
#[no_mangle]
pub extern "C" fn sockrt_tls_client_config_dangerous_disable_verification(
    cfg: sockrt_handle,
) -> i32 {
    boundary(|| {
        config_of(
            cfg,
            Side::Client,
            "tls_client_config_dangerous_disable_verification",
        )?
        .dangerous_disable_verification()
    })
}

/// Server config: asks clients for a certificate and verifies it against
/// the CA certificates in `ca_pem`. `required` = 1: a client without a
/// certificate fails the handshake (SOCKRT_E_TLS_CERTIFICATE on the server);
/// 0: one without is let in, one with a bad certificate is not.
#[no_mangle]
pub extern "C" fn sockrt_tls_server_config_verify_clients(
    cfg: sockrt_handle,
    ca_pem: *const c_void,
    ca_len: usize,
    required: i32,
) -> i32 {
    boundary(|| {
        let pem = bytes_arg(ca_pem, ca_len, "ca_pem")?;
        let required = flag_arg(required, "required")?;
        config_of(cfg, Side::Server, "tls_server_config_verify_clients")?
            .verify_clients(pem, required)
    })
}

/// Client or server config: adds an ALPN protocol (1..255 bytes, e.g. "h2",
/// "http/1.1"), in order of preference. A client offers them all; a server
/// picks the first of its own list that the client offers, and fails the
/// handshake (SOCKRT_E_TLS_HANDSHAKE) if a client offers ALPN but none in
/// common.
#[no_mangle]
pub extern "C" fn sockrt_tls_config_add_alpn(
    cfg: sockrt_handle,
    protocol: *const c_void,
    len: usize,
) -> i32 {
    boundary(|| {
        let protocol = bytes_arg(protocol, len, "protocol")?;
        any_config(cfg, "tls_config_add_alpn")?.add_alpn(protocol)
    })
}

/// Client or server config: allows the protocol versions `min` through
/// `max`, each SOCKRT_TLS_1_2 or SOCKRT_TLS_1_3 (0: no limit on that side).
/// The default is TLS 1.2 through 1.3. Errors: SOCKRT_E_INVALID_ARGUMENT
/// (another value, or `min` above `max`).
#[no_mangle]
pub extern "C" fn sockrt_tls_config_set_versions(cfg: sockrt_handle, min: i32, max: i32) -> i32 {
    boundary(|| {
        let version = |v: i32| {
            u16::try_from(v)
                .map_err(|_| Error::invalid(format!("tls_config_set_versions: bad version {v}")))
        };
        any_config(cfg, "tls_config_set_versions")?.set_versions(version(min)?, version(max)?)
    })
}

/// Client or server config: `on` = 1 (the default) keeps sessions for
/// resumption (a client stores the tickets servers send, shared by every
/// connection made with this config; a server issues and accepts them);
/// 0 makes every handshake a full one.
#[no_mangle]
pub extern "C" fn sockrt_tls_config_set_resumption(cfg: sockrt_handle, on: i32) -> i32 {
    boundary(|| {
        let on = flag_arg(on, "on")?;
        any_config(cfg, "tls_config_set_resumption")?.set_resumption(on)
    })
}

// ---- streams ----------------------------------------------------------------

/// Resolves `host`, connects to `port` (trying each address in turn) and
/// does the TLS client handshake with the client config `cfg`, all within
/// `timeout_ms` (negative: no limit). The server's certificate must be valid
/// for `server_name` (NULL: `host`), which is also sent as SNI; an IP
/// address is checked against the certificate's IP addresses. Writes the
/// new TLS stream handle to `*out`. Errors: those of sockrt_tcp_connect,
/// SOCKRT_E_TLS_CERTIFICATE (the message names the reason: unknown issuer,
/// expired, name mismatch, ...), SOCKRT_E_TLS_HANDSHAKE (the peer does not
/// speak TLS, shares no version or cipher suite, sent an alert, or closed
/// the connection), SOCKRT_E_TIMEOUT.
#[no_mangle]
pub extern "C" fn sockrt_tls_connect(
    host: *const c_char,
    port: u16,
    cfg: sockrt_handle,
    server_name: *const c_char,
    timeout_ms: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let host = host_arg(host)?;
        let name = optional_str(server_name)?;
        let config = config_of(cfg, Side::Client, "tls_connect")?;
        let stream = TlsStream::connect(host, port, &config, name, i64::from(timeout_ms))?;
        publish_stream(stream, out, "tls_connect")
    })
}

/// Does the TLS client handshake on the connected stream socket `sock`
/// within `timeout_ms` (negative: no limit beyond the socket's own
/// timeouts), verifying the server's certificate for `server_name`
/// (required: a DNS name or an IP address). Once the arguments are checked,
/// the handle `sock` ends, whatever the outcome: on success the connection
/// lives on as the TLS stream handle written to `*out` (with the socket's
/// options); on failure it is closed. Errors: as sockrt_tls_connect, and
/// SOCKRT_E_NOT_CONNECTED, SOCKRT_E_WRONG_KIND (a datagram socket, or a
/// TLS stream already, pooled or not), SOCKRT_E_INVALID_STATE (a listener
/// or a plain pooled connection; `sock` stays valid).
#[no_mangle]
pub extern "C" fn sockrt_tls_client_upgrade(
    sock: sockrt_handle,
    cfg: sockrt_handle,
    server_name: *const c_char,
    timeout_ms: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        let op = "tls_client_upgrade";
        require_out(out, "out")?;
        let name =
            host_arg(server_name).map_err(|e| Error::invalid(format!("{op}: server_name: {e}")))?;
        let config = config_of(cfg, Side::Client, op)?;
        config.client_config(op)?;
        check_stream_socket(sock, op)?;
        let socket = take_socket(sock, op)?;
        let stream = TlsStream::client(socket, &config, name, i64::from(timeout_ms), op)?;
        publish_stream(stream, out, op)
    })
}

/// Checks, before the handle ends, what would make an upgrade fail without
/// touching the network.
fn check_stream_socket(sock: sockrt_handle, op: &str) -> Result<()> {
    let socket = registry::socket(sock, op)?;
    if socket.kind() != crate::socket::Kind::Stream {
        return Err(Error::new(
            ErrorKind::WrongKind,
            format!("{op}: TLS needs a stream (TCP) socket, not a datagram socket"),
        ));
    }
    if socket.is_listening() {
        return Err(Error::new(
            ErrorKind::InvalidState,
            format!("{op}: socket is listening; accept a connection (or use sockrt_tls_accept)"),
        ));
    }
    socket.peer_addr().map_err(|_| {
        Error::new(
            ErrorKind::NotConnected,
            format!("{op}: socket is not connected"),
        )
    })?;
    Ok(())
}

/// Does the TLS server handshake on the connected stream socket `sock` with
/// the server config `cfg`, within `timeout_ms`. The handle `sock` ends as
/// with sockrt_tls_client_upgrade. Errors: SOCKRT_E_TLS_HANDSHAKE (the
/// client does not speak TLS, e.g. sent plain text; shares no version,
/// cipher suite or ALPN protocol; closed the connection),
/// SOCKRT_E_TLS_CERTIFICATE (client verification on and the client's
/// certificate missing or bad), SOCKRT_E_TIMEOUT, and those of
/// sockrt_tls_client_upgrade.
#[no_mangle]
pub extern "C" fn sockrt_tls_server_upgrade(
    sock: sockrt_handle,
    cfg: sockrt_handle,
    timeout_ms: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        let op = "tls_server_upgrade";
        require_out(out, "out")?;
        let config = config_of(cfg, Side::Server, op)?;
        config.server_config(op)?;
        check_stream_socket(sock, op)?;
        let socket = take_socket(sock, op)?;
        let stream = TlsStream::server(socket, &config, i64::from(timeout_ms), op)?;
        publish_stream(stream, out, op)
    })
}

/// Waits for a connection on the listening socket `listener` (up to its read
/// timeout, as sockrt_accept), then does the TLS server handshake with `cfg`
/// within `timeout_ms`, and writes the TLS stream handle to `*out`. If the
/// handshake fails, the accepted connection is closed and the error
/// returned; the listener keeps listening. Errors: those of sockrt_accept
/// and sockrt_tls_server_upgrade.
#[no_mangle]
pub extern "C" fn sockrt_tls_accept(
    listener: sockrt_handle,
    cfg: sockrt_handle,
    timeout_ms: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        let op = "tls_accept";
        require_out(out, "out")?;
        let config = config_of(cfg, Side::Server, op)?;
        config.server_config(op)?;
        let socket = Arc::new(registry::socket(listener, op)?.accept()?);
        let stream = TlsStream::server(socket, &config, i64::from(timeout_ms), op)?;
        publish_stream(stream, out, op)
    })
}

/// Writes what the TLS stream `h` negotiated to `*out`: protocol version,
/// cipher suite, ALPN protocol, whether the session was resumed, whether the
/// peer sent a certificate. Does not block. Errors: SOCKRT_E_WRONG_KIND (not
/// a TLS stream).
#[no_mangle]
pub extern "C" fn sockrt_tls_get_info(h: sockrt_handle, out: *mut sockrt_tls_info) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let info = info_of(h, "tls_get_info")?;
        let mut c = sockrt_tls_info {
            version: i32::from(info.version),
            cipher_suite: info.cipher_suite,
            resumed: info.resumed,
            peer_certificate: info.peer_subject.is_some(),
            alpn_len: 0,
            alpn: [0; 256],
            cipher_suite_name: [0; 64],
        };
        if let Some(alpn) = &info.alpn {
            // ALPN names have at most 255 bytes, so a NUL always fits.
            for (dst, &src) in c.alpn.iter_mut().zip(alpn.iter()) {
                *dst = src as c_char;
            }
            c.alpn_len = alpn.len() as u32;
        }
        for (dst, &src) in c
            .cipher_suite_name
            .iter_mut()
            .zip(info.cipher_suite_name.as_bytes().iter().take(63))
        {
            *dst = src as c_char;
        }
        write_out(out, "out", c)
    })
}

/// Copies the subject of the peer's certificate, as an RFC 4514 string
/// ("CN=example.com,O=Example"), NUL-terminated, into `buf` (`cap` bytes)
/// and returns its length (without the NUL). Errors (negative):
/// SOCKRT_E_INVALID_ARGUMENT (`buf` NULL, or `cap` too small: the message
/// gives the length needed; nothing is truncated), SOCKRT_E_INVALID_STATE
/// (the peer sent no certificate), SOCKRT_E_WRONG_KIND (not a TLS stream).
#[no_mangle]
pub extern "C" fn sockrt_tls_peer_subject(h: sockrt_handle, buf: *mut c_char, cap: usize) -> i64 {
    boundary(|| {
        let info = info_of(h, "tls_peer_subject")?;
        let subject = info.peer_subject.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                "tls_peer_subject: the peer sent no certificate",
            )
        })?;
        if !buf.is_null() && subject.len() >= cap {
            return Err(Error::invalid(format!(
                "tls_peer_subject: a buffer of {cap} bytes cannot hold the {}-byte subject and a NUL",
                subject.len()
            )));
        }
        write_text(
            buf,
            cap,
            subject.as_bytes(),
            "buf",
            "the subject length plus one",
        )?;
        Ok(subject.len())
    })
}
