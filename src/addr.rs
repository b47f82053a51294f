//! Address families, socket kinds, host/port parsing and name resolution.
//!
//! Numeric IPv4/IPv6 literals are parsed without a system call; anything else
//! goes through the system resolver (getaddrinfo), which blocks and cannot be
//! interrupted. IPv6 literals may be written with or without brackets.

use crate::error::{Error, ErrorKind, Result};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Inet,
    Inet6,
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
        }
    }

    pub(crate) fn domain(self) -> socket2::Domain {
        match self {
            Family::Inet => socket2::Domain::IPV4,
            Family::Inet6 => socket2::Domain::IPV6,
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
