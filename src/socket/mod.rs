//! A blocking TCP, UDP or Unix domain socket whose close wakes every call
//! blocked on it.
//!
//! - `engine.rs`: how one call blocks, times out, spins and ends;
//! - `gate.rs`: the close protocol (closed flag, then shutdown(2));
//! - `role.rs`: where the socket is in the classic flow;
//! - `connect.rs`: bind, listen, accept, connect and the shortcuts;
//! - `data.rs`: send and receive;
//! - `options.rs`: socket options;
//! - `unix.rs`: Unix domain sockets (paths, abstract names, socketpair, peer
//!   credentials, passing descriptors, the socket file).
//!
//! The `Socket` is shared by `Arc`: the descriptor is closed when the last
//! in-flight call drops its reference, never under a call still using it.

mod connect;
mod data;
mod engine;
pub mod gate;
mod options;
mod role;
mod unix;

pub use crate::addr::{Family, Kind};
pub use data::{ip_of, MsgFlags, ShutdownHow};
pub use options::SockOption;
pub use unix::PeerCred;

use crate::error::{Error, ErrorKind, Result};
use crate::sync::{AtomicBool, Mutex, Ordering};
use crate::sys;
use gate::{CloseGate, Wake};
use role::{AtomicRole, Role};
use socket2::{SockAddr, Type};
use std::mem::{ManuallyDrop, MaybeUninit};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize};
use std::sync::Arc;

/// A blocking TCP or UDP socket, safe to share between threads.
pub struct Socket {
    sock: ManuallyDrop<socket2::Socket>,
    family: Family,
    kind: Kind,
    role: AtomicRole,
    gate: CloseGate,
    /// The process that made (or adopted) the socket: only it shuts it down.
    owner_pid: u32,
    /// Open handles on this descriptor's sockets (dup shares it): only the
    /// last one's close shuts the connection down.
    open_dups: Arc<AtomicUsize>,
    /// The descriptor was handed over: close it never, shut it down never.
    detached: AtomicBool,
    /// SO_LINGER is 0: close must reset the connection, not send a FIN.
    linger_resets: AtomicBool,
    read_timeout_ms: AtomicI64,
    write_timeout_ms: AtomicI64,
    /// What the kernel's SO_RCVTIMEO / SO_SNDTIMEO hold, in µs (-1: none).
    kernel_rcvtimeo_us: AtomicI64,
    kernel_sndtimeo_us: AtomicI64,
    busy_poll_us: AtomicU32,
    // Consecutive busy-poll spins that caught nothing (see `engine::spin`).
    spin_misses: AtomicU32,
    // send_all calls must not interleave their bytes, nor recv_exact calls.
    send_all_lock: Mutex<()>,
    recv_exact_lock: Mutex<()>,
    // Set when a call failed, EOF was seen or the stream was shut down: the
    // connection is out of step and must not be reused by a pool.
    broken: AtomicBool,
    /// Unix sockets: remove a stale socket file before bind (`UnlinkStale`).
    unlink_stale: AtomicBool,
    /// The socket file this socket's bind created, shared with its dups.
    bound_file: Arc<Mutex<Option<unix::BoundFile>>>,
    /// The last named datagram destination and its resolved address.
    last_destination: Mutex<Option<(String, u16, SockAddr)>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("fd", &self.fileno())
            .field("family", &self.family)
            .field("kind", &self.kind)
            .field("role", &self.role.get())
            .finish_non_exhaustive()
    }
}

fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: initialized bytes are valid MaybeUninit bytes, and the callee
    // only ever writes initialized bytes into the slice.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

impl Wake for socket2::Socket {
    fn wake_all(&self) {
        // An unconnected socket answers ENOTCONN but still wakes its callers.
        let _ = sys::shutdown(self.as_raw_fd(), libc::SHUT_RDWR);
    }
}

/// With SO_LINGER 0 a FIN must not go out first: shutting down receiving
/// wakes readers and accept, and the final close resets the connection.
struct WakeReaders<'a>(&'a socket2::Socket);

