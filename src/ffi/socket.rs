//! Sockets: the classic flow, shortcuts, data, options, addresses, poll.
//!
//! Unless a function says otherwise: it returns SOCKRT_OK or a negative
//! SOCKRT_E_* code; SOCKRT_E_BAD_HANDLE for a handle that is 0, closed, stale
//! or forged; SOCKRT_E_WRONG_KIND for a pool handle; SOCKRT_E_INVALID_ARGUMENT
//! for a NULL pointer, a bad enum value, or a NULL, empty or non-UTF-8 host.
//! A failure records its code, errno and message for sockrt_last_error*.
//! Hosts are IPv4/IPv6 literals (with or without [brackets]) or names; for
//! a SOCKRT_UNIX socket, a path or an '@' abstract name with port 0 (see
//! SOCKRT_UNIX and src/ffi/unix.rs).

use super::*;
use crate::addr::Endpoint;
use crate::poll::{self as rt, PollEntry};
use crate::registry;
use crate::socket::{Family, Kind, MsgFlags, ShutdownHow, SockOption, Socket};
use std::ffi::{c_char, c_void};

fn family_arg(family: i32) -> Result<Family> {
    match family {
        SOCKRT_INET => Ok(Family::Inet),
        SOCKRT_INET6 => Ok(Family::Inet6),
        SOCKRT_UNIX => Ok(Family::Unix),
        _ => Err(Error::invalid(format!(
            "family {family} is not SOCKRT_INET, SOCKRT_INET6 or SOCKRT_UNIX"
        ))),
    }
}

fn kind_arg(kind: i32) -> Result<Kind> {
    match kind {
        SOCKRT_STREAM => Ok(Kind::Stream),
        SOCKRT_DGRAM => Ok(Kind::Datagram),
        _ => Err(Error::invalid(format!(
            "type {kind} is not SOCKRT_STREAM or SOCKRT_DGRAM"
        ))),
    }
}

fn option_arg(opt: i32) -> Result<SockOption> {
    Ok(match opt {
        SOCKRT_OPT_READ_TIMEOUT_MS => SockOption::ReadTimeoutMs,
        SOCKRT_OPT_WRITE_TIMEOUT_MS => SockOption::WriteTimeoutMs,
        SOCKRT_OPT_NODELAY => SockOption::NoDelay,
        SOCKRT_OPT_KEEPALIVE => SockOption::KeepAlive,
        SOCKRT_OPT_REUSEADDR => SockOption::ReuseAddr,
        SOCKRT_OPT_RECV_BUFFER => SockOption::RecvBuffer,
        SOCKRT_OPT_SEND_BUFFER => SockOption::SendBuffer,
        SOCKRT_OPT_BROADCAST => SockOption::Broadcast,
        SOCKRT_OPT_BUSY_POLL_US => SockOption::BusyPollUs,
        SOCKRT_OPT_LINGER => SockOption::Linger,
        SOCKRT_OPT_REUSEPORT => SockOption::ReusePort,
        SOCKRT_OPT_ERROR => SockOption::Error,
        SOCKRT_OPT_NREAD => SockOption::ReadableBytes,
        SOCKRT_OPT_BACKLOG => SockOption::Backlog,
        SOCKRT_OPT_UNLINK_STALE => SockOption::UnlinkStale,
        _ => return Err(Error::invalid(format!("unknown option {opt}"))),
    })
}

/// Registers a new socket and writes its handle; closes it if that fails.
fn publish(socket: Socket, out: *mut sockrt_handle, op: &str) -> Result<()> {
    let handle = registry::insert_socket(socket, op)?;
    // `out` was checked before the socket was made, so this cannot fail.
    write_out(out, "out", handle)
}

/// Writes an address to the caller's optional host/port outputs.
pub(crate) fn write_addr(
    addr: Endpoint,
    host_out: *mut c_char,
    host_cap: usize,
    port_out: *mut u16,
) -> Result<()> {
    if !host_out.is_null() {
        let enough = match addr {
            Endpoint::Ip(_) => "SOCKRT_ADDR_MAX",
            Endpoint::Unix(_) => "SOCKRT_UNIX_PATH_MAX",
        };
        write_text(host_out, host_cap, &addr.host_bytes(), "host_out", enough)?;
    }
    if !port_out.is_null() {
        write_out(port_out, "port_out", addr.port())?;
    }
    Ok(())
}

// ---- the classic flow, step by step ----------------------------------------

