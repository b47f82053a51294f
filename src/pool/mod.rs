//! A pool of keep-alive stream connections to one endpoint.
//!
//! `slots` does the accounting (limits, fair queueing, expiry, counts); this
//! module does the I/O around it: connecting, the liveness probe, handing
//! connections out as ordinary socket handles and taking them back.
//!
//! A lease is an ordinary socket handle. Release, discard and close each end
//! that handle (the handle table refuses a second end), so each lease ends
//! exactly once.
//!
//! Liveness: see [`Socket::readable_now`]. An idle connection has nothing to
//! say, so if poll(2) with a zero timeout finds it readable, the peer closed it
//! (EOF), reset it, or sent bytes nobody asked for; either way it must not be
//! handed out. The probe never blocks and costs one system call (about half a
//! microsecond). With `check_on_acquire` off, acquire and release make no
//! system call at all on the reuse path.

pub mod conn;
pub mod slots;

use crate::error::{Error, ErrorKind, Result};
use crate::handle::Handle;
use crate::registry::{self, Object};
use crate::socket::Socket;
use conn::{Conn, HandshakeCounts, Upgrade};
use once_cell::sync::Lazy;
use slots::{Ending, Grant, Limits, Refusal, Slots};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
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

/// Exact counts since the pool opened (`idle` and `in_use` are current).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub idle: u64,
    pub in_use: u64,
    /// Connections opened.
    pub created: u64,
    /// Acquires served by an idle connection.
    pub reused: u64,
    /// Idle connections found dead or out of step by the liveness check.
    pub closed_stale: u64,
    /// Connections closed for idle timeout or max lifetime.
    pub closed_expired: u64,
    /// Connections closed at release (a failed call, shut down, unread bytes,
    /// a call still in flight), by discard, or by `sockrt_close`.
    pub closed_broken: u64,
    /// Acquires that had to queue for a slot.
    pub waits: u64,
    /// Acquires that gave up queueing (`PoolExhausted`).
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

/// What a pooled connection knows of its pool. The link is weak: idle
/// connections live in their pool, so a strong one would keep a pool that
/// was dropped without `close` alive forever, with its descriptors.
pub struct Membership {
    pool: Weak<Pool>,
    /// The pool's handle when the connection was made (0 if unregistered).
    pool_handle: Handle,
    created: Instant,
    fork_generation: u64,
    reused: AtomicBool,
}

impl Membership {
    /// Whether the current lease reuses a connection an earlier one used.
    pub fn was_reused(&self) -> bool {
        self.reused.load(Ordering::Relaxed)
    }

    /// Ends the lease of `conn`, whose handle is already gone, and closes
    /// the connection (`sockrt_close` on a pooled connection).
    pub fn discard(conn: Conn) {
        let pool = conn.membership().pool.upgrade();
        match pool {
            Some(pool) => pool.slots.end_lease(conn, Ending::Discarded),
            None => slots::Pooled::close(&conn),
        }
    }
}

pub(crate) fn member(socket: &Socket) -> &Membership {
    socket
        .membership
        .get()
        .expect("pooled sockets have a membership")
}

