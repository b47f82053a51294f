//! The connection pool against real loopback servers.

mod common;

use common::{server, Behaviour};
use sockrt::error::ErrorKind;
use sockrt::handle::Handle;
use sockrt::pool::{Pool, PoolConfig};
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
fn round_trip(conn: Handle, tag: u64) -> sockrt::Result<()> {
    let socket = registry::socket(conn, "test")?;
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
        let reused = registry::socket(conn, "t").unwrap().was_reused();
        assert_eq!(reused, i > 0);
        round_trip(conn, i).unwrap();
        pool.release(conn).unwrap();
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
        round_trip(conn, i).unwrap();
        pool.release(conn).unwrap();
        // Let the server close the now idle connection.
        std::thread::sleep(Duration::from_millis(40));
    }
    let stats = pool.stats();
    assert_eq!(stats.created, 20);
    assert!(stats.closed_stale >= 19, "{stats:?}");
    pool.close();
}

#[test]
fn unsolicited_bytes_make_a_connection_stale() {
    let srv = server(Behaviour::EchoOnceThenChatter);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    let conn = pool.acquire().unwrap();
    round_trip(conn, 1).unwrap();
    pool.release(conn).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    let conn = pool.acquire().unwrap();
    round_trip(conn, 2).unwrap();
    pool.release(conn).unwrap();
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
                    round_trip(conn, t * 1000 + i).unwrap();
                    pool.release(conn).unwrap();
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
    pool.release(held).unwrap();
    // The freed slot serves the next caller at once.
    let conn = pool.acquire().unwrap();
    pool.release(conn).unwrap();
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
    pool.release(conn).unwrap();
    assert_eq!(pool.stats().idle, 1);
    std::thread::sleep(Duration::from_millis(120));
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
    pool.release(conn).unwrap();
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.closed_expired), (0, 1), "{stats:?}");
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
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || pool.acquire())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    pool.close();
    for w in waiters {
        assert_eq!(w.join().unwrap().unwrap_err().kind(), ErrorKind::PoolClosed);
    }
    // The lease still works after close, and release closes it.
    round_trip(leased, 7).unwrap();
    pool.release(leased).unwrap();
    assert_eq!(
        registry::socket(leased, "t").unwrap_err().kind(),
        ErrorKind::BadHandle
    );
    assert_eq!(pool.stats().idle, 0);
}

#[test]
fn release_rules() {
    let srv = server(Behaviour::Echo);
    let pool = Pool::open("127.0.0.1", srv.port, config()).unwrap();
    let other = Pool::open("127.0.0.1", srv.port, config()).unwrap();

    // Foreign: refused, and the handle stays usable.
    let conn = other.acquire().unwrap();
    assert_eq!(
        pool.release(conn).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    round_trip(conn, 1).unwrap();
    other.release(conn).unwrap();
    // Twice: the handle is gone.
    assert_eq!(
        other.release(conn).unwrap_err().kind(),
        ErrorKind::BadHandle
    );

    // Broken: a call on it failed (timed out), so it is closed, not kept.
    let conn = pool.acquire().unwrap();
    let socket = registry::socket(conn, "t").unwrap();
    socket.set_option(SockOption::ReadTimeoutMs, 10).unwrap();
    assert_eq!(
        socket.recv(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::Timeout
    );
    drop(socket);
    pool.release(conn).unwrap();
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.closed_broken), (0, 1), "{stats:?}");

    // Unread bytes waiting: closed at release.
    let conn = pool.acquire().unwrap();
    registry::socket(conn, "t")
        .unwrap()
        .send_all(b"echoed but never read")
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    pool.release(conn).unwrap();
    assert_eq!(pool.stats().closed_broken, 2);

    // Closing a lease frees its slot.
    let conn = pool.acquire().unwrap();
    registry::close(conn).unwrap();
    let stats = pool.stats();
    assert_eq!((stats.in_use, stats.closed_broken), (0, 3), "{stats:?}");

    // A lease's timeouts do not leak into the next lease.
    let conn = pool.acquire().unwrap();
    registry::socket(conn, "t")
        .unwrap()
        .set_option(SockOption::ReadTimeoutMs, 5)
        .unwrap();
    pool.release(conn).unwrap();
    let conn = pool.acquire().unwrap();
    assert_eq!(
        registry::socket(conn, "t")
            .unwrap()
            .get_option(SockOption::ReadTimeoutMs)
            .unwrap(),
        -1
    );
    pool.discard(conn).unwrap();
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
                        match round_trip(conn, t << 32 | i) {
                            Ok(()) => {
                                pool.release(conn).unwrap();
                                ok = true;
                                break;
                            }
                            Err(_) => pool.discard(conn).unwrap(),
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
    std::thread::sleep(Duration::from_millis(300));
    let fds = common::open_fds();
    assert!(
        fds < fds_before + 50,
        "{fds} descriptors, {fds_before} before"
    );
}