/// Creates an unbound, unconnected socket (socket(2)): `family` is
/// SOCKRT_INET, SOCKRT_INET6 or SOCKRT_UNIX, `type` SOCKRT_STREAM (TCP, or
/// a Unix stream) or SOCKRT_DGRAM (UDP, or Unix datagrams). Writes the new handle to `*out`; the caller owns it and must
/// sockrt_close it. The descriptor is close-on-exec. Does not block.
/// Errors: SOCKRT_E_INVALID_ARGUMENT (unknown family or type, `out` NULL),
/// SOCKRT_E_ADDRESS_NOT_AVAILABLE (family not supported here),
/// SOCKRT_E_LIMIT (out of descriptors or handles).
#[no_mangle]
pub extern "C" fn sockrt_socket(family: i32, r#type: i32, out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = Socket::new(family_arg(family)?, kind_arg(r#type)?)?;
        publish(socket, out, "socket")
    })
}

/// Binds the socket to a local address; host "0.0.0.0" or "::" binds every
/// interface, port 0 picks a free port (read it with sockrt_local_addr).
/// A name is resolved (this may block in the system resolver). The host must
/// be of the socket's family. Errors: SOCKRT_E_ADDRESS_IN_USE,
/// SOCKRT_E_ADDRESS_NOT_AVAILABLE, SOCKRT_E_RESOLVE, SOCKRT_E_INVALID_STATE
/// (already bound, listening or connected).
/// A SOCKRT_UNIX socket binds to `host` = a path or "@name" (port must be
/// 0; "@" alone: the kernel picks a unique abstract name). Binding a path
/// creates its socket file; the library removes it when the handle (and
/// every sockrt_dup of it) is closed, only if the file there is still the
/// one this bind created, and only in the process that bound it (not after
/// sockrt_detach, not in a forked child). Unix errors:
/// SOCKRT_E_ADDRESS_IN_USE (a file, perhaps a stale socket file, already
/// exists at the path: remove it or set SOCKRT_OPT_UNLINK_STALE first),
/// SOCKRT_E_ADDRESS_NOT_AVAILABLE (errno ENOENT: the directory does not
/// exist), SOCKRT_E_IO with errno EACCES (no write permission on the
/// directory), SOCKRT_E_INVALID_ARGUMENT (path longer than 107 bytes, a
/// NUL in it, or a port other than 0).
#[no_mangle]
pub extern "C" fn sockrt_bind(h: sockrt_handle, host: *const c_char, port: u16) -> i32 {
    boundary(|| {
        let host = host_arg(host)?;
        registry::socket(h, "bind")?.bind(host, port)
    })
}

/// Makes a stream socket listen for connections; `backlog` <= 0 uses the
/// system default. An unbound socket gets a free port. Does not block.
/// Errors: SOCKRT_E_WRONG_KIND (datagram socket), SOCKRT_E_INVALID_STATE
/// (already listening, or connected; a Unix socket that is not bound). To change the backlog of a listening
/// socket, set SOCKRT_OPT_BACKLOG.
#[no_mangle]
pub extern "C" fn sockrt_listen(h: sockrt_handle, backlog: i32) -> i32 {
    boundary(|| registry::socket(h, "listen")?.listen(backlog))
}

/// Waits for a connection on a listening socket and writes a new handle for
/// it to `*out` (the caller owns it; the listener keeps listening). Blocks up
/// to the listener's read timeout (forever by default). Errors:
/// SOCKRT_E_TIMEOUT, SOCKRT_E_CLOSED (the listener was closed meanwhile),
/// SOCKRT_E_INVALID_STATE (not listening), SOCKRT_E_WRONG_KIND (datagram),
/// SOCKRT_E_LIMIT (out of descriptors).
#[no_mangle]
pub extern "C" fn sockrt_accept(listener: sockrt_handle, out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = registry::socket(listener, "accept")?.accept()?;
        publish(socket, out, "accept")
    })
}

/// Connects the socket to `host:port`, trying each address of the socket's
/// family that the host resolves to, all within `timeout_ms` (negative: no
/// limit; 0: fail at once unless the connection completes immediately).
/// Blocks. On a datagram socket, sets the default peer for send/recv.
/// Errors: SOCKRT_E_CONNECTION_REFUSED, SOCKRT_E_TIMEOUT,
/// SOCKRT_E_UNREACHABLE, SOCKRT_E_RESOLVE, SOCKRT_E_ADDRESS_NOT_AVAILABLE
/// (no local address or family support for that peer), SOCKRT_E_CLOSED
/// (closed meanwhile), SOCKRT_E_INVALID_STATE (listening, already connected,
/// or an earlier connect of this socket failed).
/// After a failed connect, close the socket and make a new one.
/// A SOCKRT_UNIX socket connects to `host` = a path or "@name", port 0; it
/// completes at once, or waits (up to `timeout_ms`) only while the
/// listener's backlog is full. Unix errors: SOCKRT_E_CONNECTION_REFUSED
/// (nothing listens there: errno ECONNREFUSED, or ENOENT when no file
/// exists at the path), SOCKRT_E_IO with errno EACCES (no permission on
/// the socket file or its directory), SOCKRT_E_TIMEOUT (backlog full),
/// SOCKRT_E_INVALID_ARGUMENT (path too long, port not 0, "@" alone).
#[no_mangle]
pub extern "C" fn sockrt_connect(
    h: sockrt_handle,
    host: *const c_char,
    port: u16,
    timeout_ms: i32,
) -> i32 {
    boundary(|| {
        let host = host_arg(host)?;
        registry::socket(h, "connect")?.connect(host, port, i64::from(timeout_ms))
    })
}

