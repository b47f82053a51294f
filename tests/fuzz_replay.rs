//! Replays the committed fuzz corpus (fuzz/corpus/abi) through the same
//! harness the fuzzer runs, so `make test` checks every input on the stable
//! toolchain: no crash, documented codes only, handle and descriptor counts
//! back to their start.
//!
//! The hand-written seeds are produced by `write_seed_corpus` (ignored):
//!     cargo test --release --test fuzz_replay -- --ignored write_seed_corpus

#[path = "../fuzz/harness.rs"]
mod harness;

use harness::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Tests here share the process-wide handle and descriptor counts.
static SERIAL: Mutex<()> = Mutex::new(());

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/abi")
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus/abi exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every call the harness can make; each must be reached by the corpus.
const CALLS: [&str; 30] = [
    "socket",
    "tcp_listen",
    "udp_bind",
    "tcp_connect",
    "bind",
    "listen",
    "accept",
    "connect",
    "send",
    "send_all",
    "recv",
    "recv_exact",
    "send_to",
    "recv_from",
    "shutdown",
    "set_option",
    "get_option",
    "local_addr",
    "peer_addr",
    "fileno",
    "poll",
    "close",
    "pool_open",
    "pool_acquire",
    "pool_release",
    "pool_discard",
    "pool_was_reused",
    "pool_get_stats",
    "pool_close",
    "error_info",
];

#[test]
fn corpus_replays_without_a_broken_invariant() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let files = corpus();
    assert!(
        !files.is_empty() && files.len() < 200,
        "{} corpus files",
        files.len()
    );
    let mut reached = Coverage::new();
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        match run(&data) {
            Ok(coverage) => {
                for (call, (ok, err)) in coverage {
                    let e = reached.entry(call).or_default();
                    e.0 += ok;
                    e.1 += err;
                }
            }
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<_> = CALLS.iter().filter(|c| !reached.contains_key(*c)).collect();
    assert!(missing.is_empty(), "the corpus never calls {missing:?}");
    // The seeds drive each call to succeed at least once, not only to fail.
    let never_ok: Vec<_> = CALLS
        .iter()
        .filter(|c| reached.get(*c).is_none_or(|(ok, _)| *ok == 0))
        .collect();
    assert!(never_ok.is_empty(), "never succeeded: {never_ok:?}");
}

#[test]
fn harness_reports_a_handle_leaked_outside_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let program = Seed::new().op(OP_SOCKET).b(0).b(0).b(0).0;
    run(&program).expect("a clean run first fixes the baseline");
    let mut leaked = 0u64;
    let rc = sockrt::ffi::sockrt_socket(
        sockrt::ffi::SOCKRT_INET,
        sockrt::ffi::SOCKRT_STREAM,
        &mut leaked,
    );
    assert_eq!(rc, 0);
    let err = run(&program).expect_err("an extra open handle must be reported");
    assert!(err.contains("handles"), "{err}");
    assert_eq!(sockrt::ffi::sockrt_close(leaked), 0);
    run(&program).expect("clean again once the handle is closed");
}

// ---- regressions for core bugs found by fuzzing -------------------------------

/// Regression: the library used to get this wrong. Found by the fuzzer
/// (input: fuzz/findings/connect-after-timed-out-connect).
/// A connect that timed out leaves the kernel connecting; the library resets
/// the socket to "not connected" (recv says SOCKRT_E_NOT_CONNECTED) while the
/// kernel socket is connected (shutdown succeeds), and a second connect then
/// fails with EISCONN mapped to SOCKRT_E_IO, which the header does not list
/// for connect (it promises SOCKRT_E_INVALID_STATE for "already connected").
#[test]
fn connect_after_a_timed_out_connect_is_invalid_state() {
    use sockrt::ffi::*;
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (mut listener, mut s, mut port) = (0, 0, 0u16);
    assert_eq!(
        sockrt_tcp_listen(c"127.0.0.1".as_ptr(), 0, 16, &mut listener),
        0
    );
    assert_eq!(
        sockrt_local_addr(listener, std::ptr::null_mut(), 0, &mut port),
        0
    );
    assert_eq!(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &mut s), 0);
    let first = sockrt_connect(s, c"127.0.0.1".as_ptr(), port, 0);
    assert_eq!(
        first, SOCKRT_E_IN_PROGRESS,
        "a zero-timeout connect on loopback goes on in the background"
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut b = [0u8; 4];
    // The background connect has finished: the socket is connected, and
    // nothing was sent yet.
    let recv = sockrt_recv_flags(s, b.as_mut_ptr().cast(), 4, SOCKRT_MSG_DONTWAIT);
    assert_eq!(recv, i64::from(SOCKRT_E_WOULD_BLOCK));
    let shut = sockrt_shutdown(s, SOCKRT_SHUT_READ);
    let second = sockrt_connect(s, c"127.0.0.1".as_ptr(), port, 1000);
    let os = sockrt_last_os_error();
    sockrt_close(s);
    sockrt_close(listener);
    assert!(
        second == SOCKRT_OK || second == SOCKRT_E_INVALID_STATE,
        "recv {recv}, shutdown {shut}, then connect returned {second} (errno {os})"
    );
    // The fuzzer's own input must replay clean too.
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/findings/connect-after-timed-out-connect");
    run(&std::fs::read(input).unwrap()).unwrap();
}

