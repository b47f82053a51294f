//! The poller: one epoll set with caller tokens, as a handle
//! (sockrt_poller_*), and the one-call fan-out (sockrt_send_many).
//!
//! A poller is a handle like any other: generation-checked, closed with
//! sockrt_close (which wakes a thread blocked in sockrt_poller_wait: it
//! returns SOCKRT_E_CLOSED), counted by sockrt_open_handles. Several threads
//! may use one poller: one waits while others add, modify and remove.
//! Readiness is level-triggered unless SOCKRT_POLL_EDGE is given.
//!
//! A registered socket handle is held by the poller, so its descriptor
//! number cannot be reused while it is registered. When the handle ends
//! (sockrt_close, pool release or discard) its registration ends too and the
//! next wait reports its token once with SOCKRT_POLL_CLOSED alone.

use super::*;
use crate::poller::{self as rt, Poller, PollerEvent, Target};
use crate::registry;

/// sockrt_poller_add / _modify (interest only): edge-triggered, report a
/// readiness change once until the caller has consumed it (read or written
/// until SOCKRT_E_WOULD_BLOCK). Without it, readiness is level-triggered.
pub const SOCKRT_POLL_EDGE: u32 = 32;

/// The most events one sockrt_poller_wait reports (its `max` limit).
pub const SOCKRT_POLLER_MAX_EVENTS: usize = 65536;

const _: () = {
    assert!(SOCKRT_POLL_EDGE == rt::EDGE);
    assert!(SOCKRT_POLLER_MAX_EVENTS == rt::MAX_EVENTS);
};

/// One ready registration, filled in by sockrt_poller_wait.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sockrt_poll_event {
    /// The token given to sockrt_poller_add / _modify.
    pub token: u64,
    /// SOCKRT_POLL_IN / _OUT ready, plus SOCKRT_POLL_ERR / _HUP; or
    /// SOCKRT_POLL_CLOSED alone: the handle ended while registered (reported
    /// once; the registration is gone).
    pub events: u32,
    /// Zero; room for later use.
    pub reserved: u32,
}

fn socket_target(h: sockrt_handle, op: &str) -> Result<Target> {
    Ok(Target::Socket(h, registry::socket(h, op)?))
}

/// Creates a poller (an epoll set and one eventfd: two descriptors,
/// close-on-exec) and writes its handle to `*out`; close it with
/// sockrt_close. Errors: SOCKRT_E_INVALID_ARGUMENT (`out` NULL),
/// SOCKRT_E_LIMIT (out of descriptors or handles).
#[no_mangle]
pub extern "C" fn sockrt_poller_open(out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let poller = Poller::new(registry::is_live)?;
        let handle = registry::insert(registry::Object::Poller(poller), "poller_open")?;
        write_out(out, "out", handle)
    })
}

/// Registers socket handle `h` (stream, listener or datagram) with the
/// poller for `events`: SOCKRT_POLL_IN and/or SOCKRT_POLL_OUT, optionally
/// SOCKRT_POLL_EDGE (events 0 registers for errors and hang-ups only).
/// `token` comes back with every event of this registration. Does not block.
/// Errors: SOCKRT_E_BAD_HANDLE (either handle), SOCKRT_E_WRONG_KIND (`poller`
/// is not a poller, or `h` is not a socket: a TLS stream is refused, since
/// the input it has decrypted already is invisible to epoll), SOCKRT_E_INVALID_ARGUMENT
/// (unknown event bits), SOCKRT_E_INVALID_STATE (`h` is registered with this
/// poller already, by handle or by its descriptor).
#[no_mangle]
pub extern "C" fn sockrt_poller_add(
    poller: sockrt_handle,
    h: sockrt_handle,
    events: u32,
    token: u64,
) -> i32 {
    boundary(|| {
        let p = registry::poller(poller, "poller_add")?;
        p.add(socket_target(h, "poller_add")?, events, token)
    })
}

/// Changes the interest and token of `h`'s registration (same `events` as
/// sockrt_poller_add). Errors as sockrt_poller_add, and
/// SOCKRT_E_INVALID_STATE if `h` is not registered with this poller.
#[no_mangle]
pub extern "C" fn sockrt_poller_modify(
    poller: sockrt_handle,
    h: sockrt_handle,
    events: u32,
    token: u64,
) -> i32 {
    boundary(|| {
        let p = registry::poller(poller, "poller_modify")?;
        p.modify(&socket_target(h, "poller_modify")?, events, token)
    })
}

/// Ends `h`'s registration; no event for it is reported afterwards.
/// Errors: SOCKRT_E_BAD_HANDLE, SOCKRT_E_WRONG_KIND, SOCKRT_E_INVALID_STATE
/// (`h` is not registered with this poller; a handle that ended has been
/// removed already, and was reported with SOCKRT_POLL_CLOSED).
#[no_mangle]
pub extern "C" fn sockrt_poller_remove(poller: sockrt_handle, h: sockrt_handle) -> i32 {
    boundary(|| {
        let p = registry::poller(poller, "poller_remove")?;
        p.remove(&socket_target(h, "poller_remove")?)
    })
}

/// Registers a descriptor that is not a sockrt handle (a pipe, an eventfd,
/// another library's socket) by number, as sockrt_poller_add does for a
/// handle. The caller keeps it open while it is registered and removes it
/// before closing it (as with epoll, a descriptor closed while registered is
/// dropped silently). Errors: SOCKRT_E_INVALID_ARGUMENT (negative `fd`,
/// unknown event bits), SOCKRT_E_INVALID_STATE (registered already),
/// SOCKRT_E_IO (errno EBADF: not an open descriptor; EPERM: a descriptor
/// epoll cannot watch, such as a regular file).
#[no_mangle]
pub extern "C" fn sockrt_poller_add_fd(
    poller: sockrt_handle,
    fd: i32,
    events: u32,
    token: u64,
) -> i32 {
    boundary(|| registry::poller(poller, "poller_add_fd")?.add(Target::Fd(fd), events, token))
}

