//! The connection pool's C ABI.

use super::*;
use crate::pool::{AcquireOptions, Pool, PoolConfig, PoolStats, Upgrade};
use crate::registry::{self, Leased, Object};
use crate::tls::{PoolTls, TlsStream};
use std::sync::Arc;

/// sockrt_pool_acquire_ex: a connection that never served a lease.
pub const SOCKRT_ACQUIRE_FRESH: u32 = 1;

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
    /// 0 or 1 (default 1): probe an idle connection before handing it out
    /// (one non-blocking poll(2)) and at release, so a connection the peer
    /// closed or reset is never handed out. The probe cannot see a close
    /// still in flight: a server that answered `Connection: close`, or
    /// timed the connection out an instant ago, whose FIN has not arrived
    /// yet. So honour `Connection: close` (discard that connection), keep
    /// idle_timeout_ms below the server's idle timeout, and retry an
    /// idempotent request that failed on a reused connection once, with
    /// sockrt_pool_acquire_ex(pool, SOCKRT_ACQUIRE_FRESH, ...) (another idle
    /// one may be just as stale). 0: acquire and release make no system call.
    /// Any other value: SOCKRT_E_INVALID_ARGUMENT.
    pub check_on_acquire: u8,
    /// 0 or 1 (default 1): TCP_NODELAY on pooled connections. Any other
    /// value: SOCKRT_E_INVALID_ARGUMENT.
    pub nodelay: u8,
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

fn flag(value: u8, name: &str) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::invalid(format!(
            "pool_open: cfg->{name} must be 0 or 1, not {value}"
        ))),
    }
}

impl TryFrom<&sockrt_pool_config> for PoolConfig {
    type Error = Error;
    fn try_from(c: &sockrt_pool_config) -> Result<PoolConfig> {
        Ok(PoolConfig {
            max_idle: c.max_idle,
            max_total: c.max_total,
            connect_timeout_ms: c.connect_timeout_ms,
            acquire_timeout_ms: c.acquire_timeout_ms,
            idle_timeout_ms: c.idle_timeout_ms,
            max_lifetime_ms: c.max_lifetime_ms,
            check_on_acquire: flag(c.check_on_acquire, "check_on_acquire")?,
            nodelay: flag(c.nodelay, "nodelay")?,
        })
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
            check_on_acquire: u8::from(c.check_on_acquire),
            nodelay: u8::from(c.nodelay),
            tls_config: 0,
            tls_server_name: std::ptr::null(),
        }
    }
}

/// Pool counters (C name `sockrt_pool_stats`): the runtime's own type, so
/// there is nothing to convert.
#[allow(non_camel_case_types)]
pub type sockrt_pool_stats = PoolStats;

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
/// With port 0 and a `host` that contains a '/' ("/run/app.sock", "./s") or
/// starts with '@' ("@app"), the pool keeps Unix stream connections to that
/// socket path or abstract name instead (the nodelay flag does not apply).
/// With `cfg->tls_config` set, each new connection does a TLS handshake
/// after its connect (both within connect_timeout_ms; counted in
/// sockrt_pool_tls_handshakes) and leases are TLS stream handles; the
/// liveness check then processes pending TLS records without blocking, so
/// session tickets a server sends do not make an idle connection look dead.
/// Errors: SOCKRT_E_INVALID_ARGUMENT (NULL `out`, bad host or server name,
/// port 0 with a host that is not a Unix path, a flag not 0 or 1),
/// SOCKRT_E_BAD_HANDLE or SOCKRT_E_WRONG_KIND (`tls_config` is not a client
/// TLS config).
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
            // SAFETY: non-NULL and points to a config (header contract);
            // every field is an integer or a pointer, so any bytes are a
            // valid value.
            let c = unsafe { &*cfg };
            (PoolConfig::try_from(c)?, pool_tls(c, host)?)
        };
        let pool = Pool::open_with_tls(host, port, config, tls)?;
        let handle = registry::insert(Object::Pool(pool), "pool_open")?;
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
/// handle to `*conn_out`, usable with every data call (a TLS stream handle
/// if the pool has a TLS config). End the lease with
/// sockrt_pool_release (healthy), sockrt_pool_discard (broken) or
/// sockrt_close. sockrt_pool_close wakes a queued or connecting acquire at
/// once (SOCKRT_E_POOL_CLOSED; a half-made connection is closed).
/// Errors: SOCKRT_E_POOL_EXHAUSTED (no slot in time), SOCKRT_E_POOL_CLOSED,
/// connect errors (SOCKRT_E_CONNECTION_REFUSED, ...).
#[no_mangle]
pub extern "C" fn sockrt_pool_acquire(pool: sockrt_handle, conn_out: *mut sockrt_handle) -> i32 {
    boundary(|| acquire(pool, AcquireOptions::default(), conn_out))
}

/// Like sockrt_pool_acquire, but `timeout_ms` replaces the pool's
/// acquire_timeout_ms for this call (negative: wait forever, 0: do not
/// wait), and `flags` may hold SOCKRT_ACQUIRE_FRESH: a connection that never
/// served a lease. A fresh acquire opens a new connection even when idle
/// ones exist, closing the oldest idle one if that is needed to stay within
/// max_total (counted in closed_expired); it never hands out an idle one.
/// Use it for the one retry of an idempotent request that failed on a
/// reused connection (sockrt_pool_was_reused). Bindings that must react to
/// signals while waiting for a slot call it in bounded slices with the time
/// left. Errors: as sockrt_pool_acquire; SOCKRT_E_INVALID_ARGUMENT for
/// unknown flags.
#[no_mangle]
pub extern "C" fn sockrt_pool_acquire_ex(
    pool: sockrt_handle,
    flags: u32,
    timeout_ms: i32,
    conn_out: *mut sockrt_handle,
) -> i32 {
    boundary(|| {
        if flags & !SOCKRT_ACQUIRE_FRESH != 0 {
            return Err(Error::invalid(format!(
                "pool_acquire_ex: unknown flags {flags:#x}"
            )));
        }
        let options = AcquireOptions {
            fresh: flags & SOCKRT_ACQUIRE_FRESH != 0,
            timeout_ms: Some(timeout_ms),
        };
        acquire(pool, options, conn_out)
    })
}

