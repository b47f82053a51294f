//! A readiness poller over many sockets: epoll on Linux, one handle like any
//! other (`sockrt_poller_*`).
//!
//! A poller keeps an interest set, so a wait costs one `epoll_wait` however
//! many sockets are registered (`sockrt_poll` rebuilds its whole set on every
//! call). Each registration carries the caller's 64-bit token, handed back
//! with the ready events.
//!
//! Safety against descriptor reuse: the poller holds every registered socket
//! (`Arc`), so a registered descriptor stays open, and its number cannot be
//! reused, until the registration ends. Events name a registration by an
//! internal key that is never reused, not by descriptor, so an event fetched
//! just before a registration ended finds no registration and is dropped.
//!
//! Closes are noticed two ways, so neither depends on the other:
//! * the handle table tells every poller a socket handle is registered with
//!   when that handle ends (close, pool release/discard, detach), through
//!   [`handle_ended`]: the registration is removed at once and its token is
//!   reported once with [`ready::CLOSED`], and the waiter is woken;
//! * a ready socket that is already closed (an engine whose close shuts the
//!   descriptor down makes epoll report hang-up) is reported the same way.
//!
//! Descriptors that are not sockrt handles (a pipe, a standard-library
//! socket, an event loop's self-pipe) can be registered by number too; for
//! those the caller keeps the descriptor open while it is registered, as
//! with epoll itself.
//!
//! Threads: any thread may add, modify or remove while another waits; the
//! interest set is the kernel's, and the poller's own map is locked only
//! briefly, never across the wait. `close` wakes every waiter (it returns
//! `Closed`) and `wake` makes the current or next wait return early.

use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Result};
use crate::handle::Handle;
use crate::poll::ready;
use crate::socket::Socket;
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
// Not modelled by the loom tests: plain locks and atomics even under loom, so
// that a model execution never meets a poller's statics.
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// Interest flag: edge-triggered (report a readiness change once, until the
/// caller has consumed it); the default is level-triggered.
pub(crate) const EDGE: u32 = 32;

/// Events a caller may ask for.
const INTEREST_BITS: u32 = ready::IN | ready::OUT | EDGE;

/// The epoll key of the poller's own wake eventfd; registrations start at 1.
const WAKE_KEY: u64 = 0;

/// The most events one wait reports.
pub(crate) const MAX_EVENTS: usize = 1 << 16;

/// One ready registration, as a wait reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollerEvent {
    /// The caller's token given at add/modify.
    pub token: u64,
    /// `ready::IN`, `OUT`, `ERR`, `HUP`, or `CLOSED` (then alone, once).
    pub events: u32,
}

/// What a registration watches.
#[derive(Clone)]
pub enum Target {
    /// A sockrt socket, held so its descriptor stays open while registered.
    Socket(Handle, Arc<Socket>),
    /// A descriptor the caller owns and keeps open while registered.
    Fd(RawFd),
}

struct Registration {
    target: Target,
    token: u64,
}

#[derive(Default)]
struct State {
    next_key: u64,
    by_key: HashMap<u64, Registration>,
    by_handle: HashMap<Handle, u64>,
    by_fd: HashMap<RawFd, u64>,
    /// Tokens of registrations whose handle ended, not yet reported.
    ended: Vec<u64>,
    /// A `wake` not yet seen by a wait.
    woken: bool,
    closed: bool,
}

/// An epoll interest set with tokens; see the module docs.
pub struct Poller {
    epoll: OwnedFd,
    wake: OwnedFd,
    state: Mutex<State>,
    closed: AtomicBool,
    /// Whether a socket handle still names its object: the handle table is
    /// a later layer, so its check is handed in at `new`.
    handle_is_live: fn(Handle) -> bool,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("epoll", &self.epoll.as_raw_fd())
            .finish_non_exhaustive()
    }
}

/// Socket handles registered with pollers: handle -> the pollers holding it.
/// Consulted when a socket handle ends; `WATCHED` lets the common case (no
/// poller holds any socket) skip the lock.
static WATCHERS: Lazy<Mutex<HashMap<Handle, Vec<Weak<Poller>>>>> = Lazy::new(Default::default);
static WATCHED: AtomicUsize = AtomicUsize::new(0);

