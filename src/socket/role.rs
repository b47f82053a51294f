//! Where a socket is in the classic flow, as one atomic state machine.

use crate::error::{Error, ErrorKind, Result};
use std::sync::atomic::{AtomicU8, Ordering};

/// The role a socket plays; moves only forward, except that a failed bind or
/// listen puts back the role it had.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Fresh = 0,
    Bound = 1,
    Listening = 2,
    Connecting = 3,
    Connected = 4,
    /// A stream connect failed: the kernel may still finish or abort it
    /// later, so the socket is good for nothing but close.
    ConnectFailed = 5,
    /// A non-blocking connect is under way; readiness for writing and
    /// `SO_ERROR` tell how it ended.
    ConnectingInBackground = 6,
}

impl Role {
    const ALL: [Role; 7] = [
        Role::Fresh,
        Role::Bound,
        Role::Listening,
        Role::Connecting,
        Role::Connected,
        Role::ConnectFailed,
        Role::ConnectingInBackground,
    ];

    fn why_not(self) -> &'static str {
        match self {
            Role::Bound => "socket is already bound",
            Role::Listening => "socket is already listening",
            Role::Connecting | Role::ConnectingInBackground => "socket is connecting",
            Role::Connected => "socket is already connected",
            Role::ConnectFailed => "its connect failed; close it and make a new socket",
            Role::Fresh => "socket is neither bound nor connected",
        }
    }
}

/// A [`Role`] shared between threads.
pub(crate) struct AtomicRole(AtomicU8);

impl AtomicRole {
    pub(crate) fn new(role: Role) -> Self {
        AtomicRole(AtomicU8::new(role as u8))
    }

    pub(crate) fn get(&self) -> Role {
        let raw = self.0.load(Ordering::Acquire);
        Role::ALL[usize::from(raw)]
    }

    pub(crate) fn set(&self, role: Role) {
        self.0.store(role as u8, Ordering::Release);
    }

    /// Moves from `from` to `to` if the role is still `from`.
    pub(crate) fn replace(&self, from: Role, to: Role) -> bool {
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Moves from one of `from` to `to`, or explains why not; returns the
    /// role it left.
    pub(crate) fn advance(&self, from: &[Role], to: Role, op: &str) -> Result<Role> {
        loop {
            let current = self.get();
            if !from.contains(&current) {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    format!("{op}: {}", current.why_not()),
                ));
            }
            if self.replace(current, to) {
                return Ok(current);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips() {
        let role = AtomicRole::new(Role::Fresh);
        for r in Role::ALL {
            role.set(r);
            assert_eq!(role.get(), r);
        }
    }

    #[test]
    fn advance_refuses_with_the_reason() {
        let role = AtomicRole::new(Role::Listening);
        let err = role
            .advance(&[Role::Fresh, Role::Bound], Role::Connecting, "connect")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
        assert_eq!(err.message(), "connect: socket is already listening");
        assert_eq!(role.get(), Role::Listening);
    }
}