/// Writes a datagram's sender to the optional outputs, formatting the
/// address only if one is wanted.
fn write_sender(
    socket: &Socket,
    from: &socket2::SockAddr,
    host_out: *mut c_char,
    host_cap: usize,
    port_out: *mut u16,
) -> Result<()> {
    if host_out.is_null() && port_out.is_null() {
        return Ok(());
    }
    // An unbound Unix sender has no address at all (length 0).
    if socket.family() == Family::Unix && from.len() == 0 {
        let unnamed = Endpoint::Unix(crate::addr::UnixAddr::Unnamed);
        return write_addr(unnamed, host_out, host_cap, port_out);
    }
    let addr = Endpoint::from_sockaddr(from).ok_or_else(|| {
        Error::new(
            crate::error::ErrorKind::Io,
            "recv_from: sender address of an unknown family",
        )
    })?;
    write_addr(addr, host_out, host_cap, port_out)
}

/// A sender's host buffer must hold any address of the socket's family, so
/// that a bad argument is found before a datagram is taken and lost.
fn check_host_cap(socket: &Socket, host_out: *mut c_char, host_cap: usize, op: &str) -> Result<()> {
    let needed = match socket.family() {
        Family::Inet => 16,
        Family::Inet6 => SOCKRT_ADDR_MAX,
        Family::Unix => SOCKRT_UNIX_PATH_MAX,
    };
    if !host_out.is_null() && host_cap < needed {
        return Err(Error::invalid(format!(
            "{op}: host_cap {host_cap} is below {needed} bytes"
        )));
    }
    Ok(())
}

fn flags_arg(flags: i32, allowed: i32, op: &str) -> Result<MsgFlags> {
    if flags & !allowed != 0 {
        return Err(Error::invalid(format!(
            "{op}: unsupported flags {flags:#x}"
        )));
    }
    Ok(MsgFlags {
        peek: flags & SOCKRT_MSG_PEEK != 0,
        dont_wait: flags & SOCKRT_MSG_DONTWAIT != 0,
        wait_all: flags & SOCKRT_MSG_WAITALL != 0,
    })
}

const RECV_FLAGS: i32 = SOCKRT_MSG_PEEK | SOCKRT_MSG_DONTWAIT | SOCKRT_MSG_WAITALL;

// ---- one-call shortcuts ---------------------------------------------------

/// Resolves `host` and connects a new TCP socket to `port`, trying each
/// address in turn, all within `timeout_ms` (negative: no limit). Blocks.
/// Writes the new handle to `*out` (the caller owns it). Errors: as
/// sockrt_connect.
#[no_mangle]
pub extern "C" fn sockrt_tcp_connect(
    host: *const c_char,
    port: u16,
    timeout_ms: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = Socket::tcp_connect(host_arg(host)?, port, i64::from(timeout_ms))?;
        publish(socket, out, "tcp_connect")
    })
}

/// Creates a TCP socket listening on `host:port` (SO_REUSEADDR on; port 0
/// picks a free port; `backlog` <= 0 uses the system default) and writes its
/// handle to `*out`. Does not block. Errors: as sockrt_bind.
#[no_mangle]
pub extern "C" fn sockrt_tcp_listen(
    host: *const c_char,
    port: u16,
    backlog: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = Socket::tcp_listen(host_arg(host)?, port, backlog)?;
        publish(socket, out, "tcp_listen")
    })
}

/// Creates a UDP socket bound to `host:port` (port 0 picks a free port) and
/// writes its handle to `*out`. Does not block. Errors: as sockrt_bind.
#[no_mangle]
pub extern "C" fn sockrt_udp_bind(host: *const c_char, port: u16, out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = Socket::udp_bind(host_arg(host)?, port)?;
        publish(socket, out, "udp_bind")
    })
}

// ---- data -------------------------------------------------------------------

