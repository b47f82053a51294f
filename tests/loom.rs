//! Model checks of the concurrency protocols, over every interleaving loom
//! can find. Built only with `--cfg loom` (`make loom`): the crate's locks and
//! atomics then come from loom, so these check the real code of the handle
//! table, the close protocol (gate + shutdown) and the pool's slot accounting.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use sockrt::handle::HandleTable;
use sockrt::pool::slots::{Ending, Grant, Limits, Pooled, Refusal, Slots, Stamp, Want};
use sockrt::socket::gate::{CloseGate, Closed, Wake};

/// The kernel's side of one socket, as the close protocol relies on it: a
/// blocking receive waits for data or for shutdown(2), and the shut-down
/// state is sticky (a receive that starts after it returns at once).
#[derive(Default)]
struct ModelKernel {
    state: Mutex<(bool, bool)>, // (data queued, shut down)
    changed: Condvar,
}

impl ModelKernel {
    /// recv(2) on a blocking socket: true if data came, false if shut down.
    fn recv(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        loop {
            match *state {
                (true, _) => return true,
                (false, true) => return false,
                _ => state = self.changed.wait(state).unwrap(),
            }
        }
    }

    fn shutdown(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

/// What the library's close does to the kernel socket: shut it down.
struct ShutsDown<'a>(&'a ModelKernel);

impl Wake for ShutsDown<'_> {
    fn wake_all(&self) {
        self.0.shutdown();
    }
}

/// A close that forgets to shut the socket down: the model must catch it.
struct Forgets;

impl Wake for Forgets {
    fn wake_all(&self) {}
}

/// A stand-in for a socket: its gate, its kernel side, and a descriptor
/// whose release (the drop of the last reference) is recorded.
struct ModelSocket {
    id: u32,
    gate: CloseGate,
    kernel: ModelKernel,
    released: Arc<AtomicUsize>,
}

impl Drop for ModelSocket {
    fn drop(&mut self) {
        self.released.fetch_add(1, Ordering::SeqCst);
    }
}

fn model_socket(id: u32, released: &Arc<AtomicUsize>) -> std::sync::Arc<ModelSocket> {
    std::sync::Arc::new(ModelSocket {
        id,
        gate: CloseGate::default(),
        kernel: ModelKernel::default(),
        released: Arc::clone(released),
    })
}

/// What a blocking call does: pass the gate, then make the one blocking
/// system call; a receive that ends without data on a closed socket is
/// `Closed`. Returns whether the call saw the close.
fn blocking_recv(socket: &ModelSocket) -> bool {
    if socket.gate.enter() == Err(Closed) {
        return true;
    }
    let got_data = socket.kernel.recv();
    !got_data && socket.gate.is_closed()
}

/// close from another thread, with the given way of waking the kernel.
fn close_model(wake: fn(&ModelSocket)) {
    let released = Arc::new(AtomicUsize::new(0));
    let table = std::sync::Arc::new(HandleTable::with_capacity(2));
    let handle = table.insert(model_socket(1, &released)).ok().unwrap();

    let callers: Vec<_> = (0..1)
        .map(|_| {
            let (table, released) = (table.clone(), released.clone());
            thread::spawn(move || {
                // A call looks the handle up, then blocks on the socket.
                let Some(socket) = table.get(handle) else {
                    return;
                };
                assert!(blocking_recv(&socket), "a call ended without the close");
                // Woken by close, it still holds a live descriptor.
                assert_eq!(released.load(Ordering::SeqCst), 0);
                assert_eq!(socket.id, 1);
            })
        })
        .collect();

    // close: end the handle, shut the gate and wake, drop the reference.
    let socket = table.remove(handle).expect("first close succeeds");
    wake(&socket);
    drop(socket);
    assert!(table.remove(handle).is_none(), "double close is refused");

    for c in callers {
        c.join().unwrap();
    }
    // Every reference gone: the descriptor was released exactly once.
    assert_eq!(released.load(Ordering::SeqCst), 1);
}

#[test]
fn close_wakes_every_blocked_call_and_frees_the_descriptor_last() {
    loom::model(|| {
        close_model(|s| {
            assert!(s.gate.close(&ShutsDown(&s.kernel), true));
            assert!(!s.gate.close(&ShutsDown(&s.kernel), true), "closes once");
        })
    });
}