/// Keep-alive connections to one endpoint, shared by any number of threads.
pub struct Pool {
    /// The pool's own handle, once registered.
    handle: once_cell::sync::OnceCell<Handle>,
    host: String,
    port: u16,
    config: PoolConfig,
    slots: Slots<Conn>,
    /// TLS over each connection, if the pool has a TLS config.
    tls: Option<Arc<dyn Upgrade>>,
    handshakes: HandshakeCounts,
}

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
        if port == 0 {
            return Err(Error::invalid("pool_open: port 0 cannot be connected to"));
        }
        Lazy::force(&FORK_HOOK);
        let limits = Limits {
            max_idle: config.max_idle,
            max_total: config.max_total,
            idle_timeout: millis(config.idle_timeout_ms),
            max_lifetime: millis(config.max_lifetime_ms),
        };
        Ok(Arc::new(Pool {
            handle: once_cell::sync::OnceCell::new(),
            host: host.to_owned(),
            port,
            config,
            slots: Slots::new(limits),
            tls,
            handshakes: HandshakeCounts::default(),
        }))
    }

    /// Names the pool with a handle in the process-wide table.
    pub fn register(self: &Arc<Self>, op: &str) -> Result<Handle> {
        let handle = registry::insert(Object::Pool(Arc::clone(self)), op)?;
        let _ = self.handle.set(handle);
        Ok(handle)
    }

    /// `sockrt_pool_release`: ends the lease `conn` of the pool that
    /// `pool_handle` names, back to idle if healthy. See `end_lease`.
    pub fn release_lease(pool_handle: Handle, conn: Handle) -> Result<()> {
        Self::end_lease(pool_handle, conn, "pool_release", |pool| pool.release(conn))
    }

    /// `sockrt_pool_discard`: ends the lease and closes the connection.
    pub fn discard_lease(pool_handle: Handle, conn: Handle) -> Result<()> {
        Self::end_lease(pool_handle, conn, "pool_discard", |pool| pool.discard(conn))
    }

    /// Ends a lease through its pool's handle. Once the pool is closed that
    /// handle is gone, but its leases can still be ended through it: the
    /// connection is then closed.
    fn end_lease(
        pool_handle: Handle,
        conn: Handle,
        op: &str,
        live: impl FnOnce(&Arc<Pool>) -> Result<()>,
    ) -> Result<()> {
        match registry::pool(pool_handle, op) {
            Ok(pool) => live(&pool),
            Err(e) if e.kind() == ErrorKind::BadHandle => {
                let object = registry::remove_if(conn, op, |object| match Conn::of(object) {
                    Some(c) if c.membership().pool_handle == pool_handle => Ok(()),
                    _ => Err(e.clone()),
                })?;
                if let Some(c) = Conn::of(&object) {
                    Membership::discard(c);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Leases a connection as a new socket handle: the newest live idle one,
    /// or a new one if a slot is free; otherwise queues up to the acquire
    /// timeout for one (`PoolExhausted`). `PoolClosed` once the pool closes.
    pub fn acquire(self: &Arc<Self>) -> Result<Handle> {
        let deadline = millis(self.config.acquire_timeout_ms).map(|d| Instant::now() + d);
        loop {
            match self.slots.acquire(deadline, self.config.check_on_acquire) {
                Ok(Grant::Idle(conn)) => {
                    if let Some(handle) = self.lease_idle(conn)? {
                        return Ok(handle);
                    }
                }
                Ok(Grant::Connect) => return self.lease_new(),
                Err(Refusal::Closed) => return Err(pool_closed()),
                Err(Refusal::Exhausted { in_use }) => {
                    return Err(Error::new(
                        ErrorKind::PoolExhausted,
                        format!(
                            "pool_acquire {}:{}: no connection free within {} ms ({in_use} in use)",
                            self.host, self.port, self.config.acquire_timeout_ms
                        ),
                    ))
                }
            }
        }
    }

    /// Hands out an idle connection if it is alive; `Ok(None)` if the
    /// liveness probe found it dead (it is closed and counted).
    fn lease_idle(&self, conn: Conn) -> Result<Option<Handle>> {
        if self.config.check_on_acquire && conn.is_stale() {
            self.slots.stale(conn);
            return Ok(None);
        }
        conn.membership().reused.store(true, Ordering::Relaxed);
        match registry::insert(conn.object(), "pool_acquire") {
            Ok(handle) => {
                if self.config.check_on_acquire {
                    self.slots.reused();
                }
                Ok(Some(handle))
            }
            Err(e) => {
                // The handle table is full: the connection goes back to idle.
                self.slots.end_lease(conn, Ending::Healthy);
                Err(e)
            }
        }
    }

    /// Connects a new connection in a slot granted for connecting.
    fn lease_new(self: &Arc<Self>) -> Result<Handle> {
        let conn = match self.connect() {
            Ok(conn) => conn,
            Err(e) => {
                self.slots.connect_failed();
                return Err(e);
            }
        };
        if self.slots.connected(conn.clone()).is_err() {
            return Err(pool_closed());
        }
        registry::insert(conn.object(), "pool_acquire")
            .inspect_err(|_| self.slots.end_lease(conn, Ending::Discarded))
    }

    fn connect(self: &Arc<Self>) -> Result<Conn> {
        let membership = Membership {
            pool: Arc::downgrade(self),
            pool_handle: self.handle.get().copied().unwrap_or(0),
            created: Instant::now(),
            fork_generation: fork_generation(),
            reused: AtomicBool::new(false),
        };
        Conn::connect(
            &self.host,
            self.port,
            i64::from(self.config.connect_timeout_ms),
            self.config.nodelay,
            self.tls.as_deref(),
            &self.handshakes,
            membership,
        )
    }

    /// TLS handshakes of this pool's connections: (full, resumed).
    pub fn tls_handshakes(&self) -> (u64, u64) {
        self.handshakes.get()
    }

    /// Whether the pool's connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Ends the lease `handle` names: back to idle if healthy, else closed.
    pub fn release(self: &Arc<Self>, handle: Handle) -> Result<()> {
        let conn = self.take_lease(handle, "pool_release")?;
        let ending = if conn.membership().fork_generation != fork_generation() {
            Ending::Inherited
        } else if conn.is_broken()
            // Another thread still inside a call on it: the stream is in use.
            || conn.in_use_elsewhere()
            || (self.config.check_on_acquire && conn.is_stale())
        {
            Ending::Broken
        } else {
            Ending::Healthy
        };
        // Per-lease settings do not leak into the next lease.
        conn.socket().reset_lease_settings();
        self.slots.end_lease(conn, ending);
        Ok(())
    }

    /// Ends the lease `handle` names and closes the connection.
    pub fn discard(self: &Arc<Self>, handle: Handle) -> Result<()> {
        let conn = self.take_lease(handle, "pool_discard")?;
        self.slots.end_lease(conn, Ending::Discarded);
        Ok(())
    }

    /// Removes `handle` from the table if it is a lease of this pool.
    fn take_lease(self: &Arc<Self>, handle: Handle, op: &str) -> Result<Conn> {
        let object = registry::remove_if(handle, op, |object| match Conn::of(object) {
            Some(c) if std::ptr::eq(c.membership().pool.as_ptr(), Arc::as_ptr(self)) => Ok(()),
            _ => Err(Error::invalid(format!(
                "{op}: handle {handle:#x} is not a connection of this pool"
            ))),
        })?;
        Ok(Conn::of(&object).expect("approved objects are pooled connections"))
    }

    /// Current counts; also closes idle connections that expired.
    pub fn stats(&self) -> PoolStats {
        self.slots.stats()
    }

    /// Closes idle connections now and wakes queued acquirers (`PoolClosed`);
    /// leased connections stay usable and close when their lease ends.
    pub fn close(&self) {
        self.slots.close();
    }
}

fn pool_closed() -> Error {
    Error::new(ErrorKind::PoolClosed, "pool_acquire: pool is closed")
}
