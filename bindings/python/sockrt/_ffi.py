"""The one module that owns libsockrt: finds it, loads it, declares it.

Every C function the package calls is declared here with its argtypes and
restype; the rest of the package calls them only through this module.

The library is looked for, in order:
  1. the path in the SOCKRT_LIB environment variable (if set, it must work);
  2. a copy shipped beside the package (sockrt/libsockrt.so);
  3. the project's build tree, when the package runs from the source tree
     (target/release/libsockrt.so at the repository root);
  4. the system's library path (libsockrt.so.0, after `make install`).
A candidate counts only if it loads and sockrt_version() answers.

The library is loaded with ctypes.CDLL, so every call releases the GIL.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

LIB_ENV = "SOCKRT_LIB"
_LIB_NAME = "libsockrt.so"
_SYSTEM_NAME = "libsockrt.so.0"

sockrt_handle = c_uint64


class PoolConfig(Structure):
    """struct sockrt_pool_config."""

    _fields_ = [
        ("max_idle", c_uint32),
        ("max_total", c_uint32),
        ("connect_timeout_ms", c_int32),
        ("acquire_timeout_ms", c_int32),
        ("idle_timeout_ms", c_int32),
        ("max_lifetime_ms", c_int32),
        ("check_on_acquire", c_bool),
        ("nodelay", c_bool),
        ("tls_config", c_uint64),
        ("tls_server_name", c_char_p),
    ]


class PoolStats(Structure):
    """struct sockrt_pool_stats."""

    _fields_ = [
        (name, c_uint64)
        for name in (
            "idle",
            "in_use",
            "created",
            "reused",
            "closed_stale",
            "closed_expired",
            "closed_broken",
            "waits",
            "timeouts",
        )
    ]


_H = sockrt_handle
_HP = POINTER(sockrt_handle)

# name: (restype, argtypes). Buffers are c_void_p so that both an address
# (int) and a bytes object (passed without a copy) are accepted.
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "sockrt_version": (c_char_p, []),
    "sockrt_strerror": (c_char_p, [c_int32]),
    "sockrt_error_name": (c_char_p, [c_int32]),
    "sockrt_last_error": (c_int32, []),
    "sockrt_last_os_error": (c_int32, []),
    "sockrt_last_error_message": (c_size_t, [c_void_p, c_size_t]),
    "sockrt_last_error_transferred": (c_uint64, []),
    "sockrt_open_handles": (c_uint64, []),
    "sockrt_close": (c_int32, [_H]),
    "sockrt_socket": (c_int32, [c_int32, c_int32, _HP]),
    "sockrt_bind": (c_int32, [_H, c_char_p, c_uint16]),
    "sockrt_listen": (c_int32, [_H, c_int32]),
    "sockrt_accept": (c_int32, [_H, _HP]),
    "sockrt_connect": (c_int32, [_H, c_char_p, c_uint16, c_int32]),
    "sockrt_tcp_connect": (c_int32, [c_char_p, c_uint16, c_int32, _HP]),
    "sockrt_tcp_listen": (c_int32, [c_char_p, c_uint16, c_int32, _HP]),
    "sockrt_udp_bind": (c_int32, [c_char_p, c_uint16, _HP]),
    "sockrt_send": (c_int64, [_H, c_void_p, c_size_t]),
    "sockrt_recv": (c_int64, [_H, c_void_p, c_size_t]),
    "sockrt_send_all": (c_int32, [_H, c_void_p, c_size_t]),
    "sockrt_recv_exact": (c_int32, [_H, c_void_p, c_size_t]),
    "sockrt_exchange": (c_int32, [_H, c_void_p, c_size_t, c_void_p, c_size_t]),
    "sockrt_send_to": (c_int64, [_H, c_void_p, c_size_t, c_char_p, c_uint16]),
    "sockrt_recv_from": (
        c_int64,
        [_H, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p],
    ),
    "sockrt_shutdown": (c_int32, [_H, c_int32]),
    "sockrt_set_option": (c_int32, [_H, c_int32, c_int64]),
    "sockrt_get_option": (c_int32, [_H, c_int32, POINTER(c_int64)]),
    "sockrt_local_addr": (c_int32, [_H, c_void_p, c_size_t, POINTER(c_uint16)]),
    "sockrt_peer_addr": (c_int32, [_H, c_void_p, c_size_t, POINTER(c_uint16)]),
    "sockrt_fileno": (c_int32, [_H]),
    "sockrt_poll": (c_int32, [_HP, POINTER(c_uint32), c_size_t, c_int32]),
    "sockrt_pool_config_init": (None, [POINTER(PoolConfig)]),
    "sockrt_pool_open": (c_int32, [c_char_p, c_uint16, POINTER(PoolConfig), _HP]),
    "sockrt_pool_acquire": (c_int32, [_H, _HP]),
    "sockrt_pool_release": (c_int32, [_H, _H]),
    "sockrt_pool_discard": (c_int32, [_H, _H]),
    "sockrt_pool_was_reused": (c_int32, [_H]),
    "sockrt_pool_get_stats": (c_int32, [_H, POINTER(PoolStats)]),
    "sockrt_pool_close": (c_int32, [_H]),
    "sockrt_set_interruptible": (c_int32, [c_int32]),
    "sockrt_recv_flags": (c_int64, [_H, c_void_p, c_size_t, c_int32]),
    "sockrt_send_flags": (c_int64, [_H, c_void_p, c_size_t, c_int32]),
    "sockrt_recv_from_flags": (
        c_int64,
        [_H, c_void_p, c_size_t, c_int32, c_void_p, c_size_t, c_void_p],
    ),
    "sockrt_send_to_flags": (c_int64, [_H, c_void_p, c_size_t, c_int32, c_char_p, c_uint16]),
    "sockrt_adopt_fd": (c_int32, [c_int32, _HP]),
    "sockrt_detach": (c_int32, [_H, POINTER(c_int32)]),
    "sockrt_dup": (c_int32, [_H, _HP]),
    "sockrt_setsockopt": (c_int32, [_H, c_int32, c_int32, c_void_p, c_size_t]),
    "sockrt_getsockopt": (c_int32, [_H, c_int32, c_int32, c_void_p, POINTER(c_size_t)]),
    "sockrt_disconnect": (c_int32, [_H]),
    "sockrt_pool_acquire_ex": (c_int32, [_H, c_uint32, c_int32, _HP]),
}

# Declared when the library has them (functions still landing; the features
# that need them raise a clear error until then).
_OPTIONAL: dict[str, tuple[object, list[object]]] = {}


def _candidates() -> list[tuple[str, str | None]]:
    """(description, path) in search order, SOCKRT_LIB excluded; the path is
    None where a place does not apply."""
    here = Path(__file__).resolve().parent
    found: list[tuple[str, str | None]] = [("beside the package", str(here / _LIB_NAME))]
    # bindings/python/sockrt/_ffi.py: the repository root is three levels up.
    parents = here.parents
    repo = parents[2] if len(parents) >= 3 else None
    if repo is not None and (repo / "include" / "sockrt.h").is_file():
        found.append(("the project's build tree", str(repo / "target" / "release" / _LIB_NAME)))
    else:
        found.append(("the project's build tree", None))
    found.append(("the system library path", _SYSTEM_NAME))
    return found


def _try_load(path: str) -> ctypes.CDLL:
    """Loads `path` and proves it is libsockrt by asking its version."""
    lib = ctypes.CDLL(path)
    version = lib.sockrt_version
    version.argtypes = []
    version.restype = c_char_p
    text = version()
    if not text:
        raise OSError(f"{path}: sockrt_version() returned NULL")
    return lib


def _load() -> tuple[ctypes.CDLL, str]:
    tried: list[str] = []
    explicit = os.environ.get(LIB_ENV)
    if explicit:
        try:
            return _try_load(explicit), explicit
        except (OSError, AttributeError) as exc:
            raise ImportError(
                f"sockrt: cannot load the library named by {LIB_ENV}={explicit!r}: {exc}"
            ) from exc
    tried.append(f"  {LIB_ENV}: not set")
    for where, path in _candidates():
        if path is None:
            tried.append(f"  {where}: not applicable (the package is not in a source tree)")
            continue
        if where != "the system library path" and not os.path.exists(path):
            tried.append(f"  {where}: {path} (no such file)")
            continue
        try:
            return _try_load(path), path
        except (OSError, AttributeError) as exc:
            tried.append(f"  {where}: {path} ({exc})")
    raise ImportError(
        "sockrt: libsockrt was not found. Looked in:\n"
        + "\n".join(tried)
        + "\nBuild it with `make build` at the repository root, or point "
        f"{LIB_ENV} at libsockrt.so."
    )


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = argtypes
    for name, (restype, argtypes) in _OPTIONAL.items():
        func = getattr(lib, name, None)
        if func is not None:
            func.restype = restype
            func.argtypes = argtypes


def _optional(name: str):  # type: ignore[no-untyped-def]
    """The library function `name`, or a stand-in that raises a clear error."""
    func = getattr(lib, name, None)
    if func is not None:
        return func

    def missing(*_args: object) -> int:
        raise NotImplementedError(
            f"sockrt: the loaded library ({lib_path}) has no {name}(); rebuild libsockrt"
        )

    missing.__name__ = name
    missing.missing = True  # type: ignore[attr-defined]
    return missing


def has(name: str) -> bool:
    """True if the loaded library exports `name`."""
    return getattr(lib, name, None) is not None


lib, lib_path = _load()
_declare(lib)

# The functions, bound once: callers copy them into their own globals so a
# call costs one ctypes call and no attribute lookups on the library.
version = lib.sockrt_version
strerror = lib.sockrt_strerror
error_name = lib.sockrt_error_name
last_error = lib.sockrt_last_error
last_os_error = lib.sockrt_last_os_error
last_error_message = lib.sockrt_last_error_message
last_error_transferred = lib.sockrt_last_error_transferred
open_handles = lib.sockrt_open_handles
close = lib.sockrt_close
socket = lib.sockrt_socket
bind = lib.sockrt_bind
listen = lib.sockrt_listen
accept = lib.sockrt_accept
connect = lib.sockrt_connect
tcp_connect = lib.sockrt_tcp_connect
tcp_listen = lib.sockrt_tcp_listen
udp_bind = lib.sockrt_udp_bind
send = lib.sockrt_send
recv = lib.sockrt_recv
send_all = lib.sockrt_send_all
recv_exact = lib.sockrt_recv_exact
exchange = lib.sockrt_exchange
send_to = lib.sockrt_send_to
recv_from = lib.sockrt_recv_from
shutdown = lib.sockrt_shutdown
set_option = lib.sockrt_set_option
get_option = lib.sockrt_get_option
local_addr = lib.sockrt_local_addr
peer_addr = lib.sockrt_peer_addr
fileno = lib.sockrt_fileno
poll = lib.sockrt_poll
pool_config_init = lib.sockrt_pool_config_init
pool_open = lib.sockrt_pool_open
pool_acquire = lib.sockrt_pool_acquire
pool_release = lib.sockrt_pool_release
pool_discard = lib.sockrt_pool_discard
pool_was_reused = lib.sockrt_pool_was_reused
pool_get_stats = lib.sockrt_pool_get_stats
pool_close = lib.sockrt_pool_close
set_interruptible = lib.sockrt_set_interruptible
recv_flags = lib.sockrt_recv_flags
send_flags = lib.sockrt_send_flags
recv_from_flags = lib.sockrt_recv_from_flags
send_to_flags = lib.sockrt_send_to_flags
adopt_fd = lib.sockrt_adopt_fd
detach = lib.sockrt_detach
dup = lib.sockrt_dup
setsockopt = lib.sockrt_setsockopt
getsockopt = lib.sockrt_getsockopt
disconnect = lib.sockrt_disconnect
pool_acquire_ex = lib.sockrt_pool_acquire_ex

# ---- TLS (sockrt.tls) ------------------------------------------------------


class TLSInfo(Structure):
    """struct sockrt_tls_info."""

    _fields_ = [
        ("version", c_int32),
        ("cipher_suite", c_uint16),
        ("resumed", c_bool),
        ("peer_certificate", c_bool),
        ("alpn_len", c_uint32),
        ("alpn", ctypes.c_char * 256),
        ("cipher_suite_name", ctypes.c_char * 64),
    ]


_TLS_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "sockrt_tls_client_config_new": (c_int32, [_HP]),
    "sockrt_tls_server_config_new": (c_int32, [c_void_p, c_size_t, c_void_p, c_size_t, _HP]),
    "sockrt_tls_client_config_add_ca_pem": (c_int32, [_H, c_void_p, c_size_t]),
    "sockrt_tls_client_config_use_system_roots": (c_int32, [_H, c_int32]),
    "sockrt_tls_client_config_set_client_cert": (
        c_int32,
        [_H, c_void_p, c_size_t, c_void_p, c_size_t],
    ),
    "sockrt_tls_client_config_dangerous_disable_verification": (c_int32, [_H]),
    "sockrt_tls_server_config_verify_clients": (c_int32, [_H, c_void_p, c_size_t, c_int32]),
    "sockrt_tls_config_add_alpn": (c_int32, [_H, c_void_p, c_size_t]),
    "sockrt_tls_config_set_versions": (c_int32, [_H, c_int32, c_int32]),
    "sockrt_tls_config_set_resumption": (c_int32, [_H, c_int32]),
    "sockrt_tls_connect": (c_int32, [c_char_p, c_uint16, _H, c_char_p, c_int32, _HP]),
    "sockrt_tls_client_upgrade": (c_int32, [_H, _H, c_char_p, c_int32, _HP]),
    "sockrt_tls_server_upgrade": (c_int32, [_H, _H, c_int32, _HP]),
    "sockrt_tls_accept": (c_int32, [_H, _H, c_int32, _HP]),
    "sockrt_tls_get_info": (c_int32, [_H, POINTER(TLSInfo)]),
    "sockrt_tls_peer_subject": (c_int64, [_H, c_void_p, c_size_t]),
    "sockrt_pool_tls_handshakes": (c_int32, [_H, POINTER(c_uint64), POINTER(c_uint64)]),
}

_PROTOTYPES.update(_TLS_PROTOTYPES)
for _name, (_restype, _argtypes) in _TLS_PROTOTYPES.items():
    _func = getattr(lib, _name)
    _func.restype = _restype
    _func.argtypes = _argtypes

tls_client_config_new = lib.sockrt_tls_client_config_new
tls_server_config_new = lib.sockrt_tls_server_config_new
tls_client_config_add_ca_pem = lib.sockrt_tls_client_config_add_ca_pem
tls_client_config_use_system_roots = lib.sockrt_tls_client_config_use_system_roots
tls_client_config_set_client_cert = lib.sockrt_tls_client_config_set_client_cert
tls_client_config_dangerous_disable_verification = (
    lib.sockrt_tls_client_config_dangerous_disable_verification
)
tls_server_config_verify_clients = lib.sockrt_tls_server_config_verify_clients
tls_config_add_alpn = lib.sockrt_tls_config_add_alpn
tls_config_set_versions = lib.sockrt_tls_config_set_versions
tls_config_set_resumption = lib.sockrt_tls_config_set_resumption
tls_connect = lib.sockrt_tls_connect
tls_client_upgrade = lib.sockrt_tls_client_upgrade
tls_server_upgrade = lib.sockrt_tls_server_upgrade
tls_accept = lib.sockrt_tls_accept
tls_get_info = lib.sockrt_tls_get_info
tls_peer_subject = lib.sockrt_tls_peer_subject
pool_tls_handshakes = lib.sockrt_pool_tls_handshakes

# ---- end of TLS ------------------------------------------------------------


class PyBuffer(Structure):
    """Py_buffer, to borrow a read-only buffer's address without a copy."""

    _fields_ = [
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", c_void_p),
        ("shape", c_void_p),
        ("strides", c_void_p),
        ("suboffsets", c_void_p),
        ("internal", c_void_p),
    ]


