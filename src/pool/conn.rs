//! A pooled connection: plain TCP, or a layer over TCP (TLS) when the pool
//! has an [`Upgrade`]. The pool's accounting (`slots`) is generic over it;
//! this file is everything TLS adds to the pool, and it knows TLS only
//! through the [`Transport`] seam (TLS sits above the pool).

use super::slots::{Pooled, Stamp};
use crate::error::Result;
use crate::socket::Socket;
use crate::stream::{Stream, Transport};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Turns each new connection of a pool into a layered one: the TLS client
/// handshake (`tls::PoolTls`), done within `timeout_ms` (negative: none).
/// Returns the layer and whether the handshake resumed an earlier session.
/// On failure the socket is closed.
pub trait Upgrade: Send + Sync {
    fn upgrade(&self, socket: Arc<Socket>, timeout_ms: i64) -> Result<(Arc<dyn Transport>, bool)>;
}

/// Handshakes the pool's TLS connections did, full and resumed.
#[derive(Debug, Default)]
pub struct HandshakeCounts {
    full: AtomicU64,
    resumed: AtomicU64,
}

impl HandshakeCounts {
    /// (full, resumed).
    pub fn get(&self) -> (u64, u64) {
        (
            self.full.load(Ordering::Relaxed),
            self.resumed.load(Ordering::Relaxed),
        )
    }

    pub(super) fn count(&self, resumed: bool) {
        let counter = if resumed { &self.resumed } else { &self.full };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A connection the pool owns, with what the pool knows of it.
pub struct Conn {
    pub(super) stream: Stream,
    pub(super) created: Stamp,
    pub(super) fork_generation: u64,
}

impl Conn {
    /// The TCP socket (for a TLS connection, the one under the TLS layer).
    pub fn socket(&self) -> &Arc<Socket> {
        self.stream.socket()
    }

    /// A call failed on it, or it was shut down: out of step.
    pub fn is_broken(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_broken(),
            Stream::Layered(t) => t.is_broken() || t.socket().is_broken(),
        }
    }

    /// Another thread still holds it (a call in flight).
    pub fn in_use_elsewhere(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => Arc::strong_count(s) > 1,
            Stream::Layered(t) => Arc::strong_count(t) > 1,
        }
    }

    /// The liveness probe of an idle connection: true if it must not be
    /// handed out. Plain: readable at all (EOF, reset or stray bytes; see
    /// `Socket::readable_now`). TLS: pending records are processed without
    /// blocking, and only application data, close_notify, an alert, an
    /// error or EOF count; session tickets and key updates that TLS 1.3
    /// servers send unasked do not.
    pub fn is_stale(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.readable_now(),
            Stream::Layered(t) => !t.settle(),
        }
    }
}

impl Pooled for Conn {
    fn close(&self) {
        match &self.stream {
            // Shut down only if a call is still in flight on it (to wake it).
            Stream::Plain(s) => s.close_shared(),
            // close_notify (without blocking), then the socket.
            Stream::Layered(t) => t.close(),
        }
    }

    fn created(&self) -> Stamp {
        self.created
    }
}
