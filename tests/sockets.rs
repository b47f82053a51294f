//! The socket runtime against real loopback peers.

mod common;

use sockrt::error::ErrorKind;
use sockrt::registry;
use sockrt::socket::{ShutdownHow, SockOption};
use sockrt::{Family, Kind, Socket};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn listener() -> (Socket, u16) {
    let l = Socket::tcp_listen("127.0.0.1", 0, 16).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn classic_flow_step_by_step_in_two_threads() {
    let server = Socket::new(Family::Inet, Kind::Stream).unwrap();
    server.bind("127.0.0.1", 0).unwrap();
    server.listen(4).unwrap();
    let port = server.local_addr().unwrap().port();
    let server_thread = std::thread::spawn(move || {
        let conn = server.accept().unwrap();
        assert!(server.is_listening(), "the listener keeps listening");
        let mut buf = vec![0u8; 100_000];
        conn.recv_exact(&mut buf).unwrap();
        conn.send_all(&buf).unwrap();
        let mut rest = [0u8; 1];
        assert_eq!(conn.recv(&mut rest).unwrap(), 0, "orderly EOF");
    });
    let client = Socket::new(Family::Inet, Kind::Stream).unwrap();
    client.connect("127.0.0.1", port, 2000).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    client.send_all(&data).unwrap();
    let mut back = vec![0u8; data.len()];
    client.recv_exact(&mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(client.peer_addr().unwrap().port(), port);
    client.shutdown(ShutdownHow::Write).unwrap();
    server_thread.join().unwrap();
}

#[test]
fn udp_round_trip() {
    let a = Socket::udp_bind("127.0.0.1", 0).unwrap();
    let b = Socket::udp_bind("127.0.0.1", 0).unwrap();
    let b_port = b.local_addr().unwrap().port();
    assert_eq!(a.send_to(b"ping", "127.0.0.1", b_port).unwrap(), 4);
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from.port(), a.local_addr().unwrap().port());
    b.send_to(b"pong", "127.0.0.1", from.port()).unwrap();
    let (n, _) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong");
}

#[test]
fn ipv6_loopback_when_available() {
    let l = match Socket::tcp_listen("::1", 0, 4) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::AddressNotAvailable => {
            eprintln!("SKIP: no ::1 on this machine ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let port = l.local_addr().unwrap().port();
    let c = Socket::tcp_connect("::1", port, 2000).unwrap();
    let s = l.accept().unwrap();
    c.send_all(b"six").unwrap();
    let mut buf = [0u8; 3];
    s.recv_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"six");
    assert_eq!(c.family(), Family::Inet6);
}

fn assert_times_out(result: sockrt::Result<impl std::fmt::Debug>, started: Instant, ms: u64) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(ms * 8 / 10),
        "too early: {took:?}"
    );
    assert!(
        took < Duration::from_millis(ms + 2000),
        "too late: {took:?}"
    );
}

#[test]
fn recv_and_accept_time_out() {
    let (l, port) = listener();
    l.set_option(SockOption::ReadTimeoutMs, 100).unwrap();
    let started = Instant::now();
    assert_times_out(l.accept().map(|_| ()), started, 100);

    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    c.set_option(SockOption::ReadTimeoutMs, 100).unwrap();
    let mut buf = [0u8; 4];
    let started = Instant::now();
    assert_times_out(c.recv(&mut buf), started, 100);
    let started = Instant::now();
    assert_times_out(c.recv_exact(&mut buf), started, 100);
    assert!(c.is_broken(), "a timed-out stream is out of step");
}

