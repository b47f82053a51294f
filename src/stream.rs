//! The transport seam: a connected stream is plain TCP or a layer over TCP
//! (TLS), and every data call (send, recv, send_all, recv_exact, exchange,
//! shutdown) goes through this one dispatch. Calls about the connection
//! itself (options, addresses, the descriptor) go to the socket underneath.
//!
//! A layer implements [`Transport`]; the modules below this one (the handle
//! registry, the pool) hold layers only as `dyn Transport`, so they need not
//! know TLS, which sits above them.

use crate::error::Result;
use crate::socket::{ShutdownHow, Socket};
use std::any::Any;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// A byte-stream layer over a connected socket, e.g. TLS.
pub trait Transport: Send + Sync + 'static {
    /// The socket underneath.
    fn socket(&self) -> &Arc<Socket>;
    fn send(&self, buf: &[u8]) -> Result<usize>;
    fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize>;
    fn send_all(&self, buf: &[u8]) -> Result<()>;
    fn recv_exact_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<()>;
    fn shutdown(&self, how: ShutdownHow) -> Result<()>;
    /// Ends the layer (without blocking) and closes the socket, waking
    /// every call blocked on it.
    fn close(&self);
    /// Whether a receive would return without reading the socket (input
    /// already decoded and buffered), for poll.
    fn has_buffered_input(&self) -> bool;
    /// A call failed in a way that leaves the stream out of step.
    fn is_broken(&self) -> bool;
    /// For an idle pooled connection: processes what the peer sent, without
    /// blocking, and says whether the connection is still fit for reuse.
    fn settle(&self) -> bool;
    /// What it is, for messages ("TLS stream", after "a").
    fn kind_name(&self) -> &'static str;
    /// The concrete layer, for calls only it has (what TLS negotiated).
    fn as_any(&self) -> &dyn Any;
}

/// A stream handle's transport.
#[derive(Clone)]
pub enum Stream {
    Plain(Arc<Socket>),
    Layered(Arc<dyn Transport>),
}

impl Stream {
    /// The socket underneath (for options, addresses, poll, fileno).
    pub fn socket(&self) -> &Arc<Socket> {
        match self {
            Stream::Plain(s) => s,
            Stream::Layered(t) => t.socket(),
        }
    }

    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        match self {
            Stream::Plain(s) => s.send(buf),
            Stream::Layered(t) => t.send(buf),
        }
    }

    pub fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize> {
        match self {
            Stream::Plain(s) => s.recv_uninit(buf),
            Stream::Layered(t) => t.recv_uninit(buf),
        }
    }

    pub fn send_all(&self, buf: &[u8]) -> Result<()> {
        match self {
            Stream::Plain(s) => s.send_all(buf),
            Stream::Layered(t) => t.send_all(buf),
        }
    }

    pub fn recv_exact_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<()> {
        match self {
            Stream::Plain(s) => s.recv_exact_uninit(buf),
            Stream::Layered(t) => t.recv_exact_uninit(buf),
        }
    }

    pub fn shutdown(&self, how: ShutdownHow) -> Result<()> {
        match self {
            Stream::Plain(s) => s.shutdown(how),
            Stream::Layered(t) => t.shutdown(how),
        }
    }

    /// Whether a receive would return without reading the socket, for poll.
    pub fn has_buffered_input(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Layered(t) => t.has_buffered_input(),
        }
    }
}
