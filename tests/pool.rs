//! The connection pool against real loopback servers.

mod common;

use common::{server, Behaviour};
use sockrt::error::ErrorKind;
use sockrt::pool::{AcquireOptions, Lease, Pool, PoolConfig};
use sockrt::registry;
use sockrt::socket::SockOption;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn config() -> PoolConfig {
    PoolConfig {
        connect_timeout_ms: 2000,
        acquire_timeout_ms: 2000,
        ..PoolConfig::default()
    }
}

/// One 8-byte round trip on a leased connection.
fn round_trip(conn: &Lease, tag: u64) -> sockrt::Result<()> {
    let socket = conn.socket();
    socket.send_all(&tag.to_le_bytes())?;
    let mut back = [0u8; 8];
    socket.recv_exact(&mut back)?;
    assert_eq!(
        u64::from_le_bytes(back),
        tag,
        "answer belongs to another request"
    );
    Ok(())
}

#[test]
fn sequential_requests_reuse_one_connection() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    for i in 0..1000 {
        let conn = pool.acquire().unwrap();
        assert_eq!(conn.was_reused(), i > 0);
        round_trip(&conn, i).unwrap();
        conn.release();
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.created, stats.reused, stats.idle, stats.in_use),
        (1, 999, 1, 0)
    );
    pool.close();
}

#[test]
fn never_hands_out_a_connection_the_server_closed() {
    let srv = server(Behaviour::EchoOnceThenClose);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    for i in 0..20 {
        let conn = pool.acquire().unwrap();
        round_trip(&conn, i).unwrap();
        let broken_before = pool.stats().closed_broken;
        conn.release();
        // The server closes the now idle connection: its FIN has arrived
        // (unless it came so soon that the probe at release saw it).
        wait_for("the server's FIN", Duration::from_secs(5), || {
            tcp_states_to(srv.port, "08") == 1 || pool.stats().closed_broken > broken_before
        });
    }
    let stats = pool.stats();
    assert_eq!(stats.created, 20);
    assert!(stats.closed_stale + stats.closed_broken >= 19, "{stats:?}");
    assert_eq!(
        stats.closed_stale + stats.closed_broken + stats.idle,
        20,
        "{stats:?}"
    );
    pool.close();
}

#[test]
fn unsolicited_bytes_make_a_connection_stale() {
    let srv = server(Behaviour::EchoOnceThenChatter);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    let conn = pool.acquire().unwrap();
    round_trip(&conn, 1).unwrap();
    conn.release();
    wait_for("the stray bytes", Duration::from_secs(5), || {
        tcp_bytes_waiting_to(srv.port) == 1
    });
    let conn = pool.acquire().unwrap();
    round_trip(&conn, 2).unwrap();
    conn.release();
    let stats = pool.stats();
    assert_eq!((stats.created, stats.closed_stale), (2, 1), "{stats:?}");
}

#[test]
fn eight_threads_share_two_slots_fairly() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 2,
            acquire_timeout_ms: 10_000,
            ..config()
        },
    )
    .unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (pool, served, start) =
                (Arc::clone(&pool), Arc::clone(&served), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for i in 0..200 {
                    let conn = pool.acquire().unwrap();
                    round_trip(&conn, t * 1000 + i).unwrap();
                    conn.release();
                    served.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = pool.stats();
    assert_eq!(served.load(Ordering::Relaxed), 1600);
    assert!(stats.created <= 2, "{stats:?}");
    assert!(stats.waits > 0, "{stats:?}");
    assert_eq!((stats.in_use, stats.timeouts), (0, 0));
}

#[test]
fn queued_acquires_are_served_first_come_first_served() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 1,
            acquire_timeout_ms: 10_000,
            ..config()
        },
    )
    .unwrap();
    let held = pool.acquire().unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    // Queue five threads one at a time, each really waiting before the next.
    for i in 0..5u64 {
        let (worker_pool, order, worker_tids) =
            (Arc::clone(&pool), Arc::clone(&order), Arc::clone(&tids));
        waiters.push(std::thread::spawn(move || {
            worker_tids.lock().unwrap().push(gettid());
            let conn = worker_pool.acquire().unwrap();
            order.lock().unwrap().push(i);
            conn.release();
        }));
        wait_for("the next wait", Duration::from_secs(10), || {
            pool.stats().waits == i + 1
        });
        wait_until_blocked(&tids, i as usize + 1);
    }
    held.release();
    for w in waiters {
        w.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(pool.stats().created, 1);
}

