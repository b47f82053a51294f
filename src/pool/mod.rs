//! A pool of keep-alive stream connections to one endpoint.
//!
//! `slots` does the accounting (limits, fair queueing, expiry, counts); this
//! module does the I/O around it: connecting, the liveness probe, handing
//! connections out as [`Lease`]s and taking them back.
//!
//! A lease owns its connection until it is released or discarded (both take
//! the lease by value, and dropping a lease discards it), so each lease ends
//! exactly once. The pool knows nothing of handles: `ffi` names a lease with
//! a socket handle and ends it when that handle ends.
//!
//! A pool with an [`Upgrade`] (TLS) upgrades each new connection after its
//! TCP connect, within the same connect timeout; its leases are TLS streams
//! and the liveness probe is TLS-aware (see [`Conn::is_stale`]).
//!
//! Liveness: see [`Socket::readable_now`]. An idle connection has nothing to
//! say, so if poll(2) with a zero timeout finds it readable, the peer closed it
//! (EOF), reset it, or sent bytes nobody asked for; either way it must not be
//! handed out. The probe never blocks and costs one system call (about half a
//! microsecond). With `check_on_acquire` off, acquire and release make no
//! system call at all on the reuse path.

pub mod conn;
pub mod slots;

use crate::addr;
use crate::error::{Error, ErrorKind, Result};
use crate::socket::{Family, Kind, SockOption, Socket};
use crate::stream::Stream;
use crate::sync::Mutex;
pub use conn::{Conn, HandshakeCounts, Upgrade};
use once_cell::sync::Lazy;
use slots::{Ending, Grant, Limits, Refusal, Slots, Stamp, Want};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pool settings; see `sockrt_pool_config` for the meaning of each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    pub max_idle: u32,
    pub max_total: u32,
    pub connect_timeout_ms: i32,
    pub acquire_timeout_ms: i32,
    pub idle_timeout_ms: i32,
    pub max_lifetime_ms: i32,
    pub check_on_acquire: bool,
    pub nodelay: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_idle: 8,
            max_total: 32,
            connect_timeout_ms: 5000,
            acquire_timeout_ms: 5000,
            idle_timeout_ms: 60_000,
            max_lifetime_ms: -1,
            check_on_acquire: true,
            nodelay: true,
        }
    }
}

/// Pool counters; `idle` and `in_use` are current, the rest count events
/// since the pool opened. (The C ABI uses this type as `sockrt_pool_stats`.)
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections waiting idle for reuse.
    pub idle: u64,
    /// Connections leased out now.
    pub in_use: u64,
    /// Connections opened.
    pub created: u64,
    /// Acquires served by an idle connection.
    pub reused: u64,
    /// Idle connections the liveness check found closed, reset or holding
    /// stray bytes (closed, never handed out).
    pub closed_stale: u64,
    /// Connections closed for idle_timeout_ms or max_lifetime_ms, or idle
    /// ones closed to make room for a SOCKRT_ACQUIRE_FRESH connection.
    pub closed_expired: u64,
    /// Connections closed at release because a call on them failed, they were
    /// shut down, had unread bytes or a call in flight; or by
    /// sockrt_pool_discard or sockrt_close.
    pub closed_broken: u64,
    /// Acquires that had to queue for a slot.
    pub waits: u64,
    /// Acquires that gave up queueing (SOCKRT_E_POOL_EXHAUSTED).
    pub timeouts: u64,
}

/// Bumped in a fork child, so pools can tell inherited connections apart.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static FORK_HOOK: Lazy<()> = Lazy::new(|| {
    extern "C" fn in_child() {
        FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    }
    // SAFETY: registers a child handler that only touches an atomic.
    unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
});

/// How many times this process is removed by fork() from the one that
/// opened the first pool.
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// What one acquire asks for beyond the pool's settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcquireOptions {
    /// A connection that never served a lease (see `sockrt_pool_acquire_ex`).
    pub fresh: bool,
    /// Replaces the pool's acquire timeout for this call (ms; negative:
    /// forever, 0: do not wait).
    pub timeout_ms: Option<i32>,
}

