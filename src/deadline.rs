//! Deadlines for blocking calls, and the poll(2) timeouts that honour them.

use crate::error::{Error, ErrorKind};
use std::time::{Duration, Instant};

/// When a blocking call gives up; computed on first need, since most calls
/// never wait and the default (wait forever) needs no clock read at all.
pub(crate) struct Deadline {
    timeout_ms: i64,
    at: Option<Instant>,
}

impl Deadline {
    pub(crate) fn new(timeout_ms: i64) -> Self {
        Deadline {
            timeout_ms,
            at: None,
        }
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
