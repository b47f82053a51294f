//! A pool of keep-alive stream connections to one endpoint.
//!
//! Slots: every connection the pool owns is idle, in use (leased under a
//! handle) or connecting, and `max_total` caps the sum. Idle connections are
//! reused newest first. An `acquire` that finds no idle connection and no free
//! slot queues for one: waiters hold tickets and are served strictly first
//! come, first served; every event that frees a slot wakes them all, and only
//! the front ticket may take it, so none is lost and none is overtaken.
//!
//! A lease is an ordinary socket handle. Release, discard and close each end
//! that handle (the handle table refuses a second end), so the slot count is
//! exact: `in_use` goes down exactly once per lease.
//!
//! Liveness: see [`Socket::readable_now`]. An idle connection has nothing to
//! say, so if poll(2) with a zero timeout finds it readable, the peer closed it
//! (EOF), reset it, or sent bytes nobody asked for; either way it must not be
//! handed out. The probe never blocks and costs one system call (about half a
//! microsecond). With `check_on_acquire` off, acquire and release make no
//! system call at all on the reuse path.

use crate::error::{Error, ErrorKind, Result};
use crate::handle::Handle;
use crate::registry::{self, Object};
use crate::socket::{SockOption, Socket};
use once_cell::sync::Lazy;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// What a pooled connection knows of its pool.
pub struct Membership {
    pool: Arc<Pool>,
    created: Instant,
    fork_generation: u64,
    reused: AtomicBool,
}

impl Membership {
    /// Whether the current lease reuses a connection an earlier one used.
    pub fn was_reused(&self) -> bool {
        self.reused.load(Ordering::Relaxed)
    }

    /// Ends the lease of `socket` (whose handle is already gone) and closes it.
    pub fn discard(&self, socket: &Socket) {
        socket.close();
        let mut state = self.pool.state.lock();
        state.in_use = state.in_use.saturating_sub(1);
        state.stats.closed_broken += 1;
        drop(state);
        self.pool.slot_freed.notify_all();
    }
}

struct IdleConn {
    socket: Arc<Socket>,
    since: Instant,
}

struct State {
    idle: Vec<IdleConn>,
    in_use: u64,
    connecting: u64,
    waiters: VecDeque<u64>,
    next_ticket: u64,
    closed: bool,
    fork_generation: u64,
    stats: PoolStats,
}

/// Keep-alive connections to one endpoint, shared by any number of threads.
pub struct Pool {
    host: String,
    port: u16,
    config: PoolConfig,
    state: Mutex<State>,
    slot_freed: Condvar,
}

fn millis(ms: i32) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

