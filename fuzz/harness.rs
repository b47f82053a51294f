//! Decodes a byte string into a sequence of C ABI calls and runs them against
//! loopback peers, checking invariants after every step.
//!
//! Shared by the cargo-fuzz target (fuzz/fuzz_targets/abi.rs) and the replay
//! test (tests/fuzz_replay.rs), so it uses only `sockrt`, `libc` and std.
//!
//! Input format: a stream of operations, each an opcode byte followed by the
//! argument bytes that operation reads (see [`Exec::step`]). Reading past the
//! end yields zeros, so every byte string is a valid program. [`Seed`] writes
//! programs in the same format, for the committed seed corpus.
//!
//! Invariants checked after every step:
//! - no panic reaches the caller, no crash (the sanitizer sees memory errors);
//! - every failure is one of the codes the header documents for that call,
//!   never SOCKRT_E_PANIC, and sockrt_last_error() returns it with a message;
//! - zero, closed and forged handles are SOCKRT_E_BAD_HANDLE, handles of the
//!   wrong kind SOCKRT_E_WRONG_KIND, whenever the other arguments are valid;
//! - sockrt_open_handles() equals what the harness believes is open;
//! - bytes read back from the echo peer are exactly the bytes sent, in order;
//! - pool counters agree with the leases the harness holds;
//! - a close wakes a call blocked on the handle;
//! - after everything is closed, the handle count and the process's descriptor
//!   count (minus the peers' own connections) are back to where they started.
#![allow(dead_code)]

use sockrt::ffi::*;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr};
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Operations per input at most: keeps one input well under a second.
pub const MAX_OPS: usize = 48;
/// Live handles at most: keeps descriptor use small.
const MAX_LIVE: usize = 24;
/// The read/write timeout every new socket gets, so nothing blocks for long.
const IO_TIMEOUT_MS: i64 = 5;
/// Upper bound for connect, poll and pool waits an input asks for.
const WAIT_CAP_MS: i32 = 20;
/// Upper bound for read/write timeouts an input sets on a socket.
const OPTION_CAP_MS: i64 = 250;

// ---- opcodes -----------------------------------------------------------------

pub const OP_SOCKET: u8 = 0;
pub const OP_TCP_LISTEN: u8 = 1;
pub const OP_UDP_BIND: u8 = 2;
pub const OP_TCP_CONNECT: u8 = 3;
pub const OP_BIND: u8 = 4;
pub const OP_LISTEN: u8 = 5;
pub const OP_ACCEPT: u8 = 6;
pub const OP_CONNECT: u8 = 7;
pub const OP_SEND: u8 = 8;
pub const OP_RECV: u8 = 9;
pub const OP_SEND_TO: u8 = 10;
pub const OP_RECV_FROM: u8 = 11;
pub const OP_SHUTDOWN: u8 = 12;
pub const OP_SET_OPTION: u8 = 13;
pub const OP_GET_OPTION: u8 = 14;
pub const OP_ADDR: u8 = 15;
pub const OP_FILENO: u8 = 16;
pub const OP_POLL: u8 = 17;
pub const OP_CLOSE: u8 = 18;
pub const OP_POOL_OPEN: u8 = 19;
pub const OP_POOL_ACQUIRE: u8 = 20;
pub const OP_POOL_RELEASE: u8 = 21;
pub const OP_POOL_WAS_REUSED: u8 = 22;
pub const OP_POOL_STATS: u8 = 23;
pub const OP_POOL_CLOSE: u8 = 24;
pub const OP_ERROR_INFO: u8 = 25;
pub const OP_CLOSE_WHILE_BLOCKED: u8 = 26;
pub const OP_COUNT: u8 = 27;

// Handle selector tags (first byte of a handle argument, modulo 8).
pub const H_LIVE: u8 = 0;
pub const H_DEAD: u8 = 2;
pub const H_ZERO: u8 = 3;
pub const H_FORGED: u8 = 4;
pub const H_NEXT_GENERATION: u8 = 5;
pub const H_NEXT_INDEX: u8 = 6;
pub const H_MAX: u8 = 7;

// Host selector (one byte, modulo HOSTS.len()).
pub const HOST_V4: u8 = 0;
pub const HOST_V6: u8 = 1;
pub const HOST_NULL: u8 = 7;
const HOSTS: [Option<&[u8]>; 10] = [
    Some(b"127.0.0.1\0"),
    Some(b"::1\0"),
    Some(b"[::1]\0"),
    Some(b"localhost\0"),
    Some(b"127.0.0.2\0"),
    Some(b"[127.0.0.1]\0"),
    Some(b"\0"),
    None,
    Some(b"\xff\xfe\0"),
    Some(b"::ffff:127.0.0.1\0"),
];

// Port selector (one byte, modulo 8; PORT_OF_HANDLE reads a second byte).
pub const PORT_ECHO: u8 = 0;
pub const PORT_STALL: u8 = 1;
pub const PORT_CLOSER: u8 = 2;
pub const PORT_RESETTER: u8 = 3;
pub const PORT_REFUSED: u8 = 4;
pub const PORT_ZERO: u8 = 5;
pub const PORT_OF_HANDLE: u8 = 6;
pub const PORT_UDP_ECHO: u8 = 7;

// Length selector (one byte, modulo 8; some read more bytes).
pub const LEN_ZERO: u8 = 0;
pub const LEN_BYTE: u8 = 1;
pub const LEN_U16: u8 = 2;
pub const LEN_MIB: u8 = 3;
pub const LEN_USIZE_MAX: u8 = 4;
pub const LEN_ISIZE_MAX_PLUS_1: u8 = 5;
pub const LEN_ISIZE_MAX: u8 = 6;
pub const LEN_ONE: u8 = 7;

/// Flag bit of data operations: pass a NULL buffer.
pub const F_NULL: u8 = 1;
/// Flag bit of send/recv: the _all/_exact variant; of pool release: discard.
pub const F_ALL: u8 = 2;

// ---- loopback peers ------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
    /// Echo every byte back, in order, never dropping any.
    Echo,
    /// Never read; close when the client goes away.
    Stall,
    /// Send a greeting, then close (EOF).
    Closer,
    /// Close at once with SO_LINGER 0 (RST).
    Resetter,
}

struct PeerConn {
    stream: TcpStream,
    behaviour: Behaviour,
    pending: Vec<u8>,
}

/// The peers' live connections. The peer thread accepts and closes only while
/// holding this lock, so a descriptor count taken under it can subtract them.
static PEER_CONNS: Mutex<Vec<PeerConn>> = Mutex::new(Vec::new());

struct Peers {
    echo: u16,
    stall: u16,
    closer: u16,
    resetter: u16,
    refused: u16,
    udp_echo: u16,
    udp_closed: u16,
}

static PEERS: OnceLock<Peers> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn peers() -> &'static Peers {
    PEERS.get_or_init(start_peers)
}

fn start_peers() -> Peers {
    let listen = || TcpListener::bind("127.0.0.1:0").expect("peer listener");
    let listeners = [
        (listen(), Behaviour::Echo),
        (listen(), Behaviour::Stall),
        (listen(), Behaviour::Closer),
        (listen(), Behaviour::Resetter),
    ];
    let port = |i: usize| listeners[i].0.local_addr().unwrap().port();
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp peer");
    // Bound but never listening: connects to it are refused, and the port
    // stays ours, so no other program on the machine is ever contacted.
    let refused = socket_bound_not_listening();
    let udp_closed = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let peers = Peers {
        echo: port(0),
        stall: port(1),
        closer: port(2),
        resetter: port(3),
        refused: refused.1,
        udp_echo: udp.local_addr().unwrap().port(),
        udp_closed,
    };
    for (l, _) in &listeners {
        l.set_nonblocking(true).unwrap();
    }
    udp.set_nonblocking(true).unwrap();
    std::thread::Builder::new()
        .name("fuzz-peers".into())
        .spawn(move || {
            let _keep = refused.0;
            peer_loop(listeners, udp)
        })
        .expect("peer thread");
    peers
}

