//! Library-wide calls: version, error codes and this thread's last error.

use super::last_error;
use super::{boundary, code_of, kind_of_code, sockrt_handle, Count, SOCKRT_OK};
use crate::error::ErrorKind;
use crate::registry;
use once_cell::sync::Lazy;
use std::ffi::{c_char, CStr, CString};

static VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("version has no NUL"),
    };

/// The public name of each error kind: part of the ABI, so spelled out
/// here rather than derived from the Rust variant names.
pub(crate) fn error_name(kind: ErrorKind) -> &'static CStr {
    match kind {
        ErrorKind::InvalidArgument => c"SOCKRT_E_INVALID_ARGUMENT",
        ErrorKind::BadHandle => c"SOCKRT_E_BAD_HANDLE",
        ErrorKind::WrongKind => c"SOCKRT_E_WRONG_KIND",
        ErrorKind::InvalidState => c"SOCKRT_E_INVALID_STATE",
        ErrorKind::NotConnected => c"SOCKRT_E_NOT_CONNECTED",
        ErrorKind::Timeout => c"SOCKRT_E_TIMEOUT",
        ErrorKind::Closed => c"SOCKRT_E_CLOSED",
        ErrorKind::Eof => c"SOCKRT_E_EOF",
        ErrorKind::ConnectionRefused => c"SOCKRT_E_CONNECTION_REFUSED",
        ErrorKind::ConnectionReset => c"SOCKRT_E_CONNECTION_RESET",
        ErrorKind::AddressInUse => c"SOCKRT_E_ADDRESS_IN_USE",
        ErrorKind::AddressNotAvailable => c"SOCKRT_E_ADDRESS_NOT_AVAILABLE",
        ErrorKind::Resolve => c"SOCKRT_E_RESOLVE",
        ErrorKind::Unreachable => c"SOCKRT_E_UNREACHABLE",
        ErrorKind::PoolExhausted => c"SOCKRT_E_POOL_EXHAUSTED",
        ErrorKind::PoolClosed => c"SOCKRT_E_POOL_CLOSED",
        ErrorKind::Limit => c"SOCKRT_E_LIMIT",
        ErrorKind::Panic => c"SOCKRT_E_PANIC",
        ErrorKind::Io => c"SOCKRT_E_IO",
        ErrorKind::Interrupted => c"SOCKRT_E_INTERRUPTED",
        ErrorKind::WouldBlock => c"SOCKRT_E_WOULD_BLOCK",
        ErrorKind::InProgress => c"SOCKRT_E_IN_PROGRESS",
        ErrorKind::TlsHandshake => c"SOCKRT_E_TLS_HANDSHAKE",
        ErrorKind::TlsCertificate => c"SOCKRT_E_TLS_CERTIFICATE",
        ErrorKind::TlsTruncated => c"SOCKRT_E_TLS_TRUNCATED",
        ErrorKind::TlsProtocol => c"SOCKRT_E_TLS_PROTOCOL",
    }
}

/// Each kind's description as a static C string.
static DESCRIPTIONS: Lazy<Vec<(ErrorKind, CString)>> = Lazy::new(|| {
    ErrorKind::ALL
        .into_iter()
        .map(|kind| (kind, CString::new(kind.description()).unwrap()))
        .collect()
});

fn description_of(code: i32) -> Option<&'static CStr> {
    let kind = kind_of_code(code)?;
    DESCRIPTIONS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, text)| text.as_c_str())
}

/// The library version, "MAJOR.MINOR.PATCH". Static storage: never free it.
#[no_mangle]
pub extern "C" fn sockrt_version() -> *const c_char {
    boundary(|| Ok(VERSION))
}

/// A static English description of a status code, e.g. "timed out" for
/// SOCKRT_E_TIMEOUT; "success" for SOCKRT_OK and "unknown error code" for
/// anything else. Never NULL; never free it.
#[no_mangle]
pub extern "C" fn sockrt_strerror(code: i32) -> *const c_char {
    match code {
        SOCKRT_OK => c"success".as_ptr(),
        _ => description_of(code)
            .unwrap_or(c"unknown error code")
            .as_ptr(),
    }
}