# From the interpreter itself (these hold the GIL and re-raise its errors).
get_buffer = ctypes.pythonapi.PyObject_GetBuffer
get_buffer.argtypes = [ctypes.py_object, POINTER(PyBuffer), ctypes.c_int]
get_buffer.restype = ctypes.c_int
release_buffer = ctypes.pythonapi.PyBuffer_Release
release_buffer.argtypes = [POINTER(PyBuffer)]
release_buffer.restype = None
PYBUF_SIMPLE = 0
# Runs the Python signal handlers that are due; raises what a handler raised
# (PyDLL checks the error indicator after the call).
check_signals = ctypes.pythonapi.PyErr_CheckSignals
check_signals.argtypes = []
check_signals.restype = ctypes.c_int


def library_version() -> str:
    """The version libsockrt reports, "MAJOR.MINOR.PATCH"."""
    raw = version()
    return raw.decode("ascii") if raw else ""


# ---- poller and fan-out (sockrt_poller_*, sockrt_send_many) -----------------
# Declared in one block, used by sockrt.selectors.


class PollEvent(Structure):
    """struct sockrt_poll_event."""

    _fields_ = [("token", c_uint64), ("events", c_uint32), ("reserved", c_uint32)]


_POLLER_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "sockrt_poller_open": (c_int32, [_HP]),
    "sockrt_poller_add": (c_int32, [_H, _H, c_uint32, c_uint64]),
    "sockrt_poller_modify": (c_int32, [_H, _H, c_uint32, c_uint64]),
    "sockrt_poller_remove": (c_int32, [_H, _H]),
    "sockrt_poller_add_fd": (c_int32, [_H, c_int32, c_uint32, c_uint64]),
    "sockrt_poller_modify_fd": (c_int32, [_H, c_int32, c_uint32, c_uint64]),
    "sockrt_poller_remove_fd": (c_int32, [_H, c_int32]),
    "sockrt_poller_wait": (c_int32, [_H, c_void_p, c_size_t, c_int32]),
    "sockrt_poller_wake": (c_int32, [_H]),
    "sockrt_send_many": (c_int64, [c_void_p, c_size_t, c_void_p, c_size_t, c_void_p]),
}
_PROTOTYPES.update(_POLLER_PROTOTYPES)
_declare(lib)

