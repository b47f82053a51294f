//! Unix domain sockets: shortcuts, socketpair, peer credentials and passing
//! descriptors (SCM_RIGHTS).
//!
//! A SOCKRT_UNIX socket is an ordinary socket handle: sockrt_socket,
//! sockrt_bind, sockrt_listen, sockrt_accept, sockrt_connect, every data
//! call, timeouts, sockrt_poll, sockrt_exchange and sockrt_close (which wakes
//! blocked calls) work on it as on TCP and UDP. Addresses are text: a path,
//! or '@' and a name in Linux's abstract namespace; the port is always 0.
//! Unless a function says otherwise, errors are those listed at the top of
//! src/ffi/socket.rs, and SOCKRT_E_WRONG_KIND for a socket that is not Unix.

use super::*;
use crate::registry;
use crate::socket::{Kind, Socket};
use std::ffi::{c_char, c_void};

fn publish(socket: Socket, out: *mut sockrt_handle, op: &str) -> Result<()> {
    let handle = registry::insert_socket(socket, op)?;
    write_out(out, "out", handle)
}

/// Connects a new Unix stream socket to `path` (a filesystem path, or
/// "@name" for Linux's abstract namespace) and writes its handle to `*out`;
/// the caller owns it. The connect completes at once unless the listener's
/// backlog is full: then it waits up to `timeout_ms` (negative: no limit).
/// Errors: SOCKRT_E_CONNECTION_REFUSED (nothing listens there: errno
/// ECONNREFUSED, or ENOENT when no file exists at the path), SOCKRT_E_IO
/// with errno EACCES (no permission), SOCKRT_E_TIMEOUT (backlog full),
/// SOCKRT_E_INVALID_ARGUMENT (`path` NULL, empty, non-UTF-8, longer than
/// 107 bytes, or "@" alone; `out` NULL), SOCKRT_E_LIMIT.
#[no_mangle]
pub extern "C" fn sockrt_unix_connect(
    path: *const c_char,
    timeout_ms: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let path = host_arg(path)?;
        let socket = Socket::unix_connect(path, Kind::Stream, i64::from(timeout_ms))?;
        publish(socket, out, "unix_connect")
    })
}

/// Creates a Unix stream socket listening on `path` (a filesystem path, or
/// "@name") and writes its handle to `*out`; `backlog` <= 0 uses the system
/// default. Like SO_REUSEADDR for sockrt_tcp_listen, SOCKRT_OPT_UNLINK_STALE
/// is on: a stale socket file at the path (nothing bound to it) is removed
/// first; a live socket's file or any other file is not, and makes it fail
/// with SOCKRT_E_ADDRESS_IN_USE. Closing the handle removes the socket file
/// it created (see sockrt_bind). Does not block. Errors: as sockrt_bind.
#[no_mangle]
pub extern "C" fn sockrt_unix_listen(
    path: *const c_char,
    backlog: i32,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let socket = Socket::unix_listen(host_arg(path)?, backlog)?;
        publish(socket, out, "unix_listen")
    })
}

/// Creates two connected, unnamed Unix sockets (socketpair(2)) of `type`
/// SOCKRT_STREAM or SOCKRT_DGRAM and writes their handles to `out[0]` and
/// `out[1]`; the caller owns both (close each). Close-on-exec; does not
/// block. Errors: SOCKRT_E_INVALID_ARGUMENT (`out` NULL, bad `type`),
/// SOCKRT_E_LIMIT (out of descriptors or handles; then neither is made).
#[no_mangle]
pub extern "C" fn sockrt_socketpair(r#type: i32, out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let kind = match r#type {
            SOCKRT_STREAM => Kind::Stream,
            SOCKRT_DGRAM => Kind::Datagram,
            _ => {
                return Err(Error::invalid(format!(
                    "socketpair: type {} is not SOCKRT_STREAM or SOCKRT_DGRAM",
                    r#type
                )))
            }
        };
        let (a, b) = Socket::pair(kind)?;
        let first = registry::insert_socket(a, "socketpair")?;
        let second = match registry::insert_socket(b, "socketpair") {
            Ok(h) => h,
            Err(e) => {
                let _ = registry::close(first);
                return Err(e);
            }
        };
        // SAFETY: `out` is non-NULL and holds two handles (header contract).
        unsafe {
            out.write(first);
            out.add(1).write(second);
        }
        Ok(())
    })
}