#[test]
fn acquire_times_out_when_every_slot_is_busy() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 1,
            acquire_timeout_ms: 100,
            ..config()
        },
    )
    .unwrap();
    let held = pool.acquire().unwrap();
    let started = Instant::now();
    let err = pool.acquire().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolExhausted);
    assert!(started.elapsed() >= Duration::from_millis(80));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(pool.stats().timeouts, 1);
    held.release();
    // The freed slot serves the next caller at once.
    let conn = pool.acquire().unwrap();
    conn.release();
}

#[test]
fn idle_connections_expire_without_acquires() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            idle_timeout_ms: 50,
            ..config()
        },
    )
    .unwrap();
    let conn = pool.acquire().unwrap();
    conn.release();
    let released = Instant::now();
    assert_eq!(pool.stats().idle, 1);
    // Expiry needs no acquire: reading the stats sees it.
    wait_for(
        "the idle connection to expire",
        Duration::from_secs(5),
        || pool.stats().idle == 0,
    );
    let took = released.elapsed();
    assert!(took >= Duration::from_millis(40), "expired after {took:?}");
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.closed_expired), (0, 1), "{stats:?}");
}

#[test]
fn max_lifetime_retires_connections_at_release() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_lifetime_ms: 30,
            ..config()
        },
    )
    .unwrap();
    let conn = pool.acquire().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    conn.release();
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.closed_expired), (0, 1), "{stats:?}");
}

/// The kernel's id of the calling thread.
fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Whether thread `tid` of this process is asleep in the kernel (state S),
/// from /proc/self/task/<tid>/stat.
fn thread_sleeping(tid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name.
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .is_some_and(|state| state == 'S')
}

/// Waits (bounded) until `ready` holds, polling every millisecond.
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits (bounded) until every thread in `tids` has registered and sleeps.
fn wait_until_blocked(tids: &std::sync::Mutex<Vec<i32>>, n: usize) {
    wait_for("threads blocked", Duration::from_secs(10), || {
        let tids = tids.lock().unwrap();
        tids.len() == n && tids.iter().all(|&t| thread_sleeping(t))
    });
}

#[test]
fn closing_the_pool_wakes_waiters_and_spares_leases() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 1,
            acquire_timeout_ms: -1,
            ..config()
        },
    )
    .unwrap();
    let leased = pool.acquire().unwrap();
    let tids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (pool, tids) = (Arc::clone(&pool), Arc::clone(&tids));
            std::thread::spawn(move || {
                tids.lock().unwrap().push(gettid());
                let result = pool.acquire().map(|_| ());
                (result, Instant::now())
            })
        })
        .collect();
    // Really queued: counted as waits, and each thread asleep in the kernel.
    wait_for("three waits", Duration::from_secs(10), || {
        pool.stats().waits == 3
    });
    wait_until_blocked(&tids, 3);
    let closed_at = Instant::now();
    pool.close();
    for w in waiters {
        let (result, returned_at) = w.join().unwrap();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::PoolClosed);
        eprintln!("woke {:?} after close", returned_at - closed_at);
    }
    // The lease still works after close, and release closes it.
    round_trip(&leased, 7).unwrap();
    let socket = Arc::clone(leased.socket());
    leased.release();
    assert!(socket.is_closed(), "a lease ended after close is closed");
    assert_eq!(pool.stats().idle, 0);
}

