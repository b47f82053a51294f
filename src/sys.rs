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

/// The most descriptors one SCM_RIGHTS message carries on Linux (SCM_MAX_FD).
pub(crate) const MAX_FDS_PER_MESSAGE: usize = 253;

/// Control-buffer bytes for `n` descriptors, as u64 words (CMSG alignment).
fn cmsg_words(n: usize) -> usize {
    // SAFETY: CMSG_SPACE is arithmetic.
    let bytes = unsafe { libc::CMSG_SPACE((n * std::mem::size_of::<RawFd>()) as u32) } as usize;
    bytes.div_ceil(8)
}

/// sendmsg(2) of `buf` with `fds` as SCM_RIGHTS, MSG_NOSIGNAL | `flags`.
/// The descriptors stay the caller's; the receiver gets duplicates.
pub fn send_with_fds(
    fd: RawFd,
    buf: &[u8],
    fds: &[RawFd],
    flags: libc::c_int,
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut control = vec![0u64; cmsg_words(fds.len())];
    // SAFETY: an all-zero msghdr is valid; every pointer set below outlives
    // the call, and the CMSG macros stay inside `control`.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = (control.len() * 8) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of_val(fds) as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr(),
                libc::CMSG_DATA(cmsg).cast::<RawFd>(),
                fds.len(),
            );
            msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of_val(fds) as u32) as _;
        }
        let n = libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL | flags);
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

/// recvmsg(2) into `buf` with room for [`MAX_FDS_PER_MESSAGE`] SCM_RIGHTS
/// descriptors (received close-on-exec); returns the byte count and every
/// descriptor that arrived, now owned by the caller.
pub fn recv_with_fds(
    fd: RawFd,
    buf: &mut [std::mem::MaybeUninit<u8>],
    flags: libc::c_int,
) -> io::Result<(usize, Vec<std::os::fd::OwnedFd>)> {
    use std::os::fd::FromRawFd;
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = vec![0u64; cmsg_words(MAX_FDS_PER_MESSAGE)];
    // SAFETY: as in send_with_fds; the kernel writes at most msg_controllen
    // bytes of control and buf.len() bytes of data.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = (control.len() * 8) as _;
        let n = libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC | flags);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut fds = Vec::new();
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let header = libc::CMSG_LEN(0) as usize;
                let count = ((*cmsg).cmsg_len as usize - header) / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    fds.push(std::os::fd::OwnedFd::from_raw_fd(
                        data.add(i).read_unaligned(),
                    ));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        Ok((n as usize, fds))
    }
}

/// SO_PEERCRED: the peer's (pid, uid, gid) as the kernel recorded them.
pub fn peer_cred(fd: RawFd) -> io::Result<(i32, u32, u32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred is valid for len bytes.
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok((cred.pid, cred.uid, cred.gid))
}

/// The device and inode of the file at `path` if it is a socket.
pub fn socket_file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.file_type()
        .is_socket()
        .then(|| (meta.dev(), meta.ino()))
}
