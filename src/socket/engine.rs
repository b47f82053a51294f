//! The blocking engine: how one call waits, times out, spins and ends.
//!
//! Descriptors are blocking. A call with no timeout makes its one blocking
//! system call; `close` wakes it through shutdown(2) (see `gate.rs`). A call
//! with a timeout lets the kernel time its first attempt (SO_RCVTIMEO /
//! SO_SNDTIMEO, set only when the value changes) and waits in poll(2) for the
//! time left on later attempts. Tries that must not block use `MSG_DONTWAIT`.
//! EINTR is retried, unless the thread asked to be told (`sys::interruptible`).

use super::Socket;
use crate::deadline::{Deadline, Mode};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::Ordering;
use crate::sys::{self, errno_of};
use std::io;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

/// Which way a call moves data: it picks the kernel timeout and poll event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// How one attempt may behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Try {
    /// The blocking system call.
    Block,
    /// Must not block (`MSG_DONTWAIT`).
    DontWait,
}

impl Try {
    pub(crate) fn flags(self) -> libc::c_int {
        match self {
            Try::Block => 0,
            Try::DontWait => libc::MSG_DONTWAIT,
        }
    }
}

/// A busy-poll budget shrinks to at most 1/2^this after repeated misses.
const SPIN_MISSES_MAX: u32 = 4;

/// The kernel timeout is not known (a raw setsockopt may have changed it).
pub(crate) const KERNEL_TIMEOUT_UNKNOWN: i64 = i64::MIN;

pub(crate) fn closed_error(op: &str) -> Error {
    Error::new(
        ErrorKind::Closed,
        format!("{op}: the handle was closed by another call"),
    )
}

fn interrupted(op: &str) -> Error {
    Error::from_errno(op, libc::EINTR)
}

impl Socket {
    /// `Closed` if the socket was closed: checked before a call's first
    /// system call, so no call starts I/O after `close` returned.
    pub(crate) fn check_open(&self, op: &str) -> Result<()> {
        self.gate.enter().map_err(|_| closed_error(op))
    }

    /// Runs one operation to completion: `attempt` makes one system call in
    /// the way `Try` says. Receives and accepts in latency mode spin first.
    pub(crate) fn run<T>(
        &self,
        dir: Dir,
        deadline: &mut Deadline,
        op: &str,
        mut attempt: impl FnMut(Try) -> io::Result<T>,
    ) -> Result<T> {
        self.check_open(op)?;
        if dir == Dir::Read && deadline.mode() != Mode::NoWait {
            if let Some(v) = self.spin(deadline, &mut attempt, op)? {
                return Ok(v);
            }
        }
        loop {
            let how = match deadline.mode() {
                Mode::Forever => {
                    self.sync_kernel_timeout(dir, None, op)?;
                    Try::Block
                }
                Mode::NoWait => Try::DontWait,
                Mode::Within(ms) if deadline.first_wait() => {
                    self.sync_kernel_timeout(dir, Some(ms * 1000), op)?;
                    Try::Block
                }
                Mode::Within(_) => {
                    self.wait_ready(dir, deadline, op)?;
                    Try::DontWait
                }
            };
            let err = match attempt(how) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if self.is_closed() {
                return Err(closed_error(op));
            }
            match errno_of(&err) {
                libc::EINTR if sys::interruptible() => return Err(interrupted(op)),
                libc::EINTR => deadline.mark_waited(),
                libc::EAGAIN => match deadline.mode() {
                    Mode::NoWait => return Err(deadline.expired(op)),
                    // Someone made the borrowed descriptor non-blocking:
                    // wait for readiness instead.
                    Mode::Forever => {
                        self.wait_ready(dir, deadline, op)?;
                    }
                    Mode::Within(_) => {}
                },
                _ => return Err(Error::from_io(op, &err)),
            }
        }
    }

    /// Latency mode: retries `attempt` without blocking for up to the busy
    /// budget or the deadline, whichever ends first, checking for close every
    /// turn. Each failed try yields the CPU, so a peer on this CPU can answer.
    /// Every spin that ends empty-handed halves the next one (down to 1/16);
    /// one that catches its data restores it.
    fn spin<T>(
        &self,
        deadline: &mut Deadline,
        attempt: &mut impl FnMut(Try) -> io::Result<T>,
        op: &str,
    ) -> Result<Option<T>> {
        let budget_us = self.busy_poll_us.load(Ordering::Relaxed);
        if budget_us == 0 {
            return Ok(None);
        }
        let misses = self.spin_misses.load(Ordering::Relaxed);
        let start = Instant::now();
        let mut end = start + Duration::from_micros(u64::from(budget_us >> misses));
        if let Some(at) = deadline.instant() {
            end = end.min(at);
        }
        deadline.mark_waited();
        loop {
            self.check_open(op)?;
            match attempt(Try::DontWait) {
                Ok(v) => {
                    if misses != 0 {
                        self.spin_misses.store(0, Ordering::Relaxed);
                    }
                    return Ok(Some(v));
                }
                Err(e) if matches!(errno_of(&e), libc::EAGAIN | libc::EINTR) => {}
                Err(e) => return Err(Error::from_io(op, &e)),
            }
            if Instant::now() >= end {
                break;
            }
            sys::yield_now();
        }
        self.spin_misses
            .store((misses + 1).min(SPIN_MISSES_MAX), Ordering::Relaxed);
        Ok(None)
    }

    /// Waits in poll(2) until the socket is ready for `dir`, the deadline
    /// passes (`Timeout`) or the socket is closed (`Closed`: shutdown makes
    /// poll report a hang-up). Returns the revents.
    pub(crate) fn wait_ready(
        &self,
        dir: Dir,
        deadline: &mut Deadline,
        op: &str,
    ) -> Result<libc::c_short> {
        let events = match dir {
            Dir::Read => libc::POLLIN,
            Dir::Write => libc::POLLOUT,
        };
        loop {
            let timeout = deadline
                .poll_timeout()
                .ok_or_else(|| deadline.expired(op))?;
            match sys::poll_one(self.fileno(), events, timeout) {
                Ok(0) => continue,
                Ok(revents) => {
                    if self.is_closed() {
                        return Err(closed_error(op));
                    }
                    return Ok(revents);
                }
                Err(e) if errno_of(&e) == libc::EINTR => {
                    if sys::interruptible() {
                        return Err(interrupted(op));
                    }
                }
                Err(e) => return Err(Error::from_io(op, &e)),
            }
        }
    }

    /// Makes the kernel's SO_RCVTIMEO / SO_SNDTIMEO `micros` (`None`: wait
    /// forever), with a system call only when the value changes.
    pub(crate) fn sync_kernel_timeout(
        &self,
        dir: Dir,
        micros: Option<u64>,
        op: &str,
    ) -> Result<()> {
        let (cell, name): (&AtomicI64, _) = match dir {
            Dir::Read => (&self.kernel_rcvtimeo_us, libc::SO_RCVTIMEO),
            Dir::Write => (&self.kernel_sndtimeo_us, libc::SO_SNDTIMEO),
        };
        let want = micros.map_or(-1, |m| m.min(i64::MAX as u64) as i64);
        if cell.load(Ordering::Relaxed) == want {
            return Ok(());
        }
        sys::set_kernel_timeout(self.fileno(), name, micros)
            .map_err(|e| Error::from_io(format!("{op}: setsockopt timeout"), &e))?;
        cell.store(want, Ordering::Relaxed);
        Ok(())
    }
}
