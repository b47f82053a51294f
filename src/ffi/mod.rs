//! The C ABI: the only `extern "C"` code in the crate.
//!
//! Every exported function has the same shape: its body runs inside
//! [`boundary`], which catches panics (they become `SOCKRT_E_PANIC`), and
//! returns a `Result` that [`CReturn`] turns into the C status, recording the
//! error for `sockrt_last_error*`. Argument checks turn NULL pointers, bad
//! lengths and non-UTF-8 strings into `SOCKRT_E_INVALID_ARGUMENT` before the
//! runtime is reached; the runtime never sees a raw pointer.

// C callers pass raw pointers to safe-looking `extern "C"` functions; each
// dereference goes through the checked helpers below.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod consts;
mod last_error;
mod library;
mod poller;
mod pool;
mod socket;
mod tls;
mod unix;

pub use consts::*;
pub use library::*;
pub use poller::*;
pub use pool::*;
pub use socket::*;
pub use tls::*;
pub use unix::*;

use crate::error::{Error, ErrorKind, Result};
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An opaque 64-bit name for a socket, listener, datagram socket or pool.
/// 0 is never a valid handle.
#[allow(non_camel_case_types)]
pub type sockrt_handle = u64;

/// The status code for an error kind.
pub(crate) fn code_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InvalidArgument => SOCKRT_E_INVALID_ARGUMENT,
        ErrorKind::BadHandle => SOCKRT_E_BAD_HANDLE,
        ErrorKind::WrongKind => SOCKRT_E_WRONG_KIND,
        ErrorKind::InvalidState => SOCKRT_E_INVALID_STATE,
        ErrorKind::NotConnected => SOCKRT_E_NOT_CONNECTED,
        ErrorKind::Timeout => SOCKRT_E_TIMEOUT,
        ErrorKind::Closed => SOCKRT_E_CLOSED,
        ErrorKind::Eof => SOCKRT_E_EOF,
        ErrorKind::ConnectionRefused => SOCKRT_E_CONNECTION_REFUSED,
        ErrorKind::ConnectionReset => SOCKRT_E_CONNECTION_RESET,
        ErrorKind::AddressInUse => SOCKRT_E_ADDRESS_IN_USE,
        ErrorKind::AddressNotAvailable => SOCKRT_E_ADDRESS_NOT_AVAILABLE,
        ErrorKind::Resolve => SOCKRT_E_RESOLVE,
        ErrorKind::Unreachable => SOCKRT_E_UNREACHABLE,
        ErrorKind::PoolExhausted => SOCKRT_E_POOL_EXHAUSTED,
        ErrorKind::PoolClosed => SOCKRT_E_POOL_CLOSED,
        ErrorKind::Limit => SOCKRT_E_LIMIT,
        ErrorKind::Panic => SOCKRT_E_PANIC,
        ErrorKind::Io => SOCKRT_E_IO,
        ErrorKind::Interrupted => SOCKRT_E_INTERRUPTED,
        ErrorKind::WouldBlock => SOCKRT_E_WOULD_BLOCK,
        ErrorKind::InProgress => SOCKRT_E_IN_PROGRESS,
        ErrorKind::TlsHandshake => SOCKRT_E_TLS_HANDSHAKE,
        ErrorKind::TlsCertificate => SOCKRT_E_TLS_CERTIFICATE,
        ErrorKind::TlsTruncated => SOCKRT_E_TLS_TRUNCATED,
        ErrorKind::TlsProtocol => SOCKRT_E_TLS_PROTOCOL,
    }
}

/// The error kind for a status code, if it is one.
pub(crate) fn kind_of_code(code: i32) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|&k| code_of(k) == code)
}

/// A C return type: how a runtime result and a caught panic look in C.
pub(crate) trait CReturn: Sized {
    type Value;
    fn from_value(value: Self::Value) -> Self;
    fn from_code(code: i32) -> Self;
}

impl CReturn for i32 {
    type Value = ();
    fn from_value(_: ()) -> i32 {
        SOCKRT_OK
    }
    fn from_code(code: i32) -> i32 {
        code
    }
}

impl CReturn for i64 {
    type Value = usize;
    fn from_value(n: usize) -> i64 {
        n as i64
    }
    fn from_code(code: i32) -> i64 {
        i64::from(code)
    }
}

impl CReturn for u64 {
    type Value = u64;
    fn from_value(n: u64) -> u64 {
        n
    }
    /// Counts have no room for a code: a failure reads as 0.
    fn from_code(_: i32) -> u64 {
        0
    }
}

impl CReturn for usize {
    type Value = usize;
    fn from_value(n: usize) -> usize {
        n
    }
    fn from_code(_: i32) -> usize {
        0
    }
}

