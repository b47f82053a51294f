//! Socket options: the library's own (timeouts, busy polling), the common OS
//! ones by name, and raw setsockopt/getsockopt.

use super::engine::KERNEL_TIMEOUT_UNKNOWN;
use super::Socket;
use crate::addr::{Family, Kind};
use crate::error::{Error, Result};
use crate::sync::Ordering;
use crate::sys;
use std::io;
use std::time::Duration;

/// The longest busy-poll window accepted (one second).
pub(crate) const BUSY_POLL_MAX_US: i64 = 1_000_000;

/// Socket options, as `sockrt_set_option`/`sockrt_get_option` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOption {
    ReadTimeoutMs,
    WriteTimeoutMs,
    NoDelay,
    KeepAlive,
    ReuseAddr,
    RecvBuffer,
    SendBuffer,
    Broadcast,
    BusyPollUs,
    /// SO_LINGER in seconds; -1 = off; 0 = close resets the connection.
    Linger,
    ReusePort,
    /// Read only: the pending error (errno, 0 if none); ends a background
    /// connect that has ended.
    Error,
    /// Read only: bytes readable now.
    ReadableBytes,
    /// Write only, on a listening socket: its backlog (listen(2) again).
    Backlog,
    /// Unix sockets, 0 or 1: bind removes a stale socket file at its path
    /// first (one that nothing is bound to; see `unix.rs`).
    UnlinkStale,
}

/// "set_option NoDelay", formatted only if an error needs it.
#[derive(Clone, Copy)]
struct OptionOp(&'static str, SockOption);

impl std::fmt::Display for OptionOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.0, self.1)
    }
}

