//! Unix domain sockets: bind, connect and the shortcuts on paths and
//! abstract names, socketpair, peer credentials, passing descriptors, and
//! the socket file a listener leaves behind.
//!
//! Everything else (data calls, timeouts, close-wakes, poll) is the engine's,
//! unchanged: shutdown(2) wakes calls blocked on an AF_UNIX socket as it does
//! on TCP and UDP.
//!
//! The socket file: binding a path creates it. The socket that made it (and
//! its dups) removes it when the last of them closes, but only if the file at
//! that path is still the one it created (same device and inode) and only in
//! the process that bound it; a detached descriptor leaves it to its new
//! owner. A file already at the path makes bind fail with `AddressInUse`,
//! unless `SockOption::UnlinkStale` is on: then a socket file that nothing is
//! bound to (a connect to it is refused) is removed first. Other files, and
//! socket files something still answers on, are never removed.

use super::engine::{closed_error, Dir};
use super::{as_uninit, Role, Socket};
use crate::addr::{self, Endpoint, Family, Kind, UnixAddr};
use crate::deadline::{Deadline, Mode};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::Ordering;
use crate::sys::{self, errno_of};
use socket2::{Domain, SockAddr, Type};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The socket file a bind created: removed on the last close if it is
/// still the same file.
#[derive(Debug)]
pub(crate) struct BoundFile {
    path: PathBuf,
    id: (u64, u64),
}

/// The peer's credentials as the kernel recorded them at connect (or
/// socketpair) time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

fn kind_type(kind: Kind) -> Type {
    match kind {
        Kind::Stream => Type::STREAM,
        Kind::Datagram => Type::DGRAM,
    }
}

/// A connect error on a Unix address. A path where nothing is (ENOENT) is
/// `ConnectionRefused` like one where nothing listens, with errno ENOENT.
fn connect_error(op: &str, err: &io::Error) -> Error {
    let errno = errno_of(err);
    let e = Error::from_io(op, err);
    if errno == libc::ENOENT {
        return Error::new(
            ErrorKind::ConnectionRefused,
            format!("{}: nothing listens there", e.message()),
        )
        .with_os_error(errno);
    }
    e
}

impl Socket {
    /// A new Unix socket connected to `path` (a path or `@name`), within
    /// `timeout_ms` (negative: no limit).
    pub fn unix_connect(path: &str, kind: Kind, timeout_ms: i64) -> Result<Socket> {
        let addr = UnixAddr::parse(path)?;
        let sock = Socket::new(Family::Unix, kind)?;
        sock.connect_unix(&addr, timeout_ms)?;
        Ok(sock)
    }

    /// A Unix stream socket listening on `path` (a path or `@name`). A stale
    /// socket file at the path is removed first (see the module docs), as
    /// SO_REUSEADDR lets a TCP listener reuse its port.
    pub fn unix_listen(path: &str, backlog: i32) -> Result<Socket> {
        let addr = UnixAddr::parse(path)?;
        let sock = Socket::new(Family::Unix, Kind::Stream)?;
        sock.unlink_stale.store(true, Ordering::Relaxed);
        sock.bind_unix(addr)?;
        sock.listen(backlog)?;
        Ok(sock)
    }

    /// Two connected Unix sockets (socketpair(2)), blocking, close-on-exec.
    pub fn pair(kind: Kind) -> Result<(Socket, Socket)> {
        let (a, b) = socket2::Socket::pair(Domain::UNIX, kind_type(kind), None)
            .map_err(|e| Error::from_io("socketpair", &e))?;
        Ok((
            Socket::wrap(a, Family::Unix, kind, Role::Connected),
            Socket::wrap(b, Family::Unix, kind, Role::Connected),
        ))
    }

    pub(super) fn bind_unix(&self, addr: UnixAddr) -> Result<()> {
        let op = format!("bind {addr}");
        let sockaddr = addr.to_sockaddr()?;
        self.role.advance(&[Role::Fresh], Role::Bound, "bind")?;
        let path = match &addr {
            UnixAddr::Path(p) => Some(p.as_path()),
            _ => None,
        };
        if let Some(p) = path {
            if self.unlink_stale.load(Ordering::Relaxed) {
                self.unlink_if_stale(p, &sockaddr);
            }
        }
        if let Err(e) = self.sock.bind(&sockaddr) {
            self.role.set(Role::Fresh);
            let errno = errno_of(&e);
            let err = Error::from_io(&op, &e);
            return Err(match errno {
                libc::EADDRINUSE if path.is_some() => err.with_detail(
                    "a file exists at that path: remove it, or turn on the \
                     unlink-stale option to remove a socket file nothing is bound to",
                ),
                libc::ENOENT => Error::new(
                    ErrorKind::AddressNotAvailable,
                    format!("{}: the directory does not exist", err.message()),
                )
                .with_os_error(errno),
                _ => err,
            });
        }
        if let Some(p) = path {
            // Remember the file this bind made, by absolute path, so a later
            // chdir cannot make close remove another one.
            let absolute = std::env::current_dir()
                .map(|cwd| cwd.join(p))
                .unwrap_or_else(|_| p.to_path_buf());
            if let Some(id) = sys::socket_file_id(&absolute) {
                *self.bound_file.lock() = Some(BoundFile { path: absolute, id });
            }
        }
        Ok(())
    }

