//! Unix domain sockets in the runtime, against the standard library's
//! std::os::unix::net peers where one exists.

use sockrt::addr::{Endpoint, UnixAddr};
use sockrt::error::ErrorKind;
use sockrt::pool::{Pool, PoolConfig};
use sockrt::socket::SockOption;
use sockrt::{Family, Kind, Socket};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A fresh private directory for socket files; removed by the guard.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sockrt-unix-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unix_path(e: Endpoint) -> PathBuf {
    match e {
        Endpoint::Unix(UnixAddr::Path(p)) => p,
        other => panic!("not a Unix path: {other:?}"),
    }
}

#[test]
fn stream_on_a_path_against_std_client_and_server() {
    let dir = TempDir::new("stream");
    let path = dir.path("s.sock");
    let l = Socket::new(Family::Unix, Kind::Stream).unwrap();
    l.bind(&path, 0).unwrap();
    l.listen(8).unwrap();
    assert_eq!(unix_path(l.local_endpoint().unwrap()), PathBuf::from(&path));

    // The standard library's client against our listener.
    let mut std_client = UnixStream::connect(&path).unwrap();
    let s = l.accept().unwrap();
    std_client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    s.recv_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    s.send_all(b"pong").unwrap();
    std_client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    assert_eq!(
        s.peer_endpoint().unwrap(),
        Endpoint::Unix(UnixAddr::Unnamed)
    );

    // Our client against the standard library's listener.
    let std_path = dir.path("std.sock");
    let std_listener = UnixListener::bind(&std_path).unwrap();
    let c = Socket::unix_connect(&std_path, Kind::Stream, 2000).unwrap();
    let (mut peer, _) = std_listener.accept().unwrap();
    c.send_all(b"abc").unwrap();
    let mut got = [0u8; 3];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"abc");
    assert_eq!(
        unix_path(c.peer_endpoint().unwrap()),
        PathBuf::from(&std_path)
    );
    drop(peer);
    assert_eq!(c.recv(&mut got).unwrap(), 0, "EOF once the std peer closes");
}

#[test]
fn abstract_names_and_autobind() {
    let name = format!("@sockrt-test-{}", std::process::id());
    let l = Socket::unix_listen(&name, 4).unwrap();
    assert_eq!(
        l.local_endpoint().unwrap().host_bytes(),
        name.as_bytes().to_vec()
    );
    let c = Socket::unix_connect(&name, Kind::Stream, 1000).unwrap();
    let s = l.accept().unwrap();
    c.send_all(b"x").unwrap();
    let mut b = [0u8; 1];
    s.recv_exact(&mut b).unwrap();

    // "@" alone: the kernel picks a unique abstract name.
    let auto = Socket::new(Family::Unix, Kind::Datagram).unwrap();
    auto.bind("@", 0).unwrap();
    match auto.local_endpoint().unwrap() {
        Endpoint::Unix(UnixAddr::Abstract(n)) => assert!(!n.is_empty()),
        other => panic!("autobind gave {other:?}"),
    }
}

#[test]
fn datagrams_between_paths_and_std() {
    let dir = TempDir::new("dgram");
    let a_path = dir.path("a");
    let a = Socket::new(Family::Unix, Kind::Datagram).unwrap();
    a.bind(&a_path, 0).unwrap();
    let b_path = dir.path("b");
    let std_b = UnixDatagram::bind(&b_path).unwrap();
    std_b
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();

    assert_eq!(a.send_to(b"hello", &b_path, 0).unwrap(), 5);
    let mut buf = [0u8; 16];
    let (n, from) = std_b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from.as_pathname(), Some(PathBuf::from(&a_path).as_path()));

    std_b.send_to(b"back", &a_path).unwrap();
    let mut raw = [std::mem::MaybeUninit::new(0u8); 16];
    let (n, from) = a.recv_from_flags(&mut raw, Default::default()).unwrap();
    assert_eq!(n, 4);
    assert_eq!(
        Endpoint::from_sockaddr(&from),
        Some(Endpoint::Unix(UnixAddr::Path(PathBuf::from(&b_path))))
    );
    // A port is refused for a Unix destination.
    let err = a.send_to(b"x", &b_path, 9).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn the_socket_file_goes_with_the_listener_that_made_it() {
    let dir = TempDir::new("file");
    let path = dir.path("l.sock");
    let l = Socket::unix_listen(&path, 4).unwrap();
    assert!(std::fs::symlink_metadata(&path).is_ok());
    let copy = l.dup().unwrap();
    l.close();
    assert!(
        std::fs::symlink_metadata(&path).is_ok(),
        "a dup still listens: the file stays"
    );
    copy.close();
    assert!(
        std::fs::symlink_metadata(&path).is_err(),
        "removed on the last close"
    );

    // A file that replaced ours is not ours to remove.
    let l = Socket::unix_listen(&path, 4).unwrap();
    std::fs::remove_file(&path).unwrap();
    let other = UnixListener::bind(&path).unwrap();
    drop(l);
    assert!(
        std::fs::symlink_metadata(&path).is_ok(),
        "the other file stays"
    );
    drop(other);

    // A descriptor we adopted did not make its file: it stays.
    let path2 = dir.path("adopted.sock");
    let std_l = UnixListener::bind(&path2).unwrap();
    let adopted = Socket::adopt_fd(std_l.into_raw_fd()).unwrap();
    assert!(adopted.is_listening());
    adopted.close();
    drop(adopted);
    assert!(std::fs::symlink_metadata(&path2).is_ok());
}

