//! The poller and the fan-out through the C ABI, against standard-library
//! peers, with libc::poll(2) on the same descriptors as the oracle.

use sockrt::ffi::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const IN: u32 = SOCKRT_POLL_IN;
const OUT: u32 = SOCKRT_POLL_OUT;
const WOULD_BLOCK: i32 = SOCKRT_E_WOULD_BLOCK;

fn poller() -> sockrt_handle {
    let mut p = 0;
    assert_eq!(sockrt_poller_open(&mut p), SOCKRT_OK);
    p
}

/// A sockrt stream connected to a standard-library peer.
fn pair() -> (sockrt_handle, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut h = 0;
    let host = c"127.0.0.1";
    assert_eq!(
        sockrt_tcp_connect(host.as_ptr(), port, 2000, &mut h),
        SOCKRT_OK
    );
    let (peer, _) = listener.accept().unwrap();
    (h, peer)
}

fn wait(p: sockrt_handle, timeout_ms: i32) -> Vec<(u64, u32)> {
    let mut evs = [sockrt_poll_event::default(); 16];
    let n = sockrt_poller_wait(p, evs.as_mut_ptr(), evs.len(), timeout_ms);
    assert!(n >= 0, "poller_wait failed: {n}");
    evs[..n as usize]
        .iter()
        .map(|e| (e.token, e.events))
        .collect()
}

/// What poll(2) says about one descriptor right now.
fn poll_now(fd: i32, events: i16) -> i16 {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    unsafe { libc::poll(&mut pfd, 1, 0) };
    pfd.revents
}

#[test]
fn readiness_agrees_with_poll_and_is_level_triggered() {
    let p = poller();
    let (h, mut peer) = pair();
    let fd = sockrt_fileno(h);
    assert_eq!(sockrt_poller_add(p, h, IN, 7), SOCKRT_OK);
    assert_eq!(poll_now(fd, libc::POLLIN), 0);
    assert!(wait(p, 0).is_empty(), "nothing to read yet");
    peer.write_all(b"hello").unwrap();
    let start = Instant::now();
    assert_eq!(wait(p, 2000), vec![(7, IN)]);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_ne!(poll_now(fd, libc::POLLIN) & libc::POLLIN, 0, "poll agrees");
    // Level-triggered: still readable, still reported.
    assert_eq!(wait(p, 0), vec![(7, IN)]);
    let mut buf = [0u8; 16];
    assert_eq!(sockrt_recv(h, buf.as_mut_ptr().cast(), buf.len()), 5);
    assert!(wait(p, 0).is_empty(), "drained: no longer reported");
    assert_eq!(poll_now(fd, libc::POLLIN), 0);
    // Writable interest and a new token.
    assert_eq!(sockrt_poller_modify(p, h, IN | OUT, 8), SOCKRT_OK);
    assert_eq!(wait(p, 0), vec![(8, OUT)]);
    // Peer hang-up: readable (end of stream), as poll(2) says.
    assert_eq!(sockrt_poller_modify(p, h, IN, 9), SOCKRT_OK);
    drop(peer);
    let evs = wait(p, 2000);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].0, 9);
    assert_ne!(evs[0].1 & IN, 0);
    assert_ne!(poll_now(fd, libc::POLLIN) & libc::POLLIN, 0);
    assert_eq!(sockrt_recv(h, buf.as_mut_ptr().cast(), buf.len()), 0);
    assert_eq!(sockrt_poller_remove(p, h), SOCKRT_OK);
    assert!(wait(p, 0).is_empty(), "removed: never reported again");
    assert_eq!(sockrt_close(h), SOCKRT_OK);
    assert_eq!(sockrt_close(p), SOCKRT_OK);
}

#[test]
fn edge_triggered_reports_a_change_once() {
    let p = poller();
    let (h, mut peer) = pair();
    assert_eq!(sockrt_poller_add(p, h, IN | SOCKRT_POLL_EDGE, 1), SOCKRT_OK);
    peer.write_all(b"x").unwrap();
    assert_eq!(wait(p, 2000), vec![(1, IN)]);
    assert!(wait(p, 0).is_empty(), "unread, but reported once");
    peer.write_all(b"y").unwrap();
    assert_eq!(wait(p, 2000), vec![(1, IN)], "new data is a new edge");
    sockrt_close(h);
    sockrt_close(p);
}