impl Pool {
    /// A pool for `host:port`. Nothing connects until the first acquire.
    pub fn open(host: &str, port: u16, config: PoolConfig) -> Result<Arc<Pool>> {
        if host.is_empty() {
            return Err(Error::invalid("pool_open: host is empty"));
        }
        if port == 0 {
            return Err(Error::invalid("pool_open: port 0 cannot be connected to"));
        }
        Lazy::force(&FORK_HOOK);
        Ok(Arc::new(Pool {
            host: host.to_owned(),
            port,
            config,
            state: Mutex::new(State {
                idle: Vec::new(),
                in_use: 0,
                connecting: 0,
                waiters: VecDeque::new(),
                next_ticket: 0,
                closed: false,
                fork_generation: FORK_GENERATION.load(Ordering::Relaxed),
                stats: PoolStats::default(),
            }),
            slot_freed: Condvar::new(),
        }))
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Leases a connection as a new socket handle: the newest live idle one,
    /// or a new one if a slot is free; otherwise queues up to the acquire
    /// timeout for one (`PoolExhausted`). `PoolClosed` once the pool closes.
    pub fn acquire(self: &Arc<Self>) -> Result<Handle> {
        let deadline = millis(self.config.acquire_timeout_ms).map(|d| Instant::now() + d);
        let mut ticket = None;
        let mut state = self.state.lock();
        loop {
            self.tidy(&mut state);
            if state.closed {
                self.leave_queue(&mut state, ticket);
                return Err(Error::new(
                    ErrorKind::PoolClosed,
                    "pool_acquire: pool is closed",
                ));
            }
            let my_turn = match ticket {
                Some(t) => state.waiters.front() == Some(&t),
                None => state.waiters.is_empty(),
            };
            if my_turn {
                if let Some(idle) = state.idle.pop() {
                    self.leave_queue(&mut state, ticket.take());
                    state.in_use += 1;
                    drop(state);
                    if let Some(handle) = self.lease_idle(idle.socket)? {
                        return Ok(handle);
                    }
                    state = self.state.lock();
                    continue;
                }
                if self.has_free_slot(&state) {
                    self.leave_queue(&mut state, ticket.take());
                    state.connecting += 1;
                    drop(state);
                    return self.lease_new();
                }
            }
            if ticket.is_none() {
                let t = state.next_ticket;
                state.next_ticket += 1;
                state.waiters.push_back(t);
                state.stats.waits += 1;
                ticket = Some(t);
            }
            let timed_out = match deadline {
                None => {
                    self.slot_freed.wait(&mut state);
                    false
                }
                Some(at) => self.slot_freed.wait_until(&mut state, at).timed_out(),
            };
            if timed_out && !state.closed {
                self.leave_queue(&mut state, ticket);
                state.stats.timeouts += 1;
                return Err(Error::new(
                    ErrorKind::PoolExhausted,
                    format!(
                        "pool_acquire {}:{}: no connection free within {} ms ({} in use)",
                        self.host, self.port, self.config.acquire_timeout_ms, state.in_use
                    ),
                ));
            }
        }
    }

    /// Hands out an idle connection (already counted in use) if it is alive:
    /// `Ok(None)` if the liveness probe found it dead (it is closed and
    /// counted). The probe runs without the pool lock.
    fn lease_idle(self: &Arc<Self>, socket: Arc<Socket>) -> Result<Option<Handle>> {
        if self.config.check_on_acquire && socket.readable_now() {
            socket.close();
            let mut state = self.state.lock();
            state.in_use = state.in_use.saturating_sub(1);
            state.stats.closed_stale += 1;
            return Ok(None);
        }
        let member = socket
            .membership
            .get()
            .expect("pooled sockets have a membership");
        member.reused.store(true, Ordering::Relaxed);
        match registry::insert(Object::Socket(Arc::clone(&socket)), "pool_acquire") {
            Ok(handle) => {
                self.state.lock().stats.reused += 1;
                Ok(Some(handle))
            }
            Err(e) => {
                // The handle table is full: put the connection back.
                let mut state = self.state.lock();
                state.in_use = state.in_use.saturating_sub(1);
                state.idle.push(IdleConn {
                    socket,
                    since: Instant::now(),
                });
                drop(state);
                self.slot_freed.notify_all();
                Err(e)
            }
        }
    }

    /// Connects a new connection in a slot already counted as connecting.
    fn lease_new(self: &Arc<Self>) -> Result<Handle> {
        let connected = self.connect();
        let mut state = self.state.lock();
        state.connecting -= 1;
        let socket = match connected {
            Ok(socket) if !state.closed => socket,
            Ok(socket) => {
                socket.close();
                drop(state);
                self.slot_freed.notify_all();
                return Err(Error::new(
                    ErrorKind::PoolClosed,
                    "pool_acquire: pool is closed",
                ));
            }
            Err(e) => {
                drop(state);
                self.slot_freed.notify_all();
                return Err(e);
            }
        };
        state.stats.created += 1;
        state.in_use += 1;
        drop(state);
        registry::insert(Object::Socket(Arc::clone(&socket)), "pool_acquire").inspect_err(|_| {
            if let Some(member) = socket.membership.get() {
                member.discard(&socket);
            }
        })
    }

    fn connect(self: &Arc<Self>) -> Result<Arc<Socket>> {
        let socket = Socket::tcp_connect(
            &self.host,
            self.port,
            i64::from(self.config.connect_timeout_ms),
        )?;
        if self.config.nodelay {
            socket.set_option(SockOption::NoDelay, 1)?;
        }
        let member = Membership {
            pool: Arc::clone(self),
            created: Instant::now(),
            fork_generation: FORK_GENERATION.load(Ordering::Relaxed),
            reused: AtomicBool::new(false),
        };
        let socket = Arc::new(socket);
        let _ = socket.membership.set(member);
        Ok(socket)
    }

    fn has_free_slot(&self, state: &State) -> bool {
        let total = state.idle.len() as u64 + state.in_use + state.connecting;
        self.config.max_total == 0 || total < u64::from(self.config.max_total)
    }

    fn leave_queue(&self, state: &mut State, ticket: Option<u64>) {
        if let Some(t) = ticket {
            let was_front = state.waiters.front() == Some(&t);
            state.waiters.retain(|&w| w != t);
            if was_front {
                // The next in line may be able to go now.
                self.slot_freed.notify_all();
            }
        }
    }

    /// Ends the lease `handle` names: back to idle if healthy, else closed.
    pub fn release(self: &Arc<Self>, handle: Handle) -> Result<()> {
        let socket = self.take_lease(handle, "pool_release")?;
        let healthy = !socket.is_broken()
            // Another thread still inside a call on it: the stream is in use.
            && Arc::strong_count(&socket) == 1
            && !(self.config.check_on_acquire && socket.readable_now());
        // Per-lease settings do not leak into the next lease.
        for opt in [SockOption::ReadTimeoutMs, SockOption::WriteTimeoutMs] {
            let _ = socket.set_option(opt, -1);
        }
        let _ = socket.set_option(SockOption::BusyPollUs, 0);
        let mut state = self.state.lock();
        state.in_use = state.in_use.saturating_sub(1);
        if state.closed || self.inherited(&state, &socket) {
            socket.close();
        } else if !healthy {
            socket.close();
            state.stats.closed_broken += 1;
        } else if self.expired(&socket, Instant::now()) {
            socket.close();
            state.stats.closed_expired += 1;
        } else if self.config.max_idle == 0 {
            socket.close();
        } else {
            if state.idle.len() >= self.config.max_idle as usize {
                // Keep the newest: the oldest idle one makes room.
                state.idle.remove(0).socket.close();
            }
            state.idle.push(IdleConn {
                socket,
                since: Instant::now(),
            });
        }
        self.tidy(&mut state);
        drop(state);
        self.slot_freed.notify_all();
        Ok(())
    }

    /// Ends the lease `handle` names and closes the connection.
    pub fn discard(self: &Arc<Self>, handle: Handle) -> Result<()> {
        let socket = self.take_lease(handle, "pool_discard")?;
        socket
            .membership
            .get()
            .expect("take_lease checked membership")
            .discard(&socket);
        Ok(())
    }

    /// Removes `handle` from the table if it is a lease of this pool.
    fn take_lease(self: &Arc<Self>, handle: Handle, op: &str) -> Result<Arc<Socket>> {
        let object = registry::remove_if(handle, op, |object| match object {
            Object::Socket(s)
                if s.membership
                    .get()
                    .is_some_and(|m| Arc::ptr_eq(&m.pool, self)) =>
            {
                Ok(())
            }
            _ => Err(Error::invalid(format!(
                "{op}: handle {handle:#x} is not a connection of this pool"
            ))),
        })?;
        match object {
            Object::Socket(socket) => Ok(socket),
            Object::Pool(_) => unreachable!("approved objects are sockets"),
        }
    }

    /// Current counts; also closes idle connections that expired.
    pub fn stats(&self) -> PoolStats {
        let mut state = self.state.lock();
        self.tidy(&mut state);
        let mut stats = state.stats;
        stats.idle = state.idle.len() as u64;
        stats.in_use = state.in_use;
        stats
    }

    /// Closes idle connections now and wakes queued acquirers (`PoolClosed`);
    /// leased connections stay usable and close when their lease ends.
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        for idle in state.idle.drain(..) {
            idle.socket.close();
        }
        drop(state);
        self.slot_freed.notify_all();
    }

