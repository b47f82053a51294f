//! TLS streams (rustls) against each other and against plain, broken and
//! silent peers. Certificates are made at test time by tests/tls/make_certs.sh
//! (the openssl command).

use sockrt::error::ErrorKind;
use sockrt::socket::{ShutdownHow, SockOption};
use sockrt::tls::{TlsConfig, TlsStream, TLS_1_2, TLS_1_3};
use sockrt::Socket;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

fn pki() -> PathBuf {
    static MADE: Once = Once::new();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tls-pki");
    MADE.call_once(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tls/make_certs.sh");
        let status = std::process::Command::new("sh")
            .arg(script)
            .arg(&dir)
            .status()
            .expect("run make_certs.sh (needs the openssl command)");
        assert!(status.success(), "make_certs.sh failed");
    });
    dir
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

fn server_config_of(cert: &str, key: &str) -> Arc<TlsConfig> {
    Arc::new(TlsConfig::server(&read(cert), &read(key)).unwrap())
}

fn server_config() -> Arc<TlsConfig> {
    server_config_of("chain.pem", "server.key")
}

fn client_config() -> Arc<TlsConfig> {
    let c = TlsConfig::client();
    c.use_system_roots(false).unwrap();
    c.add_ca_pem(&read("ca.pem")).unwrap();
    Arc::new(c)
}

fn listener() -> (Socket, u16) {
    let l = Socket::tcp_listen("127.0.0.1", 0, 16).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A TLS echo server for `n` connections; the thread returns each
/// handshake's outcome.
fn echo_server(
    config: Arc<TlsConfig>,
    n: usize,
) -> (u16, std::thread::JoinHandle<Vec<Result<(), ErrorKind>>>) {
    let (l, port) = listener();
    l.set_option(SockOption::ReadTimeoutMs, 10_000).unwrap();
    let t = std::thread::spawn(move || {
        let mut outcomes = Vec::new();
        for _ in 0..n {
            let Ok(sock) = l.accept() else { break };
            match TlsStream::server(Arc::new(sock), &config, 5000, "accept") {
                Ok(tls) => {
                    outcomes.push(Ok(()));
                    let mut buf = vec![0u8; 70_000];
                    loop {
                        match tls.recv(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => {
                                if tls.send_all(&buf[..k]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    tls.close();
                }
                Err(e) => outcomes.push(Err(e.kind())),
            }
        }
        outcomes
    });
    (port, t)
}

#[test]
fn echo_both_versions_info_and_subject() {
    for version in [TLS_1_2, TLS_1_3] {
        let server = TlsConfig::server(&read("chain.pem"), &read("server.key")).unwrap();
        server.add_alpn(b"h2").unwrap();
        server.add_alpn(b"echo/1").unwrap();
        let (port, t) = echo_server(Arc::new(server), 1);
        let client = client_config();
        client.set_versions(version, version).unwrap();
        client.add_alpn(b"echo/1").unwrap();
        let tls = TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 5000).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let tls = Arc::new(tls);
        let sender = {
            let tls = Arc::clone(&tls);
            let data = data.clone();
            std::thread::spawn(move || tls.send_all(&data).unwrap())
        };
        let mut back = vec![0u8; data.len()];
        tls.recv_exact(&mut back).unwrap();
        sender.join().unwrap();
        assert_eq!(back, data);
        let info = tls.info();
        assert_eq!(info.version, version);
        assert_eq!(info.alpn.as_deref(), Some(&b"echo/1"[..]));
        assert!(!info.resumed);
        assert!(info.cipher_suite_name.starts_with(if version == TLS_1_3 {
            "TLS13_"
        } else {
            "TLS_ECDHE_"
        }));
        // The subject, as openssl prints it.
        let expected = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
            .arg(pki().join("server.pem"))
            .output()
            .unwrap();
        let expected = String::from_utf8(expected.stdout).unwrap();
        assert_eq!(
            format!("subject={}", info.peer_subject.unwrap()),
            expected.trim()
        );
        tls.close();
        assert_eq!(t.join().unwrap(), vec![Ok(())]);
    }
}

fn connect_err(
    client: &TlsConfig,
    server: Arc<TlsConfig>,
    name: &str,
) -> (sockrt::Error, Vec<Result<(), ErrorKind>>) {
    let (port, t) = echo_server(server, 1);
    let err = TlsStream::connect("127.0.0.1", port, client, Some(name), 5000).unwrap_err();
    (err, t.join().unwrap())
}

#[test]
fn verification_failures_name_the_reason() {
    let client = client_config();
    let (e, server) = connect_err(
        &client,
        server_config_of("other.pem", "other.key"),
        "localhost",
    );
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(e.message().contains("unknown issuer"), "{e}");
    assert_eq!(
        server,
        vec![Err(ErrorKind::TlsHandshake)],
        "the server sees the alert"
    );

    let (e, _) = connect_err(
        &client,
        server_config_of("expired.pem", "expired.key"),
        "localhost",
    );
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(e.message().contains("expired"), "{e}");

    let (e, _) = connect_err(&client, server_config(), "elsewhere.invalid");
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(e.message().contains("name mismatch"), "{e}");

    // The system roots alone do not know the test CA.
    let system_only = TlsConfig::client();
    let (e, _) = connect_err(&system_only, server_config(), "localhost");
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(e.message().contains("unknown issuer"), "{e}");

    // The dangerous switch lets anything through.
    let blind = TlsConfig::client();
    blind.dangerous_disable_verification().unwrap();
    let (port, t) = echo_server(server_config_of("other.pem", "other.key"), 1);
    let tls =
        TlsStream::connect("127.0.0.1", port, &blind, Some("elsewhere.invalid"), 5000).unwrap();
    tls.send_all(b"ping").unwrap();
    let mut b = [0u8; 4];
    tls.recv_exact(&mut b).unwrap();
    assert_eq!(&b, b"ping");
    tls.close();
    t.join().unwrap();
}

#[test]
fn settings_are_fixed_once_used() {
    let client = client_config();
    let (port, t) = echo_server(server_config(), 1);
    let tls = TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 5000).unwrap();
    let e = client.add_alpn(b"late").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    tls.close();
    t.join().unwrap();
    assert_eq!(
        TlsConfig::server(b"not pem", b"nor this")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let e = TlsConfig::server(&read("server.pem"), &read("client.key")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[test]
fn plain_text_to_a_tls_server_is_a_clear_handshake_error() {
    let (l, port) = listener();
    let config = server_config();
    let t = std::thread::spawn(move || {
        let sock = l.accept().unwrap();
        TlsStream::server(Arc::new(sock), &config, 5000, "accept").unwrap_err()
    });
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let e = t.join().unwrap();
    assert_eq!(e.kind(), ErrorKind::TlsHandshake, "{e}");
    assert!(e.message().contains("plain text"), "{e}");
    assert!(e.message().contains("GET / HTTP/1.1"), "{e}");
    // The client gets an alert or the end of the stream, not a hang.
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest);
}

#[test]
fn tls_to_a_plain_server_is_a_clear_handshake_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut b = [0u8; 512];
        let _ = s.read(&mut b);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_millis(100));
    });
    let e = TlsStream::connect("127.0.0.1", port, &client_config(), Some("localhost"), 5000)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsHandshake, "{e}");
    assert!(e.message().contains("HTTP/1.1 400"), "{e}");
    t.join().unwrap();
}

