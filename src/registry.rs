//! The process-wide table of live objects, and typed lookups into it.

use crate::error::{Error, ErrorKind, Result};
use crate::handle::{Handle, HandleTable};
use crate::poller::Poller;
use crate::pool::{Lease, Pool};
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
    /// A pooled connection: a socket for every data call (a TLS stream,
    /// if the pool has TLS: see [`stream`]).
    Lease(Arc<Leased>),
    Poller(Arc<Poller>),
    /// A TLS stream (any [`Transport`] layer): data calls work on it as on
    /// a socket (see [`stream`]).
    Tls(Arc<dyn Transport>),
    /// A client or server TLS configuration (`tls::TlsConfig`, held
    /// opaquely; `TlsConfig::of` downcasts it).
    TlsConfig(Arc<dyn Any + Send + Sync>),
}

impl Object {
    /// "socket", "pooled connection", "pool", "poller", "TLS stream", ...,
    /// for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Object::Socket(_) => "socket",
            Object::Lease(l) if l.lease.is_tls() => "pooled TLS connection",
            Object::Lease(_) => "pooled connection",
            Object::Pool(_) => "pool",
            Object::Poller(_) => "poller",
            Object::Tls(t) => t.kind_name(),
            Object::TlsConfig(_) => "TLS config",
        }
    }
}

fn wrong_kind(op: &str, handle: Handle, object: &Object, wanted: &str) -> Error {
    Error::new(
        ErrorKind::WrongKind,
        format!(
            "{op}: handle {handle:#x} is a {}, not {wanted}",
            object.kind_name()
        ),
    )
}

/// What the table keeps for a pooled connection: the lease, and the handle
/// of the pool it came from, so that the lease can still be ended through
/// that handle after the pool is closed (and then the connection closes).
pub struct Leased {
    pub lease: Lease,
    pub pool_handle: Handle,
}

impl Leased {
    /// Ends the lease this entry holds, once the handle is gone: released
    /// (`release`) or discarded. If a lookup still holds a clone of the
    /// entry, the lease ends (discarded) when that clone drops.
    pub fn end(entry: Arc<Leased>, release: bool) {
        if let Ok(leased) = Arc::try_unwrap(entry) {
            if release {
                leased.lease.release();
            } else {
                leased.lease.discard();
            }
        }
    }
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

/// Names a lease with a new socket handle; if the table is full the lease
/// is released again.
pub fn insert_lease(lease: Lease, pool_handle: Handle, op: &str) -> Result<Handle> {
    let entry = Arc::new(Leased { lease, pool_handle });
    OBJECTS.insert(Object::Lease(entry)).map_err(|object| {
        if let Object::Lease(entry) = object {
            Leased::end(entry, true);
        }
        table_full(op)
    })
}

/// The object `handle` names.
pub fn get(handle: Handle, op: &str) -> Result<Object> {
    OBJECTS.get(handle).ok_or_else(|| bad_handle(op, handle))
}

/// The socket `handle` names (a plain pooled connection too); `WrongKind`
/// for any other object, a TLS stream too: calls that take a [`stream`]
/// work on both. Only the socket's `Arc` is cloned out.
#[inline]
pub fn socket(handle: Handle, op: &str) -> Result<Arc<Socket>> {
    let found = OBJECTS.get_with(handle, |object| match object {
        Object::Socket(s) => Some(Arc::clone(s)),
        Object::Lease(l) if !l.lease.is_tls() => Some(Arc::clone(l.lease.socket())),
        _ => None,
    });
    match found {
        Some(Some(socket)) => Ok(socket),
        _ => Err(not_a_socket(handle, op)),
    }
}

/// Why `handle` names no socket: it is dead, or another kind of object.
#[cold]
fn not_a_socket(handle: Handle, op: &str) -> Error {
    match get(handle, op) {
        Err(e) => e,
        Ok(other) => wrong_kind(op, handle, &other, "a socket"),
    }
}

/// The connected-stream transport `handle` names: a socket, a TLS stream,
/// or a pooled connection (plain or TLS).
/// Every data call starts here: only the transport's `Arc` is cloned out.
#[inline]
pub fn stream(handle: Handle, op: &str) -> Result<Stream> {
    let found = OBJECTS.get_with(handle, |object| match object {
        Object::Socket(s) => Some(Stream::Plain(Arc::clone(s))),
        Object::Tls(t) => Some(Stream::Layered(Arc::clone(t))),
        Object::Lease(l) => Some(l.lease.stream().clone()),
        _ => None,
    });
    match found {
        Some(Some(stream)) => Ok(stream),
        _ => Err(not_a_socket(handle, op)),
    }
}

/// The TLS stream `handle` names (a pooled TLS connection too);
/// `WrongKind` for any other object.
pub fn tls(handle: Handle, op: &str) -> Result<Arc<dyn Transport>> {
    match get(handle, op)? {
        Object::Tls(t) => Ok(t),
        Object::Lease(l) => match l.lease.stream() {
            Stream::Layered(t) => Ok(Arc::clone(t)),
            Stream::Plain(_) => Err(wrong_kind(op, handle, &Object::Lease(l), "a TLS stream")),
        },
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

/// The pool `handle` names; `WrongKind` for any other object.
pub fn pool(handle: Handle, op: &str) -> Result<Arc<Pool>> {
    match get(handle, op)? {
        Object::Pool(p) => Ok(p),
        other => Err(wrong_kind(op, handle, &other, "a pool")),
    }
}

/// The poller `handle` names; `WrongKind` for any other object.
pub fn poller(handle: Handle, op: &str) -> Result<Arc<Poller>> {
    match get(handle, op)? {
        Object::Poller(p) => Ok(p),
        other => Err(wrong_kind(op, handle, &other, "a poller")),
    }
}

/// Whether `handle` still names an object.
pub fn is_live(handle: Handle) -> bool {
    OBJECTS.get(handle).is_some()
}

/// Every end of a handle passes here: pollers holding a socket handle that
/// ended drop it and report it closed (see `poller::handle_ended`). TLS
/// streams pass too, so the hook holds for every stream handle.
fn ended(handle: Handle, object: Object) -> Object {
    if let Object::Socket(_) | Object::Lease(_) | Object::Tls(_) = object {
        crate::poller::handle_ended(handle);
    }
    object
}

/// Ends `handle` and returns what it named.
pub fn remove(handle: Handle, op: &str) -> Result<Object> {
    OBJECTS
        .remove(handle)
        .map(|object| ended(handle, object))
        .ok_or_else(|| bad_handle(op, handle))
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
        .map(|object| ended(handle, object))
        .map_err(|_| refusal.unwrap_or_else(|| bad_handle(op, handle)))
}

/// Closes whatever `handle` names: a socket wakes its blocked calls and
/// closes once they return (a TLS stream sends close_notify first); a
/// pooled connection gives its slot back; a pool closes as `Pool::close`
/// describes.
pub fn close(handle: Handle) -> Result<()> {
    match remove(handle, "close")? {
        Object::Socket(socket) => socket.close_shared(),
        Object::Lease(entry) => Leased::end(entry, false),
        Object::Pool(pool) => pool.close(),
        Object::Poller(poller) => poller.close(),
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
        Object::Socket(_) => Ok(()),
        _ => Err(Error::new(
            ErrorKind::WrongKind,
            format!(
                "detach: handle {handle:#x} is a {}, not a socket",
                object.kind_name()
            ),
        )),
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