/// A static C string; a failure gives an empty one, never NULL.
impl CReturn for *const std::ffi::c_char {
    type Value = &'static CStr;
    fn from_value(text: &'static CStr) -> Self {
        text.as_ptr()
    }
    fn from_code(_: i32) -> Self {
        c"".as_ptr()
    }
}

/// A status that carries a small non-negative count (poll, fileno).
pub(crate) struct Count(pub i32);

impl CReturn for Count {
    type Value = i32;
    fn from_value(n: i32) -> Count {
        Count(n)
    }
    fn from_code(code: i32) -> Count {
        Count(code)
    }
}

/// Runs an exported function's body: a panic becomes `SOCKRT_E_PANIC`, an
/// error is recorded for this thread and returned as its code.
pub(crate) fn boundary<R: CReturn>(body: impl FnOnce() -> Result<R::Value>) -> R {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::new(
            ErrorKind::Panic,
            format!("internal error (panic): {what}"),
        ))
    });
    match outcome {
        Ok(value) => R::from_value(value),
        Err(err) => {
            let code = code_of(err.kind());
            last_error::set(err);
            R::from_code(code)
        }
    }
}

fn null(what: &str) -> Error {
    Error::invalid(format!("{what} is NULL"))
}

/// A NUL-terminated, non-empty UTF-8 host string.
pub(crate) fn host_arg<'a>(host: *const c_char) -> Result<&'a str> {
    if host.is_null() {
        return Err(null("host"));
    }
    // SAFETY: the caller passes a NUL-terminated string (header contract).
    let text = unsafe { CStr::from_ptr(host) }
        .to_str()
        .map_err(|_| Error::invalid("host is not valid UTF-8"))?;
    if text.is_empty() {
        return Err(Error::invalid("host is empty"));
    }
    Ok(text)
}

/// Writes through an out-pointer, refusing NULL.
pub(crate) fn write_out<T>(out: *mut T, what: &str, value: T) -> Result<()> {
    if out.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL, and the caller passes a valid pointer (header contract).
    unsafe { out.write(value) };
    Ok(())
}

/// Checks an out-pointer up front, before any work that could be lost.
pub(crate) fn require_out<T>(out: *mut T, what: &str) -> Result<()> {
    if out.is_null() {
        Err(null(what))
    } else {
        Ok(())
    }
}

fn check_len(len: usize, what: &str) -> Result<()> {
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{what} length {len} is too large")));
    }
    Ok(())
}

/// Checks a buffer argument without making a view of it.
pub(crate) fn check_buf(is_null: bool, len: usize, what: &str) -> Result<()> {
    check_len(len, what)?;
    if is_null && len > 0 {
        return Err(null(what));
    }
    Ok(())
}

/// A readable buffer; NULL is allowed only with length 0.
pub(crate) fn in_buf<'a>(buf: *const std::ffi::c_void, len: usize) -> Result<&'a [u8]> {
    check_len(len, "buffer")?;
    if len == 0 {
        return Ok(&[]);
    }
    if buf.is_null() {
        return Err(null("buffer"));
    }
    // SAFETY: non-NULL, len fits isize, and the caller vouches for len bytes.
    Ok(unsafe { std::slice::from_raw_parts(buf.cast(), len) })
}

/// A writable buffer that need not be initialized; NULL only with length 0.
pub(crate) fn out_buf<'a>(
    buf: *mut std::ffi::c_void,
    cap: usize,
) -> Result<&'a mut [std::mem::MaybeUninit<u8>]> {
    check_len(cap, "buffer")?;
    if cap == 0 {
        return Ok(&mut []);
    }
    if buf.is_null() {
        return Err(null("buffer"));
    }
    // SAFETY: non-NULL, cap fits isize, and the caller vouches for cap bytes.
    Ok(unsafe { std::slice::from_raw_parts_mut(buf.cast(), cap) })
}

/// Copies text bytes (no NUL inside) and a NUL into a caller's buffer,
/// refusing to truncate; `enough` names the size that always suffices.
pub(crate) fn write_text(
    buf: *mut c_char,
    cap: usize,
    text: &[u8],
    what: &str,
    enough: &str,
) -> Result<()> {
    if buf.is_null() {
        return Err(null(what));
    }
    if text.contains(&0) {
        return Err(Error::invalid(format!(
            "{what}: the address contains a NUL byte and cannot be written as a C string"
        )));
    }
    if text.len() >= cap {
        return Err(Error::invalid(format!(
            "{what} buffer of {cap} bytes cannot hold {} bytes and a NUL ({enough} always does)",
            text.len()
        )));
    }
    // SAFETY: buf holds cap > text.len() bytes (header contract).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast(), text.len());
        *buf.add(text.len()) = 0;
    }
    Ok(())
}