/// A leased connection: use [`Lease::socket`], then end the lease with
/// [`Lease::release`] (healthy) or [`Lease::discard`] (broken). Dropping a
/// lease discards it. A lease keeps its pool alive (no cycle: idle
/// connections, which the pool holds, do not point back to it).
pub struct Lease {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    reused: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("socket", &self.conn.as_ref().map(|c| c.socket()))
            .field("tls", &self.is_tls())
            .field("reused", &self.reused)
            .finish()
    }
}

impl Lease {
    /// The leased connection's TCP socket: an ordinary connected stream
    /// socket (for a TLS lease, the one under the TLS layer: data calls go
    /// through [`Lease::stream`]).
    pub fn socket(&self) -> &Arc<Socket> {
        self.conn().socket()
    }

    /// The leased connection as a stream: plain, or TLS over the socket.
    pub fn stream(&self) -> &Stream {
        &self.conn().stream
    }

    /// Whether the leased connection is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(
            self.conn.as_ref().map(|c| &c.stream),
            Some(Stream::Layered(_))
        )
    }

    fn conn(&self) -> &Conn {
        self.conn.as_ref().expect("a live lease has its connection")
    }

    /// Whether this lease reuses a connection an earlier lease used.
    pub fn was_reused(&self) -> bool {
        self.reused
    }

    /// Whether the lease came from `pool`.
    pub fn is_from(&self, pool: &Pool) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.pool), pool)
    }

    /// Ends the lease: the connection goes back to idle if it is healthy;
    /// if a call on it failed, it was shut down, has unread bytes or a call
    /// is still in flight on it, it is closed (closed_broken). Read/write
    /// timeouts and busy polling are reset for the next lease. After the
    /// pool closed, the connection is closed.
    pub fn release(mut self) {
        self.end(true);
    }

    /// Ends the lease and closes the connection, freeing its slot.
    pub fn discard(mut self) {
        self.end(false);
    }

    fn end(&mut self, release: bool) {
        let Some(conn) = self.conn.take() else { return };
        let pool = &self.pool;
        if conn.fork_generation != fork_generation() {
            // The parent's connection: drop our descriptor, count nothing.
            return;
        }
        let ending = if !release {
            Ending::Discarded
        } else if conn.is_broken()
            // Another thread still inside a call on it: the stream is in use.
            || conn.in_use_elsewhere()
            || (pool.config.check_on_acquire && conn.is_stale())
        {
            Ending::Broken
        } else {
            Ending::Healthy
        };
        // Per-lease settings do not leak into the next lease.
        conn.socket().reset_lease_settings();
        pool.slots.end_lease(conn, ending);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.end(false);
    }
}

/// Keep-alive connections to one endpoint, shared by any number of threads.
pub struct Pool {
    host: String,
    port: u16,
    config: PoolConfig,
    slots: Slots<Conn>,
    /// The sockets of connects in progress (with the fork generation that
    /// made them), so that close can cut them short; `None` once closed.
    connecting: Mutex<Option<Vec<Connecting>>>,
    /// TLS over each new connection, if the pool has a TLS config.
    tls: Option<Arc<dyn Upgrade>>,
    handshakes: HandshakeCounts,
}

/// A connect in progress: its socket and the fork generation that made it.
type Connecting = (Arc<Socket>, u64);

fn millis(ms: i32) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

impl Pool {
    /// A pool for `host:port`. Nothing connects until the first acquire.
    pub fn open(host: &str, port: u16, config: PoolConfig) -> Result<Arc<Pool>> {
        Pool::open_with_tls(host, port, config, None)
    }

