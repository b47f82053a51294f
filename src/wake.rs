//! Close-that-wakes: how `close` reaches a call blocked on a socket.
//!
//! A call about to block first *arms* the signal: under the lock it checks
//! that the socket is not closed, makes the notifier (an eventfd) if there is
//! none yet and counts itself as waiting; then it waits on its socket *and*
//! the notifier, and disarms when the wait ends. `close` sets the closed flag
//! and, if anyone is waiting, fires the notifier, also under the lock. So
//! either the call arms first and the notification reaches it (an eventfd
//! stays readable once written), or `close` runs first and arming fails with
//! `Closed`. No wake-up can be lost in between; tests/loom.rs checks this
//! over every interleaving.
//!
//! Costs: most sockets never wait, so the notifier is made on first need,
//! and `close` fires it only if a call is actually waiting.

use crate::sync::{AtomicBool, Mutex, Ordering};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Something a blocked call can wait on and `close` can fire.
pub trait Notifier: Sized {
    /// What the waiting call needs to wait (a descriptor, for poll(2)).
    type Token: Clone;
    fn create() -> io::Result<Self>;
    fn token(&self) -> Self::Token;
    /// Wakes every waiter, now and in the future.
    fn notify(&self);
}

/// Why a call may not block.
#[derive(Debug)]
pub enum ArmError {
    Closed,
    Notifier(io::Error),
}

struct State<N> {
    closed: bool,
    fired: bool,
    waiting: u32,
    notifier: Option<N>,
}

/// The closed flag of one socket and its lazily made notifier.
pub struct CloseSignal<N: Notifier> {
    state: Mutex<State<N>>,
    // `state.closed`, readable without the lock by calls that have not armed.
    closed: AtomicBool,
}

/// A call's permission to block; disarms when dropped.
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
        self.signal.state.lock().waiting -= 1;
    }
}

impl<N: Notifier> Default for CloseSignal<N> {
    fn default() -> Self {
        CloseSignal {
            state: Mutex::new(State {
                closed: false,
                fired: false,
                waiting: 0,
                notifier: None,
            }),
            closed: AtomicBool::new(false),
        }
    }
}

impl<N: Notifier> CloseSignal<N> {
    /// Whether `close` has run. An unarmed call that checks this before and
    /// after each bounded wait notices a close within one wait.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Prepares a call to block: what to wait on besides the socket, or
    /// `Closed` if the socket was closed already.
    pub fn arm(&self) -> Result<Armed<'_, N>, ArmError> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(ArmError::Closed);
        }
        let token = match &state.notifier {
            Some(notifier) => notifier.token(),
            None => {
                let notifier = N::create().map_err(ArmError::Notifier)?;
                let token = notifier.token();
                state.notifier = Some(notifier);
                token
            }
        };
        state.waiting += 1;
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
        if state.waiting > 0 && !state.fired {
            if let Some(notifier) = &state.notifier {
                notifier.notify();
                state.fired = true;
            }
        }
    }
}

/// A Linux eventfd: readable for good once written.
pub struct EventFd(OwnedFd);

impl Notifier for EventFd {
    type Token = RawFd;

    fn create() -> io::Result<Self> {
        // SAFETY: eventfd creates a new descriptor that we take ownership of.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor owned by nobody else.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Valid while the `CloseSignal` lives: its notifier is never replaced.
    fn token(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes to our own eventfd. Fired at most once per
        // socket, so the counter cannot overflow.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}