/// Our side of the connections to 127.0.0.1:`port` that `keep` accepts,
/// given the state (hex, as /proc/net/tcp writes it: 02 SYN_SENT, 08
/// CLOSE_WAIT) and the bytes waiting to be read.
fn tcp_to(port: u16, keep: impl Fn(&str, u64) -> bool) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let remote = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let rx = fields
                .get(4)
                .and_then(|q| q.split_once(':'))
                .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
                .unwrap_or(0);
            fields.len() > 4 && fields[2] == remote && keep(fields[3], rx)
        })
        .count()
}

fn tcp_states_to(port: u16, state: &str) -> usize {
    tcp_to(port, |s, _| s == state)
}

fn tcp_bytes_waiting_to(port: u16) -> usize {
    tcp_to(port, |_, rx| rx > 0)
}

/// A listener whose accept queue is full: connects to it hang in SYN_SENT
/// (the kernel drops their SYNs). Returns the listener and the connections
/// that filled the queue.
fn full_listener() -> (sockrt::Socket, Vec<std::net::TcpStream>, u16) {
    let listener = sockrt::Socket::tcp_listen("127.0.0.1", 0, 1).unwrap();
    let port = listener.local_addr().unwrap().port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(_) => return (listener, fillers, port),
        }
    }
    panic!("the accept queue of a backlog-1 listener never filled");
}

#[test]
fn close_wakes_an_acquire_that_is_connecting_and_closes_its_socket() {
    let (_listener, _fillers, port) = full_listener();
    let pool = Pool::open(
        "127.0.0.1",
        port,
        PoolConfig {
            connect_timeout_ms: -1, // only the close can end this connect
            acquire_timeout_ms: -1,
            max_total: 2,
            ..config()
        },
    )
    .unwrap();
    let tids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let acquirers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, tids) = (Arc::clone(&pool), Arc::clone(&tids));
            std::thread::spawn(move || {
                tids.lock().unwrap().push(gettid());
                let result = pool.acquire().map(|_| ());
                (result, Instant::now())
            })
        })
        .collect();
    // Both connects under way: two SYN_SENT sockets, both threads asleep.
    wait_for("two connects in SYN_SENT", Duration::from_secs(10), || {
        tcp_states_to(port, "02") == 2
    });
    wait_until_blocked(&tids, 2);
    let closed_at = Instant::now();
    pool.close();
    for a in acquirers {
        let (result, returned_at) = a.join().unwrap();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::PoolClosed);
        let took = returned_at - closed_at;
        eprintln!("connecting acquire woke {took:?} after close");
        assert!(took < Duration::from_secs(1), "woke only after {took:?}");
    }
    // The half-made connections were closed, not left connecting.
    wait_for("no SYN_SENT left", Duration::from_secs(5), || {
        tcp_states_to(port, "02") == 0
    });
    let stats = pool.stats();
    assert_eq!((stats.in_use, stats.created), (0, 0), "{stats:?}");
}

