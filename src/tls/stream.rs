//! A TLS stream over a connected [`Socket`], safe to share between threads.
//!
//! Three locks, none ever held across a wait for the network except the one
//! that orders that direction's bytes:
//! - `conn`, the rustls connection: held only while rustls processes bytes
//!   (encrypting, decrypting, parsing), never across a socket call;
//! - `reader`: one receiver at a time reads ciphertext from the socket (two
//!   would split records between them). It holds the bytes read but not yet
//!   fed to rustls. A receiver blocked in the socket holds only this lock;
//! - `writer`: the order of records on the wire. A sender takes it, then
//!   `conn` briefly to encrypt and take the records out, then sends them
//!   with `conn` released. Records that the receive side makes (alerts, key
//!   update replies, session tickets a server sends) go out through the same
//!   lock: a receiver only *tries* it, and whoever holds it looks again for
//!   pending records after letting go, so none is left behind and a
//!   receiver never waits for a sender's network.
//!
//! So one thread may send while another receives, and `close` from any
//! thread wakes both (closing the socket wakes its blocked calls). `close`
//! sends close_notify without blocking. A peer that ends TCP without
//! close_notify is a truncation error, not an end of stream.

use super::config::{Side, TlsConfig};
use super::error::{closed_in_handshake, tls_error, truncated};
use crate::error::{Error, ErrorKind, Result};
use crate::poll::{self, ready, PollEntry};
use crate::socket::{Kind, ShutdownHow, SockOption, Socket};
use parking_lot::{Mutex, MutexGuard};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, HandshakeKind, ServerConnection};
use std::io::{BufRead, Write};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Ciphertext read from the socket per receive: room for a few records.
const RAW_BUFFER: usize = 64 * 1024;
/// How many bytes of the peer's first flight are kept to explain a failed
/// handshake (a peer speaking plain text).
const FIRST_BYTES: usize = 32;

/// When a call must be done by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deadline {
    Forever,
    At(Instant),
}

impl Deadline {
    pub(crate) fn after_ms(ms: i64) -> Deadline {
        match u64::try_from(ms) {
            Ok(ms) => Deadline::At(Instant::now() + Duration::from_millis(ms)),
            Err(_) => Deadline::Forever,
        }
    }

    /// Milliseconds left, rounded up; `None` for no limit.
    fn remaining_ms(&self) -> Option<i64> {
        match self {
            Deadline::Forever => None,
            Deadline::At(at) => {
                let left = at.saturating_duration_since(Instant::now());
                Some(left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i64)
            }
        }
    }
}

fn timed_out(op: &str) -> Error {
    Error::new(ErrorKind::Timeout, format!("{op}: timed out"))
}

fn closed(op: &str) -> Error {
    Error::new(
        ErrorKind::Closed,
        format!("{op}: the handle was closed by another call"),
    )
}

/// Waits until `socket` is ready for `wanted` (poll's IN or OUT) within
/// `deadline`; with no deadline, returns at once (the socket call that
/// follows blocks by itself). A close from another thread ends the wait.
fn wait_for(socket: &Socket, wanted: u32, deadline: &Deadline, op: &str) -> Result<()> {
    let Some(ms) = deadline.remaining_ms() else {
        return Ok(());
    };
    let mut entry = [PollEntry {
        socket,
        wanted,
        ready: 0,
    }];
    let n = poll::poll(&mut entry, ms)?;
    if entry[0].ready & ready::CLOSED != 0 || socket.is_closed() {
        return Err(closed(op));
    }
    if n == 0 {
        return Err(timed_out(op));
    }
    Ok(())
}

struct ReadState {
    raw: Box<[u8]>,
    /// `raw[start..end]`: read from the socket, not yet taken by rustls.
    start: usize,
    end: usize,
    /// The first bytes the peer sent, to explain a failed handshake.
    first: Vec<u8>,
}

/// What a TLS connection negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3).
    pub version: u16,
    /// The IANA number of the cipher suite.
    pub cipher_suite: u16,
    /// Its IANA name, e.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher_suite_name: String,
    /// The ALPN protocol agreed on, if any.
    pub alpn: Option<Vec<u8>>,
    /// Whether the session was resumed (no full handshake).
    pub resumed: bool,
    /// The peer certificate's subject (RFC 4514), if the peer sent one.
    pub peer_subject: Option<String>,
}