#[test]
fn truncated_handshake_and_silent_server() {
    // The server reads the ClientHello and closes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut b = [0u8; 512];
        let _ = s.read(&mut b);
        // A record header promising more than is sent.
        let _ = s.write_all(&[0x16, 0x03, 0x03, 0x01, 0x00, 0x02]);
        drop(s);
        // A server that accepts and never answers.
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(700));
        drop(s);
    });
    let client = client_config();
    let e = TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 5000).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsHandshake, "{e}");
    assert!(
        e.message()
            .contains("closed the connection during the handshake"),
        "{e}"
    );
    let started = Instant::now();
    let e = TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 300).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    t.join().unwrap();
}

/// A connected pair: (client TLS stream, server TLS stream).
fn pair(client: &TlsConfig, server: &Arc<TlsConfig>) -> (Arc<TlsStream>, Arc<TlsStream>) {
    let (l, port) = listener();
    let server = Arc::clone(server);
    let t = std::thread::spawn(move || {
        let sock = l.accept().unwrap();
        TlsStream::server(Arc::new(sock), &server, 5000, "accept").unwrap()
    });
    let c = TlsStream::connect("127.0.0.1", port, client, Some("localhost"), 5000).unwrap();
    (Arc::new(c), Arc::new(t.join().unwrap()))
}