    /// A pool whose new connections are upgraded (to TLS) by `tls`, if given.
    pub fn open_with_tls(
        host: &str,
        port: u16,
        config: PoolConfig,
        tls: Option<Arc<dyn Upgrade>>,
    ) -> Result<Arc<Pool>> {
        if host.is_empty() {
            return Err(Error::invalid("pool_open: host is empty"));
        }
        if port == 0 && !addr::looks_like_unix(host, port) {
            return Err(Error::invalid(
                "pool_open: port 0 cannot be connected to (a Unix socket path needs a '/' or a leading '@')",
            ));
        }
        Lazy::force(&FORK_HOOK);
        let limits = Limits {
            max_idle: config.max_idle,
            max_total: config.max_total,
            idle_timeout: millis(config.idle_timeout_ms),
            max_lifetime: millis(config.max_lifetime_ms),
        };
        Ok(Arc::new(Pool {
            host: host.to_owned(),
            port,
            config,
            slots: Slots::new(limits),
            connecting: Mutex::new(Some(Vec::new())),
            tls,
            handshakes: HandshakeCounts::default(),
        }))
    }

    /// The settings the pool was opened with.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Whether the pool's connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// TLS handshakes of this pool's connections: (full, resumed).
    pub fn tls_handshakes(&self) -> (u64, u64) {
        self.handshakes.get()
    }

    /// Leases a connection: the newest live idle one, or a new one if a slot
    /// is free; otherwise queues up to the acquire timeout for one
    /// (`PoolExhausted`). `PoolClosed` once the pool closes.
    pub fn acquire(self: &Arc<Self>) -> Result<Lease> {
        self.acquire_with(AcquireOptions::default())
    }

    /// [`Pool::acquire`] with per-call options.
    pub fn acquire_with(self: &Arc<Self>, options: AcquireOptions) -> Result<Lease> {
        Arc::clone(self).lease(options)
    }

    /// [`Pool::acquire_with`] that hands the caller's reference to the pool
    /// over to the lease (one reference count less to move).
    pub fn lease(self: Arc<Self>, options: AcquireOptions) -> Result<Lease> {
        let timeout_ms = options.timeout_ms.unwrap_or(self.config.acquire_timeout_ms);
        let mut want = Want {
            timeout: millis(timeout_ms),
            started: None,
            probed: self.config.check_on_acquire,
            fresh: options.fresh,
        };
        loop {
            match self.slots.acquire(&mut want) {
                Ok(Grant::Idle(conn)) => {
                    if self.config.check_on_acquire {
                        if conn.is_stale() {
                            self.slots.stale(conn);
                            continue;
                        }
                        self.slots.reused();
                    }
                    return Ok(Lease {
                        conn: Some(conn),
                        pool: self,
                        reused: true,
                    });
                }
                Ok(Grant::Connect) => return self.lease_new(),
                Err(Refusal::Closed) => return Err(pool_closed()),
                Err(Refusal::Exhausted { in_use }) => {
                    return Err(Error::new(
                        ErrorKind::PoolExhausted,
                        format!(
                            "pool_acquire {}:{}: no connection free within {timeout_ms} ms ({in_use} in use)",
                            self.host, self.port
                        ),
                    ))
                }
            }
        }
    }

    /// Connects a new connection in a slot granted for connecting.
    fn lease_new(self: Arc<Self>) -> Result<Lease> {
        let conn = match self.connect() {
            Ok(conn) => conn,
            Err(e) => {
                self.slots.connect_failed();
                return Err(e);
            }
        };
        match self.slots.connected(conn) {
            Ok(conn) => Ok(Lease {
                conn: Some(conn),
                pool: self,
                reused: false,
            }),
            Err(_closed) => Err(pool_closed()),
        }
    }

