//! Address families, socket kinds, host/port parsing and name resolution.
//!
//! Numeric IPv4/IPv6 literals are parsed without a system call; anything else
//! goes through the system resolver (getaddrinfo), which blocks and cannot be
//! interrupted. IPv6 literals may be written with or without brackets.
//!
//! Unix domain addresses ([`UnixAddr`]) are written as text too: a filesystem
//! path (`"/run/app.sock"`, `"./s"`), or Linux's abstract namespace as a
//! leading `@` (`"@app"`; `"@"` alone lets the kernel pick a unique name,
//! as port 0 picks a free port). [`Endpoint`] is either kind.

use crate::error::{Error, ErrorKind, Result};
use socket2::SockAddr;
use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Inet,
    Inet6,
    /// Unix domain sockets (AF_UNIX): paths and abstract names.
    Unix,
}

impl Family {
    pub fn of(addr: &SocketAddr) -> Family {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Inet => "IPv4",
            Family::Inet6 => "IPv6",
            Family::Unix => "Unix",
        }
    }

    pub(crate) fn domain(self) -> socket2::Domain {
        match self {
            Family::Inet => socket2::Domain::IPV4,
            Family::Inet6 => socket2::Domain::IPV6,
            Family::Unix => socket2::Domain::UNIX,
        }
    }
}

/// Stream (TCP) or datagram (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Datagram,
}

/// A numeric IPv4/IPv6 literal (IPv6 with or without brackets), parsed
/// without a system call; `None` for a name.
pub fn parse_literal(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

fn check_family(host: &str, addr: SocketAddr, family: Option<Family>) -> Result<SocketAddr> {
    match family {
        Some(f) if f != Family::of(&addr) => Err(Error::invalid(format!(
            "{host} is not an {} address",
            f.name()
        ))),
        _ => Ok(addr),
    }
}

/// Bytes that always hold an address string and its NUL (`SOCKRT_ADDR_MAX`).
pub(crate) const ADDR_MAX: usize = 64;

/// The size of `sun_path` on Linux.
pub(crate) const SUN_PATH_LEN: usize = 108;

/// Bytes that always hold a Unix address string and its NUL
/// (`SOCKRT_UNIX_PATH_MAX`): the longest is an abstract name of
/// `SUN_PATH_LEN - 1` bytes written with its `@`.
pub(crate) const UNIX_ADDR_MAX: usize = SUN_PATH_LEN + 1;

/// A Unix domain socket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixAddr {
    /// A filesystem path (at most `SUN_PATH_LEN - 1` bytes, no NUL).
    Path(PathBuf),
    /// A name in Linux's abstract namespace (written `@name`).
    Abstract(Vec<u8>),
    /// No name: an unbound socket, one end of a socketpair, or (to bind)
    /// "let the kernel pick an abstract name" (written `@` to bind, read
    /// back as the empty string).
    Unnamed,
}

impl UnixAddr {
    /// Parses a path or `@name`; refuses NUL bytes and names that do not
    /// fit `sun_path` (never truncated).
    pub fn parse(text: &str) -> Result<UnixAddr> {
        if text.is_empty() {
            return Err(Error::invalid("Unix socket path is empty"));
        }
        if text.contains('\0') {
            return Err(Error::invalid("Unix socket path contains a NUL byte"));
        }
        let (addr, len) = match text.strip_prefix('@') {
            Some("") => (UnixAddr::Unnamed, 0),
            Some(name) => (UnixAddr::Abstract(name.as_bytes().to_vec()), name.len()),
            None => (UnixAddr::Path(PathBuf::from(text)), text.len()),
        };
        if len >= SUN_PATH_LEN {
            return Err(Error::invalid(format!(
                "Unix socket path {} is {len} bytes; at most {} fit in sun_path",
                abbreviate(text),
                SUN_PATH_LEN - 1
            )));
        }
        Ok(addr)
    }

