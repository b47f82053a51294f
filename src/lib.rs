//! libsockrt: blocking TCP/UDP sockets and connection pooling behind
//! generation-checked handles, with a C ABI for C, Python and Java.
//!
//! The runtime (`error`, `handle`, `addr`, `socket`, `stream`, `tls`, `pool`) is safe Rust and
//! knows nothing of C; `ffi` is the only place with `extern "C"` items.

pub mod addr;
mod deadline;
pub mod error;
pub mod ffi;
pub mod handle;
pub mod poll;
pub mod poller;
pub mod pool;
pub mod registry;
pub mod socket;
pub mod stream;
mod sync;
pub mod sys;
pub mod tls;

pub use addr::{Family, Kind};
pub use error::{Error, ErrorKind, Result};
pub use handle::Handle;
pub use socket::Socket;