#[test]
fn release_rules() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    let other = Pool::open("127.0.0.1", srv.port, config()).unwrap();

    let conn = other.acquire().unwrap();
    assert!(conn.is_from(&other) && !conn.is_from(&pool));
    conn.release();

    // Broken: a call on it failed (timed out), so it is closed, not kept.
    let conn = pool.acquire().unwrap();
    conn.socket()
        .set_option(SockOption::ReadTimeoutMs, 10)
        .unwrap();
    assert_eq!(
        conn.socket().recv(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::Timeout
    );
    conn.release();
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.closed_broken), (0, 1), "{stats:?}");

    // Unread bytes waiting: closed at release.
    let conn = pool.acquire().unwrap();
    conn.socket().send_all(b"echoed but never read").unwrap();
    let fd = libc::pollfd {
        fd: conn.socket().fileno(),
        events: libc::POLLIN,
        revents: 0,
    };
    wait_for("the echo to arrive", Duration::from_secs(5), || {
        let mut fd = fd;
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut fd, 1, 0) == 1 }
    });
    conn.release();
    assert_eq!(pool.stats().closed_broken, 2);

    // A call in flight on it (another reference): closed at release.
    let conn = pool.acquire().unwrap();
    let in_flight = Arc::clone(conn.socket());
    conn.release();
    assert!(in_flight.is_closed());
    assert_eq!(pool.stats().closed_broken, 3);
    drop(in_flight);

    // Dropping a lease discards it and frees its slot.
    drop(pool.acquire().unwrap());
    let stats = pool.stats();
    assert_eq!((stats.in_use, stats.closed_broken), (0, 4), "{stats:?}");

    // sockrt_close on a pooled connection's handle frees its slot.
    let handle = registry::insert_lease(pool.acquire().unwrap(), 0, "t").unwrap();
    assert_eq!(pool.stats().in_use, 1);
    registry::close(handle).unwrap();
    let stats = pool.stats();
    assert_eq!((stats.in_use, stats.closed_broken), (0, 5), "{stats:?}");

    // A lease's timeouts do not leak into the next lease.
    let conn = pool.acquire().unwrap();
    conn.socket()
        .set_option(SockOption::ReadTimeoutMs, 5)
        .unwrap();
    conn.release();
    let conn = pool.acquire().unwrap();
    assert!(conn.was_reused());
    assert_eq!(
        conn.socket().get_option(SockOption::ReadTimeoutMs).unwrap(),
        -1
    );
    conn.discard();
}

#[test]
fn a_fresh_acquire_never_gets_an_idle_connection() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 2,
            ..config()
        },
    )
    .unwrap();
    let fresh = AcquireOptions {
        fresh: true,
        timeout_ms: Some(0),
    };
    let (a, b) = (pool.acquire().unwrap(), pool.acquire().unwrap());
    // Full: a fresh acquire queues like any other (here: does not wait).
    assert_eq!(
        pool.acquire_with(fresh).unwrap_err().kind(),
        ErrorKind::PoolExhausted
    );
    a.release();
    b.release();
    assert_eq!(pool.stats().idle, 2);
    // Two idle, none free: the oldest idle one makes room for a new one.
    let c = pool.acquire_with(fresh).unwrap();
    assert!(!c.was_reused());
    round_trip(&c, 1).unwrap();
    let stats = pool.stats();
    assert_eq!(
        (
            stats.idle,
            stats.in_use,
            stats.created,
            stats.closed_expired
        ),
        (1, 1, 3, 1),
        "{stats:?}"
    );
    // A free slot and an idle one: fresh connects anew, the idle one stays.
    c.release();
    let plain = pool.acquire().unwrap();
    assert!(plain.was_reused());
    plain.discard();
    let d = pool.acquire_with(fresh).unwrap();
    assert!(!d.was_reused());
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.created), (1, 4), "{stats:?}");
    d.release();
}