/// An established TLS connection over a stream socket.
pub struct TlsStream {
    socket: Arc<Socket>,
    side: Side,
    conn: Mutex<Connection>,
    reader: Mutex<ReadState>,
    /// Scratch space for outgoing records; its lock orders them on the wire.
    writer: Mutex<Vec<u8>>,
    recv_exact_lock: Mutex<()>,
    /// A call failed in a way that leaves the stream out of step.
    broken: AtomicBool,
    /// This end sent close_notify (shutdown for writing, or close).
    write_shut: AtomicBool,
    /// This end shut down reading: a later end of stream is not truncation.
    read_shut: AtomicBool,
    /// `close` began: calls report `Closed`, even one that the peer's answer
    /// to our close_notify woke before the socket itself was closed.
    closing: AtomicBool,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("socket", &self.socket)
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

/// A server name as rustls takes it: a DNS name or an IP literal (IPv6 with
/// or without brackets).
fn server_name(name: &str, op: &str) -> Result<ServerName<'static>> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_owned()).map_err(|_| {
        Error::invalid(format!(
            "{op}: server name \"{name}\" is not a valid DNS name or IP address"
        ))
    })
}

fn require_connected_stream(socket: &Socket, op: &str) -> Result<()> {
    if socket.kind() != Kind::Stream {
        return Err(Error::new(
            ErrorKind::WrongKind,
            format!("{op}: TLS needs a stream (TCP) socket, not a datagram socket"),
        ));
    }
    if socket.is_listening() {
        return Err(Error::new(
            ErrorKind::InvalidState,
            format!("{op}: socket is listening; accept a connection and upgrade that"),
        ));
    }
    socket.peer_addr().map_err(|_| {
        Error::new(
            ErrorKind::NotConnected,
            format!("{op}: socket is not connected"),
        )
    })?;
    Ok(())
}

impl TlsStream {
    fn new(socket: Arc<Socket>, side: Side, conn: Connection) -> TlsStream {
        TlsStream {
            socket,
            side,
            conn: Mutex::new(conn),
            reader: Mutex::new(ReadState {
                raw: vec![0u8; RAW_BUFFER].into_boxed_slice(),
                start: 0,
                end: 0,
                first: Vec::new(),
            }),
            writer: Mutex::new(Vec::with_capacity(RAW_BUFFER + 1024)),
            recv_exact_lock: Mutex::new(()),
            broken: AtomicBool::new(false),
            write_shut: AtomicBool::new(false),
            read_shut: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        }
    }

    /// The client side of a handshake over the connected `socket`, done
    /// within `timeout_ms` (negative: no limit beyond the socket's own
    /// timeouts). On failure the socket is closed.
    pub fn client(
        socket: Arc<Socket>,
        config: &TlsConfig,
        name: &str,
        timeout_ms: i64,
        op: &str,
    ) -> Result<TlsStream> {
        let deadline = Deadline::after_ms(timeout_ms);
        let result = (|| {
            require_connected_stream(&socket, op)?;
            let client_config = config.client_config(op)?;
            let conn = ClientConnection::new(client_config, server_name(name, op)?)
                .map_err(|e| tls_error(op, &e, true, &[]))?;
            Ok(TlsStream::new(
                Arc::clone(&socket),
                Side::Client,
                Connection::Client(conn),
            ))
        })();
        Self::finish(socket, result, &deadline, op)
    }

    /// The server side of a handshake over the connected `socket`.
    pub fn server(
        socket: Arc<Socket>,
        config: &TlsConfig,
        timeout_ms: i64,
        op: &str,
    ) -> Result<TlsStream> {
        let deadline = Deadline::after_ms(timeout_ms);
        let result = (|| {
            require_connected_stream(&socket, op)?;
            let server_config = config.server_config(op)?;
            let conn =
                ServerConnection::new(server_config).map_err(|e| tls_error(op, &e, true, &[]))?;
            Ok(TlsStream::new(
                Arc::clone(&socket),
                Side::Server,
                Connection::Server(conn),
            ))
        })();
        Self::finish(socket, result, &deadline, op)
    }

