//! The transport seam: a connected stream is plain TCP or TLS over TCP, and
//! every data call (send, recv, send_all, recv_exact, exchange, shutdown)
//! goes through this one dispatch. Calls about the connection itself
//! (options, addresses, the descriptor) go to the socket underneath.

use crate::error::Result;
use crate::socket::{ShutdownHow, Socket};
use crate::tls::TlsStream;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// A stream handle's transport.
#[derive(Clone)]
pub enum Stream {
    Plain(Arc<Socket>),
    Tls(Arc<TlsStream>),
}

impl Stream {
    /// The socket underneath (for options, addresses, poll, fileno).
    pub fn socket(&self) -> &Arc<Socket> {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => t.socket(),
        }
    }

    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        match self {
            Stream::Plain(s) => s.send(buf),
            Stream::Tls(t) => t.send(buf),
        }
    }

    pub fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize> {
        match self {
            Stream::Plain(s) => s.recv_uninit(buf),
            Stream::Tls(t) => t.recv_uninit(buf),
        }
    }

    pub fn send_all(&self, buf: &[u8]) -> Result<()> {
        match self {
            Stream::Plain(s) => s.send_all(buf),
            Stream::Tls(t) => t.send_all(buf),
        }
    }

    pub fn recv_exact_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<()> {
        match self {
            Stream::Plain(s) => s.recv_exact_uninit(buf),
            Stream::Tls(t) => t.recv_exact_uninit(buf),
        }
    }

    pub fn exchange_uninit(&self, request: &[u8], response: &mut [MaybeUninit<u8>]) -> Result<()> {
        match self {
            Stream::Plain(s) => s.exchange_uninit(request, response),
            Stream::Tls(t) => t.exchange_uninit(request, response),
        }
    }

    pub fn shutdown(&self, how: ShutdownHow) -> Result<()> {
        match self {
            Stream::Plain(s) => s.shutdown(how),
            Stream::Tls(t) => t.shutdown(how),
        }
    }

    /// Whether a receive would return without reading the socket (TLS:
    /// decrypted bytes or a close_notify are buffered), for poll.
    pub fn has_buffered_input(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(t) => t.has_buffered_input(),
        }
    }
}