#[test]
fn zero_timeout_does_not_wait() {
    let (_l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    c.set_option(SockOption::ReadTimeoutMs, 0).unwrap();
    let started = Instant::now();
    let err = c.recv(&mut [0u8; 1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(50));
}

#[test]
fn connect_times_out_against_a_full_backlog() {
    // A listener that never accepts, with the smallest backlog: once its
    // queue is full the kernel drops further SYNs and connects hang.
    let l = Socket::tcp_listen("127.0.0.1", 0, 1).unwrap();
    let port = l.local_addr().unwrap().port();
    let mut held = Vec::new();
    for _ in 0..16 {
        let started = Instant::now();
        match Socket::tcp_connect("127.0.0.1", port, 150) {
            Ok(s) => held.push(s),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
                assert!(started.elapsed() >= Duration::from_millis(120));
                assert!(started.elapsed() < Duration::from_secs(3));
                return;
            }
        }
    }
    panic!("16 connects to a full backlog all succeeded");
}

#[test]
fn eof_refused_reset_and_unresolvable() {
    // EOF before recv_exact completes.
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let s = l.accept().unwrap();
    s.send_all(b"ab").unwrap();
    drop(s);
    let err = c.recv_exact(&mut [0u8; 4]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Eof, "{err}");
    assert!(err.message().contains("2 of 4"), "{err}");

    // Refused: nothing listens on a port we just closed.
    drop(l);
    let err = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(err.os_error(), libc::ECONNREFUSED);
    assert!(
        err.message().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );

    // Reset: the peer closes with our bytes unread, which sends RST.
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let s = l.accept().unwrap();
    c.send_all(b"unread").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(s);
    std::thread::sleep(Duration::from_millis(20));
    let err = c.recv(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");

    let err = Socket::tcp_connect("no-such-host.invalid", 80, 1000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Resolve);
}

#[test]
fn writing_to_a_reset_peer_is_an_error_not_sigpipe() {
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let s = l.accept().unwrap();
    c.send_all(b"unread").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(s);
    let chunk = [0u8; 4096];
    let mut last = None;
    for _ in 0..100 {
        if let Err(e) = c.send_all(&chunk) {
            last = Some(e);
            break;
        }
    }
    assert_eq!(last.expect("send fails").kind(), ErrorKind::ConnectionReset);
}

/// Runs `blocked` in a thread, closes the socket's handle once the thread is
/// really blocked in its call, and returns the result and how long the
/// wake-up took.
fn close_while_blocked<T: Send + 'static>(
    socket: Socket,
    blocked: impl FnOnce(&Socket) -> sockrt::Result<T> + Send + 'static,
) -> (sockrt::Result<T>, Duration) {
    let handle = registry::insert_socket(socket, "test").unwrap();
    let Ok(registry::Object::Socket(sock)) = registry::get(handle, "test") else {
        panic!("socket handle")
    };
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        tid_tx.send(common::thread_id()).unwrap();
        let r = blocked(&sock);
        (r, Instant::now())
    });
    let tid = tid_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    common::wait_until_blocked(tid);
    let closed_at = Instant::now();
    registry::close(handle).unwrap();
    let (result, woke_at) = worker.join().unwrap();
    (result, woke_at.saturating_duration_since(closed_at))
}

#[test]
fn close_wakes_blocked_recv_send_accept_and_connect() {
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let _s = l.accept().unwrap();
    let (r, took) = close_while_blocked(c, |s| s.recv(&mut [0u8; 8]));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    eprintln!("recv woke {took:?} after close");
    assert!(took < Duration::from_millis(500), "{took:?}");

    let (r, took) = close_while_blocked(l, |s| s.accept().map(|_| ()));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    eprintln!("accept woke {took:?} after close");
    assert!(took < Duration::from_millis(500));

    // send blocks once the peer's window and our buffer are full.
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    c.set_option(SockOption::SendBuffer, 4096).unwrap();
    let _s = l.accept().unwrap();
    let (r, took) = close_while_blocked(c, |s| {
        let chunk = vec![0u8; 1 << 20];
        loop {
            s.send_all(&chunk)?;
        }
    });
    let r: sockrt::Result<()> = r;
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    eprintln!("send_all woke {took:?} after close");

    // connect blocks against a full backlog.
    let full = Socket::tcp_listen("127.0.0.1", 0, 1).unwrap();
    let port = full.local_addr().unwrap().port();
    let fillers: Vec<_> = (0..4)
        .filter_map(|_| Socket::tcp_connect("127.0.0.1", port, 100).ok())
        .collect();
    let c = Socket::new(Family::Inet, Kind::Stream).unwrap();
    let (r, _) = close_while_blocked(c, move |s| s.connect("127.0.0.1", port, 10_000));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    drop(fillers);
}

#[test]
fn send_all_calls_never_interleave() {
    let (l, port) = listener();
    let c = Arc::new(Socket::tcp_connect("127.0.0.1", port, 1000).unwrap());
    let s = l.accept().unwrap();
    const BLOCK: usize = 64 * 1024;
    let senders: Vec<_> = (0..4u8)
        .map(|id| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for _ in 0..8 {
                    c.send_all(&vec![id; BLOCK]).unwrap();
                }
            })
        })
        .collect();
    let mut block = vec![0u8; BLOCK];
    for _ in 0..32 {
        s.recv_exact(&mut block).unwrap();
        assert!(block.iter().all(|&b| b == block[0]), "interleaved block");
    }
    for t in senders {
        t.join().unwrap();
    }
}

