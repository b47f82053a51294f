//! A fault-injecting TCP proxy and simple upstream servers for the fault
//! tests. The proxy sits between a client and an upstream server and can
//! delay, trickle one byte at a time, half-close, reset (SO_LINGER 0), stall
//! forever, or cut a connection after a set number of bytes; tests can also
//! cut, reset or inject stray bytes into every open connection on demand.
//!
//! Every thread here stops when its guard is dropped, and in any case after
//! `MAX_LIFETIME`, so no test leaves one behind.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const MAX_LIFETIME: Duration = Duration::from_secs(30);
const TICK_MS: i32 = 5;

/// Which way bytes flow through the proxy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    ToServer,
    ToClient,
}

/// What the proxy does to every connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    /// Forward everything untouched.
    Pass,
    /// Hold every chunk this long before forwarding it.
    Delay(Duration),
    /// Forward to the client one byte at a time, pausing this long between
    /// bytes (what the client sends goes through untouched).
    Trickle(Duration),
    /// After this many bytes to the client, shut down its direction (the
    /// client sees end of stream) while still forwarding what it sends.
    HalfCloseAfter(usize),
    /// After this many bytes in one direction, reset the client (RST).
    ResetAfter(Dir, usize),
    /// After this many bytes in one direction, close both sides (FIN).
    CutAfter(Dir, usize),
    /// Accept and never forward or read anything.
    Stall,
}

/// An action a test asks for on every open connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    Cut = 1,
    Reset = 2,
    /// Send bytes the client never asked for.
    Chatter = 3,
}

struct Control {
    action: AtomicU8,
    finished: AtomicBool,
}