/// Sends some of `buf` (`len` bytes; NULL only if `len` is 0) on a connected
/// socket and returns how many bytes were sent (at least 1 unless `len` is
/// 0). Blocks until buffer space frees up, up to the write timeout. Never
/// raises SIGPIPE. Errors (negative): SOCKRT_E_CONNECTION_RESET,
/// SOCKRT_E_TIMEOUT, SOCKRT_E_CLOSED, SOCKRT_E_NOT_CONNECTED,
/// SOCKRT_E_INVALID_STATE (a listener), SOCKRT_E_INVALID_ARGUMENT (`len`
/// larger than INT64_MAX).
#[no_mangle]
pub extern "C" fn sockrt_send(h: sockrt_handle, buf: *const c_void, len: usize) -> i64 {
    boundary(|| {
        let buf = in_buf(buf, len)?;
        registry::stream(h, "send")?.send(buf)
    })
}

/// Receives up to `cap` bytes into `buf` and returns how many arrived;
/// 0 means the peer closed the stream in order (or an empty datagram; a
/// stream recv with `cap` 0 returns 0 at once).
/// Blocks until data arrives, up to the read timeout. Errors (negative):
/// SOCKRT_E_TIMEOUT, SOCKRT_E_CLOSED, SOCKRT_E_CONNECTION_RESET,
/// SOCKRT_E_NOT_CONNECTED, SOCKRT_E_INVALID_STATE (a listener: accept
/// instead), SOCKRT_E_WRONG_KIND (a pool handle).
#[no_mangle]
pub extern "C" fn sockrt_recv(h: sockrt_handle, buf: *mut c_void, cap: usize) -> i64 {
    boundary(|| {
        let buf = out_buf(buf, cap)?;
        registry::stream(h, "recv")?.recv_uninit(buf)
    })
}

/// Sends all `len` bytes of `buf`, blocking as needed; the write timeout
/// bounds the whole call. Concurrent sockrt_send_all calls on one handle
/// never interleave their bytes. On failure some bytes may have been sent
/// (the message says how many) and the stream should be closed. Errors: as
/// sockrt_send.
#[no_mangle]
pub extern "C" fn sockrt_send_all(h: sockrt_handle, buf: *const c_void, len: usize) -> i32 {
    boundary(|| {
        let buf = in_buf(buf, len)?;
        registry::stream(h, "send_all")?.send_all(buf)
    })
}

/// Receives exactly `len` bytes into `buf`, blocking as needed; the read
/// timeout bounds the whole call. Concurrent calls on one handle never
/// interleave. Errors: SOCKRT_E_EOF (the peer closed first; the bytes that
/// did arrive are consumed and lost), and those of sockrt_recv. After a
/// failure the contents of `buf` are unspecified.
#[no_mangle]
pub extern "C" fn sockrt_recv_exact(h: sockrt_handle, buf: *mut c_void, len: usize) -> i32 {
    boundary(|| {
        let buf = out_buf(buf, len)?;
        registry::stream(h, "recv_exact")?.recv_exact_uninit(buf)
    })
}

/// One request/response exchange in a single call: sends all `req_len` bytes
/// of `req` (as sockrt_send_all), then receives exactly `resp_len` bytes into
/// `resp` (as sockrt_recv_exact). The write timeout bounds the send, the read
/// timeout the receive. Made for fixed-size replies, it saves a binding one
/// crossing of its foreign-function boundary per round trip. Errors: those of
/// sockrt_send_all and sockrt_recv_exact. `req` and `resp` may overlap
/// (even be the same buffer): the request is sent before any byte of the
/// response is written.
#[no_mangle]
pub extern "C" fn sockrt_exchange(
    h: sockrt_handle,
    req: *const c_void,
    req_len: usize,
    resp: *mut c_void,
    resp_len: usize,
) -> i32 {
    boundary(|| {
        // The two buffers may be the same memory: check both first, then
        // touch each only in its own phase, so no two views of it coexist.
        check_buf(req.is_null(), req_len, "req")?;
        check_buf(resp.is_null(), resp_len, "resp")?;
        let stream = registry::stream(h, "exchange")?;
        stream.send_all(in_buf(req, req_len)?)?;
        stream.recv_exact_uninit(out_buf(resp, resp_len)?)
    })
}