    /// Connects to the pool's endpoint, trying each address in turn within
    /// the connect timeout, then does the TLS handshake (if the pool has
    /// TLS) in the time left. Each socket is known to `close` while it
    /// connects and handshakes: close closes it, which wakes the connect or
    /// the handshake (`PoolClosed`).
    fn connect(&self) -> Result<Conn> {
        // A path (or @name) with port 0 is a Unix stream socket; a host name
        // is resolved and each address tried in turn.
        let unix = addr::looks_like_unix(&self.host, self.port);
        let targets: Vec<(Family, String, u16)> = if unix {
            vec![(Family::Unix, self.host.clone(), 0)]
        } else {
            addr::resolve(&self.host, self.port, None)?
                .iter()
                .map(|a| (Family::of(a), addr::host_string(a), a.port()))
                .collect()
        };
        let deadline = millis(self.config.connect_timeout_ms).map(|d| Instant::now() + d);
        let mut last = None;
        for (family, host, port) in targets {
            let timeout_ms = match deadline {
                None => -1,
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    // Rounded up: a connect timeout of 0 means something else.
                    (left.as_micros().div_ceil(1000)).max(1) as i64
                }
            };
            let socket = Arc::new(Socket::new(family, Kind::Stream)?);
            self.track_connect(&socket)?;
            let result = socket.connect(&host, port, timeout_ms);
            if result.is_ok() {
                // Connected: what fails from here on fails the acquire.
                let made = self.finish(Arc::clone(&socket), deadline, unix);
                self.untrack_connect(&socket);
                return match made {
                    Ok(stream) => Ok(Conn {
                        stream,
                        created: Stamp::now(),
                        fork_generation: fork_generation(),
                    }),
                    Err(_) if self.connecting.lock().is_none() => Err(pool_closed()),
                    Err(e) => Err(e),
                };
            }
            self.untrack_connect(&socket);
            match result {
                Ok(()) => unreachable!("handled above"),
                Err(_) if self.connecting.lock().is_none() => return Err(pool_closed()),
                Err(e) if e.kind() == ErrorKind::Timeout => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "connect {}:{}: timed out after {} ms",
                    self.host, self.port, self.config.connect_timeout_ms
                ),
            )
        }))
    }

    /// Sets up a connected socket: TCP_NODELAY (not on a Unix socket), then the TLS handshake (if
    /// the pool has TLS) by the connect deadline.
    fn finish(&self, socket: Arc<Socket>, deadline: Option<Instant>, unix: bool) -> Result<Stream> {
        if self.config.nodelay && !unix {
            socket.set_option(SockOption::NoDelay, 1)?;
        }
        let Some(tls) = &self.tls else {
            return Ok(Stream::Plain(socket));
        };
        let timeout_ms = match deadline {
            None => -1,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    socket.close();
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "pool_acquire {}:{}: connected, but the connect timeout ({} ms) left no time for the TLS handshake",
                            self.host, self.port, self.config.connect_timeout_ms
                        ),
                    ));
                }
                (left.as_micros().div_ceil(1000)).max(1) as i64
            }
        };
        let (stream, resumed) = tls.upgrade(socket, timeout_ms)?;
        self.handshakes.count(resumed);
        Ok(Stream::Layered(stream))
    }

    fn track_connect(&self, socket: &Arc<Socket>) -> Result<()> {
        match self.connecting.lock().as_mut() {
            Some(list) => {
                list.push((Arc::clone(socket), fork_generation()));
                Ok(())
            }
            None => Err(pool_closed()),
        }
    }

    fn untrack_connect(&self, socket: &Arc<Socket>) {
        if let Some(list) = self.connecting.lock().as_mut() {
            list.retain(|(s, _)| !Arc::ptr_eq(s, socket));
        }
    }

    /// Current counts; also closes idle connections that expired.
    pub fn stats(&self) -> PoolStats {
        self.slots.stats()
    }

    /// Closes idle connections now, wakes queued acquirers and cuts short
    /// connects in progress (`PoolClosed`, the half-made connection closed);
    /// leased connections stay usable and close when their lease ends.
    pub fn close(&self) {
        self.slots.close();
        let connecting = self.connecting.lock().take();
        let generation = fork_generation();
        for (socket, made_in) in connecting.into_iter().flatten() {
            // A connect inherited across fork() is the parent's to end.
            if made_in == generation {
                socket.close();
            }
        }
    }
}

fn pool_closed() -> Error {
    Error::new(ErrorKind::PoolClosed, "pool_acquire: pool is closed")
}