impl Wake for WakeReaders<'_> {
    fn wake_all(&self) {
        let _ = sys::shutdown(self.0.as_raw_fd(), libc::SHUT_RD);
    }
}

impl Socket {
    /// A new unbound, unconnected socket (`socket(2)`), blocking, close-on-exec.
    pub fn new(family: Family, kind: Kind) -> Result<Socket> {
        let ty = match kind {
            Kind::Stream => Type::STREAM,
            Kind::Datagram => Type::DGRAM,
        };
        let sock = socket2::Socket::new(family.domain(), ty, None)
            .map_err(|e| Error::from_io(format!("socket {}", family.name()), &e))?;
        Ok(Socket::wrap(sock, family, kind, Role::Fresh))
    }

    fn wrap(sock: socket2::Socket, family: Family, kind: Kind, role: Role) -> Socket {
        Socket {
            sock: ManuallyDrop::new(sock),
            family,
            kind,
            role: AtomicRole::new(role),
            gate: CloseGate::default(),
            owner_pid: sys::pid(),
            open_dups: Arc::new(AtomicUsize::new(1)),
            detached: AtomicBool::new(false),
            linger_resets: AtomicBool::new(false),
            read_timeout_ms: AtomicI64::new(-1),
            write_timeout_ms: AtomicI64::new(-1),
            kernel_rcvtimeo_us: AtomicI64::new(-1),
            kernel_sndtimeo_us: AtomicI64::new(-1),
            busy_poll_us: AtomicU32::new(0),
            spin_misses: AtomicU32::new(0),
            send_all_lock: Mutex::new(()),
            recv_exact_lock: Mutex::new(()),
            broken: AtomicBool::new(false),
            unlink_stale: AtomicBool::new(false),
            bound_file: Arc::new(Mutex::new(None)),
            last_destination: Mutex::new(None),
        }
    }

    /// Takes over an open TCP, UDP or Unix (stream or datagram) descriptor
    /// in any state (fresh, bound, listening, connected). It is made
    /// blocking. On error the descriptor is left open and untouched, still
    /// the caller's.
    pub fn adopt_fd(fd: RawFd) -> Result<Socket> {
        let op = "adopt_fd";
        let int_opt = |name| {
            sys::getsockopt_int(fd, libc::SOL_SOCKET, name).map_err(|e| Error::from_io(op, &e))
        };
        let family = match int_opt(libc::SO_DOMAIN)? {
            libc::AF_INET => Family::Inet,
            libc::AF_INET6 => Family::Inet6,
            libc::AF_UNIX => Family::Unix,
            other => {
                return Err(Error::new(
                    ErrorKind::WrongKind,
                    format!(
                        "{op}: descriptor {fd} has address family {other}, not IPv4, IPv6 or Unix"
                    ),
                ))
            }
        };
        let kind = match int_opt(libc::SO_TYPE)? {
            libc::SOCK_STREAM => Kind::Stream,
            libc::SOCK_DGRAM => Kind::Datagram,
            other => {
                return Err(Error::new(
                    ErrorKind::WrongKind,
                    format!(
                        "{op}: descriptor {fd} has socket type {other}, not stream or datagram"
                    ),
                ))
            }
        };
        // SAFETY: fd is an open socket (getsockopt succeeded); ownership
        // passes to us only once every check below has passed.
        let sock = ManuallyDrop::new(unsafe { socket2::Socket::from_raw_fd(fd) });
        let role = if int_opt(libc::SO_ACCEPTCONN)? != 0 {
            Role::Listening
        } else if sock.peer_addr().is_ok() {
            Role::Connected
        } else if sock.local_addr().ok().is_some_and(|a| match a.as_socket() {
            Some(ip) => ip.port() != 0,
            None => !a.is_unnamed(),
        }) {
            Role::Bound
        } else {
            Role::Fresh
        };
        sock.set_nonblocking(false)
            .map_err(|e| Error::from_io(format!("{op}: fcntl"), &e))?;
        Ok(Socket::wrap(
            ManuallyDrop::into_inner(sock),
            family,
            kind,
            role,
        ))
    }