#[test]
fn state_errors() {
    let (l, _) = listener();
    assert_eq!(l.listen(1).unwrap_err().kind(), ErrorKind::InvalidState);
    assert_eq!(
        l.recv(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::InvalidState
    );
    let fresh = Socket::new(Family::Inet, Kind::Stream).unwrap();
    assert_eq!(fresh.accept().unwrap_err().kind(), ErrorKind::InvalidState);
    let udp = Socket::udp_bind("127.0.0.1", 0).unwrap();
    assert_eq!(udp.listen(1).unwrap_err().kind(), ErrorKind::WrongKind);
    assert_eq!(
        udp.set_option(SockOption::NoDelay, 1).unwrap_err().kind(),
        ErrorKind::WrongKind
    );
    assert_eq!(
        fresh
            .set_option(SockOption::BusyPollUs, -1)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn options_round_trip() {
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let _s = l.accept().unwrap();
    for (opt, value) in [
        (SockOption::ReadTimeoutMs, 250),
        (SockOption::WriteTimeoutMs, -1),
        (SockOption::NoDelay, 1),
        (SockOption::KeepAlive, 1),
        (SockOption::ReuseAddr, 1),
        (SockOption::BusyPollUs, 50),
    ] {
        c.set_option(opt, value).unwrap();
        assert_eq!(c.get_option(opt).unwrap(), value, "{opt:?}");
    }
    c.set_option(SockOption::RecvBuffer, 65536).unwrap();
    assert!(c.get_option(SockOption::RecvBuffer).unwrap() >= 65536);
}

#[test]
fn busy_poll_still_receives() {
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let s = l.accept().unwrap();
    c.set_option(SockOption::BusyPollUs, 200).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        s.send_all(b"late").unwrap();
        s
    });
    let mut buf = [0u8; 4];
    c.recv_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
    t.join().unwrap();
}

#[test]
fn poll_reports_readiness_and_timeout() {
    use sockrt::poll::{poll, PollEntry};
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let s = l.accept().unwrap();
    let mut entries = [PollEntry {
        socket: &c,
        wanted: 1,
        ready: 0,
    }];
    assert_eq!(poll(&mut entries, 20).unwrap(), 0);
    s.send_all(b"x").unwrap();
    let mut entries = [PollEntry {
        socket: &c,
        wanted: 1,
        ready: 0,
    }];
    assert_eq!(poll(&mut entries, 1000).unwrap(), 1);
    assert_eq!(entries[0].ready & 1, 1);
}

#[test]
fn descriptors_are_close_on_exec_and_released() {
    let before = common::open_fds();
    for _ in 0..200 {
        let (l, port) = listener();
        let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
        let s = l.accept().unwrap();
        for fd in [l.fileno(), c.fileno(), s.fileno()] {
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert!(flags & libc::FD_CLOEXEC != 0);
        }
        // Block once: waits use this thread's wake eventfd, not the socket's.
        c.set_option(SockOption::ReadTimeoutMs, 1).unwrap();
        let _ = c.recv(&mut [0u8; 1]);
    }
    // Other tests open and close sockets in this process meanwhile, so
    // compare loosely: a leak here would leave hundreds (3 per round).
    let after = common::open_fds();
    assert!(
        after < before + 50,
        "{after} descriptors open, {before} before"
    );
    // One eventfd per thread that blocked (other tests run alongside), never
    // one per socket: 200 rounds of sockets that each waited.
    assert!(
        common::open_eventfds() < 20,
        "sockets own no wake descriptor"
    );
}

#[test]
fn zero_capacity_stream_recv_returns_at_once() {
    let (l, port) = listener();
    let c = Socket::tcp_connect("127.0.0.1", port, 1000).unwrap();
    let _s = l.accept().unwrap();
    let started = Instant::now();
    assert_eq!(c.recv(&mut []).unwrap(), 0);
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(!c.is_broken(), "an empty read is not an end of stream");
}

#[test]
fn bind_after_an_implicit_bind_is_invalid_state() {
    // Found by fuzzing: send_to binds an unbound UDP socket to a free port,
    // so a later bind must be refused as a state error, not fail with EINVAL.
    let peer = Socket::udp_bind("127.0.0.1", 0).unwrap();
    let port = peer.local_addr().unwrap().port();
    let udp = Socket::new(Family::Inet, Kind::Datagram).unwrap();
    udp.send_to(b"x", "127.0.0.1", port).unwrap();
    let err = udp.bind("127.0.0.1", 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
}