    /// Resolves `host`, connects within `timeout_ms` and does the client
    /// handshake in the time left. `name` (default: `host`) is the name the
    /// certificate must be valid for, also sent as SNI.
    pub fn connect(
        host: &str,
        port: u16,
        config: &TlsConfig,
        name: Option<&str>,
        timeout_ms: i64,
    ) -> Result<TlsStream> {
        let op = "tls_connect";
        // Check what needs no network first.
        config.client_config(op)?;
        server_name(name.unwrap_or(host), op)?;
        let deadline = Deadline::after_ms(timeout_ms);
        let socket = Arc::new(Socket::tcp_connect(host, port, timeout_ms)?);
        let left = deadline.remaining_ms().unwrap_or(-1);
        if left == 0 {
            socket.close();
            return Err(
                timed_out(op).with_detail("connected, but no time was left for the handshake")
            );
        }
        TlsStream::client(socket, config, name.unwrap_or(host), left, op)
    }

    fn finish(
        socket: Arc<Socket>,
        result: Result<TlsStream>,
        deadline: &Deadline,
        op: &str,
    ) -> Result<TlsStream> {
        let outcome = result.and_then(|stream| {
            stream.handshake(deadline, op)?;
            Ok(stream)
        });
        if outcome.is_err() {
            socket.close();
        }
        outcome
    }

    fn handshake(&self, deadline: &Deadline, op: &str) -> Result<()> {
        let mut rs = self.reader.lock();
        loop {
            self.drain(self.writer.lock(), deadline, op)?;
            if !self.conn.lock().is_handshaking() {
                return Ok(());
            }
            let n = self.recv_raw(&mut rs, deadline, op, true).map_err(|e| {
                if e.kind() == ErrorKind::Timeout {
                    e.with_detail("during the TLS handshake")
                } else {
                    e
                }
            })?;
            if n == 0 {
                return Err(closed_in_handshake(op, &rs.first));
            }
            let mut conn = self.conn.lock();
            self.feed(&mut conn, &mut rs, op)?;
        }
    }

    pub fn socket(&self) -> &Arc<Socket> {
        &self.socket
    }

    /// Checks that `name` can be a server name (a DNS name or an IP address).
    pub fn check_server_name(name: &str, op: &str) -> Result<()> {
        server_name(name, op).map(|_| ())
    }