impl Socket {
    /// TCP-only options (NoDelay): a stream socket of an IP family.
    fn require_tcp(&self, op: OptionOp) -> Result<()> {
        self.require_kind(Kind::Stream, op)?;
        if self.family == Family::Unix {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::WrongKind,
                format!("{op}: only for TCP sockets, not Unix ones"),
            ));
        }
        Ok(())
    }

    fn require_family_unix(&self, op: OptionOp) -> Result<()> {
        if self.family != Family::Unix {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::WrongKind,
                format!("{op}: only for Unix domain sockets"),
            ));
        }
        Ok(())
    }

    pub fn set_option(&self, opt: SockOption, value: i64) -> Result<()> {
        let as_bool = || match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::invalid(format!(
                "set_option {opt:?}: value must be 0 or 1, not {value}"
            ))),
        };
        let as_size = || {
            usize::try_from(value)
                .ok()
                .filter(|&v| v > 0 && v <= i32::MAX as usize)
                .ok_or_else(|| {
                    Error::invalid(format!("set_option {opt:?}: size {value} out of range"))
                })
        };
        let op = OptionOp("set_option", opt);
        let sys = |r: io::Result<()>| r.map_err(|e| Error::from_io(op, &e));
        match opt {
            SockOption::ReadTimeoutMs => self.read_timeout_ms.store(value, Ordering::Relaxed),
            SockOption::WriteTimeoutMs => self.write_timeout_ms.store(value, Ordering::Relaxed),
            SockOption::BusyPollUs => {
                if !(0..=BUSY_POLL_MAX_US).contains(&value) {
                    return Err(Error::invalid(format!(
                        "set_option BusyPollUs: {value} is outside 0..={BUSY_POLL_MAX_US}"
                    )));
                }
                self.busy_poll_us.store(value as u32, Ordering::Relaxed)
            }
            SockOption::NoDelay => {
                self.require_tcp(op)?;
                sys(self.sock.set_tcp_nodelay(as_bool()?))?
            }
            SockOption::UnlinkStale => {
                self.require_family_unix(op)?;
                self.unlink_stale.store(as_bool()?, Ordering::Relaxed)
            }
            SockOption::KeepAlive => sys(self.sock.set_keepalive(as_bool()?))?,
            SockOption::ReuseAddr => sys(self.sock.set_reuse_address(as_bool()?))?,
            SockOption::ReusePort => sys(self.sock.set_reuse_port(as_bool()?))?,
            SockOption::Broadcast => {
                self.require_kind(Kind::Datagram, op)?;
                sys(self.sock.set_broadcast(as_bool()?))?
            }
            SockOption::RecvBuffer => sys(self.sock.set_recv_buffer_size(as_size()?))?,
            SockOption::SendBuffer => sys(self.sock.set_send_buffer_size(as_size()?))?,
            SockOption::Linger => {
                let linger = match value {
                    -1 => None,
                    0..=65535 => Some(Duration::from_secs(value as u64)),
                    _ => {
                        return Err(Error::invalid(format!(
                            "set_option Linger: {value} is not -1 or 0..=65535 seconds"
                        )))
                    }
                };
                sys(self.sock.set_linger(linger))?;
                self.linger_resets.store(value == 0, Ordering::Relaxed);
            }
            SockOption::Backlog => {
                let backlog = i32::try_from(value).map_err(|_| {
                    Error::invalid(format!("set_option Backlog: {value} is out of range"))
                })?;
                self.set_backlog(backlog)?
            }
            SockOption::Error | SockOption::ReadableBytes => {
                return Err(Error::invalid(format!(
                    "set_option {opt:?}: read-only option"
                )))
            }
        }
        Ok(())
    }

    pub fn get_option(&self, opt: SockOption) -> Result<i64> {
        let op = OptionOp("get_option", opt);
        let sys_bool = |r: io::Result<bool>| r.map(i64::from).map_err(|e| Error::from_io(op, &e));
        let sys_size =
            |r: io::Result<usize>| r.map(|v| v as i64).map_err(|e| Error::from_io(op, &e));
        match opt {
            SockOption::ReadTimeoutMs => Ok(self.read_timeout_ms.load(Ordering::Relaxed)),
            SockOption::WriteTimeoutMs => Ok(self.write_timeout_ms.load(Ordering::Relaxed)),
            SockOption::BusyPollUs => Ok(i64::from(self.busy_poll_us.load(Ordering::Relaxed))),
            SockOption::NoDelay => {
                self.require_tcp(op)?;
                sys_bool(self.sock.tcp_nodelay())
            }
            SockOption::UnlinkStale => {
                self.require_family_unix(op)?;
                Ok(i64::from(self.unlink_stale.load(Ordering::Relaxed)))
            }
            SockOption::KeepAlive => sys_bool(self.sock.keepalive()),
            SockOption::ReuseAddr => sys_bool(self.sock.reuse_address()),
            SockOption::ReusePort => sys_bool(self.sock.reuse_port()),
            SockOption::Broadcast => {
                self.require_kind(Kind::Datagram, op)?;
                sys_bool(self.sock.broadcast())
            }
            SockOption::RecvBuffer => sys_size(self.sock.recv_buffer_size()),
            SockOption::SendBuffer => sys_size(self.sock.send_buffer_size()),
            SockOption::Linger => self
                .sock
                .linger()
                .map(|l| l.map_or(-1, |d| d.as_secs() as i64))
                .map_err(|e| Error::from_io(op, &e)),
            SockOption::Error => Ok(i64::from(self.finish_background_connect()?.unwrap_or(0))),
            SockOption::ReadableBytes => {
                sys::readable_bytes(self.fileno()).map_err(|e| Error::from_io(op, &e))
            }
            SockOption::Backlog => Err(Error::invalid("get_option Backlog: write-only option")),
        }
    }

    /// Raw setsockopt(2) with the OS's level and name. Keeps the library's
    /// view of the options it relies on (timeouts, linger) in step.
    pub fn set_raw_option(&self, level: i32, name: i32, value: &[u8]) -> Result<()> {
        sys::setsockopt(self.fileno(), level, name, value)
            .map_err(|e| Error::from_io(format!("setsockopt {level}/{name}"), &e))?;
        if level == libc::SOL_SOCKET {
            match name {
                libc::SO_RCVTIMEO => self
                    .kernel_rcvtimeo_us
                    .store(KERNEL_TIMEOUT_UNKNOWN, Ordering::Relaxed),
                libc::SO_SNDTIMEO => self
                    .kernel_sndtimeo_us
                    .store(KERNEL_TIMEOUT_UNKNOWN, Ordering::Relaxed),
                libc::SO_LINGER => {
                    let resets = self.sock.linger().ok().flatten() == Some(Duration::ZERO);
                    self.linger_resets.store(resets, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Raw getsockopt(2); returns the length written into `value`.
    /// SO_ERROR ends a background connect that has ended, as it does in C.
    pub fn get_raw_option(&self, level: i32, name: i32, value: &mut [u8]) -> Result<usize> {
        if level == libc::SOL_SOCKET && name == libc::SO_ERROR && value.len() >= 4 {
            let errno = self.finish_background_connect()?.unwrap_or(0);
            value[..4].copy_from_slice(&errno.to_ne_bytes());
            return Ok(4);
        }
        sys::getsockopt(self.fileno(), level, name, value)
            .map_err(|e| Error::from_io(format!("getsockopt {level}/{name}"), &e))
    }
}