#[test]
fn stress_with_a_server_that_drops_one_percent() {
    let srv = server(Behaviour::EchoThenMaybeClose(100));
    let handles_before = registry::open_handles();
    let fds_before = common::open_fds();
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 8,
            ..config()
        },
    )
    .unwrap();
    let failures = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (pool, failures) = (Arc::clone(&pool), Arc::clone(&failures));
            std::thread::spawn(move || {
                for i in 0..10_000u64 {
                    // As documented: on failure discard, then retry once on a new lease.
                    let mut ok = false;
                    for _attempt in 0..2 {
                        let conn = pool.acquire().unwrap();
                        match round_trip(&conn, (t << 32) | i) {
                            Ok(()) => {
                                conn.release();
                                ok = true;
                                break;
                            }
                            Err(_) => conn.discard(),
                        }
                    }
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = pool.stats();
    eprintln!("{stats:?}");
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    assert_eq!(stats.in_use, 0);
    assert!(
        stats.closed_stale + stats.closed_broken > 0,
        "the server did drop connections"
    );
    pool.close();
    drop(pool);
    // Tests running alongside hold a few handles and descriptors of their
    // own; a leak in 40,000 cycles would show as far more than that.
    let handles = registry::open_handles();
    assert!(
        handles < handles_before + 20,
        "{handles} handles, {handles_before} before"
    );
    drop(srv);
    // The server's threads close their ends as they see each EOF.
    wait_for("descriptors to settle", Duration::from_secs(10), || {
        common::open_fds() < fds_before + 50
    });
}

// ---- the liveness probe and signals -------------------------------------

thread_local! {
    /// How many of this thread's next liveness probes fail with EINTR.
    static EINTR_PROBES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}
static EINTR_INJECTED: AtomicU64 = AtomicU64::new(0);

/// Whether to fail this probe with EINTR, as a signal arriving in it would.
fn inject_eintr() -> bool {
    let due = EINTR_PROBES
        .try_with(|left| {
            let n = left.get();
            if n > 0 {
                left.set(n - 1);
            }
            n > 0
        })
        .unwrap_or(false);
    if due {
        EINTR_INJECTED.fetch_add(1, Ordering::SeqCst);
        // SAFETY: sets this thread's errno.
        unsafe { *libc::__errno_location() = libc::EINTR };
    }
    due
}

/// This test program's poll(2): the library (linked in statically) calls
/// this one. A zero-timeout poll is the liveness probe; when the test asks,
/// it fails with EINTR. Everything else goes to the kernel unchanged.
///
/// # Safety
/// As poll(2).
#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: i32) -> i32 {
    if timeout == 0 && inject_eintr() {
        return -1;
    }
    let ts = libc::timespec {
        tv_sec: libc::time_t::from(timeout / 1000),
        tv_nsec: libc::c_long::from(timeout % 1000) * 1_000_000,
    };
    let tsp = if timeout < 0 { std::ptr::null() } else { &ts };
    libc::ppoll(fds, n, tsp, std::ptr::null())
}

/// This test program's recv(2), for a probe made as a non-blocking peek.
///
/// # Safety
/// As recv(2).
#[no_mangle]
pub unsafe extern "C" fn recv(
    fd: i32,
    buf: *mut libc::c_void,
    len: libc::size_t,
    flags: i32,
) -> libc::ssize_t {
    let probe = libc::MSG_PEEK | libc::MSG_DONTWAIT;
    if flags & probe == probe && inject_eintr() {
        return -1;
    }
    libc::recvfrom(
        fd,
        buf,
        len,
        flags,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    )
}

#[test]
fn a_signal_during_the_liveness_probe_keeps_a_healthy_connection() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    let conn = pool.acquire().unwrap();
    round_trip(&conn, 1).unwrap();
    let injected = EINTR_INJECTED.load(Ordering::SeqCst);
    // The probe at release is interrupted once: the connection stays idle.
    EINTR_PROBES.with(|n| n.set(1));
    conn.release();
    let stats = pool.stats();
    assert_eq!(
        (stats.idle, stats.closed_broken),
        (1, 0),
        "an interrupted probe discarded a healthy connection: {stats:?}"
    );
    // And the probe at acquire: the connection is reused, not closed.
    EINTR_PROBES.with(|n| n.set(1));
    let conn = pool.acquire().unwrap();
    EINTR_PROBES.with(|n| n.set(0));
    assert_eq!(
        EINTR_INJECTED.load(Ordering::SeqCst) - injected,
        2,
        "the probes no longer reach poll(2) or a peeking recv(2): update this test"
    );
    assert!(conn.was_reused());
    round_trip(&conn, 2).unwrap();
    conn.release();
    let stats = pool.stats();
    assert_eq!(
        (
            stats.created,
            stats.closed_broken,
            stats.closed_stale,
            stats.idle
        ),
        (1, 0, 0, 1),
        "{stats:?}"
    );
}

