//! A blocking socket whose close wakes every call blocked on it.
//!
//! The descriptor is always non-blocking. A call first tries the operation
//! (one system call: the common case when data or buffer space is ready); only
//! on `EAGAIN` does it wait in poll(2) on the socket *and* the socket's wake
//! descriptor (an eventfd, made on the first wait). `close` marks the socket
//! closed and signals the wake descriptor, so every waiter returns
//! `ErrorKind::Closed` at once. The `Socket` is shared by `Arc`: the descriptor
//! is closed when the last in-flight call drops its reference, never under a
//! call still using it.

use crate::addr;
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Result};
use crate::sync::{AtomicBool, Mutex, MutexGuard, Ordering};
use crate::wake::{Armed, CloseSignal, ThreadEventFd};
use socket2::{Domain, SockAddr, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU8};
use std::time::{Duration, Instant};

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &SocketAddr) -> Family {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Inet => "IPv4",
            Family::Inet6 => "IPv6",
        }
    }

    fn domain(self) -> Domain {
        match self {
            Family::Inet => Domain::IPV4,
            Family::Inet6 => Domain::IPV6,
        }
    }
}

/// Stream (TCP) or datagram (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Datagram,
}

/// Which direction(s) `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownHow {
    Read,
    Write,
    Both,
}

/// Socket options, as `sockrt_set_option`/`sockrt_get_option` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOption {
    ReadTimeoutMs,
    WriteTimeoutMs,
    NoDelay,
    KeepAlive,
    ReuseAddr,
    RecvBuffer,
    SendBuffer,
    Broadcast,
    BusyPollUs,
}

const ROLE_FRESH: u8 = 0;
const ROLE_BOUND: u8 = 1;
const ROLE_LISTENING: u8 = 2;
const ROLE_CONNECTING: u8 = 3;
const ROLE_CONNECTED: u8 = 4;
// A stream connect failed: the kernel may still finish or abort it later, so
// the socket is good for nothing but close.
const ROLE_CONNECT_FAILED: u8 = 5;

/// A busy-poll budget shrinks to at most 1/2^this after repeated misses.
const SPIN_MISSES_MAX: u32 = 4;

/// The longest busy-poll window accepted (one second).
pub(crate) const BUSY_POLL_MAX_US: i64 = 1_000_000;

