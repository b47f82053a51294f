//! Close-that-wakes, on Linux: how `close` reaches a call blocked on a socket.
//!
//! Descriptors are blocking, so a call with no timeout is one system call.
//! Before its first system call a call checks the gate ([`CloseGate::enter`]);
//! `close` shuts the gate and then shuts the socket down (shutdown(2)). The
//! kernel wakes every call blocked on the socket (recv, send, accept, UDP
//! recvfrom, poll), and the shut-down state is sticky: a call that passed the
//! gate just before `close` and enters its system call just after returns at
//! once. So no wake-up can be lost; tests/loom.rs checks this protocol over
//! every interleaving, against a model of the kernel's sticky shutdown.
//!
//! A forked child shares its parent's open sockets: its close must never shut
//! them down (that would cut the parent's connections), so only the process
//! that made a socket shuts it down; a child just closes its own descriptor.

use crate::sync::{AtomicBool, Ordering};

/// What `close` does to the kernel's socket to wake its blocked calls.
pub trait Wake {
    fn wake_all(&self);
}

/// The gate is shut: the socket was closed.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

/// One socket's closed flag.
#[derive(Default)]
pub struct CloseGate {
    closed: AtomicBool,
}

impl CloseGate {
    /// Permission for a call to make its first system call.
    pub fn enter(&self) -> Result<(), Closed> {
        if self.is_closed() {
            Err(Closed)
        } else {
            Ok(())
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Shuts the gate and wakes the socket's blocked calls through `socket`
    /// (unless `wake` is false: a forked child, a detached descriptor).
    /// Returns false if the gate was shut already.
    pub fn close(&self, socket: &impl Wake, wake: bool) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        if wake {
            socket.wake_all();
        }
        true
    }
}