pub struct Proxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    controls: Arc<Mutex<Vec<Arc<Control>>>>,
    pub accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on 127.0.0.1 (a free port) in front of 127.0.0.1:`upstream`.
    pub fn start(upstream: u16, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let controls = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop2, controls2, accepted2) = (stop.clone(), controls.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut workers = Vec::new();
            while !stop2.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME {
                match listener.accept() {
                    Ok((client, _)) => {
                        accepted2.fetch_add(1, Ordering::SeqCst);
                        let control = Arc::new(Control {
                            action: AtomicU8::new(0),
                            finished: AtomicBool::new(false),
                        });
                        controls2.lock().unwrap().push(control.clone());
                        let stop3 = stop2.clone();
                        workers.push(std::thread::spawn(move || {
                            relay(client, upstream, fault, &control, &stop3);
                            control.finished.store(true, Ordering::SeqCst);
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            stop2.store(true, Ordering::SeqCst);
            for w in workers {
                let _ = w.join();
            }
        });
        Proxy {
            port,
            stop,
            controls,
            accepted,
            thread: Some(thread),
        }
    }

    /// Applies `action` to every connection open now, and waits (bounded)
    /// until the proxy has carried it out.
    pub fn act_on_all(&self, action: Action) {
        let controls: Vec<_> = self.controls.lock().unwrap().clone();
        for c in &controls {
            c.action.store(action as u8, Ordering::SeqCst);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline
            && controls
                .iter()
                .any(|c| c.action.load(Ordering::SeqCst) != 0 && !c.finished.load(Ordering::SeqCst))
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Let the FIN, RST or bytes cross loopback.
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sets SO_LINGER to zero, so that closing the socket sends RST.
pub fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt with a valid linger struct on a descriptor we own.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_LINGER");
}

/// Bytes read from one side, waiting to be written to the other.
struct Lane {
    queue: VecDeque<(Instant, Vec<u8>)>,
    forwarded: usize,
    src_eof: bool,
    next_trickle: Instant,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            queue: VecDeque::new(),
            forwarded: 0,
            src_eof: false,
            next_trickle: Instant::now(),
        }
    }

    fn queued(&self) -> usize {
        self.queue.iter().map(|(_, b)| b.len()).sum()
    }
}

/// What ends a relay early.
enum End {
    Reset,
    Cut,
    HalfClose,
}

fn relay(client: TcpStream, upstream: u16, fault: Fault, control: &Control, stop: &AtomicBool) {
    let started = Instant::now();
    let alive = || !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME;
    if fault == Fault::Stall {
        // Hold the connection, never reading: the client's sends fill the
        // buffers and its receives wait.
        while alive() && control.action.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(TICK_MS as u64));
        }
        apply(control.action.load(Ordering::SeqCst), &client, None);
        return;
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    for s in [&client, &server] {
        s.set_nonblocking(true).unwrap();
        s.set_nodelay(true).unwrap();
    }
    let mut to_server = Lane::new();
    let mut to_client = Lane::new();
    let mut client_write_open = true;
    let mut buf = vec![0u8; 65536];
    while alive() {
        let action = control.action.load(Ordering::SeqCst);
        if action != 0 {
            apply(action, &client, Some(&server));
            if action == Action::Chatter as u8 {
                control.action.store(0, Ordering::SeqCst);
                continue;
            }
            return;
        }
        match fault {
            // Keep the byte rate set by the pause, not by the poll tick.
            Fault::Trickle(pause) if !to_client.queue.is_empty() => std::thread::sleep(pause),
            _ => wait_readable(&client, &server),
        }
        let from_client = pull(&client, &mut to_server, &mut buf, fault);
        let from_server = pull(&server, &mut to_client, &mut buf, fault);
        if from_client.is_err() || from_server.is_err() {
            return;
        }
        if let Some(end) = push(&server, &mut to_server, fault, Dir::ToServer) {
            return finish(end, client, server);
        }
        if client_write_open {
            match push(&client, &mut to_client, fault, Dir::ToClient) {
                Some(End::HalfClose) => {
                    let _ = client.shutdown(Shutdown::Write);
                    client_write_open = false;
                }
                Some(end) => return finish(end, client, server),
                None => {}
            }
        }
        // Pass an end of stream on once everything before it was delivered.
        if to_server.src_eof && to_server.queue.is_empty() {
            let _ = server.shutdown(Shutdown::Write);
        }
        if to_client.src_eof && to_client.queue.is_empty() {
            let _ = client.shutdown(Shutdown::Write);
        }
        if to_server.src_eof && to_client.src_eof {
            return;
        }
    }
}

fn apply(action: u8, client: &TcpStream, server: Option<&TcpStream>) {
    match action {
        a if a == Action::Reset as u8 => set_linger_zero(client),
        a if a == Action::Chatter as u8 => {
            let _ = (&*client).write(b"stray bytes nobody asked for");
        }
        _ => {}
    }
    if action == Action::Cut as u8 || action == Action::Reset as u8 {
        let _ = server.map(|s| s.shutdown(Shutdown::Both));
    }
    if action == Action::Cut as u8 {
        let _ = client.shutdown(Shutdown::Both);
    }
}

fn finish(end: End, client: TcpStream, server: TcpStream) {
    if let End::Reset = end {
        set_linger_zero(&client);
    }
    drop(client);
    drop(server);
}

fn wait_readable(a: &TcpStream, b: &TcpStream) {
    let mut fds = [
        libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfds; a short timeout keeps queued bytes moving.
    unsafe { libc::poll(fds.as_mut_ptr(), 2, 1) };
}

/// Reads what `src` has into `lane` (unless the lane is full).
fn pull(mut src: &TcpStream, lane: &mut Lane, buf: &mut [u8], fault: Fault) -> Result<(), ()> {
    if lane.src_eof || lane.queued() > (1 << 20) {
        return Ok(());
    }
    let due = match fault {
        Fault::Delay(d) => Instant::now() + d,
        _ => Instant::now(),
    };
    match src.read(buf) {
        Ok(0) => lane.src_eof = true,
        Ok(n) => lane.queue.push_back((due, buf[..n].to_vec())),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
        Err(_) => return Err(()),
    }
    Ok(())
}

/// Writes what is due from `lane` to `dst`, honouring the fault; returns the
/// end the fault calls for once its byte count is reached.
fn push(mut dst: &TcpStream, lane: &mut Lane, fault: Fault, dir: Dir) -> Option<End> {
    let limit = match fault {
        Fault::ResetAfter(d, n) | Fault::CutAfter(d, n) if d == dir => Some(n),
        Fault::HalfCloseAfter(n) if dir == Dir::ToClient => Some(n),
        _ => None,
    };
    if let Some(n) = limit {
        if lane.forwarded >= n {
            return Some(match fault {
                Fault::ResetAfter(..) => End::Reset,
                Fault::CutAfter(..) => End::Cut,
                _ => End::HalfClose,
            });
        }
    }
    let now = Instant::now();
    while let Some((due, chunk)) = lane.queue.front_mut() {
        if *due > now {
            break;
        }
        let mut take = chunk.len();
        if let Some(n) = limit {
            take = take.min(n - lane.forwarded);
        }
        if let (Fault::Trickle(pause), Dir::ToClient) = (fault, dir) {
            if now < lane.next_trickle {
                break;
            }
            take = 1;
            lane.next_trickle = now + pause;
        }
        match dst.write(&chunk[..take]) {
            Ok(n) => {
                lane.forwarded += n;
                chunk.drain(..n);
                if chunk.is_empty() {
                    lane.queue.pop_front();
                }
            }
            Err(_) => break,
        }
        let trickling = matches!(fault, Fault::Trickle(_)) && dir == Dir::ToClient;
        if trickling || limit.is_some_and(|n| lane.forwarded >= n) {
            break;
        }
    }
    None
}

// ---- upstream servers ------------------------------------------------------

/// What an upstream server does with each connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Upstream {
    /// Echo every byte back.
    Echo,
    /// Send this many pattern bytes, then close.
    Source(usize),
    /// Read and discard everything.
    Sink,
}

pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The byte at `pos` of every stream the tests send or the source serves.
pub fn pattern(pos: usize) -> u8 {
    (pos % 251) as u8
}

pub fn pattern_bytes(len: usize) -> Vec<u8> {
    (0..len).map(pattern).collect()
}

/// Starts an upstream server on 127.0.0.1 (thread per connection).
pub fn upstream(kind: Upstream) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut workers = Vec::new();
        while !stop2.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME {
            match listener.accept() {
                Ok((s, _)) => {
                    let stop3 = stop2.clone();
                    workers.push(std::thread::spawn(move || serve(s, kind, &stop3)));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        stop2.store(true, Ordering::SeqCst);
        for w in workers {
            let _ = w.join();
        }
    });
    Server {
        port,
        stop,
        thread: Some(thread),
    }
}

fn serve(mut s: TcpStream, kind: Upstream, stop: &AtomicBool) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let started = Instant::now();
    if let Upstream::Source(total) = kind {
        let _ = s.write_all(&pattern_bytes(total));
        return;
    }
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) if kind == Upstream::Echo => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}