fn socket_bound_not_listening() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket/bind/getsockname on a descriptor we own.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len),
            0
        );
        let mut out_len = len;
        libc::getsockname(
            fd,
            (&mut addr as *mut libc::sockaddr_in).cast(),
            &mut out_len,
        );
        (owned, u16::from_be(addr.sin_port))
    }
}

/// The peers' event loop: runs for the life of the process (a daemon thread).
fn peer_loop(listeners: [(TcpListener, Behaviour); 4], udp: UdpSocket) {
    let mut buf = vec![0u8; 65536];
    loop {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        for (l, _) in &listeners {
            fds.push(pollfd(l.as_raw_fd(), libc::POLLIN));
        }
        fds.push(pollfd(udp.as_raw_fd(), libc::POLLIN));
        {
            let conns = lock(&PEER_CONNS);
            for c in conns.iter() {
                let mut ev = libc::POLLRDHUP;
                if c.behaviour == Behaviour::Echo {
                    if c.pending.len() < 256 * 1024 {
                        ev |= libc::POLLIN;
                    }
                    if !c.pending.is_empty() {
                        ev |= libc::POLLOUT;
                    }
                }
                fds.push(pollfd(c.stream.as_raw_fd(), ev));
            }
        }
        // SAFETY: a valid array of pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
        let mut conns = lock(&PEER_CONNS);
        let first_conn = listeners.len() + 1;
        // Serve existing connections first (indices match `fds`).
        let mut keep = Vec::with_capacity(conns.len());
        for (i, mut c) in conns.drain(..).enumerate() {
            let revents = fds.get(first_conn + i).map_or(0, |f| f.revents);
            if serve_peer_conn(&mut c, revents, &mut buf) {
                keep.push(c);
            }
        }
        *conns = keep;
        for (l, behaviour) in &listeners {
            while let Ok((stream, _)) = l.accept() {
                if let Some(c) = greet(stream, *behaviour) {
                    conns.push(c);
                }
            }
        }
        drop(conns);
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    }
}

fn pollfd(fd: i32, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// A new peer connection: kept, or handled and closed at once.
fn greet(stream: TcpStream, behaviour: Behaviour) -> Option<PeerConn> {
    stream.set_nonblocking(true).ok()?;
    match behaviour {
        Behaviour::Echo | Behaviour::Stall => Some(PeerConn {
            stream,
            behaviour,
            pending: Vec::new(),
        }),
        Behaviour::Closer => {
            let _ = (&stream).write(b"hello\n");
            None
        }
        Behaviour::Resetter => {
            set_linger_zero(&stream);
            None
        }
    }
}

fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt with a valid linger struct on our own descriptor.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Moves bytes for one connection; false once it should be closed.
fn serve_peer_conn(c: &mut PeerConn, revents: libc::c_short, buf: &mut [u8]) -> bool {
    if c.behaviour == Behaviour::Stall {
        return revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) == 0;
    }
    if revents & libc::POLLIN != 0 || revents & (libc::POLLRDHUP | libc::POLLHUP) != 0 {
        loop {
            match c.stream.read(buf) {
                Ok(0) => return false,
                Ok(n) => c.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == IoKind::WouldBlock => break,
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(_) => return false,
            }
            if c.pending.len() >= 256 * 1024 {
                break;
            }
        }
    }
    while !c.pending.is_empty() {
        match c.stream.write(&c.pending) {
            Ok(n) => {
                c.pending.drain(..n);
            }
            Err(e) if e.kind() == IoKind::WouldBlock => break,
            Err(e) if e.kind() == IoKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

/// Sockets of this process (what the library makes per object), not counting
/// the peers' connections. Other kinds are left out: the fuzzer itself opens
/// pipes and files (to its symbolizer, its corpus), and the library keeps one
/// eventfd per thread that has blocked in it, closed when the thread exits.
fn own_fds() -> usize {
    let conns = lock(&PEER_CONNS);
    let all = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let target = std::fs::read_link(e.path()).unwrap_or_default();
                    let t = target.to_string_lossy();
                    t.starts_with("socket:")
                })
                .count()
        })
        .unwrap_or(0);
    all - conns.len()
}

/// What each open descriptor is, for a failure message.
fn describe_fds() -> String {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return String::new();
    };
    let mut out: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            format!("{}={}", e.file_name().to_string_lossy(), target.display())
        })
        .collect();
    out.sort();
    out.join(" ")
}

// ---- documented codes ------------------------------------------------------------

const E_ARG: i32 = SOCKRT_E_INVALID_ARGUMENT;
const E_BAD: i32 = SOCKRT_E_BAD_HANDLE;
const E_KIND: i32 = SOCKRT_E_WRONG_KIND;
const E_STATE: i32 = SOCKRT_E_INVALID_STATE;
const E_NOTCONN: i32 = SOCKRT_E_NOT_CONNECTED;
const E_TIMEOUT: i32 = SOCKRT_E_TIMEOUT;
const E_CLOSED: i32 = SOCKRT_E_CLOSED;
const E_EOF: i32 = SOCKRT_E_EOF;
const E_REFUSED: i32 = SOCKRT_E_CONNECTION_REFUSED;
const E_RESET: i32 = SOCKRT_E_CONNECTION_RESET;
const E_INUSE: i32 = SOCKRT_E_ADDRESS_IN_USE;
const E_NOTAVAIL: i32 = SOCKRT_E_ADDRESS_NOT_AVAILABLE;
const E_RESOLVE: i32 = SOCKRT_E_RESOLVE;
const E_UNREACH: i32 = SOCKRT_E_UNREACHABLE;
const E_EXHAUSTED: i32 = SOCKRT_E_POOL_EXHAUSTED;
const E_POOL_CLOSED: i32 = SOCKRT_E_POOL_CLOSED;
const E_LIMIT: i32 = SOCKRT_E_LIMIT;
const E_IO: i32 = SOCKRT_E_IO;