/// Regression: the library used to get this wrong. Found by the fuzzer
/// (input: fuzz/findings/accept-after-shutdown-of-listener).
/// sockrt_shutdown on a listening socket succeeds (the header describes it for
/// connected sockets only) and silently stops the listener; the next accept
/// fails with EINVAL as SOCKRT_E_IO, a code the header does not list for
/// accept. Expected: shutdown refuses a listener (SOCKRT_E_NOT_CONNECTED or
/// SOCKRT_E_INVALID_STATE), or accept reports SOCKRT_E_INVALID_STATE.
#[test]
fn shutdown_of_a_listener_is_refused_and_accept_keeps_working() {
    use sockrt::ffi::*;
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let mut listener = 0;
    assert_eq!(
        sockrt_tcp_listen(c"127.0.0.1".as_ptr(), 0, 16, &mut listener),
        0
    );
    assert_eq!(
        sockrt_set_option(listener, SOCKRT_OPT_READ_TIMEOUT_MS, 50),
        0
    );
    let shut = sockrt_shutdown(listener, SOCKRT_SHUT_READ);
    let mut conn = 0;
    let accept = sockrt_accept(listener, &mut conn);
    let os = sockrt_last_os_error();
    sockrt_close(listener);
    assert!(
        shut != SOCKRT_OK || accept == SOCKRT_E_INVALID_STATE,
        "shutdown of a listener returned {shut}, then accept {accept} (errno {os})"
    );
}

// ---- the hand-written seeds -------------------------------------------------

/// Sets read and write timeouts of live handle `k` to `ms` (raw value).
fn timeouts(s: Seed, k: u8, ms: u64) -> Seed {
    let s = s
        .op(OP_SET_OPTION)
        .live(k)
        .b(1)
        .b(7)
        .bytes(&ms.to_le_bytes());
    s.op(OP_SET_OPTION)
        .live(k)
        .b(2)
        .b(7)
        .bytes(&ms.to_le_bytes())
}

/// Waits (poll, 20 ms at most) until live handle `k` is readable.
fn wait_readable(s: Seed, k: u8) -> Seed {
    s.op(OP_POLL).b(1).b(0).b(2).live(k).b(1)
}