#[test]
fn end_of_stream_clean_and_truncated() {
    let client = client_config();
    let server = server_config();
    // close_notify then FIN: a clean end of stream.
    let (c, s) = pair(&client, &server);
    s.send_all(b"bye").unwrap();
    s.shutdown(ShutdownHow::Write).unwrap();
    let mut b = [0u8; 16];
    assert_eq!(c.recv(&mut b).unwrap(), 3);
    assert_eq!(c.recv(&mut b).unwrap(), 0, "close_notify is end of stream");
    let mut four = [0u8; 4];
    assert_eq!(c.recv_exact(&mut four).unwrap_err().kind(), ErrorKind::Eof);
    c.close();
    s.close();

    // FIN without close_notify: truncation.
    let (c, s) = pair(&client, &server);
    s.send_all(b"partial").unwrap();
    s.socket().shutdown(ShutdownHow::Write).unwrap();
    assert_eq!(c.recv(&mut b).unwrap(), 7);
    let e = c.recv(&mut b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsTruncated, "{e}");
    assert!(c.is_broken());
    c.close();
    s.close();
}

#[test]
fn garbage_record_after_the_handshake_is_a_protocol_error() {
    let (c, s) = pair(&client_config(), &server_config());
    // An application-data record that cannot decrypt.
    c.socket()
        .send_all(&[
            0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
        ])
        .unwrap();
    let mut b = [0u8; 16];
    let e = s.recv(&mut b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsProtocol, "{e}");
    // The server sent an alert: the client learns of it.
    c.socket()
        .set_option(SockOption::ReadTimeoutMs, 5000)
        .unwrap();
    let e = c.recv(&mut b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsProtocol, "{e}");
    assert!(e.message().contains("alert"), "{e}");
    c.close();
    s.close();
}