/// Changes the interest and token of descriptor `fd`'s registration.
/// Errors as sockrt_poller_modify.
#[no_mangle]
pub extern "C" fn sockrt_poller_modify_fd(
    poller: sockrt_handle,
    fd: i32,
    events: u32,
    token: u64,
) -> i32 {
    boundary(|| {
        registry::poller(poller, "poller_modify_fd")?.modify(&Target::Fd(fd), events, token)
    })
}

/// Ends descriptor `fd`'s registration. Errors as sockrt_poller_remove.
#[no_mangle]
pub extern "C" fn sockrt_poller_remove_fd(poller: sockrt_handle, fd: i32) -> i32 {
    boundary(|| registry::poller(poller, "poller_remove_fd")?.remove(&Target::Fd(fd)))
}

/// Waits up to `timeout_ms` (negative: no limit; 0: do not wait) until a
/// registration is ready, then fills `events[0..max]` and returns how many it
/// filled (0 on timeout, or after sockrt_poller_wake). One epoll_wait,
/// however many registrations. A signal ends the wait with
/// SOCKRT_E_INTERRUPTED only if this thread asked for that
/// (sockrt_set_interruptible); otherwise the wait goes on.
/// Errors: SOCKRT_E_INVALID_ARGUMENT (`events` NULL, `max` 0 or above
/// SOCKRT_POLLER_MAX_EVENTS), SOCKRT_E_BAD_HANDLE, SOCKRT_E_WRONG_KIND,
/// SOCKRT_E_CLOSED (the poller was closed during the wait),
/// SOCKRT_E_INTERRUPTED (see above).
#[no_mangle]
pub extern "C" fn sockrt_poller_wait(
    poller: sockrt_handle,
    events: *mut sockrt_poll_event,
    max: usize,
    timeout_ms: i32,
) -> i32 {
    boundary::<Count>(|| {
        if events.is_null() {
            return Err(Error::invalid("events is NULL"));
        }
        if max == 0 || max > rt::MAX_EVENTS {
            return Err(Error::invalid(format!(
                "max {max} is not in 1..={}",
                rt::MAX_EVENTS
            )));
        }
        let p = registry::poller(poller, "poller_wait")?;
        let mut ready = vec![PollerEvent::default(); max];
        let n = p.wait(&mut ready, i64::from(timeout_ms))?;
        for (i, e) in ready[..n].iter().enumerate() {
            // SAFETY: events holds max >= n entries (header contract).
            unsafe {
                events.add(i).write(sockrt_poll_event {
                    token: e.token,
                    events: e.events,
                    reserved: 0,
                })
            };
        }
        Ok(n as i32)
    })
    .0
}

/// Makes the thread blocked in sockrt_poller_wait on this poller return 0
/// now (or the next wait, if none is blocked). Does not block. Errors:
/// SOCKRT_E_BAD_HANDLE, SOCKRT_E_WRONG_KIND.
#[no_mangle]
pub extern "C" fn sockrt_poller_wake(poller: sockrt_handle) -> i32 {
    boundary(|| registry::poller(poller, "poller_wake")?.wake())
}

/// Fan-out: sends the same `len` bytes of `buf` once to each of the `n`
/// stream handles, without ever blocking (one send(2) each with
/// MSG_DONTWAIT | MSG_NOSIGNAL), and writes each handle's result to
/// `results[i]`: the bytes it took (fewer than `len` when its send buffer
/// filled: the caller sends the rest later), or a negative code for that
/// handle alone: SOCKRT_E_WOULD_BLOCK (send buffer full, nothing sent),
/// SOCKRT_E_BAD_HANDLE, SOCKRT_E_WRONG_KIND (not a plain stream: a TLS
/// stream is refused), SOCKRT_E_CLOSED,
/// SOCKRT_E_CONNECTION_RESET (the peer is gone), SOCKRT_E_NOT_CONNECTED, ...
/// A full or failed subscriber never delays the others. Per-handle failures
/// are not recorded as this thread's last error. Returns how many handles
/// took all `len` bytes, or a negative code (nothing sent) for:
/// SOCKRT_E_INVALID_ARGUMENT (`handles` or `results` NULL with `n` > 0,
/// `buf` NULL with `len` > 0, a length too large).
#[no_mangle]
pub extern "C" fn sockrt_send_many(
    handles: *const sockrt_handle,
    n: usize,
    buf: *const std::ffi::c_void,
    len: usize,
    results: *mut i64,
) -> i64 {
    boundary::<i64>(|| {
        let data = in_buf(buf, len)?;
        if n == 0 {
            return Ok(0);
        }
        if handles.is_null() {
            return Err(Error::invalid("handles is NULL"));
        }
        if results.is_null() {
            return Err(Error::invalid("results is NULL"));
        }
        if n > isize::MAX as usize / 8 {
            return Err(Error::invalid(format!("n {n} is too large")));
        }
        // SAFETY: the caller vouches for n handles and n results.
        let handles = unsafe { std::slice::from_raw_parts(handles, n) };
        // SAFETY: as above; results may not alias handles (header contract).
        let results = unsafe { std::slice::from_raw_parts_mut(results, n) };
        Ok(rt::send_many(
            handles,
            data,
            results,
            |h| registry::socket(h, "send_many"),
            |kind| i64::from(code_of(kind)),
            i64::from(SOCKRT_E_WOULD_BLOCK),
        ))
    })
}
