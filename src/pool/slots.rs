//! A pool's slot accounting, apart from any I/O.
//!
//! Every connection the pool owns is idle, in use (leased) or connecting, and
//! `max_total` caps the sum. Idle connections are reused newest first. An
//! acquire that finds no idle connection and no free slot queues: waiters
//! hold tickets and are served strictly first come, first served; every event
//! that frees a slot wakes them all and only the front ticket may take it, so
//! none is lost and none is overtaken. Each grant is ended exactly once
//! (`connected`/`connect_failed` for a connect grant, `stale` or `end_lease`
//! for a lease), which keeps the counts exact. tests/loom.rs checks this over
//! every interleaving of several threads.

use super::PoolStats;
use crate::sync::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the accounting needs to know of a pooled connection.
pub trait Pooled {
    /// Closes the connection; called once the pool lets go of it.
    fn close(&self);
    /// When the connection was made (for the maximum lifetime).
    fn created(&self) -> Instant;
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

/// What `acquire` grants.
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
    /// Inherited across fork(): dropped without counting.
    Inherited,
}

struct Idle<C> {
    conn: C,
    since: Instant,
}

struct State<C> {
    idle: Vec<Idle<C>>,
    in_use: u64,
    connecting: u64,
    waiters: VecDeque<u64>,
    next_ticket: u64,
    closed: bool,
    fork_generation: u64,
    stats: PoolStats,
}

