//! The process-wide table of live objects, and typed lookups into it.

use crate::error::{Error, ErrorKind, Result};
use crate::handle::{Handle, HandleTable};
use crate::pool::conn::Conn;
use crate::pool::{Membership, Pool};
use crate::socket::Socket;
use crate::stream::{Stream, Transport};
use once_cell::sync::Lazy;
use std::any::Any;
use std::sync::Arc;

/// Anything a handle can name.
#[derive(Clone)]
pub enum Object {
    Socket(Arc<Socket>),
    Pool(Arc<Pool>),
    /// A TLS stream (any [`Transport`] layer): data calls work on it as on
    /// a socket (see [`stream`]).
    Tls(Arc<dyn Transport>),
    /// A client or server TLS configuration (`tls::TlsConfig`; held opaquely
    /// here, since TLS sits above the registry).
    TlsConfig(Arc<dyn Any + Send + Sync>),
}

impl Object {
    /// What the object is, for "wrong kind" messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Object::Socket(_) => "a socket",
            Object::Pool(_) => "a pool",
            Object::Tls(t) => t.kind_name(),
            Object::TlsConfig(_) => "a TLS config",
        }
    }
}

fn wrong_kind(op: &str, handle: Handle, object: &Object, wanted: &str) -> Error {
    Error::new(
        ErrorKind::WrongKind,
        format!(
            "{op}: handle {handle:#x} is {}, not {wanted}",
            object.kind_name()
        ),
    )
}

static OBJECTS: Lazy<HandleTable<Object>> = Lazy::new(HandleTable::default);

fn table_full(op: &str) -> Error {
    Error::new(
        ErrorKind::Limit,
        format!(
            "{op}: the handle table is full ({} handles)",
            crate::handle::MAX_HANDLES
        ),
    )
}

fn bad_handle(op: &str, handle: Handle) -> Error {
    Error::new(
        ErrorKind::BadHandle,
        format!("{op}: handle {handle:#x} is closed, stale or was never issued"),
    )
}

/// Stores an object and names it with a new handle.
pub fn insert(object: Object, op: &str) -> Result<Handle> {
    OBJECTS.insert(object).map_err(|_| table_full(op))
}

pub fn insert_socket(socket: Socket, op: &str) -> Result<Handle> {
    insert(Object::Socket(Arc::new(socket)), op)
}

/// The object `handle` names.
pub fn get(handle: Handle, op: &str) -> Result<Object> {
    OBJECTS.get(handle).ok_or_else(|| bad_handle(op, handle))
}

/// The socket `handle` names; `WrongKind` for any other object (a TLS
/// stream too: calls that take a [`stream`] work on both).
pub fn socket(handle: Handle, op: &str) -> Result<Arc<Socket>> {
    match get(handle, op)? {
        Object::Socket(s) => Ok(s),
        other => Err(wrong_kind(op, handle, &other, "a socket")),
    }
}

/// The connected-stream transport `handle` names: a socket or a TLS stream.
pub fn stream(handle: Handle, op: &str) -> Result<Stream> {
    match get(handle, op)? {
        Object::Socket(s) => Ok(Stream::Plain(s)),
        Object::Tls(t) => Ok(Stream::Layered(t)),
        other => Err(wrong_kind(op, handle, &other, "a socket")),
    }
}

/// The pool `handle` names; `WrongKind` for any other object.
pub fn pool(handle: Handle, op: &str) -> Result<Arc<Pool>> {
    match get(handle, op)? {
        Object::Pool(p) => Ok(p),
        other => Err(wrong_kind(op, handle, &other, "a pool")),
    }
}

/// The TLS stream `handle` names; `WrongKind` for any other object.
pub fn tls(handle: Handle, op: &str) -> Result<Arc<dyn Transport>> {
    match get(handle, op)? {
        Object::Tls(t) => Ok(t),
        other => Err(wrong_kind(op, handle, &other, "a TLS stream")),
    }
}

/// The TLS config `handle` names, opaque (`tls::TlsConfig` downcasts it);
/// `WrongKind` for any other object.
pub fn tls_config(handle: Handle, op: &str) -> Result<Arc<dyn Any + Send + Sync>> {
    match get(handle, op)? {
        Object::TlsConfig(c) => Ok(c),
        other => Err(wrong_kind(op, handle, &other, "a TLS config")),
    }
}

/// Ends `handle` and returns what it named.
pub fn remove(handle: Handle, op: &str) -> Result<Object> {
    OBJECTS.remove(handle).ok_or_else(|| bad_handle(op, handle))
}

/// Ends `handle` only if `approve` accepts its object. On refusal the handle
/// stays live and `refusal` explains why.
pub fn remove_if(
    handle: Handle,
    op: &str,
    approve: impl FnOnce(&Object) -> std::result::Result<(), Error>,
) -> Result<Object> {
    let mut refusal = None;
    OBJECTS
        .remove_if(handle, |object| match approve(object) {
            Ok(()) => true,
            Err(e) => {
                refusal = Some(e);
                false
            }
        })
        .map_err(|_| refusal.unwrap_or_else(|| bad_handle(op, handle)))
}

/// Closes whatever `handle` names: a socket wakes its blocked calls and
/// closes once they return (a TLS stream sends close_notify first); a pooled
/// connection gives its slot back; a pool closes as `Pool::close` describes.
pub fn close(handle: Handle) -> Result<()> {
    let object = remove(handle, "close")?;
    if let Some(conn) = Conn::of(&object) {
        Membership::discard(conn);
        return Ok(());
    }
    match object {
        Object::Socket(socket) => socket.close_shared(),
        Object::Pool(pool) => pool.close(),
        Object::Tls(tls) => tls.close(),
        // Connections made with it keep what they need.
        Object::TlsConfig(_) => {}
    }
    Ok(())
}

/// Ends a socket's handle and hands its descriptor over (`Socket::detach`).
/// Pools and pooled connections cannot be detached.
pub fn detach(handle: Handle) -> Result<std::os::fd::RawFd> {
    let object = remove_if(handle, "detach", |object| match object {
        Object::Socket(s) if s.membership.get().is_none() => Ok(()),
        Object::Socket(_) => Err(Error::new(
            ErrorKind::WrongKind,
            format!("detach: handle {handle:#x} is a pooled connection"),
        )),
        other => Err(wrong_kind("detach", handle, other, "a socket")),
    })?;
    match object {
        Object::Socket(socket) => socket.detach(),
        _ => unreachable!("refused above"),
    }
}

/// Live handles of every kind.
pub fn open_handles() -> u64 {
    OBJECTS.live()
}
