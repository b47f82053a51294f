//! The connection pool's C ABI.

use super::*;
use crate::pool::conn::Upgrade;
use crate::pool::{Pool, PoolConfig, PoolStats};
use crate::registry::{self, Object};
use crate::tls::{PoolTls, TlsStream};
use std::sync::Arc;

/// Settings for sockrt_pool_open. Fill it with sockrt_pool_config_init, then
/// change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct sockrt_pool_config {
    /// Idle connections kept for reuse (default 8); 0 keeps none.
    pub max_idle: u32,
    /// Idle + in use + connecting; 0 = unlimited (default 32).
    pub max_total: u32,
    /// Timeout of each new connection, ms (default 5000; negative: none).
    pub connect_timeout_ms: i32,
    /// How long acquire queues for a free slot when max_total is reached,
    /// ms (default 5000; 0: do not wait; negative: forever).
    pub acquire_timeout_ms: i32,
    /// Close connections idle longer than this, ms (default 60000; negative:
    /// never).
    pub idle_timeout_ms: i32,
    /// Close connections older than this at release, ms (negative: never,
    /// the default).
    pub max_lifetime_ms: i32,
    /// Probe an idle connection before handing it out (one non-blocking
    /// poll(2)) and at release; default true: never hand out a connection the
    /// peer closed or reset. Off: acquire and release make no system call.
    pub check_on_acquire: bool,
    /// TCP_NODELAY on pooled connections (default true).
    pub nodelay: bool,
    /// A client TLS config handle (sockrt_tls_client_config_new): the pool
    /// hands out verified TLS streams over its connections, and the config
    /// keeps their sessions, so new connections resume. 0 (the default):
    /// plain TCP. The pool keeps what it needs: the handle may be closed
    /// after sockrt_pool_open.
    pub tls_config: sockrt_handle,
    /// The name the server's certificate must be valid for (also sent as
    /// SNI); NULL (the default): the pool's host. Copied by sockrt_pool_open.
    pub tls_server_name: *const c_char,
}

/// Pool counters; `idle` and `in_use` are current, the rest count events
/// since the pool opened.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
#[allow(non_camel_case_types)]
pub struct sockrt_pool_stats {
    /// Connections waiting idle for reuse.
    pub idle: u64,
    /// Connections leased out now.
    pub in_use: u64,
    /// Connections opened.
    pub created: u64,
    /// Acquires served by an idle connection.
    pub reused: u64,
    /// Idle connections the liveness check found closed, reset or holding
    /// stray bytes (closed, never handed out).
    pub closed_stale: u64,
    /// Connections closed for idle_timeout_ms or max_lifetime_ms.
    pub closed_expired: u64,
    /// Connections closed at release because a call on them failed, they were
    /// shut down, had unread bytes or a call in flight; or by
    /// sockrt_pool_discard or sockrt_close.
    pub closed_broken: u64,
    /// Acquires that had to queue for a slot.
    pub waits: u64,
    /// Acquires that gave up queueing (SOCKRT_E_POOL_EXHAUSTED).
    pub timeouts: u64,
}

impl From<sockrt_pool_config> for PoolConfig {
    fn from(c: sockrt_pool_config) -> PoolConfig {
        PoolConfig {
            max_idle: c.max_idle,
            max_total: c.max_total,
            connect_timeout_ms: c.connect_timeout_ms,
            acquire_timeout_ms: c.acquire_timeout_ms,
            idle_timeout_ms: c.idle_timeout_ms,
            max_lifetime_ms: c.max_lifetime_ms,
            check_on_acquire: c.check_on_acquire,
            nodelay: c.nodelay,
        }
    }
}

impl From<PoolConfig> for sockrt_pool_config {
    fn from(c: PoolConfig) -> sockrt_pool_config {
        sockrt_pool_config {
            max_idle: c.max_idle,
            max_total: c.max_total,
            connect_timeout_ms: c.connect_timeout_ms,
            acquire_timeout_ms: c.acquire_timeout_ms,
            idle_timeout_ms: c.idle_timeout_ms,
            max_lifetime_ms: c.max_lifetime_ms,
            check_on_acquire: c.check_on_acquire,
            nodelay: c.nodelay,
            tls_config: 0,
            tls_server_name: std::ptr::null(),
        }
    }
}