// ---- a server that closes idle connections --------------------------------

/// Python's http.server as a keep-alive HTTP/1.1 server that closes a
/// connection idle for 0.3 s (as nginx's keepalive_timeout does). It prints
/// its port, and stops when the test closes its stdin (or after 60 s).
const IDLE_CLOSING_HTTP: &str = r#"
import http.server, select, socketserver, sys, threading
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 0.3
    def do_GET(self):
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
select.select([sys.stdin], [], [], 60)
"#;

struct PythonServer {
    child: std::process::Child,
    port: u16,
}

impl PythonServer {
    fn start(script: &str) -> PythonServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (the Python suites need it too)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        PythonServer { child, port }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // EOF: the server exits
        let _ = self.child.wait();
    }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// A response without its Date header (which changes every second).
fn undated(response: Vec<u8>) -> String {
    String::from_utf8(response)
        .unwrap()
        .split("\r\n")
        .filter(|line| !line.starts_with("Date:"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// One GET on a connection; the whole response, undated.
fn http_get(socket: &sockrt::Socket) -> sockrt::Result<String> {
    socket.set_option(SockOption::ReadTimeoutMs, 5000)?;
    socket.send_all(GET)?;
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(b"\r\n\r\nhello") {
        let n = socket.recv(&mut buf)?;
        if n == 0 {
            return Err(sockrt::Error::new(ErrorKind::Eof, "GET: peer closed"));
        }
        response.extend_from_slice(&buf[..n]);
    }
    Ok(undated(response))
}

#[test]
fn the_retry_on_a_fresh_connection_succeeds_where_acquiring_again_gets_a_stale_one() {
    let srv = PythonServer::start(IDLE_CLOSING_HTTP);
    // The standard library's answer is the reference.
    let expected = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(GET).unwrap();
        let mut response = Vec::new();
        let mut buf = [0u8; 1024];
        while !response.ends_with(b"\r\n\r\nhello") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "the server closed before answering");
            response.extend_from_slice(&buf[..n]);
        }
        undated(response)
    };
    let pool = Pool::open(
        "127.0.0.1",
        srv.port,
        PoolConfig {
            max_total: 4,
            max_idle: 4,
            check_on_acquire: false, // no probe: stale connections get handed out
            ..config()
        },
    )
    .unwrap();
    // Three keep-alive connections, served once each, then idle.
    let leases: Vec<_> = (0..3).map(|_| pool.acquire().unwrap()).collect();
    for lease in &leases {
        assert_eq!(http_get(lease.socket()).unwrap(), expected);
    }
    leases.into_iter().for_each(Lease::release);
    // The server times all three out: each FIN has arrived (CLOSE_WAIT).
    wait_for(
        "the server to close the idle connections",
        Duration::from_secs(10),
        || tcp_states_to(srv.port, "08") == 3,
    );

    // The request fails on a reused connection...
    let first = pool.acquire().unwrap();
    assert!(first.was_reused());
    assert!(http_get(first.socket()).is_err());
    first.discard();
    // ...and acquiring again, as before, hands out another stale one.
    let again = pool.acquire().unwrap();
    assert!(again.was_reused());
    assert!(
        http_get(again.socket()).is_err(),
        "the second idle connection was stale too"
    );
    again.discard();
    // The retry on a fresh connection succeeds.
    let fresh = pool
        .acquire_with(AcquireOptions {
            fresh: true,
            ..AcquireOptions::default()
        })
        .unwrap();
    assert!(!fresh.was_reused());
    assert_eq!(http_get(fresh.socket()).unwrap(), expected);
    fresh.release();
    let stats = pool.stats();
    eprintln!("{stats:?}");
    assert_eq!(stats.created, 4, "{stats:?}");
    assert_eq!(stats.in_use, 0, "{stats:?}");
}