fn closed_error(op: &str) -> Error {
    Error::new(
        ErrorKind::Closed,
        format!("{op}: the poller was closed by another call"),
    )
}

fn check_interest(op: &str, events: u32) -> Result<u32> {
    if events & !INTEREST_BITS != 0 {
        return Err(Error::invalid(format!(
            "{op}: events {events:#x} has bits other than SOCKRT_POLL_IN, SOCKRT_POLL_OUT, SOCKRT_POLL_EDGE"
        )));
    }
    let mut bits = libc::EPOLLRDHUP as u32;
    if events & ready::IN != 0 {
        bits |= libc::EPOLLIN as u32;
    }
    if events & ready::OUT != 0 {
        bits |= libc::EPOLLOUT as u32;
    }
    if events & EDGE != 0 {
        bits |= libc::EPOLLET as u32;
    }
    Ok(bits)
}

fn epoll_ctl(epoll: RawFd, op: libc::c_int, fd: RawFd, bits: u32, key: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: bits,
        u64: key,
    };
    // SAFETY: a valid epoll descriptor and event struct; DEL ignores the event.
    if unsafe { libc::epoll_ctl(epoll, op, fd, &mut ev) } < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn readiness(bits: u32) -> u32 {
    let mut out = 0;
    for (flag, bit) in [
        (libc::EPOLLIN, ready::IN),
        (libc::EPOLLOUT, ready::OUT),
        (libc::EPOLLERR, ready::ERR),
        (libc::EPOLLHUP, ready::HUP),
    ] {
        if bits & flag as u32 != 0 {
            out |= bit;
        }
    }
    if bits & libc::EPOLLRDHUP as u32 != 0 {
        // The peer shut down its side: a read now returns end of stream.
        out |= ready::IN;
    }
    out
}