    fn expired(&self, socket: &Socket, now: Instant) -> bool {
        let member = socket
            .membership
            .get()
            .expect("pooled sockets have a membership");
        millis(self.config.max_lifetime_ms).is_some_and(|life| now - member.created >= life)
    }

    fn inherited(&self, state: &State, socket: &Socket) -> bool {
        let member = socket
            .membership
            .get()
            .expect("pooled sockets have a membership");
        member.fork_generation != state.fork_generation
    }

    /// Drops idle connections that expired, and after a fork everything
    /// inherited from the parent (closing our copy of a descriptor in the
    /// child sends nothing, so the parent's connections are untouched).
    fn tidy(&self, state: &mut State) {
        let generation = FORK_GENERATION.load(Ordering::Relaxed);
        if generation != state.fork_generation {
            state.fork_generation = generation;
            state.idle.clear();
            state.in_use = 0;
            state.connecting = 0;
        }
        if state.idle.is_empty() {
            return;
        }
        let now = Instant::now();
        let idle_limit = millis(self.config.idle_timeout_ms);
        let before = state.idle.len();
        state.idle.retain(|c| {
            let stale = idle_limit.is_some_and(|limit| now - c.since >= limit)
                || self.expired(&c.socket, now);
            if stale {
                c.socket.close();
            }
            !stale
        });
        let closed = (before - state.idle.len()) as u64;
        state.stats.closed_expired += closed;
        if closed > 0 {
            self.slot_freed.notify_all();
        }
    }
}