    pub fn side(&self) -> Side {
        self.side
    }

    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    fn track<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.kind().breaks_stream() {
                self.broken.store(true, Ordering::Relaxed);
            }
        }
        result
    }

    // ---- the wire ------------------------------------------------------

    /// Sends ciphertext: whole records, so on failure the stream is broken.
    fn send_raw(&self, bytes: &[u8], deadline: &Deadline, op: &str) -> Result<()> {
        match deadline {
            Deadline::Forever => self.socket.send_all(bytes),
            Deadline::At(_) => {
                let mut sent = 0;
                while sent < bytes.len() {
                    wait_for(&self.socket, ready::OUT, deadline, op)?;
                    sent += self.socket.send(&bytes[sent..])?;
                }
                Ok(())
            }
        }
        .inspect_err(|_| self.broken.store(true, Ordering::Relaxed))
    }

    /// Reads ciphertext into the empty read buffer. `Ok(0)`: end of stream.
    fn recv_raw(
        &self,
        rs: &mut ReadState,
        deadline: &Deadline,
        op: &str,
        handshaking: bool,
    ) -> Result<usize> {
        debug_assert!(rs.start == rs.end);
        rs.start = 0;
        rs.end = 0;
        wait_for(&self.socket, ready::IN, deadline, op)?;
        let n = self.socket.recv(&mut rs.raw)?;
        if self.closing.load(Ordering::SeqCst) {
            return Err(closed(op));
        }
        rs.end = n;
        if handshaking && rs.first.len() < FIRST_BYTES {
            let take = n.min(FIRST_BYTES - rs.first.len());
            rs.first.extend_from_slice(&rs.raw[..take]);
        }
        Ok(n)
    }

    /// Gives rustls the bytes read so far and processes them; on a TLS error
    /// sends the alert rustls made (without blocking) and fails.
    fn feed(&self, conn: &mut Connection, rs: &mut ReadState, op: &str) -> Result<()> {
        loop {
            let mut progressed = false;
            if rs.start < rs.end {
                // An error means rustls's buffers are full: the reader must
                // take plaintext first; the rest waits in `raw`.
                if let Ok(n) = conn.read_tls(&mut &rs.raw[rs.start..rs.end]) {
                    rs.start += n;
                    progressed = n > 0;
                }
            }
            let handshaking = conn.is_handshaking();
            if let Err(e) = conn.process_new_packets() {
                self.broken.store(true, Ordering::Relaxed);
                self.send_alert(conn);
                return Err(tls_error(op, &e, handshaking, &rs.first));
            }
            if rs.start == rs.end || !progressed || !conn.wants_read() {
                return Ok(());
            }
        }
    }

    /// Sends what rustls queued after a fatal error (its alert), never
    /// blocking, and only if no sender is in the middle of a record.
    fn send_alert(&self, conn: &mut Connection) {
        if let Some(mut out) = self.writer.try_lock() {
            out.clear();
            while conn.wants_write() {
                if conn.write_tls(&mut *out).is_err() {
                    break;
                }
            }
            self.send_now(&out);
        }
    }

    /// One non-blocking send of `bytes`, ignoring failure (close paths).
    fn send_now(&self, bytes: &[u8]) {
        if bytes.is_empty() || self.socket.is_closed() {
            return;
        }
        // SAFETY: a valid buffer; the descriptor stays open while `self`
        // holds the socket.
        unsafe {
            libc::send(
                self.socket.fileno(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            );
        }
    }

    /// Sends every pending record while holding the writer lock, then lets
    /// go and looks again, so records queued by a receiver that could not
    /// get the lock meanwhile are never left behind.
    fn drain<'a>(
        &'a self,
        mut out: MutexGuard<'a, Vec<u8>>,
        deadline: &Deadline,
        op: &str,
    ) -> Result<()> {
        loop {
            loop {
                out.clear();
                {
                    let mut conn = self.conn.lock();
                    while conn.wants_write() {
                        if let Err(e) = conn.write_tls(&mut *out) {
                            return Err(Error::from_io(op, &e));
                        }
                    }
                }
                if out.is_empty() {
                    break;
                }
                self.send_raw(&out, deadline, op)?;
            }
            drop(out);
            if !self.conn.lock().wants_write() {
                return Ok(());
            }
            match self.writer.try_lock() {
                Some(again) => out = again,
                // Its holder looks again after letting go.
                None => return Ok(()),
            }
        }
    }

    fn lock_writer(&self, deadline: &Deadline, op: &str) -> Result<MutexGuard<'_, Vec<u8>>> {
        match deadline {
            Deadline::Forever => Ok(self.writer.lock()),
            Deadline::At(at) => self.writer.try_lock_until(*at).ok_or_else(|| timed_out(op)),
        }
    }

    fn write_deadline(&self) -> Deadline {
        Deadline::after_ms(
            self.socket
                .get_option(SockOption::WriteTimeoutMs)
                .unwrap_or(-1),
        )
    }

    fn read_deadline(&self) -> Deadline {
        Deadline::after_ms(
            self.socket
                .get_option(SockOption::ReadTimeoutMs)
                .unwrap_or(-1),
        )
    }

    // ---- data ------------------------------------------------------------

    /// Encrypts and sends `buf` (all of it if `all`, else at least one
    /// byte), within `deadline`.
    fn write_plain(&self, buf: &[u8], all: bool, deadline: &Deadline, op: &str) -> Result<usize> {
        if self.socket.is_closed() {
            return Err(closed(op));
        }
        if self.write_shut.load(Ordering::Relaxed) {
            return Err(Error::from_errno(op, libc::EPIPE)
                .with_detail("the TLS stream was shut down for writing"));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut out = self.lock_writer(deadline, op)?;
        let mut taken = 0;
        loop {
            out.clear();
            {
                let mut conn = self.conn.lock();
                let n = conn
                    .writer()
                    .write(&buf[taken..])
                    .map_err(|e| Error::from_io(op, &e))?;
                taken += n;
                while conn.wants_write() {
                    conn.write_tls(&mut *out)
                        .map_err(|e| Error::from_io(op, &e))?;
                }
                if n == 0 && out.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InvalidState,
                        format!("{op}: the TLS connection takes no more data"),
                    ));
                }
            }
            if !out.is_empty() {
                self.send_raw(&out, deadline, op).map_err(|e| {
                    e.with_detail(format_args!("{taken} of {} bytes encrypted", buf.len()))
                })?;
            }
            if taken == buf.len() || !all {
                break;
            }
        }
        out.clear();
        self.drain(out, deadline, op)?;
        Ok(taken)
    }

    /// Sends some of `buf` (at least one byte unless it is empty), within
    /// the write timeout.
    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        let result = self.write_plain(buf, false, &self.write_deadline(), "send");
        self.track(result)
    }

    /// Sends all of `buf`; the write timeout bounds the whole call.
    /// Concurrent calls never interleave their bytes.
    pub fn send_all(&self, buf: &[u8]) -> Result<()> {
        let result = self
            .write_plain(buf, true, &self.write_deadline(), "send_all")
            .map(|_| ());
        self.track(result)
    }

    /// Decrypted bytes into `buf`: at least one, or `Ok(0)` for close_notify.
    fn read_plain(
        &self,
        rs: &mut ReadState,
        buf: &mut [MaybeUninit<u8>],
        deadline: &Deadline,
        op: &str,
    ) -> Result<usize> {
        loop {
            let flush;
            {
                let mut conn = self.conn.lock();
                let mut copied = 0;
                loop {
                    self.feed(&mut conn, rs, op)?;
                    let mut reader = conn.reader();
                    let mut progress = false;
                    while copied < buf.len() {
                        match reader.fill_buf() {
                            Ok([]) => {
                                // close_notify: end of stream after the data.
                                return Ok(copied);
                            }
                            Ok(chunk) => {
                                let n = chunk.len().min(buf.len() - copied);
                                // SAFETY: MaybeUninit<u8> has u8's layout;
                                // n bytes fit both slices.
                                unsafe {
                                    std::ptr::copy_nonoverlapping(
                                        chunk.as_ptr(),
                                        buf[copied..].as_mut_ptr().cast::<u8>(),
                                        n,
                                    );
                                }
                                reader.consume(n);
                                copied += n;
                                progress = true;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                                if copied > 0 {
                                    return Ok(copied);
                                }
                                if self.read_shut.load(Ordering::Relaxed) {
                                    return Ok(0);
                                }
                                return Err(truncated(op));
                            }
                            Err(e) => return Err(Error::from_io(op, &e)),
                        }
                    }
                    // More ciphertext waiting in `raw` and room for it: feed
                    // it without another system call.
                    if !(progress && copied < buf.len() && rs.start < rs.end) {
                        break;
                    }
                }
                if copied > 0 {
                    flush = conn.wants_write();
                    drop(conn);
                    if flush {
                        self.flush_from_reader(op);
                    }
                    return Ok(copied);
                }
                if rs.start < rs.end {
                    return Err(Error::new(
                        ErrorKind::TlsProtocol,
                        format!("{op}: the TLS connection accepts no more input"),
                    ));
                }
                flush = conn.wants_write();
            }
            if flush {
                self.flush_from_reader(op);
            }
            if self.recv_raw(rs, deadline, op, false)? == 0 {
                // End of TCP: rustls decides between close_notify (Ok(0)
                // above) and truncation.
                let mut conn = self.conn.lock();
                let _ = conn.read_tls(&mut &[][..]);
            }
        }
    }

    /// Records the receive side made (a reply to a key update, an alert):
    /// sent now if no sender holds the wire, else by that sender.
    fn flush_from_reader(&self, op: &str) {
        if let Some(out) = self.writer.try_lock() {
            let _ = self.drain(out, &self.write_deadline(), op);
        }
    }

    /// Receives up to `buf.len()` decrypted bytes, within the read timeout.
    /// `Ok(0)`: the peer sent close_notify (or `buf` is empty).
    pub fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize> {
        if self.socket.is_closed() {
            return Err(closed("recv"));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = self.read_deadline();
        let result = (|| {
            let mut rs = self.lock_reader(&deadline, "recv")?;
            self.read_plain(&mut rs, buf, &deadline, "recv")
        })();
        self.track(result)
    }

    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: initialized bytes are valid MaybeUninit bytes, and only
        // initialized bytes are written.
        self.recv_uninit(unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) })
    }

    fn lock_reader(&self, deadline: &Deadline, op: &str) -> Result<MutexGuard<'_, ReadState>> {
        match deadline {
            Deadline::Forever => Ok(self.reader.lock()),
            Deadline::At(at) => self.reader.try_lock_until(*at).ok_or_else(|| timed_out(op)),
        }
    }

    /// Receives exactly `buf.len()` bytes; the read timeout bounds the whole
    /// call; `Eof` if the peer sends close_notify first.
    pub fn recv_exact_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<()> {
        let op = "recv_exact";
        if self.socket.is_closed() {
            return Err(closed(op));
        }
        let deadline = self.read_deadline();
        let result = (|| {
            let _turn = match deadline {
                Deadline::Forever => self.recv_exact_lock.lock(),
                Deadline::At(at) => self
                    .recv_exact_lock
                    .try_lock_until(at)
                    .ok_or_else(|| timed_out(op))?,
            };
            let len = buf.len();
            let mut got = 0;
            while got < len {
                let n = {
                    let mut rs = self.lock_reader(&deadline, op)?;
                    self.read_plain(&mut rs, &mut buf[got..], &deadline, op)
                }
                .map_err(|e| e.with_detail(format_args!("{got} of {len} bytes received")))?;
                if n == 0 {
                    return Err(Error::new(
                        ErrorKind::Eof,
                        format!("{op}: peer closed the TLS stream after {got} of {len} bytes"),
                    ));
                }
                got += n;
            }
            Ok(())
        })();
        self.track(result)
    }

    /// [`TlsStream::recv_exact_uninit`] into initialized memory.
    pub fn recv_exact(&self, buf: &mut [u8]) -> Result<()> {
        // SAFETY: as in `recv`.
        self.recv_exact_uninit(unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) })
    }

    /// `send_all(request)` then `recv_exact(response)`.
    pub fn exchange_uninit(&self, request: &[u8], response: &mut [MaybeUninit<u8>]) -> Result<()> {
        self.send_all(request)?;
        self.recv_exact_uninit(response)
    }

    /// Write: sends close_notify, then shuts TCP down for writing (the peer
    /// sees a clean end of stream). Read: no more receives. Both: both.
    pub fn shutdown(&self, how: ShutdownHow) -> Result<()> {
        let op = "shutdown";
        if matches!(how, ShutdownHow::Write | ShutdownHow::Both)
            && !self.write_shut.swap(true, Ordering::Relaxed)
        {
            let deadline = self.write_deadline();
            let out = self.lock_writer(&deadline, op)?;
            self.conn.lock().send_close_notify();
            self.drain(out, &deadline, op)?;
        }
        if matches!(how, ShutdownHow::Read | ShutdownHow::Both) {
            self.read_shut.store(true, Ordering::Relaxed);
        }
        self.socket.shutdown(how)?;
        self.broken.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Sends close_notify if it can without blocking, then closes the socket,
    /// which wakes every call blocked on this stream.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        if let Some(mut out) = self.writer.try_lock() {
            if !self.write_shut.swap(true, Ordering::Relaxed) {
                out.clear();
                {
                    let mut conn = self.conn.lock();
                    conn.send_close_notify();
                    while conn.wants_write() {
                        if conn.write_tls(&mut *out).is_err() {
                            break;
                        }
                    }
                }
                self.send_now(&out);
            }
        }
        self.socket.close();
    }

    /// Processes, without blocking, whatever the peer sent: for an idle
    /// connection (a pool's liveness probe) and before a close, so session
    /// tickets sent after the handshake are kept. Returns whether the
    /// connection is still fit for reuse: nothing but handshake messages
    /// (tickets, key updates) arrived; application data, close_notify, an
    /// alert, an error or the end of TCP mean no.
    pub fn settle(&self) -> bool {
        let Some(mut rs) = self.reader.try_lock() else {
            return false; // a receive is in flight
        };
        if self.is_broken() || self.socket.is_closed() {
            return false;
        }
        // Bounded: a peer streaming handshake messages cannot keep us here.
        for _ in 0..8 {
            if rs.start == rs.end && !self.socket.readable_now() {
                break;
            }
            if rs.start == rs.end {
                match self.recv_raw(&mut rs, &Deadline::after_ms(0), "settle", false) {
                    Ok(0) | Err(_) => return false,
                    Ok(_) => {}
                }
            }
            let mut conn = self.conn.lock();
            if self.feed(&mut conn, &mut rs, "settle").is_err() {
                return false;
            }
            let state = match conn.process_new_packets() {
                Ok(state) => state,
                Err(_) => return false,
            };
            if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() {
                return false;
            }
        }
        if self.conn.lock().wants_write() {
            self.flush_from_reader("settle");
        }
        !self.is_broken()
    }

    /// Whether decrypted bytes (or a close_notify) wait in the stream, so a
    /// receive would return without reading the socket.
    pub fn has_buffered_input(&self) -> bool {
        let mut conn = self.conn.lock();
        match conn.process_new_packets() {
            Ok(state) => state.plaintext_bytes_to_read() > 0 || state.peer_has_closed(),
            Err(_) => true,
        }
    }

    /// What the handshake negotiated.
    pub fn info(&self) -> TlsInfo {
        let conn = self.conn.lock();
        let suite = conn.negotiated_cipher_suite();
        TlsInfo {
            version: conn.protocol_version().map(u16::from).unwrap_or(0),
            cipher_suite: suite.map(|s| u16::from(s.suite())).unwrap_or(0),
            cipher_suite_name: suite
                .and_then(|s| s.suite().as_str())
                .unwrap_or("")
                .to_owned(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            peer_subject: conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| super::x509::subject(leaf)),
        }
    }
}