poller_open = lib.sockrt_poller_open
poller_add = lib.sockrt_poller_add
poller_modify = lib.sockrt_poller_modify
poller_remove = lib.sockrt_poller_remove
poller_add_fd = lib.sockrt_poller_add_fd
poller_modify_fd = lib.sockrt_poller_modify_fd
poller_remove_fd = lib.sockrt_poller_remove_fd
poller_wait = lib.sockrt_poller_wait
poller_wake = lib.sockrt_poller_wake
send_many = lib.sockrt_send_many


# ---- Unix domain sockets (sockrt_unix_*, socketpair, credentials, SCM_RIGHTS)
# Declared in one block; the socket class uses them for AF_UNIX (socketpair,
# SO_PEERCRED, sendmsg/recvmsg with SCM_RIGHTS).

_UNIX_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "sockrt_unix_connect": (c_int32, [c_char_p, c_int32, _HP]),
    "sockrt_unix_listen": (c_int32, [c_char_p, c_int32, _HP]),
    "sockrt_socketpair": (c_int32, [c_int32, _HP]),
    "sockrt_peer_cred": (
        c_int32,
        [_H, POINTER(c_int32), POINTER(c_uint32), POINTER(c_uint32)],
    ),
    "sockrt_send_fds": (c_int64, [_H, c_void_p, c_size_t, POINTER(c_int32), c_size_t]),
    "sockrt_recv_fds": (
        c_int64,
        [_H, c_void_p, c_size_t, POINTER(c_int32), c_size_t, POINTER(c_size_t)],
    ),
}
_PROTOTYPES.update(_UNIX_PROTOTYPES)
_declare(lib)

unix_connect = lib.sockrt_unix_connect
unix_listen = lib.sockrt_unix_listen
socketpair = lib.sockrt_socketpair
peer_cred = lib.sockrt_peer_cred
send_fds = lib.sockrt_send_fds
recv_fds = lib.sockrt_recv_fds