/// The failure codes the header documents for each call (beyond the ones any
/// handle-taking call may return: BAD_HANDLE, WRONG_KIND, INVALID_ARGUMENT).
fn documented(call: &str) -> &'static [i32] {
    match call {
        "socket" => &[E_ARG, E_NOTAVAIL, E_LIMIT],
        "bind" => &[E_INUSE, E_NOTAVAIL, E_RESOLVE, E_STATE],
        "tcp_listen" | "udp_bind" => &[E_ARG, E_INUSE, E_NOTAVAIL, E_RESOLVE, E_LIMIT],
        "listen" => &[E_STATE],
        "accept" => &[E_TIMEOUT, E_CLOSED, E_STATE, E_LIMIT],
        // CONNECTION_RESET is not in the header for connect, but a peer that
        // accepts and aborts at once makes the connect itself fail that way
        // (SO_ERROR is ECONNRESET when the handshake's result is read).
        "connect" => &[
            E_REFUSED,
            E_RESET,
            E_TIMEOUT,
            E_UNREACH,
            E_RESOLVE,
            E_CLOSED,
            E_STATE,
            E_NOTAVAIL,
            SOCKRT_E_IN_PROGRESS,
        ],
        "tcp_connect" => &[
            E_ARG, E_REFUSED, E_RESET, E_TIMEOUT, E_UNREACH, E_RESOLVE, E_LIMIT,
        ],
        // Not in the header for the data calls: CONNECTION_REFUSED, which a
        // connected datagram socket reports after an ICMP port unreachable.
        // Nor SOCKRT_E_IO: EMSGSIZE for a datagram above 64 KiB on a
        // connected datagram socket (send_to documents it).
        "send" | "send_all" => &[
            E_RESET, E_TIMEOUT, E_CLOSED, E_NOTCONN, E_STATE, E_REFUSED, E_IO,
        ],
        "recv" => &[E_TIMEOUT, E_CLOSED, E_RESET, E_NOTCONN, E_STATE, E_REFUSED],
        "recv_exact" => &[
            E_EOF, E_TIMEOUT, E_CLOSED, E_RESET, E_NOTCONN, E_STATE, E_REFUSED,
        ],
        // Not in the header: CONNECTION_RESET (EPIPE once the datagram
        // socket was shut down for writing).
        "send_to" => &[
            E_RESOLVE, E_UNREACH, E_IO, E_TIMEOUT, E_CLOSED, E_RESET, E_REFUSED,
        ],
        "recv_from" => &[E_TIMEOUT, E_CLOSED, E_REFUSED],
        "shutdown" => &[E_NOTCONN, E_STATE],
        "set_option" | "get_option" | "local_addr" | "fileno" | "poll" => &[],
        "peer_addr" => &[E_NOTCONN],
        "close" => &[E_BAD],
        "pool_open" => &[E_ARG, E_LIMIT],
        "pool_acquire" => &[
            E_EXHAUSTED,
            E_POOL_CLOSED,
            E_REFUSED,
            E_TIMEOUT,
            E_UNREACH,
            E_RESOLVE,
            E_RESET,
            E_LIMIT,
        ],
        "pool_release" | "pool_discard" | "pool_was_reused" | "pool_get_stats" | "pool_close" => {
            &[]
        }
        _ => &[],
    }
}

fn code_name(code: i64) -> String {
    let c = i32::try_from(code).unwrap_or(i32::MIN);
    // SAFETY: sockrt_error_name returns a static C string.
    unsafe { CStr::from_ptr(sockrt_error_name(c)) }
        .to_string_lossy()
        .into_owned()
}

fn last_message() -> String {
    let mut buf = vec![0u8; 512];
    let n = sockrt_last_error_message(buf.as_mut_ptr().cast(), buf.len());
    buf.truncate(n.min(511));
    String::from_utf8_lossy(&buf).into_owned()
}

// ---- the model ---------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum What {
    Socket,
    Pool,
    /// A pooled connection, and the pool handle it was leased from.
    Conn(u64),
}

/// What the echo peer must send back on a connection the harness tracks.
#[derive(Clone, Copy, Debug)]
struct Echo {
    sent: u64,
    received: u64,
    in_step: bool,
}

#[derive(Clone, Copy, Debug)]
struct Live {
    handle: u64,
    what: What,
    echo: Option<Echo>,
}

/// The byte at position `pos` of every stream the harness sends.
fn pattern(pos: u64) -> u8 {
    (pos as u8).wrapping_mul(7).wrapping_add((pos >> 8) as u8)
}

/// How a handle argument was chosen, so the expected code can be checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pick {
    Live(usize),
    Invalid,
    /// A forged value that happens to name a live handle.
    Unknown,
}

/// Calls that reached the library, by name: (successes, failures).
pub type Coverage = BTreeMap<&'static str, (u64, u64)>;

/// Runs one input. `Err` describes the first invariant that failed.
pub fn run(data: &[u8]) -> Result<Coverage, String> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = lock(&ONE_AT_A_TIME);
    peers();
    // The state before the first input; every input must leave it as found.
    static BASELINE: OnceLock<(u64, usize)> = OnceLock::new();
    let baseline = *BASELINE.get_or_init(|| (sockrt_open_handles(), own_fds()));
    let mut exec = Exec::new(data, baseline);
    exec.check_returned_to_start()
        .map_err(|e| format!("before the input: {e}"))?;
    let outcome = exec.run_all();
    // Close everything even after a failure, so the next input starts clean.
    let cleanup = exec.close_everything();
    outcome.and(cleanup)?;
    exec.check_returned_to_start()?;
    Ok(exec.coverage)
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.iter_mut().for_each(|x| *x = self.u8());
        u64::from_le_bytes(b)
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

struct Exec<'a> {
    input: Input<'a>,
    live: Vec<Live>,
    dead: Vec<u64>,
    start_handles: u64,
    start_fds: usize,
    step: usize,
    coverage: Coverage,
}

type Step = Result<(), String>;

impl<'a> Exec<'a> {
    fn new(data: &'a [u8], (start_handles, start_fds): (u64, usize)) -> Self {
        Exec {
            input: Input { data, pos: 0 },
            live: Vec::new(),
            dead: Vec::new(),
            start_handles,
            start_fds,
            step: 0,
            coverage: Coverage::new(),
        }
    }

    fn run_all(&mut self) -> Step {
        while !self.input.done() && self.step < MAX_OPS {
            let op = self.input.u8() % OP_COUNT;
            self.step(op)
                .map_err(|e| format!("step {} (opcode {op}): {e}", self.step))?;
            self.check_handle_count()
                .map_err(|e| format!("after step {} (opcode {op}): {e}", self.step))?;
            self.step += 1;
        }
        Ok(())
    }

    fn step(&mut self, op: u8) -> Step {
        match op {
            OP_SOCKET => self.op_socket(),
            OP_TCP_LISTEN => self.op_tcp_listen(),
            OP_UDP_BIND => self.op_udp_bind(),
            OP_TCP_CONNECT => self.op_tcp_connect(),
            OP_BIND => self.op_bind(),
            OP_LISTEN => self.op_listen(),
            OP_ACCEPT => self.op_accept(),
            OP_CONNECT => self.op_connect(),
            OP_SEND => self.op_send(),
            OP_RECV => self.op_recv(),
            OP_SEND_TO => self.op_send_to(),
            OP_RECV_FROM => self.op_recv_from(),
            OP_SHUTDOWN => self.op_shutdown(),
            OP_SET_OPTION => self.op_set_option(),
            OP_GET_OPTION => self.op_get_option(),
            OP_ADDR => self.op_addr(),
            OP_FILENO => self.op_fileno(),
            OP_POLL => self.op_poll(),
            OP_CLOSE => self.op_close(),
            OP_POOL_OPEN => self.op_pool_open(),
            OP_POOL_ACQUIRE => self.op_pool_acquire(),
            OP_POOL_RELEASE => self.op_pool_release(),
            OP_POOL_WAS_REUSED => self.op_pool_was_reused(),
            OP_POOL_STATS => self.op_pool_stats(),
            OP_POOL_CLOSE => self.op_pool_close(),
            OP_ERROR_INFO => self.op_error_info(),
            OP_CLOSE_WHILE_BLOCKED => self.op_close_while_blocked(),
            _ => Ok(()),
        }
    }

    // ---- argument decoding ----

    fn pick_handle(&mut self) -> (u64, Pick) {
        let tag = self.input.u8() % 8;
        let live_pick = |s: &mut Self| {
            let k = s.input.u8() as usize;
            (!s.live.is_empty()).then(|| k % s.live.len())
        };
        let (h, pick) = match tag {
            0 | 1 => match live_pick(self) {
                Some(i) => return (self.live[i].handle, Pick::Live(i)),
                None => (0, Pick::Invalid),
            },
            H_DEAD => {
                let k = self.input.u8() as usize;
                match self.dead.len() {
                    0 => (0, Pick::Invalid),
                    n => (self.dead[k % n], Pick::Invalid),
                }
            }
            H_ZERO => (0, Pick::Invalid),
            H_FORGED => (self.input.u64(), Pick::Invalid),
            H_NEXT_GENERATION => match live_pick(self) {
                Some(i) => (self.live[i].handle.wrapping_add(1 << 24), Pick::Invalid),
                None => (1 << 24, Pick::Invalid),
            },
            H_NEXT_INDEX => match live_pick(self) {
                Some(i) => (self.live[i].handle.wrapping_add(1), Pick::Invalid),
                None => (1 << 24 | 1, Pick::Invalid),
            },
            _ => (u64::MAX, Pick::Invalid),
        };
        // A forged value may collide with a live handle: then anything goes.
        match self.live.iter().position(|l| l.handle == h) {
            Some(_) => (h, Pick::Unknown),
            None => (h, pick),
        }
    }