    /// The kernel's form of the address.
    pub fn to_sockaddr(&self) -> Result<SockAddr> {
        let made = match self {
            UnixAddr::Path(p) => SockAddr::unix(p),
            UnixAddr::Abstract(name) => {
                let mut bytes = Vec::with_capacity(name.len() + 1);
                bytes.push(0u8);
                bytes.extend_from_slice(name);
                SockAddr::unix(Path::new(OsStr::from_bytes(&bytes)))
            }
            UnixAddr::Unnamed => SockAddr::unix(""),
        };
        made.map_err(|e| Error::invalid(format!("Unix socket path {self}: {e}")))
    }

    /// The address of an AF_UNIX `SockAddr`; `None` for another family.
    pub fn from_sockaddr(addr: &SockAddr) -> Option<UnixAddr> {
        if !addr.is_unix() {
            return None;
        }
        if let Some(path) = addr.as_pathname() {
            return Some(UnixAddr::Path(path.to_path_buf()));
        }
        if let Some(name) = addr.as_abstract_namespace() {
            return Some(UnixAddr::Abstract(name.to_vec()));
        }
        Some(UnixAddr::Unnamed)
    }

    /// The text form as bytes: the path, `@name`, or empty for unnamed.
    /// A path need not be UTF-8, so this is bytes, not a `String`.
    pub fn to_text_bytes(&self) -> Vec<u8> {
        match self {
            UnixAddr::Path(p) => p.as_os_str().as_bytes().to_vec(),
            UnixAddr::Abstract(name) => {
                let mut text = Vec::with_capacity(name.len() + 1);
                text.push(b'@');
                text.extend_from_slice(name);
                text
            }
            UnixAddr::Unnamed => Vec::new(),
        }
    }
}

impl std::fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnixAddr::Unnamed => f.write_str("(unnamed)"),
            other => f.write_str(&String::from_utf8_lossy(&other.to_text_bytes())),
        }
    }
}

/// A long path shortened for an error message.
fn abbreviate(text: &str) -> String {
    if text.len() <= 40 {
        return text.to_owned();
    }
    let head: String = text.chars().take(32).collect();
    format!("{head}...")
}

/// An address of any family the runtime speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Ip(SocketAddr),
    Unix(UnixAddr),
}

impl Endpoint {
    /// The address of a `SockAddr` of a family the runtime knows.
    pub fn from_sockaddr(addr: &SockAddr) -> Option<Endpoint> {
        match addr.as_socket() {
            Some(ip) => Some(Endpoint::Ip(ip)),
            None => UnixAddr::from_sockaddr(addr).map(Endpoint::Unix),
        }
    }

    /// The host part as text bytes: "127.0.0.1", "/run/app.sock", "@app".
    pub fn host_bytes(&self) -> Vec<u8> {
        match self {
            Endpoint::Ip(a) => host_string(a).into_bytes(),
            Endpoint::Unix(u) => u.to_text_bytes(),
        }
    }

    /// The port; 0 for a Unix address.
    pub fn port(&self) -> u16 {
        match self {
            Endpoint::Ip(a) => a.port(),
            Endpoint::Unix(_) => 0,
        }
    }
}

/// Whether `host` with `port` names a Unix socket where an IP endpoint could
/// also be meant (the pool): port 0 and a path with a `/`, or `@name`.
pub fn looks_like_unix(host: &str, port: u16) -> bool {
    port == 0 && (host.contains('/') || host.starts_with('@'))
}

/// A Unix address given as host and port: the port must be 0.
pub fn unix_endpoint(host: &str, port: u16, op: &str) -> Result<UnixAddr> {
    if port != 0 {
        return Err(Error::invalid(format!(
            "{op}: a Unix socket address has no port (give 0, not {port})"
        )));
    }
    UnixAddr::parse(host).map_err(|e| Error::invalid(format!("{op}: {}", e.message())))
}