/// Sends one datagram of `len` bytes to `host:port` from a UDP socket (or
/// a Unix datagram socket: `host` a path or "@name", port 0) and returns
/// `len`. Blocks only while the send buffer is full (write timeout).
/// Errors (negative): SOCKRT_E_WRONG_KIND (a stream socket), SOCKRT_E_RESOLVE,
/// SOCKRT_E_UNREACHABLE, SOCKRT_E_IO (e.g. EMSGSIZE: datagram too large).
#[no_mangle]
pub extern "C" fn sockrt_send_to(
    h: sockrt_handle,
    buf: *const c_void,
    len: usize,
    host: *const c_char,
    port: u16,
) -> i64 {
    boundary(|| {
        let buf = in_buf(buf, len)?;
        let host = host_arg(host)?;
        registry::socket(h, "send_to")?.send_to(buf, host, port)
    })
}

/// Receives one datagram on a UDP socket into `buf` (a datagram longer than
/// `cap` is truncated, as in recvfrom(2)) and returns its length. Blocks up
/// to the read timeout. The sender's address goes to `host_out` (`host_cap`
/// bytes, at least SOCKRT_ADDR_MAX for IPv6, 16 for IPv4,
/// SOCKRT_UNIX_PATH_MAX for Unix: a path, "@name", or "" for an unbound
/// sender) and `port_out` (0 for Unix);
/// either may be NULL. Buffers are checked before anything is received, so a
/// bad argument loses no datagram. Errors (negative): SOCKRT_E_TIMEOUT,
/// SOCKRT_E_CLOSED, SOCKRT_E_WRONG_KIND (a stream socket).
#[no_mangle]
pub extern "C" fn sockrt_recv_from(
    h: sockrt_handle,
    buf: *mut c_void,
    cap: usize,
    host_out: *mut c_char,
    host_cap: usize,
    port_out: *mut u16,
) -> i64 {
    boundary(|| {
        let buf = out_buf(buf, cap)?;
        let socket = registry::socket(h, "recv_from")?;
        check_host_cap(&socket, host_out, host_cap, "recv_from")?;
        let (n, from) = socket.recv_from_flags(buf, MsgFlags::default())?;
        write_sender(&socket, &from, host_out, host_cap, port_out)?;
        Ok(n)
    })
}

/// Shuts down receiving (SOCKRT_SHUT_READ), sending (SOCKRT_SHUT_WRITE: the
/// peer sees end of stream) or both (SOCKRT_SHUT_BOTH) on a connected
/// socket; calls blocked on it wake up. The handle stays open: close it
/// later. Does not block. Errors: SOCKRT_E_NOT_CONNECTED,
/// SOCKRT_E_INVALID_STATE (a listener: close it instead),
/// SOCKRT_E_INVALID_ARGUMENT (bad `how`).
#[no_mangle]
pub extern "C" fn sockrt_shutdown(h: sockrt_handle, how: i32) -> i32 {
    boundary(|| {
        let how = match how {
            SOCKRT_SHUT_READ => ShutdownHow::Read,
            SOCKRT_SHUT_WRITE => ShutdownHow::Write,
            SOCKRT_SHUT_BOTH => ShutdownHow::Both,
            _ => return Err(Error::invalid(format!("shutdown: bad how {how}"))),
        };
        registry::stream(h, "shutdown")?.shutdown(how)
    })
}

// ---- options, addresses, readiness -----------------------------------------

/// Sets a SOCKRT_OPT_* option. Timeouts take milliseconds (negative: wait
/// forever, 0: do not wait); flags take 0 or 1; buffer sizes take bytes
/// (1..INT32_MAX). Does not block. Errors: SOCKRT_E_INVALID_ARGUMENT
/// (unknown option or value out of range), SOCKRT_E_WRONG_KIND (NODELAY on
/// a datagram socket, BROADCAST on a stream socket).
#[no_mangle]
pub extern "C" fn sockrt_set_option(h: sockrt_handle, opt: i32, value: i64) -> i32 {
    boundary(|| {
        let opt = option_arg(opt)?;
        registry::stream(h, "set_option")?
            .socket()
            .set_option(opt, value)
    })
}

/// Reads a SOCKRT_OPT_* option into `*value`. Does not block. Errors: as
/// sockrt_set_option, and SOCKRT_E_INVALID_ARGUMENT for a NULL `value`.
#[no_mangle]
pub extern "C" fn sockrt_get_option(h: sockrt_handle, opt: i32, value: *mut i64) -> i32 {
    boundary(|| {
        require_out(value, "value")?;
        let opt = option_arg(opt)?;
        let v = registry::stream(h, "get_option")?
            .socket()
            .get_option(opt)?;
        write_out(value, "value", v)
    })
}