/// A blocking TCP or UDP socket, safe to share between threads.
pub struct Socket {
    sock: socket2::Socket,
    family: Family,
    kind: Kind,
    role: AtomicU8,
    close_signal: CloseSignal<ThreadEventFd>,
    read_timeout_ms: AtomicI64,
    write_timeout_ms: AtomicI64,
    busy_poll_us: AtomicU32,
    // send_all calls must not interleave their bytes, nor recv_exact calls.
    send_all_lock: Mutex<()>,
    recv_exact_lock: Mutex<()>,
    // Set when a call failed, EOF was seen or the stream was shut down: the
    // connection is out of step and must not be reused by a pool.
    broken: AtomicBool,
    // Consecutive busy-poll spins that caught nothing (see `spin`).
    spin_misses: AtomicU32,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("fd", &self.fileno())
            .field("family", &self.family)
            .field("kind", &self.kind)
            .field("role", &self.role.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn closed_error(op: &str) -> Error {
    Error::new(
        ErrorKind::Closed,
        format!("{op}: the handle was closed by another call"),
    )
}

fn errno_of(err: &io::Error) -> i32 {
    err.raw_os_error().unwrap_or(0)
}

fn io_result(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: initialized bytes are valid MaybeUninit bytes, and the callee
    // only ever writes initialized bytes into the slice.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

impl Socket {
    /// A new unbound, unconnected socket (`socket(2)`), close-on-exec.
    pub fn new(family: Family, kind: Kind) -> Result<Socket> {
        let ty = match kind {
            Kind::Stream => Type::STREAM,
            Kind::Datagram => Type::DGRAM,
        };
        let sock = socket2::Socket::new(family.domain(), ty.nonblocking(), None)
            .map_err(|e| Error::from_io(format!("socket {}", family.name()), &e))?;
        Ok(Socket::wrap(sock, family, kind, ROLE_FRESH))
    }

    fn wrap(sock: socket2::Socket, family: Family, kind: Kind, role: u8) -> Socket {
        Socket {
            sock,
            family,
            kind,
            role: AtomicU8::new(role),
            close_signal: CloseSignal::default(),
            read_timeout_ms: AtomicI64::new(-1),
            write_timeout_ms: AtomicI64::new(-1),
            busy_poll_us: AtomicU32::new(0),
            send_all_lock: Mutex::new(()),
            recv_exact_lock: Mutex::new(()),
            broken: AtomicBool::new(false),
            spin_misses: AtomicU32::new(0),
        }
    }

    /// Connects a new stream socket to `host`, trying each address it resolves
    /// to in turn, all within `timeout_ms` (negative: no limit).
    pub fn tcp_connect(host: &str, port: u16, timeout_ms: i64) -> Result<Socket> {
        let addrs = addr::resolve(host, port, None)?;
        let mut deadline = Deadline::new(timeout_ms);
        let mut last = None;
        for addr in addrs {
            let sock = Socket::new(Family::of(&addr), Kind::Stream)?;
            match sock.connect_addr(addr, &mut deadline) {
                Ok(()) => {
                    sock.role.store(ROLE_CONNECTED, Ordering::Release);
                    return Ok(sock);
                }
                Err(e) if e.kind() == ErrorKind::Timeout => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::new(ErrorKind::Resolve, format!("resolve {host}"))))
    }

    /// A listening stream socket on `host:port` with SO_REUSEADDR on.
    pub fn tcp_listen(host: &str, port: u16, backlog: i32) -> Result<Socket> {
        let addr = addr::resolve(host, port, None)?[0];
        let sock = Socket::new(Family::of(&addr), Kind::Stream)?;
        sock.sock
            .set_reuse_address(true)
            .map_err(|e| Error::from_io("setsockopt SO_REUSEADDR", &e))?;
        sock.bind_addr(addr)?;
        sock.listen(backlog)?;
        Ok(sock)
    }

    /// A datagram socket bound to `host:port`.
    pub fn udp_bind(host: &str, port: u16) -> Result<Socket> {
        let addr = addr::resolve(host, port, None)?[0];
        let sock = Socket::new(Family::of(&addr), Kind::Datagram)?;
        sock.bind_addr(addr)?;
        Ok(sock)
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn is_listening(&self) -> bool {
        self.role.load(Ordering::Acquire) == ROLE_LISTENING
    }

    pub fn is_closed(&self) -> bool {
        self.close_signal.is_closed()
    }

    /// Whether a call failed, EOF was seen or the stream was shut down.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Puts back the per-lease settings (timeouts, busy polling) a pooled
    /// connection starts every lease with.
    pub(crate) fn reset_lease_settings(&self) {
        self.read_timeout_ms.store(-1, Ordering::Relaxed);
        self.write_timeout_ms.store(-1, Ordering::Relaxed);
        self.busy_poll_us.store(0, Ordering::Relaxed);
    }

    /// The descriptor, for select/poll by the caller. Non-blocking; borrowed.
    pub fn fileno(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Binds to `host:port` (an address of this socket's family).
    pub fn bind(&self, host: &str, port: u16) -> Result<()> {
        self.bind_addr(addr::resolve_one(host, port, self.family)?)
    }

    fn bind_addr(&self, addr: SocketAddr) -> Result<()> {
        self.advance_role(&[ROLE_FRESH], ROLE_BOUND, "bind")?;
        self.sock.bind(&addr.into()).map_err(|e| {
            self.role.store(ROLE_FRESH, Ordering::Release);
            Error::from_io(format!("bind {addr}"), &e)
        })
    }

    /// Starts listening; `backlog <= 0` uses the system default.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        self.require_kind(Kind::Stream, "listen")?;
        let previous = self.advance_role(&[ROLE_FRESH, ROLE_BOUND], ROLE_LISTENING, "listen")?;
        let backlog = if backlog <= 0 {
            libc::SOMAXCONN
        } else {
            backlog
        };
        self.sock.listen(backlog).map_err(|e| {
            self.role.store(previous, Ordering::Release);
            Error::from_io("listen", &e)
        })
    }

    /// Waits up to the read timeout for a connection and returns it as a new
    /// connected socket; the listener keeps listening.
    pub fn accept(&self) -> Result<Socket> {
        self.require_kind(Kind::Stream, "accept")?;
        if !self.is_listening() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "accept: socket is not listening",
            ));
        }
        let mut deadline = Deadline::new(self.read_timeout_ms.load(Ordering::Relaxed));
        let fd = self.retry(libc::POLLIN, &mut deadline, "accept", true, || {
            // SAFETY: plain accept4 on our descriptor, no address wanted.
            let fd = unsafe {
                libc::accept4(
                    self.fileno(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                )
            };
            match io_result(fd as isize) {
                // A connection reset before we took it: wait for the next one.
                Err(e) if errno_of(&e) == libc::ECONNABORTED => {
                    Err(io::Error::from_raw_os_error(libc::EINTR))
                }
                other => other.map(|fd| fd as RawFd),
            }
        })?;
        // SAFETY: accept4 returned a fresh descriptor that nothing else owns.
        let sock = unsafe { socket2::Socket::from_raw_fd(fd) };
        Ok(Socket::wrap(
            sock,
            self.family,
            Kind::Stream,
            ROLE_CONNECTED,
        ))
    }

    /// Connects to `host:port`, trying each address of this socket's family
    /// within `timeout_ms`. A datagram socket just sets its default peer.
    pub fn connect(&self, host: &str, port: u16, timeout_ms: i64) -> Result<()> {
        let addrs = addr::resolve(host, port, Some(self.family))?;
        let allowed: &[u8] = match self.kind {
            Kind::Stream => &[ROLE_FRESH, ROLE_BOUND],
            Kind::Datagram => &[ROLE_FRESH, ROLE_BOUND, ROLE_CONNECTED],
        };
        let previous = self.advance_role(allowed, ROLE_CONNECTING, "connect")?;
        let mut deadline = Deadline::new(timeout_ms);
        let mut result = Err(closed_error("connect"));
        for addr in addrs {
            result = self.connect_addr(addr, &mut deadline);
            match &result {
                Ok(()) => break,
                Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Closed) => break,
                Err(_) => {}
            }
        }
        let role = match (&result, self.kind) {
            (Ok(()), _) => ROLE_CONNECTED,
            (Err(_), Kind::Stream) => ROLE_CONNECT_FAILED,
            (Err(_), Kind::Datagram) => previous,
        };
        self.role.store(role, Ordering::Release);
        result
    }

    fn connect_addr(&self, addr: SocketAddr, deadline: &mut Deadline) -> Result<()> {
        let op = format!("connect {addr}");
        match self.sock.connect(&addr.into()) {
            Ok(()) => return Ok(()),
            Err(e) if errno_of(&e) == libc::EINPROGRESS => {}
            Err(e) => return Err(Error::from_io(op, &e)),
        }
        let revents = self.wait(libc::POLLOUT, deadline, &op)?;
        if revents & (libc::POLLERR | libc::POLLHUP) == 0 {
            return Ok(());
        }
        match self.sock.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(Error::from_io(op, &e)),
        }
    }

    /// Moves the role from one of `from` to `to`, or explains why not.
    fn advance_role(&self, from: &[u8], to: u8, op: &str) -> Result<u8> {
        let mut current = self.role.load(Ordering::Acquire);
        loop {
            if !from.contains(&current) {
                let why = match current {
                    ROLE_BOUND => "socket is already bound",
                    ROLE_LISTENING => "socket is already listening",
                    ROLE_CONNECTING => "socket is connecting",
                    ROLE_CONNECTED => "socket is already connected",
                    ROLE_CONNECT_FAILED => "its connect failed; close it and make a new socket",
                    _ => "socket is in the wrong state",
                };
                return Err(Error::new(ErrorKind::InvalidState, format!("{op}: {why}")));
            }
            match self
                .role
                .compare_exchange(current, to, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(current),
                Err(now) => current = now,
            }
        }
    }

    fn require_kind(&self, kind: Kind, op: impl std::fmt::Display) -> Result<()> {
        if self.kind == kind {
            return Ok(());
        }
        let what = match kind {
            Kind::Stream => "stream (TCP) sockets",
            Kind::Datagram => "datagram (UDP) sockets",
        };
        Err(Error::new(
            ErrorKind::WrongKind,
            format!("{op}: only for {what}"),
        ))
    }

    /// Any send on an unbound datagram socket makes the kernel bind it to a
    /// free port, even one that then fails: record that, so a later bind is
    /// refused as a state error rather than failing with EINVAL.
    fn note_implicit_bind(&self) {
        if self.kind == Kind::Datagram {
            let _ = self.role.compare_exchange(
                ROLE_FRESH,
                ROLE_BOUND,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Stream data calls need a connected socket; a datagram socket may
    /// receive once bound and send once connected (the OS decides).
    fn require_data_role(&self, op: &str) -> Result<()> {
        if self.kind == Kind::Datagram {
            return Ok(());
        }
        match self.role.load(Ordering::Acquire) {
            ROLE_CONNECTED => Ok(()),
            ROLE_LISTENING => Err(Error::new(
                ErrorKind::InvalidState,
                format!("{op}: socket is listening; accept a connection and use that"),
            )),
            _ => Err(Error::new(
                ErrorKind::NotConnected,
                format!("{op}: socket is not connected"),
            )),
        }
    }

    /// Notes a failure that leaves the connection unfit for reuse.
    fn track<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.kind().breaks_stream() {
                self.broken.store(true, Ordering::Relaxed);
            }
        }
        result
    }

    /// Sends some of `buf` (at least one byte unless `buf` is empty), waiting
    /// up to the write timeout for buffer space.
    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        self.require_data_role("send")?;
        let mut deadline = Deadline::new(self.write_timeout_ms.load(Ordering::Relaxed));
        let result = self.send_some(buf, &mut deadline, "send");
        self.track(result)
    }

    fn send_some(&self, buf: &[u8], deadline: &mut Deadline, op: &str) -> Result<usize> {
        let sent = self.retry(libc::POLLOUT, deadline, op, false, || {
            // SAFETY: buf is a valid readable slice for its length.
            io_result(unsafe {
                libc::send(
                    self.fileno(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            })
        });
        self.note_implicit_bind();
        sent
    }

    /// Receives up to `buf.len()` bytes, waiting up to the read timeout.
    /// `Ok(0)` is an orderly end of stream (or an empty datagram).
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        self.recv_uninit(as_uninit(buf))
    }

    /// [`Socket::recv`] into memory that need not be initialized.
    pub fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize> {
        self.require_data_role("recv")?;
        if buf.is_empty() && self.kind == Kind::Stream {
            // Nothing fits: answer at once, as recv(2) on a blocking socket
            // would (a datagram socket still takes the next datagram).
            return Ok(0);
        }
        let mut deadline = Deadline::new(self.read_timeout_ms.load(Ordering::Relaxed));
        let result = self.recv_some(buf, &mut deadline, "recv");
        if matches!(result, Ok(0)) && !buf.is_empty() && self.kind == Kind::Stream {
            self.broken.store(true, Ordering::Relaxed);
        }
        self.track(result)
    }

    fn recv_some(
        &self,
        buf: &mut [MaybeUninit<u8>],
        deadline: &mut Deadline,
        op: &str,
    ) -> Result<usize> {
        self.retry(libc::POLLIN, deadline, op, true, || {
            // SAFETY: buf is valid writable memory for its length.
            io_result(unsafe {
                libc::recv(
                    self.fileno(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            })
        })
    }

    /// Sends all of `buf`, within the write timeout for the whole call.
    /// Concurrent `send_all` calls on one socket never interleave their bytes.
    pub fn send_all(&self, buf: &[u8]) -> Result<()> {
        self.require_data_role("send_all")?;
        let mut deadline = Deadline::new(self.write_timeout_ms.load(Ordering::Relaxed));
        let result = self.send_all_locked(buf, &mut deadline);
        self.track(result)
    }

    fn send_all_locked(&self, buf: &[u8], deadline: &mut Deadline) -> Result<()> {
        let _turn = lock_within(&self.send_all_lock, deadline, "send_all")?;
        let mut sent = 0;
        while sent < buf.len() {
            sent += self
                .send_some(&buf[sent..], deadline, "send_all")
                .map_err(|e| e.with_detail(format_args!("{sent} of {} bytes sent", buf.len())))?;
        }
        Ok(())
    }

    /// Receives exactly `buf.len()` bytes, within the read timeout for the
    /// whole call; `ErrorKind::Eof` if the peer closes first (the bytes that
    /// did arrive are consumed). Concurrent calls never interleave.
    pub fn recv_exact(&self, buf: &mut [u8]) -> Result<()> {
        self.recv_exact_uninit(as_uninit(buf))
    }

    /// [`Socket::recv_exact`] into memory that need not be initialized.
    pub fn recv_exact_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<()> {
        self.require_data_role("recv_exact")?;
        let mut deadline = Deadline::new(self.read_timeout_ms.load(Ordering::Relaxed));
        let result = self.recv_exact_locked(buf, &mut deadline);
        self.track(result)
    }

    fn recv_exact_locked(
        &self,
        buf: &mut [MaybeUninit<u8>],
        deadline: &mut Deadline,
    ) -> Result<()> {
        let _turn = lock_within(&self.recv_exact_lock, deadline, "recv_exact")?;
        let len = buf.len();
        let mut got = 0;
        while got < len {
            let n = self
                .recv_some(&mut buf[got..], deadline, "recv_exact")
                .map_err(|e| e.with_detail(format_args!("{got} of {len} bytes received")))?;
            if n == 0 {
                return Err(Error::new(
                    ErrorKind::Eof,
                    format!("recv_exact: peer closed the connection after {got} of {len} bytes"),
                ));
            }
            got += n;
        }
        Ok(())
    }

    /// One request/response exchange: `send_all(request)`, then
    /// `recv_exact(response)`, in one call (one crossing for the bindings).
    pub fn exchange_uninit(&self, request: &[u8], response: &mut [MaybeUninit<u8>]) -> Result<()> {
        self.send_all(request)?;
        self.recv_exact_uninit(response)
    }

    /// Sends one datagram to `host:port`.
    pub fn send_to(&self, buf: &[u8], host: &str, port: u16) -> Result<usize> {
        self.require_kind(Kind::Datagram, "send_to")?;
        let addr: SockAddr = addr::resolve_one(host, port, self.family)?.into();
        let mut deadline = Deadline::new(self.write_timeout_ms.load(Ordering::Relaxed));
        let op = "send_to";
        let sent = self.retry(libc::POLLOUT, &mut deadline, op, false, || {
            self.sock
                .send_to_with_flags(buf, &addr, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
        });
        self.note_implicit_bind();
        sent
    }

    /// Receives one datagram (truncated to `buf.len()`) and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        self.recv_from_uninit(as_uninit(buf))
    }

    /// [`Socket::recv_from`] into memory that need not be initialized.
    pub fn recv_from_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<(usize, SocketAddr)> {
        self.require_kind(Kind::Datagram, "recv_from")?;
        let mut deadline = Deadline::new(self.read_timeout_ms.load(Ordering::Relaxed));
        let (n, from) = self.retry(libc::POLLIN, &mut deadline, "recv_from", true, || {
            self.sock.recv_from_with_flags(buf, libc::MSG_DONTWAIT)
        })?;
        let from = from.as_socket().ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                "recv_from: sender address is not IPv4 or IPv6",
            )
        })?;
        Ok((n, from))
    }

    /// Shuts down one or both directions; blocked calls on the socket wake.
    pub fn shutdown(&self, how: ShutdownHow) -> Result<()> {
        self.require_data_role("shutdown")?;
        let how = match how {
            ShutdownHow::Read => Shutdown::Read,
            ShutdownHow::Write => Shutdown::Write,
            ShutdownHow::Both => Shutdown::Both,
        };
        self.sock
            .shutdown(how)
            .map_err(|e| Error::from_io("shutdown", &e))?;
        self.broken.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Marks the socket closed and wakes every call blocked on it. The
    /// descriptor itself closes when the last reference is dropped.
    pub fn close(&self) {
        self.close_signal.close();
    }

    pub fn set_option(&self, opt: SockOption, value: i64) -> Result<()> {
        let as_bool = || match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::invalid(format!(
                "set_option {opt:?}: value must be 0 or 1, not {value}"
            ))),
        };
        let as_size = || {
            usize::try_from(value)
                .ok()
                .filter(|&v| v > 0 && v <= i32::MAX as usize)
                .ok_or_else(|| {
                    Error::invalid(format!("set_option {opt:?}: size {value} out of range"))
                })
        };
        let op = OptionOp("set_option", opt);
        let sys = |r: io::Result<()>| r.map_err(|e| Error::from_io(op, &e));
        match opt {
            SockOption::ReadTimeoutMs => self.read_timeout_ms.store(value, Ordering::Relaxed),
            SockOption::WriteTimeoutMs => self.write_timeout_ms.store(value, Ordering::Relaxed),
            SockOption::BusyPollUs => {
                if !(0..=BUSY_POLL_MAX_US).contains(&value) {
                    return Err(Error::invalid(format!(
                        "set_option BusyPollUs: {value} is outside 0..={BUSY_POLL_MAX_US}"
                    )));
                }
                self.busy_poll_us.store(value as u32, Ordering::Relaxed)
            }
            SockOption::NoDelay => {
                self.require_kind(Kind::Stream, op)?;
                sys(self.sock.set_tcp_nodelay(as_bool()?))?
            }
            SockOption::KeepAlive => sys(self.sock.set_keepalive(as_bool()?))?,
            SockOption::ReuseAddr => sys(self.sock.set_reuse_address(as_bool()?))?,
            SockOption::Broadcast => {
                self.require_kind(Kind::Datagram, op)?;
                sys(self.sock.set_broadcast(as_bool()?))?
            }
            SockOption::RecvBuffer => sys(self.sock.set_recv_buffer_size(as_size()?))?,
            SockOption::SendBuffer => sys(self.sock.set_send_buffer_size(as_size()?))?,
        }
        Ok(())
    }