/// The constant's name for a status code, e.g. "SOCKRT_E_TIMEOUT";
/// "SOCKRT_OK" for 0 and "SOCKRT_E_UNKNOWN" for anything else. Never NULL;
/// never free it.
#[no_mangle]
pub extern "C" fn sockrt_error_name(code: i32) -> *const c_char {
    match code {
        SOCKRT_OK => c"SOCKRT_OK".as_ptr(),
        _ => kind_of_code(code)
            .map_or(c"SOCKRT_E_UNKNOWN", error_name)
            .as_ptr(),
    }
}

/// The code of the last call that failed on this thread, or 0 if none has.
/// A successful call does not clear it (like errno).
#[no_mangle]
pub extern "C" fn sockrt_last_error() -> i32 {
    boundary::<Count>(|| {
        Ok(last_error::with(|e| {
            e.map_or(SOCKRT_OK, |e| code_of(e.kind()))
        }))
    })
    .0
}

/// The OS errno behind this thread's last failure, or 0 if there was none
/// (or the failure did not come from the OS).
#[no_mangle]
pub extern "C" fn sockrt_last_os_error() -> i32 {
    boundary::<Count>(|| Ok(last_error::with(|e| e.map_or(0, |e| e.os_error())))).0
}

/// Copies this thread's last error message (e.g. "connect 127.0.0.1:9:
/// connection refused"; "" if no call failed yet) into `buf`, truncated to
/// `cap` bytes including the terminating NUL. Returns the message's full
/// length without the NUL, so a return >= `cap` means it was truncated.
/// `buf` may be NULL when `cap` is 0 (to ask for the length).
#[no_mangle]
pub extern "C" fn sockrt_last_error_message(buf: *mut c_char, cap: usize) -> usize {
    boundary(|| {
        Ok(last_error::with(|e| {
            let text = e.map_or("", |e| e.message()).as_bytes();
            if !buf.is_null() && cap > 0 {
                let n = text.len().min(cap - 1);
                // SAFETY: buf holds cap bytes (header contract); n < cap.
                unsafe {
                    std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast(), n);
                    *buf.add(n) = 0;
                }
            }
            text.len()
        }))
    })
}

/// How many bytes this thread's last failed whole-buffer call moved before
/// it failed: sockrt_send_all (bytes sent), sockrt_recv_exact (bytes
/// received, now in the buffer's first bytes), sockrt_exchange (those of
/// the phase that failed); 0 after any other failure. Lets a caller that was
/// interrupted (SOCKRT_E_INTERRUPTED) go on from where the call stopped.
#[no_mangle]
pub extern "C" fn sockrt_last_error_transferred() -> u64 {
    boundary(|| {
        Ok(last_error::with(|e| {
            e.map_or(0, |e| e.transferred() as u64)
        }))
    })
}

/// How many handles of every kind (sockets, listeners, datagram sockets,
/// pooled connections, pools) are open now. Useful to find leaks: it returns
/// to its starting value once everything opened is closed.
#[no_mangle]
pub extern "C" fn sockrt_open_handles() -> u64 {
    boundary(|| Ok(registry::open_handles()))
}

/// Closes any handle: a socket wakes every call blocked on it (they return
/// SOCKRT_E_CLOSED) and its descriptor is released once they have returned;
/// a pooled connection is closed and frees its pool slot (like
/// sockrt_pool_discard); a pool closes as sockrt_pool_close describes.
/// The handle is invalid afterwards, and closing it again returns
/// SOCKRT_E_BAD_HANDLE. Never blocks.
#[no_mangle]
pub extern "C" fn sockrt_close(h: sockrt_handle) -> i32 {
    boundary(|| registry::close(h))
}

/// Chooses what a blocking call on this thread does when a signal interrupts
/// it (EINTR): with `on` = 1 it returns SOCKRT_E_INTERRUPTED, so the caller
/// can run its signal handlers and retry (a timed call then retries with the
/// time it has left: the library does not restart the timeout); with `on` = 0
/// (the default) the library retries by itself and the call goes on. Affects
/// only the calling thread. Returns the previous setting (0 or 1), or
/// SOCKRT_E_INVALID_ARGUMENT if `on` is neither. Does not block.
#[no_mangle]
pub extern "C" fn sockrt_set_interruptible(on: i32) -> i32 {
    boundary::<Count>(|| {
        let on = match on {
            0 => false,
            1 => true,
            _ => {
                return Err(crate::error::Error::invalid(format!(
                    "set_interruptible: {on} is not 0 or 1"
                )))
            }
        };
        Ok(i32::from(crate::sys::set_interruptible(on)))
    })
    .0
}