/// Writes the socket's local address: host text to `host_out` (`host_cap`
/// bytes; SOCKRT_ADDR_MAX always suffices for IP, SOCKRT_UNIX_PATH_MAX for
/// Unix) and port to `*port_out`; either may be NULL. A Unix address is
/// its path, "@name", or "" if unnamed (unbound, a socketpair end), with
/// port 0. Errors: SOCKRT_E_INVALID_ARGUMENT (`host_cap` too small:
/// nothing is truncated; or an abstract name, bound by another program,
/// that contains a NUL byte and so has no C string form).
#[no_mangle]
pub extern "C" fn sockrt_local_addr(
    h: sockrt_handle,
    host_out: *mut c_char,
    host_cap: usize,
    port_out: *mut u16,
) -> i32 {
    boundary(|| {
        let addr = registry::stream(h, "local_addr")?
            .socket()
            .local_endpoint()?;
        write_addr(addr, host_out, host_cap, port_out)
    })
}

/// Writes the connected peer's address, as sockrt_local_addr does.
/// Errors: SOCKRT_E_NOT_CONNECTED, and those of sockrt_local_addr.
#[no_mangle]
pub extern "C" fn sockrt_peer_addr(
    h: sockrt_handle,
    host_out: *mut c_char,
    host_cap: usize,
    port_out: *mut u16,
) -> i32 {
    boundary(|| {
        let addr = registry::stream(h, "peer_addr")?.socket().peer_endpoint()?;
        write_addr(addr, host_out, host_cap, port_out)
    })
}

/// Returns the socket's descriptor (>= 0) for use with select/poll/epoll.
/// It is borrowed: valid until the handle is closed; never close it, and
/// never read or write it directly. It is in blocking mode: a poll(2) on it
/// wakes when the handle is closed (the library shuts the socket down).
/// Errors (negative): as any handle lookup.
#[no_mangle]
pub extern "C" fn sockrt_fileno(h: sockrt_handle) -> i32 {
    boundary::<Count>(|| Ok(registry::stream(h, "fileno")?.socket().fileno())).0
}

/// Waits until at least one of `n` sockets is ready, or `timeout_ms` passes
/// (negative: no limit; 0: just check). On entry `events[i]` holds what is
/// wanted for `handles[i]` (SOCKRT_POLL_IN and/or SOCKRT_POLL_OUT); on return
/// it holds what is ready, plus SOCKRT_POLL_ERR, SOCKRT_POLL_HUP, or
/// SOCKRT_POLL_CLOSED if the handle was closed by another thread during the
/// wait (which ends it). Returns how many entries are ready, 0 on timeout.
/// Errors (negative; `events` untouched): SOCKRT_E_INVALID_ARGUMENT (NULL
/// arrays with `n` > 0, `n` above 65536), SOCKRT_E_BAD_HANDLE,
/// SOCKRT_E_WRONG_KIND.
#[no_mangle]
pub extern "C" fn sockrt_poll(
    handles: *const sockrt_handle,
    events: *mut u32,
    n: usize,
    timeout_ms: i32,
) -> i32 {
    boundary::<Count>(|| {
        if n > 65536 {
            return Err(Error::invalid(format!(
                "poll: {n} handles is more than 65536"
            )));
        }
        if n > 0 && (handles.is_null() || events.is_null()) {
            return Err(Error::invalid("poll: handles or events is NULL"));
        }
        let (handles, events) = if n == 0 {
            (&[][..], &mut [][..])
        } else {
            // SAFETY: both non-NULL and hold n entries (header contract).
            unsafe {
                (
                    std::slice::from_raw_parts(handles, n),
                    std::slice::from_raw_parts_mut(events, n),
                )
            }
        };
        let streams = handles
            .iter()
            .map(|&h| registry::stream(h, "poll"))
            .collect::<Result<Vec<_>>>()?;
        // A TLS stream may hold decrypted input its socket no longer shows.
        let buffered: Vec<bool> = streams
            .iter()
            .zip(events.iter())
            .map(|(s, &wanted)| wanted & SOCKRT_POLL_IN != 0 && s.has_buffered_input())
            .collect();
        let timeout_ms = if buffered.contains(&true) {
            0
        } else {
            timeout_ms
        };
        let mut entries: Vec<PollEntry> = streams
            .iter()
            .zip(events.iter())
            .map(|(stream, &wanted)| PollEntry {
                socket: stream.socket(),
                wanted,
                ready: 0,
            })
            .collect();
        rt::poll(&mut entries, i64::from(timeout_ms))?;
        let mut ready = 0;
        for ((event, entry), buffered) in events.iter_mut().zip(&entries).zip(buffered) {
            *event = entry.ready | if buffered { SOCKRT_POLL_IN } else { 0 };
            ready += i32::from(*event != 0);
        }
        Ok(ready)
    })
    .0
}

// ---- data calls with flags ---------------------------------------------------

