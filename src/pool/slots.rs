//! A pool's slot accounting, apart from any I/O.
//!
//! Every connection the pool owns is idle, in use (leased) or connecting, and
//! `max_total` caps the sum. Idle connections are reused newest first. An
//! acquire that finds no idle connection and no free slot queues, strictly
//! first come, first served. Each waiter parks on its own condition variable:
//! whatever frees a slot (a release, a discard, a failed connect) grants it
//! to the front waiter under the lock and wakes that one thread only, so a
//! release costs one wake-up however many threads wait, none is lost and none
//! is overtaken. A grant is counted (in use or connecting) the moment it is
//! made; a waiter that times out takes a grant that raced with its timeout.
//! Each grant is ended exactly once (`connected`/`connect_failed` for a
//! connect grant, `stale` or `end_lease` for a lease), which keeps the counts
//! exact. tests/loom.rs checks this over every interleaving of several
//! threads.

use super::PoolStats;
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A coarse monotonic timestamp (CLOCK_MONOTONIC_COARSE: millisecond-ish
/// resolution for a fraction of the cost of a precise clock read), for idle
/// timeouts and lifetimes, which are read on every acquire and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(Duration);

impl Stamp {
    pub fn now() -> Stamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to write; this clock cannot fail on Linux.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        Stamp(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: Stamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

/// What the accounting needs to know of a pooled connection.
pub trait Pooled {
    /// Closes the connection; called once the pool lets go of it.
    fn close(&self);
    /// When the connection was made (for the maximum lifetime).
    fn created(&self) -> Stamp;
}

/// The limits a pool enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_idle: u32,
    /// 0 = unlimited.
    pub max_total: u32,
    pub idle_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
}

/// What one acquire asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    /// Give up queueing after this long (`None`: wait as long as it takes),
    /// counted from `started`.
    pub timeout: Option<Duration>,
    /// When the acquire began; set on the first wait if `None` (so an
    /// acquire that never waits never reads the clock).
    pub started: Option<Instant>,
    /// The caller checks idle connections before use and counts the ones it
    /// keeps with `reused`; otherwise an idle grant counts as a reuse at
    /// once (saving a lock round trip).
    pub probed: bool,
    /// Only a slot to connect in will do, never an idle connection: a free
    /// slot if there is one, else the oldest idle connection is closed to
    /// make room.
    pub fresh: bool,
}

/// What `acquire` grants.
#[derive(Debug)]
pub enum Grant<C> {
    /// An idle connection, now counted in use. End it with `stale` if it
    /// turns out dead, else with `end_lease`.
    Idle(C),
    /// A slot to make a new connection in, counted as connecting. End it
    /// with `connected` or `connect_failed`.
    Connect,
}

/// Why `acquire` gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Closed,
    /// No slot came free before the deadline; `in_use` at that moment.
    Exhausted {
        in_use: u64,
    },
}

/// How a lease ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Healthy: back to idle unless the pool is closed, full or it expired.
    Healthy,
    /// Unfit for reuse (failed call, shut down, unread bytes): closed.
    Broken,
    /// The caller discarded or closed it: closed.
    Discarded,
    /// Inherited across fork(): this process never counted it, so it is
    /// dropped without counting (and without `close`, which belongs to the
    /// parent's connection).
    Inherited,
}

struct Idle<C> {
    conn: C,
    since: Stamp,
}

/// A queued acquire: its place in line, what it wants, and the condition
/// variable only it waits on.
struct Waiter {
    ticket: u64,
    want: Want,
    wake: Arc<Condvar>,
}

struct State<C> {
    idle: Vec<Idle<C>>,
    in_use: u64,
    connecting: u64,
    /// Queued acquires, first come first.
    waiters: VecDeque<Waiter>,
    /// Grants made to waiters that have not woken to take them yet (already
    /// counted in `in_use` or `connecting`).
    granted: Vec<(u64, Grant<C>)>,
    next_ticket: u64,
    closed: bool,
    fork_generation: u64,
    stats: PoolStats,
}

/// The slot accounting of one pool.
pub struct Slots<C: Pooled> {
    limits: Limits,
    state: Mutex<State<C>>,
}