impl crate::stream::Transport for TlsStream {
    fn socket(&self) -> &Arc<Socket> {
        TlsStream::socket(self)
    }
    fn send(&self, buf: &[u8]) -> Result<usize> {
        TlsStream::send(self, buf)
    }
    fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize> {
        TlsStream::recv_uninit(self, buf)
    }
    fn send_all(&self, buf: &[u8]) -> Result<()> {
        TlsStream::send_all(self, buf)
    }
    fn recv_exact_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<()> {
        TlsStream::recv_exact_uninit(self, buf)
    }
    fn shutdown(&self, how: ShutdownHow) -> Result<()> {
        TlsStream::shutdown(self, how)
    }
    fn close(&self) {
        TlsStream::close(self)
    }
    fn has_buffered_input(&self) -> bool {
        TlsStream::has_buffered_input(self)
    }
    fn is_broken(&self) -> bool {
        TlsStream::is_broken(self)
    }
    fn settle(&self) -> bool {
        TlsStream::settle(self)
    }
    fn kind_name(&self) -> &'static str {
        "TLS stream"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A pool's TLS: each new connection does the client handshake with a
/// shared client config (whose session store makes later connections
/// resume) for a server name.
#[derive(Debug, Clone)]
pub struct PoolTls {
    pub config: Arc<TlsConfig>,
    pub server_name: String,
}

impl crate::pool::conn::Upgrade for PoolTls {
    fn upgrade(
        &self,
        socket: Arc<Socket>,
        timeout_ms: i64,
    ) -> Result<(Arc<dyn crate::stream::Transport>, bool)> {
        let stream = TlsStream::client(
            socket,
            &self.config,
            &self.server_name,
            timeout_ms,
            "pool_acquire",
        )?;
        let resumed = stream.info().resumed;
        Ok((Arc::new(stream), resumed))
    }
}