/// sockrt_recv with `flags`: SOCKRT_MSG_PEEK (the bytes stay queued for the
/// next receive), SOCKRT_MSG_DONTWAIT (SOCKRT_E_WOULD_BLOCK instead of
/// waiting), SOCKRT_MSG_WAITALL (a stream receive waits for all `cap` bytes,
/// or end of stream, a signal or the read timeout). Errors: those of
/// sockrt_recv, SOCKRT_E_WOULD_BLOCK, SOCKRT_E_INVALID_ARGUMENT (other flags).
#[no_mangle]
pub extern "C" fn sockrt_recv_flags(
    h: sockrt_handle,
    buf: *mut c_void,
    cap: usize,
    flags: i32,
) -> i64 {
    boundary(|| {
        let flags = flags_arg(flags, RECV_FLAGS, "recv")?;
        let buf = out_buf(buf, cap)?;
        registry::socket(h, "recv")?.recv_flags(buf, flags)
    })
}

/// sockrt_send with `flags`: SOCKRT_MSG_DONTWAIT (send what fits now, or
/// SOCKRT_E_WOULD_BLOCK if nothing does). Errors: those of sockrt_send,
/// SOCKRT_E_WOULD_BLOCK, SOCKRT_E_INVALID_ARGUMENT (other flags).
#[no_mangle]
pub extern "C" fn sockrt_send_flags(
    h: sockrt_handle,
    buf: *const c_void,
    len: usize,
    flags: i32,
) -> i64 {
    boundary(|| {
        let flags = flags_arg(flags, SOCKRT_MSG_DONTWAIT, "send")?;
        let buf = in_buf(buf, len)?;
        registry::socket(h, "send")?.send_flags(buf, flags)
    })
}

/// sockrt_recv_from with `flags` (SOCKRT_MSG_PEEK, SOCKRT_MSG_DONTWAIT).
/// The sender's address is formatted only if `host_out` or `port_out` is
/// given. Errors: those of sockrt_recv_from, SOCKRT_E_WOULD_BLOCK.
#[no_mangle]
pub extern "C" fn sockrt_recv_from_flags(
    h: sockrt_handle,
    buf: *mut c_void,
    cap: usize,
    flags: i32,
    host_out: *mut c_char,
    host_cap: usize,
    port_out: *mut u16,
) -> i64 {
    boundary(|| {
        let flags = flags_arg(flags, SOCKRT_MSG_PEEK | SOCKRT_MSG_DONTWAIT, "recv_from")?;
        let buf = out_buf(buf, cap)?;
        let socket = registry::socket(h, "recv_from")?;
        check_host_cap(&socket, host_out, host_cap, "recv_from")?;
        let (n, from) = socket.recv_from_flags(buf, flags)?;
        write_sender(&socket, &from, host_out, host_cap, port_out)?;
        Ok(n)
    })
}

/// sockrt_send_to with `flags` (SOCKRT_MSG_DONTWAIT). Errors: those of
/// sockrt_send_to, SOCKRT_E_WOULD_BLOCK.
#[no_mangle]
pub extern "C" fn sockrt_send_to_flags(
    h: sockrt_handle,
    buf: *const c_void,
    len: usize,
    flags: i32,
    host: *const c_char,
    port: u16,
) -> i64 {
    boundary(|| {
        let flags = flags_arg(flags, SOCKRT_MSG_DONTWAIT, "send_to")?;
        let buf = in_buf(buf, len)?;
        let host = host_arg(host)?;
        registry::socket(h, "send_to")?.send_to_flags(buf, host, port, flags)
    })
}

// ---- descriptors -------------------------------------------------------------

/// Takes ownership of an open socket descriptor `fd` (TCP or UDP, IPv4 or
/// IPv6, or a Unix stream or datagram socket; fresh, bound, listening or
/// connected: a descriptor from sockrt_recv_fds, say) and writes a new handle for
/// it to `*out`; closing the handle closes the descriptor. The descriptor is
/// made blocking. Does not block. On error `fd` is left open and untouched.
/// Errors: SOCKRT_E_INVALID_ARGUMENT (`out` NULL, `fd` negative),
/// SOCKRT_E_IO (not a socket: errno ENOTSOCK or EBADF), SOCKRT_E_WRONG_KIND
/// (another family or type), SOCKRT_E_LIMIT (handle table full).
#[no_mangle]
pub extern "C" fn sockrt_adopt_fd(fd: i32, out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        if fd < 0 {
            return Err(Error::invalid(format!(
                "adopt_fd: descriptor {fd} is negative"
            )));
        }
        let socket = std::sync::Arc::new(Socket::adopt_fd(fd)?);
        match registry::insert(registry::Object::Socket(socket.clone()), "adopt_fd") {
            Ok(handle) => write_out(out, "out", handle),
            Err(e) => {
                // The descriptor goes back to the caller as it came.
                let _ = socket.detach();
                Err(e)
            }
        }
    })
}

