//! Close-that-wakes: how `close` reaches a call blocked on a socket.
//!
//! Each thread that ever blocks in the library has one notifier, an eventfd.
//! A call about to block *arms* the socket's close signal with its thread's
//! notifier: under the signal's lock it checks that the socket is not
//! closed and registers the notifier. It then waits on its socket *and* the
//! notifier, and unregisters when the wait ends. `close` sets the closed flag
//! and fires every registered notifier, also under the lock. So either the
//! call arms first and the notification reaches it (an eventfd stays
//! readable until read), or `close` runs first and arming fails with
//! `Closed`. No wake-up can be lost in between; tests/loom.rs checks this
//! over every interleaving.
//!
//! A notifier fired for a wait is drained when that wait unregisters, so it
//! is clean for the thread's next wait. Sockets own no descriptor for this:
//! a connection costs one descriptor, however many times it waits.

use crate::sync::{AtomicBool, Mutex, Ordering};
use std::cell::OnceCell;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The notifiers waiting threads register and `close` fires.
pub trait Notifier {
    /// Names one waiter's notifier.
    type Token: Clone + PartialEq;
    /// Wakes the waiter `token` belongs to.
    fn notify(token: &Self::Token);
    /// Makes a fired notifier quiet again, once its waiter has woken.
    fn clear(token: &Self::Token);
}

/// Arming failed: the socket is closed.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

struct Waiter<T> {
    token: T,
    notified: bool,
}

struct State<T> {
    closed: bool,
    waiters: Vec<Waiter<T>>,
}

/// The closed flag of one socket and the notifiers of the calls waiting on it.
pub struct CloseSignal<N: Notifier> {
    state: Mutex<State<N::Token>>,
    // `state.closed`, readable without the lock.
    closed: AtomicBool,
    notifier: PhantomData<N>,
}

/// A call's registration for the duration of one wait; unregisters (and
/// drains its notifier if `close` fired it) when dropped.
pub struct Armed<'a, N: Notifier> {
    signal: &'a CloseSignal<N>,
    token: N::Token,
}

impl<N: Notifier> Armed<'_, N> {
    pub fn token(&self) -> &N::Token {
        &self.token
    }
}

impl<N: Notifier> Drop for Armed<'_, N> {
    fn drop(&mut self) {
        let mut state = self.signal.state.lock();
        let Some(i) = state.waiters.iter().position(|w| w.token == self.token) else {
            return;
        };
        let waiter = state.waiters.swap_remove(i);
        drop(state);
        if waiter.notified {
            N::clear(&waiter.token);
        }
    }
}

impl<N: Notifier> Default for CloseSignal<N> {
    fn default() -> Self {
        CloseSignal {
            state: Mutex::new(State {
                closed: false,
                waiters: Vec::new(),
            }),
            closed: AtomicBool::new(false),
            notifier: PhantomData,
        }
    }
}

impl<N: Notifier> CloseSignal<N> {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Registers `token` (the calling thread's notifier) for one wait, or
    /// refuses if the socket is closed already.
    pub fn arm(&self, token: N::Token) -> Result<Armed<'_, N>, Closed> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(Closed);
        }
        state.waiters.push(Waiter {
            token: token.clone(),
            notified: false,
        });
        Ok(Armed {
            signal: self,
            token,
        })
    }

    /// Marks the socket closed and wakes every armed call. Idempotent.
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        self.closed.store(true, Ordering::Release);
        for waiter in state.waiters.iter_mut().filter(|w| !w.notified) {
            N::notify(&waiter.token);
            waiter.notified = true;
        }
    }
}

/// The calling thread's eventfd, closed when the thread exits.
pub struct ThreadEventFd;

thread_local! {
    static THREAD_EVENTFD: OnceCell<OwnedFd> = const { OnceCell::new() };
}

impl ThreadEventFd {
    /// This thread's notifier, made on its first wait.
    pub fn current() -> io::Result<RawFd> {
        THREAD_EVENTFD.with(|cell| {
            if let Some(fd) = cell.get() {
                return Ok(fd.as_raw_fd());
            }
            // SAFETY: eventfd creates a new descriptor that we take ownership of.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: fd is a fresh descriptor owned by nobody else.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(cell.get_or_init(|| owned).as_raw_fd())
        })
    }
}

impl Notifier for ThreadEventFd {
    type Token = RawFd;

    /// The waiting thread is inside its wait, so its eventfd is open.
    fn notify(fd: &RawFd) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes to a live eventfd; the counter cannot
        // overflow, as it is drained after every wait it fires.
        unsafe { libc::write(*fd, (&one as *const u64).cast(), 8) };
    }

    fn clear(fd: &RawFd) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes from our own non-blocking eventfd; EAGAIN
        // (already drained) is fine.
        unsafe { libc::read(*fd, (&mut count as *mut u64).cast(), 8) };
    }
}