    pub fn get_option(&self, opt: SockOption) -> Result<i64> {
        let op = OptionOp("get_option", opt);
        let sys_bool = |r: io::Result<bool>| r.map(i64::from).map_err(|e| Error::from_io(op, &e));
        let sys_size =
            |r: io::Result<usize>| r.map(|v| v as i64).map_err(|e| Error::from_io(op, &e));
        match opt {
            SockOption::ReadTimeoutMs => Ok(self.read_timeout_ms.load(Ordering::Relaxed)),
            SockOption::WriteTimeoutMs => Ok(self.write_timeout_ms.load(Ordering::Relaxed)),
            SockOption::BusyPollUs => Ok(i64::from(self.busy_poll_us.load(Ordering::Relaxed))),
            SockOption::NoDelay => {
                self.require_kind(Kind::Stream, op)?;
                sys_bool(self.sock.tcp_nodelay())
            }
            SockOption::KeepAlive => sys_bool(self.sock.keepalive()),
            SockOption::ReuseAddr => sys_bool(self.sock.reuse_address()),
            SockOption::Broadcast => {
                self.require_kind(Kind::Datagram, op)?;
                sys_bool(self.sock.broadcast())
            }
            SockOption::RecvBuffer => sys_size(self.sock.recv_buffer_size()),
            SockOption::SendBuffer => sys_size(self.sock.send_buffer_size()),
        }
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        let addr = self
            .sock
            .local_addr()
            .map_err(|e| Error::from_io("local_addr", &e))?;
        addr.as_socket()
            .ok_or_else(|| Error::new(ErrorKind::Io, "local_addr: not an IP address"))
    }