    /// Removes the socket file at `path` if nothing is bound to it: a
    /// non-blocking connect to it is refused. Anything else stays.
    fn unlink_if_stale(&self, path: &Path, sockaddr: &SockAddr) {
        let Some(id) = sys::socket_file_id(path) else {
            return;
        };
        let Ok(probe) =
            socket2::Socket::new(Domain::UNIX, kind_type(self.kind).nonblocking(), None)
        else {
            return;
        };
        let refused = matches!(
            probe.connect(sockaddr),
            Err(e) if errno_of(&e) == libc::ECONNREFUSED
        );
        if refused && sys::socket_file_id(path) == Some(id) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Called when the last dup of the socket closes: removes the socket file
    /// its bind made, if it is still that file and this is the process that
    /// bound it.
    pub(super) fn remove_bound_file(&self) {
        let Some(file) = self.bound_file.lock().take() else {
            return;
        };
        if sys::pid() != self.owner_pid || self.detached.load(Ordering::SeqCst) {
            return;
        }
        if sys::socket_file_id(&file.path) == Some(file.id) {
            let _ = std::fs::remove_file(&file.path);
        }
    }

    /// The descriptor goes to a new owner: so does the socket file.
    pub(super) fn disown_bound_file(&self) {
        self.bound_file.lock().take();
    }

    pub(super) fn connect_unix(&self, addr: &UnixAddr, timeout_ms: i64) -> Result<()> {
        let op = format!("connect {addr}");
        if *addr == UnixAddr::Unnamed {
            return Err(Error::invalid(format!(
                "{op}: \"@\" alone names no socket to connect to"
            )));
        }
        let sockaddr = addr.to_sockaddr()?;
        let allowed: &[Role] = match self.kind {
            Kind::Stream => &[Role::Fresh, Role::Bound],
            Kind::Datagram => &[Role::Fresh, Role::Bound, Role::Connected],
        };
        let previous = self.role.advance(allowed, Role::Connecting, "connect")?;
        let result = match self.kind {
            Kind::Stream => self.connect_unix_stream(&sockaddr, timeout_ms, &op),
            Kind::Datagram => self.check_open(&op).and_then(|()| {
                self.sock
                    .connect(&sockaddr)
                    .map_err(|e| connect_error(&op, &e))
            }),
        };
        self.role.set(match (&result, self.kind) {
            (Ok(()), _) => Role::Connected,
            (Err(_), Kind::Stream) => Role::ConnectFailed,
            (Err(_), Kind::Datagram) => previous,
        });
        result
    }

    /// A Unix stream connect completes at once or fails, except when the
    /// listener's backlog is full (EAGAIN): the kernel offers nothing to wait
    /// on then, so it is retried with short sleeps until the deadline,
    /// checking for close each turn.
    fn connect_unix_stream(&self, sockaddr: &SockAddr, timeout_ms: i64, op: &str) -> Result<()> {
        self.check_open(op)?;
        let mut deadline = Deadline::new(timeout_ms);
        self.set_nonblocking(true, op)?;
        let mut pause = Duration::from_micros(100);
        let result = loop {
            match self.sock.connect(sockaddr) {
                Ok(()) => break Ok(()),
                Err(e) if errno_of(&e) == libc::EINTR => continue,
                Err(e) if errno_of(&e) == libc::EAGAIN => {
                    if self.is_closed() {
                        break Err(closed_error(op));
                    }
                    if deadline.mode() == Mode::NoWait {
                        break Err(deadline
                            .expired(op)
                            .with_detail("the listener's backlog is full"));
                    }
                    let mut nap = pause;
                    if let Some(at) = deadline.instant() {
                        match at.checked_duration_since(Instant::now()) {
                            Some(left) if !left.is_zero() => nap = nap.min(left),
                            _ => {
                                break Err(deadline
                                    .expired(op)
                                    .with_detail("the listener's backlog is full"))
                            }
                        }
                    }
                    std::thread::sleep(nap);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(e) => break Err(connect_error(op, &e)),
            }
        };
        self.set_nonblocking(false, op)?;
        result
    }

    /// The local address, of any family.
    pub fn local_endpoint(&self) -> Result<Endpoint> {
        let addr = self
            .sock
            .local_addr()
            .map_err(|e| Error::from_io("local_addr", &e))?;
        Endpoint::from_sockaddr(&addr)
            .ok_or_else(|| Error::new(ErrorKind::Io, "local_addr: unknown address family"))
    }

    /// The connected peer's address, of any family.
    pub fn peer_endpoint(&self) -> Result<Endpoint> {
        let addr = self
            .sock
            .peer_addr()
            .map_err(|e| Error::from_io("peer_addr", &e))?;
        Endpoint::from_sockaddr(&addr)
            .ok_or_else(|| Error::new(ErrorKind::Io, "peer_addr: unknown address family"))
    }

    fn require_unix(&self, op: &str) -> Result<()> {
        if self.family == Family::Unix {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::WrongKind,
            format!("{op}: only for Unix domain sockets"),
        ))
    }

    /// The peer's pid, uid and gid (SO_PEERCRED): on a connected stream, or
    /// either end of a socketpair.
    pub fn peer_cred(&self) -> Result<PeerCred> {
        self.require_unix("peer_cred")?;
        if self.kind == Kind::Stream {
            self.require_data_role("peer_cred")?;
        }
        let (pid, uid, gid) =
            sys::peer_cred(self.fileno()).map_err(|e| Error::from_io("peer_cred", &e))?;
        Ok(PeerCred { pid, uid, gid })
    }

    /// Sends `buf` with `fds` attached (SCM_RIGHTS); returns the bytes sent
    /// (a stream may take fewer than `buf.len()`: the descriptors went with
    /// the first of them). The descriptors stay the caller's: the peer gets
    /// duplicates. Blocks up to the write timeout.
    pub fn send_fds(&self, buf: &[u8], fds: &[RawFd]) -> Result<usize> {
        let op = "send_fds";
        self.require_unix(op)?;
        self.require_data_role(op)?;
        if fds.len() > sys::MAX_FDS_PER_MESSAGE {
            return Err(Error::invalid(format!(
                "{op}: {} descriptors is more than {} in one message",
                fds.len(),
                sys::MAX_FDS_PER_MESSAGE
            )));
        }
        if let Some(bad) = fds.iter().find(|&&fd| fd < 0) {
            return Err(Error::invalid(format!(
                "{op}: descriptor {bad} is negative"
            )));
        }
        if buf.is_empty() && self.kind == Kind::Stream {
            return Err(Error::invalid(format!(
                "{op}: a stream carries descriptors only with at least one byte"
            )));
        }
        let mut deadline = Deadline::new(self.write_timeout_ms.load(Ordering::Relaxed));
        let result = self.run(Dir::Write, &mut deadline, op, |how| {
            sys::send_with_fds(self.fileno(), buf, fds, how.flags())
        });
        self.track(result)
    }

    /// Receives into `buf` and takes the descriptors that came with the
    /// bytes (close-on-exec, now the caller's). `Ok((0, _))` on a stream is
    /// end of stream. Blocks up to the read timeout.
    pub fn recv_fds(&self, buf: &mut [u8]) -> Result<(usize, Vec<OwnedFd>)> {
        self.recv_fds_uninit(as_uninit(buf))
    }

    /// [`Socket::recv_fds`] into memory that need not be initialized.
    pub fn recv_fds_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<(usize, Vec<OwnedFd>)> {
        let op = "recv_fds";
        self.require_unix(op)?;
        self.require_data_role(op)?;
        if buf.is_empty() && self.kind == Kind::Stream {
            return Err(Error::invalid(format!(
                "{op}: a stream delivers descriptors only with at least one byte"
            )));
        }
        let mut deadline = Deadline::new(self.read_timeout_ms.load(Ordering::Relaxed));
        let result = self.run(Dir::Read, &mut deadline, op, |how| {
            sys::recv_with_fds(self.fileno(), buf, how.flags())
        });
        let result = match result {
            // shutdown(2) ends a blocked receive as if the peer had closed.
            Ok((0, fds)) if fds.is_empty() && self.is_closed() => Err(closed_error(op)),
            Ok((0, fds)) if fds.is_empty() && self.kind == Kind::Stream => {
                self.broken.store(true, Ordering::Relaxed);
                Ok((0, fds))
            }
            other => other,
        };
        self.track(result)
    }
}

/// The kernel address of a Unix datagram destination given as host and port.
pub(super) fn unix_destination(host: &str, port: u16, op: &str) -> Result<SockAddr> {
    addr::unix_endpoint(host, port, op)?.to_sockaddr()
}