    /// A second socket on a duplicate of the descriptor (close-on-exec),
    /// in the same role. Closing one leaves the other's connection intact.
    pub fn dup(&self) -> Result<Socket> {
        self.check_open("dup")?;
        let sock = self
            .sock
            .try_clone()
            .map_err(|e| Error::from_io("dup", &e))?;
        let mut copy = Socket::wrap(sock, self.family, self.kind, self.role.get());
        self.open_dups.fetch_add(1, Ordering::AcqRel);
        copy.open_dups = Arc::clone(&self.open_dups);
        copy.bound_file = Arc::clone(&self.bound_file);
        Ok(copy)
    }

    /// Ends this socket without closing or shutting down its descriptor,
    /// and hands the descriptor over: the caller now owns it.
    pub fn detach(&self) -> Result<RawFd> {
        self.detached.store(true, Ordering::SeqCst);
        if !self.gate.close(&*self.sock, false) {
            return Err(engine::closed_error("detach"));
        }
        self.disown_bound_file();
        self.open_dups.fetch_sub(1, Ordering::AcqRel);
        Ok(self.fileno())
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn is_listening(&self) -> bool {
        self.role.get() == Role::Listening
    }

    pub fn is_closed(&self) -> bool {
        self.gate.is_closed()
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

    /// The descriptor, for select/poll by the caller. Blocking; borrowed.
    pub fn fileno(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Marks the socket closed and wakes every call blocked on it. The
    /// descriptor itself closes when the last reference is dropped. A forked
    /// child, or a socket whose dups are still open, only marks it closed:
    /// shutting it down would cut the connection for the others.
    pub fn close(&self) {
        self.close_waking(true);
    }

    /// [`Socket::close`] through a shared reference: when nothing else holds
    /// the socket (no call in flight, no poll), there is nobody to wake, so
    /// it is not shut down and the descriptor's close(2) ends the connection
    /// exactly as a plain close does (a reset if unread bytes are waiting).
    pub fn close_shared(self: &Arc<Self>) {
        self.close_waking(Arc::strong_count(self) > 1);
    }

    fn close_waking(&self, others_may_wait: bool) {
        let wake = others_may_wait
            && !self.detached.load(Ordering::SeqCst)
            && sys::pid() == self.owner_pid
            && self.open_dups.load(Ordering::Acquire) == 1;
        let closed = if self.linger_resets.load(Ordering::Relaxed) {
            self.gate.close(&WakeReaders(&self.sock), wake)
        } else {
            self.gate.close(&*self.sock, wake)
        };
        if closed && self.open_dups.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.remove_bound_file();
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
    /// zero-timeout poll(2); a signal landing in it is not a verdict.
    pub fn readable_now(&self) -> bool {
        loop {
            match sys::poll_one(self.fileno(), libc::POLLIN, 0) {
                Ok(revents) => return revents != 0,
                Err(e) if sys::errno_of(&e) == libc::EINTR => continue,
                // Any other failure: do not trust this connection.
                Err(_) => return true,
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
        // A Unix datagram socket stays unnamed when it sends.
        if self.kind == Kind::Datagram && self.family != Family::Unix {
            self.role.replace(Role::Fresh, Role::Bound);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if !self.is_closed() && !self.detached.load(Ordering::SeqCst) {
            // Dropped without close (Rust callers): account for it as a
            // close, with nobody left to wake.
            self.close_waking(false);
        }
        // SAFETY: dropped once, here; a detached descriptor is the caller's.
        let sock = unsafe { ManuallyDrop::take(&mut self.sock) };
        if self.detached.load(Ordering::SeqCst) {
            let _ = sock.into_raw_fd();
        }
    }
}