impl From<PoolStats> for sockrt_pool_stats {
    fn from(s: PoolStats) -> sockrt_pool_stats {
        sockrt_pool_stats {
            idle: s.idle,
            in_use: s.in_use,
            created: s.created,
            reused: s.reused,
            closed_stale: s.closed_stale,
            closed_expired: s.closed_expired,
            closed_broken: s.closed_broken,
            waits: s.waits,
            timeouts: s.timeouts,
        }
    }
}

/// Fills `*cfg` with the defaults (see each field). Does nothing if `cfg` is
/// NULL.
#[no_mangle]
pub extern "C" fn sockrt_pool_config_init(cfg: *mut sockrt_pool_config) {
    let _ = write_out(cfg, "cfg", PoolConfig::default().into());
}

/// Opens a pool of keep-alive TCP connections to `host:port` (`cfg` NULL:
/// the defaults) and writes its handle to `*out`. Connects lazily: nothing
/// happens on the network until the first acquire, and the host is resolved
/// at each new connection. Close it with sockrt_pool_close or sockrt_close.
/// With `cfg->tls_config` set, each new connection does a TLS handshake
/// (within connect_timeout_ms, counted in sockrt_pool_tls_handshakes) and
/// leases are TLS stream handles; the liveness check then processes pending
/// TLS records without blocking, so session tickets a server sends do not
/// make an idle connection look dead. Errors: SOCKRT_E_INVALID_ARGUMENT
/// (NULL `out`, bad host or server name, port 0), SOCKRT_E_BAD_HANDLE or
/// SOCKRT_E_WRONG_KIND (`tls_config` is not a client TLS config).
#[no_mangle]
pub extern "C" fn sockrt_pool_open(
    host: *const c_char,
    port: u16,
    cfg: *const sockrt_pool_config,
    out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let host = host_arg(host)?;
        let (config, tls) = if cfg.is_null() {
            (PoolConfig::default(), None)
        } else {
            // SAFETY: non-NULL and points to a config (header contract).
            let c = unsafe { *cfg };
            (c.into(), pool_tls(&c, host)?)
        };
        let handle = Pool::open_with_tls(host, port, config, tls)?.register("pool_open")?;
        write_out(out, "out", handle)
    })
}

/// The TLS settings of a pool config, checked before the pool opens.
fn pool_tls(c: &sockrt_pool_config, host: &str) -> Result<Option<Arc<dyn Upgrade>>> {
    let op = "pool_open";
    if c.tls_config == 0 {
        if !c.tls_server_name.is_null() {
            return Err(Error::invalid(format!(
                "{op}: tls_server_name is set but tls_config is 0"
            )));
        }
        return Ok(None);
    }
    let config = super::tls::any_config(c.tls_config, op)?;
    // Built now, so a bad config fails here rather than at the first acquire.
    config.client_config(op)?;
    let server_name = if c.tls_server_name.is_null() {
        host.to_owned()
    } else {
        host_arg(c.tls_server_name)
            .map_err(|e| Error::invalid(format!("{op}: tls_server_name: {e}")))?
            .to_owned()
    };
    TlsStream::check_server_name(&server_name, op)?;
    Ok(Some(Arc::new(PoolTls {
        config,
        server_name,
    })))
}

/// Leases a connection: the newest idle one that passes the liveness check,
/// or a new one (blocks connecting, up to connect_timeout_ms) if max_total
/// allows; otherwise queues, first come first served, up to
/// acquire_timeout_ms for one to be released. Writes an ordinary stream
/// handle to `*conn_out`, usable with every data call. End the lease with
/// sockrt_pool_release (healthy), sockrt_pool_discard (broken) or
/// sockrt_close. Errors: SOCKRT_E_POOL_EXHAUSTED (no slot in time),
/// SOCKRT_E_POOL_CLOSED, connect errors (SOCKRT_E_CONNECTION_REFUSED, ...).
#[no_mangle]
pub extern "C" fn sockrt_pool_acquire(pool: sockrt_handle, conn_out: *mut sockrt_handle) -> i32 {
    boundary(|| {
        require_out(conn_out, "conn_out")?;
        let handle = registry::pool(pool, "pool_acquire")?.acquire()?;
        write_out(conn_out, "conn_out", handle)
    })
}