    fn host(&mut self) -> (Option<&'static [u8]>, bool) {
        let i = self.input.u8() as usize % HOSTS.len();
        let host = HOSTS[i];
        let valid = matches!(i, 0..=5 | 9);
        (host, valid)
    }

    /// A port, and whether a connect to it can be slow (a harness listener
    /// whose backlog may be full): such waits are capped.
    fn port(&mut self) -> (u16, bool) {
        let p = peers();
        match self.input.u8() % 8 {
            PORT_ECHO => (p.echo, false),
            PORT_STALL => (p.stall, false),
            PORT_CLOSER => (p.closer, false),
            PORT_RESETTER => (p.resetter, false),
            PORT_REFUSED => (p.refused, false),
            PORT_ZERO => (0, false),
            PORT_OF_HANDLE => {
                let k = self.input.u8() as usize;
                let port = match self.live.len() {
                    0 => 0,
                    n => local_port(self.live[k % n].handle),
                };
                (port, true)
            }
            // Not the UDP peer's number: a TCP program elsewhere may own it.
            _ => (p.echo, false),
        }
    }

    fn udp_port(&mut self) -> u16 {
        let p = peers();
        match self.input.u8() % 4 {
            0 => p.udp_echo,
            1 => p.udp_closed,
            2 => 0,
            _ => {
                let k = self.input.u8() as usize;
                match self.live.len() {
                    0 => 0,
                    n => local_port(self.live[k % n].handle),
                }
            }
        }
    }

    fn timeout(&mut self, capped: bool) -> i32 {
        let t = match self.input.u8() % 6 {
            0 => 0,
            1 => 1,
            2 => WAIT_CAP_MS,
            3 => -1,
            4 => i32::MAX,
            _ => i32::MIN,
        };
        if capped && !(0..=WAIT_CAP_MS).contains(&t) {
            WAIT_CAP_MS
        } else {
            t
        }
    }

    /// A length, and whether it is one the library must refuse by itself.
    fn len(&mut self) -> (usize, bool) {
        match self.input.u8() % 8 {
            LEN_ZERO => (0, false),
            LEN_BYTE => (self.input.u8() as usize, false),
            LEN_U16 => (self.input.u16() as usize, false),
            LEN_MIB => (1 << 20, false),
            LEN_USIZE_MAX => (usize::MAX, true),
            LEN_ISIZE_MAX_PLUS_1 => (isize::MAX as usize + 1, true),
            LEN_ISIZE_MAX => (isize::MAX as usize, true),
            _ => (1, false),
        }
    }

    // ---- checking ----