#[test]
fn send_and_recv_in_two_threads_and_close_wakes_both() {
    let (c, s) = pair(&client_config(), &server_config());
    // A receiver blocked on the network does not hold up a sender.
    let receiver = {
        let c = Arc::clone(&c);
        std::thread::spawn(move || {
            let mut b = [0u8; 64];
            let n = c.recv(&mut b).unwrap();
            b[..n].to_vec()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..100u32 {
        c.send_all(&i.to_be_bytes()).unwrap();
    }
    let mut got = [0u8; 400];
    s.recv_exact(&mut got).unwrap();
    assert_eq!(&got[396..], &99u32.to_be_bytes());
    s.send_all(b"hello").unwrap();
    assert_eq!(receiver.join().unwrap(), b"hello");

    // Both directions blocked (the peer reads nothing), then close.
    let blocked_recv = {
        let c = Arc::clone(&c);
        std::thread::spawn(move || {
            let mut b = [0u8; 64];
            c.recv(&mut b).unwrap_err().kind()
        })
    };
    let blocked_send = {
        let c = Arc::clone(&c);
        std::thread::spawn(move || {
            let big = vec![7u8; 64 << 20];
            c.send_all(&big).unwrap_err().kind()
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    c.close();
    assert_eq!(blocked_recv.join().unwrap(), ErrorKind::Closed);
    assert_eq!(blocked_send.join().unwrap(), ErrorKind::Closed);
    assert!(started.elapsed() < Duration::from_secs(2));
    s.close();
}

#[test]
fn read_timeout_applies_to_tls_receives() {
    let (c, s) = pair(&client_config(), &server_config());
    c.socket()
        .set_option(SockOption::ReadTimeoutMs, 150)
        .unwrap();
    let started = Instant::now();
    let mut b = [0u8; 8];
    assert_eq!(c.recv(&mut b).unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(c.recv_exact(&mut b).unwrap_err().kind(), ErrorKind::Timeout);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(280) && took < Duration::from_secs(3),
        "{took:?}"
    );
    c.close();
    s.close();
}

#[test]
fn sessions_resume_for_both_versions() {
    for version in [TLS_1_2, TLS_1_3] {
        let client = client_config();
        client.set_versions(version, version).unwrap();
        let server = server_config();
        let (port, t) = echo_server(Arc::clone(&server), 2);
        let mut resumed = Vec::new();
        for _ in 0..2 {
            let tls =
                TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 5000).unwrap();
            tls.send_all(b"x").unwrap();
            let mut b = [0u8; 1];
            tls.recv_exact(&mut b).unwrap();
            resumed.push(tls.info().resumed);
            tls.close();
        }
        assert_eq!(resumed, vec![false, true], "version {version:#x}");
        t.join().unwrap();
    }
}

#[test]
fn mutual_tls() {
    let server = TlsConfig::server(&read("chain.pem"), &read("server.key")).unwrap();
    server.verify_clients(&read("ca.pem"), true).unwrap();
    let server = Arc::new(server);
    // Without a client certificate: refused.
    let (port, t) = echo_server(Arc::clone(&server), 1);
    let client = client_config();
    client.set_versions(TLS_1_2, TLS_1_2).unwrap();
    let e = TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 5000).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsHandshake, "{e}");
    assert_eq!(t.join().unwrap(), vec![Err(ErrorKind::TlsCertificate)]);
    // With one.
    let (port, t) = echo_server(server, 1);
    let client = client_config();
    client
        .set_client_cert(&read("client.pem"), &read("client.key"))
        .unwrap();
    let tls = TlsStream::connect("127.0.0.1", port, &client, Some("localhost"), 5000).unwrap();
    tls.send_all(b"m").unwrap();
    let mut b = [0u8; 1];
    tls.recv_exact(&mut b).unwrap();
    tls.close();
    assert_eq!(t.join().unwrap(), vec![Ok(())]);
}

// ---- pooled TLS ---------------------------------------------------------

use sockrt::pool::{Lease, Pool, PoolConfig};
use sockrt::stream::Stream;
use sockrt::tls::PoolTls;

fn tls_pool(port: u16, client: &Arc<TlsConfig>) -> Arc<Pool> {
    let config = PoolConfig {
        connect_timeout_ms: 5000,
        acquire_timeout_ms: 5000,
        ..PoolConfig::default()
    };
    let tls = PoolTls {
        config: Arc::clone(client),
        server_name: "localhost".into(),
    };
    Pool::open_with_tls("127.0.0.1", port, config, Some(Arc::new(tls))).unwrap()
}

/// Waits (bounded) until the lease's socket has bytes to read.
fn wait_readable(conn: &Lease) {
    let fd = conn.socket().fileno();
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, 5000) };
    assert_eq!(n, 1, "the server's session tickets never came");
}

/// Waits (bounded) until the peer's next record has reached the lease:
/// decoded already (a close_notify read with the echo), or on the socket.
fn wait_peer_input(conn: &Lease) {
    if !conn.stream().has_buffered_input() {
        wait_readable(conn);
    }
}

#[test]
fn pooled_tls_reuses_connections_although_tickets_arrive_unasked() {
    let (port, t) = echo_server(server_config(), 1);
    let client = client_config();
    client.set_versions(TLS_1_3, TLS_1_3).unwrap();
    let pool = tls_pool(port, &client);
    let conn = pool.acquire().unwrap();
    assert!(conn.is_tls());
    // TLS 1.3 servers send session tickets after the handshake: the idle
    // connection is readable, yet healthy.
    wait_readable(&conn);
    conn.release();
    let conn = pool.acquire().unwrap();
    assert!(conn.was_reused());
    let stream = conn.stream();
    assert!(matches!(stream, Stream::Layered(_)));
    stream.send_all(b"ping").unwrap();
    let mut b = [std::mem::MaybeUninit::new(0u8); 4];
    stream.recv_exact_uninit(&mut b).unwrap();
    // SAFETY: recv_exact filled all four bytes.
    assert_eq!(
        unsafe { std::mem::transmute::<[std::mem::MaybeUninit<u8>; 4], [u8; 4]>(b) },
        *b"ping"
    );
    conn.release();
    let stats = pool.stats();
    assert_eq!(
        (
            stats.created,
            stats.reused,
            stats.closed_stale,
            stats.closed_broken
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(pool.tls_handshakes(), (1, 0));
    pool.close();
    t.join().unwrap();
}

#[test]
fn pooled_tls_drops_a_closed_connection_and_resumes_its_session() {
    // A server that ends each connection with close_notify after one echo.
    let (l, port) = listener();
    l.set_option(SockOption::ReadTimeoutMs, 10_000).unwrap();
    let config = server_config();
    let t = std::thread::spawn(move || {
        let mut resumed = Vec::new();
        for _ in 0..2 {
            let sock = l.accept().unwrap();
            let tls = TlsStream::server(Arc::new(sock), &config, 5000, "accept").unwrap();
            resumed.push(tls.info().resumed);
            let mut b = [0u8; 4];
            tls.recv_exact(&mut b).unwrap();
            tls.send_all(&b).unwrap();
            tls.shutdown(ShutdownHow::Write).unwrap();
            let mut rest = [0u8; 1];
            let _ = tls.recv(&mut rest);
            tls.close();
        }
        resumed
    });
    let client = client_config();
    let pool = tls_pool(port, &client);
    for round in 0..2 {
        let conn = pool.acquire().unwrap();
        assert!(
            !conn.was_reused(),
            "round {round}: a closed connection was handed out"
        );
        let stream = conn.stream();
        stream.send_all(b"once").unwrap();
        let mut b = [std::mem::MaybeUninit::new(0u8); 4];
        stream.recv_exact_uninit(&mut b).unwrap();
        // The server's close_notify follows the echo; the release must see
        // it, not race it.
        wait_peer_input(&conn);
        conn.release();
    }
    let stats = pool.stats();
    assert_eq!(stats.created, 2);
    // Each release found close_notify and closed the connection.
    assert_eq!(
        (stats.closed_broken, stats.closed_stale, stats.reused),
        (2, 0, 0)
    );
    assert_eq!(pool.tls_handshakes(), (1, 1));
    assert_eq!(
        t.join().unwrap(),
        vec![false, true],
        "the server saw the resumption"
    );
    pool.close();
}

#[test]
fn pool_close_cuts_a_pooled_tls_handshake_short() {
    // A server that takes the ClientHello and never answers.
    let (l, port) = listener();
    l.set_option(SockOption::ReadTimeoutMs, 10_000).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let sock = l.accept().unwrap();
        sock.set_option(SockOption::ReadTimeoutMs, 10_000).unwrap();
        let mut header = [0u8; 5];
        sock.recv_exact(&mut header).unwrap();
        tx.send(header[0]).unwrap();
        // Until the client's end goes away (bounded by the read timeout).
        let mut rest = [0u8; 4096];
        while matches!(sock.recv(&mut rest), Ok(n) if n > 0) {}
    });
    let client = client_config();
    let pool = tls_pool(port, &client);
    let acquiring = Arc::clone(&pool);
    let started = Instant::now();
    let acquirer = std::thread::spawn(move || acquiring.acquire().map(|lease| lease.is_tls()));
    // 22: a handshake record, so the acquire is in the TLS handshake now.
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 22);
    pool.close();
    let err = acquirer.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolClosed, "{err}");
    // Well before the 5 s connect timeout that bounds the handshake.
    assert!(started.elapsed() < Duration::from_secs(4));
    server.join().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.in_use, stats.idle, stats.created), (0, 0, 0));
    assert_eq!(pool.tls_handshakes(), (0, 0));
}