    pub fn peer_addr(&self) -> Result<SocketAddr> {
        let addr = self
            .sock
            .peer_addr()
            .map_err(|e| Error::from_io("peer_addr", &e))?;
        addr.as_socket()
            .ok_or_else(|| Error::new(ErrorKind::Io, "peer_addr: not an IP address"))
    }

    /// Whether the socket is readable right now, without blocking: for an
    /// idle pooled connection that means EOF, a reset or stray bytes. One
    /// zero-timeout poll(2).
    pub fn readable_now(&self) -> bool {
        let mut fd = libc::pollfd {
            fd: self.fileno(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd, zero timeout.
            let n = unsafe { libc::poll(&mut fd, 1, 0) };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue; // a signal says nothing about the connection
            }
            return n != 0; // another error also means: do not trust it
        }
    }

    /// Tries `attempt` (a non-blocking system call); on EAGAIN waits for
    /// `events` or the deadline, then tries again. Receives (and accepts)
    /// in latency mode (`busy_poll_us`) spin before they block; see `spin`.
    ///
    /// Trying first is right even in ping-pong: on one CPU the peer usually
    /// runs as soon as our request wakes it, so the reply is often there by
    /// the time we ask, and then one system call is all it takes.
    fn retry<T>(
        &self,
        events: libc::c_short,
        deadline: &mut Deadline,
        op: &str,
        receiving: bool,
        mut attempt: impl FnMut() -> io::Result<T>,
    ) -> Result<T> {
        let busy_budget = if receiving {
            self.busy_poll_us.load(Ordering::Relaxed)
        } else {
            0
        };
        let mut spun = busy_budget == 0;
        loop {
            match attempt() {
                Ok(v) => return Ok(v),
                Err(e) => match errno_of(&e) {
                    libc::EAGAIN => {}
                    libc::EINTR => continue,
                    _ => return Err(Error::from_io(op, &e)),
                },
            }
            if !spun {
                spun = true;
                if let Some(v) = self.spin(busy_budget, &mut attempt, op)? {
                    return Ok(v);
                }
            }
            self.wait(events, deadline, op)?;
        }
    }