/// Ends the handle `h` without closing or shutting down its descriptor, and
/// writes the descriptor (the number sockrt_fileno gave) to `*fd_out`: the
/// caller now owns it and must close(2) it. The handle is invalid afterwards
/// (SOCKRT_E_BAD_HANDLE). Does not block. Errors: SOCKRT_E_INVALID_ARGUMENT
/// (`fd_out` NULL), SOCKRT_E_WRONG_KIND (a pool or a pooled connection).
#[no_mangle]
pub extern "C" fn sockrt_detach(h: sockrt_handle, fd_out: *mut i32) -> i32 {
    boundary(|| {
        require_out(fd_out, "fd_out")?;
        let fd = registry::detach(h)?;
        write_out(fd_out, "fd_out", fd)
    })
}

/// Writes to `*out` a new handle on a duplicate of `h`'s descriptor
/// (close-on-exec), in the same state; the caller owns it. Closing either
/// handle leaves the other usable: the connection is shut down only when the
/// last of them closes. One limit follows: closing one of several dups does
/// not wake a call blocked on it (that would take shutdown(2), which would
/// cut the others too); such a call ends when data, an error or a timeout
/// comes. Does not block. Errors: SOCKRT_E_INVALID_ARGUMENT
/// (`out` NULL), SOCKRT_E_LIMIT (out of descriptors or handles).
#[no_mangle]
pub extern "C" fn sockrt_dup(h: sockrt_handle, out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = registry::socket(h, "dup")?.dup()?;
        publish(socket, out, "dup")
    })
}

/// Raw setsockopt(2): `level` and `name` are the operating system's numbers
/// (SOL_SOCKET, SO_LINGER, IPPROTO_TCP, TCP_KEEPIDLE, ...), `val` holds `len`
/// bytes. Does not block. Errors: SOCKRT_E_INVALID_ARGUMENT (`val` NULL with
/// `len` > 0, `len` too large), SOCKRT_E_IO (the kernel refused: see errno).
#[no_mangle]
pub extern "C" fn sockrt_setsockopt(
    h: sockrt_handle,
    level: i32,
    name: i32,
    val: *const c_void,
    len: usize,
) -> i32 {
    boundary(|| {
        if len > u32::MAX as usize {
            return Err(Error::invalid(format!(
                "setsockopt: length {len} is too large"
            )));
        }
        let val = in_buf(val, len)?;
        registry::stream(h, "setsockopt")?
            .socket()
            .set_raw_option(level, name, val)
    })
}

/// Raw getsockopt(2): on entry `*len` is the capacity of `val`, on return the
/// length of the value written. Reading SOL_SOCKET/SO_ERROR after a
/// background connect (SOCKRT_E_IN_PROGRESS) finishes it, as with
/// SOCKRT_OPT_ERROR. Does not block. Errors: SOCKRT_E_INVALID_ARGUMENT (`len`
/// NULL, `val` NULL with `*len` > 0), SOCKRT_E_IO (see errno).
#[no_mangle]
pub extern "C" fn sockrt_getsockopt(
    h: sockrt_handle,
    level: i32,
    name: i32,
    val: *mut c_void,
    len: *mut usize,
) -> i32 {
    boundary(|| {
        require_out(len, "len")?;
        // SAFETY: non-NULL (checked) and valid (header contract).
        let cap = unsafe { *len }.min(u32::MAX as usize);
        let buf = out_buf(val, cap)?;
        // SAFETY: MaybeUninit<u8> and u8 share layout; zero it first so the
        // kernel's partial write leaves nothing uninitialized in view.
        let bytes: &mut [u8] = unsafe {
            std::ptr::write_bytes(buf.as_mut_ptr(), 0, buf.len());
            &mut *(buf as *mut [std::mem::MaybeUninit<u8>] as *mut [u8])
        };
        let n = registry::stream(h, "getsockopt")?
            .socket()
            .get_raw_option(level, name, bytes)?;
        write_out(len, "len", n)
    })
}

/// Dissolves a datagram socket's default peer (set by sockrt_connect): it can
/// again send to and receive from anyone. Does not block. Errors:
/// SOCKRT_E_WRONG_KIND (a stream socket).
#[no_mangle]
pub extern "C" fn sockrt_disconnect(h: sockrt_handle) -> i32 {
    boundary(|| registry::socket(h, "disconnect")?.disconnect())
}