/// Ends a lease: the connection goes back to idle if healthy; if a call on it
/// failed, it was shut down, has unread bytes, or another call is still in
/// flight on it, it is closed instead (closed_broken). Either way `conn` is
/// invalid afterwards. Works after sockrt_pool_close too (the connection is
/// then closed). Does not block. Errors: SOCKRT_E_INVALID_ARGUMENT
/// (`conn` is not a connection of this pool; it stays valid),
/// SOCKRT_E_BAD_HANDLE (already released, discarded or closed).
#[no_mangle]
pub extern "C" fn sockrt_pool_release(pool: sockrt_handle, conn: sockrt_handle) -> i32 {
    boundary(|| Pool::release_lease(pool, conn))
}

/// Ends a lease and closes the connection, freeing its slot (use it for a
/// connection that failed). `conn` is invalid afterwards. Errors: as
/// sockrt_pool_release.
#[no_mangle]
pub extern "C" fn sockrt_pool_discard(pool: sockrt_handle, conn: sockrt_handle) -> i32 {
    boundary(|| Pool::discard_lease(pool, conn))
}

/// 1 if this pooled connection served an earlier acquire, 0 if it is new (or
/// not from a pool), or a negative code. A caller can retry an idempotent
/// request once on a fresh connection when a reused one fails before any
/// reply.
#[no_mangle]
pub extern "C" fn sockrt_pool_was_reused(conn: sockrt_handle) -> i32 {
    boundary::<Count>(|| {
        let stream = registry::stream(conn, "pool_was_reused")?;
        Ok(stream
            .socket()
            .membership
            .get()
            .map_or(0, |m| i32::from(m.was_reused())))
    })
    .0
}

/// Copies the pool's counters to `*out`. Never blocks the pool's users for
/// more than a copy; also closes idle connections that have expired.
#[no_mangle]
pub extern "C" fn sockrt_pool_get_stats(pool: sockrt_handle, out: *mut sockrt_pool_stats) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let stats = registry::pool(pool, "pool_get_stats")?.stats();
        write_out(out, "out", stats.into())
    })
}

/// Writes how many TLS handshakes the pool's connections did: full ones to
/// `*full_out`, resumed ones (an earlier session reused) to `*resumed_out`;
/// either may be NULL. Both stay 0 for a pool without TLS.
#[no_mangle]
pub extern "C" fn sockrt_pool_tls_handshakes(
    pool: sockrt_handle,
    full_out: *mut u64,
    resumed_out: *mut u64,
) -> i32 {
    boundary(|| {
        let (full, resumed) = registry::pool(pool, "pool_tls_handshakes")?.tls_handshakes();
        if !full_out.is_null() {
            write_out(full_out, "full_out", full)?;
        }
        if !resumed_out.is_null() {
            write_out(resumed_out, "resumed_out", resumed)?;
        }
        Ok(())
    })
}

/// Closes the pool: idle connections close now; threads queued in acquire
/// return SOCKRT_E_POOL_CLOSED; leased connections stay usable and close when
/// released, discarded or closed. The pool handle is invalid afterwards.
/// Does not block.
#[no_mangle]
pub extern "C" fn sockrt_pool_close(pool: sockrt_handle) -> i32 {
    boundary(|| {
        let closed = registry::remove_if(pool, "pool_close", |object| match object {
            Object::Pool(_) => Ok(()),
            other => Err(Error::new(
                ErrorKind::WrongKind,
                format!(
                    "pool_close: handle {pool:#x} is {}, not a pool",
                    other.kind_name()
                ),
            )),
        })?;
        if let Object::Pool(p) = closed {
            p.close();
        }
        Ok(())
    })
}
