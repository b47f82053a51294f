//! Loopback peers for the integration tests. Every server stops when its
//! guard is dropped (or after a hard time limit), so no test leaves one behind.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a test server treats each connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Echo every byte back.
    Echo,
    /// Echo, then after each answer close the connection with probability 1/n.
    EchoThenMaybeClose(u64),
    /// Echo one message, then close the connection once it is idle.
    EchoOnceThenClose,
    /// Echo one message, then send stray bytes nobody asked for.
    EchoOnceThenChatter,
}

pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub accepted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a std::net server on 127.0.0.1 with the given behaviour; each
/// connection gets its own thread. Messages are framed by the client: the
/// server simply echoes what it reads.
pub fn server(behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let (stop2, accepted2) = (Arc::clone(&stop), Arc::clone(&accepted));
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for stream in listener.incoming() {
            if stop2.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(120) {
                break;
            }
            let Ok(stream) = stream else { continue };
            accepted2.fetch_add(1, Ordering::SeqCst);
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let stop3 = Arc::clone(&stop2);
            std::thread::spawn(move || serve(stream, behaviour, seed, stop3));
        }
    });
    Server {
        port,
        stop,
        accepted,
        thread: Some(thread),
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour, mut seed: u64, stop: Arc<AtomicBool>) {
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 65536];
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return,
        };
        if stream.write_all(&buf[..n]).is_err() {
            return;
        }
        match behaviour {
            Behaviour::Echo => {}
            Behaviour::EchoThenMaybeClose(n) => {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if (seed >> 33).is_multiple_of(n) {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
            }
            Behaviour::EchoOnceThenClose => {
                std::thread::sleep(Duration::from_millis(20));
                return;
            }
            Behaviour::EchoOnceThenChatter => {
                std::thread::sleep(Duration::from_millis(20));
                let _ = stream.write_all(b"unsolicited");
            }
        }
    }
}

/// Open descriptors of this process, other than eventfds (the library keeps
/// one per thread that has blocked in it, until the thread exits).
pub fn open_fds() -> usize {
    count_fds(|target| target != "anon_inode:[eventfd]")
}

/// Open eventfds of this process.
pub fn open_eventfds() -> usize {
    count_fds(|target| target == "anon_inode:[eventfd]")
}

fn count_fds(keep: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            keep(&target.to_string_lossy())
        })
        .count()
}

/// The calling thread's kernel id, for [`wait_until_blocked`].
pub fn thread_id() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Waits (up to 5 s) until thread `tid` of this process sleeps in a system
/// call: its /proc state reads 'S' three times in a row. Panics otherwise,
/// so a test that means to close a blocked call never closes an idle one.
pub fn wait_until_blocked(tid: i32) {
    let path = format!("/proc/self/task/{tid}/stat");
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut sleeping = 0;
    while std::time::Instant::now() < give_up {
        let stat = std::fs::read_to_string(&path).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        sleeping = if state == Some('S') { sleeping + 1 } else { 0 };
        if sleeping >= 3 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("thread {tid} never blocked");
}