    fn count(&mut self, call: &'static str, ok: bool) {
        let e = self.coverage.entry(call).or_default();
        if ok {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }

    /// Checks a status: a documented failure recorded for this thread, or
    /// success. `expect` narrows it when the harness knows the answer.
    fn check(&mut self, call: &'static str, code: i64, handle_call: bool) -> Step {
        self.count(call, code >= 0);
        if std::env::var_os("SOCKRT_FUZZ_TRACE").is_some() {
            eprintln!("step {}: {call} -> {code}", self.step);
        }
        if code >= 0 {
            return Ok(());
        }
        let c = code as i32;
        let generic = handle_call && matches!(c, E_BAD | E_KIND | E_ARG);
        if !(generic || documented(call).contains(&c)) {
            return Err(format!(
                "{call} returned {} ({code}), which its documentation does not list: {}",
                code_name(code),
                last_message()
            ));
        }
        let last = sockrt_last_error();
        if last != c {
            return Err(format!(
                "{call} returned {code} but sockrt_last_error() is {last}"
            ));
        }
        if last_message().is_empty() {
            return Err(format!("{call} failed with {code} and an empty message"));
        }
        Ok(())
    }

    /// Checks what a bad handle must give when every other argument is valid.
    fn check_pick(&self, call: &str, code: i64, pick: Pick, want_kind: Option<bool>) -> Step {
        let expected = match (pick, want_kind) {
            (Pick::Invalid, _) => Some(E_BAD),
            (Pick::Live(i), Some(wants_socket)) => {
                let is_pool = self.live[i].what == What::Pool;
                (is_pool == wants_socket).then_some(E_KIND)
            }
            _ => None,
        };
        match expected {
            Some(e) if code != i64::from(e) => Err(format!(
                "{call} on {:?} returned {} ({code}), expected {}",
                pick,
                code_name(code),
                code_name(e.into())
            )),
            _ => Ok(()),
        }
    }

    /// A call given a bad argument: INVALID_ARGUMENT, unless the handle was
    /// bad too (then either error may be reported first).
    fn check_refused_argument(&self, call: &str, code: i64, pick: Pick) -> Step {
        let c = code as i32;
        let fine = match pick {
            Pick::Unknown => true,
            Pick::Invalid => c == E_ARG || c == E_BAD,
            Pick::Live(i) => c == E_ARG || (c == E_KIND && self.live[i].what == What::Pool),
        };
        if fine {
            Ok(())
        } else {
            Err(format!(
                "{call} with an invalid argument on {pick:?} returned {}",
                code_name(code)
            ))
        }
    }

    fn check_handle_count(&self) -> Step {
        let now = sockrt_open_handles();
        let want = self.start_handles + self.live.len() as u64;
        if now != want {
            return Err(format!(
                "sockrt_open_handles() is {now}, the harness holds {want}"
            ));
        }
        Ok(())
    }

    fn check_returned_to_start(&self) -> Step {
        let handles = sockrt_open_handles();
        if handles != self.start_handles {
            return Err(format!(
                "{handles} handles open after closing everything, {} at start",
                self.start_handles
            ));
        }
        let fds = own_fds();
        if fds != self.start_fds {
            return Err(format!(
                "{fds} descriptors open after closing everything, {} at start: {}",
                self.start_fds,
                describe_fds()
            ));
        }
        Ok(())
    }

    // ---- the model ----

    fn room(&self) -> bool {
        self.live.len() < MAX_LIVE
    }

    /// Registers a new handle and bounds its waits.
    fn adopt(&mut self, handle: u64, what: What, echo: bool) -> Step {
        if handle == 0 || self.live.iter().any(|l| l.handle == handle) {
            return Err(format!("new handle {handle:#x} is 0 or already live"));
        }
        if self.dead.contains(&handle) {
            return Err(format!("new handle {handle:#x} was issued before"));
        }
        if what != What::Pool {
            for opt in [SOCKRT_OPT_READ_TIMEOUT_MS, SOCKRT_OPT_WRITE_TIMEOUT_MS] {
                let rc = sockrt_set_option(handle, opt, IO_TIMEOUT_MS);
                if rc != SOCKRT_OK {
                    return Err(format!("set_option {opt} on a new socket returned {rc}"));
                }
            }
        }
        self.live.push(Live {
            handle,
            what,
            echo: echo.then_some(Echo {
                sent: 0,
                received: 0,
                in_step: true,
            }),
        });
        Ok(())
    }

    fn forget(&mut self, handle: u64) {
        self.live.retain(|l| l.handle != handle);
        self.dead.push(handle);
    }

    fn echo_mut(&mut self, handle: u64) -> Option<&mut Echo> {
        self.live
            .iter_mut()
            .find(|l| l.handle == handle)
            .and_then(|l| l.echo.as_mut())
            .filter(|e| e.in_step)
    }

    fn close_everything(&mut self) -> Step {
        // Leases first, then pools, then the rest: any order must work, but
        // this one also checks that a lease outlives nothing it should not.
        let mut order = self.live.clone();
        order.sort_by_key(|l| match l.what {
            What::Conn(_) => 0,
            What::Pool => 1,
            What::Socket => 2,
        });
        let mut first_err = Ok(());
        for l in order {
            let rc = sockrt_close(l.handle);
            self.forget(l.handle);
            if rc != SOCKRT_OK && first_err.is_ok() {
                first_err = Err(format!(
                    "closing live {:?} {:#x} returned {rc}",
                    l.what, l.handle
                ));
            }
        }
        first_err
    }

    // ---- operations ----

    fn out_ptr(null: bool, slot: &mut u64) -> *mut u64 {
        if null {
            std::ptr::null_mut()
        } else {
            slot
        }
    }

    fn op_socket(&mut self) -> Step {
        let family = [SOCKRT_INET, SOCKRT_INET6, 0, 99][self.input.u8() as usize % 4];
        let kind = [SOCKRT_STREAM, SOCKRT_DGRAM, 0, -1][self.input.u8() as usize % 4];
        let null = self.input.u8() & F_NULL != 0;
        if !self.room() {
            return Ok(());
        }
        let mut h = 0;
        let rc = sockrt_socket(family, kind, Self::out_ptr(null, &mut h));
        self.check("socket", rc.into(), false)?;
        let valid = !null
            && [SOCKRT_INET, SOCKRT_INET6].contains(&family)
            && [SOCKRT_STREAM, SOCKRT_DGRAM].contains(&kind);
        if valid != (rc == SOCKRT_OK) && !(valid && rc == E_NOTAVAIL) {
            return Err(format!(
                "socket({family}, {kind}, null={null}) returned {rc}"
            ));
        }
        if rc == SOCKRT_OK {
            self.adopt(h, What::Socket, false)?;
        }
        Ok(())
    }

    fn op_tcp_listen(&mut self) -> Step {
        let (host, _) = self.host();
        let (port, _) = self.port();
        let backlog = [0, 1, -1, i32::MAX][self.input.u8() as usize % 4];
        let null = self.input.u8() & F_NULL != 0;
        if !self.room() {
            return Ok(());
        }
        let mut h = 0;
        let rc = sockrt_tcp_listen(c_host(host), port, backlog, Self::out_ptr(null, &mut h));
        self.check("tcp_listen", rc.into(), false)?;
        if rc == SOCKRT_OK {
            self.adopt(h, What::Socket, false)?;
        }
        Ok(())
    }

    fn op_udp_bind(&mut self) -> Step {
        let (host, _) = self.host();
        let (port, _) = self.port();
        let null = self.input.u8() & F_NULL != 0;
        if !self.room() {
            return Ok(());
        }
        let mut h = 0;
        let rc = sockrt_udp_bind(c_host(host), port, Self::out_ptr(null, &mut h));
        self.check("udp_bind", rc.into(), false)?;
        if rc == SOCKRT_OK {
            self.adopt(h, What::Socket, false)?;
        }
        Ok(())
    }

    fn op_tcp_connect(&mut self) -> Step {
        let (host, host_ok) = self.host();
        let (port, slow) = self.port();
        let timeout = self.timeout(slow);
        let null = self.input.u8() & F_NULL != 0;
        if !self.room() {
            return Ok(());
        }
        let mut h = 0;
        let rc = sockrt_tcp_connect(c_host(host), port, timeout, Self::out_ptr(null, &mut h));
        self.check("tcp_connect", rc.into(), false)?;
        if rc == SOCKRT_OK {
            let echo = host_ok && port == peers().echo;
            self.adopt(h, What::Socket, echo)?;
        }
        Ok(())
    }

    fn op_bind(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let (host, host_ok) = self.host();
        let (port, _) = self.port();
        let rc = sockrt_bind(h, c_host(host), port);
        self.check("bind", rc.into(), true)?;
        if host_ok {
            self.check_pick("bind", rc.into(), pick, Some(true))?;
        }
        Ok(())
    }

    fn op_listen(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let backlog = [0, 1, -1, i32::MAX, i32::MIN][self.input.u8() as usize % 5];
        let rc = sockrt_listen(h, backlog);
        self.check("listen", rc.into(), true)?;
        self.check_pick("listen", rc.into(), pick, Some(true))
    }

    fn op_accept(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let null = self.input.u8() & F_NULL != 0;
        if !self.room() {
            return Ok(());
        }
        let mut out = 0;
        let rc = sockrt_accept(h, Self::out_ptr(null, &mut out));
        self.check("accept", rc.into(), true)?;
        if !null {
            self.check_pick("accept", rc.into(), pick, Some(true))?;
        }
        if rc == SOCKRT_OK {
            self.adopt(out, What::Socket, false)?;
        }
        Ok(())
    }

    fn op_connect(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let (host, host_ok) = self.host();
        let (port, slow) = self.port();
        let timeout = self.timeout(slow);
        let rc = sockrt_connect(h, c_host(host), port, timeout);
        self.check("connect", rc.into(), true)?;
        if host_ok {
            self.check_pick("connect", rc.into(), pick, Some(true))?;
        }
        // Only a stream connected to the echo port is an echo stream: a
        // datagram socket connected there may still hold earlier datagrams.
        let mut nodelay = 0i64;
        let is_stream = sockrt_get_option(h, SOCKRT_OPT_NODELAY, &mut nodelay) == SOCKRT_OK;
        if rc == SOCKRT_OK && host_ok && is_stream && port == peers().echo {
            if let Some(l) = self.live.iter_mut().find(|l| l.handle == h) {
                if l.what == What::Socket && l.echo.is_none() {
                    l.echo = Some(Echo {
                        sent: 0,
                        received: 0,
                        in_step: true,
                    });
                }
            }
        }
        Ok(())
    }

    fn op_send(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let (len, absurd) = self.len();
        let flags = self.input.u8();
        let null = flags & F_NULL != 0 || len == isize::MAX as usize;
        let start = self.echo_mut(h).map_or(0, |e| e.sent);
        let data: Vec<u8> = if absurd {
            vec![0; 16]
        } else {
            (0..len as u64).map(|i| pattern(start + i)).collect()
        };
        let ptr: *const c_void = if null {
            std::ptr::null()
        } else {
            data.as_ptr().cast()
        };
        let args_ok = !(absurd || (null && len > 0));
        let (call, rc): (&str, i64) = if flags & F_ALL != 0 {
            ("send_all", sockrt_send_all(h, ptr, len).into())
        } else {
            ("send", sockrt_send(h, ptr, len))
        };
        self.check(call, rc, true)?;
        if !args_ok {
            self.check_refused_argument(call, rc, pick)?;
        }
        if args_ok {
            self.check_pick(call, rc, pick, Some(true))?;
        }
        if (rc >= 0 && rc as u64 > len as u64) || (call == "send" && len > 0 && rc == 0) {
            return Err(format!("{call} of {len} bytes returned {rc}"));
        }
        if let Some(e) = self.echo_mut(h) {
            match (call, rc) {
                ("send", n) if n >= 0 => e.sent += n as u64,
                ("send_all", 0) => e.sent += len as u64,
                _ => e.in_step = false,
            }
        }
        Ok(())
    }

    fn op_recv(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let (len, absurd) = self.len();
        let flags = self.input.u8();
        let null = flags & F_NULL != 0 || len == isize::MAX as usize;
        let mut buf = vec![0u8; if absurd { 16 } else { len }];
        let ptr: *mut c_void = if null {
            std::ptr::null_mut()
        } else {
            buf.as_mut_ptr().cast()
        };
        let exact = flags & F_ALL != 0;
        let rc: i64 = if exact {
            sockrt_recv_exact(h, ptr, len).into()
        } else {
            sockrt_recv(h, ptr, len)
        };
        let call = if exact { "recv_exact" } else { "recv" };
        self.check(call, rc, true)?;
        let args_ok = !(absurd || (null && len > 0));
        if !args_ok {
            self.check_refused_argument(call, rc, pick)?;
        }
        if args_ok {
            self.check_pick(call, rc, pick, Some(true))?;
        }
        if rc >= 0 && rc as u64 > len as u64 {
            return Err(format!("{call} into {len} bytes returned {rc}"));
        }
        let got = match (exact, rc) {
            (true, 0) => Some(len),
            (false, n) if n >= 0 => Some(n as usize),
            _ => None,
        };
        if let Some(e) = self.echo_mut(h) {
            match got {
                Some(n) if !null || n == 0 => {
                    for (i, b) in buf[..n].iter().enumerate() {
                        let pos = e.received + i as u64;
                        if *b != pattern(pos) {
                            return Err(format!(
                                "echo stream byte {pos} is {b}, sent {} ({call} of {len})",
                                pattern(pos)
                            ));
                        }
                    }
                    e.received += n as u64;
                    if e.received > e.sent {
                        return Err(format!(
                            "received {} bytes from the echo peer, sent only {}",
                            e.received, e.sent
                        ));
                    }
                }
                _ => e.in_step = false,
            }
        }
        Ok(())
    }

    fn op_send_to(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let (len, absurd) = self.len();
        let flags = self.input.u8();
        let (host, host_ok) = self.host();
        let port = self.udp_port();
        let null = flags & F_NULL != 0 || len == isize::MAX as usize;
        // Datagrams above 64 KiB are refused by the kernel: keep memory small.
        let data = vec![0x5a_u8; if absurd { 16 } else { len.min(70_000) }];
        let len = if absurd { len } else { data.len() };
        let ptr: *const c_void = if null {
            std::ptr::null()
        } else {
            data.as_ptr().cast()
        };
        let rc = sockrt_send_to(h, ptr, len, c_host(host), port);
        self.check("send_to", rc, true)?;
        let args_ok = !(absurd || (null && len > 0)) && host_ok;
        if args_ok {
            self.check_pick("send_to", rc, pick, Some(true))?;
        }
        if rc >= 0 && rc != len as i64 {
            return Err(format!("send_to of {len} bytes returned {rc}"));
        }
        Ok(())
    }

    fn op_recv_from(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let (len, absurd) = self.len();
        let flags = self.input.u8();
        let host_cap = [0usize, 15, 16, 64][self.input.u8() as usize % 4];
        let null = flags & F_NULL != 0 || len == isize::MAX as usize;
        let mut buf = vec![0u8; if absurd { 16 } else { len }];
        let mut host = [0x7f_u8; 64];
        let mut port = 0u16;
        let ptr: *mut c_void = if null {
            std::ptr::null_mut()
        } else {
            buf.as_mut_ptr().cast()
        };
        let host_ptr: *mut c_char = if flags & 2 != 0 {
            std::ptr::null_mut()
        } else {
            host.as_mut_ptr().cast()
        };
        let port_ptr: *mut u16 = if flags & 4 != 0 {
            std::ptr::null_mut()
        } else {
            &mut port
        };
        let rc = sockrt_recv_from(h, ptr, len, host_ptr, host_cap, port_ptr);
        self.check("recv_from", rc, true)?;
        if rc >= 0 && rc as u64 > len as u64 {
            return Err(format!("recv_from into {len} bytes returned {rc}"));
        }
        let args_ok = !(absurd || (null && len > 0)) && (host_ptr.is_null() || host_cap >= 64);
        if args_ok {
            self.check_pick("recv_from", rc, pick, Some(true))?;
        }
        if rc >= 0 && !host_ptr.is_null() {
            check_c_string(&host, "recv_from host")?;
        }
        Ok(())
    }

    fn op_shutdown(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let how = [SOCKRT_SHUT_READ, SOCKRT_SHUT_WRITE, SOCKRT_SHUT_BOTH, 0, 99]
            [self.input.u8() as usize % 5];
        let rc = sockrt_shutdown(h, how);
        self.check("shutdown", rc.into(), true)?;
        if (1..=3).contains(&how) {
            self.check_pick("shutdown", rc.into(), pick, Some(true))?;
        } else {
            self.check_refused_argument("shutdown", rc.into(), pick)?;
        }
        Ok(())
    }

    fn option_value(&mut self) -> i64 {
        match self.input.u8() % 8 {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => 2,
            4 => i64::MAX,
            5 => i64::MIN,
            6 => 4096,
            _ => self.input.u64() as i64,
        }
    }

    fn op_set_option(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let opt = (self.input.u8() % 15) as i32;
        let value = self.option_value();
        let rc = sockrt_set_option(h, opt, value);
        self.check("set_option", rc.into(), true)?;
        // 12 and 13 (ERROR, NREAD) are read only.
        if (1..=11).contains(&opt) {
            self.check_pick("set_option", rc.into(), pick, Some(true))?;
        } else {
            self.check_refused_argument("set_option", rc.into(), pick)?;
        }
        if rc != SOCKRT_OK {
            return Ok(());
        }
        let exact = matches!(
            opt,
            SOCKRT_OPT_READ_TIMEOUT_MS | SOCKRT_OPT_WRITE_TIMEOUT_MS | SOCKRT_OPT_BUSY_POLL_US
        );
        let mut read_back = 0;
        let g = sockrt_get_option(h, opt, &mut read_back);
        if g != SOCKRT_OK || (exact && read_back != value) {
            return Err(format!(
                "option {opt} set to {value} reads back {read_back} (status {g})"
            ));
        }
        // Keep every later call bounded, whatever the input asked for.
        let bounded = match opt {
            SOCKRT_OPT_READ_TIMEOUT_MS | SOCKRT_OPT_WRITE_TIMEOUT_MS
                if !(0..=OPTION_CAP_MS).contains(&value) =>
            {
                Some(IO_TIMEOUT_MS)
            }
            SOCKRT_OPT_BUSY_POLL_US if value > 1000 => Some(0),
            // A lingering close(2) of a blocking socket could wait for minutes.
            SOCKRT_OPT_LINGER if value > 0 => Some(-1),
            _ => None,
        };
        if let Some(v) = bounded {
            let rc = sockrt_set_option(h, opt, v);
            if rc != SOCKRT_OK {
                return Err(format!("resetting option {opt} returned {rc}"));
            }
        }
        Ok(())
    }

    fn op_get_option(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let opt = (self.input.u8() % 12) as i32;
        let null = self.input.u8() & F_NULL != 0;
        let mut v = 0i64;
        let ptr: *mut i64 = if null { std::ptr::null_mut() } else { &mut v };
        let rc = sockrt_get_option(h, opt, ptr);
        self.check("get_option", rc.into(), true)?;
        if (1..=9).contains(&opt) && !null {
            self.check_pick("get_option", rc.into(), pick, Some(true))?;
        } else {
            self.check_refused_argument("get_option", rc.into(), pick)?;
        }
        Ok(())
    }

    fn op_addr(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let flags = self.input.u8();
        let host_cap = [0usize, 1, 9, 64][self.input.u8() as usize % 4];
        let mut host = [0x7f_u8; 64];
        let mut port = 0u16;
        let host_ptr: *mut c_char = if flags & 2 != 0 {
            std::ptr::null_mut()
        } else {
            host.as_mut_ptr().cast()
        };
        let port_ptr: *mut u16 = if flags & 4 != 0 {
            std::ptr::null_mut()
        } else {
            &mut port
        };
        let (call, rc) = if flags & 1 != 0 {
            (
                "peer_addr",
                sockrt_peer_addr(h, host_ptr, host_cap, port_ptr),
            )
        } else {
            (
                "local_addr",
                sockrt_local_addr(h, host_ptr, host_cap, port_ptr),
            )
        };
        self.check(call, rc.into(), true)?;
        if host_ptr.is_null() || host_cap == 64 {
            self.check_pick(call, rc.into(), pick, Some(true))?;
        }
        if rc == SOCKRT_OK && !host_ptr.is_null() {
            check_c_string(&host[..host_cap], call)?;
        }
        if rc != SOCKRT_OK && !host_ptr.is_null() && host_cap > 0 && host[0] != 0x7f && rc == E_ARG
        {
            return Err(format!("{call} refused a small buffer but wrote into it"));
        }
        Ok(())
    }

    fn op_fileno(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let rc = sockrt_fileno(h);
        self.check("fileno", rc.into(), true)?;
        self.check_pick("fileno", rc.into(), pick, Some(true))
    }

    fn op_poll(&mut self) -> Step {
        let n = [0usize, 1, 2, 3, 65537][self.input.u8() as usize % 5];
        let flags = self.input.u8();
        let timeout = self.timeout(true);
        let mut handles = vec![0u64; n];
        let mut events = vec![0u32; n];
        let mut all_valid = true;
        // Entries are chosen only for small n; a huge n tests the limit.
        let chosen = if n <= 3 { n } else { 0 };
        for i in 0..chosen {
            let (h, pick) = self.pick_handle();
            handles[i] = h;
            events[i] = u32::from(self.input.u8() % 4);
            all_valid &= match pick {
                Pick::Live(k) => self.live[k].what != What::Pool,
                _ => false,
            };
        }
        let before = events.clone();
        let hp = if flags & 1 != 0 {
            std::ptr::null()
        } else {
            handles.as_ptr()
        };
        let ep = if flags & 2 != 0 {
            std::ptr::null_mut()
        } else {
            events.as_mut_ptr()
        };
        let rc = sockrt_poll(hp, ep, n, timeout);
        self.check("poll", rc.into(), false).or_else(|e| match rc {
            E_BAD | E_KIND | E_ARG => Ok(()),
            _ => Err(e),
        })?;
        if rc >= 0 {
            if rc as usize > n {
                return Err(format!("poll of {n} returned {rc}"));
            }
            if events.iter().any(|e| *e & !31 != 0) {
                return Err(format!("poll wrote unknown event bits: {events:?}"));
            }
        } else if events != before {
            return Err("poll failed but changed events".into());
        }
        let args_ok = n <= 65536 && (n == 0 || (flags & 3 == 0));
        if args_ok && all_valid && rc < 0 {
            return Err(format!("poll of live sockets returned {rc}"));
        }
        if n > 65536 && rc != E_ARG {
            return Err(format!("poll of {n} entries returned {rc}"));
        }
        Ok(())
    }

    fn op_close(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let rc = sockrt_close(h);
        self.check("close", rc.into(), true)?;
        match pick {
            Pick::Live(_) | Pick::Unknown => {
                if rc != SOCKRT_OK {
                    return Err(format!("close of live handle {h:#x} returned {rc}"));
                }
                self.forget(h);
            }
            Pick::Invalid if rc != E_BAD => {
                return Err(format!("close of invalid handle {h:#x} returned {rc}"))
            }
            Pick::Invalid => {}
        }
        Ok(())
    }

    fn op_pool_open(&mut self) -> Step {
        let (host, _) = self.host();
        let (port, slow) = self.port();
        let flags = self.input.u8();
        let mut cfg = sockrt_pool_config {
            max_idle: 0,
            max_total: 0,
            connect_timeout_ms: 0,
            acquire_timeout_ms: 0,
            idle_timeout_ms: 0,
            max_lifetime_ms: 0,
            check_on_acquire: 0,
            nodelay: 0,
            tls_config: 0,
            tls_server_name: std::ptr::null(),
        };
        sockrt_pool_config_init(&mut cfg);
        cfg.max_idle = [0, 1, 8, u32::MAX][self.input.u8() as usize % 4];
        cfg.max_total = [0, 1, 2, u32::MAX][self.input.u8() as usize % 4];
        cfg.connect_timeout_ms = self.timeout(slow);
        cfg.acquire_timeout_ms = self.timeout(true);
        cfg.idle_timeout_ms = [-1, 0, 1, i32::MAX][self.input.u8() as usize % 4];
        cfg.max_lifetime_ms = [-1, 0, 1, i32::MAX][self.input.u8() as usize % 4];
        let b = self.input.u8();
        cfg.check_on_acquire = u8::from(b & 1 == 0);
        cfg.nodelay = u8::from(b & 2 == 0);
        if !self.room() {
            return Ok(());
        }
        let cfg_ptr: *const sockrt_pool_config = if flags & 4 != 0 {
            std::ptr::null()
        } else {
            &cfg
        };
        let mut h = 0;
        // A NULL config means the defaults, whose 5 s acquire wait this
        // harness would have to sit out; only pass it for a pool never used.
        let rc = sockrt_pool_open(
            c_host(host),
            port,
            cfg_ptr,
            Self::out_ptr(flags & 1 != 0, &mut h),
        );
        self.check("pool_open", rc.into(), false)?;
        if rc == SOCKRT_OK {
            if cfg_ptr.is_null() {
                let rc = sockrt_pool_close(h);
                self.count("pool_close", rc == SOCKRT_OK);
                if rc != SOCKRT_OK {
                    return Err(format!("closing a default pool returned {rc}"));
                }
                self.dead.push(h);
            } else {
                self.adopt(h, What::Pool, false)?;
            }
        }
        Ok(())
    }

    fn op_pool_acquire(&mut self) -> Step {
        let (pool, pick) = self.pick_handle();
        let null = self.input.u8() & F_NULL != 0;
        if !self.room() {
            return Ok(());
        }
        let mut h = 0;
        let rc = sockrt_pool_acquire(pool, Self::out_ptr(null, &mut h));
        self.check("pool_acquire", rc.into(), true)?;
        if !null {
            self.check_pick("pool_acquire", rc.into(), pick, Some(false))?;
        }
        if rc == SOCKRT_OK {
            self.adopt(h, What::Conn(pool), false)?;
        }
        Ok(())
    }

    fn op_pool_release(&mut self) -> Step {
        let (pool, pool_pick) = self.pick_handle();
        let (conn, conn_pick) = self.pick_handle();
        let discard = self.input.u8() & F_ALL != 0;
        let (call, rc) = if discard {
            ("pool_discard", sockrt_pool_discard(pool, conn))
        } else {
            ("pool_release", sockrt_pool_release(pool, conn))
        };
        self.check(call, rc.into(), true)?;
        if pool_pick == Pick::Unknown || conn_pick == Pick::Unknown {
            if rc == SOCKRT_OK {
                self.forget(conn);
            }
            return Ok(());
        }
        let expected = match (pool_pick, conn_pick) {
            // A lease ends through its pool's handle even after the pool
            // was closed (that handle is dead by then).
            (_, Pick::Live(c)) if self.live[c].what == What::Conn(pool) => SOCKRT_OK,
            (Pick::Invalid, _) => E_BAD,
            (Pick::Live(p), _) if self.live[p].what != What::Pool => E_KIND,
            (Pick::Live(_), Pick::Invalid) => E_BAD,
            _ => E_ARG,
        };
        if rc != expected {
            return Err(format!(
                "{call}({pool_pick:?}, {conn_pick:?}) returned {}, expected {}",
                code_name(rc.into()),
                code_name(expected.into())
            ));
        }
        if rc == SOCKRT_OK {
            self.forget(conn);
        }
        Ok(())
    }

    fn op_pool_was_reused(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let rc = sockrt_pool_was_reused(h);
        self.check("pool_was_reused", rc.into(), true)?;
        self.check_pick("pool_was_reused", rc.into(), pick, Some(true))?;
        let pooled = matches!(pick, Pick::Live(i) if matches!(self.live[i].what, What::Conn(_)));
        if rc > 1 || (rc == 1 && !pooled && pick != Pick::Unknown) {
            return Err(format!("pool_was_reused returned {rc} (pooled: {pooled})"));
        }
        Ok(())
    }

    fn op_pool_stats(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let null = self.input.u8() & F_NULL != 0;
        let mut stats = sockrt_pool_stats::default();
        let ptr: *mut sockrt_pool_stats = if null {
            std::ptr::null_mut()
        } else {
            &mut stats
        };
        let rc = sockrt_pool_get_stats(h, ptr);
        self.check("pool_get_stats", rc.into(), true)?;
        if !null {
            self.check_pick("pool_get_stats", rc.into(), pick, Some(false))?;
        }
        if rc == SOCKRT_OK && pick != Pick::Unknown {
            let leases = self.live.iter().filter(|l| l.what == What::Conn(h)).count() as u64;
            if stats.in_use != leases {
                return Err(format!(
                    "pool stats say {} in use, the harness holds {leases} leases",
                    stats.in_use
                ));
            }
            let closed = stats.closed_stale + stats.closed_expired + stats.closed_broken;
            if closed > stats.created || stats.idle + stats.in_use > stats.created {
                return Err(format!("pool stats are inconsistent: {stats:?}"));
            }
        }
        Ok(())
    }

    fn op_pool_close(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let rc = sockrt_pool_close(h);
        self.check("pool_close", rc.into(), true)?;
        self.check_pick("pool_close", rc.into(), pick, Some(false))?;
        if rc == SOCKRT_OK {
            self.forget(h);
        }
        Ok(())
    }

    fn op_error_info(&mut self) -> Step {
        let code = match self.input.u8() {
            b @ 0..=200 => -(i32::from(b) % 40) + 5,
            201..=220 => i32::MIN,
            _ => i32::MAX,
        };
        let cap = [0usize, 1, 8, 256][self.input.u8() as usize % 4];
        let null = self.input.u8() & F_NULL != 0;
        self.count("error_info", true);
        // SAFETY: both return static C strings (checked non-NULL first).
        let (text, name) = unsafe {
            let t = sockrt_strerror(code);
            let n = sockrt_error_name(code);
            if t.is_null() || n.is_null() {
                return Err(format!("strerror/error_name({code}) returned NULL"));
            }
            (CStr::from_ptr(t), CStr::from_ptr(n))
        };
        let name = name.to_string_lossy();
        let known = (SOCKRT_E_IO..=SOCKRT_OK).contains(&code);
        if text.to_bytes().is_empty() || known != (name != "SOCKRT_E_UNKNOWN") {
            return Err(format!("code {code}: name {name:?}, text {text:?}"));
        }
        // SAFETY: sockrt_version returns a static C string.
        let version = unsafe { CStr::from_ptr(sockrt_version()) }.to_string_lossy();
        if version.split('.').count() != 3 {
            return Err(format!("version {version:?} is not MAJOR.MINOR.PATCH"));
        }
        let full = last_message();
        let mut buf = vec![0x7f_u8; 256];
        let ptr: *mut c_char = if null {
            std::ptr::null_mut()
        } else {
            buf.as_mut_ptr().cast()
        };
        let n = sockrt_last_error_message(ptr, cap);
        if n != full.len() {
            return Err(format!("last_error_message length {n}, message {full:?}"));
        }
        if !null && cap > 0 {
            let end = n.min(cap - 1);
            if buf[end] != 0
                || buf[..end] != full.as_bytes()[..end]
                || buf[cap..].iter().any(|b| *b != 0x7f)
            {
                return Err(format!(
                    "last_error_message(cap {cap}) wrote {:?}",
                    &buf[..cap + 1]
                ));
            }
        }
        let _ = sockrt_last_os_error();
        Ok(())
    }

    /// A thread blocks in recv (or accept) on a socket; closing the handle
    /// must wake it at once with SOCKRT_E_CLOSED.
    fn op_close_while_blocked(&mut self) -> Step {
        let (h, pick) = self.pick_handle();
        let use_accept = self.input.u8() & 1 != 0;
        let Pick::Live(i) = pick else { return Ok(()) };
        if self.live[i].what == What::Pool || !self.room() {
            return Ok(());
        }
        // Long enough that only the close can end the wait in time.
        const BLOCK_MS: i64 = 3000;
        if sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, BLOCK_MS) != SOCKRT_OK {
            return Err("set_option on a live socket failed".into());
        }
        let started = Instant::now();
        let waiter = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let mut out = 0u64;
            let rc: i64 = if use_accept {
                sockrt_accept(h, &mut out).into()
            } else {
                sockrt_recv(h, buf.as_mut_ptr().cast(), buf.len())
            };
            (rc, out, Instant::now())
        });
        std::thread::sleep(Duration::from_millis(10));
        let rc = sockrt_close(h);
        self.forget(h);
        if rc != SOCKRT_OK {
            return Err(format!("close of a live handle returned {rc}"));
        }
        let (got, out, ended) = waiter.join().map_err(|_| "the waiting thread panicked")?;
        let call = if use_accept { "accept" } else { "recv" };
        self.check(call, got, true).or_else(|e| {
            // The thread's own last error is not ours to read.
            if e.contains("sockrt_last_error") || e.contains("empty message") {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        if got == i64::from(E_TIMEOUT) || ended - started > Duration::from_millis(1500) {
            return Err(format!(
                "{call} blocked on a handle that was closed returned {got} after {:?}",
                ended - started
            ));
        }
        if use_accept && got == 0 {
            self.adopt(out, What::Socket, false)?;
        }
        Ok(())
    }
}

fn c_host(host: Option<&'static [u8]>) -> *const c_char {
    host.map_or(std::ptr::null(), |h| h.as_ptr().cast())
}

fn local_port(h: u64) -> u16 {
    let mut port = 0;
    let _ = sockrt_local_addr(h, std::ptr::null_mut(), 0, &mut port);
    port
}

fn check_c_string(buf: &[u8], what: &str) -> Step {
    match buf.iter().position(|b| *b == 0) {
        Some(n) if std::str::from_utf8(&buf[..n]).is_ok() => Ok(()),
        _ => Err(format!(
            "{what} is not a NUL-terminated string within its buffer"
        )),
    }
}

// ---- writing inputs ----------------------------------------------------------------

/// Builds an input program byte by byte, in the order [`Exec`] reads it.
#[derive(Default, Clone)]
pub struct Seed(pub Vec<u8>);

impl Seed {
    pub fn new() -> Self {
        Seed(Vec::new())
    }
    pub fn op(mut self, op: u8) -> Self {
        self.0.push(op);
        self
    }
    pub fn b(mut self, byte: u8) -> Self {
        self.0.push(byte);
        self
    }
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    /// The k-th live handle (in the order they were opened, closed ones removed).
    pub fn live(self, k: u8) -> Self {
        self.b(H_LIVE).b(k)
    }
    pub fn dead(self, k: u8) -> Self {
        self.b(H_DEAD).b(k)
    }
}