/// The slot accounting of one pool.
pub struct Slots<C: Pooled> {
    limits: Limits,
    state: Mutex<State<C>>,
    freed: Condvar,
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
                next_ticket: 0,
                closed: false,
                fork_generation: super::fork_generation(),
                stats: PoolStats::default(),
            }),
            freed: Condvar::new(),
        }
    }

    /// Waits for an idle connection or a free slot, first come first
    /// served, until `deadline` (`None`: no limit).
    ///
    /// `probed`: the caller checks idle connections before use and counts
    /// the ones it keeps with `reused`; otherwise an idle grant counts as a
    /// reuse at once (saving a lock round trip).
    pub fn acquire(&self, deadline: Option<Instant>, probed: bool) -> Result<Grant<C>, Refusal> {
        let mut ticket = None;
        let mut state = self.state.lock();
        loop {
            self.tidy(&mut state, Instant::now());
            if state.closed {
                self.leave_queue(&mut state, ticket);
                return Err(Refusal::Closed);
            }
            let my_turn = match ticket {
                Some(t) => state.waiters.front() == Some(&t),
                None => state.waiters.is_empty(),
            };
            if my_turn {
                if let Some(idle) = state.idle.pop() {
                    self.leave_queue(&mut state, ticket);
                    state.in_use += 1;
                    if !probed {
                        state.stats.reused += 1;
                    }
                    return Ok(Grant::Idle(idle.conn));
                }
                if self.has_free_slot(&state) {
                    self.leave_queue(&mut state, ticket);
                    state.connecting += 1;
                    return Ok(Grant::Connect);
                }
            }
            let t = *ticket.get_or_insert_with(|| {
                let t = state.next_ticket;
                state.next_ticket += 1;
                state.waiters.push_back(t);
                state.stats.waits += 1;
                t
            });
            let timed_out = match deadline {
                None => {
                    self.freed.wait(&mut state);
                    false
                }
                Some(at) => self.freed.wait_until(&mut state, at).timed_out(),
            };
            if timed_out && !state.closed {
                self.leave_queue(&mut state, Some(t));
                state.stats.timeouts += 1;
                return Err(Refusal::Exhausted {
                    in_use: state.in_use,
                });
            }
        }
    }

    /// Ends a connect grant with a new connection, now in use; or gives the
    /// connection back (closed) if the pool closed meanwhile.
    pub fn connected(&self, conn: C) -> Result<(), C> {
        let mut state = self.state.lock();
        state.connecting -= 1;
        if state.closed {
            drop(state);
            self.freed.notify_all();
            conn.close();
            return Err(conn);
        }
        state.stats.created += 1;
        state.in_use += 1;
        Ok(())
    }

    /// Ends a connect grant that failed to connect.
    pub fn connect_failed(&self) {
        self.state.lock().connecting -= 1;
        self.freed.notify_all();
    }

    /// Counts an idle connection handed out for reuse.
    pub fn reused(&self) {
        self.state.lock().stats.reused += 1;
    }

    /// Ends an idle grant whose connection the liveness check found dead.
    pub fn stale(&self, conn: C) {
        conn.close();
        let mut state = self.state.lock();
        state.in_use = state.in_use.saturating_sub(1);
        state.stats.closed_stale += 1;
        drop(state);
        self.freed.notify_all();
    }

    /// Ends a lease: keeps the connection idle if it is healthy and there is
    /// room, else closes it and counts why.
    pub fn end_lease(&self, conn: C, ending: Ending) {
        let mut state = self.state.lock();
        // Saturating: a lease inherited across fork() was never counted here.
        state.in_use = state.in_use.saturating_sub(1);
        let now = Instant::now();
        match ending {
            _ if state.closed => conn.close(),
            Ending::Inherited => conn.close(),
            Ending::Broken | Ending::Discarded => {
                conn.close();
                state.stats.closed_broken += 1;
            }
            Ending::Healthy if self.outlived(&conn, now) => {
                conn.close();
                state.stats.closed_expired += 1;
            }
            Ending::Healthy if self.limits.max_idle == 0 => conn.close(),
            Ending::Healthy => {
                if state.idle.len() >= self.limits.max_idle as usize {
                    // Keep the newest: the oldest idle one makes room.
                    state.idle.remove(0).conn.close();
                }
                state.idle.push(Idle { conn, since: now });
            }
        }
        self.tidy(&mut state, now);
        drop(state);
        self.freed.notify_all();
    }

    /// Current counts; also closes idle connections that expired.
    pub fn stats(&self) -> PoolStats {
        let mut state = self.state.lock();
        self.tidy(&mut state, Instant::now());
        PoolStats {
            idle: state.idle.len() as u64,
            in_use: state.in_use,
            ..state.stats
        }
    }

    /// Closes idle connections and refuses every acquire from now on,
    /// waking queued ones. Leases end normally (and then close).
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        for idle in state.idle.drain(..) {
            idle.conn.close();
        }
        drop(state);
        self.freed.notify_all();
    }

    fn has_free_slot(&self, state: &State<C>) -> bool {
        let total = state.idle.len() as u64 + state.in_use + state.connecting;
        self.limits.max_total == 0 || total < u64::from(self.limits.max_total)
    }

    fn leave_queue(&self, state: &mut MutexGuard<'_, State<C>>, ticket: Option<u64>) {
        let Some(t) = ticket else { return };
        let was_front = state.waiters.front() == Some(&t);
        state.waiters.retain(|&w| w != t);
        if was_front {
            // The next in line may be able to go now.
            self.freed.notify_all();
        }
    }

    fn outlived(&self, conn: &C, now: Instant) -> bool {
        self.limits
            .max_lifetime
            .is_some_and(|life| now.saturating_duration_since(conn.created()) >= life)
    }

    /// Closes idle connections that expired; after a fork, forgets what was
    /// inherited from the parent (dropping our copy of a descriptor in the
    /// child sends nothing, so the parent's connections are untouched).
    /// Idle connections are kept oldest first, so the idle timeout only needs
    /// a look at the front; a maximum lifetime needs a look at all of them.
    fn tidy(&self, state: &mut State<C>, now: Instant) {
        let generation = super::fork_generation();
        if generation != state.fork_generation {
            state.fork_generation = generation;
            state.idle.clear();
            state.in_use = 0;
            state.connecting = 0;
        }
        let idle_expired = |idle: &Idle<C>| {
            self.limits
                .idle_timeout
                .is_some_and(|limit| now.saturating_duration_since(idle.since) >= limit)
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
        if expired > 0 {
            state.stats.closed_expired += expired;
            self.freed.notify_all();
        }
    }
}