    /// Latency mode: retries `attempt` without sleeping for up to the busy
    /// budget. Each failed try yields the CPU, so a peer that shares this CPU
    /// can run and answer instead of being starved by the spin. The budget
    /// adapts: every spin that ends empty-handed halves the next one (down
    /// to 1/16), and a spin that catches its data restores it, so slow peers
    /// do not cost a full budget of CPU per call.
    fn spin<T>(
        &self,
        budget_us: u32,
        attempt: &mut impl FnMut() -> io::Result<T>,
        op: &str,
    ) -> Result<Option<T>> {
        let misses = self.spin_misses.load(Ordering::Relaxed);
        let budget = Duration::from_micros(u64::from(budget_us >> misses));
        let start = Instant::now();
        while start.elapsed() < budget {
            match attempt() {
                Ok(v) => {
                    if misses != 0 {
                        self.spin_misses.store(0, Ordering::Relaxed);
                    }
                    return Ok(Some(v));
                }
                Err(e) if matches!(errno_of(&e), libc::EAGAIN | libc::EINTR) => {}
                Err(e) => return Err(Error::from_io(op, &e)),
            }
            // SAFETY: sched_yield has no arguments and cannot fail on Linux.
            unsafe { libc::sched_yield() };
        }
        self.spin_misses
            .store((misses + 1).min(SPIN_MISSES_MAX), Ordering::Relaxed);
        Ok(None)
    }

