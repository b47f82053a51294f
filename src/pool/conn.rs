//! A pooled connection: plain TCP, or a layer over TCP (TLS) when the pool
//! has an [`Upgrade`]. The pool's accounting (`slots`) is generic over it;
//! this file is everything TLS adds to the pool, and it knows TLS only
//! through the [`Transport`] seam (TLS sits above the pool).

use super::slots::Pooled;
use super::{member, Membership};
use crate::error::Result;
use crate::registry::Object;
use crate::socket::Socket;
use crate::stream::Transport;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Turns each new connection of a pool into a layered one: the TLS client
/// handshake (`tls::PoolTls`), done within `timeout_ms` (negative: none).
/// Returns the layer and whether the handshake resumed an earlier session.
pub trait Upgrade: Send + Sync {
    fn upgrade(&self, socket: Arc<Socket>, timeout_ms: i64) -> Result<(Arc<dyn Transport>, bool)>;
}

/// Handshakes the pool's TLS connections did, full and resumed.
#[derive(Debug, Default)]
pub struct HandshakeCounts {
    pub full: AtomicU64,
    pub resumed: AtomicU64,
}

impl HandshakeCounts {
    pub fn get(&self) -> (u64, u64) {
        (
            self.full.load(Ordering::Relaxed),
            self.resumed.load(Ordering::Relaxed),
        )
    }
}

/// One pooled connection.
#[derive(Clone)]
pub enum Conn {
    Plain(Arc<Socket>),
    Tls(Arc<dyn Transport>),
}

impl Conn {
    /// The TCP socket (which carries the pool membership).
    pub fn socket(&self) -> &Arc<Socket> {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(t) => t.socket(),
        }
    }

    /// The handle-table object a lease of it is.
    pub fn object(&self) -> Object {
        match self {
            Conn::Plain(s) => Object::Socket(Arc::clone(s)),
            Conn::Tls(t) => Object::Tls(Arc::clone(t)),
        }
    }

    /// The pooled connection an object is, if it is one.
    pub fn of(object: &Object) -> Option<Conn> {
        match object {
            Object::Socket(s) if s.membership.get().is_some() => Some(Conn::Plain(Arc::clone(s))),
            Object::Tls(t) if t.socket().membership.get().is_some() => {
                Some(Conn::Tls(Arc::clone(t)))
            }
            _ => None,
        }
    }

    pub fn membership(&self) -> &Membership {
        member(self.socket())
    }

    /// A call failed on it, or it was shut down: out of step.
    pub fn is_broken(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_broken(),
            Conn::Tls(t) => t.is_broken() || t.socket().is_broken(),
        }
    }

    /// Another thread still holds it (a call in flight).
    pub fn in_use_elsewhere(&self) -> bool {
        match self {
            Conn::Plain(s) => Arc::strong_count(s) > 1,
            Conn::Tls(t) => Arc::strong_count(t) > 1,
        }
    }

    /// The liveness probe of an idle connection: true if it must not be
    /// handed out. Plain: readable at all (EOF, reset or stray bytes). TLS:
    /// pending records are processed without blocking, and only application
    /// data, close_notify, an alert, an error or EOF count; session tickets
    /// and key updates that TLS 1.3 servers send unasked do not.
    pub fn is_stale(&self) -> bool {
        match self {
            Conn::Plain(s) => s.readable_now(),
            Conn::Tls(t) => !t.settle(),
        }
    }

    /// Connects a new pooled connection: TCP, then the TLS handshake in the
    /// time left, if the pool has TLS. `membership` is attached first.
    pub fn connect(
        host: &str,
        port: u16,
        timeout_ms: i64,
        nodelay: bool,
        tls: Option<&dyn Upgrade>,
        counts: &HandshakeCounts,
        membership: Membership,
    ) -> Result<Conn> {
        let started = Instant::now();
        let socket = Socket::tcp_connect(host, port, timeout_ms)?;
        if nodelay {
            socket.set_option(crate::socket::SockOption::NoDelay, 1)?;
        }
        let socket = Arc::new(socket);
        let _ = socket.membership.set(membership);
        let Some(tls) = tls else {
            return Ok(Conn::Plain(socket));
        };
        let left = if timeout_ms < 0 {
            -1
        } else {
            (timeout_ms - started.elapsed().as_millis() as i64).max(0)
        };
        let (stream, resumed) = tls.upgrade(socket, left)?;
        if resumed {
            counts.resumed.fetch_add(1, Ordering::Relaxed);
        } else {
            counts.full.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Conn::Tls(stream))
    }
}

impl Pooled for Conn {
    fn close(&self) {
        match self {
            Conn::Plain(s) => s.close(),
            // close_notify (without blocking), then the socket.
            Conn::Tls(t) => t.close(),
        }
    }

    fn created(&self) -> Instant {
        self.membership().created
    }
}