// ---- random input: never a hang, a panic or a wrong kind of error ---------

/// xorshift64*: deterministic bytes for reproducible runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % (max + 1);
        let mut v: Vec<u8> = (0..n).map(|_| self.next() as u8).collect();
        // Half the time, look like a TLS record header so the parser goes deeper.
        if v.len() >= 5 && self.next().is_multiple_of(2) {
            v[0] = [0x14, 0x15, 0x16, 0x17][(self.next() % 4) as usize];
            v[1] = 3;
            v[2] = (self.next() % 5) as u8;
            let len = (v.len() - 5).min(0x4000) as u16;
            v[3..5].copy_from_slice(&len.to_be_bytes());
        }
        v
    }
}

#[test]
fn random_bytes_to_a_tls_server_and_from_a_tls_peer_end_in_clear_errors() {
    let server_cfg = server_config();
    let client_cfg = client_config();
    let mut rng = Rng(0x5eed_1234_9876_abcd);
    let tls_kinds = [
        ErrorKind::TlsHandshake,
        ErrorKind::TlsCertificate,
        ErrorKind::ConnectionReset,
        ErrorKind::Timeout,
    ];
    for round in 0..40 {
        let garbage = rng.bytes(600);
        // Our server reads garbage from a client.
        let (l, port) = listener();
        let cfg = Arc::clone(&server_cfg);
        let t = std::thread::spawn(move || {
            let sock = l.accept().unwrap();
            TlsStream::server(Arc::new(sock), &cfg, 500, "accept").map(|_| ())
        });
        let mut raw = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = raw.write_all(&garbage);
        drop(raw); // the end of the stream right after
        let e = t.join().unwrap().unwrap_err();
        assert!(tls_kinds.contains(&e.kind()), "round {round}: {e}");

        // Our client reads garbage from a server.
        let lst = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = lst.local_addr().unwrap().port();
        let reply = rng.bytes(600);
        let t = std::thread::spawn(move || {
            let (mut s, _) = lst.accept().unwrap();
            let mut hello = [0u8; 1024];
            let _ = s.read(&mut hello);
            let _ = s.write_all(&reply);
        });
        let e =
            TlsStream::connect("127.0.0.1", port, &client_cfg, Some("localhost"), 500).unwrap_err();
        assert!(tls_kinds.contains(&e.kind()), "round {round}: {e}");
        t.join().unwrap();
    }
}

#[test]
fn random_pem_is_refused_as_invalid_argument() {
    let mut rng = Rng(42);
    let config = TlsConfig::client();
    for _ in 0..200 {
        let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        pem.extend(rng.bytes(300).iter().map(|b| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="[(*b % 65) as usize]
        }));
        pem.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
        for input in [pem.as_slice(), rng.bytes(300).as_slice()] {
            if let Err(e) = config.add_ca_pem(input) {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            }
            let e = TlsConfig::server(input, input).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        }
    }
}
