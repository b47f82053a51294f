//! Data calls: send and receive on streams and datagram sockets.

use super::engine::{closed_error, Dir};
use super::{as_uninit, Role, Socket};
use crate::addr::{self, Kind};
use crate::deadline::{Deadline, Mode};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::{Mutex, MutexGuard, Ordering};
use crate::sys;
use socket2::SockAddr;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};

/// Flags of the `*_flags` data calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgFlags {
    /// Look at the data without taking it (receives).
    pub peek: bool,
    /// Do not block: `ErrorKind::WouldBlock` instead of waiting.
    pub dont_wait: bool,
    /// Wait for the whole buffer (stream receives), as recv(2)'s MSG_WAITALL.
    pub wait_all: bool,
}

impl MsgFlags {
    fn os_flags(self) -> libc::c_int {
        let mut flags = 0;
        if self.peek {
            flags |= libc::MSG_PEEK;
        }
        if self.wait_all {
            flags |= libc::MSG_WAITALL;
        }
        flags
    }

    /// The deadline of a call: the socket's timeout, or none with `dont_wait`.
    fn deadline(self, timeout_ms: i64) -> Deadline {
        Deadline::new(if self.dont_wait { 0 } else { timeout_ms })
    }

    /// A call that may not wait reports "would block", not a timeout.
    fn finish<T>(self, result: Result<T>, op: &str) -> Result<T> {
        match result {
            Err(e) if self.dont_wait && e.kind() == ErrorKind::Timeout => Err(Error::new(
                ErrorKind::WouldBlock,
                format!("{op}: operation would block"),
            )
            .with_os_error(libc::EAGAIN)),
            other => other,
        }
    }
}

impl Socket {
    fn read_deadline(&self) -> Deadline {
        Deadline::new(self.read_timeout_ms.load(Ordering::Relaxed))
    }

    fn write_deadline(&self) -> Deadline {
        Deadline::new(self.write_timeout_ms.load(Ordering::Relaxed))
    }