#[test]
fn closing_a_registered_handle_reports_closed_once_and_wakes_the_waiter() {
    let p = poller();
    let (h, _peer) = pair();
    let (other, mut other_peer) = pair();
    assert_eq!(sockrt_poller_add(p, h, IN, 11), SOCKRT_OK);
    assert_eq!(sockrt_poller_add(p, other, IN, 12), SOCKRT_OK);
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        (wait(p, 10_000), start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !waiter.is_finished(),
        "the wait blocks while nothing is ready"
    );
    assert_eq!(sockrt_close(h), SOCKRT_OK);
    let (evs, took) = waiter.join().unwrap();
    assert_eq!(evs, vec![(11, SOCKRT_POLL_CLOSED)]);
    assert!(
        took < Duration::from_secs(5),
        "woken by the close, not the timeout"
    );
    assert!(wait(p, 0).is_empty(), "reported once");
    assert_eq!(sockrt_poller_remove(p, h), SOCKRT_E_BAD_HANDLE);
    // The other registration is untouched.
    other_peer.write_all(b"z").unwrap();
    assert_eq!(wait(p, 2000), vec![(12, IN)]);
    sockrt_close(other);
    assert_eq!(wait(p, 2000), vec![(12, SOCKRT_POLL_CLOSED)]);
    sockrt_close(p);
}

#[test]
fn a_late_event_never_reaches_a_reused_descriptor_number() {
    let p = poller();
    let (h, mut peer) = pair();
    let old_fd = sockrt_fileno(h);
    assert_eq!(sockrt_poller_add(p, h, IN, 21), SOCKRT_OK);
    peer.write_all(b"pending").unwrap();
    sockrt_close(h);
    // The descriptor number comes free and is taken by a new socket, whose
    // readiness must not surface under the old token.
    let (h2, mut peer2) = pair();
    peer2.write_all(b"new").unwrap();
    let evs = wait(p, 200);
    assert_eq!(evs, vec![(21, SOCKRT_POLL_CLOSED)], "old fd {old_fd}");
    assert!(wait(p, 100).is_empty());
    sockrt_close(h2);
    sockrt_close(p);
}

