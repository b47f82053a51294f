//! Soak and scale runs for libsockrt, through the C ABI (`make soak`):
//!
//! 1. streams: 8 concurrent loopback streams of 256 MiB each, every byte
//!    checked against the sender's generator and a checksum per stream;
//! 2. connections: 10,000 loopback connections open at once in this process
//!    (the server side runs in a child process), each doing a round trip, with
//!    the resident memory per connection;
//! 3. handles: 1,000,000 socket open/close cycles, timing each 100,000 and
//!    checking that the handle table and resident memory stay flat.
//!
//! Sizes can be lowered for a quick look: SOAK_STREAM_MIB, SOAK_CONNECTIONS,
//! SOAK_CYCLES. Exits non-zero if any target is missed.

use sockrt::ffi::*;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STREAMS: u64 = 8;
const CHUNK: usize = 1 << 20;
const IO_TIMEOUT_MS: i64 = 60_000;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn message() -> String {
    let mut buf = [0u8; 512];
    let n = sockrt_last_error_message(buf.as_mut_ptr().cast(), buf.len());
    String::from_utf8_lossy(&buf[..n.min(511)]).into_owned()
}

fn check(rc: i32, what: &str) -> Result<(), String> {
    if rc == SOCKRT_OK {
        Ok(())
    } else {
        Err(format!("{what} returned {rc}: {}", message()))
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn listen() -> Result<(sockrt_handle, u16), String> {
    let mut l = 0;
    check(
        sockrt_tcp_listen(c"127.0.0.1".as_ptr(), 0, 4096, &mut l),
        "tcp_listen",
    )?;
    let mut port = 0;
    check(
        sockrt_local_addr(l, std::ptr::null_mut(), 0, &mut port),
        "local_addr",
    )?;
    Ok((l, port))
}

fn connect(port: u16) -> Result<sockrt_handle, String> {
    let mut h = 0;
    check(
        sockrt_tcp_connect(c"127.0.0.1".as_ptr(), port, 10_000, &mut h),
        "tcp_connect",
    )?;
    Ok(h)
}

fn set_timeouts(h: sockrt_handle, ms: i64) -> Result<(), String> {
    check(
        sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, ms),
        "set_option",
    )?;
    check(
        sockrt_set_option(h, SOCKRT_OPT_WRITE_TIMEOUT_MS, ms),
        "set_option",
    )
}

// ---- 1. streams ---------------------------------------------------------------

/// The byte generator both ends of a stream run (xorshift64*).
struct Generator(u64);

impl Generator {
    fn new(stream: u64) -> Generator {
        Generator(0x9E37_79B9_7F4A_7C15 ^ (stream + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for word in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            word.copy_from_slice(&v[..word.len()]);
        }
    }
}

/// FNV-1a over 8-byte words: a checksum both ends compute.
fn checksum(mut sum: u64, buf: &[u8]) -> u64 {
    for word in buf.chunks(8) {
        let mut w = [0u8; 8];
        w[..word.len()].copy_from_slice(word);
        sum = (sum ^ u64::from_le_bytes(w)).wrapping_mul(0x100_0000_01b3);
    }
    sum
}

struct StreamResult {
    stream: u64,
    bytes: u64,
    mismatched: u64,
    sum: u64,
}

fn send_stream(port: u16, stream: u64, total: u64) -> Result<u64, String> {
    let h = connect(port)?;
    set_timeouts(h, IO_TIMEOUT_MS)?;
    check(
        sockrt_send_all(h, stream.to_le_bytes().as_ptr().cast(), 8),
        "send_all id",
    )?;
    let mut gen = Generator::new(stream);
    let mut buf = vec![0u8; CHUNK];
    let mut sum = 0xcbf2_9ce4_8422_2325;
    let mut sent = 0;
    while sent < total {
        let n = CHUNK.min((total - sent) as usize);
        gen.fill(&mut buf[..n]);
        sum = checksum(sum, &buf[..n]);
        check(sockrt_send_all(h, buf.as_ptr().cast(), n), "send_all")?;
        sent += n as u64;
    }
    check(sockrt_close(h), "close")?;
    Ok(sum)
}

fn receive_stream(conn: sockrt_handle, total: u64) -> Result<StreamResult, String> {
    set_timeouts(conn, IO_TIMEOUT_MS)?;
    let mut id = [0u8; 8];
    check(
        sockrt_recv_exact(conn, id.as_mut_ptr().cast(), 8),
        "recv_exact id",
    )?;
    let stream = u64::from_le_bytes(id);
    let mut gen = Generator::new(stream);
    let (mut got, mut want) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut result = StreamResult {
        stream,
        bytes: 0,
        mismatched: 0,
        sum: 0xcbf2_9ce4_8422_2325,
    };
    while result.bytes < total {
        let n = CHUNK.min((total - result.bytes) as usize);
        check(
            sockrt_recv_exact(conn, got.as_mut_ptr().cast(), n),
            "recv_exact",
        )?;
        gen.fill(&mut want[..n]);
        result.mismatched += got[..n]
            .iter()
            .zip(&want[..n])
            .filter(|(a, b)| a != b)
            .count() as u64;
        result.sum = checksum(result.sum, &got[..n]);
        result.bytes += n as u64;
    }
    // Nothing may follow the stream: the next receive is end of stream.
    let n = sockrt_recv(conn, got.as_mut_ptr().cast(), 1);
    if n != 0 {
        return Err(format!(
            "stream {stream}: {n} after the last byte, not end of stream"
        ));
    }
    check(sockrt_close(conn), "close")?;
    Ok(result)
}

fn soak_streams(report: &mut Report) -> Result<(), String> {
    let total = env_or("SOAK_STREAM_MIB", 256) << 20;
    println!("== streams: {STREAMS} x {} MiB", total >> 20);
    let (listener, port) = listen()?;
    set_timeouts(listener, IO_TIMEOUT_MS)?;
    let started = Instant::now();
    let senders: Vec<_> = (0..STREAMS)
        .map(|s| std::thread::spawn(move || send_stream(port, s, total)))
        .collect();
    let mut receivers = Vec::new();
    for _ in 0..STREAMS {
        let mut conn = 0;
        check(sockrt_accept(listener, &mut conn), "accept")?;
        receivers.push(std::thread::spawn(move || receive_stream(conn, total)));
    }
    let mut sent_sums = Vec::new();
    for s in senders {
        sent_sums.push(s.join().map_err(|_| "sender panicked")??);
    }
    let mut verified = 0;
    let mut bad = 0;
    for r in receivers {
        let r = r.join().map_err(|_| "receiver panicked")??;
        let sum_ok = sent_sums.get(r.stream as usize) == Some(&r.sum);
        println!(
            "   stream {}: {} bytes, {} mismatched, checksum {:016x} {}",
            r.stream,
            r.bytes,
            r.mismatched,
            r.sum,
            if sum_ok { "matches" } else { "DIFFERS" }
        );
        verified += r.bytes;
        bad += r.mismatched + u64::from(!sum_ok);
    }
    let secs = started.elapsed().as_secs_f64();
    check(sockrt_close(listener), "close")?;
    println!(
        "   {verified} bytes verified in {secs:.1} s ({:.0} MiB/s), {bad} errors",
        verified as f64 / secs / (1 << 20) as f64
    );
    report.target(
        "streams: every byte arrived, in order, checksums match",
        verified == STREAMS * total && bad == 0,
    );
    Ok(())
}

// ---- 2. connections -----------------------------------------------------------

fn raise_fd_limit() -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain get/setrlimit on a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    (lim.rlim_cur, lim.rlim_max)
}

fn wait_readable(h: sockrt_handle, ms: i32) -> bool {
    // The borrowed descriptor is for exactly this: waiting in poll(2).
    let mut fd = libc::pollfd {
        fd: sockrt_fileno(h),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut fd, 1, ms) == 1 }
}

