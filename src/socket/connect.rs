//! The classic flow: bind, listen, accept, connect, and the one-call shortcuts.

use super::engine::{Dir, Try};
use super::{Role, Socket};
use crate::addr::{self, Family, Kind};
use crate::deadline::{Deadline, Mode};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::Ordering;
use crate::sys::{self, errno_of};
use std::io;
use std::net::SocketAddr;
use std::os::fd::FromRawFd;

impl Socket {
    /// Connects a new stream socket to `host`, trying each address it resolves
    /// to in turn, all within `timeout_ms` (negative: no limit).
    pub fn tcp_connect(host: &str, port: u16, timeout_ms: i64) -> Result<Socket> {
        let addrs = addr::resolve(host, port, None)?;
        let mut deadline = Deadline::new(timeout_ms);
        let mut last = None;
        for addr in addrs {
            let sock = Socket::new(Family::of(&addr), Kind::Stream)?;
            match sock.connect_stream(addr, &mut deadline) {
                Ok(()) => {
                    sock.role.set(Role::Connected);
                    return Ok(sock);
                }
                // No background connect here: the socket would be lost.
                Err(e) if e.kind() == ErrorKind::InProgress => {
                    return Err(deadline.expired(&format!("connect {addr}")))
                }
                Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Interrupted) => {
                    return Err(e)
                }
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

    /// Binds to `host:port` (an address of this socket's family; for a Unix
    /// socket a path or `@name`, port 0).
    pub fn bind(&self, host: &str, port: u16) -> Result<()> {
        if self.family == Family::Unix {
            return self.bind_unix(addr::unix_endpoint(host, port, "bind")?);
        }
        self.bind_addr(addr::resolve_one(host, port, self.family)?)
    }

    fn bind_addr(&self, addr: SocketAddr) -> Result<()> {
        self.role.advance(&[Role::Fresh], Role::Bound, "bind")?;
        self.sock.bind(&addr.into()).map_err(|e| {
            self.role.set(Role::Fresh);
            Error::from_io(format!("bind {addr}"), &e)
        })
    }

    /// Starts listening; `backlog <= 0` uses the system default.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        self.require_kind(Kind::Stream, "listen")?;
        if self.family == Family::Unix && self.role.get() == Role::Fresh {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "listen: a Unix socket must be bound to a path or @name first",
            ));
        }
        let previous = self
            .role
            .advance(&[Role::Fresh, Role::Bound], Role::Listening, "listen")?;
        self.listen_backlog(backlog)
            .inspect_err(|_| self.role.set(previous))
    }

    /// listen(2) again on a listening socket: changes its backlog.
    pub fn set_backlog(&self, backlog: i32) -> Result<()> {
        if !self.is_listening() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "set_option Backlog: socket is not listening",
            ));
        }
        self.listen_backlog(backlog)
    }

    fn listen_backlog(&self, backlog: i32) -> Result<()> {
        let backlog = if backlog <= 0 {
            libc::SOMAXCONN
        } else {
            backlog
        };
        self.sock
            .listen(backlog)
            .map_err(|e| Error::from_io("listen", &e))
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
        let fd = self.run(Dir::Read, &mut deadline, "accept", |how| {
            if how == Try::DontWait {
                // accept4 has no MSG_DONTWAIT: look first, and let a kernel
                // timeout bound the race with another thread's accept.
                self.bound_kernel_wait()?;
                if sys::poll_one(self.fileno(), libc::POLLIN, 0)? & libc::POLLIN == 0 {
                    return Err(io::Error::from_raw_os_error(libc::EAGAIN));
                }
            }
            match sys::accept(self.fileno()) {
                // A connection reset before we took it: wait for the next one.
                Err(e) if errno_of(&e) == libc::ECONNABORTED => {
                    Err(io::Error::from_raw_os_error(libc::EAGAIN))
                }
                other => other,
            }
        })?;
        // SAFETY: accept4 returned a fresh descriptor that nothing else owns.
        let sock = unsafe { socket2::Socket::from_raw_fd(fd) };
        Ok(Socket::wrap(
            sock,
            self.family,
            Kind::Stream,
            Role::Connected,
        ))
    }

    /// A try that must not block but makes a blocking system call (accept
    /// after poll) waits at most a moment, never forever.
    fn bound_kernel_wait(&self) -> io::Result<()> {
        if self.kernel_rcvtimeo_us.load(Ordering::Relaxed) < 0 {
            self.sync_kernel_timeout(Dir::Read, Some(1), "accept")
                .map_err(|e| io::Error::from_raw_os_error(e.os_error().max(libc::EIO)))?;
        }
        Ok(())
    }

    /// Connects to `host:port`, trying each address of this socket's family
    /// within `timeout_ms`. A datagram socket just sets its default peer.
    /// A stream connect with timeout 0 that cannot finish at once is
    /// `InProgress`: it goes on in the background (readiness for writing and
    /// `SockOption::Error` tell how it ended).
    pub fn connect(&self, host: &str, port: u16, timeout_ms: i64) -> Result<()> {
        if self.family == Family::Unix {
            let addr = addr::unix_endpoint(host, port, "connect")?;
            return self.connect_unix(&addr, timeout_ms);
        }
        let addrs = addr::resolve(host, port, Some(self.family))?;
        let allowed: &[Role] = match self.kind {
            Kind::Stream => &[Role::Fresh, Role::Bound],
            Kind::Datagram => &[Role::Fresh, Role::Bound, Role::Connected],
        };
        let previous = self.role.advance(allowed, Role::Connecting, "connect")?;
        let result = match self.kind {
            Kind::Stream => self.connect_any(&addrs, timeout_ms),
            Kind::Datagram => self
                .sock
                .connect(&addrs[0].into())
                .map_err(|e| Error::from_io(format!("connect {}", addrs[0]), &e)),
        };
        let role = match (&result, self.kind) {
            (Ok(()), _) => Role::Connected,
            (Err(e), Kind::Stream) if e.kind() == ErrorKind::InProgress => {
                Role::ConnectingInBackground
            }
            (Err(_), Kind::Stream) => Role::ConnectFailed,
            (Err(_), Kind::Datagram) => previous,
        };
        self.role.set(role);
        result
    }

    fn connect_any(&self, addrs: &[SocketAddr], timeout_ms: i64) -> Result<()> {
        self.check_open("connect")?;
        let mut deadline = Deadline::new(timeout_ms);
        let mut result = Err(Error::new(ErrorKind::Resolve, "connect: no address"));
        for &addr in addrs {
            result = self.connect_stream(addr, &mut deadline);
            match &result {
                Err(e)
                    if !matches!(
                        e.kind(),
                        ErrorKind::Timeout
                            | ErrorKind::Closed
                            | ErrorKind::InProgress
                            | ErrorKind::Interrupted
                    ) => {}
                _ => break,
            }
        }
        result
    }

    /// One connect attempt. The descriptor is non-blocking for its duration
    /// only, so the wait can honour the deadline and `close`.
    fn connect_stream(&self, addr: SocketAddr, deadline: &mut Deadline) -> Result<()> {
        let op = format!("connect {addr}");
        self.set_nonblocking(true, &op)?;
        let result = match self.sock.connect(&addr.into()) {
            Ok(()) => Ok(()),
            Err(e) if errno_of(&e) == libc::EINPROGRESS => {
                if deadline.mode() == Mode::NoWait {
                    // Left non-blocking until the background connect ends.
                    return Err(Error::from_errno(op, libc::EINPROGRESS));
                }
                self.wait_connected(deadline, &op)
            }
            Err(e) => Err(Error::from_io(&op, &e)),
        };
        self.set_nonblocking(false, &op)?;
        result
    }

    fn wait_connected(&self, deadline: &mut Deadline, op: &str) -> Result<()> {
        self.wait_ready(Dir::Write, deadline, op)?;
        match self.sock.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(Error::from_io(op, &e)),
        }
    }

    pub(super) fn set_nonblocking(&self, on: bool, op: &str) -> Result<()> {
        self.sock
            .set_nonblocking(on)
            .map_err(|e| Error::from_io(format!("{op}: fcntl"), &e))
    }

    /// Ends a background connect if it has ended in the kernel: `Some(0)`
    /// when connected, `Some(errno)` when it failed, `None` while it goes
    /// on (and for a socket that has no background connect, its pending
    /// SO_ERROR as `Some`).
    pub(crate) fn finish_background_connect(&self) -> Result<Option<i32>> {
        let pending = |r: io::Result<Option<io::Error>>| {
            r.map(|e| e.map_or(0, |e| errno_of(&e)))
                .map_err(|e| Error::from_io("getsockopt SO_ERROR", &e))
        };
        if self.role.get() != Role::ConnectingInBackground {
            return pending(self.sock.take_error()).map(Some);
        }
        let revents = sys::poll_one(self.fileno(), libc::POLLOUT, 0)
            .map_err(|e| Error::from_io("connect", &e))?;
        if revents == 0 {
            return Ok(None);
        }
        let errno = pending(self.sock.take_error())?;
        let role = if errno == 0 {
            Role::Connected
        } else {
            Role::ConnectFailed
        };
        if self.role.replace(Role::ConnectingInBackground, role) {
            self.set_nonblocking(false, "connect")?;
        }
        Ok(Some(errno))
    }

    /// Dissolves a datagram socket's default peer (connect to AF_UNSPEC).
    pub fn disconnect(&self) -> Result<()> {
        self.require_kind(Kind::Datagram, "disconnect")?;
        sys::disconnect(self.fileno()).map_err(|e| Error::from_io("disconnect", &e))?;
        self.role.replace(Role::Connected, Role::Bound);
        Ok(())
    }
}