impl Poller {
    /// A new, empty poller (an epoll set and its wake eventfd, close-on-exec).
    pub fn new(handle_is_live: fn(Handle) -> bool) -> Result<Arc<Poller>> {
        // SAFETY: creates a new descriptor that we own.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(Error::from_io(
                "poller_open: epoll_create1",
                &io::Error::last_os_error(),
            ));
        }
        // SAFETY: epoll is a fresh descriptor owned by nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        // SAFETY: as above.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(Error::from_io(
                "poller_open: eventfd",
                &io::Error::last_os_error(),
            ));
        }
        // SAFETY: as above.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            wake.as_raw_fd(),
            libc::EPOLLIN as u32,
            WAKE_KEY,
        )
        .map_err(|e| Error::from_io("poller_open: epoll_ctl", &e))?;
        Ok(Arc::new(Poller {
            epoll,
            wake,
            state: Mutex::new(State {
                next_key: WAKE_KEY + 1,
                ..State::default()
            }),
            closed: AtomicBool::new(false),
            handle_is_live,
        }))
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The epoll descriptor (borrowed): readable when a wait would report.
    pub fn fileno(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// How many registrations the poller holds.
    pub fn len(&self) -> usize {
        self.state.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes to our own eventfd, open while self lives.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn drain_wake(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes from our own non-blocking eventfd.
        unsafe { libc::read(self.wake.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }

    /// Registers `target` for `events` (`ready::IN`/`OUT`, `EDGE`) with the
    /// caller's `token`. A socket handle must be live (the caller looked it
    /// up); registering the same handle or descriptor twice is `InvalidState`.
    pub fn add(self: &Arc<Self>, target: Target, events: u32, token: u64) -> Result<()> {
        let bits = check_interest("poller_add", events)?;
        match &target {
            Target::Socket(handle, socket) => {
                // Held across the registration so that a concurrent end of
                // the handle either happens before (the lookup below fails)
                // or finds this registration (see `handle_ended`).
                let mut watchers = WATCHERS.lock();
                if socket.is_closed() || !(self.handle_is_live)(*handle) {
                    return Err(Error::new(
                        ErrorKind::BadHandle,
                        format!("poller_add: handle {handle:#x} is closed"),
                    ));
                }
                self.insert(target.clone(), socket.fileno(), bits, token)?;
                watchers
                    .entry(*handle)
                    .or_default()
                    .push(Arc::downgrade(self));
                WATCHED.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Target::Fd(fd) => {
                if *fd < 0 {
                    return Err(Error::invalid(format!(
                        "poller_add_fd: descriptor {fd} is negative"
                    )));
                }
                self.insert(target.clone(), *fd, bits, token)
            }
        }
    }

    fn insert(&self, target: Target, fd: RawFd, bits: u32, token: u64) -> Result<()> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(closed_error("poller_add"));
        }
        let duplicate = match &target {
            Target::Socket(h, _) => state.by_handle.contains_key(h),
            Target::Fd(fd) => state.by_fd.contains_key(fd),
        };
        if duplicate {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "poller_add: already registered with this poller (use poller_modify)",
            ));
        }
        let key = state.next_key;
        epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, bits, key).map_err(|e| {
            if e.raw_os_error() == Some(libc::EEXIST) {
                Error::new(
                    ErrorKind::InvalidState,
                    format!("poller_add: descriptor {fd} is already registered (by handle or by number)"),
                )
            } else {
                Error::from_io("poller_add: epoll_ctl", &e)
            }
        })?;
        state.next_key += 1;
        match &target {
            Target::Socket(h, _) => state.by_handle.insert(*h, key),
            Target::Fd(fd) => state.by_fd.insert(*fd, key),
        };
        state.by_key.insert(key, Registration { target, token });
        Ok(())
    }

    fn key_of(state: &State, target: &Target, op: &str) -> Result<u64> {
        let key = match target {
            Target::Socket(h, _) => state.by_handle.get(h),
            Target::Fd(fd) => state.by_fd.get(fd),
        };
        key.copied().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                format!("{op}: not registered with this poller"),
            )
        })
    }

    /// Changes the interest and token of a registration.
    pub fn modify(&self, target: &Target, events: u32, token: u64) -> Result<()> {
        let bits = check_interest("poller_modify", events)?;
        let mut state = self.state.lock();
        if state.closed {
            return Err(closed_error("poller_modify"));
        }
        let key = Self::key_of(&state, target, "poller_modify")?;
        let fd = match target {
            Target::Socket(_, s) => s.fileno(),
            Target::Fd(fd) => *fd,
        };
        epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_MOD, fd, bits, key)
            .map_err(|e| Error::from_io("poller_modify: epoll_ctl", &e))?;
        if let Some(reg) = state.by_key.get_mut(&key) {
            reg.token = token;
        }
        Ok(())
    }

    /// Ends a registration.
    pub fn remove(self: &Arc<Self>, target: &Target) -> Result<()> {
        let removed = {
            let mut state = self.state.lock();
            if state.closed {
                return Err(closed_error("poller_remove"));
            }
            let key = Self::key_of(&state, target, "poller_remove")?;
            self.unregister(&mut state, key)
        };
        if let Some(Target::Socket(handle, _)) = &removed {
            forget_watcher(*handle, self);
        }
        Ok(())
    }

    /// Drops registration `key` from the epoll set and the maps; returns its
    /// target (dropped by the caller, outside the lock).
    fn unregister(&self, state: &mut State, key: u64) -> Option<Target> {
        let reg = state.by_key.remove(&key)?;
        let fd = match &reg.target {
            Target::Socket(h, s) => {
                state.by_handle.remove(h);
                s.fileno()
            }
            Target::Fd(fd) => {
                state.by_fd.remove(fd);
                *fd
            }
        };
        // Fails only for a caller's descriptor closed while registered, which
        // the kernel has dropped from the set already.
        let _ = epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, 0, key);
        Some(reg.target)
    }

    /// Socket handle `handle` ended: drop its registration, report it once.
    fn on_handle_ended(&self, handle: Handle) {
        let target = {
            let mut state = self.state.lock();
            let Some(&key) = state.by_handle.get(&handle) else {
                return;
            };
            let token = state.by_key.get(&key).map(|r| r.token);
            let target = self.unregister(&mut state, key);
            if let Some(token) = token {
                state.ended.push(token);
            }
            target
        };
        self.signal();
        drop(target);
    }

    /// Makes the current wait (or the next, if none is waiting) return early.
    pub fn wake(&self) -> Result<()> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(closed_error("poller_wake"));
        }
        state.woken = true;
        drop(state);
        self.signal();
        Ok(())
    }

    /// Waits up to `timeout_ms` (negative: no limit) for ready registrations
    /// and fills `out` with up to `out.len()` of them; returns how many (0 on
    /// timeout or after a `wake`). `Closed` if the poller is closed meanwhile.
    pub fn wait(&self, out: &mut [PollerEvent], timeout_ms: i64) -> Result<usize> {
        const OP: &str = "poller_wait";
        if out.is_empty() || out.len() > MAX_EVENTS {
            return Err(Error::invalid(format!(
                "{OP}: room for {} events; give 1 to {MAX_EVENTS}",
                out.len()
            )));
        }
        let mut raw = vec![libc::epoll_event { events: 0, u64: 0 }; out.len()];
        let mut deadline = Deadline::new(timeout_ms);
        loop {
            let mut n = 0;
            let mut woken = false;
            self.take_ended(out, &mut n, &mut woken)?;
            if n == out.len() {
                return Ok(n);
            }
            let timeout = if n > 0 || woken {
                0
            } else {
                deadline.poll_timeout().unwrap_or(0)
            };
            let room = out.len() - n;
            // SAFETY: raw has room for `room` events; the epoll fd is ours.
            let got = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    raw.as_mut_ptr(),
                    room as libc::c_int,
                    timeout,
                )
            };
            if got < 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINTR) {
                    if n > 0 {
                        return Ok(n);
                    }
                    if crate::sys::interruptible() {
                        return Err(Error::from_errno(OP, libc::EINTR));
                    }
                    continue;
                }
                return Err(Error::from_io(OP, &err));
            }
            let mut ended_sockets = Vec::new();
            let mut saw_wake = false;
            {
                let mut state = self.state.lock();
                if state.closed {
                    return Err(closed_error(OP));
                }
                for ev in &raw[..got as usize] {
                    let key = ev.u64;
                    if key == WAKE_KEY {
                        saw_wake = true;
                        continue;
                    }
                    let Some(reg) = state.by_key.get(&key) else {
                        continue; // removed after the kernel reported it
                    };
                    let token = reg.token;
                    let closed = match &reg.target {
                        Target::Socket(h, s) if s.is_closed() => Some(*h),
                        _ => None,
                    };
                    if let Some(handle) = closed {
                        // Closed under us, and its handle-end report has not
                        // come (or will find nothing): report it now, once.
                        if let Some(t) = self.unregister(&mut state, key) {
                            ended_sockets.push((handle, t));
                        }
                        out[n] = PollerEvent {
                            token,
                            events: ready::CLOSED,
                        };
                    } else {
                        out[n] = PollerEvent {
                            token,
                            events: readiness(ev.events),
                        };
                    }
                    n += 1;
                }
            }
            for (handle, target) in ended_sockets {
                forget_watcher(handle, self);
                drop(target);
            }
            if saw_wake {
                self.drain_wake();
                // Reports that arrived with the wake-up.
                self.take_ended(out, &mut n, &mut woken)?;
            }
            if n > 0 || woken || timeout == 0 || deadline.poll_timeout().is_none() {
                return Ok(n);
            }
        }
    }

    /// Moves pending closed reports (and a pending wake) into `out`.
    fn take_ended(&self, out: &mut [PollerEvent], n: &mut usize, woken: &mut bool) -> Result<()> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(closed_error("poller_wait"));
        }
        if state.woken {
            state.woken = false;
            *woken = true;
        }
        let room = out.len() - *n;
        let take = state.ended.len().min(room);
        for token in state.ended.drain(..take) {
            out[*n] = PollerEvent {
                token,
                events: ready::CLOSED,
            };
            *n += 1;
        }
        Ok(())
    }

    /// Ends every registration and wakes every waiter (they return `Closed`).
    /// Idempotent. The epoll descriptor closes with the last reference.
    pub fn close(self: &Arc<Self>) {
        let registrations = {
            let mut state = self.state.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            self.closed.store(true, Ordering::Release);
            state.by_handle.clear();
            state.by_fd.clear();
            state.ended.clear();
            std::mem::take(&mut state.by_key)
        };
        // Never drained again: every later wait sees it at once.
        self.signal();
        for reg in registrations.into_values() {
            if let Target::Socket(handle, _) = reg.target {
                forget_watcher(handle, self);
            }
        }
    }
}

