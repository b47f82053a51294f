//! Every `SOCKRT_*` constant of the C ABI. Values are stable once released.

/// Success.
pub const SOCKRT_OK: i32 = 0;
/// A NULL pointer, bad enum value, non-UTF-8 or empty host, length too large,
/// or an output buffer too small for its value.
pub const SOCKRT_E_INVALID_ARGUMENT: i32 = -1;
/// The handle is 0, was closed, is stale or was never issued.
pub const SOCKRT_E_BAD_HANDLE: i32 = -2;
/// The handle names the wrong kind of object for the call (a pool given to
/// sockrt_recv, a datagram socket given to sockrt_listen, ...).
pub const SOCKRT_E_WRONG_KIND: i32 = -3;
/// The call does not fit the socket's state (accept on a socket that is not
/// listening, listen twice, bind after connect, recv on a listener, ...).
pub const SOCKRT_E_INVALID_STATE: i32 = -4;
/// The socket is not connected.
pub const SOCKRT_E_NOT_CONNECTED: i32 = -5;
/// The timeout passed before the call could complete.
pub const SOCKRT_E_TIMEOUT: i32 = -6;
/// The handle was closed by another thread while this call was blocked.
pub const SOCKRT_E_CLOSED: i32 = -7;
/// The peer closed the connection before sockrt_recv_exact got its bytes.
pub const SOCKRT_E_EOF: i32 = -8;
/// Nothing listens at the address.
pub const SOCKRT_E_CONNECTION_REFUSED: i32 = -9;
/// The peer reset the connection, or the pipe is broken.
pub const SOCKRT_E_CONNECTION_RESET: i32 = -10;
/// The address is already in use.
pub const SOCKRT_E_ADDRESS_IN_USE: i32 = -11;
/// The address is not available on this machine (or its family is not).
pub const SOCKRT_E_ADDRESS_NOT_AVAILABLE: i32 = -12;
/// The host name was not found, or the resolver failed.
pub const SOCKRT_E_RESOLVE: i32 = -13;
/// The network or host is unreachable.
pub const SOCKRT_E_UNREACHABLE: i32 = -14;
/// No pooled connection became free within the acquire timeout.
pub const SOCKRT_E_POOL_EXHAUSTED: i32 = -15;
/// The pool was closed.
pub const SOCKRT_E_POOL_CLOSED: i32 = -16;
/// A resource limit: the handle table, descriptors or memory.
pub const SOCKRT_E_LIMIT: i32 = -17;
/// An internal error was caught at the library boundary (a bug: please report).
pub const SOCKRT_E_PANIC: i32 = -18;
/// Any other OS error; sockrt_last_os_error() gives the errno.
pub const SOCKRT_E_IO: i32 = -19;
/// A signal interrupted a blocking call, and this thread asked to be told
/// (sockrt_set_interruptible); retry it (with the time left, if timed).
pub const SOCKRT_E_INTERRUPTED: i32 = -20;
/// A call with SOCKRT_MSG_DONTWAIT would have had to wait.
pub const SOCKRT_E_WOULD_BLOCK: i32 = -21;
/// sockrt_connect with timeout 0 on a stream socket: the connection is under
/// way. Poll for SOCKRT_POLL_OUT, then read SOCKRT_OPT_ERROR to learn how it
/// ended (0: connected).
pub const SOCKRT_E_IN_PROGRESS: i32 = -22;
/// The TLS handshake failed: the peer does not speak TLS (plain text), shares
/// no protocol version, cipher suite or ALPN protocol with us, sent an alert,
/// or closed the connection during the handshake. The message names the
/// reason.
pub const SOCKRT_E_TLS_HANDSHAKE: i32 = -23;
/// The peer's certificate failed verification; the message names the reason
/// (unknown issuer, expired, not valid for the server name, revoked, no
/// certificate sent, ...).
pub const SOCKRT_E_TLS_CERTIFICATE: i32 = -24;
/// The peer ended the TCP stream without a TLS close_notify: the data may
/// have been cut short by an attacker or a crash, so it is not reported as a
/// clean end of stream.
pub const SOCKRT_E_TLS_TRUNCATED: i32 = -25;
/// After the handshake: a record that fails to decrypt or parse, or a fatal
/// alert from the peer. The connection is unusable.
pub const SOCKRT_E_TLS_PROTOCOL: i32 = -26;

/// Address family: IPv4.
pub const SOCKRT_INET: i32 = 4;
/// Address family: IPv6.
pub const SOCKRT_INET6: i32 = 6;
/// Address family: Unix domain sockets (AF_UNIX), stream or datagram. The
/// host of bind, connect and send_to is a filesystem path ("/run/app.sock",
/// relative to the working directory if it does not start with '/') or a
/// name in Linux's abstract namespace written with a leading '@' ("@app";
/// "@" alone binds to a unique name the kernel picks). The port is always 0.
/// Addresses come back in the same form (an unnamed socket as "").
pub const SOCKRT_UNIX: i32 = 1;

/// Socket type: TCP byte stream.
pub const SOCKRT_STREAM: i32 = 1;
/// Socket type: UDP datagrams.
pub const SOCKRT_DGRAM: i32 = 2;

/// sockrt_shutdown: no more receives.
pub const SOCKRT_SHUT_READ: i32 = 1;
/// sockrt_shutdown: no more sends (the peer sees end of stream).
pub const SOCKRT_SHUT_WRITE: i32 = 2;
/// sockrt_shutdown: both directions.
pub const SOCKRT_SHUT_BOTH: i32 = 3;