fn acquire(
    pool: sockrt_handle,
    options: AcquireOptions,
    conn_out: *mut sockrt_handle,
) -> Result<()> {
    require_out(conn_out, "conn_out")?;
    let lease = registry::pool(pool, "pool_acquire")?.lease(options)?;
    let handle = registry::insert_lease(lease, pool, "pool_acquire")?;
    write_out(conn_out, "conn_out", handle)
}

/// Ends the lease `conn` names through the handle `pool` of the pool it
/// came from (recorded beside the lease, so no look-up of the pool is
/// needed). Once the pool is closed its handle is gone, but its leases can
/// still be ended through it: the connection is then closed.
fn end_lease(pool: sockrt_handle, conn: sockrt_handle, op: &str, release: bool) -> Result<()> {
    let refused = || {
        Error::invalid(format!(
            "{op}: handle {conn:#x} is not a connection of this pool"
        ))
    };
    let ended = registry::remove_if(conn, op, |object| match object {
        Object::Lease(entry) if entry.pool_handle == pool => Ok(()),
        _ => Err(refused()),
    });
    match ended {
        Ok(Object::Lease(entry)) => {
            Leased::end(entry, release);
            Ok(())
        }
        Ok(_) => Ok(()),
        // A conn handle that is gone: BAD_HANDLE for it.
        Err(e) if e.kind() == ErrorKind::BadHandle => Err(e),
        // Refused: a pool handle that is bad or names no pool says so first.
        Err(e) => match registry::get(pool, op)? {
            Object::Pool(_) => Err(e),
            other => Err(Error::new(
                ErrorKind::WrongKind,
                format!(
                    "{op}: handle {pool:#x} is a {}, not a pool",
                    other.kind_name()
                ),
            )),
        },
    }
}

/// Ends a lease: the connection goes back to idle if healthy; if a call on it
/// failed, it was shut down, has unread bytes, or another call is still in
/// flight on it, it is closed instead (closed_broken). Either way `conn` is
/// invalid afterwards. The per-lease settings (read and write timeouts,
/// busy polling) are reset at release, so the next lease starts with the
/// defaults; socket options (SOCKRT_OPT_NODELAY, buffer sizes, keep-alive)
/// stay as this lease left them. Works after sockrt_pool_close too (the
/// connection is then closed). Does not block. Errors:
/// SOCKRT_E_INVALID_ARGUMENT
/// (`conn` is not a connection of this pool; it stays valid),
/// SOCKRT_E_BAD_HANDLE (already released, discarded or closed).
#[no_mangle]
pub extern "C" fn sockrt_pool_release(pool: sockrt_handle, conn: sockrt_handle) -> i32 {
    boundary(|| end_lease(pool, conn, "pool_release", true))
}

/// Ends a lease and closes the connection, freeing its slot (use it for a
/// connection that failed). `conn` is invalid afterwards. Errors: as
/// sockrt_pool_release.
#[no_mangle]
pub extern "C" fn sockrt_pool_discard(pool: sockrt_handle, conn: sockrt_handle) -> i32 {
    boundary(|| end_lease(pool, conn, "pool_discard", false))
}

/// 1 if this pooled connection served an earlier acquire, 0 if it is new (or
/// not from a pool), or a negative code. A caller can retry an idempotent
/// request once on a fresh connection when a reused one fails before any
/// reply.
#[no_mangle]
pub extern "C" fn sockrt_pool_was_reused(conn: sockrt_handle) -> i32 {
    boundary::<Count>(|| match registry::get(conn, "pool_was_reused")? {
        Object::Lease(entry) => Ok(i32::from(entry.lease.was_reused())),
        Object::Socket(_) | Object::Tls(_) => Ok(0),
        other => Err(Error::new(
            ErrorKind::WrongKind,
            format!(
                "pool_was_reused: handle {conn:#x} is a {}, not a socket",
                other.kind_name()
            ),
        )),
    })
    .0
}

/// Copies the pool's counters to `*out`. Never blocks the pool's users for
/// more than a copy; also closes idle connections that have expired.
#[no_mangle]
pub extern "C" fn sockrt_pool_get_stats(pool: sockrt_handle, out: *mut PoolStats) -> i32 {
    boundary(|| {
        require_out(out, "out")?;
        let stats = registry::pool(pool, "pool_get_stats")?.stats();
        write_out(out, "out", stats)
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

/// Closes the pool: idle connections close now; threads queued in acquire,
/// and acquires still connecting a new connection, return
/// SOCKRT_E_POOL_CLOSED at once (a half-made connection is closed); leased
/// connections stay usable and close when released, discarded or closed.
/// The pool handle is invalid afterwards. Does not block.
#[no_mangle]
pub extern "C" fn sockrt_pool_close(pool: sockrt_handle) -> i32 {
    boundary(|| {
        let closed = registry::remove_if(pool, "pool_close", |object| match object {
            Object::Pool(_) => Ok(()),
            other => Err(Error::new(
                ErrorKind::WrongKind,
                format!(
                    "pool_close: handle {pool:#x} is a {}, not a pool",
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