fn seeds() -> Vec<(&'static str, Seed)> {
    let s = Seed::new;
    vec![
        (
            "echo-round-trip",
            timeouts(
                s().op(OP_TCP_CONNECT).b(HOST_V4).b(PORT_ECHO).b(2).b(0),
                0,
                200,
            )
            .op(OP_SEND)
            .live(0)
            .b(LEN_BYTE)
            .b(200)
            .b(F_ALL)
            .op(OP_SEND)
            .live(0)
            .b(LEN_U16)
            .bytes(&3000u16.to_le_bytes())
            .b(0)
            .op(OP_RECV)
            .live(0)
            .b(LEN_BYTE)
            .b(200)
            .b(F_ALL)
            .op(OP_RECV)
            .live(0)
            .b(LEN_BYTE)
            .b(100)
            .b(0)
            .op(OP_ADDR)
            .live(0)
            .b(1)
            .b(3)
            .op(OP_CLOSE)
            .live(0),
        ),
        ("classic-flow", {
            let s = s()
                .op(OP_SOCKET)
                .b(0)
                .b(0)
                .b(0)
                .op(OP_BIND)
                .live(0)
                .b(HOST_V4)
                .b(PORT_ZERO)
                .op(OP_LISTEN)
                .live(0)
                .b(1)
                .op(OP_SOCKET)
                .b(0)
                .b(0)
                .b(0)
                .op(OP_CONNECT)
                .live(1)
                .b(HOST_V4)
                .b(PORT_OF_HANDLE)
                .b(0)
                .b(2);
            let s = timeouts(s, 0, 200).op(OP_ACCEPT).live(0).b(0);
            let s = timeouts(s, 2, 200)
                .op(OP_SEND)
                .live(1)
                .b(LEN_BYTE)
                .b(50)
                .b(F_ALL)
                .op(OP_RECV)
                .live(2)
                .b(LEN_BYTE)
                .b(50)
                .b(F_ALL)
                .op(OP_SHUTDOWN)
                .live(1)
                .b(1)
                .op(OP_RECV)
                .live(2)
                .b(LEN_BYTE)
                .b(10)
                .b(0)
                .op(OP_ADDR)
                .live(2)
                .b(0)
                .b(3)
                .op(OP_FILENO)
                .live(1)
                .op(OP_GET_OPTION)
                .live(1)
                .b(3)
                .b(0);
            s.op(OP_CLOSE)
                .live(2)
                .op(OP_CLOSE)
                .live(1)
                .op(OP_CLOSE)
                .live(0)
        }),
        ("udp", {
            let s = s().op(OP_UDP_BIND).b(HOST_V4).b(PORT_ZERO).b(0);
            let s = timeouts(s, 0, 200)
                .op(OP_SEND_TO)
                .live(0)
                .b(LEN_BYTE)
                .b(32)
                .b(0)
                .b(HOST_V4)
                .b(0);
            let s = wait_readable(s, 0)
                .op(OP_RECV_FROM)
                .live(0)
                .b(LEN_BYTE)
                .b(64)
                .b(0)
                .b(3)
                .op(OP_SOCKET)
                .b(0)
                .b(1)
                .b(0)
                .op(OP_CONNECT)
                .live(1)
                .b(HOST_V4)
                .b(PORT_OF_HANDLE)
                .b(0)
                .b(2)
                .op(OP_SEND)
                .live(1)
                .b(LEN_BYTE)
                .b(8)
                .b(0)
                .op(OP_RECV_FROM)
                .live(0)
                .b(LEN_BYTE)
                .b(64)
                .b(0)
                .b(1)
                .op(OP_SEND_TO)
                .live(0)
                .b(LEN_BYTE)
                .b(4)
                .b(0)
                .b(HOST_V4)
                .b(1);
            s.op(OP_RECV).live(0).b(LEN_BYTE).b(8).b(0)
        }),
        ("pool-reuse-and-exhaust", {
            let open = s()
                .op(OP_POOL_OPEN)
                .b(HOST_V4)
                .b(PORT_ECHO)
                .b(0)
                .bytes(&[2, 2, 2, 2, 0, 0, 0]);
            let s = timeouts(open.op(OP_POOL_ACQUIRE).live(0).b(0), 1, 200)
                .op(OP_SEND)
                .live(1)
                .b(LEN_BYTE)
                .b(16)
                .b(F_ALL)
                .op(OP_RECV)
                .live(1)
                .b(LEN_BYTE)
                .b(16)
                .b(F_ALL)
                .op(OP_POOL_RELEASE)
                .live(0)
                .live(1)
                .b(0)
                .op(OP_POOL_ACQUIRE)
                .live(0)
                .b(0)
                .op(OP_POOL_WAS_REUSED)
                .live(1)
                .op(OP_POOL_ACQUIRE)
                .live(0)
                .b(0)
                .op(OP_POOL_ACQUIRE)
                .live(0)
                .b(0)
                .op(OP_POOL_STATS)
                .live(0)
                .b(0)
                .op(OP_POOL_RELEASE)
                .live(0)
                .live(2)
                .b(F_ALL)
                .op(OP_POOL_RELEASE)
                .live(0)
                .live(0)
                .b(0)
                .op(OP_POOL_CLOSE)
                .live(0)
                .op(OP_POOL_RELEASE)
                .dead(2)
                .live(0)
                .b(0);
            s.op(OP_CLOSE).live(0)
        }),
        (
            "pool-stale-peers",
            s().op(OP_POOL_OPEN)
                .b(HOST_V4)
                .b(PORT_CLOSER)
                .b(0)
                .bytes(&[2, 2, 2, 0, 0, 0, 0])
                .op(OP_POOL_ACQUIRE)
                .live(0)
                .b(0)
                .op(OP_POOL_RELEASE)
                .live(0)
                .live(1)
                .b(0)
                .op(OP_POOL_ACQUIRE)
                .live(0)
                .b(0)
                .op(OP_POOL_STATS)
                .live(0)
                .b(0)
                .op(OP_POOL_OPEN)
                .b(HOST_V4)
                .b(PORT_REFUSED)
                .b(0)
                .bytes(&[1, 1, 2, 0, 0, 0, 0])
                .op(OP_POOL_ACQUIRE)
                .live(2)
                .b(0)
                .op(OP_POOL_OPEN)
                .b(HOST_V4)
                .b(PORT_ECHO)
                .b(4)
                .bytes(&[0; 7])
                .op(OP_CLOSE)
                .live(0),
        ),
        ("bad-handles", {
            let mut s = s().op(OP_SOCKET).b(0).b(0).b(0).op(OP_CLOSE).live(0);
            let tags: [&[u8]; 5] = [
                &[H_ZERO],
                &[H_DEAD, 0],
                &[H_FORGED, 1, 2, 3, 4, 5, 6, 7, 8],
                &[H_MAX],
                &[H_NEXT_INDEX, 0],
            ];
            // Each operation with the argument bytes it reads after the handle.
            let ops: [(u8, &[u8]); 10] = [
                (OP_BIND, &[HOST_V4, PORT_ZERO]),
                (OP_LISTEN, &[0]),
                (OP_ACCEPT, &[0]),
                (OP_SEND, &[LEN_ONE, 0]),
                (OP_RECV, &[LEN_ONE, 0]),
                (OP_SHUTDOWN, &[0]),
                (OP_FILENO, &[]),
                (OP_CLOSE, &[]),
                (OP_POOL_ACQUIRE, &[0]),
                (OP_POOL_CLOSE, &[]),
            ];
            for tag in tags {
                for (op, args) in ops {
                    s = s.op(op).bytes(tag).bytes(args);
                }
            }
            s
        }),
        (
            "wrong-kind",
            s().op(OP_POOL_OPEN)
                .b(HOST_V4)
                .b(PORT_ECHO)
                .b(0)
                .bytes(&[2, 2, 2, 2, 0, 0, 0])
                .op(OP_SOCKET)
                .b(0)
                .b(1)
                .b(0)
                .op(OP_RECV)
                .live(0)
                .b(LEN_ONE)
                .b(0)
                .op(OP_LISTEN)
                .live(1)
                .b(0)
                .op(OP_POOL_ACQUIRE)
                .live(1)
                .b(0)
                .op(OP_POOL_STATS)
                .live(1)
                .b(0)
                .op(OP_POOL_RELEASE)
                .live(0)
                .live(1)
                .b(0)
                .op(OP_POOL_RELEASE)
                .live(1)
                .live(0)
                .b(0)
                .op(OP_SET_OPTION)
                .live(1)
                .b(3)
                .b(1)
                .op(OP_SEND_TO)
                .live(0)
                .b(LEN_ONE)
                .b(0)
                .b(HOST_V4)
                .b(0)
                .op(OP_POOL_CLOSE)
                .live(1)
                .op(OP_POLL)
                .b(1)
                .b(0)
                .b(0)
                .live(0)
                .b(1),
        ),
        (
            "null-and-extreme-arguments",
            s().op(OP_TCP_CONNECT)
                .b(HOST_V4)
                .b(PORT_ECHO)
                .b(2)
                .b(0)
                .op(OP_SEND)
                .live(0)
                .b(LEN_BYTE)
                .b(10)
                .b(F_NULL)
                .op(OP_SEND)
                .live(0)
                .b(LEN_USIZE_MAX)
                .b(0)
                .op(OP_SEND)
                .live(0)
                .b(LEN_ISIZE_MAX_PLUS_1)
                .b(F_ALL)
                .op(OP_RECV)
                .live(0)
                .b(LEN_ISIZE_MAX)
                .b(F_ALL)
                .op(OP_RECV)
                .live(0)
                .b(LEN_USIZE_MAX)
                .b(0)
                .op(OP_RECV)
                .live(0)
                .b(LEN_ZERO)
                .b(F_NULL)
                .op(OP_SEND)
                .live(0)
                .b(LEN_ZERO)
                .b(F_NULL | F_ALL)
                .op(OP_POLL)
                .b(4)
                .b(0)
                .b(0)
                .op(OP_POLL)
                .b(1)
                .b(3)
                .b(0)
                .live(0)
                .b(1)
                .op(OP_GET_OPTION)
                .live(0)
                .b(1)
                .b(F_NULL)
                .op(OP_SET_OPTION)
                .live(0)
                .b(11)
                .b(1)
                .op(OP_SET_OPTION)
                .live(0)
                .b(9)
                .b(4)
                .op(OP_SHUTDOWN)
                .live(0)
                .b(3)
                .op(OP_SOCKET)
                .b(2)
                .b(0)
                .b(0)
                .op(OP_SOCKET)
                .b(0)
                .b(0)
                .b(F_NULL)
                .op(OP_TCP_CONNECT)
                .b(HOST_NULL)
                .b(PORT_ECHO)
                .b(0)
                .b(0)
                .op(OP_TCP_CONNECT)
                .b(8)
                .b(PORT_ECHO)
                .b(0)
                .b(0)
                .op(OP_TCP_LISTEN)
                .b(6)
                .b(PORT_ZERO)
                .b(0)
                .b(0)
                .op(OP_UDP_BIND)
                .b(HOST_V4)
                .b(PORT_ZERO)
                .b(F_NULL)
                .op(OP_ADDR)
                .live(0)
                .b(0)
                .b(1)
                .op(OP_ERROR_INFO)
                .b(13)
                .b(2)
                .b(0)
                .op(OP_ERROR_INFO)
                .b(210)
                .b(0)
                .b(F_NULL),
        ),
        ("stall-reset-close", {
            let s = s()
                .op(OP_TCP_CONNECT)
                .b(HOST_V4)
                .b(PORT_STALL)
                .b(2)
                .b(0)
                .op(OP_SEND)
                .live(0)
                .b(LEN_MIB)
                .b(F_ALL)
                .op(OP_SEND)
                .live(0)
                .b(LEN_MIB)
                .b(0)
                .op(OP_TCP_CONNECT)
                .b(HOST_V4)
                .b(PORT_RESETTER)
                .b(2)
                .b(0)
                .op(OP_TCP_CONNECT)
                .b(HOST_V4)
                .b(PORT_CLOSER)
                .b(2)
                .b(0);
            let s = timeouts(s, 1, 200);
            let s = timeouts(s, 2, 200)
                .op(OP_RECV)
                .live(1)
                .b(LEN_BYTE)
                .b(10)
                .b(F_ALL)
                .op(OP_SEND)
                .live(1)
                .b(LEN_BYTE)
                .b(10)
                .b(F_ALL)
                .op(OP_RECV)
                .live(2)
                .b(LEN_BYTE)
                .b(100)
                .b(F_ALL)
                .op(OP_TCP_CONNECT)
                .b(HOST_V4)
                .b(PORT_REFUSED)
                .b(3)
                .b(0)
                .op(OP_CLOSE_WHILE_BLOCKED)
                .live(0)
                .b(0)
                .op(OP_TCP_LISTEN)
                .b(HOST_V4)
                .b(PORT_ZERO)
                .b(0)
                .b(0);
            s.op(OP_CLOSE_WHILE_BLOCKED).live(2).b(1)
        }),
        (
            "ipv6-and-names",
            s().op(OP_TCP_LISTEN)
                .b(HOST_V6)
                .b(PORT_ZERO)
                .b(0)
                .b(0)
                .op(OP_TCP_CONNECT)
                .b(2)
                .b(PORT_OF_HANDLE)
                .b(0)
                .b(2)
                .b(0)
                .op(OP_TCP_CONNECT)
                .b(3)
                .b(PORT_ECHO)
                .b(2)
                .b(0)
                .op(OP_SOCKET)
                .b(1)
                .b(0)
                .b(0)
                .op(OP_BIND)
                .live(3)
                .b(HOST_V4)
                .b(PORT_ZERO)
                .op(OP_CONNECT)
                .live(3)
                .b(9)
                .b(PORT_ECHO)
                .b(2)
                .op(OP_TCP_LISTEN)
                .b(HOST_V4)
                .b(PORT_ECHO)
                .b(0)
                .b(0),
        ),
    ]
}

#[test]
#[ignore = "writes the seed corpus; run by hand after changing the harness"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, seed) in seeds() {
        std::fs::write(dir.join(format!("seed-{name}")), &seed.0).unwrap();
    }
}