/// A close that marks the socket closed but does not shut it down: a call
/// stays blocked forever, and loom reports the deadlock. Run by the next
/// test in a child process (a deadlock aborts the process that finds it).
#[test]
#[ignore = "run by the_model_catches_a_close_that_does_not_shut_down"]
fn broken_close_model() {
    loom::model(|| close_model(|s| assert!(s.gate.close(&Forgets, true))));
}

/// The model can fail: the broken close above must be caught.
#[test]
fn the_model_catches_a_close_that_does_not_shut_down() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "broken_close_model", "--ignored", "--nocapture"])
        .output()
        .expect("run the test binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the broken close passed the model");
    assert!(stderr.contains("deadlock"), "unexpected failure: {stderr}");
}

/// A forked child's close does not shut the socket down (`wake` false): the
/// parent's call stays blocked until data arrives, never sees a close.
#[test]
fn a_close_without_wake_leaves_blocked_calls_to_their_data() {
    loom::model(|| {
        let released = Arc::new(AtomicUsize::new(0));
        let socket = model_socket(1, &released);
        let parent = {
            let socket = socket.clone();
            thread::spawn(move || {
                let got_data = socket.kernel.recv();
                assert!(got_data, "the child's close woke the parent");
            })
        };
        assert!(socket.gate.close(&ShutsDown(&socket.kernel), false));
        socket.kernel.state.lock().unwrap().0 = true;
        socket.kernel.changed.notify_all();
        parent.join().unwrap();
    });
}

#[test]
fn a_stale_handle_never_reaches_the_slots_next_object() {
    loom::model(|| {
        let released = Arc::new(AtomicUsize::new(0));
        let table = std::sync::Arc::new(HandleTable::with_capacity(1));
        let first = table.insert(model_socket(1, &released)).ok().unwrap();

        let user = {
            let table = table.clone();
            thread::spawn(move || {
                if let Some(socket) = table.get(first) {
                    assert_eq!(socket.id, 1, "stale handle reached another object");
                }
            })
        };
        // Close the first object and reuse its slot for a second one.
        table.remove(first).unwrap();
        let second = table.insert(model_socket(2, &released)).ok().unwrap();
        user.join().unwrap();

        assert!(table.get(first).is_none());
        assert_eq!(table.get(second).unwrap().id, 2);
        assert_eq!(table.live(), 1);
    });
}

/// A connection for the slot accounting: records that it was closed.
#[derive(Clone)]
struct ModelConn(Arc<AtomicBool>);

