//! Waiting on several sockets at once (`sockrt_poll`).

use crate::deadline::Deadline;
use crate::error::{Error, Result};
use crate::socket::Socket;
use std::io;

/// Readiness bits; the C ABI uses the same values.
pub(crate) mod ready {
    pub(crate) const IN: u32 = 1;
    pub(crate) const OUT: u32 = 2;
    pub(crate) const ERR: u32 = 4;
    pub(crate) const HUP: u32 = 8;
    /// The handle was closed while the poll waited.
    pub(crate) const CLOSED: u32 = 16;
}

/// One entry of a [`poll`] call.
pub struct PollEntry<'a> {
    pub socket: &'a Socket,
    /// `ready::IN` and/or `ready::OUT`.
    pub wanted: u32,
    /// Filled in: what is ready, plus `ERR`, `HUP` or `CLOSED`.
    pub ready: u32,
}

/// Waits until one of `entries` is ready, or `timeout_ms` passes (negative:
/// no limit). Returns how many entries are ready (0 on timeout). Closing a
/// polled socket from another thread ends the wait with `ready::CLOSED` set.
pub fn poll(entries: &mut [PollEntry<'_>], timeout_ms: i64) -> Result<usize> {
    let mut fds = Vec::with_capacity(entries.len());
    for e in entries.iter() {
        let mut events = 0;
        if e.wanted & ready::IN != 0 {
            events |= libc::POLLIN;
        }
        if e.wanted & ready::OUT != 0 {
            events |= libc::POLLOUT;
        }
        fds.push(libc::pollfd {
            fd: e.socket.fileno(),
            events,
            revents: 0,
        });
    }
    // A socket closed before or during the wait was shut down (see
    // socket::gate), so poll(2) reports a hang-up on it at once.
    let closed_already = entries.iter().any(|e| e.socket.is_closed());
    let mut deadline = Deadline::new(if closed_already { 0 } else { timeout_ms });
    loop {
        let timeout = deadline.poll_timeout().unwrap_or(0);
        // SAFETY: fds is a valid array of pollfds of the given length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                if crate::sys::interruptible() {
                    return Err(Error::from_io("poll", &err));
                }
                continue;
            }
            return Err(Error::from_io("poll", &err));
        }
        let mut count = 0;
        for (e, fd) in entries.iter_mut().zip(&fds) {
            e.ready = readiness(fd.revents, e.socket.is_closed());
            count += usize::from(e.ready != 0);
        }
        if count > 0 || timeout == 0 || deadline.poll_timeout().is_none() {
            return Ok(count);
        }
    }
}

fn readiness(revents: libc::c_short, closed: bool) -> u32 {
    let mut out = 0;
    for (bit, flag) in [
        (libc::POLLIN, ready::IN),
        (libc::POLLOUT, ready::OUT),
        (libc::POLLERR, ready::ERR),
        (libc::POLLHUP, ready::HUP),
    ] {
        if revents & bit != 0 {
            out |= flag;
        }
    }
    if closed {
        out |= ready::CLOSED;
    }
    out
}