#[test]
fn stale_files_and_bad_paths() {
    let dir = TempDir::new("stale");
    let path = dir.path("stale.sock");
    // A stale socket file: bound by std, then the listener dropped.
    drop(UnixListener::bind(&path).unwrap());
    assert!(std::fs::symlink_metadata(&path).is_ok());
    let s = Socket::new(Family::Unix, Kind::Stream).unwrap();
    let err = s.bind(&path, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddressInUse, "{}", err.message());
    assert!(err.message().contains("unlink-stale"), "{}", err.message());
    // With the option, the stale file is removed and bind succeeds.
    s.set_option(SockOption::UnlinkStale, 1).unwrap();
    assert_eq!(s.get_option(SockOption::UnlinkStale).unwrap(), 1);
    s.bind(&path, 0).unwrap();
    s.listen(1).unwrap();
    // A live listener's file is never removed, option or not.
    let t = Socket::new(Family::Unix, Kind::Stream).unwrap();
    t.set_option(SockOption::UnlinkStale, 1).unwrap();
    assert_eq!(
        t.bind(&path, 0).unwrap_err().kind(),
        ErrorKind::AddressInUse
    );
    // Nor a regular file.
    let plain = dir.path("plain");
    std::fs::write(&plain, b"data").unwrap();
    assert_eq!(
        t.bind(&plain, 0).unwrap_err().kind(),
        ErrorKind::AddressInUse
    );
    assert_eq!(std::fs::read(&plain).unwrap(), b"data");

    // Nothing at the path: refused, with errno ENOENT.
    let err = Socket::unix_connect(&dir.path("none"), Kind::Stream, 1000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(err.os_error(), libc::ENOENT);
    // A directory that does not exist: bind is AddressNotAvailable.
    let u = Socket::new(Family::Unix, Kind::Stream).unwrap();
    let err = u.bind(&dir.path("no/such/dir"), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddressNotAvailable);
    // Too long: refused before any system call.
    let long = format!("{}/{}", dir.0.display(), "x".repeat(120));
    assert_eq!(
        u.bind(&long, 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Listen before bind.
    assert_eq!(u.listen(1).unwrap_err().kind(), ErrorKind::InvalidState);
    // TCP-only option.
    assert_eq!(
        u.set_option(SockOption::NoDelay, 1).unwrap_err().kind(),
        ErrorKind::WrongKind
    );
}

#[test]
fn socketpair_credentials_and_passed_descriptors() {
    let (a, b) = Socket::pair(Kind::Stream).unwrap();
    let cred = a.peer_cred().unwrap();
    assert_eq!(cred.pid as u32, std::process::id());
    // SAFETY: getuid/getgid cannot fail.
    assert_eq!(cred.uid, unsafe { libc::getuid() });
    assert_eq!(cred.gid, unsafe { libc::getgid() });

    // Pass one end of a std socketpair; talk through the received copy.
    let (mut mine, theirs) = UnixStream::pair().unwrap();
    assert_eq!(a.send_fds(b"F", &[theirs.as_raw_fd()]).unwrap(), 1);
    drop(theirs);
    let mut buf = [0u8; 8];
    let (n, fds) = b.recv_fds(&mut buf).unwrap();
    assert_eq!((n, fds.len()), (1, 1));
    let got = Socket::adopt_fd(fds.into_iter().next().unwrap().into_raw_fd()).unwrap();
    assert_eq!(got.family(), Family::Unix);
    got.send_all(b"via").unwrap();
    let mut three = [0u8; 3];
    mine.read_exact(&mut three).unwrap();
    assert_eq!(&three, b"via");

    // Plain bytes arrive with no descriptors; TCP sockets are refused.
    a.send_all(b"plain").unwrap();
    let (n, fds) = b.recv_fds(&mut buf).unwrap();
    assert_eq!((n, fds.len()), (5, 0));
    let tcp = Socket::new(Family::Inet, Kind::Stream).unwrap();
    assert_eq!(tcp.peer_cred().unwrap_err().kind(), ErrorKind::WrongKind);
    assert_eq!(
        a.send_fds(b"", &[0]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn a_pool_on_a_unix_path() {
    let dir = TempDir::new("pool");
    let path = dir.path("p.sock");
    let l = std::sync::Arc::new(Socket::unix_listen(&path, 8).unwrap());
    let server = {
        let l = l.clone();
        std::thread::spawn(move || {
            // Echo on one connection; the pool reuses it for both leases.
            let s = l.accept().unwrap();
            let mut b = [0u8; 2];
            for _ in 0..2 {
                s.recv_exact(&mut b).unwrap();
                s.send_all(&b).unwrap();
            }
        })
    };
    let pool = Pool::open(&path, 0, PoolConfig::default()).unwrap();
    for round in 0..2 {
        let lease = pool.acquire().unwrap();
        assert_eq!(lease.was_reused(), round == 1);
        let conn = lease.socket();
        assert_eq!(conn.family(), Family::Unix);
        conn.send_all(b"hi").unwrap();
        let mut b = [0u8; 2];
        conn.recv_exact(&mut b).unwrap();
        assert_eq!(&b, b"hi");
        lease.release();
    }
    server.join().unwrap();
    pool.close();
    // Port 0 with a host that is no path is still refused.
    assert_eq!(
        Pool::open("localhost", 0, PoolConfig::default())
            .err()
            .unwrap()
            .kind(),
        ErrorKind::InvalidArgument
    );
}
