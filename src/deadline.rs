//! Deadlines for blocking calls, and the poll(2) timeouts that honour them.

use crate::error::{Error, ErrorKind};
use std::time::{Duration, Instant};

/// How long a call may wait, in the three shapes the engine treats apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No timeout: the one blocking system call.
    Forever,
    /// Timeout 0: try once without blocking.
    NoWait,
    /// A positive timeout, in milliseconds.
    Within(u64),
}

/// When a blocking call gives up; computed on first need, since most calls
/// never wait and the default (wait forever) needs no clock read at all.
pub(crate) struct Deadline {
    timeout_ms: i64,
    at: Option<Instant>,
    /// Whether a blocking attempt already spent part of the time: later
    /// attempts of the same call wait in poll(2) for the time left.
    waited: bool,
}

impl Deadline {
    pub(crate) fn new(timeout_ms: i64) -> Self {
        Deadline {
            timeout_ms,
            at: None,
            waited: false,
        }
    }

    pub(crate) fn mode(&self) -> Mode {
        match self.timeout_ms {
            ms if ms < 0 => Mode::Forever,
            0 => Mode::NoWait,
            ms => Mode::Within(ms as u64),
        }
    }

    /// Starts the clock (if it has not started) and says whether this is the
    /// call's first blocking attempt, which may use the kernel's timeout.
    pub(crate) fn first_wait(&mut self) -> bool {
        self.instant();
        !std::mem::replace(&mut self.waited, true)
    }

    /// Marks the time as partly spent (after a busy-poll spin or an EINTR).
    pub(crate) fn mark_waited(&mut self) {
        self.instant();
        self.waited = true;
    }

    pub(crate) fn instant(&mut self) -> Option<Instant> {
        if self.timeout_ms < 0 {
            return None;
        }
        let ms = self.timeout_ms as u64;
        Some(
            *self
                .at
                .get_or_insert_with(|| Instant::now() + Duration::from_millis(ms)),
        )
    }

    /// The poll(2) timeout to use now, or `None` once the deadline passed.
    pub(crate) fn poll_timeout(&mut self) -> Option<libc::c_int> {
        let Some(at) = self.instant() else {
            return Some(-1);
        };
        let left = at.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        // Round up so a wait never ends a hair early and spins.
        let ms = left.as_micros().div_ceil(1000);
        Some(ms.min(libc::c_int::MAX as u128) as libc::c_int)
    }

    pub(crate) fn expired(&self, op: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!("{op}: timed out after {} ms", self.timeout_ms),
        )
    }
}