impl Pooled for ModelConn {
    fn close(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn created(&self) -> Stamp {
        Stamp::now()
    }
}

fn limits(max_total: u32) -> Limits {
    Limits {
        max_idle: 4,
        max_total,
        idle_timeout: None,
        max_lifetime: None,
    }
}

/// A lease as Pool makes one: reuse an idle connection or connect a new one.
fn lease_with(slots: &Slots<ModelConn>, mut want: Want) -> Result<ModelConn, Refusal> {
    match slots.acquire(&mut want)? {
        Grant::Idle(conn) => Ok(conn),
        Grant::Connect => {
            let conn = ModelConn(Arc::new(AtomicBool::new(false)));
            slots.connected(conn).map_err(|_| Refusal::Closed)
        }
    }
}

fn lease(slots: &Slots<ModelConn>) -> Result<ModelConn, Refusal> {
    lease_with(slots, Want::default())
}

/// Three threads through one slot: each release hands the slot to exactly
/// one waiter and wakes only that one; nobody sleeps forever (loom reports
/// a deadlock if a wake-up is lost) and the counts stay exact.
fn three_threads_share_one_slot() {
    let slots = std::sync::Arc::new(Slots::new(limits(1)));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let slots = slots.clone();
            thread::spawn(move || {
                let conn = lease(&slots).expect("every waiter is served");
                assert!(
                    !conn.0.load(Ordering::SeqCst),
                    "handed out a closed connection"
                );
                slots.end_lease(conn, Ending::Healthy);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let stats = slots.stats();
    assert_eq!(stats.created, 1, "one slot means one connection");
    assert_eq!((stats.in_use, stats.idle), (0, 1));
}

#[test]
fn no_waiter_is_lost_when_threads_share_one_slot() {
    loom::model(three_threads_share_one_slot);
}

/// The model can fail: with the hand-off broken on purpose (the slot is
/// granted to the front waiter, but that waiter is never woken), loom finds
/// the interleaving where a waiter sleeps forever.
#[test]
#[should_panic(expected = "deadlock")]
fn the_model_catches_a_hand_off_that_forgets_to_wake() {
    sockrt::pool::slots::BREAK_HANDOFF.with(|b| b.set(true));
    loom::model(three_threads_share_one_slot);
}

#[test]
fn a_fresh_lease_waits_its_turn_and_makes_room() {
    loom::model(|| {
        let slots = std::sync::Arc::new(Slots::new(limits(1)));
        let held = lease(&slots).unwrap();
        let fresh = {
            let slots = slots.clone();
            thread::spawn(move || {
                let want = Want {
                    fresh: true,
                    ..Want::default()
                };
                let conn = lease_with(&slots, want).expect("a fresh lease is served");
                slots.end_lease(conn, Ending::Healthy);
            })
        };
        // Released healthy, it goes idle; the fresh lease closes it to make
        // room (or, if it came first, waits until the release).
        slots.end_lease(held.clone(), Ending::Healthy);
        fresh.join().unwrap();
        assert!(held.0.load(Ordering::SeqCst), "the idle one made room");
        let stats = slots.stats();
        assert_eq!((stats.created, stats.closed_expired), (2, 1));
        assert_eq!((stats.in_use, stats.idle), (0, 1));
    });
}

#[test]
fn stale_and_broken_connections_free_their_slots() {
    loom::model(|| {
        let slots = std::sync::Arc::new(Slots::new(limits(1)));
        let other = {
            let slots = slots.clone();
            thread::spawn(move || {
                let conn = lease(&slots).unwrap();
                slots.end_lease(conn, Ending::Broken);
            })
        };
        // The liveness check rejects an idle connection, then a new one is made.
        match slots.acquire(&mut Want::default()).unwrap() {
            Grant::Idle(conn) => slots.stale(conn),
            Grant::Connect => slots.connect_failed(),
        }
        let conn = lease(&slots).unwrap();
        slots.end_lease(conn, Ending::Healthy);
        other.join().unwrap();

        let stats = slots.stats();
        assert_eq!(stats.in_use, 0);
        assert!(stats.idle <= 1);
        assert_eq!(
            stats.closed_broken + stats.closed_stale + stats.idle,
            stats.created
        );
    });
}

#[test]
fn closing_the_pool_wakes_waiters_and_spares_the_lease() {
    loom::model(|| {
        let slots = std::sync::Arc::new(Slots::new(limits(1)));
        let held = lease(&slots).unwrap();
        let waiter = {
            let slots = slots.clone();
            thread::spawn(move || lease(&slots).map(|_| ()))
        };
        slots.close();
        assert_eq!(waiter.join().unwrap(), Err(Refusal::Closed));
        assert_eq!(slots.stats().in_use, 1, "only the lease is counted");
        assert!(
            !held.0.load(Ordering::SeqCst),
            "close spares leased connections"
        );
        slots.end_lease(held.clone(), Ending::Healthy);
        assert!(
            held.0.load(Ordering::SeqCst),
            "a lease ended after close is closed"
        );
        assert_eq!(slots.stats().idle, 0);
    });
}

#[test]
fn a_release_racing_with_close_keeps_the_counts_exact() {
    loom::model(|| {
        let slots = std::sync::Arc::new(Slots::new(limits(1)));
        let held = lease(&slots).unwrap();
        let waiter = {
            let slots = slots.clone();
            thread::spawn(move || {
                let got = lease(&slots);
                if let Ok(conn) = &got {
                    slots.end_lease(conn.clone(), Ending::Healthy);
                }
                got.is_ok()
            })
        };
        let releaser = {
            let (slots, held) = (slots.clone(), held.clone());
            thread::spawn(move || slots.end_lease(held, Ending::Healthy))
        };
        // Close races with the release (which may grant the slot to the
        // waiter) and with the waiter taking its grant.
        slots.close();
        releaser.join().unwrap();
        let served = waiter.join().unwrap();
        let stats = slots.stats();
        assert_eq!((stats.in_use, stats.idle), (0, 0), "served: {served}");
        assert!(held.0.load(Ordering::SeqCst), "the released lease closed");
    });
}
