//! Each thread's last failure, as sockrt_last_error* report it: a C idea
//! (errno-like state), so it lives at the boundary, not in the runtime.

use crate::error::Error;
use std::cell::RefCell;

thread_local! {
    static LAST_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Records `err` as this thread's last failure. Success does not clear it,
/// like errno.
pub(crate) fn set(err: Error) {
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(err));
}

/// Runs `f` on this thread's last failure, if any.
pub(crate) fn with<R>(f: impl FnOnce(Option<&Error>) -> R) -> R {
    LAST_ERROR.with(|last| f(last.borrow().as_ref()))
}