#[test]
fn closing_the_poller_wakes_its_waiter() {
    let p = poller();
    let (h, _peer) = pair();
    assert_eq!(sockrt_poller_add(p, h, IN, 1), SOCKRT_OK);
    let waiter = std::thread::spawn(move || {
        let mut evs = [sockrt_poll_event::default(); 4];
        sockrt_poller_wait(p, evs.as_mut_ptr(), 4, -1)
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished());
    assert_eq!(sockrt_close(p), SOCKRT_OK);
    assert_eq!(waiter.join().unwrap(), SOCKRT_E_CLOSED);
    let mut evs = [sockrt_poll_event::default(); 4];
    assert_eq!(
        sockrt_poller_wait(p, evs.as_mut_ptr(), 4, 0),
        SOCKRT_E_BAD_HANDLE
    );
    assert_eq!(
        sockrt_close(p),
        SOCKRT_E_BAD_HANDLE,
        "double close is an error"
    );
    // The socket outlives the poller and still works.
    let mut v = 0;
    assert_eq!(sockrt_get_option(h, SOCKRT_OPT_NODELAY, &mut v), SOCKRT_OK);
    sockrt_close(h);
}

#[test]
fn one_thread_waits_while_another_adds_and_wake_ends_a_wait() {
    let p = poller();
    let waiter = std::thread::spawn(move || wait(p, 10_000));
    std::thread::sleep(Duration::from_millis(50));
    let (h, mut peer) = pair();
    peer.write_all(b"a").unwrap();
    assert_eq!(sockrt_poller_add(p, h, IN, 5), SOCKRT_OK);
    assert_eq!(waiter.join().unwrap(), vec![(5, IN)]);
    assert_eq!(sockrt_poller_remove(p, h), SOCKRT_OK);
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        (wait(p, 10_000), start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(sockrt_poller_wake(p), SOCKRT_OK);
    let (evs, took) = waiter.join().unwrap();
    assert!(evs.is_empty());
    assert!(took < Duration::from_secs(5));
    sockrt_close(h);
    sockrt_close(p);
}

#[test]
fn foreign_descriptors_register_by_number() {
    let p = poller();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    let fd = b.as_raw_fd();
    assert_eq!(sockrt_poller_add_fd(p, fd, IN, 99), SOCKRT_OK);
    assert_eq!(sockrt_poller_add_fd(p, fd, IN, 99), SOCKRT_E_INVALID_STATE);
    assert!(wait(p, 0).is_empty());
    a.write_all(b"q").unwrap();
    assert_eq!(wait(p, 2000), vec![(99, IN)]);
    assert_eq!(sockrt_poller_modify_fd(p, fd, OUT, 100), SOCKRT_OK);
    assert_eq!(wait(p, 0), vec![(100, OUT)]);
    assert_eq!(sockrt_poller_remove_fd(p, fd), SOCKRT_OK);
    assert_eq!(sockrt_poller_remove_fd(p, fd), SOCKRT_E_INVALID_STATE);
    assert_eq!(
        sockrt_poller_add_fd(p, -1, IN, 0),
        SOCKRT_E_INVALID_ARGUMENT
    );
    sockrt_close(p);
}

#[test]
fn bad_input_gets_clear_errors() {
    let p = poller();
    let (h, _peer) = pair();
    let mut evs = [sockrt_poll_event::default(); 2];
    assert_eq!(
        sockrt_poller_open(std::ptr::null_mut()),
        SOCKRT_E_INVALID_ARGUMENT
    );
    assert_eq!(
        sockrt_poller_wait(p, std::ptr::null_mut(), 2, 0),
        SOCKRT_E_INVALID_ARGUMENT
    );
    assert_eq!(
        sockrt_poller_wait(p, evs.as_mut_ptr(), 0, 0),
        SOCKRT_E_INVALID_ARGUMENT
    );
    assert_eq!(
        sockrt_poller_wait(p, evs.as_mut_ptr(), SOCKRT_POLLER_MAX_EVENTS + 1, 0),
        SOCKRT_E_INVALID_ARGUMENT
    );
    assert_eq!(
        sockrt_poller_wait(h, evs.as_mut_ptr(), 2, 0),
        SOCKRT_E_WRONG_KIND
    );
    assert_eq!(sockrt_poller_add(h, h, IN, 0), SOCKRT_E_WRONG_KIND);
    assert_eq!(sockrt_poller_add(p, p, IN, 0), SOCKRT_E_WRONG_KIND);
    assert_eq!(sockrt_poller_add(p, 0, IN, 0), SOCKRT_E_BAD_HANDLE);
    assert_eq!(sockrt_poller_add(p, h, 64, 0), SOCKRT_E_INVALID_ARGUMENT);
    assert_eq!(sockrt_poller_modify(p, h, IN, 0), SOCKRT_E_INVALID_STATE);
    assert_eq!(sockrt_poller_remove(p, h), SOCKRT_E_INVALID_STATE);
    assert_eq!(sockrt_poller_add(p, h, IN, 0), SOCKRT_OK);
    assert_eq!(sockrt_poller_add(p, h, IN, 0), SOCKRT_E_INVALID_STATE);
    assert_eq!(
        sockrt_poller_add_fd(p, sockrt_fileno(h), IN, 0),
        SOCKRT_E_INVALID_STATE
    );
    assert_eq!(sockrt_poller_wake(h), SOCKRT_E_WRONG_KIND);
    sockrt_close(h);
    sockrt_close(p);
    assert_eq!(sockrt_poller_add(p, h, IN, 0), SOCKRT_E_BAD_HANDLE);
    assert_eq!(sockrt_poller_wake(p), SOCKRT_E_BAD_HANDLE);
}

#[test]
fn many_registrations_one_wait() {
    let p = poller();
    let mut conns = Vec::new();
    for i in 0..200u64 {
        let (h, peer) = pair();
        assert_eq!(sockrt_poller_add(p, h, IN, i), SOCKRT_OK);
        conns.push((h, peer));
    }
    for (_, peer) in conns.iter_mut().step_by(3) {
        peer.write_all(b"!").unwrap();
    }
    let expected: Vec<u64> = (0..200).step_by(3).collect();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut evs = vec![sockrt_poll_event::default(); 256];
    while seen.len() < expected.len() && Instant::now() < deadline {
        let n = sockrt_poller_wait(p, evs.as_mut_ptr(), evs.len(), 100);
        assert!(n >= 0);
        seen = evs[..n as usize].iter().map(|e| e.token).collect();
    }
    seen.sort();
    assert_eq!(
        seen, expected,
        "level-triggered: every ready one, each once per wait"
    );
    for (h, _) in conns {
        sockrt_close(h);
    }
    let mut total = Vec::new();
    while total.len() < 200 && Instant::now() < deadline {
        let n = sockrt_poller_wait(p, evs.as_mut_ptr(), evs.len(), 100);
        total.extend(evs[..n as usize].iter().map(|e| (e.token, e.events)));
    }
    assert_eq!(total.len(), 200);
    assert!(total.iter().all(|&(_, e)| e == SOCKRT_POLL_CLOSED));
    sockrt_close(p);
}

#[test]
fn send_many_delivers_to_every_reader_and_never_stalls_on_a_full_one() {
    let mut readers = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (h, peer) = pair();
        handles.push(h);
        readers.push(peer);
    }
    // One subscriber that never reads, with a small send buffer: it fills.
    let (stuck, _stuck_peer) = pair();
    assert_eq!(
        sockrt_set_option(stuck, SOCKRT_OPT_SEND_BUFFER, 4096),
        SOCKRT_OK
    );
    let msg = vec![b'e'; 1000];
    let mut filler = vec![0i64; 1];
    let start = Instant::now();
    let mut would_block = false;
    for _ in 0..10_000 {
        sockrt_send_many(
            &stuck,
            1,
            msg.as_ptr().cast(),
            msg.len(),
            filler.as_mut_ptr(),
        );
        if filler[0] == i64::from(WOULD_BLOCK) {
            would_block = true;
            break;
        }
        assert!(filler[0] > 0, "unexpected {}", filler[0]);
    }
    assert!(would_block, "a reader that never reads fills up");
    // Closed, datagram and stale handles get their own codes.
    let (gone, _) = pair();
    sockrt_close(gone);
    let mut udp = 0;
    assert_eq!(
        sockrt_udp_bind(c"127.0.0.1".as_ptr(), 0, &mut udp),
        SOCKRT_OK
    );
    handles.push(stuck);
    handles.push(gone);
    handles.push(udp);
    let mut results = vec![0i64; handles.len()];
    let whole = sockrt_send_many(
        handles.as_ptr(),
        handles.len(),
        msg.as_ptr().cast(),
        msg.len(),
        results.as_mut_ptr(),
    );
    assert!(start.elapsed() < Duration::from_secs(5), "never waits");
    assert_eq!(whole, 20);
    assert!(results[..20].iter().all(|&r| r == 1000), "{results:?}");
    assert_eq!(results[20], i64::from(WOULD_BLOCK));
    assert_eq!(results[21], i64::from(SOCKRT_E_BAD_HANDLE));
    assert_eq!(results[22], i64::from(SOCKRT_E_WRONG_KIND));
    for r in &mut readers {
        let mut got = vec![0u8; 1000];
        r.read_exact(&mut got).unwrap();
        assert_eq!(
            got, msg,
            "each reader gets the bytes, as a std send would give"
        );
    }
    // A peer that reset: its own error, the others still served.
    let (reset, reset_peer) = pair();
    socket2::SockRef::from(&reset_peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(reset_peer);
    std::thread::sleep(Duration::from_millis(20));
    let two = [reset, handles[0]];
    let mut res = [0i64; 2];
    let mut first = 0;
    for _ in 0..3 {
        sockrt_send_many(
            two.as_ptr(),
            2,
            msg.as_ptr().cast(),
            msg.len(),
            res.as_mut_ptr(),
        );
        if res[0] < 0 {
            first = res[0];
            break;
        }
    }
    assert_eq!(first, i64::from(SOCKRT_E_CONNECTION_RESET));
    assert_eq!(res[1], 1000);
    // Bad arguments: nothing sent, clear error.
    assert_eq!(
        sockrt_send_many(
            std::ptr::null(),
            1,
            msg.as_ptr().cast(),
            1,
            res.as_mut_ptr()
        ),
        i64::from(SOCKRT_E_INVALID_ARGUMENT)
    );
    assert_eq!(
        sockrt_send_many(
            two.as_ptr(),
            2,
            msg.as_ptr().cast(),
            1,
            std::ptr::null_mut()
        ),
        i64::from(SOCKRT_E_INVALID_ARGUMENT)
    );
    assert_eq!(
        sockrt_send_many(two.as_ptr(), 2, std::ptr::null(), 1, res.as_mut_ptr()),
        i64::from(SOCKRT_E_INVALID_ARGUMENT)
    );
    assert_eq!(
        sockrt_send_many(
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            std::ptr::null_mut()
        ),
        0
    );
    for h in handles.into_iter().chain([reset]) {
        sockrt_close(h);
    }
}

#[test]
fn closed_reports_fill_a_small_wait_and_the_rest_come_next() {
    let p = poller();
    let mut conns = Vec::new();
    for i in 0..5u64 {
        let (h, peer) = pair();
        assert_eq!(sockrt_poller_add(p, h, IN, i), SOCKRT_OK);
        conns.push((h, peer));
    }
    for (h, _) in &conns {
        sockrt_close(*h);
    }
    let mut evs = [sockrt_poll_event::default(); 2];
    let mut got = Vec::new();
    for _ in 0..3 {
        let n = sockrt_poller_wait(p, evs.as_mut_ptr(), 2, 1000);
        assert!(n > 0, "wait failed or timed out: {n}");
        got.extend(evs[..n as usize].iter().map(|e| (e.token, e.events)));
    }
    got.sort();
    assert_eq!(
        got,
        (0..5).map(|i| (i, SOCKRT_POLL_CLOSED)).collect::<Vec<_>>()
    );
    assert_eq!(sockrt_poller_wait(p, evs.as_mut_ptr(), 2, 0), 0);
    sockrt_close(p);
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// A thread blocked in poller_wait, signalled once it is waiting.
fn wait_signalled(interruptible: bool) -> (i32, Duration) {
    // SAFETY: installs a no-op handler for SIGUSR2 without SA_RESTART, so a
    // blocked epoll_wait sees EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut());
    }
    let p = poller();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        sockrt_set_interruptible(i32::from(interruptible));
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        let mut evs = [sockrt_poll_event::default(); 2];
        let start = Instant::now();
        let rc = sockrt_poller_wait(p, evs.as_mut_ptr(), 2, 600);
        (rc, start.elapsed())
    });
    let thread = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: the thread is alive (it waits up to 600 ms).
    unsafe { libc::pthread_kill(thread, libc::SIGUSR2) };
    let out = waiter.join().unwrap();
    sockrt_close(p);
    out
}

#[test]
fn a_signal_ends_the_wait_only_for_a_thread_that_asked() {
    let (rc, took) = wait_signalled(true);
    assert_eq!(rc, SOCKRT_E_INTERRUPTED);
    assert!(took < Duration::from_millis(500), "{took:?}");
    let (rc, took) = wait_signalled(false);
    assert_eq!(rc, 0, "retried until the timeout");
    assert!(took >= Duration::from_millis(550), "{took:?}");
}