/// Writes the credentials of the peer of a connected Unix stream socket (or
/// either end of a socketpair), as the kernel recorded them when the
/// connection was made (SO_PEERCRED): its process id to `*pid`, user id to
/// `*uid`, group id to `*gid`; any of them may be NULL. Does not block.
/// Errors: SOCKRT_E_WRONG_KIND (not a Unix socket), SOCKRT_E_NOT_CONNECTED,
/// SOCKRT_E_INVALID_STATE (a listener).
#[no_mangle]
pub extern "C" fn sockrt_peer_cred(
    h: sockrt_handle,
    pid: *mut i32,
    uid: *mut u32,
    gid: *mut u32,
) -> i32 {
    boundary(|| {
        let cred = registry::socket(h, "peer_cred")?.peer_cred()?;
        if !pid.is_null() {
            write_out(pid, "pid", cred.pid)?;
        }
        if !uid.is_null() {
            write_out(uid, "uid", cred.uid)?;
        }
        if !gid.is_null() {
            write_out(gid, "gid", cred.gid)?;
        }
        Ok(())
    })
}

/// Sends `len` bytes of `buf` on a connected Unix socket with `nfds`
/// descriptors from `fds` attached (SCM_RIGHTS), and returns the bytes sent.
/// The peer receives duplicates of the descriptors (sockrt_recv_fds); the
/// caller still owns `fds` and closes them when it likes. To pass a sockrt
/// handle, pass sockrt_fileno(handle). On a stream, at least one byte must
/// go with the descriptors, and fewer than `len` bytes may be sent (the
/// descriptors went with the first of them): send the rest with
/// sockrt_send_all. Blocks up to the write timeout while the buffer is full.
/// Errors (negative): SOCKRT_E_INVALID_ARGUMENT (`fds` NULL with `nfds` > 0,
/// more than SOCKRT_FDS_MAX, a negative descriptor, `len` 0 on a stream),
/// SOCKRT_E_IO with errno EBADF (a descriptor that is not open),
/// SOCKRT_E_WRONG_KIND (not a Unix socket), and those of sockrt_send.
#[no_mangle]
pub extern "C" fn sockrt_send_fds(
    h: sockrt_handle,
    buf: *const c_void,
    len: usize,
    fds: *const i32,
    nfds: usize,
) -> i64 {
    boundary(|| {
        let buf = in_buf(buf, len)?;
        if nfds > SOCKRT_FDS_MAX {
            return Err(Error::invalid(format!(
                "send_fds: {nfds} descriptors is more than SOCKRT_FDS_MAX ({SOCKRT_FDS_MAX})"
            )));
        }
        let fds: &[i32] = if nfds == 0 {
            &[]
        } else if fds.is_null() {
            return Err(Error::invalid("send_fds: fds is NULL"));
        } else {
            // SAFETY: non-NULL and holds nfds descriptors (header contract).
            unsafe { std::slice::from_raw_parts(fds, nfds) }
        };
        registry::socket(h, "send_fds")?.send_fds(buf, fds)
    })
}

/// Receives up to `cap` bytes into `buf` on a Unix socket, and the
/// descriptors sent with them (SCM_RIGHTS), and returns the byte count (0 on
/// a stream: the peer closed it). The descriptors go to `fds_out` (room for
/// `fds_cap`); `*nfds_out` (may be NULL) is set to how many arrived. They
/// are new, close-on-exec descriptors that the caller owns: close(2) them,
/// or make one a handle with sockrt_adopt_fd. If more arrived than
/// `fds_cap`, the first `fds_cap` are stored, the rest are closed, and
/// `*nfds_out` still says how many arrived, so the loss shows. Blocks up
/// to the read timeout. Errors (negative): SOCKRT_E_INVALID_ARGUMENT
/// (`fds_out` NULL with `fds_cap` > 0, `cap` 0 on a stream),
/// SOCKRT_E_WRONG_KIND (not a Unix socket), and those of sockrt_recv.
#[no_mangle]
pub extern "C" fn sockrt_recv_fds(
    h: sockrt_handle,
    buf: *mut c_void,
    cap: usize,
    fds_out: *mut i32,
    fds_cap: usize,
    nfds_out: *mut usize,
) -> i64 {
    boundary(|| {
        check_buf(fds_out.is_null(), fds_cap, "fds_out")?;
        let buf = out_buf(buf, cap)?;
        let (n, fds) = registry::socket(h, "recv_fds")?.recv_fds_uninit(buf)?;
        let arrived = fds.len();
        for (i, fd) in fds.into_iter().enumerate() {
            if i < fds_cap {
                // SAFETY: fds_out holds fds_cap entries (header contract).
                unsafe {
                    fds_out
                        .add(i)
                        .write(std::os::fd::IntoRawFd::into_raw_fd(fd))
                };
            }
            // The rest drop here: closed.
        }
        if !nfds_out.is_null() {
            write_out(nfds_out, "nfds_out", arrived)?;
        }
        Ok(n)
    })
}