    /// Blocks until the socket is ready for `events`, the deadline passes
    /// (`Timeout`) or the socket is closed (`Closed`); returns the socket's
    /// poll(2) revents.
    fn wait(
        &self,
        events: libc::c_short,
        deadline: &mut Deadline,
        op: &str,
    ) -> Result<libc::c_short> {
        let armed = self.arm(op)?;
        loop {
            let timeout = deadline
                .poll_timeout()
                .ok_or_else(|| deadline.expired(op))?;
            let mut fds = [
                libc::pollfd {
                    fd: self.fileno(),
                    events,
                    revents: 0,
                },
                libc::pollfd {
                    fd: *armed.token(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if errno_of(&err) == libc::EINTR {
                    continue;
                }
                return Err(Error::from_io(op, &err));
            }
            if fds[1].revents != 0 {
                return Err(closed_error(op));
            }
            if fds[0].revents != 0 {
                return Ok(fds[0].revents);
            }
        }
    }

    /// Registers `token` (a thread's wake eventfd) with the close signal for
    /// one wait; `Err` if the socket is closed already.
    pub(crate) fn arm_with(
        &self,
        token: std::os::fd::RawFd,
    ) -> std::result::Result<Armed<'_, ThreadEventFd>, crate::wake::Closed> {
        self.close_signal.arm(token)
    }

    /// Permission to block until `close`: `Closed` if the socket is closed
    /// already.
    fn arm(&self, op: &str) -> Result<Armed<'_, ThreadEventFd>> {
        let token =
            ThreadEventFd::current().map_err(|e| Error::from_io(format!("{op}: eventfd"), &e))?;
        self.close_signal.arm(token).map_err(|_| closed_error(op))
    }
}

/// Takes `lock`, waiting no longer than the deadline allows.
fn lock_within<'a>(
    lock: &'a Mutex<()>,
    deadline: &mut Deadline,
    op: &str,
) -> Result<MutexGuard<'a, ()>> {
    match deadline.instant() {
        None => Ok(lock.lock()),
        Some(at) => lock.try_lock_until(at).ok_or_else(|| deadline.expired(op)),
    }
}

/// "set_option NoDelay", formatted only if an error needs it.
#[derive(Clone, Copy)]
struct OptionOp(&'static str, SockOption);

impl std::fmt::Display for OptionOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.0, self.1)
    }
}