/// Option: how long receives and accepts wait, in ms (negative: forever, the
/// default; 0: do not wait). Bounds a whole sockrt_recv_exact.
pub const SOCKRT_OPT_READ_TIMEOUT_MS: i32 = 1;
/// Option: how long sends wait for buffer space, in ms (negative: forever,
/// the default; 0: do not wait). Bounds a whole sockrt_send_all.
pub const SOCKRT_OPT_WRITE_TIMEOUT_MS: i32 = 2;
/// Option: TCP_NODELAY, 0 or 1 (stream sockets).
pub const SOCKRT_OPT_NODELAY: i32 = 3;
/// Option: SO_KEEPALIVE, 0 or 1.
pub const SOCKRT_OPT_KEEPALIVE: i32 = 4;
/// Option: SO_REUSEADDR, 0 or 1 (set it before bind).
pub const SOCKRT_OPT_REUSEADDR: i32 = 5;
/// Option: SO_RCVBUF in bytes (the kernel may double what you set).
pub const SOCKRT_OPT_RECV_BUFFER: i32 = 6;
/// Option: SO_SNDBUF in bytes (the kernel may double what you set).
pub const SOCKRT_OPT_SEND_BUFFER: i32 = 7;
/// Option: SO_BROADCAST, 0 or 1 (datagram sockets).
pub const SOCKRT_OPT_BROADCAST: i32 = 8;
/// Option: latency mode. Before a receive or accept blocks, retry it without
/// blocking for up to this many microseconds (0 = off, the default; at most
/// 1000000). Calls stay blocking; this trades CPU for wake-up latency.
pub const SOCKRT_OPT_BUSY_POLL_US: i32 = 9;
/// Option: SO_LINGER in seconds; -1 = off (the default: close returns at
/// once and the kernel sends what is queued); 0 = close resets the
/// connection (RST) instead of ending it in order.
pub const SOCKRT_OPT_LINGER: i32 = 10;
/// Option: SO_REUSEPORT, 0 or 1 (set it before bind).
pub const SOCKRT_OPT_REUSEPORT: i32 = 11;
/// Option (read only): the pending socket error as an errno, 0 if none; reading
/// it clears it. After a connect that returned SOCKRT_E_IN_PROGRESS and a poll
/// that reported SOCKRT_POLL_OUT, 0 means connected.
pub const SOCKRT_OPT_ERROR: i32 = 12;
/// Option (read only): bytes that can be read now without blocking (FIONREAD).
pub const SOCKRT_OPT_NREAD: i32 = 13;
/// Option (write only, listening sockets): the accept backlog, as a second
/// listen(2) sets it (<= 0: the system default).
pub const SOCKRT_OPT_BACKLOG: i32 = 14;
/// Option (Unix sockets), 0 or 1, default 0 (sockrt_unix_listen turns it
/// on): sockrt_bind to a path first removes a stale socket file there, one
/// that nothing is bound to any more (a connect to it is refused). A live
/// socket's file, and any file that is not a socket, are never removed: bind
/// then fails with SOCKRT_E_ADDRESS_IN_USE as it does with the option off.
pub const SOCKRT_OPT_UNLINK_STALE: i32 = 15;

/// Data-call flag: look at the data without taking it (receives).
pub const SOCKRT_MSG_PEEK: i32 = 1;
/// Data-call flag: do not block; SOCKRT_E_WOULD_BLOCK instead of waiting.
pub const SOCKRT_MSG_DONTWAIT: i32 = 2;
/// Data-call flag: a stream receive waits for the whole buffer (it may still
/// return less at end of stream, on a signal, or when its timeout passes).
pub const SOCKRT_MSG_WAITALL: i32 = 4;

/// sockrt_poll: readable (data, a connection to accept, or end of stream).
pub const SOCKRT_POLL_IN: u32 = 1;
/// sockrt_poll: writable.
pub const SOCKRT_POLL_OUT: u32 = 2;
/// sockrt_poll (output only): an error is pending on the socket.
pub const SOCKRT_POLL_ERR: u32 = 4;
/// sockrt_poll (output only): the peer hung up.
pub const SOCKRT_POLL_HUP: u32 = 8;
/// sockrt_poll (output only): the handle was closed while the poll waited.
pub const SOCKRT_POLL_CLOSED: u32 = 16;

/// Bytes that always hold an address string and its terminating NUL.
/// (An IP address; a Unix address needs SOCKRT_UNIX_PATH_MAX.)
pub const SOCKRT_ADDR_MAX: usize = 64;

/// Bytes that always hold a Unix socket address string and its NUL: a path
/// of up to 107 bytes (sun_path is 108 and keeps a NUL), or '@' and an
/// abstract name of up to 107 bytes. Longer paths are refused with
/// SOCKRT_E_INVALID_ARGUMENT, never truncated.
pub const SOCKRT_UNIX_PATH_MAX: usize = 109;

/// The most descriptors one sockrt_send_fds call passes (Linux's SCM_MAX_FD).
pub const SOCKRT_FDS_MAX: usize = 253;

const _: () = {
    use crate::poll::ready;
    assert!(SOCKRT_POLL_IN == ready::IN);
    assert!(SOCKRT_POLL_OUT == ready::OUT);
    assert!(SOCKRT_POLL_ERR == ready::ERR);
    assert!(SOCKRT_POLL_HUP == ready::HUP);
    assert!(SOCKRT_POLL_CLOSED == ready::CLOSED);
    assert!(SOCKRT_ADDR_MAX == crate::addr::ADDR_MAX);
    assert!(SOCKRT_UNIX_PATH_MAX == crate::addr::UNIX_ADDR_MAX);
    assert!(SOCKRT_FDS_MAX == crate::sys::MAX_FDS_PER_MESSAGE);
};