/// Every address `host` resolves to, in resolver order, optionally limited to
/// one family. Never empty on success.
pub fn resolve(host: &str, port: u16, family: Option<Family>) -> Result<Vec<SocketAddr>> {
    if host.is_empty() {
        return Err(Error::invalid("host is empty"));
    }
    if let Some(addr) = parse_literal(host, port) {
        return Ok(vec![check_family(host, addr, family)?]);
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let found: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| Error::new(ErrorKind::Resolve, format!("resolve {host}: {e}")))?
        .filter(|a| family.is_none_or(|f| f == Family::of(a)))
        .collect();
    if found.is_empty() {
        let wanted = family.map_or("any", Family::name);
        return Err(Error::new(
            ErrorKind::Resolve,
            format!("resolve {host}: no {wanted} address"),
        ));
    }
    Ok(found)
}

/// The first address `host` resolves to in `family`.
pub fn resolve_one(host: &str, port: u16, family: Family) -> Result<SocketAddr> {
    if let Some(addr) = parse_literal(host, port) {
        return check_family(host, addr, Some(family));
    }
    Ok(resolve(host, port, Some(family))?[0])
}

/// The host part of an address as text: "127.0.0.1", "::1", "fe80::1%2".
pub fn host_string(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) if a.scope_id() != 0 => format!("{}%{}", a.ip(), a.scope_id()),
        SocketAddr::V6(a) => a.ip().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_need_no_resolver() {
        let v4 = resolve("127.0.0.1", 80, None).unwrap();
        assert_eq!(v4, vec!["127.0.0.1:80".parse().unwrap()]);
        let v6 = resolve("[::1]", 80, Some(Family::Inet6)).unwrap();
        assert_eq!(v6, vec!["[::1]:80".parse().unwrap()]);
    }

    #[test]
    fn literal_of_the_other_family_is_invalid() {
        let err = resolve("::1", 80, Some(Family::Inet)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn unknown_name_is_a_resolve_error() {
        let err = resolve("no-such-host.invalid", 80, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Resolve);
        assert!(err.message().contains("no-such-host.invalid"));
    }

    #[test]
    fn localhost_resolves() {
        let addrs = resolve("localhost", 1, Some(Family::Inet)).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn unix_text_round_trips() {
        for text in ["/tmp/x.sock", "./rel", "@name", "@"] {
            let addr = UnixAddr::parse(text).unwrap();
            let back = UnixAddr::from_sockaddr(&addr.to_sockaddr().unwrap()).unwrap();
            assert_eq!(back, addr, "{text}");
        }
        assert_eq!(UnixAddr::parse("@").unwrap().to_text_bytes(), b"");
        assert_eq!(UnixAddr::parse("@ab").unwrap().to_text_bytes(), b"@ab");
    }

    #[test]
    fn unix_paths_that_do_not_fit_are_refused() {
        let fits = format!("/{}", "a".repeat(SUN_PATH_LEN - 2));
        assert!(UnixAddr::parse(&fits).unwrap().to_sockaddr().is_ok());
        let too_long = format!("/{}", "a".repeat(SUN_PATH_LEN - 1));
        let err = UnixAddr::parse(&too_long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let name = format!("@{}", "n".repeat(SUN_PATH_LEN - 1));
        let addr = UnixAddr::parse(&name).unwrap();
        assert_eq!(addr.to_text_bytes().len() + 1, UNIX_ADDR_MAX);
        assert!(addr.to_sockaddr().is_ok());
        let name = format!("@{}", "n".repeat(SUN_PATH_LEN));
        assert!(UnixAddr::parse(&name).is_err());
        assert!(UnixAddr::parse("a\0b").is_err());
        assert!(UnixAddr::parse("").is_err());
    }

    #[test]
    fn pool_hosts_that_name_unix_sockets() {
        assert!(looks_like_unix("/run/a.sock", 0));
        assert!(looks_like_unix("@a", 0));
        assert!(!looks_like_unix("/run/a.sock", 80));
        assert!(!looks_like_unix("localhost", 0));
    }

    #[test]
    fn host_strings_fit_addr_max() {
        let long: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:1"
            .parse()
            .unwrap_or_else(|_| {
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1"
                    .parse()
                    .unwrap()
            });
        assert!(host_string(&long).len() < ADDR_MAX);
    }
}