#[cfg(loom)]
std::thread_local! {
    /// Model tests only: grant to the front waiter but forget to wake it
    /// (the lost wake-up a broken hand-off would cause), to show that the
    /// model catches it.
    pub static BREAK_HANDOFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl<C: Pooled> Slots<C> {
    pub fn new(limits: Limits) -> Self {
        Slots {
            limits,
            state: Mutex::new(State {
                idle: Vec::new(),
                in_use: 0,
                connecting: 0,
                waiters: VecDeque::new(),
                granted: Vec::new(),
                next_ticket: 0,
                closed: false,
                fork_generation: super::fork_generation(),
                stats: PoolStats::default(),
            }),
        }
    }

    /// Grants an idle connection or a free slot, queueing first come first
    /// served until one is handed over or `want.deadline` passes.
    pub fn acquire(&self, want: &mut Want) -> Result<Grant<C>, Refusal> {
        let mut state = self.state.lock();
        self.tidy(&mut state, Stamp::now());
        if state.closed {
            return Err(Refusal::Closed);
        }
        // Someone queued means nothing is free (every freed slot goes to
        // the front waiter at once): join the back of the line.
        if state.waiters.is_empty() {
            if let Some(grant) = self.try_grant(&mut state, *want) {
                return Ok(grant);
            }
        }
        let deadline = want
            .timeout
            .map(|t| *want.started.get_or_insert_with(Instant::now) + t);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let wake = Arc::new(Condvar::new());
        state.waiters.push_back(Waiter {
            ticket,
            want: *want,
            wake: Arc::clone(&wake),
        });
        state.stats.waits += 1;
        loop {
            let timed_out = match deadline {
                None => {
                    wake.wait(&mut state);
                    false
                }
                Some(at) => wake.wait_until(&mut state, at).timed_out(),
            };
            // A grant wins over a timeout that raced with it.
            if let Some(i) = state.granted.iter().position(|(t, _)| *t == ticket) {
                return Ok(state.granted.swap_remove(i).1);
            }
            if state.closed {
                state.waiters.retain(|w| w.ticket != ticket);
                return Err(Refusal::Closed);
            }
            if timed_out {
                state.waiters.retain(|w| w.ticket != ticket);
                state.stats.timeouts += 1;
                return Err(Refusal::Exhausted {
                    in_use: state.in_use,
                });
            }
            // Spurious wake-up: still queued, wait on.
        }
    }

    /// Ends a connect grant with a new connection, now in use (`Ok`: the
    /// caller's lease); or closes it and gives it back as `Err` if the pool
    /// closed meanwhile.
    pub fn connected(&self, conn: C) -> Result<C, C> {
        let mut state = self.state.lock();
        state.connecting -= 1;
        if state.closed {
            drop(state);
            conn.close();
            return Err(conn);
        }
        state.stats.created += 1;
        state.in_use += 1;
        Ok(conn)
    }

    /// Ends a connect grant that failed to connect.
    pub fn connect_failed(&self) {
        let mut state = self.state.lock();
        state.connecting -= 1;
        self.dispatch(&mut state);
    }

    /// Counts an idle connection handed out for reuse.
    pub fn reused(&self) {
        self.state.lock().stats.reused += 1;
    }

    /// Ends an idle grant whose connection the liveness check found dead.
    pub fn stale(&self, conn: C) {
        conn.close();
        let mut state = self.state.lock();
        if !self.tidy(&mut state, Stamp::now()) {
            state.in_use -= 1;
        }
        state.stats.closed_stale += 1;
        self.dispatch(&mut state);
    }

    /// Ends a lease: keeps the connection idle if it is healthy and there is
    /// room, else closes it and counts why.
    pub fn end_lease(&self, conn: C, ending: Ending) {
        if ending == Ending::Inherited {
            // Never counted here; dropping our copy sends nothing.
            return;
        }
        let mut state = self.state.lock();
        let now = Stamp::now();
        if self.tidy(&mut state, now) {
            // Forked since this lease was counted: it is the parent's.
            return;
        }
        state.in_use -= 1;
        match ending {
            _ if state.closed => conn.close(),
            Ending::Broken | Ending::Discarded => {
                conn.close();
                state.stats.closed_broken += 1;
            }
            Ending::Healthy if self.outlived(&conn, now) => {
                conn.close();
                state.stats.closed_expired += 1;
            }
            Ending::Healthy if self.limits.max_idle == 0 => conn.close(),
            Ending::Inherited => {}
            Ending::Healthy => {
                if state.idle.len() >= self.limits.max_idle as usize {
                    // Keep the newest: the oldest idle one makes room.
                    state.idle.remove(0).conn.close();
                }
                state.idle.push(Idle { conn, since: now });
            }
        }
        self.dispatch(&mut state);
    }

    /// Current counts; also closes idle connections that expired.
    pub fn stats(&self) -> PoolStats {
        let mut state = self.state.lock();
        self.tidy(&mut state, Stamp::now());
        PoolStats {
            idle: state.idle.len() as u64,
            in_use: state.in_use,
            ..state.stats
        }
    }

    /// Closes idle connections and refuses every acquire from now on,
    /// waking every queued one (grants not yet taken are taken back).
    /// Leases end normally (and then close).
    pub fn close(&self) {
        let mut state = self.state.lock();
        // In a fork child, what the parent had is dropped, never closed.
        self.tidy(&mut state, Stamp::now());
        state.closed = true;
        for idle in state.idle.drain(..) {
            idle.conn.close();
        }
        let granted = std::mem::take(&mut state.granted);
        for (_, grant) in granted {
            match grant {
                Grant::Idle(conn) => {
                    conn.close();
                    state.in_use -= 1;
                }
                Grant::Connect => state.connecting -= 1,
            }
        }
        for waiter in state.waiters.drain(..) {
            waiter.wake.notify_one();
        }
    }

    /// Whether the pool is closed.
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    fn has_free_slot(&self, state: &State<C>) -> bool {
        let total = state.idle.len() as u64 + state.in_use + state.connecting;
        self.limits.max_total == 0 || total < u64::from(self.limits.max_total)
    }

    /// What `want` can have right now, counted; `None` if it must wait.
    fn try_grant(&self, state: &mut State<C>, want: Want) -> Option<Grant<C>> {
        if !want.fresh {
            if let Some(idle) = state.idle.pop() {
                state.in_use += 1;
                if !want.probed {
                    state.stats.reused += 1;
                }
                return Some(Grant::Idle(idle.conn));
            }
        }
        if self.has_free_slot(state) {
            state.connecting += 1;
            return Some(Grant::Connect);
        }
        if want.fresh && !state.idle.is_empty() {
            // Room for a fresh connection: the oldest idle one goes.
            state.idle.remove(0).conn.close();
            state.stats.closed_expired += 1;
            state.connecting += 1;
            return Some(Grant::Connect);
        }
        None
    }

    /// Hands what is free to the waiters at the front of the line, waking
    /// each one served (and only those).
    fn dispatch(&self, state: &mut State<C>) {
        while let Some(front) = state.waiters.front() {
            let Some(grant) = self.try_grant(state, front.want) else {
                break;
            };
            let Some(waiter) = state.waiters.pop_front() else {
                break;
            };
            state.granted.push((waiter.ticket, grant));
            #[cfg(loom)]
            if BREAK_HANDOFF.with(|b| b.get()) {
                continue;
            }
            waiter.wake.notify_one();
        }
    }

    fn outlived(&self, conn: &C, now: Stamp) -> bool {
        self.limits
            .max_lifetime
            .is_some_and(|life| now.since(conn.created()) >= life)
    }

    /// Closes idle connections that expired; after a fork, forgets what was
    /// inherited from the parent (dropping our copy of a descriptor in the
    /// child sends nothing, so the parent's connections are untouched) and
    /// returns true. Idle connections are kept oldest first, so the idle
    /// timeout only needs a look at the front; a maximum lifetime needs a
    /// look at all of them.
    fn tidy(&self, state: &mut State<C>, now: Stamp) -> bool {
        let generation = super::fork_generation();
        let forked = generation != state.fork_generation;
        if forked {
            state.fork_generation = generation;
            state.idle.clear();
            state.in_use = 0;
            state.connecting = 0;
            // The parent's queued threads do not exist here.
            state.waiters.clear();
            state.granted.clear();
        }
        let idle_expired = |idle: &Idle<C>| {
            self.limits
                .idle_timeout
                .is_some_and(|limit| now.since(idle.since) >= limit)
        };
        let before = state.idle.len();
        let stale_front = state
            .idle
            .iter()
            .take_while(|idle| idle_expired(idle))
            .count();
        if stale_front > 0 {
            for idle in state.idle.drain(..stale_front) {
                idle.conn.close();
            }
        }
        if self.limits.max_lifetime.is_some() {
            state.idle.retain(|idle| {
                let outlived = self.outlived(&idle.conn, now);
                if outlived {
                    idle.conn.close();
                }
                !outlived
            });
        }
        let expired = (before - state.idle.len()) as u64;
        state.stats.closed_expired += expired;
        forked
    }
}