/// The child process: accepts `n` connections, answers each 8-byte request
/// with its complement, and exits when its stdin closes.
fn serve_connections(n: usize) -> Result<(), String> {
    raise_fd_limit();
    let (listener, port) = listen()?;
    set_timeouts(listener, 30_000)?;
    println!("{port}");
    std::io::stdout().flush().unwrap();
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let mut c = 0;
        match sockrt_accept(listener, &mut c) {
            SOCKRT_OK => conns.push(c),
            // The client may stop short of n (its descriptor limit): serve
            // what came once no more arrive.
            SOCKRT_E_TIMEOUT if !conns.is_empty() => break,
            rc => check(rc, "accept")?,
        }
        if conns.len() == 1 {
            set_timeouts(listener, 2000)?;
        }
    }
    // Answer in whatever order requests arrive; poll(2) on the borrowed
    // descriptors keeps the server at one descriptor per connection.
    let mut pending: Vec<sockrt_handle> = conns.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !pending.is_empty() && Instant::now() < deadline {
        let mut fds: Vec<libc::pollfd> = pending
            .iter()
            .map(|&h| libc::pollfd {
                fd: sockrt_fileno(h),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        let mut still = Vec::new();
        for (h, fd) in pending.iter().zip(&fds) {
            if fd.revents == 0 {
                still.push(*h);
                continue;
            }
            let mut req = [0u8; 8];
            check(
                sockrt_recv_exact(*h, req.as_mut_ptr().cast(), 8),
                "recv_exact",
            )?;
            let reply = (!u64::from_le_bytes(req)).to_le_bytes();
            check(sockrt_send_all(*h, reply.as_ptr().cast(), 8), "send_all")?;
        }
        pending = still;
    }
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    for c in conns {
        sockrt_close(c);
    }
    sockrt_close(listener);
    Ok(())
}

fn soak_connections(report: &mut Report) -> Result<(), String> {
    let wanted = env_or("SOAK_CONNECTIONS", 10_000) as usize;
    let (soft, hard) = raise_fd_limit();
    println!("== connections: {wanted} open at once (RLIMIT_NOFILE now {soft}, hard {hard})");
    // Measure what one connected socket costs in descriptors.
    let probe_before = open_fds();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["serve-connections", &wanted.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn server: {e}"))?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("server said {line:?}"))?;
    let rss_before = rss_kib();
    let fds_before = open_fds().max(probe_before);
    let started = Instant::now();
    let mut conns = Vec::with_capacity(wanted);
    let mut failure = None;
    // After a first hundred, see what a connection costs in descriptors and
    // stop short of the limit: past it, even /proc/self/status cannot be read.
    let mut capacity = wanted;
    let mut fds_per_conn = 0.0;
    while conns.len() < capacity {
        match connect(port) {
            Ok(h) => conns.push(h),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        if conns.len() == 100 {
            fds_per_conn = (open_fds() - fds_before) as f64 / 100.0;
            let spare = soft.saturating_sub(open_fds() as u64 + 64) as f64;
            capacity = wanted.min(100 + (spare / fds_per_conn) as usize);
        }
    }
    let held = conns.len();
    let connect_secs = started.elapsed().as_secs_f64();
    if let Some(e) = &failure {
        println!("   stopped after {held} connections: {e}");
    }
    if capacity < wanted {
        println!(
            "   the descriptor limit allows only {capacity}: each connected socket holds {fds_per_conn:.0} descriptors (the socket and its wake eventfd), so {wanted} connections need about {} and the hard limit here is {hard}",
            (fds_per_conn * wanted as f64) as u64
        );
    }
    println!(
        "   {held} connections in {connect_secs:.1} s; {fds_per_conn:.2} descriptors per connection"
    );
    let rss_open = rss_kib();
    // Round trips: every request first, then every reply.
    let mut ok = 0;
    for (i, &h) in conns.iter().enumerate() {
        set_timeouts(h, 30_000)?;
        check(
            sockrt_send_all(h, (i as u64).to_le_bytes().as_ptr().cast(), 8),
            "send_all",
        )?;
    }
    for (i, &h) in conns.iter().enumerate() {
        if !wait_readable(h, 30_000) {
            return Err(format!("connection {i}: no reply within 30 s"));
        }
        let mut reply = [0u8; 8];
        check(
            sockrt_recv_exact(h, reply.as_mut_ptr().cast(), 8),
            "recv_exact",
        )?;
        ok += usize::from(u64::from_le_bytes(reply) == !(i as u64));
    }
    let rss_after = rss_kib();
    let handles = sockrt_open_handles();
    println!(
        "   {ok} of {held} round trips correct; {handles} handles open; RSS {rss_before} -> {rss_open} -> {rss_after} KiB"
    );
    let per_conn = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / held.max(1) as f64;
    println!("   resident memory per connection beyond kernel buffers: {per_conn:.0} bytes");
    for h in conns {
        check(sockrt_close(h), "close")?;
    }
    drop(child.stdin.take());
    let status = child.wait().map_err(|e| e.to_string())?;
    println!(
        "   after closing: {} handles open; server exited with {status}",
        sockrt_open_handles()
    );
    report.target(
        &format!("connections: {wanted} open at once, every round trip correct"),
        held == wanted && ok == wanted,
    );
    Ok(())
}

// ---- 3. handle cycles -------------------------------------------------------------

fn soak_handles(report: &mut Report) -> Result<(), String> {
    let cycles = env_or("SOAK_CYCLES", 1_000_000);
    let block = (cycles / 10).max(1);
    println!("== handles: {cycles} socket open/close cycles");
    let start_handles = sockrt_open_handles();
    let rss_before = rss_kib();
    let mut times = Vec::new();
    let mut slots = std::collections::BTreeSet::new();
    let mut t = Instant::now();
    for i in 0..cycles {
        let mut h = 0;
        check(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &mut h), "socket")?;
        // The low 24 bits name the slot (see src/handle.rs); few distinct
        // slots means the table reuses them instead of growing.
        slots.insert(h & 0xFF_FFFF);
        check(sockrt_close(h), "close")?;
        if (i + 1) % block == 0 {
            times.push(t.elapsed());
            t = Instant::now();
        }
    }
    let rss_after = rss_kib();
    let handles = sockrt_open_handles();
    let ms: Vec<String> = times
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
        .collect();
    println!("   ms per {block} cycles: {}", ms.join(" "));
    let (first, last) = (times[0].as_secs_f64(), times[times.len() - 1].as_secs_f64());
    println!(
        "   first {block}: {:.0} ms, last {block}: {:.0} ms (ratio {:.2}); {} distinct slots; handles {start_handles} -> {handles}; RSS {rss_before} -> {rss_after} KiB",
        first * 1e3,
        last * 1e3,
        last / first,
        slots.len()
    );
    report.target(
        "handles: cost flat (last block within 2x of the first), table back to its start, RSS flat (< 4 MiB growth)",
        last < 2.0 * first && handles == start_handles && rss_after < rss_before + 4096,
    );
    Ok(())
}

// ---- main ------------------------------------------------------------------------

/// One soak run: records its targets, or fails outright.
type Run = fn(&mut Report) -> Result<(), String>;

#[derive(Default)]
struct Report {
    targets: Vec<(String, bool)>,
}

impl Report {
    fn target(&mut self, what: &str, met: bool) {
        self.targets.push((what.to_string(), met));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve-connections") {
        let n = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
        if let Err(e) = serve_connections(n) {
            eprintln!("server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut report = Report::default();
    let runs: [Run; 3] = [soak_streams, soak_connections, soak_handles];
    for run in runs {
        if let Err(e) = run(&mut report) {
            println!("   ERROR: {e}");
            report.target(&format!("ran without error ({e})"), false);
        }
    }
    println!("== summary");
    for (what, met) in &report.targets {
        println!("   {} {what}", if *met { "MET    " } else { "NOT MET" });
    }
    if report.targets.iter().any(|(_, met)| !met) {
        std::process::exit(1);
    }
}
