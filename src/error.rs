//! The runtime's error type: a kind (which the C ABI maps to a `SOCKRT_E_*`
//! code), the OS errno if one caused it, and a message naming the operation.

use std::fmt;
use std::io;

/// What went wrong, independent of any language binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidArgument,
    BadHandle,
    WrongKind,
    InvalidState,
    NotConnected,
    Timeout,
    Closed,
    Eof,
    ConnectionRefused,
    ConnectionReset,
    AddressInUse,
    AddressNotAvailable,
    Resolve,
    Unreachable,
    PoolExhausted,
    PoolClosed,
    Limit,
    Panic,
    Io,
    Interrupted,
    WouldBlock,
    InProgress,
    TlsHandshake,
    TlsCertificate,
    TlsTruncated,
    TlsProtocol,
}

impl ErrorKind {
    /// Every kind, in code order; lets tests and the FFI walk them all.
    pub const ALL: [ErrorKind; 26] = [
        ErrorKind::InvalidArgument,
        ErrorKind::BadHandle,
        ErrorKind::WrongKind,
        ErrorKind::InvalidState,
        ErrorKind::NotConnected,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::Eof,
        ErrorKind::ConnectionRefused,
        ErrorKind::ConnectionReset,
        ErrorKind::AddressInUse,
        ErrorKind::AddressNotAvailable,
        ErrorKind::Resolve,
        ErrorKind::Unreachable,
        ErrorKind::PoolExhausted,
        ErrorKind::PoolClosed,
        ErrorKind::Limit,
        ErrorKind::Panic,
        ErrorKind::Io,
        ErrorKind::Interrupted,
        ErrorKind::WouldBlock,
        ErrorKind::InProgress,
        ErrorKind::TlsHandshake,
        ErrorKind::TlsCertificate,
        ErrorKind::TlsTruncated,
        ErrorKind::TlsProtocol,
    ];

    /// Short English description, as `sockrt_strerror` returns it.
    pub const fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::BadHandle => "bad handle (closed, stale or never issued)",
            ErrorKind::WrongKind => "operation not supported by this kind of handle",
            ErrorKind::InvalidState => "operation not valid in the socket's current state",
            ErrorKind::NotConnected => "socket is not connected",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Closed => "handle was closed",
            ErrorKind::Eof => "peer closed the connection before all bytes arrived",
            ErrorKind::ConnectionRefused => "connection refused",
            ErrorKind::ConnectionReset => "connection reset by peer",
            ErrorKind::AddressInUse => "address already in use",
            ErrorKind::AddressNotAvailable => "address not available",
            ErrorKind::Resolve => "host name could not be resolved",
            ErrorKind::Unreachable => "network or host unreachable",
            ErrorKind::PoolExhausted => "connection pool exhausted",
            ErrorKind::PoolClosed => "connection pool closed",
            ErrorKind::Limit => "resource limit reached",
            ErrorKind::Panic => "internal error (panic caught at the library boundary)",
            ErrorKind::Io => "input/output error",
            ErrorKind::Interrupted => "interrupted by a signal",
            ErrorKind::WouldBlock => "operation would block",
            ErrorKind::InProgress => "connection in progress",
            ErrorKind::TlsHandshake => "TLS handshake failed",
            ErrorKind::TlsCertificate => "TLS certificate verification failed",
            ErrorKind::TlsTruncated => {
                "TLS stream truncated: the peer closed the connection without close_notify"
            }
            ErrorKind::TlsProtocol => "TLS protocol error (a bad record or an alert from the peer)",
        }
    }

    /// Whether this failure leaves a stream unfit for reuse (pool release).
    /// Argument and handle errors never touched the connection.
    pub const fn breaks_stream(self) -> bool {
        !matches!(
            self,
            ErrorKind::InvalidArgument
                | ErrorKind::BadHandle
                | ErrorKind::WrongKind
                | ErrorKind::InvalidState
                | ErrorKind::Panic
                | ErrorKind::Interrupted
                | ErrorKind::WouldBlock
        )
    }
}

/// A failure: its kind, the OS errno (0 if none) and a message that names the
/// operation and the cause, e.g. "connect 127.0.0.1:9: connection refused".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    os_error: i32,
    message: String,
    /// Bytes a whole-buffer call (send_all, recv_exact) moved before it failed.
    transferred: usize,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            os_error: 0,
            message: message.into(),
            transferred: 0,
        }
    }

    /// An error for operation `op` caused by errno `errno`.
    pub fn from_errno(op: impl fmt::Display, errno: i32) -> Self {
        let text = io::Error::from_raw_os_error(errno).to_string();
        // io::Error appends " (os error N)"; keep only the readable part.
        let text = text.split(" (os error").next().unwrap_or(&text);
        Error {
            kind: kind_of_errno(errno),
            os_error: errno,
            message: format!("{op}: {}", lowercase_first(text)),
            transferred: 0,
        }
    }

    pub fn from_io(op: impl fmt::Display, err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(errno) => Error::from_errno(op, errno),
            None => Error::new(ErrorKind::Io, format!("{op}: {err}")),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn os_error(&self) -> i32 {
        self.os_error
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Bytes the failed call moved before it failed (0 for most calls).
    pub fn transferred(&self) -> usize {
        self.transferred
    }

    /// The same error, after `n` bytes of a whole-buffer call were moved.
    pub fn with_transferred(mut self, n: usize) -> Self {
        self.transferred = n;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Maps an errno to the kind a caller can act on; anything unusual is `Io`.
pub fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        libc::ECONNREFUSED => ErrorKind::ConnectionRefused,
        libc::ECONNRESET | libc::EPIPE | libc::ECONNABORTED => ErrorKind::ConnectionReset,
        libc::EADDRINUSE => ErrorKind::AddressInUse,
        libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT => ErrorKind::AddressNotAvailable,
        libc::ENETUNREACH | libc::EHOSTUNREACH | libc::ENETDOWN | libc::EHOSTDOWN => {
            ErrorKind::Unreachable
        }
        libc::ETIMEDOUT => ErrorKind::Timeout,
        libc::EINTR => ErrorKind::Interrupted,
        libc::EAGAIN => ErrorKind::WouldBlock,
        libc::EINPROGRESS => ErrorKind::InProgress,
        libc::ENOTCONN | libc::EDESTADDRREQ => ErrorKind::NotConnected,
        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => ErrorKind::Limit,
        _ => ErrorKind::Io,
    }
}

impl Error {
    /// The same error, caused by `errno`.
    pub fn with_os_error(mut self, errno: i32) -> Self {
        self.os_error = errno;
        self
    }

    /// The same error with `detail` appended to its message.
    pub fn with_detail(mut self, detail: impl fmt::Display) -> Self {
        use fmt::Write;
        let _ = write!(self.message, " ({detail})");
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_message_names_operation_and_cause() {
        let err = Error::from_errno("connect 127.0.0.1:9", libc::ECONNREFUSED);
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        assert_eq!(err.os_error(), libc::ECONNREFUSED);
        assert_eq!(err.message(), "connect 127.0.0.1:9: connection refused");
    }

    #[test]
    fn unusual_errno_is_io() {
        assert_eq!(kind_of_errno(libc::EIO), ErrorKind::Io);
        assert_eq!(kind_of_errno(libc::EPIPE), ErrorKind::ConnectionReset);
    }
}
