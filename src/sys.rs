//! The raw system calls socket2 does not wrap, and the EINTR policy.
//!
//! A blocking call interrupted by a signal (EINTR) is retried inside the
//! library, unless the calling thread asked to be told
//! ([`set_interruptible`]): then it ends with `ErrorKind::Interrupted`, so a
//! binding whose host runs signal handlers (Python) can run them and retry
//! with the time left.

use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;

thread_local! {
    static INTERRUPTIBLE: Cell<bool> = const { Cell::new(false) };
}

/// Sets this thread's EINTR policy; returns the previous one.
pub fn set_interruptible(on: bool) -> bool {
    INTERRUPTIBLE.with(|flag| flag.replace(on))
}

/// Whether this thread's blocking calls end on EINTR instead of retrying.
pub fn interruptible() -> bool {
    INTERRUPTIBLE.with(Cell::get)
}

/// The errno of a failed call (0 if it carries none).
pub fn errno_of(err: &io::Error) -> i32 {
    err.raw_os_error().unwrap_or(0)
}

/// A libc return value: negative is the thread's errno.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// poll(2) on one descriptor; returns its revents (0 on timeout).
/// `timeout_ms` negative waits forever. EINTR is returned to the caller.
pub fn poll_one(
    fd: RawFd,
    events: libc::c_short,
    timeout_ms: libc::c_int,
) -> io::Result<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    check(unsafe { libc::poll(&mut pfd, 1, timeout_ms) })?;
    Ok(pfd.revents)
}

/// accept4(2) with close-on-exec; the new descriptor is blocking.
pub fn accept(fd: RawFd) -> io::Result<RawFd> {
    // SAFETY: plain accept4 on our descriptor, no address wanted.
    check(unsafe {
        libc::accept4(
            fd,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    })
}

/// shutdown(2) of both directions, or of receiving only.
pub fn shutdown(fd: RawFd, how: libc::c_int) -> io::Result<()> {
    // SAFETY: shutdown takes no pointers.
    check(unsafe { libc::shutdown(fd, how) }).map(drop)
}

/// Bytes waiting to be read (FIONREAD).
pub fn readable_bytes(fd: RawFd) -> io::Result<i64> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    check(unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) })?;
    Ok(i64::from(n))
}

/// setsockopt(2) with caller-supplied bytes.
pub fn setsockopt(fd: RawFd, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    // SAFETY: value is valid for its length.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// getsockopt(2) into caller-supplied bytes; returns the length written.
pub fn getsockopt(fd: RawFd, level: i32, name: i32, value: &mut [u8]) -> io::Result<usize> {
    let mut len = value.len() as libc::socklen_t;
    // SAFETY: value is valid for len bytes; the kernel writes at most len.
    check(unsafe { libc::getsockopt(fd, level, name, value.as_mut_ptr().cast(), &mut len) })?;
    Ok(len as usize)
}

/// An int-valued socket option.
pub fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value = [0u8; 4];
    getsockopt(fd, level, name, &mut value)?;
    Ok(i32::from_ne_bytes(value))
}

/// Sets SO_RCVTIMEO or SO_SNDTIMEO: `None` waits forever.
pub fn set_kernel_timeout(fd: RawFd, name: i32, micros: Option<u64>) -> io::Result<()> {
    let micros = micros.unwrap_or(0);
    let tv = libc::timeval {
        tv_sec: (micros / 1_000_000) as libc::time_t,
        tv_usec: (micros % 1_000_000) as libc::suseconds_t,
    };
    // SAFETY: a timeval is plain bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&tv as *const libc::timeval).cast::<u8>(),
            std::mem::size_of::<libc::timeval>(),
        )
    };
    setsockopt(fd, libc::SOL_SOCKET, name, bytes)
}

/// The calling process's id (fork detection).
pub fn pid() -> u32 {
    std::process::id()
}

/// Yields the CPU (busy-poll turns).
pub fn yield_now() {
    // SAFETY: sched_yield has no arguments and cannot fail on Linux.
    unsafe { libc::sched_yield() };
}

/// connect(2) to AF_UNSPEC: a datagram socket forgets its default peer.
pub fn disconnect(fd: RawFd) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_storage is a valid AF_UNSPEC address.
    let addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: addr is valid for the length given.
    check(unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_storage).cast(),
            std::mem::size_of::<libc::sa_family_t>() as libc::socklen_t,
        )
    })
    .map(drop)
}