fn forget_watcher(handle: Handle, poller: &Poller) {
    let mut watchers = WATCHERS.lock();
    if let Some(list) = watchers.get_mut(&handle) {
        let before = list.len();
        list.retain(|w| !std::ptr::eq(w.as_ptr(), poller));
        WATCHED.fetch_sub(before - list.len(), Ordering::Relaxed);
        if list.is_empty() {
            watchers.remove(&handle);
        }
    }
}

/// Called by the handle table when socket handle `handle` ends: every poller
/// it is registered with drops it and reports it once as closed.
pub(crate) fn handle_ended(handle: Handle) {
    if WATCHED.load(Ordering::Relaxed) == 0 {
        return;
    }
    let pollers = {
        let mut watchers = WATCHERS.lock();
        match watchers.remove(&handle) {
            Some(list) => {
                WATCHED.fetch_sub(list.len(), Ordering::Relaxed);
                list
            }
            None => return,
        }
    };
    for poller in pollers.iter().filter_map(Weak::upgrade) {
        poller.on_handle_ended(handle);
    }
}

/// What one non-blocking send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// This many bytes went into the send buffer (maybe fewer than asked).
    Bytes(usize),
    /// The send buffer is full: nothing was sent.
    WouldBlock,
}

/// One send(2) of `buf` on a stream socket that never waits and never raises
/// SIGPIPE (MSG_DONTWAIT | MSG_NOSIGNAL): the fan-out's step per subscriber.
pub fn try_send(socket: &Socket, buf: &[u8]) -> Result<Sent> {
    const OP: &str = "send_many";
    if socket.is_closed() {
        return Err(Error::new(
            ErrorKind::Closed,
            format!("{OP}: the handle was closed by another call"),
        ));
    }
    if socket.kind() != crate::addr::Kind::Stream {
        return Err(Error::new(
            ErrorKind::WrongKind,
            format!("{OP}: a datagram socket; send_many serves streams"),
        ));
    }
    if socket.is_listening() {
        return Err(Error::new(
            ErrorKind::InvalidState,
            format!("{OP}: socket is listening"),
        ));
    }
    loop {
        // SAFETY: buf is a valid readable slice; the descriptor stays open
        // while `socket` (held by the caller) lives.
        let n = unsafe {
            libc::send(
                socket.fileno(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(Sent::Bytes(n as usize));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(Sent::WouldBlock),
            _ => return Err(Error::from_io(OP, &err)),
        }
    }
}

/// The fan-out: sends `data` to each handle once with [`try_send`] and
/// writes each handle's outcome: the byte count, `would_block`, or
/// `code(kind)` of its error. Returns how many took all of `data`.
pub fn send_many(
    handles: &[Handle],
    data: &[u8],
    results: &mut [i64],
    lookup: impl Fn(Handle) -> Result<Arc<Socket>>,
    code: impl Fn(ErrorKind) -> i64,
    would_block: i64,
) -> usize {
    let mut whole = 0;
    for (&h, r) in handles.iter().zip(results.iter_mut()) {
        *r = match lookup(h).and_then(|s| try_send(&s, data)) {
            Ok(Sent::Bytes(sent)) => {
                whole += usize::from(sent == data.len());
                sent as i64
            }
            Ok(Sent::WouldBlock) => would_block,
            Err(e) => code(e.kind()),
        };
    }
    whole
}