    /// Sends some of `buf` (at least one byte unless `buf` is empty), waiting
    /// up to the write timeout for buffer space.
    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        self.send_flags(buf, MsgFlags::default())
    }

    /// [`Socket::send`] with flags (only `dont_wait` applies).
    pub fn send_flags(&self, buf: &[u8], flags: MsgFlags) -> Result<usize> {
        self.require_data_role("send")?;
        let mut deadline = flags.deadline(self.write_timeout_ms.load(Ordering::Relaxed));
        let result = self.send_some(buf, &mut deadline, "send");
        self.track(flags.finish(result, "send"))
    }

    fn send_some(&self, buf: &[u8], deadline: &mut Deadline, op: &str) -> Result<usize> {
        let sent = self.run(Dir::Write, deadline, op, |how| {
            self.sock
                .send_with_flags(buf, libc::MSG_NOSIGNAL | how.flags())
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
        self.recv_flags(buf, MsgFlags::default())
    }

    /// [`Socket::recv_uninit`] with flags.
    pub fn recv_flags(&self, buf: &mut [MaybeUninit<u8>], flags: MsgFlags) -> Result<usize> {
        self.require_data_role("recv")?;
        if buf.is_empty() && self.kind == Kind::Stream {
            // Nothing fits: answer at once, as recv(2) on a blocking socket
            // would (a datagram socket still takes the next datagram).
            return Ok(0);
        }
        let mut deadline = flags.deadline(self.read_timeout_ms.load(Ordering::Relaxed));
        let result = self.recv_some(buf, flags.os_flags(), &mut deadline, "recv");
        if matches!(result, Ok(0)) && self.kind == Kind::Stream && !flags.peek {
            self.broken.store(true, Ordering::Relaxed);
        }
        self.track(flags.finish(result, "recv"))
    }

    fn recv_some(
        &self,
        buf: &mut [MaybeUninit<u8>],
        os_flags: libc::c_int,
        deadline: &mut Deadline,
        op: &str,
    ) -> Result<usize> {
        let wanted = buf.len();
        let n = self.run(Dir::Read, deadline, op, |how| {
            self.sock.recv_with_flags(buf, os_flags | how.flags())
        })?;
        // shutdown(2) ends a blocked receive as if the peer had closed.
        if n == 0 && wanted > 0 && self.is_closed() {
            return Err(closed_error(op));
        }
        Ok(n)
    }

    /// Sends all of `buf`, within the write timeout for the whole call.
    /// Concurrent `send_all` calls on one socket never interleave their bytes.
    pub fn send_all(&self, buf: &[u8]) -> Result<()> {
        self.require_data_role("send_all")?;
        let mut deadline = self.write_deadline();
        let result = self.send_all_locked(buf, &mut deadline);
        self.track(result)
    }

    fn send_all_locked(&self, buf: &[u8], deadline: &mut Deadline) -> Result<()> {
        let _turn = lock_within(&self.send_all_lock, deadline, "send_all")?;
        let len = buf.len();
        let mut sent = 0;
        while sent < len {
            let progress = |e: Error, sent| {
                e.with_detail(format_args!("{sent} of {len} bytes sent"))
                    .with_transferred(sent)
            };
            let n = self
                .send_some(&buf[sent..], deadline, "send_all")
                .map_err(|e| progress(e, sent))?;
            sent += n;
            // A blocking send(2) that a signal interrupts after queueing some
            // bytes returns the short count, not EINTR: a thread that asked
            // to hear of signals hears of it here.
            if sent < len && deadline.mode() == Mode::Forever && sys::interruptible() {
                let why = if self.is_closed() {
                    closed_error("send_all")
                } else {
                    Error::from_errno("send_all", libc::EINTR)
                };
                return Err(progress(why, sent));
            }
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
        let mut deadline = self.read_deadline();
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
                .recv_some(&mut buf[got..], 0, deadline, "recv_exact")
                .map_err(|e| {
                    e.with_detail(format_args!("{got} of {len} bytes received"))
                        .with_transferred(got)
                })?;
            if n == 0 {
                return Err(Error::new(
                    ErrorKind::Eof,
                    format!("recv_exact: peer closed the connection after {got} of {len} bytes"),
                )
                .with_transferred(got));
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

    /// The destination of a datagram: literals are parsed directly; a name
    /// is resolved once and remembered while the caller keeps sending to it.
    fn destination(&self, host: &str, port: u16) -> Result<SockAddr> {
        if self.family == addr::Family::Unix {
            return super::unix::unix_destination(host, port, "send_to");
        }
        if let Some(addr) = addr::parse_literal(host, port) {
            if addr::Family::of(&addr) != self.family {
                return addr::resolve_one(host, port, self.family).map(SockAddr::from);
            }
            return Ok(addr.into());
        }
        let mut last = self.last_destination.lock();
        if let Some((h, p, addr)) = last.as_ref() {
            if h == host && *p == port {
                return Ok(addr.clone());
            }
        }
        let addr: SockAddr = addr::resolve_one(host, port, self.family)?.into();
        *last = Some((host.to_owned(), port, addr.clone()));
        Ok(addr)
    }

    /// Sends one datagram to `host:port` (a Unix socket: a path or `@name`,
    /// port 0).
    pub fn send_to(&self, buf: &[u8], host: &str, port: u16) -> Result<usize> {
        self.send_to_flags(buf, host, port, MsgFlags::default())
    }

    /// [`Socket::send_to`] with flags (only `dont_wait` applies).
    pub fn send_to_flags(
        &self,
        buf: &[u8],
        host: &str,
        port: u16,
        flags: MsgFlags,
    ) -> Result<usize> {
        self.require_kind(Kind::Datagram, "send_to")?;
        let addr = self.destination(host, port)?;
        let mut deadline = flags.deadline(self.write_timeout_ms.load(Ordering::Relaxed));
        let sent = self.run(Dir::Write, &mut deadline, "send_to", |how| {
            self.sock
                .send_to_with_flags(buf, &addr, libc::MSG_NOSIGNAL | how.flags())
        });
        self.note_implicit_bind();
        flags.finish(sent, "send_to")
    }

    /// Receives one datagram (truncated to `buf.len()`) and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        self.recv_from_uninit(as_uninit(buf))
    }

    /// [`Socket::recv_from`] into memory that need not be initialized.
    pub fn recv_from_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<(usize, SocketAddr)> {
        let (n, from) = self.recv_from_flags(buf, MsgFlags::default())?;
        Ok((n, ip_of(&from, "recv_from")?))
    }

    /// [`Socket::recv_from_uninit`] with flags; the sender's address is left
    /// raw, to be formatted only if the caller wants it ([`ip_of`]).
    pub fn recv_from_flags(
        &self,
        buf: &mut [MaybeUninit<u8>],
        flags: MsgFlags,
    ) -> Result<(usize, SockAddr)> {
        self.require_kind(Kind::Datagram, "recv_from")?;
        let mut deadline = flags.deadline(self.read_timeout_ms.load(Ordering::Relaxed));
        let os_flags = flags.os_flags();
        let result = self.run(Dir::Read, &mut deadline, "recv_from", |how| {
            self.sock.recv_from_with_flags(buf, os_flags | how.flags())
        });
        let (n, from) = flags.finish(result, "recv_from")?;
        // shutdown(2) ends a blocked receive with an empty, addressless datagram.
        if self.is_closed() && (n == 0 || from.as_socket().is_none()) {
            return Err(closed_error("recv_from"));
        }
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

    /// Stream data calls need a connected socket (a background connect is
    /// finished first if it has); a datagram socket may receive once bound
    /// and send once connected (the OS decides).
    pub(crate) fn require_data_role(&self, op: &str) -> Result<()> {
        if self.kind == Kind::Datagram {
            return Ok(());
        }
        match self.role.get() {
            Role::Connected => Ok(()),
            Role::ConnectingInBackground if self.finish_background_connect()? == Some(0) => Ok(()),
            Role::Listening => Err(Error::new(
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
    pub(super) fn track<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.kind().breaks_stream() {
                self.broken.store(true, Ordering::Relaxed);
            }
        }
        result
    }
}

/// Which direction(s) `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownHow {
    Read,
    Write,
    Both,
}

/// A datagram's sender as an IP address.
pub fn ip_of(addr: &SockAddr, op: &str) -> Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| {
        Error::new(
            ErrorKind::Io,
            format!("{op}: sender address is not IPv4 or IPv6"),
        )
    })
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
